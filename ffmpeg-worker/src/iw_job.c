
/*
 * Copyright (C) nginx video ingest developers
 */


#include "iw_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int iw_job_string(json_t *root, const char *key, int required,
    const char **out, char *err, size_t errlen);
static void iw_job_fields(iw_job_t *job);


int
iw_job_parse(iw_job_t *job, const char *text, size_t len, char *err,
    size_t errlen)
{
    json_t        *root, *v;
    json_int_t     n;
    json_error_t   jerr;

    memset(job, 0, sizeof(iw_job_t));

    if (len > IW_JOB_MAX_SIZE) {
        snprintf(err, errlen, "job larger than %d bytes", IW_JOB_MAX_SIZE);
        return -1;
    }

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
                 jerr.line, jerr.column, jerr.text);
        return -1;
    }

    if (!json_is_object(root)) {
        snprintf(err, errlen, "job is not a JSON object");
        goto failed;
    }

    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        snprintf(err, errlen, "unsupported job version");
        goto failed;
    }

    job->root = root;

    if (iw_job_string(root, "id", 1, &job->id, err, errlen) != 0
        || iw_job_string(root, "kind", 1, &job->kind, err, errlen) != 0
        || iw_job_string(root, "source", 1, &job->source, err, errlen) != 0
        || iw_job_string(root, "protocol", 0, &job->protocol, err, errlen)
           != 0
        || iw_job_string(root, "content_type", 0, &job->content_type, err,
                         errlen) != 0
        || iw_job_string(root, "owner", 0, &job->owner, err, errlen) != 0
        || iw_job_string(root, "profile", 0, &job->profile, err, errlen)
           != 0
        || iw_job_string(root, "webhook", 0, &job->webhook, err, errlen)
           != 0
        || iw_job_string(root, "last_error", 0, &job->last_error, err,
                         errlen) != 0)
    {
        goto failed;
    }

    if (!iw_job_id_valid(job->id)) {
        snprintf(err, errlen, "invalid job id");
        goto failed;
    }

    if (job->source[0] != '/') {
        snprintf(err, errlen, "source is not an absolute path");
        goto failed;
    }

    if (job->profile == NULL) {
        job->profile = "default";

    } else if (job->profile[0] == '\0') {
        snprintf(err, errlen, "empty profile name");
        goto failed;
    }

    v = json_object_get(root, "size");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            snprintf(err, errlen, "\"size\" is not a non-negative integer");
            goto failed;
        }

        job->size = (uint64_t) json_integer_value(v);
    }

    v = json_object_get(root, "created");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "\"created\" is not an integer");
            goto failed;
        }

        job->created = json_integer_value(v);
    }

    v = json_object_get(root, "attempts");
    if (v != NULL) {
        n = json_is_integer(v) ? json_integer_value(v) : -1;

        if (n < 0 || n > 1000000) {
            snprintf(err, errlen, "\"attempts\" is not a small "
                     "non-negative integer");
            goto failed;
        }

        job->attempts = (unsigned) n;
    }

    v = json_object_get(root, "retry_at");
    if (v != NULL) {
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "\"retry_at\" is not an integer");
            goto failed;
        }

        job->retry_at = json_integer_value(v);
    }

    v = json_object_get(root, "metadata");
    if (v != NULL && !json_is_null(v) && !json_is_object(v)) {
        snprintf(err, errlen, "\"metadata\" is not an object");
        goto failed;
    }

    return 0;

failed:

    json_decref(root);
    memset(job, 0, sizeof(iw_job_t));

    return -1;
}


void
iw_job_free(iw_job_t *job)
{
    if (job->root != NULL) {
        json_decref(job->root);
    }

    memset(job, 0, sizeof(iw_job_t));
}


int
iw_job_set_retry(iw_job_t *job, unsigned attempts, int64_t retry_at,
    const char *error)
{
    if (json_object_set_new(job->root, "attempts",
                            json_integer(attempts)) != 0
        || json_object_set_new(job->root, "retry_at",
                               json_integer(retry_at)) != 0)
    {
        return -1;
    }

    if (error != NULL
        && json_object_set_new(job->root, "last_error",
                               json_string(error)) != 0)
    {
        return -1;
    }

    /* the strings we point to may have been replaced */
    iw_job_fields(job);

    job->attempts = attempts;
    job->retry_at = retry_at;

    return 0;
}


char *
iw_job_dump(const iw_job_t *job, size_t *len)
{
    char    *s, *p;
    size_t   n;

    s = json_dumps(job->root, JSON_COMPACT | JSON_PRESERVE_ORDER);
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


int
iw_job_id_valid(const char *id)
{
    size_t  i;
    char    c;

    for (i = 0; id[i] != '\0'; i++) {
        c = id[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-'
            || (c == '.' && i != 0))
        {
            continue;
        }

        return 0;
    }

    return i != 0 && i <= IW_JOB_ID_MAX;
}


static int
iw_job_string(json_t *root, const char *key, int required, const char **out,
    char *err, size_t errlen)
{
    json_t  *v;

    v = json_object_get(root, key);

    if (v == NULL || json_is_null(v)) {
        if (required) {
            snprintf(err, errlen, "\"%s\" is missing", key);
            return -1;
        }

        *out = NULL;
        return 0;
    }

    if (!json_is_string(v)) {
        snprintf(err, errlen, "\"%s\" is not a string", key);
        return -1;
    }

    if (strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errlen, "\"%s\" contains a NUL byte", key);
        return -1;
    }

    *out = json_string_value(v);

    return 0;
}


static void
iw_job_fields(iw_job_t *job)
{
    json_t  *v;

    v = json_object_get(job->root, "last_error");
    job->last_error = json_is_string(v) ? json_string_value(v) : NULL;
}
