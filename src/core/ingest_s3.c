
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_s3.h"

#include <string.h>

#include <openssl/evp.h>


static int ingest_s3_hexval(unsigned char c);
static int ingest_s3_name_eq(const unsigned char *p, size_t len,
    const char *s);
static int ingest_s3_decoded_eq(const unsigned char *raw, size_t len,
    const char *s);
static int ingest_s3_query_next(const unsigned char **pos,
    const unsigned char *end, ingest_str_t *name, ingest_str_t *value);
static int ingest_s3_subresource(const unsigned char *name, size_t len);
static ingest_s3_rc_t ingest_s3_route_param(ingest_s3_route_t *route,
    const ingest_str_t *name, const ingest_str_t *value, unsigned *seen,
    unsigned *flags);
static int ingest_s3_param_u64(const ingest_str_t *value, uint64_t *v);
static ingest_s3_rc_t ingest_s3_route_op(ingest_s3_route_t *route,
    const unsigned char *method, size_t mlen, unsigned seen);
static int ingest_s3_is_ipv4(const unsigned char *p, size_t len);
static void ingest_s3_trim(const unsigned char **p, size_t *len);
static int64_t ingest_s3_days_from_civil(int64_t y, unsigned m, unsigned d);
static void ingest_s3_civil(int64_t t, int64_t *y, unsigned *mo, unsigned *d,
    unsigned *h, unsigned *mi, unsigned *s);
static int ingest_s3_digits(const unsigned char *p, size_t n, unsigned *v);
static unsigned ingest_s3_days_in_month(int64_t y, unsigned m);
static void ingest_s3_put_digits(unsigned char *p, unsigned v, size_t n);


/* the query parameters ingest_s3_route() knows (bits of "seen") */
#define INGEST_S3_Q_UPLOADS          0x0001
#define INGEST_S3_Q_UPLOAD_ID        0x0002
#define INGEST_S3_Q_PART_NUMBER      0x0004
#define INGEST_S3_Q_MAX_PARTS        0x0008
#define INGEST_S3_Q_PART_MARKER      0x0010
#define INGEST_S3_Q_MAX_UPLOADS      0x0020
#define INGEST_S3_Q_KEY_MARKER       0x0040
#define INGEST_S3_Q_UPLOAD_ID_MARKER 0x0080
#define INGEST_S3_Q_PREFIX           0x0100
#define INGEST_S3_Q_ENCODING         0x0200
#define INGEST_S3_Q_DELIMITER        0x0400

/* route flags */
#define INGEST_S3_F_SUBRESOURCE      0x0001


typedef struct {
    int          status;
    const char  *code;
    const char  *message;
} ingest_s3_error_t;


