
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for the tus header rules and the upload record.
 * The first byte picks what the rest is:
 *   0  Tus-Resumable and Content-Type values
 *   1  Upload-Metadata: a valid value iterates to unique keys whose
 *      values decode, and every key is found again by metadata_get
 *   2  Upload-Checksum: a parsed digest has its algorithm's length
 *   3  Upload-Concat: a final upload names valid ids only
 *   4  a creation request: four header values and two numbers
 *   5  a record (.info): what parses formats, parses to the same
 *      fields and formats to the same bytes again
 *   6  a PATCH against a record: the limit never passes the length
 *   7  decimal and base64 text: what decodes encodes to the same text
 */


#include "ingest_core.h"
#include "ingest_record.h"
#include "ingest_tus.h"

#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fuzz_metadata(const unsigned char *p, size_t len);
static void fuzz_checksum(const unsigned char *p, size_t len);
static void fuzz_concat(const unsigned char *p, size_t len);
static void fuzz_create(const unsigned char *p, size_t len);
static void fuzz_record(const unsigned char *p, size_t len);
static void fuzz_patch(const unsigned char *p, size_t len);
static void fuzz_text(const unsigned char *p, size_t len);
static size_t fuzz_split(const unsigned char *p, size_t len,
    ingest_str_t *out, size_t n);
static uint64_t fuzz_u64(const unsigned char *p, size_t len);
static void fuzz_same(const ingest_str_t *a, const ingest_str_t *b);


static unsigned char  fuzz_buf[INGEST_RECORD_MAX * 2];
static unsigned char  fuzz_buf2[INGEST_RECORD_MAX * 2];


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const unsigned char  *p;
    size_t                len;

    if (size == 0) {
        return 0;
    }

    p = data + 1;
    len = size - 1;

    switch (data[0] % 8) {

    case 0:
        if (ingest_tus_check_version(p, len) == INGEST_TUS_OK
            && (len != 5 || memcmp(p, "1.0.0", 5) != 0))
        {
            abort();
        }

        (void) ingest_tus_check_content_type(p, len);
        break;

    case 1:
        fuzz_metadata(p, len);
        break;

    case 2:
        fuzz_checksum(p, len);
        break;

    case 3:
        fuzz_concat(p, len);
        break;

    case 4:
        fuzz_create(p, len);
        break;

    case 5:
        fuzz_record(p, len);
        break;

    case 6:
        fuzz_patch(p, len);
        break;

    default:
        fuzz_text(p, len);
        break;
    }

    return 0;
}


static void
fuzz_metadata(const unsigned char *p, size_t len)
{
    char                    key[256];
    size_t                  n, i;
    ssize_t                 got, dec;
    ingest_str_t            k, v, keys[64];
    ingest_tus_meta_iter_t  it;

    if (ingest_tus_metadata_validate(p, len) != INGEST_TUS_OK) {
        return;
    }

    n = 0;
    ingest_tus_meta_iter_init(&it, p, len);

    while (ingest_tus_meta_next(&it, &k, &v)) {

        if (k.len == 0 || k.data < p || k.data + k.len > p + len) {
            abort();
        }

        for (i = 0; i < k.len; i++) {
            if (k.data[i] <= 0x20 || k.data[i] >= 0x7f
                || k.data[i] == ',')
            {
                abort();
            }
        }

        /* keys are unique */
        for (i = 0; i < n && i < 64; i++) {
            if (keys[i].len == k.len
                && memcmp(keys[i].data, k.data, k.len) == 0)
            {
                abort();
            }
        }

        if (n < 64) {
            keys[n] = k;
        }

        n++;

        dec = ingest_base64_decode(fuzz_buf, v.data, v.len);
        if (dec < 0) {
            abort();
        }

        if (k.len >= sizeof(key)) {
            continue;
        }

        memcpy(key, k.data, k.len);
        key[k.len] = '\0';

        got = ingest_tus_metadata_get(p, len, key, fuzz_buf2,
                                      sizeof(fuzz_buf2));
        if (got != dec || memcmp(fuzz_buf, fuzz_buf2, (size_t) dec) != 0) {
            abort();
        }
    }
}


