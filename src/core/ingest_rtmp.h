
/*
 * Copyright (C) nginx video ingest developers
 *
 * The RTMP client side of a publisher (Adobe RTMP 1.0 specification,
 * December 2012), enough to push a live stream into nginx-rtmp-module:
 *
 *   - URL: rtmp://host[:port]/app[/...]/stream[?args]
 *   - handshake: C0+C1 out, S0+S1+S2 in (S0 version 3; S2 should echo
 *     C1), C2 (S1 echoed) out; the simple handshake, no digests
 *   - chunk stream writer (fmt 0, 1, 3; extended timestamps) with our
 *     chunk size announced by Set Chunk Size, and a reader of the
 *     server's chunks (fmt 0-3, Set Chunk Size, Abort)
 *   - AMF0 encoder and decoder
 *   - a client state machine: bytes in, bytes to send out, and when
 *     publishing may start: connect -> releaseStream, FCPublish,
 *     createStream -> publish(name, "live") -> onStatus
 *     NetStream.Publish.Start; then @setDataFrame onMetaData and media
 *
 * Nothing here does I/O or allocates: the glue owns the socket, passes
 * received bytes and sends what comes out.
 */


#ifndef _INGEST_RTMP_H_INCLUDED_
#define _INGEST_RTMP_H_INCLUDED_


#include "ingest_core.h"


#define INGEST_RTMP_PORT             1935
#define INGEST_RTMP_VERSION          3
#define INGEST_RTMP_HANDSHAKE_SIZE   1536

#define INGEST_RTMP_DEFAULT_CHUNK    128
#define INGEST_RTMP_CHUNK_SIZE       4096    /* the one we announce */
#define INGEST_RTMP_MAX_CHUNK        0x7fffffff

/* a server message larger than this is skipped (we only read commands
 * and control messages) */
#define INGEST_RTMP_MAX_MESSAGE      16384
#define INGEST_RTMP_READER_STREAMS   8       /* chunk streams tracked */
#define INGEST_RTMP_WRITER_STREAMS   8

/* the largest basic + message header + extended timestamp */
#define INGEST_RTMP_MAX_HEADER       18

/* message types */
#define INGEST_RTMP_MSG_CHUNK_SIZE   1
#define INGEST_RTMP_MSG_ABORT        2
#define INGEST_RTMP_MSG_ACK          3
#define INGEST_RTMP_MSG_USER         4
#define INGEST_RTMP_MSG_ACK_SIZE     5
#define INGEST_RTMP_MSG_BANDWIDTH    6
#define INGEST_RTMP_MSG_AUDIO        8
#define INGEST_RTMP_MSG_VIDEO        9
#define INGEST_RTMP_MSG_AMF3_DATA    15
#define INGEST_RTMP_MSG_AMF3_CMD     17
#define INGEST_RTMP_MSG_AMF0_DATA    18
#define INGEST_RTMP_MSG_AMF0_CMD     20

/* user control events */
#define INGEST_RTMP_USER_STREAM_BEGIN  0
#define INGEST_RTMP_USER_PING_REQUEST  6
#define INGEST_RTMP_USER_PING_RESPONSE 7

/* chunk stream ids we send on */
#define INGEST_RTMP_CSID_CONTROL     2
#define INGEST_RTMP_CSID_COMMAND     3
#define INGEST_RTMP_CSID_AUDIO       4
#define INGEST_RTMP_CSID_DATA        5
#define INGEST_RTMP_CSID_VIDEO       6


/* AMF0 (AMF0 File Format Specification, 2006) */

#define INGEST_AMF0_NUMBER           0x00
#define INGEST_AMF0_BOOLEAN          0x01
#define INGEST_AMF0_STRING           0x02
#define INGEST_AMF0_OBJECT           0x03
#define INGEST_AMF0_NULL             0x05
#define INGEST_AMF0_UNDEFINED        0x06
#define INGEST_AMF0_REFERENCE        0x07
#define INGEST_AMF0_ECMA_ARRAY       0x08
#define INGEST_AMF0_OBJECT_END       0x09
#define INGEST_AMF0_STRICT_ARRAY     0x0a
#define INGEST_AMF0_DATE             0x0b
#define INGEST_AMF0_LONG_STRING      0x0c
#define INGEST_AMF0_XML_DOCUMENT     0x0f
#define INGEST_AMF0_TYPED_OBJECT     0x10

/* nesting the decoder follows */
#define INGEST_AMF0_MAX_DEPTH        16