static const ingest_s3_error_t  ingest_s3_errors[INGEST_S3_RC_LAST] = {

    [INGEST_S3_OK] = { 200, "OK", "OK" },

    [INGEST_S3_ACCESS_DENIED] = { 403, "AccessDenied", "Access Denied" },
    [INGEST_S3_AUTH_MECHANISM] = { 400, "InvalidRequest",
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256." },
    [INGEST_S3_AUTH_CONFLICT] = { 400, "InvalidArgument",
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
        "parameter, Signature query string parameter or the Authorization "
        "header should be specified" },
    [INGEST_S3_SIGV4A] = { 501, "NotImplemented",
        "AWS4-ECDSA-P256-SHA256 (SigV4a) signing is not implemented" },

    [INGEST_S3_AUTH_MALFORMED] = { 400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed; it must be "
        "\"AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., "
        "Signature=<64 hex>\"" },
    [INGEST_S3_AUTH_CREDENTIAL] = { 400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the Credential is "
        "mal-formed; expecting "
        "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"." },
    [INGEST_S3_AUTH_REGION] = { 400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region in the "
        "Credential is wrong for this endpoint" },
    [INGEST_S3_AUTH_SERVICE] = { 400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed; incorrect service in the "
        "Credential, this endpoint belongs to \"s3\"" },
    [INGEST_S3_AUTH_SCOPE_DATE] = { 400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed; Invalid credential date. "
        "Date is not the same as X-Amz-Date." },
    [INGEST_S3_AUTH_SIGNED_HEADERS] = { 400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed; SignedHeaders must be "
        "sorted lower case header names that include host" },
    [INGEST_S3_AUTH_NO_DATE] = { 403, "AccessDenied",
        "AWS authentication requires a valid Date or x-amz-date header" },
    [INGEST_S3_AUTH_NO_CONTENT_SHA256] = { 400, "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256" },
    [INGEST_S3_AUTH_BAD_CONTENT_SHA256] = { 400, "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 "
        "value." },

    [INGEST_S3_QUERY_MISSING] = { 400, "AuthorizationQueryParametersError",
        "Query-string authentication version 4 requires the "
        "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
        "X-Amz-SignedHeaders, and X-Amz-Expires parameters." },
    [INGEST_S3_QUERY_MALFORMED] = { 400, "AuthorizationQueryParametersError",
        "The query-string authentication parameters are malformed or "
        "repeated; X-Amz-Signature must be 64 lower case hex digits" },
    [INGEST_S3_QUERY_ALGORITHM] = { 400, "AuthorizationQueryParametersError",
        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"" },
    [INGEST_S3_QUERY_CREDENTIAL] = { 400,
        "AuthorizationQueryParametersError",
        "Error parsing the X-Amz-Credential parameter; the Credential is "
        "mal-formed; expecting "
        "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"." },
    [INGEST_S3_QUERY_REGION] = { 400, "AuthorizationQueryParametersError",
        "Error parsing the X-Amz-Credential parameter; the region is wrong "
        "for this endpoint" },
    [INGEST_S3_QUERY_SERVICE] = { 400, "AuthorizationQueryParametersError",
        "Error parsing the X-Amz-Credential parameter; incorrect service, "
        "this endpoint belongs to \"s3\"" },
    [INGEST_S3_QUERY_SCOPE_DATE] = { 400,
        "AuthorizationQueryParametersError",
        "Invalid credential date. Date is not the same as X-Amz-Date." },
    [INGEST_S3_QUERY_DATE] = { 400, "AuthorizationQueryParametersError",
        "X-Amz-Date must be in the ISO8601 Long Format "
        "\"yyyyMMdd'T'HHmmss'Z'\"" },
    [INGEST_S3_QUERY_EXPIRES] = { 400, "AuthorizationQueryParametersError",
        "X-Amz-Expires should be a number of seconds from 1 to 604800" },
    [INGEST_S3_QUERY_EXPIRES_TOO_LONG] = { 400,
        "AuthorizationQueryParametersError",
        "X-Amz-Expires must be less than a week (in seconds) that is; "
        "604800" },
    [INGEST_S3_QUERY_SIGNED_HEADERS] = { 400,
        "AuthorizationQueryParametersError",
        "X-Amz-SignedHeaders must be sorted lower case header names that "
        "include host" },
    [INGEST_S3_EXPIRED] = { 403, "AccessDenied", "Request has expired" },
    [INGEST_S3_NOT_YET_VALID] = { 403, "AccessDenied",
        "Request is not valid yet" },

    [INGEST_S3_TIME_SKEWED] = { 403, "RequestTimeTooSkewed",
        "The difference between the request time and the current time is "
        "too large." },
    [INGEST_S3_INVALID_ACCESS_KEY] = { 403, "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our "
        "records." },
    [INGEST_S3_SIGNATURE_MISMATCH] = { 403, "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature "
        "you provided. Check your key and signing method." },
    [INGEST_S3_SIGNED_HEADER_MISSING] = { 403, "SignatureDoesNotMatch",
        "A header listed in SignedHeaders is missing from the request." },
    [INGEST_S3_HEADERS_NOT_SIGNED] = { 403, "AccessDenied",
        "There were headers present in the request which were not "
        "signed" },

    [INGEST_S3_CONTENT_SHA256_MISMATCH] = { 400,
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what "
        "was computed." },
    [INGEST_S3_CHUNK_SIGNATURE_MISMATCH] = { 403, "SignatureDoesNotMatch",
        "The chunk signature we calculated does not match the signature "
        "you provided." },
    [INGEST_S3_TRAILER_SIGNATURE_MISMATCH] = { 403, "SignatureDoesNotMatch",
        "The trailer signature we calculated does not match the signature "
        "you provided." },
    [INGEST_S3_CHUNKED_MALFORMED] = { 400, "InvalidRequest",
        "The aws-chunked request body is malformed." },
    [INGEST_S3_INCOMPLETE_BODY] = { 400, "IncompleteBody",
        "You did not provide the number of bytes specified by the "
        "Content-Length HTTP header." },
    [INGEST_S3_DECODED_LENGTH] = { 400, "IncompleteBody",
        "The decoded body length does not match "
        "x-amz-decoded-content-length." },
    [INGEST_S3_BAD_DECODED_LENGTH] = { 400, "InvalidArgument",
        "x-amz-decoded-content-length is not a valid length." },
    [INGEST_S3_MISSING_DECODED_LENGTH] = { 411, "MissingContentLength",
        "You must provide the x-amz-decoded-content-length HTTP header." },
    [INGEST_S3_TRAILER_MALFORMED] = { 400, "MalformedTrailerError",
        "The request contained trailing data that was not well-formed or "
        "did not conform to our published schema." },
    [INGEST_S3_TRAILER_INVALID] = { 400, "InvalidRequest",
        "The value specified in the x-amz-trailer header is not "
        "supported" },
    [INGEST_S3_MULTIPLE_CHECKSUMS] = { 400, "InvalidRequest",
        "Expecting a single x-amz-checksum- header. Multiple checksum "
        "Types are not allowed." },
    [INGEST_S3_BAD_DIGEST] = { 400, "BadDigest",
        "The Content-MD5 or checksum value that you specified did not "
        "match what the server received." },
    [INGEST_S3_INVALID_DIGEST] = { 400, "InvalidDigest",
        "The Content-MD5 or checksum value that you specified is not "
        "valid." },

    [INGEST_S3_MALFORMED_XML] = { 400, "MalformedXML",
        "The XML you provided was not well-formed or did not validate "
        "against our published schema." },
    [INGEST_S3_INVALID_PART] = { 400, "InvalidPart",
        "One or more of the specified parts could not be found. The part "
        "may not have been uploaded, or the specified entity tag may not "
        "match the part's entity tag." },
    [INGEST_S3_INVALID_PART_ORDER] = { 400, "InvalidPartOrder",
        "The list of parts was not in ascending order. The parts list "
        "must be specified in order by part number." },
    [INGEST_S3_INVALID_PART_NUMBER] = { 400, "InvalidArgument",
        "Part number must be an integer between 1 and 10000, inclusive" },
    [INGEST_S3_ENTITY_TOO_SMALL] = { 400, "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed object "
        "size." },
    [INGEST_S3_ENTITY_TOO_LARGE] = { 400, "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed object size." },
    [INGEST_S3_NO_SUCH_UPLOAD] = { 404, "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID "
        "might be invalid, or the multipart upload might have been "
        "aborted or completed." },
    [INGEST_S3_NO_SUCH_KEY] = { 404, "NoSuchKey",
        "The specified key does not exist." },
    [INGEST_S3_NO_SUCH_BUCKET] = { 404, "NoSuchBucket",
        "The specified bucket does not exist." },

    [INGEST_S3_INVALID_URI] = { 400, "InvalidURI",
        "Couldn't parse the specified URI." },
    [INGEST_S3_INVALID_BUCKET_NAME] = { 400, "InvalidBucketName",
        "The specified bucket is not valid." },
    [INGEST_S3_KEY_TOO_LONG] = { 400, "KeyTooLongError",
        "Your key is too long." },
    [INGEST_S3_INVALID_KEY] = { 400, "InvalidArgument",
        "Object keys must be valid UTF-8 without control characters." },
    [INGEST_S3_INVALID_ARGUMENT] = { 400, "InvalidArgument",
        "Invalid Argument" },
    [INGEST_S3_INVALID_REQUEST] = { 400, "InvalidRequest",
        "Invalid Request" },
    [INGEST_S3_REQUEST_TIMEOUT] = { 400, "RequestTimeout",
        "Your socket connection to the server was not read from or "
        "written to within the timeout period." },
    [INGEST_S3_MISSING_CONTENT_LENGTH] = { 411, "MissingContentLength",
        "You must provide the Content-Length HTTP header." },
    [INGEST_S3_METHOD_NOT_ALLOWED] = { 405, "MethodNotAllowed",
        "The specified method is not allowed against this resource." },
    [INGEST_S3_INVALID_RANGE] = { 416, "InvalidRange",
        "The requested range is not satisfiable" },
    [INGEST_S3_CONFLICT] = { 409, "OperationAborted",
        "A conflicting conditional operation is currently in progress "
        "against this resource. Try again." },
    [INGEST_S3_NOT_IMPLEMENTED] = { 501, "NotImplemented",
        "A header or parameter you provided implies functionality that is "
        "not implemented." },
    [INGEST_S3_SLOW_DOWN] = { 503, "SlowDown",
        "Please reduce your request rate." },
    [INGEST_S3_QUOTA_EXCEEDED] = { 403, "QuotaExceeded",
        "The account's upload quota is exhausted." },
    [INGEST_S3_NO_SPACE] = { 507, "InsufficientStorage",
        "The upload store is out of space." },
    [INGEST_S3_INTERNAL_ERROR] = { 500, "InternalError",
        "We encountered an internal error. Please try again." }
};


/* sub-resources of S3 that this API does not serve */
static const char  *ingest_s3_subresources[] = {
    "accelerate", "acl", "analytics", "attributes", "cors", "delete",
    "encryption", "intelligent-tiering", "inventory", "legal-hold",
    "lifecycle", "location", "logging", "metrics", "notification",
    "object-lock", "ownershipControls", "policy", "policyStatus",
    "publicAccessBlock", "replication", "requestPayment", "restore",
    "retention", "select", "session", "tagging", "torrent", "versionId",
    "versioning", "versions", "website", NULL
};


static const char  *ingest_s3_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const char  *ingest_s3_wdays[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};


static const unsigned char  ingest_s3_hex[] = "0123456789abcdef";
static const unsigned char  ingest_s3_uhex[] = "0123456789ABCDEF";


/* reflected 0x9a6c9329ac4bc9b5 */

static const uint64_t  ingest_crc64nvme_table[256] = {
    UINT64_C(0x0000000000000000), UINT64_C(0x7f6ef0c830358979),
    UINT64_C(0xfedde190606b12f2), UINT64_C(0x81b31158505e9b8b),
    UINT64_C(0xc962e5739841b68f), UINT64_C(0xb60c15bba8743ff6),
    UINT64_C(0x37bf04e3f82aa47d), UINT64_C(0x48d1f42bc81f2d04),
    UINT64_C(0xa61cecb46814fe75), UINT64_C(0xd9721c7c5821770c),
    UINT64_C(0x58c10d24087fec87), UINT64_C(0x27affdec384a65fe),
    UINT64_C(0x6f7e09c7f05548fa), UINT64_C(0x1010f90fc060c183),
    UINT64_C(0x91a3e857903e5a08), UINT64_C(0xeecd189fa00bd371),
    UINT64_C(0x78e0ff3b88be6f81), UINT64_C(0x078e0ff3b88be6f8),
    UINT64_C(0x863d1eabe8d57d73), UINT64_C(0xf953ee63d8e0f40a),
    UINT64_C(0xb1821a4810ffd90e), UINT64_C(0xceecea8020ca5077),
    UINT64_C(0x4f5ffbd87094cbfc), UINT64_C(0x30310b1040a14285),
    UINT64_C(0xdefc138fe0aa91f4), UINT64_C(0xa192e347d09f188d),
    UINT64_C(0x2021f21f80c18306), UINT64_C(0x5f4f02d7b0f40a7f),
    UINT64_C(0x179ef6fc78eb277b), UINT64_C(0x68f0063448deae02),
    UINT64_C(0xe943176c18803589), UINT64_C(0x962de7a428b5bcf0),
    UINT64_C(0xf1c1fe77117cdf02), UINT64_C(0x8eaf0ebf2149567b),
    UINT64_C(0x0f1c1fe77117cdf0), UINT64_C(0x7072ef2f41224489),
    UINT64_C(0x38a31b04893d698d), UINT64_C(0x47cdebccb908e0f4),
    UINT64_C(0xc67efa94e9567b7f), UINT64_C(0xb9100a5cd963f206),
    UINT64_C(0x57dd12c379682177), UINT64_C(0x28b3e20b495da80e),
    UINT64_C(0xa900f35319033385), UINT64_C(0xd66e039b2936bafc),
    UINT64_C(0x9ebff7b0e12997f8), UINT64_C(0xe1d10778d11c1e81),
    UINT64_C(0x606216208142850a), UINT64_C(0x1f0ce6e8b1770c73),
    UINT64_C(0x8921014c99c2b083), UINT64_C(0xf64ff184a9f739fa),
    UINT64_C(0x77fce0dcf9a9a271), UINT64_C(0x08921014c99c2b08),
    UINT64_C(0x4043e43f0183060c), UINT64_C(0x3f2d14f731b68f75),
    UINT64_C(0xbe9e05af61e814fe), UINT64_C(0xc1f0f56751dd9d87),
    UINT64_C(0x2f3dedf8f1d64ef6), UINT64_C(0x50531d30c1e3c78f),
    UINT64_C(0xd1e00c6891bd5c04), UINT64_C(0xae8efca0a188d57d),
    UINT64_C(0xe65f088b6997f879), UINT64_C(0x9931f84359a27100),
    UINT64_C(0x1882e91b09fcea8b), UINT64_C(0x67ec19d339c963f2),
    UINT64_C(0xd75adabd7a6e2d6f), UINT64_C(0xa8342a754a5ba416),
    UINT64_C(0x29873b2d1a053f9d), UINT64_C(0x56e9cbe52a30b6e4),
    UINT64_C(0x1e383fcee22f9be0), UINT64_C(0x6156cf06d21a1299),
    UINT64_C(0xe0e5de5e82448912), UINT64_C(0x9f8b2e96b271006b),
    UINT64_C(0x71463609127ad31a), UINT64_C(0x0e28c6c1224f5a63),
    UINT64_C(0x8f9bd7997211c1e8), UINT64_C(0xf0f5275142244891),
    UINT64_C(0xb824d37a8a3b6595), UINT64_C(0xc74a23b2ba0eecec),
    UINT64_C(0x46f932eaea507767), UINT64_C(0x3997c222da65fe1e),
    UINT64_C(0xafba2586f2d042ee), UINT64_C(0xd0d4d54ec2e5cb97),
    UINT64_C(0x5167c41692bb501c), UINT64_C(0x2e0934dea28ed965),
    UINT64_C(0x66d8c0f56a91f461), UINT64_C(0x19b6303d5aa47d18),
    UINT64_C(0x980521650afae693), UINT64_C(0xe76bd1ad3acf6fea),
    UINT64_C(0x09a6c9329ac4bc9b), UINT64_C(0x76c839faaaf135e2),
    UINT64_C(0xf77b28a2faafae69), UINT64_C(0x8815d86aca9a2710),
    UINT64_C(0xc0c42c4102850a14), UINT64_C(0xbfaadc8932b0836d),
    UINT64_C(0x3e19cdd162ee18e6), UINT64_C(0x41773d1952db919f),
    UINT64_C(0x269b24ca6b12f26d), UINT64_C(0x59f5d4025b277b14),
    UINT64_C(0xd846c55a0b79e09f), UINT64_C(0xa72835923b4c69e6),
    UINT64_C(0xeff9c1b9f35344e2), UINT64_C(0x90973171c366cd9b),
    UINT64_C(0x1124202993385610), UINT64_C(0x6e4ad0e1a30ddf69),
    UINT64_C(0x8087c87e03060c18), UINT64_C(0xffe938b633338561),
    UINT64_C(0x7e5a29ee636d1eea), UINT64_C(0x0134d92653589793),
    UINT64_C(0x49e52d0d9b47ba97), UINT64_C(0x368bddc5ab7233ee),
    UINT64_C(0xb738cc9dfb2ca865), UINT64_C(0xc8563c55cb19211c),
    UINT64_C(0x5e7bdbf1e3ac9dec), UINT64_C(0x21152b39d3991495),
    UINT64_C(0xa0a63a6183c78f1e), UINT64_C(0xdfc8caa9b3f20667),
    UINT64_C(0x97193e827bed2b63), UINT64_C(0xe877ce4a4bd8a21a),
    UINT64_C(0x69c4df121b863991), UINT64_C(0x16aa2fda2bb3b0e8),
    UINT64_C(0xf86737458bb86399), UINT64_C(0x8709c78dbb8deae0),
    UINT64_C(0x06bad6d5ebd3716b), UINT64_C(0x79d4261ddbe6f812),
    UINT64_C(0x3105d23613f9d516), UINT64_C(0x4e6b22fe23cc5c6f),
    UINT64_C(0xcfd833a67392c7e4), UINT64_C(0xb0b6c36e43a74e9d),
    UINT64_C(0x9a6c9329ac4bc9b5), UINT64_C(0xe50263e19c7e40cc),
    UINT64_C(0x64b172b9cc20db47), UINT64_C(0x1bdf8271fc15523e),
    UINT64_C(0x530e765a340a7f3a), UINT64_C(0x2c608692043ff643),
    UINT64_C(0xadd397ca54616dc8), UINT64_C(0xd2bd67026454e4b1),
    UINT64_C(0x3c707f9dc45f37c0), UINT64_C(0x431e8f55f46abeb9),
    UINT64_C(0xc2ad9e0da4342532), UINT64_C(0xbdc36ec59401ac4b),
    UINT64_C(0xf5129aee5c1e814f), UINT64_C(0x8a7c6a266c2b0836),
    UINT64_C(0x0bcf7b7e3c7593bd), UINT64_C(0x74a18bb60c401ac4),
    UINT64_C(0xe28c6c1224f5a634), UINT64_C(0x9de29cda14c02f4d),
    UINT64_C(0x1c518d82449eb4c6), UINT64_C(0x633f7d4a74ab3dbf),
    UINT64_C(0x2bee8961bcb410bb), UINT64_C(0x548079a98c8199c2),
    UINT64_C(0xd53368f1dcdf0249), UINT64_C(0xaa5d9839ecea8b30),
    UINT64_C(0x449080a64ce15841), UINT64_C(0x3bfe706e7cd4d138),
    UINT64_C(0xba4d61362c8a4ab3), UINT64_C(0xc52391fe1cbfc3ca),
    UINT64_C(0x8df265d5d4a0eece), UINT64_C(0xf29c951de49567b7),
    UINT64_C(0x732f8445b4cbfc3c), UINT64_C(0x0c41748d84fe7545),
    UINT64_C(0x6bad6d5ebd3716b7), UINT64_C(0x14c39d968d029fce),
    UINT64_C(0x95708ccedd5c0445), UINT64_C(0xea1e7c06ed698d3c),
    UINT64_C(0xa2cf882d2576a038), UINT64_C(0xdda178e515432941),
    UINT64_C(0x5c1269bd451db2ca), UINT64_C(0x237c997575283bb3),
    UINT64_C(0xcdb181ead523e8c2), UINT64_C(0xb2df7122e51661bb),
    UINT64_C(0x336c607ab548fa30), UINT64_C(0x4c0290b2857d7349),
    UINT64_C(0x04d364994d625e4d), UINT64_C(0x7bbd94517d57d734),
    UINT64_C(0xfa0e85092d094cbf), UINT64_C(0x856075c11d3cc5c6),
    UINT64_C(0x134d926535897936), UINT64_C(0x6c2362ad05bcf04f),
    UINT64_C(0xed9073f555e26bc4), UINT64_C(0x92fe833d65d7e2bd),
    UINT64_C(0xda2f7716adc8cfb9), UINT64_C(0xa54187de9dfd46c0),
    UINT64_C(0x24f29686cda3dd4b), UINT64_C(0x5b9c664efd965432),
    UINT64_C(0xb5517ed15d9d8743), UINT64_C(0xca3f8e196da80e3a),
    UINT64_C(0x4b8c9f413df695b1), UINT64_C(0x34e26f890dc31cc8),
    UINT64_C(0x7c339ba2c5dc31cc), UINT64_C(0x035d6b6af5e9b8b5),
    UINT64_C(0x82ee7a32a5b7233e), UINT64_C(0xfd808afa9582aa47),
    UINT64_C(0x4d364994d625e4da), UINT64_C(0x3258b95ce6106da3),
    UINT64_C(0xb3eba804b64ef628), UINT64_C(0xcc8558cc867b7f51),
    UINT64_C(0x8454ace74e645255), UINT64_C(0xfb3a5c2f7e51db2c),
    UINT64_C(0x7a894d772e0f40a7), UINT64_C(0x05e7bdbf1e3ac9de),
    UINT64_C(0xeb2aa520be311aaf), UINT64_C(0x944455e88e0493d6),
    UINT64_C(0x15f744b0de5a085d), UINT64_C(0x6a99b478ee6f8124),
    UINT64_C(0x224840532670ac20), UINT64_C(0x5d26b09b16452559),
    UINT64_C(0xdc95a1c3461bbed2), UINT64_C(0xa3fb510b762e37ab),
    UINT64_C(0x35d6b6af5e9b8b5b), UINT64_C(0x4ab846676eae0222),
    UINT64_C(0xcb0b573f3ef099a9), UINT64_C(0xb465a7f70ec510d0),
    UINT64_C(0xfcb453dcc6da3dd4), UINT64_C(0x83daa314f6efb4ad),
    UINT64_C(0x0269b24ca6b12f26), UINT64_C(0x7d0742849684a65f),
    UINT64_C(0x93ca5a1b368f752e), UINT64_C(0xeca4aad306bafc57),
    UINT64_C(0x6d17bb8b56e467dc), UINT64_C(0x12794b4366d1eea5),
    UINT64_C(0x5aa8bf68aecec3a1), UINT64_C(0x25c64fa09efb4ad8),
    UINT64_C(0xa4755ef8cea5d153), UINT64_C(0xdb1bae30fe90582a),
    UINT64_C(0xbcf7b7e3c7593bd8), UINT64_C(0xc399472bf76cb2a1),
    UINT64_C(0x422a5673a732292a), UINT64_C(0x3d44a6bb9707a053),
    UINT64_C(0x759552905f188d57), UINT64_C(0x0afba2586f2d042e),
    UINT64_C(0x8b48b3003f739fa5), UINT64_C(0xf42643c80f4616dc),
    UINT64_C(0x1aeb5b57af4dc5ad), UINT64_C(0x6585ab9f9f784cd4),
    UINT64_C(0xe436bac7cf26d75f), UINT64_C(0x9b584a0fff135e26),
    UINT64_C(0xd389be24370c7322), UINT64_C(0xace74eec0739fa5b),
    UINT64_C(0x2d545fb4576761d0), UINT64_C(0x523aaf7c6752e8a9),
    UINT64_C(0xc41748d84fe75459), UINT64_C(0xbb79b8107fd2dd20),
    UINT64_C(0x3acaa9482f8c46ab), UINT64_C(0x45a459801fb9cfd2),
    UINT64_C(0x0d75adabd7a6e2d6), UINT64_C(0x721b5d63e7936baf),
    UINT64_C(0xf3a84c3bb7cdf024), UINT64_C(0x8cc6bcf387f8795d),
    UINT64_C(0x620ba46c27f3aa2c), UINT64_C(0x1d6554a417c62355),
    UINT64_C(0x9cd645fc4798b8de), UINT64_C(0xe3b8b53477ad31a7),
    UINT64_C(0xab69411fbfb21ca3), UINT64_C(0xd407b1d78f8795da),
    UINT64_C(0x55b4a08fdfd90e51), UINT64_C(0x2ada5047efec8728),
};


int
ingest_s3_http_status(ingest_s3_rc_t rc)
{
    if ((unsigned) rc >= INGEST_S3_RC_LAST) {
        return 500;
    }

    return ingest_s3_errors[rc].status;
}


const char *
ingest_s3_error_code(ingest_s3_rc_t rc)
{
    if ((unsigned) rc >= INGEST_S3_RC_LAST) {
        return "InternalError";
    }

    return ingest_s3_errors[rc].code;
}


const char *
ingest_s3_error_message(ingest_s3_rc_t rc)
{
    if ((unsigned) rc >= INGEST_S3_RC_LAST) {
        return "We encountered an internal error. Please try again.";
    }

    return ingest_s3_errors[rc].message;
}


size_t
ingest_s3_header_find(const ingest_s3_header_t *headers, size_t n,
    const char *name, ingest_str_t *value)
{
    size_t  i, found;

    value->data = NULL;
    value->len = 0;
    found = 0;

    for (i = 0; i < n; i++) {
        if (!ingest_s3_name_eq(headers[i].name.data, headers[i].name.len,
                               name))
        {
            continue;
        }

        if (found++ == 0) {
            *value = headers[i].value;
        }
    }

    return found;
}


ingest_s3_rc_t
ingest_s3_route(const unsigned char *method, size_t mlen,
    const unsigned char *path, size_t plen, const unsigned char *query,
    size_t qlen, ingest_s3_route_t *route)
{
    unsigned              seen, flags;
    ingest_str_t          name, value;
    ingest_s3_rc_t        rc;
    const unsigned char  *p, *end, *slash;

    memset(route, 0, sizeof(ingest_s3_route_t));
    route->max_parts = INGEST_S3_MAX_LIST;
    route->max_uploads = INGEST_S3_MAX_LIST;

    if (path == NULL || plen == 0 || path[0] != '/'
        || ingest_s3_uri_decode(NULL, path, plen) < 0
        || (qlen != 0 && ingest_s3_uri_decode(NULL, query, qlen) < 0))
    {
        return INGEST_S3_INVALID_URI;
    }

    p = path + 1;
    end = path + plen;
    slash = memchr(p, '/', (size_t) (end - p));

    route->bucket.data = p;
    route->bucket.len = (size_t) ((slash != NULL ? slash : end) - p);

    if (slash != NULL) {
        route->key.data = slash + 1;
        route->key.len = (size_t) (end - slash - 1);
    }

    seen = 0;
    flags = 0;

    if (qlen != 0) {
        p = query;
        end = query + qlen;

        while (ingest_s3_query_next(&p, end, &name, &value)) {
            rc = ingest_s3_route_param(route, &name, &value, &seen, &flags);
            if (rc != INGEST_S3_OK) {
                return rc;
            }
        }
    }

    if (route->bucket.len == 0) {
        if (route->key.len != 0 || route->key.data != NULL) {
            return INGEST_S3_INVALID_BUCKET_NAME;
        }

        if (!ingest_s3_name_eq(method, mlen, "get")) {
            return INGEST_S3_METHOD_NOT_ALLOWED;
        }

        route->op = INGEST_S3_OP_LIST_BUCKETS;
        return INGEST_S3_OK;
    }

    if (ingest_s3_bucket_check(route->bucket.data, route->bucket.len)
        != INGEST_S3_OK)
    {
        return INGEST_S3_INVALID_BUCKET_NAME;
    }

    if (flags & INGEST_S3_F_SUBRESOURCE) {
        return INGEST_S3_NOT_IMPLEMENTED;
    }

    return ingest_s3_route_op(route, method, mlen, seen);
}


static ingest_s3_rc_t
ingest_s3_route_param(ingest_s3_route_t *route, const ingest_str_t *name,
    const ingest_str_t *value, unsigned *seen, unsigned *flags)
{
    size_t    i;
    unsigned  bit;
    uint64_t  v;

    static const struct {
        const char  *name;
        unsigned     bit;
    } known[] = {
        { "uploads", INGEST_S3_Q_UPLOADS },
        { "uploadId", INGEST_S3_Q_UPLOAD_ID },
        { "partNumber", INGEST_S3_Q_PART_NUMBER },
        { "max-parts", INGEST_S3_Q_MAX_PARTS },
        { "part-number-marker", INGEST_S3_Q_PART_MARKER },
        { "max-uploads", INGEST_S3_Q_MAX_UPLOADS },
        { "key-marker", INGEST_S3_Q_KEY_MARKER },
        { "upload-id-marker", INGEST_S3_Q_UPLOAD_ID_MARKER },
        { "prefix", INGEST_S3_Q_PREFIX },
        { "encoding-type", INGEST_S3_Q_ENCODING },
        { "delimiter", INGEST_S3_Q_DELIMITER },
        { NULL, 0 }
    };

    bit = 0;

    for (i = 0; known[i].name != NULL; i++) {
        if (ingest_s3_decoded_eq(name->data, name->len, known[i].name)) {
            bit = known[i].bit;
            break;
        }
    }

    if (bit == 0) {
        if (ingest_s3_subresource(name->data, name->len)) {
            *flags |= INGEST_S3_F_SUBRESOURCE;
        }

        /* x-id, response-*, X-Amz-*, anything else: not ours */
        return INGEST_S3_OK;
    }

    if (*seen & bit) {
        return INGEST_S3_INVALID_ARGUMENT;
    }

    *seen |= bit;

    switch (bit) {

    case INGEST_S3_Q_UPLOAD_ID:
        route->upload_id = *value;
        break;

    case INGEST_S3_Q_PART_NUMBER:
        if (ingest_s3_param_u64(value, &v) != 0
            || v < INGEST_S3_MIN_PART_NUMBER || v > INGEST_S3_MAX_PART_NUMBER)
        {
            return INGEST_S3_INVALID_PART_NUMBER;
        }

        route->part_number = (uint32_t) v;
        break;

    case INGEST_S3_Q_MAX_PARTS:
    case INGEST_S3_Q_MAX_UPLOADS:
        if (ingest_s3_param_u64(value, &v) != 0) {
            return INGEST_S3_INVALID_ARGUMENT;
        }

        if (v > INGEST_S3_MAX_LIST) {
            v = INGEST_S3_MAX_LIST;
        }

        if (bit == INGEST_S3_Q_MAX_PARTS) {
            route->max_parts = (uint32_t) v;

        } else {
            route->max_uploads = (uint32_t) v;
        }

        break;

    case INGEST_S3_Q_PART_MARKER:
        if (ingest_s3_param_u64(value, &v) != 0) {
            return INGEST_S3_INVALID_ARGUMENT;
        }

        route->part_number_marker = (uint32_t) (v > INGEST_S3_MAX_PART_NUMBER
                                                ? INGEST_S3_MAX_PART_NUMBER
                                                : v);
        break;

    case INGEST_S3_Q_KEY_MARKER:
        route->key_marker = *value;
        break;

    case INGEST_S3_Q_UPLOAD_ID_MARKER:
        route->upload_id_marker = *value;
        break;

    case INGEST_S3_Q_PREFIX:
        route->prefix = *value;
        break;

    case INGEST_S3_Q_ENCODING:
        if (!ingest_s3_decoded_eq(value->data, value->len, "url")) {
            return INGEST_S3_INVALID_ARGUMENT;
        }

        route->encoding_url = 1;
        break;

    default:
        /* uploads, delimiter: presence only */
        break;
    }

    return INGEST_S3_OK;
}


static ingest_s3_rc_t
ingest_s3_route_op(ingest_s3_route_t *route, const unsigned char *method,
    size_t mlen, unsigned seen)
{
    unsigned  uploads, upload_id, part;

    uploads = seen & INGEST_S3_Q_UPLOADS;
    upload_id = seen & INGEST_S3_Q_UPLOAD_ID;
    part = seen & INGEST_S3_Q_PART_NUMBER;

    if (route->key.len == 0) {

        if (upload_id || part) {
            return INGEST_S3_INVALID_ARGUMENT;
        }

        if (ingest_s3_name_eq(method, mlen, "get")) {
            if (seen & INGEST_S3_Q_DELIMITER) {
                return INGEST_S3_NOT_IMPLEMENTED;
            }

            route->op = uploads ? INGEST_S3_OP_LIST_UPLOADS
                                : INGEST_S3_OP_LIST_OBJECTS;
            return INGEST_S3_OK;
        }

        if (ingest_s3_name_eq(method, mlen, "head") && !uploads) {
            route->op = INGEST_S3_OP_HEAD_BUCKET;
            return INGEST_S3_OK;
        }

        return INGEST_S3_METHOD_NOT_ALLOWED;
    }

    if (ingest_s3_name_eq(method, mlen, "post")) {
        if (uploads && !upload_id && !part) {
            route->op = INGEST_S3_OP_CREATE_UPLOAD;
            return INGEST_S3_OK;
        }

        if (upload_id && !uploads && !part) {
            route->op = INGEST_S3_OP_COMPLETE_UPLOAD;
            return INGEST_S3_OK;
        }

        return (uploads || upload_id || part) ? INGEST_S3_INVALID_ARGUMENT
                                              : INGEST_S3_METHOD_NOT_ALLOWED;
    }

    if (uploads) {
        return INGEST_S3_INVALID_ARGUMENT;
    }

    if (ingest_s3_name_eq(method, mlen, "put")) {
        if (upload_id && part) {
            route->op = INGEST_S3_OP_UPLOAD_PART;
            return INGEST_S3_OK;
        }

        if (upload_id || part) {
            return INGEST_S3_INVALID_ARGUMENT;
        }

        route->op = INGEST_S3_OP_PUT_OBJECT;
        return INGEST_S3_OK;
    }

    if (ingest_s3_name_eq(method, mlen, "get")) {
        route->op = upload_id ? INGEST_S3_OP_LIST_PARTS
                              : INGEST_S3_OP_GET_OBJECT;
        return INGEST_S3_OK;
    }

    if (ingest_s3_name_eq(method, mlen, "head")) {
        if (upload_id) {
            return INGEST_S3_INVALID_ARGUMENT;
        }

        route->op = INGEST_S3_OP_HEAD_OBJECT;
        return INGEST_S3_OK;
    }

    if (ingest_s3_name_eq(method, mlen, "delete")) {
        if (part) {
            return INGEST_S3_INVALID_ARGUMENT;
        }

        route->op = upload_id ? INGEST_S3_OP_ABORT_UPLOAD
                              : INGEST_S3_OP_DELETE_OBJECT;
        return INGEST_S3_OK;
    }

    return INGEST_S3_METHOD_NOT_ALLOWED;
}


int
ingest_s3_query_get(const unsigned char *query, size_t len, const char *name,
    ingest_str_t *value)
{
    int                   found;
    ingest_str_t          n, v;
    const unsigned char  *p, *end;

    value->data = NULL;
    value->len = 0;

    if (len == 0) {
        return 0;
    }

    if (ingest_s3_uri_decode(NULL, query, len) < 0) {
        return -1;
    }

    found = 0;
    p = query;
    end = query + len;

    while (ingest_s3_query_next(&p, end, &n, &v)) {
        if (!ingest_s3_decoded_eq(n.data, n.len, name)) {
            continue;
        }

        if (found) {
            return -1;
        }

        found = 1;
        *value = v;
    }

    return found;
}


/*
 * The next non-empty "name[=value]" of a query; value.data points to an
 * empty string for "name" alone, so that presence can be told apart.
 */

static int
ingest_s3_query_next(const unsigned char **pos, const unsigned char *end,
    ingest_str_t *name, ingest_str_t *value)
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

        name->data = p;
        name->len = (size_t) ((eq != NULL ? eq : amp) - p);

        if (eq != NULL) {
            value->data = eq + 1;
            value->len = (size_t) (amp - eq - 1);

        } else {
            value->data = amp;
            value->len = 0;
        }

        *pos = (amp < end) ? amp + 1 : end;
        return 1;
    }

    *pos = end;

    return 0;
}


static int
ingest_s3_subresource(const unsigned char *name, size_t len)
{
    size_t  i;

    for (i = 0; ingest_s3_subresources[i] != NULL; i++) {
        if (ingest_s3_decoded_eq(name, len, ingest_s3_subresources[i])) {
            return 1;
        }
    }

    return 0;
}


static int
ingest_s3_param_u64(const ingest_str_t *value, uint64_t *v)
{
    ssize_t        n;
    unsigned char  buf[24];

    if (value->len > sizeof(buf)) {
        return -1;
    }

    n = ingest_s3_uri_decode(buf, value->data, value->len);
    if (n <= 0) {
        return -1;
    }

    return ingest_parse_u64(buf, (size_t) n, v);
}


ssize_t
ingest_s3_uri_decode(unsigned char *out, const unsigned char *in, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    if (len > (size_t) SSIZE_MAX) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {

        if (in[i] != '%') {
            if (out != NULL) {
                out[n] = in[i];
            }

            n++;
            continue;
        }

        if (len - i < 3) {
            return -1;
        }

        hi = ingest_s3_hexval(in[i + 1]);
        lo = ingest_s3_hexval(in[i + 2]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        if (out != NULL) {
            out[n] = (unsigned char) (hi << 4 | lo);
        }

        n++;
        i += 2;
    }

    return (ssize_t) n;
}


size_t
ingest_s3_uri_encode(unsigned char *out, const unsigned char *in, size_t len,
    int keep_slash)
{
    size_t         i, n;
    unsigned char  c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = in[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~' || (c == '/' && keep_slash))
        {
            if (out != NULL) {
                out[n] = c;
            }

            n++;
            continue;
        }

        if (out != NULL) {
            out[n] = '%';
            out[n + 1] = ingest_s3_uhex[c >> 4];
            out[n + 2] = ingest_s3_uhex[c & 0x0f];
        }

        n += 3;
    }

    return n;
}


ingest_s3_rc_t
ingest_s3_key_check(const unsigned char *key, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp, min;

    if (len == 0 || key == NULL) {
        return INGEST_S3_INVALID_KEY;
    }

    if (len > INGEST_S3_MAX_KEY_LEN) {
        return INGEST_S3_KEY_TOO_LONG;
    }

    for (i = 0; i < len; i += n) {

        cp = key[i];

        if (cp < 0x80) {
            if (cp < 0x20 || cp == 0x7f) {
                return INGEST_S3_INVALID_KEY;
            }

            n = 1;
            continue;
        }

        if ((cp & 0xe0) == 0xc0) {
            n = 2;
            cp &= 0x1f;
            min = 0x80;

        } else if ((cp & 0xf0) == 0xe0) {
            n = 3;
            cp &= 0x0f;
            min = 0x800;

        } else if ((cp & 0xf8) == 0xf0) {
            n = 4;
            cp &= 0x07;
            min = 0x10000;

        } else {
            return INGEST_S3_INVALID_KEY;
        }

        if (len - i < n) {
            return INGEST_S3_INVALID_KEY;
        }

        for (k = 1; k < n; k++) {
            if ((key[i + k] & 0xc0) != 0x80) {
                return INGEST_S3_INVALID_KEY;
            }

            cp = cp << 6 | (key[i + k] & 0x3f);
        }

        /* overlong forms, surrogates, beyond Unicode, C1 controls */

        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff
            || (cp >= 0x80 && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff)
        {
            return INGEST_S3_INVALID_KEY;
        }
    }

    return INGEST_S3_OK;
}


ingest_s3_rc_t
ingest_s3_bucket_check(const unsigned char *name, size_t len)
{
    size_t         i;
    unsigned char  c, prev;

    if (name == NULL || len < 3 || len > 63) {
        return INGEST_S3_INVALID_BUCKET_NAME;
    }

    prev = '.';

    for (i = 0; i < len; i++) {
        c = name[i];

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            prev = c;
            continue;
        }

        if (c != '.' && c != '-') {
            return INGEST_S3_INVALID_BUCKET_NAME;
        }

        /* a label starts and ends with a letter or digit */

        if ((c == '.' && (prev == '.' || prev == '-'))
            || (c == '-' && prev == '.'))
        {
            return INGEST_S3_INVALID_BUCKET_NAME;
        }

        prev = c;
    }

    if (prev == '.' || prev == '-' || ingest_s3_is_ipv4(name, len)) {
        return INGEST_S3_INVALID_BUCKET_NAME;
    }

    return INGEST_S3_OK;
}


static int
ingest_s3_is_ipv4(const unsigned char *p, size_t len)
{
    size_t  i, dots, digits;

    dots = 0;
    digits = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '.') {
            if (digits == 0) {
                return 0;
            }

            dots++;
            digits = 0;
            continue;
        }

        if (p[i] < '0' || p[i] > '9' || ++digits > 3) {
            return 0;
        }
    }

    return dots == 3 && digits != 0;
}


