
/*
 * Copyright (C) nginx video ingest developers
 *
 * tus 1.0.0 server (creation, creation-with-upload, creation-defer-length,
 * expiration, checksum, termination, concatenation,
 * concatenation-unfinished). Protocol decisions are made by the pure
 * core (src/core/ingest_tus.c); this file moves bytes between nginx and
 * the store. Every disk operation runs in a thread pool; the event loop
 * only copies body data into buffers and answers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>
#include <openssl/evp.h>

#include "ngx_http_ingest.h"
#include "ingest_tus.h"
#include "ingest_job.h"
#include "ingest_sniff.h"


#define NGX_HTTP_TUS_STATUS_LOCKED          423
#define NGX_HTTP_TUS_STATUS_CHECKSUM        460

/* thread operation results besides NGX_OK / NGX_ERROR / NGX_BUSY */
#define NGX_HTTP_TUS_NOT_FOUND              1
#define NGX_HTTP_TUS_REJECT                 2    /* ctx->tus_rc says why */
#define NGX_HTTP_TUS_DENY                   3    /* ctx->deny_* say why */

#define NGX_HTTP_TUS_TMP_AGE                3600

#define NGX_HTTP_TUS_SNIFF_OFF              0
#define NGX_HTTP_TUS_SNIFF_REJECT           1
#define NGX_HTTP_TUS_SNIFF_QUARANTINE       2

/* owners of expired uploads whose quota one cleanup run releases */
#define NGX_HTTP_TUS_CLEANUP_RELEASES       256


typedef struct {
    ngx_str_t                   store;
    ngx_str_t                   quarantine;
    ngx_str_t                   spool;
    ngx_str_t                   profile;
    ngx_str_t                   webhook;
    time_t                      expiration;
    ngx_uint_t                  sniff;          /* the location's */
    ngx_thread_pool_t          *thread_pool;
} ngx_http_tus_store_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_str_t                   base_uri;
    ngx_str_t                   thread_pool_name;
    ngx_http_tus_store_conf_t   sc;
    off_t                       max_size;
    size_t                      buffer_size;
    ngx_flag_t                  direct_io;
    ngx_flag_t                  behind_proxy;
    ngx_http_complex_value_t   *location_base;
    ngx_array_t                *cors_origins;       /* ngx_str_t */
    off_t                       quota_bytes;
    ngx_int_t                   quota_uploads;
    ngx_uint_t                  sniff;
    ngx_str_t                   create_auth;
} ngx_http_tus_loc_conf_t;


/* the pre-create authorization subrequest */
typedef struct {
    ngx_uint_t                  done;
    ngx_uint_t                  status;
    ngx_http_request_t         *subrequest;
    ngx_str_t                   metadata;
} ngx_http_tus_hook_t;


typedef struct {
    ngx_msec_t                  cleanup_interval;
    ngx_array_t                 stores;     /* ngx_http_tus_store_conf_t * */
} ngx_http_tus_main_conf_t;


typedef struct ngx_http_tus_ctx_s  ngx_http_tus_ctx_t;

typedef void (*ngx_http_tus_thread_pt)(ngx_http_tus_ctx_t *ctx);
typedef void (*ngx_http_tus_done_pt)(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);


/* request headers the module reads */
typedef enum {
    NGX_HTTP_TUS_H_RESUMABLE = 0,
    NGX_HTTP_TUS_H_OFFSET,
    NGX_HTTP_TUS_H_LENGTH,
    NGX_HTTP_TUS_H_DEFER,
    NGX_HTTP_TUS_H_METADATA,
    NGX_HTTP_TUS_H_CHECKSUM,
    NGX_HTTP_TUS_H_CONCAT,
    NGX_HTTP_TUS_H_OVERRIDE,
    NGX_HTTP_TUS_H_ORIGIN,
    NGX_HTTP_TUS_H_AC_METHOD,
    NGX_HTTP_TUS_H_XF_PROTO,
    NGX_HTTP_TUS_H_XF_HOST,
    NGX_HTTP_TUS_H_FORWARDED,
    NGX_HTTP_TUS_H_LAST
} ngx_http_tus_header_e;


#define NGX_HTTP_TUS_ALIGN      NGX_HTTP_INGEST_ALIGN


struct ngx_http_tus_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_tus_loc_conf_t    *conf;
    ngx_uint_t                  method;
    ngx_msec_t                  start;
    time_t                      now;

    ngx_str_t                   hdr[NGX_HTTP_TUS_H_LAST];

    u_char                      id[INGEST_ID_LEN + 1];
    u_char                     *data_path;
    u_char                     *info_path;
    u_char                     *finals_path;

    /* thread operation */
    ngx_thread_task_t          *task;
    ngx_http_tus_thread_pt      thread_handler;
    ngx_http_tus_done_pt        done_handler;
    ngx_int_t                   result;
    ngx_http_ingest_err_t       err;
    ingest_tus_rc_t             tus_rc;

    /* the upload */
    ngx_fd_t                    fd;
    ngx_fd_t                    dfd;            /* O_DIRECT, or -1 */
    u_char                     *info;           /* malloc()ed record */
    size_t                      info_len;
    ingest_record_t             rec;
    uint64_t                    offset;
    unsigned                    has_offset:1;

    /* creation */
    ingest_tus_create_t        *create;
    ingest_tus_create_req_t     create_req;

    /* PATCH and creation-with-upload */
    ingest_tus_patch_req_t      patch_req;
    ingest_tus_patch_t          patch;
    uint64_t                    start_offset;
    uint64_t                    written;
    ngx_http_ingest_body_t      pump;           /* the body to disk */
    ingest_cksum_algo_t         cksum_algo;
    u_char                      cksum_want[INGEST_CKSUM_MAX_DIGEST];
    ingest_cksum_t              cksum;
    ngx_int_t                   final_status;
    ngx_uint_t                  finals_completed;

    ngx_event_t                 keep;           /* worker while in_thread */

    unsigned                    in_thread:1;
    unsigned                    reading:1;
    unsigned                    body_started:1;
    unsigned                    checksum_failed:1;
    unsigned                    completed:1;
    unsigned                    creating:1;
    unsigned                    counted_active:1;
    unsigned                    spool_failed:1;
    unsigned                    recovered:1;
    unsigned                    stale_quarantined:1;
    unsigned                    sniffed:1;
    unsigned                    sniff_rejected:1;
    unsigned                    quarantine:1;
    unsigned                    quarantined:1;
    unsigned                    reserved:1;

    /* the token of the request, when the location checks tokens */
    ngx_http_ingest_auth_t     *auth;
    ngx_str_t                   owner;          /* record form of sub */
    u_char                      session_id[INGEST_ID_LEN];
    ngx_uint_t                  deny_status;
    const char                 *deny_reason;
    ngx_uint_t                  deny_metric;
    time_t                      mtime;
    ngx_http_tus_hook_t        *hook;
};


typedef struct {
    u_char                      owner[256];
    size_t                      owner_len;
    off_t                       bytes;
} ngx_http_tus_release_t;


typedef struct {
    ngx_http_tus_main_conf_t   *tmcf;
    ngx_uint_t                  removed;
    ngx_uint_t                  recovered;
    ngx_uint_t                  quarantined;
    ngx_uint_t                  failed;
    time_t                      now;
    ngx_uint_t                  nreleases;
    ngx_http_tus_release_t      releases[NGX_HTTP_TUS_CLEANUP_RELEASES];
} ngx_http_tus_cleanup_t;


