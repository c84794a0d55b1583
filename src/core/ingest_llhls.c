
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_llhls.h"

#include <string.h>


/* what a line is */
typedef enum {
    INGEST_LLHLS_LINE_NONE = 0,      /* blank or a comment */
    INGEST_LLHLS_LINE_URI,
    INGEST_LLHLS_LINE_TAG
} ingest_llhls_line_e;


/* the tags this code tells apart */
typedef enum {
    INGEST_LLHLS_TAG_UNKNOWN = 0,
    INGEST_LLHLS_TAG_EXTM3U,
    INGEST_LLHLS_TAG_VERSION,
    INGEST_LLHLS_TAG_TARGET,
    INGEST_LLHLS_TAG_MEDIA_SEQUENCE,
    INGEST_LLHLS_TAG_PART_INF,
    INGEST_LLHLS_TAG_SERVER_CONTROL,
    INGEST_LLHLS_TAG_SKIP,
    INGEST_LLHLS_TAG_ENDLIST,
    INGEST_LLHLS_TAG_PRELOAD_HINT,
    INGEST_LLHLS_TAG_PLAYLIST,       /* other playlist tags */
    INGEST_LLHLS_TAG_DATERANGE,
    INGEST_LLHLS_TAG_MAP,
    INGEST_LLHLS_TAG_STICKY,         /* EXT-X-KEY, EXT-X-BITRATE */
    INGEST_LLHLS_TAG_EXTINF,
    INGEST_LLHLS_TAG_PART,
    INGEST_LLHLS_TAG_SEGMENT,        /* other media segment tags */
    INGEST_LLHLS_TAG_MULTIVARIANT
} ingest_llhls_tag_e;


/*
 * How a line fares in a delta update: playlist tags (and date ranges)
 * are kept, so are tags whose effect reaches past their segment; the
 * rest goes with its segment. Only tags of the last two kinds end the
 * playlist's header.
 */
typedef enum {
    INGEST_LLHLS_CLASS_NEUTRAL = 0,  /* blank lines, comments */
    INGEST_LLHLS_CLASS_PLAYLIST,
    INGEST_LLHLS_CLASS_STICKY,
    INGEST_LLHLS_CLASS_SEGMENT       /* URI lines too */
} ingest_llhls_class_e;


typedef struct {
    const unsigned char *buf;
    size_t               start;
    size_t               end;            /* without CR, LF, blanks */
    size_t               next;           /* past the LF */
    ingest_llhls_line_e  type;
    ingest_llhls_tag_e   tag;
    const unsigned char *value;          /* after "#TAG:", NULL: none */
    const unsigned char *value_end;
} ingest_llhls_line_t;


typedef struct {
    const char          *name;
    size_t               len;
    ingest_llhls_tag_e   tag;
} ingest_llhls_tag_t;


typedef struct {
    unsigned char       *out;
    size_t               cap;
    size_t               len;
} ingest_llhls_writer_t;


static int ingest_llhls_line(const unsigned char *buf, size_t len,
    size_t pos, ingest_llhls_line_t *l);
static ingest_llhls_class_e ingest_llhls_class(const ingest_llhls_line_t *l);
static ingest_llhls_rc_t ingest_llhls_tag(ingest_llhls_playlist_t *pl,
    const ingest_llhls_line_t *l, unsigned *seen, int64_t *dur);
static ingest_llhls_rc_t ingest_llhls_server_control(
    ingest_llhls_playlist_t *pl, const ingest_llhls_line_t *l);
static int ingest_llhls_attr(const unsigned char **pos,
    const unsigned char *end, ingest_str_t *name, ingest_str_t *value,
    int *quoted);
static int ingest_llhls_attr_uri(const ingest_llhls_line_t *l,
    ingest_str_t *uri, ingest_str_t *type);
static int ingest_llhls_us(const unsigned char *p, size_t len,
    int64_t *out);
static int ingest_llhls_yes(const ingest_str_t *v, unsigned *out);
static int ingest_llhls_eq(const ingest_str_t *s, const char *lit);
static ingest_llhls_rc_t ingest_llhls_serve(
    const ingest_llhls_playlist_t *pl, const ingest_llhls_request_t *req);
static void ingest_llhls_put(ingest_llhls_writer_t *w,
    const unsigned char *p, size_t n);
static void ingest_llhls_copy(ingest_llhls_writer_t *w,
    const unsigned char *buf, const ingest_llhls_playlist_t *pl,
    size_t from, size_t to);


#define ingest_llhls_tag_entry(name, tag)  { name, sizeof(name) - 1, tag }