ingest_s3_cksum_algo_t
ingest_s3_cksum_by_header(const unsigned char *name, size_t len)
{
    static const char  prefix[] = "x-amz-checksum-";

    if (name == NULL || len <= sizeof(prefix) - 1
        || !ingest_s3_name_eq(name, sizeof(prefix) - 1, prefix))
    {
        return INGEST_S3_CKSUM_NONE;
    }

    return ingest_s3_cksum_by_name(name + sizeof(prefix) - 1,
                                   len - (sizeof(prefix) - 1));
}


ingest_s3_cksum_algo_t
ingest_s3_cksum_by_name(const unsigned char *name, size_t len)
{
    if (name == NULL) {
        return INGEST_S3_CKSUM_NONE;
    }

    if (ingest_s3_name_eq(name, len, "crc32")) {
        return INGEST_S3_CKSUM_CRC32;
    }

    if (ingest_s3_name_eq(name, len, "crc32c")) {
        return INGEST_S3_CKSUM_CRC32C;
    }

    if (ingest_s3_name_eq(name, len, "crc64nvme")) {
        return INGEST_S3_CKSUM_CRC64NVME;
    }

    if (ingest_s3_name_eq(name, len, "sha1")) {
        return INGEST_S3_CKSUM_SHA1;
    }

    if (ingest_s3_name_eq(name, len, "sha256")) {
        return INGEST_S3_CKSUM_SHA256;
    }

    return INGEST_S3_CKSUM_NONE;
}