static ngx_int_t ngx_http_tus_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tus_read_headers(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_options(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_post(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_patch(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_post_op(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx, ngx_http_tus_thread_pt thread_handler,
    ngx_http_tus_done_pt done_handler);
static void ngx_http_tus_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_tus_thread_event_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_tus_set_paths(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_cleanup(void *data);
static void ngx_http_tus_count_finals(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_create_policy(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_release(ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_auth_identity(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_check_access(ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_deny(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx, ngx_uint_t status, const char *reason);
static ngx_int_t ngx_http_tus_merge_metadata(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_hook_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tus_hook_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_tus_sniff(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx, ngx_http_ingest_wbuf_t *wb);

static void ngx_http_tus_create_thread(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_create_done(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_info_thread(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_repair(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_head_done(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_get_done(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_delete_thread(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_delete_done(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_patch_thread(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_open_direct(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_patch_done(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);

static void ngx_http_tus_start_body(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_body_handler(ngx_http_request_t *r);
static void ngx_http_tus_read_handler(ngx_http_request_t *r);
static void ngx_http_tus_flush(ngx_http_request_t *r, void *data);
static void ngx_http_tus_wbuf_reset(void *data, ngx_http_ingest_wbuf_t *wb);
static void ngx_http_tus_write_thread(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_write_done(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_finish_thread(ngx_http_tus_ctx_t *ctx);
static void ngx_http_tus_finish_done(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);

static ngx_int_t ngx_http_tus_load_record(ngx_http_tus_ctx_t *ctx,
    const char *path);
static ngx_int_t ngx_http_tus_save_record(ngx_http_tus_store_conf_t *sc,
    const char *path, ingest_record_t *rec, ngx_http_ingest_err_t *e);
static ngx_int_t ngx_http_tus_complete(ngx_http_tus_store_conf_t *sc,
    u_char *id, const char *data_path, const char *info_path,
    ingest_record_t *rec, ngx_fd_t fd, time_t now,
    ngx_http_ingest_err_t *e);
static ngx_int_t ngx_http_tus_complete_stale(ngx_http_tus_store_conf_t *sc,
    u_char *id, const char *data_path, const char *info_path, time_t now,
    ngx_http_ingest_err_t *e);
static ngx_uint_t ngx_http_tus_stale(ingest_record_t *rec, uint64_t size);
static ngx_uint_t ngx_http_tus_sniff_file(ngx_fd_t fd, ingest_record_t *rec);
static ngx_uint_t ngx_http_tus_sniff_check(ingest_record_t *rec,
    const u_char *buf, size_t len, ingest_container_t *c, u_char *type,
    size_t size, ssize_t *tn);
static ngx_int_t ngx_http_tus_quarantine(ngx_http_tus_store_conf_t *sc,
    u_char *id, const char *data_path, const char *info_path,
    ingest_record_t *rec, ngx_http_ingest_err_t *e);
static ngx_int_t ngx_http_tus_assemble(ngx_http_tus_store_conf_t *sc,
    u_char *final_id, time_t now, ngx_http_ingest_err_t *e);
static ngx_uint_t ngx_http_tus_notify_finals(ngx_http_tus_store_conf_t *sc,
    u_char *id, time_t now);

static ngx_int_t ngx_http_tus_respond(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx, ngx_uint_t status, const char *reason);
static ngx_int_t ngx_http_tus_reject(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx, ingest_tus_rc_t rc);
static void ngx_http_tus_finalize(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_tus_server_error(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_add_common(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_add_expires(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx);
static ngx_int_t ngx_http_tus_add_offset(ngx_http_request_t *r,
    uint64_t offset);
static ngx_int_t ngx_http_tus_url(ngx_http_request_t *r,
    ngx_http_tus_ctx_t *ctx, u_char *id, ngx_str_t *url);
static ngx_int_t ngx_http_tus_send_empty(ngx_http_request_t *r,
    ngx_uint_t status);

static ngx_int_t ngx_http_tus_log_handler(ngx_http_request_t *r);
static void ngx_http_tus_cleanup_timer(ngx_event_t *ev);
static void ngx_http_tus_cleanup_thread(void *data, ngx_log_t *log);
static void ngx_http_tus_cleanup_done(ngx_event_t *ev);
static void ngx_http_tus_cleanup_store(ngx_http_tus_store_conf_t *sc,
    ngx_http_tus_cleanup_t *cl);

static void *ngx_http_tus_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_tus_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_tus_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tus_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_tus(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_tus_set_off_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tus_set_expiration(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_tus_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_tus_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_tus_init_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_tus_sniff_modes[] = {
    { ngx_string("off"), NGX_HTTP_TUS_SNIFF_OFF },
    { ngx_string("reject"), NGX_HTTP_TUS_SNIFF_REJECT },
    { ngx_string("quarantine"), NGX_HTTP_TUS_SNIFF_QUARANTINE },
    { ngx_null_string, 0 }
};


static ngx_str_t  ngx_http_tus_header_names[NGX_HTTP_TUS_H_LAST] = {
    ngx_string("Tus-Resumable"),
    ngx_string("Upload-Offset"),
    ngx_string("Upload-Length"),
    ngx_string("Upload-Defer-Length"),
    ngx_string("Upload-Metadata"),
    ngx_string("Upload-Checksum"),
    ngx_string("Upload-Concat"),
    ngx_string("X-HTTP-Method-Override"),
    ngx_string("Origin"),
    ngx_string("Access-Control-Request-Method"),
    ngx_string("X-Forwarded-Proto"),
    ngx_string("X-Forwarded-Host"),
    ngx_string("Forwarded")
};


/* write buffers kept for the next request of this worker */
static ngx_http_tus_cleanup_t  *ngx_http_tus_cleaner;
static ngx_event_t              ngx_http_tus_cleanup_event;
static ngx_thread_task_t       *ngx_http_tus_cleanup_task;


static ngx_command_t  ngx_http_tus_commands[] = {

    { ngx_string("tus"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_tus,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, enable),
      NULL },

    { ngx_string("tus_base_uri"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, base_uri),
      NULL },

    { ngx_string("tus_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, sc.store),
      NULL },

    { ngx_string("tus_spool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ingest_conf_set_dir,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, sc.spool),
      NULL },

    { ngx_string("tus_spool_profile"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, sc.profile),
      NULL },

    { ngx_string("tus_webhook"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, sc.webhook),
      NULL },

    { ngx_string("tus_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_tus_set_off_size,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, max_size),
      NULL },

    { ngx_string("tus_expiration"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_tus_set_expiration,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, sc.expiration),
      NULL },

    { ngx_string("tus_cleanup_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tus_main_conf_t, cleanup_interval),
      NULL },

    { ngx_string("tus_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, buffer_size),
      NULL },

    { ngx_string("tus_direct_io"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, direct_io),
      NULL },

    { ngx_string("tus_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, thread_pool_name),
      NULL },

    { ngx_string("tus_behind_proxy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, behind_proxy),
      NULL },

    { ngx_string("tus_location_base"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, location_base),
      NULL },

    { ngx_string("tus_quota_bytes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_tus_set_off_size,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, quota_bytes),
      NULL },

    { ngx_string("tus_quota_uploads"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, quota_uploads),
      NULL },

    { ngx_string("tus_sniff"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, sniff),
      &ngx_http_tus_sniff_modes },

    { ngx_string("tus_quarantine"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, sc.quarantine),
      NULL },

    { ngx_string("tus_create_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, create_auth),
      NULL },

    { ngx_string("tus_cors_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ingest_conf_set_cors,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tus_loc_conf_t, cors_origins),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_tus_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_tus_postconfiguration,        /* postconfiguration */

    ngx_http_tus_create_main_conf,         /* create main configuration */
    ngx_http_tus_init_main_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_tus_create_loc_conf,          /* create location configuration */
    ngx_http_tus_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_http_tus_module = {
    NGX_MODULE_V1,
    &ngx_http_tus_module_ctx,              /* module context */
    ngx_http_tus_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_tus_init_module,              /* init module */
    ngx_http_tus_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* Context: event loop */

static ngx_int_t
ngx_http_tus_handler(ngx_http_request_t *r)
{
    size_t                    len;
    u_char                   *p;
    ngx_int_t                 rc;
    ngx_str_t                *ov;
    ngx_uint_t                collection;
    ngx_pool_cleanup_t       *cln;
    ngx_http_tus_ctx_t       *ctx, *hctx;
    ngx_http_tus_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tus_module);

    if (!tlcf->enable) {
        return NGX_DECLINED;
    }

    if (r != r->main) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    /* the pre-create hook ran in the access phase with a ctx of its own */
    hctx = ngx_http_get_module_ctx(r, ngx_http_tus_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_tus_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->hook = hctx ? hctx->hook : NULL;

    ctx->auth = ngx_http_ingest_auth(r);

    if (ctx->auth != NULL && ctx->auth->status != INGEST_TOKEN_OK) {
        ctx->auth = NULL;
    }

    if (ctx->auth != NULL
        && ngx_http_tus_auth_identity(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->conf = tlcf;
    ctx->fd = NGX_INVALID_FILE;
    ctx->dfd = NGX_INVALID_FILE;
    ctx->start = ngx_current_msec;
    ctx->now = ngx_time();
    ctx->method = r->method;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_tus_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_tus_module);

    rc = ngx_http_tus_read_headers(r, ctx);
    if (rc != NGX_OK || r->header_sent) {
        /* refused: the answer is out (or failed) */
        return rc;
    }

    /* X-HTTP-Method-Override for clients that can only send POST */

    ov = &ctx->hdr[NGX_HTTP_TUS_H_OVERRIDE];

    if (ov->data != NULL && r->method == NGX_HTTP_POST) {

        if (ov->len == 5 && ngx_strncasecmp(ov->data, (u_char *) "PATCH", 5)
                            == 0)
        {
            ctx->method = NGX_HTTP_PATCH;

        } else if (ov->len == 6
                   && ngx_strncasecmp(ov->data, (u_char *) "DELETE", 6) == 0)
        {
            ctx->method = NGX_HTTP_DELETE;

        } else if (ov->len == 4
                   && ngx_strncasecmp(ov->data, (u_char *) "HEAD", 4) == 0)
        {
            ctx->method = NGX_HTTP_HEAD;

        } else if (ov->len == 4
                   && ngx_strncasecmp(ov->data, (u_char *) "POST", 4) == 0)
        {
            ctx->method = NGX_HTTP_POST;

        } else {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "tus: unsupported X-HTTP-Method-Override \"%V\"",
                          ov);
            return ngx_http_tus_respond(r, ctx, NGX_HTTP_BAD_REQUEST,
                                 "unsupported X-HTTP-Method-Override value");
        }
    }

    /* the location prefix is the collection, "<prefix><id>" an upload */

    if (r->uri.len < tlcf->base_uri.len
        || ngx_strncmp(r->uri.data, tlcf->base_uri.data, tlcf->base_uri.len)
           != 0)
    {
        return ngx_http_tus_respond(r, ctx, NGX_HTTP_NOT_FOUND,
                                    "not a tus endpoint URL");
    }

    p = r->uri.data + tlcf->base_uri.len;
    len = r->uri.len - tlcf->base_uri.len;

    collection = (len == 0);

    if (!collection) {
        if (!ingest_id_valid(p, len)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "tus: \"%V\" is not an upload URL", &r->uri);
            return ngx_http_tus_respond(r, ctx, NGX_HTTP_NOT_FOUND,
                                        "no such upload");
        }

        ngx_memcpy(ctx->id, p, INGEST_ID_LEN);

        if (ngx_http_tus_set_paths(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->method == NGX_HTTP_OPTIONS) {
        return ngx_http_tus_options(r, ctx);
    }

    if (ctx->method != NGX_HTTP_GET) {
        p = ctx->hdr[NGX_HTTP_TUS_H_RESUMABLE].data;

        if (p == NULL
            || ingest_tus_check_version(p,
                                   ctx->hdr[NGX_HTTP_TUS_H_RESUMABLE].len)
               != INGEST_TUS_OK)
        {
            if (ngx_http_ingest_add_header(r, "Tus-Version",
                                           (u_char *) INGEST_TUS_VERSION,
                                           sizeof(INGEST_TUS_VERSION) - 1)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_tus_reject(r, ctx, INGEST_TUS_BAD_VERSION);
        }
    }

    if (collection) {
        if (ctx->method == NGX_HTTP_POST) {
            return ngx_http_tus_post(r, ctx);
        }

        if (ngx_http_ingest_add_header(r, "Allow", (u_char *) "OPTIONS, POST",
                                       sizeof("OPTIONS, POST") - 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_tus_reject(r, ctx, INGEST_TUS_METHOD_NOT_ALLOWED);
    }

    switch (ctx->method) {

    case NGX_HTTP_HEAD:
        rc = ngx_http_tus_post_op(r, ctx, ngx_http_tus_info_thread,
                                  ngx_http_tus_head_done);
        break;

    case NGX_HTTP_GET:
        rc = ngx_http_tus_post_op(r, ctx, ngx_http_tus_info_thread,
                                  ngx_http_tus_get_done);
        break;

    case NGX_HTTP_PATCH:
        return ngx_http_tus_patch(r, ctx);

    case NGX_HTTP_DELETE:
        rc = ngx_http_tus_post_op(r, ctx, ngx_http_tus_delete_thread,
                                  ngx_http_tus_delete_done);
        break;

    default:
        if (ngx_http_ingest_add_header(r, "Allow",
                        (u_char *) "OPTIONS, HEAD, GET, PATCH, DELETE",
                        sizeof("OPTIONS, HEAD, GET, PATCH, DELETE") - 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_tus_reject(r, ctx, INGEST_TUS_METHOD_NOT_ALLOWED);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_tus_read_headers(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_uint_t        i, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (k = 0; k < NGX_HTTP_TUS_H_LAST; k++) {
            if (h[i].key.len != ngx_http_tus_header_names[k].len
                || ngx_strncasecmp(h[i].key.data,
                                   ngx_http_tus_header_names[k].data,
                                   h[i].key.len)
                   != 0)
            {
                continue;
            }

            if (ctx->hdr[k].data != NULL) {
                if (k >= NGX_HTTP_TUS_H_ORIGIN) {
                    /* proxies may repeat these; the first one wins */
                    break;
                }

                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "tus: duplicate \"%V\" header",
                              &ngx_http_tus_header_names[k]);
                return ngx_http_tus_respond(r, ctx, NGX_HTTP_BAD_REQUEST,
                                            "duplicate tus header");
            }

            ctx->hdr[k] = h[i].value;
            break;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tus_set_paths(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    size_t      size;
    ngx_str_t  *store;

    store = &ctx->conf->sc.store;
    size = store->len + INGEST_ID_LEN + sizeof("/.finals");

    ctx->data_path = ngx_pnalloc(r->pool, 3 * size);
    if (ctx->data_path == NULL) {
        return NGX_ERROR;
    }

    ctx->info_path = ctx->data_path + size;
    ctx->finals_path = ctx->info_path + size;

    (void) ngx_http_ingest_path(ctx->data_path, size, store, ctx->id, "");
    (void) ngx_http_ingest_path(ctx->info_path, size, store, ctx->id, ".info");
    (void) ngx_http_ingest_path(ctx->finals_path, size, store, ctx->id,
                                ".finals");

    return NGX_OK;
}


static ngx_int_t
ngx_http_tus_options(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    u_char                   *p;
    u_char                    buf[NGX_OFF_T_LEN];
    ngx_int_t                 rc;
    ngx_http_tus_loc_conf_t  *tlcf;

    tlcf = ctx->conf;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_ingest_add_header(r, "Tus-Version",
                                   (u_char *) INGEST_TUS_VERSION,
                                   sizeof(INGEST_TUS_VERSION) - 1)
        != NGX_OK
        || ngx_http_ingest_add_header(r, "Tus-Extension",
                                      (u_char *) INGEST_TUS_EXTENSIONS,
                                      sizeof(INGEST_TUS_EXTENSIONS) - 1)
           != NGX_OK
        || ngx_http_ingest_add_header(r, "Tus-Checksum-Algorithm",
                              (u_char *) INGEST_TUS_CHECKSUM_ALGORITHMS,
                              sizeof(INGEST_TUS_CHECKSUM_ALGORITHMS) - 1)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (tlcf->max_size > 0) {
        p = ngx_sprintf(buf, "%O", tlcf->max_size);

        if (ngx_http_ingest_add_header(r, "Tus-Max-Size", buf, p - buf)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (tlcf->cors_origins != NULL
        && ctx->hdr[NGX_HTTP_TUS_H_ORIGIN].data != NULL
        && ctx->hdr[NGX_HTTP_TUS_H_AC_METHOD].data != NULL)
    {
        /* CORS preflight */

        if (ngx_http_ingest_add_header(r, "Access-Control-Allow-Methods",
                     (u_char *) "POST, HEAD, PATCH, OPTIONS, GET, DELETE",
                     sizeof("POST, HEAD, PATCH, OPTIONS, GET, DELETE") - 1)
            != NGX_OK
            || ngx_http_ingest_add_header(r, "Access-Control-Allow-Headers",
                     (u_char *) "Authorization, Origin, X-Requested-With, "
                     "X-Request-ID, X-HTTP-Method-Override, Content-Type, "
                     "Upload-Length, Upload-Offset, Tus-Resumable, "
                     "Upload-Metadata, Upload-Defer-Length, Upload-Concat, "
                     "Upload-Checksum",
                     sizeof("Authorization, Origin, X-Requested-With, "
                     "X-Request-ID, X-HTTP-Method-Override, Content-Type, "
                     "Upload-Length, Upload-Offset, Tus-Resumable, "
                     "Upload-Metadata, Upload-Defer-Length, Upload-Concat, "
                     "Upload-Checksum") - 1)
               != NGX_OK
            || ngx_http_ingest_add_header(r, "Access-Control-Max-Age",
                                          (u_char *) "86400", 5)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_tus_add_common(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_tus_send_empty(r, NGX_HTTP_NO_CONTENT);
}


/* Context: event loop */

static ngx_int_t
ngx_http_tus_post(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    u_char                   *p;
    size_t                    i;
    ngx_int_t                 rc;
    ngx_http_tus_loc_conf_t  *tlcf;
    ingest_tus_rc_t           trc;
    ingest_tus_create_req_t  *req;

    tlcf = ctx->conf;

    ctx->create = ngx_pcalloc(r->pool, sizeof(ingest_tus_create_t));
    if (ctx->create == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req = &ctx->create_req;

    if (ctx->hook != NULL && ctx->hook->metadata.len) {
        if (ngx_http_tus_merge_metadata(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    req->upload_length.data = ctx->hdr[NGX_HTTP_TUS_H_LENGTH].data;
    req->upload_length.len = ctx->hdr[NGX_HTTP_TUS_H_LENGTH].len;
    req->defer_length.data = ctx->hdr[NGX_HTTP_TUS_H_DEFER].data;
    req->defer_length.len = ctx->hdr[NGX_HTTP_TUS_H_DEFER].len;
    req->metadata.data = ctx->hdr[NGX_HTTP_TUS_H_METADATA].data;
    req->metadata.len = ctx->hdr[NGX_HTTP_TUS_H_METADATA].len;
    req->concat.data = ctx->hdr[NGX_HTTP_TUS_H_CONCAT].data;
    req->concat.len = ctx->hdr[NGX_HTTP_TUS_H_CONCAT].len;
    req->content_length = r->headers_in.chunked
                          ? -1 : r->headers_in.content_length_n;
    req->max_size = (uint64_t) tlcf->max_size;

    trc = ingest_tus_create_check(req, ctx->create);
    if (trc != INGEST_TUS_OK) {
        return ngx_http_tus_reject(r, ctx, trc);
    }

    if (ctx->auth != NULL) {
        rc = ngx_http_tus_create_policy(r, ctx);
        if (rc != NGX_OK || r->header_sent) {
            return rc;
        }
    }

    if (r->headers_in.chunked || r->headers_in.content_length_n > 0) {

        if (r->headers_in.content_type == NULL
            || ingest_tus_check_content_type(
                                   r->headers_in.content_type->value.data,
                                   r->headers_in.content_type->value.len)
               != INGEST_TUS_OK)
        {
            return ngx_http_tus_reject(r, ctx, INGEST_TUS_BAD_CONTENT_TYPE);
        }

        if (ctx->create->concat == INGEST_TUS_CONCAT_FINAL) {
            return ngx_http_tus_respond(r, ctx, NGX_HTTP_BAD_REQUEST,
                              "a final concatenation cannot carry a body");
        }

        ctx->creating = 1;
    }

    if (ngx_http_ingest_new_id(ctx->id, r->connection->log) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_tus_set_paths(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the record that will be written */

    ctx->rec.protocol = INGEST_PROTO_TUS;
    ctx->rec.length = ctx->create->length;
    ctx->rec.deferred = ctx->create->deferred;
    ctx->rec.state = INGEST_STATE_OPEN;
    ctx->rec.concat = ctx->create->concat;
    ctx->rec.created = ctx->now;
    ctx->rec.expires = tlcf->sc.expiration ? ctx->now + tlcf->sc.expiration
                                           : 0;

    if (req->metadata.data != NULL) {
        ctx->rec.metadata = req->metadata;
    }

    if (ctx->auth != NULL) {
        ctx->rec.owner.data = ctx->owner.data;
        ctx->rec.owner.len = ctx->owner.len;
        ctx->rec.session.data = ctx->session_id;
        ctx->rec.session.len = INGEST_ID_LEN;
    }

    if (ctx->create->concat == INGEST_TUS_CONCAT_FINAL) {
        p = ngx_pnalloc(r->pool, ctx->create->nparts * (INGEST_ID_LEN + 1));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->rec.parts.data = p;
        ctx->rec.parts.len = ctx->create->nparts * (INGEST_ID_LEN + 1) - 1;

        for (i = 0; i < ctx->create->nparts; i++) {
            p = ngx_cpymem(p, ctx->create->parts + i * INGEST_ID_LEN,
                           INGEST_ID_LEN);
            *p++ = ' ';
        }

        ctx->rec.state = INGEST_STATE_PENDING;
        ctx->rec.deferred = 1;
    }

    if (ngx_http_tus_post_op(r, ctx, ngx_http_tus_create_thread,
                             ngx_http_tus_create_done)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


/* Context: thread pool */

static void
ngx_http_tus_create_thread(ngx_http_tus_ctx_t *ctx)
{
    int                         fd;
    size_t                      i, size;
    u_char                     *pid, *buf;
    uint64_t                    total;
    ngx_int_t                   rc, all_complete, all_known;
    ingest_record_t             part;
    ngx_http_ingest_err_t      *e;
    ngx_http_tus_store_conf_t  *sc;
    u_char                      path[NGX_MAX_PATH];

    e = &ctx->err;
    sc = &ctx->conf->sc;

    /* a final concatenation: every part must exist and be partial */

    all_complete = 1;
    all_known = 1;
    total = 0;

    if (ctx->rec.concat == INGEST_TUS_CONCAT_FINAL) {

        for (i = 0; i < ctx->create->nparts; i++) {
            pid = ctx->create->parts + i * INGEST_ID_LEN;

            (void) ngx_http_ingest_path(path, sizeof(path), &sc->store, pid,
                                        ".info");

            buf = ngx_http_ingest_read_small((char *) path,
                                             INGEST_RECORD_MAX, &size, e);
            if (buf == NULL) {
                if (e->err == ENOENT) {
                    e->err = 0;
                    ctx->result = NGX_HTTP_TUS_REJECT;
                    ctx->tus_rc = INGEST_TUS_PARTIAL_NOT_FOUND;
                    return;
                }

                ctx->result = NGX_ERROR;
                return;
            }

            if (ingest_record_parse(&part, buf, size) != 0) {
                free(buf);
                errno = EINVAL;
                ngx_http_ingest_set_err(e, "parsing a partial's record");
                ctx->result = NGX_ERROR;
                return;
            }

            if (part.concat != INGEST_TUS_CONCAT_PARTIAL) {
                free(buf);
                ctx->result = NGX_HTTP_TUS_REJECT;
                ctx->tus_rc = INGEST_TUS_PARTIAL_NOT_PARTIAL;
                return;
            }

            if (part.owner.len != ctx->rec.owner.len
                || (part.owner.len
                    && ngx_strncmp(part.owner.data, ctx->rec.owner.data,
                                   part.owner.len)
                       != 0))
            {
                /* only one's own parts, or anonymous ones without token */
                free(buf);
                ctx->result = NGX_HTTP_TUS_DENY;
                ctx->deny_status = NGX_HTTP_FORBIDDEN;
                ctx->deny_reason = "a partial upload belongs to another "
                                   "subject";
                ctx->deny_metric = NGX_HTTP_INGEST_M_OWNER_MISMATCH;
                return;
            }

            if (ingest_record_expired(&part, ctx->now)
                && part.state != INGEST_STATE_COMPLETE)
            {
                free(buf);
                ctx->result = NGX_HTTP_TUS_REJECT;
                ctx->tus_rc = INGEST_TUS_PARTIAL_NOT_FOUND;
                return;
            }

            if (part.state != INGEST_STATE_COMPLETE) {
                all_complete = 0;
            }

            if (part.deferred) {
                all_known = 0;

            } else {
                total += part.length;
            }

            free(buf);
        }

        if (all_known) {
            if (ctx->conf->max_size && total > (uint64_t) ctx->conf->max_size)
            {
                ctx->result = NGX_HTTP_TUS_REJECT;
                ctx->tus_rc = INGEST_TUS_TOO_LARGE;
                return;
            }

            ctx->rec.deferred = 0;
            ctx->rec.length = total;
        }
    }

    fd = open((char *) ctx->data_path, O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0640);
    if (fd == -1) {
        ngx_http_ingest_set_err(e, "open() of a new upload");
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->fd = fd;

    if (ctx->creating) {
        ngx_http_tus_open_direct(ctx);

        rc = ngx_http_ingest_lock(fd, 0, e);
        if (rc != NGX_OK) {
            /* a file nobody else knows of cannot be locked elsewhere */
            if (rc == NGX_BUSY) {
                errno = EDEADLK;
                ngx_http_ingest_set_err(e, "lock of a new upload");
            }

            goto failed;
        }
    }

    if (ngx_http_tus_save_record(sc, (char *) ctx->info_path, &ctx->rec, e)
        != NGX_OK)
    {
        goto failed;
    }

    ctx->result = NGX_OK;

    if (ctx->rec.concat != INGEST_TUS_CONCAT_FINAL) {

        if (!ctx->creating && !ctx->rec.deferred && ctx->rec.length == 0) {
            /* an empty upload is complete at once */
            if (ngx_http_tus_complete(sc, ctx->id, (char *) ctx->data_path,
                                      (char *) ctx->info_path, &ctx->rec, fd,
                                      ctx->now, e)
                != NGX_OK)
            {
                ctx->spool_failed = 1;
            }

            ctx->completed = 1;
        }

        if (!ctx->creating) {
            (void) close(fd);
            ctx->fd = NGX_INVALID_FILE;
        }

        return;
    }

    (void) close(fd);
    ctx->fd = NGX_INVALID_FILE;

    /*
     * Register the final with each partial, then try to assemble: a
     * partial that completes concurrently either sees the registration
     * or has already been seen complete by the assembly below.
     */

    if (!all_complete) {
        for (i = 0; i < ctx->create->nparts; i++) {
            pid = ctx->create->parts + i * INGEST_ID_LEN;

            (void) ngx_http_ingest_path(path, sizeof(path), &sc->store, pid,
                                        ".finals");

            fd = open((char *) path, O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC,
                      0640);
            if (fd == -1) {
                ngx_http_ingest_set_err(e, "open() of a .finals file");
                ctx->result = NGX_ERROR;
                return;
            }

            if (write(fd, ctx->id, INGEST_ID_LEN + 1) != INGEST_ID_LEN + 1) {
                ngx_http_ingest_set_err(e, "write() of a .finals file");
                (void) close(fd);
                ctx->result = NGX_ERROR;
                return;
            }

            (void) close(fd);
        }
    }

    rc = ngx_http_tus_assemble(sc, ctx->id, ctx->now, e);

    if (rc == NGX_OK) {
        ctx->completed = 1;

    } else if (rc == NGX_ERROR) {
        ctx->result = NGX_ERROR;
    }

    return;

failed:

    (void) unlink((char *) ctx->data_path);
    (void) close(fd);
    ctx->fd = NGX_INVALID_FILE;
    ctx->result = NGX_ERROR;
}


/* Context: event loop */

static void
ngx_http_tus_create_done(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_str_t  url;

    if (ctx->reserved && (ctx->result != NGX_OK || ctx->completed)) {
        ngx_http_tus_release(ctx);
    }

    if (ctx->result == NGX_HTTP_TUS_REJECT) {
        ngx_http_tus_finalize(r, ctx, ngx_http_tus_reject(r, ctx, ctx->tus_rc));
        return;
    }

    if (ctx->result == NGX_HTTP_TUS_DENY) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_deny(r, ctx, ctx->deny_status,
                                                ctx->deny_reason));
        return;
    }

    if (ctx->result != NGX_OK) {
        ngx_http_tus_finalize(r, ctx, ngx_http_tus_server_error(r, ctx));
        return;
    }

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_CREATED, 1);

    if (ctx->completed) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_COMPLETED, 1);
        ngx_http_ingest_metric_add(ctx->spool_failed
                                   ? NGX_HTTP_INGEST_M_TUS_SPOOL_ERRORS
                                   : NGX_HTTP_INGEST_M_TUS_SPOOL_JOBS,
                                   ctx->conf->sc.spool.len ? 1 : 0);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "tus: upload %s created", ctx->id);

    if (ctx->creating) {
        /* creation-with-upload: the body goes in like a PATCH at 0 */
        ctx->start_offset = 0;
        ctx->pump.limit = ctx->rec.deferred
                     ? (ctx->conf->max_size ? (uint64_t) ctx->conf->max_size
                                            : INGEST_MAX_OFF)
                     : ctx->rec.length;
        ngx_http_tus_start_body(r, ctx);
        return;
    }

    if (ngx_http_tus_url(r, ctx, ctx->id, &url) != NGX_OK
        || ngx_http_ingest_add_header(r, "Location", url.data, url.len)
           != NGX_OK
        || ngx_http_tus_add_expires(r, ctx) != NGX_OK
        || ngx_http_tus_add_common(r, ctx) != NGX_OK)
    {
        ngx_http_tus_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_tus_finalize(r, ctx,
                          ngx_http_tus_send_empty(r, NGX_HTTP_CREATED));
}


/*
 * Reads the record and the data size of ctx->id.
 * Context: thread pool
 */

static void
ngx_http_tus_info_thread(ngx_http_tus_ctx_t *ctx)
{
    ngx_int_t               rc;
    struct stat             st;
    ngx_http_ingest_err_t  *e, se;

    e = &ctx->err;

    rc = ngx_http_tus_load_record(ctx, (char *) ctx->info_path);
    if (rc != NGX_OK) {
        ctx->result = rc;
        return;
    }

    if (ctx->rec.state == INGEST_STATE_PENDING) {
        /* concatenation-unfinished: maybe the parts are done by now */

        rc = ngx_http_tus_assemble(&ctx->conf->sc, ctx->id, ctx->now, e);
        if (rc == NGX_ERROR) {
            ctx->result = NGX_ERROR;
            return;
        }

        if (rc == NGX_OK) {
            ctx->finals_completed = 1;
            free(ctx->info);
            ctx->info = NULL;

            rc = ngx_http_tus_load_record(ctx, (char *) ctx->info_path);
            if (rc != NGX_OK) {
                ctx->result = rc;
                return;
            }
        }
    }

    ctx->fd = open((char *) ctx->data_path, O_RDONLY|O_CLOEXEC);
    if (ctx->fd == -1) {
        if (errno == ENOENT) {
            ctx->result = NGX_HTTP_TUS_NOT_FOUND;
            return;
        }

        ngx_http_ingest_set_err(e, "open() of upload data");
        ctx->result = NGX_ERROR;
        return;
    }

    if (fstat(ctx->fd, &st) == -1) {
        ngx_http_ingest_set_err(e, "fstat() of upload data");
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->offset = (uint64_t) st.st_size;
    ctx->mtime = st.st_mtime;

    if (ngx_http_tus_check_access(ctx) != NGX_OK) {
        ctx->result = NGX_HTTP_TUS_DENY;
        return;
    }

    if (ctx->rec.has_verify) {
        /* bytes of an unverified checksummed PATCH do not count */
        if (ctx->rec.verify < ctx->offset) {
            ctx->offset = ctx->rec.verify;
        }

        ngx_http_tus_repair(ctx);
    }

    if (!ctx->rec.deferred && ctx->offset > ctx->rec.length) {
        ctx->offset = ctx->rec.length;
    }

    rc = ngx_http_tus_stale(&ctx->rec, ctx->offset)
         ? ngx_http_tus_complete_stale(&ctx->conf->sc, ctx->id,
                                       (char *) ctx->data_path,
                                       (char *) ctx->info_path, ctx->now,
                                       &se)
         : NGX_DECLINED;

    if (rc == NGX_DONE) {
        /* quarantined, as its writer would have: gone from the store */
        ctx->stale_quarantined = 1;
        ctx->result = NGX_HTTP_TUS_NOT_FOUND;
        return;
    }

    if (rc == NGX_OK) {
        ctx->recovered = 1;
        ctx->finals_completed++;

        free(ctx->info);
        ctx->info = NULL;

        rc = ngx_http_tus_load_record(ctx, (char *) ctx->info_path);
        if (rc != NGX_OK) {
            ctx->result = rc;
            return;
        }
    }

    ctx->has_offset = (ctx->rec.state != INGEST_STATE_PENDING);
    ctx->result = NGX_OK;
}


/*
 * A checksummed part whose writer died: when nobody holds the lock, cut
 * the unverified bytes and forget the mark, so that the file size is the
 * offset again. A live writer is left alone.
 * Context: thread pool
 */

static void
ngx_http_tus_repair(ngx_http_tus_ctx_t *ctx)
{
    int                     fd;
    struct stat             st;
    ngx_http_ingest_err_t   e;

    fd = open((char *) ctx->data_path, O_RDWR|O_CLOEXEC);
    if (fd == -1) {
        return;
    }

    if (ngx_http_ingest_lock(fd, 0, &e) != NGX_OK) {
        (void) close(fd);
        return;
    }

    /* the writer may have finished between our reads: read again */

    free(ctx->info);
    ctx->info = NULL;

    if (ngx_http_tus_load_record(ctx, (char *) ctx->info_path) != NGX_OK) {
        (void) close(fd);
        return;
    }

    if (!ctx->rec.has_verify) {
        if (fstat(fd, &st) == 0) {
            ctx->offset = (uint64_t) st.st_size;
        }

    } else if (ftruncate(fd, (off_t) ctx->rec.verify) == 0) {
        ctx->offset = ctx->rec.verify;
        ctx->rec.has_verify = 0;

        (void) ngx_http_tus_save_record(&ctx->conf->sc,
                                        (char *) ctx->info_path, &ctx->rec,
                                        &e);
    }

    (void) close(fd);
}


/* Context: event loop */

static void
ngx_http_tus_head_done(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    u_char           *p, *last;
    size_t            i, n, len;
    ngx_str_t         url;
    ingest_record_t  *rec;
    u_char            buf[NGX_OFF_T_LEN];

    ngx_http_tus_count_finals(r, ctx);

    if (ctx->result == NGX_HTTP_TUS_DENY) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_deny(r, ctx, ctx->deny_status,
                                                ctx->deny_reason));
        return;
    }

    if (ctx->result == NGX_HTTP_TUS_NOT_FOUND) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx,
                                                  INGEST_TUS_NOT_FOUND));
        return;
    }

    if (ctx->result != NGX_OK) {
        ngx_http_tus_finalize(r, ctx, ngx_http_tus_server_error(r, ctx));
        return;
    }

    rec = &ctx->rec;

    if (rec->state != INGEST_STATE_COMPLETE
        && ingest_record_expired(rec, ctx->now))
    {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx, INGEST_TUS_GONE));
        return;
    }

    if (ctx->has_offset && ngx_http_tus_add_offset(r, ctx->offset) != NGX_OK)
    {
        goto failed;
    }

    if (rec->deferred) {
        if (ngx_http_ingest_add_header(r, "Upload-Defer-Length",
                                       (u_char *) "1", 1)
            != NGX_OK)
        {
            goto failed;
        }

    } else {
        p = ngx_sprintf(buf, "%uL", rec->length);

        if (ngx_http_ingest_add_header(r, "Upload-Length", buf, p - buf)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (rec->metadata.len
        && ngx_http_ingest_add_header(r, "Upload-Metadata",
                                      (u_char *) rec->metadata.data,
                                      rec->metadata.len)
           != NGX_OK)
    {
        goto failed;
    }

    if (rec->concat == INGEST_TUS_CONCAT_PARTIAL) {
        if (ngx_http_ingest_add_header(r, "Upload-Concat", (u_char *) "partial",
                                       sizeof("partial") - 1)
            != NGX_OK)
        {
            goto failed;
        }

    } else if (rec->concat == INGEST_TUS_CONCAT_FINAL) {
        n = ingest_record_nparts(rec);

        if (ngx_http_tus_url(r, ctx, (u_char *) ingest_record_part(rec, 0),
                             &url)
            != NGX_OK)
        {
            goto failed;
        }

        len = sizeof("final;") - 1 + n * (url.len + 1);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            goto failed;
        }

        last = ngx_cpymem(p, "final;", sizeof("final;") - 1);

        for (i = 0; i < n; i++) {
            if (ngx_http_tus_url(r, ctx,
                                 (u_char *) ingest_record_part(rec, i), &url)
                != NGX_OK)
            {
                goto failed;
            }

            if (i) {
                *last++ = ' ';
            }

            last = ngx_cpymem(last, url.data, url.len);
        }

        if (ngx_http_ingest_add_header(r, "Upload-Concat", p, last - p)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (ngx_http_tus_add_expires(r, ctx) != NGX_OK
        || ngx_http_ingest_add_header(r, "Cache-Control", (u_char *) "no-store",
                                      sizeof("no-store") - 1)
           != NGX_OK
        || ngx_http_tus_add_common(r, ctx) != NGX_OK)
    {
        goto failed;
    }

    r->header_only = 1;

    ngx_http_tus_finalize(r, ctx, ngx_http_tus_send_empty(r, NGX_HTTP_OK));
    return;

failed:

    ngx_http_tus_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


static ngx_int_t
ngx_http_tus_media_type_ok(u_char *p, size_t len)
{
    size_t      i;
    ngx_uint_t  slash;

    static const char  *tspecials = "()<>@,;:\\\"/[]?={} \t";

    if (len == 0 || len > 127) {
        return 0;
    }

    slash = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '/') {
            if (slash || i == 0 || i == len - 1) {
                return 0;
            }

            slash = 1;
            continue;
        }

        if (p[i] <= 0x20 || p[i] >= 0x7f || strchr(tspecials, p[i]) != NULL)
        {
            return 0;
        }
    }

    return slash;
}


/* Context: event loop */

static void
ngx_http_tus_get_done(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    u_char              *p, *q, *last;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_uint_t           i;
    ngx_chain_t          out;
    ingest_record_t     *rec;
    ngx_pool_cleanup_t  *cln;
    ngx_pool_cleanup_file_t  *clnf;
    u_char               type[128];
    u_char               name[256];

    ngx_http_tus_count_finals(r, ctx);

    if (ctx->result == NGX_HTTP_TUS_DENY) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_deny(r, ctx, ctx->deny_status,
                                                ctx->deny_reason));
        return;
    }

    if (ctx->result == NGX_HTTP_TUS_NOT_FOUND) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx,
                                                  INGEST_TUS_NOT_FOUND));
        return;
    }

    if (ctx->result != NGX_OK) {
        ngx_http_tus_finalize(r, ctx, ngx_http_tus_server_error(r, ctx));
        return;
    }

    rec = &ctx->rec;

    if (rec->state != INGEST_STATE_COMPLETE) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx,
                                  ingest_record_expired(rec, ctx->now)
                                  ? INGEST_TUS_GONE
                                  : INGEST_TUS_NOT_COMPLETE));
        return;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        ngx_http_tus_finalize(r, ctx, rc);
        return;
    }

    /* the response owns the descriptor from here */

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        goto failed;
    }

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = ctx->fd;
    clnf->name = ctx->data_path;
    clnf->log = r->pool->log;

    fd = ctx->fd;
    ctx->fd = NGX_INVALID_FILE;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        goto failed;
    }

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        goto failed;
    }

    b->file->fd = fd;
    b->file->name.data = ctx->data_path;
    b->file->name.len = ngx_strlen(ctx->data_path);
    b->file->log = r->connection->log;
    b->file->directio = 0;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = (off_t) ctx->offset;
    r->headers_out.last_modified_time = (time_t) rec->created;

    n = -1;

    if (rec->metadata.len) {
        n = ingest_tus_metadata_get(rec->metadata.data, rec->metadata.len,
                                    "filetype", type, sizeof(type));
        if (n <= 0) {
            n = ingest_tus_metadata_get(rec->metadata.data, rec->metadata.len,
                                        "contentType", type, sizeof(type));
        }
    }

    if (n > 0 && ngx_http_tus_media_type_ok(type, n)) {
        p = ngx_pnalloc(r->pool, n);
        if (p == NULL) {
            goto failed;
        }

        ngx_memcpy(p, type, n);
        r->headers_out.content_type.data = p;
        r->headers_out.content_type.len = n;

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/octet-stream");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    n = -1;

    if (rec->metadata.len) {
        n = ingest_tus_metadata_get(rec->metadata.data, rec->metadata.len,
                                    "filename", name, sizeof(name));
    }

    if (n > 0) {
        /* RFC 6266 filename*: percent-encode everything but attr-chars */

        p = ngx_pnalloc(r->pool, sizeof("attachment; filename*=UTF-8''")
                                 + 3 * n);
        if (p == NULL) {
            goto failed;
        }

        last = ngx_cpymem(p, "attachment; filename*=UTF-8''",
                          sizeof("attachment; filename*=UTF-8''") - 1);

        for (i = 0; i < (ngx_uint_t) n; i++) {
            q = &name[i];

            if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')
                || (*q >= '0' && *q <= '9') || strchr("!#$&+-.^_`|~", *q))
            {
                *last++ = *q;

            } else {
                last = ngx_sprintf(last, "%%%02XD", (ngx_uint_t) *q);
            }
        }

        if (ngx_http_ingest_add_header(r, "Content-Disposition", p, last - p)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (ngx_http_tus_add_common(r, ctx) != NGX_OK) {
        goto failed;
    }

    r->allow_ranges = 1;

    if (ctx->offset == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_tus_finalize(r, ctx, rc);
        return;
    }

    b->file_pos = 0;
    b->file_last = (off_t) ctx->offset;
    b->in_file = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_http_tus_finalize(r, ctx, ngx_http_output_filter(r, &out));
    return;

failed:

    ngx_http_tus_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/* Context: thread pool */

static void
ngx_http_tus_delete_thread(ngx_http_tus_ctx_t *ctx)
{
    ngx_int_t               rc;
    struct stat             st;
    ngx_http_ingest_err_t  *e;

    e = &ctx->err;

    ctx->fd = open((char *) ctx->data_path, O_RDWR|O_CLOEXEC);
    if (ctx->fd == -1) {
        if (errno == ENOENT) {
            ctx->result = NGX_HTTP_TUS_NOT_FOUND;
            return;
        }

        ngx_http_ingest_set_err(e, "open() of upload data");
        ctx->result = NGX_ERROR;
        return;
    }

    rc = ngx_http_ingest_lock(ctx->fd, 0, e);
    if (rc != NGX_OK) {
        ctx->result = rc;
        return;
    }

    rc = ngx_http_tus_load_record(ctx, (char *) ctx->info_path);
    if (rc != NGX_OK) {
        ctx->result = rc;
        return;
    }

    if (fstat(ctx->fd, &st) == 0) {
        ctx->mtime = st.st_mtime;
    }

    if (ngx_http_tus_check_access(ctx) != NGX_OK) {
        ctx->result = NGX_HTTP_TUS_DENY;
        return;
    }

    /* an expired upload goes anyway, but the answer says it had expired */
    ctx->tus_rc = (ctx->rec.state != INGEST_STATE_COMPLETE
                   && ingest_record_expired(&ctx->rec, ctx->now))
                  ? INGEST_TUS_GONE : INGEST_TUS_OK;

    if (unlink((char *) ctx->info_path) == -1) {
        ngx_http_ingest_set_err(e, "unlink() of a record");
        ctx->result = NGX_ERROR;
        return;
    }

    (void) unlink((char *) ctx->data_path);
    (void) unlink((char *) ctx->finals_path);

    (void) close(ctx->fd);
    ctx->fd = NGX_INVALID_FILE;

    ctx->result = NGX_OK;
}


/* Context: event loop */

static void
ngx_http_tus_delete_done(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->result == NGX_HTTP_TUS_DENY) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_deny(r, ctx, ctx->deny_status,
                                                ctx->deny_reason));
        return;
    }

    if (ctx->result == NGX_OK && ctx->rec.state != INGEST_STATE_COMPLETE) {
        ngx_http_tus_release(ctx);
    }

    if (ctx->result == NGX_OK && ctx->tus_rc == INGEST_TUS_GONE) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_FAILED, 1);
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx, INGEST_TUS_GONE));
        return;
    }

    switch (ctx->result) {

    case NGX_OK:
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_TERMINATED, 1);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "tus: upload %s terminated", ctx->id);

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            ngx_http_tus_finalize(r, ctx, rc);
            return;
        }

        if (ngx_http_tus_add_common(r, ctx) != NGX_OK) {
            ngx_http_tus_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_send_empty(r, NGX_HTTP_NO_CONTENT));
        return;

    case NGX_HTTP_TUS_NOT_FOUND:
        rc = ngx_http_tus_reject(r, ctx, INGEST_TUS_NOT_FOUND);
        break;

    case NGX_BUSY:
        rc = ngx_http_tus_reject(r, ctx, INGEST_TUS_LOCKED);
        break;

    default:
        rc = ngx_http_tus_server_error(r, ctx);
        break;
    }

    ngx_http_tus_finalize(r, ctx, rc);
}


/* Context: event loop */

static ngx_int_t
ngx_http_tus_patch(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_str_t               *h;
    ingest_tus_rc_t          trc;
    ingest_tus_patch_req_t  *req;

    if (r->headers_in.content_type == NULL
        || ingest_tus_check_content_type(
                                   r->headers_in.content_type->value.data,
                                   r->headers_in.content_type->value.len)
           != INGEST_TUS_OK)
    {
        return ngx_http_tus_reject(r, ctx, INGEST_TUS_BAD_CONTENT_TYPE);
    }

    if (ctx->hdr[NGX_HTTP_TUS_H_OFFSET].data == NULL) {
        return ngx_http_tus_reject(r, ctx, INGEST_TUS_BAD_OFFSET);
    }

    h = &ctx->hdr[NGX_HTTP_TUS_H_CHECKSUM];

    if (h->data != NULL) {
        trc = ingest_tus_checksum_parse(h->data, h->len, &ctx->cksum_algo,
                                        ctx->cksum_want);
        if (trc != INGEST_TUS_OK) {
            return ngx_http_tus_reject(r, ctx, trc);
        }
    }

    req = &ctx->patch_req;

    req->upload_offset.data = ctx->hdr[NGX_HTTP_TUS_H_OFFSET].data;
    req->upload_offset.len = ctx->hdr[NGX_HTTP_TUS_H_OFFSET].len;
    req->upload_length.data = ctx->hdr[NGX_HTTP_TUS_H_LENGTH].data;
    req->upload_length.len = ctx->hdr[NGX_HTTP_TUS_H_LENGTH].len;
    req->content_length = r->headers_in.chunked
                          ? -1 : r->headers_in.content_length_n;
    req->max_size = (uint64_t) ctx->conf->max_size;
    req->now = ctx->now;

    if (ctx->auth != NULL && ctx->auth->claims.max_size
        && (req->max_size == 0 || ctx->auth->claims.max_size < req->max_size))
    {
        req->max_size = ctx->auth->claims.max_size;
    }

    if (ngx_http_tus_post_op(r, ctx, ngx_http_tus_patch_thread,
                             ngx_http_tus_patch_done)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


/*
 * Opens and locks the upload, repairs an interrupted checksummed PATCH,
 * applies the PATCH rules and records what must be known before data
 * is written (a new length, the start of a checksummed part).
 * Context: thread pool
 */

static void
ngx_http_tus_patch_thread(ngx_http_tus_ctx_t *ctx)
{
    ngx_int_t                   rc, save;
    struct stat                 st;
    ingest_record_t            *rec;
    ngx_http_ingest_err_t      *e;
    ngx_http_tus_store_conf_t  *sc;

    e = &ctx->err;
    rec = &ctx->rec;
    sc = &ctx->conf->sc;

    ctx->fd = open((char *) ctx->data_path, O_RDWR|O_CLOEXEC);
    if (ctx->fd == -1) {
        if (errno == ENOENT) {
            ctx->result = NGX_HTTP_TUS_NOT_FOUND;
            return;
        }

        ngx_http_ingest_set_err(e, "open() of upload data");
        ctx->result = NGX_ERROR;
        return;
    }

    rc = ngx_http_ingest_lock(ctx->fd, 0, e);
    if (rc != NGX_OK) {
        ctx->result = rc;
        return;
    }

    ngx_http_tus_open_direct(ctx);

    rc = ngx_http_tus_load_record(ctx, (char *) ctx->info_path);
    if (rc != NGX_OK) {
        ctx->result = rc;
        return;
    }

    if (fstat(ctx->fd, &st) == -1) {
        ngx_http_ingest_set_err(e, "fstat() of upload data");
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->mtime = st.st_mtime;

    if (ngx_http_tus_check_access(ctx) != NGX_OK) {
        ctx->result = NGX_HTTP_TUS_DENY;
        return;
    }

    if (rec->state == INGEST_STATE_QUARANTINED) {
        /* sniffing found something else: keep it so, silently */
        ctx->quarantine = 1;
    }

    save = 0;

    if (rec->has_verify) {
        /* the writer of a checksummed part died before checking it */

        if ((uint64_t) st.st_size > rec->verify) {
            if (ftruncate(ctx->fd, (off_t) rec->verify) == -1) {
                ngx_http_ingest_set_err(e, "ftruncate() of unverified data");
                ctx->result = NGX_ERROR;
                return;
            }

            st.st_size = (off_t) rec->verify;
        }

        rec->has_verify = 0;
        save = 1;
    }

    ctx->offset = (uint64_t) st.st_size;
    ctx->patch_req.current_offset = ctx->offset;

    ctx->tus_rc = ingest_tus_patch_check(&ctx->patch_req, rec, &ctx->patch);

    if (ctx->tus_rc == INGEST_TUS_OK) {
        if (ctx->patch.set_length) {
            rec->deferred = 0;
            rec->length = ctx->patch.new_length;
            save = 1;
        }

        if (ctx->cksum_algo != INGEST_CKSUM_NONE) {
            rec->has_verify = 1;
            rec->verify = ctx->offset;
            save = 1;
        }
    }

    if (save
        && ngx_http_tus_save_record(sc, (char *) ctx->info_path, rec, e)
           != NGX_OK)
    {
        ctx->result = NGX_ERROR;
        return;
    }

    if (ctx->tus_rc != INGEST_TUS_OK) {
        ctx->result = NGX_HTTP_TUS_REJECT;
        return;
    }

    /* a deferred length set to the current offset completes the upload */

    if (ctx->patch.set_length && rec->length == ctx->offset
        && ctx->patch_req.content_length == 0)
    {
        if (ngx_http_tus_complete(sc, ctx->id, (char *) ctx->data_path,
                                  (char *) ctx->info_path, rec, ctx->fd,
                                  ctx->now, e)
            != NGX_OK)
        {
            ctx->spool_failed = 1;
        }

        ctx->completed = 1;
    }

    ctx->result = NGX_OK;
}


/*
 * A second descriptor with O_DIRECT for the page-aligned bulk of the
 * data; filesystems without O_DIRECT (tmpfs) simply do not get one.
 * Context: thread pool
 */

static void
ngx_http_tus_open_direct(ngx_http_tus_ctx_t *ctx)
{
    if (!ctx->conf->direct_io) {
        return;
    }

    ctx->dfd = open((char *) ctx->data_path, O_WRONLY|O_DIRECT|O_CLOEXEC);
}


/* Context: event loop */

static void
ngx_http_tus_patch_done(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_str_t    owner;
    const char  *which;

    switch (ctx->result) {

    case NGX_OK:
        break;

    case NGX_HTTP_TUS_NOT_FOUND:
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx,
                                                  INGEST_TUS_NOT_FOUND));
        return;

    case NGX_BUSY:
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx, INGEST_TUS_LOCKED));
        return;

    case NGX_HTTP_TUS_REJECT:
        ngx_http_tus_finalize(r, ctx, ngx_http_tus_reject(r, ctx, ctx->tus_rc));
        return;

    case NGX_HTTP_TUS_DENY:
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_deny(r, ctx, ctx->deny_status,
                                                ctx->deny_reason));
        return;

    default:
        ngx_http_tus_finalize(r, ctx, ngx_http_tus_server_error(r, ctx));
        return;
    }

    if (ctx->patch.set_length && ctx->rec.owner.len) {
        /* the length is known now: it counts toward the owner's quota */
        owner.data = (u_char *) ctx->rec.owner.data;
        owner.len = ctx->rec.owner.len;

        (void) ngx_http_ingest_quota_reserve(&owner,
                                             (off_t) ctx->patch.new_length,
                                             0, 0, 0, &which);
    }

    /* a completion by this PATCH is counted when it ends */

    ctx->start_offset = ctx->offset;
    ctx->pump.limit = ctx->patch.limit;

    ngx_http_tus_start_body(r, ctx);
}


/* Context: event loop */

static void
ngx_http_tus_start_body(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_int_t  rc;

    ctx->pump.size = ctx->conf->buffer_size + NGX_HTTP_TUS_ALIGN;
    ctx->pump.flush = ngx_http_tus_flush;
    ctx->pump.reset = ngx_http_tus_wbuf_reset;
    ctx->pump.data = ctx;

    if (ctx->cksum_algo != INGEST_CKSUM_NONE) {
        if (ingest_cksum_init(&ctx->cksum, ctx->cksum_algo) != 0) {
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                          "tus: checksum initialization failed");
            ctx->pump.write_failed = 1;
        }
    }

    ctx->body_started = 1;
    ctx->counted_active = 1;
    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_ACTIVE, 1);

    /*
     * Our reference to the request passes to the finishing operation
     * unless the body reader takes its own.
     */

    if (ctx->pump.write_failed) {
        ctx->pump.done = 1;
        ngx_http_tus_flush(r, ctx);
        return;
    }

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_tus_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* the reader gave its reference back; finish as a failed part */
        ctx->pump.rc = rc;
        ctx->pump.done = 1;
        ngx_http_tus_flush(r, ctx);
        return;
    }

    ngx_http_tus_finalize(r, ctx, NGX_DONE);
}


/* Context: event loop */

static void
ngx_http_tus_body_handler(ngx_http_request_t *r)
{
    ngx_http_tus_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tus_module);

    if (ctx->pump.done) {
        return;
    }

    r->read_event_handler = ngx_http_tus_read_handler;

    ngx_http_ingest_body_read(r, &ctx->pump);
}


/* Context: event loop */

static void
ngx_http_tus_read_handler(ngx_http_request_t *r)
{
    ngx_http_tus_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tus_module);

    if (ctx->pump.done) {
        return;
    }

    if (r->connection->read->timedout && ctx->pump.blocked_on_disk) {
        /* we stopped reading because of the disk, not the client */
        r->connection->read->timedout = 0;
        return;
    }

    ngx_http_ingest_body_read(r, &ctx->pump);
}


/*
 * Hands a filled buffer to the thread pool. When the body is done and
 * nothing is left to write, runs the finishing operation.
 * Context: event loop
 */

static void
ngx_http_tus_flush(ngx_http_request_t *r, void *data)
{
    ngx_http_tus_ctx_t  *ctx = data;

    ngx_http_ingest_wbuf_t  *wb;

    if (ctx->pump.write_buf != NULL) {
        /* the write completion calls us again */
        return;
    }

    wb = &ctx->pump.wbuf[ctx->pump.fill];

    if (ctx->conf->sniff != NGX_HTTP_TUS_SNIFF_OFF && !ctx->sniffed
        && wb->buf != NULL && wb->last > wb->pos && wb->offset == 0
        && ctx->rec.concat == INGEST_TUS_CONCAT_NONE)
    {
        ngx_http_tus_sniff(r, ctx, wb);
    }

    if (!ctx->pump.write_failed && wb->buf != NULL && wb->last > wb->pos) {

        ctx->pump.write_buf = wb;
        ctx->pump.fill ^= 1;

        if (ctx->pump.wbuf[ctx->pump.fill].buf != NULL) {
            ngx_http_tus_wbuf_reset(ctx, &ctx->pump.wbuf[ctx->pump.fill]);
        }

        if (ngx_http_tus_post_op(r, ctx, ngx_http_tus_write_thread,
                                 ngx_http_tus_write_done)
            != NGX_OK)
        {
            ctx->pump.write_buf = NULL;
            ctx->pump.write_failed = 1;
            ctx->err.err = 0;
            ctx->err.step = "ngx_thread_task_post()";

        } else {
            return;
        }
    }

    if (!ctx->pump.done) {
        return;
    }

    if (ngx_http_tus_post_op(r, ctx, ngx_http_tus_finish_thread,
                             ngx_http_tus_finish_done)
        != NGX_OK)
    {
        ctx->result = NGX_ERROR;
        ngx_http_tus_finish_done(r, ctx);
    }
}


/*
 * A buffer starts to fill at the current end of the data received, at
 * buf + (offset % 4096), so that the part of it that covers whole pages
 * of the file is page-aligned in memory and can go to disk with O_DIRECT.
 */

static void
ngx_http_tus_wbuf_reset(void *data, ngx_http_ingest_wbuf_t *wb)
{
    ngx_http_tus_ctx_t  *ctx = data;

    wb->offset = ctx->start_offset + ctx->pump.received;
    wb->pos = wb->buf + (wb->offset & (NGX_HTTP_TUS_ALIGN - 1));
    wb->last = wb->pos;
}


/* Context: thread pool */

static void
ngx_http_tus_write_thread(ngx_http_tus_ctx_t *ctx)
{
    off_t                 off;
    size_t                len;
    u_char               *p;
    ngx_http_ingest_wbuf_t  *wb;

    wb = ctx->pump.write_buf;
    p = wb->pos;
    len = wb->last - wb->pos;
    off = (off_t) wb->offset;

    if (ngx_http_ingest_write_direct(ctx->fd, &ctx->dfd, p, len, off,
                                     &ctx->err)
        != NGX_OK)
    {
        ctx->result = NGX_ERROR;
        return;
    }

    if (ctx->cksum_algo != INGEST_CKSUM_NONE
        && ingest_cksum_update(&ctx->cksum, wb->pos, len) != 0)
    {
        errno = EINVAL;
        ngx_http_ingest_set_err(&ctx->err, "checksum update");
        ctx->written += len;
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->written += len;
    ctx->result = NGX_OK;
}


/* Context: event loop */

static void
ngx_http_tus_write_done(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_http_ingest_wbuf_t  *wb;

    wb = ctx->pump.write_buf;
    ctx->pump.write_buf = NULL;

    if (ctx->result != NGX_OK) {
        ctx->pump.write_failed = 1;

    } else {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_BYTES,
                                   wb->last - wb->pos);
    }

    wb->pos = wb->buf;
    wb->last = wb->buf;

    if (ctx->pump.done || ctx->pump.write_failed) {
        ctx->pump.done = 1;
        ngx_http_tus_flush(r, ctx);
        return;
    }

    ngx_http_ingest_body_read(r, &ctx->pump);
}


/*
 * Checks the checksum, cuts back a rejected part, completes the upload
 * when its last byte arrived and releases the lock.
 * Context: thread pool
 */

static void
ngx_http_tus_finish_thread(ngx_http_tus_ctx_t *ctx)
{
    ngx_uint_t                  save, keep;
    struct stat                 st;
    ingest_record_t            *rec;
    ngx_http_ingest_err_t      *e;
    ngx_http_tus_store_conf_t  *sc;
    u_char                      digest[INGEST_CKSUM_MAX_DIGEST];

    rec = &ctx->rec;
    sc = &ctx->conf->sc;
    e = &ctx->err;
    save = 0;

    ctx->result = NGX_OK;

    if (ctx->fd == NGX_INVALID_FILE) {
        ctx->result = NGX_ERROR;
        return;
    }

    if (ctx->cksum_algo != INGEST_CKSUM_NONE) {
        keep = 0;

        if (!ctx->pump.write_failed && ctx->pump.rc == 0 && !ctx->pump.too_much
            && ingest_cksum_final(&ctx->cksum, digest) == 0)
        {
            keep = ingest_memeq_ct(digest, ctx->cksum_want,
                                   ingest_cksum_size(ctx->cksum_algo));

            ctx->checksum_failed = !keep;
        }

        if (!keep) {
            /* all or nothing: the part goes */
            if (ftruncate(ctx->fd, (off_t) ctx->start_offset) == -1) {
                ngx_http_ingest_set_err(e, "ftruncate() of a rejected part");
                ctx->result = NGX_ERROR;
            }
        }

        rec->has_verify = 0;
        save = 1;
    }

    if (fstat(ctx->fd, &st) == -1) {
        ngx_http_ingest_set_err(e, "fstat() of upload data");
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->offset = (uint64_t) st.st_size;

    if (ctx->quarantine && rec->state == INGEST_STATE_OPEN) {
        rec->state = INGEST_STATE_QUARANTINED;
        save = 1;
    }

    if (ctx->result == NGX_OK && !rec->deferred
        && ctx->offset == rec->length
        && (rec->state == INGEST_STATE_OPEN
            || rec->state == INGEST_STATE_QUARANTINED))
    {
        if (rec->state == INGEST_STATE_QUARANTINED) {
            if (ngx_http_tus_quarantine(sc, ctx->id, (char *) ctx->data_path,
                                        (char *) ctx->info_path, rec, e)
                != NGX_OK)
            {
                ctx->result = NGX_ERROR;
            }

            ctx->quarantined = 1;

        } else if (ngx_http_tus_complete(sc, ctx->id,
                                         (char *) ctx->data_path,
                                         (char *) ctx->info_path, rec,
                                         ctx->fd, ctx->now, e)
                   != NGX_OK)
        {
            ctx->spool_failed = 1;
        }

        ctx->completed = 1;
        save = 0;
    }

    if (save
        && ngx_http_tus_save_record(sc, (char *) ctx->info_path, rec, e)
           != NGX_OK)
    {
        ctx->result = NGX_ERROR;
    }

    if (ctx->dfd != NGX_INVALID_FILE) {
        (void) close(ctx->dfd);
        ctx->dfd = NGX_INVALID_FILE;
    }

    /* closing releases the lock */
    (void) close(ctx->fd);
    ctx->fd = NGX_INVALID_FILE;

    if (ctx->completed && rec->concat == INGEST_TUS_CONCAT_PARTIAL) {
        ctx->finals_completed = ngx_http_tus_notify_finals(sc, ctx->id,
                                                           ctx->now);
    }
}


/* Context: event loop */

static void
ngx_http_tus_finish_done(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ngx_int_t   rc;
    ngx_str_t   url;

    ingest_cksum_free(&ctx->cksum);

    if (ctx->counted_active) {
        ctx->counted_active = 0;
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_ACTIVE, -1);
    }

    ngx_http_tus_count_finals(r, ctx);

    if (ctx->completed) {
        ngx_http_tus_release(ctx);
    }

    if (ctx->quarantined) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_QUARANTINED, 1);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "tus: upload %s complete and quarantined in \"%V\"",
                      ctx->id, &ctx->conf->sc.quarantine);

    } else if (ctx->completed) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "tus: upload %s complete, %uL bytes",
                      ctx->id, ctx->offset);

        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_COMPLETED, 1);

        if (ctx->conf->sc.spool.len && !ctx->quarantined) {
            ngx_http_ingest_metric_add(ctx->spool_failed
                                       ? NGX_HTTP_INGEST_M_TUS_SPOOL_ERRORS
                                       : NGX_HTTP_INGEST_M_TUS_SPOOL_JOBS, 1);
        }

        if (ctx->spool_failed) {
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, ctx->err.err,
                          "tus: upload %s has all of its bytes but its "
                          "spool job failed: %s; it stays open until a "
                          "HEAD or the expiry sweep writes the job",
                          ctx->id, ctx->err.step);
        }
    }

    if (ctx->pump.rc == NGX_HTTP_REQUEST_TIME_OUT
        || r->connection->error)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "tus: upload %s interrupted at offset %uL, "
                      "%uL bytes of this part kept",
                      ctx->id, ctx->offset,
                      ctx->offset - ngx_min(ctx->offset, ctx->start_offset));

        ctx->final_status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
        rc = (ctx->pump.rc == NGX_HTTP_REQUEST_TIME_OUT)
             ? NGX_HTTP_REQUEST_TIME_OUT : NGX_HTTP_CLIENT_CLOSED_REQUEST;

        if (ctx->pump.rc == NGX_HTTP_REQUEST_TIME_OUT) {
            r->connection->timedout = 1;
            ctx->final_status = NGX_HTTP_REQUEST_TIME_OUT;
        }

        ngx_http_tus_finalize(r, ctx, rc);
        return;
    }

    if (ctx->result != NGX_OK || ctx->pump.write_failed) {
        ngx_http_tus_finalize(r, ctx, ngx_http_tus_server_error(r, ctx));
        return;
    }

    if (ctx->pump.rc) {
        /* e.g. a malformed chunked body */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "tus: reading the body of upload %s failed (%i), "
                      "offset %uL", ctx->id, ctx->pump.rc, ctx->offset);
        ngx_http_tus_finalize(r, ctx, ctx->pump.rc);
        return;
    }

    if (ctx->sniff_rejected) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_respond(r, ctx,
                                   NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                   "the content is not an allowed video "
                                   "container or not the declared type"));
        return;
    }

    if (ctx->checksum_failed) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_CHECKSUM_MISMATCH, 1);
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx,
                                              INGEST_TUS_CHECKSUM_MISMATCH));
        return;
    }

    if (ctx->pump.too_much) {
        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_reject(r, ctx,
                                        ctx->rec.deferred
                                        ? INGEST_TUS_TOO_LARGE
                                        : INGEST_TUS_EXCEEDS_LENGTH));
        return;
    }

    if (ngx_http_tus_add_offset(r, ctx->offset) != NGX_OK
        || ngx_http_tus_add_expires(r, ctx) != NGX_OK
        || ngx_http_tus_add_common(r, ctx) != NGX_OK)
    {
        ngx_http_tus_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->method == NGX_HTTP_POST) {
        if (ngx_http_tus_url(r, ctx, ctx->id, &url) != NGX_OK
            || ngx_http_ingest_add_header(r, "Location", url.data, url.len)
               != NGX_OK)
        {
            ngx_http_tus_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_tus_finalize(r, ctx,
                              ngx_http_tus_send_empty(r, NGX_HTTP_CREATED));
        return;
    }

    ngx_http_tus_finalize(r, ctx,
                          ngx_http_tus_send_empty(r, NGX_HTTP_NO_CONTENT));
}


/*
 * Record helpers.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_tus_load_record(ngx_http_tus_ctx_t *ctx, const char *path)
{
    ngx_http_ingest_err_t  *e;

    e = &ctx->err;

    ctx->info = ngx_http_ingest_read_small(path, INGEST_RECORD_MAX,
                                           &ctx->info_len, e);
    if (ctx->info == NULL) {
        if (e->err == ENOENT) {
            e->err = 0;
            return NGX_HTTP_TUS_NOT_FOUND;
        }

        return NGX_ERROR;
    }

    if (ingest_record_parse(&ctx->rec, ctx->info, ctx->info_len) != 0) {
        errno = EINVAL;
        ngx_http_ingest_set_err(e, "parsing an upload record");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tus_save_record(ngx_http_tus_store_conf_t *sc, const char *path,
    ingest_record_t *rec, ngx_http_ingest_err_t *e)
{
    u_char     *buf;
    size_t      len;
    ngx_int_t   rc;

    buf = malloc(INGEST_RECORD_MAX);
    if (buf == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        return NGX_ERROR;
    }

    len = ingest_record_format(rec, buf, INGEST_RECORD_MAX);
    if (len == 0) {
        free(buf);
        errno = EOVERFLOW;
        ngx_http_ingest_set_err(e, "formatting an upload record");
        return NGX_ERROR;
    }

    rc = ngx_http_ingest_write_atomic(path, NULL, buf, len, 0, e);

    free(buf);

    return rc;
}


/*
 * Moves a complete upload whose content was not what it claimed into the
 * quarantine directory: record first (state quarantined), then data.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_tus_quarantine(ngx_http_tus_store_conf_t *sc, u_char *id,
    const char *data_path, const char *info_path, ingest_record_t *rec,
    ngx_http_ingest_err_t *e)
{
    u_char  data[NGX_MAX_PATH], info[NGX_MAX_PATH];

    rec->state = INGEST_STATE_QUARANTINED;
    rec->has_verify = 0;
    rec->expires = 0;

    (void) ngx_http_ingest_path(data, sizeof(data), &sc->quarantine, id, "");
    (void) ngx_http_ingest_path(info, sizeof(info), &sc->quarantine, id,
                                ".info");

    if (ngx_http_tus_save_record(sc, (char *) info, rec, e) != NGX_OK) {
        return NGX_ERROR;
    }

    if (rename(data_path, (char *) data) == -1) {
        ngx_http_ingest_set_err(e, "rename() into the quarantine");
        (void) unlink((char *) info);
        return NGX_ERROR;
    }

    (void) unlink(info_path);

    return NGX_OK;
}


/*
 * Hands the upload to the spool (not partials) and marks it complete.
 * The job goes first: a crash between the two leaves an open upload
 * with all of its bytes, which the next HEAD or the sweep completes
 * again, job included (the hand-off is at least once, never lost). A
 * job that cannot be written leaves the upload so as well, and returns
 * NGX_ERROR with the reason in e.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_tus_complete(ngx_http_tus_store_conf_t *sc, u_char *id,
    const char *data_path, const char *info_path, ingest_record_t *rec,
    ngx_fd_t fd, time_t now, ngx_http_ingest_err_t *e)
{
    ngx_int_t                   rc;
    ngx_http_ingest_err_t       se;
    ngx_http_ingest_job_conf_t  jc;

    rc = NGX_OK;

    if (rec->concat != INGEST_TUS_CONCAT_PARTIAL && sc->spool.len != 0) {
        jc.spool = sc->spool;
        jc.profile = sc->profile;
        jc.webhook = sc->webhook;

        rc = ngx_http_ingest_write_job(&jc, "tus", id, data_path, rec,
                                       rec->length, e);
    }

    rec->has_verify = 0;

    if (rc == NGX_OK) {
        rec->state = INGEST_STATE_COMPLETE;
        rec->expires = 0;
    }

    if (ngx_http_tus_save_record(sc, info_path, rec, rc == NGX_OK ? e : &se)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return rc;
}


/*
 * An open upload that has all of its bytes was cut between its job and
 * its record (or its job could not be written): when nobody holds its
 * lock, complete it now, or quarantine it when its location quarantines
 * and its first bytes fail the sniffing its writer would have done.
 * Callers check ngx_http_tus_stale() on the record they read first.
 * Returns NGX_OK when it completed the upload, NGX_DONE when it
 * quarantined it, NGX_DECLINED otherwise.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_tus_complete_stale(ngx_http_tus_store_conf_t *sc, u_char *id,
    const char *data_path, const char *info_path, time_t now,
    ngx_http_ingest_err_t *e)
{
    u_char           *buf;
    size_t            len;
    ngx_fd_t          fd;
    ngx_int_t         rc;
    struct stat       st;
    ingest_record_t   rec;

    fd = open(data_path, O_RDWR|O_CLOEXEC);
    if (fd == -1) {
        return NGX_DECLINED;
    }

    if (ngx_http_ingest_lock(fd, 0, e) != NGX_OK || fstat(fd, &st) == -1) {
        /* a live writer completes it itself */
        (void) close(fd);
        return NGX_DECLINED;
    }

    /* the record read before the lock was taken may be old: read again */

    rc = NGX_DECLINED;

    buf = ngx_http_ingest_read_small(info_path, INGEST_RECORD_MAX, &len, e);

    if (buf != NULL
        && ingest_record_parse(&rec, buf, len) == 0
        && ngx_http_tus_stale(&rec, (uint64_t) st.st_size))
    {
        if (sc->sniff == NGX_HTTP_TUS_SNIFF_QUARANTINE
            && rec.concat == INGEST_TUS_CONCAT_NONE
            && !ngx_http_tus_sniff_file(fd, &rec))
        {
            /* the verdict of the writer that was cut, again */
            rc = ngx_http_tus_quarantine(sc, id, data_path, info_path, &rec,
                                         e);
            rc = (rc == NGX_OK) ? NGX_DONE : NGX_DECLINED;

        } else {
            rc = ngx_http_tus_complete(sc, id, data_path, info_path, &rec,
                                       fd, now, e);
        }
    }

    free(buf);
    (void) close(fd);

    return rc;
}


/*
 * What the event loop's sniffing decides from a part at offset 0, from
 * the upload's file: whether its first bytes are an allowed container
 * of the declared type.
 * Context: thread pool
 */

static ngx_uint_t
ngx_http_tus_sniff_file(ngx_fd_t fd, ingest_record_t *rec)
{
    ssize_t             n, tn;
    ingest_container_t  c;
    u_char              buf[INGEST_SNIFF_BYTES], type[128];

    n = pread(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        return 0;
    }

    return ngx_http_tus_sniff_check(rec, buf, (size_t) n, &c, type,
                                    sizeof(type), &tn);
}


/*
 * Whether the first bytes of an upload are an allowed container that
 * fits the media type its metadata declares ("filetype", or Uppy's
 * "contentType"); *c, and type with *tn bytes (-1: none declared), are
 * for the log.
 * Context: event loop or thread pool
 */

static ngx_uint_t
ngx_http_tus_sniff_check(ingest_record_t *rec, const u_char *buf,
    size_t len, ingest_container_t *c, u_char *type, size_t size,
    ssize_t *tn)
{
    *c = ingest_sniff(buf, len);

    *tn = -1;

    if (rec->metadata.len) {
        *tn = ingest_tus_metadata_get(rec->metadata.data, rec->metadata.len,
                                      "filetype", type, size);
        if (*tn <= 0) {
            *tn = ingest_tus_metadata_get(rec->metadata.data,
                                          rec->metadata.len, "contentType",
                                          type, size);
        }
    }

    return *c != INGEST_CONTAINER_UNKNOWN
           && (*tn <= 0 || ingest_sniff_matches(*c, type, *tn));
}


static ngx_uint_t
ngx_http_tus_stale(ingest_record_t *rec, uint64_t size)
{
    return rec->state == INGEST_STATE_OPEN && !rec->deferred
           && !rec->has_verify && rec->concat != INGEST_TUS_CONCAT_FINAL
           && rec->length == size;
}


/*
 * Assembles a final upload when all of its parts are complete. Runs
 * under the final's lock, waiting for it, so that exactly one caller
 * assembles. Returns NGX_OK when the final is complete (now or before),
 * NGX_DECLINED when parts are still missing, NGX_ERROR.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_tus_assemble(ngx_http_tus_store_conf_t *sc, u_char *final_id,
    time_t now, ngx_http_ingest_err_t *e)
{
    int               fd, pfd;
    u_char           *fbuf, *pbuf, *pid;
    size_t            flen, plen, i, n;
    uint64_t          total;
    ngx_int_t         rc;
    struct stat       st;
    ingest_record_t   rec, part;
    u_char            data[NGX_MAX_PATH], info[NGX_MAX_PATH];
    u_char            path[NGX_MAX_PATH];

    (void) ngx_http_ingest_path(data, sizeof(data), &sc->store, final_id, "");
    (void) ngx_http_ingest_path(info, sizeof(info), &sc->store, final_id,
                                ".info");

    fd = open((char *) data, O_RDWR|O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT) {
            return NGX_DECLINED;
        }

        ngx_http_ingest_set_err(e, "open() of a final upload");
        return NGX_ERROR;
    }

    if (ngx_http_ingest_lock(fd, 1, e) != NGX_OK) {
        (void) close(fd);
        return NGX_ERROR;
    }

    fbuf = ngx_http_ingest_read_small((char *) info, INGEST_RECORD_MAX, &flen,
                                      e);
    if (fbuf == NULL) {
        (void) close(fd);

        if (e->err == ENOENT) {
            e->err = 0;
            return NGX_DECLINED;
        }

        return NGX_ERROR;
    }

    if (ingest_record_parse(&rec, fbuf, flen) != 0) {
        errno = EINVAL;
        ngx_http_ingest_set_err(e, "parsing a final upload's record");
        rc = NGX_ERROR;
        goto done;
    }

    if (rec.state == INGEST_STATE_COMPLETE) {
        rc = NGX_OK;
        goto done;
    }

    if (rec.state != INGEST_STATE_PENDING) {
        rc = NGX_DECLINED;
        goto done;
    }

    n = ingest_record_nparts(&rec);
    total = 0;

    /* first pass: every part complete? */

    for (i = 0; i < n; i++) {
        pid = (u_char *) ingest_record_part(&rec, i);

        (void) ngx_http_ingest_path(path, sizeof(path), &sc->store, pid,
                                    ".info");

        pbuf = ngx_http_ingest_read_small((char *) path, INGEST_RECORD_MAX,
                                          &plen, e);
        if (pbuf == NULL) {
            rc = (e->err == ENOENT) ? NGX_DECLINED : NGX_ERROR;
            e->err = (rc == NGX_DECLINED) ? 0 : e->err;
            goto done;
        }

        if (ingest_record_parse(&part, pbuf, plen) != 0
            || part.state != INGEST_STATE_COMPLETE)
        {
            free(pbuf);
            rc = NGX_DECLINED;
            goto done;
        }

        total += part.length;
        free(pbuf);
    }

    /* second pass: copy; a crashed earlier attempt is simply redone */

    if (ftruncate(fd, 0) == -1) {
        ngx_http_ingest_set_err(e, "ftruncate() of a final upload");
        rc = NGX_ERROR;
        goto done;
    }

    total = 0;

    for (i = 0; i < n; i++) {
        pid = (u_char *) ingest_record_part(&rec, i);

        (void) ngx_http_ingest_path(path, sizeof(path), &sc->store, pid, "");

        pfd = open((char *) path, O_RDONLY|O_CLOEXEC);
        if (pfd == -1) {
            ngx_http_ingest_set_err(e, "open() of a partial upload");
            rc = NGX_ERROR;
            goto done;
        }

        if (fstat(pfd, &st) == -1) {
            ngx_http_ingest_set_err(e, "fstat() of a partial upload");
            (void) close(pfd);
            rc = NGX_ERROR;
            goto done;
        }

        if (ngx_http_ingest_copy(fd, (off_t) total, pfd, 0, st.st_size, e)
            != NGX_OK)
        {
            (void) close(pfd);
            rc = NGX_ERROR;
            goto done;
        }

        (void) close(pfd);
        total += (uint64_t) st.st_size;
    }

    rec.deferred = 0;
    rec.length = total;

    if (ngx_http_tus_complete(sc, final_id, (char *) data, (char *) info,
                              &rec, fd, now, e)
        != NGX_OK)
    {
        /* complete, but the job could not be written; logged by caller */
        rc = NGX_OK;
        goto done;
    }

    rc = NGX_OK;

done:

    free(fbuf);
    (void) close(fd);

    return rc;
}


/* Context: thread pool */

static ngx_uint_t
ngx_http_tus_notify_finals(ngx_http_tus_store_conf_t *sc, u_char *id,
    time_t now)
{
    u_char                 *buf, *p, *last;
    size_t                  len;
    ngx_uint_t              n;
    ngx_http_ingest_err_t   e;
    u_char                  path[NGX_MAX_PATH];

    (void) ngx_http_ingest_path(path, sizeof(path), &sc->store, id,
                                ".finals");

    buf = ngx_http_ingest_read_small((char *) path, INGEST_RECORD_MAX, &len,
                                     &e);
    if (buf == NULL) {
        return 0;
    }

    last = buf + len;
    n = 0;

    for (p = buf; p + INGEST_ID_LEN <= last; p += INGEST_ID_LEN + 1) {
        if (ingest_id_valid(p, INGEST_ID_LEN)
            && ngx_http_tus_assemble(sc, p, now, &e) == NGX_OK)
        {
            n++;
        }
    }

    free(buf);

    return n;
}


/*
 * Token policy at creation: who owns the upload, how large and of which
 * media type it may be, and the subject's quota.
 * Context: event loop
 */

static ngx_int_t
ngx_http_tus_create_policy(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    ssize_t                   n;
    ngx_int_t                 rc;
    const char               *which;
    ingest_str_t             *meta;
    ingest_token_claims_t    *c;
    ngx_http_tus_loc_conf_t  *tlcf;
    u_char                    type[128];

    c = &ctx->auth->claims;
    tlcf = ctx->conf;

    if (ctx->auth->session) {
        ctx->deny_metric = NGX_HTTP_INGEST_M_AUTH_EXPIRED;
        return ngx_http_tus_deny(r, ctx, NGX_HTTP_UNAUTHORIZED,
                                 "token expired: an expired token may only "
                                 "finish the upload it created");
    }

    if (c->max_size && !ctx->create->deferred
        && ctx->create->length > c->max_size)
    {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_AUTH_MAX_SIZE, 1);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "tus: Upload-Length %uL above the token's max_size %uL "
                      "of \"%V\"", ctx->create->length, c->max_size,
                      &ctx->auth->sub);
        return ngx_http_tus_respond(r, ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "Upload-Length is above the token's "
                                    "max_size");
    }

    if (c->ntypes) {
        meta = &ctx->create_req.metadata;
        n = -1;

        if (meta->data != NULL) {
            n = ingest_tus_metadata_get(meta->data, meta->len, "filetype",
                                        type, sizeof(type));
            if (n <= 0) {
                n = ingest_tus_metadata_get(meta->data, meta->len,
                                            "contentType", type,
                                            sizeof(type));
            }
        }

        if (n <= 0 || !ingest_token_type_allowed(c, type, n)) {
            ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_AUTH_TYPE, 1);
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "tus: media type \"%*s\" not allowed by the token "
                          "of \"%V\"", (size_t) ngx_max(n, 0), type,
                          &ctx->auth->sub);
            return ngx_http_tus_respond(r, ctx,
                                   NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                   "the token does not allow this media type "
                                   "(declare it in metadata \"filetype\")");
        }
    }

    if (ctx->create->concat == INGEST_TUS_CONCAT_FINAL) {
        /* the parts hold the reservation */
        return NGX_OK;
    }

    rc = ngx_http_ingest_quota_reserve(&ctx->owner,
                                       ctx->create->deferred
                                       ? 0 : (off_t) ctx->create->length,
                                       1, tlcf->quota_bytes,
                                       (ngx_uint_t) tlcf->quota_uploads,
                                       &which);

    if (rc == NGX_DECLINED) {
        ngx_http_ingest_metric_add(which[0] == 'b'
                                   ? NGX_HTTP_INGEST_M_QUOTA_BYTES
                                   : NGX_HTTP_INGEST_M_QUOTA_UPLOADS, 1);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "tus: %s quota of \"%V\" reached", which,
                      &ctx->auth->sub);

        return ngx_http_tus_respond(r, ctx, NGX_HTTP_FORBIDDEN,
                                    which[0] == 'b'
                                    ? "quota of bytes in open uploads reached"
                                    : "quota of open uploads reached");
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "tus: ingest_zone is full, cannot account the quota of "
                      "\"%V\"; increase ingest_zone", &ctx->auth->sub);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ctx->reserved = 1;

    return NGX_OK;
}


/*
 * The subject as stored in records (percent-encoded where the record
 * format needs it) and the id of the token's session: a digest of the
 * claims that identify this token, so that an expired token is good
 * only for the upload it created.
 */

static ngx_int_t
ngx_http_tus_auth_identity(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    u_char                 *p, *q, *last;
    size_t                  len;
    unsigned int            dlen;
    ingest_token_claims_t  *c;
    u_char                  digest[EVP_MAX_MD_SIZE];
    u_char                  buf[3 * INGEST_TOKEN_STR_MAX + 128];

    static u_char  hex[] = "0123456789abcdef";

    p = ctx->auth->sub.data;
    last = p + ctx->auth->sub.len;

    q = ngx_pnalloc(r->pool, 3 * ctx->auth->sub.len + 3);
    if (q == NULL) {
        return NGX_ERROR;
    }

    ctx->owner.data = q;

    if (ctx->auth->sub.len == 1 && *p == '-') {
        q = ngx_cpymem(q, "%2D", 3);
        p++;
    }

    while (p < last) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '%') {
            *q++ = '%';
            *q++ = hex[*p >> 4];
            *q++ = hex[*p & 0x0f];

        } else {
            *q++ = *p;
        }

        p++;
    }

    ctx->owner.len = q - ctx->owner.data;

    c = &ctx->auth->claims;

    len = ngx_snprintf(buf, sizeof(buf), "%s%Z%s%Z%L%Z%L%Z%s", c->kid, c->sub,
                       (int64_t) c->iat, (int64_t) c->exp, c->jti)
          - buf;

    if (EVP_Digest(buf, len, digest, &dlen, EVP_sha256(), NULL) != 1) {
        return NGX_ERROR;
    }

    for (len = 0; len < INGEST_ID_LEN / 2; len++) {
        ctx->session_id[2 * len] = hex[digest[len] >> 4];
        ctx->session_id[2 * len + 1] = hex[digest[len] & 0x0f];
    }

    return NGX_OK;
}


/* gives back what an upload holds of its owner's quota */
static void
ngx_http_tus_release(ngx_http_tus_ctx_t *ctx)
{
    ngx_str_t  owner;

    if (ctx->rec.owner.len == 0
        || ctx->rec.concat == INGEST_TUS_CONCAT_FINAL)
    {
        return;
    }

    owner.data = (u_char *) ctx->rec.owner.data;
    owner.len = ctx->rec.owner.len;

    ngx_http_ingest_quota_release(&owner,
                                  ctx->rec.deferred ? 0
                                                    : (off_t) ctx->rec.length,
                                  1);
    ctx->reserved = 0;
}


/*
 * Who may act on an existing upload: its owner; with an expired token,
 * only while the upload's session is active (idle time since the last
 * byte arrived, and an absolute cap since creation).
 * Context: thread pool (reads only)
 */

static ngx_int_t
ngx_http_tus_check_access(ngx_http_tus_ctx_t *ctx)
{
    time_t                   last;
    ngx_http_ingest_auth_t  *auth;

    auth = ctx->auth;

    if (auth == NULL) {
        return NGX_OK;
    }

    if (ctx->rec.owner.len != ctx->owner.len
        || ngx_strncmp(ctx->rec.owner.data, ctx->owner.data, ctx->owner.len)
           != 0)
    {
        if (ctx->rec.owner.len == 0 && !auth->session) {
            /* an upload made without a token: the location's policy */
            return NGX_OK;
        }

        ctx->deny_status = NGX_HTTP_FORBIDDEN;
        ctx->deny_reason = "the upload belongs to another subject";
        ctx->deny_metric = NGX_HTTP_INGEST_M_OWNER_MISMATCH;
        return NGX_DECLINED;
    }

    if (!auth->session) {
        return NGX_OK;
    }

    if (ctx->rec.session.len != INGEST_ID_LEN
        || ngx_memcmp(ctx->rec.session.data, ctx->session_id, INGEST_ID_LEN)
           != 0)
    {
        ctx->deny_status = NGX_HTTP_UNAUTHORIZED;
        ctx->deny_reason = "token expired: it is good only for the upload "
                           "it created";
        ctx->deny_metric = NGX_HTTP_INGEST_M_SESSION_OVER;
        return NGX_DECLINED;
    }

    last = ngx_max(ctx->mtime, (time_t) ctx->rec.created);

    if (ctx->now > (time_t) ctx->rec.created + auth->session_max
        || ctx->now > last + auth->session_idle
        || ctx->rec.state == INGEST_STATE_COMPLETE)
    {
        ctx->deny_status = NGX_HTTP_UNAUTHORIZED;
        ctx->deny_reason = "token expired and the upload's session is over";
        ctx->deny_metric = NGX_HTTP_INGEST_M_SESSION_OVER;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tus_deny(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx,
    ngx_uint_t status, const char *reason)
{
    ngx_table_elt_t  *h;

    if (ctx->deny_metric) {
        ngx_http_ingest_metric_add(ctx->deny_metric, 1);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "tus: %V %s%s denied with %ui: %s (subject \"%V\")",
                  &r->method_name, ctx->id[0] ? "upload " : "",
                  ctx->id[0] ? (char *) ctx->id : "collection", status,
                  reason, ctx->auth ? &ctx->auth->sub : &ctx->conf->base_uri);

    if (status == NGX_HTTP_UNAUTHORIZED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        ngx_str_set(&h->value, "Bearer realm=\"ingest\", "
                               "error=\"invalid_token\"");
        r->headers_out.www_authenticate = h;
    }

    return ngx_http_tus_respond(r, ctx, status, reason);
}


/*
 * The hook's Upload-Metadata pairs are added to the client's; a key
 * that both set takes the hook's value.
 */

static ngx_int_t
ngx_http_tus_merge_metadata(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    u_char                 *p;
    ngx_str_t              *client, *hook, saved;
    ingest_str_t            key, val, hkey, hval;
    ngx_uint_t              dup;
    ingest_tus_meta_iter_t  it, hit;

    /* the client's value, before the header slot points at the merge */
    saved = ctx->hdr[NGX_HTTP_TUS_H_METADATA];
    client = &saved;
    hook = &ctx->hook->metadata;

    p = ngx_pnalloc(r->pool, client->len + hook->len + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->hdr[NGX_HTTP_TUS_H_METADATA].data = p;

    if (client->data != NULL
        && ingest_tus_metadata_validate(client->data, client->len)
           == INGEST_TUS_OK)
    {
        ingest_tus_meta_iter_init(&it, client->data, client->len);

        while (ingest_tus_meta_next(&it, &key, &val)) {
            dup = 0;
            ingest_tus_meta_iter_init(&hit, hook->data, hook->len);

            while (ingest_tus_meta_next(&hit, &hkey, &hval)) {
                if (hkey.len == key.len
                    && ngx_memcmp(hkey.data, key.data, key.len) == 0)
                {
                    dup = 1;
                    break;
                }
            }

            if (dup) {
                continue;
            }

            if (p != ctx->hdr[NGX_HTTP_TUS_H_METADATA].data) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, key.data, key.len);

            if (val.len) {
                *p++ = ' ';
                p = ngx_cpymem(p, val.data, val.len);
            }
        }

    } else if (client->data != NULL) {
        /* let the creation check reject the client's bad value */
        ctx->hdr[NGX_HTTP_TUS_H_METADATA] = *client;
        return NGX_OK;
    }

    if (p != ctx->hdr[NGX_HTTP_TUS_H_METADATA].data) {
        *p++ = ',';
    }

    p = ngx_cpymem(p, hook->data, hook->len);

    ctx->hdr[NGX_HTTP_TUS_H_METADATA].len =
                                  p - ctx->hdr[NGX_HTTP_TUS_H_METADATA].data;

    return NGX_OK;
}


/*
 * Pre-create authorization hook, in the access phase like auth_request:
 * a subrequest to an internal location; 2xx allows (its Upload-Metadata
 * header adds metadata), 401/403/4xx deny with that status.
 * Context: event loop, access phase
 */

static ngx_int_t
ngx_http_tus_hook_handler(ngx_http_request_t *r)
{
    ngx_str_t                 *ov, *v;
    ngx_uint_t                 i;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_http_request_t        *sr;
    ngx_http_tus_ctx_t        *ctx;
    ngx_http_tus_hook_t       *hook;
    ngx_http_tus_loc_conf_t   *tlcf;
    ngx_http_post_subrequest_t  *ps;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tus_module);

    if (!tlcf->enable || tlcf->create_auth.len == 0 || r != r->main
        || r->method != NGX_HTTP_POST
        || r->uri.len != tlcf->base_uri.len
        || ngx_strncmp(r->uri.data, tlcf->base_uri.data, r->uri.len) != 0)
    {
        return NGX_DECLINED;
    }

    /* a POST that overrides its method is not a creation */

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        ov = &h[i].key;

        if (ov->len == sizeof("X-HTTP-Method-Override") - 1
            && ngx_strncasecmp(ov->data, (u_char *) "X-HTTP-Method-Override",
                               ov->len) == 0
            && !(h[i].value.len == 4
                 && ngx_strncasecmp(h[i].value.data, (u_char *) "POST", 4)
                    == 0))
        {
            return NGX_DECLINED;
        }
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_tus_module);

    if (ctx != NULL) {
        hook = ctx->hook;

        if (!hook->done) {
            return NGX_AGAIN;
        }

        if (hook->status >= NGX_HTTP_OK
            && hook->status < NGX_HTTP_SPECIAL_RESPONSE)
        {
            /* metadata the hook wants on the upload */

            sr = hook->subrequest;
            part = &sr->headers_out.headers.part;
            h = part->elts;

            for (i = 0; /* void */ ; i++) {
                if (i >= part->nelts) {
                    if (part->next == NULL) {
                        break;
                    }

                    part = part->next;
                    h = part->elts;
                    i = 0;
                }

                if (h[i].hash == 0) {
                    continue;
                }

                v = &h[i].key;

                if (v->len == sizeof("Upload-Metadata") - 1
                    && ngx_strncasecmp(v->data, (u_char *) "Upload-Metadata",
                                       v->len) == 0)
                {
                    if (ingest_tus_metadata_validate(h[i].value.data,
                                                     h[i].value.len)
                        != INGEST_TUS_OK)
                    {
                        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                                      "tus: the create hook sent an invalid "
                                      "Upload-Metadata \"%V\"", &h[i].value);
                        return NGX_HTTP_INTERNAL_SERVER_ERROR;
                    }

                    hook->metadata = h[i].value;
                }
            }

            return NGX_OK;
        }

        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_HOOK_DENIED, 1);

        if (hook->status >= NGX_HTTP_BAD_REQUEST
            && hook->status < NGX_HTTP_INTERNAL_SERVER_ERROR)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "tus: the create hook denied the upload with %ui",
                          hook->status);
            return hook->status;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "tus: the create hook answered %ui, expected 2xx "
                      "or 4xx", hook->status);

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_tus_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    hook = ngx_pcalloc(r->pool, sizeof(ngx_http_tus_hook_t));
    if (hook == NULL) {
        return NGX_ERROR;
    }

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_tus_hook_done;
    ps->data = hook;

    ctx->hook = hook;

    if (ngx_http_subrequest(r, &tlcf->create_auth, &r->args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the hook sees the headers, never the upload's body */

    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    sr->header_only = 1;

    hook->subrequest = sr;

    ngx_http_set_ctx(r, ctx, ngx_http_tus_module);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_tus_hook_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_tus_hook_t  *hook = data;

    hook->done = 1;
    hook->status = r->headers_out.status;

    if (rc < 0 || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        if (hook->status == 0 || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            hook->status = (rc >= NGX_HTTP_SPECIAL_RESPONSE)
                           ? (ngx_uint_t) rc : NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return rc;
}


ngx_flag_t
ngx_http_tus_enabled(ngx_conf_t *cf)
{
    ngx_http_tus_loc_conf_t  *tlcf;

    tlcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_tus_module);

    return tlcf->enable == 1;
}


/*
 * The first bytes of an upload must be an allowed container that fits
 * the declared media type.
 * Context: event loop
 */

static void
ngx_http_tus_sniff(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx,
    ngx_http_ingest_wbuf_t *wb)
{
    size_t               have, need;
    ssize_t              n;
    ingest_container_t   c;
    const char          *why;
    u_char               type[128];

    ctx->sniffed = 1;

    have = ngx_min((size_t) (wb->last - wb->pos), INGEST_SNIFF_BYTES);

    /*
     * Some containers need a few KiB to tell (an MPEG-TS needs three
     * packets, Matroska's DocType may come late): the part at offset 0
     * must carry them, or the whole upload if it is shorter.
     */
    need = INGEST_SNIFF_BYTES;

    if (!ctx->rec.deferred && ctx->rec.length < need) {
        need = (size_t) ctx->rec.length;
    }

    if (ngx_http_tus_sniff_check(&ctx->rec, wb->pos, have, &c, type,
                                 sizeof(type), &n))
    {
        return;
    }

    why = (c == INGEST_CONTAINER_UNKNOWN && have < need)
          ? "the part at offset 0 is too short to check"
          : "not an allowed container, or not the declared type";

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "tus: upload %s: content is %s (%uz bytes seen), "
                  "declared \"%*s\" (%s): %s",
                  ctx->id, ingest_container_name(c), have,
                  (size_t) ngx_max(n, 0), type, why,
                  ctx->conf->sniff == NGX_HTTP_TUS_SNIFF_REJECT
                  ? "rejected" : "quarantined");

    if (ctx->conf->sniff == NGX_HTTP_TUS_SNIFF_QUARANTINE) {
        ctx->quarantine = 1;
        return;
    }

    /* reject: nothing of this part is written, reading stops */

    ctx->sniff_rejected = 1;
    ctx->pump.done = 1;
    wb->last = wb->pos;

    r->read_event_handler = ngx_http_block_reading;

    if (r->connection->read->timer_set) {
        ngx_del_timer(r->connection->read);
    }

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_SNIFF_REJECTED, 1);
}


/* final uploads that some request of a partial completed */
static void
ngx_http_tus_count_finals(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    if (ctx->stale_quarantined) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "tus: upload %s had all of its bytes but was not "
                      "complete (cut before its record was saved), and "
                      "its content fails sniffing: quarantined now",
                      ctx->id);

        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_QUARANTINED, 1);
        ctx->stale_quarantined = 0;
    }

    if (ctx->finals_completed == 0) {
        return;
    }

    if (ctx->recovered) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "tus: upload %s had all of its bytes but was not "
                      "complete (cut before its record was saved): "
                      "completed now%s", ctx->id,
                      ctx->conf->sc.spool.len ? ", job written" : "");
        ctx->recovered = 0;
    }

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_COMPLETED,
                               ctx->finals_completed);

    if (ctx->conf->sc.spool.len) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_SPOOL_JOBS,
                                   ctx->finals_completed);
    }

    ctx->finals_completed = 0;
}