static void
fuzz_checksum(const unsigned char *p, size_t len)
{
    size_t               i;
    unsigned char        digest[INGEST_CKSUM_MAX_DIGEST + 8];
    ingest_cksum_algo_t  algo;

    memset(digest, 0xa5, sizeof(digest));

    if (ingest_tus_checksum_parse(p, len, &algo, digest) != INGEST_TUS_OK) {
        return;
    }

    if (algo == INGEST_CKSUM_NONE
        || ingest_cksum_size(algo) == 0
        || ingest_cksum_size(algo) > INGEST_CKSUM_MAX_DIGEST)
    {
        abort();
    }

    for (i = INGEST_CKSUM_MAX_DIGEST; i < sizeof(digest); i++) {
        if (digest[i] != 0xa5) {
            abort();
        }
    }
}


static void
fuzz_concat(const unsigned char *p, size_t len)
{
    size_t               i, nids;
    ingest_tus_concat_t  type;
    static unsigned char ids[INGEST_TUS_MAX_PARTS * INGEST_ID_LEN];

    nids = 0;

    if (ingest_tus_concat_parse(p, len, &type, ids, &nids) != INGEST_TUS_OK) {
        return;
    }

    if (type == INGEST_TUS_CONCAT_FINAL) {
        if (nids == 0 || nids > INGEST_TUS_MAX_PARTS) {
            abort();
        }

        for (i = 0; i < nids; i++) {
            if (!ingest_id_valid(ids + i * INGEST_ID_LEN, INGEST_ID_LEN)) {
                abort();
            }
        }

    } else if (type != INGEST_TUS_CONCAT_PARTIAL) {
        abort();
    }
}


static void
fuzz_create(const unsigned char *p, size_t len)
{
    ingest_str_t                f[6];
    ingest_tus_create_req_t     req;
    static ingest_tus_create_t  out;

    memset(f, 0, sizeof(f));
    (void) fuzz_split(p, len, f, 6);

    memset(&req, 0, sizeof(req));

    /* an empty field is an absent header */
    if (f[0].len) {
        req.upload_length = f[0];
    }

    if (f[1].len) {
        req.defer_length = f[1];
    }

    if (f[2].len) {
        req.metadata = f[2];
    }

    if (f[3].len) {
        req.concat = f[3];
    }

    req.content_length = f[4].len ? (int64_t) (fuzz_u64(f[4].data, f[4].len)
                                               >> 1)
                                  : -1;
    req.max_size = fuzz_u64(f[5].data, f[5].len);

    if (ingest_tus_create_check(&req, &out) != INGEST_TUS_OK) {
        return;
    }

    if (out.concat == INGEST_TUS_CONCAT_FINAL) {
        if (req.upload_length.data != NULL || out.nparts == 0) {
            abort();
        }

        return;
    }

    if (out.deferred) {
        if (req.upload_length.data != NULL) {
            abort();
        }

        return;
    }

    if (out.length > INGEST_MAX_OFF
        || (req.max_size && out.length > req.max_size)
        || (req.content_length > 0
            && (uint64_t) req.content_length > out.length))
    {
        abort();
    }
}


static void
fuzz_record(const unsigned char *p, size_t len)
{
    size_t           n, n2, i;
    ingest_record_t  rec, rec2;

    if (ingest_record_parse(&rec, p, len) != 0) {
        return;
    }

    n = ingest_record_format(&rec, fuzz_buf, sizeof(fuzz_buf));
    if (n == 0) {
        abort();
    }

    if (ingest_record_parse(&rec2, fuzz_buf, n) != 0) {
        abort();
    }

    if (rec.protocol != rec2.protocol || rec.length != rec2.length
        || rec.deferred != rec2.deferred || rec.state != rec2.state
        || rec.concat != rec2.concat || rec.created != rec2.created
        || rec.expires != rec2.expires
        || rec.has_verify != rec2.has_verify
        || (rec.has_verify && rec.verify != rec2.verify))
    {
        abort();
    }

    fuzz_same(&rec.owner, &rec2.owner);
    fuzz_same(&rec.session, &rec2.session);
    fuzz_same(&rec.parts, &rec2.parts);
    fuzz_same(&rec.metadata, &rec2.metadata);

    n2 = ingest_record_format(&rec2, fuzz_buf2, sizeof(fuzz_buf2));
    if (n2 != n || memcmp(fuzz_buf, fuzz_buf2, n) != 0) {
        abort();
    }

    for (i = 0; i < ingest_record_nparts(&rec); i++) {
        if (!ingest_id_valid(ingest_record_part(&rec, i), INGEST_ID_LEN)) {
            abort();
        }
    }

    (void) ingest_record_expired(&rec, 1700000000);
}


