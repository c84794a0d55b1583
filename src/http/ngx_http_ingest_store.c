
/*
 * Copyright (C) nginx video ingest developers
 *
 * Store helpers shared by the tus and S3 handlers. The file operations
 * run in thread-pool threads: plain POSIX calls, no pools, no logging,
 * errors returned as errno and a step name. The directory creation at
 * start-up, the buffer pool and the header, CORS and configuration
 * helpers at the end run in the event loop (or while configuring); each
 * says so in ngx_http_ingest.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ingest.h"
#include "ingest_job.h"

#include <openssl/rand.h>


static ngx_int_t ngx_http_ingest_setlk(ngx_fd_t fd, short type,
    ngx_uint_t wait, ngx_http_ingest_err_t *e);
static ngx_int_t ngx_http_ingest_cors_allow(ngx_http_request_t *r,
    u_char *value, size_t len, const char *expose);


u_char *
ngx_http_ingest_path(u_char *buf, size_t size, ngx_str_t *dir, u_char *id,
    const char *suffix)
{
    u_char  *p;

    p = ngx_snprintf(buf, size - 1, "%V/%*s%s", dir, (size_t) INGEST_ID_LEN,
                     id, suffix);
    *p = '\0';

    return buf;
}


u_char *
ngx_http_ingest_read_small(const char *path, size_t max, size_t *len,
    ngx_http_ingest_err_t *e)
{
    int          fd;
    u_char      *buf;
    ssize_t      n;
    size_t       got;
    struct stat  st;

    fd = open(path, O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        ngx_http_ingest_set_err(e, "open()");
        return NULL;
    }

    if (fstat(fd, &st) == -1) {
        ngx_http_ingest_set_err(e, "fstat()");
        (void) close(fd);
        return NULL;
    }

    if ((size_t) st.st_size > max) {
        errno = EFBIG;
        ngx_http_ingest_set_err(e, "read() of an oversized record");
        (void) close(fd);
        return NULL;
    }

    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        (void) close(fd);
        return NULL;
    }

    got = 0;

    while (got < (size_t) st.st_size) {
        n = read(fd, buf + got, (size_t) st.st_size - got);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            ngx_http_ingest_set_err(e, "read()");
            free(buf);
            (void) close(fd);
            return NULL;
        }

        if (n == 0) {
            break;
        }

        got += n;
    }

    (void) close(fd);

    buf[got] = '\0';
    *len = got;

    return buf;
}


ngx_int_t
ngx_http_ingest_write_atomic(const char *path, const char *tmp_path,
    const u_char *data, size_t len, ngx_uint_t sync, ngx_http_ingest_err_t *e)
{
    int          fd;
    char         buf[NGX_MAX_PATH + 32];
    ssize_t      n;
    size_t       done;
    const char  *tmp;

    if (tmp_path != NULL) {
        tmp = tmp_path;

    } else {
        if (ngx_snprintf((u_char *) buf, sizeof(buf) - 1, "%s.%P.tmp%Z",
                         path, ngx_pid)
            == (u_char *) buf + sizeof(buf) - 1)
        {
            errno = ENAMETOOLONG;
            ngx_http_ingest_set_err(e, "snprintf()");
            return NGX_ERROR;
        }

        tmp = buf;
    }

    /*
     * The pid alone would not make the name unique between threads of
     * one process; callers hold the upload's lock (or own a fresh id),
     * so at most one thread writes a given record at a time.
     */

    fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0640);
    if (fd == -1) {
        ngx_http_ingest_set_err(e, "open() of a temporary record");
        return NGX_ERROR;
    }

    done = 0;

    while (done < len) {
        n = write(fd, data + done, len - done);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            ngx_http_ingest_set_err(e, "write() of a record");
            goto failed;
        }

        done += n;
    }

    if (sync && fdatasync(fd) == -1) {
        ngx_http_ingest_set_err(e, "fdatasync() of a record");
        goto failed;
    }

    if (close(fd) == -1) {
        ngx_http_ingest_set_err(e, "close() of a record");
        (void) unlink(tmp);
        return NGX_ERROR;
    }

    if (rename(tmp, path) == -1) {
        ngx_http_ingest_set_err(e, "rename() of a record");
        (void) unlink(tmp);
        return NGX_ERROR;
    }

    return NGX_OK;

