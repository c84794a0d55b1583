
/*
 * Copyright (C) nginx video ingest developers
 *
 * The codec is included, not linked, so that the raw signature
 * functions and the JSON parser can be tested on their own (the
 * Makefile leaves ingest_token.o out of this program).
 */


#include "ingest_token.c"
#include "test.h"

#include <pthread.h>


#define NOW  1700000000


typedef struct {
    const ingest_token_keyset_t  *ks;
    const char                   *token;
    int                           ok;
} thread_arg_t;


static ingest_token_rc_t vt(const ingest_token_keyset_t *ks, const char *t,
    int64_t now, int64_t leeway, ingest_token_claims_t *c);
static const char *vr(const ingest_token_keyset_t *ks, const char *t);
static size_t mk(char *out, const char *header, const char *payload,
    ingest_token_alg_t alg, const unsigned char *key, size_t key_len);
static const char *mkv(const ingest_token_keyset_t *ks, const char *header,
    const char *payload);
static int json(ingest_token_json_t *j, const char *s);
static int scope(const char *scope, const char *path);
static int type_ok(const ingest_token_claims_t *c, const char *type);
static size_t unb64(unsigned char *out, const char *s);
static void keyset_init(ingest_token_keyset_t *ks);
static void test_base64url(void);
static void test_json(void);
static void test_rfc7515(void);
static void test_rfc8037(void);
static void test_keyset(void);
static void test_key_files(void);
static void test_verify_ok(void);
static void test_tamper(void);
static void test_structure(void);
static void test_header(void);
static void test_claims(void);
static void test_times(void);
static void test_scope(void);
static void test_types(void);
static void test_sign(void);
static void *thread_main(void *arg);
static void test_threads(void);
static void test_openssl(void);
static void test_token(void);


static const char  *hs_secret = "0123456789abcdef0123456789abcdef-k1";
static const char  *hs_secret2 = "another secret of at least 32 bytes!";

/* RFC 8037 A.1 / A.2: the Ed25519 key of the examples */
static const char  *ed_d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char  *ed_x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

static unsigned char  ed_priv[32];
static unsigned char  ed_pub[32];


static ingest_token_rc_t
vt(const ingest_token_keyset_t *ks, const char *t, int64_t now,
    int64_t leeway, ingest_token_claims_t *c)
{
    size_t              len;
    unsigned char      *d;
    ingest_token_rc_t   rc;

    len = strlen(t);
    d = test_dup(t, len);
    rc = ingest_token_verify(ks, d, len, now, leeway, c);
    free(d);

    return rc;
}


/* the reason for a token at NOW without leeway */

static const char *
vr(const ingest_token_keyset_t *ks, const char *t)
{
    ingest_token_claims_t  c;

    return ingest_token_reason(vt(ks, t, NOW, 0, &c));
}


/* a token from raw header and payload JSON, signed with the static
 * functions of the codec */

static size_t
mk(char *out, const char *header, const char *payload,
    ingest_token_alg_t alg, const unsigned char *key, size_t key_len)
{
    size_t         n;
    unsigned char  sig[64];

    n = ingest_base64url_encode((unsigned char *) out,
                                (const unsigned char *) header,
                                strlen(header));
    out[n++] = '.';
    n += ingest_base64url_encode((unsigned char *) out + n,
                                 (const unsigned char *) payload,
                                 strlen(payload));

    if (alg == INGEST_TOKEN_HS256) {
        if (ingest_token_hs256(key, key_len, (unsigned char *) out, n, sig)) {
            TEST_FAIL("%s", "hs256");
        }

    } else if (ingest_token_eddsa_sign(key, (unsigned char *) out, n, sig)) {
        TEST_FAIL("%s", "eddsa sign");
    }

    out[n++] = '.';
    n += ingest_base64url_encode((unsigned char *) out + n, sig,
                                 alg == INGEST_TOKEN_HS256 ? 32 : 64);
    out[n] = '\0';

    return n;
}


/* header and payload signed with the key the header's kid names
 * (k1, k2: HS256; e1: EdDSA; anything else: k1's secret) */

static const char *
mkv(const ingest_token_keyset_t *ks, const char *header, const char *payload)
{
    static char  buf[3][INGEST_TOKEN_MAX_LEN * 2];
    static int   n;

    char  *out;

    (void) ks;

    out = buf[n++ % 3];

    if (strstr(header, "\"e1\"") != NULL) {
        mk(out, header, payload, INGEST_TOKEN_EDDSA, ed_priv, 32);

    } else if (strstr(header, "\"k2\"") != NULL) {
        mk(out, header, payload, INGEST_TOKEN_HS256,
           (const unsigned char *) hs_secret2, strlen(hs_secret2));

    } else {
        mk(out, header, payload, INGEST_TOKEN_HS256,
           (const unsigned char *) hs_secret, strlen(hs_secret));
    }

    return out;
}


static int
json(ingest_token_json_t *j, const char *s)
{
    int             rc;
    size_t          len;
    unsigned char  *d;

    len = strlen(s);
    d = test_dup(s, len);
    rc = ingest_token_json_parse(j, d, len);
    free(d);

    return rc;
}


static int
scope(const char *sc, const char *path)
{
    int                     rc;
    size_t                  len;
    unsigned char          *d;
    ingest_token_claims_t   c;

    memset(&c, 0, sizeof(c));
    snprintf(c.scope, sizeof(c.scope), "%s", sc);

    len = strlen(path);
    d = test_dup(path, len);
    rc = ingest_token_scope_allows(&c, d, len);
    free(d);

    return rc;
}


static int
type_ok(const ingest_token_claims_t *c, const char *type)
{
    int             rc;
    size_t          len;
    unsigned char  *d;

    len = strlen(type);
    d = test_dup(type, len);
    rc = ingest_token_type_allowed(c, d, len);
    free(d);

    return rc;
}


static size_t
unb64(unsigned char *out, const char *s)
{
    ssize_t  n;

    n = ingest_base64url_decode(out, (const unsigned char *) s, strlen(s));
    if (n < 0) {
        TEST_FAIL("base64url %s", s);
        return 0;
    }

    return (size_t) n;
}


/* k1, k2: HS256; e1: EdDSA (the RFC 8037 key) */

static void
keyset_init(ingest_token_keyset_t *ks)
{
    memset(ks, 0, sizeof(ingest_token_keyset_t));

    CHECK_INT(ingest_token_keyset_add(ks, "k1", INGEST_TOKEN_HS256,
                                      (const unsigned char *) hs_secret,
                                      strlen(hs_secret)), 0);
    CHECK_INT(ingest_token_keyset_add(ks, "k2", INGEST_TOKEN_HS256,
                                      (const unsigned char *) hs_secret2,
                                      strlen(hs_secret2)), 0);
    CHECK_INT(ingest_token_keyset_add(ks, "e1", INGEST_TOKEN_EDDSA, ed_pub,
                                      32), 0);
}


static void
test_base64url(void)
{
    size_t          i, k, len;
    ssize_t         n;
    uint64_t        state;
    unsigned char   in[300], enc[400], dec[300];

    static const char  *rfc4648[][2] = {
        { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" }
    };

    static const char  *bad[] = {
        "Zg==", "Zg=", "Zm8=", "Z", "Zm9vY", "Zh", "Zm9", "Zm+v", "Zm/v",
        "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v.", "Zm9\x80", "Zm9\0"
    };

    for (i = 0; i < 7; i++) {
        n = (ssize_t) ingest_base64url_encode(enc,
                                   (const unsigned char *) rfc4648[i][0],
                                   strlen(rfc4648[i][0]));
        CHECK_MEM(enc, n, rfc4648[i][1]);

        n = ingest_base64url_decode(dec,
                                    (const unsigned char *) rfc4648[i][1],
                                    strlen(rfc4648[i][1]));
        CHECK_MEM(dec, n, rfc4648[i][0]);
    }

    /* the URL-safe alphabet: 0xfb 0xff -> "-_8" */

    n = (ssize_t) ingest_base64url_encode(enc,
                                          (const unsigned char *) "\xfb\xff",
                                          2);
    CHECK_MEM(enc, n, "-_8");
    n = ingest_base64url_decode(dec, (const unsigned char *) "-_8", 3);
    CHECK_INT(n, 2);
    CHECK(dec[0] == 0xfb && dec[1] == 0xff);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        len = strlen(bad[i]);

        if (i == sizeof(bad) / sizeof(bad[0]) - 1) {
            len = 4;
        }

        n = ingest_base64url_decode(dec, (const unsigned char *) bad[i], len);
        if (n != -1) {
            TEST_FAIL("accepted \"%s\"", bad[i]);
        } else {
            test_passed++;
        }
    }

    CHECK_INT(ingest_base64url_decode(NULL, (const unsigned char *) "Zm9v",
                                      4), 3);
    CHECK_INT(ingest_base64url_decode(dec, NULL, 4), -1);

    /* round trips, and a single changed character never also decodes
     * to the same bytes */

    state = 1;

    for (i = 0; i < 2000; i++) {
        len = test_rand(&state) % sizeof(in);

        for (k = 0; k < len; k++) {
            in[k] = (unsigned char) test_rand(&state);
        }

        k = ingest_base64url_encode(enc, in, len);

        if (k != (len * 4 + 2) / 3 || memchr(enc, '=', k) != NULL) {
            TEST_FAIL("encode length %zu", len);
        }

        n = ingest_base64url_decode(dec, enc, k);

        if (n != (ssize_t) len || memcmp(in, dec, len) != 0) {
            TEST_FAIL("round trip of %zu bytes", len);
        } else {
            test_passed++;
        }
    }
}


