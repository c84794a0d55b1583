
/*
 * Copyright (C) nginx video ingest developers
 *
 * Streaming checksums for tus Upload-Checksum (sha1, md5, sha256, crc32)
 * and, later, S3 (crc32c). Digests through OpenSSL EVP; crc32 here.
 */


#ifndef _INGEST_CHECKSUM_H_INCLUDED_
#define _INGEST_CHECKSUM_H_INCLUDED_


#include "ingest_core.h"


typedef enum {
    INGEST_CKSUM_NONE = 0,
    INGEST_CKSUM_SHA1,
    INGEST_CKSUM_MD5,
    INGEST_CKSUM_SHA256,
    INGEST_CKSUM_CRC32,
    INGEST_CKSUM_CRC32C
} ingest_cksum_algo_t;

#define INGEST_CKSUM_MAX_DIGEST  32

/* the algorithms tus advertises in Tus-Checksum-Algorithm */
#define INGEST_TUS_CHECKSUM_ALGORITHMS  "sha1,md5,sha256,crc32"


typedef struct {
    ingest_cksum_algo_t  algo;
    void                *md_ctx;        /* EVP_MD_CTX * for digests */
    uint32_t             crc;
} ingest_cksum_t;


/* name lookup (case-insensitive); INGEST_CKSUM_NONE when unknown */
ingest_cksum_algo_t ingest_cksum_algo(const unsigned char *name,
    size_t len);

/* digest length in bytes for an algorithm, 0 for NONE */
size_t ingest_cksum_size(ingest_cksum_algo_t algo);

/*
 * init allocates (EVP_MD_CTX) and returns 0, or -1 on failure;
 * ingest_cksum_free must always follow a successful init, also on error
 * paths; it is safe to call it twice or after a failed init.
 */
int ingest_cksum_init(ingest_cksum_t *ck, ingest_cksum_algo_t algo);
int ingest_cksum_update(ingest_cksum_t *ck, const void *data, size_t len);
/* writes ingest_cksum_size() bytes (crc32 big-endian), returns 0 / -1 */
int ingest_cksum_final(ingest_cksum_t *ck, unsigned char *digest);
void ingest_cksum_free(ingest_cksum_t *ck);

/* plain crc32 (IEEE, as zlib) and crc32c (Castagnoli) helpers */
uint32_t ingest_crc32_update(uint32_t crc, const void *data, size_t len);
uint32_t ingest_crc32c_update(uint32_t crc, const void *data, size_t len);


#endif /* _INGEST_CHECKSUM_H_INCLUDED_ */
