
/*
 * Copyright (C) nginx video ingest developers
 *
 * S3 XML: CompleteMultipartUpload bodies as the SDKs write them, hostile
 * documents, every prefix of a valid one; the response writers, checked
 * byte for byte and by botocore's own response parser (s3_vectors.py
 * parse).
 */


#include "ingest_s3xml.h"
#include "test.h"

#include <unistd.h>


#define ETAG1  "\"0123456789abcdef0123456789abcdef\""
#define ETAG2  "\"fedcba9876543210fedcba9876543210\""

#define BOTO                                                                  \
    "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"           \
    "2006-03-01/\"><Part><ETag>" ETAG1 "</ETag><PartNumber>1</PartNumber>"    \
    "</Part><Part><ETag>" ETAG2 "</ETag><PartNumber>2</PartNumber></Part>"    \
    "</CompleteMultipartUpload>"


static ingest_s3_rc_t parse(const char *doc, size_t len, size_t *n);
static size_t writer_check(size_t (*w)(unsigned char *, size_t,
    const void *), const void *in, unsigned char *buf);
static size_t w_initiate(unsigned char *buf, size_t cap, const void *in);
static size_t w_complete(unsigned char *buf, size_t cap, const void *in);
static size_t w_list_parts(unsigned char *buf, size_t cap, const void *in);
static size_t w_list_uploads(unsigned char *buf, size_t cap,
    const void *in);
static size_t w_error(unsigned char *buf, size_t cap, const void *in);
static int boto_parse(const char *op, int status, const unsigned char *doc,
    size_t len, char *out, size_t cap);
static void test_parse_ok(void);
static void test_parse_hostile(void);
static void test_parse_semantics(void);
static void test_prefixes(void);
static void test_writers(void);
static void test_list_parts(void);
static void test_list_uploads(void);
static void test_error(void);
static void test_s3xml(void);


static ingest_s3xml_part_t  parts[INGEST_S3_MAX_PART_NUMBER + 1];


static ingest_s3_rc_t
parse(const char *doc, size_t len, size_t *n)
{
    ingest_s3_rc_t   rc;
    unsigned char   *copy;

    copy = test_dup(doc, len);
    rc = ingest_s3xml_parse_complete(copy, len, parts,
                                     INGEST_S3_MAX_PART_NUMBER, n);
    free(copy);

    return rc;
}


#define PARSE(doc, rc)                                                        \
    do {                                                                      \
        size_t  n_;                                                           \
        ingest_s3_rc_t  rc_ = parse(doc, strlen(doc), &n_);                   \
        if (rc_ != (rc)) {                                                    \
            TEST_FAIL("%s: %s for %.200s", #rc, ingest_s3_error_code(rc_),    \
                      doc);                                                   \
        } else {                                                              \
            test_passed++;                                                    \
        }                                                                     \
    } while (0)


