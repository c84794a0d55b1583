
/*
 * Copyright (C) nginx video ingest developers
 *
 * FLV remuxing of what the TS demuxer makes of build/unit/live.ts:
 * the tags are checked field by field, then written as an FLV file that
 * ffmpeg must decode without an error; SPS parsing against x264's SPS
 * for several sizes, profiles and chroma formats.
 */


#include "ingest_flv.h"
#include "ingest_ts.h"
#include "test.h"


#define FIXTURE     TEST_SRCDIR "/../../build/unit/live.ts"
#define FLV_OUT     TEST_SRCDIR "/../../build/unit/test_flv.flv"

#define MAX_TAGS    1024


typedef struct {
    unsigned            type;
    uint32_t            timestamp;
    int32_t             cts;
    unsigned            key;
    unsigned            header;
    size_t              len;
    unsigned char      *data;
} tag_t;

typedef struct {
    ingest_flv_t        flv;
    size_t              n;
    tag_t               tags[MAX_TAGS];
    int64_t             first_dts;      /* of the first frame in */
    unsigned char       buf[1 << 20];
} remux_t;


static int on_frame(void *ctx, const ingest_ts_frame_t *f);
static void add_tags(remux_t *r, ingest_flv_tag_t *t, int n);
static void remux_free(remux_t *r);
static unsigned char *load(const char *path, size_t *len);
static uint32_t be32(const unsigned char *p);
static size_t h264(const char *args, unsigned char *out, size_t cap);
static int find_nal(const unsigned char *p, size_t len, unsigned type,
    const unsigned char **nal, size_t *n);
static void test_fixture(void);
static void check_avcc(const unsigned char *p, size_t len);
static void check_video(remux_t *r);
static void check_audio(remux_t *r);
static void write_flv(remux_t *r);
static void test_sps(void);
static void put_bits(unsigned char *p, size_t *pos, uint32_t v,
    unsigned n);
static void put_ue(unsigned char *p, size_t *pos, uint32_t v);
static void put_se(unsigned char *p, size_t *pos, int v);
static size_t nal_escape(const unsigned char *rbsp, size_t len,
    unsigned char *out);
static void test_sps_synthetic(void);
static void test_times(void);
static void test_small(void);
static void test_aac(void);
static void test_flv(void);


static remux_t  rx;


static int
on_frame(void *ctx, const ingest_ts_frame_t *f)
{
    int               n;
    remux_t          *r;
    ingest_flv_tag_t  t[2];

    r = ctx;

    if (r->first_dts < 0) {
        r->first_dts = f->dts;
    }

    if (f->codec == INGEST_TS_CODEC_H264) {
        n = ingest_flv_video(&r->flv, f->data, f->len, f->pts, f->dts,
                             r->buf, sizeof(r->buf), t);

    } else if (f->codec == INGEST_TS_CODEC_AAC) {
        n = ingest_flv_audio(&r->flv, f->data, f->len, f->pts, r->buf,
                             sizeof(r->buf), t);

    } else {
        return 0;
    }

    if (n < 0) {
        TEST_FAIL("remux returned %d", n);
        return 1;
    }

    add_tags(r, t, n);

    return 0;
}


static void
add_tags(remux_t *r, ingest_flv_tag_t *t, int n)
{
    int     i;
    tag_t  *x;

    for (i = 0; i < n && r->n < MAX_TAGS; i++) {
        x = &r->tags[r->n++];

        x->type = t[i].type;
        x->timestamp = t[i].timestamp;
        x->cts = t[i].cts;
        x->key = t[i].key;
        x->header = t[i].header;
        x->len = t[i].len;
        x->data = test_dup(t[i].data, t[i].len);
    }
}


static void
remux_free(remux_t *r)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        free(r->tags[i].data);
    }

    r->n = 0;
}


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
be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


/* one frame of x264 output, Annex B, with the given ffmpeg options */

static size_t
h264(const char *args, unsigned char *out, size_t cap)
{
    FILE    *p;
    size_t   n, r;
    char     cmd[512];

    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -hide_banner -loglevel error -f lavfi "
             "-i testsrc=rate=25 -frames:v 1 %s -c:v libx264 -f h264 -",
             args);

    p = popen(cmd, "r");
    if (p == NULL) {
        return 0;
    }

    n = 0;

    while (n < cap && (r = fread(out + n, 1, cap - n, p)) > 0) {
        n += r;
    }

    pclose(p);

    return n;
}


