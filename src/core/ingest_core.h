
/*
 * Copyright (C) nginx video ingest developers
 *
 * Pure C core shared by the HTTP and SRT glue and by the unit tests.
 * No nginx headers, no I/O: functions take bytes (and an explicit "now"
 * where time matters) and return their own status codes.
 */


#ifndef _INGEST_CORE_H_INCLUDED_
#define _INGEST_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


typedef struct {
    const unsigned char  *data;
    size_t                len;
} ingest_str_t;


/* upload ids: 128 random bits as 32 lowercase hex digits */
#define INGEST_ID_LEN           32
#define INGEST_ID_RAND_BYTES    16

/* largest length or offset we accept: must fit off_t */
#define INGEST_MAX_OFF          ((uint64_t) INT64_MAX)


/*
 * Parses a non-negative decimal integer made only of digits (no sign,
 * no spaces, no leading "+"), at most INGEST_MAX_OFF.
 * Returns 0 on success, -1 on any other input (including empty).
 */
int ingest_parse_u64(const unsigned char *p, size_t len, uint64_t *out);

/* formats v in decimal, returns the number of bytes written (<= 20) */
size_t ingest_format_u64(unsigned char *out, uint64_t v);

/* returns 1 if p/len is a well-formed upload id, 0 otherwise */
int ingest_id_valid(const unsigned char *p, size_t len);

/* writes INGEST_ID_LEN hex digits made from INGEST_ID_RAND_BYTES bytes */
void ingest_id_format(const unsigned char *rnd, unsigned char *out);

/*
 * Standard base64 (RFC 4648 section 4, with padding, as tus requires).
 * ingest_base64_decode returns the decoded length, or -1 on bad input
 * (wrong length, bad characters, misplaced padding, non-zero pad bits).
 * out must hold at least ingest_base64_decoded_max(len) bytes.
 */
#define ingest_base64_decoded_max(len)  (((len) + 3) / 4 * 3)
#define ingest_base64_encoded_len(len)  (((len) + 2) / 3 * 4)

ssize_t ingest_base64_decode(unsigned char *out, const unsigned char *in,
    size_t len);
size_t ingest_base64_encode(unsigned char *out, const unsigned char *in,
    size_t len);

/* constant-time comparison; returns 1 when equal */
int ingest_memeq_ct(const unsigned char *a, const unsigned char *b,
    size_t len);


#endif /* _INGEST_CORE_H_INCLUDED_ */
