
/*
 * Copyright (C) nginx video ingest developers
 */


#define _GNU_SOURCE

#include "iw_spool.h"
#include "iw_files.h"
#include "iw_log.h"
#include "iw_metrics.h"
#include "iw_notify.h"
#include "iw_redis.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define IW_SPOOL_SCAN_MAX   4096


typedef struct {
    char                 name[NAME_MAX + 1];
    int64_t              mtime;
} iw_spool_entry_t;


static int iw_spool_list(const char *dir, iw_spool_entry_t **list,
    unsigned *n);
static int iw_spool_entry_cmp(const void *a, const void *b);
static int iw_spool_stem(const char *name, char *stem, size_t cap);
static int iw_spool_fail_at(const iw_conf_t *conf, const char *claim,
    const char *id, const char *reason);
static int iw_spool_requeue(const iw_conf_t *conf, const char *claim,
    iw_job_t *job, const char *reason, int64_t now, unsigned add);
static int iw_spool_drop(iw_spool_t *sp, const iw_job_t *job);
static int iw_spool_reclaim_dir(const iw_conf_t *conf, const char *worker,
    const char *host, int alive, int64_t now);
static void iw_spool_sweep(const char *claim);
static int iw_spool_path(char *buf, const char *a, const char *b,
    const char *c, const char *d);


int
iw_spool_prepare(const iw_conf_t *conf)
{
    char         path[PATH_MAX];
    unsigned     i;
    const char  *dirs[] = { "incoming", "tmp", "claimed", "done", "failed" };

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (iw_spool_path(path, conf->spool, dirs[i], NULL, NULL) != 0
            || iw_mkdir_p(path, 0755) != 0)
        {
            iw_log_errno(IW_LOG_ERR, errno, "cannot create \"%s\"", path);
            return -1;
        }
    }

    if (iw_spool_path(path, conf->output, ".tmp", NULL, NULL) != 0
        || iw_mkdir_p(path, 0755) != 0)
    {
        iw_log_errno(IW_LOG_ERR, errno, "cannot create \"%s\"", path);
        return -1;
    }

    return 0;
}


int
iw_spool_host(char *host, size_t cap)
{
    char   raw[256], name[IW_WORKER_LEN];
    pid_t  pid;

    if (gethostname(raw, sizeof(raw) - 1) == -1) {
        return -1;
    }

    raw[sizeof(raw) - 1] = '\0';
    raw[IW_HOST_LEN - 1] = '\0';

    if (iw_worker_name(name, sizeof(name), raw, 1) != 0
        || iw_worker_name_parse(name, host, cap, &pid) != 0)
    {
        return -1;
    }

    return 0;
}


int
iw_spool_open(iw_spool_t *sp, const iw_conf_t *conf)
{
    char  path[PATH_MAX];

    memset(sp, 0, sizeof(iw_spool_t));
    sp->conf = conf;

    if (iw_spool_host(sp->host, sizeof(sp->host)) != 0
        || iw_worker_name(sp->worker, sizeof(sp->worker), sp->host,
                          getpid()) != 0)
    {
        iw_log(IW_LOG_ERR, "cannot name this worker after its host");
        return -1;
    }

    if (iw_spool_path(path, conf->spool, "claimed", sp->worker, NULL) != 0
        || iw_mkdir_p(path, 0755) != 0)
    {
        iw_log_errno(IW_LOG_ERR, errno, "cannot create \"%s\"", path);
        return -1;
    }

    return 0;
}


void
iw_spool_close(iw_spool_t *sp)
{
    char  path[PATH_MAX];

    if (iw_spool_path(path, sp->conf->spool, "claimed", sp->worker, NULL)
        == 0)
    {
        (void) rmdir(path);
    }

    if (iw_spool_path(path, sp->conf->output, ".tmp", sp->worker, NULL)
        == 0)
    {
        (void) iw_rmtree(path);
    }
}


