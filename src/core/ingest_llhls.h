
/*
 * Copyright (C) nginx video ingest developers
 *
 * LL-HLS origin rules (RFC 8216bis): a bounded parser of media
 * playlists (the worker's, and any media playlist of that shape), the
 * decisions on a playlist request with delivery directives (_HLS_msn
 * and _HLS_part: blocking reload, section 6.2.5.2; _HLS_skip: playlist
 * delta updates, 6.2.5.1), the delta update writer, and the decision on
 * a request for a file that is not there yet (preload hints, 6.2.6).
 * Pure C, no I/O, no allocation: the caller owns every buffer.
 *
 * How the glue uses it for one rendition's playlist:
 *
 *   1. Whenever the playlist file changes (the worker renames a new one
 *      into place), read it whole and ingest_llhls_parse() it into a
 *      spare model and segment array; on success swap them with the
 *      current ones. Keep the bytes, the model and its segment array
 *      together (the model holds offsets into those bytes).
 *   2. A playlist request: ingest_llhls_decide() on the raw _HLS_msn,
 *      _HLS_part and _HLS_skip values (as ngx_http_arg() finds them):
 *        SERVE_FULL   200, the playlist bytes as they are;
 *        SERVE_DELTA  200, ingest_llhls_delta() of them;
 *        HOLD         keep the request with its ingest_llhls_request_t;
 *                     after each new parse call ingest_llhls_ready():
 *                     SERVE_FULL or SERVE_DELTA answer it (from the new
 *                     bytes), HOLD keeps it; a request held longer than
 *                     ingest_llhls_hold_timeout_ms() gets 503 (the HOLD
 *                     status in the table);
 *        otherwise    ingest_llhls_http_status(): 400.
 *      Responses to requests with _HLS_ parameters are the same for
 *      every client, so they may be cached by the query string.
 *   3. A request for a file of the rendition (part, segment, init) that
 *      does not exist: ingest_llhls_file(). PRELOAD_HINTED holds it
 *      until the file appears (then serve it whole: the worker renames
 *      complete files into place) or until a new playlist no longer
 *      hints it (ask again), at most ingest_llhls_hold_timeout_ms()
 *      (503); UNKNOWN is 404.
 *   4. A parse error keeps the previous model (if any) and logs
 *      ingest_llhls_reason() with err_off; its table status (500) is
 *      for requests that find no usable playlist at all.
 *
 * Nothing here keeps state between calls: the glue owns the held
 * requests and the timers.
 */


#ifndef _INGEST_LLHLS_H_INCLUDED_
#define _INGEST_LLHLS_H_INCLUDED_


#include "ingest_core.h"


/* the largest playlist parsed */
#define INGEST_LLHLS_MAX_SIZE       (16 * 1024 * 1024)

/* EXT-X-PART tags of one segment, and after the last segment */
#define INGEST_LLHLS_MAX_PARTS      1024

/* a good size for the caller's segment array: 4.5 h of 1 s segments */
#define INGEST_LLHLS_MAX_SEGMENTS   16384

/* any duration, time or EXT-X-TARGETDURATION, in seconds */
#define INGEST_LLHLS_MAX_SECONDS    1000000

/* EXT-X-VERSION a playlist with EXT-X-SKIP needs */
#define INGEST_LLHLS_SKIP_VERSION   9

/* blocking requests wait at most three target durations, >= 1 s */
#define INGEST_LLHLS_HOLD_TARGETS   3
#define INGEST_LLHLS_MIN_HOLD_MS    1000


/*
 * Decision codes. The glue maps each to an HTTP status through one
 * table; the reason strings (ingest_llhls_reason) go to the log. HOLD
 * and PRELOAD_HINTED are waits, not answers: their status (503) is the
 * answer when the wait times out.
 */
typedef enum {
    INGEST_LLHLS_OK = 0,             /* 200 the playlist parsed */

    /* a playlist request */
    INGEST_LLHLS_SERVE_FULL,         /* 200 the playlist as it is */
    INGEST_LLHLS_SERVE_DELTA,        /* 200 ingest_llhls_delta() */
    INGEST_LLHLS_HOLD,               /* 503 on timeout */
    INGEST_LLHLS_PART_WITHOUT_MSN,   /* 400 _HLS_part but no _HLS_msn */
    INGEST_LLHLS_BAD_MSN,            /* 400 not a decimal integer */
    INGEST_LLHLS_BAD_PART,           /* 400 not a decimal integer */
    INGEST_LLHLS_MSN_TOO_FAR,        /* 400 more than two segments after
                                        the last one */
    INGEST_LLHLS_PART_TOO_FAR,       /* 400 past the Advance Part Limit */

    /* a file request */
    INGEST_LLHLS_LISTED,             /* 200 the playlist names it */
    INGEST_LLHLS_PRELOAD_HINTED,     /* 503 on timeout */
    INGEST_LLHLS_UNKNOWN,            /* 404 */

    /* the playlist file is not usable: 500 */
    INGEST_LLHLS_NOT_PLAYLIST,       /* the first line is not #EXTM3U */
    INGEST_LLHLS_NOT_MEDIA,          /* a multivariant playlist */
    INGEST_LLHLS_BAD_TAG,            /* a tag's value is malformed */
    INGEST_LLHLS_DUPLICATE_TAG,      /* a tag allowed once is twice */
    INGEST_LLHLS_NO_TARGET,          /* no EXT-X-TARGETDURATION */
    INGEST_LLHLS_NO_PART_INF,        /* EXT-X-PART without PART-INF */
    INGEST_LLHLS_BAD_SEGMENT,        /* URI without EXTINF, EXTINF
                                        without URI, two EXTINF */
    INGEST_LLHLS_BAD_SEQUENCE,       /* media sequence numbers overflow,
                                        EXT-X-SKIP after a segment */
    INGEST_LLHLS_TOO_MANY_SEGMENTS,  /* more than the caller's array */
    INGEST_LLHLS_TOO_MANY_PARTS,     /* more than INGEST_LLHLS_MAX_PARTS */
    INGEST_LLHLS_TOO_LARGE,          /* bytes or total duration */

    INGEST_LLHLS_RC_LAST
} ingest_llhls_rc_t;


