
/*
 * Copyright (C) nginx video ingest developers
 */


#define _GNU_SOURCE

#include "iw_redis.h"
#include "iw_files.h"
#include "iw_log.h"
#include "iw_process.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>


/*
 * Removes the consumers of a group that hold no pending entry and have
 * been idle for ARGV[2] ms (only ARGV[3] when not empty), in one step:
 * checked and removed apart, a consumer could be handed an entry in
 * between, and XGROUP DELCONSUMER would drop it from the pending list.
 * Returns name, idle, name, idle, ...
 */
#define IW_REDIS_SWEEP                                                        \
    "local gone = {}\n"                                                       \
    "local cs = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])\n"        \
    "if type(cs) ~= 'table' or cs.err then return gone end\n"                \
    "for _, c in ipairs(cs) do\n"                                             \
    "  local f = {}\n"                                                        \
    "  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end\n"                          \
    "  if f['pending'] == 0 and f['idle'] >= tonumber(ARGV[2])\n"             \
    "     and (ARGV[3] == '' or ARGV[3] == f['name']) then\n"                 \
    "    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])\n"  \
    "    gone[#gone + 1] = f['name']\n"                                       \
    "    gone[#gone + 1] = f['idle']\n"                                       \
    "  end\n"                                                                 \
    "end\n"                                                                   \
    "return gone\n"


struct iw_redis_s {
    redisContext        *c;
    const iw_conf_t     *conf;
    char                 consumer[IW_WORKER_LEN + 8];
};


static redisReply *iw_redis_cmd(iw_redis_t *r, const char *fmt, ...);
static int iw_redis_entry(iw_spool_t *sp, iw_job_t *job,
    const redisReply *e, int reclaimed, int64_t now);
static int iw_redis_feed(iw_redis_t *r, const iw_conf_t *conf,
    const char *dir);
static int iw_redis_sweep(iw_redis_t *r, unsigned idle_ms,
    const char *only);


iw_redis_t *
iw_redis_connect(const iw_conf_t *conf, const char *consumer)
{
    char            host[256];
    const char     *addr, *colon;
    iw_redis_t     *r;
    redisReply     *rep;
    struct timeval  tv;

    r = calloc(1, sizeof(iw_redis_t));
    if (r == NULL) {
        return NULL;
    }

    r->conf = conf;
    snprintf(r->consumer, sizeof(r->consumer), "%s", consumer);

    tv.tv_sec = 5;
    tv.tv_usec = 0;

    addr = conf->redis_address;

    if (strncmp(addr, "unix:", 5) == 0) {
        r->c = redisConnectUnixWithTimeout(addr + 5, tv);

    } else {
        colon = strrchr(addr, ':');

        if (colon == NULL || (size_t) (colon - addr) >= sizeof(host)) {
            iw_log(IW_LOG_ERR, "redis: bad address \"%s\"", addr);
            free(r);
            return NULL;
        }

        memcpy(host, addr, colon - addr);
        host[colon - addr] = '\0';

        r->c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    }

    if (r->c == NULL || r->c->err) {
        iw_log(IW_LOG_ERR, "redis: cannot connect to %s: %s", addr,
               r->c ? r->c->errstr : "out of memory");
        iw_redis_close(r);
        return NULL;
    }

    /* replies of XREADGROUP ... BLOCK come within poll_ms */
    tv.tv_sec = 5 + conf->poll_ms / 1000;
    redisSetTimeout(r->c, tv);

    /* the group from the start of the stream: jobs fed before it count */

    rep = iw_redis_cmd(r, "XGROUP CREATE %s %s 0 MKSTREAM",
                       conf->redis_stream, conf->redis_group);
    if (rep == NULL) {
        iw_redis_close(r);
        return NULL;
    }

    if (rep->type == REDIS_REPLY_ERROR
        && strncmp(rep->str, "BUSYGROUP", 9) != 0)
    {
        iw_log(IW_LOG_ERR, "redis: XGROUP CREATE: %s", rep->str);
        freeReplyObject(rep);
        iw_redis_close(r);
        return NULL;
    }

    freeReplyObject(rep);

    return r;
}


void
iw_redis_leave(iw_redis_t *r)
{
    if (r != NULL && iw_redis_sweep(r, 0, r->consumer) > 0) {
        iw_log(IW_LOG_INFO, "redis: consumer %s left the group",
               r->consumer);
    }
}


