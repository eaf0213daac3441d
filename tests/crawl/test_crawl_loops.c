/* The crawler on several loops (crawl_opts.loops, tulip-crawl --workers):
 * the demo site's exact URL set for 1 to 4 loops, each row once (junk
 * links too), --max-pages across loops, and the per-host rules across
 * loops proven on the demo server's request log (the gaps between request
 * starts to one host are scheduling, not timing). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo_log.h"

#define MS 1000000ll

static void on_tick(void *arg, const crawl_stats *st)
{
    (void)arg;
    (void)st;
    assert_int_equal(tulip_loop_index(), 0); /* loop 0 only */
}

/* The same URL set as the model, each fetched once, for any number of
 * loops; one host or several, with a robots.txt that refuses some. */
static void test_exact_sets(void **state)
{
    (void)state;
    static const struct { unsigned pages, links, hosts; uint64_t seed; unsigned conc; } cases[] = {
        { 1, 0, 1, 5, 4 }, { 7, 2, 1, 1, 4 }, { 120, 8, 1, 9, 16 }, { 60, 4, 3, 2, 8 }, { 40, 3, 1, 3, 3 },
    };
    for (unsigned loops = 1; loops <= 4; loops++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            if (cases[i].conc < loops)
                continue;
            demo_run r;
            demo_run_init(&r, loops, cases[i].pages, cases[i].links, cases[i].seed);
            r.d.site.hosts = cases[i].hosts;
            r.o.concurrency = cases[i].conc;
            r.o.on_tick = on_tick;
            r.o.tick_ns = MS;
            demo_run_go(&r);
            assert_int_equal(r.diffs, 0);
            size_t fetched = 0;
            for (size_t k = 0; k < r.nlog; k++)
                fetched += strcmp(r.log[k].target, "/robots.txt") != 0;
            /* every request the server saw is one row, and no URL twice */
            assert_int_equal(r.st.fetched, fetched);
            assert_int_equal(r.st.errors, 0);
            assert_int_equal(r.st.bad_links, 2); /* the decoys, once across loops */
            assert_int_equal(r.st.hosts, cases[i].hosts);
            size_t robots = 0;
            for (size_t k = 0; k < r.nlog; k++)
                robots += strcmp(r.log[k].target, "/robots.txt") == 0;
            assert_int_equal(robots, cases[i].hosts); /* once per host, not per loop */
            demo_run_free(&r);
        }
}

/* 429s answered with a retry, on every loop count. */
static void test_retries(void **state)
{
    (void)state;
    for (unsigned loops = 2; loops <= 3; loops++) {
        demo_run r;
        demo_run_init(&r, loops, 30, 3, 4);
        r.d.site.every_429 = 7;
        r.o.retries = 2;
        r.o.backoff_ns = MS;
        demo_run_go(&r);
        assert_int_equal(r.diffs, 0);
        assert_true(r.retry_rows > 0);
        demo_run_free(&r);
    }
}

static void test_max_pages(void **state)
{
    (void)state;
    for (unsigned loops = 2; loops <= 3; loops++) {
        demo_run r;
        demo_run_init(&r, loops, 60, 4, 3);
        r.o.max_pages = 17;
        demo_run_go(&r);
        assert_int_equal(r.st.fetched + r.st.robots, 17);
        assert_true(r.st.over_limit > 0);
        demo_run_free(&r);
    }
}

/* --delay: each host's requests at least the delay apart, though its URLs
 * are owned by every loop, and exactly, as on one loop (test_polite): the
 * crawler ends a host's interval on the clock itself when the answer is
 * read (tulip_update_time, not the iteration's cached time, which is older
 * when the answer came within the crawler's step from the server on the
 * other core), and the server stamps each request when it reads it; one
 * monotonic clock serves both threads.  Without the delay across loops the
 * gaps are near 0. */
static void test_delay_across_loops(void **state)
{
    (void)state;
    for (unsigned loops = 2; loops <= 3; loops++)
        demo_run_delays(loops, 3, 30 * MS, 30 * MS);
}

/* A robots.txt Crawl-delay on a host the loops share (no --delay): once
 * it is known, the host's URLs go to one loop and keep the interval. */
static void test_crawl_delay_across_loops(void **state)
{
    (void)state;
    demo_run r;
    demo_run_init(&r, 2, 6, 2, 3);
    r.d.site.crawl_delay_ms = 60;
    demo_run_go(&r);
    assert_int_equal(r.diffs, 0);
    demo_run_assert_gaps(&r, 1, 4, 60 * MS);
    demo_run_free(&r);
}

/* The most requests to host k in flight at once, as the server saw them:
 * each is in flight from its arrival for at least the latency L, so the
 * requests arriving within L - slack of one another all overlapped (a
 * lower bound of the true peak: never above it). */
static size_t peak_in_flight(const demo_run *r, unsigned k, int64_t window)
{
    size_t peak = 0;
    for (size_t i = 0; i < r->nlog; i++) {
        if (r->log[i].host != k)
            continue;
        size_t n = 0;
        for (size_t j = 0; j < r->nlog; j++)
            n += r->log[j].host == k && r->log[j].t_ns >= r->log[i].t_ns && r->log[j].t_ns < r->log[i].t_ns + window;
        if (n > peak)
            peak = n;
    }
    return peak;
}

/* --per-host holds across loops: a host spread over the loops has its
 * connections shared out (3 over 2 or 3 loops), and with fewer than
 * loops (2 over 3) the host is fetched by its home loop alone. */
static void test_per_host_across_loops(void **state)
{
    (void)state;
    static const struct { unsigned loops, per_host; } cases[] = { { 2, 3 }, { 3, 3 }, { 3, 2 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        demo_run r;
        demo_run_init(&r, cases[i].loops, 30, 3, 5);
        r.d.latency_ns = 20 * MS;
        r.o.per_host = cases[i].per_host;
        r.o.ignore_robots = true;
        demo_run_go(&r);
        size_t peak = peak_in_flight(&r, 0, 18 * MS);
        if (peak > cases[i].per_host)
            fprintf(stderr, "%u loops, per-host %u: %zu at once\n", cases[i].loops, cases[i].per_host, peak);
        assert_true(peak <= cases[i].per_host);
        demo_run_free(&r);
    }
}

static int bad_main(void *arg)
{
    (void)arg;
    crawl_opts o;
    crawl_opts_init(&o);
    crawl_stats st;
    o.url = "http://127.0.0.1:1/";
    o.loops = 3; /* the run has 2 */
    assert_int_equal(crawl_run(&o, &st), -EINVAL);
    o.loops = 2;
    o.concurrency = 1;
    assert_int_equal(crawl_run(&o, &st), -EINVAL);
    o.concurrency = 4;
    o.state = (struct crawl_state *)&o; /* never used: refused first */
    assert_int_equal(crawl_run(&o, &st), -EINVAL);
    o.state = NULL;
    /* nobody listening: one robots.txt error row, from the host's home */
    assert_int_equal(crawl_run(&o, &st), 0);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.fetched, 1);
    return 0;
}

static void test_bad_options(void **state)
{
    (void)state;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = 2;
    assert_int_equal(tulip_run_ex(bad_main, NULL, &cfg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_sets),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_max_pages),
        cmocka_unit_test(test_delay_across_loops),
        cmocka_unit_test(test_crawl_delay_across_loops),
        cmocka_unit_test(test_per_host_across_loops),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
