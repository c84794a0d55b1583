
/*
 * Copyright (C) nginx video ingest developers
 *
 * SRT stream ids (SRTO_STREAMID, at most 512 bytes) as sent by
 * publishers, in two forms:
 *
 *   the SRT Access Control syntax
 *       #!::r=<resource>,m=publish,t=<token>,u=<user>,s=<session>,h=<host>
 *   a plain form
 *       <stream>[?token=<token>[&<key>=<value>...]]
 *
 * either one verbatim or percent-encoded as a whole, as ffmpeg 5.1 sends
 * the "streamid" of an srt:// URL without decoding it
 * ("%23%21%3A%3Ar%3Dlive%2Cm%3Dpublish...").
 *
 * Keys of the Access Control syntax are those of the SRT spec (r, m, u,
 * s, h, t) with one project rule: "t" carries the token. The spec's own
 * values of "t" (a type) are recognized: "stream" means no token, "file"
 * and "auth" are refused (SRT_REJX_NOTSUP_MEDIA). Unknown keys are kept
 * (INGEST_STREAMID_MAX_EXTRA of them) and otherwise ignored; a key given
 * twice is refused. The nested "#!:{...}" syntax is not supported.
 *
 * The parser only checks syntax; the decisions that need local state
 * (token verification, a stream already live, a mode this listener does
 * not serve) are made by the glue, and every outcome is one code of
 * ingest_streamid_rc_t that one table maps to an SRT_REJX_* reason.
 */


#ifndef _INGEST_STREAMID_H_INCLUDED_
#define _INGEST_STREAMID_H_INCLUDED_


#include "ingest_core.h"
#include "ingest_token.h"


/* SRT's limit for SRTO_STREAMID */
#define INGEST_STREAMID_MAX_LEN     512

/* longest stream (resource) name */
#define INGEST_STREAMID_NAME_MAX    255

/* unknown keys kept, and pairs at all */
#define INGEST_STREAMID_MAX_EXTRA   16
#define INGEST_STREAMID_MAX_PAIRS   32


/*
 * Rejection reasons of libsrt's access_control.h (SRT_REJC_PREDEFINED
 * + HTTP-like code), for srt_setrejectreason(); the same values whether
 * or not that header is included too.
 */
#ifndef SRT_REJX_BAD_REQUEST
#define SRT_REJX_BAD_REQUEST        1400
#endif
#ifndef SRT_REJX_UNAUTHORIZED
#define SRT_REJX_UNAUTHORIZED       1401
#endif
#ifndef SRT_REJX_OVERLOAD
#define SRT_REJX_OVERLOAD           1402
#endif
#ifndef SRT_REJX_FORBIDDEN
#define SRT_REJX_FORBIDDEN          1403
#endif
#ifndef SRT_REJX_NOTFOUND
#define SRT_REJX_NOTFOUND           1404
#endif
#ifndef SRT_REJX_BAD_MODE
#define SRT_REJX_BAD_MODE           1405
#endif
#ifndef SRT_REJX_CONFLICT
#define SRT_REJX_CONFLICT           1409
#endif
#ifndef SRT_REJX_NOTSUP_MEDIA
#define SRT_REJX_NOTSUP_MEDIA       1415
#endif
#ifndef SRT_REJX_ISE
#define SRT_REJX_ISE                1500
#endif


