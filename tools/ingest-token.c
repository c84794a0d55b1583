
/*
 * Copyright (C) nginx video ingest developers
 *
 * ingest-token: the operator CLI for upload tokens (docs/tokens.md).
 *
 *   ingest-token mint    --kid K --alg HS256|EdDSA --key FILE --sub S ...
 *   ingest-token inspect TOKEN
 *   ingest-token verify  --key FILE --kid K --alg A [--aud X] TOKEN
 *   ingest-token genkey  --alg HS256|EdDSA --out PREFIX
 *
 * Exit status: 0 success (a valid token for "verify"), 1 an invalid
 * token, 2 bad usage or input.
 */


#include "ingest_token.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>


#define ITK_OK             0
#define ITK_INVALID        1
#define ITK_USAGE          2

/* key files are small; anything larger is not one */
#define ITK_KEY_FILE_MAX   65536

/* the longest --ttl: ten years */
#define ITK_TTL_MAX        (10LL * 366 * 86400)


enum {
    ITK_OPT_KID = 256,
    ITK_OPT_ALG,
    ITK_OPT_KEY,
    ITK_OPT_SUB,
    ITK_OPT_AUD,
    ITK_OPT_SCOPE,
    ITK_OPT_TTL,
    ITK_OPT_NBF,
    ITK_OPT_MAX_SIZE,
    ITK_OPT_TYPE,
    ITK_OPT_JTI,
    ITK_OPT_SRT_PASSPHRASE,
    ITK_OPT_NOW,
    ITK_OPT_LEEWAY,
    ITK_OPT_PATH,
    ITK_OPT_OUT,
    ITK_OPT_HELP
};


typedef struct {
    const char             *kid;
    const char             *key_file;
    const char             *aud;
    const char             *path;
    const char             *type;
    const char             *out;
    const char             *token;
    ingest_token_alg_t      alg;
    int64_t                 now;
    int64_t                 leeway;
    ingest_token_claims_t   claims;
} itk_args_t;


static int itk_mint(int argc, char **argv);
static int itk_inspect(int argc, char **argv);
static int itk_verify(int argc, char **argv);
static int itk_genkey(int argc, char **argv);
static int itk_parse(int argc, char **argv, const char *cmd,
    const char *allowed, itk_args_t *a);
static int itk_copy(char *dst, size_t cap, const char *src,
    const char *what);
static int itk_alg(const char *s, ingest_token_alg_t *alg);
static int itk_duration(const char *s, int64_t *v);
static int itk_size(const char *s, uint64_t *v);
static int itk_int(const char *s, int64_t *v);
static int itk_read_file(const char *name, unsigned char *buf, size_t cap,
    size_t *len);
static int itk_read_token(const char *arg, unsigned char *buf, size_t cap,
    size_t *len);
static int itk_public_key(const itk_args_t *a, unsigned char *key,
    size_t *len);
static int itk_write_file(const char *name, const void *data, size_t len,
    mode_t mode);
static void itk_print_json(const unsigned char *p, size_t len);
static void itk_print_claims(const ingest_token_claims_t *c, int64_t now);
static void itk_error(const char *fmt, ...);
static void itk_usage(FILE *f);


static const struct option  itk_options[] = {
    { "kid", required_argument, NULL, ITK_OPT_KID },
    { "alg", required_argument, NULL, ITK_OPT_ALG },
    { "key", required_argument, NULL, ITK_OPT_KEY },
    { "sub", required_argument, NULL, ITK_OPT_SUB },
    { "aud", required_argument, NULL, ITK_OPT_AUD },
    { "scope", required_argument, NULL, ITK_OPT_SCOPE },
    { "ttl", required_argument, NULL, ITK_OPT_TTL },
    { "nbf", required_argument, NULL, ITK_OPT_NBF },
    { "max-size", required_argument, NULL, ITK_OPT_MAX_SIZE },
    { "type", required_argument, NULL, ITK_OPT_TYPE },
    { "jti", required_argument, NULL, ITK_OPT_JTI },
    { "srt-passphrase", required_argument, NULL, ITK_OPT_SRT_PASSPHRASE },
    { "now", required_argument, NULL, ITK_OPT_NOW },
    { "leeway", required_argument, NULL, ITK_OPT_LEEWAY },
    { "path", required_argument, NULL, ITK_OPT_PATH },
    { "out", required_argument, NULL, ITK_OPT_OUT },
    { "help", no_argument, NULL, ITK_OPT_HELP },
    { NULL, 0, NULL, 0 }
};


