
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_checksum.h"
#include "test.h"


static ingest_cksum_algo_t algo(const char *s);
static void hex(const unsigned char *p, size_t len, char *out);
static int digest_hex(ingest_cksum_algo_t a, const void *data, size_t len,
    size_t step, char *out);
static void test_names(void);
static void test_kat(void);
static void test_stream(void);
static void test_lifecycle(void);
static void test_checksum(void);


static ingest_cksum_algo_t
algo(const char *s)
{
    size_t               len;
    unsigned char       *p;
    ingest_cksum_algo_t  a;

    len = strlen(s);
    p = test_dup(s, len);
    a = ingest_cksum_algo(p, len);
    free(p);

    return a;
}


static void
hex(const unsigned char *p, size_t len, char *out)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }

    out[2 * len] = '\0';
}


/* digests data fed in pieces of step bytes (0: one piece) */

static int
digest_hex(ingest_cksum_algo_t a, const void *data, size_t len, size_t step,
    char *out)
{
    size_t          off, n;
    ingest_cksum_t  ck;
    unsigned char   d[INGEST_CKSUM_MAX_DIGEST];

    out[0] = '\0';

    if (ingest_cksum_init(&ck, a) != 0) {
        ingest_cksum_free(&ck);
        return -1;
    }

    if (step == 0) {
        step = len != 0 ? len : 1;
    }

    for (off = 0; off < len; off += n) {
        n = len - off < step ? len - off : step;

        if (ingest_cksum_update(&ck, (const unsigned char *) data + off, n)
            != 0)
        {
            ingest_cksum_free(&ck);
            return -1;
        }
    }

    /* an empty update is fine too */
    if (ingest_cksum_update(&ck, "", 0) != 0) {
        ingest_cksum_free(&ck);
        return -1;
    }

    if (ingest_cksum_final(&ck, d) != 0) {
        ingest_cksum_free(&ck);
        return -1;
    }

    ingest_cksum_free(&ck);
    hex(d, ingest_cksum_size(a), out);

    return 0;
}


static void
test_names(void)
{
    CHECK_INT(algo("sha1"), INGEST_CKSUM_SHA1);
    CHECK_INT(algo("SHA1"), INGEST_CKSUM_SHA1);
    CHECK_INT(algo("md5"), INGEST_CKSUM_MD5);
    CHECK_INT(algo("MD5"), INGEST_CKSUM_MD5);
    CHECK_INT(algo("sha256"), INGEST_CKSUM_SHA256);
    CHECK_INT(algo("Sha256"), INGEST_CKSUM_SHA256);
    CHECK_INT(algo("crc32"), INGEST_CKSUM_CRC32);
    CHECK_INT(algo("CRC32"), INGEST_CKSUM_CRC32);
    CHECK_INT(algo("crc32c"), INGEST_CKSUM_CRC32C);
    CHECK_INT(algo("CRC32C"), INGEST_CKSUM_CRC32C);

    CHECK_INT(algo(""), INGEST_CKSUM_NONE);
    CHECK_INT(algo("sha"), INGEST_CKSUM_NONE);
    CHECK_INT(algo("sha512"), INGEST_CKSUM_NONE);
    CHECK_INT(algo("sha-1"), INGEST_CKSUM_NONE);
    CHECK_INT(algo("sha1 "), INGEST_CKSUM_NONE);
    CHECK_INT(algo(" sha1"), INGEST_CKSUM_NONE);
    CHECK_INT(algo("sha2566"), INGEST_CKSUM_NONE);
    CHECK_INT(algo("crc"), INGEST_CKSUM_NONE);
    CHECK_INT(algo("md4"), INGEST_CKSUM_NONE);
    CHECK_INT(algo("\xd3" "ha1"), INGEST_CKSUM_NONE);
    CHECK_INT(ingest_cksum_algo((const unsigned char *) "sha1\0", 5),
              INGEST_CKSUM_NONE);
    CHECK_INT(ingest_cksum_algo(NULL, 0), INGEST_CKSUM_NONE);

    CHECK_INT(ingest_cksum_size(INGEST_CKSUM_NONE), 0);
    CHECK_INT(ingest_cksum_size(INGEST_CKSUM_SHA1), 20);
    CHECK_INT(ingest_cksum_size(INGEST_CKSUM_MD5), 16);
    CHECK_INT(ingest_cksum_size(INGEST_CKSUM_SHA256), 32);
    CHECK_INT(ingest_cksum_size(INGEST_CKSUM_CRC32), 4);
    CHECK_INT(ingest_cksum_size(INGEST_CKSUM_CRC32C), 4);
    CHECK_INT(ingest_cksum_size((ingest_cksum_algo_t) 99), 0);
}


