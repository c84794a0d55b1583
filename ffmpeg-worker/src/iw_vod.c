
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_vod.h"
#include "iw_enc.h"
#include "iw_files.h"
#include "iw_hls.h"
#include "iw_ladder.h"
#include "iw_log.h"
#include "iw_seg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>


/*
 * Demuxers we accept: media containers only. Playlists (hls, concat),
 * image sequences and anything that opens other URLs stay out, so a
 * crafted upload cannot make the worker read other files or the network.
 */
#define IW_VOD_FORMATS                                                        \
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,mp3,aac,"      \
    "wav,ogg,flac,asf,m4v,h264,hevc,mxf,aiff,caf,w64,amr,dv,ivf,obu,"         \
    "yuv4mpegpipe"

#define IW_VOD_AUDIO_GROUP  "aud"


typedef struct {
    AVCodecContext      *enc;
    AVFilterContext     *sink;
    iw_seg_t             seg;
    iw_ladder_rung_t     rung;
    int64_t              next_kf;       /* us */
    int64_t              frame_dur;     /* in the encoder's time base */
    char                 name[32];
    char                 codecs[32];
    unsigned             open:1;
} iw_vod_out_t;


typedef struct {
    iw_vod_job_t        *job;
    AVFormatContext     *ifmt;
    AVStream            *vst;
    AVStream            *ast;
    AVCodecContext      *vdec;
    AVCodecContext      *adec;
    AVFilterGraph       *vgraph;
    AVFilterGraph       *agraph;
    AVFilterContext     *vsrc;
    AVFilterContext     *asrc;
    AVFrame             *frame;
    AVFrame             *filt;
    AVPacket            *pkt;
    AVRational           fps;

    iw_vod_out_t         video[IW_MAX_RUNGS];
    unsigned             nvideo;
    iw_vod_out_t         audio;

    int64_t              origin;        /* us: the zero of the outputs */
    int64_t              done;          /* us */
    int64_t              total;         /* us, 0: unknown */
    unsigned             decoded;
    unsigned             passthrough:1;
    unsigned             video_ready:1;
    unsigned             audio_ready:1;
} iw_vod_t;