static void
test_json(void)
{
    size_t                            i;
    ingest_token_json_t              *j;
    const ingest_token_json_value_t  *v;
    char                              big[8000];

    static const char  *good[] = {
        "{}", " \t\r\n{ }\n", "{\"a\":1}", "{ \"a\" : \"b\" , \"c\" : [ ] }",
        "{\"a\":[1,\"x\",true,false,null,-0,1.5e3,2E-2]}",
        "{\"a\":-9223372036854775807}", "{\"a\":1e400}",
        "{\"\":1}", "{\"a\":\"\\u00e9\\ud83c\\udfac\\/\\b\\f\\n\\r\\t\"}",
        "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xac\"}",
        "{\"a\":true,\"b\":false,\"c\":null}"
    };

    static const char  *bad[] = {
        "", " ", "[]", "\"a\"", "1", "{", "}", "{\"a\"}", "{\"a\":}",
        "{\"a\":1,}", "{,\"a\":1}", "{\"a\":1}x", "{\"a\":1}{}",
        "{\"a\":1 \"b\":2}", "{\"a\" 1}", "{a:1}", "{'a':1}",
        "{\"a\":{\"b\":1}}", "{\"a\":[[1]]}", "{\"a\":[{}]}", "{\"a\":[1,]}",
        "{\"a\":[1 2]}", "{\"a\":[", "{\"a\":1,\"a\":2}",
        "{\"\\u0061\":1,\"a\":2}", "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\ud800\\ud800\"}",
        "{\"a\":\"\\ud800x\"}", "{\"a\":\"x\ty\"}", "{\"a\":\"x\ny\"}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"\\U0041\"}", "{\"a\":\"\\'\"}", "{\"a\":\"abc}",
        "{\"a\":\"\xc3\x28\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":\"\xe0\x80\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}",
        "{\"a\":\"\xe2\x82\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":-}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":+1}",
        "{\"a\":0x10}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-a}",
        "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":falsey}",
        "\xef\xbb\xbf{}", "{\"a\"\xc2\xa0:1}"
    };

    j = malloc(sizeof(ingest_token_json_t));
    if (j == NULL) {
        exit(2);
    }

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (json(j, good[i]) != 0) {
            TEST_FAIL("refused %s", good[i]);
        } else {
            test_passed++;
        }
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (json(j, bad[i]) == 0) {
            TEST_FAIL("accepted %s", bad[i]);
        } else {
            test_passed++;
        }
    }

    /* an embedded NUL after a complete object */

    CHECK_INT(ingest_token_json_parse(j, (const unsigned char *) "{}\0", 3),
              -1);

    /* decoded values */

    CHECK_INT(json(j, "{\"s\":\"x\\u00e9\\ud83c\\udfac\\n\\\"\\\\\\/\","
                      "\"i\":-12,\"f\":1.0,\"e\":1e3,"
                      "\"big\":9223372036854775808,"
                      "\"max\":9223372036854775807,"
                      "\"arr\":[\"a\",2],\"t\":true,\"n\":null}"), 0);

    v = ingest_token_json_get(j, "s");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_STRING);
    if (v != NULL) {
        CHECK_MEM(v->str, v->len, "x\xc3\xa9\xf0\x9f\x8e\xac\n\"\\/");
    }

    v = ingest_token_json_get(j, "i");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_INT && v->num == -12);
    v = ingest_token_json_get(j, "f");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_NUMBER);
    v = ingest_token_json_get(j, "e");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_NUMBER);
    v = ingest_token_json_get(j, "big");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_NUMBER);
    v = ingest_token_json_get(j, "max");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_INT
          && v->num == INT64_MAX);
    v = ingest_token_json_get(j, "arr");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_ARRAY && v->len == 2);
    if (v != NULL && v->len == 2) {
        CHECK(j->items[v->first].type == INGEST_TOKEN_JSON_STRING);
        CHECK(j->items[v->first + 1].type == INGEST_TOKEN_JSON_INT);
    }
    v = ingest_token_json_get(j, "t");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_TRUE);
    v = ingest_token_json_get(j, "n");
    CHECK(v != NULL && v->type == INGEST_TOKEN_JSON_NULL);
    CHECK(ingest_token_json_get(j, "missing") == NULL);

    /* bounds: members, array items, input size */

    strcpy(big, "{");
    for (i = 0; i < INGEST_TOKEN_JSON_MEMBERS; i++) {
        sprintf(big + strlen(big), "%s\"m%zu\":1", i ? "," : "", i);
    }
    strcat(big, "}");
    CHECK_INT(json(j, big), 0);

    strcpy(big, "{");
    for (i = 0; i <= INGEST_TOKEN_JSON_MEMBERS; i++) {
        sprintf(big + strlen(big), "%s\"m%zu\":1", i ? "," : "", i);
    }
    strcat(big, "}");
    CHECK_INT(json(j, big), -1);

    strcpy(big, "{\"a\":[");
    for (i = 0; i < INGEST_TOKEN_JSON_ITEMS; i++) {
        strcat(big, i ? ",1" : "1");
    }
    strcat(big, "]}");
    CHECK_INT(json(j, big), 0);

    strcpy(big, "{\"a\":[1],\"b\":[");
    for (i = 0; i < INGEST_TOKEN_JSON_ITEMS; i++) {
        strcat(big, i ? ",1" : "1");
    }
    strcat(big, "]}");
    CHECK_INT(json(j, big), -1);

    memset(big, ' ', sizeof(big));
    big[0] = '{';
    big[INGEST_TOKEN_PART_MAX - 1] = '}';
    big[INGEST_TOKEN_PART_MAX] = '\0';
    CHECK_INT(json(j, big), 0);
    big[INGEST_TOKEN_PART_MAX] = ' ';
    big[INGEST_TOKEN_PART_MAX + 1] = '\0';
    CHECK_INT(json(j, big), -1);

    /* a string as long as the whole input */

    memset(big, 'x', INGEST_TOKEN_PART_MAX);
    memcpy(big, "{\"a\":\"", 6);
    memcpy(big + INGEST_TOKEN_PART_MAX - 2, "\"}", 2);
    big[INGEST_TOKEN_PART_MAX] = '\0';
    CHECK_INT(json(j, big), 0);
    v = ingest_token_json_get(j, "a");
    CHECK(v != NULL && v->len == INGEST_TOKEN_PART_MAX - 8);

    free(j);
}


/* RFC 7515 appendix A.1: HS256 */

static void
test_rfc7515(void)
{
    size_t                 klen, n;
    ingest_token_json_t   *j;
    ingest_token_keyset_t  ks;
    unsigned char          key[64], mac[32], enc[64];

    static const char  *input =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        "."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

    static const char  *token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        "."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        "."
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    klen = unb64(key, "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH7"
                      "5aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    CHECK_INT(klen, 64);

    CHECK_INT(ingest_token_hs256(key, klen, (const unsigned char *) input,
                                 strlen(input), mac), 0);
    n = ingest_base64url_encode(enc, mac, 32);
    CHECK_MEM(enc, n, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");

    /* its header, {"typ":"JWT",\r\n "alg":"HS256"}, and claims parse */

    j = malloc(sizeof(ingest_token_json_t));
    if (j == NULL) {
        exit(2);
    }

    CHECK_INT(json(j, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"), 0);
    CHECK_INT(json(j, "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n"
                      " \"http://example.com/is_root\":true}"), 0);
    CHECK(ingest_token_json_get(j, "exp") != NULL
          && ingest_token_json_get(j, "exp")->num == 1300819380);
    free(j);

    /* the token itself has no kid, which this profile requires */

    memset(&ks, 0, sizeof(ks));
    CHECK_INT(ingest_token_keyset_add(&ks, "a1", INGEST_TOKEN_HS256, key,
                                      klen), 0);
    CHECK_INT(vt(&ks, token, 1300819000, 0, &(ingest_token_claims_t) {0}),
              INGEST_TOKEN_BAD_HEADER);
    ingest_token_keyset_free(&ks);
}


/* RFC 8037 appendix A.4 and A.5: Ed25519 */

static void
test_rfc8037(void)
{
    size_t                 n;
    EVP_PKEY              *pkey;
    ingest_token_keyset_t  ks;
    ingest_token_claims_t  c;
    unsigned char          sig[64], enc[100], pub[32];
    char                   tok[512];

    static const char  *input =
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    static const char  *signature =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5Bh"
        "VsPt9g7sVvpAr_MuM0KAg";

    /* the public key is the one of the private key */

    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed_priv, 32);
    n = sizeof(pub);
    CHECK(pkey != NULL && EVP_PKEY_get_raw_public_key(pkey, pub, &n) == 1);
    CHECK(n == 32 && memcmp(pub, ed_pub, 32) == 0);
    EVP_PKEY_free(pkey);

    /* A.4: Ed25519 is deterministic, so our signature is the RFC's */

    CHECK_INT(ingest_token_eddsa_sign(ed_priv, (const unsigned char *) input,
                                      strlen(input), sig), 0);
    n = ingest_base64url_encode(enc, sig, 64);
    CHECK_MEM(enc, n, signature);

    /* A.5: and it verifies; one flipped bit anywhere does not */

    memset(&ks, 0, sizeof(ks));
    CHECK_INT(ingest_token_keyset_add(&ks, "rfc8037", INGEST_TOKEN_EDDSA,
                                      ed_pub, 32), 0);

    CHECK_INT(unb64(sig, signature), 64);
    CHECK_INT(ingest_token_eddsa_verify(ks.keys[0].pkey,
                                        (const unsigned char *) input,
                                        strlen(input), sig), 1);
    sig[10] ^= 0x01;
    CHECK_INT(ingest_token_eddsa_verify(ks.keys[0].pkey,
                                        (const unsigned char *) input,
                                        strlen(input), sig), 0);
    sig[10] ^= 0x01;
    CHECK_INT(ingest_token_eddsa_verify(ks.keys[0].pkey,
                                        (const unsigned char *) input,
                                        strlen(input) - 1, sig), 0);

    /* the RFC token has no kid; with one it verifies end to end */

    snprintf(tok, sizeof(tok), "%s.%s", input, signature);
    CHECK_INT(vt(&ks, tok, NOW, 0, &c), INGEST_TOKEN_BAD_HEADER);

    mk(tok, "{\"alg\":\"EdDSA\",\"kid\":\"rfc8037\"}",
       "{\"sub\":\"rfc\",\"exp\":1700000100}", INGEST_TOKEN_EDDSA, ed_priv,
       32);
    CHECK_INT(vt(&ks, tok, NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK(strcmp(c.sub, "rfc") == 0 && c.alg == INGEST_TOKEN_EDDSA);

    ingest_token_keyset_free(&ks);
}


static void
test_keyset(void)
{
    size_t                 i;
    char                   kid[80];
    unsigned char          key[300];
    ingest_token_keyset_t  ks;

    memset(&ks, 0, sizeof(ks));
    memset(key, 'k', sizeof(key));

    CHECK_INT(ingest_token_keyset_add(&ks, "a", INGEST_TOKEN_HS256, key, 32),
              0);
    CHECK_INT(ingest_token_keyset_add(&ks, "a", INGEST_TOKEN_HS256, key, 32),
              -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "b", INGEST_TOKEN_HS256, key, 31),
              -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "b", INGEST_TOKEN_HS256, key, 257),
              -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "b", INGEST_TOKEN_HS256, key, 256),
              0);
    CHECK_INT(ingest_token_keyset_add(&ks, "c", INGEST_TOKEN_EDDSA, key, 31),
              -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "c", INGEST_TOKEN_EDDSA, key, 33),
              -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "c", (ingest_token_alg_t) 0, key,
                                      32), -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "c", (ingest_token_alg_t) 3, key,
                                      32), -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "", INGEST_TOKEN_HS256, key, 32),
              -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "c\n", INGEST_TOKEN_HS256, key,
                                      32), -1);
    CHECK_INT(ingest_token_keyset_add(&ks, NULL, INGEST_TOKEN_HS256, key, 32),
              -1);
    CHECK_INT(ingest_token_keyset_add(&ks, "c", INGEST_TOKEN_HS256, NULL, 32),
              -1);
    CHECK_INT(ingest_token_keyset_add(NULL, "c", INGEST_TOKEN_HS256, key, 32),
              -1);

    memset(kid, 'x', sizeof(kid));
    kid[INGEST_TOKEN_KID_MAX + 1] = '\0';
    CHECK_INT(ingest_token_keyset_add(&ks, kid, INGEST_TOKEN_HS256, key, 32),
              -1);
    kid[INGEST_TOKEN_KID_MAX] = '\0';
    CHECK_INT(ingest_token_keyset_add(&ks, kid, INGEST_TOKEN_HS256, key, 32),
              0);

    CHECK_INT(ks.nkeys, 3);

    for (i = ks.nkeys; i < INGEST_TOKEN_MAX_KEYS; i++) {
        snprintf(kid, sizeof(kid), "e%zu", i);
        CHECK_INT(ingest_token_keyset_add(&ks, kid, INGEST_TOKEN_EDDSA,
                                          ed_pub, 32), 0);
    }

    CHECK_INT(ingest_token_keyset_add(&ks, "z", INGEST_TOKEN_HS256, key, 32),
              -1);
    CHECK(ks.keys[INGEST_TOKEN_MAX_KEYS - 1].pkey != NULL);

    ingest_token_keyset_free(&ks);
    CHECK_INT(ks.nkeys, 0);
    CHECK(ks.keys[INGEST_TOKEN_MAX_KEYS - 1].pkey == NULL);
    CHECK(ks.keys[0].key[0] == 0 && ks.keys[0].key_len == 0);

    /* freeing twice or an empty set is harmless */

    ingest_token_keyset_free(&ks);
    ingest_token_keyset_free(NULL);
}


