
/*
 * Copyright (C) nginx video ingest developers
 *
 * The shared-memory zone of the ingest modules and the Prometheus
 * endpoint. Every process that serves requests owns one slot of
 * counters in the zone, so updates never contend; /metrics adds the
 * slots up. Counters of exited processes stay (they are part of the
 * totals); gauges count only for live processes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ingest.h"


#define NGX_HTTP_INGEST_SLOTS       256
#define NGX_HTTP_INGEST_ZONE_MAGIC  0x696e6732      /* "ing2" */


typedef enum {
    NGX_HTTP_INGEST_COUNTER = 0,
    NGX_HTTP_INGEST_GAUGE,
    NGX_HTTP_INGEST_HISTOGRAM,
    NGX_HTTP_INGEST_HISTOGRAM_FINE     /* buckets of 0.5 ms to 1 s */
} ngx_http_ingest_metric_type_e;

#define ngx_http_ingest_histogram(m)                                          \
    ((m)->type >= NGX_HTTP_INGEST_HISTOGRAM)


typedef struct {
    ngx_uint_t                   id;
    ngx_http_ingest_metric_type_e  type;
    char                        *name;
    char                        *labels;
    char                        *help;
} ngx_http_ingest_metric_t;


typedef struct {
    ngx_atomic_t                 pid;
    ngx_atomic_t                 started;
    ngx_atomic_t                 cell[1];       /* ncells */
} ngx_http_ingest_slot_t;


/* per-subject quota usage, an rbtree keyed by crc32 of the subject */
typedef struct {
    u_char                       color;
    u_char                       len;
    u_short                      pad;
    ngx_uint_t                   uploads;
    off_t                        bytes;
    u_char                       data[1];
} ngx_http_ingest_quota_node_t;


typedef struct {
    ngx_uint_t                   magic;
    ngx_uint_t                   ncells;
    ngx_uint_t                   nslots;
    size_t                       slot_size;
    ngx_rbtree_t                 quota_tree;
    ngx_rbtree_node_t            quota_sentinel;
    u_char                       slots[1];
} ngx_http_ingest_shctx_t;


typedef struct {
    size_t                       zone_size;
    ngx_shm_zone_t              *shm_zone;
    ngx_thread_pool_t           *thread_pool;
} ngx_http_ingest_main_conf_t;


typedef struct {
    ngx_flag_t                   metrics;
    ngx_array_t                 *includes;      /* ngx_str_t, NUL-ended */
} ngx_http_ingest_loc_conf_t;


#define NGX_HTTP_INGEST_INCLUDE_MAX  (1024 * 1024)

/* files of other processes' metrics (e.g. the ffmpeg-worker's), read in
 * a thread and appended to /metrics */
typedef struct {
    ngx_http_request_t          *request;
    ngx_array_t                 *paths;
    u_char                     **data;          /* malloc()ed, per path */
    size_t                      *len;
    ngx_buf_t                   *own;
} ngx_http_ingest_include_t;


static ngx_int_t ngx_http_ingest_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_ingest_slot_t *ngx_http_ingest_slot(
    ngx_http_ingest_shctx_t *sh, ngx_uint_t n);
static ngx_int_t ngx_http_ingest_metrics_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_ingest_metrics_send(ngx_http_request_t *r,
    ngx_chain_t *out);
