/*
 * llhls_hold: many held LL-HLS requests on one nginx, for bench/llhls.sh.
 *
 *   llhls_hold [-v] [-p|-i] PORT PATH N [TIMEOUT_S]
 *
 * Opens N connections to 127.0.0.1:PORT (at most 1000 connecting at a
 * time), sends "GET PATH HTTP/1.1" on each, prints "sent N" on stdout
 * once every request is written, then waits (epoll) until every response
 * is complete (Content-Length) or TIMEOUT_S (default 60) passed. Prints
 * one line of results:
 *
 *   done ok=N200 other=NX closed=NC first=NS last=NS complete=NS
 *
 * first/last: CLOCK_MONOTONIC ns of the first byte of the first and of
 * the last response; complete: when the last response was whole. The
 * caller compares them with the time of its publish (Python's
 * time.monotonic_ns() reads the same clock). With -v, also one line per
 * response: "r <first byte ns> <status>".
 *
 * Baselines for the memory of a held request: -p sends each request
 * without its final CRLF (nginx has the connection and a request being
 * read), -i sends nothing (an idle connection); both print "sent N" and
 * then wait until stdin is closed.
 *
 * Loopback only; raises RLIMIT_NOFILE itself (run as root, or raise the
 * hard limit first).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


typedef struct {
    int       fd;
    int       state;        /* 0 connecting, 1 sending, 2 waiting, 3 done */
    size_t    sent;
    size_t    got;          /* bytes of the response */
    long      need;         /* header + body length, -1: not known yet */
    int       status;
    int64_t   first;
    char      head[1024];
} conn_t;


static int64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static int
open_one(struct sockaddr_in *sa)
{
    int  fd, one = 1;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return -1;
    }

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(fd, (struct sockaddr *) sa, sizeof(*sa)) == -1
        && errno != EINPROGRESS)
    {
        close(fd);
        return -1;
    }

    return fd;
}


/* header + Content-Length, once the header is in c->head */
static void
parse_head(conn_t *c)
{
    char  *end, *cl;

    c->head[c->got < sizeof(c->head) ? c->got : sizeof(c->head) - 1] = '\0';

    end = strstr(c->head, "\r\n\r\n");
    if (end == NULL) {
        return;
    }

    c->status = atoi(c->head + 9);

    cl = strcasestr(c->head, "\r\nContent-Length:");
    c->need = (long) (end + 4 - c->head)
              + (cl != NULL && cl < end ? atol(cl + 17) : 0);
}