int
main(int argc, char **argv)
{
    if (argc < 2) {
        itk_usage(stderr);
        return ITK_USAGE;
    }

    if (strcmp(argv[1], "mint") == 0) {
        return itk_mint(argc - 1, argv + 1);
    }

    if (strcmp(argv[1], "inspect") == 0) {
        return itk_inspect(argc - 1, argv + 1);
    }

    if (strcmp(argv[1], "verify") == 0) {
        return itk_verify(argc - 1, argv + 1);
    }

    if (strcmp(argv[1], "genkey") == 0) {
        return itk_genkey(argc - 1, argv + 1);
    }

    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "-h") == 0)
    {
        itk_usage(stdout);
        return ITK_OK;
    }

    itk_error("unknown command \"%s\"", argv[1]);
    itk_usage(stderr);

    return ITK_USAGE;
}


static int
itk_mint(int argc, char **argv)
{
    size_t          len, n, i;
    itk_args_t      a;
    unsigned char   key[INGEST_TOKEN_KEY_MAX], rnd[16];
    unsigned char   data[ITK_KEY_FILE_MAX], out[INGEST_TOKEN_MAX_LEN + 1];

    if (itk_parse(argc, argv, "mint",
                  "kid alg key sub aud scope ttl nbf max-size type jti "
                  "srt-passphrase now",
                  &a) != 0)
    {
        return ITK_USAGE;
    }

    if (a.kid == NULL || a.alg == 0 || a.key_file == NULL
        || a.claims.sub[0] == '\0')
    {
        itk_error("mint needs --kid, --alg, --key and --sub");
        return ITK_USAGE;
    }

    if (optind != argc) {
        itk_error("mint: unexpected argument \"%s\"", argv[optind]);
        return ITK_USAGE;
    }

    if (itk_read_file(a.key_file, data, sizeof(data), &len) != 0) {
        return ITK_USAGE;
    }

    if (ingest_token_parse_private_key_file(a.alg, data, len, key, &n) != 0) {
        OPENSSL_cleanse(data, sizeof(data));

        if (a.alg == INGEST_TOKEN_EDDSA) {
            itk_error("%s: not an unencrypted Ed25519 private key in PEM "
                      "(openssl genpkey -algorithm ed25519)", a.key_file);
        } else {
            itk_error("%s: not an HS256 secret of 32 to %d bytes "
                      "(raw, \"hex:...\" or \"base64:...\"; not PEM)",
                      a.key_file, INGEST_TOKEN_KEY_MAX);
        }

        return ITK_USAGE;
    }

    OPENSSL_cleanse(data, sizeof(data));

    if (strcmp(a.claims.jti, "auto") == 0) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            itk_error("RAND_bytes failed");
            return ITK_USAGE;
        }

        for (i = 0; i < sizeof(rnd); i++) {
            sprintf(a.claims.jti + 2 * i, "%02x", rnd[i]);
        }
    }

    a.claims.iat = a.now;

    len = ingest_token_sign(&a.claims, a.kid, a.alg, key, n, out,
                            sizeof(out));

    OPENSSL_cleanse(key, sizeof(key));

    if (len == 0) {
        itk_error("cannot sign: a value has control characters or is not "
                  "UTF-8, or a --type is not a media type");
        return ITK_USAGE;
    }

    printf("%.*s\n", (int) len, out);

    return ITK_OK;
}


