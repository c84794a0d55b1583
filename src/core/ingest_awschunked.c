
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_awschunked.h"

#include <string.h>

#include <openssl/evp.h>


enum {
    INGEST_AWSCHUNKED_ST_LINE = 0,      /* a chunk line */
    INGEST_AWSCHUNKED_ST_DATA,
    INGEST_AWSCHUNKED_ST_DATA_END,      /* check the chunk signature */
    INGEST_AWSCHUNKED_ST_DATA_CR,
    INGEST_AWSCHUNKED_ST_DATA_LF,
    INGEST_AWSCHUNKED_ST_TRAILER,       /* trailer lines, "" ends them */
    INGEST_AWSCHUNKED_ST_DONE,
    INGEST_AWSCHUNKED_ST_ERROR
};


static ingest_awschunked_status_t ingest_awschunked_fail(
    ingest_awschunked_t *ck, ingest_s3_rc_t rc);
static int ingest_awschunked_read_line(ingest_awschunked_t *ck,
    const unsigned char **pos, const unsigned char *end);
static ingest_s3_rc_t ingest_awschunked_chunk_line(ingest_awschunked_t *ck);
static ingest_s3_rc_t ingest_awschunked_trailer_line(ingest_awschunked_t *ck);
static ingest_s3_rc_t ingest_awschunked_trailers_end(
    ingest_awschunked_t *ck);
static ingest_s3_rc_t ingest_awschunked_verify(ingest_awschunked_t *ck,
    int trailer, const unsigned char *hash, const unsigned char *sig);
static int ingest_awschunked_sig(const unsigned char *p, size_t len,
    unsigned char *sig);
static int ingest_awschunked_hexval(unsigned char c);
static int ingest_awschunked_signed(ingest_awschunked_t *ck);


ingest_s3_rc_t
ingest_awschunked_init(ingest_awschunked_t *ck,
    const ingest_sigv4_auth_t *auth, const unsigned char *key,
    const ingest_s3_header_t *headers, size_t nheaders)
{
    size_t                n;
    uint64_t              v;
    ingest_str_t          value;
    const unsigned char  *p, *e;

    memset(ck, 0, sizeof(ingest_awschunked_t));

    ck->state = INGEST_AWSCHUNKED_ST_ERROR;
    ck->rc = INGEST_S3_INVALID_REQUEST;
    ck->decoded_length = -1;

    if (!ingest_sigv4_payload_chunked(auth->payload)) {
        return ck->rc;
    }

    ck->mode = auth->payload;

    if (ingest_awschunked_signed(ck)) {
        if (key == NULL) {
            ck->rc = INGEST_S3_INTERNAL_ERROR;
            return ck->rc;
        }

        memcpy(ck->key, key, INGEST_SIGV4_KEY_LEN);
        ingest_sigv4_hex(ck->prev, auth->signature, 32);

        memcpy(ck->head, auth->amz_date, INGEST_S3_AMZ_DATE_LEN);
        n = INGEST_S3_AMZ_DATE_LEN;
        ck->head[n++] = '\n';
        memcpy(ck->head + n, auth->scope, auth->scope_len);
        n += auth->scope_len;
        ck->head[n++] = '\n';
        ck->head_len = n;

        ck->md = EVP_MD_CTX_new();
        if (ck->md == NULL) {
            ck->rc = INGEST_S3_INTERNAL_ERROR;
            return ck->rc;
        }
    }

    switch (ingest_s3_header_find(headers, nheaders,
                                  "x-amz-decoded-content-length", &value))
    {
    case 0:
        if (ingest_awschunked_signed(ck)) {
            ck->rc = INGEST_S3_MISSING_DECODED_LENGTH;
            return ck->rc;
        }

        break;

    case 1:
        p = value.data != NULL ? value.data : (const unsigned char *) "";
        e = p + value.len;

        while (p < e && (*p == ' ' || *p == '\t')) {
            p++;
        }

        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        if (ingest_parse_u64(p, (size_t) (e - p), &v) != 0) {
            ck->rc = INGEST_S3_BAD_DECODED_LENGTH;
            return ck->rc;
        }

        ck->decoded_length = (int64_t) v;
        break;

    default:
        ck->rc = INGEST_S3_BAD_DECODED_LENGTH;
        return ck->rc;
    }

    switch (ingest_s3_header_find(headers, nheaders, "x-amz-trailer",
                                  &value))
    {
    case 0:
        break;

    case 1:
        p = value.data != NULL ? value.data : (const unsigned char *) "";
        e = p + value.len;

        while (p < e && (*p == ' ' || *p == '\t')) {
            p++;
        }

        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        /* one checksum trailer, and only in the trailer modes */

        ck->algo = ingest_s3_cksum_by_header(p, (size_t) (e - p));

        if (ck->algo == INGEST_S3_CKSUM_NONE
            || ck->mode == INGEST_SIGV4_PAYLOAD_STREAMING)
        {
            ck->rc = INGEST_S3_TRAILER_INVALID;
            return ck->rc;
        }

        if (ingest_s3_cksum_init(&ck->cksum, ck->algo) != 0) {
            ck->rc = INGEST_S3_INTERNAL_ERROR;
            return ck->rc;
        }

        break;

    default:
        ck->rc = INGEST_S3_TRAILER_INVALID;
        return ck->rc;
    }

    ck->state = INGEST_AWSCHUNKED_ST_LINE;
    ck->rc = INGEST_S3_OK;

    return INGEST_S3_OK;
}


