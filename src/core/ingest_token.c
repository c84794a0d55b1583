
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_token.h"
#include "ingest_job.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>


/*
 * The JSON accepted in a header or a claims set: one object whose
 * values are strings, numbers, true, false, null or arrays of those
 * scalars; nothing nests deeper. These bounds are far above what a
 * token of INGEST_TOKEN_MAX_LEN bytes can usefully carry.
 */
#define INGEST_TOKEN_JSON_MEMBERS   64
#define INGEST_TOKEN_JSON_ITEMS     64

/* base64url of INGEST_TOKEN_MAX_LEN characters decodes to at most this */
#define INGEST_TOKEN_PART_MAX       (INGEST_TOKEN_MAX_LEN / 4 * 3)

#define INGEST_TOKEN_HS256_SIG      32
#define INGEST_TOKEN_EDDSA_SIG      64
#define INGEST_TOKEN_ED25519_KEY    32
#define INGEST_TOKEN_HS256_MIN_KEY  32

/* base64url length of the signatures */
#define INGEST_TOKEN_SIG_B64_MAX    86

/* NumericDate values up to 9999-12-31T23:59:59Z; leeway up to a day */
#define INGEST_TOKEN_TIME_MAX       253402300799LL
#define INGEST_TOKEN_LEEWAY_MAX     86400


typedef enum {
    INGEST_TOKEN_JSON_STRING = 1,
    INGEST_TOKEN_JSON_INT,           /* integer syntax, fits int64_t */
    INGEST_TOKEN_JSON_NUMBER,        /* any other number */
    INGEST_TOKEN_JSON_TRUE,
    INGEST_TOKEN_JSON_FALSE,
    INGEST_TOKEN_JSON_NULL,
    INGEST_TOKEN_JSON_ARRAY
} ingest_token_json_type_t;


typedef struct {
    ingest_token_json_type_t   type;
    const unsigned char       *str;     /* decoded string, in text[] */
    size_t                     len;     /* string bytes or array items */
    size_t                     first;   /* array: index into items[] */
    int64_t                    num;
} ingest_token_json_value_t;


typedef struct {
    const unsigned char        *key;    /* decoded, in text[] */
    size_t                      key_len;
    ingest_token_json_value_t   value;
} ingest_token_json_member_t;


typedef struct {
    const unsigned char         *pos;
    const unsigned char         *end;
    unsigned char               *out;   /* next free byte of text[] */
    size_t                       nmembers;
    size_t                       nitems;
    ingest_token_json_member_t   members[INGEST_TOKEN_JSON_MEMBERS];
    ingest_token_json_value_t    items[INGEST_TOKEN_JSON_ITEMS];

    /* decoded strings never take more bytes than their JSON text */
    unsigned char                text[INGEST_TOKEN_PART_MAX];
} ingest_token_json_t;


typedef struct {
    unsigned char  *pos;
    unsigned char  *end;
    int             error;
} ingest_token_out_t;


static int ingest_token_json_parse(ingest_token_json_t *j,
    const unsigned char *p, size_t len);
static int ingest_token_json_value(ingest_token_json_t *j,
    ingest_token_json_value_t *v, int in_array);
static int ingest_token_json_string(ingest_token_json_t *j,
    const unsigned char **str, size_t *len);
static int ingest_token_json_number(ingest_token_json_t *j,
    ingest_token_json_value_t *v);
static int ingest_token_json_literal(ingest_token_json_t *j,
    const char *lit);
static void ingest_token_json_space(ingest_token_json_t *j);
static int ingest_token_json_hex4(const unsigned char *p, uint32_t *cp);
static const ingest_token_json_value_t *ingest_token_json_get(
    const ingest_token_json_t *j, const char *key);
static size_t ingest_token_utf8_len(const unsigned char *p, size_t len);
static unsigned char *ingest_token_utf8_put(unsigned char *p, uint32_t cp);
static int ingest_token_text_valid(const unsigned char *p, size_t len);
static int ingest_token_copy(char *dst, size_t cap,
    const ingest_token_json_value_t *v);
static int ingest_token_time(const ingest_token_json_value_t *v,
    int64_t *t);
static int ingest_token_media_valid(const char *t);
static int ingest_token_media_name(const char *p, size_t len);
static int ingest_token_media_match(const char *pattern,
    const unsigned char *type, size_t len);
static ingest_token_rc_t ingest_token_header(const ingest_token_keyset_t *ks,
    ingest_token_json_t *j, ingest_token_claims_t *c,
    const ingest_token_key_t **key);
static ingest_token_rc_t ingest_token_claims(ingest_token_json_t *j,
    ingest_token_claims_t *c);
static ingest_token_rc_t ingest_token_times(const ingest_token_claims_t *c,
    int64_t now, int64_t leeway);
static int ingest_token_hs256(const unsigned char *key, size_t key_len,
    const unsigned char *in, size_t len, unsigned char *mac);
static int ingest_token_eddsa_verify(EVP_PKEY *pkey, const unsigned char *in,
    size_t len, const unsigned char *sig);
static int ingest_token_eddsa_sign(const unsigned char *priv,
    const unsigned char *in, size_t len, unsigned char *sig);
static const char *ingest_token_alg_name(ingest_token_alg_t alg);
static size_t ingest_token_sig_len(ingest_token_alg_t alg);
static void ingest_token_put(ingest_token_out_t *o, const char *s);
static void ingest_token_put_str(ingest_token_out_t *o, const char *s);
static void ingest_token_put_u64(ingest_token_out_t *o, const char *name,
    uint64_t v);
static int ingest_token_sign_valid(const ingest_token_claims_t *c);
static int ingest_token_base64url_value(unsigned char c);
static int ingest_token_hex_value(unsigned char c);
static int ingest_token_no_password(char *buf, int size, int rwflag,
    void *data);


static const char  *ingest_token_reasons[INGEST_TOKEN_RC_LAST] = {
    [INGEST_TOKEN_OK] = "ok",
    [INGEST_TOKEN_MALFORMED] = "malformed",
    [INGEST_TOKEN_BAD_HEADER] = "bad_header",
    [INGEST_TOKEN_UNKNOWN_KID] = "unknown_kid",
    [INGEST_TOKEN_ALG_MISMATCH] = "alg_mismatch",
    [INGEST_TOKEN_BAD_SIGNATURE] = "bad_signature",
    [INGEST_TOKEN_EXPIRED] = "expired",
    [INGEST_TOKEN_NOT_YET_VALID] = "not_yet_valid",
    [INGEST_TOKEN_MISSING_CLAIM] = "missing_claim",
    [INGEST_TOKEN_BAD_CLAIM] = "bad_claim",
    [INGEST_TOKEN_WRONG_AUDIENCE] = "wrong_audience",
    [INGEST_TOKEN_SCOPE] = "scope",
    [INGEST_TOKEN_REVOKED] = "revoked"
};


