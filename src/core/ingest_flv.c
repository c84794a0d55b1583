
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_flv.h"
#include "ingest_ts.h"

#include <string.h>


#define INGEST_FLV_NAL_SPS      7
#define INGEST_FLV_NAL_PPS      8
#define INGEST_FLV_NAL_AUD      9
#define INGEST_FLV_NAL_FILLER   12
#define INGEST_FLV_NAL_IDR      5

/* FLV audio tag byte 0: AAC, and "44 kHz, 16-bit, stereo" as required */
#define INGEST_FLV_AAC          0xaf


/* an RBSP bit reader; reading past the end sets err */
typedef struct {
    const unsigned char  *p;
    size_t                len;
    size_t                pos;            /* in bits */
    unsigned              err:1;
} ingest_flv_bits_t;


static int ingest_flv_ps_add(unsigned char *set, size_t *set_len,
    unsigned *count, const unsigned char *nal, size_t len);
static size_t ingest_flv_avc_seq(ingest_flv_t *flv, unsigned char *out,
    size_t cap);
static size_t ingest_flv_avc_record(ingest_flv_t *flv, unsigned char *out,
    size_t cap);
static int64_t ingest_flv_unwrap(ingest_flv_t *flv, int64_t t);
static uint32_t ingest_flv_ms(ingest_flv_t *flv, int64_t ext);
static unsigned ingest_flv_bit(ingest_flv_bits_t *b);
static unsigned ingest_flv_bitsn(ingest_flv_bits_t *b, unsigned n);
static unsigned ingest_flv_ue(ingest_flv_bits_t *b);
static int ingest_flv_se(ingest_flv_bits_t *b);
static void ingest_flv_scaling_list(ingest_flv_bits_t *b, unsigned size);
static void ingest_flv_put_be16(unsigned char *p, unsigned v);
static void ingest_flv_put_be24(unsigned char *p, uint32_t v);
static void ingest_flv_put_be32(unsigned char *p, uint32_t v);


void
ingest_flv_init(ingest_flv_t *flv)
{
    memset(flv, 0, sizeof(ingest_flv_t));

    flv->wait_key = 1;
}


void
ingest_flv_wait_key(ingest_flv_t *flv)
{
    flv->wait_key = 1;
}


