
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_s3xml.h"

#include <stdlib.h>
#include <string.h>


#define INGEST_S3XML_MAX_ATTRS   8

/* the fields of a <Part> seen; the Checksum* elements take 0x04 up */
#define INGEST_S3XML_NUMBER      0x01
#define INGEST_S3XML_ETAG        0x02


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} ingest_s3xml_in_t;

typedef struct {
    unsigned char        *buf;
    size_t                cap;
    size_t                len;
} ingest_s3xml_out_t;


static int ingest_s3xml_check_chars(const unsigned char *p, size_t len);
static int ingest_s3xml_prolog(ingest_s3xml_in_t *in);
static int ingest_s3xml_misc(ingest_s3xml_in_t *in);
static int ingest_s3xml_at(ingest_s3xml_in_t *in, const char *s);
static int ingest_s3xml_start(ingest_s3xml_in_t *in, const char *name,
    int attrs, int *empty);
static int ingest_s3xml_name(ingest_s3xml_in_t *in, ingest_str_t *name);
static int ingest_s3xml_end(ingest_s3xml_in_t *in, const ingest_str_t *name);
static int ingest_s3xml_text(ingest_s3xml_in_t *in, const ingest_str_t *name,
    unsigned char *out, size_t cap, size_t *len);
static int ingest_s3xml_entity(ingest_s3xml_in_t *in, unsigned char *utf8,
    size_t *n);
static ingest_s3_rc_t ingest_s3xml_part(ingest_s3xml_in_t *in,
    ingest_s3xml_part_t *part);
static int ingest_s3xml_is_space(unsigned char c);
static int ingest_s3xml_is_name(unsigned char c, int first);
static void ingest_s3xml_trim(const unsigned char **p, size_t *len);
static int ingest_s3xml_str_eq(const ingest_str_t *s, const char *z);

static void ingest_s3xml_raw(ingest_s3xml_out_t *out, const void *p,
    size_t n);
static void ingest_s3xml_cstr(ingest_s3xml_out_t *out, const char *s);
static void ingest_s3xml_text_out(ingest_s3xml_out_t *out,
    const unsigned char *p, size_t n);
static void ingest_s3xml_elem(ingest_s3xml_out_t *out, const char *name,
    const unsigned char *p, size_t n);
static void ingest_s3xml_elem_url(ingest_s3xml_out_t *out, const char *name,
    const ingest_str_t *s, int url);
static void ingest_s3xml_elem_u64(ingest_s3xml_out_t *out, const char *name,
    uint64_t v);
static void ingest_s3xml_elem_time(ingest_s3xml_out_t *out,
    const char *name, int64_t t);
static void ingest_s3xml_owner(ingest_s3xml_out_t *out,
    const ingest_str_t *owner);
static void ingest_s3xml_head(ingest_s3xml_out_t *out, const char *root);
static int ingest_s3xml_listed(const ingest_s3xml_list_uploads_t *in,
    const ingest_s3xml_upload_t *u);
static int ingest_s3xml_cmp(const ingest_str_t *a, const ingest_str_t *b);
static int ingest_s3xml_upload_cmp(const void *a, const void *b);


static const char  *ingest_s3xml_checksums[] = {
    "ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1",
    "ChecksumSHA256", NULL
};


ingest_s3_rc_t
ingest_s3xml_parse_complete(const unsigned char *p, size_t len,
    ingest_s3xml_part_t *parts, size_t max, size_t *nparts)
{
    int                  empty;
    size_t               n;
    uint32_t             prev;
    ingest_str_t         root;
    ingest_s3_rc_t       rc, order;
    ingest_s3xml_in_t    in;
    ingest_s3xml_part_t  part;

    static const char  root_name[] = "CompleteMultipartUpload";

    *nparts = 0;

    if (p == NULL || len == 0 || len > INGEST_S3XML_MAX_BODY
        || ingest_s3xml_check_chars(p, len) != 0)
    {
        return INGEST_S3_MALFORMED_XML;
    }

    in.p = p;
    in.end = p + len;

    if (ingest_s3xml_prolog(&in) != 0
        || ingest_s3xml_start(&in, root_name, 1, &empty) != 0 || empty)
    {
        return INGEST_S3_MALFORMED_XML;
    }

    root.data = (const unsigned char *) root_name;
    root.len = sizeof(root_name) - 1;

    n = 0;
    prev = 0;

    /*
     * The order and the part numbers are judged once the whole document
     * is known to be well-formed: malformed XML wins.
     */

    order = INGEST_S3_OK;

    for ( ;; ) {
        if (ingest_s3xml_misc(&in) != 0) {
            return INGEST_S3_MALFORMED_XML;
        }

        if (ingest_s3xml_at(&in, "</")) {
            if (ingest_s3xml_end(&in, &root) != 0) {
                return INGEST_S3_MALFORMED_XML;
            }

            break;
        }

        if (ingest_s3xml_start(&in, "Part", 0, &empty) != 0 || empty) {
            return INGEST_S3_MALFORMED_XML;
        }

        rc = ingest_s3xml_part(&in, &part);

        if (rc == INGEST_S3_MALFORMED_XML) {
            return rc;
        }

        if (order == INGEST_S3_OK) {
            if (rc != INGEST_S3_OK) {
                order = rc;

            } else if (part.number <= prev) {
                order = INGEST_S3_INVALID_PART_ORDER;
            }
        }

        /* beyond max: counted, not kept */

        if (n < max) {
            parts[n] = part;
        }

        n++;
        prev = part.number;
    }

    if (ingest_s3xml_misc(&in) != 0 || in.p != in.end || n == 0) {
        return INGEST_S3_MALFORMED_XML;
    }

    if (order != INGEST_S3_OK) {
        return order;
    }

    if (n > max) {
        return INGEST_S3_MALFORMED_XML;
    }

    *nparts = n;

    return INGEST_S3_OK;
}


