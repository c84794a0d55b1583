
/*
 * Copyright (C) nginx video ingest developers
 *
 * SigV4: the AWS documentation's examples (S3 "Examples of how to
 * calculate the signature", the presigned URL and the chunked upload
 * seeds), every rejection path, canonicalisation details, and requests
 * signed by botocore (s3_vectors.py).
 */


#include "ingest_sigv4.h"
#include "ingest_awschunked.h"
#include "ingest_s3xml.h"
#include "test.h"

#include <openssl/evp.h>


#define AKID        "AKIAIOSFODNN7EXAMPLE"
#define SECRET      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T20130524   INT64_C(1369353600)
#define EMPTY_SHA   INGEST_SIGV4_EMPTY_SHA256
#define ZEROS                                                                 \
    "0000000000000000000000000000000000000000000000000000000000000000"
#define SCOPE       "/20130524/us-east-1/s3/aws4_request"
#define CRED        "Credential=" AKID SCOPE


/* a request under test, in mutable buffers */
typedef struct {
    char     method[16];
    char     path[1024];
    char     query[8192];
    size_t   n;
    char     name[80][1100];
    char     value[80][2048];
    int64_t  now;
    int      any_key;       /* the lookup knows every access key */
} treq_t;

typedef struct {
    const char  *akid;      /* NULL: any */
    const char  *secret;
    int          calls;
} lookup_t;


static void tr_init(treq_t *tr, const char *method, const char *path,
    const char *query, int64_t now);
static void tr_add(treq_t *tr, const char *name, const char *value);
static void tr_set(treq_t *tr, const char *name, const char *value);
static void tr_del(treq_t *tr, const char *name);
static ingest_s3_rc_t tr_run(treq_t *tr, const ingest_sigv4_conf_t *conf,
    const char *secret, ingest_sigv4_auth_t *auth, unsigned char *key);
static ingest_s3_rc_t tr_parse(treq_t *tr, const ingest_sigv4_conf_t *conf,
    ingest_sigv4_auth_t *auth);
static void tr_sign(treq_t *tr, const ingest_sigv4_conf_t *conf,
    const char *secret);
static void tr_canonical(treq_t *tr, char *out, size_t cap);
static ingest_s3_rc_t lookup_key(void *data, const ingest_sigv4_auth_t *auth,
    unsigned char *key);
static void tr_get_object(treq_t *tr);
static void tr_header_auth(treq_t *tr, const char *signed_headers);
static void tr_presigned(treq_t *tr, const char *extra, const char *expires);
static int hexdec(const char *s, unsigned char *out, size_t cap);
static void test_doc_examples(void);
static void test_doc_presigned(void);
static void test_doc_streaming_seeds(void);
static void test_signing_key(void);
static void test_mechanism(void);
static void test_header_malformed(void);
static void test_credential(void);
static void test_signed_headers(void);
static void test_dates(void);
static void test_content_sha256(void);
static void test_request_headers(void);
static void test_mismatch(void);
static void test_query(void);
static void test_canonical(void);
static void test_botocore(void);
static void test_sigv4(void);


static treq_t  tr, tr2;


static void
tr_init(treq_t *t, const char *method, const char *path, const char *query,
    int64_t now)
{
    memset(t, 0, sizeof(treq_t));
    snprintf(t->method, sizeof(t->method), "%s", method);
    snprintf(t->path, sizeof(t->path), "%s", path);
    snprintf(t->query, sizeof(t->query), "%s", query);
    t->now = now;
}


static void
tr_add(treq_t *t, const char *name, const char *value)
{
    if (t->n == 80) {
        TEST_FAIL("too many headers: %s", name);
        return;
    }

    snprintf(t->name[t->n], sizeof(t->name[0]), "%s", name);
    snprintf(t->value[t->n], sizeof(t->value[0]), "%s", value);
    t->n++;
}


static void
tr_set(treq_t *t, const char *name, const char *value)
{
    size_t  i;

    for (i = 0; i < t->n; i++) {
        if (strcasecmp(t->name[i], name) == 0) {
            snprintf(t->value[i], sizeof(t->value[0]), "%s", value);
            return;
        }
    }

    tr_add(t, name, value);
}


static void
tr_del(treq_t *t, const char *name)
{
    size_t  i;

    for (i = 0; i < t->n; i++) {
        if (strcasecmp(t->name[i], name) == 0) {
            memmove(t->name[i], t->name[i + 1],
                    (t->n - i - 1) * sizeof(t->name[0]));
            memmove(t->value[i], t->value[i + 1],
                    (t->n - i - 1) * sizeof(t->value[0]));
            t->n--;
            return;
        }
    }
}


/*
 * Runs parse, key lookup and verify on heap copies of exactly the
 * request's bytes (ASan catches reads past them).
 */

static ingest_s3_rc_t
tr_run(treq_t *t, const ingest_sigv4_conf_t *conf, const char *secret,
    ingest_sigv4_auth_t *auth, unsigned char *key)
{
    size_t                  i;
    lookup_t                lk;
    ingest_s3_rc_t          rc;
    ingest_s3_header_t      h[80];
    ingest_sigv4_request_t  req;

    memset(&req, 0, sizeof(req));

    req.method.len = strlen(t->method);
    req.method.data = test_dup(t->method, req.method.len);
    req.path.len = strlen(t->path);
    req.path.data = test_dup(t->path, req.path.len);
    req.query.len = strlen(t->query);
    req.query.data = test_dup(t->query, req.query.len);

    for (i = 0; i < t->n; i++) {
        h[i].name.len = strlen(t->name[i]);
        h[i].name.data = test_dup(t->name[i], h[i].name.len);
        h[i].value.len = strlen(t->value[i]);
        h[i].value.data = test_dup(t->value[i], h[i].value.len);
    }

    req.headers = h;
    req.nheaders = t->n;
    req.now = t->now;

    lk.akid = t->any_key ? NULL : AKID;
    lk.secret = secret;
    lk.calls = 0;

    if (secret == NULL) {
        rc = ingest_sigv4_parse(&req, conf, auth);

    } else {
        rc = ingest_sigv4_authenticate(&req, conf, lookup_key, &lk, auth,
                                       key);
    }

    free((void *) req.method.data);
    free((void *) req.path.data);
    free((void *) req.query.data);

    for (i = 0; i < t->n; i++) {
        free((void *) h[i].name.data);
        free((void *) h[i].value.data);
    }

    return rc;
}


static ingest_s3_rc_t
tr_parse(treq_t *t, const ingest_sigv4_conf_t *conf,
    ingest_sigv4_auth_t *auth)
{
    return tr_run(t, conf, NULL, auth, NULL);
}


static ingest_s3_rc_t
lookup_key(void *data, const ingest_sigv4_auth_t *auth, unsigned char *key)
{
    lookup_t  *lk;

    lk = data;
    lk->calls++;

    if (lk->akid != NULL
        && (auth->access_key_len != strlen(lk->akid)
            || memcmp(auth->access_key, lk->akid, auth->access_key_len) != 0))
    {
        return INGEST_S3_INVALID_ACCESS_KEY;
    }

    if (ingest_sigv4_auth_key(auth, (const unsigned char *) lk->secret,
                              strlen(lk->secret), key)
        != 0)
    {
        return INGEST_S3_INTERNAL_ERROR;
    }

    return INGEST_S3_OK;
}


/*
 * Replaces the ZEROS placeholder signature (Authorization header or
 * X-Amz-Signature) with the right one.
 */

