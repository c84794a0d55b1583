
/*
 * Copyright (C) nginx video ingest developers
 *
 * Webhooks on job done and failed. The job process queues a delivery
 * record, <spool>/webhooks/<id>.<event>.json, before it moves the job;
 * the webhook process POSTs it with libcurl, signed with HMAC-SHA256,
 * and retries with the guide's backoff (500 ms, x2, jitter 100-500 ms)
 * up to webhook_attempts tries, then moves it to webhooks/failed/.
 * Records are files, so deliveries survive restarts: at least once.
 *
 * The record and signature code here is pure (jansson, libcrypto).
 *
 *   {"url":"https://...","event":"job.done","attempts":0,
 *    "next_at":1764122000000,"body":"{...}"}
 *
 * Signature header: X-Ingest-Signature: t=<unix seconds>,v1=<hex of
 * HMAC-SHA256(secret, "<t>." + body)>.
 */


#ifndef _IW_HOOK_H_INCLUDED_
#define _IW_HOOK_H_INCLUDED_


#include <jansson.h>
#include <stddef.h>
#include <stdint.h>


#define IW_HOOK_SIG_LEN     (2 + 20 + 4 + 64 + 1)


typedef struct {
    json_t              *root;
    const char          *url;
    const char          *event;
    const char          *body;
    const char          *last_error;    /* NULL: none */
    unsigned             attempts;
    int64_t              next_at;       /* unix ms */
} iw_hook_t;


/* "t=...,v1=..." into out (IW_HOOK_SIG_LEN bytes); 0 or -1 */
int iw_hook_signature(const char *secret, size_t slen, int64_t ts,
    const char *body, size_t blen, char *out);

/*
 * The body of an event: {"event":..., "id":..., "job":{...},
 * "playlist":... or null, "error":... or null}, malloc'ed.
 */
char *iw_hook_payload(const char *event, const char *id, json_t *job,
    const char *playlist, const char *error);

/* a new record (malloc'ed text with "\n"), or NULL */
char *iw_hook_record(const char *url, const char *event, const char *body,
    int64_t now, size_t *len);

int iw_hook_parse(iw_hook_t *h, const char *text, size_t len, char *err,
    size_t errlen);
void iw_hook_free(iw_hook_t *h);

/* after a failed try: attempts + 1, the next time, the error */
int iw_hook_failed(iw_hook_t *h, int64_t next_at, const char *error);
char *iw_hook_dump(const iw_hook_t *h, size_t *len);

/* only http and https targets */
int iw_hook_url_valid(const char *url);


#endif /* _IW_HOOK_H_INCLUDED_ */