static void
test_parse_ok(void)
{
    size_t  n;

    /* botocore */

    CHECK_INT(parse(BOTO, strlen(BOTO), &n), INGEST_S3_OK);
    CHECK_U64(n, 2);
    CHECK_INT(parts[0].number, 1);
    CHECK(parts[0].etag_ok);
    CHECK_INT(parts[0].md5[0], 0x01);
    CHECK_INT(parts[0].md5[15], 0xef);
    CHECK_INT(parts[1].number, 2);
    CHECK_INT(parts[1].md5[0], 0xfe);

    /* the JS SDK: declaration, &quot;, checksums, fields in any order */

    PARSE("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
          "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
          "2006-03-01/\"><Part><ChecksumCRC32>AAAAAA==</ChecksumCRC32>"
          "<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>"
          "<PartNumber>1</PartNumber></Part><Part><PartNumber>3</PartNumber>"
          "<ChecksumSHA256>x+/=</ChecksumSHA256><ETag>" ETAG2 "</ETag>"
          "<ChecksumCRC32C/><ChecksumCRC64NVME>a</ChecksumCRC64NVME>"
          "<ChecksumSHA1></ChecksumSHA1></Part></CompleteMultipartUpload>",
          INGEST_S3_OK);
    CHECK(parts[0].etag_ok && parts[1].etag_ok);
    CHECK_INT(parts[1].number, 3);

    /* the aws cli's pretty file, CRLF, BOM, comments, unquoted ETags */

    PARSE("\xef\xbb\xbf<?xml version='1.0'?>\r\n<!-- parts -->\r\n"
          "<CompleteMultipartUpload>\r\n  <Part>\r\n"
          "    <PartNumber> 7 </PartNumber>\r\n"
          "    <ETag>\n 0123456789ABCDEF0123456789abcdef\t</ETag>\r\n"
          "  </Part >\r\n  <!-- more -->\r\n"
          "  <Part><ETag><!-- c -->" ETAG1 "</ETag>"
          "<PartNumber>8</PartNumber></Part>\r\n"
          "</CompleteMultipartUpload   >\r\n<!-- end -->\n",
          INGEST_S3_OK);
    CHECK_INT(parts[0].number, 7);
    CHECK(parts[0].etag_ok);
    CHECK(parts[1].etag_ok);

    /* white space inside the tags */

    PARSE("<CompleteMultipartUpload\n><Part\t><PartNumber \r\n>1"
          "</PartNumber\n><ETag\n/><ChecksumCRC32 />"
          "</Part ></CompleteMultipartUpload >", INGEST_S3_OK);
    CHECK_INT(parts[0].number, 1);
    CHECK(!parts[0].etag_ok);

    /* character references in an ETag */

    PARSE("<CompleteMultipartUpload><Part><PartNumber>&#49;</PartNumber>"
          "<ETag>&#x22;0123456789abcdef0123456789abcde&#102;&#34;</ETag>"
          "</Part></CompleteMultipartUpload>", INGEST_S3_OK);
    CHECK_INT(parts[0].number, 1);
    CHECK(parts[0].etag_ok);

    /* attributes of the root: any, quoted either way */

    PARSE("<CompleteMultipartUpload a='1' b=\"x&amp;y\"\n c = 'z' >"
          "<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag></Part>"
          "</CompleteMultipartUpload>", INGEST_S3_OK);

    /* ETags that are no MD5: parsed, not matching any part */

    PARSE("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
          "<ETag>\"abc-2\"</ETag></Part><Part><PartNumber>2</PartNumber>"
          "<ETag/></Part></CompleteMultipartUpload>", INGEST_S3_OK);
    CHECK(!parts[0].etag_ok);
    CHECK(!parts[1].etag_ok);

    {
        char  *doc = malloc(1000);

        strcpy(doc, "<CompleteMultipartUpload><Part><PartNumber>1"
               "</PartNumber><ETag>");
        memset(doc + strlen(doc), 'a', 300);
        doc[63 + 300] = '\0';
        strcat(doc, "</ETag></Part></CompleteMultipartUpload>");
        PARSE(doc, INGEST_S3_OK);
        CHECK(!parts[0].etag_ok);
        free(doc);
    }
}


