
/*
 * Copyright (C) nginx video ingest developers
 *
 * The TS demuxer on a real ffmpeg-made stream (build/unit/live.ts, see
 * the Makefile), checked against ffprobe's view of the same file, then
 * on damaged copies of it and on hand-made streams.
 */


#include "ingest_ts.h"
#include "test.h"


#define FIXTURE       TEST_SRCDIR "/../../build/unit/live.ts"
#define FIXTURE_HEVC  TEST_SRCDIR "/../../build/unit/live_hevc.ts"

#define MAX_FRAMES    4096
#define PKT           INGEST_TS_PACKET_SIZE


typedef struct {
    ingest_ts_codec_t   codec;
    int64_t             pts;
    int64_t             dts;
    unsigned            key;
    unsigned            disc;
    size_t              len;
    uint32_t            hash;
} frame_t;

typedef struct {
    size_t              n;
    size_t              stop_after;     /* 0: never */
    frame_t             f[MAX_FRAMES];
} frames_t;

typedef struct {
    size_t              in_use;
    size_t              peak;
} mem_t;


static unsigned char *load(const char *path, size_t *len);
static uint32_t hash(const unsigned char *p, size_t len);
static int on_frame(void *ctx, const ingest_ts_frame_t *f);
static void *mem_alloc(void *data, size_t size);
static void mem_free(void *data, void *p);
static void demux(const unsigned char *p, size_t len, size_t slice,
    uint64_t seed, frames_t *out, ingest_ts_stats_t *stats,
    size_t max_pes);
static int same_frames(const frames_t *a, const frames_t *b);
static size_t count(const frames_t *fr, ingest_ts_codec_t codec,
    int keys);
static void test_helpers(void);
static void test_fixture(const unsigned char *ts, size_t len);
static void test_ffprobe(const frames_t *fr);
static void test_slices(const unsigned char *ts, size_t len);
static void test_lost(const unsigned char *ts, size_t len);
static void test_garbage(const unsigned char *ts, size_t len);
static void test_damage(const unsigned char *ts, size_t len);
static void test_bounded(const unsigned char *ts, size_t len);
static void test_abort(const unsigned char *ts, size_t len);
static void test_hevc(void);
static size_t mux_psi(unsigned char *out, unsigned pid, unsigned *cc,
    const unsigned char *sec, size_t len);
static size_t mux_pat(unsigned char *out, unsigned *cc, unsigned pmt_pid);
static size_t mux_pmt(unsigned char *out, unsigned *cc, unsigned pmt_pid,
    const unsigned *pids, const unsigned *types, size_t n, unsigned version);
static size_t mux_pes(unsigned char *out, unsigned pid, unsigned *cc,
    unsigned sid, int64_t pts, int64_t dts, const unsigned char *p,
    size_t len, int bounded);
static void put_time(unsigned char *p, unsigned prefix, int64_t t);
static size_t adts(unsigned char *out, size_t payload, unsigned fill);
static void test_synthetic(void);
static void test_ts(void);


static frames_t  frames, frames2;


static unsigned char *
load(const char *path, size_t *len)
{
    long            n;
    FILE           *f;
    unsigned char  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(n > 0 ? (size_t) n : 1);
    if (p == NULL || fread(p, 1, (size_t) n, f) != (size_t) n) {
        fclose(f);
        free(p);
        return NULL;
    }

    fclose(f);
    *len = (size_t) n;

    return p;
}


static uint32_t
hash(const unsigned char *p, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619u;
    }

    return h;
}


static int
on_frame(void *ctx, const ingest_ts_frame_t *f)
{
    frames_t  *fr;
    frame_t   *x;

    fr = ctx;

    if (fr->n == MAX_FRAMES) {
        return 0;
    }

    x = &fr->f[fr->n++];

    x->codec = f->codec;
    x->pts = f->pts;
    x->dts = f->dts;
    x->key = f->key;
    x->disc = f->discontinuity;
    x->len = f->len;
    x->hash = hash(f->data, f->len);

    if (fr->stop_after != 0 && fr->n == fr->stop_after) {
        return 1;
    }

    return 0;
}


static void *
mem_alloc(void *data, size_t size)
{
    size_t  *p;
    mem_t   *m;

    m = data;

    p = malloc(size + sizeof(size_t));
    if (p == NULL) {
        return NULL;
    }

    *p = size;
    m->in_use += size;

    if (m->in_use > m->peak) {
        m->peak = m->in_use;
    }

    return p + 1;
}


static void
mem_free(void *data, void *p)
{
    size_t  *s;
    mem_t   *m;

    m = data;
    s = (size_t *) p - 1;
    m->in_use -= *s;

    free(s);
}


/* slice 0: random slices of 1..2000 bytes from seed */

static void
demux(const unsigned char *p, size_t len, size_t slice, uint64_t seed,
    frames_t *out, ingest_ts_stats_t *stats, size_t max_pes)
{
    size_t             n;
    ingest_ts_t       *ts;
    ingest_ts_conf_t   conf;

    ts = malloc(sizeof(ingest_ts_t));
    if (ts == NULL) {
        exit(2);
    }

    memset(&conf, 0, sizeof(ingest_ts_conf_t));
    conf.handler = on_frame;
    conf.ctx = out;
    conf.max_pes = max_pes;

    out->n = 0;

    ingest_ts_init(ts, &conf);

    while (len > 0) {
        n = slice != 0 ? slice : 1 + test_rand(&seed) % 2000;
        if (n > len) {
            n = len;
        }

        if (ingest_ts_feed(ts, p, n) != 0) {
            break;
        }

        p += n;
        len -= n;
    }

    (void) ingest_ts_flush(ts);

    *stats = ts->stats;

    ingest_ts_free(ts);
    free(ts);
}


