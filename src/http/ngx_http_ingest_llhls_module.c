
/*
 * Copyright (C) nginx video ingest developers
 *
 * LL-HLS origin (RFC 8216bis 6.2.5, 6.2.6) over a directory of files
 * written by the ffmpeg-worker: blocking playlist reloads (_HLS_msn,
 * _HLS_part), playlist delta updates (_HLS_skip) and preload hints.
 * The rules are the pure core's (src/core/ingest_llhls.c); this file
 * keeps per worker one inotify watch per directory, the parsed media
 * playlists of that directory, and the requests waiting on them.
 * Playlists are read again only when inotify says one was replaced;
 * a held request costs its context and a timer, and a client that goes
 * away releases it at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/inotify.h>

#include "ngx_http_ingest.h"
#include "ingest_llhls.h"


/* directories nobody asked about for this long are forgotten */
#define NGX_HTTP_LLHLS_IDLE         30000
#define NGX_HTTP_LLHLS_GC_INTERVAL  10000

#define NGX_HTTP_LLHLS_MAX_FILE     INGEST_LLHLS_MAX_SIZE


typedef struct {
    ngx_flag_t                  enable;
    ngx_str_t                   playlist_name;
    time_t                      playlist_max_age;
    time_t                      blocking_max_age;
    time_t                      segment_max_age;
    ngx_array_t                *cors_origins;
} ngx_http_llhls_loc_conf_t;


typedef struct {
    ngx_flag_t                  used;
} ngx_http_llhls_main_conf_t;


typedef struct ngx_http_llhls_dir_s  ngx_http_llhls_dir_t;


/* a media playlist of a watched directory, as last read */
typedef struct {
    ngx_queue_t                 queue;          /* in dir->playlists */
    ngx_http_llhls_dir_t       *dir;
    ngx_str_t                   name;
    u_char                     *buf;            /* malloc()ed */
    ingest_llhls_segment_t     *segs;           /* malloc()ed */
    ingest_llhls_playlist_t     model;
    uint64_t                    mtime;          /* us, of the file */
    ngx_queue_t                 waiters;        /* held playlist requests */
    ingest_llhls_rc_t           error;          /* of a broken file */
    unsigned                    loaded:1;
    unsigned                    valid:1;        /* model is usable */
    unsigned                    media:1;        /* 0: multivariant */
    unsigned                    broken:1;       /* exists, not usable */
} ngx_http_llhls_pl_t;


struct ngx_http_llhls_dir_s {
    ngx_queue_t                 queue;          /* in the worker's list */
    int                         wd;
    ngx_str_t                   path;           /* NUL-terminated */
    ngx_queue_t                 playlists;
    ngx_queue_t                 files;          /* held file requests */
    ngx_msec_t                  last_used;
};


typedef struct {
    ngx_http_request_t         *request;
    ngx_http_llhls_loc_conf_t  *conf;
    ngx_queue_t                 queue;          /* in waiters or files */
    ngx_event_t                 timer;
    ngx_http_llhls_pl_t        *pl;
    ngx_http_llhls_dir_t       *dir;
    ingest_llhls_request_t      req;
    ngx_str_t                   path;           /* of a held file */
    ngx_str_t                   name;           /* its name in dir */
    ngx_str_t                   origin;
    ngx_msec_t                  start;
    unsigned                    held:1;
    unsigned                    woken:1;
    unsigned                    file:1;
} ngx_http_llhls_ctx_t;


static ngx_int_t ngx_http_llhls_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_llhls_playlist(ngx_http_request_t *r,
    ngx_http_llhls_ctx_t *ctx, ngx_str_t *path);
static ngx_int_t ngx_http_llhls_missing(ngx_http_request_t *r,
    ngx_http_llhls_ctx_t *ctx, ngx_str_t *path);
static ngx_int_t ngx_http_llhls_serve_playlist(ngx_http_request_t *r,
    ngx_http_llhls_ctx_t *ctx, ngx_http_llhls_pl_t *pl, ngx_uint_t delta);
static ngx_int_t ngx_http_llhls_serve_file(ngx_http_request_t *r,
    ngx_http_llhls_ctx_t *ctx, ngx_str_t *path);
static ngx_int_t ngx_http_llhls_hold(ngx_http_request_t *r,
    ngx_http_llhls_ctx_t *ctx, ngx_queue_t *queue, ngx_msec_t timeout);
static void ngx_http_llhls_release(ngx_http_llhls_ctx_t *ctx);
static void ngx_http_llhls_timeout(ngx_event_t *ev);
static void ngx_http_llhls_cleanup(void *data);
static void ngx_http_llhls_answer(ngx_http_llhls_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_llhls_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason, ngx_uint_t metric);
static ngx_int_t ngx_http_llhls_headers(ngx_http_request_t *r,
    ngx_http_llhls_ctx_t *ctx, ngx_str_t *path, time_t max_age);

static ngx_http_llhls_dir_t *ngx_http_llhls_dir(ngx_http_request_t *r,
    ngx_str_t *path);
static ngx_int_t ngx_http_llhls_rewatch(ngx_http_llhls_dir_t *dir,
    ngx_http_request_t *r);
