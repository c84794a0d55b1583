
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_rtmp.h"
#include "test.h"


#define MAX_MSGS  512


typedef struct {
    unsigned            type;
    uint32_t            msid;
    uint32_t            timestamp;
    unsigned            csid;
    size_t              len;
    unsigned char      *data;
} msg_t;

typedef struct {
    size_t              n;
    int                 stop;
    msg_t               m[MAX_MSGS];
} msgs_t;

/* the server's side of a session, made with the same writer */
typedef struct {
    ingest_rtmp_writer_t  w;
    ingest_rtmp_reader_t  r;
    msgs_t                got;
    unsigned char         buf[65536];
    size_t                len;
} server_t;


static int on_msg(void *ctx, const ingest_rtmp_message_t *m);
static void msgs_free(msgs_t *ms);
static int msg_is(const msg_t *m, unsigned type, const void *p, size_t len);
static int amf_str(ingest_amf0_reader_t *r, const char *s);
static int amf_num(ingest_amf0_reader_t *r, double v);
static int read_all(const unsigned char *p, size_t len, size_t slice,
    uint64_t seed, msgs_t *out, uint64_t *skipped);
static void test_amf0_encode(void);
static void test_amf0_decode(void);
static void test_amf0_bad(void);
static void test_chunk_bytes(void);
static void test_chunk_roundtrip(void);
static void test_reader(void);
static void test_handshake(void);
static void test_url(void);
static void server_init(server_t *s);
static void server_send(server_t *s, unsigned csid, unsigned type,
    uint32_t msid, const void *p, size_t len);
static void server_cmd(server_t *s, const char *name, double tid,
    const char *code, const char *level, double number);
static ingest_rtmp_rc_t feed(ingest_rtmp_client_t *c, server_t *s,
    size_t slice, unsigned char *out, size_t cap);
static ingest_rtmp_rc_t session(ingest_rtmp_client_t *c, server_t *s,
    size_t slice, int reject);
static void test_client(void);
static void test_client_errors(void);
static void test_rtmp(void);


static double    stream_id = 1;
static msgs_t    msgs;
static server_t  srv;
static unsigned char  out[65536];


static int
on_msg(void *ctx, const ingest_rtmp_message_t *m)
{
    msg_t   *x;
    msgs_t  *ms;

    ms = ctx;

    if (ms->n == MAX_MSGS) {
        return -1;
    }

    x = &ms->m[ms->n++];

    x->type = m->type;
    x->msid = m->msid;
    x->timestamp = m->timestamp;
    x->csid = m->csid;
    x->len = m->len;
    x->data = test_dup(m->data, m->len);

    return ms->stop;
}


static void
msgs_free(msgs_t *ms)
{
    size_t  i;

    for (i = 0; i < ms->n; i++) {
        free(ms->m[i].data);
    }

    ms->n = 0;
    ms->stop = 0;
}


static int
msg_is(const msg_t *m, unsigned type, const void *p, size_t len)
{
    return m->type == type && m->len == len && memcmp(m->data, p, len) == 0;
}


static int
amf_str(ingest_amf0_reader_t *r, const char *s)
{
    ingest_amf0_value_t  v;

    return ingest_amf0_read(r, &v) == 1 && v.type == INGEST_AMF0_STRING
           && v.str.len == strlen(s) && memcmp(v.str.data, s, v.str.len) == 0;
}


static int
amf_num(ingest_amf0_reader_t *r, double v)
{
    ingest_amf0_value_t  x;

    return ingest_amf0_read(r, &x) == 1 && x.type == INGEST_AMF0_NUMBER
           && x.number == v;
}


static int
read_all(const unsigned char *p, size_t len, size_t slice, uint64_t seed,
    msgs_t *ms, uint64_t *skipped)
{
    size_t                 n;
    ingest_rtmp_reader_t  *r;

    r = malloc(sizeof(ingest_rtmp_reader_t));
    if (r == NULL) {
        exit(2);
    }

    ingest_rtmp_reader_init(r);

    while (len > 0) {
        n = slice != 0 ? slice : 1 + test_rand(&seed) % 700;
        if (n > len) {
            n = len;
        }

        if (ingest_rtmp_read(r, p, n, on_msg, ms) != 0) {
            free(r);
            return -1;
        }

        p += n;
        len -= n;
    }

    if (skipped != NULL) {
        *skipped = r->skipped;
    }

    n = (r->cur != NULL || r->hlen != 0);
    free(r);

    /* a partial chunk left over is an error here */
    return n ? -2 : 0;
}


/* AMF0 against bytes written out by hand from the AMF0 specification */

static void
test_amf0_encode(void)
{
    size_t                n;
    unsigned char         buf[512], *big;
    ingest_amf0_writer_t  w;

    static const unsigned char  connect[] =
        "\x02\x00\x07" "connect"
        "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x03"
        "\x00\x03" "app" "\x02\x00\x04" "live"
        "\x00\x04" "type" "\x02\x00\x0a" "nonprivate"
        "\x00\x08" "flashVer" "\x02\x00\x08" "FMLE/3.0"
        "\x00\x05" "tcUrl" "\x02\x00\x15" "rtmp://127.0.0.1/live"
        "\x00\x00\x09";

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_number(&w, 1.0);
    ingest_amf0_number(&w, 3.5);
    ingest_amf0_number(&w, -2.0);
    ingest_amf0_number(&w, 0.0);
    ingest_amf0_boolean(&w, 1);
    ingest_amf0_boolean(&w, 0);
    ingest_amf0_cstring(&w, "");
    ingest_amf0_null(&w);
    ingest_amf0_ecma_start(&w, 1);
    ingest_amf0_key(&w, "w");
    ingest_amf0_number(&w, 640);
    ingest_amf0_object_end(&w);

    n = ingest_amf0_length(&w);
    CHECK_INT(n, 4 * 9 + 2 * 2 + 3 + 1 + 5 + 3 + 9 + 3);
    CHECK(memcmp(buf, "\x00\x3f\xf0\0\0\0\0\0\0"
                      "\x00\x40\x0c\0\0\0\0\0\0"
                      "\x00\xc0\x00\0\0\0\0\0\0"
                      "\x00\x00\x00\0\0\0\0\0\0"
                      "\x01\x01" "\x01\x00" "\x02\x00\x00" "\x05"
                      "\x08\x00\x00\x00\x01" "\x00\x01" "w"
                      "\x00\x40\x84\0\0\0\0\0\0" "\x00\x00\x09", n) == 0);

    /* the connect command of RTMP 7.2.1.1 */

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "connect");
    ingest_amf0_number(&w, 1);
    ingest_amf0_object_start(&w);
    ingest_amf0_key(&w, "app");
    ingest_amf0_cstring(&w, "live");
    ingest_amf0_key(&w, "type");
    ingest_amf0_cstring(&w, "nonprivate");
    ingest_amf0_key(&w, "flashVer");
    ingest_amf0_cstring(&w, "FMLE/3.0");
    ingest_amf0_key(&w, "tcUrl");
    ingest_amf0_cstring(&w, "rtmp://127.0.0.1/live");
    ingest_amf0_object_end(&w);

    CHECK_INT(ingest_amf0_length(&w), sizeof(connect) - 1);
    CHECK(memcmp(buf, connect, sizeof(connect) - 1) == 0);

    /* full: nothing more is written, the length says 0 */

    ingest_amf0_writer_init(&w, buf, 10);
    ingest_amf0_cstring(&w, "connect");
    CHECK_INT(ingest_amf0_length(&w), 10);
    ingest_amf0_number(&w, 1);
    CHECK_INT(ingest_amf0_length(&w), 0);
    CHECK_INT(w.pos - w.start, 10);

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_key(&w, "");
    CHECK_INT(ingest_amf0_length(&w), 0);

    /* a long string above 65535 bytes */

    big = malloc(70005);
    if (big == NULL) {
        exit(2);
    }

    memset(big + 5, 'x', 70000);
    ingest_amf0_writer_init(&w, big, 70005);
    ingest_amf0_string(&w, big + 5, 70000);
    CHECK_INT(ingest_amf0_length(&w), 70005);
    CHECK(memcmp(big, "\x0c\x00\x01\x11\x70", 5) == 0);

    free(big);
}