static void
test_kat(void)
{
    size_t  i;
    char    out[2 * INGEST_CKSUM_MAX_DIGEST + 1];

    static const struct {
        ingest_cksum_algo_t   algo;
        const char           *data;
        const char           *hex;
    } kat[] = {
        { INGEST_CKSUM_MD5, "", "d41d8cd98f00b204e9800998ecf8427e" },
        { INGEST_CKSUM_MD5, "123456789",
          "25f9e794323b453885f5181f1b624d0b" },
        { INGEST_CKSUM_SHA1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { INGEST_CKSUM_SHA1, "123456789",
          "f7c3bc1d808e04732adf679965ccc34ca7ae3441" },
        { INGEST_CKSUM_SHA256, "",
          "e3b0c44298fc1c149afbf4c8996fb924"
          "27ae41e4649b934ca495991b7852b855" },
        { INGEST_CKSUM_SHA256, "123456789",
          "15e2b0d3c33891ebb0f1ef609ec41942"
          "0c20e320ce94c65fbc8c3312448eb225" },
        { INGEST_CKSUM_CRC32, "", "00000000" },
        { INGEST_CKSUM_CRC32, "123456789", "cbf43926" },
        { INGEST_CKSUM_CRC32C, "", "00000000" },
        { INGEST_CKSUM_CRC32C, "123456789", "e3069283" }
    };

    for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        CHECK_INT(digest_hex(kat[i].algo, kat[i].data, strlen(kat[i].data),
                             0, out),
                  0);
        CHECK_MEM(out, strlen(out), kat[i].hex);

        /* byte by byte gives the same */
        CHECK_INT(digest_hex(kat[i].algo, kat[i].data, strlen(kat[i].data),
                             1, out),
                  0);
        CHECK_MEM(out, strlen(out), kat[i].hex);
    }

    CHECK_U64(ingest_crc32_update(0, "123456789", 9), 0xcbf43926);
    CHECK_U64(ingest_crc32c_update(0, "123456789", 9), 0xe3069283);
    CHECK_U64(ingest_crc32_update(0, "", 0), 0);
    CHECK_U64(ingest_crc32_update(ingest_crc32_update(0, "1234", 4),
                                  "56789", 5),
              0xcbf43926);
    CHECK_U64(ingest_crc32c_update(ingest_crc32c_update(0, "12345", 5),
                                   "6789", 4),
              0xe3069283);

    /* python: zlib.crc32(b"The quick brown fox jumps over the lazy dog") */
    CHECK_U64(ingest_crc32_update(0,
                  "The quick brown fox jumps over the lazy dog", 43),
              0x414fa339);
}


static void
test_stream(void)
{
    size_t          i;
    unsigned char  *big;
    char            out[2 * INGEST_CKSUM_MAX_DIGEST + 1];

    static const size_t  steps[] = { 0, 1, 3, 63, 64, 65, 4096, 99999 };

    big = malloc(100000);
    if (big == NULL) {
        TEST_FAIL("%s", "malloc");
        return;
    }

    for (i = 0; i < 100000; i++) {
        big[i] = (unsigned char) ((i * 7) % 251);
    }

    /* values from python zlib.crc32, a bitwise crc32c and hashlib */

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        CHECK_INT(digest_hex(INGEST_CKSUM_CRC32, big, 100000, steps[i], out),
                  0);
        CHECK_MEM(out, strlen(out), "b0a8c3cd");

        CHECK_INT(digest_hex(INGEST_CKSUM_CRC32C, big, 100000, steps[i], out),
                  0);
        CHECK_MEM(out, strlen(out), "ef3b5935");

        CHECK_INT(digest_hex(INGEST_CKSUM_SHA256, big, 100000, steps[i], out),
                  0);
        CHECK_MEM(out, strlen(out),
                  "96ad0ddabe9c733d4550fde750255a94"
                  "806811029be67504bd9bd68e556686b9");
    }

    free(big);
}


static void
test_lifecycle(void)
{
    ingest_cksum_t  ck;
    unsigned char   d[INGEST_CKSUM_MAX_DIGEST];

    /* unknown algorithms fail to init; free is still safe, twice */

    memset(&ck, 0xa5, sizeof(ck));
    CHECK_INT(ingest_cksum_init(&ck, INGEST_CKSUM_NONE), -1);
    CHECK(ck.md_ctx == NULL);
    ingest_cksum_free(&ck);
    ingest_cksum_free(&ck);
    CHECK_INT(ingest_cksum_update(&ck, "x", 1), -1);
    CHECK_INT(ingest_cksum_final(&ck, d), -1);

    CHECK_INT(ingest_cksum_init(&ck, (ingest_cksum_algo_t) 77), -1);
    ingest_cksum_free(&ck);

    /* free without final, then twice: no leak, no double free */

    CHECK_INT(ingest_cksum_init(&ck, INGEST_CKSUM_SHA1), 0);
    CHECK(ck.md_ctx != NULL);
    CHECK_INT(ingest_cksum_update(&ck, "abc", 3), 0);
    ingest_cksum_free(&ck);
    CHECK(ck.md_ctx == NULL);
    ingest_cksum_free(&ck);

    /* use after free fails cleanly */
    CHECK_INT(ingest_cksum_update(&ck, "abc", 3), -1);
    CHECK_INT(ingest_cksum_final(&ck, d), -1);

    /* re-init of a freed context */
    CHECK_INT(ingest_cksum_init(&ck, INGEST_CKSUM_MD5), 0);
    CHECK_INT(ingest_cksum_final(&ck, d), 0);
    ingest_cksum_free(&ck);

    CHECK_INT(ingest_cksum_init(&ck, INGEST_CKSUM_CRC32), 0);
    CHECK(ck.md_ctx == NULL);
    CHECK_INT(ingest_cksum_update(&ck, "123456789", 9), 0);
    CHECK_INT(ingest_cksum_final(&ck, d), 0);
    CHECK_INT(d[0], 0xcb);
    CHECK_INT(d[1], 0xf4);
    CHECK_INT(d[2], 0x39);
    CHECK_INT(d[3], 0x26);
    ingest_cksum_free(&ck);
}


static void
test_checksum(void)
{
    test_names();
    test_kat();
    test_stream();
    test_lifecycle();
}


TEST_MAIN("test_checksum", test_checksum)
