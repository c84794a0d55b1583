
/*
 * Copyright (C) nginx video ingest developers
 *
 * Signed-token verification in the access phase (uploads, later the S3
 * API and playback). The codec is the pure core (ingest_token.c); this
 * file finds the token, applies the location's policy (audience, scope,
 * revocation, upload sessions) and exports the claims as variables.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ingest.h"
#include "ingest_token.h"
#include "ngx_ingest_keys.h"


#define NGX_HTTP_INGEST_TOKEN_RELOAD  1000


/* the deny list: sorted jti strings, subjects with a "revoked before" */
typedef struct {
    char                       **jti;
    size_t                       njti;
    char                       **sub;
    int64_t                     *sub_before;
    size_t                       nsub;
    u_char                      *mem;        /* one malloc() for all */
} ngx_http_ingest_revoked_t;


typedef struct {
    ngx_str_t                    revoked_file;
    ngx_http_ingest_revoked_t   *revoked;
    time_t                       revoked_mtime;
    off_t                        revoked_size;
    ino_t                        revoked_ino;
    ngx_event_t                  reload_event;
    ngx_thread_task_t           *reload_task;
    ngx_http_ingest_revoked_t   *loaded;     /* handed from the thread */
    ngx_uint_t                   reload_failed;
    ngx_uint_t                   reload_changed;
} ngx_http_ingest_token_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;
    ngx_array_t                 *keys;       /* ngx_ingest_token_key_t */
    ingest_token_keyset_t       *keyset;
    ngx_str_t                    audience;
    time_t                       leeway;
    ngx_str_t                    arg;
    time_t                       session_idle;
    time_t                       session_max;
    ngx_flag_t                   sessions;   /* set where tus is on */
    ngx_ingest_token_key_t *refresh;    /* signing key of refresh */
    u_char                      *refresh_key;
    size_t                       refresh_key_len;
} ngx_http_ingest_token_loc_conf_t;


static ngx_http_ingest_auth_t *ngx_http_ingest_token_check(
    ngx_http_request_t *r, ngx_http_ingest_token_loc_conf_t *conf);
static ngx_int_t ngx_http_ingest_token_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_ingest_token_find(ngx_http_request_t *r,
    ngx_http_ingest_token_loc_conf_t *conf, ngx_str_t *token);
static ngx_int_t ngx_http_ingest_token_reject(ngx_http_request_t *r,
    ngx_http_ingest_auth_t *auth, ingest_token_rc_t rc);
static ngx_int_t ngx_http_ingest_token_revoked(ngx_http_request_t *r,
    ingest_token_claims_t *c);
static time_t ngx_http_ingest_token_start(ingest_token_claims_t *c);
static ngx_int_t ngx_http_ingest_token_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_ingest_revoked_t *ngx_http_ingest_revoked_parse(
    u_char *data, size_t len, ngx_uint_t *line);
static void ngx_http_ingest_revoked_reload(ngx_event_t *ev);
static void ngx_http_ingest_revoked_thread(void *data, ngx_log_t *log);
static void ngx_http_ingest_revoked_done(ngx_event_t *ev);

