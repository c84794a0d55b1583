
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_record.h"
#include "ingest_tus.h"
#include "test.h"


#define ID1  "0123456789abcdef0123456789abcdef"
#define ID2  "fedcba9876543210fedcba9876543210"

#define FULL                                                                  \
    "ingest-record 1\n"                                                       \
    "protocol tus\n"                                                          \
    "length 1048576\n"                                                        \
    "state pending\n"                                                         \
    "concat final\n"                                                          \
    "created 1700000000\n"                                                    \
    "expires 1700086400\n"                                                    \
    "owner alice@example.com\n"                                               \
    "verify 524288\n"                                                         \
    "parts " ID1 " " ID2 "\n"                                                 \
    "metadata filename YS5tcDQ=,filetype dmlkZW8vbXA0,flag\n"

#define MINIMAL                                                               \
    "ingest-record 1\n"                                                       \
    "protocol s3\n"                                                           \
    "length -\n"                                                              \
    "state open\n"                                                            \
    "concat none\n"                                                           \
    "created 0\n"                                                             \
    "expires 0\n"                                                             \
    "owner -\n"                                                               \
    "metadata \n"


static int parse(const char *s, ingest_record_t *rec);
static void test_parse_full(void);
static void test_parse_minimal(void);
static void test_reject(void);
static void test_format(void);
static void test_format_reject(void);
static void test_size_limit(void);
static void test_parts(void);
static void test_expired(void);
static void test_random(void);
static void test_record(void);


static unsigned char  buf[INGEST_RECORD_MAX * 2];
static unsigned char  buf2[INGEST_RECORD_MAX * 2];

/* the last input given to parse(): the record's slices point into it */
static unsigned char  *parse_copy;


/* parses from an exactly-sized heap copy, so ASan sees any overread */

static int
parse(const char *s, ingest_record_t *rec)
{
    size_t  len;

    free(parse_copy);

    len = strlen(s);
    parse_copy = test_dup(s, len);

    return ingest_record_parse(rec, parse_copy, len);
}


static void
test_parse_full(void)
{
    ingest_record_t  rec;

    CHECK_INT(parse(FULL, &rec), 0);
    CHECK_INT(rec.protocol, INGEST_PROTO_TUS);
    CHECK_U64(rec.length, 1048576);
    CHECK_INT(rec.deferred, 0);
    CHECK_INT(rec.state, INGEST_STATE_PENDING);
    CHECK_INT(rec.concat, INGEST_TUS_CONCAT_FINAL);
    CHECK_INT(rec.created, 1700000000);
    CHECK_INT(rec.expires, 1700086400);
    CHECK_MEM(rec.owner.data, rec.owner.len, "alice@example.com");
    CHECK_INT(rec.has_verify, 1);
    CHECK_U64(rec.verify, 524288);
    CHECK_MEM(rec.parts.data, rec.parts.len, ID1 " " ID2);
    CHECK_MEM(rec.metadata.data, rec.metadata.len,
              "filename YS5tcDQ=,filetype dmlkZW8vbXA0,flag");

    /* slices point into the input */
    CHECK(rec.owner.data > parse_copy
          && rec.owner.data < parse_copy + strlen(FULL));
    CHECK(rec.metadata.data + rec.metadata.len
          == parse_copy + strlen(FULL) - 1);

    CHECK_INT(ingest_record_nparts(&rec), 2);
    CHECK_MEM(ingest_record_part(&rec, 0), 32, ID1);
    CHECK_MEM(ingest_record_part(&rec, 1), 32, ID2);
    CHECK(ingest_record_part(&rec, 2) == NULL);
    CHECK(ingest_record_part(&rec, (size_t) -1) == NULL);

    /* the last newline is optional */
    CHECK_INT(ingest_record_parse(&rec, (const unsigned char *) FULL,
                                  strlen(FULL) - 1),
              0);
    CHECK_MEM(rec.metadata.data, rec.metadata.len,
              "filename YS5tcDQ=,filetype dmlkZW8vbXA0,flag");
}


