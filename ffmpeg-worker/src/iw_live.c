
/*
 * Copyright (C) nginx video ingest developers
 */


#define _GNU_SOURCE

#include "iw_live.h"
#include "iw_enc.h"
#include "iw_files.h"
#include "iw_hls.h"
#include "iw_ladder.h"
#include "iw_lhls.h"
#include "iw_log.h"
#include "iw_metrics.h"
#include "iw_process.h"
#include "iw_seg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libavcodec/bsf.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>


#define IW_LIVE_MAX_PARTS   64
/* the renditions of a ladder and the audio */
#define IW_LIVE_MAX_TRACKS  (IW_MAX_RUNGS + 1)
#define IW_LIVE_IO_SIZE     32768
#define IW_LIVE_HEADER_MAX  128
#define IW_LIVE_POLL_MS     200
#define IW_LIVE_HEADER_MS   5000

/* room for file names after a directory in PATH_MAX */
#define IW_LIVE_DIR_LEN     (PATH_MAX - 256)


typedef struct {
    uint64_t             index;         /* part<index>.m4s */
    int64_t              duration;      /* us */
    char                 uri[32];
    unsigned             independent:1;
} iw_live_part_t;


typedef struct {
    uint64_t             msn;
    int64_t              start;         /* us */
    int64_t              duration;      /* us */
    int64_t              pdt;           /* unix ms */
    iw_live_part_t       parts[IW_LIVE_MAX_PARTS];
    unsigned             nparts;
    char                 uri[32];
} iw_live_seg_t;


typedef struct {
    AVStream            *ist;           /* the source stream */
    AVRational           tb;            /* of the packets it is given */
    AVBSFContext        *bsf;           /* ADTS to raw AAC */
    iw_seg_t             mux;
    iw_cut_t             cut;

    /* a rendition of the live ladder: the source scaled and encoded */
    AVCodecContext      *enc;
    AVFilterContext     *sink;
    iw_ladder_rung_t     rung;
    int64_t              next_kf;       /* us, INT64_MIN: no frame yet */

    char                 name[16];
    char                 dir[IW_LIVE_DIR_LEN + 32];
    char                 codecs[32];

    iw_live_seg_t       *win;           /* complete segments, oldest first */
    unsigned             nwin;
    iw_live_seg_t        cur;           /* the segment in progress */

    uint8_t             *segbuf;        /* the parts of cur, concatenated */
    size_t               seglen;
    size_t               segcap;

    uint64_t             next_part;
    uint64_t             next_msn;
    unsigned             target;        /* s */
    int64_t              frame_dur;     /* us */
    int64_t              part_begin;    /* us */
    int64_t              end;           /* us */
    uint64_t             peak;          /* bits/s over a segment */
    unsigned             width;         /* video, for the master */
    unsigned             height;
    unsigned             video:1;
    unsigned             part_key:1;
    unsigned             part_open:1;
    unsigned             started:1;
    unsigned             opened:1;
} iw_live_track_t;


/* a source stream: the continuity of its timestamps */

typedef struct {
    int                  index;         /* in the input, -1: none */
    const char          *name;
    int64_t              frame_dur;     /* us */
    iw_jump_t            jump;
    unsigned             settle:1;      /* another stream jumped */
} iw_live_input_t;


typedef struct {
    const iw_conf_t     *conf;
    int                  fd;
    char                 name[IW_LIVE_NAME_LEN + 1];
    char                 dir[IW_LIVE_DIR_LEN];
    AVFormatContext     *ifmt;
    iw_live_track_t      tracks[IW_LIVE_MAX_TRACKS];
    unsigned             ntracks;
    int64_t              origin;        /* us, INT64_MIN: none yet */
    int64_t              wall;          /* unix ms at the origin */
    int64_t              shift;         /* us, added to the source's */
    AVRational           fps;           /* of the source video */
    iw_live_input_t      inputs[2];     /* the video, the audio */

    /* live_transcode: one decoder, one filter graph, a ladder */
    const iw_profile_t  *prof;
    AVStream            *vst;
    AVCodecContext      *vdec;
    AVFilterGraph       *graph;
    AVFilterContext     *vsrc;
    AVFrame             *frame;
    AVFrame             *filt;
    AVPacket            *epkt;
    int64_t              last_pts;      /* of the decoded frames */

    unsigned             transcode:1;
    unsigned             ladder:1;      /* the renditions exist */
    unsigned             ladder_failed:1;
    unsigned             master_done:1;
} iw_live_t;


static int iw_live_read_header(int fd, char *name, size_t cap);
static int iw_live_io_read(void *opaque, uint8_t *buf, int size);
static int iw_live_interrupt(void *opaque);
static int iw_live_open(iw_live_t *lv);
static void iw_live_rebase(iw_live_t *lv, AVPacket *pkt);
static int iw_live_track_init(iw_live_t *lv, iw_live_track_t *t,
    const char *name, int video);
static int iw_live_decoder(iw_live_t *lv);
static int iw_live_decode(iw_live_t *lv, AVPacket *pkt);
static int iw_live_pictures(iw_live_t *lv);
static int iw_live_frame(iw_live_t *lv, AVFrame *frame);
static int iw_live_ladder(iw_live_t *lv, const AVFrame *frame);
static int iw_live_encode(iw_live_t *lv, iw_live_track_t *t,
    AVFrame *frame);
static int iw_live_packet(iw_live_t *lv, iw_live_track_t *t, AVPacket *pkt);
static int iw_live_close_part(iw_live_t *lv, iw_live_track_t *t,
    int64_t end);
static int iw_live_close_segment(iw_live_t *lv, iw_live_track_t *t);
static int iw_live_playlists(iw_live_t *lv, int ended);
static int iw_live_playlist(iw_live_t *lv, iw_live_track_t *t, int ended);
static int iw_live_master(iw_live_t *lv);
static void iw_live_new_segment(iw_live_t *lv, iw_live_track_t *t,
    int64_t us);
static int iw_live_mux_open(iw_live_t *lv, iw_live_track_t *t,
    const AVPacket *pkt);
static int iw_live_mux_par(iw_live_t *lv, iw_live_track_t *t,
    const AVCodecParameters *par);
static int iw_live_append(iw_live_track_t *t, const uint8_t *data,
    size_t len);