static const ingest_llhls_tag_t  ingest_llhls_tags[] = {
    ingest_llhls_tag_entry("EXTM3U", INGEST_LLHLS_TAG_EXTM3U),
    ingest_llhls_tag_entry("EXT-X-VERSION", INGEST_LLHLS_TAG_VERSION),
    ingest_llhls_tag_entry("EXT-X-TARGETDURATION", INGEST_LLHLS_TAG_TARGET),
    ingest_llhls_tag_entry("EXT-X-MEDIA-SEQUENCE",
                           INGEST_LLHLS_TAG_MEDIA_SEQUENCE),
    ingest_llhls_tag_entry("EXT-X-PART-INF", INGEST_LLHLS_TAG_PART_INF),
    ingest_llhls_tag_entry("EXT-X-SERVER-CONTROL",
                           INGEST_LLHLS_TAG_SERVER_CONTROL),
    ingest_llhls_tag_entry("EXT-X-SKIP", INGEST_LLHLS_TAG_SKIP),
    ingest_llhls_tag_entry("EXT-X-ENDLIST", INGEST_LLHLS_TAG_ENDLIST),
    ingest_llhls_tag_entry("EXT-X-PRELOAD-HINT",
                           INGEST_LLHLS_TAG_PRELOAD_HINT),
    ingest_llhls_tag_entry("EXT-X-DISCONTINUITY-SEQUENCE",
                           INGEST_LLHLS_TAG_PLAYLIST),
    ingest_llhls_tag_entry("EXT-X-PLAYLIST-TYPE", INGEST_LLHLS_TAG_PLAYLIST),
    ingest_llhls_tag_entry("EXT-X-I-FRAMES-ONLY", INGEST_LLHLS_TAG_PLAYLIST),
    ingest_llhls_tag_entry("EXT-X-INDEPENDENT-SEGMENTS",
                           INGEST_LLHLS_TAG_PLAYLIST),
    ingest_llhls_tag_entry("EXT-X-START", INGEST_LLHLS_TAG_PLAYLIST),
    ingest_llhls_tag_entry("EXT-X-DEFINE", INGEST_LLHLS_TAG_PLAYLIST),
    ingest_llhls_tag_entry("EXT-X-RENDITION-REPORT",
                           INGEST_LLHLS_TAG_PLAYLIST),
    ingest_llhls_tag_entry("EXT-X-DATERANGE", INGEST_LLHLS_TAG_DATERANGE),
    ingest_llhls_tag_entry("EXT-X-MAP", INGEST_LLHLS_TAG_MAP),
    ingest_llhls_tag_entry("EXT-X-KEY", INGEST_LLHLS_TAG_STICKY),
    ingest_llhls_tag_entry("EXT-X-BITRATE", INGEST_LLHLS_TAG_STICKY),
    ingest_llhls_tag_entry("EXTINF", INGEST_LLHLS_TAG_EXTINF),
    ingest_llhls_tag_entry("EXT-X-PART", INGEST_LLHLS_TAG_PART),
    ingest_llhls_tag_entry("EXT-X-BYTERANGE", INGEST_LLHLS_TAG_SEGMENT),
    ingest_llhls_tag_entry("EXT-X-DISCONTINUITY", INGEST_LLHLS_TAG_SEGMENT),
    ingest_llhls_tag_entry("EXT-X-PROGRAM-DATE-TIME",
                           INGEST_LLHLS_TAG_SEGMENT),
    ingest_llhls_tag_entry("EXT-X-GAP", INGEST_LLHLS_TAG_SEGMENT),
    ingest_llhls_tag_entry("EXT-X-STREAM-INF",
                           INGEST_LLHLS_TAG_MULTIVARIANT),
    ingest_llhls_tag_entry("EXT-X-I-FRAME-STREAM-INF",
                           INGEST_LLHLS_TAG_MULTIVARIANT),
    ingest_llhls_tag_entry("EXT-X-MEDIA", INGEST_LLHLS_TAG_MULTIVARIANT),
    ingest_llhls_tag_entry("EXT-X-SESSION-DATA",
                           INGEST_LLHLS_TAG_MULTIVARIANT),
    ingest_llhls_tag_entry("EXT-X-SESSION-KEY",
                           INGEST_LLHLS_TAG_MULTIVARIANT),
    ingest_llhls_tag_entry("EXT-X-CONTENT-STEERING",
                           INGEST_LLHLS_TAG_MULTIVARIANT)
};


static const int  ingest_llhls_status[INGEST_LLHLS_RC_LAST] = {
    [INGEST_LLHLS_OK] = 200,
    [INGEST_LLHLS_SERVE_FULL] = 200,
    [INGEST_LLHLS_SERVE_DELTA] = 200,
    [INGEST_LLHLS_HOLD] = 503,
    [INGEST_LLHLS_PART_WITHOUT_MSN] = 400,
    [INGEST_LLHLS_BAD_MSN] = 400,
    [INGEST_LLHLS_BAD_PART] = 400,
    [INGEST_LLHLS_MSN_TOO_FAR] = 400,
    [INGEST_LLHLS_PART_TOO_FAR] = 400,
    [INGEST_LLHLS_LISTED] = 200,
    [INGEST_LLHLS_PRELOAD_HINTED] = 503,
    [INGEST_LLHLS_UNKNOWN] = 404,
    [INGEST_LLHLS_NOT_PLAYLIST] = 500,
    [INGEST_LLHLS_NOT_MEDIA] = 500,
    [INGEST_LLHLS_BAD_TAG] = 500,
    [INGEST_LLHLS_DUPLICATE_TAG] = 500,
    [INGEST_LLHLS_NO_TARGET] = 500,
    [INGEST_LLHLS_NO_PART_INF] = 500,
    [INGEST_LLHLS_BAD_SEGMENT] = 500,
    [INGEST_LLHLS_BAD_SEQUENCE] = 500,
    [INGEST_LLHLS_TOO_MANY_SEGMENTS] = 500,
    [INGEST_LLHLS_TOO_MANY_PARTS] = 500,
    [INGEST_LLHLS_TOO_LARGE] = 500
};


