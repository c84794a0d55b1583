
/*
 * Copyright (C) nginx video ingest developers
 *
 * The worker's configuration parser and its value syntaxes.
 */


#include "test.h"

#include "iw_conf.h"


static void test_values(void);
static void test_defaults(void);
static void test_parse(void);
static void test_errors(void);
static void test_live(void);
static void test_main(void);


static iw_conf_t  conf;


static int
parse(const char *text, char *err, size_t errlen)
{
    iw_conf_init(&conf);

    return iw_conf_parse(&conf, text, strlen(text), err, errlen);
}


static void
test_values(void)
{
    unsigned  ms, f;
    uint64_t  b;

    CHECK(iw_parse_msec("500ms", &ms) == 0 && ms == 500);
    CHECK(iw_parse_msec("2s", &ms) == 0 && ms == 2000);
    CHECK(iw_parse_msec("2", &ms) == 0 && ms == 2000);
    CHECK(iw_parse_msec("0.333s", &ms) == 0 && ms == 333);
    CHECK(iw_parse_msec("1.5", &ms) == 0 && ms == 1500);
    CHECK(iw_parse_msec("3m", &ms) == 0 && ms == 180000);
    CHECK(iw_parse_msec("1h", &ms) == 0 && ms == 3600000);
    CHECK(iw_parse_msec("", &ms) == -1);
    CHECK(iw_parse_msec("s", &ms) == -1);
    CHECK(iw_parse_msec("1.5ms", &ms) == -1);
    CHECK(iw_parse_msec("1.s", &ms) == -1);
    CHECK(iw_parse_msec("-1", &ms) == -1);
    CHECK(iw_parse_msec("5d", &ms) == -1);
    CHECK(iw_parse_msec("99999999999", &ms) == -1);
    CHECK(iw_parse_msec("1000000h", &ms) == -1);

    CHECK(iw_parse_bitrate("128k", &b) == 0 && b == 128000);
    CHECK(iw_parse_bitrate("1.5M", &b) == 0 && b == 1500000);
    CHECK(iw_parse_bitrate("3m", &b) == 0 && b == 3000000);
    CHECK(iw_parse_bitrate("800000", &b) == 0 && b == 800000);
    CHECK(iw_parse_bitrate("1.5", &b) == -1);
    CHECK(iw_parse_bitrate("12G", &b) == -1);
    CHECK(iw_parse_bitrate("k", &b) == -1);

    CHECK(iw_parse_flag("on", &f) == 0 && f == 1);
    CHECK(iw_parse_flag("off", &f) == 0 && f == 0);
    CHECK(iw_parse_flag("yes", &f) == -1);
}


static void
test_defaults(void)
{
    char                 err[256];
    const iw_profile_t  *p;

    iw_conf_init(&conf);

    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), 0);
    CHECK_INT(conf.workers, 1);

    p = iw_conf_profile(&conf, "default");
    CHECK(p != NULL);
    if (p == NULL) {
        return;
    }

    /* the guide's ladder */
    CHECK_INT(p->nrungs, 3);
    CHECK_INT(p->rungs[0].height, 360);
    CHECK(p->rungs[0].bitrate >= 400000 && p->rungs[0].maxrate <= 800000);
    CHECK_INT(p->rungs[1].height, 720);
    CHECK(p->rungs[1].bitrate >= 1500000 && p->rungs[1].maxrate <= 3000000);
    CHECK_INT(p->rungs[2].height, 1080);
    CHECK(p->rungs[2].bitrate >= 3000000 && p->rungs[2].maxrate <= 6000000);
    CHECK_INT(p->audio_bitrate, 128000);
    CHECK_INT(p->audio_rate, 48000);
    CHECK_INT(p->audio_channels, 2);
    CHECK(p->segment_ms >= 2000 && p->segment_ms <= 6000);

    CHECK(iw_conf_profile(&conf, "nope") == NULL);
}


