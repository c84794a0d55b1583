
/*
 * Copyright (C) nginx video ingest developers
 *
 * srtload: an SRT load generator for bench/srt.sh. One process, one
 * thread of its own (plus libsrt's), many caller sockets watched with
 * srt_epoll: it publishes N streams of a recorded MPEG-TS file in a loop,
 * each paced at a constant bitrate, seven 188-byte TS packets per SRT
 * message, and prints what libsrt's sender counted for every stream.
 *
 *   srtload [-q] [-n N] [-b RATE] [-t SECONDS] [-l MS] [-p PASSPHRASE]
 *           [-k 16|24|32] [-s STREAMID | -S FILE] FILE.ts TARGET...
 *
 *   -n N        streams (default: one per TARGET, at least 1)
 *   -b RATE     bits per second of each stream: 4m, 4000k, 4000000
 *               (default: the file's own rate, from its PCRs)
 *   -t SECONDS  how long each stream sends (default 10)
 *   -l MS       SRTO_LATENCY (default 250)
 *   -p PASS     SRTO_PASSPHRASE for every stream; -k its key length
 *   -s STREAMID the stream id of every stream; "%d" becomes its index
 *   -S FILE     stream ids, one a line, line i for stream i (tokens
 *               differ per stream); "streamid<TAB>passphrase" gives a
 *               stream its own passphrase
 *   -q          only the total line
 *   TARGET      host:port; stream i calls TARGET[i % count], so one
 *               target takes every stream and N targets one each
 *
 * Pacing: a 1 ms tick; at each tick every stream sends the messages
 * whose time has come (stream i starts i/N of an interval after stream
 * 0, so the streams do not send in step). The file is a ring of TS
 * packets: messages are always 1316 bytes and the file loops.
 *
 * After the run each stream drains its send buffer (every packet
 * acknowledged), waits one latency so that the receiver delivers it,
 * and closes. Output, one line per stream and a total:
 *
 *   stream=I target=H:P status=ok|rejected:CODE|broken:why|... msgs=M
 *       bytes=B sent=P retrans=R lost=L dropped=D rtt_ms=X
 *   total streams=N connected=C failed=F msgs=M bytes=B sent=P
 *       retrans=R lost=L dropped=D mbps=X late_ms=X cpu_s=X
 *
 * msgs/bytes: payload handed to libsrt; sent: UDP data packets
 * including retransmissions; retrans, lost (packets the receiver
 * reported missing), dropped (too late to send): libsrt's sender
 * totals. late_ms: the most a message went out after its time beyond
 * the tick, i.e. how far the generator fell behind. Exit status 0 when
 * every stream connected and ran to the end, 1 otherwise, 2 on usage.
 */


#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <srt/srt.h>


#define TS_PACKET       188
#define TS_PER_MSG      7
#define MSG_SIZE        (TS_PACKET * TS_PER_MSG)
#define TICK_NS         1000000
#define CONNECT_MS      5000
#define DRAIN_MS        3000
#define EVENTS          256


typedef enum {
    STREAM_CONNECTING = 0,
    STREAM_SENDING,
    STREAM_DONE,
    STREAM_FAILED
} stream_state_e;


typedef struct {
    SRTSOCKET                   sock;
    int                         index;
    int                         target;
    stream_state_e              state;
    char                        why[64];

    const char                 *streamid;
    const char                 *passphrase;

    int64_t                     next;           /* ns, next message */
    size_t                      pos;            /* TS packet in the file */
    uint64_t                    msgs;
    uint64_t                    bytes;
    int64_t                     late;           /* ns, the most */

    SRT_TRACEBSTATS             perf;
} stream_t;


typedef struct {
    char                       *text;
    struct sockaddr_storage     addr;
    int                         addrlen;
} target_t;


static void usage(void);
static int64_t now_ns(void);
static int64_t parse_rate(const char *s);
static u_char *load_ts(const char *path, size_t *npackets);
static int64_t pcr_rate(u_char *ts, size_t npackets);
static char **load_lines(const char *path, int *nlines);
static int resolve(target_t *t);
static char *format_streamid(const char *tpl, int index);
static int stream_open(stream_t *s, target_t *t, int latency, int pbkeylen,
    int eid);
