
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_sigv4.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


/*
 * The canonical request and the string to sign go through one writer
 * that hashes them, copies them into a buffer, or both; so what is shown
 * (error documents, logs, tests) is what was signed.
 */
typedef struct {
    EVP_MD_CTX     *md;
    unsigned char  *buf;
    size_t          cap;
    size_t          len;
    int             error;
    size_t          nstage;
    unsigned char   stage[256];
} ingest_sigv4_out_t;

/* AWS URI encoding of raw (percent-encoded) input, one byte at a time */
typedef struct {
    const unsigned char  *pos;
    const unsigned char  *end;
    int                   keep_slash;
    unsigned              npend;
    unsigned              ipend;
    unsigned char         pend[3];
} ingest_sigv4_enc_t;

/* a query parameter, raw */
typedef struct {
    ingest_str_t  name;
    ingest_str_t  value;
} ingest_sigv4_param_t;

/* the presigned parameters, raw */
enum {
    INGEST_SIGV4_Q_ALGORITHM = 0,
    INGEST_SIGV4_Q_CREDENTIAL,
    INGEST_SIGV4_Q_DATE,
    INGEST_SIGV4_Q_EXPIRES,
    INGEST_SIGV4_Q_SIGNED_HEADERS,
    INGEST_SIGV4_Q_SIGNATURE,
    INGEST_SIGV4_Q_CONTENT_SHA256,
    INGEST_SIGV4_Q_LAST
};


static ingest_s3_rc_t ingest_sigv4_parse_header(
    const ingest_sigv4_request_t *req, const ingest_sigv4_conf_t *conf,
    ingest_sigv4_auth_t *auth, const unsigned char *p, size_t len);
static ingest_s3_rc_t ingest_sigv4_parse_query(
    const ingest_sigv4_request_t *req, const ingest_sigv4_conf_t *conf,
    ingest_sigv4_auth_t *auth);
static ingest_s3_rc_t ingest_sigv4_parse_credential(
    const ingest_sigv4_conf_t *conf, ingest_sigv4_auth_t *auth,
    const unsigned char *p, size_t len, int query);
static int ingest_sigv4_parse_signed(ingest_sigv4_auth_t *auth,
    const unsigned char *p, size_t len);
static int ingest_sigv4_parse_signature(ingest_sigv4_auth_t *auth,
    const unsigned char *p, size_t len);
static ingest_s3_rc_t ingest_sigv4_parse_payload(ingest_sigv4_auth_t *auth,
    const unsigned char *p, size_t len, ingest_s3_rc_t bad);
static ingest_s3_rc_t ingest_sigv4_check_request(
    const ingest_sigv4_request_t *req, const ingest_sigv4_conf_t *conf,
    ingest_sigv4_auth_t *auth);
static int ingest_sigv4_is_signed(const ingest_sigv4_auth_t *auth,
    const unsigned char *name, size_t len);
static int ingest_sigv4_signed_next(const unsigned char **pos,
    const unsigned char *end, ingest_str_t *name);
static int ingest_sigv4_query_scan(const unsigned char *query, size_t len,
    ingest_str_t *found, unsigned *dup, int *v2);
static int ingest_sigv4_query_next(const unsigned char **pos,
    const unsigned char *end, ingest_sigv4_param_t *param);
static size_t ingest_sigv4_query_count(const unsigned char *query,
    size_t len);
static int ingest_sigv4_decoded_eq(const unsigned char *raw, size_t len,
    const char *s);
static ssize_t ingest_sigv4_decode(unsigned char *out, size_t cap,
    const ingest_str_t *in);

static void ingest_sigv4_canonical(ingest_sigv4_out_t *out,
    const ingest_sigv4_request_t *req, const ingest_sigv4_auth_t *auth);
static void ingest_sigv4_canonical_query(ingest_sigv4_out_t *out,
    const ingest_str_t *query, int presigned);
static void ingest_sigv4_canonical_value(ingest_sigv4_out_t *out,
    const ingest_sigv4_request_t *req, const ingest_str_t *name);
static int ingest_sigv4_sts(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, ingest_sigv4_out_t *out);
static int ingest_sigv4_param_cmp(const ingest_sigv4_param_t *a,
    const ingest_sigv4_param_t *b);
static void ingest_sigv4_enc_init(ingest_sigv4_enc_t *e,
    const unsigned char *p, size_t len, int keep_slash);
static int ingest_sigv4_enc_next(ingest_sigv4_enc_t *e);
static int ingest_sigv4_enc_cmp(const ingest_str_t *a, const ingest_str_t *b);
static void ingest_sigv4_put_encoded(ingest_sigv4_out_t *out,
    const unsigned char *p, size_t len, int keep_slash);

static void ingest_sigv4_put(ingest_sigv4_out_t *out, const void *p,
    size_t n);
static void ingest_sigv4_putc(ingest_sigv4_out_t *out, unsigned char c);
static void ingest_sigv4_flush(ingest_sigv4_out_t *out);

static int ingest_sigv4_hexval(unsigned char c);
static int ingest_sigv4_lc_eq(const unsigned char *p, size_t len,
    const char *s);
static int ingest_sigv4_name_eq(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);
static void ingest_sigv4_trim(const unsigned char **p, size_t *len);


static const char  *ingest_sigv4_qnames[INGEST_SIGV4_Q_LAST] = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Content-Sha256"
};

static const unsigned char  ingest_sigv4_hexdigits[] = "0123456789abcdef";
static const unsigned char  ingest_sigv4_uhex[] = "0123456789ABCDEF";


