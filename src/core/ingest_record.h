
/*
 * Copyright (C) nginx video ingest developers
 *
 * The upload record ("<id>.info"): a small text file written by
 * write-temp + rename next to the data file "<id>". The upload offset is
 * NOT stored here: it is the size of the data file, so it can never run
 * ahead of the bytes on disk.
 *
 * Format, one "key value" per line, keys in this order, unknown keys
 * are an error:
 *
 *     ingest-record 1
 *     protocol tus|s3
 *     length <n>|-            "-" while the length is deferred
 *     state open|complete|pending|quarantined
 *     concat none|partial|final
 *     created <unix seconds>
 *     expires <unix seconds>  0: never
 *     owner <subject>|-       token subject, "-" when anonymous;
 *                             percent-encoded by the writer when it has
 *                             bytes outside 0x21-0x7e or '%', or is "-"
 *     session <32 hex>        optional: the token that created the upload
 *     verify <offset>         optional: a checksummed PATCH started here
 *     parts <id> <id> ...     final uploads only, in order
 *     metadata <raw Upload-Metadata value, may be empty>
 */


#ifndef _INGEST_RECORD_H_INCLUDED_
#define _INGEST_RECORD_H_INCLUDED_


#include "ingest_core.h"


/* the largest record we write or accept, in bytes */
#define INGEST_RECORD_MAX       65536


typedef enum {
    INGEST_STATE_OPEN = 0,
    INGEST_STATE_COMPLETE,
    INGEST_STATE_PENDING,        /* final upload waiting for partials */
    INGEST_STATE_QUARANTINED
} ingest_state_t;

typedef enum {
    INGEST_PROTO_TUS = 0,
    INGEST_PROTO_S3
} ingest_proto_t;


typedef struct {
    ingest_proto_t       protocol;
    uint64_t             length;
    unsigned             deferred:1;
    unsigned             has_verify:1;
    ingest_state_t       state;
    int                  concat;        /* ingest_tus_concat_t */
    int64_t              created;
    int64_t              expires;
    uint64_t             verify;
    /* slices point into the caller's buffer (parse) or caller's data */
    ingest_str_t         owner;         /* len 0: anonymous */
    ingest_str_t         session;       /* len 0: none */
    ingest_str_t         parts;         /* INGEST_ID_LEN ids joined by ' ' */
    ingest_str_t         metadata;
} ingest_record_t;


/* returns 0 and fills rec (slices into buf) or -1 on a malformed record */
int ingest_record_parse(ingest_record_t *rec, const unsigned char *buf,
    size_t len);

/* returns the length written, or 0 when cap is too small */
size_t ingest_record_format(const ingest_record_t *rec, unsigned char *out,
    size_t cap);

/* 1 when the record has an expiry in the past (expires != 0) */
int ingest_record_expired(const ingest_record_t *rec, int64_t now);

/* number of ids in rec->parts and the i-th one (INGEST_ID_LEN bytes) */
size_t ingest_record_nparts(const ingest_record_t *rec);
const unsigned char *ingest_record_part(const ingest_record_t *rec,
    size_t i);


#endif /* _INGEST_RECORD_H_INCLUDED_ */