static void iw_live_cleanup(iw_live_t *lv);


int
iw_live_listen(const char *path)
{
    int                 fd;
    struct sockaddr_un  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        iw_log(IW_LOG_ERR, "live_socket \"%s\" is too long", path);
        return -1;
    }

    strcpy(sa.sun_path, path);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "socket() failed");
        return -1;
    }

    /* a socket file left by an earlier run */
    (void) unlink(path);

    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        || chmod(path, 0660) == -1
        || listen(fd, 16) == -1)
    {
        iw_log_errno(IW_LOG_ERR, errno, "cannot listen on \"%s\"", path);
        close(fd);
        return -1;
    }

    return fd;
}


void
iw_live_run(const iw_conf_t *conf, int fd)
{
    int          rc, lock;
    char         path[PATH_MAX];
    unsigned     i;
    AVPacket    *pkt;
    iw_live_t   *lv;
    const char  *base;

    lv = calloc(1, sizeof(iw_live_t));
    pkt = av_packet_alloc();
    lock = -1;

    if (lv == NULL || pkt == NULL) {
        goto done;
    }

    lv->conf = conf;
    lv->fd = fd;
    lv->origin = INT64_MIN;
    lv->last_pts = AV_NOPTS_VALUE;
    lv->transcode = conf->live_transcode;
    lv->prof = iw_conf_profile(conf, conf->live_profile);

    if (iw_live_read_header(fd, lv->name, sizeof(lv->name)) != 0) {
        iw_log(IW_LOG_ERR, "live: no valid \"stream NAME\" line, closing");
        goto done;
    }

    base = conf->live_output;

    if (snprintf(lv->dir, sizeof(lv->dir), "%s/%s", base, lv->name)
        >= (int) sizeof(lv->dir)
        || snprintf(path, sizeof(path), "%s/.%s.lock", base, lv->name)
           >= (int) sizeof(path))
    {
        goto done;
    }

    if (iw_mkdir_p(base, 0755) != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot create \"%s\"", base);
        goto done;
    }

    /* one publisher per stream name, across processes */

    lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock == -1 || flock(lock, LOCK_EX | LOCK_NB) == -1) {
        iw_log(IW_LOG_ERR, "live \"%s\": already being published, "
               "closing", lv->name);
        goto done;
    }

    /* a new session of the stream starts from nothing */

    if (iw_rmtree(lv->dir) != 0 || iw_mkdir_p(lv->dir, 0755) != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot create \"%s\"", lv->dir);
        goto done;
    }

    iw_log(IW_LOG_NOTICE, "live \"%s\": publishing", lv->name);

    if (iw_stats != NULL) {
        iw_stats_add(&iw_stats->live_streams, 1);
    }

    if (iw_live_open(lv) != 0) {
        goto done;
    }

    for ( ;; ) {
        rc = av_read_frame(lv->ifmt, pkt);
        if (rc < 0) {
            break;
        }

        iw_live_rebase(lv, pkt);

        if (lv->vdec != NULL && pkt->stream_index == lv->vst->index) {
            rc = iw_live_decode(lv, pkt);
            if (rc != 0) {
                break;
            }

            continue;
        }

        /* copied tracks: the audio, and the video unless transcoded */

        for (i = 0; i < lv->ntracks; i++) {
            if (lv->tracks[i].enc == NULL
                && pkt->stream_index == lv->tracks[i].ist->index)
            {
                break;
            }
        }

        if (i == lv->ntracks || pkt->dts == AV_NOPTS_VALUE) {
            av_packet_unref(pkt);
            continue;
        }

        rc = iw_live_packet(lv, &lv->tracks[i], pkt);
        if (rc != 0) {
            break;
        }
    }

    /* the end: what the encoders hold, the last part and segment */

    if (lv->vdec != NULL && iw_live_decode(lv, NULL) == 0) {
        (void) iw_live_frame(lv, NULL);
    }

    for (i = 0; i < lv->ntracks; i++) {
        if (lv->tracks[i].started && lv->tracks[i].opened) {
            if (iw_live_close_part(lv, &lv->tracks[i], lv->tracks[i].end)
                == 0)
            {
                (void) iw_live_close_segment(lv, &lv->tracks[i]);
            }
        }
    }

    (void) iw_live_playlists(lv, 1);

    iw_log(IW_LOG_NOTICE, "live \"%s\": ended", lv->name);

    if (iw_stats != NULL) {
        iw_stats_add(&iw_stats->live_streams, -1);
    }

done:

    if (lv != NULL) {
        iw_live_cleanup(lv);
        free(lv);
    }

    av_packet_free(&pkt);

    if (lock != -1) {
        close(lock);
    }

    close(fd);
}


