
/*
 * Copyright (C) nginx video ingest developers
 *
 * S3 XML: a small strict parser for CompleteMultipartUpload request
 * bodies and writers for the response documents.
 *
 * The parser takes UTF-8 with an optional BOM and XML declaration,
 * comments, the five predefined entities and numeric character
 * references. It refuses DOCTYPE, CDATA, processing instructions,
 * namespace prefixes, unknown elements, text where no text belongs,
 * more than INGEST_S3XML_MAX_BODY bytes: MALFORMED_XML, as S3 does.
 *
 * The writers take a caller buffer and return the length of the whole
 * document; when that is larger than cap the buffer holds only a part,
 * so call once with buf NULL (cap 0) to size it. Text is XML-escaped
 * (& < > " ', tab, LF, CR as references); what XML 1.0 cannot carry
 * (other control characters, invalid UTF-8) becomes U+FFFD, so the
 * documents are always well-formed.
 */


#ifndef _INGEST_S3XML_H_INCLUDED_
#define _INGEST_S3XML_H_INCLUDED_


#include "ingest_s3.h"


/* 10000 parts with checksums and indentation stay well below */
#define INGEST_S3XML_MAX_BODY  (4 * 1024 * 1024)


/* one <Part> of CompleteMultipartUpload */
typedef struct {
    uint32_t       number;          /* 1..10000 */
    unsigned       etag_ok:1;       /* 0: the ETag is no MD5, which
                                       matches no part (InvalidPart) */
    unsigned char  md5[16];
} ingest_s3xml_part_t;

/*
 * <CompleteMultipartUpload><Part><PartNumber>1</PartNumber>
 * <ETag>"..."</ETag>[<ChecksumCRC32>...]</Part>...
 * </CompleteMultipartUpload>: any attributes on the root (xmlns), none
 * elsewhere; PartNumber and ETag once per Part in any order, the
 * Checksum* elements (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) ignored;
 * ETag quotes optional. Returns OK with parts[0..*nparts), or
 * MALFORMED_XML (also: no parts, more than max), INVALID_PART_NUMBER
 * (outside 1..10000), INVALID_PART_ORDER (not strictly ascending).
 */
ingest_s3_rc_t ingest_s3xml_parse_complete(const unsigned char *p,
    size_t len, ingest_s3xml_part_t *parts, size_t max, size_t *nparts);


/* <InitiateMultipartUploadResult> */
typedef struct {
    ingest_str_t   bucket;
    ingest_str_t   key;             /* decoded */
    ingest_str_t   upload_id;
} ingest_s3xml_initiate_t;

size_t ingest_s3xml_initiate(unsigned char *buf, size_t cap,
    const ingest_s3xml_initiate_t *in);


/* <CompleteMultipartUploadResult> */
typedef struct {
    ingest_str_t   location;        /* data NULL: no <Location> */
    ingest_str_t   bucket;
    ingest_str_t   key;
    ingest_str_t   etag;            /* with quotes, ingest_s3_etag_*() */
} ingest_s3xml_complete_t;

size_t ingest_s3xml_complete(unsigned char *buf, size_t cap,
    const ingest_s3xml_complete_t *in);


/*
 * <ListPartsResult>. The writer paginates: it lists the parts numbered
 * above part_number_marker, at most max_parts of them, and sets
 * NextPartNumberMarker and IsTruncated.
 */
typedef struct {
    uint32_t       number;
    int64_t        last_modified;   /* Unix time */
    uint64_t       size;
    unsigned char  md5[16];
} ingest_s3xml_list_part_t;

typedef struct {
    ingest_str_t                     bucket;
    ingest_str_t                     key;
    ingest_str_t                     upload_id;
    ingest_str_t                     owner;     /* data NULL: no
                                                   Initiator/Owner */
    uint32_t                         part_number_marker;
    uint32_t                         max_parts;
    const ingest_s3xml_list_part_t  *parts;     /* ascending numbers */
    size_t                           nparts;
} ingest_s3xml_list_parts_t;

size_t ingest_s3xml_list_parts(unsigned char *buf, size_t cap,
    const ingest_s3xml_list_parts_t *in);


/*
 * <ListMultipartUploadsResult>. The writer filters by prefix and
 * paginates: uploads after (key_marker, upload_id_marker) in (key,
 * upload id) byte order (upload_id_marker counts only with a
 * key_marker), at most max_uploads; NextKeyMarker/NextUploadIdMarker
 * are the last listed. With encoding_url keys, prefix and markers are
 * URI-encoded and <EncodingType>url</EncodingType> is added. Delimiter
 * grouping is not supported.
 */
typedef struct {
    ingest_str_t   key;             /* decoded */
    ingest_str_t   upload_id;
    int64_t        initiated;       /* Unix time */
} ingest_s3xml_upload_t;

typedef struct {
    ingest_str_t                  bucket;
    ingest_str_t                  prefix;            /* decoded */
    ingest_str_t                  key_marker;        /* decoded */
    ingest_str_t                  upload_id_marker;
    ingest_str_t                  owner;             /* data NULL: none */
    uint32_t                      max_uploads;
    unsigned                      encoding_url:1;
    const ingest_s3xml_upload_t  *uploads;           /* sorted, see
                                                        ingest_s3xml_
                                                        sort_uploads() */
    size_t                        nuploads;
} ingest_s3xml_list_uploads_t;

/* sorts by key, then upload id, bytewise */
void ingest_s3xml_sort_uploads(ingest_s3xml_upload_t *uploads, size_t n);

size_t ingest_s3xml_list_uploads(unsigned char *buf, size_t cap,
    const ingest_s3xml_list_uploads_t *in);


/*
 * <Error><Code/><Message/><Resource/><RequestId/>...</Error>: Code and
 * Message from the decision table (message overrides it when data is
 * not NULL); extra elements (e.g. StringToSign, CanonicalRequest,
 * RequestTime, ServerTime) follow, names used as given.
 */
typedef struct {
    ingest_s3_rc_t             rc;
    ingest_str_t               message;
    ingest_str_t               resource;
    ingest_str_t               request_id;
    const ingest_s3_header_t  *extra;
    size_t                     nextra;
} ingest_s3xml_error_t;

size_t ingest_s3xml_error(unsigned char *buf, size_t cap,
    const ingest_s3xml_error_t *in);


/* XML-escaped text, out may be NULL to size (at most 6 * len bytes) */
size_t ingest_s3xml_escape(unsigned char *out, const unsigned char *in,
    size_t len);


#endif /* _INGEST_S3XML_H_INCLUDED_ */
