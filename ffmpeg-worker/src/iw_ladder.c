
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_ladder.h"

#include <math.h>
#include <stdio.h>


static unsigned iw_ladder_even(uint64_t num, uint64_t den);
static void iw_ladder_display(unsigned w, unsigned h, unsigned sar_num,
    unsigned sar_den, uint64_t *dw, uint64_t *dh);


unsigned
iw_ladder(const iw_profile_t *prof, unsigned w, unsigned h,
    unsigned sar_num, unsigned sar_den, iw_ladder_rung_t *out)
{
    unsigned           i, n, s;
    uint64_t           dw, dh, l, px, rpx;
    iw_ladder_rung_t  *r;

    if (w < 2 || h < 2 || w > 16384 || h > 16384 || prof->nrungs == 0) {
        return 0;
    }

    iw_ladder_display(w, h, sar_num, sar_den, &dw, &dh);

    s = (unsigned) (dw < dh ? dw : dh);
    l = dw < dh ? dh : dw;
    n = 0;

    for (i = 0; i < prof->nrungs; i++) {
        if (prof->rungs[i].height > s) {
            break;
        }

        r = &out[n++];

        r->rung = prof->rungs[i].height;
        r->bitrate = prof->rungs[i].bitrate;
        r->maxrate = prof->rungs[i].maxrate;

        if (dw < dh) {
            r->width = r->rung;
            r->height = iw_ladder_even(l * r->rung, s);

        } else {
            r->width = iw_ladder_even(l * r->rung, s);
            r->height = r->rung;
        }
    }

    if (n != 0) {
        return n;
    }

    /* smaller than the smallest rung: its own size, a smaller bitrate */

    r = &out[0];

    r->width = iw_ladder_even(dw, 1);
    r->height = iw_ladder_even(dh, 1);
    r->rung = r->width < r->height ? r->width : r->height;

    rpx = (uint64_t) prof->rungs[0].height * prof->rungs[0].height * 16 / 9;
    px = (uint64_t) r->width * r->height;

    r->bitrate = prof->rungs[0].bitrate * px / rpx;
    r->maxrate = prof->rungs[0].maxrate * px / rpx;

    if (r->bitrate < 64000) {
        r->bitrate = 64000;
    }

    if (r->maxrate < r->bitrate) {
        r->maxrate = r->bitrate;
    }

    return 1;
}


int
iw_ladder_fit(const iw_profile_t *prof, unsigned w, unsigned h,
    unsigned sar_num, unsigned sar_den, uint64_t bitrate)
{
    unsigned  i, s;

    if (w < 2 || h < 2 || w % 2 != 0 || h % 2 != 0) {
        return -1;
    }

    if (sar_num != 0 && sar_den != 0 && sar_num != sar_den) {
        return -1;
    }

    s = w < h ? w : h;

    for (i = 0; i < prof->nrungs; i++) {
        if (prof->rungs[i].height == s) {
            if (bitrate == 0 || bitrate > prof->rungs[i].maxrate) {
                return -1;
            }

            return (int) i;
        }
    }

    return -1;
}


unsigned
iw_ladder_tail(const iw_ladder_tail_t *tracks, unsigned n, int64_t min_us,
    unsigned *merge)
{
    int64_t   start, end;
    unsigned  i, most, merged;

    most = 0;

    for (i = 0; i < n; i++) {
        merge[i] = 0;

        if (tracks[i].nsegs > most) {
            most = tracks[i].nsegs;
        }
    }

    if (most < 2) {
        return 0;
    }

    start = INT64_MAX;
    end = INT64_MIN;

    for (i = 0; i < n; i++) {
        if (tracks[i].nsegs != most) {
            continue;
        }

        if (tracks[i].last_start < start) {
            start = tracks[i].last_start;
        }

        if (tracks[i].end > end) {
            end = tracks[i].end;
        }
    }

    if (end - start >= min_us) {
        return 0;
    }

    merged = 0;

    for (i = 0; i < n; i++) {
        if (tracks[i].nsegs == most) {
            merge[i] = 1;
            merged++;
        }
    }

    return merged;
}


unsigned
iw_rotation(double angle)
{
    long  a;

    if (isnan(angle)) {
        return 0;
    }

    /* display matrices rotate counter-clockwise */

    a = -lround(angle);
    a %= 360;
    if (a < 0) {
        a += 360;
    }

    /* only quarter turns: round to the nearest one */

    return (unsigned) (((a + 45) / 90) % 4 * 90);
}


int
iw_codec_avc1(const uint8_t *data, size_t len, char *out, size_t cap)
{
    int     n;
    size_t  i;

    if (len >= 4 && data[0] == 1) {
        /* avcC: version, profile, compatibility, level */
        n = snprintf(out, cap, "avc1.%02x%02x%02x", data[1], data[2],
                     data[3]);

        return (n < 0 || (size_t) n >= cap) ? -1 : 0;
    }

    /* Annex B: the bytes after the header of the first SPS NAL unit */

    for (i = 0; i + 6 < len; i++) {
        if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1
            && (data[i + 3] & 0x1f) == 7)
        {
            n = snprintf(out, cap, "avc1.%02x%02x%02x", data[i + 4],
                         data[i + 5], data[i + 6]);

            return (n < 0 || (size_t) n >= cap) ? -1 : 0;
        }
    }

    return -1;
}


int
iw_codec_mp4a(const uint8_t *data, size_t len, char *out, size_t cap)
{
    int       n;
    unsigned  aot;

    if (len == 0) {
        aot = 2;

    } else {
        aot = data[0] >> 3;

        if (aot == 31) {
            if (len < 2) {
                return -1;
            }

            aot = 32 + (((data[0] & 7) << 3) | (data[1] >> 5));
        }

        if (aot == 0) {
            return -1;
        }
    }

    n = snprintf(out, cap, "mp4a.40.%u", aot);

    return (n < 0 || (size_t) n >= cap) ? -1 : 0;
}


/* num / den rounded to the nearest even number, at least 2 */

static unsigned
iw_ladder_even(uint64_t num, uint64_t den)
{
    uint64_t  v;

    v = (num + den) / (2 * den) * 2;

    return v < 2 ? 2 : (unsigned) v;
}


static void
iw_ladder_display(unsigned w, unsigned h, unsigned sar_num,
    unsigned sar_den, uint64_t *dw, uint64_t *dh)
{
    *dw = w;
    *dh = h;

    if (sar_num == 0 || sar_den == 0 || sar_num == sar_den) {
        return;
    }

    /* widen or narrow the width to get square pixels */

    *dw = ((uint64_t) w * sar_num + sar_den / 2) / sar_den;

    if (*dw < 2) {
        *dw = 2;
    }
}