static const unsigned char  ingest_token_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
ingest_token_keyset_add(ingest_token_keyset_t *ks, const char *kid,
    ingest_token_alg_t alg, const unsigned char *key, size_t len)
{
    size_t               i, n;
    EVP_PKEY            *pkey;
    ingest_token_key_t  *k;

    if (ks == NULL || kid == NULL || key == NULL
        || ks->nkeys >= INGEST_TOKEN_MAX_KEYS)
    {
        return -1;
    }

    n = strlen(kid);

    if (n == 0 || n > INGEST_TOKEN_KID_MAX
        || !ingest_token_text_valid((const unsigned char *) kid, n))
    {
        return -1;
    }

    for (i = 0; i < ks->nkeys; i++) {
        if (strcmp(ks->keys[i].kid, kid) == 0) {
            return -1;
        }
    }

    pkey = NULL;

    switch (alg) {

    case INGEST_TOKEN_HS256:
        if (len < INGEST_TOKEN_HS256_MIN_KEY || len > INGEST_TOKEN_KEY_MAX) {
            return -1;
        }

        break;

    case INGEST_TOKEN_EDDSA:
        if (len != INGEST_TOKEN_ED25519_KEY) {
            return -1;
        }

        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, len);
        if (pkey == NULL) {
            ERR_clear_error();
            return -1;
        }

        break;

    default:
        return -1;
    }

    k = &ks->keys[ks->nkeys++];

    memcpy(k->kid, kid, n + 1);
    k->alg = alg;
    memcpy(k->key, key, len);
    k->key_len = len;
    k->pkey = pkey;

    return 0;
}


void
ingest_token_keyset_free(ingest_token_keyset_t *ks)
{
    size_t  i;

    if (ks == NULL) {
        return;
    }

    for (i = 0; i < ks->nkeys && i < INGEST_TOKEN_MAX_KEYS; i++) {
        EVP_PKEY_free(ks->keys[i].pkey);
        ks->keys[i].pkey = NULL;
        OPENSSL_cleanse(ks->keys[i].key, sizeof(ks->keys[i].key));
        ks->keys[i].key_len = 0;
    }

    ks->nkeys = 0;
}


int
ingest_token_parse_key_file(ingest_token_alg_t alg,
    const unsigned char *data, size_t len, unsigned char *key,
    size_t *key_len)
{
    int             a, b;
    BIO            *bio;
    size_t          i, n;
    ssize_t         r;
    EVP_PKEY       *pkey;
    unsigned char   tmp[INGEST_TOKEN_KEY_MAX / 3 * 4 + 8];

    if (data == NULL || key == NULL || key_len == NULL || len > INT_MAX) {
        return -1;
    }

    if (alg == INGEST_TOKEN_EDDSA) {
        bio = BIO_new_mem_buf(data, (int) len);
        if (bio == NULL) {
            ERR_clear_error();
            return -1;
        }

        pkey = PEM_read_bio_PUBKEY(bio, NULL, ingest_token_no_password, NULL);
        BIO_free(bio);

        n = INGEST_TOKEN_ED25519_KEY;

        if (pkey == NULL
            || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519
            || EVP_PKEY_get_raw_public_key(pkey, key, &n) != 1
            || n != INGEST_TOKEN_ED25519_KEY)
        {
            EVP_PKEY_free(pkey);
            ERR_clear_error();
            return -1;
        }

        EVP_PKEY_free(pkey);
        *key_len = n;

        return 0;
    }

    if (alg != INGEST_TOKEN_HS256) {
        return -1;
    }

    /*
     * A PEM file is never an HMAC secret: taking an Ed25519 public key
     * file as one would let anyone who has that public key sign.
     */

    if (len >= 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        return -1;
    }

    if (len > 4 && memcmp(data, "hex:", 4) == 0) {

        /* text forms: surrounding white space is not part of the key */

        data += 4;
        len -= 4;

        while (len != 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'
                            || data[len - 1] == ' ' || data[len - 1] == '\t'))
        {
            len--;
        }

        if (len % 2 != 0 || len / 2 < INGEST_TOKEN_HS256_MIN_KEY
            || len / 2 > INGEST_TOKEN_KEY_MAX)
        {
            return -1;
        }

        for (i = 0; i < len; i += 2) {
            a = ingest_token_hex_value(data[i]);
            b = ingest_token_hex_value(data[i + 1]);

            if (a < 0 || b < 0) {
                return -1;
            }

            key[i / 2] = (unsigned char) (a << 4 | b);
        }

        *key_len = len / 2;

        return 0;
    }

    if (len > 7 && memcmp(data, "base64:", 7) == 0) {
        data += 7;
        len -= 7;

        while (len != 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'
                            || data[len - 1] == ' ' || data[len - 1] == '\t'))
        {
            len--;
        }

        /* standard or URL-safe alphabet, padding optional */

        while (len != 0 && data[len - 1] == '=') {
            len--;
        }

        if (len > sizeof(tmp)) {
            return -1;
        }

        for (i = 0; i < len; i++) {
            tmp[i] = (data[i] == '+') ? '-' : (data[i] == '/') ? '_' : data[i];
        }

        /* measure first: key holds INGEST_TOKEN_KEY_MAX bytes */

        r = ingest_base64url_decode(NULL, tmp, len);

        if (r >= INGEST_TOKEN_HS256_MIN_KEY && r <= INGEST_TOKEN_KEY_MAX) {
            (void) ingest_base64url_decode(key, tmp, len);
            *key_len = (size_t) r;
        }

        OPENSSL_cleanse(tmp, sizeof(tmp));

        return (r >= INGEST_TOKEN_HS256_MIN_KEY && r <= INGEST_TOKEN_KEY_MAX)
               ? 0 : -1;
    }

    /* raw bytes; a file written by an editor or echo ends in a newline */

    if (len != 0 && data[len - 1] == '\n') {
        len--;

        if (len != 0 && data[len - 1] == '\r') {
            len--;
        }
    }

    if (len < INGEST_TOKEN_HS256_MIN_KEY || len > INGEST_TOKEN_KEY_MAX) {
        return -1;
    }

    memcpy(key, data, len);
    *key_len = len;

    return 0;
}