ingest_awschunked_status_t
ingest_awschunked_feed(ingest_awschunked_t *ck, const unsigned char **pos,
    const unsigned char *end, ingest_str_t *data)
{
    int                   rc;
    size_t                n;
    unsigned int          mdlen;
    ingest_s3_rc_t        s3rc;
    const unsigned char  *p;
    unsigned char         md[EVP_MAX_MD_SIZE];

    p = *pos;
    data->data = NULL;
    data->len = 0;

    for ( ;; ) {

        switch (ck->state) {

        case INGEST_AWSCHUNKED_ST_LINE:
        case INGEST_AWSCHUNKED_ST_TRAILER:

            rc = ingest_awschunked_read_line(ck, &p, end);
            *pos = p;

            if (rc == 1) {
                return INGEST_AWSCHUNKED_AGAIN;
            }

            if (ck->state == INGEST_AWSCHUNKED_ST_LINE) {
                s3rc = (rc == 0) ? ingest_awschunked_chunk_line(ck)
                                 : INGEST_S3_CHUNKED_MALFORMED;

            } else {
                s3rc = (rc == 0) ? ingest_awschunked_trailer_line(ck)
                                 : INGEST_S3_TRAILER_MALFORMED;
            }

            ck->line_len = 0;

            if (s3rc != INGEST_S3_OK) {
                return ingest_awschunked_fail(ck, s3rc);
            }

            break;

        case INGEST_AWSCHUNKED_ST_DATA:

            if (p == end) {
                *pos = p;
                return INGEST_AWSCHUNKED_AGAIN;
            }

            n = (size_t) (end - p);
            if ((uint64_t) n > ck->chunk_left) {
                n = (size_t) ck->chunk_left;
            }

            if (ck->md != NULL && EVP_DigestUpdate(ck->md, p, n) != 1) {
                return ingest_awschunked_fail(ck, INGEST_S3_INTERNAL_ERROR);
            }

            if (ck->algo != INGEST_S3_CKSUM_NONE
                && ingest_s3_cksum_update(&ck->cksum, p, n) != 0)
            {
                return ingest_awschunked_fail(ck, INGEST_S3_INTERNAL_ERROR);
            }

            ck->chunk_left -= n;
            ck->total += n;

            if (ck->chunk_left == 0) {
                ck->state = INGEST_AWSCHUNKED_ST_DATA_END;
            }

            data->data = p;
            data->len = n;
            *pos = p + n;

            return INGEST_AWSCHUNKED_DATA;

        case INGEST_AWSCHUNKED_ST_DATA_END:

            if (ck->md != NULL) {
                if (EVP_DigestFinal_ex(ck->md, md, &mdlen) != 1
                    || mdlen != 32)
                {
                    return ingest_awschunked_fail(ck,
                                                  INGEST_S3_INTERNAL_ERROR);
                }

                s3rc = ingest_awschunked_verify(ck, 0, md, ck->chunk_sig);
                if (s3rc != INGEST_S3_OK) {
                    *pos = p;
                    return ingest_awschunked_fail(ck, s3rc);
                }
            }

            ck->state = INGEST_AWSCHUNKED_ST_DATA_CR;
            break;

        case INGEST_AWSCHUNKED_ST_DATA_CR:
        case INGEST_AWSCHUNKED_ST_DATA_LF:

            if (p == end) {
                *pos = p;
                return INGEST_AWSCHUNKED_AGAIN;
            }

            if (*p != (ck->state == INGEST_AWSCHUNKED_ST_DATA_CR ? '\r' : '\n'))
            {
                *pos = p;
                return ingest_awschunked_fail(ck, INGEST_S3_CHUNKED_MALFORMED);
            }

            p++;
            ck->state = (ck->state == INGEST_AWSCHUNKED_ST_DATA_CR)
                        ? INGEST_AWSCHUNKED_ST_DATA_LF
                        : INGEST_AWSCHUNKED_ST_LINE;
            break;

        case INGEST_AWSCHUNKED_ST_DONE:

            *pos = p;

            if (p != end) {
                return ingest_awschunked_fail(ck, INGEST_S3_CHUNKED_MALFORMED);
            }

            return INGEST_AWSCHUNKED_DONE;

        default: /* INGEST_AWSCHUNKED_ST_ERROR */

            *pos = p;
            return INGEST_AWSCHUNKED_ERROR;
        }
    }
}