static ngx_http_llhls_pl_t *ngx_http_llhls_pl(ngx_http_llhls_dir_t *dir,
    ngx_str_t *name, ngx_log_t *log);
static ngx_int_t ngx_http_llhls_load(ngx_http_llhls_pl_t *pl,
    ngx_log_t *log);
static void ngx_http_llhls_changed(ngx_http_llhls_dir_t *dir,
    ngx_str_t *name, ngx_log_t *log);
static void ngx_http_llhls_observe(uint64_t mtime);
static void ngx_http_llhls_free_dir(ngx_http_llhls_dir_t *dir);
static void ngx_http_llhls_inotify_handler(ngx_event_t *ev);
static void ngx_http_llhls_gc(ngx_event_t *ev);

static void *ngx_http_llhls_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_llhls_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llhls_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_llhls(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_llhls_init_process(ngx_cycle_t *cycle);
static void ngx_http_llhls_exit_process(ngx_cycle_t *cycle);


/* this worker's watches */
static ngx_queue_t          ngx_http_llhls_dirs;
static ngx_connection_t    *ngx_http_llhls_inotify;
static ngx_event_t          ngx_http_llhls_gc_event;


static ngx_command_t  ngx_http_llhls_commands[] = {

    { ngx_string("llhls"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_llhls,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llhls_loc_conf_t, enable),
      NULL },

    { ngx_string("llhls_playlist_name"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llhls_loc_conf_t, playlist_name),
      NULL },

    { ngx_string("llhls_playlist_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llhls_loc_conf_t, playlist_max_age),
      NULL },

    { ngx_string("llhls_blocking_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llhls_loc_conf_t, blocking_max_age),
      NULL },

    { ngx_string("llhls_segment_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llhls_loc_conf_t, segment_max_age),
      NULL },

    { ngx_string("llhls_cors_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
      |NGX_CONF_1MORE,
      ngx_http_ingest_conf_set_cors,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llhls_loc_conf_t, cors_origins),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ingest_llhls_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_llhls_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llhls_create_loc_conf,        /* create location configuration */
    ngx_http_llhls_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_ingest_llhls_module = {
    NGX_MODULE_V1,
    &ngx_http_ingest_llhls_module_ctx,     /* module context */
    ngx_http_llhls_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_llhls_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_llhls_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_llhls_m3u8_type =
    ngx_string("application/vnd.apple.mpegurl");


/* Context: event loop */

static ngx_int_t
ngx_http_llhls_handler(ngx_http_request_t *r)
{
    u_char                     *last;
    size_t                      root;
    ngx_str_t                   path;
    ngx_uint_t                  i;
    ngx_list_part_t            *part;
    ngx_table_elt_t            *h;
    ngx_file_info_t             fi;
    ngx_pool_cleanup_t         *cln;
    ngx_http_llhls_ctx_t       *ctx;
    ngx_http_llhls_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_ingest_llhls_module);

    if (!llcf->enable) {
        return NGX_DECLINED;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r != r->main || r->uri.data[r->uri.len - 1] == '/') {
        return NGX_DECLINED;
    }

    last = ngx_http_map_uri_to_path(r, &path, &root, 0);
    if (last == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    path.len = last - path.data;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_llhls_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->conf = llcf;
    ctx->start = ngx_current_msec;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_llhls_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_ingest_llhls_module);

    if (llcf->cors_origins != NULL) {
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

            if (h[i].key.len == sizeof("Origin") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin", 6)
                   == 0)
            {
                ctx->origin = h[i].value;
                break;
            }
        }
    }

    if (path.len > 5
        && ngx_strncasecmp(last - 5, (u_char *) ".m3u8", 5) == 0)
    {
        return ngx_http_llhls_playlist(r, ctx, &path);
    }

    if (ngx_file_info(path.data, &fi) != NGX_FILE_ERROR) {
        /* the static module sends it, with our headers */

        if (ngx_http_llhls_headers(r, ctx, &path, llcf->segment_max_age)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DECLINED;
    }

    return ngx_http_llhls_missing(r, ctx, &path);
}


/* a playlist request. Context: event loop */

static ngx_int_t
ngx_http_llhls_playlist(ngx_http_request_t *r, ngx_http_llhls_ctx_t *ctx,
    ngx_str_t *path)
{
    ngx_str_t                 name;
    ingest_llhls_rc_t         rc;
    ngx_http_llhls_pl_t      *pl;
    ngx_http_llhls_dir_t     *dir;
    ingest_llhls_query_t      q;
    ngx_str_t                 msn, part, skip;

    dir = ngx_http_llhls_dir(r, path);
    if (dir == NULL) {
        return NGX_DECLINED;
    }

    name.data = path->data + dir->path.len + 1;
    name.len = path->len - dir->path.len - 1;

    pl = ngx_http_llhls_pl(dir, &name, r->connection->log);
    if (pl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!pl->loaded && ngx_http_llhls_load(pl, r->connection->log)
                       != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!pl->valid && pl->broken) {
        /* no usable version was ever read: never a static 200 for it */
        return ngx_http_llhls_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    ingest_llhls_reason(pl->error),
                                    NGX_HTTP_INGEST_M_LLHLS_BROKEN);
    }

    if (!pl->valid || !pl->media) {
        /* missing or multivariant: a static file */

        if (ngx_http_llhls_headers(r, ctx, path,
                                   ctx->conf->playlist_max_age)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DECLINED;
    }

    ngx_memzero(&q, sizeof(ingest_llhls_query_t));

    if (ngx_http_arg(r, (u_char *) "_HLS_msn", 8, &msn) == NGX_OK) {
        q.msn.data = msn.data;
        q.msn.len = msn.len;
    }

    if (ngx_http_arg(r, (u_char *) "_HLS_part", 9, &part) == NGX_OK) {
        q.part.data = part.data;
        q.part.len = part.len;
    }

    if (ngx_http_arg(r, (u_char *) "_HLS_skip", 9, &skip) == NGX_OK) {
        q.skip.data = skip.data;
        q.skip.len = skip.len;
    }

    rc = ingest_llhls_decide(&pl->model, &q, &ctx->req);

    switch (rc) {

    case INGEST_LLHLS_SERVE_FULL:
    case INGEST_LLHLS_SERVE_DELTA:
        return ngx_http_llhls_serve_playlist(r, ctx, pl,
                                         rc == INGEST_LLHLS_SERVE_DELTA);

    case INGEST_LLHLS_HOLD:
        ctx->pl = pl;
        ctx->dir = dir;

        return ngx_http_llhls_hold(r, ctx, &pl->waiters,
                                ingest_llhls_hold_timeout_ms(&pl->model));

    default:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llhls: \"%V?%V\": %s", &r->uri, &r->args,
                      ingest_llhls_reason(rc));

        return ngx_http_llhls_error(r, ingest_llhls_http_status(rc),
                                    ingest_llhls_reason(rc),
                                    NGX_HTTP_INGEST_M_LLHLS_BAD_REQUEST);
    }
}


/*
 * A file that is not there: a part the playlist hints waits for it,
 * anything else is 404.
 * Context: event loop
 */

static ngx_int_t
ngx_http_llhls_missing(ngx_http_request_t *r, ngx_http_llhls_ctx_t *ctx,
    ngx_str_t *path)
{
    ngx_str_t              name;
    ingest_llhls_rc_t      rc;
    ngx_http_llhls_pl_t   *pl;
    ngx_http_llhls_dir_t  *dir;

    dir = ngx_http_llhls_dir(r, path);
    if (dir == NULL) {
        return ngx_http_llhls_error(r, NGX_HTTP_NOT_FOUND, "no such file",
                                    NGX_HTTP_INGEST_M_LLHLS_NOT_FOUND);
    }

    pl = ngx_http_llhls_pl(dir, &ctx->conf->playlist_name,
                           r->connection->log);
    if (pl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!pl->loaded && ngx_http_llhls_load(pl, r->connection->log)
                       != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    name.data = path->data + dir->path.len + 1;
    name.len = path->len - dir->path.len - 1;

    rc = INGEST_LLHLS_UNKNOWN;

    if (pl->valid && pl->media) {
        rc = ingest_llhls_file(pl->buf, &pl->model, name.data, name.len);
    }

    if (rc != INGEST_LLHLS_PRELOAD_HINTED) {
        return ngx_http_llhls_error(r, NGX_HTTP_NOT_FOUND, "no such file",
                                    NGX_HTTP_INGEST_M_LLHLS_NOT_FOUND);
    }

    /* map_uri_to_path() left it NUL-terminated in the request pool */
    ctx->path = *path;
    ctx->name.data = ctx->path.data + dir->path.len + 1;
    ctx->name.len = name.len;
    ctx->file = 1;
    ctx->dir = dir;
    ctx->pl = pl;

    return ngx_http_llhls_hold(r, ctx, &dir->files,
                               ingest_llhls_hold_timeout_ms(&pl->model));
}


/* Context: event loop */

static ngx_int_t
ngx_http_llhls_serve_playlist(ngx_http_request_t *r,
    ngx_http_llhls_ctx_t *ctx, ngx_http_llhls_pl_t *pl, ngx_uint_t delta)
{
    size_t        len;
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_uint_t    m;
    ngx_chain_t   out;

    len = 0;

    if (delta) {
        len = ingest_llhls_delta(pl->buf, &pl->model, NULL, 0);
    }

    if (len == 0) {
        delta = 0;
        len = pl->model.len;
    }

    /* a copy: the playlist may be replaced while this one is sent */

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (delta) {
        (void) ingest_llhls_delta(pl->buf, &pl->model, p, len);

    } else {
        ngx_memcpy(p, pl->buf, len);
    }

    if (ngx_http_llhls_headers(r, ctx, NULL,
                               ctx->req.block ? ctx->conf->blocking_max_age
                                              : ctx->conf->playlist_max_age)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    m = delta ? NGX_HTTP_INGEST_M_LLHLS_DELTA
              : (ctx->woken ? NGX_HTTP_INGEST_M_LLHLS_BLOCKED
                            : NGX_HTTP_INGEST_M_LLHLS_FULL);

    ngx_http_ingest_metric_add(m, 1);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type = ngx_http_llhls_m3u8_type;
    r->headers_out.content_type_len = ngx_http_llhls_m3u8_type.len;
    r->headers_out.last_modified_time = -1;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = p;
    b->last = p + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* a file that appeared while its request waited. Context: event loop */

static ngx_int_t
ngx_http_llhls_serve_file(ngx_http_request_t *r, ngx_http_llhls_ctx_t *ctx,
    ngx_str_t *path)
{
    ngx_fd_t                  fd;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_chain_t               out;
    ngx_file_info_t           fi;
    ngx_pool_cleanup_t       *cln;
    ngx_pool_cleanup_file_t  *clnf;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        return ngx_http_llhls_error(r, NGX_HTTP_NOT_FOUND, "no such file",
                                    NGX_HTTP_INGEST_M_LLHLS_NOT_FOUND);
    }

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = path->data;
    clnf->log = r->pool->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_llhls_headers(r, ctx, path, ctx->conf->segment_max_age)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_LLHLS_HINTED, 1);

    if (ctx->woken) {
        ngx_http_llhls_observe((uint64_t) ngx_file_mtime(&fi) * 1000000
                               + fi.st_mtim.tv_nsec / 1000);
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = ngx_file_size(&fi);
    r->headers_out.last_modified_time = ngx_file_mtime(&fi);

    if (r->method == NGX_HTTP_HEAD || ngx_file_size(&fi) == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->file->fd = fd;
    b->file->name = *path;
    b->file->log = r->connection->log;
    b->file_pos = 0;
    b->file_last = ngx_file_size(&fi);
    b->in_file = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* Context: event loop */

static ngx_int_t
ngx_http_llhls_hold(ngx_http_request_t *r, ngx_http_llhls_ctx_t *ctx,
    ngx_queue_t *queue, ngx_msec_t timeout)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_queue_insert_tail(queue, &ctx->queue);

    ctx->held = 1;
    ctx->timer.handler = ngx_http_llhls_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;

    ngx_add_timer(&ctx->timer, timeout);

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_LLHLS_HELD, 1);

    /* a client that goes away finalizes the request: see the cleanup */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_llhls_release(ngx_http_llhls_ctx_t *ctx)
{
    if (!ctx->held) {
        return;
    }

    ctx->held = 0;
    ngx_queue_remove(&ctx->queue);

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_LLHLS_HELD, -1);
}


/* Context: event loop */

static void
ngx_http_llhls_timeout(ngx_event_t *ev)
{
    ngx_http_llhls_ctx_t  *ctx = ev->data;

    ngx_http_request_t  *r;

    r = ctx->request;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llhls: \"%V?%V\" not ready after %M ms",
                  &r->uri, &r->args, ngx_current_msec - ctx->start);

    ngx_http_llhls_release(ctx);

    ngx_http_llhls_answer(ctx,
                          ngx_http_llhls_error(r,
                              NGX_HTTP_SERVICE_UNAVAILABLE,
                              "not available yet, ask again",
                              NGX_HTTP_INGEST_M_LLHLS_TIMEOUT));
}


/* Context: event loop, request pool cleanup */

static void
ngx_http_llhls_cleanup(void *data)
{
    ngx_http_llhls_ctx_t  *ctx = data;

    ngx_http_llhls_release(ctx);
}


/* finishes a held request from outside its handler */

static void
ngx_http_llhls_answer(ngx_http_llhls_ctx_t *ctx, ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_llhls_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason, ngx_uint_t metric)
{
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    ngx_http_ingest_metric_add(metric, 1);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (r->connection->error) {
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
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

    if (ngx_http_ingest_add_header(r, "Cache-Control", (u_char *) "no-cache",
                                   sizeof("no-cache") - 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * Cache-Control, CORS and the media types nginx's mime.types lacks.
 * path NULL: a playlist built here.
 */

static ngx_int_t
ngx_http_llhls_headers(ngx_http_request_t *r, ngx_http_llhls_ctx_t *ctx,
    ngx_str_t *path, time_t max_age)
{
    u_char  *p, *last;

    if (ngx_http_ingest_cors(r, ctx->conf->cors_origins, &ctx->origin,
                             "Content-Length, Age")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("public, max-age=, immutable")
                             + NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (path == NULL
        || (path->len > 5
            && ngx_strncasecmp(path->data + path->len - 5,
                               (u_char *) ".m3u8", 5) == 0))
    {
        last = ngx_sprintf(p, "public, max-age=%T", max_age);

        if (path != NULL) {
            r->headers_out.content_type = ngx_http_llhls_m3u8_type;
            r->headers_out.content_type_len = ngx_http_llhls_m3u8_type.len;
        }

    } else {
        last = ngx_sprintf(p, "public, max-age=%T, immutable", max_age);

        if (path->len > 4
            && ngx_strncasecmp(path->data + path->len - 4,
                               (u_char *) ".m4s", 4) == 0)
        {
            ngx_str_set(&r->headers_out.content_type, "video/iso.segment");

        } else if (path->len > 4
                   && ngx_strncasecmp(path->data + path->len - 4,
                                      (u_char *) ".mp4", 4) == 0)
        {
            ngx_str_set(&r->headers_out.content_type, "video/mp4");

        } else if (path->len > 4
                   && ngx_strncasecmp(path->data + path->len - 4,
                                      (u_char *) ".m4a", 4) == 0)
        {
            ngx_str_set(&r->headers_out.content_type, "audio/mp4");

        } else if (path->len > 3
                   && ngx_strncasecmp(path->data + path->len - 3,
                                      (u_char *) ".ts", 3) == 0)
        {
            ngx_str_set(&r->headers_out.content_type, "video/mp2t");
        }

        r->headers_out.content_type_len = r->headers_out.content_type.len;
    }

    return ngx_http_ingest_add_header(r, "Cache-Control", p, last - p);
}


/*
 * The watched directory of a file path (watching it on first use);
 * NULL when it cannot be watched (no such directory).
 * Context: event loop
 */

static ngx_http_llhls_dir_t *
ngx_http_llhls_dir(ngx_http_request_t *r, ngx_str_t *path)
{
    int                    wd;
    u_char                *slash;
    size_t                 len;
    ngx_queue_t           *q;
    ngx_http_llhls_dir_t  *dir, *other;

    slash = NULL;

    for (len = path->len; len > 0; len--) {
        if (path->data[len - 1] == '/') {
            slash = &path->data[len - 1];
            break;
        }
    }

    if (slash == NULL || slash == path->data) {
        return NULL;
    }

    len = slash - path->data;

    for (q = ngx_queue_head(&ngx_http_llhls_dirs);
         q != ngx_queue_sentinel(&ngx_http_llhls_dirs);
         q = ngx_queue_next(q))
    {
        dir = ngx_queue_data(q, ngx_http_llhls_dir_t, queue);

        if (dir->path.len == len
            && ngx_strncmp(dir->path.data, path->data, len) == 0)
        {
            if (dir->wd == -1 && ngx_http_llhls_rewatch(dir, r) != NGX_OK) {
                return NULL;
            }

            dir->last_used = ngx_current_msec;
            return dir;
        }
    }

    if (ngx_http_llhls_inotify == NULL) {
        return NULL;
    }

    dir = ngx_calloc(sizeof(ngx_http_llhls_dir_t) + len + 1,
                     r->connection->log);
    if (dir == NULL) {
        return NULL;
    }

    dir->path.data = (u_char *) &dir[1];
    dir->path.len = len;
    ngx_memcpy(dir->path.data, path->data, len);
    dir->path.data[len] = '\0';

    /* parts, segments and playlists arrive by rename */

    wd = inotify_add_watch(ngx_http_llhls_inotify->fd,
                           (char *) dir->path.data,
                           IN_MOVED_TO|IN_CLOSE_WRITE|IN_DELETE_SELF
                           |IN_MOVE_SELF|IN_ONLYDIR);
    if (wd == -1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, ngx_errno,
                      "llhls: inotify_add_watch(\"%s\") failed",
                      dir->path.data);
        ngx_free(dir);
        return NULL;
    }

    /* two paths to one directory share one watch descriptor */

    for (q = ngx_queue_head(&ngx_http_llhls_dirs);
         q != ngx_queue_sentinel(&ngx_http_llhls_dirs);
         q = ngx_queue_next(q))
    {
        other = ngx_queue_data(q, ngx_http_llhls_dir_t, queue);

        if (other->wd == wd) {
            /* another path to a watched directory: its files are named
               relative to the first path, so this one is not held */
            ngx_free(dir);
            return NULL;
        }
    }

    dir->wd = wd;
    dir->last_used = ngx_current_msec;
    ngx_queue_init(&dir->playlists);
    ngx_queue_init(&dir->files);
    ngx_queue_insert_tail(&ngx_http_llhls_dirs, &dir->queue);

    return dir;
}


/*
 * A watched directory that was removed or replaced (a new live session
 * of a stream) is watched again, and its playlists read again.
 */

static ngx_int_t
ngx_http_llhls_rewatch(ngx_http_llhls_dir_t *dir, ngx_http_request_t *r)
{
    int                   wd;
    ngx_queue_t          *q;
    ngx_http_llhls_pl_t  *pl;

    wd = inotify_add_watch(ngx_http_llhls_inotify->fd,
                           (char *) dir->path.data,
                           IN_MOVED_TO|IN_CLOSE_WRITE|IN_DELETE_SELF
                           |IN_MOVE_SELF|IN_ONLYDIR);
    if (wd == -1) {
        return NGX_ERROR;
    }

    dir->wd = wd;

    for (q = ngx_queue_head(&dir->playlists);
         q != ngx_queue_sentinel(&dir->playlists);
         q = ngx_queue_next(q))
    {
        pl = ngx_queue_data(q, ngx_http_llhls_pl_t, queue);
        pl->loaded = 0;
    }

    return NGX_OK;
}


/* a playlist of a directory, known or new (not read yet) */

static ngx_http_llhls_pl_t *
ngx_http_llhls_pl(ngx_http_llhls_dir_t *dir, ngx_str_t *name,
    ngx_log_t *log)
{
    ngx_queue_t          *q;
    ngx_http_llhls_pl_t  *pl;

    for (q = ngx_queue_head(&dir->playlists);
         q != ngx_queue_sentinel(&dir->playlists);
         q = ngx_queue_next(q))
    {
        pl = ngx_queue_data(q, ngx_http_llhls_pl_t, queue);

        if (pl->name.len == name->len
            && ngx_strncmp(pl->name.data, name->data, name->len) == 0)
        {
            return pl;
        }
    }

    pl = ngx_calloc(sizeof(ngx_http_llhls_pl_t) + name->len, log);
    if (pl == NULL) {
        return NULL;
    }

    pl->dir = dir;
    pl->name.data = (u_char *) &pl[1];
    pl->name.len = name->len;
    ngx_memcpy(pl->name.data, name->data, name->len);
    ngx_queue_init(&pl->waiters);
    ngx_queue_insert_tail(&dir->playlists, &pl->queue);

    return pl;
}


/*
 * Reads and parses a playlist. A playlist that cannot be read or
 * parsed keeps its previous model; a missing one has none. Returns
 * NGX_ERROR only on memory allocation failures.
 * Context: event loop (playlists are small files in the page cache)
 */

static ngx_int_t
ngx_http_llhls_load(ngx_http_llhls_pl_t *pl, ngx_log_t *log)
{
    u_char                  *buf, *p, *end;
    size_t                   n;
    ssize_t                  got;
    ngx_fd_t                 fd;
    ngx_err_t                err;
    ngx_file_info_t          fi;
    ingest_llhls_rc_t        rc;
    ingest_llhls_segment_t  *segs;
    ingest_llhls_playlist_t  model;
    u_char                   path[NGX_MAX_PATH];

    pl->loaded = 1;

    if (pl->dir->path.len + 1 + pl->name.len + 1 > NGX_MAX_PATH) {
        pl->valid = 0;
        return NGX_OK;
    }

    *ngx_snprintf(path, sizeof(path) - 1, "%V/%V", &pl->dir->path, &pl->name)
        = '\0';

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        err = ngx_errno;

        if (err != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_ERR, log, err,
                          "llhls: open(\"%s\") failed", path);
        }

        pl->valid = 0;
        pl->broken = 0;
        return NGX_OK;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_LLHLS_MAX_FILE)
    {
        (void) ngx_close_file(fd);
        pl->valid = 0;
        return NGX_OK;
    }

    n = (size_t) ngx_file_size(&fi);

    buf = ngx_alloc(n + 1, log);
    if (buf == NULL) {
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    got = pread(fd, buf, n, 0);

    (void) ngx_close_file(fd);

    if (got != (ssize_t) n) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "llhls: reading \"%s\" failed", path);
        ngx_free(buf);
        return NGX_OK;
    }

    /* one segment array entry per EXTINF */

    segs = NULL;
    n = 1;
    end = buf + got;

    for (p = buf; p < end; p++) {
        if (*p == '#' && end - p >= 7 && ngx_strncmp(p, "#EXTINF", 7) == 0) {
            n++;
        }
    }

    if (n > INGEST_LLHLS_MAX_SEGMENTS) {
        n = INGEST_LLHLS_MAX_SEGMENTS;
    }

    segs = ngx_alloc(n * sizeof(ingest_llhls_segment_t), log);
    if (segs == NULL) {
        ngx_free(buf);
        return NGX_ERROR;
    }

    rc = ingest_llhls_parse(buf, got, &model, segs, n);

    if (rc == INGEST_LLHLS_NOT_MEDIA) {
        /* a multivariant playlist: served as a static file */
        ngx_free(buf);
        ngx_free(segs);
        pl->valid = 1;
        pl->media = 0;
        pl->broken = 0;
        return NGX_OK;
    }

    if (rc != INGEST_LLHLS_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "llhls: \"%s\" at byte %uz: %s%s", path,
                      model.err_off, ingest_llhls_reason(rc),
                      pl->valid ? ", the previous version stays" : "");
        ngx_free(buf);
        ngx_free(segs);
        pl->broken = 1;
        pl->error = rc;
        return NGX_OK;
    }

    ngx_free(pl->buf);
    ngx_free(pl->segs);

    pl->buf = buf;
    pl->segs = segs;
    pl->model = model;
    pl->model.segments = segs;
    pl->mtime = (uint64_t) fi.st_mtim.tv_sec * 1000000
                + fi.st_mtim.tv_nsec / 1000;
    pl->valid = 1;
    pl->media = 1;
    pl->broken = 0;

    return NGX_OK;
}


/*
 * A file of a watched directory was renamed into place or written:
 * playlists are read again and their waiters answered, a waited-for
 * file is served.
 * Context: event loop
 */

static void
ngx_http_llhls_changed(ngx_http_llhls_dir_t *dir, ngx_str_t *name,
    ngx_log_t *log)
{
    ngx_queue_t           *q, *next;
    ingest_llhls_rc_t      rc;
    ngx_http_llhls_pl_t   *pl;
    ngx_http_llhls_ctx_t  *ctx;

    for (q = ngx_queue_head(&dir->files);
         q != ngx_queue_sentinel(&dir->files);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_llhls_ctx_t, queue);

        if (ctx->name.len == name->len
            && ngx_strncmp(ctx->name.data, name->data, name->len) == 0)
        {
            ngx_http_llhls_release(ctx);
            ctx->woken = 1;
            ngx_http_llhls_answer(ctx,
                      ngx_http_llhls_serve_file(ctx->request, ctx,
                                                &ctx->path));
        }
    }

    for (q = ngx_queue_head(&dir->playlists);
         q != ngx_queue_sentinel(&dir->playlists);
         q = ngx_queue_next(q))
    {
        pl = ngx_queue_data(q, ngx_http_llhls_pl_t, queue);

        if (pl->name.len == name->len
            && ngx_strncmp(pl->name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (q == ngx_queue_sentinel(&dir->playlists)) {
        return;
    }

    if (ngx_http_llhls_load(pl, log) != NGX_OK || !pl->valid || !pl->media) {
        return;
    }

    for (q = ngx_queue_head(&pl->waiters);
         q != ngx_queue_sentinel(&pl->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_llhls_ctx_t, queue);

        rc = ingest_llhls_ready(&pl->model, &ctx->req);

        if (rc != INGEST_LLHLS_SERVE_FULL && rc != INGEST_LLHLS_SERVE_DELTA) {
            continue;
        }

        ngx_http_llhls_release(ctx);
        ctx->woken = 1;
        ngx_http_llhls_observe(pl->mtime);
        ngx_http_llhls_answer(ctx,
                  ngx_http_llhls_serve_playlist(ctx->request, ctx, pl,
                                            rc == INGEST_LLHLS_SERVE_DELTA));
    }

    if (pl->name.len != name->len) {
        return;
    }

    /* the default playlist changed: hints the files wait for may be gone */

    for (q = ngx_queue_head(&dir->files);
         q != ngx_queue_sentinel(&dir->files);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_llhls_ctx_t, queue);

        if (ctx->pl != pl
            || ingest_llhls_file(pl->buf, &pl->model, ctx->name.data,
                                 ctx->name.len)
               == INGEST_LLHLS_PRELOAD_HINTED)
        {
            continue;
        }

        ngx_http_llhls_release(ctx);

        /* listed meanwhile: its rename may have come before the playlist */
        ngx_http_llhls_answer(ctx,
                  ngx_http_llhls_serve_file(ctx->request, ctx, &ctx->path));
    }
}


/*
 * Wake-up delay of one answer: from the write of the file that woke it
 * (its mtime, us) to now. The kernel's file times are coarse (a jiffy),
 * so short delays carry a few milliseconds of noise.
 */

static void
ngx_http_llhls_observe(uint64_t mtime)
{
    uint64_t         now;
    struct timespec  ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) == -1) {
        return;
    }

    now = (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;

    ngx_http_ingest_metric_observe(NGX_HTTP_INGEST_M_LLHLS_WAKEUP_DELAY,
                                   now > mtime ? now - mtime : 0);
}


static void
ngx_http_llhls_free_dir(ngx_http_llhls_dir_t *dir)
{
    ngx_queue_t          *q;
    ngx_http_llhls_pl_t  *pl;

    while (!ngx_queue_empty(&dir->playlists)) {
        q = ngx_queue_head(&dir->playlists);
        pl = ngx_queue_data(q, ngx_http_llhls_pl_t, queue);
        ngx_queue_remove(q);
        ngx_free(pl->buf);
        ngx_free(pl->segs);
        ngx_free(pl);
    }

    ngx_queue_remove(&dir->queue);
    ngx_free(dir);
}


/* Context: event loop */

static void
ngx_http_llhls_inotify_handler(ngx_event_t *ev)
{
    u_char                   *p, *last;
    ssize_t                   n;
    ngx_str_t                 name;
    ngx_queue_t              *q;
    ngx_connection_t         *c;
    ngx_http_llhls_dir_t     *dir;
    struct inotify_event     *ie;
    uint64_t                  events[2048];     /* aligned for them */

    c = ev->data;

    for ( ;; ) {
        n = read(c->fd, events, sizeof(events));

        if (n == -1) {
            if (ngx_errno == NGX_EAGAIN || ngx_errno == NGX_EINTR) {
                break;
            }

            ngx_log_error(NGX_LOG_ALERT, ev->log, ngx_errno,
                          "llhls: read() of inotify events failed");
            break;
        }

        if (n == 0) {
            break;
        }

        p = (u_char *) events;
        last = p + n;

        while (p < last) {
            ie = (struct inotify_event *) p;
            p += sizeof(struct inotify_event) + ie->len;

            for (q = ngx_queue_head(&ngx_http_llhls_dirs);
                 q != ngx_queue_sentinel(&ngx_http_llhls_dirs);
                 q = ngx_queue_next(q))
            {
                dir = ngx_queue_data(q, ngx_http_llhls_dir_t, queue);

                if (dir->wd == ie->wd) {
                    break;
                }
            }

            if (q == ngx_queue_sentinel(&ngx_http_llhls_dirs)) {
                continue;
            }

            if (ie->mask & (IN_DELETE_SELF|IN_MOVE_SELF|IN_IGNORED)) {
                /* held requests time out; the next request watches anew */
                dir->wd = -1;
                continue;
            }

            if (ie->len == 0) {
                continue;
            }

            name.data = (u_char *) ie->name;
            name.len = ngx_strlen(ie->name);

            ngx_http_llhls_changed(dir, &name, ev->log);
        }
    }

    if (ngx_handle_read_event(ev, 0) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "llhls: cannot watch inotify events");
    }
}


/* directories nobody uses any more are forgotten. Context: event loop */

static void
ngx_http_llhls_gc(ngx_event_t *ev)
{
    ngx_queue_t           *q, *next;
    ngx_http_llhls_pl_t   *pl;
    ngx_http_llhls_dir_t  *dir;

    for (q = ngx_queue_head(&ngx_http_llhls_dirs);
         q != ngx_queue_sentinel(&ngx_http_llhls_dirs);
         q = next)
    {
        next = ngx_queue_next(q);
        dir = ngx_queue_data(q, ngx_http_llhls_dir_t, queue);

        if (!ngx_queue_empty(&dir->files)) {
            continue;
        }

        if (dir->wd != -1
            && ngx_current_msec - dir->last_used < NGX_HTTP_LLHLS_IDLE)
        {
            continue;
        }

        for (q = ngx_queue_head(&dir->playlists);
             q != ngx_queue_sentinel(&dir->playlists);
             q = ngx_queue_next(q))
        {
            pl = ngx_queue_data(q, ngx_http_llhls_pl_t, queue);

            if (!ngx_queue_empty(&pl->waiters)) {
                break;
            }
        }

        if (q != ngx_queue_sentinel(&dir->playlists)) {
            continue;
        }

        if (dir->wd != -1) {
            (void) inotify_rm_watch(ngx_http_llhls_inotify->fd, dir->wd);
        }

        ngx_http_llhls_free_dir(dir);
    }

    ngx_add_timer(ev, NGX_HTTP_LLHLS_GC_INTERVAL);
}


static void *
ngx_http_llhls_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_llhls_main_conf_t));
}


static void *
ngx_http_llhls_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llhls_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llhls_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->playlist_name = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->playlist_max_age = NGX_CONF_UNSET;
    conf->blocking_max_age = NGX_CONF_UNSET;
    conf->segment_max_age = NGX_CONF_UNSET;
    conf->cors_origins = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_llhls_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llhls_loc_conf_t *prev = parent;
    ngx_http_llhls_loc_conf_t *conf = child;

    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 0;
    }

    ngx_conf_merge_str_value(conf->playlist_name, prev->playlist_name,
                             "index.m3u8");
    ngx_conf_merge_value(conf->playlist_max_age, prev->playlist_max_age, 1);
    ngx_conf_merge_value(conf->blocking_max_age, prev->blocking_max_age, 60);
    ngx_conf_merge_value(conf->segment_max_age, prev->segment_max_age,
                         86400);
    ngx_conf_merge_ptr_value(conf->cors_origins, prev->cors_origins, NULL);

    if (ngx_strlchr(conf->playlist_name.data,
                    conf->playlist_name.data + conf->playlist_name.len, '/')
        != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llhls_playlist_name\" is a file name, "
                           "without \"/\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_llhls(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llhls_loc_conf_t *llcf = conf;

    char                        *rv;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_llhls_main_conf_t  *lmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (llcf->enable) {
        if (ngx_http_tus_enabled(cf) || ngx_http_ingest_s3_enabled(cf)) {
            return "cannot be used with \"tus\" or \"ingest_s3\" in one "
                   "location";
        }

        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->handler = ngx_http_llhls_handler;

        lmcf = ngx_http_conf_get_module_main_conf(cf,
                                                ngx_http_ingest_llhls_module);
        lmcf->used = 1;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llhls_init_process(ngx_cycle_t *cycle)
{
    int                          fd;
    ngx_connection_t            *c;
    ngx_http_llhls_main_conf_t  *lmcf;

    ngx_queue_init(&ngx_http_llhls_dirs);

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_ingest_llhls_module);
    if (lmcf == NULL || !lmcf->used) {
        return NGX_OK;
    }

    fd = inotify_init1(IN_NONBLOCK|IN_CLOEXEC);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "llhls: inotify_init1() failed");
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    c->data = c;
    c->read->data = c;
    c->read->handler = ngx_http_llhls_inotify_handler;
    c->read->log = cycle->log;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    ngx_http_llhls_inotify = c;

    ngx_http_llhls_gc_event.handler = ngx_http_llhls_gc;
    ngx_http_llhls_gc_event.log = cycle->log;
    ngx_http_llhls_gc_event.cancelable = 1;

    ngx_add_timer(&ngx_http_llhls_gc_event, NGX_HTTP_LLHLS_GC_INTERVAL);

    return NGX_OK;
}


static void
ngx_http_llhls_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t           *q;
    ngx_http_llhls_dir_t  *dir;

    if (ngx_http_llhls_inotify == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_llhls_dirs)) {
        q = ngx_queue_head(&ngx_http_llhls_dirs);
        dir = ngx_queue_data(q, ngx_http_llhls_dir_t, queue);
        ngx_http_llhls_free_dir(dir);
    }

    ngx_close_connection(ngx_http_llhls_inotify);
    ngx_http_llhls_inotify = NULL;
}
