
/*
 * Copyright (C) nginx video ingest developers
 *
 * S3-compatible API (path style): multipart uploads, PutObject and
 * Get/Head/DeleteObject of what was uploaded, authenticated with SigV4
 * (header or presigned query). Decisions come from the pure core
 * (src/core/ingest_s3*.c, ingest_sigv4.c, ingest_awschunked.c); this
 * file moves bytes between nginx and the store. Every disk operation,
 * the decoding of aws-chunked bodies and the payload hashes run in a
 * thread pool; the event loop only copies body data into buffers.
 *
 * Store layout (ingest_s3_store):
 *
 *   uploads/<upload id>.info     record of a multipart upload
 *   uploads/<upload id>/<n>.<md5 hex>   its parts; "<n>.<rnd>.tmp"
 *                                while a part is arriving
 *   objects/<id>, <id>.info      completed objects and their records
 *   buckets/<bucket>/<sha256 hex of the key>   the object's id
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>
#include <openssl/evp.h>

#include "ngx_http_ingest.h"
#include "ingest_s3.h"
#include "ingest_sigv4.h"
#include "ingest_awschunked.h"
#include "ingest_s3xml.h"
#include "ingest_tus.h"
#include "ingest_job.h"


#define NGX_HTTP_S3_ALIGN           NGX_HTTP_INGEST_ALIGN
#define NGX_HTTP_S3_HKEY_LEN        64
#define NGX_HTTP_S3_TMP_AGE         3600

/* a part file name: "<n>.<32 hex>", n without leading zeros */
#define NGX_HTTP_S3_PART_NAME_MAX   (5 + 1 + 32)

/* the largest object: S3's */
#define NGX_HTTP_S3_MAX_OBJECT      ((off_t) 5 * 1024 * 1024 * 1024 * 1024)


typedef struct {
    ngx_str_t                   access_key;
    ngx_str_t                   secret;
    ngx_str_t                   account;
} ngx_http_s3_cred_t;


typedef struct {
    ngx_str_t                   store;
    ngx_str_t                   spool;
    ngx_str_t                   profile;
    ngx_str_t                   webhook;
    time_t                      expiration;
    ngx_thread_pool_t          *thread_pool;
} ngx_http_s3_store_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_str_t                   root;           /* API root, no "/" at
                                                   the end */
    ngx_str_t                   thread_pool_name;
    ngx_http_s3_store_conf_t    sc;
    ngx_array_t                *creds;          /* ngx_http_s3_cred_t */
    ngx_str_t                   region;
    ngx_array_t                *buckets;        /* ngx_str_t */
    off_t                       max_object_size;
    time_t                      max_skew;
    size_t                      buffer_size;
    ngx_flag_t                  direct_io;
    off_t                       quota_bytes;
    ngx_int_t                   quota_uploads;
    ngx_array_t                *cors_origins;   /* ngx_str_t */
} ngx_http_s3_loc_conf_t;


typedef struct {
    ngx_msec_t                  cleanup_interval;
    ngx_array_t                 stores;     /* ngx_http_s3_store_conf_t * */
} ngx_http_s3_main_conf_t;


typedef struct ngx_http_s3_ctx_s  ngx_http_s3_ctx_t;

typedef void (*ngx_http_s3_thread_pt)(ngx_http_s3_ctx_t *ctx);
typedef void (*ngx_http_s3_done_pt)(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);



/* what a part directory holds, for ListParts and completion */
typedef struct {
    uint32_t                    number;
    uint64_t                    size;
    int64_t                     mtime;
    unsigned                    inplace:1;
    u_char                      md5[16];
} ngx_http_s3_part_t;


struct ngx_http_s3_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_s3_loc_conf_t     *conf;
    ngx_msec_t                  start;
    time_t                      now;

    ngx_str_t                   path;           /* raw, whole */
    ngx_str_t                   query;          /* raw */
    ingest_s3_route_t           route;
    ngx_str_t                   bucket;
    ngx_str_t                   key;            /* decoded */
    ngx_str_t                   account;
    ngx_str_t                   origin;
    ingest_s3_header_t         *headers;
    size_t                      nheaders;
    ingest_sigv4_request_t      sreq;
    ingest_sigv4_auth_t         auth;
    u_char                      skey[INGEST_SIGV4_KEY_LEN];
    u_char                      request_id[16];

    u_char                      id[INGEST_ID_LEN + 1];
    u_char                      hkey[NGX_HTTP_S3_HKEY_LEN + 1];
    u_char                      upload_path[NGX_MAX_PATH];
    u_char                      tmp_path[NGX_MAX_PATH];
    u_char                      data_path[NGX_MAX_PATH];
    ngx_str_t                   metadata;       /* record form */
    ngx_str_t                   prefix;         /* decoded */
    ngx_str_t                   key_marker;     /* decoded */

    /* thread operation */
    ngx_thread_task_t          *task;
    ngx_http_s3_thread_pt       thread_handler;
    ngx_http_s3_done_pt         done_handler;
    ngx_int_t                   result;
    ngx_http_ingest_err_t       err;
    ingest_s3_rc_t              rc;

    /* bodies */
    ngx_fd_t                    fd;
    ngx_fd_t                    dfd;
    ngx_fd_t                    lock_fd;        /* shared lock on the
                                                   record, in place */
    off_t                       base;           /* file offset of the
                                                   body in place */
    ingest_awschunked_t         ck;
    ingest_s3_body_t            body;
    uint64_t                    declared;       /* decoded size, or -1 */
    ngx_http_ingest_body_t      pump;           /* raw body to the buffers;
                                                   limit: raw bytes we take */
    uint64_t                    written;
    off_t                       reserved;       /* quota bytes */
    u_char                      md5[16];
    u_char                      etag[INGEST_S3_ETAG_MAX];
    size_t                      etag_len;

    /* CompleteMultipartUpload */
    u_char                     *xml;            /* malloc()ed */
    size_t                      xml_len;
    ngx_fd_t                    xml_fd;         /* body in a temp file */
    off_t                       parts_bytes;
    ngx_uint_t                  nparts;

    /* responses built in the thread: malloc()ed */
    u_char                     *out;
    size_t                      out_len;

    /* GetObject and HeadObject */
    u_char                     *info;           /* malloc()ed record */
    ingest_record_t             rec;
    uint64_t                    size;

    ngx_event_t                 keep;           /* worker while in_thread */

    unsigned                    chunked:1;
    unsigned                    in_thread:1;
    unsigned                    body_started:1;
    unsigned                    body_inited:1;
    unsigned                    ck_inited:1;
    unsigned                    decoded_done:1;
    unsigned                    reserved_upload:1;
    unsigned                    counted_active:1;
    unsigned                    spool_failed:1;
    unsigned                    completed:1;
    unsigned                    failed_part:1;
    unsigned                    inplace:1;
    unsigned                    zero_copy:1;
};


#define NGX_HTTP_S3_CLEANUP_RELEASES    256

typedef struct {
    u_char                      owner[256];
    size_t                      owner_len;
    off_t                       bytes;
} ngx_http_s3_release_t;


typedef struct {
    ngx_http_s3_main_conf_t    *smcf;
    time_t                      now;
    ngx_uint_t                  removed;
    ngx_uint_t                  nreleases;
    ngx_http_s3_release_t       releases[NGX_HTTP_S3_CLEANUP_RELEASES];
} ngx_http_s3_cleanup_t;