static int
iw_live_open(iw_live_t *lv)
{
    int                  rc, vi, ai, n;
    uint8_t             *iobuf;
    unsigned             i;
    AVIOContext         *pb;
    AVDictionary        *opts;
    iw_live_track_t     *t;
    AVCodecParameters   *par;
    const AVInputFormat *ts;

    lv->ifmt = avformat_alloc_context();
    iobuf = av_malloc(IW_LIVE_IO_SIZE);

    if (lv->ifmt == NULL || iobuf == NULL) {
        av_free(iobuf);
        return -1;
    }

    pb = avio_alloc_context(iobuf, IW_LIVE_IO_SIZE, 0, lv, iw_live_io_read,
                            NULL, NULL);
    if (pb == NULL) {
        av_free(iobuf);
        return -1;
    }

    lv->ifmt->pb = pb;
    lv->ifmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    lv->ifmt->interrupt_callback.callback = iw_live_interrupt;
    lv->ifmt->interrupt_callback.opaque = lv;

    /* low latency: decide on the first second */
    lv->ifmt->probesize = 1000000;
    lv->ifmt->max_analyze_duration = AV_TIME_BASE;

    ts = av_find_input_format("mpegts");
    opts = NULL;

    rc = avformat_open_input(&lv->ifmt, NULL, ts, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": not an MPEG-TS stream", lv->name);
        return -1;
    }

    rc = avformat_find_stream_info(lv->ifmt, NULL);
    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot probe the stream",
               lv->name);
        return -1;
    }

    vi = av_find_best_stream(lv->ifmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    ai = av_find_best_stream(lv->ifmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);

    n = 0;

    if (vi >= 0) {
        lv->fps = av_guess_frame_rate(lv->ifmt, lv->ifmt->streams[vi], NULL);

        if (lv->fps.num <= 0 || lv->fps.den <= 0
            || av_cmp_q(lv->fps, av_make_q(240, 1)) > 0)
        {
            lv->fps = av_make_q(30, 1);
        }
    }

    for (i = 0; i < 2; i++) {
        lv->inputs[i].index = i == 0 ? vi : ai;
        lv->inputs[i].name = i == 0 ? "video" : "audio";
        iw_jump_init(&lv->inputs[i].jump);
    }

    if (vi >= 0) {
        lv->inputs[0].frame_dur = av_rescale(AV_TIME_BASE, lv->fps.den,
                                             lv->fps.num);
    }

    if (ai >= 0) {
        par = lv->ifmt->streams[ai]->codecpar;
        lv->inputs[1].frame_dur = par->sample_rate > 0
                                  ? av_rescale(1024, AV_TIME_BASE,
                                               par->sample_rate)
                                  : 21333;
    }

    if (vi >= 0 && lv->transcode) {
        /* the renditions come with the first picture: its size */

        lv->vst = lv->ifmt->streams[vi];

        if (iw_live_decoder(lv) != 0) {
            return -1;
        }

    } else if (vi >= 0) {
        par = lv->ifmt->streams[vi]->codecpar;

        if (par->codec_id != AV_CODEC_ID_H264) {
            iw_log(IW_LOG_ERR, "live \"%s\": video is %s, only H.264 is "
                   "packaged as it is", lv->name,
                   avcodec_get_name(par->codec_id));
            return -1;
        }

        lv->tracks[n].ist = lv->ifmt->streams[vi];
        snprintf(lv->tracks[n].name, sizeof(lv->tracks[n].name), "video");
        n++;
    }

    if (ai >= 0) {
        par = lv->ifmt->streams[ai]->codecpar;

        if (par->codec_id != AV_CODEC_ID_AAC) {
            iw_log(IW_LOG_ERR, "live \"%s\": audio is %s, only AAC is "
                   "packaged as it is", lv->name,
                   avcodec_get_name(par->codec_id));
            return -1;
        }

        lv->tracks[n].ist = lv->ifmt->streams[ai];
        snprintf(lv->tracks[n].name, sizeof(lv->tracks[n].name), "audio");
        n++;
    }

    if (n == 0 && lv->vst == NULL) {
        iw_log(IW_LOG_ERR, "live \"%s\": no audio or video", lv->name);
        return -1;
    }

    lv->ntracks = n;

    for (i = 0; i < lv->ntracks; i++) {
        t = &lv->tracks[i];
        par = t->ist->codecpar;
        t->tb = t->ist->time_base;

        if (iw_live_track_init(lv, t, t->name,
                               par->codec_type == AVMEDIA_TYPE_VIDEO)
            != 0)
        {
            return -1;
        }

        if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            t->frame_dur = av_rescale(AV_TIME_BASE, lv->fps.den,
                                      lv->fps.num);
            t->width = par->width;
            t->height = par->height;

            if (iw_codec_avc1(par->extradata, par->extradata_size,
                              t->codecs, sizeof(t->codecs)) != 0)
            {
                snprintf(t->codecs, sizeof(t->codecs), "avc1.640028");
            }

        } else {
            t->frame_dur = par->sample_rate > 0
                           ? av_rescale(1024, AV_TIME_BASE, par->sample_rate)
                           : 21333;

            snprintf(t->codecs, sizeof(t->codecs), "mp4a.40.2");
        }

        if (par->codec_id == AV_CODEC_ID_AAC && par->extradata_size == 0) {
            /* ADTS in MPEG-TS: the config comes with the first packet */

            if (av_bsf_alloc(av_bsf_get_by_name("aac_adtstoasc"), &t->bsf)
                < 0
                || avcodec_parameters_copy(t->bsf->par_in, par) < 0)
            {
                return -1;
            }

            t->bsf->time_base_in = t->ist->time_base;

            if (av_bsf_init(t->bsf) < 0) {
                return -1;
            }

            continue;
        }

        if (iw_live_mux_open(lv, t, NULL) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * A jump of the source's timestamps (a publisher that started over, a
 * stall, an MPEG-TS discontinuity) would give a part or a segment of
 * the length of the jump, or timestamps going back that no muxer takes:
 * the source is re-based instead, by a shift common to its streams, so
 * that the output goes on where it was, in sync, and nothing downstream
 * (the decoder, the encoders, the cutter, the muxers) sees the jump.
 */

static void
iw_live_rebase(iw_live_t *lv, AVPacket *pkt)
{
    int64_t           us, dur, fix, off;
    unsigned          i;
    AVRational        tb;
    iw_live_input_t  *in;

    for (i = 0; i < 2; i++) {
        if (lv->inputs[i].index == pkt->stream_index) {
            break;
        }
    }

    if (i == 2) {
        return;
    }

    in = &lv->inputs[i];
    tb = lv->ifmt->streams[pkt->stream_index]->time_base;

    if (pkt->dts != AV_NOPTS_VALUE) {
        us = av_rescale_q(pkt->dts, tb, AV_TIME_BASE_Q) + lv->shift;
        dur = pkt->duration > 0
              ? av_rescale_q(pkt->duration, tb, AV_TIME_BASE_Q)
              : in->frame_dur;

        fix = iw_jump_check(&in->jump, us, dur, IW_JUMP_MAX);

        if (fix != 0 && in->settle && fix > -IW_JUMP_MAX
            && fix < IW_JUMP_MAX)
        {
            /*
             * the first packet of the other stream after a jump: the
             * same jump, off by where the two streams were at the cut
             */

            lv->shift += fix;

            iw_log(IW_LOG_INFO, "live \"%s\": %s timestamps off by "
                   "%+lld ms after the jump, re-based", lv->name, in->name,
                   (long long) (-fix / 1000));

        } else if (fix != 0) {
            lv->shift += fix;
            lv->inputs[i ^ 1].settle = 1;

            iw_log(IW_LOG_NOTICE, "live \"%s\": %s timestamps jump by "
                   "%+lld ms, re-based to go on", lv->name, in->name,
                   (long long) (-fix / 1000));

            if (iw_stats != NULL) {
                iw_stats_add(&iw_stats->live_discontinuities, 1);
            }
        }

        in->settle = 0;
    }

    if (lv->shift == 0) {
        return;
    }

    off = av_rescale_q(lv->shift, AV_TIME_BASE_Q, tb);

    if (pkt->dts != AV_NOPTS_VALUE) {
        pkt->dts += off;
    }

    if (pkt->pts != AV_NOPTS_VALUE) {
        pkt->pts += off;
    }
}


static int
iw_live_track_init(iw_live_t *lv, iw_live_track_t *t, const char *name,
    int video)
{
    size_t  len;

    if (name != t->name) {
        snprintf(t->name, sizeof(t->name), "%s", name);
    }

    /* lv->dir is shorter than t->dir by more than a track name */
    len = strlen(lv->dir);
    memcpy(t->dir, lv->dir, len);
    t->dir[len] = '/';
    memcpy(t->dir + len + 1, t->name, strlen(t->name) + 1);

    t->win = calloc(lv->conf->live_window, sizeof(iw_live_seg_t));
    if (t->win == NULL) {
        return -1;
    }

    t->target = (lv->conf->live_segment_ms + 999) / 1000;
    t->video = video ? 1 : 0;
    t->next_kf = INT64_MIN;

    iw_cut_init(&t->cut, (int64_t) lv->conf->live_part_ms * 1000,
                (int64_t) lv->conf->live_segment_ms * 1000, video);

    return 0;
}


static int
iw_live_mux_open(iw_live_t *lv, iw_live_track_t *t, const AVPacket *pkt)
{
    int                 rc;
    size_t              size;
    uint8_t            *sd;
    AVCodecParameters  *par;

    par = avcodec_parameters_alloc();
    if (par == NULL) {
        return -1;
    }

    rc = avcodec_parameters_copy(par, t->ist->codecpar);

    if (rc >= 0 && pkt != NULL) {
        sd = av_packet_get_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA, &size);

        if (sd != NULL && size != 0) {
            av_freep(&par->extradata);
            par->extradata = av_mallocz(size + AV_INPUT_BUFFER_PADDING_SIZE);

            if (par->extradata == NULL) {
                rc = AVERROR(ENOMEM);
            } else {
                memcpy(par->extradata, sd, size);
                par->extradata_size = (int) size;
            }
        }
    }

    if (rc >= 0) {
        rc = iw_live_mux_par(lv, t, par);
    }

    avcodec_parameters_free(&par);

    return rc < 0 ? -1 : 0;
}


