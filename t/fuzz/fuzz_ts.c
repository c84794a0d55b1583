
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for the MPEG-TS demuxer and the FLV remuxer of what
 * it hands out. The first input byte picks how the rest is sliced and
 * whether PSI CRCs are fixed up (so mutated PAT/PMT sections get read);
 * the rest is the stream. Checks: frames and tags well-formed, and the
 * same frames whatever the slicing.
 */


#include "ingest_ts.h"
#include "ingest_flv.h"

#include <stdlib.h>
#include <string.h>


#define FUZZ_MAX_PES  65536
#define FUZZ_MAX_IN   65536


typedef struct {
    size_t              frames;
    uint32_t            hash;
    ingest_flv_t        flv;
} fuzz_out_t;


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int on_frame(void *ctx, const ingest_ts_frame_t *f);
static void check_video_tag(const ingest_flv_tag_t *t);
static void fix_crc(unsigned char *p, size_t len);
static void run(const unsigned char *p, size_t len, size_t slice,
    fuzz_out_t *out, ingest_ts_stats_t *stats);
static uint32_t mix(uint32_t h, const unsigned char *p, size_t len);


static ingest_ts_t     ts;
static fuzz_out_t      out1, out2;
static unsigned char   in[FUZZ_MAX_IN];
static unsigned char   tags_buf[ingest_flv_video_size(FUZZ_MAX_PES)];


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t             slice;
    ingest_ts_stats_t  st1, st2;

    static const size_t  slices[8] = { 0, 1, 7, 187, 188, 189, 1316, 3 };

    if (size < 1 || size - 1 > FUZZ_MAX_IN) {
        return 0;
    }

    slice = slices[data[0] & 7];

    memcpy(in, data + 1, size - 1);

    if (data[0] & 0x08) {
        fix_crc(in, size - 1);
    }

    run(in, size - 1, slice, &out1, &st1);
    run(in, size - 1, 0, &out2, &st2);

    if (out1.frames != out2.frames || out1.hash != out2.hash
        || st1.cc_errors != st2.cc_errors
        || st1.dropped_bytes != st2.dropped_bytes
        || st1.packets != st2.packets)
    {
        abort();
    }

    if (st1.frames != st1.video_frames + st1.audio_frames
        || st1.frames != out1.frames
        || st1.packets * INGEST_TS_PACKET_SIZE > st1.bytes)
    {
        abort();
    }

    return 0;
}


static void
run(const unsigned char *p, size_t len, size_t slice, fuzz_out_t *out,
    ingest_ts_stats_t *stats)
{
    size_t            n;
    ingest_ts_conf_t  conf;

    memset(&conf, 0, sizeof(ingest_ts_conf_t));
    conf.handler = on_frame;
    conf.ctx = out;
    conf.max_pes = FUZZ_MAX_PES;

    out->frames = 0;
    out->hash = 0;
    ingest_flv_init(&out->flv);

    ingest_ts_init(&ts, &conf);

    while (len > 0) {
        n = (slice == 0 || slice > len) ? len : slice;

        if (ingest_ts_feed(&ts, p, n) != 0) {
            abort();
        }

        p += n;
        len -= n;
    }

    if (ingest_ts_flush(&ts) != 0) {
        abort();
    }

    *stats = ts.stats;

    ingest_ts_free(&ts);
}