static ngx_int_t ngx_http_s3_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_options(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static ngx_int_t ngx_http_s3_collect_headers(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static ingest_s3_rc_t ngx_http_s3_key_lookup(void *data,
    const ingest_sigv4_auth_t *auth, unsigned char *key);
static ngx_int_t ngx_http_s3_bucket_allowed(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_set_paths(ngx_http_s3_ctx_t *ctx);
static ngx_int_t ngx_http_s3_metadata(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static ngx_int_t ngx_http_s3_decode(ngx_http_request_t *r,
    ingest_str_t *raw, ngx_str_t *out);
static ngx_int_t ngx_http_s3_query_headers(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static ngx_int_t ngx_http_s3_range_unsatisfiable(ngx_http_request_t *r,
    uint64_t size);

static ngx_int_t ngx_http_s3_create(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_create_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_create_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);

static ngx_int_t ngx_http_s3_put(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_put_open_thread(ngx_http_s3_ctx_t *ctx);
static ngx_int_t ngx_http_s3_inplace_open(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_inplace_done(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_put_open_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_body_handler(ngx_http_request_t *r);
static void ngx_http_s3_read_handler(ngx_http_request_t *r);
static void ngx_http_s3_flush(ngx_http_request_t *r, void *data);
static void ngx_http_s3_wbuf_reset(void *data, ngx_http_ingest_wbuf_t *wb);
static void ngx_http_s3_write_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_write_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_put_finish_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_put_finish_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);

static ngx_int_t ngx_http_s3_complete(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_complete_body(ngx_http_request_t *r);
static void ngx_http_s3_complete_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_complete_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_abort_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_abort_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_list_parts_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_list_uploads_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_xml_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_object_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_object_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_delete_thread(ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_delete_done(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);

static ngx_int_t ngx_http_s3_load_upload(ngx_http_s3_ctx_t *ctx,
    ngx_uint_t lock);
static ngx_int_t ngx_http_s3_scan_parts(ngx_str_t *store, u_char *id,
    ngx_http_s3_part_t **parts, ngx_uint_t *nparts, ngx_uint_t remove_dups,
    ngx_http_ingest_err_t *err);
static void ngx_http_s3_remove_upload(ngx_http_s3_store_conf_t *sc,
    u_char *id);
static ngx_int_t ngx_http_s3_publish(ngx_http_s3_ctx_t *ctx,
    u_char *oid, uint64_t size);
static ngx_int_t ngx_http_s3_record_get(ingest_record_t *rec,
    const char *name, u_char *out, size_t cap, size_t *len);

static ngx_int_t ngx_http_s3_post_op(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx, ngx_http_s3_thread_pt thread_handler,
    ngx_http_s3_done_pt done_handler);
static void ngx_http_s3_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_s3_thread_event_handler(ngx_event_t *ev);
static void ngx_http_s3_cleanup(void *data);

static ngx_int_t ngx_http_s3_error(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx, ingest_s3_rc_t rc);
static ngx_int_t ngx_http_s3_thread_error(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static ngx_int_t ngx_http_s3_send(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx, ngx_uint_t status, u_char *body, size_t len,
    ngx_uint_t xml);
static ngx_int_t ngx_http_s3_add_common(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void ngx_http_s3_finalize(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_s3_log_handler(ngx_http_request_t *r);

static void ngx_http_s3_cleanup_timer(ngx_event_t *ev);
static void ngx_http_s3_cleanup_thread(void *data, ngx_log_t *log);
static void ngx_http_s3_cleanup_done(ngx_event_t *ev);

static void *ngx_http_s3_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_s3_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_s3_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_s3_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_s3(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_s3_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_buckets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_s3_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_s3_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_s3_init_process(ngx_cycle_t *cycle);


static ngx_http_s3_cleanup_t   *ngx_http_s3_cleaner;
static ngx_event_t              ngx_http_s3_cleanup_event;
static ngx_thread_task_t       *ngx_http_s3_cleanup_task;

static ngx_uint_t               ngx_http_s3_request_seq;


static ngx_command_t  ngx_http_s3_commands[] = {

    { ngx_string("ingest_s3"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_s3,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, enable),
      NULL },

    { ngx_string("ingest_s3_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, sc.store),
      NULL },

    { ngx_string("ingest_s3_spool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ingest_conf_set_dir,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, sc.spool),
      NULL },

    { ngx_string("ingest_s3_spool_profile"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, sc.profile),
      NULL },

    { ngx_string("ingest_s3_webhook"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, sc.webhook),
      NULL },

    { ngx_string("ingest_s3_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_TAKE23,
      ngx_http_s3_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ingest_s3_region"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, region),
      NULL },

    { ngx_string("ingest_s3_buckets"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_1MORE,
      ngx_http_s3_buckets,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ingest_s3_max_object_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, max_object_size),
      NULL },

    { ngx_string("ingest_s3_max_skew"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, max_skew),
      NULL },

    { ngx_string("ingest_s3_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, buffer_size),
      NULL },

    { ngx_string("ingest_s3_direct_io"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, direct_io),
      NULL },

    { ngx_string("ingest_s3_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, thread_pool_name),
      NULL },

    { ngx_string("ingest_s3_quota_bytes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, quota_bytes),
      NULL },

    { ngx_string("ingest_s3_quota_uploads"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, quota_uploads),
      NULL },

    { ngx_string("ingest_s3_expiration"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, sc.expiration),
      NULL },

    { ngx_string("ingest_s3_cleanup_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_s3_main_conf_t, cleanup_interval),
      NULL },

    { ngx_string("ingest_s3_cors_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_1MORE,
      ngx_http_ingest_conf_set_cors,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_s3_loc_conf_t, cors_origins),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ingest_s3_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_s3_postconfiguration,         /* postconfiguration */

    ngx_http_s3_create_main_conf,          /* create main configuration */
    ngx_http_s3_init_main_conf,            /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_s3_create_loc_conf,           /* create location configuration */
    ngx_http_s3_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_http_ingest_s3_module = {
    NGX_MODULE_V1,
    &ngx_http_ingest_s3_module_ctx,        /* module context */
    ngx_http_s3_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_s3_init_module,               /* init module */
    ngx_http_s3_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* Context: event loop */

static ngx_int_t
ngx_http_s3_handler(ngx_http_request_t *r)
{
    u_char                  *p, *q, *end;
    ssize_t                  n;
    ngx_int_t                rc;
    ngx_str_t                rel;
    ingest_s3_rc_t           src;
    ngx_pool_cleanup_t      *cln;
    ngx_http_s3_ctx_t       *ctx;
    ingest_sigv4_conf_t      sconf;
    ngx_http_s3_loc_conf_t  *slcf;
    u_char                   md[32];

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_ingest_s3_module);

    if (!slcf->enable) {
        return NGX_DECLINED;
    }

    if (r != r->main) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->conf = slcf;
    ctx->fd = NGX_INVALID_FILE;
    ctx->dfd = NGX_INVALID_FILE;
    ctx->xml_fd = NGX_INVALID_FILE;
    ctx->lock_fd = NGX_INVALID_FILE;
    ctx->start = ngx_current_msec;
    ctx->now = ngx_time();
    ctx->declared = (uint64_t) -1;

    (void) ngx_sprintf(ctx->request_id, "%08XD%08XD", (uint32_t) ngx_pid,
                       (uint32_t) ++ngx_http_s3_request_seq);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_s3_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_ingest_s3_module);

    if (ngx_http_s3_collect_headers(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_http_s3_options(r, ctx);
    }

    /* the raw request target: SigV4 signs it as sent */

    p = r->unparsed_uri.data;
    end = p + r->unparsed_uri.len;

    q = ngx_strlchr(p, end, '?');

    ctx->path.data = p;
    ctx->path.len = (q ? q : end) - p;

    if (q != NULL) {
        ctx->query.data = q + 1;
        ctx->query.len = end - (q + 1);
    }

    if (ctx->path.len < slcf->root.len
        || ngx_strncmp(ctx->path.data, slcf->root.data, slcf->root.len) != 0
        || (ctx->path.len > slcf->root.len
            && ctx->path.data[slcf->root.len] != '/'))
    {
        return ngx_http_s3_error(r, ctx, INGEST_S3_INVALID_URI);
    }

    rel.data = ctx->path.data + slcf->root.len;
    rel.len = ctx->path.len - slcf->root.len;

    if (rel.len == 0) {
        ngx_str_set(&rel, "/");
    }

    src = ingest_s3_route(r->method_name.data, r->method_name.len,
                          rel.data, rel.len, ctx->query.data, ctx->query.len,
                          &ctx->route);
    if (src != INGEST_S3_OK) {
        return ngx_http_s3_error(r, ctx, src);
    }

    ctx->sreq.method.data = r->method_name.data;
    ctx->sreq.method.len = r->method_name.len;
    ctx->sreq.path.data = ctx->path.data;
    ctx->sreq.path.len = ctx->path.len;
    ctx->sreq.query.data = ctx->query.data;
    ctx->sreq.query.len = ctx->query.len;
    ctx->sreq.headers = ctx->headers;
    ctx->sreq.nheaders = ctx->nheaders;
    ctx->sreq.now = ctx->now;

    ngx_memzero(&sconf, sizeof(ingest_sigv4_conf_t));

    if (slcf->region.len) {
        sconf.region.data = slcf->region.data;
        sconf.region.len = slcf->region.len;
    }

    sconf.max_skew = slcf->max_skew;

    src = ingest_sigv4_authenticate(&ctx->sreq, &sconf,
                                    ngx_http_s3_key_lookup, ctx, &ctx->auth,
                                    ctx->skey);
    if (src != INGEST_S3_OK) {
        return ngx_http_s3_error(r, ctx, src);
    }

    if (ctx->route.op == INGEST_S3_OP_LIST_BUCKETS
        || ctx->route.op == INGEST_S3_OP_LIST_OBJECTS)
    {
        return ngx_http_s3_error(r, ctx, INGEST_S3_NOT_IMPLEMENTED);
    }

    ctx->bucket.data = (u_char *) ctx->route.bucket.data;
    ctx->bucket.len = ctx->route.bucket.len;

    if (ngx_http_s3_bucket_allowed(ctx) != NGX_OK) {
        return ngx_http_s3_error(r, ctx, INGEST_S3_NO_SUCH_BUCKET);
    }

    if (ctx->route.key.len) {
        n = ingest_s3_uri_decode(NULL, ctx->route.key.data,
                                 ctx->route.key.len);
        if (n < 0) {
            return ngx_http_s3_error(r, ctx, INGEST_S3_INVALID_URI);
        }

        ctx->key.data = ngx_pnalloc(r->pool, n + 1);
        if (ctx->key.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->key.len = ingest_s3_uri_decode(ctx->key.data,
                                            ctx->route.key.data,
                                            ctx->route.key.len);

        src = ingest_s3_key_check(ctx->key.data, ctx->key.len);
        if (src != INGEST_S3_OK) {
            return ngx_http_s3_error(r, ctx, src);
        }

        if (EVP_Digest(ctx->key.data, ctx->key.len, md, NULL, EVP_sha256(),
                       NULL)
            != 1)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_hex_dump(ctx->hkey, md, sizeof(md));
    }

    if (ctx->route.upload_id.data != NULL) {
        if (!ingest_id_valid(ctx->route.upload_id.data,
                             ctx->route.upload_id.len))
        {
            return ngx_http_s3_error(r, ctx, INGEST_S3_NO_SUCH_UPLOAD);
        }

        ngx_memcpy(ctx->id, ctx->route.upload_id.data, INGEST_ID_LEN);
    }

    switch (ctx->route.op) {

    case INGEST_S3_OP_CREATE_UPLOAD:
        return ngx_http_s3_create(r, ctx);

    case INGEST_S3_OP_UPLOAD_PART:
    case INGEST_S3_OP_PUT_OBJECT:
        return ngx_http_s3_put(r, ctx);

    case INGEST_S3_OP_COMPLETE_UPLOAD:
        return ngx_http_s3_complete(r, ctx);

    default:
        break;
    }

    /* the remaining operations take no body */

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_s3_set_paths(ctx);

    switch (ctx->route.op) {

    case INGEST_S3_OP_HEAD_BUCKET:
        return ngx_http_s3_send(r, ctx, NGX_HTTP_OK, NULL, 0, 0);

    case INGEST_S3_OP_ABORT_UPLOAD:
        rc = ngx_http_s3_post_op(r, ctx, ngx_http_s3_abort_thread,
                                 ngx_http_s3_abort_done);
        break;

    case INGEST_S3_OP_LIST_PARTS:
        rc = ngx_http_s3_post_op(r, ctx, ngx_http_s3_list_parts_thread,
                                 ngx_http_s3_xml_done);
        break;

    case INGEST_S3_OP_LIST_UPLOADS:
        if (ngx_http_s3_decode(r, &ctx->route.prefix, &ctx->prefix)
            != NGX_OK
            || ngx_http_s3_decode(r, &ctx->route.key_marker,
                                  &ctx->key_marker)
               != NGX_OK)
        {
            return ngx_http_s3_error(r, ctx, INGEST_S3_INVALID_ARGUMENT);
        }

        rc = ngx_http_s3_post_op(r, ctx, ngx_http_s3_list_uploads_thread,
                                 ngx_http_s3_xml_done);
        break;

    case INGEST_S3_OP_GET_OBJECT:
    case INGEST_S3_OP_HEAD_OBJECT:
        rc = ngx_http_s3_post_op(r, ctx, ngx_http_s3_object_thread,
                                 ngx_http_s3_object_done);
        break;

    case INGEST_S3_OP_DELETE_OBJECT:
        rc = ngx_http_s3_post_op(r, ctx, ngx_http_s3_delete_thread,
                                 ngx_http_s3_delete_done);
        break;

    default:
        return ngx_http_s3_error(r, ctx, INGEST_S3_NOT_IMPLEMENTED);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


/* CORS preflight: answered without authentication, as S3 does */

static ngx_int_t
ngx_http_s3_options(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    ngx_str_t           v;
    ngx_uint_t          i;
    ngx_list_part_t    *part;
    ngx_table_elt_t    *h;

    if (ctx->conf->cors_origins == NULL || ctx->origin.len == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3: CORS preflight refused: %s",
                      ctx->origin.len ? "CORS is not configured"
                                      : "no Origin header");
        return ngx_http_s3_error(r, ctx, INGEST_S3_ACCESS_DENIED);
    }

    /* ngx_http_s3_send() adds the origin and the exposed headers */

    if (ngx_http_ingest_add_header(r, "Access-Control-Allow-Methods",
                         (u_char *) "GET, PUT, POST, DELETE, HEAD",
                         sizeof("GET, PUT, POST, DELETE, HEAD") - 1)
        != NGX_OK
        || ngx_http_ingest_add_header(r, "Access-Control-Max-Age",
                                      (u_char *) "3000", 4)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Access-Control-Request-Headers") - 1
            && ngx_strncasecmp(h[i].key.data,
                               (u_char *) "Access-Control-Request-Headers",
                               h[i].key.len)
               == 0)
        {
            v = h[i].value;

            if (ngx_http_ingest_add_header(r, "Access-Control-Allow-Headers",
                                           v.data, v.len)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            break;
        }
    }

    return ngx_http_s3_send(r, ctx, NGX_HTTP_OK, NULL, 0, 0);
}


static ngx_int_t
ngx_http_s3_collect_headers(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    ngx_uint_t           i, n;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *h;
    ingest_s3_header_t  *hdr;

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    hdr = ngx_palloc(r->pool, (n + 1) * sizeof(ingest_s3_header_t));
    if (hdr == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            hdr[n].name.data = h[i].key.data;
            hdr[n].name.len = h[i].key.len;
            hdr[n].value.data = h[i].value.data;
            hdr[n].value.len = h[i].value.len;
            n++;

            if (h[i].key.len == sizeof("Origin") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin", 6)
                   == 0)
            {
                ctx->origin = h[i].value;
            }
        }
    }

    ctx->headers = hdr;
    ctx->nheaders = n;

    return NGX_OK;
}


/* Context: event loop, called by the SigV4 core */

static ingest_s3_rc_t
ngx_http_s3_key_lookup(void *data, const ingest_sigv4_auth_t *auth,
    unsigned char *key)
{
    ngx_http_s3_ctx_t *ctx = data;

    ngx_uint_t           i;
    ngx_http_s3_cred_t  *c;

    if (ctx->conf->creds == NULL) {
        return INGEST_S3_INVALID_ACCESS_KEY;
    }

    c = ctx->conf->creds->elts;

    for (i = 0; i < ctx->conf->creds->nelts; i++) {
        if (c[i].access_key.len != auth->access_key_len
            || ngx_memcmp(c[i].access_key.data, auth->access_key,
                          auth->access_key_len)
               != 0)
        {
            continue;
        }

        if (ingest_sigv4_auth_key(auth, c[i].secret.data, c[i].secret.len,
                                  key)
            != 0)
        {
            return INGEST_S3_INTERNAL_ERROR;
        }

        ctx->account = c[i].account;

        return INGEST_S3_OK;
    }

    return INGEST_S3_INVALID_ACCESS_KEY;
}


static ngx_int_t
ngx_http_s3_bucket_allowed(ngx_http_s3_ctx_t *ctx)
{
    ngx_str_t   *b;
    ngx_uint_t   i;

    if (ctx->bucket.len == 0 || ctx->conf->buckets == NULL) {
        return NGX_OK;
    }

    b = ctx->conf->buckets->elts;

    for (i = 0; i < ctx->conf->buckets->nelts; i++) {
        if (b[i].len == ctx->bucket.len
            && ngx_strncmp(b[i].data, ctx->bucket.data, b[i].len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static void
ngx_http_s3_set_paths(ngx_http_s3_ctx_t *ctx)
{
    ngx_str_t  *store;

    store = &ctx->conf->sc.store;

    *ngx_snprintf(ctx->upload_path, NGX_MAX_PATH - 1, "%V/uploads/%s.info",
                  store, ctx->id) = '\0';

    if (ctx->route.op == INGEST_S3_OP_UPLOAD_PART) {
        *ngx_snprintf(ctx->tmp_path, NGX_MAX_PATH - 1,
                      "%V/uploads/%s/%uD.%08xD.tmp", store, ctx->id,
                      ctx->route.part_number, (uint32_t) ngx_random())
            = '\0';

    } else {
        *ngx_snprintf(ctx->tmp_path, NGX_MAX_PATH - 1, "%V/objects/%s.tmp",
                      store, ctx->id) = '\0';
    }

    *ngx_snprintf(ctx->data_path, NGX_MAX_PATH - 1, "%V/objects/%s", store,
                  ctx->id) = '\0';
}


/* a query parameter, percent-decoded; absent ones stay empty */

static ngx_int_t
ngx_http_s3_decode(ngx_http_request_t *r, ingest_str_t *raw, ngx_str_t *out)
{
    ssize_t  n;

    ngx_str_null(out);

    if (raw->data == NULL || raw->len == 0) {
        return NGX_OK;
    }

    n = ingest_s3_uri_decode(NULL, raw->data, raw->len);
    if (n < 0) {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(r->pool, n + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ingest_s3_uri_decode(out->data, raw->data, raw->len);

    return NGX_OK;
}


/*
 * A presigned URL carries x-amz-checksum-* and Content-MD5 as query
 * parameters; S3 checks the body against them as it would the headers.
 * They are added to the header list after the signature was checked
 * (SigV4 already covered them as part of the query).
 */

static ngx_int_t
ngx_http_s3_query_headers(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    u_char              *p, *end, *amp, *eq;
    ssize_t              n;
    ngx_uint_t           extra;
    ingest_s3_header_t  *hdr, *h;

    p = ctx->query.data;
    end = p + ctx->query.len;
    extra = 0;

    while (p < end) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        if ((size_t) (amp - p) > sizeof("x-amz-checksum-") - 1
            && (ngx_strncasecmp(p, (u_char *) "x-amz-checksum-",
                                sizeof("x-amz-checksum-") - 1)
                == 0
                || ngx_strncasecmp(p, (u_char *) "Content-MD5=",
                                   sizeof("Content-MD5=") - 1)
                   == 0))
        {
            extra++;
        }

        p = amp + 1;
    }

    if (extra == 0) {
        return NGX_OK;
    }

    hdr = ngx_palloc(r->pool,
                     (ctx->nheaders + extra) * sizeof(ingest_s3_header_t));
    if (hdr == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(hdr, ctx->headers, ctx->nheaders * sizeof(ingest_s3_header_t));
    h = hdr + ctx->nheaders;

    for (p = ctx->query.data; p < end; p = amp + 1) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        if (!((size_t) (amp - p) > sizeof("x-amz-checksum-") - 1
              && (ngx_strncasecmp(p, (u_char *) "x-amz-checksum-",
                                  sizeof("x-amz-checksum-") - 1)
                  == 0
                  || ngx_strncasecmp(p, (u_char *) "Content-MD5=",
                                     sizeof("Content-MD5=") - 1)
                     == 0)))
        {
            continue;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            return NGX_ERROR;
        }

        h->name.data = p;
        h->name.len = eq - p;

        n = ingest_s3_uri_decode(NULL, eq + 1, amp - (eq + 1));
        if (n < 0) {
            return NGX_ERROR;
        }

        h->value.data = ngx_pnalloc(r->pool, n + 1);
        if (h->value.data == NULL) {
            return NGX_ERROR;
        }

        h->value.len = ingest_s3_uri_decode((u_char *) h->value.data, eq + 1,
                                            amp - (eq + 1));
        h++;
    }

    ctx->headers = hdr;
    ctx->nheaders = h - hdr;

    return NGX_OK;
}


/*
 * A single "bytes=" range that starts past the end: S3 answers
 * InvalidRange in XML, nginx's range filter would send HTML. Other
 * forms are left to the range filter.
 */

static ngx_int_t
ngx_http_s3_range_unsatisfiable(ngx_http_request_t *r, uint64_t size)
{
    u_char    *p, *last;
    uint64_t   start;

    if (r->headers_in.range == NULL) {
        return 0;
    }

    p = r->headers_in.range->value.data;
    last = p + r->headers_in.range->value.len;

    if (last - p < 7 || ngx_strncasecmp(p, (u_char *) "bytes=", 6) != 0
        || ngx_strlchr(p, last, ',') != NULL)
    {
        return 0;
    }

    p += 6;

    while (p < last && *p == ' ') {
        p++;
    }

    if (p < last && *p == '-') {
        /* a suffix: only "-0" asks for nothing */
        return (last - p == 2 && p[1] == '0') || size == 0;
    }

    start = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        if (start > (UINT64_MAX - 9) / 10) {
            return 1;
        }

        start = start * 10 + (*p++ - '0');
    }

    if (p == last || *p != '-') {
        return 0;
    }

    return start >= size;
}


/*
 * The record's metadata, in the Upload-Metadata form tus records use:
 * bucket, key, filename (the last path segment of the key), filetype
 * (Content-Type) and x-amz-meta-* as "meta-<name>".
 */

static ngx_int_t
ngx_http_s3_metadata(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    u_char       *p, *name;
    size_t        len, meta;
    ngx_str_t     src, dst, filename, type;
    ngx_uint_t    i;

    filename.data = ctx->key.data;
    filename.len = ctx->key.len;

    for (p = ctx->key.data + ctx->key.len; p > ctx->key.data; p--) {
        if (p[-1] == '/') {
            filename.data = p;
            filename.len = ctx->key.data + ctx->key.len - p;
            break;
        }
    }

    ngx_str_null(&type);

    if (r->headers_in.content_type != NULL
        && r->headers_in.content_type->value.len < 256)
    {
        type = r->headers_in.content_type->value;
    }

    len = sizeof("bucket ,key ,filename ,filetype ") - 1
          + ngx_base64_encoded_length(ctx->bucket.len)
          + ngx_base64_encoded_length(ctx->key.len)
          + ngx_base64_encoded_length(filename.len)
          + ngx_base64_encoded_length(type.len);

    meta = 0;

    for (i = 0; i < ctx->nheaders; i++) {
        if (ctx->headers[i].name.len > sizeof("x-amz-meta-") - 1
            && ngx_strncasecmp((u_char *) ctx->headers[i].name.data,
                               (u_char *) "x-amz-meta-",
                               sizeof("x-amz-meta-") - 1)
               == 0)
        {
            meta += ctx->headers[i].name.len + ctx->headers[i].value.len;
            len += sizeof(",meta- ") - 1 + ctx->headers[i].name.len
                   + ngx_base64_encoded_length(ctx->headers[i].value.len);
        }
    }

    if (meta > 2048) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3: user metadata of %uz bytes is above 2 KB", meta);
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->metadata.data = p;

    p = ngx_cpymem(p, "bucket ", sizeof("bucket ") - 1);
    dst.data = p;
    ngx_encode_base64(&dst, &ctx->bucket);
    p += dst.len;

    p = ngx_cpymem(p, ",key ", sizeof(",key ") - 1);
    dst.data = p;
    ngx_encode_base64(&dst, &ctx->key);
    p += dst.len;

    if (filename.len) {
        p = ngx_cpymem(p, ",filename ", sizeof(",filename ") - 1);
        dst.data = p;
        ngx_encode_base64(&dst, &filename);
        p += dst.len;
    }

    if (type.len) {
        p = ngx_cpymem(p, ",filetype ", sizeof(",filetype ") - 1);
        dst.data = p;
        ngx_encode_base64(&dst, &type);
        p += dst.len;
    }

    for (i = 0; i < ctx->nheaders; i++) {
        if (!(ctx->headers[i].name.len > sizeof("x-amz-meta-") - 1
              && ngx_strncasecmp((u_char *) ctx->headers[i].name.data,
                                 (u_char *) "x-amz-meta-",
                                 sizeof("x-amz-meta-") - 1)
                 == 0))
        {
            continue;
        }

        name = (u_char *) ctx->headers[i].name.data
               + sizeof("x-amz-meta-") - 1;
        len = ctx->headers[i].name.len - (sizeof("x-amz-meta-") - 1);

        p = ngx_cpymem(p, ",meta-", sizeof(",meta-") - 1);
        ngx_strlow(p, name, len);
        p += len;

        *p++ = ' ';

        src.data = (u_char *) ctx->headers[i].value.data;
        src.len = ctx->headers[i].value.len;
        dst.data = p;
        ngx_encode_base64(&dst, &src);
        p += dst.len;
    }

    ctx->metadata.len = p - ctx->metadata.data;

    return NGX_OK;
}


/* CreateMultipartUpload. Context: event loop */

static ngx_int_t
ngx_http_s3_create(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    ngx_int_t    rc;
    const char  *which;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_s3_metadata(r, ctx);

    if (rc == NGX_DECLINED) {
        return ngx_http_s3_error(r, ctx, INGEST_S3_INVALID_ARGUMENT);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_ingest_quota_reserve(&ctx->account, 0, 1,
                                       ctx->conf->quota_bytes,
                                       ctx->conf->quota_uploads, &which);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3: account \"%V\" is over its %s quota",
                      &ctx->account, which);
        ngx_http_ingest_metric_add(which[0] == 'b'
                                   ? NGX_HTTP_INGEST_M_QUOTA_BYTES
                                   : NGX_HTTP_INGEST_M_QUOTA_UPLOADS, 1);
        return ngx_http_s3_error(r, ctx, INGEST_S3_QUOTA_EXCEEDED);
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3: the quota table in \"ngx_http_ingest\" is full");
        return ngx_http_s3_error(r, ctx, INGEST_S3_SLOW_DOWN);
    }

    ctx->reserved_upload = 1;

    if (ngx_http_ingest_new_id(ctx->id, r->connection->log) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_s3_set_paths(ctx);

    if (ngx_http_s3_post_op(r, ctx, ngx_http_s3_create_thread,
                            ngx_http_s3_create_done)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


/* Context: thread pool */

static void
ngx_http_s3_create_thread(ngx_http_s3_ctx_t *ctx)
{
    u_char                    *buf;
    size_t                     len;
    ingest_record_t            rec;
    ngx_http_ingest_err_t     *e;
    ngx_http_s3_store_conf_t  *sc;
    u_char                     dir[NGX_MAX_PATH];

    e = &ctx->err;
    sc = &ctx->conf->sc;

    *ngx_snprintf(dir, sizeof(dir) - 1, "%V/uploads/%s", &sc->store, ctx->id)
        = '\0';

    if (mkdir((char *) dir, 0700) == -1) {
        ngx_http_ingest_set_err(e, "mkdir() of the parts directory");
        ctx->result = NGX_ERROR;
        return;
    }

    ngx_memzero(&rec, sizeof(ingest_record_t));

    rec.protocol = INGEST_PROTO_S3;
    rec.deferred = 1;
    rec.state = INGEST_STATE_OPEN;
    rec.concat = 0;
    rec.created = ctx->now;
    rec.expires = sc->expiration ? ctx->now + sc->expiration : 0;
    rec.owner.data = ctx->account.data;
    rec.owner.len = ctx->account.len;
    rec.metadata.data = ctx->metadata.data;
    rec.metadata.len = ctx->metadata.len;

    buf = malloc(INGEST_RECORD_MAX);
    if (buf == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        goto failed;
    }

    len = ingest_record_format(&rec, buf, INGEST_RECORD_MAX);

    if (len == 0) {
        free(buf);
        errno = EOVERFLOW;
        ngx_http_ingest_set_err(e, "formatting the upload record");
        goto failed;
    }

    if (ngx_http_ingest_write_atomic((char *) ctx->upload_path, NULL, buf,
                                     len, 1, e)
        != NGX_OK)
    {
        free(buf);
        goto failed;
    }

    free(buf);

    ctx->result = NGX_OK;
    return;

failed:

    (void) rmdir((char *) dir);
    ctx->result = NGX_ERROR;
}


/* Context: event loop */

static void
ngx_http_s3_create_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    u_char                   *buf;
    size_t                    len;
    ingest_s3xml_initiate_t   in;

    if (ctx->result != NGX_OK) {
        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    /* the upload holds its quota share until completed or aborted */
    ctx->reserved_upload = 0;

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_CREATED, 1);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "s3: multipart upload %s of \"%V/%V\" created by \"%V\"",
                  ctx->id, &ctx->bucket, &ctx->key, &ctx->account);

    in.bucket.data = ctx->bucket.data;
    in.bucket.len = ctx->bucket.len;
    in.key.data = ctx->key.data;
    in.key.len = ctx->key.len;
    in.upload_id.data = ctx->id;
    in.upload_id.len = INGEST_ID_LEN;

    len = ingest_s3xml_initiate(NULL, 0, &in);

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        ngx_http_s3_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    (void) ingest_s3xml_initiate(buf, len, &in);

    ngx_http_s3_finalize(r, ctx,
                         ngx_http_s3_send(r, ctx, NGX_HTTP_OK, buf, len, 1));
}


/* UploadPart and PutObject. Context: event loop */

static ngx_int_t
ngx_http_s3_put(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    off_t            max;
    ngx_int_t        rc;
    const char      *which;
    ingest_s3_rc_t   src;

    ctx->chunked = ingest_sigv4_payload_chunked(ctx->auth.payload) ? 1 : 0;

    if (ctx->chunked) {
        ctx->ck_inited = 1;

        src = ingest_awschunked_init(&ctx->ck, &ctx->auth, ctx->skey,
                                     ctx->headers, ctx->nheaders);
        if (src != INGEST_S3_OK) {
            return ngx_http_s3_error(r, ctx, src);
        }

        if (ctx->ck.decoded_length >= 0) {
            ctx->declared = (uint64_t) ctx->ck.decoded_length;
        }

        ctx->pump.limit = r->headers_in.content_length_n >= 0
                          ? (uint64_t) r->headers_in.content_length_n
                          : (uint64_t) -1;

    } else {
        if (r->headers_in.content_length_n < 0) {
            return ngx_http_s3_error(r, ctx,
                                     INGEST_S3_MISSING_CONTENT_LENGTH);
        }

        ctx->declared = (uint64_t) r->headers_in.content_length_n;
        ctx->pump.limit = ctx->declared;
    }

    max = ngx_min(ctx->conf->max_object_size,
                  (off_t) INGEST_S3_MAX_PART_SIZE);

    if (ctx->declared != (uint64_t) -1 && ctx->declared > (uint64_t) max) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3: a body of %uL bytes is above the limit of %O",
                      ctx->declared, max);
        return ngx_http_s3_error(r, ctx, INGEST_S3_ENTITY_TOO_LARGE);
    }

    if (ctx->auth.presigned && ngx_http_s3_query_headers(r, ctx) != NGX_OK)
    {
        return ngx_http_s3_error(r, ctx, INGEST_S3_INVALID_ARGUMENT);
    }

    ctx->pump.size = ctx->conf->buffer_size + NGX_HTTP_S3_ALIGN;
    ctx->pump.flush = ngx_http_s3_flush;
    ctx->pump.reset = ngx_http_s3_wbuf_reset;
    ctx->pump.data = ctx;

    ctx->body_inited = 1;

    src = ingest_s3_body_init(&ctx->body, ctx->headers, ctx->nheaders,
                              ctx->auth.payload == INGEST_SIGV4_PAYLOAD_SHA256
                              ? ctx->auth.payload_sha256 : NULL);
    if (src != INGEST_S3_OK) {
        return ngx_http_s3_error(r, ctx, src);
    }

    if (ctx->route.op == INGEST_S3_OP_PUT_OBJECT) {
        rc = ngx_http_s3_metadata(r, ctx);

        if (rc == NGX_DECLINED) {
            return ngx_http_s3_error(r, ctx, INGEST_S3_INVALID_ARGUMENT);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_ingest_new_id(ctx->id, r->connection->log) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->rec.protocol = INGEST_PROTO_S3;
        ctx->rec.created = ctx->now;
        ctx->rec.owner.data = ctx->account.data;
        ctx->rec.owner.len = ctx->account.len;
        ctx->rec.metadata.data = ctx->metadata.data;
        ctx->rec.metadata.len = ctx->metadata.len;
    }

    /* what a part will take counts toward the account's byte quota */

    if (ctx->route.op == INGEST_S3_OP_UPLOAD_PART
        && ctx->declared != (uint64_t) -1)
    {
        rc = ngx_http_ingest_quota_reserve(&ctx->account,
                                           (off_t) ctx->declared, 0,
                                           ctx->conf->quota_bytes, 0, &which);

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "s3: account \"%V\" is over its %s quota",
                          &ctx->account, which);
            ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_QUOTA_BYTES, 1);
            return ngx_http_s3_error(r, ctx, INGEST_S3_QUOTA_EXCEEDED);
        }

        if (rc != NGX_OK) {
            return ngx_http_s3_error(r, ctx, INGEST_S3_SLOW_DOWN);
        }

        ctx->reserved = (off_t) ctx->declared;
    }

    ngx_http_s3_set_paths(ctx);

    if (ngx_http_s3_post_op(r, ctx, ngx_http_s3_put_open_thread,
                            ngx_http_s3_put_open_done)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


/* Context: thread pool */

static void
ngx_http_s3_put_open_thread(ngx_http_s3_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->route.op == INGEST_S3_OP_UPLOAD_PART) {
        rc = ngx_http_s3_load_upload(ctx, 0);
        if (rc != NGX_OK) {
            ctx->result = rc;
            return;
        }

        rc = ngx_http_s3_inplace_open(ctx);

        if (rc == NGX_OK) {
            ctx->result = NGX_OK;
            return;
        }

        if (rc == NGX_ERROR) {
            ctx->result = NGX_ERROR;
            return;
        }
    }

    ctx->fd = open((char *) ctx->tmp_path,
                   O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644);

    if (ctx->fd == -1) {
        if (errno == ENOENT && ctx->route.op == INGEST_S3_OP_UPLOAD_PART) {
            /* aborted or completed meanwhile */
            ctx->rc = INGEST_S3_NO_SUCH_UPLOAD;
            ctx->result = NGX_DECLINED;
            return;
        }

        ngx_http_ingest_set_err(&ctx->err, "open() of a new part");
        ctx->result = NGX_ERROR;
        return;
    }

    if (ctx->conf->direct_io) {
        /* filesystems without O_DIRECT (tmpfs) simply do not get one */
        ctx->dfd = open((char *) ctx->tmp_path, O_WRONLY|O_DIRECT|O_CLOEXEC);
    }

    ctx->result = NGX_OK;
}


/*
 * Parts of one size go straight into the upload's "data" file at
 * (n - 1) * size, so that completion needs no copy: aws-cli, boto3 and
 * the SDKs send every part but the last with the same size. The first
 * part of at least 5 MiB fixes that size ("stride"). A part goes to a
 * file of its own instead when it is larger than the stride, when its
 * size is unknown, when part n is already in place (a failed re-upload
 * must not destroy the part it replaces) or being written there, or
 * when a completion holds the upload. While writing in place the part
 * holds a shared lock on the record, which completion locks exclusively.
 * Returns NGX_OK (in place, ctx->fd open), NGX_DECLINED (use a file of
 * its own) or NGX_ERROR.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_s3_inplace_open(ngx_http_s3_ctx_t *ctx)
{
    u_char                 *buf, *p;
    size_t                  len;
    uint64_t                stride;
    ngx_fd_t                fd;
    ngx_int_t               rc;
    struct stat             st;
    ngx_http_ingest_err_t   e;
    u_char                  dir[NGX_MAX_PATH], path[NGX_MAX_PATH];
    u_char                  tmp[NGX_MAX_PATH], line[NGX_INT64_LEN + 1];

    if (ctx->declared == (uint64_t) -1 || ctx->declared == 0) {
        return NGX_DECLINED;
    }

    *ngx_snprintf(dir, sizeof(dir) - 1, "%V/uploads/%s",
                  &ctx->conf->sc.store, ctx->id) = '\0';
    *ngx_snprintf(path, sizeof(path) - 1, "%s/stride", dir) = '\0';

    buf = ngx_http_ingest_read_small((char *) path, 32, &len, &e);

    if (buf == NULL && e.err == ENOENT
        && ctx->declared >= INGEST_S3_MIN_PART_SIZE
        && ctx->declared % NGX_HTTP_S3_ALIGN == 0)
    {
        /* the first writer fixes it: link() does not replace */

        *ngx_snprintf(tmp, sizeof(tmp) - 1, "%s/stride.%P.%ui.tmp", dir,
                      ngx_pid, (ngx_uint_t) ctx->route.part_number) = '\0';
        p = ngx_sprintf(line, "%uL", ctx->declared);

        if (ngx_http_ingest_write_atomic((char *) tmp, NULL, line,
                                         p - line, 0, &e)
            == NGX_OK)
        {
            if (link((char *) tmp, (char *) path) == -1
                && errno != EEXIST)
            {
                (void) unlink((char *) tmp);
                return NGX_DECLINED;
            }

            (void) unlink((char *) tmp);
        }

        buf = ngx_http_ingest_read_small((char *) path, 32, &len, &e);
    }

    if (buf == NULL) {
        return NGX_DECLINED;
    }

    rc = ingest_parse_u64(buf, len, &stride);
    free(buf);

    if (rc != 0 || stride == 0 || stride % NGX_HTTP_S3_ALIGN
        || ctx->declared > stride)
    {
        return NGX_DECLINED;
    }

    *ngx_snprintf(path, sizeof(path) - 1, "%s/%uD.i", dir,
                  ctx->route.part_number) = '\0';

    if (stat((char *) path, &st) == 0) {
        return NGX_DECLINED;
    }

    ctx->lock_fd = open((char *) ctx->upload_path, O_RDONLY|O_CLOEXEC);
    if (ctx->lock_fd == -1) {
        return NGX_DECLINED;
    }

    if (ngx_http_ingest_lock_shared(ctx->lock_fd, &e) != NGX_OK) {
        goto declined;
    }

    *ngx_snprintf(path, sizeof(path) - 1, "%s/%uD.w", dir,
                  ctx->route.part_number) = '\0';

    fd = open((char *) path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600);
    if (fd == -1) {
        goto declined;
    }

    (void) close(fd);

    *ngx_snprintf(path, sizeof(path) - 1, "%s/data", dir) = '\0';

    ctx->fd = open((char *) path, O_WRONLY|O_CREAT|O_CLOEXEC, 0644);
    if (ctx->fd == -1) {
        ngx_http_ingest_set_err(&ctx->err, "open() of the upload data");
        ngx_http_s3_inplace_done(ctx);
        return NGX_ERROR;
    }

    if (ctx->conf->direct_io) {
        ctx->dfd = open((char *) path, O_WRONLY|O_DIRECT|O_CLOEXEC);
    }

    ctx->inplace = 1;
    ctx->base = (off_t) ((ctx->route.part_number - 1) * stride);

    return NGX_OK;

declined:

    (void) close(ctx->lock_fd);
    ctx->lock_fd = NGX_INVALID_FILE;

    return NGX_DECLINED;
}


/* the end of a part in place: its write mark and lock go */

static void
ngx_http_s3_inplace_done(ngx_http_s3_ctx_t *ctx)
{
    u_char  path[NGX_MAX_PATH];

    *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/%uD.w",
                  &ctx->conf->sc.store, ctx->id, ctx->route.part_number)
        = '\0';

    (void) unlink((char *) path);

    if (ctx->lock_fd != NGX_INVALID_FILE) {
        (void) close(ctx->lock_fd);
        ctx->lock_fd = NGX_INVALID_FILE;
    }
}


/* Context: event loop */

static void
ngx_http_s3_put_open_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->result != NGX_OK) {
        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    ctx->body_started = 1;
    ctx->counted_active = 1;
    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_ACTIVE, 1);

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_s3_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ctx->pump.rc = rc;
        ctx->pump.done = 1;
        ngx_http_s3_flush(r, ctx);
        return;
    }

    ngx_http_s3_finalize(r, ctx, NGX_DONE);
}


/* Context: event loop */

static void
ngx_http_s3_body_handler(ngx_http_request_t *r)
{
    ngx_http_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ingest_s3_module);

    if (ctx->pump.done) {
        return;
    }

    r->read_event_handler = ngx_http_s3_read_handler;

    ngx_http_ingest_body_read(r, &ctx->pump);
}


/* Context: event loop */

static void
ngx_http_s3_read_handler(ngx_http_request_t *r)
{
    ngx_http_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ingest_s3_module);

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
ngx_http_s3_flush(ngx_http_request_t *r, void *data)
{
    ngx_http_s3_ctx_t  *ctx = data;

    ngx_http_ingest_wbuf_t  *wb;

    if (ctx->pump.write_buf != NULL) {
        return;
    }

    wb = &ctx->pump.wbuf[ctx->pump.fill];

    if (!ctx->pump.write_failed && wb->buf != NULL && wb->last > wb->pos) {

        ctx->pump.write_buf = wb;
        ctx->pump.fill ^= 1;

        if (ctx->pump.wbuf[ctx->pump.fill].buf != NULL) {
            ngx_http_s3_wbuf_reset(ctx, &ctx->pump.wbuf[ctx->pump.fill]);
        }

        if (ngx_http_s3_post_op(r, ctx, ngx_http_s3_write_thread,
                                ngx_http_s3_write_done)
            == NGX_OK)
        {
            return;
        }

        ctx->pump.write_buf = NULL;
        ctx->pump.write_failed = 1;
        ctx->result = NGX_ERROR;
        ctx->err.err = 0;
        ctx->err.step = "ngx_thread_task_post()";
    }

    if (!ctx->pump.done) {
        return;
    }

    if (ngx_http_s3_post_op(r, ctx, ngx_http_s3_put_finish_thread,
                            ngx_http_s3_put_finish_done)
        != NGX_OK)
    {
        ctx->result = NGX_ERROR;
        ngx_http_s3_put_finish_done(r, ctx);
    }
}


/*
 * Where a buffer starts to fill. Plain bodies are placed at buf + (offset
 * % 4096) so that whole pages of the file are page-aligned in memory
 * (O_DIRECT); aws-chunked bodies arrive at buf + 4096 and the thread
 * moves the decoded data down to buf + (offset % 4096) before writing.
 */

static void
ngx_http_s3_wbuf_reset(void *data, ngx_http_ingest_wbuf_t *wb)
{
    ngx_http_s3_ctx_t  *ctx = data;

    if (ctx->chunked) {
        wb->pos = wb->buf + NGX_HTTP_S3_ALIGN;

    } else {
        /* a plain body: the file offset is what was received */
        wb->pos = wb->buf + (ctx->pump.received & (NGX_HTTP_S3_ALIGN - 1));
    }

    wb->last = wb->pos;
}


/*
 * Decodes (aws-chunked), hashes and writes one buffer. Decoding and
 * hashing happen here, in the order the body arrived: one buffer is in
 * the thread pool at a time.
 * Context: thread pool
 */

static void
ngx_http_s3_write_thread(ngx_http_s3_ctx_t *ctx)
{
    off_t                        off;
    size_t                       len;
    u_char                      *p, *out;
    const u_char                *in, *end;
    ingest_str_t                 data;
    ngx_http_ingest_wbuf_t          *wb;
    ingest_awschunked_status_t   st;

    wb = ctx->pump.write_buf;

    if (ctx->chunked) {
        in = wb->pos;
        end = wb->last;
        p = wb->buf + (ctx->written & (NGX_HTTP_S3_ALIGN - 1));
        out = p;

        while (in < end) {

            if (ctx->decoded_done) {
                /* bytes after the final chunk */
                ctx->rc = INGEST_S3_CHUNKED_MALFORMED;
                ctx->result = NGX_DECLINED;
                return;
            }

            st = ingest_awschunked_feed(&ctx->ck, &in, end, &data);

            if (st == INGEST_AWSCHUNKED_DATA) {
                ngx_memmove(out, data.data, data.len);
                out += data.len;
                continue;
            }

            if (st == INGEST_AWSCHUNKED_DONE) {
                ctx->decoded_done = 1;
                continue;
            }

            if (st == INGEST_AWSCHUNKED_ERROR) {
                ctx->rc = ctx->ck.rc;
                ctx->result = NGX_DECLINED;
                return;
            }

            break;
        }

        len = out - p;

    } else {
        p = wb->pos;
        len = wb->last - wb->pos;
    }

    if (ctx->written + len > (uint64_t) ctx->conf->max_object_size
        || ctx->written + len > INGEST_S3_MAX_PART_SIZE)
    {
        ctx->rc = INGEST_S3_ENTITY_TOO_LARGE;
        ctx->result = NGX_DECLINED;
        return;
    }

    if (len && ingest_s3_body_update(&ctx->body, p, len) != 0) {
        ctx->rc = INGEST_S3_INTERNAL_ERROR;
        ctx->result = NGX_DECLINED;
        return;
    }

    off = ctx->base + (off_t) ctx->written;
    ctx->written += len;

    if (ngx_http_ingest_write_direct(ctx->fd, &ctx->dfd, p, len, off,
                                     &ctx->err)
        != NGX_OK)
    {
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->result = NGX_OK;
}


/* Context: event loop */

static void
ngx_http_s3_write_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    ngx_http_ingest_wbuf_t  *wb;

    wb = ctx->pump.write_buf;
    ctx->pump.write_buf = NULL;

    if (ctx->result != NGX_OK) {
        ctx->pump.write_failed = 1;
    }

    wb->pos = wb->buf;
    wb->last = wb->buf;

    if (ctx->pump.done || ctx->pump.write_failed) {
        ctx->pump.done = 1;
        ngx_http_s3_flush(r, ctx);
        return;
    }

    ngx_http_ingest_body_read(r, &ctx->pump);
}


/*
 * Checks the body as a whole, then makes the part or object visible
 * (rename) or removes what was written.
 * Context: thread pool
 */

static void
ngx_http_s3_put_finish_thread(ngx_http_s3_ctx_t *ctx)
{
    u_char                   *p;
    ngx_fd_t                  fd;
    ngx_int_t                 rc;
    ngx_uint_t                i, n;
    struct stat               st;
    ngx_http_s3_part_t       *parts;
    ngx_http_ingest_err_t    *e;
    u_char                    path[NGX_MAX_PATH];
    u_char                    line[32 + 1 + NGX_INT64_LEN + 1];

    e = &ctx->err;

    if (ctx->fd == NGX_INVALID_FILE) {
        ctx->result = NGX_ERROR;
        return;
    }

    if (ctx->pump.write_failed) {
        /* ctx->result, ctx->rc and ctx->err are the write's */

        if (ctx->result == NGX_OK) {
            ctx->result = NGX_ERROR;

            if (ctx->err.step == NULL) {
                ctx->err.err = ENOMEM;
                ctx->err.step = "allocating a write buffer";
            }
        }

        goto failed;
    }

    if (ctx->pump.rc) {
        ctx->rc = ctx->pump.rc == NGX_HTTP_REQUEST_TIME_OUT
                  ? INGEST_S3_REQUEST_TIMEOUT : INGEST_S3_INCOMPLETE_BODY;
        ctx->result = NGX_DECLINED;
        goto failed;
    }

    if (ctx->chunked) {
        ctx->rc = ingest_awschunked_eof(&ctx->ck);

    } else {
        ctx->rc = ctx->written == ctx->declared
                  ? INGEST_S3_OK : INGEST_S3_INCOMPLETE_BODY;
    }

    if (ctx->rc == INGEST_S3_OK) {
        ctx->rc = ingest_s3_body_final(&ctx->body, ctx->md5);
    }

    if (ctx->rc != INGEST_S3_OK) {
        ctx->result = NGX_DECLINED;
        goto failed;
    }

    ctx->etag_len = ingest_s3_etag(ctx->etag, ctx->md5);

    if (ctx->route.op == INGEST_S3_OP_PUT_OBJECT) {

        if (rename((char *) ctx->tmp_path, (char *) ctx->data_path) == -1) {
            ngx_http_ingest_set_err(e, "rename() of a new object");
            ctx->result = NGX_ERROR;
            goto failed;
        }

        if (ngx_http_s3_publish(ctx, ctx->id, ctx->written) != NGX_OK) {
            (void) unlink((char *) ctx->data_path);
            ctx->result = NGX_ERROR;
            return;
        }

        ctx->result = NGX_OK;
        return;
    }

    /* "<n>.<md5 hex>" or "<n>.i" becomes the part, replacing others */

    if (ctx->inplace) {
        p = ngx_hex_dump(line, ctx->md5, 16);
        p = ngx_sprintf(p, " %uL\n", ctx->written);

        *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/%uD.i",
                      &ctx->conf->sc.store, ctx->id, ctx->route.part_number)
            = '\0';

        rc = ngx_http_ingest_write_atomic((char *) path, NULL, line,
                                          p - line, 0, e);

        ngx_http_s3_inplace_done(ctx);

        if (rc != NGX_OK) {
            ctx->result = NGX_ERROR;
            return;
        }

    } else {
        /* "apart": parts in files of their own exist in this upload */

        *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/apart",
                      &ctx->conf->sc.store, ctx->id) = '\0';

        fd = open((char *) path, O_WRONLY|O_CREAT|O_CLOEXEC, 0600);
        if (fd != -1) {
            (void) close(fd);
        }

        p = ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/%uD.",
                         &ctx->conf->sc.store, ctx->id,
                         ctx->route.part_number);
        p = ngx_hex_dump(p, ctx->md5, 16);
        *p = '\0';

        if (rename((char *) ctx->tmp_path, (char *) path) == -1) {
            if (errno == ENOENT) {
                ctx->rc = INGEST_S3_NO_SUCH_UPLOAD;
                ctx->result = NGX_DECLINED;
                goto failed;
            }

            ngx_http_ingest_set_err(e, "rename() of a new part");
            ctx->result = NGX_ERROR;
            goto failed;
        }
    }

    /*
     * Earlier uploads of this part number are removed and their quota
     * given back. A part in place can only replace one in a file of its
     * own (an earlier one in place sends the new one to a file), so
     * the usual upload, all parts in place, never scans its directory:
     * that would make an upload of n parts cost n^2 directory reads.
     */

    *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/apart",
                  &ctx->conf->sc.store, ctx->id) = '\0';

    if (ctx->inplace && stat((char *) path, &st) == -1) {
        ctx->result = NGX_OK;
        return;
    }

    if (ngx_http_s3_scan_parts(&ctx->conf->sc.store, ctx->id, &parts,
                               &n, 0, &ctx->err)
        == NGX_OK)
    {
        for (i = 0; i < n; i++) {
            if (parts[i].number != ctx->route.part_number
                || (parts[i].inplace == ctx->inplace
                    && ngx_memcmp(parts[i].md5, ctx->md5, 16) == 0))
            {
                continue;
            }

            p = ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/%uD.",
                             &ctx->conf->sc.store, ctx->id, parts[i].number);

            if (parts[i].inplace) {
                *p++ = 'i';

            } else {
                p = ngx_hex_dump(p, parts[i].md5, 16);
            }

            *p = '\0';

            if (unlink((char *) path) == 0) {
                ctx->parts_bytes += parts[i].size;
            }
        }

        free(parts);
    }

    ctx->result = NGX_OK;
    return;

failed:

    if (ctx->inplace) {
        /* the region stays unreferenced: no record names it */
        ngx_http_s3_inplace_done(ctx);

    } else {
        (void) unlink((char *) ctx->tmp_path);
    }
}


/* Context: event loop */

static void
ngx_http_s3_put_finish_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    ngx_int_t    rc;
    off_t        diff;
    const char  *which;

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_BYTES,
                               (ngx_atomic_int_t) ctx->written);

    if (ctx->result != NGX_OK) {
        ctx->failed_part = 1;

        if (ctx->result == NGX_DECLINED
            && (ctx->rc == INGEST_S3_CONTENT_SHA256_MISMATCH
                || ctx->rc == INGEST_S3_BAD_DIGEST
                || ctx->rc == INGEST_S3_CHUNK_SIGNATURE_MISMATCH
                || ctx->rc == INGEST_S3_TRAILER_SIGNATURE_MISMATCH))
        {
            ngx_http_ingest_metric_add(
                                NGX_HTTP_INGEST_M_S3_CHECKSUM_MISMATCH, 1);
        }

        if (ctx->pump.too_much) {
            ctx->rc = INGEST_S3_CHUNKED_MALFORMED;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3: %s %s of \"%V/%V\" discarded after %uL bytes",
                      ctx->route.op == INGEST_S3_OP_UPLOAD_PART
                      ? "part of upload" : "object", ctx->id,
                      &ctx->bucket, &ctx->key, ctx->written);

        if (ctx->pump.rc && ctx->pump.rc != NGX_HTTP_REQUEST_TIME_OUT
            && r->connection->error)
        {
            ngx_http_s3_finalize(r, ctx, ctx->pump.rc);
            return;
        }

        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    if (ctx->pump.too_much) {
        ngx_http_s3_finalize(r, ctx,
                             ngx_http_s3_error(r, ctx,
                                               INGEST_S3_CHUNKED_MALFORMED));
        return;
    }

    if (ctx->route.op == INGEST_S3_OP_UPLOAD_PART) {
        /* the quota counts what the part really holds */

        diff = (off_t) ctx->written - ctx->reserved;

        if (diff > 0) {
            rc = ngx_http_ingest_quota_reserve(&ctx->account, diff, 0, 0, 0,
                                               &which);
            if (rc == NGX_OK) {
                ctx->reserved += diff;
            }

        } else if (diff < 0) {
            ngx_http_ingest_quota_release(&ctx->account, -diff, 0);
            ctx->reserved = (off_t) ctx->written;
        }

        if (ctx->parts_bytes) {
            ngx_http_ingest_quota_release(&ctx->account, ctx->parts_bytes,
                                          0);
        }

        ctx->reserved = 0;

    } else {
        ctx->completed = 1;
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_CREATED, 1);
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_COMPLETED, 1);

        if (ctx->conf->sc.spool.len) {
            ngx_http_ingest_metric_add(ctx->spool_failed
                                       ? NGX_HTTP_INGEST_M_S3_SPOOL_ERRORS
                                       : NGX_HTTP_INGEST_M_S3_SPOOL_JOBS, 1);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3: object \"%V/%V\" stored as %s, %uL bytes",
                      &ctx->bucket, &ctx->key, ctx->id, ctx->written);
    }

    if (ngx_http_ingest_add_header(r, "ETag", ctx->etag, ctx->etag_len)
        != NGX_OK)
    {
        ngx_http_s3_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_s3_finalize(r, ctx,
                         ngx_http_s3_send(r, ctx, NGX_HTTP_OK, NULL, 0, 0));
}


/* CompleteMultipartUpload. Context: event loop */

static ngx_int_t
ngx_http_s3_complete(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    ngx_int_t        rc;
    ingest_s3_rc_t   src;

    if (ingest_sigv4_payload_chunked(ctx->auth.payload)) {
        return ngx_http_s3_error(r, ctx, INGEST_S3_NOT_IMPLEMENTED);
    }

    if (r->headers_in.content_length_n > INGEST_S3XML_MAX_BODY) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3: a CompleteMultipartUpload body of %O bytes",
                      r->headers_in.content_length_n);
        return ngx_http_s3_error(r, ctx, INGEST_S3_MALFORMED_XML);
    }

    ctx->body_inited = 1;

    src = ingest_s3_body_init(&ctx->body, ctx->headers, ctx->nheaders,
                              ctx->auth.payload == INGEST_SIGV4_PAYLOAD_SHA256
                              ? ctx->auth.payload_sha256 : NULL);
    if (src != INGEST_S3_OK) {
        return ngx_http_s3_error(r, ctx, src);
    }

    ngx_http_s3_set_paths(ctx);

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_s3_complete_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* Context: event loop */

static void
ngx_http_s3_complete_body(ngx_http_request_t *r)
{
    u_char                   *p;
    size_t                    len;
    ngx_chain_t              *cl;
    ngx_http_s3_ctx_t        *ctx;
    ngx_http_request_body_t  *rb;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ingest_s3_module);
    rb = r->request_body;

    if (rb == NULL || (rb->bufs == NULL && rb->temp_file == NULL)) {
        ngx_http_s3_finalize(r, ctx,
                             ngx_http_s3_error(r, ctx,
                                               INGEST_S3_MALFORMED_XML));
        return;
    }

    if (rb->temp_file) {
        /* read in the thread */
        ctx->xml_fd = rb->temp_file->file.fd;
        ctx->xml_len = (size_t) rb->temp_file->file.offset;

    } else {
        len = 0;

        for (cl = rb->bufs; cl; cl = cl->next) {
            len += cl->buf->last - cl->buf->pos;
        }

        if (len > INGEST_S3XML_MAX_BODY) {
            ngx_http_s3_finalize(r, ctx,
                                 ngx_http_s3_error(r, ctx,
                                                   INGEST_S3_MALFORMED_XML));
            return;
        }

        ctx->xml = malloc(len + 1);
        if (ctx->xml == NULL) {
            ngx_http_s3_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        p = ctx->xml;

        for (cl = rb->bufs; cl; cl = cl->next) {
            if (cl->buf->last > cl->buf->pos) {
                p = ngx_cpymem(p, cl->buf->pos,
                               cl->buf->last - cl->buf->pos);
            }
        }

        ctx->xml_len = len;
    }

    if (ngx_http_s3_post_op(r, ctx, ngx_http_s3_complete_thread,
                            ngx_http_s3_complete_done)
        != NGX_OK)
    {
        ngx_http_s3_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/*
 * Checks the part list against the parts on disk, assembles the object
 * from them, publishes it and removes the upload.
 * Context: thread pool
 */

static void
ngx_http_s3_complete_thread(ngx_http_s3_ctx_t *ctx)
{
    u_char                  *p, *md5s;
    off_t                    off, soff;
    size_t                   n, i, lo, hi, mid, len;
    struct stat              st;
    ssize_t                  got;
    uint64_t                 stride;
    ngx_fd_t                 src, dst;
    ngx_int_t                rc;
    ngx_uint_t               have, inplace;
    ngx_http_s3_part_t      *parts, *part, **pick;
    ingest_s3xml_part_t     *want;
    ngx_http_ingest_err_t   *e;
    u_char                   path[NGX_MAX_PATH], data[NGX_MAX_PATH];

    e = &ctx->err;
    parts = NULL;
    want = NULL;
    md5s = NULL;
    pick = NULL;
    dst = NGX_INVALID_FILE;

    if (ctx->xml == NULL) {
        if (ctx->xml_len > INGEST_S3XML_MAX_BODY) {
            ctx->rc = INGEST_S3_MALFORMED_XML;
            ctx->result = NGX_DECLINED;
            return;
        }

        ctx->xml = malloc(ctx->xml_len + 1);
        if (ctx->xml == NULL) {
            ngx_http_ingest_set_err(e, "malloc()");
            ctx->result = NGX_ERROR;
            return;
        }

        got = pread(ctx->xml_fd, ctx->xml, ctx->xml_len, 0);
        if (got != (ssize_t) ctx->xml_len) {
            ngx_http_ingest_set_err(e, "pread() of the request body");
            ctx->result = NGX_ERROR;
            return;
        }
    }

    if (ingest_s3_body_update(&ctx->body, ctx->xml, ctx->xml_len) != 0) {
        ctx->rc = INGEST_S3_INTERNAL_ERROR;
        ctx->result = NGX_DECLINED;
        return;
    }

    ctx->rc = ingest_s3_body_final(&ctx->body, ctx->md5);
    if (ctx->rc != INGEST_S3_OK) {
        ctx->result = NGX_DECLINED;
        return;
    }

    want = malloc(INGEST_S3_MAX_PART_NUMBER * sizeof(ingest_s3xml_part_t));
    if (want == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->rc = ingest_s3xml_parse_complete(ctx->xml, ctx->xml_len, want,
                                          INGEST_S3_MAX_PART_NUMBER, &n);
    if (ctx->rc != INGEST_S3_OK) {
        ctx->result = NGX_DECLINED;
        goto done;
    }

    rc = ngx_http_s3_load_upload(ctx, 1);
    if (rc != NGX_OK) {
        ctx->result = rc;
        goto done;
    }

    if (ngx_http_s3_scan_parts(&ctx->conf->sc.store, ctx->id, &parts,
                               &have, 1, &ctx->err)
        != NGX_OK)
    {
        ctx->result = NGX_ERROR;
        goto done;
    }

    md5s = malloc(n * 16);
    pick = malloc(n * sizeof(ngx_http_s3_part_t *));

    if (md5s == NULL || pick == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        ctx->result = NGX_ERROR;
        goto done;
    }

    inplace = 0;

    /* every listed part must be there with that ETag */

    ctx->size = 0;

    for (i = 0; i < n; i++) {
        part = NULL;
        lo = 0;
        hi = have;

        while (lo < hi) {
            mid = (lo + hi) / 2;

            if (parts[mid].number == want[i].number) {
                part = &parts[mid];
                break;
            }

            if (parts[mid].number < want[i].number) {
                lo = mid + 1;

            } else {
                hi = mid;
            }
        }

        if (part == NULL || !want[i].etag_ok
            || ngx_memcmp(part->md5, want[i].md5, 16) != 0)
        {
            ctx->rc = INGEST_S3_INVALID_PART;
            ctx->nparts = want[i].number;
            ctx->result = NGX_DECLINED;
            goto done;
        }

        if (i + 1 < n && part->size < INGEST_S3_MIN_PART_SIZE) {
            ctx->rc = INGEST_S3_ENTITY_TOO_SMALL;
            ctx->nparts = want[i].number;
            ctx->result = NGX_DECLINED;
            goto done;
        }

        ctx->size += part->size;
        ngx_memcpy(md5s + 16 * i, part->md5, 16);
        pick[i] = part;
        inplace |= part->inplace;
    }

    if (ctx->size > (uint64_t) ctx->conf->max_object_size) {
        ctx->rc = INGEST_S3_ENTITY_TOO_LARGE;
        ctx->result = NGX_DECLINED;
        goto done;
    }

    ctx->etag_len = ingest_s3_etag_multipart(ctx->etag, md5s, n);
    ctx->nparts = n;

    stride = 0;

    *ngx_snprintf(data, sizeof(data) - 1, "%V/uploads/%s/data",
                  &ctx->conf->sc.store, ctx->id) = '\0';

    if (inplace) {
        *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/stride",
                      &ctx->conf->sc.store, ctx->id) = '\0';

        p = ngx_http_ingest_read_small((char *) path, 32, &len, e);
        if (p == NULL) {
            ctx->result = NGX_ERROR;
            goto done;
        }

        rc = ingest_parse_u64(p, len, &stride);
        free(p);

        if (rc != 0 || stride == 0) {
            errno = EINVAL;
            ngx_http_ingest_set_err(e, "reading the part stride");
            ctx->result = NGX_ERROR;
            goto done;
        }
    }

    /*
     * Parts 1..n all in place, all but the last of the stride's size:
     * the data file is the object as it is.
     */

    for (i = 0; i < n; i++) {
        if (!pick[i]->inplace || pick[i]->number != i + 1
            || (i + 1 < n && pick[i]->size != stride))
        {
            break;
        }
    }

    if (i == n) {
        if (truncate((char *) data, (off_t) ctx->size) == -1) {

            /* a completion that crashed after the rename: publish it */

            if (errno == ENOENT
                && stat((char *) ctx->data_path, &st) == 0
                && (uint64_t) st.st_size == ctx->size)
            {
                ctx->zero_copy = 1;
                goto publish;
            }

            ngx_http_ingest_set_err(e, "truncate() of the upload data");
            ctx->result = NGX_ERROR;
            goto done;
        }

        if (rename((char *) data, (char *) ctx->data_path) == -1) {
            ngx_http_ingest_set_err(e, "rename() of the object");
            ctx->result = NGX_ERROR;
            goto done;
        }

        ctx->zero_copy = 1;
        goto publish;
    }

    /* assemble "objects/<upload id>" from the parts */

    dst = open((char *) ctx->tmp_path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC,
               0644);
    if (dst == -1) {
        ngx_http_ingest_set_err(e, "open() of the object");
        ctx->result = NGX_ERROR;
        goto done;
    }

    off = 0;

    for (i = 0; i < n; i++) {
        part = pick[i];

        if (part->inplace) {
            src = open((char *) data, O_RDONLY|O_CLOEXEC);
            soff = (off_t) ((part->number - 1) * stride);

        } else {
            p = ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s/%uD.",
                             &ctx->conf->sc.store, ctx->id, part->number);
            p = ngx_hex_dump(p, part->md5, 16);
            *p = '\0';

            src = open((char *) path, O_RDONLY|O_CLOEXEC);
            soff = 0;
        }

        if (src == -1) {
            ngx_http_ingest_set_err(e, "open() of a part");
            ctx->result = NGX_ERROR;
            goto done;
        }

        rc = ngx_http_ingest_copy(dst, off, src, soff, (off_t) part->size,
                                  e);

        (void) close(src);

        if (rc != NGX_OK) {
            ctx->result = NGX_ERROR;
            goto done;
        }

        off += (off_t) part->size;
    }

    if (close(dst) == -1) {
        dst = NGX_INVALID_FILE;
        ngx_http_ingest_set_err(e, "close() of the object");
        ctx->result = NGX_ERROR;
        goto done;
    }

    dst = NGX_INVALID_FILE;

    if (rename((char *) ctx->tmp_path, (char *) ctx->data_path) == -1) {
        ngx_http_ingest_set_err(e, "rename() of the object");
        ctx->result = NGX_ERROR;
        goto done;
    }

publish:

    if (ngx_http_s3_publish(ctx, ctx->id, ctx->size) != NGX_OK) {
        (void) unlink((char *) ctx->data_path);
        ctx->result = NGX_ERROR;
        goto done;
    }

    /* the bytes of all parts, listed or not, leave the quota */

    for (i = 0; i < have; i++) {
        ctx->parts_bytes += parts[i].size;
    }

    ngx_http_s3_remove_upload(&ctx->conf->sc, ctx->id);

    ctx->result = NGX_OK;

done:

    if (dst != NGX_INVALID_FILE) {
        (void) close(dst);
        (void) unlink((char *) ctx->tmp_path);
    }

    free(parts);
    free(want);
    free(md5s);
    free(pick);
}


/* Context: event loop */

static void
ngx_http_s3_complete_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    u_char                   *buf;
    size_t                    len;
    ingest_s3xml_complete_t   out;

    if (ctx->result != NGX_OK) {
        if (ctx->result == NGX_DECLINED
            && (ctx->rc == INGEST_S3_INVALID_PART
                || ctx->rc == INGEST_S3_ENTITY_TOO_SMALL))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "s3: upload %s: part %ui is the reason",
                          ctx->id, ctx->nparts);
        }

        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    ctx->completed = 1;

    ngx_http_ingest_quota_release(&ctx->account, ctx->parts_bytes, 1);

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_COMPLETED, 1);

    if (ctx->conf->sc.spool.len) {
        ngx_http_ingest_metric_add(ctx->spool_failed
                                   ? NGX_HTTP_INGEST_M_S3_SPOOL_ERRORS
                                   : NGX_HTTP_INGEST_M_S3_SPOOL_JOBS, 1);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "s3: upload %s of \"%V/%V\" completed: %ui parts, "
                  "%uL bytes%s", ctx->id, &ctx->bucket, &ctx->key,
                  ctx->nparts, ctx->size,
                  ctx->zero_copy ? ", in place" : ", assembled");

    ngx_memzero(&out, sizeof(ingest_s3xml_complete_t));

    out.bucket.data = ctx->bucket.data;
    out.bucket.len = ctx->bucket.len;
    out.key.data = ctx->key.data;
    out.key.len = ctx->key.len;
    out.etag.data = ctx->etag;
    out.etag.len = ctx->etag_len;

    len = ingest_s3xml_complete(NULL, 0, &out);

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        ngx_http_s3_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    (void) ingest_s3xml_complete(buf, len, &out);

    ngx_http_s3_finalize(r, ctx,
                         ngx_http_s3_send(r, ctx, NGX_HTTP_OK, buf, len, 1));
}


/* AbortMultipartUpload. Context: thread pool */

static void
ngx_http_s3_abort_thread(ngx_http_s3_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_uint_t           i, n;
    ngx_http_s3_part_t  *parts;

    rc = ngx_http_s3_load_upload(ctx, 1);
    if (rc != NGX_OK) {
        ctx->result = rc;
        return;
    }

    if (ngx_http_s3_scan_parts(&ctx->conf->sc.store, ctx->id, &parts,
                               &n, 0, &ctx->err)
        == NGX_OK)
    {
        for (i = 0; i < n; i++) {
            ctx->parts_bytes += parts[i].size;
        }

        free(parts);
    }

    ngx_http_s3_remove_upload(&ctx->conf->sc, ctx->id);

    ctx->result = NGX_OK;
}


/* Context: event loop */

static void
ngx_http_s3_abort_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    if (ctx->result != NGX_OK) {
        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    ngx_http_ingest_quota_release(&ctx->account, ctx->parts_bytes, 1);
    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_ABORTED, 1);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "s3: upload %s aborted", ctx->id);

    ngx_http_s3_finalize(r, ctx,
                         ngx_http_s3_send(r, ctx, NGX_HTTP_NO_CONTENT, NULL,
                                          0, 0));
}


/* ListParts. Context: thread pool */

static void
ngx_http_s3_list_parts_thread(ngx_http_s3_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_uint_t                  i, n;
    ngx_http_s3_part_t         *parts;
    ingest_s3xml_list_part_t   *lp;
    ingest_s3xml_list_parts_t   in;

    rc = ngx_http_s3_load_upload(ctx, 0);
    if (rc != NGX_OK) {
        ctx->result = rc;
        return;
    }

    if (ngx_http_s3_scan_parts(&ctx->conf->sc.store, ctx->id, &parts,
                               &n, 0, &ctx->err)
        != NGX_OK)
    {
        ctx->result = NGX_ERROR;
        return;
    }

    lp = malloc((n + 1) * sizeof(ingest_s3xml_list_part_t));
    if (lp == NULL) {
        free(parts);
        ngx_http_ingest_set_err(&ctx->err, "malloc()");
        ctx->result = NGX_ERROR;
        return;
    }

    for (i = 0; i < n; i++) {
        lp[i].number = parts[i].number;
        lp[i].last_modified = parts[i].mtime;
        lp[i].size = parts[i].size;
        ngx_memcpy(lp[i].md5, parts[i].md5, 16);
    }

    free(parts);

    ngx_memzero(&in, sizeof(ingest_s3xml_list_parts_t));

    in.bucket.data = ctx->bucket.data;
    in.bucket.len = ctx->bucket.len;
    in.key.data = ctx->key.data;
    in.key.len = ctx->key.len;
    in.upload_id.data = ctx->id;
    in.upload_id.len = INGEST_ID_LEN;
    in.owner.data = ctx->account.data;
    in.owner.len = ctx->account.len;
    in.part_number_marker = ctx->route.part_number_marker;
    in.max_parts = ctx->route.max_parts;
    in.parts = lp;
    in.nparts = n;

    ctx->out_len = ingest_s3xml_list_parts(NULL, 0, &in);

    ctx->out = malloc(ctx->out_len);
    if (ctx->out == NULL) {
        free(lp);
        ngx_http_ingest_set_err(&ctx->err, "malloc()");
        ctx->result = NGX_ERROR;
        return;
    }

    (void) ingest_s3xml_list_parts(ctx->out, ctx->out_len, &in);

    free(lp);

    ctx->result = NGX_OK;
}


/* ListMultipartUploads. Context: thread pool */

typedef struct {
    ingest_s3xml_upload_t       u;
    u_char                      id[INGEST_ID_LEN];
    u_char                      key[INGEST_S3_MAX_KEY_LEN];
} ngx_http_s3_list_entry_t;


static void
ngx_http_s3_list_uploads_thread(ngx_http_s3_ctx_t *ctx)
{
    u_char                       *info, *b;
    DIR                          *dir;
    size_t                        len, n, cap, klen, blen, i;
    ingest_record_t               rec;
    struct dirent                *de;
    ingest_s3xml_upload_t        *ups;
    ngx_http_ingest_err_t         e;
    ngx_http_s3_list_entry_t     *ent, *nent;
    ingest_s3xml_list_uploads_t   in;
    u_char                        path[NGX_MAX_PATH];
    u_char                        bucket[64];

    *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads",
                  &ctx->conf->sc.store) = '\0';

    dir = opendir((char *) path);
    if (dir == NULL) {
        ngx_http_ingest_set_err(&ctx->err, "opendir() of uploads");
        ctx->result = NGX_ERROR;
        return;
    }

    ent = NULL;
    n = 0;
    cap = 0;

    while ((de = readdir(dir)) != NULL) {
        len = ngx_strlen(de->d_name);

        if (len != INGEST_ID_LEN + sizeof(".info") - 1
            || ngx_strcmp(de->d_name + INGEST_ID_LEN, ".info") != 0
            || !ingest_id_valid((u_char *) de->d_name, INGEST_ID_LEN))
        {
            continue;
        }

        *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s",
                      &ctx->conf->sc.store, de->d_name) = '\0';

        info = ngx_http_ingest_read_small((char *) path, INGEST_RECORD_MAX,
                                          &len, &e);
        if (info == NULL) {
            continue;
        }

        if (ingest_record_parse(&rec, info, len) != 0
            || rec.protocol != INGEST_PROTO_S3
            || rec.owner.len != ctx->account.len
            || ngx_memcmp(rec.owner.data, ctx->account.data,
                          ctx->account.len)
               != 0
            || ngx_http_s3_record_get(&rec, "bucket", bucket, sizeof(bucket),
                                      &blen)
               != NGX_OK
            || blen != ctx->bucket.len
            || ngx_memcmp(bucket, ctx->bucket.data, blen) != 0)
        {
            free(info);
            continue;
        }

        if (n == cap) {
            cap = cap ? cap * 2 : 64;

            nent = realloc(ent, cap * sizeof(ngx_http_s3_list_entry_t));
            if (nent == NULL) {
                free(info);
                break;
            }

            ent = nent;
        }

        if (ngx_http_s3_record_get(&rec, "key", ent[n].key,
                                   sizeof(ent[n].key), &klen)
            != NGX_OK)
        {
            free(info);
            continue;
        }

        ngx_memcpy(ent[n].id, de->d_name, INGEST_ID_LEN);
        ent[n].u.key.len = klen;
        ent[n].u.upload_id.len = INGEST_ID_LEN;
        ent[n].u.initiated = rec.created;
        n++;

        free(info);
    }

    (void) closedir(dir);

    ups = malloc((n + 1) * sizeof(ingest_s3xml_upload_t));
    if (ups == NULL) {
        free(ent);
        ngx_http_ingest_set_err(&ctx->err, "malloc()");
        ctx->result = NGX_ERROR;
        return;
    }

    /* entries may have moved while growing: point into them now */

    for (i = 0; i < n; i++) {
        ups[i] = ent[i].u;
        ups[i].key.data = ent[i].key;
        ups[i].upload_id.data = ent[i].id;
    }

    ingest_s3xml_sort_uploads(ups, n);

    ngx_memzero(&in, sizeof(ingest_s3xml_list_uploads_t));

    in.bucket.data = ctx->bucket.data;
    in.bucket.len = ctx->bucket.len;
    in.owner.data = ctx->account.data;
    in.owner.len = ctx->account.len;
    in.max_uploads = ctx->route.max_uploads;
    in.encoding_url = ctx->route.encoding_url;
    in.uploads = ups;
    in.nuploads = n;

    /* prefix and markers: decoded by the event loop */

    in.prefix.data = ctx->prefix.data;
    in.prefix.len = ctx->prefix.len;
    in.key_marker.data = ctx->key_marker.data;
    in.key_marker.len = ctx->key_marker.len;
    in.upload_id_marker.data = ctx->route.upload_id_marker.data;
    in.upload_id_marker.len = ctx->route.upload_id_marker.len;

    len = ingest_s3xml_list_uploads(NULL, 0, &in);

    b = malloc(len);
    if (b == NULL) {
        free(ups);
        free(ent);
        ngx_http_ingest_set_err(&ctx->err, "malloc()");
        ctx->result = NGX_ERROR;
        return;
    }

    (void) ingest_s3xml_list_uploads(b, len, &in);

    free(ups);
    free(ent);

    ctx->out = b;
    ctx->out_len = len;
    ctx->result = NGX_OK;
}


/* Context: event loop */

static void
ngx_http_s3_xml_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    u_char  *buf;

    if (ctx->result != NGX_OK) {
        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    buf = ngx_pnalloc(r->pool, ctx->out_len);
    if (buf == NULL) {
        ngx_http_s3_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(buf, ctx->out, ctx->out_len);

    ngx_http_s3_finalize(r, ctx,
                         ngx_http_s3_send(r, ctx, NGX_HTTP_OK, buf,
                                          ctx->out_len, 1));
}


/* GetObject and HeadObject. Context: thread pool */

static void
ngx_http_s3_object_thread(ngx_http_s3_ctx_t *ctx)
{
    u_char                 *idx;
    size_t                  len, klen;
    struct stat             st;
    ngx_http_ingest_err_t   e;
    u_char                  path[NGX_MAX_PATH];
    u_char                  key[INGEST_S3_MAX_KEY_LEN];

    *ngx_snprintf(path, sizeof(path) - 1, "%V/buckets/%V/%s",
                  &ctx->conf->sc.store, &ctx->bucket, ctx->hkey) = '\0';

    idx = ngx_http_ingest_read_small((char *) path, 64, &len, &e);

    if (idx == NULL) {
        if (e.err == ENOENT || e.err == ENOTDIR) {
            ctx->rc = INGEST_S3_NO_SUCH_KEY;
            ctx->result = NGX_DECLINED;
            return;
        }

        ctx->err = e;
        ctx->result = NGX_ERROR;
        return;
    }

    if (len < INGEST_ID_LEN || !ingest_id_valid(idx, INGEST_ID_LEN)) {
        free(idx);
        ctx->rc = INGEST_S3_NO_SUCH_KEY;
        ctx->result = NGX_DECLINED;
        return;
    }

    ngx_memcpy(ctx->id, idx, INGEST_ID_LEN);
    free(idx);

    *ngx_snprintf(ctx->data_path, NGX_MAX_PATH - 1, "%V/objects/%s",
                  &ctx->conf->sc.store, ctx->id) = '\0';
    *ngx_snprintf(path, sizeof(path) - 1, "%V/objects/%s.info",
                  &ctx->conf->sc.store, ctx->id) = '\0';

    ctx->info = ngx_http_ingest_read_small((char *) path, INGEST_RECORD_MAX,
                                           &len, &e);
    if (ctx->info == NULL) {
        ctx->rc = INGEST_S3_NO_SUCH_KEY;
        ctx->result = NGX_DECLINED;
        return;
    }

    if (ingest_record_parse(&ctx->rec, ctx->info, len) != 0
        || ngx_http_s3_record_get(&ctx->rec, "key", key, sizeof(key), &klen)
           != NGX_OK
        || klen != ctx->key.len
        || ngx_memcmp(key, ctx->key.data, klen) != 0)
    {
        ctx->rc = INGEST_S3_NO_SUCH_KEY;
        ctx->result = NGX_DECLINED;
        return;
    }

    if (ctx->rec.owner.len != ctx->account.len
        || ngx_memcmp(ctx->rec.owner.data, ctx->account.data,
                      ctx->account.len)
           != 0)
    {
        ctx->rc = INGEST_S3_ACCESS_DENIED;
        ctx->result = NGX_DECLINED;
        return;
    }

    ctx->fd = open((char *) ctx->data_path, O_RDONLY|O_CLOEXEC);
    if (ctx->fd == -1) {
        if (errno == ENOENT) {
            ctx->rc = INGEST_S3_NO_SUCH_KEY;
            ctx->result = NGX_DECLINED;
            return;
        }

        ngx_http_ingest_set_err(&ctx->err, "open() of an object");
        ctx->result = NGX_ERROR;
        return;
    }

    if (fstat(ctx->fd, &st) == -1) {
        ngx_http_ingest_set_err(&ctx->err, "fstat() of an object");
        ctx->result = NGX_ERROR;
        return;
    }

    ctx->size = (uint64_t) st.st_size;
    ctx->result = NGX_OK;
}


/* Context: event loop */

static void
ngx_http_s3_object_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    u_char                   *p;
    size_t                    len;
    ngx_fd_t                  fd;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_str_t                 src, dst;
    ngx_chain_t               out;
    ingest_str_t              key, value;
    ngx_table_elt_t          *h;
    ngx_pool_cleanup_t       *cln;
    ingest_tus_meta_iter_t    it;
    ngx_pool_cleanup_file_t  *clnf;

    if (ctx->result != NGX_OK) {
        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    if (r->method == NGX_HTTP_GET
        && ngx_http_s3_range_unsatisfiable(r, ctx->size))
    {
        ngx_http_s3_finalize(r, ctx,
                             ngx_http_s3_error(r, ctx,
                                               INGEST_S3_INVALID_RANGE));
        return;
    }

    /* the response owns the descriptor from here */

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        goto failed;
    }

    fd = ctx->fd;
    ctx->fd = NGX_INVALID_FILE;

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = ctx->data_path;
    clnf->log = r->pool->log;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = (off_t) ctx->size;
    r->headers_out.last_modified_time = (time_t) ctx->rec.created;

    ngx_str_set(&r->headers_out.content_type, "binary/octet-stream");

    ngx_http_s3_record_get(&ctx->rec, "etag", ctx->etag, sizeof(ctx->etag),
                           &ctx->etag_len);

    if (ctx->etag_len
        && ngx_http_ingest_add_header(r, "ETag", ctx->etag, ctx->etag_len)
           != NGX_OK)
    {
        goto failed;
    }

    /* filetype and meta-* come back as Content-Type and x-amz-meta-* */

    ingest_tus_meta_iter_init(&it, ctx->rec.metadata.data,
                              ctx->rec.metadata.len);

    while (ingest_tus_meta_next(&it, &key, &value)) {

        src.data = (u_char *) value.data;
        src.len = value.len;

        dst.data = ngx_pnalloc(r->pool,
                               ngx_base64_decoded_length(value.len) + 1);
        if (dst.data == NULL) {
            goto failed;
        }

        if (ngx_decode_base64(&dst, &src) != NGX_OK) {
            continue;
        }

        if (key.len == sizeof("filetype") - 1
            && ngx_strncmp(key.data, "filetype", key.len) == 0)
        {
            r->headers_out.content_type = dst;
            continue;
        }

        if (key.len > sizeof("meta-") - 1
            && ngx_strncmp(key.data, "meta-", sizeof("meta-") - 1) == 0)
        {
            len = sizeof("x-amz-meta-") - 1 + key.len - (sizeof("meta-") - 1);

            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                goto failed;
            }

            ngx_memcpy(ngx_cpymem(p, "x-amz-meta-",
                                  sizeof("x-amz-meta-") - 1),
                       key.data + sizeof("meta-") - 1,
                       key.len - (sizeof("meta-") - 1));

            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                goto failed;
            }

            h->hash = 1;
            h->key.data = p;
            h->key.len = len;
            h->value = dst;
        }
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_s3_add_common(r, ctx) != NGX_OK) {
        goto failed;
    }

    r->allow_ranges = 1;

    if (ctx->size == 0 || r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_s3_finalize(r, ctx, rc);
        return;
    }

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
    b->file_pos = 0;
    b->file_last = (off_t) ctx->size;
    b->in_file = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_http_s3_finalize(r, ctx, ngx_http_output_filter(r, &out));
    return;

failed:

    ngx_http_s3_finalize(r, ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/* DeleteObject. Context: thread pool */

static void
ngx_http_s3_delete_thread(ngx_http_s3_ctx_t *ctx)
{
    u_char                 *idx;
    size_t                  len;
    ngx_http_ingest_err_t   e;
    u_char                  path[NGX_MAX_PATH];
    u_char                  obj[NGX_MAX_PATH];

    *ngx_snprintf(path, sizeof(path) - 1, "%V/buckets/%V/%s",
                  &ctx->conf->sc.store, &ctx->bucket, ctx->hkey) = '\0';

    idx = ngx_http_ingest_read_small((char *) path, 64, &len, &e);

    /* S3 answers 204 for keys that do not exist */

    if (idx == NULL) {
        ctx->result = NGX_OK;
        return;
    }

    if (len >= INGEST_ID_LEN && ingest_id_valid(idx, INGEST_ID_LEN)) {
        ngx_memcpy(ctx->id, idx, INGEST_ID_LEN);

        *ngx_snprintf(obj, sizeof(obj) - 1, "%V/objects/%s.info",
                      &ctx->conf->sc.store, ctx->id) = '\0';

        ctx->info = ngx_http_ingest_read_small((char *) obj,
                                               INGEST_RECORD_MAX, &len, &e);

        if (ctx->info != NULL
            && ingest_record_parse(&ctx->rec, ctx->info, len) == 0
            && (ctx->rec.owner.len != ctx->account.len
                || ngx_memcmp(ctx->rec.owner.data, ctx->account.data,
                              ctx->account.len)
                   != 0))
        {
            free(idx);
            ctx->rc = INGEST_S3_ACCESS_DENIED;
            ctx->result = NGX_DECLINED;
            return;
        }

        (void) unlink((char *) path);
        (void) unlink((char *) obj);

        *ngx_snprintf(obj, sizeof(obj) - 1, "%V/objects/%s",
                      &ctx->conf->sc.store, ctx->id) = '\0';
        (void) unlink((char *) obj);

    } else {
        (void) unlink((char *) path);
    }

    free(idx);

    ctx->result = NGX_OK;
}


/* Context: event loop */

static void
ngx_http_s3_delete_done(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    if (ctx->result != NGX_OK) {
        ngx_http_s3_finalize(r, ctx, ngx_http_s3_thread_error(r, ctx));
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "s3: object \"%V/%V\" deleted", &ctx->bucket, &ctx->key);

    ngx_http_s3_finalize(r, ctx,
                         ngx_http_s3_send(r, ctx, NGX_HTTP_NO_CONTENT, NULL,
                                          0, 0));
}


/*
 * Reads "uploads/<id>.info" into ctx->rec and checks that the upload is
 * the request's: the account, bucket and key. With lock, holds an OFD
 * lock on the record (ctx->fd) so that one completion or abort runs at
 * a time. Returns NGX_OK, NGX_DECLINED (ctx->rc) or NGX_ERROR.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_s3_load_upload(ngx_http_s3_ctx_t *ctx, ngx_uint_t lock)
{
    size_t                  len;
    ngx_int_t               rc;
    ngx_http_ingest_err_t  *e;
    u_char                  val[INGEST_S3_MAX_KEY_LEN];

    e = &ctx->err;

    if (lock) {
        ctx->fd = open((char *) ctx->upload_path, O_RDWR|O_CLOEXEC);
        if (ctx->fd == -1) {
            if (errno == ENOENT) {
                goto no_upload;
            }

            ngx_http_ingest_set_err(e, "open() of an upload record");
            return NGX_ERROR;
        }

        rc = ngx_http_ingest_lock(ctx->fd, 0, e);

        if (rc == NGX_BUSY) {
            ctx->rc = INGEST_S3_CONFLICT;
            return NGX_DECLINED;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ctx->info = ngx_http_ingest_read_small((char *) ctx->upload_path,
                                           INGEST_RECORD_MAX, &len, e);
    if (ctx->info == NULL) {
        if (e->err == ENOENT) {
            e->err = 0;
            goto no_upload;
        }

        return NGX_ERROR;
    }

    if (ingest_record_parse(&ctx->rec, ctx->info, len) != 0
        || ctx->rec.protocol != INGEST_PROTO_S3)
    {
        errno = EINVAL;
        ngx_http_ingest_set_err(e, "parsing an upload record");
        return NGX_ERROR;
    }

    if (ctx->rec.owner.len != ctx->account.len
        || ngx_memcmp(ctx->rec.owner.data, ctx->account.data,
                      ctx->account.len)
           != 0)
    {
        goto no_upload;
    }

    if (ngx_http_s3_record_get(&ctx->rec, "bucket", val, sizeof(val), &len)
        != NGX_OK
        || len != ctx->bucket.len
        || ngx_memcmp(val, ctx->bucket.data, len) != 0)
    {
        goto no_upload;
    }

    if (ngx_http_s3_record_get(&ctx->rec, "key", val, sizeof(val), &len)
        != NGX_OK
        || len != ctx->key.len
        || ngx_memcmp(val, ctx->key.data, len) != 0)
    {
        goto no_upload;
    }

    return NGX_OK;

no_upload:

    ctx->rc = INGEST_S3_NO_SUCH_UPLOAD;
    return NGX_DECLINED;
}


static int
ngx_http_s3_part_cmp(const void *one, const void *two)
{
    const ngx_http_s3_part_t  *a = one;
    const ngx_http_s3_part_t  *b = two;

    if (a->number != b->number) {
        return a->number < b->number ? -1 : 1;
    }

    /* the newest first */
    return a->mtime > b->mtime ? -1 : (a->mtime < b->mtime ? 1 : 0);
}


/*
 * The parts of an upload, sorted by number (malloc()ed, free() it):
 * "<n>.<md5 hex>" files, and "<n>.i" records of parts written in place
 * into the upload's "data" file ("<md5 hex> <size>\n"). Two entries
 * of one number exist only for a moment, while a part is replaced;
 * with remove_dups the older one is dropped from the list.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_s3_scan_parts(ngx_str_t *store, u_char *id,
    ngx_http_s3_part_t **parts, ngx_uint_t *nparts, ngx_uint_t remove_dups,
    ngx_http_ingest_err_t *err)
{
    u_char                 *p, *dot, *hex, *rec;
    DIR                    *dir;
    size_t                  len, rlen;
    uint64_t                num, size;
    ngx_uint_t              n, cap, i, j, inplace;
    struct stat             st;
    struct dirent          *de;
    ngx_http_s3_part_t     *a, *na;
    ngx_http_ingest_err_t   e;
    u_char                  path[NGX_MAX_PATH];

    *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%*s", store,
                  (size_t) INGEST_ID_LEN, id) = '\0';

    dir = opendir((char *) path);
    if (dir == NULL) {
        ngx_http_ingest_set_err(err, "opendir() of the parts");
        return NGX_ERROR;
    }

    a = NULL;
    n = 0;
    cap = 0;

    while ((de = readdir(dir)) != NULL) {
        p = (u_char *) de->d_name;
        len = ngx_strlen(p);

        dot = ngx_strlchr(p, p + len, '.');

        if (dot == NULL || ingest_parse_u64(p, dot - p, &num) != 0
            || num < INGEST_S3_MIN_PART_NUMBER
            || num > INGEST_S3_MAX_PART_NUMBER)
        {
            continue;
        }

        rec = NULL;
        size = 0;

        if (len - (dot + 1 - p) == 1 && dot[1] == 'i') {
            /* a part in place: its record holds the MD5 and the size */

            *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%*s/%s",
                          store, (size_t) INGEST_ID_LEN, id, p) = '\0';

            rec = ngx_http_ingest_read_small((char *) path, 128, &rlen, &e);

            if (rec == NULL || rlen < 32 + 3 || rec[32] != ' '
                || rec[rlen - 1] != '\n'
                || ingest_parse_u64(rec + 33, rlen - 34, &size) != 0)
            {
                free(rec);
                continue;
            }

            hex = rec;
            inplace = 1;

        } else if (len - (dot + 1 - p) == 32) {
            hex = dot + 1;
            inplace = 0;

        } else {
            continue;
        }

        for (i = 0; i < 32; i++) {
            if (!((hex[i] >= '0' && hex[i] <= '9')
                  || (hex[i] >= 'a' && hex[i] <= 'f')))
            {
                break;
            }
        }

        if (i != 32 || fstatat(dirfd(dir), de->d_name, &st, 0) == -1) {
            free(rec);
            continue;
        }

        if (n == cap) {
            cap = cap ? cap * 2 : 64;

            na = realloc(a, cap * sizeof(ngx_http_s3_part_t));
            if (na == NULL) {
                free(rec);
                free(a);
                (void) closedir(dir);
                ngx_http_ingest_set_err(err, "realloc()");
                return NGX_ERROR;
            }

            a = na;
        }

        a[n].number = (uint32_t) num;
        a[n].size = inplace ? size : (uint64_t) st.st_size;
        a[n].mtime = st.st_mtime;
        a[n].inplace = inplace;

        for (i = 0; i < 16; i++) {
            a[n].md5[i] = (u_char) ngx_hextoi(hex + 2 * i, 2);
        }

        free(rec);
        n++;
    }

    (void) closedir(dir);

    if (n) {
        ngx_qsort(a, n, sizeof(ngx_http_s3_part_t), ngx_http_s3_part_cmp);
    }

    if (remove_dups) {
        for (i = 0, j = 0; i < n; i++) {
            if (j && a[j - 1].number == a[i].number) {
                continue;
            }

            a[j++] = a[i];
        }

        n = j;
    }

    if (a == NULL) {
        a = malloc(sizeof(ngx_http_s3_part_t));
        if (a == NULL) {
            ngx_http_ingest_set_err(err, "malloc()");
            return NGX_ERROR;
        }
    }

    *parts = a;
    *nparts = n;

    return NGX_OK;
}