static int iw_vod_open_input(iw_vod_t *v);
static int iw_vod_fail(iw_vod_t *v, int permanent, int averr,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int iw_vod_passthrough_check(iw_vod_t *v);
static int iw_vod_passthrough_open(iw_vod_t *v, int rung);
static int iw_vod_open_decoder(iw_vod_t *v, AVStream *st,
    AVCodecContext **ctx);
static int iw_vod_video_init(iw_vod_t *v, const AVFrame *frame);
static int iw_vod_audio_init(iw_vod_t *v, const AVFrame *frame);
static int iw_vod_video_packet(iw_vod_t *v, const AVPacket *pkt);
static int iw_vod_audio_packet(iw_vod_t *v, const AVPacket *pkt);
static int iw_vod_video_frame(iw_vod_t *v, AVFrame *frame);
static int iw_vod_audio_frame(iw_vod_t *v, AVFrame *frame);
static int iw_vod_encode(iw_vod_t *v, iw_vod_out_t *out, AVFrame *frame);
static int iw_vod_copy(iw_vod_t *v, iw_vod_out_t *out, AVStream *st,
    AVPacket *pkt);
static int iw_vod_flush(iw_vod_t *v);
static int iw_vod_tail(iw_vod_t *v);
static int iw_vod_master(iw_vod_t *v);
static int iw_vod_out_open(iw_vod_t *v, iw_vod_out_t *out,
    const AVCodecParameters *par, AVRational tb);
static void iw_vod_cleanup(iw_vod_t *v);


int
iw_vod_run(iw_vod_job_t *job)
{
    int        rc, fit;
    iw_vod_t  *v;

    v = calloc(1, sizeof(iw_vod_t));
    if (v == NULL) {
        snprintf(job->err, sizeof(job->err), "out of memory");
        return IW_VOD_ERROR;
    }

    v->job = job;
    job->err[0] = '\0';
    job->permanent = 0;

    v->frame = av_frame_alloc();
    v->filt = av_frame_alloc();
    v->pkt = av_packet_alloc();

    if (v->frame == NULL || v->filt == NULL || v->pkt == NULL) {
        rc = iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
        goto done;
    }

    rc = iw_vod_open_input(v);
    if (rc != IW_VOD_OK) {
        goto done;
    }

    fit = iw_vod_passthrough_check(v);

    if (fit >= 0) {
        rc = iw_vod_passthrough_open(v, fit);
        if (rc != IW_VOD_OK) {
            goto done;
        }

    } else {
        if (v->vst != NULL
            && iw_vod_open_decoder(v, v->vst, &v->vdec) != IW_VOD_OK)
        {
            rc = IW_VOD_ERROR;
            goto done;
        }

        if (v->ast != NULL
            && iw_vod_open_decoder(v, v->ast, &v->adec) != IW_VOD_OK)
        {
            rc = IW_VOD_ERROR;
            goto done;
        }
    }

    /* the read loop */

    for ( ;; ) {
        rc = av_read_frame(v->ifmt, v->pkt);

        if (rc == AVERROR_EOF) {
            break;
        }

        if (rc < 0) {
            rc = iw_vod_fail(v, 0, rc, "cannot read the source");
            goto done;
        }

        rc = IW_VOD_OK;

        if (v->vst != NULL && v->pkt->stream_index == v->vst->index) {
            rc = v->passthrough
                 ? iw_vod_copy(v, &v->video[0], v->vst, v->pkt)
                 : iw_vod_video_packet(v, v->pkt);

        } else if (v->ast != NULL
                   && v->pkt->stream_index == v->ast->index)
        {
            rc = v->passthrough
                 ? iw_vod_copy(v, &v->audio, v->ast, v->pkt)
                 : iw_vod_audio_packet(v, v->pkt);
        }

        av_packet_unref(v->pkt);

        if (rc != IW_VOD_OK) {
            goto done;
        }

        if (job->tick != NULL && job->tick(job->data, v->done, v->total)) {
            rc = IW_VOD_ABORTED;
            snprintf(job->err, sizeof(job->err), "stopped");
            goto done;
        }
    }

    rc = iw_vod_flush(v);
    if (rc != IW_VOD_OK) {
        goto done;
    }

    rc = iw_vod_master(v);

done:

    iw_vod_cleanup(v);
    free(v);

    return rc;
}


static int
iw_vod_open_input(iw_vod_t *v)
{
    int            rc, vi, ai;
    const char    *name;
    AVDictionary  *opts;

    v->ifmt = avformat_alloc_context();
    if (v->ifmt == NULL) {
        return iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
    }

    v->ifmt->format_whitelist = av_strdup(IW_VOD_FORMATS);
    v->ifmt->protocol_whitelist = av_strdup("file");

    opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);

    rc = avformat_open_input(&v->ifmt, v->job->source, NULL, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        v->ifmt = NULL;

        if (rc == AVERROR(ENOENT)) {
            return iw_vod_fail(v, 1, rc, "source \"%s\" not found",
                               v->job->source);
        }

        if (rc == AVERROR_INVALIDDATA || rc == AVERROR(EINVAL)
            || rc == AVERROR_DEMUXER_NOT_FOUND)
        {
            return iw_vod_fail(v, 1, rc, "not an audio or video file");
        }

        return iw_vod_fail(v, 0, rc, "cannot open the source");
    }

    rc = avformat_find_stream_info(v->ifmt, NULL);
    if (rc < 0) {
        return iw_vod_fail(v, 1, rc, "cannot probe the source");
    }

    vi = av_find_best_stream(v->ifmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    ai = av_find_best_stream(v->ifmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);

    /* cover art of an audio file is not video */

    if (vi >= 0
        && (v->ifmt->streams[vi]->disposition & AV_DISPOSITION_ATTACHED_PIC))
    {
        vi = -1;
    }

    if (vi >= 0 && v->ifmt->streams[vi]->codecpar->width < 2) {
        vi = -1;
    }

    v->vst = vi >= 0 ? v->ifmt->streams[vi] : NULL;
    v->ast = ai >= 0 ? v->ifmt->streams[ai] : NULL;

    name = v->ifmt->iformat->name;

    if (v->vst == NULL && v->ast == NULL) {
        return iw_vod_fail(v, 1, 0, "no audio or video stream in the "
                           "source (format %s)", name);
    }

    if (v->ifmt->duration > 0) {
        v->total = v->ifmt->duration;
    }

    v->origin = v->ifmt->start_time != AV_NOPTS_VALUE
                ? v->ifmt->start_time : 0;

    v->fps = v->vst != NULL ? av_guess_frame_rate(v->ifmt, v->vst, NULL)
                            : av_make_q(0, 1);

    if (v->fps.num <= 0 || v->fps.den <= 0
        || av_cmp_q(v->fps, av_make_q(240, 1)) > 0)
    {
        v->fps = av_make_q(30, 1);
    }

    iw_log(IW_LOG_INFO, "source \"%s\": %s, video %s, audio %s, %.3f s",
           v->job->source, name,
           v->vst ? avcodec_get_name(v->vst->codecpar->codec_id) : "none",
           v->ast ? avcodec_get_name(v->ast->codecpar->codec_id) : "none",
           v->total / 1e6);

    return IW_VOD_OK;
}


/*
 * The source fits a rung as it is: H.264 8-bit 4:2:0 in the rung's size
 * and bitrate, not rotated, keyframes at most a segment apart, and AAC
 * audio with its config (or none). Returns the rung, or -1.
 */

static int
iw_vod_passthrough_check(iw_vod_t *v)
{
    int                 rung, rc;
    size_t              sdsize;
    int64_t             last, gap, us, maxgap, first, end;
    uint64_t            bytes, bitrate;
    uint8_t            *sd;
    AVPacket           *pkt;
    AVFormatContext    *f;
    AVDictionary       *opts;
    AVCodecParameters  *par;
    const iw_profile_t *prof;

    prof = v->job->prof;

    if (!prof->passthrough || v->vst == NULL) {
        return -1;
    }

    par = v->vst->codecpar;

    if (par->codec_id != AV_CODEC_ID_H264
        || (par->format != AV_PIX_FMT_YUV420P
            && par->format != AV_PIX_FMT_YUVJ420P)
        || par->extradata_size == 0)
    {
        return -1;
    }

    sd = av_stream_get_side_data(v->vst, AV_PKT_DATA_DISPLAYMATRIX, &sdsize);
    if (sd != NULL && sdsize >= 9 * sizeof(int32_t)
        && iw_rotation(av_display_rotation_get((int32_t *) sd)) != 0)
    {
        return -1;
    }

    if (v->ast != NULL
        && (v->ast->codecpar->codec_id != AV_CODEC_ID_AAC
            || v->ast->codecpar->extradata_size == 0
            || v->ast->codecpar->ch_layout.nb_channels > 2))
    {
        return -1;
    }

    /* a demux-only pass: keyframe spacing and the real bitrate */

    f = avformat_alloc_context();
    pkt = av_packet_alloc();

    if (f == NULL || pkt == NULL) {
        avformat_free_context(f);
        av_packet_free(&pkt);
        return -1;
    }

    f->format_whitelist = av_strdup(IW_VOD_FORMATS);
    opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);

    rc = avformat_open_input(&f, v->job->source, NULL, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        av_packet_free(&pkt);
        return -1;
    }

    last = AV_NOPTS_VALUE;
    first = AV_NOPTS_VALUE;
    end = 0;
    maxgap = 0;
    bytes = 0;

    while (av_read_frame(f, pkt) >= 0) {
        if (pkt->stream_index != v->vst->index || pkt->pts == AV_NOPTS_VALUE)
        {
            av_packet_unref(pkt);
            continue;
        }

        us = av_rescale_q(pkt->pts, f->streams[pkt->stream_index]->time_base,
                          AV_TIME_BASE_Q);

        if (first == AV_NOPTS_VALUE || us < first) {
            first = us;
        }

        if (us > end) {
            end = us;
        }

        bytes += pkt->size;

        if (pkt->flags & AV_PKT_FLAG_KEY) {
            if (last != AV_NOPTS_VALUE) {
                gap = us - last;
                if (gap > maxgap) {
                    maxgap = gap;
                }
            }

            last = us;
        }

        av_packet_unref(pkt);
    }

    if (last != AV_NOPTS_VALUE && end - last > maxgap) {
        /* the last GOP counts too */
        maxgap = end - last;
    }

    avformat_close_input(&f);
    av_packet_free(&pkt);

    if (first == AV_NOPTS_VALUE || end <= first || last == AV_NOPTS_VALUE
        || maxgap > (int64_t) prof->segment_ms * 1000)
    {
        return -1;
    }

    bitrate = bytes * 8 * 1000000 / (uint64_t) (end - first);

    rung = iw_ladder_fit(prof, par->width, par->height,
                         par->sample_aspect_ratio.num,
                         par->sample_aspect_ratio.den, bitrate);

    if (rung >= 0) {
        iw_log(IW_LOG_INFO, "source fits the %up rung (%llu bits/s, "
               "keyframes at most %lld ms apart): pass-through",
               prof->rungs[rung].height, (unsigned long long) bitrate,
               (long long) (maxgap / 1000));
    }

    return rung;
}