static void
test_amf0_decode(void)
{
    int                   rc;
    size_t                n;
    ingest_str_t          key;
    unsigned char         buf[1024];
    ingest_amf0_value_t   v, x, info;
    ingest_amf0_reader_t  r, o;
    ingest_amf0_writer_t  w;

    /* nginx-rtmp's answer to connect, as bytes */

    static const unsigned char  result[] =
        "\x02\x00\x07" "_result"
        "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
        "\x03"
        "\x00\x06" "fmsVer" "\x02\x00\x0d" "FMS/3,0,1,123"
        "\x00\x0c" "capabilities" "\x00\x40\x3f\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x09"
        "\x03"
        "\x00\x05" "level" "\x02\x00\x06" "status"
        "\x00\x04" "code" "\x02\x00\x1d" "NetConnection.Connect.Success"
        "\x00\x0b" "description" "\x02\x00\x15" "Connection succeeded."
        "\x00\x0e" "objectEncoding" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x09";

    ingest_amf0_reader_init(&r, result, sizeof(result) - 1);

    CHECK(amf_str(&r, "_result"));
    CHECK(amf_num(&r, 1));

    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK_INT(v.type, INGEST_AMF0_OBJECT);
    CHECK_INT(ingest_amf0_get(&v, "capabilities", &x), 1);
    CHECK(x.type == INGEST_AMF0_NUMBER && x.number == 31);
    CHECK_INT(ingest_amf0_get(&v, "fmsVer", &x), 1);
    CHECK_MEM(x.str.data, x.str.len, "FMS/3,0,1,123");
    CHECK_INT(ingest_amf0_get(&v, "nothere", &x), 0);

    CHECK_INT(ingest_amf0_read(&r, &info), 1);
    CHECK_INT(ingest_amf0_get(&info, "code", &x), 1);
    CHECK_MEM(x.str.data, x.str.len, "NetConnection.Connect.Success");
    CHECK_INT(ingest_amf0_get(&info, "objectEncoding", &x), 1);
    CHECK(x.type == INGEST_AMF0_NUMBER && x.number == 0);

    CHECK_INT(ingest_amf0_read(&r, &v), 0);

    /* properties in order */

    ingest_amf0_reader_init(&o, info.body.data, info.body.len);
    n = 0;

    while ((rc = ingest_amf0_next_prop(&o, &key, &x)) == 1) {
        n++;
    }

    CHECK_INT(rc, 0);
    CHECK_INT(n, 4);
    CHECK_MEM(key.data, key.len, "objectEncoding");

    /* every type through encoder and decoder, nested */

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_object_start(&w);
    ingest_amf0_key(&w, "a");
    ingest_amf0_ecma_start(&w, 7);
    ingest_amf0_key(&w, "n");
    ingest_amf0_number(&w, 1e300);
    ingest_amf0_key(&w, "b");
    ingest_amf0_boolean(&w, 1);
    ingest_amf0_key(&w, "s");
    ingest_amf0_cstring(&w, "str");
    ingest_amf0_key(&w, "z");
    ingest_amf0_null(&w);
    ingest_amf0_key(&w, "o");
    ingest_amf0_object_start(&w);
    ingest_amf0_object_end(&w);
    ingest_amf0_object_end(&w);
    ingest_amf0_key(&w, "after");
    ingest_amf0_number(&w, -0.5);
    ingest_amf0_object_end(&w);

    n = ingest_amf0_length(&w);

    /* and the types we only read: undefined, reference, date, strict
     * array, typed object, XML */

    memcpy(buf + n, "\x06" "\x07\x00\x02" "\x0b\x40\x00\0\0\0\0\0\0\x00\x00"
           "\x0a\x00\x00\x00\x02\x05\x01\x01"
           "\x10\x00\x01" "C" "\x00\x01" "k" "\x05" "\x00\x00\x09"
           "\x0f\x00\x00\x00\x03" "<a>", 42);
    n += 42;

    ingest_amf0_reader_init(&r, buf, n);

    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK_INT(v.type, INGEST_AMF0_OBJECT);
    CHECK_INT(ingest_amf0_get(&v, "after", &x), 1);
    CHECK(x.number == -0.5);
    CHECK_INT(ingest_amf0_get(&v, "a", &info), 1);
    CHECK_INT(info.type, INGEST_AMF0_ECMA_ARRAY);
    CHECK_INT(info.count, 7);
    CHECK_INT(ingest_amf0_get(&info, "n", &x), 1);
    CHECK(x.number == 1e300);
    CHECK_INT(ingest_amf0_get(&info, "b", &x), 1);
    CHECK(x.type == INGEST_AMF0_BOOLEAN && x.boolean == 1);
    CHECK_INT(ingest_amf0_get(&info, "s", &x), 1);
    CHECK_MEM(x.str.data, x.str.len, "str");
    CHECK_INT(ingest_amf0_get(&info, "z", &x), 1);
    CHECK_INT(x.type, INGEST_AMF0_NULL);
    CHECK_INT(ingest_amf0_get(&info, "o", &x), 1);
    CHECK(x.type == INGEST_AMF0_OBJECT && x.body.len == 3);

    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK_INT(v.type, INGEST_AMF0_UNDEFINED);
    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK(v.type == INGEST_AMF0_REFERENCE && v.number == 2);
    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK(v.type == INGEST_AMF0_DATE && v.number == 2);
    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK(v.type == INGEST_AMF0_STRICT_ARRAY && v.count == 2
          && v.body.len == 3);
    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK(v.type == INGEST_AMF0_TYPED_OBJECT && v.str.len == 1);
    CHECK_INT(ingest_amf0_get(&v, "k", &x), 1);
    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK(v.type == INGEST_AMF0_XML_DOCUMENT && v.str.len == 3);
    CHECK_INT(ingest_amf0_read(&r, &v), 0);

    /* get on what is not an object */

    CHECK_INT(ingest_amf0_get(&x, "k", &v), 0);
}


