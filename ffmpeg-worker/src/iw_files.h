
/*
 * Copyright (C) nginx video ingest developers
 *
 * File helpers: whole-file reads, writes by temp file + rename, mkdir -p
 * and rm -r. Return 0 or -1 with errno set.
 */


#ifndef _IW_FILES_H_INCLUDED_
#define _IW_FILES_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* reads at most max bytes; *buf is malloc'ed and NUL-terminated */
int iw_file_read(const char *path, size_t max, char **buf, size_t *len);

/* writes path.tmp then renames it to path; fsync when sync */
int iw_file_write(const char *path, const void *data, size_t len,
    int sync);

int iw_mkdir_p(const char *path, mode_t mode);
int iw_rmtree(const char *path);

/* mtime in unix milliseconds, -1 on error */
int64_t iw_file_mtime(const char *path);

/* sets atime and mtime to now */
int iw_file_touch(const char *path);

int64_t iw_now_ms(void);
int64_t iw_monotonic_ms(void);


#endif /* _IW_FILES_H_INCLUDED_ */
