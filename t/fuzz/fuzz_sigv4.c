
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for SigV4 and S3 routing. The first byte picks what
 * the rest is:
 *   0  a request: "method\npath\nquery\nname:value\n..."
 *   1  the Authorization header of the S3 documentation's GET Object
 *   2  the query of a presigned GET
 *   3  a request as in 0 that the harness signs (Authorization over
 *      host, x-amz-content-sha256, x-amz-date): it must verify
 * Every request that parses: the canonical request has 5 + nsigned
 * lines and is the same whether sized, cut or hashed, verify says OK or
 * SignatureDoesNotMatch, and the canonical URI and query are canonical
 * already (fed back, they come out the same). Every request is also
 * routed; its slices stay inside the path and query.
 */


#include "ingest_sigv4.h"

#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static size_t fuzz_split(const unsigned char *data, size_t size,
    ingest_sigv4_request_t *req, ingest_s3_header_t *h, size_t max);
static void fuzz_route(const ingest_sigv4_request_t *req);
static void fuzz_checks(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth);
static void fuzz_canonical_again(const ingest_sigv4_request_t *req,
    const unsigned char *cr, size_t len);
static void fuzz_sign(ingest_sigv4_request_t *req, ingest_s3_header_t *h,
    size_t n);


#define FUZZ_NOW      1369353600
#define FUZZ_HEADERS  64
#define FUZZ_ZEROS                                                            \
    "0000000000000000000000000000000000000000000000000000000000000000"

static const unsigned char  fuzz_key[32] = "fuzz signing key, thirty-two b.";


#define STR(s)  { (const unsigned char *) (s), sizeof(s) - 1 }


/* "method\npath\nquery\nname:value\n..." into req and h */

static size_t
fuzz_split(const unsigned char *data, size_t size,
    ingest_sigv4_request_t *req, ingest_s3_header_t *h, size_t max)
{
    size_t                i, n;
    ingest_str_t         *line;
    const unsigned char  *p, *end, *nl, *colon;

    memset(req, 0, sizeof(ingest_sigv4_request_t));

    /* missing lines are empty, not NULL */

    req->method.data = data;
    req->path.data = data;
    req->query.data = data;

    p = data;
    end = data + size;
    n = 0;

    for (i = 0; p <= end && i < 3 + max; i++) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }

        if (i < 3) {
            line = (i == 0) ? &req->method : (i == 1) ? &req->path
                                                      : &req->query;
            line->data = p;
            line->len = (size_t) (nl - p);

        } else {
            colon = memchr(p, ':', (size_t) (nl - p));

            if (colon != NULL) {
                h[n].name.data = p;
                h[n].name.len = (size_t) (colon - p);
                h[n].value.data = colon + 1;
                h[n].value.len = (size_t) (nl - colon - 1);
                n++;
            }
        }

        if (nl == end) {
            break;
        }

        p = nl + 1;
    }

    /* the glue may pass an absent query as NULL */

    if (req->query.len == 0 && size != 0 && (data[0] & 2)) {
        req->query.data = NULL;
    }

    req->headers = h;
    req->nheaders = n;
    req->now = FUZZ_NOW;

    return n;
}


static void
fuzz_route(const ingest_sigv4_request_t *req)
{
    ingest_s3_route_t     r;
    const unsigned char  *pe, *qe;

    if (ingest_s3_route(req->method.data, req->method.len, req->path.data,
                        req->path.len, req->query.data, req->query.len, &r)
        != INGEST_S3_OK)
    {
        return;
    }

    pe = req->path.data + req->path.len;
    qe = req->query.data != NULL ? req->query.data + req->query.len : NULL;

#define INSIDE(s, start, end)                                                 \
    ((s).data == NULL || (s).len == 0                                         \
     || ((s).data >= (start) && (s).data + (s).len <= (end)))

    if (!INSIDE(r.bucket, req->path.data, pe)
        || !INSIDE(r.key, req->path.data, pe)
        || !INSIDE(r.upload_id, req->query.data, qe)
        || !INSIDE(r.prefix, req->query.data, qe)
        || !INSIDE(r.key_marker, req->query.data, qe)
        || !INSIDE(r.upload_id_marker, req->query.data, qe)
        || r.max_parts > INGEST_S3_MAX_LIST
        || r.max_uploads > INGEST_S3_MAX_LIST
        || r.part_number > INGEST_S3_MAX_PART_NUMBER
        || (r.op == INGEST_S3_OP_UPLOAD_PART && r.part_number == 0)
        || (r.op != INGEST_S3_OP_LIST_BUCKETS
            && ingest_s3_bucket_check(r.bucket.data, r.bucket.len)
               != INGEST_S3_OK))
    {
        abort();
    }
}