static void
test_key_files(void)
{
    BIO            *bio;
    char           *pem, text[600];
    long            len;
    size_t          n;
    EVP_PKEY       *pkey;
    unsigned char   key[INGEST_TOKEN_KEY_MAX], *d;

#define KEYFILE(alg, s, rc)                                                   \
    do {                                                                      \
        d = test_dup(s, strlen(s));                                           \
        n = 0;                                                                \
        CHECK_INT(ingest_token_parse_key_file(alg, d, strlen(s), key, &n),    \
                  rc);                                                        \
        free(d);                                                              \
    } while (0)

    /* hex: */

    KEYFILE(INGEST_TOKEN_HS256, "hex:00112233445566778899aabbccddeeff"
            "00112233445566778899AABBCCDDEEFF\n", 0);
    CHECK_INT(n, 32);
    CHECK(key[0] == 0x00 && key[1] == 0x11 && key[31] == 0xff);
    KEYFILE(INGEST_TOKEN_HS256, "hex:00112233445566778899aabbccddeeff"
            "00112233445566778899aabbccddeeff\r\n", 0);
    KEYFILE(INGEST_TOKEN_HS256, "hex:00112233445566778899aabbccddeeff"
            "00112233445566778899aabbccddee", -1);
    KEYFILE(INGEST_TOKEN_HS256, "hex:00112233445566778899aabbccddeeff"
            "00112233445566778899aabbccddeef", -1);
    KEYFILE(INGEST_TOKEN_HS256, "hex:00112233445566778899aabbccddeeff"
            "00112233445566778899aabbccddeegg", -1);
    KEYFILE(INGEST_TOKEN_HS256, "hex: 0112233445566778899aabbccddeeff"
            "00112233445566778899aabbccddeeff", -1);

    /* base64:, standard or URL-safe, padded or not */

    KEYFILE(INGEST_TOKEN_HS256, "base64:+/+/AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
            "GBkaGxwdHh8=\n", 0);
    CHECK_INT(n, 35);
    CHECK(key[0] == 0xfb && key[1] == 0xff && key[34] == 0x1f);
    KEYFILE(INGEST_TOKEN_HS256, "base64:-_-_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
            "GBkaGxwdHh8", 0);
    CHECK_INT(n, 35);
    KEYFILE(INGEST_TOKEN_HS256, "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBka"
            "Gxwd", -1);
    KEYFILE(INGEST_TOKEN_HS256, "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBka"
            "Gxwd*x8=", -1);
    KEYFILE(INGEST_TOKEN_HS256, "base64:", -1);

    memset(text, 'A', sizeof(text));
    memcpy(text, "base64:", 7);
    text[7 + 344] = '\0';               /* 258 bytes: too long */
    KEYFILE(INGEST_TOKEN_HS256, text, -1);
    text[7 + 340] = '\0';               /* 255 bytes */
    KEYFILE(INGEST_TOKEN_HS256, text, 0);
    CHECK_INT(n, 255);

    /* raw bytes: one trailing newline is not part of the secret */

    KEYFILE(INGEST_TOKEN_HS256, "0123456789abcdef0123456789abcdef\n", 0);
    CHECK_INT(n, 32);
    KEYFILE(INGEST_TOKEN_HS256, "0123456789abcdef0123456789abcdef\r\n", 0);
    CHECK_INT(n, 32);
    KEYFILE(INGEST_TOKEN_HS256, "0123456789abcdef0123456789abcde\n", -1);
    KEYFILE(INGEST_TOKEN_HS256, "0123456789abcdef0123456789abcdef ", 0);
    CHECK_INT(n, 33);
    KEYFILE(INGEST_TOKEN_HS256, "", -1);

    memset(text, 'r', sizeof(text));
    text[257] = '\0';
    KEYFILE(INGEST_TOKEN_HS256, text, -1);
    text[256] = '\0';
    KEYFILE(INGEST_TOKEN_HS256, text, 0);

    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_HS256, NULL, 0, key,
                                          &n), -1);
    CHECK_INT(ingest_token_parse_key_file((ingest_token_alg_t) 7,
                                          (const unsigned char *) text, 40,
                                          key, &n), -1);

    /* EdDSA: PEM SubjectPublicKeyInfo of the RFC 8037 key */

    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, ed_pub, 32);
    bio = BIO_new(BIO_s_mem());
    CHECK(pkey != NULL && bio != NULL && PEM_write_bio_PUBKEY(bio, pkey));
    len = BIO_get_mem_data(bio, &pem);

    d = test_dup(pem, (size_t) len);
    memset(key, 0, sizeof(key));
    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_EDDSA, d, (size_t) len,
                                          key, &n), 0);
    CHECK(n == 32 && memcmp(key, ed_pub, 32) == 0);

    /* and the same file is not an HS256 secret */

    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_HS256, d, (size_t) len,
                                          key, &n), -1);

    /* a cut PEM, a PEM with a bad character, HS256 fed the PEM */

    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_EDDSA, d,
                                          (size_t) len - 30, key, &n), -1);
    d[40] = '*';
    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_EDDSA, d, (size_t) len,
                                          key, &n), -1);
    free(d);

    BIO_free(bio);
    EVP_PKEY_free(pkey);

    /* the private key: refused as a public key, read by the helper */

    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed_priv, 32);
    bio = BIO_new(BIO_s_mem());
    CHECK(pkey != NULL && bio != NULL
          && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL));
    len = BIO_get_mem_data(bio, &pem);
    d = test_dup(pem, (size_t) len);

    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_EDDSA, d, (size_t) len,
                                          key, &n), -1);
    memset(key, 0, sizeof(key));
    CHECK_INT(ingest_token_parse_private_key_file(INGEST_TOKEN_EDDSA, d,
                                                  (size_t) len, key, &n), 0);
    CHECK(n == 32 && memcmp(key, ed_priv, 32) == 0);
    free(d);
    BIO_free(bio);

    /* an encrypted private key fails without asking for a password */

    bio = BIO_new(BIO_s_mem());
    CHECK(bio != NULL
          && PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_128_cbc(),
                                           NULL, 0, NULL, (void *) "pass"));
    len = BIO_get_mem_data(bio, &pem);
    d = test_dup(pem, (size_t) len);
    CHECK_INT(ingest_token_parse_private_key_file(INGEST_TOKEN_EDDSA, d,
                                                  (size_t) len, key, &n), -1);
    free(d);
    BIO_free(bio);
    EVP_PKEY_free(pkey);

    /* an EC key is not an Ed25519 key */

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    bio = BIO_new(BIO_s_mem());
    CHECK(pkey != NULL && bio != NULL && PEM_write_bio_PUBKEY(bio, pkey));
    len = BIO_get_mem_data(bio, &pem);
    d = test_dup(pem, (size_t) len);
    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_EDDSA, d, (size_t) len,
                                          key, &n), -1);
    free(d);
    BIO_free(bio);

    bio = BIO_new(BIO_s_mem());
    CHECK(bio != NULL
          && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL));
    len = BIO_get_mem_data(bio, &pem);
    d = test_dup(pem, (size_t) len);
    CHECK_INT(ingest_token_parse_private_key_file(INGEST_TOKEN_EDDSA, d,
                                                  (size_t) len, key, &n), -1);
    free(d);
    BIO_free(bio);
    EVP_PKEY_free(pkey);

    /* garbage, empty, NULL */

    KEYFILE(INGEST_TOKEN_EDDSA, "not a key at all\n", -1);
    KEYFILE(INGEST_TOKEN_EDDSA, "", -1);
    KEYFILE(INGEST_TOKEN_EDDSA, "-----BEGIN PUBLIC KEY-----\n"
            "-----END PUBLIC KEY-----\n", -1);
    CHECK_INT(ingest_token_parse_private_key_file(INGEST_TOKEN_EDDSA, NULL, 0,
                                                  key, &n), -1);

    /* HS256 through the private helper is the same secret */

    d = test_dup("hex:00112233445566778899aabbccddeeff"
                 "00112233445566778899aabbccddeeff", 68);
    CHECK_INT(ingest_token_parse_private_key_file(INGEST_TOKEN_HS256, d, 68,
                                                  key, &n), 0);
    CHECK_INT(n, 32);
    free(d);

    CHECK_INT(ERR_peek_error(), 0);