static void
test_parse_minimal(void)
{
    ingest_record_t  rec;

    CHECK_INT(parse(MINIMAL, &rec), 0);
    CHECK_INT(rec.protocol, INGEST_PROTO_S3);
    CHECK_INT(rec.deferred, 1);
    CHECK_U64(rec.length, 0);
    CHECK_INT(rec.state, INGEST_STATE_OPEN);
    CHECK_INT(rec.concat, INGEST_TUS_CONCAT_NONE);
    CHECK_INT(rec.created, 0);
    CHECK_INT(rec.expires, 0);
    CHECK_INT(rec.owner.len, 0);
    CHECK_INT(rec.has_verify, 0);
    CHECK_INT(rec.parts.len, 0);
    CHECK_INT(rec.metadata.len, 0);
    CHECK_INT(ingest_record_nparts(&rec), 0);
    CHECK(ingest_record_part(&rec, 0) == NULL);

    /* "metadata" without the space, with and without the newline */
    CHECK_INT(parse("ingest-record 1\nprotocol tus\nlength 0\nstate complete\n"
                    "concat partial\ncreated 1\nexpires 2\nowner bob\n"
                    "metadata\n", &rec),
              0);
    CHECK_INT(rec.state, INGEST_STATE_COMPLETE);
    CHECK_INT(rec.concat, INGEST_TUS_CONCAT_PARTIAL);
    CHECK_INT(rec.metadata.len, 0);

    CHECK_INT(parse("ingest-record 1\nprotocol tus\nlength 0\n"
                    "state quarantined\nconcat none\ncreated 1\nexpires 2\n"
                    "owner bob\nmetadata", &rec),
              0);
    CHECK_INT(rec.state, INGEST_STATE_QUARANTINED);

    CHECK_INT(parse("ingest-record 1\nprotocol tus\n"
                    "length 9223372036854775807\nstate open\nconcat none\n"
                    "created 9223372036854775807\n"
                    "expires 9223372036854775807\nowner -\n"
                    "verify 9223372036854775807\nmetadata ", &rec),
              0);
    CHECK_U64(rec.length, INT64_MAX);
    CHECK_INT(rec.created, INT64_MAX);
    CHECK_U64(rec.verify, INT64_MAX);
}


