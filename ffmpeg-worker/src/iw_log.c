
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>


#define IW_LOG_LINE  2048


static void iw_log_write(unsigned level, const char *msg);
static void iw_log_av_callback(void *avcl, int level, const char *fmt,
    va_list args);


static unsigned  iw_log_level = IW_LOG_INFO;
static unsigned  iw_log_syslog;

static const char  *iw_log_names[] = {
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};


void
iw_log_init(unsigned level, unsigned use_syslog)
{
    iw_log_level = level;

    if (use_syslog && !iw_log_syslog) {
        openlog("ingest-worker", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }

    iw_log_syslog = use_syslog;
}


void
iw_log(unsigned level, const char *fmt, ...)
{
    char     msg[IW_LOG_LINE];
    va_list  args;

    if (level > iw_log_level) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    iw_log_write(level, msg);
}


void
iw_log_errno(unsigned level, int err, const char *fmt, ...)
{
    int      n;
    char     msg[IW_LOG_LINE];
    va_list  args;

    if (level > iw_log_level) {
        return;
    }

    va_start(args, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    if (n >= 0 && (size_t) n < sizeof(msg)) {
        snprintf(msg + n, sizeof(msg) - n, " (%d: %s)", err, strerror(err));
    }

    iw_log_write(level, msg);
}


void
iw_log_av(void)
{
    av_log_set_callback(iw_log_av_callback);
}


static void
iw_log_write(unsigned level, const char *msg)
{
    int         saved;
    char        ts[32];
    time_t      now;
    struct tm   tm;

    saved = errno;

    now = time(NULL);
    localtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y/%m/%d %H:%M:%S", &tm);

    fprintf(stderr, "%s [%s] %ld: %s\n", ts,
            iw_log_names[level < 8 ? level : 7], (long) getpid(), msg);

    if (iw_log_syslog) {
        syslog((int) level, "%s", msg);
    }

    errno = saved;
}


static void
iw_log_av_callback(void *avcl, int level, const char *fmt, va_list args)
{
    char      msg[IW_LOG_LINE];
    size_t    n;
    unsigned  lvl;

    (void) avcl;

    if (level > AV_LOG_WARNING) {
        return;
    }

    lvl = level <= AV_LOG_ERROR ? IW_LOG_ERR : IW_LOG_WARN;

    if (lvl > iw_log_level) {
        return;
    }

    vsnprintf(msg, sizeof(msg), fmt, args);

    n = strlen(msg);
    while (n != 0 && msg[n - 1] == '\n') {
        msg[--n] = '\0';
    }

    if (n != 0) {
        iw_log_write(lvl, msg);
    }
}
