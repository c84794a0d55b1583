
/*
 * Copyright (C) nginx video ingest developers
 *
 * The S3 core: the error table, routing, URI helpers, key and bucket
 * names, checksums (crc32, crc32c, crc64nvme, sha1, sha256), the body
 * verifier, ETags, dates.
 */


#include "ingest_s3.h"
#include "test.h"

#include <openssl/evp.h>


#define S(s)  (const unsigned char *) (s), strlen(s)


static ingest_s3_rc_t route(const char *method, const char *path,
    const char *query, ingest_s3_route_t *r);
static ingest_s3_rc_t body(const char **hdrs, const unsigned char *sha256,
    const char *data, unsigned char *md5);
static void test_errors(void);
static void test_header_find(void);
static void test_route(void);
static void test_query_get(void);
static void test_uri(void);
static void test_names(void);
static void test_cksum(void);
static void test_body(void);
static void test_etag(void);
static void test_dates(void);
static void test_s3(void);


/* on heap copies of exactly the given bytes */

static ingest_s3_rc_t
route(const char *method, const char *path, const char *query,
    ingest_s3_route_t *r)
{
    ingest_s3_rc_t  rc;
    unsigned char  *m, *p, *q;

    m = test_dup(method, strlen(method));
    p = test_dup(path, strlen(path));
    q = test_dup(query, strlen(query));

    rc = ingest_s3_route(m, strlen(method), p, strlen(path), q, strlen(query),
                         r);

    /* the slices point into the copies: check them before freeing */

    if (rc == INGEST_S3_OK) {
        if ((r->bucket.len != 0
             && (r->bucket.data < p || r->bucket.data + r->bucket.len
                                       > p + strlen(path)))
            || (r->key.len != 0
                && (r->key.data < p || r->key.data + r->key.len
                                       > p + strlen(path))))
        {
            TEST_FAIL("slices outside the path: %s", path);
        }

        /* keep the values readable for the caller */

        r->bucket.data = (const unsigned char *) path
                         + (r->bucket.data - p);

        if (r->key.data != NULL) {
            r->key.data = (const unsigned char *) path + (r->key.data - p);
        }

        if (r->upload_id.data != NULL) {
            r->upload_id.data = (const unsigned char *) query
                                + (r->upload_id.data - q);
        }

        if (r->prefix.data != NULL) {
            r->prefix.data = (const unsigned char *) query
                             + (r->prefix.data - q);
        }

        if (r->key_marker.data != NULL) {
            r->key_marker.data = (const unsigned char *) query
                                 + (r->key_marker.data - q);
        }

        if (r->upload_id_marker.data != NULL) {
            r->upload_id_marker.data = (const unsigned char *) query
                                       + (r->upload_id_marker.data - q);
        }
    }

    free(m);
    free(p);
    free(q);

    return rc;
}


static void
test_errors(void)
{
    int  rc;

    for (rc = 0; rc < INGEST_S3_RC_LAST; rc++) {
        if (ingest_s3_http_status(rc) < 200
            || ingest_s3_http_status(rc) > 599
            || ingest_s3_error_code(rc) == NULL
            || ingest_s3_error_message(rc) == NULL
            || strlen(ingest_s3_error_message(rc)) < 2
            || (rc != 0 && ingest_s3_http_status(rc) < 400))
        {
            TEST_FAIL("rc %d has no table entry", rc);
        } else {
            test_passed++;
        }
    }

    CHECK_INT(ingest_s3_http_status(INGEST_S3_RC_LAST), 500);
    CHECK_INT(ingest_s3_http_status(-1), 500);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_RC_LAST), "InternalError")
          == 0);

#define ERR(rc, status, code)                                                 \
    do {                                                                      \
        CHECK_INT(ingest_s3_http_status(rc), status);                         \
        CHECK(strcmp(ingest_s3_error_code(rc), code) == 0);                   \
    } while (0)

    ERR(INGEST_S3_SIGNATURE_MISMATCH, 403, "SignatureDoesNotMatch");
    ERR(INGEST_S3_ACCESS_DENIED, 403, "AccessDenied");
    ERR(INGEST_S3_TIME_SKEWED, 403, "RequestTimeTooSkewed");
    ERR(INGEST_S3_AUTH_CREDENTIAL, 400, "AuthorizationHeaderMalformed");
    ERR(INGEST_S3_QUERY_EXPIRES, 400, "AuthorizationQueryParametersError");
    ERR(INGEST_S3_INVALID_ACCESS_KEY, 403, "InvalidAccessKeyId");
    ERR(INGEST_S3_EXPIRED, 403, "AccessDenied");
    ERR(INGEST_S3_CONTENT_SHA256_MISMATCH, 400, "XAmzContentSHA256Mismatch");
    ERR(INGEST_S3_MALFORMED_XML, 400, "MalformedXML");
    ERR(INGEST_S3_INVALID_PART, 400, "InvalidPart");
    ERR(INGEST_S3_INVALID_PART_ORDER, 400, "InvalidPartOrder");
    ERR(INGEST_S3_ENTITY_TOO_SMALL, 400, "EntityTooSmall");
    ERR(INGEST_S3_ENTITY_TOO_LARGE, 400, "EntityTooLarge");
    ERR(INGEST_S3_NO_SUCH_UPLOAD, 404, "NoSuchUpload");
    ERR(INGEST_S3_NO_SUCH_KEY, 404, "NoSuchKey");
    ERR(INGEST_S3_BAD_DIGEST, 400, "BadDigest");
    ERR(INGEST_S3_METHOD_NOT_ALLOWED, 405, "MethodNotAllowed");
    ERR(INGEST_S3_NOT_IMPLEMENTED, 501, "NotImplemented");
    ERR(INGEST_S3_INTERNAL_ERROR, 500, "InternalError");
    ERR(INGEST_S3_SLOW_DOWN, 503, "SlowDown");
    ERR(INGEST_S3_QUOTA_EXCEEDED, 403, "QuotaExceeded");
    ERR(INGEST_S3_NO_SPACE, 507, "InsufficientStorage");
    ERR(INGEST_S3_CONFLICT, 409, "OperationAborted");

    CHECK(strcmp(ingest_s3_error_message(INGEST_S3_EXPIRED),
                 "Request has expired") == 0);
}


