
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for the LL-HLS origin rules. The input is a media
 * playlist, optionally after one line "?<msn>|<part>|<skip>" of raw
 * delivery directives ("~" for an absent one). Checked on what parses:
 *   - the model stays inside the input: segments back to back, the
 *     header before them, the tail after them, the hint inside;
 *   - decisions: the input's directives and requests around the live
 *     edge; HOLD is exactly what ingest_llhls_ready() says, what is
 *     answered includes every earlier (msn, part) and the segment
 *     before it, 400 only past the limits, and a delta is served
 *     exactly when there is one to write;
 *   - the delta update has the sized length in buffers of every size
 *     that matters and parses as the same stream with EXT-X-SKIP;
 *   - file lookups: segment URIs are listed, the hint is hinted.
 */


#include "ingest_llhls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_SEGS  512


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int fuzz_model(const unsigned char *p, size_t len);
static void fuzz_query(const unsigned char *q, size_t len);
static void fuzz_field(ingest_str_t *s, const unsigned char **pos,
    const unsigned char *end);
static ingest_llhls_rc_t fuzz_decide(const ingest_str_t *msn,
    const ingest_str_t *part, const ingest_str_t *skip,
    ingest_llhls_request_t *req);
static void fuzz_targets(void);
static ingest_llhls_rc_t fuzz_decide_num(uint64_t msn, uint64_t part,
    int has_part, ingest_llhls_request_t *req);
static void fuzz_delta(const unsigned char *p);
static void fuzz_files(const unsigned char *p);


static ingest_llhls_segment_t   fuzz_segs[FUZZ_SEGS];
static ingest_llhls_segment_t   fuzz_segs2[FUZZ_SEGS];
static ingest_llhls_playlist_t  fuzz_pl;


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                q, qlen;
    unsigned char        *p;
    const unsigned char  *nl;

    q = 0;
    qlen = 0;

    if (size > 0 && data[0] == '?') {
        nl = memchr(data, '\n', size);
        if (nl == NULL) {
            return 0;
        }

        q = 1;
        qlen = (size_t) (nl - data) - 1;
        data = nl + 1;
        size -= qlen + 2;
    }

    /* an exact copy, so ASan sees any read past the playlist */

    p = malloc(size != 0 ? size : 1);
    if (p == NULL) {
        abort();
    }

    memcpy(p, data, size);

    if (fuzz_model(p, size) == 0) {
        if (q != 0) {
            fuzz_query(data - qlen - 1, qlen);
        }

        fuzz_targets();
        fuzz_delta(p);
        fuzz_files(p);
    }

    free(p);

    return 0;
}


/* parses into fuzz_pl and checks the model: 0 when it parsed */

static int
fuzz_model(const unsigned char *p, size_t len)
{
    size_t                   i;
    uint64_t                 msn, part;
    ingest_llhls_rc_t        rc;
    ingest_llhls_playlist_t *pl;

    pl = &fuzz_pl;

    rc = ingest_llhls_parse(p, len, pl, fuzz_segs, FUZZ_SEGS);

    if (ingest_llhls_reason(rc) == NULL
        || ingest_llhls_http_status(rc) != (rc == INGEST_LLHLS_OK ? 200 : 500))
    {
        abort();
    }

    if (rc != INGEST_LLHLS_OK) {
        if (pl->err_off > len) {
            abort();
        }

        return -1;
    }

    if (pl->len != len || pl->m3u_end > len || pl->body < pl->m3u_end
        || pl->body > len || pl->tail < pl->body || pl->tail > len
        || pl->nsegments > FUZZ_SEGS || pl->ntail > INGEST_LLHLS_MAX_PARTS
        || (pl->hint_len != 0 && pl->hint_off + pl->hint_len > len)
        || (pl->version_len != 0
            && (pl->version_off < pl->m3u_end
                || pl->version_off + pl->version_len > len))
        || pl->target > INGEST_LLHLS_MAX_SECONDS
        || pl->first_msn != pl->media_sequence + pl->skipped
        || pl->next_msn != pl->first_msn + pl->nsegments
        || pl->next_msn > (uint64_t) INT64_MAX - 2
        || pl->duration < pl->tail_duration || pl->tail_duration < 0
        || (pl->ntail == 0 && pl->tail_duration != 0)
        || (pl->has_skip == 0 && pl->skipped != 0))
    {
        abort();
    }

    for (i = 0; i < pl->nsegments; i++) {
        if (fuzz_segs[i].start != (i == 0 ? pl->body : fuzz_segs[i - 1].end)
            || fuzz_segs[i].end <= fuzz_segs[i].start
            || fuzz_segs[i].end > len
            || fuzz_segs[i].duration < 0
            || fuzz_segs[i].nparts > INGEST_LLHLS_MAX_PARTS)
        {
            abort();
        }
    }

    if (pl->nsegments != 0 && pl->tail != fuzz_segs[pl->nsegments - 1].end) {
        abort();
    }

    if (ingest_llhls_last_part(pl, &msn, &part) == 0) {
        if (msn == pl->next_msn ? part + 1 != pl->ntail
                                : msn + 1 != pl->next_msn || pl->ntail != 0)
        {
            abort();
        }
    }

    if (ingest_llhls_hold_timeout_ms(pl) < INGEST_LLHLS_MIN_HOLD_MS
        || ingest_llhls_advance_part_limit(pl) < 3
        || ingest_llhls_skip_count(pl) > pl->nsegments)
    {
        abort();
    }

    return 0;
}