const char *
ingest_s3_cksum_header(ingest_s3_cksum_algo_t algo)
{
    switch (algo) {

    case INGEST_S3_CKSUM_CRC32:
        return "x-amz-checksum-crc32";

    case INGEST_S3_CKSUM_CRC32C:
        return "x-amz-checksum-crc32c";

    case INGEST_S3_CKSUM_CRC64NVME:
        return "x-amz-checksum-crc64nvme";

    case INGEST_S3_CKSUM_SHA1:
        return "x-amz-checksum-sha1";

    case INGEST_S3_CKSUM_SHA256:
        return "x-amz-checksum-sha256";

    default:
        return NULL;
    }
}


size_t
ingest_s3_cksum_size(ingest_s3_cksum_algo_t algo)
{
    switch (algo) {

    case INGEST_S3_CKSUM_CRC32:
    case INGEST_S3_CKSUM_CRC32C:
        return 4;

    case INGEST_S3_CKSUM_CRC64NVME:
        return 8;

    case INGEST_S3_CKSUM_SHA1:
        return 20;

    case INGEST_S3_CKSUM_SHA256:
        return 32;

    default:
        return 0;
    }
}


ingest_s3_rc_t
ingest_s3_cksum_parse(ingest_s3_cksum_algo_t algo, const unsigned char *value,
    size_t len, unsigned char *digest)
{
    size_t         size;
    ssize_t        n;
    unsigned char  buf[ingest_base64_decoded_max(44)];

    size = ingest_s3_cksum_size(algo);

    ingest_s3_trim(&value, &len);

    /* the base64 of at most 32 bytes is 44 characters */

    if (size == 0 || value == NULL || len != ingest_base64_encoded_len(size)) {
        return INGEST_S3_INVALID_DIGEST;
    }

    n = ingest_base64_decode(buf, value, len);
    if (n < 0 || (size_t) n != size) {
        return INGEST_S3_INVALID_DIGEST;
    }

    memcpy(digest, buf, size);

    return INGEST_S3_OK;
}