int
ingest_token_parse_private_key_file(ingest_token_alg_t alg,
    const unsigned char *data, size_t len, unsigned char *key,
    size_t *key_len)
{
    BIO       *bio;
    size_t     n;
    EVP_PKEY  *pkey;

    if (alg == INGEST_TOKEN_HS256) {
        return ingest_token_parse_key_file(alg, data, len, key, key_len);
    }

    if (alg != INGEST_TOKEN_EDDSA || data == NULL || key == NULL
        || key_len == NULL || len > INT_MAX)
    {
        return -1;
    }

    bio = BIO_new_mem_buf(data, (int) len);
    if (bio == NULL) {
        ERR_clear_error();
        return -1;
    }

    /* an encrypted key fails here instead of prompting on a terminal */

    pkey = PEM_read_bio_PrivateKey(bio, NULL, ingest_token_no_password, NULL);
    BIO_free(bio);

    n = INGEST_TOKEN_ED25519_KEY;

    if (pkey == NULL
        || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_private_key(pkey, key, &n) != 1
        || n != INGEST_TOKEN_ED25519_KEY)
    {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return -1;
    }

    EVP_PKEY_free(pkey);
    *key_len = n;

    return 0;
}


ingest_token_rc_t
ingest_token_verify(const ingest_token_keyset_t *ks,
    const unsigned char *token, size_t len, int64_t now, int64_t leeway,
    ingest_token_claims_t *claims)
{
    size_t                     i, dot1, dot2, hlen, plen, slen, siglen;
    ssize_t                    n;
    ingest_token_rc_t          rc;
    ingest_token_json_t        json;
    const ingest_token_key_t  *key;
    unsigned char              mac[INGEST_TOKEN_HS256_SIG];
    unsigned char              sig[INGEST_TOKEN_EDDSA_SIG];
    unsigned char              header[INGEST_TOKEN_PART_MAX];
    unsigned char              payload[INGEST_TOKEN_PART_MAX];

    if (claims == NULL) {
        return INGEST_TOKEN_MALFORMED;
    }

    memset(claims, 0, sizeof(ingest_token_claims_t));

    if (ks == NULL || token == NULL || len == 0
        || len > INGEST_TOKEN_MAX_LEN)
    {
        return INGEST_TOKEN_MALFORMED;
    }

    /* exactly three parts */

    dot1 = len;
    dot2 = len;

    for (i = 0; i < len; i++) {
        if (token[i] != '.') {
            continue;
        }

        if (dot1 == len) {
            dot1 = i;

        } else if (dot2 == len) {
            dot2 = i;

        } else {
            return INGEST_TOKEN_MALFORMED;
        }
    }

    if (dot2 == len) {
        return INGEST_TOKEN_MALFORMED;
    }

    n = ingest_base64url_decode(header, token, dot1);
    if (n < 0) {
        return INGEST_TOKEN_MALFORMED;
    }

    hlen = (size_t) n;

    n = ingest_base64url_decode(payload, token + dot1 + 1, dot2 - dot1 - 1);
    if (n < 0) {
        return INGEST_TOKEN_MALFORMED;
    }

    plen = (size_t) n;

    /* a signature longer than any we know is checked as a bad one */

    slen = len - dot2 - 1;
    siglen = 0;

    if (slen <= INGEST_TOKEN_SIG_B64_MAX) {
        n = ingest_base64url_decode(sig, token + dot2 + 1, slen);
        if (n < 0) {
            return INGEST_TOKEN_MALFORMED;
        }

        siglen = (size_t) n;
    }

    if (ingest_token_json_parse(&json, header, hlen) != 0) {
        return INGEST_TOKEN_MALFORMED;
    }

    rc = ingest_token_header(ks, &json, claims, &key);
    if (rc != INGEST_TOKEN_OK) {
        return rc;
    }

    if (slen > INGEST_TOKEN_SIG_B64_MAX
        || siglen != ingest_token_sig_len(key->alg))
    {
        return INGEST_TOKEN_BAD_SIGNATURE;
    }

    /* the signing input is the ASCII text "header.payload" */

    switch (key->alg) {

    case INGEST_TOKEN_HS256:
        if (ingest_token_hs256(key->key, key->key_len, token, dot2, mac) != 0
            || !ingest_memeq_ct(mac, sig, INGEST_TOKEN_HS256_SIG))
        {
            OPENSSL_cleanse(mac, sizeof(mac));
            return INGEST_TOKEN_BAD_SIGNATURE;
        }

        OPENSSL_cleanse(mac, sizeof(mac));
        break;

    default: /* INGEST_TOKEN_EDDSA */
        if (!ingest_token_eddsa_verify(key->pkey, token, dot2, sig)) {
            return INGEST_TOKEN_BAD_SIGNATURE;
        }

        break;
    }

    if (ingest_token_json_parse(&json, payload, plen) != 0) {
        return INGEST_TOKEN_MALFORMED;
    }

    rc = ingest_token_claims(&json, claims);
    if (rc != INGEST_TOKEN_OK) {
        return rc;
    }

    return ingest_token_times(claims, now, leeway);
}


int
ingest_token_has_audience(const ingest_token_claims_t *c, const char *aud)
{
    size_t  i;

    if (c == NULL || aud == NULL) {
        return 0;
    }

    for (i = 0; i < c->naud && i < INGEST_TOKEN_MAX_AUD; i++) {
        if (strcmp(c->aud[i], aud) == 0) {
            return 1;
        }
    }

    return 0;
}


int
ingest_token_scope_allows(const ingest_token_claims_t *c,
    const unsigned char *path, size_t len)
{
    size_t  i, seg, n;

    if (c == NULL || path == NULL) {
        return 0;
    }

    /*
     * The path should come decoded and normalized, so anything that
     * could still climb out of a prefix (here or after a second decoding
     * further on) is refused: "." and ".." segments, empty segments,
     * backslashes and percent-encoded dots, slashes, backslashes, NULs.
     */

    seg = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && path[i] != '/') {
            if (path[i] == '\0' || path[i] == '\\') {
                return 0;
            }

            if (path[i] == '%' && len - i >= 3
                && ((path[i + 1] == '2'
                     && (path[i + 2] == 'e' || path[i + 2] == 'E'
                         || path[i + 2] == 'f' || path[i + 2] == 'F'))
                    || (path[i + 1] == '5'
                        && (path[i + 2] == 'c' || path[i + 2] == 'C'))
                    || (path[i + 1] == '0' && path[i + 2] == '0')))
            {
                return 0;
            }

            continue;
        }

        /* a segment path[seg, i) ends here */

        n = i - seg;

        if ((n == 1 && path[seg] == '.')
            || (n == 2 && path[seg] == '.' && path[seg + 1] == '.'))
        {
            return 0;
        }

        /* empty: only before a leading slash or after a trailing one */

        if (n == 0 && seg != 0 && i != len) {
            return 0;
        }

        seg = i + 1;
    }

    n = strlen(c->scope);

    if (n == 0) {
        return 1;
    }

    if (len < n || memcmp(path, c->scope, n) != 0) {
        return 0;
    }

    return c->scope[n - 1] == '/' || len == n || path[n] == '/';
}