/* after <Part>: its fields up to and including </Part> */

static ingest_s3_rc_t
ingest_s3xml_part(ingest_s3xml_in_t *in, ingest_s3xml_part_t *part)
{
    int                   empty;
    size_t                i, len;
    unsigned              seen, bit;
    uint64_t              v;
    ingest_str_t          name, pname;
    ingest_s3_rc_t        rc;
    const unsigned char  *t;
    unsigned char         text[128];

    memset(part, 0, sizeof(ingest_s3xml_part_t));

    pname.data = (const unsigned char *) "Part";
    pname.len = 4;

    seen = 0;
    rc = INGEST_S3_OK;

    for ( ;; ) {
        if (ingest_s3xml_misc(in) != 0) {
            return INGEST_S3_MALFORMED_XML;
        }

        if (ingest_s3xml_at(in, "</")) {
            if (ingest_s3xml_end(in, &pname) != 0) {
                return INGEST_S3_MALFORMED_XML;
            }

            break;
        }

        if (in->p == in->end || *in->p != '<') {
            return INGEST_S3_MALFORMED_XML;
        }

        in->p++;

        if (ingest_s3xml_name(in, &name) != 0) {
            return INGEST_S3_MALFORMED_XML;
        }

        if (ingest_s3xml_str_eq(&name, "PartNumber")) {
            bit = INGEST_S3XML_NUMBER;

        } else if (ingest_s3xml_str_eq(&name, "ETag")) {
            bit = INGEST_S3XML_ETAG;

        } else {
            for (i = 0; ingest_s3xml_checksums[i] != NULL; i++) {
                if (ingest_s3xml_str_eq(&name, ingest_s3xml_checksums[i])) {
                    break;
                }
            }

            if (ingest_s3xml_checksums[i] == NULL) {
                return INGEST_S3_MALFORMED_XML;
            }

            bit = 0x04 << i;
        }

        if (seen & bit) {
            return INGEST_S3_MALFORMED_XML;
        }

        seen |= bit;

        /* no attributes: white space, then ">" or "/>" */

        empty = 0;

        while (in->p < in->end && ingest_s3xml_is_space(*in->p)) {
            in->p++;
        }

        if (ingest_s3xml_at(in, "/>")) {
            in->p += 2;
            empty = 1;

        } else if (ingest_s3xml_at(in, ">")) {
            in->p++;

        } else {
            return INGEST_S3_MALFORMED_XML;
        }

        len = 0;

        if (!empty
            && ingest_s3xml_text(in, &name,
                                 bit <= INGEST_S3XML_ETAG ? text : NULL,
                                 sizeof(text), &len)
               != 0)
        {
            return INGEST_S3_MALFORMED_XML;
        }

        if (bit > INGEST_S3XML_ETAG) {
            continue;
        }

        if (len > sizeof(text)) {
            /* too long to be a part number or an MD5 ETag */

            if (bit == INGEST_S3XML_NUMBER) {
                return INGEST_S3_MALFORMED_XML;
            }

            part->etag_ok = 0;
            continue;
        }

        t = text;
        ingest_s3xml_trim(&t, &len);

        if (bit == INGEST_S3XML_ETAG) {
            part->etag_ok = (ingest_s3_etag_parse(t, len, part->md5) == 0);
            continue;
        }

        /* a number that is not one is malformed; out of range is not */

        for (i = 0; i < len; i++) {
            if (t[i] < '0' || t[i] > '9') {
                return INGEST_S3_MALFORMED_XML;
            }
        }

        if (len == 0) {
            return INGEST_S3_MALFORMED_XML;
        }

        if (ingest_parse_u64(t, len, &v) != 0
            || v < INGEST_S3_MIN_PART_NUMBER || v > INGEST_S3_MAX_PART_NUMBER)
        {
            rc = INGEST_S3_INVALID_PART_NUMBER;

        } else {
            part->number = (uint32_t) v;
        }
    }

    if ((seen & (INGEST_S3XML_NUMBER | INGEST_S3XML_ETAG))
        != (INGEST_S3XML_NUMBER | INGEST_S3XML_ETAG))
    {
        return INGEST_S3_MALFORMED_XML;
    }

    return rc;
}


