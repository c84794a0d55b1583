
/*
 * Copyright (C) nginx video ingest developers
 *
 * S3-compatible multipart API: the decision codes shared by SigV4
 * (ingest_sigv4.h), the aws-chunked decoder (ingest_awschunked.h) and
 * the XML code (ingest_s3xml.h), with the one table that maps them to
 * HTTP statuses and S3 error codes; plus request routing, S3 checksums,
 * ETags, URI and time helpers. Pure C, no I/O.
 *
 * How the glue uses the S3 core for one request, in order:
 *
 *   1. ingest_s3_route() on method, path (relative to the API root) and
 *      query: operation, bucket, key, upload id, part number, list
 *      parameters.
 *   2. ingest_sigv4_authenticate() (or ingest_sigv4_parse() + key
 *      lookup + ingest_sigv4_verify()) on the full raw path, query and
 *      all request headers.
 *   3. For a request body:
 *        payload STREAMING-*: ingest_awschunked_init() and feed the body
 *          through ingest_awschunked_feed(), the decoded data into an
 *          ingest_s3_body_t;
 *        otherwise: feed the body into an ingest_s3_body_t initialised
 *          with the signed x-amz-content-sha256 (when it is a digest).
 *      ingest_s3_body_final() gives the MD5 for the ETag, or the error.
 *   4. Responses: ingest_s3xml_*() writers; errors through
 *      ingest_s3_http_status(), ingest_s3_error_code(),
 *      ingest_s3_error_message() and ingest_s3xml_error().
 */


#ifndef _INGEST_S3_H_INCLUDED_
#define _INGEST_S3_H_INCLUDED_


#include "ingest_core.h"
#include "ingest_checksum.h"


#define INGEST_S3_MIN_PART_NUMBER   1
#define INGEST_S3_MAX_PART_NUMBER   10000

/* every part but the last is at least 5 MiB; a part is at most 5 GiB */
#define INGEST_S3_MIN_PART_SIZE     ((uint64_t) 5 * 1024 * 1024)
#define INGEST_S3_MAX_PART_SIZE     ((uint64_t) 5 * 1024 * 1024 * 1024)

/* ListParts and ListMultipartUploads return at most this many entries */
#define INGEST_S3_MAX_LIST         1000

#define INGEST_S3_MAX_KEY_LEN       1024

/* "<32 hex>" and "<32 hex>-10000", quotes included */
#define INGEST_S3_ETAG_LEN          34
#define INGEST_S3_ETAG_MAX          40

/* "20130524T000000Z" and "2013-05-24T00:00:00.000Z" */
#define INGEST_S3_AMZ_DATE_LEN      16
#define INGEST_S3_ISO8601_LEN       24

#define INGEST_S3_XMLNS  "http://s3.amazonaws.com/doc/2006-03-01/"


/*
 * Decision codes. One table maps each to an HTTP status, an S3 error
 * code ("SignatureDoesNotMatch") and a message; several decision codes
 * share an S3 error code but keep their own message, so logs tell the
 * causes apart.
 */
