
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_rtmp.h"

#include <string.h>


/* nginx-rtmp keeps 31 bytes of it */
#define INGEST_RTMP_FLASH_VER    "FMLE/3.0 (compatible; ingest)"

/* the longest command we write: connect with app and tcUrl */
#define INGEST_RTMP_CMD_MAX      4096


static void ingest_amf0_put(ingest_amf0_writer_t *w, const void *p,
    size_t len);
static int ingest_amf0_skip(ingest_amf0_reader_t *r, unsigned depth);
static int ingest_amf0_value(ingest_amf0_reader_t *r, ingest_amf0_value_t *v,
    unsigned depth);
static int ingest_amf0_props(ingest_amf0_reader_t *r, unsigned depth);
static int ingest_amf0_is(const ingest_amf0_value_t *v, const char *s);
static ingest_rtmp_wstream_t *ingest_rtmp_wstream(ingest_rtmp_writer_t *w,
    unsigned csid);
static size_t ingest_rtmp_basic_header(unsigned char *p, unsigned fmt,
    unsigned csid);
static size_t ingest_rtmp_header_need(ingest_rtmp_reader_t *r);
static ingest_rtmp_rstream_t *ingest_rtmp_rstream(ingest_rtmp_reader_t *r,
    unsigned csid, int create);
static int ingest_rtmp_chunk_header(ingest_rtmp_reader_t *r);
static int ingest_rtmp_deliver(ingest_rtmp_reader_t *r,
    ingest_rtmp_rstream_t *st, ingest_rtmp_message_pt handler, void *ctx);
static int ingest_rtmp_client_message(void *ctx,
    const ingest_rtmp_message_t *m);
static void ingest_rtmp_client_command(ingest_rtmp_client_t *c,
    const unsigned char *p, size_t len);
static void ingest_rtmp_client_result(ingest_rtmp_client_t *c, int error,
    double tid, ingest_amf0_reader_t *r);
static void ingest_rtmp_client_status(ingest_rtmp_client_t *c,
    const ingest_amf0_value_t *info);
static void ingest_rtmp_client_fail(ingest_rtmp_client_t *c,
    const char *status, const ingest_amf0_value_t *info);
static void ingest_rtmp_client_connect(ingest_rtmp_client_t *c);
static void ingest_rtmp_client_create(ingest_rtmp_client_t *c);
static void ingest_rtmp_client_publish(ingest_rtmp_client_t *c);
static void ingest_rtmp_client_send(ingest_rtmp_client_t *c, unsigned csid,
    unsigned type, uint32_t msid, const unsigned char *p, size_t len);
static void ingest_rtmp_copy(char *dst, size_t cap, const ingest_str_t *s);
static int ingest_rtmp_set(char *dst, size_t cap, const char *s);
static uint32_t ingest_rtmp_be32(const unsigned char *p);
static uint32_t ingest_rtmp_be24(const unsigned char *p);
static void ingest_rtmp_put_be32(unsigned char *p, uint32_t v);
static void ingest_rtmp_put_be24(unsigned char *p, uint32_t v);
static void ingest_rtmp_put_le32(unsigned char *p, uint32_t v);


/* AMF0 encoder */

void
ingest_amf0_writer_init(ingest_amf0_writer_t *w, unsigned char *buf,
    size_t cap)
{
    w->start = buf;
    w->pos = buf;
    w->end = buf + cap;
    w->err = 0;
}


void
ingest_amf0_number(ingest_amf0_writer_t *w, double v)
{
    int            i;
    uint64_t       bits;
    unsigned char  b[9];

    memcpy(&bits, &v, 8);

    b[0] = INGEST_AMF0_NUMBER;

    for (i = 0; i < 8; i++) {
        b[1 + i] = (unsigned char) (bits >> (56 - 8 * i));
    }

    ingest_amf0_put(w, b, 9);
}


void
ingest_amf0_boolean(ingest_amf0_writer_t *w, int v)
{
    unsigned char  b[2];

    b[0] = INGEST_AMF0_BOOLEAN;
    b[1] = v ? 1 : 0;

    ingest_amf0_put(w, b, 2);
}


void
ingest_amf0_string(ingest_amf0_writer_t *w, const void *s, size_t len)
{
    unsigned char  b[5];

    if (len > 0xffffffff) {
        w->err = 1;
        return;
    }

    if (len <= 0xffff) {
        b[0] = INGEST_AMF0_STRING;
        b[1] = (unsigned char) (len >> 8);
        b[2] = (unsigned char) len;
        ingest_amf0_put(w, b, 3);

    } else {
        b[0] = INGEST_AMF0_LONG_STRING;
        ingest_rtmp_put_be32(b + 1, (uint32_t) len);
        ingest_amf0_put(w, b, 5);
    }

    ingest_amf0_put(w, s, len);
}


void
ingest_amf0_cstring(ingest_amf0_writer_t *w, const char *s)
{
    ingest_amf0_string(w, s, strlen(s));
}


void
ingest_amf0_null(ingest_amf0_writer_t *w)
{
    unsigned char  b;

    b = INGEST_AMF0_NULL;

    ingest_amf0_put(w, &b, 1);
}


void
ingest_amf0_object_start(ingest_amf0_writer_t *w)
{
    unsigned char  b;

    b = INGEST_AMF0_OBJECT;

    ingest_amf0_put(w, &b, 1);
}


void
ingest_amf0_ecma_start(ingest_amf0_writer_t *w, uint32_t count)
{
    unsigned char  b[5];

    b[0] = INGEST_AMF0_ECMA_ARRAY;
    ingest_rtmp_put_be32(b + 1, count);

    ingest_amf0_put(w, b, 5);
}


void
ingest_amf0_key(ingest_amf0_writer_t *w, const char *name)
{
    size_t         len;
    unsigned char  b[2];

    len = strlen(name);

    /* an empty name would read as the object end */
    if (len == 0 || len > 0xffff) {
        w->err = 1;
        return;
    }

    b[0] = (unsigned char) (len >> 8);
    b[1] = (unsigned char) len;

    ingest_amf0_put(w, b, 2);
    ingest_amf0_put(w, name, len);
}


void
ingest_amf0_object_end(ingest_amf0_writer_t *w)
{
    static const unsigned char  end[3] = { 0, 0, INGEST_AMF0_OBJECT_END };

    ingest_amf0_put(w, end, 3);
}


size_t
ingest_amf0_length(const ingest_amf0_writer_t *w)
{
    return w->err ? 0 : (size_t) (w->pos - w->start);
}


static void
ingest_amf0_put(ingest_amf0_writer_t *w, const void *p, size_t len)
{
    if (w->err || (size_t) (w->end - w->pos) < len) {
        w->err = 1;
        return;
    }

    if (len > 0) {
        memcpy(w->pos, p, len);
        w->pos += len;
    }
}


/* AMF0 decoder */

void
ingest_amf0_reader_init(ingest_amf0_reader_t *r, const unsigned char *p,
    size_t len)
{
    r->pos = p;
    r->end = (p != NULL) ? p + len : p;
}