static void
test_reject(void)
{
    size_t           i, len;
    ptrdiff_t        meta;
    ingest_record_t  rec;

    static const char  *head =
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\n"
        "concat none\ncreated 1\nexpires 2\nowner bob\n";

    static const char  *bad[] = {
        "",
        "\n",
        "ingest-record 1\n",
        "ingest-record 2\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record  1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol http\nlength 10\nstate open\n"
        "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol TUS\nlength 10\nstate open\n"
        "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata \n",
        /* missing keys */
        "ingest-record 1\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nmetadata \n",
        "protocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        /* order */
        "ingest-record 1\nlength 10\nprotocol tus\nstate open\n"
        "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \nverify 1\n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\nparts " ID1 "\nverify 1\n"
        "metadata \n",
        /* duplicates */
        "ingest-record 1\nprotocol tus\nprotocol tus\nlength 10\n"
        "state open\nconcat none\ncreated 1\nexpires 2\nowner bob\n"
        "metadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nverify 1\nverify 1\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \nmetadata \n",
        /* unknown key */
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\noffset 5\nmetadata \n",
        /* bad numbers */
        "ingest-record 1\nprotocol tus\nlength -1\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 18446744073709551616\n"
        "state open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 9223372036854775808\n"
        "state open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength \nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10 \nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created -1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires x\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nverify -\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nverify\nmetadata \n",
        /* enums */
        "ingest-record 1\nprotocol tus\nlength 10\nstate terminated\n"
        "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat \n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        /* owner */
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner \nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner a b\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner a\tb\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner \xc3\xa9\nmetadata \n",
        /* parts */
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nparts " ID1 "\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\nparts \nmetadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\nparts ../../etc/passwd\n"
        "metadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\nparts " ID1 "  " ID2 "\n"
        "metadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\nparts " ID1 " " ID2 " \n"
        "metadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\nparts " ID1 "," ID2 "\n"
        "metadata \n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat final\n"
        "created 1\nexpires 2\nowner bob\n"
        "parts 0123456789ABCDEF0123456789ABCDEF\nmetadata \n",
        /* metadata */
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata a,a\n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata a Zg\n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata a\r\n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadatax\n",
        /* after the end */
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \n\n",
        "ingest-record 1\nprotocol tus\nlength 10\nstate open\nconcat none\n"
        "created 1\nexpires 2\nowner bob\nmetadata \nx",
        /* CRLF */
        "ingest-record 1\r\nprotocol tus\r\nlength 10\r\nstate open\r\n"
        "concat none\r\ncreated 1\r\nexpires 2\r\nowner bob\r\nmetadata \r\n",
        /* blank line inside */
        "ingest-record 1\nprotocol tus\n\nlength 10\nstate open\n"
        "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata \n",
        /* leading space */
        " ingest-record 1\nprotocol tus\nlength 10\nstate open\n"
        "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata \n"
    };

    CHECK_INT(parse(FULL, &rec), 0);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &rec) != -1) {
            TEST_FAIL("record %zu accepted", i);

        } else {
            test_passed++;
        }
    }

    CHECK_INT(ingest_record_parse(&rec, NULL, 0), -1);
    CHECK_INT(ingest_record_parse(&rec, NULL, 10), -1);

    /* a NUL byte anywhere breaks the record */

    len = strlen(head);
    memcpy(buf, head, len);
    memcpy(buf + len, "metadata \n", 10);
    CHECK_INT(ingest_record_parse(&rec, buf, len + 10), 0);

    for (i = 0; i < len + 10; i++) {
        memcpy(buf2, buf, len + 10);
        buf2[i] = '\0';

        if (ingest_record_parse(&rec, buf2, len + 10) != -1) {
            TEST_FAIL("NUL at %zu accepted", i);

        } else {
            test_passed++;
        }
    }

    /*
     * Every truncation of FULL before the metadata line fails; one that
     * ends at "metadata" or "metadata " is a record without metadata.
     */

    meta = strstr(FULL, "\nmetadata ") + 1 - FULL;

    for (i = 0; i < (size_t) meta + 10; i++) {
        if (ingest_record_parse(&rec, (const unsigned char *) FULL, i)
            != (i == (size_t) meta + 8 || i == (size_t) meta + 9 ? 0 : -1))
        {
            TEST_FAIL("truncation at %zu", i);

        } else {
            test_passed++;
        }
    }
}


static void
test_format(void)
{
    size_t           n, n2, cap;
    ingest_record_t  rec, rec2;

    /* parse -> format gives back the same bytes */

    CHECK_INT(parse(FULL, &rec), 0);
    n = ingest_record_format(&rec, buf, sizeof(buf));
    CHECK_MEM(buf, n, FULL);

    CHECK_INT(parse(MINIMAL, &rec), 0);
    n = ingest_record_format(&rec, buf, sizeof(buf));
    CHECK_MEM(buf, n, MINIMAL);

    /* "metadata" without a space reads back as "metadata " */
    CHECK_INT(parse("ingest-record 1\nprotocol tus\nlength 0\nstate open\n"
                    "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata",
                    &rec),
              0);
    n = ingest_record_format(&rec, buf, sizeof(buf));
    CHECK_MEM(buf, n,
              "ingest-record 1\nprotocol tus\nlength 0\nstate open\n"
              "concat none\ncreated 1\nexpires 2\nowner bob\nmetadata \n");

    /* built by hand */

    memset(&rec, 0, sizeof(rec));
    rec.protocol = INGEST_PROTO_TUS;
    rec.length = 5;
    rec.state = INGEST_STATE_COMPLETE;
    rec.concat = INGEST_TUS_CONCAT_PARTIAL;
    rec.created = 1;
    rec.expires = 0;
    rec.owner.data = (const unsigned char *) "u-1";
    rec.owner.len = 3;
    rec.metadata.data = (const unsigned char *) " a Zg== ";
    rec.metadata.len = 8;
    rec.has_verify = 1;
    rec.verify = 0;

    n = ingest_record_format(&rec, buf, sizeof(buf));
    CHECK_MEM(buf, n,
              "ingest-record 1\nprotocol tus\nlength 5\nstate complete\n"
              "concat partial\ncreated 1\nexpires 0\nowner u-1\nverify 0\n"
              "metadata  a Zg== \n");

    CHECK_INT(ingest_record_parse(&rec2, buf, n), 0);
    CHECK_MEM(rec2.metadata.data, rec2.metadata.len, " a Zg== ");
    CHECK_INT(rec2.has_verify, 1);
    CHECK_U64(rec2.verify, 0);

    /* every cap short of the length fails, the exact length works */

    CHECK_INT(parse(FULL, &rec), 0);
    n = strlen(FULL);

    for (cap = 0; cap < n; cap++) {
        memset(buf2, 'z', sizeof(buf2));

        if (ingest_record_format(&rec, buf2, cap) != 0 || buf2[cap] != 'z') {
            TEST_FAIL("format with cap %zu", cap);
            break;
        }
    }

    CHECK_INT(cap, n);

    n2 = ingest_record_format(&rec, buf2, n);
    CHECK_MEM(buf2, n2, FULL);
}


