
/*
 * Copyright (C) nginx video ingest developers
 *
 * The ABR ladder, pass-through fit, rotation and CODECS strings.
 */


#include "test.h"

#include "iw_ladder.h"


static void test_ladder(void);
static void test_small(void);
static void test_fit(void);
static void test_rotation(void);
static void test_codecs(void);
static void test_tail(void);
static void test_main(void);


static iw_profile_t  prof;


static void
test_ladder(void)
{
    unsigned          n;
    iw_ladder_rung_t  r[IW_MAX_RUNGS];

    iw_profile_init(&prof, "default");

    /* 1080p: all three rungs */

    n = iw_ladder(&prof, 1920, 1080, 0, 0, r);
    CHECK_INT(n, 3);
    CHECK(r[0].width == 640 && r[0].height == 360 && r[0].rung == 360);
    CHECK(r[1].width == 1280 && r[1].height == 720);
    CHECK(r[2].width == 1920 && r[2].height == 1080);
    CHECK(r[0].bitrate == prof.rungs[0].bitrate
          && r[0].maxrate == prof.rungs[0].maxrate);

    /* never upscale: 720p source, 4K source stops at the top rung */

    CHECK_INT(iw_ladder(&prof, 1280, 720, 0, 0, r), 2);
    CHECK_INT(iw_ladder(&prof, 3840, 2160, 0, 0, r), 3);
    CHECK_INT(iw_ladder(&prof, 1279, 719, 0, 0, r), 1);

    /* portrait (a rotated phone video): the short side is the width */

    n = iw_ladder(&prof, 1080, 1920, 0, 0, r);
    CHECK_INT(n, 3);
    CHECK(r[0].width == 360 && r[0].height == 640);
    CHECK(r[2].width == 1080 && r[2].height == 1920);

    /* 4:3 keeps its aspect; odd results round to even */

    n = iw_ladder(&prof, 1440, 1080, 0, 0, r);
    CHECK_INT(n, 3);
    CHECK(r[0].width == 480 && r[0].height == 360);
    CHECK(r[1].width == 960 && r[1].height == 720);

    n = iw_ladder(&prof, 1000, 720, 0, 0, r);
    CHECK_INT(n, 2);
    CHECK(r[0].width == 500 && r[0].height == 360);
    CHECK(r[0].width % 2 == 0 && r[1].width % 2 == 0);

    n = iw_ladder(&prof, 2000, 1082, 0, 0, r);
    CHECK_INT(n, 3);
    CHECK(r[0].width == 666 && r[0].height == 360);

    /* anamorphic: 720x576 at 64:45 displays as 1024x576 */

    n = iw_ladder(&prof, 720, 576, 64, 45, r);
    CHECK_INT(n, 1);
    CHECK(r[0].width == 640 && r[0].height == 360);

    CHECK_INT(iw_ladder(&prof, 0, 720, 0, 0, r), 0);
    CHECK_INT(iw_ladder(&prof, 1, 1, 0, 0, r), 0);
    CHECK_INT(iw_ladder(&prof, 20000, 720, 0, 0, r), 0);
}


static void
test_small(void)
{
    unsigned          n;
    iw_ladder_rung_t  r[IW_MAX_RUNGS];

    iw_profile_init(&prof, "default");

    /* smaller than every rung: its own size, a smaller bitrate */

    n = iw_ladder(&prof, 320, 240, 0, 0, r);
    CHECK_INT(n, 1);
    CHECK(r[0].width == 320 && r[0].height == 240 && r[0].rung == 240);
    CHECK(r[0].bitrate < prof.rungs[0].bitrate);
    CHECK(r[0].bitrate >= 64000 && r[0].maxrate >= r[0].bitrate);

    n = iw_ladder(&prof, 175, 99, 0, 0, r);
    CHECK_INT(n, 1);
    CHECK(r[0].width == 176 && r[0].height == 100);
    CHECK_INT(r[0].bitrate, 64000);

    n = iw_ladder(&prof, 3, 3, 0, 0, r);
    CHECK_INT(n, 1);
    CHECK(r[0].width == 4 && r[0].height == 4);
}


static void
test_fit(void)
{
    iw_profile_init(&prof, "default");

    CHECK_INT(iw_ladder_fit(&prof, 640, 360, 1, 1, 500000), 0);
    CHECK_INT(iw_ladder_fit(&prof, 640, 360, 0, 0, 800000), 0);
    CHECK_INT(iw_ladder_fit(&prof, 360, 640, 0, 0, 500000), 0);
    CHECK_INT(iw_ladder_fit(&prof, 1280, 720, 1, 1, 2500000), 1);
    CHECK_INT(iw_ladder_fit(&prof, 1920, 1080, 1, 1, 6000000), 2);

    /* too many bits, unknown bits, between rungs, odd, anamorphic */
    CHECK_INT(iw_ladder_fit(&prof, 640, 360, 1, 1, 800001), -1);
    CHECK_INT(iw_ladder_fit(&prof, 640, 360, 1, 1, 0), -1);
    CHECK_INT(iw_ladder_fit(&prof, 854, 480, 1, 1, 500000), -1);
    CHECK_INT(iw_ladder_fit(&prof, 641, 360, 1, 1, 500000), -1);
    CHECK_INT(iw_ladder_fit(&prof, 480, 360, 4, 3, 500000), -1);
}