static int
find_nal(const unsigned char *p, size_t len, unsigned type,
    const unsigned char **nal, size_t *n)
{
    const unsigned char  *pos;

    pos = p;

    while (ingest_annexb_next(&pos, p + len, nal, n)) {
        if (*n > 0 && ((*nal)[0] & 0x1f) == type) {
            return 1;
        }
    }

    return 0;
}


static void
test_fixture(void)
{
    size_t             len;
    unsigned char     *ts;
    ingest_ts_t       *t;
    ingest_ts_conf_t   conf;

    ts = load(FIXTURE, &len);
    if (ts == NULL) {
        TEST_FAIL("cannot read %s (make -C t/unit run makes it)", FIXTURE);
        return;
    }

    t = malloc(sizeof(ingest_ts_t));
    if (t == NULL) {
        exit(2);
    }

    ingest_flv_init(&rx.flv);
    rx.n = 0;
    rx.first_dts = -1;

    memset(&conf, 0, sizeof(ingest_ts_conf_t));
    conf.handler = on_frame;
    conf.ctx = &rx;

    ingest_ts_init(t, &conf);
    CHECK_INT(ingest_ts_feed(t, ts, len), 0);
    CHECK_INT(ingest_ts_flush(t), 0);
    ingest_ts_free(t);

    CHECK_U64(rx.flv.stats.video_tags, 50);
    CHECK_U64(rx.flv.stats.audio_tags, 95);
    CHECK_U64(rx.flv.stats.seq_headers, 2);
    CHECK_U64(rx.flv.stats.waiting, 0);
    CHECK_U64(rx.flv.stats.bad_frames, 0);
    CHECK_U64(rx.flv.stats.bad_ps, 0);

    CHECK_INT(rx.flv.info.has_video, 1);
    CHECK_INT(rx.flv.info.has_audio, 1);
    CHECK_INT(rx.flv.info.width, 320);
    CHECK_INT(rx.flv.info.height, 240);
    CHECK_INT(rx.flv.info.profile, 100);
    CHECK_INT(rx.flv.info.chroma_format, 1);
    CHECK_INT(rx.flv.info.bit_depth, 8);
    CHECK_INT(rx.flv.info.sample_rate, 48000);
    CHECK_INT(rx.flv.info.channels, 1);
    CHECK_INT(rx.flv.info.aac_object, 2);

    CHECK_INT(rx.n, 50 + 95 + 2);

    check_video(&rx);
    check_audio(&rx);
    write_flv(&rx);

    remux_free(&rx);
    free(t);
    free(ts);
}


/* AVCDecoderConfigurationRecord, ISO/IEC 14496-15 5.3.3.1 */

static void
check_avcc(const unsigned char *p, size_t len)
{
    size_t  off, n, i, nsps, npps;

    CHECK(len > 7);
    CHECK_INT(p[0], 1);
    CHECK_INT(p[4], 0xff);
    CHECK_INT(p[5] & 0xe0, 0xe0);

    nsps = p[5] & 0x1f;
    CHECK_INT(nsps, 1);

    off = 6;

    for (i = 0; i < nsps && off + 2 <= len; i++) {
        n = (size_t) p[off] << 8 | p[off + 1];
        CHECK(off + 2 + n <= len);
        CHECK_INT(p[off + 2] & 0x1f, 7);

        /* profile, compatibility and level are the SPS's */
        CHECK_INT(p[off + 3], p[1]);
        CHECK_INT(p[off + 4], p[2]);
        CHECK_INT(p[off + 5], p[3]);

        off += 2 + n;
    }

    npps = p[off++];
    CHECK_INT(npps, 1);

    for (i = 0; i < npps && off + 2 <= len; i++) {
        n = (size_t) p[off] << 8 | p[off + 1];
        CHECK(off + 2 + n <= len);
        CHECK_INT(p[off + 2] & 0x1f, 8);
        off += 2 + n;
    }

    /* High profile: chroma_format, bit depths, no SPS extensions */

    if (p[1] == 100) {
        CHECK_INT(len, off + 4);
        CHECK_INT(p[off], 0xfc | 1);
        CHECK_INT(p[off + 1], 0xf8);
        CHECK_INT(p[off + 2], 0xf8);
        CHECK_INT(p[off + 3], 0);

    } else {
        CHECK_INT(len, off);
    }
}