static void
test_parse_hostile(void)
{
    size_t  i, n;
    char   *big;

#define PART  "<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag></Part>"
#define ROOT(x)  "<CompleteMultipartUpload>" x "</CompleteMultipartUpload>"

    static const char  *bad[] = {
        "",
        " ",
        "<?xml version=\"1.0\"?>",
        "<CompleteMultipartUpload/>",
        ROOT(""),
        ROOT("  "),
        "<!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
            ROOT(PART),
        "<!DOCTYPE CompleteMultipartUpload SYSTEM \"file:///etc/passwd\">"
            ROOT(PART),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&b;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&amp</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#0;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#1;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#xD800;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#xFFFE;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#x110000;</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#99999999999;</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#x;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#12a;</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>&#12</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag><![CDATA[x]]></ETag>"
             "</Part>"),
        ROOT("<?pi x?>" PART),
        "<?xml-stylesheet href='x'?>" ROOT(PART),
        "<?xml version=\"1.0\"" ROOT(PART),
        "<?xml version=\"1.0\"?><?xml version=\"1.0\"?>" ROOT(PART),
        " <?xml version=\"1.0\"?>" ROOT(PART),
        ROOT(PART) "x",
        ROOT(PART) ROOT(PART),
        ROOT(PART) "<!-- x",
        ROOT("<!-- a -- b -->" PART),
        ROOT("<!-- a --->" PART),
        ROOT("<!--" PART),
        "text" ROOT(PART),
        ROOT("text" PART),
        ROOT(PART "text"),
        ROOT("<Part>x<PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag></Part>"),
        ROOT("<Part a='b'><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber a='b'>1</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part/>"),
        ROOT("<Part><PartNumber>1</PartNumber></Part>"),
        ROOT("<Part><ETag>" ETAG1 "</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><PartNumber>1</PartNumber>"
             "<ETag>" ETAG1 "</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
             "<ETag>" ETAG1 "</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
             "<ChecksumCRC32/><ChecksumCRC32/></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
             "<Size>5</Size></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
             "<ChecksumMD5>x</ChecksumMD5></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag><x/></ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>a<b</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</Etag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag></part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag x>"
             "</Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag/>"
             "</Part>"),
        ROOT("<Part><PartNumber>1<ETag>" ETAG1 "</ETag></PartNumber></Part>"),
        ROOT("<Part><Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part></Part>"),
        ROOT("<Parts>" PART "</Parts>"),
        ROOT("<s3:Part>" PART "</s3:Part>"),
        "<s3:CompleteMultipartUpload xmlns:s3=\"x\">" PART
            "</s3:CompleteMultipartUpload>",
        "<CompleteMultipartUploadX>" PART "</CompleteMultipartUploadX>",
        "<CompleteMultipartUpload>" PART "</CompleteMultipartUploadX>",
        "<completemultipartupload>" PART "</completemultipartupload>",
        "<CompleteMultipartUpload a>" PART "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload a=b>" PART "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload a='1' a='2'>" PART
            "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload a='<'>" PART "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload a='&x;'>" PART "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload a='1'b='2'>" PART
            "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload a='1>" PART "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload a='1' b='2' c='3' d='4' e='5' f='6' g='7'"
            " h='8' i='9'>" PART "</CompleteMultipartUpload>",
        "< CompleteMultipartUpload>" PART "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload>" PART "</ CompleteMultipartUpload>",
        ROOT("<Part><PartNumber>abc</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber></PartNumber><ETag>" ETAG1 "</ETag></Part>"),
        ROOT("<Part><PartNumber/><ETag>" ETAG1 "</ETag></Part>"),
        ROOT("<Part><PartNumber>+1</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>-1</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>1 2</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>1.0</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>0x1</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>\xd9\xa1</PartNumber><ETag>" ETAG1 "</ETag>"
             "</Part>"),
        /* bytes that are no XML characters */
        ROOT("<Part><PartNumber>1</PartNumber><ETag>\x01</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>\xff</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>\xc3</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>\xc0\x80</ETag></Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>\xed\xa0\x80</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>\xef\xbf\xbe</ETag>"
             "</Part>"),
        ROOT("<Part><PartNumber>1</PartNumber><ETag>\xf4\x90\x80\x80</ETag>"
             "</Part>"),
        "\xfe\xff" ROOT(PART),
        NULL
    };

    for (i = 0; bad[i] != NULL; i++) {
        if (parse(bad[i], strlen(bad[i]), &n) != INGEST_S3_MALFORMED_XML) {
            TEST_FAIL("bad[%zu] accepted: %s", i, bad[i]);
        } else {
            test_passed++;
        }
    }

    /* a NUL byte */

    {
        char  doc[] = ROOT("<Part><PartNumber>1</PartNumber><ETag>x</ETag>"
                           "</Part>");

        *strchr(doc, 'x') = '\0';
        CHECK_INT(parse(doc, sizeof(doc) - 1, &n), INGEST_S3_MALFORMED_XML);
    }

    /* deep nesting, a huge document, a huge attribute */

    big = malloc(INGEST_S3XML_MAX_BODY + 100);

    for (i = 0; i < 200000; i++) {
        memcpy(big + 6 * i, "<Part>", 6);
    }

    big[6 * i] = '\0';
    PARSE(big, INGEST_S3_MALFORMED_XML);

    memset(big, ' ', INGEST_S3XML_MAX_BODY + 1);
    memcpy(big, ROOT(PART), strlen(ROOT(PART)));
    CHECK_INT(parse(big, INGEST_S3XML_MAX_BODY, &n), INGEST_S3_OK);
    CHECK_INT(parse(big, INGEST_S3XML_MAX_BODY + 1, &n),
              INGEST_S3_MALFORMED_XML);

    strcpy(big, "<CompleteMultipartUpload a='");
    memset(big + strlen(big), 'x', 1000000);
    strcpy(big + 28 + 1000000, "'>" PART "</CompleteMultipartUpload>");
    PARSE(big, INGEST_S3_OK);

    free(big);

    CHECK_INT(ingest_s3xml_parse_complete(NULL, 0, parts, 1, &n),
              INGEST_S3_MALFORMED_XML);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_MALFORMED_XML), 400);
}


