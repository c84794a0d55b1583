/*
 * tusbench: a small HTTP/1.1 upload client for bench/run.sh.
 *
 * It is built so that it is never the bottleneck: one keep-alive
 * connection per client thread, request bodies sent with sendfile(2)
 * straight from the page cache, responses parsed by hand.
 *
 *   tusbench tus URL FILE SIZE CHUNK CLIENTS
 *       every client creates an upload of SIZE bytes (POST URL with
 *       Upload-Length) and sends the first SIZE bytes of FILE in PATCHes
 *       of CHUNK bytes (CHUNK 0: the whole upload in one PATCH), checking
 *       each 204 and its Upload-Offset; then a HEAD must report SIZE.
 *
 *   tusbench put URL FILE SIZE CLIENTS
 *       every client PUTs the first SIZE bytes of FILE to URL<n>.bin
 *       (a WebDAV PUT, the baseline).
 *
 * Prints one line:
 *   bytes=N seconds=S mbps=X requests=R p50_ms=A p95_ms=B max_ms=C
 * (mbps in 10^6 bytes per second; p50/p95/max: duration of the body
 * requests, PATCH or PUT). Exits 1 on any error (message on stderr).
 *
 * Only http://IPv4:port/path URLs; no TLS, no redirects, no proxies.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


typedef struct {
    int             status;
    long long       content_length;     /* -1: none */
    long long       upload_offset;      /* -1: none */
    int             chunked;
    int             close;
    char            location[1024];
} resp_t;


typedef struct {
    int             id;
    int             fd;                 /* socket, -1 when closed */
    char            buf[65536];
    size_t          len;                /* bytes buffered in buf */
    double         *lat;                /* body request durations, ms */
    size_t          nlat;
    size_t          cap;
    long long       requests;
    int             failed;
    char            err[512];
} client_t;


static char               g_mode[8];
static char               g_host[256];
static int                g_port;
static char               g_path[1024];
static struct sockaddr_in g_addr;
static int                g_file;
static long long          g_size;
static long long          g_chunk;
static int                g_clients;


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


static void
fail(client_t *c, const char *fmt, ...)
{
    va_list  ap;

    if (!c->failed) {
        va_start(ap, fmt);
        vsnprintf(c->err, sizeof(c->err), fmt, ap);
        va_end(ap);
        c->failed = 1;
    }
}


static int
conn_open(client_t *c)
{
    int  one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd == -1) {
        fail(c, "socket(): %s", strerror(errno));
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *) &g_addr, sizeof(g_addr)) == -1) {
        fail(c, "connect(): %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->len = 0;
    return 0;
}


static void
conn_close(client_t *c)
{
    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
    }
    c->len = 0;
}


static int
send_all(client_t *c, const char *p, size_t n)
{
    ssize_t  w;

    while (n > 0) {
        w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w == -1 && errno == EINTR) {
                continue;
            }
            fail(c, "send(): %s", w ? strerror(errno) : "closed");
            return -1;
        }
        p += w;
        n -= w;
    }
    return 0;
}


static int
send_file(client_t *c, off_t off, long long n)
{
    ssize_t  w;

    while (n > 0) {
        w = sendfile(c->fd, g_file, &off, n > (1 << 30) ? (1 << 30) : n);
        if (w <= 0) {
            if (w == -1 && errno == EINTR) {
                continue;
            }
            fail(c, "sendfile(): %s (left %lld)", w ? strerror(errno)
                 : "closed", n);
            return -1;
        }
        n -= w;
    }
    return 0;
}


static int
fill(client_t *c)
{
    ssize_t  r;

    if (c->len == sizeof(c->buf)) {
        fail(c, "response header too long");
        return -1;
    }
    for ( ;; ) {
        r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (r > 0) {
            c->len += r;
            return 0;
        }
        if (r == -1 && errno == EINTR) {
            continue;
        }
        fail(c, "recv(): %s", r ? strerror(errno)
             : "connection closed by server");
        return -1;
    }
}


static void
consume(client_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}


