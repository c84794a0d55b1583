
/*
 * Copyright (C) nginx video ingest developers
 *
 * Signed short-lived tokens: JWS compact serialization (RFC 7515) of a
 * JWT (RFC 7519), "header.payload.signature", base64url without padding.
 *
 * Header: {"alg":"HS256"|"EdDSA","typ":"JWT","kid":"<key id>"}; "kid" is
 * required. The algorithm that is accepted is the one of the configured
 * key named by "kid"; a header "alg" that differs is rejected (so "none"
 * and HS256-with-an-EdDSA-public-key swaps never verify).
 *
 * Claims: exp (required), nbf, iat, sub (required), aud (string or array
 * of strings), scope (path prefix or stream name), max_size (integer
 * bytes), types (array of media types, "video/" + "*" wildcards allowed),
 * jti, srt_passphrase (the SRT listener's passphrase for this publisher,
 * 10 to 79 bytes as libsrt requires; the HTTP side ignores it). Unknown
 * claims are ignored.
 */


#ifndef _INGEST_TOKEN_H_INCLUDED_
#define _INGEST_TOKEN_H_INCLUDED_


#include "ingest_core.h"


#define INGEST_TOKEN_MAX_LEN        8192
#define INGEST_TOKEN_MAX_KEYS       16
#define INGEST_TOKEN_MAX_TYPES      16
#define INGEST_TOKEN_MAX_AUD        8
#define INGEST_TOKEN_KID_MAX        64
#define INGEST_TOKEN_STR_MAX        512     /* sub, scope, jti, each type */
#define INGEST_TOKEN_KEY_MAX        256     /* raw key bytes */
#define INGEST_TOKEN_PASSPHRASE_MIN 10      /* srt_passphrase, bytes */
#define INGEST_TOKEN_PASSPHRASE_MAX 79


typedef enum {
    INGEST_TOKEN_HS256 = 1,
    INGEST_TOKEN_EDDSA
} ingest_token_alg_t;


typedef enum {
    INGEST_TOKEN_OK = 0,
    INGEST_TOKEN_MALFORMED,        /* not three base64url parts, bad JSON */
    INGEST_TOKEN_BAD_HEADER,       /* missing kid, typ not JWT, crit */
    INGEST_TOKEN_UNKNOWN_KID,
    INGEST_TOKEN_ALG_MISMATCH,     /* header alg is not the key's alg */
    INGEST_TOKEN_BAD_SIGNATURE,
    INGEST_TOKEN_EXPIRED,          /* now > exp + leeway */
    INGEST_TOKEN_NOT_YET_VALID,    /* now + leeway < nbf (or iat) */
    INGEST_TOKEN_MISSING_CLAIM,    /* exp or sub absent */
    INGEST_TOKEN_BAD_CLAIM,        /* a claim of the wrong JSON type */
    INGEST_TOKEN_WRONG_AUDIENCE,
    INGEST_TOKEN_SCOPE,            /* path/stream outside the scope */
    INGEST_TOKEN_REVOKED,          /* set by callers (deny list) */
    INGEST_TOKEN_RC_LAST
} ingest_token_rc_t;


/* a verification key; raw bytes: the HMAC secret or the 32-byte
 * Ed25519 public key */
typedef struct {
    char                 kid[INGEST_TOKEN_KID_MAX + 1];
    ingest_token_alg_t   alg;
    unsigned char        key[INGEST_TOKEN_KEY_MAX];
    size_t               key_len;
    void                *pkey;           /* EVP_PKEY * (EdDSA), owned */
} ingest_token_key_t;


typedef struct {
    ingest_token_key_t   keys[INGEST_TOKEN_MAX_KEYS];
    size_t               nkeys;
} ingest_token_keyset_t;


