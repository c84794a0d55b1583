
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


unsigned
iw_cut_packet(iw_cut_t *c, int64_t us, int64_t dur, int key)
{
    if (c->origin == INT64_MIN) {
        c->origin = us;
        c->part_start = us;
        c->next_seg = us + c->seg_target;
        c->npackets = 1;

        return IW_CUT_NONE;
    }

    if ((key || !c->video) && us >= c->next_seg) {
        while (c->next_seg <= us) {
            c->next_seg += c->seg_target;
        }

        c->part_start = us;
        c->npackets = 1;

        return IW_CUT_SEGMENT;
    }

    if (c->npackets != 0 && us + dur - c->part_start > c->part_target) {
        c->part_start = us;
        c->npackets = 1;

        return IW_CUT_PART;
    }

    c->npackets++;

    return IW_CUT_NONE;
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
