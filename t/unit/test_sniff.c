
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_sniff.h"
#include "test.h"


static ingest_container_t sniff(const void *p, size_t len);
static int matches(ingest_container_t c, const char *type);
static void test_names(void);
static void test_handmade(void);
static void test_quicktime(void);
static void test_ebml(void);
static void test_ts(void);
static void test_matches(void);
static void test_prefixes(const unsigned char *p, size_t len);
static void test_ffmpeg(void);
static void test_random(void);
static void test_sniff_all(void);


/* through an exact-size heap copy, so ASan sees any overread */

static ingest_container_t
sniff(const void *p, size_t len)
{
    unsigned char       *d;
    ingest_container_t   c;

    d = test_dup(p, len);
    c = ingest_sniff(d, len);
    free(d);

    return c;
}


static int
matches(ingest_container_t c, const char *type)
{
    int             rc;
    size_t          len;
    unsigned char  *d;

    len = strlen(type);
    d = test_dup(type, len);
    rc = ingest_sniff_matches(c, d, len);
    free(d);

    return rc;
}


static void
test_names(void)
{
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_UNKNOWN), "unknown")
          == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_MP4), "mp4") == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_MOV), "mov") == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_MATROSKA),
                 "matroska") == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_WEBM), "webm") == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_MPEGTS), "mpegts")
          == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_FLV), "flv") == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_AVI), "avi") == 0);
    CHECK(strcmp(ingest_container_name(INGEST_CONTAINER_LAST), "unknown")
          == 0);
    CHECK(strcmp(ingest_container_name((ingest_container_t) 99), "unknown")
          == 0);
}


static void
test_handmade(void)
{
    CHECK_INT(ingest_sniff(NULL, 100), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("", 0), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("hello, world, this is text", 26),
              INGEST_CONTAINER_UNKNOWN);

    /* FLV: version 1, audio+video flags, header size 9 */

    CHECK_INT(sniff("FLV\x01\x05\x00\x00\x00\x09", 9), INGEST_CONTAINER_FLV);
    CHECK_INT(sniff("FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00", 13),
              INGEST_CONTAINER_FLV);
    CHECK_INT(sniff("FLV\x01\x05\x00\x00\x00", 8), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("FLV\x02\x05\x00\x00\x00\x09", 9),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("FLV\x01\xff\x00\x00\x00\x09", 9),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("FLV\x01\x05\x00\x00\x00\x08", 9),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("flv\x01\x05\x00\x00\x00\x09", 9),
              INGEST_CONTAINER_UNKNOWN);

    /* RIFF: AVI yes, WAVE and WEBP no */

    CHECK_INT(sniff("RIFF\x24\x00\x00\x00" "AVI LIST", 16),
              INGEST_CONTAINER_AVI);
    CHECK_INT(sniff("RIFF\x24\x00\x00\x00" "AVI ", 12), INGEST_CONTAINER_AVI);
    CHECK_INT(sniff("RIFF\x24\x00\x00\x00" "AVI", 11),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("RIFF\x24\x00\x00\x00" "WAVEfmt ", 16),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("RIFF\x24\x00\x00\x00" "WEBPVP8 ", 16),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("RIFX\x24\x00\x00\x00" "AVI ", 12),
              INGEST_CONTAINER_UNKNOWN);

    /* others that must not be taken for video */

    CHECK_INT(sniff("OggS\x00\x02\x00\x00\x00\x00\x00\x00", 12),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01", 10),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("ID3\x04\x00\x00\x00\x00\x00\x00", 10),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8),
              INGEST_CONTAINER_UNKNOWN);
}


