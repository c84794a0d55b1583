
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_streamid.h"
#include "test.h"


static ingest_streamid_rc_t parse(const char *s, ingest_streamid_t *sid);
static ingest_streamid_rc_t parse_len(const void *s, size_t len,
    ingest_streamid_t *sid);
static size_t encode(const char *s, char *out, int lower);
static int str_is(const ingest_str_t *v, const char *s);
static void test_keyed(void);
static void test_keyed_escapes(void);
static void test_percent_encoded(void);
static void test_plain(void);
static void test_lengths(void);
static void test_rejects(void);
static void test_names(void);
static void test_mode(void);
static void test_codes(void);
static void test_random(void);
static void test_streamid(void);


static ingest_streamid_t  sid;


static ingest_streamid_rc_t
parse(const char *s, ingest_streamid_t *out)
{
    return parse_len(s, strlen(s), out);
}


static ingest_streamid_rc_t
parse_len(const void *s, size_t len, ingest_streamid_t *out)
{
    unsigned char         *p;
    ingest_streamid_rc_t   rc;

    p = test_dup(s, len);
    rc = ingest_streamid_parse(p, len, out);
    free(p);

    return rc;
}


/* percent-encodes everything but [A-Za-z0-9._-~], as URL encoders do */

static size_t
encode(const char *s, char *out, int lower)
{
    size_t       n;
    const char  *hex;

    hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";

    for (n = 0; *s != '\0'; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
            || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_'
            || *s == '-' || *s == '~')
        {
            out[n++] = *s;
            continue;
        }

        out[n++] = '%';
        out[n++] = hex[(unsigned char) *s >> 4];
        out[n++] = hex[(unsigned char) *s & 0x0f];
    }

    out[n] = '\0';

    return n;
}


/* equal, and NUL-terminated in the buffer */

static int
str_is(const ingest_str_t *v, const char *s)
{
    size_t  n;

    n = strlen(s);

    return v->data != NULL && v->len == n && memcmp(v->data, s, n) == 0
           && v->data[n] == '\0';
}


static void
test_keyed(void)
{
    CHECK_INT(parse("#!::r=live/cam1,m=publish,t=aaa.bbb.ccc,u=alice,"
                    "s=sess-1,h=example.com", &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.form, INGEST_STREAMID_KEYED);
    CHECK_INT(sid.percent_encoded, 0);
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_PUBLISH);
    CHECK(str_is(&sid.resource, "live/cam1"));
    CHECK(str_is(&sid.token, "aaa.bbb.ccc"));
    CHECK(str_is(&sid.user, "alice"));
    CHECK(str_is(&sid.session, "sess-1"));
    CHECK(str_is(&sid.host, "example.com"));
    CHECK_INT(sid.nextra, 0);

    /* any order; the spec's examples */

    CHECK_INT(parse("#!::t=x.y.z,m=request,r=cam", &sid),
              INGEST_STREAMID_OK);
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_REQUEST);
    CHECK(str_is(&sid.resource, "cam"));
    CHECK(str_is(&sid.token, "x.y.z"));
    CHECK(sid.user.data == NULL);
    CHECK(sid.session.data == NULL);
    CHECK(sid.host.data == NULL);

    CHECK_INT(parse("#!::u=admin,r=bluesbrothers1_hi", &sid),
              INGEST_STREAMID_OK);
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_NONE);
    CHECK(sid.token.data == NULL);
    CHECK(str_is(&sid.user, "admin"));

    CHECK_INT(parse("#!::r=cam,m=bidirectional", &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_BIDIRECTIONAL);

    /* unknown keys are kept, in order */

    CHECK_INT(parse("#!::r=cam,user_x=1,acme_region=eu-west,m=publish",
                    &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.nextra, 2);
    CHECK(str_is(&sid.extra_key[0], "user_x"));
    CHECK(str_is(&sid.extra_value[0], "1"));
    CHECK(str_is(&sid.extra_key[1], "acme_region"));
    CHECK(str_is(&sid.extra_value[1], "eu-west"));
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_PUBLISH);

    /* t as the spec's type: "stream" is no token */

    CHECK_INT(parse("#!::r=cam,t=stream,m=publish", &sid),
              INGEST_STREAMID_OK);
    CHECK(sid.token.data == NULL);

    /* an empty t is no token, an empty u is an empty user */

    CHECK_INT(parse("#!::r=cam,t=,u=", &sid), INGEST_STREAMID_OK);
    CHECK(sid.token.data == NULL);
    CHECK(str_is(&sid.user, ""));

    /* values may hold "=" (base64 padding) and UTF-8 */

    CHECK_INT(parse("#!::r=cam,t=YWJj==,u=j\xc3\xb6rg", &sid),
              INGEST_STREAMID_OK);
    CHECK(str_is(&sid.token, "YWJj=="));
    CHECK(str_is(&sid.user, "j\xc3\xb6rg"));

    /* a real JWT */

    CHECK_INT(parse("#!::r=live/s1,m=publish,t=eyJhbGciOiJIUzI1NiIsImtpZC"
                    "I6ImsxIn0.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
                    &sid), INGEST_STREAMID_OK);
    CHECK(str_is(&sid.token, "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0"
                 ".eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"));
}


