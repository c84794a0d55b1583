
/*
 * Copyright (C) nginx video ingest developers
 */


#ifndef _NGX_HTTP_INGEST_H_INCLUDED_
#define _NGX_HTTP_INGEST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ingest_core.h"
#include "ingest_record.h"
#include "ingest_token.h"
#include "ngx_ingest_metrics.h"


/* the thread pool for module-level background work ("default") */
ngx_thread_pool_t *ngx_http_ingest_thread_pool(void);


/*
 * Per-subject quotas in the shared zone: open (unfinished) uploads and
 * the bytes they declared. reserve returns NGX_OK, NGX_DECLINED with
 * *which set to the exceeded quota ("bytes" / "uploads"), or NGX_ERROR
 * when the zone is full. A limit of 0 means none.
 */
ngx_int_t ngx_http_ingest_quota_reserve(ngx_str_t *sub, off_t bytes,
    ngx_uint_t uploads, off_t max_bytes, ngx_uint_t max_uploads,
    const char **which);
void ngx_http_ingest_quota_release(ngx_str_t *sub, off_t bytes,
    ngx_uint_t uploads);
/* usage of a subject (for tests and logs) */
ngx_int_t ngx_http_ingest_quota_usage(ngx_str_t *sub, off_t *bytes,
    ngx_uint_t *uploads);


/* the result of the access-phase token check, on r->main */
typedef struct {
    ingest_token_claims_t  claims;
    ngx_str_t              sub;
    ngx_int_t              status;          /* ingest_token_rc_t */
    time_t                 session_idle;
    time_t                 session_max;
    unsigned               session:1;       /* expired: upload session only */
    unsigned               missing:1;
    unsigned               rejected:1;
} ngx_http_ingest_auth_t;

/* NULL when the location does not check tokens */
ngx_http_ingest_auth_t *ngx_http_ingest_auth(ngx_http_request_t *r);

/* whether "tus on" / "ingest_s3 on" is set in the location configured */
ngx_flag_t ngx_http_tus_enabled(ngx_conf_t *cf);
ngx_flag_t ngx_http_ingest_s3_enabled(ngx_conf_t *cf);


/*
 * Store: thread-side file operations. They use plain POSIX calls, no
 * pools and no logging; failures come back as errno plus the name of
 * the failed step, logged by the caller in the event loop.
 */

typedef struct {
    int                  err;          /* errno, 0 on success */
    const char          *step;         /* failed operation, for the log */
} ngx_http_ingest_err_t;

#define ngx_http_ingest_set_err(e, s)                                         \
    do { (e)->err = errno; (e)->step = (s); } while (0)


/* path of "<dir>/<id><suffix>" into buf (NUL-terminated) */
u_char *ngx_http_ingest_path(u_char *buf, size_t size, ngx_str_t *dir,
    u_char *id, const char *suffix);

/*
 * Reads a whole small file into a malloc()ed buffer (free() it).
 * Returns the buffer or NULL with e set (ENOENT when missing, EFBIG
 * when above max).
 */
u_char *ngx_http_ingest_read_small(const char *path, size_t max,
    size_t *len, ngx_http_ingest_err_t *e);

/*
 * write-temp + rename; tmp_path NULL means "<path>.<pid>.tmp"; when sync
 * is set the temp file is fdatasync()ed before the rename
 */
ngx_int_t ngx_http_ingest_write_atomic(const char *path, const char *tmp_path,
    const u_char *data, size_t len, ngx_uint_t sync, ngx_http_ingest_err_t *e);

/*
 * Open-file-description write lock on the whole file: NGX_OK,
 * NGX_BUSY when held elsewhere, NGX_ERROR (e set). With wait set the
 * call blocks (thread context only).
 */
ngx_int_t ngx_http_ingest_lock(ngx_fd_t fd, ngx_uint_t wait,
    ngx_http_ingest_err_t *e);

/* a shared (read) OFD lock, not waiting: NGX_OK, NGX_BUSY, NGX_ERROR */
ngx_int_t ngx_http_ingest_lock_shared(ngx_fd_t fd, ngx_http_ingest_err_t *e);

/* pwrite() all of it or fail */
ngx_int_t ngx_http_ingest_pwrite(ngx_fd_t fd, const u_char *buf, size_t len,
    off_t offset, ngx_http_ingest_err_t *e);

/*
 * Copies len bytes of src at src_offset into dst at offset
 * (copy_file_range, then read/write).
 */
ngx_int_t ngx_http_ingest_copy(ngx_fd_t dst, off_t offset, ngx_fd_t src,
    off_t src_offset, off_t len, ngx_http_ingest_err_t *e);

/* creates dir (and parents) owned by the worker user, at start-up */
ngx_int_t ngx_http_ingest_create_dir(ngx_cycle_t *cycle, ngx_str_t *dir,
    ngx_log_t *log);

/* a spool directory with its incoming/ and tmp/, at start-up */
ngx_int_t ngx_http_ingest_create_spool(ngx_cycle_t *cycle, ngx_str_t *spool,
    ngx_log_t *log);


/*
 * Request bodies (tus and S3) go to disk through two write buffers of
 * NGX_HTTP_INGEST_ALIGN-aligned memory per request. buf_get and buf_put
 * keep a few freed buffers per worker (event loop only).
 */