static void
test_quicktime(void)
{
    /* ftyp by major brand */

    CHECK_INT(sniff("\x00\x00\x00\x18" "ftypisom\x00\x00\x02\x00"
                    "isomiso2", 24), INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x14" "ftypqt  \x00\x00\x02\x00qt  ", 20),
              INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypmp42\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypmp41\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypavc1\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypiso6\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypdash\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypM4V \x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftyp3gp5\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftyp3g2a\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MP4);

    /* an unknown major brand: the compatible brands decide */

    CHECK_INT(sniff("\x00\x00\x00\x18" "ftypabcd\x00\x00\x00\x00"
                    "wxyzmp42", 24), INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x18" "ftypabcd\x00\x00\x00\x00"
                    "wxyzqt  ", 24), INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x00\x18" "ftypheic\x00\x00\x00\x00"
                    "mif1heic", 24), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x18" "ftypavif\x00\x00\x00\x00"
                    "mif1avif", 24), INGEST_CONTAINER_UNKNOWN);

    /* compatible brands past the box size are not looked at */

    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypabcd\x00\x00\x00\x00"
                    "mp42", 20), INGEST_CONTAINER_UNKNOWN);

    /* sizes that no ftyp box has */

    CHECK_INT(sniff("\x00\x00\x00\x08" "ftypisom", 12),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x00" "ftypisom", 12),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x01\x00\x00" "ftypisom", 12),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftyp", 8), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x10" "ftypis", 10),
              INGEST_CONTAINER_UNKNOWN);

    /* old QuickTime: no ftyp */

    CHECK_INT(sniff("\x00\x00\x00\x08" "wide" "\x00\x00\x10\x00" "mdat", 16),
              INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x10\x00" "mdat\x00\x00\x00\x00", 12),
              INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x00\x00" "mdat", 8), INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x00\x01" "mdat"
                    "\x00\x00\x00\x01\x00\x00\x00\x00", 16),
              INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x00\x01" "mdat"
                    "\x00\x00\x00\x00\x00\x00\x00\x08", 16),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x01" "mdat\x00\x00", 10),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x01\x00" "moov" "\x00\x00\x00\x6c" "mvhd", 16),
              INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x01\x00" "moov", 8), INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x01\x00" "moov" "\x00\x00\x00\x6c" "\x01\x02"
                    "\x03\x04", 16), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x01\x00" "moov" "\x00\x00\x20\x00" "mvhd", 16),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x08" "moov" "\x00\x00\x00\x08" "mvhd", 16),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x04" "mdat", 8), INGEST_CONTAINER_UNKNOWN);

    /* padding, then an ftyp or a movie */

    CHECK_INT(sniff("\x00\x00\x00\x08" "free"
                    "\x00\x00\x00\x10" "ftypisom\x00\x00\x00\x00", 24),
              INGEST_CONTAINER_MP4);
    CHECK_INT(sniff("\x00\x00\x00\x0c" "skip\x00\x00\x00\x00"
                    "\x00\x00\x00\x10" "ftypqt  \x00\x00\x00\x00", 28),
              INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x00\x08" "free" "\x00\x00\x00\x08" "junk", 16),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x40\x00" "free\x00\x00\x00\x00", 12),
              INGEST_CONTAINER_MOV);
    CHECK_INT(sniff("\x00\x00\x00\x08" "free", 8), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff("\x00\x00\x00\x02" "free\x00\x00\x00\x00", 12),
              INGEST_CONTAINER_UNKNOWN);

    /* an atom type must be text */

    CHECK_INT(sniff("\x00\x00\x00\x10" "\x01\x02\x03\x04\x00\x00\x00\x00"
                    "\x00\x00\x00\x00", 16), INGEST_CONTAINER_UNKNOWN);
}