static ngx_int_t ngx_http_ingest_token_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_ingest_token_init(ngx_conf_t *cf);
static void *ngx_http_ingest_token_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_ingest_token_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_ingest_token_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ingest_token_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_ingest_token_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_ingest_token_init_process(ngx_cycle_t *cycle);
static char *ngx_http_ingest_token_refresh(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_ingest_token_refresh_handler(
    ngx_http_request_t *r);


static ngx_command_t  ngx_http_ingest_token_commands[] = {

    { ngx_string("ingest_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ingest_token_loc_conf_t, enable),
      NULL },

    { ngx_string("ingest_token_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE3,
      ngx_http_ingest_token_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ingest_token_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ingest_token_loc_conf_t, audience),
      NULL },

    { ngx_string("ingest_token_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ingest_token_loc_conf_t, leeway),
      NULL },

    { ngx_string("ingest_token_arg"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ingest_token_loc_conf_t, arg),
      NULL },

    { ngx_string("ingest_token_session_idle"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ingest_token_loc_conf_t, session_idle),
      NULL },

    { ngx_string("ingest_token_session_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ingest_token_loc_conf_t, session_max),
      NULL },

    { ngx_string("ingest_token_refresh"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE3,
      ngx_http_ingest_token_refresh,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ingest_token_revoked"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ingest_token_main_conf_t, revoked_file),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ingest_token_module_ctx = {
    ngx_http_ingest_token_add_variables,   /* preconfiguration */
    ngx_http_ingest_token_init,            /* postconfiguration */

    ngx_http_ingest_token_create_main_conf, /* create main configuration */
    ngx_http_ingest_token_init_main_conf,  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ingest_token_create_loc_conf, /* create location configuration */
    ngx_http_ingest_token_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_ingest_token_module = {
    NGX_MODULE_V1,
    &ngx_http_ingest_token_module_ctx,     /* module context */
    ngx_http_ingest_token_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_ingest_token_init_process,    /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


enum {
    NGX_HTTP_INGEST_VAR_SUB = 0,
    NGX_HTTP_INGEST_VAR_JTI,
    NGX_HTTP_INGEST_VAR_KID,
    NGX_HTTP_INGEST_VAR_SCOPE,
    NGX_HTTP_INGEST_VAR_STATUS
};


static ngx_http_variable_t  ngx_http_ingest_token_vars[] = {

    { ngx_string("upload_token_sub"), NULL, ngx_http_ingest_token_variable,
      NGX_HTTP_INGEST_VAR_SUB, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("upload_token_jti"), NULL, ngx_http_ingest_token_variable,
      NGX_HTTP_INGEST_VAR_JTI, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("upload_token_kid"), NULL, ngx_http_ingest_token_variable,
      NGX_HTTP_INGEST_VAR_KID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("upload_token_scope"), NULL, ngx_http_ingest_token_variable,
      NGX_HTTP_INGEST_VAR_SCOPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("upload_token_status"), NULL,
      ngx_http_ingest_token_variable,
      NGX_HTTP_INGEST_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* this worker's deny list; swapped by the reload timer */
static ngx_http_ingest_token_main_conf_t  *ngx_http_ingest_token_mcf;


ngx_http_ingest_auth_t *
ngx_http_ingest_auth(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r->main, ngx_http_ingest_token_module);
}


/*
 * Verifies the request's token once and keeps the result on r->main:
 * called by the access handler and by the $upload_token_* variables,
 * which limit_req (preaccess phase, before access) may evaluate first.
 * Context: event loop
 */

static ngx_http_ingest_auth_t *
ngx_http_ingest_token_check(ngx_http_request_t *r,
    ngx_http_ingest_token_loc_conf_t *conf)
{
    time_t                   start;
    ngx_str_t                token;
    ingest_token_rc_t        rc;
    ngx_http_ingest_auth_t  *auth;

    auth = ngx_http_get_module_ctx(r->main, ngx_http_ingest_token_module);

    if (auth != NULL) {
        return auth;
    }

    auth = ngx_pcalloc(r->pool, sizeof(ngx_http_ingest_auth_t));
    if (auth == NULL) {
        return NULL;
    }

    auth->session_idle = conf->session_idle;
    auth->session_max = conf->session_max;

    ngx_http_set_ctx(r->main, auth, ngx_http_ingest_token_module);

    if (ngx_http_ingest_token_find(r, conf, &token) != NGX_OK) {
        auth->status = INGEST_TOKEN_MALFORMED;
        auth->missing = 1;
        return auth;
    }

    rc = ingest_token_verify(conf->keyset, token.data, token.len, ngx_time(),
                             conf->leeway, &auth->claims);

    /*
     * Where the session window starts: at the token's own issue for the
     * refresh endpoint (which then checks the whole chain's start, kept
     * in "nbf", and answers "session over"), at the chain's start
     * elsewhere.
     */
    start = (conf->refresh != NULL) ? (time_t) auth->claims.iat
                                     : ngx_http_ingest_token_start(
                                                             &auth->claims);

    if (rc == INGEST_TOKEN_EXPIRED
        && conf->sessions
        && start != 0
        && ngx_time() <= start + conf->session_max)
    {
        /*
         * An expired token is good only for the upload it created, while
         * that upload's session is active; the tus handler checks both
         * once it has read the upload's record.
         */
        auth->session = 1;
        rc = INGEST_TOKEN_OK;
    }

    if (rc == INGEST_TOKEN_OK
        && conf->audience.len
        && !ingest_token_has_audience(&auth->claims,
                                      (char *) conf->audience.data))
    {
        rc = INGEST_TOKEN_WRONG_AUDIENCE;
    }

    /* the refresh endpoint serves tokens of any scope */
    if (rc == INGEST_TOKEN_OK
        && conf->refresh == NULL
        && !ingest_token_scope_allows(&auth->claims, r->uri.data, r->uri.len))
    {
        rc = INGEST_TOKEN_SCOPE;
    }

    if (rc == INGEST_TOKEN_OK
        && ngx_http_ingest_token_revoked(r, &auth->claims) != NGX_OK)
    {
        rc = INGEST_TOKEN_REVOKED;
    }

    auth->status = rc;

    if (rc == INGEST_TOKEN_OK) {
        auth->sub.data = (u_char *) auth->claims.sub;
        auth->sub.len = ngx_strlen(auth->claims.sub);
    }

    return auth;
}


/* Context: event loop, access phase */

static ngx_int_t
ngx_http_ingest_token_handler(ngx_http_request_t *r)
{
    ngx_http_ingest_auth_t            *auth;
    ngx_http_ingest_token_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_ingest_token_module);

    if (!conf->enable) {
        return NGX_DECLINED;
    }

    /* a CORS preflight carries no credentials by definition */
    if (r->method == NGX_HTTP_OPTIONS) {
        return NGX_DECLINED;
    }

    auth = ngx_http_ingest_token_check(r, conf);
    if (auth == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (auth->status != INGEST_TOKEN_OK) {
        if (auth->rejected) {
            /* an internal redirect of a rejected request */
            return NGX_HTTP_FORBIDDEN;
        }

        auth->rejected = 1;

        return ngx_http_ingest_token_reject(r, auth, auth->status);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "token ok: kid \"%s\", sub \"%V\", session %ui",
                   auth->claims.kid, &auth->sub, (ngx_uint_t) auth->session);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_ingest_token_find(ngx_http_request_t *r,
    ngx_http_ingest_token_loc_conf_t *conf, ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h != NULL) {
        p = h->value.data;
        last = p + h->value.len;

        if (h->value.len > 7
            && ngx_strncasecmp(p, (u_char *) "Bearer ", 7) == 0)
        {
            p += 7;

            while (p < last && *p == ' ') {
                p++;
            }

            while (last > p && last[-1] == ' ') {
                last--;
            }

            if (p < last) {
                token->data = p;
                token->len = last - p;
                return NGX_OK;
            }
        }

        /* other schemes (e.g. AWS4-HMAC-SHA256) are not ours */
    }

    if (conf->arg.len
        && ngx_http_arg(r, conf->arg.data, conf->arg.len, &value) == NGX_OK
        && value.len)
    {
        /* base64url has nothing to unescape */
        *token = value;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_ingest_token_reject(ngx_http_request_t *r,
    ngx_http_ingest_auth_t *auth, ingest_token_rc_t rc)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        status;
    const char       *reason;
    ngx_table_elt_t  *h;

    reason = auth->missing ? "token missing" : ingest_token_reason(rc);

    status = (rc == INGEST_TOKEN_WRONG_AUDIENCE || rc == INGEST_TOKEN_SCOPE)
             ? NGX_HTTP_FORBIDDEN : NGX_HTTP_UNAUTHORIZED;

    if (auth->missing) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_AUTH_MISSING, 1);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "token missing for \"%V\"", &r->uri);

    } else {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_AUTH_MALFORMED
                                   + (rc - INGEST_TOKEN_MALFORMED), 1);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "token rejected with %ui: %s (kid \"%s\", sub \"%s\", "
                      "jti \"%s\")", status, reason, auth->claims.kid,
                      auth->claims.sub, auth->claims.jti);
    }

    if (status == NGX_HTTP_UNAUTHORIZED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = sizeof("Bearer realm=\"ingest\", error=\"invalid_token\", "
                     "error_description=\"\"") - 1 + ngx_strlen(reason);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        h->value.data = p;

        if (auth->missing) {
            h->value.len = ngx_sprintf(p, "Bearer realm=\"ingest\"") - p;

        } else {
            h->value.len = ngx_sprintf(p, "Bearer realm=\"ingest\", "
                                       "error=\"invalid_token\", "
                                       "error_description=\"%s\"", reason)
                           - p;
        }

        r->headers_out.www_authenticate = h;
    }

    return status;
}


/* when the token's session began: the earlier of "nbf" and "iat" */
static time_t
ngx_http_ingest_token_start(ingest_token_claims_t *c)
{
    time_t  t;

    t = (time_t) c->iat;

    if (c->nbf != 0 && (t == 0 || c->nbf < t)) {
        t = (time_t) c->nbf;
    }

    return t;
}


static int
ngx_http_ingest_token_strcmp(const void *a, const void *b)
{
    return ngx_strcmp(*(char **) a, *(char **) b);
}


static ngx_int_t
ngx_http_ingest_token_revoked(ngx_http_request_t *r, ingest_token_claims_t *c)
{
    char                        *key, **found;
    size_t                       i;
    ngx_http_ingest_revoked_t   *rv;

    if (ngx_http_ingest_token_mcf == NULL) {
        return NGX_OK;
    }

    rv = ngx_http_ingest_token_mcf->revoked;

    if (rv == NULL) {
        return NGX_OK;
    }

    key = c->jti;

    if (key[0] && rv->njti) {
        found = bsearch(&key, rv->jti, rv->njti, sizeof(char *),
                        ngx_http_ingest_token_strcmp);
        if (found != NULL) {
            return NGX_DECLINED;
        }
    }

    key = c->sub;

    if (rv->nsub) {
        found = bsearch(&key, rv->sub, rv->nsub, sizeof(char *),
                        ngx_http_ingest_token_strcmp);
        if (found != NULL) {
            i = found - rv->sub;

            /*
             * Tokens (and so sessions) that began up to that time are
             * gone; a refreshed token's session began at its "nbf".
             */
            if (rv->sub_before[i] == 0
                || ngx_http_ingest_token_start(c) == 0
                || ngx_http_ingest_token_start(c) <= rv->sub_before[i])
            {
                return NGX_DECLINED;
            }
        }
    }

    return NGX_OK;
}


/*
 * "jti <id>" and "sub <subject> [<unix time>]" lines, "#" comments.
 * Returns NULL and the failing line number (0: out of memory).
 */

static ngx_http_ingest_revoked_t *
ngx_http_ingest_revoked_parse(u_char *data, size_t len, ngx_uint_t *line)
{
    u_char                     *p, *last, *eol, *word, *arg, *tm, *m;
    size_t                      njti, nsub, wlen, alen, tlen;
    uint64_t                    t;
    ngx_uint_t                  pass, n;
    ngx_http_ingest_revoked_t  *rv;

    rv = NULL;
    m = NULL;
    njti = 0;
    nsub = 0;

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            rv = malloc(sizeof(ngx_http_ingest_revoked_t)
                        + (njti + 2 * nsub) * sizeof(char *)
                        + nsub * sizeof(int64_t) + len + njti + nsub + 1);
            if (rv == NULL) {
                *line = 0;
                return NULL;
            }

            ngx_memzero(rv, sizeof(ngx_http_ingest_revoked_t));

            rv->jti = (char **) (rv + 1);
            rv->sub = rv->jti + njti;
            rv->sub_before = (int64_t *) (rv->sub + nsub);
            m = (u_char *) (rv->sub_before + nsub);
            rv->mem = (u_char *) rv;
        }

        p = data;
        last = data + len;
        n = 0;

        while (p < last) {
            n++;

            eol = ngx_strlchr(p, last, '\n');
            if (eol == NULL) {
                eol = last;
            }

            while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r')) {
                p++;
            }

            if (p == eol || *p == '#') {
                p = eol + 1;
                continue;
            }

            word = p;
            while (p < eol && *p != ' ' && *p != '\t' && *p != '\r') {
                p++;
            }
            wlen = p - word;

            while (p < eol && (*p == ' ' || *p == '\t')) {
                p++;
            }

            arg = p;
            while (p < eol && *p != ' ' && *p != '\t' && *p != '\r') {
                p++;
            }
            alen = p - arg;

            while (p < eol && (*p == ' ' || *p == '\t')) {
                p++;
            }

            tm = p;
            while (p < eol && *p != ' ' && *p != '\t' && *p != '\r') {
                p++;
            }
            tlen = p - tm;

            while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r')) {
                p++;
            }

            if (alen == 0 || p != eol) {
                goto invalid;
            }

            if (wlen == 3 && ngx_strncmp(word, "jti", 3) == 0 && tlen == 0) {
                if (pass == 1) {
                    rv->jti[rv->njti++] = (char *) m;
                    m = ngx_cpymem(m, arg, alen);
                    *m++ = '\0';

                } else {
                    njti++;
                }

            } else if (wlen == 3 && ngx_strncmp(word, "sub", 3) == 0) {
                t = 0;

                if (tlen && ingest_parse_u64(tm, tlen, &t) != 0) {
                    goto invalid;
                }

                if (pass == 1) {
                    rv->sub_before[rv->nsub] = (int64_t) t;
                    rv->sub[rv->nsub++] = (char *) m;
                    m = ngx_cpymem(m, arg, alen);
                    *m++ = '\0';

                } else {
                    nsub++;
                }

            } else {
                goto invalid;
            }

            p = eol + 1;
        }
    }

    qsort(rv->jti, rv->njti, sizeof(char *), ngx_http_ingest_token_strcmp);

    /* subjects: keep the times paired while sorting */
    for (n = 1; n < rv->nsub; n++) {
        char     *s = rv->sub[n];
        int64_t   b = rv->sub_before[n];
        size_t    k = n;

        while (k > 0 && ngx_strcmp(rv->sub[k - 1], s) > 0) {
            rv->sub[k] = rv->sub[k - 1];
            rv->sub_before[k] = rv->sub_before[k - 1];
            k--;
        }

        rv->sub[k] = s;
        rv->sub_before[k] = b;
    }

    return rv;

invalid:

    free(rv);
    *line = n;

    return NULL;
}


/* Context: event loop, worker timer */

static void
ngx_http_ingest_revoked_reload(ngx_event_t *ev)
{
    ngx_http_ingest_token_main_conf_t  *mcf = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (ngx_thread_task_post(ngx_http_ingest_thread_pool(), mcf->reload_task)
        != NGX_OK)
    {
        ngx_add_timer(ev, NGX_HTTP_INGEST_TOKEN_RELOAD);
    }
}


/* Context: thread pool */

static void
ngx_http_ingest_revoked_thread(void *data, ngx_log_t *log)
{
    ngx_http_ingest_token_main_conf_t  *mcf = *(void **) data;

    u_char                 *buf;
    size_t                  len;
    ngx_uint_t              line;
    struct stat             st;
    ngx_http_ingest_err_t   e;

    mcf->reload_changed = 0;
    mcf->reload_failed = 0;
    mcf->loaded = NULL;

    if (stat((char *) mcf->revoked_file.data, &st) == -1) {
        mcf->reload_failed = 1;
        return;
    }

    if (st.st_mtime == mcf->revoked_mtime && st.st_size == mcf->revoked_size
        && st.st_ino == mcf->revoked_ino)
    {
        return;
    }

    buf = ngx_http_ingest_read_small((char *) mcf->revoked_file.data,
                                     64 * 1024 * 1024, &len, &e);
    if (buf == NULL) {
        mcf->reload_failed = 1;
        return;
    }

    mcf->loaded = ngx_http_ingest_revoked_parse(buf, len, &line);

    free(buf);

    if (mcf->loaded == NULL) {
        mcf->reload_failed = line + 1;
        return;
    }

    mcf->revoked_mtime = st.st_mtime;
    mcf->revoked_size = st.st_size;
    mcf->revoked_ino = st.st_ino;
    mcf->reload_changed = 1;
}


/* Context: event loop */

static void
ngx_http_ingest_revoked_done(ngx_event_t *ev)
{
    ngx_http_ingest_token_main_conf_t  *mcf = ev->data;

    if (mcf->reload_changed) {
        free(mcf->revoked);
        mcf->revoked = mcf->loaded;
        mcf->loaded = NULL;

        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "token deny list \"%V\" reloaded: %uz jti, %uz sub",
                      &mcf->revoked_file, mcf->revoked->njti,
                      mcf->revoked->nsub);

    } else if (mcf->reload_failed > 1) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "token deny list \"%V\" has an invalid line %ui, "
                      "the previous list stays in force",
                      &mcf->revoked_file, mcf->reload_failed - 1);

        /* do not complain every second about the same file */
        mcf->revoked_mtime = 0;
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(&mcf->reload_event, NGX_HTTP_INGEST_TOKEN_RELOAD);
    }
}


