
/*
 * Copyright (C) nginx video ingest developers
 *
 * Push decoder for aws-chunked request bodies (Content-Encoding:
 * aws-chunked, x-amz-content-sha256: STREAMING-*):
 *
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD
 *     <hex size>;chunk-signature=<64 hex>\r\n<data>\r\n ...
 *     0;chunk-signature=<64 hex>\r\n\r\n
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
 *     the same chunks, then after the last one
 *     x-amz-checksum-<algo>:<base64>\r\n
 *     x-amz-trailer-signature:<64 hex>\r\n\r\n
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER
 *     <hex size>\r\n<data>\r\n ... 0\r\n
 *     x-amz-checksum-<algo>:<base64>\r\n\r\n
 *
 * Each chunk signature is HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date
 * "\n" scope "\n" previous signature "\n" sha256("") "\n" sha256(data)),
 * the first previous signature being the request's own (the seed); the
 * trailer signature is HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" date "\n"
 * scope "\n" last chunk signature "\n" sha256("name:value\n")).
 *
 * The trailer named by x-amz-trailer (one x-amz-checksum-* header) must
 * come and must match the decoded data; x-amz-decoded-content-length,
 * required with signed chunks, must match the decoded length. An
 * x-amz-trailer-signature in an unsigned stream is ignored.
 *
 * Feed input slices of any size, down to one byte; decoded data comes
 * back as slices of the input (no copy, no allocation while feeding).
 * State is bounded: a chunk line or trailer line longer than
 * INGEST_AWSCHUNKED_LINE_MAX, a size beyond 16 hex digits or the
 * declared length, a missing CRLF, an unknown extension in a signed
 * stream are errors.
 *
 * Decoded data is unverified until DONE: a chunk's signature is checked
 * when its data has been seen, the checksum and the length at the end.
 * On ERROR the glue discards everything written for the request.
 */


#ifndef _INGEST_AWSCHUNKED_H_INCLUDED_
#define _INGEST_AWSCHUNKED_H_INCLUDED_


#include "ingest_sigv4.h"


#define INGEST_AWSCHUNKED_LINE_MAX  256


typedef enum {
    INGEST_AWSCHUNKED_AGAIN = 0,    /* all input consumed, feed more */
    INGEST_AWSCHUNKED_DATA,         /* *data holds decoded bytes */
    INGEST_AWSCHUNKED_DONE,         /* the body is complete and verified */
    INGEST_AWSCHUNKED_ERROR         /* see ingest_awschunked_t.rc */
} ingest_awschunked_status_t;


typedef struct {
    ingest_sigv4_payload_t  mode;
    int                     state;
    ingest_s3_rc_t          rc;

    int64_t                 decoded_length;     /* -1: not given */
    uint64_t                total;              /* decoded so far */
    uint64_t                chunk_left;

    /* chunk signatures */
    void                   *md;                 /* EVP_MD_CTX * (sha256) */
    unsigned char           key[INGEST_SIGV4_KEY_LEN];
    unsigned char           prev[64];           /* hex, previous signature */
    unsigned char           chunk_sig[32];
    size_t                  head_len;           /* date "\n" scope "\n" */
    unsigned char           head[INGEST_S3_AMZ_DATE_LEN + 1
                                 + INGEST_SIGV4_SCOPE_MAX + 1];

    /* the declared trailer checksum */
    ingest_s3_cksum_algo_t  algo;               /* NONE: no trailer */
    ingest_s3_cksum_t       cksum;
    unsigned char           digest[INGEST_S3_CKSUM_MAX_DIGEST];
    unsigned                seen_checksum:1;
    unsigned                seen_signature:1;
    size_t                  canon_len;          /* "name:value\n" */
    unsigned char           canon[INGEST_AWSCHUNKED_LINE_MAX + 1];

    size_t                  line_len;
    unsigned char           line[INGEST_AWSCHUNKED_LINE_MAX + 1];
} ingest_awschunked_t;


/*
 * auth and key come from a successful ingest_sigv4_authenticate() whose
 * payload is one of the STREAMING-* modes (key may be NULL for
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER); x-amz-trailer and
 * x-amz-decoded-content-length are read from the request headers.
 * Returns OK, INVALID_REQUEST (not a streaming payload), TRAILER_INVALID,
 * BAD_DECODED_LENGTH, MISSING_DECODED_LENGTH or INTERNAL_ERROR;
 * ingest_awschunked_free() must follow in every case.
 */
ingest_s3_rc_t ingest_awschunked_init(ingest_awschunked_t *ck,
    const ingest_sigv4_auth_t *auth, const unsigned char *key,
    const ingest_s3_header_t *headers, size_t nheaders);

/*
 * Decodes from *pos (advanced past what was used) up to end:
 *   DATA   *data is the next run of decoded bytes, inside the input;
 *          call again with the rest of the input
 *   AGAIN  the input is used up, more is needed
 *   DONE   the body is complete and verified; *pos is right after its
 *          last byte (bytes after it are an error on the next call)
 *   ERROR  ck->rc: CHUNKED_MALFORMED, CHUNK_SIGNATURE_MISMATCH,
 *          TRAILER_MALFORMED, TRAILER_SIGNATURE_MISMATCH, BAD_DIGEST,
 *          DECODED_LENGTH, INTERNAL_ERROR; every later call fails again
 */
ingest_awschunked_status_t ingest_awschunked_feed(ingest_awschunked_t *ck,
    const unsigned char **pos, const unsigned char *end, ingest_str_t *data);

/* at the end of the request body: OK after DONE, else INCOMPLETE_BODY */
ingest_s3_rc_t ingest_awschunked_eof(ingest_awschunked_t *ck);

void ingest_awschunked_free(ingest_awschunked_t *ck);


#endif /* _INGEST_AWSCHUNKED_H_INCLUDED_ */