/* verified claims; strings are NUL-terminated copies */
typedef struct {
    char                 kid[INGEST_TOKEN_KID_MAX + 1];
    ingest_token_alg_t   alg;
    int64_t              exp;
    int64_t              nbf;            /* 0: absent */
    int64_t              iat;            /* 0: absent */
    char                 sub[INGEST_TOKEN_STR_MAX + 1];
    char                 scope[INGEST_TOKEN_STR_MAX + 1];   /* "" absent */
    char                 jti[INGEST_TOKEN_STR_MAX + 1];     /* "" absent */
    char                 aud[INGEST_TOKEN_MAX_AUD][64];
    size_t               naud;
    uint64_t             max_size;       /* 0: absent */
    char                 types[INGEST_TOKEN_MAX_TYPES][128];
    size_t               ntypes;
                                         /* "" absent */
    char                 srt_passphrase[INGEST_TOKEN_PASSPHRASE_MAX + 1];
} ingest_token_claims_t;


/*
 * Adds a key. For HS256 key/len is the secret (at least 32 bytes); for
 * EdDSA it is the 32-byte raw public key. Returns 0, or -1 (bad length,
 * duplicate kid, too many keys, OpenSSL failure).
 */
int ingest_token_keyset_add(ingest_token_keyset_t *ks, const char *kid,
    ingest_token_alg_t alg, const unsigned char *key, size_t len);
void ingest_token_keyset_free(ingest_token_keyset_t *ks);

/*
 * Parses a key file: HS256 secrets as raw bytes or "base64:..." /
 * "hex:..." text, EdDSA public keys as PEM (SubjectPublicKeyInfo, as
 * written by `openssl pkey -pubout`). Returns 0 and the raw key, or -1.
 * key must hold INGEST_TOKEN_KEY_MAX bytes.
 */
int ingest_token_parse_key_file(ingest_token_alg_t alg,
    const unsigned char *data, size_t len, unsigned char *key,
    size_t *key_len);

/*
 * The signing side (CLI, refresh endpoint): HS256 secrets as above,
 * EdDSA private keys as PEM (PKCS#8, as written by `openssl genpkey
 * -algorithm ed25519`; encrypted keys are refused) to the 32-byte raw
 * private key. Returns 0 or -1.
 */
int ingest_token_parse_private_key_file(ingest_token_alg_t alg,
    const unsigned char *data, size_t len, unsigned char *key,
    size_t *key_len);

/*
 * Verifies signature and time claims: the signature with the keyset,
 * then exp/nbf/iat against now with leeway seconds. Claims are filled
 * as far as parsing got (sub and jti are set for logging even when the
 * result is EXPIRED). Constant-time signature comparison.
 */
ingest_token_rc_t ingest_token_verify(const ingest_token_keyset_t *ks,
    const unsigned char *token, size_t len, int64_t now, int64_t leeway,
    ingest_token_claims_t *claims);

/* 1 when aud is in the token's audience (a token without aud: 0) */
int ingest_token_has_audience(const ingest_token_claims_t *c,
    const char *aud);

/*
 * Scope check for a request path (already decoded and normalized by
 * the server, e.g. nginx's r->uri): the scope is a path prefix that
 * must match at a segment boundary ("/files/alice" allows
 * "/files/alice" and "/files/alice/...", not "/files/alice2"); a scope
 * ending in "/" matches below it. Paths with "/../", "/./", "//" or a
 * NUL never match. An empty scope allows everything.
 */
int ingest_token_scope_allows(const ingest_token_claims_t *c,
    const unsigned char *path, size_t len);

/* 1 when the media type matches types (exact, or a "type/" + "*"
 * wildcard); a token
 * without types allows everything */
int ingest_token_type_allowed(const ingest_token_claims_t *c,
    const unsigned char *type, size_t len);

const char *ingest_token_reason(ingest_token_rc_t rc);

/*
 * Signing for the operator CLI and the refresh endpoint: builds
 * header.payload.signature for the claims (alg from the key: for EdDSA
 * priv is the 32-byte raw private key). Returns the length or 0.
 */
size_t ingest_token_sign(const ingest_token_claims_t *c, const char *kid,
    ingest_token_alg_t alg, const unsigned char *key, size_t key_len,
    unsigned char *out, size_t cap);

/* base64url without padding; decode returns -1 on bad input */
size_t ingest_base64url_encode(unsigned char *out, const unsigned char *in,
    size_t len);
ssize_t ingest_base64url_decode(unsigned char *out, const unsigned char *in,
    size_t len);


#endif /* _INGEST_TOKEN_H_INCLUDED_ */
