
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_job.h"
#include "ingest_tus.h"
#include "test.h"


#define ID1  "0123456789abcdef0123456789abcdef"


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} json_t;


static void str(ingest_str_t *s, const char *v);
static size_t add_pair(char *m, size_t len, const char *key,
    const void *value, size_t vlen);
static int json_ws(json_t *j);
static int json_string(json_t *j);
static int json_value(json_t *j, int depth);
static int json_valid(const unsigned char *p, size_t len);
static size_t escape(const char *in, size_t len, unsigned char *out,
    size_t cap);
static void job_init(ingest_job_t *job);
static const char *job_content_type(const char *ct, const char *meta);
static void test_json_checker(void);
static void test_escape(void);
static void test_job_full(void);
static void test_job_defaults(void);
static void test_content_type(void);
static void test_metadata_values(void);
static void test_cap(void);
static void test_random(void);
static void test_job(void);


static unsigned char  out[1 << 20];
static char           mbuf[1 << 16];


static void
str(ingest_str_t *s, const char *v)
{
    s->data = (const unsigned char *) v;
    s->len = (v != NULL) ? strlen(v) : 0;
}


/* appends "key base64(value)" to the metadata in m */

static size_t
add_pair(char *m, size_t len, const char *key, const void *value, size_t vlen)
{
    if (len != 0) {
        m[len++] = ',';
    }

    memcpy(m + len, key, strlen(key));
    len += strlen(key);

    if (value != NULL) {
        m[len++] = ' ';
        len += ingest_base64_encode((unsigned char *) m + len, value, vlen);
    }

    m[len] = '\0';

    return len;
}


/* a strict little JSON checker: RFC 8259 with valid UTF-8 strings */

static int
json_ws(json_t *j)
{
    while (j->p < j->end
           && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n'
               || *j->p == '\r'))
    {
        j->p++;
    }

    return j->p < j->end;
}


static int
json_string(json_t *j)
{
    int       k, n;
    unsigned  c, c1;

    if (j->p == j->end || *j->p++ != '"') {
        return 0;
    }

    while (j->p < j->end) {
        c = *j->p++;

        if (c == '"') {
            return 1;
        }

        if (c < 0x20) {
            return 0;
        }

        if (c == '\\') {
            if (j->p == j->end) {
                return 0;
            }

            c = *j->p++;

            if (c == 'u') {
                for (k = 0; k < 4; k++) {
                    if (j->p == j->end || strchr("0123456789abcdefABCDEF",
                                                 *j->p) == NULL
                        || *j->p == '\0')
                    {
                        return 0;
                    }

                    j->p++;
                }

            } else if (strchr("\"\\/bfnrt", (int) c) == NULL || c == 0) {
                return 0;
            }

            continue;
        }

        if (c < 0x80) {
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;

        } else {
            return 0;
        }

        if (j->end - j->p < n) {
            return 0;
        }

        c1 = j->p[0];

        if (c1 < 0x80 || c1 > 0xbf
            || (c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f)
            || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f))
        {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if (j->p[k] < 0x80 || j->p[k] > 0xbf) {
                return 0;
            }
        }

        j->p += n;
    }

    return 0;
}


static int
json_value(json_t *j, int depth)
{
    int  first;

    if (depth > 8 || !json_ws(j)) {
        return 0;
    }

    if (*j->p == '"') {
        return json_string(j);
    }

    if (*j->p == '{') {
        j->p++;
        first = 1;

        for ( ;; ) {
            if (!json_ws(j)) {
                return 0;
            }

            if (*j->p == '}') {
                j->p++;
                return 1;
            }

            if (!first) {
                if (*j->p++ != ',' || !json_ws(j)) {
                    return 0;
                }
            }

            first = 0;

            if (!json_string(j) || !json_ws(j) || *j->p++ != ':') {
                return 0;
            }

            if (!json_value(j, depth + 1)) {
                return 0;
            }
        }
    }

    if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return 1;
    }

    if (*j->p == '-') {
        j->p++;
    }

    if (j->p == j->end || *j->p < '0' || *j->p > '9') {
        return 0;
    }

    if (*j->p == '0') {
        j->p++;
        return 1;
    }

    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        j->p++;
    }

    return 1;
}


/* one JSON object followed by exactly one '\n' */

