
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>


static char *iw_hook_dumps(json_t *root, size_t *len);


int
iw_hook_signature(const char *secret, size_t slen, int64_t ts,
    const char *body, size_t blen, char *out)
{
    int             n;
    char           *msg;
    size_t          i, plen;
    unsigned int    mlen;
    unsigned char  *mac, md[EVP_MAX_MD_SIZE];

    /* the signed message: "<t>." + body */

    msg = malloc(blen + 24);
    if (msg == NULL) {
        return -1;
    }

    n = snprintf(msg, 24, "%lld.", (long long) ts);
    if (n < 0 || n >= 24) {
        free(msg);
        return -1;
    }

    plen = (size_t) n;
    memcpy(msg + plen, body, blen);

    mac = HMAC(EVP_sha256(), secret, (int) slen, (unsigned char *) msg,
               plen + blen, md, &mlen);
    free(msg);

    if (mac == NULL || mlen != 32) {
        return -1;
    }

    n = snprintf(out, IW_HOOK_SIG_LEN, "t=%lld,v1=", (long long) ts);
    if (n < 0 || (size_t) n + 65 > IW_HOOK_SIG_LEN) {
        return -1;
    }

    for (i = 0; i < 32; i++) {
        snprintf(out + n + i * 2, 3, "%02x", md[i]);
    }

    return 0;
}


char *
iw_hook_payload(const char *event, const char *id, json_t *job,
    const char *playlist, const char *error)
{
    char    *s;
    size_t   len;
    json_t  *root;

    root = json_pack("{s:s,s:s,s:O,s:s?,s:s?}", "event", event, "id", id,
                     "job", job, "playlist", playlist, "error", error);
    if (root == NULL) {
        return NULL;
    }

    s = iw_hook_dumps(root, &len);
    json_decref(root);

    if (s != NULL) {
        /* the body goes without the newline */
        s[len - 1] = '\0';
    }

    return s;
}


char *
iw_hook_record(const char *url, const char *event, const char *body,
    int64_t now, size_t *len)
{
    char    *s;
    json_t  *root;

    root = json_pack("{s:s,s:s,s:i,s:I,s:s}", "url", url, "event", event,
                     "attempts", 0, "next_at", (json_int_t) now,
                     "body", body);
    if (root == NULL) {
        return NULL;
    }

    s = iw_hook_dumps(root, len);
    json_decref(root);

    return s;
}


int
iw_hook_parse(iw_hook_t *h, const char *text, size_t len, char *err,
    size_t errlen)
{
    json_t        *root, *v;
    json_error_t   jerr;

    memset(h, 0, sizeof(iw_hook_t));

    root = json_loadb(text, len, 0, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON: %s", jerr.text);
        return -1;
    }

    h->root = root;

    v = json_object_get(root, "url");
    h->url = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "event");
    h->event = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "body");
    h->body = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(root, "last_error");
    h->last_error = json_is_string(v) ? json_string_value(v) : NULL;

    v = json_object_get(root, "attempts");
    if (json_is_integer(v) && json_integer_value(v) >= 0
        && json_integer_value(v) < 1000000)
    {
        h->attempts = (unsigned) json_integer_value(v);
    } else {
        h->url = NULL;
    }

    v = json_object_get(root, "next_at");
    if (json_is_integer(v)) {
        h->next_at = json_integer_value(v);
    } else {
        h->url = NULL;
    }

    if (h->url == NULL || h->event == NULL || h->body == NULL
        || !iw_hook_url_valid(h->url))
    {
        snprintf(err, errlen, "not a webhook record");
        iw_hook_free(h);
        return -1;
    }

    return 0;
}


void
iw_hook_free(iw_hook_t *h)
{
    if (h->root != NULL) {
        json_decref(h->root);
    }

    memset(h, 0, sizeof(iw_hook_t));
}


int
iw_hook_failed(iw_hook_t *h, int64_t next_at, const char *error)
{
    json_t  *v;

    if (json_object_set_new(h->root, "attempts",
                            json_integer(h->attempts + 1)) != 0
        || json_object_set_new(h->root, "next_at",
                               json_integer(next_at)) != 0
        || json_object_set_new(h->root, "last_error",
                               json_string(error)) != 0)
    {
        return -1;
    }

    h->attempts++;
    h->next_at = next_at;

    v = json_object_get(h->root, "last_error");
    h->last_error = json_string_value(v);

    return 0;
}


char *
iw_hook_dump(const iw_hook_t *h, size_t *len)
{
    return iw_hook_dumps(h->root, len);
}


int
iw_hook_url_valid(const char *url)
{
    size_t  i;

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    {
        return 0;
    }

    for (i = 0; url[i] != '\0'; i++) {
        if ((unsigned char) url[i] <= ' ' || url[i] == 0x7f) {
            return 0;
        }
    }

    return i > 8 && i < 4096;
}


static char *
iw_hook_dumps(json_t *root, size_t *len)
{
    char    *s, *p;
    size_t   n;

    s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s == NULL) {
        return NULL;
    }

    n = strlen(s);

    p = realloc(s, n + 2);
    if (p == NULL) {
        free(s);
        return NULL;
    }

    p[n] = '\n';
    p[n + 1] = '\0';
    *len = n + 1;

    return p;
}
