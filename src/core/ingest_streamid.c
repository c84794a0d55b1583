
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_streamid.h"

#include <string.h>


static ingest_streamid_rc_t ingest_streamid_keyed(ingest_streamid_t *sid,
    unsigned char *p, unsigned char *end, int decode);
static ingest_streamid_rc_t ingest_streamid_plain(ingest_streamid_t *sid,
    unsigned char *p, unsigned char *end);
static ingest_streamid_rc_t ingest_streamid_pair(ingest_streamid_t *sid,
    ingest_str_t *key, ingest_str_t *value);
static ingest_streamid_rc_t ingest_streamid_set(ingest_str_t *str,
    ingest_str_t *value);
static ssize_t ingest_streamid_unescape(unsigned char *dst,
    const unsigned char *src, size_t len);
static int ingest_streamid_hex(unsigned c);
static int ingest_streamid_value_valid(const ingest_str_t *v);
static int ingest_streamid_token_valid(const ingest_str_t *v);
static int ingest_streamid_key_valid(const ingest_str_t *k);
static int ingest_streamid_is(const ingest_str_t *s, const char *lit);


static const int  ingest_streamid_rejx[INGEST_STREAMID_RC_LAST] = {
    [INGEST_STREAMID_OK] = 0,
    [INGEST_STREAMID_EMPTY] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_TOO_LONG] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_BAD_ENCODING] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_BAD_SYNTAX] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_UNSUPPORTED] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_DUPLICATE_KEY] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_TOO_MANY_KEYS] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_NO_RESOURCE] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_BAD_RESOURCE] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_BAD_MODE_VALUE] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_BAD_VALUE] = SRT_REJX_BAD_REQUEST,
    [INGEST_STREAMID_BAD_TOKEN] = SRT_REJX_UNAUTHORIZED,
    [INGEST_STREAMID_BAD_TYPE] = SRT_REJX_NOTSUP_MEDIA,
    [INGEST_STREAMID_NO_TOKEN] = SRT_REJX_UNAUTHORIZED,
    [INGEST_STREAMID_TOKEN_INVALID] = SRT_REJX_UNAUTHORIZED,
    [INGEST_STREAMID_TOKEN_EXPIRED] = SRT_REJX_UNAUTHORIZED,
    [INGEST_STREAMID_FORBIDDEN] = SRT_REJX_FORBIDDEN,
    [INGEST_STREAMID_NOT_FOUND] = SRT_REJX_NOTFOUND,
    [INGEST_STREAMID_BAD_MODE] = SRT_REJX_BAD_MODE,
    [INGEST_STREAMID_CONFLICT] = SRT_REJX_CONFLICT,
    [INGEST_STREAMID_OVERLOAD] = SRT_REJX_OVERLOAD,
    [INGEST_STREAMID_INTERNAL] = SRT_REJX_ISE
};


static const char  *ingest_streamid_reasons[INGEST_STREAMID_RC_LAST] = {
    [INGEST_STREAMID_OK] = "ok",
    [INGEST_STREAMID_EMPTY] = "empty stream id",
    [INGEST_STREAMID_TOO_LONG] = "stream id longer than 512 bytes",
    [INGEST_STREAMID_BAD_ENCODING] =
        "stream id has a bad percent escape or a control character",
    [INGEST_STREAMID_BAD_SYNTAX] = "stream id is malformed",
    [INGEST_STREAMID_UNSUPPORTED] =
        "stream id syntax is not supported (only \"#!::\" and plain)",
    [INGEST_STREAMID_DUPLICATE_KEY] = "stream id repeats a key",
    [INGEST_STREAMID_TOO_MANY_KEYS] = "stream id has too many keys",
    [INGEST_STREAMID_NO_RESOURCE] = "stream id names no stream",
    [INGEST_STREAMID_BAD_RESOURCE] = "stream name is not valid",
    [INGEST_STREAMID_BAD_MODE_VALUE] =
        "m must be request, publish or bidirectional",
    [INGEST_STREAMID_BAD_VALUE] = "stream id value has bad characters",
    [INGEST_STREAMID_BAD_TOKEN] = "token has bad characters",
    [INGEST_STREAMID_BAD_TYPE] = "connection type t=file/auth not supported",
    [INGEST_STREAMID_NO_TOKEN] = "token required",
    [INGEST_STREAMID_TOKEN_INVALID] = "token is not valid",
    [INGEST_STREAMID_TOKEN_EXPIRED] = "token expired or not yet valid",
    [INGEST_STREAMID_FORBIDDEN] = "token does not allow this stream",
    [INGEST_STREAMID_NOT_FOUND] = "stream not found",
    [INGEST_STREAMID_BAD_MODE] = "mode not offered by this listener",
    [INGEST_STREAMID_CONFLICT] = "stream is already being published",
    [INGEST_STREAMID_OVERLOAD] = "too many streams",
    [INGEST_STREAMID_INTERNAL] = "internal error"
};


