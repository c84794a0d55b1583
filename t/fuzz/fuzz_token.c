
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for the token codec. The first byte picks what the
 * rest is:
 *   0  a whole token, verified against an HS256 and an EdDSA key
 *   1  the claims JSON of a token correctly signed with the HS256 key,
 *      so the claims parser is reached; a token that verifies is
 *      signed again by ingest_token_sign() and must verify to the same
 *      claims
 *   2  the header JSON of a correctly signed token
 *   3  a key file (both algorithms, public and private)
 *   4  base64url text: what decodes must encode back to the same text
 * Every verified token's claims also go through the scope, type and
 * audience checks with the input as the path, type and audience.
 */


#include "ingest_token.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fuzz_init(void);
static void fuzz_checks(const ingest_token_claims_t *c,
    const unsigned char *data, size_t size);
static size_t fuzz_token(unsigned char *out, const unsigned char *header,
    size_t hlen, const unsigned char *payload, size_t plen);
static void fuzz_signed(const unsigned char *header, size_t hlen,
    const unsigned char *payload, size_t plen);


#define FUZZ_NOW  1700000000

static const char  fuzz_secret[] = "fuzz secret, at least thirty-two bytes";

/* RFC 8032 test 1 */
static const unsigned char  fuzz_ed_priv[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
    0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
    0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60
};

static ingest_token_keyset_t  fuzz_ks;
static int                    fuzz_ready;


static void
fuzz_init(void)
{
    size_t          n;
    EVP_PKEY       *pkey;
    unsigned char   pub[32];

    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, fuzz_ed_priv,
                                        32);
    n = sizeof(pub);

    if (pkey == NULL || EVP_PKEY_get_raw_public_key(pkey, pub, &n) != 1
        || ingest_token_keyset_add(&fuzz_ks, "k1", INGEST_TOKEN_HS256,
                                   (const unsigned char *) fuzz_secret,
                                   strlen(fuzz_secret)) != 0
        || ingest_token_keyset_add(&fuzz_ks, "e1", INGEST_TOKEN_EDDSA, pub,
                                   32) != 0)
    {
        abort();
    }

    EVP_PKEY_free(pkey);
    fuzz_ready = 1;
}


static void
fuzz_checks(const ingest_token_claims_t *c, const unsigned char *data,
    size_t size)
{
    char  aud[64];

    (void) ingest_token_scope_allows(c, data, size);
    (void) ingest_token_type_allowed(c, data, size);

    if (size < sizeof(aud)) {
        memcpy(aud, data, size);
        aud[size] = '\0';
        (void) ingest_token_has_audience(c, aud);
    }

    /* what verify accepted is NUL-terminated and within bounds */

    if (memchr(c->sub, '\0', sizeof(c->sub)) == NULL
        || memchr(c->scope, '\0', sizeof(c->scope)) == NULL
        || memchr(c->jti, '\0', sizeof(c->jti)) == NULL
        || memchr(c->kid, '\0', sizeof(c->kid)) == NULL
        || c->naud > INGEST_TOKEN_MAX_AUD
        || c->ntypes > INGEST_TOKEN_MAX_TYPES)
    {
        abort();
    }
}


/* header.payload.HMAC(k1): out holds INGEST_TOKEN_MAX_LEN * 2 bytes */

static size_t
fuzz_token(unsigned char *out, const unsigned char *header, size_t hlen,
    const unsigned char *payload, size_t plen)
{
    size_t          n;
    unsigned int    maclen;
    unsigned char   mac[EVP_MAX_MD_SIZE];

    n = ingest_base64url_encode(out, header, hlen);
    out[n++] = '.';
    n += ingest_base64url_encode(out + n, payload, plen);

    if (HMAC(EVP_sha256(), fuzz_secret, (int) strlen(fuzz_secret), out, n,
             mac, &maclen) == NULL)
    {
        abort();
    }

    out[n++] = '.';
    n += ingest_base64url_encode(out + n, mac, maclen);

    return n;
}