/*
 * Every byte: valid UTF-8 of an XML 1.0 character (no C0 controls but
 * tab, LF and CR; no surrogates, U+FFFE, U+FFFF).
 */

static int
ingest_s3xml_check_chars(const unsigned char *p, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp, min;

    for (i = 0; i < len; i += n) {
        cp = p[i];

        if (cp < 0x80) {
            if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') {
                return -1;
            }

            n = 1;
            continue;
        }

        if ((cp & 0xe0) == 0xc0) {
            n = 2;
            cp &= 0x1f;
            min = 0x80;

        } else if ((cp & 0xf0) == 0xe0) {
            n = 3;
            cp &= 0x0f;
            min = 0x800;

        } else if ((cp & 0xf8) == 0xf0) {
            n = 4;
            cp &= 0x07;
            min = 0x10000;

        } else {
            return -1;
        }

        if (len - i < n) {
            return -1;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return -1;
            }

            cp = cp << 6 | (p[i + k] & 0x3f);
        }

        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff
            || cp == 0xfffe || cp == 0xffff)
        {
            return -1;
        }
    }

    return 0;
}


/* [BOM] ["<?xml" ... "?>"] Misc* */

static int
ingest_s3xml_prolog(ingest_s3xml_in_t *in)
{
    const unsigned char  *p;

    if (in->end - in->p >= 3 && in->p[0] == 0xef && in->p[1] == 0xbb
        && in->p[2] == 0xbf)
    {
        in->p += 3;
    }

    if (ingest_s3xml_at(in, "<?xml") && in->end - in->p > 5
        && ingest_s3xml_is_space(in->p[5]))
    {
        for (p = in->p + 5; p + 1 < in->end; p++) {
            if (*p == '<' || *p == '>') {
                return -1;
            }

            if (p[0] == '?' && p[1] == '>') {
                in->p = p + 2;
                return ingest_s3xml_misc(in);
            }
        }

        return -1;
    }

    return ingest_s3xml_misc(in);
}


/* white space and comments; DOCTYPE, CDATA, PIs are errors later */

static int
ingest_s3xml_misc(ingest_s3xml_in_t *in)
{
    const unsigned char  *p;

    for ( ;; ) {
        while (in->p < in->end && ingest_s3xml_is_space(*in->p)) {
            in->p++;
        }

        if (!ingest_s3xml_at(in, "<!--")) {
            return 0;
        }

        /* "--" must not occur inside a comment */

        for (p = in->p + 4; p + 1 < in->end; p++) {
            if (p[0] == '-' && p[1] == '-') {
                break;
            }
        }

        if (p + 2 >= in->end || p[2] != '>') {
            return -1;
        }

        in->p = p + 3;
    }
}


static int
ingest_s3xml_at(ingest_s3xml_in_t *in, const char *s)
{
    size_t  n;

    n = strlen(s);

    return (size_t) (in->end - in->p) >= n && memcmp(in->p, s, n) == 0;
}


/*
 * "<name" [attributes] ">" or "/>"; attributes (when allowed) are
 * checked for syntax, duplicates and entities, and ignored
 */

static int
ingest_s3xml_start(ingest_s3xml_in_t *in, const char *name, int attrs,
    int *empty)
{
    size_t                i, nattrs, k;
    unsigned char         q;
    ingest_str_t          n, seen[INGEST_S3XML_MAX_ATTRS];
    unsigned char         utf8[4];

    if (in->p == in->end || *in->p != '<') {
        return -1;
    }

    in->p++;

    if (ingest_s3xml_name(in, &n) != 0 || !ingest_s3xml_str_eq(&n, name)) {
        return -1;
    }

    nattrs = 0;
    *empty = 0;

    for ( ;; ) {
        if (in->p == in->end) {
            return -1;
        }

        if (*in->p == '>') {
            in->p++;
            return 0;
        }

        if (ingest_s3xml_at(in, "/>")) {
            in->p += 2;
            *empty = 1;
            return 0;
        }

        /* white space, then an attribute or the end of the tag */

        if (!ingest_s3xml_is_space(*in->p)) {
            return -1;
        }

        while (in->p < in->end && ingest_s3xml_is_space(*in->p)) {
            in->p++;
        }

        if (in->p == in->end || *in->p == '>' || *in->p == '/') {
            continue;
        }

        if (!attrs || nattrs == INGEST_S3XML_MAX_ATTRS
            || ingest_s3xml_name(in, &n) != 0)
        {
            return -1;
        }

        for (i = 0; i < nattrs; i++) {
            if (seen[i].len == n.len && memcmp(seen[i].data, n.data, n.len)
                                        == 0)
            {
                return -1;
            }
        }

        seen[nattrs++] = n;

        while (in->p < in->end && ingest_s3xml_is_space(*in->p)) {
            in->p++;
        }

        if (in->p == in->end || *in->p != '=') {
            return -1;
        }

        in->p++;

        while (in->p < in->end && ingest_s3xml_is_space(*in->p)) {
            in->p++;
        }

        if (in->p == in->end || (*in->p != '"' && *in->p != '\'')) {
            return -1;
        }

        q = *in->p++;

        for ( ;; ) {
            if (in->p == in->end || *in->p == '<') {
                return -1;
            }

            if (*in->p == q) {
                in->p++;
                break;
            }

            if (*in->p == '&') {
                if (ingest_s3xml_entity(in, utf8, &k) != 0) {
                    return -1;
                }

                continue;
            }

            in->p++;
        }
    }
}