/* the encoder: a write past cap sets err and writes nothing more */
typedef struct {
    unsigned char        *start;
    unsigned char        *pos;
    unsigned char        *end;
    unsigned              err:1;
} ingest_amf0_writer_t;

void ingest_amf0_writer_init(ingest_amf0_writer_t *w, unsigned char *buf,
    size_t cap);
void ingest_amf0_number(ingest_amf0_writer_t *w, double v);
void ingest_amf0_boolean(ingest_amf0_writer_t *w, int v);
/* a string (long string above 65535 bytes) */
void ingest_amf0_string(ingest_amf0_writer_t *w, const void *s, size_t len);
void ingest_amf0_cstring(ingest_amf0_writer_t *w, const char *s);
void ingest_amf0_null(ingest_amf0_writer_t *w);
void ingest_amf0_object_start(ingest_amf0_writer_t *w);
void ingest_amf0_ecma_start(ingest_amf0_writer_t *w, uint32_t count);
/* a property name inside an object or ECMA array, then its value */
void ingest_amf0_key(ingest_amf0_writer_t *w, const char *name);
void ingest_amf0_object_end(ingest_amf0_writer_t *w);
/* bytes written, or 0 after an error */
size_t ingest_amf0_length(const ingest_amf0_writer_t *w);


/* the decoder */
typedef struct {
    unsigned              type;           /* INGEST_AMF0_* marker */
    double                number;         /* NUMBER, DATE */
    int                   boolean;
    ingest_str_t          str;            /* STRING, LONG_STRING, XML */
    ingest_str_t          body;           /* OBJECT, ECMA_ARRAY,
                                             TYPED_OBJECT: the properties
                                             through the end marker;
                                             STRICT_ARRAY: the values */
    uint32_t              count;          /* ECMA/STRICT array count */
} ingest_amf0_value_t;

typedef struct {
    const unsigned char  *pos;
    const unsigned char  *end;
} ingest_amf0_reader_t;

void ingest_amf0_reader_init(ingest_amf0_reader_t *r, const unsigned char *p,
    size_t len);
/* the next value (an object whole): 1, 0 at the end, -1 malformed (v
 * is then UNDEFINED) */
int ingest_amf0_read(ingest_amf0_reader_t *r, ingest_amf0_value_t *v);
/*
 * The next property of an object or ECMA array (r over v.body): 1 with
 * key and value, 0 at the object end marker, -1 malformed.
 */
int ingest_amf0_next_prop(ingest_amf0_reader_t *r, ingest_str_t *key,
    ingest_amf0_value_t *v);
/* a property of an object or ECMA array value: 1 found, 0 not, -1 bad */
int ingest_amf0_get(const ingest_amf0_value_t *obj, const char *key,
    ingest_amf0_value_t *v);


/* the chunk stream writer */
typedef struct {
    unsigned              used:1;
    unsigned              csid;
    uint32_t              msid;
    uint32_t              timestamp;
} ingest_rtmp_wstream_t;

typedef struct {
    uint32_t              chunk_size;
    ingest_rtmp_wstream_t streams[INGEST_RTMP_WRITER_STREAMS];
} ingest_rtmp_writer_t;

void ingest_rtmp_writer_init(ingest_rtmp_writer_t *w, uint32_t chunk_size);

/* the most bytes one message of len bytes takes in chunks */
#define ingest_rtmp_chunked_size(len, chunk)                                  \
    (INGEST_RTMP_MAX_HEADER + (len)                                           \
     + ((len) / (chunk) + 1) * (3 + 4))

/*
 * One message as chunks: fmt 0 for the first message of a chunk stream,
 * another message stream id or a timestamp going back, fmt 1 (delta)
 * otherwise; fmt 3 for the rest of the message. csid 2..65599. Returns
 * the bytes written, or 0 when cap is too small or csid is bad.
 */
size_t ingest_rtmp_write(ingest_rtmp_writer_t *w, unsigned char *out,
    size_t cap, unsigned csid, unsigned type, uint32_t msid,
    uint32_t timestamp, const unsigned char *payload, size_t len);

/* Set Chunk Size (changes w->chunk_size for what follows), Window
 * Acknowledgement Size, Acknowledgement, User Control event */
size_t ingest_rtmp_write_chunk_size(ingest_rtmp_writer_t *w,
    unsigned char *out, size_t cap, uint32_t size);
size_t ingest_rtmp_write_u32(ingest_rtmp_writer_t *w, unsigned char *out,
    size_t cap, unsigned type, uint32_t value);
