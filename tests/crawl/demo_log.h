/* The demo server's request log (crawl_demo_log), copied out for the
 * tests that prove politeness on it (test_polite.c, test_crawl_loops.c). */
#ifndef TULIP_TESTS_CRAWL_DEMO_LOG_H
#define TULIP_TESTS_CRAWL_DEMO_LOG_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

/* A copy of demo's log (n entries) that outlives it; NULL on ENOMEM. */
static inline crawl_demo_hit *demo_log_copy(crawl_demo *demo, size_t *n)
{
    const crawl_demo_hit *log = crawl_demo_log(demo, n);
    crawl_demo_hit *v = calloc(*n + 1, sizeof *v);
    for (size_t i = 0; v && i < *n; i++) {
        v[i] = log[i];
        v[i].target = strdup(log[i].target);
    }
    return v;
}

static inline void demo_log_free(crawl_demo_hit *log, size_t n)
{
    for (size_t i = 0; log && i < n; i++)
        free(log[i].target);
    free(log);
}

/* The smallest gap between request starts on host k; counts them in *count. */
static inline int64_t demo_log_min_gap(const crawl_demo_hit *log, size_t n, unsigned k, size_t *count)
{
    int64_t last = -1, gap = INT64_MAX;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        if (log[i].host != k)
            continue;
        (*count)++;
        /* the log is in order of answer; with one request at a time per
         * host that is the order of arrival */
        if (last >= 0 && log[i].t_ns - last < gap)
            gap = log[i].t_ns - last;
        last = log[i].t_ns;
    }
    return gap;
}

#endif
