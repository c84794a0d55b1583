
/*
 * Copyright (C) nginx video ingest developers
 */


#define _GNU_SOURCE

#include "iw_notify.h"
#include "iw_backoff.h"
#include "iw_files.h"
#include "iw_hook.h"
#include "iw_log.h"
#include "iw_process.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>


/* the guide: base 500 ms, x2, jitter 100-500 ms */
#define IW_NOTIFY_BASE_MS   500
#define IW_NOTIFY_MAX_MS    60000
#define IW_NOTIFY_IDLE_MS   1000


static int64_t iw_notify_pass(const iw_conf_t *conf, const char *dir);
static int iw_notify_post(const iw_conf_t *conf, const iw_hook_t *h,
    char *err, size_t errlen);
static size_t iw_notify_discard(char *p, size_t size, size_t n, void *data);
static int iw_notify_progress(void *data, curl_off_t dt, curl_off_t dn,
    curl_off_t ut, curl_off_t un);


int
iw_notify_queue(const iw_conf_t *conf, const char *id, json_t *job,
    const char *event, const char *playlist, const char *error)
{
    int          rc;
    char        *body, *rec, path[PATH_MAX];
    size_t       len;
    json_t      *v;
    const char  *url;

    if (!conf->webhooks) {
        return 0;
    }

    v = json_object_get(job, "webhook");
    url = json_is_string(v) ? json_string_value(v) : NULL;

    if (url == NULL || !iw_hook_url_valid(url)) {
        if (url != NULL) {
            iw_log(IW_LOG_WARN, "job \"%s\": webhook \"%s\" is not an "
                   "http(s) URL", id, url);
        }

        url = conf->webhook_url[0] != '\0' ? conf->webhook_url : NULL;
    }

    if (url == NULL) {
        return 0;
    }

    body = iw_hook_payload(event, id, job, playlist, error);
    if (body == NULL) {
        return -1;
    }

    rec = iw_hook_record(url, event, body, iw_now_ms(), &len);
    free(body);

    if (rec == NULL) {
        return -1;
    }

    rc = -1;

    if (snprintf(path, sizeof(path), "%s/webhooks", conf->spool)
        < (int) sizeof(path)
        && iw_mkdir_p(path, 0755) == 0
        && snprintf(path, sizeof(path), "%s/webhooks/%s.%s.json",
                    conf->spool, id, event) < (int) sizeof(path))
    {
        /* durable before the job moves on: delivered at least once */
        rc = iw_file_write(path, rec, len, 1);
    }

    if (rc != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "job \"%s\": cannot queue the "
                     "webhook", id);
    }

    free(rec);

    return rc;
}


void
iw_notify_cycle(const iw_conf_t *conf)
{
    int              ifd;
    char             dir[PATH_MAX], failed[PATH_MAX + 16], buf[4096];
    int64_t          next, now, wait;
    sigset_t         blocked, empty;
    struct pollfd    pfd;
    struct timespec  ts;

    sigemptyset(&empty);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGQUIT);
    sigprocmask(SIG_SETMASK, &blocked, NULL);

    srandom((unsigned) (getpid() ^ iw_now_ms()));

    snprintf(dir, sizeof(dir), "%s/webhooks", conf->spool);
    snprintf(failed, sizeof(failed), "%s/failed", dir);

    if (iw_mkdir_p(failed, 0755) != 0
        || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
    {
        iw_log_errno(IW_LOG_ERR, errno, "webhooks: cannot start");
        exit(2);
    }

    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd != -1
        && inotify_add_watch(ifd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) == -1)
    {
        close(ifd);
        ifd = -1;
    }

    iw_log(IW_LOG_INFO, "webhook process ready");

    while (!iw_quit && !iw_terminate) {

        /* deliveries run with signals on: a stop aborts a transfer */

        sigprocmask(SIG_SETMASK, &empty, NULL);
        next = iw_notify_pass(conf, dir);
        sigprocmask(SIG_SETMASK, &blocked, NULL);

        now = iw_now_ms();
        wait = next > now ? next - now : 0;

        if (wait > IW_NOTIFY_IDLE_MS || next == 0) {
            wait = IW_NOTIFY_IDLE_MS;
        }

        if (wait == 0) {
            continue;
        }

        ts.tv_sec = wait / 1000;
        ts.tv_nsec = (long) (wait % 1000) * 1000000;
        pfd.fd = ifd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        if (ppoll(&pfd, ifd != -1 ? 1 : 0, &ts, &empty) > 0) {
            while (read(ifd, buf, sizeof(buf)) > 0) {
                /* drain */
            }
        }
    }

    curl_global_cleanup();

    exit(0);
}


/* one pass over the records; returns when the next one is due, 0: none */