/* Context: event loop */

static ngx_int_t
ngx_http_tus_post_op(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx,
    ngx_http_tus_thread_pt thread_handler, ngx_http_tus_done_pt done_handler)
{
    ngx_thread_task_t  *task;

    task = ctx->task;

    if (task == NULL) {
        task = ngx_thread_task_alloc(r->pool, 0);
        if (task == NULL) {
            return NGX_ERROR;
        }

        task->handler = ngx_http_tus_thread_handler;
        task->ctx = ctx;
        ctx->task = task;
    }

    ctx->thread_handler = thread_handler;
    ctx->done_handler = done_handler;

    if (!(thread_handler == ngx_http_tus_finish_thread
          && ctx->pump.write_failed))
    {
        /* a failed write keeps its error (ENOSPC: 507) for the answer */
        ctx->err.err = 0;
        ctx->err.step = NULL;
    }

    task->event.data = r;
    task->event.handler = ngx_http_tus_thread_event_handler;

    if (ngx_thread_task_post(ctx->conf->sc.thread_pool, task) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->in_thread = 1;
    r->main->blocked++;

    ngx_http_ingest_keep_worker(&ctx->keep, r->connection->log);

    return NGX_OK;
}


/* Context: thread pool */

static void
ngx_http_tus_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_tus_ctx_t  *ctx = data;

    ctx->thread_handler(ctx);
}