static void
fuzz_patch(const unsigned char *p, size_t len)
{
    ingest_str_t            f[6];
    ingest_record_t         rec;
    ingest_tus_patch_t      out;
    ingest_tus_patch_req_t  req;

    memset(f, 0, sizeof(f));

    /* offset, length, content length, max size, current offset, record */
    if (fuzz_split(p, len, f, 6) < 6) {
        return;
    }

    if (ingest_record_parse(&rec, f[5].data, f[5].len) != 0) {
        return;
    }

    memset(&req, 0, sizeof(req));

    if (f[0].len) {
        req.upload_offset = f[0];
    }

    if (f[1].len) {
        req.upload_length = f[1];
    }

    req.content_length = f[2].len ? (int64_t) (fuzz_u64(f[2].data, f[2].len)
                                               >> 1)
                                  : -1;
    req.max_size = fuzz_u64(f[3].data, f[3].len);
    req.current_offset = fuzz_u64(f[4].data, f[4].len) >> 1;
    req.now = 1700000000;

    if (ingest_tus_patch_check(&req, &rec, &out) != INGEST_TUS_OK) {
        return;
    }

    if (out.offset != req.current_offset
        || out.offset > INGEST_MAX_OFF
        || out.limit > INGEST_MAX_OFF - out.offset
        || (req.content_length >= 0
            && (uint64_t) req.content_length > out.limit))
    {
        abort();
    }

    if (out.set_length) {
        if (!rec.deferred || out.new_length < out.offset
            || (req.max_size && out.new_length > req.max_size)
            || out.limit != out.new_length - out.offset)
        {
            abort();
        }

    } else if (!rec.deferred && out.limit != rec.length - out.offset) {
        abort();
    }
}


static void
fuzz_text(const unsigned char *p, size_t len)
{
    size_t         n;
    ssize_t        dec;
    uint64_t       v;
    unsigned char  num[32];

    if (ingest_parse_u64(p, len, &v) == 0) {
        if (v > INGEST_MAX_OFF) {
            abort();
        }

        n = ingest_format_u64(num, v);

        /* leading zeros are the only other spelling */
        if (n > len || memcmp(num, p + len - n, n) != 0) {
            abort();
        }
    }

    if (len > sizeof(fuzz_buf) / 2) {
        return;
    }

    dec = ingest_base64_decode(fuzz_buf, p, len);
    if (dec < 0) {
        return;
    }

    n = ingest_base64_encode(fuzz_buf2, fuzz_buf, (size_t) dec);
    if (n != len || memcmp(fuzz_buf2, p, len) != 0) {
        abort();
    }
}


/* splits at '\n' into at most n fields; returns how many there are */

static size_t
fuzz_split(const unsigned char *p, size_t len, ingest_str_t *out, size_t n)
{
    size_t                i;
    const unsigned char  *nl, *end;

    end = p + len;

    for (i = 0; i < n; i++) {
        nl = (i == n - 1) ? NULL : memchr(p, '\n', (size_t) (end - p));

        out[i].data = p;
        out[i].len = (nl ? nl : end) - p;

        if (nl == NULL) {
            return i + 1;
        }

        p = nl + 1;
    }

    return n;
}


static uint64_t
fuzz_u64(const unsigned char *p, size_t len)
{
    size_t    i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < len && i < 8; i++) {
        v = (v << 8) | p[i];
    }

    return v;
}


static void
fuzz_same(const ingest_str_t *a, const ingest_str_t *b)
{
    if (a->len != b->len
        || (a->len && memcmp(a->data, b->data, a->len) != 0))
    {
        abort();
    }
}
