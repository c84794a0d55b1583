
/*
 * Copyright (C) nginx video ingest developers
 *
 * Webhook records, payloads and HMAC-SHA256 signatures.
 */


#include "test.h"

#include "iw_hook.h"


static void test_signature(void);
static void test_payload(void);
static void test_record(void);
static void test_urls(void);
static void test_main(void);


static void
test_signature(void)
{
    char  sig[IW_HOOK_SIG_LEN];

    /* python3: hmac.new(b"key", b'1700000000.{"a":1}', sha256) */

    CHECK_INT(iw_hook_signature("key", 3, 1700000000, "{\"a\":1}", 7, sig),
              0);
    CHECK(strcmp(sig, "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f"
                      "768e965d073ca313cb52e22e6ad03") == 0);

    /* empty key and body */
    CHECK_INT(iw_hook_signature("", 0, 0, "", 0, sig), 0);
    CHECK(strcmp(sig, "t=0,v1=b849d5a581847b281957065739df36df2463d1977ea8d"
                      "6e1e4e6cf33fadc68c3") == 0);

    /* the timestamp is signed too */
    CHECK_INT(iw_hook_signature("key", 3, 1700000001, "{\"a\":1}", 7, sig),
              0);
    CHECK(strstr(sig, "a438e398") == NULL);
}


static void
test_payload(void)
{
    char    *s;
    json_t  *job, *p;

    job = json_pack("{s:i,s:s,s:n}", "version", 1, "id", "abc", "owner");
    if (job == NULL) {
        TEST_FAIL("%s", "json_pack");
        return;
    }

    s = iw_hook_payload("job.done", "abc", job, "abc/master.m3u8", NULL);
    CHECK(s != NULL);
    if (s != NULL) {
        CHECK(strcmp(s, "{\"event\":\"job.done\",\"id\":\"abc\",\"job\":"
                        "{\"version\":1,\"id\":\"abc\",\"owner\":null},"
                        "\"playlist\":\"abc/master.m3u8\",\"error\":null}")
              == 0);
        free(s);
    }

    s = iw_hook_payload("job.failed", "abc", job, NULL, "not \"media\"");
    CHECK(s != NULL);
    if (s != NULL) {
        p = json_loads(s, 0, NULL);
        CHECK(p != NULL);
        CHECK(strcmp(json_string_value(json_object_get(p, "error")),
                     "not \"media\"") == 0);
        CHECK(json_is_null(json_object_get(p, "playlist")));
        json_decref(p);
        free(s);
    }

    /* the job object is shared, not consumed */
    CHECK_INT(job->refcount, 1);
    json_decref(job);
}


static void
test_record(void)
{
    char       *text, *again, err[128];
    size_t      len, len2;
    iw_hook_t   h;

    text = iw_hook_record("http://127.0.0.1:8080/hook", "job.done",
                          "{\"x\":1}", 1764122000000, &len);
    CHECK(text != NULL);
    if (text == NULL) {
        return;
    }

    CHECK_MEM(text, len, "{\"url\":\"http://127.0.0.1:8080/hook\","
                         "\"event\":\"job.done\",\"attempts\":0,"
                         "\"next_at\":1764122000000,"
                         "\"body\":\"{\\\"x\\\":1}\"}\n");

    CHECK_INT(iw_hook_parse(&h, text, len, err, sizeof(err)), 0);
    free(text);

    if (h.root == NULL) {
        return;
    }

    CHECK(strcmp(h.body, "{\"x\":1}") == 0);
    CHECK(strcmp(h.event, "job.done") == 0);
    CHECK_INT(h.attempts, 0);
    CHECK(h.last_error == NULL);

    CHECK_INT(iw_hook_failed(&h, 1764122000700, "HTTP 500"), 0);
    CHECK_INT(iw_hook_failed(&h, 1764122002000, "timed out"), 0);
    CHECK_INT(h.attempts, 2);
    CHECK(strcmp(h.last_error, "timed out") == 0);

    again = iw_hook_dump(&h, &len2);
    iw_hook_free(&h);
    CHECK(again != NULL);
    if (again == NULL) {
        return;
    }

    CHECK_INT(iw_hook_parse(&h, again, len2, err, sizeof(err)), 0);
    CHECK_INT(h.attempts, 2);
    CHECK_INT(h.next_at, 1764122002000);
    CHECK(h.root != NULL && strcmp(h.body, "{\"x\":1}") == 0);
    iw_hook_free(&h);
    free(again);

    /* not records */

    CHECK_INT(iw_hook_parse(&h, "{", 1, err, sizeof(err)), -1);
    text = "{\"url\":\"ftp://x/y\",\"event\":\"e\",\"attempts\":0,"
           "\"next_at\":0,\"body\":\"\"}";
    CHECK_INT(iw_hook_parse(&h, text, strlen(text), err, sizeof(err)), -1);
    text = "{\"url\":\"http://x/y\",\"event\":\"e\",\"attempts\":-1,"
           "\"next_at\":0,\"body\":\"\"}";
    CHECK_INT(iw_hook_parse(&h, text, strlen(text), err, sizeof(err)), -1);
    text = "{\"url\":\"http://x/y\",\"event\":\"e\",\"attempts\":0,"
           "\"body\":\"\"}";
    CHECK_INT(iw_hook_parse(&h, text, strlen(text), err, sizeof(err)), -1);
    CHECK(h.root == NULL);
}


static void
test_urls(void)
{
    CHECK_INT(iw_hook_url_valid("http://127.0.0.1:1/x"), 1);
    CHECK_INT(iw_hook_url_valid("https://hooks.example/a?b=c"), 1);
    CHECK_INT(iw_hook_url_valid("http://"), 0);
    CHECK_INT(iw_hook_url_valid("file:///etc/passwd"), 0);
    CHECK_INT(iw_hook_url_valid("gopher://x"), 0);
    CHECK_INT(iw_hook_url_valid("http://a b/"), 0);
    CHECK_INT(iw_hook_url_valid("http://a/\r\nX-Evil: 1"), 0);
}


static void
test_main(void)
{
    test_signature();
    test_payload();
    test_record();
    test_urls();
}


TEST_MAIN("test_hook", test_main)
