
/*
 * Copyright (C) nginx video ingest developers
 *
 * The directives of "srt { server { ... } }": the listen address, the
 * SRT socket options, token checks in the handshake and the relays.
 * Every server block has its own configuration; nothing is inherited
 * from the srt block except what "server" copies.
 */


#include "ngx_srt.h"


static void *ngx_srt_core_create_main_conf(ngx_conf_t *cf);
static void *ngx_srt_core_create_srv_conf(ngx_conf_t *cf);
static char *ngx_srt_core_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_srt_core_server(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_srt_core_listen(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_srt_core_token_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_srt_core_relay_rtmp(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_srt_core_relay_live(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_srt_core_forward(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_addr_t *ngx_srt_core_parse_addr(ngx_conf_t *cf, ngx_str_t *text,
    in_port_t default_port);


static ngx_conf_num_bounds_t  ngx_srt_core_payload_bounds = {
    ngx_conf_check_num_bounds, 188, 1456
};

static ngx_conf_num_bounds_t  ngx_srt_core_streams_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_SRT_TABLE_SIZE
};


static ngx_command_t  ngx_srt_core_commands[] = {

    { ngx_string("server"),
      NGX_SRT_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_NOARGS,
      ngx_srt_core_server,
      0,
      0,
      NULL },

    { ngx_string("listen"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE12,
      ngx_srt_core_listen,
      NGX_SRT_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("latency"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, latency),
      NULL },

    { ngx_string("passphrase"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, passphrase),
      NULL },

    { ngx_string("pbkeylen"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, pbkeylen),
      NULL },

    { ngx_string("payload_size"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, payload_size),
      &ngx_srt_core_payload_bounds },

    { ngx_string("recv_buffer"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, recv_buffer),
      NULL },

    { ngx_string("max_streams"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, max_streams),
      &ngx_srt_core_streams_bounds },

    { ngx_string("idle_timeout"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, idle_timeout),
      NULL },

    { ngx_string("token"),
      NGX_SRT_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, token),
      NULL },

    { ngx_string("token_key"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE3,
      ngx_srt_core_token_key,
      NGX_SRT_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("token_audience"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, audience),
      NULL },

    { ngx_string("token_leeway"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, leeway),
      NULL },

    { ngx_string("relay_rtmp"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_srt_core_relay_rtmp,
      NGX_SRT_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("relay_live"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_srt_core_relay_live,
      NGX_SRT_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forward"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_srt_core_forward,
      NGX_SRT_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("relay_buffer"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, relay_buffer),
      NULL },

    { ngx_string("relay_timeout"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_SRT_SRV_CONF_OFFSET,
      offsetof(ngx_srt_srv_conf_t, relay_timeout),
      NULL },

      ngx_null_command
};


static ngx_srt_module_t  ngx_srt_core_module_ctx = {
    ngx_srt_core_create_main_conf,         /* create main configuration */
    NULL,                                  /* init main configuration */
    ngx_srt_core_create_srv_conf,          /* create server configuration */
    ngx_srt_core_merge_srv_conf            /* merge server configuration */
};


ngx_module_t  ngx_srt_core_module = {
    NGX_MODULE_V1,
    &ngx_srt_core_module_ctx,              /* module context */
    ngx_srt_core_commands,                 /* module directives */
    NGX_SRT_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_srt_core_create_main_conf(ngx_conf_t *cf)
{
    ngx_srt_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_srt_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->servers, cf->pool, 4,
                       sizeof(ngx_srt_srv_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


static void *
ngx_srt_core_create_srv_conf(ngx_conf_t *cf)
{
    ngx_srt_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_srt_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->passphrase = { 0, NULL };
     *     conf->audience = { 0, NULL };
     *     conf->relay_rtmp = { 0, NULL };
     *     conf->relay_live = { 0, NULL };
     *     conf->forward = { 0, NULL };
     */

    conf->latency = NGX_CONF_UNSET_MSEC;
    conf->pbkeylen = NGX_CONF_UNSET;
    conf->payload_size = NGX_CONF_UNSET;
    conf->recv_buffer = NGX_CONF_UNSET_SIZE;
    conf->max_streams = NGX_CONF_UNSET_UINT;
    conf->idle_timeout = NGX_CONF_UNSET_MSEC;
    conf->token = NGX_CONF_UNSET;
    conf->keys = NGX_CONF_UNSET_PTR;
    conf->leeway = NGX_CONF_UNSET;
    conf->relay_buffer = NGX_CONF_UNSET_SIZE;
    conf->relay_timeout = NGX_CONF_UNSET_MSEC;

    conf->file = cf->conf_file->file.name.data;
    conf->line = cf->conf_file->line;

    return conf;
}


static char *
ngx_srt_core_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_srt_srv_conf_t *conf = child;

    ngx_conf_merge_msec_value(conf->latency, NGX_CONF_UNSET_MSEC, 250);

    if (conf->pbkeylen != NGX_CONF_UNSET && conf->pbkeylen != 16
        && conf->pbkeylen != 24 && conf->pbkeylen != 32)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server in %s:%ui: \"pbkeylen\" must be 16, 24 "
                      "or 32", conf->file, conf->line);
        return NGX_CONF_ERROR;
    }

    /* 0: not set, the caller's (a sender's own length wins in libsrt) */
    ngx_conf_merge_value(conf->pbkeylen, NGX_CONF_UNSET, 0);
    ngx_conf_merge_value(conf->payload_size, NGX_CONF_UNSET, 1316);
    ngx_conf_merge_size_value(conf->recv_buffer, NGX_CONF_UNSET_SIZE,
                              8 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_streams, NGX_CONF_UNSET_UINT, 100);
    ngx_conf_merge_msec_value(conf->idle_timeout, NGX_CONF_UNSET_MSEC, 5000);
    ngx_conf_merge_value(conf->token, NGX_CONF_UNSET, 0);
    ngx_conf_merge_ptr_value(conf->keys, NGX_CONF_UNSET_PTR, NULL);
    if (conf->audience.data == NULL) {
        ngx_str_set(&conf->audience, "srt");
    }
    ngx_conf_merge_sec_value(conf->leeway, NGX_CONF_UNSET, 30);
    ngx_conf_merge_size_value(conf->relay_buffer, NGX_CONF_UNSET_SIZE,
                              1024 * 1024);
    ngx_conf_merge_msec_value(conf->relay_timeout, NGX_CONF_UNSET_MSEC,
                              5000);

    if (!conf->listen_set) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server in %s:%ui has no \"listen\"",
                      conf->file, conf->line);
        return NGX_CONF_ERROR;
    }

    if (conf->latency > 60000) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server %V: \"latency\" must be at most 60s",
                      &conf->listen);
        return NGX_CONF_ERROR;
    }

    if (conf->passphrase.len
        && (conf->passphrase.len < 10 || conf->passphrase.len > 79))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server %V: \"passphrase\" must be 10 to 79 "
                      "characters (an SRT rule)", &conf->listen);
        return NGX_CONF_ERROR;
    }

    if (conf->recv_buffer < 1024 * 1024
        || conf->recv_buffer > 1024 * 1024 * 1024)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server %V: \"recv_buffer\" must be 1m to 1g",
                      &conf->listen);
        return NGX_CONF_ERROR;
    }

    if (conf->relay_buffer < 64 * 1024) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server %V: \"relay_buffer\" must be at least 64k",
                      &conf->listen);
        return NGX_CONF_ERROR;
    }

    if (conf->idle_timeout < 1000) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server %V: \"idle_timeout\" must be at least 1s",
                      &conf->listen);
        return NGX_CONF_ERROR;
    }

    if (conf->token && conf->keys == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server %V: \"token\" is on but no \"token_key\" "
                      "is configured", &conf->listen);
        return NGX_CONF_ERROR;
    }

    if (conf->relay_rtmp.len == 0 && conf->relay_live.len == 0
        && conf->forward.len == 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "srt server %V has nowhere to send streams: set "
                      "\"relay_live\", \"relay_rtmp\" or \"forward\"",
                      &conf->listen);
        return NGX_CONF_ERROR;
    }

    if (conf->keys) {
        return ngx_ingest_token_keys_load(cf, conf->keys, &conf->keyset);
    }

    return NGX_CONF_OK;
}