int
ingest_s3_cksum_init(ingest_s3_cksum_t *ck, ingest_s3_cksum_algo_t algo)
{
    ingest_cksum_algo_t  a;

    memset(ck, 0, sizeof(ingest_s3_cksum_t));

    switch (algo) {

    case INGEST_S3_CKSUM_CRC64NVME:
        ck->algo = algo;
        return 0;

    case INGEST_S3_CKSUM_CRC32:
        a = INGEST_CKSUM_CRC32;
        break;

    case INGEST_S3_CKSUM_CRC32C:
        a = INGEST_CKSUM_CRC32C;
        break;

    case INGEST_S3_CKSUM_SHA1:
        a = INGEST_CKSUM_SHA1;
        break;

    case INGEST_S3_CKSUM_SHA256:
        a = INGEST_CKSUM_SHA256;
        break;

    default:
        return -1;
    }

    if (ingest_cksum_init(&ck->ck, a) != 0) {
        return -1;
    }

    ck->algo = algo;

    return 0;
}


int
ingest_s3_cksum_update(ingest_s3_cksum_t *ck, const void *data, size_t len)
{
    if (ck->algo == INGEST_S3_CKSUM_CRC64NVME) {
        ck->crc64 = ingest_crc64nvme_update(ck->crc64, data, len);
        return 0;
    }

    if (ck->algo == INGEST_S3_CKSUM_NONE) {
        return -1;
    }

    return ingest_cksum_update(&ck->ck, data, len);
}