static int
iw_live_mux_par(iw_live_t *lv, iw_live_track_t *t,
    const AVCodecParameters *par)
{
    int  rc;

    rc = iw_seg_open(&t->mux, t->dir, par, t->tb,
                     (int64_t) lv->conf->live_segment_ms * 1000);
    t->opened = 1;

    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot start the %s track",
               lv->name, t->name);
        return -1;
    }

    if (par->codec_id == AV_CODEC_ID_AAC) {
        (void) iw_codec_mp4a(par->extradata, par->extradata_size, t->codecs,
                             sizeof(t->codecs));
    }

    return 0;
}


/* live_transcode: the source's video decoder */

static int
iw_live_decoder(iw_live_t *lv)
{
    int             rc;
    const AVCodec  *codec;

    codec = avcodec_find_decoder(lv->vst->codecpar->codec_id);
    if (codec == NULL) {
        iw_log(IW_LOG_ERR, "live \"%s\": no decoder for %s video",
               lv->name, avcodec_get_name(lv->vst->codecpar->codec_id));
        return -1;
    }

    lv->vdec = avcodec_alloc_context3(codec);
    lv->frame = av_frame_alloc();
    lv->filt = av_frame_alloc();
    lv->epkt = av_packet_alloc();

    if (lv->vdec == NULL || lv->frame == NULL || lv->filt == NULL
        || lv->epkt == NULL)
    {
        return -1;
    }

    rc = avcodec_parameters_to_context(lv->vdec, lv->vst->codecpar);
    if (rc < 0) {
        return -1;
    }

    lv->vdec->pkt_timebase = lv->vst->time_base;
    lv->vdec->thread_count = 0;

    rc = avcodec_open2(lv->vdec, codec, NULL);
    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot open the %s decoder",
               lv->name, codec->name);
        return -1;
    }

    return 0;
}


/* pkt NULL: drain the decoder */

static int
iw_live_decode(iw_live_t *lv, AVPacket *pkt)
{
    int  rc;

    rc = avcodec_send_packet(lv->vdec, pkt);

    if (rc == AVERROR(EAGAIN)) {
        /* the pictures decoded so far first, then the packet */

        rc = iw_live_pictures(lv);
        if (rc != 0) {
            av_packet_unref(pkt);
            return rc;
        }

        rc = avcodec_send_packet(lv->vdec, pkt);
    }

    if (pkt != NULL) {
        av_packet_unref(pkt);
    }

    if (rc < 0 && rc != AVERROR_EOF) {
        /* a damaged packet: the decoder resyncs at the next keyframe */
        return 0;
    }

    return iw_live_pictures(lv);
}


/* the pictures the decoder has ready, to the renditions */

static int
iw_live_pictures(iw_live_t *lv)
{
    int  rc;

    for ( ;; ) {
        rc = avcodec_receive_frame(lv->vdec, lv->frame);

        if (rc < 0) {
            return 0;
        }

        rc = iw_live_frame(lv, lv->frame);
        av_frame_unref(lv->frame);

        if (rc != 0) {
            return rc;
        }
    }
}


/* one decoded picture to every rendition; frame NULL: the end */