/* an element name without namespace prefix */

static int
ingest_s3xml_name(ingest_s3xml_in_t *in, ingest_str_t *name)
{
    const unsigned char  *p;

    p = in->p;

    if (p == in->end || !ingest_s3xml_is_name(*p, 1)) {
        return -1;
    }

    while (p < in->end && ingest_s3xml_is_name(*p, 0)) {
        p++;
    }

    name->data = in->p;
    name->len = (size_t) (p - in->p);
    in->p = p;

    return 0;
}


/* "</name" S? ">" */

static int
ingest_s3xml_end(ingest_s3xml_in_t *in, const ingest_str_t *name)
{
    ingest_str_t  n;

    if (!ingest_s3xml_at(in, "</")) {
        return -1;
    }

    in->p += 2;

    if (ingest_s3xml_name(in, &n) != 0 || n.len != name->len
        || memcmp(n.data, name->data, n.len) != 0)
    {
        return -1;
    }

    while (in->p < in->end && ingest_s3xml_is_space(*in->p)) {
        in->p++;
    }

    if (in->p == in->end || *in->p != '>') {
        return -1;
    }

    in->p++;

    return 0;
}


/*
 * Character data of a text-only element up to its end tag, decoded into
 * out (when not NULL; *len counts all of it, even beyond cap); comments
 * may appear, elements may not.
 */

static int
ingest_s3xml_text(ingest_s3xml_in_t *in, const ingest_str_t *name,
    unsigned char *out, size_t cap, size_t *len)
{
    size_t         k, i;
    unsigned char  utf8[4];

    *len = 0;

    for ( ;; ) {
        if (in->p == in->end) {
            return -1;
        }

        if (*in->p == '<') {
            if (ingest_s3xml_at(in, "<!--")) {
                if (ingest_s3xml_misc(in) != 0) {
                    return -1;
                }

                continue;
            }

            return ingest_s3xml_end(in, name);
        }

        if (*in->p == '&') {
            if (ingest_s3xml_entity(in, utf8, &k) != 0) {
                return -1;
            }

        } else {
            utf8[0] = *in->p++;
            k = 1;
        }

        for (i = 0; i < k; i++) {
            if (out != NULL && *len < cap) {
                out[*len] = utf8[i];
            }

            (*len)++;
        }
    }
}


/* "&lt;" ... "&#NN;" "&#xHH;" into UTF-8 */

static int
ingest_s3xml_entity(ingest_s3xml_in_t *in, unsigned char *utf8, size_t *n)
{
    int                   hex, d;
    size_t                digits;
    uint32_t              cp;
    const unsigned char  *p;

    static const struct {
        const char     *name;
        unsigned char   c;
    } named[] = {
        { "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
        { "&quot;", '"' }, { "&apos;", '\'' }, { NULL, 0 }
    };

    for (d = 0; named[d].name != NULL; d++) {
        if (ingest_s3xml_at(in, named[d].name)) {
            in->p += strlen(named[d].name);
            utf8[0] = named[d].c;
            *n = 1;
            return 0;
        }
    }

    if (!ingest_s3xml_at(in, "&#")) {
        return -1;
    }

    p = in->p + 2;
    hex = 0;

    if (p < in->end && *p == 'x') {
        hex = 1;
        p++;
    }

    cp = 0;
    digits = 0;

    for ( /* void */ ; p < in->end && *p != ';'; p++) {
        if (*p >= '0' && *p <= '9') {
            d = *p - '0';

        } else if (hex && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
            d = (*p | 0x20) - 'a' + 10;

        } else {
            return -1;
        }

        if (++digits > 8) {
            return -1;
        }

        cp = cp * (hex ? 16 : 10) + (uint32_t) d;
    }

    if (p == in->end || digits == 0) {
        return -1;
    }

    in->p = p + 1;

    if (cp == 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r')
        || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff
        || cp > 0x10ffff)
    {
        return -1;
    }

    if (cp < 0x80) {
        utf8[0] = (unsigned char) cp;
        *n = 1;

    } else if (cp < 0x800) {
        utf8[0] = (unsigned char) (0xc0 | cp >> 6);
        utf8[1] = (unsigned char) (0x80 | (cp & 0x3f));
        *n = 2;

    } else if (cp < 0x10000) {
        utf8[0] = (unsigned char) (0xe0 | cp >> 12);
        utf8[1] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        utf8[2] = (unsigned char) (0x80 | (cp & 0x3f));
        *n = 3;

    } else {
        utf8[0] = (unsigned char) (0xf0 | cp >> 18);
        utf8[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3f));
        utf8[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        utf8[3] = (unsigned char) (0x80 | (cp & 0x3f));
        *n = 4;
    }

    return 0;
}


static int
ingest_s3xml_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/* ASCII names only: no ":" (namespace prefixes) */

static int
ingest_s3xml_is_name(unsigned char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') {
        return 1;
    }

    return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}


