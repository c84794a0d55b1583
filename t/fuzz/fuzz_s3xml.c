
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for the S3 XML code. The first byte picks what the
 * rest is:
 *   0  a CompleteMultipartUpload body; what parses has ascending part
 *      numbers in 1..10000 and parses the same once written again
 *   1  text: escaped, it has no markup characters and only valid UTF-8;
 *      inside an ETag it parses, and an ETag comes back as itself
 *   2  lines for the list writers (keys, upload ids, markers, prefix):
 *      the documents have the sized length and escaped text only
 */


#include "ingest_s3xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void fuzz_complete(const unsigned char *data, size_t size);
static void fuzz_escape(const unsigned char *data, size_t size);
static void fuzz_lists(const unsigned char *data, size_t size);
static void fuzz_text_ok(const unsigned char *p, size_t len);
static void fuzz_doc(size_t (*w)(unsigned char *, size_t, const void *),
    const void *in);
static size_t fuzz_w_parts(unsigned char *buf, size_t cap, const void *in);
static size_t fuzz_w_uploads(unsigned char *buf, size_t cap,
    const void *in);


static ingest_s3xml_part_t  fuzz_parts[INGEST_S3_MAX_PART_NUMBER];
static ingest_s3xml_part_t  fuzz_parts2[INGEST_S3_MAX_PART_NUMBER];


static void
fuzz_complete(const unsigned char *data, size_t size)
{
    size_t          i, n, n2, len;
    unsigned char  *doc;

    if (ingest_s3xml_parse_complete(data, size, fuzz_parts,
                                    INGEST_S3_MAX_PART_NUMBER, &n)
        != INGEST_S3_OK)
    {
        return;
    }

    if (n == 0 || n > INGEST_S3_MAX_PART_NUMBER) {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (fuzz_parts[i].number < 1
            || fuzz_parts[i].number > INGEST_S3_MAX_PART_NUMBER
            || (i != 0 && fuzz_parts[i].number <= fuzz_parts[i - 1].number))
        {
            abort();
        }
    }

    /* as botocore writes it */

    doc = malloc(100 + n * 100);
    if (doc == NULL) {
        abort();
    }

    len = (size_t) sprintf((char *) doc, "<CompleteMultipartUpload xmlns=\""
                           INGEST_S3_XMLNS "\">");

    for (i = 0; i < n; i++) {
        len += (size_t) sprintf((char *) doc + len, "<Part><ETag>");

        if (fuzz_parts[i].etag_ok) {
            len += ingest_s3_etag(doc + len, fuzz_parts[i].md5);

        } else {
            len += (size_t) sprintf((char *) doc + len, "\"x\"");
        }

        len += (size_t) sprintf((char *) doc + len, "</ETag><PartNumber>%u"
                                "</PartNumber></Part>",
                                (unsigned) fuzz_parts[i].number);
    }

    len += (size_t) sprintf((char *) doc + len,
                            "</CompleteMultipartUpload>");

    if (ingest_s3xml_parse_complete(doc, len, fuzz_parts2,
                                    INGEST_S3_MAX_PART_NUMBER, &n2)
        != INGEST_S3_OK || n2 != n)
    {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (fuzz_parts2[i].number != fuzz_parts[i].number
            || fuzz_parts2[i].etag_ok != fuzz_parts[i].etag_ok
            || (fuzz_parts[i].etag_ok
                && memcmp(fuzz_parts2[i].md5, fuzz_parts[i].md5, 16) != 0))
        {
            abort();
        }
    }

    free(doc);
}


/* no markup characters, no control characters, valid UTF-8 */

static void
fuzz_text_ok(const unsigned char *p, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp;

    static const char  *refs[] = {
        "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#x09;", "&#x0A;",
        "&#x0D;", NULL
    };

    for (i = 0; i < len; i += n) {
        cp = p[i];
        n = 1;

        if (cp == '<' || cp == '>' || cp == '"' || cp == '\'' || cp < 0x20) {
            abort();
        }

        if (cp == '&') {
            for (k = 0; refs[k] != NULL; k++) {
                if (len - i >= strlen(refs[k])
                    && memcmp(p + i, refs[k], strlen(refs[k])) == 0)
                {
                    break;
                }
            }

            if (refs[k] == NULL) {
                abort();
            }

            n = strlen(refs[k]);
            continue;
        }

        if (cp < 0x80) {
            continue;
        }

        n = (cp & 0xe0) == 0xc0 ? 2 : (cp & 0xf0) == 0xe0 ? 3
            : (cp & 0xf8) == 0xf0 ? 4 : 0;

        if (n == 0 || len - i < n) {
            abort();
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                abort();
            }
        }
    }
}