static int
same_frames(const frames_t *a, const frames_t *b)
{
    size_t  i;

    if (a->n != b->n) {
        return 0;
    }

    for (i = 0; i < a->n; i++) {
        if (a->f[i].codec != b->f[i].codec || a->f[i].pts != b->f[i].pts
            || a->f[i].dts != b->f[i].dts || a->f[i].key != b->f[i].key
            || a->f[i].len != b->f[i].len || a->f[i].hash != b->f[i].hash)
        {
            return 0;
        }
    }

    return 1;
}


static size_t
count(const frames_t *fr, ingest_ts_codec_t codec, int keys)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < fr->n; i++) {
        if (fr->f[i].codec == codec && (!keys || fr->f[i].key)) {
            n++;
        }
    }

    return n;
}


static void
test_helpers(void)
{
    const unsigned char  *pos, *nal;
    size_t                n;
    unsigned char         hdr[7];
    ingest_ts_frame_t     f;

    static const unsigned char  au[] = {
        0, 0, 0, 1, 0x09, 0xf0,
        0, 0, 1, 0x67, 0x42, 0, 0,
        0, 0, 0, 1, 0x65, 0x88, 0x00, 0x01
    };

    /* CRC-32/MPEG-2 check value */
    CHECK_U64(ingest_ts_crc32((const unsigned char *) "123456789", 9),
              0x0376e6e7);

    CHECK_INT(ingest_ts_diff(INGEST_TS_TIME_MASK - 9, 5), 15);
    CHECK_INT(ingest_ts_diff(5, INGEST_TS_TIME_MASK - 9), -15);
    CHECK_INT(ingest_ts_diff(1000, 4000), 3000);
    CHECK_INT(ingest_ts_diff(4000, 1000), -3000);

    /* NAL units: 4- and 3-byte start codes, zeros before a start code */

    pos = au;

    CHECK_INT(ingest_annexb_next(&pos, au + sizeof(au), &nal, &n), 1);
    CHECK_INT(n, 2);
    CHECK_INT(nal[0], 0x09);

    CHECK_INT(ingest_annexb_next(&pos, au + sizeof(au), &nal, &n), 1);
    CHECK_INT(n, 2);
    CHECK_INT(nal[0], 0x67);

    CHECK_INT(ingest_annexb_next(&pos, au + sizeof(au), &nal, &n), 1);
    CHECK_INT(n, 4);
    CHECK_INT(nal[0], 0x65);

    CHECK_INT(ingest_annexb_next(&pos, au + sizeof(au), &nal, &n), 0);

    CHECK_INT(ingest_annexb_key(INGEST_TS_CODEC_H264, au, sizeof(au)), 1);
    CHECK_INT(ingest_annexb_key(INGEST_TS_CODEC_H264, au, 13), 0);
    CHECK_INT(ingest_annexb_key(INGEST_TS_CODEC_AAC, au, sizeof(au)), 0);

    /* ADTS: LC, 48 kHz (index 3), stereo, 100 bytes, no CRC */

    CHECK_INT(adts(hdr, 93, 0), 7);
    memset(&f, 0, sizeof(ingest_ts_frame_t));
    CHECK_INT(ingest_adts_parse(hdr, 7, &f), 100);
    CHECK_INT(f.aac_object, 2);
    CHECK_INT(f.aac_rate_index, 3);
    CHECK_INT(f.sample_rate, 48000);
    CHECK_INT(f.aac_channels, 2);
    CHECK_INT(f.samples, 1024);

    CHECK_INT(ingest_adts_parse(hdr, 6, &f), 0);
    hdr[1] = 0xf3;                               /* layer 1 */
    CHECK_INT(ingest_adts_parse(hdr, 7, &f), 0);
    hdr[1] = 0xf1;
    hdr[2] = (hdr[2] & ~0x3c) | (13 << 2);       /* rate index 13 */
    CHECK_INT(ingest_adts_parse(hdr, 7, &f), 0);

    CHECK(strcmp(ingest_ts_codec_name(INGEST_TS_CODEC_H264), "h264") == 0);
    CHECK(strcmp(ingest_ts_codec_name(INGEST_TS_CODEC_H265), "h265") == 0);
    CHECK(strcmp(ingest_ts_codec_name(INGEST_TS_CODEC_AAC), "aac") == 0);
}