static void stream_fail(stream_t *s, int eid, const char *why);
static int connect_all(stream_t *ss, int n, int eid);
static void send_due(stream_t *s, u_char *ts, size_t npackets,
    int64_t now, int64_t interval, int eid);
static void drain_all(stream_t *ss, int n, int latency);
static double cpu_seconds(void);


int
main(int argc, char **argv)
{
    int              c, i, n, ntargets, nids, latency, pbkeylen, quiet,
                     eid, connected, failed, running;
    char            *tpl, *idfile, *pass, **ids, *tab;
    u_char          *ts;
    size_t           npackets;
    double           secs, mbps, cpu0;
    int64_t          rate, interval, t0, tend, tick, now, late;
    stream_t        *ss, *s;
    target_t        *targets;
    uint64_t         msgs, bytes, sent, retrans, lost, dropped;
    struct timespec  ts_tick;

    n = 0;
    rate = 0;
    secs = 10;
    latency = 250;
    pbkeylen = 16;
    quiet = 0;
    tpl = NULL;
    idfile = NULL;
    pass = NULL;

    while ((c = getopt(argc, argv, "qn:b:t:l:p:k:s:S:")) != -1) {
        switch (c) {

        case 'q':
            quiet = 1;
            break;

        case 'n':
            n = atoi(optarg);
            break;

        case 'b':
            rate = parse_rate(optarg);
            if (rate <= 0) {
                usage();
            }
            break;

        case 't':
            secs = atof(optarg);
            break;

        case 'l':
            latency = atoi(optarg);
            break;

        case 'p':
            pass = optarg;
            break;

        case 'k':
            pbkeylen = atoi(optarg);
            break;

        case 's':
            tpl = optarg;
            break;

        case 'S':
            idfile = optarg;
            break;

        default:
            usage();
        }
    }

    if (argc - optind < 2 || secs <= 0 || latency < 0 || n < 0) {
        usage();
    }

    ts = load_ts(argv[optind], &npackets);
    if (ts == NULL) {
        return 2;
    }

    if (rate == 0) {
        rate = pcr_rate(ts, npackets);
        if (rate <= 0) {
            fprintf(stderr, "srtload: %s has no usable PCR, give -b\n",
                    argv[optind]);
            return 2;
        }
    }

    ntargets = argc - optind - 1;
    targets = calloc(ntargets, sizeof(target_t));
    if (targets == NULL) {
        return 2;
    }

    for (i = 0; i < ntargets; i++) {
        targets[i].text = argv[optind + 1 + i];

        if (resolve(&targets[i]) != 0) {
            return 2;
        }
    }

    ids = NULL;
    nids = 0;

    if (idfile != NULL) {
        ids = load_lines(idfile, &nids);
        if (ids == NULL) {
            return 2;
        }
    }

    if (n == 0) {
        n = (nids > ntargets) ? nids : ntargets;
    }

    if (ids != NULL && nids < n) {
        fprintf(stderr, "srtload: %s has %d lines for %d streams\n",
                idfile, nids, n);
        return 2;
    }

    ss = calloc(n, sizeof(stream_t));
    if (ss == NULL) {
        return 2;
    }

    /* every stream has its own UDP socket: raise the descriptor limit */

    {
        struct rlimit  rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
        {
            rl.rlim_cur = rl.rlim_max;
            (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
    }

    if (srt_startup() < 0) {
        fprintf(stderr, "srtload: srt_startup(): %s\n",
                srt_getlasterror_str());
        return 2;
    }

    srt_setloglevel(2);     /* LOG_CRIT */

    eid = srt_epoll_create();
    if (eid < 0) {
        fprintf(stderr, "srtload: srt_epoll_create(): %s\n",
                srt_getlasterror_str());
        return 2;
    }

    (void) srt_epoll_set(eid, SRT_EPOLL_ENABLE_EMPTY);

    interval = (int64_t) ((double) MSG_SIZE * 8 * 1e9 / (double) rate);

    for (i = 0; i < n; i++) {
        s = &ss[i];
        s->index = i;
        s->target = i % ntargets;
        s->pos = ((size_t) i * 997 * TS_PER_MSG) % npackets;
        s->passphrase = pass;

        if (ids != NULL) {
            s->streamid = ids[i];
            tab = strchr(ids[i], '\t');

            if (tab != NULL) {
                *tab = '\0';
                s->passphrase = tab + 1;
            }

        } else if (tpl != NULL) {
            s->streamid = format_streamid(tpl, i);
        }

        if (stream_open(s, &targets[s->target], latency, pbkeylen, eid)
            != 0)
        {
            stream_fail(s, eid, "socket");
        }
    }

    connected = connect_all(ss, n, eid);

    cpu0 = cpu_seconds();
    t0 = now_ns();
    tend = t0 + (int64_t) (secs * 1e9);

    for (i = 0; i < n; i++) {
        ss[i].next = t0 + interval * i / n;
    }

    tick = t0;

    for ( ;; ) {
        now = now_ns();

        if (now >= tend) {
            break;
        }

        running = 0;

        for (i = 0; i < n; i++) {
            if (ss[i].state == STREAM_SENDING) {
                send_due(&ss[i], ts, npackets, now, interval, eid);
                running++;
            }
        }

        if (running == 0) {
            break;
        }

        /* the next tick; when late, at once */

        tick += TICK_NS;

        if (tick < now) {
            tick = now;
        }

        ts_tick.tv_sec = tick / 1000000000;
        ts_tick.tv_nsec = tick % 1000000000;

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts_tick,
                               NULL)
               == EINTR)
        {
            /* again */
        }
    }

    drain_all(ss, n, latency);

    msgs = bytes = sent = retrans = lost = dropped = 0;
    late = 0;
    failed = 0;

    for (i = 0; i < n; i++) {
        s = &ss[i];

        if (s->state == STREAM_SENDING) {
            s->state = STREAM_DONE;
        }

        if (s->state != STREAM_DONE) {
            failed++;
        }

        msgs += s->msgs;
        bytes += s->bytes;
        sent += (uint64_t) s->perf.pktSentTotal;
        retrans += (uint64_t) s->perf.pktRetransTotal;
        lost += (uint64_t) s->perf.pktSndLossTotal;
        dropped += (uint64_t) s->perf.pktSndDropTotal;

        if (s->late > late) {
            late = s->late;
        }

        if (quiet) {
            continue;
        }

        printf("stream=%d target=%s status=%s msgs=%" PRIu64
               " bytes=%" PRIu64 " sent=%" PRId64 " retrans=%d lost=%d"
               " dropped=%d rtt_ms=%.3f\n",
               i, targets[s->target].text,
               s->state == STREAM_DONE ? "ok" : s->why, s->msgs, s->bytes,
               s->perf.pktSentTotal, s->perf.pktRetransTotal,
               s->perf.pktSndLossTotal, s->perf.pktSndDropTotal,
               s->perf.msRTT);
    }

    mbps = (double) bytes * 8 / 1e6 / secs;

    printf("total streams=%d connected=%d failed=%d msgs=%" PRIu64
           " bytes=%" PRIu64 " sent=%" PRIu64 " retrans=%" PRIu64
           " lost=%" PRIu64 " dropped=%" PRIu64 " mbps=%.2f late_ms=%.3f"
           " cpu_s=%.2f rate_bps=%" PRId64 "\n",
           n, connected, failed, msgs, bytes, sent, retrans, lost, dropped,
           mbps, (double) late / 1e6, cpu_seconds() - cpu0, rate);

    fflush(stdout);

    (void) srt_epoll_release(eid);
    (void) srt_cleanup();

    return failed ? 1 : 0;
}