failed:

    (void) close(fd);
    (void) unlink(tmp);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_ingest_setlk(ngx_fd_t fd, short type, ngx_uint_t wait,
    ngx_http_ingest_err_t *e)
{
    struct flock  fl;

    ngx_memzero(&fl, sizeof(struct flock));

    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;

    for ( ;; ) {
        if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) {
            return NGX_OK;
        }

        if (errno == EINTR) {
            continue;
        }

        if (errno == EAGAIN || errno == EACCES) {
            return NGX_BUSY;
        }

        ngx_http_ingest_set_err(e, "fcntl(F_OFD_SETLK)");
        return NGX_ERROR;
    }
}


ngx_int_t
ngx_http_ingest_lock(ngx_fd_t fd, ngx_uint_t wait, ngx_http_ingest_err_t *e)
{
    return ngx_http_ingest_setlk(fd, F_WRLCK, wait, e);
}


ngx_int_t
ngx_http_ingest_lock_shared(ngx_fd_t fd, ngx_http_ingest_err_t *e)
{
    return ngx_http_ingest_setlk(fd, F_RDLCK, 0, e);
}


ngx_int_t
ngx_http_ingest_pwrite(ngx_fd_t fd, const u_char *buf, size_t len,
    off_t offset, ngx_http_ingest_err_t *e)
{
    ssize_t  n;

    while (len) {
        n = pwrite(fd, buf, len, offset);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            ngx_http_ingest_set_err(e, "pwrite()");
            return NGX_ERROR;
        }

        if (n == 0) {
            errno = EIO;
            ngx_http_ingest_set_err(e, "pwrite() wrote nothing");
            return NGX_ERROR;
        }

        buf += n;
        len -= n;
        offset += n;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_ingest_copy(ngx_fd_t dst, off_t offset, ngx_fd_t src,
    off_t src_offset, off_t len, ngx_http_ingest_err_t *e)
{
    u_char   *buf;
    off_t     in, out;
    size_t    chunk;
    ssize_t   n;

    in = src_offset;
    out = offset;

    while (len > 0) {
        chunk = (size_t) ngx_min(len, 1024 * 1024 * 1024);

        n = copy_file_range(src, &in, dst, &out, chunk, 0);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            if (errno == EXDEV || errno == EINVAL || errno == ENOSYS
                || errno == EOPNOTSUPP)
            {
                goto fallback;
            }

            ngx_http_ingest_set_err(e, "copy_file_range()");
            return NGX_ERROR;
        }

        if (n == 0) {
            errno = EIO;
            ngx_http_ingest_set_err(e, "copy_file_range() of a short file");
            return NGX_ERROR;
        }

        len -= n;
    }

    return NGX_OK;

fallback:

    buf = malloc(1024 * 1024);
    if (buf == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        return NGX_ERROR;
    }

    while (len > 0) {
        chunk = (size_t) ngx_min(len, 1024 * 1024);

        n = pread(src, buf, chunk, in);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            ngx_http_ingest_set_err(e, "pread()");
            free(buf);
            return NGX_ERROR;
        }

        if (n == 0) {
            errno = EIO;
            ngx_http_ingest_set_err(e, "pread() of a short file");
            free(buf);
            return NGX_ERROR;
        }

        if (ngx_http_ingest_pwrite(dst, buf, n, out, e) != NGX_OK) {
            free(buf);
            return NGX_ERROR;
        }

        in += n;
        out += n;
        len -= n;
    }

    free(buf);

    return NGX_OK;
}


ngx_int_t
ngx_http_ingest_create_dir(ngx_cycle_t *cycle, ngx_str_t *dir, ngx_log_t *log)
{
    u_char           *p, *path;
    ngx_err_t         err;
    ngx_uint_t        last;
    struct stat       st;
    ngx_core_conf_t  *ccf;

    path = ngx_pnalloc(cycle->pool, dir->len + 1);
    if (path == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_cpystrn(path, dir->data, dir->len + 1);

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    for (p = path + 1; ; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        last = (*p == '\0');
        *p = '\0';

        if (ngx_create_dir(path, 0750) == NGX_FILE_ERROR) {
            err = ngx_errno;

            if (err != NGX_EEXIST) {
                ngx_log_error(NGX_LOG_EMERG, log, err,
                              ngx_create_dir_n " \"%s\" failed", path);
                return NGX_ERROR;
            }

        } else if (geteuid() == 0
                   && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT)
        {
            /* directories we create belong to the workers */
            if (chown((const char *) path, ccf->user, -1) == -1) {
                ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                              "chown(\"%s\", %d) failed",
                              path, ccf->user);
                return NGX_ERROR;
            }
        }

        if (last) {
            break;
        }

        *p = '/';
    }

    /*
     * An existing directory is never chowned (it may be shared, or be
     * something like /tmp); say so when the workers may not write it.
     */

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && ccf->user != 0
        && stat((const char *) path, &st) == 0
        && st.st_uid != ccf->user
        && (st.st_mode & S_IWOTH) == 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "directory \"%s\" is not owned by the worker user "
                      "(uid %d): make sure the workers can write it",
                      path, ccf->user);
    }

    return NGX_OK;
}


