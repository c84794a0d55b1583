
/*
 * Copyright (C) nginx video ingest developers
 *
 * The Redis Streams queue, for several machines ("queue redis;"):
 *
 *   - a feeder process on each machine moves the jobs nginx spools into
 *     incoming/ to the stream (XADD, then unlink: a crash between the
 *     two feeds a job twice, which the exactly-once output absorbs);
 *   - job processes read with XREADGROUP in one consumer group, each
 *     its own consumer (<host>-<pid>), and take over entries of crashed
 *     consumers with XAUTOCLAIM once they have been idle for lease_time;
 *     their heartbeat resets the entry's idle time (XCLAIM JUSTID, after
 *     checking with XPENDING that it is still theirs);
 *   - done: XACK; failed: XADD to the dead-letter stream, then XACK;
 *     retry and release: XADD the updated job, then XACK;
 *   - consumers leave the group when their process exits; the feeder
 *     removes those of processes that died (no pending entries, idle
 *     for redis_consumer_idle: XINFO CONSUMERS and XGROUP DELCONSUMER
 *     in one script, so no entry is handed to one being removed).
 *
 * A mirror of the running job stays in claimed/<worker>/ for progress
 * and the local done/ and failed/ records.
 */


#ifndef _IW_REDIS_H_INCLUDED_
#define _IW_REDIS_H_INCLUDED_


#include "iw_conf.h"
#include "iw_job.h"
#include "iw_spool.h"


iw_redis_t *iw_redis_connect(const iw_conf_t *conf, const char *consumer);
void iw_redis_close(iw_redis_t *r);

/* removes this consumer from the group when it holds no entry (exit) */
void iw_redis_leave(iw_redis_t *r);

/*
 * Takes a job: one of a dead consumer first, else a new one (blocking
 * up to a second). Returns 1 with the job (its mirror written), 0 when
 * none, -1 when the connection failed.
 */
int iw_redis_claim(iw_spool_t *sp, iw_job_t *job, int64_t now);

int iw_redis_heartbeat(iw_spool_t *sp);
int iw_redis_ack(iw_spool_t *sp);
int iw_redis_dead(iw_spool_t *sp, const char *text, const char *reason);
int iw_redis_requeue(iw_spool_t *sp, const char *text, size_t len);

/* the feeder process; never returns */
void iw_redis_feed_cycle(const iw_conf_t *conf) __attribute__((noreturn));


#endif /* _IW_REDIS_H_INCLUDED_ */
