
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_job.h"
#include "ingest_tus.h"

#include <string.h>


/* RFC 6838: type and subtype of at most 127 characters each */
#define INGEST_JOB_MAX_CONTENT_TYPE  255

#define INGEST_JOB_DEFAULT_TYPE      "application/octet-stream"


/*
 * Bytes to escape: either plain bytes or base64 text read as the bytes
 * it decodes to, so metadata values need no decode buffer.
 */

typedef struct {
    const unsigned char  *data;
    size_t                len;          /* decoded length */
    unsigned              base64:1;
} ingest_job_src_t;

typedef struct {
    unsigned char        *pos;
    unsigned char        *end;
    unsigned              error:1;
} ingest_job_out_t;


static unsigned ingest_job_src_byte(const ingest_job_src_t *src, size_t i);
static size_t ingest_job_utf8_len(const ingest_job_src_t *src, size_t i);
static size_t ingest_job_escape(unsigned char *out, size_t cap,
    const ingest_job_src_t *src);
static void ingest_job_put(ingest_job_out_t *o, const char *s);
static void ingest_job_put_raw(ingest_job_out_t *o, const unsigned char *p,
    size_t len);
static void ingest_job_put_src(ingest_job_out_t *o,
    const ingest_job_src_t *src);
static void ingest_job_put_str(ingest_job_out_t *o, const ingest_str_t *s);
static void ingest_job_put_str_or_null(ingest_job_out_t *o,
    const ingest_str_t *s);
static void ingest_job_put_u64(ingest_job_out_t *o, uint64_t v);
static void ingest_job_put_i64(ingest_job_out_t *o, int64_t v);
static int ingest_job_meta_find(const ingest_str_t *meta, const char *key,
    ingest_job_src_t *src);
static int ingest_job_is_tchar(unsigned c);
static int ingest_job_type_valid(const ingest_job_src_t *src);


static const unsigned char  ingest_job_hex[] = "0123456789abcdef";


size_t
ingest_job_format(const ingest_job_t *job, unsigned char *out, size_t cap)
{
    size_t                  npairs;
    ingest_str_t            key, value, def;
    ingest_job_out_t        o;
    ingest_job_src_t        src, ct;
    ingest_tus_meta_iter_t  it;

    /* the metadata is validated again: the job must be valid JSON */

    if (job->metadata.len != 0
        && (job->metadata.data == NULL
            || ingest_tus_metadata_validate(job->metadata.data,
                                            job->metadata.len)
               != INGEST_TUS_OK))
    {
        return 0;
    }

    /* the first content type given wins, if it is a plain type/subtype */

    ct.data = NULL;
    ct.len = 0;
    ct.base64 = 0;

    if (job->content_type.len != 0 && job->content_type.data != NULL) {
        ct.data = job->content_type.data;
        ct.len = job->content_type.len;

    } else if (!ingest_job_meta_find(&job->metadata, "filetype", &ct)) {
        (void) ingest_job_meta_find(&job->metadata, "contentType", &ct);
    }

    if (ct.len == 0 || !ingest_job_type_valid(&ct)) {
        ct.data = (const unsigned char *) INGEST_JOB_DEFAULT_TYPE;
        ct.len = sizeof(INGEST_JOB_DEFAULT_TYPE) - 1;
        ct.base64 = 0;
    }

    o.pos = out;
    o.end = out + cap;
    o.error = 0;

    ingest_job_put(&o, "{\"version\":1,\"id\":");
    ingest_job_put_str(&o, &job->id);

    ingest_job_put(&o, ",\"kind\":");

    if (job->kind.len != 0) {
        ingest_job_put_str(&o, &job->kind);

    } else {
        ingest_job_put(&o, "\"upload\"");
    }

    ingest_job_put(&o, ",\"protocol\":");
    ingest_job_put_str(&o, &job->protocol);

    ingest_job_put(&o, ",\"source\":");
    ingest_job_put_str(&o, &job->source);

    ingest_job_put(&o, ",\"size\":");
    ingest_job_put_u64(&o, job->size);

    ingest_job_put(&o, ",\"content_type\":");
    ingest_job_put_src(&o, &ct);

    ingest_job_put(&o, ",\"metadata\":{");

    ingest_tus_meta_iter_init(&it, job->metadata.data, job->metadata.len);
    npairs = 0;

    while (ingest_tus_meta_next(&it, &key, &value)) {
        if (npairs++ != 0) {
            ingest_job_put(&o, ",");
        }

        ingest_job_put_str(&o, &key);
        ingest_job_put(&o, ":");

        src.data = value.data;
        src.len = 0;
        src.base64 = 1;

        if (value.len != 0) {
            src.len = (size_t) ingest_base64_decode(NULL, value.data,
                                                    value.len);
        }

        ingest_job_put_src(&o, &src);
    }

    ingest_job_put(&o, "},\"owner\":");
    ingest_job_put_str_or_null(&o, &job->owner);

    ingest_job_put(&o, ",\"profile\":");

    if (job->profile.len != 0) {
        ingest_job_put_str(&o, &job->profile);

    } else {
        def.data = (const unsigned char *) "default";
        def.len = sizeof("default") - 1;
        ingest_job_put_str(&o, &def);
    }

    ingest_job_put(&o, ",\"created\":");
    ingest_job_put_i64(&o, job->created);

    ingest_job_put(&o, ",\"webhook\":");
    ingest_job_put_str_or_null(&o, &job->webhook);

    ingest_job_put(&o, "}\n");

    if (o.error) {
        return 0;
    }

    return (size_t) (o.pos - out);
}