static void
test_amf0_bad(void)
{
    int                   rc;
    size_t                i, n, bad;
    unsigned char         buf[1024], *p;
    ingest_amf0_value_t   v;
    ingest_amf0_reader_t  r;
    ingest_amf0_writer_t  w;

    /* every cut of a valid message fails cleanly */

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, "onStatus");
    ingest_amf0_object_start(&w);
    ingest_amf0_key(&w, "code");
    ingest_amf0_cstring(&w, "NetStream.Publish.Start");
    ingest_amf0_key(&w, "x");
    ingest_amf0_ecma_start(&w, 0);
    ingest_amf0_object_end(&w);
    ingest_amf0_object_end(&w);

    n = ingest_amf0_length(&w);
    bad = 0;

    for (i = 0; i < n; i++) {
        p = test_dup(buf, i);
        ingest_amf0_reader_init(&r, p, i);

        while ((rc = ingest_amf0_read(&r, &v)) == 1) {
            /* void */
        }

        /* "onStatus" alone is whole: 0 at the end; any other cut is -1 */
        if (rc != (i == 11 || i == 0 ? 0 : -1)) {
            bad++;
        }

        free(p);
    }

    CHECK_INT(bad, 0);

    /* nesting deeper than INGEST_AMF0_MAX_DEPTH */

    n = 0;

    for (i = 0; i < 40; i++) {
        buf[n++] = INGEST_AMF0_OBJECT;
        buf[n++] = 0;
        buf[n++] = 1;
        buf[n++] = 'k';
    }

    buf[n++] = INGEST_AMF0_NULL;

    for (i = 0; i < 40; i++) {
        memcpy(buf + n, "\x00\x00\x09", 3);
        n += 3;
    }

    ingest_amf0_reader_init(&r, buf + 4 * 25, n - 4 * 25 - 3 * 25);
    CHECK_INT(ingest_amf0_read(&r, &v), 1);

    ingest_amf0_reader_init(&r, buf, n);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);

    /* markers we do not take, an end marker out of place */

    ingest_amf0_reader_init(&r, (const unsigned char *) "\x0d", 1);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);
    ingest_amf0_reader_init(&r, (const unsigned char *) "\x11\x01", 2);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);
    ingest_amf0_reader_init(&r, (const unsigned char *) "\x09", 1);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);
    ingest_amf0_reader_init(&r, (const unsigned char *) "\x04", 1);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);

    /* counts and lengths past the end */

    ingest_amf0_reader_init(&r, (const unsigned char *) "\x0a\xff\xff\xff"
                            "\xff\x05", 6);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);
    ingest_amf0_reader_init(&r, (const unsigned char *) "\x0c\xff\xff\xff"
                            "\xff" "ab", 7);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);
    ingest_amf0_reader_init(&r, (const unsigned char *) "\x02\x00\x05" "ab",
                            5);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);
    ingest_amf0_reader_init(&r, (const unsigned char *) "\x03\x00\x05" "ab",
                            5);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);
    ingest_amf0_reader_init(&r, (const unsigned char *) "\x03\x00\x00\x05",
                            4);
    CHECK_INT(ingest_amf0_read(&r, &v), -1);

    /* random bytes: no crash, nothing read past the end */

    {
        uint64_t  seed = 3;

        for (i = 0; i < 20000; i++) {
            size_t  k, len;

            len = test_rand(&seed) % 64;

            for (k = 0; k < len; k++) {
                buf[k] = (unsigned char) (test_rand(&seed) % 20);
            }

            p = test_dup(buf, len);
            ingest_amf0_reader_init(&r, p, len);

            while (ingest_amf0_read(&r, &v) == 1) {
                if (v.type == INGEST_AMF0_OBJECT) {
                    (void) ingest_amf0_get(&v, "code", &v);
                }
            }

            free(p);
        }

        test_passed++;
    }
}


/* chunks as the spec draws them */

static void
test_chunk_bytes(void)
{
    size_t                 n, i;
    unsigned char          payload[300], buf[1024];
    ingest_rtmp_writer_t   w;

    ingest_rtmp_writer_init(&w, 0);
    CHECK_INT(w.chunk_size, 128);

    /* Set Chunk Size: csid 2, fmt 0, type 1, msid 0 */

    n = ingest_rtmp_write_chunk_size(&w, buf, sizeof(buf), 4096);
    CHECK_INT(n, 16);
    CHECK(memcmp(buf, "\x02\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00"
                      "\x00\x00\x10\x00", 16) == 0);
    CHECK_INT(w.chunk_size, 4096);

    /* the next control message on csid 2: fmt 1 (the same stream) */

    n = ingest_rtmp_write_u32(&w, buf, sizeof(buf),
                              INGEST_RTMP_MSG_ACK_SIZE, 2500000);
    CHECK_INT(n, 12);
    CHECK(memcmp(buf, "\x42\x00\x00\x00\x00\x00\x04\x05\x00\x26\x25\xa0",
                 12) == 0);

    n = ingest_rtmp_write_user(&w, buf, sizeof(buf),
                               INGEST_RTMP_USER_PING_RESPONSE, 0x01020304);
    CHECK_INT(n, 14);
    CHECK(memcmp(buf + 7, "\x04\x00\x07\x01\x02\x03\x04", 7) == 0);

    CHECK_INT(ingest_rtmp_write_chunk_size(&w, buf, sizeof(buf), 0), 0);

    /* 300 bytes in 128-byte chunks on csid 3: 12 + 128 + 1 + 128 + 1 +
     * 44; then a later message on the same stream: fmt 1 with the
     * delta */

    ingest_rtmp_writer_init(&w, 128);

    for (i = 0; i < sizeof(payload); i++) {
        payload[i] = (unsigned char) i;
    }

    n = ingest_rtmp_write(&w, buf, sizeof(buf), 3, 20, 1, 1000, payload, 300);
    CHECK_INT(n, 314);
    CHECK(memcmp(buf, "\x03\x00\x03\xe8\x00\x01\x2c\x14\x01\x00\x00\x00",
                 12) == 0);
    CHECK_INT(buf[12 + 128], 0xc3);
    CHECK_INT(buf[12 + 128 + 1 + 128], 0xc3);
    CHECK(memcmp(buf + 12, payload, 128) == 0);
    CHECK(memcmp(buf + 12 + 129, payload + 128, 128) == 0);
    CHECK(memcmp(buf + 12 + 258, payload + 256, 44) == 0);

    n = ingest_rtmp_write(&w, buf, sizeof(buf), 3, 9, 1, 1040, payload, 10);
    CHECK_INT(n, 8 + 10);
    CHECK(memcmp(buf, "\x43\x00\x00\x28\x00\x00\x0a\x09", 8) == 0);

    /* another message stream, or time going back: fmt 0 again */

    n = ingest_rtmp_write(&w, buf, sizeof(buf), 3, 9, 2, 1040, payload, 1);
    CHECK_INT(buf[0], 0x03);
    CHECK_INT(n, 13);
    n = ingest_rtmp_write(&w, buf, sizeof(buf), 3, 9, 2, 1000, payload, 1);
    CHECK_INT(buf[0], 0x03);
    CHECK_INT(n, 13);

    /* extended timestamps, in every chunk of the message */

    ingest_rtmp_writer_init(&w, 128);
    n = ingest_rtmp_write(&w, buf, sizeof(buf), 4, 8, 1, 0x01000000,
                          payload, 200);
    CHECK_INT(n, 12 + 4 + 128 + 1 + 4 + 72);
    CHECK(memcmp(buf, "\x04\xff\xff\xff\x00\x00\xc8\x08\x01\x00\x00\x00"
                      "\x01\x00\x00\x00", 16) == 0);
    CHECK(memcmp(buf + 16 + 128, "\xc4\x01\x00\x00\x00", 5) == 0);

    /* chunk stream ids of two and three bytes */

    n = ingest_rtmp_write(&w, buf, sizeof(buf), 64, 8, 1, 0, payload, 1);
    CHECK_INT(n, 14);
    CHECK(buf[0] == 0x00 && buf[1] == 0);
    n = ingest_rtmp_write(&w, buf, sizeof(buf), 319, 8, 1, 0, payload, 1);
    CHECK(buf[0] == 0x00 && buf[1] == 255);
    n = ingest_rtmp_write(&w, buf, sizeof(buf), 320, 8, 1, 0, payload, 1);
    CHECK_INT(n, 15);
    CHECK(buf[0] == 0x01 && buf[1] == 0 && buf[2] == 1);
    n = ingest_rtmp_write(&w, buf, sizeof(buf), 65599, 8, 1, 0, payload, 1);
    CHECK(buf[0] == 0x01 && buf[1] == 0xff && buf[2] == 0xff);

    CHECK_INT(ingest_rtmp_write(&w, buf, sizeof(buf), 1, 8, 1, 0, payload,
                                1), 0);
    CHECK_INT(ingest_rtmp_write(&w, buf, sizeof(buf), 65600, 8, 1, 0,
                                payload, 1), 0);

    /* no room: nothing */

    CHECK_INT(ingest_rtmp_write(&w, buf, 313, 3, 20, 1, 1000, payload,
                                300), 0);

    /* an empty message is one header */

    ingest_rtmp_writer_init(&w, 128);
    n = ingest_rtmp_write(&w, buf, sizeof(buf), 3, 20, 0, 0, payload, 0);
    CHECK_INT(n, 12);

    CHECK(ingest_rtmp_chunked_size(300, 128) >= 314);
}


/* what the writer writes, the reader reads back, in any slices */