int
iw_spool_claim(iw_spool_t *sp, iw_job_t *job, int64_t now)
{
    int                rc;
    char              *text, stem[NAME_MAX + 1], err[256];
    char               src[PATH_MAX], dst[PATH_MAX], claim[PATH_MAX];
    size_t             len;
    unsigned           i, n;
    iw_job_t           peek;
    iw_spool_entry_t  *list;

    if (iw_spool_path(src, sp->conf->spool, "incoming", NULL, NULL) != 0
        || iw_spool_path(claim, sp->conf->spool, "claimed", sp->worker,
                         NULL) != 0)
    {
        return -1;
    }

    if (iw_spool_list(src, &list, &n) != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot read \"%s\"", src);
        return -1;
    }

    rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        if (iw_spool_stem(list[i].name, stem, sizeof(stem)) != 0) {
            continue;
        }

        if (iw_spool_path(src, sp->conf->spool, "incoming", list[i].name,
                          NULL) != 0)
        {
            continue;
        }

        /* a look before taking it: not yet due jobs stay */

        if (iw_file_read(src, IW_JOB_MAX_SIZE, &text, &len) == 0) {
            if (iw_job_parse(&peek, text, len, err, sizeof(err)) == 0) {
                if (peek.retry_at > now) {
                    iw_job_free(&peek);
                    free(text);
                    continue;
                }

                iw_job_free(&peek);
            }

            free(text);

        } else if (errno == ENOENT) {
            continue;
        }

        if (iw_spool_path(dst, claim, list[i].name, NULL, NULL) != 0) {
            continue;
        }

        if (rename(src, dst) == -1) {
            if (errno == ENOENT) {
                /* another worker took it */
                continue;
            }

            iw_log_errno(IW_LOG_ERR, errno, "cannot claim \"%s\"", src);
            rc = -1;
            break;
        }

        /* the lease starts now, not when nginx wrote the file */
        (void) iw_file_touch(dst);

        if (iw_file_read(dst, IW_JOB_MAX_SIZE, &text, &len) != 0) {
            snprintf(err, sizeof(err), "cannot read the job: %s",
                     strerror(errno));
            goto invalid;
        }

        if (iw_job_parse(job, text, len, err, sizeof(err)) != 0) {
            free(text);
            goto invalid;
        }

        free(text);

        if (strcmp(job->id, stem) != 0) {
            iw_job_free(job);
            snprintf(err, sizeof(err), "job id does not match its file "
                     "name");
            goto invalid;
        }

        rc = 1;
        break;

    invalid:

        iw_log(IW_LOG_ERR, "job \"%s\": invalid: %s", stem, err);

        (void) iw_spool_fail_at(sp->conf, claim, stem, err);
    }

    free(list);

    return rc;
}


int
iw_spool_heartbeat(iw_spool_t *sp, const iw_job_t *job)
{
    char  path[PATH_MAX], name[NAME_MAX + 1];

    snprintf(name, sizeof(name), "%s.json", job->id);

    if (iw_spool_path(path, sp->conf->spool, "claimed", sp->worker, name)
        != 0)
    {
        return -1;
    }

    if (sp->redis != NULL && iw_redis_heartbeat(sp) != 0) {
        return -1;
    }

    return iw_file_touch(path);
}


int
iw_spool_done(iw_spool_t *sp, const iw_job_t *job)
{
    char  src[PATH_MAX], dst[PATH_MAX], name[NAME_MAX + 1];

    snprintf(name, sizeof(name), "%s.json", job->id);

    if (iw_spool_path(src, sp->conf->spool, "claimed", sp->worker, name)
        != 0
        || iw_spool_path(dst, sp->conf->spool, "done", name, NULL) != 0)
    {
        return -1;
    }

    if (rename(src, dst) == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot move \"%s\" to done/", src);
        return -1;
    }

    if (sp->redis != NULL) {
        return iw_redis_ack(sp);
    }

    return 0;
}


int
iw_spool_update(iw_spool_t *sp, const iw_job_t *job)
{
    int      rc;
    char    *text, path[PATH_MAX], name[NAME_MAX + 1];
    size_t   len;

    snprintf(name, sizeof(name), "%s.json", job->id);

    if (iw_spool_path(path, sp->conf->spool, "claimed", sp->worker, name)
        != 0)
    {
        return -1;
    }

    text = iw_job_dump(job, &len);
    if (text == NULL) {
        return -1;
    }

    rc = iw_file_write(path, text, len, 0);
    free(text);

    return rc;
}