int
ingest_s3_cksum_final(ingest_s3_cksum_t *ck, unsigned char *digest)
{
    int  i;

    if (ck->algo == INGEST_S3_CKSUM_CRC64NVME) {
        for (i = 0; i < 8; i++) {
            digest[i] = (unsigned char) (ck->crc64 >> (56 - 8 * i));
        }

        return 0;
    }

    if (ck->algo == INGEST_S3_CKSUM_NONE) {
        return -1;
    }

    return ingest_cksum_final(&ck->ck, digest);
}


void
ingest_s3_cksum_free(ingest_s3_cksum_t *ck)
{
    ingest_cksum_free(&ck->ck);
    ck->algo = INGEST_S3_CKSUM_NONE;
}


uint64_t
ingest_crc64nvme_update(uint64_t crc, const void *data, size_t len)
{
    const unsigned char  *p;

    p = data;
    crc = ~crc;

    while (len--) {
        crc = ingest_crc64nvme_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }

    return ~crc;
}


ingest_s3_rc_t
ingest_s3_body_init(ingest_s3_body_t *b, const ingest_s3_header_t *headers,
    size_t nheaders, const unsigned char *sha256)
{
    size_t                  i, len;
    ssize_t                 n;
    EVP_MD_CTX             *ctx;
    ingest_s3_rc_t          rc;
    const unsigned char    *v;
    ingest_s3_cksum_algo_t  algo;
    unsigned char           md5[ingest_base64_decoded_max(24)];

    memset(b, 0, sizeof(ingest_s3_body_t));

    for (i = 0; i < nheaders; i++) {

        v = headers[i].value.data;
        len = headers[i].value.len;

        if (ingest_s3_name_eq(headers[i].name.data, headers[i].name.len,
                              "content-md5"))
        {
            ingest_s3_trim(&v, &len);

            if (b->check_md5 || len != 24) {
                return INGEST_S3_INVALID_DIGEST;
            }

            n = ingest_base64_decode(md5, v, len);
            if (n != 16) {
                return INGEST_S3_INVALID_DIGEST;
            }

            memcpy(b->expect_md5, md5, 16);
            b->check_md5 = 1;
            continue;
        }

        algo = ingest_s3_cksum_by_header(headers[i].name.data,
                                         headers[i].name.len);
        if (algo == INGEST_S3_CKSUM_NONE) {
            continue;
        }

        if (b->cksum.algo != INGEST_S3_CKSUM_NONE) {
            return INGEST_S3_MULTIPLE_CHECKSUMS;
        }

        rc = ingest_s3_cksum_parse(algo, v, len, b->expect_cksum);
        if (rc != INGEST_S3_OK) {
            return rc;
        }

        if (ingest_s3_cksum_init(&b->cksum, algo) != 0) {
            return INGEST_S3_INTERNAL_ERROR;
        }
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return INGEST_S3_INTERNAL_ERROR;
    }

    b->md5 = ctx;

    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
        return INGEST_S3_INTERNAL_ERROR;
    }

    if (sha256 == NULL) {
        return INGEST_S3_OK;
    }

    memcpy(b->expect_sha256, sha256, 32);

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return INGEST_S3_INTERNAL_ERROR;
    }

    b->sha256 = ctx;

    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        return INGEST_S3_INTERNAL_ERROR;
    }

    return INGEST_S3_OK;
}


