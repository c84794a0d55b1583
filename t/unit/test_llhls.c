
/*
 * Copyright (C) nginx video ingest developers
 *
 * LL-HLS origin rules: the playlist parser on the worker's playlists
 * (byte for byte as ffmpeg-worker/src/iw_hls.c writes them for a live
 * stream) and on other RFC 8216bis media playlists, blocking reload
 * decisions, delta updates and preload hints.
 */


#include "ingest_llhls.h"
#include "test.h"


#define MAX_SEGS  64


static ingest_llhls_rc_t parse(const char *s);
static ingest_llhls_rc_t parse_n(const char *s, size_t len, size_t max);
static ingest_llhls_rc_t decide(const char *msn, const char *part,
    const char *skip, ingest_llhls_request_t *req);
static void set_str(ingest_str_t *str, const char *s);
static ingest_llhls_rc_t file(const char *name);
static size_t delta(void);
static size_t worker(unsigned nseg, unsigned ntail, int ended);
static void test_status(void);
static void test_worker(void);
static void test_worker_builder(void);
static void test_rfc_example(void);
static void test_syntax(void);
static void test_errors(void);
static void test_limits(void);
static void test_block(void);
static void test_block_edges(void);
static void test_ready(void);
static void test_skip_decision(void);
static void test_limits_helpers(void);
static void test_delta(void);
static void test_delta_tags(void);
static void test_delta_sizing(void);
static void test_file(void);
static void test_random(void);
static void test_llhls(void);


static unsigned char            *buf;
static size_t                    buf_len;
static ingest_llhls_segment_t    segs[MAX_SEGS];
static ingest_llhls_playlist_t   pl;
static unsigned char             out[65536];
static char                      text[65536];


/*
 * The worker's live playlist: 10 whole segments of 1 s (media sequence
 * 100) of three parts each, one part of the segment in progress, the
 * preload hint of the next part and the audio track's report. Parts
 * more than 3 s from the end are not listed, so segment 107 lists only
 * its last two.
 */

#define WORKER_TOP                                                            \
    "#EXTM3U\n"                                                               \
    "#EXT-X-VERSION:9\n"                                                      \
    "#EXT-X-TARGETDURATION:1\n"                                               \
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.00000,"      \
    "PART-HOLD-BACK=1.00200\n"                                                \
    "#EXT-X-PART-INF:PART-TARGET=0.33400\n"                                   \
    "#EXT-X-MEDIA-SEQUENCE:100\n"                                             \
    "#EXT-X-INDEPENDENT-SEGMENTS\n"

#define WORKER_HEAD                                                           \
    WORKER_TOP "#EXT-X-MAP:URI=\"init.mp4\"\n"

#define WORKER_SEGS_0_3                                                       \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:20.000Z\n"                     \
    "#EXTINF:1.00000,\n"                                                      \
    "seg100.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:21.000Z\n"                     \
    "#EXTINF:1.00000,\n"                                                      \
    "seg101.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:22.000Z\n"                     \
    "#EXTINF:1.00000,\n"                                                      \
    "seg102.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:23.000Z\n"                     \
    "#EXTINF:1.00000,\n"                                                      \
    "seg103.m4s\n"

#define WORKER_SEGS_4_9                                                       \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:24.000Z\n"                     \
    "#EXTINF:1.00000,\n"                                                      \
    "seg104.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:25.000Z\n"                     \
    "#EXTINF:1.00000,\n"                                                      \
    "seg105.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:26.000Z\n"                     \
    "#EXTINF:1.00000,\n"                                                      \
    "seg106.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:27.000Z\n"                     \
    "#EXT-X-PART:DURATION=0.33367,URI=\"part322.m4s\"\n"                      \
    "#EXT-X-PART:DURATION=0.33267,URI=\"part323.m4s\"\n"                      \
    "#EXTINF:1.00000,\n"                                                      \
    "seg107.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:28.000Z\n"                     \
    "#EXT-X-PART:DURATION=0.33367,URI=\"part324.m4s\",INDEPENDENT=YES\n"      \
    "#EXT-X-PART:DURATION=0.33367,URI=\"part325.m4s\"\n"                      \
    "#EXT-X-PART:DURATION=0.33267,URI=\"part326.m4s\"\n"                      \
    "#EXTINF:1.00000,\n"                                                      \
    "seg108.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:29.000Z\n"                     \
    "#EXT-X-PART:DURATION=0.33367,URI=\"part327.m4s\",INDEPENDENT=YES\n"      \
    "#EXT-X-PART:DURATION=0.33367,URI=\"part328.m4s\"\n"                      \
    "#EXT-X-PART:DURATION=0.33267,URI=\"part329.m4s\"\n"                      \
    "#EXTINF:1.00000,\n"                                                      \
    "seg109.m4s\n"                                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:30.000Z\n"                     \
    "#EXT-X-PART:DURATION=0.33367,URI=\"part330.m4s\",INDEPENDENT=YES\n"      \
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part331.m4s\"\n"                     \
    "#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=110,"       \
    "LAST-PART=0\n"

static const char  worker_full[] =
    WORKER_HEAD WORKER_SEGS_0_3 WORKER_SEGS_4_9;

/* index-delta.m3u8 the worker writes next to it */
static const char  worker_delta[] =
    WORKER_HEAD "#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n" WORKER_SEGS_4_9;


static ingest_llhls_rc_t
parse(const char *s)
{
    return parse_n(s, strlen(s), MAX_SEGS);
}


/* parses a copy of exactly len bytes, so ASan sees any read past it */

static ingest_llhls_rc_t
parse_n(const char *s, size_t len, size_t max)
{
    free(buf);

    buf_len = len;
    buf = test_dup(s, len);

    return ingest_llhls_parse(buf, buf_len, &pl, segs, max);
}


static void
set_str(ingest_str_t *str, const char *s)
{
    if (s == NULL) {
        str->data = NULL;
        str->len = 0;
        return;
    }

    str->len = strlen(s);
    str->data = test_dup(s, str->len);
}


static ingest_llhls_rc_t
decide(const char *msn, const char *part, const char *skip,
    ingest_llhls_request_t *req)
{
    ingest_llhls_rc_t       rc;
    ingest_llhls_query_t    q;
    ingest_llhls_request_t  r;

    set_str(&q.msn, msn);
    set_str(&q.part, part);
    set_str(&q.skip, skip);

    rc = ingest_llhls_decide(&pl, &q, req != NULL ? req : &r);

    free((void *) q.msn.data);
    free((void *) q.part.data);
    free((void *) q.skip.data);

    return rc;
}


static ingest_llhls_rc_t
file(const char *name)
{
    unsigned char      *n;
    ingest_llhls_rc_t   rc;

    n = test_dup(name, strlen(name));
    rc = ingest_llhls_file(buf, &pl, n, strlen(name));
    free(n);

    return rc;
}


/* the delta of the playlist parsed last, into out; checks the sizing */

static size_t
delta(void)
{
    size_t  n;

    n = ingest_llhls_delta(buf, &pl, NULL, 0);

    if (n != 0) {
        CHECK(n <= sizeof(out));
        CHECK_INT(ingest_llhls_delta(buf, &pl, out, sizeof(out)), n);
    }

    return n;
}


/*
 * The worker's live playlist as ffmpeg-worker/src/iw_hls.c writes it
 * (iw_live_playlist: target 1 s, part target 334 ms, CAN-SKIP-UNTIL of
 * six targets, parts listed for the last three targets), for nseg
 * segments from media sequence 100 and ntail parts in progress, into
 * text. test_worker_builder() holds it to the literal above.
 */