typedef enum {
    INGEST_S3_OK = 0,

    /* authentication: the mechanism */
    INGEST_S3_ACCESS_DENIED,          /* 403 AccessDenied (anonymous) */
    INGEST_S3_AUTH_MECHANISM,         /* 400 InvalidRequest: SigV2, ... */
    INGEST_S3_AUTH_CONFLICT,          /* 400 InvalidArgument: header and
                                         query authentication at once */
    INGEST_S3_SIGV4A,                 /* 501 NotImplemented */

    /* authentication: the Authorization header */
    INGEST_S3_AUTH_MALFORMED,         /* 400 AuthorizationHeaderMalformed */
    INGEST_S3_AUTH_CREDENTIAL,        /* 400 AuthorizationHeaderMalformed */
    INGEST_S3_AUTH_REGION,            /* 400 AuthorizationHeaderMalformed */
    INGEST_S3_AUTH_SERVICE,           /* 400 AuthorizationHeaderMalformed */
    INGEST_S3_AUTH_SCOPE_DATE,        /* 400 AuthorizationHeaderMalformed */
    INGEST_S3_AUTH_SIGNED_HEADERS,    /* 400 AuthorizationHeaderMalformed */
    INGEST_S3_AUTH_NO_DATE,           /* 403 AccessDenied */
    INGEST_S3_AUTH_NO_CONTENT_SHA256, /* 400 InvalidRequest */
    INGEST_S3_AUTH_BAD_CONTENT_SHA256, /* 400 InvalidArgument */

    /* authentication: presigned query parameters */
    INGEST_S3_QUERY_MISSING,          /* 400 AuthorizationQueryParameters-
                                         Error, as all below but the
                                         last two */
    INGEST_S3_QUERY_MALFORMED,
    INGEST_S3_QUERY_ALGORITHM,
    INGEST_S3_QUERY_CREDENTIAL,
    INGEST_S3_QUERY_REGION,
    INGEST_S3_QUERY_SERVICE,
    INGEST_S3_QUERY_SCOPE_DATE,
    INGEST_S3_QUERY_DATE,
    INGEST_S3_QUERY_EXPIRES,
    INGEST_S3_QUERY_EXPIRES_TOO_LONG,
    INGEST_S3_QUERY_SIGNED_HEADERS,
    INGEST_S3_EXPIRED,                /* 403 AccessDenied */
    INGEST_S3_NOT_YET_VALID,          /* 403 AccessDenied */

    /* authentication: the verdict */
    INGEST_S3_TIME_SKEWED,            /* 403 RequestTimeTooSkewed */
    INGEST_S3_INVALID_ACCESS_KEY,     /* 403 InvalidAccessKeyId */
    INGEST_S3_SIGNATURE_MISMATCH,     /* 403 SignatureDoesNotMatch */
    INGEST_S3_SIGNED_HEADER_MISSING,  /* 403 SignatureDoesNotMatch */
    INGEST_S3_HEADERS_NOT_SIGNED,     /* 403 AccessDenied */

    /* payload */
    INGEST_S3_CONTENT_SHA256_MISMATCH, /* 400 XAmzContentSHA256Mismatch */
    INGEST_S3_CHUNK_SIGNATURE_MISMATCH, /* 403 SignatureDoesNotMatch */
    INGEST_S3_TRAILER_SIGNATURE_MISMATCH, /* 403 SignatureDoesNotMatch */
    INGEST_S3_CHUNKED_MALFORMED,      /* 400 InvalidRequest */
    INGEST_S3_INCOMPLETE_BODY,        /* 400 IncompleteBody */
    INGEST_S3_DECODED_LENGTH,         /* 400 IncompleteBody */
    INGEST_S3_BAD_DECODED_LENGTH,     /* 400 InvalidArgument */
    INGEST_S3_MISSING_DECODED_LENGTH, /* 411 MissingContentLength */
    INGEST_S3_TRAILER_MALFORMED,      /* 400 MalformedTrailerError */
    INGEST_S3_TRAILER_INVALID,        /* 400 InvalidRequest */
    INGEST_S3_MULTIPLE_CHECKSUMS,     /* 400 InvalidRequest */
    INGEST_S3_BAD_DIGEST,             /* 400 BadDigest */
    INGEST_S3_INVALID_DIGEST,         /* 400 InvalidDigest */

    /* multipart semantics */
    INGEST_S3_MALFORMED_XML,          /* 400 MalformedXML */
    INGEST_S3_INVALID_PART,           /* 400 InvalidPart */
    INGEST_S3_INVALID_PART_ORDER,     /* 400 InvalidPartOrder */
    INGEST_S3_INVALID_PART_NUMBER,    /* 400 InvalidArgument */
    INGEST_S3_ENTITY_TOO_SMALL,       /* 400 EntityTooSmall */
    INGEST_S3_ENTITY_TOO_LARGE,       /* 400 EntityTooLarge */
    INGEST_S3_NO_SUCH_UPLOAD,         /* 404 NoSuchUpload */
    INGEST_S3_NO_SUCH_KEY,            /* 404 NoSuchKey */
    INGEST_S3_NO_SUCH_BUCKET,         /* 404 NoSuchBucket */

    /* the request itself */
    INGEST_S3_INVALID_URI,            /* 400 InvalidURI */
    INGEST_S3_INVALID_BUCKET_NAME,    /* 400 InvalidBucketName */
    INGEST_S3_KEY_TOO_LONG,           /* 400 KeyTooLongError */
    INGEST_S3_INVALID_KEY,            /* 400 InvalidArgument */
    INGEST_S3_INVALID_ARGUMENT,       /* 400 InvalidArgument */
    INGEST_S3_INVALID_REQUEST,        /* 400 InvalidRequest */
    INGEST_S3_REQUEST_TIMEOUT,        /* 400 RequestTimeout */
    INGEST_S3_MISSING_CONTENT_LENGTH, /* 411 MissingContentLength */
    INGEST_S3_METHOD_NOT_ALLOWED,     /* 405 MethodNotAllowed */
    INGEST_S3_INVALID_RANGE,          /* 416 InvalidRange */
    INGEST_S3_CONFLICT,               /* 409 OperationAborted */
    INGEST_S3_NOT_IMPLEMENTED,        /* 501 NotImplemented */
    INGEST_S3_SLOW_DOWN,              /* 503 SlowDown */
    INGEST_S3_QUOTA_EXCEEDED,         /* 403 QuotaExceeded */
    INGEST_S3_NO_SPACE,               /* 507 InsufficientStorage */
    INGEST_S3_INTERNAL_ERROR,         /* 500 InternalError */

    INGEST_S3_RC_LAST
} ingest_s3_rc_t;