ingest_s3_rc_t
ingest_sigv4_parse(const ingest_sigv4_request_t *req,
    const ingest_sigv4_conf_t *conf, ingest_sigv4_auth_t *auth)
{
    int                  v2;
    size_t               n;
    unsigned             dup;
    ingest_str_t         authz;
    ingest_s3_rc_t       rc;
    ingest_sigv4_conf_t  defaults;
    ingest_str_t         found[INGEST_SIGV4_Q_LAST];

    memset(auth, 0, sizeof(ingest_sigv4_auth_t));

    if (conf == NULL) {
        memset(&defaults, 0, sizeof(ingest_sigv4_conf_t));
        conf = &defaults;
    }

    n = ingest_s3_header_find(req->headers, req->nheaders, "authorization",
                              &authz);

    if (ingest_sigv4_query_scan(req->query.data, req->query.len, found,
                                &dup, &v2)
        != 0)
    {
        return INGEST_S3_INVALID_URI;
    }

    if (n != 0 && (found[INGEST_SIGV4_Q_ALGORITHM].data != NULL || v2)) {
        return INGEST_S3_AUTH_CONFLICT;
    }

    if (n > 1) {
        return INGEST_S3_AUTH_MALFORMED;
    }

    if (n == 1) {
        rc = ingest_sigv4_parse_header(req, conf, auth, authz.data,
                                       authz.len);

    } else if (found[INGEST_SIGV4_Q_ALGORITHM].data != NULL) {
        rc = ingest_sigv4_parse_query(req, conf, auth);

    } else if (v2) {
        rc = INGEST_S3_AUTH_MECHANISM;

    } else {
        rc = INGEST_S3_ACCESS_DENIED;
    }

    if (rc != INGEST_S3_OK) {
        return rc;
    }

    return ingest_sigv4_check_request(req, conf, auth);
}


static ingest_s3_rc_t
ingest_sigv4_parse_header(const ingest_sigv4_request_t *req,
    const ingest_sigv4_conf_t *conf, ingest_sigv4_auth_t *auth,
    const unsigned char *p, size_t len)
{
    size_t                i, nlen;
    int64_t               skew, d;
    ingest_str_t          comp[3], value;
    ingest_s3_rc_t        rc;
    const unsigned char  *end, *name, *eq, *comma, *v;

    static const char  *names[3] = {
        "Credential", "SignedHeaders", "Signature"
    };

    ingest_sigv4_trim(&p, &len);

    if (len >= sizeof("AWS4-ECDSA-P256-SHA256") - 1
        && memcmp(p, "AWS4-ECDSA-P256-SHA256",
                  sizeof("AWS4-ECDSA-P256-SHA256") - 1) == 0)
    {
        return INGEST_S3_SIGV4A;
    }

    if (len <= sizeof(INGEST_SIGV4_ALGORITHM)
        || memcmp(p, INGEST_SIGV4_ALGORITHM,
                  sizeof(INGEST_SIGV4_ALGORITHM) - 1) != 0
        || (p[sizeof(INGEST_SIGV4_ALGORITHM) - 1] != ' '
            && p[sizeof(INGEST_SIGV4_ALGORITHM) - 1] != '\t'))
    {
        return INGEST_S3_AUTH_MECHANISM;
    }

    end = p + len;
    p += sizeof(INGEST_SIGV4_ALGORITHM) - 1;

    memset(comp, 0, sizeof(comp));

    /* "Credential=..., SignedHeaders=..., Signature=..." in any order */

    for ( ;; ) {
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end) {
            return INGEST_S3_AUTH_MALFORMED;
        }

        comma = memchr(p, ',', (size_t) (end - p));
        if (comma == NULL) {
            comma = end;
        }

        eq = memchr(p, '=', (size_t) (comma - p));
        if (eq == NULL) {
            return INGEST_S3_AUTH_MALFORMED;
        }

        name = p;
        nlen = (size_t) (eq - p);

        for (i = 0; i < 3; i++) {
            if (nlen == strlen(names[i])
                && memcmp(name, names[i], nlen) == 0)
            {
                break;
            }
        }

        if (i == 3 || comp[i].data != NULL) {
            return INGEST_S3_AUTH_MALFORMED;
        }

        v = eq + 1;
        value.len = (size_t) (comma - v);
        ingest_sigv4_trim(&v, &value.len);
        value.data = v;

        comp[i] = value;

        if (comma == end) {
            break;
        }

        p = comma + 1;
    }

    if (comp[0].data == NULL || comp[1].data == NULL || comp[2].data == NULL) {
        return INGEST_S3_AUTH_MALFORMED;
    }

    rc = ingest_sigv4_parse_credential(conf, auth, comp[0].data, comp[0].len,
                                       0);
    if (rc != INGEST_S3_OK) {
        return rc;
    }

    if (ingest_sigv4_parse_signed(auth, comp[1].data, comp[1].len) != 0) {
        return INGEST_S3_AUTH_SIGNED_HEADERS;
    }

    if (ingest_sigv4_parse_signature(auth, comp[2].data, comp[2].len) != 0) {
        return INGEST_S3_AUTH_MALFORMED;
    }

    /* x-amz-date, or else Date */

    switch (ingest_s3_header_find(req->headers, req->nheaders, "x-amz-date",
                                  &value))
    {
    case 0:
        if (ingest_s3_header_find(req->headers, req->nheaders, "date",
                                  &value)
            != 1)
        {
            return INGEST_S3_AUTH_NO_DATE;
        }

        v = value.data;
        ingest_sigv4_trim(&v, &value.len);

        if (ingest_s3_parse_http_date(v, value.len, &auth->time) != 0) {
            return INGEST_S3_AUTH_NO_DATE;
        }

        break;

    case 1:
        v = value.data;
        ingest_sigv4_trim(&v, &value.len);

        if (ingest_s3_parse_amz_date(v, value.len, &auth->time) != 0) {
            return INGEST_S3_AUTH_NO_DATE;
        }

        break;

    default:
        return INGEST_S3_AUTH_NO_DATE;
    }

    ingest_s3_format_amz_date(auth->amz_date, auth->time);

    if (memcmp(auth->date, auth->amz_date, 8) != 0) {
        return INGEST_S3_AUTH_SCOPE_DATE;
    }

    skew = conf->max_skew > 0 ? conf->max_skew : INGEST_SIGV4_MAX_SKEW;
    d = req->now - auth->time;

    if (d > skew || d < -skew) {
        return INGEST_S3_TIME_SKEWED;
    }

    switch (ingest_s3_header_find(req->headers, req->nheaders,
                                  "x-amz-content-sha256", &value))
    {
    case 0:
        return INGEST_S3_AUTH_NO_CONTENT_SHA256;

    case 1:
        return ingest_sigv4_parse_payload(auth, value.data, value.len,
                                          INGEST_S3_AUTH_BAD_CONTENT_SHA256);

    default:
        return INGEST_S3_AUTH_BAD_CONTENT_SHA256;
    }
}