static void
tr_sign(treq_t *t, const ingest_sigv4_conf_t *conf, const char *secret)
{
    char                    *z;
    size_t                   i;
    ingest_s3_rc_t           rc;
    ingest_s3_header_t       h[80];
    ingest_sigv4_auth_t      auth;
    ingest_sigv4_request_t   req;
    unsigned char            key[32], sig[32], hex[65];

    rc = tr_parse(t, conf, &auth);
    if (rc != INGEST_S3_OK) {
        TEST_FAIL("tr_sign: parse %s", ingest_s3_error_code(rc));
        return;
    }

    memset(&req, 0, sizeof(req));
    req.method.data = (unsigned char *) t->method;
    req.method.len = strlen(t->method);
    req.path.data = (unsigned char *) t->path;
    req.path.len = strlen(t->path);
    req.query.data = (unsigned char *) t->query;
    req.query.len = strlen(t->query);

    for (i = 0; i < t->n; i++) {
        h[i].name.data = (unsigned char *) t->name[i];
        h[i].name.len = strlen(t->name[i]);
        h[i].value.data = (unsigned char *) t->value[i];
        h[i].value.len = strlen(t->value[i]);
    }

    req.headers = h;
    req.nheaders = t->n;
    req.now = t->now;

    if (ingest_sigv4_auth_key(&auth, (const unsigned char *) secret,
                              strlen(secret), key) != 0
        || ingest_sigv4_signature(&req, &auth, key, sig) != 0)
    {
        TEST_FAIL("tr_sign: %s", "signature");
        return;
    }

    ingest_sigv4_hex(hex, sig, 32);
    hex[64] = '\0';

    z = strstr(t->query, ZEROS);
    if (z != NULL) {
        memcpy(z, hex, 64);
        return;
    }

    for (i = 0; i < t->n; i++) {
        z = strstr(t->value[i], ZEROS);
        if (z != NULL && strcasecmp(t->name[i], "authorization") == 0) {
            memcpy(z, hex, 64);
            return;
        }
    }

    TEST_FAIL("tr_sign: %s", "no placeholder");
}


static void
tr_canonical(treq_t *t, char *out, size_t cap)
{
    size_t                   i, n;
    ingest_s3_rc_t           rc;
    ingest_s3_header_t       h[80];
    ingest_sigv4_auth_t      auth;
    ingest_sigv4_request_t   req;
    ingest_sigv4_conf_t      conf;

    out[0] = '\0';

    memset(&conf, 0, sizeof(conf));
    conf.allow_unsigned_amz = 1;

    rc = tr_parse(t, &conf, &auth);
    if (rc != INGEST_S3_OK) {
        TEST_FAIL("tr_canonical: parse %s", ingest_s3_error_code(rc));
        return;
    }

    memset(&req, 0, sizeof(req));
    req.method.data = (unsigned char *) t->method;
    req.method.len = strlen(t->method);
    req.path.data = (unsigned char *) t->path;
    req.path.len = strlen(t->path);
    req.query.data = (unsigned char *) t->query;
    req.query.len = strlen(t->query);

    for (i = 0; i < t->n; i++) {
        h[i].name.data = (unsigned char *) t->name[i];
        h[i].name.len = strlen(t->name[i]);
        h[i].value.data = (unsigned char *) t->value[i];
        h[i].value.len = strlen(t->value[i]);
    }

    req.headers = h;
    req.nheaders = t->n;

    n = ingest_sigv4_canonical_request(&req, &auth, (unsigned char *) out,
                                       cap - 1);
    out[n < cap - 1 ? n : cap - 1] = '\0';
}


/* the S3 documentation's GET Object example, headers only */

static void
tr_get_object(treq_t *t)
{
    tr_init(t, "GET", "/test.txt", "", T20130524);
    tr_add(t, "Host", "examplebucket.s3.amazonaws.com");
    tr_add(t, "Range", "bytes=0-9");
    tr_add(t, "x-amz-content-sha256", EMPTY_SHA);
    tr_add(t, "x-amz-date", "20130524T000000Z");
}


static void
tr_header_auth(treq_t *t, const char *signed_headers)
{
    char  v[2048];

    snprintf(v, sizeof(v), "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=%s, "
             "Signature=" ZEROS, signed_headers);
    tr_set(t, "Authorization", v);
}


/* the S3 documentation's presigned GET; extra: more query parameters */

static void
tr_presigned(treq_t *t, const char *extra, const char *expires)
{
    tr_init(t, "GET", "/test.txt", "", T20130524);
    snprintf(t->query, sizeof(t->query),
             "%sX-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=" AKID "%%2F20130524%%2Fus-east-1%%2Fs3"
             "%%2Faws4_request&X-Amz-Date=20130524T000000Z"
             "&X-Amz-Expires=%s&X-Amz-SignedHeaders=host"
             "&X-Amz-Signature=" ZEROS, extra, expires);
    tr_add(t, "Host", "examplebucket.s3.amazonaws.com");
}


static int
hexdec(const char *s, unsigned char *out, size_t cap)
{
    size_t        i, n;
    unsigned int  b;

    if (strcmp(s, "-") == 0) {
        return 0;
    }

    n = strlen(s);

    if (n % 2 != 0 || n / 2 > cap) {
        return -1;
    }

    for (i = 0; i < n / 2; i++) {
        if (sscanf(s + 2 * i, "%2x", &b) != 1) {
            return -1;
        }

        out[i] = (unsigned char) b;
    }

    return (int) (n / 2);
}


static void
test_doc_examples(void)
{
    char                 cr[4096];
    unsigned char        key[32];
    ingest_sigv4_auth_t  auth;

    /* GET Object */

    tr_get_object(&tr);
    tr_add(&tr, "Authorization",
           "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;"
           "x-amz-content-sha256;x-amz-date,Signature="
           "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_SHA256);
    CHECK_INT(auth.presigned, 0);
    CHECK_INT(auth.time, T20130524);
    CHECK_MEM(auth.access_key, auth.access_key_len, AKID);
    CHECK_MEM(auth.region, auth.region_len, "us-east-1");
    CHECK_MEM(auth.service, auth.service_len, "s3");
    CHECK_MEM(auth.scope, auth.scope_len, "20130524/us-east-1/s3/aws4_request");
    CHECK_INT(auth.nsigned, 4);

    tr_canonical(&tr, cr, sizeof(cr));
    CHECK_MEM(cr, strlen(cr),
              "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
              "range:bytes=0-9\nx-amz-content-sha256:" EMPTY_SHA "\n"
              "x-amz-date:20130524T000000Z\n\n"
              "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);

    /* the same with the other spellings of the header */

    tr_set(&tr, "Authorization",
           "AWS4-HMAC-SHA256  Credential=" AKID SCOPE ",   SignedHeaders=host;"
           "range;x-amz-content-sha256;x-amz-date ,Signature="
           "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41 ");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    tr_set(&tr, "Authorization",
           "AWS4-HMAC-SHA256 Signature="
           "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
           ", " CRED ", SignedHeaders=host;range;x-amz-content-sha256;"
           "x-amz-date");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    /* PUT Object: a "$" in the key, Date and x-amz-date, a body hash */

    tr_init(&tr, "PUT", "/test%24file.text", "", T20130524);
    tr_add(&tr, "Host", "examplebucket.s3.amazonaws.com");
    tr_add(&tr, "Date", "Fri, 24 May 2013 00:00:00 GMT");
    tr_add(&tr, "x-amz-date", "20130524T000000Z");
    tr_add(&tr, "x-amz-storage-class", "REDUCED_REDUNDANCY");
    tr_add(&tr, "x-amz-content-sha256",
           "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    tr_add(&tr, "Authorization",
           "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=date;host;"
           "x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature="
           "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");

    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_SHA256);
    CHECK_INT(auth.payload_sha256[0], 0x44);
    CHECK_INT(auth.payload_sha256[31], 0x72);

    tr_canonical(&tr, cr, sizeof(cr));
    CHECK(strncmp(cr, "PUT\n/test%24file.text\n\ndate:", 28) == 0);

    /* as sent by a client that does not escape "$" */

    snprintf(tr.path, sizeof(tr.path), "/test$file.text");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    snprintf(tr.path, sizeof(tr.path), "/test%%24file.txt");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    /* GET Bucket Lifecycle: a sub-resource without value */

    tr_init(&tr, "GET", "/", "lifecycle", T20130524);
    tr_add(&tr, "Host", "examplebucket.s3.amazonaws.com");
    tr_add(&tr, "x-amz-date", "20130524T000000Z");
    tr_add(&tr, "x-amz-content-sha256", EMPTY_SHA);
    tr_add(&tr, "Authorization",
           "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;"
           "x-amz-content-sha256;x-amz-date,Signature="
           "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    tr_canonical(&tr, cr, sizeof(cr));
    CHECK(strncmp(cr, "GET\n/\nlifecycle=\n", 17) == 0);

    snprintf(tr.query, sizeof(tr.query), "lifecycle=");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    /* GET Bucket (List Objects): parameters sorted */

    tr_init(&tr, "GET", "/", "max-keys=2&prefix=J", T20130524);
    tr_add(&tr, "Host", "examplebucket.s3.amazonaws.com");
    tr_add(&tr, "x-amz-date", "20130524T000000Z");
    tr_add(&tr, "x-amz-content-sha256", EMPTY_SHA);
    tr_add(&tr, "Authorization",
           "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;"
           "x-amz-content-sha256;x-amz-date,Signature="
           "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    snprintf(tr.query, sizeof(tr.query), "prefix=J&max-keys=2");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    snprintf(tr.query, sizeof(tr.query), "prefix=%%4a&max-keys=%%32");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    snprintf(tr.query, sizeof(tr.query), "prefix=K&max-keys=2");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);
}


static void
test_doc_presigned(void)
{
    char                 cr[4096];
    unsigned char        key[32];
    ingest_sigv4_auth_t  auth;

    static const char  sig[] =
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    tr_presigned(&tr, "", "86400");
    memcpy(strstr(tr.query, ZEROS), sig, 64);

    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    CHECK_INT(auth.presigned, 1);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_UNSIGNED);
    CHECK_INT(auth.expires, T20130524 + 86400);

    tr_canonical(&tr, cr, sizeof(cr));
    CHECK_MEM(cr, strlen(cr),
              "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&"
              "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
              "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
              "X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
              "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");

    /* valid until the last second, then "Request has expired" */

    tr.now = T20130524 + 86400;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    tr.now = T20130524 + 86401;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_EXPIRED);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_EXPIRED), 403);

    /* a little early is clock skew, more is not yet valid */

    tr.now = T20130524 - 900;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    tr.now = T20130524 - 901;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_NOT_YET_VALID);

    /* tampered: a longer life, another key */

    tr.now = T20130524 + 10;
    *strstr(tr.query, "86400") = '9';
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    tr_presigned(&tr, "", "86400");
    memcpy(strstr(tr.query, ZEROS), sig, 64);
    tr.now = T20130524 + 10;
    snprintf(tr.path, sizeof(tr.path), "/test.txu");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    /* the signature parameter may come first, names may be escaped */

    tr_init(&tr, "GET", "/test.txt", "", T20130524);
    snprintf(tr.query, sizeof(tr.query),
             "X-Amz-Signature=%s&X-Amz-SignedHeaders=host&X-Amz-Expires=86400"
             "&X-Amz-Date=20130524T000000Z&X-Amz-Credential=" AKID
             "/20130524/us-east-1/s3/aws4_request"
             "&X-Amz-%%41lgorithm=AWS4-HMAC-SHA256", sig);
    tr_add(&tr, "host", "examplebucket.s3.amazonaws.com");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
}


