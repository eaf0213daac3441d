/* Helpers shared by the tests. Include after cmocka.h. */
#ifndef TULIP_TEST_UTIL_H
#define TULIP_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>
#include "tulip.h"

/* Big counts (a million tasks) are scaled down under valgrind, which runs
 * code ~50x slower, so the suite stays within its time budget there. The
 * full counts always run in the plain and sanitizer builds. */
static inline size_t test_scale(size_t n)
{
    const char *s = getenv("TULIP_TEST_SCALE");
    if (s && strcmp(s, "small") == 0) {
        size_t m = n / 100;
        return m ? m : 1;
    }
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