static void
check_video(remux_t *r)
{
    size_t          i, off, n, nals, keys, frames, bad;
    tag_t          *t;
    uint32_t        last;
    unsigned char   type;

    keys = 0;
    frames = 0;
    bad = 0;
    last = 0;

    for (i = 0; i < r->n; i++) {
        t = &r->tags[i];

        if (t->type != INGEST_FLV_TAG_VIDEO) {
            continue;
        }

        if (frames == 0 && !t->header) {
            TEST_FAIL("video tag %zu before the sequence header", i);
        }

        if (t->header) {
            CHECK_INT(frames, 0);
            CHECK_INT(t->data[0], 0x17);
            CHECK_INT(t->data[1], 0);
            CHECK_INT(t->data[2] | t->data[3] | t->data[4], 0);
            check_avcc(t->data + 5, t->len - 5);
            frames++;
            continue;
        }

        frames++;

        /* frame type and codec, NALU packet, composition time */

        if ((t->data[0] != 0x17 && t->data[0] != 0x27)
            || t->data[1] != 1
            || (t->data[0] == 0x17) != (t->key != 0)
            || (int32_t) ((uint32_t) t->data[2] << 16 | t->data[3] << 8
                          | t->data[4]) != t->cts
            || t->cts < 0 || t->cts > 200)
        {
            bad++;
        }

        keys += t->key;

        /* DTS never goes back */

        if (t->timestamp < last) {
            bad++;
        }

        last = t->timestamp;

        /* 4-byte lengths adding up to the tag; no SPS, PPS, AUD */

        nals = 0;

        for (off = 5; off + 4 <= t->len; off += 4 + n) {
            n = be32(t->data + off);

            if (n == 0 || off + 4 + n > t->len) {
                bad++;
                break;
            }

            type = t->data[off + 4] & 0x1f;

            if (type == 7 || type == 8 || type == 9) {
                bad++;
            }

            if (type == 5 && !t->key) {
                bad++;
            }

            nals++;
        }

        if (off != t->len || nals == 0) {
            bad++;
        }
    }

    CHECK_INT(bad, 0);
    CHECK_INT(keys, 2);
    CHECK_INT(frames, 51);
}


static void
check_audio(remux_t *r)
{
    size_t    i, frames, bad;
    tag_t    *t;
    uint32_t  last, first;

    frames = 0;
    bad = 0;
    last = 0;
    first = 0;

    for (i = 0; i < r->n; i++) {
        t = &r->tags[i];

        if (t->type != INGEST_FLV_TAG_AUDIO) {
            continue;
        }

        CHECK_INT(t->data[0], 0xaf);

        if (frames == 0) {
            /* AudioSpecificConfig: LC, 48 kHz, 1 channel */
            CHECK_INT(t->header, 1);
            CHECK_INT(t->len, 4);
            CHECK_INT(t->data[1], 0);
            CHECK_INT(t->data[2], 0x11);
            CHECK_INT(t->data[3], 0x88);
            frames++;
            continue;
        }

        /* raw frames of 21 or 22 ms */

        if (t->header || t->data[1] != 1 || t->len < 3) {
            bad++;
        }

        if (frames == 1) {
            first = t->timestamp;

        } else if (t->timestamp - last != 21 && t->timestamp - last != 22) {
            bad++;
        }

        last = t->timestamp;
        frames++;
    }

    CHECK_INT(bad, 0);
    CHECK_INT(frames, 96);

    /* times count from the first DTS in (video's, 126000), the first
     * audio PTS is 131280 */
    CHECK_INT(r->first_dts, 126000);
    CHECK_INT(first, (131280 - 126000) / 90);
    CHECK_INT(last, (131280 + 94 * 1920 - 126000) / 90);
}


/* the tags as an FLV file: ffprobe counts them, ffmpeg decodes them */