static ingest_s3_rc_t
ingest_sigv4_parse_query(const ingest_sigv4_request_t *req,
    const ingest_sigv4_conf_t *conf, ingest_sigv4_auth_t *auth)
{
    int             v2;
    ssize_t         n;
    int64_t         skew;
    uint64_t        expires;
    unsigned        dup, i;
    ingest_str_t    found[INGEST_SIGV4_Q_LAST];
    ingest_s3_rc_t  rc;
    unsigned char   buf[INGEST_SIGV4_SIGNED_MAX];

    (void) ingest_sigv4_query_scan(req->query.data, req->query.len, found,
                                   &dup, &v2);

    if (dup) {
        return INGEST_S3_QUERY_MALFORMED;
    }

    for (i = 0; i < INGEST_SIGV4_Q_CONTENT_SHA256; i++) {
        if (found[i].data == NULL) {
            return INGEST_S3_QUERY_MISSING;
        }
    }

    n = ingest_sigv4_decode(buf, sizeof(buf), &found[INGEST_SIGV4_Q_ALGORITHM]);

    if (n == sizeof("AWS4-ECDSA-P256-SHA256") - 1
        && memcmp(buf, "AWS4-ECDSA-P256-SHA256", (size_t) n) == 0)
    {
        return INGEST_S3_SIGV4A;
    }

    if (n != sizeof(INGEST_SIGV4_ALGORITHM) - 1
        || memcmp(buf, INGEST_SIGV4_ALGORITHM, (size_t) n) != 0)
    {
        return INGEST_S3_QUERY_ALGORITHM;
    }

    n = ingest_sigv4_decode(buf, sizeof(buf),
                            &found[INGEST_SIGV4_Q_CREDENTIAL]);
    if (n < 0) {
        return INGEST_S3_QUERY_CREDENTIAL;
    }

    rc = ingest_sigv4_parse_credential(conf, auth, buf, (size_t) n, 1);
    if (rc != INGEST_S3_OK) {
        return rc;
    }

    n = ingest_sigv4_decode(buf, sizeof(buf), &found[INGEST_SIGV4_Q_DATE]);

    if (n < 0 || ingest_s3_parse_amz_date(buf, (size_t) n, &auth->time) != 0)
    {
        return INGEST_S3_QUERY_DATE;
    }

    memcpy(auth->amz_date, buf, INGEST_S3_AMZ_DATE_LEN);

    if (memcmp(auth->date, auth->amz_date, 8) != 0) {
        return INGEST_S3_QUERY_SCOPE_DATE;
    }

    n = ingest_sigv4_decode(buf, sizeof(buf), &found[INGEST_SIGV4_Q_EXPIRES]);

    if (n < 0 || ingest_parse_u64(buf, (size_t) n, &expires) != 0
        || expires == 0)
    {
        return INGEST_S3_QUERY_EXPIRES;
    }

    if (expires > INGEST_SIGV4_MAX_EXPIRES) {
        return INGEST_S3_QUERY_EXPIRES_TOO_LONG;
    }

    n = ingest_sigv4_decode(buf, sizeof(buf),
                            &found[INGEST_SIGV4_Q_SIGNED_HEADERS]);

    if (n < 0 || ingest_sigv4_parse_signed(auth, buf, (size_t) n) != 0) {
        return INGEST_S3_QUERY_SIGNED_HEADERS;
    }

    n = ingest_sigv4_decode(buf, sizeof(buf),
                            &found[INGEST_SIGV4_Q_SIGNATURE]);

    if (n < 0 || ingest_sigv4_parse_signature(auth, buf, (size_t) n) != 0) {
        return INGEST_S3_QUERY_MALFORMED;
    }

    auth->presigned = 1;
    auth->expires = auth->time + (int64_t) expires;

    skew = conf->max_skew > 0 ? conf->max_skew : INGEST_SIGV4_MAX_SKEW;

    if (auth->time - req->now > skew) {
        return INGEST_S3_NOT_YET_VALID;
    }

    if (req->now > auth->expires) {
        return INGEST_S3_EXPIRED;
    }

    if (found[INGEST_SIGV4_Q_CONTENT_SHA256].data == NULL) {
        auth->payload = INGEST_SIGV4_PAYLOAD_UNSIGNED;
        auth->payload_hash_len = sizeof(INGEST_SIGV4_UNSIGNED_PAYLOAD) - 1;
        memcpy(auth->payload_hash, INGEST_SIGV4_UNSIGNED_PAYLOAD,
               auth->payload_hash_len);

        return INGEST_S3_OK;
    }

    n = ingest_sigv4_decode(buf, sizeof(buf),
                            &found[INGEST_SIGV4_Q_CONTENT_SHA256]);
    if (n < 0) {
        return INGEST_S3_QUERY_MALFORMED;
    }

    return ingest_sigv4_parse_payload(auth, buf, (size_t) n,
                                      INGEST_S3_QUERY_MALFORMED);
}


/* AKID/YYYYMMDD/region/service/aws4_request */