static void
test_parse(void)
{
    char                 err[256];
    const iw_profile_t  *p;

    CHECK_INT(parse("# a comment\n"
                    "workers 3;   spool /var/spool/x;\n"
                    "output \"/srv/hls dir\"; # trailing\n"
                    "pid /run/w.pid; syslog on; log_level debug;\n"
                    "lease_time 90s; heartbeat 15s; reclaim_interval 1m;\n"
                    "max_attempts 3; retry_base 2s; retry_max 5m;\n"
                    "poll_interval 250ms;\n"
                    "profile fast {\n"
                    "    preset ultrafast;\n"
                    "    segment_duration 2s;\n"
                    "    rung 720 2M 3M;\n"
                    "    rung 240 300k 400k;\n"
                    "    audio_bitrate 96k; audio_channels 1;\n"
                    "    passthrough off;\n"
                    "}\n", err, sizeof(err)), 0);

    CHECK_INT(conf.workers, 3);
    CHECK(strcmp(conf.spool, "/var/spool/x") == 0);
    CHECK(strcmp(conf.output, "/srv/hls dir") == 0);
    CHECK(strcmp(conf.pid, "/run/w.pid") == 0);
    CHECK_INT(conf.syslog, 1);
    CHECK_INT(conf.log_level, IW_LOG_DEBUG);
    CHECK_INT(conf.lease_ms, 90000);
    CHECK_INT(conf.heartbeat_ms, 15000);
    CHECK_INT(conf.reclaim_ms, 60000);
    CHECK_INT(conf.max_attempts, 3);
    CHECK_INT(conf.retry_base_ms, 2000);
    CHECK_INT(conf.retry_max_ms, 300000);
    CHECK_INT(conf.poll_ms, 250);
    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), 0);

    /* the default profile stays; the new one is sorted by height */

    CHECK(iw_conf_profile(&conf, "default") != NULL);

    p = iw_conf_profile(&conf, "fast");
    CHECK(p != NULL);
    if (p == NULL) {
        return;
    }

    CHECK(strcmp(p->preset, "ultrafast") == 0);
    CHECK_INT(p->segment_ms, 2000);
    CHECK_INT(p->nrungs, 2);
    CHECK_INT(p->rungs[0].height, 240);
    CHECK_INT(p->rungs[0].bitrate, 300000);
    CHECK_INT(p->rungs[0].maxrate, 400000);
    CHECK_INT(p->rungs[1].height, 720);
    CHECK_INT(p->audio_bitrate, 96000);
    CHECK_INT(p->audio_channels, 1);
    CHECK_INT(p->passthrough, 0);

    /* a profile block without rungs keeps the default ladder */

    CHECK_INT(parse("profile default { preset medium; }", err,
                    sizeof(err)), 0);
    p = iw_conf_profile(&conf, "default");
    CHECK(p != NULL && p->nrungs == 3 && strcmp(p->preset, "medium") == 0);
    CHECK_INT(conf.nprofiles, 1);

    CHECK_INT(parse("", err, sizeof(err)), 0);
    CHECK_INT(parse("\n\n  # nothing\n", err, sizeof(err)), 0);

    /*
     * x264 settings are kept as given (libx264 judges them in "-t"),
     * with the lines they came from for its verdict
     */

    p = iw_conf_profile(&conf, "default");
    CHECK(p != NULL && p->tune[0] == '\0' && p->h264_profile[0] == '\0');
    CHECK(p != NULL && p->lines.block == 0 && p->rungs[0].line == 0);

    CHECK_INT(parse("workers 1;\n"
                    "profile x {\n"
                    "    preset slow;\n"
                    "    tune film; h264_profile main;\n"
                    "    rung 480 1M 2M;\n"
                    "    rung 240 300k 400k;\n"
                    "    audio_rate 44100;\n"
                    "    audio_bitrate 64k; audio_channels 1;\n"
                    "}\n", err, sizeof(err)), 0);
    p = iw_conf_profile(&conf, "x");
    CHECK(p != NULL);
    if (p == NULL) {
        return;
    }

    CHECK(strcmp(p->tune, "film") == 0);
    CHECK(strcmp(p->h264_profile, "main") == 0);
    CHECK_INT(p->lines.block, 2);
    CHECK_INT(p->lines.preset, 3);
    CHECK_INT(p->lines.tune, 4);
    CHECK_INT(p->lines.h264_profile, 4);
    CHECK_INT(p->lines.audio_rate, 7);
    CHECK_INT(p->lines.audio_bitrate, 8);
    CHECK_INT(p->lines.audio_channels, 8);

    /* sorted by height, each rung keeps its own line */
    CHECK_INT(p->rungs[0].height, 240);
    CHECK_INT(p->rungs[0].line, 6);
    CHECK_INT(p->rungs[1].line, 5);

    CHECK_INT(parse("profile x { tune film; tune off; }", err, sizeof(err)),
              0);
    p = iw_conf_profile(&conf, "x");
    CHECK(p != NULL && p->tune[0] == '\0');
}