/* "#!::" verbatim: values are unescaped one by one */

static void
test_keyed_escapes(void)
{
    CHECK_INT(parse("#!::r=live%2Fcam1,u=a%2Cb%3Dc,m=publish", &sid),
              INGEST_STREAMID_OK);
    CHECK_INT(sid.percent_encoded, 0);
    CHECK(str_is(&sid.resource, "live/cam1"));
    CHECK(str_is(&sid.user, "a,b=c"));
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_PUBLISH);

    /* an escaped "," cannot smuggle a key in */

    CHECK_INT(parse("#!::r=cam,u=x%2Cm%3Dpublish", &sid),
              INGEST_STREAMID_OK);
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_NONE);
    CHECK(str_is(&sid.user, "x,m=publish"));

    CHECK_INT(parse("#!::r=cam,u=%G1", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("#!::r=cam,u=%4", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("#!::r=cam,u=%00", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("#!::r=cam,u=%0a", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("#!::r=cam,u=%20", &sid), INGEST_STREAMID_BAD_VALUE);
    CHECK_INT(parse("#!::r=..%2Fx", &sid), INGEST_STREAMID_BAD_RESOURCE);
}


/* the whole stream id percent-encoded, as ffmpeg 5.1 sends it */

static void
test_percent_encoded(void)
{
    char         enc[4 * INGEST_STREAMID_MAX_LEN];
    const char  *raw;

    CHECK_INT(parse("%23%21%3A%3Ar%3Dlive%2Cm%3Dpublish%2Ct%3Daaa.bbb.ccc",
                    &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.form, INGEST_STREAMID_KEYED);
    CHECK_INT(sid.percent_encoded, 1);
    CHECK(str_is(&sid.resource, "live"));
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_PUBLISH);
    CHECK(str_is(&sid.token, "aaa.bbb.ccc"));

    /* lowercase hex, partly encoded ("#!" encoded, the rest not) */

    CHECK_INT(parse("%23%21%3a%3ar%3dlive%2fcam%2cm%3dpublish", &sid),
              INGEST_STREAMID_OK);
    CHECK(str_is(&sid.resource, "live/cam"));

    CHECK_INT(parse("%23%21::r=live,m=publish", &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.percent_encoded, 1);
    CHECK(str_is(&sid.resource, "live"));

    /* once only: a doubly encoded id does not decode twice */

    CHECK_INT(parse("%2523%2521%253A%253Ar%253Dlive", &sid),
              INGEST_STREAMID_BAD_RESOURCE);

    /* every key, encoded by a URL encoder, equals the verbatim parse */

    raw = "#!::r=live/cam-2,m=publish,t=h.p.s_-,u=bob,s=abc,h=host.tld,"
          "acme_x=1";
    encode(raw, enc, 0);

    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.percent_encoded, 1);
    CHECK(str_is(&sid.resource, "live/cam-2"));
    CHECK(str_is(&sid.token, "h.p.s_-"));
    CHECK(str_is(&sid.user, "bob"));
    CHECK(str_is(&sid.session, "abc"));
    CHECK(str_is(&sid.host, "host.tld"));
    CHECK_INT(sid.nextra, 1);
    CHECK(str_is(&sid.extra_value[0], "1"));

    encode(raw, enc, 1);
    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_OK);
    CHECK(str_is(&sid.resource, "live/cam-2"));

    /* the plain form encoded */

    encode("live/cam1?token=a.b.c", enc, 0);
    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.form, INGEST_STREAMID_PLAIN);
    CHECK_INT(sid.percent_encoded, 1);
    CHECK(str_is(&sid.resource, "live/cam1"));
    CHECK(str_is(&sid.token, "a.b.c"));

    /* bad escapes */

    CHECK_INT(parse("%23%21%3A%3Ar%3Dlive%2", &sid),
              INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("live%", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("live%zz", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("live%00", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("live%0D%0A", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("%7F", &sid), INGEST_STREAMID_BAD_ENCODING);

    /* what an encoded id says is checked as a verbatim one would be */

    encode("#!::r=a,r=b", enc, 0);
    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_DUPLICATE_KEY);
    encode("#!::r=a,t=file", enc, 0);
    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_BAD_TYPE);
    encode("#!::r=../a", enc, 0);
    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_BAD_RESOURCE);
    encode("#!:{r=a}", enc, 0);
    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_UNSUPPORTED);
    encode("live?token=a b", enc, 0);
    CHECK_INT(parse(enc, &sid), INGEST_STREAMID_BAD_TOKEN);
}


static void
test_plain(void)
{
    CHECK_INT(parse("live/cam1", &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.form, INGEST_STREAMID_PLAIN);
    CHECK_INT(sid.mode, INGEST_STREAMID_MODE_NONE);
    CHECK(str_is(&sid.resource, "live/cam1"));
    CHECK(sid.token.data == NULL);
    CHECK_INT(sid.nextra, 0);

    CHECK_INT(parse("cam1?token=aaa.bbb.ccc", &sid), INGEST_STREAMID_OK);
    CHECK(str_is(&sid.resource, "cam1"));
    CHECK(str_is(&sid.token, "aaa.bbb.ccc"));

    CHECK_INT(parse("cam1?foo=bar&token=t0k&x=", &sid), INGEST_STREAMID_OK);
    CHECK(str_is(&sid.token, "t0k"));
    CHECK_INT(sid.nextra, 2);
    CHECK(str_is(&sid.extra_key[0], "foo"));
    CHECK(str_is(&sid.extra_value[0], "bar"));
    CHECK(str_is(&sid.extra_key[1], "x"));
    CHECK(str_is(&sid.extra_value[1], ""));

    /* empty query, empty token */

    CHECK_INT(parse("cam1?", &sid), INGEST_STREAMID_OK);
    CHECK(sid.token.data == NULL);
    CHECK_INT(parse("cam1?token=", &sid), INGEST_STREAMID_OK);
    CHECK(sid.token.data == NULL);

    /* "#" alone is not the keyed syntax, nor a stream name */

    CHECK_INT(parse("#cam", &sid), INGEST_STREAMID_BAD_RESOURCE);

    CHECK_INT(parse("cam1?token", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("cam1?=x", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("cam1?token=a&", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("cam1?token=a&&x=1", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("cam1?to ken=a", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("cam1?token=a&token=b", &sid),
              INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("cam1?token=&token=b", &sid),
              INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("cam1?x=1&x=2", &sid), INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("cam1?token=a,b", &sid), INGEST_STREAMID_BAD_TOKEN);
    CHECK_INT(parse("cam1?x=a b", &sid), INGEST_STREAMID_BAD_VALUE);
    CHECK_INT(parse("?token=a", &sid), INGEST_STREAMID_NO_RESOURCE);
}


static void
test_lengths(void)
{
    size_t  n;
    char    buf[INGEST_STREAMID_MAX_LEN + 2];

    /* exactly 512 bytes */

    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "#!::r=cam,t=", 12);
    buf[INGEST_STREAMID_MAX_LEN] = '\0';

    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.token.len, INGEST_STREAMID_MAX_LEN - 12);

    buf[INGEST_STREAMID_MAX_LEN] = 'a';
    buf[INGEST_STREAMID_MAX_LEN + 1] = '\0';
    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_TOO_LONG);

    /* the length limit is the raw one, before decoding */

    n = 0;
    while (n + 3 <= INGEST_STREAMID_MAX_LEN + 1) {
        memcpy(buf + n, "%61", 3);
        n += 3;
    }

    buf[n] = '\0';
    CHECK_INT(n > INGEST_STREAMID_MAX_LEN, 1);
    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_TOO_LONG);

    n -= 3;
    buf[n] = '\0';
    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.resource.len, n / 3);

    /* stream names: 255 bytes */

    memset(buf, 'b', 255);
    buf[255] = '\0';
    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_OK);

    buf[255] = 'b';
    buf[256] = '\0';
    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_BAD_RESOURCE);
}


