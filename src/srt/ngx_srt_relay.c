
/*
 * Copyright (C) nginx video ingest developers
 *
 * Relays of an SRT stream, on nginx connections in the event loop:
 *
 *   live     the ffmpeg-worker's live input (a unix socket): the line
 *            "stream NAME\n", then the MPEG-TS bytes as they come
 *   forward  the MPEG-TS bytes to a TCP address
 *   rtmp     publish to an RTMP server (nginx-rtmp's live application):
 *            the TS is demuxed, remuxed to FLV tags and sent as RTMP
 *            messages by the client state machine of the core
 *
 * Each relay has one output buffer of relay_buffer bytes; a relay whose
 * peer does not keep up fills it and is closed (a slow consumer), never
 * buffered beyond that. A relay that fails does not stop the others;
 * when none is left the stream is closed.
 */


#include "ngx_srt.h"
#include "ngx_ingest_metrics.h"


static ngx_srt_relay_t *ngx_srt_relay_create(ngx_srt_session_t *s,
    ngx_uint_t kind, ngx_addr_t *addr);
static ngx_int_t ngx_srt_relay_rtmp_init(ngx_srt_relay_t *r);
static void ngx_srt_relay_write_handler(ngx_event_t *wev);
static void ngx_srt_relay_read_handler(ngx_event_t *rev);
static void ngx_srt_relay_timer_handler(ngx_event_t *ev);
static u_char *ngx_srt_relay_reserve(ngx_srt_relay_t *r, size_t len);
static void ngx_srt_relay_append(ngx_srt_relay_t *r, u_char *p, size_t len);
static void ngx_srt_relay_flush(ngx_srt_relay_t *r);
static void ngx_srt_relay_fail(ngx_srt_relay_t *r, const char *why,
    ngx_err_t err);
static void ngx_srt_relay_close(ngx_srt_relay_t *r);
static int ngx_srt_relay_frame(void *ctx, const ingest_ts_frame_t *f);
static ngx_int_t ngx_srt_relay_tag(ngx_srt_relay_t *r,
    ingest_flv_tag_t *tag);


static const char  *ngx_srt_relay_names[] = { "live", "rtmp", "forward" };

static ngx_uint_t  ngx_srt_relay_slow[] = {
    NGX_HTTP_INGEST_M_SRT_SLOW_LIVE,
    NGX_HTTP_INGEST_M_SRT_SLOW_RTMP,
    NGX_HTTP_INGEST_M_SRT_SLOW_FORWARD
};

static ngx_uint_t  ngx_srt_relay_errors[] = {
    NGX_HTTP_INGEST_M_SRT_RELAY_ERR_LIVE,
    NGX_HTTP_INGEST_M_SRT_RELAY_ERR_RTMP,
    NGX_HTTP_INGEST_M_SRT_RELAY_ERR_FORWARD
};

static ngx_uint_t  ngx_srt_relay_bytes[] = {
    NGX_HTTP_INGEST_M_SRT_RELAY_BYTES_LIVE,
    NGX_HTTP_INGEST_M_SRT_RELAY_BYTES_RTMP,
    NGX_HTTP_INGEST_M_SRT_RELAY_BYTES_FORWARD
};


/* Context: event loop */

ngx_int_t
ngx_srt_relays_start(ngx_srt_session_t *s)
{
    u_char               name[65];
    size_t               n;
    ngx_srt_relay_t     *r;
    ngx_srt_srv_conf_t  *conf;

    conf = s->conf;

    if (conf->live_addr) {
        r = ngx_srt_relay_create(s, NGX_SRT_RELAY_LIVE, conf->live_addr);

        if (r != NULL) {
            n = ngx_srt_live_name(s, name);
            r->last = ngx_sprintf(r->last, "stream %*s\n", n, name);
        }
    }

    if (conf->forward_addr) {
        (void) ngx_srt_relay_create(s, NGX_SRT_RELAY_FORWARD,
                                    conf->forward_addr);
    }

    if (conf->rtmp_addr) {
        r = ngx_srt_relay_create(s, NGX_SRT_RELAY_RTMP, conf->rtmp_addr);

        if (r != NULL && ngx_srt_relay_rtmp_init(r) != NGX_OK) {
            ngx_srt_relay_fail(r, "cannot start the RTMP client", 0);
        }
    }

    return s->nrelays ? NGX_OK : NGX_ERROR;
}