static int
itk_inspect(int argc, char **argv)
{
    size_t          len, i, dot1, dot2, ndots;
    ssize_t         hlen, plen;
    unsigned char   tok[INGEST_TOKEN_MAX_LEN + 2];
    unsigned char   header[INGEST_TOKEN_MAX_LEN], payload[INGEST_TOKEN_MAX_LEN];

    if (argc != 2) {
        itk_error("usage: ingest-token inspect TOKEN (or - for stdin)");
        return ITK_USAGE;
    }

    if (itk_read_token(argv[1], tok, sizeof(tok), &len) != 0) {
        return ITK_USAGE;
    }

    dot1 = 0;
    dot2 = 0;
    ndots = 0;

    for (i = 0; i < len; i++) {
        if (tok[i] == '.') {
            if (ndots++ == 0) {
                dot1 = i;
            } else {
                dot2 = i;
            }
        }
    }

    if (ndots != 2) {
        itk_error("not a token: it has %zu parts, not three "
                  "(header.payload.signature)", ndots + 1);
        return ITK_INVALID;
    }

    hlen = ingest_base64url_decode(header, tok, dot1);
    plen = ingest_base64url_decode(payload, tok + dot1 + 1,
                                   dot2 - dot1 - 1);

    if (hlen < 0 || plen < 0
        || ingest_base64url_decode(NULL, tok + dot2 + 1, len - dot2 - 1) < 0)
    {
        itk_error("not a token: a part is not base64url without padding");
        return ITK_INVALID;
    }

    printf("{\"header\":");
    itk_print_json(header, (size_t) hlen);
    printf(",\"claims\":");
    itk_print_json(payload, (size_t) plen);
    printf("}\n");

    return ITK_OK;
}


static int
itk_verify(int argc, char **argv)
{
    size_t                 len, n;
    itk_args_t             a;
    ingest_token_rc_t      rc;
    ingest_token_keyset_t  ks;
    unsigned char          key[INGEST_TOKEN_KEY_MAX];
    unsigned char          tok[INGEST_TOKEN_MAX_LEN + 2];

    if (itk_parse(argc, argv, "verify", "kid alg key aud leeway path type now",
                  &a) != 0)
    {
        return ITK_USAGE;
    }

    if (a.kid == NULL || a.alg == 0 || a.key_file == NULL) {
        itk_error("verify needs --kid, --alg and --key");
        return ITK_USAGE;
    }

    if (optind + 1 != argc) {
        itk_error("verify needs one TOKEN argument (or - for stdin)");
        return ITK_USAGE;
    }

    if (itk_read_token(argv[optind], tok, sizeof(tok), &len) != 0) {
        return ITK_USAGE;
    }

    if (itk_public_key(&a, key, &n) != 0) {
        return ITK_USAGE;
    }

    memset(&ks, 0, sizeof(ks));

    if (ingest_token_keyset_add(&ks, a.kid, a.alg, key, n) != 0) {
        itk_error("bad --kid \"%s\" (1 to %d printable characters)", a.kid,
                  INGEST_TOKEN_KID_MAX);
        OPENSSL_cleanse(key, sizeof(key));
        return ITK_USAGE;
    }

    OPENSSL_cleanse(key, sizeof(key));

    rc = ingest_token_verify(&ks, tok, len, a.now, a.leeway, &a.claims);

    ingest_token_keyset_free(&ks);

    if (rc == INGEST_TOKEN_OK && a.aud != NULL
        && !ingest_token_has_audience(&a.claims, a.aud))
    {
        rc = INGEST_TOKEN_WRONG_AUDIENCE;
    }

    if (rc == INGEST_TOKEN_OK && a.path != NULL
        && !ingest_token_scope_allows(&a.claims,
                                      (const unsigned char *) a.path,
                                      strlen(a.path)))
    {
        rc = INGEST_TOKEN_SCOPE;
    }

    if (rc != INGEST_TOKEN_OK) {
        fprintf(stderr, "invalid: %s", ingest_token_reason(rc));

        if (a.claims.sub[0] != '\0') {
            fprintf(stderr, " (sub \"%s\")", a.claims.sub);
        }

        fprintf(stderr, "\n");

        return ITK_INVALID;
    }

    if (a.type != NULL
        && !ingest_token_type_allowed(&a.claims,
                                      (const unsigned char *) a.type,
                                      strlen(a.type)))
    {
        fprintf(stderr, "invalid: type \"%s\" not allowed\n", a.type);
        return ITK_INVALID;
    }

    printf("valid: ");
    itk_print_claims(&a.claims, a.now);

    return ITK_OK;
}