size_t
ingest_json_escape(unsigned char *out, size_t cap, const unsigned char *in,
    size_t len)
{
    ingest_job_src_t  src;

    src.data = in;
    src.len = (in != NULL) ? len : 0;
    src.base64 = 0;

    return ingest_job_escape(out, cap, &src);
}


/* the i-th byte of the source; for base64 the i-th decoded byte */

static unsigned
ingest_job_src_byte(const ingest_job_src_t *src, size_t i)
{
    size_t          q;
    ssize_t         n;
    unsigned char   buf[3];

    if (!src->base64) {
        return src->data[i];
    }

    q = i / 3;

    /* validated base64: the group decodes; only the last may be short */

    n = ingest_base64_decode(buf, src->data + q * 4, 4);

    if (n <= (ssize_t) (i % 3)) {
        return 0;
    }

    return buf[i % 3];
}


/*
 * Length of the well-formed UTF-8 sequence (RFC 3629) that starts at
 * byte i, or 0 when the bytes there are not valid UTF-8.
 */

static size_t
ingest_job_utf8_len(const ingest_job_src_t *src, size_t i)
{
    size_t    n, k;
    unsigned  c, c1, lo, hi;

    c = ingest_job_src_byte(src, i);

    if (c < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

        if (c == 0xe0) {
            lo = 0xa0;                      /* overlong */

        } else if (c == 0xed) {
            hi = 0x9f;                      /* surrogates */
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

        if (c == 0xf0) {
            lo = 0x90;                      /* overlong */

        } else if (c == 0xf4) {
            hi = 0x8f;                      /* above U+10FFFF */
        }

    } else {
        return 0;
    }

    if (n > src->len - i) {
        return 0;
    }

    c1 = ingest_job_src_byte(src, i + 1);

    if (c1 < lo || c1 > hi) {
        return 0;
    }

    for (k = 2; k < n; k++) {
        c1 = ingest_job_src_byte(src, i + k);

        if (c1 < 0x80 || c1 > 0xbf) {
            return 0;
        }
    }

    return n;
}


static size_t
ingest_job_escape(unsigned char *out, size_t cap, const ingest_job_src_t *src)
{
    size_t    i, k, n, w;
    unsigned  c;

    w = 0;
    i = 0;

    while (i < src->len) {
        c = ingest_job_src_byte(src, i);

        if (c == '"' || c == '\\') {
            if (cap - w < 2) {
                return (size_t) -1;
            }

            out[w++] = '\\';
            out[w++] = (unsigned char) c;
            i++;
            continue;
        }

        if (c < 0x20 || c == 0x7f) {
            if (cap - w < 6) {
                return (size_t) -1;
            }

            out[w++] = '\\';
            out[w++] = 'u';
            out[w++] = '0';
            out[w++] = '0';
            out[w++] = ingest_job_hex[c >> 4];
            out[w++] = ingest_job_hex[c & 0x0f];
            i++;
            continue;
        }

        n = ingest_job_utf8_len(src, i);

        if (n == 0) {
            /* one bad byte becomes one U+FFFD */

            if (cap - w < 3) {
                return (size_t) -1;
            }

            out[w++] = 0xef;
            out[w++] = 0xbf;
            out[w++] = 0xbd;
            i++;
            continue;
        }

        if (cap - w < n) {
            return (size_t) -1;
        }

        for (k = 0; k < n; k++) {
            out[w++] = (unsigned char) ingest_job_src_byte(src, i + k);
        }

        i += n;
    }

    return w;
}


static void
ingest_job_put(ingest_job_out_t *o, const char *s)
{
    ingest_job_put_raw(o, (const unsigned char *) s, strlen(s));
}


static void
ingest_job_put_raw(ingest_job_out_t *o, const unsigned char *p, size_t len)
{
    if (o->error || len == 0) {
        return;
    }

    if ((size_t) (o->end - o->pos) < len) {
        o->error = 1;
        return;
    }

    memcpy(o->pos, p, len);
    o->pos += len;
}


static void
ingest_job_put_src(ingest_job_out_t *o, const ingest_job_src_t *src)
{
    size_t  n;

    ingest_job_put(o, "\"");

    if (o->error) {
        return;
    }

    n = ingest_job_escape(o->pos, (size_t) (o->end - o->pos), src);

    if (n == (size_t) -1) {
        o->error = 1;
        return;
    }

    o->pos += n;

    ingest_job_put(o, "\"");
}


static void
ingest_job_put_str(ingest_job_out_t *o, const ingest_str_t *s)
{
    ingest_job_src_t  src;

    src.data = s->data;
    src.len = (s->data != NULL) ? s->len : 0;
    src.base64 = 0;

    ingest_job_put_src(o, &src);
}


static void
ingest_job_put_str_or_null(ingest_job_out_t *o, const ingest_str_t *s)
{
    if (s->len == 0 || s->data == NULL) {
        ingest_job_put(o, "null");
        return;
    }

    ingest_job_put_str(o, s);
}


static void
ingest_job_put_u64(ingest_job_out_t *o, uint64_t v)
{
    size_t         n;
    unsigned char  tmp[20];

    n = ingest_format_u64(tmp, v);
    ingest_job_put_raw(o, tmp, n);
}


static void
ingest_job_put_i64(ingest_job_out_t *o, int64_t v)
{
    if (v < 0) {
        ingest_job_put(o, "-");

        /* the magnitude of INT64_MIN fits an uint64_t */
        ingest_job_put_u64(o, (uint64_t) 0 - (uint64_t) v);
        return;
    }

    ingest_job_put_u64(o, (uint64_t) v);
}


/*
 * Finds a metadata key with a non-empty value and describes its decoded
 * bytes; returns 0 when the key is absent or has no value.
 */

static int
ingest_job_meta_find(const ingest_str_t *meta, const char *key,
    ingest_job_src_t *src)
{
    size_t                  klen;
    ssize_t                 n;
    ingest_str_t            k, v;
    ingest_tus_meta_iter_t  it;

    klen = strlen(key);

    ingest_tus_meta_iter_init(&it, meta->data, meta->len);

    while (ingest_tus_meta_next(&it, &k, &v)) {
        if (k.len != klen || memcmp(k.data, key, klen) != 0) {
            continue;
        }

        if (v.len == 0) {
            return 0;
        }

        n = ingest_base64_decode(NULL, v.data, v.len);
        if (n <= 0) {
            return 0;
        }

        src->data = v.data;
        src->len = (size_t) n;
        src->base64 = 1;

        return 1;
    }

    return 0;
}


/* RFC 7230 tchar */

static int
ingest_job_is_tchar(unsigned c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", (int) c) != NULL;
}


/* "type/subtype", both one or more tchars, no parameters */

static int
ingest_job_type_valid(const ingest_job_src_t *src)
{
    size_t    i, slash;
    unsigned  c;

    if (src->len == 0 || src->len > INGEST_JOB_MAX_CONTENT_TYPE) {
        return 0;
    }

    slash = 0;

    for (i = 0; i < src->len; i++) {
        c = ingest_job_src_byte(src, i);

        if (c == '/') {
            if (slash != 0 || i == 0) {
                return 0;
            }

            slash = i;
            continue;
        }

        if (!ingest_job_is_tchar(c)) {
            return 0;
        }
    }

    return slash != 0 && slash + 1 < src->len;
}