int
main(int argc, char **argv)
{
    int                  port, n, i, ep, k, nev, verbose, mode, connecting,
                         opened, pending_send, waiting, ok, other, closed;
    char                 req[2048], buf[65536];
    size_t               reqlen;
    ssize_t              r;
    int64_t              deadline, first, last, complete, t;
    conn_t              *cs, *c;
    struct rlimit        rl;
    struct sockaddr_in   sa;
    struct epoll_event   ev, *evs;

    verbose = 0;
    mode = 0;

    while (argc > 1 && argv[1][0] == '-') {
        if (strcmp(argv[1], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[1], "-p") == 0) {
            mode = 'p';
        } else if (strcmp(argv[1], "-i") == 0) {
            mode = 'i';
        }
        argv++;
        argc--;
    }

    if (argc < 4) {
        fprintf(stderr,
                "usage: llhls_hold [-v] [-p|-i] PORT PATH N [TIMEOUT_S]\n");
        return 2;
    }

    port = atoi(argv[1]);
    n = atoi(argv[3]);
    deadline = (argc > 4 ? atoll(argv[4]) : 60) * 1000000000LL;

    reqlen = (size_t) snprintf(req, sizeof(req),
                               "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                               "User-Agent: llhls_hold\r\n\r\n",
                               argv[2], port);

    if (mode == 'p') {
        reqlen -= 2;            /* the header is never finished */
    } else if (mode == 'i') {
        reqlen = 0;
    }

    rl.rlim_cur = rl.rlim_max = (rlim_t) n + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t) n + 64) {
        rl.rlim_cur = (rlim_t) n + 64;
        if (rl.rlim_max < rl.rlim_cur) {
            rl.rlim_max = rl.rlim_cur;
        }
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            perror("setrlimit(RLIMIT_NOFILE)");
            return 1;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    cs = calloc((size_t) n, sizeof(conn_t));
    evs = calloc(1024, sizeof(struct epoll_event));
    ep = epoll_create1(EPOLL_CLOEXEC);

    if (cs == NULL || evs == NULL || ep == -1) {
        perror("setup");
        return 1;
    }

    /* connect and send, at most 1000 in flight */

    opened = 0;
    connecting = 0;
    pending_send = n;

    while (pending_send > 0) {
        while (opened < n && connecting < 1000) {
            c = &cs[opened];
            c->fd = open_one(&sa);
            if (c->fd == -1) {
                perror("connect");
                return 1;
            }
            c->need = -1;
            ev.events = EPOLLOUT;
            ev.data.ptr = c;
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            opened++;
            connecting++;
        }

        nev = epoll_wait(ep, evs, 1024, 5000);
        if (nev <= 0) {
            fprintf(stderr, "connecting stalled (%d of %d sent)\n",
                    n - pending_send, n);
            return 1;
        }

        for (k = 0; k < nev; k++) {
            c = evs[k].data.ptr;

            if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
                fprintf(stderr, "connection failed\n");
                return 1;
            }

            r = reqlen == 0 ? 0
                : send(c->fd, req + c->sent, reqlen - c->sent, MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EAGAIN || errno == EINPROGRESS) {
                    continue;
                }
                perror("send");
                return 1;
            }

            c->sent += (size_t) r;

            if (c->sent == reqlen) {
                c->state = 2;
                ev.events = EPOLLIN | EPOLLRDHUP;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                connecting--;
                pending_send--;
            }
        }
    }

    printf("sent %d\n", n);
    fflush(stdout);

    if (mode != 0) {
        while (read(0, buf, sizeof(buf)) > 0) {
            /* until the caller closes stdin */
        }
        return 0;
    }

    /* the answers */

    waiting = n;
    ok = other = closed = 0;
    first = last = complete = 0;
    deadline += now_ns();

    while (waiting > 0) {
        t = now_ns();
        if (t > deadline) {
            break;
        }

        nev = epoll_wait(ep, evs, 1024,
                         (int) ((deadline - t) / 1000000) + 1);
        t = now_ns();

        for (k = 0; k < nev; k++) {
            c = evs[k].data.ptr;

            for ( ;; ) {
                r = recv(c->fd, buf, sizeof(buf), 0);

                if (r > 0) {
                    if (c->got == 0) {
                        c->first = t;
                        if (first == 0 || t < first) {
                            first = t;
                        }
                        if (t > last) {
                            last = t;
                        }
                    }
                    if (c->got < sizeof(c->head)) {
                        i = (int) (sizeof(c->head) - c->got);
                        memcpy(c->head + c->got, buf,
                               (size_t) r < (size_t) i ? (size_t) r
                                                       : (size_t) i);
                    }
                    c->got += (size_t) r;
                    if (c->need < 0) {
                        parse_head(c);
                    }
                    if (c->need >= 0 && (long) c->got >= c->need) {
                        break;
                    }
                    continue;
                }

                if (r < 0 && errno == EAGAIN) {
                    break;
                }

                /* closed or failed before a whole response */
                break;
            }

            if (c->state == 3) {
                continue;
            }

            if (c->need >= 0 && (long) c->got >= c->need) {
                c->state = 3;
                waiting--;
                complete = t;
                if (c->status == 200) {
                    ok++;
                } else {
                    other++;
                }
                if (verbose) {
                    printf("r %lld %d\n", (long long) c->first, c->status);
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);

            } else if (r == 0 || (r < 0 && errno != EAGAIN)
                       || (evs[k].events & (EPOLLRDHUP | EPOLLHUP
                                            | EPOLLERR)))
            {
                c->state = 3;
                waiting--;
                closed++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }

    printf("done ok=%d other=%d closed=%d unanswered=%d first=%lld "
           "last=%lld complete=%lld\n", ok, other, closed, waiting,
           (long long) first, (long long) last, (long long) complete);
    fflush(stdout);

    for (i = 0; i < n; i++) {
        close(cs[i].fd);
    }

    return waiting == 0 ? 0 : 1;
}