static int
itk_genkey(int argc, char **argv)
{
    int             rc;
    BIO            *priv, *pub;
    char           *mem, name[4096], pubname[4096];
    long            n;
    size_t          i;
    itk_args_t      a;
    EVP_PKEY       *pkey;
    unsigned char   rnd[32];
    char            text[4 + 2 * sizeof(rnd) + 2];

    if (itk_parse(argc, argv, "genkey", "alg out", &a) != 0) {
        return ITK_USAGE;
    }

    if (a.alg == 0 || a.out == NULL || optind != argc) {
        itk_error("usage: ingest-token genkey --alg HS256|EdDSA --out PREFIX");
        return ITK_USAGE;
    }

    if (snprintf(name, sizeof(name), "%s.key", a.out) >= (int) sizeof(name)
        || snprintf(pubname, sizeof(pubname), "%s.pub", a.out)
           >= (int) sizeof(pubname))
    {
        itk_error("--out is too long");
        return ITK_USAGE;
    }

    if (a.alg == INGEST_TOKEN_HS256) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            itk_error("RAND_bytes failed");
            return ITK_USAGE;
        }

        memcpy(text, "hex:", 4);

        for (i = 0; i < sizeof(rnd); i++) {
            sprintf(text + 4 + 2 * i, "%02x", rnd[i]);
        }

        text[4 + 2 * sizeof(rnd)] = '\n';

        rc = itk_write_file(name, text, 4 + 2 * sizeof(rnd) + 1, 0600);

        OPENSSL_cleanse(rnd, sizeof(rnd));
        OPENSSL_cleanse(text, sizeof(text));

        if (rc != 0) {
            return ITK_USAGE;
        }

        fprintf(stderr, "wrote %s (HS256 secret, mode 0600): the same file "
                "goes to nginx and to the app that mints tokens\n", name);

        return ITK_OK;
    }

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    priv = BIO_new(BIO_s_mem());
    pub = BIO_new(BIO_s_mem());

    rc = -1;

    if (pkey == NULL || priv == NULL || pub == NULL
        || PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL)
           != 1
        || PEM_write_bio_PUBKEY(pub, pkey) != 1)
    {
        itk_error("cannot make an Ed25519 key");
        goto done;
    }

    /* the public key first: a failure then leaves no private key */

    n = BIO_get_mem_data(pub, &mem);

    if (itk_write_file(pubname, mem, (size_t) n, 0644) != 0) {
        goto done;
    }

    n = BIO_get_mem_data(priv, &mem);

    if (itk_write_file(name, mem, (size_t) n, 0600) != 0) {
        (void) unlink(pubname);
        goto done;
    }

    fprintf(stderr, "wrote %s (Ed25519 private key, mode 0600) for the app "
            "that mints tokens\nwrote %s (public key) for nginx\n", name,
            pubname);

    rc = 0;

done:

    ERR_clear_error();
    BIO_free_all(priv);
    BIO_free_all(pub);
    EVP_PKEY_free(pkey);

    return rc == 0 ? ITK_OK : ITK_USAGE;
}


/*
 * Options of a command; "allowed" names the ones it takes. Claims go
 * straight into a->claims, checked against the limits of the codec.
 */