static void
test_chunk_roundtrip(void)
{
    size_t                 i, k, n, len, total, bad;
    uint32_t               ts[8], size;
    uint64_t               seed, skipped;
    unsigned               csid, type;
    unsigned char         *buf;
    ingest_rtmp_writer_t   w;

    static unsigned char   payload[20000];

    buf = malloc(4 << 20);
    if (buf == NULL) {
        exit(2);
    }

    seed = 11;

    for (i = 0; i < sizeof(payload); i++) {
        payload[i] = (unsigned char) test_rand(&seed);
    }

    for (k = 0; k < 8; k++) {
        ts[k] = 0;
    }

    ingest_rtmp_writer_init(&w, 128);

    total = 0;
    n = 0;

    for (i = 0; i < 300; i++) {
        if (i % 50 == 25) {
            /* a new chunk size; the reader takes it at once */
            size = 1 + test_rand(&seed) % 5000;
            total += ingest_rtmp_write_chunk_size(&w, buf + total,
                                                  (4 << 20) - total, size);
            n++;
        }

        k = test_rand(&seed) % 7;
        csid = (unsigned[]) { 3, 4, 6, 63, 64, 300, 40000 }[k];
        type = 8 + test_rand(&seed) % 12;

        /* timestamps mostly forward, sometimes back, some extended */
        ts[k] += test_rand(&seed) % 100;

        if (i % 37 == 0) {
            ts[k] += 0x1000000;
        }

        if (i % 41 == 0 && ts[k] > 50) {
            ts[k] -= 50;
        }

        len = test_rand(&seed) % (i % 10 == 0 ? sizeof(payload) : 600);

        if (type == INGEST_RTMP_MSG_CHUNK_SIZE
            || type == INGEST_RTMP_MSG_ABORT)
        {
            type = 9;
        }

        total += ingest_rtmp_write(&w, buf + total, (4 << 20) - total, csid,
                                   type, (uint32_t) k, ts[k], payload, len);
        n++;
    }

    for (i = 0; i < 6; i++) {
        msgs_free(&msgs);

        CHECK_INT(read_all(buf, total, i == 0 ? 1 : (i == 1 ? total : 0), i,
                           &msgs, &skipped), 0);

        /* messages above INGEST_RTMP_MAX_MESSAGE are skipped */
        CHECK_U64(msgs.n + skipped, n);
    }

    /* the same sequence again, compared message by message */

    seed = 11;

    for (i = 0; i < sizeof(payload); i++) {
        (void) test_rand(&seed);
    }

    for (k = 0; k < 8; k++) {
        ts[k] = 0;
    }

    bad = 0;

    for (i = 0, n = 0; i < 300 && n < msgs.n; i++) {
        size_t  j;

        if (i % 50 == 25) {
            size = 1 + test_rand(&seed) % 5000;

            if (msgs.m[n].type != INGEST_RTMP_MSG_CHUNK_SIZE) {
                bad++;
            }

            n++;
        }

        j = test_rand(&seed) % 7;
        csid = (unsigned[]) { 3, 4, 6, 63, 64, 300, 40000 }[j];
        type = 8 + test_rand(&seed) % 12;
        ts[j] += test_rand(&seed) % 100;

        if (i % 37 == 0) {
            ts[j] += 0x1000000;
        }

        if (i % 41 == 0 && ts[j] > 50) {
            ts[j] -= 50;
        }

        len = test_rand(&seed) % (i % 10 == 0 ? sizeof(payload) : 600);

        if (type == INGEST_RTMP_MSG_CHUNK_SIZE
            || type == INGEST_RTMP_MSG_ABORT)
        {
            type = 9;
        }

        if (len > INGEST_RTMP_MAX_MESSAGE) {
            continue;
        }

        if (msgs.m[n].type != type || msgs.m[n].csid != csid
            || msgs.m[n].msid != j || msgs.m[n].timestamp != ts[j]
            || msgs.m[n].len != len
            || memcmp(msgs.m[n].data, payload, len) != 0)
        {
            bad++;
        }

        n++;
    }

    CHECK_INT(bad, 0);
    CHECK_INT(n, msgs.n);

    msgs_free(&msgs);
    free(buf);
}


/* what our writer never sends: fmt 2, fmt 3 starting a message, Abort,
 * protocol errors */

static void
test_reader(void)
{
    size_t         n;
    unsigned char  b2[256];

    /* fmt 0 (ts 100, len 2, type 9, msid 1), fmt 2 (delta 10),
     * fmt 3 (delta 10 again), fmt 1 (delta 5, len 1, type 8) */

    static const unsigned char  b1[] =
        "\x05\x00\x00\x64\x00\x00\x02\x09\x01\x00\x00\x00" "ab"
        "\x85\x00\x00\x0a" "cd"
        "\xc5" "ef"
        "\x45\x00\x00\x05\x00\x00\x01\x08" "g";


    /* extended timestamp on fmt 0 and on the fmt 3 that continues it,
     * with a chunk size of 4 */

    static const unsigned char  b3[] =
        "\x02\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00"
        "\x00\x00\x00\x04"
        "\x07\xff\xff\xff\x00\x00\x06\x09\x01\x00\x00\x00"
        "\x12\x34\x56\x78" "abcd"
        "\xc7\x12\x34\x56\x78" "ef";

    msgs_free(&msgs);
    CHECK_INT(read_all(b1, sizeof(b1) - 1, 1, 0, &msgs, NULL), 0);
    CHECK_INT(msgs.n, 4);
    CHECK(msg_is(&msgs.m[0], 9, "ab", 2) && msgs.m[0].timestamp == 100);
    CHECK(msg_is(&msgs.m[1], 9, "cd", 2) && msgs.m[1].timestamp == 110);
    CHECK(msg_is(&msgs.m[2], 9, "ef", 2) && msgs.m[2].timestamp == 120);
    CHECK(msg_is(&msgs.m[3], 8, "g", 1) && msgs.m[3].timestamp == 125);
    CHECK_INT(msgs.m[3].msid, 1);

    /* a message cut by Abort after its first chunk, then a whole one */

    n = 0;
    memcpy(b2, "\x06\x00\x00\x00\x00\x01\x00\x09\x01\x00\x00\x00",
           12);
    memset(b2 + 12, 'x', 128);
    n = 140;
    memcpy(b2 + n, "\x02\x00\x00\x00\x00\x00\x04\x02\x00\x00\x00\x00"
           "\x00\x00\x00\x06", 16);
    n += 16;
    memcpy(b2 + n, "\x46\x00\x00\x01\x00\x00\x02\x09" "yz", 10);
    n += 10;

    msgs_free(&msgs);
    CHECK_INT(read_all(b2, n, 0, 5, &msgs, NULL), 0);
    CHECK_INT(msgs.n, 2);
    CHECK_INT(msgs.m[0].type, INGEST_RTMP_MSG_ABORT);
    CHECK(msg_is(&msgs.m[1], 9, "yz", 2) && msgs.m[1].timestamp == 1);

    /* without the Abort, the fmt 1 chunk would go on with the message:
     * a fmt 1 header in the middle of a message starts it anew */

    memmove(b2 + 140, b2 + 156, 10);
    msgs_free(&msgs);
    CHECK_INT(read_all(b2, 150, 0, 5, &msgs, NULL), 0);
    CHECK_INT(msgs.n, 1);
    CHECK(msg_is(&msgs.m[0], 9, "yz", 2));

    msgs_free(&msgs);
    CHECK_INT(read_all(b3, sizeof(b3) - 1, 3, 0, &msgs, NULL), 0);
    CHECK_INT(msgs.n, 2);
    CHECK(msg_is(&msgs.m[1], 9, "abcdef", 6)
          && msgs.m[1].timestamp == 0x12345678);

    /* a chunk stream that never started; a chunk size of 0 */

    msgs_free(&msgs);
    CHECK_INT(read_all((const unsigned char *) "\xc9" "a", 2, 0, 1, &msgs,
                       NULL), -1);
    CHECK_INT(read_all((const unsigned char *) "\x49\x00\x00\x00\x00\x00"
                       "\x01\x08" "a", 9, 0, 1, &msgs, NULL), -1);
    CHECK_INT(read_all((const unsigned char *)
                       "\x02\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00"
                       "\x80\x00\x00\x00", 16, 0, 1, &msgs, NULL), -1);
    CHECK_INT(read_all((const unsigned char *)
                       "\x02\x00\x00\x00\x00\x00\x02\x01\x00\x00\x00\x00"
                       "\x00\x01", 14, 0, 1, &msgs, NULL), -1);

    /* many chunk streams one after the other are fine; more than
     * INGEST_RTMP_READER_STREAMS with a message half read are not */

    {
        size_t                 i;
        unsigned char          many[20 * 13], half[140];
        ingest_rtmp_reader_t  *r;

        r = malloc(sizeof(ingest_rtmp_reader_t));
        if (r == NULL) {
            exit(2);
        }

        ingest_rtmp_reader_init(r);

        for (i = 0; i < 20; i++) {
            memcpy(many + i * 13, "\x00\x00\x00\x00\x00\x00\x01\x09\x01"
                   "\x00\x00\x00" "a", 13);
            many[i * 13] = (unsigned char) (3 + i);
        }

        msgs_free(&msgs);
        CHECK_INT(read_all(many, sizeof(many), 0, 1, &msgs, NULL), 0);
        CHECK_INT(msgs.n, 20);

        /* 200-byte messages cut after their first 128-byte chunk */

        msgs_free(&msgs);

        for (i = 0; i <= INGEST_RTMP_READER_STREAMS; i++) {
            memcpy(half, "\x00\x00\x00\x00\x00\x00\xc8\x09\x01\x00"
                   "\x00\x00", 12);
            half[0] = (unsigned char) (3 + i);
            memset(half + 12, 'h', 128);

            CHECK_INT(ingest_rtmp_read(r, half, 140, on_msg, &msgs),
                      i < INGEST_RTMP_READER_STREAMS ? 0 : -1);
        }

        CHECK_INT(msgs.n, 0);
        free(r);
    }

    /* the handler stops the reader */

    msgs_free(&msgs);
    msgs.stop = 1;
    CHECK_INT(read_all(b1, sizeof(b1) - 1, 0, 1, &msgs, NULL), -1);
    CHECK_INT(msgs.n, 1);

    /* header split anywhere: the same */

    for (n = 1; n < 20; n++) {
        msgs_free(&msgs);
        CHECK_INT(read_all(b1, sizeof(b1) - 1, n, 0, &msgs, NULL), 0);
        CHECK_INT(msgs.n, 4);
    }

    msgs_free(&msgs);
}


