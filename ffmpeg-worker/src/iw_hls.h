
/*
 * Copyright (C) nginx video ingest developers
 *
 * HLS playlist writer (RFC 8216bis), pure C: media playlists for VOD and
 * for live with Low-Latency HLS (partial segments, preload hints,
 * blocking reload, playlist delta updates, rendition reports), and
 * master playlists. Durations are integers in microseconds, times in
 * unix milliseconds, so the output is exact and testable.
 */


#ifndef _IW_HLS_H_INCLUDED_
#define _IW_HLS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define IW_HLS_LIVE         0
#define IW_HLS_EVENT        1
#define IW_HLS_VOD          2


typedef struct {
    int64_t              duration;      /* us */
    const char          *uri;
    unsigned             independent:1; /* starts with a keyframe */
} iw_hls_part_t;


typedef struct {
    int64_t              duration;      /* us */
    const char          *uri;
    int64_t              pdt;           /* unix ms of the first sample,
                                           -1: no EXT-X-PROGRAM-DATE-TIME */
    const iw_hls_part_t *parts;
    unsigned             nparts;
    unsigned             discontinuity:1;
} iw_hls_segment_t;


typedef struct {
    const char          *uri;
    uint64_t             last_msn;
    int                  last_part;     /* -1: none */
} iw_hls_report_t;


typedef struct {
    unsigned             type;          /* IW_HLS_LIVE, EVENT or VOD */
    unsigned             target;        /* s, 0: from the segments */
    int64_t              part_target;   /* us, 0: not LL-HLS */
    uint64_t             media_sequence;
    const char          *map_uri;       /* EXT-X-MAP, NULL: none */
    unsigned             endlist:1;

    /* EXT-X-SERVER-CONTROL, written for LL-HLS */
    unsigned             can_block_reload:1;
    int64_t              part_hold_back;   /* us, 0: 3 x part target */
    int64_t              hold_back;        /* us, 0: not written */
    int64_t              can_skip_until;   /* us, 0: no delta updates */

    const iw_hls_segment_t *segments;
    unsigned             nsegments;

    /* parts of the segment in progress, after the last whole one */
    const iw_hls_part_t *tail;
    unsigned             ntail;
    int64_t              tail_pdt;      /* -1: none */
    const char          *preload_hint;  /* URI of the next part */

    const iw_hls_report_t *reports;
    unsigned             nreports;
} iw_hls_playlist_t;


typedef struct {
    uint64_t             bandwidth;     /* peak, bits/s */
    uint64_t             average;       /* 0: not written */
    unsigned             width;         /* 0: audio only */
    unsigned             height;
    unsigned             fps_milli;     /* frames per 1000 s, 0: none */
    const char          *codecs;
    const char          *audio;         /* EXT-X-MEDIA group, or NULL */
    const char          *uri;
} iw_hls_variant_t;


typedef struct {
    const char          *group;
    const char          *name;
    const char          *language;      /* NULL: none */
    unsigned             channels;
    unsigned             is_default:1;
    const char          *uri;
} iw_hls_audio_t;


/* the EXT-X-TARGETDURATION the segments need (at least 1) */
unsigned iw_hls_target(const iw_hls_segment_t *segs, unsigned n);

/*
 * Writes a media playlist; skip asks for a delta update (_HLS_skip=YES)
 * when the playlist allows them. Returns the length, or 0 when cap is
 * too small or the model is inconsistent (a part longer than the part
 * target, a segment longer than the target).
 */
size_t iw_hls_media(const iw_hls_playlist_t *pl, int skip, char *out,
    size_t cap);

/* writes a master playlist; 0 when cap is too small */
size_t iw_hls_master(const iw_hls_variant_t *vars, unsigned nvars,
    const iw_hls_audio_t *audio, unsigned naudio, char *out, size_t cap);

/* "2026-11-26T03:20:00.123Z"; out must hold 25 bytes */
size_t iw_hls_format_pdt(char *out, int64_t ms);


#endif /* _IW_HLS_H_INCLUDED_ */
