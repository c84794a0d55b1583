
/*
 * Copyright (C) nginx video ingest developers
 *
 * A tiny test harness: each test program includes this once, runs its
 * checks and ends with TEST_MAIN(), which prints
 * "<name>: N passed, N failed" and exits non-zero on any failure.
 */


#ifndef _TEST_H_INCLUDED_
#define _TEST_H_INCLUDED_


#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static unsigned long  test_passed;
static unsigned long  test_failed;


#define TEST_FAIL(fmt, ...)                                                   \
    do {                                                                      \
        test_failed++;                                                        \
        fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__, __LINE__,          \
                __VA_ARGS__);                                                 \
    } while (0)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (cond) {                                                           \
            test_passed++;                                                    \
        } else {                                                              \
            TEST_FAIL("%s", #cond);                                           \
        }                                                                     \
    } while (0)

#define CHECK_INT(a, b)                                                       \
    do {                                                                      \
        long long  test_a_ = (long long) (a), test_b_ = (long long) (b);      \
        if (test_a_ == test_b_) {                                             \
            test_passed++;                                                    \
        } else {                                                              \
            TEST_FAIL("%s == %s: %lld != %lld", #a, #b, test_a_, test_b_);    \
        }                                                                     \
    } while (0)

#define CHECK_U64(a, b)                                                       \
    do {                                                                      \
        uint64_t  test_a_ = (uint64_t) (a), test_b_ = (uint64_t) (b);         \
        if (test_a_ == test_b_) {                                             \
            test_passed++;                                                    \
        } else {                                                              \
            TEST_FAIL("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b,            \
                      test_a_, test_b_);                                      \
        }                                                                     \
    } while (0)

/* bytes p/len equal to the NUL-terminated string s */
#define CHECK_MEM(p, len, s)                                                  \
    do {                                                                      \
        const void  *test_p_ = (p);                                           \
        size_t       test_l_ = (size_t) (len);                                \
        const char  *test_s_ = (s);                                           \
        if (test_l_ == strlen(test_s_)                                        \
            && (test_l_ == 0 || memcmp(test_p_, test_s_, test_l_) == 0))      \
        {                                                                     \
            test_passed++;                                                    \
        } else {                                                              \
            TEST_FAIL("%s == \"%s\": got \"%.*s\"", #p, test_s_,              \
                      (int) (test_l_ > 400 ? 400 : test_l_),                  \
                      test_p_ != NULL ? (const char *) test_p_ : "");         \
        }                                                                     \
    } while (0)

#define TEST_MAIN(name, body)                                                 \
    int                                                                       \
    main(void)                                                                \
    {                                                                         \
        body();                                                               \
        printf("%s: %lu passed, %lu failed\n", name, test_passed,             \
               test_failed);                                                  \
        return test_failed != 0;                                              \
    }


/*
 * Copies test input into a heap buffer of exactly len bytes, so that
 * ASan reports any read past the length given to the code under test.
 */

static inline unsigned char *
test_dup(const void *p, size_t len)
{
    unsigned char  *d;

    d = malloc(len != 0 ? len : 1);
    if (d == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    if (len != 0) {
        memcpy(d, p, len);
    }

    return d;
}


/* a small deterministic PRNG for the random-input checks */

static inline uint32_t
test_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;

    return (uint32_t) (*state >> 33);
}


#endif /* _TEST_H_INCLUDED_ */
