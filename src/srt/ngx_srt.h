
/*
 * Copyright (C) nginx video ingest developers
 *
 * The SRT listener: configuration types shared by ngx_srt_module (the
 * "srt {}" block), ngx_srt_core_module (the directives of "server {}"),
 * ngx_srt_log_module (its access log) and the relays, and the session
 * that the libsrt thread and the event loop hand each other.
 */


#ifndef _NGX_SRT_H_INCLUDED_
#define _NGX_SRT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <srt/srt.h>
#include <srt/access_control.h>

#include "ingest_core.h"
#include "ingest_token.h"
#include "ingest_streamid.h"
#include "ngx_ingest_keys.h"
#include "ingest_ts.h"
#include "ingest_flv.h"
#include "ingest_rtmp.h"


#define NGX_SRT_MODULE          0x4d545253          /* "SRTM" */
#define NGX_SRT_MAIN_CONF       0x02000000
#define NGX_SRT_SRV_CONF        0x04000000

#define NGX_SRT_MAIN_CONF_OFFSET  offsetof(ngx_srt_conf_ctx_t, main_conf)
#define NGX_SRT_SRV_CONF_OFFSET   offsetof(ngx_srt_conf_ctx_t, srv_conf)

/* streams the node-wide table of published names holds */
#define NGX_SRT_TABLE_SIZE      1024

/* UDP sockets (libsrt listeners) of one server in each worker */
#define NGX_SRT_SOCKETS_MAX     32
/* 100 streams of 4 Mbps on 2 busy cores: 1 lost 7.6 %, 4 lost 0.9 % */
#define NGX_SRT_SOCKETS_DEFAULT 4

/* why a session ended ($srt_reason; $srt_status maps them) */
#define NGX_SRT_REASON_LOST     "connection lost"
#define NGX_SRT_REASON_IDLE     "idle timeout"
#define NGX_SRT_REASON_EXITING  "worker exiting"
#define NGX_SRT_REASON_NO_RELAY "no relay left"
#define NGX_SRT_REASON_NO_START "no relay could start"
#define NGX_SRT_REASON_RECV     "receive failed"

#define NGX_SRT_RELAY_LIVE      0
#define NGX_SRT_RELAY_RTMP      1
#define NGX_SRT_RELAY_FORWARD   2
#define NGX_SRT_RELAYS          3


typedef struct {
    void                      **main_conf;
    void                      **srv_conf;
} ngx_srt_conf_ctx_t;


typedef struct {
    void                     *(*create_main_conf)(ngx_conf_t *cf);
    char                     *(*init_main_conf)(ngx_conf_t *cf, void *conf);
    void                     *(*create_srv_conf)(ngx_conf_t *cf);
    char                     *(*merge_srv_conf)(ngx_conf_t *cf, void *prev,
                                                void *conf);
} ngx_srt_module_t;



typedef struct {
    ngx_srt_conf_ctx_t         *ctx;
    ngx_uint_t                  index;

    ngx_str_t                   listen;         /* as written */
    ngx_addr_t                  addr;
    ngx_uint_t                  sockets;        /* per worker */
    unsigned                    listen_set:1;

    ngx_msec_t                  latency;
    ngx_str_t                   passphrase;
    ngx_int_t                   pbkeylen;
    ngx_int_t                   payload_size;
    size_t                      recv_buffer;
    ngx_uint_t                  max_streams;
    ngx_msec_t                  idle_timeout;

    ngx_flag_t                  token;
    ngx_array_t                *keys;           /* ngx_ingest_token_key_t */
    ingest_token_keyset_t      *keyset;
    ngx_str_t                   audience;
    time_t                      leeway;

    ngx_str_t                   relay_rtmp;     /* URL with $stream */
    ngx_addr_t                 *rtmp_addr;
    ngx_str_t                   relay_live;     /* unix socket path */
    ngx_addr_t                 *live_addr;
    ngx_str_t                   forward;        /* tcp://host:port */
    ngx_addr_t                 *forward_addr;
    size_t                      relay_buffer;
    ngx_msec_t                  relay_timeout;

    u_char                     *file;           /* where configured */
    ngx_uint_t                  line;
} ngx_srt_srv_conf_t;


typedef struct {
    ngx_array_t                 servers;        /* ngx_srt_srv_conf_t * */
    ngx_shm_zone_t             *shm_zone;
} ngx_srt_main_conf_t;


typedef struct ngx_srt_session_s  ngx_srt_session_t;


