
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_core.h"
#include "test.h"


static int u64(const char *s, uint64_t *v);
static int idv(const char *s);
static ssize_t b64dec(const char *s, unsigned char *out);
static void test_parse_u64(void);
static void test_format_u64(void);
static void test_id(void);
static void test_base64(void);
static void test_base64_random(void);
static void test_memeq(void);
static void test_core(void);


static int
u64(const char *s, uint64_t *v)
{
    int             rc;
    size_t          len;
    unsigned char  *p;

    len = strlen(s);
    p = test_dup(s, len);
    rc = ingest_parse_u64(p, len, v);
    free(p);

    return rc;
}


static int
idv(const char *s)
{
    int             rc;
    size_t          len;
    unsigned char  *p;

    len = strlen(s);
    p = test_dup(s, len);
    rc = ingest_id_valid(p, len);
    free(p);

    return rc;
}


static ssize_t
b64dec(const char *s, unsigned char *out)
{
    size_t          len;
    ssize_t         n;
    unsigned char  *p;

    len = strlen(s);
    p = test_dup(s, len);
    n = ingest_base64_decode(out, p, len);
    free(p);

    return n;
}


static void
test_parse_u64(void)
{
    size_t     i;
    uint64_t   v;

    static const char  *bad[] = {
        "", "-1", "+1", " 1", "1 ", "1.0", "18446744073709551616",
        "9223372036854775808", "18446744073709551615", "99999999999999999999",
        "00000000000000000001", "0x10", "1e3", "1,000", "\t1", "1\n",
        "\xd9\xa1", "abc", "-0", "9223372036854775807 ", "١"
    };

    v = 42;
    CHECK_INT(u64("0", &v), 0);
    CHECK_U64(v, 0);
    CHECK_INT(u64("7", &v), 0);
    CHECK_U64(v, 7);
    CHECK_INT(u64("007", &v), 0);
    CHECK_U64(v, 7);
    CHECK_INT(u64("1234567890123456789", &v), 0);
    CHECK_U64(v, 1234567890123456789ULL);
    CHECK_INT(u64("9223372036854775807", &v), 0);
    CHECK_U64(v, INT64_MAX);
    CHECK_INT(u64("0000000000000000007", &v), 0);
    CHECK_U64(v, 7);
    CHECK_INT(u64("9223372036854775806", &v), 0);
    CHECK_U64(v, INT64_MAX - 1);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 42;

        if (u64(bad[i], &v) == 0) {
            TEST_FAIL("parse_u64 accepted \"%s\"", bad[i]);

        } else {
            test_passed++;
        }

        /* the output is untouched on failure */
        CHECK_U64(v, 42);
    }

    /* only len bytes are looked at */
    CHECK_INT(ingest_parse_u64((const unsigned char *) "123x", 3, &v), 0);
    CHECK_U64(v, 123);
    CHECK_INT(ingest_parse_u64((const unsigned char *) "1\0002", 3, &v), -1);
    CHECK_INT(ingest_parse_u64(NULL, 0, &v), -1);
    CHECK_INT(ingest_parse_u64(NULL, 3, &v), -1);
}


static void
test_format_u64(void)
{
    size_t         n;
    uint64_t       v, back;
    unsigned char  buf[32];

    static const uint64_t  vals[] = {
        0, 1, 9, 10, 99, 100, 12345, 4294967295ULL, 4294967296ULL,
        INT64_MAX, (uint64_t) INT64_MAX + 1, UINT64_MAX
    };

    n = ingest_format_u64(buf, 0);
    CHECK_MEM(buf, n, "0");

    n = ingest_format_u64(buf, INT64_MAX);
    CHECK_MEM(buf, n, "9223372036854775807");

    memset(buf, 'x', sizeof(buf));
    n = ingest_format_u64(buf, UINT64_MAX);
    CHECK_MEM(buf, n, "18446744073709551615");
    CHECK_INT(n, 20);
    CHECK_INT(buf[20], 'x');

    for (n = 0; n < sizeof(vals) / sizeof(vals[0]); n++) {
        v = vals[n];
        back = 0;

        if (v <= INT64_MAX) {
            CHECK_INT(ingest_parse_u64(buf, ingest_format_u64(buf, v), &back),
                      0);
            CHECK_U64(back, v);

        } else {
            CHECK_INT(ingest_parse_u64(buf, ingest_format_u64(buf, v), &back),
                      -1);
        }
    }
}


static void
test_id(void)
{
    size_t         i;
    unsigned char  rnd[INGEST_ID_RAND_BYTES], out[INGEST_ID_LEN + 1];

    static const char  *bad[] = {
        "",
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdeg",
        "../../etc/passwd",
        "../../../../../../../etc/passwd0",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd00",
        "0123456789abcdef0123456789abcde/",
        "0123456789abcdef0123456789abcde ",
        " 0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcde.",
        "0x23456789abcdef0123456789abcdef"
    };

    CHECK_INT(idv("0123456789abcdef0123456789abcdef"), 1);
    CHECK_INT(idv("00000000000000000000000000000000"), 1);
    CHECK_INT(idv("ffffffffffffffffffffffffffffffff"), 1);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (idv(bad[i])) {
            TEST_FAIL("id_valid accepted \"%s\"", bad[i]);

        } else {
            test_passed++;
        }
    }

    CHECK_INT(ingest_id_valid((const unsigned char *)
                              "0123456789abcdef\0" "123456789abcdef", 32), 0);
    CHECK_INT(ingest_id_valid(NULL, 32), 0);

    for (i = 0; i < sizeof(rnd); i++) {
        rnd[i] = (unsigned char) (i * 17 + 0x0f);
    }

    rnd[0] = 0x00;
    rnd[15] = 0xff;
    out[INGEST_ID_LEN] = 'x';
    ingest_id_format(rnd, out);
    CHECK_MEM(out, INGEST_ID_LEN, "0020314253647586" "97a8b9cadbecfdff");
    CHECK_INT(out[INGEST_ID_LEN], 'x');
    CHECK_INT(ingest_id_valid(out, INGEST_ID_LEN), 1);
}


