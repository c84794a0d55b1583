
/*
 * Copyright (C) nginx video ingest developers
 *
 * The access log of SRT sessions: "log_format" in "srt {}" and
 * "access_log" in its servers, one line per session when it ends, made
 * of text and the $srt_* variables of the session (packets, loss, RTT,
 * duration, why it ended, ...), like the stream module's log.
 *
 * The variables are not nginx variables (the srt block has no requests):
 * a format is compiled into a list of literal text and getters, each
 * getter printing one value of the session.
 */


#include "ngx_srt.h"


#define NGX_SRT_LOG_ESCAPE_DEFAULT  0
#define NGX_SRT_LOG_ESCAPE_JSON     1
#define NGX_SRT_LOG_ESCAPE_NONE     2

#define NGX_SRT_LOG_LINE_MAX        8192
#define NGX_SRT_LOG_VALUE_MAX       1024


typedef u_char *(*ngx_srt_log_get_pt)(ngx_srt_session_t *s, u_char *buf);


typedef struct {
    ngx_str_t                   name;
    ngx_srt_log_get_pt          get;
} ngx_srt_log_var_t;


/* literal text (get == NULL) or a variable */
typedef struct {
    ngx_str_t                   text;
    ngx_srt_log_get_pt          get;
} ngx_srt_log_op_t;


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  escape;
    ngx_array_t                *ops;            /* ngx_srt_log_op_t */
} ngx_srt_log_fmt_t;


typedef struct {
    ngx_array_t                 formats;        /* ngx_srt_log_fmt_t */
} ngx_srt_log_main_conf_t;


typedef struct {
    ngx_open_file_t            *file;
    ngx_srt_log_fmt_t          *format;
} ngx_srt_log_t;


typedef struct {
    ngx_array_t                *logs;           /* ngx_srt_log_t */
    ngx_uint_t                  off;            /* "access_log off" */
} ngx_srt_log_srv_conf_t;


