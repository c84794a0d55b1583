
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_tus.h"

#include <string.h>


/* most pairs an Upload-Metadata value may hold */
#define INGEST_TUS_MAX_META_PAIRS  256


static const unsigned char *ingest_tus_meta_pair(const unsigned char *pos,
    const unsigned char *end, ingest_str_t *key, ingest_str_t *value,
    int *empty);
static int ingest_tus_lowcase_eq(const unsigned char *p, size_t len,
    const char *s);
static void ingest_tus_put2(unsigned char *p, unsigned v);


static const int  ingest_tus_status[INGEST_TUS_RC_LAST] = {
    [INGEST_TUS_OK] = 200,
    [INGEST_TUS_BAD_VERSION] = 412,
    [INGEST_TUS_BAD_CONTENT_TYPE] = 415,
    [INGEST_TUS_BAD_OFFSET] = 400,
    [INGEST_TUS_BAD_LENGTH] = 400,
    [INGEST_TUS_NO_LENGTH] = 400,
    [INGEST_TUS_BAD_DEFER] = 400,
    [INGEST_TUS_LENGTH_ALREADY_SET] = 400,
    [INGEST_TUS_LENGTH_BELOW_OFFSET] = 400,
    [INGEST_TUS_BAD_METADATA] = 400,
    [INGEST_TUS_BAD_CHECKSUM_HEADER] = 400,
    [INGEST_TUS_UNSUPPORTED_CHECKSUM] = 400,
    [INGEST_TUS_BAD_CONCAT] = 400,
    [INGEST_TUS_CONCAT_WITH_LENGTH] = 400,
    [INGEST_TUS_TOO_LARGE] = 413,
    [INGEST_TUS_EXCEEDS_LENGTH] = 413,
    [INGEST_TUS_OFFSET_MISMATCH] = 409,
    [INGEST_TUS_FINAL_PATCH] = 403,
    [INGEST_TUS_NOT_FOUND] = 404,
    [INGEST_TUS_GONE] = 410,
    [INGEST_TUS_LOCKED] = 423,
    [INGEST_TUS_CHECKSUM_MISMATCH] = 460,
    [INGEST_TUS_NOT_COMPLETE] = 409,
    [INGEST_TUS_PARTIAL_NOT_FOUND] = 400,
    [INGEST_TUS_PARTIAL_NOT_PARTIAL] = 400,
    [INGEST_TUS_METHOD_NOT_ALLOWED] = 405
};


static const char  *ingest_tus_reasons[INGEST_TUS_RC_LAST] = {
    [INGEST_TUS_OK] = "ok",
    [INGEST_TUS_BAD_VERSION] =
        "Tus-Resumable is missing or not 1.0.0",
    [INGEST_TUS_BAD_CONTENT_TYPE] =
        "Content-Type must be application/offset+octet-stream",
    [INGEST_TUS_BAD_OFFSET] =
        "Upload-Offset is missing or not a valid number",
    [INGEST_TUS_BAD_LENGTH] =
        "Upload-Length is not a valid number",
    [INGEST_TUS_NO_LENGTH] =
        "Upload-Length or Upload-Defer-Length is required",
    [INGEST_TUS_BAD_DEFER] =
        "Upload-Defer-Length must be 1 and comes without Upload-Length",
    [INGEST_TUS_LENGTH_ALREADY_SET] =
        "Upload-Length is already set to another value",
    [INGEST_TUS_LENGTH_BELOW_OFFSET] =
        "Upload-Length is smaller than the upload's offset",
    [INGEST_TUS_BAD_METADATA] =
        "Upload-Metadata is malformed",
    [INGEST_TUS_BAD_CHECKSUM_HEADER] =
        "Upload-Checksum is malformed",
    [INGEST_TUS_UNSUPPORTED_CHECKSUM] =
        "Upload-Checksum algorithm is not supported",
    [INGEST_TUS_BAD_CONCAT] =
        "Upload-Concat is malformed",
    [INGEST_TUS_CONCAT_WITH_LENGTH] =
        "a final upload cannot have Upload-Length",
    [INGEST_TUS_TOO_LARGE] =
        "upload is larger than the maximum size",
    [INGEST_TUS_EXCEEDS_LENGTH] =
        "request body goes past the upload's length",
    [INGEST_TUS_OFFSET_MISMATCH] =
        "Upload-Offset does not match the upload's offset",
    [INGEST_TUS_FINAL_PATCH] =
        "a final upload cannot be patched",
    [INGEST_TUS_NOT_FOUND] =
        "upload not found",
    [INGEST_TUS_GONE] =
        "upload has expired or was terminated",
    [INGEST_TUS_LOCKED] =
        "upload is being written by another request",
    [INGEST_TUS_CHECKSUM_MISMATCH] =
        "checksum does not match the request body",
    [INGEST_TUS_NOT_COMPLETE] =
        "upload is not complete",
    [INGEST_TUS_PARTIAL_NOT_FOUND] =
        "Upload-Concat names an unknown upload",
    [INGEST_TUS_PARTIAL_NOT_PARTIAL] =
        "Upload-Concat names an upload that is not partial",
    [INGEST_TUS_METHOD_NOT_ALLOWED] =
        "method not allowed"
};