int
ingest_flv_video(ingest_flv_t *flv, const unsigned char *au, size_t len,
    int64_t pts, int64_t dts, unsigned char *out, size_t cap,
    ingest_flv_tag_t *tags)
{
    int                   idr;
    size_t                n, need, body, sps_len, pps_len, nals;
    int64_t               ext_dts, ext_pts;
    uint32_t              ms, pms;
    unsigned              type, nsps, npps;
    unsigned char        *p;
    const unsigned char  *pos, *end, *nal;
    ingest_flv_info_t     info;
    unsigned char         sps[INGEST_FLV_PS_MAX];
    unsigned char         pps[INGEST_FLV_PS_MAX];

    /* what the access unit holds */

    idr = 0;
    body = 5;
    nals = 0;
    nsps = 0;
    npps = 0;
    sps_len = 0;
    pps_len = 0;

    pos = au;
    end = au + len;

    while (ingest_annexb_next(&pos, end, &nal, &n)) {
        if (n == 0) {
            continue;
        }

        type = nal[0] & 0x1f;

        switch (type) {

        case INGEST_FLV_NAL_SPS:
            if (ingest_flv_ps_add(sps, &sps_len, &nsps, nal, n) != 0) {
                flv->stats.bad_ps++;
            }

            continue;

        case INGEST_FLV_NAL_PPS:
            if (ingest_flv_ps_add(pps, &pps_len, &npps, nal, n) != 0) {
                flv->stats.bad_ps++;
            }

            continue;

        case INGEST_FLV_NAL_AUD:
        case INGEST_FLV_NAL_FILLER:
            continue;

        case INGEST_FLV_NAL_IDR:
            idr = 1;
            break;

        default:
            break;
        }

        body += 4 + n;
        nals++;
    }

    /* parameter sets: those of this AU replace the ones we have */

    if (nsps > 0
        && (nsps != flv->nsps || sps_len != flv->sps_len
            || memcmp(sps, flv->sps, sps_len) != 0))
    {
        /* the first SPS tells the configuration record's profile */

        memset(&info, 0, sizeof(ingest_flv_info_t));

        if (ingest_flv_parse_sps(sps + 2, (size_t) sps[0] << 8 | sps[1],
                                 &info)
            != 0)
        {
            flv->stats.bad_ps++;

        } else {
            memcpy(flv->sps, sps, sps_len);
            flv->sps_len = sps_len;
            flv->nsps = nsps;

            flv->info.has_video = 1;
            flv->info.width = info.width;
            flv->info.height = info.height;
            flv->info.profile = info.profile;
            flv->info.level = info.level;
            flv->info.chroma_format = info.chroma_format;
            flv->info.bit_depth = info.bit_depth;

            flv->avc_pending = 1;
        }
    }

    if (npps > 0
        && (npps != flv->npps || pps_len != flv->pps_len
            || memcmp(pps, flv->pps, pps_len) != 0))
    {
        memcpy(flv->pps, pps, pps_len);
        flv->pps_len = pps_len;
        flv->npps = npps;

        flv->avc_pending = 1;
    }

    if (flv->nsps == 0 || flv->npps == 0 || (flv->wait_key && !idr)) {
        flv->stats.waiting++;
        return 0;
    }

    if (nals == 0 && !flv->avc_pending) {
        flv->stats.bad_frames++;
        return 0;
    }

    /* times */

    if (dts == INGEST_TS_NO_TIME) {
        dts = pts;
    }

    if (pts == INGEST_TS_NO_TIME) {
        pts = dts;
    }

    if (dts == INGEST_TS_NO_TIME) {
        if (!flv->time_set) {
            flv->stats.bad_frames++;
            return 0;
        }

        ext_dts = flv->last;
        ext_pts = flv->last;

    } else {
        ext_dts = ingest_flv_unwrap(flv, dts);
        ext_pts = ext_dts + ingest_ts_diff(dts & INGEST_TS_TIME_MASK,
                                           pts & INGEST_TS_TIME_MASK);
    }

    ms = ingest_flv_ms(flv, ext_dts);
    pms = ingest_flv_ms(flv, ext_pts);

    /* room for everything before writing anything */

    need = nals > 0 ? body : 0;

    if (flv->avc_pending) {
        need += 5 + 11 + flv->sps_len + flv->pps_len + 4;
    }

    if (need > cap) {
        return -1;
    }

    p = out;
    n = 0;

    if (flv->avc_pending) {
        body = ingest_flv_avc_seq(flv, p, cap);
        if (body == 0) {
            return -1;
        }

        tags[n].type = INGEST_FLV_TAG_VIDEO;
        tags[n].timestamp = ms;
        tags[n].cts = 0;
        tags[n].key = 1;
        tags[n].header = 1;
        tags[n].data = p;
        tags[n].len = body;

        p += body;
        n++;

        flv->avc_pending = 0;
        flv->stats.seq_headers++;
    }

    if (nals == 0) {
        return (int) n;
    }

    flv->wait_key = 0;

    tags[n].type = INGEST_FLV_TAG_VIDEO;
    tags[n].timestamp = ms;
    tags[n].cts = (int32_t) (uint32_t) (pms - ms);

    if (tags[n].cts > 0x7fffff || tags[n].cts < -0x800000) {
        tags[n].cts = 0;
    }

    tags[n].key = idr;
    tags[n].header = 0;
    tags[n].data = p;

    p[0] = idr ? 0x17 : 0x27;
    p[1] = 0x01;
    ingest_flv_put_be24(p + 2, (uint32_t) tags[n].cts & 0xffffff);
    p += 5;

    pos = au;

    while (ingest_annexb_next(&pos, end, &nal, &len)) {
        if (len == 0) {
            continue;
        }

        type = nal[0] & 0x1f;

        if (type == INGEST_FLV_NAL_SPS || type == INGEST_FLV_NAL_PPS
            || type == INGEST_FLV_NAL_AUD || type == INGEST_FLV_NAL_FILLER)
        {
            continue;
        }

        ingest_flv_put_be32(p, (uint32_t) len);
        memcpy(p + 4, nal, len);
        p += 4 + len;
    }

    tags[n].len = p - tags[n].data;
    n++;

    flv->stats.video_tags++;

    return (int) n;
}