/* Context: thread pool */

static void
ngx_http_s3_remove_upload(ngx_http_s3_store_conf_t *sc, u_char *id)
{
    DIR            *dir;
    struct dirent  *de;
    u_char          path[NGX_MAX_PATH];

    /*
     * The record goes first: an upload interrupted halfway is gone, not
     * a record whose parts are missing. A directory left without its
     * record is removed by the cleanup sweep.
     */

    *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%*s.info", &sc->store,
                  (size_t) INGEST_ID_LEN, id) = '\0';

    (void) unlink((char *) path);

    *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%*s", &sc->store,
                  (size_t) INGEST_ID_LEN, id) = '\0';

    dir = opendir((char *) path);

    if (dir != NULL) {
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] != '.') {
                (void) unlinkat(dirfd(dir), de->d_name, 0);
            }
        }

        (void) closedir(dir);
    }

    (void) rmdir((char *) path);
}


/*
 * Makes "objects/<oid>" the object of the request's key: its record,
 * the bucket index, the spool job. An object the key named before is
 * removed.
 * Context: thread pool
 */

static ngx_int_t
ngx_http_s3_publish(ngx_http_s3_ctx_t *ctx, u_char *oid, uint64_t size)
{
    u_char                    *buf, *meta, *p, *old;
    size_t                     len, olen;
    ngx_str_t                  src, dst;
    ingest_record_t            rec;
    ngx_http_ingest_err_t     *e, e2;
    ngx_http_s3_store_conf_t  *sc;
    ngx_http_ingest_job_conf_t jc;
    u_char                     path[NGX_MAX_PATH], idx[NGX_MAX_PATH];
    u_char                     line[INGEST_ID_LEN + 1];

    e = &ctx->err;
    sc = &ctx->conf->sc;

    meta = malloc(ctx->rec.metadata.len + sizeof(",etag ")
                  + ngx_base64_encoded_length(ctx->etag_len));
    if (meta == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        return NGX_ERROR;
    }

    p = ngx_cpymem(meta, ctx->rec.metadata.data, ctx->rec.metadata.len);
    p = ngx_cpymem(p, ",etag ", sizeof(",etag ") - 1);

    src.data = ctx->etag;
    src.len = ctx->etag_len;
    dst.data = p;
    ngx_encode_base64(&dst, &src);
    p += dst.len;

    ngx_memzero(&rec, sizeof(ingest_record_t));

    rec.protocol = INGEST_PROTO_S3;
    rec.length = size;
    rec.state = INGEST_STATE_COMPLETE;
    rec.created = ctx->now;
    rec.owner = ctx->rec.owner;
    rec.metadata.data = meta;
    rec.metadata.len = p - meta;

    buf = malloc(INGEST_RECORD_MAX);
    if (buf == NULL) {
        free(meta);
        ngx_http_ingest_set_err(e, "malloc()");
        return NGX_ERROR;
    }

    len = ingest_record_format(&rec, buf, INGEST_RECORD_MAX);

    if (len == 0) {
        errno = EOVERFLOW;
        ngx_http_ingest_set_err(e, "formatting the object record");
        goto failed;
    }

    *ngx_snprintf(path, sizeof(path) - 1, "%V/objects/%*s.info", &sc->store,
                  (size_t) INGEST_ID_LEN, oid) = '\0';

    if (ngx_http_ingest_write_atomic((char *) path, NULL, buf, len, 1, e)
        != NGX_OK)
    {
        goto failed;
    }

    /* the bucket index: "buckets/<bucket>/<sha256 of the key>" */

    *ngx_snprintf(idx, sizeof(idx) - 1, "%V/buckets/%V", &sc->store,
                  &ctx->bucket) = '\0';

    if (mkdir((char *) idx, 0700) == -1 && errno != EEXIST) {
        ngx_http_ingest_set_err(e, "mkdir() of a bucket");
        goto failed_record;
    }

    *ngx_snprintf(idx, sizeof(idx) - 1, "%V/buckets/%V/%s", &sc->store,
                  &ctx->bucket, ctx->hkey) = '\0';

    old = ngx_http_ingest_read_small((char *) idx, 64, &olen, &e2);

    ngx_memcpy(line, oid, INGEST_ID_LEN);
    line[INGEST_ID_LEN] = '\n';

    if (ngx_http_ingest_write_atomic((char *) idx, NULL, line, sizeof(line),
                                     1, e)
        != NGX_OK)
    {
        free(old);
        goto failed_record;
    }

    if (old != NULL) {
        if (olen >= INGEST_ID_LEN && ingest_id_valid(old, INGEST_ID_LEN)
            && ngx_memcmp(old, oid, INGEST_ID_LEN) != 0)
        {
            *ngx_snprintf(path, sizeof(path) - 1, "%V/objects/%*s",
                          &sc->store, (size_t) INGEST_ID_LEN, old) = '\0';
            (void) unlink((char *) path);

            *ngx_snprintf(path, sizeof(path) - 1, "%V/objects/%*s.info",
                          &sc->store, (size_t) INGEST_ID_LEN, old) = '\0';
            (void) unlink((char *) path);
        }

        free(old);
    }

    if (sc->spool.len) {
        *ngx_snprintf(path, sizeof(path) - 1, "%V/objects/%*s", &sc->store,
                      (size_t) INGEST_ID_LEN, oid) = '\0';

        jc.spool = sc->spool;
        jc.profile = sc->profile;
        jc.webhook = sc->webhook;

        if (ngx_http_ingest_write_job(&jc, "s3", oid, (char *) path, &rec,
                                      size, &e2)
            != NGX_OK)
        {
            /* the object is stored; the job is logged as missing */
            ctx->spool_failed = 1;
        }
    }

    free(buf);
    free(meta);

    return NGX_OK;

failed_record:

    *ngx_snprintf(path, sizeof(path) - 1, "%V/objects/%*s.info", &sc->store,
                  (size_t) INGEST_ID_LEN, oid) = '\0';
    (void) unlink((char *) path);

failed:

    free(buf);
    free(meta);

    return NGX_ERROR;
}