int
iw_spool_fail(iw_spool_t *sp, const iw_job_t *job, const char *reason)
{
    int      rc;
    char    *text, claim[PATH_MAX];
    size_t   len;

    if (iw_spool_path(claim, sp->conf->spool, "claimed", sp->worker, NULL)
        != 0)
    {
        return -1;
    }

    if (sp->redis != NULL) {
        text = iw_job_dump(job, &len);
        rc = text != NULL ? iw_redis_dead(sp, text, reason) : -1;
        free(text);

        if (rc != 0) {
            return -1;
        }
    }

    return iw_spool_fail_at(sp->conf, claim, job->id, reason);
}


int
iw_spool_retry(iw_spool_t *sp, iw_job_t *job, const char *reason,
    int64_t now)
{
    char       *text, claim[PATH_MAX], why[1024];
    size_t      len;
    uint64_t    delay;
    unsigned    attempts;

    if (iw_spool_path(claim, sp->conf->spool, "claimed", sp->worker, NULL)
        != 0)
    {
        return -1;
    }

    if (sp->redis == NULL) {
        return iw_spool_requeue(sp->conf, claim, job, reason, now, 1);
    }

    /* Redis: the updated job goes back into the stream */

    attempts = job->attempts + 1;

    if (attempts >= sp->conf->max_attempts) {
        snprintf(why, sizeof(why), "gave up after %u attempts: %s",
                 attempts, reason);
        return iw_spool_fail(sp, job, why);
    }

    delay = iw_backoff_ms(sp->conf->retry_base_ms, 2, sp->conf->retry_max_ms,
                          attempts, iw_jitter_ms((uint32_t) random(), 0,
                                                 sp->conf->retry_base_ms / 5));

    if (iw_job_set_retry(job, attempts, now + (int64_t) delay, reason) != 0)
    {
        return -1;
    }

    text = iw_job_dump(job, &len);
    if (text == NULL || iw_redis_requeue(sp, text, len) != 0) {
        free(text);
        return -1;
    }

    free(text);

    if (iw_stats != NULL) {
        iw_stats_add(&iw_stats->retried, 1);
    }

    iw_log(IW_LOG_NOTICE, "job \"%s\": attempt %u failed (%s), retry in "
           "%llu ms", job->id, attempts, reason, (unsigned long long) delay);

    return iw_spool_drop(sp, job);
}


int
iw_spool_release(iw_spool_t *sp, const iw_job_t *job)
{
    char    src[PATH_MAX], dst[PATH_MAX], name[NAME_MAX + 1], *text;
    size_t  len;

    snprintf(name, sizeof(name), "%s.json", job->id);

    if (iw_spool_path(src, sp->conf->spool, "claimed", sp->worker, name)
        != 0
        || iw_spool_path(dst, sp->conf->spool, "incoming", name, NULL) != 0)
    {
        return -1;
    }

    if (sp->redis != NULL) {
        text = iw_job_dump(job, &len);
        if (text == NULL || iw_redis_requeue(sp, text, len) != 0) {
            free(text);
            return -1;
        }

        free(text);
        (void) iw_spool_drop(sp, job);

    } else if (rename(src, dst) == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot release \"%s\"", src);
        return -1;
    }

    if (iw_stats != NULL) {
        iw_stats_add(&iw_stats->released, 1);
    }

    return 0;
}


int
iw_spool_reclaim(const iw_conf_t *conf, pid_t pid, int64_t now)
{
    int                alive, moved, n;
    char               path[PATH_MAX], host[IW_HOST_LEN];
    char               owner[IW_HOST_LEN];
    DIR               *dir;
    pid_t              opid;
    struct dirent     *de;

    if (iw_spool_host(host, sizeof(host)) != 0
        || iw_spool_path(path, conf->spool, "claimed", NULL, NULL) != 0)
    {
        return -1;
    }

    dir = opendir(path);
    if (dir == NULL) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot read \"%s\"", path);
        return -1;
    }

    moved = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        if (iw_worker_name_parse(de->d_name, owner, sizeof(owner), &opid)
            != 0)
        {
            continue;
        }

        if (pid != 0 && (opid != pid || strcmp(owner, host) != 0)) {
            continue;
        }

        alive = 1;

        if (strcmp(owner, host) == 0) {
            alive = (kill(opid, 0) == 0 || errno == EPERM);

            if (pid != 0) {
                /* the master reaped it: dead even if the pid is reused */
                alive = 0;
            }
        }

        n = iw_spool_reclaim_dir(conf, de->d_name, owner, alive, now);
        if (n > 0) {
            moved += n;
        }
    }

    closedir(dir);

    return moved;
}