#undef KEYFILE
}


static void
test_verify_ok(void)
{
    char                    buf[1024];
    const char             *t;
    ingest_token_claims_t   c;
    ingest_token_keyset_t   ks;

    keyset_init(&ks);

    t = mkv(&ks, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
            "{\"sub\":\"alice\",\"aud\":[\"upload\",\"hls\"],"
            "\"scope\":\"/files/alice\",\"exp\":1700003600,"
            "\"nbf\":1699999000,\"iat\":1699999990,"
            "\"max_size\":10737418240,"
            "\"types\":[\"video/*\",\"audio/mp4\"],\"jti\":\"t-42\","
            "\"iss\":\"app\",\"x\":[1,2.5,null],\"y\":{\"z\":1}}");

    /* an object in an unknown claim is still more than we parse */

    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_MALFORMED);

    t = mkv(&ks, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
            "{\"sub\":\"alice\",\"aud\":[\"upload\",\"hls\"],"
            "\"scope\":\"/files/alice\",\"exp\":1700003600,"
            "\"nbf\":1699999000,\"iat\":1699999990,"
            "\"max_size\":10737418240,"
            "\"types\":[\"video/*\",\"audio/mp4\"],\"jti\":\"t-42\","
            "\"iss\":\"app\",\"x\":[1,2.5,null],\"b\":true}");

    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK(strcmp(c.kid, "k1") == 0);
    CHECK_INT(c.alg, INGEST_TOKEN_HS256);
    CHECK(strcmp(c.sub, "alice") == 0);
    CHECK_INT(c.naud, 2);
    CHECK(strcmp(c.aud[0], "upload") == 0 && strcmp(c.aud[1], "hls") == 0);
    CHECK(strcmp(c.scope, "/files/alice") == 0);
    CHECK_INT(c.exp, 1700003600);
    CHECK_INT(c.nbf, 1699999000);
    CHECK_INT(c.iat, 1699999990);
    CHECK_U64(c.max_size, 10737418240ULL);
    CHECK_INT(c.ntypes, 2);
    CHECK(strcmp(c.types[0], "video/*") == 0);
    CHECK(strcmp(c.jti, "t-42") == 0);
    CHECK_INT(ingest_token_has_audience(&c, "upload"), 1);
    CHECK_INT(ingest_token_has_audience(&c, "hls"), 1);
    CHECK_INT(ingest_token_has_audience(&c, "srt"), 0);
    CHECK_INT(ingest_token_has_audience(&c, "UPLOAD"), 0);
    CHECK_INT(ingest_token_has_audience(&c, NULL), 0);
    CHECK_INT(ingest_token_has_audience(NULL, "hls"), 0);

    /* rotation: every key of the set, each by its kid */

    t = mkv(&ks, "{\"alg\":\"HS256\",\"kid\":\"k2\"}",
            "{\"sub\":\"bob\",\"exp\":1700000001,\"aud\":\"srt\"}");
    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK(strcmp(c.kid, "k2") == 0 && strcmp(c.sub, "bob") == 0);
    CHECK_INT(c.naud, 1);
    CHECK_INT(ingest_token_has_audience(&c, "srt"), 1);
    CHECK_INT(c.nbf, 0);
    CHECK_INT(c.iat, 0);
    CHECK_U64(c.max_size, 0);
    CHECK_INT(c.ntypes, 0);
    CHECK(c.scope[0] == '\0' && c.jti[0] == '\0');

    t = mkv(&ks, "{\"kid\":\"e1\",\"alg\":\"EdDSA\",\"typ\":\"jwt\"}",
            "{\"sub\":\"\\u00e9\\ud83c\\udfac\",\"exp\":1700000001,"
            "\"aud\":[]}");
    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK(strcmp(c.sub, "\xc3\xa9\xf0\x9f\x8e\xac") == 0);
    CHECK_INT(c.alg, INGEST_TOKEN_EDDSA);
    CHECK_INT(c.naud, 0);
    CHECK_INT(ingest_token_has_audience(&c, "upload"), 0);

    /* k1's kid on a token signed with k2's secret */

    mk(buf, "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
       "{\"sub\":\"bob\",\"exp\":1700000001}", INGEST_TOKEN_HS256,
       (const unsigned char *) hs_secret2, strlen(hs_secret2));
    CHECK(strcmp(vr(&ks, buf), "bad_signature") == 0);

    ingest_token_keyset_free(&ks);
}


