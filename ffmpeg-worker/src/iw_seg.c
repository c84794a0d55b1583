
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_seg.h"
#include "iw_files.h"
#include "iw_hls.h"
#include "iw_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define IW_SEG_IO_SIZE      65536
#define IW_SEG_MOVFLAGS     "frag_custom+empty_moov+default_base_moof" \
                            "+cmaf+skip_sidx+skip_trailer+delay_moov"   \
                            "+negative_cts_offsets"


static int iw_seg_io_write(void *opaque, uint8_t *data, int size);
static int iw_seg_cut(iw_seg_t *s);
static size_t iw_seg_init_len(const uint8_t *p, size_t len);
static int iw_seg_put(iw_seg_t *s, const char *name, const uint8_t *data,
    size_t len);


int
iw_seg_open(iw_seg_t *s, const char *dir, const AVCodecParameters *par,
    AVRational tb, int64_t seg_us)
{
    int             rc;
    uint8_t        *iobuf;
    AVStream       *st;
    AVDictionary   *opts;

    memset(s, 0, sizeof(iw_seg_t));

    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    s->tb = tb;
    s->seg_us = seg_us;
    s->next_cut = seg_us;
    s->cur_start = INT64_MIN;
    s->end = INT64_MIN;
    s->video = par->codec_type == AVMEDIA_TYPE_VIDEO;

    if (iw_mkdir_p(dir, 0755) != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot create \"%s\"", dir);
        return -1;
    }

    rc = avformat_alloc_output_context2(&s->oc, NULL, "mp4", NULL);
    if (rc < 0) {
        return rc;
    }

    st = avformat_new_stream(s->oc, NULL);
    if (st == NULL) {
        return AVERROR(ENOMEM);
    }

    rc = avcodec_parameters_copy(st->codecpar, par);
    if (rc < 0) {
        return rc;
    }

    st->codecpar->codec_tag = 0;
    st->time_base = tb;

    iobuf = av_malloc(IW_SEG_IO_SIZE);
    if (iobuf == NULL) {
        return AVERROR(ENOMEM);
    }

    s->oc->pb = avio_alloc_context(iobuf, IW_SEG_IO_SIZE, 1, s, NULL,
                                   iw_seg_io_write, NULL);
    if (s->oc->pb == NULL) {
        av_free(iobuf);
        return AVERROR(ENOMEM);
    }

    s->oc->flags |= AVFMT_FLAG_CUSTOM_IO;

    opts = NULL;
    av_dict_set(&opts, "movflags", IW_SEG_MOVFLAGS, 0);

    rc = avformat_write_header(s->oc, &opts);
    av_dict_free(&opts);

    if (rc < 0) {
        return rc;
    }

    avio_flush(s->oc->pb);

    return 0;
}


int
iw_seg_write(iw_seg_t *s, AVPacket *pkt)
{
    int       rc, key;
    int64_t   us, end;

    us = av_rescale_q(pkt->pts, s->tb, AV_TIME_BASE_Q);
    end = av_rescale_q(pkt->pts + pkt->duration, s->tb, AV_TIME_BASE_Q);

    key = !s->video || (pkt->flags & AV_PKT_FLAG_KEY);

    if (s->cur_packets != 0 && key && us >= s->next_cut) {
        rc = iw_seg_cut(s);
        if (rc < 0) {
            av_packet_unref(pkt);
            return rc;
        }
    }

    if (s->cur_start == INT64_MIN) {
        s->cur_start = us;

        while (s->next_cut <= us) {
            s->next_cut += s->seg_us;
        }
    }

    if (end > s->end) {
        s->end = end;
    }

    rc = iw_seg_mux(s, pkt);
    if (rc < 0) {
        return rc;
    }

    s->cur_packets++;

    return 0;
}


int
iw_seg_mux(iw_seg_t *s, AVPacket *pkt)
{
    int        rc;
    AVStream  *st;

    st = s->oc->streams[0];

    pkt->stream_index = 0;
    av_packet_rescale_ts(pkt, s->tb, st->time_base);

    rc = av_write_frame(s->oc, pkt);
    av_packet_unref(pkt);

    return rc;
}


int
iw_seg_end(iw_seg_t *s)
{
    int  rc;

    if (s->cur_packets != 0) {
        rc = iw_seg_cut(s);
        if (rc < 0) {
            return rc;
        }
    }

    rc = av_write_trailer(s->oc);
    if (rc < 0) {
        return rc;
    }

    if (s->nsegs == 0) {
        iw_log(IW_LOG_ERR, "no media in \"%s\"", s->dir);
        return AVERROR(EINVAL);
    }

    return 0;
}


