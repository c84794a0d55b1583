
/*
 * Copyright (C) nginx video ingest developers
 *
 * Spool job parsing (the format of docs/tus.md "Spool jobs") and the
 * retry bookkeeping the worker adds to it.
 */


#include "test.h"

#include "iw_job.h"


static void test_module_job(void);
static void test_optional(void);
static void test_invalid(void);
static void test_retry(void);
static void test_ids(void);
static void test_main(void);


/* as the nginx module writes it (src/core/ingest_job.c) */
static const char  module_job[] =
    "{\"version\":1,\"id\":\"3f2a0b1c3f2a0b1c3f2a0b1c3f2a0b1c\","
    "\"kind\":\"upload\",\"protocol\":\"tus\","
    "\"source\":\"/var/lib/nginx-ingest/uploads/3f2a0b1c3f2a0b1c3f2a0b1c"
    "3f2a0b1c\",\"size\":104857600,\"content_type\":\"video/mp4\","
    "\"metadata\":{\"filename\":\"a.mp4\",\"filetype\":\"video/mp4\"},"
    "\"owner\":null,\"profile\":\"default\",\"created\":1764122000,"
    "\"webhook\":null}\n";


static int
parse(iw_job_t *job, const char *text, char *err, size_t errlen)
{
    int            rc;
    unsigned char *p;

    /* an exact-length copy: ASan sees any read past the end */
    p = test_dup(text, strlen(text));
    rc = iw_job_parse(job, (const char *) p, strlen(text), err, errlen);
    free(p);

    return rc;
}


static void
test_module_job(void)
{
    char      err[256];
    iw_job_t  job;

    CHECK_INT(parse(&job, module_job, err, sizeof(err)), 0);

    if (job.root == NULL) {
        return;
    }

    CHECK(strcmp(job.id, "3f2a0b1c3f2a0b1c3f2a0b1c3f2a0b1c") == 0);
    CHECK(strcmp(job.kind, "upload") == 0);
    CHECK(strcmp(job.protocol, "tus") == 0);
    CHECK(strcmp(job.source, "/var/lib/nginx-ingest/uploads/"
                             "3f2a0b1c3f2a0b1c3f2a0b1c3f2a0b1c") == 0);
    CHECK_U64(job.size, 104857600);
    CHECK(strcmp(job.content_type, "video/mp4") == 0);
    CHECK(job.owner == NULL);
    CHECK(job.webhook == NULL);
    CHECK(strcmp(job.profile, "default") == 0);
    CHECK_INT(job.created, 1764122000);
    CHECK_INT(job.attempts, 0);
    CHECK_INT(job.retry_at, 0);
    CHECK(job.last_error == NULL);

    iw_job_free(&job);
    CHECK(job.root == NULL);
}


static void
test_optional(void)
{
    char      err[256];
    iw_job_t  job;

    /* the smallest job; the profile defaults */

    CHECK_INT(parse(&job, "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\","
                    "\"source\":\"/x\"}", err, sizeof(err)), 0);
    CHECK(job.root != NULL && strcmp(job.profile, "default") == 0);
    CHECK(job.protocol == NULL && job.content_type == NULL);
    iw_job_free(&job);

    CHECK_INT(parse(&job, "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\","
                    "\"source\":\"/x\",\"owner\":\"alice\",\"profile\":null,"
                    "\"webhook\":\"https://h/x\",\"size\":null,"
                    "\"metadata\":null,\"attempts\":2,"
                    "\"retry_at\":1764122000123,\"last_error\":\"boom\","
                    "\"unknown\":[1,2]}", err, sizeof(err)), 0);
    CHECK(job.root != NULL && strcmp(job.owner, "alice") == 0);
    CHECK(job.root != NULL && strcmp(job.webhook, "https://h/x") == 0);
    CHECK(job.root != NULL && strcmp(job.profile, "default") == 0);
    CHECK_INT(job.attempts, 2);
    CHECK_INT(job.retry_at, 1764122000123);
    CHECK(job.root != NULL && strcmp(job.last_error, "boom") == 0);
    iw_job_free(&job);
}