static int
iw_live_frame(iw_live_t *lv, AVFrame *frame)
{
    int               rc;
    int64_t           ts;
    unsigned          i;
    iw_live_track_t  *t;

    if (frame != NULL) {
        ts = frame->best_effort_timestamp;

        /* x264 wants rising timestamps: a repeated one is dropped */

        if (ts == AV_NOPTS_VALUE
            || (lv->last_pts != AV_NOPTS_VALUE && ts <= lv->last_pts))
        {
            return 0;
        }

        lv->last_pts = ts;
        frame->pts = ts;

        if (!lv->ladder
            && (lv->ladder_failed || iw_live_ladder(lv, frame) != 0))
        {
            lv->ladder_failed = 1;
            return -1;
        }

    } else if (!lv->ladder) {
        return 0;
    }

    rc = av_buffersrc_add_frame_flags(lv->vsrc, frame, 0);
    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": video filter error", lv->name);
        return -1;
    }

    for (i = 0; i < lv->ntracks; i++) {
        t = &lv->tracks[i];

        if (t->enc == NULL) {
            continue;
        }

        for ( ;; ) {
            rc = av_buffersink_get_frame(t->sink, lv->filt);
            if (rc < 0) {
                break;
            }

            rc = iw_live_encode(lv, t, lv->filt);
            av_frame_unref(lv->filt);

            if (rc != 0) {
                return rc;
            }
        }

        if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
            iw_log(IW_LOG_ERR, "live \"%s\": video filter error", lv->name);
            return -1;
        }

        if (frame == NULL && iw_live_encode(lv, t, NULL) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * The renditions, from the first picture: the live profile's rungs that
 * are not above the source (never upscaling), each scaled by one filter
 * graph and encoded by libx264 without delay (zerolatency), each a track
 * packaged like a copied one.
 */

static int
iw_live_ladder(iw_live_t *lv, const AVFrame *frame)
{
    int                  rc;
    char                 name[16], list[IW_MAX_RUNGS * 8];
    size_t               len;
    unsigned             i, n;
    iw_enc_video_t       ev;
    iw_live_track_t     *t;
    AVCodecParameters   *par;
    AVFilterContext     *sinks[IW_MAX_RUNGS];
    iw_ladder_rung_t     rungs[IW_MAX_RUNGS];

    n = iw_ladder(lv->prof, frame->width, frame->height,
                  frame->sample_aspect_ratio.num,
                  frame->sample_aspect_ratio.den, rungs);

    if (n == 0 || lv->ntracks + n > IW_LIVE_MAX_TRACKS) {
        iw_log(IW_LOG_ERR, "live \"%s\": unsupported picture size %dx%d",
               lv->name, frame->width, frame->height);
        return -1;
    }

    rc = iw_enc_ladder_graph(&lv->graph, frame, lv->vst->time_base, lv->fps,
                             "", rungs, n, &lv->vsrc, sinks);
    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot build the video filters",
               lv->name);
        return -1;
    }

    memset(&ev, 0, sizeof(ev));
    ev.framerate = lv->fps;
    ev.segment_ms = lv->conf->live_segment_ms;
    ev.live = 1;
    ev.color = frame;

    list[0] = '\0';
    len = 0;

    for (i = 0; i < n; i++) {
        t = &lv->tracks[lv->ntracks++];

        snprintf(name, sizeof(name), "%up", rungs[i].rung);

        if (iw_live_track_init(lv, t, name, 1) != 0) {
            return -1;
        }

        t->ist = lv->vst;
        t->sink = sinks[i];
        t->rung = rungs[i];
        t->tb = av_buffersink_get_time_base(t->sink);
        t->width = rungs[i].width;
        t->height = rungs[i].height;
        t->frame_dur = av_rescale(AV_TIME_BASE, lv->fps.den, lv->fps.num);

        ev.width = rungs[i].width;
        ev.height = rungs[i].height;
        ev.bitrate = rungs[i].bitrate;
        ev.maxrate = rungs[i].maxrate;
        ev.time_base = t->tb;

        rc = iw_enc_x264(lv->prof, &ev, &t->enc);

        if (rc != 0
            || iw_codec_avc1(t->enc->extradata, t->enc->extradata_size,
                             t->codecs, sizeof(t->codecs)) != 0)
        {
            iw_log(IW_LOG_ERR, "live \"%s\": cannot open libx264 for %s",
                   lv->name, name);
            return -1;
        }

        par = avcodec_parameters_alloc();
        if (par == NULL) {
            return -1;
        }

        avcodec_parameters_from_context(par, t->enc);
        rc = iw_live_mux_par(lv, t, par);
        avcodec_parameters_free(&par);

        if (rc != 0) {
            return -1;
        }

        len += snprintf(list + len, sizeof(list) - len, "%s%s",
                        i != 0 ? ", " : "", name);
    }

    iw_log(IW_LOG_INFO, "live \"%s\": %dx%d video transcoded to %s "
           "(profile \"%s\")", lv->name, frame->width, frame->height, list,
           lv->prof->name);

    lv->ladder = 1;

    return 0;
}


/* frame NULL: drain the encoder */

static int
iw_live_encode(iw_live_t *lv, iw_live_track_t *t, AVFrame *frame)
{
    int      rc;
    int64_t  us, seg;

    if (frame != NULL) {
        us = av_rescale_q(frame->pts, t->tb, AV_TIME_BASE_Q);
        seg = (int64_t) lv->conf->live_segment_ms * 1000;

        /*
         * A keyframe at the first picture at or after each boundary,
         * counted from the first picture: the rule of the cutter, which
         * then starts a segment at each of them, the same pictures on
         * every rendition.
         */

        if (t->next_kf == INT64_MIN || us >= t->next_kf) {
            frame->pict_type = AV_PICTURE_TYPE_I;

            if (t->next_kf == INT64_MIN) {
                t->next_kf = us + seg;
            }

            while (t->next_kf <= us) {
                t->next_kf += seg;
            }

        } else {
            frame->pict_type = AV_PICTURE_TYPE_NONE;
        }
    }

    rc = avcodec_send_frame(t->enc, frame);
    if (rc < 0 && rc != AVERROR_EOF) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot encode %s", lv->name,
               t->name);
        return -1;
    }

    for ( ;; ) {
        rc = avcodec_receive_packet(t->enc, lv->epkt);

        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return 0;
        }

        if (rc < 0) {
            iw_log(IW_LOG_ERR, "live \"%s\": cannot encode %s", lv->name,
                   t->name);
            return -1;
        }

        rc = iw_live_packet(lv, t, lv->epkt);
        if (rc != 0) {
            return rc;
        }
    }
}