static void
ingest_s3xml_trim(const unsigned char **p, size_t *len)
{
    const unsigned char  *s, *e;

    s = *p;
    e = s + *len;

    while (s < e && ingest_s3xml_is_space(*s)) {
        s++;
    }

    while (e > s && ingest_s3xml_is_space(e[-1])) {
        e--;
    }

    *p = s;
    *len = (size_t) (e - s);
}


static int
ingest_s3xml_str_eq(const ingest_str_t *s, const char *z)
{
    return s->len == strlen(z) && memcmp(s->data, z, s->len) == 0;
}


size_t
ingest_s3xml_escape(unsigned char *out, const unsigned char *in, size_t len)
{
    ingest_s3xml_out_t  o;

    o.buf = out;
    o.cap = (out != NULL) ? 6 * len : 0;
    o.len = 0;

    ingest_s3xml_text_out(&o, in, len);

    return o.len;
}


size_t
ingest_s3xml_initiate(unsigned char *buf, size_t cap,
    const ingest_s3xml_initiate_t *in)
{
    ingest_s3xml_out_t  out;

    out.buf = buf;
    out.cap = (buf != NULL) ? cap : 0;
    out.len = 0;

    ingest_s3xml_head(&out, "InitiateMultipartUploadResult");
    ingest_s3xml_elem(&out, "Bucket", in->bucket.data, in->bucket.len);
    ingest_s3xml_elem(&out, "Key", in->key.data, in->key.len);
    ingest_s3xml_elem(&out, "UploadId", in->upload_id.data,
                      in->upload_id.len);
    ingest_s3xml_cstr(&out, "</InitiateMultipartUploadResult>");

    return out.len;
}


size_t
ingest_s3xml_complete(unsigned char *buf, size_t cap,
    const ingest_s3xml_complete_t *in)
{
    ingest_s3xml_out_t  out;

    out.buf = buf;
    out.cap = (buf != NULL) ? cap : 0;
    out.len = 0;

    ingest_s3xml_head(&out, "CompleteMultipartUploadResult");

    if (in->location.data != NULL) {
        ingest_s3xml_elem(&out, "Location", in->location.data,
                          in->location.len);
    }

    ingest_s3xml_elem(&out, "Bucket", in->bucket.data, in->bucket.len);
    ingest_s3xml_elem(&out, "Key", in->key.data, in->key.len);
    ingest_s3xml_elem(&out, "ETag", in->etag.data, in->etag.len);
    ingest_s3xml_cstr(&out, "</CompleteMultipartUploadResult>");

    return out.len;
}


