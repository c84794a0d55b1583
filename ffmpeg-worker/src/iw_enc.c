
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_enc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include <libavutil/channel_layout.h>
#include <libavutil/log.h>


#define IW_ENC_TEST_FPS     30


static int iw_enc_check_profile(const iw_conf_t *conf,
    const iw_profile_t *prof, const char *file, char *err, size_t errlen);
static int iw_enc_try_x264(const iw_profile_t *prof, unsigned height,
    uint64_t bitrate, uint64_t maxrate, unsigned segment_ms, unsigned live);
static int iw_enc_error(char *err, size_t errlen, const char *file,
    unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));


int
iw_enc_ladder_graph(AVFilterGraph **graph, const AVFrame *frame,
    AVRational tb, AVRational fps, const char *turn,
    const iw_ladder_rung_t *rungs, unsigned n, AVFilterContext **src,
    AVFilterContext **sinks)
{
    int              rc;
    char             args[512], *desc, name[16];
    size_t           len;
    unsigned         i;
    AVFilterInOut   *inputs, *outputs, *io, *last;
    const AVFilter  *fsrc, *fsink;

    *graph = avfilter_graph_alloc();
    if (*graph == NULL) {
        return AVERROR(ENOMEM);
    }

    fsrc = avfilter_get_by_name("buffer");
    fsink = avfilter_get_by_name("buffersink");

    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:"
             "pixel_aspect=%d/%d:frame_rate=%d/%d",
             frame->width, frame->height, frame->format, tb.num, tb.den,
             frame->sample_aspect_ratio.num > 0
             ? frame->sample_aspect_ratio.num : 1,
             frame->sample_aspect_ratio.den > 0
             ? frame->sample_aspect_ratio.den : 1,
             fps.num, fps.den);

    rc = avfilter_graph_create_filter(src, fsrc, "in", args, NULL, *graph);
    if (rc < 0) {
        return rc;
    }

    len = 256 + n * 128;
    desc = malloc(len);
    if (desc == NULL) {
        return AVERROR(ENOMEM);
    }

    rc = snprintf(desc, len, "[in]%ssplit=%u", turn, n);

    for (i = 0; i < n; i++) {
        rc += snprintf(desc + rc, len - rc, "[s%u]", i);
    }

    for (i = 0; i < n; i++) {
        rc += snprintf(desc + rc, len - rc,
                       ";[s%u]scale=%u:%u:flags=bicubic,setsar=1,"
                       "format=yuv420p[out%u]", i, rungs[i].width,
                       rungs[i].height, i);
    }

    outputs = avfilter_inout_alloc();
    inputs = NULL;
    last = NULL;

    if (outputs == NULL) {
        free(desc);
        return AVERROR(ENOMEM);
    }

    outputs->name = av_strdup("in");
    outputs->filter_ctx = *src;
    outputs->pad_idx = 0;
    outputs->next = NULL;

    rc = 0;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "out%u", i);

        rc = avfilter_graph_create_filter(&sinks[i], fsink, name, NULL,
                                          NULL, *graph);
        if (rc < 0) {
            break;
        }

        io = avfilter_inout_alloc();
        if (io == NULL) {
            rc = AVERROR(ENOMEM);
            break;
        }

        io->name = av_strdup(name);
        io->filter_ctx = sinks[i];
        io->pad_idx = 0;
        io->next = NULL;

        if (last == NULL) {
            inputs = io;
        } else {
            last->next = io;
        }

        last = io;
    }

    if (rc >= 0) {
        rc = avfilter_graph_parse_ptr(*graph, desc, &inputs, &outputs,
                                      NULL);
    }

    free(desc);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);

    if (rc >= 0) {
        rc = avfilter_graph_config(*graph, NULL);
    }

    return rc < 0 ? rc : 0;
}