static void
fuzz_signed(const unsigned char *header, size_t hlen,
    const unsigned char *payload, size_t plen)
{
    size_t                 n, n2;
    unsigned char         *tok, *again;
    ingest_token_rc_t      rc;
    ingest_token_claims_t  c, c2;

    if (hlen > INGEST_TOKEN_MAX_LEN || plen > INGEST_TOKEN_MAX_LEN) {
        return;
    }

    tok = malloc(INGEST_TOKEN_MAX_LEN * 2);
    again = malloc(INGEST_TOKEN_MAX_LEN + 1);

    if (tok == NULL || again == NULL) {
        abort();
    }

    n = fuzz_token(tok, header, hlen, payload, plen);
    rc = ingest_token_verify(&fuzz_ks, tok, n, FUZZ_NOW, 30, &c);

    fuzz_checks(&c, payload, plen);

    /*
     * The refresh path: verified claims signed again verify again. The
     * header we write adds "typ", so a token within a few bytes of the
     * length limit may not fit any more.
     */

    if (rc == INGEST_TOKEN_OK && n <= INGEST_TOKEN_MAX_LEN - 32) {

        n2 = ingest_token_sign(&c, c.kid, c.alg,
                               (const unsigned char *) fuzz_secret,
                               strlen(fuzz_secret), again,
                               INGEST_TOKEN_MAX_LEN + 1);

        if (n2 == 0
            || ingest_token_verify(&fuzz_ks, again, n2, FUZZ_NOW, 30, &c2)
               != INGEST_TOKEN_OK
            || memcmp(&c, &c2, sizeof(c)) != 0)
        {
            abort();
        }
    }

    free(tok);
    free(again);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                    mode;
    size_t                 n;
    ssize_t                dec;
    unsigned char         *buf, *enc;
    ingest_token_claims_t  c;
    unsigned char          key[INGEST_TOKEN_KEY_MAX];

    static const char  header[] = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";
    static const char  payload[] =
        "{\"sub\":\"fuzz\",\"exp\":1700000100,\"aud\":[\"upload\"],"
        "\"scope\":\"/files/fuzz\",\"types\":[\"video/*\"]}";

    if (!fuzz_ready) {
        fuzz_init();
    }

    if (size == 0) {
        return 0;
    }

    mode = data[0] % 5;
    data++;
    size--;

    switch (mode) {

    case 0:
        (void) ingest_token_verify(&fuzz_ks, data, size, FUZZ_NOW, 30, &c);
        fuzz_checks(&c, data, size);
        break;

    case 1:
        fuzz_signed((const unsigned char *) header, strlen(header), data,
                    size);
        break;

    case 2:
        fuzz_signed(data, size, (const unsigned char *) payload,
                    strlen(payload));
        break;

    case 3:
        (void) ingest_token_parse_key_file(INGEST_TOKEN_HS256, data, size,
                                           key, &n);
        (void) ingest_token_parse_key_file(INGEST_TOKEN_EDDSA, data, size,
                                           key, &n);
        (void) ingest_token_parse_private_key_file(INGEST_TOKEN_EDDSA, data,
                                                   size, key, &n);
        break;

    default: /* 4 */
        buf = malloc(size + 1);
        enc = malloc(size + 4);

        if (buf == NULL || enc == NULL) {
            abort();
        }

        dec = ingest_base64url_decode(buf, data, size);

        if (dec >= 0) {
            if (ingest_base64url_decode(NULL, data, size) != dec
                || ingest_base64url_encode(enc, buf, (size_t) dec) != size
                || memcmp(enc, data, size) != 0)
            {
                abort();
            }
        }

        free(buf);
        free(enc);

        /* and any bytes encode to text that decodes back to them */

        enc = malloc(size / 3 * 4 + 4);
        buf = malloc(size + 1);

        if (enc == NULL || buf == NULL) {
            abort();
        }

        n = ingest_base64url_encode(enc, data, size);

        if (ingest_base64url_decode(buf, enc, n) != (ssize_t) size
            || (size != 0 && memcmp(buf, data, size) != 0))
        {
            abort();
        }

        free(buf);
        free(enc);
        break;
    }

    return 0;
}