int
ingest_token_type_allowed(const ingest_token_claims_t *c,
    const unsigned char *type, size_t len)
{
    size_t  i, n;

    if (c == NULL) {
        return 0;
    }

    if (c->ntypes == 0) {
        return 1;
    }

    if (type == NULL) {
        return 0;
    }

    /* parameters (";codecs=...") and white space around do not count */

    for (n = 0; n < len && type[n] != ';'; n++) { /* void */ }

    while (n != 0 && (type[n - 1] == ' ' || type[n - 1] == '\t')) {
        n--;
    }

    while (n != 0 && (type[0] == ' ' || type[0] == '\t')) {
        type++;
        n--;
    }

    if (n == 0) {
        return 0;
    }

    for (i = 0; i < c->ntypes && i < INGEST_TOKEN_MAX_TYPES; i++) {
        if (ingest_token_media_match(c->types[i], type, n)) {
            return 1;
        }
    }

    return 0;
}


const char *
ingest_token_reason(ingest_token_rc_t rc)
{
    if ((unsigned) rc >= INGEST_TOKEN_RC_LAST) {
        return "unknown";
    }

    return ingest_token_reasons[rc];
}


size_t
ingest_token_sign(const ingest_token_claims_t *c, const char *kid,
    ingest_token_alg_t alg, const unsigned char *key, size_t key_len,
    unsigned char *out, size_t cap)
{
    size_t              i, n, hlen, plen, siglen, total;
    ingest_token_out_t  o;
    unsigned char       sig[INGEST_TOKEN_EDDSA_SIG];
    unsigned char       header[INGEST_TOKEN_KID_MAX * 6 + 64];
    unsigned char       payload[INGEST_TOKEN_PART_MAX];

    if (c == NULL || kid == NULL || key == NULL || out == NULL
        || !ingest_token_sign_valid(c))
    {
        return 0;
    }

    n = strlen(kid);

    if (n == 0 || n > INGEST_TOKEN_KID_MAX
        || !ingest_token_text_valid((const unsigned char *) kid, n))
    {
        return 0;
    }

    switch (alg) {

    case INGEST_TOKEN_HS256:
        if (key_len < INGEST_TOKEN_HS256_MIN_KEY
            || key_len > INGEST_TOKEN_KEY_MAX)
        {
            return 0;
        }

        break;

    case INGEST_TOKEN_EDDSA:
        if (key_len != INGEST_TOKEN_ED25519_KEY) {
            return 0;
        }

        break;

    default:
        return 0;
    }

    o.pos = header;
    o.end = header + sizeof(header);
    o.error = 0;

    ingest_token_put(&o, "{\"alg\":\"");
    ingest_token_put(&o, ingest_token_alg_name(alg));
    ingest_token_put(&o, "\",\"typ\":\"JWT\",\"kid\":");
    ingest_token_put_str(&o, kid);
    ingest_token_put(&o, "}");

    if (o.error) {
        return 0;
    }

    hlen = (size_t) (o.pos - header);

    o.pos = payload;
    o.end = payload + sizeof(payload);

    ingest_token_put(&o, "{\"sub\":");
    ingest_token_put_str(&o, c->sub);

    if (c->naud == 1) {
        ingest_token_put(&o, ",\"aud\":");
        ingest_token_put_str(&o, c->aud[0]);

    } else if (c->naud > 1) {
        ingest_token_put(&o, ",\"aud\":[");

        for (i = 0; i < c->naud; i++) {
            ingest_token_put(&o, i == 0 ? "" : ",");
            ingest_token_put_str(&o, c->aud[i]);
        }

        ingest_token_put(&o, "]");
    }

    if (c->scope[0] != '\0') {
        ingest_token_put(&o, ",\"scope\":");
        ingest_token_put_str(&o, c->scope);
    }

    if (c->max_size != 0) {
        ingest_token_put_u64(&o, "max_size", c->max_size);
    }

    if (c->ntypes != 0) {
        ingest_token_put(&o, ",\"types\":[");

        for (i = 0; i < c->ntypes; i++) {
            ingest_token_put(&o, i == 0 ? "" : ",");
            ingest_token_put_str(&o, c->types[i]);
        }

        ingest_token_put(&o, "]");
    }

    if (c->jti[0] != '\0') {
        ingest_token_put(&o, ",\"jti\":");
        ingest_token_put_str(&o, c->jti);
    }

    if (c->srt_passphrase[0] != '\0') {
        ingest_token_put(&o, ",\"srt_passphrase\":");
        ingest_token_put_str(&o, c->srt_passphrase);
    }

    if (c->iat != 0) {
        ingest_token_put_u64(&o, "iat", (uint64_t) c->iat);
    }

    if (c->nbf != 0) {
        ingest_token_put_u64(&o, "nbf", (uint64_t) c->nbf);
    }

    ingest_token_put_u64(&o, "exp", (uint64_t) c->exp);
    ingest_token_put(&o, "}");

    if (o.error) {
        return 0;
    }

    plen = (size_t) (o.pos - payload);
    siglen = ingest_token_sig_len(alg);

    total = (hlen * 4 + 2) / 3 + 1 + (plen * 4 + 2) / 3 + 1
            + (siglen * 4 + 2) / 3;

    if (total > INGEST_TOKEN_MAX_LEN || total > cap) {
        return 0;
    }

    n = ingest_base64url_encode(out, header, hlen);
    out[n++] = '.';
    n += ingest_base64url_encode(out + n, payload, plen);

    if (alg == INGEST_TOKEN_HS256) {
        if (ingest_token_hs256(key, key_len, out, n, sig) != 0) {
            return 0;
        }

    } else if (ingest_token_eddsa_sign(key, out, n, sig) != 0) {
        return 0;
    }

    out[n++] = '.';
    n += ingest_base64url_encode(out + n, sig, siglen);

    if (n < cap) {
        out[n] = '\0';
    }

    return n;
}


size_t
ingest_base64url_encode(unsigned char *out, const unsigned char *in,
    size_t len)
{
    size_t          i;
    uint32_t        v;
    unsigned char  *p;

    p = out;

    for (i = 0; i + 3 <= len; i += 3) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];
        *p++ = ingest_token_b64url[(v >> 18) & 0x3f];
        *p++ = ingest_token_b64url[(v >> 12) & 0x3f];
        *p++ = ingest_token_b64url[(v >> 6) & 0x3f];
        *p++ = ingest_token_b64url[v & 0x3f];
    }

    if (len - i == 1) {
        v = (uint32_t) in[i] << 16;
        *p++ = ingest_token_b64url[(v >> 18) & 0x3f];
        *p++ = ingest_token_b64url[(v >> 12) & 0x3f];

    } else if (len - i == 2) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);
        *p++ = ingest_token_b64url[(v >> 18) & 0x3f];
        *p++ = ingest_token_b64url[(v >> 12) & 0x3f];
        *p++ = ingest_token_b64url[(v >> 6) & 0x3f];
    }

    return (size_t) (p - out);
}