/*
 * The seed (request) signatures of the chunked upload examples: the
 * chunks themselves are in test_awschunked.
 */

static void
test_doc_streaming_seeds(void)
{
    char                 sts[1024];
    size_t               i, n;
    unsigned char        key[32];
    ingest_s3_header_t   h[80];
    ingest_sigv4_auth_t  auth;
    ingest_sigv4_request_t  req;

    tr_init(&tr, "PUT", "/examplebucket/chunkObject.txt", "", T20130524);
    tr_add(&tr, "Host", "s3.amazonaws.com");
    tr_add(&tr, "x-amz-date", "20130524T000000Z");
    tr_add(&tr, "x-amz-storage-class", "REDUCED_REDUNDANCY");
    tr_add(&tr, "Authorization",
           "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=content-encoding;"
           "content-length;host;x-amz-content-sha256;x-amz-date;"
           "x-amz-decoded-content-length;x-amz-storage-class,Signature="
           "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    tr_add(&tr, "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    tr_add(&tr, "Content-Encoding", "aws-chunked");
    tr_add(&tr, "x-amz-decoded-content-length", "66560");
    tr_add(&tr, "Content-Length", "66824");

    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_STREAMING);
    CHECK(ingest_sigv4_payload_chunked(auth.payload));

    /* the string to sign the documentation shows */

    memset(&req, 0, sizeof(req));
    req.method.data = (unsigned char *) tr.method;
    req.method.len = strlen(tr.method);
    req.path.data = (unsigned char *) tr.path;
    req.path.len = strlen(tr.path);

    for (i = 0; i < tr.n; i++) {
        h[i].name.data = (unsigned char *) tr.name[i];
        h[i].name.len = strlen(tr.name[i]);
        h[i].value.data = (unsigned char *) tr.value[i];
        h[i].value.len = strlen(tr.value[i]);
    }

    req.headers = h;
    req.nheaders = tr.n;

    n = ingest_sigv4_string_to_sign(&req, &auth, (unsigned char *) sts,
                                    sizeof(sts));
    CHECK_MEM(sts, n, "AWS4-HMAC-SHA256\n20130524T000000Z\n"
              "20130524/us-east-1/s3/aws4_request\n"
              "cee3fed04b70f867d036f722359b0b1f"
              "2f0e5dc0efadbc082b76c4c60e316455");

    /* a cut buffer: the full length, the beginning written */

    memset(sts, 'Z', sizeof(sts));
    CHECK_U64(ingest_sigv4_string_to_sign(&req, &auth, (unsigned char *) sts,
                                          10), n);
    CHECK(memcmp(sts, "AWS4-HMAC-Z", 11) == 0);
    CHECK_U64(ingest_sigv4_string_to_sign(&req, &auth, NULL, 0), n);

    /* with a signed trailer */

    tr_init(&tr, "PUT", "/examplebucket/chunkObject.txt", "", T20130524);
    tr_add(&tr, "Host", "s3.amazonaws.com");
    tr_add(&tr, "x-amz-date", "20130524T000000Z");
    tr_add(&tr, "x-amz-storage-class", "REDUCED_REDUNDANCY");
    tr_add(&tr, "Authorization",
           "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=content-encoding;host;"
           "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
           "x-amz-storage-class;x-amz-trailer,Signature="
           "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
    tr_add(&tr, "x-amz-content-sha256",
           "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");
    tr_add(&tr, "Content-Encoding", "aws-chunked");
    tr_add(&tr, "x-amz-decoded-content-length", "66560");
    tr_add(&tr, "x-amz-trailer", "x-amz-checksum-crc32c");
    tr_add(&tr, "Content-Length", "66824");

    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER);
}


static void
test_signing_key(void)
{
    unsigned char  key[32], hex[65];

    /* the general SigV4 documentation's example (IAM, 20150830) */

    CHECK_INT(ingest_sigv4_signing_key(
                  (const unsigned char *)
                  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 40,
                  (const unsigned char *) "20150830",
                  (const unsigned char *) "us-east-1", 9,
                  (const unsigned char *) "iam", 3, key), 0);
    ingest_sigv4_hex(hex, key, 32);
    CHECK_MEM(hex, 64,
              "c4afb1cc5771d871763a393e44b70357"
              "1b55cc28424d1a5e86da6ed3c154a4b9");

    /* the S3 examples' key */

    CHECK_INT(ingest_sigv4_signing_key((const unsigned char *) SECRET, 40,
                                       (const unsigned char *) "20130524",
                                       (const unsigned char *) "us-east-1", 9,
                                       (const unsigned char *) "s3", 2, key),
              0);
    ingest_sigv4_hex(hex, key, 32);
    CHECK_MEM(hex, 64,
              "dbb893acc010964918f1fd433add87c7"
              "0e8b0db6be30c1fbeafefa5ec6ba8378");

    /* secrets too long are refused, an empty one is fine */

    CHECK_INT(ingest_sigv4_signing_key((const unsigned char *) "", 0,
                                       (const unsigned char *) "20130524",
                                       (const unsigned char *) "r", 1,
                                       (const unsigned char *) "s3", 2, key),
              0);

    {
        unsigned char  big[INGEST_SIGV4_SECRET_MAX + 1];

        memset(big, 'k', sizeof(big));
        CHECK_INT(ingest_sigv4_signing_key(big, sizeof(big),
                                           (const unsigned char *) "20130524",
                                           (const unsigned char *) "r", 1,
                                           (const unsigned char *) "s3", 2,
                                           key),
                  -1);
        CHECK_INT(ingest_sigv4_signing_key(big, sizeof(big) - 1,
                                           (const unsigned char *) "20130524",
                                           (const unsigned char *) "r", 1,
                                           (const unsigned char *) "s3", 2,
                                           key),
                  0);
    }
}