int
ingest_flv_audio(ingest_flv_t *flv, const unsigned char *adts, size_t len,
    int64_t pts, unsigned char *out, size_t cap, ingest_flv_tag_t *tags)
{
    int                n;
    size_t             flen, hlen, need;
    int64_t            ext;
    uint32_t           ms;
    unsigned char      asc[2], *p;
    ingest_ts_frame_t  f;

    flen = ingest_adts_parse(adts, len, &f);

    /* one raw data block, a channel configuration (no PCE) */

    if (flen == 0 || flen > len || f.samples != 1024 || f.aac_channels == 0)
    {
        flv->stats.bad_frames++;
        return 0;
    }

    hlen = (adts[1] & 0x01) ? 7 : 9;

    asc[0] = (unsigned char) (f.aac_object << 3 | f.aac_rate_index >> 1);
    asc[1] = (unsigned char) ((f.aac_rate_index & 1) << 7
                              | f.aac_channels << 3);

    if (pts == INGEST_TS_NO_TIME) {
        if (!flv->time_set) {
            flv->stats.bad_frames++;
            return 0;
        }

        ext = flv->last;

    } else {
        ext = ingest_flv_unwrap(flv, pts);
    }

    ms = ingest_flv_ms(flv, ext);

    need = 2 + flen - hlen;

    if (!flv->aac_sent || memcmp(asc, flv->asc, 2) != 0) {
        need += 4;
    }

    if (need > cap) {
        return -1;
    }

    p = out;
    n = 0;

    if (!flv->aac_sent || memcmp(asc, flv->asc, 2) != 0) {
        memcpy(flv->asc, asc, 2);
        flv->aac_sent = 1;

        flv->info.has_audio = 1;
        flv->info.aac_object = f.aac_object;
        flv->info.sample_rate = f.sample_rate;
        flv->info.channels = f.aac_channels;

        p[0] = INGEST_FLV_AAC;
        p[1] = 0x00;
        p[2] = asc[0];
        p[3] = asc[1];

        tags[n].type = INGEST_FLV_TAG_AUDIO;
        tags[n].timestamp = ms;
        tags[n].cts = 0;
        tags[n].key = 1;
        tags[n].header = 1;
        tags[n].data = p;
        tags[n].len = 4;

        p += 4;
        n++;

        flv->stats.seq_headers++;
    }

    p[0] = INGEST_FLV_AAC;
    p[1] = 0x01;
    memcpy(p + 2, adts + hlen, flen - hlen);

    tags[n].type = INGEST_FLV_TAG_AUDIO;
    tags[n].timestamp = ms;
    tags[n].cts = 0;
    tags[n].key = 1;
    tags[n].header = 0;
    tags[n].data = p;
    tags[n].len = 2 + flen - hlen;
    n++;

    flv->stats.audio_tags++;

    return n;
}


size_t
ingest_flv_avcc(const unsigned char *sps, size_t sps_len,
    const unsigned char *pps, size_t pps_len, unsigned char *out, size_t cap)
{
    ingest_flv_t  flv;

    ingest_flv_init(&flv);

    if (ingest_flv_ps_add(flv.sps, &flv.sps_len, &flv.nsps, sps, sps_len)
        != 0
        || ingest_flv_ps_add(flv.pps, &flv.pps_len, &flv.npps, pps, pps_len)
           != 0
        || ingest_flv_parse_sps(sps, sps_len, &flv.info) != 0)
    {
        return 0;
    }

    return ingest_flv_avc_record(&flv, out, cap);
}