static void
test_ebml(void)
{
    /* EBML header (size 0x23): version, read version, ..., DocType */

    static const unsigned char  mkv[] = {
        0x1a, 0x45, 0xdf, 0xa3, 0xa3,
        0x42, 0x86, 0x81, 0x01,
        0x42, 0xf7, 0x81, 0x01,
        0x42, 0xf2, 0x81, 0x04,
        0x42, 0xf3, 0x81, 0x08,
        0x42, 0x82, 0x88, 'm', 'a', 't', 'r', 'o', 's', 'k', 'a',
        0x42, 0x87, 0x81, 0x04,
        0x42, 0x85, 0x81, 0x02,
        0x18, 0x53, 0x80, 0x67
    };

    static const unsigned char  webm[] = {
        0x1a, 0x45, 0xdf, 0xa3, 0x9f,
        0x42, 0x86, 0x81, 0x01,
        0x42, 0xf7, 0x81, 0x01,
        0x42, 0xf2, 0x81, 0x04,
        0x42, 0xf3, 0x81, 0x08,
        0x42, 0x82, 0x84, 'w', 'e', 'b', 'm',
        0x42, 0x87, 0x81, 0x04,
        0x42, 0x85, 0x81, 0x02
    };

    /* 8-byte size, DocType first and NUL-padded */

    static const unsigned char  padded[] = {
        0x1a, 0x45, 0xdf, 0xa3,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
        0x42, 0x82, 0x87, 'w', 'e', 'b', 'm', 0, 0, 0
    };

    static const unsigned char  other[] = {
        0x1a, 0x45, 0xdf, 0xa3, 0x87,
        0x42, 0x82, 0x84, 'a', 'b', 'c', 'd'
    };

    static const unsigned char  unknown_size[] = {
        0x1a, 0x45, 0xdf, 0xa3, 0xff,
        0x42, 0x82, 0x84, 'w', 'e', 'b', 'm'
    };

    static const unsigned char  overrun[] = {
        0x1a, 0x45, 0xdf, 0xa3, 0x87,
        0x42, 0x82, 0x8f, 'w', 'e', 'b', 'm'
    };

    static const unsigned char  long_id[] = {
        0x1a, 0x45, 0xdf, 0xa3, 0x8a,
        0x08, 0x00, 0x00, 0x00, 0x00, 0x81, 0x00,
        0x42, 0x82, 0x81, 'x'
    };

    static const unsigned char  zero_byte[] = {
        0x1a, 0x45, 0xdf, 0xa3, 0x00, 0x42, 0x82, 0x84, 'w', 'e', 'b', 'm'
    };

    CHECK_INT(sniff(mkv, sizeof(mkv)), INGEST_CONTAINER_MATROSKA);
    CHECK_INT(sniff(webm, sizeof(webm)), INGEST_CONTAINER_WEBM);
    CHECK_INT(sniff(padded, sizeof(padded)), INGEST_CONTAINER_WEBM);
    CHECK_INT(sniff(other, sizeof(other)), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff(unknown_size, sizeof(unknown_size)),
              INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff(overrun, sizeof(overrun)), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff(long_id, sizeof(long_id)), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff(zero_byte, sizeof(zero_byte)), INGEST_CONTAINER_UNKNOWN);

    /* cut before the DocType: too few bytes to tell */

    CHECK_INT(sniff(mkv, 24), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff(webm, 4), INGEST_CONTAINER_UNKNOWN);

    test_prefixes(mkv, sizeof(mkv));
    test_prefixes(padded, sizeof(padded));
}