static void
test_mechanism(void)
{
    unsigned char        key[32];
    ingest_sigv4_auth_t  auth;

    tr_get_object(&tr);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_ACCESS_DENIED);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_ACCESS_DENIED), 403);

    tr_set(&tr, "Authorization", "AWS " AKID ":frJIUN8DYpKDtOLCwo//yllqDzg=");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_MECHANISM);

    tr_set(&tr, "Authorization", "Bearer abc");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_MECHANISM);

    tr_set(&tr, "Authorization", "AWS4-HMAC-SHA256");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_MECHANISM);

    tr_set(&tr, "Authorization", "AWS4-HMAC-SHA256Credential=x");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_MECHANISM);

    tr_set(&tr, "Authorization", "AWS4-ECDSA-P256-SHA256 Credential=x");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_SIGV4A);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_SIGV4A), 501);

    /* SigV2 query authentication */

    tr_get_object(&tr);
    snprintf(tr.query, sizeof(tr.query), "AWSAccessKeyId=" AKID
             "&Expires=1141889120"
             "&Signature=vjbyPxybdZaNmGa%%2ByT272YEAiv4%%3D");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_MECHANISM);

    /* both at once */

    tr_presigned(&tr, "", "60");
    tr_header_auth(&tr, "host");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_CONFLICT);

    /* two Authorization headers */

    tr_get_object(&tr);
    tr_header_auth(&tr, "host;x-amz-date");
    tr_add(&tr, "authorization", tr.value[tr.n - 1]);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_MALFORMED);

    /* a working request for the key lookup */

    tr_get_object(&tr);
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    tr_sign(&tr, NULL, SECRET);
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    *strstr(tr.value[tr.n - 1], "AKIA") = 'B';
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_INVALID_ACCESS_KEY);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_INVALID_ACCESS_KEY), 403);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_INVALID_ACCESS_KEY),
                 "InvalidAccessKeyId") == 0);
}


static void
test_header_malformed(void)
{
    size_t               i;
    ingest_sigv4_auth_t  auth;

    static const char  *bad[] = {
        /* missing, repeated, unknown components */
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host",
        "AWS4-HMAC-SHA256 " CRED ", Signature=" ZEROS,
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" ZEROS,
        "AWS4-HMAC-SHA256 " CRED ", " CRED ", SignedHeaders=host, Signature="
            ZEROS,
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=" ZEROS
            ", Foo=bar",
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=" ZEROS ",",
        "AWS4-HMAC-SHA256 " CRED ",, SignedHeaders=host, Signature=" ZEROS,
        "AWS4-HMAC-SHA256 credential=" AKID SCOPE ", SignedHeaders=host, "
            "Signature=" ZEROS,
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature",
        "AWS4-HMAC-SHA256 " CRED " SignedHeaders=host Signature=" ZEROS,
        "AWS4-HMAC-SHA256 ,",
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host,range, Signature="
            ZEROS,
        /* the signature: 64 hex digits */
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=" ZEROS "0",
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=abc",
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=",
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
            "g000000000000000000000000000000000000000000000000000000000000000",
        NULL
    };

    for (i = 0; bad[i] != NULL; i++) {
        tr_get_object(&tr);
        tr_set(&tr, "Authorization", bad[i]);

        if (tr_parse(&tr, NULL, &auth) != INGEST_S3_AUTH_MALFORMED) {
            TEST_FAIL("not malformed: %s", bad[i]);
        } else {
            test_passed++;
        }
    }

    CHECK_INT(ingest_s3_http_status(INGEST_S3_AUTH_MALFORMED), 400);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_AUTH_MALFORMED),
                 "AuthorizationHeaderMalformed") == 0);
}


static void
test_credential(void)
{
    size_t               i;
    char                 v[1024];
    ingest_str_t         s3;
    ingest_sigv4_auth_t  auth;
    ingest_sigv4_conf_t  conf;

    static const char  *bad[] = {
        AKID "/20130524/us-east-1/s3",
        AKID "/20130524/us-east-1/s3/aws4_request/x",
        "/20130524/us-east-1/s3/aws4_request",
        AKID "//us-east-1/s3/aws4_request",
        AKID "/2013052/us-east-1/s3/aws4_request",
        AKID "/20131324/us-east-1/s3/aws4_request",
        AKID "/20130230/us-east-1/s3/aws4_request",
        AKID "/2013O524/us-east-1/s3/aws4_request",
        AKID "/20130524//s3/aws4_request",
        AKID "/20130524/us east/s3/aws4_request",
        AKID "/20130524/us-east-1//aws4_request",
        AKID "/20130524/us-east-1/s3/aws4_reques",
        AKID "/20130524/us-east-1/s3/AWS4_REQUEST",
        AKID "/20130524/us-east-1/s3/",
        "AKIA EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "AKIA\001/20130524/us-east-1/s3/aws4_request",
        AKID "/20130524/"
            "r23456789012345678901234567890123456789012345678901234567890123"
            "45/s3/aws4_request",
        NULL
    };

    for (i = 0; bad[i] != NULL; i++) {
        tr_get_object(&tr);
        snprintf(v, sizeof(v), "AWS4-HMAC-SHA256 Credential=%s, "
                 "SignedHeaders=host, Signature=" ZEROS, bad[i]);
        tr_set(&tr, "Authorization", v);

        if (tr_parse(&tr, NULL, &auth) != INGEST_S3_AUTH_CREDENTIAL) {
            TEST_FAIL("credential accepted: %s", bad[i]);
        } else {
            test_passed++;
        }
    }

    /* an access key of 128 bytes is fine, 129 is not */

    tr_get_object(&tr);
    memset(v, 0, sizeof(v));
    strcpy(v, "AWS4-HMAC-SHA256 Credential=");
    memset(v + strlen(v), 'K', 128);
    strcat(v, SCOPE ", SignedHeaders=host;range;x-amz-content-sha256;"
           "x-amz-date, Signature=" ZEROS);
    tr_set(&tr, "Authorization", v);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_OK);
    CHECK_U64(auth.access_key_len, 128);

    memmove(strchr(v, 'K') + 1, strchr(v, 'K'), strlen(strchr(v, 'K')) + 1);
    tr_set(&tr, "Authorization", v);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_CREDENTIAL);

    /* region and service */

    memset(&conf, 0, sizeof(conf));
    conf.region.data = (const unsigned char *) "eu-west-1";
    conf.region.len = 9;

    tr_get_object(&tr);
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    CHECK_INT(tr_parse(&tr, &conf, &auth), INGEST_S3_AUTH_REGION);

    conf.region.data = (const unsigned char *) "us-east-1";
    CHECK_INT(tr_parse(&tr, &conf, &auth), INGEST_S3_OK);

    conf.region.data = (const unsigned char *) "us-east-12";
    conf.region.len = 10;
    CHECK_INT(tr_parse(&tr, &conf, &auth), INGEST_S3_AUTH_REGION);

    tr_set(&tr, "Authorization", "AWS4-HMAC-SHA256 Credential=" AKID
           "/20130524/us-east-1/iam/aws4_request, SignedHeaders=host;range;"
           "x-amz-content-sha256;x-amz-date, Signature=" ZEROS);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_SERVICE);

    s3.data = (const unsigned char *) "iam";
    s3.len = 3;
    memset(&conf, 0, sizeof(conf));
    conf.service = s3;
    CHECK_INT(tr_parse(&tr, &conf, &auth), INGEST_S3_OK);

    tr_set(&tr, "Authorization", "AWS4-HMAC-SHA256 Credential=" AKID
           "/20130524/us-east-1/S3/aws4_request, SignedHeaders=host, "
           "Signature=" ZEROS);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_SERVICE);
}