static int
iw_vod_passthrough_open(iw_vod_t *v, int rung)
{
    iw_vod_out_t        *out;
    AVCodecParameters   *par;
    const iw_profile_t  *prof;

    prof = v->job->prof;
    par = v->vst->codecpar;

    v->passthrough = 1;
    v->nvideo = 1;

    out = &v->video[0];
    out->rung.width = par->width;
    out->rung.height = par->height;
    out->rung.rung = prof->rungs[rung].height;
    out->rung.bitrate = prof->rungs[rung].bitrate;
    out->rung.maxrate = prof->rungs[rung].maxrate;

    snprintf(out->name, sizeof(out->name), "%up", out->rung.rung);

    if (iw_codec_avc1(par->extradata, par->extradata_size, out->codecs,
                      sizeof(out->codecs)) != 0)
    {
        return iw_vod_fail(v, 1, 0, "no H.264 parameter sets");
    }

    out->frame_dur = av_rescale_q(1, av_inv_q(v->fps), v->vst->time_base);

    if (iw_vod_out_open(v, out, par, v->vst->time_base) != IW_VOD_OK) {
        return IW_VOD_ERROR;
    }

    v->job->mode = IW_VOD_PASSTHROUGH;

    if (v->ast != NULL) {
        out = &v->audio;
        par = v->ast->codecpar;

        snprintf(out->name, sizeof(out->name), "audio");

        if (iw_codec_mp4a(par->extradata, par->extradata_size, out->codecs,
                          sizeof(out->codecs)) != 0)
        {
            return iw_vod_fail(v, 1, 0, "invalid AAC configuration");
        }

        out->frame_dur = av_rescale_q(1024, av_make_q(1, par->sample_rate),
                                      v->ast->time_base);

        if (iw_vod_out_open(v, out, par, v->ast->time_base) != IW_VOD_OK) {
            return IW_VOD_ERROR;
        }
    }

    return IW_VOD_OK;
}


