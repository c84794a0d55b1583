
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_conf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define IW_CONF_MAX_ARGS    8
#define IW_CONF_WORD_LEN    IW_PATH_LEN


typedef struct {
    const char          *pos;
    const char          *end;
    unsigned             line;
    char                *err;
    size_t               errlen;
} iw_conf_ctx_t;


typedef struct {
    char                 args[IW_CONF_MAX_ARGS][IW_CONF_WORD_LEN];
    unsigned             nargs;
    unsigned             line;
    int                  end;           /* ';', '{' or '}' */
} iw_conf_dir_t;


static int iw_conf_error(iw_conf_ctx_t *ctx, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int iw_conf_read(iw_conf_ctx_t *ctx, iw_conf_dir_t *dir);
static int iw_conf_main(iw_conf_ctx_t *ctx, iw_conf_t *conf,
    iw_conf_dir_t *dir);
static int iw_conf_profile_dir(iw_conf_ctx_t *ctx, iw_profile_t *prof,
    iw_conf_dir_t *dir, unsigned *rungs_set);
static int iw_conf_uint(const char *s, unsigned min, unsigned max,
    unsigned *out);
static int iw_conf_copy(char *dst, size_t cap, const char *src);
static int iw_conf_rung_cmp(const void *a, const void *b);
static const char *iw_parse_decimal(const char *s, uint64_t *ip,
    uint64_t *milli);


void
iw_profile_init(iw_profile_t *prof, const char *name)
{
    memset(prof, 0, sizeof(iw_profile_t));

    snprintf(prof->name, sizeof(prof->name), "%s", name);

    /* the guide: 360p 400-800 kbps, 720p 1.5-3 Mbps, 1080p 3-6 Mbps */
    prof->rungs[0].height = 360;
    prof->rungs[0].bitrate = 600000;
    prof->rungs[0].maxrate = 800000;
    prof->rungs[1].height = 720;
    prof->rungs[1].bitrate = 2200000;
    prof->rungs[1].maxrate = 3000000;
    prof->rungs[2].height = 1080;
    prof->rungs[2].bitrate = 4500000;
    prof->rungs[2].maxrate = 6000000;
    prof->nrungs = 3;

    /* standard HLS segments are 2-6 s */
    prof->segment_ms = 4000;

    snprintf(prof->preset, sizeof(prof->preset), "veryfast");

    prof->audio_bitrate = 128000;
    prof->audio_rate = 48000;
    prof->audio_channels = 2;
    prof->passthrough = IW_PASSTHROUGH_ON;
}


void
iw_conf_init(iw_conf_t *conf)
{
    memset(conf, 0, sizeof(iw_conf_t));

    conf->workers = 1;
    snprintf(conf->spool, sizeof(conf->spool), "/var/spool/nginx-ingest");
    snprintf(conf->output, sizeof(conf->output), "/var/lib/nginx-ingest/hls");
    conf->log_level = IW_LOG_INFO;

    conf->lease_ms = 60000;
    conf->heartbeat_ms = 10000;
    conf->reclaim_ms = 30000;
    conf->poll_ms = 1000;
    conf->max_attempts = 5;
    conf->retry_base_ms = 5000;
    conf->retry_max_ms = 600000;
    conf->respawn_base_ms = 500;
    conf->respawn_max_ms = 60000;
    conf->progress_ms = 2000;

    snprintf(conf->redis_address, sizeof(conf->redis_address),
             "127.0.0.1:6379");
    snprintf(conf->redis_stream, sizeof(conf->redis_stream), "ingest:jobs");
    snprintf(conf->redis_group, sizeof(conf->redis_group), "ingest-workers");
    snprintf(conf->redis_dead, sizeof(conf->redis_dead), "ingest:jobs:dead");
    conf->redis_consumer_idle_ms = 3600000;

    /* the guide's retries: at most 5 tries */
    conf->webhooks = 1;
    conf->webhook_attempts = 5;
    conf->webhook_timeout_ms = 10000;

    /* the guide: 1 s live segments, parts of 200-400 ms */
    conf->live_workers = 1;
    conf->live_window = 12;
    conf->live_segment_ms = 1000;
    conf->live_part_ms = 334;
    snprintf(conf->live_profile, sizeof(conf->live_profile), "default");

    iw_profile_init(&conf->profiles[0], "default");
    conf->nprofiles = 1;
}


int
iw_conf_parse(iw_conf_t *conf, const char *text, size_t len, char *err,
    size_t errlen)
{
    int             rc;
    unsigned        i, rungs_set;
    iw_conf_ctx_t   ctx;
    iw_profile_t   *prof;
    iw_conf_dir_t  *dir;

    dir = malloc(sizeof(iw_conf_dir_t));
    if (dir == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    ctx.pos = text;
    ctx.end = text + len;
    ctx.line = 1;
    ctx.err = err;
    ctx.errlen = errlen;

    for ( ;; ) {
        rc = iw_conf_read(&ctx, dir);
        if (rc != 0) {
            break;
        }

        if (dir->nargs == 0) {
            if (dir->end == 0) {
                /* end of text */
                break;
            }

            rc = iw_conf_error(&ctx, dir->line, "unexpected \"%c\"",
                               dir->end);
            break;
        }

        if (dir->end == '}') {
            rc = iw_conf_error(&ctx, dir->line, "unexpected \"}\"");
            break;
        }

        if (strcmp(dir->args[0], "profile") != 0) {
            if (dir->end != ';') {
                rc = iw_conf_error(&ctx, dir->line,
                                   "directive \"%s\" is not terminated "
                                   "by \";\"", dir->args[0]);
                break;
            }

            rc = iw_conf_main(&ctx, conf, dir);
            if (rc != 0) {
                break;
            }

            continue;
        }

        /* profile NAME { ... } */

        if (dir->nargs != 2 || dir->end != '{') {
            rc = iw_conf_error(&ctx, dir->line,
                               "\"profile\" takes a name and a block");
            break;
        }

        prof = NULL;

        for (i = 0; i < conf->nprofiles; i++) {
            if (strcmp(conf->profiles[i].name, dir->args[1]) == 0) {
                prof = &conf->profiles[i];
                break;
            }
        }

        if (prof == NULL) {
            if (conf->nprofiles == IW_MAX_PROFILES) {
                rc = iw_conf_error(&ctx, dir->line, "too many profiles");
                break;
            }

            if (strlen(dir->args[1]) >= IW_NAME_LEN) {
                rc = iw_conf_error(&ctx, dir->line, "profile name too long");
                break;
            }

            prof = &conf->profiles[conf->nprofiles++];
        }

        iw_profile_init(prof, dir->args[1]);
        prof->lines.block = dir->line;
        rungs_set = 0;

        for ( ;; ) {
            rc = iw_conf_read(&ctx, dir);
            if (rc != 0) {
                break;
            }

            if (dir->nargs == 0) {
                if (dir->end == '}') {
                    break;
                }

                rc = iw_conf_error(&ctx, dir->line, dir->end == 0
                                   ? "unexpected end of file, expecting "
                                     "\"}\""
                                   : "unexpected \"{\"");
                break;
            }

            if (dir->end != ';') {
                rc = iw_conf_error(&ctx, dir->line,
                                   "directive \"%s\" is not terminated "
                                   "by \";\"", dir->args[0]);
                break;
            }

            rc = iw_conf_profile_dir(&ctx, prof, dir, &rungs_set);
            if (rc != 0) {
                break;
            }
        }

        if (rc != 0) {
            break;
        }

        qsort(prof->rungs, prof->nrungs, sizeof(iw_rung_t),
              iw_conf_rung_cmp);

        for (i = 1; i < prof->nrungs; i++) {
            if (prof->rungs[i].height == prof->rungs[i - 1].height) {
                rc = iw_conf_error(&ctx, dir->line,
                                   "profile \"%s\": two rungs of %up",
                                   prof->name, prof->rungs[i].height);
                break;
            }
        }

        if (rc != 0) {
            break;
        }
    }

    /* profiles may follow the directive that names one */

    if (rc == 0 && iw_conf_profile(conf, conf->live_profile) == NULL) {
        rc = iw_conf_error(&ctx, conf->live_profile_line,
                           "\"live_profile\" names no profile: \"%s\"",
                           conf->live_profile);
    }

    free(dir);

    return rc;
}


static int
iw_conf_main(iw_conf_ctx_t *ctx, iw_conf_t *conf, iw_conf_dir_t *dir)
{
    int          rc;
    char        *name, *val;
    unsigned    *msp;

    name = dir->args[0];

    if (dir->nargs != 2) {
        return iw_conf_error(ctx, dir->line,
                             "invalid number of arguments in \"%s\"", name);
    }

    val = dir->args[1];
    msp = NULL;
    rc = 0;

    if (strcmp(name, "workers") == 0) {
        rc = iw_conf_uint(val, 1, 256, &conf->workers);

    } else if (strcmp(name, "spool") == 0) {
        rc = iw_conf_copy(conf->spool, sizeof(conf->spool), val);

    } else if (strcmp(name, "output") == 0) {
        rc = iw_conf_copy(conf->output, sizeof(conf->output), val);

    } else if (strcmp(name, "pid") == 0) {
        rc = iw_conf_copy(conf->pid, sizeof(conf->pid),
                          strcmp(val, "off") == 0 ? "" : val);

    } else if (strcmp(name, "metrics_file") == 0) {
        rc = iw_conf_copy(conf->metrics, sizeof(conf->metrics), val);

    } else if (strcmp(name, "syslog") == 0) {
        rc = iw_parse_flag(val, &conf->syslog);

    } else if (strcmp(name, "log_level") == 0) {
        if (strcmp(val, "error") == 0) {
            conf->log_level = IW_LOG_ERR;
        } else if (strcmp(val, "warn") == 0) {
            conf->log_level = IW_LOG_WARN;
        } else if (strcmp(val, "notice") == 0) {
            conf->log_level = IW_LOG_NOTICE;
        } else if (strcmp(val, "info") == 0) {
            conf->log_level = IW_LOG_INFO;
        } else if (strcmp(val, "debug") == 0) {
            conf->log_level = IW_LOG_DEBUG;
        } else {
            rc = -1;
        }

    } else if (strcmp(name, "queue") == 0) {
        if (strcmp(val, "spool") == 0) {
            conf->redis = 0;
        } else if (strcmp(val, "redis") == 0) {
            conf->redis = 1;
        } else {
            rc = -1;
        }

    } else if (strcmp(name, "redis_address") == 0) {
        rc = iw_conf_copy(conf->redis_address, sizeof(conf->redis_address),
                          val);

    } else if (strcmp(name, "redis_stream") == 0) {
        rc = iw_conf_copy(conf->redis_stream, sizeof(conf->redis_stream),
                          val);

    } else if (strcmp(name, "redis_group") == 0) {
        rc = iw_conf_copy(conf->redis_group, sizeof(conf->redis_group), val);

    } else if (strcmp(name, "redis_dead") == 0) {
        rc = iw_conf_copy(conf->redis_dead, sizeof(conf->redis_dead), val);

    } else if (strcmp(name, "redis_consumer_idle") == 0) {
        if (strcmp(val, "off") == 0) {
            conf->redis_consumer_idle_ms = 0;

        } else {
            msp = &conf->redis_consumer_idle_ms;
        }

    } else if (strcmp(name, "webhooks") == 0) {
        rc = iw_parse_flag(val, &conf->webhooks);

    } else if (strcmp(name, "webhook_url") == 0) {
        if (strcmp(val, "off") == 0) {
            conf->webhook_url[0] = '\0';

        } else if (strncmp(val, "http://", 7) != 0
                   && strncmp(val, "https://", 8) != 0)
        {
            rc = -1;

        } else {
            rc = iw_conf_copy(conf->webhook_url, sizeof(conf->webhook_url),
                              val);
        }

    } else if (strcmp(name, "webhook_secret") == 0) {
        rc = iw_conf_copy(conf->webhook_secret,
                          sizeof(conf->webhook_secret), val);

    } else if (strcmp(name, "webhook_attempts") == 0) {
        rc = iw_conf_uint(val, 1, 100, &conf->webhook_attempts);

    } else if (strcmp(name, "webhook_timeout") == 0) {
        msp = &conf->webhook_timeout_ms;

    } else if (strcmp(name, "live_socket") == 0) {
        if (strcmp(val, "off") == 0) {
            conf->live_socket[0] = '\0';

        } else {
            rc = iw_conf_copy(conf->live_socket, sizeof(conf->live_socket),
                              val);
        }

    } else if (strcmp(name, "live_output") == 0) {
        rc = iw_conf_copy(conf->live_output, sizeof(conf->live_output), val);

    } else if (strcmp(name, "live_workers") == 0) {
        rc = iw_conf_uint(val, 1, 64, &conf->live_workers);

    } else if (strcmp(name, "live_window") == 0) {
        rc = iw_conf_uint(val, 3, 3600, &conf->live_window);

    } else if (strcmp(name, "live_segment_duration") == 0) {
        rc = iw_parse_msec(val, &conf->live_segment_ms);
        if (rc == 0 && (conf->live_segment_ms < 500
                        || conf->live_segment_ms > 10000))
        {
            rc = -1;
        }

    } else if (strcmp(name, "live_part_duration") == 0) {
        rc = iw_parse_msec(val, &conf->live_part_ms);
        if (rc == 0 && (conf->live_part_ms < 100
                        || conf->live_part_ms > 2000))
        {
            rc = -1;
        }

    } else if (strcmp(name, "live_transcode") == 0) {
        rc = iw_parse_flag(val, &conf->live_transcode);
        conf->live_transcode_line = dir->line;

    } else if (strcmp(name, "live_profile") == 0) {
        rc = iw_conf_copy(conf->live_profile, sizeof(conf->live_profile),
                          val);
        conf->live_profile_line = dir->line;

    } else if (strcmp(name, "max_attempts") == 0) {
        rc = iw_conf_uint(val, 1, 1000, &conf->max_attempts);

    } else if (strcmp(name, "lease_time") == 0) {
        msp = &conf->lease_ms;
    } else if (strcmp(name, "heartbeat") == 0) {
        msp = &conf->heartbeat_ms;
    } else if (strcmp(name, "reclaim_interval") == 0) {
        msp = &conf->reclaim_ms;
    } else if (strcmp(name, "poll_interval") == 0) {
        msp = &conf->poll_ms;
    } else if (strcmp(name, "retry_base") == 0) {
        msp = &conf->retry_base_ms;
    } else if (strcmp(name, "retry_max") == 0) {
        msp = &conf->retry_max_ms;
    } else if (strcmp(name, "respawn_base") == 0) {
        msp = &conf->respawn_base_ms;
    } else if (strcmp(name, "respawn_max") == 0) {
        msp = &conf->respawn_max_ms;
    } else if (strcmp(name, "progress_interval") == 0) {
        msp = &conf->progress_ms;

    } else {
        return iw_conf_error(ctx, dir->line, "unknown directive \"%s\"",
                             name);
    }

    if (msp != NULL) {
        rc = iw_parse_msec(val, msp);
        if (rc == 0 && *msp == 0) {
            rc = -1;
        }
    }

    if (rc != 0) {
        return iw_conf_error(ctx, dir->line,
                             "invalid value \"%s\" in \"%s\"", val, name);
    }

    return 0;
}


static int
iw_conf_profile_dir(iw_conf_ctx_t *ctx, iw_profile_t *prof,
    iw_conf_dir_t *dir, unsigned *rungs_set)
{
    int         rc;
    char       *name, *val;
    iw_rung_t  *rung;

    name = dir->args[0];

    if (strcmp(name, "part_duration") == 0) {
        /* profiles are VOD; every live rendition has the same parts */
        return iw_conf_error(ctx, dir->line,
                             "\"part_duration\" is not a profile "
                             "directive: LL-HLS parts are set for all live "
                             "streams by \"live_part_duration\" (a main "
                             "directive)");
    }

    if (strcmp(name, "rung") == 0) {
        if (dir->nargs != 4) {
            return iw_conf_error(ctx, dir->line,
                                 "\"rung\" takes a height, a bitrate and "
                                 "a maximum bitrate");
        }

        if (!*rungs_set) {
            /* the first rung replaces the default ladder */
            prof->nrungs = 0;
            *rungs_set = 1;
        }

        if (prof->nrungs == IW_MAX_RUNGS) {
            return iw_conf_error(ctx, dir->line, "too many rungs");
        }

        rung = &prof->rungs[prof->nrungs];

        if (iw_conf_uint(dir->args[1], 16, 4320, &rung->height) != 0
            || rung->height % 2 != 0
            || iw_parse_bitrate(dir->args[2], &rung->bitrate) != 0
            || iw_parse_bitrate(dir->args[3], &rung->maxrate) != 0
            || rung->bitrate < IW_RATE_MIN
            || rung->maxrate > IW_RATE_MAX
            || rung->maxrate < rung->bitrate)
        {
            return iw_conf_error(ctx, dir->line,
                                 "invalid rung \"%s %s %s\"", dir->args[1],
                                 dir->args[2], dir->args[3]);
        }

        rung->line = dir->line;
        prof->nrungs++;

        return 0;
    }

    if (dir->nargs != 2) {
        return iw_conf_error(ctx, dir->line,
                             "invalid number of arguments in \"%s\"", name);
    }

    val = dir->args[1];
    rc = 0;

    if (strcmp(name, "segment_duration") == 0) {
        rc = iw_parse_msec(val, &prof->segment_ms);
        if (rc == 0
            && (prof->segment_ms < 500 || prof->segment_ms > 30000))
        {
            rc = -1;
        }

    } else if (strcmp(name, "preset") == 0) {
        rc = iw_conf_copy(prof->preset, sizeof(prof->preset), val);
        prof->lines.preset = dir->line;

    } else if (strcmp(name, "tune") == 0) {
        if (strcmp(val, "off") == 0) {
            prof->tune[0] = '\0';

        } else {
            rc = iw_conf_copy(prof->tune, sizeof(prof->tune), val);
        }

        prof->lines.tune = dir->line;

    } else if (strcmp(name, "h264_profile") == 0) {
        rc = iw_conf_copy(prof->h264_profile, sizeof(prof->h264_profile),
                          val);
        prof->lines.h264_profile = dir->line;

    } else if (strcmp(name, "audio_bitrate") == 0) {
        rc = iw_parse_bitrate(val, &prof->audio_bitrate);
        if (rc == 0 && (prof->audio_bitrate < 8000
                        || prof->audio_bitrate > 512000))
        {
            rc = -1;
        }
        prof->lines.audio_bitrate = dir->line;

    } else if (strcmp(name, "audio_rate") == 0) {
        rc = iw_conf_uint(val, 8000, 96000, &prof->audio_rate);
        prof->lines.audio_rate = dir->line;

    } else if (strcmp(name, "audio_channels") == 0) {
        rc = iw_conf_uint(val, 1, 2, &prof->audio_channels);
        prof->lines.audio_channels = dir->line;

    } else if (strcmp(name, "passthrough") == 0) {
        rc = iw_parse_flag(val, &prof->passthrough);

    } else {
        return iw_conf_error(ctx, dir->line,
                             "unknown directive \"%s\" in profile", name);
    }

    if (rc != 0) {
        return iw_conf_error(ctx, dir->line,
                             "invalid value \"%s\" in \"%s\"", val, name);
    }

    return 0;
}


int
iw_conf_check(const iw_conf_t *conf, char *err, size_t errlen)
{
    if (conf->spool[0] != '/' || conf->output[0] != '/') {
        snprintf(err, errlen, "spool and output must be absolute paths");
        return -1;
    }

    if (conf->heartbeat_ms * 2 > conf->lease_ms) {
        snprintf(err, errlen, "heartbeat must be at most half of "
                 "lease_time");
        return -1;
    }

    if (conf->retry_max_ms < conf->retry_base_ms
        || conf->respawn_max_ms < conf->respawn_base_ms)
    {
        snprintf(err, errlen, "retry_max and respawn_max must not be "
                 "below their base");
        return -1;
    }

    if (conf->live_socket[0] != '\0' && conf->live_socket[0] != '/') {
        snprintf(err, errlen, "live_socket must be an absolute path");
        return -1;
    }

    if (conf->live_output[0] != '\0' && conf->live_output[0] != '/') {
        snprintf(err, errlen, "live_output must be an absolute path");
        return -1;
    }

    if (conf->live_part_ms * 2 > conf->live_segment_ms) {
        snprintf(err, errlen, "live_part_duration must be at most half "
                 "of live_segment_duration");
        return -1;
    }

    if (iw_conf_profile(conf, "default") == NULL) {
        snprintf(err, errlen, "no \"default\" profile");
        return -1;
    }

    return 0;
}


const iw_profile_t *
iw_conf_profile(const iw_conf_t *conf, const char *name)
{
    unsigned  i;

    for (i = 0; i < conf->nprofiles; i++) {
        if (strcmp(conf->profiles[i].name, name) == 0) {
            return &conf->profiles[i];
        }
    }

    return NULL;
}


/*
 * Reads one directive: words up to ";", "{" or "}". Returns 0 (with
 * nargs 0 and end 0 at the end of the text) or -1.
 */

static int
iw_conf_read(iw_conf_ctx_t *ctx, iw_conf_dir_t *dir)
{
    int      quote;
    char    *w;
    size_t   n;

    dir->nargs = 0;
    dir->end = 0;
    dir->line = ctx->line;

    for ( ;; ) {

        /* skip blanks and comments */

        while (ctx->pos < ctx->end) {
            if (*ctx->pos == '\n') {
                ctx->line++;
                ctx->pos++;

            } else if (*ctx->pos == ' ' || *ctx->pos == '\t'
                       || *ctx->pos == '\r')
            {
                ctx->pos++;

            } else if (*ctx->pos == '#') {
                while (ctx->pos < ctx->end && *ctx->pos != '\n') {
                    ctx->pos++;
                }

            } else {
                break;
            }
        }

        if (ctx->pos == ctx->end) {
            if (dir->nargs != 0) {
                return iw_conf_error(ctx, ctx->line,
                                     "unexpected end of file, expecting "
                                     "\";\" or \"}\"");
            }

            return 0;
        }

        if (dir->nargs == 0) {
            dir->line = ctx->line;
        }

        if (*ctx->pos == ';' || *ctx->pos == '{' || *ctx->pos == '}') {
            dir->end = *ctx->pos++;
            return 0;
        }

        if (dir->nargs == IW_CONF_MAX_ARGS) {
            return iw_conf_error(ctx, ctx->line, "too many arguments");
        }

        w = dir->args[dir->nargs++];
        n = 0;

        quote = 0;
        if (*ctx->pos == '"' || *ctx->pos == '\'') {
            quote = *ctx->pos++;
        }

        for ( ;; ) {
            if (ctx->pos == ctx->end) {
                if (quote) {
                    return iw_conf_error(ctx, ctx->line,
                                         "unterminated quoted string");
                }
                break;
            }

            if (quote) {
                if (*ctx->pos == quote) {
                    ctx->pos++;
                    break;
                }

                if (*ctx->pos == '\n') {
                    ctx->line++;
                }

            } else if (*ctx->pos == ' ' || *ctx->pos == '\t'
                       || *ctx->pos == '\r' || *ctx->pos == '\n'
                       || *ctx->pos == ';' || *ctx->pos == '{'
                       || *ctx->pos == '}' || *ctx->pos == '#')
            {
                break;
            }

            if (*ctx->pos == '\0') {
                return iw_conf_error(ctx, ctx->line, "NUL byte");
            }

            if (n + 1 == IW_CONF_WORD_LEN) {
                return iw_conf_error(ctx, ctx->line, "word too long");
            }

            w[n++] = *ctx->pos++;
        }

        w[n] = '\0';
    }
}


static int
iw_conf_error(iw_conf_ctx_t *ctx, unsigned line, const char *fmt, ...)
{
    int      n;
    va_list  args;

    n = snprintf(ctx->err, ctx->errlen, "line %u: ", line);

    if (n >= 0 && (size_t) n < ctx->errlen) {
        va_start(args, fmt);
        vsnprintf(ctx->err + n, ctx->errlen - n, fmt, args);
        va_end(args);
    }

    return -1;
}


static int
iw_conf_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    unsigned long  v;

    if (*s < '0' || *s > '9') {
        return -1;
    }

    v = 0;

    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v > max) {
            return -1;
        }
    }

    if (*s != '\0' || v < min) {
        return -1;
    }

    *out = (unsigned) v;

    return 0;
}