static size_t
worker(unsigned nseg, unsigned ntail, int ended)
{
    int64_t    end, t;
    unsigned   i, j, part;
    size_t     n;

    static const int64_t  dur[3] = { 333667, 333667, 332666 };
    static const char    *dstr[3] = { "0.33367", "0.33367", "0.33267" };

    if (ended) {
        ntail = 0;
    }

    end = (int64_t) nseg * 1000000 + (int64_t) ntail * 333667;

    n = (size_t) snprintf(text, sizeof(text),
                          "#EXTM3U\n#EXT-X-VERSION:9\n"
                          "#EXT-X-TARGETDURATION:1\n"
                          "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                          "CAN-SKIP-UNTIL=6.00000,PART-HOLD-BACK=1.00200\n"
                          "#EXT-X-PART-INF:PART-TARGET=0.33400\n"
                          "#EXT-X-MEDIA-SEQUENCE:100\n"
                          "#EXT-X-INDEPENDENT-SEGMENTS\n"
                          "#EXT-X-MAP:URI=\"init.mp4\"\n");

    part = 300;

    for (i = 0; i < nseg; i++) {
        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:"
                               "%02u.000Z\n", 20 + i);

        t = (int64_t) i * 1000000;

        for (j = 0; j < 3; j++) {
            if (end - t <= 3000000) {
                n += (size_t) snprintf(text + n, sizeof(text) - n,
                                       "#EXT-X-PART:DURATION=%s,"
                                       "URI=\"part%u.m4s\"%s\n", dstr[j],
                                       part, j == 0 ? ",INDEPENDENT=YES"
                                                    : "");
            }

            t += dur[j];
            part++;
        }

        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "#EXTINF:1.00000,\nseg%u.m4s\n", 100 + i);
    }

    if (ntail != 0) {
        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:"
                               "%02u.000Z\n", 20 + nseg);
    }

    for (j = 0; j < ntail; j++) {
        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "#EXT-X-PART:DURATION=0.33367,"
                               "URI=\"part%u.m4s\"%s\n", part,
                               j == 0 ? ",INDEPENDENT=YES" : "");
        part++;
    }

    if (!ended) {
        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "#EXT-X-PRELOAD-HINT:TYPE=PART,"
                               "URI=\"part%u.m4s\"\n", part);

    } else {
        n += (size_t) snprintf(text + n, sizeof(text) - n,
                               "#EXT-X-ENDLIST\n");
    }

    n += (size_t) snprintf(text + n, sizeof(text) - n,
                           "#EXT-X-RENDITION-REPORT:URI=\"../audio/"
                           "index.m3u8\",LAST-MSN=%u,LAST-PART=0\n",
                           100 + nseg);

    return n;
}


static void
test_status(void)
{
    int  rc;

    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_OK), 200);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_SERVE_FULL), 200);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_SERVE_DELTA), 200);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_HOLD), 503);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_PART_WITHOUT_MSN), 400);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_BAD_MSN), 400);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_BAD_PART), 400);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_MSN_TOO_FAR), 400);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_PART_TOO_FAR), 400);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_LISTED), 200);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_PRELOAD_HINTED), 503);
    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_UNKNOWN), 404);

    for (rc = INGEST_LLHLS_NOT_PLAYLIST; rc < INGEST_LLHLS_RC_LAST; rc++) {
        CHECK_INT(ingest_llhls_http_status((ingest_llhls_rc_t) rc), 500);
    }

    /* every code has a status and a reason */

    for (rc = 0; rc < INGEST_LLHLS_RC_LAST; rc++) {
        CHECK(ingest_llhls_http_status((ingest_llhls_rc_t) rc) >= 200);
        CHECK(ingest_llhls_reason((ingest_llhls_rc_t) rc) != NULL);
        CHECK(strlen(ingest_llhls_reason((ingest_llhls_rc_t) rc)) > 1);
    }

    CHECK_INT(ingest_llhls_http_status(INGEST_LLHLS_RC_LAST), 500);
    CHECK_INT(ingest_llhls_http_status((ingest_llhls_rc_t) -1), 500);
    CHECK(strcmp(ingest_llhls_reason(INGEST_LLHLS_RC_LAST),
                 "internal error") == 0);
}


static void
test_worker(void)
{
    uint64_t                        msn, part;
    const ingest_llhls_segment_t   *s;

    CHECK_INT(parse(worker_full), INGEST_LLHLS_OK);

    CHECK_INT(pl.version, 9);
    CHECK_U64(pl.target, 1);
    CHECK_INT(pl.part_target, 334000);
    CHECK_U64(pl.media_sequence, 100);
    CHECK_U64(pl.skipped, 0);
    CHECK_U64(pl.first_msn, 100);
    CHECK_U64(pl.next_msn, 110);
    CHECK_INT(pl.nsegments, 10);
    CHECK_INT(pl.ntail, 1);
    CHECK_INT(pl.tail_duration, 333670);
    CHECK_INT(pl.duration, 10333670);
    CHECK_INT(pl.can_skip_until, 6000000);
    CHECK_INT(pl.part_hold_back, 1002000);
    CHECK_INT(pl.hold_back, 0);
    CHECK_INT(pl.can_block_reload, 1);
    CHECK_INT(pl.can_skip_dateranges, 0);
    CHECK_INT(pl.endlist, 0);
    CHECK_INT(pl.has_skip, 0);
    CHECK(pl.segments == segs);
    CHECK_INT(pl.len, sizeof(worker_full) - 1);

    CHECK_MEM(buf + pl.hint_off, pl.hint_len, "part331.m4s");
    CHECK_MEM(buf + pl.version_off, pl.version_len, "9");
    CHECK_MEM(buf, pl.m3u_end, "#EXTM3U\n");

    /* the header ends where the first media segment tag is */
    CHECK_MEM(buf, pl.body, WORKER_TOP);
    CHECK(pl.body < pl.len && memcmp(buf + pl.body, "#EXT-X-MAP", 10) == 0);

    /* every segment's lines, back to back */

    s = &segs[0];
    CHECK_INT(s->start, pl.body);
    CHECK_MEM(buf + s->start, s->end - s->start,
              "#EXT-X-MAP:URI=\"init.mp4\"\n"
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:20.000Z\n"
              "#EXTINF:1.00000,\nseg100.m4s\n");
    CHECK_INT(s->duration, 1000000);
    CHECK_INT(s->nparts, 0);

    CHECK_INT(segs[1].start, segs[0].end);
    CHECK_MEM(buf + segs[1].start, segs[1].end - segs[1].start,
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:21.000Z\n"
              "#EXTINF:1.00000,\nseg101.m4s\n");

    CHECK_INT(segs[6].nparts, 0);
    CHECK_INT(segs[7].nparts, 2);
    CHECK_INT(segs[8].nparts, 3);
    CHECK_INT(segs[9].nparts, 3);
    CHECK_INT(segs[9].duration, 1000000);

    CHECK_MEM(buf + segs[9].start, segs[9].end - segs[9].start,
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:29.000Z\n"
              "#EXT-X-PART:DURATION=0.33367,URI=\"part327.m4s\","
              "INDEPENDENT=YES\n"
              "#EXT-X-PART:DURATION=0.33367,URI=\"part328.m4s\"\n"
              "#EXT-X-PART:DURATION=0.33267,URI=\"part329.m4s\"\n"
              "#EXTINF:1.00000,\nseg109.m4s\n");

    /* the tail: the segment in progress, hint, report */
    CHECK_INT(pl.tail, segs[9].end);
    CHECK(memcmp(buf + pl.tail, "#EXT-X-PROGRAM-DATE-TIME:2025-11-26T01:53:"
                 "30.000Z\n#EXT-X-PART:", 62) == 0);

    CHECK_INT(ingest_llhls_last_part(&pl, &msn, &part), 0);
    CHECK_U64(msn, 110);
    CHECK_U64(part, 0);

    /* the delta update is the worker's index-delta.m3u8, byte for byte */

    CHECK_INT(ingest_llhls_skip_count(&pl), 4);
    CHECK_MEM(out, delta(), worker_delta);

    /* and parses as a delta update of the same stream */

    CHECK_INT(parse(worker_delta), INGEST_LLHLS_OK);
    CHECK_INT(pl.has_skip, 1);
    CHECK_U64(pl.skipped, 4);
    CHECK_U64(pl.media_sequence, 100);
    CHECK_U64(pl.first_msn, 104);
    CHECK_U64(pl.next_msn, 110);
    CHECK_INT(pl.nsegments, 6);
    CHECK_INT(pl.ntail, 1);
    CHECK_INT(ingest_llhls_skip_count(&pl), 0);
    CHECK_INT(delta(), 0);
}