static void
test_header_find(void)
{
    ingest_str_t        v;
    ingest_s3_header_t  h[3];

    h[0].name.data = (const unsigned char *) "Host";
    h[0].name.len = 4;
    h[0].value.data = (const unsigned char *) "a";
    h[0].value.len = 1;
    h[1].name.data = (const unsigned char *) "X-Amz-Date";
    h[1].name.len = 10;
    h[1].value.data = (const unsigned char *) "b";
    h[1].value.len = 1;
    h[2].name.data = (const unsigned char *) "host";
    h[2].name.len = 4;
    h[2].value.data = (const unsigned char *) "c";
    h[2].value.len = 1;

    CHECK_U64(ingest_s3_header_find(h, 3, "host", &v), 2);
    CHECK_MEM(v.data, v.len, "a");
    CHECK_U64(ingest_s3_header_find(h, 3, "x-amz-date", &v), 1);
    CHECK_MEM(v.data, v.len, "b");
    CHECK_U64(ingest_s3_header_find(h, 3, "x-amz-dat", &v), 0);
    CHECK(v.data == NULL);
    CHECK_U64(ingest_s3_header_find(h, 0, "host", &v), 0);
}


static void
test_route(void)
{
    size_t             i;
    ingest_s3_route_t  r;

    static const struct {
        const char      *method;
        const char      *path;
        const char      *query;
        ingest_s3_rc_t   rc;
        ingest_s3_op_t   op;
        const char      *bucket;
        const char      *key;
        uint32_t         part;
    } cases[] = {
        { "POST", "/bkt/a/b.mp4", "uploads", INGEST_S3_OK,
          INGEST_S3_OP_CREATE_UPLOAD, "bkt", "a/b.mp4", 0 },
        { "POST", "/bkt/k", "uploads=", INGEST_S3_OK,
          INGEST_S3_OP_CREATE_UPLOAD, "bkt", "k", 0 },
        { "POST", "/bkt/k", "uploads&x-id=CreateMultipartUpload",
          INGEST_S3_OK, INGEST_S3_OP_CREATE_UPLOAD, "bkt", "k", 0 },
        { "PUT", "/bkt/k", "partNumber=1&uploadId=abc", INGEST_S3_OK,
          INGEST_S3_OP_UPLOAD_PART, "bkt", "k", 1 },
        { "PUT", "/bkt/k", "uploadId=abc&partNumber=10000&x-id=UploadPart",
          INGEST_S3_OK, INGEST_S3_OP_UPLOAD_PART, "bkt", "k", 10000 },
        { "PUT", "/bkt/k", "partNumber=%31%30&uploadId=abc", INGEST_S3_OK,
          INGEST_S3_OP_UPLOAD_PART, "bkt", "k", 10 },
        { "PUT", "/bkt/k", "partNumber=0&uploadId=abc",
          INGEST_S3_INVALID_PART_NUMBER, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k", "partNumber=10001&uploadId=abc",
          INGEST_S3_INVALID_PART_NUMBER, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k", "partNumber=-1&uploadId=abc",
          INGEST_S3_INVALID_PART_NUMBER, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k", "partNumber=1a&uploadId=abc",
          INGEST_S3_INVALID_PART_NUMBER, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k", "partNumber=&uploadId=abc",
          INGEST_S3_INVALID_PART_NUMBER, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k", "partNumber=99999999999999999999999&uploadId=a",
          INGEST_S3_INVALID_PART_NUMBER, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k", "partNumber=1", INGEST_S3_INVALID_ARGUMENT, 0,
          NULL, NULL, 0 },
        { "PUT", "/bkt/k", "uploadId=abc", INGEST_S3_INVALID_ARGUMENT, 0,
          NULL, NULL, 0 },
        { "PUT", "/bkt/k", "uploadId=a&uploadId=b&partNumber=1",
          INGEST_S3_INVALID_ARGUMENT, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k", "uploads", INGEST_S3_INVALID_ARGUMENT, 0, NULL,
          NULL, 0 },
        { "POST", "/bkt/k", "uploadId=abc", INGEST_S3_OK,
          INGEST_S3_OP_COMPLETE_UPLOAD, "bkt", "k", 0 },
        { "POST", "/bkt/k", "uploadId=abc&uploads",
          INGEST_S3_INVALID_ARGUMENT, 0, NULL, NULL, 0 },
        { "POST", "/bkt/k", "", INGEST_S3_METHOD_NOT_ALLOWED, 0, NULL, NULL,
          0 },
        { "DELETE", "/bkt/k", "uploadId=abc", INGEST_S3_OK,
          INGEST_S3_OP_ABORT_UPLOAD, "bkt", "k", 0 },
        { "GET", "/bkt/k", "uploadId=abc&max-parts=5", INGEST_S3_OK,
          INGEST_S3_OP_LIST_PARTS, "bkt", "k", 0 },
        { "GET", "/bkt", "uploads&prefix=a", INGEST_S3_OK,
          INGEST_S3_OP_LIST_UPLOADS, "bkt", "", 0 },
        { "GET", "/bkt/", "uploads", INGEST_S3_OK,
          INGEST_S3_OP_LIST_UPLOADS, "bkt", "", 0 },
        { "GET", "/bkt", "uploads&delimiter=%2F", INGEST_S3_NOT_IMPLEMENTED,
          0, NULL, NULL, 0 },
        { "GET", "/bkt", "", INGEST_S3_OK, INGEST_S3_OP_LIST_OBJECTS, "bkt",
          "", 0 },
        { "GET", "/bkt", "list-type=2&prefix=x", INGEST_S3_OK,
          INGEST_S3_OP_LIST_OBJECTS, "bkt", "", 0 },
        { "HEAD", "/bkt", "", INGEST_S3_OK, INGEST_S3_OP_HEAD_BUCKET, "bkt",
          "", 0 },
        { "PUT", "/bkt", "", INGEST_S3_METHOD_NOT_ALLOWED, 0, NULL, NULL, 0 },
        { "DELETE", "/bkt", "", INGEST_S3_METHOD_NOT_ALLOWED, 0, NULL, NULL,
          0 },
        { "GET", "/", "", INGEST_S3_OK, INGEST_S3_OP_LIST_BUCKETS, "", "",
          0 },
        { "PUT", "/", "", INGEST_S3_METHOD_NOT_ALLOWED, 0, NULL, NULL, 0 },
        { "PUT", "/bkt/k%20x", "", INGEST_S3_OK, INGEST_S3_OP_PUT_OBJECT,
          "bkt", "k%20x", 0 },
        { "PUT", "/bkt/k", "x-id=PutObject", INGEST_S3_OK,
          INGEST_S3_OP_PUT_OBJECT, "bkt", "k", 0 },
        { "GET", "/bkt/a/b/", "response-content-type=x&X-Amz-Date=1",
          INGEST_S3_OK, INGEST_S3_OP_GET_OBJECT, "bkt", "a/b/", 0 },
        { "GET", "/bkt/k", "partNumber=2", INGEST_S3_OK,
          INGEST_S3_OP_GET_OBJECT, "bkt", "k", 2 },
        { "HEAD", "/bkt/k", "", INGEST_S3_OK, INGEST_S3_OP_HEAD_OBJECT, "bkt",
          "k", 0 },
        { "HEAD", "/bkt/k", "uploadId=a", INGEST_S3_INVALID_ARGUMENT, 0,
          NULL, NULL, 0 },
        { "DELETE", "/bkt/k", "", INGEST_S3_OK, INGEST_S3_OP_DELETE_OBJECT,
          "bkt", "k", 0 },
        { "DELETE", "/bkt/k", "partNumber=1", INGEST_S3_INVALID_ARGUMENT, 0,
          NULL, NULL, 0 },
        { "PATCH", "/bkt/k", "", INGEST_S3_METHOD_NOT_ALLOWED, 0, NULL, NULL,
          0 },
        { "OPTIONS", "/bkt/k", "", INGEST_S3_METHOD_NOT_ALLOWED, 0, NULL,
          NULL, 0 },
        { "get", "/bkt/k", "", INGEST_S3_OK, INGEST_S3_OP_GET_OBJECT, "bkt",
          "k", 0 },
        { "PUT", "/bkt/k", "acl", INGEST_S3_NOT_IMPLEMENTED, 0, NULL, NULL,
          0 },
        { "GET", "/bkt/k", "tagging", INGEST_S3_NOT_IMPLEMENTED, 0, NULL,
          NULL, 0 },
        { "GET", "/bkt/k", "versionId=x", INGEST_S3_NOT_IMPLEMENTED, 0, NULL,
          NULL, 0 },
        { "POST", "/bkt", "delete", INGEST_S3_NOT_IMPLEMENTED, 0, NULL, NULL,
          0 },
        { "GET", "/Bkt/k", "", INGEST_S3_INVALID_BUCKET_NAME, 0, NULL, NULL,
          0 },
        { "GET", "/b/k", "", INGEST_S3_INVALID_BUCKET_NAME, 0, NULL, NULL,
          0 },
        { "GET", "//k", "", INGEST_S3_INVALID_BUCKET_NAME, 0, NULL, NULL, 0 },
        { "GET", "//", "", INGEST_S3_INVALID_BUCKET_NAME, 0, NULL, NULL, 0 },
        { "GET", "/b%6bt/k", "", INGEST_S3_INVALID_BUCKET_NAME, 0, NULL,
          NULL, 0 },
        { "GET", "bkt/k", "", INGEST_S3_INVALID_URI, 0, NULL, NULL, 0 },
        { "GET", "", "", INGEST_S3_INVALID_URI, 0, NULL, NULL, 0 },
        { "GET", "/bkt/k%zz", "", INGEST_S3_INVALID_URI, 0, NULL, NULL, 0 },
        { "GET", "/bkt/k%2", "", INGEST_S3_INVALID_URI, 0, NULL, NULL, 0 },
        { "GET", "/bkt/k", "a=%", INGEST_S3_INVALID_URI, 0, NULL, NULL, 0 },
        { NULL, NULL, NULL, 0, 0, NULL, NULL, 0 }
    };

    for (i = 0; cases[i].method != NULL; i++) {
        ingest_s3_rc_t  rc;

        rc = route(cases[i].method, cases[i].path, cases[i].query, &r);

        if (rc != cases[i].rc) {
            TEST_FAIL("%s %s?%s: %s, want %s", cases[i].method,
                      cases[i].path, cases[i].query, ingest_s3_error_code(rc),
                      ingest_s3_error_code(cases[i].rc));
            continue;
        }

        if (rc != INGEST_S3_OK) {
            test_passed++;
            continue;
        }

        if (r.op != cases[i].op || r.part_number != cases[i].part
            || r.bucket.len != strlen(cases[i].bucket)
            || memcmp(r.bucket.data, cases[i].bucket, r.bucket.len) != 0
            || r.key.len != strlen(cases[i].key)
            || (r.key.len != 0
                && memcmp(r.key.data, cases[i].key, r.key.len) != 0))
        {
            TEST_FAIL("%s %s?%s: op %d part %u bucket %.*s key %.*s",
                      cases[i].method, cases[i].path, cases[i].query, r.op,
                      r.part_number, (int) r.bucket.len, r.bucket.data,
                      (int) r.key.len, r.key.data);
        } else {
            test_passed++;
        }
    }

    /* list parameters */

    CHECK_INT(route("GET", "/bkt/k", "uploadId=u1&max-parts=5"
                    "&part-number-marker=3", &r), INGEST_S3_OK);
    CHECK_MEM(r.upload_id.data, r.upload_id.len, "u1");
    CHECK_INT(r.max_parts, 5);
    CHECK_INT(r.part_number_marker, 3);

    CHECK_INT(route("GET", "/bkt/k", "uploadId=u1", &r), INGEST_S3_OK);
    CHECK_INT(r.max_parts, 1000);
    CHECK_INT(r.part_number_marker, 0);

    CHECK_INT(route("GET", "/bkt/k", "uploadId=u1&max-parts=5000"
                    "&part-number-marker=20000", &r), INGEST_S3_OK);
    CHECK_INT(r.max_parts, 1000);
    CHECK_INT(r.part_number_marker, 10000);

    CHECK_INT(route("GET", "/bkt/k", "uploadId=u1&max-parts=0", &r),
              INGEST_S3_OK);
    CHECK_INT(r.max_parts, 0);

    CHECK_INT(route("GET", "/bkt/k", "uploadId=u1&max-parts=x", &r),
              INGEST_S3_INVALID_ARGUMENT);
    CHECK_INT(route("GET", "/bkt/k", "uploadId=u1&part-number-marker=-1", &r),
              INGEST_S3_INVALID_ARGUMENT);

    CHECK_INT(route("GET", "/bkt", "uploads&prefix=a%2Fb&key-marker=k%20m"
                    "&upload-id-marker=u&max-uploads=2&encoding-type=url",
                    &r), INGEST_S3_OK);
    CHECK_INT(r.op, INGEST_S3_OP_LIST_UPLOADS);
    CHECK_MEM(r.prefix.data, r.prefix.len, "a%2Fb");
    CHECK_MEM(r.key_marker.data, r.key_marker.len, "k%20m");
    CHECK_MEM(r.upload_id_marker.data, r.upload_id_marker.len, "u");
    CHECK_INT(r.max_uploads, 2);
    CHECK_INT(r.encoding_url, 1);

    CHECK_INT(route("GET", "/bkt", "uploads", &r), INGEST_S3_OK);
    CHECK(r.prefix.data == NULL && r.key_marker.data == NULL);
    CHECK_INT(r.max_uploads, 1000);
    CHECK_INT(r.encoding_url, 0);

    CHECK_INT(route("GET", "/bkt", "uploads&encoding-type=xml", &r),
              INGEST_S3_INVALID_ARGUMENT);
    CHECK_INT(route("GET", "/bkt", "uploads&prefix=a&prefix=b", &r),
              INGEST_S3_INVALID_ARGUMENT);

    /* an upload id present but empty */

    CHECK_INT(route("POST", "/bkt/k", "uploadId=", &r), INGEST_S3_OK);
    CHECK(r.upload_id.data != NULL);
    CHECK_U64(r.upload_id.len, 0);
}


