
/*
 * Copyright (C) nginx video ingest developers
 *
 * Part and segment cutting of the live packager, and the header line
 * of a live connection.
 */


#include "test.h"

#include "iw_lhls.h"


static void test_video(void);
static void test_audio(void);
static void test_long_gop(void);
static void test_header(void);
static void test_main(void);


static void
test_video(void)
{
    int        key;
    int64_t    us;
    unsigned   i, cut, parts, segs, in_part, max_in_part;
    iw_cut_t   c;

    /* 30 fps, a keyframe every 30 frames, 334 ms parts, 1 s segments */

    iw_cut_init(&c, 334000, 1000000, 1);

    parts = 0;
    segs = 0;
    in_part = 0;
    max_in_part = 0;

    for (i = 0; i < 300; i++) {
        us = 1000000 + (int64_t) i * 1000000 / 30;
        key = i % 30 == 0;
        cut = iw_cut_packet(&c, us, 33333, key);

        if (i == 0) {
            CHECK_INT(cut, IW_CUT_NONE);
        }

        if (cut == IW_CUT_SEGMENT) {
            segs++;
            /* only on keyframes, exactly where they are */
            CHECK(key);
            CHECK_INT(i % 30, 0);
        }

        if (cut != IW_CUT_NONE) {
            parts++;
            if (in_part > max_in_part) {
                max_in_part = in_part;
            }
            in_part = 0;
        }

        in_part++;
    }

    /* 10 segments of 3 parts of 10 frames (333.3 ms <= 334 ms) */
    CHECK_INT(segs, 9);
    CHECK_INT(parts, 29);
    CHECK_INT(max_in_part, 10);
}


static void
test_audio(void)
{
    int64_t   us, start, longest, shortest;
    unsigned  i, cut, segs;
    iw_cut_t  c;

    /* AAC frames of 1024 samples at 48 kHz: 21333 us */

    iw_cut_init(&c, 334000, 1000000, 0);

    segs = 0;
    start = 0;
    longest = 0;
    shortest = INT64_MAX;

    for (i = 0; i < 470; i++) {
        us = (int64_t) i * 1024 * 1000000 / 48000;
        cut = iw_cut_packet(&c, us, 21333, 0);

        if (cut != IW_CUT_NONE) {
            if (us - start > longest) {
                longest = us - start;
            }
            if (us - start < shortest) {
                shortest = us - start;
            }
            start = us;
        }

        if (cut == IW_CUT_SEGMENT) {
            segs++;
            /* the first frame at or after each second */
            CHECK(us >= (int64_t) segs * 1000000);
            CHECK(us - 21334 < (int64_t) segs * 1000000);
        }
    }

    /* 470 frames: 10.03 s */
    CHECK_INT(segs, 10);

    /*
     * parts never exceed the target and none is a sliver: a second of
     * 47 frames is 12 + 12 + 12 + 11 (256 ms), not 15 + 15 + 15 + 2;
     * one of 46 frames 12 + 12 + 12 + 10
     */
    CHECK(longest <= 334000);
    CHECK_INT(longest, 256000);
    CHECK(shortest >= 10 * 21333 - 1);
}


static void
test_long_gop(void)
{
    unsigned  i, cut, segs;
    iw_cut_t  c;

    /* keyframes every 2 s: segments wait for them, parts go on */

    iw_cut_init(&c, 334000, 1000000, 1);

    segs = 0;

    for (i = 0; i < 240; i++) {
        cut = iw_cut_packet(&c, (int64_t) i * 1000000 / 30, 33333,
                            i % 60 == 0);

        if (cut == IW_CUT_SEGMENT) {
            segs++;
            CHECK_INT(i % 60, 0);
        }
    }

    CHECK_INT(segs, 3);

    /* a first packet that is late does not cut at once */

    iw_cut_init(&c, 334000, 1000000, 0);
    CHECK_INT(iw_cut_packet(&c, 5000000, 21333, 0), IW_CUT_NONE);
    CHECK_INT(iw_cut_packet(&c, 5021333, 21333, 0), IW_CUT_NONE);
    CHECK_INT(iw_cut_packet(&c, 6000000, 21333, 0), IW_CUT_SEGMENT);
}


static void
test_header(void)
{
    char         name[IW_LIVE_NAME_LEN + 1], small[4];
    char         longer[IW_LIVE_NAME_LEN + 16];
    const char  *l;

    l = "stream cam-1_A\n";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), 0);
    CHECK(strcmp(name, "cam-1_A") == 0);

    l = "stream cam\r\n";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), 0);
    CHECK(strcmp(name, "cam") == 0);

    l = "stream cam\n";
    CHECK_INT(iw_live_header(l, strlen(l), small, sizeof(small)), 0);
    l = "stream came\n";
    CHECK_INT(iw_live_header(l, strlen(l), small, sizeof(small)), -1);

    l = "stream \n";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), -1);
    l = "stream ../x\n";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), -1);
    l = "stream a b\n";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), -1);
    l = "stream cam";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), -1);
    l = "STREAM cam\n";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), -1);
    l = "GET / HTTP/1.0\r\n";
    CHECK_INT(iw_live_header(l, strlen(l), name, sizeof(name)), -1);
    CHECK_INT(iw_live_header("\n", 1, name, sizeof(name)), -1);

    memcpy(longer, "stream ", 7);
    memset(longer + 7, 'a', IW_LIVE_NAME_LEN);
    longer[7 + IW_LIVE_NAME_LEN] = '\n';
    CHECK_INT(iw_live_header(longer, 8 + IW_LIVE_NAME_LEN, name,
                             sizeof(name)), 0);
    longer[7 + IW_LIVE_NAME_LEN] = 'a';
    longer[8 + IW_LIVE_NAME_LEN] = '\n';
    CHECK_INT(iw_live_header(longer, 9 + IW_LIVE_NAME_LEN, name,
                             sizeof(name)), -1);
}


static void
test_main(void)
{
    test_video();
    test_audio();
    test_long_gop();
    test_header();
}


TEST_MAIN("test_lhls", test_main)