size_t ingest_rtmp_write_user(ingest_rtmp_writer_t *w, unsigned char *out,
    size_t cap, unsigned event, uint32_t value);


/* the chunk stream reader */
typedef struct {
    unsigned              type;
    uint32_t              msid;
    uint32_t              timestamp;
    unsigned              csid;
    const unsigned char  *data;
    size_t                len;
} ingest_rtmp_message_t;

typedef struct {
    unsigned              used:1;
    unsigned              ext:1;          /* last header had extended ts */
    unsigned              skip:1;         /* message too large: dropped */
    unsigned              csid;
    uint32_t              timestamp;
    uint32_t              delta;
    uint32_t              len;
    unsigned              type;
    uint32_t              msid;
    uint32_t              got;
    unsigned char         buf[INGEST_RTMP_MAX_MESSAGE];
} ingest_rtmp_rstream_t;

/* 0 to go on, -1 stops the reader (ingest_rtmp_read returns -1) */
typedef int (*ingest_rtmp_message_pt)(void *ctx,
    const ingest_rtmp_message_t *m);

typedef struct {
    uint32_t              chunk_size;
    uint64_t              bytes;          /* read in all */
    uint64_t              skipped;        /* messages too large */
    size_t                hlen;
    unsigned char         hdr[INGEST_RTMP_MAX_HEADER];
    ingest_rtmp_rstream_t *cur;           /* chunk being read */
    uint32_t              remain;         /* its bytes still to come */
    ingest_rtmp_rstream_t streams[INGEST_RTMP_READER_STREAMS];
} ingest_rtmp_reader_t;

void ingest_rtmp_reader_init(ingest_rtmp_reader_t *r);

/*
 * Reads chunks, calls handler for each whole message (Set Chunk Size
 * and Abort are applied before). Returns 0, or -1 on a protocol error
 * (bad chunk size, a chunk stream continued that never started, too
 * many chunk streams) or when the handler returned non-zero.
 */
int ingest_rtmp_read(ingest_rtmp_reader_t *r, const unsigned char *p,
    size_t len, ingest_rtmp_message_pt handler, void *ctx);


/* handshake (simple: C1 with zero version, no digest) */

/* C0 + C1 (1 + 1536 bytes) from 1528 random bytes and our time */
size_t ingest_rtmp_handshake_c0c1(unsigned char *out, uint32_t time,
    const unsigned char *random);

/*
 * Checks S0 + S1 + S2 (3073 bytes) against our C1: returns -1 when S0
 * is not version 3, 1 when S2 does not echo C1's random bytes (many
 * servers do, some do not: the caller may go on), 0 when all is well;
 * writes C2 (the echo of S1, 1536 bytes) into c2.
 */
int ingest_rtmp_handshake_s0s1s2(const unsigned char *s,
    const unsigned char *c1, unsigned char *c2);


/* URL */

#define INGEST_RTMP_HOST_MAX         255
#define INGEST_RTMP_APP_MAX          255
#define INGEST_RTMP_NAME_MAX         1023

typedef struct {
    char                  host[INGEST_RTMP_HOST_MAX + 1];   /* no [] */
    unsigned              port;
    char                  app[INGEST_RTMP_APP_MAX + 1];
    char                  stream[INGEST_RTMP_NAME_MAX + 1];  /* + "?..." */
    char                  tc_url[INGEST_RTMP_HOST_MAX + INGEST_RTMP_APP_MAX
                                 + 32];
} ingest_rtmp_url_t;

/*
 * rtmp://host[:port]/app[/...]/stream[?args]: host a name, an IPv4
 * address or an [IPv6] address; app everything between the host and
 * the last "/" of the path; stream the last segment with the query.
 * tcUrl is rtmp://host[:port]/app. Returns 0 or -1.
 */
int ingest_rtmp_url_parse(const unsigned char *p, size_t len,
    ingest_rtmp_url_t *url);


/* the client */

typedef enum {
    INGEST_RTMP_ST_INIT = 0,
    INGEST_RTMP_ST_HANDSHAKE,        /* C0+C1 sent, S0+S1+S2 awaited */
    INGEST_RTMP_ST_CONNECT,          /* connect sent */
    INGEST_RTMP_ST_CREATE_STREAM,    /* createStream sent */
    INGEST_RTMP_ST_PUBLISH,          /* publish sent */
    INGEST_RTMP_ST_PUBLISHING,       /* NetStream.Publish.Start */
    INGEST_RTMP_ST_FAILED
} ingest_rtmp_state_t;