static void
test_query_get(void)
{
    ingest_str_t  v;

    CHECK_INT(ingest_s3_query_get(S("a=1&b&c=3"), "b", &v), 1);
    CHECK(v.data != NULL && v.len == 0);
    CHECK_INT(ingest_s3_query_get(S("a=1&b&c=3"), "c", &v), 1);
    CHECK_MEM(v.data, v.len, "3");
    CHECK_INT(ingest_s3_query_get(S("a=1&b&c=3"), "d", &v), 0);
    CHECK(v.data == NULL);
    CHECK_INT(ingest_s3_query_get(S("%61=x"), "a", &v), 1);
    CHECK_MEM(v.data, v.len, "x");
    CHECK_INT(ingest_s3_query_get(S("a=1&a=2"), "a", &v), -1);
    CHECK_INT(ingest_s3_query_get(S("a=%"), "a", &v), -1);
    CHECK_INT(ingest_s3_query_get(S(""), "a", &v), 0);
    CHECK_INT(ingest_s3_query_get(S("&&a==&"), "a", &v), 1);
    CHECK_MEM(v.data, v.len, "=");
}


static void
test_uri(void)
{
    unsigned char  out[64];

    CHECK_INT(ingest_s3_uri_decode(out, S("a%20b+c%2f%C3%bc")), 8);
    CHECK(memcmp(out, "a b+c/\xc3\xbc", 8) == 0);
    CHECK_INT(ingest_s3_uri_decode(NULL, S("a%20b")), 3);
    CHECK_INT(ingest_s3_uri_decode(NULL, S("%")), -1);
    CHECK_INT(ingest_s3_uri_decode(NULL, S("%2")), -1);
    CHECK_INT(ingest_s3_uri_decode(NULL, S("%g0")), -1);
    CHECK_INT(ingest_s3_uri_decode(NULL, S("a%0")), -1);
    CHECK_INT(ingest_s3_uri_decode(NULL, S("")), 0);
    CHECK_INT(ingest_s3_uri_decode(out, S("%00")), 1);
    CHECK_INT(out[0], 0);

    CHECK_U64(ingest_s3_uri_encode(out, S("a b/c~-_.+\xc3\xbc"), 1), 20);
    CHECK_MEM(out, 20, "a%20b/c~-_.%2B%C3%BC");
    CHECK_U64(ingest_s3_uri_encode(out, S("a/b"), 0), 5);
    CHECK_MEM(out, 5, "a%2Fb");
    CHECK_U64(ingest_s3_uri_encode(NULL, S("$&"), 0), 6);
}