/* Context: event loop */

static void
ngx_http_tus_thread_event_handler(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    ngx_http_tus_ctx_t  *ctx;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ctx = ngx_http_get_module_ctx(r, ngx_http_tus_module);

    r->main->blocked--;
    ctx->in_thread = 0;

    ngx_http_ingest_release_worker(&ctx->keep);

    ctx->done_handler(r, ctx);

    ngx_http_run_posted_requests(c);
}


/* Context: event loop, request pool cleanup */

static void
ngx_http_tus_cleanup(void *data)
{
    ngx_http_tus_ctx_t  *ctx = data;

    ngx_http_ingest_release_worker(&ctx->keep);
    ngx_http_ingest_body_free(&ctx->pump);

    if (ctx->dfd != NGX_INVALID_FILE) {
        (void) close(ctx->dfd);
        ctx->dfd = NGX_INVALID_FILE;
    }

    if (ctx->fd != NGX_INVALID_FILE) {
        (void) close(ctx->fd);
        ctx->fd = NGX_INVALID_FILE;
    }

    free(ctx->info);
    ctx->info = NULL;

    ingest_cksum_free(&ctx->cksum);

    if (ctx->counted_active) {
        ctx->counted_active = 0;
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_ACTIVE, -1);
    }
}


/* Context: event loop */

