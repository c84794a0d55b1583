
/*
 * Copyright (C) nginx video ingest developers
 *
 * MPEG-TS demuxer (ISO/IEC 13818-1) for live ingest: bytes are pushed
 * in slices of any size (SRT payloads are 1316 bytes, seven packets, but
 * nothing relies on that); the demuxer finds and keeps 188-byte packet
 * sync, reads PAT and PMT (CRC-32 checked, the first program only),
 * tracks continuity counters, reassembles PES packets of H.264 (stream
 * type 0x1b), H.265 (0x24) and AAC in ADTS (0x0f) and hands out access
 * units through a callback: a video PES as it is (an Annex B access
 * unit), an AAC PES split into its ADTS frames, each with its own PTS.
 *
 * Memory is bounded: one PES buffer per elementary stream, grown up to
 * max_pes bytes; a larger PES is dropped and counted. A packet loss
 * (continuity counter jump, transport error) drops the PES it hit, and
 * the next frame of that stream carries "discontinuity".
 */


#ifndef _INGEST_TS_H_INCLUDED_
#define _INGEST_TS_H_INCLUDED_


#include "ingest_core.h"


#define INGEST_TS_PACKET_SIZE   188
#define INGEST_TS_MAX_STREAMS   8
#define INGEST_TS_SECTION_MAX   1024          /* PAT/PMT section size */
#define INGEST_TS_MAX_PES       (4 * 1024 * 1024)
#define INGEST_TS_ADTS_MAX      8192          /* 13-bit frame length */

/* 33-bit 90 kHz timestamps */
#define INGEST_TS_TIME_MASK     ((INT64_C(1) << 33) - 1)
#define INGEST_TS_NO_TIME       (-1)


typedef enum {
    INGEST_TS_CODEC_NONE = 0,
    INGEST_TS_CODEC_H264,
    INGEST_TS_CODEC_H265,
    INGEST_TS_CODEC_AAC
} ingest_ts_codec_t;


/* one access unit: valid only during the callback */
typedef struct {
    ingest_ts_codec_t     codec;
    unsigned              pid;
    int64_t               pts;            /* 0 .. 2^33-1, or NO_TIME */
    int64_t               dts;            /* pts when the PES had none */
    unsigned              key:1;          /* H.264 IDR, H.265 IRAP; every
                                             AAC frame */
    unsigned              discontinuity:1;  /* data of this stream was
                                               lost before this frame */

    /* AAC, from the ADTS header */
    unsigned              aac_object;     /* audio object type: 2 LC */
    unsigned              aac_rate_index;
    unsigned              aac_channels;   /* channel configuration */
    unsigned              sample_rate;
    unsigned              samples;        /* 1024 per raw data block */

    /* an Annex B access unit, or one ADTS frame with its header */
    const unsigned char  *data;
    size_t                len;
} ingest_ts_frame_t;


/* returns 0 to go on, anything else makes ingest_ts_feed() return -1 */
typedef int (*ingest_ts_frame_pt)(void *ctx, const ingest_ts_frame_t *f);


typedef struct {
    ingest_ts_frame_pt    handler;
    void                 *ctx;
    size_t                max_pes;        /* 0: INGEST_TS_MAX_PES */

    /* PES buffers; NULL: malloc and free */
    void               *(*alloc)(void *data, size_t size);
    void                (*free)(void *data, void *p);
    void                 *alloc_data;
} ingest_ts_conf_t;


typedef struct {
    uint64_t              bytes;          /* fed */
    uint64_t              packets;        /* 188-byte packets read */
    uint64_t              cc_errors;      /* continuity counter jumps */
    uint64_t              discontinuities;  /* discontinuity_indicator:
                                               a jump that is no error */
    uint64_t              duplicates;     /* repeated packets dropped */
    uint64_t              tei;            /* transport_error_indicator */
    uint64_t              scrambled;
    uint64_t              sync_losses;    /* packet sync lost */
    uint64_t              resyncs;        /* and found again */
    uint64_t              dropped_bytes;  /* out of sync, lost PES, bad
                                             or oversized PES, bad ADTS */
    uint64_t              psi_crc_errors;
    uint64_t              psi_errors;     /* malformed PAT/PMT */
    uint64_t              pes_errors;     /* malformed PES header */
    uint64_t              pes_overflows;  /* PES above max_pes */
    uint64_t              alloc_failures;
    uint64_t              adts_errors;    /* bytes skipped to find a sync */
    uint64_t              pmt_updates;
    uint64_t              frames;
    uint64_t              video_frames;
    uint64_t              audio_frames;
    uint64_t              keyframes;
} ingest_ts_stats_t;