#define NGX_HTTP_INGEST_ALIGN  4096

u_char *ngx_http_ingest_buf_get(size_t size, ngx_log_t *log);
void ngx_http_ingest_buf_put(u_char *p, size_t size);

/*
 * The body pump of tus PATCHes and S3 parts: request body data is copied
 * into two aligned write buffers; a full one goes to the module's flush
 * (which hands it to the thread pool and sets write_buf), and reading
 * pauses while both are busy. The module resumes the pump when a write
 * is done (ngx_http_ingest_body_read() again).
 */

typedef struct {
    u_char                     *buf;            /* NULL: not yet */
    u_char                     *pos;
    u_char                     *last;
    u_char                     *end;
    uint64_t                    offset;         /* tus: file offset of pos */
} ngx_http_ingest_wbuf_t;

typedef struct ngx_http_ingest_body_s  ngx_http_ingest_body_t;

typedef void (*ngx_http_ingest_body_pt)(ngx_http_request_t *r, void *data);
typedef void (*ngx_http_ingest_reset_pt)(void *data,
    ngx_http_ingest_wbuf_t *wb);

struct ngx_http_ingest_body_s {
    ngx_http_ingest_wbuf_t      wbuf[2];
    ngx_http_ingest_wbuf_t     *write_buf;      /* the one in the thread */
    ngx_uint_t                  fill;           /* the one filling */
    size_t                      size;           /* of a buffer */
    uint64_t                    limit;          /* bytes it may take */
    uint64_t                    received;
    ngx_int_t                   rc;             /* reading failed with */

    ngx_http_ingest_body_pt     flush;          /* the module's */
    ngx_http_ingest_reset_pt    reset;          /* a buffer starts */
    void                       *data;           /* their ctx */

    unsigned                    done:1;         /* no more reading */
    unsigned                    write_failed:1;
    unsigned                    too_much:1;     /* past limit */
    unsigned                    blocked_on_disk:1;
};

/*
 * Moves what was read into the write buffers and reads on until the body
 * ends (done, then flush), fails, or both buffers are busy.
 * Context: event loop
 */
void ngx_http_ingest_body_read(ngx_http_request_t *r,
    ngx_http_ingest_body_t *body);

/* the buffers back to the per-worker free list */
void ngx_http_ingest_body_free(ngx_http_ingest_body_t *body);


/*
 * Writes len bytes at off: the whole pages through *dfd (O_DIRECT, p
 * aligned like off) when it is open, the rest through fd. A filesystem
 * that refuses O_DIRECT gets *dfd closed and set to NGX_INVALID_FILE.
 * Context: thread pool
 */
ngx_int_t ngx_http_ingest_write_direct(ngx_fd_t fd, ngx_fd_t *dfd,
    const u_char *p, size_t len, off_t off, ngx_http_ingest_err_t *e);


/* where completed uploads are handed to the transcode worker */
typedef struct {
    ngx_str_t                spool;
    ngx_str_t                profile;
    ngx_str_t                webhook;
} ngx_http_ingest_job_conf_t;

/*
 * Writes "<spool>/incoming/<id>.json" (via <spool>/tmp/) for the data
 * file data_path of rec, protocol "tus" or "s3".
 * Context: thread pool
 */
ngx_int_t ngx_http_ingest_write_job(ngx_http_ingest_job_conf_t *jc,
    const char *protocol, u_char *id, const char *data_path,
    ingest_record_t *rec, uint64_t size, ngx_http_ingest_err_t *e);


/* event loop helpers shared by the tus and S3 handlers */

/* a new upload or object id: INGEST_ID_LEN hex digits of 128 random bits */
ngx_int_t ngx_http_ingest_new_id(u_char *id, ngx_log_t *log);

ngx_int_t ngx_http_ingest_add_header(ngx_http_request_t *r,
    const char *name, u_char *value, size_t len);

/*
 * CORS for an actual request. With "*" among origins: always
 * Access-Control-Allow-Origin: * and -Expose-Headers (expose), whether
 * the request has an Origin or not, so that a cache may serve the
 * response to anyone. Otherwise always Vary: Origin, and the two
 * headers when origin (may be NULL or empty) is in the list.
 */
ngx_int_t ngx_http_ingest_cors(ngx_http_request_t *r, ngx_array_t *origins,
    ngx_str_t *origin, const char *expose);

/*
 * A request that waits for a thread task has no timer of its own, and a
 * worker that is shutting down (reload, binary upgrade) exits once no
 * timer is left, cutting the upload. keep_worker arms a non-cancelable
 * timer on ev (zeroed memory of the request) while the task runs;
 * release_worker removes it.
 */
void ngx_http_ingest_keep_worker(ngx_event_t *ev, ngx_log_t *log);
void ngx_http_ingest_release_worker(ngx_event_t *ev);

/* "... origin ...;" into an ngx_array_t * (NGX_CONF_UNSET_PTR) */
char *ngx_http_ingest_conf_set_cors(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* "... path | off;" into an ngx_str_t whose len is NGX_CONF_UNSET_SIZE */
char *ngx_http_ingest_conf_set_dir(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_INGEST_H_INCLUDED_ */