int
ingest_s3_body_update(ingest_s3_body_t *b, const void *data, size_t len)
{
    if (b->md5 == NULL) {
        return -1;
    }

    if (len == 0) {
        return 0;
    }

    if (EVP_DigestUpdate(b->md5, data, len) != 1) {
        return -1;
    }

    if (b->sha256 != NULL && EVP_DigestUpdate(b->sha256, data, len) != 1) {
        return -1;
    }

    if (b->cksum.algo != INGEST_S3_CKSUM_NONE
        && ingest_s3_cksum_update(&b->cksum, data, len) != 0)
    {
        return -1;
    }

    b->size += len;

    return 0;
}


ingest_s3_rc_t
ingest_s3_body_final(ingest_s3_body_t *b, unsigned char *md5)
{
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (b->md5 == NULL
        || EVP_DigestFinal_ex(b->md5, md, &n) != 1 || n != 16)
    {
        return INGEST_S3_INTERNAL_ERROR;
    }

    memcpy(md5, md, 16);

    if (b->sha256 != NULL) {
        if (EVP_DigestFinal_ex(b->sha256, md, &n) != 1 || n != 32) {
            return INGEST_S3_INTERNAL_ERROR;
        }

        if (memcmp(md, b->expect_sha256, 32) != 0) {
            return INGEST_S3_CONTENT_SHA256_MISMATCH;
        }
    }

    if (b->check_md5 && memcmp(md5, b->expect_md5, 16) != 0) {
        return INGEST_S3_BAD_DIGEST;
    }

    if (b->cksum.algo != INGEST_S3_CKSUM_NONE) {
        if (ingest_s3_cksum_final(&b->cksum, md) != 0) {
            return INGEST_S3_INTERNAL_ERROR;
        }

        if (memcmp(md, b->expect_cksum, ingest_s3_cksum_size(b->cksum.algo))
            != 0)
        {
            return INGEST_S3_BAD_DIGEST;
        }
    }

    return INGEST_S3_OK;
}


void
ingest_s3_body_free(ingest_s3_body_t *b)
{
    if (b->md5 != NULL) {
        EVP_MD_CTX_free(b->md5);
        b->md5 = NULL;
    }

    if (b->sha256 != NULL) {
        EVP_MD_CTX_free(b->sha256);
        b->sha256 = NULL;
    }

    ingest_s3_cksum_free(&b->cksum);
}


size_t
ingest_s3_etag(unsigned char *out, const unsigned char *md5)
{
    size_t  i;

    out[0] = '"';

    for (i = 0; i < 16; i++) {
        out[1 + 2 * i] = ingest_s3_hex[md5[i] >> 4];
        out[2 + 2 * i] = ingest_s3_hex[md5[i] & 0x0f];
    }

    out[33] = '"';

    return INGEST_S3_ETAG_LEN;
}