/* appends a parameter set as u16 length + NAL unit; dedups repeats */

static int
ingest_flv_ps_add(unsigned char *set, size_t *set_len, unsigned *count,
    const unsigned char *nal, size_t len)
{
    size_t  off, n;

    if (len < 4 || len > 0xffff) {
        return -1;
    }

    for (off = 0; off + 2 <= *set_len; off += 2 + n) {
        n = (size_t) set[off] << 8 | set[off + 1];

        if (n == len && memcmp(set + off + 2, nal, len) == 0) {
            return 0;
        }
    }

    if (*count == INGEST_FLV_PS_COUNT
        || *set_len + 2 + len > INGEST_FLV_PS_MAX)
    {
        return -1;
    }

    ingest_flv_put_be16(set + *set_len, (unsigned) len);
    memcpy(set + *set_len + 2, nal, len);
    *set_len += 2 + len;
    (*count)++;

    return 0;
}


/* the sequence header tag body: 5 bytes, AVCDecoderConfigurationRecord */

static size_t
ingest_flv_avc_seq(ingest_flv_t *flv, unsigned char *out, size_t cap)
{
    size_t  n;

    if (cap < 5) {
        return 0;
    }

    n = ingest_flv_avc_record(flv, out + 5, cap - 5);
    if (n == 0) {
        return 0;
    }

    out[0] = 0x17;
    out[1] = 0x00;
    out[2] = 0;
    out[3] = 0;
    out[4] = 0;

    return 5 + n;
}


static size_t
ingest_flv_avc_record(ingest_flv_t *flv, unsigned char *out, size_t cap)
{
    size_t          need;
    unsigned        profile, ext;
    unsigned char  *p;

    if (flv->nsps == 0 || flv->npps == 0) {
        return 0;
    }

    /* profile, compatibility, level: those of the first SPS */

    profile = flv->sps[3];

    /* ISO/IEC 14496-15 5.3.3.1.2: the extension of the high profiles */
    ext = (profile == 100 || profile == 110 || profile == 122
           || profile == 144);

    need = 6 + flv->sps_len + 1 + flv->pps_len + (ext ? 4 : 0);

    if (need > cap) {
        return 0;
    }

    p = out;

    p[0] = 1;
    p[1] = flv->sps[3];
    p[2] = flv->sps[4];
    p[3] = flv->sps[5];
    p[4] = 0xfc | 3;                          /* 4-byte NAL lengths */
    p[5] = (unsigned char) (0xe0 | flv->nsps);
    p += 6;

    memcpy(p, flv->sps, flv->sps_len);
    p += flv->sps_len;

    *p++ = (unsigned char) flv->npps;

    memcpy(p, flv->pps, flv->pps_len);
    p += flv->pps_len;

    if (ext) {
        *p++ = (unsigned char) (0xfc | (flv->info.chroma_format & 3));
        *p++ = (unsigned char) (0xf8 | ((flv->info.bit_depth - 8) & 7));
        *p++ = (unsigned char) (0xf8 | ((flv->info.bit_depth - 8) & 7));
        *p++ = 0;
    }

    return p - out;
}


