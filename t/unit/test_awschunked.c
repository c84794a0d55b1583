
/*
 * Copyright (C) nginx video ingest developers
 *
 * aws-chunked decoding: the AWS documentation's chunked uploads (64 KiB +
 * 1 KiB of "a", signed chunks, and with a signed crc32c trailer), the
 * unsigned trailer form botocore sends, every rejection, input fed byte
 * by byte and in random splits.
 */


#include "ingest_awschunked.h"
#include "test.h"

#include <openssl/evp.h>


#define AKID        "AKIAIOSFODNN7EXAMPLE"
#define SECRET      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T20130524   INT64_C(1369353600)

#define SEED                                                                  \
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define SIG1                                                                  \
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define SIG2                                                                  \
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define SIG3                                                                  \
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"

#define TSEED                                                                 \
    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define TSIG1                                                                 \
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define TSIG2                                                                 \
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define TSIG3                                                                 \
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define TTRAILER                                                              \
    "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


/* what decoding one body gave */
typedef struct {
    ingest_awschunked_status_t  st;
    ingest_s3_rc_t              rc;
    ingest_s3_rc_t              eof;
    size_t                      used;       /* input bytes consumed */
    size_t                      out;        /* decoded bytes */
    unsigned char               sha256[32];
} result_t;


static void set_header(const char *name, const char *value);
static ingest_s3_rc_t auth_doc(int trailer);
static ingest_s3_rc_t auth_unsigned(const char *trailer, const char *length);
static size_t body_doc(unsigned char *out, int trailer);
static size_t cat(unsigned char *out, size_t n, const char *s);
static size_t sign_stream(unsigned char *out, const unsigned char *data,
    size_t len, size_t chunk, const char *trailer);
static void test_signed_own(void);
static void decode(const unsigned char *body, size_t len, size_t split,
    uint64_t seed, result_t *r);
static void expect_ok(const unsigned char *body, size_t len,
    const unsigned char *sha, size_t out);
static void expect_err(const unsigned char *body, size_t len,
    ingest_s3_rc_t rc);
static void test_doc_signed(void);
static void test_doc_trailer(void);
static void test_unsigned(void);
static void test_init(void);
static void test_framing(void);
static void test_signed_rejections(void);
static void test_trailer_rejections(void);
static void test_awschunked(void);
static void init_doc_sha(void);
static void run(void);


static ingest_s3_header_t   hdrs[32];
static size_t               nhdrs;
static ingest_sigv4_auth_t  auth;
static unsigned char        key[32];
static unsigned char        body[70000 + 4096];
static unsigned char        doc_sha[32];


static void
set_header(const char *name, const char *value)
{
    size_t  i;

    for (i = 0; i < nhdrs; i++) {
        if (strcasecmp((const char *) hdrs[i].name.data, name) == 0) {
            break;
        }
    }

    if (i == nhdrs) {
        if (value == NULL) {
            return;
        }

        nhdrs++;
    }

    if (value == NULL) {
        memmove(&hdrs[i], &hdrs[i + 1], (nhdrs - i - 1) * sizeof(hdrs[0]));
        nhdrs--;
        return;
    }

    hdrs[i].name.data = (const unsigned char *) name;
    hdrs[i].name.len = strlen(name);
    hdrs[i].value.data = (const unsigned char *) value;
    hdrs[i].value.len = strlen(value);
}


/* the documentation's seed requests, verified for auth and key */