/* HTTP status for a decision code */
int ingest_llhls_http_status(ingest_llhls_rc_t rc);

/* human readable reason, a static NUL-terminated string */
const char *ingest_llhls_reason(ingest_llhls_rc_t rc);


/*
 * A whole media segment (EXTINF and URI line). Its lines are
 * [start, end): from the line after the previous segment's URI (for
 * the first, after the playlist's header tags) to past the newline of
 * its own URI line, so the media segment tags before it (EXT-X-PART,
 * EXT-X-PROGRAM-DATE-TIME, ...) are in it.
 */
typedef struct {
    size_t               start;
    size_t               end;
    int64_t              duration;       /* us, from EXTINF */
    unsigned             nparts;         /* EXT-X-PART tags listed */
} ingest_llhls_segment_t;


typedef struct {
    ingest_llhls_segment_t *segments;    /* the caller's array */
    size_t               nsegments;
    size_t               len;            /* of the parsed bytes */

    unsigned             version;        /* EXT-X-VERSION, 0: absent */
    uint64_t             target;         /* EXT-X-TARGETDURATION, s */
    int64_t              part_target;    /* us, 0: no EXT-X-PART-INF */
    uint64_t             media_sequence;
    uint64_t             skipped;        /* EXT-X-SKIP:SKIPPED-SEGMENTS */

    /*
     * Media sequence numbers: the first segment listed is first_msn
     * (media_sequence + skipped); the segment in progress, which the
     * parts after the last segment belong to, is next_msn
     * (first_msn + nsegments). The last whole segment is next_msn - 1.
     */
    uint64_t             first_msn;
    uint64_t             next_msn;

    unsigned             ntail;          /* parts after the last segment */
    int64_t              tail_duration;  /* us, of those parts */
    int64_t              duration;       /* us, segments and tail parts */

    /* EXT-X-SERVER-CONTROL; durations in us, 0: absent */
    int64_t              can_skip_until;
    int64_t              hold_back;
    int64_t              part_hold_back;
    unsigned             can_block_reload:1;
    unsigned             can_skip_dateranges:1;

    unsigned             endlist:1;
    unsigned             has_skip:1;     /* EXT-X-SKIP: a delta update */

    /* URI of the first EXT-X-PRELOAD-HINT:TYPE=PART, hint_len 0: none */
    size_t               hint_off;
    size_t               hint_len;

    /* where the delta writer edits */
    size_t               m3u_end;        /* past the #EXTM3U line */
    size_t               version_off;    /* EXT-X-VERSION's number */
    size_t               version_len;    /* 0: no EXT-X-VERSION */
    size_t               body;           /* the first segment's start,
                                            or the tail's */
    size_t               tail;           /* past the last segment */

    size_t               err_off;        /* the line of a parse error */
} ingest_llhls_playlist_t;


/*
 * Parses a media playlist into pl; segs holds max_segs entries and is
 * kept in pl->segments. Tags the model does not need are checked only
 * as far as the delta writer needs (which lines they are); unknown tags
 * are ignored as the RFC asks, and taken, like EXT-X-PROGRAM-DATE-TIME,
 * as tags of the segment that follows them. Variable substitution
 * (EXT-X-DEFINE) is not applied. Never reads outside buf[0..len).
 * Returns OK or one of the 500 codes, with err_off set; after an error
 * pl and segs hold partial results and are not a model.
 */
ingest_llhls_rc_t ingest_llhls_parse(const unsigned char *buf, size_t len,
    ingest_llhls_playlist_t *pl, ingest_llhls_segment_t *segs,
    size_t max_segs);

/*
 * The last part listed (in the segment in progress, or else in the
 * last whole segment): returns 0 with its msn and part index, -1 when
 * the playlist lists no part near its end.
 */
int ingest_llhls_last_part(const ingest_llhls_playlist_t *pl,
    uint64_t *msn, uint64_t *part);


/* the delivery directives of a playlist request: raw values, data NULL
   when the parameter is absent */