static const char  *ingest_tus_wdays[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

static const char  *ingest_tus_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


int
ingest_tus_http_status(ingest_tus_rc_t rc)
{
    if ((unsigned) rc >= INGEST_TUS_RC_LAST) {
        return 500;
    }

    return ingest_tus_status[rc];
}


const char *
ingest_tus_reason(ingest_tus_rc_t rc)
{
    if ((unsigned) rc >= INGEST_TUS_RC_LAST) {
        return "internal error";
    }

    return ingest_tus_reasons[rc];
}


ingest_tus_rc_t
ingest_tus_check_version(const unsigned char *p, size_t len)
{
    if (p == NULL || len != sizeof(INGEST_TUS_VERSION) - 1
        || memcmp(p, INGEST_TUS_VERSION, len) != 0)
    {
        return INGEST_TUS_BAD_VERSION;
    }

    return INGEST_TUS_OK;
}


ingest_tus_rc_t
ingest_tus_check_content_type(const unsigned char *p, size_t len)
{
    size_t  n;

    if (p == NULL) {
        return INGEST_TUS_BAD_CONTENT_TYPE;
    }

    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }

    n = sizeof(INGEST_TUS_CONTENT_TYPE) - 1;

    if (len < n || !ingest_tus_lowcase_eq(p, n, INGEST_TUS_CONTENT_TYPE)) {
        return INGEST_TUS_BAD_CONTENT_TYPE;
    }

    p += n;
    len -= n;

    /* optional whitespace, then the end or parameters */

    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }

    if (len == 0 || *p == ';') {
        return INGEST_TUS_OK;
    }

    return INGEST_TUS_BAD_CONTENT_TYPE;
}


ingest_tus_rc_t
ingest_tus_metadata_validate(const unsigned char *p, size_t len)
{
    int                   empty;
    size_t                n, i;
    ingest_str_t          key, value;
    ingest_str_t          keys[INGEST_TUS_MAX_META_PAIRS];
    const unsigned char  *pos, *end;

    if (len == 0) {
        return INGEST_TUS_OK;
    }

    if (p == NULL) {
        return INGEST_TUS_BAD_METADATA;
    }

    pos = p;
    end = p + len;
    n = 0;

    while (pos != NULL) {
        pos = ingest_tus_meta_pair(pos, end, &key, &value, &empty);

        if (empty) {
            return INGEST_TUS_BAD_METADATA;
        }

        for (i = 0; i < key.len; i++) {
            if (key.data[i] < 0x21 || key.data[i] > 0x7e) {
                return INGEST_TUS_BAD_METADATA;
            }
        }

        if (value.len != 0
            && ingest_base64_decode(NULL, value.data, value.len) < 0)
        {
            return INGEST_TUS_BAD_METADATA;
        }

        if (n == INGEST_TUS_MAX_META_PAIRS) {
            return INGEST_TUS_BAD_METADATA;
        }

        for (i = 0; i < n; i++) {
            if (keys[i].len == key.len
                && memcmp(keys[i].data, key.data, key.len) == 0)
            {
                return INGEST_TUS_BAD_METADATA;
            }
        }

        keys[n++] = key;
    }

    return INGEST_TUS_OK;
}


ssize_t
ingest_tus_metadata_get(const unsigned char *p, size_t len, const char *key,
    unsigned char *out, size_t cap)
{
    size_t                  klen;
    ssize_t                 n;
    ingest_str_t            k, v;
    ingest_tus_meta_iter_t  it;

    if (key == NULL) {
        return -1;
    }

    klen = strlen(key);

    ingest_tus_meta_iter_init(&it, p, len);

    while (ingest_tus_meta_next(&it, &k, &v)) {
        if (k.len != klen || memcmp(k.data, key, klen) != 0) {
            continue;
        }

        if (v.len == 0) {
            return 0;
        }

        n = ingest_base64_decode(NULL, v.data, v.len);
        if (n < 0 || (size_t) n > cap) {
            return -1;
        }

        return ingest_base64_decode(out, v.data, v.len);
    }

    return -1;
}