/*
 * Aligned write buffers of request bodies. A worker keeps a few freed
 * ones for the next request: allocating and faulting in fresh pages for
 * every PATCH or part costs more CPU than the copy into them.
 * Context: event loop
 */

typedef struct ngx_http_ingest_free_buf_s  ngx_http_ingest_free_buf_t;

struct ngx_http_ingest_free_buf_s {
    ngx_http_ingest_free_buf_t  *next;
    size_t                       size;
};

#define NGX_HTTP_INGEST_FREE_BUFS    16
#define NGX_HTTP_INGEST_KEEP_PERIOD  60000

static ngx_http_ingest_free_buf_t  *ngx_http_ingest_free_bufs;
static ngx_uint_t                   ngx_http_ingest_nfree_bufs;


u_char *
ngx_http_ingest_buf_get(size_t size, ngx_log_t *log)
{
    ngx_http_ingest_free_buf_t  *fb, **prev;

    for (prev = &ngx_http_ingest_free_bufs, fb = *prev;
         fb != NULL;
         prev = &fb->next, fb = fb->next)
    {
        if (fb->size == size) {
            *prev = fb->next;
            ngx_http_ingest_nfree_bufs--;
            return (u_char *) fb;
        }
    }

    return ngx_memalign(NGX_HTTP_INGEST_ALIGN, size, log);
}


void
ngx_http_ingest_buf_put(u_char *p, size_t size)
{
    ngx_http_ingest_free_buf_t  *fb;

    if (ngx_http_ingest_nfree_bufs >= NGX_HTTP_INGEST_FREE_BUFS) {
        ngx_free(p);
        return;
    }

    fb = (ngx_http_ingest_free_buf_t *) p;
    fb->size = size;
    fb->next = ngx_http_ingest_free_bufs;
    ngx_http_ingest_free_bufs = fb;
    ngx_http_ingest_nfree_bufs++;
}


void
ngx_http_ingest_body_read(ngx_http_request_t *r, ngx_http_ingest_body_t *body)
{
    size_t                    n;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    ngx_http_ingest_wbuf_t   *wb;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;
    body->blocked_on_disk = 0;

    for ( ;; ) {

        for (cl = rb->bufs; cl; cl = cl->next) {
            b = cl->buf;

            while (b->pos < b->last) {

                if (body->received == body->limit) {
                    /* more data than the upload may take */
                    body->too_much = 1;
                    goto done;
                }

                wb = &body->wbuf[body->fill];

                if (wb->buf == NULL) {
                    wb->buf = ngx_http_ingest_buf_get(body->size,
                                                      r->connection->log);
                    if (wb->buf == NULL) {
                        body->write_failed = 1;
                        goto done;
                    }

                    wb->end = wb->buf + body->size;
                    body->reset(body->data, wb);
                }

                if (wb->last == wb->end) {
                    if (body->write_buf != NULL) {
                        /* both buffers busy: let the disk catch up */
                        body->blocked_on_disk = 1;
                        rb->bufs = cl;
                        return;
                    }

                    body->flush(r, body->data);

                    if (body->write_failed) {
                        goto done;
                    }

                    continue;
                }

                n = ngx_min((size_t) (b->last - b->pos),
                            (size_t) (wb->end - wb->last));

                if ((uint64_t) n > body->limit - body->received) {
                    n = (size_t) (body->limit - body->received);
                }

                wb->last = ngx_cpymem(wb->last, b->pos, n);
                b->pos += n;
                body->received += n;
            }
        }

        rb->bufs = NULL;

        if (body->write_failed || body->rc) {
            goto done;
        }

        if (!r->reading_body) {
            break;
        }

        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            /*
             * The client went away or the body is malformed; what was
             * read before that is in rb->bufs and is kept.
             */
            body->rc = rc;
            continue;
        }

        if (rb->bufs == NULL) {
            if (rc == NGX_AGAIN) {
                return;
            }

            /* NGX_OK: the body is complete */
            break;
        }
    }