int
ingest_streamid_srt_reject(ingest_streamid_rc_t rc)
{
    if ((unsigned) rc >= INGEST_STREAMID_RC_LAST) {
        return SRT_REJX_ISE;
    }

    return ingest_streamid_rejx[rc];
}


const char *
ingest_streamid_reason(ingest_streamid_rc_t rc)
{
    if ((unsigned) rc >= INGEST_STREAMID_RC_LAST) {
        return "internal error";
    }

    return ingest_streamid_reasons[rc];
}


const char *
ingest_streamid_mode_name(ingest_streamid_mode_t mode)
{
    switch (mode) {

    case INGEST_STREAMID_MODE_REQUEST:
        return "request";

    case INGEST_STREAMID_MODE_PUBLISH:
        return "publish";

    case INGEST_STREAMID_MODE_BIDIRECTIONAL:
        return "bidirectional";

    default:
        return "";
    }
}


ingest_streamid_rc_t
ingest_streamid_parse(const unsigned char *p, size_t len,
    ingest_streamid_t *sid)
{
    size_t          i;
    ssize_t         n;
    unsigned char  *b;

    if (p == NULL || len == 0) {
        return INGEST_STREAMID_EMPTY;
    }

    if (len > INGEST_STREAMID_MAX_LEN) {
        return INGEST_STREAMID_TOO_LONG;
    }

    memset(sid, 0, sizeof(ingest_streamid_t) - sizeof(sid->buf));

    b = sid->buf;

    /*
     * "#!" verbatim: the pairs are split first and each value is
     * unescaped on its own, so an escaped "," or "=" stays in its value.
     * Anything else with a "%" was percent-encoded as a whole (ffmpeg
     * 5.1): no valid verbatim plain stream id has a "%".
     */

    if (len >= 2 && p[0] == '#' && p[1] == '!') {
        memcpy(b, p, len);
        n = len;

    } else if (memchr(p, '%', len) != NULL) {
        n = ingest_streamid_unescape(b, p, len);
        if (n <= 0) {
            return INGEST_STREAMID_BAD_ENCODING;
        }

        sid->percent_encoded = 1;

    } else {
        memcpy(b, p, len);
        n = len;
    }

    b[n] = '\0';

    for (i = 0; i < (size_t) n; i++) {
        if (b[i] < 0x20 || b[i] == 0x7f) {
            return INGEST_STREAMID_BAD_ENCODING;
        }
    }

    if (n >= 2 && b[0] == '#' && b[1] == '!') {
        if (n < 4 || b[2] != ':' || b[3] != ':') {
            return INGEST_STREAMID_UNSUPPORTED;
        }

        sid->form = INGEST_STREAMID_KEYED;

        return ingest_streamid_keyed(sid, b + 4, b + n,
                                     !sid->percent_encoded);
    }

    sid->form = INGEST_STREAMID_PLAIN;

    return ingest_streamid_plain(sid, b, b + n);
}