static void
usage(void)
{
    fprintf(stderr,
            "usage: srtload [-q] [-n N] [-b RATE] [-t SECONDS] [-l MS] "
            "[-p PASSPHRASE]\n"
            "               [-k 16|24|32] [-s STREAMID | -S FILE] "
            "FILE.ts HOST:PORT...\n");
    exit(2);
}


static int64_t
now_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* "4m", "4000k", "4000000" */

static int64_t
parse_rate(const char *s)
{
    char    *end;
    double   v;

    v = strtod(s, &end);

    switch (*end) {

    case 'k':
    case 'K':
        v *= 1e3;
        end++;
        break;

    case 'm':
    case 'M':
        v *= 1e6;
        end++;
        break;

    case 'g':
    case 'G':
        v *= 1e9;
        end++;
        break;
    }

    if (*end != '\0' || v < MSG_SIZE * 8) {
        return -1;
    }

    return (int64_t) v;
}


/* the whole file in memory, cut to whole TS packets, sync bytes checked */

static u_char *
load_ts(const char *path, size_t *npackets)
{
    int          fd;
    u_char      *buf;
    size_t       i, len, got;
    ssize_t      r;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &st) == -1) {
        fprintf(stderr, "srtload: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    len = (size_t) st.st_size / TS_PACKET * TS_PACKET;

    if (len < MSG_SIZE) {
        fprintf(stderr, "srtload: %s: fewer than %d TS packets\n", path,
                TS_PER_MSG);
        (void) close(fd);
        return NULL;
    }

    buf = malloc(len);
    if (buf == NULL) {
        (void) close(fd);
        return NULL;
    }

    for (got = 0; got < len; got += r) {
        r = read(fd, buf + got, len - got);

        if (r <= 0) {
            fprintf(stderr, "srtload: %s: short read\n", path);
            (void) close(fd);
            free(buf);
            return NULL;
        }
    }

    (void) close(fd);

    for (i = 0; i < len; i += TS_PACKET) {
        if (buf[i] != 0x47) {
            fprintf(stderr, "srtload: %s: no TS sync byte at %zu\n", path,
                    i);
            free(buf);
            return NULL;
        }
    }

    *npackets = len / TS_PACKET;

    return buf;
}


/* bits per second between the first and the last PCR of the first PCR PID */

static int64_t
pcr_rate(u_char *ts, size_t npackets)
{
    int       pid, first_pid;
    u_char   *p;
    size_t    i, first_i, last_i;
    int64_t   pcr, first, last;

    first_pid = -1;
    first = last = 0;
    first_i = last_i = 0;

    for (i = 0; i < npackets; i++) {
        p = ts + i * TS_PACKET;
        pid = ((p[1] & 0x1f) << 8) | p[2];

        /* an adaptation field of at least 7 bytes with the PCR flag */

        if ((p[3] & 0x20) == 0 || p[4] < 7 || (p[5] & 0x10) == 0) {
            continue;
        }

        if (first_pid != -1 && pid != first_pid) {
            continue;
        }

        pcr = ((int64_t) p[6] << 25) | ((int64_t) p[7] << 17)
              | ((int64_t) p[8] << 9) | ((int64_t) p[9] << 1)
              | (p[10] >> 7);
        pcr = pcr * 300 + (((p[10] & 1) << 8) | p[11]);

        if (first_pid == -1) {
            first_pid = pid;
            first = pcr;
            first_i = i;
            continue;
        }

        last = pcr;
        last_i = i;
    }

    if (last_i <= first_i || last <= first) {
        return -1;
    }

    return (int64_t) ((double) (last_i - first_i) * TS_PACKET * 8
                      * 27000000.0 / (double) (last - first));
}


static char **
load_lines(const char *path, int *nlines)
{
    int      n, cap;
    char    *line, **lines, **more;
    FILE    *f;
    size_t   size;
    ssize_t  len;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "srtload: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    n = 0;
    cap = 0;
    lines = NULL;
    line = NULL;
    size = 0;

    while ((len = getline(&line, &size, f)) != -1) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        {
            line[--len] = '\0';
        }

        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            more = realloc(lines, cap * sizeof(char *));
            if (more == NULL) {
                fclose(f);
                return NULL;
            }

            lines = more;
        }

        lines[n++] = strdup(line);
    }

    free(line);
    fclose(f);

    *nlines = n;

    return lines;
}


