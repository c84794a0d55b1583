
/*
 * Copyright (C) nginx video ingest developers
 *
 * The encoders, set up in one place for the VOD pipeline, live
 * transcoding and the configuration test: libx264 with a profile's
 * preset, tune and H.264 profile, in ABR at a rung's rates, with
 * keyframes only where the caller forces them; the AAC encoder at a
 * profile's rate, channels and bitrate. "ingest-worker -t" opens every
 * encoder the configuration describes, so what libx264 or the AAC
 * encoder would refuse is found before any job runs.
 */


#ifndef _IW_ENC_H_INCLUDED_
#define _IW_ENC_H_INCLUDED_


#include "iw_conf.h"
#include "iw_ladder.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>


typedef struct {
    unsigned             width;
    unsigned             height;
    uint64_t             bitrate;       /* bits/s */
    uint64_t             maxrate;       /* bits/s */
    AVRational           time_base;
    AVRational           framerate;
    unsigned             segment_ms;    /* keyframes are forced this often */
    int                  threads;       /* 0: as many as cores */
    unsigned             live:1;        /* no encoder delay (zerolatency) */
    const AVFrame       *color;         /* colour description, or NULL */
} iw_enc_video_t;


/*
 * The video filters of a ladder, the same for VOD and live: the frames
 * of the source (described by frame, in time base tb at fps) go through
 * turn (filters before the split, "" or e.g. "transpose=clock,"), are
 * split and scaled to each rung (square pixels, yuv420p), one sink per
 * rung. Returns 0 or an AVERROR; *graph is set either way.
 */
int iw_enc_ladder_graph(AVFilterGraph **graph, const AVFrame *frame,
    AVRational tb, AVRational fps, const char *turn,
    const iw_ladder_rung_t *rungs, unsigned n, AVFilterContext **src,
    AVFilterContext **sinks);

/* opens libx264; returns 0 or an AVERROR, *enc is set either way */
int iw_enc_x264(const iw_profile_t *prof, const iw_enc_video_t *v,
    AVCodecContext **enc);

/* opens the AAC encoder (fltp); returns 0 or an AVERROR */
int iw_enc_aac(const iw_profile_t *prof, AVRational time_base,
    AVCodecContext **enc);

/*
 * Opens, in test mode, every encoder the configuration would open: each
 * profile's x264 settings at each rung (16:9), with live latency too when
 * live transcoding uses it, and its AAC settings. file names the
 * configuration in messages (NULL: built-in). Returns 0, or -1 with
 * "reason in file:line" in err.
 */
int iw_enc_check(const iw_conf_t *conf, const char *file, char *err,
    size_t errlen);


#endif /* _IW_ENC_H_INCLUDED_ */