static void ngx_http_ingest_include_thread(void *data, ngx_log_t *log);
static void ngx_http_ingest_include_done(ngx_event_t *ev);
static void ngx_http_ingest_include_cleanup(void *data);
static char *ngx_http_ingest_metrics_include(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static u_char *ngx_http_ingest_metrics_format(ngx_http_ingest_shctx_t *sh,
    u_char *p, u_char *last);
static void *ngx_http_ingest_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_ingest_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_ingest_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ingest_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_ingest_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_ingest_init_process(ngx_cycle_t *cycle);
static void ngx_http_ingest_quota_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


/* histogram bucket bounds in microseconds (le), +Inf is implicit */
static uint64_t  ngx_http_ingest_buckets[NGX_HTTP_INGEST_HIST_BUCKETS - 1]
    = { 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
        30000000, 60000000, 120000000 };

/* for what is measured in milliseconds: RTTs, wake-up delays */
static uint64_t  ngx_http_ingest_fine[NGX_HTTP_INGEST_HIST_BUCKETS - 1]
    = { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
        1000000 };


static ngx_http_ingest_metric_t  ngx_http_ingest_metric_defs[] = {

    { NGX_HTTP_INGEST_M_TUS_CREATED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_created_total", "protocol=\"tus\"",
      "Uploads created." },

    { NGX_HTTP_INGEST_M_S3_CREATED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_created_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_COMPLETED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_completed_total", "protocol=\"tus\"",
      "Uploads that received all their bytes (final concatenations"
      " included)." },

    { NGX_HTTP_INGEST_M_S3_COMPLETED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_completed_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_FAILED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_failed_total", "protocol=\"tus\"",
      "Uploads that will never complete: expired unfinished, or a"
      " concatenation that could not be assembled." },

    { NGX_HTTP_INGEST_M_TUS_TERMINATED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_terminated_total", "protocol=\"tus\"",
      "Uploads removed by the client (termination)." },

    { NGX_HTTP_INGEST_M_S3_ABORTED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_terminated_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_BYTES, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_bytes_received_total", "protocol=\"tus\"",
      "Upload body bytes written to the store." },

    { NGX_HTTP_INGEST_M_S3_BYTES, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_bytes_received_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_PARTS_OK, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"tus\",result=\"ok\"",
      "Upload parts (tus PATCH, creation-with-upload POST) by result." },

    { NGX_HTTP_INGEST_M_TUS_PARTS_CLIENT_ERROR, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"tus\",result=\"client_error\"",
      NULL },

    { NGX_HTTP_INGEST_M_TUS_PARTS_SERVER_ERROR, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"tus\",result=\"server_error\"",
      NULL },

    { NGX_HTTP_INGEST_M_TUS_PARTS_ABORTED, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"tus\",result=\"aborted\"",
      NULL },

    { NGX_HTTP_INGEST_M_S3_PARTS_OK, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"s3\",result=\"ok\"", NULL },

    { NGX_HTTP_INGEST_M_S3_PARTS_CLIENT_ERROR, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"s3\",result=\"client_error\"",
      NULL },

    { NGX_HTTP_INGEST_M_S3_PARTS_SERVER_ERROR, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"s3\",result=\"server_error\"",
      NULL },

    { NGX_HTTP_INGEST_M_S3_PARTS_ABORTED, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_parts_total", "protocol=\"s3\",result=\"aborted\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_REQ_1XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"tus\",class=\"1xx\"",
      "HTTP requests by module and status class." },

    { NGX_HTTP_INGEST_M_TUS_REQ_2XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"tus\",class=\"2xx\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_REQ_3XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"tus\",class=\"3xx\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_REQ_4XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"tus\",class=\"4xx\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_REQ_5XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"tus\",class=\"5xx\"", NULL },

    { NGX_HTTP_INGEST_M_S3_REQ_1XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"s3\",class=\"1xx\"", NULL },

    { NGX_HTTP_INGEST_M_S3_REQ_2XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"s3\",class=\"2xx\"", NULL },

    { NGX_HTTP_INGEST_M_S3_REQ_3XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"s3\",class=\"3xx\"", NULL },

    { NGX_HTTP_INGEST_M_S3_REQ_4XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"s3\",class=\"4xx\"", NULL },

    { NGX_HTTP_INGEST_M_S3_REQ_5XX, NGX_HTTP_INGEST_COUNTER,
      "ingest_http_requests_total", "module=\"s3\",class=\"5xx\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_CHECKSUM_MISMATCH, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_checksum_mismatches_total", "protocol=\"tus\"",
      "Parts discarded because their checksum did not match." },

    { NGX_HTTP_INGEST_M_S3_CHECKSUM_MISMATCH, NGX_HTTP_INGEST_COUNTER,
      "ingest_upload_checksum_mismatches_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_EXPIRED_REMOVED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_expired_total", "protocol=\"tus\"",
      "Expired unfinished uploads removed by the cleaner." },

    { NGX_HTTP_INGEST_M_S3_EXPIRED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_expired_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_SPOOL_JOBS, NGX_HTTP_INGEST_COUNTER,
      "ingest_spool_jobs_total", "protocol=\"tus\"",
      "Jobs handed to the spool directory." },

    { NGX_HTTP_INGEST_M_S3_SPOOL_JOBS, NGX_HTTP_INGEST_COUNTER,
      "ingest_spool_jobs_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_SPOOL_ERRORS, NGX_HTTP_INGEST_COUNTER,
      "ingest_spool_errors_total", "protocol=\"tus\"",
      "Completed uploads whose job could not be written." },

    { NGX_HTTP_INGEST_M_S3_SPOOL_ERRORS, NGX_HTTP_INGEST_COUNTER,
      "ingest_spool_errors_total", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_QUARANTINED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_quarantined_total", "protocol=\"tus\"",
      "Uploads whose content did not match an allowed container, kept out"
      " of the spool." },

    { NGX_HTTP_INGEST_M_TUS_SNIFF_REJECTED, NGX_HTTP_INGEST_COUNTER,
      "ingest_uploads_sniff_rejected_total", "protocol=\"tus\"",
      "Upload parts rejected (415) because their content is not an"
      " allowed container." },

    { NGX_HTTP_INGEST_M_QUOTA_BYTES, NGX_HTTP_INGEST_COUNTER,
      "ingest_quota_rejections_total", "quota=\"bytes\"",
      "Uploads refused because the subject's quota was reached." },

    { NGX_HTTP_INGEST_M_QUOTA_UPLOADS, NGX_HTTP_INGEST_COUNTER,
      "ingest_quota_rejections_total", "quota=\"uploads\"", NULL },

    { NGX_HTTP_INGEST_M_HOOK_DENIED, NGX_HTTP_INGEST_COUNTER,
      "ingest_create_hook_denials_total", "protocol=\"tus\"",
      "Uploads refused by the pre-create authorization hook." },

    { NGX_HTTP_INGEST_M_OWNER_MISMATCH, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"other_subject\"",
      "Requests refused by token checks, by reason." },

    { NGX_HTTP_INGEST_M_SESSION_OVER, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"session_over\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_MAX_SIZE, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"max_size\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_TYPE, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"type\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_MISSING, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"missing\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_MALFORMED, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"malformed\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_BAD_HEADER, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"bad_header\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_UNKNOWN_KID, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"unknown_kid\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_ALG_MISMATCH, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"alg_mismatch\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_BAD_SIGNATURE, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"bad_signature\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_EXPIRED, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"expired\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_NOT_YET_VALID, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"not_yet_valid\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_MISSING_CLAIM, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"missing_claim\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_BAD_CLAIM, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"bad_claim\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_WRONG_AUDIENCE, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"wrong_audience\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_SCOPE, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"scope\"", NULL },

    { NGX_HTTP_INGEST_M_AUTH_REVOKED, NGX_HTTP_INGEST_COUNTER,
      "ingest_auth_failures_total", "reason=\"revoked\"", NULL },

    { NGX_HTTP_INGEST_M_S3_AUTH_SIGNATURE, NGX_HTTP_INGEST_COUNTER,
      "ingest_s3_auth_failures_total", "reason=\"signature\"",
      "S3 requests refused by SigV4 checks, by reason." },

    { NGX_HTTP_INGEST_M_S3_AUTH_ACCESS_KEY, NGX_HTTP_INGEST_COUNTER,
      "ingest_s3_auth_failures_total", "reason=\"access_key\"", NULL },

    { NGX_HTTP_INGEST_M_S3_AUTH_EXPIRED, NGX_HTTP_INGEST_COUNTER,
      "ingest_s3_auth_failures_total", "reason=\"expired\"", NULL },

    { NGX_HTTP_INGEST_M_S3_AUTH_SKEW, NGX_HTTP_INGEST_COUNTER,
      "ingest_s3_auth_failures_total", "reason=\"clock_skew\"", NULL },

    { NGX_HTTP_INGEST_M_S3_AUTH_OTHER, NGX_HTTP_INGEST_COUNTER,
      "ingest_s3_auth_failures_total", "reason=\"other\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_ACTIVE, NGX_HTTP_INGEST_GAUGE,
      "ingest_uploads_active", "protocol=\"tus\"",
      "Upload parts being received now." },

    { NGX_HTTP_INGEST_M_S3_ACTIVE, NGX_HTTP_INGEST_GAUGE,
      "ingest_uploads_active", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_TUS_PART_DURATION, NGX_HTTP_INGEST_HISTOGRAM,
      "ingest_upload_part_duration_seconds", "protocol=\"tus\"",
      "Duration of upload parts (tus PATCH) from request to response." },

    { NGX_HTTP_INGEST_M_S3_PART_DURATION, NGX_HTTP_INGEST_HISTOGRAM,
      "ingest_upload_part_duration_seconds", "protocol=\"s3\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_FULL, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"full\"",
      "LL-HLS origin responses by result: playlists (full, delta, blocked:"
      " answered after a hold), hinted parts served after a hold, 400s,"
      " 404s and 503s after a hold timed out." },

    { NGX_HTTP_INGEST_M_LLHLS_DELTA, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"delta\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_BLOCKED, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"blocked\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_HINTED, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"hinted\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_BAD_REQUEST, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"bad_request\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_NOT_FOUND, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"not_found\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_TIMEOUT, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"timeout\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_BROKEN, NGX_HTTP_INGEST_COUNTER,
      "ingest_llhls_responses_total", "result=\"broken_playlist\"", NULL },

    { NGX_HTTP_INGEST_M_LLHLS_HELD, NGX_HTTP_INGEST_GAUGE,
      "ingest_llhls_held_requests", "",
      "Playlist and part requests held until what they ask for exists." },

    { NGX_HTTP_INGEST_M_LLHLS_WAKEUP_DELAY, NGX_HTTP_INGEST_HISTOGRAM_FINE,
      "ingest_llhls_wakeup_delay_seconds", "",
      "From the write of a new playlist to the answer of a request held"
      " for it." },

    { NGX_HTTP_INGEST_M_SRT_ACCEPTED, NGX_HTTP_INGEST_COUNTER,
      "srt_streams_accepted_total", "",
      "SRT publishers accepted by the listen callback." },

    { NGX_HTTP_INGEST_M_SRT_ERR_BAD_REQUEST, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"bad_request\"",
      "Live connections refused in the handshake or cut, by reason." },

    { NGX_HTTP_INGEST_M_SRT_ERR_NO_TOKEN, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"no_token\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_TOKEN_INVALID, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"token_invalid\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_TOKEN_EXPIRED, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"token_expired\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_FORBIDDEN, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"forbidden\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_BAD_MODE, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"bad_mode\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_CONFLICT, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"conflict\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_OVERLOAD, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"overload\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_MEDIA, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"unsupported_media\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_INTERNAL, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"internal\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ERR_IDLE, NGX_HTTP_INGEST_COUNTER,
      "ingest_connection_errors_total",
      "protocol=\"srt\",reason=\"idle_timeout\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_PACKETS, NGX_HTTP_INGEST_COUNTER,
      "srt_packets_received_total", "",
      "SRT data packets received (pktRecvTotal)." },

    { NGX_HTTP_INGEST_M_SRT_BYTES, NGX_HTTP_INGEST_COUNTER,
      "srt_bytes_received_total", "",
      "SRT payload bytes received (byteRecvTotal)." },

    { NGX_HTTP_INGEST_M_SRT_LOSS, NGX_HTTP_INGEST_COUNTER,
      "srt_packet_loss_total", "",
      "SRT packets detected lost by the receiver (pktRcvLossTotal)." },

    { NGX_HTTP_INGEST_M_SRT_RETRANS, NGX_HTTP_INGEST_COUNTER,
      "srt_retransmits_total", "",
      "Retransmitted SRT packets received (pktRcvRetrans)." },

    { NGX_HTTP_INGEST_M_SRT_DROPS, NGX_HTTP_INGEST_COUNTER,
      "srt_drops_total", "",
      "SRT packets dropped too late to play (pktRcvDropTotal)." },

    { NGX_HTTP_INGEST_M_SRT_UNDECRYPTED, NGX_HTTP_INGEST_COUNTER,
      "srt_undecrypted_total", "",
      "SRT packets that could not be decrypted." },

    { NGX_HTTP_INGEST_M_SRT_BRIDGE_DROPS, NGX_HTTP_INGEST_COUNTER,
      "srt_bridge_dropped_bytes_total", "",
      "Bytes dropped between the libsrt thread and the event loop (a"
      " stream over its queue bound)." },

    { NGX_HTTP_INGEST_M_SRT_SLOW_LIVE, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_slow_consumers_total", "relay=\"live\"",
      "Relays disconnected because they did not keep up (buffer full)." },

    { NGX_HTTP_INGEST_M_SRT_SLOW_RTMP, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_slow_consumers_total", "relay=\"rtmp\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_SLOW_FORWARD, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_slow_consumers_total", "relay=\"forward\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_RELAY_ERR_LIVE, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_errors_total", "relay=\"live\"",
      "Relays that failed: connect, write or protocol errors." },

    { NGX_HTTP_INGEST_M_SRT_RELAY_ERR_RTMP, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_errors_total", "relay=\"rtmp\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_RELAY_ERR_FORWARD, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_errors_total", "relay=\"forward\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_RELAY_BYTES_LIVE, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_bytes_total", "relay=\"live\"",
      "Bytes written to relays." },

    { NGX_HTTP_INGEST_M_SRT_RELAY_BYTES_RTMP, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_bytes_total", "relay=\"rtmp\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_RELAY_BYTES_FORWARD, NGX_HTTP_INGEST_COUNTER,
      "srt_relay_bytes_total", "relay=\"forward\"", NULL },

    { NGX_HTTP_INGEST_M_SRT_ACTIVE, NGX_HTTP_INGEST_GAUGE,
      "srt_streams_active", "",
      "SRT publishers connected now." },

    { NGX_HTTP_INGEST_M_SRT_RATE, NGX_HTTP_INGEST_GAUGE,
      "srt_receive_rate_bytes", "",
      "Sum of the receive rates of the connected SRT publishers, bytes"
      " per second (from srt_bistats)." },

    { NGX_HTTP_INGEST_M_SRT_RTT, NGX_HTTP_INGEST_HISTOGRAM_FINE,
      "srt_rtt_seconds", "",
      "SRT round-trip time, one observation per stream per second." },

    { 0, 0, NULL, NULL, NULL }
};


/* cell index of each metric, computed once */
static ngx_uint_t  ngx_http_ingest_cell_index[NGX_HTTP_INGEST_M_LAST];
static uint64_t   *ngx_http_ingest_bounds[NGX_HTTP_INGEST_M_LAST];
static ngx_uint_t  ngx_http_ingest_ncells;

/* this process' slot, NULL outside request-serving processes */
static ngx_http_ingest_slot_t  *ngx_http_ingest_my_slot;

/* this process' zone and pool, set in init_process */
static ngx_shm_zone_t          *ngx_http_ingest_zone;
static ngx_thread_pool_t       *ngx_http_ingest_pool;


static ngx_command_t  ngx_http_ingest_commands[] = {

    { ngx_string("ingest_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ingest_main_conf_t, zone_size),
      NULL },

    { ngx_string("ingest_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_ingest_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ingest_metrics_include"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ingest_metrics_include,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ingest_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_ingest_create_main_conf,      /* create main configuration */
    ngx_http_ingest_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ingest_create_loc_conf,       /* create location configuration */
    ngx_http_ingest_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_ingest_module = {
    NGX_MODULE_V1,
    &ngx_http_ingest_module_ctx,           /* module context */
    ngx_http_ingest_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_ingest_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


void
ngx_http_ingest_metric_add(ngx_uint_t metric, ngx_atomic_int_t n)
{
    ngx_http_ingest_slot_t  *slot;

    slot = ngx_http_ingest_my_slot;

    if (slot == NULL || metric >= NGX_HTTP_INGEST_M_LAST) {
        return;
    }

    (void) ngx_atomic_fetch_add(&slot->cell[ngx_http_ingest_cell_index[metric]],
                                n);
}


void
ngx_http_ingest_metric_observe(ngx_uint_t metric, uint64_t us)
{
    uint64_t                *bounds;
    ngx_uint_t               i, base;
    ngx_http_ingest_slot_t  *slot;

    slot = ngx_http_ingest_my_slot;

    if (slot == NULL || metric >= NGX_HTTP_INGEST_M_LAST) {
        return;
    }

    base = ngx_http_ingest_cell_index[metric];
    bounds = ngx_http_ingest_bounds[metric];

    for (i = 0; i < NGX_HTTP_INGEST_HIST_BUCKETS - 1; i++) {
        if (us <= bounds[i]) {
            break;
        }
    }

    /* buckets are stored non-cumulative; the exporter sums them up */
    (void) ngx_atomic_fetch_add(&slot->cell[base + i], 1);
    (void) ngx_atomic_fetch_add(
                     &slot->cell[base + NGX_HTTP_INGEST_HIST_BUCKETS],
                     (ngx_atomic_int_t) us);
    (void) ngx_atomic_fetch_add(
                     &slot->cell[base + NGX_HTTP_INGEST_HIST_BUCKETS + 1], 1);
}


static ngx_http_ingest_slot_t *
ngx_http_ingest_slot(ngx_http_ingest_shctx_t *sh, ngx_uint_t n)
{
    return (ngx_http_ingest_slot_t *) (sh->slots + n * sh->slot_size);
}


static ngx_int_t
ngx_http_ingest_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                    slot_size;
    ngx_uint_t                n;
    ngx_slab_pool_t          *shpool;
    ngx_http_ingest_shctx_t  *sh, *osh;

    osh = data;

    slot_size = offsetof(ngx_http_ingest_slot_t, cell)
                + ngx_http_ingest_ncells * sizeof(ngx_atomic_t);
    slot_size = ngx_align(slot_size, 64);

    if (osh != NULL
        && osh->magic == NGX_HTTP_INGEST_ZONE_MAGIC
        && osh->ncells == ngx_http_ingest_ncells
        && osh->slot_size == slot_size)
    {
        /* reload: keep the counters */
        shm_zone->data = osh;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    if (osh != NULL) {
        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "ingest metrics layout changed, counters restart");
    }

    /* half of the zone leaves room for the slab allocator's own pages */

    n = (shm_zone->shm.size / 2 - offsetof(ngx_http_ingest_shctx_t, slots))
        / slot_size;

    if (n > NGX_HTTP_INGEST_SLOTS) {
        n = NGX_HTTP_INGEST_SLOTS;
    }

    if (n < 8) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ingest_zone is too small for 8 processes' metrics");
        return NGX_ERROR;
    }

    sh = ngx_slab_calloc(shpool, offsetof(ngx_http_ingest_shctx_t, slots)
                                 + n * slot_size);
    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ingest_zone: cannot allocate the metrics");
        return NGX_ERROR;
    }

    sh->magic = NGX_HTTP_INGEST_ZONE_MAGIC;
    sh->ncells = ngx_http_ingest_ncells;
    sh->nslots = n;
    sh->slot_size = slot_size;

    ngx_rbtree_init(&sh->quota_tree, &sh->quota_sentinel,
                    ngx_http_ingest_quota_insert);

    shpool->data = sh;
    shm_zone->data = sh;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ingest_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                i, j, gauge;
    ngx_atomic_uint_t         pid;
    ngx_http_ingest_slot_t   *slot;
    ngx_http_ingest_metric_t *m;
    ngx_http_ingest_shctx_t  *sh;
    ngx_http_ingest_main_conf_t  *imcf;

    imcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ingest_module);

    if (imcf == NULL || imcf->shm_zone == NULL || imcf->shm_zone->data == NULL)
    {
        return NGX_OK;
    }

    ngx_http_ingest_zone = imcf->shm_zone;
    ngx_http_ingest_pool = imcf->thread_pool;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    sh = imcf->shm_zone->data;

    for (i = 0; i < sh->nslots; i++) {
        slot = ngx_http_ingest_slot(sh, i);
        pid = slot->pid;

        if (pid != 0 && kill((ngx_pid_t) pid, 0) == 0) {
            continue;
        }

        if (pid != 0 && ngx_errno != NGX_ESRCH) {
            continue;
        }

        if (!ngx_atomic_cmp_set(&slot->pid, pid, (ngx_atomic_uint_t) ngx_pid))
        {
            continue;
        }

        /* a dead process' gauges no longer describe anything */

        for (m = ngx_http_ingest_metric_defs; m->name; m++) {
            if (m->type != NGX_HTTP_INGEST_GAUGE) {
                continue;
            }

            j = ngx_http_ingest_cell_index[m->id];
            gauge = 0;
            slot->cell[j] = gauge;
        }

        slot->started = ngx_time();
        ngx_http_ingest_my_slot = slot;

        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "ingest_zone has no free slot for process %P, "
                  "its metrics are not counted; increase ingest_zone",
                  ngx_pid);

    return NGX_OK;
}


static ngx_int_t
ngx_http_ingest_metrics_handler(ngx_http_request_t *r)
{
    size_t                        size;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_pool_cleanup_t           *cln;
    ngx_thread_task_t            *task;
    ngx_http_ingest_metric_t     *m;
    ngx_http_ingest_shctx_t      *sh;
    ngx_http_ingest_include_t    *inc;
    ngx_http_ingest_loc_conf_t   *ilcf;
    ngx_http_ingest_main_conf_t  *imcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_ingest_module);

    if (imcf->shm_zone == NULL || imcf->shm_zone->data == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    sh = imcf->shm_zone->data;

    size = 0;

    for (m = ngx_http_ingest_metric_defs; m->name; m++) {
        size += 2 * ngx_strlen(m->name) + 64
                + (m->help ? ngx_strlen(m->help) : 0)
                + (ngx_strlen(m->name) + ngx_strlen(m->labels) + 64)
                  * (ngx_http_ingest_histogram(m)
                     ? NGX_HTTP_INGEST_HIST_BUCKETS + 2 : 1);
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_http_ingest_metrics_format(sh, b->pos, b->end);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_ingest_module);

    if (ilcf->includes == NULL || ngx_http_ingest_pool == NULL) {
        out.buf = b;
        out.next = NULL;

        return ngx_http_ingest_metrics_send(r, &out);
    }

    /* the other processes' files are read in a thread */

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_ingest_include_t));
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    inc = task->ctx;
    inc->request = r;
    inc->paths = ilcf->includes;
    inc->own = b;
    inc->data = ngx_pcalloc(r->pool, ilcf->includes->nelts
                                     * (sizeof(u_char *) + sizeof(size_t)));
    if (inc->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    inc->len = (size_t *) (inc->data + ilcf->includes->nelts);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_ingest_include_cleanup;
    cln->data = inc;

    task->handler = ngx_http_ingest_include_thread;
    task->event.handler = ngx_http_ingest_include_done;
    task->event.data = inc;

    if (ngx_thread_task_post(ngx_http_ingest_pool, task) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->blocked++;
    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_ingest_metrics_send(ngx_http_request_t *r, ngx_chain_t *out)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/* Context: thread pool */

static void
ngx_http_ingest_include_thread(void *data, ngx_log_t *log)
{
    ngx_http_ingest_include_t  *inc = data;

    ngx_str_t              *path;
    ngx_uint_t              i;
    ngx_http_ingest_err_t   e;

    path = inc->paths->elts;

    for (i = 0; i < inc->paths->nelts; i++) {
        /* a missing file (worker not started yet) is simply left out */
        inc->data[i] = ngx_http_ingest_read_small((char *) path[i].data,
                                                  NGX_HTTP_INGEST_INCLUDE_MAX,
                                                  &inc->len[i], &e);
    }
}


/* Context: event loop */

static void
ngx_http_ingest_include_done(ngx_event_t *ev)
{
    ngx_http_ingest_include_t  *inc = ev->data;

    u_char              *p;
    ngx_buf_t           *b;
    ngx_uint_t           i;
    ngx_chain_t         *out, **ll, *cl;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = inc->request;
    c = r->connection;

    r->main->blocked--;

    inc->own->last_buf = 0;
    inc->own->last_in_chain = 0;

    out = NULL;
    ll = &out;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        goto failed;
    }

    cl->buf = inc->own;
    *ll = cl;
    ll = &cl->next;

    for (i = 0; i < inc->paths->nelts; i++) {
        if (inc->data[i] == NULL || inc->len[i] == 0) {
            continue;
        }

        b = ngx_create_temp_buf(r->pool, inc->len[i] + 1);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            goto failed;
        }

        p = ngx_cpymem(b->last, inc->data[i], inc->len[i]);

        /* each file ends its last line */
        if (p[-1] != '\n') {
            *p++ = '\n';
        }

        b->last = p;

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    *ll = NULL;

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;
    cl->next = NULL;

    ngx_http_finalize_request(r, ngx_http_ingest_metrics_send(r, out));
    ngx_http_run_posted_requests(c);
    return;

failed:

    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_ingest_include_cleanup(void *data)
{
    ngx_http_ingest_include_t  *inc = data;

    ngx_uint_t  i;

    for (i = 0; i < inc->paths->nelts; i++) {
        free(inc->data[i]);
        inc->data[i] = NULL;
    }
}


static char *
ngx_http_ingest_metrics_include(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_ingest_loc_conf_t *ilcf = conf;

    ngx_str_t  *value, *path;

    value = cf->args->elts;

    if (ilcf->includes == NULL) {
        ilcf->includes = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (ilcf->includes == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    path = ngx_array_push(ilcf->includes);
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    *path = value[1];

    if (ngx_conf_full_name(cf->cycle, path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static u_char *
ngx_http_ingest_metrics_format(ngx_http_ingest_shctx_t *sh, u_char *p,
    u_char *last)
{
    char                      *family, *lb, *rb, *sep;
    uint64_t                  *bounds;
    ngx_uint_t                 i, k, base, live;
    ngx_atomic_uint_t          v, sum[NGX_HTTP_INGEST_HIST_BUCKETS + 2];
    ngx_http_ingest_slot_t    *slot;
    ngx_http_ingest_metric_t  *m;

    family = NULL;

    for (m = ngx_http_ingest_metric_defs; m->name; m++) {

        if (family == NULL || ngx_strcmp(family, m->name) != 0) {
            family = m->name;

            if (m->help) {
                p = ngx_slprintf(p, last, "# HELP %s %s\n", m->name, m->help);
            }

            p = ngx_slprintf(p, last, "# TYPE %s %s\n", m->name,
                             m->type == NGX_HTTP_INGEST_COUNTER ? "counter"
                             : m->type == NGX_HTTP_INGEST_GAUGE ? "gauge"
                             : "histogram");
        }

        base = ngx_http_ingest_cell_index[m->id];

        ngx_memzero(sum, sizeof(sum));

        for (i = 0; i < sh->nslots; i++) {
            slot = ngx_http_ingest_slot(sh, i);

            if (slot->pid == 0) {
                continue;
            }

            if (m->type == NGX_HTTP_INGEST_GAUGE) {
                live = (kill((ngx_pid_t) slot->pid, 0) == 0
                        || ngx_errno != NGX_ESRCH);

                if (!live) {
                    continue;
                }

                v = slot->cell[base];

                /* gauges are signed */
                if ((ngx_atomic_int_t) v > 0) {
                    sum[0] += v;
                }

                continue;
            }

            if (m->type == NGX_HTTP_INGEST_COUNTER) {
                sum[0] += slot->cell[base];
                continue;
            }

            for (k = 0; k < NGX_HTTP_INGEST_HIST_BUCKETS + 2; k++) {
                sum[k] += slot->cell[base + k];
            }
        }

        /* "name{labels}", or "name" alone for a series without labels */

        lb = m->labels[0] ? "{" : "";
        rb = m->labels[0] ? "}" : "";
        sep = m->labels[0] ? "," : "";

        if (!ngx_http_ingest_histogram(m)) {
            p = ngx_slprintf(p, last, "%s%s%s%s %uA\n", m->name, lb,
                             m->labels, rb, sum[0]);
            continue;
        }

        v = 0;

        bounds = (m->type == NGX_HTTP_INGEST_HISTOGRAM_FINE)
                 ? ngx_http_ingest_fine : ngx_http_ingest_buckets;

        for (k = 0; k < NGX_HTTP_INGEST_HIST_BUCKETS; k++) {
            v += sum[k];

            if (k == NGX_HTTP_INGEST_HIST_BUCKETS - 1) {
                p = ngx_slprintf(p, last,
                                 "%s_bucket{%s%sle=\"+Inf\"} %uA\n",
                                 m->name, m->labels, sep, v);

            } else if (bounds[k] % 1000 == 0) {
                /* whole milliseconds: "0.050" */
                p = ngx_slprintf(p, last,
                                 "%s_bucket{%s%sle=\"%uL.%03uL\"} %uA\n",
                                 m->name, m->labels, sep,
                                 bounds[k] / 1000000,
                                 bounds[k] / 1000 % 1000, v);

            } else {
                p = ngx_slprintf(p, last,
                                 "%s_bucket{%s%sle=\"%uL.%06uL\"} %uA\n",
                                 m->name, m->labels, sep,
                                 bounds[k] / 1000000,
                                 bounds[k] % 1000000, v);
            }
        }

        v = sum[NGX_HTTP_INGEST_HIST_BUCKETS];

        p = ngx_slprintf(p, last, "%s_sum%s%s%s %uA.%06uA\n", m->name, lb,
                         m->labels, rb, v / 1000000, v % 1000000);
        p = ngx_slprintf(p, last, "%s_count%s%s%s %uA\n", m->name, lb,
                         m->labels, rb,
                         sum[NGX_HTTP_INGEST_HIST_BUCKETS + 1]);
    }

    return p;
}


static void *
ngx_http_ingest_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ingest_main_conf_t  *imcf;

    imcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ingest_main_conf_t));
    if (imcf == NULL) {
        return NULL;
    }

    imcf->zone_size = NGX_CONF_UNSET_SIZE;

    return imcf;
}


static char *
ngx_http_ingest_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_ingest_main_conf_t *imcf = conf;

    ngx_str_t                  name = ngx_string("ngx_http_ingest");
    ngx_uint_t                 n;
    ngx_http_ingest_metric_t  *m;

    ngx_conf_init_size_value(imcf->zone_size, 1024 * 1024);

    if (imcf->zone_size < 64 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_zone\" must be at least 64k");
        return NGX_CONF_ERROR;
    }

    n = 0;

    for (m = ngx_http_ingest_metric_defs; m->name; m++) {
        ngx_http_ingest_cell_index[m->id] = n;
        ngx_http_ingest_bounds[m->id] =
                                (m->type == NGX_HTTP_INGEST_HISTOGRAM_FINE)
                                ? ngx_http_ingest_fine
                                : ngx_http_ingest_buckets;
        n += ngx_http_ingest_histogram(m)
             ? NGX_HTTP_INGEST_HIST_BUCKETS + 2 : 1;
    }

    ngx_http_ingest_ncells = n;

    imcf->shm_zone = ngx_shared_memory_add(cf, &name, imcf->zone_size,
                                           &ngx_http_ingest_module);
    if (imcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    imcf->shm_zone->init = ngx_http_ingest_init_zone;
    imcf->shm_zone->noreuse = 0;

    imcf->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (imcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_ingest_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ingest_loc_conf_t  *ilcf;

    ilcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ingest_loc_conf_t));
    if (ilcf == NULL) {
        return NULL;
    }

    ilcf->metrics = NGX_CONF_UNSET;

    return ilcf;
}


static char *
ngx_http_ingest_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_ingest_loc_conf_t *prev = parent;
    ngx_http_ingest_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->metrics, prev->metrics, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_ingest_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ingest_loc_conf_t *ilcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (ilcf->metrics != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    ilcf->metrics = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ingest_metrics_handler;

    return NGX_CONF_OK;
}


ngx_thread_pool_t *
ngx_http_ingest_thread_pool(void)
{
    return ngx_http_ingest_pool;
}


static void
ngx_http_ingest_quota_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_ingest_quota_node_t   *qn, *qnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else { /* node->key == temp->key */

            qn = (ngx_http_ingest_quota_node_t *) &node->color;
            qnt = (ngx_http_ingest_quota_node_t *) &temp->color;

            p = (ngx_memn2cmp(qn->data, qnt->data, qn->len, qnt->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_ingest_quota_node_t *
ngx_http_ingest_quota_lookup(ngx_http_ingest_shctx_t *sh, ngx_str_t *sub,
    uint32_t hash)
{
    ngx_int_t                      rc;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_ingest_quota_node_t  *qn;

    node = sh->quota_tree.root;
    sentinel = sh->quota_tree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        qn = (ngx_http_ingest_quota_node_t *) &node->color;

        rc = ngx_memn2cmp(sub->data, qn->data, sub->len, (size_t) qn->len);

        if (rc == 0) {
            return qn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


ngx_int_t
ngx_http_ingest_quota_reserve(ngx_str_t *sub, off_t bytes, ngx_uint_t uploads,
    off_t max_bytes, ngx_uint_t max_uploads, const char **which)
{
    size_t                         size;
    uint32_t                       hash;
    ngx_slab_pool_t               *shpool;
    ngx_rbtree_node_t             *node;
    ngx_http_ingest_shctx_t       *sh;
    ngx_http_ingest_quota_node_t  *qn;

    if (ngx_http_ingest_zone == NULL || sub->len == 0 || sub->len > 255) {
        return NGX_OK;
    }

    sh = ngx_http_ingest_zone->data;
    shpool = (ngx_slab_pool_t *) ngx_http_ingest_zone->shm.addr;
    hash = ngx_crc32_short(sub->data, sub->len);

    ngx_shmtx_lock(&shpool->mutex);

    qn = ngx_http_ingest_quota_lookup(sh, sub, hash);

    if (qn != NULL) {
        if (max_uploads && uploads && qn->uploads + uploads > max_uploads) {
            ngx_shmtx_unlock(&shpool->mutex);
            *which = "uploads";
            return NGX_DECLINED;
        }

        if (max_bytes && bytes && qn->bytes + bytes > max_bytes) {
            ngx_shmtx_unlock(&shpool->mutex);
            *which = "bytes";
            return NGX_DECLINED;
        }

        qn->uploads += uploads;
        qn->bytes += bytes;

        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_OK;
    }

    if (max_uploads && uploads > max_uploads) {
        ngx_shmtx_unlock(&shpool->mutex);
        *which = "uploads";
        return NGX_DECLINED;
    }

    if (max_bytes && bytes > max_bytes) {
        ngx_shmtx_unlock(&shpool->mutex);
        *which = "bytes";
        return NGX_DECLINED;
    }

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_ingest_quota_node_t, data) + sub->len;

    node = ngx_slab_alloc_locked(shpool, size);
    if (node == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    node->key = hash;

    qn = (ngx_http_ingest_quota_node_t *) &node->color;
    qn->len = (u_char) sub->len;
    qn->uploads = uploads;
    qn->bytes = bytes;
    ngx_memcpy(qn->data, sub->data, sub->len);

    ngx_rbtree_insert(&sh->quota_tree, node);

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


void
ngx_http_ingest_quota_release(ngx_str_t *sub, off_t bytes, ngx_uint_t uploads)
{
    uint32_t                       hash;
    ngx_slab_pool_t               *shpool;
    ngx_rbtree_node_t             *node;
    ngx_http_ingest_shctx_t       *sh;
    ngx_http_ingest_quota_node_t  *qn;

    if (ngx_http_ingest_zone == NULL || sub->len == 0 || sub->len > 255) {
        return;
    }

    sh = ngx_http_ingest_zone->data;
    shpool = (ngx_slab_pool_t *) ngx_http_ingest_zone->shm.addr;
    hash = ngx_crc32_short(sub->data, sub->len);

    ngx_shmtx_lock(&shpool->mutex);

    qn = ngx_http_ingest_quota_lookup(sh, sub, hash);

    if (qn != NULL) {
        qn->uploads = (qn->uploads > uploads) ? qn->uploads - uploads : 0;
        qn->bytes = (qn->bytes > bytes) ? qn->bytes - bytes : 0;

        if (qn->uploads == 0 && qn->bytes == 0) {
            node = (ngx_rbtree_node_t *)
                       ((u_char *) qn - offsetof(ngx_rbtree_node_t, color));
            ngx_rbtree_delete(&sh->quota_tree, node);
            ngx_slab_free_locked(shpool, node);
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


ngx_int_t
ngx_http_ingest_quota_usage(ngx_str_t *sub, off_t *bytes, ngx_uint_t *uploads)
{
    uint32_t                       hash;
    ngx_slab_pool_t               *shpool;
    ngx_http_ingest_quota_node_t  *qn;

    *bytes = 0;
    *uploads = 0;

    if (ngx_http_ingest_zone == NULL || sub->len == 0 || sub->len > 255) {
        return NGX_DECLINED;
    }

    shpool = (ngx_slab_pool_t *) ngx_http_ingest_zone->shm.addr;
    hash = ngx_crc32_short(sub->data, sub->len);

    ngx_shmtx_lock(&shpool->mutex);

    qn = ngx_http_ingest_quota_lookup(ngx_http_ingest_zone->data, sub, hash);

    if (qn != NULL) {
        *bytes = qn->bytes;
        *uploads = qn->uploads;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return qn ? NGX_OK : NGX_DECLINED;
}