static void
test_errors(void)
{
    char  err[256];

    CHECK_INT(parse("workers 0;", err, sizeof(err)), -1);
    CHECK(strcmp(err, "line 1: invalid value \"0\" in \"workers\"") == 0);

    CHECK_INT(parse("\nworkers 2", err, sizeof(err)), -1);
    CHECK(strstr(err, "line 2: unexpected end of file") != NULL);

    CHECK_INT(parse("workers 2 3;", err, sizeof(err)), -1);
    CHECK(strstr(err, "invalid number of arguments") != NULL);

    CHECK_INT(parse("nonsense 1;", err, sizeof(err)), -1);
    CHECK(strcmp(err, "line 1: unknown directive \"nonsense\"") == 0);

    CHECK_INT(parse("workers 1 {", err, sizeof(err)), -1);
    CHECK_INT(parse("}", err, sizeof(err)), -1);
    CHECK_INT(parse(";", err, sizeof(err)), -1);
    CHECK_INT(parse("profile { }", err, sizeof(err)), -1);
    CHECK_INT(parse("profile a;", err, sizeof(err)), -1);
    CHECK_INT(parse("profile a { preset fast;", err, sizeof(err)), -1);
    CHECK(strstr(err, "expecting \"}\"") != NULL);
    CHECK_INT(parse("profile a { profile b { } }", err, sizeof(err)), -1);
    CHECK_INT(parse("profile a { rung 720 3M 2M; }", err, sizeof(err)), -1);
    CHECK_INT(parse("profile a { rung 721 1M 2M; }", err, sizeof(err)), -1);
    CHECK_INT(parse("profile a { rung 720 1M; }", err, sizeof(err)), -1);
    CHECK_INT(parse("profile a { rung 720 1M 2M; rung 720 1M 2M; }", err,
                    sizeof(err)), -1);
    CHECK(strstr(err, "two rungs of 720p") != NULL);
    CHECK_INT(parse("profile a { segment_duration 100ms; }", err,
                    sizeof(err)), -1);

    /* live parts are one setting for all streams, not a profile's */
    CHECK_INT(parse("workers 1;\nprofile a {\n  part_duration 300ms;\n}",
                    err, sizeof(err)), -1);
    CHECK(strstr(err, "line 3: \"part_duration\" is not a profile "
                 "directive") != NULL);
    CHECK(strstr(err, "\"live_part_duration\"") != NULL);
    CHECK_INT(parse("profile a { audio_channels 6; }", err, sizeof(err)),
              -1);

    /* rates x264 cannot hold (whole kbit/s, a VBV of 2 x maxrate) */
    CHECK_INT(parse("profile a { rung 360 15k 20k; }", err, sizeof(err)),
              -1);
    CHECK_INT(parse("profile a { rung 360 16k 16k; }", err, sizeof(err)),
              0);
    CHECK_INT(parse("profile a { rung 360 1M 1001M; }", err, sizeof(err)),
              -1);
    CHECK_INT(parse("profile a { rung 360 1M 1000M; }", err, sizeof(err)),
              0);
    CHECK_INT(parse("profile a { tune; }", err, sizeof(err)), -1);
    CHECK_INT(parse("profile a { h264_profile \"\"; }", err, sizeof(err)),
              -1);
    CHECK_INT(parse("profile a { unknown 1; }", err, sizeof(err)), -1);
    CHECK_INT(parse("output \"/unterminated;", err, sizeof(err)), -1);
    CHECK_INT(parse("lease_time 0;", err, sizeof(err)), -1);
    CHECK_INT(parse("syslog maybe;", err, sizeof(err)), -1);

    /* checks across directives */

    CHECK_INT(parse("lease_time 10s; heartbeat 6s;", err, sizeof(err)), 0);
    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), -1);

    CHECK_INT(parse("spool relative/path;", err, sizeof(err)), 0);
    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), -1);

    CHECK_INT(parse("retry_base 10s; retry_max 1s;", err, sizeof(err)), 0);
    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), -1);
}