int
ingest_flv_parse_sps(const unsigned char *nal, size_t len,
    ingest_flv_info_t *info)
{
    size_t             i, n;
    unsigned           profile, chroma, depth, depth_c, fmo, poc, cycle;
    unsigned           w, h, cl, cr, ct, cb, sep, cx, cy, lists, zeros;
    unsigned char      rbsp[INGEST_FLV_PS_MAX];
    ingest_flv_bits_t  b;

    if (len < 4 || (nal[0] & 0x1f) != INGEST_FLV_NAL_SPS) {
        return -1;
    }

    /* emulation prevention: 00 00 03 -> 00 00 */

    n = 0;
    zeros = 0;

    for (i = 1; i < len && n < sizeof(rbsp); i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }

        zeros = (nal[i] == 0) ? zeros + 1 : 0;
        rbsp[n++] = nal[i];
    }

    b.p = rbsp;
    b.len = n;
    b.pos = 0;
    b.err = 0;

    profile = ingest_flv_bitsn(&b, 8);
    (void) ingest_flv_bitsn(&b, 8);               /* constraint flags */
    info->level = ingest_flv_bitsn(&b, 8);
    info->profile = profile;

    if (ingest_flv_ue(&b) > 31) {                 /* seq_parameter_set_id */
        return -1;
    }

    chroma = 1;
    depth = 8;
    depth_c = 8;
    sep = 0;

    if (profile == 100 || profile == 110 || profile == 122
        || profile == 244 || profile == 44 || profile == 83
        || profile == 86 || profile == 118 || profile == 128
        || profile == 138 || profile == 139 || profile == 134
        || profile == 135)
    {
        chroma = ingest_flv_ue(&b);
        if (chroma > 3) {
            return -1;
        }

        if (chroma == 3) {
            sep = ingest_flv_bit(&b);
        }

        depth = ingest_flv_ue(&b) + 8;
        depth_c = ingest_flv_ue(&b) + 8;

        if (depth > 14 || depth_c > 14) {
            return -1;
        }

        (void) ingest_flv_bit(&b);                /* qpprime_y_zero... */

        if (ingest_flv_bit(&b)) {                 /* seq_scaling_matrix */
            lists = chroma != 3 ? 8 : 12;

            for (i = 0; i < lists; i++) {
                if (ingest_flv_bit(&b)) {
                    ingest_flv_scaling_list(&b, i < 6 ? 16 : 64);
                }
            }
        }
    }

    if (ingest_flv_ue(&b) > 12) {                 /* log2_max_frame_num-4 */
        return -1;
    }

    poc = ingest_flv_ue(&b);

    if (poc == 0) {
        if (ingest_flv_ue(&b) > 12) {
            return -1;
        }

    } else if (poc == 1) {
        (void) ingest_flv_bit(&b);
        (void) ingest_flv_se(&b);
        (void) ingest_flv_se(&b);

        cycle = ingest_flv_ue(&b);
        if (cycle > 255) {
            return -1;
        }

        for (i = 0; i < cycle && !b.err; i++) {
            (void) ingest_flv_se(&b);
        }

    } else if (poc != 2) {
        return -1;
    }

    (void) ingest_flv_ue(&b);                     /* max_num_ref_frames */
    (void) ingest_flv_bit(&b);                    /* gaps_in_frame_num */

    w = ingest_flv_ue(&b);
    h = ingest_flv_ue(&b);

    if (w > 1024 || h > 1024) {
        /* 16384 pixels: more than any level allows */
        return -1;
    }

    fmo = ingest_flv_bit(&b);

    if (!fmo) {
        (void) ingest_flv_bit(&b);                /* mb_adaptive_frame */
    }

    (void) ingest_flv_bit(&b);                    /* direct_8x8_inference */

    cl = 0;
    cr = 0;
    ct = 0;
    cb = 0;

    if (ingest_flv_bit(&b)) {
        cl = ingest_flv_ue(&b);
        cr = ingest_flv_ue(&b);
        ct = ingest_flv_ue(&b);
        cb = ingest_flv_ue(&b);
    }

    if (b.err) {
        return -1;
    }

    /* cropping units, H.264 7.4.2.1.1 */

    if (sep || chroma == 0) {
        cx = 1;
        cy = 2 - fmo;

    } else {
        cx = (chroma == 3) ? 1 : 2;
        cy = ((chroma == 1) ? 2 : 1) * (2 - fmo);
    }

    w = (w + 1) * 16;
    h = (h + 1) * 16 * (2 - fmo);

    if ((uint64_t) cx * ((uint64_t) cl + cr) >= w
        || (uint64_t) cy * ((uint64_t) ct + cb) >= h)
    {
        return -1;
    }

    info->width = w - cx * (cl + cr);
    info->height = h - cy * (ct + cb);
    info->chroma_format = chroma;
    info->bit_depth = depth;

    return 0;
}