static void
test_fixture(const unsigned char *ts, size_t len)
{
    size_t             i, vid, aud, bad;
    int64_t            last_dts, last_apts;
    ingest_ts_stats_t  st;

    demux(ts, len, len, 0, &frames, &st, 0);

    CHECK_U64(st.packets, len / PKT);
    CHECK_U64(st.cc_errors, 0);
    CHECK_U64(st.dropped_bytes, 0);
    CHECK_U64(st.psi_crc_errors, 0);
    CHECK_U64(st.psi_errors, 0);
    CHECK_U64(st.pes_errors, 0);
    CHECK_U64(st.sync_losses, 0);
    CHECK_U64(st.adts_errors, 0);
    CHECK_U64(st.pmt_updates, 1);

    /* 2 s at 25 fps with a keyframe each second; 48 kHz AAC */

    CHECK_INT(count(&frames, INGEST_TS_CODEC_H264, 0), 50);
    CHECK_INT(count(&frames, INGEST_TS_CODEC_H264, 1), 2);
    CHECK_INT(count(&frames, INGEST_TS_CODEC_AAC, 0), 95);
    CHECK_U64(st.video_frames, 50);
    CHECK_U64(st.audio_frames, 95);
    CHECK_U64(st.keyframes, 2);

    /* the first video frame is the IDR; DTS and audio PTS go up by a
     * frame each; PTS >= DTS */

    for (i = 0; i < frames.n; i++) {
        if (frames.f[i].codec == INGEST_TS_CODEC_H264) {
            CHECK_INT(frames.f[i].key, 1);
            break;
        }
    }

    last_dts = -1;
    last_apts = -1;
    vid = 0;
    aud = 0;
    bad = 0;

    for (i = 0; i < frames.n; i++) {
        if (frames.f[i].disc) {
            bad++;
        }

        if (frames.f[i].codec == INGEST_TS_CODEC_H264) {
            if (frames.f[i].pts < frames.f[i].dts
                || (last_dts >= 0 && frames.f[i].dts != last_dts + 3600))
            {
                bad++;
            }

            last_dts = frames.f[i].dts;
            vid++;
            continue;
        }

        if (frames.f[i].pts != frames.f[i].dts
            || (last_apts >= 0 && frames.f[i].pts != last_apts + 1920))
        {
            bad++;
        }

        last_apts = frames.f[i].pts;
        aud++;
    }

    CHECK_INT(bad, 0);
    CHECK_INT(vid + aud, frames.n);

    test_ffprobe(&frames);
}


/* the same timestamps and keyframes as ffmpeg's demuxer finds */

static void
test_ffprobe(const frames_t *fr)
{
    int        idx;
    FILE      *p;
    char       line[256], flags[8];
    size_t     i, v, a, n, bad;
    long long  pts, dts;

    p = popen("ffprobe -v error -show_entries packet=stream_index,pts,dts,"
              "flags -of csv=p=0 '" FIXTURE "'", "r");
    if (p == NULL) {
        TEST_FAIL("%s", "popen ffprobe");
        return;
    }

    v = 0;
    a = 0;
    n = 0;
    bad = 0;

    while (fgets(line, sizeof(line), p) != NULL) {
        if (sscanf(line, "%d,%lld,%lld,%2s", &idx, &pts, &dts, flags) != 4) {
            continue;
        }

        n++;

        /* the n-th frame of that codec here */

        for (i = idx == 0 ? v : a; i < fr->n; i++) {
            if (fr->f[i].codec == (idx == 0 ? INGEST_TS_CODEC_H264
                                            : INGEST_TS_CODEC_AAC))
            {
                break;
            }
        }

        if (i == fr->n) {
            bad++;
            continue;
        }

        if (fr->f[i].pts != pts || fr->f[i].dts != dts
            || (fr->f[i].key != 0) != (flags[0] == 'K'))
        {
            TEST_FAIL("frame %zu: %lld/%lld %s, we %lld/%lld %u", i, pts,
                      dts, flags, (long long) fr->f[i].pts,
                      (long long) fr->f[i].dts, fr->f[i].key);
            bad++;
        }

        if (idx == 0) {
            v = i + 1;

        } else {
            a = i + 1;
        }
    }

    pclose(p);

    CHECK_INT(n, 145);
    CHECK_INT(bad, 0);
}


/* any slicing gives the same frames */

static void
test_slices(const unsigned char *ts, size_t len)
{
    size_t             s;
    ingest_ts_stats_t  st;

    static const size_t  sizes[] = { 1, 7, 187, 188, 189, 1316, 4096 };

    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        demux(ts, len, sizes[s], 0, &frames2, &st, 0);
        CHECK(same_frames(&frames, &frames2));
        CHECK_U64(st.dropped_bytes, 0);
    }

    for (s = 1; s <= 5; s++) {
        demux(ts, len, 0, s, &frames2, &st, 0);
        CHECK(same_frames(&frames, &frames2));
    }
}


/* packets lost: every continuity counter jump counted */

static void
test_lost(const unsigned char *ts, size_t len)
{
    int                last[8192];
    size_t             i, k, n, drops, expect, disc;
    unsigned           pid, cc;
    unsigned char     *lossy;
    ingest_ts_stats_t  st;

    lossy = malloc(len);
    if (lossy == NULL) {
        exit(2);
    }

    /* every 20th packet of the audio and video PIDs */

    n = 0;
    drops = 0;
    k = 0;

    for (i = 0; i < len / PKT; i++) {
        pid = (ts[i * PKT + 1] & 0x1f) << 8 | ts[i * PKT + 2];

        if ((pid == 256 || pid == 257) && k++ % 20 == 19) {
            drops++;
            continue;
        }

        memcpy(lossy + n, ts + i * PKT, PKT);
        n += PKT;
    }

    /* what a continuity check of what is left finds */

    for (i = 0; i < 8192; i++) {
        last[i] = -1;
    }

    expect = 0;

    for (i = 0; i < n / PKT; i++) {
        pid = (lossy[i * PKT + 1] & 0x1f) << 8 | lossy[i * PKT + 2];
        cc = lossy[i * PKT + 3] & 0x0f;

        if (!(lossy[i * PKT + 3] & 0x10)) {
            continue;
        }

        if (last[pid] >= 0 && cc != (((unsigned) last[pid] + 1) & 0x0f)) {
            expect++;
        }

        last[pid] = (int) cc;
    }

    CHECK(drops > 0);
    CHECK(expect > 0 && expect <= drops);

    demux(lossy, n, 1316, 0, &frames2, &st, 0);

    CHECK_U64(st.cc_errors, expect);
    CHECK(st.dropped_bytes > 0);
    CHECK(count(&frames2, INGEST_TS_CODEC_H264, 0) < 50);
    CHECK(count(&frames2, INGEST_TS_CODEC_AAC, 0) < 95);

    disc = 0;

    for (i = 0; i < frames2.n; i++) {
        disc += frames2.f[i].disc;
    }

    CHECK(disc > 0 && disc <= expect);

    /* a loss costs the PES it hit (and the one before, when the lost
     * packet started a PES of unknown length) */

    CHECK(count(&frames2, INGEST_TS_CODEC_H264, 0) >= 50 - 2 * drops);

    free(lossy);
}