int
ingest_amf0_read(ingest_amf0_reader_t *r, ingest_amf0_value_t *v)
{
    if (r->pos == r->end) {
        return 0;
    }

    if (ingest_amf0_value(r, v, 0) != 0) {
        /* nothing half read is left for the caller to trust */
        memset(v, 0, sizeof(ingest_amf0_value_t));
        v->type = INGEST_AMF0_UNDEFINED;
        return -1;
    }

    return 1;
}


int
ingest_amf0_next_prop(ingest_amf0_reader_t *r, ingest_str_t *key,
    ingest_amf0_value_t *v)
{
    size_t  n;

    if (r->end - r->pos < 2) {
        return -1;
    }

    n = (size_t) r->pos[0] << 8 | r->pos[1];

    if (n == 0) {
        if (r->end - r->pos < 3 || r->pos[2] != INGEST_AMF0_OBJECT_END) {
            return -1;
        }

        r->pos += 3;
        return 0;
    }

    if ((size_t) (r->end - r->pos) < 2 + n) {
        return -1;
    }

    key->data = r->pos + 2;
    key->len = n;
    r->pos += 2 + n;

    if (ingest_amf0_value(r, v, 1) != 0) {
        memset(v, 0, sizeof(ingest_amf0_value_t));
        v->type = INGEST_AMF0_UNDEFINED;
        return -1;
    }

    return 1;
}


int
ingest_amf0_get(const ingest_amf0_value_t *obj, const char *key,
    ingest_amf0_value_t *v)
{
    int                   rc;
    size_t                n;
    ingest_str_t          k;
    ingest_amf0_reader_t  r;

    if (obj->type != INGEST_AMF0_OBJECT
        && obj->type != INGEST_AMF0_ECMA_ARRAY
        && obj->type != INGEST_AMF0_TYPED_OBJECT)
    {
        return 0;
    }

    n = strlen(key);

    ingest_amf0_reader_init(&r, obj->body.data, obj->body.len);

    for ( ;; ) {
        rc = ingest_amf0_next_prop(&r, &k, v);

        if (rc <= 0) {
            return rc;
        }

        if (k.len == n && memcmp(k.data, key, n) == 0) {
            return 1;
        }
    }
}


static int
ingest_amf0_value(ingest_amf0_reader_t *r, ingest_amf0_value_t *v,
    unsigned depth)
{
    int                   i;
    size_t                n;
    uint64_t              bits;
    const unsigned char  *start;

    if (depth > INGEST_AMF0_MAX_DEPTH || r->pos == r->end) {
        return -1;
    }

    memset(v, 0, sizeof(ingest_amf0_value_t));

    v->type = *r->pos++;
    n = r->end - r->pos;

    switch (v->type) {

    case INGEST_AMF0_NUMBER:
    case INGEST_AMF0_DATE:
        if (n < (v->type == INGEST_AMF0_DATE ? 10u : 8u)) {
            return -1;
        }

        bits = 0;

        for (i = 0; i < 8; i++) {
            bits = bits << 8 | r->pos[i];
        }

        memcpy(&v->number, &bits, 8);

        /* a date has a time zone too */
        r->pos += (v->type == INGEST_AMF0_DATE) ? 10 : 8;

        return 0;

    case INGEST_AMF0_BOOLEAN:
        if (n < 1) {
            return -1;
        }

        v->boolean = *r->pos++ != 0;
        return 0;

    case INGEST_AMF0_STRING:
        if (n < 2 || n - 2 < ((size_t) r->pos[0] << 8 | r->pos[1])) {
            return -1;
        }

        v->str.len = (size_t) r->pos[0] << 8 | r->pos[1];
        v->str.data = r->pos + 2;
        r->pos += 2 + v->str.len;
        return 0;

    case INGEST_AMF0_LONG_STRING:
    case INGEST_AMF0_XML_DOCUMENT:
        if (n < 4 || n - 4 < ingest_rtmp_be32(r->pos)) {
            return -1;
        }

        v->str.len = ingest_rtmp_be32(r->pos);
        v->str.data = r->pos + 4;
        r->pos += 4 + v->str.len;
        return 0;

    case INGEST_AMF0_NULL:
    case INGEST_AMF0_UNDEFINED:
        return 0;

    case INGEST_AMF0_REFERENCE:
        if (n < 2) {
            return -1;
        }

        v->number = (double) ((unsigned) r->pos[0] << 8 | r->pos[1]);
        r->pos += 2;
        return 0;

    case INGEST_AMF0_TYPED_OBJECT:
        /* the class name, then properties */
        if (n < 2 || n - 2 < ((size_t) r->pos[0] << 8 | r->pos[1])) {
            return -1;
        }

        v->str.len = (size_t) r->pos[0] << 8 | r->pos[1];
        v->str.data = r->pos + 2;
        r->pos += 2 + v->str.len;

        /* fall through */

    case INGEST_AMF0_OBJECT:
        start = r->pos;

        if (ingest_amf0_props(r, depth + 1) != 0) {
            return -1;
        }

        v->body.data = start;
        v->body.len = r->pos - start;
        return 0;

    case INGEST_AMF0_ECMA_ARRAY:
        if (n < 4) {
            return -1;
        }

        /* the count is a hint: the end marker ends the array */

        v->count = ingest_rtmp_be32(r->pos);
        r->pos += 4;
        start = r->pos;

        if (ingest_amf0_props(r, depth + 1) != 0) {
            return -1;
        }

        v->body.data = start;
        v->body.len = r->pos - start;
        return 0;

    case INGEST_AMF0_STRICT_ARRAY:
        if (n < 4) {
            return -1;
        }

        v->count = ingest_rtmp_be32(r->pos);
        r->pos += 4;
        start = r->pos;

        /* every value takes at least one byte: no huge loops */
        if (v->count > (size_t) (r->end - r->pos)) {
            return -1;
        }

        for (n = 0; n < v->count; n++) {
            if (ingest_amf0_skip(r, depth + 1) != 0) {
                return -1;
            }
        }

        v->body.data = start;
        v->body.len = r->pos - start;
        return 0;

    default:
        /* movieclip, unsupported, recordset, object end out of place,
         * the AMF3 switch */
        return -1;
    }
}


static int
ingest_amf0_skip(ingest_amf0_reader_t *r, unsigned depth)
{
    ingest_amf0_value_t  v;

    return ingest_amf0_value(r, &v, depth);
}


/* properties through the end marker */

static int
ingest_amf0_props(ingest_amf0_reader_t *r, unsigned depth)
{
    size_t  n;

    for ( ;; ) {
        if (r->end - r->pos < 2) {
            return -1;
        }

        n = (size_t) r->pos[0] << 8 | r->pos[1];

        if (n == 0) {
            if (r->end - r->pos < 3 || r->pos[2] != INGEST_AMF0_OBJECT_END) {
                return -1;
            }

            r->pos += 3;
            return 0;
        }

        if ((size_t) (r->end - r->pos) < 2 + n) {
            return -1;
        }

        r->pos += 2 + n;

        if (ingest_amf0_skip(r, depth) != 0) {
            return -1;
        }
    }
}