static void
test_names(void)
{
    char  key[1100];

    CHECK_INT(ingest_s3_key_check(S("videos/a b.mp4")), INGEST_S3_OK);
    CHECK_INT(ingest_s3_key_check(S("\xc3\xbc\xe6\xbc\xa2\xf0\x9f\x8e\xa5")),
              INGEST_S3_OK);
    CHECK_INT(ingest_s3_key_check(S("")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("a\nb")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("a\x7f")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check((const unsigned char *) "a\0b", 3),
              INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xc3")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xc0\xaf")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xed\xa0\x80")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xf4\x90\x80\x80")),
              INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xc2\x85")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xef\xbf\xbf")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xff")), INGEST_S3_INVALID_KEY);
    CHECK_INT(ingest_s3_key_check(S("\xe6\xbc")), INGEST_S3_INVALID_KEY);

    memset(key, 'k', sizeof(key));
    CHECK_INT(ingest_s3_key_check((unsigned char *) key, 1024), INGEST_S3_OK);
    CHECK_INT(ingest_s3_key_check((unsigned char *) key, 1025),
              INGEST_S3_KEY_TOO_LONG);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_KEY_TOO_LONG), 400);

    CHECK_INT(ingest_s3_bucket_check(S("bkt")), INGEST_S3_OK);
    CHECK_INT(ingest_s3_bucket_check(S("my-bucket.v2")), INGEST_S3_OK);
    CHECK_INT(ingest_s3_bucket_check(S("1.2.3")), INGEST_S3_OK);
    CHECK_INT(ingest_s3_bucket_check(S("bk")), INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("Bkt")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("b_t")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("-bkt")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("bkt-")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S(".bkt")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("b..t")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("b.-t")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("b-.t")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("192.168.1.1")),
              INGEST_S3_INVALID_BUCKET_NAME);
    CHECK_INT(ingest_s3_bucket_check(S("b%74t")),
              INGEST_S3_INVALID_BUCKET_NAME);

    memset(key, 'b', sizeof(key));
    CHECK_INT(ingest_s3_bucket_check((unsigned char *) key, 63),
              INGEST_S3_OK);
    CHECK_INT(ingest_s3_bucket_check((unsigned char *) key, 64),
              INGEST_S3_INVALID_BUCKET_NAME);
}


