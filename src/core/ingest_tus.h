
/*
 * Copyright (C) nginx video ingest developers
 *
 * tus 1.0.0 protocol rules: header parsing and request decisions.
 */


#ifndef _INGEST_TUS_H_INCLUDED_
#define _INGEST_TUS_H_INCLUDED_


#include "ingest_core.h"
#include "ingest_record.h"
#include "ingest_checksum.h"


#define INGEST_TUS_VERSION      "1.0.0"
#define INGEST_TUS_EXTENSIONS                                                 \
    "creation,creation-with-upload,creation-defer-length,expiration,"         \
    "checksum,termination,concatenation,concatenation-unfinished"
#define INGEST_TUS_CONTENT_TYPE "application/offset+octet-stream"

/* most partial uploads a final upload may concatenate */
#define INGEST_TUS_MAX_PARTS    1024


/*
 * Decision codes. The glue maps each to an HTTP status through one
 * table; the reason strings (ingest_tus_reason) go to the log and the
 * response body.
 */
typedef enum {
    INGEST_TUS_OK = 0,
    INGEST_TUS_BAD_VERSION,          /* 412 Tus-Resumable missing/wrong */
    INGEST_TUS_BAD_CONTENT_TYPE,     /* 415 */
    INGEST_TUS_BAD_OFFSET,           /* 400 Upload-Offset missing/bad */
    INGEST_TUS_BAD_LENGTH,           /* 400 Upload-Length bad */
    INGEST_TUS_NO_LENGTH,            /* 400 neither length nor defer */
    INGEST_TUS_BAD_DEFER,            /* 400 Upload-Defer-Length not "1" or
                                        combined with Upload-Length */
    INGEST_TUS_LENGTH_ALREADY_SET,   /* 400 */
    INGEST_TUS_LENGTH_BELOW_OFFSET,  /* 400 */
    INGEST_TUS_BAD_METADATA,         /* 400 */
    INGEST_TUS_BAD_CHECKSUM_HEADER,  /* 400 syntax */
    INGEST_TUS_UNSUPPORTED_CHECKSUM, /* 400 unknown algorithm */
    INGEST_TUS_BAD_CONCAT,           /* 400 Upload-Concat syntax/ids */
    INGEST_TUS_CONCAT_WITH_LENGTH,   /* 400 final + Upload-Length */
    INGEST_TUS_TOO_LARGE,            /* 413 above Tus-Max-Size */
    INGEST_TUS_EXCEEDS_LENGTH,       /* 413 body goes past Upload-Length */
    INGEST_TUS_OFFSET_MISMATCH,      /* 409 */
    INGEST_TUS_FINAL_PATCH,          /* 403 PATCH to a final upload */
    INGEST_TUS_NOT_FOUND,            /* 404 */
    INGEST_TUS_GONE,                 /* 410 expired or terminated */
    INGEST_TUS_LOCKED,               /* 423 another writer holds it */
    INGEST_TUS_CHECKSUM_MISMATCH,    /* 460 */
    INGEST_TUS_NOT_COMPLETE,         /* 409 GET of an unfinished upload */
    INGEST_TUS_PARTIAL_NOT_FOUND,    /* 400 concat names unknown upload */
    INGEST_TUS_PARTIAL_NOT_PARTIAL,  /* 400 concat names a non-partial */
    INGEST_TUS_METHOD_NOT_ALLOWED,   /* 405 */
    INGEST_TUS_RC_LAST
} ingest_tus_rc_t;


/* HTTP status for a decision code */
int ingest_tus_http_status(ingest_tus_rc_t rc);

/* human readable reason, a static NUL-terminated string */
const char *ingest_tus_reason(ingest_tus_rc_t rc);


/* Tus-Resumable must be exactly "1.0.0"; returns OK or BAD_VERSION */
ingest_tus_rc_t ingest_tus_check_version(const unsigned char *p,
    size_t len);

/*
 * Content-Type of PATCH (and of a creation-with-upload POST with a body)
 * must be application/offset+octet-stream; parameters after ';' and
 * case differences in the type are tolerated.
 */
ingest_tus_rc_t ingest_tus_check_content_type(const unsigned char *p,
    size_t len);


/*
 * Upload-Metadata: comma separated "key[ value]" pairs, key is one or
 * more printable ASCII characters other than space and comma, value is
 * standard base64 (may be absent). Keys must be unique. Surrounding
 * spaces around pairs are tolerated. An empty header is valid.
 */
ingest_tus_rc_t ingest_tus_metadata_validate(const unsigned char *p,
    size_t len);

