
/*
 * Copyright (C) nginx video ingest developers
 */


#define _GNU_SOURCE

#include "iw_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


static int iw_rmtree_at(int dirfd, const char *name);


int
iw_file_read(const char *path, size_t max, char **buf, size_t *len)
{
    int       fd, err;
    char     *p;
    size_t    n;
    ssize_t   r;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    p = malloc(max + 1);
    if (p == NULL) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }

    n = 0;

    for ( ;; ) {
        r = read(fd, p + n, max + 1 - n);

        if (r == -1) {
            if (errno == EINTR) {
                continue;
            }
            goto failed;
        }

        if (r == 0) {
            break;
        }

        n += r;

        if (n > max) {
            errno = EFBIG;
            goto failed;
        }
    }

    close(fd);

    p[n] = '\0';
    *buf = p;
    *len = n;

    return 0;

failed:

    err = errno;
    free(p);
    close(fd);
    errno = err;

    return -1;
}


int
iw_file_write(const char *path, const void *data, size_t len, int sync)
{
    int          fd, err;
    char         tmp[PATH_MAX];
    size_t       n;
    ssize_t      w;
    const char  *p;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        return -1;
    }

    p = data;
    n = len;

    while (n != 0) {
        w = write(fd, p, n);

        if (w == -1) {
            if (errno == EINTR) {
                continue;
            }
            goto failed;
        }

        p += w;
        n -= w;
    }

    if (sync && fdatasync(fd) == -1) {
        goto failed;
    }

    if (close(fd) == -1) {
        fd = -1;
        goto failed;
    }

    if (rename(tmp, path) == -1) {
        err = errno;
        unlink(tmp);
        errno = err;
        return -1;
    }

    return 0;

failed:

    err = errno;

    if (fd != -1) {
        close(fd);
    }

    unlink(tmp);
    errno = err;

    return -1;
}


int
iw_mkdir_p(const char *path, mode_t mode)
{
    char    buf[PATH_MAX];
    char   *p;
    size_t  len;

    len = strlen(path);
    if (len == 0 || len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    memcpy(buf, path, len + 1);

    for (p = buf + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }

        *p = '\0';

        if (mkdir(buf, mode) == -1 && errno != EEXIST) {
            return -1;
        }

        *p = '/';
    }

    if (mkdir(buf, mode) == -1 && errno != EEXIST) {
        return -1;
    }

    return 0;
}


int
iw_rmtree(const char *path)
{
    int  rc;

    rc = iw_rmtree_at(AT_FDCWD, path);

    if (rc == -1 && errno == ENOENT) {
        return 0;
    }

    return rc;
}


static int
iw_rmtree_at(int dirfd, const char *name)
{
    int             fd, err;
    DIR            *dir;
    struct stat     st;
    struct dirent  *de;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        return -1;
    }

    if (!S_ISDIR(st.st_mode)) {
        return unlinkat(dirfd, name, 0);
    }

    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    dir = fdopendir(fd);
    if (dir == NULL) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }

    err = 0;

    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }

        if (iw_rmtree_at(fd, de->d_name) == -1 && errno != ENOENT) {
            err = errno;
        }
    }

    closedir(dir);

    if (err != 0) {
        errno = err;
        return -1;
    }

    return unlinkat(dirfd, name, AT_REMOVEDIR);
}


int64_t
iw_file_mtime(const char *path)
{
    struct stat  st;

    if (stat(path, &st) == -1) {
        return -1;
    }

    return (int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}


int
iw_file_touch(const char *path)
{
    return utimensat(AT_FDCWD, path, NULL, 0);
}


int64_t
iw_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int64_t
iw_monotonic_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