static ngx_srt_relay_t *
ngx_srt_relay_create(ngx_srt_session_t *s, ngx_uint_t kind, ngx_addr_t *addr)
{
    ngx_int_t            rc;
    ngx_log_t           *log;
    ngx_connection_t    *c;
    ngx_srt_relay_t     *r;

    log = ngx_cycle->log;

    r = ngx_calloc(sizeof(ngx_srt_relay_t) + s->conf->relay_buffer, log);
    if (r == NULL) {
        ngx_srt_metric_add(ngx_srt_relay_errors[kind], 1);
        return NULL;
    }

    r->session = s;
    r->kind = kind;
    r->buf = (u_char *) r + sizeof(ngx_srt_relay_t);
    r->pos = r->buf;
    r->last = r->buf;
    r->end = r->buf + s->conf->relay_buffer;

    r->timer.handler = ngx_srt_relay_timer_handler;
    r->timer.data = r;
    r->timer.log = log;
    r->timer.cancelable = 1;

    r->peer.sockaddr = addr->sockaddr;
    r->peer.socklen = addr->socklen;
    r->peer.name = &addr->name;
    r->peer.get = ngx_event_get_peer;
    r->peer.log = log;
    r->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&r->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "srt: \"%s\": cannot connect the %s relay to %V",
                      s->name, ngx_srt_relay_names[kind], &addr->name);

        if (r->peer.connection) {
            ngx_close_connection(r->peer.connection);
        }

        ngx_srt_metric_add(ngx_srt_relay_errors[kind], 1);
        ngx_free(r);
        return NULL;
    }

    c = r->peer.connection;
    c->data = r;
    c->read->handler = ngx_srt_relay_read_handler;
    c->write->handler = ngx_srt_relay_write_handler;

    s->relay[kind] = r;
    s->nrelays++;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(&r->timer, s->conf->relay_timeout);
        return r;
    }

    r->connected = 1;

    return r;
}


static ngx_int_t
ngx_srt_relay_rtmp_init(ngx_srt_relay_t *r)
{
    u_char                     *p, *q, *last;
    size_t                      n;
    ngx_str_t                  *tpl;
    ngx_srt_session_t          *s;
    ingest_ts_conf_t            tc;
    ingest_rtmp_url_t          *url;
    ingest_rtmp_client_conf_t   cc;
    u_char                      name[65];
    u_char                      rnd[1528];
    u_char                      buf[2048];

    s = r->session;
    tpl = &s->conf->relay_rtmp;
    n = ngx_srt_live_name(s, name);

    /* the URL: the template with $stream replaced */

    p = buf;
    last = buf + sizeof(buf) - 1;
    q = tpl->data;

    while (q < tpl->data + tpl->len && p < last) {
        if (tpl->data + tpl->len - q >= 7 && ngx_strncmp(q, "$stream", 7) == 0)
        {
            p = ngx_cpymem(p, name, ngx_min(n, (size_t) (last - p)));
            q += 7;
            continue;
        }

        *p++ = *q++;
    }

    url = ngx_calloc(sizeof(ingest_rtmp_url_t), ngx_cycle->log);
    r->rtmp = ngx_calloc(sizeof(ingest_rtmp_client_t), ngx_cycle->log);
    r->ts = ngx_calloc(sizeof(ingest_ts_t), ngx_cycle->log);
    r->flv = ngx_calloc(sizeof(ingest_flv_t), ngx_cycle->log);

    if (url == NULL || r->rtmp == NULL || r->ts == NULL || r->flv == NULL) {
        ngx_free(url);
        return NGX_ERROR;
    }

    if (ingest_rtmp_url_parse(buf, p - buf, url) != 0) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "srt: \"%s\": invalid RTMP URL \"%*s\"", s->name,
                      p - buf, buf);
        ngx_free(url);
        return NGX_ERROR;
    }

    ngx_memzero(&cc, sizeof(cc));
    cc.app = url->app;
    cc.tc_url = url->tc_url;
    cc.stream = url->stream;

    if (ingest_rtmp_client_init(r->rtmp, &cc) != 0) {
        ngx_free(url);
        return NGX_ERROR;
    }

    ngx_free(url);

    ngx_memzero(&tc, sizeof(tc));
    tc.handler = ngx_srt_relay_frame;
    tc.ctx = r;
    ingest_ts_init(r->ts, &tc);

    ingest_flv_init(r->flv);

    for (n = 0; n < sizeof(rnd); n++) {
        rnd[n] = (u_char) ngx_random();
    }

    p = ngx_srt_relay_reserve(r, 1 + INGEST_RTMP_HANDSHAKE_SIZE);
    if (p == NULL) {
        return NGX_ERROR;
    }

    r->last += ingest_rtmp_client_start(r->rtmp, (uint32_t) ngx_time(),
                                        rnd, p, r->end - p);

    return NGX_OK;
}