static void
write_flv(remux_t *r)
{
    int            rc;
    FILE          *f, *p;
    char           line[256], cmd[512];
    size_t         i, n;
    unsigned       w, h, v, a;
    unsigned char  hdr[16];

    f = fopen(FLV_OUT, "wb");
    if (f == NULL) {
        TEST_FAIL("cannot write %s", FLV_OUT);
        return;
    }

    n = ingest_flv_file_header(hdr, 1, 1);
    CHECK_INT(n, 13);
    CHECK(memcmp(hdr, "FLV\x01\x05\0\0\0\x09\0\0\0\0", 13) == 0);
    fwrite(hdr, 1, n, f);

    for (i = 0; i < r->n; i++) {
        n = ingest_flv_tag_header(hdr, r->tags[i].type, r->tags[i].len,
                                  r->tags[i].timestamp);
        fwrite(hdr, 1, n, f);
        fwrite(r->tags[i].data, 1, r->tags[i].len, f);

        hdr[0] = (unsigned char) ((11 + r->tags[i].len) >> 24);
        hdr[1] = (unsigned char) ((11 + r->tags[i].len) >> 16);
        hdr[2] = (unsigned char) ((11 + r->tags[i].len) >> 8);
        hdr[3] = (unsigned char) (11 + r->tags[i].len);
        fwrite(hdr, 1, 4, f);
    }

    fclose(f);

    p = popen("ffprobe -v error -count_packets -show_entries "
              "stream=codec_name,width,height,nb_read_packets -of csv=p=0 '"
              FLV_OUT "'", "r");
    if (p == NULL) {
        TEST_FAIL("%s", "popen ffprobe");
        return;
    }

    v = 0;
    a = 0;
    w = 0;
    h = 0;

    while (fgets(line, sizeof(line), p) != NULL) {
        if (strncmp(line, "h264,", 5) == 0) {
            if (sscanf(line + 5, "%u,%u,%u", &w, &h, &v) != 3) {
                TEST_FAIL("ffprobe: %s", line);
            }

        } else if (strncmp(line, "aac,", 4) == 0) {
            if (sscanf(line + 4, "%u", &a) != 1) {
                TEST_FAIL("ffprobe: %s", line);
            }
        }
    }

    pclose(p);

    CHECK_INT(w, 320);
    CHECK_INT(h, 240);
    CHECK_INT(v, 50);
    CHECK_INT(a, 95);

    /* a decoder finds nothing wrong in the bitstream */

    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -xerror -i '%s' "
             "-f null - 2>&1", FLV_OUT);

    p = popen(cmd, "r");
    if (p == NULL) {
        TEST_FAIL("%s", "popen ffmpeg");
        return;
    }

    n = 0;

    while (fgets(line, sizeof(line), p) != NULL) {
        fprintf(stderr, "ffmpeg: %s", line);
        n++;
    }

    rc = pclose(p);

    CHECK_INT(rc, 0);
    CHECK_INT(n, 0);
}