/*
 * "server { ... }" inside "srt": a configuration context of its own,
 * like the stream module's servers.
 */

static char *
ngx_srt_core_server(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                 *rv;
    void                 *mconf;
    ngx_uint_t            m;
    ngx_conf_t            pcf;
    ngx_srt_module_t     *module;
    ngx_srt_conf_ctx_t   *ctx, *srt_ctx;
    ngx_srt_srv_conf_t   *cscf, **cscfp;
    ngx_srt_main_conf_t  *mcf;

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_srt_conf_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    srt_ctx = cf->ctx;
    ctx->main_conf = srt_ctx->main_conf;

    ctx->srv_conf = ngx_pcalloc(cf->pool,
                                sizeof(void *) * ngx_srt_max_module);
    if (ctx->srv_conf == NULL) {
        return NGX_CONF_ERROR;
    }

    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != NGX_SRT_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;

        if (module->create_srv_conf) {
            mconf = module->create_srv_conf(cf);
            if (mconf == NULL) {
                return NGX_CONF_ERROR;
            }

            ctx->srv_conf[cf->cycle->modules[m]->ctx_index] = mconf;
        }
    }

    cscf = ctx->srv_conf[ngx_srt_core_module.ctx_index];
    cscf->ctx = ctx;

    mcf = ctx->main_conf[ngx_srt_core_module.ctx_index];

    cscfp = ngx_array_push(&mcf->servers);
    if (cscfp == NULL) {
        return NGX_CONF_ERROR;
    }

    cscf->index = mcf->servers.nelts - 1;
    *cscfp = cscf;

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = NGX_SRT_SRV_CONF;

    rv = ngx_conf_parse(cf, NULL);

    *cf = pcf;

    return rv;
}


