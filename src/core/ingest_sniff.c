
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_sniff.h"

#include <string.h>
#include <strings.h>


/* top-level QuickTime atoms looked at before giving up */
#define INGEST_SNIFF_MAX_ATOMS      16

/* an ftyp box larger than this is not one a muxer writes */
#define INGEST_SNIFF_FTYP_MAX       1024

/* MPEG-TS: sync bytes that must all be there before we say so */
#define INGEST_SNIFF_TS_PACKETS     3

#define INGEST_SNIFF_EBML_DOCTYPE   0x4282

#define ingest_sniff_bit(c)         (1u << (c))

#define INGEST_SNIFF_ISO                                                      \
    (ingest_sniff_bit(INGEST_CONTAINER_MP4)                                   \
     | ingest_sniff_bit(INGEST_CONTAINER_MOV))
#define INGEST_SNIFF_MKV                                                      \
    (ingest_sniff_bit(INGEST_CONTAINER_MATROSKA)                              \
     | ingest_sniff_bit(INGEST_CONTAINER_WEBM))


typedef struct {
    const char  *type;
    unsigned     containers;
} ingest_sniff_type_t;


static ingest_container_t ingest_sniff_isobmff(const unsigned char *p,
    size_t len);
static ingest_container_t ingest_sniff_ftyp(const unsigned char *p,
    size_t size, size_t avail);
static int ingest_sniff_mp4_brand(const unsigned char *b);
static ingest_container_t ingest_sniff_ebml(const unsigned char *p,
    size_t len);
static int ingest_sniff_vint(const unsigned char *p, size_t len,
    size_t *off, uint64_t *v, int id);
static int ingest_sniff_ts(const unsigned char *p, size_t len, size_t size,
    size_t prefix);
static int ingest_sniff_printable(const unsigned char *p);
static uint32_t ingest_sniff_be32(const unsigned char *p);


static const char  *ingest_container_names[INGEST_CONTAINER_LAST] = {
    [INGEST_CONTAINER_UNKNOWN] = "unknown",
    [INGEST_CONTAINER_MP4] = "mp4",
    [INGEST_CONTAINER_MOV] = "mov",
    [INGEST_CONTAINER_MATROSKA] = "matroska",
    [INGEST_CONTAINER_WEBM] = "webm",
    [INGEST_CONTAINER_MPEGTS] = "mpegts",
    [INGEST_CONTAINER_FLV] = "flv",
    [INGEST_CONTAINER_AVI] = "avi"
};


/*
 * Major or compatible brands of ISO base media files that carry audio
 * or video: ISO (isom, iso2..), MP4 v1/v2, AVC, DASH/CMAF segments,
 * Apple's M4V/M4A/M4B/M4P, Adobe F4V, 3GPP/3GPP2 (3gp*, 3g2*), Sony
 * XAVC and the few others that cameras write as the major brand.
 */

static const char  ingest_sniff_mp4_brands[][5] = {
    "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9",
    "mp41", "mp42", "mp71", "avc1", "hvc1", "hev1", "av01", "dash",
    "msdh", "msix", "cmfc", "cmfv", "cmfa", "cmf2", "M4V ", "M4VH", "M4VP",
    "M4A ", "M4B ", "M4P ", "f4v ", "f4a ", "f4p ", "mmp4", "MSNV", "NDAS",
    "XAVC", "caqv", "dby1", "mqt "
};