/* a relay: bytes out on one nginx connection, bounded */
typedef struct {
    ngx_srt_session_t          *session;
    ngx_uint_t                  kind;           /* NGX_SRT_RELAY_* */
    ngx_peer_connection_t       peer;
    ngx_event_t                 timer;          /* connect, drain */

    u_char                     *buf;            /* relay_buffer bytes */
    u_char                     *pos;
    u_char                     *last;
    u_char                     *end;

    uint64_t                    sent;
    unsigned                    connected:1;
    unsigned                    closed:1;
    unsigned                    draining:1;

    /* RTMP */
    ingest_rtmp_client_t       *rtmp;
    ingest_ts_t                *ts;
    ingest_flv_t               *flv;
    u_char                     *tmp;            /* remux scratch */
    size_t                      tmp_size;
    unsigned                    publishing:1;
    unsigned                    meta_sent:1;
    unsigned                    fail_slow:1;
    const char                 *fail;           /* set in the demuxer */
} ngx_srt_relay_t;


typedef struct {
    uint64_t                    packets;        /* pktRecvTotal */
    uint64_t                    bytes;          /* byteRecvTotal */
    uint64_t                    lost;           /* pktRcvLossTotal */
    uint64_t                    retrans;        /* pktRcvRetransTotal */
    uint64_t                    drops;          /* pktRcvDropTotal */
    uint64_t                    undecrypted;
    double                      rtt_ms;
    double                      mbps;
} ngx_srt_stats_t;


struct ngx_srt_session_s {
    /* set by the libsrt thread before the event loop sees it */
    SRTSOCKET                   sock;
    ngx_srt_srv_conf_t         *conf;
    ngx_uint_t                  slot;           /* in the name table */
    ngx_uint_t                  id;
    u_char                      name[INGEST_STREAMID_NAME_MAX + 1];
    size_t                      name_len;
    u_char                      sub[INGEST_TOKEN_STR_MAX + 1];
    u_char                      peer[NGX_SOCKADDR_STRLEN + 1];
    u_char                      addr[NGX_SOCKADDR_STRLEN + 1];
    in_port_t                   port;

    /* thread side */
    ngx_queue_t                 tqueue;
    ngx_msec_t                  last_data;
    ngx_msec_t                  last_stats;
    ngx_srt_stats_t             tstats;         /* the latest */

    /* under the queue mutex */
    size_t                      queued;         /* bytes not yet relayed */

    /* event loop side */
    ngx_queue_t                 queue;
    ngx_log_t                   log;
    time_t                      start;
    ngx_msec_t                  start_msec;
    ngx_srt_stats_t             stats;          /* last seen */
    uint64_t                    bridge_drops;   /* bytes */
    uint64_t                    relay_sent;     /* of closed relays */
    ngx_int_t                   rate_bps;       /* in the rate gauge */
    ngx_srt_relay_t            *relay[NGX_SRT_RELAYS];
    ngx_uint_t                  nrelays;        /* still open */
    const char                 *close_reason;
    unsigned                    closed:1;       /* CLOSE seen */
    unsigned                    finishing:1;    /* relays being closed */
    unsigned                    close_sent:1;   /* asked the thread */
};


extern ngx_module_t  ngx_srt_module;
extern ngx_module_t  ngx_srt_core_module;
extern ngx_module_t  ngx_srt_log_module;

/* modules of type NGX_SRT_MODULE, counted when "srt {}" is parsed */
extern ngx_uint_t    ngx_srt_max_module;


/* relays (ngx_srt_relay.c); Context: event loop */
ngx_int_t ngx_srt_relays_start(ngx_srt_session_t *s);
void ngx_srt_relays_data(ngx_srt_session_t *s, u_char *p, size_t len);
void ngx_srt_relays_finish(ngx_srt_session_t *s, ngx_uint_t now);

/* from the relays back to the session; Context: event loop */
void ngx_srt_session_close(ngx_srt_session_t *s, const char *reason);
void ngx_srt_session_relay_done(ngx_srt_session_t *s);

/* the access_log lines of a session that ends; Context: event loop */
void ngx_srt_log_session(ngx_srt_session_t *s);

/* metrics in the HTTP module's zone, when it is loaded */
void ngx_srt_metric_add(ngx_uint_t metric, ngx_atomic_int_t n);

/* per-stream name for the worker's live input ([A-Za-z0-9_-], 64) */
size_t ngx_srt_live_name(ngx_srt_session_t *s, u_char *out);


#endif /* _NGX_SRT_H_INCLUDED_ */