static void
test_invalid(void)
{
    char          err[256];
    unsigned      i;
    iw_job_t      job;
    const char   *bad[] = {
        "",
        "null",
        "[]",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\"",
        "{\"version\":2,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\"}",
        "{\"version\":\"1\",\"id\":\"a\",\"kind\":\"upload\","
            "\"source\":\"/x\"}",
        "{\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\"}",
        "{\"version\":1,\"kind\":\"upload\",\"source\":\"/x\"}",
        "{\"version\":1,\"id\":\"a\",\"source\":\"/x\"}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\"}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"x\"}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":7}",
        "{\"version\":1,\"id\":\"../a\",\"kind\":\"upload\","
            "\"source\":\"/x\"}",
        "{\"version\":1,\"id\":\"a/b\",\"kind\":\"upload\","
            "\"source\":\"/x\"}",
        "{\"version\":1,\"id\":\"\",\"kind\":\"upload\",\"source\":\"/x\"}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\","
            "\"source\":\"/x\\u0000y\"}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\","
            "\"size\":-1}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\","
            "\"size\":\"1\"}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\","
            "\"profile\":\"\"}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\","
            "\"attempts\":-1}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\","
            "\"retry_at\":1.5}",
        "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\",\"source\":\"/x\","
            "\"metadata\":\"x\"}",
        "{\"version\":1,\"version\":1,\"id\":\"a\",\"kind\":\"upload\","
            "\"source\":\"/x\"}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';

        if (parse(&job, bad[i], err, sizeof(err)) != -1) {
            TEST_FAIL("accepted: %s", bad[i]);
            iw_job_free(&job);
            continue;
        }

        test_passed++;
        CHECK(job.root == NULL && err[0] != '\0');
    }

    CHECK_INT(parse(&job, "{\"version\":1,\"id\":\"a\",\"kind\":\"upload\"}",
                    err, sizeof(err)), -1);
    CHECK(strcmp(err, "\"source\" is missing") == 0);
}


static void
test_retry(void)
{
    char      err[256], *text;
    size_t    len;
    iw_job_t  job, again;

    CHECK_INT(parse(&job, module_job, err, sizeof(err)), 0);
    if (job.root == NULL) {
        return;
    }

    CHECK_INT(iw_job_set_retry(&job, 1, 1764122005000, "disk full"), 0);
    CHECK_INT(iw_job_set_retry(&job, 2, 1764122015000, "decoder crashed"),
              0);
    CHECK(strcmp(job.last_error, "decoder crashed") == 0);

    text = iw_job_dump(&job, &len);
    CHECK(text != NULL);
    if (text == NULL) {
        iw_job_free(&job);
        return;
    }

    /* one line, every original member kept in order, ours appended */

    CHECK_INT(len, strlen(text));
    CHECK(text[len - 1] == '\n' && strchr(text, '\n') == text + len - 1);
    CHECK(strncmp(text, "{\"version\":1,\"id\":\"3f2a", 23) == 0);
    CHECK(strstr(text, "\"metadata\":{\"filename\":\"a.mp4\","
                       "\"filetype\":\"video/mp4\"}") != NULL);
    CHECK(strstr(text, "\"webhook\":null,\"attempts\":2,"
                       "\"retry_at\":1764122015000,"
                       "\"last_error\":\"decoder crashed\"}") != NULL);

    CHECK_INT(parse(&again, text, err, sizeof(err)), 0);
    CHECK_INT(again.attempts, 2);
    CHECK_INT(again.retry_at, 1764122015000);
    CHECK(again.root != NULL && strcmp(again.id, job.id) == 0);

    iw_job_free(&again);
    free(text);

    /* no error text keeps the last one */

    CHECK_INT(iw_job_set_retry(&job, 3, 1, NULL), 0);
    CHECK(strcmp(job.last_error, "decoder crashed") == 0);
    CHECK_INT(job.attempts, 3);

    iw_job_free(&job);
}


static void
test_ids(void)
{
    char      id[IW_JOB_ID_MAX + 2];

    CHECK_INT(iw_job_id_valid("3f2a0b1c3f2a0b1c3f2a0b1c3f2a0b1c"), 1);
    CHECK_INT(iw_job_id_valid("A_b-9.x"), 1);
    CHECK_INT(iw_job_id_valid(""), 0);
    CHECK_INT(iw_job_id_valid("."), 0);
    CHECK_INT(iw_job_id_valid(".."), 0);
    CHECK_INT(iw_job_id_valid(".hidden"), 0);
    CHECK_INT(iw_job_id_valid("a/b"), 0);
    CHECK_INT(iw_job_id_valid("a b"), 0);
    CHECK_INT(iw_job_id_valid("a\xc3\xa9"), 0);

    memset(id, 'a', IW_JOB_ID_MAX);
    id[IW_JOB_ID_MAX] = '\0';
    CHECK_INT(iw_job_id_valid(id), 1);

    id[IW_JOB_ID_MAX] = 'a';
    id[IW_JOB_ID_MAX + 1] = '\0';
    CHECK_INT(iw_job_id_valid(id), 0);
}


static void
test_main(void)
{
    test_module_job();
    test_optional();
    test_invalid();
    test_retry();
    test_ids();
}


TEST_MAIN("test_job", test_main)
