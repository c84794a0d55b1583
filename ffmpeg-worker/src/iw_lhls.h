
/*
 * Copyright (C) nginx video ingest developers
 *
 * Pure decisions of the live LL-HLS packager: where a track's parts and
 * segments are cut, when the input's timestamps jump, and the header
 * line that names a live stream on the input socket.
 */


#ifndef _IW_LHLS_H_INCLUDED_
#define _IW_LHLS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define IW_CUT_NONE         0
#define IW_CUT_PART         1           /* a new part */
#define IW_CUT_SEGMENT      2           /* a new segment (and part) */

#define IW_LIVE_NAME_LEN    64

/* us: a gap in a stream's timestamps longer than this is a jump */
#define IW_JUMP_MAX         1000000


typedef struct {
    int64_t              part_target;   /* us */
    int64_t              seg_target;    /* us */
    int64_t              origin;        /* us, INT64_MIN: no packet yet */
    int64_t              part_start;    /* us */
    int64_t              part_len;      /* us, this segment's parts */
    int64_t              next_seg;      /* us, the next boundary */
    unsigned             npackets;      /* in the current part */
    unsigned             video:1;
} iw_cut_t;


typedef struct {
    int64_t              last;          /* us, INT64_MIN: no packet yet */
    int64_t              next;          /* us, where the next is due */
} iw_jump_t;


void iw_cut_init(iw_cut_t *c, int64_t part_target, int64_t seg_target,
    int video);

/*
 * What to cut before a packet presented at [us, us + dur): a segment at
 * the first keyframe (any frame for audio) at or after each boundary
 * (origin + k * seg_target), and parts in between. A segment's parts are
 * balanced: as few as fit the part target, of equal whole packets, so
 * no part is longer than its target (as long as no packet is) and none
 * is a sliver at the segment's end (AAC: 12+12+12+11 frames, not
 * 15+15+15+2; players stall on slivers).
 */
unsigned iw_cut_packet(iw_cut_t *c, int64_t us, int64_t dur, int key);

void iw_jump_init(iw_jump_t *j);

/*
 * The continuity of one input stream's decode timestamps: us is a
 * packet's, shifted by what earlier jumps made the caller add, dur its
 * duration. A packet at or before the stream's last one (no muxer takes
 * it), or more than max_gap after where the next one was due (a stall,
 * a publisher that started over, an MPEG-TS discontinuity), is a jump.
 * Returns the correction that puts such a packet where it was due, 0
 * for any other; the caller adds it to the shift of every stream (they
 * all jump with the source's clock), so the output goes on seamlessly
 * and in sync. Shorter gaps are kept: they are media missing.
 */
int64_t iw_jump_check(iw_jump_t *j, int64_t us, int64_t dur,
    int64_t max_gap);

/*
 * The first line on a live connection: "stream NAME" ending in "\n"
 * (optionally "\r\n"), NAME of [A-Za-z0-9_-], 1..64 bytes.
 * Returns 0 with the name, -1 when malformed.
 */
int iw_live_header(const char *line, size_t len, char *name, size_t cap);


#endif /* _IW_LHLS_H_INCLUDED_ */