static ingest_s3_rc_t
auth_doc(int trailer)
{
    ingest_s3_rc_t          rc;
    ingest_sigv4_request_t  req;

    nhdrs = 0;
    set_header("Host", "s3.amazonaws.com");
    set_header("x-amz-date", "20130524T000000Z");
    set_header("x-amz-storage-class", "REDUCED_REDUNDANCY");
    set_header("Content-Encoding", "aws-chunked");
    set_header("x-amz-decoded-content-length", "66560");
    set_header("Content-Length", "66824");

    if (trailer) {
        set_header("Authorization",
                   "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/"
                   "s3/aws4_request,SignedHeaders=content-encoding;host;"
                   "x-amz-content-sha256;x-amz-date;"
                   "x-amz-decoded-content-length;x-amz-storage-class;"
                   "x-amz-trailer,Signature=" TSEED);
        set_header("x-amz-content-sha256",
                   "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");
        set_header("x-amz-trailer", "x-amz-checksum-crc32c");

    } else {
        set_header("Authorization",
                   "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/"
                   "s3/aws4_request,SignedHeaders=content-encoding;"
                   "content-length;host;x-amz-content-sha256;x-amz-date;"
                   "x-amz-decoded-content-length;x-amz-storage-class,"
                   "Signature=" SEED);
        set_header("x-amz-content-sha256",
                   "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    }

    memset(&req, 0, sizeof(req));
    req.method.data = (const unsigned char *) "PUT";
    req.method.len = 3;
    req.path.data = (const unsigned char *) "/examplebucket/chunkObject.txt";
    req.path.len = strlen((const char *) req.path.data);
    req.headers = hdrs;
    req.nheaders = nhdrs;
    req.now = T20130524;

    rc = ingest_sigv4_parse(&req, NULL, &auth);
    if (rc != INGEST_S3_OK) {
        return rc;
    }

    if (ingest_sigv4_auth_key(&auth, (const unsigned char *) SECRET, 40, key)
        != 0)
    {
        return INGEST_S3_INTERNAL_ERROR;
    }

    return ingest_sigv4_verify(&req, &auth, key);
}


/* an unsigned-trailer request as botocore sends it (not verified) */

static ingest_s3_rc_t
auth_unsigned(const char *trailer, const char *length)
{
    nhdrs = 0;
    set_header("Host", "s3.example.test");
    set_header("x-amz-date", "20130524T000000Z");
    set_header("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    set_header("Content-Encoding", "aws-chunked");
    set_header("x-amz-trailer", trailer);
    set_header("x-amz-decoded-content-length", length);

    memset(&auth, 0, sizeof(auth));
    auth.payload = INGEST_SIGV4_PAYLOAD_UNSIGNED_TRAILER;

    return INGEST_S3_OK;
}


static size_t
body_doc(unsigned char *out, int trailer)
{
    size_t  n;

    n = cat(out, 0, "10000;chunk-signature=");
    n = cat(out, n, trailer ? TSIG1 : SIG1);
    n = cat(out, n, "\r\n");
    memset(out + n, 'a', 65536);
    n += 65536;
    n = cat(out, n, "\r\n400;chunk-signature=");
    n = cat(out, n, trailer ? TSIG2 : SIG2);
    n = cat(out, n, "\r\n");
    memset(out + n, 'a', 1024);
    n += 1024;
    n = cat(out, n, "\r\n0;chunk-signature=");
    n = cat(out, n, trailer ? TSIG3 : SIG3);
    n = cat(out, n, "\r\n");

    if (trailer) {
        n = cat(out, n, "x-amz-checksum-crc32c:sOO8/Q==\r\n"
                "x-amz-trailer-signature:" TTRAILER "\r\n\r\n");

    } else {
        n = cat(out, n, "\r\n");
    }

    return n;
}


static size_t
cat(unsigned char *out, size_t n, const char *s)
{
    memcpy(out + n, s, strlen(s));

    return n + strlen(s);
}


/*
 * Decodes a heap copy of the body (exactly len bytes) with the current
 * auth, key and headers: in slices of split bytes, or random slices
 * (split 0), or one byte at a time (split 1).
 */

static void
decode(const unsigned char *in, size_t len, size_t split, uint64_t seed,
    result_t *r)
{
    size_t                      n;
    EVP_MD_CTX                 *md;
    ingest_str_t                data;
    unsigned char              *copy;
    ingest_awschunked_t         ck;
    const unsigned char        *p, *end, *q;

    memset(r, 0, sizeof(result_t));
    copy = test_dup(in, len);
    md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);

    r->rc = ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs);
    r->st = INGEST_AWSCHUNKED_ERROR;

    if (r->rc == INGEST_S3_OK) {
        p = copy;
        end = copy + len;
        r->st = INGEST_AWSCHUNKED_AGAIN;

        /* like the glue: all input is fed, also after DONE */

        while (r->st == INGEST_AWSCHUNKED_AGAIN
               || (r->st == INGEST_AWSCHUNKED_DONE && p < end))
        {
            n = split != 0 ? split : 1 + test_rand(&seed) % 9000;
            if (n > (size_t) (end - p)) {
                n = (size_t) (end - p);
            }

            /* every slice is its own heap block: reads past it show */

            q = test_dup(p, n);

            {
                const unsigned char  *s = q;

                do {
                    r->st = ingest_awschunked_feed(&ck, &s, q + n, &data);

                    if (r->st == INGEST_AWSCHUNKED_DATA) {
                        if (data.data < q || data.data + data.len > q + n) {
                            TEST_FAIL("data outside the input: %zu",
                                      data.len);
                        }

                        EVP_DigestUpdate(md, data.data, data.len);
                        r->out += data.len;
                    }

                } while (r->st == INGEST_AWSCHUNKED_DATA);

                r->used += (size_t) (s - q);
                p += s - q;
            }

            free((void *) q);

            if (r->st == INGEST_AWSCHUNKED_AGAIN && p == end) {
                break;
            }
        }

        r->rc = ck.rc;
        r->eof = ingest_awschunked_eof(&ck);
    }

    ingest_awschunked_free(&ck);
    EVP_DigestFinal_ex(md, r->sha256, NULL);
    EVP_MD_CTX_free(md);
    free(copy);
}


static void
expect_ok(const unsigned char *in, size_t len, const unsigned char *sha,
    size_t out)
{
    size_t    i;
    result_t  r;

    static const size_t  splits[] = { 0, 1, 2, 3, 7, 64, 85, 86, 87, 4096,
                                      65536, 65622, 1 << 20 };

    for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {

        /* tiny slices of large bodies take long under ASan */

        if (splits[i] != 0 && splits[i] < 8 && len > 70000) {
            continue;
        }

        decode(in, len, splits[i], i + 1, &r);

        if (r.st != INGEST_AWSCHUNKED_DONE || r.rc != INGEST_S3_OK
            || r.eof != INGEST_S3_OK || r.used != len || r.out != out
            || (sha != NULL && memcmp(r.sha256, sha, 32) != 0))
        {
            TEST_FAIL("split %zu: status %d %s used %zu/%zu out %zu/%zu",
                      splits[i], r.st, ingest_s3_error_code(r.rc), r.used,
                      len, r.out, out);
        } else {
            test_passed++;
        }
    }

    /* random splits with other seeds */

    for (i = 0; i < 8; i++) {
        decode(in, len, 0, 100 + i, &r);

        if (r.st != INGEST_AWSCHUNKED_DONE || r.out != out) {
            TEST_FAIL("random split %zu: %s", i, ingest_s3_error_code(r.rc));
        } else {
            test_passed++;
        }
    }
}


/* fails with rc, whole and byte by byte; never DONE; eof says rc too */

static void
expect_err(const unsigned char *in, size_t len, ingest_s3_rc_t rc)
{
    size_t    i;
    result_t  r;

    static const size_t  splits[] = { 1 << 20, 1, 0 };

    for (i = 0; i < 3; i++) {

        /* byte by byte: the expect_ok() runs cover the long bodies */

        if (splits[i] == 1 && len > 4096) {
            continue;
        }

        decode(in, len, splits[i], 42, &r);

        if (r.st != INGEST_AWSCHUNKED_ERROR || r.rc != rc || r.eof != rc) {
            TEST_FAIL("split %zu: status %d %s (want %s) at %zu of %zu",
                      splits[i], r.st, ingest_s3_error_code(r.rc),
                      ingest_s3_error_code(rc), r.used, len);
        } else {
            test_passed++;
        }
    }
}


static void
test_doc_signed(void)
{
    size_t    len;
    result_t  r;

    CHECK_INT(auth_doc(0), INGEST_S3_OK);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_STREAMING);

    len = body_doc(body, 0);
    CHECK_U64(len, 66824);              /* the Content-Length shown */

    expect_ok(body, len, doc_sha, 66560);

    /* a changed byte in a chunk: that chunk's signature */

    body[100] = 'b';
    expect_err(body, len, INGEST_S3_CHUNK_SIGNATURE_MISMATCH);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_CHUNK_SIGNATURE_MISMATCH), 403);

    /* the data up to the bad chunk's end came out, not beyond */

    decode(body, len, 1 << 20, 1, &r);
    CHECK_U64(r.out, 65536);
    body[100] = 'a';

    /* a changed byte in the second chunk, in a signature, the last one */

    body[len - 200] = 'A';
    expect_err(body, len, INGEST_S3_CHUNK_SIGNATURE_MISMATCH);
    body[len - 200] = 'a';

    body[30] = body[30] == '0' ? '1' : '0';
    expect_err(body, len, INGEST_S3_CHUNK_SIGNATURE_MISMATCH);
    body[30] = SIG1[8];

    body[len - 10] = body[len - 10] == '0' ? '1' : '0';
    expect_err(body, len, INGEST_S3_CHUNK_SIGNATURE_MISMATCH);
    len = body_doc(body, 0);
    expect_ok(body, len, doc_sha, 66560);

    /* chunks swapped: the chain breaks */

    {
        size_t  n;

        n = sprintf((char *) body, "400;chunk-signature=" SIG2 "\r\n");
        memset(body + n, 'a', 1024);
        n += 1024;
        n += sprintf((char *) body + n, "\r\n10000;chunk-signature=" SIG1
                     "\r\n");
        memset(body + n, 'a', 65536);
        n += 65536;
        n += sprintf((char *) body + n, "\r\n0;chunk-signature=" SIG3
                     "\r\n\r\n");
        expect_err(body, n, INGEST_S3_CHUNK_SIGNATURE_MISMATCH);
    }

    /* the seed of the other example does not start this chain */

    CHECK_INT(auth_doc(1), INGEST_S3_OK);
    set_header("x-amz-trailer", NULL);
    auth.payload = INGEST_SIGV4_PAYLOAD_STREAMING;
    len = body_doc(body, 0);
    expect_err(body, len, INGEST_S3_CHUNK_SIGNATURE_MISMATCH);

    /* the wrong key */

    CHECK_INT(auth_doc(0), INGEST_S3_OK);
    key[0] ^= 1;
    expect_err(body, len, INGEST_S3_CHUNK_SIGNATURE_MISMATCH);
    key[0] ^= 1;

    /* bytes after the end */

    memcpy(body + len, "x", 1);
    expect_err(body, len + 1, INGEST_S3_CHUNKED_MALFORMED);

    /* cut short: eof says incomplete */

    decode(body, len - 1, 1 << 20, 1, &r);
    CHECK_INT(r.st, INGEST_AWSCHUNKED_AGAIN);
    CHECK_INT(r.eof, INGEST_S3_INCOMPLETE_BODY);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_INCOMPLETE_BODY), 400);

    decode(body, 0, 1 << 20, 1, &r);
    CHECK_INT(r.eof, INGEST_S3_INCOMPLETE_BODY);
}