static void
test_format_reject(void)
{
    ingest_record_t  rec, good;

    CHECK_INT(parse(FULL, &good), 0);
    CHECK(ingest_record_format(&good, buf, sizeof(buf)) != 0);

    rec = good;
    rec.owner.data = (const unsigned char *) "a b";
    rec.owner.len = 3;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.owner.data = (const unsigned char *) "a\nb";
    rec.owner.len = 3;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    /* "-" would read back as anonymous */
    rec = good;
    rec.owner.data = (const unsigned char *) "-";
    rec.owner.len = 1;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.metadata.data = (const unsigned char *) "a Zg==\nstate open";
    rec.metadata.len = 17;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.metadata.data = (const unsigned char *) "a,a";
    rec.metadata.len = 3;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.parts.data = (const unsigned char *) "../../etc/passwd";
    rec.parts.len = 16;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.parts.len = 0;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.concat = INGEST_TUS_CONCAT_NONE;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.concat = 7;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.state = (ingest_state_t) 9;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.protocol = (ingest_proto_t) 2;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.created = -1;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.expires = INT64_MIN;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    rec = good;
    rec.length = UINT64_MAX;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);
    rec.deferred = 1;
    CHECK(ingest_record_format(&rec, buf, sizeof(buf)) != 0);

    rec = good;
    rec.verify = (uint64_t) INT64_MAX + 1;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);
}


static void
test_size_limit(void)
{
    size_t           head, n;
    ingest_record_t  rec;
    unsigned char   *big;

    /* a record of exactly INGEST_RECORD_MAX bytes, then one more */

    big = malloc(INGEST_RECORD_MAX + 1);
    if (big == NULL) {
        return;
    }

    head = strlen(MINIMAL) - 1;             /* "...metadata " */
    memcpy(big, MINIMAL, head);

    /* "v " + base64 'A's (a multiple of 4) + padding spaces + "\n" */
    n = INGEST_RECORD_MAX - head - 3;
    memcpy(big + head, "v ", 2);
    memset(big + head + 2, 'A', n / 4 * 4);
    memset(big + head + 2 + n / 4 * 4, ' ', n - n / 4 * 4);
    big[INGEST_RECORD_MAX - 1] = '\n';

    CHECK_INT(ingest_record_parse(&rec, big, INGEST_RECORD_MAX), 0);
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)),
              INGEST_RECORD_MAX);
    CHECK(memcmp(buf, big, INGEST_RECORD_MAX) == 0);

    big[INGEST_RECORD_MAX - 1] = ' ';
    big[INGEST_RECORD_MAX] = '\n';
    CHECK_INT(ingest_record_parse(&rec, big, INGEST_RECORD_MAX + 1), -1);

    /* the same record one byte longer is not written either */
    CHECK_INT(ingest_record_parse(&rec, big, INGEST_RECORD_MAX), 0);
    rec.metadata.len++;
    CHECK_INT(ingest_record_format(&rec, buf, sizeof(buf)), 0);

    free(big);
}