static void
ngx_http_tus_finalize(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_tus_server_error(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    if (ctx->err.err == NGX_ENOSPC || ctx->err.err == EDQUOT) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ctx->err.err,
                      "tus: upload %s: %s failed", ctx->id,
                      ctx->err.step ? ctx->err.step : "store operation");

        r->headers_out.status_line.len = 0;
        ngx_str_set(&r->headers_out.status_line, "507 Insufficient Storage");

        return ngx_http_tus_respond(r, ctx, NGX_HTTP_INSUFFICIENT_STORAGE,
                                    "no space left in the upload store");
    }

    ngx_log_error(NGX_LOG_CRIT, r->connection->log, ctx->err.err,
                  "tus: upload %s: %s failed", ctx->id,
                  ctx->err.step ? ctx->err.step : "store operation");

    return ngx_http_tus_respond(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                "upload store failure");
}


static ngx_int_t
ngx_http_tus_reject(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx,
    ingest_tus_rc_t rc)
{
    ngx_uint_t   status;
    const char  *reason;

    status = ingest_tus_http_status(rc);
    reason = ingest_tus_reason(rc);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "tus: %V %s%s%s rejected with %ui: %s",
                  &r->method_name, ctx->id[0] ? "upload " : "",
                  ctx->id[0] ? (char *) ctx->id : "collection",
                  ctx->method != r->method ? " (overridden method)" : "",
                  status, reason);

    if (status == NGX_HTTP_TUS_STATUS_LOCKED) {
        ngx_str_set(&r->headers_out.status_line, "423 Locked");

    } else if (status == NGX_HTTP_TUS_STATUS_CHECKSUM) {
        ngx_str_set(&r->headers_out.status_line, "460 Checksum Mismatch");
    }

    return ngx_http_tus_respond(r, ctx, status, reason);
}