size_t
ingest_flv_file_header(unsigned char *out, int audio, int video)
{
    out[0] = 'F';
    out[1] = 'L';
    out[2] = 'V';
    out[3] = 1;
    out[4] = (unsigned char) ((audio ? 4 : 0) | (video ? 1 : 0));
    ingest_flv_put_be32(out + 5, 9);
    ingest_flv_put_be32(out + 9, 0);

    return INGEST_FLV_FILE_HEADER_LEN;
}


size_t
ingest_flv_tag_header(unsigned char *out, unsigned type, size_t len,
    uint32_t timestamp)
{
    out[0] = (unsigned char) type;
    ingest_flv_put_be24(out + 1, (uint32_t) len);
    ingest_flv_put_be24(out + 4, timestamp & 0xffffff);
    out[7] = (unsigned char) (timestamp >> 24);
    ingest_flv_put_be24(out + 8, 0);

    return INGEST_FLV_TAG_HEADER_LEN;
}


/* a 33-bit time into the 64-bit line, next to the last one seen */

static int64_t
ingest_flv_unwrap(ingest_flv_t *flv, int64_t t)
{
    int64_t  ext;

    t &= INGEST_TS_TIME_MASK;

    if (!flv->time_set) {
        flv->time_set = 1;
        flv->base = t;
        flv->last = t;

        return t;
    }

    ext = flv->last + ingest_ts_diff(flv->last & INGEST_TS_TIME_MASK, t);
    flv->last = ext;

    return ext;
}


/* ms since the base; before it (audio ahead of video) counts as 0 */

static uint32_t
ingest_flv_ms(ingest_flv_t *flv, int64_t ext)
{
    int64_t  d;

    d = ext - flv->base;

    if (d < 0) {
        return 0;
    }

    return (uint32_t) (uint64_t) (d / 90);
}


static unsigned
ingest_flv_bit(ingest_flv_bits_t *b)
{
    unsigned  v;

    if (b->pos >= b->len * 8) {
        b->err = 1;
        return 0;
    }

    v = (b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1;
    b->pos++;

    return v;
}


static unsigned
ingest_flv_bitsn(ingest_flv_bits_t *b, unsigned n)
{
    unsigned  v;

    v = 0;

    while (n-- > 0) {
        v = v << 1 | ingest_flv_bit(b);
    }

    return v;
}


/* Exp-Golomb, up to 31 leading zeros; more is an error */

static unsigned
ingest_flv_ue(ingest_flv_bits_t *b)
{
    unsigned  zeros;

    zeros = 0;

    while (ingest_flv_bit(b) == 0) {
        if (b->err || ++zeros > 31) {
            b->err = 1;
            return 0;
        }
    }

    if (zeros == 0) {
        return 0;
    }

    return (unsigned) (((uint64_t) 1 << zeros) - 1
                       + ingest_flv_bitsn(b, zeros));
}


static int
ingest_flv_se(ingest_flv_bits_t *b)
{
    unsigned  v;

    v = ingest_flv_ue(b);

    return (v & 1) ? (int) ((v + 1) / 2) : -(int) (v / 2);
}


static void
ingest_flv_scaling_list(ingest_flv_bits_t *b, unsigned size)
{
    int       delta;
    unsigned  i, last, next;

    last = 8;
    next = 8;

    for (i = 0; i < size && !b->err; i++) {
        if (next != 0) {
            delta = ingest_flv_se(b);

            if (delta < -128 || delta > 127) {
                b->err = 1;
                return;
            }

            next = (unsigned) ((int) last + delta + 256) % 256;
        }

        last = (next == 0) ? last : next;
    }
}


static void
ingest_flv_put_be16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char) (v >> 8);
    p[1] = (unsigned char) v;
}


static void
ingest_flv_put_be24(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 16);
    p[1] = (unsigned char) (v >> 8);
    p[2] = (unsigned char) v;
}


static void
ingest_flv_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}