static void
test_parse_semantics(void)
{
    size_t  i, n, len;
    char   *doc;

    /* part numbers 1..10000, ascending */

    PARSE(ROOT("<Part><PartNumber>0</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part>"), INGEST_S3_INVALID_PART_NUMBER);
    PARSE(ROOT("<Part><PartNumber>10001</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part>"), INGEST_S3_INVALID_PART_NUMBER);
    PARSE(ROOT("<Part><PartNumber>99999999999999999999999</PartNumber>"
               "<ETag>" ETAG1 "</ETag></Part>"),
          INGEST_S3_INVALID_PART_NUMBER);
    PARSE(ROOT("<Part><PartNumber>0010000</PartNumber><ETag>" ETAG1
               "</ETag></Part>"), INGEST_S3_OK);
    CHECK_INT(parts[0].number, 10000);
    CHECK_INT(ingest_s3_http_status(INGEST_S3_INVALID_PART_NUMBER), 400);

    PARSE(ROOT("<Part><PartNumber>2</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part><Part><PartNumber>1</PartNumber><ETag>" ETAG1
               "</ETag></Part>"), INGEST_S3_INVALID_PART_ORDER);
    PARSE(ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part><Part><PartNumber>1</PartNumber><ETag>" ETAG1
               "</ETag></Part>"), INGEST_S3_INVALID_PART_ORDER);
    PARSE(ROOT("<Part><PartNumber>1</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part><Part><PartNumber>3</PartNumber><ETag>" ETAG1
               "</ETag></Part>"), INGEST_S3_OK);

    /* malformed wins over the order, the first semantic error counts */

    PARSE(ROOT("<Part><PartNumber>2</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part><Part><PartNumber>1</PartNumber><ETag>" ETAG1
               "</ETag></Part><Part>"), INGEST_S3_MALFORMED_XML);
    PARSE(ROOT("<Part><PartNumber>2</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part><Part><PartNumber>1</PartNumber><ETag>" ETAG1
               "</ETag></Part><Part><PartNumber>0</PartNumber><ETag/>"
               "</Part>"), INGEST_S3_INVALID_PART_ORDER);
    PARSE(ROOT("<Part><PartNumber>0</PartNumber><ETag>" ETAG1 "</ETag>"
               "</Part><Part><PartNumber>2</PartNumber><ETag>" ETAG1
               "</ETag></Part><Part><PartNumber>1</PartNumber><ETag/>"
               "</Part>"), INGEST_S3_INVALID_PART_NUMBER);

    /* all 10000 parts; one more is too many */

    doc = malloc(12 * 1024 * 1024);
    len = sprintf(doc, "<CompleteMultipartUpload>");

    for (i = 1; i <= 10000; i++) {
        len += sprintf(doc + len, "<Part><PartNumber>%zu</PartNumber>"
                       "<ETag>\"%032zx\"</ETag></Part>", i, i);
    }

    strcpy(doc + len, "</CompleteMultipartUpload>");
    len += 26;
    CHECK(len < INGEST_S3XML_MAX_BODY);

    CHECK_INT(parse(doc, len, &n), INGEST_S3_OK);
    CHECK_U64(n, 10000);
    CHECK_INT(parts[9999].number, 10000);
    CHECK_INT(parts[9999].md5[15], 0x10);
    CHECK_INT(parts[9999].md5[14], 0x27);

    {
        unsigned char  *copy = test_dup(doc, len);

        CHECK_INT(ingest_s3xml_parse_complete(copy, len, parts, 9999, &n),
                  INGEST_S3_MALFORMED_XML);
        CHECK_U64(n, 0);
        free(copy);
    }

    len -= 26;
    len += sprintf(doc + len, "<Part><PartNumber>10000</PartNumber>"
                   "<ETag>x</ETag></Part></CompleteMultipartUpload>");
    CHECK_INT(parse(doc, len, &n), INGEST_S3_INVALID_PART_ORDER);

    free(doc);
}


/* every prefix of valid documents is refused, and reads stay inside */

static void
test_prefixes(void)
{
    size_t  i, len, n, bad;

    static const char  *docs[] = {
        BOTO,
        "\xef\xbb\xbf<?xml version=\"1.0\"?><!-- c --><CompleteMultipartUpload"
            " a='&amp;&#x41;'><Part><PartNumber>&#49;</PartNumber><ETag>"
            "&quot;0123456789abcdef0123456789abcdef&quot;</ETag>"
            "<ChecksumCRC32/></Part></CompleteMultipartUpload>",
        NULL
    };

    for (i = 0; docs[i] != NULL; i++) {
        len = strlen(docs[i]);
        bad = 0;

        for (n = 0; n < len; n++) {
            size_t  np;

            if (parse(docs[i], n, &np) != INGEST_S3_MALFORMED_XML) {
                bad++;
            }
        }

        CHECK_U64(bad, 0);
        CHECK_INT(parse(docs[i], len, &n), INGEST_S3_OK);
    }
}


static size_t
w_initiate(unsigned char *buf, size_t cap, const void *in)
{
    return ingest_s3xml_initiate(buf, cap, in);
}


static size_t
w_complete(unsigned char *buf, size_t cap, const void *in)
{
    return ingest_s3xml_complete(buf, cap, in);
}


static size_t
w_list_parts(unsigned char *buf, size_t cap, const void *in)
{
    return ingest_s3xml_list_parts(buf, cap, in);
}


static size_t
w_list_uploads(unsigned char *buf, size_t cap, const void *in)
{
    return ingest_s3xml_list_uploads(buf, cap, in);
}


static size_t
w_error(unsigned char *buf, size_t cap, const void *in)
{
    return ingest_s3xml_error(buf, cap, in);
}


/*
 * Sizes, writes, and writes into every shorter buffer: the same length
 * back, never a byte past cap.
 */

