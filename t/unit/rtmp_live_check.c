
/*
 * Copyright (C) nginx video ingest developers
 *
 * Publishes an MPEG-TS file to an RTMP server through the core: TS
 * demuxer -> FLV remuxer -> RTMP client, over a blocking TCP socket.
 * Used by rtmp_live_check.sh against nginx-rtmp-module; not a unit test
 * (it needs a server).
 *
 *   rtmp_live_check URL FILE.ts [HOLD_SECONDS]
 *
 * Prints "publishing" once NetStream.Publish.Start came, "sent N tags"
 * and exits 0; prints "rejected CODE" and exits 2 when the server says
 * no; exits 1 on any other failure.
 */


#include "ingest_rtmp.h"
#include "ingest_flv.h"
#include "ingest_ts.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>


typedef struct {
    int                    fd;
    ingest_rtmp_client_t  *client;
    ingest_flv_t           flv;
    size_t                 tags;
    int                    meta_sent;
    unsigned char          flv_buf[4 << 20];
    unsigned char          out[8 << 20];
} pub_t;


static int send_all(int fd, const unsigned char *p, size_t len);
static int tcp_connect(const char *host, unsigned port);
static int handshake(pub_t *pub, const ingest_rtmp_url_t *url);
static int on_frame(void *ctx, const ingest_ts_frame_t *f);
static int send_tag(pub_t *pub, const ingest_flv_tag_t *t);


static pub_t  pub;


int
main(int argc, char **argv)
{
    int                n;
    FILE              *f;
    size_t             len;
    unsigned           hold;
    ingest_ts_t       *ts;
    unsigned char      buf[65536];
    struct pollfd      pfd;
    ingest_ts_conf_t   conf;
    ingest_rtmp_url_t  url;

    if (argc < 3) {
        fprintf(stderr, "usage: %s URL FILE.ts [HOLD_SECONDS]\n", argv[0]);
        return 1;
    }

    hold = argc > 3 ? (unsigned) atoi(argv[3]) : 0;

    if (ingest_rtmp_url_parse((const unsigned char *) argv[1],
                              strlen(argv[1]), &url)
        != 0)
    {
        fprintf(stderr, "bad URL %s\n", argv[1]);
        return 1;
    }

    pub.client = malloc(sizeof(ingest_rtmp_client_t));
    ts = malloc(sizeof(ingest_ts_t));
    if (pub.client == NULL || ts == NULL) {
        return 1;
    }

    pub.fd = tcp_connect(url.host, url.port);
    if (pub.fd < 0) {
        return 1;
    }

    n = handshake(&pub, &url);
    if (n != 0) {
        close(pub.fd);
        free(pub.client);
        free(ts);
        return n;
    }

    printf("publishing\n");
    fflush(stdout);

    ingest_flv_init(&pub.flv);

    memset(&conf, 0, sizeof(ingest_ts_conf_t));
    conf.handler = on_frame;
    conf.ctx = &pub;

    ingest_ts_init(ts, &conf);

    f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }

    /* SRT-sized reads: seven packets */

    while ((len = fread(buf, 1, 1316, f)) > 0) {
        if (ingest_ts_feed(ts, buf, len) != 0) {
            return 1;
        }
    }

    fclose(f);

    if (ingest_ts_flush(ts) != 0) {
        return 1;
    }

    ingest_ts_free(ts);

    printf("sent %zu tags\n", pub.tags);
    fflush(stdout);

    if (hold > 0) {
        sleep(hold);
    }

    len = ingest_rtmp_client_close(pub.client, pub.out, sizeof(pub.out));
    if (len == 0 || send_all(pub.fd, pub.out, len) != 0) {
        return 1;
    }

    /* nginx-rtmp keeps the connection after deleteStream: we close it,
     * reading what is left for a moment */

    shutdown(pub.fd, SHUT_WR);

    pfd.fd = pub.fd;
    pfd.events = POLLIN;

    while (poll(&pfd, 1, 1000) > 0 && read(pub.fd, buf, sizeof(buf)) > 0) {
        /* void */
    }

    close(pub.fd);
    free(pub.client);
    free(ts);

    return 0;
}


static int
tcp_connect(const char *host, unsigned port)
{
    int               fd;
    char              service[16];
    struct addrinfo   hints, *res, *ai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;

    snprintf(service, sizeof(service), "%u", port);

    if (getaddrinfo(host, service, &hints, &res) != 0) {
        fprintf(stderr, "cannot resolve %s\n", host);
        return -1;
    }

    fd = -1;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }

        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }

        close(fd);
        fd = -1;
    }

    freeaddrinfo(res);

    if (fd < 0) {
        fprintf(stderr, "cannot connect to %s:%u\n", host, port);
    }

    return fd;
}