/* Context: event loop */

void
ngx_srt_relays_data(ngx_srt_session_t *s, u_char *p, size_t len)
{
    ngx_uint_t        i;
    ngx_srt_relay_t  *r;

    for (i = 0; i < NGX_SRT_RELAYS; i++) {
        r = s->relay[i];

        if (r == NULL || r->closed) {
            continue;
        }

        if (r->kind != NGX_SRT_RELAY_RTMP) {
            ngx_srt_relay_append(r, p, len);
            continue;
        }

        if (ingest_ts_feed(r->ts, p, len) != 0) {
            /* the frame handler stopped the demuxer */

            if (r->fail_slow) {
                ngx_srt_metric_add(ngx_srt_relay_slow[r->kind], 1);
            }

            ngx_srt_relay_fail(r, r->fail ? r->fail : "demuxer stopped", 0);
            continue;
        }

        ngx_srt_relay_flush(r);
    }
}


/*
 * The stream has ended: relays send what they hold (within
 * relay_timeout), or close at once when exiting.
 * Context: event loop
 */

void
ngx_srt_relays_finish(ngx_srt_session_t *s, ngx_uint_t now)
{
    u_char           *p;
    size_t            n;
    ngx_uint_t        i;
    ngx_srt_relay_t  *r;

    for (i = 0; i < NGX_SRT_RELAYS; i++) {
        r = s->relay[i];

        if (r == NULL) {
            continue;
        }

        if (now || !r->connected) {
            ngx_srt_relay_close(r);
            continue;
        }

        if (r->kind == NGX_SRT_RELAY_RTMP && r->publishing) {
            p = ngx_srt_relay_reserve(r, 512);

            if (p != NULL) {
                n = ingest_rtmp_client_close(r->rtmp, p, 512);
                r->last += n;
            }
        }

        r->draining = 1;

        if (r->timer.timer_set) {
            ngx_del_timer(&r->timer);
        }

        ngx_add_timer(&r->timer, s->conf->relay_timeout);

        ngx_srt_relay_flush(r);
    }
}


/*
 * Room for len more bytes at r->last, moving what is pending to the
 * start of the buffer; NULL when it does not fit (a slow consumer).
 */

static u_char *
ngx_srt_relay_reserve(ngx_srt_relay_t *r, size_t len)
{
    size_t  pending;

    if ((size_t) (r->end - r->last) >= len) {
        return r->last;
    }

    pending = r->last - r->pos;

    if (pending + len > (size_t) (r->end - r->buf)) {
        return NULL;
    }

    ngx_memmove(r->buf, r->pos, pending);
    r->pos = r->buf;
    r->last = r->buf + pending;

    return r->last;
}


static void
ngx_srt_relay_append(ngx_srt_relay_t *r, u_char *p, size_t len)
{
    u_char  *dst;

    dst = ngx_srt_relay_reserve(r, len);

    if (dst == NULL) {
        ngx_srt_metric_add(ngx_srt_relay_slow[r->kind], 1);
        ngx_srt_relay_fail(r, "slow consumer: relay buffer full", 0);
        return;
    }

    r->last = ngx_cpymem(dst, p, len);

    ngx_srt_relay_flush(r);
}