static void
test_handshake(void)
{
    size_t         i;
    unsigned char  rnd[1528], c0c1[1537], s[3073], c2[1536];

    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (unsigned char) (i * 13 + 7);
    }

    CHECK_INT(ingest_rtmp_handshake_c0c1(c0c1, 0x01020304, rnd), 1537);
    CHECK_INT(c0c1[0], 3);
    CHECK(memcmp(c0c1 + 1, "\x01\x02\x03\x04\0\0\0\0", 8) == 0);
    CHECK(memcmp(c0c1 + 9, rnd, sizeof(rnd)) == 0);

    /* S1: the server's; S2: C1 echoed (time2 may differ) */

    s[0] = 3;

    for (i = 0; i < 1536; i++) {
        s[1 + i] = (unsigned char) (i * 31);
    }

    memcpy(s + 1537, c0c1 + 1, 1536);
    s[1537 + 4] = 0x55;

    CHECK_INT(ingest_rtmp_handshake_s0s1s2(s, c0c1 + 1, c2), 0);
    CHECK(memcmp(c2, s + 1, 1536) == 0);

    s[1537 + 100] ^= 1;
    CHECK_INT(ingest_rtmp_handshake_s0s1s2(s, c0c1 + 1, c2), 1);

    s[0] = 6;
    CHECK_INT(ingest_rtmp_handshake_s0s1s2(s, c0c1 + 1, c2), -1);
}


static void
test_url(void)
{
    size_t             i;
    char               longer[1200];
    ingest_rtmp_url_t  u;

    static const char  *bad[] = {
        "http://h/live/s", "rtmp:/h/live/s", "rtmp://h", "rtmp://h/",
        "rtmp://h/live", "rtmp://h/live/", "rtmp://h//s", "rtmp://h/a//s",
        "rtmp:///live/s", "rtmp://h:/live/s", "rtmp://h:0/live/s",
        "rtmp://h:65536/live/s", "rtmp://h:12a/live/s",
        "rtmp://h:1234567/live/s", "rtmp://u@h/live/s",
        "rtmp://h/live/s#f", "rtmp://h/live/a b", "rtmp://[::1/live/s",
        "rtmp://[]/live/s", "rtmp://[::g]/live/s", "rtmp://[::1]x/live/s",
        "rtmp://h?x/live/s", "rtmp://h$/live/s", "rtmp://h/live?x/s",
        "rtmp://h/live/s\x01", "rtmps://h/live/s", ""
    };

    CHECK_INT(ingest_rtmp_url_parse((const unsigned char *)
                                    "rtmp://localhost/live/cam1", 26, &u),
              0);
    CHECK(strcmp(u.host, "localhost") == 0);
    CHECK_INT(u.port, 1935);
    CHECK(strcmp(u.app, "live") == 0);
    CHECK(strcmp(u.stream, "cam1") == 0);
    CHECK(strcmp(u.tc_url, "rtmp://localhost/live") == 0);

#define URL(s)  ingest_rtmp_url_parse((const unsigned char *) s,              \
                                      sizeof(s) - 1, &u)

    CHECK_INT(URL("RTMP://10.0.0.1:1936/app/inst/key?token=a/b&x=1"), 0);
    CHECK(strcmp(u.host, "10.0.0.1") == 0);
    CHECK_INT(u.port, 1936);
    CHECK(strcmp(u.app, "app/inst") == 0);
    CHECK(strcmp(u.stream, "key?token=a/b&x=1") == 0);
    CHECK(strcmp(u.tc_url, "rtmp://10.0.0.1:1936/app/inst") == 0);

    CHECK_INT(URL("rtmp://[::1]:19350/live/s"), 0);
    CHECK(strcmp(u.host, "::1") == 0);
    CHECK_INT(u.port, 19350);
    CHECK(strcmp(u.tc_url, "rtmp://[::1]:19350/live") == 0);

    CHECK_INT(URL("rtmp://[2001:db8::1]/live/s"), 0);
    CHECK(strcmp(u.host, "2001:db8::1") == 0);
    CHECK_INT(u.port, 1935);

    CHECK_INT(URL("rtmp://h:65535/a/b"), 0);
    CHECK_INT(u.port, 65535);
    CHECK_INT(URL("rtmp://my-host.example_x.com/a/b?"), 0);
    CHECK(strcmp(u.stream, "b?") == 0);

#undef URL

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char  *p;

        p = test_dup(bad[i], strlen(bad[i]));

        if (ingest_rtmp_url_parse(p, strlen(bad[i]), &u) != -1) {
            TEST_FAIL("accepted %s", bad[i]);

        } else {
            test_passed++;
        }

        free(p);
    }

    /* lengths */

    memcpy(longer, "rtmp://", 7);
    memset(longer + 7, 'h', 256);
    memcpy(longer + 7 + 256, "/a/b", 4);
    CHECK_INT(ingest_rtmp_url_parse((unsigned char *) longer, 267, &u), -1);
    CHECK_INT(ingest_rtmp_url_parse((unsigned char *) longer + 1, 266, &u),
              -1);

    memcpy(longer, "rtmp://h/a/", 11);
    memset(longer + 11, 's', 1024);
    CHECK_INT(ingest_rtmp_url_parse((unsigned char *) longer, 11 + 1024,
                                    &u), -1);
    CHECK_INT(ingest_rtmp_url_parse((unsigned char *) longer, 11 + 1023,
                                    &u), 0);
    CHECK_INT(strlen(u.stream), 1023);

    memcpy(longer, "rtmp://h/", 9);
    memset(longer + 9, 'a', 256);
    memcpy(longer + 9 + 256, "/s", 2);
    CHECK_INT(ingest_rtmp_url_parse((unsigned char *) longer, 267, &u), -1);
    CHECK_INT(ingest_rtmp_url_parse((unsigned char *) longer, 266, &u), -1);
    memcpy(longer + 9 + 255, "/s", 2);
    CHECK_INT(ingest_rtmp_url_parse((unsigned char *) longer, 266, &u), 0);
    CHECK_INT(strlen(u.app), 255);
}