done:

    body->done = 1;
    r->read_event_handler = ngx_http_block_reading;

    if (r->connection->read->timer_set) {
        ngx_del_timer(r->connection->read);
    }

    body->flush(r, body->data);
}


void
ngx_http_ingest_body_free(ngx_http_ingest_body_t *body)
{
    ngx_uint_t  i;

    for (i = 0; i < 2; i++) {
        if (body->wbuf[i].buf != NULL) {
            ngx_http_ingest_buf_put(body->wbuf[i].buf, body->size);
            body->wbuf[i].buf = NULL;
        }
    }
}


static void
ngx_http_ingest_keep_handler(ngx_event_t *ev)
{
    /* the task still runs: keep the worker for another period */
    ngx_add_timer(ev, NGX_HTTP_INGEST_KEEP_PERIOD);
}


void
ngx_http_ingest_keep_worker(ngx_event_t *ev, ngx_log_t *log)
{
    if (ev->timer_set) {
        return;
    }

    ev->handler = ngx_http_ingest_keep_handler;
    ev->log = log;
    ev->data = NULL;
    ev->cancelable = 0;

    ngx_add_timer(ev, NGX_HTTP_INGEST_KEEP_PERIOD);
}


void
ngx_http_ingest_release_worker(ngx_event_t *ev)
{
    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


ngx_int_t
ngx_http_ingest_write_direct(ngx_fd_t fd, ngx_fd_t *dfd, const u_char *p,
    size_t len, off_t off, ngx_http_ingest_err_t *e)
{
    size_t  head, mid;

    if (*dfd != NGX_INVALID_FILE) {
        /*
         * Whole pages bypass the page cache: no copy into it, and the
         * writeback does not compete with the event loop for CPU. The
         * partial pages at either end go through the page cache.
         */

        head = (NGX_HTTP_INGEST_ALIGN - (off & (NGX_HTTP_INGEST_ALIGN - 1)))
               & (NGX_HTTP_INGEST_ALIGN - 1);
        head = ngx_min(head, len);
        mid = (len - head) & ~((size_t) NGX_HTTP_INGEST_ALIGN - 1);

        if (head && ngx_http_ingest_pwrite(fd, p, head, off, e) != NGX_OK) {
            return NGX_ERROR;
        }

        if (mid
            && ngx_http_ingest_pwrite(*dfd, p + head, mid, off + head, e)
               != NGX_OK)
        {
            if (e->err != EINVAL) {
                return NGX_ERROR;
            }

            /* the filesystem refused O_DIRECT after all */

            (void) close(*dfd);
            *dfd = NGX_INVALID_FILE;
            e->err = 0;
            mid = 0;
        }

        p += head + mid;
        off += head + mid;
        len -= head + mid;
    }

    if (len && ngx_http_ingest_pwrite(fd, p, len, off, e) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_ingest_write_job(ngx_http_ingest_job_conf_t *jc,
    const char *protocol, u_char *id, const char *data_path,
    ingest_record_t *rec, uint64_t size, ngx_http_ingest_err_t *e)
{
    u_char        *buf;
    size_t         len, cap;
    ngx_int_t      rc;
    ingest_job_t   job;
    u_char         path[NGX_MAX_PATH], tmp[NGX_MAX_PATH];

    ngx_memzero(&job, sizeof(ingest_job_t));

    job.id.data = id;
    job.id.len = INGEST_ID_LEN;
    job.kind.data = (u_char *) "upload";
    job.kind.len = sizeof("upload") - 1;
    job.protocol.data = (u_char *) protocol;
    job.protocol.len = ngx_strlen(protocol);
    job.source.data = (u_char *) data_path;
    job.source.len = ngx_strlen(data_path);
    job.size = size;
    job.metadata = rec->metadata;
    job.owner = rec->owner;
    job.profile.data = jc->profile.data;
    job.profile.len = jc->profile.len;
    job.created = rec->created;
    job.webhook.data = jc->webhook.data;
    job.webhook.len = jc->webhook.len;

    cap = 6 * (rec->metadata.len + rec->owner.len + job.source.len
               + jc->webhook.len + jc->profile.len) + 4096;

    buf = malloc(cap);
    if (buf == NULL) {
        ngx_http_ingest_set_err(e, "malloc()");
        return NGX_ERROR;
    }

    len = ingest_job_format(&job, buf, cap);
    if (len == 0) {
        free(buf);
        errno = EOVERFLOW;
        ngx_http_ingest_set_err(e, "formatting a spool job");
        return NGX_ERROR;
    }

    *ngx_snprintf(path, sizeof(path) - 1, "%V/incoming/%*s.json",
                  &jc->spool, (size_t) INGEST_ID_LEN, id) = '\0';
    *ngx_snprintf(tmp, sizeof(tmp) - 1, "%V/tmp/%*s.json",
                  &jc->spool, (size_t) INGEST_ID_LEN, id) = '\0';

    rc = ngx_http_ingest_write_atomic((char *) path, (char *) tmp, buf, len,
                                      1, e);

    free(buf);

    return rc;
}


ngx_int_t
ngx_http_ingest_create_spool(ngx_cycle_t *cycle, ngx_str_t *spool,
    ngx_log_t *log)
{
    ngx_str_t  dir;
    u_char     buf[NGX_MAX_PATH];

    if (ngx_http_ingest_create_dir(cycle, spool, log) != NGX_OK) {
        return NGX_ERROR;
    }

    dir.data = buf;
    dir.len = ngx_snprintf(buf, sizeof(buf), "%V/incoming", spool) - buf;

    if (ngx_http_ingest_create_dir(cycle, &dir, log) != NGX_OK) {
        return NGX_ERROR;
    }

    dir.len = ngx_snprintf(buf, sizeof(buf), "%V/tmp", spool) - buf;

    return ngx_http_ingest_create_dir(cycle, &dir, log);
}


ngx_int_t
ngx_http_ingest_add_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


ngx_int_t
ngx_http_ingest_cors(ngx_http_request_t *r, ngx_array_t *origins,
    ngx_str_t *origin, const char *expose)
{
    ngx_str_t   *o;
    ngx_uint_t   i;

    if (origins == NULL) {
        return NGX_OK;
    }

    o = origins->elts;

    for (i = 0; i < origins->nelts; i++) {
        if (o[i].len == 1 && o[i].data[0] == '*') {
            /* the same for every request: a cache may keep it as is */
            return ngx_http_ingest_cors_allow(r, (u_char *) "*", 1, expose);
        }
    }

    /*
     * The answer depends on the origin, also for a request without one
     * (a CDN may fill its cache from such a request): Vary always.
     */

    if (ngx_http_ingest_add_header(r, "Vary", (u_char *) "Origin",
                                   sizeof("Origin") - 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (origin == NULL || origin->data == NULL || origin->len == 0) {
        return NGX_OK;
    }

    for (i = 0; i < origins->nelts; i++) {
        if (o[i].len == origin->len
            && ngx_strncasecmp(o[i].data, origin->data, o[i].len) == 0)
        {
            return ngx_http_ingest_cors_allow(r, origin->data, origin->len,
                                              expose);
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ingest_cors_allow(ngx_http_request_t *r, u_char *value, size_t len,
    const char *expose)
{
    if (ngx_http_ingest_add_header(r, "Access-Control-Allow-Origin", value,
                                   len)
        != NGX_OK
        || ngx_http_ingest_add_header(r, "Access-Control-Expose-Headers",
                                      (u_char *) expose, ngx_strlen(expose))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


char *
ngx_http_ingest_conf_set_cors(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t     *value, *o;
    ngx_uint_t     i;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (!(value[i].len == 1 && value[i].data[0] == '*')
            && ngx_strncmp(value[i].data, "http://", 7) != 0
            && ngx_strncmp(value[i].data, "https://", 8) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\", expected \"*\" or "
                               "\"scheme://host[:port]\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        o = ngx_array_push(*a);
        if (o == NULL) {
            return NGX_CONF_ERROR;
        }

        *o = value[i];
    }

    return NGX_CONF_OK;
}


char *
ngx_http_ingest_conf_set_dir(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t  *value, *dir;

    dir = (ngx_str_t *) (p + cmd->offset);

    if (dir->len != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_null(dir);
        return NGX_CONF_OK;
    }

    *dir = value[1];

    while (dir->len > 1 && dir->data[dir->len - 1] == '/') {
        dir->len--;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_ingest_new_id(u_char *id, ngx_log_t *log)
{
    u_char  rnd[INGEST_ID_RAND_BYTES];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_CRIT, log, 0, "RAND_bytes() failed");
        return NGX_ERROR;
    }

    ingest_id_format(rnd, id);

    return NGX_OK;
}