/*
 * Finds a key in an already validated metadata value and decodes it into
 * out (cap bytes). Returns the decoded length, 0 for a key without value,
 * -1 when absent or when out is too small.
 */
ssize_t ingest_tus_metadata_get(const unsigned char *p, size_t len,
    const char *key, unsigned char *out, size_t cap);

/* iteration over a validated metadata value */
typedef struct {
    const unsigned char  *pos;
    const unsigned char  *end;
} ingest_tus_meta_iter_t;

void ingest_tus_meta_iter_init(ingest_tus_meta_iter_t *it,
    const unsigned char *p, size_t len);
/* returns 1 and fills key/value (value still base64) or 0 at the end */
int ingest_tus_meta_next(ingest_tus_meta_iter_t *it, ingest_str_t *key,
    ingest_str_t *value);


/*
 * Upload-Checksum: "<algorithm> <base64 digest>". Algorithm names are
 * matched case-insensitively. The decoded digest must have the
 * algorithm's length. Returns OK, BAD_CHECKSUM_HEADER or
 * UNSUPPORTED_CHECKSUM.
 */
ingest_tus_rc_t ingest_tus_checksum_parse(const unsigned char *p,
    size_t len, ingest_cksum_algo_t *algo, unsigned char *digest);


/*
 * Upload-Concat: "partial" or "final;<url> <url> ...". Each url is an
 * absolute URL or a path; the upload id is its last path segment (a
 * query or fragment is not allowed) and must be a valid id. ids must
 * hold INGEST_TUS_MAX_PARTS entries of INGEST_ID_LEN bytes each.
 */
typedef enum {
    INGEST_TUS_CONCAT_NONE = 0,
    INGEST_TUS_CONCAT_PARTIAL,
    INGEST_TUS_CONCAT_FINAL
} ingest_tus_concat_t;

ingest_tus_rc_t ingest_tus_concat_parse(const unsigned char *p, size_t len,
    ingest_tus_concat_t *type, unsigned char *ids, size_t *nids);


/* The creation request (POST) as seen in its headers. */
typedef struct {
    /* each ptr is NULL when the header is absent */
    ingest_str_t         upload_length;
    ingest_str_t         defer_length;
    ingest_str_t         metadata;
    ingest_str_t         concat;
    int64_t              content_length;   /* -1 when unknown/chunked */
    uint64_t             max_size;         /* 0: no limit */
} ingest_tus_create_req_t;

typedef struct {
    uint64_t             length;
    unsigned             deferred:1;
    ingest_tus_concat_t  concat;
    size_t               nparts;
    unsigned char        parts[INGEST_TUS_MAX_PARTS * INGEST_ID_LEN];
} ingest_tus_create_t;

/*
 * Checks a creation request: length vs defer, max size, metadata syntax,
 * concatenation syntax (a final upload takes no Upload-Length and no
 * defer), a creation-with-upload body not longer than the length.
 */
ingest_tus_rc_t ingest_tus_create_check(const ingest_tus_create_req_t *req,
    ingest_tus_create_t *out);


/* PATCH as seen in its headers, against the stored record */
typedef struct {
    ingest_str_t         upload_offset;    /* data NULL when absent */
    ingest_str_t         upload_length;    /* data NULL when absent */
    int64_t              content_length;   /* -1 when unknown/chunked */
    uint64_t             max_size;         /* 0: no limit */
    uint64_t             current_offset;   /* bytes in the data file */
    int64_t              now;
} ingest_tus_patch_req_t;

typedef struct {
    uint64_t             offset;           /* request offset (== current) */
    uint64_t             limit;            /* most bytes this PATCH may
                                              write: length - offset, or
                                              max_size - offset (deferred)
                                              or INGEST_MAX_OFF - offset */
    unsigned             set_length:1;     /* PATCH sets deferred length */
    uint64_t             new_length;
} ingest_tus_patch_t;

/*
 * Applies the PATCH rules in this order: final upload (403), expired
 * (410), offset syntax (400), offset mismatch (409), Upload-Length on a
 * deferred upload (400 when bad or below the offset, 413 above
 * max_size; 400 when the length was already set to another value),
 * content length past the length (413).
 */
ingest_tus_rc_t ingest_tus_patch_check(const ingest_tus_patch_req_t *req,
    const ingest_record_t *rec, ingest_tus_patch_t *out);


/* RFC 7231 IMF-fixdate for Upload-Expires; out holds >= 30 bytes */
size_t ingest_http_date(unsigned char *out, int64_t t);


#endif /* _INGEST_TUS_H_INCLUDED_ */
