
/*
 * Copyright (C) nginx video ingest developers
 *
 * Arithmetic of retries and claims, pure C: exponential backoff with
 * jitter, lease expiry, worker names and the "is this claim dead" rule.
 * Randomness and the clock are arguments.
 */


#ifndef _IW_BACKOFF_H_INCLUDED_
#define _IW_BACKOFF_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define IW_HOST_LEN         128
#define IW_WORKER_LEN       (IW_HOST_LEN + 16)


/*
 * Delay before retry number "attempt" (1 after the first failure):
 * base * factor^(attempt - 1), at most max, then plus jitter.
 */
uint64_t iw_backoff_ms(uint64_t base, unsigned factor, uint64_t max,
    unsigned attempt, uint64_t jitter);

/* a jitter in [lo, hi] from a uniform 32-bit random value */
uint64_t iw_jitter_ms(uint32_t rnd, uint64_t lo, uint64_t hi);

/* 1 when a lease renewed at "renewed" has run out at "now" */
int iw_lease_expired(int64_t renewed, int64_t now, uint64_t lease);

/*
 * Worker names are "<host>-<pid>"; bytes of the host outside
 * [A-Za-z0-9.] become "_" so a name is always a safe file name.
 * Returns 0, or -1 when cap is too small or the host is empty.
 */
int iw_worker_name(char *out, size_t cap, const char *host, pid_t pid);

/* splits a worker name at its last "-"; 0, or -1 when malformed */
int iw_worker_name_parse(const char *name, char *host, size_t hostcap,
    pid_t *pid);

/*
 * A claim is dead when its owner runs on this host and its process is
 * gone (alive 0), or when its lease ran out, wherever it runs: that
 * also covers a pid reused by another process.
 */
int iw_claim_dead(const char *owner_host, const char *my_host, int alive,
    int64_t renewed, int64_t now, uint64_t lease);


#endif /* _IW_BACKOFF_H_INCLUDED_ */