static int
on_frame(void *ctx, const ingest_ts_frame_t *f)
{
    int                n, i;
    size_t             flen;
    fuzz_out_t        *out;
    ingest_flv_tag_t   t[2];
    ingest_ts_frame_t  a;

    out = ctx;

    if (f->len == 0 || f->len > FUZZ_MAX_PES
        || f->pts < INGEST_TS_NO_TIME || f->pts > INGEST_TS_TIME_MASK
        || f->dts < INGEST_TS_NO_TIME || f->dts > INGEST_TS_TIME_MASK)
    {
        abort();
    }

    out->frames++;
    out->hash = mix(out->hash, f->data, f->len);
    out->hash = mix(out->hash, (const unsigned char *) &f->pts, 8);
    out->hash = mix(out->hash, (const unsigned char *) &f->dts, 8);

    switch (f->codec) {

    case INGEST_TS_CODEC_H264:
        n = ingest_flv_video(&out->flv, f->data, f->len, f->pts, f->dts,
                             tags_buf, ingest_flv_video_size(f->len), t);
        if (n < 0 || n > 2) {
            abort();
        }

        for (i = 0; i < n; i++) {
            if (t[i].type != INGEST_FLV_TAG_VIDEO
                || t[i].data < tags_buf
                || t[i].data + t[i].len
                   > tags_buf + ingest_flv_video_size(f->len))
            {
                abort();
            }

            check_video_tag(&t[i]);
        }

        break;

    case INGEST_TS_CODEC_AAC:
        /* one whole ADTS frame */

        flen = ingest_adts_parse(f->data, f->len, &a);

        if (flen != f->len || f->pts != f->dts || !f->key) {
            abort();
        }

        n = ingest_flv_audio(&out->flv, f->data, f->len, f->pts, tags_buf,
                             ingest_flv_audio_size(f->len), t);
        if (n < 0 || n > 2) {
            abort();
        }

        for (i = 0; i < n; i++) {
            if (t[i].type != INGEST_FLV_TAG_AUDIO || t[i].data[0] != 0xaf
                || t[i].len < 2
                || (t[i].header && (t[i].len != 4 || t[i].data[1] != 0))
                || (!t[i].header && t[i].data[1] != 1))
            {
                abort();
            }
        }

        break;

    case INGEST_TS_CODEC_H265:
        if (f->key != (unsigned) ingest_annexb_key(f->codec, f->data,
                                                   f->len))
        {
            abort();
        }

        break;

    default:
        abort();
    }

    return 0;
}


/* a sequence header's record parses; NAL lengths fill a NALU tag */

static void
check_video_tag(const ingest_flv_tag_t *t)
{
    size_t    off, n;
    uint32_t  cts;

    if (t->len < 5 || (t->data[0] != 0x17 && t->data[0] != 0x27)) {
        abort();
    }

    if (t->header) {
        if (t->data[1] != 0 || t->len < 5 + 7 || t->data[5] != 1
            || (t->data[10] & 0x1f) == 0)
        {
            abort();
        }

        return;
    }

    cts = (uint32_t) t->data[2] << 16 | t->data[3] << 8 | t->data[4];

    if (t->data[1] != 1 || (cts & 0x800000 ? (int32_t) (cts | 0xff000000)
                                           : (int32_t) cts) != t->cts)
    {
        abort();
    }

    for (off = 5; off < t->len; off += 4 + n) {
        if (t->len - off < 4) {
            abort();
        }

        n = (size_t) t->data[off] << 24 | (size_t) t->data[off + 1] << 16
            | (size_t) t->data[off + 2] << 8 | t->data[off + 3];

        if (n == 0 || n > t->len - off - 4) {
            abort();
        }
    }

    if (off != t->len) {
        abort();
    }
}


/* PAT/PMT sections that start a packet get a right CRC */

static void
fix_crc(unsigned char *p, size_t len)
{
    size_t    i, off, slen;
    uint32_t  crc;

    for (i = 0; i + INGEST_TS_PACKET_SIZE <= len;
         i += INGEST_TS_PACKET_SIZE)
    {
        if (p[i] != 0x47 || !(p[i + 1] & 0x40) || (p[i + 3] & 0x30) != 0x10)
        {
            continue;
        }

        off = i + 5 + p[i + 4];

        if (off + 3 > i + INGEST_TS_PACKET_SIZE
            || (p[off] != 0x00 && p[off] != 0x02))
        {
            continue;
        }

        slen = 3 + ((p[off + 1] & 0x0f) << 8 | p[off + 2]);

        if (slen < 12 || off + slen > i + INGEST_TS_PACKET_SIZE) {
            continue;
        }

        crc = ingest_ts_crc32(p + off, slen - 4);

        p[off + slen - 4] = (unsigned char) (crc >> 24);
        p[off + slen - 3] = (unsigned char) (crc >> 16);
        p[off + slen - 2] = (unsigned char) (crc >> 8);
        p[off + slen - 1] = (unsigned char) crc;
    }
}


static uint32_t
mix(uint32_t h, const unsigned char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619u;
    }

    return h;
}