int
iw_spool_depth(const iw_conf_t *conf, unsigned *incoming, unsigned *claimed)
{
    char               path[PATH_MAX], sub[PATH_MAX];
    DIR               *dir;
    unsigned           n;
    struct dirent     *de;
    iw_spool_entry_t  *list;

    *incoming = 0;
    *claimed = 0;

    if (iw_spool_path(path, conf->spool, "incoming", NULL, NULL) != 0
        || iw_spool_list(path, &list, &n) != 0)
    {
        return -1;
    }

    free(list);
    *incoming = n;

    if (iw_spool_path(path, conf->spool, "claimed", NULL, NULL) != 0) {
        return -1;
    }

    dir = opendir(path);
    if (dir == NULL) {
        return -1;
    }

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.'
            || iw_spool_path(sub, path, de->d_name, NULL, NULL) != 0
            || iw_spool_list(sub, &list, &n) != 0)
        {
            continue;
        }

        free(list);
        *claimed += n;
    }

    closedir(dir);

    return 0;
}


int
iw_spool_output_paths(iw_spool_t *sp, const iw_job_t *job, char *tmp,
    char *final, size_t cap)
{
    if (cap < PATH_MAX
        || iw_spool_path(tmp, sp->conf->output, ".tmp", sp->worker, job->id)
           != 0
        || iw_spool_path(final, sp->conf->output, job->id, NULL, NULL) != 0)
    {
        return -1;
    }

    return 0;
}


int
iw_spool_reject(const iw_conf_t *conf, const char *name, const char *reason)
{
    char  dir[PATH_MAX], stem[NAME_MAX + 1];

    if (iw_spool_stem(name, stem, sizeof(stem)) != 0
        || iw_spool_path(dir, conf->spool, "incoming", NULL, NULL) != 0)
    {
        return -1;
    }

    return iw_spool_fail_at(conf, dir, stem, reason);
}


/* the mirror of a job that went back to the stream */

static int
iw_spool_drop(iw_spool_t *sp, const iw_job_t *job)
{
    char  path[PATH_MAX], name[NAME_MAX + 1];

    snprintf(name, sizeof(name), "%s.json", job->id);

    if (iw_spool_path(path, sp->conf->spool, "claimed", sp->worker, name)
        != 0)
    {
        return -1;
    }

    return unlink(path);
}


static int
iw_spool_reclaim_dir(const iw_conf_t *conf, const char *worker,
    const char *host, int alive, int64_t now)
{
    char               claim[PATH_MAX], path[PATH_MAX];
    char               stem[NAME_MAX + 1], err[256], reason[512];
    char              *text;
    size_t             len;
    int64_t            renewed;
    unsigned           i, n;
    iw_job_t           job;
    iw_spool_entry_t  *list;
    int                moved;

    if (iw_spool_path(claim, conf->spool, "claimed", worker, NULL) != 0
        || iw_spool_list(claim, &list, &n) != 0)
    {
        return -1;
    }

    moved = 0;

    for (i = 0; i < n; i++) {
        if (iw_spool_stem(list[i].name, stem, sizeof(stem)) != 0
            || iw_spool_path(path, claim, list[i].name, NULL, NULL) != 0)
        {
            continue;
        }

        renewed = list[i].mtime;

        if (!iw_claim_dead(host, host, alive, renewed, now, conf->lease_ms))
        {
            continue;
        }

        if (conf->redis) {
            /* a mirror: the stream entry is reclaimed by XAUTOCLAIM */
            (void) unlink(path);

            if (iw_spool_path(path, conf->output, ".tmp", worker, stem)
                == 0)
            {
                (void) iw_rmtree(path);
            }

            continue;
        }

        iw_log(IW_LOG_WARN, "job \"%s\": worker %s %s, reclaiming it",
               stem, worker, alive ? "lost its lease" : "is gone");

        if (iw_file_read(path, IW_JOB_MAX_SIZE, &text, &len) != 0) {
            continue;
        }

        if (iw_job_parse(&job, text, len, err, sizeof(err)) != 0) {
            free(text);
            (void) iw_spool_fail_at(conf, claim, stem, err);
            continue;
        }

        free(text);

        snprintf(reason, sizeof(reason), "worker %s %s while running the "
                 "job", worker, alive ? "stopped renewing its lease"
                                      : "died");

        if (iw_spool_requeue(conf, claim, &job, reason, now, 1) == 0) {
            moved++;

            if (iw_stats != NULL) {
                iw_stats_add(&iw_stats->reclaimed, 1);
            }
        }

        /* its unfinished output is garbage now */

        if (iw_spool_path(path, conf->output, ".tmp", worker, stem) == 0) {
            (void) iw_rmtree(path);
        }

        iw_job_free(&job);
    }

    free(list);

    if (!alive) {
        if (iw_spool_path(path, conf->output, ".tmp", worker, NULL) == 0) {
            (void) iw_rmtree(path);
        }

        iw_spool_sweep(claim);
    }

    return moved;
}