int
iw_enc_x264(const iw_profile_t *prof, const iw_enc_video_t *v,
    AVCodecContext **enc)
{
    int              rc;
    char             tune[IW_NAME_LEN * 2];
    AVDictionary    *opts;
    const AVCodec   *codec;
    AVCodecContext  *c;

    *enc = NULL;

    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        return AVERROR_ENCODER_NOT_FOUND;
    }

    c = avcodec_alloc_context3(codec);
    if (c == NULL) {
        return AVERROR(ENOMEM);
    }

    *enc = c;

    c->width = (int) v->width;
    c->height = (int) v->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->sample_aspect_ratio = av_make_q(1, 1);
    c->time_base = v->time_base;
    c->framerate = v->framerate;
    c->bit_rate = (int64_t) v->bitrate;
    c->rc_max_rate = (int64_t) v->maxrate;
    /* live: one second of buffer, the length of a segment */
    c->rc_buffer_size = (int) (v->live ? v->maxrate : v->maxrate * 2);
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->thread_count = v->threads;

    if (v->color != NULL) {
        c->color_range = v->color->color_range;
        c->color_primaries = v->color->color_primaries;
        c->color_trc = v->color->color_trc;
        c->colorspace = v->color->colorspace;
    }

    /* keyframes come where we force them: at segment boundaries */
    c->gop_size = 2 * (int) ((int64_t) v->segment_ms * v->framerate.num
                             / v->framerate.den / 1000 + 1);

    /* live: frames leave the encoder as they enter (no B-frames) */

    tune[0] = '\0';

    if (v->live && strstr(prof->tune, "zerolatency") == NULL) {
        snprintf(tune, sizeof(tune), "%s%szerolatency", prof->tune,
                 prof->tune[0] != '\0' ? "," : "");

    } else {
        snprintf(tune, sizeof(tune), "%s", prof->tune);
    }

    opts = NULL;
    av_dict_set(&opts, "preset", prof->preset, 0);

    if (tune[0] != '\0') {
        av_dict_set(&opts, "tune", tune, 0);
    }

    if (prof->h264_profile[0] != '\0') {
        av_dict_set(&opts, "profile", prof->h264_profile, 0);
    }

    av_dict_set(&opts, "forced-idr", "1", 0);
    av_dict_set(&opts, "x264-params", "scenecut=0:open-gop=0", 0);

    rc = avcodec_open2(c, codec, &opts);
    av_dict_free(&opts);

    return rc < 0 ? rc : 0;
}


int
iw_enc_aac(const iw_profile_t *prof, AVRational time_base,
    AVCodecContext **enc)
{
    int              rc;
    const AVCodec   *codec;
    AVCodecContext  *c;

    *enc = NULL;

    codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (codec == NULL) {
        return AVERROR_ENCODER_NOT_FOUND;
    }

    c = avcodec_alloc_context3(codec);
    if (c == NULL) {
        return AVERROR(ENOMEM);
    }

    *enc = c;

    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->sample_rate = (int) prof->audio_rate;
    av_channel_layout_default(&c->ch_layout, (int) prof->audio_channels);
    c->bit_rate = (int64_t) prof->audio_bitrate;
    c->time_base = time_base;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    rc = avcodec_open2(c, codec, NULL);

    return rc < 0 ? rc : 0;
}


int
iw_enc_check(const iw_conf_t *conf, const char *file, char *err,
    size_t errlen)
{
    int       rc, level;
    unsigned  i;

    /* libx264 would tell its story on stderr; ours is shorter */

    level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET);

    rc = 0;

    for (i = 0; i < conf->nprofiles && rc == 0; i++) {
        rc = iw_enc_check_profile(conf, &conf->profiles[i], file, err,
                                  errlen);
    }

    av_log_set_level(level);

    return rc;
}