static int
resolve(target_t *t)
{
    int               rc;
    char              host[256], *colon;
    struct addrinfo   hints, *res;

    colon = strrchr(t->text, ':');

    if (colon == NULL || colon == t->text
        || (size_t) (colon - t->text) >= sizeof(host))
    {
        fprintf(stderr, "srtload: \"%s\" is not host:port\n", t->text);
        return -1;
    }

    memcpy(host, t->text, colon - t->text);
    host[colon - t->text] = '\0';

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;

    rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "srtload: %s: %s\n", t->text, gai_strerror(rc));
        return -1;
    }

    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = (int) res->ai_addrlen;

    freeaddrinfo(res);

    return 0;
}


/* the template with every "%d" replaced by the index */

static char *
format_streamid(const char *tpl, int index)
{
    char        *out, *p;
    size_t       len;
    const char  *q;

    len = strlen(tpl) + 1;

    for (q = tpl; (q = strstr(q, "%d")) != NULL; q += 2) {
        len += 10;
    }

    out = malloc(len);
    if (out == NULL) {
        return NULL;
    }

    p = out;

    while (*tpl) {
        if (tpl[0] == '%' && tpl[1] == 'd') {
            p += sprintf(p, "%d", index);
            tpl += 2;
            continue;
        }

        *p++ = *tpl++;
    }

    *p = '\0';

    return out;
}