static int
iw_vod_open_decoder(iw_vod_t *v, AVStream *st, AVCodecContext **ctx)
{
    int             rc;
    const AVCodec  *codec;

    codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == NULL) {
        return iw_vod_fail(v, 1, 0, "no decoder for %s",
                           avcodec_get_name(st->codecpar->codec_id));
    }

    *ctx = avcodec_alloc_context3(codec);
    if (*ctx == NULL) {
        return iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
    }

    rc = avcodec_parameters_to_context(*ctx, st->codecpar);
    if (rc < 0) {
        return iw_vod_fail(v, 1, rc, "bad codec parameters");
    }

    (*ctx)->pkt_timebase = st->time_base;
    (*ctx)->thread_count = 0;

    rc = avcodec_open2(*ctx, codec, NULL);
    if (rc < 0) {
        return iw_vod_fail(v, 1, rc, "cannot open the %s decoder",
                           codec->name);
    }

    return IW_VOD_OK;
}


/* the filter graph, the ladder and the encoders, from the first frame */

static int
iw_vod_video_init(iw_vod_t *v, const AVFrame *frame)
{
    int                  rc, w, h;
    size_t               sdsize;
    uint8_t             *sd;
    unsigned             i, rot, n;
    const char          *turn;
    AVRational           tb;
    iw_vod_out_t        *out;
    AVCodecContext      *enc;
    iw_enc_video_t       ev;
    AVFilterContext     *sinks[IW_MAX_RUNGS];
    iw_ladder_rung_t     rungs[IW_MAX_RUNGS];
    AVCodecParameters   *par;
    const iw_profile_t  *prof;

    prof = v->job->prof;

    rot = 0;
    sd = av_stream_get_side_data(v->vst, AV_PKT_DATA_DISPLAYMATRIX, &sdsize);
    if (sd != NULL && sdsize >= 9 * sizeof(int32_t)) {
        rot = iw_rotation(av_display_rotation_get((int32_t *) sd));
    }

    w = frame->width;
    h = frame->height;

    if (rot == 90 || rot == 270) {
        w = frame->height;
        h = frame->width;
    }

    n = iw_ladder(prof, w, h, frame->sample_aspect_ratio.num,
                  frame->sample_aspect_ratio.den, rungs);
    if (n == 0) {
        return iw_vod_fail(v, 1, 0, "unsupported picture size %dx%d", w, h);
    }

    iw_log(IW_LOG_INFO, "video %dx%d rotated %u, %d/%d fps: %u rendition(s)",
           frame->width, frame->height, rot, v->fps.num, v->fps.den, n);

    /* in -> [rotate] -> split -> scale per rung -> sink per rung */

    turn = rot == 90 ? "transpose=clock,"
           : rot == 180 ? "hflip,vflip,"
           : rot == 270 ? "transpose=cclock," : "";

    for (i = 0; i < n; i++) {
        out = &v->video[i];
        out->rung = rungs[i];
        snprintf(out->name, sizeof(out->name), "%up", rungs[i].rung);
    }

    v->nvideo = n;

    rc = iw_enc_ladder_graph(&v->vgraph, frame, v->vst->time_base, v->fps,
                             turn, rungs, n, &v->vsrc, sinks);
    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "cannot build the video filters");
    }

    for (i = 0; i < n; i++) {
        v->video[i].sink = sinks[i];
    }

    memset(&ev, 0, sizeof(ev));
    ev.framerate = v->fps;
    ev.segment_ms = prof->segment_ms;
    ev.color = frame;

    for (i = 0; i < n; i++) {
        out = &v->video[i];
        tb = av_buffersink_get_time_base(out->sink);

        ev.width = out->rung.width;
        ev.height = out->rung.height;
        ev.bitrate = out->rung.bitrate;
        ev.maxrate = out->rung.maxrate;
        ev.time_base = tb;

        rc = iw_enc_x264(prof, &ev, &out->enc);
        if (rc != 0) {
            return iw_vod_fail(v, 0, rc, "cannot open libx264 for %s",
                               out->name);
        }

        enc = out->enc;

        if (iw_codec_avc1(enc->extradata, enc->extradata_size, out->codecs,
                          sizeof(out->codecs)) != 0)
        {
            return iw_vod_fail(v, 0, 0, "libx264 gave no SPS");
        }

        out->frame_dur = av_rescale_q(1, av_inv_q(v->fps), tb);
        if (out->frame_dur <= 0) {
            out->frame_dur = 1;
        }

        par = avcodec_parameters_alloc();
        if (par == NULL) {
            return iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
        }

        avcodec_parameters_from_context(par, enc);

        rc = iw_vod_out_open(v, out, par, tb);
        avcodec_parameters_free(&par);

        if (rc != IW_VOD_OK) {
            return rc;
        }
    }

    v->video_ready = 1;

    return IW_VOD_OK;
}


