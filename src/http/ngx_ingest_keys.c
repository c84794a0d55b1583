
/*
 * Copyright (C) nginx video ingest developers
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ingest_keys.h"


/* a key file is small: a secret or a PEM public key */
#define NGX_INGEST_KEY_FILE_MAX  65536


static void ngx_ingest_token_keyset_cleanup(void *data);


ngx_int_t
ngx_ingest_token_parse_alg(ngx_conf_t *cf, ngx_str_t *name,
    ingest_token_alg_t *alg)
{
    if (ngx_strcasecmp(name->data, (u_char *) "HS256") == 0) {
        *alg = INGEST_TOKEN_HS256;
        return NGX_OK;
    }

    if (ngx_strcasecmp(name->data, (u_char *) "EdDSA") == 0
        || ngx_strcasecmp(name->data, (u_char *) "Ed25519") == 0)
    {
        *alg = INGEST_TOKEN_EDDSA;
        return NGX_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown token algorithm \"%V\", use HS256 or EdDSA",
                       name);

    return NGX_ERROR;
}


char *
ngx_ingest_token_key_add(ngx_conf_t *cf, ngx_array_t **keys)
{
    ngx_str_t               *value;
    ngx_ingest_token_key_t  *k;

    value = cf->args->elts;

    if (*keys == NGX_CONF_UNSET_PTR || *keys == NULL) {
        *keys = ngx_array_create(cf->pool, 2,
                                 sizeof(ngx_ingest_token_key_t));
        if (*keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0 || value[1].len > INGEST_TOKEN_KID_MAX) {
        return "has an invalid key id";
    }

    k = ngx_array_push(*keys);
    if (k == NULL) {
        return NGX_CONF_ERROR;
    }

    k->kid = value[1];

    if (ngx_ingest_token_parse_alg(cf, &value[2], &k->alg) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    k->file = value[3];

    if (ngx_conf_full_name(cf->cycle, &k->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_ingest_token_keys_load(ngx_conf_t *cf, ngx_array_t *keys,
    ingest_token_keyset_t **keyset)
{
    u_char                  *buf;
    size_t                   klen;
    ssize_t                  n;
    ngx_fd_t                 fd;
    ngx_err_t                err;
    ngx_uint_t               i;
    ngx_pool_cleanup_t      *cln;
    ngx_ingest_token_key_t  *k;
    u_char                   key[INGEST_TOKEN_KEY_MAX];
    u_char                   kid[INGEST_TOKEN_KID_MAX + 1];

    *keyset = ngx_pcalloc(cf->pool, sizeof(ingest_token_keyset_t));
    if (*keyset == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ingest_token_keyset_cleanup;
    cln->data = *keyset;

    buf = ngx_pnalloc(cf->temp_pool, NGX_INGEST_KEY_FILE_MAX);
    if (buf == NULL) {
        return NGX_CONF_ERROR;
    }

    k = keys->elts;

    for (i = 0; i < keys->nelts; i++) {
        fd = ngx_open_file(k[i].file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "cannot read token key \"%V\"", &k[i].file);
            return NGX_CONF_ERROR;
        }

        n = read(fd, buf, NGX_INGEST_KEY_FILE_MAX);
        err = ngx_errno;

        (void) ngx_close_file(fd);

        if (n < 0 || n == NGX_INGEST_KEY_FILE_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, n < 0 ? err : 0,
                               "cannot read token key \"%V\"%s", &k[i].file,
                               n < 0 ? "" : " (too large)");
            return NGX_CONF_ERROR;
        }

        klen = sizeof(key);

        if (ingest_token_parse_key_file(k[i].alg, buf, n, key, &klen) != 0) {
            ngx_explicit_memzero(buf, n);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid %s key in \"%V\" (HS256: at least "
                               "32 bytes, raw or \"base64:\"/\"hex:\"; "
                               "EdDSA: a PEM Ed25519 public key)",
                               k[i].alg == INGEST_TOKEN_HS256 ? "HS256"
                                                              : "EdDSA",
                               &k[i].file);
            return NGX_CONF_ERROR;
        }

        ngx_explicit_memzero(buf, n);

        (void) ngx_cpystrn(kid, k[i].kid.data, k[i].kid.len + 1);

        if (ingest_token_keyset_add(*keyset, (char *) kid, k[i].alg, key,
                                    klen)
            != 0)
        {
            ngx_explicit_memzero(key, sizeof(key));
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "cannot add token key \"%V\" (duplicate kid, "
                               "or more than %d keys)", &k[i].kid,
                               INGEST_TOKEN_MAX_KEYS);
            return NGX_CONF_ERROR;
        }

        ngx_explicit_memzero(key, sizeof(key));
    }

    return NGX_CONF_OK;
}


static void
ngx_ingest_token_keyset_cleanup(void *data)
{
    ingest_token_keyset_free(data);
}
