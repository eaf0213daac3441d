/* The demo server's request log (crawl_demo_log), copied out for the
 * tests that prove politeness on it (test_polite.c, test_crawl_loops.c),
 * and their one harness: a crawl of the demo site on one loop or several
 * (demo_run), its rows checked against the site's model. */
#ifndef TULIP_TESTS_CRAWL_DEMO_LOG_H
#define TULIP_TESTS_CRAWL_DEMO_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tulip.h>

#include "check.h"
#include "crawler.h"
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

typedef struct demo_run {
    unsigned loops;          /* 0: tulip_run's one loop; else that many workers */
    crawl_demo_opts d;
    crawl_opts o;
    crawl_stats st;
    pthread_mutex_t mu;      /* rows come from every loop's thread */
    crawl_found_set found;
    size_t rows, retry_rows;
    unsigned max_attempts;
    int rc;
    long diffs;              /* against the model */
    uint64_t encoded;        /* responses the server compressed */
    crawl_demo_hit *log;     /* copied out */
    size_t nlog;
} demo_run;

static inline void demo_run_row(void *arg, const crawl_row *row)
{
    demo_run *r = arg;
    pthread_mutex_lock(&r->mu);
    if (row->retry) {
        r->retry_rows++;
    } else {
        r->rows++;
        assert_int_equal(crawl_found_add(&r->found, row), 0);
    }
    if (row->attempts > r->max_attempts)
        r->max_attempts = row->attempts;
    pthread_mutex_unlock(&r->mu);
}

/* The main task: serve the demo site, crawl it, keep the server's log and
 * the differences from the model (printed unless --max-pages cut the
 * crawl short on purpose). */
static inline int demo_run_main(void *arg)
{
    demo_run *r = arg;
    crawl_demo *demo = crawl_demo_new(&r->d);
    assert_non_null(demo);
    assert_int_equal(crawl_demo_start(demo), 0);
    char url[96];
    snprintf(url, sizeof url, "%s/", crawl_demo_origin(demo));
    r->o.url = url;
    r->o.on_row = demo_run_row;
    r->o.row_arg = r;
    if (r->loops)
        r->o.loops = r->loops;
    if (r->d.site.hosts > 1)
        r->o.any_host = true;
    r->rc = crawl_run(&r->o, &r->st);
    crawl_demo_stop(demo);
    r->encoded = crawl_demo_encoded(demo);
    r->log = demo_log_copy(demo, &r->nlog);
    assert_non_null(r->log);
    crawl_site_expect e;
    assert_int_equal(crawl_site_expected(crawl_demo_site(demo), crawl_demo_origin(demo), &e), 0);
    crawl_buf rep = { 0 };
    r->diffs = crawl_check(&e, &r->found, r->o.concurrency == 1, &rep);
    if (r->diffs && !r->o.max_pages)
        fprintf(stderr, "%u loops:\n%s", r->loops ? r->loops : 1, rep.data ? rep.data : "");
    crawl_buf_free(&rep);
    crawl_site_expect_free(&e);
    crawl_demo_free(demo);
    return 0;
}

/* A site of pages pages with links links each from seed, crawled by 8
 * tasks with no delay on loops loops (0: one, by tulip_run). */
static inline void demo_run_init(demo_run *r, unsigned loops, unsigned pages, unsigned links, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->loops = loops;
    pthread_mutex_init(&r->mu, NULL);
    r->d.site = (crawl_site_config){ .pages = pages, .links_per_page = links, .seed = seed };
    crawl_opts_init(&r->o);
    r->o.delay_ns = 0;
    r->o.concurrency = 8;
}

static inline void demo_run_go(demo_run *r)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    if (r->loops)
        cfg.workers = (int)r->loops;
    assert_int_equal(r->loops ? tulip_run_ex(demo_run_main, r, &cfg) : tulip_run(demo_run_main, r), 0);
    assert_int_equal(r->rc, 0);
}

static inline void demo_run_free(demo_run *r)
{
    demo_log_free(r->log, r->nlog);
    crawl_found_free(&r->found);
    pthread_mutex_destroy(&r->mu);
}

/* Hosts 0 .. hosts-1 each saw at least min_n requests, none less than
 * bound_ns after the one before (the smallest gap printed if it was). */
static inline void demo_run_assert_gaps(const demo_run *r, unsigned hosts, size_t min_n, int64_t bound_ns)
{
    for (unsigned k = 0; k < hosts; k++) {
        size_t n;
        int64_t gap = demo_log_min_gap(r->log, r->nlog, k, &n);
        /* printed always: the figure the issue asks for, read off the log */
        fprintf(stderr, "%u loops, host %u: %zu requests, %.3f ms apart at the least (bound %.3f)\n",
                r->loops ? r->loops : 1, k, n, (double)gap / 1e6, (double)bound_ns / 1e6);
        assert_true(n >= min_n);
        assert_true(gap >= bound_ns);
    }
}

/* --delay on a 12-page site over hosts hosts, on loops loops: the model's
 * URL set, and each host's requests at least bound_ns apart (3 or more
 * requests per host). */
static inline void demo_run_delays(unsigned loops, unsigned hosts, int64_t delay_ns, int64_t bound_ns)
{
    demo_run r;
    demo_run_init(&r, loops, 12, 2, 3);
    r.d.site.hosts = hosts;
    r.o.delay_ns = delay_ns;
    demo_run_go(&r);
    assert_int_equal(r.diffs, 0);
    demo_run_assert_gaps(&r, hosts, 3, bound_ns);
    demo_run_free(&r);
}

#endif