void
ingest_tus_meta_iter_init(ingest_tus_meta_iter_t *it, const unsigned char *p,
    size_t len)
{
    if (p == NULL) {
        len = 0;
    }

    it->pos = p;
    it->end = (p != NULL) ? p + len : NULL;
}


int
ingest_tus_meta_next(ingest_tus_meta_iter_t *it, ingest_str_t *key,
    ingest_str_t *value)
{
    int  empty;

    /* empty pairs cannot be in validated metadata; skip them anyway */

    while (it->pos != NULL && it->pos < it->end) {
        it->pos = ingest_tus_meta_pair(it->pos, it->end, key, value, &empty);

        if (!empty) {
            return 1;
        }
    }

    it->pos = NULL;

    return 0;
}


ingest_tus_rc_t
ingest_tus_checksum_parse(const unsigned char *p, size_t len,
    ingest_cksum_algo_t *algo, unsigned char *digest)
{
    size_t                n;
    ssize_t               dlen;
    unsigned char         buf[ingest_base64_decoded_max(
                              ingest_base64_encoded_len(
                                  INGEST_CKSUM_MAX_DIGEST))];
    ingest_cksum_algo_t   a;
    const unsigned char  *sp, *b64;

    *algo = INGEST_CKSUM_NONE;

    if (p == NULL || len == 0) {
        return INGEST_TUS_BAD_CHECKSUM_HEADER;
    }

    sp = memchr(p, ' ', len);
    if (sp == NULL || sp == p) {
        return INGEST_TUS_BAD_CHECKSUM_HEADER;
    }

    a = ingest_cksum_algo(p, (size_t) (sp - p));

    switch (a) {

    case INGEST_CKSUM_SHA1:
    case INGEST_CKSUM_MD5:
    case INGEST_CKSUM_SHA256:
    case INGEST_CKSUM_CRC32:
        break;

    default:
        /* crc32c is known to the checksum code but not offered by tus */
        return INGEST_TUS_UNSUPPORTED_CHECKSUM;
    }

    b64 = sp + 1;
    n = len - (size_t) (b64 - p);

    /* an empty digest, a second space or anything too long is malformed */

    if (n == 0 || n > ingest_base64_encoded_len(INGEST_CKSUM_MAX_DIGEST)) {
        return INGEST_TUS_BAD_CHECKSUM_HEADER;
    }

    dlen = ingest_base64_decode(buf, b64, n);

    if (dlen < 0 || (size_t) dlen != ingest_cksum_size(a)) {
        return INGEST_TUS_BAD_CHECKSUM_HEADER;
    }

    memcpy(digest, buf, (size_t) dlen);
    *algo = a;

    return INGEST_TUS_OK;
}


ingest_tus_rc_t
ingest_tus_concat_parse(const unsigned char *p, size_t len,
    ingest_tus_concat_t *type, unsigned char *ids, size_t *nids)
{
    size_t                n;
    const unsigned char  *pos, *end, *start, *seg;

    *type = INGEST_TUS_CONCAT_NONE;
    *nids = 0;

    if (p == NULL) {
        return INGEST_TUS_BAD_CONCAT;
    }

    if (len == sizeof("partial") - 1 && memcmp(p, "partial", len) == 0) {
        *type = INGEST_TUS_CONCAT_PARTIAL;
        return INGEST_TUS_OK;
    }

    if (len < sizeof("final;") - 1 || memcmp(p, "final;", 6) != 0) {
        return INGEST_TUS_BAD_CONCAT;
    }

    pos = p + 6;
    end = p + len;
    n = 0;

    for ( ;; ) {
        while (pos < end && *pos == ' ') {
            pos++;
        }

        if (pos == end) {
            break;
        }

        start = pos;

        while (pos < end && *pos != ' ') {
            if (*pos < 0x21 || *pos > 0x7e || *pos == '?' || *pos == '#') {
                return INGEST_TUS_BAD_CONCAT;
            }

            pos++;
        }

        /* the id is the last path segment */

        seg = pos;

        while (seg > start && seg[-1] != '/') {
            seg--;
        }

        if (!ingest_id_valid(seg, (size_t) (pos - seg))) {
            return INGEST_TUS_BAD_CONCAT;
        }

        if (n == INGEST_TUS_MAX_PARTS) {
            return INGEST_TUS_BAD_CONCAT;
        }

        memcpy(ids + n * INGEST_ID_LEN, seg, INGEST_ID_LEN);
        n++;
    }

    if (n == 0) {
        return INGEST_TUS_BAD_CONCAT;
    }

    *type = INGEST_TUS_CONCAT_FINAL;
    *nids = n;

    return INGEST_TUS_OK;
}