/* a metadata value of a record, decoded: NGX_OK or NGX_DECLINED */

static ngx_int_t
ngx_http_s3_record_get(ingest_record_t *rec, const char *name, u_char *out,
    size_t cap, size_t *len)
{
    ssize_t  n;

    *len = 0;

    n = ingest_tus_metadata_get(rec->metadata.data, rec->metadata.len, name,
                                out, cap);
    if (n < 0) {
        return NGX_DECLINED;
    }

    *len = (size_t) n;

    return NGX_OK;
}


/* Context: event loop */

static ngx_int_t
ngx_http_s3_post_op(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx,
    ngx_http_s3_thread_pt thread_handler, ngx_http_s3_done_pt done_handler)
{
    ngx_thread_task_t  *task;

    task = ctx->task;

    if (task == NULL) {
        task = ngx_thread_task_alloc(r->pool, 0);
        if (task == NULL) {
            return NGX_ERROR;
        }

        task->handler = ngx_http_s3_thread_handler;
        task->ctx = ctx;
        ctx->task = task;
    }

    ctx->thread_handler = thread_handler;
    ctx->done_handler = done_handler;

    if (thread_handler != ngx_http_s3_put_finish_thread) {
        /* a failed write keeps its error for the finishing step */
        ctx->err.err = 0;
        ctx->err.step = NULL;
    }

    task->event.data = r;
    task->event.handler = ngx_http_s3_thread_event_handler;

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
ngx_http_s3_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_s3_ctx_t  *ctx = data;

    ctx->thread_handler(ctx);
}