size_t
ingest_s3_etag_multipart(unsigned char *out, const unsigned char *md5s,
    size_t n)
{
    size_t         len;
    unsigned int   mdlen;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (n == 0 || n > INGEST_S3_MAX_PART_NUMBER) {
        return 0;
    }

    if (EVP_Digest(md5s, n * 16, md, &mdlen, EVP_md5(), NULL) != 1
        || mdlen != 16)
    {
        return 0;
    }

    len = ingest_s3_etag(out, md);

    /* "<hex>" -> "<hex>-<n>" */

    out[len - 1] = '-';
    len += ingest_format_u64(out + len, n);
    out[len++] = '"';

    return len;
}


int
ingest_s3_etag_parse(const unsigned char *p, size_t len, unsigned char *md5)
{
    int     hi, lo;
    size_t  i;

    if (p == NULL) {
        return -1;
    }

    if (len == 34 && p[0] == '"' && p[33] == '"') {
        p++;
        len -= 2;
    }

    if (len != 32) {
        return -1;
    }

    for (i = 0; i < 16; i++) {
        hi = ingest_s3_hexval(p[2 * i]);
        lo = ingest_s3_hexval(p[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        md5[i] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}


int
ingest_s3_parse_amz_date(const unsigned char *p, size_t len, int64_t *t)
{
    unsigned  y, mo, d, h, mi, s;

    if (p == NULL || len != INGEST_S3_AMZ_DATE_LEN || p[8] != 'T'
        || p[15] != 'Z'
        || ingest_s3_digits(p, 4, &y) != 0
        || ingest_s3_digits(p + 4, 2, &mo) != 0
        || ingest_s3_digits(p + 6, 2, &d) != 0
        || ingest_s3_digits(p + 9, 2, &h) != 0
        || ingest_s3_digits(p + 11, 2, &mi) != 0
        || ingest_s3_digits(p + 13, 2, &s) != 0)
    {
        return -1;
    }

    if (y < 1970 || mo < 1 || mo > 12 || d < 1
        || d > ingest_s3_days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
    {
        return -1;
    }

    *t = ingest_s3_days_from_civil(y, mo, d) * 86400
         + (int64_t) (h * 3600 + mi * 60 + s);

    return 0;
}


int
ingest_s3_parse_http_date(const unsigned char *p, size_t len, int64_t *t)
{
    unsigned  i, y, mo, d, h, mi, s;

    /* "Fri, 24 May 2013 00:00:00 GMT" */

    if (p == NULL || len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' '
        || p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':'
        || memcmp(p + 25, " GMT", 4) != 0
        || ingest_s3_digits(p + 5, 2, &d) != 0
        || ingest_s3_digits(p + 12, 4, &y) != 0
        || ingest_s3_digits(p + 17, 2, &h) != 0
        || ingest_s3_digits(p + 20, 2, &mi) != 0
        || ingest_s3_digits(p + 23, 2, &s) != 0)
    {
        return -1;
    }

    for (i = 0; i < 7; i++) {
        if (memcmp(p, ingest_s3_wdays[i], 3) == 0) {
            break;
        }
    }

    if (i == 7) {
        return -1;
    }

    for (mo = 0; mo < 12; mo++) {
        if (memcmp(p + 8, ingest_s3_months[mo], 3) == 0) {
            break;
        }
    }

    if (mo == 12) {
        return -1;
    }

    mo++;

    if (y < 1970 || d < 1 || d > ingest_s3_days_in_month(y, mo) || h > 23
        || mi > 59 || s > 59)
    {
        return -1;
    }

    *t = ingest_s3_days_from_civil(y, mo, d) * 86400
         + (int64_t) (h * 3600 + mi * 60 + s);

    return 0;
}


size_t
ingest_s3_format_amz_date(unsigned char *out, int64_t t)
{
    int64_t   y;
    unsigned  mo, d, h, mi, s;

    ingest_s3_civil(t, &y, &mo, &d, &h, &mi, &s);

    ingest_s3_put_digits(out, (unsigned) y, 4);
    ingest_s3_put_digits(out + 4, mo, 2);
    ingest_s3_put_digits(out + 6, d, 2);
    out[8] = 'T';
    ingest_s3_put_digits(out + 9, h, 2);
    ingest_s3_put_digits(out + 11, mi, 2);
    ingest_s3_put_digits(out + 13, s, 2);
    out[15] = 'Z';

    return INGEST_S3_AMZ_DATE_LEN;
}


size_t
ingest_s3_format_iso8601(unsigned char *out, int64_t t)
{
    int64_t   y;
    unsigned  mo, d, h, mi, s;

    ingest_s3_civil(t, &y, &mo, &d, &h, &mi, &s);

    ingest_s3_put_digits(out, (unsigned) y, 4);
    out[4] = '-';
    ingest_s3_put_digits(out + 5, mo, 2);
    out[7] = '-';
    ingest_s3_put_digits(out + 8, d, 2);
    out[10] = 'T';
    ingest_s3_put_digits(out + 11, h, 2);
    out[13] = ':';
    ingest_s3_put_digits(out + 14, mi, 2);
    out[16] = ':';
    ingest_s3_put_digits(out + 17, s, 2);
    memcpy(out + 19, ".000Z", 5);

    return INGEST_S3_ISO8601_LEN;
}


static int
ingest_s3_hexval(unsigned char c)
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


/* ASCII case-insensitive comparison of p/len with a lower case s */

static int
ingest_s3_name_eq(const unsigned char *p, size_t len, const char *s)
{
    size_t         i;
    unsigned char  c;

    if (p == NULL || len != strlen(s)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (unsigned char) s[i]) {
            return 0;
        }
    }

    return 1;
}


/* raw percent-encoded bytes equal to s once decoded (exact case) */

static int
ingest_s3_decoded_eq(const unsigned char *raw, size_t len, const char *s)
{
    int            hi, lo;
    size_t         i, k, slen;
    unsigned char  c;

    slen = strlen(s);
    k = 0;

    for (i = 0; i < len; i++) {
        c = raw[i];

        if (c == '%') {
            if (len - i < 3) {
                return 0;
            }

            hi = ingest_s3_hexval(raw[i + 1]);
            lo = ingest_s3_hexval(raw[i + 2]);

            if (hi < 0 || lo < 0) {
                return 0;
            }

            c = (unsigned char) (hi << 4 | lo);
            i += 2;
        }

        if (k == slen || c != (unsigned char) s[k]) {
            return 0;
        }

        k++;
    }

    return k == slen;
}


static void
ingest_s3_trim(const unsigned char **p, size_t *len)
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


/* days_from_civil() by Howard Hinnant */

static int64_t
ingest_s3_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/* civil_from_days() by Howard Hinnant, clamped to 1970..9999 */

static void
ingest_s3_civil(int64_t t, int64_t *y, unsigned *mo, unsigned *d,
    unsigned *h, unsigned *mi, unsigned *s)
{
    int64_t  days, secs, z, era, doe, yoe, doy, mp;

    if (t < 0) {
        t = 0;

    } else if (t > INT64_C(253402300799)) {
        t = INT64_C(253402300799);
    }

    days = t / 86400;
    secs = t % 86400;

    z = days + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    *y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
    *mo = (unsigned) (mp < 10 ? mp + 3 : mp - 9);

    if (*mo <= 2) {
        (*y)++;
    }

    *h = (unsigned) (secs / 3600);
    *mi = (unsigned) (secs / 60 % 60);
    *s = (unsigned) (secs % 60);
}


static int
ingest_s3_digits(const unsigned char *p, size_t n, unsigned *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        *v = *v * 10 + (unsigned) (p[i] - '0');
    }

    return 0;
}


static unsigned
ingest_s3_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
        return 29;
    }

    return days[m - 1];
}


static void
ingest_s3_put_digits(unsigned char *p, unsigned v, size_t n)
{
    while (n--) {
        p[n] = (unsigned char) ('0' + v % 10);
        v /= 10;
    }
}