static void
fuzz_query(const unsigned char *q, size_t len)
{
    ingest_str_t            msn, part, skip;
    ingest_llhls_rc_t       rc;
    const unsigned char    *pos, *end;
    ingest_llhls_request_t  req;

    pos = q;
    end = q + len;

    fuzz_field(&msn, &pos, end);
    fuzz_field(&part, &pos, end);
    fuzz_field(&skip, &pos, end);

    rc = fuzz_decide(&msn, &part, &skip, &req);

    free((void *) msn.data);
    free((void *) part.data);
    free((void *) skip.data);

    (void) rc;
}


/* one '|'-separated field as an exact heap copy; "~": absent */

static void
fuzz_field(ingest_str_t *s, const unsigned char **pos,
    const unsigned char *end)
{
    const unsigned char  *p, *bar;

    p = *pos;

    s->data = NULL;
    s->len = 0;

    if (p == NULL) {
        return;
    }

    bar = memchr(p, '|', end - p);

    s->len = (bar != NULL ? bar : end) - p;
    *pos = bar != NULL ? bar + 1 : NULL;

    if (s->len == 1 && p[0] == '~') {
        s->len = 0;
        return;
    }

    s->data = malloc(s->len != 0 ? s->len : 1);
    if (s->data == NULL) {
        abort();
    }

    memcpy((void *) s->data, p, s->len);
}


/* decides and holds the answer to the model's rules */

static ingest_llhls_rc_t
fuzz_decide(const ingest_str_t *msn, const ingest_str_t *part,
    const ingest_str_t *skip, ingest_llhls_request_t *req)
{
    int                      st;
    ingest_llhls_rc_t        rc, ready;
    ingest_llhls_query_t     q;
    ingest_llhls_playlist_t *pl;

    pl = &fuzz_pl;

    q.msn = *msn;
    q.part = *part;
    q.skip = *skip;

    rc = ingest_llhls_decide(pl, &q, req);
    st = ingest_llhls_http_status(rc);

    switch (rc) {

    case INGEST_LLHLS_SERVE_FULL:
    case INGEST_LLHLS_SERVE_DELTA:
    case INGEST_LLHLS_HOLD:
        ready = ingest_llhls_ready(pl, req);

        if (ready != rc) {
            abort();
        }

        if (rc == INGEST_LLHLS_HOLD
            && (!req->block || pl->endlist || !pl->can_block_reload))
        {
            abort();
        }

        /* a delta exactly when asked, allowed and there is one */

        if (rc != INGEST_LLHLS_HOLD
            && (rc == INGEST_LLHLS_SERVE_DELTA)
               != (req->skip && !pl->endlist
                   && ingest_llhls_skip_count(pl) != 0))
        {
            abort();
        }

        break;

    case INGEST_LLHLS_MSN_TOO_FAR:
        if (req->msn <= pl->next_msn + 1) {
            abort();
        }

        /* fall through */

    default:
        if (st != 400 || pl->endlist || !pl->can_block_reload) {
            abort();
        }
    }

    if (rc != INGEST_LLHLS_MSN_TOO_FAR && req->block
        && req->msn > pl->next_msn + 1)
    {
        abort();
    }

    return rc;
}