static void
test_rotation(void)
{
    /* av_display_rotation_get() angles, counter-clockwise */

    CHECK_INT(iw_rotation(0.0), 0);
    CHECK_INT(iw_rotation(-0.0), 0);
    CHECK_INT(iw_rotation(90.0), 270);
    CHECK_INT(iw_rotation(-90.0), 90);
    CHECK_INT(iw_rotation(180.0), 180);
    CHECK_INT(iw_rotation(-180.0), 180);
    CHECK_INT(iw_rotation(270.0), 90);
    CHECK_INT(iw_rotation(-270.0), 270);
    CHECK_INT(iw_rotation(-89.6), 90);
    CHECK_INT(iw_rotation(450.0), 270);
    CHECK_INT(iw_rotation(0.0 / 0.0), 0);
}


static void
test_codecs(void)
{
    char           s[32];
    const uint8_t  avcc[] = { 1, 0x64, 0x00, 0x1f, 0xff, 0xe1 };
    const uint8_t  annexb[] = { 0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67,
                                0x4d, 0x40, 0x1e, 0xac, 0xd9 };
    const uint8_t  nosps[] = { 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, 0, 0 };
    const uint8_t  aac_lc[] = { 0x11, 0x90 };
    const uint8_t  he_aac[] = { 0x2b, 0x92, 0x08, 0x00 };
    const uint8_t  ext[] = { 0xf8, 0x40 };

    CHECK_INT(iw_codec_avc1(avcc, sizeof(avcc), s, sizeof(s)), 0);
    CHECK(strcmp(s, "avc1.64001f") == 0);

    CHECK_INT(iw_codec_avc1(annexb, sizeof(annexb), s, sizeof(s)), 0);
    CHECK(strcmp(s, "avc1.4d401e") == 0);

    CHECK_INT(iw_codec_avc1(nosps, sizeof(nosps), s, sizeof(s)), -1);
    CHECK_INT(iw_codec_avc1(avcc, 3, s, sizeof(s)), -1);
    CHECK_INT(iw_codec_avc1(annexb, 13, s, sizeof(s)), -1);
    CHECK_INT(iw_codec_avc1(avcc, sizeof(avcc), s, 11), -1);

    CHECK_INT(iw_codec_mp4a(aac_lc, sizeof(aac_lc), s, sizeof(s)), 0);
    CHECK(strcmp(s, "mp4a.40.2") == 0);

    CHECK_INT(iw_codec_mp4a(he_aac, sizeof(he_aac), s, sizeof(s)), 0);
    CHECK(strcmp(s, "mp4a.40.5") == 0);

    CHECK_INT(iw_codec_mp4a(NULL, 0, s, sizeof(s)), 0);
    CHECK(strcmp(s, "mp4a.40.2") == 0);

    /* escape value 31: 32 + the next 6 bits */
    CHECK_INT(iw_codec_mp4a(ext, sizeof(ext), s, sizeof(s)), 0);
    CHECK(strcmp(s, "mp4a.40.34") == 0);
    CHECK_INT(iw_codec_mp4a(ext, 1, s, sizeof(s)), -1);
}


static void
test_tail(void)
{
    unsigned          m[4];
    iw_ladder_tail_t  t[4];

    /* 4 s of video in 1 s segments, the AAC 6 ms longer: a sliver */
    t[0] = (iw_ladder_tail_t) { 4, 3000000, 4000000 };
    t[1] = (iw_ladder_tail_t) { 5, 4010667, 4017063 };
    CHECK_INT(iw_ladder_tail(t, 2, 100000, m), 1);
    CHECK(m[0] == 0 && m[1] == 1);

    /* every rung the same, the audio the same: merged together */
    t[0] = (iw_ladder_tail_t) { 5, 4000000, 4033333 };
    t[1] = (iw_ladder_tail_t) { 5, 4000000, 4033333 };
    t[2] = (iw_ladder_tail_t) { 5, 4000000, 4033333 };
    t[3] = (iw_ladder_tail_t) { 5, 4010667, 4053333 };
    CHECK_INT(iw_ladder_tail(t, 4, 100000, m), 4);
    CHECK(m[0] && m[1] && m[2] && m[3]);

    /* measured from the earliest last start to the latest end */
    t[3] = (iw_ladder_tail_t) { 5, 4010667, 4100000 };
    CHECK_INT(iw_ladder_tail(t, 4, 100000, m), 0);
    CHECK(!m[0] && !m[1] && !m[2] && !m[3]);

    /* a real last segment stays */
    t[0] = (iw_ladder_tail_t) { 5, 4000000, 4500000 };
    t[1] = (iw_ladder_tail_t) { 5, 4010667, 4517063 };
    CHECK_INT(iw_ladder_tail(t, 2, 100000, m), 0);

    /* the threshold is exclusive */
    t[0] = (iw_ladder_tail_t) { 3, 2000000, 2100000 };
    CHECK_INT(iw_ladder_tail(t, 1, 100000, m), 0);
    CHECK_INT(iw_ladder_tail(t, 1, 100001, m), 1);
    CHECK_INT(m[0], 1);

    /* one segment has nothing to join */
    t[0] = (iw_ladder_tail_t) { 1, 0, 5000 };
    t[1] = (iw_ladder_tail_t) { 1, 0, 6000 };
    CHECK_INT(iw_ladder_tail(t, 2, 100000, m), 0);
    CHECK_INT(iw_ladder_tail(t, 0, 100000, m), 0);
}


static void
test_main(void)
{
    test_ladder();
    test_small();
    test_fit();
    test_rotation();
    test_codecs();
    test_tail();
}


TEST_MAIN("test_ladder", test_main)