static ngx_int_t
ngx_http_ingest_token_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    char                              *s;
    ngx_http_ingest_auth_t            *auth;
    ngx_http_ingest_token_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_ingest_token_module);

    auth = ngx_http_get_module_ctx(r->main, ngx_http_ingest_token_module);

    if (auth == NULL && conf->enable) {
        auth = ngx_http_ingest_token_check(r, conf);
        if (auth == NULL) {
            return NGX_ERROR;
        }
    }

    if (auth == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (auth->status != INGEST_TOKEN_OK && data != NGX_HTTP_INGEST_VAR_STATUS)
    {
        /* claims of a rejected token are nobody's */
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_INGEST_VAR_SUB:
        s = auth->claims.sub;
        break;

    case NGX_HTTP_INGEST_VAR_JTI:
        s = auth->claims.jti;
        break;

    case NGX_HTTP_INGEST_VAR_KID:
        s = auth->claims.kid;
        break;

    case NGX_HTTP_INGEST_VAR_SCOPE:
        s = auth->claims.scope;
        break;

    default: /* NGX_HTTP_INGEST_VAR_STATUS */
        s = auth->status == INGEST_TOKEN_OK
            ? (auth->session ? "session" : "ok")
            : (auth->missing ? "missing"
                             : (char *) ingest_token_reason(auth->status));
        break;
    }

    if (s[0] == '\0') {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = (u_char *) s;
    v->len = ngx_strlen(s);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ingest_token_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_ingest_token_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ingest_token_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_ingest_token_handler;

    return NGX_OK;
}


static void *
ngx_http_ingest_token_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ingest_token_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ingest_token_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    return mcf;
}