/* the same with numbers made into directives */

static ingest_llhls_rc_t
fuzz_decide_num(uint64_t msn, uint64_t part, int has_part,
    ingest_llhls_request_t *req)
{
    unsigned char      m[20], p[20];
    ingest_str_t       ms, ps, ss;
    ingest_llhls_rc_t  rc;

    ms.len = ingest_format_u64(m, msn);
    ms.data = malloc(ms.len);
    ps.len = ingest_format_u64(p, part);
    ps.data = malloc(ps.len);

    if (ms.data == NULL || ps.data == NULL) {
        abort();
    }

    memcpy((void *) ms.data, m, ms.len);
    memcpy((void *) ps.data, p, ps.len);

    ss.data = (const unsigned char *) "YES";
    ss.len = 3;

    if (!has_part) {
        free((void *) ps.data);
        ps.data = NULL;
        ps.len = 0;
    }

    rc = fuzz_decide(&ms, &ps, &ss, req);

    free((void *) ms.data);
    free((void *) ps.data);

    return rc;
}


/*
 * Requests around the live edge, in (msn, part) order: what is answered
 * is a prefix of them, and with part `part` of msn answered, the whole
 * segment msn - 1 is.
 */

static void
fuzz_targets(void)
{
    size_t                   i, j, k, np;
    uint64_t                 m, base, t, parts[24];
    unsigned                 served, prev;
    ingest_llhls_rc_t        rc;
    ingest_llhls_request_t   req, whole;
    ingest_llhls_playlist_t *pl;

    pl = &fuzz_pl;

    /* part indices: small ones, and around the tail and the limit */

    np = 0;

    for (i = 0; i < 8; i++) {
        parts[np++] = i;
    }

    for (i = 0; i < 3; i++) {
        parts[np++] = pl->ntail + i;
        parts[np++] = ingest_llhls_advance_part_limit(pl) + i;
    }

    if (pl->nsegments != 0) {
        parts[np++] = pl->segments[pl->nsegments - 1].nparts;
    }

    for (i = 1; i < np; i++) {
        for (j = i; j > 0 && parts[j - 1] > parts[j]; j--) {
            t = parts[j];
            parts[j] = parts[j - 1];
            parts[j - 1] = t;
        }
    }

    base = pl->next_msn > 5 ? pl->next_msn - 5 : 0;
    prev = 1;

    for (i = 0; i < 8; i++) {
        m = base + i;

        for (k = 0; k < np; k++) {
            if (k != 0 && parts[k] == parts[k - 1]) {
                continue;
            }

            memset(&req, 0, sizeof(req));
            req.msn = m;
            req.part = parts[k];
            req.block = 1;
            req.has_part = pl->part_target > 0;

            rc = ingest_llhls_ready(pl, &req);

            if (rc != INGEST_LLHLS_HOLD && rc != INGEST_LLHLS_SERVE_FULL) {
                abort();
            }

            served = rc != INGEST_LLHLS_HOLD || !pl->can_block_reload
                     || pl->endlist;

            if (req.has_part && served && !prev) {
                abort();
            }

            if (req.has_part) {
                prev = served;
            }

            if (served && m > 0) {
                whole = req;
                whole.msn = m - 1;
                whole.has_part = 0;

                if (ingest_llhls_ready(pl, &whole) == INGEST_LLHLS_HOLD) {
                    abort();
                }
            }

            if (k < 12) {
                (void) fuzz_decide_num(m, parts[k], k & 1, &req);
            }
        }
    }

    /* before the playlist: at once */

    if (pl->first_msn > 0) {
        rc = fuzz_decide_num(pl->first_msn - 1, 1000, 1, &req);

        if (pl->can_block_reload && rc == INGEST_LLHLS_HOLD) {
            abort();
        }
    }
}


