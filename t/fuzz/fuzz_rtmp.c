
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for what the RTMP relay reads from a server. The
 * first byte picks what the rest is:
 *   0  a chunk stream, read whole and again in pieces whose sizes come
 *      from the input: both must deliver the same messages; AMF0
 *      messages are decoded
 *   1  AMF0 values, objects walked property by property
 *   2  the server's bytes to the publishing client, after its C0+C1:
 *      whatever it answers fits its buffer, and it never says
 *      PUBLISHING twice
 *   3  an rtmp:// URL
 */


#include "ingest_core.h"
#include "ingest_rtmp.h"

#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fuzz_chunks(const unsigned char *p, size_t len);
static int fuzz_message(void *ctx, const ingest_rtmp_message_t *m);
static void fuzz_amf0(const unsigned char *p, size_t len, unsigned depth);
static void fuzz_value(const ingest_amf0_value_t *v, unsigned depth);
static void fuzz_client(const unsigned char *p, size_t len);
static void fuzz_url(const unsigned char *p, size_t len);


/* FNV-1a of every message delivered, and their count */
typedef struct {
    uint64_t  hash;
    uint64_t  count;
} fuzz_digest_t;


static ingest_rtmp_reader_t  fuzz_r1, fuzz_r2;
static ingest_rtmp_client_t  fuzz_client_st;
static unsigned char         fuzz_out[INGEST_RTMP_CLIENT_OUT_MIN * 2];


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0) {
        return 0;
    }

    switch (data[0] % 4) {

    case 0:
        fuzz_chunks(data + 1, size - 1);
        break;

    case 1:
        fuzz_amf0(data + 1, size - 1, 0);
        break;

    case 2:
        fuzz_client(data + 1, size - 1);
        break;

    default:
        fuzz_url(data + 1, size - 1);
        break;
    }

    return 0;
}


/*
 * The first two bytes seed the piece sizes (1 to 64 bytes) of the
 * second reading.
 */

static void
fuzz_chunks(const unsigned char *p, size_t len)
{
    int            rc1, rc2;
    size_t         n;
    unsigned       seed;
    fuzz_digest_t  d1, d2;

    if (len < 2) {
        return;
    }

    seed = p[0] | (p[1] << 8);
    p += 2;
    len -= 2;

    d1.hash = d2.hash = 14695981039346656037ULL;
    d1.count = d2.count = 0;

    ingest_rtmp_reader_init(&fuzz_r1);
    rc1 = ingest_rtmp_read(&fuzz_r1, p, len, fuzz_message, &d1);

    ingest_rtmp_reader_init(&fuzz_r2);
    rc2 = 0;

    while (len > 0) {
        seed = seed * 1103515245 + 12345;
        n = 1 + (seed >> 16) % 64;

        if (n > len) {
            n = len;
        }

        rc2 = ingest_rtmp_read(&fuzz_r2, p, n, fuzz_message, &d2);
        if (rc2 != 0) {
            break;
        }

        p += n;
        len -= n;
    }

    /* the same messages up to the same error, whatever the pieces */
    if (rc1 != rc2 || d1.count != d2.count || d1.hash != d2.hash
        || fuzz_r1.skipped != fuzz_r2.skipped)
    {
        abort();
    }

    if (rc1 == 0 && (fuzz_r1.chunk_size != fuzz_r2.chunk_size
                     || fuzz_r1.bytes != fuzz_r2.bytes))
    {
        abort();
    }
}


static int
fuzz_message(void *ctx, const ingest_rtmp_message_t *m)
{
    fuzz_digest_t  *d = ctx;

    size_t          i;
    uint32_t        csid;
    unsigned char   h[16];

    if (m->len > INGEST_RTMP_MAX_MESSAGE || (m->len && m->data == NULL)) {
        abort();
    }

    h[0] = (unsigned char) m->type;
    memcpy(h + 1, &m->msid, 4);
    memcpy(h + 5, &m->timestamp, 4);
    csid = m->csid;
    memcpy(h + 9, &csid, 4);
    memcpy(h + 13, &m->len, 3);

    for (i = 0; i < sizeof(h); i++) {
        d->hash = (d->hash ^ h[i]) * 1099511628211ULL;
    }

    for (i = 0; i < m->len; i++) {
        d->hash = (d->hash ^ m->data[i]) * 1099511628211ULL;
    }

    d->count++;

    if (m->type == INGEST_RTMP_MSG_AMF0_DATA
        || m->type == INGEST_RTMP_MSG_AMF0_CMD)
    {
        fuzz_amf0(m->data, m->len, 0);
    }

    return 0;
}


