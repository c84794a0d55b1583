
/*
 * Copyright (C) nginx video ingest developers
 *
 * Part and segment cutting of the live packager, jumps of the input's
 * timestamps, and the header line of a live connection.
 */


#include "test.h"

#include "iw_lhls.h"


static void test_video(void);
static void test_audio(void);
static void test_long_gop(void);
static void test_irregular(void);
static void test_jump(void);
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
test_irregular(void)
{
    int64_t   us, dur, start, end, len, longest;
    unsigned  i, k, cut, parts;
    uint32_t  r;
    iw_cut_t  c;

    /*
     * Timestamps with jitter and gaps (lost packets, a stall shorter
     * than a jump): the packets of a part, from the first one's start
     * to the last one's end, never reach past the target. The slack for
     * rounding used to let a packet end up to a quarter packet past it.
     */

    for (k = 0; k < 2; k++) {
        iw_cut_init(&c, 334000, 1000000, k == 0);

        dur = k == 0 ? 33333 : 21333;
        r = 12345;
        us = 0;
        start = 0;
        end = 0;
        parts = 0;
        longest = 0;

        for (i = 0; i < 3000; i++) {
            cut = iw_cut_packet(&c, us, dur, k == 1 || i % 30 == 0);

            if (cut != IW_CUT_NONE) {
                len = end - start;
                CHECK(len > 0 && len <= 334000);
                if (len > longest) {
                    longest = len;
                }
                start = us;
                parts++;
            }

            end = us + dur;

            /* jitter of up to 8 ms; now and then a gap of up to 900 ms */
            r = r * 1103515245 + 12345;
            us += dur + (int64_t) (r >> 16) % 8000;

            if ((r >> 8) % 61 == 0) {
                us += (int64_t) (r >> 4) % 900000;
            }
        }

        CHECK(parts > 3000 * dur / 334000);
        CHECK(longest > 300000);
    }
}


static void
test_jump(void)
{
    int64_t    us, shift, fix;
    unsigned   i;
    iw_jump_t  v, a;

    iw_jump_init(&v);
    iw_jump_init(&a);

    /* regular packets, a gap under the limit, jitter: no jump */

    CHECK_INT(iw_jump_check(&v, 1400000, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 1433333, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 1466667, 0, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 1466668, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 2400000, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 3433333, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 3460000, 33333, IW_JUMP_MAX), 0);

    /* more than the limit after the due time: continues where due */

    iw_jump_init(&v);
    CHECK_INT(iw_jump_check(&v, 1000000, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 2033334, 33333, IW_JUMP_MAX),
              1033333 - 2033334);
    CHECK_INT(v.last, 1033333);
    CHECK_INT(v.next, 1066666);

    /* back in time, by a lot or a little, or the same time again */

    iw_jump_init(&v);
    CHECK_INT(iw_jump_check(&v, 9000000, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 100000, 33333, IW_JUMP_MAX),
              9033333 - 100000);
    CHECK_INT(iw_jump_check(&v, 9066666, 33333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&v, 9066666, 33333, IW_JUMP_MAX), 33333);
    CHECK_INT(v.last, 9099999);
    CHECK_INT(iw_jump_check(&v, 9133332, 33333, IW_JUMP_MAX), 0);

    /* a packet a little early but after the last one is no jump */

    iw_jump_init(&a);
    CHECK_INT(iw_jump_check(&a, 0, 21333, IW_JUMP_MAX), 0);
    CHECK_INT(iw_jump_check(&a, 1, 21333, IW_JUMP_MAX), 0);

    /*
     * Two streams on one clock that jumps by +5 s, then by -17 s, as
     * the caller uses them: the first stream to see a jump moves the
     * shift, the other then finds its packets where due.
     */

    iw_jump_init(&v);
    iw_jump_init(&a);
    shift = 0;

    for (i = 0; i < 300; i++) {
        us = (int64_t) i * 100000 + 1400000;

        if (i >= 100) {
            us += i < 200 ? 5000000 : -12000000;
        }

        fix = iw_jump_check(i % 2 ? &a : &v, us + shift, 200000,
                            IW_JUMP_MAX);

        if (i == 100 || i == 200) {
            CHECK(fix != 0);
        } else {
            CHECK_INT(fix, 0);
        }

        shift += fix;
    }

    /* as if the clock had not jumped: the output went on, in sync */
    CHECK_INT(v.last, 31200000);
    CHECK_INT(a.last, 31300000);
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
    test_irregular();
    test_jump();
    test_header();
}


TEST_MAIN("test_lhls", test_main)