int
iw_seg_merge_last(iw_seg_t *s)
{
    int             rc;
    char            path[PATH_MAX], *prev, *last, *p;
    size_t          plen, llen;
    iw_seg_info_t  *a, *b;

    if (s->nsegs < 2) {
        return 0;
    }

    a = &s->segs[s->nsegs - 2];
    b = &s->segs[s->nsegs - 1];

    prev = NULL;
    last = NULL;
    rc = AVERROR(ENAMETOOLONG);

    if (snprintf(path, sizeof(path), "%s/%s", s->dir, b->uri)
        >= (int) sizeof(path))
    {
        goto done;
    }

    /* the files are as long as we wrote them */

    if (iw_file_read(path, b->bytes, &last, &llen) != 0
        || snprintf(path, sizeof(path), "%s/%s", s->dir, a->uri)
           >= (int) sizeof(path)
        || iw_file_read(path, a->bytes, &prev, &plen) != 0)
    {
        rc = AVERROR(errno);
        goto done;
    }

    /* moof + mdat after moof + mdat: a segment of two fragments */

    p = realloc(prev, plen + llen);
    if (p == NULL) {
        rc = AVERROR(ENOMEM);
        goto done;
    }

    prev = p;
    memcpy(prev + plen, last, llen);

    rc = iw_seg_put(s, a->uri, (uint8_t *) prev, plen + llen);
    if (rc < 0) {
        goto done;
    }

    if (snprintf(path, sizeof(path), "%s/%s", s->dir, b->uri)
        < (int) sizeof(path))
    {
        (void) unlink(path);
    }

    a->bytes += b->bytes;
    s->nsegs--;

done:

    free(prev);
    free(last);

    return rc;
}


int
iw_seg_playlist(iw_seg_t *s)
{
    int                rc;
    char              *text;
    size_t             len, cap;
    unsigned           i;
    iw_hls_segment_t  *hs;
    iw_hls_playlist_t  pl;

    for (i = 0; i + 1 < s->nsegs; i++) {
        s->segs[i].duration = s->segs[i + 1].start - s->segs[i].start;
    }

    s->segs[i].duration = s->end - s->segs[i].start;

    hs = calloc(s->nsegs, sizeof(iw_hls_segment_t));
    if (hs == NULL) {
        return AVERROR(ENOMEM);
    }

    for (i = 0; i < s->nsegs; i++) {
        if (s->segs[i].duration <= 0) {
            s->segs[i].duration = 1;
        }

        hs[i].duration = s->segs[i].duration;
        hs[i].uri = s->segs[i].uri;
        hs[i].pdt = -1;
    }

    memset(&pl, 0, sizeof(pl));
    pl.type = IW_HLS_VOD;
    pl.map_uri = "init.mp4";
    pl.endlist = 1;
    pl.segments = hs;
    pl.nsegments = s->nsegs;
    pl.tail_pdt = -1;

    cap = 1024 + (size_t) s->nsegs * 64;

    text = malloc(cap);
    if (text == NULL) {
        free(hs);
        return AVERROR(ENOMEM);
    }

    len = iw_hls_media(&pl, 0, text, cap);
    free(hs);

    rc = len != 0 ? iw_seg_put(s, "index.m3u8", (uint8_t *) text, len)
                  : AVERROR(EINVAL);
    free(text);

    return rc;
}


void
iw_seg_close(iw_seg_t *s)
{
    if (s->oc != NULL) {
        if (s->oc->pb != NULL) {
            av_freep(&s->oc->pb->buffer);
            avio_context_free(&s->oc->pb);
        }

        avformat_free_context(s->oc);
        s->oc = NULL;
    }

    free(s->buf);
    free(s->segs);
    s->buf = NULL;
    s->segs = NULL;
}


uint64_t
iw_seg_peak(const iw_seg_t *s)
{
    unsigned  i;
    uint64_t  b, peak;

    peak = 0;

    for (i = 0; i < s->nsegs; i++) {
        b = s->segs[i].bytes * 8 * 1000000 / (uint64_t) s->segs[i].duration;
        if (b > peak) {
            peak = b;
        }
    }

    return peak;
}