static void
test_garbage(const unsigned char *ts, size_t len)
{
    size_t             i, n, junk;
    uint64_t           seed;
    unsigned char     *bad;
    ingest_ts_stats_t  st;

    bad = malloc(len + 4096);
    if (bad == NULL) {
        exit(2);
    }

    /* junk before the first packet: dropped, nothing else lost */

    for (i = 0; i < 77; i++) {
        bad[i] = (unsigned char) (i * 7 + 1);
    }

    bad[10] = 0x47;
    memcpy(bad + 77, ts, len);

    demux(bad, len + 77, 100, 0, &frames2, &st, 0);
    CHECK(same_frames(&frames, &frames2));
    CHECK_U64(st.dropped_bytes, 77);
    CHECK_U64(st.resyncs, 0);

    /* junk in the middle, twice: sync lost and found again */

    seed = 42;
    n = 0;
    junk = 0;

    for (i = 0; i < len / PKT; i++) {
        if (i == 100 || i == 200) {
            size_t  k, m;

            m = 50 + test_rand(&seed) % 300;

            for (k = 0; k < m; k++) {
                bad[n++] = (unsigned char) test_rand(&seed);
            }

            junk += m;
        }

        memcpy(bad + n, ts + i * PKT, PKT);
        n += PKT;
    }

    demux(bad, n, 1316, 0, &frames2, &st, 0);

    CHECK_U64(st.sync_losses, 2);
    CHECK_U64(st.resyncs, 2);
    CHECK(st.dropped_bytes >= junk);
    CHECK(count(&frames2, INGEST_TS_CODEC_H264, 0) >= 45);
    CHECK(count(&frames2, INGEST_TS_CODEC_AAC, 0) >= 88);

    /* a cut packet (bytes missing): the same */

    n = 0;

    for (i = 0; i < len / PKT; i++) {
        memcpy(bad + n, ts + i * PKT, PKT);
        n += (i == 150) ? 100 : PKT;
    }

    demux(bad, n, 0, 9, &frames2, &st, 0);
    CHECK_U64(st.sync_losses, 1);
    CHECK_U64(st.resyncs, 1);
    CHECK(count(&frames2, INGEST_TS_CODEC_H264, 0) >= 47);

    free(bad);
}


/* duplicates, transport errors, a broken PAT, bad PES headers */

static void
test_damage(const unsigned char *ts, size_t len)
{
    size_t             i, n, first, start;
    unsigned           pid;
    unsigned char     *bad;
    ingest_ts_stats_t  st;

    bad = malloc(len + PKT);
    if (bad == NULL) {
        exit(2);
    }

    /* a video packet sent twice is dropped once */

    first = 0;
    start = 0;

    for (i = 31; i < len / PKT; i++) {
        pid = (ts[i * PKT + 1] & 0x1f) << 8 | ts[i * PKT + 2];

        if (pid == 256 && !(ts[i * PKT + 1] & 0x40) && first == 0) {
            first = i;
        }

        if (pid == 256 && (ts[i * PKT + 1] & 0x40) && start == 0) {
            start = i;
        }
    }

    CHECK(first != 0 && start != 0);

    n = (first + 1) * PKT;
    memcpy(bad, ts, n);
    memcpy(bad + n, ts + first * PKT, PKT);
    memcpy(bad + n + PKT, ts + n, len - n);

    demux(bad, len + PKT, 1316, 0, &frames2, &st, 0);
    CHECK(same_frames(&frames, &frames2));
    CHECK_U64(st.duplicates, 1);
    CHECK_U64(st.cc_errors, 0);

    /* transport_error_indicator on that packet: its frame goes; the
     * next packet shows the gap in the continuity counter too */

    memcpy(bad, ts, len);
    bad[first * PKT + 1] |= 0x80;

    demux(bad, len, 1316, 0, &frames2, &st, 0);
    CHECK_U64(st.tei, 1);
    CHECK_U64(st.cc_errors, 1);
    CHECK_INT(count(&frames2, INGEST_TS_CODEC_H264, 0), 49);
    CHECK_INT(count(&frames2, INGEST_TS_CODEC_AAC, 0), 95);

    /* on a packet that starts a PES: the frame before may have been
     * whole, but nothing tells, so it goes too */

    memcpy(bad, ts, len);
    bad[start * PKT + 1] |= 0x80;

    demux(bad, len, 1316, 0, &frames2, &st, 0);
    CHECK_U64(st.tei, 1);
    CHECK_INT(count(&frames2, INGEST_TS_CODEC_H264, 0), 48);

    /* scrambled: the same as lost */

    memcpy(bad, ts, len);
    bad[first * PKT + 3] |= 0x80;

    demux(bad, len, 1316, 0, &frames2, &st, 0);
    CHECK_U64(st.scrambled, 1);
    CHECK_INT(count(&frames2, INGEST_TS_CODEC_H264, 0), 49);

    /* PAT sections all with a bad CRC: no program, no frames */

    memcpy(bad, ts, len);

    for (i = 0; i < len / PKT; i++) {
        pid = (bad[i * PKT + 1] & 0x1f) << 8 | bad[i * PKT + 2];

        if (pid == 0) {
            bad[i * PKT + 5 + 8] ^= 0x01;
        }
    }

    demux(bad, len, 1316, 0, &frames2, &st, 0);
    CHECK_INT(frames2.n, 0);
    CHECK(st.psi_crc_errors >= 18);

    /* the PMT broken the same way */

    memcpy(bad, ts, len);

    for (i = 0; i < len / PKT; i++) {
        pid = (bad[i * PKT + 1] & 0x1f) << 8 | bad[i * PKT + 2];

        if (pid == 4096) {
            bad[i * PKT + 5 + 12] ^= 0x10;
        }
    }

    demux(bad, len, 1316, 0, &frames2, &st, 0);
    CHECK_INT(frames2.n, 0);
    CHECK(st.psi_crc_errors >= 18);

    /* a video PES start code broken: that PES is dropped */

    memcpy(bad, ts, len);

    for (i = 0; i < len / PKT; i++) {
        pid = (bad[i * PKT + 1] & 0x1f) << 8 | bad[i * PKT + 2];

        if (pid == 256 && (bad[i * PKT + 1] & 0x40) && i > 50) {
            n = 4 + ((bad[i * PKT + 3] & 0x20) ? 1 + bad[i * PKT + 4] : 0);
            bad[i * PKT + n + 2] = 0x02;
            break;
        }
    }

    demux(bad, len, 1316, 0, &frames2, &st, 0);
    CHECK_U64(st.pes_errors, 1);
    CHECK_INT(count(&frames2, INGEST_TS_CODEC_H264, 0), 49);

    free(bad);
}


