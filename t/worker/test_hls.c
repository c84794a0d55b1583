
/*
 * Copyright (C) nginx video ingest developers
 *
 * The HLS playlist writer: VOD, LL-HLS live (parts, preload hint,
 * server control, delta updates, rendition reports, program date
 * time) and master playlists, compared byte for byte.
 */


#include "test.h"

#include "iw_hls.h"


static void test_vod(void);
static void test_target(void);
static void test_ll(void);
static void test_ll_window(void);
static void test_skip(void);
static void test_invalid(void);
static void test_master(void);
static void test_pdt(void);
static void test_overflow(void);
static void test_main(void);


static char  out[16384];


static void
test_vod(void)
{
    size_t             n;
    iw_hls_segment_t   segs[3];
    iw_hls_playlist_t  pl;

    memset(segs, 0, sizeof(segs));
    memset(&pl, 0, sizeof(pl));

    segs[0].duration = 4000000;
    segs[0].uri = "seg00000.m4s";
    segs[0].pdt = -1;
    segs[1].duration = 4000000;
    segs[1].uri = "seg00001.m4s";
    segs[1].pdt = -1;
    segs[2].duration = 1533333;
    segs[2].uri = "seg00002.m4s";
    segs[2].pdt = -1;

    pl.type = IW_HLS_VOD;
    pl.map_uri = "init.mp4";
    pl.endlist = 1;
    pl.segments = segs;
    pl.nsegments = 3;
    pl.tail_pdt = -1;

    n = iw_hls_media(&pl, 0, out, sizeof(out));

    CHECK_MEM(out, n,
              "#EXTM3U\n"
              "#EXT-X-VERSION:7\n"
              "#EXT-X-TARGETDURATION:4\n"
              "#EXT-X-MEDIA-SEQUENCE:0\n"
              "#EXT-X-PLAYLIST-TYPE:VOD\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-MAP:URI=\"init.mp4\"\n"
              "#EXTINF:4.00000,\n"
              "seg00000.m4s\n"
              "#EXTINF:4.00000,\n"
              "seg00001.m4s\n"
              "#EXTINF:1.53333,\n"
              "seg00002.m4s\n"
              "#EXT-X-ENDLIST\n");

    /* a skip request means nothing without LL-HLS */
    CHECK_INT(iw_hls_media(&pl, 1, out, sizeof(out)), n);

    /* an event playlist and a discontinuity */

    pl.type = IW_HLS_EVENT;
    pl.endlist = 0;
    segs[1].discontinuity = 1;

    n = iw_hls_media(&pl, 0, out, sizeof(out));

    CHECK(n != 0);
    CHECK(strstr(out, "#EXT-X-PLAYLIST-TYPE:EVENT\n") != NULL);
    CHECK(strstr(out, "seg00000.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:4.00000,"
                      "\nseg00001.m4s\n") != NULL);
    CHECK(strstr(out, "ENDLIST") == NULL);
}


static void
test_target(void)
{
    iw_hls_segment_t  segs[3];

    memset(segs, 0, sizeof(segs));

    /* EXTINF rounded to the nearest integer must not exceed it */

    segs[0].duration = 4499999;
    CHECK_INT(iw_hls_target(segs, 1), 4);

    segs[0].duration = 4500000;
    CHECK_INT(iw_hls_target(segs, 1), 5);

    segs[0].duration = 100000;
    CHECK_INT(iw_hls_target(segs, 1), 1);
    CHECK_INT(iw_hls_target(segs, 0), 1);

    segs[0].duration = 2000000;
    segs[1].duration = 6200000;
    segs[2].duration = 3000000;
    CHECK_INT(iw_hls_target(segs, 3), 6);
}


/* 1 s segments of three parts of 1/3 s, as the live packager makes them */

static iw_hls_part_t     ll_parts[8][3];
static iw_hls_segment_t  ll_segs[8];
static char              ll_uris[8][4][32];