static int
iw_vod_audio_init(iw_vod_t *v, const AVFrame *frame)
{
    int                  rc;
    char                 args[512], layout[64], desc[256];
    AVRational           tb;
    iw_vod_out_t        *out;
    AVChannelLayout      in_layout;
    AVFilterInOut       *inputs, *outputs;
    AVCodecContext      *enc;
    AVCodecParameters   *par;
    const iw_profile_t  *prof;

    prof = v->job->prof;
    out = &v->audio;

    snprintf(out->name, sizeof(out->name), "audio");

    /* av_channel_layout_copy() uninits its destination first */
    memset(&in_layout, 0, sizeof(AVChannelLayout));

    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&in_layout, frame->ch_layout.nb_channels);
    } else {
        rc = av_channel_layout_copy(&in_layout, &frame->ch_layout);
        if (rc < 0) {
            return iw_vod_fail(v, 0, rc, "out of memory");
        }
    }

    av_channel_layout_describe(&in_layout, layout, sizeof(layout));
    av_channel_layout_uninit(&in_layout);

    v->agraph = avfilter_graph_alloc();
    if (v->agraph == NULL) {
        return iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
    }

    snprintf(args, sizeof(args),
             "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:"
             "channel_layout=%s",
             v->ast->time_base.num, v->ast->time_base.den,
             frame->sample_rate,
             av_get_sample_fmt_name((enum AVSampleFormat) frame->format),
             layout);

    rc = avfilter_graph_create_filter(&v->asrc,
                                      avfilter_get_by_name("abuffer"),
                                      "in", args, NULL, v->agraph);
    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "cannot create the audio source");
    }

    rc = avfilter_graph_create_filter(&out->sink,
                                      avfilter_get_by_name("abuffersink"),
                                      "out", NULL, NULL, v->agraph);
    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "cannot create the audio sink");
    }

    snprintf(desc, sizeof(desc),
             "aresample=%u,aformat=sample_fmts=fltp:sample_rates=%u:"
             "channel_layouts=%s", prof->audio_rate, prof->audio_rate,
             prof->audio_channels == 1 ? "mono" : "stereo");

    outputs = avfilter_inout_alloc();
    inputs = avfilter_inout_alloc();

    if (outputs == NULL || inputs == NULL) {
        avfilter_inout_free(&inputs);
        avfilter_inout_free(&outputs);
        return iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
    }

    outputs->name = av_strdup("in");
    outputs->filter_ctx = v->asrc;
    outputs->pad_idx = 0;
    outputs->next = NULL;

    inputs->name = av_strdup("out");
    inputs->filter_ctx = out->sink;
    inputs->pad_idx = 0;
    inputs->next = NULL;

    rc = avfilter_graph_parse_ptr(v->agraph, desc, &inputs, &outputs, NULL);

    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);

    if (rc >= 0) {
        rc = avfilter_graph_config(v->agraph, NULL);
    }

    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "cannot build the audio filters");
    }

    tb = av_buffersink_get_time_base(out->sink);

    rc = iw_enc_aac(prof, tb, &out->enc);
    if (rc != 0) {
        return iw_vod_fail(v, 0, rc, "cannot open the AAC encoder");
    }

    enc = out->enc;

    av_buffersink_set_frame_size(out->sink, enc->frame_size);

    if (iw_codec_mp4a(enc->extradata, enc->extradata_size, out->codecs,
                      sizeof(out->codecs)) != 0)
    {
        return iw_vod_fail(v, 0, 0, "the AAC encoder gave no config");
    }

    out->frame_dur = enc->frame_size;

    par = avcodec_parameters_alloc();
    if (par == NULL) {
        return iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
    }

    avcodec_parameters_from_context(par, enc);

    rc = iw_vod_out_open(v, out, par, tb);
    avcodec_parameters_free(&par);

    if (rc != IW_VOD_OK) {
        return rc;
    }

    v->audio_ready = 1;

    return IW_VOD_OK;
}


static int
iw_vod_out_open(iw_vod_t *v, iw_vod_out_t *out, const AVCodecParameters *par,
    AVRational tb)
{
    int   rc;
    char  dir[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s/%s", v->job->outdir, out->name);

    rc = iw_seg_open(&out->seg, dir, par, tb,
                     (int64_t) v->job->prof->segment_ms * 1000);

    out->open = 1;

    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "cannot start the %s rendition",
                           out->name);
    }

    return IW_VOD_OK;
}


static int
iw_vod_video_packet(iw_vod_t *v, const AVPacket *pkt)
{
    int  rc;

    rc = avcodec_send_packet(v->vdec, pkt);
    if (rc < 0 && rc != AVERROR_EOF) {
        /* a damaged packet: skip it, the decoder resyncs */
        iw_log(IW_LOG_WARN, "video decoding error, packet skipped");
        return IW_VOD_OK;
    }

    for ( ;; ) {
        rc = avcodec_receive_frame(v->vdec, v->frame);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return IW_VOD_OK;
        }

        if (rc < 0) {
            iw_log(IW_LOG_WARN, "video decoding error, frame skipped");
            return IW_VOD_OK;
        }

        rc = iw_vod_video_frame(v, v->frame);
        av_frame_unref(v->frame);

        if (rc != IW_VOD_OK) {
            return rc;
        }
    }
}