/*
 * RFC 4648 section 5 without padding (RFC 7515 section 2): "=", "+",
 * "/", white space, a length of 4n+1 and non-zero unused bits are all
 * refused, so every byte string has exactly one accepted encoding.
 * out may be NULL to validate and measure only.
 */

ssize_t
ingest_base64url_decode(unsigned char *out, const unsigned char *in,
    size_t len)
{
    int       c;
    size_t    i, n, bits;
    uint32_t  acc;

    if (len == 0) {
        return 0;
    }

    if (in == NULL || len % 4 == 1 || len > (size_t) SSIZE_MAX / 3 * 4) {
        return -1;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        c = ingest_token_base64url_value(in[i]);
        if (c < 0) {
            return -1;
        }

        acc = (acc << 6 | (uint32_t) c) & 0xffffff;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;

            if (out != NULL) {
                out[n] = (unsigned char) (acc >> bits);
            }

            n++;
        }
    }

    /* the 2 or 4 bits left over must be zero */

    if (acc & ((1u << bits) - 1)) {
        return -1;
    }

    return (ssize_t) n;
}


static int
ingest_token_json_parse(ingest_token_json_t *j, const unsigned char *p,
    size_t len)
{
    size_t                       i;
    ingest_token_json_member_t  *m;

    if (len > sizeof(j->text)) {
        return -1;
    }

    j->pos = p;
    j->end = p + len;
    j->out = j->text;
    j->nmembers = 0;
    j->nitems = 0;

    ingest_token_json_space(j);

    if (j->pos == j->end || *j->pos != '{') {
        return -1;
    }

    j->pos++;
    ingest_token_json_space(j);

    if (j->pos != j->end && *j->pos == '}') {
        j->pos++;
        goto done;
    }

    for ( ;; ) {
        if (j->nmembers == INGEST_TOKEN_JSON_MEMBERS) {
            return -1;
        }

        m = &j->members[j->nmembers];

        if (j->pos == j->end || *j->pos != '"'
            || ingest_token_json_string(j, &m->key, &m->key_len) != 0)
        {
            return -1;
        }

        for (i = 0; i < j->nmembers; i++) {
            if (j->members[i].key_len == m->key_len
                && memcmp(j->members[i].key, m->key, m->key_len) == 0)
            {
                return -1;
            }
        }

        ingest_token_json_space(j);

        if (j->pos == j->end || *j->pos != ':') {
            return -1;
        }

        j->pos++;
        ingest_token_json_space(j);

        if (ingest_token_json_value(j, &m->value, 0) != 0) {
            return -1;
        }

        j->nmembers++;

        ingest_token_json_space(j);

        if (j->pos == j->end) {
            return -1;
        }

        if (*j->pos == '}') {
            j->pos++;
            break;
        }

        if (*j->pos != ',') {
            return -1;
        }

        j->pos++;
        ingest_token_json_space(j);
    }

done:

    ingest_token_json_space(j);

    return j->pos == j->end ? 0 : -1;
}


static int
ingest_token_json_value(ingest_token_json_t *j, ingest_token_json_value_t *v,
    int in_array)
{
    ingest_token_json_value_t  *item;

    if (j->pos == j->end) {
        return -1;
    }

    v->str = NULL;
    v->len = 0;
    v->first = 0;
    v->num = 0;

    switch (*j->pos) {

    case '"':
        v->type = INGEST_TOKEN_JSON_STRING;
        return ingest_token_json_string(j, &v->str, &v->len);

    case 't':
        v->type = INGEST_TOKEN_JSON_TRUE;
        return ingest_token_json_literal(j, "true");

    case 'f':
        v->type = INGEST_TOKEN_JSON_FALSE;
        return ingest_token_json_literal(j, "false");

    case 'n':
        v->type = INGEST_TOKEN_JSON_NULL;
        return ingest_token_json_literal(j, "null");

    case '[':
        break;

    default:
        return ingest_token_json_number(j, v);
    }

    /* an array of scalars; arrays and objects do not nest */

    if (in_array) {
        return -1;
    }

    v->type = INGEST_TOKEN_JSON_ARRAY;
    v->first = j->nitems;

    j->pos++;
    ingest_token_json_space(j);

    if (j->pos != j->end && *j->pos == ']') {
        j->pos++;
        return 0;
    }

    for ( ;; ) {
        if (j->nitems == INGEST_TOKEN_JSON_ITEMS) {
            return -1;
        }

        item = &j->items[j->nitems];

        if (ingest_token_json_value(j, item, 1) != 0) {
            return -1;
        }

        j->nitems++;
        v->len++;

        ingest_token_json_space(j);

        if (j->pos == j->end) {
            return -1;
        }

        if (*j->pos == ']') {
            j->pos++;
            return 0;
        }

        if (*j->pos != ',') {
            return -1;
        }

        j->pos++;
        ingest_token_json_space(j);
    }
}


/* j->pos is at the opening quote; the decoded string goes to text[] */

static int
ingest_token_json_string(ingest_token_json_t *j, const unsigned char **str,
    size_t *len)
{
    size_t          n;
    uint32_t        cp, lo;
    unsigned char   c, *start;

    j->pos++;
    start = j->out;

    for ( ;; ) {
        if (j->pos == j->end) {
            return -1;
        }

        /* no escape or character writes more bytes than it reads */

        c = *j->pos;

        if (c == '"') {
            j->pos++;
            break;
        }

        if (c < 0x20) {
            return -1;
        }

        if (c >= 0x80) {
            n = ingest_token_utf8_len(j->pos, (size_t) (j->end - j->pos));
            if (n == 0) {
                return -1;
            }

            memcpy(j->out, j->pos, n);
            j->out += n;
            j->pos += n;
            continue;
        }

        if (c != '\\') {
            *j->out++ = c;
            j->pos++;
            continue;
        }

        if (j->end - j->pos < 2) {
            return -1;
        }

        c = j->pos[1];
        j->pos += 2;

        switch (c) {

        case '"':
        case '\\':
        case '/':
            *j->out++ = c;
            continue;

        case 'b':
            *j->out++ = '\b';
            continue;

        case 'f':
            *j->out++ = '\f';
            continue;

        case 'n':
            *j->out++ = '\n';
            continue;

        case 'r':
            *j->out++ = '\r';
            continue;

        case 't':
            *j->out++ = '\t';
            continue;

        case 'u':
            break;

        default:
            return -1;
        }

        if (j->end - j->pos < 4 || ingest_token_json_hex4(j->pos, &cp) != 0) {
            return -1;
        }

        j->pos += 4;

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return -1;                      /* a lone low surrogate */
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (j->end - j->pos < 6 || j->pos[0] != '\\' || j->pos[1] != 'u'
                || ingest_token_json_hex4(j->pos + 2, &lo) != 0
                || lo < 0xdc00 || lo > 0xdfff)
            {
                return -1;
            }

            j->pos += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }

        /* NUL would cut the C strings the claims are copied into */

        if (cp == 0) {
            return -1;
        }

        j->out = ingest_token_utf8_put(j->out, cp);
    }

    *str = start;
    *len = (size_t) (j->out - start);

    return 0;
}