static int
iw_live_packet(iw_live_t *lv, iw_live_track_t *t, AVPacket *pkt)
{
    int       rc, key;
    int64_t   us, dur;
    unsigned  cut;

    if (t->bsf != NULL) {
        if (av_bsf_send_packet(t->bsf, pkt) < 0) {
            av_packet_unref(pkt);
            return 0;
        }

        if (av_bsf_receive_packet(t->bsf, pkt) < 0) {
            return 0;
        }

        if (!t->opened && iw_live_mux_open(lv, t, pkt) != 0) {
            av_packet_unref(pkt);
            return -1;
        }
    }

    /* parts and segments follow decode order: time them by dts */

    us = av_rescale_q(pkt->dts, t->tb, AV_TIME_BASE_Q);

    if (lv->origin == INT64_MIN) {
        lv->origin = us;
        lv->wall = iw_now_ms();
    }

    us -= lv->origin;

    dur = pkt->duration > 0
          ? av_rescale_q(pkt->duration, t->tb, AV_TIME_BASE_Q)
          : t->frame_dur;

    if (pkt->duration <= 0) {
        pkt->duration = av_rescale_q(dur, AV_TIME_BASE_Q, t->tb);
    }

    key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;

    if (!t->started && t->cut.video && !key) {
        /* players need a keyframe first */
        av_packet_unref(pkt);
        return 0;
    }

    cut = iw_cut_packet(&t->cut, us, dur, key);

    if (cut != IW_CUT_NONE) {
        rc = iw_live_close_part(lv, t, us);

        if (rc == 0 && cut == IW_CUT_SEGMENT) {
            rc = iw_live_close_segment(lv, t);
            if (rc == 0) {
                iw_live_new_segment(lv, t, us);
            }
        }

        if (rc == 0) {
            rc = iw_live_playlists(lv, 0);
        }

        if (rc != 0) {
            av_packet_unref(pkt);
            return rc;
        }
    }

    if (!t->started) {
        t->started = 1;
        iw_live_new_segment(lv, t, us);
    }

    if (cut != IW_CUT_NONE || !t->part_open) {
        t->part_begin = us;
        t->part_key = key;
        t->part_open = 1;
    }

    if (us + dur > t->end) {
        t->end = us + dur;
    }

    /* the muxer sees the stream's own timestamps, shifted to 0 */

    pkt->pts -= av_rescale_q(lv->origin, AV_TIME_BASE_Q, t->tb);
    pkt->dts -= av_rescale_q(lv->origin, AV_TIME_BASE_Q, t->tb);

    rc = iw_seg_mux(&t->mux, pkt);
    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot mux the %s track",
               lv->name, t->name);
        return -1;
    }

    return 0;
}


static void
iw_live_new_segment(iw_live_t *lv, iw_live_track_t *t, int64_t us)
{
    memset(&t->cur, 0, sizeof(iw_live_seg_t));

    t->cur.msn = t->next_msn++;
    t->cur.start = us;
    t->cur.pdt = lv->wall + us / 1000;
    snprintf(t->cur.uri, sizeof(t->cur.uri), "seg%llu.m4s",
             (unsigned long long) t->cur.msn);

    t->seglen = 0;
}


static int
iw_live_close_part(iw_live_t *lv, iw_live_track_t *t, int64_t end)
{
    int              rc;
    char             path[PATH_MAX];
    size_t           len;
    const uint8_t   *data;
    iw_live_part_t  *p;

    if (t->cur.nparts == IW_LIVE_MAX_PARTS) {
        iw_log(IW_LOG_ERR, "live \"%s\": too many parts in a segment "
               "(keyframes too far apart)", lv->name);
        return -1;
    }

    rc = iw_seg_fragment(&t->mux, &data, &len);
    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot cut a part", lv->name);
        return -1;
    }

    if (len == 0) {
        return 0;
    }

    p = &t->cur.parts[t->cur.nparts];
    p->index = t->next_part++;
    p->duration = end - t->part_begin;
    p->independent = t->part_key;
    snprintf(p->uri, sizeof(p->uri), "part%llu.m4s",
             (unsigned long long) p->index);

    if (p->duration <= 0) {
        p->duration = 1;
    }

    /*
     * A part ends where the next one starts; a gap in the timestamps
     * before that (media missing, shorter than a jump) counts in it up
     * to the part target only: the cutter keeps the packets within it.
     */

    if (p->duration > t->cut.part_target) {
        p->duration = t->cut.part_target;
    }

    if (snprintf(path, sizeof(path), "%s/%s", t->dir, p->uri)
        >= (int) sizeof(path)
        || iw_file_write(path, data, len, 0) != 0
        || iw_live_append(t, data, len) != 0)
    {
        iw_log_errno(IW_LOG_ERR, errno, "live \"%s\": cannot write \"%s\"",
                     lv->name, path);
        return -1;
    }

    t->cur.nparts++;
    t->cur.duration += p->duration;

    if (iw_stats != NULL) {
        iw_stats_add(&iw_stats->live_parts, 1);
    }

    return 0;
}


static int
iw_live_close_segment(iw_live_t *lv, iw_live_track_t *t)
{
    char            path[PATH_MAX];
    unsigned        i, r;
    uint64_t        bits;
    iw_live_seg_t  *old;

    if (t->cur.nparts == 0) {
        return 0;
    }

    if (snprintf(path, sizeof(path), "%s/%s", t->dir, t->cur.uri)
        >= (int) sizeof(path)
        || iw_file_write(path, t->segbuf, t->seglen, 0) != 0)
    {
        iw_log_errno(IW_LOG_ERR, errno, "live \"%s\": cannot write \"%s\"",
                     lv->name, path);
        return -1;
    }

    bits = (uint64_t) t->seglen * 8 * 1000000 / (uint64_t) t->cur.duration;
    if (bits > t->peak) {
        t->peak = bits;
    }

    r = (unsigned) ((t->cur.duration + 500000) / 1000000);
    if (r > t->target) {
        /* keyframes further apart than the segment duration */
        iw_log(IW_LOG_WARN, "live \"%s\": %s segment of %lld ms, longer "
               "than the target", lv->name, t->name,
               (long long) (t->cur.duration / 1000));
        t->target = r;
    }

    /* slide the window: the oldest segment and its parts go */

    if (t->nwin == lv->conf->live_window) {
        old = &t->win[0];

        snprintf(path, sizeof(path), "%s/%s", t->dir, old->uri);
        (void) unlink(path);

        for (i = 0; i < old->nparts; i++) {
            snprintf(path, sizeof(path), "%s/%s", t->dir, old->parts[i].uri);
            (void) unlink(path);
        }

        memmove(&t->win[0], &t->win[1],
                (t->nwin - 1) * sizeof(iw_live_seg_t));
        t->nwin--;
    }

    t->win[t->nwin++] = t->cur;
    t->cur.nparts = 0;
    t->cur.duration = 0;
    t->seglen = 0;

    return 0;
}