static ingest_streamid_rc_t
ingest_streamid_keyed(ingest_streamid_t *sid, unsigned char *p,
    unsigned char *end, int decode)
{
    size_t                 i, npairs;
    ssize_t                n;
    ingest_str_t           key, value;
    unsigned char         *comma, *eq;
    ingest_str_t           keys[INGEST_STREAMID_MAX_PAIRS];
    ingest_streamid_rc_t   rc;

    npairs = 0;

    for ( ;; ) {
        comma = memchr(p, ',', end - p);
        if (comma == NULL) {
            comma = end;
        }

        eq = memchr(p, '=', comma - p);
        if (eq == NULL) {
            return INGEST_STREAMID_BAD_SYNTAX;
        }

        key.data = p;
        key.len = eq - p;

        if (!ingest_streamid_key_valid(&key)) {
            return INGEST_STREAMID_BAD_SYNTAX;
        }

        for (i = 0; i < npairs; i++) {
            if (keys[i].len == key.len
                && memcmp(keys[i].data, key.data, key.len) == 0)
            {
                return INGEST_STREAMID_DUPLICATE_KEY;
            }
        }

        if (npairs == INGEST_STREAMID_MAX_PAIRS) {
            return INGEST_STREAMID_TOO_MANY_KEYS;
        }

        keys[npairs++] = key;

        value.data = eq + 1;
        value.len = comma - (eq + 1);

        if (decode && memchr(value.data, '%', value.len) != NULL) {
            n = ingest_streamid_unescape(eq + 1, value.data, value.len);
            if (n < 0) {
                return INGEST_STREAMID_BAD_ENCODING;
            }

            value.len = n;

            for (i = 0; i < value.len; i++) {
                if (value.data[i] < 0x20 || value.data[i] == 0x7f) {
                    return INGEST_STREAMID_BAD_ENCODING;
                }
            }
        }

        /* the separator (or the final NUL) ends the value as a string */
        eq[1 + value.len] = '\0';
        *eq = '\0';

        rc = ingest_streamid_pair(sid, &key, &value);
        if (rc != INGEST_STREAMID_OK) {
            return rc;
        }

        if (comma == end) {
            break;
        }

        p = comma + 1;
    }

    if (sid->resource.data == NULL || sid->resource.len == 0) {
        return INGEST_STREAMID_NO_RESOURCE;
    }

    return INGEST_STREAMID_OK;
}


static ingest_streamid_rc_t
ingest_streamid_pair(ingest_streamid_t *sid, ingest_str_t *key,
    ingest_str_t *value)
{
    unsigned char  k;

    if (key->len != 1) {
        goto extra;
    }

    k = key->data[0];

    switch (k) {

    case 'r':
        if (value->len == 0) {
            return INGEST_STREAMID_NO_RESOURCE;
        }

        if (!ingest_streamid_name_valid(value->data, value->len)) {
            return INGEST_STREAMID_BAD_RESOURCE;
        }

        sid->resource = *value;
        return INGEST_STREAMID_OK;

    case 'm':
        if (ingest_streamid_is(value, "publish")) {
            sid->mode = INGEST_STREAMID_MODE_PUBLISH;

        } else if (ingest_streamid_is(value, "request")) {
            sid->mode = INGEST_STREAMID_MODE_REQUEST;

        } else if (ingest_streamid_is(value, "bidirectional")) {
            sid->mode = INGEST_STREAMID_MODE_BIDIRECTIONAL;

        } else {
            return INGEST_STREAMID_BAD_MODE_VALUE;
        }

        return INGEST_STREAMID_OK;

    case 't':
        /* the SRT spec's connection types: never a token */

        if (ingest_streamid_is(value, "stream")) {
            return INGEST_STREAMID_OK;
        }

        if (ingest_streamid_is(value, "file")
            || ingest_streamid_is(value, "auth"))
        {
            return INGEST_STREAMID_BAD_TYPE;
        }

        if (value->len == 0) {
            return INGEST_STREAMID_OK;
        }

        if (!ingest_streamid_token_valid(value)) {
            return INGEST_STREAMID_BAD_TOKEN;
        }

        sid->token = *value;
        return INGEST_STREAMID_OK;

    case 'u':
        return ingest_streamid_set(&sid->user, value);

    case 's':
        return ingest_streamid_set(&sid->session, value);

    case 'h':
        return ingest_streamid_set(&sid->host, value);

    default:
        break;
    }

extra:

    if (!ingest_streamid_value_valid(value)) {
        return INGEST_STREAMID_BAD_VALUE;
    }

    if (sid->nextra == INGEST_STREAMID_MAX_EXTRA) {
        return INGEST_STREAMID_TOO_MANY_KEYS;
    }

    sid->extra_key[sid->nextra] = *key;
    sid->extra_value[sid->nextra] = *value;
    sid->nextra++;

    return INGEST_STREAMID_OK;
}