/* frame NULL: end of stream */

static int
iw_vod_video_frame(iw_vod_t *v, AVFrame *frame)
{
    int       rc;
    int64_t   ts, us;
    unsigned  i;

    if (frame != NULL) {
        ts = frame->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE) {
            return IW_VOD_OK;
        }

        if (!v->video_ready) {
            rc = iw_vod_video_init(v, frame);
            if (rc != IW_VOD_OK) {
                return rc;
            }
        }

        frame->pts = ts - av_rescale_q(v->origin, AV_TIME_BASE_Q,
                                       v->vst->time_base);

        us = av_rescale_q(frame->pts, v->vst->time_base, AV_TIME_BASE_Q);
        if (us > v->done) {
            v->done = us;
        }

        v->decoded++;

    } else if (!v->video_ready) {
        return IW_VOD_OK;
    }

    rc = av_buffersrc_add_frame_flags(v->vsrc, frame, 0);
    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "video filter error");
    }

    for (i = 0; i < v->nvideo; i++) {
        for ( ;; ) {
            rc = av_buffersink_get_frame(v->video[i].sink, v->filt);

            if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
                break;
            }

            if (rc < 0) {
                return iw_vod_fail(v, 0, rc, "video filter error");
            }

            rc = iw_vod_encode(v, &v->video[i], v->filt);
            av_frame_unref(v->filt);

            if (rc != IW_VOD_OK) {
                return rc;
            }
        }
    }

    return IW_VOD_OK;
}


static int
iw_vod_audio_packet(iw_vod_t *v, const AVPacket *pkt)
{
    int  rc;

    rc = avcodec_send_packet(v->adec, pkt);
    if (rc < 0 && rc != AVERROR_EOF) {
        iw_log(IW_LOG_WARN, "audio decoding error, packet skipped");
        return IW_VOD_OK;
    }

    for ( ;; ) {
        rc = avcodec_receive_frame(v->adec, v->frame);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return IW_VOD_OK;
        }

        if (rc < 0) {
            iw_log(IW_LOG_WARN, "audio decoding error, frame skipped");
            return IW_VOD_OK;
        }

        rc = iw_vod_audio_frame(v, v->frame);
        av_frame_unref(v->frame);

        if (rc != IW_VOD_OK) {
            return rc;
        }
    }
}


static int
iw_vod_audio_frame(iw_vod_t *v, AVFrame *frame)
{
    int      rc;
    int64_t  ts, us;

    if (frame != NULL) {
        ts = frame->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE) {
            return IW_VOD_OK;
        }

        if (!v->audio_ready) {
            rc = iw_vod_audio_init(v, frame);
            if (rc != IW_VOD_OK) {
                return rc;
            }
        }

        frame->pts = ts - av_rescale_q(v->origin, AV_TIME_BASE_Q,
                                       v->ast->time_base);

        us = av_rescale_q(frame->pts, v->ast->time_base, AV_TIME_BASE_Q);
        if (us > v->done) {
            v->done = us;
        }

        v->decoded++;

    } else if (!v->audio_ready) {
        return IW_VOD_OK;
    }

    rc = av_buffersrc_add_frame_flags(v->asrc, frame, 0);
    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "audio filter error");
    }

    for ( ;; ) {
        rc = av_buffersink_get_frame(v->audio.sink, v->filt);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return IW_VOD_OK;
        }

        if (rc < 0) {
            return iw_vod_fail(v, 0, rc, "audio filter error");
        }

        rc = iw_vod_encode(v, &v->audio, v->filt);
        av_frame_unref(v->filt);

        if (rc != IW_VOD_OK) {
            return rc;
        }
    }
}


/* frame NULL: drain the encoder */

static int
iw_vod_encode(iw_vod_t *v, iw_vod_out_t *out, AVFrame *frame)
{
    int       rc;
    int64_t   us, seg;
    AVPacket  *pkt;

    if (frame != NULL && out->enc->codec_type == AVMEDIA_TYPE_VIDEO) {
        us = av_rescale_q(frame->pts, out->enc->time_base, AV_TIME_BASE_Q);
        seg = (int64_t) v->job->prof->segment_ms * 1000;

        /* the same decision for every rung: they see the same frames */

        if (us >= out->next_kf) {
            frame->pict_type = AV_PICTURE_TYPE_I;

            out->next_kf = (us >= 0 ? us / seg + 1 : 1) * seg;

        } else {
            frame->pict_type = AV_PICTURE_TYPE_NONE;
        }
    }

    rc = avcodec_send_frame(out->enc, frame);
    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "cannot encode %s", out->name);
    }

    pkt = av_packet_alloc();
    if (pkt == NULL) {
        return iw_vod_fail(v, 0, AVERROR(ENOMEM), "out of memory");
    }

    for ( ;; ) {
        rc = avcodec_receive_packet(out->enc, pkt);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            rc = IW_VOD_OK;
            break;
        }

        if (rc < 0) {
            rc = iw_vod_fail(v, 0, rc, "cannot encode %s", out->name);
            break;
        }

        if (pkt->duration <= 0) {
            pkt->duration = out->frame_dur;
        }

        rc = iw_seg_write(&out->seg, pkt);
        if (rc < 0) {
            rc = iw_vod_fail(v, 0, rc, "cannot write %s", out->name);
            break;
        }
    }

    av_packet_free(&pkt);

    return rc;
}


