
/*
 * Copyright (C) nginx video ingest developers
 *
 * Configuration of the worker daemon: nginx-like "key value;" lines and
 * "profile NAME { ... }" blocks. Pure C: the parser takes the file text,
 * so the unit tests run it without files.
 */


#ifndef _IW_CONF_H_INCLUDED_
#define _IW_CONF_H_INCLUDED_


#include <limits.h>
#include <stddef.h>
#include <stdint.h>


#define IW_MAX_RUNGS        8
#define IW_MAX_PROFILES     16
#define IW_NAME_LEN         64
#define IW_PATH_LEN         1024

#define IW_LOG_ERR          3
#define IW_LOG_WARN         4
#define IW_LOG_NOTICE       5
#define IW_LOG_INFO         6
#define IW_LOG_DEBUG        7

#define IW_PASSTHROUGH_OFF  0
#define IW_PASSTHROUGH_ON   1


/* x264's rates are whole kbit/s in an int, its VBV buffer 2 x maxrate */
#define IW_RATE_MIN         16000
#define IW_RATE_MAX         1000000000


typedef struct {
    unsigned             height;        /* the short side, "360p" */
    uint64_t             bitrate;       /* average target, bits/s */
    uint64_t             maxrate;       /* VBV peak, bits/s */
    unsigned             line;          /* in the file, 0: built in */
} iw_rung_t;


/* where a profile's settings were given, for errors found later */
typedef struct {
    unsigned             block;
    unsigned             preset;
    unsigned             tune;
    unsigned             h264_profile;
    unsigned             audio_bitrate;
    unsigned             audio_rate;
    unsigned             audio_channels;
} iw_profile_lines_t;


typedef struct {
    char                 name[IW_NAME_LEN];
    iw_rung_t            rungs[IW_MAX_RUNGS];   /* by height, ascending */
    unsigned             nrungs;
    unsigned             segment_ms;    /* VOD */
    char                 preset[IW_NAME_LEN];
    char                 tune[IW_NAME_LEN];         /* "": none */
    char                 h264_profile[IW_NAME_LEN]; /* "": x264's */
    uint64_t             audio_bitrate;
    unsigned             audio_rate;
    unsigned             audio_channels;
    unsigned             passthrough;
    iw_profile_lines_t   lines;
} iw_profile_t;


typedef struct {
    unsigned             workers;
    char                 spool[IW_PATH_LEN];
    char                 output[IW_PATH_LEN];
    char                 pid[IW_PATH_LEN];      /* "" when not set */
    char                 metrics[IW_PATH_LEN];  /* "": spool/worker.prom,
                                                   "off": none */
    unsigned             syslog;
    unsigned             log_level;

    unsigned             lease_ms;      /* a claim not renewed for this
                                           long belongs to a dead worker */
    unsigned             heartbeat_ms;
    unsigned             reclaim_ms;    /* period of the dead-claim scan */
    unsigned             poll_ms;       /* idle scan of incoming/ */
    unsigned             max_attempts;
    unsigned             retry_base_ms;
    unsigned             retry_max_ms;
    unsigned             respawn_base_ms;
    unsigned             respawn_max_ms;
    unsigned             progress_ms;

    /* the queue: the spool directory, or Redis Streams */
    unsigned             redis;
    char                 redis_address[IW_PATH_LEN];  /* host:port,
                                                         unix:/path */
    char                 redis_stream[IW_NAME_LEN * 2];
    char                 redis_group[IW_NAME_LEN * 2];
    char                 redis_dead[IW_NAME_LEN * 2];
    unsigned             redis_consumer_idle_ms;    /* 0: off */

    /* webhooks on job done / failed */
    unsigned             webhooks;      /* run the delivery process */
    char                 webhook_url[IW_PATH_LEN];  /* "": job's only */
    char                 webhook_secret[256];       /* "": unsigned */
    unsigned             webhook_attempts;
    unsigned             webhook_timeout_ms;

    /* live input: MPEG-TS streams on a unix socket, LL-HLS out */
    char                 live_socket[IW_PATH_LEN];  /* "": no live */
    char                 live_output[IW_PATH_LEN];  /* "": output/live */
    unsigned             live_workers;
    unsigned             live_window;   /* segments in the playlist */
    unsigned             live_segment_ms;
    unsigned             live_part_ms;
    unsigned             live_transcode;    /* the ladder, not a copy */
    char                 live_profile[IW_NAME_LEN];  /* its ladder */
    unsigned             live_profile_line;     /* 0: not given */
    unsigned             live_transcode_line;

    iw_profile_t         profiles[IW_MAX_PROFILES];
    unsigned             nprofiles;
} iw_conf_t;


/* built-in defaults: one "default" profile with the guide's ladder */
void iw_conf_init(iw_conf_t *conf);
void iw_profile_init(iw_profile_t *prof, const char *name);

/*
 * Parses the configuration text over the values already in conf.
 * Returns 0, or -1 with "line N: reason" in err.
 */
int iw_conf_parse(iw_conf_t *conf, const char *text, size_t len, char *err,
    size_t errlen);

/* checks across directives; returns 0 or -1 with the reason in err */
int iw_conf_check(const iw_conf_t *conf, char *err, size_t errlen);

const iw_profile_t *iw_conf_profile(const iw_conf_t *conf, const char *name);

/*
 * "500ms", "2s", "1.5s", "3m", "1h", a bare number is seconds.
 * Returns 0 and milliseconds in out, or -1.
 */
int iw_parse_msec(const char *s, unsigned *out);

/* "128k", "1.5M", "800000" (decimal units, bits/s); 0 or -1 */
int iw_parse_bitrate(const char *s, uint64_t *out);

/* "on" / "off"; 0 or -1 */
int iw_parse_flag(const char *s, unsigned *out);


#endif /* _IW_CONF_H_INCLUDED_ */