static void
test_signed_headers(void)
{
    size_t               i;
    char                 list[2048];
    ingest_sigv4_auth_t  auth;

    static const char  *bad[] = {
        "range;host",
        "Host;range",
        "x-amz-date",
        "host;host",
        "host;;range",
        ";host",
        "host;",
        "host;x amz",
        "host;x:amz",
        "",
        NULL
    };

    for (i = 0; bad[i] != NULL; i++) {
        tr_get_object(&tr);
        tr_header_auth(&tr, bad[i]);

        if (tr_parse(&tr, NULL, &auth) != INGEST_S3_AUTH_SIGNED_HEADERS) {
            TEST_FAIL("signed headers accepted: \"%s\"", bad[i]);
        } else {
            test_passed++;
        }
    }

    /* "host" alone is enough; a prefix sorts first */

    tr_get_object(&tr);
    tr_header_auth(&tr, "host");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_HEADERS_NOT_SIGNED);

    tr_del(&tr, "x-amz-date");
    tr_del(&tr, "x-amz-content-sha256");
    tr_add(&tr, "Date", "Fri, 24 May 2013 00:00:00 GMT");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_NO_CONTENT_SHA256);

    tr_get_object(&tr);
    tr_add(&tr, "x-amz-d", "1");
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-d;x-amz-date");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_OK);
    CHECK_INT(auth.nsigned, 5);

    /* 64 names at most, 1024 bytes at most */

    tr_get_object(&tr);
    strcpy(list, "a00");

    for (i = 1; i < 63; i++) {
        sprintf(list + strlen(list), ";a%02zu", i);
        tr_add(&tr, list + strlen(list) - 3, "v");
    }

    tr_add(&tr, "a00", "v");
    strcat(list, ";host");
    tr_header_auth(&tr, list);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_HEADERS_NOT_SIGNED);

    strcat(list, ";x-amz-content-sha256");
    tr_header_auth(&tr, list);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_SIGNED_HEADERS);

    tr_get_object(&tr);
    memset(list, 0, sizeof(list));
    strcpy(list, "host;");
    memset(list + 5, 'x', 1019);
    tr_add(&tr, list + 5, "v");
    tr_header_auth(&tr, list);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_HEADERS_NOT_SIGNED);

    strcat(list, "y");
    tr_header_auth(&tr, list);
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_SIGNED_HEADERS);
}


static void
test_dates(void)
{
    unsigned char        key[32];
    ingest_sigv4_auth_t  auth;
    ingest_sigv4_conf_t  conf;

    static const char  *bad[] = {
        "20130524T000000", "20130524t000000Z", "2013-05-24T00:00:00Z",
        "20130524T240000Z", "20130524T006000Z", "20130524T000060Z",
        "20130229T000000Z", "19691231T235959Z", " 20130524T000000Z1",
        "", NULL
    };

    size_t  i;

    for (i = 0; bad[i] != NULL; i++) {
        tr_get_object(&tr);
        tr_set(&tr, "x-amz-date", bad[i]);
        tr_header_auth(&tr, "host;x-amz-date");

        if (tr_parse(&tr, NULL, &auth) != INGEST_S3_AUTH_NO_DATE) {
            TEST_FAIL("x-amz-date accepted: \"%s\"", bad[i]);
        } else {
            test_passed++;
        }
    }

    /* none, two */

    tr_get_object(&tr);
    tr_del(&tr, "x-amz-date");
    tr_header_auth(&tr, "host");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_NO_DATE);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_AUTH_NO_DATE), 403);

    tr_get_object(&tr);
    tr_add(&tr, "X-Amz-Date", "20130524T000000Z");
    tr_header_auth(&tr, "host;x-amz-date");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_NO_DATE);

    /* Date instead of x-amz-date, signed both ways */

    tr_get_object(&tr);
    tr_del(&tr, "x-amz-date");
    tr_add(&tr, "Date", "Fri, 24 May 2013 00:00:00 GMT");
    tr_header_auth(&tr, "date;host;range;x-amz-content-sha256");
    tr_sign(&tr, NULL, SECRET);
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    CHECK_INT(auth.time, T20130524);
    CHECK_MEM(auth.amz_date, 16, "20130524T000000Z");

    tr_set(&tr, "Date", "Fri, 24 May 2013 00:00:01 GMT");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    tr_set(&tr, "Date", "Fri, 24 May 2013 00:00:00 UTC");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_NO_DATE);

    tr_set(&tr, "Date", "Friday, 24-May-13 00:00:00 GMT");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_NO_DATE);

    /* the scope date is the request's date */

    tr_get_object(&tr);
    tr_set(&tr, "x-amz-date", "20130525T000000Z");
    tr.now = T20130524 + 86400;
    tr_header_auth(&tr, "host;x-amz-date");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_SCOPE_DATE);

    tr_set(&tr, "x-amz-date", "20130523T235959Z");
    tr.now = T20130524 - 1;
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_SCOPE_DATE);

    /* 15 minutes either way */

    tr_get_object(&tr);
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    tr_sign(&tr, NULL, SECRET);

    tr.now = T20130524 + 900;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    tr.now = T20130524 - 900;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    tr.now = T20130524 + 901;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_TIME_SKEWED);
    tr.now = T20130524 - 901;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_TIME_SKEWED);
    tr.now = 0;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_TIME_SKEWED);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_TIME_SKEWED), 403);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_TIME_SKEWED),
                 "RequestTimeTooSkewed") == 0);

    memset(&conf, 0, sizeof(conf));
    conf.max_skew = 60;
    tr.now = T20130524 + 60;
    CHECK_INT(tr_run(&tr, &conf, SECRET, &auth, key), INGEST_S3_OK);
    tr.now = T20130524 + 61;
    CHECK_INT(tr_run(&tr, &conf, SECRET, &auth, key), INGEST_S3_TIME_SKEWED);
}


static void
test_content_sha256(void)
{
    size_t               i;
    ingest_sigv4_auth_t  auth;

    static const struct {
        const char              *value;
        ingest_s3_rc_t           rc;
        ingest_sigv4_payload_t   payload;
    } cases[] = {
        { "UNSIGNED-PAYLOAD", INGEST_S3_OK, INGEST_SIGV4_PAYLOAD_UNSIGNED },
        { " UNSIGNED-PAYLOAD ", INGEST_S3_OK, INGEST_SIGV4_PAYLOAD_UNSIGNED },
        { "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", INGEST_S3_OK,
          INGEST_SIGV4_PAYLOAD_STREAMING },
        { "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", INGEST_S3_OK,
          INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER },
        { "STREAMING-UNSIGNED-PAYLOAD-TRAILER", INGEST_S3_OK,
          INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER },
        { EMPTY_SHA, INGEST_S3_OK, INGEST_SIGV4_PAYLOAD_SHA256 },
        { "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
          INGEST_S3_OK, INGEST_SIGV4_PAYLOAD_SHA256 },
        { "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", INGEST_S3_SIGV4A, 0 },
        { "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
          INGEST_S3_SIGV4A, 0 },
        { "unsigned-payload", INGEST_S3_AUTH_BAD_CONTENT_SHA256, 0 },
        { "UNSIGNED", INGEST_S3_AUTH_BAD_CONTENT_SHA256, 0 },
        { "STREAMING-UNSIGNED-PAYLOAD", INGEST_S3_AUTH_BAD_CONTENT_SHA256, 0 },
        { "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
          INGEST_S3_AUTH_BAD_CONTENT_SHA256, 0 },
        { "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
          INGEST_S3_AUTH_BAD_CONTENT_SHA256, 0 },
        { "x3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          INGEST_S3_AUTH_BAD_CONTENT_SHA256, 0 },
        { "", INGEST_S3_AUTH_BAD_CONTENT_SHA256, 0 },
        { NULL, 0, 0 }
    };

    for (i = 0; cases[i].value != NULL; i++) {
        tr_get_object(&tr);
        tr_set(&tr, "x-amz-content-sha256", cases[i].value);
        tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");

        if (tr_parse(&tr, NULL, &auth) != cases[i].rc
            || (cases[i].rc == INGEST_S3_OK
                && auth.payload != cases[i].payload))
        {
            TEST_FAIL("x-amz-content-sha256 \"%s\"", cases[i].value);
        } else {
            test_passed++;
        }
    }

    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_SHA256);

    tr_get_object(&tr);
    tr_del(&tr, "x-amz-content-sha256");
    tr_header_auth(&tr, "host;range;x-amz-date");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_NO_CONTENT_SHA256);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_AUTH_NO_CONTENT_SHA256), 400);

    tr_get_object(&tr);
    tr_add(&tr, "X-Amz-Content-SHA256", EMPTY_SHA);
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_AUTH_BAD_CONTENT_SHA256);
}