static char *
ngx_srt_core_listen(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_srt_srv_conf_t *scf = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_addr_t  *addr;

    if (scf->listen_set) {
        return "is duplicate (one \"listen\" per srt server)";
    }

    value = cf->args->elts;

    scf->sockets = NGX_SRT_SOCKETS_DEFAULT;

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "sockets=", 8) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        n = ngx_atoi(value[2].data + 8, value[2].len - 8);

        if (n < 1 || n > NGX_SRT_SOCKETS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"sockets\" must be 1 to %d in \"%V\"",
                               NGX_SRT_SOCKETS_MAX, &value[2]);
            return NGX_CONF_ERROR;
        }

        scf->sockets = n;
    }

    addr = ngx_srt_core_parse_addr(cf, &value[1], 0);
    if (addr == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_inet_get_port(addr->sockaddr) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "srt \"listen %V\" needs a port", &value[1]);
        return NGX_CONF_ERROR;
    }

    scf->listen = value[1];
    scf->addr = *addr;
    scf->listen_set = 1;

    return NGX_CONF_OK;
}


/* host:port or IP:port, resolved once at configuration time */

static ngx_addr_t *
ngx_srt_core_parse_addr(ngx_conf_t *cf, ngx_str_t *text,
    in_port_t default_port)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *text;
    u.default_port = default_port;
    u.no_resolve = 0;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\"",
                           u.err ? u.err : "invalid address", text);
        return NULL;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host not found in \"%V\"", text);
        return NULL;
    }

    return &u.addrs[0];
}


static char *
ngx_srt_core_token_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_srt_srv_conf_t *scf = conf;

    return ngx_ingest_token_key_add(cf, &scf->keys);
}


static char *
ngx_srt_core_relay_rtmp(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_srt_srv_conf_t *scf = conf;

    u_char             *p;
    ngx_str_t          *value, host;
    ingest_rtmp_url_t   url;

    if (scf->relay_rtmp.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "rtmp://", 7) != 0
        || ngx_strlcasestrn(value[1].data, value[1].data + value[1].len,
                            (u_char *) "$stream", 7 - 1)
           == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"relay_rtmp\" needs an rtmp:// URL with "
                           "$stream in it, not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    /* the URL as it will be with a stream name: host, port, app */

    if (ingest_rtmp_url_parse(value[1].data, value[1].len, &url) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid RTMP URL \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_strstrn((u_char *) url.host, "$", 0) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"relay_rtmp\": $stream may be in the path of "
                           "\"%V\", not in the host", &value[1]);
        return NGX_CONF_ERROR;
    }

    host.len = ngx_strlen(url.host);
    host.data = ngx_pnalloc(cf->pool, host.len + NGX_INT_T_LEN + 2);
    if (host.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_sprintf(host.data, "%s:%ui", url.host, (ngx_uint_t) url.port);
    host.len = p - host.data;

    scf->rtmp_addr = ngx_srt_core_parse_addr(cf, &host, INGEST_RTMP_PORT);
    if (scf->rtmp_addr == NULL) {
        return NGX_CONF_ERROR;
    }

    scf->relay_rtmp = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_srt_core_relay_live(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_srt_srv_conf_t *scf = conf;

    ngx_str_t           *value, path;
    struct sockaddr_un  *sun;

    if (scf->relay_live.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (path.len > 5 && ngx_strncmp(path.data, "unix:", 5) == 0) {
        path.data += 5;
        path.len -= 5;
    }

    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (path.len == 0 || path.len >= sizeof(sun->sun_path)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"relay_live\": the socket path \"%V\" is empty "
                           "or too long", &value[1]);
        return NGX_CONF_ERROR;
    }

    scf->live_addr = ngx_pcalloc(cf->pool, sizeof(ngx_addr_t));
    sun = ngx_pcalloc(cf->pool, sizeof(struct sockaddr_un));
    if (scf->live_addr == NULL || sun == NULL) {
        return NGX_CONF_ERROR;
    }

    sun->sun_family = AF_UNIX;
    ngx_memcpy(sun->sun_path, path.data, path.len);

    scf->live_addr->sockaddr = (struct sockaddr *) sun;
    scf->live_addr->socklen = sizeof(struct sockaddr_un);
    scf->live_addr->name = path;

    scf->relay_live = path;

    return NGX_CONF_OK;
}


static char *
ngx_srt_core_forward(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_srt_srv_conf_t *scf = conf;

    ngx_str_t  *value, host;

    if (scf->forward.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len <= 6 || ngx_strncmp(value[1].data, "tcp://", 6) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"forward\" takes tcp://host:port (SRT "
                           "forwarding is not supported), not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    host.data = value[1].data + 6;
    host.len = value[1].len - 6;

    scf->forward_addr = ngx_srt_core_parse_addr(cf, &host, 0);
    if (scf->forward_addr == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_inet_get_port(scf->forward_addr->sockaddr) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"forward %V\" needs a port", &value[1]);
        return NGX_CONF_ERROR;
    }

    scf->forward = value[1];

    return NGX_CONF_OK;
}