static int
iw_live_playlists(iw_live_t *lv, int ended)
{
    unsigned  i;

    for (i = 0; i < lv->ntracks; i++) {
        if (!lv->tracks[i].started && !ended) {
            continue;
        }

        if (lv->tracks[i].nwin == 0 && lv->tracks[i].cur.nparts == 0) {
            continue;
        }

        if (iw_live_playlist(lv, &lv->tracks[i], ended) != 0) {
            return -1;
        }
    }

    if (!lv->master_done) {
        if (lv->vdec != NULL && !lv->ladder) {
            /* the renditions are not known before the first picture */
            return 0;
        }

        for (i = 0; i < lv->ntracks; i++) {
            if (lv->tracks[i].nwin == 0) {
                return 0;
            }
        }

        if (iw_live_master(lv) != 0) {
            return -1;
        }

        lv->master_done = 1;
    }

    return 0;
}


static int
iw_live_playlist(iw_live_t *lv, iw_live_track_t *t, int ended)
{
    int                 rc;
    char               *text, path[PATH_MAX], hint[32];
    char                ruri[IW_LIVE_MAX_TRACKS][32];
    size_t              len, cap;
    unsigned            i, j, n;
    iw_hls_part_t      *parts, *tail;
    iw_live_track_t    *o;
    unsigned            k, nrep;
    iw_hls_report_t     rep[IW_LIVE_MAX_TRACKS];
    iw_hls_segment_t   *segs;
    iw_hls_playlist_t   pl;

    n = t->nwin;

    segs = calloc(n + 1, sizeof(iw_hls_segment_t));
    parts = calloc((n + 1) * IW_LIVE_MAX_PARTS, sizeof(iw_hls_part_t));
    cap = 4096 + (size_t) (n + 1) * (IW_LIVE_MAX_PARTS + 2) * 96;
    text = malloc(cap);

    rc = -1;

    if (segs == NULL || parts == NULL || text == NULL) {
        goto done;
    }

    for (i = 0; i < n; i++) {
        segs[i].duration = t->win[i].duration;
        segs[i].uri = t->win[i].uri;
        segs[i].pdt = t->win[i].pdt;
        segs[i].parts = &parts[i * IW_LIVE_MAX_PARTS];
        segs[i].nparts = t->win[i].nparts;

        for (j = 0; j < t->win[i].nparts; j++) {
            parts[i * IW_LIVE_MAX_PARTS + j].duration =
                t->win[i].parts[j].duration;
            parts[i * IW_LIVE_MAX_PARTS + j].uri = t->win[i].parts[j].uri;
            parts[i * IW_LIVE_MAX_PARTS + j].independent =
                t->win[i].parts[j].independent;
        }
    }

    tail = &parts[n * IW_LIVE_MAX_PARTS];

    for (j = 0; j < t->cur.nparts; j++) {
        tail[j].duration = t->cur.parts[j].duration;
        tail[j].uri = t->cur.parts[j].uri;
        tail[j].independent = t->cur.parts[j].independent;
    }

    memset(&pl, 0, sizeof(pl));

    pl.type = IW_HLS_LIVE;
    pl.target = t->target;
    pl.part_target = (int64_t) lv->conf->live_part_ms * 1000;
    pl.media_sequence = n != 0 ? t->win[0].msn : t->cur.msn;
    pl.map_uri = "init.mp4";
    pl.endlist = ended;
    pl.can_block_reload = 1;
    pl.can_skip_until = (int64_t) t->target * 6 * 1000000;
    pl.segments = segs;
    pl.nsegments = n;
    pl.tail = tail;
    pl.ntail = ended ? 0 : t->cur.nparts;
    pl.tail_pdt = t->cur.pdt;

    snprintf(hint, sizeof(hint), "part%llu.m4s",
             (unsigned long long) t->next_part);
    pl.preload_hint = ended ? NULL : hint;

    /* the other tracks' last parts, so players switch without a reload */

    nrep = 0;

    for (k = 0; k < lv->ntracks; k++) {
        o = &lv->tracks[k];

        if (o == t) {
            continue;
        }

        snprintf(ruri[nrep], sizeof(ruri[nrep]), "../%s/index.m3u8",
                 o->name);
        rep[nrep].uri = ruri[nrep];

        if (o->cur.nparts != 0 && !ended) {
            rep[nrep].last_msn = o->cur.msn;
            rep[nrep].last_part = (int) o->cur.nparts - 1;
            nrep++;

        } else if (o->nwin != 0) {
            rep[nrep].last_msn = o->win[o->nwin - 1].msn;
            rep[nrep].last_part = (int) o->win[o->nwin - 1].nparts - 1;
            nrep++;
        }
    }

    pl.reports = nrep != 0 ? rep : NULL;
    pl.nreports = nrep;

    len = iw_hls_media(&pl, 0, text, cap);
    if (len == 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot write the %s playlist",
               lv->name, t->name);
        goto done;
    }

    snprintf(path, sizeof(path), "%s/index.m3u8", t->dir);

    if (iw_file_write(path, text, len, 0) != 0) {
        goto done;
    }

    /* the delta update the origin serves for _HLS_skip=YES */

    len = iw_hls_media(&pl, 1, text, cap);
    snprintf(path, sizeof(path), "%s/index-delta.m3u8", t->dir);

    if (len == 0 || iw_file_write(path, text, len, 0) != 0) {
        goto done;
    }

    rc = 0;

done:

    free(segs);
    free(parts);
    free(text);

    return rc;
}


