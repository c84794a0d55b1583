
/*
 * Copyright (C) nginx video ingest developers
 *
 * The VOD pipeline: probe, then either transcode (decode, rotate,
 * scale to every rung of the ladder, x264 with keyframes forced on the
 * segment boundaries of all renditions, AAC) or pass through a source
 * that already fits a rung, into CMAF segments, media playlists and a
 * master playlist under one output directory.
 */


#ifndef _IW_VOD_H_INCLUDED_
#define _IW_VOD_H_INCLUDED_


#include "iw_conf.h"

#include <stdint.h>


#define IW_VOD_OK           0
#define IW_VOD_ERROR        -1
#define IW_VOD_ABORTED      -2

#define IW_VOD_TRANSCODE    0
#define IW_VOD_PASSTHROUGH  1


/* progress: media time done and total (0: unknown), in us; non-zero
 * return aborts the job */
typedef int (*iw_vod_tick_pt)(void *data, int64_t done, int64_t total);


typedef struct {
    const iw_profile_t  *prof;
    const char          *source;
    const char          *outdir;        /* exists and is empty */
    iw_vod_tick_pt       tick;
    void                *data;

    /* results */
    char                 err[512];
    unsigned             permanent:1;   /* retrying cannot help */
    unsigned             mode;
    unsigned             nvideo;
    unsigned             audio:1;
    int64_t              duration;      /* us of media written */
} iw_vod_job_t;


int iw_vod_run(iw_vod_job_t *job);


#endif /* _IW_VOD_H_INCLUDED_ */