static void *ngx_srt_log_create_main_conf(ngx_conf_t *cf);
static void *ngx_srt_log_create_srv_conf(ngx_conf_t *cf);
static char *ngx_srt_log_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_srt_log_set_format(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_srt_log_set_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_srt_log_compile(ngx_conf_t *cf, ngx_srt_log_fmt_t *fmt,
    ngx_str_t *args, ngx_uint_t n);
static ngx_int_t ngx_srt_log_add_text(ngx_conf_t *cf,
    ngx_srt_log_fmt_t *fmt, u_char *p, size_t len);
static u_char *ngx_srt_log_escape(u_char *dst, u_char *last, u_char *src,
    size_t len, ngx_uint_t escape);

static u_char *ngx_srt_log_stream(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_sub(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_remote_addr(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_remote_port(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_server_addr(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_session_id(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_packets(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_bytes(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_lost(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_retrans(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_drops(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_undecrypted(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_rtt(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_duration(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_status(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_reason(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_relay_bytes(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_bridge_dropped(ngx_srt_session_t *s,
    u_char *buf);
static u_char *ngx_srt_log_time_iso8601(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_time_local(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_msec(ngx_srt_session_t *s, u_char *buf);
static u_char *ngx_srt_log_pid(ngx_srt_session_t *s, u_char *buf);


/* the line "access_log path;" writes, as before there were formats */
static ngx_str_t  ngx_srt_log_combined = ngx_string(
    "$time_iso8601 $srt_remote_addr:$srt_remote_port \"$srt_stream\" "
    "\"$srt_sub\" $srt_server_addr $srt_duration $srt_packets $srt_bytes "
    "$srt_packets_lost $srt_retransmits $srt_drops $srt_rtt "
    "\"$srt_reason\"");


static ngx_srt_log_var_t  ngx_srt_log_vars[] = {
    { ngx_string("srt_stream"), ngx_srt_log_stream },
    { ngx_string("srt_sub"), ngx_srt_log_sub },
    { ngx_string("srt_remote_addr"), ngx_srt_log_remote_addr },
    { ngx_string("srt_remote_port"), ngx_srt_log_remote_port },
    { ngx_string("srt_server_addr"), ngx_srt_log_server_addr },
    { ngx_string("srt_session"), ngx_srt_log_session_id },
    { ngx_string("srt_packets"), ngx_srt_log_packets },
    { ngx_string("srt_bytes"), ngx_srt_log_bytes },
    { ngx_string("srt_packets_lost"), ngx_srt_log_lost },
    { ngx_string("srt_retransmits"), ngx_srt_log_retrans },
    { ngx_string("srt_drops"), ngx_srt_log_drops },
    { ngx_string("srt_undecrypted"), ngx_srt_log_undecrypted },
    { ngx_string("srt_rtt"), ngx_srt_log_rtt },
    { ngx_string("srt_duration"), ngx_srt_log_duration },
    { ngx_string("srt_status"), ngx_srt_log_status },
    { ngx_string("srt_reason"), ngx_srt_log_reason },
    { ngx_string("srt_relay_bytes"), ngx_srt_log_relay_bytes },
    { ngx_string("srt_bridge_dropped"), ngx_srt_log_bridge_dropped },
    { ngx_string("time_iso8601"), ngx_srt_log_time_iso8601 },
    { ngx_string("time_local"), ngx_srt_log_time_local },
    { ngx_string("msec"), ngx_srt_log_msec },
    { ngx_string("pid"), ngx_srt_log_pid },
    { ngx_null_string, NULL }
};


static ngx_command_t  ngx_srt_log_commands[] = {

    { ngx_string("log_format"),
      NGX_SRT_MAIN_CONF|NGX_CONF_2MORE,
      ngx_srt_log_set_format,
      NGX_SRT_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("access_log"),
      NGX_SRT_SRV_CONF|NGX_CONF_TAKE12,
      ngx_srt_log_set_log,
      NGX_SRT_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_srt_module_t  ngx_srt_log_module_ctx = {
    ngx_srt_log_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */
    ngx_srt_log_create_srv_conf,           /* create server configuration */
    ngx_srt_log_merge_srv_conf             /* merge server configuration */
};


ngx_module_t  ngx_srt_log_module = {
    NGX_MODULE_V1,
    &ngx_srt_log_module_ctx,               /* module context */
    ngx_srt_log_commands,                  /* module directives */
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


/*
 * Writes the session's line to every access_log of its server.
 * Context: event loop, when the session ends
 */

void
ngx_srt_log_session(ngx_srt_session_t *s)
{
    u_char                   *p, *last, *v;
    ngx_uint_t                i, k;
    ngx_srt_log_t            *log;
    ngx_srt_log_op_t         *op;
    ngx_srt_log_srv_conf_t   *lscf;
    u_char                    line[NGX_SRT_LOG_LINE_MAX];
    u_char                    value[NGX_SRT_LOG_VALUE_MAX];

    lscf = s->conf->ctx->srv_conf[ngx_srt_log_module.ctx_index];

    if (lscf->logs == NULL) {
        return;
    }

    log = lscf->logs->elts;

    for (i = 0; i < lscf->logs->nelts; i++) {

        if (log[i].file->fd == NGX_INVALID_FILE) {
            continue;
        }

        p = line;
        last = line + sizeof(line) - 1;
        op = log[i].format->ops->elts;

        for (k = 0; k < log[i].format->ops->nelts; k++) {

            if (op[k].get == NULL) {
                p = ngx_cpymem(p, op[k].text.data,
                               ngx_min(op[k].text.len, (size_t) (last - p)));
                continue;
            }

            v = op[k].get(s, value);

            p = ngx_srt_log_escape(p, last, value, v - value,
                                   log[i].format->escape);
        }

        *p++ = LF;

        if (ngx_write_fd(log[i].file->fd, line, p - line) == -1) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          ngx_write_fd_n " to \"%s\" failed",
                          log[i].file->name.data);
        }
    }
}


/* "connection lost", ... as one word for $srt_status */

static u_char *
ngx_srt_log_status(ngx_srt_session_t *s, u_char *buf)
{
    const char  *r, *status;

    r = s->close_reason;

    if (r == NULL || ngx_strcmp(r, NGX_SRT_REASON_LOST) == 0) {
        status = "closed";

    } else if (ngx_strcmp(r, NGX_SRT_REASON_IDLE) == 0) {
        status = "idle_timeout";

    } else if (ngx_strcmp(r, NGX_SRT_REASON_NO_RELAY) == 0
               || ngx_strcmp(r, NGX_SRT_REASON_NO_START) == 0)
    {
        status = "relay_failed";

    } else if (ngx_strcmp(r, NGX_SRT_REASON_EXITING) == 0) {
        status = "shutdown";

    } else {
        status = "error";
    }

    return ngx_sprintf(buf, "%s", status);
}


static u_char *
ngx_srt_log_reason(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%s",
                       s->close_reason ? s->close_reason : "closed");
}


static u_char *
ngx_srt_log_stream(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_cpymem(buf, s->name, s->name_len);
}


static u_char *
ngx_srt_log_sub(ngx_srt_session_t *s, u_char *buf)
{
    size_t  n;

    n = ngx_min(ngx_strlen(s->sub), NGX_SRT_LOG_VALUE_MAX);

    return ngx_cpymem(buf, s->sub, n);
}


static u_char *
ngx_srt_log_remote_addr(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_cpymem(buf, s->addr, ngx_strlen(s->addr));
}


static u_char *
ngx_srt_log_remote_port(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%ui", (ngx_uint_t) s->port);
}


static u_char *
ngx_srt_log_server_addr(ngx_srt_session_t *s, u_char *buf)
{
    size_t  n;

    n = ngx_min(s->conf->listen.len, NGX_SRT_LOG_VALUE_MAX);

    return ngx_cpymem(buf, s->conf->listen.data, n);
}


static u_char *
ngx_srt_log_session_id(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%P-%ui", ngx_pid, s->id);
}


static u_char *
ngx_srt_log_packets(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->stats.packets);
}


static u_char *
ngx_srt_log_bytes(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->stats.bytes);
}


static u_char *
ngx_srt_log_lost(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->stats.lost);
}


static u_char *
ngx_srt_log_retrans(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->stats.retrans);
}


static u_char *
ngx_srt_log_drops(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->stats.drops);
}


static u_char *
ngx_srt_log_undecrypted(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->stats.undecrypted);
}


/* the last RTT libsrt measured, ms */

static u_char *
ngx_srt_log_rtt(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%.3f", s->stats.rtt_ms);
}


/* seconds since the accept, with ms */

static u_char *
ngx_srt_log_duration(ngx_srt_session_t *s, u_char *buf)
{
    ngx_msec_t  ms;

    ms = ngx_current_msec - s->start_msec;

    return ngx_sprintf(buf, "%M.%03M", ms / 1000, ms % 1000);
}


/* bytes all relays of the session wrote */

static u_char *
ngx_srt_log_relay_bytes(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->relay_sent);
}


static u_char *
ngx_srt_log_bridge_dropped(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%uL", s->bridge_drops);
}


static u_char *
ngx_srt_log_time_iso8601(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_cpymem(buf, ngx_cached_http_log_iso8601.data,
                      ngx_cached_http_log_iso8601.len);
}


static u_char *
ngx_srt_log_time_local(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_cpymem(buf, ngx_cached_http_log_time.data,
                      ngx_cached_http_log_time.len);
}


static u_char *
ngx_srt_log_msec(ngx_srt_session_t *s, u_char *buf)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return ngx_sprintf(buf, "%T.%03M", tp->sec, tp->msec);
}


static u_char *
ngx_srt_log_pid(ngx_srt_session_t *s, u_char *buf)
{
    return ngx_sprintf(buf, "%P", ngx_pid);
}


/*
 * escape=default: '"', '\' and bytes outside printable ASCII as \xHH
 * (the http log's rule); escape=json: as in a JSON string; escape=none.
 * Stops at last.
 */

static u_char *
ngx_srt_log_escape(u_char *dst, u_char *last, u_char *src, size_t len,
    ngx_uint_t escape)
{
    u_char         c;
    size_t         i;
    static u_char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < len; i++) {
        c = src[i];

        if (escape == NGX_SRT_LOG_ESCAPE_NONE
            || (c >= 0x20 && c < 0x7f && c != '"' && c != '\\'))
        {
            if (dst == last) {
                break;
            }

            *dst++ = c;
            continue;
        }

        if (escape == NGX_SRT_LOG_ESCAPE_DEFAULT) {
            if (last - dst < 4) {
                break;
            }

            *dst++ = '\\';
            *dst++ = 'x';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
            continue;
        }

        /* JSON: bytes >= 0x80 are UTF-8 and stay */

        if (c >= 0x80 || c == 0x7f) {
            if (dst == last) {
                break;
            }

            *dst++ = c;
            continue;
        }

        if (c == '"' || c == '\\') {
            if (last - dst < 2) {
                break;
            }

            *dst++ = '\\';
            *dst++ = c;
            continue;
        }

        if (last - dst < 6) {
            break;
        }

        dst = ngx_cpymem(dst, "\\u00", 4);
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0xf];
    }

    return dst;
}


static void *
ngx_srt_log_create_main_conf(ngx_conf_t *cf)
{
    ngx_str_t                 name = ngx_string("srt_combined");
    ngx_srt_log_fmt_t        *fmt;
    ngx_srt_log_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_srt_log_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->formats, cf->pool, 4,
                       sizeof(ngx_srt_log_fmt_t))
        != NGX_OK)
    {
        return NULL;
    }

    fmt = ngx_array_push(&lmcf->formats);
    if (fmt == NULL) {
        return NULL;
    }

    fmt->name = name;
    fmt->escape = NGX_SRT_LOG_ESCAPE_DEFAULT;

    if (ngx_srt_log_compile(cf, fmt, &ngx_srt_log_combined, 1)
        != NGX_CONF_OK)
    {
        return NULL;
    }

    return lmcf;
}


static void *
ngx_srt_log_create_srv_conf(ngx_conf_t *cf)
{
    ngx_srt_log_srv_conf_t  *lscf;

    lscf = ngx_pcalloc(cf->pool, sizeof(ngx_srt_log_srv_conf_t));
    if (lscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lscf->logs = NULL;
     *     lscf->off = 0;
     */

    return lscf;
}


static char *
ngx_srt_log_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    /* every server block has its own logs, nothing is inherited */

    return NGX_CONF_OK;
}


/* log_format name [escape=default|json|none] string ...; */

static char *
ngx_srt_log_set_format(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_srt_log_main_conf_t *lmcf = conf;

    ngx_str_t          *value;
    ngx_uint_t          i, first;
    ngx_srt_log_fmt_t  *fmt;

    value = cf->args->elts;

    fmt = lmcf->formats.elts;

    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (fmt[i].name.len == value[1].len
            && ngx_strcmp(fmt[i].name.data, value[1].data) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate \"log_format\" name \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    fmt = ngx_array_push(&lmcf->formats);
    if (fmt == NULL) {
        return NGX_CONF_ERROR;
    }

    fmt->name = value[1];
    fmt->escape = NGX_SRT_LOG_ESCAPE_DEFAULT;

    first = 2;

    if (ngx_strncmp(value[2].data, "escape=", 7) == 0) {
        if (ngx_strcmp(value[2].data + 7, "default") == 0) {
            fmt->escape = NGX_SRT_LOG_ESCAPE_DEFAULT;

        } else if (ngx_strcmp(value[2].data + 7, "json") == 0) {
            fmt->escape = NGX_SRT_LOG_ESCAPE_JSON;

        } else if (ngx_strcmp(value[2].data + 7, "none") == 0) {
            fmt->escape = NGX_SRT_LOG_ESCAPE_NONE;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown log format escaping \"%s\"",
                               value[2].data + 7);
            return NGX_CONF_ERROR;
        }

        first = 3;

        if (cf->args->nelts == 3) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"log_format %V\" has no format string",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    return ngx_srt_log_compile(cf, fmt, &value[first],
                               cf->args->nelts - first);
}


/* the strings, joined as nginx joins them: text and $variables */

static char *
ngx_srt_log_compile(ngx_conf_t *cf, ngx_srt_log_fmt_t *fmt,
    ngx_str_t *args, ngx_uint_t n)
{
    u_char            *p, *end, *start, *name;
    size_t             len;
    ngx_uint_t         i, k, bracket;
    ngx_srt_log_op_t  *op;

    fmt->ops = ngx_array_create(cf->pool, 16, sizeof(ngx_srt_log_op_t));
    if (fmt->ops == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        p = args[i].data;
        end = p + args[i].len;
        start = p;

        while (p < end) {
            if (*p != '$') {
                p++;
                continue;
            }

            if (ngx_srt_log_add_text(cf, fmt, start, p - start) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            p++;
            bracket = 0;

            if (p < end && *p == '{') {
                bracket = 1;
                p++;
            }

            name = p;

            while (p < end
                   && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                       || (*p >= '0' && *p <= '9') || *p == '_'))
            {
                p++;
            }

            len = p - name;

            if (bracket) {
                if (p == end || *p != '}') {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "the closing bracket in \"%*s\" "
                                       "variable is missing", len, name);
                    return NGX_CONF_ERROR;
                }

                p++;
            }

            if (len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid variable name in \"%V\"",
                                   &args[i]);
                return NGX_CONF_ERROR;
            }

            for (k = 0; ngx_srt_log_vars[k].get; k++) {
                if (ngx_srt_log_vars[k].name.len == len
                    && ngx_strncmp(ngx_srt_log_vars[k].name.data, name, len)
                       == 0)
                {
                    break;
                }
            }

            if (ngx_srt_log_vars[k].get == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "unknown variable \"$%*s\" in an srt "
                                   "\"log_format\"", len, name);
                return NGX_CONF_ERROR;
            }

            op = ngx_array_push(fmt->ops);
            if (op == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_str_null(&op->text);
            op->get = ngx_srt_log_vars[k].get;

            start = p;
        }

        if (ngx_srt_log_add_text(cf, fmt, start, p - start) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_srt_log_add_text(ngx_conf_t *cf, ngx_srt_log_fmt_t *fmt, u_char *p,
    size_t len)
{
    ngx_srt_log_op_t  *op;

    if (len == 0) {
        return NGX_OK;
    }

    op = ngx_array_push(fmt->ops);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->text.len = len;
    op->text.data = ngx_pnalloc(cf->pool, len);
    if (op->text.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(op->text.data, p, len);
    op->get = NULL;

    return NGX_OK;
}


/* access_log path [format] | off; */

static char *
ngx_srt_log_set_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_srt_log_srv_conf_t *lscf = conf;

    ngx_str_t                *value, name;
    ngx_uint_t                i;
    ngx_srt_log_t            *log;
    ngx_srt_log_fmt_t        *fmt;
    ngx_srt_log_main_conf_t  *lmcf;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "has too many parameters with \"off\"";
        }

        if (lscf->logs != NULL) {
            return "is \"off\" after a log was set";
        }

        lscf->off = 1;
        return NGX_CONF_OK;
    }

    if (lscf->off) {
        return "is set after \"access_log off\"";
    }

    if (lscf->logs == NULL) {
        lscf->logs = ngx_array_create(cf->pool, 2, sizeof(ngx_srt_log_t));
        if (lscf->logs == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (cf->args->nelts == 3) {
        name = value[2];

    } else {
        ngx_str_set(&name, "srt_combined");
    }

    lmcf = ((ngx_srt_conf_ctx_t *) cf->ctx)
               ->main_conf[ngx_srt_log_module.ctx_index];

    fmt = lmcf->formats.elts;

    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (fmt[i].name.len == name.len
            && ngx_strcmp(fmt[i].name.data, name.data) == 0)
        {
            break;
        }
    }

    if (i == lmcf->formats.nelts) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown log format \"%V\" (a \"log_format\" "
                           "in \"srt {}\" before the servers defines it)",
                           &name);
        return NGX_CONF_ERROR;
    }

    log = ngx_array_push(lscf->logs);
    if (log == NULL) {
        return NGX_CONF_ERROR;
    }

    log->format = &fmt[i];

    log->file = ngx_conf_open_file(cf->cycle, &value[1]);
    if (log->file == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