typedef enum {
    INGEST_RTMP_AGAIN = 0,           /* send out (if any), read more */
    INGEST_RTMP_PUBLISHING,          /* publishing may start (once) */
    INGEST_RTMP_ERROR,               /* protocol error: close */
    INGEST_RTMP_REJECTED             /* the server said no: status and
                                        description tell why */
} ingest_rtmp_rc_t;

typedef struct {
    const char           *app;
    const char           *tc_url;
    const char           *stream;        /* publish name */
    const char           *flash_ver;     /* NULL: "FMLE/3.0 ..." */
    uint32_t              chunk_size;    /* 0: INGEST_RTMP_CHUNK_SIZE */
} ingest_rtmp_client_conf_t;

/* room for what one ingest_rtmp_client_feed() call may write */
#define INGEST_RTMP_CLIENT_OUT_MIN   8192

typedef struct {
    ingest_rtmp_state_t   state;

    char                  app[INGEST_RTMP_APP_MAX + 1];
    char                  tc_url[INGEST_RTMP_HOST_MAX + INGEST_RTMP_APP_MAX
                                 + 32];
    char                  stream[INGEST_RTMP_NAME_MAX + 1];
    char                  flash_ver[64];

    /* handshake */
    size_t                hs_len;
    unsigned char         c1[INGEST_RTMP_HANDSHAKE_SIZE];
    unsigned char         hs[1 + 2 * INGEST_RTMP_HANDSHAKE_SIZE];
    unsigned              s2_mismatch:1;

    ingest_rtmp_writer_t  writer;
    ingest_rtmp_reader_t  reader;
    uint32_t              out_chunk_size;

    double                tid;            /* last transaction id used */
    double                connect_tid;
    double                create_tid;
    uint32_t              stream_id;      /* from createStream */

    /* acknowledgements */
    uint32_t              ack_window;     /* server's window, 0: none */
    uint64_t              acked;          /* bytes when we last acked */
    uint32_t              sent_window;    /* the window we announced */

    /* what the server said last (onStatus or _error), NUL-terminated */
    char                  status[128];
    char                  description[256];

    /* the output of the feed in progress */
    unsigned char        *out;
    size_t                out_len;
    size_t                out_cap;
    unsigned              out_err:1;
    unsigned              published:1;    /* PUBLISHING returned */
} ingest_rtmp_client_t;

/* returns 0, or -1 when a name is too long or missing */
int ingest_rtmp_client_init(ingest_rtmp_client_t *c,
    const ingest_rtmp_client_conf_t *conf);

/* C0+C1 to send first; random: 1528 bytes from the caller's RNG */
size_t ingest_rtmp_client_start(ingest_rtmp_client_t *c, uint32_t time,
    const unsigned char *random, unsigned char *out, size_t cap);

/*
 * Received bytes in, bytes to send out (*out_len of them, cap at least
 * INGEST_RTMP_CLIENT_OUT_MIN). All input is consumed.
 */
ingest_rtmp_rc_t ingest_rtmp_client_feed(ingest_rtmp_client_t *c,
    const unsigned char *in, size_t len, unsigned char *out, size_t cap,
    size_t *out_len);

/* @setDataFrame onMetaData; zero fields are left out */
typedef struct {
    unsigned              width;
    unsigned              height;
    double                framerate;
    unsigned              video;          /* 1: H.264 */
    unsigned              audio;          /* 1: AAC */
    unsigned              sample_rate;
    unsigned              channels;
    double                video_kbps;
    double                audio_kbps;
} ingest_rtmp_meta_t;

/* once publishing: the metadata message, a media message (an FLV tag
 * body of type 8 or 9), and the goodbye (FCUnpublish, deleteStream);
 * each returns the bytes written or 0 when cap is too small */
size_t ingest_rtmp_client_metadata(ingest_rtmp_client_t *c,
    const ingest_rtmp_meta_t *m, unsigned char *out, size_t cap);
size_t ingest_rtmp_client_media(ingest_rtmp_client_t *c, unsigned type,
    uint32_t timestamp, const unsigned char *body, size_t len,
    unsigned char *out, size_t cap);
size_t ingest_rtmp_client_close(ingest_rtmp_client_t *c, unsigned char *out,
    size_t cap);

const char *ingest_rtmp_state_name(ingest_rtmp_state_t state);


#endif /* _INGEST_RTMP_H_INCLUDED_ */
