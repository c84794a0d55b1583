
/*
 * Copyright (C) nginx video ingest developers
 *
 * Backoff, jitter, leases, worker names and the dead-claim rule.
 */


#include "test.h"

#include "iw_backoff.h"


static void test_backoff(void);
static void test_jitter(void);
static void test_lease(void);
static void test_names(void);
static void test_claims(void);
static void test_main(void);


static void
test_backoff(void)
{
    /* the guide's upload retries: base 500 ms, x2 */

    CHECK_U64(iw_backoff_ms(500, 2, 60000, 0, 0), 0);
    CHECK_U64(iw_backoff_ms(500, 2, 60000, 1, 0), 500);
    CHECK_U64(iw_backoff_ms(500, 2, 60000, 2, 0), 1000);
    CHECK_U64(iw_backoff_ms(500, 2, 60000, 3, 0), 2000);
    CHECK_U64(iw_backoff_ms(500, 2, 60000, 5, 0), 8000);
    CHECK_U64(iw_backoff_ms(500, 2, 60000, 5, 300), 8300);

    /* capped, before the jitter */
    CHECK_U64(iw_backoff_ms(500, 2, 60000, 8, 0), 60000);
    CHECK_U64(iw_backoff_ms(500, 2, 60000, 8, 250), 60250);

    /* no overflow however many attempts */
    CHECK_U64(iw_backoff_ms(5000, 2, 600000, 1000000, 0), 600000);
    CHECK_U64(iw_backoff_ms(UINT64_MAX / 3, 4, UINT64_MAX, 3, 0),
              UINT64_MAX);

    /* factor 1: constant */
    CHECK_U64(iw_backoff_ms(700, 1, 60000, 9, 0), 700);
}


static void
test_jitter(void)
{
    uint32_t  r;
    uint64_t  j, seen_lo, seen_hi, state;
    unsigned  i, bad;

    /* the guide's jitter, 100-500 ms: always inside, both ends reached */

    CHECK_U64(iw_jitter_ms(0, 100, 500), 100);
    CHECK_U64(iw_jitter_ms(400, 100, 500), 500);
    CHECK_U64(iw_jitter_ms(401, 100, 500), 100);
    CHECK_U64(iw_jitter_ms(UINT32_MAX, 7, 7), 7);
    CHECK_U64(iw_jitter_ms(12345, 9, 3), 9);

    state = 42;
    bad = 0;
    seen_lo = 0;
    seen_hi = 0;

    for (i = 0; i < 100000; i++) {
        r = test_rand(&state);
        j = iw_jitter_ms(r, 100, 500);

        if (j < 100 || j > 500) {
            bad++;
        }

        seen_lo |= j == 100;
        seen_hi |= j == 500;
    }

    CHECK_INT(bad, 0);
    CHECK(seen_lo && seen_hi);
}


static void
test_lease(void)
{
    CHECK_INT(iw_lease_expired(1000, 1000, 60000), 0);
    CHECK_INT(iw_lease_expired(1000, 61000, 60000), 0);
    CHECK_INT(iw_lease_expired(1000, 61001, 60000), 1);

    /* a renewal in the future (clock skew) is not expired */
    CHECK_INT(iw_lease_expired(90000, 1000, 60000), 0);
}


static void
test_names(void)
{
    char   name[IW_WORKER_LEN], host[IW_HOST_LEN], small[8];
    pid_t  pid;

    CHECK_INT(iw_worker_name(name, sizeof(name), "node-1.example", 4242),
              0);
    CHECK(strcmp(name, "node_1.example-4242") == 0);

    CHECK_INT(iw_worker_name_parse(name, host, sizeof(host), &pid), 0);
    CHECK(strcmp(host, "node_1.example") == 0);
    CHECK_INT(pid, 4242);

    /* nothing of the host can make a path */
    CHECK_INT(iw_worker_name(name, sizeof(name), "../x/y", 7), 0);
    CHECK(strcmp(name, "_._x_y-7") == 0);
    CHECK(strchr(name, '/') == NULL);

    CHECK_INT(iw_worker_name(name, sizeof(name), "", 7), -1);
    CHECK_INT(iw_worker_name(name, sizeof(name), "h", 0), -1);
    CHECK_INT(iw_worker_name(small, sizeof(small), "host", 123456), -1);

    CHECK_INT(iw_worker_name_parse("host", host, sizeof(host), &pid), -1);
    CHECK_INT(iw_worker_name_parse("-12", host, sizeof(host), &pid), -1);
    CHECK_INT(iw_worker_name_parse("host-", host, sizeof(host), &pid), -1);
    CHECK_INT(iw_worker_name_parse("host-12x", host, sizeof(host), &pid),
              -1);
    CHECK_INT(iw_worker_name_parse("host-0", host, sizeof(host), &pid), -1);
    CHECK_INT(iw_worker_name_parse("host-99999999999", host, sizeof(host),
                                   &pid), -1);
    CHECK_INT(iw_worker_name_parse("longhostname-1", host, 4, &pid), -1);
}


static void
test_claims(void)
{
    /* this host: a dead process frees its claims at once */
    CHECK_INT(iw_claim_dead("a", "a", 0, 1000, 1000, 60000), 1);
    CHECK_INT(iw_claim_dead("a", "a", 1, 1000, 2000, 60000), 0);

    /* a live pid with a stale lease: the pid was reused */
    CHECK_INT(iw_claim_dead("a", "a", 1, 1000, 70000, 60000), 1);

    /* another host: only the lease tells */
    CHECK_INT(iw_claim_dead("b", "a", 0, 1000, 2000, 60000), 0);
    CHECK_INT(iw_claim_dead("b", "a", 1, 1000, 61001, 60000), 1);
}


static void
test_main(void)
{
    test_backoff();
    test_jitter();
    test_lease();
    test_names();
    test_claims();
}


TEST_MAIN("test_backoff", test_main)