size_t
ingest_s3xml_list_parts(unsigned char *buf, size_t cap,
    const ingest_s3xml_list_parts_t *in)
{
    size_t                           i, first, listed;
    uint32_t                         next;
    ingest_s3xml_out_t               out;
    const ingest_s3xml_list_part_t  *part;
    unsigned char                    etag[INGEST_S3_ETAG_LEN];

    out.buf = buf;
    out.cap = (buf != NULL) ? cap : 0;
    out.len = 0;

    for (first = 0; first < in->nparts; first++) {
        if (in->parts[first].number > in->part_number_marker) {
            break;
        }
    }

    listed = in->nparts - first;
    if (listed > in->max_parts) {
        listed = in->max_parts;
    }

    next = listed != 0 ? in->parts[first + listed - 1].number
                       : in->part_number_marker;

    ingest_s3xml_head(&out, "ListPartsResult");
    ingest_s3xml_elem(&out, "Bucket", in->bucket.data, in->bucket.len);
    ingest_s3xml_elem(&out, "Key", in->key.data, in->key.len);
    ingest_s3xml_elem(&out, "UploadId", in->upload_id.data,
                      in->upload_id.len);

    if (in->owner.data != NULL) {
        ingest_s3xml_cstr(&out, "<Initiator>");
        ingest_s3xml_owner(&out, &in->owner);
        ingest_s3xml_cstr(&out, "</Initiator><Owner>");
        ingest_s3xml_owner(&out, &in->owner);
        ingest_s3xml_cstr(&out, "</Owner>");
    }

    ingest_s3xml_cstr(&out, "<StorageClass>STANDARD</StorageClass>");
    ingest_s3xml_elem_u64(&out, "PartNumberMarker", in->part_number_marker);
    ingest_s3xml_elem_u64(&out, "NextPartNumberMarker", next);
    ingest_s3xml_elem_u64(&out, "MaxParts", in->max_parts);
    ingest_s3xml_cstr(&out, first + listed < in->nparts
                            ? "<IsTruncated>true</IsTruncated>"
                            : "<IsTruncated>false</IsTruncated>");

    for (i = first; i < first + listed; i++) {
        part = &in->parts[i];

        ingest_s3xml_cstr(&out, "<Part>");
        ingest_s3xml_elem_u64(&out, "PartNumber", part->number);
        ingest_s3xml_elem_time(&out, "LastModified", part->last_modified);
        ingest_s3_etag(etag, part->md5);
        ingest_s3xml_elem(&out, "ETag", etag, sizeof(etag));
        ingest_s3xml_elem_u64(&out, "Size", part->size);
        ingest_s3xml_cstr(&out, "</Part>");
    }

    ingest_s3xml_cstr(&out, "</ListPartsResult>");

    return out.len;
}


void
ingest_s3xml_sort_uploads(ingest_s3xml_upload_t *uploads, size_t n)
{
    if (n > 1) {
        qsort(uploads, n, sizeof(ingest_s3xml_upload_t),
              ingest_s3xml_upload_cmp);
    }
}


size_t
ingest_s3xml_list_uploads(unsigned char *buf, size_t cap,
    const ingest_s3xml_list_uploads_t *in)
{
    int                           truncated;
    size_t                        i, listed;
    ingest_str_t                  empty;
    ingest_s3xml_out_t            out;
    const ingest_s3xml_upload_t  *u, *last;

    out.buf = buf;
    out.cap = (buf != NULL) ? cap : 0;
    out.len = 0;

    empty.data = (const unsigned char *) "";
    empty.len = 0;

    /* first pass: what is listed */

    listed = 0;
    last = NULL;
    truncated = 0;

    for (i = 0; i < in->nuploads; i++) {
        u = &in->uploads[i];

        if (!ingest_s3xml_listed(in, u)) {
            continue;
        }

        if (listed == in->max_uploads) {
            truncated = 1;
            break;
        }

        listed++;
        last = u;
    }

    ingest_s3xml_head(&out, "ListMultipartUploadsResult");
    ingest_s3xml_elem(&out, "Bucket", in->bucket.data, in->bucket.len);
    ingest_s3xml_elem_url(&out, "KeyMarker", &in->key_marker,
                          in->encoding_url);
    ingest_s3xml_elem(&out, "UploadIdMarker", in->upload_id_marker.data,
                      in->upload_id_marker.len);
    ingest_s3xml_elem_url(&out, "NextKeyMarker",
                          last != NULL ? &last->key : &empty,
                          in->encoding_url);
    ingest_s3xml_elem_url(&out, "Prefix", &in->prefix, in->encoding_url);
    ingest_s3xml_elem(&out, "NextUploadIdMarker",
                      last != NULL ? last->upload_id.data : empty.data,
                      last != NULL ? last->upload_id.len : 0);
    ingest_s3xml_elem_u64(&out, "MaxUploads", in->max_uploads);
    ingest_s3xml_cstr(&out, truncated ? "<IsTruncated>true</IsTruncated>"
                                      : "<IsTruncated>false</IsTruncated>");

    /* second pass: the same selection, written */

    for (i = 0; listed != 0 && i < in->nuploads; i++) {
        u = &in->uploads[i];

        if (!ingest_s3xml_listed(in, u)) {
            continue;
        }

        ingest_s3xml_cstr(&out, "<Upload>");
        ingest_s3xml_elem_url(&out, "Key", &u->key, in->encoding_url);
        ingest_s3xml_elem(&out, "UploadId", u->upload_id.data,
                          u->upload_id.len);

        if (in->owner.data != NULL) {
            ingest_s3xml_cstr(&out, "<Initiator>");
            ingest_s3xml_owner(&out, &in->owner);
            ingest_s3xml_cstr(&out, "</Initiator><Owner>");
            ingest_s3xml_owner(&out, &in->owner);
            ingest_s3xml_cstr(&out, "</Owner>");
        }

        ingest_s3xml_cstr(&out, "<StorageClass>STANDARD</StorageClass>");
        ingest_s3xml_elem_time(&out, "Initiated", u->initiated);
        ingest_s3xml_cstr(&out, "</Upload>");

        if (u == last) {
            break;
        }
    }

    if (in->encoding_url) {
        ingest_s3xml_cstr(&out, "<EncodingType>url</EncodingType>");
    }

    ingest_s3xml_cstr(&out, "</ListMultipartUploadsResult>");

    return out.len;
}