void
iw_redis_close(iw_redis_t *r)
{
    if (r == NULL) {
        return;
    }

    if (r->c != NULL) {
        redisFree(r->c);
    }

    free(r);
}


int
iw_redis_claim(iw_spool_t *sp, iw_job_t *job, int64_t now)
{
    int               rc;
    char              ms[32];
    iw_redis_t       *r;
    redisReply       *rep;
    const iw_conf_t  *conf;

    r = sp->redis;
    conf = sp->conf;

    /* entries of consumers that stopped renewing them: dead ones */

    snprintf(ms, sizeof(ms), "%u", conf->lease_ms);

    rep = iw_redis_cmd(r, "XAUTOCLAIM %s %s %s %s 0-0 COUNT 1",
                       conf->redis_stream, conf->redis_group, r->consumer,
                       ms);
    if (rep == NULL) {
        return -1;
    }

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2
        && rep->element[1]->type == REDIS_REPLY_ARRAY
        && rep->element[1]->elements > 0)
    {
        rc = iw_redis_entry(sp, job, rep->element[1]->element[0], 1, now);
        freeReplyObject(rep);
        return rc;
    }

    freeReplyObject(rep);

    snprintf(ms, sizeof(ms), "%u", conf->poll_ms);

    rep = iw_redis_cmd(r, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %s "
                       "STREAMS %s >", conf->redis_group, r->consumer, ms,
                       conf->redis_stream);
    if (rep == NULL) {
        return -1;
    }

    rc = 0;

    /* [[stream, [[id, [field, value, ...]]]]] or nil */

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1
        && rep->element[0]->type == REDIS_REPLY_ARRAY
        && rep->element[0]->elements == 2
        && rep->element[0]->element[1]->type == REDIS_REPLY_ARRAY
        && rep->element[0]->element[1]->elements == 1)
    {
        rc = iw_redis_entry(sp, job, rep->element[0]->element[1]->element[0],
                            0, now);
    }

    freeReplyObject(rep);

    return rc;
}


static int
iw_redis_entry(iw_spool_t *sp, iw_job_t *job, const redisReply *e,
    int reclaimed, int64_t now)
{
    char               err[256], path[PATH_MAX], why[512], *dump;
    size_t             i, len;
    unsigned           attempts;
    const char        *text;
    const redisReply  *f;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || e->element[0]->len >= sizeof(sp->entry))
    {
        return 0;
    }

    memcpy(sp->entry, e->element[0]->str, e->element[0]->len);
    sp->entry[e->element[0]->len] = '\0';
    sp->reclaimed = reclaimed;

    f = e->element[1];
    text = NULL;
    len = 0;

    for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
    {
        if (f->element[i]->type == REDIS_REPLY_STRING
            && strcmp(f->element[i]->str, "job") == 0
            && f->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            text = f->element[i + 1]->str;
            len = f->element[i + 1]->len;
        }
    }

    if (text == NULL
        || iw_job_parse(job, text, len, err, sizeof(err)) != 0)
    {
        if (text == NULL) {
            snprintf(err, sizeof(err), "no \"job\" field");
        }

        iw_log(IW_LOG_ERR, "redis entry %s: invalid job: %s", sp->entry,
               err);
        (void) iw_redis_dead(sp, text != NULL ? text : "", err);

        return 0;
    }

    if (job->retry_at > now) {
        /* not due: to the end of the stream, and a pause */
        (void) iw_redis_requeue(sp, text, len);
        iw_job_free(job);
        usleep(sp->conf->poll_ms * 1000 / 4);

        return 0;
    }

    if (reclaimed) {
        attempts = job->attempts + 1;

        snprintf(why, sizeof(why), "its consumer stopped renewing entry %s",
                 sp->entry);

        iw_log(IW_LOG_WARN, "job \"%s\": %s, reclaiming it", job->id, why);

        if (iw_job_set_retry(job, attempts, 0, why) != 0) {
            iw_job_free(job);
            return 0;
        }
    }

    /* the local mirror: progress, heartbeats, done/ and failed/ */

    dump = iw_job_dump(job, &len);

    if (dump == NULL
        || snprintf(path, sizeof(path), "%s/claimed/%s/%s.json",
                    sp->conf->spool, sp->worker, job->id)
           >= (int) sizeof(path)
        || iw_file_write(path, dump, len, 0) != 0)
    {
        free(dump);
        iw_job_free(job);
        return 0;
    }

    free(dump);

    if (reclaimed && job->attempts >= sp->conf->max_attempts) {
        snprintf(why, sizeof(why), "gave up after %u attempts: %s",
                 job->attempts, job->last_error);
        (void) iw_spool_fail(sp, job, why);
        iw_job_free(job);

        return 0;
    }

    return 1;
}