static const char  *ingest_llhls_reasons[INGEST_LLHLS_RC_LAST] = {
    [INGEST_LLHLS_OK] = "ok",
    [INGEST_LLHLS_SERVE_FULL] = "the playlist",
    [INGEST_LLHLS_SERVE_DELTA] = "a playlist delta update",
    [INGEST_LLHLS_HOLD] =
        "the requested segment or part is not in the playlist yet",
    [INGEST_LLHLS_PART_WITHOUT_MSN] =
        "_HLS_part requires _HLS_msn",
    [INGEST_LLHLS_BAD_MSN] =
        "_HLS_msn is not a decimal integer",
    [INGEST_LLHLS_BAD_PART] =
        "_HLS_part is not a decimal integer",
    [INGEST_LLHLS_MSN_TOO_FAR] =
        "_HLS_msn is more than two segments after the last one",
    [INGEST_LLHLS_PART_TOO_FAR] =
        "_HLS_part is past the Advance Part Limit",
    [INGEST_LLHLS_LISTED] = "the playlist lists the file",
    [INGEST_LLHLS_PRELOAD_HINTED] =
        "the hinted file is not available yet",
    [INGEST_LLHLS_UNKNOWN] = "the playlist does not name the file",
    [INGEST_LLHLS_NOT_PLAYLIST] =
        "the playlist does not begin with #EXTM3U",
    [INGEST_LLHLS_NOT_MEDIA] =
        "the playlist is a multivariant playlist",
    [INGEST_LLHLS_BAD_TAG] = "a tag in the playlist is malformed",
    [INGEST_LLHLS_DUPLICATE_TAG] =
        "a tag allowed once appears twice in the playlist",
    [INGEST_LLHLS_NO_TARGET] =
        "the playlist has no EXT-X-TARGETDURATION",
    [INGEST_LLHLS_NO_PART_INF] =
        "the playlist has EXT-X-PART but no EXT-X-PART-INF",
    [INGEST_LLHLS_BAD_SEGMENT] =
        "a segment in the playlist lacks its EXTINF or its URI",
    [INGEST_LLHLS_BAD_SEQUENCE] =
        "media sequence numbers of the playlist are out of range",
    [INGEST_LLHLS_TOO_MANY_SEGMENTS] = "the playlist has too many segments",
    [INGEST_LLHLS_TOO_MANY_PARTS] = "a segment has too many parts",
    [INGEST_LLHLS_TOO_LARGE] = "the playlist is too large"
};


int
ingest_llhls_http_status(ingest_llhls_rc_t rc)
{
    if ((unsigned) rc >= INGEST_LLHLS_RC_LAST) {
        return 500;
    }

    return ingest_llhls_status[rc];
}


const char *
ingest_llhls_reason(ingest_llhls_rc_t rc)
{
    if ((unsigned) rc >= INGEST_LLHLS_RC_LAST) {
        return "internal error";
    }

    return ingest_llhls_reasons[rc];
}


ingest_llhls_rc_t
ingest_llhls_parse(const unsigned char *buf, size_t len,
    ingest_llhls_playlist_t *pl, ingest_llhls_segment_t *segs,
    size_t max_segs)
{
    int                   header, extinf;
    size_t                pos, start, inf_off, part_off;
    int64_t               dur, part_dur, tail_dur;
    uint64_t              limit;
    unsigned              nparts, seen;
    ingest_llhls_rc_t     rc;
    ingest_llhls_line_t   l;

    memset(pl, 0, sizeof(ingest_llhls_playlist_t));

    pl->segments = segs;
    pl->len = len;

    if (len > INGEST_LLHLS_MAX_SIZE) {
        return INGEST_LLHLS_TOO_LARGE;
    }

    if (buf == NULL || !ingest_llhls_line(buf, len, 0, &l)
        || l.tag != INGEST_LLHLS_TAG_EXTM3U || l.value != NULL)
    {
        return INGEST_LLHLS_NOT_PLAYLIST;
    }

    pl->m3u_end = l.next;

    header = 1;
    extinf = 0;
    nparts = 0;
    seen = 1u << INGEST_LLHLS_TAG_EXTM3U;
    dur = 0;
    part_dur = 0;
    tail_dur = 0;
    inf_off = 0;
    part_off = 0;
    start = l.next;
    pos = l.next;

    while (ingest_llhls_line(buf, len, pos, &l)) {
        pos = l.next;
        pl->err_off = l.start;

        if (header && ingest_llhls_class(&l) >= INGEST_LLHLS_CLASS_STICKY) {
            /* the lines of the first segment (or of the tail) begin */
            header = 0;
            start = l.start;
            pl->body = l.start;
        }

        if (l.type == INGEST_LLHLS_LINE_URI) {
            if (!extinf) {
                return INGEST_LLHLS_BAD_SEGMENT;
            }

            if (pl->nsegments >= max_segs) {
                return INGEST_LLHLS_TOO_MANY_SEGMENTS;
            }

            if (pl->duration > INT64_MAX - dur) {
                return INGEST_LLHLS_TOO_LARGE;
            }

            segs[pl->nsegments].start = start;
            segs[pl->nsegments].end = l.next;
            segs[pl->nsegments].duration = dur;
            segs[pl->nsegments].nparts = nparts;
            pl->nsegments++;
            pl->duration += dur;

            start = l.next;
            extinf = 0;
            nparts = 0;
            tail_dur = 0;
            continue;
        }

        if (l.type != INGEST_LLHLS_LINE_TAG) {
            continue;
        }

        switch (l.tag) {

        case INGEST_LLHLS_TAG_EXTINF:
            if (extinf) {
                return INGEST_LLHLS_BAD_SEGMENT;
            }

            rc = ingest_llhls_tag(pl, &l, &seen, &dur);
            if (rc != INGEST_LLHLS_OK) {
                return rc;
            }

            extinf = 1;
            inf_off = l.start;
            break;

        case INGEST_LLHLS_TAG_PART:
            if (nparts == INGEST_LLHLS_MAX_PARTS) {
                return INGEST_LLHLS_TOO_MANY_PARTS;
            }

            rc = ingest_llhls_tag(pl, &l, &seen, &part_dur);
            if (rc != INGEST_LLHLS_OK) {
                return rc;
            }

            if (part_off == 0) {
                part_off = l.start;
            }

            /* at most 1024 parts of at most 10^12 us: no overflow */
            tail_dur += part_dur;
            nparts++;
            break;

        case INGEST_LLHLS_TAG_SKIP:
            /* the numbering of the segments listed depends on it */
            if (pl->nsegments != 0 || nparts != 0 || extinf) {
                return INGEST_LLHLS_BAD_SEQUENCE;
            }

            /* fall through */

        default:
            rc = ingest_llhls_tag(pl, &l, &seen, NULL);
            if (rc != INGEST_LLHLS_OK) {
                return rc;
            }
        }
    }

    if (extinf) {
        pl->err_off = inf_off;
        return INGEST_LLHLS_BAD_SEGMENT;
    }

    pl->err_off = 0;

    if (!(seen & (1u << INGEST_LLHLS_TAG_TARGET))) {
        return INGEST_LLHLS_NO_TARGET;
    }

    if (part_off != 0 && pl->part_target == 0) {
        pl->err_off = part_off;
        return INGEST_LLHLS_NO_PART_INF;
    }

    if (header) {
        pl->body = len;
        start = len;
    }

    pl->tail = start;
    pl->ntail = nparts;
    pl->tail_duration = tail_dur;

    if (pl->duration > INT64_MAX - tail_dur) {
        return INGEST_LLHLS_TOO_LARGE;
    }

    pl->duration += tail_dur;

    /* next_msn + 2 stays below 2^63: the decisions add to it */

    limit = (uint64_t) INT64_MAX - 2;

    if (pl->media_sequence > limit
        || pl->skipped > limit - pl->media_sequence
        || pl->nsegments > limit - pl->media_sequence - pl->skipped)
    {
        return INGEST_LLHLS_BAD_SEQUENCE;
    }

    pl->first_msn = pl->media_sequence + pl->skipped;
    pl->next_msn = pl->first_msn + pl->nsegments;

    return INGEST_LLHLS_OK;
}


