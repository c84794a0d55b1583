
/*
 * Copyright (C) nginx video ingest developers
 *
 * Store helpers. Everything here except ngx_http_ingest_create_dir()
 * runs in thread-pool threads: plain POSIX calls, no pools, no logging,
 * errors returned as errno and a step name.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ingest.h"


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


ngx_int_t
ngx_http_ingest_lock(ngx_fd_t fd, ngx_uint_t wait, ngx_http_ingest_err_t *e)
{
    struct flock  fl;

    ngx_memzero(&fl, sizeof(struct flock));

    fl.l_type = F_WRLCK;
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
ngx_http_ingest_copy(ngx_fd_t dst, off_t offset, ngx_fd_t src, off_t len,
    ngx_http_ingest_err_t *e)
{
    u_char   *buf;
    off_t     in, out;
    size_t    chunk;
    ssize_t   n;

    in = 0;
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