/* every rejection with its SRT code */

static void
test_rejects(void)
{
    size_t  i, n;
    char    buf[INGEST_STREAMID_MAX_LEN + 1];

    CHECK_INT(ingest_streamid_parse(NULL, 0, &sid), INGEST_STREAMID_EMPTY);
    CHECK_INT(parse("", &sid), INGEST_STREAMID_EMPTY);

    CHECK_INT(parse_len("cam\0x", 5, &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("cam\x01", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("#!::r=cam,u=a\tb", &sid), INGEST_STREAMID_BAD_ENCODING);
    CHECK_INT(parse("cam\x7f", &sid), INGEST_STREAMID_BAD_ENCODING);

    CHECK_INT(parse("#!::r=cam,,m=publish", &sid),
              INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("#!::r=cam,", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("#!::", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("#!::r", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("#!::=cam", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("#!::r=cam,x y=1", &sid), INGEST_STREAMID_BAD_SYNTAX);
    CHECK_INT(parse("#!::r=cam,m", &sid), INGEST_STREAMID_BAD_SYNTAX);

    CHECK_INT(parse("#!:{r=cam}", &sid), INGEST_STREAMID_UNSUPPORTED);
    CHECK_INT(parse("#!", &sid), INGEST_STREAMID_UNSUPPORTED);
    CHECK_INT(parse("#!:", &sid), INGEST_STREAMID_UNSUPPORTED);
    CHECK_INT(parse("#!x:r=cam", &sid), INGEST_STREAMID_UNSUPPORTED);

    CHECK_INT(parse("#!::r=a,r=b", &sid), INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("#!::r=a,m=publish,m=publish", &sid),
              INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("#!::t=x,r=a,t=y", &sid), INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("#!::t=stream,r=a,t=y", &sid),
              INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("#!::r=a,acme=1,acme=2", &sid),
              INGEST_STREAMID_DUPLICATE_KEY);
    CHECK_INT(parse("#!::r=a,u=x,u=", &sid), INGEST_STREAMID_DUPLICATE_KEY);

    /* 17 unknown keys; 33 pairs */

    n = (size_t) sprintf(buf, "#!::r=cam");
    for (i = 0; i < INGEST_STREAMID_MAX_EXTRA; i++) {
        n += (size_t) sprintf(buf + n, ",k%zu=v", i);
    }

    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_OK);
    CHECK_INT(sid.nextra, INGEST_STREAMID_MAX_EXTRA);
    sprintf(buf + n, ",kx=v");
    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_TOO_MANY_KEYS);

    n = (size_t) sprintf(buf, "#!::r=cam");
    for (i = 0; i < INGEST_STREAMID_MAX_PAIRS; i++) {
        n += (size_t) sprintf(buf + n, ",%c%zu=", 'k', i);
    }

    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_TOO_MANY_KEYS);

    n = (size_t) sprintf(buf, "cam?token=x");
    for (i = 0; i < INGEST_STREAMID_MAX_EXTRA + 1; i++) {
        n += (size_t) sprintf(buf + n, "&k%zu=v", i);
    }

    CHECK_INT(parse(buf, &sid), INGEST_STREAMID_TOO_MANY_KEYS);

    CHECK_INT(parse("#!::m=publish,t=x", &sid), INGEST_STREAMID_NO_RESOURCE);
    CHECK_INT(parse("#!::r=,m=publish", &sid), INGEST_STREAMID_NO_RESOURCE);

    CHECK_INT(parse("#!::r=../etc/passwd", &sid),
              INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("#!::r=live/../x", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("#!::r=a..b", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("#!::r=/live", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("#!::r=li ve", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("#!::r=c\xc3\xa9", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("live/", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("live//x", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse(".hidden", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("live$1", &sid), INGEST_STREAMID_BAD_RESOURCE);
    CHECK_INT(parse("live\\x", &sid), INGEST_STREAMID_BAD_RESOURCE);

    CHECK_INT(parse("#!::r=cam,m=Publish", &sid),
              INGEST_STREAMID_BAD_MODE_VALUE);
    CHECK_INT(parse("#!::r=cam,m=", &sid), INGEST_STREAMID_BAD_MODE_VALUE);
    CHECK_INT(parse("#!::r=cam,m=push", &sid),
              INGEST_STREAMID_BAD_MODE_VALUE);

    CHECK_INT(parse("#!::r=cam,s=a b", &sid), INGEST_STREAMID_BAD_VALUE);
    CHECK_INT(parse("#!::r=cam,h=a b", &sid), INGEST_STREAMID_BAD_VALUE);
    CHECK_INT(parse("#!::r=cam,acme=a b", &sid), INGEST_STREAMID_BAD_VALUE);

    CHECK_INT(parse("#!::r=cam,t=a$b", &sid), INGEST_STREAMID_BAD_TOKEN);
    CHECK_INT(parse("#!::r=cam,t=a b", &sid), INGEST_STREAMID_BAD_TOKEN);
    CHECK_INT(parse("#!::r=cam,t=\xc3\xa9", &sid), INGEST_STREAMID_BAD_TOKEN);

    CHECK_INT(parse("#!::r=cam,t=file", &sid), INGEST_STREAMID_BAD_TYPE);
    CHECK_INT(parse("#!::r=cam,t=auth", &sid), INGEST_STREAMID_BAD_TYPE);

    /* what the codes say to SRT */

    CHECK_INT(ingest_streamid_srt_reject(parse("", &sid)), 1400);
    CHECK_INT(ingest_streamid_srt_reject(parse("#!::r=a,r=b", &sid)), 1400);
    CHECK_INT(ingest_streamid_srt_reject(parse("#!::r=a,t=a$", &sid)), 1401);
    CHECK_INT(ingest_streamid_srt_reject(parse("#!::r=a,t=file", &sid)),
              1415);
}


static void
test_names(void)
{
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a", 1), 1);
    CHECK_INT(ingest_streamid_name_valid(
                  (const unsigned char *) "Live_1/cam-2.hd", 15), 1);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a.b.c", 5),
              1);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "", 0), 0);
    CHECK_INT(ingest_streamid_name_valid(NULL, 0), 0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) ".", 1), 0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "..", 2), 0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a/..", 4),
              0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a/./b", 5),
              0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a.", 2), 1);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a..", 3),
              0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "/", 1), 0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a:b", 3),
              0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a?b", 3),
              0);
    CHECK_INT(ingest_streamid_name_valid((const unsigned char *) "a%2e", 4),
              0);
}


static void
test_mode(void)
{
    unsigned  pub;

    pub = INGEST_STREAMID_MODE_PUBLISH;

    CHECK_INT(parse("#!::r=cam,m=publish", &sid), INGEST_STREAMID_OK);
    CHECK_INT(ingest_streamid_check_mode(&sid, pub,
                                         INGEST_STREAMID_MODE_PUBLISH),
              INGEST_STREAMID_OK);

    CHECK_INT(parse("#!::r=cam,m=request", &sid), INGEST_STREAMID_OK);
    CHECK_INT(ingest_streamid_check_mode(&sid, pub,
                                         INGEST_STREAMID_MODE_PUBLISH),
              INGEST_STREAMID_BAD_MODE);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_BAD_MODE), 1405);
    CHECK_INT(ingest_streamid_check_mode(&sid,
                  pub | INGEST_STREAMID_MODE_REQUEST,
                  INGEST_STREAMID_MODE_PUBLISH), INGEST_STREAMID_OK);

    CHECK_INT(parse("#!::r=cam,m=bidirectional", &sid), INGEST_STREAMID_OK);
    CHECK_INT(ingest_streamid_check_mode(&sid, pub,
                                         INGEST_STREAMID_MODE_PUBLISH),
              INGEST_STREAMID_BAD_MODE);

    /* no m: what the listener makes of it */

    CHECK_INT(parse("#!::r=cam", &sid), INGEST_STREAMID_OK);
    CHECK_INT(ingest_streamid_check_mode(&sid, pub,
                                         INGEST_STREAMID_MODE_PUBLISH),
              INGEST_STREAMID_OK);
    CHECK_INT(ingest_streamid_check_mode(&sid, pub,
                                         INGEST_STREAMID_MODE_REQUEST),
              INGEST_STREAMID_BAD_MODE);
    CHECK_INT(ingest_streamid_check_mode(&sid, pub,
                                         INGEST_STREAMID_MODE_NONE),
              INGEST_STREAMID_BAD_MODE);

    CHECK_INT(parse("cam?token=x", &sid), INGEST_STREAMID_OK);
    CHECK_INT(ingest_streamid_check_mode(&sid, pub,
                                         INGEST_STREAMID_MODE_PUBLISH),
              INGEST_STREAMID_OK);

    CHECK(strcmp(ingest_streamid_mode_name(INGEST_STREAMID_MODE_PUBLISH),
                 "publish") == 0);
    CHECK(strcmp(ingest_streamid_mode_name(INGEST_STREAMID_MODE_REQUEST),
                 "request") == 0);
    CHECK(strcmp(ingest_streamid_mode_name(
                     INGEST_STREAMID_MODE_BIDIRECTIONAL),
                 "bidirectional") == 0);
    CHECK(strcmp(ingest_streamid_mode_name(INGEST_STREAMID_MODE_NONE), "")
          == 0);
}


static void
test_codes(void)
{
    unsigned  i;

    /* the values of libsrt 1.5's access_control.h */

    CHECK_INT(SRT_REJX_BAD_REQUEST, 1400);
    CHECK_INT(SRT_REJX_UNAUTHORIZED, 1401);
    CHECK_INT(SRT_REJX_FORBIDDEN, 1403);
    CHECK_INT(SRT_REJX_NOTFOUND, 1404);
    CHECK_INT(SRT_REJX_BAD_MODE, 1405);
    CHECK_INT(SRT_REJX_CONFLICT, 1409);

    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_OK), 0);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_NO_TOKEN), 1401);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_TOKEN_INVALID),
              1401);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_TOKEN_EXPIRED),
              1401);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_FORBIDDEN), 1403);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_NOT_FOUND), 1404);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_CONFLICT), 1409);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_OVERLOAD), 1402);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_INTERNAL), 1500);
    CHECK_INT(ingest_streamid_srt_reject(INGEST_STREAMID_RC_LAST), 1500);

    /* every code has a reason and a code in SRT_REJX's range */

    for (i = 1; i < INGEST_STREAMID_RC_LAST; i++) {
        CHECK(ingest_streamid_reason((ingest_streamid_rc_t) i) != NULL
              && strlen(ingest_streamid_reason((ingest_streamid_rc_t) i))
                 > 2);
        CHECK(ingest_streamid_srt_reject((ingest_streamid_rc_t) i) >= 1400
              && ingest_streamid_srt_reject((ingest_streamid_rc_t) i)
                 < 1600);
    }

    CHECK(strcmp(ingest_streamid_reason(INGEST_STREAMID_RC_LAST),
                 "internal error") == 0);

    /* the token verifier's outcomes */

    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_OK), INGEST_STREAMID_OK);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_EXPIRED),
              INGEST_STREAMID_TOKEN_EXPIRED);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_NOT_YET_VALID),
              INGEST_STREAMID_TOKEN_EXPIRED);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_BAD_SIGNATURE),
              INGEST_STREAMID_TOKEN_INVALID);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_MALFORMED),
              INGEST_STREAMID_TOKEN_INVALID);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_UNKNOWN_KID),
              INGEST_STREAMID_TOKEN_INVALID);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_SCOPE),
              INGEST_STREAMID_FORBIDDEN);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_WRONG_AUDIENCE),
              INGEST_STREAMID_FORBIDDEN);
    CHECK_INT(ingest_streamid_token_rc(INGEST_TOKEN_REVOKED),
              INGEST_STREAMID_FORBIDDEN);
}