int
ingest_llhls_last_part(const ingest_llhls_playlist_t *pl, uint64_t *msn,
    uint64_t *part)
{
    const ingest_llhls_segment_t  *last;

    if (pl->ntail != 0) {
        *msn = pl->next_msn;
        *part = pl->ntail - 1;
        return 0;
    }

    if (pl->nsegments != 0) {
        last = &pl->segments[pl->nsegments - 1];

        if (last->nparts != 0) {
            *msn = pl->next_msn - 1;
            *part = last->nparts - 1;
            return 0;
        }
    }

    return -1;
}


ingest_llhls_rc_t
ingest_llhls_decide(const ingest_llhls_playlist_t *pl,
    const ingest_llhls_query_t *q, ingest_llhls_request_t *req)
{
    uint64_t  ahead;

    memset(req, 0, sizeof(ingest_llhls_request_t));

    if (q->skip.data != NULL
        && (ingest_llhls_eq(&q->skip, "YES")
            || ingest_llhls_eq(&q->skip, "v2")))
    {
        req->skip = 1;
    }

    if (!pl->can_block_reload || pl->endlist) {
        return ingest_llhls_serve(pl, req);
    }

    if (q->msn.data == NULL) {
        if (q->part.data != NULL) {
            return INGEST_LLHLS_PART_WITHOUT_MSN;
        }

        return ingest_llhls_serve(pl, req);
    }

    if (ingest_parse_u64(q->msn.data, q->msn.len, &req->msn) != 0) {
        return INGEST_LLHLS_BAD_MSN;
    }

    if (q->part.data != NULL) {
        if (ingest_parse_u64(q->part.data, q->part.len, &req->part) != 0) {
            return INGEST_LLHLS_BAD_PART;
        }

        /* parts mean nothing without EXT-X-PART-INF */
        req->has_part = pl->part_target > 0;
    }

    if (!req->has_part) {
        req->part = 0;
    }

    req->block = 1;

    /* the last whole segment is next_msn - 1 */

    if (req->msn > pl->next_msn + 1) {
        return INGEST_LLHLS_MSN_TOO_FAR;
    }

    /*
     * How many parts the request is after the last part listed (part
     * ntail - 1 of segment next_msn, or none yet), counted as low as
     * possible: the segment in progress may end after the parts it has
     * (but has at least one), each segment between has at least one,
     * and part `part` of segment msn is the part + 1st of it.
     */

    if (req->has_part && req->msn >= pl->next_msn) {

        if (req->msn == pl->next_msn) {
            ahead = req->part + 1 > pl->ntail ? req->part + 1 - pl->ntail : 0;

        } else {
            ahead = req->msn - pl->next_msn + req->part
                    + (pl->ntail == 0 ? 1 : 0);
        }

        if (ahead > ingest_llhls_advance_part_limit(pl)) {
            return INGEST_LLHLS_PART_TOO_FAR;
        }
    }

    return ingest_llhls_ready(pl, req);
}


