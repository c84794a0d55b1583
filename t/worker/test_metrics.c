
/*
 * Copyright (C) nginx video ingest developers
 *
 * The worker's counters and their Prometheus text.
 */


#include "test.h"

#include "iw_metrics.h"


static void test_counters(void);
static void test_format(void);
static void test_overflow(void);
static void test_main(void);


static char  out[8192];


static void
test_counters(void)
{
    iw_stats_t  s;

    memset(&s, 0, sizeof(s));

    iw_stats_done(&s, 800, 4000);       /* 1 s bucket, 5x */
    iw_stats_done(&s, 1000, 1000);      /* 1 s bucket (le is inclusive) */
    iw_stats_done(&s, 1001, 500);       /* 5 s bucket */
    iw_stats_done(&s, 7200000, 0);      /* +Inf */

    CHECK_U64(s.done, 4);
    CHECK_U64(s.duration[0], 2);
    CHECK_U64(s.duration[1], 1);
    CHECK_U64(s.duration[7], 1);
    CHECK_U64(s.duration_ms, 800 + 1000 + 1001 + 7200000);
    CHECK_U64(s.media_ms, 5500);
    CHECK_U64(s.last_speed, 0);

    iw_stats_done(&s, 0, 100);
    CHECK_U64(s.last_speed, 0);
    iw_stats_done(&s, 3000, 12345);
    CHECK_U64(s.last_speed, 4115);

    iw_stats_add(&s.live_streams, 1);
    iw_stats_add(&s.live_streams, 1);
    iw_stats_add(&s.live_streams, -1);
    CHECK_U64(s.live_streams, 1);
}


static void
test_format(void)
{
    size_t      n;
    iw_stats_t  s;

    memset(&s, 0, sizeof(s));

    iw_stats_done(&s, 2500, 10000);
    iw_stats_done(&s, 400, 1000);
    s.failed = 3;
    s.retried = 5;
    s.released = 1;
    s.reclaimed = 2;
    s.live_parts = 77;
    s.live_discontinuities = 4;

    n = iw_metrics_format(&s, 4, 2, 3, out, sizeof(out));
    CHECK(n != 0 && n == strlen(out));

    CHECK(strstr(out, "# TYPE ingest_transcode_queue_depth gauge\n"
                      "ingest_transcode_queue_depth 6\n"
                      "ingest_transcode_queue_depth{state=\"waiting\"} 4\n"
                      "ingest_transcode_queue_depth{state=\"running\"} 2\n")
          != NULL);
    CHECK(strstr(out, "ingest_transcode_workers 3\n") != NULL);
    CHECK(strstr(out, "ingest_transcode_jobs_total{outcome=\"done\"} 2\n"
                      "ingest_transcode_jobs_total{outcome=\"failed\"} 3\n"
                      "ingest_transcode_jobs_total{outcome=\"retried\"} 5\n"
                      "ingest_transcode_jobs_total{outcome=\"released\"} 1\n"
                      "ingest_transcode_jobs_total{outcome=\"reclaimed\"} "
                      "2\n") != NULL);

    /* cumulative buckets */
    CHECK(strstr(out, "_bucket{le=\"1\"} 1\n"
                      "ingest_transcode_job_duration_seconds_bucket"
                      "{le=\"5\"} 2\n") != NULL);
    CHECK(strstr(out, "_bucket{le=\"+Inf\"} 2\n"
                      "ingest_transcode_job_duration_seconds_sum 2.900\n"
                      "ingest_transcode_job_duration_seconds_count 2\n")
          != NULL);
    CHECK(strstr(out, "ingest_transcode_media_seconds_total 11.000\n")
          != NULL);
    CHECK(strstr(out, "ingest_transcode_speed_ratio 2.500\n") != NULL);
    CHECK(strstr(out, "ingest_live_streams 0\n") != NULL);
    CHECK(strstr(out, "ingest_live_parts_total 77\n") != NULL);
    CHECK(strstr(out, "# TYPE ingest_live_discontinuities_total counter\n"
                      "ingest_live_discontinuities_total 4\n") != NULL);

    /* every line is a comment or "name[{labels}] value" */
    CHECK(out[n - 1] == '\n');
}


static void
test_overflow(void)
{
    size_t      n, i;
    iw_stats_t  s;

    memset(&s, 0, sizeof(s));

    n = iw_metrics_format(&s, 0, 0, 1, out, sizeof(out));
    CHECK(n != 0);

    for (i = 0; i <= n; i++) {
        if (iw_metrics_format(&s, 0, 0, 1, out, i) != 0) {
            break;
        }
    }

    CHECK_INT(i, n + 1);
}


static void
test_main(void)
{
    test_counters();
    test_format();
    test_overflow();
}


TEST_MAIN("test_metrics", test_main)