static void
test_tamper(void)
{
    char                   t[2048], *dot;
    size_t                 n, i, bad;
    ingest_token_keyset_t  ks;

    static const char  *hdr =
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
    static const char  *pay = "{\"sub\":\"alice\",\"exp\":1700003600}";

    keyset_init(&ks);

    strcpy(t, mkv(&ks, hdr, pay));
    n = strlen(t);
    CHECK(strcmp(vr(&ks, t), "ok") == 0);

    /* every character of the token replaced by another valid one:
     * never accepted (the last characters of a part may fail the
     * unused-bits rule instead of the signature) */

    bad = 0;

    for (i = 0; i < n; i++) {
        char  saved = t[i];

        if (saved == '.') {
            continue;
        }

        t[i] = (saved == 'A') ? 'B' : 'A';

        if (strcmp(vr(&ks, t), "ok") == 0) {
            bad++;
            TEST_FAIL("accepted with char %zu changed", i);
        }

        t[i] = saved;
    }

    CHECK_INT(bad, 0);

    /* a payload from another token, a header from another token */

    dot = strchr(t, '.');
    {
        char  other[2048], mix[4096], *odot;

        strcpy(other, mkv(&ks, hdr, "{\"sub\":\"mallory\","
                                    "\"exp\":1700003600}"));
        odot = strchr(other, '.');

        /* header of t, payload of other, signature of t */

        snprintf(mix, sizeof(mix), "%.*s.%.*s%s", (int) (dot - t), t,
                 (int) (strrchr(other, '.') - odot - 1), odot + 1,
                 strrchr(t, '.'));
        CHECK(strcmp(vr(&ks, mix), "bad_signature") == 0);

        /* a header that still names k1 but differs */

        strcpy(other, mkv(&ks, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", pay));
        odot = strchr(other, '.');
        snprintf(mix, sizeof(mix), "%.*s%s", (int) (odot - other), other,
                 dot);
        CHECK(strcmp(vr(&ks, mix), "bad_signature") == 0);
    }

    /* signature lengths: cut, extended, empty */

    strcpy(t, mkv(&ks, hdr, pay));
    n = strlen(t);

    t[n - 3] = '\0';
    CHECK(strcmp(vr(&ks, t), "bad_signature") == 0);
    strcpy(t, mkv(&ks, hdr, pay));
    strcat(t, "AAAA");
    CHECK(strcmp(vr(&ks, t), "bad_signature") == 0);
    strcpy(t, mkv(&ks, hdr, pay));
    strcat(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    CHECK(strcmp(vr(&ks, t), "bad_signature") == 0);
    strcpy(t, mkv(&ks, hdr, pay));
    *(strrchr(t, '.') + 1) = '\0';
    CHECK(strcmp(vr(&ks, t), "bad_signature") == 0);

    /* an EdDSA signature: each byte flipped */

    strcpy(t, mkv(&ks, "{\"alg\":\"EdDSA\",\"kid\":\"e1\"}", pay));
    CHECK(strcmp(vr(&ks, t), "ok") == 0);
    n = strlen(t);
    bad = 0;

    for (i = n - 86; i < n - 2; i++) {
        char  saved = t[i];

        t[i] = (saved == 'x') ? 'y' : 'x';

        if (strcmp(vr(&ks, t), "bad_signature") != 0) {
            bad++;
        }

        t[i] = saved;
    }

    CHECK_INT(bad, 0);

    ingest_token_keyset_free(&ks);
}


static void
test_structure(void)
{
    char                  *big;
    char                   t[INGEST_TOKEN_MAX_LEN * 2];
    char                   pay[INGEST_TOKEN_MAX_LEN];
    size_t                 n, pad;
    ingest_token_claims_t  c;
    ingest_token_keyset_t  ks;

    static const char  *hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";

    keyset_init(&ks);

    CHECK(strcmp(vr(&ks, ""), "malformed") == 0);
    CHECK(strcmp(vr(&ks, "."), "malformed") == 0);
    CHECK(strcmp(vr(&ks, ".."), "malformed") == 0);
    CHECK(strcmp(vr(&ks, "..."), "malformed") == 0);
    CHECK(strcmp(vr(&ks, "abc"), "malformed") == 0);
    CHECK(strcmp(vr(&ks, "e30.e30"), "malformed") == 0);
    CHECK(strcmp(vr(&ks, "e30.e30.e30.e30"), "malformed") == 0);

    /* "hello" and "[]" as the header */

    CHECK(strcmp(vr(&ks, "aGVsbG8.e30.AAAA"), "malformed") == 0);
    CHECK(strcmp(vr(&ks, "W10.e30.AAAA"), "malformed") == 0);

    /* padding, the standard alphabet, white space: refused */

    strcpy(t, mkv(&ks, hdr, "{\"sub\":\"a\",\"exp\":1700003600}"));
    CHECK(strcmp(vr(&ks, t), "ok") == 0);

    n = strlen(t);
    strcat(t, "=");
    CHECK(strcmp(vr(&ks, t), "malformed") == 0);
    t[n] = '\n';
    CHECK(strcmp(vr(&ks, t), "malformed") == 0);
    t[n] = '\0';

    memmove(t + 1, t, n + 1);
    t[0] = ' ';
    CHECK(strcmp(vr(&ks, t), "malformed") == 0);
    memmove(t, t + 1, n + 1);

    {
        char  *p;

        p = strchr(t, '.') - 1;
        *p = '+';
        CHECK(strcmp(vr(&ks, t), "malformed") == 0);
        *p = '/';
        CHECK(strcmp(vr(&ks, t), "malformed") == 0);
    }

    /* a payload that is not JSON, correctly signed */

    mk(t, hdr, "not json", INGEST_TOKEN_HS256,
       (const unsigned char *) hs_secret, strlen(hs_secret));
    CHECK(strcmp(vr(&ks, t), "malformed") == 0);
    mk(t, hdr, "{\"sub\":\"a\",\"exp\":1700003600,}", INGEST_TOKEN_HS256,
       (const unsigned char *) hs_secret, strlen(hs_secret));
    CHECK(strcmp(vr(&ks, t), "malformed") == 0);
    mk(t, hdr, "{\"sub\":\"a\",\"exp\":1700003600,\"sub\":\"b\"}",
       INGEST_TOKEN_HS256, (const unsigned char *) hs_secret,
       strlen(hs_secret));
    CHECK(strcmp(vr(&ks, t), "malformed") == 0);

    /* the length limit, exactly: a token of INGEST_TOKEN_MAX_LEN bytes
     * verifies, one byte more does not get looked at */

    for (pad = 5000; pad < 7000; pad++) {
        snprintf(pay, sizeof(pay), "{\"sub\":\"a\",\"exp\":1700003600,"
                 "\"pad\":\"%0*d\"}", (int) pad, 0);
        n = mk(t, hdr, pay, INGEST_TOKEN_HS256,
               (const unsigned char *) hs_secret, strlen(hs_secret));

        if (n == INGEST_TOKEN_MAX_LEN) {
            break;
        }
    }

    CHECK_INT(n, INGEST_TOKEN_MAX_LEN);
    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK(strcmp(c.sub, "a") == 0);

    for (pad++; pad < 7000; pad++) {
        snprintf(pay, sizeof(pay), "{\"sub\":\"a\",\"exp\":1700003600,"
                 "\"pad\":\"%0*d\"}", (int) pad, 0);
        n = mk(t, hdr, pay, INGEST_TOKEN_HS256,
               (const unsigned char *) hs_secret, strlen(hs_secret));

        if (n > INGEST_TOKEN_MAX_LEN) {
            break;
        }
    }

    CHECK(n > INGEST_TOKEN_MAX_LEN && n <= INGEST_TOKEN_MAX_LEN + 4);
    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_MALFORMED);

    /* huge inputs */

    big = malloc(1 << 20);
    if (big == NULL) {
        exit(2);
    }

    memset(big, 'A', 1 << 20);
    big[(1 << 20) - 1] = '\0';
    CHECK(strcmp(vr(&ks, big), "malformed") == 0);
    memset(big, '.', 1 << 20);
    big[(1 << 20) - 1] = '\0';
    CHECK(strcmp(vr(&ks, big), "malformed") == 0);
    free(big);

    CHECK_INT(ingest_token_verify(&ks, NULL, 10, NOW, 0, &c),
              INGEST_TOKEN_MALFORMED);
    CHECK_INT(ingest_token_verify(NULL, (const unsigned char *) "a.b.c", 5,
                                  NOW, 0, &c), INGEST_TOKEN_MALFORMED);
    CHECK_INT(ingest_token_verify(&ks, (const unsigned char *) "a.b.c", 5,
                                  NOW, 0, NULL), INGEST_TOKEN_MALFORMED);

    ingest_token_keyset_free(&ks);
}


static void
test_header(void)
{
    char                    t[1024];
    ingest_token_claims_t   c;
    ingest_token_keyset_t   ks;

    static const char  *pay = "{\"sub\":\"alice\",\"exp\":1700003600}";

    keyset_init(&ks);

#define HDR(h, reason)                                                        \
    CHECK_MEM(vr(&ks, mkv(&ks, h, pay)), strlen(reason), reason)

    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\"}", "ok");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", "ok");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"jwt\"}", "ok");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"cty\":\"x\",\"jku\":\"y\"}",
        "ok");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWS\"}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":1}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":null}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}",
        "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[]}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"b64\":false,"
        "\"crit\":[\"b64\"]}", "bad_header");
    HDR("{\"alg\":\"HS256\"}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"\"}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":1}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":[\"k1\"]}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k\\n1\"}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", "bad_header");
    HDR("{\"kid\":\"k1\"}", "bad_header");
    HDR("{\"alg\":null,\"kid\":\"k1\"}", "bad_header");
    HDR("{\"alg\":[\"HS256\"],\"kid\":\"k1\"}", "bad_header");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k3\"}", "unknown_kid");
    HDR("{\"alg\":\"HS256\",\"kid\":\"K1\"}", "unknown_kid");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1 \"}", "unknown_kid");
    HDR("{\"alg\":\"none\",\"kid\":\"k1\"}", "alg_mismatch");
    HDR("{\"alg\":\"hs256\",\"kid\":\"k1\"}", "alg_mismatch");
    HDR("{\"alg\":\"HS384\",\"kid\":\"k1\"}", "alg_mismatch");
    HDR("{\"alg\":\"HS256 \",\"kid\":\"k1\"}", "alg_mismatch");
    HDR("{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", "alg_mismatch");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\",\"alg\":\"none\"}", "malformed");
    HDR("{\"alg\":\"HS256\",\"kid\":\"k1\"} x", "malformed");

#undef HDR

    /* "none" as attackers send it: no signature at all */

    snprintf(t, sizeof(t), "%s.%s.",
             "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ",
             "eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMzYwMH0");
    CHECK(strcmp(vr(&ks, t), "alg_mismatch") == 0);
    snprintf(t, sizeof(t), "%s.%s.",
             "eyJhbGciOiJub25lIn0",
             "eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMzYwMH0");
    CHECK(strcmp(vr(&ks, t), "bad_header") == 0);

    /* HS256 against the EdDSA key: the classic swap signs with the
     * public key bytes as the HMAC secret */

    mk(t, "{\"alg\":\"HS256\",\"kid\":\"e1\"}", pay, INGEST_TOKEN_HS256,
       ed_pub, 32);
    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_ALG_MISMATCH);
    CHECK(strcmp(c.kid, "e1") == 0);

    /* and EdDSA against an HS256 key */

    mk(t, "{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", pay, INGEST_TOKEN_EDDSA,
       ed_priv, 32);
    CHECK_INT(vt(&ks, t, NOW, 0, &c), INGEST_TOKEN_ALG_MISMATCH);

    /* the claims of a token with a bad header are not looked at */

    CHECK(c.sub[0] == '\0');

    ingest_token_keyset_free(&ks);
}


static void
test_claims(void)
{
    char                   p[2048], s[600];
    ingest_token_claims_t  c;
    ingest_token_keyset_t  ks;

    static const char  *hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";

    keyset_init(&ks);

#define CLAIMS(payload, reason)                                               \
    CHECK_MEM(vr(&ks, mkv(&ks, hdr, payload)), strlen(reason), reason)

    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600}", "ok");
    CLAIMS("{\"sub\":\"a\"}", "missing_claim");
    CLAIMS("{\"exp\":1700003600}", "missing_claim");
    CLAIMS("{}", "missing_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":null}", "bad_claim");
    CLAIMS("{\"sub\":\"\",\"exp\":1700003600}", "bad_claim");
    CLAIMS("{\"sub\":5,\"exp\":1700003600}", "bad_claim");
    CLAIMS("{\"sub\":[\"a\"],\"exp\":1700003600}", "bad_claim");
    CLAIMS("{\"sub\":\"a\\nb\",\"exp\":1700003600}", "bad_claim");
    CLAIMS("{\"sub\":\"a\\u007fb\",\"exp\":1700003600}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":\"1700003600\"}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600.0}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1.7000036e9}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":-1}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":253402300800}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":99999999999999999999}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":true}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"nbf\":\"0\"}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"iat\":1.5}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"jti\":7}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"scope\":[\"/a\"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"aud\":5}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"aud\":[\"a\",1]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"aud\":[\"1\",\"2\",\"3\","
           "\"4\",\"5\",\"6\",\"7\",\"8\"]}", "ok");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"aud\":[\"1\",\"2\",\"3\","
           "\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":\"video/mp4\"}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"video\"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"*/mp4\"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"video/\"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"video/a/b\"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"video/mp4 \"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"video/mp4;a=b\"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"video/x-flv\","
           "\"*/*\",\"audio/*\",\"application/vnd.a+b\"]}", "ok");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[]}", "ok");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"types\":[\"a/b\",\"a/b\","
           "\"a/b\",\"a/b\",\"a/b\",\"a/b\",\"a/b\",\"a/b\",\"a/b\",\"a/b\","
           "\"a/b\",\"a/b\",\"a/b\",\"a/b\",\"a/b\",\"a/b\",\"a/b\"]}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"max_size\":0}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"max_size\":-5}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"max_size\":1.5}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"max_size\":\"10G\"}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"max_size\":1e9}",
           "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"max_size\":9223372036854775808}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,\"x\":{}}", "malformed");

    /* srt_passphrase: a string of 10 to 79 bytes (libsrt's rule) */

    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":\"0123456789\"}", "ok");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":\"012345678\"}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":\"\"}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":1234567890123}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":[\"0123456789\"]}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":null}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":\"01234\\n56789\"}", "bad_claim");
    CLAIMS("{\"sub\":\"a\",\"exp\":1700003600,"
           "\"srt_passphrase\":\"0123456789\\u0000\"}", "malformed");