static void
server_init(server_t *s)
{
    ingest_rtmp_writer_init(&s->w, 128);
    ingest_rtmp_reader_init(&s->r);
    msgs_free(&s->got);
    s->len = 0;
}


static void
server_send(server_t *s, unsigned csid, unsigned type, uint32_t msid,
    const void *p, size_t len)
{
    size_t  n;

    n = ingest_rtmp_write(&s->w, s->buf + s->len, sizeof(s->buf) - s->len,
                          csid, type, msid, 0, p, len);
    if (n == 0) {
        TEST_FAIL("%s", "server buffer full");
    }

    s->len += n;
}


/* a command as nginx-rtmp writes it: name, tid, null, then an info
 * object (code/level) or a number */

static void
server_cmd(server_t *s, const char *name, double tid, const char *code,
    const char *level, double number)
{
    unsigned char         buf[512];
    ingest_amf0_writer_t  w;

    ingest_amf0_writer_init(&w, buf, sizeof(buf));
    ingest_amf0_cstring(&w, name);
    ingest_amf0_number(&w, tid);
    ingest_amf0_null(&w);

    if (code != NULL) {
        ingest_amf0_object_start(&w);
        ingest_amf0_key(&w, "level");
        ingest_amf0_cstring(&w, level);
        ingest_amf0_key(&w, "code");
        ingest_amf0_cstring(&w, code);
        ingest_amf0_key(&w, "description");
        ingest_amf0_cstring(&w, "said the server");
        ingest_amf0_object_end(&w);

    } else {
        ingest_amf0_number(&w, number);
    }

    server_send(s, 3, INGEST_RTMP_MSG_AMF0_CMD, 0, buf,
                ingest_amf0_length(&w));
}


/* the server's pending bytes to the client, what the client answers
 * to the server's reader */

static ingest_rtmp_rc_t
feed(ingest_rtmp_client_t *c, server_t *s, size_t slice, unsigned char *o,
    size_t cap)
{
    size_t            off, n, olen;
    ingest_rtmp_rc_t  rc, last;

    last = INGEST_RTMP_AGAIN;

    for (off = 0; off < s->len; off += n) {
        n = s->len - off;
        if (slice != 0 && n > slice) {
            n = slice;
        }

        rc = ingest_rtmp_client_feed(c, s->buf + off, n, o, cap, &olen);

        if (olen > 0
            && ingest_rtmp_read(&s->r, o, olen, on_msg, &s->got) != 0)
        {
            TEST_FAIL("%s", "server cannot read the client");
        }

        if (rc != INGEST_RTMP_AGAIN) {
            last = rc;
        }

        if (rc == INGEST_RTMP_ERROR) {
            break;
        }
    }

    s->len = 0;

    return last;
}


/*
 * A publish from handshake to NetStream.Publish.Start (or BadName),
 * the server's messages as nginx-rtmp sends them.
 */

static ingest_rtmp_rc_t
session(ingest_rtmp_client_t *c, server_t *s, size_t slice, int reject)
{
    size_t                     i, n, olen;
    unsigned char              rnd[1528], hs[3073], cmd[64];
    ingest_rtmp_rc_t           rc;
    ingest_amf0_reader_t       r;
    ingest_rtmp_client_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.app = "live";
    conf.tc_url = "rtmp://127.0.0.1:1935/live";
    conf.stream = "cam1?token=abc";

    CHECK_INT(ingest_rtmp_client_init(c, &conf), 0);
    CHECK_INT(c->state, INGEST_RTMP_ST_INIT);

    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (unsigned char) (i ^ 0x5a);
    }

    n = ingest_rtmp_client_start(c, 1000, rnd, out, sizeof(out));
    CHECK_INT(n, 1537);
    CHECK_INT(out[0], 3);
    CHECK_INT(c->state, INGEST_RTMP_ST_HANDSHAKE);

    /* nginx-rtmp's answer to a C1 without digest: C1 back, twice */

    server_init(s);

    hs[0] = 3;
    memcpy(hs + 1, out + 1, 1536);
    memcpy(hs + 1537, out + 1, 1536);
    memcpy(s->buf, hs, sizeof(hs));
    s->len = sizeof(hs);

    /* the handshake bytes, then C2 + Set Chunk Size + connect out */

    rc = ingest_rtmp_client_feed(c, s->buf, 1000, out, sizeof(out), &olen);
    CHECK_INT(rc, INGEST_RTMP_AGAIN);
    CHECK_INT(olen, 0);

    rc = ingest_rtmp_client_feed(c, s->buf + 1000, sizeof(hs) - 1000, out,
                                 sizeof(out), &olen);
    CHECK_INT(rc, INGEST_RTMP_AGAIN);
    CHECK_INT(c->state, INGEST_RTMP_ST_CONNECT);
    CHECK_INT(c->s2_mismatch, 0);
    CHECK(olen > 1536);
    CHECK(memcmp(out, hs + 1, 1536) == 0);

    s->len = 0;
    CHECK_INT(ingest_rtmp_read(&s->r, out + 1536, olen - 1536, on_msg,
                               &s->got), 0);

    CHECK_INT(s->got.n, 2);
    CHECK(msg_is(&s->got.m[0], INGEST_RTMP_MSG_CHUNK_SIZE, "\0\0\x10\0", 4));
    CHECK_INT(s->got.m[1].type, INGEST_RTMP_MSG_AMF0_CMD);
    CHECK_INT(s->got.m[1].msid, 0);

    ingest_amf0_reader_init(&r, s->got.m[1].data, s->got.m[1].len);
    CHECK(amf_str(&r, "connect"));
    CHECK(amf_num(&r, 1));

    {
        ingest_amf0_value_t  obj, v;

        CHECK_INT(ingest_amf0_read(&r, &obj), 1);
        CHECK_INT(ingest_amf0_get(&obj, "app", &v), 1);
        CHECK_MEM(v.str.data, v.str.len, "live");
        CHECK_INT(ingest_amf0_get(&obj, "tcUrl", &v), 1);
        CHECK_MEM(v.str.data, v.str.len, "rtmp://127.0.0.1:1935/live");
        CHECK_INT(ingest_amf0_get(&obj, "type", &v), 1);
        CHECK_MEM(v.str.data, v.str.len, "nonprivate");
        CHECK_INT(ingest_amf0_get(&obj, "flashVer", &v), 1);
        CHECK(v.str.len > 5);
    }

    msgs_free(&s->got);

    /* connect's answer: window, bandwidth, chunk size, _result,
     * onBWDone */

    memcpy(cmd, "\x00\x4c\x4b\x40", 4);
    server_send(s, 2, INGEST_RTMP_MSG_ACK_SIZE, 0, cmd, 4);
    memcpy(cmd, "\x00\x4c\x4b\x40\x02", 5);
    server_send(s, 2, INGEST_RTMP_MSG_BANDWIDTH, 0, cmd, 5);
    memcpy(cmd, "\x00\x00\x10\x00", 4);
    server_send(s, 2, INGEST_RTMP_MSG_CHUNK_SIZE, 0, cmd, 4);
    s->w.chunk_size = 4096;

    if (reject == 1) {
        server_cmd(s, "_error", 1, "NetConnection.Connect.Rejected",
                   "error", 0);
        return feed(c, s, slice, out, sizeof(out));
    }

    server_cmd(s, "_result", 1, "NetConnection.Connect.Success", "status",
               0);
    server_cmd(s, "onBWDone", 0, NULL, NULL, 8192);

    rc = feed(c, s, slice, out, sizeof(out));
    CHECK_INT(rc, INGEST_RTMP_AGAIN);
    CHECK_INT(c->state, INGEST_RTMP_ST_CREATE_STREAM);
    CHECK_INT(c->ack_window, 5000000);

    /* Window Ack Size back, releaseStream, FCPublish, createStream */

    CHECK_INT(s->got.n, 4);
    CHECK(msg_is(&s->got.m[0], INGEST_RTMP_MSG_ACK_SIZE, "\x00\x4c\x4b\x40",
                 4));

    ingest_amf0_reader_init(&r, s->got.m[1].data, s->got.m[1].len);
    CHECK(amf_str(&r, "releaseStream") && amf_num(&r, 2));
    ingest_amf0_reader_init(&r, s->got.m[2].data, s->got.m[2].len);
    CHECK(amf_str(&r, "FCPublish") && amf_num(&r, 3));
    {
        ingest_amf0_value_t  v;

        CHECK(ingest_amf0_read(&r, &v) == 1 && v.type == INGEST_AMF0_NULL);
    }
    CHECK(amf_str(&r, "cam1?token=abc"));
    ingest_amf0_reader_init(&r, s->got.m[3].data, s->got.m[3].len);
    CHECK(amf_str(&r, "createStream") && amf_num(&r, 4));

    msgs_free(&s->got);

    /* releaseStream's answer (ignored), onFCPublish, createStream's */

    server_cmd(s, "_result", 2, NULL, NULL, 0);
    server_cmd(s, "onFCPublish", 0, "NetStream.Publish.Start", "status", 0);

    if (reject == 2) {
        server_cmd(s, "_error", 4, "createStream.Failed", "error", 0);
        return feed(c, s, slice, out, sizeof(out));
    }

    server_cmd(s, "_result", 4, NULL, NULL, stream_id);

    if (reject == 4) {
        return feed(c, s, slice, out, sizeof(out));
    }

    rc = feed(c, s, slice, out, sizeof(out));
    CHECK_INT(rc, INGEST_RTMP_AGAIN);
    CHECK_INT(c->state, INGEST_RTMP_ST_PUBLISH);
    CHECK_INT(c->stream_id, 1);

    CHECK_INT(s->got.n, 1);
    CHECK_INT(s->got.m[0].msid, 1);
    ingest_amf0_reader_init(&r, s->got.m[0].data, s->got.m[0].len);
    CHECK(amf_str(&r, "publish") && amf_num(&r, 5));
    {
        ingest_amf0_value_t  v;

        CHECK(ingest_amf0_read(&r, &v) == 1 && v.type == INGEST_AMF0_NULL);
    }
    CHECK(amf_str(&r, "cam1?token=abc") && amf_str(&r, "live"));

    msgs_free(&s->got);

    /* Stream Begin, then onStatus */

    memcpy(cmd, "\x00\x00\x00\x00\x00\x01", 6);
    server_send(s, 2, INGEST_RTMP_MSG_USER, 0, cmd, 6);

    if (reject == 3) {
        server_cmd(s, "onStatus", 0, "NetStream.Publish.BadName", "error",
                   0);
        return feed(c, s, slice, out, sizeof(out));
    }

    server_cmd(s, "onStatus", 0, "NetStream.Publish.Start", "status", 0);

    return feed(c, s, slice, out, sizeof(out));
}