/* random ids over the alphabet that matters: no crash, a known code,
 * and every accepted one well-formed */

static void
test_random(void)
{
    size_t                 i, n, k, bad;
    uint64_t               seed;
    unsigned char          buf[600];
    ingest_streamid_rc_t   rc;

    static const char      alphabet[] = "#!:=,?&%rmtushx2Ff./-_ a";

    seed = 6;
    bad = 0;

    for (i = 0; i < 200000; i++) {
        n = test_rand(&seed) % 40;

        for (k = 0; k < n; k++) {
            buf[k] = alphabet[test_rand(&seed) % (sizeof(alphabet) - 1)];
        }

        if (n > 4 && (test_rand(&seed) & 1)) {
            memcpy(buf, "#!::", 4);
        }

        rc = parse_len(buf, n, &sid);

        if ((unsigned) rc >= INGEST_STREAMID_RC_LAST) {
            bad++;
            continue;
        }

        if (rc == INGEST_STREAMID_OK
            && (sid.resource.data == NULL
                || !ingest_streamid_name_valid(sid.resource.data,
                                               sid.resource.len)
                || sid.resource.data[sid.resource.len] != '\0'))
        {
            bad++;
        }
    }

    CHECK_INT(bad, 0);
}


static void
test_streamid(void)
{
    test_keyed();
    test_keyed_escapes();
    test_percent_encoded();
    test_plain();
    test_lengths();
    test_rejects();
    test_names();
    test_mode();
    test_codes();
    test_random();
}


TEST_MAIN("test_streamid", test_streamid)
