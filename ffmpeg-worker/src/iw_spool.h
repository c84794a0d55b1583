
/*
 * Copyright (C) nginx video ingest developers
 *
 * The spool directory queue (DESIGN.md "Spool"):
 *
 *   incoming/<id>.json            written by nginx (tmp/ + rename)
 *   claimed/<host>-<pid>/<id>.json a job process owns it; the file's
 *                                 mtime is the lease, renewed by the
 *                                 owner's heartbeat
 *   done/<id>.json                finished, outputs in <output>/<id>/
 *   failed/<id>.json, <id>.error  given up, with the reason
 *
 * Every move is one rename(2), so a job is in exactly one place. Claims
 * of dead owners go back to incoming/ with one more attempt counted and
 * a retry time from the backoff; after max_attempts they fail.
 * Outputs are built in <output>/.tmp/<host>-<pid>/<id>/ and renamed to
 * <output>/<id> when whole.
 */


#ifndef _IW_SPOOL_H_INCLUDED_
#define _IW_SPOOL_H_INCLUDED_


#include "iw_backoff.h"
#include "iw_conf.h"
#include "iw_job.h"

#include <sys/types.h>


typedef struct iw_redis_s  iw_redis_t;


typedef struct {
    const iw_conf_t     *conf;
    iw_redis_t          *redis;         /* NULL: the spool is the queue */
    char                 entry[64];     /* stream entry of the job */
    unsigned             reclaimed:1;   /* taken from a dead consumer */
    char                 host[IW_HOST_LEN];     /* as in worker names */
    char                 worker[IW_WORKER_LEN];
} iw_spool_t;


/* creates the spool and output directories */
int iw_spool_prepare(const iw_conf_t *conf);

/* this host's name as written in worker names */
int iw_spool_host(char *host, size_t cap);

/* names the worker after this host and pid, creates its claim dir */
int iw_spool_open(iw_spool_t *sp, const iw_conf_t *conf);
void iw_spool_close(iw_spool_t *sp);

/*
 * Claims the oldest job that is due. Returns 1 with the job, 0 when
 * none is due, -1 on error. Jobs that cannot be parsed are moved to
 * failed/ on the way.
 */
int iw_spool_claim(iw_spool_t *sp, iw_job_t *job, int64_t now);

/* renews the lease; -1 when the claim was lost */
int iw_spool_heartbeat(iw_spool_t *sp, const iw_job_t *job);

int iw_spool_done(iw_spool_t *sp, const iw_job_t *job);

/* rewrites the claimed job (temp + rename), e.g. with its result */
int iw_spool_update(iw_spool_t *sp, const iw_job_t *job);
int iw_spool_fail(iw_spool_t *sp, const iw_job_t *job, const char *reason);

/* a transient failure: back to incoming/ later, or failed/ at the end */
int iw_spool_retry(iw_spool_t *sp, iw_job_t *job, const char *reason,
    int64_t now);

/* back to incoming/ as it was (stop requested) */
int iw_spool_release(iw_spool_t *sp, const iw_job_t *job);

/*
 * Requeues the claims of dead workers (only those of pid on this host
 * when pid is not 0) and removes their unfinished outputs. Returns the
 * number of jobs moved.
 */
int iw_spool_reclaim(const iw_conf_t *conf, pid_t pid, int64_t now);

/* jobs waiting in incoming/ and held in claimed/ */
int iw_spool_depth(const iw_conf_t *conf, unsigned *incoming,
    unsigned *claimed);

/* moves incoming/<name> to failed/ with the reason (the feeder) */
int iw_spool_reject(const iw_conf_t *conf, const char *name,
    const char *reason);

/* <output>/.tmp/<worker>/<id> and <output>/<id> */
int iw_spool_output_paths(iw_spool_t *sp, const iw_job_t *job, char *tmp,
    char *final, size_t cap);


#endif /* _IW_SPOOL_H_INCLUDED_ */