static ingest_streamid_rc_t
ingest_streamid_set(ingest_str_t *str, ingest_str_t *value)
{
    if (!ingest_streamid_value_valid(value)) {
        return INGEST_STREAMID_BAD_VALUE;
    }

    *str = *value;

    return INGEST_STREAMID_OK;
}


static ingest_streamid_rc_t
ingest_streamid_plain(ingest_streamid_t *sid, unsigned char *p,
    unsigned char *end)
{
    size_t          i;
    ingest_str_t    key, value;
    unsigned char  *q, *amp, *eq;

    q = memchr(p, '?', end - p);
    if (q == NULL) {
        q = end;
    }

    if (q == p) {
        return INGEST_STREAMID_NO_RESOURCE;
    }

    if (!ingest_streamid_name_valid(p, q - p)) {
        return INGEST_STREAMID_BAD_RESOURCE;
    }

    sid->resource.data = p;
    sid->resource.len = q - p;

    if (q == end) {
        return INGEST_STREAMID_OK;
    }

    *q = '\0';
    p = q + 1;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        if (eq == NULL || eq == p) {
            return INGEST_STREAMID_BAD_SYNTAX;
        }

        key.data = p;
        key.len = eq - p;
        value.data = eq + 1;
        value.len = amp - (eq + 1);

        *amp = '\0';
        *eq = '\0';

        if (!ingest_streamid_key_valid(&key)) {
            return INGEST_STREAMID_BAD_SYNTAX;
        }

        for (i = 0; i < sid->nextra; i++) {
            if (sid->extra_key[i].len == key.len
                && memcmp(sid->extra_key[i].data, key.data, key.len) == 0)
            {
                return INGEST_STREAMID_DUPLICATE_KEY;
            }
        }

        if (ingest_streamid_is(&key, "token")) {
            if (sid->token.data != NULL) {
                return INGEST_STREAMID_DUPLICATE_KEY;
            }

            if (!ingest_streamid_token_valid(&value)) {
                return INGEST_STREAMID_BAD_TOKEN;
            }

            /* an empty token is kept as a present key for duplicates */
            sid->token = value;

        } else {
            if (!ingest_streamid_value_valid(&value)) {
                return INGEST_STREAMID_BAD_VALUE;
            }

            if (sid->nextra == INGEST_STREAMID_MAX_EXTRA) {
                return INGEST_STREAMID_TOO_MANY_KEYS;
            }

            sid->extra_key[sid->nextra] = key;
            sid->extra_value[sid->nextra] = value;
            sid->nextra++;
        }

        if (amp == end) {
            break;
        }

        p = amp + 1;

        if (p == end) {
            /* a trailing "&" */
            return INGEST_STREAMID_BAD_SYNTAX;
        }
    }

    if (sid->token.data != NULL && sid->token.len == 0) {
        sid->token.data = NULL;
    }

    return INGEST_STREAMID_OK;
}