#undef CLAIMS

    memset(s, 'p', sizeof(s));
    s[INGEST_TOKEN_PASSPHRASE_MAX] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700003600,"
             "\"srt_passphrase\":\"%s\"}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK_INT(strlen(c.srt_passphrase), INGEST_TOKEN_PASSPHRASE_MAX);
    s[INGEST_TOKEN_PASSPHRASE_MAX] = 'p';
    s[INGEST_TOKEN_PASSPHRASE_MAX + 1] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700003600,"
             "\"srt_passphrase\":\"%s\"}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_BAD_CLAIM);

    /* escapes count as the bytes they stand for; absent: "" */

    CHECK_INT(vt(&ks, mkv(&ks, hdr, "{\"sub\":\"a\",\"exp\":1700003600,"
                                    "\"srt_passphrase\":\"a \\\"b\\\" "
                                    "\\u00e9t\\u00e9\"}"), NOW, 0, &c),
              INGEST_TOKEN_OK);
    CHECK(strcmp(c.srt_passphrase, "a \"b\" \xc3\xa9t\xc3\xa9") == 0);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, "{\"sub\":\"a\",\"exp\":1700003600}"),
                 NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK(c.srt_passphrase[0] == '\0');

    /* an audience fits 63 bytes, a type 127 */

    memset(s, 'x', sizeof(s));
    s[63] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700003600,"
             "\"aud\":[\"%s\"]}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK_INT(strlen(c.aud[0]), 63);
    s[63] = 'x';
    s[64] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700003600,"
             "\"aud\":\"%s\"}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_BAD_CLAIM);

    memset(s, 'x', sizeof(s));
    s[0] = 'a';
    s[1] = '/';
    s[127] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700003600,"
             "\"types\":[\"%s\"]}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK_INT(strlen(c.types[0]), 127);
    s[127] = 'x';
    s[128] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700003600,"
             "\"types\":[\"%s\"]}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_BAD_CLAIM);

    /* max_size values */

    CHECK_INT(vt(&ks, mkv(&ks, hdr, "{\"sub\":\"a\",\"exp\":1700003600,"
                                    "\"max_size\":1}"), NOW, 0, &c),
              INGEST_TOKEN_OK);
    CHECK_U64(c.max_size, 1);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, "{\"sub\":\"a\",\"exp\":1700003600,"
                                    "\"max_size\":9223372036854775807}"),
                 NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK_U64(c.max_size, (uint64_t) INT64_MAX);

    /* string lengths: sub, scope and jti up to INGEST_TOKEN_STR_MAX */

    memset(s, 'x', sizeof(s));
    s[INGEST_TOKEN_STR_MAX] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"%s\",\"scope\":\"%s\",\"jti\":\"%s\","
             "\"exp\":1700003600}", s, s, s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK_INT(strlen(c.sub), INGEST_TOKEN_STR_MAX);
    CHECK_INT(strlen(c.scope), INGEST_TOKEN_STR_MAX);

    s[INGEST_TOKEN_STR_MAX] = 'x';
    s[INGEST_TOKEN_STR_MAX + 1] = '\0';
    snprintf(p, sizeof(p), "{\"sub\":\"%s\",\"exp\":1700003600}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_BAD_CLAIM);
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"jti\":\"%s\",\"exp\":1}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_BAD_CLAIM);
    CHECK(strcmp(c.sub, "a") == 0);
    snprintf(p, sizeof(p), "{\"sub\":\"a\",\"scope\":\"%s\",\"exp\":1}", s);
    CHECK_INT(vt(&ks, mkv(&ks, hdr, p), NOW, 0, &c), INGEST_TOKEN_BAD_CLAIM);

    /* sub and jti are there for the log when the token has expired */

    CHECK_INT(vt(&ks, mkv(&ks, hdr, "{\"jti\":\"j9\",\"sub\":\"late\","
                                    "\"exp\":1600000000}"), NOW, 0, &c),
              INGEST_TOKEN_EXPIRED);
    CHECK(strcmp(c.sub, "late") == 0 && strcmp(c.jti, "j9") == 0);
    CHECK(strcmp(c.kid, "k1") == 0);

    /* and so is the sub when exp is missing */

    CHECK_INT(vt(&ks, mkv(&ks, hdr, "{\"sub\":\"noexp\"}"), NOW, 0, &c),
              INGEST_TOKEN_MISSING_CLAIM);
    CHECK(strcmp(c.sub, "noexp") == 0);

    ingest_token_keyset_free(&ks);
}


static void
test_times(void)
{
    char                   p[256];
    ingest_token_claims_t  c;
    ingest_token_keyset_t  ks;

    static const char  *hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";

    keyset_init(&ks);

#define AT(claims, now, leeway, rc)                                           \
    do {                                                                      \
        snprintf(p, sizeof(p), "{\"sub\":\"t\",%s}", claims);                 \
        CHECK_INT(vt(&ks, mkv(&ks, hdr, p), now, leeway, &c), rc);            \
    } while (0)

    /* exp: valid through exp + leeway, inclusive */

    AT("\"exp\":1700000000", NOW, 0, INGEST_TOKEN_OK);
    AT("\"exp\":1700000000", NOW + 1, 0, INGEST_TOKEN_EXPIRED);
    AT("\"exp\":1700000000", NOW + 30, 30, INGEST_TOKEN_OK);
    AT("\"exp\":1700000000", NOW + 31, 30, INGEST_TOKEN_EXPIRED);
    AT("\"exp\":1700000000", NOW + 1, -5, INGEST_TOKEN_EXPIRED);
    AT("\"exp\":0", NOW, 0, INGEST_TOKEN_EXPIRED);

    /* leeway is capped at a day */

    AT("\"exp\":1700000000", NOW + 86400, 1000000000000LL, INGEST_TOKEN_OK);
    AT("\"exp\":1700000000", NOW + 86401, 1000000000000LL,
       INGEST_TOKEN_EXPIRED);
    AT("\"exp\":1700000000", NOW + 1, INT64_MAX, INGEST_TOKEN_OK);
    AT("\"exp\":1700000000", NOW + 1, INT64_MIN, INGEST_TOKEN_EXPIRED);

    /* nbf: valid from nbf - leeway, inclusive */

    AT("\"exp\":1800000000,\"nbf\":1700000000", NOW, 0, INGEST_TOKEN_OK);
    AT("\"exp\":1800000000,\"nbf\":1700000001", NOW, 0,
       INGEST_TOKEN_NOT_YET_VALID);
    AT("\"exp\":1800000000,\"nbf\":1700000030", NOW, 30, INGEST_TOKEN_OK);
    AT("\"exp\":1800000000,\"nbf\":1700000031", NOW, 30,
       INGEST_TOKEN_NOT_YET_VALID);

    /* iat in the future is not yet valid either */

    AT("\"exp\":1800000000,\"iat\":1700000000", NOW, 0, INGEST_TOKEN_OK);
    AT("\"exp\":1800000000,\"iat\":1700000001", NOW, 0,
       INGEST_TOKEN_NOT_YET_VALID);
    AT("\"exp\":1800000000,\"iat\":1700000030", NOW, 30, INGEST_TOKEN_OK);
    AT("\"exp\":1800000000,\"iat\":1700000031", NOW, 30,
       INGEST_TOKEN_NOT_YET_VALID);
    AT("\"exp\":1800000000,\"iat\":1", NOW, 0, INGEST_TOKEN_OK);

    /* expiry is reported before not-yet-valid */

    AT("\"exp\":1600000000,\"nbf\":1800000000", NOW, 0,
       INGEST_TOKEN_EXPIRED);

    /* extreme clocks do not overflow */

    AT("\"exp\":253402300799", INT64_MAX, 0, INGEST_TOKEN_EXPIRED);
    AT("\"exp\":253402300799,\"nbf\":1", INT64_MIN, 0,
       INGEST_TOKEN_NOT_YET_VALID);
    AT("\"exp\":253402300799", INT64_MIN, 0, INGEST_TOKEN_OK);

#undef AT

    ingest_token_keyset_free(&ks);
}