static void
test_doc_trailer(void)
{
    size_t  len;

    CHECK_INT(auth_doc(1), INGEST_S3_OK);
    CHECK_INT(auth.payload, INGEST_SIGV4_PAYLOAD_STREAMING_TRAILER);

    len = body_doc(body, 1);
    expect_ok(body, len, doc_sha, 66560);

    /* the checksum changed (and so its signature) */

    *(unsigned char *) strstr((char *) body + 66000, "sOO8") = 't';
    expect_err(body, len, INGEST_S3_TRAILER_SIGNATURE_MISMATCH);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_TRAILER_SIGNATURE_MISMATCH),
              403);

    /* the trailer signature changed */

    len = body_doc(body, 1);
    body[len - 5] = body[len - 5] == '0' ? '1' : '0';
    expect_err(body, len, INGEST_S3_TRAILER_SIGNATURE_MISMATCH);

    /* without the trailer signature */

    len = body_doc(body, 1);
    len = (size_t) ((unsigned char *) strstr((char *) body + 66000,
                                             "x-amz-trailer-signature")
                    - body);
    memcpy(body + len, "\r\n", 2);
    expect_err(body, len + 2, INGEST_S3_TRAILER_MALFORMED);

    /* the trailer signature first */

    len = body_doc(body, 1);
    {
        size_t  n;

        n = (size_t) ((unsigned char *) strstr((char *) body + 66000,
                                               "x-amz-checksum") - body);
        n += sprintf((char *) body + n, "x-amz-trailer-signature:" TTRAILER
                     "\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n\r\n");
        expect_err(body, n, INGEST_S3_TRAILER_MALFORMED);
    }

    /* a right signature over a wrong checksum: BadDigest */

    CHECK_INT(auth_doc(1), INGEST_S3_OK);
    {
        unsigned char  *big, *a;

        big = malloc(1 << 20);
        a = malloc(66560);
        memset(a, 'a', 66560);

        len = sign_stream(big, a, 66560, 65536,
                          "x-amz-checksum-crc32c:sOO8/Q==");
        CHECK(len == body_doc(body, 1) && memcmp(big, body, len) == 0);

        len = sign_stream(big, a, 66560, 65536,
                          "x-amz-checksum-crc32c:sOO8/A==");
        expect_err(big, len, INGEST_S3_BAD_DIGEST);

        len = sign_stream(big, a, 66560, 65536,
                          "x-amz-checksum-crc32:sOO8/Q==");
        expect_err(big, len, INGEST_S3_TRAILER_MALFORMED);

        len = sign_stream(big, a, 66560, 65536, NULL);
        expect_err(big, len, INGEST_S3_TRAILER_MALFORMED);

        free(a);
        free(big);
    }
}


