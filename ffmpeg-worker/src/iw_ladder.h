
/*
 * Copyright (C) nginx video ingest developers
 *
 * Pure decisions of the VOD pipeline: the ABR ladder for a source, the
 * rotation of a display matrix, whether a source fits a rung as it is
 * (pass-through), and the RFC 6381 CODECS strings of the outputs.
 */


#ifndef _IW_LADDER_H_INCLUDED_
#define _IW_LADDER_H_INCLUDED_


#include "iw_conf.h"

#include <stddef.h>
#include <stdint.h>


/* the end of one track of a VOD output, for iw_ladder_tail() */
typedef struct {
    unsigned             nsegs;
    int64_t              last_start;    /* us, the last segment's start */
    int64_t              end;           /* us, the end of its last sample */
} iw_ladder_tail_t;


typedef struct {
    unsigned             width;         /* even */
    unsigned             height;        /* even */
    unsigned             rung;          /* the rung's short side, "360" */
    uint64_t             bitrate;
    uint64_t             maxrate;
} iw_ladder_rung_t;


/*
 * The renditions for a source of w x h pixels (after rotation) with the
 * sample aspect ratio sar_num:sar_den (0: square): every rung whose short
 * side is not above the source's (never upscale), keeping the display
 * aspect with even dimensions and square pixels. A source smaller than
 * every rung gets one rendition of its own size at a bitrate scaled to
 * its pixel count. Returns the number written to out (IW_MAX_RUNGS
 * entries), 0 for an invalid size.
 */
unsigned iw_ladder(const iw_profile_t *prof, unsigned w, unsigned h,
    unsigned sar_num, unsigned sar_den, iw_ladder_rung_t *out);

/*
 * The rung index a source fits without re-encoding: square pixels, its
 * short side equal to a rung's and its bitrate (bits/s, 0: unknown) not
 * above that rung's maximum; -1 when none.
 */
int iw_ladder_fit(const iw_profile_t *prof, unsigned w, unsigned h,
    unsigned sar_num, unsigned sar_den, uint64_t bitrate);

/*
 * Whether the last segment of each track of a VOD output is merged into
 * the one before it, so that a sliver of media past the last segment
 * boundary (typically the audio running a few milliseconds past the
 * video) does not become a segment of its own: the tracks with the most
 * segments have a last segment beyond every other track's, and when the
 * media from the earliest start of those last segments to the end of
 * all is shorter than min_us, each of them is merged (all or none, so
 * that the tracks keep the same segments). Sets merge[i] to 0 or 1 and
 * returns how many are merged.
 */
unsigned iw_ladder_tail(const iw_ladder_tail_t *tracks, unsigned n,
    int64_t min_us, unsigned *merge);

/*
 * Clockwise rotation to apply for display, 0, 90, 180 or 270, from the
 * angle of a display matrix (counter-clockwise degrees, as
 * av_display_rotation_get() returns it).
 */
unsigned iw_rotation(double angle);

/* "avc1.PPCCLL" from avcC or Annex B extradata; 0 or -1 */
int iw_codec_avc1(const uint8_t *data, size_t len, char *out, size_t cap);

/* "mp4a.40.N" from an AudioSpecificConfig (len 0: AAC LC); 0 or -1 */
int iw_codec_mp4a(const uint8_t *data, size_t len, char *out, size_t cap);


#endif /* _IW_LADDER_H_INCLUDED_ */