static void
test_scope(void)
{
    ingest_token_claims_t  c;

    CHECK_INT(scope("/files/alice", "/files/alice"), 1);
    CHECK_INT(scope("/files/alice", "/files/alice/"), 1);
    CHECK_INT(scope("/files/alice", "/files/alice/a.mp4"), 1);
    CHECK_INT(scope("/files/alice", "/files/alice/x/y"), 1);
    CHECK_INT(scope("/files/alice", "/files/alice/..x"), 1);
    CHECK_INT(scope("/files/alice", "/files/alice/x.."), 1);
    CHECK_INT(scope("/files/alice", "/files/alice/.hidden"), 1);
    CHECK_INT(scope("/files/alice", "/files/alice%20b"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice2"), 0);
    CHECK_INT(scope("/files/alice", "/files/alic"), 0);
    CHECK_INT(scope("/files/alice", "/files/bob"), 0);
    CHECK_INT(scope("/files/alice", "/FILES/alice"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/../bob"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/.."), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/./x"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/."), 0);
    CHECK_INT(scope("/files/alice", "/files/alice//x"), 0);
    CHECK_INT(scope("/files/alice", "//files/alice"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice%2f.."), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/%2e%2e/bob"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/%2E%2e"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/x%2Fy"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/x%5cy"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/x%00"), 0);
    CHECK_INT(scope("/files/alice", "/files/alice/x%2"), 1);
    CHECK_INT(scope("/files/alice", "/files/alice\\..\\bob"), 0);
    CHECK_INT(scope("/files/alice", ""), 0);
    CHECK_INT(scope("/files/alice", "/"), 0);

    /* "//" anywhere, even where no scope is */

    CHECK_INT(scope("", "//"), 0);
    CHECK_INT(scope("", "/a//b"), 0);
    CHECK_INT(scope("", "/a/../b"), 0);
    CHECK_INT(scope("", "/anything/at/all"), 1);
    CHECK_INT(scope("", "/"), 1);

    /* a scope ending in "/" matches below it only */

    CHECK_INT(scope("/files/alice/", "/files/alice/x"), 1);
    CHECK_INT(scope("/files/alice/", "/files/alice/"), 1);
    CHECK_INT(scope("/files/alice/", "/files/alice"), 0);
    CHECK_INT(scope("/files/alice/", "/files/alice2/x"), 0);
    CHECK_INT(scope("/", "/x"), 1);

    /* stream names */

    CHECK_INT(scope("live/alice", "live/alice"), 1);
    CHECK_INT(scope("live/alice", "live/alice/cam1"), 1);
    CHECK_INT(scope("live/alice", "live/alice2"), 0);
    CHECK_INT(scope("live/alice", "live/alice/../bob"), 0);

    /* a NUL inside the given length */

    memset(&c, 0, sizeof(c));
    strcpy(c.scope, "/files/alice");
    CHECK_INT(ingest_token_scope_allows(&c,
                  (const unsigned char *) "/files/alice/x\0/../../bob", 25),
              0);
    CHECK_INT(ingest_token_scope_allows(&c, NULL, 0), 0);
    CHECK_INT(ingest_token_scope_allows(NULL,
                  (const unsigned char *) "/files/alice", 12), 0);
}


static void
test_types(void)
{
    ingest_token_claims_t  c;

    memset(&c, 0, sizeof(c));

    /* no types: anything */

    CHECK_INT(type_ok(&c, "video/mp4"), 1);
    CHECK_INT(type_ok(&c, ""), 1);
    CHECK_INT(ingest_token_type_allowed(&c, NULL, 0), 1);

    strcpy(c.types[0], "video/mp4");
    strcpy(c.types[1], "audio/*");
    c.ntypes = 2;

    CHECK_INT(type_ok(&c, "video/mp4"), 1);
    CHECK_INT(type_ok(&c, "VIDEO/MP4"), 1);
    CHECK_INT(type_ok(&c, "video/mp4; codecs=\"avc1\""), 1);
    CHECK_INT(type_ok(&c, " video/mp4 "), 1);
    CHECK_INT(type_ok(&c, "audio/aac"), 1);
    CHECK_INT(type_ok(&c, "Audio/AAC;rate=8000"), 1);
    CHECK_INT(type_ok(&c, "video/webm"), 0);
    CHECK_INT(type_ok(&c, "video/mp4x"), 0);
    CHECK_INT(type_ok(&c, "video/mp"), 0);
    CHECK_INT(type_ok(&c, "video/*"), 0);
    CHECK_INT(type_ok(&c, "audio/"), 0);
    CHECK_INT(type_ok(&c, "audio/a/b"), 0);
    CHECK_INT(type_ok(&c, "audio"), 0);
    CHECK_INT(type_ok(&c, "audiox/aac"), 0);
    CHECK_INT(type_ok(&c, ""), 0);
    CHECK_INT(type_ok(&c, " ; x"), 0);
    CHECK_INT(ingest_token_type_allowed(&c, NULL, 0), 0);
    CHECK_INT(ingest_token_type_allowed(NULL,
                  (const unsigned char *) "video/mp4", 9), 0);

    strcpy(c.types[2], "*/*");
    c.ntypes = 3;
    CHECK_INT(type_ok(&c, "application/x-anything"), 1);
}


static void
test_sign(void)
{
    char                   kid[80];
    size_t                 n, n2;
    ingest_token_claims_t  c, v;
    ingest_token_keyset_t  ks;
    unsigned char          out[INGEST_TOKEN_MAX_LEN + 1];
    unsigned char          out2[INGEST_TOKEN_MAX_LEN + 1];

    keyset_init(&ks);

    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "al\"ice\\ \xc3\xa9");
    strcpy(c.aud[0], "upload");
    strcpy(c.aud[1], "hls");
    c.naud = 2;
    strcpy(c.scope, "/files/alice");
    strcpy(c.jti, "jti-1");
    strcpy(c.types[0], "video/*");
    strcpy(c.types[1], "video/x-matroska");
    c.ntypes = 2;
    c.max_size = 10737418240ULL;
    strcpy(c.srt_passphrase, "per \"stream\" secret");
    c.exp = NOW + 1800;
    c.nbf = NOW - 10;
    c.iat = NOW;

    n = ingest_token_sign(&c, "k1", INGEST_TOKEN_HS256,
                          (const unsigned char *) hs_secret,
                          strlen(hs_secret), out, sizeof(out));
    CHECK(n > 0 && out[n] == '\0');
    CHECK_INT(vt(&ks, (char *) out, NOW, 0, &v), INGEST_TOKEN_OK);
    CHECK(strcmp(v.sub, c.sub) == 0);
    CHECK(strcmp(v.kid, "k1") == 0);
    CHECK_INT(v.naud, 2);
    CHECK(strcmp(v.aud[1], "hls") == 0);
    CHECK(strcmp(v.scope, c.scope) == 0);
    CHECK(strcmp(v.jti, c.jti) == 0);
    CHECK_INT(v.ntypes, 2);
    CHECK(strcmp(v.types[1], "video/x-matroska") == 0);
    CHECK_U64(v.max_size, c.max_size);
    CHECK(strcmp(v.srt_passphrase, c.srt_passphrase) == 0);
    CHECK_INT(v.exp, c.exp);
    CHECK_INT(v.nbf, c.nbf);
    CHECK_INT(v.iat, c.iat);

    /* the refresh endpoint: verified claims, a new exp, signed again */

    v.exp = NOW + 3600;
    n2 = ingest_token_sign(&v, "k2", INGEST_TOKEN_HS256,
                           (const unsigned char *) hs_secret2,
                           strlen(hs_secret2), out2, sizeof(out2));
    CHECK(n2 > 0);
    CHECK_INT(vt(&ks, (char *) out2, NOW + 3000, 0, &v), INGEST_TOKEN_OK);
    CHECK(strcmp(v.kid, "k2") == 0 && strcmp(v.sub, c.sub) == 0);

    /* EdDSA: deterministic */

    n = ingest_token_sign(&c, "e1", INGEST_TOKEN_EDDSA, ed_priv, 32, out,
                          sizeof(out));
    n2 = ingest_token_sign(&c, "e1", INGEST_TOKEN_EDDSA, ed_priv, 32, out2,
                           sizeof(out2));
    CHECK(n > 0 && n == n2 && memcmp(out, out2, n) == 0);
    CHECK_INT(vt(&ks, (char *) out, NOW, 0, &v), INGEST_TOKEN_OK);
    CHECK_INT(v.alg, INGEST_TOKEN_EDDSA);

    /* cap: exactly the length is enough (no NUL then) */

    CHECK_INT(ingest_token_sign(&c, "e1", INGEST_TOKEN_EDDSA, ed_priv, 32,
                                out2, n - 1), 0);
    out2[n] = 'Z';
    CHECK_INT(ingest_token_sign(&c, "e1", INGEST_TOKEN_EDDSA, ed_priv, 32,
                                out2, n), n);
    CHECK(out2[n] == 'Z' && memcmp(out, out2, n) == 0);

    /* minimal claims */

    memset(&v, 0, sizeof(v));
    strcpy(v.sub, "m");
    v.exp = NOW;
    n = ingest_token_sign(&v, "k1", INGEST_TOKEN_HS256,
                          (const unsigned char *) hs_secret,
                          strlen(hs_secret), out, sizeof(out));
    CHECK(n > 0);
    CHECK(strncmp((char *) out, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtp",
                  40) == 0);

    /* what would not verify is not signed */

#define NOSIGN(cl, k, alg, key, len)                                          \
    CHECK_INT(ingest_token_sign(cl, k, alg, key, len, out, sizeof(out)), 0)

    NOSIGN(&c, "k1", INGEST_TOKEN_HS256, (const unsigned char *) hs_secret,
           31);
    NOSIGN(&c, "k1", INGEST_TOKEN_EDDSA, ed_priv, 31);
    NOSIGN(&c, "k1", (ingest_token_alg_t) 9, ed_priv, 32);
    NOSIGN(&c, "", INGEST_TOKEN_EDDSA, ed_priv, 32);
    NOSIGN(&c, "k\n", INGEST_TOKEN_EDDSA, ed_priv, 32);
    NOSIGN(NULL, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    NOSIGN(&c, NULL, INGEST_TOKEN_EDDSA, ed_priv, 32);
    NOSIGN(&c, "k1", INGEST_TOKEN_EDDSA, NULL, 32);

    memset(kid, 'x', sizeof(kid));
    kid[INGEST_TOKEN_KID_MAX + 1] = '\0';
    NOSIGN(&c, kid, INGEST_TOKEN_EDDSA, ed_priv, 32);

    v = c;
    v.sub[0] = '\0';
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    strcpy(v.sub, "a\tb");
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    strcpy(v.sub, "a\xff");
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    strcpy(v.types[0], "video");
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    strcpy(v.srt_passphrase, "short");
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    strcpy(v.srt_passphrase, "0123456789\n");
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    memset(v.srt_passphrase, 'p', sizeof(v.srt_passphrase));
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    v.exp = INGEST_TOKEN_TIME_MAX + 1;
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    v.nbf = -1;
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    v.naud = INGEST_TOKEN_MAX_AUD + 1;
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    v.max_size = (uint64_t) INT64_MAX + 1;
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);
    v = c;
    memset(v.jti, 'j', sizeof(v.jti));
    NOSIGN(&v, "k1", INGEST_TOKEN_EDDSA, ed_priv, 32);

    /* the largest claims there are (escaped twice over) still make a
     * token that verifies */

    v = c;
    memset(v.sub, '"', INGEST_TOKEN_STR_MAX);
    memset(v.scope, '\\', INGEST_TOKEN_STR_MAX);
    memset(v.jti, '"', INGEST_TOKEN_STR_MAX);

    for (n = 0; n < INGEST_TOKEN_MAX_AUD; n++) {
        memset(v.aud[n], 'a', 63);
        v.aud[n][63] = '\0';
    }

    for (n = 0; n < INGEST_TOKEN_MAX_TYPES; n++) {
        memset(v.types[n], 't', 127);
        v.types[n][5] = '/';
        v.types[n][127] = '\0';
    }

    v.naud = INGEST_TOKEN_MAX_AUD;
    v.ntypes = INGEST_TOKEN_MAX_TYPES;

    n = ingest_token_sign(&v, "k1", INGEST_TOKEN_HS256,
                          (const unsigned char *) hs_secret,
                          strlen(hs_secret), out, sizeof(out));
    CHECK(n > 6000 && n <= INGEST_TOKEN_MAX_LEN);
    CHECK_INT(vt(&ks, (char *) out, NOW, 0, &c), INGEST_TOKEN_OK);
    CHECK(strcmp(c.sub, v.sub) == 0 && strcmp(c.scope, v.scope) == 0);
    CHECK_INT(c.ntypes, INGEST_TOKEN_MAX_TYPES);

#undef NOSIGN

    ingest_token_keyset_free(&ks);
}