static int
ingest_amf0_is(const ingest_amf0_value_t *v, const char *s)
{
    size_t  n;

    n = strlen(s);

    return (v->type == INGEST_AMF0_STRING
            || v->type == INGEST_AMF0_LONG_STRING)
           && v->str.len == n && memcmp(v->str.data, s, n) == 0;
}


/* chunk stream writer */

void
ingest_rtmp_writer_init(ingest_rtmp_writer_t *w, uint32_t chunk_size)
{
    memset(w, 0, sizeof(ingest_rtmp_writer_t));

    w->chunk_size = chunk_size != 0 ? chunk_size : INGEST_RTMP_DEFAULT_CHUNK;
}


size_t
ingest_rtmp_write(ingest_rtmp_writer_t *w, unsigned char *out, size_t cap,
    unsigned csid, unsigned type, uint32_t msid, uint32_t timestamp,
    const unsigned char *payload, size_t len)
{
    int                     ext;
    size_t                  basic, total, nchunks, n, off;
    uint32_t                field;
    unsigned                fmt;
    unsigned char          *p;
    ingest_rtmp_wstream_t  *st;

    if (csid < 2 || csid > 65599 || len > 0xffffff) {
        return 0;
    }

    st = ingest_rtmp_wstream(w, csid);

    if (st->used && st->csid == csid && st->msid == msid
        && (uint32_t) (timestamp - st->timestamp) < 0x80000000)
    {
        fmt = 1;
        field = timestamp - st->timestamp;

    } else {
        fmt = 0;
        field = timestamp;
    }

    ext = field >= 0xffffff;
    basic = csid < 64 ? 1 : (csid < 320 ? 2 : 3);
    nchunks = len == 0 ? 1 : (len + w->chunk_size - 1) / w->chunk_size;

    total = basic + (fmt == 0 ? 11 : 7) + (ext ? 4 : 0) + len
            + (nchunks - 1) * (basic + (ext ? 4 : 0));

    if (total > cap) {
        return 0;
    }

    p = out;

    p += ingest_rtmp_basic_header(p, fmt, csid);
    ingest_rtmp_put_be24(p, ext ? 0xffffff : field);
    ingest_rtmp_put_be24(p + 3, (uint32_t) len);
    p[6] = (unsigned char) type;
    p += 7;

    if (fmt == 0) {
        /* the message stream id is little-endian */
        ingest_rtmp_put_le32(p, msid);
        p += 4;
    }

    if (ext) {
        ingest_rtmp_put_be32(p, field);
        p += 4;
    }

    for (off = 0; ; ) {
        n = len - off;
        if (n > w->chunk_size) {
            n = w->chunk_size;
        }

        if (n > 0) {
            memcpy(p, payload + off, n);
            p += n;
            off += n;
        }

        if (off == len) {
            break;
        }

        p += ingest_rtmp_basic_header(p, 3, csid);

        if (ext) {
            ingest_rtmp_put_be32(p, field);
            p += 4;
        }
    }

    st->used = 1;
    st->csid = csid;
    st->msid = msid;
    st->timestamp = timestamp;

    return p - out;
}


size_t
ingest_rtmp_write_chunk_size(ingest_rtmp_writer_t *w, unsigned char *out,
    size_t cap, uint32_t size)
{
    size_t  n;

    if (size == 0 || size > INGEST_RTMP_MAX_CHUNK) {
        return 0;
    }

    n = ingest_rtmp_write_u32(w, out, cap, INGEST_RTMP_MSG_CHUNK_SIZE, size);

    if (n != 0) {
        w->chunk_size = size;
    }

    return n;
}


size_t
ingest_rtmp_write_u32(ingest_rtmp_writer_t *w, unsigned char *out,
    size_t cap, unsigned type, uint32_t value)
{
    unsigned char  b[4];

    ingest_rtmp_put_be32(b, value);

    return ingest_rtmp_write(w, out, cap, INGEST_RTMP_CSID_CONTROL, type, 0,
                             0, b, 4);
}


size_t
ingest_rtmp_write_user(ingest_rtmp_writer_t *w, unsigned char *out,
    size_t cap, unsigned event, uint32_t value)
{
    unsigned char  b[6];

    b[0] = (unsigned char) (event >> 8);
    b[1] = (unsigned char) event;
    ingest_rtmp_put_be32(b + 2, value);

    return ingest_rtmp_write(w, out, cap, INGEST_RTMP_CSID_CONTROL,
                             INGEST_RTMP_MSG_USER, 0, 0, b, 6);
}


/* the state of a chunk stream; without a free one, reuse one (fmt 0) */

static ingest_rtmp_wstream_t *
ingest_rtmp_wstream(ingest_rtmp_writer_t *w, unsigned csid)
{
    size_t  i;

    for (i = 0; i < INGEST_RTMP_WRITER_STREAMS; i++) {
        if (w->streams[i].used && w->streams[i].csid == csid) {
            return &w->streams[i];
        }
    }

    for (i = 0; i < INGEST_RTMP_WRITER_STREAMS; i++) {
        if (!w->streams[i].used) {
            return &w->streams[i];
        }
    }

    i = csid % INGEST_RTMP_WRITER_STREAMS;
    w->streams[i].used = 0;

    return &w->streams[i];
}


static size_t
ingest_rtmp_basic_header(unsigned char *p, unsigned fmt, unsigned csid)
{
    if (csid < 64) {
        p[0] = (unsigned char) (fmt << 6 | csid);
        return 1;
    }

    if (csid < 320) {
        p[0] = (unsigned char) (fmt << 6);
        p[1] = (unsigned char) (csid - 64);
        return 2;
    }

    p[0] = (unsigned char) (fmt << 6 | 1);
    p[1] = (unsigned char) ((csid - 64) & 0xff);
    p[2] = (unsigned char) ((csid - 64) >> 8);

    return 3;
}


/* chunk stream reader */

void
ingest_rtmp_reader_init(ingest_rtmp_reader_t *r)
{
    size_t  i;

    r->chunk_size = INGEST_RTMP_DEFAULT_CHUNK;
    r->bytes = 0;
    r->skipped = 0;
    r->hlen = 0;
    r->cur = NULL;
    r->remain = 0;

    for (i = 0; i < INGEST_RTMP_READER_STREAMS; i++) {
        r->streams[i].used = 0;
    }
}