static void
test_base64(void)
{
    size_t         i, n;
    ssize_t        d;
    unsigned char  all[256], enc[400], dec[400];

    static const char  *vec[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" }
    };

    static const char  *bad[] = {
        "Zg", "Zg=", "Z", "Zm9vY", "Z===", "====", "=Zg=", "Zg==Zg==",
        "Zm=v", "Zh==", "Zm9=", "Zm9v!", "Zm 9v", "Zm9v\n", "-_8=", "Zm9v====",
        "Zm8=Zm9v", "Zg=\0", "Zm9v\r\n", "Zm\x80v", "Zm9vYmFy Zg=="
    };

    for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        n = ingest_base64_encode(enc, (const unsigned char *) vec[i][0],
                                 strlen(vec[i][0]));
        CHECK_MEM(enc, n, vec[i][1]);
        CHECK_INT(n, ingest_base64_encoded_len(strlen(vec[i][0])));

        d = b64dec(vec[i][1], dec);
        CHECK_INT(d, strlen(vec[i][0]));
        CHECK_MEM(dec, d < 0 ? 0 : d, vec[i][0]);

        /* validation only */
        CHECK_INT(ingest_base64_decode(NULL, (const unsigned char *) vec[i][1],
                                       strlen(vec[i][1])),
                  strlen(vec[i][0]));
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (b64dec(bad[i], dec) != -1) {
            TEST_FAIL("base64 accepted \"%s\"", bad[i]);

        } else {
            test_passed++;
        }
    }

    /* "Zg=\0" has a NUL in the last position */
    CHECK_INT(ingest_base64_decode(dec, (const unsigned char *) "Zg=\0", 4),
              -1);

    /* empty input, even with a NULL pointer */
    CHECK_INT(ingest_base64_decode(dec, NULL, 0), 0);
    CHECK_INT(ingest_base64_decode(dec, NULL, 4), -1);

    /* only len bytes */
    CHECK_INT(ingest_base64_decode(dec, (const unsigned char *) "Zm9vYmFy", 4),
              3);
    CHECK_MEM(dec, 3, "foo");

    for (i = 0; i < sizeof(all); i++) {
        all[i] = (unsigned char) i;
    }

    for (n = 0; n <= sizeof(all); n++) {
        i = ingest_base64_encode(enc, all, n);
        CHECK_INT(i, ingest_base64_encoded_len(n));

        d = ingest_base64_decode(dec, enc, i);
        CHECK_INT(d, n);
        CHECK(d >= 0 && memcmp(dec, all, n) == 0);
        CHECK((size_t) d <= ingest_base64_decoded_max(i));
    }

    /* '+' and '/' of the standard alphabet */
    d = b64dec("+/+/", dec);
    CHECK_INT(d, 3);
    CHECK_INT(dec[0], 0xfb);
    CHECK_INT(dec[1], 0xff);
    CHECK_INT(dec[2], 0xbf);
}


/* random bytes must never crash the decoder or decode to a wrong length */

static void
test_base64_random(void)
{
    size_t          i, len, k;
    ssize_t         d;
    uint64_t        seed;
    unsigned long   bad;
    unsigned char  *in, out[64], enc[64];

    static const char  alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

    seed = 1;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        len = test_rand(&seed) % 40;
        in = malloc(len != 0 ? len : 1);
        if (in == NULL) {
            return;
        }

        for (k = 0; k < len; k++) {
            in[k] = (i & 1) ? (unsigned char) test_rand(&seed)
                            : (unsigned char) alpha[test_rand(&seed) % 65];
        }

        d = ingest_base64_decode(out, in, len);

        if (d >= 0) {
            /* whatever decodes must re-encode to the same text */

            if ((size_t) d > ingest_base64_decoded_max(len)
                || ingest_base64_encode(enc, out, (size_t) d) != len
                || memcmp(enc, in, len) != 0
                || ingest_base64_decode(NULL, in, len) != d)
            {
                bad++;
            }
        }

        free(in);
    }

    CHECK_INT(bad, 0);
}


static void
test_memeq(void)
{
    CHECK_INT(ingest_memeq_ct((const unsigned char *) "abc",
                              (const unsigned char *) "abc", 3), 1);
    CHECK_INT(ingest_memeq_ct((const unsigned char *) "abc",
                              (const unsigned char *) "abd", 3), 0);
    CHECK_INT(ingest_memeq_ct((const unsigned char *) "xbc",
                              (const unsigned char *) "abc", 3), 0);
    CHECK_INT(ingest_memeq_ct((const unsigned char *) "abc",
                              (const unsigned char *) "abd", 2), 1);
    CHECK_INT(ingest_memeq_ct(NULL, NULL, 0), 1);
}


static void
test_core(void)
{
    test_parse_u64();
    test_format_u64();
    test_id();
    test_base64();
    test_base64_random();
    test_memeq();
}


TEST_MAIN("test_core", test_core)