static const ingest_sniff_type_t  ingest_sniff_types[] = {
    { "video/mp4", INGEST_SNIFF_ISO },
    { "audio/mp4", INGEST_SNIFF_ISO },
    { "application/mp4", INGEST_SNIFF_ISO },
    { "video/x-m4v", INGEST_SNIFF_ISO },
    { "audio/x-m4a", INGEST_SNIFF_ISO },
    { "audio/m4a", INGEST_SNIFF_ISO },
    { "video/3gpp", INGEST_SNIFF_ISO },
    { "video/3gpp2", INGEST_SNIFF_ISO },
    { "audio/3gpp", INGEST_SNIFF_ISO },
    { "audio/3gpp2", INGEST_SNIFF_ISO },
    { "video/quicktime", INGEST_SNIFF_ISO },
    { "video/x-matroska", INGEST_SNIFF_MKV },
    { "audio/x-matroska", INGEST_SNIFF_MKV },
    { "video/matroska", INGEST_SNIFF_MKV },
    { "audio/matroska", INGEST_SNIFF_MKV },
    { "video/webm", ingest_sniff_bit(INGEST_CONTAINER_WEBM) },
    { "audio/webm", ingest_sniff_bit(INGEST_CONTAINER_WEBM) },
    { "video/mp2t", ingest_sniff_bit(INGEST_CONTAINER_MPEGTS) },
    { "video/vnd.dlna.mpeg-tts", ingest_sniff_bit(INGEST_CONTAINER_MPEGTS) },
    { "video/x-flv", ingest_sniff_bit(INGEST_CONTAINER_FLV) },
    { "video/flv", ingest_sniff_bit(INGEST_CONTAINER_FLV) },
    { "video/x-msvideo", ingest_sniff_bit(INGEST_CONTAINER_AVI) },
    { "video/avi", ingest_sniff_bit(INGEST_CONTAINER_AVI) },
    { "video/msvideo", ingest_sniff_bit(INGEST_CONTAINER_AVI) },
    { "audio/avi", ingest_sniff_bit(INGEST_CONTAINER_AVI) }
};


ingest_container_t
ingest_sniff(const unsigned char *p, size_t len)
{
    if (p == NULL) {
        return INGEST_CONTAINER_UNKNOWN;
    }

    if (len > INGEST_SNIFF_BYTES) {
        len = INGEST_SNIFF_BYTES;
    }

    if (len >= 12 && memcmp(p, "RIFF", 4) == 0
        && memcmp(p + 8, "AVI ", 4) == 0)
    {
        return INGEST_CONTAINER_AVI;
    }

    /* version 1, reserved flag bits zero, a header of at least 9 bytes */

    if (len >= 9 && memcmp(p, "FLV\x01", 4) == 0 && (p[4] & 0xfa) == 0
        && ingest_sniff_be32(p + 5) >= 9)
    {
        return INGEST_CONTAINER_FLV;
    }

    if (len >= 4 && memcmp(p, "\x1a\x45\xdf\xa3", 4) == 0) {
        return ingest_sniff_ebml(p, len);
    }

    if (ingest_sniff_ts(p, len, 188, 0) || ingest_sniff_ts(p, len, 192, 4)) {
        return INGEST_CONTAINER_MPEGTS;
    }

    return ingest_sniff_isobmff(p, len);
}


const char *
ingest_container_name(ingest_container_t c)
{
    if ((unsigned) c >= INGEST_CONTAINER_LAST) {
        return "unknown";
    }

    return ingest_container_names[c];
}


int
ingest_sniff_matches(ingest_container_t c, const unsigned char *type,
    size_t len)
{
    size_t  i, n, ntypes;

    if (c == INGEST_CONTAINER_UNKNOWN || (unsigned) c >= INGEST_CONTAINER_LAST)
    {
        return 0;
    }

    if (type == NULL) {
        len = 0;
    }

    /* parameters and white space around the type do not count */

    for (n = 0; n < len && type[n] != ';'; n++) { /* void */ }

    while (n != 0 && (type[n - 1] == ' ' || type[n - 1] == '\t')) {
        n--;
    }

    while (n != 0 && (type[0] == ' ' || type[0] == '\t')) {
        type++;
        n--;
    }

    if (n == 0
        || (n == 24
            && strncasecmp((const char *) type, "application/octet-stream",
                           24) == 0))
    {
        return 1;
    }

    ntypes = sizeof(ingest_sniff_types) / sizeof(ingest_sniff_types[0]);

    for (i = 0; i < ntypes; i++) {
        if (strlen(ingest_sniff_types[i].type) == n
            && strncasecmp(ingest_sniff_types[i].type, (const char *) type, n)
               == 0)
        {
            return (ingest_sniff_types[i].containers & ingest_sniff_bit(c))
                   != 0;
        }
    }

    return 0;
}