static int
iw_vod_copy(iw_vod_t *v, iw_vod_out_t *out, AVStream *st, AVPacket *pkt)
{
    int      rc;
    int64_t  off, us;

    if (pkt->pts == AV_NOPTS_VALUE || pkt->dts == AV_NOPTS_VALUE) {
        return IW_VOD_OK;
    }

    off = av_rescale_q(v->origin, AV_TIME_BASE_Q, st->time_base);

    pkt->pts -= off;
    pkt->dts -= off;

    if (pkt->duration <= 0) {
        pkt->duration = out->frame_dur;
    }

    us = av_rescale_q(pkt->pts, st->time_base, AV_TIME_BASE_Q);
    if (us > v->done) {
        v->done = us;
    }

    rc = iw_seg_write(&out->seg, pkt);
    if (rc < 0) {
        return iw_vod_fail(v, 0, rc, "cannot write %s", out->name);
    }

    return IW_VOD_OK;
}


static int
iw_vod_flush(iw_vod_t *v)
{
    int       rc;
    unsigned  i;

    if (!v->passthrough) {
        if (v->vdec != NULL) {
            rc = iw_vod_video_packet(v, NULL);
            if (rc == IW_VOD_OK) {
                rc = iw_vod_video_frame(v, NULL);
            }

            if (rc != IW_VOD_OK) {
                return rc;
            }

            for (i = 0; i < v->nvideo && v->video_ready; i++) {
                rc = iw_vod_encode(v, &v->video[i], NULL);
                if (rc != IW_VOD_OK) {
                    return rc;
                }
            }
        }

        if (v->adec != NULL) {
            rc = iw_vod_audio_packet(v, NULL);
            if (rc == IW_VOD_OK) {
                rc = iw_vod_audio_frame(v, NULL);
            }

            if (rc == IW_VOD_OK && v->audio_ready) {
                rc = iw_vod_encode(v, &v->audio, NULL);
            }

            if (rc != IW_VOD_OK) {
                return rc;
            }
        }

        if (v->decoded == 0) {
            return iw_vod_fail(v, 1, 0, "nothing could be decoded from "
                               "the source");
        }
    }

    if (v->vst != NULL && v->nvideo == 0 && !v->audio.open) {
        return iw_vod_fail(v, 1, 0, "no video frame in the source");
    }

    for (i = 0; i < v->nvideo; i++) {
        rc = iw_seg_end(&v->video[i].seg);
        if (rc < 0) {
            return iw_vod_fail(v, 0, rc, "cannot finish %s",
                               v->video[i].name);
        }
    }

    if (v->audio.open) {
        rc = iw_seg_end(&v->audio.seg);
        if (rc < 0) {
            return iw_vod_fail(v, 0, rc, "cannot finish the audio");
        }
    }

    rc = iw_vod_tail(v);
    if (rc != IW_VOD_OK) {
        return rc;
    }

    for (i = 0; i < v->nvideo; i++) {
        rc = iw_seg_playlist(&v->video[i].seg);
        if (rc < 0) {
            return iw_vod_fail(v, 0, rc, "cannot finish %s",
                               v->video[i].name);
        }
    }

    if (v->audio.open) {
        rc = iw_seg_playlist(&v->audio.seg);
        if (rc < 0) {
            return iw_vod_fail(v, 0, rc, "cannot finish the audio");
        }
    }

    return IW_VOD_OK;
}


/*
 * A sliver past the last segment boundary (the audio running a few
 * milliseconds past the video's last segment, usually: AAC frames do not
 * end where video frames do) joins the segment before it instead of
 * becoming a segment of its own, in every track that has it.
 */

static int
iw_vod_tail(iw_vod_t *v)
{
    int                rc;
    unsigned           i, n, merge[IW_MAX_RUNGS + 1];
    iw_seg_t          *segs[IW_MAX_RUNGS + 1];
    iw_ladder_tail_t   tails[IW_MAX_RUNGS + 1];

    memset(tails, 0, sizeof(tails));
    n = 0;

    for (i = 0; i < v->nvideo; i++) {
        segs[n++] = &v->video[i].seg;
    }

    if (v->audio.open) {
        segs[n++] = &v->audio.seg;
    }

    for (i = 0; i < n; i++) {
        tails[i].nsegs = segs[i]->nsegs;
        tails[i].last_start = segs[i]->nsegs != 0
                              ? segs[i]->segs[segs[i]->nsegs - 1].start : 0;
        tails[i].end = segs[i]->end;
    }

    if (iw_ladder_tail(tails, n, (int64_t) v->job->prof->segment_ms * 100,
                       merge) == 0)
    {
        return IW_VOD_OK;
    }

    for (i = 0; i < n; i++) {
        if (!merge[i]) {
            continue;
        }

        iw_log(IW_LOG_INFO, "%s: the last %lld us join the segment before",
               i < v->nvideo ? v->video[i].name : "audio",
               (long long) (tails[i].end - tails[i].last_start));

        rc = iw_seg_merge_last(segs[i]);
        if (rc < 0) {
            return iw_vod_fail(v, 0, rc, "cannot merge the last segment");
        }
    }

    return IW_VOD_OK;
}