static void
test_cksum(void)
{
    size_t             i, k;
    unsigned char      d[32], v[32], b64[48];
    ingest_s3_cksum_t  ck;

    /* check values of "123456789" (CRC catalogue), base64 as S3 sends */

    static const struct {
        ingest_s3_cksum_algo_t   algo;
        const char              *b64;
    } kat[] = {
        { INGEST_S3_CKSUM_CRC32, "y/Q5Jg==" },             /* cbf43926 */
        { INGEST_S3_CKSUM_CRC32C, "4waSgw==" },            /* e3069283 */
        { INGEST_S3_CKSUM_CRC64NVME, "rosUhgp5mIg=" },     /* ae8b1486.. */
        { INGEST_S3_CKSUM_SHA1, "98O8HYCOBHMq32eZZczDTKeuNEE=" },
        { INGEST_S3_CKSUM_SHA256,
          "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=" },
        { INGEST_S3_CKSUM_NONE, NULL }
    };

    for (i = 0; kat[i].b64 != NULL; i++) {

        /* in one go and split at every offset */

        for (k = 0; k <= 9; k++) {
            CHECK_INT(ingest_s3_cksum_init(&ck, kat[i].algo), 0);
            CHECK_INT(ingest_s3_cksum_update(&ck, "123456789", k), 0);
            CHECK_INT(ingest_s3_cksum_update(&ck, "123456789" + k, 9 - k), 0);
            CHECK_INT(ingest_s3_cksum_final(&ck, d), 0);
            ingest_s3_cksum_free(&ck);

            ingest_base64_encode(b64, d, ingest_s3_cksum_size(kat[i].algo));
            CHECK_MEM(b64, strlen(kat[i].b64), kat[i].b64);
        }

        CHECK_INT(ingest_s3_cksum_parse(kat[i].algo, S(kat[i].b64), v),
                  INGEST_S3_OK);
        CHECK(memcmp(v, d, ingest_s3_cksum_size(kat[i].algo)) == 0);
    }

    CHECK_U64(ingest_crc64nvme_update(0, "123456789", 9),
              UINT64_C(0xae8b14860a799888));
    CHECK_U64(ingest_crc64nvme_update(0, "", 0), 0);

    /* names */

    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-crc32")),
              INGEST_S3_CKSUM_CRC32);
    CHECK_INT(ingest_s3_cksum_by_header(S("X-Amz-Checksum-CRC32C")),
              INGEST_S3_CKSUM_CRC32C);
    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-crc64nvme")),
              INGEST_S3_CKSUM_CRC64NVME);
    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-sha1")),
              INGEST_S3_CKSUM_SHA1);
    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-sha256")),
              INGEST_S3_CKSUM_SHA256);
    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-type")),
              INGEST_S3_CKSUM_NONE);
    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-algorithm")),
              INGEST_S3_CKSUM_NONE);
    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-md5")),
              INGEST_S3_CKSUM_NONE);
    CHECK_INT(ingest_s3_cksum_by_header(S("x-amz-checksum-")),
              INGEST_S3_CKSUM_NONE);
    CHECK_INT(ingest_s3_cksum_by_header(S("crc32")), INGEST_S3_CKSUM_NONE);
    CHECK_INT(ingest_s3_cksum_by_name(S("CRC64NVME")),
              INGEST_S3_CKSUM_CRC64NVME);
    CHECK_INT(ingest_s3_cksum_by_name(S("sha512")), INGEST_S3_CKSUM_NONE);
    CHECK(strcmp(ingest_s3_cksum_header(INGEST_S3_CKSUM_CRC32C),
                 "x-amz-checksum-crc32c") == 0);
    CHECK(ingest_s3_cksum_header(INGEST_S3_CKSUM_NONE) == NULL);
    CHECK_U64(ingest_s3_cksum_size(INGEST_S3_CKSUM_NONE), 0);
    CHECK_INT(ingest_s3_cksum_init(&ck, INGEST_S3_CKSUM_NONE), -1);
    CHECK_INT(ingest_s3_cksum_update(&ck, "x", 1), -1);
    CHECK_INT(ingest_s3_cksum_final(&ck, d), -1);
    ingest_s3_cksum_free(&ck);

    /* values: the exact base64 length of the digest */

    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_CRC32, S(" y/Q5Jg== "), v),
              INGEST_S3_OK);
    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_CRC32, S("y/Q5Jg="), v),
              INGEST_S3_INVALID_DIGEST);
    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_CRC32, S("y/Q5Jg=="
                                    "AAAA"), v), INGEST_S3_INVALID_DIGEST);
    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_CRC32, S("y/Q5Jh=="), v),
              INGEST_S3_INVALID_DIGEST);
    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_CRC32, S("y_Q5Jg=="), v),
              INGEST_S3_INVALID_DIGEST);
    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_SHA1, S("y/Q5Jg=="), v),
              INGEST_S3_INVALID_DIGEST);
    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_NONE, S("y/Q5Jg=="), v),
              INGEST_S3_INVALID_DIGEST);
    CHECK_INT(ingest_s3_cksum_parse(INGEST_S3_CKSUM_CRC32, NULL, 0, v),
              INGEST_S3_INVALID_DIGEST);
}