/*
 * ISO BMFF and QuickTime: an "ftyp" box decides by its brands. Files
 * from older QuickTime writers have no ftyp and start with "moov" or
 * "mdat", possibly after "wide", "free" or "skip" padding atoms.
 */

static ingest_container_t
ingest_sniff_isobmff(const unsigned char *p, size_t len)
{
    size_t                i, off, hdr;
    uint64_t              size;
    const unsigned char  *type;

    off = 0;

    for (i = 0; i < INGEST_SNIFF_MAX_ATOMS; i++) {
        if (len - off < 8) {
            return INGEST_CONTAINER_UNKNOWN;
        }

        size = ingest_sniff_be32(p + off);
        type = p + off + 4;
        hdr = 8;

        if (!ingest_sniff_printable(type)) {
            return INGEST_CONTAINER_UNKNOWN;
        }

        if (memcmp(type, "ftyp", 4) == 0) {
            if (size < 12 || size > INGEST_SNIFF_FTYP_MAX) {
                return INGEST_CONTAINER_UNKNOWN;
            }

            return ingest_sniff_ftyp(p + off + 8, (size_t) size - 8,
                                     len - off - 8);
        }

        if (size == 1) {
            /* a 64-bit size follows the type */

            if (len - off < 16) {
                return INGEST_CONTAINER_UNKNOWN;
            }

            size = (uint64_t) ingest_sniff_be32(p + off + 8) << 32
                   | ingest_sniff_be32(p + off + 12);
            hdr = 16;

        } else if (size == 0) {
            /* "to the end of the file": only media data does that */

            return memcmp(type, "mdat", 4) == 0 ? INGEST_CONTAINER_MOV
                                                : INGEST_CONTAINER_UNKNOWN;
        }

        if (size < hdr) {
            return INGEST_CONTAINER_UNKNOWN;
        }

        if (memcmp(type, "mdat", 4) == 0) {
            return INGEST_CONTAINER_MOV;
        }

        if (memcmp(type, "moov", 4) == 0) {

            /* a movie atom holds atoms: check the first if it is here */

            if (size < hdr + 8) {
                return INGEST_CONTAINER_UNKNOWN;
            }

            if (len - off >= hdr + 8
                && (!ingest_sniff_printable(p + off + hdr + 4)
                    || ingest_sniff_be32(p + off + hdr) < 8
                    || ingest_sniff_be32(p + off + hdr) > size - hdr))
            {
                return INGEST_CONTAINER_UNKNOWN;
            }

            return INGEST_CONTAINER_MOV;
        }

        if (memcmp(type, "wide", 4) != 0 && memcmp(type, "free", 4) != 0
            && memcmp(type, "skip", 4) != 0)
        {
            return INGEST_CONTAINER_UNKNOWN;
        }

        /* padding: what follows decides, or the padding runs past us */

        if (size >= len - off) {
            return size == len - off ? INGEST_CONTAINER_UNKNOWN
                                     : INGEST_CONTAINER_MOV;
        }

        off += (size_t) size;
    }

    return INGEST_CONTAINER_UNKNOWN;
}


/* p: the ftyp payload (major brand, minor version, compatible brands) */

static ingest_container_t
ingest_sniff_ftyp(const unsigned char *p, size_t size, size_t avail)
{
    size_t  i;

    if (avail < 4) {
        return INGEST_CONTAINER_UNKNOWN;
    }

    if (memcmp(p, "qt  ", 4) == 0) {
        return INGEST_CONTAINER_MOV;
    }

    if (ingest_sniff_mp4_brand(p)) {
        return INGEST_CONTAINER_MP4;
    }

    /* an unknown major brand: the compatible ones may tell */

    for (i = 8; i + 4 <= size && i + 4 <= avail; i += 4) {
        if (memcmp(p + i, "qt  ", 4) == 0) {
            return INGEST_CONTAINER_MOV;
        }

        if (ingest_sniff_mp4_brand(p + i)) {
            return INGEST_CONTAINER_MP4;
        }
    }

    return INGEST_CONTAINER_UNKNOWN;
}