static void
fuzz_checks(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth)
{
    size_t          len, i, nl, cut;
    ingest_s3_rc_t  rc;
    unsigned char  *cr, *cr2, sts[512], sig[32];

    if (auth->access_key_len == 0
        || auth->access_key_len > INGEST_SIGV4_AKID_MAX
        || auth->region_len > INGEST_SIGV4_REGION_MAX
        || auth->service_len > INGEST_SIGV4_SERVICE_MAX
        || auth->scope_len > INGEST_SIGV4_SCOPE_MAX
        || auth->signed_len > INGEST_SIGV4_SIGNED_MAX
        || auth->nsigned == 0 || auth->nsigned > INGEST_SIGV4_SIGNED_COUNT
        || auth->payload_hash_len == 0 || auth->payload_hash_len > 64)
    {
        abort();
    }

    len = ingest_sigv4_canonical_request(req, auth, NULL, 0);
    cr = malloc(len + 1);
    cr2 = malloc(len + 1);

    if (cr == NULL || cr2 == NULL
        || ingest_sigv4_canonical_request(req, auth, cr, len) != len)
    {
        abort();
    }

    /* method, URI, query, headers, empty, signed headers, payload */

    for (nl = 0, i = 0; i < len; i++) {
        nl += (cr[i] == '\n');
    }

    if (nl != 5 + auth->nsigned) {
        abort();
    }

    cut = len / 2;
    memset(cr2, 0xa5, len + 1);

    if (ingest_sigv4_canonical_request(req, auth, cr2, cut) != len
        || memcmp(cr, cr2, cut) != 0 || cr2[cut] != 0xa5)
    {
        abort();
    }

    len = ingest_sigv4_string_to_sign(req, auth, sts, sizeof(sts));

    if (len == 0 || len > sizeof(sts)
        || memcmp(sts, "AWS4-HMAC-SHA256\n", 17) != 0)
    {
        abort();
    }

    rc = ingest_sigv4_verify(req, auth, fuzz_key);

    if (rc != INGEST_S3_OK && rc != INGEST_S3_SIGNATURE_MISMATCH) {
        abort();
    }

    if (ingest_sigv4_signature(req, auth, fuzz_key, sig) != 0
        || (rc == INGEST_S3_OK) != (memcmp(sig, auth->signature, 32) == 0))
    {
        abort();
    }

    if (!auth->presigned) {
        fuzz_canonical_again(req, cr, ingest_sigv4_canonical_request(req,
                                                                     auth,
                                                                     NULL, 0));
    }

    free(cr);
    free(cr2);
}


/* the canonical URI and query, fed back as the request's, are stable */

static void
fuzz_canonical_again(const ingest_sigv4_request_t *req,
    const unsigned char *cr, size_t len)
{
    ingest_s3_rc_t          rc;
    ingest_sigv4_auth_t     auth;
    ingest_sigv4_conf_t     conf;
    ingest_sigv4_request_t  again;
    const unsigned char    *p, *end, *uri, *query, *rest;
    unsigned char          *cr2;
    size_t                  len2;

    end = cr + len;

    p = memchr(cr, '\n', len);
    uri = p + 1;
    p = memchr(uri, '\n', (size_t) (end - uri));
    query = p + 1;
    p = memchr(query, '\n', (size_t) (end - query));
    rest = p;

    again = *req;
    again.path.data = uri;
    again.path.len = (size_t) (query - 1 - uri);
    again.query.data = query;
    again.query.len = (size_t) (rest - query);

    memset(&conf, 0, sizeof(conf));
    conf.allow_unsigned_amz = 1;

    rc = ingest_sigv4_parse(&again, &conf, &auth);

    /* a query of more parameters than kept may differ only in that */

    if (rc != INGEST_S3_OK) {
        if (rc == INGEST_S3_INVALID_URI) {
            return;
        }

        abort();
    }

    len2 = ingest_sigv4_canonical_request(&again, &auth, NULL, 0);
    cr2 = malloc(len2);

    if (cr2 == NULL || len2 != len
        || ingest_sigv4_canonical_request(&again, &auth, cr2, len2) != len
        || memcmp(cr, cr2, len) != 0)
    {
        abort();
    }

    free(cr2);
}


/* Authorization over host, x-amz-content-sha256, x-amz-date; signed */

