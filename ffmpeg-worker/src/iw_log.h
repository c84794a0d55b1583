
/*
 * Copyright (C) nginx video ingest developers
 *
 * Logging to stderr ("2026/11/26 03:20:00 [info] 1234: text", nginx's
 * error.log layout) and, when enabled, to syslog.
 */


#ifndef _IW_LOG_H_INCLUDED_
#define _IW_LOG_H_INCLUDED_


#include "iw_conf.h"


void iw_log_init(unsigned level, unsigned use_syslog);
void iw_log(unsigned level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* the message followed by " (errno: strerror)" */
void iw_log_errno(unsigned level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* routes libav* messages to iw_log */
void iw_log_av(void);


#endif /* _IW_LOG_H_INCLUDED_ */
