
/*
 * Copyright (C) nginx video ingest developers
 *
 * AWS Signature Version 4 for S3: the Authorization header and presigned
 * query parameters, canonical request, string to sign, signing key.
 *
 * The glue hands over the request as received:
 *   - method, the raw path and the raw query (still percent-encoded,
 *     exactly as on the request line, split at the first "?"); for S3
 *     the canonical URI is the path decoded and encoded again the AWS
 *     way, never normalised ("." and ".." stay; "%2F" stays "%2F"),
 *   - every request header as a name/value pair in the order received
 *     (nginx: r->headers_in.headers; HTTP/2 ":authority" must appear as
 *     "host"), duplicates included,
 *   - now (Unix time).
 * The request pieces must stay valid and unchanged between parse and
 * verify. ingest_sigv4_auth_t holds copies, so it may be copied freely.
 *
 * Signing keys depend on (secret, date, region, service) only: the glue
 * may cache one per access key and day (ingest_sigv4_key_pt).
 */


#ifndef _INGEST_SIGV4_H_INCLUDED_
#define _INGEST_SIGV4_H_INCLUDED_


#include "ingest_s3.h"


#define INGEST_SIGV4_ALGORITHM      "AWS4-HMAC-SHA256"
#define INGEST_SIGV4_KEY_LEN        32
#define INGEST_SIGV4_MAX_SKEW       900         /* 15 minutes */
#define INGEST_SIGV4_MAX_EXPIRES    604800      /* 7 days */

#define INGEST_SIGV4_AKID_MAX       128
#define INGEST_SIGV4_REGION_MAX     64
#define INGEST_SIGV4_SERVICE_MAX    32
/* date/region/service/aws4_request */
#define INGEST_SIGV4_SCOPE_MAX                                                \
    (8 + 1 + INGEST_SIGV4_REGION_MAX + 1 + INGEST_SIGV4_SERVICE_MAX + 13)
#define INGEST_SIGV4_SIGNED_MAX     1024        /* SignedHeaders bytes */
#define INGEST_SIGV4_SIGNED_COUNT   64          /* SignedHeaders names */
#define INGEST_SIGV4_QUERY_PARAMS   256         /* in a signed query */
#define INGEST_SIGV4_SECRET_MAX     256

#define INGEST_SIGV4_UNSIGNED_PAYLOAD  "UNSIGNED-PAYLOAD"
#define INGEST_SIGV4_STREAMING         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define INGEST_SIGV4_STREAMING_TRAILER                                        \
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define INGEST_SIGV4_STREAMING_UNSIGNED_TRAILER                               \
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#define INGEST_SIGV4_EMPTY_SHA256                                             \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


/* what x-amz-content-sha256 (X-Amz-Content-Sha256 when presigned) says */
typedef enum {
    INGEST_SIGV4_PAYLOAD_SHA256 = 0,    /* a hex digest of the body */
    INGEST_SIGV4_PAYLOAD_UNSIGNED,      /* UNSIGNED-PAYLOAD (presigned
                                           requests without the value) */
    INGEST_SIGV4_PAYLOAD_STREAMING,     /* aws-chunked, signed chunks */
    INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER, /* and a signed trailer */
    INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER   /* aws-chunked, no chunk
                                               signatures, trailer */
} ingest_sigv4_payload_t;

#define ingest_sigv4_payload_chunked(p)                                       \
    ((p) >= INGEST_SIGV4_PAYLOAD_STREAMING)


typedef struct {
    ingest_str_t               method;
    ingest_str_t               path;        /* raw, no query */
    ingest_str_t               query;       /* raw, no "?"; may be empty */
    const ingest_s3_header_t  *headers;
    size_t                     nheaders;
    int64_t                    now;
} ingest_sigv4_request_t;

typedef struct {
    ingest_str_t               region;      /* data NULL: any region */
    ingest_str_t               service;     /* data NULL: "s3" */
    int64_t                    max_skew;    /* 0: INGEST_SIGV4_MAX_SKEW */

    /*
     * S3 wants every x-amz-* header of the request signed
     * (HEADERS_NOT_SIGNED otherwise); set to accept unsigned ones.
     */
    unsigned                   allow_unsigned_amz:1;
} ingest_sigv4_conf_t;