static void
fuzz_escape(const unsigned char *data, size_t size)
{
    size_t               len, n;
    unsigned char       *esc, *doc, md5[16];
    ingest_s3xml_part_t  part;

    static const char  head[] =
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>";
    static const char  tail[] = "</ETag></Part></CompleteMultipartUpload>";

    len = ingest_s3xml_escape(NULL, data, size);
    esc = malloc(len + 1);
    doc = malloc(len + sizeof(head) + sizeof(tail));

    if (esc == NULL || doc == NULL || len > 6 * size
        || ingest_s3xml_escape(esc, data, size) != len)
    {
        abort();
    }

    fuzz_text_ok(esc, len);

    memcpy(doc, head, sizeof(head) - 1);
    memcpy(doc + sizeof(head) - 1, esc, len);
    memcpy(doc + sizeof(head) - 1 + len, tail, sizeof(tail) - 1);

    if (ingest_s3xml_parse_complete(doc, sizeof(head) - 1 + len
                                         + sizeof(tail) - 1,
                                    &part, 1, &n)
        != INGEST_S3_OK || n != 1 || part.number != 1)
    {
        abort();
    }

    /* an ETag survives escaping and parsing */

    if (ingest_s3_etag_parse(data, size, md5) == 0
        && (!part.etag_ok || memcmp(md5, part.md5, 16) != 0))
    {
        abort();
    }

    free(esc);
    free(doc);
}


static size_t
fuzz_w_parts(unsigned char *buf, size_t cap, const void *in)
{
    return ingest_s3xml_list_parts(buf, cap, in);
}


static size_t
fuzz_w_uploads(unsigned char *buf, size_t cap, const void *in)
{
    return ingest_s3xml_list_uploads(buf, cap, in);
}


/* sized, written, written cut: the same bytes */

static void
fuzz_doc(size_t (*w)(unsigned char *, size_t, const void *), const void *in)
{
    size_t          len, cut;
    unsigned char  *buf, *buf2;

    len = w(NULL, 0, in);
    buf = malloc(len + 1);
    buf2 = malloc(len + 1);

    if (buf == NULL || buf2 == NULL || w(buf, len, in) != len) {
        abort();
    }

    cut = len / 3;
    buf2[cut] = 0x5a;

    if (w(buf2, cut, in) != len || buf2[cut] != 0x5a
        || memcmp(buf, buf2, cut) != 0)
    {
        abort();
    }

    /* after the declaration: markup and escaped text only */

    if (len < 40 || memcmp(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                           39) != 0)
    {
        abort();
    }

    free(buf);
    free(buf2);
}


static void
fuzz_lists(const unsigned char *data, size_t size)
{
    size_t                        i, n, nlines;
    ingest_str_t                  lines[40];
    ingest_s3xml_upload_t         up[32];
    ingest_s3xml_list_part_t      parts[64];
    ingest_s3xml_list_parts_t     lp;
    ingest_s3xml_list_uploads_t   lu;
    const unsigned char          *p, *end, *nl;

    /* lines: bucket, key, prefix, key marker, id marker, then uploads */

    nlines = 0;
    p = data;
    end = data + size;

    while (nlines < 40) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }

        lines[nlines].data = p;
        lines[nlines].len = (size_t) (nl - p);
        nlines++;

        if (nl == end) {
            break;
        }

        p = nl + 1;
    }

    while (nlines < 6) {
        lines[nlines].data = data;
        lines[nlines].len = 0;
        nlines++;
    }

    /* parts numbered by the bytes of the key line, made ascending */

    n = 0;

    for (i = 0; i < lines[1].len && n < 64; i++) {
        parts[n].number = (uint32_t) (n == 0 ? 0 : parts[n - 1].number)
                          + 1 + lines[1].data[i];
        parts[n].last_modified = (int64_t) lines[1].data[i] << 24;
        parts[n].size = lines[1].data[i];
        memset(parts[n].md5, lines[1].data[i], 16);
        n++;
    }

    memset(&lp, 0, sizeof(lp));
    lp.bucket = lines[0];
    lp.key = lines[1];
    lp.upload_id = lines[4];
    lp.owner = lines[3];
    lp.part_number_marker = size > 0 ? data[0] : 0;
    lp.max_parts = size > 1 ? data[1] % 8 : 1000;
    lp.parts = parts;
    lp.nparts = n;

    fuzz_doc(fuzz_w_parts, &lp);

    n = 0;

    for (i = 5; i < nlines && n < 32; i++, n++) {
        up[n].key = lines[i];
        up[n].upload_id = lines[(i + 1) % nlines];
        up[n].initiated = (int64_t) i * 1000003;
    }

    ingest_s3xml_sort_uploads(up, n);

    for (i = 1; i < n; i++) {
        size_t  m = up[i].key.len < up[i - 1].key.len ? up[i].key.len
                                                      : up[i - 1].key.len;
        int     c = m ? memcmp(up[i - 1].key.data, up[i].key.data, m) : 0;

        if (c > 0 || (c == 0 && up[i - 1].key.len > up[i].key.len)) {
            abort();
        }
    }

    memset(&lu, 0, sizeof(lu));
    lu.bucket = lines[0];
    lu.prefix = lines[2];
    lu.key_marker = lines[3];
    lu.upload_id_marker = lines[4];
    lu.owner = lines[1];
    lu.max_uploads = size > 2 ? data[2] % 6 : 1000;
    lu.encoding_url = size > 3 && (data[3] & 1);
    lu.uploads = up;
    lu.nuploads = n;

    fuzz_doc(fuzz_w_uploads, &lu);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0) {
        return 0;
    }

    switch (data[0] % 3) {

    case 0:
        fuzz_complete(data + 1, size - 1);
        break;

    case 1:
        fuzz_escape(data + 1, size - 1);
        break;

    default:
        fuzz_lists(data + 1, size - 1);
        break;
    }

    return 0;
}
