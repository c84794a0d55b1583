
/*
 * Copyright (C) nginx video ingest developers
 *
 * srtsink: the receiving end of bench/srt.sh, one epoll loop that reads
 * and counts whatever the relays under test deliver, so that the sink
 * costs little CPU next to them and no Python thread sits in the path.
 *
 *   srtsink tcp:PORT|udp:PORT...
 *
 * Every argument is a listener on 127.0.0.1: "tcp:PORT" accepts any
 * number of connections (nginx's "forward", srt-live-transmit's stdout),
 * "udp:PORT" takes datagrams (srt-live-transmit's udp:// output). Prints
 * "ready" once all are bound; on SIGUSR1 one line per listener, on
 * SIGTERM or SIGINT the same and exits:
 *
 *   sink tcp:PORT conns=N open=N bytes=B
 *   sink udp:PORT sources=N datagrams=N bytes=B
 *
 * A TCP connection that is closed by its peer stays counted in conns;
 * "sources" counts the distinct sender ports seen on a UDP listener.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>


#define SINK_MAX        16
#define SINK_BUF        (256 * 1024)


typedef struct {
    int                 fd;
    int                 udp;
    int                 port;
    uint64_t            conns;
    uint64_t            open;
    uint64_t            datagrams;
    uint64_t            bytes;
    uint8_t             seen[65536 / 8];    /* UDP source ports */
    uint64_t            sources;
} sink_t;


/* what an epoll entry stands for: a listener, or a connection of one */
typedef struct {
    int                 fd;
    sink_t             *sink;
    int                 listener;
} item_t;


static void on_signal(int signo);
static int sink_open(sink_t *s, const char *spec);
static void sink_report(sink_t *sinks, int n);


static volatile sig_atomic_t  report, quit;


int
main(int argc, char **argv)
{
    int                 i, n, ep, k, fd;
    ssize_t             r;
    item_t             *it, *c;
    sink_t              sinks[SINK_MAX];
    uint16_t            port;
    socklen_t           len;
    struct rlimit       rl;
    struct sigaction    sa;
    struct epoll_event  ev, evs[256];
    struct sockaddr_in  from;
    static char         buf[SINK_BUF];

    n = argc - 1;

    if (n < 1 || n > SINK_MAX) {
        fprintf(stderr, "usage: srtsink tcp:PORT|udp:PORT...\n");
        return 2;
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void) sigaction(SIGUSR1, &sa, NULL);
    (void) sigaction(SIGTERM, &sa, NULL);
    (void) sigaction(SIGINT, &sa, NULL);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1) {
        perror("srtsink: epoll_create1");
        return 2;
    }

    memset(sinks, 0, sizeof(sinks));

    for (i = 0; i < n; i++) {
        if (sink_open(&sinks[i], argv[i + 1]) != 0) {
            return 2;
        }

        it = calloc(1, sizeof(item_t));
        if (it == NULL) {
            return 2;
        }

        it->fd = sinks[i].fd;
        it->sink = &sinks[i];
        it->listener = !sinks[i].udp;

        ev.events = EPOLLIN;
        ev.data.ptr = it;

        if (epoll_ctl(ep, EPOLL_CTL_ADD, it->fd, &ev) == -1) {
            perror("srtsink: epoll_ctl");
            return 2;
        }
    }

    printf("ready\n");
    fflush(stdout);

    while (!quit) {
        if (report) {
            report = 0;
            sink_report(sinks, n);
        }

        k = epoll_wait(ep, evs, 256, -1);

        if (k == -1) {
            if (errno == EINTR) {
                continue;
            }

            perror("srtsink: epoll_wait");
            return 1;
        }

        for (i = 0; i < k; i++) {
            it = evs[i].data.ptr;

            if (it->listener) {
                fd = accept4(it->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd == -1) {
                    continue;
                }

                c = calloc(1, sizeof(item_t));
                if (c == NULL) {
                    (void) close(fd);
                    continue;
                }

                c->fd = fd;
                c->sink = it->sink;

                ev.events = EPOLLIN;
                ev.data.ptr = c;

                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
                    (void) close(fd);
                    free(c);
                    continue;
                }

                it->sink->conns++;
                it->sink->open++;
                continue;
            }

            if (it->sink->udp) {
                for ( ;; ) {
                    len = sizeof(from);
                    r = recvfrom(it->fd, buf, sizeof(buf), MSG_DONTWAIT,
                                 (struct sockaddr *) &from, &len);
                    if (r < 0) {
                        break;
                    }

                    it->sink->datagrams++;
                    it->sink->bytes += r;

                    port = ntohs(from.sin_port);

                    if (!(it->sink->seen[port / 8] & (1 << (port % 8)))) {
                        it->sink->seen[port / 8] |= 1 << (port % 8);
                        it->sink->sources++;
                    }
                }

                continue;
            }

            /* a TCP connection: read what is there, once per wake-up */

            r = read(it->fd, buf, sizeof(buf));

            if (r > 0) {
                it->sink->bytes += r;
                continue;
            }

            if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }

            (void) epoll_ctl(ep, EPOLL_CTL_DEL, it->fd, NULL);
            (void) close(it->fd);
            it->sink->open--;
            free(it);
        }
    }

    sink_report(sinks, n);

    return 0;
}


static void
on_signal(int signo)
{
    if (signo == SIGUSR1) {
        report = 1;

    } else {
        quit = 1;
    }
}


static int
sink_open(sink_t *s, const char *spec)
{
    int                 one, size;
    struct sockaddr_in  sin;

    if (strncmp(spec, "tcp:", 4) == 0) {
        s->udp = 0;

    } else if (strncmp(spec, "udp:", 4) == 0) {
        s->udp = 1;

    } else {
        fprintf(stderr, "srtsink: \"%s\" is not tcp:PORT or udp:PORT\n",
                spec);
        return -1;
    }

    s->port = atoi(spec + 4);

    s->fd = socket(AF_INET, (s->udp ? SOCK_DGRAM : SOCK_STREAM)
                            | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd == -1) {
        perror("srtsink: socket");
        return -1;
    }

    one = 1;
    (void) setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    if (s->udp) {
        /* a second of 100 streams at 4 Mbps */
        size = 64 * 1024 * 1024;
        (void) setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
                          sizeof(size));
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) s->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (bind(s->fd, (struct sockaddr *) &sin, sizeof(sin)) == -1) {
        fprintf(stderr, "srtsink: bind(%s): %s\n", spec, strerror(errno));
        return -1;
    }

    if (!s->udp && listen(s->fd, 1024) == -1) {
        perror("srtsink: listen");
        return -1;
    }

    return 0;
}


static void
sink_report(sink_t *sinks, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (sinks[i].udp) {
            printf("sink udp:%d sources=%" PRIu64 " datagrams=%" PRIu64
                   " bytes=%" PRIu64 "\n", sinks[i].port, sinks[i].sources,
                   sinks[i].datagrams, sinks[i].bytes);

        } else {
            printf("sink tcp:%d conns=%" PRIu64 " open=%" PRIu64
                   " bytes=%" PRIu64 "\n", sinks[i].port, sinks[i].conns,
                   sinks[i].open, sinks[i].bytes);
        }
    }

    fflush(stdout);
}