static ingest_s3_rc_t
ingest_sigv4_parse_credential(const ingest_sigv4_conf_t *conf,
    ingest_sigv4_auth_t *auth, const unsigned char *p, size_t len, int query)
{
    size_t                i, n;
    int64_t               t;
    ingest_str_t          part[5], want;
    ingest_s3_rc_t        bad;
    const unsigned char  *s, *end, *slash;
    unsigned char         date[INGEST_S3_AMZ_DATE_LEN];

    bad = query ? INGEST_S3_QUERY_CREDENTIAL : INGEST_S3_AUTH_CREDENTIAL;

    s = p;
    end = p + len;

    for (i = 0; i < 5; i++) {
        slash = memchr(s, '/', (size_t) (end - s));

        if ((slash == NULL) != (i == 4)) {
            return bad;
        }

        if (slash == NULL) {
            slash = end;
        }

        part[i].data = s;
        part[i].len = (size_t) (slash - s);

        if (part[i].len == 0) {
            return bad;
        }

        s = slash + 1;
    }

    if (part[0].len > INGEST_SIGV4_AKID_MAX || part[1].len != 8
        || part[2].len > INGEST_SIGV4_REGION_MAX
        || part[3].len > INGEST_SIGV4_SERVICE_MAX
        || part[4].len != sizeof("aws4_request") - 1
        || memcmp(part[4].data, "aws4_request", part[4].len) != 0)
    {
        return bad;
    }

    /* access keys are printable; region and service [A-Za-z0-9._-] */

    for (i = 0; i < part[0].len; i++) {
        if (part[0].data[i] <= 0x20 || part[0].data[i] >= 0x7f) {
            return bad;
        }
    }

    for (n = 2; n <= 3; n++) {
        for (i = 0; i < part[n].len; i++) {
            s = &part[n].data[i];

            if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
                  || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'
                  || *s == '.'))
            {
                return bad;
            }
        }
    }

    memcpy(date, part[1].data, 8);
    memcpy(date + 8, "T000000Z", 8);

    if (ingest_s3_parse_amz_date(date, sizeof(date), &t) != 0) {
        return bad;
    }

    if (conf->region.data != NULL
        && (conf->region.len != part[2].len
            || memcmp(conf->region.data, part[2].data, part[2].len) != 0))
    {
        return query ? INGEST_S3_QUERY_REGION : INGEST_S3_AUTH_REGION;
    }

    if (conf->service.data != NULL) {
        want = conf->service;

    } else {
        want.data = (const unsigned char *) "s3";
        want.len = 2;
    }

    if (want.len != part[3].len
        || memcmp(want.data, part[3].data, part[3].len) != 0)
    {
        return query ? INGEST_S3_QUERY_SERVICE : INGEST_S3_AUTH_SERVICE;
    }

    auth->access_key_len = part[0].len;
    memcpy(auth->access_key, part[0].data, part[0].len);
    memcpy(auth->date, part[1].data, 8);
    auth->region_len = part[2].len;
    memcpy(auth->region, part[2].data, part[2].len);
    auth->service_len = part[3].len;
    memcpy(auth->service, part[3].data, part[3].len);

    auth->scope_len = (size_t) (end - part[1].data);
    memcpy(auth->scope, part[1].data, auth->scope_len);

    return INGEST_S3_OK;
}


/* "host;range;x-amz-date": lower case tokens, ascending, with host */

static int
ingest_sigv4_parse_signed(ingest_sigv4_auth_t *auth, const unsigned char *p,
    size_t len)
{
    int                   host;
    size_t                i, n, plen;
    const unsigned char  *end, *s, *semi, *prev;

    static const char  tchar[] = "!#$%&'*+-.^_`|~";

    if (len == 0 || len > INGEST_SIGV4_SIGNED_MAX) {
        return -1;
    }

    end = p + len;
    s = p;
    prev = NULL;
    plen = 0;
    host = 0;
    n = 0;

    for ( ;; ) {
        semi = memchr(s, ';', (size_t) (end - s));
        if (semi == NULL) {
            semi = end;
        }

        if (semi == s || ++n > INGEST_SIGV4_SIGNED_COUNT) {
            return -1;
        }

        for (i = 0; i < (size_t) (semi - s); i++) {
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
                  || strchr(tchar, s[i]) != NULL))
            {
                return -1;
            }
        }

        if (prev != NULL) {
            i = plen < (size_t) (semi - s) ? plen : (size_t) (semi - s);

            if (memcmp(prev, s, i) > 0
                || (memcmp(prev, s, i) == 0 && plen >= (size_t) (semi - s)))
            {
                return -1;
            }
        }

        if (semi - s == 4 && memcmp(s, "host", 4) == 0) {
            host = 1;
        }

        if (semi == end) {
            break;
        }

        prev = s;
        plen = (size_t) (semi - s);
        s = semi + 1;
    }

    if (!host) {
        return -1;
    }

    memcpy(auth->signed_headers, p, len);
    auth->signed_len = len;
    auth->nsigned = n;

    return 0;
}


