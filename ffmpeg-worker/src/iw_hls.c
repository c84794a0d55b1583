
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_hls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


typedef struct {
    char                *pos;
    char                *end;
    unsigned             overflow:1;
} iw_hls_buf_t;


static void iw_hls_printf(iw_hls_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void iw_hls_dur(iw_hls_buf_t *b, int64_t us);
static void iw_hls_pdt(iw_hls_buf_t *b, int64_t ms);
static void iw_hls_part(iw_hls_buf_t *b, const iw_hls_part_t *part);
static unsigned iw_hls_round(int64_t us);


unsigned
iw_hls_target(const iw_hls_segment_t *segs, unsigned n)
{
    unsigned  i, t, target;

    target = 1;

    for (i = 0; i < n; i++) {
        t = iw_hls_round(segs[i].duration);
        if (t > target) {
            target = t;
        }
    }

    return target;
}


size_t
iw_hls_media(const iw_hls_playlist_t *pl, int skip, char *out, size_t cap)
{
    int64_t              end, t, start, window, hold;
    unsigned             i, j, target, nskip, ll;
    iw_hls_buf_t         b;
    const iw_hls_part_t *part;
    const iw_hls_segment_t *seg;

    ll = pl->part_target > 0;
    target = pl->target != 0 ? pl->target
                             : iw_hls_target(pl->segments, pl->nsegments);

    end = 0;

    for (i = 0; i < pl->nsegments; i++) {
        seg = &pl->segments[i];

        if (seg->duration <= 0 || iw_hls_round(seg->duration) > target) {
            return 0;
        }

        for (j = 0; j < seg->nparts; j++) {
            if (seg->parts[j].duration > pl->part_target) {
                return 0;
            }
        }

        end += seg->duration;
    }

    for (i = 0; i < pl->ntail; i++) {
        if (!ll || pl->tail[i].duration > pl->part_target) {
            return 0;
        }

        end += pl->tail[i].duration;
    }

    /* a delta update leaves out whole segments before the skip boundary */

    nskip = 0;

    if (skip && ll && pl->can_skip_until > 0) {
        t = 0;

        for (i = 0; i < pl->nsegments; i++) {
            t += pl->segments[i].duration;
            if (end - t < pl->can_skip_until) {
                break;
            }
            nskip++;
        }
    }

    b.pos = out;
    b.end = out + cap;
    b.overflow = 0;

    iw_hls_printf(&b, "#EXTM3U\n#EXT-X-VERSION:%u\n"
                  "#EXT-X-TARGETDURATION:%u\n", ll ? 9 : 7, target);

    if (ll) {
        hold = pl->part_hold_back != 0 ? pl->part_hold_back
                                       : 3 * pl->part_target;

        iw_hls_printf(&b, "#EXT-X-SERVER-CONTROL:");

        if (pl->can_block_reload) {
            iw_hls_printf(&b, "CAN-BLOCK-RELOAD=YES,");
        }

        if (pl->can_skip_until > 0) {
            iw_hls_printf(&b, "CAN-SKIP-UNTIL=");
            iw_hls_dur(&b, pl->can_skip_until);
            iw_hls_printf(&b, ",");
        }

        if (pl->hold_back > 0) {
            iw_hls_printf(&b, "HOLD-BACK=");
            iw_hls_dur(&b, pl->hold_back);
            iw_hls_printf(&b, ",");
        }

        iw_hls_printf(&b, "PART-HOLD-BACK=");
        iw_hls_dur(&b, hold);
        iw_hls_printf(&b, "\n#EXT-X-PART-INF:PART-TARGET=");
        iw_hls_dur(&b, pl->part_target);
        iw_hls_printf(&b, "\n");
    }

    iw_hls_printf(&b, "#EXT-X-MEDIA-SEQUENCE:%llu\n",
                  (unsigned long long) pl->media_sequence);

    if (pl->type == IW_HLS_VOD) {
        iw_hls_printf(&b, "#EXT-X-PLAYLIST-TYPE:VOD\n");

    } else if (pl->type == IW_HLS_EVENT) {
        iw_hls_printf(&b, "#EXT-X-PLAYLIST-TYPE:EVENT\n");
    }

    iw_hls_printf(&b, "#EXT-X-INDEPENDENT-SEGMENTS\n");

    if (pl->map_uri != NULL) {
        iw_hls_printf(&b, "#EXT-X-MAP:URI=\"%s\"\n", pl->map_uri);
    }

    if (nskip != 0) {
        iw_hls_printf(&b, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%u\n", nskip);
    }

    /*
     * Parts of segments that ended more than three target durations
     * before the end are left out, a segment's parts all or none:
     * players number parts by their place in the segment.
     */

    window = (int64_t) target * 3 * 1000000;
    start = 0;

    for (i = 0; i < pl->nsegments; i++) {
        seg = &pl->segments[i];
        t = start;
        start += seg->duration;

        if (i < nskip) {
            continue;
        }

        if (seg->discontinuity) {
            iw_hls_printf(&b, "#EXT-X-DISCONTINUITY\n");
        }

        if (seg->pdt >= 0) {
            iw_hls_pdt(&b, seg->pdt);
        }

        if (end - (t + seg->duration) <= window) {
            for (j = 0; j < seg->nparts; j++) {
                part = &seg->parts[j];
                iw_hls_part(&b, part);
            }
        }

        iw_hls_printf(&b, "#EXTINF:");
        iw_hls_dur(&b, seg->duration);
        iw_hls_printf(&b, ",\n%s\n", seg->uri);
    }

    if (pl->ntail != 0 && pl->tail_pdt >= 0) {
        iw_hls_pdt(&b, pl->tail_pdt);
    }

    for (i = 0; i < pl->ntail; i++) {
        iw_hls_part(&b, &pl->tail[i]);
    }

    if (ll && pl->preload_hint != NULL && !pl->endlist) {
        iw_hls_printf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%s\"\n",
                      pl->preload_hint);
    }

    if (pl->endlist) {
        iw_hls_printf(&b, "#EXT-X-ENDLIST\n");
    }

    for (i = 0; i < pl->nreports; i++) {
        iw_hls_printf(&b, "#EXT-X-RENDITION-REPORT:URI=\"%s\",LAST-MSN=%llu",
                      pl->reports[i].uri,
                      (unsigned long long) pl->reports[i].last_msn);

        if (pl->reports[i].last_part >= 0) {
            iw_hls_printf(&b, ",LAST-PART=%d", pl->reports[i].last_part);
        }

        iw_hls_printf(&b, "\n");
    }

    if (b.overflow) {
        return 0;
    }

    return b.pos - out;
}


size_t
iw_hls_master(const iw_hls_variant_t *vars, unsigned nvars,
    const iw_hls_audio_t *audio, unsigned naudio, char *out, size_t cap)
{
    unsigned                 i;
    iw_hls_buf_t             b;
    const iw_hls_audio_t    *a;
    const iw_hls_variant_t  *v;

    b.pos = out;
    b.end = out + cap;
    b.overflow = 0;

    iw_hls_printf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n"
                  "#EXT-X-INDEPENDENT-SEGMENTS\n");

    for (i = 0; i < naudio; i++) {
        a = &audio[i];

        iw_hls_printf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"%s\","
                      "NAME=\"%s\",", a->group, a->name);

        if (a->language != NULL) {
            iw_hls_printf(&b, "LANGUAGE=\"%s\",", a->language);
        }

        iw_hls_printf(&b, "DEFAULT=%s,AUTOSELECT=YES,CHANNELS=\"%u\","
                      "URI=\"%s\"\n", a->is_default ? "YES" : "NO",
                      a->channels, a->uri);
    }

    for (i = 0; i < nvars; i++) {
        v = &vars[i];

        iw_hls_printf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%llu",
                      (unsigned long long) v->bandwidth);

        if (v->average != 0) {
            iw_hls_printf(&b, ",AVERAGE-BANDWIDTH=%llu",
                          (unsigned long long) v->average);
        }

        if (v->width != 0) {
            iw_hls_printf(&b, ",RESOLUTION=%ux%u", v->width, v->height);
        }

        iw_hls_printf(&b, ",CODECS=\"%s\"", v->codecs);

        if (v->fps_milli != 0) {
            iw_hls_printf(&b, ",FRAME-RATE=%u.%03u", v->fps_milli / 1000,
                          v->fps_milli % 1000);
        }

        if (v->audio != NULL) {
            iw_hls_printf(&b, ",AUDIO=\"%s\"", v->audio);
        }

        iw_hls_printf(&b, "\n%s\n", v->uri);
    }

    if (b.overflow) {
        return 0;
    }

    return b.pos - out;
}