static int
json_valid(const unsigned char *p, size_t len)
{
    json_t  j;

    if (len < 2 || p[len - 1] != '\n' || p[0] != '{') {
        return 0;
    }

    j.p = p;
    j.end = p + len - 1;

    return json_value(&j, 0) && j.p == j.end;
}


static size_t
escape(const char *in, size_t len, unsigned char *o, size_t cap)
{
    size_t          n;
    unsigned char  *p;

    p = test_dup(in, len);
    n = ingest_json_escape(o, cap, p, len);
    free(p);

    return n;
}


static void
job_init(ingest_job_t *job)
{
    memset(job, 0, sizeof(ingest_job_t));

    str(&job->id, ID1);
    str(&job->kind, "upload");
    str(&job->protocol, "tus");
    str(&job->source, "/var/lib/nginx-ingest/uploads/" ID1);
    job->size = 123;
    job->created = 1700000000;
}


/* the content_type a job gets; a static string */

static const char *
job_content_type(const char *ct, const char *meta)
{
    size_t        n;
    char         *s, *e;
    ingest_job_t  job;
    static char   res[512];

    job_init(&job);
    str(&job.content_type, ct);
    str(&job.metadata, meta);

    n = ingest_job_format(&job, out, sizeof(out));

    if (n == 0 || !json_valid(out, n)) {
        return "(error)";
    }

    out[n] = '\0';
    s = strstr((char *) out, "\"content_type\":\"");

    if (s == NULL) {
        return "(none)";
    }

    s += 16;
    e = strstr(s, "\",\"metadata\"");

    if (e == NULL || (size_t) (e - s) >= sizeof(res)) {
        return "(bad)";
    }

    memcpy(res, s, (size_t) (e - s));
    res[e - s] = '\0';

    return res;
}


/* the checker itself must reject what a broken formatter could emit */

static void
test_json_checker(void)
{
    size_t  i;

    static const char  *good[] = {
        "{}\n", "{\"a\":\"b\"}\n", "{\"a\":{\"b\":null},\"c\":-12}\n",
        "{\"\\u00e9\\\"\":\"\xc3\xa9\"}\n"
    };

    static const char  *bad[] = {
        "{}", "{}\n\n", "{\"a\":\"b\"}x\n", "{\"a\":\"\n\"}\n",
        "{\"a\":\"\xff\"}\n", "{\"a\":\"\xc3\"}\n", "{\"a\":\"\\x\"}\n",
        "{\"a\":\"\\u12\"}\n", "{\"a\" \"b\"}\n", "{\"a\":\"b\",}\n",
        "{\"a\":\"b\"\n", "{\"a\":01}\n", "{a:1}\n",
        "{\"a\":\"\xed\xa0\x80\"}\n"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK(json_valid((const unsigned char *) good[i], strlen(good[i])));
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (json_valid((const unsigned char *) bad[i], strlen(bad[i]))) {
            TEST_FAIL("json checker accepted %zu", i);

        } else {
            test_passed++;
        }
    }
}