static int
iw_conf_copy(char *dst, size_t cap, const char *src)
{
    size_t  n;

    n = strlen(src);
    if (n == 0 || n >= cap) {
        return -1;
    }

    memcpy(dst, src, n + 1);

    return 0;
}


static int
iw_conf_rung_cmp(const void *a, const void *b)
{
    const iw_rung_t  *ra = a, *rb = b;

    return (ra->height > rb->height) - (ra->height < rb->height);
}


/*
 * Parses "D[.F]" into an integer and a fraction scaled to 1000ths;
 * returns the position after it, or NULL.
 */

static const char *
iw_parse_decimal(const char *s, uint64_t *ip, uint64_t *milli)
{
    unsigned  scale;

    if (*s < '0' || *s > '9') {
        return NULL;
    }

    *ip = 0;
    *milli = 0;

    while (*s >= '0' && *s <= '9') {
        *ip = *ip * 10 + (*s++ - '0');
        if (*ip > 1000000000) {
            return NULL;
        }
    }

    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') {
            return NULL;
        }

        scale = 100;
        while (*s >= '0' && *s <= '9') {
            *milli += (*s++ - '0') * scale;
            scale /= 10;
        }
    }

    return s;
}


int
iw_parse_msec(const char *s, unsigned *out)
{
    uint64_t     ip, milli, v;
    const char  *p;

    p = iw_parse_decimal(s, &ip, &milli);
    if (p == NULL) {
        return -1;
    }

    if (strcmp(p, "ms") == 0) {
        if (milli != 0) {
            return -1;
        }
        v = ip;

    } else if (*p == '\0' || strcmp(p, "s") == 0) {
        v = ip * 1000 + milli;

    } else if (strcmp(p, "m") == 0) {
        v = (ip * 1000 + milli) * 60;

    } else if (strcmp(p, "h") == 0) {
        v = (ip * 1000 + milli) * 3600;

    } else {
        return -1;
    }

    if (v > UINT_MAX / 2) {
        return -1;
    }

    *out = (unsigned) v;

    return 0;
}


int
iw_parse_bitrate(const char *s, uint64_t *out)
{
    uint64_t     ip, milli, mult;
    const char  *p;

    p = iw_parse_decimal(s, &ip, &milli);
    if (p == NULL) {
        return -1;
    }

    if (*p == '\0') {
        if (milli != 0) {
            return -1;
        }
        *out = ip;
        return 0;
    }

    if (strcmp(p, "k") == 0 || strcmp(p, "K") == 0) {
        mult = 1000;
    } else if (strcmp(p, "M") == 0 || strcmp(p, "m") == 0) {
        mult = 1000000;
    } else {
        return -1;
    }

    *out = ip * mult + milli * mult / 1000;

    return 0;
}


int
iw_parse_flag(const char *s, unsigned *out)
{
    if (strcmp(s, "on") == 0) {
        *out = 1;
        return 0;
    }

    if (strcmp(s, "off") == 0) {
        *out = 0;
        return 0;
    }

    return -1;
}