static int
itk_parse(int argc, char **argv, const char *cmd, const char *allowed,
    itk_args_t *a)
{
    int                     c, idx;
    char                    word[32], list[256];
    int64_t                 v, ttl;
    const char             *name, *nbf;
    ingest_token_claims_t  *cl;

    memset(a, 0, sizeof(itk_args_t));
    a->now = (int64_t) time(NULL);
    cl = &a->claims;

    /* the guide's 30 minutes; sessions keep long uploads going */

    ttl = 1800;
    nbf = NULL;

    snprintf(list, sizeof(list), " %s ", allowed);

    optind = 1;
    opterr = 0;

    for ( ;; ) {
        idx = -1;
        c = getopt_long(argc, argv, "h", itk_options, &idx);

        if (c == -1) {
            break;
        }

        if (c == 'h' || c == ITK_OPT_HELP) {
            itk_usage(stdout);
            exit(ITK_OK);
        }

        if (c == '?' || c == ':' || idx < 0) {
            itk_error("%s: unknown option or missing value near \"%s\"", cmd,
                      argv[optind - 1]);
            return -1;
        }

        name = itk_options[idx].name;

        /* is it one of this command's options? */

        snprintf(word, sizeof(word), " %s ", name);

        if (strstr(list, word) == NULL) {
            itk_error("%s does not take --%s", cmd, name);
            return -1;
        }

        switch (c) {

        case ITK_OPT_KID:
            a->kid = optarg;
            break;

        case ITK_OPT_ALG:
            if (itk_alg(optarg, &a->alg) != 0) {
                itk_error("--alg must be HS256 or EdDSA, not \"%s\"", optarg);
                return -1;
            }
            break;

        case ITK_OPT_KEY:
            a->key_file = optarg;
            break;

        case ITK_OPT_SUB:
            if (optarg[0] == '\0') {
                itk_error("--sub must not be empty");
                return -1;
            }

            if (itk_copy(cl->sub, sizeof(cl->sub), optarg, "--sub") != 0) {
                return -1;
            }
            break;

        case ITK_OPT_AUD:
            if (strcmp(cmd, "verify") == 0) {
                a->aud = optarg;
                break;
            }

            if (cl->naud == INGEST_TOKEN_MAX_AUD) {
                itk_error("at most %d --aud", INGEST_TOKEN_MAX_AUD);
                return -1;
            }

            if (itk_copy(cl->aud[cl->naud], sizeof(cl->aud[0]), optarg,
                         "--aud") != 0)
            {
                return -1;
            }

            cl->naud++;
            break;

        case ITK_OPT_SCOPE:
            if (itk_copy(cl->scope, sizeof(cl->scope), optarg, "--scope")) {
                return -1;
            }
            break;

        case ITK_OPT_TTL:
            if (itk_duration(optarg, &ttl) != 0 || ttl <= 0
                || ttl > ITK_TTL_MAX)
            {
                itk_error("--ttl: \"%s\" is not a duration like 3600, 90s, "
                          "30m, 2h or 1d", optarg);
                return -1;
            }
            break;

        case ITK_OPT_NBF:
            nbf = optarg;
            break;

        case ITK_OPT_MAX_SIZE:
            if (itk_size(optarg, &cl->max_size) != 0 || cl->max_size == 0) {
                itk_error("--max-size: \"%s\" is not a size like 1048576, "
                          "500M or 10G", optarg);
                return -1;
            }
            break;

        case ITK_OPT_TYPE:
            if (strcmp(cmd, "verify") == 0) {
                a->type = optarg;
                break;
            }

            if (cl->ntypes == INGEST_TOKEN_MAX_TYPES) {
                itk_error("at most %d --type", INGEST_TOKEN_MAX_TYPES);
                return -1;
            }

            if (strchr(optarg, '/') == NULL || strchr(optarg, ';') != NULL
                || strchr(optarg, ' ') != NULL)
            {
                itk_error("--type: \"%s\" is not a media type like video/mp4 "
                          "or video/*", optarg);
                return -1;
            }

            if (itk_copy(cl->types[cl->ntypes], sizeof(cl->types[0]), optarg,
                         "--type") != 0)
            {
                return -1;
            }

            cl->ntypes++;
            break;

        case ITK_OPT_JTI:
            if (optarg[0] == '\0'
                || itk_copy(cl->jti, sizeof(cl->jti), optarg, "--jti") != 0)
            {
                itk_error("--jti: give an id or \"auto\"");
                return -1;
            }
            break;

        case ITK_OPT_SRT_PASSPHRASE:
            if (strlen(optarg) < INGEST_TOKEN_PASSPHRASE_MIN
                || strlen(optarg) > INGEST_TOKEN_PASSPHRASE_MAX)
            {
                itk_error("--srt-passphrase: %d to %d bytes (an SRT rule)",
                          INGEST_TOKEN_PASSPHRASE_MIN,
                          INGEST_TOKEN_PASSPHRASE_MAX);
                return -1;
            }

            if (itk_copy(cl->srt_passphrase, sizeof(cl->srt_passphrase),
                         optarg, "--srt-passphrase")
                != 0)
            {
                return -1;
            }
            break;

        case ITK_OPT_NOW:
            if (itk_int(optarg, &a->now) != 0 || a->now < 0) {
                itk_error("--now: \"%s\" is not a Unix time", optarg);
                return -1;
            }
            break;

        case ITK_OPT_LEEWAY:
            if (itk_duration(optarg, &a->leeway) != 0) {
                itk_error("--leeway: \"%s\" is not a number of seconds",
                          optarg);
                return -1;
            }
            break;

        case ITK_OPT_PATH:
            a->path = optarg;
            break;

        case ITK_OPT_OUT:
            a->out = optarg;
            break;
        }
    }

    /* times are relative to --now, wherever it was given */

    cl->exp = a->now + ttl;

    if (nbf != NULL) {
        if (strcmp(nbf, "now") == 0) {
            cl->nbf = a->now;

        } else if (nbf[0] == '+' || nbf[0] == '-') {
            if (itk_duration(nbf + 1, &v) != 0 || v > ITK_TTL_MAX) {
                itk_error("--nbf: \"%s\" is not now, +DURATION, -DURATION "
                          "or a Unix time", nbf);
                return -1;
            }

            cl->nbf = (nbf[0] == '+') ? a->now + v : a->now - v;

        } else if (itk_int(nbf, &cl->nbf) != 0) {
            itk_error("--nbf: \"%s\" is not now, +DURATION, -DURATION or a "
                      "Unix time", nbf);
            return -1;
        }

        if (cl->nbf <= 0 || cl->nbf >= cl->exp) {
            itk_error("--nbf must be after 1970 and before exp (now + ttl)");
            return -1;
        }
    }

    return 0;
}


