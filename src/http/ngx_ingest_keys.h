
/*
 * Copyright (C) nginx video ingest developers
 *
 * Token verification keys in the configuration: the "kid alg file"
 * directive arguments and the loading of the key files into a keyset.
 * Shared by ngx_http_ingest_token_module (ingest_token_key) and the SRT
 * listener (token_key); nginx core only, no HTTP headers, so that both
 * dynamic modules carry their own copy.
 */


#ifndef _NGX_INGEST_KEYS_H_INCLUDED_
#define _NGX_INGEST_KEYS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ingest_token.h"


typedef struct {
    ngx_str_t                    kid;
    ingest_token_alg_t           alg;
    ngx_str_t                    file;       /* full path */
} ngx_ingest_token_key_t;


/* "HS256", "EdDSA" or "Ed25519"; [emerg] and NGX_ERROR otherwise */
ngx_int_t ngx_ingest_token_parse_alg(ngx_conf_t *cf, ngx_str_t *name,
    ingest_token_alg_t *alg);

/*
 * cf->args "name kid alg file" appended to *keys (an array of
 * ngx_ingest_token_key_t created on first use; NGX_CONF_UNSET_PTR
 * before). Returns NGX_CONF_OK or an error for the directive.
 */
char *ngx_ingest_token_key_add(ngx_conf_t *cf, ngx_array_t **keys);

/*
 * Reads every key file (docs/tokens.md formats) into a new keyset,
 * freed with the configuration's pool; [emerg] on a missing, invalid
 * or duplicate key. Key bytes are wiped from the stack and buffers.
 */
char *ngx_ingest_token_keys_load(ngx_conf_t *cf, ngx_array_t *keys,
    ingest_token_keyset_t **keyset);


#endif /* _NGX_INGEST_KEYS_H_INCLUDED_ */