/* a PES above max_pes is dropped; memory stays bounded */

static void
test_bounded(const unsigned char *ts, size_t len)
{
    mem_t              mem;
    size_t             max;
    ingest_ts_t       *t;
    frames_t          *fr;
    ingest_ts_conf_t   conf;

    t = malloc(sizeof(ingest_ts_t));
    if (t == NULL) {
        exit(2);
    }

    fr = &frames2;
    fr->n = 0;
    fr->stop_after = 0;

    memset(&mem, 0, sizeof(mem_t));
    memset(&conf, 0, sizeof(ingest_ts_conf_t));

    /* the IDR frames are 3.5 and 3.9 kB, the others and the audio PES
     * below 3 kB */

    max = 3400;

    conf.handler = on_frame;
    conf.ctx = fr;
    conf.max_pes = max;
    conf.alloc = mem_alloc;
    conf.free = mem_free;
    conf.alloc_data = &mem;

    ingest_ts_init(t, &conf);
    CHECK_INT(ingest_ts_feed(t, ts, len), 0);
    CHECK_INT(ingest_ts_flush(t), 0);

    CHECK_U64(t->stats.pes_overflows, 2);
    CHECK_INT(count(fr, INGEST_TS_CODEC_H264, 0), 48);
    CHECK_INT(count(fr, INGEST_TS_CODEC_H264, 1), 0);
    CHECK_INT(count(fr, INGEST_TS_CODEC_AAC, 0), 95);
    CHECK(mem.peak <= 2 * max);

    ingest_ts_free(t);
    CHECK_INT(mem.in_use, 0);

    /* with room, the default allocator, all of it */

    memset(&mem, 0, sizeof(mem_t));
    conf.max_pes = 0;

    fr->n = 0;
    ingest_ts_init(t, &conf);
    CHECK_INT(ingest_ts_feed(t, ts, len), 0);
    CHECK_INT(ingest_ts_flush(t), 0);
    CHECK(same_frames(&frames, fr));
    CHECK(mem.peak <= 2 * 64 * 1024);
    ingest_ts_free(t);
    CHECK_INT(mem.in_use, 0);

    free(t);
}


static void
test_abort(const unsigned char *ts, size_t len)
{
    ingest_ts_t       *t;
    ingest_ts_conf_t   conf;

    t = malloc(sizeof(ingest_ts_t));
    if (t == NULL) {
        exit(2);
    }

    frames2.n = 0;
    frames2.stop_after = 3;

    memset(&conf, 0, sizeof(ingest_ts_conf_t));
    conf.handler = on_frame;
    conf.ctx = &frames2;

    ingest_ts_init(t, &conf);
    CHECK_INT(ingest_ts_feed(t, ts, len), -1);
    CHECK_INT(frames2.n, 3);
    CHECK_INT(ingest_ts_feed(t, ts, len), -1);
    CHECK_INT(ingest_ts_flush(t), -1);
    CHECK_INT(frames2.n, 3);
    ingest_ts_free(t);

    frames2.stop_after = 0;

    free(t);
}