static void *
thread_main(void *arg)
{
    int                     i;
    thread_arg_t           *a;
    ingest_token_claims_t   c;

    a = arg;
    a->ok = 0;

    for (i = 0; i < 300; i++) {
        if (vt(a->ks, a->token, NOW, 0, &c) == INGEST_TOKEN_OK
            && strcmp(c.sub, "threads") == 0)
        {
            a->ok++;
        }
    }

    return NULL;
}


/* one key set, used by several threads at once (the EVP_PKEY too) */

static void
test_threads(void)
{
    int                    i, ok;
    char                   ed[1024], hs[1024];
    pthread_t              tid[8];
    thread_arg_t           args[8];
    ingest_token_keyset_t  ks;

    keyset_init(&ks);

    strcpy(ed, mkv(&ks, "{\"alg\":\"EdDSA\",\"kid\":\"e1\"}",
                   "{\"sub\":\"threads\",\"exp\":1700003600}"));
    strcpy(hs, mkv(&ks, "{\"alg\":\"HS256\",\"kid\":\"k2\"}",
                   "{\"sub\":\"threads\",\"exp\":1700003600}"));

    for (i = 0; i < 8; i++) {
        args[i].ks = &ks;
        args[i].token = (i % 2) ? ed : hs;

        if (pthread_create(&tid[i], NULL, thread_main, &args[i]) != 0) {
            TEST_FAIL("pthread_create %d", i);
            tid[i] = 0;
        }
    }

    ok = 0;

    for (i = 0; i < 8; i++) {
        if (tid[i] != 0) {
            pthread_join(tid[i], NULL);
            ok += args[i].ok;
        }
    }

    CHECK_INT(ok, 8 * 300);

    ingest_token_keyset_free(&ks);
}


/*
 * Independent vectors: tokens made with the openssl command line
 * verify (or fail for the right reason), and ours verify there.
 */

static void
test_openssl(void)
{
    int                    rc;
    FILE                  *out, *f;
    char                   dir[] = "/tmp/test_token.XXXXXX";
    char                   line[8192 + 512], cmd[4096], w1[16], w2[64];
    char                   w3[80], w4[80], tok[8192 + 100], sub[600];
    char                   path[256], pub[256], hexkey[80];
    size_t                 n, count, len;
    unsigned char          data[4096], key[INGEST_TOKEN_KEY_MAX];
    unsigned char          tbuf[INGEST_TOKEN_MAX_LEN + 1];
    ingest_token_alg_t     alg;
    ingest_token_claims_t  c;
    ingest_token_keyset_t  ks;

    memset(&ks, 0, sizeof(ks));

    if (mkdtemp(dir) == NULL) {
        TEST_FAIL("mkdtemp %s", dir);
        return;
    }

    snprintf(cmd, sizeof(cmd), "sh '%s/token_vectors.sh' gen '%s'",
             TEST_SRCDIR, dir);

    out = popen(cmd, "r");
    if (out == NULL) {
        TEST_FAIL("popen %s", cmd);
        return;
    }

    count = 0;
    pub[0] = '\0';

    while (fgets(line, sizeof(line), out) != NULL) {

        if (sscanf(line, "key %79s %79s %255s", w3, w4, path) == 3) {
            alg = strcmp(w4, "EdDSA") == 0 ? INGEST_TOKEN_EDDSA
                                           : INGEST_TOKEN_HS256;

            f = fopen(path, "rb");
            len = (f != NULL) ? fread(data, 1, sizeof(data), f) : 0;
            if (f != NULL) {
                fclose(f);
            }

            CHECK_INT(ingest_token_parse_key_file(alg, data, len, key, &n),
                      0);
            CHECK_INT(ingest_token_keyset_add(&ks, w3, alg, key, n), 0);

            if (alg == INGEST_TOKEN_EDDSA) {
                snprintf(pub, sizeof(pub), "%s", path);
            }

            continue;
        }

        if (sscanf(line, "vec %63s %15s %79s %8191s %599s", w2, w1, w3, tok,
                   sub) != 5)
        {
            TEST_FAIL("bad line: %s", line);
            continue;
        }

        count++;
        rc = vt(&ks, tok, NOW, 0, &c);

        if (strcmp(ingest_token_reason(rc), w1) != 0) {
            TEST_FAIL("%s: %s, want %s", w2, ingest_token_reason(rc), w1);
        } else {
            test_passed++;
        }

        if (strcmp(sub, "-") != 0) {
            if (strcmp(c.sub, sub) != 0) {
                TEST_FAIL("%s: sub \"%s\", want \"%s\"", w2, c.sub, sub);
            } else {
                test_passed++;
            }
        }

        if (strcmp(w2, "hs-ok") == 0 || strcmp(w2, "ed-ok") == 0) {
            CHECK_INT(c.naud, 2);
            CHECK_U64(c.max_size, 10737418240ULL);
            CHECK(strcmp(c.types[0], "video/*") == 0);
            CHECK(strcmp(c.scope, "/files/alice") == 0);
            CHECK(strcmp(c.jti, "j-1") == 0);
            CHECK_INT(c.iat, NOW);
        }
    }

    CHECK_INT(pclose(out), 0);
    CHECK(count >= 19);
    CHECK_INT(ks.nkeys, 4);

    /* ours, checked by openssl: HS256 with the hex key of ossl-hs */

    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "ours");
    c.exp = NOW + 60;

    snprintf(path, sizeof(path), "%s/hs.key", dir);
    f = fopen(path, "rb");
    len = (f != NULL) ? fread(data, 1, sizeof(data) - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    data[len] = '\0';
    data[strcspn((char *) data, "\n")] = '\0';
    len = strlen((char *) data);

    CHECK_INT(ingest_token_parse_key_file(INGEST_TOKEN_HS256, data, len, key,
                                          &n), 0);
    len = ingest_token_sign(&c, "ossl-hs", INGEST_TOKEN_HS256, key, n, tbuf,
                            sizeof(tbuf));
    CHECK(len > 0);

#define OPENSSL_CHECK(what, file, tb, want)                                   \
    do {                                                                      \
        char  *dot_ = strrchr((char *) tb, '.');                              \
        snprintf(path, sizeof(path), "%s/ours.in", dir);                      \
        f = fopen(path, "wb");                                                \
        if (f != NULL) {                                                      \
            fwrite(tb, 1, (size_t) (dot_ - (char *) tb), f);                  \
            fclose(f);                                                        \
        }                                                                     \
        snprintf(cmd, sizeof(cmd), "sh '%s/token_vectors.sh' %s '%s' '%s' "   \
                 "'%s'", TEST_SRCDIR, what, file, path, dot_ + 1);            \
        CHECK_INT(system(cmd) == 0, want);                                    \
    } while (0)

    snprintf(hexkey, sizeof(hexkey), "%.64s", (char *) data + 4);
    OPENSSL_CHECK("hs256-check", hexkey, tbuf, 1);
    CHECK_INT(vt(&ks, (char *) tbuf, NOW, 0, &c), INGEST_TOKEN_OK);

    /* EdDSA with the private key openssl generated */

    snprintf(path, sizeof(path), "%s/ed.key", dir);
    f = fopen(path, "rb");
    len = (f != NULL) ? fread(data, 1, sizeof(data), f) : 0;
    if (f != NULL) {
        fclose(f);
    }

    CHECK_INT(ingest_token_parse_private_key_file(INGEST_TOKEN_EDDSA, data,
                                                  len, key, &n), 0);
    CHECK_INT(n, 32);

    len = ingest_token_sign(&c, "ossl-ed", INGEST_TOKEN_EDDSA, key, n, tbuf,
                            sizeof(tbuf));
    CHECK(len > 0);
    CHECK_INT(vt(&ks, (char *) tbuf, NOW, 0, &c), INGEST_TOKEN_OK);

    OPENSSL_CHECK("eddsa-check", pub, tbuf, 1);

    /* and openssl refuses a changed signature of ours */

    tbuf[len - 5] = (tbuf[len - 5] == 'A') ? 'B' : 'A';
    OPENSSL_CHECK("eddsa-check", pub, tbuf, 0);

#undef OPENSSL_CHECK

    ingest_token_keyset_free(&ks);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}


static void
test_token(void)
{
    CHECK_INT(unb64(ed_priv, ed_d), 32);
    CHECK_INT(unb64(ed_pub, ed_x), 32);

    test_base64url();
    test_json();
    test_rfc7515();
    test_rfc8037();
    test_keyset();
    test_key_files();
    test_verify_ok();
    test_tamper();
    test_structure();
    test_header();
    test_claims();
    test_times();
    test_scope();
    test_types();
    test_sign();
    test_threads();
    test_openssl();

    CHECK(strcmp(ingest_token_reason(INGEST_TOKEN_OK), "ok") == 0);
    CHECK(strcmp(ingest_token_reason(INGEST_TOKEN_REVOKED), "revoked") == 0);
    CHECK(strcmp(ingest_token_reason(INGEST_TOKEN_SCOPE), "scope") == 0);
    CHECK(strcmp(ingest_token_reason(INGEST_TOKEN_WRONG_AUDIENCE),
                 "wrong_audience") == 0);
    CHECK(strcmp(ingest_token_reason(INGEST_TOKEN_RC_LAST), "unknown") == 0);
    CHECK(strcmp(ingest_token_reason((ingest_token_rc_t) -1), "unknown")
          == 0);
}


TEST_MAIN("test_token", test_token)