/* hdrs: name, value, ..., NULL */

static ingest_s3_rc_t
body(const char **hdrs, const unsigned char *sha256, const char *data,
    unsigned char *md5)
{
    size_t              n;
    ingest_s3_rc_t      rc;
    ingest_s3_body_t    b;
    ingest_s3_header_t  h[16];

    for (n = 0; hdrs != NULL && hdrs[2 * n] != NULL; n++) {
        h[n].name.data = (const unsigned char *) hdrs[2 * n];
        h[n].name.len = strlen(hdrs[2 * n]);
        h[n].value.data = (const unsigned char *) hdrs[2 * n + 1];
        h[n].value.len = strlen(hdrs[2 * n + 1]);
    }

    rc = ingest_s3_body_init(&b, h, n, sha256);

    if (rc == INGEST_S3_OK) {
        n = strlen(data);

        /* in two pieces */

        if (ingest_s3_body_update(&b, data, n / 2) != 0
            || ingest_s3_body_update(&b, data + n / 2, n - n / 2) != 0)
        {
            rc = INGEST_S3_INTERNAL_ERROR;

        } else {
            rc = ingest_s3_body_final(&b, md5);

            if (b.size != n) {
                TEST_FAIL("size %" PRIu64, b.size);
            }
        }
    }

    ingest_s3_body_free(&b);

    return rc;
}


