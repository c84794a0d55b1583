
/*
 * Copyright (C) nginx video ingest developers
 *
 * Spool jobs (docs/tus.md "Spool jobs", src/core/ingest_job.h):
 *
 *   {"version":1,"id":"3f2a...","kind":"upload","protocol":"tus",
 *    "source":"/abs/path","size":123,"content_type":"video/mp4",
 *    "metadata":{...},"owner":null,"profile":"default",
 *    "created":1764122000,"webhook":null}
 *
 * The worker adds its own bookkeeping to the same object when it puts a
 * job back for a retry: "attempts" (failed tries so far), "retry_at"
 * (unix time in milliseconds before which the job is not taken) and
 * "last_error". Every other member is kept as it was.
 */


#ifndef _IW_JOB_H_INCLUDED_
#define _IW_JOB_H_INCLUDED_


#include <jansson.h>
#include <stddef.h>
#include <stdint.h>


#define IW_JOB_ID_MAX       128
#define IW_JOB_MAX_SIZE     (1024 * 1024)


typedef struct {
    json_t              *root;          /* owns the strings below */
    const char          *id;
    const char          *kind;
    const char          *protocol;      /* NULL when absent */
    const char          *source;
    const char          *content_type;  /* NULL when absent */
    const char          *owner;         /* NULL when null or absent */
    const char          *profile;       /* "default" when null/absent */
    const char          *webhook;       /* NULL when null or absent */
    const char          *last_error;    /* NULL when absent */
    uint64_t             size;
    int64_t              created;
    unsigned             attempts;
    int64_t              retry_at;
} iw_job_t;


/*
 * Parses and validates a job. Returns 0, or -1 with the reason in err
 * (job->root is then NULL and nothing needs freeing).
 */
int iw_job_parse(iw_job_t *job, const char *text, size_t len, char *err,
    size_t errlen);
void iw_job_free(iw_job_t *job);

/* records a failed try; error may be NULL */
int iw_job_set_retry(iw_job_t *job, unsigned attempts, int64_t retry_at,
    const char *error);

/* the job as one line of JSON plus "\n" (malloc'ed), or NULL */
char *iw_job_dump(const iw_job_t *job, size_t *len);

/* ids are file names: [A-Za-z0-9_-], then also ".", 1..128 bytes */
int iw_job_id_valid(const char *id);


#endif /* _IW_JOB_H_INCLUDED_ */