static void
test_worker_builder(void)
{
    size_t    n;
    uint64_t  msn, part;

    /* the builder writes exactly the literal */

    n = worker(10, 1, 0);
    CHECK_MEM(text, n, worker_full);

    /* a stream just started: no segment, no part yet */

    n = worker(0, 0, 0);
    CHECK_MEM(text, n,
              WORKER_HEAD
              "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part300.m4s\"\n"
              "#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\","
              "LAST-MSN=100,LAST-PART=0\n");
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, 0);
    CHECK_INT(pl.ntail, 0);
    CHECK_U64(pl.first_msn, 100);
    CHECK_U64(pl.next_msn, 100);
    CHECK_INT(pl.body, strlen(WORKER_TOP));
    CHECK_INT(pl.tail, pl.body);
    CHECK_INT(ingest_llhls_last_part(&pl, &msn, &part), -1);

    /* the first parts */

    n = worker(0, 2, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, 0);
    CHECK_INT(pl.ntail, 2);
    CHECK_INT(pl.tail_duration, 667340);
    CHECK_INT(ingest_llhls_last_part(&pl, &msn, &part), 0);
    CHECK_U64(msn, 100);
    CHECK_U64(part, 1);
    CHECK_MEM(buf + pl.hint_off, pl.hint_len, "part302.m4s");

    /* a segment just closed: the last part is its last */

    n = worker(3, 0, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, 3);
    CHECK_INT(pl.ntail, 0);
    CHECK_INT(segs[2].nparts, 3);
    CHECK_INT(segs[0].nparts, 3);
    CHECK_INT(ingest_llhls_last_part(&pl, &msn, &part), 0);
    CHECK_U64(msn, 102);
    CHECK_U64(part, 2);

    /* the end of the stream */

    n = worker(5, 2, 1);
    CHECK(strstr(text, "seg104.m4s\n#EXT-X-ENDLIST\n#EXT-X-RENDITION-REPORT")
          != NULL);
    CHECK(strstr(text, "PRELOAD-HINT") == NULL);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(pl.endlist, 1);
    CHECK_INT(pl.ntail, 0);
    CHECK_INT(pl.hint_len, 0);
    CHECK_INT(pl.nsegments, 5);
    CHECK_INT(n, pl.len);
}


/*
 * A low-latency playlist in the style of the RFC's examples: an older
 * EXT-X-VERSION, the date before EXT-X-MAP, twelve parts a segment.
 */

#define RFC_HEAD                                                              \
    "#EXTM3U\n"                                                               \
    "#EXT-X-TARGETDURATION:4\n"                                               \
    "#EXT-X-VERSION:6\n"                                                      \
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,"          \
    "CAN-SKIP-UNTIL=12.0\n"                                                   \
    "#EXT-X-PART-INF:PART-TARGET=0.33334\n"                                   \
    "#EXT-X-MEDIA-SEQUENCE:266\n"

#define RFC_SEGS_0_2                                                          \
    "#EXT-X-PROGRAM-DATE-TIME:2019-02-14T02:13:36.106Z\n"                     \
    "#EXT-X-MAP:URI=\"init.mp4\"\n"                                           \
    "#EXTINF:4.00008,\n"                                                      \
    "fileSequence266.mp4\n"                                                   \
    "#EXTINF:4.00008,\n"                                                      \
    "fileSequence267.mp4\n"                                                   \
    "#EXTINF:4.00008,\n"                                                      \
    "fileSequence268.mp4\n"

#define RFC_SEGS_3_5                                                          \
    "#EXTINF:4.00008,\n"                                                      \
    "fileSequence269.mp4\n"                                                   \
    "#EXTINF:4.00008,\n"                                                      \
    "fileSequence270.mp4\n"                                                   \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.0.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.1.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.2.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.3.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.4.mp4\","                 \
    "INDEPENDENT=YES\n"                                                       \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.5.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.6.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.7.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.8.mp4\","                 \
    "INDEPENDENT=YES\n"                                                       \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.9.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.10.mp4\"\n"               \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart271.11.mp4\"\n"               \
    "#EXTINF:4.00008,\n"                                                      \
    "fileSequence271.mp4\n"                                                   \
    "#EXT-X-PROGRAM-DATE-TIME:2019-02-14T02:14:00.106Z\n"                     \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart272.a.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart272.b.mp4\"\n"                \
    "#EXT-X-PART:DURATION=0.33334,URI=\"filePart272.c.mp4\"\n"                \
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"filePart272.d.mp4\"\n"               \
    "#EXT-X-RENDITION-REPORT:URI=\"../1M/waitForMSN.php\",LAST-MSN=272,"      \
    "LAST-PART=2\n"                                                           \
    "#EXT-X-RENDITION-REPORT:URI=\"../4M/waitForMSN.php\",LAST-MSN=272,"      \
    "LAST-PART=1\n"