static int
ingest_sigv4_parse_signature(ingest_sigv4_auth_t *auth,
    const unsigned char *p, size_t len)
{
    int     hi, lo;
    size_t  i;

    if (len != 64) {
        return -1;
    }

    for (i = 0; i < 32; i++) {
        hi = ingest_sigv4_hexval(p[2 * i]);
        lo = ingest_sigv4_hexval(p[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        auth->signature[i] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}


static ingest_s3_rc_t
ingest_sigv4_parse_payload(ingest_sigv4_auth_t *auth, const unsigned char *p,
    size_t len, ingest_s3_rc_t bad)
{
    int     hi, lo;
    size_t  i;

    static const struct {
        const char              *value;
        ingest_sigv4_payload_t   payload;
    } modes[] = {
        { INGEST_SIGV4_UNSIGNED_PAYLOAD, INGEST_SIGV4_PAYLOAD_UNSIGNED },
        { INGEST_SIGV4_STREAMING, INGEST_SIGV4_PAYLOAD_STREAMING },
        { INGEST_SIGV4_STREAMING_TRAILER,
          INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER },
        { INGEST_SIGV4_STREAMING_UNSIGNED_TRAILER,
          INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER },
        { NULL, 0 }
    };

    ingest_sigv4_trim(&p, &len);

    if (p == NULL || len == 0 || len > sizeof(auth->payload_hash)) {
        return bad;
    }

    for (i = 0; modes[i].value != NULL; i++) {
        if (len == strlen(modes[i].value)
            && memcmp(p, modes[i].value, len) == 0)
        {
            auth->payload = modes[i].payload;
            goto done;
        }
    }

    if (len >= sizeof("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") - 1
        && memcmp(p, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                  sizeof("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") - 1)
           == 0)
    {
        return INGEST_S3_SIGV4A;
    }

    if (len != 64) {
        return bad;
    }

    for (i = 0; i < 32; i++) {
        hi = ingest_sigv4_hexval(p[2 * i]);
        lo = ingest_sigv4_hexval(p[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return bad;
        }

        auth->payload_sha256[i] = (unsigned char) (hi << 4 | lo);
    }

    auth->payload = INGEST_SIGV4_PAYLOAD_SHA256;

done:

    memcpy(auth->payload_hash, p, len);
    auth->payload_hash_len = len;

    return INGEST_S3_OK;
}


static ingest_s3_rc_t
ingest_sigv4_check_request(const ingest_sigv4_request_t *req,
    const ingest_sigv4_conf_t *conf, ingest_sigv4_auth_t *auth)
{
    size_t                i;
    ingest_str_t          name;
    const unsigned char  *p, *end;

    if (req->path.len != 0
        && (req->path.data[0] != '/'
            || ingest_s3_uri_decode(NULL, req->path.data, req->path.len) < 0))
    {
        return INGEST_S3_INVALID_URI;
    }

    if (ingest_sigv4_query_count(req->query.data, req->query.len)
        > INGEST_SIGV4_QUERY_PARAMS)
    {
        return INGEST_S3_INVALID_URI;
    }

    p = auth->signed_headers;
    end = p + auth->signed_len;

    while (ingest_sigv4_signed_next(&p, end, &name)) {
        for (i = 0; i < req->nheaders; i++) {
            if (ingest_sigv4_name_eq(req->headers[i].name.data,
                                     req->headers[i].name.len,
                                     name.data, name.len))
            {
                break;
            }
        }

        if (i == req->nheaders) {
            return INGEST_S3_SIGNED_HEADER_MISSING;
        }
    }

    if (conf->allow_unsigned_amz) {
        return INGEST_S3_OK;
    }

    for (i = 0; i < req->nheaders; i++) {
        name = req->headers[i].name;

        if (name.len >= 6 && ingest_sigv4_lc_eq(name.data, 6, "x-amz-")
            && !ingest_sigv4_is_signed(auth, name.data, name.len))
        {
            return INGEST_S3_HEADERS_NOT_SIGNED;
        }
    }

    return INGEST_S3_OK;
}


static int
ingest_sigv4_is_signed(const ingest_sigv4_auth_t *auth,
    const unsigned char *name, size_t len)
{
    ingest_str_t          s;
    const unsigned char  *p, *end;

    p = auth->signed_headers;
    end = p + auth->signed_len;

    while (ingest_sigv4_signed_next(&p, end, &s)) {
        if (ingest_sigv4_name_eq(name, len, s.data, s.len)) {
            return 1;
        }
    }

    return 0;
}


static int
ingest_sigv4_signed_next(const unsigned char **pos, const unsigned char *end,
    ingest_str_t *name)
{
    const unsigned char  *p, *semi;

    p = *pos;

    if (p >= end) {
        return 0;
    }

    semi = memchr(p, ';', (size_t) (end - p));
    if (semi == NULL) {
        semi = end;
    }

    name->data = p;
    name->len = (size_t) (semi - p);

    *pos = (semi < end) ? semi + 1 : end;

    return 1;
}


/*
 * Finds the presigned parameters (raw values; *dup set when one repeats)
 * and tells whether SigV2 parameters are present. Returns -1 on bad
 * escapes.
 */

static int
ingest_sigv4_query_scan(const unsigned char *query, size_t len,
    ingest_str_t *found, unsigned *dup, int *v2)
{
    unsigned              i;
    ingest_sigv4_param_t  param;
    const unsigned char  *p, *end;

    memset(found, 0, INGEST_SIGV4_Q_LAST * sizeof(ingest_str_t));
    *dup = 0;
    *v2 = 0;

    if (len == 0) {
        return 0;
    }

    if (ingest_s3_uri_decode(NULL, query, len) < 0) {
        return -1;
    }

    p = query;
    end = query + len;

    while (ingest_sigv4_query_next(&p, end, &param)) {

        if (ingest_sigv4_decoded_eq(param.name.data, param.name.len,
                                    "AWSAccessKeyId")
            || ingest_sigv4_decoded_eq(param.name.data, param.name.len,
                                       "Signature"))
        {
            *v2 = 1;
            continue;
        }

        for (i = 0; i < INGEST_SIGV4_Q_LAST; i++) {
            if (ingest_sigv4_decoded_eq(param.name.data, param.name.len,
                                        ingest_sigv4_qnames[i]))
            {
                if (found[i].data != NULL) {
                    *dup = 1;
                }

                found[i] = param.value;
                break;
            }
        }
    }

    return 0;
}


/* the next non-empty "name[=value]" (value.data never NULL) */

static int
ingest_sigv4_query_next(const unsigned char **pos, const unsigned char *end,
    ingest_sigv4_param_t *param)
{
    const unsigned char  *p, *amp, *eq;

    p = *pos;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        if (amp == p) {
            p++;
            continue;
        }

        eq = memchr(p, '=', (size_t) (amp - p));

        param->name.data = p;
        param->name.len = (size_t) ((eq != NULL ? eq : amp) - p);

        if (eq != NULL) {
            param->value.data = eq + 1;
            param->value.len = (size_t) (amp - eq - 1);

        } else {
            param->value.data = amp;
            param->value.len = 0;
        }

        *pos = (amp < end) ? amp + 1 : end;
        return 1;
    }

    *pos = end;

    return 0;
}


static size_t
ingest_sigv4_query_count(const unsigned char *query, size_t len)
{
    size_t                n;
    ingest_sigv4_param_t  param;
    const unsigned char  *p;

    if (len == 0) {
        return 0;
    }

    n = 0;
    p = query;

    while (ingest_sigv4_query_next(&p, query + len, &param)) {
        n++;
    }

    return n;
}


static int
ingest_sigv4_decoded_eq(const unsigned char *raw, size_t len, const char *s)
{
    ssize_t        n;
    unsigned char  buf[32];

    if (len > sizeof(buf) * 3) {
        return 0;
    }

    if (len > sizeof(buf)) {
        /* only escapes shrink it enough */
        n = ingest_s3_uri_decode(NULL, raw, len);
        if (n < 0 || (size_t) n > sizeof(buf)) {
            return 0;
        }
    }

    n = ingest_s3_uri_decode(buf, raw, len);

    return n >= 0 && (size_t) n == strlen(s) && memcmp(buf, s, (size_t) n) == 0;
}


static ssize_t
ingest_sigv4_decode(unsigned char *out, size_t cap, const ingest_str_t *in)
{
    ssize_t  n;

    n = ingest_s3_uri_decode(NULL, in->data, in->len);

    if (n < 0 || (size_t) n > cap) {
        return -1;
    }

    return ingest_s3_uri_decode(out, in->data, in->len);
}


int
ingest_sigv4_hmac(const unsigned char *key, size_t klen,
    const unsigned char *msg, size_t len, unsigned char *mac)
{
    unsigned int  n;

    static const unsigned char  empty[1];

    if (HMAC(EVP_sha256(), key, (int) klen, len != 0 ? msg : empty, len, mac,
             &n)
        == NULL || n != 32)
    {
        return -1;
    }

    return 0;
}


int
ingest_sigv4_signing_key(const unsigned char *secret, size_t secret_len,
    const unsigned char *date, const unsigned char *region,
    size_t region_len, const unsigned char *service, size_t service_len,
    unsigned char *key)
{
    int            rc;
    unsigned char  k1[32], k2[32];
    unsigned char  kSecret[4 + INGEST_SIGV4_SECRET_MAX];

    if (secret_len > INGEST_SIGV4_SECRET_MAX) {
        return -1;
    }

    memcpy(kSecret, "AWS4", 4);
    memcpy(kSecret + 4, secret, secret_len);

    rc = ingest_sigv4_hmac(kSecret, 4 + secret_len, date, 8, k1);

    if (rc == 0) {
        rc = ingest_sigv4_hmac(k1, 32, region, region_len, k2);
    }

    if (rc == 0) {
        rc = ingest_sigv4_hmac(k2, 32, service, service_len, k1);
    }

    if (rc == 0) {
        rc = ingest_sigv4_hmac(k1, 32, (const unsigned char *) "aws4_request",
                               12, key);
    }

    OPENSSL_cleanse(kSecret, sizeof(kSecret));
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));

    return rc;
}


int
ingest_sigv4_auth_key(const ingest_sigv4_auth_t *auth,
    const unsigned char *secret, size_t secret_len, unsigned char *key)
{
    return ingest_sigv4_signing_key(secret, secret_len, auth->date,
                                    auth->region, auth->region_len,
                                    auth->service, auth->service_len, key);
}


ingest_s3_rc_t
ingest_sigv4_verify(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, const unsigned char *key)
{
    unsigned char  sig[32];

    if (ingest_sigv4_signature(req, auth, key, sig) != 0) {
        return INGEST_S3_INTERNAL_ERROR;
    }

    if (!ingest_memeq_ct(sig, auth->signature, 32)) {
        return INGEST_S3_SIGNATURE_MISMATCH;
    }

    return INGEST_S3_OK;
}


ingest_s3_rc_t
ingest_sigv4_authenticate(const ingest_sigv4_request_t *req,
    const ingest_sigv4_conf_t *conf, ingest_sigv4_key_pt lookup, void *data,
    ingest_sigv4_auth_t *auth, unsigned char *key)
{
    ingest_s3_rc_t  rc;

    rc = ingest_sigv4_parse(req, conf, auth);
    if (rc != INGEST_S3_OK) {
        return rc;
    }

    rc = lookup(data, auth, key);
    if (rc != INGEST_S3_OK) {
        return rc;
    }

    return ingest_sigv4_verify(req, auth, key);
}


int
ingest_sigv4_signature(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, const unsigned char *key,
    unsigned char *sig)
{
    int                 rc;
    ingest_sigv4_out_t  out;
    unsigned char       sts[512];

    memset(&out, 0, sizeof(ingest_sigv4_out_t));
    out.buf = sts;
    out.cap = sizeof(sts);

    if (ingest_sigv4_sts(req, auth, &out) != 0 || out.len > out.cap) {
        return -1;
    }

    rc = ingest_sigv4_hmac(key, INGEST_SIGV4_KEY_LEN, sts, out.len, sig);

    return rc;
}


size_t
ingest_sigv4_canonical_request(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, unsigned char *buf, size_t cap)
{
    ingest_sigv4_out_t  out;

    memset(&out, 0, sizeof(ingest_sigv4_out_t));
    out.buf = buf;
    out.cap = buf != NULL ? cap : 0;

    ingest_sigv4_canonical(&out, req, auth);
    ingest_sigv4_flush(&out);

    return out.len;
}


size_t
ingest_sigv4_string_to_sign(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, unsigned char *buf, size_t cap)
{
    ingest_sigv4_out_t  out;

    memset(&out, 0, sizeof(ingest_sigv4_out_t));
    out.buf = buf;
    out.cap = buf != NULL ? cap : 0;

    if (ingest_sigv4_sts(req, auth, &out) != 0) {
        return 0;
    }

    return out.len;
}


void
ingest_sigv4_hex(unsigned char *out, const unsigned char *in, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[2 * i] = ingest_sigv4_hexdigits[in[i] >> 4];
        out[2 * i + 1] = ingest_sigv4_hexdigits[in[i] & 0x0f];
    }
}