static int
itk_copy(char *dst, size_t cap, const char *src, const char *what)
{
    size_t  n;

    n = strlen(src);

    if (n >= cap) {
        itk_error("%s is longer than %zu bytes", what, cap - 1);
        return -1;
    }

    memcpy(dst, src, n + 1);

    return 0;
}


static int
itk_alg(const char *s, ingest_token_alg_t *alg)
{
    if (strcasecmp(s, "HS256") == 0) {
        *alg = INGEST_TOKEN_HS256;
        return 0;
    }

    if (strcasecmp(s, "EdDSA") == 0 || strcasecmp(s, "Ed25519") == 0) {
        *alg = INGEST_TOKEN_EDDSA;
        return 0;
    }

    return -1;
}


/* "3600", "90s", "30m", "2h", "1d" */

static int
itk_duration(const char *s, int64_t *v)
{
    size_t    n;
    int64_t   mult;
    uint64_t  u;

    n = strlen(s);

    if (n == 0) {
        return -1;
    }

    mult = 1;

    switch (s[n - 1]) {
    case 's':
        n--;
        break;
    case 'm':
        mult = 60;
        n--;
        break;
    case 'h':
        mult = 3600;
        n--;
        break;
    case 'd':
        mult = 86400;
        n--;
        break;
    }

    if (ingest_parse_u64((const unsigned char *) s, n, &u) != 0
        || u > (uint64_t) ITK_TTL_MAX)
    {
        return -1;
    }

    *v = (int64_t) u * mult;

    return 0;
}


/* "1048576", "100K", "500M", "10G", "1T" (powers of 1024) */

