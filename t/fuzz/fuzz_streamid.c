
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for the SRT stream id parser: the input is a stream
 * id. An accepted one must be well-formed, and must parse the same once
 * percent-encoded as a whole (what ffmpeg 5.1 sends).
 */


#include "ingest_streamid.h"

#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(const ingest_streamid_t *sid);
static void check_str(const ingest_streamid_t *sid, const ingest_str_t *s);
static void same(const ingest_str_t *a, const ingest_str_t *b);


static ingest_streamid_t  sid, sid2;


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                 i, n;
    unsigned char          enc[3 * INGEST_STREAMID_MAX_LEN];
    ingest_streamid_rc_t   rc;

    static const char      hex[] = "0123456789ABCDEF";

    rc = ingest_streamid_parse(data, size, &sid);

    if ((unsigned) rc >= INGEST_STREAMID_RC_LAST
        || ingest_streamid_reason(rc) == NULL
        || (rc != INGEST_STREAMID_OK
            && (ingest_streamid_srt_reject(rc) < 1400
                || ingest_streamid_srt_reject(rc) >= 1600)))
    {
        abort();
    }

    if (rc != INGEST_STREAMID_OK) {
        return 0;
    }

    check(&sid);

    /* verbatim and accepted: encoded as a whole, the same stream id */

    if (sid.percent_encoded || memchr(data, '%', size) != NULL) {
        return 0;
    }

    n = 0;

    for (i = 0; i < size; i++) {
        if ((data[i] >= 'a' && data[i] <= 'z')
            || (data[i] >= 'A' && data[i] <= 'Z')
            || (data[i] >= '0' && data[i] <= '9'))
        {
            enc[n++] = data[i];
            continue;
        }

        enc[n++] = '%';
        enc[n++] = hex[data[i] >> 4];
        enc[n++] = hex[data[i] & 0x0f];
    }

    if (n > INGEST_STREAMID_MAX_LEN) {
        return 0;
    }

    if (ingest_streamid_parse(enc, n, &sid2) != INGEST_STREAMID_OK
        || sid2.percent_encoded != (memchr(enc, '%', n) != NULL)
        || sid2.form != sid.form
        || sid2.mode != sid.mode || sid2.nextra != sid.nextra)
    {
        abort();
    }

    check(&sid2);

    same(&sid.resource, &sid2.resource);
    same(&sid.token, &sid2.token);
    same(&sid.user, &sid2.user);
    same(&sid.session, &sid2.session);
    same(&sid.host, &sid2.host);

    for (i = 0; i < sid.nextra; i++) {
        same(&sid.extra_key[i], &sid2.extra_key[i]);
        same(&sid.extra_value[i], &sid2.extra_value[i]);
    }

    return 0;
}


static void
check(const ingest_streamid_t *s)
{
    size_t  i;

    if (s->resource.data == NULL
        || !ingest_streamid_name_valid(s->resource.data, s->resource.len)
        || (s->form != INGEST_STREAMID_PLAIN
            && s->form != INGEST_STREAMID_KEYED)
        || s->nextra > INGEST_STREAMID_MAX_EXTRA
        || (s->form == INGEST_STREAMID_PLAIN
            && s->mode != INGEST_STREAMID_MODE_NONE))
    {
        abort();
    }

    if (s->token.data != NULL && s->token.len == 0) {
        abort();
    }

    for (i = 0; i < s->token.len; i++) {
        if (s->token.data[i] <= 0x20 || s->token.data[i] >= 0x7f
            || s->token.data[i] == ',' || s->token.data[i] == '&')
        {
            abort();
        }
    }

    check_str(s, &s->resource);
    check_str(s, &s->token);
    check_str(s, &s->user);
    check_str(s, &s->session);
    check_str(s, &s->host);

    for (i = 0; i < s->nextra; i++) {
        check_str(s, &s->extra_key[i]);
        check_str(s, &s->extra_value[i]);

        if (s->extra_key[i].len == 0) {
            abort();
        }
    }
}


/* inside buf, NUL-terminated, no control bytes */

static void
check_str(const ingest_streamid_t *s, const ingest_str_t *str)
{
    size_t  i;

    if (str->data == NULL) {
        return;
    }

    if (str->data < s->buf
        || str->data + str->len >= s->buf + sizeof(s->buf)
        || str->data[str->len] != '\0')
    {
        abort();
    }

    for (i = 0; i < str->len; i++) {
        if (str->data[i] < 0x20 || str->data[i] == 0x7f) {
            abort();
        }
    }
}


static void
same(const ingest_str_t *a, const ingest_str_t *b)
{
    if ((a->data == NULL) != (b->data == NULL) || a->len != b->len
        || (a->len > 0 && memcmp(a->data, b->data, a->len) != 0))
    {
        abort();
    }
}
