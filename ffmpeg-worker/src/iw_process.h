
/*
 * Copyright (C) nginx video ingest developers
 *
 * The process model, nginx's: a master that only supervises (signal
 * handlers set flags, the loop sleeps in sigsuspend(), reaps children
 * and respawns them with a backoff, reclaims jobs of dead ones) and N
 * job processes that claim and run jobs.
 *
 *   master  SIGTERM, SIGINT  fast stop: job processes release their job
 *           SIGQUIT          graceful stop: job processes finish theirs
 *           SIGHUP           reload the configuration, replace the job
 *                            processes (the old ones finish gracefully)
 *           SIGIO            (from inotify on the spool) the queue
 *                            changed: the metrics file is rewritten
 */


#ifndef _IW_PROCESS_H_INCLUDED_
#define _IW_PROCESS_H_INCLUDED_


#include "iw_conf.h"


/* command-line settings, applied again over every configuration read */
typedef struct {
    const char          *conf_file;     /* NULL: built-in defaults */
    const char          *spool;
    const char          *output;
    unsigned             workers;       /* 0: not set */
    unsigned             syslog;
    unsigned             foreground;
} iw_options_t;


/* reads the configuration file and applies the options; 0 or -1 */
int iw_conf_load(iw_conf_t *conf, const iw_options_t *opt, char *err,
    size_t errlen);

/* runs the master until it is stopped; returns the exit code */
int iw_master_cycle(iw_conf_t *conf, const iw_options_t *opt);

/* one job process; never returns */
void iw_worker_cycle(const iw_conf_t *conf) __attribute__((noreturn));

/* set by the signal handlers of the job process */
extern volatile int  iw_quit;
extern volatile int  iw_terminate;


#endif /* _IW_PROCESS_H_INCLUDED_ */