static int
iw_spool_requeue(const iw_conf_t *conf, const char *claim, iw_job_t *job,
    const char *reason, int64_t now, unsigned add)
{
    char      *text, path[PATH_MAX], dst[PATH_MAX], name[NAME_MAX + 1];
    char       why[1024];
    size_t     len;
    uint64_t   delay;
    unsigned   attempts;

    attempts = job->attempts + add;

    if (attempts >= conf->max_attempts) {
        snprintf(why, sizeof(why), "gave up after %u attempts: %s",
                 attempts, reason);

        iw_log(IW_LOG_ERR, "job \"%s\": %s", job->id, why);

        return iw_spool_fail_at(conf, claim, job->id, why);
    }

    delay = iw_backoff_ms(conf->retry_base_ms, 2, conf->retry_max_ms,
                          attempts, iw_jitter_ms((uint32_t) random(), 0,
                                                 conf->retry_base_ms / 5));

    if (iw_job_set_retry(job, attempts, now + (int64_t) delay, reason) != 0)
    {
        return -1;
    }

    text = iw_job_dump(job, &len);
    if (text == NULL) {
        return -1;
    }

    snprintf(name, sizeof(name), "%s.json", job->id);

    if (iw_spool_path(path, claim, name, NULL, NULL) != 0
        || iw_spool_path(dst, conf->spool, "incoming", name, NULL) != 0
        || iw_file_write(path, text, len, 0) != 0)
    {
        iw_log_errno(IW_LOG_ERR, errno, "job \"%s\": cannot rewrite it",
                     job->id);
        free(text);
        return -1;
    }

    free(text);

    if (rename(path, dst) == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot requeue \"%s\"", path);
        return -1;
    }

    if (iw_stats != NULL) {
        iw_stats_add(&iw_stats->retried, 1);
    }

    iw_log(IW_LOG_NOTICE, "job \"%s\": attempt %u failed (%s), retry in "
           "%llu ms", job->id, attempts, reason, (unsigned long long) delay);

    return 0;
}


static int
iw_spool_fail_at(const iw_conf_t *conf, const char *claim, const char *id,
    const char *reason)
{
    char      src[PATH_MAX], dst[PATH_MAX], epath[PATH_MAX];
    char      name[NAME_MAX + 1], ename[NAME_MAX + 1], err[256];
    char     *text;
    size_t    len;
    iw_job_t  job;

    snprintf(name, sizeof(name), "%s.json", id);
    snprintf(ename, sizeof(ename), "%s.error", id);

    if (iw_spool_path(src, claim, name, NULL, NULL) != 0
        || iw_spool_path(dst, conf->spool, "failed", name, NULL) != 0
        || iw_spool_path(epath, conf->spool, "failed", ename, NULL) != 0)
    {
        return -1;
    }

    /* the webhook first, from the job as it stands */

    if (iw_file_read(src, IW_JOB_MAX_SIZE, &text, &len) == 0) {
        if (iw_job_parse(&job, text, len, err, sizeof(err)) == 0) {
            (void) iw_notify_queue(conf, id, job.root, "job.failed", NULL,
                                   reason);
            iw_job_free(&job);
        }

        free(text);
    }

    len = strlen(reason);

    text = malloc(len + 2);
    if (text == NULL) {
        return -1;
    }

    memcpy(text, reason, len);
    text[len] = '\n';

    /* the reason first: whoever sees the job in failed/ finds it */

    if (iw_file_write(epath, text, len + 1, 0) != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot write \"%s\"", epath);
    }

    free(text);

    if (rename(src, dst) == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot move \"%s\" to failed/",
                     src);
        return -1;
    }

    if (iw_stats != NULL) {
        iw_stats_add(&iw_stats->failed, 1);
    }

    iw_log(IW_LOG_ERR, "job \"%s\" failed: %s", id, reason);

    return 0;
}