/* HTTP status for a decision code (500 for unknown codes) */
int ingest_s3_http_status(ingest_s3_rc_t rc);

/* S3 error code, e.g. "SignatureDoesNotMatch"; static NUL-terminated */
const char *ingest_s3_error_code(ingest_s3_rc_t rc);

/* the message for <Message> and the log; static NUL-terminated */
const char *ingest_s3_error_message(ingest_s3_rc_t rc);


/* a header as received, or any name/value pair */
typedef struct {
    ingest_str_t  name;
    ingest_str_t  value;
} ingest_s3_header_t;

/*
 * Finds a header by name (ASCII case-insensitive). Returns the number of
 * headers with that name and sets *value to the first one (data NULL
 * when there is none).
 */
size_t ingest_s3_header_find(const ingest_s3_header_t *headers, size_t n,
    const char *name, ingest_str_t *value);


/*
 * Routing of path-style requests. path is the raw path (still percent-
 * encoded) relative to the API root, starting with "/"; query is the raw
 * query string without "?". Parameter names are matched exactly, as S3
 * does. JS SDK's "x-id" and response-* parameters are ignored; other
 * sub-resources (acl, tagging, ...) give NOT_IMPLEMENTED.
 */
typedef enum {
    INGEST_S3_OP_NONE = 0,
    INGEST_S3_OP_LIST_BUCKETS,        /* GET / */
    INGEST_S3_OP_HEAD_BUCKET,         /* HEAD /b */
    INGEST_S3_OP_LIST_OBJECTS,        /* GET /b */
    INGEST_S3_OP_LIST_UPLOADS,        /* GET /b?uploads */
    INGEST_S3_OP_CREATE_UPLOAD,       /* POST /b/k?uploads */
    INGEST_S3_OP_UPLOAD_PART,         /* PUT /b/k?partNumber=N&uploadId=U */
    INGEST_S3_OP_COMPLETE_UPLOAD,     /* POST /b/k?uploadId=U */
    INGEST_S3_OP_ABORT_UPLOAD,        /* DELETE /b/k?uploadId=U */
    INGEST_S3_OP_LIST_PARTS,          /* GET /b/k?uploadId=U */
    INGEST_S3_OP_PUT_OBJECT,          /* PUT /b/k */
    INGEST_S3_OP_GET_OBJECT,          /* GET /b/k */
    INGEST_S3_OP_HEAD_OBJECT,         /* HEAD /b/k */
    INGEST_S3_OP_DELETE_OBJECT        /* DELETE /b/k */
} ingest_s3_op_t;

typedef struct {
    ingest_s3_op_t  op;
    ingest_str_t    bucket;             /* raw; empty for LIST_BUCKETS */
    ingest_str_t    key;                /* raw (percent-encoded); empty
                                           for bucket operations */
    ingest_str_t    upload_id;          /* raw; data NULL when absent */
    uint32_t        part_number;        /* 0 when absent */
    uint32_t        max_parts;          /* default and cap 1000 */
    uint32_t        part_number_marker; /* 0 when absent */
    uint32_t        max_uploads;        /* default and cap 1000 */
    ingest_str_t    key_marker;         /* raw; data NULL when absent */
    ingest_str_t    upload_id_marker;   /* raw; data NULL when absent */
    ingest_str_t    prefix;             /* raw; data NULL when absent */
    unsigned        encoding_url:1;     /* encoding-type=url */
} ingest_s3_route_t;