int
ingest_rtmp_read(ingest_rtmp_reader_t *r, const unsigned char *p, size_t len,
    ingest_rtmp_message_pt handler, void *ctx)
{
    size_t                  n, need;
    ingest_rtmp_rstream_t  *st;

    r->bytes += len;

    while (len > 0) {

        if (r->cur == NULL) {
            /* the header, a byte at a time until its length is known */

            need = ingest_rtmp_header_need(r);

            n = need - r->hlen;
            if (n > len) {
                n = len;
            }

            memcpy(r->hdr + r->hlen, p, n);
            r->hlen += n;
            p += n;
            len -= n;

            if (r->hlen < ingest_rtmp_header_need(r)) {
                continue;
            }

            if (ingest_rtmp_chunk_header(r) != 0) {
                return -1;
            }

            r->hlen = 0;
            st = r->cur;

            if (r->remain == 0) {
                /* an empty message */
                r->cur = NULL;

                if (ingest_rtmp_deliver(r, st, handler, ctx) != 0) {
                    return -1;
                }
            }

            continue;
        }

        st = r->cur;

        n = r->remain;
        if (n > len) {
            n = len;
        }

        if (!st->skip) {
            memcpy(st->buf + st->got, p, n);
        }

        st->got += n;
        r->remain -= n;
        p += n;
        len -= n;

        if (r->remain > 0) {
            continue;
        }

        r->cur = NULL;

        if (st->got == st->len) {
            if (ingest_rtmp_deliver(r, st, handler, ctx) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


/* the length of the chunk header staged so far can tell */

static size_t
ingest_rtmp_header_need(ingest_rtmp_reader_t *r)
{
    size_t                  basic, need;
    unsigned                fmt, csid;
    ingest_rtmp_rstream_t  *st;

    static const size_t     mh[4] = { 11, 7, 3, 0 };

    if (r->hlen == 0) {
        return 1;
    }

    fmt = r->hdr[0] >> 6;
    csid = r->hdr[0] & 0x3f;
    basic = csid == 0 ? 2 : (csid == 1 ? 3 : 1);

    if (r->hlen < basic) {
        return basic;
    }

    need = basic + mh[fmt];

    if (r->hlen < need) {
        return need;
    }

    if (fmt < 3) {
        if (ingest_rtmp_be24(r->hdr + basic) == 0xffffff) {
            need += 4;
        }

        return need;
    }

    if (basic == 2) {
        csid = 64 + r->hdr[1];

    } else if (basic == 3) {
        csid = 64 + r->hdr[1] + ((unsigned) r->hdr[2] << 8);
    }

    st = ingest_rtmp_rstream(r, csid, 0);

    if (st != NULL && st->ext) {
        need += 4;
    }

    return need;
}


static ingest_rtmp_rstream_t *
ingest_rtmp_rstream(ingest_rtmp_reader_t *r, unsigned csid, int create)
{
    size_t  i;

    for (i = 0; i < INGEST_RTMP_READER_STREAMS; i++) {
        if (r->streams[i].used && r->streams[i].csid == csid) {
            return &r->streams[i];
        }
    }

    if (!create) {
        return NULL;
    }

    /* a free one, or one with no message half read */

    for (i = 0; i < INGEST_RTMP_READER_STREAMS; i++) {
        if (!r->streams[i].used) {
            break;
        }
    }

    if (i == INGEST_RTMP_READER_STREAMS) {
        for (i = 0; i < INGEST_RTMP_READER_STREAMS; i++) {
            if (r->streams[i].got == 0) {
                break;
            }
        }

        if (i == INGEST_RTMP_READER_STREAMS) {
            return NULL;
        }
    }

    memset(&r->streams[i], 0, offsetof(ingest_rtmp_rstream_t, buf));
    r->streams[i].used = 1;
    r->streams[i].csid = csid;

    return &r->streams[i];
}


/* a whole chunk header in r->hdr: sets r->cur and r->remain */

static int
ingest_rtmp_chunk_header(ingest_rtmp_reader_t *r)
{
    size_t                  basic;
    uint32_t                field, left;
    unsigned                fmt, csid;
    unsigned char          *h;
    ingest_rtmp_rstream_t  *st;

    static const size_t     mh[3] = { 11, 7, 3 };

    h = r->hdr;
    fmt = h[0] >> 6;
    csid = h[0] & 0x3f;
    basic = 1;

    if (csid == 0) {
        csid = 64 + h[1];
        basic = 2;

    } else if (csid == 1) {
        csid = 64 + h[1] + ((unsigned) h[2] << 8);
        basic = 3;
    }

    st = ingest_rtmp_rstream(r, csid, fmt == 0);
    if (st == NULL) {
        /* continuing a chunk stream that never started, or too many */
        return -1;
    }

    h += basic;

    if (fmt < 3 && st->got > 0) {
        /* a new message before the last one ended: it is lost */
        st->got = 0;
        r->skipped++;
    }

    if (fmt < 3) {
        field = ingest_rtmp_be24(h);
        st->ext = (field == 0xffffff);

        if (fmt < 2) {
            st->len = ingest_rtmp_be24(h + 3);
            st->type = h[6];
        }

        if (fmt == 0) {
            st->msid = (uint32_t) h[7] | (uint32_t) h[8] << 8
                       | (uint32_t) h[9] << 16 | (uint32_t) h[10] << 24;
        }

        if (st->ext) {
            field = ingest_rtmp_be32(h + mh[fmt]);
        }

        if (fmt == 0) {
            st->timestamp = field;
            st->delta = 0;

        } else {
            st->delta = field;
            st->timestamp += field;
        }

        st->skip = (st->len > INGEST_RTMP_MAX_MESSAGE);

    } else if (st->got == 0) {
        /* fmt 3 starting a message: the same header, the same delta */
        st->timestamp += st->delta;
        st->skip = (st->len > INGEST_RTMP_MAX_MESSAGE);
    }

    left = st->len - st->got;
    r->remain = left < r->chunk_size ? left : r->chunk_size;
    r->cur = st;

    return 0;
}


static int
ingest_rtmp_deliver(ingest_rtmp_reader_t *r, ingest_rtmp_rstream_t *st,
    ingest_rtmp_message_pt handler, void *ctx)
{
    uint32_t                v;
    ingest_rtmp_message_t   m;
    ingest_rtmp_rstream_t  *a;

    st->got = 0;

    if (st->skip) {
        st->skip = 0;
        r->skipped++;
        return 0;
    }

    if (st->type == INGEST_RTMP_MSG_CHUNK_SIZE && st->msid == 0) {
        if (st->len < 4) {
            return -1;
        }

        v = ingest_rtmp_be32(st->buf) & 0x7fffffff;

        if (v == 0) {
            return -1;
        }

        r->chunk_size = v;
    }

    if (st->type == INGEST_RTMP_MSG_ABORT && st->len >= 4) {
        a = ingest_rtmp_rstream(r, ingest_rtmp_be32(st->buf), 0);

        if (a != NULL && a != st) {
            a->got = 0;
        }
    }

    if (handler == NULL) {
        return 0;
    }

    m.type = st->type;
    m.msid = st->msid;
    m.timestamp = st->timestamp;
    m.csid = st->csid;
    m.data = st->buf;
    m.len = st->len;

    return handler(ctx, &m) != 0 ? -1 : 0;
}


/* handshake */

size_t
ingest_rtmp_handshake_c0c1(unsigned char *out, uint32_t time,
    const unsigned char *random)
{
    out[0] = INGEST_RTMP_VERSION;
    ingest_rtmp_put_be32(out + 1, time);
    memset(out + 5, 0, 4);
    memcpy(out + 9, random, INGEST_RTMP_HANDSHAKE_SIZE - 8);

    return 1 + INGEST_RTMP_HANDSHAKE_SIZE;
}


int
ingest_rtmp_handshake_s0s1s2(const unsigned char *s, const unsigned char *c1,
    unsigned char *c2)
{
    const unsigned char  *s1, *s2;

    if (s[0] != INGEST_RTMP_VERSION) {
        return -1;
    }

    s1 = s + 1;
    s2 = s1 + INGEST_RTMP_HANDSHAKE_SIZE;

    memcpy(c2, s1, INGEST_RTMP_HANDSHAKE_SIZE);

    if (memcmp(s2 + 8, c1 + 8, INGEST_RTMP_HANDSHAKE_SIZE - 8) != 0) {
        return 1;
    }

    return 0;
}


/* URL */

int
ingest_rtmp_url_parse(const unsigned char *p, size_t len,
    ingest_rtmp_url_t *url)
{
    size_t                n, i;
    unsigned              port;
    const unsigned char  *end, *host, *host_end, *auth_end, *path, *q, *slash;
    const unsigned char  *c;

    memset(url, 0, sizeof(ingest_rtmp_url_t));

    end = p + len;

    if (len < 7 || (p[0] | 0x20) != 'r' || (p[1] | 0x20) != 't'
        || (p[2] | 0x20) != 'm' || (p[3] | 0x20) != 'p'
        || memcmp(p + 4, "://", 3) != 0)
    {
        return -1;
    }

    host = p + 7;

    for (c = p; c < end; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '#') {
            return -1;
        }
    }

    /* the authority */

    for (auth_end = host; auth_end < end && *auth_end != '/'; auth_end++) {
        if (*auth_end == '@' || *auth_end == '?') {
            return -1;
        }
    }

    if (auth_end == end) {
        return -1;
    }

    if (host < auth_end && *host == '[') {
        host_end = memchr(host, ']', auth_end - host);
        if (host_end == NULL || host_end == host + 1) {
            return -1;
        }

        for (c = host + 1; c < host_end; c++) {
            if (!((*c >= '0' && *c <= '9') || ((*c | 0x20) >= 'a'
                                                && (*c | 0x20) <= 'f')
                  || *c == ':' || *c == '.'))
            {
                return -1;
            }
        }

        c = host_end + 1;
        host++;

    } else {
        for (host_end = host; host_end < auth_end && *host_end != ':';
             host_end++)
        {
            if (!((*host_end >= '0' && *host_end <= '9')
                  || ((*host_end | 0x20) >= 'a' && (*host_end | 0x20) <= 'z')
                  || *host_end == '.' || *host_end == '-'
                  || *host_end == '_'))
            {
                return -1;
            }
        }

        if (host_end == host) {
            return -1;
        }

        c = host_end;
    }

    n = host_end - host;

    if (n > INGEST_RTMP_HOST_MAX) {
        return -1;
    }

    memcpy(url->host, host, n);
    url->host[n] = '\0';

    url->port = INGEST_RTMP_PORT;

    if (c < auth_end) {
        if (*c != ':' || c + 1 == auth_end || auth_end - c > 6) {
            return -1;
        }

        port = 0;

        for (c++; c < auth_end; c++) {
            if (*c < '0' || *c > '9') {
                return -1;
            }

            port = port * 10 + (*c - '0');
        }

        if (port == 0 || port > 65535) {
            return -1;
        }

        url->port = port;
    }

    /* the path: app, then the stream after the last "/" */

    path = auth_end + 1;

    q = memchr(path, '?', end - path);
    if (q == NULL) {
        q = end;
    }

    slash = NULL;

    for (c = path; c < q; c++) {
        if (*c == '/') {
            slash = c;
        }
    }

    if (slash == NULL || slash == path || slash + 1 == q) {
        return -1;
    }

    /* no empty segments in the app */

    for (c = path; c < slash; c++) {
        if (*c == '/' && (c == path || c[-1] == '/')) {
            return -1;
        }
    }

    if (slash[-1] == '/') {
        return -1;
    }

    n = slash - path;

    if (n > INGEST_RTMP_APP_MAX) {
        return -1;
    }

    memcpy(url->app, path, n);
    url->app[n] = '\0';

    n = end - (slash + 1);

    if (n > INGEST_RTMP_NAME_MAX) {
        return -1;
    }

    memcpy(url->stream, slash + 1, n);
    url->stream[n] = '\0';

    /* tcUrl: the URL up to the app, as given */

    i = 0;
    memcpy(url->tc_url, "rtmp://", 7);
    i += 7;

    n = auth_end - (p + 7);
    memcpy(url->tc_url + i, p + 7, n);
    i += n;

    url->tc_url[i++] = '/';
    memcpy(url->tc_url + i, url->app, strlen(url->app));
    i += strlen(url->app);
    url->tc_url[i] = '\0';

    return 0;
}


/* the client */

int
ingest_rtmp_client_init(ingest_rtmp_client_t *c,
    const ingest_rtmp_client_conf_t *conf)
{
    memset(c, 0, sizeof(ingest_rtmp_client_t));

    if (conf->app == NULL || conf->tc_url == NULL || conf->stream == NULL
        || conf->app[0] == '\0' || conf->stream[0] == '\0'
        || ingest_rtmp_set(c->app, sizeof(c->app), conf->app) != 0
        || ingest_rtmp_set(c->tc_url, sizeof(c->tc_url), conf->tc_url) != 0
        || ingest_rtmp_set(c->stream, sizeof(c->stream), conf->stream) != 0
        || ingest_rtmp_set(c->flash_ver, sizeof(c->flash_ver),
                           conf->flash_ver != NULL ? conf->flash_ver
                                                   : INGEST_RTMP_FLASH_VER)
           != 0)
    {
        return -1;
    }

    c->out_chunk_size = conf->chunk_size != 0 ? conf->chunk_size
                                              : INGEST_RTMP_CHUNK_SIZE;

    if (c->out_chunk_size > INGEST_RTMP_MAX_CHUNK) {
        return -1;
    }

    ingest_rtmp_writer_init(&c->writer, INGEST_RTMP_DEFAULT_CHUNK);
    ingest_rtmp_reader_init(&c->reader);

    c->state = INGEST_RTMP_ST_INIT;

    return 0;
}


size_t
ingest_rtmp_client_start(ingest_rtmp_client_t *c, uint32_t time,
    const unsigned char *random, unsigned char *out, size_t cap)
{
    if (c->state != INGEST_RTMP_ST_INIT
        || cap < 1 + INGEST_RTMP_HANDSHAKE_SIZE)
    {
        return 0;
    }

    ingest_rtmp_handshake_c0c1(out, time, random);
    memcpy(c->c1, out + 1, INGEST_RTMP_HANDSHAKE_SIZE);

    c->state = INGEST_RTMP_ST_HANDSHAKE;
    c->hs_len = 0;

    return 1 + INGEST_RTMP_HANDSHAKE_SIZE;
}


ingest_rtmp_rc_t
ingest_rtmp_client_feed(ingest_rtmp_client_t *c, const unsigned char *in,
    size_t len, unsigned char *out, size_t cap, size_t *out_len)
{
    int     rc;
    size_t  n;

    *out_len = 0;

    c->out = out;
    c->out_len = 0;
    c->out_cap = cap;
    c->out_err = 0;

    if (c->state == INGEST_RTMP_ST_FAILED) {
        return INGEST_RTMP_REJECTED;
    }

    if (c->state == INGEST_RTMP_ST_INIT) {
        return INGEST_RTMP_ERROR;
    }

    if (c->state == INGEST_RTMP_ST_HANDSHAKE) {
        n = sizeof(c->hs) - c->hs_len;
        if (n > len) {
            n = len;
        }

        memcpy(c->hs + c->hs_len, in, n);
        c->hs_len += n;
        in += n;
        len -= n;

        if (c->hs_len < sizeof(c->hs)) {
            return INGEST_RTMP_AGAIN;
        }

        if (cap < INGEST_RTMP_HANDSHAKE_SIZE) {
            return INGEST_RTMP_ERROR;
        }

        rc = ingest_rtmp_handshake_s0s1s2(c->hs, c->c1, out);

        if (rc < 0) {
            return INGEST_RTMP_ERROR;
        }

        c->s2_mismatch = (rc == 1);
        c->out_len = INGEST_RTMP_HANDSHAKE_SIZE;

        n = ingest_rtmp_write_chunk_size(&c->writer, out + c->out_len,
                                         cap - c->out_len,
                                         c->out_chunk_size);
        if (n == 0) {
            return INGEST_RTMP_ERROR;
        }

        c->out_len += n;

        ingest_rtmp_client_connect(c);

        c->state = INGEST_RTMP_ST_CONNECT;
    }

    if (len > 0
        && ingest_rtmp_read(&c->reader, in, len, ingest_rtmp_client_message,
                            c)
           != 0)
    {
        return INGEST_RTMP_ERROR;
    }

    /* acknowledge what the server's window asks for */

    if (c->ack_window != 0
        && c->reader.bytes - c->acked >= c->ack_window)
    {
        c->acked = c->reader.bytes;

        n = ingest_rtmp_write_u32(&c->writer, c->out + c->out_len,
                                  c->out_cap - c->out_len,
                                  INGEST_RTMP_MSG_ACK,
                                  (uint32_t) c->reader.bytes);
        if (n == 0) {
            c->out_err = 1;
        }

        c->out_len += n;
    }

    if (c->out_err) {
        return INGEST_RTMP_ERROR;
    }

    *out_len = c->out_len;

    if (c->state == INGEST_RTMP_ST_FAILED) {
        return INGEST_RTMP_REJECTED;
    }

    if (c->state == INGEST_RTMP_ST_PUBLISHING && !c->published) {
        c->published = 1;
        return INGEST_RTMP_PUBLISHING;
    }

    return INGEST_RTMP_AGAIN;
}


size_t
ingest_rtmp_client_metadata(ingest_rtmp_client_t *c,
    const ingest_rtmp_meta_t *m, unsigned char *out, size_t cap)
{
    uint32_t              count;
    unsigned char         buf[512];
    ingest_amf0_writer_t  w;

    if (c->state != INGEST_RTMP_ST_PUBLISHING) {
        return 0;
    }

    count = (m->width != 0) + (m->height != 0) + (m->framerate != 0)
            + (m->video != 0) + (m->video_kbps != 0)
            + (m->audio != 0) + (m->sample_rate != 0) + (m->channels != 0)
            + (m->audio_kbps != 0) + (m->audio != 0) + 2;

    ingest_amf0_writer_init(&w, buf, sizeof(buf));

    ingest_amf0_cstring(&w, "@setDataFrame");
    ingest_amf0_cstring(&w, "onMetaData");
    ingest_amf0_ecma_start(&w, count);

    ingest_amf0_key(&w, "duration");
    ingest_amf0_number(&w, 0);

    if (m->width != 0) {
        ingest_amf0_key(&w, "width");
        ingest_amf0_number(&w, m->width);
    }

    if (m->height != 0) {
        ingest_amf0_key(&w, "height");
        ingest_amf0_number(&w, m->height);
    }

    if (m->framerate != 0) {
        ingest_amf0_key(&w, "framerate");
        ingest_amf0_number(&w, m->framerate);
    }

    if (m->video != 0) {
        ingest_amf0_key(&w, "videocodecid");
        ingest_amf0_number(&w, 7);                    /* AVC */
    }

    if (m->video_kbps != 0) {
        ingest_amf0_key(&w, "videodatarate");
        ingest_amf0_number(&w, m->video_kbps);
    }

    if (m->audio != 0) {
        ingest_amf0_key(&w, "audiocodecid");
        ingest_amf0_number(&w, 10);                   /* AAC */

        ingest_amf0_key(&w, "audiosamplesize");
        ingest_amf0_number(&w, 16);
    }

    if (m->sample_rate != 0) {
        ingest_amf0_key(&w, "audiosamplerate");
        ingest_amf0_number(&w, m->sample_rate);
    }

    if (m->channels != 0) {
        ingest_amf0_key(&w, "stereo");
        ingest_amf0_boolean(&w, m->channels > 1);
    }

    if (m->audio_kbps != 0) {
        ingest_amf0_key(&w, "audiodatarate");
        ingest_amf0_number(&w, m->audio_kbps);
    }

    ingest_amf0_key(&w, "encoder");
    ingest_amf0_cstring(&w, "nginx-ingest");

    ingest_amf0_object_end(&w);

    if (ingest_amf0_length(&w) == 0) {
        return 0;
    }

    return ingest_rtmp_write(&c->writer, out, cap, INGEST_RTMP_CSID_DATA,
                             INGEST_RTMP_MSG_AMF0_DATA, c->stream_id, 0,
                             buf, ingest_amf0_length(&w));
}


size_t
ingest_rtmp_client_media(ingest_rtmp_client_t *c, unsigned type,
    uint32_t timestamp, const unsigned char *body, size_t len,
    unsigned char *out, size_t cap)
{
    if (c->state != INGEST_RTMP_ST_PUBLISHING
        || (type != INGEST_RTMP_MSG_AUDIO && type != INGEST_RTMP_MSG_VIDEO))
    {
        return 0;
    }

    return ingest_rtmp_write(&c->writer, out, cap,
                             type == INGEST_RTMP_MSG_AUDIO
                             ? INGEST_RTMP_CSID_AUDIO
                             : INGEST_RTMP_CSID_VIDEO,
                             type, c->stream_id, timestamp, body, len);
}


size_t
ingest_rtmp_client_close(ingest_rtmp_client_t *c, unsigned char *out,
    size_t cap)
{
    unsigned char         buf[INGEST_RTMP_NAME_MAX + 64];
    ingest_amf0_writer_t  w;

    if (c->state != INGEST_RTMP_ST_PUBLISHING) {
        return 0;
    }

    c->out = out;
    c->out_len = 0;
    c->out_cap = cap;
    c->out_err = 0;

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "FCUnpublish");
    ingest_amf0_number(&w, ++c->tid);
    ingest_amf0_null(&w);
    ingest_amf0_cstring(&w, c->stream);
    ingest_rtmp_client_send(c, INGEST_RTMP_CSID_COMMAND,
                            INGEST_RTMP_MSG_AMF0_CMD, 0, buf,
                            ingest_amf0_length(&w));

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "deleteStream");
    ingest_amf0_number(&w, ++c->tid);
    ingest_amf0_null(&w);
    ingest_amf0_number(&w, c->stream_id);
    ingest_rtmp_client_send(c, INGEST_RTMP_CSID_COMMAND,
                            INGEST_RTMP_MSG_AMF0_CMD, 0, buf,
                            ingest_amf0_length(&w));

    c->state = INGEST_RTMP_ST_FAILED;
    ingest_rtmp_set(c->status, sizeof(c->status), "closed");

    return c->out_err ? 0 : c->out_len;
}


const char *
ingest_rtmp_state_name(ingest_rtmp_state_t state)
{
    static const char  *names[] = {
        "init", "handshake", "connect", "createStream", "publish",
        "publishing", "failed"
    };

    if ((unsigned) state > INGEST_RTMP_ST_FAILED) {
        return "unknown";
    }

    return names[state];
}


static int
ingest_rtmp_client_message(void *ctx, const ingest_rtmp_message_t *m)
{
    size_t                 n;
    uint32_t               v;
    unsigned               event;
    ingest_rtmp_client_t  *c;

    c = ctx;

    switch (m->type) {

    case INGEST_RTMP_MSG_ACK_SIZE:
        if (m->len >= 4) {
            c->ack_window = ingest_rtmp_be32(m->data);
        }

        break;

    case INGEST_RTMP_MSG_BANDWIDTH:
        if (m->len < 5) {
            break;
        }

        /* answer with our window when it is another one */

        v = ingest_rtmp_be32(m->data);

        if (v != 0 && v != c->sent_window) {
            c->sent_window = v;

            n = ingest_rtmp_write_u32(&c->writer, c->out + c->out_len,
                                      c->out_cap - c->out_len,
                                      INGEST_RTMP_MSG_ACK_SIZE, v);
            if (n == 0) {
                c->out_err = 1;
                return -1;
            }

            c->out_len += n;
        }

        break;

    case INGEST_RTMP_MSG_USER:
        if (m->len < 6) {
            break;
        }

        event = (unsigned) m->data[0] << 8 | m->data[1];

        if (event == INGEST_RTMP_USER_PING_REQUEST) {
            v = ingest_rtmp_be32(m->data + 2);

            n = ingest_rtmp_write_user(&c->writer, c->out + c->out_len,
                                       c->out_cap - c->out_len,
                                       INGEST_RTMP_USER_PING_RESPONSE, v);
            if (n == 0) {
                c->out_err = 1;
                return -1;
            }

            c->out_len += n;
        }

        break;

    case INGEST_RTMP_MSG_AMF0_CMD:
        ingest_rtmp_client_command(c, m->data, m->len);
        break;

    case INGEST_RTMP_MSG_AMF3_CMD:
        /* AMF0 after a zero byte */
        if (m->len > 0 && m->data[0] == 0) {
            ingest_rtmp_client_command(c, m->data + 1, m->len - 1);
        }

        break;

    default:
        break;
    }

    return c->out_err ? -1 : 0;
}


static void
ingest_rtmp_client_command(ingest_rtmp_client_t *c, const unsigned char *p,
    size_t len)
{
    ingest_amf0_value_t   name, tid, cmd, info;
    ingest_amf0_reader_t  r;

    ingest_amf0_reader_init(&r, p, len);

    if (ingest_amf0_read(&r, &name) != 1
        || name.type != INGEST_AMF0_STRING
        || ingest_amf0_read(&r, &tid) != 1
        || tid.type != INGEST_AMF0_NUMBER)
    {
        return;
    }

    if (ingest_amf0_is(&name, "_result")) {
        ingest_rtmp_client_result(c, 0, tid.number, &r);
        return;
    }

    if (ingest_amf0_is(&name, "_error")) {
        ingest_rtmp_client_result(c, 1, tid.number, &r);
        return;
    }

    if (ingest_amf0_is(&name, "onStatus")) {
        /* the command object (null), then the info object */

        if (ingest_amf0_read(&r, &cmd) != 1
            || ingest_amf0_read(&r, &info) != 1)
        {
            return;
        }

        ingest_rtmp_client_status(c, &info);
        return;
    }

    if (ingest_amf0_is(&name, "close")) {
        ingest_rtmp_client_fail(c, "close", NULL);
        return;
    }

    /* onBWDone, onFCPublish, _checkbw, ...: nothing to do */
}


static void
ingest_rtmp_client_result(ingest_rtmp_client_t *c, int error, double tid,
    ingest_amf0_reader_t *r)
{
    int                  rc;
    ingest_amf0_value_t  cmd, info, code;

    cmd.type = INGEST_AMF0_NULL;
    info.type = INGEST_AMF0_NULL;

    if (ingest_amf0_read(r, &cmd) == 1) {
        (void) ingest_amf0_read(r, &info);
    }

    if (c->state == INGEST_RTMP_ST_CONNECT && tid == c->connect_tid) {
        if (error) {
            ingest_rtmp_client_fail(c, "NetConnection.Connect.Rejected",
                                    &info);
            return;
        }

        rc = ingest_amf0_get(&info, "code", &code);

        if (rc == 1 && code.type == INGEST_AMF0_STRING
            && !ingest_amf0_is(&code, "NetConnection.Connect.Success"))
        {
            ingest_rtmp_client_fail(c, "NetConnection.Connect.Failed",
                                    &info);
            return;
        }

        ingest_rtmp_client_create(c);
        c->state = INGEST_RTMP_ST_CREATE_STREAM;
        return;
    }

    if (c->state == INGEST_RTMP_ST_CREATE_STREAM && tid == c->create_tid) {
        if (error) {
            ingest_rtmp_client_fail(c, "createStream.Failed", &info);
            return;
        }

        if (info.type != INGEST_AMF0_NUMBER || !(info.number >= 1)
            || info.number > 4294967295.0
            || info.number != (double) (uint32_t) info.number)
        {
            ingest_rtmp_client_fail(c, "createStream.BadStreamId", NULL);
            return;
        }

        c->stream_id = (uint32_t) info.number;

        ingest_rtmp_client_publish(c);
        c->state = INGEST_RTMP_ST_PUBLISH;
        return;
    }

    /* results of releaseStream, FCPublish: whatever they say */
}


static void
ingest_rtmp_client_status(ingest_rtmp_client_t *c,
    const ingest_amf0_value_t *info)
{
    ingest_amf0_value_t  code, level;

    if (ingest_amf0_get(info, "code", &code) != 1
        || code.type != INGEST_AMF0_STRING)
    {
        return;
    }

    if (c->state == INGEST_RTMP_ST_PUBLISH
        && ingest_amf0_is(&code, "NetStream.Publish.Start"))
    {
        ingest_rtmp_copy(c->status, sizeof(c->status), &code.str);
        c->state = INGEST_RTMP_ST_PUBLISHING;
        return;
    }

    if (ingest_amf0_get(info, "level", &level) == 1
        && ingest_amf0_is(&level, "error")
        && (c->state == INGEST_RTMP_ST_PUBLISH
            || c->state == INGEST_RTMP_ST_PUBLISHING))
    {
        ingest_rtmp_client_fail(c, NULL, info);
    }
}


/* FAILED, with the server's code and description when it gave them */

static void
ingest_rtmp_client_fail(ingest_rtmp_client_t *c, const char *status,
    const ingest_amf0_value_t *info)
{
    ingest_amf0_value_t  v;

    c->state = INGEST_RTMP_ST_FAILED;

    c->status[0] = '\0';
    c->description[0] = '\0';

    if (info != NULL) {
        if (ingest_amf0_get(info, "code", &v) == 1
            && v.type == INGEST_AMF0_STRING)
        {
            ingest_rtmp_copy(c->status, sizeof(c->status), &v.str);
        }

        if (ingest_amf0_get(info, "description", &v) == 1
            && v.type == INGEST_AMF0_STRING)
        {
            ingest_rtmp_copy(c->description, sizeof(c->description),
                             &v.str);
        }
    }

    if (c->status[0] == '\0' && status != NULL) {
        (void) ingest_rtmp_set(c->status, sizeof(c->status), status);
    }
}


static void
ingest_rtmp_client_connect(ingest_rtmp_client_t *c)
{
    unsigned char         buf[INGEST_RTMP_CMD_MAX];
    ingest_amf0_writer_t  w;

    c->connect_tid = ++c->tid;

    ingest_amf0_writer_init(&w, buf, sizeof(buf));

    ingest_amf0_cstring(&w, "connect");
    ingest_amf0_number(&w, c->connect_tid);
    ingest_amf0_object_start(&w);
    ingest_amf0_key(&w, "app");
    ingest_amf0_cstring(&w, c->app);
    ingest_amf0_key(&w, "type");
    ingest_amf0_cstring(&w, "nonprivate");
    ingest_amf0_key(&w, "flashVer");
    ingest_amf0_cstring(&w, c->flash_ver);
    ingest_amf0_key(&w, "tcUrl");
    ingest_amf0_cstring(&w, c->tc_url);
    ingest_amf0_object_end(&w);

    ingest_rtmp_client_send(c, INGEST_RTMP_CSID_COMMAND,
                            INGEST_RTMP_MSG_AMF0_CMD, 0, buf,
                            ingest_amf0_length(&w));
}


/* releaseStream, FCPublish and createStream at once, as encoders do */

static void
ingest_rtmp_client_create(ingest_rtmp_client_t *c)
{
    unsigned char         buf[INGEST_RTMP_NAME_MAX + 64];
    ingest_amf0_writer_t  w;

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "releaseStream");
    ingest_amf0_number(&w, ++c->tid);
    ingest_amf0_null(&w);
    ingest_amf0_cstring(&w, c->stream);
    ingest_rtmp_client_send(c, INGEST_RTMP_CSID_COMMAND,
                            INGEST_RTMP_MSG_AMF0_CMD, 0, buf,
                            ingest_amf0_length(&w));

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "FCPublish");
    ingest_amf0_number(&w, ++c->tid);
    ingest_amf0_null(&w);
    ingest_amf0_cstring(&w, c->stream);
    ingest_rtmp_client_send(c, INGEST_RTMP_CSID_COMMAND,
                            INGEST_RTMP_MSG_AMF0_CMD, 0, buf,
                            ingest_amf0_length(&w));

    c->create_tid = ++c->tid;

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "createStream");
    ingest_amf0_number(&w, c->create_tid);
    ingest_amf0_null(&w);
    ingest_rtmp_client_send(c, INGEST_RTMP_CSID_COMMAND,
                            INGEST_RTMP_MSG_AMF0_CMD, 0, buf,
                            ingest_amf0_length(&w));
}