/*
 * Signed streams made here (the chain as the documentation defines it),
 * with other chunk sizes and data.
 */

static size_t
sign_stream(unsigned char *out, const unsigned char *data, size_t len,
    size_t chunk, const char *trailer)
{
    char           line[512];
    size_t         n, k, off;
    unsigned char  prev[65], hash[32], hex[65], sig[32], sts[512];

    ingest_sigv4_hex(prev, auth.signature, 32);
    prev[64] = '\0';

    n = 0;
    off = 0;

    for ( ;; ) {
        k = len - off < chunk ? len - off : chunk;

        EVP_Digest(data + off, k, hash, NULL, EVP_sha256(), NULL);
        ingest_sigv4_hex(hex, hash, 32);
        hex[64] = '\0';

        snprintf((char *) sts, sizeof(sts), "AWS4-HMAC-SHA256-PAYLOAD\n"
                 "%.16s\n%.*s\n%s\n" INGEST_SIGV4_EMPTY_SHA256 "\n%s",
                 auth.amz_date, (int) auth.scope_len, auth.scope, prev, hex);
        ingest_sigv4_hmac(key, 32, sts, strlen((char *) sts), sig);
        ingest_sigv4_hex(prev, sig, 32);

        snprintf(line, sizeof(line), "%zx;chunk-signature=%s\r\n", k, prev);
        n = cat(out, n, line);
        memcpy(out + n, data + off, k);
        n += k;
        off += k;

        if (k == 0) {
            break;
        }

        n = cat(out, n, "\r\n");
    }

    if (trailer != NULL) {
        snprintf(line, sizeof(line), "%s\n", trailer);
        EVP_Digest(line, strlen(line), hash, NULL, EVP_sha256(), NULL);
        ingest_sigv4_hex(hex, hash, 32);
        hex[64] = '\0';

        snprintf((char *) sts, sizeof(sts), "AWS4-HMAC-SHA256-TRAILER\n"
                 "%.16s\n%.*s\n%s\n%s", auth.amz_date, (int) auth.scope_len,
                 auth.scope, prev, hex);
        ingest_sigv4_hmac(key, 32, sts, strlen((char *) sts), sig);
        ingest_sigv4_hex(hex, sig, 32);

        n = cat(out, n, trailer);
        n = cat(out, n, "\r\nx-amz-trailer-signature:");
        n = cat(out, n, (char *) hex);
        n = cat(out, n, "\r\n");
    }

    return cat(out, n, "\r\n");
}