static int
iw_enc_check_profile(const iw_conf_t *conf, const iw_profile_t *prof,
    const char *file, char *err, size_t errlen)
{
    int               rc, ok;
    char              list[256];
    size_t            n;
    unsigned          i, line;
    iw_profile_t      probe;
    AVCodecContext   *enc;
    const AVCodec    *codec;
    const iw_rung_t  *r;
    const int        *rate;

    if (avcodec_find_encoder_by_name("libx264") == NULL) {
        return iw_enc_error(err, errlen, file, prof->lines.block,
                            "libavcodec has no libx264 (profile \"%s\")",
                            prof->name);
    }

    /*
     * One setting at a time, in the order they build on each other, so
     * that a refusal points at the line to fix: the preset alone, then
     * the tune, then the H.264 profile, at a size and rates that are
     * known to be good; then every rung as it is.
     */

    probe = *prof;
    probe.tune[0] = '\0';
    probe.h264_profile[0] = '\0';

    if (iw_enc_try_x264(&probe, 360, 600000, 800000, prof->segment_ms, 0)
        != 0)
    {
        line = prof->lines.preset ? prof->lines.preset : prof->lines.block;
        return iw_enc_error(err, errlen, file, line,
                            "libx264 does not accept preset \"%s\" "
                            "(profile \"%s\")", prof->preset, prof->name);
    }

    memcpy(probe.tune, prof->tune, sizeof(probe.tune));

    if (probe.tune[0] != '\0'
        && iw_enc_try_x264(&probe, 360, 600000, 800000, prof->segment_ms,
                           0) != 0)
    {
        return iw_enc_error(err, errlen, file, prof->lines.tune,
                            "libx264 does not accept tune \"%s\" "
                            "(profile \"%s\")", prof->tune, prof->name);
    }

    memcpy(probe.h264_profile, prof->h264_profile,
           sizeof(probe.h264_profile));

    if (probe.h264_profile[0] != '\0'
        && iw_enc_try_x264(&probe, 360, 600000, 800000, prof->segment_ms,
                           0) != 0)
    {
        return iw_enc_error(err, errlen, file, prof->lines.h264_profile,
                            "libx264 does not accept h264_profile \"%s\" "
                            "with preset \"%s\"%s%s (profile \"%s\")",
                            prof->h264_profile, prof->preset,
                            prof->tune[0] ? " and tune " : "", prof->tune,
                            prof->name);
    }

    for (i = 0; i < prof->nrungs; i++) {
        r = &prof->rungs[i];

        if (iw_enc_try_x264(prof, r->height, r->bitrate, r->maxrate,
                            prof->segment_ms, 0)
            != 0)
        {
            line = r->line ? r->line : prof->lines.block;
            return iw_enc_error(err, errlen, file, line,
                                "libx264 does not accept the %up rung at "
                                "%llu/%llu bits/s (profile \"%s\")",
                                r->height,
                                (unsigned long long) r->bitrate,
                                (unsigned long long) r->maxrate,
                                prof->name);
        }
    }

    /* live transcoding: the same rungs, without encoder delay */

    if (conf->live_transcode && strcmp(prof->name, conf->live_profile) == 0)
    {
        for (i = 0; i < prof->nrungs; i++) {
            r = &prof->rungs[i];

            if (iw_enc_try_x264(prof, r->height, r->bitrate, r->maxrate,
                                conf->live_segment_ms, 1)
                != 0)
            {
                line = conf->live_profile_line ? conf->live_profile_line
                                               : conf->live_transcode_line;
                return iw_enc_error(err, errlen, file, line,
                                    "libx264 does not accept the %up rung "
                                    "of profile \"%s\" for live "
                                    "transcoding (tune \"%s%szerolatency\")",
                                    r->height, prof->name, prof->tune,
                                    prof->tune[0] != '\0' ? "," : "");
            }
        }
    }

    /* the AAC encoder: its sample rates are a fixed list */

    codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (codec == NULL) {
        return iw_enc_error(err, errlen, file, prof->lines.block,
                            "libavcodec has no AAC encoder");
    }

    ok = codec->supported_samplerates == NULL;

    for (rate = codec->supported_samplerates; rate != NULL && *rate != 0;
         rate++)
    {
        if ((unsigned) *rate == prof->audio_rate) {
            ok = 1;
        }
    }

    if (!ok) {
        n = 0;
        list[0] = '\0';

        for (rate = codec->supported_samplerates;
             *rate != 0 && n < sizeof(list) - 16;
             rate++)
        {
            n += snprintf(list + n, sizeof(list) - n, "%s%d",
                          n != 0 ? ", " : "", *rate);
        }

        line = prof->lines.audio_rate ? prof->lines.audio_rate
                                      : prof->lines.block;
        return iw_enc_error(err, errlen, file, line,
                            "the AAC encoder does not support audio_rate "
                            "%u, only %s (profile \"%s\")",
                            prof->audio_rate, list, prof->name);
    }

    rc = iw_enc_aac(prof, av_make_q(1, (int) prof->audio_rate), &enc);
    avcodec_free_context(&enc);

    if (rc != 0) {
        line = prof->lines.audio_bitrate ? prof->lines.audio_bitrate
               : prof->lines.audio_channels ? prof->lines.audio_channels
               : prof->lines.block;
        return iw_enc_error(err, errlen, file, line,
                            "the AAC encoder does not accept %u channel(s) "
                            "at %llu bits/s and %u Hz (profile \"%s\")",
                            prof->audio_channels,
                            (unsigned long long) prof->audio_bitrate,
                            prof->audio_rate, prof->name);
    }

    return 0;
}


/* opens and closes libx264 for one rung of 16:9; 0 or an AVERROR */

static int
iw_enc_try_x264(const iw_profile_t *prof, unsigned height, uint64_t bitrate,
    uint64_t maxrate, unsigned segment_ms, unsigned live)
{
    int              rc;
    AVCodecContext  *enc;
    iw_enc_video_t   v;

    memset(&v, 0, sizeof(v));

    v.width = (height * 16 / 9 + 1) & ~1u;
    v.height = height;
    v.bitrate = bitrate;
    v.maxrate = maxrate;
    v.time_base = av_make_q(1, 90000);
    v.framerate = av_make_q(IW_ENC_TEST_FPS, 1);
    v.segment_ms = segment_ms;
    v.threads = 1;
    v.live = live;

    rc = iw_enc_x264(prof, &v, &enc);
    avcodec_free_context(&enc);

    return rc;
}


static int
iw_enc_error(char *err, size_t errlen, const char *file, unsigned line,
    const char *fmt, ...)
{
    int      n;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(err, errlen, fmt, args);
    va_end(args);

    if (n >= 0 && (size_t) n < errlen) {
        if (file != NULL && line != 0) {
            snprintf(err + n, errlen - n, " in %s:%u", file, line);

        } else {
            snprintf(err + n, errlen - n, " in the built-in defaults");
        }
    }

    return -1;
}