static void
ngx_http_ingest_revoked_cleanup(void *data)
{
    ngx_http_ingest_token_main_conf_t  *mcf = data;

    free(mcf->revoked);
    mcf->revoked = NULL;
}


static char *
ngx_http_ingest_token_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_ingest_token_main_conf_t *mcf = conf;

    u_char              *buf;
    size_t               len;
    ngx_uint_t           line;
    struct stat          st;
    ngx_pool_cleanup_t  *cln;
    ngx_http_ingest_err_t  e;

    if (mcf->revoked_file.len == 0) {
        return NGX_CONF_OK;
    }

    if (ngx_conf_full_name(cf->cycle, &mcf->revoked_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* read at start-up: a broken list must stop a (re)load */

    buf = ngx_http_ingest_read_small((char *) mcf->revoked_file.data,
                                     64 * 1024 * 1024, &len, &e);
    if (buf == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, e.err,
                           "cannot read token deny list \"%V\"",
                           &mcf->revoked_file);
        return NGX_CONF_ERROR;
    }

    mcf->revoked = ngx_http_ingest_revoked_parse(buf, len, &line);

    free(buf);

    if (mcf->revoked == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid line %ui in token deny list \"%V\"",
                           line, &mcf->revoked_file);
        return NGX_CONF_ERROR;
    }

    if (stat((char *) mcf->revoked_file.data, &st) == 0) {
        mcf->revoked_mtime = st.st_mtime;
        mcf->revoked_size = st.st_size;
        mcf->revoked_ino = st.st_ino;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_ingest_revoked_cleanup;
    cln->data = mcf;

    return NGX_CONF_OK;
}