int
iw_redis_heartbeat(iw_spool_t *sp)
{
    int          mine;
    iw_redis_t  *r;
    redisReply  *rep;

    r = sp->redis;

    /* still ours? XCLAIM alone would take it back from a new owner */

    rep = iw_redis_cmd(r, "XPENDING %s %s %s %s 1", sp->conf->redis_stream,
                       sp->conf->redis_group, sp->entry, sp->entry);
    if (rep == NULL) {
        return -1;
    }

    mine = rep->type == REDIS_REPLY_ARRAY && rep->elements == 1
           && rep->element[0]->type == REDIS_REPLY_ARRAY
           && rep->element[0]->elements >= 2
           && rep->element[0]->element[1]->type == REDIS_REPLY_STRING
           && strcmp(rep->element[0]->element[1]->str, r->consumer) == 0;

    freeReplyObject(rep);

    if (!mine) {
        return -1;
    }

    rep = iw_redis_cmd(r, "XCLAIM %s %s %s 0 %s JUSTID",
                       sp->conf->redis_stream, sp->conf->redis_group,
                       r->consumer, sp->entry);
    if (rep == NULL) {
        return -1;
    }

    freeReplyObject(rep);

    return 0;
}


int
iw_redis_ack(iw_spool_t *sp)
{
    redisReply  *rep;

    rep = iw_redis_cmd(sp->redis, "XACK %s %s %s", sp->conf->redis_stream,
                       sp->conf->redis_group, sp->entry);
    if (rep == NULL) {
        return -1;
    }

    freeReplyObject(rep);

    return 0;
}


int
iw_redis_dead(iw_spool_t *sp, const char *text, const char *reason)
{
    redisReply  *rep;

    rep = iw_redis_cmd(sp->redis, "XADD %s * job %s error %s entry %s",
                       sp->conf->redis_dead, text, reason, sp->entry);
    if (rep == NULL) {
        return -1;
    }

    freeReplyObject(rep);

    return iw_redis_ack(sp);
}


int
iw_redis_requeue(iw_spool_t *sp, const char *text, size_t len)
{
    redisReply  *rep;

    rep = iw_redis_cmd(sp->redis, "XADD %s * job %b", sp->conf->redis_stream,
                       text, len);
    if (rep == NULL) {
        return -1;
    }

    freeReplyObject(rep);

    return iw_redis_ack(sp);
}


void
iw_redis_feed_cycle(const iw_conf_t *conf)
{
    int              ifd;
    char             dir[PATH_MAX], host[IW_HOST_LEN], name[IW_WORKER_LEN];
    char             buf[4096];
    int64_t          now, next_sweep;
    sigset_t         blocked, empty;
    unsigned         fails;
    iw_redis_t      *r;
    struct pollfd    pfd;
    struct timespec  ts;

    sigemptyset(&empty);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGQUIT);
    sigprocmask(SIG_SETMASK, &blocked, NULL);

    snprintf(dir, sizeof(dir), "%s/incoming", conf->spool);

    if (iw_spool_host(host, sizeof(host)) != 0
        || iw_worker_name(name, sizeof(name), host, getpid()) != 0)
    {
        exit(2);
    }

    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd != -1
        && inotify_add_watch(ifd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) == -1)
    {
        close(ifd);
        ifd = -1;
    }

    r = NULL;
    fails = 0;
    next_sweep = 0;

    iw_log(IW_LOG_INFO, "redis feeder ready");

    while (!iw_quit && !iw_terminate) {

        if (r == NULL) {
            r = iw_redis_connect(conf, name);
            fails = r == NULL ? fails + 1 : 0;
        }

        if (r != NULL && iw_redis_feed(r, conf, dir) != 0) {
            iw_redis_close(r);
            r = NULL;
        }

        /*
         * Consumers of processes that are gone stay in the group, with
         * every restart more; the feeder of each machine removes those
         * without pending entries once idle for redis_consumer_idle.
         */

        now = iw_monotonic_ms();

        if (r != NULL && conf->redis_consumer_idle_ms != 0
            && now >= next_sweep)
        {
            if (iw_redis_sweep(r, conf->redis_consumer_idle_ms, "") < 0) {
                iw_redis_close(r);
                r = NULL;
            }

            next_sweep = now + conf->reclaim_ms;
        }

        ts.tv_sec = fails ? 1 : conf->poll_ms / 1000;
        ts.tv_nsec = fails ? 0 : (long) (conf->poll_ms % 1000) * 1000000;
        pfd.fd = ifd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        if (ppoll(&pfd, ifd != -1 ? 1 : 0, &ts, &empty) > 0) {
            while (read(ifd, buf, sizeof(buf)) > 0) {
                /* drain */
            }
        }
    }

    iw_redis_close(r);

    exit(0);
}


