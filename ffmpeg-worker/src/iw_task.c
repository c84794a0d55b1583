
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_task.h"
#include "iw_files.h"
#include "iw_log.h"
#include "iw_metrics.h"
#include "iw_notify.h"
#include "iw_process.h"
#include "iw_vod.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


typedef struct {
    iw_spool_t          *sp;
    iw_job_t            *job;
    int64_t              started;       /* monotonic ms */
    int64_t              last_beat;
    int64_t              last_report;
    char                 progress[PATH_MAX];
    unsigned             lost:1;
} iw_task_t;


static int iw_task_tick(void *data, int64_t done, int64_t total);
static void iw_task_progress(iw_task_t *t, int64_t done, int64_t total,
    int64_t now);
static int iw_task_result(iw_spool_t *sp, iw_job_t *job,
    const iw_vod_job_t *vod, int64_t elapsed);
static void iw_task_sync_dir(const char *path);


void
iw_task_run(iw_spool_t *sp, iw_job_t *job)
{
    int                  rc;
    char                 tmp[PATH_MAX], final[PATH_MAX];
    char                 parent[PATH_MAX], reason[3 * PATH_MAX];
    int64_t              elapsed;
    iw_task_t            t;
    struct stat          st;
    iw_vod_job_t         vod;
    const iw_profile_t  *prof;

    iw_log(IW_LOG_NOTICE, "job \"%s\": claimed (attempt %u), source \"%s\", "
           "profile \"%s\"", job->id, job->attempts + 1, job->source,
           job->profile);

    memset(&t, 0, sizeof(t));
    t.sp = sp;
    t.job = job;
    t.started = iw_monotonic_ms();
    t.last_beat = t.started;
    t.last_report = t.started;

    snprintf(t.progress, sizeof(t.progress), "%s/claimed/%s/%s.progress",
             sp->conf->spool, sp->worker, job->id);

    prof = iw_conf_profile(sp->conf, job->profile);
    if (prof == NULL) {
        snprintf(reason, sizeof(reason), "unknown profile \"%s\"",
                 job->profile);
        (void) iw_spool_fail(sp, job, reason);
        return;
    }

    if (iw_spool_output_paths(sp, job, tmp, final, sizeof(tmp)) != 0) {
        (void) iw_spool_fail(sp, job, "output path too long");
        return;
    }

    /* exactly once: a run that died after the rename left it complete */

    if (stat(final, &st) == 0) {
        iw_log(IW_LOG_NOTICE, "job \"%s\": output \"%s\" is already "
               "complete", job->id, final);
        (void) iw_spool_done(sp, job);
        return;
    }

    if (iw_rmtree(tmp) != 0 || iw_mkdir_p(tmp, 0755) != 0) {
        snprintf(reason, sizeof(reason), "cannot create \"%s\": %s", tmp,
                 strerror(errno));
        (void) iw_spool_retry(sp, job, reason, iw_now_ms());
        return;
    }

    memset(&vod, 0, sizeof(vod));
    vod.prof = prof;
    vod.source = job->source;
    vod.outdir = tmp;
    vod.tick = iw_task_tick;
    vod.data = &t;

    rc = iw_vod_run(&vod);

    (void) unlink(t.progress);

    if (rc != IW_VOD_OK) {
        (void) iw_rmtree(tmp);

        if (t.lost) {
            iw_log(IW_LOG_WARN, "job \"%s\": claim lost, left to its new "
                   "owner", job->id);
            return;
        }

        if (rc == IW_VOD_ABORTED) {
            iw_log(IW_LOG_NOTICE, "job \"%s\": stopped, released",
                   job->id);
            (void) iw_spool_release(sp, job);
            return;
        }

        if (vod.permanent) {
            (void) iw_spool_fail(sp, job, vod.err);
            return;
        }

        (void) iw_spool_retry(sp, job, vod.err, iw_now_ms());
        return;
    }

    /* everything is written: publish it with one rename */

    if (rename(tmp, final) == -1) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
            iw_log(IW_LOG_NOTICE, "job \"%s\": another run published "
                   "\"%s\" first", job->id, final);
            (void) iw_rmtree(tmp);

        } else {
            snprintf(reason, sizeof(reason), "cannot rename \"%s\" to "
                     "\"%s\": %s", tmp, final, strerror(errno));
            (void) iw_rmtree(tmp);
            (void) iw_spool_retry(sp, job, reason, iw_now_ms());
            return;
        }
    }

    snprintf(parent, sizeof(parent), "%s", final);
    *strrchr(parent, '/') = '\0';
    iw_task_sync_dir(parent);

    elapsed = iw_monotonic_ms() - t.started;

    if (iw_spool_heartbeat(sp, job) != 0) {
        iw_log(IW_LOG_WARN, "job \"%s\": claim lost, its new owner will "
               "find the output complete", job->id);
        return;
    }

    if (iw_task_result(sp, job, &vod, elapsed) != 0) {
        iw_log(IW_LOG_WARN, "job \"%s\": cannot record the result",
               job->id);
    }

    snprintf(parent, sizeof(parent), "%s/master.m3u8", job->id);
    (void) iw_notify_queue(sp->conf, job->id, job->root, "job.done", parent,
                           NULL);

    iw_log(IW_LOG_NOTICE, "job \"%s\": done in %lld ms, %s, %u video "
           "rendition(s)%s, %.3f s of media, %.2fx realtime", job->id,
           (long long) elapsed,
           vod.mode == IW_VOD_PASSTHROUGH ? "pass-through" : "transcoded",
           vod.nvideo, vod.audio ? " + audio" : "", vod.duration / 1e6,
           elapsed > 0 ? vod.duration / 1e3 / elapsed : 0.0);

    if (iw_spool_done(sp, job) == 0 && iw_stats != NULL) {
        iw_stats_done(iw_stats, (uint64_t) elapsed,
                      (uint64_t) (vod.duration / 1000));
    }
}