/* Context: event loop */

static void
ngx_http_s3_thread_event_handler(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    ngx_http_s3_ctx_t   *ctx;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ctx = ngx_http_get_module_ctx(r, ngx_http_ingest_s3_module);

    r->main->blocked--;
    ctx->in_thread = 0;

    ngx_http_ingest_release_worker(&ctx->keep);

    ctx->done_handler(r, ctx);

    ngx_http_run_posted_requests(c);
}


/* Context: event loop, request pool cleanup */

static void
ngx_http_s3_cleanup(void *data)
{
    ngx_http_s3_ctx_t  *ctx = data;

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

    if (ctx->lock_fd != NGX_INVALID_FILE) {
        (void) close(ctx->lock_fd);
        ctx->lock_fd = NGX_INVALID_FILE;
    }

    free(ctx->info);
    ctx->info = NULL;
    free(ctx->xml);
    ctx->xml = NULL;
    free(ctx->out);
    ctx->out = NULL;

    if (ctx->body_inited) {
        ingest_s3_body_free(&ctx->body);
        ctx->body_inited = 0;
    }

    if (ctx->ck_inited) {
        ingest_awschunked_free(&ctx->ck);
        ctx->ck_inited = 0;
    }

    if (ctx->reserved || ctx->reserved_upload) {
        ngx_http_ingest_quota_release(&ctx->account, ctx->reserved,
                                      ctx->reserved_upload);
        ctx->reserved = 0;
        ctx->reserved_upload = 0;
    }

    if (ctx->counted_active) {
        ctx->counted_active = 0;
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_ACTIVE, -1);
    }
}