/*
 * Returns OK, INVALID_URI (bad path or escapes), INVALID_BUCKET_NAME,
 * METHOD_NOT_ALLOWED, NOT_IMPLEMENTED (a sub-resource we do not serve),
 * INVALID_PART_NUMBER, INVALID_ARGUMENT (uploadId without partNumber
 * on PUT, bad max-parts, ...). The key is checked by the glue after
 * decoding (ingest_s3_key_check()).
 */
ingest_s3_rc_t ingest_s3_route(const unsigned char *method, size_t mlen,
    const unsigned char *path, size_t plen, const unsigned char *query,
    size_t qlen, ingest_s3_route_t *route);

/*
 * Finds a query parameter by its decoded name. Returns 1 and the raw
 * value (data may be empty, "" for "?uploads"), 0 when absent, -1 when
 * the query has bad escapes or the name appears twice.
 */
int ingest_s3_query_get(const unsigned char *query, size_t len,
    const char *name, ingest_str_t *value);


/*
 * Percent-decoding ("+" stays "+"). out may be NULL to validate and
 * size; it needs len bytes. Returns the decoded length or -1 on a bad
 * escape.
 */
ssize_t ingest_s3_uri_decode(unsigned char *out, const unsigned char *in,
    size_t len);

/*
 * AWS URI encoding: everything but A-Z a-z 0-9 - _ . ~ (and "/" when
 * keep_slash) as %XX with upper case hex. out may be NULL to size; it
 * needs up to 3 * len bytes. Returns the encoded length.
 */
size_t ingest_s3_uri_encode(unsigned char *out, const unsigned char *in,
    size_t len, int keep_slash);

/*
 * A decoded object key: 1..1024 bytes of valid UTF-8 without control
 * characters (they cannot be written in XML 1.0). Returns OK,
 * KEY_TOO_LONG or INVALID_KEY.
 */
ingest_s3_rc_t ingest_s3_key_check(const unsigned char *key, size_t len);

/*
 * A bucket name: 3..63 of a-z 0-9 . -, starting and ending with a letter
 * or digit, no "..", not an IPv4 address. Returns OK or
 * INVALID_BUCKET_NAME.
 */
ingest_s3_rc_t ingest_s3_bucket_check(const unsigned char *name, size_t len);


/*
 * S3 additional checksums: x-amz-checksum-<algo> headers and aws-chunked
 * trailers, values base64 of the big-endian digest.
 */
typedef enum {
    INGEST_S3_CKSUM_NONE = 0,
    INGEST_S3_CKSUM_CRC32,
    INGEST_S3_CKSUM_CRC32C,
    INGEST_S3_CKSUM_CRC64NVME,
    INGEST_S3_CKSUM_SHA1,
    INGEST_S3_CKSUM_SHA256
} ingest_s3_cksum_algo_t;

#define INGEST_S3_CKSUM_MAX_DIGEST  32

typedef struct {
    ingest_s3_cksum_algo_t  algo;
    ingest_cksum_t          ck;         /* all but crc64nvme */
    uint64_t                crc64;
} ingest_s3_cksum_t;

/* "x-amz-checksum-crc32" (any case) -> CRC32; NONE for other names */
ingest_s3_cksum_algo_t ingest_s3_cksum_by_header(const unsigned char *name,
    size_t len);

/* "CRC32" (x-amz-sdk-checksum-algorithm, any case) -> CRC32 */
ingest_s3_cksum_algo_t ingest_s3_cksum_by_name(const unsigned char *name,
    size_t len);

/* "x-amz-checksum-crc32", or NULL for NONE */
const char *ingest_s3_cksum_header(ingest_s3_cksum_algo_t algo);

/* digest size in bytes: 4, 4, 8, 20, 32; 0 for NONE */
size_t ingest_s3_cksum_size(ingest_s3_cksum_algo_t algo);