static void
test_signed_own(void)
{
    size_t          i, len, n;
    char            dl[32], tv[64];
    uint64_t        seed;
    unsigned char  *big, *data, sha[32], crc[4];
    uint32_t        c;

    static const size_t  chunks[] = { 1, 2, 7, 8192, 65535, 65536, 200000 };

    big = malloc(1 << 20);
    data = malloc(9000);
    seed = 99;

    for (i = 0; i < 9000; i++) {
        data[i] = (unsigned char) test_rand(&seed);
    }

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {

        /* 1-byte chunks: a shorter body keeps the test quick */

        n = chunks[i] < 8 ? 1500 : 9000;
        snprintf(dl, sizeof(dl), "%zu", n);
        EVP_Digest(data, n, sha, NULL, EVP_sha256(), NULL);

        CHECK_INT(auth_doc(0), INGEST_S3_OK);
        set_header("x-amz-decoded-content-length", dl);
        len = sign_stream(big, data, n, chunks[i], NULL);
        expect_ok(big, len, sha, n);

        /* the declared length must match */

        set_header("x-amz-decoded-content-length", "1501");
        expect_err(big, len, INGEST_S3_DECODED_LENGTH);

        /* with a crc32 trailer */

        CHECK_INT(auth_doc(1), INGEST_S3_OK);
        set_header("x-amz-decoded-content-length", dl);
        set_header("x-amz-trailer", "x-amz-checksum-crc32");
        c = ingest_crc32_update(0, data, n);
        crc[0] = (unsigned char) (c >> 24);
        crc[1] = (unsigned char) (c >> 16);
        crc[2] = (unsigned char) (c >> 8);
        crc[3] = (unsigned char) c;
        strcpy(tv, "x-amz-checksum-crc32:");
        ingest_base64_encode((unsigned char *) tv + 21, crc, 4);
        tv[29] = '\0';
        len = sign_stream(big, data, n, chunks[i], tv);
        expect_ok(big, len, sha, n);

        tv[22] ^= 1;
        len = sign_stream(big, data, n, chunks[i], tv);
        expect_err(big, len, INGEST_S3_BAD_DIGEST);
    }

    /* empty */

    CHECK_INT(auth_doc(0), INGEST_S3_OK);
    set_header("x-amz-decoded-content-length", "0");
    len = sign_stream(big, data, 0, 100, NULL);
    EVP_Digest("", 0, sha, NULL, EVP_sha256(), NULL);
    expect_ok(big, len, sha, 0);

    snprintf(dl, sizeof(dl), "%d", 1);
    set_header("x-amz-decoded-content-length", dl);
    expect_err(big, len, INGEST_S3_DECODED_LENGTH);

    free(big);
    free(data);
}