/* a non-blocking caller: srt_connect() returns at once, epoll tells */

static int
stream_open(stream_t *s, target_t *t, int latency, int pbkeylen, int eid)
{
    int  no, v, events;

    no = 0;

    s->sock = srt_create_socket();
    if (s->sock == SRT_INVALID_SOCK) {
        return -1;
    }

    v = CONNECT_MS;

    if (srt_setsockflag(s->sock, SRTO_RCVSYN, &no, sizeof(no)) != 0
        || srt_setsockflag(s->sock, SRTO_SNDSYN, &no, sizeof(no)) != 0
        || srt_setsockflag(s->sock, SRTO_LATENCY, &latency,
                           sizeof(latency))
           != 0
        || srt_setsockflag(s->sock, SRTO_CONNTIMEO, &v, sizeof(v)) != 0)
    {
        return -1;
    }

    if (s->streamid != NULL
        && srt_setsockflag(s->sock, SRTO_STREAMID, s->streamid,
                           (int) strlen(s->streamid))
           != 0)
    {
        return -1;
    }

    if (s->passphrase != NULL && s->passphrase[0] != '\0'
        && (srt_setsockflag(s->sock, SRTO_PASSPHRASE, s->passphrase,
                            (int) strlen(s->passphrase))
            != 0
            || srt_setsockflag(s->sock, SRTO_PBKEYLEN, &pbkeylen,
                               sizeof(pbkeylen))
               != 0))
    {
        return -1;
    }

    events = SRT_EPOLL_OUT | SRT_EPOLL_ERR;

    if (srt_epoll_add_usock(eid, s->sock, &events) != 0) {
        return -1;
    }

    if (srt_connect(s->sock, (struct sockaddr *) &t->addr, t->addrlen)
        == SRT_ERROR)
    {
        return -1;
    }

    s->state = STREAM_CONNECTING;

    return 0;
}


static void
stream_fail(stream_t *s, int eid, const char *why)
{
    int  reason;

    if (s->state == STREAM_FAILED) {
        return;
    }

    if (s->sock != SRT_INVALID_SOCK && s->state == STREAM_CONNECTING) {
        reason = srt_getrejectreason(s->sock);

        if (reason >= 1000) {
            snprintf(s->why, sizeof(s->why), "rejected:%d", reason);

        } else if (reason == SRT_REJ_TIMEOUT) {
            snprintf(s->why, sizeof(s->why), "timeout");

        } else if (reason != SRT_REJ_UNKNOWN) {
            snprintf(s->why, sizeof(s->why), "rejected:%d", reason);

        } else {
            snprintf(s->why, sizeof(s->why), "%s", why);
        }

    } else {
        snprintf(s->why, sizeof(s->why), "%s", why);
    }

    /* the totals up to here, then the socket goes */

    if (s->sock != SRT_INVALID_SOCK) {
        (void) srt_bstats(s->sock, &s->perf, 0);
        (void) srt_epoll_remove_usock(eid, s->sock);
        (void) srt_close(s->sock);
        s->sock = SRT_INVALID_SOCK;
    }

    s->state = STREAM_FAILED;
}


/* waits until every caller is connected or has failed; returns how many
 * are connected */

