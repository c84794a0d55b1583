
/*
 * Copyright (C) nginx video ingest developers
 *
 * CMAF segmenter: one track per rendition through libavformat's mp4
 * muxer in frag_custom mode, written to memory and cut by us into
 * init.mp4 and one file per segment (seg00000.m4s, ...) at the segment
 * boundaries: video at the first keyframe at or after a boundary, audio
 * at the first frame at or after it. Every file is written by temp +
 * rename. Durations and sizes of the segments are kept for the playlist
 * and the master's bandwidths.
 */


#ifndef _IW_SEG_H_INCLUDED_
#define _IW_SEG_H_INCLUDED_


#include <limits.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>


typedef struct {
    int64_t              start;         /* us, first presentation time */
    int64_t              duration;      /* us */
    uint64_t             bytes;
    char                 uri[24];
} iw_seg_info_t;


typedef struct {
    AVFormatContext     *oc;
    AVRational           tb;            /* of the packets given */
    char                 dir[PATH_MAX];

    uint8_t             *buf;           /* the muxer's output */
    size_t               len;
    size_t               cap;

    int64_t              seg_us;        /* target duration */
    int64_t              next_cut;      /* us */
    int64_t              cur_start;     /* us, INT64_MIN: none open */
    int64_t              end;           /* us, end of the last sample */
    unsigned             cur_packets;
    uint64_t             init_bytes;
    unsigned             video:1;
    unsigned             init_done:1;
    unsigned             consumed:1;

    iw_seg_info_t       *segs;
    unsigned             nsegs;
    unsigned             segs_cap;
} iw_seg_t;


/* par: the track; tb: time base of the packets that will be given */
int iw_seg_open(iw_seg_t *s, const char *dir, const AVCodecParameters *par,
    AVRational tb, int64_t seg_us);

/*
 * Muxes one packet (timestamps in the time base given to iw_seg_open,
 * starting near 0), cutting a segment before it when it starts one.
 * The packet is left unreferenced.
 */
int iw_seg_write(iw_seg_t *s, AVPacket *pkt);

/* muxes one packet, no cutting (the caller cuts) */
int iw_seg_mux(iw_seg_t *s, AVPacket *pkt);

/*
 * Ends the fragment of the packets muxed so far (writing init.mp4 the
 * first time); data/len is its moof + mdat, valid until the next call.
 */
int iw_seg_fragment(iw_seg_t *s, const uint8_t **data, size_t *len);

/* cuts the last segment and ends the muxer (VOD) */
int iw_seg_end(iw_seg_t *s);

/*
 * Appends the last segment to the one before it (one segment of two
 * fragments) and removes its file; for a sliver at the end (VOD).
 */
int iw_seg_merge_last(iw_seg_t *s);

/* writes index.m3u8 of the segments (VOD) */
int iw_seg_playlist(iw_seg_t *s);

void iw_seg_close(iw_seg_t *s);

/* bits/s: the highest of any segment, and over the whole */
uint64_t iw_seg_peak(const iw_seg_t *s);
uint64_t iw_seg_average(const iw_seg_t *s);


#endif /* _IW_SEG_H_INCLUDED_ */