static void
test_unsigned(void)
{
    size_t         n;
    unsigned char  sha[32];

    static const struct {
        const char  *algo;
        const char  *value;
    } sums[] = {
        { "x-amz-checksum-crc32", "DUoRhQ==" },
        { "x-amz-checksum-crc32c", "yZRlqg==" },
        { "x-amz-checksum-crc64nvme", "jSnVw/bqjr4=" },
        { "x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=" },
        { "x-amz-checksum-sha256",
          "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=" },
        { NULL, NULL }
    };

    size_t  i;
    char    b[512];

    EVP_Digest("hello world", 11, sha, NULL, EVP_sha256(), NULL);

    /* botocore's bytes for upload_part(Body=b"hello world", CRC32) */

    auth_unsigned("x-amz-checksum-crc32", "11");
    strcpy(b, "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
    expect_ok((unsigned char *) b, strlen(b), sha, 11);

    for (i = 0; sums[i].algo != NULL; i++) {
        auth_unsigned(sums[i].algo, "11");

        n = sprintf(b, "5\r\nhello\r\n6\r\n world\r\n0\r\n%s:%s\r\n\r\n",
                    sums[i].algo, sums[i].value);
        expect_ok((unsigned char *) b, n, sha, 11);

        /* upper case name, blanks around the value */

        n = sprintf(b, "B\r\nhello world\r\n0\r\nX-AMZ-Checksum-%s: \t%s \r\n"
                    "\r\n", sums[i].algo + 15, sums[i].value);
        expect_ok((unsigned char *) b, n, sha, 11);

        /* another value */

        n = sprintf(b, "b\r\nhello worle\r\n0\r\n%s:%s\r\n\r\n",
                    sums[i].algo, sums[i].value);
        expect_err((unsigned char *) b, n, INGEST_S3_BAD_DIGEST);
    }

    CHECK_INT(ingest_s3_http_status(INGEST_S3_BAD_DIGEST), 400);

    /* extensions are ignored; a trailer signature is too */

    auth_unsigned("x-amz-checksum-crc32", "11");
    strcpy(b, "b;foo=bar;x\r\nhello world\r\n0;chunk-signature=zz\r\n"
           "x-amz-checksum-crc32:DUoRhQ==\r\nx-amz-trailer-signature:abc\r\n"
           "\r\n");
    expect_ok((unsigned char *) b, strlen(b), sha, 11);

    /* no x-amz-decoded-content-length: not checked */

    auth_unsigned("x-amz-checksum-crc32", NULL);
    strcpy(b, "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
    expect_ok((unsigned char *) b, strlen(b), sha, 11);

    /* no trailer declared: none allowed */

    auth_unsigned(NULL, "11");
    strcpy(b, "b\r\nhello world\r\n0\r\n\r\n");
    expect_ok((unsigned char *) b, strlen(b), sha, 11);

    strcpy(b, "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
    expect_err((unsigned char *) b, strlen(b), INGEST_S3_TRAILER_MALFORMED);

    /* an empty body */

    EVP_Digest("", 0, sha, NULL, EVP_sha256(), NULL);
    auth_unsigned("x-amz-checksum-crc32", "0");
    strcpy(b, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    expect_ok((unsigned char *) b, strlen(b), sha, 0);

    /* a huge declared size with an unknown length is fine to start */

    auth_unsigned(NULL, NULL);
    {
        result_t  r;

        strcpy(b, "7fffffffffffffff\r\nabc");
        decode((unsigned char *) b, strlen(b), 1 << 20, 1, &r);
        CHECK_INT(r.st, INGEST_AWSCHUNKED_AGAIN);
        CHECK_U64(r.out, 3);
        CHECK_INT(r.eof, INGEST_S3_INCOMPLETE_BODY);
    }

    strcpy(b, "8000000000000000\r\nabc");
    expect_err((unsigned char *) b, strlen(b), INGEST_S3_CHUNKED_MALFORMED);

    strcpy(b, "7fffffffffffffff\r\nabc\r\n");
    {
        result_t  r;

        decode((unsigned char *) b, strlen(b), 1 << 20, 1, &r);
        CHECK_INT(r.st, INGEST_AWSCHUNKED_AGAIN);
    }
}


static void
test_init(void)
{
    ingest_awschunked_t  ck;

    /* not a streaming payload */

    auth_unsigned("x-amz-checksum-crc32", "11");
    auth.payload = INGEST_SIGV4_PAYLOAD_UNSIGNED;
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_INVALID_REQUEST);
    ingest_awschunked_free(&ck);

    auth.payload = INGEST_SIGV4_PAYLOAD_SHA256;
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_INVALID_REQUEST);
    ingest_awschunked_free(&ck);

    /* x-amz-trailer: one checksum we know */

    auth_unsigned("x-amz-checksum-md5", "11");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_TRAILER_INVALID);
    ingest_awschunked_free(&ck);

    auth_unsigned("x-amz-checksum-crc32,x-amz-checksum-sha1", "11");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_TRAILER_INVALID);
    ingest_awschunked_free(&ck);

    auth_unsigned("", "11");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_TRAILER_INVALID);
    ingest_awschunked_free(&ck);

    auth_unsigned(" x-amz-checksum-crc32 ", "11");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_OK);
    ingest_awschunked_free(&ck);

    auth_unsigned("x-amz-checksum-crc32", "11");
    hdrs[nhdrs] = hdrs[nhdrs - 2];
    nhdrs++;
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_TRAILER_INVALID);
    ingest_awschunked_free(&ck);

    /* a trailer with STREAMING-AWS4-HMAC-SHA256-PAYLOAD */

    CHECK_INT(auth_doc(0), INGEST_S3_OK);
    set_header("x-amz-trailer", "x-amz-checksum-crc32");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_TRAILER_INVALID);
    ingest_awschunked_free(&ck);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_TRAILER_INVALID), 400);

    /* x-amz-decoded-content-length: required when signed, a number */

    CHECK_INT(auth_doc(0), INGEST_S3_OK);
    set_header("x-amz-decoded-content-length", NULL);
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_MISSING_DECODED_LENGTH);
    ingest_awschunked_free(&ck);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_MISSING_DECODED_LENGTH), 411);

    set_header("x-amz-decoded-content-length", "12a");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_BAD_DECODED_LENGTH);
    ingest_awschunked_free(&ck);

    set_header("x-amz-decoded-content-length", "-1");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_BAD_DECODED_LENGTH);
    ingest_awschunked_free(&ck);

    set_header("x-amz-decoded-content-length", "");
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_BAD_DECODED_LENGTH);
    ingest_awschunked_free(&ck);

    set_header("x-amz-decoded-content-length", "66560");
    hdrs[nhdrs].name.data = (const unsigned char *)
                            "X-Amz-Decoded-Content-Length";
    hdrs[nhdrs].name.len = 28;
    hdrs[nhdrs].value.data = (const unsigned char *) "66560";
    hdrs[nhdrs].value.len = 5;
    nhdrs++;
    CHECK_INT(ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs),
              INGEST_S3_BAD_DECODED_LENGTH);
    ingest_awschunked_free(&ck);

    /* signed needs the key */

    CHECK_INT(auth_doc(0), INGEST_S3_OK);
    CHECK_INT(ingest_awschunked_init(&ck, &auth, NULL, hdrs, nhdrs),
              INGEST_S3_INTERNAL_ERROR);
    ingest_awschunked_free(&ck);

    /* after a failed init, feeding fails */

    {
        ingest_str_t          d;
        const unsigned char  *p = (const unsigned char *) "0\r\n\r\n";

        auth.payload = INGEST_SIGV4_PAYLOAD_UNSIGNED;
        (void) ingest_awschunked_init(&ck, &auth, key, hdrs, nhdrs);
        CHECK_INT(ingest_awschunked_feed(&ck, &p, p + 5, &d),
                  INGEST_AWSCHUNKED_ERROR);
        CHECK_INT(ingest_awschunked_eof(&ck), INGEST_S3_INVALID_REQUEST);
        ingest_awschunked_free(&ck);
        ingest_awschunked_free(&ck);
    }
}