/*
 * RFC 8259 numbers. Integer syntax that fits int64_t is kept as a
 * value; fractions, exponents and larger integers are accepted as
 * JSON but marked NUMBER, which no claim takes.
 */

static int
ingest_token_json_number(ingest_token_json_t *j, ingest_token_json_value_t *v)
{
    int                   neg, integer;
    size_t                digits;
    uint64_t              mag;
    const unsigned char  *p, *end;

    p = j->pos;
    end = j->end;
    neg = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        return -1;
    }

    mag = 0;
    digits = 0;

    if (*p == '0') {
        p++;

    } else {
        while (p != end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mag = mag * 10 + (uint64_t) (*p - '0');
            }

            digits++;
            p++;
        }
    }

    integer = 1;

    if (p != end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return -1;
        }

        while (p != end && *p >= '0' && *p <= '9') {
            p++;
        }

        integer = 0;
    }

    if (p != end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p != end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return -1;
        }

        while (p != end && *p >= '0' && *p <= '9') {
            p++;
        }

        integer = 0;
    }

    j->pos = p;

    if (integer && digits <= 19 && mag <= (uint64_t) INT64_MAX) {
        v->type = INGEST_TOKEN_JSON_INT;
        v->num = neg ? -(int64_t) mag : (int64_t) mag;

    } else {
        v->type = INGEST_TOKEN_JSON_NUMBER;
    }

    return 0;
}


static int
ingest_token_json_literal(ingest_token_json_t *j, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    if ((size_t) (j->end - j->pos) < n || memcmp(j->pos, lit, n) != 0) {
        return -1;
    }

    j->pos += n;

    return 0;
}


static void
ingest_token_json_space(ingest_token_json_t *j)
{
    while (j->pos != j->end
           && (*j->pos == ' ' || *j->pos == '\t' || *j->pos == '\n'
               || *j->pos == '\r'))
    {
        j->pos++;
    }
}


static int
ingest_token_json_hex4(const unsigned char *p, uint32_t *cp)
{
    int       d;
    size_t    i;
    uint32_t  v;

    v = 0;

    for (i = 0; i < 4; i++) {
        d = ingest_token_hex_value(p[i]);
        if (d < 0) {
            return -1;
        }

        v = v << 4 | (uint32_t) d;
    }

    *cp = v;

    return 0;
}


static const ingest_token_json_value_t *
ingest_token_json_get(const ingest_token_json_t *j, const char *key)
{
    size_t  i, n;

    n = strlen(key);

    for (i = 0; i < j->nmembers; i++) {
        if (j->members[i].key_len == n
            && memcmp(j->members[i].key, key, n) == 0)
        {
            return &j->members[i].value;
        }
    }

    return NULL;
}


/*
 * Length of the well-formed UTF-8 sequence (RFC 3629) at p, or 0:
 * overlong forms, surrogates and code points above U+10FFFF are not.
 */