static void
test_sps(void)
{
    size_t                i, n, sps_len, pps_len, len;
    unsigned char         es[65536], rec[2048];
    const unsigned char  *sps, *pps;
    ingest_flv_info_t     info;

    static const struct {
        const char       *args;
        unsigned          width, height, profile, chroma, depth;
    } cases[] = {
        { "-s 320x240 -pix_fmt yuv420p", 320, 240, 100, 1, 8 },
        { "-s 1920x1080 -pix_fmt yuv420p", 1920, 1080, 100, 1, 8 },
        { "-s 330x250 -pix_fmt yuv420p", 330, 250, 100, 1, 8 },
        { "-s 720x576 -pix_fmt yuv420p -flags +ilme+ildct "
          "-x264-params tff=1", 720, 576, 100, 1, 8 },
        { "-s 96x64 -profile:v baseline -pix_fmt yuv420p", 96, 64, 66, 1,
          8 },
        { "-s 66x34 -pix_fmt yuv444p", 66, 34, 244, 3, 8 },
        { "-s 130x66 -pix_fmt yuv422p", 130, 66, 122, 2, 8 },
        { "-s 64x48 -pix_fmt yuv420p10le", 64, 48, 110, 1, 10 },
        { "-s 64x48 -pix_fmt gray", 64, 48, 100, 0, 8 },
        { "-s 200x120 -pix_fmt yuv420p -x264-params cqm=jvt", 200, 120,
          100, 1, 8 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = h264(cases[i].args, es, sizeof(es));

        if (!find_nal(es, n, 7, &sps, &sps_len)
            || !find_nal(es, n, 8, &pps, &pps_len))
        {
            TEST_FAIL("no SPS/PPS from x264 with %s", cases[i].args);
            continue;
        }

        memset(&info, 0, sizeof(ingest_flv_info_t));

        if (ingest_flv_parse_sps(sps, sps_len, &info) != 0) {
            TEST_FAIL("SPS of %s not parsed", cases[i].args);
            continue;
        }

        if (info.width != cases[i].width || info.height != cases[i].height
            || info.profile != cases[i].profile
            || info.chroma_format != cases[i].chroma
            || info.bit_depth != cases[i].depth)
        {
            TEST_FAIL("%s: %ux%u profile %u chroma %u depth %u",
                      cases[i].args, info.width, info.height, info.profile,
                      info.chroma_format, info.bit_depth);

        } else {
            test_passed++;
        }

        len = ingest_flv_avcc(sps, sps_len, pps, pps_len, rec, sizeof(rec));
        CHECK(len == 6 + 2 + sps_len + 1 + 2 + pps_len
                     + (cases[i].profile == 100 || cases[i].profile == 110
                        || cases[i].profile == 122 ? 4 : 0));

        if (len > 6 + 2 + sps_len + 1 + 2 + pps_len) {
            CHECK_INT(rec[len - 4], 0xfc | cases[i].chroma);
            CHECK_INT(rec[len - 3], 0xf8 | (cases[i].depth - 8));
        }

        /* cut SPS: an error, never a read past the end */

        for (n = 0; n < sps_len; n++) {
            unsigned char  *cut;

            cut = test_dup(sps, n);
            (void) ingest_flv_parse_sps(cut, n, &info);
            free(cut);
        }

        CHECK_INT(ingest_flv_avcc(sps, sps_len, pps, pps_len, rec, 10), 0);
    }

    CHECK_INT(ingest_flv_parse_sps((const unsigned char *) "\x68\x01\x02\x03",
                                   4, &info), -1);
}


static void
put_bits(unsigned char *p, size_t *pos, uint32_t v, unsigned n)
{
    while (n-- > 0) {
        if ((v >> n) & 1) {
            p[*pos >> 3] |= (unsigned char) (0x80 >> (*pos & 7));
        }

        (*pos)++;
    }
}


static void
put_ue(unsigned char *p, size_t *pos, uint32_t v)
{
    unsigned  bits;
    uint64_t  x;

    x = (uint64_t) v + 1;

    for (bits = 0; (x >> bits) > 1; bits++) {
        /* void */
    }

    put_bits(p, pos, 0, bits);
    put_bits(p, pos, (uint32_t) x, bits + 1);
}


static void
put_se(unsigned char *p, size_t *pos, int v)
{
    put_ue(p, pos, v > 0 ? (uint32_t) (2 * v - 1) : (uint32_t) (-2 * v));
}


/* RBSP to NAL payload: 00 00 0x (x <= 3) becomes 00 00 03 0x */

static size_t
nal_escape(const unsigned char *rbsp, size_t len, unsigned char *out)
{
    size_t    i, n, zeros;

    n = 0;
    zeros = 0;

    for (i = 0; i < len; i++) {
        if (zeros >= 2 && rbsp[i] <= 3) {
            out[n++] = 3;
            zeros = 0;
        }

        out[n++] = rbsp[i];
        zeros = (rbsp[i] == 0) ? zeros + 1 : 0;
    }

    return n;
}


/* hand-made SPS: scaling lists, POC type 1, cropping, escapes */

static void
test_sps_synthetic(void)
{
    int                i, escaped;
    size_t             pos, n, k, id;
    unsigned char      rbsp[256], nal[512];
    ingest_flv_info_t  info;

    /* the sps id moves what follows until an escape is needed */

    escaped = 0;
    pos = 0;
    n = 0;

    for (id = 0; id < 32 && !escaped; id++) {
        memset(rbsp, 0, sizeof(rbsp));
        pos = 0;

        put_bits(rbsp, &pos, 0x67, 8);
        put_bits(rbsp, &pos, 100, 8);           /* profile_idc */
        put_bits(rbsp, &pos, 0, 8);
        put_bits(rbsp, &pos, 40, 8);            /* level 4.0 */
        put_ue(rbsp, &pos, (uint32_t) id);      /* sps id */
        put_ue(rbsp, &pos, 1);                  /* 4:2:0 */
        put_ue(rbsp, &pos, 0);
        put_ue(rbsp, &pos, 0);
        put_bits(rbsp, &pos, 0, 1);
        put_bits(rbsp, &pos, 1, 1);             /* scaling matrix */

        for (i = 0; i < 8; i++) {
            put_bits(rbsp, &pos, i == 0 || i == 6, 1);

            if (i == 0) {
                /* 16 deltas of +1 */
                for (k = 0; k < 16; k++) {
                    put_se(rbsp, &pos, 1);
                }

            } else if (i == 6) {
                /* next scale 0 at once: the default list, one delta */
                put_se(rbsp, &pos, -8);
            }
        }

        put_ue(rbsp, &pos, 0);                  /* log2_max_frame_num */
        put_ue(rbsp, &pos, 1);                  /* POC type 1 */
        put_bits(rbsp, &pos, 0, 1);
        put_se(rbsp, &pos, -5);
        put_se(rbsp, &pos, 7);
        put_ue(rbsp, &pos, 3);

        for (k = 0; k < 3; k++) {
            put_se(rbsp, &pos, (int) k - 1);
        }

        put_ue(rbsp, &pos, 1u << 28);           /* max_num_ref_frames:
                                                   zero bytes */
        put_bits(rbsp, &pos, 0, 1);
        put_ue(rbsp, &pos, 119);                /* 1920 */
        put_ue(rbsp, &pos, 67);                 /* 1088 */
        put_bits(rbsp, &pos, 1, 1);             /* frame_mbs_only */
        put_bits(rbsp, &pos, 1, 1);
        put_bits(rbsp, &pos, 1, 1);             /* cropping */
        put_ue(rbsp, &pos, 1);
        put_ue(rbsp, &pos, 2);
        put_ue(rbsp, &pos, 0);
        put_ue(rbsp, &pos, 4);                  /* 1088 - 8 */
        put_bits(rbsp, &pos, 0, 1);             /* no VUI */
        put_bits(rbsp, &pos, 1, 1);             /* rbsp_stop_one_bit */

        n = nal_escape(rbsp, (pos + 7) / 8, nal);

        for (k = 0; k + 2 < n; k++) {
            if (nal[k] == 0 && nal[k + 1] == 0 && nal[k + 2] == 3) {
                escaped = 1;
            }
        }
    }

    CHECK_INT(escaped, 1);

    memset(&info, 0, sizeof(ingest_flv_info_t));
    CHECK_INT(ingest_flv_parse_sps(nal, n, &info), 0);
    CHECK_INT(info.width, 1920 - 2 * 3);
    CHECK_INT(info.height, 1080);
    CHECK_INT(info.profile, 100);
    CHECK_INT(info.level, 40);

    /* the RBSP itself (nothing to unescape) reads the same */

    memset(&info, 0, sizeof(ingest_flv_info_t));
    CHECK_INT(ingest_flv_parse_sps(rbsp, (pos + 7) / 8, &info), 0);
    CHECK_INT(info.width, 1914);
    CHECK_INT(info.height, 1080);

    /* cropping everything away, a delta_scale out of range */

    memset(rbsp, 0, sizeof(rbsp));
    pos = 0;
    put_bits(rbsp, &pos, 0x67, 8);
    put_bits(rbsp, &pos, 66, 8);
    put_bits(rbsp, &pos, 0, 8);
    put_bits(rbsp, &pos, 30, 8);
    put_ue(rbsp, &pos, 0);
    put_ue(rbsp, &pos, 0);
    put_ue(rbsp, &pos, 2);                      /* POC type 2 */
    put_ue(rbsp, &pos, 1);
    put_bits(rbsp, &pos, 0, 1);
    put_ue(rbsp, &pos, 0);                      /* 16 */
    put_ue(rbsp, &pos, 0);                      /* 16 */
    put_bits(rbsp, &pos, 1, 1);                 /* frame_mbs_only */
    put_bits(rbsp, &pos, 1, 1);
    put_bits(rbsp, &pos, 1, 1);                 /* cropping */
    put_ue(rbsp, &pos, 4);
    put_ue(rbsp, &pos, 4);
    put_ue(rbsp, &pos, 0);
    put_ue(rbsp, &pos, 0);
    put_bits(rbsp, &pos, 1, 2);

    n = nal_escape(rbsp, (pos + 7) / 8, nal);
    CHECK_INT(ingest_flv_parse_sps(nal, n, &info), -1);

    memset(rbsp, 0, sizeof(rbsp));
    pos = 0;
    put_bits(rbsp, &pos, 0x67, 8);
    put_bits(rbsp, &pos, 100, 8);
    put_bits(rbsp, &pos, 0, 8);
    put_bits(rbsp, &pos, 30, 8);
    put_ue(rbsp, &pos, 0);
    put_ue(rbsp, &pos, 1);
    put_ue(rbsp, &pos, 0);
    put_ue(rbsp, &pos, 0);
    put_bits(rbsp, &pos, 0, 1);
    put_bits(rbsp, &pos, 1, 1);
    put_bits(rbsp, &pos, 1, 1);
    put_se(rbsp, &pos, 200);
    put_bits(rbsp, &pos, 0xffff, 16);

    n = nal_escape(rbsp, (pos + 7) / 8, nal);
    CHECK_INT(ingest_flv_parse_sps(nal, n, &info), -1);
}


/* 33-bit wrap of the 90 kHz clock and 32-bit wrap of FLV's ms */

static void
test_times(void)
{
    int                n;
    size_t             i, len;
    int64_t            dts, base;
    uint64_t           ms;
    ingest_flv_t       flv;
    unsigned char      es[65536], au[4096], out[8192];
    ingest_flv_tag_t   t[2];
    const unsigned char  *sps, *pps, *idr;
    size_t             sps_len, pps_len, idr_len;

    len = h264("-s 64x48 -pix_fmt yuv420p", es, sizeof(es));

    if (!find_nal(es, len, 7, &sps, &sps_len)
        || !find_nal(es, len, 8, &pps, &pps_len)
        || !find_nal(es, len, 5, &idr, &idr_len)
        || 12 + sps_len + pps_len + idr_len > sizeof(au))
    {
        TEST_FAIL("%s", "no SPS/PPS/IDR from x264");
        return;
    }

    n = 0;
    memcpy(au + n, "\0\0\0\1", 4);
    memcpy(au + n + 4, sps, sps_len);
    n += 4 + (int) sps_len;
    memcpy(au + n, "\0\0\0\1", 4);
    memcpy(au + n + 4, pps, pps_len);
    n += 4 + (int) pps_len;
    memcpy(au + n, "\0\0\0\1", 4);
    memcpy(au + n + 4, idr, idr_len);
    n += 4 + (int) idr_len;
    len = (size_t) n;

    ingest_flv_init(&flv);

    /* from 2 s before the 33-bit wrap to 2 s after it */

    dts = INGEST_TS_TIME_MASK + 1 - 180000;

    for (i = 0; i < 100; i++) {
        n = ingest_flv_video(&flv, au, len,
                             (dts + 3600) & INGEST_TS_TIME_MASK,
                             dts & INGEST_TS_TIME_MASK, out, sizeof(out),
                             t);

        CHECK_INT(n, i == 0 ? 2 : 1);

        if (n > 0) {
            CHECK_INT(t[n - 1].timestamp, i * 40);
            CHECK_INT(t[n - 1].cts, 40);
            CHECK_INT(t[n - 1].key, 1);
        }

        dts += 3600;
    }

    /* big steps (6.6 hours each) past 2^32 ms */

    base = INGEST_TS_TIME_MASK + 1 - 180000;
    dts -= 3600;
    ms = 0;

    for (i = 0; i < 200; i++) {
        dts += INT64_C(1) << 31;
        ms = (uint64_t) ((dts - base) / 90);

        n = ingest_flv_video(&flv, au, len, dts & INGEST_TS_TIME_MASK, -1,
                             out, sizeof(out), t);

        if (n != 1 || t[0].timestamp != (uint32_t) ms) {
            TEST_FAIL("step %zu: %d tags, %u ms, want %u", i, n,
                      n > 0 ? t[0].timestamp : 0, (uint32_t) ms);
            break;
        }
    }

    CHECK(ms > UINT32_MAX);

    /* no time at all: the last one */

    n = ingest_flv_video(&flv, au, len, -1, -1, out, sizeof(out), t);
    CHECK_INT(n, 1);
    CHECK_INT(t[0].timestamp, (uint32_t) ms);

    /* waiting for an IDR; a new SPS makes a new sequence header */

    ingest_flv_init(&flv);

    n = ingest_flv_video(&flv, au + 4 + sps_len + 4 + pps_len,
                         len - (8 + sps_len + pps_len), 0, 0, out,
                         sizeof(out), t);
    CHECK_INT(n, 0);
    CHECK_U64(flv.stats.waiting, 1);

    ingest_flv_wait_key(&flv);

    n = ingest_flv_video(&flv, au, len, 0, 0, out, sizeof(out), t);
    CHECK_INT(n, 2);
    CHECK_INT(t[0].header, 1);

    n = ingest_flv_video(&flv, au, len, 3600, 3600, out, sizeof(out), t);
    CHECK_INT(n, 1);
    CHECK_INT(t[0].header, 0);

    au[4 + 3] ^= 0x01;                           /* the level */
    n = ingest_flv_video(&flv, au, len, 7200, 7200, out, sizeof(out), t);
    CHECK_INT(n, 2);
    CHECK_INT(t[0].header, 1);
    CHECK_INT(t[0].data[5 + 3], au[4 + 3]);
    CHECK_U64(flv.stats.seq_headers, 2);
    au[4 + 3] ^= 0x01;

    /* an access unit of only an AUD: nothing */

    n = ingest_flv_video(&flv, (const unsigned char *) "\0\0\1\x09\xf0", 5,
                         9000, 9000, out, sizeof(out), t);
    CHECK_INT(n, 0);
    CHECK_U64(flv.stats.bad_frames, 1);
}


/* out too small: -1, and the next call with room still works */

static void
test_small(void)
{
    size_t             len;
    ingest_flv_t       flv;
    unsigned char      es[65536], *out;
    ingest_flv_tag_t   t[2];

    len = h264("-s 64x48 -pix_fmt yuv420p", es, sizeof(es));
    if (len == 0) {
        TEST_FAIL("%s", "no x264 output");
        return;
    }

    ingest_flv_init(&flv);

    out = malloc(ingest_flv_video_size(len));
    if (out == NULL) {
        exit(2);
    }

    CHECK_INT(ingest_flv_video(&flv, es, len, 0, 0, out, 100, t), -1);
    CHECK_INT(ingest_flv_video(&flv, es, len, 0, 0, out,
                               ingest_flv_video_size(len), t), 2);
    CHECK(t[0].len + t[1].len <= ingest_flv_video_size(len));

    free(out);
}


static void
test_aac(void)
{
    int                n;
    ingest_flv_t       flv;
    unsigned char      f[64], out[128];
    ingest_flv_tag_t   t[2];

    ingest_flv_init(&flv);

    /* HE-less LC, 44.1 kHz (index 4), mono, with CRC (9-byte header) */

    memset(f, 0x5a, sizeof(f));
    f[0] = 0xff;
    f[1] = 0xf0;
    f[2] = (1 << 6) | (4 << 2);
    f[3] = (unsigned char) ((1 << 6) | (40 >> 11));
    f[4] = (unsigned char) (40 >> 3);
    f[5] = (unsigned char) ((40 & 7) << 5 | 0x1f);
    f[6] = 0xfc;

    n = ingest_flv_audio(&flv, f, 40, 90000, out, sizeof(out), t);
    CHECK_INT(n, 2);
    CHECK_INT(t[0].len, 4);
    CHECK_INT(t[0].data[2], 0x12);               /* 00010 0100 */
    CHECK_INT(t[0].data[3], 0x08);               /* 0 0001 000 */
    CHECK_INT(t[1].len, 2 + 40 - 9);
    CHECK_INT(t[1].timestamp, 0);
    CHECK_INT(flv.info.sample_rate, 44100);
    CHECK_INT(flv.info.channels, 1);

    /* the same config: no header again */

    n = ingest_flv_audio(&flv, f, 40, 90000 + 2090, out, sizeof(out), t);
    CHECK_INT(n, 1);
    CHECK_INT(t[0].timestamp, 23);

    /* too small a buffer */

    CHECK_INT(ingest_flv_audio(&flv, f, 40, 95000, out, 10, t), -1);

    /* a channel configuration of 0 (a PCE), several raw blocks, short */

    f[3] &= 0x3f;
    f[2] &= ~0x01;
    CHECK_INT(ingest_flv_audio(&flv, f, 40, 95000, out, sizeof(out), t), 0);
    f[3] |= 0x40;
    f[6] = 0xfd;
    CHECK_INT(ingest_flv_audio(&flv, f, 40, 95000, out, sizeof(out), t), 0);
    f[6] = 0xfc;
    CHECK_INT(ingest_flv_audio(&flv, f, 39, 95000, out, sizeof(out), t), 0);
    CHECK_U64(flv.stats.bad_frames, 3);

    /* no time before any time: dropped */

    ingest_flv_init(&flv);
    CHECK_INT(ingest_flv_audio(&flv, f, 40, -1, out, sizeof(out), t), 0);
}


static void
test_flv(void)
{
    test_fixture();
    test_sps();
    test_sps_synthetic();
    test_times();
    test_small();
    test_aac();
}


TEST_MAIN("test_flv", test_flv)