ingest_llhls_rc_t
ingest_llhls_ready(const ingest_llhls_playlist_t *pl,
    const ingest_llhls_request_t *req)
{
    const ingest_llhls_segment_t  *last;

    if (!req->block || !pl->can_block_reload || pl->endlist
        || req->msn < pl->first_msn)
    {
        return ingest_llhls_serve(pl, req);
    }

    if (!req->has_part || pl->part_target == 0) {
        return req->msn < pl->next_msn ? ingest_llhls_serve(pl, req)
                                        : INGEST_LLHLS_HOLD;
    }

    if (req->msn < pl->next_msn) {

        /* first_msn <= msn: a whole segment after msn answers it */

        if (pl->next_msn - req->msn > 1) {
            return ingest_llhls_serve(pl, req);
        }

        /* the last whole segment: past its last part is the next one's */

        last = &pl->segments[pl->nsegments - 1];

        if (req->part < last->nparts || pl->ntail != 0) {
            return ingest_llhls_serve(pl, req);
        }

        return INGEST_LLHLS_HOLD;
    }

    if (req->msn == pl->next_msn && req->part < pl->ntail) {
        return ingest_llhls_serve(pl, req);
    }

    return INGEST_LLHLS_HOLD;
}


uint64_t
ingest_llhls_advance_part_limit(const ingest_llhls_playlist_t *pl)
{
    if (pl->part_target > 0 && pl->part_target < 1000000) {
        return 3000000 / (uint64_t) pl->part_target;
    }

    return 3;
}


uint64_t
ingest_llhls_hold_timeout_ms(const ingest_llhls_playlist_t *pl)
{
    uint64_t  ms;

    /* target <= INGEST_LLHLS_MAX_SECONDS: no overflow */

    ms = pl->target * INGEST_LLHLS_HOLD_TARGETS * 1000;

    return ms > INGEST_LLHLS_MIN_HOLD_MS ? ms : INGEST_LLHLS_MIN_HOLD_MS;
}


size_t
ingest_llhls_skip_count(const ingest_llhls_playlist_t *pl)
{
    size_t   i, n;
    int64_t  t;

    if (pl->can_skip_until <= 0 || pl->has_skip) {
        return 0;
    }

    n = 0;
    t = 0;

    for (i = 0; i < pl->nsegments; i++) {
        t += pl->segments[i].duration;

        if (pl->duration - t < pl->can_skip_until) {
            break;
        }

        n++;
    }

    return n;
}


size_t
ingest_llhls_delta(const unsigned char *buf,
    const ingest_llhls_playlist_t *pl, unsigned char *out, size_t cap)
{
    int                    skip_done;
    size_t                 n, pos, skip_end;
    unsigned char          num[20];
    ingest_llhls_line_t    l;
    ingest_llhls_class_e   cls;
    ingest_llhls_writer_t  w;

    n = ingest_llhls_skip_count(pl);

    if (n == 0 || pl->endlist) {
        return 0;
    }

    w.out = out;
    w.cap = out != NULL ? cap : 0;
    w.len = 0;

    ingest_llhls_put(&w, buf, pl->m3u_end);

    if (pl->version_len == 0) {
        ingest_llhls_put(&w, (const unsigned char *) "#EXT-X-VERSION:9\n",
                         sizeof("#EXT-X-VERSION:9\n") - 1);
    }

    ingest_llhls_copy(&w, buf, pl, pl->m3u_end, pl->body);

    /* the skipped segments' lines: those that apply further stay */

    skip_end = pl->segments[n - 1].end;
    skip_done = 0;
    pos = pl->body;

    while (pos < skip_end && ingest_llhls_line(buf, pl->len, pos, &l)) {
        cls = ingest_llhls_class(&l);

        if (cls == INGEST_LLHLS_CLASS_PLAYLIST
            || cls == INGEST_LLHLS_CLASS_STICKY)
        {
            ingest_llhls_copy(&w, buf, pl, l.start, l.next);

        } else if (!skip_done) {
            ingest_llhls_put(&w, (const unsigned char *)
                             "#EXT-X-SKIP:SKIPPED-SEGMENTS=",
                             sizeof("#EXT-X-SKIP:SKIPPED-SEGMENTS=") - 1);
            ingest_llhls_put(&w, num, ingest_format_u64(num, n));
            ingest_llhls_put(&w, (const unsigned char *) "\n", 1);
            skip_done = 1;
        }

        pos = l.next;
    }

    ingest_llhls_copy(&w, buf, pl, skip_end, pl->len);

    return w.len;
}


ingest_llhls_rc_t
ingest_llhls_file(const unsigned char *buf,
    const ingest_llhls_playlist_t *pl, const unsigned char *name,
    size_t len)
{
    int                  hinted;
    size_t               pos;
    ingest_str_t         uri, type;
    ingest_llhls_line_t  l;

    if (len == 0) {
        return INGEST_LLHLS_UNKNOWN;
    }

    hinted = 0;
    pos = 0;

    while (ingest_llhls_line(buf, pl->len, pos, &l)) {
        pos = l.next;

        if (l.type == INGEST_LLHLS_LINE_URI) {
            if (l.end - l.start == len
                && memcmp(buf + l.start, name, len) == 0)
            {
                return INGEST_LLHLS_LISTED;
            }

            continue;
        }

        if (l.type != INGEST_LLHLS_LINE_TAG
            || (l.tag != INGEST_LLHLS_TAG_PART
                && l.tag != INGEST_LLHLS_TAG_MAP
                && l.tag != INGEST_LLHLS_TAG_PRELOAD_HINT)
            || ingest_llhls_attr_uri(&l, &uri, &type) != 0
            || uri.len != len || memcmp(uri.data, name, len) != 0)
        {
            continue;
        }

        if (l.tag != INGEST_LLHLS_TAG_PRELOAD_HINT) {
            return INGEST_LLHLS_LISTED;
        }

        if (ingest_llhls_eq(&type, "PART") || ingest_llhls_eq(&type, "MAP")) {
            hinted = 1;
        }
    }

    return hinted && !pl->endlist ? INGEST_LLHLS_PRELOAD_HINTED
                                  : INGEST_LLHLS_UNKNOWN;
}