static size_t
ingest_token_utf8_len(const unsigned char *p, size_t len)
{
    size_t    n, k;
    unsigned  c, lo, hi;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if (n > len || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (k = 2; k < n; k++) {
        if (p[k] < 0x80 || p[k] > 0xbf) {
            return 0;
        }
    }

    return n;
}


static unsigned char *
ingest_token_utf8_put(unsigned char *p, uint32_t cp)
{
    if (cp < 0x80) {
        *p++ = (unsigned char) cp;

    } else if (cp < 0x800) {
        *p++ = (unsigned char) (0xc0 | (cp >> 6));
        *p++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else if (cp < 0x10000) {
        *p++ = (unsigned char) (0xe0 | (cp >> 12));
        *p++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *p++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else {
        *p++ = (unsigned char) (0xf0 | (cp >> 18));
        *p++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
        *p++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *p++ = (unsigned char) (0x80 | (cp & 0x3f));
    }

    return p;
}


/*
 * Claim strings end up in logs, nginx variables, upload records and
 * job files: they must be UTF-8 without control characters.
 */

static int
ingest_token_text_valid(const unsigned char *p, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return 0;
        }

        n = ingest_token_utf8_len(p + i, len - i);
        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


static int
ingest_token_copy(char *dst, size_t cap, const ingest_token_json_value_t *v)
{
    if (v->type != INGEST_TOKEN_JSON_STRING || v->len >= cap
        || !ingest_token_text_valid(v->str, v->len))
    {
        return -1;
    }

    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';

    return 0;
}


static int
ingest_token_time(const ingest_token_json_value_t *v, int64_t *t)
{
    if (v->type != INGEST_TOKEN_JSON_INT || v->num < 0
        || v->num > INGEST_TOKEN_TIME_MAX)
    {
        return -1;
    }

    *t = v->num;

    return 0;
}


/*
 * "type/subtype" with RFC 6838 restricted names, a major type with a
 * "*" subtype, or "*" for both
 */

static int
ingest_token_media_valid(const char *t)
{
    const char  *slash;

    slash = strchr(t, '/');

    if (slash == NULL) {
        return 0;
    }

    if (strcmp(t, "*/*") == 0) {
        return 1;
    }

    if (!ingest_token_media_name(t, (size_t) (slash - t))) {
        return 0;
    }

    return strcmp(slash + 1, "*") == 0
           || ingest_token_media_name(slash + 1, strlen(slash + 1));
}


static int
ingest_token_media_name(const char *p, size_t len)
{
    size_t  i;
    int     c;

    if (len == 0 || len > 127) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }

        if (i == 0 || c == '\0' || strchr("!#$&-^_.+", c) == NULL) {
            return 0;
        }
    }

    return 1;
}


static int
ingest_token_media_match(const char *pattern, const unsigned char *type,
    size_t len)
{
    size_t  n, i;

    n = strlen(pattern);

    if (n == 3 && memcmp(pattern, "*/*", 3) == 0) {
        return 1;
    }

    if (n >= 2 && pattern[n - 1] == '*') {

        /* a "type/" + "*" pattern: the type and a non-empty subtype */

        if (len <= n - 1 || strncasecmp(pattern, (const char *) type, n - 1)) {
            return 0;
        }

        for (i = n - 1; i < len; i++) {
            if (type[i] == '/') {
                return 0;
            }
        }

        return 1;
    }

    return len == n && strncasecmp(pattern, (const char *) type, n) == 0;
}


static ingest_token_rc_t
ingest_token_header(const ingest_token_keyset_t *ks, ingest_token_json_t *j,
    ingest_token_claims_t *c, const ingest_token_key_t **key)
{
    size_t                            i;
    const char                       *name;
    const ingest_token_json_value_t  *alg, *kid, *typ;

    /* no extension is understood, so none may be critical */

    if (ingest_token_json_get(j, "crit") != NULL) {
        return INGEST_TOKEN_BAD_HEADER;
    }

    alg = ingest_token_json_get(j, "alg");
    kid = ingest_token_json_get(j, "kid");
    typ = ingest_token_json_get(j, "typ");

    if (alg == NULL || alg->type != INGEST_TOKEN_JSON_STRING
        || kid == NULL || kid->len == 0
        || ingest_token_copy(c->kid, sizeof(c->kid), kid) != 0)
    {
        return INGEST_TOKEN_BAD_HEADER;
    }

    /* "typ" is a media type name, so case-insensitive (RFC 7515 4.1.9) */

    if (typ != NULL
        && (typ->type != INGEST_TOKEN_JSON_STRING || typ->len != 3
            || strncasecmp((const char *) typ->str, "JWT", 3) != 0))
    {
        return INGEST_TOKEN_BAD_HEADER;
    }

    for (i = 0; i < ks->nkeys && i < INGEST_TOKEN_MAX_KEYS; i++) {
        if (strcmp(ks->keys[i].kid, c->kid) == 0) {
            break;
        }
    }

    if (i == ks->nkeys || i == INGEST_TOKEN_MAX_KEYS) {
        return INGEST_TOKEN_UNKNOWN_KID;
    }

    /* the key decides the algorithm; the header may only agree */

    name = ingest_token_alg_name(ks->keys[i].alg);

    if (alg->len != strlen(name) || memcmp(alg->str, name, alg->len) != 0) {
        return INGEST_TOKEN_ALG_MISMATCH;
    }

    c->alg = ks->keys[i].alg;
    *key = &ks->keys[i];

    return INGEST_TOKEN_OK;
}


static ingest_token_rc_t
ingest_token_claims(ingest_token_json_t *j, ingest_token_claims_t *c)
{
    size_t                            i;
    const ingest_token_json_value_t  *v, *sub, *item;

    /* sub and jti first: they are logged whatever else fails */

    sub = ingest_token_json_get(j, "sub");

    if (sub != NULL
        && (sub->len == 0 || ingest_token_copy(c->sub, sizeof(c->sub), sub)))
    {
        return INGEST_TOKEN_BAD_CLAIM;
    }

    v = ingest_token_json_get(j, "jti");

    if (v != NULL && ingest_token_copy(c->jti, sizeof(c->jti), v) != 0) {
        return INGEST_TOKEN_BAD_CLAIM;
    }

    v = ingest_token_json_get(j, "exp");

    if (v == NULL || sub == NULL) {
        return INGEST_TOKEN_MISSING_CLAIM;
    }

    if (ingest_token_time(v, &c->exp) != 0) {
        return INGEST_TOKEN_BAD_CLAIM;
    }

    v = ingest_token_json_get(j, "nbf");

    if (v != NULL && ingest_token_time(v, &c->nbf) != 0) {
        return INGEST_TOKEN_BAD_CLAIM;
    }

    v = ingest_token_json_get(j, "iat");

    if (v != NULL && ingest_token_time(v, &c->iat) != 0) {
        return INGEST_TOKEN_BAD_CLAIM;
    }

    v = ingest_token_json_get(j, "aud");

    if (v != NULL) {
        if (v->type == INGEST_TOKEN_JSON_STRING) {
            if (ingest_token_copy(c->aud[0], sizeof(c->aud[0]), v) != 0) {
                return INGEST_TOKEN_BAD_CLAIM;
            }

            c->naud = 1;

        } else if (v->type == INGEST_TOKEN_JSON_ARRAY
                   && v->len <= INGEST_TOKEN_MAX_AUD)
        {
            for (i = 0; i < v->len; i++) {
                item = &j->items[v->first + i];

                if (ingest_token_copy(c->aud[i], sizeof(c->aud[i]), item)) {
                    return INGEST_TOKEN_BAD_CLAIM;
                }
            }

            c->naud = v->len;

        } else {
            return INGEST_TOKEN_BAD_CLAIM;
        }
    }

    v = ingest_token_json_get(j, "scope");

    if (v != NULL && ingest_token_copy(c->scope, sizeof(c->scope), v) != 0) {
        return INGEST_TOKEN_BAD_CLAIM;
    }

    /* 0 stands for "absent", so a present max_size must be positive */

    v = ingest_token_json_get(j, "max_size");

    if (v != NULL) {
        if (v->type != INGEST_TOKEN_JSON_INT || v->num <= 0) {
            return INGEST_TOKEN_BAD_CLAIM;
        }

        c->max_size = (uint64_t) v->num;
    }

    v = ingest_token_json_get(j, "types");

    if (v != NULL) {
        if (v->type != INGEST_TOKEN_JSON_ARRAY
            || v->len > INGEST_TOKEN_MAX_TYPES)
        {
            return INGEST_TOKEN_BAD_CLAIM;
        }

        for (i = 0; i < v->len; i++) {
            item = &j->items[v->first + i];

            if (ingest_token_copy(c->types[i], sizeof(c->types[i]), item)
                || !ingest_token_media_valid(c->types[i]))
            {
                return INGEST_TOKEN_BAD_CLAIM;
            }
        }

        c->ntypes = v->len;
    }

    /* libsrt takes a passphrase of 10 to 79 bytes: refuse what it would */

    v = ingest_token_json_get(j, "srt_passphrase");

    if (v != NULL
        && (v->type != INGEST_TOKEN_JSON_STRING
            || v->len < INGEST_TOKEN_PASSPHRASE_MIN
            || ingest_token_copy(c->srt_passphrase,
                                 sizeof(c->srt_passphrase), v)
               != 0))
    {
        return INGEST_TOKEN_BAD_CLAIM;
    }

    return INGEST_TOKEN_OK;
}


static ingest_token_rc_t
ingest_token_times(const ingest_token_claims_t *c, int64_t now,
    int64_t leeway)
{
    /* claims are within [0, TIME_MAX]: none of the sums can overflow */

    if (leeway < 0) {
        leeway = 0;

    } else if (leeway > INGEST_TOKEN_LEEWAY_MAX) {
        leeway = INGEST_TOKEN_LEEWAY_MAX;
    }

    if (now > c->exp + leeway) {
        return INGEST_TOKEN_EXPIRED;
    }

    if ((c->nbf != 0 && c->nbf - leeway > now)
        || (c->iat != 0 && c->iat - leeway > now))
    {
        return INGEST_TOKEN_NOT_YET_VALID;
    }

    return INGEST_TOKEN_OK;
}


static int
ingest_token_hs256(const unsigned char *key, size_t key_len,
    const unsigned char *in, size_t len, unsigned char *mac)
{
    unsigned int  n;

    n = 0;

    if (HMAC(EVP_sha256(), key, (int) key_len, in, len, mac, &n) == NULL
        || n != INGEST_TOKEN_HS256_SIG)
    {
        ERR_clear_error();
        return -1;
    }

    return 0;
}


/* returns 1 for a good signature; sig is INGEST_TOKEN_EDDSA_SIG bytes */

static int
ingest_token_eddsa_verify(EVP_PKEY *pkey, const unsigned char *in,
    size_t len, const unsigned char *sig)
{
    int          rc;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        ERR_clear_error();
        return 0;
    }

    /* Ed25519 is "pure": no digest, the message in one call */

    rc = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1
         && EVP_DigestVerify(ctx, sig, INGEST_TOKEN_EDDSA_SIG, in, len) == 1;

    EVP_MD_CTX_free(ctx);

    if (!rc) {
        ERR_clear_error();
    }

    return rc;
}