typedef struct {
    ingest_str_t         msn;            /* _HLS_msn */
    ingest_str_t         part;           /* _HLS_part */
    ingest_str_t         skip;           /* _HLS_skip */
} ingest_llhls_query_t;

/* what a held request waits for */
typedef struct {
    uint64_t             msn;
    uint64_t             part;
    unsigned             block:1;        /* wait for msn (and part) */
    unsigned             has_part:1;
    unsigned             skip:1;         /* a delta update is asked */
} ingest_llhls_request_t;

/*
 * Decides a playlist request, in this order:
 *   - _HLS_skip=YES or v2 asks for a delta update; any other value is
 *     ignored. A delta is served when the playlist has CAN-SKIP-UNTIL,
 *     no EXT-X-ENDLIST, no EXT-X-SKIP of its own and is long enough to
 *     skip at least one segment; otherwise the full playlist. v2 is
 *     answered as YES: date ranges are never skipped.
 *   - without CAN-BLOCK-RELOAD=YES, or with EXT-X-ENDLIST, _HLS_msn and
 *     _HLS_part are ignored (served at once);
 *   - _HLS_part without _HLS_msn: PART_WITHOUT_MSN; values that are not
 *     decimal integers (at most 2^63 - 1): BAD_MSN, BAD_PART;
 *     _HLS_part on a playlist without EXT-X-PART-INF is ignored;
 *   - msn past the last whole segment + 2: MSN_TOO_FAR;
 *   - a part more than the Advance Part Limit after the last part
 *     listed (counting at least one part for each segment between):
 *     PART_TOO_FAR;
 *   - then ingest_llhls_ready().
 * req is filled in for ingest_llhls_ready() on later playlists.
 */
ingest_llhls_rc_t ingest_llhls_decide(const ingest_llhls_playlist_t *pl,
    const ingest_llhls_query_t *q, ingest_llhls_request_t *req);

/*
 * Whether the playlist pl answers a request decided earlier: HOLD, or
 * SERVE_FULL / SERVE_DELTA (never a 400 code). A request is answered
 * when it does not block, when pl has EXT-X-ENDLIST, when msn is
 * before the first segment listed, and otherwise:
 *   msn alone:  once segment msn is whole (msn < next_msn);
 *   msn, part:  once part `part` of segment msn is listed or any later
 *               part or segment is: a part index past the last part of
 *               a whole segment means part 0 of the next segment.
 * The answered set grows with the playlist, so a request that was
 * answered stays answered.
 */
ingest_llhls_rc_t ingest_llhls_ready(const ingest_llhls_playlist_t *pl,
    const ingest_llhls_request_t *req);

/*
 * The Advance Part Limit: 3 s divided by the part target when that is
 * below 1 s (rounded down: a part count above it is above the exact
 * limit), 3 otherwise.
 */
uint64_t ingest_llhls_advance_part_limit(const ingest_llhls_playlist_t *pl);

/* how long a blocking request or a hinted file request may wait */
uint64_t ingest_llhls_hold_timeout_ms(const ingest_llhls_playlist_t *pl);


/*
 * The number of segments a delta update leaves out: leading segments
 * whose end is at least CAN-SKIP-UNTIL before the end of the playlist
 * (the last part listed), so none within the skip boundary of the end
 * is skipped. 0 without CAN-SKIP-UNTIL or in a delta update itself.
 */
size_t ingest_llhls_skip_count(const ingest_llhls_playlist_t *pl);

/*
 * Writes the delta update of the playlist buf (the bytes pl was parsed
 * from): the skipped segments' URI lines and media segment tags
 * (EXTINF, EXT-X-PART, EXT-X-PROGRAM-DATE-TIME, EXT-X-DISCONTINUITY,
 * unknown tags, comments, ...) are replaced by one
 * "#EXT-X-SKIP:SKIPPED-SEGMENTS=n" line where the first of them was;
 * playlist tags, EXT-X-DATERANGE, and EXT-X-MAP, EXT-X-KEY and
 * EXT-X-BITRATE (they apply to the segments after them) stay, so do
 * all other lines. EXT-X-VERSION is raised to 9 (or added after
 * #EXTM3U). Returns the delta's length; out is written only when it is
 * not NULL and cap is at least that length (call with NULL to size).
 * Returns 0 when there is no delta to serve: no segment to skip, or
 * EXT-X-ENDLIST.
 */
size_t ingest_llhls_delta(const unsigned char *buf,
    const ingest_llhls_playlist_t *pl, unsigned char *out, size_t cap);


/*
 * A request for a file next to the playlist, name as the URIs in the
 * playlist write it (relative to the playlist, e.g. "part12.m4s"),
 * compared byte for byte: LISTED when a segment URI, EXT-X-PART or
 * EXT-X-MAP names it, PRELOAD_HINTED when only an EXT-X-PRELOAD-HINT
 * does (and the playlist has no EXT-X-ENDLIST), UNKNOWN otherwise.
 */
ingest_llhls_rc_t ingest_llhls_file(const unsigned char *buf,
    const ingest_llhls_playlist_t *pl, const unsigned char *name,
    size_t len);


#endif /* _INGEST_LLHLS_H_INCLUDED_ */