static int
connect_all(stream_t *ss, int n, int eid)
{
    int              i, k, r, events, pending, connected;
    int64_t          deadline;
    stream_t        *s;
    SRT_EPOLL_EVENT  ev[EVENTS];

    deadline = now_ns() + (int64_t) (CONNECT_MS + 1000) * 1000000;

    for ( ;; ) {
        pending = 0;

        for (i = 0; i < n; i++) {
            if (ss[i].state == STREAM_CONNECTING) {
                pending++;
            }
        }

        if (pending == 0 || now_ns() > deadline) {
            break;
        }

        r = srt_epoll_uwait(eid, ev, EVENTS, 100);

        for (k = 0; k < r; k++) {
            for (i = 0; i < n; i++) {
                s = &ss[i];

                if (s->sock != ev[k].fd || s->state != STREAM_CONNECTING) {
                    continue;
                }

                if (srt_getsockstate(s->sock) == SRTS_CONNECTED) {
                    s->state = STREAM_SENDING;

                    /* from now on only errors wake the epoll */
                    events = SRT_EPOLL_ERR;
                    (void) srt_epoll_update_usock(eid, s->sock, &events);

                } else if (ev[k].events & SRT_EPOLL_ERR) {
                    stream_fail(s, eid, "connect failed");
                }

                break;
            }
        }
    }

    connected = 0;

    for (i = 0; i < n; i++) {
        if (ss[i].state == STREAM_CONNECTING) {
            stream_fail(&ss[i], eid, "connect timed out");
        }

        if (ss[i].state == STREAM_SENDING) {
            connected++;
        }
    }

    return connected;
}


static void
send_due(stream_t *s, u_char *ts, size_t npackets, int64_t now,
    int64_t interval, int eid)
{
    int      r, err;
    size_t   k, p;
    int64_t  late;
    u_char   msg[MSG_SIZE];

    while (s->next <= now) {
        late = now - s->next - TICK_NS;

        if (late > s->late) {
            s->late = late;
        }

        /* seven packets from the ring */

        if (s->pos + TS_PER_MSG <= npackets) {
            r = srt_sendmsg2(s->sock, (char *) ts + s->pos * TS_PACKET,
                             MSG_SIZE, NULL);

        } else {
            for (k = 0; k < TS_PER_MSG; k++) {
                p = (s->pos + k) % npackets;
                memcpy(msg + k * TS_PACKET, ts + p * TS_PACKET, TS_PACKET);
            }

            r = srt_sendmsg2(s->sock, (char *) msg, MSG_SIZE, NULL);
        }

        if (r == SRT_ERROR) {
            err = srt_getlasterror(NULL);

            if (err == SRT_EASYNCSND) {
                /* the send buffer is full: try again at the next tick */
                return;
            }

            stream_fail(s, eid, srt_getsockstate(s->sock) == SRTS_BROKEN
                                ? "broken" : "send failed");
            return;
        }

        s->msgs++;
        s->bytes += MSG_SIZE;
        s->pos = (s->pos + TS_PER_MSG) % npackets;
        s->next += interval;
    }
}


/*
 * Waits until every stream's send buffer is empty (all acknowledged),
 * then one latency more so that the receivers deliver the last
 * messages, and closes.
 */

static void
drain_all(stream_t *ss, int n, int latency)
{
    int      i, busy;
    size_t   blocks, bytes;
    int64_t  deadline;

    deadline = now_ns() + (int64_t) DRAIN_MS * 1000000;

    do {
        busy = 0;

        for (i = 0; i < n; i++) {
            if (ss[i].state != STREAM_SENDING) {
                continue;
            }

            if (srt_getsndbuffer(ss[i].sock, &blocks, &bytes) == 0
                && blocks > 0)
            {
                busy++;
            }
        }

        if (busy) {
            usleep(10000);
        }

    } while (busy && now_ns() < deadline);

    usleep((useconds_t) (latency + 100) * 1000);

    for (i = 0; i < n; i++) {
        if (ss[i].state != STREAM_SENDING) {
            continue;
        }

        if (srt_getsockstate(ss[i].sock) != SRTS_CONNECTED) {
            snprintf(ss[i].why, sizeof(ss[i].why), "broken");
            ss[i].state = STREAM_FAILED;
        }

        (void) srt_bstats(ss[i].sock, &ss[i].perf, 0);
        (void) srt_close(ss[i].sock);
        ss[i].sock = SRT_INVALID_SOCK;
    }
}


static double
cpu_seconds(void)
{
    struct rusage  ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }

    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
           + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