/* Context: event loop */

static void
ngx_http_s3_finalize(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);
}


/* the answer to a failed thread operation */

static ngx_int_t
ngx_http_s3_thread_error(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    if (ctx->result == NGX_DECLINED) {
        return ngx_http_s3_error(r, ctx, ctx->rc);
    }

    if (ctx->err.err == NGX_ENOSPC || ctx->err.err == EDQUOT) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ctx->err.err,
                      "s3: %s %s: %s failed",
                      ctx->route.op == INGEST_S3_OP_PUT_OBJECT
                      ? "object" : "upload", ctx->id,
                      ctx->err.step ? ctx->err.step : "store operation");

        return ngx_http_s3_error(r, ctx, INGEST_S3_NO_SPACE);
    }

    ngx_log_error(NGX_LOG_CRIT, r->connection->log, ctx->err.err,
                  "s3: %s %s: %s failed",
                  ctx->route.op == INGEST_S3_OP_PUT_OBJECT
                  ? "object" : "upload", ctx->id,
                  ctx->err.step ? ctx->err.step : "store operation");

    return ngx_http_s3_error(r, ctx, INGEST_S3_INTERNAL_ERROR);
}


/*
 * An S3 error document. Signature mismatches carry the string to sign
 * and the canonical request, as S3 sends them, so that a client can
 * see what differs.
 */