size_t
iw_hls_format_pdt(char *out, int64_t ms)
{
    int64_t   days, secs, z, era, doe, yoe, y, doy, mp, d, m;

    days = ms / 86400000;
    secs = ms % 86400000;

    if (secs < 0) {
        secs += 86400000;
        days--;
    }

    /* days to civil date, proleptic Gregorian (H. Hinnant) */

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;

    if (y < 0 || y > 9999) {
        y = 0;
    }

    return (size_t) snprintf(out, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                             (int) y, (int) m, (int) d,
                             (int) (secs / 3600000),
                             (int) (secs / 60000 % 60),
                             (int) (secs / 1000 % 60), (int) (secs % 1000));
}


static void
iw_hls_printf(iw_hls_buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (b->overflow) {
        return;
    }

    va_start(args, fmt);
    n = vsnprintf(b->pos, b->end - b->pos, fmt, args);
    va_end(args);

    if (n < 0 || n >= b->end - b->pos) {
        b->overflow = 1;
        return;
    }

    b->pos += n;
}


/* seconds with 5 decimals, rounded to the nearest 10 us */

static void
iw_hls_dur(iw_hls_buf_t *b, int64_t us)
{
    int64_t  v;

    v = (us + 5) / 10;

    iw_hls_printf(b, "%lld.%05lld", (long long) (v / 100000),
                  (long long) (v % 100000));
}


static void
iw_hls_pdt(iw_hls_buf_t *b, int64_t ms)
{
    char  s[32];

    iw_hls_format_pdt(s, ms);
    iw_hls_printf(b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", s);
}


static void
iw_hls_part(iw_hls_buf_t *b, const iw_hls_part_t *part)
{
    iw_hls_printf(b, "#EXT-X-PART:DURATION=");
    iw_hls_dur(b, part->duration);
    iw_hls_printf(b, ",URI=\"%s\"%s\n", part->uri,
                  part->independent ? ",INDEPENDENT=YES" : "");
}


static unsigned
iw_hls_round(int64_t us)
{
    return (unsigned) ((us + 500000) / 1000000);
}