static void
test_hevc(void)
{
    size_t                    len, n;
    unsigned char            *ts;
    ingest_ts_t              *t;
    ingest_ts_conf_t          conf;
    ingest_ts_stream_info_t   info[4];

    ts = load(FIXTURE_HEVC, &len);
    if (ts == NULL) {
        TEST_FAIL("cannot read %s (make -C t/unit run makes it)",
                  FIXTURE_HEVC);
        return;
    }

    t = malloc(sizeof(ingest_ts_t));
    if (t == NULL) {
        exit(2);
    }

    frames2.n = 0;

    memset(&conf, 0, sizeof(ingest_ts_conf_t));
    conf.handler = on_frame;
    conf.ctx = &frames2;

    ingest_ts_init(t, &conf);
    CHECK_INT(ingest_ts_feed(t, ts, len), 0);
    CHECK_INT(ingest_ts_flush(t), 0);

    n = ingest_ts_streams(t, info, 4);
    CHECK_INT(n, 1);
    CHECK_INT(info[0].stream_type, 0x24);
    CHECK_INT(info[0].codec, INGEST_TS_CODEC_H265);

    CHECK_INT(count(&frames2, INGEST_TS_CODEC_H265, 0), 25);
    CHECK_INT(count(&frames2, INGEST_TS_CODEC_H265, 1), 3);
    CHECK_INT(frames2.f[0].key, 1);
    CHECK_U64(t->stats.cc_errors, 0);

    ingest_ts_free(t);
    free(t);
    free(ts);
}


/* a hand-made mux */

static size_t
mux_psi(unsigned char *out, unsigned pid, unsigned *cc,
    const unsigned char *sec, size_t len)
{
    out[0] = 0x47;
    out[1] = (unsigned char) (0x40 | pid >> 8);
    out[2] = (unsigned char) pid;
    out[3] = (unsigned char) (0x10 | (*cc & 0x0f));
    out[4] = 0;
    memcpy(out + 5, sec, len);
    memset(out + 5 + len, 0xff, PKT - 5 - len);

    (*cc)++;

    return PKT;
}


static size_t
mux_pat(unsigned char *out, unsigned *cc, unsigned pmt_pid)
{
    uint32_t       crc;
    unsigned char  s[16];

    s[0] = 0x00;
    s[1] = 0xb0;
    s[2] = 13;
    s[3] = 0;
    s[4] = 1;
    s[5] = 0xc1;
    s[6] = 0;
    s[7] = 0;
    s[8] = 0;
    s[9] = 1;
    s[10] = (unsigned char) (0xe0 | pmt_pid >> 8);
    s[11] = (unsigned char) pmt_pid;

    crc = ingest_ts_crc32(s, 12);
    s[12] = (unsigned char) (crc >> 24);
    s[13] = (unsigned char) (crc >> 16);
    s[14] = (unsigned char) (crc >> 8);
    s[15] = (unsigned char) crc;

    return mux_psi(out, 0, cc, s, 16);
}


static size_t
mux_pmt(unsigned char *out, unsigned *cc, unsigned pmt_pid,
    const unsigned *pids, const unsigned *types, size_t n, unsigned version)
{
    size_t         i, len;
    uint32_t       crc;
    unsigned char  s[128];

    len = 12;

    s[0] = 0x02;
    s[3] = 0;
    s[4] = 1;
    s[5] = (unsigned char) (0xc1 | (version & 0x1f) << 1);
    s[6] = 0;
    s[7] = 0;
    s[8] = (unsigned char) (0xe0 | pids[0] >> 8);
    s[9] = (unsigned char) pids[0];
    s[10] = 0xf0;
    s[11] = 0;

    for (i = 0; i < n; i++) {
        s[len++] = (unsigned char) types[i];
        s[len++] = (unsigned char) (0xe0 | pids[i] >> 8);
        s[len++] = (unsigned char) pids[i];
        s[len++] = 0xf0;
        s[len++] = 0;
    }

    s[1] = (unsigned char) (0xb0 | (len + 4 - 3) >> 8);
    s[2] = (unsigned char) (len + 4 - 3);

    crc = ingest_ts_crc32(s, len);
    s[len++] = (unsigned char) (crc >> 24);
    s[len++] = (unsigned char) (crc >> 16);
    s[len++] = (unsigned char) (crc >> 8);
    s[len++] = (unsigned char) crc;

    return mux_psi(out, pmt_pid, cc, s, len);
}


static void
put_time(unsigned char *p, unsigned prefix, int64_t t)
{
    p[0] = (unsigned char) (prefix << 4 | ((t >> 29) & 0x0e) | 1);
    p[1] = (unsigned char) (t >> 22);
    p[2] = (unsigned char) (((t >> 14) & 0xfe) | 1);
    p[3] = (unsigned char) (t >> 7);
    p[4] = (unsigned char) ((t << 1) | 1);
}


/* a PES over packets, the last one padded by an adaptation field */