static void
ll_model(iw_hls_playlist_t *pl, unsigned nsegs)
{
    unsigned  i, j;

    memset(pl, 0, sizeof(iw_hls_playlist_t));
    memset(ll_segs, 0, sizeof(ll_segs));

    for (i = 0; i < nsegs; i++) {
        snprintf(ll_uris[i][3], sizeof(ll_uris[i][3]), "seg%u.m4s",
                 i + 10);

        for (j = 0; j < 3; j++) {
            snprintf(ll_uris[i][j], sizeof(ll_uris[i][j]),
                     "seg%u.part%u.m4s", i + 10, j);
            ll_parts[i][j].duration = j < 2 ? 333333 : 333334;
            ll_parts[i][j].uri = ll_uris[i][j];
            ll_parts[i][j].independent = j == 0;
        }

        ll_segs[i].duration = 1000000;
        ll_segs[i].uri = ll_uris[i][3];
        ll_segs[i].pdt = 1764122000000 + (int64_t) i * 1000;
        ll_segs[i].parts = ll_parts[i];
        ll_segs[i].nparts = 3;
    }

    pl->type = IW_HLS_LIVE;
    pl->part_target = 333334;
    pl->media_sequence = 10;
    pl->map_uri = "init.mp4";
    pl->can_block_reload = 1;
    pl->segments = ll_segs;
    pl->nsegments = nsegs;
    pl->tail_pdt = -1;
}


static void
test_ll(void)
{
    size_t             n;
    iw_hls_part_t      tail[1];
    iw_hls_report_t    rep[1];
    iw_hls_playlist_t  pl;

    ll_model(&pl, 2);

    tail[0].duration = 333333;
    tail[0].uri = "seg12.part0.m4s";
    tail[0].independent = 1;

    pl.tail = tail;
    pl.ntail = 1;
    pl.tail_pdt = 1764122002000;
    pl.preload_hint = "seg12.part1.m4s";
    pl.can_skip_until = 6000000;

    rep[0].uri = "../720p/index.m3u8";
    rep[0].last_msn = 12;
    rep[0].last_part = 0;
    pl.reports = rep;
    pl.nreports = 1;

    n = iw_hls_media(&pl, 0, out, sizeof(out));

    CHECK_MEM(out, n,
              "#EXTM3U\n"
              "#EXT-X-VERSION:9\n"
              "#EXT-X-TARGETDURATION:1\n"
              "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
              "CAN-SKIP-UNTIL=6.00000,PART-HOLD-BACK=1.00000\n"
              "#EXT-X-PART-INF:PART-TARGET=0.33333\n"
              "#EXT-X-MEDIA-SEQUENCE:10\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-MAP:URI=\"init.mp4\"\n"
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:20.000Z\n"
              "#EXT-X-PART:DURATION=0.33333,URI=\"seg10.part0.m4s\","
              "INDEPENDENT=YES\n"
              "#EXT-X-PART:DURATION=0.33333,URI=\"seg10.part1.m4s\"\n"
              "#EXT-X-PART:DURATION=0.33333,URI=\"seg10.part2.m4s\"\n"
              "#EXTINF:1.00000,\n"
              "seg10.m4s\n"
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:21.000Z\n"
              "#EXT-X-PART:DURATION=0.33333,URI=\"seg11.part0.m4s\","
              "INDEPENDENT=YES\n"
              "#EXT-X-PART:DURATION=0.33333,URI=\"seg11.part1.m4s\"\n"
              "#EXT-X-PART:DURATION=0.33333,URI=\"seg11.part2.m4s\"\n"
              "#EXTINF:1.00000,\n"
              "seg11.m4s\n"
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:22.000Z\n"
              "#EXT-X-PART:DURATION=0.33333,URI=\"seg12.part0.m4s\","
              "INDEPENDENT=YES\n"
              "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg12.part1.m4s\"\n"
              "#EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\","
              "LAST-MSN=12,LAST-PART=0\n");

    /* PART-HOLD-BACK is at least three part targets unless set */
    CHECK(strstr(out, "PART-HOLD-BACK=1.00000") != NULL);

    pl.part_hold_back = 1500000;
    pl.hold_back = 3000000;
    pl.can_skip_until = 0;
    pl.can_block_reload = 0;

    n = iw_hls_media(&pl, 0, out, sizeof(out));
    CHECK(n != 0);
    CHECK(strstr(out, "#EXT-X-SERVER-CONTROL:HOLD-BACK=3.00000,"
                      "PART-HOLD-BACK=1.50000\n") != NULL);

    /* the end of a live stream: no preload hint after ENDLIST */

    pl.endlist = 1;
    pl.ntail = 0;
    rep[0].last_part = -1;

    n = iw_hls_media(&pl, 0, out, sizeof(out));
    CHECK(n != 0);
    CHECK(strstr(out, "PRELOAD-HINT") == NULL);
    CHECK(strstr(out, "seg11.m4s\n#EXT-X-ENDLIST\n"
                      "#EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\","
                      "LAST-MSN=12\n") != NULL);
}