static void
test_ts(void)
{
    size_t          i;
    unsigned char  *p;

    p = calloc(1, INGEST_SNIFF_BYTES + 1000);
    if (p == NULL) {
        exit(2);
    }

    /* 188-byte packets */

    for (i = 0; i < INGEST_SNIFF_BYTES + 1000; i += 188) {
        p[i] = 0x47;
    }

    CHECK_INT(sniff(p, INGEST_SNIFF_BYTES), INGEST_CONTAINER_MPEGTS);
    CHECK_INT(sniff(p, INGEST_SNIFF_BYTES + 1000), INGEST_CONTAINER_MPEGTS);
    CHECK_INT(sniff(p, 377), INGEST_CONTAINER_MPEGTS);
    CHECK_INT(sniff(p, 376), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff(p, 188), INGEST_CONTAINER_UNKNOWN);

    /* a lost sync anywhere within the bytes looked at */

    p[188 * 10] = 0x48;
    CHECK_INT(sniff(p, INGEST_SNIFF_BYTES), INGEST_CONTAINER_UNKNOWN);
    CHECK_INT(sniff(p, 188 * 10), INGEST_CONTAINER_MPEGTS);
    p[188 * 10] = 0x47;

    /* beyond INGEST_SNIFF_BYTES nothing is looked at */

    p[188 * 22] = 0x00;
    CHECK_INT(188 * 22 > INGEST_SNIFF_BYTES, 1);
    CHECK_INT(sniff(p, INGEST_SNIFF_BYTES + 1000), INGEST_CONTAINER_MPEGTS);

    /* 192-byte M2TS packets: a 4-byte time code, then the sync byte */

    memset(p, 0, INGEST_SNIFF_BYTES + 1000);

    for (i = 4; i < INGEST_SNIFF_BYTES + 1000; i += 192) {
        p[i] = 0x47;
    }

    CHECK_INT(sniff(p, INGEST_SNIFF_BYTES), INGEST_CONTAINER_MPEGTS);
    CHECK_INT(sniff(p, 4 + 384 + 1), INGEST_CONTAINER_MPEGTS);
    CHECK_INT(sniff(p, 4 + 384), INGEST_CONTAINER_UNKNOWN);

    p[4 + 192] = 0;
    CHECK_INT(sniff(p, INGEST_SNIFF_BYTES), INGEST_CONTAINER_UNKNOWN);

    free(p);
}


static void
test_matches(void)
{
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/mp4"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MOV, "video/mp4"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MOV, "video/quicktime"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/quicktime"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "audio/mp4"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/3gpp"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/x-m4v"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MATROSKA, "video/x-matroska"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_WEBM, "video/x-matroska"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_WEBM, "video/webm"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_WEBM, "audio/webm"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MATROSKA, "video/webm"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MATROSKA, "audio/x-matroska"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MPEGTS, "video/mp2t"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_FLV, "video/x-flv"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_AVI, "video/x-msvideo"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_AVI, "video/avi"), 1);

    /* mismatches */

    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/webm"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MPEGTS, "video/mp4"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_FLV, "video/mp4"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_AVI, "video/quicktime"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_WEBM, "video/mp2t"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/x-flv"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "text/html"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/mp4x"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/mp"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/*"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "mp4"), 0);

    /* case, parameters, white space */

    CHECK_INT(matches(INGEST_CONTAINER_MP4, "VIDEO/MP4"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MP4,
                      "video/mp4; codecs=\"avc1.64001f\""), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, " video/mp4 ;x=y"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_WEBM, "Video/WebM;codecs=vp9"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_MP4, "video/ mp4"), 0);

    /* no type or octet-stream: any known container */

    CHECK_INT(matches(INGEST_CONTAINER_MP4, ""), 1);
    CHECK_INT(matches(INGEST_CONTAINER_AVI, "   "), 1);
    CHECK_INT(matches(INGEST_CONTAINER_FLV, "application/octet-stream"), 1);
    CHECK_INT(matches(INGEST_CONTAINER_FLV, "Application/Octet-Stream; x"),
              1);
    CHECK_INT(ingest_sniff_matches(INGEST_CONTAINER_MPEGTS, NULL, 5), 1);
    CHECK_INT(matches(INGEST_CONTAINER_UNKNOWN, ""), 0);
    CHECK_INT(matches(INGEST_CONTAINER_UNKNOWN, "application/octet-stream"),
              0);
    CHECK_INT(matches(INGEST_CONTAINER_UNKNOWN, "video/mp4"), 0);
    CHECK_INT(matches(INGEST_CONTAINER_LAST, "video/mp4"), 0);
}


/* every prefix of a sample: no overread, and no answer out of range */