static int
iw_live_master(iw_live_t *lv)
{
    char               path[PATH_MAX], text[8192];
    char               codecs[IW_LIVE_MAX_TRACKS][80];
    char               uris[IW_LIVE_MAX_TRACKS][48];
    size_t             len;
    uint64_t           apeak, peak;
    unsigned           i, nvars;
    iw_hls_audio_t     audio;
    iw_live_track_t   *t, *a;
    iw_hls_variant_t   vars[IW_LIVE_MAX_TRACKS];

    a = NULL;

    for (i = 0; i < lv->ntracks; i++) {
        if (!lv->tracks[i].video) {
            a = &lv->tracks[i];
        }
    }

    memset(vars, 0, sizeof(vars));
    memset(&audio, 0, sizeof(audio));
    apeak = a != NULL ? a->peak * 3 / 2 : 0;

    if (a != NULL) {
        audio.group = "aud";
        audio.name = "audio";
        audio.language = NULL;
        audio.channels = a->ist->codecpar->ch_layout.nb_channels;
        audio.is_default = 1;
        audio.uri = "audio/index.m3u8";
    }

    /* one variant per video track: the copy, or each rendition */

    nvars = 0;

    for (i = 0; i < lv->ntracks; i++) {
        t = &lv->tracks[i];

        if (!t->video) {
            continue;
        }

        snprintf(codecs[nvars], sizeof(codecs[nvars]), "%s%s%s", t->codecs,
                 a != NULL ? "," : "", a != NULL ? a->codecs : "");
        snprintf(uris[nvars], sizeof(uris[nvars]), "%s/index.m3u8",
                 t->name);

        /* measured on the first segment, with room for later peaks */
        peak = t->peak * 3 / 2;

        if (t->enc != NULL) {
            /* an encoded rendition keeps to its rung's rates */
            if (peak < t->rung.maxrate) {
                peak = t->rung.maxrate;
            }

            vars[nvars].average = t->rung.bitrate
                                  + (a != NULL ? a->peak : 0);
        }

        vars[nvars].bandwidth = peak + apeak;
        vars[nvars].width = t->width;
        vars[nvars].height = t->height;
        vars[nvars].fps_milli = (unsigned) av_rescale(lv->fps.num, 1000,
                                                      lv->fps.den);
        vars[nvars].codecs = codecs[nvars];
        vars[nvars].audio = a != NULL ? "aud" : NULL;
        vars[nvars].uri = uris[nvars];
        nvars++;
    }

    if (nvars == 0) {
        vars[0].bandwidth = apeak;
        vars[0].codecs = a->codecs;
        vars[0].uri = "audio/index.m3u8";
        nvars = 1;
        a = NULL;
    }

    len = iw_hls_master(vars, nvars, &audio, a != NULL ? 1 : 0, text,
                        sizeof(text));
    if (len == 0) {
        return -1;
    }

    snprintf(path, sizeof(path), "%s/master.m3u8", lv->dir);

    return iw_file_write(path, text, len, 0);
}


static int
iw_live_append(iw_live_track_t *t, const uint8_t *data, size_t len)
{
    size_t    cap;
    uint8_t  *p;

    if (t->seglen + len > t->segcap) {
        cap = t->segcap ? t->segcap : 262144;

        while (cap < t->seglen + len) {
            cap *= 2;
        }

        p = realloc(t->segbuf, cap);
        if (p == NULL) {
            return -1;
        }

        t->segbuf = p;
        t->segcap = cap;
    }

    memcpy(t->segbuf + t->seglen, data, len);
    t->seglen += len;

    return 0;
}


static int
iw_live_read_header(int fd, char *name, size_t cap)
{
    int            n;
    char           line[IW_LIVE_HEADER_MAX];
    size_t         len;
    int64_t        deadline;
    struct pollfd  pfd;

    len = 0;
    deadline = iw_monotonic_ms() + IW_LIVE_HEADER_MS;

    /* byte by byte: what follows the line is the stream's */

    while (len < sizeof(line)) {
        if (iw_quit || iw_terminate || iw_monotonic_ms() > deadline) {
            return -1;
        }

        pfd.fd = fd;
        pfd.events = POLLIN;

        if (poll(&pfd, 1, IW_LIVE_POLL_MS) <= 0) {
            continue;
        }

        n = read(fd, &line[len], 1);

        if (n <= 0) {
            if (n == -1 && errno == EINTR) {
                continue;
            }
            return -1;
        }

        if (line[len++] == '\n') {
            return iw_live_header(line, len, name, cap);
        }
    }

    return -1;
}


static int
iw_live_io_read(void *opaque, uint8_t *buf, int size)
{
    ssize_t        n;
    iw_live_t     *lv;
    struct pollfd  pfd;

    lv = opaque;

    for ( ;; ) {
        if (iw_quit || iw_terminate) {
            return AVERROR_EOF;
        }

        pfd.fd = lv->fd;
        pfd.events = POLLIN;

        if (poll(&pfd, 1, IW_LIVE_POLL_MS) <= 0) {
            continue;
        }

        n = read(lv->fd, buf, size);

        if (n > 0) {
            return (int) n;
        }

        if (n == 0) {
            return AVERROR_EOF;
        }

        if (errno != EINTR && errno != EAGAIN) {
            return AVERROR(errno);
        }
    }
}


static int
iw_live_interrupt(void *opaque)
{
    (void) opaque;

    return iw_quit || iw_terminate;
}


static void
iw_live_cleanup(iw_live_t *lv)
{
    unsigned  i;

    for (i = 0; i < IW_LIVE_MAX_TRACKS; i++) {
        if (lv->tracks[i].opened) {
            iw_seg_close(&lv->tracks[i].mux);
        }

        av_bsf_free(&lv->tracks[i].bsf);
        avcodec_free_context(&lv->tracks[i].enc);
        free(lv->tracks[i].win);
        free(lv->tracks[i].segbuf);
    }

    avfilter_graph_free(&lv->graph);
    avcodec_free_context(&lv->vdec);
    av_frame_free(&lv->frame);
    av_frame_free(&lv->filt);
    av_packet_free(&lv->epkt);

    if (lv->ifmt != NULL) {
        if (lv->ifmt->pb != NULL) {
            av_freep(&lv->ifmt->pb->buffer);
            avio_context_free(&lv->ifmt->pb);
        }

        avformat_close_input(&lv->ifmt);
    }
}