size_t
ingest_s3xml_error(unsigned char *buf, size_t cap,
    const ingest_s3xml_error_t *in)
{
    size_t              i;
    const char         *s;
    ingest_s3xml_out_t  out;

    out.buf = buf;
    out.cap = (buf != NULL) ? cap : 0;
    out.len = 0;

    ingest_s3xml_cstr(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<Error>");

    s = ingest_s3_error_code(in->rc);
    ingest_s3xml_elem(&out, "Code", (const unsigned char *) s, strlen(s));

    if (in->message.data != NULL) {
        ingest_s3xml_elem(&out, "Message", in->message.data,
                          in->message.len);

    } else {
        s = ingest_s3_error_message(in->rc);
        ingest_s3xml_elem(&out, "Message", (const unsigned char *) s,
                          strlen(s));
    }

    for (i = 0; i < in->nextra; i++) {
        ingest_s3xml_raw(&out, "<", 1);
        ingest_s3xml_raw(&out, in->extra[i].name.data, in->extra[i].name.len);
        ingest_s3xml_raw(&out, ">", 1);
        ingest_s3xml_text_out(&out, in->extra[i].value.data,
                              in->extra[i].value.len);
        ingest_s3xml_raw(&out, "</", 2);
        ingest_s3xml_raw(&out, in->extra[i].name.data, in->extra[i].name.len);
        ingest_s3xml_raw(&out, ">", 1);
    }

    if (in->resource.data != NULL) {
        ingest_s3xml_elem(&out, "Resource", in->resource.data,
                          in->resource.len);
    }

    if (in->request_id.data != NULL) {
        ingest_s3xml_elem(&out, "RequestId", in->request_id.data,
                          in->request_id.len);
    }

    ingest_s3xml_cstr(&out, "</Error>");

    return out.len;
}


static void
ingest_s3xml_head(ingest_s3xml_out_t *out, const char *root)
{
    ingest_s3xml_cstr(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    ingest_s3xml_cstr(out, root);
    ingest_s3xml_cstr(out, " xmlns=\"" INGEST_S3_XMLNS "\">");
}


static void
ingest_s3xml_owner(ingest_s3xml_out_t *out, const ingest_str_t *owner)
{
    ingest_s3xml_elem(out, "ID", owner->data, owner->len);
    ingest_s3xml_elem(out, "DisplayName", owner->data, owner->len);
}


static void
ingest_s3xml_raw(ingest_s3xml_out_t *out, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (out->buf != NULL && out->len < out->cap) {
        memcpy(out->buf + out->len, p,
               n < out->cap - out->len ? n : out->cap - out->len);
    }

    out->len += n;
}


static void
ingest_s3xml_cstr(ingest_s3xml_out_t *out, const char *s)
{
    ingest_s3xml_raw(out, s, strlen(s));
}


/*
 * XML-escaped text. Bytes that XML 1.0 cannot carry (control characters
 * other than tab, LF and CR; invalid UTF-8; U+FFFE, U+FFFF) become
 * U+FFFD, so that any input gives a well-formed document.
 */

static void
ingest_s3xml_text_out(ingest_s3xml_out_t *out, const unsigned char *p,
    size_t n)
{
    size_t         i, k, len, start;
    uint32_t       cp, min;
    unsigned char  c, ref[8];

    static const unsigned char  hex[] = "0123456789ABCDEF";
    static const unsigned char  bad[] = "\xef\xbf\xbd";

    start = 0;

    for (i = 0; i < n; i += len) {
        c = p[i];
        len = 1;

        if (c >= 0x80) {

            /* a valid UTF-8 sequence goes out as it is */

            if ((c & 0xe0) == 0xc0) {
                len = 2;
                cp = c & 0x1f;
                min = 0x80;

            } else if ((c & 0xf0) == 0xe0) {
                len = 3;
                cp = c & 0x0f;
                min = 0x800;

            } else if ((c & 0xf8) == 0xf0) {
                len = 4;
                cp = c & 0x07;
                min = 0x10000;

            } else {
                len = 0;
                cp = 0;
                min = 1;
            }

            for (k = 1; k < len; k++) {
                if (i + k >= n || (p[i + k] & 0xc0) != 0x80) {
                    len = 0;
                    break;
                }

                cp = cp << 6 | (p[i + k] & 0x3f);
            }

            if (len != 0 && cp >= min && !(cp >= 0xd800 && cp <= 0xdfff)
                && cp <= 0x10ffff && cp != 0xfffe && cp != 0xffff)
            {
                continue;
            }

            ingest_s3xml_raw(out, p + start, i - start);
            ingest_s3xml_raw(out, bad, 3);
            len = 1;
            start = i + 1;
            continue;
        }

        if (c >= 0x20 && c != '&' && c != '<' && c != '>' && c != '"'
            && c != '\'')
        {
            continue;
        }

        ingest_s3xml_raw(out, p + start, i - start);
        start = i + 1;

        switch (c) {

        case '&':
            ingest_s3xml_raw(out, "&amp;", 5);
            break;

        case '<':
            ingest_s3xml_raw(out, "&lt;", 4);
            break;

        case '>':
            ingest_s3xml_raw(out, "&gt;", 4);
            break;

        case '"':
            ingest_s3xml_raw(out, "&quot;", 6);
            break;

        case '\'':
            ingest_s3xml_raw(out, "&apos;", 6);
            break;

        case '\t':
        case '\n':
        case '\r':
            /* as references, so that they survive attribute and line
             * end normalisation */
            ref[0] = '&';
            ref[1] = '#';
            ref[2] = 'x';
            ref[3] = hex[c >> 4];
            ref[4] = hex[c & 0x0f];
            ref[5] = ';';
            ingest_s3xml_raw(out, ref, 6);
            break;

        default:
            ingest_s3xml_raw(out, bad, 3);
            break;
        }
    }

    ingest_s3xml_raw(out, p + start, n - start);
}


static void
ingest_s3xml_elem(ingest_s3xml_out_t *out, const char *name,
    const unsigned char *p, size_t n)
{
    ingest_s3xml_raw(out, "<", 1);
    ingest_s3xml_cstr(out, name);
    ingest_s3xml_raw(out, ">", 1);

    if (p != NULL) {
        ingest_s3xml_text_out(out, p, n);
    }

    ingest_s3xml_raw(out, "</", 2);
    ingest_s3xml_cstr(out, name);
    ingest_s3xml_raw(out, ">", 1);
}


static void
ingest_s3xml_elem_url(ingest_s3xml_out_t *out, const char *name,
    const ingest_str_t *s, int url)
{
    size_t         i, k;
    unsigned char  enc[3 * 64];

    if (!url || s->data == NULL) {
        ingest_s3xml_elem(out, name, s->data, s->len);
        return;
    }

    /* URI-encoded text needs no XML escaping */

    ingest_s3xml_raw(out, "<", 1);
    ingest_s3xml_cstr(out, name);
    ingest_s3xml_raw(out, ">", 1);

    for (i = 0; i < s->len; i += k) {
        k = s->len - i < 64 ? s->len - i : 64;
        ingest_s3xml_raw(out, enc, ingest_s3_uri_encode(enc, s->data + i, k,
                                                        1));
    }

    ingest_s3xml_raw(out, "</", 2);
    ingest_s3xml_cstr(out, name);
    ingest_s3xml_raw(out, ">", 1);
}


static void
ingest_s3xml_elem_u64(ingest_s3xml_out_t *out, const char *name, uint64_t v)
{
    size_t         n;
    unsigned char  num[20];

    n = ingest_format_u64(num, v);
    ingest_s3xml_elem(out, name, num, n);
}


static void
ingest_s3xml_elem_time(ingest_s3xml_out_t *out, const char *name, int64_t t)
{
    unsigned char  iso[INGEST_S3_ISO8601_LEN];

    ingest_s3xml_elem(out, name, iso, ingest_s3_format_iso8601(iso, t));
}


/* under the prefix and after the markers */

static int
ingest_s3xml_listed(const ingest_s3xml_list_uploads_t *in,
    const ingest_s3xml_upload_t *u)
{
    int  c;

    if (in->prefix.len != 0
        && (u->key.len < in->prefix.len
            || memcmp(u->key.data, in->prefix.data, in->prefix.len) != 0))
    {
        return 0;
    }

    if (in->key_marker.len == 0) {
        return 1;
    }

    c = ingest_s3xml_cmp(&u->key, &in->key_marker);

    if (c == 0 && in->upload_id_marker.len != 0) {
        return ingest_s3xml_cmp(&u->upload_id, &in->upload_id_marker) > 0;
    }

    return c > 0;
}


static int
ingest_s3xml_cmp(const ingest_str_t *a, const ingest_str_t *b)
{
    int     c;
    size_t  n;

    n = a->len < b->len ? a->len : b->len;
    c = (n != 0) ? memcmp(a->data, b->data, n) : 0;

    if (c != 0) {
        return c;
    }

    return (a->len > b->len) - (a->len < b->len);
}


static int
ingest_s3xml_upload_cmp(const void *a, const void *b)
{
    int                           c;
    const ingest_s3xml_upload_t  *ua, *ub;

    ua = a;
    ub = b;

    c = ingest_s3xml_cmp(&ua->key, &ub->key);
    if (c != 0) {
        return c;
    }

    return ingest_s3xml_cmp(&ua->upload_id, &ub->upload_id);
}
