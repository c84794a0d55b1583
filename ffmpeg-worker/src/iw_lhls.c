
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_lhls.h"

#include <string.h>


void
iw_cut_init(iw_cut_t *c, int64_t part_target, int64_t seg_target,
    int video)
{
    memset(c, 0, sizeof(iw_cut_t));

    c->part_target = part_target;
    c->seg_target = seg_target;
    c->origin = INT64_MIN;
    c->video = video ? 1 : 0;
}


/*
 * The length of the parts from start to the next boundary: the span in
 * whole packets of dur, split into as few parts as the target allows,
 * each as long as the others (rounded up to a whole packet).
 */

static int64_t
iw_cut_balance(iw_cut_t *c, int64_t start, int64_t dur)
{
    int64_t  span, frames, per_part, nparts;

    span = c->next_seg - start;

    if (dur <= 0 || dur > c->part_target || span <= 0) {
        return c->part_target;
    }

    /* whole packets, a quarter packet of rounding forgiven */
    frames = (span - dur / 4 + dur - 1) / dur;

    if (frames < 1) {
        frames = 1;
    }

    per_part = c->part_target / dur;
    nparts = (frames + per_part - 1) / per_part;

    return (frames + nparts - 1) / nparts * dur;
}


unsigned
iw_cut_packet(iw_cut_t *c, int64_t us, int64_t dur, int key)
{
    int64_t  limit;

    if (c->origin == INT64_MIN) {
        c->origin = us;
        c->part_start = us;
        c->next_seg = us + c->seg_target;
        c->part_len = iw_cut_balance(c, us, dur);
        c->npackets = 1;

        return IW_CUT_NONE;
    }

    if ((key || !c->video) && us >= c->next_seg) {
        while (c->next_seg <= us) {
            c->next_seg += c->seg_target;
        }

        c->part_start = us;
        c->part_len = iw_cut_balance(c, us, dur);
        c->npackets = 1;

        return IW_CUT_SEGMENT;
    }

    /*
     * Past the boundary a video segment waits for its keyframe: the
     * parts go on at the target. A balanced length is whole packets, so
     * a quarter packet of slack absorbs the rounding of timestamps
     * without letting one more packet in; it never reaches past the
     * target, so irregular timestamps (a gap, jitter) cannot make a part
     * longer than that.
     */

    if (us >= c->next_seg) {
        c->part_len = c->part_target;
    }

    limit = c->part_len + ((c->part_len < c->part_target) ? dur / 4 : 0);

    if (limit > c->part_target) {
        limit = c->part_target;
    }

    if (c->npackets != 0 && us + dur - c->part_start > limit) {
        c->part_start = us;
        c->npackets = 1;

        return IW_CUT_PART;
    }

    c->npackets++;

    return IW_CUT_NONE;
}


void
iw_jump_init(iw_jump_t *j)
{
    j->last = INT64_MIN;
    j->next = INT64_MIN;
}


int64_t
iw_jump_check(iw_jump_t *j, int64_t us, int64_t dur, int64_t max_gap)
{
    int64_t  fix;

    fix = 0;

    if (j->last != INT64_MIN && (us <= j->last || us - j->next > max_gap)) {
        fix = j->next - us;
    }

    j->last = us + fix;
    j->next = j->last + (dur > 0 ? dur : 1);

    return fix;
}


int
iw_live_header(const char *line, size_t len, char *name, size_t cap)
{
    char    c;
    size_t  i, n;

    if (len < 8 || memcmp(line, "stream ", 7) != 0 || line[len - 1] != '\n')
    {
        return -1;
    }

    len--;

    if (line[len - 1] == '\r') {
        len--;
    }

    n = len - 7;

    if (n == 0 || n > IW_LIVE_NAME_LEN || n >= cap) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        c = line[7 + i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            return -1;
        }

        name[i] = c;
    }

    name[n] = '\0';

    return 0;
}
