
/*
 * Copyright (C) nginx video ingest developers
 *
 * Worker metrics: counters shared by the master and its processes (a
 * MAP_SHARED mapping made before the first fork, updated with atomics)
 * and their Prometheus text format, which the master writes to the
 * metrics file for nginx (or a textfile collector) to serve. Pure C.
 */


#ifndef _IW_METRICS_H_INCLUDED_
#define _IW_METRICS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* job duration buckets, seconds: 1 5 15 60 300 900 3600 +Inf */
#define IW_METRICS_BUCKETS  8


typedef struct {
    uint64_t             done;
    uint64_t             failed;
    uint64_t             retried;
    uint64_t             released;
    uint64_t             reclaimed;
    uint64_t             duration[IW_METRICS_BUCKETS];
    uint64_t             duration_ms;   /* sum over done jobs */
    uint64_t             media_ms;      /* sum over done jobs */
    uint64_t             last_speed;    /* x realtime, in 1/1000 */
    uint64_t             live_streams;  /* now */
    uint64_t             live_parts;
    uint64_t             live_discontinuities;
} iw_stats_t;


/* the shared counters, NULL until the master maps them */
extern iw_stats_t  *iw_stats;


void iw_stats_done(iw_stats_t *s, uint64_t elapsed_ms, uint64_t media_ms);
void iw_stats_add(uint64_t *counter, int64_t n);

/* the Prometheus text; 0 when cap is too small */
size_t iw_metrics_format(const iw_stats_t *s, unsigned waiting,
    unsigned running, unsigned workers, char *out, size_t cap);


#endif /* _IW_METRICS_H_INCLUDED_ */