static void
test_rfc_example(void)
{
    ingest_llhls_request_t  req;

    CHECK_INT(parse(RFC_HEAD RFC_SEGS_0_2 RFC_SEGS_3_5), INGEST_LLHLS_OK);

    CHECK_INT(pl.version, 6);
    CHECK_U64(pl.target, 4);
    CHECK_INT(pl.part_target, 333340);
    CHECK_INT(pl.part_hold_back, 1000000);
    CHECK_INT(pl.can_skip_until, 12000000);
    CHECK_INT(pl.nsegments, 6);
    CHECK_U64(pl.next_msn, 272);
    CHECK_INT(segs[5].nparts, 12);
    CHECK_INT(segs[4].nparts, 0);
    CHECK_INT(pl.ntail, 3);
    CHECK_INT(pl.duration, 6 * 4000080 + 3 * 333340);
    CHECK_MEM(buf + pl.hint_off, pl.hint_len, "filePart272.d.mp4");

    /* the date ends the header: it belongs to the first segment */
    CHECK_INT(pl.body, strlen(RFC_HEAD));

    /* 3 s over parts of 0.33334 s: 8 (8.99...) */
    CHECK_U64(ingest_llhls_advance_part_limit(&pl), 8);
    CHECK_U64(ingest_llhls_hold_timeout_ms(&pl), 12000);

    /* the blocking requests of a client following the stream */

    CHECK_INT(decide("272", "2", NULL, &req), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("272", "3", NULL, &req), INGEST_LLHLS_HOLD);
    CHECK_INT(req.block, 1);
    CHECK_INT(req.has_part, 1);
    CHECK_U64(req.msn, 272);
    CHECK_U64(req.part, 3);
    CHECK_INT(decide("271", "11", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("271", "12", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("272", "10", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("272", "11", NULL, NULL), INGEST_LLHLS_PART_TOO_FAR);
    CHECK_INT(decide("273", "7", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("273", "8", NULL, NULL), INGEST_LLHLS_PART_TOO_FAR);
    CHECK_INT(decide("273", NULL, NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("274", NULL, NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);

    /*
     * 25.0005 s long, boundary 12 s: segments ending 21, 17 and 13 s
     * before the end go; the version goes up to 9; EXT-X-MAP, which
     * the later segments need, stays after EXT-X-SKIP.
     */

    CHECK_INT(ingest_llhls_skip_count(&pl), 3);
    CHECK_INT(decide(NULL, NULL, "YES", NULL), INGEST_LLHLS_SERVE_DELTA);
    CHECK_INT(decide("272", "3", "YES", NULL), INGEST_LLHLS_HOLD);

    CHECK_MEM(out, delta(),
              "#EXTM3U\n"
              "#EXT-X-TARGETDURATION:4\n"
              "#EXT-X-VERSION:9\n"
              "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,"
              "CAN-SKIP-UNTIL=12.0\n"
              "#EXT-X-PART-INF:PART-TARGET=0.33334\n"
              "#EXT-X-MEDIA-SEQUENCE:266\n"
              "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"
              "#EXT-X-MAP:URI=\"init.mp4\"\n"
              RFC_SEGS_3_5);
}


static void
test_syntax(void)
{
    /* CRLF, blanks at line ends, blank lines, comments, no final LF */

    CHECK_INT(parse("#EXTM3U\r\n"
                    "#EXT-X-TARGETDURATION:2 \r\n"
                    "\r\n"
                    "# a comment\r\n"
                    "#EXT-X-MEDIA-SEQUENCE:7\r\n"
                    "#EXTINF:2,first \"title\", with commas\r\n"
                    "a.ts\r\n"
                    "#EXTINF:1.5\r\n"
                    "\r\n"
                    "b.ts \t\r\n"
                    "#EXT-X-ENDLIST"),
              INGEST_LLHLS_OK);

    CHECK_INT(pl.nsegments, 2);
    CHECK_U64(pl.first_msn, 7);
    CHECK_INT(segs[0].duration, 2000000);
    CHECK_INT(segs[1].duration, 1500000);
    CHECK_INT(pl.endlist, 1);
    CHECK_INT(pl.version, 0);
    CHECK_INT(pl.version_len, 0);
    CHECK_INT(pl.part_target, 0);
    CHECK_INT(pl.can_block_reload, 0);
    CHECK_MEM(buf + segs[0].start, segs[0].end - segs[0].start,
              "#EXTINF:2,first \"title\", with commas\r\na.ts\r\n");
    CHECK_INT(file("a.ts"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("b.ts"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("b.ts \t"), INGEST_LLHLS_UNKNOWN);

    /* a comment before the first segment stays in the header */
    CHECK(memcmp(buf + pl.body, "#EXTINF:2,", 10) == 0);

    /* durations: rounding to the microsecond, many digits */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:10\n"
                    "#EXTINF:0.0000004,\na\n"
                    "#EXTINF:0.0000005,\nb\n"
                    "#EXTINF:9.99999949999,\nc\n"
                    "#EXTINF:3.,\nd\n"
                    "#EXTINF:.5,\ne\n"
                    "#EXTINF:0010.000001000,\nf\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(segs[0].duration, 0);
    CHECK_INT(segs[1].duration, 1);
    CHECK_INT(segs[2].duration, 9999999);
    CHECK_INT(segs[3].duration, 3000000);
    CHECK_INT(segs[4].duration, 500000);
    CHECK_INT(segs[5].duration, 10000001);

    /* unknown tags, byte ranges, discontinuities, keys, I-frames */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:6\n"
                    "#EXT-X-I-FRAMES-ONLY\n"
                    "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                    "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
                    "#EXT-X-START:TIME-OFFSET=-12.0,PRECISE=YES\n"
                    "#EXT-UNKNOWN-HEADER:1\n"
                    "#EXT-X-KEY:METHOD=AES-128,URI=\"k1\","
                    "IV=0x0123456789abcdef0123456789abcdef\n"
                    "#EXT-X-BYTERANGE:1000@0\n"
                    "#EXTINF:6,\nall.ts\n"
                    "#EXT-X-DISCONTINUITY\n#EXT-X-GAP\n"
                    "#EXT-X-BITRATE:3000\n"
                    "#EXT-X-BYTERANGE:1000\n"
                    "#EXTINF:6,\nall.ts\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, 2);
    CHECK_INT(pl.version, 4);
    CHECK_MEM(buf + pl.version_off, pl.version_len, "4");

    /* an unknown tag counts as a tag of the segment after it */
    CHECK(memcmp(buf + pl.body, "#EXT-UNKNOWN-HEADER", 19) == 0);

    /* attribute lists: blanks after commas, a trailing comma, order */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1.5, "
                    "CAN-BLOCK-RELOAD=YES,HOLD-BACK=3,CAN-SKIP-DATERANGES=YES,"
                    "CAN-SKIP-UNTIL=6,FUTURE-ATTR=\"x,y\",\n"
                    "#EXT-X-PART-INF:PART-TARGET=0.5,FUTURE=1\n"
                    "#EXT-X-PART:URI=\"p,0\",BYTERANGE=\"100@0\","
                    "DURATION=0.5,GAP=YES\n"
                    "#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=\"init2.mp4\"\n"
                    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p,1\","
                    "BYTERANGE-START=100\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(pl.part_hold_back, 1500000);
    CHECK_INT(pl.hold_back, 3000000);
    CHECK_INT(pl.can_skip_until, 6000000);
    CHECK_INT(pl.can_block_reload, 1);
    CHECK_INT(pl.can_skip_dateranges, 1);
    CHECK_INT(pl.part_target, 500000);
    CHECK_INT(pl.ntail, 1);
    CHECK_MEM(buf + pl.hint_off, pl.hint_len, "p,1");
    CHECK_INT(file("p,0"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("p,1"), INGEST_LLHLS_PRELOAD_HINTED);
    CHECK_INT(file("init2.mp4"), INGEST_LLHLS_PRELOAD_HINTED);

    /* NO is a value too */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=NO\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(pl.can_block_reload, 0);

    /* an empty playlist is a playlist */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1"), INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, 0);
    CHECK_INT(pl.body, pl.len);
    CHECK_INT(pl.tail, pl.len);
    CHECK_INT(pl.duration, 0);

    /* not at the line start: a URI */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n"
                    " #EXT-X-ENDLIST\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, 1);
    CHECK_INT(pl.endlist, 0);
}


static void
test_errors(void)
{
    size_t  off;

#define HEAD  "#EXTM3U\n#EXT-X-TARGETDURATION:1\n"

    /* the first line */

    CHECK_INT(parse(""), INGEST_LLHLS_NOT_PLAYLIST);
    CHECK_INT(parse("\n#EXTM3U\n"), INGEST_LLHLS_NOT_PLAYLIST);
    CHECK_INT(parse("#EXTM3"), INGEST_LLHLS_NOT_PLAYLIST);
    CHECK_INT(parse("#EXTM3UX\n"), INGEST_LLHLS_NOT_PLAYLIST);
    CHECK_INT(parse("#EXTM3U:1\n"), INGEST_LLHLS_NOT_PLAYLIST);
    CHECK_INT(parse("\xef\xbb\xbf#EXTM3U\n"), INGEST_LLHLS_NOT_PLAYLIST);
    CHECK_INT(parse("#EXTINF:1,\n#EXTM3U\n"), INGEST_LLHLS_NOT_PLAYLIST);
    CHECK_INT(ingest_llhls_parse(NULL, 0, &pl, segs, MAX_SEGS),
              INGEST_LLHLS_NOT_PLAYLIST);

    /* too large: refused before any byte is read */
    CHECK_INT(ingest_llhls_parse((const unsigned char *) "#EXTM3U\n",
                                 (size_t) INGEST_LLHLS_MAX_SIZE + 1, &pl, segs,
                                 MAX_SEGS),
              INGEST_LLHLS_TOO_LARGE);

    /* a multivariant playlist */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-VERSION:7\n"
                    "#EXT-X-STREAM-INF:BANDWIDTH=1000\nv.m3u8\n"),
              INGEST_LLHLS_NOT_MEDIA);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\"\n"),
              INGEST_LLHLS_NOT_MEDIA);

    /* EXT-X-TARGETDURATION */

    CHECK_INT(parse("#EXTM3U\n#EXTINF:1,\na\n"), INGEST_LLHLS_NO_TARGET);
    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:4.5\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:-1\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1000001\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1000000\n"),
              INGEST_LLHLS_OK);

    /* tags allowed once */

    CHECK_INT(parse(HEAD "#EXT-X-TARGETDURATION:1\n"),
              INGEST_LLHLS_DUPLICATE_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-VERSION:9\n#EXT-X-VERSION:9\n"),
              INGEST_LLHLS_DUPLICATE_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-MEDIA-SEQUENCE:1\n"),
              INGEST_LLHLS_DUPLICATE_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=1\n"
                    "#EXT-X-PART-INF:PART-TARGET=1\n"),
              INGEST_LLHLS_DUPLICATE_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
                    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"),
              INGEST_LLHLS_DUPLICATE_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"
                    "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"),
              INGEST_LLHLS_DUPLICATE_TAG);
    CHECK_INT(parse(HEAD "#EXTM3U\n"), INGEST_LLHLS_DUPLICATE_TAG);

    /* values */

    CHECK_INT(parse(HEAD "#EXT-X-VERSION:x\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-VERSION:65536\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA-SEQUENCE:1e3\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA-SEQUENCE:9223372036854775808\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXTINF:abc,\na\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXTINF:-1,\na\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXTINF:,\na\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXTINF:.,\na\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXTINF:1.2.3,\na\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXTINF\na\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXTINF:1000001,\na\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=0\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=\"1\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:FOO=1\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF\n"), INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=MAYBE\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=\"YES\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:CAN-SKIP-DATERANGES=yes\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=\"6\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:HOLD-BACK=-3\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1s\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SKIP:SKIPPED-SEGMENTS=x\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SKIP:RECENTLY-REMOVED-DATERANGES=\"\"\n"),
              INGEST_LLHLS_BAD_TAG);

    /* attribute list syntax */

    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:can-block-reload=YES\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:=YES\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:A=1,,B=2\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:A=1 B=2\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:A=\"1\"B=2\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-SERVER-CONTROL:A=x\"y\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"unterminated\n"),
              INGEST_LLHLS_BAD_TAG);

    /* parts, hints, maps */

    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=1\n"
                    "#EXT-X-PART:URI=\"p\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=1\n"
                    "#EXT-X-PART:DURATION=1\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=1\n"
                    "#EXT-X-PART:DURATION=1,URI=p\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=1\n"
                    "#EXT-X-PART:DURATION=\"1\",URI=\"p\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PART-INF:PART-TARGET=1\n#EXT-X-PART\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PRELOAD-HINT:URI=\"p\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PRELOAD-HINT:TYPE=PART\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-PRELOAD-HINT:TYPE=\"PART\",URI=\"p\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-MAP:BYTERANGE=\"1@0\"\n"),
              INGEST_LLHLS_BAD_TAG);
    CHECK_INT(parse(HEAD "#EXT-X-MAP:URI=init.mp4\n"), INGEST_LLHLS_BAD_TAG);

    /* EXT-X-PART without EXT-X-PART-INF, wherever it is */

    CHECK_INT(parse(HEAD "#EXT-X-PART:DURATION=1,URI=\"p\"\n"),
              INGEST_LLHLS_NO_PART_INF);
    CHECK_INT(pl.err_off, strlen(HEAD));
    CHECK_INT(parse(HEAD "#EXT-X-PART:DURATION=1,URI=\"p\"\n"
                    "#EXT-X-PART-INF:PART-TARGET=1\n"),
              INGEST_LLHLS_OK);

    /* segments */

    CHECK_INT(parse(HEAD "a.ts\n"), INGEST_LLHLS_BAD_SEGMENT);
    CHECK_INT(parse(HEAD "#EXTINF:1,\na.ts\nb.ts\n"),
              INGEST_LLHLS_BAD_SEGMENT);
    CHECK_INT(parse(HEAD "#EXTINF:1,\n#EXTINF:1,\na.ts\n"),
              INGEST_LLHLS_BAD_SEGMENT);
    CHECK_INT(parse(HEAD "#EXTINF:1,\na.ts\n#EXTINF:1,\n"),
              INGEST_LLHLS_BAD_SEGMENT);
    CHECK_INT(pl.err_off, strlen(HEAD "#EXTINF:1,\na.ts\n"));
    CHECK_INT(parse(HEAD "#EXTINF:1,\n#EXT-X-ENDLIST\n"),
              INGEST_LLHLS_BAD_SEGMENT);

    /* sequence numbers */

    CHECK_INT(parse(HEAD "#EXTINF:1,\na.ts\n#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"),
              INGEST_LLHLS_BAD_SEQUENCE);
    CHECK_INT(parse(HEAD "#EXTINF:1,\n#EXT-X-SKIP:SKIPPED-SEGMENTS=1\na\n"),
              INGEST_LLHLS_BAD_SEQUENCE);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA-SEQUENCE:9223372036854775807\n"
                    "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"),
              INGEST_LLHLS_BAD_SEQUENCE);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA-SEQUENCE:9223372036854775805\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA-SEQUENCE:9223372036854775805\n"
                    "#EXTINF:1,\na\n"),
              INGEST_LLHLS_BAD_SEQUENCE);
    CHECK_INT(parse(HEAD "#EXT-X-MEDIA-SEQUENCE:9223372036854775804\n"
                    "#EXTINF:1,\na\n"),
              INGEST_LLHLS_OK);
    CHECK_U64(pl.next_msn, (uint64_t) INT64_MAX - 2);

    /* err_off names the line */

    CHECK_INT(parse(HEAD "#EXTINF:1,\na\n#EXT-X-MAP:URI=x\n"),
              INGEST_LLHLS_BAD_TAG);
    off = strlen(HEAD "#EXTINF:1,\na\n");
    CHECK_INT(pl.err_off, off);