static int
itk_size(const char *s, uint64_t *v)
{
    size_t    n;
    uint64_t  u, mult;

    n = strlen(s);

    if (n == 0) {
        return -1;
    }

    mult = 1;

    switch (s[n - 1]) {
    case 'k':
    case 'K':
        mult = 1ULL << 10;
        break;
    case 'm':
    case 'M':
        mult = 1ULL << 20;
        break;
    case 'g':
    case 'G':
        mult = 1ULL << 30;
        break;
    case 't':
    case 'T':
        mult = 1ULL << 40;
        break;
    }

    if (mult != 1) {
        n--;
    }

    if (ingest_parse_u64((const unsigned char *) s, n, &u) != 0
        || u > INGEST_MAX_OFF / mult)
    {
        return -1;
    }

    *v = u * mult;

    return 0;
}


static int
itk_int(const char *s, int64_t *v)
{
    uint64_t  u;

    if (ingest_parse_u64((const unsigned char *) s, strlen(s), &u) != 0) {
        return -1;
    }

    *v = (int64_t) u;

    return 0;
}


static int
itk_read_file(const char *name, unsigned char *buf, size_t cap, size_t *len)
{
    FILE    *f;
    size_t   n;

    f = fopen(name, "rb");
    if (f == NULL) {
        itk_error("%s: %s", name, strerror(errno));
        return -1;
    }

    n = fread(buf, 1, cap, f);

    if (ferror(f)) {
        itk_error("%s: read error", name);
        fclose(f);
        return -1;
    }

    if (n == cap) {
        itk_error("%s: larger than %zu bytes, not a key file", name, cap - 1);
        fclose(f);
        return -1;
    }

    fclose(f);
    *len = n;

    return 0;
}


/* the argument, or a line from stdin for "-"; white space around goes */

static int
itk_read_token(const char *arg, unsigned char *buf, size_t cap, size_t *len)
{
    size_t  n;

    if (strcmp(arg, "-") == 0) {
        n = fread(buf, 1, cap, stdin);

    } else {
        n = strlen(arg);

        if (n <= cap) {
            memcpy(buf, arg, n);
        }
    }

    while (n != 0 && n <= cap
           && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
               || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        n--;
    }

    if (n > INGEST_TOKEN_MAX_LEN) {
        itk_error("the token is longer than %d bytes", INGEST_TOKEN_MAX_LEN);
        return -1;
    }

    if (n == 0) {
        itk_error("empty token");
        return -1;
    }

    *len = n;

    return 0;
}


/* the verification key; an EdDSA private key file is also taken */

static int
itk_public_key(const itk_args_t *a, unsigned char *key, size_t *len)
{
    int             rc;
    size_t          n;
    EVP_PKEY       *pkey;
    unsigned char   data[ITK_KEY_FILE_MAX], priv[32];

    if (itk_read_file(a->key_file, data, sizeof(data), &n) != 0) {
        return -1;
    }

    rc = ingest_token_parse_key_file(a->alg, data, n, key, len);

    if (rc != 0 && a->alg == INGEST_TOKEN_EDDSA
        && ingest_token_parse_private_key_file(a->alg, data, n, priv, &n)
           == 0)
    {
        pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
        *len = INGEST_TOKEN_KEY_MAX;

        rc = (pkey != NULL && EVP_PKEY_get_raw_public_key(pkey, key, len) == 1)
             ? 0 : -1;

        EVP_PKEY_free(pkey);
        OPENSSL_cleanse(priv, sizeof(priv));
        ERR_clear_error();
    }

    OPENSSL_cleanse(data, sizeof(data));

    if (rc != 0) {
        if (a->alg == INGEST_TOKEN_EDDSA) {
            itk_error("%s: not an Ed25519 key in PEM", a->key_file);
        } else {
            itk_error("%s: not an HS256 secret of 32 to %d bytes "
                      "(raw, \"hex:...\" or \"base64:...\"; not PEM)",
                      a->key_file, INGEST_TOKEN_KEY_MAX);
        }
    }

    return rc;
}


/* a new file only: keys are never overwritten */