ingest_tus_rc_t
ingest_tus_create_check(const ingest_tus_create_req_t *req,
    ingest_tus_create_t *out)
{
    int              deferred;
    uint64_t         length;
    ingest_tus_rc_t  rc;

    out->length = 0;
    out->deferred = 0;
    out->concat = INGEST_TUS_CONCAT_NONE;
    out->nparts = 0;

    if (req->concat.data != NULL) {
        rc = ingest_tus_concat_parse(req->concat.data, req->concat.len,
                                     &out->concat, out->parts, &out->nparts);
        if (rc != INGEST_TUS_OK) {
            return rc;
        }
    }

    if (out->concat == INGEST_TUS_CONCAT_FINAL) {

        /* the length of a final upload is the sum of its partials */

        if (req->upload_length.data != NULL) {
            return INGEST_TUS_CONCAT_WITH_LENGTH;
        }

        if (req->defer_length.data != NULL) {
            return INGEST_TUS_BAD_DEFER;
        }

        goto metadata;
    }

    deferred = 0;
    length = 0;

    if (req->defer_length.data != NULL) {
        if (req->upload_length.data != NULL) {
            return INGEST_TUS_BAD_DEFER;
        }

        if (req->defer_length.len != 1 || req->defer_length.data[0] != '1') {
            return INGEST_TUS_BAD_DEFER;
        }

        deferred = 1;

    } else if (req->upload_length.data == NULL) {
        return INGEST_TUS_NO_LENGTH;

    } else {
        if (ingest_parse_u64(req->upload_length.data, req->upload_length.len,
                             &length)
            != 0)
        {
            return INGEST_TUS_BAD_LENGTH;
        }

        if (req->max_size != 0 && length > req->max_size) {
            return INGEST_TUS_TOO_LARGE;
        }
    }

    if (req->content_length > 0) {
        if (!deferred && (uint64_t) req->content_length > length) {
            return INGEST_TUS_EXCEEDS_LENGTH;
        }

        if (deferred && req->max_size != 0
            && (uint64_t) req->content_length > req->max_size)
        {
            return INGEST_TUS_TOO_LARGE;
        }
    }

    out->length = length;
    out->deferred = deferred;

metadata:

    if (req->metadata.data != NULL
        && ingest_tus_metadata_validate(req->metadata.data, req->metadata.len)
           != INGEST_TUS_OK)
    {
        return INGEST_TUS_BAD_METADATA;
    }

    return INGEST_TUS_OK;
}


ingest_tus_rc_t
ingest_tus_patch_check(const ingest_tus_patch_req_t *req,
    const ingest_record_t *rec, ingest_tus_patch_t *out)
{
    int       known;
    uint64_t  offset, length, cap;

    out->offset = 0;
    out->limit = 0;
    out->set_length = 0;
    out->new_length = 0;

    if (rec->concat == INGEST_TUS_CONCAT_FINAL) {
        return INGEST_TUS_FINAL_PATCH;
    }

    if (rec->state != INGEST_STATE_COMPLETE
        && ingest_record_expired(rec, req->now))
    {
        return INGEST_TUS_GONE;
    }

    if (req->upload_offset.data == NULL
        || ingest_parse_u64(req->upload_offset.data, req->upload_offset.len,
                            &offset)
           != 0)
    {
        return INGEST_TUS_BAD_OFFSET;
    }

    if (offset != req->current_offset) {
        return INGEST_TUS_OFFSET_MISMATCH;
    }

    out->offset = offset;

    known = !rec->deferred;
    length = rec->length;

    if (req->upload_length.data != NULL) {
        if (ingest_parse_u64(req->upload_length.data, req->upload_length.len,
                             &length)
            != 0)
        {
            return INGEST_TUS_BAD_LENGTH;
        }

        if (!rec->deferred) {
            /* repeating the length already set is harmless */

            if (length != rec->length) {
                return INGEST_TUS_LENGTH_ALREADY_SET;
            }

        } else {
            if (length < offset) {
                return INGEST_TUS_LENGTH_BELOW_OFFSET;
            }

            if (req->max_size != 0 && length > req->max_size) {
                return INGEST_TUS_TOO_LARGE;
            }

            known = 1;
            out->set_length = 1;
            out->new_length = length;
        }
    }

    if (known) {

        /* a data file longer than the length: never allow more bytes */

        if (offset > length) {
            return INGEST_TUS_EXCEEDS_LENGTH;
        }

        out->limit = length - offset;

        if (req->content_length >= 0
            && (uint64_t) req->content_length > out->limit)
        {
            return INGEST_TUS_EXCEEDS_LENGTH;
        }

        return INGEST_TUS_OK;
    }

    /* no offset past what off_t holds, whatever max_size says */
    cap = (req->max_size != 0 && req->max_size < INGEST_MAX_OFF)
          ? req->max_size : INGEST_MAX_OFF;

    if (offset > cap) {
        return INGEST_TUS_TOO_LARGE;
    }

    out->limit = cap - offset;

    if (req->content_length >= 0
        && (uint64_t) req->content_length > out->limit)
    {
        return INGEST_TUS_TOO_LARGE;
    }

    return INGEST_TUS_OK;
}