static size_t
writer_check(size_t (*w)(unsigned char *, size_t, const void *),
    const void *in, unsigned char *buf)
{
    size_t          len, cap, bad;
    unsigned char  *small;

    len = w(NULL, 0, in);

    if (w(buf, len, in) != len) {
        TEST_FAIL("length %zu changed", len);
    }

    buf[len] = '\0';
    bad = 0;

    for (cap = 0; cap < len; cap += 1 + cap / 8) {
        small = malloc(cap + 1);
        small[cap] = 0x5a;

        if (w(small, cap, in) != len || small[cap] != 0x5a
            || (cap != 0 && memcmp(small, buf, cap) != 0))
        {
            bad++;
        }

        free(small);
    }

    CHECK_U64(bad, 0);

    return len;
}


/* botocore parses doc as a response of op; out is its JSON */

static int
boto_parse(const char *op, int status, const unsigned char *doc, size_t len,
    char *out, size_t cap)
{
    int     rc;
    char    path[] = "/tmp/test_s3xml.XXXXXX", cmd[1024];
    FILE   *f;
    size_t  n;

    rc = mkstemp(path);
    if (rc < 0) {
        return -1;
    }

    f = fdopen(rc, "wb");
    fwrite(doc, 1, len, f);
    fclose(f);

    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/s3_vectors.py' parse %s"
             " %d < %s", TEST_SRCDIR, op, status, path);

    f = popen(cmd, "r");
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    rc = pclose(f);
    unlink(path);

    return rc == 0 ? 0 : -1;
}