/* moves the due jobs of incoming/ into the stream; -1: connection lost */

static int
iw_redis_feed(iw_redis_t *r, const iw_conf_t *conf, const char *dir)
{
    int             rc;
    char           *text, path[PATH_MAX], err[256];
    DIR            *d;
    size_t          len, nlen;
    iw_job_t        job;
    redisReply     *rep;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return 0;
    }

    rc = 0;

    while ((de = readdir(d)) != NULL && !iw_quit && !iw_terminate) {
        nlen = strlen(de->d_name);

        if (de->d_name[0] == '.' || nlen <= 5
            || strcmp(de->d_name + nlen - 5, ".json") != 0
            || snprintf(path, sizeof(path), "%s/%s", dir, de->d_name)
               >= (int) sizeof(path))
        {
            continue;
        }

        if (iw_file_read(path, IW_JOB_MAX_SIZE, &text, &len) != 0) {
            continue;
        }

        if (iw_job_parse(&job, text, len, err, sizeof(err)) != 0) {
            free(text);
            iw_log(IW_LOG_ERR, "job \"%s\": invalid: %s", de->d_name, err);
            (void) iw_spool_reject(conf, de->d_name, err);
            continue;
        }

        if (job.retry_at > iw_now_ms()) {
            /* held here until due */
            iw_job_free(&job);
            free(text);
            continue;
        }

        iw_job_free(&job);

        /* XADD, then unlink: a crash between feeds it twice, never 0 */

        rep = iw_redis_cmd(r, "XADD %s * job %b", conf->redis_stream, text,
                           len);
        free(text);

        if (rep == NULL) {
            rc = -1;
            break;
        }

        if (rep->type == REDIS_REPLY_STRING) {
            iw_log(IW_LOG_INFO, "fed \"%s\" as %s", de->d_name, rep->str);
            (void) unlink(path);
        }

        freeReplyObject(rep);
    }

    closedir(d);

    return rc;
}


/* returns the number of consumers removed, -1: connection lost */

static int
iw_redis_sweep(iw_redis_t *r, unsigned idle_ms, const char *only)
{
    int                n;
    char               ms[32];
    size_t             i;
    redisReply        *rep;
    const redisReply  *name, *idle;

    snprintf(ms, sizeof(ms), "%u", idle_ms);

    rep = iw_redis_cmd(r, "EVAL %s 1 %s %s %s %s", IW_REDIS_SWEEP,
                       r->conf->redis_stream, r->conf->redis_group, ms,
                       only);
    if (rep == NULL) {
        return -1;
    }

    n = 0;

    for (i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements;
         i += 2)
    {
        name = rep->element[i];
        idle = rep->element[i + 1];

        if (name->type != REDIS_REPLY_STRING
            || idle->type != REDIS_REPLY_INTEGER)
        {
            continue;
        }

        if (only[0] == '\0') {
            iw_log(IW_LOG_NOTICE, "redis: removed consumer %s from group "
                   "%s (no pending entries, idle %lld s)", name->str,
                   r->conf->redis_group, (long long) idle->integer / 1000);
        }

        n++;
    }

    freeReplyObject(rep);

    return n;
}


static redisReply *
iw_redis_cmd(iw_redis_t *r, const char *fmt, ...)
{
    va_list      args;
    redisReply  *rep;

    va_start(args, fmt);
    rep = redisvCommand(r->c, fmt, args);
    va_end(args);

    if (rep == NULL) {
        iw_log(IW_LOG_ERR, "redis: %s", r->c->errstr);
        return NULL;
    }

    if (rep->type == REDIS_REPLY_ERROR
        && strncmp(rep->str, "BUSYGROUP", 9) != 0)
    {
        iw_log(IW_LOG_ERR, "redis: %s", rep->str);
    }

    return rep;
}