static void
test_escape(void)
{
    size_t         n, cap;
    unsigned char  o[256];

    static const struct {
        const char  *in;
        size_t       len;
        const char  *out;
    } t[] = {
        { "", 0, "" },
        { "plain text", 10, "plain text" },
        { "a\"b\\c/d", 7, "a\\\"b\\\\c/d" },
        { "\n\r\t\b\f", 5, "\\u000a\\u000d\\u0009\\u0008\\u000c" },
        { "\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f" },
        { "a\0b", 3, "a\\u0000b" },
        /* valid UTF-8 passes through */
        { "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
          "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
        { "\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", 11,
          "\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf" },
        /* U+2028 is valid JSON */
        { "\xe2\x80\xa8", 3, "\xe2\x80\xa8" },
        /* invalid: each bad byte becomes U+FFFD */
        { "\xff", 1, "\xef\xbf\xbd" },
        { "\x80", 1, "\xef\xbf\xbd" },
        { "a\xfe" "b", 3, "a\xef\xbf\xbd" "b" },
        { "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xc1\xbf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf0\x80\x80\x80", 4,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf4\x90\x80\x80", 4,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf5\x80\x80\x80", 4,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        /* truncated sequences, at the end and before other bytes */
        { "\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xe2\x82x", 3, "\xef\xbf\xbd\xef\xbf\xbdx" },
        { "\xf0\x9f\x98", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xc3", 1, "\xef\xbf\xbd" },
        { "\xc3\"", 2, "\xef\xbf\xbd\\\"" },
        { "\xc3\xa9\xc3", 3, "\xc3\xa9\xef\xbf\xbd" }
    };

    for (n = 0; n < sizeof(t) / sizeof(t[0]); n++) {
        cap = escape(t[n].in, t[n].len, o, sizeof(o));

        if (cap == (size_t) -1 || cap != strlen(t[n].out)
            || memcmp(o, t[n].out, cap) != 0)
        {
            TEST_FAIL("escape %zu", n);

        } else {
            test_passed++;
        }

        /* each cap short of the result fails */

        for (cap = 0; cap < strlen(t[n].out); cap++) {
            if (escape(t[n].in, t[n].len, o, cap) != (size_t) -1) {
                TEST_FAIL("escape %zu with cap %zu", n, cap);
                break;
            }
        }
    }

    CHECK_INT(ingest_json_escape(o, 0, NULL, 0), 0);
    CHECK_INT(ingest_json_escape(NULL, 0, (const unsigned char *) "", 0), 0);
    CHECK_U64(ingest_json_escape(o, 0, (const unsigned char *) "a", 1),
              (size_t) -1);
}


static void
test_job_full(void)
{
    size_t        n;
    ingest_job_t  job;

    job_init(&job);
    str(&job.metadata, "filename YS5tcDQ=,filetype dmlkZW8vbXA0,flag");
    str(&job.owner, "alice");
    str(&job.webhook, "https://hooks.example.com/done?x=1&y=\"2\"");
    str(&job.profile, "hd");

    n = ingest_job_format(&job, out, sizeof(out));
    CHECK_MEM(out, n,
              "{\"version\":1,\"id\":\"" ID1 "\",\"kind\":\"upload\","
              "\"protocol\":\"tus\","
              "\"source\":\"/var/lib/nginx-ingest/uploads/" ID1 "\","
              "\"size\":123,\"content_type\":\"video/mp4\","
              "\"metadata\":{\"filename\":\"a.mp4\","
              "\"filetype\":\"video/mp4\",\"flag\":\"\"},"
              "\"owner\":\"alice\",\"profile\":\"hd\","
              "\"created\":1700000000,"
              "\"webhook\":\"https://hooks.example.com/done?x=1&y=\\\"2\\\"\"}"
              "\n");
    CHECK(json_valid(out, n));
}


static void
test_job_defaults(void)
{
    size_t        n;
    ingest_job_t  job;

    job_init(&job);
    job.kind.len = 0;
    job.size = UINT64_MAX;
    job.created = INT64_MIN;

    n = ingest_job_format(&job, out, sizeof(out));
    CHECK_MEM(out, n,
              "{\"version\":1,\"id\":\"" ID1 "\",\"kind\":\"upload\","
              "\"protocol\":\"tus\","
              "\"source\":\"/var/lib/nginx-ingest/uploads/" ID1 "\","
              "\"size\":18446744073709551615,"
              "\"content_type\":\"application/octet-stream\","
              "\"metadata\":{},\"owner\":null,\"profile\":\"default\","
              "\"created\":-9223372036854775808,\"webhook\":null}\n");
    CHECK(json_valid(out, n));

    /* hostile strings in every field stay inside their JSON strings */

    job_init(&job);
    str(&job.id, "\",\"x\":\"");
    str(&job.source, "/tmp/\n\r\x01\"\\\xff");
    str(&job.owner, "o\"wner");
    str(&job.protocol, "s3");
    str(&job.profile, "\\");
    str(&job.webhook, "\xc0\x80");
    job.created = -1;

    n = ingest_job_format(&job, out, sizeof(out));
    CHECK(n != 0 && json_valid(out, n));
    CHECK_MEM(out, n,
              "{\"version\":1,\"id\":\"\\\",\\\"x\\\":\\\"\","
              "\"kind\":\"upload\",\"protocol\":\"s3\","
              "\"source\":\"/tmp/\\u000a\\u000d\\u0001\\\"\\\\\xef\xbf\xbd\","
              "\"size\":123,\"content_type\":\"application/octet-stream\","
              "\"metadata\":{},\"owner\":\"o\\\"wner\",\"profile\":\"\\\\\","
              "\"created\":-1,"
              "\"webhook\":\"\xef\xbf\xbd\xef\xbf\xbd\"}\n");
}


static void
test_content_type(void)
{
    const char  *ct;

    /* the job's own content type wins */
    ct = job_content_type("video/webm", "filetype dmlkZW8vbXA0");
    CHECK_MEM(ct, strlen(ct), "video/webm");

    /* then filetype, then contentType */
    ct = job_content_type(NULL,
                          "contentType dmlkZW8vcXVpY2t0aW1l,"
                          "filetype dmlkZW8vbXA0");
    CHECK_MEM(ct, strlen(ct), "video/mp4");
    ct = job_content_type(NULL, "contentType dmlkZW8vcXVpY2t0aW1l");
    CHECK_MEM(ct, strlen(ct), "video/quicktime");

    /* a filetype without a value does not count */
    ct = job_content_type(NULL, "filetype,contentType dmlkZW8vcXVpY2t0aW1l");
    CHECK_MEM(ct, strlen(ct), "video/quicktime");

    ct = job_content_type(NULL, "filename YS5tcDQ=");
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type(NULL, NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");

    /* RFC 7230 tchars are fine */
    ct = job_content_type("application/vnd.ms-excel+x!#$%&'*^_`|~", NULL);
    CHECK_MEM(ct, strlen(ct), "application/vnd.ms-excel+x!#$%&'*^_`|~");

    /* anything else is not */

    ct = job_content_type("video/mp4; codecs=avc1", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("video/", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("/mp4", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("video", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("a/b/c", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("text/html\r\nX-Evil: 1", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("../../etc/passwd", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("video/\"mp4\"", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
    ct = job_content_type("vid\xc3\xa9o/mp4", NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");

    /* "text/html; charset=utf-8" as filetype */
    ct = job_content_type(NULL, "filetype dGV4dC9odG1sOyBjaGFyc2V0PXV0Zi04");
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");

    /* "video/mp4\n" as filetype */
    ct = job_content_type(NULL, "filetype dmlkZW8vbXA0Cg==");
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");

    /* an invalid filetype is not rescued by contentType */
    ct = job_content_type(NULL,
                          "filetype dmlkZW8vbXA0Cg==,"
                          "contentType dmlkZW8vcXVpY2t0aW1l");
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");

    /* 255 characters are the most a type may have */
    memset(mbuf, 'a', 255);
    mbuf[1] = '/';
    mbuf[255] = '\0';
    ct = job_content_type(mbuf, NULL);
    CHECK_MEM(ct, strlen(ct), mbuf);
    mbuf[255] = 'a';
    mbuf[256] = '\0';
    ct = job_content_type(mbuf, NULL);
    CHECK_MEM(ct, strlen(ct), "application/octet-stream");
}


static void
test_metadata_values(void)
{
    size_t          n, len, i;
    ingest_job_t    job;
    unsigned char   bin[256];
    char           *s;

    job_init(&job);

    /* binary, quotes, backslashes, control bytes, bad and good UTF-8 */

    len = 0;
    len = add_pair(mbuf, len, "bin", "\x00\x01\"\\\xff" "A", 6);
    len = add_pair(mbuf, len, "utf8", "\xe2\x82\xac\xf0\x9f\x98\x80", 7);
    len = add_pair(mbuf, len, "k\"ey\\", "v", 1);
    len = add_pair(mbuf, len, "nil", NULL, 0);
    len = add_pair(mbuf, len, "cut", "\xe2\x82", 2);

    str(&job.metadata, mbuf);
    CHECK_INT(ingest_tus_metadata_validate(job.metadata.data,
                                           job.metadata.len),
              INGEST_TUS_OK);

    n = ingest_job_format(&job, out, sizeof(out));
    CHECK(n != 0 && json_valid(out, n));
    out[n] = '\0';

    s = strstr((char *) out, "\"metadata\":{");
    CHECK(s != NULL);

    if (s != NULL) {
        CHECK(strncmp(s,
                      "\"metadata\":{\"bin\":\"\\u0000\\u0001\\\"\\\\"
                      "\xef\xbf\xbd" "A\","
                      "\"utf8\":\"\xe2\x82\xac\xf0\x9f\x98\x80\","
                      "\"k\\\"ey\\\\\":\"v\",\"nil\":\"\","
                      "\"cut\":\"\xef\xbf\xbd\xef\xbf\xbd\"},",
                      strlen("\"metadata\":{\"bin\":\"\\u0000\\u0001\\\"\\\\"
                             "\xef\xbf\xbd" "A\","
                             "\"utf8\":\"\xe2\x82\xac\xf0\x9f\x98\x80\","
                             "\"k\\\"ey\\\\\":\"v\",\"nil\":\"\","
                             "\"cut\":\"\xef\xbf\xbd\xef\xbf\xbd\"},"))
              == 0);
    }

    /* every byte value, in values of every length up to 256 */

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (unsigned char) (255 - i);
    }

    for (i = 0; i <= sizeof(bin); i++) {
        len = add_pair(mbuf, 0, "v", bin, i);
        str(&job.metadata, mbuf);
        n = ingest_job_format(&job, out, sizeof(out));

        if (n == 0 || !json_valid(out, n)) {
            TEST_FAIL("binary value of %zu bytes", i);
            break;
        }
    }

    CHECK_INT(i, sizeof(bin) + 1);

    /* invalid metadata gives no job */

    str(&job.metadata, "a,a");
    CHECK_INT(ingest_job_format(&job, out, sizeof(out)), 0);
    str(&job.metadata, "a Zg");
    CHECK_INT(ingest_job_format(&job, out, sizeof(out)), 0);
    str(&job.metadata, ",");
    CHECK_INT(ingest_job_format(&job, out, sizeof(out)), 0);
    job.metadata.data = NULL;
    job.metadata.len = 3;
    CHECK_INT(ingest_job_format(&job, out, sizeof(out)), 0);
}


static void
test_cap(void)
{
    size_t        n, cap;
    ingest_job_t  job;

    job_init(&job);
    str(&job.metadata, "filename YS5tcDQ=,filetype dmlkZW8vbXA0,flag");
    str(&job.owner, "alice");

    n = ingest_job_format(&job, out, sizeof(out));
    CHECK(n != 0);

    for (cap = 0; cap < n; cap++) {
        memset(out, 'z', n + 1);

        if (ingest_job_format(&job, out, cap) != 0 || out[cap] != 'z') {
            TEST_FAIL("job with cap %zu", cap);
            break;
        }
    }

    CHECK_INT(cap, n);
    CHECK_INT(ingest_job_format(&job, out, n), n);
    CHECK(json_valid(out, n));
}


/* random metadata values: the job is always valid JSON */

static void
test_random(void)
{
    size_t          i, k, len, vlen, n;
    uint64_t        seed;
    unsigned long   bad;
    ingest_job_t    job;
    unsigned char   v[64];

    static const unsigned char  pick[] = {
        0x00, 0x1f, 0x20, '"', '\\', 'a', 0x7f, 0x80, 0xbf, 0xc2, 0xdf,
        0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff
    };

    seed = 5;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        job_init(&job);
        len = 0;

        for (k = 0; k < 1 + test_rand(&seed) % 4; k++) {
            vlen = test_rand(&seed) % sizeof(v);

            for (n = 0; n < vlen; n++) {
                v[n] = (i & 1) ? (unsigned char) test_rand(&seed)
                               : pick[test_rand(&seed) % sizeof(pick)];
            }

            mbuf[len] = '\0';
            len = add_pair(mbuf, len, k == 0 ? "a" : k == 1 ? "b"
                                      : k == 2 ? "filetype" : "d",
                           v, vlen);
        }

        str(&job.metadata, mbuf);
        job.source.data = v;
        job.source.len = vlen;

        n = ingest_job_format(&job, out, sizeof(out));

        if (n == 0 || !json_valid(out, n)) {
            bad++;
        }
    }

    CHECK_INT(bad, 0);
}


static void
test_job(void)
{
    test_json_checker();
    test_escape();
    test_job_full();
    test_job_defaults();
    test_content_type();
    test_metadata_values();
    test_cap();
    test_random();
}


TEST_MAIN("test_job", test_job)