static void
test_live(void)
{
    char  err[256];

    iw_conf_init(&conf);

    /* off by default; the guide's 1 s segments and ~1/3 s parts */
    CHECK(conf.live_socket[0] == '\0');
    CHECK_INT(conf.live_segment_ms, 1000);
    CHECK(conf.live_part_ms >= 200 && conf.live_part_ms <= 400);

    CHECK_INT(parse("live_socket /run/iw/live.sock; live_output /srv/live;"
                    "live_workers 3; live_window 20;"
                    "live_segment_duration 2s; live_part_duration 250ms;",
                    err, sizeof(err)), 0);
    CHECK(strcmp(conf.live_socket, "/run/iw/live.sock") == 0);
    CHECK(strcmp(conf.live_output, "/srv/live") == 0);
    CHECK_INT(conf.live_workers, 3);
    CHECK_INT(conf.live_window, 20);
    CHECK_INT(conf.live_segment_ms, 2000);
    CHECK_INT(conf.live_part_ms, 250);
    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), 0);

    CHECK_INT(parse("live_socket /x; live_socket off;", err, sizeof(err)),
              0);
    CHECK(conf.live_socket[0] == '\0');

    CHECK_INT(parse("live_window 2;", err, sizeof(err)), -1);
    CHECK_INT(parse("live_part_duration 50ms;", err, sizeof(err)), -1);
    CHECK_INT(parse("live_segment_duration 20s;", err, sizeof(err)), -1);

    CHECK_INT(parse("live_socket relative.sock;", err, sizeof(err)), 0);
    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), -1);

    /* the live ladder: off, the default profile's rungs when on */

    iw_conf_init(&conf);
    CHECK_INT(conf.live_transcode, 0);
    CHECK(strcmp(conf.live_profile, "default") == 0);

    CHECK_INT(parse("live_transcode on;\nlive_profile hd;\n"
                    "profile hd { rung 720 2M 3M; }\n", err, sizeof(err)),
              0);
    CHECK_INT(conf.live_transcode, 1);
    CHECK(strcmp(conf.live_profile, "hd") == 0);
    CHECK_INT(conf.live_transcode_line, 1);
    CHECK_INT(conf.live_profile_line, 2);

    CHECK_INT(parse("live_transcode on;\n\nlive_profile nope;\n", err,
                    sizeof(err)), -1);
    CHECK(strcmp(err, "line 3: \"live_profile\" names no profile: "
                 "\"nope\"") == 0);
    CHECK_INT(parse("live_transcode maybe;", err, sizeof(err)), -1);

    CHECK_INT(parse("live_segment_duration 1s; live_part_duration 600ms;",
                    err, sizeof(err)), 0);
    CHECK_INT(iw_conf_check(&conf, err, sizeof(err)), -1);

    /* the queue and webhooks */

    iw_conf_init(&conf);
    CHECK_INT(conf.redis, 0);
    CHECK_INT(conf.webhooks, 1);
    CHECK_INT(conf.webhook_attempts, 5);

    CHECK_INT(parse("queue redis; redis_address unix:/run/r.sock;"
                    "redis_stream s; redis_group g; redis_dead d;"
                    "webhooks off; webhook_url https://h/x;"
                    "webhook_secret \"a b\"; webhook_attempts 3;"
                    "webhook_timeout 2s; metrics_file off;",
                    err, sizeof(err)), 0);
    CHECK_INT(conf.redis, 1);
    CHECK(strcmp(conf.redis_address, "unix:/run/r.sock") == 0);
    CHECK(strcmp(conf.redis_stream, "s") == 0);
    CHECK(strcmp(conf.redis_group, "g") == 0);
    CHECK(strcmp(conf.redis_dead, "d") == 0);
    CHECK_INT(conf.webhooks, 0);
    CHECK(strcmp(conf.webhook_url, "https://h/x") == 0);
    CHECK(strcmp(conf.webhook_secret, "a b") == 0);
    CHECK_INT(conf.webhook_attempts, 3);
    CHECK_INT(conf.webhook_timeout_ms, 2000);
    CHECK(strcmp(conf.metrics, "off") == 0);

    iw_conf_init(&conf);
    CHECK_INT(conf.redis_consumer_idle_ms, 3600000);
    CHECK_INT(parse("redis_consumer_idle 90s;", err, sizeof(err)), 0);
    CHECK_INT(conf.redis_consumer_idle_ms, 90000);
    CHECK_INT(parse("redis_consumer_idle off;", err, sizeof(err)), 0);
    CHECK_INT(conf.redis_consumer_idle_ms, 0);
    CHECK_INT(parse("redis_consumer_idle 0;", err, sizeof(err)), -1);

    CHECK_INT(parse("queue kafka;", err, sizeof(err)), -1);
    CHECK_INT(parse("webhook_url ftp://h/x;", err, sizeof(err)), -1);
    CHECK_INT(parse("webhook_attempts 0;", err, sizeof(err)), -1);
}


static void
test_main(void)
{
    test_values();
    test_live();
    test_defaults();
    test_parse();
    test_errors();
}


TEST_MAIN("test_conf", test_main)