/* what parse found; self-contained (no pointers), may be copied */
typedef struct {
    unsigned                   presigned:1;
    ingest_sigv4_payload_t     payload;
    unsigned char              payload_sha256[32];  /* PAYLOAD_SHA256 */
    int64_t                    time;        /* x-amz-date (or Date) */
    int64_t                    expires;     /* presigned: last valid
                                               second; 0 otherwise */
    unsigned char              signature[32];
    unsigned char              amz_date[INGEST_S3_AMZ_DATE_LEN];
    unsigned char              date[8];     /* of the credential scope */

    size_t                     access_key_len;
    unsigned char              access_key[INGEST_SIGV4_AKID_MAX];
    size_t                     region_len;
    unsigned char              region[INGEST_SIGV4_REGION_MAX];
    size_t                     service_len;
    unsigned char              service[INGEST_SIGV4_SERVICE_MAX];
    size_t                     scope_len;
    unsigned char              scope[INGEST_SIGV4_SCOPE_MAX];

    /* "host;x-amz-content-sha256;x-amz-date", nsigned names */
    size_t                     signed_len;
    unsigned char              signed_headers[INGEST_SIGV4_SIGNED_MAX];
    size_t                     nsigned;

    /* the payload hash line of the canonical request, as received */
    size_t                     payload_hash_len;
    unsigned char              payload_hash[64];
} ingest_sigv4_auth_t;


/*
 * Parses and checks everything that needs no secret, in this order:
 * mechanism (Authorization header, X-Amz-Algorithm query, neither ->
 * ACCESS_DENIED, SigV2 -> AUTH_MECHANISM, both -> AUTH_CONFLICT), syntax
 * of the Authorization header or presigned parameters, credential scope
 * (region, service, "aws4_request"), x-amz-date (or Date), scope date,
 * time (TIME_SKEWED beyond max_skew; presigned: X-Amz-Expires 1..604800,
 * EXPIRED, NOT_YET_VALID), x-amz-content-sha256 (required with the
 * header; presigned: X-Amz-Content-Sha256 or UNSIGNED-PAYLOAD),
 * SignedHeaders present in the request and including host, unsigned
 * x-amz-* headers, path and query escapes (INVALID_URI).
 */
ingest_s3_rc_t ingest_sigv4_parse(const ingest_sigv4_request_t *req,
    const ingest_sigv4_conf_t *conf, ingest_sigv4_auth_t *auth);

/*
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 * service), "aws4_request"); date is the 8-byte scope date. Secrets are
 * at most INGEST_SIGV4_SECRET_MAX bytes. Returns 0 or -1.
 */
int ingest_sigv4_signing_key(const unsigned char *secret, size_t secret_len,
    const unsigned char *date, const unsigned char *region,
    size_t region_len, const unsigned char *service, size_t service_len,
    unsigned char *key);

/* the same for what parse found */
int ingest_sigv4_auth_key(const ingest_sigv4_auth_t *auth,
    const unsigned char *secret, size_t secret_len, unsigned char *key);

/*
 * Computes the signature of a parsed request with a signing key and
 * compares it in constant time: OK, SIGNATURE_MISMATCH or
 * INTERNAL_ERROR.
 */
ingest_s3_rc_t ingest_sigv4_verify(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, const unsigned char *key);

/*
 * The key lookup of ingest_sigv4_authenticate(): fills the signing key
 * for auth->access_key (auth->date, region, service) and returns OK, or
 * INVALID_ACCESS_KEY for an unknown key, or any other code (a disabled
 * key: ACCESS_DENIED) that is passed through.
 */
typedef ingest_s3_rc_t (*ingest_sigv4_key_pt)(void *data,
    const ingest_sigv4_auth_t *auth, unsigned char *key);

/*
 * parse + lookup + verify. On OK, auth and key (INGEST_SIGV4_KEY_LEN
 * bytes) are what the aws-chunked decoder needs.
 */
ingest_s3_rc_t ingest_sigv4_authenticate(const ingest_sigv4_request_t *req,
    const ingest_sigv4_conf_t *conf, ingest_sigv4_key_pt lookup, void *data,
    ingest_sigv4_auth_t *auth, unsigned char *key);


/*
 * For logs, S3 error documents (<CanonicalRequest>, <StringToSign>) and
 * tests: write the canonical request or the string to sign of a parsed
 * request into buf (cap bytes; buf may be NULL). Return the full
 * length: when larger than cap, the text was cut. The code that verifies
 * produces the same bytes.
 */
size_t ingest_sigv4_canonical_request(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, unsigned char *buf, size_t cap);
size_t ingest_sigv4_string_to_sign(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, unsigned char *buf, size_t cap);

/* the signature the request should carry: 0 or -1 */
int ingest_sigv4_signature(const ingest_sigv4_request_t *req,
    const ingest_sigv4_auth_t *auth, const unsigned char *key,
    unsigned char *sig);

/* lower case hex of len bytes: 2 * len bytes into out */
void ingest_sigv4_hex(unsigned char *out, const unsigned char *in,
    size_t len);

/* HMAC-SHA256 into mac (32 bytes): 0 or -1 */
int ingest_sigv4_hmac(const unsigned char *key, size_t klen,
    const unsigned char *msg, size_t len, unsigned char *mac);


#endif /* _INGEST_SIGV4_H_INCLUDED_ */