static void *
ngx_http_ingest_token_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ingest_token_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ingest_token_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    conf->keys = NGX_CONF_UNSET_PTR;
    conf->leeway = NGX_CONF_UNSET;
    conf->session_idle = NGX_CONF_UNSET;
    conf->session_max = NGX_CONF_UNSET;
    conf->sessions = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_ingest_token_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_ingest_token_loc_conf_t *prev = parent;
    ngx_http_ingest_token_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->audience, prev->audience, "upload");
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 30);
    ngx_conf_merge_str_value(conf->arg, prev->arg, "token");
    ngx_conf_merge_sec_value(conf->session_idle, prev->session_idle, 3600);
    ngx_conf_merge_sec_value(conf->session_max, prev->session_max, 86400);

    if (conf->keys == NGX_CONF_UNSET_PTR) {
        conf->keys = prev->keys;
        conf->keyset = prev->keyset;
    }

    if (conf->keys == NGX_CONF_UNSET_PTR) {
        conf->keys = NULL;
    }

    /* sessions exist only where uploads are created, and for refresh */
    conf->sessions = ngx_http_tus_enabled(cf) || conf->refresh != NULL;

    if (conf->refresh != NULL && !conf->enable) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_token_refresh\" needs "
                           "\"ingest_token on\" in its location");
        return NGX_CONF_ERROR;
    }

    if (conf->enable && conf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ingest_token\" is on but no "
                           "\"ingest_token_key\" is configured");
        return NGX_CONF_ERROR;
    }

    if (conf->keys == NULL || conf->keyset != NULL) {
        return NGX_CONF_OK;
    }

    return ngx_ingest_token_keys_load(cf, conf->keys, &conf->keyset);
}


