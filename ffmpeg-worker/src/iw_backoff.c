
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_backoff.h"

#include <stdio.h>
#include <string.h>


uint64_t
iw_backoff_ms(uint64_t base, unsigned factor, uint64_t max, unsigned attempt,
    uint64_t jitter)
{
    uint64_t  d;

    if (attempt == 0) {
        return 0;
    }

    d = base;

    while (--attempt != 0 && d < max) {
        if (factor != 0 && d > UINT64_MAX / factor) {
            d = max;
            break;
        }

        d *= factor;
    }

    if (d > max) {
        d = max;
    }

    return d + jitter;
}


uint64_t
iw_jitter_ms(uint32_t rnd, uint64_t lo, uint64_t hi)
{
    if (hi <= lo) {
        return lo;
    }

    return lo + (uint64_t) rnd % (hi - lo + 1);
}


int
iw_lease_expired(int64_t renewed, int64_t now, uint64_t lease)
{
    if (now < renewed) {
        /* the clock went back or the owner's clock is ahead */
        return 0;
    }

    return (uint64_t) (now - renewed) > lease;
}


int
iw_worker_name(char *out, size_t cap, const char *host, pid_t pid)
{
    int     n;
    char    c;
    size_t  i, len;

    len = strlen(host);
    if (len == 0 || len >= IW_HOST_LEN || len + 2 > cap || pid <= 0) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = host[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || (c == '.' && i != 0))
        {
            out[i] = c;

        } else {
            out[i] = '_';
        }
    }

    n = snprintf(out + len, cap - len, "-%ld", (long) pid);
    if (n < 0 || (size_t) n >= cap - len) {
        return -1;
    }

    return 0;
}


int
iw_worker_name_parse(const char *name, char *host, size_t hostcap,
    pid_t *pid)
{
    long         v;
    size_t       hlen;
    const char  *dash, *p;

    dash = strrchr(name, '-');
    if (dash == NULL || dash == name || dash[1] == '\0') {
        return -1;
    }

    v = 0;

    for (p = dash + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > 100000000) {
            return -1;
        }

        v = v * 10 + (*p - '0');
    }

    hlen = dash - name;
    if (v <= 0 || hlen >= hostcap) {
        return -1;
    }

    memcpy(host, name, hlen);
    host[hlen] = '\0';
    *pid = (pid_t) v;

    return 0;
}


int
iw_claim_dead(const char *owner_host, const char *my_host, int alive,
    int64_t renewed, int64_t now, uint64_t lease)
{
    if (strcmp(owner_host, my_host) == 0 && !alive) {
        return 1;
    }

    return iw_lease_expired(renewed, now, lease);
}
