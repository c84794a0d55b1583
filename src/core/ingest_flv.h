
/*
 * Copyright (C) nginx video ingest developers
 *
 * FLV (and so RTMP) remuxing of what the TS demuxer hands out: H.264
 * Annex B access units become AVC video tag bodies (an AVC sequence
 * header, AVCDecoderConfigurationRecord, whenever SPS/PPS change; NAL
 * units with 4-byte lengths; keyframe from IDR; composition time in ms),
 * ADTS frames become AAC audio tag bodies (an AudioSpecificConfig
 * sequence header whenever the ADTS parameters change, then raw frames).
 *
 * Timestamps: 33-bit 90 kHz PTS/DTS are unwrapped to 64 bits and turned
 * into ms relative to the first DTS remuxed (audio or video), then cut
 * to FLV's 32 bits (RTMP carries them modulo 2^32 too).
 *
 * Tag bodies go into the caller's buffer: nothing is allocated.
 */


#ifndef _INGEST_FLV_H_INCLUDED_
#define _INGEST_FLV_H_INCLUDED_


#include "ingest_core.h"


#define INGEST_FLV_TAG_AUDIO        8
#define INGEST_FLV_TAG_VIDEO        9
#define INGEST_FLV_TAG_SCRIPT       18

#define INGEST_FLV_FILE_HEADER_LEN  13      /* header + PreviousTagSize0 */
#define INGEST_FLV_TAG_HEADER_LEN   11

/* parameter sets kept: bytes of all SPS (or all PPS) with their lengths */
#define INGEST_FLV_PS_MAX           1024
#define INGEST_FLV_PS_COUNT         8

/* the longest sequence header tag body */
#define INGEST_FLV_AVC_SEQ_MAX      (5 + 11 + 2 * INGEST_FLV_PS_MAX + 4)

/*
 * Room that always holds the tags of one access unit of len bytes: the
 * sequence header and the NAL units, each start code (3 or 4 bytes) of
 * a NAL unit of at least 1 byte becoming a 4-byte length.
 */
#define ingest_flv_video_size(len)                                            \
    (INGEST_FLV_AVC_SEQ_MAX + 5 + (len) + (len) / 4 + 4)
#define ingest_flv_audio_size(len)  (4 + 2 + (len))


typedef struct {
    unsigned              type;           /* INGEST_FLV_TAG_* */
    uint32_t              timestamp;      /* ms, the DTS */
    int32_t               cts;            /* ms, PTS - DTS (video) */
    unsigned              key:1;
    unsigned              header:1;       /* a sequence header */
    unsigned char        *data;           /* the tag body, in out */
    size_t                len;
} ingest_flv_tag_t;


typedef struct {
    /* what the sequence headers say, for onMetaData */
    unsigned              has_video:1;
    unsigned              has_audio:1;
    unsigned              width;
    unsigned              height;
    unsigned              profile;        /* profile_idc */
    unsigned              level;          /* level_idc */
    unsigned              chroma_format;  /* chroma_format_idc */
    unsigned              bit_depth;      /* luma */
    unsigned              aac_object;
    unsigned              sample_rate;
    unsigned              channels;
} ingest_flv_info_t;


typedef struct {
    uint64_t              video_tags;
    uint64_t              audio_tags;
    uint64_t              seq_headers;
    uint64_t              waiting;        /* AUs dropped before SPS, PPS
                                             and an IDR were seen */
    uint64_t              bad_frames;     /* no NAL unit, bad ADTS, AAC
                                             with a PCE or several raw
                                             data blocks, no timestamp */
    uint64_t              bad_ps;         /* SPS/PPS too large, too many,
                                             or an SPS we cannot read */
} ingest_flv_stats_t;


typedef struct {
    ingest_flv_info_t     info;
    ingest_flv_stats_t    stats;

    /* timestamps: unwrapped 90 kHz */
    unsigned              time_set:1;
    int64_t               base;
    int64_t               last;

    /* video */
    unsigned              wait_key:1;
    unsigned              avc_pending:1;  /* SPS/PPS not sent yet */
    unsigned              nsps;
    unsigned              npps;
    size_t                sps_len;
    size_t                pps_len;
    unsigned char         sps[INGEST_FLV_PS_MAX];   /* u16 length + NAL */
    unsigned char         pps[INGEST_FLV_PS_MAX];

    /* audio */
    unsigned              aac_sent:1;
    unsigned char         asc[2];
} ingest_flv_t;


void ingest_flv_init(ingest_flv_t *flv);

/* the next video tag sent is a keyframe (after a loss, say) */
void ingest_flv_wait_key(ingest_flv_t *flv);

/*
 * One H.264 access unit (Annex B) with its 90 kHz PTS and DTS (DTS may
 * be -1: same as PTS; both -1: the previous frame's time). Writes into
 * out (cap bytes; ingest_flv_video_size(len) always suffices) up to two
 * tags into tags[]: the AVC sequence header when SPS/PPS are new or
 * changed, and the NAL units (AUD and filler data left out, SPS/PPS
 * only in the sequence header). Nothing is written until SPS, PPS and
 * an IDR have been seen. Returns the number of tags, or -1 when out is
 * too small.
 */
int ingest_flv_video(ingest_flv_t *flv, const unsigned char *au, size_t len,
    int64_t pts, int64_t dts, unsigned char *out, size_t cap,
    ingest_flv_tag_t *tags);

/*
 * One ADTS frame (header included) with its 90 kHz PTS: up to two tags,
 * the AAC sequence header when the parameters are new or changed, and
 * the raw frame. Returns the number of tags, or -1 when out is too
 * small (ingest_flv_audio_size(len) always suffices).
 */
int ingest_flv_audio(ingest_flv_t *flv, const unsigned char *adts,
    size_t len, int64_t pts, unsigned char *out, size_t cap,
    ingest_flv_tag_t *tags);

/*
 * AVCDecoderConfigurationRecord from one SPS and one PPS (NAL units
 * without start code); returns its length or 0 (cap too small, bad SPS).
 */
size_t ingest_flv_avcc(const unsigned char *sps, size_t sps_len,
    const unsigned char *pps, size_t pps_len, unsigned char *out, size_t cap);

/*
 * Reads what onMetaData and the decoder configuration need from an SPS
 * NAL unit (header byte included). Returns 0 or -1.
 */
int ingest_flv_parse_sps(const unsigned char *nal, size_t len,
    ingest_flv_info_t *info);

/* FLV file framing, for files and tests: the 13 bytes of the file
 * header with PreviousTagSize0, and the 11 bytes of a tag header; a tag
 * is followed by its PreviousTagSize (11 + body length, big-endian) */
size_t ingest_flv_file_header(unsigned char *out, int audio, int video);
size_t ingest_flv_tag_header(unsigned char *out, unsigned type, size_t len,
    uint32_t timestamp);


#endif /* _INGEST_FLV_H_INCLUDED_ */