static void
test_writers(void)
{
    size_t                   len;
    char                     json[65536];
    unsigned char            buf[65536];
    ingest_s3xml_initiate_t  ini;
    ingest_s3xml_complete_t  cmp;

    static const char  key[] = "dir/<a & \"b\">'\x01\t\n.mp4";

    ini.bucket.data = (const unsigned char *) "bkt";
    ini.bucket.len = 3;
    ini.key.data = (const unsigned char *) key;
    ini.key.len = sizeof(key) - 1;
    ini.upload_id.data = (const unsigned char *)
                         "0123456789abcdef0123456789abcdef";
    ini.upload_id.len = 32;

    len = writer_check(w_initiate, &ini, buf);
    CHECK_MEM(buf, len, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com"
              "/doc/2006-03-01/\"><Bucket>bkt</Bucket><Key>dir/&lt;a &amp; "
              "&quot;b&quot;&gt;&apos;\xef\xbf\xbd&#x09;&#x0A;.mp4</Key>"
              "<UploadId>"
              "0123456789abcdef0123456789abcdef</UploadId>"
              "</InitiateMultipartUploadResult>");

    CHECK_INT(boto_parse("CreateMultipartUpload", 200, buf, len, json,
                         sizeof(json)), 0);
    CHECK(strstr(json, "\"Key\": \"dir/<a & \\\"b\\\">'\\ufffd\\t\\n.mp4\"")
          != NULL);
    CHECK(strstr(json, "\"UploadId\": \"0123456789abcdef0123456789abcdef\"")
          != NULL);

    cmp.location.data = (const unsigned char *) "http://h/bkt/k";
    cmp.location.len = 14;
    cmp.bucket = ini.bucket;
    cmp.key.data = (const unsigned char *) "k";
    cmp.key.len = 1;
    cmp.etag.data = (const unsigned char *)
                    "\"4b83ed3e5b720e655a5aff4a52c8d7b0-3\"";
    cmp.etag.len = 36;

    len = writer_check(w_complete, &cmp, buf);
    CHECK_MEM(buf, len, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com"
              "/doc/2006-03-01/\"><Location>http://h/bkt/k</Location>"
              "<Bucket>bkt</Bucket><Key>k</Key><ETag>&quot;4b83ed3e5b720e655a5"
              "aff4a52c8d7b0-3&quot;</ETag></CompleteMultipartUploadResult>");

    CHECK_INT(boto_parse("CompleteMultipartUpload", 200, buf, len, json,
                         sizeof(json)), 0);
    CHECK(strstr(json, "\"ETag\": \"\\\"4b83ed3e5b720e655a5aff4a52c8d7b0-3"
                       "\\\"\"") != NULL);
    CHECK(strstr(json, "\"Location\": \"http://h/bkt/k\"") != NULL);

    cmp.location.data = NULL;
    len = writer_check(w_complete, &cmp, buf);
    CHECK(strstr((char *) buf, "Location") == NULL);

    /* escape() alone */

    CHECK_U64(ingest_s3xml_escape(NULL, (const unsigned char *) "a&b", 3), 7);
    CHECK_U64(ingest_s3xml_escape(buf, (const unsigned char *) "\x1f<", 2),
              7);
    CHECK_MEM(buf, 7, "\xef\xbf\xbd&lt;");
    CHECK_U64(ingest_s3xml_escape(buf, (const unsigned char *)
                                  "\xc3\xbc\xc3 \xff\xe6\xbc\xa2\xed\xa0\x80"
                                  "\xf0\x9f\x8e\xa5"
                                  "\xef\xbf\xbf\r", 19),
              40);
    CHECK_MEM(buf, 40, "\xc3\xbc\xef\xbf\xbd \xef\xbf\xbd\xe6\xbc\xa2"
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x8e\xa5"
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd&#x0D;");
}


static void
test_list_parts(void)
{
    size_t                     i, len;
    char                       json[65536];
    unsigned char              buf[65536];
    ingest_s3xml_list_part_t   lp[5];
    ingest_s3xml_list_parts_t  in;

    for (i = 0; i < 5; i++) {
        lp[i].number = (uint32_t) (i * 2 + 1);
        lp[i].last_modified = 1369353600 + (int64_t) i;
        lp[i].size = 5242880 + i;
        memset(lp[i].md5, (int) (0x11 * i), 16);
    }

    memset(&in, 0, sizeof(in));
    in.bucket.data = (const unsigned char *) "bkt";
    in.bucket.len = 3;
    in.key.data = (const unsigned char *) "a&b";
    in.key.len = 3;
    in.upload_id.data = (const unsigned char *) "u1";
    in.upload_id.len = 2;
    in.owner.data = (const unsigned char *) "alice";
    in.owner.len = 5;
    in.parts = lp;
    in.nparts = 5;
    in.max_parts = 2;
    in.part_number_marker = 1;

    /* after part 1, two parts: 3 and 5, truncated, next marker 5 */

    len = writer_check(w_list_parts, &in, buf);
    CHECK(strstr((char *) buf, "<Key>a&amp;b</Key><UploadId>u1</UploadId>"
                 "<Initiator><ID>alice</ID><DisplayName>alice</DisplayName>"
                 "</Initiator><Owner><ID>alice</ID><DisplayName>alice"
                 "</DisplayName></Owner><StorageClass>STANDARD</StorageClass>"
                 "<PartNumberMarker>1</PartNumberMarker>"
                 "<NextPartNumberMarker>5</NextPartNumberMarker>"
                 "<MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>"
                 "<Part><PartNumber>3</PartNumber>"
                 "<LastModified>2013-05-24T00:00:01.000Z</LastModified>"
                 "<ETag>&quot;11111111111111111111111111111111&quot;</ETag>"
                 "<Size>5242881</Size></Part><Part><PartNumber>5</PartNumber>")
          != NULL);
    CHECK(strstr((char *) buf, "<PartNumber>7</PartNumber>") == NULL);

    CHECK_INT(boto_parse("ListParts", 200, buf, len, json, sizeof(json)), 0);
    CHECK(strstr(json, "\"IsTruncated\": true") != NULL);
    CHECK(strstr(json, "\"NextPartNumberMarker\": 5") != NULL);
    CHECK(strstr(json, "\"PartNumberMarker\": 1") != NULL);
    CHECK(strstr(json, "\"MaxParts\": 2") != NULL);
    CHECK(strstr(json, "\"ETag\": \"\\\"2222222222222222"
                       "2222222222222222\\\"\", \"LastModified\": "
                       "\"2013-05-24 00:00:02+00:00\", \"PartNumber\": 5, "
                       "\"Size\": 5242882") != NULL);
    CHECK(strstr(json, "\"Key\": \"a&b\"") != NULL);

    /* the last page */

    in.part_number_marker = 5;
    in.max_parts = 1000;
    len = writer_check(w_list_parts, &in, buf);
    CHECK(strstr((char *) buf, "<NextPartNumberMarker>9</NextPartNumberMarker>"
                 "<MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>"
                 "<Part><PartNumber>7</PartNumber>") != NULL);
    CHECK_INT(boto_parse("ListParts", 200, buf, len, json, sizeof(json)), 0);
    CHECK(strstr(json, "\"IsTruncated\": false") != NULL);

    /* beyond the last, none, max 0 */

    in.part_number_marker = 9;
    writer_check(w_list_parts, &in, buf);
    CHECK(strstr((char *) buf, "<NextPartNumberMarker>9</NextPartNumberMarker>"
                 "<MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>"
                 "</ListPartsResult>") != NULL);

    in.part_number_marker = 0;
    in.nparts = 0;
    writer_check(w_list_parts, &in, buf);
    CHECK(strstr((char *) buf, "<PartNumberMarker>0</PartNumberMarker>"
                 "<NextPartNumberMarker>0</NextPartNumberMarker>") != NULL);

    in.nparts = 5;
    in.max_parts = 0;
    in.owner.data = NULL;
    writer_check(w_list_parts, &in, buf);
    CHECK(strstr((char *) buf, "<IsTruncated>true</IsTruncated>"
                 "</ListPartsResult>") != NULL);
    CHECK(strstr((char *) buf, "Owner") == NULL);
}


static void
test_list_uploads(void)
{
    size_t                       len;
    char                         json[65536];
    unsigned char                buf[65536];
    ingest_s3xml_upload_t        up[6];
    ingest_s3xml_list_uploads_t  in;

#define UP(i, k, u)                                                           \
    up[i].key.data = (const unsigned char *) k;                               \
    up[i].key.len = strlen(k);                                                \
    up[i].upload_id.data = (const unsigned char *) u;                         \
    up[i].upload_id.len = strlen(u);                                          \
    up[i].initiated = 1369353600 + i

    UP(0, "v/b", "u2");
    UP(1, "v/a b", "u9");
    UP(2, "w", "u1");
    UP(3, "v/b", "u1");
    UP(4, "v", "u5");
    UP(5, "v/a", "u3");

    ingest_s3xml_sort_uploads(up, 6);
    CHECK_MEM(up[0].key.data, up[0].key.len, "v");
    CHECK_MEM(up[1].key.data, up[1].key.len, "v/a");
    CHECK_MEM(up[2].key.data, up[2].key.len, "v/a b");
    CHECK_MEM(up[3].upload_id.data, up[3].upload_id.len, "u1");
    CHECK_MEM(up[4].upload_id.data, up[4].upload_id.len, "u2");
    CHECK_MEM(up[5].key.data, up[5].key.len, "w");

    memset(&in, 0, sizeof(in));
    in.bucket.data = (const unsigned char *) "bkt";
    in.bucket.len = 3;
    in.prefix.data = (const unsigned char *) "v/";
    in.prefix.len = 2;
    in.max_uploads = 3;
    in.uploads = up;
    in.nuploads = 6;
    in.owner.data = (const unsigned char *) "o";
    in.owner.len = 1;

    /* under v/: v/a, v/a b, v/b u1 - truncated before v/b u2 */

    len = writer_check(w_list_uploads, &in, buf);
    CHECK(strstr((char *) buf, "<Bucket>bkt</Bucket><KeyMarker></KeyMarker>"
                 "<UploadIdMarker></UploadIdMarker><NextKeyMarker>v/b"
                 "</NextKeyMarker><Prefix>v/</Prefix><NextUploadIdMarker>u1"
                 "</NextUploadIdMarker><MaxUploads>3</MaxUploads>"
                 "<IsTruncated>true</IsTruncated><Upload><Key>v/a</Key>"
                 "<UploadId>u3</UploadId><Initiator><ID>o</ID><DisplayName>o"
                 "</DisplayName></Initiator><Owner><ID>o</ID><DisplayName>o"
                 "</DisplayName></Owner><StorageClass>STANDARD</StorageClass>"
                 "<Initiated>2013-05-24T00:00:05.000Z</Initiated></Upload>")
          != NULL);
    CHECK(strstr((char *) buf, "<UploadId>u2</UploadId>") == NULL);

    CHECK_INT(boto_parse("ListMultipartUploads", 200, buf, len, json,
                         sizeof(json)), 0);
    CHECK(strstr(json, "\"IsTruncated\": true") != NULL);
    CHECK(strstr(json, "\"NextKeyMarker\": \"v/b\"") != NULL);
    CHECK(strstr(json, "\"NextUploadIdMarker\": \"u1\"") != NULL);
    CHECK(strstr(json, "\"MaxUploads\": 3") != NULL);
    CHECK(strstr(json, "{\"Initiated\": \"2013-05-24 00:00:01+00:00\", "
                       "\"Initiator\": {\"DisplayName\": \"o\", \"ID\": "
                       "\"o\"}, \"Key\": \"v/a b\", \"Owner\": "
                       "{\"DisplayName\": \"o\", \"ID\": \"o\"}, "
                       "\"StorageClass\": \"STANDARD\", \"UploadId\": \"u9\"}")
          != NULL);

    /* the next page: after (v/b, u1) */

    in.key_marker.data = (const unsigned char *) "v/b";
    in.key_marker.len = 3;
    in.upload_id_marker.data = (const unsigned char *) "u1";
    in.upload_id_marker.len = 2;
    writer_check(w_list_uploads, &in, buf);
    CHECK(strstr((char *) buf, "<KeyMarker>v/b</KeyMarker><UploadIdMarker>u1"
                 "</UploadIdMarker><NextKeyMarker>v/b</NextKeyMarker>"
                 "<Prefix>v/</Prefix><NextUploadIdMarker>u2"
                 "</NextUploadIdMarker><MaxUploads>3</MaxUploads>"
                 "<IsTruncated>false</IsTruncated><Upload><Key>v/b</Key>"
                 "<UploadId>u2</UploadId>") != NULL);
    CHECK(strstr((char *) buf, "<Key>v/a") == NULL);

    /* a key marker alone: keys after it */

    in.upload_id_marker.len = 0;
    in.upload_id_marker.data = NULL;
    in.prefix.len = 0;
    in.prefix.data = NULL;
    in.max_uploads = 1000;
    writer_check(w_list_uploads, &in, buf);
    CHECK(strstr((char *) buf, "<IsTruncated>false</IsTruncated><Upload>"
                 "<Key>w</Key>") != NULL);
    CHECK(strstr((char *) buf, "<Key>v/b</Key>") == NULL);

    /* url encoding */

    in.key_marker.data = (const unsigned char *) "v/a";
    in.key_marker.len = 3;
    in.prefix.data = (const unsigned char *) "v/a";
    in.prefix.len = 3;
    in.encoding_url = 1;
    len = writer_check(w_list_uploads, &in, buf);
    CHECK(strstr((char *) buf, "<KeyMarker>v/a</KeyMarker>") != NULL);
    CHECK(strstr((char *) buf, "<Key>v/a%20b</Key>") != NULL);
    CHECK(strstr((char *) buf, "<EncodingType>url</EncodingType>"
                 "</ListMultipartUploadsResult>") != NULL);

    CHECK_INT(boto_parse("ListMultipartUploads", 200, buf, len, json,
                         sizeof(json)), 0);
    CHECK(strstr(json, "\"EncodingType\": \"url\"") != NULL);

    /* nothing to list */

    in.nuploads = 0;
    writer_check(w_list_uploads, &in, buf);
    CHECK(strstr((char *) buf, "<NextKeyMarker></NextKeyMarker>") != NULL);
    CHECK(strstr((char *) buf, "<Upload>") == NULL);
}


static void
test_error(void)
{
    size_t                len;
    char                  json[8192];
    unsigned char         buf[8192];
    ingest_s3_header_t    extra[2];
    ingest_s3xml_error_t  err;

    memset(&err, 0, sizeof(err));
    err.rc = INGEST_S3_NO_SUCH_UPLOAD;
    err.resource.data = (const unsigned char *) "/bkt/k?uploadId=u&x";
    err.resource.len = 19;
    err.request_id.data = (const unsigned char *) "r1";
    err.request_id.len = 2;

    len = writer_check(w_error, &err, buf);
    CHECK_MEM(buf, len, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<Error><Code>NoSuchUpload</Code><Message>The specified "
              "multipart upload does not exist. The upload ID might be "
              "invalid, or the multipart upload might have been aborted or "
              "completed.</Message><Resource>/bkt/k?uploadId=u&amp;x"
              "</Resource><RequestId>r1</RequestId></Error>");

    CHECK_INT(boto_parse("ListParts", 404, buf, len, json, sizeof(json)), 0);
    CHECK(strstr(json, "\"Code\": \"NoSuchUpload\"") != NULL);

    /* a message of our own, extra elements */

    extra[0].name.data = (const unsigned char *) "StringToSign";
    extra[0].name.len = 12;
    extra[0].value.data = (const unsigned char *) "AWS4-HMAC-SHA256\n<x>";
    extra[0].value.len = 20;
    extra[1].name.data = (const unsigned char *) "AWSAccessKeyId";
    extra[1].name.len = 14;
    extra[1].value.data = (const unsigned char *) "AKID";
    extra[1].value.len = 4;

    err.rc = INGEST_S3_SIGNATURE_MISMATCH;
    err.message.data = (const unsigned char *) "nope & nope";
    err.message.len = 11;
    err.extra = extra;
    err.nextra = 2;
    err.resource.data = NULL;
    err.request_id.data = NULL;

    len = writer_check(w_error, &err, buf);
    CHECK_MEM(buf, len, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<Error><Code>SignatureDoesNotMatch</Code><Message>nope &amp; "
              "nope</Message><StringToSign>AWS4-HMAC-SHA256&#x0A;&lt;x&gt;"
              "</StringToSign><AWSAccessKeyId>AKID</AWSAccessKeyId></Error>");

    CHECK_INT(boto_parse("PutObject", 403, buf, len, json, sizeof(json)), 0);
    CHECK(strstr(json, "\"Code\": \"SignatureDoesNotMatch\"") != NULL);
    CHECK(strstr(json, "\"Message\": \"nope & nope\"") != NULL);
}


static void
test_s3xml(void)
{
    test_parse_ok();
    test_parse_hostile();
    test_parse_semantics();
    test_prefixes();
    test_writers();
    test_list_parts();
    test_list_uploads();
    test_error();
}


TEST_MAIN("test_s3xml", test_s3xml)
