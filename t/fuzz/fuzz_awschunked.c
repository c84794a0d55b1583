
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for the aws-chunked decoder. The first byte picks:
 *   0-3  the rest is a body for one of the modes (signed, signed with a
 *        crc32c trailer, unsigned with a crc32 trailer, unsigned without
 *        trailer); decoded whole and in slices of another size, the two
 *        must agree on the verdict and the data
 *   4-5  the rest is data the harness encodes into a valid stream
 *        (signed, or unsigned with a checksum trailer; chunk size from
 *        the input): it must decode to the same data; then one bit of
 *        the stream flipped must never decode to DONE
 */


#include "ingest_awschunked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fuzz_setup(ingest_sigv4_payload_t payload, const char *trailer,
    const char *length);
static ingest_awschunked_status_t fuzz_decode(const unsigned char *in,
    size_t len, size_t slice, unsigned char *out, size_t *olen,
    ingest_s3_rc_t *rc);
static size_t fuzz_encode(unsigned char *out, const unsigned char *data,
    size_t len, size_t chunk, int sign, ingest_s3_cksum_algo_t algo);
static size_t fuzz_cat(unsigned char *out, size_t n, const void *s,
    size_t len);


#define FUZZ_MAX  (1 << 16)

static const unsigned char  fuzz_key[32] = "fuzz signing key, thirty-two b.";

static ingest_sigv4_auth_t  fuzz_auth;
static ingest_s3_header_t   fuzz_h[4];
static size_t               fuzz_nh;
static char                 fuzz_len[24];


static void
fuzz_setup(ingest_sigv4_payload_t payload, const char *trailer,
    const char *length)
{
    memset(&fuzz_auth, 0, sizeof(fuzz_auth));
    fuzz_auth.payload = payload;
    memcpy(fuzz_auth.amz_date, "20130524T000000Z", 16);
    fuzz_auth.scope_len = sizeof("20130524/us-east-1/s3/aws4_request") - 1;
    memcpy(fuzz_auth.scope, "20130524/us-east-1/s3/aws4_request",
           fuzz_auth.scope_len);
    memset(fuzz_auth.signature, 0x5c, 32);

    fuzz_nh = 0;

    if (trailer != NULL) {
        fuzz_h[fuzz_nh].name.data = (const unsigned char *) "x-amz-trailer";
        fuzz_h[fuzz_nh].name.len = 13;
        fuzz_h[fuzz_nh].value.data = (const unsigned char *) trailer;
        fuzz_h[fuzz_nh].value.len = strlen(trailer);
        fuzz_nh++;
    }

    if (length != NULL) {
        fuzz_h[fuzz_nh].name.data = (const unsigned char *)
                                    "x-amz-decoded-content-length";
        fuzz_h[fuzz_nh].name.len = 28;
        fuzz_h[fuzz_nh].value.data = (const unsigned char *) length;
        fuzz_h[fuzz_nh].value.len = strlen(length);
        fuzz_nh++;
    }
}


/* feeds in slices (0: whole), the glue's way; out gets the data */

static ingest_awschunked_status_t
fuzz_decode(const unsigned char *in, size_t len, size_t slice,
    unsigned char *out, size_t *olen, ingest_s3_rc_t *rc)
{
    size_t                      n;
    ingest_str_t                d;
    ingest_awschunked_t         ck;
    const unsigned char        *p, *end, *s, *e;
    ingest_awschunked_status_t  st;

    *olen = 0;

    if (ingest_awschunked_init(&ck, &fuzz_auth, fuzz_key, fuzz_h, fuzz_nh)
        != INGEST_S3_OK)
    {
        abort();
    }

    p = in;
    end = in + len;
    st = INGEST_AWSCHUNKED_AGAIN;

    while (p < end) {
        n = (slice == 0 || slice > (size_t) (end - p)) ? (size_t) (end - p)
                                                        : slice;
        s = p;
        e = p + n;

        do {
            st = ingest_awschunked_feed(&ck, &s, e, &d);

            if (st == INGEST_AWSCHUNKED_DATA) {
                if (d.data < p || d.data + d.len > e || d.len == 0
                    || *olen + d.len > FUZZ_MAX)
                {
                    abort();
                }

                memcpy(out + *olen, d.data, d.len);
                *olen += d.len;
            }

        } while (st == INGEST_AWSCHUNKED_DATA);

        if (s < p || s > e) {
            abort();
        }

        p = s;

        if (st == INGEST_AWSCHUNKED_ERROR) {
            break;
        }

        if (st == INGEST_AWSCHUNKED_AGAIN && p != e) {
            abort();
        }
    }

    *rc = ingest_awschunked_eof(&ck);

    if ((st == INGEST_AWSCHUNKED_DONE) != (*rc == INGEST_S3_OK)
        || (st == INGEST_AWSCHUNKED_ERROR && *rc != ck.rc)
        || (st == INGEST_AWSCHUNKED_AGAIN && *rc != INGEST_S3_INCOMPLETE_BODY)
        || ck.total != *olen)
    {
        abort();
    }

    ingest_awschunked_free(&ck);

    return st;
}