static void
test_framing(void)
{
    size_t  i;
    char    b[1024];

    static const char  *bad[] = {
        "",                                 /* placeholder, see below */
        "z\r\nhello world\r\n0\r\n\r\n",
        "\r\nhello world\r\n0\r\n\r\n",
        ";x\r\nhello world\r\n0\r\n\r\n",
        " b\r\nhello world\r\n0\r\n\r\n",
        "b \r\nhello world\r\n0\r\n\r\n",
        "0x0b\r\nhello world\r\n0\r\n\r\n",
        "b\nhello world\r\n0\r\n\r\n",
        "b\rhello world\r\n0\r\n\r\n",
        "b\r\nhello world\n0\r\n\r\n",
        "b\r\nhello worldX\r\n0\r\n\r\n",
        "b\r\nhello world\r\r\n0\r\n\r\n",
        "b\r\nhello world0\r\n\r\n",
        "b;\x01\r\nhello world\r\n0\r\n\r\n",
        "b;\x7f\r\nhello world\r\n0\r\n\r\n",
        "00000000000000000b\r\nhello world\r\n0\r\n\r\n",
        "b\r\nhello world\r\n0\r\n\r\r\n",
        "b\r\nhello world\r\n0\r\n\n",
        "b\r\nhello world\r\n0\r\n\r\nX",
        "b\r\nhello world\r\n0\r\n\r\n\r\n",
        NULL
    };

    auth_unsigned(NULL, NULL);

    for (i = 1; bad[i] != NULL; i++) {
        expect_err((const unsigned char *) bad[i], strlen(bad[i]),
                   i >= 16 && i <= 17 ? INGEST_S3_TRAILER_MALFORMED
                                      : INGEST_S3_CHUNKED_MALFORMED);
    }

    CHECK_INT(ingest_s3_http_status(INGEST_S3_CHUNKED_MALFORMED), 400);

    /* up to 16 hex digits, any case */

    strcpy(b, "000000000000000B\r\nhello world\r\n0\r\n\r\n");
    expect_ok((unsigned char *) b, strlen(b), NULL, 11);

    /* a line of 256 bytes, not 257 */

    memset(b, 0, sizeof(b));
    strcpy(b, "b;");
    memset(b + 2, 'e', 254);
    strcat(b, "\r\nhello world\r\n0\r\n\r\n");
    expect_ok((unsigned char *) b, strlen(b), NULL, 11);

    memmove(b + 1, b, strlen(b) + 1);
    b[1] = ';';
    b[2] = 'e';
    expect_err((unsigned char *) b, strlen(b), INGEST_S3_CHUNKED_MALFORMED);

    /* an endless line stops at the limit */

    memset(b, '1', 1000);
    b[1000] = '\0';
    expect_err((unsigned char *) b, 1000, INGEST_S3_CHUNKED_MALFORMED);

    /* the decoded length: more data, less data */

    auth_unsigned(NULL, "10");
    strcpy(b, "b\r\nhello world\r\n0\r\n\r\n");
    expect_err((unsigned char *) b, strlen(b), INGEST_S3_DECODED_LENGTH);

    auth_unsigned(NULL, "12");
    expect_err((unsigned char *) b, strlen(b), INGEST_S3_DECODED_LENGTH);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_DECODED_LENGTH),
                 "IncompleteBody") == 0);

    auth_unsigned(NULL, "11");
    expect_ok((unsigned char *) b, strlen(b), NULL, 11);
}