static void
test_body(void)
{
    unsigned char  sha[32], md5[16], hex[INGEST_S3_ETAG_LEN];

    static const char  *none[] = { NULL };
    static const char  *md5ok[] = {
        "Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==", NULL
    };
    static const char  *md5bad[] = {
        "content-md5", "XrY7u+Ae7tCTyyK7j1rNwA==", NULL
    };
    static const char  *md5inv[] = { "Content-MD5", "XrY7u+Ae7tCT", NULL };
    static const char  *md5two[] = {
        "Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==",
        "Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==", NULL
    };
    static const char  *crc[] = {
        "x-amz-checksum-crc32", "DUoRhQ==", "x-amz-checksum-type",
        "FULL_OBJECT", "x-amz-sdk-checksum-algorithm", "CRC32", NULL
    };
    static const char  *crcbad[] = {
        "x-amz-checksum-crc32c", "DUoRhQ==", NULL
    };
    static const char  *crcinv[] = {
        "x-amz-checksum-crc32", "DUoRhQ=", NULL
    };
    static const char  *two[] = {
        "x-amz-checksum-crc32", "DUoRhQ==",
        "x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=", NULL
    };
    static const char  *all[] = {
        "x-amz-checksum-sha256",
        "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
        "Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==", NULL
    };

    EVP_Digest("hello world", 11, sha, NULL, EVP_sha256(), NULL);

    CHECK_INT(body(none, NULL, "hello world", md5), INGEST_S3_OK);
    ingest_s3_etag(hex, md5);
    CHECK_MEM(hex + 1, 32, "5eb63bbbe01eeed093cb22bb8f5acdc3");

    CHECK_INT(body(none, sha, "hello world", md5), INGEST_S3_OK);
    CHECK_INT(body(none, sha, "hello worle", md5),
              INGEST_S3_CONTENT_SHA256_MISMATCH);
    CHECK_INT(body(none, sha, "", md5), INGEST_S3_CONTENT_SHA256_MISMATCH);

    CHECK_INT(body(md5ok, NULL, "hello world", md5), INGEST_S3_OK);
    CHECK_INT(body(md5ok, NULL, "hello world!", md5), INGEST_S3_BAD_DIGEST);
    CHECK_INT(body(md5bad, NULL, "hello world", md5), INGEST_S3_BAD_DIGEST);
    CHECK_INT(body(md5inv, NULL, "hello world", md5),
              INGEST_S3_INVALID_DIGEST);
    CHECK_INT(body(md5two, NULL, "hello world", md5),
              INGEST_S3_INVALID_DIGEST);

    CHECK_INT(body(crc, NULL, "hello world", md5), INGEST_S3_OK);
    CHECK_INT(body(crc, NULL, "hello", md5), INGEST_S3_BAD_DIGEST);
    CHECK_INT(body(crcbad, NULL, "hello world", md5), INGEST_S3_BAD_DIGEST);
    CHECK_INT(body(crcinv, NULL, "hello world", md5),
              INGEST_S3_INVALID_DIGEST);
    CHECK_INT(body(two, NULL, "hello world", md5),
              INGEST_S3_MULTIPLE_CHECKSUMS);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_MULTIPLE_CHECKSUMS), 400);

    /* all at once; the sha256 mismatch is reported first */

    CHECK_INT(body(all, sha, "hello world", md5), INGEST_S3_OK);
    CHECK_INT(body(all, sha, "hello worlD", md5),
              INGEST_S3_CONTENT_SHA256_MISMATCH);
    CHECK_INT(body(all, NULL, "hello worlD", md5), INGEST_S3_BAD_DIGEST);
}