static void
test_ll_window(void)
{
    size_t             n;
    iw_hls_playlist_t  pl;

    /*
     * 1 s target: the parts of segments that end in the last 3 s stay,
     * all of a segment's parts or none (players number them by place)
     */

    ll_model(&pl, 6);

    n = iw_hls_media(&pl, 0, out, sizeof(out));
    CHECK(n != 0);

    CHECK(strstr(out, "seg10.part0.m4s") == NULL);
    CHECK(strstr(out, "seg11.part0.m4s") == NULL);
    CHECK(strstr(out, "seg11.part2.m4s") == NULL);
    CHECK(strstr(out, "seg12.part0.m4s") != NULL);
    CHECK(strstr(out, "seg12.part2.m4s") != NULL);
    CHECK(strstr(out, "seg13.part0.m4s") != NULL);
    CHECK(strstr(out, "seg15.part2.m4s") != NULL);

    /* the segments themselves all stay */
    CHECK(strstr(out, "#EXTINF:1.00000,\nseg10.m4s\n") != NULL);
    CHECK(strstr(out, "#EXTINF:1.00000,\nseg15.m4s\n") != NULL);
}


static void
test_skip(void)
{
    size_t             n;
    iw_hls_playlist_t  pl;

    ll_model(&pl, 8);
    pl.can_skip_until = 6000000;

    /* 8 s of segments, boundary 6 s from the end: the first 2 skipped */

    n = iw_hls_media(&pl, 1, out, sizeof(out));
    CHECK(n != 0);
    CHECK(strstr(out, "#EXT-X-VERSION:9\n") != NULL);
    CHECK(strstr(out, "#EXT-X-MEDIA-SEQUENCE:10\n") != NULL);
    CHECK(strstr(out, "#EXT-X-MAP:URI=\"init.mp4\"\n"
                      "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n"
                      "#EXT-X-PROGRAM-DATE-TIME:") != NULL);
    CHECK(strstr(out, "seg11.m4s") == NULL);
    CHECK(strstr(out, "\nseg12.m4s\n") != NULL);

    /* not asked, or not allowed: the whole playlist */

    n = iw_hls_media(&pl, 0, out, sizeof(out));
    CHECK(n != 0);
    CHECK(strstr(out, "EXT-X-SKIP") == NULL);
    CHECK(strstr(out, "\nseg10.m4s\n") != NULL);

    pl.can_skip_until = 0;
    n = iw_hls_media(&pl, 1, out, sizeof(out));
    CHECK(n != 0);
    CHECK(strstr(out, "EXT-X-SKIP") == NULL);

    /* too short to skip anything */

    ll_model(&pl, 5);
    pl.can_skip_until = 6000000;
    n = iw_hls_media(&pl, 1, out, sizeof(out));
    CHECK(n != 0);
    CHECK(strstr(out, "EXT-X-SKIP") == NULL);
}


static void
test_invalid(void)
{
    iw_hls_part_t      tail[1];
    iw_hls_playlist_t  pl;

    /* a part longer than the part target */

    ll_model(&pl, 2);
    ll_parts[1][1].duration = 400000;
    CHECK_INT(iw_hls_media(&pl, 0, out, sizeof(out)), 0);

    /* a segment longer than a given target duration */

    ll_model(&pl, 2);
    pl.target = 1;
    ll_segs[1].duration = 1600000;
    CHECK_INT(iw_hls_media(&pl, 0, out, sizeof(out)), 0);

    /* an empty segment */

    ll_model(&pl, 2);
    ll_segs[0].duration = 0;
    CHECK_INT(iw_hls_media(&pl, 0, out, sizeof(out)), 0);

    /* parts in progress without LL-HLS */

    ll_model(&pl, 2);
    tail[0].duration = 100000;
    tail[0].uri = "x";
    tail[0].independent = 0;
    pl.tail = tail;
    pl.ntail = 1;
    pl.part_target = 0;
    ll_segs[0].nparts = 0;
    ll_segs[1].nparts = 0;
    CHECK_INT(iw_hls_media(&pl, 0, out, sizeof(out)), 0);
}