/*
 * "AWS4-HMAC-SHA256\n" amz-date "\n" scope "\n" hex(sha256(canonical
 * request)) into out (flushed)
 */

static int
ingest_sigv4_sts(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, ingest_sigv4_out_t *out)
{
    unsigned int        n;
    ingest_sigv4_out_t  cr;
    unsigned char       md[EVP_MAX_MD_SIZE], hex[64];

    memset(&cr, 0, sizeof(ingest_sigv4_out_t));

    cr.md = EVP_MD_CTX_new();
    if (cr.md == NULL) {
        return -1;
    }

    if (EVP_DigestInit_ex(cr.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(cr.md);
        return -1;
    }

    ingest_sigv4_canonical(&cr, req, auth);
    ingest_sigv4_flush(&cr);

    if (cr.error || EVP_DigestFinal_ex(cr.md, md, &n) != 1 || n != 32) {
        EVP_MD_CTX_free(cr.md);
        return -1;
    }

    EVP_MD_CTX_free(cr.md);

    ingest_sigv4_hex(hex, md, 32);

    ingest_sigv4_put(out, INGEST_SIGV4_ALGORITHM "\n",
                     sizeof(INGEST_SIGV4_ALGORITHM));
    ingest_sigv4_put(out, auth->amz_date, INGEST_S3_AMZ_DATE_LEN);
    ingest_sigv4_putc(out, '\n');
    ingest_sigv4_put(out, auth->scope, auth->scope_len);
    ingest_sigv4_putc(out, '\n');
    ingest_sigv4_put(out, hex, 64);
    ingest_sigv4_flush(out);

    return out->error ? -1 : 0;
}


static void
ingest_sigv4_canonical(ingest_sigv4_out_t *out,
    const ingest_sigv4_request_t *req, const ingest_sigv4_auth_t *auth)
{
    ingest_str_t          name;
    const unsigned char  *p, *end;

    ingest_sigv4_put(out, req->method.data, req->method.len);
    ingest_sigv4_putc(out, '\n');

    /* S3: the path as sent, escapes made canonical, never normalised */

    if (req->path.len == 0) {
        ingest_sigv4_putc(out, '/');

    } else {
        ingest_sigv4_put_encoded(out, req->path.data, req->path.len, 1);
    }

    ingest_sigv4_putc(out, '\n');

    ingest_sigv4_canonical_query(out, &req->query, auth->presigned);
    ingest_sigv4_putc(out, '\n');

    p = auth->signed_headers;
    end = p + auth->signed_len;

    while (ingest_sigv4_signed_next(&p, end, &name)) {
        ingest_sigv4_put(out, name.data, name.len);
        ingest_sigv4_putc(out, ':');
        ingest_sigv4_canonical_value(out, req, &name);
        ingest_sigv4_putc(out, '\n');
    }

    ingest_sigv4_putc(out, '\n');
    ingest_sigv4_put(out, auth->signed_headers, auth->signed_len);
    ingest_sigv4_putc(out, '\n');
    ingest_sigv4_put(out, auth->payload_hash, auth->payload_hash_len);
}


/*
 * Parameters sorted by encoded name, then encoded value; each name and
 * value decoded and encoded again; X-Amz-Signature left out of a
 * presigned request.
 */

static void
ingest_sigv4_canonical_query(ingest_sigv4_out_t *out,
    const ingest_str_t *query, int presigned)
{
    size_t                i, j, n;
    ingest_sigv4_param_t  param, tmp;
    const unsigned char  *p, *end;
    ingest_sigv4_param_t  params[INGEST_SIGV4_QUERY_PARAMS];

    if (query->len == 0) {
        return;
    }

    n = 0;
    p = query->data;
    end = p + query->len;

    while (ingest_sigv4_query_next(&p, end, &param)) {

        if (presigned
            && ingest_sigv4_decoded_eq(param.name.data, param.name.len,
                                       "X-Amz-Signature"))
        {
            continue;
        }

        if (n == INGEST_SIGV4_QUERY_PARAMS) {
            out->error = 1;
            return;
        }

        params[n++] = param;
    }

    /* insertion sort: few parameters, no allocation */

    for (i = 1; i < n; i++) {
        tmp = params[i];

        for (j = i; j > 0 && ingest_sigv4_param_cmp(&params[j - 1], &tmp) > 0;
             j--)
        {
            params[j] = params[j - 1];
        }

        params[j] = tmp;
    }

    for (i = 0; i < n; i++) {
        if (i != 0) {
            ingest_sigv4_putc(out, '&');
        }

        ingest_sigv4_put_encoded(out, params[i].name.data, params[i].name.len,
                                 0);
        ingest_sigv4_putc(out, '=');
        ingest_sigv4_put_encoded(out, params[i].value.data,
                                 params[i].value.len, 0);
    }
}


/* all values of a header, trimmed, runs of blanks as one space, "," */

static void
ingest_sigv4_canonical_value(ingest_sigv4_out_t *out,
    const ingest_sigv4_request_t *req, const ingest_str_t *name)
{
    int                   first, blank;
    size_t                i;
    const unsigned char  *p, *end;

    first = 1;

    for (i = 0; i < req->nheaders; i++) {
        if (!ingest_sigv4_name_eq(req->headers[i].name.data,
                                  req->headers[i].name.len,
                                  name->data, name->len))
        {
            continue;
        }

        if (!first) {
            ingest_sigv4_putc(out, ',');
        }

        first = 0;

        p = req->headers[i].value.data;

        if (p == NULL) {
            continue;
        }

        end = p + req->headers[i].value.len;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        blank = 0;

        for ( /* void */ ; p < end; p++) {
            if (*p == ' ' || *p == '\t') {
                blank = 1;
                continue;
            }

            if (blank) {
                ingest_sigv4_putc(out, ' ');
                blank = 0;
            }

            ingest_sigv4_putc(out, *p);
        }
    }
}


static int
ingest_sigv4_param_cmp(const ingest_sigv4_param_t *a,
    const ingest_sigv4_param_t *b)
{
    int  rc;

    rc = ingest_sigv4_enc_cmp(&a->name, &b->name);
    if (rc != 0) {
        return rc;
    }

    return ingest_sigv4_enc_cmp(&a->value, &b->value);
}


static void
ingest_sigv4_enc_init(ingest_sigv4_enc_t *e, const unsigned char *p,
    size_t len, int keep_slash)
{
    e->pos = p;
    e->end = p + len;
    e->keep_slash = keep_slash;
    e->npend = 0;
    e->ipend = 0;
}


/*
 * The next byte of the canonical form: an escape decodes to its byte, a
 * byte outside the unreserved set encodes as %XX. A raw "/" stays with
 * keep_slash (the path); "%2F" is data and stays "%2F". A "%" without
 * two hex digits (rejected by parse) is taken as a literal "%".
 */

static int
ingest_sigv4_enc_next(ingest_sigv4_enc_t *e)
{
    int            hi, lo;
    unsigned char  c;

    if (e->ipend < e->npend) {
        return e->pend[e->ipend++];
    }

    if (e->pos >= e->end) {
        return -1;
    }

    c = *e->pos++;

    if (c == '/' && e->keep_slash) {
        return c;
    }

    if (c == '%' && e->end - e->pos >= 2) {
        hi = ingest_sigv4_hexval(e->pos[0]);
        lo = ingest_sigv4_hexval(e->pos[1]);

        if (hi >= 0 && lo >= 0) {
            c = (unsigned char) (hi << 4 | lo);
            e->pos += 2;
        }
    }

    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
        || c == '~')
    {
        return c;
    }

    e->pend[0] = '%';
    e->pend[1] = ingest_sigv4_uhex[c >> 4];
    e->pend[2] = ingest_sigv4_uhex[c & 0x0f];
    e->npend = 3;
    e->ipend = 1;

    return '%';
}