static void
fuzz_delta(const unsigned char *p)
{
    int                      v;
    int64_t                  skipped_dur;
    size_t                   n, k, i;
    unsigned char           *d;
    ingest_llhls_rc_t        rc;
    ingest_llhls_playlist_t  pl2, *pl;

    pl = &fuzz_pl;

    n = ingest_llhls_delta(p, pl, NULL, 0);
    k = ingest_llhls_skip_count(pl);

    if ((n != 0) != (k != 0 && !pl->endlist)) {
        abort();
    }

    if (n == 0) {
        return;
    }

    /* too small by one, then exact: ASan watches the ends */

    d = malloc(n);
    if (d == NULL) {
        abort();
    }

    if (ingest_llhls_delta(p, pl, d, n - 1) != n
        || ingest_llhls_delta(p, pl, d, n) != n)
    {
        abort();
    }

    rc = ingest_llhls_parse(d, n, &pl2, fuzz_segs2, FUZZ_SEGS);

    skipped_dur = 0;

    for (i = 0; i < k; i++) {
        skipped_dur += fuzz_segs[i].duration;
    }

    if (rc != INGEST_LLHLS_OK || !pl2.has_skip || pl2.skipped != k
        || pl2.media_sequence != pl->media_sequence
        || pl2.nsegments != pl->nsegments - k
        || pl2.next_msn != pl->next_msn
        || pl2.ntail != pl->ntail
        || pl2.tail_duration != pl->tail_duration
        || pl2.duration != pl->duration - skipped_dur
        || pl2.target != pl->target
        || pl2.part_target != pl->part_target
        || pl2.can_skip_until != pl->can_skip_until
        || pl2.can_block_reload != pl->can_block_reload
        || pl2.endlist != pl->endlist
        || pl2.version < INGEST_LLHLS_SKIP_VERSION
        || pl2.hint_len != pl->hint_len
        || ingest_llhls_delta(d, &pl2, NULL, 0) != 0)
    {
        abort();
    }

    /*
     * The segments kept are the same bytes, but for the first (the
     * header lines kept from the skipped ones end up in it) and an
     * EXT-X-VERSION raised to 9 in one of them.
     */

    for (i = 0; i < pl2.nsegments; i++) {
        v = pl->version_len != 0 && pl->version < INGEST_LLHLS_SKIP_VERSION
            && pl->version_off >= fuzz_segs[k + i].start
            && pl->version_off < fuzz_segs[k + i].end;

        if (fuzz_segs2[i].duration != fuzz_segs[k + i].duration
            || fuzz_segs2[i].nparts != fuzz_segs[k + i].nparts
            || (i != 0 && !v
                && (fuzz_segs2[i].end - fuzz_segs2[i].start
                    != fuzz_segs[k + i].end - fuzz_segs[k + i].start
                    || memcmp(d + fuzz_segs2[i].start,
                              p + fuzz_segs[k + i].start,
                              fuzz_segs2[i].end - fuzz_segs2[i].start)
                       != 0)))
        {
            abort();
        }
    }

    free(d);
}


static void
fuzz_files(const unsigned char *p)
{
    size_t                   i, s, e;
    ingest_llhls_rc_t        rc;
    ingest_llhls_playlist_t *pl;

    pl = &fuzz_pl;

    if (pl->hint_len != 0) {
        rc = ingest_llhls_file(p, pl, p + pl->hint_off, pl->hint_len);

        if (rc != INGEST_LLHLS_LISTED
            && rc != (pl->endlist ? INGEST_LLHLS_UNKNOWN
                                  : INGEST_LLHLS_PRELOAD_HINTED))
        {
            abort();
        }
    }

    /* the URI line that ends a segment, for a few of them */

    for (i = 0; i < pl->nsegments; i += 1 + pl->nsegments / 4) {
        e = fuzz_segs[i].end;

        if (e > 0 && p[e - 1] == '\n') {
            e--;
        }

        while (e > fuzz_segs[i].start
               && (p[e - 1] == '\r' || p[e - 1] == ' ' || p[e - 1] == '\t'))
        {
            e--;
        }

        s = e;

        while (s > fuzz_segs[i].start && p[s - 1] != '\n') {
            s--;
        }

        if (ingest_llhls_file(p, pl, p + s, e - s) != INGEST_LLHLS_LISTED) {
            abort();
        }
    }

    if (pl->len > 0) {
        (void) ingest_llhls_file(p, pl, p, pl->len > 16 ? 16 : pl->len);
    }
}