static void
fuzz_amf0(const unsigned char *p, size_t len, unsigned depth)
{
    int                   rc;
    ingest_amf0_value_t   v;
    ingest_amf0_reader_t  r;

    ingest_amf0_reader_init(&r, p, len);

    for ( ;; ) {
        rc = ingest_amf0_read(&r, &v);

        if (rc <= 0) {
            if (r.pos < p || r.pos > p + len) {
                abort();
            }

            return;
        }

        fuzz_value(&v, depth);
    }
}


static void
fuzz_value(const ingest_amf0_value_t *v, unsigned depth)
{
    int                   rc;
    ingest_str_t          key;
    ingest_amf0_value_t   pv, gv;
    ingest_amf0_reader_t  r;

    if (depth > INGEST_AMF0_MAX_DEPTH) {
        abort();
    }

    switch (v->type) {

    case INGEST_AMF0_OBJECT:
    case INGEST_AMF0_ECMA_ARRAY:
    case INGEST_AMF0_TYPED_OBJECT:
        ingest_amf0_reader_init(&r, v->body.data, v->body.len);

        while ((rc = ingest_amf0_next_prop(&r, &key, &pv)) == 1) {
            fuzz_value(&pv, depth + 1);
        }

        (void) ingest_amf0_get(v, "code", &gv);
        (void) ingest_amf0_get(v, "description", &gv);
        break;

    case INGEST_AMF0_STRICT_ARRAY:
        fuzz_amf0(v->body.data, v->body.len, depth + 1);
        break;

    default:
        break;
    }
}


/*
 * The client after its C0+C1: the first byte of the rest splits the
 * server's bytes in two feeds.
 */

static void
fuzz_client(const unsigned char *p, size_t len)
{
    size_t                     n, out_len, cut;
    unsigned                   published, i;
    unsigned char              random[1528];
    ingest_rtmp_rc_t           rc;
    ingest_rtmp_client_conf_t  conf;

    if (len < 1) {
        return;
    }

    memset(&conf, 0, sizeof(conf));
    conf.app = "live";
    conf.tc_url = "rtmp://127.0.0.1:1935/live";
    conf.stream = "cam1";

    if (ingest_rtmp_client_init(&fuzz_client_st, &conf) != 0) {
        abort();
    }

    memset(random, 0x5a, sizeof(random));

    n = ingest_rtmp_client_start(&fuzz_client_st, 1000, random, fuzz_out,
                                 sizeof(fuzz_out));
    if (n != 1 + INGEST_RTMP_HANDSHAKE_SIZE) {
        abort();
    }

    cut = (size_t) p[0] * 16;
    p++;
    len--;

    if (cut > len) {
        cut = len;
    }

    published = 0;

    for (i = 0; i < 2; i++) {
        n = (i == 0) ? cut : len - cut;

        out_len = 0;
        rc = ingest_rtmp_client_feed(&fuzz_client_st, p, n, fuzz_out,
                                     INGEST_RTMP_CLIENT_OUT_MIN, &out_len);

        if (out_len > INGEST_RTMP_CLIENT_OUT_MIN) {
            abort();
        }

        if (rc == INGEST_RTMP_PUBLISHING) {
            if (published++) {
                abort();
            }

            n = ingest_rtmp_client_media(&fuzz_client_st, 9, 0,
                                         (const unsigned char *) "\x17\0",
                                         2, fuzz_out, sizeof(fuzz_out));
            if (n == 0) {
                abort();
            }
        }

        if (rc == INGEST_RTMP_ERROR || rc == INGEST_RTMP_REJECTED) {
            if (memchr(fuzz_client_st.status, '\0',
                       sizeof(fuzz_client_st.status)) == NULL
                || memchr(fuzz_client_st.description, '\0',
                          sizeof(fuzz_client_st.description)) == NULL)
            {
                abort();
            }

            return;
        }

        p += cut;
    }
}


static void
fuzz_url(const unsigned char *p, size_t len)
{
    ingest_rtmp_url_t  url;

    if (ingest_rtmp_url_parse(p, len, &url) != 0) {
        return;
    }

    if (url.port == 0 || url.port > 65535
        || memchr(url.host, '\0', sizeof(url.host)) == NULL
        || memchr(url.app, '\0', sizeof(url.app)) == NULL
        || memchr(url.stream, '\0', sizeof(url.stream)) == NULL
        || memchr(url.tc_url, '\0', sizeof(url.tc_url)) == NULL
        || strncmp(url.tc_url, "rtmp://", 7) != 0)
    {
        abort();
    }
}