#undef HEAD
}


static void
test_limits(void)
{
    char      *s;
    size_t     n, i;
    unsigned   k;

    /* exactly as many segments as the array holds */

    n = worker(MAX_SEGS, 0, 0);
    CHECK_INT(parse_n(text, n, MAX_SEGS), INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, MAX_SEGS);
    CHECK_INT(parse_n(text, n, MAX_SEGS - 1), INGEST_LLHLS_TOO_MANY_SEGMENTS);
    CHECK_INT(parse_n(text, n, 0), INGEST_LLHLS_TOO_MANY_SEGMENTS);

    n = worker(0, 3, 0);
    CHECK_INT(parse_n(text, n, 0), INGEST_LLHLS_OK);
    CHECK_INT(pl.ntail, 3);

    /* INGEST_LLHLS_MAX_PARTS parts in a segment and in the tail */

    s = malloc(100 + (INGEST_LLHLS_MAX_PARTS + 1) * 40);
    if (s == NULL) {
        abort();
    }

    for (k = 0; k < 4; k++) {
        n = (size_t) sprintf(s, "#EXTM3U\n#EXT-X-TARGETDURATION:1000\n"
                             "#EXT-X-PART-INF:PART-TARGET=1\n");

        for (i = 0; i < INGEST_LLHLS_MAX_PARTS + k / 2; i++) {
            n += (size_t) sprintf(s + n, "#EXT-X-PART:DURATION=1,"
                                  "URI=\"p%zu\"\n", i);
        }

        /* k & 1: the parts of a segment, else of the tail */

        if (k & 1) {
            n += (size_t) sprintf(s + n, "#EXTINF:1024,\ns\n");
        }

        if (k / 2 == 0) {
            CHECK_INT(parse_n(s, n, MAX_SEGS), INGEST_LLHLS_OK);
            CHECK_INT(k & 1 ? segs[0].nparts : pl.ntail,
                      INGEST_LLHLS_MAX_PARTS);

        } else {
            CHECK_INT(parse_n(s, n, MAX_SEGS), INGEST_LLHLS_TOO_MANY_PARTS);
        }
    }

    free(s);

    /* the longest durations add up */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1000000\n"
                    "#EXT-X-PART-INF:PART-TARGET=1000000.9999995\n"
                    "#EXTINF:1000000.9999995,\na\n"
                    "#EXTINF:1000000.9999995,\na\n"
                    "#EXT-X-PART:DURATION=1000000.9999995,URI=\"p\"\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(segs[0].duration, 1000001000000LL);
    CHECK_INT(pl.duration, 3 * 1000001000000LL);
}