static void
ingest_rtmp_client_publish(ingest_rtmp_client_t *c)
{
    unsigned char         buf[INGEST_RTMP_NAME_MAX + 64];
    ingest_amf0_writer_t  w;

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "publish");
    ingest_amf0_number(&w, ++c->tid);
    ingest_amf0_null(&w);
    ingest_amf0_cstring(&w, c->stream);
    ingest_amf0_cstring(&w, "live");

    ingest_rtmp_client_send(c, INGEST_RTMP_CSID_COMMAND,
                            INGEST_RTMP_MSG_AMF0_CMD, c->stream_id, buf,
                            ingest_amf0_length(&w));
}


static void
ingest_rtmp_client_send(ingest_rtmp_client_t *c, unsigned csid,
    unsigned type, uint32_t msid, const unsigned char *p, size_t len)
{
    size_t  n;

    if (len == 0) {
        /* the AMF0 encoder ran out of room */
        c->out_err = 1;
        return;
    }

    n = ingest_rtmp_write(&c->writer, c->out + c->out_len,
                          c->out_cap - c->out_len, csid, type, msid, 0, p,
                          len);
    if (n == 0) {
        c->out_err = 1;
        return;
    }

    c->out_len += n;
}


static void
ingest_rtmp_copy(char *dst, size_t cap, const ingest_str_t *s)
{
    size_t  i, n;

    n = s->len < cap - 1 ? s->len : cap - 1;

    /* printable only: this goes to logs */

    for (i = 0; i < n; i++) {
        dst[i] = (s->data[i] >= 0x20 && s->data[i] < 0x7f)
                 ? (char) s->data[i] : '?';
    }

    dst[n] = '\0';
}


static int
ingest_rtmp_set(char *dst, size_t cap, const char *s)
{
    size_t  n;

    n = strlen(s);

    if (n >= cap) {
        return -1;
    }

    memcpy(dst, s, n + 1);

    return 0;
}


static uint32_t
ingest_rtmp_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static uint32_t
ingest_rtmp_be24(const unsigned char *p)
{
    return (uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2];
}


static void
ingest_rtmp_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}


static void
ingest_rtmp_put_be24(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 16);
    p[1] = (unsigned char) (v >> 8);
    p[2] = (unsigned char) v;
}


static void
ingest_rtmp_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
    p[2] = (unsigned char) (v >> 16);
    p[3] = (unsigned char) (v >> 24);
}