typedef enum {
    INGEST_STREAMID_OK = 0,

    /* made by the parser */
    INGEST_STREAMID_EMPTY,            /* 1400 no stream id at all */
    INGEST_STREAMID_TOO_LONG,         /* 1400 above 512 bytes */
    INGEST_STREAMID_BAD_ENCODING,     /* 1400 bad %xx, control bytes */
    INGEST_STREAMID_BAD_SYNTAX,       /* 1400 pair without "=", empty key
                                         or pair, bad plain query */
    INGEST_STREAMID_UNSUPPORTED,      /* 1400 "#!:{...}" or another
                                         "#!" syntax */
    INGEST_STREAMID_DUPLICATE_KEY,    /* 1400 */
    INGEST_STREAMID_TOO_MANY_KEYS,    /* 1400 */
    INGEST_STREAMID_NO_RESOURCE,      /* 1400 r missing or empty */
    INGEST_STREAMID_BAD_RESOURCE,     /* 1400 length, characters, ".." */
    INGEST_STREAMID_BAD_MODE_VALUE,   /* 1400 m not request, publish or
                                         bidirectional */
    INGEST_STREAMID_BAD_VALUE,        /* 1400 u, s or h with bytes that
                                         are not allowed */
    INGEST_STREAMID_BAD_TOKEN,        /* 1401 token with characters no
                                         token has */
    INGEST_STREAMID_BAD_TYPE,         /* 1415 t=file or t=auth */

    /* made by the glue, from local state */
    INGEST_STREAMID_NO_TOKEN,         /* 1401 a token is required */
    INGEST_STREAMID_TOKEN_INVALID,    /* 1401 signature, kid, syntax */
    INGEST_STREAMID_TOKEN_EXPIRED,    /* 1401 expired or not yet valid */
    INGEST_STREAMID_FORBIDDEN,        /* 1403 audience, scope, revoked */
    INGEST_STREAMID_NOT_FOUND,        /* 1404 no such stream/application */
    INGEST_STREAMID_BAD_MODE,         /* 1405 mode not offered here */
    INGEST_STREAMID_CONFLICT,         /* 1409 stream already published */
    INGEST_STREAMID_OVERLOAD,         /* 1402 too many streams */
    INGEST_STREAMID_INTERNAL,         /* 1500 */

    INGEST_STREAMID_RC_LAST
} ingest_streamid_rc_t;


typedef enum {
    INGEST_STREAMID_MODE_NONE = 0,    /* no "m" (the plain form never has
                                         one); the spec's default is
                                         request */
    INGEST_STREAMID_MODE_REQUEST = 1,
    INGEST_STREAMID_MODE_PUBLISH = 2,
    INGEST_STREAMID_MODE_BIDIRECTIONAL = 4
} ingest_streamid_mode_t;


typedef enum {
    INGEST_STREAMID_PLAIN = 1,
    INGEST_STREAMID_KEYED             /* "#!::" */
} ingest_streamid_form_t;


/*
 * A parsed stream id. Every string (keys too) points into buf, a
 * decoded copy of the stream id, and is NUL-terminated there; data is
 * NULL for a key that is absent.
 */
typedef struct {
    ingest_streamid_form_t   form;
    ingest_streamid_mode_t   mode;
    unsigned                 percent_encoded:1;   /* decoded as a whole */

    ingest_str_t             resource;     /* r, or the plain stream */
    ingest_str_t             token;        /* t, or ?token= ("" absent) */
    ingest_str_t             user;         /* u */
    ingest_str_t             session;      /* s */
    ingest_str_t             host;         /* h */

    size_t                   nextra;       /* unknown keys, in order */
    ingest_str_t             extra_key[INGEST_STREAMID_MAX_EXTRA];
    ingest_str_t             extra_value[INGEST_STREAMID_MAX_EXTRA];

    unsigned char            buf[INGEST_STREAMID_MAX_LEN + 1];
} ingest_streamid_t;


/*
 * Parses p/len into sid. A token that is absent or empty leaves
 * sid->token.data NULL; deciding that one is required is the glue's.
 * On error the contents of sid are unspecified.
 */
ingest_streamid_rc_t ingest_streamid_parse(const unsigned char *p,
    size_t len, ingest_streamid_t *sid);

/*
 * A stream name: 1 to INGEST_STREAMID_NAME_MAX bytes of [A-Za-z0-9._-/],
 * made of non-empty "/"-separated segments none of which starts with
 * "." (so no "..", no hidden files, no absolute path). Returns 1 or 0.
 */
int ingest_streamid_name_valid(const unsigned char *p, size_t len);

/*
 * The mode check of a listener serving the modes in "allowed" (a mask
 * of ingest_streamid_mode_t); a stream id without "m" counts as
 * "absent" (PUBLISH for a publish-only listener, as encoders seldom
 * send m=). Returns OK or BAD_MODE.
 */
ingest_streamid_rc_t ingest_streamid_check_mode(const ingest_streamid_t *sid,
    unsigned allowed, ingest_streamid_mode_t absent);

/* the outcome of verifying the token with ingest_token_verify() */
ingest_streamid_rc_t ingest_streamid_token_rc(ingest_token_rc_t rc);

/* SRT_REJX_* reject reason for a code (0 for OK) */
int ingest_streamid_srt_reject(ingest_streamid_rc_t rc);

/* human readable reason, a static NUL-terminated string */
const char *ingest_streamid_reason(ingest_streamid_rc_t rc);

/* "request", "publish", "bidirectional" or "" */
const char *ingest_streamid_mode_name(ingest_streamid_mode_t mode);


#endif /* _INGEST_STREAMID_H_INCLUDED_ */