static void
test_block(void)
{
    ingest_llhls_request_t  req;

    CHECK_INT(parse(worker_full), INGEST_LLHLS_OK);

    /* no directive */

    CHECK_INT(decide(NULL, NULL, NULL, &req), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(req.block, 0);
    CHECK_INT(req.skip, 0);

    /* segments already there, or gone from the playlist: at once */

    CHECK_INT(decide("0", NULL, NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("99", NULL, NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("99", "50", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("100", NULL, NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("105", "0", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("105", "900", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("109", NULL, NULL, NULL), INGEST_LLHLS_SERVE_FULL);

    /* the last whole segment's parts, and past them: 110.0 is there */

    CHECK_INT(decide("109", "2", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("109", "3", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("109", "1000", NULL, NULL), INGEST_LLHLS_SERVE_FULL);

    /* the segment in progress */

    CHECK_INT(decide("110", "0", NULL, &req), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(req.block, 1);
    CHECK_INT(decide("110", "1", NULL, &req), INGEST_LLHLS_HOLD);
    CHECK_U64(req.msn, 110);
    CHECK_U64(req.part, 1);
    CHECK_INT(req.has_part, 1);
    CHECK_INT(decide("110", NULL, NULL, &req), INGEST_LLHLS_HOLD);
    CHECK_INT(req.has_part, 0);
    CHECK_INT(decide("111", NULL, NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("111", "0", NULL, NULL), INGEST_LLHLS_HOLD);

    /* two segments after the last whole one at most */

    CHECK_INT(decide("112", NULL, NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);
    CHECK_INT(decide("112", "0", NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);
    CHECK_INT(decide("9223372036854775807", NULL, NULL, NULL),
              INGEST_LLHLS_MSN_TOO_FAR);

    /*
     * The Advance Part Limit over parts of 0.334 s: 8 parts after the
     * last listed, 110.0; a later segment counts at least one part.
     */

    CHECK_U64(ingest_llhls_advance_part_limit(&pl), 8);
    CHECK_INT(decide("110", "8", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("110", "9", NULL, NULL), INGEST_LLHLS_PART_TOO_FAR);
    CHECK_INT(decide("111", "7", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("111", "8", NULL, NULL), INGEST_LLHLS_PART_TOO_FAR);
    CHECK_INT(decide("110", "9223372036854775807", NULL, NULL),
              INGEST_LLHLS_PART_TOO_FAR);
    CHECK_INT(decide("111", "9223372036854775807", NULL, NULL),
              INGEST_LLHLS_PART_TOO_FAR);

    /* malformed directives */

    CHECK_INT(decide(NULL, "1", NULL, NULL), INGEST_LLHLS_PART_WITHOUT_MSN);
    CHECK_INT(decide(NULL, "x", NULL, NULL), INGEST_LLHLS_PART_WITHOUT_MSN);
    CHECK_INT(decide(NULL, "", NULL, NULL), INGEST_LLHLS_PART_WITHOUT_MSN);
    CHECK_INT(decide("", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("abc", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("-1", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("+110", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide(" 110", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("110 ", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("0x6e", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("1.0", NULL, NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("9223372036854775808", NULL, NULL, NULL),
              INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("00000000000000000000110", NULL, NULL, NULL),
              INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("110", "", NULL, NULL), INGEST_LLHLS_BAD_PART);
    CHECK_INT(decide("110", "a", NULL, NULL), INGEST_LLHLS_BAD_PART);
    CHECK_INT(decide("110", "-1", NULL, NULL), INGEST_LLHLS_BAD_PART);
    CHECK_INT(decide("x", "x", NULL, NULL), INGEST_LLHLS_BAD_MSN);
    CHECK_INT(decide("0110", "01", NULL, &req), INGEST_LLHLS_HOLD);
    CHECK_U64(req.msn, 110);
    CHECK_U64(req.part, 1);
}


static void
test_block_edges(void)
{
    ingest_llhls_request_t  req;

    /* a segment just closed, nothing in progress: past it waits */

    worker(10, 0, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(pl.ntail, 0);
    CHECK_INT(decide("109", "2", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("109", "3", NULL, &req), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("109", "100", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("110", "0", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("110", "8", NULL, NULL), INGEST_LLHLS_PART_TOO_FAR);
    CHECK_INT(decide("110", "7", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("111", "6", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("111", "7", NULL, NULL), INGEST_LLHLS_PART_TOO_FAR);
    CHECK_INT(decide("112", NULL, NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);

    /* 109.3 means 110.0: the next part answers it */

    worker(10, 1, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_ready(&pl, &req), INGEST_LLHLS_SERVE_FULL);

    /* a stream that just started */

    worker(0, 0, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(decide("99", NULL, NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("100", NULL, NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("100", "0", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("101", NULL, NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("102", NULL, NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(decide("0", NULL, NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("1", NULL, NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("2", NULL, NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);

    /* ENDLIST: the directives are ignored, even malformed ones */

    worker(5, 0, 1);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(pl.endlist, 1);
    CHECK_INT(decide("105", NULL, NULL, &req), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(req.block, 0);
    CHECK_INT(decide("200", "5", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide(NULL, "5", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("x", "y", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("104", "99", "YES", NULL), INGEST_LLHLS_SERVE_FULL);

    /* no CAN-BLOCK-RELOAD=YES: nothing blocks */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-PART-INF:PART-TARGET=0.5\n"
                    "#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=1.5\n"
                    "#EXTINF:1,\na\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(decide("5", "1", NULL, &req), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(req.block, 0);
    CHECK_INT(decide(NULL, "1", NULL, NULL), INGEST_LLHLS_SERVE_FULL);

    /* no EXT-X-PART-INF: _HLS_part is checked, then ignored */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
                    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
                    "#EXT-X-MEDIA-SEQUENCE:5\n"
                    "#EXTINF:2,\na\n#EXTINF:2,\nb\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(decide("6", "99", NULL, &req), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(req.has_part, 0);
    CHECK_INT(decide("7", "99", NULL, &req), INGEST_LLHLS_HOLD);
    CHECK_INT(req.has_part, 0);
    CHECK_U64(req.part, 0);
    CHECK_INT(decide("7", "x", NULL, NULL), INGEST_LLHLS_BAD_PART);
    CHECK_INT(decide("8", "0", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("9", "0", NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);

    /* a delta update as the playlist: numbering after the skipped */

    CHECK_INT(parse(worker_delta), INGEST_LLHLS_OK);
    CHECK_INT(decide("103", NULL, NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("109", "2", NULL, NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide("110", "1", NULL, NULL), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("112", NULL, NULL, NULL), INGEST_LLHLS_MSN_TOO_FAR);
    CHECK_INT(decide(NULL, NULL, "YES", NULL), INGEST_LLHLS_SERVE_FULL);
}


static void
test_ready(void)
{
    ingest_llhls_request_t  r1, r2, r3, r4, r5;

    /* requests held on a playlist with 10 segments and 1 part */

    CHECK_INT(parse(worker_full), INGEST_LLHLS_OK);
    CHECK_INT(decide("110", "1", NULL, &r1), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("110", NULL, NULL, &r2), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("111", "0", "YES", &r3), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("110", "5", NULL, &r4), INGEST_LLHLS_HOLD);
    CHECK_INT(decide("105", NULL, NULL, &r5), INGEST_LLHLS_SERVE_FULL);

    /* the same playlist again answers none of them */

    CHECK_INT(ingest_llhls_ready(&pl, &r1), INGEST_LLHLS_HOLD);
    CHECK_INT(ingest_llhls_ready(&pl, &r2), INGEST_LLHLS_HOLD);
    CHECK_INT(ingest_llhls_ready(&pl, &r3), INGEST_LLHLS_HOLD);
    CHECK_INT(ingest_llhls_ready(&pl, &r4), INGEST_LLHLS_HOLD);
    CHECK_INT(ingest_llhls_ready(&pl, &r5), INGEST_LLHLS_SERVE_FULL);

    /* part 110.1 */

    worker(10, 2, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_ready(&pl, &r1), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(ingest_llhls_ready(&pl, &r2), INGEST_LLHLS_HOLD);
    CHECK_INT(ingest_llhls_ready(&pl, &r4), INGEST_LLHLS_HOLD);

    /* 110 is whole with 3 parts: 110.5 now means 111.0 */

    worker(11, 0, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_ready(&pl, &r1), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(ingest_llhls_ready(&pl, &r2), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(ingest_llhls_ready(&pl, &r3), INGEST_LLHLS_HOLD);
    CHECK_INT(ingest_llhls_ready(&pl, &r4), INGEST_LLHLS_HOLD);

    /* 111.0: the delta asked for with it */

    worker(11, 1, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_ready(&pl, &r3), INGEST_LLHLS_SERVE_DELTA);
    CHECK_INT(ingest_llhls_ready(&pl, &r4), INGEST_LLHLS_SERVE_FULL);

    /* later playlists keep answering them */

    worker(20, 2, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_ready(&pl, &r1), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(ingest_llhls_ready(&pl, &r3), INGEST_LLHLS_SERVE_DELTA);

    /* the stream ends before a held request is due: served */

    CHECK_INT(parse(worker_full), INGEST_LLHLS_OK);
    CHECK_INT(decide("111", "2", "YES", &r1), INGEST_LLHLS_HOLD);
    worker(10, 0, 1);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_ready(&pl, &r1), INGEST_LLHLS_SERVE_FULL);

    /*
     * A new session of the stream starts over at a lower media
     * sequence: held requests wait for their number (until the timeout)
     */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
                    "#EXT-X-PART-INF:PART-TARGET=0.334\n"
                    "#EXTINF:1,\nseg0.m4s\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_ready(&pl, &r2), INGEST_LLHLS_HOLD);
    CHECK_INT(ingest_llhls_ready(&pl, &r4), INGEST_LLHLS_HOLD);

    /* a request that does not block never waits */

    memset(&r5, 0, sizeof(r5));
    r5.msn = 1000;
    CHECK_INT(ingest_llhls_ready(&pl, &r5), INGEST_LLHLS_SERVE_FULL);

    /* numbers no decision makes do not wrap around */

    r5.block = 1;
    r5.has_part = 1;
    r5.msn = UINT64_MAX;
    r5.part = UINT64_MAX;
    CHECK_INT(ingest_llhls_ready(&pl, &r5), INGEST_LLHLS_HOLD);
    r5.has_part = 0;
    CHECK_INT(ingest_llhls_ready(&pl, &r5), INGEST_LLHLS_HOLD);
}


static void
test_skip_decision(void)
{
    ingest_llhls_request_t  req;

    CHECK_INT(parse(worker_full), INGEST_LLHLS_OK);

    CHECK_INT(decide(NULL, NULL, "YES", &req), INGEST_LLHLS_SERVE_DELTA);
    CHECK_INT(req.skip, 1);
    CHECK_INT(req.block, 0);
    CHECK_INT(decide(NULL, NULL, "v2", &req), INGEST_LLHLS_SERVE_DELTA);
    CHECK_INT(req.skip, 1);
    CHECK_INT(decide("110", "0", "YES", NULL), INGEST_LLHLS_SERVE_DELTA);
    CHECK_INT(decide("110", "1", "v2", NULL), INGEST_LLHLS_HOLD);

    /* other values are ignored */

    CHECK_INT(decide(NULL, NULL, "NO", &req), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(req.skip, 0);
    CHECK_INT(decide(NULL, NULL, "yes", NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide(NULL, NULL, "V2", NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide(NULL, NULL, "", NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(decide(NULL, NULL, "YESS", NULL), INGEST_LLHLS_SERVE_FULL);

    /* a playlist too short to skip a segment: the full one */

    worker(7, 0, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_skip_count(&pl), 1);
    worker(6, 1, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_skip_count(&pl), 0);
    CHECK_INT(decide(NULL, NULL, "YES", NULL), INGEST_LLHLS_SERVE_FULL);
    worker(6, 0, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_skip_count(&pl), 0);
    CHECK_INT(decide(NULL, NULL, "YES", NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(delta(), 0);
    worker(0, 0, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(decide(NULL, NULL, "YES", NULL), INGEST_LLHLS_SERVE_FULL);

    /* without CAN-SKIP-UNTIL */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
                    "#EXTINF:1,\na\n#EXTINF:1,\na\n#EXTINF:1,\na\n"
                    "#EXTINF:1,\na\n#EXTINF:1,\na\n#EXTINF:1,\na\n"
                    "#EXTINF:1,\na\n#EXTINF:1,\na\n#EXTINF:1,\na\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_skip_count(&pl), 0);
    CHECK_INT(decide(NULL, NULL, "YES", NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(delta(), 0);

    /* ENDLIST */

    worker(20, 0, 1);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_skip_count(&pl), 14);
    CHECK_INT(decide(NULL, NULL, "YES", NULL), INGEST_LLHLS_SERVE_FULL);
    CHECK_INT(delta(), 0);
}


static void
test_limits_helpers(void)
{
    ingest_llhls_playlist_t  p;

    memset(&p, 0, sizeof(p));

    CHECK_U64(ingest_llhls_advance_part_limit(&p), 3);
    p.part_target = 334000;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 8);
    p.part_target = 333340;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 8);
    p.part_target = 333333;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 9);
    p.part_target = 200000;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 15);
    p.part_target = 999999;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 3);
    p.part_target = 1000000;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 3);
    p.part_target = 2000000;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 3);
    p.part_target = 1;
    CHECK_U64(ingest_llhls_advance_part_limit(&p), 3000000);

    CHECK_U64(ingest_llhls_hold_timeout_ms(&p), INGEST_LLHLS_MIN_HOLD_MS);
    p.target = 1;
    CHECK_U64(ingest_llhls_hold_timeout_ms(&p), 3000);
    p.target = 4;
    CHECK_U64(ingest_llhls_hold_timeout_ms(&p), 12000);
    p.target = INGEST_LLHLS_MAX_SECONDS;
    CHECK_U64(ingest_llhls_hold_timeout_ms(&p),
              (uint64_t) INGEST_LLHLS_MAX_SECONDS * 3000);
}


static void
test_delta(void)
{
    size_t  n;

    /*
     * Segments of exactly 1 s, no tail, boundary 6 s: a segment whose
     * end is exactly 6 s before the end is skipped (no part of it is
     * within the boundary), the next is not.
     */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6\n"
                    "#EXTINF:1,\ns0\n#EXTINF:1,\ns1\n#EXTINF:1,\ns2\n"
                    "#EXTINF:1,\ns3\n#EXTINF:1,\ns4\n#EXTINF:1,\ns5\n"
                    "#EXTINF:1,\ns6\n#EXTINF:1,\ns7\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_skip_count(&pl), 2);

    /* no EXT-X-VERSION: added after #EXTM3U */

    CHECK_MEM(out, delta(),
              "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n"
              "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6\n"
              "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n"
              "#EXTINF:1,\ns2\n"
              "#EXTINF:1,\ns3\n#EXTINF:1,\ns4\n#EXTINF:1,\ns5\n"
              "#EXTINF:1,\ns6\n#EXTINF:1,\ns7\n");

    /* one microsecond less and only one goes */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6\n"
                    "#EXTINF:1,\ns0\n#EXTINF:1,\ns1\n#EXTINF:1,\ns2\n"
                    "#EXTINF:1,\ns3\n#EXTINF:1,\ns4\n#EXTINF:1,\ns5\n"
                    "#EXTINF:1,\ns6\n#EXTINF:0.999999,\ns7\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(ingest_llhls_skip_count(&pl), 1);

    /* a version of 9 or more stays; the delta of a delta is none */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-VERSION:12\n"
                    "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=1\n"
                    "#EXTINF:1,\ns0\n#EXTINF:1,\ns1\n#EXTINF:1,\ns2\n"),
              INGEST_LLHLS_OK);
    n = delta();
    CHECK_MEM(out, n,
              "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-VERSION:12\n"
              "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=1\n"
              "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n#EXTINF:1,\ns2\n");

    CHECK_INT(parse_n((const char *) out, n, MAX_SEGS), INGEST_LLHLS_OK);
    CHECK_INT(pl.has_skip, 1);
    CHECK_U64(pl.first_msn, 2);
    CHECK_INT(delta(), 0);

    /* a version after the segments, with leading zeros, CRLF kept */

    CHECK_INT(parse("#EXTM3U\r\n#EXT-X-TARGETDURATION:1\r\n"
                    "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=1\r\n"
                    "#EXTINF:1,\r\ns0\r\n#EXTINF:1,\r\ns1\r\n"
                    "#EXT-X-VERSION:003\r\n"),
              INGEST_LLHLS_OK);
    CHECK_MEM(out, delta(),
              "#EXTM3U\r\n#EXT-X-TARGETDURATION:1\r\n"
              "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=1\r\n"
              "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"
              "#EXTINF:1,\r\ns1\r\n#EXT-X-VERSION:9\r\n");

    /* every segment can go when the tail alone is past the boundary */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-VERSION:9\n"
                    "#EXT-X-PART-INF:PART-TARGET=1\n"
                    "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=1\n"
                    "#EXTINF:1,\ns0\n"
                    "#EXT-X-PART:DURATION=1,URI=\"p\"\n"),
              INGEST_LLHLS_OK);
    n = delta();
    CHECK_MEM(out, n,
              "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-VERSION:9\n"
              "#EXT-X-PART-INF:PART-TARGET=1\n"
              "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=1\n"
              "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n"
              "#EXT-X-PART:DURATION=1,URI=\"p\"\n");
    CHECK_INT(parse_n((const char *) out, n, MAX_SEGS), INGEST_LLHLS_OK);
    CHECK_INT(pl.nsegments, 0);
    CHECK_U64(pl.next_msn, 1);
    CHECK_INT(pl.ntail, 1);
}


static void
test_delta_tags(void)
{
    size_t  n;

    /*
     * What goes with a skipped segment: its media segment tags,
     * unknown tags, comments, blank lines. What stays: playlist tags,
     * date ranges, and keys, maps and bitrates, which later segments
     * inherit.
     */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                    "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12\n"
                    "#EXT-X-MEDIA-SEQUENCE:40\n"
                    "#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
                    "# comment in the header\n"
                    "#EXT-X-PROGRAM-DATE-TIME:2025-01-01T00:00:00.000Z\n"
                    "#EXT-X-KEY:METHOD=AES-128,URI=\"k1\"\n"
                    "#EXT-X-MAP:URI=\"i1.mp4\"\n"
                    "#EXT-X-CUE-OUT:30\n"
                    "#EXTINF:2,\ns40\n"
                    "# comment\n"
                    "\n"
                    "#EXT-X-DATERANGE:ID=\"ad\",START-DATE="
                    "\"2025-01-01T00:00:02.000Z\"\n"
                    "#EXT-X-DISCONTINUITY\n"
                    "#EXT-X-MAP:URI=\"i2.mp4\"\n"
                    "#EXT-X-BITRATE:800\n"
                    "#EXT-X-BYTERANGE:100@0\n"
                    "#EXTINF:2,\ns41\n"
                    "#EXT-X-KEY:METHOD=NONE\n"
                    "#EXT-X-GAP\n"
                    "#EXTINF:2,\ns42\n"
                    "#EXT-X-CUE-IN\n"
                    "#EXTINF:2,\ns43\n#EXTINF:2,\ns44\n#EXTINF:2,\ns45\n"
                    "#EXTINF:2,\ns46\n#EXTINF:2,\ns47\n#EXTINF:2,\ns48\n"
                    "#EXT-X-ENDLIST-NOT\n"),
              INGEST_LLHLS_OK);

    /* 18 s, boundary 12 s: 40, 41, 42 go */

    CHECK_INT(ingest_llhls_skip_count(&pl), 3);

    /* the header reaches to the first media segment tag */
    CHECK(memcmp(buf + pl.body, "#EXT-X-PROGRAM-DATE-TIME", 24) == 0);

    n = delta();
    CHECK_MEM(out, n,
              "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n"
              "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12\n"
              "#EXT-X-MEDIA-SEQUENCE:40\n"
              "#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
              "# comment in the header\n"
              "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"
              "#EXT-X-KEY:METHOD=AES-128,URI=\"k1\"\n"
              "#EXT-X-MAP:URI=\"i1.mp4\"\n"
              "#EXT-X-DATERANGE:ID=\"ad\",START-DATE="
              "\"2025-01-01T00:00:02.000Z\"\n"
              "#EXT-X-MAP:URI=\"i2.mp4\"\n"
              "#EXT-X-BITRATE:800\n"
              "#EXT-X-KEY:METHOD=NONE\n"
              "#EXT-X-CUE-IN\n"
              "#EXTINF:2,\ns43\n#EXTINF:2,\ns44\n#EXTINF:2,\ns45\n"
              "#EXTINF:2,\ns46\n#EXTINF:2,\ns47\n#EXTINF:2,\ns48\n"
              "#EXT-X-ENDLIST-NOT\n");

    CHECK_INT(parse_n((const char *) out, n, MAX_SEGS), INGEST_LLHLS_OK);
    CHECK_INT(pl.version, 9);
    CHECK_U64(pl.first_msn, 43);
    CHECK_INT(pl.nsegments, 6);
}


static void
test_delta_sizing(void)
{
    size_t          n, cap;
    unsigned char  *small;

    CHECK_INT(parse(worker_full), INGEST_LLHLS_OK);

    n = ingest_llhls_delta(buf, &pl, NULL, 0);
    CHECK_INT(n, sizeof(worker_delta) - 1);
    CHECK_INT(ingest_llhls_delta(buf, &pl, NULL, 1000000), n);

    /*
     * Every buffer, too small or exactly large enough, of exactly its
     * size on the heap: ASan catches a write past it; the length is
     * the same; the exact size holds the whole delta.
     */

    for (cap = 0; cap <= n; cap++) {
        small = test_dup(worker_delta, cap);
        memset(small, 'x', cap);

        if (ingest_llhls_delta(buf, &pl, small, cap) != n) {
            TEST_FAIL("cap %zu: length changed", cap);
        }

        if (cap == n) {
            CHECK_MEM(small, n, worker_delta);
        }

        free(small);
    }
}


static void
test_file(void)
{
    CHECK_INT(parse(worker_full), INGEST_LLHLS_OK);

    CHECK_INT(file("part330.m4s"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("part322.m4s"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("seg100.m4s"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("seg109.m4s"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("init.mp4"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("part331.m4s"), INGEST_LLHLS_PRELOAD_HINTED);

    /* not named: parts no longer listed, later parts, near names */

    CHECK_INT(file("part300.m4s"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("part332.m4s"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("seg110.m4s"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("part33"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("part331.m4s2"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("PART331.M4S"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("../audio/index.m3u8"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("#EXTM3U"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file(""), INGEST_LLHLS_UNKNOWN);

    CHECK_INT(ingest_llhls_http_status(file("part330.m4s")), 200);
    CHECK_INT(ingest_llhls_http_status(file("part331.m4s")), 503);
    CHECK_INT(ingest_llhls_http_status(file("part332.m4s")), 404);

    /* the next playlist lists the hinted part and hints the next */

    worker(10, 2, 0);
    CHECK_INT(parse(text), INGEST_LLHLS_OK);
    CHECK_INT(file("part331.m4s"), INGEST_LLHLS_LISTED);
    CHECK_INT(file("part332.m4s"), INGEST_LLHLS_PRELOAD_HINTED);

    /* a hint that does not come: an ended stream hints nothing */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-PART-INF:PART-TARGET=0.5\n"
                    "#EXTINF:1,\ns0\n"
                    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p9\"\n"
                    "#EXT-X-ENDLIST\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(file("p9"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("s0"), INGEST_LLHLS_LISTED);

    /* hint types: PART and MAP only */

    CHECK_INT(parse("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
                    "#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=\"i.mp4\"\n"
                    "#EXT-X-PRELOAD-HINT:TYPE=FUTURE,URI=\"f\"\n"
                    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"big.mp4\","
                    "BYTERANGE-START=1000\n"),
              INGEST_LLHLS_OK);
    CHECK_INT(file("i.mp4"), INGEST_LLHLS_PRELOAD_HINTED);
    CHECK_INT(file("f"), INGEST_LLHLS_UNKNOWN);
    CHECK_INT(file("big.mp4"), INGEST_LLHLS_PRELOAD_HINTED);
    CHECK_MEM(buf + pl.hint_off, pl.hint_len, "big.mp4");
}


static void
test_random(void)
{
    size_t                   n, i, j, len, dl;
    uint64_t                 seed, msn, part;
    unsigned char           *d;
    ingest_llhls_rc_t        rc;
    ingest_llhls_request_t   req;

    static const char  *msns[] = { NULL, "0", "99", "105", "109", "110",
                                   "111", "112", "x" };
    static const char  *parts[] = { NULL, "0", "1", "3", "8", "9", "" };

    /* every prefix of the worker's playlist */

    len = sizeof(worker_full) - 1;

    for (i = 0; i <= len; i++) {
        rc = parse_n(worker_full, i, MAX_SEGS);

        if (rc == INGEST_LLHLS_OK) {
            CHECK(pl.nsegments <= 10);
            CHECK(pl.body <= pl.len && pl.tail <= pl.len);
            ingest_llhls_delta(buf, &pl, NULL, 0);
            file("part331.m4s");
        }
    }

    /* random byte changes: whatever parses is consistent */

    seed = 7;

    for (i = 0; i < 20000; i++) {
        free(buf);
        buf = test_dup(worker_full, len);
        buf_len = len;

        n = 1 + test_rand(&seed) % 4;

        for (j = 0; j < n; j++) {
            buf[test_rand(&seed) % len] = (unsigned char)
                "\n\r,=\"#:.0123456789 AXYZ-"[test_rand(&seed) % 25];
        }

        rc = ingest_llhls_parse(buf, len, &pl, segs, MAX_SEGS);

        if (rc != INGEST_LLHLS_OK) {
            if (pl.err_off > len) {
                TEST_FAIL("err_off %zu", pl.err_off);
            }

            continue;
        }

        for (j = 0; j < pl.nsegments; j++) {
            if (segs[j].start > segs[j].end || segs[j].end > len
                || (j != 0 && segs[j].start != segs[j - 1].end))
            {
                TEST_FAIL("segment %zu: %zu-%zu", j, segs[j].start,
                          segs[j].end);
            }
        }

        if (pl.hint_len != 0 && pl.hint_off + pl.hint_len > len) {
            TEST_FAIL("hint %zu+%zu", pl.hint_off, pl.hint_len);
        }

        if (ingest_llhls_last_part(&pl, &msn, &part) == 0
            && (msn + 1 < pl.next_msn || msn > pl.next_msn))
        {
            TEST_FAIL("last part %" PRIu64, msn);
        }

        dl = ingest_llhls_delta(buf, &pl, NULL, 0);

        if (dl != 0) {
            d = malloc(dl);
            if (d == NULL) {
                abort();
            }

            if (ingest_llhls_delta(buf, &pl, d, dl) != dl) {
                TEST_FAIL("%s", "delta length");
            }

            free(d);
        }

        for (j = 0; j < sizeof(msns) / sizeof(msns[0]); j++) {
            rc = decide(msns[j], parts[j % 7], j & 1 ? "YES" : NULL, &req);

            if (rc == INGEST_LLHLS_HOLD
                && (ingest_llhls_ready(&pl, &req) != INGEST_LLHLS_HOLD
                    || !req.block))
            {
                TEST_FAIL("%s", "hold");
            }
        }
    }

    test_passed++;
}


static void
test_llhls(void)
{
    test_status();
    test_worker();
    test_worker_builder();
    test_rfc_example();
    test_syntax();
    test_errors();
    test_limits();
    test_block();
    test_block_edges();
    test_ready();
    test_skip_decision();
    test_limits_helpers();
    test_delta();
    test_delta_tags();
    test_delta_sizing();
    test_file();
    test_random();

    free(buf);
    buf = NULL;
}


TEST_MAIN("test_llhls", test_llhls)