static size_t
mux_pes(unsigned char *out, unsigned pid, unsigned *cc, unsigned sid,
    int64_t pts, int64_t dts, const unsigned char *p, size_t len,
    int bounded)
{
    size_t         n, hlen, total, off, room, chunk;
    unsigned char  pes[70000];

    hlen = 9 + (pts >= 0 ? 5 : 0) + (dts >= 0 ? 5 : 0);

    pes[0] = 0;
    pes[1] = 0;
    pes[2] = 1;
    pes[3] = (unsigned char) sid;
    pes[6] = 0x80;
    pes[7] = (pts >= 0 ? 0x80 : 0) | (dts >= 0 ? 0x40 : 0);
    pes[8] = (unsigned char) (hlen - 9);

    if (pts >= 0) {
        put_time(pes + 9, dts >= 0 ? 3 : 2, pts);
    }

    if (dts >= 0) {
        put_time(pes + 14, 1, dts);
    }

    memcpy(pes + hlen, p, len);
    total = hlen + len;

    n = bounded ? total - 6 : 0;
    pes[4] = (unsigned char) (n >> 8);
    pes[5] = (unsigned char) n;

    n = 0;

    for (off = 0; off < total; off += chunk) {
        chunk = total - off;
        room = PKT - 4;

        out[n] = 0x47;
        out[n + 1] = (unsigned char) ((off == 0 ? 0x40 : 0) | pid >> 8);
        out[n + 2] = (unsigned char) pid;

        if (chunk >= room) {
            chunk = room;
            out[n + 3] = (unsigned char) (0x10 | (*cc & 0x0f));
            memcpy(out + n + 4, pes + off, chunk);

        } else {
            /* stuffing: adaptation field of room - chunk bytes */
            out[n + 3] = (unsigned char) (0x30 | (*cc & 0x0f));
            out[n + 4] = (unsigned char) (room - chunk - 1);

            if (room - chunk - 1 > 0) {
                out[n + 5] = 0;
                memset(out + n + 6, 0xff, room - chunk - 2);
            }

            memcpy(out + n + 4 + (room - chunk), pes + off, chunk);
        }

        (*cc)++;
        n += PKT;
    }

    return n;
}


/* an ADTS header for payload bytes, then the payload made of fill */

static size_t
adts(unsigned char *out, size_t payload, unsigned fill)
{
    size_t  len;

    len = 7 + payload;

    out[0] = 0xff;
    out[1] = 0xf1;
    out[2] = (1 << 6) | (3 << 2) | 0;           /* LC, 48 kHz */
    out[3] = (unsigned char) ((2 << 6) | (len >> 11));
    out[4] = (unsigned char) (len >> 3);
    out[5] = (unsigned char) ((len & 7) << 5 | 0x1f);
    out[6] = 0xfc;

    if (fill != 0) {
        memset(out + 7, (int) fill, payload);
    }

    return fill != 0 ? len : 7;
}


