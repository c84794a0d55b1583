
/*
 * Copyright (C) nginx video ingest developers
 *
 * Container sniffing of the first bytes of an upload.
 */


#ifndef _INGEST_SNIFF_H_INCLUDED_
#define _INGEST_SNIFF_H_INCLUDED_


#include "ingest_core.h"


/*
 * Needs at most
 * INGEST_SNIFF_BYTES bytes; returns INGEST_CONTAINER_UNKNOWN when the
 * bytes match nothing known (or are too few to tell).
 */
#define INGEST_SNIFF_BYTES          4096

typedef enum {
    INGEST_CONTAINER_UNKNOWN = 0,
    INGEST_CONTAINER_MP4,            /* ISO BMFF ftyp (mp4, m4v, 3gp) */
    INGEST_CONTAINER_MOV,            /* ftyp qt, or moov/mdat/wide first */
    INGEST_CONTAINER_MATROSKA,       /* EBML, DocType matroska */
    INGEST_CONTAINER_WEBM,           /* EBML, DocType webm */
    INGEST_CONTAINER_MPEGTS,         /* 0x47 sync every 188 (or 192) */
    INGEST_CONTAINER_FLV,
    INGEST_CONTAINER_AVI,            /* RIFF....AVI  */
    INGEST_CONTAINER_LAST
} ingest_container_t;

ingest_container_t ingest_sniff(const unsigned char *p, size_t len);
const char *ingest_container_name(ingest_container_t c);

/*
 * 1 when a declared media type (e.g. "video/mp4") is consistent with
 * the sniffed container (video/quicktime ~ MOV or MP4, video/mp4 ~ MP4
 * or MOV, video/x-matroska ~ MATROSKA or WEBM, video/webm ~ WEBM,
 * video/mp2t ~ MPEGTS, video/x-flv ~ FLV, video/x-msvideo and
 * video/avi ~ AVI; audio/... types for the same containers likewise).
 */
int ingest_sniff_matches(ingest_container_t c, const unsigned char *type,
    size_t len);



#endif /* _INGEST_SNIFF_H_INCLUDED_ */