static int
ingest_token_eddsa_sign(const unsigned char *priv, const unsigned char *in,
    size_t len, unsigned char *sig)
{
    int          rc;
    size_t       n;
    EVP_PKEY    *pkey;
    EVP_MD_CTX  *ctx;

    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
                                        INGEST_TOKEN_ED25519_KEY);
    if (pkey == NULL) {
        ERR_clear_error();
        return -1;
    }

    ctx = EVP_MD_CTX_new();
    n = INGEST_TOKEN_EDDSA_SIG;

    rc = ctx != NULL
         && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1
         && EVP_DigestSign(ctx, sig, &n, in, len) == 1
         && n == INGEST_TOKEN_EDDSA_SIG;

    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);

    if (!rc) {
        ERR_clear_error();
        return -1;
    }

    return 0;
}


static const char *
ingest_token_alg_name(ingest_token_alg_t alg)
{
    return alg == INGEST_TOKEN_EDDSA ? "EdDSA" : "HS256";
}


static size_t
ingest_token_sig_len(ingest_token_alg_t alg)
{
    return alg == INGEST_TOKEN_EDDSA ? INGEST_TOKEN_EDDSA_SIG
                                     : INGEST_TOKEN_HS256_SIG;
}


static void
ingest_token_put(ingest_token_out_t *o, const char *s)
{
    size_t  n;

    n = strlen(s);

    if (o->error || (size_t) (o->end - o->pos) < n) {
        o->error = 1;
        return;
    }

    memcpy(o->pos, s, n);
    o->pos += n;
}


/* s was checked by ingest_token_text_valid(): escaping is all it needs */

static void
ingest_token_put_str(ingest_token_out_t *o, const char *s)
{
    size_t  n;

    ingest_token_put(o, "\"");

    if (o->error) {
        return;
    }

    n = ingest_json_escape(o->pos, (size_t) (o->end - o->pos),
                           (const unsigned char *) s, strlen(s));

    if (n == (size_t) -1) {
        o->error = 1;
        return;
    }

    o->pos += n;

    ingest_token_put(o, "\"");
}


static void
ingest_token_put_u64(ingest_token_out_t *o, const char *name, uint64_t v)
{
    char  buf[24];

    ingest_token_put(o, ",\"");
    ingest_token_put(o, name);
    ingest_token_put(o, "\":");

    buf[ingest_format_u64((unsigned char *) buf, v)] = '\0';

    ingest_token_put(o, buf);
}


/* what ingest_token_verify() would accept, so minted tokens verify */

static int
ingest_token_sign_valid(const ingest_token_claims_t *c)
{
    size_t  i;

    if (c->sub[0] == '\0' || c->naud > INGEST_TOKEN_MAX_AUD
        || c->ntypes > INGEST_TOKEN_MAX_TYPES
        || c->exp < 0 || c->exp > INGEST_TOKEN_TIME_MAX
        || c->nbf < 0 || c->nbf > INGEST_TOKEN_TIME_MAX
        || c->iat < 0 || c->iat > INGEST_TOKEN_TIME_MAX
        || c->max_size > (uint64_t) INT64_MAX)
    {
        return 0;
    }

    if (memchr(c->sub, '\0', sizeof(c->sub)) == NULL
        || memchr(c->scope, '\0', sizeof(c->scope)) == NULL
        || memchr(c->jti, '\0', sizeof(c->jti)) == NULL
        || !ingest_token_text_valid((const unsigned char *) c->sub,
                                    strlen(c->sub))
        || !ingest_token_text_valid((const unsigned char *) c->scope,
                                    strlen(c->scope))
        || !ingest_token_text_valid((const unsigned char *) c->jti,
                                    strlen(c->jti)))
    {
        return 0;
    }

    for (i = 0; i < c->naud; i++) {
        if (memchr(c->aud[i], '\0', sizeof(c->aud[i])) == NULL
            || !ingest_token_text_valid((const unsigned char *) c->aud[i],
                                        strlen(c->aud[i])))
        {
            return 0;
        }
    }

    for (i = 0; i < c->ntypes; i++) {
        if (memchr(c->types[i], '\0', sizeof(c->types[i])) == NULL
            || !ingest_token_media_valid(c->types[i]))
        {
            return 0;
        }
    }

    if (memchr(c->srt_passphrase, '\0', sizeof(c->srt_passphrase)) == NULL) {
        return 0;
    }

    i = strlen(c->srt_passphrase);

    if (i != 0 && i < INGEST_TOKEN_PASSPHRASE_MIN) {
        return 0;
    }

    if (!ingest_token_text_valid((const unsigned char *) c->srt_passphrase,
                                 i))
    {
        return 0;
    }

    return 1;
}


static int
ingest_token_base64url_value(unsigned char c)
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

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


static int
ingest_token_hex_value(unsigned char c)
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
ingest_token_no_password(char *buf, int size, int rwflag, void *data)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) data;

    return -1;
}