static void
test_request_headers(void)
{
    unsigned char        key[32];
    ingest_sigv4_auth_t  auth;
    ingest_sigv4_conf_t  conf;

    /* a signed header must be there */

    tr_get_object(&tr);
    tr_header_auth(&tr, "content-type;host;range;x-amz-content-sha256;"
                   "x-amz-date");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_SIGNED_HEADER_MISSING);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_SIGNED_HEADER_MISSING), 403);

    tr_add(&tr, "CONTENT-TYPE", "");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_OK);

    /* every x-amz-* header signed, unless allowed */

    tr_get_object(&tr);
    tr_add(&tr, "X-Amz-Meta-Title", "t");
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_HEADERS_NOT_SIGNED);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_HEADERS_NOT_SIGNED),
                 "AccessDenied") == 0);

    memset(&conf, 0, sizeof(conf));
    conf.allow_unsigned_amz = 1;
    tr_sign(&tr, &conf, SECRET);
    CHECK_INT(tr_run(&tr, &conf, SECRET, &auth, key), INGEST_S3_OK);

    /* not x-amz-: fine */

    tr_get_object(&tr);
    tr_add(&tr, "User-Agent", "aws-cli");
    tr_add(&tr, "x-amzn-trace-id", "Root=1");
    tr_add(&tr, "amz-sdk-request", "attempt=1");
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    tr_sign(&tr, NULL, SECRET);
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    /* URIs */

    tr_get_object(&tr);
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    snprintf(tr.path, sizeof(tr.path), "/a%%zzb");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_INVALID_URI);
    snprintf(tr.path, sizeof(tr.path), "/a%%4");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_INVALID_URI);
    snprintf(tr.path, sizeof(tr.path), "test.txt");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_INVALID_URI);
    snprintf(tr.path, sizeof(tr.path), "/test.txt");
    snprintf(tr.query, sizeof(tr.query), "a=%%");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_INVALID_URI);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_INVALID_URI), 400);

    {
        size_t  i;

        tr.query[0] = '\0';

        for (i = 0; i < INGEST_SIGV4_QUERY_PARAMS; i++) {
            sprintf(tr.query + strlen(tr.query), "%sp%zu", i ? "&" : "", i);
        }

        CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_OK);

        strcat(tr.query, "&one-more");
        CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_INVALID_URI);
    }
}


static void
test_mismatch(void)
{
    unsigned char        key[32];
    ingest_sigv4_auth_t  auth;

    tr_get_object(&tr);
    tr_add(&tr, "x-amz-meta-a", "  one   two\tthree  ");
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date;"
                   "x-amz-meta-a");
    tr_sign(&tr, NULL, SECRET);
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    /* white space inside a value: trimmed and collapsed, so it may vary */

    tr_set(&tr, "x-amz-meta-a", "one two three");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    tr_set(&tr, "x-amz-meta-a", "one two  three\t");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    tr_set(&tr, "x-amz-meta-a", "one twothree");
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);
    tr_set(&tr, "x-amz-meta-a", "one two three");

    /* a wrong secret, method, header, path, query */

    CHECK_INT(tr_run(&tr, NULL, SECRET "x", &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_SIGNATURE_MISMATCH),
                 "SignatureDoesNotMatch") == 0);

    memcpy(&tr2, &tr, sizeof(tr));
    snprintf(tr2.method, sizeof(tr2.method), "HEAD");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    memcpy(&tr2, &tr, sizeof(tr));
    tr_set(&tr2, "Range", "bytes=0-10");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    memcpy(&tr2, &tr, sizeof(tr));
    tr_set(&tr2, "Host", "evil.example.com");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    memcpy(&tr2, &tr, sizeof(tr));
    tr_add(&tr2, "range", "bytes=5-6");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    memcpy(&tr2, &tr, sizeof(tr));
    snprintf(tr2.path, sizeof(tr2.path), "/test.txt/");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    memcpy(&tr2, &tr, sizeof(tr));
    snprintf(tr2.path, sizeof(tr2.path), "/./test.txt");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    memcpy(&tr2, &tr, sizeof(tr));
    snprintf(tr2.query, sizeof(tr2.query), "a");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    memcpy(&tr2, &tr, sizeof(tr));
    tr_set(&tr2, "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    /* a flipped bit in the signature */

    memcpy(&tr2, &tr, sizeof(tr));
    {
        char  *sig = strstr(tr2.value[tr2.n - 1], "Signature=") + 10;

        sig[63] = (sig[63] == '0') ? '1' : '0';
    }
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    /* upper case hex in the signature is the same signature */

    memcpy(&tr2, &tr, sizeof(tr));
    {
        char  *s;

        for (s = strstr(tr2.value[tr2.n - 1], "Signature=") + 10; *s; s++) {
            if (*s >= 'a' && *s <= 'f') {
                *s -= 32;
            }
        }
    }
    CHECK_INT(tr_run(&tr2, NULL, SECRET, &auth, key), INGEST_S3_OK);
}


static void
test_query(void)
{
    size_t               i;
    char                *p;
    unsigned char        key[32];
    ingest_sigv4_auth_t  auth;
    ingest_sigv4_conf_t  conf;

    static const char  *names[] = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
        "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", NULL
    };

    /* each required parameter missing, each repeated */

    for (i = 0; names[i] != NULL; i++) {
        tr_presigned(&tr, "", "60");
        p = strstr(tr.query, names[i]);
        p[0] = 'Y';

        if (tr_parse(&tr, NULL, &auth)
            != (i == 0 ? INGEST_S3_ACCESS_DENIED : INGEST_S3_QUERY_MISSING))
        {
            TEST_FAIL("missing %s", names[i]);
        } else {
            test_passed++;
        }

        tr_presigned(&tr, "", "60");
        snprintf(tr.query + strlen(tr.query),
                 sizeof(tr.query) - strlen(tr.query), "&%s=x", names[i]);

        if (tr_parse(&tr, NULL, &auth) != INGEST_S3_QUERY_MALFORMED) {
            TEST_FAIL("repeated %s", names[i]);
        } else {
            test_passed++;
        }
    }

    CHECK_INT(ingest_s3_http_status(INGEST_S3_QUERY_MISSING), 400);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_QUERY_MISSING),
                 "AuthorizationQueryParametersError") == 0);