static ngx_int_t
ngx_http_s3_error(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx,
    ingest_s3_rc_t rc)
{
    u_char                *buf, *p;
    size_t                 len, n;
    ngx_uint_t             status, nextra, m, level;
    ingest_s3_header_t     extra[4];
    ingest_s3xml_error_t   e;
    u_char                 when[INGEST_S3_AMZ_DATE_LEN * 2];

    status = ingest_s3_http_status(rc);

    level = status >= 500 ? NGX_LOG_ERR : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0,
                  "s3: %V %V rejected with %ui %s: %s%s%V",
                  &r->method_name, &ctx->path, status,
                  ingest_s3_error_code(rc), ingest_s3_error_message(rc),
                  ctx->account.len ? ", account " : "", &ctx->account);

    switch (rc) {
    case INGEST_S3_SIGNATURE_MISMATCH:
    case INGEST_S3_SIGNED_HEADER_MISSING:
    case INGEST_S3_CHUNK_SIGNATURE_MISMATCH:
    case INGEST_S3_TRAILER_SIGNATURE_MISMATCH:
        m = NGX_HTTP_INGEST_M_S3_AUTH_SIGNATURE;
        break;
    case INGEST_S3_INVALID_ACCESS_KEY:
        m = NGX_HTTP_INGEST_M_S3_AUTH_ACCESS_KEY;
        break;
    case INGEST_S3_EXPIRED:
    case INGEST_S3_NOT_YET_VALID:
        m = NGX_HTTP_INGEST_M_S3_AUTH_EXPIRED;
        break;
    case INGEST_S3_TIME_SKEWED:
        m = NGX_HTTP_INGEST_M_S3_AUTH_SKEW;
        break;
    default:
        m = (rc >= INGEST_S3_ACCESS_DENIED
             && rc <= INGEST_S3_HEADERS_NOT_SIGNED)
            ? NGX_HTTP_INGEST_M_S3_AUTH_OTHER : NGX_HTTP_INGEST_M_LAST;
        break;
    }

    if (m != NGX_HTTP_INGEST_M_LAST) {
        ngx_http_ingest_metric_add(m, 1);
    }

    ngx_memzero(&e, sizeof(ingest_s3xml_error_t));

    e.rc = rc;
    e.resource.data = ctx->path.data;
    e.resource.len = ctx->path.len;
    e.request_id.data = ctx->request_id;
    e.request_id.len = sizeof(ctx->request_id);
    e.extra = extra;

    nextra = 0;

    if (rc == INGEST_S3_SIGNATURE_MISMATCH) {
        n = ingest_sigv4_string_to_sign(&ctx->sreq, &ctx->auth, NULL, 0);
        len = ingest_sigv4_canonical_request(&ctx->sreq, &ctx->auth, NULL, 0);

        p = ngx_pnalloc(r->pool, n + len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        (void) ingest_sigv4_string_to_sign(&ctx->sreq, &ctx->auth, p, n);
        (void) ingest_sigv4_canonical_request(&ctx->sreq, &ctx->auth, p + n,
                                              len);

        ngx_str_set(&extra[0].name, "AWSAccessKeyId");
        extra[0].value.data = ctx->auth.access_key;
        extra[0].value.len = ctx->auth.access_key_len;
        ngx_str_set(&extra[1].name, "StringToSign");
        extra[1].value.data = p;
        extra[1].value.len = n;
        ngx_str_set(&extra[2].name, "CanonicalRequest");
        extra[2].value.data = p + n;
        extra[2].value.len = len;
        nextra = 3;

    } else if (rc == INGEST_S3_INVALID_RANGE
               && r->headers_in.range != NULL)
    {
        p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_str_set(&extra[0].name, "RangeRequested");
        extra[0].value.data = r->headers_in.range->value.data;
        extra[0].value.len = r->headers_in.range->value.len;
        ngx_str_set(&extra[1].name, "ActualObjectSize");
        extra[1].value.data = p;
        extra[1].value.len = ngx_sprintf(p, "%uL", ctx->size) - p;
        nextra = 2;

    } else if (rc == INGEST_S3_TIME_SKEWED) {
        (void) ingest_s3_format_amz_date(when, ctx->auth.time);
        (void) ingest_s3_format_amz_date(when + INGEST_S3_AMZ_DATE_LEN,
                                         ctx->now);

        ngx_str_set(&extra[0].name, "RequestTime");
        extra[0].value.data = when;
        extra[0].value.len = INGEST_S3_AMZ_DATE_LEN;
        ngx_str_set(&extra[1].name, "ServerTime");
        extra[1].value.data = when + INGEST_S3_AMZ_DATE_LEN;
        extra[1].value.len = INGEST_S3_AMZ_DATE_LEN;
        nextra = 2;
    }

    e.nextra = nextra;

    len = ingest_s3xml_error(NULL, 0, &e);

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ingest_s3xml_error(buf, len, &e);

    if (status == NGX_HTTP_INSUFFICIENT_STORAGE) {
        ngx_str_set(&r->headers_out.status_line, "507 Insufficient Storage");
    }

    return ngx_http_s3_send(r, ctx, status, buf, len, 1);
}


/*
 * Sends a response with an optional body (XML or none). Returns what
 * the content handler (or ngx_http_finalize_request) expects.
 */

