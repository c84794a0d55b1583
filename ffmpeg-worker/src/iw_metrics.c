
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_metrics.h"

#include <stdarg.h>
#include <stdio.h>


typedef struct {
    char                *pos;
    char                *end;
    unsigned             overflow:1;
} iw_metrics_buf_t;


static void iw_metrics_printf(iw_metrics_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static uint64_t iw_metrics_load(const uint64_t *v);


iw_stats_t  *iw_stats;


static const uint64_t  iw_metrics_bounds[IW_METRICS_BUCKETS - 1] = {
    1000, 5000, 15000, 60000, 300000, 900000, 3600000
};

static const char  *iw_metrics_le[IW_METRICS_BUCKETS] = {
    "1", "5", "15", "60", "300", "900", "3600", "+Inf"
};


void
iw_stats_done(iw_stats_t *s, uint64_t elapsed_ms, uint64_t media_ms)
{
    unsigned  i;

    for (i = 0; i < IW_METRICS_BUCKETS - 1; i++) {
        if (elapsed_ms <= iw_metrics_bounds[i]) {
            break;
        }
    }

    iw_stats_add(&s->duration[i], 1);
    iw_stats_add(&s->duration_ms, (int64_t) elapsed_ms);
    iw_stats_add(&s->media_ms, (int64_t) media_ms);
    iw_stats_add(&s->done, 1);

    __atomic_store_n(&s->last_speed,
                     elapsed_ms ? media_ms * 1000 / elapsed_ms : 0,
                     __ATOMIC_RELAXED);
}


void
iw_stats_add(uint64_t *counter, int64_t n)
{
    __atomic_add_fetch(counter, (uint64_t) n, __ATOMIC_RELAXED);
}


size_t
iw_metrics_format(const iw_stats_t *s, unsigned waiting, unsigned running,
    unsigned workers, char *out, size_t cap)
{
    uint64_t          cum, v;
    unsigned          i;
    iw_metrics_buf_t  b;

    b.pos = out;
    b.end = out + cap;
    b.overflow = 0;

    iw_metrics_printf(&b,
        "# HELP ingest_transcode_queue_depth Jobs in the spool queue.\n"
        "# TYPE ingest_transcode_queue_depth gauge\n"
        "ingest_transcode_queue_depth %u\n"
        "ingest_transcode_queue_depth{state=\"waiting\"} %u\n"
        "ingest_transcode_queue_depth{state=\"running\"} %u\n"
        "# HELP ingest_transcode_workers Job processes configured.\n"
        "# TYPE ingest_transcode_workers gauge\n"
        "ingest_transcode_workers %u\n",
        waiting + running, waiting, running, workers);

    iw_metrics_printf(&b,
        "# HELP ingest_transcode_jobs_total Jobs by outcome.\n"
        "# TYPE ingest_transcode_jobs_total counter\n"
        "ingest_transcode_jobs_total{outcome=\"done\"} %llu\n"
        "ingest_transcode_jobs_total{outcome=\"failed\"} %llu\n"
        "ingest_transcode_jobs_total{outcome=\"retried\"} %llu\n"
        "ingest_transcode_jobs_total{outcome=\"released\"} %llu\n"
        "ingest_transcode_jobs_total{outcome=\"reclaimed\"} %llu\n",
        (unsigned long long) iw_metrics_load(&s->done),
        (unsigned long long) iw_metrics_load(&s->failed),
        (unsigned long long) iw_metrics_load(&s->retried),
        (unsigned long long) iw_metrics_load(&s->released),
        (unsigned long long) iw_metrics_load(&s->reclaimed));

    iw_metrics_printf(&b,
        "# HELP ingest_transcode_job_duration_seconds Wall time of done "
        "jobs.\n"
        "# TYPE ingest_transcode_job_duration_seconds histogram\n");

    cum = 0;

    for (i = 0; i < IW_METRICS_BUCKETS; i++) {
        cum += iw_metrics_load(&s->duration[i]);

        iw_metrics_printf(&b,
            "ingest_transcode_job_duration_seconds_bucket{le=\"%s\"} %llu\n",
            iw_metrics_le[i], (unsigned long long) cum);
    }

    v = iw_metrics_load(&s->duration_ms);

    iw_metrics_printf(&b,
        "ingest_transcode_job_duration_seconds_sum %llu.%03llu\n"
        "ingest_transcode_job_duration_seconds_count %llu\n",
        (unsigned long long) (v / 1000), (unsigned long long) (v % 1000),
        (unsigned long long) cum);

    v = iw_metrics_load(&s->media_ms);

    iw_metrics_printf(&b,
        "# HELP ingest_transcode_media_seconds_total Media time of done "
        "jobs.\n"
        "# TYPE ingest_transcode_media_seconds_total counter\n"
        "ingest_transcode_media_seconds_total %llu.%03llu\n",
        (unsigned long long) (v / 1000), (unsigned long long) (v % 1000));

    v = iw_metrics_load(&s->last_speed);

    iw_metrics_printf(&b,
        "# HELP ingest_transcode_speed_ratio Encode speed of the last done "
        "job (x realtime).\n"
        "# TYPE ingest_transcode_speed_ratio gauge\n"
        "ingest_transcode_speed_ratio %llu.%03llu\n",
        (unsigned long long) (v / 1000), (unsigned long long) (v % 1000));

    iw_metrics_printf(&b,
        "# HELP ingest_live_streams Live streams being packaged.\n"
        "# TYPE ingest_live_streams gauge\n"
        "ingest_live_streams %llu\n"
        "# HELP ingest_live_parts_total LL-HLS parts written.\n"
        "# TYPE ingest_live_parts_total counter\n"
        "ingest_live_parts_total %llu\n"
        "# HELP ingest_live_discontinuities_total Jumps of live input "
        "timestamps, re-based.\n"
        "# TYPE ingest_live_discontinuities_total counter\n"
        "ingest_live_discontinuities_total %llu\n",
        (unsigned long long) iw_metrics_load(&s->live_streams),
        (unsigned long long) iw_metrics_load(&s->live_parts),
        (unsigned long long) iw_metrics_load(&s->live_discontinuities));

    if (b.overflow) {
        return 0;
    }

    return b.pos - out;
}


static uint64_t
iw_metrics_load(const uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}


static void
iw_metrics_printf(iw_metrics_buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (b->overflow) {
        return;
    }

    va_start(args, fmt);
    n = vsnprintf(b->pos, b->end - b->pos, fmt, args);
    va_end(args);

    if (n < 0 || n >= b->end - b->pos) {
        b->overflow = 1;
        return;
    }

    b->pos += n;
}