static int
iw_task_tick(void *data, int64_t done, int64_t total)
{
    int64_t     now;
    iw_task_t  *t;

    t = data;

    if (iw_terminate) {
        return 1;
    }

    now = iw_monotonic_ms();

    if (now - t->last_beat >= t->sp->conf->heartbeat_ms) {
        t->last_beat = now;

        if (iw_spool_heartbeat(t->sp, t->job) != 0) {
            /* reclaimed by someone else: stop, they own it now */
            iw_log(IW_LOG_ERR, "job \"%s\": lost the claim", t->job->id);
            t->lost = 1;
            return 1;
        }
    }

    if (now - t->last_report >= t->sp->conf->progress_ms) {
        t->last_report = now;
        iw_task_progress(t, done, total, now);
    }

    return 0;
}


static void
iw_task_progress(iw_task_t *t, int64_t done, int64_t total, int64_t now)
{
    int     n;
    char    text[512];
    double  percent, speed;

    percent = total > 0 ? 100.0 * done / total : 0;
    if (percent > 100) {
        percent = 100;
    }

    speed = now > t->started ? done / 1e3 / (now - t->started) : 0;

    iw_log(IW_LOG_INFO, "job \"%s\": %.1f%% %.2fx realtime", t->job->id,
           percent, speed);

    n = snprintf(text, sizeof(text),
                 "{\"id\":\"%s\",\"percent\":%.1f,\"speed\":%.3f,"
                 "\"media_ms\":%lld,\"duration_ms\":%lld,"
                 "\"updated\":%lld}\n", t->job->id, percent, speed,
                 (long long) (done / 1000), (long long) (total / 1000),
                 (long long) iw_now_ms());

    if (n > 0 && (size_t) n < sizeof(text)) {
        (void) iw_file_write(t->progress, text, n, 0);
    }
}


/* the result goes into the job that lands in done/ */

static int
iw_task_result(iw_spool_t *sp, iw_job_t *job, const iw_vod_job_t *vod,
    int64_t elapsed)
{
    json_t  *res;

    res = json_pack("{s:s,s:i,s:b,s:I,s:I}",
                    "mode", vod->mode == IW_VOD_PASSTHROUGH
                            ? "passthrough" : "transcode",
                    "video_renditions", (int) vod->nvideo,
                    "audio", (int) vod->audio,
                    "media_ms", (json_int_t) (vod->duration / 1000),
                    "elapsed_ms", (json_int_t) elapsed);

    if (res == NULL || json_object_set_new(job->root, "result", res) != 0) {
        return -1;
    }

    return iw_spool_update(sp, job);
}


static void
iw_task_sync_dir(const char *path)
{
    int  fd;

    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd != -1) {
        (void) fsync(fd);
        close(fd);
    }
}
