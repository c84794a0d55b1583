
/*
 * Copyright (C) nginx video ingest developers
 *
 * Spool job format (DESIGN.md "Spool"): one JSON object per file,
 * written to <spool>/tmp/ and renamed into <spool>/incoming/<id>.json.
 *
 *   {"version":1,"id":"...","kind":"upload","protocol":"tus",
 *    "source":"/abs/path/to/data","size":123,
 *    "content_type":"video/mp4",
 *    "metadata":{"filename":"a.mp4","filetype":"video/mp4"},
 *    "owner":"alice","profile":"default","created":1700000000,
 *    "webhook":"https://..."}
 *
 * "owner" and "webhook" are null when unset. Metadata values are the
 * decoded bytes as JSON strings; bytes that are not valid UTF-8 are
 * replaced by U+FFFD so the job is always valid JSON.
 */


#ifndef _INGEST_JOB_H_INCLUDED_
#define _INGEST_JOB_H_INCLUDED_


#include "ingest_core.h"


typedef struct {
    ingest_str_t         id;
    ingest_str_t         kind;          /* "upload" */
    ingest_str_t         protocol;      /* "tus" | "s3" */
    ingest_str_t         source;
    uint64_t             size;
    ingest_str_t         content_type;  /* len 0: from metadata filetype,
                                           else application/octet-stream */
    ingest_str_t         metadata;      /* raw, validated Upload-Metadata */
    ingest_str_t         owner;         /* len 0: null */
    ingest_str_t         profile;       /* len 0: "default" */
    int64_t              created;
    ingest_str_t         webhook;       /* len 0: null */
} ingest_job_t;


/*
 * Writes the job JSON plus a trailing newline; returns its length, or 0
 * when cap is too small or the metadata is invalid. A control byte in a
 * metadata value takes 6 bytes of JSON: 6 * (sum of the field lengths)
 * + 4096 is always enough.
 */
size_t ingest_job_format(const ingest_job_t *job, unsigned char *out,
    size_t cap);

/* JSON string body escaping (no quotes added); returns bytes written
 * or (size_t) -1 when cap is too small */
size_t ingest_json_escape(unsigned char *out, size_t cap,
    const unsigned char *in, size_t len);


#endif /* _INGEST_JOB_H_INCLUDED_ */