static void
test_synthetic(void)
{
    size_t             n, a, i;
    int64_t            t0;
    unsigned           cc[3];
    unsigned char     *buf, au[3000], f3[407];
    ingest_ts_t       *t;
    ingest_ts_conf_t   conf;

    static const unsigned  pids[2] = { 0x100, 0x101 };
    static const unsigned  types[2] = { 0x1b, 0x0f };
    static const unsigned char  idr[] = {
        0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21
    };
    static const unsigned char  nonidr[] = {
        0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x03
    };

    buf = malloc(200 * PKT);
    t = malloc(sizeof(ingest_ts_t));
    if (buf == NULL || t == NULL) {
        exit(2);
    }

    memset(cc, 0, sizeof(cc));
    frames2.n = 0;

    memset(&conf, 0, sizeof(ingest_ts_conf_t));
    conf.handler = on_frame;
    conf.ctx = &frames2;

    ingest_ts_init(t, &conf);

    /* PTS near the 33-bit wrap */

    t0 = INGEST_TS_TIME_MASK - 3000;

    n = mux_pat(buf, &cc[0], 0x1000);
    n += mux_pmt(buf + n, &cc[1], 0x1000, pids, types, 2, 0);
    n += mux_pes(buf + n, 0x100, &cc[2], 0xe0, t0 + 3600, t0, idr,
                 sizeof(idr), 0);

    /* an audio PES (bounded) of two ADTS frames and the head of a third,
     * whose tail comes in the next PES */

    a = adts(au, 200, 0x11);
    a += adts(au + a, 300, 0x22);
    a += adts(au + a, 400, 0x33);
    a -= 250;

    n += mux_pes(buf + n, 0x101, &cc[0], 0xc0, t0, -1, au, a, 1);

    CHECK_INT(ingest_ts_feed(t, buf, n), 0);

    /* the video PES waits for the next start; the audio one is whole */

    CHECK_INT(frames2.n, 2);
    CHECK_INT(frames2.f[0].codec, INGEST_TS_CODEC_AAC);
    CHECK_INT(frames2.f[0].pts, t0);
    CHECK_INT(frames2.f[0].len, 207);
    CHECK_INT(frames2.f[1].pts, (t0 + 1920) & INGEST_TS_TIME_MASK);
    CHECK_INT(frames2.f[1].len, 307);

    /* the rest of frame 3, then frame 4, with a PTS past the wrap */

    a = adts(au, 400, 0x33);
    memmove(au, au + a - 250, 250);
    a = 250;
    a += adts(au + a, 100, 0x44);

    n = mux_pes(buf, 0x101, &cc[0], 0xc0, (t0 + 3 * 1920 + 5)
                & INGEST_TS_TIME_MASK, -1, au, a, 1);
    n += mux_pes(buf + n, 0x100, &cc[2], 0xe0,
                 (t0 + 7200) & INGEST_TS_TIME_MASK,
                 (t0 + 3600) & INGEST_TS_TIME_MASK, nonidr, sizeof(nonidr),
                 0);

    CHECK_INT(ingest_ts_feed(t, buf, n), 0);

    CHECK_INT(frames2.n, 5);
    CHECK_INT(frames2.f[2].codec, INGEST_TS_CODEC_AAC);
    CHECK_INT(frames2.f[2].len, 407);
    CHECK_INT(frames2.f[2].pts, (t0 + 2 * 1920) & INGEST_TS_TIME_MASK);
    CHECK_INT(frames2.f[2].hash, hash(f3, adts(f3, 400, 0x33)));
    CHECK_INT(frames2.f[3].len, 107);
    CHECK_INT(frames2.f[3].pts, (t0 + 3 * 1920 + 5) & INGEST_TS_TIME_MASK);
    CHECK(frames2.f[3].pts < 3 * 1920);
    CHECK_INT(frames2.f[4].codec, INGEST_TS_CODEC_H264);
    CHECK_INT(frames2.f[4].key, 1);
    CHECK_INT(frames2.f[4].pts, (t0 + 3600) & INGEST_TS_TIME_MASK);
    CHECK_INT(frames2.f[4].dts, t0);
    CHECK_INT(frames2.f[4].len, sizeof(idr));

    /* a new PMT version without the audio: one stream left */

    n = mux_pmt(buf, &cc[1], 0x1000, pids, types, 1, 1);
    CHECK_INT(ingest_ts_feed(t, buf, n), 0);
    CHECK_INT(t->nstreams, 1);
    CHECK_U64(t->stats.pmt_updates, 2);

    /* the same version again changes nothing */

    n = mux_pmt(buf, &cc[1], 0x1000, pids, types, 2, 1);
    CHECK_INT(ingest_ts_feed(t, buf, n), 0);
    CHECK_INT(t->nstreams, 1);

    /* and the video PES in progress ends at flush */

    CHECK_INT(ingest_ts_flush(t), 0);
    CHECK_INT(frames2.n, 6);
    CHECK_INT(frames2.f[5].key, 0);
    CHECK_INT(frames2.f[5].dts, (t0 + 3600) & INGEST_TS_TIME_MASK);

    ingest_ts_free(t);

    /* a large PES of 3000 bytes over many packets, in a short input
     * that never shows three sync bytes: taken at flush */

    memset(cc, 0, sizeof(cc));
    frames2.n = 0;
    ingest_ts_init(t, &conf);

    n = mux_pat(buf, &cc[0], 0x1000);
    CHECK_INT(ingest_ts_feed(t, buf, n), 0);
    CHECK_INT(t->stats.packets, 0);
    CHECK_INT(ingest_ts_flush(t), 0);
    CHECK_INT(t->stats.packets, 1);
    CHECK_INT(t->pmt.pid, 0x1000);

    ingest_ts_free(t);

    memset(cc, 0, sizeof(cc));
    frames2.n = 0;
    ingest_ts_init(t, &conf);

    memcpy(au, idr, sizeof(idr));
    for (i = sizeof(idr); i < 3000; i++) {
        au[i] = (unsigned char) (i | 1);
    }

    n = mux_pat(buf, &cc[0], 0x1000);
    n += mux_pmt(buf + n, &cc[1], 0x1000, pids, types, 1, 0);
    n += mux_pes(buf + n, 0x100, &cc[2], 0xe0, 90000, -1, au, 3000, 1);

    CHECK_INT(ingest_ts_feed(t, buf, n), 0);
    CHECK_INT(frames2.n, 1);
    CHECK_INT(frames2.f[0].len, 3000);
    CHECK_INT(frames2.f[0].pts, 90000);
    CHECK_INT(frames2.f[0].dts, 90000);
    CHECK_INT(frames2.f[0].hash, hash(au, 3000));

    ingest_ts_free(t);

    /* a continuity jump announced by discontinuity_indicator is no
     * error; one that is not announced is */

    memset(cc, 0, sizeof(cc));
    frames2.n = 0;
    ingest_ts_init(t, &conf);

    n = mux_pat(buf, &cc[0], 0x1000);
    n += mux_pmt(buf + n, &cc[1], 0x1000, pids, types, 1, 0);
    n += mux_pes(buf + n, 0x100, &cc[2], 0xe0, 0, -1, idr, sizeof(idr), 0);

    cc[2] += 5;
    i = n;
    n += mux_pes(buf + n, 0x100, &cc[2], 0xe0, 3600, -1, nonidr,
                 sizeof(nonidr), 0);
    CHECK_INT(buf[i + 3] & 0x20, 0x20);
    buf[i + 5] |= 0x80;

    cc[2] += 5;
    n += mux_pes(buf + n, 0x100, &cc[2], 0xe0, 7200, -1, nonidr,
                 sizeof(nonidr), 0);

    CHECK_INT(ingest_ts_feed(t, buf, n), 0);
    CHECK_INT(ingest_ts_flush(t), 0);
    CHECK_U64(t->stats.discontinuities, 1);
    CHECK_U64(t->stats.cc_errors, 1);

    /* the jump without the flag cost the PES before it, and the next
     * frame says so */
    CHECK_INT(frames2.n, 2);
    CHECK_INT(frames2.f[0].pts, 0);
    CHECK_INT(frames2.f[0].disc, 0);
    CHECK_INT(frames2.f[1].pts, 7200);
    CHECK_INT(frames2.f[1].disc, 1);

    ingest_ts_free(t);

    free(t);
    free(buf);
}


static void
test_ts(void)
{
    size_t          len;
    unsigned char  *ts;

    test_helpers();
    test_synthetic();

    ts = load(FIXTURE, &len);
    if (ts == NULL) {
        TEST_FAIL("cannot read %s (make -C t/unit run makes it)", FIXTURE);
        return;
    }

    test_fixture(ts, len);
    test_slices(ts, len);
    test_lost(ts, len);
    test_garbage(ts, len);
    test_damage(ts, len);
    test_bounded(ts, len);
    test_abort(ts, len);
    test_hevc();

    free(ts);
}


TEST_MAIN("test_ts", test_ts)