static void
test_signed_rejections(void)
{
    size_t  len, n;

    CHECK_INT(auth_doc(0), INGEST_S3_OK);
    len = body_doc(body, 0);

    /* no signature, another extension, upper case hex, short */

    n = sprintf((char *) body, "10000\r\n");
    memset(body + n, 'a', 65536);
    expect_err(body, n + 65536, INGEST_S3_CHUNKED_MALFORMED);

    n = sprintf((char *) body, "10000;chunk-signature=" SIG1 ";x=y\r\n");
    expect_err(body, n, INGEST_S3_CHUNKED_MALFORMED);

    n = sprintf((char *) body, "10000;x=y;chunk-signature=" SIG1 "\r\n");
    expect_err(body, n, INGEST_S3_CHUNKED_MALFORMED);

    n = sprintf((char *) body, "10000;chunk-signature=%.63s\r\n", SIG1);
    expect_err(body, n, INGEST_S3_CHUNKED_MALFORMED);

    n = sprintf((char *) body, "10000;chunk-signature=AD80C730A21E5B8D0458"
                "6A2213DD63B9A0E99E0E2307B0ADE35A65485A288648\r\n");
    expect_err(body, n, INGEST_S3_CHUNKED_MALFORMED);

    n = sprintf((char *) body, "10000;Chunk-Signature=" SIG1 "\r\n");
    expect_err(body, n, INGEST_S3_CHUNKED_MALFORMED);

    n = sprintf((char *) body, "10000; chunk-signature=" SIG1 "\r\n");
    expect_err(body, n, INGEST_S3_CHUNKED_MALFORMED);

    /* more than declared */

    n = sprintf((char *) body, "10401;chunk-signature=" SIG1 "\r\n");
    expect_err(body, n, INGEST_S3_DECODED_LENGTH);

    /* trailers after a signed stream without trailer */

    len = body_doc(body, 0);
    memcpy(body + len - 2, "x-amz-checksum-crc32:AAAAAA==\r\n\r\n", 33);
    expect_err(body, len + 31, INGEST_S3_TRAILER_MALFORMED);

    /* the last chunk missing */

    len = body_doc(body, 0);
    len = (size_t) ((unsigned char *) strstr((char *) body + 60000,
                                             "\r\n0;") - body) + 2;
    {
        result_t  r;

        decode(body, len, 1 << 20, 1, &r);
        CHECK_INT(r.st, INGEST_AWSCHUNKED_AGAIN);
        CHECK_INT(r.eof, INGEST_S3_INCOMPLETE_BODY);
    }
}


static void
test_trailer_rejections(void)
{
    size_t  i;
    char    b[1024];

    static const char  *bad[] = {
        /* missing, twice, undeclared, malformed */
        "0\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:AAAAAA=="
            "\r\n\r\n",
        "0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n",
        "0\r\nx-amz-checksum-crc32 AAAAAA==\r\n\r\n",
        "0\r\n:AAAAAA==\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:AAAAAA=\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:AAAAAAA=\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:AAAAAAAA\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:AAAA AA==\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nfoo:bar\r\n\r\n",
        "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:a\r\n"
            "x-amz-trailer-signature:b\r\n\r\n",
        "0\r\nx-amz-trailer-signature:a\r\nx-amz-checksum-crc32:AAAAAA==\r\n"
            "\r\n",
        "0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx",
        NULL
    };

    auth_unsigned("x-amz-checksum-crc32", "0");

    for (i = 0; bad[i] != NULL; i++) {
        if (strchr(bad[i], 'x') != NULL && bad[i][strlen(bad[i]) - 1] == 'x')
        {
            result_t  r;

            decode((const unsigned char *) bad[i], strlen(bad[i]), 1, 1, &r);
            CHECK_INT(r.st, INGEST_AWSCHUNKED_AGAIN);
            CHECK_INT(r.eof, INGEST_S3_INCOMPLETE_BODY);
            continue;
        }

        expect_err((const unsigned char *) bad[i], strlen(bad[i]),
                   INGEST_S3_TRAILER_MALFORMED);
    }

    CHECK_INT(ingest_s3_http_status(INGEST_S3_TRAILER_MALFORMED), 400);
    CHECK(strcmp(ingest_s3_error_code(INGEST_S3_TRAILER_MALFORMED),
                 "MalformedTrailerError") == 0);

    /* a trailer line too long */

    memset(b, 0, sizeof(b));
    strcpy(b, "0\r\nx-amz-checksum-crc32:");
    memset(b + strlen(b), ' ', 300);
    strcat(b, "AAAAAA==\r\n\r\n");
    expect_err((unsigned char *) b, strlen(b), INGEST_S3_TRAILER_MALFORMED);

    /* the right one */

    strcpy(b, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    expect_ok((unsigned char *) b, strlen(b), NULL, 0);
}


static void
test_awschunked(void)
{
    test_doc_signed();
    test_doc_trailer();
    test_signed_own();
    test_unsigned();
    test_init();
    test_framing();
    test_signed_rejections();
    test_trailer_rejections();
}


static void
init_doc_sha(void)
{
    unsigned char  *a;

    a = malloc(66560);
    memset(a, 'a', 66560);
    EVP_Digest(a, 66560, doc_sha, NULL, EVP_sha256(), NULL);
    free(a);
}


static void
run(void)
{
    init_doc_sha();
    test_awschunked();
}


TEST_MAIN("test_awschunked", run)