#define QCASE(from, to, rc)                                                   \
    do {                                                                      \
        char  *q_;                                                            \
        tr_presigned(&tr, "", "60");                                          \
        q_ = strstr(tr.query, from);                                          \
        if (q_ == NULL) {                                                     \
            TEST_FAIL("no %s", from);                                         \
            break;                                                            \
        }                                                                     \
        memmove(q_ + strlen(to), q_ + strlen(from),                           \
                strlen(q_ + strlen(from)) + 1);                               \
        memcpy(q_, to, strlen(to));                                           \
        CHECK_INT(tr_parse(&tr, NULL, &auth), rc);                            \
    } while (0)

    QCASE("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", INGEST_S3_QUERY_ALGORITHM);
    QCASE("AWS4-HMAC-SHA256", "aws4-hmac-sha256", INGEST_S3_QUERY_ALGORITHM);
    QCASE("=AWS4-HMAC-SHA256", "=", INGEST_S3_QUERY_ALGORITHM);
    QCASE("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", INGEST_S3_SIGV4A);
    QCASE("%2Fs3%2F", "%2Fiam%2F", INGEST_S3_QUERY_SERVICE);
    QCASE("%2Faws4_request", "%2Faws4", INGEST_S3_QUERY_CREDENTIAL);
    QCASE("%2F20130524%2F", "%2F2013052%2F", INGEST_S3_QUERY_CREDENTIAL);
    QCASE(AKID "%2F", "%2F", INGEST_S3_QUERY_CREDENTIAL);
    QCASE("Date=20130524T000000Z", "Date=20130524T000000",
          INGEST_S3_QUERY_DATE);
    QCASE("Date=20130524T000000Z", "Date=20130524T250000Z",
          INGEST_S3_QUERY_DATE);
    QCASE("Date=20130524T000000Z", "Date=20130525T000000Z",
          INGEST_S3_QUERY_SCOPE_DATE);
    QCASE("Expires=60", "Expires=0", INGEST_S3_QUERY_EXPIRES);
    QCASE("Expires=60", "Expires=-1", INGEST_S3_QUERY_EXPIRES);
    QCASE("Expires=60", "Expires=", INGEST_S3_QUERY_EXPIRES);
    QCASE("Expires=60", "Expires=6O", INGEST_S3_QUERY_EXPIRES);
    QCASE("Expires=60", "Expires=604801", INGEST_S3_QUERY_EXPIRES_TOO_LONG);
    QCASE("Expires=60", "Expires=99999999999999999999",
          INGEST_S3_QUERY_EXPIRES);
    QCASE("Expires=60", "Expires=604800", INGEST_S3_OK);
    QCASE("SignedHeaders=host", "SignedHeaders=range",
          INGEST_S3_QUERY_SIGNED_HEADERS);
    QCASE("SignedHeaders=host", "SignedHeaders=host%3Brange",
          INGEST_S3_SIGNED_HEADER_MISSING);
    QCASE("SignedHeaders=host", "SignedHeaders=x%3Bhost",
          INGEST_S3_QUERY_SIGNED_HEADERS);
    QCASE("Signature=0", "Signature=", INGEST_S3_QUERY_MALFORMED);
    QCASE("Signature=0", "Signature=x", INGEST_S3_QUERY_MALFORMED);
    QCASE("Signature=0", "Signature=%zz", INGEST_S3_INVALID_URI);
    QCASE("host&", "host&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&",
          INGEST_S3_OK);
    QCASE("host&", "host&X-Amz-Content-Sha256=nope&",
          INGEST_S3_QUERY_MALFORMED);

    memset(&conf, 0, sizeof(conf));
    conf.region.data = (const unsigned char *) "eu-west-1";
    conf.region.len = 9;
    tr_presigned(&tr, "", "60");
    CHECK_INT(tr_parse(&tr, &conf, &auth), INGEST_S3_QUERY_REGION);

    /* a presigned UploadPart; tampering with the part number */

    tr_presigned(&tr, "partNumber=3&uploadId=abc&", "3600");
    tr_sign(&tr, NULL, SECRET);
    tr.now = T20130524 + 100;
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);

    *strstr(tr.query, "partNumber=3") = 'P';
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key),
              INGEST_S3_SIGNATURE_MISMATCH);

    /* a signed payload hash in the query */

    tr_presigned(&tr, "X-Amz-Content-Sha256=" EMPTY_SHA "&", "60");
    tr_sign(&tr, NULL, SECRET);
    CHECK_INT(tr_run(&tr, NULL, SECRET, &auth, key), INGEST_S3_OK);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_SHA256);

    /* x-amz-* headers of a presigned request are signed too */

    tr_presigned(&tr, "", "60");
    tr_add(&tr, "x-amz-acl", "public-read");
    CHECK_INT(tr_parse(&tr, NULL, &auth), INGEST_S3_HEADERS_NOT_SIGNED);
}


static void
test_canonical(void)
{
    char  cr[8192];

    /* sorted by encoded name then value; escapes made canonical */

    tr_get_object(&tr);
    snprintf(tr.query, sizeof(tr.query),
             "b=2&a=1&a=0&A=3&uploads&a-b=x&a%%20b=y&%%7e=%%7E&c=%%2f+ &"
             "d=%%c3%%bc&&e=%%41%%42=&f=");
    tr_header_auth(&tr, "host;range;x-amz-content-sha256;x-amz-date");
    tr_canonical(&tr, cr, sizeof(cr));
    CHECK(strstr(cr, "\nA=3&a=0&a=1&a%20b=y&a-b=x&b=2&c=%2F%2B%20&"
                     "d=%C3%BC&e=AB%3D&f=&uploads=&~=~\n") != NULL);

    /* the path: decoded and encoded, "/" kept, "%2F" kept */

    snprintf(tr.path, sizeof(tr.path), "/b/a%%2fb/c d+e$%%7e%%41/./../x//");
    tr.query[0] = '\0';
    tr_canonical(&tr, cr, sizeof(cr));
    CHECK(strncmp(cr, "GET\n/b/a%2Fb/c%20d%2Be%24~A/./../x//\n\n", 37) == 0);

    snprintf(tr.path, sizeof(tr.path), "/\xc3\xbc\x7f");
    tr_canonical(&tr, cr, sizeof(cr));
    CHECK(strncmp(cr, "GET\n/%C3%BC%7F\n", 15) == 0);

    /* headers: values of a repeated header joined, in order */

    tr_get_object(&tr);
    tr_add(&tr, "X-Amz-Meta-List", " one ");
    tr_add(&tr, "x-amz-meta-list", "two  2");
    tr_add(&tr, "x-amz-meta-empty", "");
    tr_header_auth(&tr, "host;x-amz-date;x-amz-meta-empty;x-amz-meta-list");
    tr_canonical(&tr, cr, sizeof(cr));
    CHECK(strstr(cr, "\nx-amz-meta-empty:\nx-amz-meta-list:one,two 2\n\n"
                     "host;x-amz-date;x-amz-meta-empty;x-amz-meta-list\n")
          != NULL);

    /* presigned: X-Amz-Signature left out, however it is spelled */

    tr_presigned(&tr, "a=1&", "60");
    {
        char  *p = strstr(tr.query, "X-Amz-Signature");
        memmove(p + 9, p + 7, strlen(p + 7) + 1);
        memcpy(p, "X-Amz-%53", 9);
    }
    tr_canonical(&tr, cr, sizeof(cr));
    CHECK(strstr(cr, "Signature") == NULL);
    CHECK(strstr(cr, "\nX-Amz-Algorithm=AWS4-HMAC-SHA256&") != NULL);
    CHECK(strstr(cr, "&X-Amz-SignedHeaders=host&a=1\n") != NULL);
}


/*
 * Requests signed by botocore, as a boto3 client sends them; for those
 * with a body, the payload checks too.
 */