/*
 * Sends a plain-text error response with the tus headers. Returns what
 * the content handler (or ngx_http_finalize_request) expects.
 */

static ngx_int_t
ngx_http_tus_respond(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx,
    ngx_uint_t status, const char *reason)
{
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (!ctx->body_started) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (r->connection->error) {
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    if (ngx_http_tus_add_common(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(reason);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, reason, len);
    *b->last++ = '\n';
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len + 1;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

    /* a failed PATCH must not leave the connection half-read */
    if (ctx->body_started && r->reading_body) {
        r->keepalive = 0;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_tus_send_empty(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_int_t  rc;

    r->headers_out.status = status;
    r->headers_out.content_length_n = 0;

    if (status == NGX_HTTP_NO_CONTENT) {
        r->header_only = 1;
        r->headers_out.content_length_n = -1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_send_special(r, NGX_HTTP_LAST);
}


static ngx_int_t
ngx_http_tus_add_offset(ngx_http_request_t *r, uint64_t offset)
{
    u_char  *p, *last;

    p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(p, "%uL", offset);

    return ngx_http_ingest_add_header(r, "Upload-Offset", p, last - p);
}


static ngx_int_t
ngx_http_tus_add_expires(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    u_char  *p;
    size_t   len;

    if (ctx->rec.expires == 0 || ctx->rec.state == INGEST_STATE_COMPLETE
        || ctx->completed)
    {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = ingest_http_date(p, ctx->rec.expires);

    return ngx_http_ingest_add_header(r, "Upload-Expires", p, len);
}


static ngx_int_t
ngx_http_tus_add_common(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx)
{
    if (ctx->method != NGX_HTTP_OPTIONS
        && ngx_http_ingest_add_header(r, "Tus-Resumable",
                                      (u_char *) INGEST_TUS_VERSION,
                                      sizeof(INGEST_TUS_VERSION) - 1)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_ingest_cors(r, ctx->conf->cors_origins,
                                &ctx->hdr[NGX_HTTP_TUS_H_ORIGIN],
                                "Upload-Offset, Location, Upload-Length, "
                                "Tus-Version, Tus-Resumable, Tus-Max-Size, "
                                "Tus-Extension, Tus-Checksum-Algorithm, "
                                "Upload-Metadata, Upload-Defer-Length, "
                                "Upload-Concat, Upload-Expires");
}


static ngx_int_t
ngx_http_tus_host_ok(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > 255) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '-'
              || p[i] == ':' || p[i] == '[' || p[i] == ']' || p[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/* first element of a comma separated list, trimmed */
static void
ngx_http_tus_first_value(ngx_str_t *v, ngx_str_t *out)
{
    u_char  *p, *last;

    p = v->data;
    last = v->data + v->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    out->data = p;

    while (p < last && *p != ',') {
        p++;
    }

    while (p > out->data && (p[-1] == ' ' || p[-1] == '\t')) {
        p--;
    }

    out->len = p - out->data;
}


/* Forwarded: for=...;proto=https;host=example.com (RFC 7239) */
static void
ngx_http_tus_forwarded(ngx_str_t *v, ngx_str_t *proto, ngx_str_t *host)
{
    u_char     *p, *last, *name, *val;
    size_t      nlen, vlen;
    ngx_str_t   first;

    ngx_http_tus_first_value(v, &first);

    p = first.data;
    last = first.data + first.len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ';')) {
            p++;
        }

        name = p;

        while (p < last && *p != '=' && *p != ';') {
            p++;
        }

        nlen = p - name;

        if (p == last || *p != '=') {
            continue;
        }

        p++;

        if (p < last && *p == '"') {
            val = ++p;

            while (p < last && *p != '"') {
                p++;
            }

            vlen = p - val;

            if (p < last) {
                p++;
            }

        } else {
            val = p;

            while (p < last && *p != ';') {
                p++;
            }

            vlen = p - val;
        }

        if (nlen == 5 && ngx_strncasecmp(name, (u_char *) "proto", 5) == 0) {
            proto->data = val;
            proto->len = vlen;

        } else if (nlen == 4
                   && ngx_strncasecmp(name, (u_char *) "host", 4) == 0)
        {
            host->data = val;
            host->len = vlen;
        }
    }
}


static ngx_int_t
ngx_http_tus_url(ngx_http_request_t *r, ngx_http_tus_ctx_t *ctx, u_char *id,
    ngx_str_t *url)
{
    u_char                   *p;
    ngx_str_t                 base, scheme, host, v;
    ngx_http_tus_loc_conf_t  *tlcf;

    tlcf = ctx->conf;

    if (tlcf->location_base != NULL) {
        if (ngx_http_complex_value(r, tlcf->location_base, &base) != NGX_OK) {
            return NGX_ERROR;
        }

        url->len = base.len + INGEST_ID_LEN;
        url->data = ngx_pnalloc(r->pool, url->len);
        if (url->data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(url->data, base.data, base.len);
        ngx_memcpy(p, id, INGEST_ID_LEN);

        return NGX_OK;
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");
    } else
#endif
    {
        ngx_str_set(&scheme, "http");
    }

    if (r->headers_in.host != NULL) {
        host = r->headers_in.host->value;

    } else {
        host = r->headers_in.server;
    }

    if (tlcf->behind_proxy) {
        ngx_str_null(&v);
        ngx_str_null(&base);

        if (ctx->hdr[NGX_HTTP_TUS_H_FORWARDED].data != NULL) {
            ngx_http_tus_forwarded(&ctx->hdr[NGX_HTTP_TUS_H_FORWARDED],
                                   &v, &base);
        }

        if (ctx->hdr[NGX_HTTP_TUS_H_XF_PROTO].data != NULL) {
            ngx_http_tus_first_value(&ctx->hdr[NGX_HTTP_TUS_H_XF_PROTO], &v);
        }

        if (ctx->hdr[NGX_HTTP_TUS_H_XF_HOST].data != NULL) {
            ngx_http_tus_first_value(&ctx->hdr[NGX_HTTP_TUS_H_XF_HOST], &base);
        }

        if (v.len == 5 && ngx_strncasecmp(v.data, (u_char *) "https", 5) == 0)
        {
            ngx_str_set(&scheme, "https");

        } else if (v.len == 4
                   && ngx_strncasecmp(v.data, (u_char *) "http", 4) == 0)
        {
            ngx_str_set(&scheme, "http");
        }

        if (ngx_http_tus_host_ok(base.data, base.len)) {
            host = base;
        }
    }

    url->len = scheme.len + sizeof("://") - 1 + host.len
               + tlcf->base_uri.len + INGEST_ID_LEN;
    url->data = ngx_pnalloc(r->pool, url->len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, scheme.data, scheme.len);
    p = ngx_cpymem(p, "://", sizeof("://") - 1);
    p = ngx_cpymem(p, host.data, host.len);
    p = ngx_cpymem(p, tlcf->base_uri.data, tlcf->base_uri.len);
    ngx_memcpy(p, id, INGEST_ID_LEN);

    return NGX_OK;
}


/* Context: event loop, log phase */

static ngx_int_t
ngx_http_tus_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                status, m;
    ngx_http_tus_ctx_t       *ctx;
    ngx_http_tus_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tus_module);

    if (!tlcf->enable || r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_tus_module);

    status = r->headers_out.status;

    if (ctx != NULL && ctx->final_status) {
        status = ctx->final_status;
    }

    if (status == 0 && r->connection->error) {
        status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    switch (status / 100) {
    case 1:
        m = NGX_HTTP_INGEST_M_TUS_REQ_1XX;
        break;
    case 2:
        m = NGX_HTTP_INGEST_M_TUS_REQ_2XX;
        break;
    case 3:
        m = NGX_HTTP_INGEST_M_TUS_REQ_3XX;
        break;
    case 5:
        m = NGX_HTTP_INGEST_M_TUS_REQ_5XX;
        break;
    default:
        m = NGX_HTTP_INGEST_M_TUS_REQ_4XX;
        break;
    }

    ngx_http_ingest_metric_add(m, 1);

    if (ctx == NULL
        || !(ctx->method == NGX_HTTP_PATCH || ctx->body_started))
    {
        return NGX_OK;
    }

    /* an upload part: PATCH, or POST with creation-with-upload */

    if (status == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || status == NGX_HTTP_REQUEST_TIME_OUT)
    {
        m = NGX_HTTP_INGEST_M_TUS_PARTS_ABORTED;

    } else if (status >= 500) {
        m = NGX_HTTP_INGEST_M_TUS_PARTS_SERVER_ERROR;

    } else if (status >= 400) {
        m = NGX_HTTP_INGEST_M_TUS_PARTS_CLIENT_ERROR;

    } else {
        m = NGX_HTTP_INGEST_M_TUS_PARTS_OK;
    }

    ngx_http_ingest_metric_add(m, 1);
    ngx_http_ingest_metric_observe(NGX_HTTP_INGEST_M_TUS_PART_DURATION,
                          (uint64_t) (ngx_current_msec - ctx->start) * 1000);

    return NGX_OK;
}


/*
 * Expired upload cleanup: one worker, a timer, the scan in a thread.
 * Context: event loop
 */

static void
ngx_http_tus_cleanup_timer(ngx_event_t *ev)
{
    ngx_http_tus_store_conf_t  **scp;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    scp = ngx_http_tus_cleaner->tmcf->stores.elts;

    ngx_http_tus_cleaner->now = ngx_time();
    ngx_http_tus_cleaner->removed = 0;
    ngx_http_tus_cleaner->recovered = 0;
    ngx_http_tus_cleaner->quarantined = 0;
    ngx_http_tus_cleaner->failed = 0;
    ngx_http_tus_cleaner->nreleases = 0;

    if (ngx_thread_task_post(scp[0]->thread_pool, ngx_http_tus_cleanup_task)
        != NGX_OK)
    {
        ngx_add_timer(ev, ngx_http_tus_cleaner->tmcf->cleanup_interval);
    }
}


/* Context: thread pool */

static void
ngx_http_tus_cleanup_thread(void *data, ngx_log_t *log)
{
    ngx_uint_t                   i;
    ngx_http_tus_cleanup_t      *cl = data;
    ngx_http_tus_store_conf_t  **scp;

    scp = cl->tmcf->stores.elts;

    for (i = 0; i < cl->tmcf->stores.nelts; i++) {
        ngx_http_tus_cleanup_store(scp[i], cl);
    }
}


/* Context: thread pool */

static void
ngx_http_tus_cleanup_store(ngx_http_tus_store_conf_t *sc,
    ngx_http_tus_cleanup_t *cl)
{
    int                     fd;
    DIR                    *dir;
    u_char                 *buf;
    size_t                  len, nlen;
    struct stat             st;
    struct dirent          *de;
    ingest_record_t         rec;
    ngx_http_ingest_err_t   e;
    ngx_http_tus_release_t *rl;
    u_char                  path[NGX_MAX_PATH], data[NGX_MAX_PATH];
    u_char                  dirpath[NGX_MAX_PATH];

    *ngx_snprintf(dirpath, sizeof(dirpath) - 1, "%V", &sc->store) = '\0';

    dir = opendir((char *) dirpath);
    if (dir == NULL) {
        cl->failed++;
        return;
    }

    while ((de = readdir(dir)) != NULL) {
        nlen = ngx_strlen(de->d_name);

        *ngx_snprintf(path, sizeof(path) - 1, "%V/%s", &sc->store,
                      de->d_name) = '\0';

        /* leftovers of record writers that died */

        if (nlen > 4 && ngx_strcmp(de->d_name + nlen - 4, ".tmp") == 0) {
            if (stat((char *) path, &st) == 0
                && st.st_mtime + NGX_HTTP_TUS_TMP_AGE < cl->now)
            {
                (void) unlink((char *) path);
            }

            continue;
        }

        if (nlen != INGEST_ID_LEN + sizeof(".info") - 1
            || ngx_strcmp(de->d_name + INGEST_ID_LEN, ".info") != 0
            || !ingest_id_valid((u_char *) de->d_name, INGEST_ID_LEN))
        {
            continue;
        }

        buf = ngx_http_ingest_read_small((char *) path, INGEST_RECORD_MAX,
                                         &len, &e);
        if (buf == NULL) {
            continue;
        }

        if (ingest_record_parse(&rec, buf, len) != 0
            || rec.state == INGEST_STATE_COMPLETE)
        {
            free(buf);
            continue;
        }

        (void) ngx_http_ingest_path(data, sizeof(data), &sc->store,
                                    (u_char *) de->d_name, "");

        if (stat((char *) data, &st) == 0
            && ngx_http_tus_stale(&rec, (uint64_t) st.st_size))
        {
            /* cut between its job and its record: not to be expired */

            switch (ngx_http_tus_complete_stale(sc, (u_char *) de->d_name,
                                                (char *) data, (char *) path,
                                                cl->now, &e))
            {
            case NGX_OK:
                cl->recovered++;
                break;

            case NGX_DONE:
                cl->quarantined++;
                break;

            default:
                break;
            }

            free(buf);
            continue;
        }

        if (!ingest_record_expired(&rec, cl->now)) {
            free(buf);
            continue;
        }

        fd = open((char *) data, O_RDWR|O_CLOEXEC);

        if (fd != -1 && ngx_http_ingest_lock(fd, 0, &e) != NGX_OK) {
            /* somebody is writing it right now */
            (void) close(fd);
            free(buf);
            continue;
        }

        (void) unlink((char *) path);
        (void) unlink((char *) data);

        (void) ngx_http_ingest_path(data, sizeof(data), &sc->store,
                                    (u_char *) de->d_name, ".finals");
        (void) unlink((char *) data);

        if (fd != -1) {
            (void) close(fd);
        }

        /* what it held of its owner's quota goes back (event loop) */

        if (rec.owner.len && rec.owner.len <= 255
            && rec.concat != INGEST_TUS_CONCAT_FINAL
            && cl->nreleases < NGX_HTTP_TUS_CLEANUP_RELEASES)
        {
            rl = &cl->releases[cl->nreleases++];
            ngx_memcpy(rl->owner, rec.owner.data, rec.owner.len);
            rl->owner_len = rec.owner.len;
            rl->bytes = rec.deferred ? 0 : (off_t) rec.length;
        }

        free(buf);

        cl->removed++;
    }

    (void) closedir(dir);
}


/* Context: event loop */

static void
ngx_http_tus_cleanup_done(ngx_event_t *ev)
{
    ngx_str_t                owner;
    ngx_uint_t               i;
    ngx_http_tus_cleanup_t  *cl;

    cl = ngx_http_tus_cleaner;

    for (i = 0; i < cl->nreleases; i++) {
        owner.data = cl->releases[i].owner;
        owner.len = cl->releases[i].owner_len;
        ngx_http_ingest_quota_release(&owner, cl->releases[i].bytes, 1);
    }

    if (cl->removed) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "tus: removed %ui expired unfinished uploads",
                      cl->removed);

        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_EXPIRED_REMOVED,
                                   cl->removed);
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_FAILED, cl->removed);
    }

    if (cl->recovered) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "tus: completed %ui uploads that had all of their "
                      "bytes but were cut before their record was saved",
                      cl->recovered);

        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_COMPLETED,
                                   cl->recovered);
    }

    if (cl->quarantined) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "tus: quarantined %ui uploads that had all of their "
                      "bytes but were cut before their record was saved",
                      cl->quarantined);

        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_TUS_QUARANTINED,
                                   cl->quarantined);
    }

    if (cl->failed) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "tus: expiry cleanup could not open %ui store "
                      "directories", cl->failed);
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(&ngx_http_tus_cleanup_event, cl->tmcf->cleanup_interval);
    }
}