static int
itk_write_file(const char *name, const void *data, size_t len, mode_t mode)
{
    int      fd;
    ssize_t  n;

    fd = open(name, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd == -1) {
        itk_error("%s: %s", name, strerror(errno));
        return -1;
    }

    /* the mode exactly, whatever the umask */

    if (fchmod(fd, mode) != 0) {
        itk_error("%s: fchmod: %s", name, strerror(errno));
        close(fd);
        (void) unlink(name);
        return -1;
    }

    n = write(fd, data, len);

    if (n != (ssize_t) len || fsync(fd) != 0) {
        itk_error("%s: write failed", name);
        close(fd);
        (void) unlink(name);
        return -1;
    }

    if (close(fd) != 0) {
        itk_error("%s: close: %s", name, strerror(errno));
        (void) unlink(name);
        return -1;
    }

    return 0;
}


/* decoded JSON as it is; control characters escaped so the output stays
 * one line of text even for a hostile token */

static void
itk_print_json(const unsigned char *p, size_t len)
{
    size_t  i;

    if (len == 0) {
        printf("null");
        return;
    }

    for (i = 0; i < len; i++) {
        if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') {
            putchar(' ');

        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            printf("\\u%04x", p[i]);

        } else {
            putchar(p[i]);
        }
    }
}


static void
itk_print_claims(const ingest_token_claims_t *c, int64_t now)
{
    size_t  i;

    printf("kid=%s alg=%s sub=%s exp=%lld (in %llds)", c->kid,
           c->alg == INGEST_TOKEN_EDDSA ? "EdDSA" : "HS256", c->sub,
           (long long) c->exp, (long long) (c->exp - now));

    for (i = 0; i < c->naud; i++) {
        printf(" aud=%s", c->aud[i]);
    }

    if (c->scope[0] != '\0') {
        printf(" scope=%s", c->scope);
    }

    if (c->max_size != 0) {
        printf(" max_size=%llu", (unsigned long long) c->max_size);
    }

    for (i = 0; i < c->ntypes; i++) {
        printf(" type=%s", c->types[i]);
    }

    if (c->jti[0] != '\0') {
        printf(" jti=%s", c->jti);
    }

    /* a secret: its length only */

    if (c->srt_passphrase[0] != '\0') {
        printf(" srt_passphrase=(%zu bytes)", strlen(c->srt_passphrase));
    }

    printf("\n");
}


static void
itk_error(const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "ingest-token: ");

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fprintf(stderr, "\n");
}


static void
itk_usage(FILE *f)
{
    fprintf(f,
"usage:\n"
"  ingest-token mint --kid K --alg HS256|EdDSA --key FILE --sub S\n"
"                    [--aud upload|hls|srt ...] [--scope PATH]\n"
"                    [--ttl 30m|3600] [--nbf now|+5m|-30s|UNIXTIME]\n"
"                    [--max-size 10G] [--type video/mp4 ...]\n"
"                    [--jti auto|ID] [--srt-passphrase P]\n"
"                    [--now UNIXTIME]\n"
"      prints a token; --key is the HS256 secret or the Ed25519 private\n"
"      key (PEM); --ttl defaults to 30m; --srt-passphrase: the SRT\n"
"      listener's passphrase for this publisher (10 to 79 bytes)\n"
"  ingest-token inspect TOKEN|-\n"
"      prints header and claims as JSON, WITHOUT checking the signature\n"
"  ingest-token verify --kid K --alg HS256|EdDSA --key FILE [--aud X]\n"
"                    [--leeway 30] [--path P] [--type T] [--now UNIXTIME]\n"
"                    TOKEN|-\n"
"      checks a token as nginx does; exit 0 valid, 1 invalid (reason on\n"
"      stderr), 2 usage; --key is the HS256 secret or the Ed25519 public\n"
"      (or private) key\n"
"  ingest-token genkey --alg HS256|EdDSA --out PREFIX\n"
"      writes PREFIX.key (mode 0600) and for EdDSA PREFIX.pub\n");
}