ingest_s3_rc_t
ingest_awschunked_eof(ingest_awschunked_t *ck)
{
    if (ck->state == INGEST_AWSCHUNKED_ST_DONE) {
        return INGEST_S3_OK;
    }

    if (ck->state == INGEST_AWSCHUNKED_ST_ERROR) {
        return ck->rc;
    }

    return INGEST_S3_INCOMPLETE_BODY;
}


void
ingest_awschunked_free(ingest_awschunked_t *ck)
{
    if (ck->md != NULL) {
        EVP_MD_CTX_free(ck->md);
        ck->md = NULL;
    }

    ingest_s3_cksum_free(&ck->cksum);
}


static ingest_awschunked_status_t
ingest_awschunked_fail(ingest_awschunked_t *ck, ingest_s3_rc_t rc)
{
    ck->state = INGEST_AWSCHUNKED_ST_ERROR;
    ck->rc = rc;

    return INGEST_AWSCHUNKED_ERROR;
}


/*
 * Collects a line into ck->line up to its LF; the line must end with
 * CRLF and have no other CR. Returns 0 with the line (CR dropped), 1 when
 * more input is needed, -1 on a bad or too long line.
 */

static int
ingest_awschunked_read_line(ingest_awschunked_t *ck,
    const unsigned char **pos, const unsigned char *end)
{
    unsigned char         c;
    const unsigned char  *p;

    p = *pos;

    while (p < end) {
        c = *p++;

        if (ck->line_len != 0 && ck->line[ck->line_len - 1] == '\r') {
            *pos = p;

            if (c != '\n') {
                return -1;
            }

            ck->line_len--;
            return 0;
        }

        if (c == '\n' || ck->line_len > INGEST_AWSCHUNKED_LINE_MAX) {
            *pos = p;
            return -1;
        }

        ck->line[ck->line_len++] = c;
    }

    *pos = p;

    return 1;
}


/* "<hex size>;chunk-signature=<64 hex>" or "<hex size>[;extensions]" */

static ingest_s3_rc_t
ingest_awschunked_chunk_line(ingest_awschunked_t *ck)
{
    int                   d;
    size_t                i, len;
    uint64_t              size;
    unsigned int          mdlen;
    ingest_s3_rc_t        rc;
    const unsigned char  *p;
    unsigned char         md[EVP_MAX_MD_SIZE];

    static const char  ext[] = ";chunk-signature=";

    p = ck->line;
    len = ck->line_len;
    size = 0;

    for (i = 0; i < len && i <= 16; i++) {
        d = ingest_awschunked_hexval(p[i]);
        if (d < 0) {
            break;
        }

        size = size << 4 | (uint64_t) d;
    }

    if (i == 0 || i > 16 || size > INGEST_MAX_OFF) {
        return INGEST_S3_CHUNKED_MALFORMED;
    }

    p += i;
    len -= i;

    if (ingest_awschunked_signed(ck)) {
        if (len != sizeof(ext) - 1 + 64
            || memcmp(p, ext, sizeof(ext) - 1) != 0
            || ingest_awschunked_sig(p + sizeof(ext) - 1, 64, ck->chunk_sig)
               != 0)
        {
            return INGEST_S3_CHUNKED_MALFORMED;
        }

    } else if (len != 0) {

        /* extensions of an unsigned stream are ignored, but printable */

        if (p[0] != ';') {
            return INGEST_S3_CHUNKED_MALFORMED;
        }

        for (i = 1; i < len; i++) {
            if ((p[i] < 0x20 && p[i] != '\t') || p[i] >= 0x7f) {
                return INGEST_S3_CHUNKED_MALFORMED;
            }
        }
    }

    if (ck->decoded_length >= 0) {
        if (size > (uint64_t) ck->decoded_length - ck->total) {
            return INGEST_S3_DECODED_LENGTH;
        }

    } else if (size > INGEST_MAX_OFF - ck->total) {
        return INGEST_S3_CHUNKED_MALFORMED;
    }

    if (ck->md != NULL && EVP_DigestInit_ex(ck->md, EVP_sha256(), NULL) != 1) {
        return INGEST_S3_INTERNAL_ERROR;
    }

    if (size != 0) {
        ck->chunk_left = size;
        ck->state = INGEST_AWSCHUNKED_ST_DATA;
        return INGEST_S3_OK;
    }

    /* the last chunk: sign the empty data, then the trailers */

    if (ck->md != NULL) {
        if (EVP_DigestFinal_ex(ck->md, md, &mdlen) != 1 || mdlen != 32) {
            return INGEST_S3_INTERNAL_ERROR;
        }

        rc = ingest_awschunked_verify(ck, 0, md, ck->chunk_sig);
        if (rc != INGEST_S3_OK) {
            return rc;
        }
    }

    ck->state = INGEST_AWSCHUNKED_ST_TRAILER;

    return INGEST_S3_OK;
}