static char *
ngx_http_ingest_token_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ingest_token_loc_conf_t *tcf = conf;

    return ngx_ingest_token_key_add(cf, &tcf->keys);
}


static ngx_int_t
ngx_http_ingest_token_init_process(ngx_cycle_t *cycle)
{
    ngx_http_ingest_token_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_ingest_token_module);
    if (mcf == NULL) {
        return NGX_OK;
    }

    ngx_http_ingest_token_mcf = mcf;

    if (mcf->revoked_file.len == 0 || ngx_http_ingest_thread_pool() == NULL)
    {
        return NGX_OK;
    }

    mcf->reload_task = ngx_thread_task_alloc(cycle->pool, sizeof(void *));
    if (mcf->reload_task == NULL) {
        return NGX_ERROR;
    }

    *(void **) mcf->reload_task->ctx = mcf;
    mcf->reload_task->handler = ngx_http_ingest_revoked_thread;
    mcf->reload_task->event.handler = ngx_http_ingest_revoked_done;
    mcf->reload_task->event.data = mcf;
    mcf->reload_task->event.log = cycle->log;

    mcf->reload_event.handler = ngx_http_ingest_revoked_reload;
    mcf->reload_event.data = mcf;
    mcf->reload_event.log = cycle->log;
    mcf->reload_event.cancelable = 1;

    ngx_add_timer(&mcf->reload_event, NGX_HTTP_INGEST_TOKEN_RELOAD);

    return NGX_OK;
}