/* configuration */

static void *
ngx_http_tus_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_tus_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tus_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    tmcf->cleanup_interval = NGX_CONF_UNSET_MSEC;

    if (ngx_array_init(&tmcf->stores, cf->pool, 4,
                       sizeof(ngx_http_tus_store_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return tmcf;
}


static char *
ngx_http_tus_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_tus_main_conf_t *tmcf = conf;

    ngx_conf_init_msec_value(tmcf->cleanup_interval, 60000);

    if (tmcf->cleanup_interval < 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tus_cleanup_interval\" must be at least 100ms");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_tus_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_tus_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tus_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->base_uri = { 0, NULL };
     *     conf->sc.store = { 0, NULL };
     *     conf->sc.profile = { 0, NULL };
     *     conf->sc.webhook = { 0, NULL };
     *     conf->thread_pool_name = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->sc.spool.len = NGX_CONF_UNSET_SIZE;
    conf->sc.expiration = NGX_CONF_UNSET;
    conf->max_size = NGX_CONF_UNSET;
    conf->buffer_size = NGX_CONF_UNSET_SIZE;
    conf->direct_io = NGX_CONF_UNSET;
    conf->behind_proxy = NGX_CONF_UNSET;
    conf->location_base = NGX_CONF_UNSET_PTR;
    conf->cors_origins = NGX_CONF_UNSET_PTR;
    conf->quota_bytes = NGX_CONF_UNSET;
    conf->quota_uploads = NGX_CONF_UNSET;
    conf->sniff = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_tus_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_tus_loc_conf_t *prev = parent;
    ngx_http_tus_loc_conf_t *conf = child;

    ngx_uint_t                   i;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_tus_main_conf_t    *tmcf;
    ngx_http_tus_store_conf_t  **scp;

    /* not inherited: "tus on" also sets the location's content handler */
    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 0;
    }

    ngx_conf_merge_str_value(conf->sc.store, prev->sc.store, "");
    ngx_conf_merge_str_value(conf->sc.profile, prev->sc.profile, "default");
    ngx_conf_merge_str_value(conf->sc.webhook, prev->sc.webhook, "");
    ngx_conf_merge_str_value(conf->thread_pool_name, prev->thread_pool_name,
                             "default");

    if (conf->sc.spool.len == NGX_CONF_UNSET_SIZE) {
        if (prev->sc.spool.len == NGX_CONF_UNSET_SIZE) {
            ngx_str_null(&conf->sc.spool);

        } else {
            conf->sc.spool = prev->sc.spool;
        }
    }

    ngx_conf_merge_value(conf->sc.expiration, prev->sc.expiration, 86400);
    ngx_conf_merge_off_value(conf->max_size, prev->max_size, 0);
    ngx_conf_merge_size_value(conf->buffer_size, prev->buffer_size,
                              512 * 1024);
    ngx_conf_merge_value(conf->behind_proxy, prev->behind_proxy, 0);
    ngx_conf_merge_ptr_value(conf->location_base, prev->location_base, NULL);
    ngx_conf_merge_ptr_value(conf->cors_origins, prev->cors_origins, NULL);

    ngx_conf_merge_value(conf->direct_io, prev->direct_io, 1);
    ngx_conf_merge_off_value(conf->quota_bytes, prev->quota_bytes, 0);
    ngx_conf_merge_value(conf->quota_uploads, prev->quota_uploads, 0);
    ngx_conf_merge_uint_value(conf->sniff, prev->sniff,
                              NGX_HTTP_TUS_SNIFF_OFF);
    conf->sc.sniff = conf->sniff;
    ngx_conf_merge_str_value(conf->sc.quarantine, prev->sc.quarantine, "");
    ngx_conf_merge_str_value(conf->create_auth, prev->create_auth, "");

    if (conf->buffer_size < 4 * NGX_HTTP_TUS_ALIGN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tus_buffer_size\" must be at least 16k");
        return NGX_CONF_ERROR;
    }

    conf->buffer_size = ngx_align(conf->buffer_size, NGX_HTTP_TUS_ALIGN);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (conf->sc.store.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tus\" is on but \"tus_store\" is not set "
                           "for location \"%V\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    if (conf->sniff == NGX_HTTP_TUS_SNIFF_QUARANTINE
        && conf->sc.quarantine.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tus_sniff quarantine\" needs "
                           "\"tus_quarantine\"");
        return NGX_CONF_ERROR;
    }

    if (conf->sc.store.data[0] != '/'
        || (conf->sc.spool.len && conf->sc.spool.data[0] != '/')
        || (conf->sc.quarantine.len && conf->sc.quarantine.data[0] != '/'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tus_store\", \"tus_spool\" and "
                           "\"tus_quarantine\" must be absolute paths");
        return NGX_CONF_ERROR;
    }

    while (conf->sc.store.len > 1
           && conf->sc.store.data[conf->sc.store.len - 1] == '/')
    {
        conf->sc.store.len--;
    }

    if (conf->sc.store.len + INGEST_ID_LEN + 32 > NGX_MAX_PATH) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tus_store\" path is too long");
        return NGX_CONF_ERROR;
    }

    if (conf->base_uri.len == 0) {
#if (NGX_PCRE)
        if (clcf->regex) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"tus\" in a regular expression location "
                               "needs \"tus_base_uri\"");
            return NGX_CONF_ERROR;
        }