uint64_t
iw_seg_average(const iw_seg_t *s)
{
    unsigned  i;
    int64_t   us;
    uint64_t  bytes;

    us = 0;
    bytes = 0;

    for (i = 0; i < s->nsegs; i++) {
        us += s->segs[i].duration;
        bytes += s->segs[i].bytes;
    }

    return us > 0 ? bytes * 8 * 1000000 / (uint64_t) us : 0;
}


int
iw_seg_fragment(iw_seg_t *s, const uint8_t **data, size_t *len)
{
    int     rc;
    size_t  off;

    rc = av_write_frame(s->oc, NULL);
    if (rc < 0) {
        return rc;
    }

    avio_flush(s->oc->pb);

    off = 0;

    if (!s->init_done) {
        off = iw_seg_init_len(s->buf, s->len);

        if (off != 0 && off == s->len) {
            /*
             * delay_moov: the first flush wrote only the moov (now that
             * the first timestamps are known), the fragment comes next
             */

            rc = av_write_frame(s->oc, NULL);
            if (rc < 0) {
                return rc;
            }

            avio_flush(s->oc->pb);
        }

        if (off == 0) {
            iw_log(IW_LOG_ERR, "no initialization segment for \"%s\"",
                   s->dir);
            return AVERROR(EINVAL);
        }

        rc = iw_seg_put(s, "init.mp4", s->buf, off);
        if (rc < 0) {
            return rc;
        }

        s->init_bytes = off;
        s->init_done = 1;
    }

    *data = s->buf + off;
    *len = s->len - off;

    /* the next muxer output starts a new fragment */
    s->consumed = 1;

    return 0;
}


static int
iw_seg_cut(iw_seg_t *s)
{
    int             rc;
    size_t          len;
    const uint8_t  *data;
    iw_seg_info_t  *info, *segs;

    rc = iw_seg_fragment(s, &data, &len);
    if (rc < 0) {
        return rc;
    }

    if (s->nsegs == s->segs_cap) {
        s->segs_cap = s->segs_cap ? s->segs_cap * 2 : 64;

        segs = realloc(s->segs, s->segs_cap * sizeof(iw_seg_info_t));
        if (segs == NULL) {
            return AVERROR(ENOMEM);
        }

        s->segs = segs;
    }

    info = &s->segs[s->nsegs];
    info->start = s->cur_start;
    info->duration = 0;
    info->bytes = len;
    snprintf(info->uri, sizeof(info->uri), "seg%05u.m4s", s->nsegs);

    rc = iw_seg_put(s, info->uri, data, len);
    if (rc < 0) {
        return rc;
    }

    s->nsegs++;
    s->cur_packets = 0;
    s->cur_start = INT64_MIN;

    return 0;
}


/* the length of the leading ftyp and moov boxes */

static size_t
iw_seg_init_len(const uint8_t *p, size_t len)
{
    size_t    off;
    uint64_t  size;

    off = 0;

    while (off + 8 <= len) {
        if (memcmp(p + off + 4, "ftyp", 4) != 0
            && memcmp(p + off + 4, "moov", 4) != 0)
        {
            break;
        }

        size = ((uint64_t) p[off] << 24) | ((uint64_t) p[off + 1] << 16)
               | ((uint64_t) p[off + 2] << 8) | p[off + 3];

        if (size < 8 || size > len - off) {
            return 0;
        }

        off += size;
    }

    return off;
}


static int
iw_seg_io_write(void *opaque, uint8_t *data, int size)
{
    size_t     cap;
    uint8_t   *p;
    iw_seg_t  *s;

    s = opaque;

    if (s->consumed) {
        s->consumed = 0;
        s->len = 0;
    }

    if (s->len + size > s->cap) {
        cap = s->cap ? s->cap : 65536;

        while (cap < s->len + size) {
            cap *= 2;
        }

        p = realloc(s->buf, cap);
        if (p == NULL) {
            return AVERROR(ENOMEM);
        }

        s->buf = p;
        s->cap = cap;
    }

    memcpy(s->buf + s->len, data, size);
    s->len += size;

    return size;
}


static int
iw_seg_put(iw_seg_t *s, const char *name, const uint8_t *data, size_t len)
{
    char  path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", s->dir, name)
        >= (int) sizeof(path))
    {
        return AVERROR(ENAMETOOLONG);
    }

    if (iw_file_write(path, data, len, 0) != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot write \"%s\"", path);
        return AVERROR(errno);
    }

    return 0;
}