/* base64 value of a checksum into digest; OK or INVALID_DIGEST */
ingest_s3_rc_t ingest_s3_cksum_parse(ingest_s3_cksum_algo_t algo,
    const unsigned char *value, size_t len, unsigned char *digest);

/* as ingest_cksum_*(): init allocates, free always follows */
int ingest_s3_cksum_init(ingest_s3_cksum_t *ck, ingest_s3_cksum_algo_t algo);
int ingest_s3_cksum_update(ingest_s3_cksum_t *ck, const void *data,
    size_t len);
int ingest_s3_cksum_final(ingest_s3_cksum_t *ck, unsigned char *digest);
void ingest_s3_cksum_free(ingest_s3_cksum_t *ck);

/* CRC-64/NVME: reflected 0x9a6c9329ac4bc9b5, init and xorout all ones */
uint64_t ingest_crc64nvme_update(uint64_t crc, const void *data, size_t len);


/*
 * Request body checks while streaming: the signed x-amz-content-sha256
 * (XAmzContentSHA256Mismatch), Content-MD5 and one x-amz-checksum-*
 * header (BadDigest); the MD5 of the body is always computed, for the
 * ETag. For an aws-chunked body feed the decoded data.
 */
typedef struct {
    void               *md5;            /* EVP_MD_CTX * */
    void               *sha256;         /* EVP_MD_CTX *, NULL: no check */
    ingest_s3_cksum_t   cksum;
    uint64_t            size;
    unsigned            check_md5:1;
    unsigned char       expect_sha256[32];
    unsigned char       expect_md5[16];
    unsigned char       expect_cksum[INGEST_S3_CKSUM_MAX_DIGEST];
} ingest_s3_body_t;

/*
 * Reads Content-MD5 and the x-amz-checksum-* headers from the request
 * headers; sha256 is the 32-byte signed payload digest or NULL (see
 * ingest_sigv4_auth_t.payload). Returns OK, INVALID_DIGEST (a bad
 * value), MULTIPLE_CHECKSUMS or INTERNAL_ERROR. ingest_s3_body_free()
 * must follow in every case.
 */
ingest_s3_rc_t ingest_s3_body_init(ingest_s3_body_t *b,
    const ingest_s3_header_t *headers, size_t nheaders,
    const unsigned char *sha256);
int ingest_s3_body_update(ingest_s3_body_t *b, const void *data, size_t len);

/*
 * Returns OK and the body's MD5 in md5, or CONTENT_SHA256_MISMATCH,
 * BAD_DIGEST, INTERNAL_ERROR.
 */
ingest_s3_rc_t ingest_s3_body_final(ingest_s3_body_t *b, unsigned char *md5);
void ingest_s3_body_free(ingest_s3_body_t *b);


/* the ETag of a part: "<hex md5>" with quotes, INGEST_S3_ETAG_LEN bytes */
size_t ingest_s3_etag(unsigned char *out, const unsigned char *md5);

/*
 * The ETag of a completed multipart upload: "<hex md5 of the n binary
 * part MD5s, 16 bytes each>-<n>" with quotes; out holds
 * INGEST_S3_ETAG_MAX bytes. Returns its length, 0 on failure.
 */
size_t ingest_s3_etag_multipart(unsigned char *out,
    const unsigned char *md5s, size_t n);

/* an ETag of a part, quotes optional, hex of any case: 0 or -1 */
int ingest_s3_etag_parse(const unsigned char *p, size_t len,
    unsigned char *md5);


/* "20130524T000000Z" (valid calendar date) to Unix time: 0 or -1 */
int ingest_s3_parse_amz_date(const unsigned char *p, size_t len,
    int64_t *t);

/* IMF-fixdate "Fri, 24 May 2013 00:00:00 GMT" to Unix time: 0 or -1 */
int ingest_s3_parse_http_date(const unsigned char *p, size_t len,
    int64_t *t);

/* INGEST_S3_AMZ_DATE_LEN and INGEST_S3_ISO8601_LEN bytes; t >= 0 */
size_t ingest_s3_format_amz_date(unsigned char *out, int64_t t);
size_t ingest_s3_format_iso8601(unsigned char *out, int64_t t);


#endif /* _INGEST_S3_H_INCLUDED_ */