/* a section being assembled */
typedef struct {
    unsigned              pid;
    int                   cc;             /* -1: none yet */
    int                   version;        /* -1: none yet */
    size_t                len;
    unsigned              started:1;
    unsigned char         buf[INGEST_TS_SECTION_MAX];
} ingest_ts_psi_t;


typedef struct {
    unsigned              pid;
    unsigned              stream_type;
    ingest_ts_codec_t     codec;
    int                   cc;             /* -1: none yet */

    unsigned char        *buf;            /* the raw PES being read */
    size_t                len;
    size_t                size;
    size_t                need;           /* 6 + PES_packet_length, or 0 */
    unsigned              started:1;      /* inside a PES */
    unsigned              dropping:1;     /* drop until the next start */
    unsigned              lost:1;         /* flag the next frame */

    /* AAC: an ADTS frame split over two PES, and frame timing */
    int64_t               aac_base;       /* PTS the samples count from */
    uint64_t              aac_samples;
    unsigned              aac_rate;
    size_t                carry_len;
    unsigned char         carry[INGEST_TS_ADTS_MAX];
} ingest_ts_stream_t;


typedef struct {
    ingest_ts_conf_t      conf;
    ingest_ts_stats_t     stats;

    /* packet sync */
    unsigned              synced:1;
    unsigned              ever_synced:1;
    unsigned              aborted:1;
    size_t                plen;           /* bytes in pkt */
    unsigned char         pkt[INGEST_TS_PACKET_SIZE];
    size_t                slen;           /* bytes in scan */
    unsigned char         scan[3 * INGEST_TS_PACKET_SIZE];

    ingest_ts_psi_t       pat;
    ingest_ts_psi_t       pmt;            /* pid 0: not known yet */
    unsigned              program;
    unsigned              pcr_pid;

    size_t                nstreams;
    ingest_ts_stream_t    streams[INGEST_TS_MAX_STREAMS];
} ingest_ts_t;


void ingest_ts_init(ingest_ts_t *ts, const ingest_ts_conf_t *conf);

/*
 * Reads len bytes. Returns 0, or -1 when the handler asked to stop (the
 * demuxer is then only good for ingest_ts_free()). The handler must not
 * feed this demuxer.
 */
int ingest_ts_feed(ingest_ts_t *ts, const unsigned char *p, size_t len);

/* at the end of the input: hands out the PES still being read */
int ingest_ts_flush(ingest_ts_t *ts);

void ingest_ts_free(ingest_ts_t *ts);

/* the elementary streams of the current PMT we demux */
typedef struct {
    unsigned              pid;
    unsigned              stream_type;
    ingest_ts_codec_t     codec;
} ingest_ts_stream_info_t;

size_t ingest_ts_streams(const ingest_ts_t *ts, ingest_ts_stream_info_t *out,
    size_t n);

const char *ingest_ts_codec_name(ingest_ts_codec_t codec);

/* MPEG-2 CRC-32 (poly 0x04c11db7, no reflection, init ~0) */
uint32_t ingest_ts_crc32(const unsigned char *p, size_t len);


/*
 * Annex B helpers shared with the FLV remuxer. ingest_annexb_next()
 * finds the next NAL unit at or after *pos (start codes 00 00 01 and
 * 00 00 00 01): returns 1 and sets nal/len (without the start code and
 * trailing zero bytes) and advances *pos, or 0 at the end.
 */
int ingest_annexb_next(const unsigned char **pos, const unsigned char *end,
    const unsigned char **nal, size_t *len);

/* 1 when the access unit's first VCL NAL unit is IDR (H.264) or IRAP
 * (H.265) */
int ingest_annexb_key(ingest_ts_codec_t codec, const unsigned char *p,
    size_t len);

/*
 * ADTS frame header at p (len bytes available): returns the frame length
 * (header included) and fills f's AAC fields, or 0 when p is not a
 * usable ADTS header (no sync, layer, rate index >= 13, length shorter
 * than the header).
 */
size_t ingest_adts_parse(const unsigned char *p, size_t len,
    ingest_ts_frame_t *f);

/* 90 kHz timestamps: b - a in the 33-bit circle, in [-2^32, 2^32) */
int64_t ingest_ts_diff(int64_t a, int64_t b);


#endif /* _INGEST_TS_H_INCLUDED_ */
