/* Helpers shared by the tests. Include after cmocka.h. */
#ifndef TULIP_TEST_UTIL_H
#define TULIP_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>
#include "tulip.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TULIP_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TULIP_TEST_SANITIZED 1
#endif
#endif

/* Big counts (a million tasks) are scaled down where they would not fit:
 * by 100 under valgrind (TULIP_TEST_SCALE=small; it runs code ~50x slower)
 * and by 10 in sanitizer builds (a million live tasks take ~9 GB under
 * ASan; two such tests side by side would crowd a 24 GB machine). The full
 * counts run in the plain build, on every backend. */
static inline size_t test_scale(size_t n)
{
    const char *s = getenv("TULIP_TEST_SCALE");
    if (s && strcmp(s, "small") == 0) {
        size_t m = n / 100;
        return m ? m : 1;
    }
#ifdef TULIP_TEST_SANITIZED
    if (n >= 10000)
        return n / 10;
#endif
    return n;
}

/* Run body(arg) as the main task of a fresh tulip_run and return its
 * result. */
static inline int test_run(tulip_fn body, void *arg)
{
    return tulip_run(body, arg);
}

/* Deterministic runs: virtual clock, so sleeps and deadlines take no real
 * time and always fire in the same order. */
static inline int test_run_virtual(tulip_fn body, void *arg)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = 1;
    return tulip_run_ex(body, arg, &cfg);
}

#endif