static void
test_botocore(void)
{
    int                      n, len, nparts, expect_parts, have_want;
    char                    *line, w[6][256];
    FILE                    *out;
    size_t                   cap, count, i, split;
    int64_t                  expires;
    uint64_t                 seed;
    unsigned char           *body, md[32], want[32], key[32], md5[16];
    unsigned char            secret[256], hv[2048];
    EVP_MD_CTX              *dmd;
    ingest_str_t             data;
    ingest_s3_rc_t           rc;
    ingest_s3_body_t         b;
    ingest_awschunked_t      ck;
    ingest_sigv4_auth_t      auth;
    ingest_s3_header_t       h[80];
    ingest_s3xml_part_t     *parts;
    const unsigned char     *p, *end;
    ingest_awschunked_status_t  st;
    char                     cmd[1024];

    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/s3_vectors.py'",
             TEST_SRCDIR);

    out = popen(cmd, "r");
    if (out == NULL) {
        TEST_FAIL("popen %s", cmd);
        return;
    }

    line = NULL;
    cap = 0;
    count = 0;
    len = 0;
    expires = 0;
    expect_parts = -1;
    have_want = 0;
    body = malloc(1 << 20);
    parts = malloc(INGEST_S3_MAX_PART_NUMBER * sizeof(ingest_s3xml_part_t));
    memset(want, 0, sizeof(want));
    memset(secret, 0, sizeof(secret));
    seed = 7;
    n = 0;

    while (getline(&line, &cap, out) > 0) {
        line[strcspn(line, "\n")] = '\0';

        if (strncmp(line, "vec ", 4) == 0) {
            long long  now, exp;

            if (sscanf(line, "vec %255s %lld %255s %255s %lld", w[0], &now,
                       w[1], w[2], &exp) != 5)
            {
                TEST_FAIL("bad line %s", line);
                break;
            }

            n = hexdec(w[1], secret, sizeof(secret) - 1);
            secret[n < 0 ? 0 : n] = '\0';
            tr_init(&tr, "", "", "", now);
            tr.any_key = 1;
            expires = exp;
            len = 0;
            expect_parts = -1;
            have_want = 0;
            continue;
        }

        if (line[0] == 'm') {
            snprintf(tr.method, sizeof(tr.method), "%s", line + 2);
            continue;
        }

        if (line[0] == 'p' || line[0] == 'q') {
            char  *dst = line[0] == 'p' ? tr.path : tr.query;

            n = hexdec(line + 2, (unsigned char *) dst, sizeof(tr.query) - 1);
            dst[n < 0 ? 0 : n] = '\0';
            continue;
        }

        if (line[0] == 'h') {
            char  *sp = strchr(line + 2, ' ');

            if (sp == NULL) {
                TEST_FAIL("bad line %s", line);
                continue;
            }

            *sp = '\0';
            n = hexdec(line + 2, (unsigned char *) w[3], 255);
            w[3][n < 0 ? 0 : n] = '\0';
            n = hexdec(sp + 1, hv, sizeof(hv) - 1);
            hv[n < 0 ? 0 : n] = '\0';
            tr_add(&tr, w[3], (char *) hv);
            continue;
        }

        if (line[0] == 'b') {
            len = hexdec(line + 2, body, 1 << 20);
            continue;
        }

        if (line[0] == 'd') {
            have_want = (hexdec(line + 2, want, sizeof(want)) == 32);
            continue;
        }

        if (line[0] == 'x') {
            expect_parts = atoi(line + 2);
            continue;
        }

        if (strcmp(line, "end") != 0) {
            TEST_FAIL("bad line %s", line);
            continue;
        }

        /* a whole request: verify it */

        count++;
        rc = tr_run(&tr, NULL, (char *) secret, &auth, key);

        if (rc != INGEST_S3_OK) {
            TEST_FAIL("botocore %s: %s", w[0], ingest_s3_error_message(rc));
            continue;
        }

        test_passed++;

        CHECK_INT(tr_run(&tr, NULL, "not the secret", &auth, key),
                  INGEST_S3_SIGNATURE_MISMATCH);

        memcpy(&tr2, &tr, sizeof(tr));
        strcat(tr2.path, "x");
        CHECK_INT(tr_run(&tr2, NULL, (char *) secret, &auth, key),
                  INGEST_S3_SIGNATURE_MISMATCH);

        if (expires != 0) {
            CHECK_INT(auth.presigned, 1);
            memcpy(&tr2, &tr, sizeof(tr));
            tr2.now += expires;
            CHECK_INT(tr_run(&tr2, NULL, (char *) secret, &auth, key),
                      INGEST_S3_OK);
            tr2.now++;
            CHECK_INT(tr_run(&tr2, NULL, (char *) secret, &auth, key),
                      INGEST_S3_EXPIRED);
            CHECK_INT(tr_run(&tr, NULL, (char *) secret, &auth, key),
                      INGEST_S3_OK);
        }

        for (i = 0; i < tr.n; i++) {
            h[i].name.data = (unsigned char *) tr.name[i];
            h[i].name.len = strlen(tr.name[i]);
            h[i].value.data = (unsigned char *) tr.value[i];
            h[i].value.len = strlen(tr.value[i]);
        }

        if (ingest_sigv4_payload_chunked(auth.payload)) {

            /* unsigned aws-chunked with a checksum trailer */

            CHECK_INT(ingest_awschunked_init(&ck, &auth, key, h, tr.n),
                      INGEST_S3_OK);
            dmd = EVP_MD_CTX_new();
            EVP_DigestInit_ex(dmd, EVP_sha256(), NULL);
            CHECK_INT(ingest_s3_body_init(&b, h, tr.n, NULL), INGEST_S3_OK);

            p = body;
            end = body + len;
            st = INGEST_AWSCHUNKED_AGAIN;

            while (p < end || st == INGEST_AWSCHUNKED_DATA) {
                split = 1 + test_rand(&seed) % 700;
                if (split > (size_t) (end - p)) {
                    split = (size_t) (end - p);
                }

                {
                    const unsigned char  *q = p, *qend = p + split;

                    do {
                        st = ingest_awschunked_feed(&ck, &q, qend, &data);
                        if (st == INGEST_AWSCHUNKED_DATA) {
                            ingest_s3_body_update(&b, data.data, data.len);
                            EVP_DigestUpdate(dmd, data.data, data.len);
                        }
                    } while (st == INGEST_AWSCHUNKED_DATA);

                    p = q;
                }

                if (st == INGEST_AWSCHUNKED_ERROR
                    || st == INGEST_AWSCHUNKED_DONE)
                {
                    break;
                }
            }

            if (st != INGEST_AWSCHUNKED_DONE || p != end) {
                TEST_FAIL("botocore %s: chunked %d %s", w[0], st,
                          ingest_s3_error_code(ck.rc));
            } else {
                test_passed++;
            }

            CHECK_INT(ingest_awschunked_eof(&ck), INGEST_S3_OK);
            CHECK_INT(ingest_s3_body_final(&b, md5), INGEST_S3_OK);
            CHECK_U64(b.size, ck.total);
            ingest_s3_body_free(&b);
            ingest_awschunked_free(&ck);

            /* the decoded data is what botocore was given */

            EVP_DigestFinal_ex(dmd, md, NULL);
            EVP_MD_CTX_free(dmd);
            CHECK(have_want && memcmp(md, want, 32) == 0);

        } else {
            CHECK_INT(ingest_s3_body_init(&b, h, tr.n,
                                          auth.payload
                                          == INGEST_SIGV4_PAYLOAD_SHA256
                                          ? auth.payload_sha256 : NULL),
                      INGEST_S3_OK);
            CHECK_INT(ingest_s3_body_update(&b, body, (size_t) len), 0);
            CHECK_INT(ingest_s3_body_final(&b, md5), INGEST_S3_OK);
            ingest_s3_body_free(&b);

            EVP_Digest(body, (size_t) len, md, NULL, EVP_sha256(), NULL);
            CHECK(!have_want || memcmp(md, want, 32) == 0);

            if (auth.payload == INGEST_SIGV4_PAYLOAD_SHA256 && len > 0) {
                /* one byte off: XAmzContentSHA256Mismatch */
                body[0] ^= 1;
                CHECK_INT(ingest_s3_body_init(&b, h, tr.n,
                                              auth.payload_sha256),
                          INGEST_S3_OK);
                CHECK_INT(ingest_s3_body_update(&b, body, (size_t) len), 0);
                rc = ingest_s3_body_final(&b, md5);
                CHECK(rc == INGEST_S3_CONTENT_SHA256_MISMATCH);
                ingest_s3_body_free(&b);
                body[0] ^= 1;
            }
        }

        if (expect_parts >= 0) {
            rc = ingest_s3xml_parse_complete(body, (size_t) len, parts,
                                             INGEST_S3_MAX_PART_NUMBER,
                                             &i);
            nparts = (int) i;
            CHECK_INT(rc, INGEST_S3_OK);
            CHECK_INT(nparts, expect_parts);
            CHECK_INT(parts[0].number, 1);
            CHECK(parts[0].etag_ok);
            CHECK_INT(parts[nparts - 1].number, 9999);
        }
    }

    free(line);
    free(body);
    free(parts);

    CHECK_INT(pclose(out), 0);
    CHECK(count >= 19);
}


static void
test_sigv4(void)
{
    test_doc_examples();
    test_doc_presigned();
    test_doc_streaming_seeds();
    test_signing_key();
    test_mechanism();
    test_header_malformed();
    test_credential();
    test_signed_headers();
    test_dates();
    test_content_sha256();
    test_request_headers();
    test_mismatch();
    test_query();
    test_canonical();
    test_botocore();
}


TEST_MAIN("test_sigv4", test_sigv4)