static void
test_parts(void)
{
    size_t           i, len;
    ingest_record_t  rec;
    unsigned char   *p;

    memset(&rec, 0, sizeof(rec));
    CHECK_INT(ingest_record_nparts(&rec), 0);
    CHECK(ingest_record_part(&rec, 0) == NULL);

    rec.parts.data = (const unsigned char *) ID1;
    rec.parts.len = 32;
    CHECK_INT(ingest_record_nparts(&rec), 1);
    CHECK_MEM(ingest_record_part(&rec, 0), 32, ID1);
    CHECK(ingest_record_part(&rec, 1) == NULL);

    /* a hand-made slice too short for an id */
    rec.parts.len = 31;
    CHECK_INT(ingest_record_nparts(&rec), 0);

    /* INGEST_TUS_MAX_PARTS ids are accepted, one more is not */

    p = malloc((INGEST_TUS_MAX_PARTS + 1) * 33 + 512);
    if (p == NULL) {
        return;
    }

    len = (size_t) sprintf((char *) p,
                           "ingest-record 1\nprotocol tus\nlength -\n"
                           "state pending\nconcat final\ncreated 0\n"
                           "expires 0\nowner -\nparts ");

    for (i = 0; i < INGEST_TUS_MAX_PARTS; i++) {
        ingest_id_format((const unsigned char *) "0123456789abcdef", p + len);
        p[len + 31] = (unsigned char) ("0123456789abcdef"[i % 16]);
        len += 32;
        p[len++] = ' ';
    }

    len--;
    memcpy(p + len, "\nmetadata \n", 11);

    CHECK_INT(ingest_record_parse(&rec, p, len + 11), 0);
    CHECK_INT(ingest_record_nparts(&rec), INGEST_TUS_MAX_PARTS);
    CHECK(ingest_record_part(&rec, INGEST_TUS_MAX_PARTS - 1) != NULL);
    CHECK(ingest_record_part(&rec, INGEST_TUS_MAX_PARTS) == NULL);

    p[len] = ' ';
    memcpy(p + len + 1, ID1, 32);
    memcpy(p + len + 33, "\nmetadata \n", 11);
    CHECK_INT(ingest_record_parse(&rec, p, len + 44), -1);

    free(p);
}


static void
test_expired(void)
{
    ingest_record_t  rec;

    memset(&rec, 0, sizeof(rec));

    rec.expires = 0;
    CHECK_INT(ingest_record_expired(&rec, 0), 0);
    CHECK_INT(ingest_record_expired(&rec, INT64_MAX), 0);

    rec.expires = 1000;
    CHECK_INT(ingest_record_expired(&rec, 999), 0);
    CHECK_INT(ingest_record_expired(&rec, 1000), 1);
    CHECK_INT(ingest_record_expired(&rec, 1001), 1);
    CHECK_INT(ingest_record_expired(&rec, INT64_MIN), 0);
}


/* mutated records: no crash, and what parses formats back identically */

static void
test_random(void)
{
    size_t           i, k, len, n, m;
    uint64_t         seed;
    unsigned long    bad, ok;
    ingest_record_t  rec, rec2;
    unsigned char   *p;

    static const char  chars[] = "-0 9\nA_az=,";

    seed = 11;
    bad = 0;
    ok = 0;

    for (i = 0; i < 50000; i++) {
        len = strlen(FULL);
        p = test_dup(FULL, len);

        n = 1 + test_rand(&seed) % 3;

        for (k = 0; k < n; k++) {
            if (i & 1) {
                p[test_rand(&seed) % len] = (unsigned char) test_rand(&seed);

            } else {
                p[test_rand(&seed) % len] = (unsigned char)
                                            chars[test_rand(&seed) % 11];
            }
        }

        if (test_rand(&seed) % 4 == 0) {
            len = test_rand(&seed) % (len + 1);
        }

        if (ingest_record_parse(&rec, p, len) == 0) {
            ok++;
            m = ingest_record_format(&rec, buf, sizeof(buf));

            if (m == 0 || ingest_record_parse(&rec2, buf, m) != 0
                || ingest_record_format(&rec2, buf2, sizeof(buf2)) != m
                || memcmp(buf, buf2, m) != 0)
            {
                bad++;
            }
        }

        free(p);
    }

    CHECK_INT(bad, 0);
    CHECK(ok > 0);
}


static void
test_record(void)
{
    test_parse_full();
    test_parse_minimal();
    test_reject();
    test_format();
    test_format_reject();
    test_size_limit();
    test_parts();
    test_expired();
    test_random();

    free(parse_copy);
}


TEST_MAIN("test_record", test_record)