/*
 * The line at pos: its content without the line end and trailing
 * blanks, what it is and, for a tag, which one and its value.
 * Returns 0 at the end of the buffer.
 */

static int
ingest_llhls_line(const unsigned char *buf, size_t len, size_t pos,
    ingest_llhls_line_t *l)
{
    size_t                n, i;
    const unsigned char  *nl, *p, *colon;

    if (pos >= len) {
        return 0;
    }

    nl = memchr(buf + pos, '\n', len - pos);

    l->buf = buf;
    l->start = pos;
    l->end = nl != NULL ? (size_t) (nl - buf) : len;
    l->next = nl != NULL ? l->end + 1 : len;
    l->tag = INGEST_LLHLS_TAG_UNKNOWN;
    l->value = NULL;
    l->value_end = NULL;

    while (l->end > l->start
           && (buf[l->end - 1] == '\r' || buf[l->end - 1] == ' '
               || buf[l->end - 1] == '\t'))
    {
        l->end--;
    }

    p = buf + l->start;
    n = l->end - l->start;

    if (n == 0) {
        l->type = INGEST_LLHLS_LINE_NONE;
        return 1;
    }

    if (p[0] != '#') {
        l->type = INGEST_LLHLS_LINE_URI;
        return 1;
    }

    if (n < 4 || memcmp(p, "#EXT", 4) != 0) {
        /* a comment */
        l->type = INGEST_LLHLS_LINE_NONE;
        return 1;
    }

    l->type = INGEST_LLHLS_LINE_TAG;

    colon = memchr(p, ':', n);

    if (colon != NULL) {
        l->value = colon + 1;
        l->value_end = p + n;
        n = colon - p;
    }

    /* the name, without '#' */

    p++;
    n--;

    for (i = 0; i < sizeof(ingest_llhls_tags) / sizeof(ingest_llhls_tags[0]);
         i++)
    {
        if (ingest_llhls_tags[i].len == n
            && memcmp(ingest_llhls_tags[i].name, p, n) == 0)
        {
            l->tag = ingest_llhls_tags[i].tag;
            break;
        }
    }

    return 1;
}


static ingest_llhls_class_e
ingest_llhls_class(const ingest_llhls_line_t *l)
{
    if (l->type == INGEST_LLHLS_LINE_NONE) {
        return INGEST_LLHLS_CLASS_NEUTRAL;
    }

    if (l->type == INGEST_LLHLS_LINE_URI) {
        return INGEST_LLHLS_CLASS_SEGMENT;
    }

    switch (l->tag) {

    case INGEST_LLHLS_TAG_EXTM3U:
    case INGEST_LLHLS_TAG_VERSION:
    case INGEST_LLHLS_TAG_TARGET:
    case INGEST_LLHLS_TAG_MEDIA_SEQUENCE:
    case INGEST_LLHLS_TAG_PART_INF:
    case INGEST_LLHLS_TAG_SERVER_CONTROL:
    case INGEST_LLHLS_TAG_SKIP:
    case INGEST_LLHLS_TAG_ENDLIST:
    case INGEST_LLHLS_TAG_PRELOAD_HINT:
    case INGEST_LLHLS_TAG_PLAYLIST:
    case INGEST_LLHLS_TAG_DATERANGE:
    case INGEST_LLHLS_TAG_MULTIVARIANT:
        return INGEST_LLHLS_CLASS_PLAYLIST;

    case INGEST_LLHLS_TAG_MAP:
    case INGEST_LLHLS_TAG_STICKY:
        return INGEST_LLHLS_CLASS_STICKY;

    default:
        /* EXTINF, EXT-X-PART, other media segment tags, unknown tags */
        return INGEST_LLHLS_CLASS_SEGMENT;
    }
}


/*
 * Checks one tag and takes what the model needs from it; dur receives
 * the duration of EXTINF and EXT-X-PART.
 */