#endif

        conf->base_uri = clcf->name;
    }

    if (conf->base_uri.len == 0
        || conf->base_uri.data[conf->base_uri.len - 1] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the tus endpoint \"%V\" must end with \"/\" "
                           "(use \"location %V/\" or \"tus_base_uri\")",
                           &conf->base_uri, &conf->base_uri);
        return NGX_CONF_ERROR;
    }

    if (clcf->exact_match) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"tus\" cannot be used in an exact match "
                           "location, upload URLs are below it");
        return NGX_CONF_ERROR;
    }

    if (clcf->client_body_buffer_size == (size_t) 2 * ngx_pagesize) {
        /*
         * The default is sized for form posts; an upload reads far more
         * per recv() call with a larger one (measured: ~30% less CPU
         * per GiB at 256k). An explicit setting is kept.
         */
        clcf->client_body_buffer_size = 256 * 1024;
    }

    if (clcf->client_max_body_size
        && clcf->client_max_body_size < (off_t) conf->buffer_size * 2)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"client_max_body_size %O\" limits each tus "
                           "PATCH; set \"client_max_body_size 0\" and use "
                           "\"tus_max_size\" for the upload size",
                           clcf->client_max_body_size);
    }

    conf->sc.thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
    if (conf->sc.thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    /* remember every distinct store for start-up and cleanup */

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_tus_module);
    scp = tmcf->stores.elts;

    for (i = 0; i < tmcf->stores.nelts; i++) {
        if (scp[i]->store.len == conf->sc.store.len
            && ngx_strncmp(scp[i]->store.data, conf->sc.store.data,
                           conf->sc.store.len)
               == 0
            && scp[i]->spool.len == conf->sc.spool.len
            && (conf->sc.spool.len == 0
                || ngx_strncmp(scp[i]->spool.data, conf->sc.spool.data,
                               conf->sc.spool.len)
                   == 0))
        {
            return NGX_CONF_OK;
        }
    }

    scp = ngx_array_push(&tmcf->stores);
    if (scp == NULL) {
        return NGX_CONF_ERROR;
    }

    *scp = &conf->sc;

    return NGX_CONF_OK;
}


static char *
ngx_http_tus(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tus_loc_conf_t *tlcf = conf;

    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (tlcf->enable) {
        if (ngx_http_ingest_s3_enabled(cf)) {
            return "cannot be used with \"ingest_s3\" in one location";
        }

        /* the location's content handler, like proxy_pass */
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->handler = ngx_http_tus_handler;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_tus_set_off_size(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    off_t      *op;
    ngx_str_t  *value;

    op = (off_t *) (p + cmd->offset);

    if (*op != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *op = 0;
        return NGX_CONF_OK;
    }

    *op = ngx_parse_offset(&value[1]);

    if (*op == (off_t) NGX_ERROR || *op == 0) {
        return "invalid value";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_tus_set_expiration(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    time_t     *tp;
    ngx_str_t  *value;

    tp = (time_t *) (p + cmd->offset);

    if (*tp != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *tp = 0;
        return NGX_CONF_OK;
    }

    *tp = ngx_parse_time(&value[1], 1);

    if (*tp == (time_t) NGX_ERROR || *tp == 0) {
        return "invalid value";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_tus_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_tus_log_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_tus_hook_handler;

    return NGX_OK;
}


/* Context: master process, before the workers start */

static ngx_int_t
ngx_http_tus_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_tus_main_conf_t    *tmcf;
    ngx_http_tus_store_conf_t  **scp;

    tmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_tus_module);
    if (tmcf == NULL) {
        return NGX_OK;
    }

    scp = tmcf->stores.elts;

    for (i = 0; i < tmcf->stores.nelts; i++) {
        if (ngx_http_ingest_create_dir(cycle, &scp[i]->store, cycle->log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (scp[i]->quarantine.len
            && ngx_http_ingest_create_dir(cycle, &scp[i]->quarantine,
                                          cycle->log)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (scp[i]->spool.len
            && ngx_http_ingest_create_spool(cycle, &scp[i]->spool,
                                            cycle->log)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tus_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i, expiring;
    ngx_http_tus_main_conf_t    *tmcf;
    ngx_http_tus_store_conf_t  **scp;

    if ((ngx_process != NGX_PROCESS_WORKER || ngx_worker != 0)
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    tmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_tus_module);
    if (tmcf == NULL || tmcf->stores.nelts == 0) {
        return NGX_OK;
    }

    scp = tmcf->stores.elts;
    expiring = 0;

    for (i = 0; i < tmcf->stores.nelts; i++) {
        if (scp[i]->expiration) {
            expiring = 1;
        }
    }

    if (!expiring) {
        return NGX_OK;
    }

    ngx_http_tus_cleanup_task = ngx_thread_task_alloc(cycle->pool,
                                              sizeof(ngx_http_tus_cleanup_t));
    if (ngx_http_tus_cleanup_task == NULL) {
        return NGX_ERROR;
    }

    ngx_http_tus_cleaner = ngx_http_tus_cleanup_task->ctx;
    ngx_http_tus_cleaner->tmcf = tmcf;

    ngx_http_tus_cleanup_task->handler = ngx_http_tus_cleanup_thread;
    ngx_http_tus_cleanup_task->event.handler = ngx_http_tus_cleanup_done;
    ngx_http_tus_cleanup_task->event.data = ngx_http_tus_cleaner;
    ngx_http_tus_cleanup_task->event.log = cycle->log;

    ngx_http_tus_cleanup_event.handler = ngx_http_tus_cleanup_timer;
    ngx_http_tus_cleanup_event.data = ngx_http_tus_cleaner;
    ngx_http_tus_cleanup_event.log = cycle->log;
    ngx_http_tus_cleanup_event.cancelable = 1;

    ngx_add_timer(&ngx_http_tus_cleanup_event, tmcf->cleanup_interval);

    return NGX_OK;
}