static void
test_client(void)
{
    size_t                 n, slice;
    unsigned char          cmd[8];
    ingest_rtmp_rc_t       rc;
    ingest_amf0_reader_t   r;
    ingest_amf0_value_t    v, x;
    ingest_rtmp_client_t  *c;
    ingest_rtmp_meta_t     meta;

    c = malloc(sizeof(ingest_rtmp_client_t));
    if (c == NULL) {
        exit(2);
    }

    for (slice = 0; slice < 40; slice += 13) {
        rc = session(c, &srv, slice, 0);
        CHECK_INT(rc, INGEST_RTMP_PUBLISHING);
        CHECK_INT(c->state, INGEST_RTMP_ST_PUBLISHING);
        CHECK(strcmp(c->status, "NetStream.Publish.Start") == 0);
        msgs_free(&srv.got);
    }

    /* PUBLISHING is said once */

    server_cmd(&srv, "onStatus", 0, "NetStream.Publish.Start", "status", 0);
    CHECK_INT(feed(c, &srv, 0, out, sizeof(out)), INGEST_RTMP_AGAIN);

    /* metadata and media go to the stream */

    memset(&meta, 0, sizeof(meta));
    meta.width = 320;
    meta.height = 240;
    meta.framerate = 25;
    meta.video = 1;
    meta.audio = 1;
    meta.sample_rate = 48000;
    meta.channels = 1;

    n = ingest_rtmp_client_metadata(c, &meta, out, sizeof(out));
    CHECK(n > 0);
    CHECK_INT(ingest_rtmp_read(&srv.r, out, n, on_msg, &srv.got), 0);

    n = ingest_rtmp_client_media(c, INGEST_RTMP_MSG_VIDEO, 40,
                                 (const unsigned char *) "\x17\x01\0\0\0",
                                 5, out, sizeof(out));
    CHECK_INT(n, 12 + 5);
    CHECK_INT(ingest_rtmp_read(&srv.r, out, n, on_msg, &srv.got), 0);

    n = ingest_rtmp_client_media(c, INGEST_RTMP_MSG_AUDIO, 41,
                                 (const unsigned char *) "\xaf\x01\x21", 3,
                                 out, sizeof(out));
    CHECK_INT(ingest_rtmp_read(&srv.r, out, n, on_msg, &srv.got), 0);

    CHECK_INT(ingest_rtmp_client_media(c, 18, 0, out, 1, out, 100), 0);

    CHECK_INT(srv.got.n, 3);
    CHECK_INT(srv.got.m[0].type, INGEST_RTMP_MSG_AMF0_DATA);
    CHECK_INT(srv.got.m[0].msid, 1);

    ingest_amf0_reader_init(&r, srv.got.m[0].data, srv.got.m[0].len);
    CHECK(amf_str(&r, "@setDataFrame") && amf_str(&r, "onMetaData"));
    CHECK_INT(ingest_amf0_read(&r, &v), 1);
    CHECK_INT(v.type, INGEST_AMF0_ECMA_ARRAY);
    CHECK_INT(ingest_amf0_get(&v, "width", &x), 1);
    CHECK(x.number == 320);
    CHECK_INT(ingest_amf0_get(&v, "videocodecid", &x), 1);
    CHECK(x.number == 7);
    CHECK_INT(ingest_amf0_get(&v, "audiocodecid", &x), 1);
    CHECK(x.number == 10);
    CHECK_INT(ingest_amf0_get(&v, "stereo", &x), 1);
    CHECK(x.type == INGEST_AMF0_BOOLEAN && x.boolean == 0);
    CHECK_INT(ingest_amf0_get(&v, "videodatarate", &x), 0);

    {
        /* the ECMA count matches the properties */
        size_t        k;
        ingest_str_t  key;

        ingest_amf0_reader_init(&r, v.body.data, v.body.len);
        for (k = 0; ingest_amf0_next_prop(&r, &key, &x) == 1; k++) {
            /* void */
        }

        CHECK_INT(k, v.count);
    }

    CHECK(msg_is(&srv.got.m[1], INGEST_RTMP_MSG_VIDEO, "\x17\x01\0\0\0", 5));
    CHECK_INT(srv.got.m[1].msid, 1);
    CHECK_INT(srv.got.m[1].timestamp, 40);
    CHECK(msg_is(&srv.got.m[2], INGEST_RTMP_MSG_AUDIO, "\xaf\x01\x21", 3));
    CHECK_INT(srv.got.m[2].timestamp, 41);

    msgs_free(&srv.got);

    /* a ping is answered */

    memcpy(cmd, "\x00\x06\x00\x00\x12\x34", 6);
    server_send(&srv, 2, INGEST_RTMP_MSG_USER, 0, cmd, 6);
    CHECK_INT(feed(c, &srv, 0, out, sizeof(out)), INGEST_RTMP_AGAIN);
    CHECK_INT(srv.got.n, 1);
    CHECK(msg_is(&srv.got.m[0], INGEST_RTMP_MSG_USER, "\x00\x07\x00\x00\x12"
                 "\x34", 6));
    msgs_free(&srv.got);

    /* a small window: acknowledgements of what came in */

    memcpy(cmd, "\x00\x00\x00\x40", 4);
    server_send(&srv, 2, INGEST_RTMP_MSG_ACK_SIZE, 0, cmd, 4);
    server_cmd(&srv, "onStatus", 0, "NetStream.Data.Start", "status", 0);
    CHECK_INT(feed(c, &srv, 0, out, sizeof(out)), INGEST_RTMP_AGAIN);
    CHECK_INT(srv.got.n, 1);
    CHECK_INT(srv.got.m[0].type, INGEST_RTMP_MSG_ACK);
    {
        uint32_t  acked;

        acked = (uint32_t) srv.got.m[0].data[0] << 24
                | (uint32_t) srv.got.m[0].data[1] << 16
                | (uint32_t) srv.got.m[0].data[2] << 8
                | srv.got.m[0].data[3];
        CHECK_U64(acked, c->reader.bytes);
    }
    msgs_free(&srv.got);

    /* an error while publishing ends it */

    server_cmd(&srv, "onStatus", 0, "NetStream.Publish.Failed", "error", 0);
    CHECK_INT(feed(c, &srv, 0, out, sizeof(out)), INGEST_RTMP_REJECTED);
    CHECK(strcmp(c->status, "NetStream.Publish.Failed") == 0);
    CHECK(strcmp(c->description, "said the server") == 0);
    CHECK_INT(ingest_rtmp_client_media(c, INGEST_RTMP_MSG_AUDIO, 0, out, 1,
                                       out, sizeof(out)), 0);

    /* a clean goodbye */

    rc = session(c, &srv, 0, 0);
    CHECK_INT(rc, INGEST_RTMP_PUBLISHING);
    msgs_free(&srv.got);

    n = ingest_rtmp_client_close(c, out, sizeof(out));
    CHECK(n > 0);
    CHECK_INT(ingest_rtmp_read(&srv.r, out, n, on_msg, &srv.got), 0);
    CHECK_INT(srv.got.n, 2);
    ingest_amf0_reader_init(&r, srv.got.m[0].data, srv.got.m[0].len);
    CHECK(amf_str(&r, "FCUnpublish"));
    ingest_amf0_reader_init(&r, srv.got.m[1].data, srv.got.m[1].len);
    CHECK(amf_str(&r, "deleteStream"));
    CHECK_INT(c->state, INGEST_RTMP_ST_FAILED);
    msgs_free(&srv.got);

    CHECK(strcmp(ingest_rtmp_state_name(INGEST_RTMP_ST_PUBLISHING),
                 "publishing") == 0);
    CHECK(strcmp(ingest_rtmp_state_name((ingest_rtmp_state_t) 99),
                 "unknown") == 0);

    free(c);
}