static void
fuzz_sign(ingest_sigv4_request_t *req, ingest_s3_header_t *h, size_t n)
{
    unsigned char        *z;
    ingest_s3_rc_t        rc;
    ingest_sigv4_auth_t   auth;
    ingest_sigv4_conf_t   conf;
    unsigned char         sig[32], authz[512];

    static const char  value[] =
        "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/"
        "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
        "Signature=" FUZZ_ZEROS;

    if (n + 4 > FUZZ_HEADERS) {
        return;
    }

    memcpy(authz, value, sizeof(value) - 1);

    h[n].name = (ingest_str_t) STR("host");
    h[n].value = (ingest_str_t) STR("s3.example.test");
    h[n + 1].name = (ingest_str_t) STR("x-amz-date");
    h[n + 1].value = (ingest_str_t) STR("20130524T000000Z");
    h[n + 2].name = (ingest_str_t) STR("x-amz-content-sha256");
    h[n + 2].value = (ingest_str_t) STR("UNSIGNED-PAYLOAD");
    h[n + 3].name = (ingest_str_t) STR("authorization");
    h[n + 3].value.data = authz;
    h[n + 3].value.len = sizeof(value) - 1;
    req->nheaders = n + 4;

    memset(&conf, 0, sizeof(conf));
    conf.allow_unsigned_amz = 1;

    rc = ingest_sigv4_parse(req, &conf, &auth);
    if (rc != INGEST_S3_OK) {
        return;
    }

    if (ingest_sigv4_signature(req, &auth, fuzz_key, sig) != 0) {
        abort();
    }

    z = authz + sizeof(value) - 1 - 64;
    ingest_sigv4_hex(z, sig, 32);

    rc = ingest_sigv4_parse(req, &conf, &auth);

    if (rc != INGEST_S3_OK || ingest_sigv4_verify(req, &auth, fuzz_key)
                              != INGEST_S3_OK)
    {
        abort();
    }

    fuzz_checks(req, &auth);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                     mode;
    size_t                  n;
    unsigned char          *q;
    ingest_s3_rc_t          rc;
    ingest_s3_header_t      h[FUZZ_HEADERS];
    ingest_sigv4_auth_t     auth;
    ingest_sigv4_conf_t     conf;
    ingest_sigv4_request_t  req;

    static const char  presigned[] =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20130524"
        "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
        "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
        FUZZ_ZEROS "&";

    if (size == 0) {
        return 0;
    }

    mode = data[0] % 4;
    data++;
    size--;

    memset(&conf, 0, sizeof(conf));
    conf.allow_unsigned_amz = (mode == 0 && size > 0 && (data[0] & 1));

    switch (mode) {

    case 0:
        fuzz_split(data, size, &req, h, FUZZ_HEADERS);
        break;

    case 1:
        memset(&req, 0, sizeof(req));
        req.method = (ingest_str_t) STR("GET");
        req.path = (ingest_str_t) STR("/test.txt");
        req.query = (ingest_str_t) STR("");
        h[0].name = (ingest_str_t) STR("Host");
        h[0].value = (ingest_str_t) STR("examplebucket.s3.amazonaws.com");
        h[1].name = (ingest_str_t) STR("Range");
        h[1].value = (ingest_str_t) STR("bytes=0-9");
        h[2].name = (ingest_str_t) STR("x-amz-content-sha256");
        h[2].value = (ingest_str_t) STR(INGEST_SIGV4_EMPTY_SHA256);
        h[3].name = (ingest_str_t) STR("x-amz-date");
        h[3].value = (ingest_str_t) STR("20130524T000000Z");
        h[4].name = (ingest_str_t) STR("Authorization");
        h[4].value.data = data;
        h[4].value.len = size;
        req.headers = h;
        req.nheaders = 5;
        req.now = FUZZ_NOW;
        break;

    case 2:
        q = malloc(sizeof(presigned) + size);
        if (q == NULL) {
            abort();
        }

        memcpy(q, presigned, sizeof(presigned) - 1);
        memcpy(q + sizeof(presigned) - 1, data, size);

        memset(&req, 0, sizeof(req));
        req.method = (ingest_str_t) STR("GET");
        req.path = (ingest_str_t) STR("/test.txt");
        req.query.data = q;
        req.query.len = sizeof(presigned) - 1 + size;
        h[0].name = (ingest_str_t) STR("host");
        h[0].value = (ingest_str_t) STR("examplebucket.s3.amazonaws.com");
        req.headers = h;
        req.nheaders = 1;
        req.now = FUZZ_NOW;

        rc = ingest_sigv4_parse(&req, &conf, &auth);
        if (rc == INGEST_S3_OK) {
            fuzz_checks(&req, &auth);
        }

        /* the fuzzed part alone, too */

        req.query.data = data;
        req.query.len = size;

        rc = ingest_sigv4_parse(&req, &conf, &auth);
        if (rc == INGEST_S3_OK) {
            fuzz_checks(&req, &auth);
        }

        fuzz_route(&req);
        free(q);
        return 0;

    default: /* 3 */
        n = fuzz_split(data, size, &req, h, FUZZ_HEADERS - 4);
        fuzz_route(&req);
        fuzz_sign(&req, h, n);
        return 0;
    }

    if ((unsigned) ingest_s3_http_status(INGEST_S3_OK) != 200) {
        abort();
    }

    rc = ingest_sigv4_parse(&req, &conf, &auth);

    if ((unsigned) rc >= INGEST_S3_RC_LAST
        || ingest_s3_error_code(rc) == NULL)
    {
        abort();
    }

    if (rc == INGEST_S3_OK) {
        fuzz_checks(&req, &auth);
    }

    fuzz_route(&req);

    return 0;
}