static void
test_prefixes(const unsigned char *p, size_t len)
{
    size_t              n, bad;
    ingest_container_t  c;

    bad = 0;

    for (n = 0; n <= len; n++) {
        c = sniff(p, n);

        if ((unsigned) c >= INGEST_CONTAINER_LAST) {
            bad++;
        }
    }

    CHECK_INT(bad, 0);
}


static void
test_ffmpeg(void)
{
    int                  other;
    FILE                *f, *out;
    size_t               n, count;
    char                 dir[] = "/tmp/test_sniff.XXXXXX";
    char                 line[1024], cmd[1024], file[512], name[64];
    char                 type[128];
    unsigned char        buf[INGEST_SNIFF_BYTES];
    ingest_container_t   c;

    if (mkdtemp(dir) == NULL) {
        TEST_FAIL("mkdtemp: %s", dir);
        return;
    }

    snprintf(cmd, sizeof(cmd), "sh '%s/sniff_samples.sh' '%s'",
             TEST_SRCDIR, dir);

    out = popen(cmd, "r");
    if (out == NULL) {
        TEST_FAIL("popen: %s", cmd);
        return;
    }

    count = 0;

    while (fgets(line, sizeof(line), out) != NULL) {
        if (strncmp(line, "missing ffmpeg", 14) == 0) {
            TEST_FAIL("%s", "ffmpeg is not installed (apt-get install ffmpeg)");
            break;
        }

        if (sscanf(line, "%511s %63s %127s", file, name, type) != 3) {
            TEST_FAIL("bad line: %s", line);
            continue;
        }

        f = fopen(file, "rb");
        if (f == NULL) {
            TEST_FAIL("cannot open %s", file);
            continue;
        }

        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);

        count++;

        c = sniff(buf, n);

        if (strcmp(ingest_container_name(c), name) != 0) {
            TEST_FAIL("%s: sniffed %s, want %s", file,
                      ingest_container_name(c), name);
        } else {
            test_passed++;
        }

        if (strcmp(type, "-") != 0) {
            CHECK_INT(matches(c, type), 1);

            other = strcmp(type, "video/mp2t") == 0;
            CHECK_INT(matches(c, other ? "video/mp4" : "video/mp2t"), 0);
            CHECK_INT(matches(c, "application/octet-stream"), 1);

        } else {
            CHECK_INT(matches(c, "application/octet-stream"), 0);
        }

        test_prefixes(buf, n < 1024 ? n : 1024);
    }

    if (pclose(out) != 0) {
        TEST_FAIL("%s failed", cmd);
    }

    CHECK(count >= 20);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);

    if (system(cmd) != 0) {
        TEST_FAIL("%s failed", cmd);
    }
}


static void
test_random(void)
{
    size_t              i, k, len, bad;
    uint64_t            state;
    unsigned char       buf[600];
    ingest_container_t  c;

    static const char  *starts[] = {
        "\x1a\x45\xdf\xa3", "FLV\x01", "RIFF", "\x00\x00\x00\x18" "ftyp",
        "\x00\x00\x00\x08" "free", "\x00\x00\x00\x01" "mdat", "G"
    };

    state = 7;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        len = test_rand(&state) % sizeof(buf);

        for (k = 0; k < len; k++) {
            buf[k] = (unsigned char) test_rand(&state);
        }

        k = strlen(starts[i % 7]);
        if (i % 7 == 3 || i % 7 == 4 || i % 7 == 5) {
            k = 8;
        }

        if (len >= k) {
            memcpy(buf, starts[i % 7], k);
        }

        c = sniff(buf, len);

        if ((unsigned) c >= INGEST_CONTAINER_LAST) {
            bad++;
        }
    }

    CHECK_INT(bad, 0);
}


static void
test_sniff_all(void)
{
    test_names();
    test_handmade();
    test_quicktime();
    test_ebml();
    test_ts();
    test_matches();
    test_ffmpeg();
    test_random();
}


TEST_MAIN("test_sniff", test_sniff_all)