static void
test_client_errors(void)
{
    size_t                     olen;
    unsigned char              rnd[1528], hs[3073];
    ingest_rtmp_client_t      *c;
    ingest_rtmp_client_conf_t  conf;
    char                       longname[1100];

    c = malloc(sizeof(ingest_rtmp_client_t));
    if (c == NULL) {
        exit(2);
    }

    /* rejected: connect, createStream, publish (BadName) */

    CHECK_INT(session(c, &srv, 0, 1), INGEST_RTMP_REJECTED);
    CHECK(strcmp(c->status, "NetConnection.Connect.Rejected") == 0);
    msgs_free(&srv.got);

    CHECK_INT(session(c, &srv, 7, 2), INGEST_RTMP_REJECTED);
    CHECK(strcmp(c->status, "createStream.Failed") == 0);
    msgs_free(&srv.got);

    CHECK_INT(session(c, &srv, 1, 3), INGEST_RTMP_REJECTED);
    CHECK(strcmp(c->status, "NetStream.Publish.BadName") == 0);
    CHECK(strcmp(c->description, "said the server") == 0);
    CHECK_INT(ingest_rtmp_client_feed(c, rnd, 1, out, sizeof(out), &olen),
              INGEST_RTMP_REJECTED);
    msgs_free(&srv.got);

    /* configuration */

    memset(&conf, 0, sizeof(conf));
    conf.app = "live";
    conf.tc_url = "rtmp://h/live";
    CHECK_INT(ingest_rtmp_client_init(c, &conf), -1);
    conf.stream = "";
    CHECK_INT(ingest_rtmp_client_init(c, &conf), -1);

    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    conf.stream = longname;
    CHECK_INT(ingest_rtmp_client_init(c, &conf), -1);

    conf.stream = "s";
    CHECK_INT(ingest_rtmp_client_init(c, &conf), 0);

    /* feed before start; start twice; a server of another version */

    CHECK_INT(ingest_rtmp_client_feed(c, rnd, 1, out, sizeof(out), &olen),
              INGEST_RTMP_ERROR);

    memset(rnd, 7, sizeof(rnd));
    CHECK_INT(ingest_rtmp_client_start(c, 0, rnd, out, 100), 0);
    CHECK_INT(ingest_rtmp_client_start(c, 0, rnd, out, sizeof(out)), 1537);
    CHECK_INT(ingest_rtmp_client_start(c, 0, rnd, out, sizeof(out)), 0);

    memset(hs, 0, sizeof(hs));
    hs[0] = 6;
    CHECK_INT(ingest_rtmp_client_feed(c, hs, sizeof(hs), out, sizeof(out),
                                      &olen), INGEST_RTMP_ERROR);

    /* S2 not echoing C1: noted, not fatal */

    CHECK_INT(ingest_rtmp_client_init(c, &conf), 0);
    CHECK_INT(ingest_rtmp_client_start(c, 0, rnd, out, sizeof(out)), 1537);
    hs[0] = 3;
    CHECK_INT(ingest_rtmp_client_feed(c, hs, sizeof(hs), out, sizeof(out),
                                      &olen), INGEST_RTMP_AGAIN);
    CHECK_INT(c->s2_mismatch, 1);
    CHECK_INT(c->state, INGEST_RTMP_ST_CONNECT);

    /* the server breaks the chunk protocol */

    CHECK_INT(ingest_rtmp_client_feed(c, (const unsigned char *) "\xc9" "a",
                                      2, out, sizeof(out), &olen),
              INGEST_RTMP_ERROR);

    /* no room for C2 */

    CHECK_INT(ingest_rtmp_client_init(c, &conf), 0);
    CHECK_INT(ingest_rtmp_client_start(c, 0, rnd, out, sizeof(out)), 1537);
    CHECK_INT(ingest_rtmp_client_feed(c, hs, sizeof(hs), out, 1600, &olen),
              INGEST_RTMP_ERROR);

    /* bad stream ids from createStream */

    {
        size_t               i;

        static const double  ids[] = { 0, -1, 1.5, 5e9 };

        for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
            stream_id = ids[i];
            CHECK_INT(session(c, &srv, 0, 4), INGEST_RTMP_REJECTED);
            CHECK(strcmp(c->status, "createStream.BadStreamId") == 0);
            msgs_free(&srv.got);
        }

        stream_id = 7;
        CHECK_INT(session(c, &srv, 0, 4), INGEST_RTMP_AGAIN);
        CHECK_INT(c->stream_id, 7);
        CHECK_INT(c->state, INGEST_RTMP_ST_PUBLISH);
        msgs_free(&srv.got);

        stream_id = 1;
    }

    free(c);
}


static void
test_rtmp(void)
{
    test_amf0_encode();
    test_amf0_decode();
    test_amf0_bad();
    test_chunk_bytes();
    test_chunk_roundtrip();
    test_reader();
    test_handshake();
    test_url();
    test_client();
    test_client_errors();
}


TEST_MAIN("test_rtmp", test_rtmp)