/* the *.json files of a directory, oldest first */

static int
iw_spool_list(const char *path, iw_spool_entry_t **list, unsigned *n)
{
    int                fd;
    DIR               *dir;
    size_t             len;
    unsigned           cap;
    struct stat        st;
    struct dirent     *de;
    iw_spool_entry_t  *l, *nl;

    dir = opendir(path);
    if (dir == NULL) {
        return -1;
    }

    fd = dirfd(dir);
    l = NULL;
    cap = 0;
    *n = 0;

    while ((de = readdir(dir)) != NULL && *n < IW_SPOOL_SCAN_MAX) {
        len = strlen(de->d_name);

        if (de->d_name[0] == '.' || len <= 5
            || strcmp(de->d_name + len - 5, ".json") != 0)
        {
            continue;
        }

        if (fstatat(fd, de->d_name, &st, 0) == -1 || !S_ISREG(st.st_mode)) {
            continue;
        }

        if (*n == cap) {
            cap = cap ? cap * 2 : 32;

            nl = realloc(l, cap * sizeof(iw_spool_entry_t));
            if (nl == NULL) {
                free(l);
                closedir(dir);
                errno = ENOMEM;
                return -1;
            }

            l = nl;
        }

        memcpy(l[*n].name, de->d_name, len + 1);
        l[*n].mtime = (int64_t) st.st_mtim.tv_sec * 1000
                      + st.st_mtim.tv_nsec / 1000000;
        (*n)++;
    }

    closedir(dir);

    if (*n != 0) {
        qsort(l, *n, sizeof(iw_spool_entry_t), iw_spool_entry_cmp);
    }

    *list = l;

    return 0;
}


static int
iw_spool_entry_cmp(const void *a, const void *b)
{
    const iw_spool_entry_t  *ea = a, *eb = b;

    if (ea->mtime != eb->mtime) {
        return ea->mtime < eb->mtime ? -1 : 1;
    }

    return strcmp(ea->name, eb->name);
}


static int
iw_spool_stem(const char *name, char *stem, size_t cap)
{
    size_t  len;

    len = strlen(name);
    if (len <= 5 || len - 5 >= cap) {
        return -1;
    }

    memcpy(stem, name, len - 5);
    stem[len - 5] = '\0';

    return 0;
}


/*
 * Removes the claim directory of a dead worker: its progress and temp
 * files go, a job that could not be requeued keeps the directory.
 */

static void
iw_spool_sweep(const char *claim)
{
    int             fd;
    DIR            *dir;
    size_t          len;
    struct dirent  *de;

    dir = opendir(claim);
    if (dir == NULL) {
        return;
    }

    fd = dirfd(dir);

    while ((de = readdir(dir)) != NULL) {
        len = strlen(de->d_name);

        if (de->d_name[0] == '.'
            || (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0))
        {
            continue;
        }

        (void) unlinkat(fd, de->d_name, 0);
    }

    closedir(dir);

    (void) rmdir(claim);
}


/* joins up to four parts with "/"; NULL ends the list */

static int
iw_spool_path(char *buf, const char *a, const char *b, const char *c,
    const char *d)
{
    int  n;

    if (b == NULL) {
        n = snprintf(buf, PATH_MAX, "%s", a);
    } else if (c == NULL) {
        n = snprintf(buf, PATH_MAX, "%s/%s", a, b);
    } else if (d == NULL) {
        n = snprintf(buf, PATH_MAX, "%s/%s/%s", a, b, c);
    } else {
        n = snprintf(buf, PATH_MAX, "%s/%s/%s/%s", a, b, c, d);
    }

    if (n < 0 || n >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }

    return 0;
}