static void
ngx_srt_relay_flush(ngx_srt_relay_t *r)
{
    ssize_t            n;
    ngx_connection_t  *c;

    if (!r->connected || r->closed) {
        return;
    }

    c = r->peer.connection;

    while (r->pos < r->last) {
        n = c->send(c, r->pos, r->last - r->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_srt_relay_fail(r, "cannot wait for the relay", 0);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_srt_relay_fail(r, "write failed", ngx_socket_errno);
            return;
        }

        r->pos += n;
        r->sent += n;
        ngx_srt_metric_add(ngx_srt_relay_bytes[r->kind], n);
    }

    r->pos = r->buf;
    r->last = r->buf;

    if (r->draining) {
        ngx_srt_relay_close(r);
    }
}


static void
ngx_srt_relay_write_handler(ngx_event_t *wev)
{
    int                err;
    socklen_t          len;
    ngx_connection_t  *c;
    ngx_srt_relay_t   *r;

    c = wev->data;
    r = c->data;

    if (!r->connected) {
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_srt_relay_fail(r, "connect failed", err);
            return;
        }

        r->connected = 1;

        if (r->timer.timer_set && !r->draining) {
            ngx_del_timer(&r->timer);
        }
    }

    ngx_srt_relay_flush(r);
}


static void
ngx_srt_relay_read_handler(ngx_event_t *rev)
{
    u_char             *out;
    size_t              out_len;
    ssize_t             n;
    ngx_connection_t   *c;
    ngx_srt_relay_t    *r;
    ingest_rtmp_rc_t    rc;
    u_char              buf[4096];

    c = rev->data;
    r = c->data;

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_srt_relay_fail(r, "cannot wait for the relay", 0);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_srt_relay_fail(r, n == 0 ? "closed by the peer"
                                         : "read failed", 0);
            return;
        }

        if (r->kind != NGX_SRT_RELAY_RTMP) {
            /* nothing is expected back */
            continue;
        }

        out = ngx_srt_relay_reserve(r, INGEST_RTMP_CLIENT_OUT_MIN);
        if (out == NULL) {
            ngx_srt_metric_add(ngx_srt_relay_slow[r->kind], 1);
            ngx_srt_relay_fail(r, "slow consumer: relay buffer full", 0);
            return;
        }

        rc = ingest_rtmp_client_feed(r->rtmp, buf, n, out,
                                     INGEST_RTMP_CLIENT_OUT_MIN, &out_len);
        r->last += out_len;

        if (rc == INGEST_RTMP_PUBLISHING) {
            r->publishing = 1;
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "srt: \"%s\": publishing to rtmp as \"%s\"",
                          r->session->name, r->rtmp->stream);

        } else if (rc == INGEST_RTMP_ERROR || rc == INGEST_RTMP_REJECTED) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "srt: \"%s\": the RTMP server %s: %s %s",
                          r->session->name,
                          rc == INGEST_RTMP_REJECTED ? "refused"
                                                     : "broke the protocol",
                          r->rtmp->status, r->rtmp->description);
            ngx_srt_relay_fail(r, "RTMP error", 0);
            return;
        }

        ngx_srt_relay_flush(r);

        if (r->closed) {
            return;
        }
    }
}


static void
ngx_srt_relay_timer_handler(ngx_event_t *ev)
{
    ngx_srt_relay_t  *r;

    r = ev->data;

    if (r->draining) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "srt: \"%s\": the %s relay did not take the last "
                      "%uz bytes in time", r->session->name,
                      ngx_srt_relay_names[r->kind], r->last - r->pos);
        ngx_srt_relay_close(r);
        return;
    }

    ngx_srt_relay_fail(r, "connect timed out", NGX_ETIMEDOUT);
}


/* the frame handler of the demuxer (RTMP relay) */