static ingest_llhls_rc_t
ingest_llhls_tag(ingest_llhls_playlist_t *pl, const ingest_llhls_line_t *l,
    unsigned *seen, int64_t *dur)
{
    int                   quoted, rc;
    size_t                n;
    uint64_t              v;
    ingest_str_t          name, value, uri, type;
    const unsigned char  *p, *e;

    switch (l->tag) {

    case INGEST_LLHLS_TAG_EXTM3U:
    case INGEST_LLHLS_TAG_VERSION:
    case INGEST_LLHLS_TAG_TARGET:
    case INGEST_LLHLS_TAG_MEDIA_SEQUENCE:
    case INGEST_LLHLS_TAG_PART_INF:
    case INGEST_LLHLS_TAG_SERVER_CONTROL:
    case INGEST_LLHLS_TAG_SKIP:
        if (*seen & (1u << l->tag)) {
            return INGEST_LLHLS_DUPLICATE_TAG;
        }

        *seen |= 1u << l->tag;
        break;

    case INGEST_LLHLS_TAG_MULTIVARIANT:
        return INGEST_LLHLS_NOT_MEDIA;

    default:
        break;
    }

    p = l->value;
    e = l->value_end;
    n = p != NULL ? (size_t) (e - p) : 0;

    switch (l->tag) {

    case INGEST_LLHLS_TAG_VERSION:
        if (ingest_parse_u64(p, n, &v) != 0 || v > 65535) {
            return INGEST_LLHLS_BAD_TAG;
        }

        pl->version = (unsigned) v;
        pl->version_off = (size_t) (p - l->buf);
        pl->version_len = n;
        break;

    case INGEST_LLHLS_TAG_TARGET:
        if (ingest_parse_u64(p, n, &v) != 0
            || v > INGEST_LLHLS_MAX_SECONDS)
        {
            return INGEST_LLHLS_BAD_TAG;
        }

        pl->target = v;
        break;

    case INGEST_LLHLS_TAG_MEDIA_SEQUENCE:
        if (ingest_parse_u64(p, n, &pl->media_sequence) != 0) {
            return INGEST_LLHLS_BAD_TAG;
        }

        break;

    case INGEST_LLHLS_TAG_PART_INF:
        while ((rc = ingest_llhls_attr(&p, e, &name, &value, &quoted)) == 1)
        {
            if (ingest_llhls_eq(&name, "PART-TARGET")
                && (quoted
                    || ingest_llhls_us(value.data, value.len,
                                       &pl->part_target) != 0))
            {
                return INGEST_LLHLS_BAD_TAG;
            }
        }

        if (rc != 0 || pl->part_target <= 0) {
            return INGEST_LLHLS_BAD_TAG;
        }

        break;

    case INGEST_LLHLS_TAG_SERVER_CONTROL:
        return ingest_llhls_server_control(pl, l);

    case INGEST_LLHLS_TAG_SKIP:
        v = 0;
        quoted = 1;

        while ((rc = ingest_llhls_attr(&p, e, &name, &value, &quoted)) == 1)
        {
            if (!ingest_llhls_eq(&name, "SKIPPED-SEGMENTS")) {
                continue;
            }

            if (quoted || ingest_parse_u64(value.data, value.len, &v) != 0) {
                return INGEST_LLHLS_BAD_TAG;
            }

            pl->skipped = v;
            pl->has_skip = 1;
        }

        if (rc != 0 || !pl->has_skip) {
            return INGEST_LLHLS_BAD_TAG;
        }

        break;

    case INGEST_LLHLS_TAG_ENDLIST:
        pl->endlist = 1;
        break;

    case INGEST_LLHLS_TAG_EXTINF:

        /* "<duration>,[<title>]" */

        if (p == NULL) {
            return INGEST_LLHLS_BAD_TAG;
        }

        for (n = 0; p + n < e && p[n] != ','; n++) {
            /* void */
        }

        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }

        if (ingest_llhls_us(p, n, dur) != 0) {
            return INGEST_LLHLS_BAD_TAG;
        }

        break;

    case INGEST_LLHLS_TAG_PART:
        *dur = -1;
        uri.data = NULL;

        while ((rc = ingest_llhls_attr(&p, e, &name, &value, &quoted)) == 1)
        {
            if (ingest_llhls_eq(&name, "DURATION")) {
                if (quoted || ingest_llhls_us(value.data, value.len, dur) != 0)
                {
                    return INGEST_LLHLS_BAD_TAG;
                }

            } else if (ingest_llhls_eq(&name, "URI")) {
                if (!quoted) {
                    return INGEST_LLHLS_BAD_TAG;
                }

                uri = value;
            }
        }

        if (rc != 0 || *dur < 0 || uri.data == NULL) {
            return INGEST_LLHLS_BAD_TAG;
        }

        break;

    case INGEST_LLHLS_TAG_MAP:
        if (ingest_llhls_attr_uri(l, &uri, &type) != 0) {
            return INGEST_LLHLS_BAD_TAG;
        }

        break;

    case INGEST_LLHLS_TAG_PRELOAD_HINT:
        if (ingest_llhls_attr_uri(l, &uri, &type) != 0
            || type.data == NULL)
        {
            return INGEST_LLHLS_BAD_TAG;
        }

        if (pl->hint_len == 0 && ingest_llhls_eq(&type, "PART")) {
            pl->hint_off = (size_t) (uri.data - l->buf);
            pl->hint_len = uri.len;
        }

        break;

    default:
        break;
    }

    return INGEST_LLHLS_OK;
}


static ingest_llhls_rc_t
ingest_llhls_server_control(ingest_llhls_playlist_t *pl,
    const ingest_llhls_line_t *l)
{
    int                   quoted, rc;
    unsigned              yes;
    int64_t              *us;
    ingest_str_t          name, value;
    const unsigned char  *p;

    p = l->value;

    while ((rc = ingest_llhls_attr(&p, l->value_end, &name, &value, &quoted))
           == 1)
    {
        us = NULL;

        if (ingest_llhls_eq(&name, "CAN-SKIP-UNTIL")) {
            us = &pl->can_skip_until;

        } else if (ingest_llhls_eq(&name, "HOLD-BACK")) {
            us = &pl->hold_back;

        } else if (ingest_llhls_eq(&name, "PART-HOLD-BACK")) {
            us = &pl->part_hold_back;

        } else if (ingest_llhls_eq(&name, "CAN-BLOCK-RELOAD")) {
            if (quoted || ingest_llhls_yes(&value, &yes) != 0) {
                return INGEST_LLHLS_BAD_TAG;
            }

            pl->can_block_reload = yes;

        } else if (ingest_llhls_eq(&name, "CAN-SKIP-DATERANGES")) {
            if (quoted || ingest_llhls_yes(&value, &yes) != 0) {
                return INGEST_LLHLS_BAD_TAG;
            }

            pl->can_skip_dateranges = yes;
        }

        if (us != NULL
            && (quoted || ingest_llhls_us(value.data, value.len, us) != 0))
        {
            return INGEST_LLHLS_BAD_TAG;
        }
    }

    return rc == 0 ? INGEST_LLHLS_OK : INGEST_LLHLS_BAD_TAG;
}