/* "name:value"; the empty line ends the trailers */

static ingest_s3_rc_t
ingest_awschunked_trailer_line(ingest_awschunked_t *ck)
{
    size_t                i, nlen, vlen;
    unsigned int          mdlen;
    const char           *want;
    ingest_s3_rc_t        rc;
    const unsigned char  *p, *colon, *v, *e;
    unsigned char         sig[32], md[EVP_MAX_MD_SIZE];

    static const char  sig_name[] = "x-amz-trailer-signature";

    if (ck->line_len == 0) {
        return ingest_awschunked_trailers_end(ck);
    }

    if (ck->mode == INGEST_SIGV4_PAYLOAD_STREAMING) {
        return INGEST_S3_TRAILER_MALFORMED;
    }

    p = ck->line;
    colon = memchr(p, ':', ck->line_len);

    if (colon == NULL || colon == p) {
        return INGEST_S3_TRAILER_MALFORMED;
    }

    nlen = (size_t) (colon - p);

    for (i = 0; i < nlen; i++) {
        if (p[i] >= 'A' && p[i] <= 'Z') {
            ck->line[i] |= 0x20;
        }
    }

    v = colon + 1;
    e = p + ck->line_len;

    while (v < e && (*v == ' ' || *v == '\t')) {
        v++;
    }

    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }

    vlen = (size_t) (e - v);

    if (nlen == sizeof(sig_name) - 1 && memcmp(p, sig_name, nlen) == 0) {

        if (ck->seen_signature) {
            return INGEST_S3_TRAILER_MALFORMED;
        }

        ck->seen_signature = 1;

        if (ck->mode == INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER) {
            /* nothing signed it: ignored */
            return INGEST_S3_OK;
        }

        /* it signs the trailers before it */

        if (ck->algo != INGEST_S3_CKSUM_NONE && !ck->seen_checksum) {
            return INGEST_S3_TRAILER_MALFORMED;
        }

        if (ingest_awschunked_sig(v, vlen, sig) != 0) {
            return INGEST_S3_TRAILER_MALFORMED;
        }

        if (EVP_DigestInit_ex(ck->md, EVP_sha256(), NULL) != 1
            || EVP_DigestUpdate(ck->md, ck->canon, ck->canon_len) != 1
            || EVP_DigestFinal_ex(ck->md, md, &mdlen) != 1 || mdlen != 32)
        {
            return INGEST_S3_INTERNAL_ERROR;
        }

        rc = ingest_awschunked_verify(ck, 1, md, sig);

        return (rc == INGEST_S3_CHUNK_SIGNATURE_MISMATCH)
               ? INGEST_S3_TRAILER_SIGNATURE_MISMATCH : rc;
    }

    want = ingest_s3_cksum_header(ck->algo);

    if (want == NULL || nlen != strlen(want) || memcmp(p, want, nlen) != 0
        || ck->seen_checksum || ck->seen_signature)
    {
        return INGEST_S3_TRAILER_MALFORMED;
    }

    if (ingest_s3_cksum_parse(ck->algo, v, vlen, ck->digest) != INGEST_S3_OK) {
        return INGEST_S3_TRAILER_MALFORMED;
    }

    ck->seen_checksum = 1;

    /* the canonical form signed by x-amz-trailer-signature */

    memcpy(ck->canon, p, nlen);
    ck->canon[nlen] = ':';
    memcpy(ck->canon + nlen + 1, v, vlen);
    ck->canon_len = nlen + 1 + vlen;
    ck->canon[ck->canon_len++] = '\n';

    return INGEST_S3_OK;
}