static size_t
fuzz_cat(unsigned char *out, size_t n, const void *s, size_t len)
{
    memcpy(out + n, s, len);

    return n + len;
}


/* a valid stream of data in chunks of chunk bytes */

static size_t
fuzz_encode(unsigned char *out, const unsigned char *data, size_t len,
    size_t chunk, int sign, ingest_s3_cksum_algo_t algo)
{
    size_t             n, k, off, m, start;
    const char        *name;
    ingest_s3_cksum_t  ck;
    unsigned char      prev[64], hash[32], sig[32], sts[512], line[128];
    unsigned char      digest[32], b64[48];

    ingest_sigv4_hex(prev, fuzz_auth.signature, 32);

    if (algo != INGEST_S3_CKSUM_NONE
        && (ingest_s3_cksum_init(&ck, algo) != 0
            || ingest_s3_cksum_update(&ck, data, len) != 0
            || ingest_s3_cksum_final(&ck, digest) != 0))
    {
        abort();
    }

    if (algo != INGEST_S3_CKSUM_NONE) {
        ingest_s3_cksum_free(&ck);
    }

    n = 0;
    off = 0;

    for ( ;; ) {
        k = len - off < chunk ? len - off : chunk;

        m = 0;
        line[m++] = "0123456789abcdef"[k >> 12 & 0xf];
        line[m++] = "0123456789abcdef"[k >> 8 & 0xf];
        line[m++] = "0123456789abcdef"[k >> 4 & 0xf];
        line[m++] = "0123456789abcdef"[k & 0xf];

        if (sign) {
            EVP_Digest(data + off, k, hash, NULL, EVP_sha256(), NULL);

            m = 0;
            m = fuzz_cat(sts, m, "AWS4-HMAC-SHA256-PAYLOAD\n", 25);
            m = fuzz_cat(sts, m, fuzz_auth.amz_date, 16);
            m = fuzz_cat(sts, m, "\n", 1);
            m = fuzz_cat(sts, m, fuzz_auth.scope, fuzz_auth.scope_len);
            m = fuzz_cat(sts, m, "\n", 1);
            m = fuzz_cat(sts, m, prev, 64);
            m = fuzz_cat(sts, m, "\n" INGEST_SIGV4_EMPTY_SHA256 "\n", 66);
            ingest_sigv4_hex(sts + m, hash, 32);
            m += 64;

            if (ingest_sigv4_hmac(fuzz_key, 32, sts, m, sig) != 0) {
                abort();
            }

            ingest_sigv4_hex(prev, sig, 32);

            m = 4;
            m = fuzz_cat(line, m, ";chunk-signature=", 17);
            m = fuzz_cat(line, m, prev, 64);
        }

        n = fuzz_cat(out, n, line, m);
        n = fuzz_cat(out, n, "\r\n", 2);
        n = fuzz_cat(out, n, data + off, k);
        off += k;

        if (k == 0) {
            break;
        }

        n = fuzz_cat(out, n, "\r\n", 2);
    }

    if (algo != INGEST_S3_CKSUM_NONE) {
        name = ingest_s3_cksum_header(algo);
        start = n;
        n = fuzz_cat(out, n, name, strlen(name));
        n = fuzz_cat(out, n, ":", 1);
        m = ingest_base64_encode(b64, digest, ingest_s3_cksum_size(algo));
        n = fuzz_cat(out, n, b64, m);

        if (sign) {
            /* sha256 of "name:value\n", chained to the last chunk */

            out[n] = '\n';
            EVP_Digest(out + start, n + 1 - start, hash, NULL, EVP_sha256(),
                       NULL);

            m = 0;
            m = fuzz_cat(sts, m, "AWS4-HMAC-SHA256-TRAILER\n", 25);
            m = fuzz_cat(sts, m, fuzz_auth.amz_date, 16);
            m = fuzz_cat(sts, m, "\n", 1);
            m = fuzz_cat(sts, m, fuzz_auth.scope, fuzz_auth.scope_len);
            m = fuzz_cat(sts, m, "\n", 1);
            m = fuzz_cat(sts, m, prev, 64);
            m = fuzz_cat(sts, m, "\n", 1);
            ingest_sigv4_hex(sts + m, hash, 32);
            m += 64;

            if (ingest_sigv4_hmac(fuzz_key, 32, sts, m, sig) != 0) {
                abort();
            }

            ingest_sigv4_hex(line, sig, 32);
            n = fuzz_cat(out, n, "\r\nx-amz-trailer-signature:", 26);
            n = fuzz_cat(out, n, line, 64);
        }

        n = fuzz_cat(out, n, "\r\n", 2);
    }

    return fuzz_cat(out, n, "\r\n", 2);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                         mode;
    size_t                      slice, olen, olen2, len, chunk, bit;
    unsigned char               c;
    unsigned char              *out, *out2, *enc;
    ingest_s3_rc_t              rc, rc2;
    ingest_s3_cksum_algo_t      algo;
    ingest_awschunked_status_t  st, st2;

    static const ingest_s3_cksum_algo_t  algos[] = {
        INGEST_S3_CKSUM_CRC32, INGEST_S3_CKSUM_CRC32C,
        INGEST_S3_CKSUM_CRC64NVME, INGEST_S3_CKSUM_SHA1,
        INGEST_S3_CKSUM_SHA256
    };

    if (size < 3 || size > FUZZ_MAX / 2) {
        return 0;
    }

    /* slices of 1..97 bytes; larger for large inputs, to keep pace */

    mode = data[0] % 6;
    slice = 1 + data[1] % 97 * (1 + size / 1024);
    data += 2;
    size -= 2;

    out = malloc(FUZZ_MAX);
    out2 = malloc(FUZZ_MAX);

    if (out == NULL || out2 == NULL) {
        abort();
    }

    switch (mode) {

    case 0:
        /* the declared length from the first byte, so it can match */
        snprintf(fuzz_len, sizeof(fuzz_len), "%u", data[0] * 3u);
        fuzz_setup(INGEST_SIGV4_PAYLOAD_STREAMING, NULL, fuzz_len);
        break;

    case 1:
        snprintf(fuzz_len, sizeof(fuzz_len), "%u", data[0] * 3u);
        fuzz_setup(INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER,
                   "x-amz-checksum-crc32c", fuzz_len);
        break;

    case 2:
        fuzz_setup(INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER,
                   "x-amz-checksum-crc32", NULL);
        break;

    case 3:
        fuzz_setup(INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER, NULL, NULL);
        break;

    default:
        goto encode;
    }

    st = fuzz_decode(data, size, 0, out, &olen, &rc);
    st2 = fuzz_decode(data, size, slice, out2, &olen2, &rc2);

    /* whole or in slices: the same verdict, the same data */

    if (st != st2 || rc != rc2 || olen != olen2
        || (olen != 0 && memcmp(out, out2, olen) != 0))
    {
        abort();
    }

    free(out);
    free(out2);

    return 0;

encode:

    if (size < 3) {
        free(out);
        free(out2);
        return 0;
    }

    chunk = 1 + (data[0] | (size_t) (data[1] & 0x3f) << 8);
    bit = (size_t) data[1] << 8 | data[2];
    data += 3;
    size -= 3;

    if (size > 4000) {
        size = 4000;
    }

    /* at most 64 chunks: each costs two HMACs */

    if (chunk < size / 64) {
        chunk = size / 64 + 1;
    }

    if (mode == 4) {
        algo = (bit & 1) ? INGEST_S3_CKSUM_CRC32C : INGEST_S3_CKSUM_NONE;
        snprintf(fuzz_len, sizeof(fuzz_len), "%zu", size);
        fuzz_setup(algo == INGEST_S3_CKSUM_NONE
                   ? INGEST_SIGV4_PAYLOAD_STREAMING
                   : INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER,
                   algo == INGEST_S3_CKSUM_NONE ? NULL
                                                : "x-amz-checksum-crc32c",
                   fuzz_len);

    } else {
        algo = algos[bit % 5];
        snprintf(fuzz_len, sizeof(fuzz_len), "%zu", size);
        fuzz_setup(INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER,
                   ingest_s3_cksum_header(algo),
                   (bit & 8) ? fuzz_len : NULL);
    }

    enc = malloc(size * 100 + 2048);
    if (enc == NULL) {
        abort();
    }

    len = fuzz_encode(enc, data, size, chunk, mode == 4, algo);

    st = fuzz_decode(enc, len, slice, out, &olen, &rc);

    if (st != INGEST_AWSCHUNKED_DONE || olen != size
        || (size != 0 && memcmp(out, data, size) != 0))
    {
        abort();
    }

    /*
     * Any one bit flipped: never a successful decode; but the case of a
     * letter may change where it does not matter (hex digits of sizes,
     * trailer names), so such flips only exercise the code.
     */

    bit %= len * 8;
    c = enc[bit / 8];
    enc[bit / 8] ^= (unsigned char) (1 << (bit % 8));

    st = fuzz_decode(enc, len, slice, out, &olen, &rc);

    if (st == INGEST_AWSCHUNKED_DONE
        && !(bit % 8 == 5 && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
    {
        abort();
    }

    free(enc);
    free(out);
    free(out2);

    return 0;
}