int
ingest_streamid_name_valid(const unsigned char *p, size_t len)
{
    size_t    i;
    unsigned  c, prev;

    if (p == NULL || len == 0 || len > INGEST_STREAMID_NAME_MAX) {
        return 0;
    }

    prev = '/';

    for (i = 0; i < len; i++) {
        c = p[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-')
        {
            prev = c;
            continue;
        }

        if (c == '.') {
            /* a segment starting with ".": ".", "..", ".hidden" */
            if (prev == '/') {
                return 0;
            }

            prev = c;
            continue;
        }

        if (c == '/') {
            /* leading "/" or an empty segment */
            if (prev == '/') {
                return 0;
            }

            prev = c;
            continue;
        }

        return 0;
    }

    /* trailing "/" */
    if (prev == '/') {
        return 0;
    }

    /* ".." anywhere, as in "a..b", also goes */
    for (i = 0; i + 1 < len; i++) {
        if (p[i] == '.' && p[i + 1] == '.') {
            return 0;
        }
    }

    return 1;
}


ingest_streamid_rc_t
ingest_streamid_check_mode(const ingest_streamid_t *sid, unsigned allowed,
    ingest_streamid_mode_t absent)
{
    ingest_streamid_mode_t  mode;

    mode = sid->mode;

    if (mode == INGEST_STREAMID_MODE_NONE) {
        mode = absent;
    }

    if (mode == INGEST_STREAMID_MODE_NONE || (allowed & mode) == 0) {
        return INGEST_STREAMID_BAD_MODE;
    }

    return INGEST_STREAMID_OK;
}


ingest_streamid_rc_t
ingest_streamid_token_rc(ingest_token_rc_t rc)
{
    switch (rc) {

    case INGEST_TOKEN_OK:
        return INGEST_STREAMID_OK;

    case INGEST_TOKEN_EXPIRED:
    case INGEST_TOKEN_NOT_YET_VALID:
        return INGEST_STREAMID_TOKEN_EXPIRED;

    case INGEST_TOKEN_WRONG_AUDIENCE:
    case INGEST_TOKEN_SCOPE:
    case INGEST_TOKEN_REVOKED:
        return INGEST_STREAMID_FORBIDDEN;

    default:
        return INGEST_STREAMID_TOKEN_INVALID;
    }
}


/*
 * RFC 3986 percent-decoding ("+" stays "+"): dst may be src. Returns the
 * decoded length, or -1 for a "%" without two hex digits or a NUL.
 */

static ssize_t
ingest_streamid_unescape(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] != '%') {
            dst[n++] = src[i];
            continue;
        }

        if (len - i < 3) {
            return -1;
        }

        hi = ingest_streamid_hex(src[i + 1]);
        lo = ingest_streamid_hex(src[i + 2]);

        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return -1;
        }

        dst[n++] = (unsigned char) (hi << 4 | lo);
        i += 2;
    }

    return n;
}


static int
ingest_streamid_hex(unsigned c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* u, s, h and unknown values: printable, UTF-8 bytes, no space */

static int
ingest_streamid_value_valid(const ingest_str_t *v)
{
    size_t  i;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] <= 0x20 || v->data[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* JWS compact serialization and base64 / base64url secrets */

static int
ingest_streamid_token_valid(const ingest_str_t *v)
{
    size_t    i;
    unsigned  c;

    for (i = 0; i < v->len; i++) {
        c = v->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
            || c == '~' || c == '+' || c == '/' || c == '=')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/* keys: [A-Za-z0-9_-]+, as "r", "user_x", "companyname_y" */

static int
ingest_streamid_key_valid(const ingest_str_t *k)
{
    size_t    i;
    unsigned  c;

    if (k->len == 0) {
        return 0;
    }

    for (i = 0; i < k->len; i++) {
        c = k->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


static int
ingest_streamid_is(const ingest_str_t *s, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    return s->len == n && memcmp(s->data, lit, n) == 0;
}
