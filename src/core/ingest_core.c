
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_core.h"

#include <limits.h>
#include <string.h>


static int ingest_base64_value(unsigned char c);


static const unsigned char  ingest_hex[] = "0123456789abcdef";

static const unsigned char  ingest_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int
ingest_parse_u64(const unsigned char *p, size_t len, uint64_t *out)
{
    size_t    i;
    uint64_t  v;

    /*
     * 19 digits always fit an uint64_t (< 10^19 < 2^64), so the
     * accumulation below cannot wrap; the range check comes after.
     */

    if (p == NULL || len == 0 || len > 19) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        v = v * 10 + (uint64_t) (p[i] - '0');
    }

    if (v > INGEST_MAX_OFF) {
        return -1;
    }

    *out = v;

    return 0;
}


size_t
ingest_format_u64(unsigned char *out, uint64_t v)
{
    size_t         n, i;
    unsigned char  tmp[20];

    n = 0;

    do {
        tmp[n++] = (unsigned char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    for (i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }

    return n;
}


int
ingest_id_valid(const unsigned char *p, size_t len)
{
    size_t  i;

    if (p == NULL || len != INGEST_ID_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
            return 0;
        }
    }

    return 1;
}


void
ingest_id_format(const unsigned char *rnd, unsigned char *out)
{
    size_t  i;

    for (i = 0; i < INGEST_ID_RAND_BYTES; i++) {
        out[2 * i] = ingest_hex[rnd[i] >> 4];
        out[2 * i + 1] = ingest_hex[rnd[i] & 0x0f];
    }
}


static int
ingest_base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return -1;
}


/*
 * out may be NULL: the input is then only validated and the decoded
 * length returned (the metadata and job code rely on this).
 */

ssize_t
ingest_base64_decode(unsigned char *out, const unsigned char *in, size_t len)
{
    int       a, b, c, d;
    size_t    i, n, pad;
    uint32_t  v;

    if (len == 0) {
        return 0;
    }

    if (in == NULL || len % 4 != 0 || len / 4 > (size_t) SSIZE_MAX / 3) {
        return -1;
    }

    pad = 0;

    if (in[len - 1] == '=') {
        pad = (in[len - 2] == '=') ? 2 : 1;
    }

    n = 0;

    for (i = 0; i < len; i += 4) {
        a = ingest_base64_value(in[i]);
        b = ingest_base64_value(in[i + 1]);

        if (a < 0 || b < 0) {
            return -1;
        }

        if (i + 4 == len && pad == 2) {
            /* "xx==": the low 4 bits of the second character are unused */

            if (b & 0x0f) {
                return -1;
            }

            if (out != NULL) {
                out[n] = (unsigned char) ((a << 2) | (b >> 4));
            }

            n += 1;
            break;
        }

        c = ingest_base64_value(in[i + 2]);

        if (c < 0) {
            return -1;
        }

        if (i + 4 == len && pad == 1) {
            /* "xxx=": the low 2 bits of the third character are unused */

            if (c & 0x03) {
                return -1;
            }

            if (out != NULL) {
                v = ((uint32_t) a << 18) | ((uint32_t) b << 12)
                    | ((uint32_t) c << 6);
                out[n] = (unsigned char) (v >> 16);
                out[n + 1] = (unsigned char) (v >> 8);
            }

            n += 2;
            break;
        }

        d = ingest_base64_value(in[i + 3]);

        if (d < 0) {
            return -1;
        }

        if (out != NULL) {
            v = ((uint32_t) a << 18) | ((uint32_t) b << 12)
                | ((uint32_t) c << 6) | (uint32_t) d;
            out[n] = (unsigned char) (v >> 16);
            out[n + 1] = (unsigned char) (v >> 8);
            out[n + 2] = (unsigned char) v;
        }

        n += 3;
    }

    return (ssize_t) n;
}


size_t
ingest_base64_encode(unsigned char *out, const unsigned char *in, size_t len)
{
    size_t         i;
    uint32_t       v;
    unsigned char  *p;

    p = out;

    for (i = 0; i + 3 <= len; i += 3) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];
        *p++ = ingest_base64_alphabet[(v >> 18) & 0x3f];
        *p++ = ingest_base64_alphabet[(v >> 12) & 0x3f];
        *p++ = ingest_base64_alphabet[(v >> 6) & 0x3f];
        *p++ = ingest_base64_alphabet[v & 0x3f];
    }

    if (len - i == 1) {
        v = (uint32_t) in[i] << 16;
        *p++ = ingest_base64_alphabet[(v >> 18) & 0x3f];
        *p++ = ingest_base64_alphabet[(v >> 12) & 0x3f];
        *p++ = '=';
        *p++ = '=';

    } else if (len - i == 2) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);
        *p++ = ingest_base64_alphabet[(v >> 18) & 0x3f];
        *p++ = ingest_base64_alphabet[(v >> 12) & 0x3f];
        *p++ = ingest_base64_alphabet[(v >> 6) & 0x3f];
        *p++ = '=';
    }

    return (size_t) (p - out);
}


int
ingest_memeq_ct(const unsigned char *a, const unsigned char *b, size_t len)
{
    size_t                  i;
    volatile unsigned char  acc;

    acc = 0;

    for (i = 0; i < len; i++) {
        acc |= a[i] ^ b[i];
    }

    return acc == 0;
}