/*
 * The next attribute of an attribute list (RFC 8216bis 4.2):
 * NAME=value, NAME of [A-Z0-9-], value a quoted string (without the
 * quotes) or a run of characters other than '"', ',' and blanks.
 * Blanks around the pairs and a trailing comma are tolerated. Returns
 * 1 with one, 0 at the end, -1 when malformed.
 */

static int
ingest_llhls_attr(const unsigned char **pos, const unsigned char *end,
    ingest_str_t *name, ingest_str_t *value, int *quoted)
{
    const unsigned char  *p, *s;

    p = *pos;

    if (p == NULL) {
        return 0;
    }

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p == end) {
        *pos = p;
        return 0;
    }

    s = p;

    while (p < end
           && ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
               || *p == '-'))
    {
        p++;
    }

    if (p == s || p == end || *p != '=') {
        return -1;
    }

    name->data = s;
    name->len = p - s;

    p++;

    if (p < end && *p == '"') {
        s = ++p;

        while (p < end && *p != '"') {
            p++;
        }

        if (p == end) {
            return -1;
        }

        value->data = s;
        value->len = p - s;
        *quoted = 1;
        p++;

    } else {
        s = p;

        while (p < end && *p != '"' && *p != ',' && *p != ' ' && *p != '\t')
        {
            p++;
        }

        if (p == s) {
            return -1;
        }

        value->data = s;
        value->len = p - s;
        *quoted = 0;
    }

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p < end) {
        if (*p != ',') {
            return -1;
        }

        p++;
    }

    *pos = p;

    return 1;
}


/* URI (a quoted string, required) and TYPE (data NULL: absent) */

static int
ingest_llhls_attr_uri(const ingest_llhls_line_t *l, ingest_str_t *uri,
    ingest_str_t *type)
{
    int                   quoted, rc;
    ingest_str_t          name, value;
    const unsigned char  *p;

    uri->data = NULL;
    uri->len = 0;
    type->data = NULL;
    type->len = 0;

    p = l->value;

    while ((rc = ingest_llhls_attr(&p, l->value_end, &name, &value, &quoted))
           == 1)
    {
        if (ingest_llhls_eq(&name, "URI")) {
            if (!quoted) {
                return -1;
            }

            *uri = value;

        } else if (ingest_llhls_eq(&name, "TYPE")) {
            if (quoted) {
                return -1;
            }

            *type = value;
        }
    }

    return rc == 0 && uri->data != NULL ? 0 : -1;
}


/*
 * A decimal-floating-point number of seconds (digits, optionally '.'
 * and digits) in microseconds, rounded half up; at most
 * INGEST_LLHLS_MAX_SECONDS whole seconds.
 */

static int
ingest_llhls_us(const unsigned char *p, size_t len, int64_t *out)
{
    size_t   i, digits, k;
    int64_t  sec, frac, round;

    static const int64_t  scale[6] = {
        100000, 10000, 1000, 100, 10, 1
    };

    sec = 0;
    digits = 0;

    for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        sec = sec * 10 + (p[i] - '0');

        if (sec > INGEST_LLHLS_MAX_SECONDS) {
            return -1;
        }

        digits++;
    }

    frac = 0;
    round = 0;

    if (i < len && p[i] == '.') {
        i++;

        for (k = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++, k++) {
            if (k < 6) {
                frac += (p[i] - '0') * scale[k];

            } else if (k == 6) {
                round = p[i] >= '5';
            }

            digits++;
        }
    }

    if (i != len || digits == 0) {
        return -1;
    }

    *out = sec * 1000000 + frac + round;

    return 0;
}


/* an enumerated YES or NO */

static int
ingest_llhls_yes(const ingest_str_t *v, unsigned *out)
{
    if (ingest_llhls_eq(v, "YES")) {
        *out = 1;
        return 0;
    }

    if (ingest_llhls_eq(v, "NO")) {
        *out = 0;
        return 0;
    }

    return -1;
}


static int
ingest_llhls_eq(const ingest_str_t *s, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    return s->len == n && memcmp(s->data, lit, n) == 0;
}


/* the answer to a request that waits no longer */

static ingest_llhls_rc_t
ingest_llhls_serve(const ingest_llhls_playlist_t *pl,
    const ingest_llhls_request_t *req)
{
    if (req->skip && !pl->endlist && ingest_llhls_skip_count(pl) != 0) {
        return INGEST_LLHLS_SERVE_DELTA;
    }

    return INGEST_LLHLS_SERVE_FULL;
}


static void
ingest_llhls_put(ingest_llhls_writer_t *w, const unsigned char *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (w->out != NULL && w->len <= w->cap && n <= w->cap - w->len) {
        memcpy(w->out + w->len, p, n);
    }

    w->len += n;
}


/* buf[from, to), whole lines, with EXT-X-VERSION raised to 9 */

static void
ingest_llhls_copy(ingest_llhls_writer_t *w, const unsigned char *buf,
    const ingest_llhls_playlist_t *pl, size_t from, size_t to)
{
    size_t  v;

    v = pl->version_off;

    if (pl->version_len == 0 || pl->version >= INGEST_LLHLS_SKIP_VERSION
        || v < from || v >= to)
    {
        ingest_llhls_put(w, buf + from, to - from);
        return;
    }

    ingest_llhls_put(w, buf + from, v - from);
    ingest_llhls_put(w, (const unsigned char *) "9", 1);
    ingest_llhls_put(w, buf + v + pl->version_len,
                     to - v - pl->version_len);
}
