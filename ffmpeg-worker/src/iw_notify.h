
/*
 * Copyright (C) nginx video ingest developers
 *
 * Webhook records in the spool and their delivery with libcurl (see
 * iw_hook.h for the record and signature format).
 */


#ifndef _IW_NOTIFY_H_INCLUDED_
#define _IW_NOTIFY_H_INCLUDED_


#include "iw_conf.h"

#include <jansson.h>


/*
 * Queues an event for the job's "webhook" (or webhook_url); does
 * nothing without a target. Returns 0, or -1 when the record could not
 * be written.
 */
int iw_notify_queue(const iw_conf_t *conf, const char *id, json_t *job,
    const char *event, const char *playlist, const char *error);

/* the delivery process; never returns */
void iw_notify_cycle(const iw_conf_t *conf) __attribute__((noreturn));


#endif /* _IW_NOTIFY_H_INCLUDED_ */