static ngx_int_t
ngx_http_s3_send(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx,
    ngx_uint_t status, u_char *body, size_t len, ngx_uint_t xml)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (!ctx->body_started && !r->discard_body && r->request_body == NULL) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (r->connection->error) {
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    if (ngx_http_s3_add_common(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (xml) {
        ngx_str_set(&r->headers_out.content_type, "application/xml");
        r->headers_out.content_type_len = sizeof("application/xml") - 1;
    }

    if (len == 0 || r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    if (status == NGX_HTTP_NO_CONTENT) {
        r->headers_out.content_length_n = -1;
    }

    /* a failed upload must not leave the connection half-read */
    if (ctx->body_started && r->reading_body) {
        r->keepalive = 0;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* x-amz-request-id and CORS */

static ngx_int_t
ngx_http_s3_add_common(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    if (ngx_http_ingest_add_header(r, "x-amz-request-id", ctx->request_id,
                                   sizeof(ctx->request_id))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_ingest_cors(r, ctx->conf->cors_origins, &ctx->origin,
                                "ETag, x-amz-request-id");
}


static ngx_int_t
ngx_http_s3_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t               status, m;
    ngx_http_s3_ctx_t       *ctx;
    ngx_http_s3_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_ingest_s3_module);

    if (!slcf->enable || r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_ingest_s3_module);

    status = r->headers_out.status;

    if (status == 0 && r->connection->error) {
        status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    switch (status / 100) {
    case 1:
        m = NGX_HTTP_INGEST_M_S3_REQ_1XX;
        break;
    case 2:
        m = NGX_HTTP_INGEST_M_S3_REQ_2XX;
        break;
    case 3:
        m = NGX_HTTP_INGEST_M_S3_REQ_3XX;
        break;
    case 5:
        m = NGX_HTTP_INGEST_M_S3_REQ_5XX;
        break;
    default:
        m = NGX_HTTP_INGEST_M_S3_REQ_4XX;
        break;
    }

    ngx_http_ingest_metric_add(m, 1);

    if (ctx == NULL || !ctx->body_started) {
        return NGX_OK;
    }

    /* an upload part: UploadPart or PutObject */

    if (status == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || status == NGX_HTTP_REQUEST_TIME_OUT
        || (ctx->pump.rc && r->connection->error))
    {
        m = NGX_HTTP_INGEST_M_S3_PARTS_ABORTED;

    } else if (status >= 500) {
        m = NGX_HTTP_INGEST_M_S3_PARTS_SERVER_ERROR;

    } else if (status >= 400) {
        m = NGX_HTTP_INGEST_M_S3_PARTS_CLIENT_ERROR;

    } else {
        m = NGX_HTTP_INGEST_M_S3_PARTS_OK;
    }

    ngx_http_ingest_metric_add(m, 1);
    ngx_http_ingest_metric_observe(NGX_HTTP_INGEST_M_S3_PART_DURATION,
                          (uint64_t) (ngx_current_msec - ctx->start) * 1000);

    return NGX_OK;
}


/*
 * Abandoned multipart uploads: removed once they are older than
 * ingest_s3_expiration, by one worker, the scan in a thread.
 * Context: event loop
 */

static void
ngx_http_s3_cleanup_timer(ngx_event_t *ev)
{
    ngx_http_s3_cleanup_t  *cl = ev->data;

    cl->now = ngx_time();
    cl->removed = 0;
    cl->nreleases = 0;

    if (ngx_thread_task_post(
                         ((ngx_http_s3_store_conf_t **)
                          cl->smcf->stores.elts)[0]->thread_pool,
                         ngx_http_s3_cleanup_task)
        != NGX_OK)
    {
        ngx_add_timer(ev, cl->smcf->cleanup_interval);
    }
}


/* Context: thread pool */

static void
ngx_http_s3_cleanup_thread(void *data, ngx_log_t *log)
{
    ngx_http_s3_cleanup_t  *cl = data;

    u_char                     *info;
    DIR                        *dir;
    off_t                       bytes;
    size_t                      len;
    ngx_fd_t                    fd;
    ngx_uint_t                  i, j, n;
    struct stat                 st;
    struct dirent              *de;
    ngx_http_s3_part_t         *parts;
    ingest_record_t             rec;
    ngx_http_s3_release_t      *rl;
    ngx_http_ingest_err_t       e;
    ngx_http_s3_store_conf_t  **scp, *sc;
    u_char                      path[NGX_MAX_PATH];

    scp = cl->smcf->stores.elts;

    for (i = 0; i < cl->smcf->stores.nelts; i++) {
        sc = scp[i];

        if (sc->expiration == 0) {
            continue;
        }

        *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads", &sc->store)
            = '\0';

        dir = opendir((char *) path);
        if (dir == NULL) {
            continue;
        }

        while ((de = readdir(dir)) != NULL) {
            len = ngx_strlen(de->d_name);

            if (len == INGEST_ID_LEN
                && ingest_id_valid((u_char *) de->d_name, INGEST_ID_LEN))
            {
                /* parts of an upload whose removal was interrupted */

                *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s.info",
                              &sc->store, de->d_name) = '\0';

                if (stat((char *) path, &st) == -1 && errno == ENOENT
                    && fstatat(dirfd(dir), de->d_name, &st, 0) == 0
                    && st.st_mtime + NGX_HTTP_S3_TMP_AGE < cl->now)
                {
                    ngx_http_s3_remove_upload(sc, (u_char *) de->d_name);
                }

                continue;
            }

            if (len != INGEST_ID_LEN + sizeof(".info") - 1
                || ngx_strcmp(de->d_name + INGEST_ID_LEN, ".info") != 0
                || !ingest_id_valid((u_char *) de->d_name, INGEST_ID_LEN))
            {
                continue;
            }

            *ngx_snprintf(path, sizeof(path) - 1, "%V/uploads/%s",
                          &sc->store, de->d_name) = '\0';

            fd = open((char *) path, O_RDWR|O_CLOEXEC);
            if (fd == -1) {
                continue;
            }

            /* an upload being completed or aborted is left alone */

            if (ngx_http_ingest_lock(fd, 0, &e) != NGX_OK) {
                (void) close(fd);
                continue;
            }

            info = ngx_http_ingest_read_small((char *) path,
                                              INGEST_RECORD_MAX, &len, &e);

            if (info == NULL
                || ingest_record_parse(&rec, info, len) != 0
                || rec.protocol != INGEST_PROTO_S3
                || rec.created + sc->expiration > cl->now)
            {
                free(info);
                (void) close(fd);
                continue;
            }

            bytes = 0;

            if (ngx_http_s3_scan_parts(&sc->store, (u_char *) de->d_name,
                                       &parts, &n, 0, &e)
                == NGX_OK)
            {
                for (j = 0; j < n; j++) {
                    bytes += (off_t) parts[j].size;
                }

                free(parts);
            }

            ngx_http_s3_remove_upload(sc, (u_char *) de->d_name);
            cl->removed++;

            if (cl->nreleases < NGX_HTTP_S3_CLEANUP_RELEASES
                && rec.owner.len <= sizeof(rl->owner))
            {
                rl = &cl->releases[cl->nreleases++];
                ngx_memcpy(rl->owner, rec.owner.data, rec.owner.len);
                rl->owner_len = rec.owner.len;
                rl->bytes = bytes;
            }

            free(info);
            (void) close(fd);
        }

        (void) closedir(dir);
    }
}


/* Context: event loop */

static void
ngx_http_s3_cleanup_done(ngx_event_t *ev)
{
    ngx_http_s3_cleanup_t  *cl = ev->data;

    ngx_str_t               owner;
    ngx_uint_t              i;
    ngx_http_s3_release_t  *rl;

    for (i = 0; i < cl->nreleases; i++) {
        rl = &cl->releases[i];
        owner.data = rl->owner;
        owner.len = rl->owner_len;

        ngx_http_ingest_quota_release(&owner, rl->bytes, 1);
    }

    if (cl->removed) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_S3_EXPIRED,
                                   cl->removed);

        ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                      "s3: removed %ui abandoned multipart uploads",
                      cl->removed);
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(&ngx_http_s3_cleanup_event,
                      cl->smcf->cleanup_interval);
    }
}


static void *
ngx_http_s3_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_s3_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_s3_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->cleanup_interval = NGX_CONF_UNSET_MSEC;

    if (ngx_array_init(&smcf->stores, cf->pool, 4,
                       sizeof(ngx_http_s3_store_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static char *
ngx_http_s3_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_s3_main_conf_t *smcf = conf;

    ngx_conf_init_msec_value(smcf->cleanup_interval, 60000);

    if (smcf->cleanup_interval < 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3_cleanup_interval\" must be at "
                           "least 100ms");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_s3_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_s3_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_s3_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->root = { 0, NULL };
     *     conf->sc.store = { 0, NULL };
     *     conf->sc.profile = { 0, NULL };
     *     conf->sc.webhook = { 0, NULL };
     *     conf->region = { 0, NULL };
     *     conf->thread_pool_name = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->sc.spool.len = NGX_CONF_UNSET_SIZE;
    conf->sc.expiration = NGX_CONF_UNSET;
    conf->creds = NGX_CONF_UNSET_PTR;
    conf->buckets = NGX_CONF_UNSET_PTR;
    conf->max_object_size = NGX_CONF_UNSET;
    conf->max_skew = NGX_CONF_UNSET;
    conf->buffer_size = NGX_CONF_UNSET_SIZE;
    conf->direct_io = NGX_CONF_UNSET;
    conf->quota_bytes = NGX_CONF_UNSET;
    conf->quota_uploads = NGX_CONF_UNSET;
    conf->cors_origins = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_s3_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_s3_loc_conf_t *prev = parent;
    ngx_http_s3_loc_conf_t *conf = child;

    ngx_uint_t                  i;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_s3_main_conf_t    *smcf;
    ngx_http_s3_store_conf_t  **scp;

    /* not inherited: "ingest_s3 on" also sets the content handler */
    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 0;
    }

    ngx_conf_merge_str_value(conf->sc.store, prev->sc.store, "");
    ngx_conf_merge_str_value(conf->sc.profile, prev->sc.profile, "default");
    ngx_conf_merge_str_value(conf->sc.webhook, prev->sc.webhook, "");
    ngx_conf_merge_str_value(conf->thread_pool_name, prev->thread_pool_name,
                             "default");
    ngx_conf_merge_str_value(conf->region, prev->region, "");

    if (conf->sc.spool.len == NGX_CONF_UNSET_SIZE) {
        if (prev->sc.spool.len == NGX_CONF_UNSET_SIZE) {
            ngx_str_null(&conf->sc.spool);

        } else {
            conf->sc.spool = prev->sc.spool;
        }
    }

    ngx_conf_merge_value(conf->sc.expiration, prev->sc.expiration, 86400);
    ngx_conf_merge_ptr_value(conf->creds, prev->creds, NULL);
    ngx_conf_merge_ptr_value(conf->buckets, prev->buckets, NULL);
    ngx_conf_merge_off_value(conf->max_object_size, prev->max_object_size,
                             NGX_HTTP_S3_MAX_OBJECT);
    ngx_conf_merge_value(conf->max_skew, prev->max_skew,
                         INGEST_SIGV4_MAX_SKEW);
    ngx_conf_merge_size_value(conf->buffer_size, prev->buffer_size,
                              512 * 1024);
    ngx_conf_merge_value(conf->direct_io, prev->direct_io, 1);
    ngx_conf_merge_off_value(conf->quota_bytes, prev->quota_bytes, 0);
    ngx_conf_merge_value(conf->quota_uploads, prev->quota_uploads, 0);
    ngx_conf_merge_ptr_value(conf->cors_origins, prev->cors_origins, NULL);

    if (conf->buffer_size < 4 * NGX_HTTP_S3_ALIGN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3_buffer_size\" must be at least 16k");
        return NGX_CONF_ERROR;
    }

    conf->buffer_size = ngx_align(conf->buffer_size, NGX_HTTP_S3_ALIGN);

    if (conf->max_object_size <= 0
        || conf->max_object_size > NGX_HTTP_S3_MAX_OBJECT)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3_max_object_size\" must be between "
                           "1 and 5t");
        return NGX_CONF_ERROR;
    }

    if (conf->max_skew <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3_max_skew\" must be positive");
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (conf->sc.store.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3\" is on but \"ingest_s3_store\" is "
                           "not set for location \"%V\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    if (conf->creds == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3\" is on but no "
                           "\"ingest_s3_credentials\" are set for location "
                           "\"%V\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    if (conf->sc.store.data[0] != '/'
        || (conf->sc.spool.len && conf->sc.spool.data[0] != '/'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3_store\" and \"ingest_s3_spool\" "
                           "must be absolute paths");
        return NGX_CONF_ERROR;
    }

    while (conf->sc.store.len > 1
           && conf->sc.store.data[conf->sc.store.len - 1] == '/')
    {
        conf->sc.store.len--;
    }

    if (conf->sc.store.len + INGEST_ID_LEN + 256 > NGX_MAX_PATH) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3_store\" path is too long");
        return NGX_CONF_ERROR;
    }

#if (NGX_PCRE)
    if (clcf->regex) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3\" cannot be used in a regular "
                           "expression location");
        return NGX_CONF_ERROR;
    }
#endif

    if (clcf->exact_match) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_s3\" cannot be used in an exact match "
                           "location, objects are below it");
        return NGX_CONF_ERROR;
    }

    /* the API root: the location's prefix without its final "/" */

    conf->root = clcf->name;

    while (conf->root.len && conf->root.data[conf->root.len - 1] == '/') {
        conf->root.len--;
    }

    if (clcf->client_body_buffer_size == (size_t) 2 * ngx_pagesize) {
        /* as for tus: larger reads cost less CPU per GiB */
        clcf->client_body_buffer_size = 256 * 1024;
    }

    if (clcf->client_max_body_size
        && clcf->client_max_body_size < (off_t) 64 * 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"client_max_body_size %O\" limits each S3 part "
                           "and object; set \"client_max_body_size 0\" and "
                           "use \"ingest_s3_max_object_size\"",
                           clcf->client_max_body_size);
    }

    conf->sc.thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
    if (conf->sc.thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ingest_s3_module);
    scp = smcf->stores.elts;

    for (i = 0; i < smcf->stores.nelts; i++) {
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

    scp = ngx_array_push(&smcf->stores);
    if (scp == NULL) {
        return NGX_CONF_ERROR;
    }

    *scp = &conf->sc;

    return NGX_CONF_OK;
}


static char *
ngx_http_s3(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_loc_conf_t *slcf = conf;

    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (slcf->enable) {
        if (ngx_http_tus_enabled(cf)) {
            return "cannot be used with \"tus\" in one location";
        }

        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->handler = ngx_http_s3_handler;
    }

    return NGX_CONF_OK;
}


ngx_flag_t
ngx_http_ingest_s3_enabled(ngx_conf_t *cf)
{
    ngx_http_s3_loc_conf_t  *slcf;

    slcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_ingest_s3_module);

    return slcf->enable == 1;
}


/* ingest_s3_credentials <access key> <secret> [<account>] */

static char *
ngx_http_s3_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_loc_conf_t *slcf = conf;

    ngx_str_t           *value;
    ngx_uint_t           i;
    ngx_http_s3_cred_t  *c;

    value = cf->args->elts;

    if (slcf->creds == NGX_CONF_UNSET_PTR) {
        slcf->creds = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_s3_cred_t));
        if (slcf->creds == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0 || value[1].len > INGEST_SIGV4_AKID_MAX) {
        return "has an invalid access key id";
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= ' ' || value[1].data[i] == '/'
            || value[1].data[i] >= 0x7f)
        {
            return "has an invalid access key id";
        }
    }

    if (value[2].len < 8 || value[2].len > INGEST_SIGV4_SECRET_MAX) {
        return "has a secret that is not 8 to 256 bytes long";
    }

    c = slcf->creds->elts;

    for (i = 0; i < slcf->creds->nelts; i++) {
        if (c[i].access_key.len == value[1].len
            && ngx_strncmp(c[i].access_key.data, value[1].data,
                           value[1].len)
               == 0)
        {
            return "has a duplicate access key id";
        }
    }

    c = ngx_array_push(slcf->creds);
    if (c == NULL) {
        return NGX_CONF_ERROR;
    }

    c->access_key = value[1];
    c->secret = value[2];
    c->account = cf->args->nelts > 3 ? value[3] : value[1];

    if (c->account.len == 0 || c->account.len > 255) {
        return "has an account name that is not 1 to 255 bytes long";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_buckets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_loc_conf_t *slcf = conf;

    ngx_str_t   *value, *b;
    ngx_uint_t   i;

    if (slcf->buckets != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    slcf->buckets = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_str_t));
    if (slcf->buckets == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (ingest_s3_bucket_check(value[i].data, value[i].len)
            != INGEST_S3_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid bucket name \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        b = ngx_array_push(slcf->buckets);
        if (b == NULL) {
            return NGX_CONF_ERROR;
        }

        *b = value[i];
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_s3_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_s3_log_handler;

    return NGX_OK;
}


/* Context: master process, before the workers start */

static ngx_int_t
ngx_http_s3_init_module(ngx_cycle_t *cycle)
{
    ngx_str_t                   dir;
    ngx_uint_t                  i, j;
    ngx_http_s3_main_conf_t    *smcf;
    ngx_http_s3_store_conf_t  **scp;
    u_char                      buf[NGX_MAX_PATH];

    static const char  *subdirs[] = { "uploads", "objects", "buckets" };

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_ingest_s3_module);
    if (smcf == NULL) {
        return NGX_OK;
    }

    scp = smcf->stores.elts;

    for (i = 0; i < smcf->stores.nelts; i++) {
        if (ngx_http_ingest_create_dir(cycle, &scp[i]->store, cycle->log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        dir.data = buf;

        for (j = 0; j < 3; j++) {
            dir.len = ngx_snprintf(buf, sizeof(buf), "%V/%s",
                                   &scp[i]->store, subdirs[j])
                      - buf;

            if (ngx_http_ingest_create_dir(cycle, &dir, cycle->log)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
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
ngx_http_s3_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i, expiring;
    ngx_http_s3_main_conf_t    *smcf;
    ngx_http_s3_store_conf_t  **scp;

    if ((ngx_process != NGX_PROCESS_WORKER || ngx_worker != 0)
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_ingest_s3_module);
    if (smcf == NULL || smcf->stores.nelts == 0) {
        return NGX_OK;
    }

    scp = smcf->stores.elts;
    expiring = 0;

    for (i = 0; i < smcf->stores.nelts; i++) {
        if (scp[i]->expiration) {
            expiring = 1;
        }
    }

    if (!expiring) {
        return NGX_OK;
    }

    ngx_http_s3_cleanup_task = ngx_thread_task_alloc(cycle->pool,
                                               sizeof(ngx_http_s3_cleanup_t));
    if (ngx_http_s3_cleanup_task == NULL) {
        return NGX_ERROR;
    }

    ngx_http_s3_cleaner = ngx_http_s3_cleanup_task->ctx;
    ngx_http_s3_cleaner->smcf = smcf;

    ngx_http_s3_cleanup_task->handler = ngx_http_s3_cleanup_thread;
    ngx_http_s3_cleanup_task->event.handler = ngx_http_s3_cleanup_done;
    ngx_http_s3_cleanup_task->event.data = ngx_http_s3_cleaner;
    ngx_http_s3_cleanup_task->event.log = cycle->log;

    ngx_http_s3_cleanup_event.handler = ngx_http_s3_cleanup_timer;
    ngx_http_s3_cleanup_event.data = ngx_http_s3_cleaner;
    ngx_http_s3_cleanup_event.log = cycle->log;
    ngx_http_s3_cleanup_event.cancelable = 1;

    ngx_add_timer(&ngx_http_s3_cleanup_event, smcf->cleanup_interval);

    return NGX_OK;
}
