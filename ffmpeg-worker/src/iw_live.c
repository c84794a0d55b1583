
/*
 * Copyright (C) nginx video ingest developers
 */


#define _GNU_SOURCE

#include "iw_live.h"
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
#include <libavformat/avformat.h>


#define IW_LIVE_MAX_PARTS   64
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
    AVStream            *ist;
    AVBSFContext        *bsf;           /* ADTS to raw AAC */
    iw_seg_t             mux;
    iw_cut_t             cut;
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
    unsigned             part_key:1;
    unsigned             part_open:1;
    unsigned             started:1;
    unsigned             opened:1;
} iw_live_track_t;


typedef struct {
    const iw_conf_t     *conf;
    int                  fd;
    char                 name[IW_LIVE_NAME_LEN + 1];
    char                 dir[IW_LIVE_DIR_LEN];
    AVFormatContext     *ifmt;
    iw_live_track_t      tracks[2];
    unsigned             ntracks;
    int64_t              origin;        /* us, INT64_MIN: none yet */
    int64_t              wall;          /* unix ms at the origin */
    unsigned             master_done:1;
} iw_live_t;


static int iw_live_read_header(int fd, char *name, size_t cap);
static int iw_live_io_read(void *opaque, uint8_t *buf, int size);
static int iw_live_interrupt(void *opaque);
static int iw_live_open(iw_live_t *lv);
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

        for (i = 0; i < lv->ntracks; i++) {
            if (pkt->stream_index == lv->tracks[i].ist->index) {
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

    /* the end: the last part and segment, playlists with ENDLIST */

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
    size_t               len;
    uint8_t             *iobuf;
    unsigned             i;
    AVRational           fr;
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

    if (n == 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": no audio or video", lv->name);
        return -1;
    }

    lv->ntracks = n;

    for (i = 0; i < lv->ntracks; i++) {
        t = &lv->tracks[i];
        par = t->ist->codecpar;

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

        iw_cut_init(&t->cut, (int64_t) lv->conf->live_part_ms * 1000,
                    (int64_t) lv->conf->live_segment_ms * 1000,
                    par->codec_type == AVMEDIA_TYPE_VIDEO);

        if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            fr = av_guess_frame_rate(lv->ifmt, t->ist, NULL);
            if (fr.num <= 0 || fr.den <= 0) {
                fr = av_make_q(30, 1);
            }

            t->frame_dur = av_rescale(AV_TIME_BASE, fr.den, fr.num);

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
        rc = iw_seg_open(&t->mux, t->dir, par, t->ist->time_base,
                         (int64_t) lv->conf->live_segment_ms * 1000);
        t->opened = 1;
    }

    if (rc >= 0 && par->codec_id == AV_CODEC_ID_AAC) {
        (void) iw_codec_mp4a(par->extradata, par->extradata_size, t->codecs,
                             sizeof(t->codecs));
    }

    avcodec_parameters_free(&par);

    if (rc < 0) {
        iw_log(IW_LOG_ERR, "live \"%s\": cannot start the %s track",
               lv->name, t->name);
        return -1;
    }

    return 0;
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

    us = av_rescale_q(pkt->dts, t->ist->time_base, AV_TIME_BASE_Q);

    if (lv->origin == INT64_MIN) {
        lv->origin = us;
        lv->wall = iw_now_ms();
    }

    us -= lv->origin;

    dur = pkt->duration > 0
          ? av_rescale_q(pkt->duration, t->ist->time_base, AV_TIME_BASE_Q)
          : t->frame_dur;

    if (pkt->duration <= 0) {
        pkt->duration = av_rescale_q(dur, AV_TIME_BASE_Q, t->ist->time_base);
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

    pkt->pts -= av_rescale_q(lv->origin, AV_TIME_BASE_Q, t->ist->time_base);
    pkt->dts -= av_rescale_q(lv->origin, AV_TIME_BASE_Q, t->ist->time_base);

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
    char               *text, path[PATH_MAX], hint[32], ruri[32];
    size_t              len, cap;
    unsigned            i, j, n;
    iw_hls_part_t      *parts, *tail;
    iw_live_track_t    *o;
    iw_hls_report_t     rep;
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

    /* the other track's last part, so players switch without a reload */

    if (lv->ntracks == 2) {
        o = &lv->tracks[t == &lv->tracks[0] ? 1 : 0];

        snprintf(ruri, sizeof(ruri), "../%s/index.m3u8", o->name);
        rep.uri = ruri;

        if (o->cur.nparts != 0 && !ended) {
            rep.last_msn = o->cur.msn;
            rep.last_part = (int) o->cur.nparts - 1;
            pl.reports = &rep;
            pl.nreports = 1;

        } else if (o->nwin != 0) {
            rep.last_msn = o->win[o->nwin - 1].msn;
            rep.last_part = (int) o->win[o->nwin - 1].nparts - 1;
            pl.reports = &rep;
            pl.nreports = 1;
        }
    }

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
    char                path[PATH_MAX], text[4096], codecs[80];
    size_t              len;
    unsigned            i, nvars, naudio;
    AVRational          fr;
    iw_hls_audio_t      audio;
    iw_live_track_t    *t, *v, *a;
    iw_hls_variant_t    var;
    AVCodecParameters  *par;

    v = NULL;
    a = NULL;

    for (i = 0; i < lv->ntracks; i++) {
        t = &lv->tracks[i];
        if (t->ist->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            v = t;
        } else {
            a = t;
        }
    }

    memset(&var, 0, sizeof(var));
    naudio = 0;
    nvars = 1;

    if (a != NULL) {
        audio.group = "aud";
        audio.name = "audio";
        audio.language = NULL;
        audio.channels = a->ist->codecpar->ch_layout.nb_channels;
        audio.is_default = 1;
        audio.uri = "audio/index.m3u8";
    }

    if (v != NULL) {
        par = v->ist->codecpar;
        fr = av_guess_frame_rate(lv->ifmt, v->ist, NULL);

        snprintf(codecs, sizeof(codecs), "%s%s%s", v->codecs,
                 a != NULL ? "," : "", a != NULL ? a->codecs : "");

        /* measured on the first segment, with room for later peaks */
        var.bandwidth = (v->peak + (a != NULL ? a->peak : 0)) * 3 / 2;
        var.width = par->width;
        var.height = par->height;
        var.fps_milli = fr.num > 0 && fr.den > 0
                        ? (unsigned) av_rescale(fr.num, 1000, fr.den) : 0;
        var.codecs = codecs;
        var.audio = a != NULL ? "aud" : NULL;
        var.uri = "video/index.m3u8";
        naudio = a != NULL;

    } else {
        var.bandwidth = a->peak * 3 / 2;
        var.codecs = a->codecs;
        var.uri = "audio/index.m3u8";
    }

    len = iw_hls_master(&var, nvars, &audio, naudio, text, sizeof(text));
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

    for (i = 0; i < 2; i++) {
        if (lv->tracks[i].opened) {
            iw_seg_close(&lv->tracks[i].mux);
        }

        av_bsf_free(&lv->tracks[i].bsf);
        free(lv->tracks[i].win);
        free(lv->tracks[i].segbuf);
    }

    if (lv->ifmt != NULL) {
        if (lv->ifmt->pb != NULL) {
            av_freep(&lv->ifmt->pb->buffer);
            avio_context_free(&lv->ifmt->pb);
        }

        avformat_close_input(&lv->ifmt);
    }
}