static int
iw_vod_master(iw_vod_t *v)
{
    int                rc;
    char               path[PATH_MAX], text[8192];
    char               codecs[IW_MAX_RUNGS][80], uris[IW_MAX_RUNGS + 1][48];
    size_t             len;
    uint64_t           apeak, aavg;
    unsigned           i, n;
    iw_vod_out_t      *out;
    iw_hls_audio_t     audio;
    iw_hls_variant_t   vars[IW_MAX_RUNGS];

    n = 0;
    apeak = 0;
    aavg = 0;

    if (v->audio.open) {
        apeak = iw_seg_peak(&v->audio.seg);
        aavg = iw_seg_average(&v->audio.seg);

        audio.group = IW_VOD_AUDIO_GROUP;
        audio.name = "audio";
        audio.language = NULL;
        audio.channels = v->job->prof->audio_channels;
        audio.is_default = 1;
        audio.uri = "audio/index.m3u8";

        if (v->passthrough) {
            audio.channels = v->ast->codecpar->ch_layout.nb_channels;
        }
    }

    for (i = 0; i < v->nvideo; i++) {
        out = &v->video[i];

        snprintf(codecs[i], sizeof(codecs[i]), "%s%s%s", out->codecs,
                 v->audio.open ? "," : "", v->audio.codecs);
        snprintf(uris[i], sizeof(uris[i]), "%s/index.m3u8", out->name);

        vars[n].bandwidth = iw_seg_peak(&out->seg) + apeak;
        vars[n].average = iw_seg_average(&out->seg) + aavg;
        vars[n].width = out->rung.width;
        vars[n].height = out->rung.height;
        vars[n].fps_milli = (unsigned) av_rescale(v->fps.num, 1000,
                                                  v->fps.den);
        vars[n].codecs = codecs[i];
        vars[n].audio = v->audio.open ? IW_VOD_AUDIO_GROUP : NULL;
        vars[n].uri = uris[i];
        n++;

        if (out->seg.nsegs != 0) {
            v->job->duration = out->seg.end;
        }
    }

    if (v->nvideo == 0) {
        /* audio only: one variant, the audio playlist itself */
        vars[0].bandwidth = apeak;
        vars[0].average = aavg;
        vars[0].width = 0;
        vars[0].height = 0;
        vars[0].fps_milli = 0;
        vars[0].codecs = v->audio.codecs;
        vars[0].audio = NULL;
        vars[0].uri = "audio/index.m3u8";
        n = 1;

        v->job->duration = v->audio.seg.end;
    }

    len = iw_hls_master(vars, n, &audio, v->nvideo && v->audio.open ? 1 : 0,
                        text, sizeof(text));
    if (len == 0) {
        return iw_vod_fail(v, 0, 0, "master playlist too large");
    }

    snprintf(path, sizeof(path), "%s/master.m3u8", v->job->outdir);

    rc = iw_file_write(path, text, len, 0);
    if (rc != 0) {
        return iw_vod_fail(v, 0, AVERROR(errno), "cannot write \"%s\"",
                           path);
    }

    v->job->nvideo = v->nvideo;
    v->job->audio = v->audio.open;

    if (!v->passthrough) {
        v->job->mode = IW_VOD_TRANSCODE;
    }

    return IW_VOD_OK;
}


static int
iw_vod_fail(iw_vod_t *v, int permanent, int averr, const char *fmt, ...)
{
    int      n;
    char     ebuf[AV_ERROR_MAX_STRING_SIZE];
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(v->job->err, sizeof(v->job->err), fmt, args);
    va_end(args);

    if (averr != 0 && n >= 0 && (size_t) n < sizeof(v->job->err)) {
        av_strerror(averr, ebuf, sizeof(ebuf));
        snprintf(v->job->err + n, sizeof(v->job->err) - n, " (%s)", ebuf);
    }

    v->job->permanent = permanent;

    return IW_VOD_ERROR;
}


static void
iw_vod_cleanup(iw_vod_t *v)
{
    unsigned  i;

    for (i = 0; i < IW_MAX_RUNGS; i++) {
        if (v->video[i].open) {
            iw_seg_close(&v->video[i].seg);
        }

        avcodec_free_context(&v->video[i].enc);
    }

    if (v->audio.open) {
        iw_seg_close(&v->audio.seg);
    }

    avcodec_free_context(&v->audio.enc);
    avfilter_graph_free(&v->vgraph);
    avfilter_graph_free(&v->agraph);
    avcodec_free_context(&v->vdec);
    avcodec_free_context(&v->adec);
    avformat_close_input(&v->ifmt);
    av_frame_free(&v->frame);
    av_frame_free(&v->filt);
    av_packet_free(&v->pkt);
}