static void
ngx_http_ingest_token_key_cleanup(void *data)
{
    ngx_http_ingest_token_loc_conf_t  *conf = data;

    ngx_explicit_memzero(conf->refresh_key, conf->refresh_key_len);
}


static char *
ngx_http_ingest_token_refresh(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ingest_token_loc_conf_t *tcf = conf;

    u_char                    *buf;
    size_t                     len;
    ngx_str_t                 *value;
    ngx_pool_cleanup_t        *cln;
    ngx_http_ingest_err_t      e;
    ngx_http_core_loc_conf_t  *clcf;

    if (tcf->refresh != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    tcf->refresh = ngx_pcalloc(cf->pool, sizeof(ngx_ingest_token_key_t));
    if (tcf->refresh == NULL) {
        return NGX_CONF_ERROR;
    }

    if (value[1].len == 0 || value[1].len > INGEST_TOKEN_KID_MAX) {
        return "has an invalid key id";
    }

    tcf->refresh->kid = value[1];

    if (ngx_ingest_token_parse_alg(cf, &value[2], &tcf->refresh->alg)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    tcf->refresh->file = value[3];

    if (ngx_conf_full_name(cf->cycle, &tcf->refresh->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    buf = ngx_http_ingest_read_small((char *) tcf->refresh->file.data, 65536,
                                     &len, &e);
    if (buf == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, e.err,
                           "cannot read token signing key \"%V\"",
                           &tcf->refresh->file);
        return NGX_CONF_ERROR;
    }

    tcf->refresh_key = ngx_pnalloc(cf->pool, 256);
    if (tcf->refresh_key == NULL) {
        free(buf);
        return NGX_CONF_ERROR;
    }

    tcf->refresh_key_len = 256;

    if (ingest_token_parse_private_key_file(tcf->refresh->alg, buf, len,
                                            tcf->refresh_key,
                                            &tcf->refresh_key_len)
        != 0)
    {
        ngx_explicit_memzero(buf, len);
        free(buf);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid signing key in \"%V\" (HS256: the "
                           "secret; EdDSA: a PEM Ed25519 private key)",
                           &tcf->refresh->file);
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(buf, len);
    free(buf);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_ingest_token_key_cleanup;
    cln->data = tcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ingest_token_refresh_handler;

    return NGX_CONF_OK;
}


/*
 * Issues a new token for the bearer of a valid one, or of an expired one
 * whose session (since its "nbf", or "iat") is not over: same subject,
 * audience and limits, the same lifetime from now, "nbf" kept, so a
 * chain of refreshes ends session_max after the first token.
 * Context: event loop, content phase
 */

static ngx_int_t
ngx_http_ingest_token_refresh_handler(ngx_http_request_t *r)
{
    size_t                             n;
    time_t                             now, anchor, ttl;
    ngx_int_t                          rc;
    ngx_buf_t                         *b;
    ngx_chain_t                        out;
    ngx_table_elt_t                   *h;
    ingest_token_claims_t              c;
    ngx_http_ingest_auth_t            *auth;
    ngx_http_ingest_token_loc_conf_t  *conf;

    if (!(r->method & (NGX_HTTP_POST|NGX_HTTP_GET))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    conf = ngx_http_get_module_loc_conf(r, ngx_http_ingest_token_module);
    auth = ngx_http_ingest_auth(r);

    if (auth == NULL || auth->status != INGEST_TOKEN_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "token refresh needs \"ingest_token on\" and "
                      "\"ingest_token_key\" in its location");
        return NGX_HTTP_FORBIDDEN;
    }

    now = ngx_time();
    c = auth->claims;

    anchor = ngx_http_ingest_token_start(&c);

    if (anchor == 0 || now > anchor + conf->session_max) {
        ngx_http_ingest_metric_add(NGX_HTTP_INGEST_M_SESSION_OVER, 1);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "token refresh refused for \"%V\": session over",
                      &auth->sub);

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        ngx_str_set(&h->value, "Bearer realm=\"ingest\", "
                               "error=\"invalid_token\", "
                               "error_description=\"session over\"");
        r->headers_out.www_authenticate = h;

        return NGX_HTTP_UNAUTHORIZED;
    }

    ttl = (c.iat && c.exp > c.iat) ? (time_t) (c.exp - c.iat) : 1800;

    if (ttl > conf->session_max) {
        ttl = conf->session_max;
    }

    c.nbf = anchor;
    c.iat = now;
    c.exp = ngx_min(now + ttl, anchor + conf->session_max);

    b = ngx_create_temp_buf(r->pool, INGEST_TOKEN_MAX_LEN + 128);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "{\"token\":\"", sizeof("{\"token\":\"") - 1);

    n = ingest_token_sign(&c, (char *) conf->refresh->kid.data,
                          conf->refresh->alg, conf->refresh_key,
                          conf->refresh_key_len, b->last,
                          INGEST_TOKEN_MAX_LEN);
    if (n == 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "token refresh: signing failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last += n;
    b->last = ngx_sprintf(b->last, "\",\"expires\":%T}\n", (time_t) c.exp);
    b->last_buf = 1;
    b->last_in_chain = 1;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "token refreshed for \"%V\" until %T", &auth->sub,
                  (time_t) c.exp);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = sizeof("application/json") - 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
