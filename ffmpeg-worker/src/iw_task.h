
/*
 * Copyright (C) nginx video ingest developers
 *
 * One claimed job, from the claim to done/, failed/ or back to
 * incoming/: the profile, the output directories (built in a temp
 * directory, renamed into place whole), the pipeline, heartbeats and
 * progress (log lines and claimed/<worker>/<id>.progress).
 */


#ifndef _IW_TASK_H_INCLUDED_
#define _IW_TASK_H_INCLUDED_


#include "iw_job.h"
#include "iw_spool.h"


void iw_task_run(iw_spool_t *sp, iw_job_t *job);


#endif /* _IW_TASK_H_INCLUDED_ */