static int64_t
iw_notify_pass(const iw_conf_t *conf, const char *dir)
{
    char           *text, path[PATH_MAX], dst[PATH_MAX], err[512];
    DIR            *d;
    size_t          len, nlen;
    int64_t         next, now, delay;
    iw_hook_t       h;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return 0;
    }

    next = 0;

    while ((de = readdir(d)) != NULL && !iw_quit && !iw_terminate) {
        nlen = strlen(de->d_name);

        if (de->d_name[0] == '.' || nlen <= 5
            || strcmp(de->d_name + nlen - 5, ".json") != 0
            || snprintf(path, sizeof(path), "%s/%s", dir, de->d_name)
               >= (int) sizeof(path)
            || snprintf(dst, sizeof(dst), "%s/failed/%s", dir, de->d_name)
               >= (int) sizeof(dst))
        {
            continue;
        }

        if (iw_file_read(path, 16 * 1024 * 1024, &text, &len) != 0) {
            continue;
        }

        if (iw_hook_parse(&h, text, len, err, sizeof(err)) != 0) {
            free(text);
            iw_log(IW_LOG_ERR, "webhook \"%s\": %s", de->d_name, err);
            (void) rename(path, dst);
            continue;
        }

        free(text);

        now = iw_now_ms();

        if (h.next_at > now) {
            if (next == 0 || h.next_at < next) {
                next = h.next_at;
            }

            iw_hook_free(&h);
            continue;
        }

        if (iw_notify_post(conf, &h, err, sizeof(err)) == 0) {
            iw_log(IW_LOG_INFO, "webhook %s to %s delivered (try %u)",
                   h.event, h.url, h.attempts + 1);
            (void) unlink(path);
            iw_hook_free(&h);
            continue;
        }

        if (iw_quit || iw_terminate) {
            /* not the receiver's fault: try again after the restart */
            iw_hook_free(&h);
            break;
        }

        delay = (int64_t) iw_backoff_ms(IW_NOTIFY_BASE_MS, 2,
                                        IW_NOTIFY_MAX_MS, h.attempts + 1,
                                        iw_jitter_ms((uint32_t) random(),
                                                     100, 500));

        if (iw_hook_failed(&h, now + delay, err) == 0
            && (text = iw_hook_dump(&h, &len)) != NULL)
        {
            if (h.attempts >= conf->webhook_attempts) {
                iw_log(IW_LOG_ERR, "webhook %s to %s: giving up after %u "
                       "tries: %s", h.event, h.url, h.attempts, err);

                if (iw_file_write(dst, text, len, 0) == 0) {
                    (void) unlink(path);
                }

            } else {
                iw_log(IW_LOG_NOTICE, "webhook %s to %s: try %u failed "
                       "(%s), next in %lld ms", h.event, h.url, h.attempts,
                       err, (long long) delay);

                (void) iw_file_write(path, text, len, 1);

                if (next == 0 || now + delay < next) {
                    next = now + delay;
                }
            }

            free(text);
        }

        iw_hook_free(&h);
    }

    closedir(d);

    return next;
}


static int
iw_notify_post(const iw_conf_t *conf, const iw_hook_t *h, char *err,
    size_t errlen)
{
    long                code;
    char                sig[IW_HOOK_SIG_LEN], hdr[IW_HOOK_SIG_LEN + 64];
    CURL               *c;
    CURLcode            rc;
    struct curl_slist  *hdrs, *l;

    c = curl_easy_init();
    if (c == NULL) {
        snprintf(err, errlen, "curl_easy_init() failed");
        return -1;
    }

    hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;

    snprintf(hdr, sizeof(hdr), "X-Ingest-Event: %s", h->event);
    hdrs = hdrs ? curl_slist_append(hdrs, hdr) : NULL;

    if (conf->webhook_secret[0] != '\0' && hdrs != NULL) {
        if (iw_hook_signature(conf->webhook_secret,
                              strlen(conf->webhook_secret),
                              (int64_t) time(NULL), h->body,
                              strlen(h->body), sig) != 0)
        {
            snprintf(err, errlen, "cannot sign");
            curl_slist_free_all(hdrs);
            curl_easy_cleanup(c);
            return -1;
        }

        snprintf(hdr, sizeof(hdr), "X-Ingest-Signature: %s", sig);
        l = curl_slist_append(hdrs, hdr);
        hdrs = l;
    }

    if (hdrs == NULL) {
        snprintf(err, errlen, "out of memory");
        curl_easy_cleanup(c);
        return -1;
    }

    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(h->body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ingest-worker");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) conf->webhook_timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) conf->webhook_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, iw_notify_discard);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, iw_notify_progress);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

    rc = curl_easy_perform(c);

    code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);

    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);

    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return -1;
    }

    if (code < 200 || code > 299) {
        snprintf(err, errlen, "HTTP %ld", code);
        return -1;
    }

    return 0;
}


static size_t
iw_notify_discard(char *p, size_t size, size_t n, void *data)
{
    (void) p;
    (void) data;

    return size * n;
}


static int
iw_notify_progress(void *data, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
    (void) data;
    (void) dt;
    (void) dn;
    (void) ut;
    (void) un;

    return iw_quit || iw_terminate;
}