size_t
ingest_http_date(unsigned char *out, int64_t t)
{
    int64_t         days, secs, z, era, doe, yoe, y, doy, mp, d, m;
    unsigned char  *p;

    /* IMF-fixdate has a 4-digit year: clamp to 1970..9999 */

    if (t < 0) {
        t = 0;

    } else if (t > INT64_C(253402300799)) {
        t = INT64_C(253402300799);
    }

    days = t / 86400;
    secs = t % 86400;

    /* civil_from_days() by Howard Hinnant, for days >= 0 */

    z = days + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = (mp < 10) ? mp + 3 : mp - 9;

    if (m <= 2) {
        y++;
    }

    p = out;

    /* 1970-01-01 was a Thursday */
    memcpy(p, ingest_tus_wdays[(days + 4) % 7], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    ingest_tus_put2(p, (unsigned) d);
    p += 2;
    *p++ = ' ';
    memcpy(p, ingest_tus_months[m - 1], 3);
    p += 3;
    *p++ = ' ';
    ingest_tus_put2(p, (unsigned) (y / 100));
    ingest_tus_put2(p + 2, (unsigned) (y % 100));
    p += 4;
    *p++ = ' ';
    ingest_tus_put2(p, (unsigned) (secs / 3600));
    p += 2;
    *p++ = ':';
    ingest_tus_put2(p, (unsigned) (secs / 60 % 60));
    p += 2;
    *p++ = ':';
    ingest_tus_put2(p, (unsigned) (secs % 60));
    p += 2;
    memcpy(p, " GMT", 4);
    p += 4;

    return (size_t) (p - out);
}


/*
 * Splits off one pair of an Upload-Metadata value: up to the next ','
 * or the end, without the spaces around it. The key runs to the first
 * space; the value is what follows that space. Returns where the next
 * pair starts, or NULL after the last one.
 */

static const unsigned char *
ingest_tus_meta_pair(const unsigned char *pos, const unsigned char *end,
    ingest_str_t *key, ingest_str_t *value, int *empty)
{
    const unsigned char  *comma, *s, *e, *k;

    comma = memchr(pos, ',', (size_t) (end - pos));

    s = pos;
    e = (comma != NULL) ? comma : end;

    while (s < e && *s == ' ') {
        s++;
    }

    while (e > s && e[-1] == ' ') {
        e--;
    }

    k = s;

    while (k < e && *k != ' ') {
        k++;
    }

    key->data = s;
    key->len = (size_t) (k - s);

    if (k < e) {
        value->data = k + 1;
        value->len = (size_t) (e - k - 1);

    } else {
        value->data = e;
        value->len = 0;
    }

    *empty = (s == e);

    return (comma != NULL) ? comma + 1 : NULL;
}


static int
ingest_tus_lowcase_eq(const unsigned char *p, size_t len, const char *s)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char) (c | 0x20);
        }

        if (c != (unsigned char) s[i]) {
            return 0;
        }
    }

    return 1;
}


static void
ingest_tus_put2(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char) ('0' + v / 10 % 10);
    p[1] = (unsigned char) ('0' + v % 10);
}