static int
ingest_sigv4_enc_cmp(const ingest_str_t *a, const ingest_str_t *b)
{
    int                 ca, cb;
    ingest_sigv4_enc_t  ea, eb;

    ingest_sigv4_enc_init(&ea, a->data, a->len, 0);
    ingest_sigv4_enc_init(&eb, b->data, b->len, 0);

    do {
        ca = ingest_sigv4_enc_next(&ea);
        cb = ingest_sigv4_enc_next(&eb);

        if (ca != cb) {
            return ca - cb;
        }

    } while (ca != -1);

    return 0;
}


static void
ingest_sigv4_put_encoded(ingest_sigv4_out_t *out, const unsigned char *p,
    size_t len, int keep_slash)
{
    int                 c;
    ingest_sigv4_enc_t  e;

    ingest_sigv4_enc_init(&e, p, len, keep_slash);

    while ((c = ingest_sigv4_enc_next(&e)) != -1) {
        ingest_sigv4_putc(out, (unsigned char) c);
    }
}


static void
ingest_sigv4_put(ingest_sigv4_out_t *out, const void *p, size_t n)
{
    size_t                k;
    const unsigned char  *s;

    s = p;

    while (n != 0) {
        if (out->nstage == sizeof(out->stage)) {
            ingest_sigv4_flush(out);
        }

        k = sizeof(out->stage) - out->nstage;
        if (k > n) {
            k = n;
        }

        memcpy(out->stage + out->nstage, s, k);
        out->nstage += k;
        s += k;
        n -= k;
    }
}