static int
ngx_srt_relay_frame(void *ctx, const ingest_ts_frame_t *f)
{
    ngx_srt_relay_t *r = ctx;

    int                i, n;
    size_t             need;
    u_char            *tmp;
    ingest_flv_tag_t   tags[2];

    if (!r->publishing || r->closed) {
        return 0;
    }

    if (f->codec == INGEST_TS_CODEC_H264) {
        need = ingest_flv_video_size(f->len);

    } else if (f->codec == INGEST_TS_CODEC_AAC) {
        need = ingest_flv_audio_size(f->len);

    } else {
        return 0;
    }

    if (f->discontinuity && f->codec == INGEST_TS_CODEC_H264) {
        ingest_flv_wait_key(r->flv);
    }

    if (need > r->tmp_size) {
        tmp = ngx_alloc(need, ngx_cycle->log);
        if (tmp == NULL) {
            return 0;
        }

        ngx_free(r->tmp);
        r->tmp = tmp;
        r->tmp_size = need;
    }

    if (f->codec == INGEST_TS_CODEC_H264) {
        n = ingest_flv_video(r->flv, f->data, f->len, f->pts, f->dts,
                             r->tmp, r->tmp_size, tags);

    } else {
        n = ingest_flv_audio(r->flv, f->data, f->len, f->pts, r->tmp,
                             r->tmp_size, tags);
    }

    for (i = 0; i < n; i++) {
        if (ngx_srt_relay_tag(r, &tags[i]) != NGX_OK) {
            return -1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_srt_relay_tag(ngx_srt_relay_t *r, ingest_flv_tag_t *tag)
{
    u_char              *p;
    size_t               need, n;
    ingest_flv_info_t   *info;
    ingest_rtmp_meta_t   meta;

    if (!r->meta_sent && tag->header && tag->type == INGEST_FLV_TAG_VIDEO) {
        info = &r->flv->info;

        ngx_memzero(&meta, sizeof(meta));
        meta.width = info->width;
        meta.height = info->height;
        meta.video = 1;
        meta.audio = info->has_audio;
        meta.sample_rate = info->sample_rate;
        meta.channels = info->channels;

        p = ngx_srt_relay_reserve(r, 1024);
        if (p == NULL) {
            goto slow;
        }

        r->last += ingest_rtmp_client_metadata(r->rtmp, &meta, p, 1024);
        r->meta_sent = 1;
    }

    need = ingest_rtmp_chunked_size(tag->len, INGEST_RTMP_CHUNK_SIZE);

    p = ngx_srt_relay_reserve(r, need);
    if (p == NULL) {
        goto slow;
    }

    n = ingest_rtmp_client_media(r->rtmp, tag->type, tag->timestamp,
                                 tag->data, tag->len, p, need);
    if (n == 0) {
        r->fail = "cannot write an RTMP message";
        return NGX_ERROR;
    }

    r->last += n;

    return NGX_OK;

slow:

    /* closed by the caller once the demuxer has returned */
    r->fail = "slow consumer: relay buffer full";
    r->fail_slow = 1;

    return NGX_ERROR;
}


static void
ngx_srt_relay_fail(ngx_srt_relay_t *r, const char *why, ngx_err_t err)
{
    if (r->closed) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, err,
                  "srt: \"%s\": %s relay to %V closed: %s",
                  r->session->name, ngx_srt_relay_names[r->kind],
                  r->peer.name, why);

    if (ngx_strncmp(why, "slow", 4) != 0) {
        ngx_srt_metric_add(ngx_srt_relay_errors[r->kind], 1);
    }

    ngx_srt_relay_close(r);
}


/* frees the relay; never called while its demuxer runs */

static void
ngx_srt_relay_close(ngx_srt_relay_t *r)
{
    ngx_srt_session_t  *s;

    if (r->closed) {
        return;
    }

    r->closed = 1;
    s = r->session;
    s->relay_sent += r->sent;

    if (r->timer.timer_set) {
        ngx_del_timer(&r->timer);
    }

    if (r->peer.connection) {
        ngx_close_connection(r->peer.connection);
        r->peer.connection = NULL;
    }

    s->relay[r->kind] = NULL;

    if (r->ts) {
        ingest_ts_free(r->ts);
        ngx_free(r->ts);
    }

    ngx_free(r->flv);
    ngx_free(r->rtmp);
    ngx_free(r->tmp);
    ngx_free(r);

    ngx_srt_session_relay_done(s);
}