static void
test_etag(void)
{
    size_t         n;
    unsigned char  md5[16], md5s[3 * 16], out[INGEST_S3_ETAG_MAX + 8];

    EVP_Digest("", 0, md5, NULL, EVP_md5(), NULL);
    CHECK_U64(ingest_s3_etag(out, md5), INGEST_S3_ETAG_LEN);
    CHECK_MEM(out, INGEST_S3_ETAG_LEN, "\"d41d8cd98f00b204e9800998ecf8427e\"");

    /* computed with Python's hashlib: md5(md5(a) + md5(b) + md5(c)) */

    EVP_Digest("part one", 8, md5s, NULL, EVP_md5(), NULL);
    EVP_Digest("part two", 8, md5s + 16, NULL, EVP_md5(), NULL);
    EVP_Digest("3", 1, md5s + 32, NULL, EVP_md5(), NULL);

    n = ingest_s3_etag_multipart(out, md5s, 3);
    CHECK_MEM(out, n, "\"4b83ed3e5b720e655a5aff4a52c8d7b0-3\"");

    memset(out, 0, sizeof(out));
    {
        unsigned char  *many = calloc(10000, 16);

        n = ingest_s3_etag_multipart(out, many, 10000);
        CHECK_U64(n, INGEST_S3_ETAG_MAX);
        CHECK(memcmp(out + 33, "-10000\"", 7) == 0);
        CHECK_U64(ingest_s3_etag_multipart(out, many, 10001), 0);
        CHECK_U64(ingest_s3_etag_multipart(out, many, 0), 0);
        free(many);
    }

    /* parsing: quotes optional, any case */

    CHECK_INT(ingest_s3_etag_parse(S("\"d41d8cd98f00b204e9800998ecf8427e\""),
                                   md5), 0);
    CHECK_INT(md5[0], 0xd4);
    CHECK_INT(ingest_s3_etag_parse(S("D41D8CD98F00B204E9800998ECF8427E"),
                                   md5), 0);
    CHECK_INT(md5[15], 0x7e);
    CHECK_INT(ingest_s3_etag_parse(S("\"d41d8cd98f00b204e9800998ecf8427e"),
                                   md5), -1);
    CHECK_INT(ingest_s3_etag_parse(S("d41d8cd98f00b204e9800998ecf8427"),
                                   md5), -1);
    CHECK_INT(ingest_s3_etag_parse(S("\"4b83ed3e5b720e655a5aff4a52c8d7b0-3\""),
                                   md5), -1);
    CHECK_INT(ingest_s3_etag_parse(S("g41d8cd98f00b204e9800998ecf8427e"),
                                   md5), -1);
    CHECK_INT(ingest_s3_etag_parse(NULL, 0, md5), -1);
}


static void
test_dates(void)
{
    int64_t        t;
    unsigned char  out[32];

    CHECK_INT(ingest_s3_parse_amz_date(S("20130524T000000Z"), &t), 0);
    CHECK_INT(t, 1369353600);
    CHECK_INT(ingest_s3_parse_amz_date(S("19700101T000000Z"), &t), 0);
    CHECK_INT(t, 0);
    CHECK_INT(ingest_s3_parse_amz_date(S("20240229T235959Z"), &t), 0);
    CHECK_INT(t, 1709251199);
    CHECK_INT(ingest_s3_parse_amz_date(S("99991231T235959Z"), &t), 0);
    CHECK_INT(t, INT64_C(253402300799));
    CHECK_INT(ingest_s3_parse_amz_date(S("20230229T000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("21000229T000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("20000229T000000Z"), &t), 0);
    CHECK_INT(ingest_s3_parse_amz_date(S("20131301T000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("20130001T000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("20130100T000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("20130431T000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("19691231T235959Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("20130524 000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("20130524T00000aZ"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("20130524T000000z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(S("+0130524T000000Z"), &t), -1);
    CHECK_INT(ingest_s3_parse_amz_date(NULL, 0, &t), -1);

    CHECK_INT(ingest_s3_parse_http_date(S("Fri, 24 May 2013 00:00:00 GMT"),
                                        &t), 0);
    CHECK_INT(t, 1369353600);
    CHECK_INT(ingest_s3_parse_http_date(S("Thu, 29 Feb 2024 23:59:59 GMT"),
                                        &t), 0);
    CHECK_INT(t, 1709251199);
    CHECK_INT(ingest_s3_parse_http_date(S("Xyz, 24 May 2013 00:00:00 GMT"),
                                        &t), -1);
    CHECK_INT(ingest_s3_parse_http_date(S("Fri, 24 Mai 2013 00:00:00 GMT"),
                                        &t), -1);
    CHECK_INT(ingest_s3_parse_http_date(S("Fri, 31 Apr 2013 00:00:00 GMT"),
                                        &t), -1);
    CHECK_INT(ingest_s3_parse_http_date(S("Fri, 24 May 2013 24:00:00 GMT"),
                                        &t), -1);
    CHECK_INT(ingest_s3_parse_http_date(S("Fri, 24 May 2013 00:00:00 UTC"),
                                        &t), -1);
    CHECK_INT(ingest_s3_parse_http_date(S("Fri,24 May 2013 00:00:00 GMT "),
                                        &t), -1);

    CHECK_U64(ingest_s3_format_amz_date(out, 1369353600), 16);
    CHECK_MEM(out, 16, "20130524T000000Z");
    ingest_s3_format_amz_date(out, 0);
    CHECK_MEM(out, 16, "19700101T000000Z");
    ingest_s3_format_amz_date(out, -5);
    CHECK_MEM(out, 16, "19700101T000000Z");
    ingest_s3_format_amz_date(out, INT64_MAX);
    CHECK_MEM(out, 16, "99991231T235959Z");

    CHECK_U64(ingest_s3_format_iso8601(out, 1709251199), 24);
    CHECK_MEM(out, 24, "2024-02-29T23:59:59.000Z");

    /* every day of several years round-trips */

    for (t = 0; t < INT64_C(86400) * 366 * 4; t += 86400 + 3607) {
        ingest_s3_format_amz_date(out, t);

        {
            int64_t  back;

            if (ingest_s3_parse_amz_date(out, 16, &back) != 0 || back != t) {
                TEST_FAIL("round trip %" PRId64, t);
                break;
            }
        }
    }

    test_passed++;
}


static void
test_s3(void)
{
    test_errors();
    test_header_find();
    test_route();
    test_query_get();
    test_uri();
    test_names();
    test_cksum();
    test_body();
    test_etag();
    test_dates();
}


TEST_MAIN("test_s3", test_s3)