static int
handshake(pub_t *p, const ingest_rtmp_url_t *url)
{
    int                        fd, rnd;
    size_t                     n, olen;
    ssize_t                    r;
    unsigned char              random[1528], buf[16384];
    struct pollfd              pfd;
    ingest_rtmp_rc_t           rc;
    ingest_rtmp_client_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.app = url->app;
    conf.tc_url = url->tc_url;
    conf.stream = url->stream;

    if (ingest_rtmp_client_init(p->client, &conf) != 0) {
        return 1;
    }

    rnd = open("/dev/urandom", O_RDONLY);
    if (rnd < 0 || read(rnd, random, sizeof(random))
                   != (ssize_t) sizeof(random))
    {
        return 1;
    }

    close(rnd);

    fd = p->fd;

    n = ingest_rtmp_client_start(p->client, (uint32_t) time(NULL), random,
                                 buf, sizeof(buf));
    if (n == 0 || send_all(fd, buf, n) != 0) {
        return 1;
    }

    for ( ;; ) {
        pfd.fd = fd;
        pfd.events = POLLIN;

        if (poll(&pfd, 1, 10000) <= 0) {
            fprintf(stderr, "timed out in state %s\n",
                    ingest_rtmp_state_name(p->client->state));
            return 1;
        }

        r = read(fd, buf, sizeof(buf));
        if (r <= 0) {
            fprintf(stderr, "server closed in state %s\n",
                    ingest_rtmp_state_name(p->client->state));
            return 1;
        }

        rc = ingest_rtmp_client_feed(p->client, buf, (size_t) r, p->out,
                                     sizeof(p->out), &olen);

        if (olen > 0 && send_all(fd, p->out, olen) != 0) {
            return 1;
        }

        switch (rc) {

        case INGEST_RTMP_AGAIN:
            continue;

        case INGEST_RTMP_PUBLISHING:
            return 0;

        case INGEST_RTMP_REJECTED:
            printf("rejected %s %s\n", p->client->status,
                   p->client->description);
            fflush(stdout);
            return 2;

        default:
            fprintf(stderr, "protocol error in state %s\n",
                    ingest_rtmp_state_name(p->client->state));
            return 1;
        }
    }
}


static int
on_frame(void *ctx, const ingest_ts_frame_t *f)
{
    int                 n, i;
    size_t              m;
    pub_t              *p;
    ingest_flv_tag_t    t[2];
    ingest_rtmp_meta_t  meta;

    p = ctx;

    if (f->codec == INGEST_TS_CODEC_H264) {
        n = ingest_flv_video(&p->flv, f->data, f->len, f->pts, f->dts,
                             p->flv_buf, sizeof(p->flv_buf), t);

    } else if (f->codec == INGEST_TS_CODEC_AAC) {
        n = ingest_flv_audio(&p->flv, f->data, f->len, f->pts, p->flv_buf,
                             sizeof(p->flv_buf), t);

    } else {
        return 0;
    }

    if (n < 0) {
        return -1;
    }

    /* onMetaData once both sequence headers are known */

    if (!p->meta_sent && p->flv.info.has_video && p->flv.info.has_audio) {
        memset(&meta, 0, sizeof(meta));
        meta.width = p->flv.info.width;
        meta.height = p->flv.info.height;
        meta.video = 1;
        meta.audio = 1;
        meta.sample_rate = p->flv.info.sample_rate;
        meta.channels = p->flv.info.channels;

        m = ingest_rtmp_client_metadata(p->client, &meta, p->out,
                                        sizeof(p->out));
        if (m == 0 || send_all(p->fd, p->out, m) != 0) {
            return -1;
        }

        p->meta_sent = 1;
    }

    for (i = 0; i < n; i++) {
        if (send_tag(p, &t[i]) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
send_tag(pub_t *p, const ingest_flv_tag_t *t)
{
    size_t  n;

    n = ingest_rtmp_client_media(p->client, t->type, t->timestamp, t->data,
                                 t->len, p->out, sizeof(p->out));
    if (n == 0) {
        return -1;
    }

    p->tags++;

    return send_all(p->fd, p->out, n);
}


static int
send_all(int fd, const unsigned char *p, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            perror("write");
            return -1;
        }

        p += n;
        len -= (size_t) n;
    }

    return 0;
}