static void
ingest_sigv4_putc(ingest_sigv4_out_t *out, unsigned char c)
{
    if (out->nstage == sizeof(out->stage)) {
        ingest_sigv4_flush(out);
    }

    out->stage[out->nstage++] = c;
}


static void
ingest_sigv4_flush(ingest_sigv4_out_t *out)
{
    size_t  k;

    if (out->nstage == 0) {
        return;
    }

    if (out->md != NULL
        && EVP_DigestUpdate(out->md, out->stage, out->nstage) != 1)
    {
        out->error = 1;
    }

    if (out->buf != NULL && out->len < out->cap) {
        k = out->cap - out->len;
        if (k > out->nstage) {
            k = out->nstage;
        }

        memcpy(out->buf + out->len, out->stage, k);
    }

    out->len += out->nstage;
    out->nstage = 0;
}


static int
ingest_sigv4_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* p/len (any case) equal to the lower case s */

static int
ingest_sigv4_lc_eq(const unsigned char *p, size_t len, const char *s)
{
    return ingest_sigv4_name_eq(p, len, (const unsigned char *) s,
                                strlen(s));
}


/* header names: ASCII case-insensitive */

static int
ingest_sigv4_name_eq(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    size_t         i;
    unsigned char  ca, cb;

    if (alen != blen || a == NULL || b == NULL) {
        return 0;
    }

    for (i = 0; i < alen; i++) {
        ca = a[i];
        cb = b[i];

        if (ca >= 'A' && ca <= 'Z') {
            ca |= 0x20;
        }

        if (cb >= 'A' && cb <= 'Z') {
            cb |= 0x20;
        }

        if (ca != cb) {
            return 0;
        }
    }

    return 1;
}


static void
ingest_sigv4_trim(const unsigned char **p, size_t *len)
{
    const unsigned char  *s, *e;

    if (*p == NULL) {
        *len = 0;
        return;
    }

    s = *p;
    e = s + *len;

    while (s < e && (*s == ' ' || *s == '\t')) {
        s++;
    }

    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }

    *p = s;
    *len = (size_t) (e - s);
}