static char *
find_crlf(client_t *c)
{
    return memmem(c->buf, c->len, "\r\n", 2);
}


/* reads and discards n body bytes */
static int
skip_body(client_t *c, long long n)
{
    size_t  k;

    while (n > 0) {
        if (c->len == 0 && fill(c) != 0) {
            return -1;
        }
        k = (long long) c->len < n ? c->len : (size_t) n;
        consume(c, k);
        n -= k;
    }
    return 0;
}


static int
read_response(client_t *c, resp_t *r, int head)
{
    char       *e, *p, *v;
    size_t      hl;
    long long   n;

    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    r->upload_offset = -1;

    while ((e = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL) {
        if (fill(c) != 0) {
            return -1;
        }
    }
    hl = e - c->buf + 4;
    *e = '\0';

    if (sscanf(c->buf, "HTTP/1.%*d %d", &r->status) != 1) {
        fail(c, "bad status line: %.60s", c->buf);
        return -1;
    }
    if (strncmp(c->buf, "HTTP/1.0", 8) == 0) {
        r->close = 1;
    }

    for (p = strstr(c->buf, "\r\n"); p != NULL; p = strstr(p, "\r\n")) {
        p += 2;
        v = strchr(p, ':');
        e = strstr(p, "\r\n");
        if (v == NULL || (e != NULL && v > e)) {
            continue;
        }
        *v++ = '\0';
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        if (strcasecmp(p, "content-length") == 0) {
            r->content_length = strtoll(v, NULL, 10);
        } else if (strcasecmp(p, "upload-offset") == 0) {
            r->upload_offset = strtoll(v, NULL, 10);
        } else if (strcasecmp(p, "transfer-encoding") == 0) {
            r->chunked = strncasecmp(v, "chunked", 7) == 0;
        } else if (strcasecmp(p, "connection") == 0) {
            r->close = strncasecmp(v, "close", 5) == 0;
        } else if (strcasecmp(p, "location") == 0) {
            n = e != NULL ? e - v : (long long) strlen(v);
            if (n >= (long long) sizeof(r->location)) {
                n = sizeof(r->location) - 1;
            }
            memcpy(r->location, v, n);
            r->location[n] = '\0';
        }
        p = v;
    }
    consume(c, hl);

    if (head) {
        /* a response to HEAD has no body whatever the headers say */

    } else if (r->chunked) {
        for ( ;; ) {
            while ((e = find_crlf(c)) == NULL) {
                if (fill(c) != 0) {
                    return -1;
                }
            }
            n = strtoll(c->buf, NULL, 16);
            consume(c, e - c->buf + 2);
            if (skip_body(c, n + 2) != 0) {     /* data + CRLF */
                return -1;
            }
            if (n == 0) {
                /* "0\r\n" then "\r\n" (no trailers expected) */
                break;
            }
        }
    } else if (r->content_length > 0) {
        if (skip_body(c, r->content_length) != 0) {
            return -1;
        }
    }
    return 0;
}


/* one request; headers in hdr, then n body bytes of the file at off */
static int
request(client_t *c, const char *hdr, off_t off, long long n, resp_t *r)
{
    int  head = strncmp(hdr, "HEAD ", 5) == 0;

    int  tries;

    for (tries = 0; tries < 2; tries++) {
        if (c->fd == -1 && conn_open(c) != 0) {
            return -1;
        }
        if (send_all(c, hdr, strlen(hdr)) == 0
            && (n == 0 || send_file(c, off, n) == 0)
            && read_response(c, r, head) == 0)
        {
            c->requests++;
            if (r->close) {
                conn_close(c);
            }
            return 0;
        }
        /* a keep-alive connection closed by the server between requests */
        conn_close(c);
        if (tries == 0 && n == 0) {
            c->failed = 0;
            continue;
        }
        return -1;
    }
    return -1;
}


static void
add_lat(client_t *c, double ms)
{
    if (c->nlat == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->lat = realloc(c->lat, c->cap * sizeof(double));
        if (c->lat == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    c->lat[c->nlat++] = ms;
}


/* "http://host:port/a/b" or "/a/b" -> "/a/b" */
static const char *
url_path(const char *u)
{
    const char  *p;

    if (strncmp(u, "http://", 7) == 0) {
        p = strchr(u + 7, '/');
        return p != NULL ? p : "/";
    }
    return u;
}


static void
run_tus(client_t *c)
{
    char        hdr[2048], upath[1024];
    double      t0;
    resp_t      r;
    long long   off, n, chunk;

    snprintf(hdr, sizeof(hdr),
             "POST %s HTTP/1.1\r\nHost: %s:%d\r\nTus-Resumable: 1.0.0\r\n"
             "Upload-Length: %lld\r\n"
             "Upload-Metadata: filename YmVuY2guYmlu\r\n"
             "Content-Length: 0\r\n\r\n",
             g_path, g_host, g_port, g_size);
    if (request(c, hdr, 0, 0, &r) != 0) {
        return;
    }
    if (r.status != 201 || r.location[0] == '\0') {
        fail(c, "POST: status %d (want 201 + Location)", r.status);
        return;
    }
    snprintf(upath, sizeof(upath), "%s", url_path(r.location));

    chunk = g_chunk > 0 ? g_chunk : g_size;
    for (off = 0; off < g_size; off += n) {
        n = g_size - off < chunk ? g_size - off : chunk;
        snprintf(hdr, sizeof(hdr),
                 "PATCH %s HTTP/1.1\r\nHost: %s:%d\r\n"
                 "Tus-Resumable: 1.0.0\r\nUpload-Offset: %lld\r\n"
                 "Content-Type: application/offset+octet-stream\r\n"
                 "Content-Length: %lld\r\n\r\n",
                 upath, g_host, g_port, off, n);
        t0 = now_ms();
        if (request(c, hdr, off, n, &r) != 0) {
            return;
        }
        add_lat(c, now_ms() - t0);
        if (r.status != 204 || r.upload_offset != off + n) {
            fail(c, "%s: PATCH at %lld -> status %d, Upload-Offset %lld",
                 upath, off, r.status, r.upload_offset);
            return;
        }
    }

    snprintf(hdr, sizeof(hdr),
             "HEAD %s HTTP/1.1\r\nHost: %s:%d\r\nTus-Resumable: 1.0.0\r\n\r\n",
             upath, g_host, g_port);
    if (request(c, hdr, 0, 0, &r) != 0) {
        return;
    }
    if (r.status != 200 || r.upload_offset != g_size) {
        fail(c, "HEAD: status %d, Upload-Offset %lld", r.status,
             r.upload_offset);
    }
}


static void
run_put(client_t *c)
{
    char     hdr[2048];
    double   t0;
    resp_t   r;

    snprintf(hdr, sizeof(hdr),
             "PUT %s%d.bin HTTP/1.1\r\nHost: %s:%d\r\n"
             "Content-Type: application/octet-stream\r\n"
             "Content-Length: %lld\r\n\r\n",
             g_path, c->id, g_host, g_port, g_size);
    t0 = now_ms();
    if (request(c, hdr, 0, g_size, &r) != 0) {
        return;
    }
    add_lat(c, now_ms() - t0);
    if (r.status != 201 && r.status != 204) {
        fail(c, "PUT: status %d", r.status);
    }
}


static void *
client_main(void *arg)
{
    client_t  *c = arg;

    c->fd = -1;
    if (strcmp(g_mode, "tus") == 0) {
        run_tus(c);
    } else {
        run_put(c);
    }
    conn_close(c);
    return NULL;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static long long
parse_size(const char *s)
{
    char       *e;
    long long   n;

    n = strtoll(s, &e, 10);
    switch (*e) {
    case 'k': case 'K': n <<= 10; break;
    case 'm': case 'M': n <<= 20; break;
    case 'g': case 'G': n <<= 30; break;
    default: break;
    }
    return n;
}


static void
usage(void)
{
    fprintf(stderr,
        "usage: tusbench tus URL FILE SIZE CHUNK CLIENTS\n"
        "       tusbench put URL FILE SIZE CLIENTS\n"
        "  URL: http://127.0.0.1:PORT/path/ ; SIZE, CHUNK: bytes, "
        "k/m/g suffixes\n");
    exit(2);
}


int
main(int argc, char **argv)
{
    int          i, err;
    char        *p, *s;
    double       t0, t1, *all;
    size_t       nall, k;
    client_t    *cl;
    pthread_t   *th;
    struct stat  st;
    long long    requests;

    if (argc < 2) {
        usage();
    }
    snprintf(g_mode, sizeof(g_mode), "%s", argv[1]);
    if (strcmp(g_mode, "tus") == 0 && argc == 7) {
        g_chunk = parse_size(argv[5]);
        g_clients = atoi(argv[6]);
    } else if (strcmp(g_mode, "put") == 0 && argc == 6) {
        g_clients = atoi(argv[5]);
    } else {
        usage();
    }
    g_size = parse_size(argv[4]);

    if (strncmp(argv[2], "http://", 7) != 0) {
        usage();
    }
    s = argv[2] + 7;
    p = strchr(s, '/');
    snprintf(g_path, sizeof(g_path), "%s", p != NULL ? p : "/");
    snprintf(g_host, sizeof(g_host), "%.*s", (int) (p ? p - s : 255), s);
    p = strchr(g_host, ':');
    g_port = 80;
    if (p != NULL) {
        *p = '\0';
        g_port = atoi(p + 1);
    }
    memset(&g_addr, 0, sizeof(g_addr));
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons(g_port);
    if (inet_pton(AF_INET, g_host, &g_addr.sin_addr) != 1) {
        fprintf(stderr, "tusbench: host must be an IPv4 address: %s\n",
                g_host);
        return 2;
    }

    g_file = open(argv[3], O_RDONLY);
    if (g_file == -1 || fstat(g_file, &st) == -1) {
        perror(argv[3]);
        return 2;
    }
    if (g_size <= 0 || g_size > st.st_size || g_clients <= 0
        || g_chunk < 0)
    {
        fprintf(stderr, "tusbench: bad SIZE/CHUNK/CLIENTS (file has %lld "
                "bytes)\n", (long long) st.st_size);
        return 2;
    }

    cl = calloc(g_clients, sizeof(client_t));
    th = calloc(g_clients, sizeof(pthread_t));
    if (cl == NULL || th == NULL) {
        perror("calloc");
        return 1;
    }

    t0 = now_ms();
    for (i = 0; i < g_clients; i++) {
        cl[i].id = i;
        if (pthread_create(&th[i], NULL, client_main, &cl[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    err = 0;
    nall = 0;
    requests = 0;
    for (i = 0; i < g_clients; i++) {
        pthread_join(th[i], NULL);
        if (cl[i].failed) {
            fprintf(stderr, "tusbench: client %d: %s\n", i, cl[i].err);
            err = 1;
        }
        nall += cl[i].nlat;
        requests += cl[i].requests;
    }
    t1 = now_ms();

    all = malloc((nall + 1) * sizeof(double));
    k = 0;
    for (i = 0; i < g_clients; i++) {
        memcpy(all + k, cl[i].lat, cl[i].nlat * sizeof(double));
        k += cl[i].nlat;
    }
    qsort(all, nall, sizeof(double), cmp_double);
    if (nall == 0) {
        all[0] = 0;
        nall = 1;
    }

    printf("bytes=%lld seconds=%.3f mbps=%.1f requests=%lld "
           "p50_ms=%.1f p95_ms=%.1f max_ms=%.1f\n",
           g_size * g_clients, (t1 - t0) / 1e3,
           g_size * (double) g_clients / ((t1 - t0) / 1e3) / 1e6,
           requests, all[nall / 2], all[(size_t) (nall * 0.95)],
           all[nall - 1]);
    return err;
}