static int
ingest_sniff_mp4_brand(const unsigned char *b)
{
    size_t  i, n;

    if (memcmp(b, "3gp", 3) == 0 || memcmp(b, "3g2", 3) == 0) {
        return 1;
    }

    n = sizeof(ingest_sniff_mp4_brands) / sizeof(ingest_sniff_mp4_brands[0]);

    for (i = 0; i < n; i++) {
        if (memcmp(b, ingest_sniff_mp4_brands[i], 4) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * EBML (RFC 8794): the header element holds DocType, "matroska" or
 * "webm" (RFC 9559). Elements are an ID and a size, both variable
 * length integers.
 */

static ingest_container_t
ingest_sniff_ebml(const unsigned char *p, size_t len)
{
    size_t    off, end, n;
    uint64_t  id, size;

    off = 4;

    if (ingest_sniff_vint(p, len, &off, &size, 0) != 0) {
        return INGEST_CONTAINER_UNKNOWN;
    }

    /* look only as far as the header and the bytes we have */

    end = (size < len - off) ? off + (size_t) size : len;

    while (off < end) {
        if (ingest_sniff_vint(p, end, &off, &id, 1) != 0
            || ingest_sniff_vint(p, end, &off, &size, 0) != 0
            || size > end - off)
        {
            return INGEST_CONTAINER_UNKNOWN;
        }

        if (id != INGEST_SNIFF_EBML_DOCTYPE) {
            off += (size_t) size;
            continue;
        }

        /* a string element may be padded with NULs */

        for (n = (size_t) size; n != 0 && p[off + n - 1] == '\0'; n--) {
            /* void */
        }

        if (n == 4 && memcmp(p + off, "webm", 4) == 0) {
            return INGEST_CONTAINER_WEBM;
        }

        if (n == 8 && memcmp(p + off, "matroska", 8) == 0) {
            return INGEST_CONTAINER_MATROSKA;
        }

        return INGEST_CONTAINER_UNKNOWN;
    }

    return INGEST_CONTAINER_UNKNOWN;
}


/*
 * An EBML variable length integer at *off: IDs keep their length
 * marker and take at most 4 bytes, sizes lose it and take at most 8;
 * the reserved all-ones size ("unknown") is refused.
 */

static int
ingest_sniff_vint(const unsigned char *p, size_t len, size_t *off,
    uint64_t *v, int id)
{
    size_t    n, i;
    uint64_t  value, all;

    if (*off >= len || p[*off] == 0) {
        return -1;
    }

    for (n = 1; (p[*off] & (0x80 >> (n - 1))) == 0; n++) { /* void */ }

    if ((id && n > 4) || n > len - *off) {
        return -1;
    }

    value = id ? p[*off] : (uint64_t) (p[*off] & (0xff >> n));

    for (i = 1; i < n; i++) {
        value = value << 8 | p[*off + i];
    }

    all = ((uint64_t) 1 << (7 * n)) - 1;

    if (!id && value == all) {
        return -1;
    }

    *off += n;
    *v = value;

    return 0;
}


/* a 0x47 sync byte at the start of every packet we can see */

static int
ingest_sniff_ts(const unsigned char *p, size_t len, size_t size,
    size_t prefix)
{
    size_t  off, n;

    n = 0;

    for (off = prefix; off < len; off += size) {
        if (p[off] != 0x47) {
            return 0;
        }

        n++;
    }

    return n >= INGEST_SNIFF_TS_PACKETS;
}


static int
ingest_sniff_printable(const unsigned char *p)
{
    size_t  i;

    for (i = 0; i < 4; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


static uint32_t
ingest_sniff_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}