static void
test_master(void)
{
    size_t            n;
    iw_hls_audio_t    a;
    iw_hls_variant_t  v[2];

    memset(v, 0, sizeof(v));

    a.group = "aud";
    a.name = "audio";
    a.language = "en";
    a.channels = 2;
    a.is_default = 1;
    a.uri = "audio/index.m3u8";

    v[0].bandwidth = 900000;
    v[0].average = 700000;
    v[0].width = 640;
    v[0].height = 360;
    v[0].fps_milli = 29970;
    v[0].codecs = "avc1.64001e,mp4a.40.2";
    v[0].audio = "aud";
    v[0].uri = "360p/index.m3u8";

    v[1].bandwidth = 3200000;
    v[1].average = 0;
    v[1].width = 1280;
    v[1].height = 720;
    v[1].fps_milli = 30000;
    v[1].codecs = "avc1.64001f,mp4a.40.2";
    v[1].audio = "aud";
    v[1].uri = "720p/index.m3u8";

    n = iw_hls_master(v, 2, &a, 1, out, sizeof(out));

    CHECK_MEM(out, n,
              "#EXTM3U\n"
              "#EXT-X-VERSION:7\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"audio\","
              "LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
              "URI=\"audio/index.m3u8\"\n"
              "#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=700000,"
              "RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\","
              "FRAME-RATE=29.970,AUDIO=\"aud\"\n"
              "360p/index.m3u8\n"
              "#EXT-X-STREAM-INF:BANDWIDTH=3200000,RESOLUTION=1280x720,"
              "CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=30.000,"
              "AUDIO=\"aud\"\n"
              "720p/index.m3u8\n");

    /* audio only */

    memset(v, 0, sizeof(v));
    v[0].bandwidth = 133000;
    v[0].average = 130000;
    v[0].codecs = "mp4a.40.2";
    v[0].uri = "audio/index.m3u8";

    n = iw_hls_master(v, 1, NULL, 0, out, sizeof(out));

    CHECK_MEM(out, n,
              "#EXTM3U\n"
              "#EXT-X-VERSION:7\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-STREAM-INF:BANDWIDTH=133000,AVERAGE-BANDWIDTH=130000,"
              "CODECS=\"mp4a.40.2\"\n"
              "audio/index.m3u8\n");
}


static void
test_pdt(void)
{
    size_t  n;
    char    s[32];

    n = iw_hls_format_pdt(s, 0);
    CHECK_MEM(s, n, "1970-01-01T00:00:00.000Z");

    n = iw_hls_format_pdt(s, 951782400123);
    CHECK_MEM(s, n, "2000-02-29T00:00:00.123Z");

    n = iw_hls_format_pdt(s, 4107542399999);
    CHECK_MEM(s, n, "2100-02-28T23:59:59.999Z");

    n = iw_hls_format_pdt(s, -1);
    CHECK_MEM(s, n, "1969-12-31T23:59:59.999Z");
}


static void
test_overflow(void)
{
    size_t             n, i;
    iw_hls_playlist_t  pl;

    ll_model(&pl, 3);

    n = iw_hls_media(&pl, 0, out, sizeof(out));
    CHECK(n != 0);

    /* every smaller buffer fails cleanly, the exact size works */

    for (i = 0; i <= n; i++) {
        if (iw_hls_media(&pl, 0, out, i) != 0) {
            break;
        }
    }

    CHECK_INT(i, n + 1);
    CHECK_INT(iw_hls_media(&pl, 0, out, n + 1), n);
}


static void
test_main(void)
{
    test_vod();
    test_target();
    test_ll();
    test_ll_window();
    test_skip();
    test_invalid();
    test_master();
    test_pdt();
    test_overflow();
}


TEST_MAIN("test_hls", test_main)