static ingest_s3_rc_t
ingest_awschunked_trailers_end(ingest_awschunked_t *ck)
{
    unsigned char  digest[INGEST_S3_CKSUM_MAX_DIGEST];

    if ((ck->algo != INGEST_S3_CKSUM_NONE && !ck->seen_checksum)
        || (ck->mode == INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER
            && !ck->seen_signature))
    {
        return INGEST_S3_TRAILER_MALFORMED;
    }

    if (ck->decoded_length >= 0
        && ck->total != (uint64_t) ck->decoded_length)
    {
        return INGEST_S3_DECODED_LENGTH;
    }

    if (ck->algo != INGEST_S3_CKSUM_NONE) {
        if (ingest_s3_cksum_final(&ck->cksum, digest) != 0) {
            return INGEST_S3_INTERNAL_ERROR;
        }

        if (memcmp(digest, ck->digest, ingest_s3_cksum_size(ck->algo)) != 0) {
            return INGEST_S3_BAD_DIGEST;
        }
    }

    ck->state = INGEST_AWSCHUNKED_ST_DONE;

    return INGEST_S3_OK;
}


/*
 * HMAC(key, algorithm "\n" date "\n" scope "\n" previous signature "\n"
 * [sha256("") "\n"] hex(hash)) == sig, the algorithm being
 * "AWS4-HMAC-SHA256-PAYLOAD" for a chunk (whose empty chunk headers
 * hash first) or "AWS4-HMAC-SHA256-TRAILER"; on success sig becomes the
 * previous signature
 */

static ingest_s3_rc_t
ingest_awschunked_verify(ingest_awschunked_t *ck, int trailer,
    const unsigned char *hash, const unsigned char *sig)
{
    size_t         n;
    unsigned char  mac[32];
    unsigned char  sts[32 + sizeof(ck->head) + 3 * 65];

    static const char  chunk_alg[] = "AWS4-HMAC-SHA256-PAYLOAD\n";
    static const char  trailer_alg[] = "AWS4-HMAC-SHA256-TRAILER\n";

    if (trailer) {
        memcpy(sts, trailer_alg, sizeof(trailer_alg) - 1);
        n = sizeof(trailer_alg) - 1;

    } else {
        memcpy(sts, chunk_alg, sizeof(chunk_alg) - 1);
        n = sizeof(chunk_alg) - 1;
    }

    memcpy(sts + n, ck->head, ck->head_len);
    n += ck->head_len;
    memcpy(sts + n, ck->prev, 64);
    n += 64;
    sts[n++] = '\n';

    if (!trailer) {
        memcpy(sts + n, INGEST_SIGV4_EMPTY_SHA256, 64);
        n += 64;
        sts[n++] = '\n';
    }

    ingest_sigv4_hex(sts + n, hash, 32);
    n += 64;

    if (ingest_sigv4_hmac(ck->key, INGEST_SIGV4_KEY_LEN, sts, n, mac) != 0) {
        return INGEST_S3_INTERNAL_ERROR;
    }

    if (!ingest_memeq_ct(mac, sig, 32)) {
        return INGEST_S3_CHUNK_SIGNATURE_MISMATCH;
    }

    ingest_sigv4_hex(ck->prev, sig, 32);

    return INGEST_S3_OK;
}


/* 64 lower case hex digits */

static int
ingest_awschunked_sig(const unsigned char *p, size_t len, unsigned char *sig)
{
    int     hi, lo;
    size_t  i;

    if (len != 64) {
        return -1;
    }

    for (i = 0; i < 32; i++) {
        hi = ingest_awschunked_hexval(p[2 * i]);
        lo = ingest_awschunked_hexval(p[2 * i + 1]);

        if (hi < 0 || lo < 0 || (p[2 * i] >= 'A' && p[2 * i] <= 'F')
            || (p[2 * i + 1] >= 'A' && p[2 * i + 1] <= 'F'))
        {
            return -1;
        }

        sig[i] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}


static int
ingest_awschunked_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


static int
ingest_awschunked_signed(ingest_awschunked_t *ck)
{
    return ck->mode == INGEST_SIGV4_PAYLOAD_STREAMING
           || ck->mode == INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER;
}
