/* The per-host frontier: hosts ready by time, politeness intervals, BFS
 * and DFS order, retries going first, Crawl-delay capping; and the seen
 * set's fingerprints and depths; and Retry-After parsing. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontier.h"
#include "retry.h"
#include "seen.h"

#define MS 1000000ll

static crawl_frontier *make(bool dfs, int64_t delay, unsigned per_host)
{
    crawl_frontier_opts o = { .dfs = dfs, .delay_ns = delay, .per_host = per_host,
                              .max_crawl_delay_ns = 1000 * MS, .max_delay_ns = 100 * MS };
    crawl_frontier *f = crawl_frontier_new(&o);
    assert_non_null(f);
    return f;
}

static void push(crawl_frontier *f, crawl_host *h, const char *url, int depth)
{
    crawl_item it = { .url = strdup(url), .depth = depth };
    assert_int_equal(crawl_frontier_push(f, h, &it, false), 0);
}

static char *pop_url(crawl_frontier *f, int64_t now, crawl_host **h, int64_t *wake)
{
    crawl_item it;
    if (crawl_frontier_pop(f, now, &it, h, wake) != 1)
        return NULL;
    free(it.parent);
    return it.url;
}

static void test_order(void **state)
{
    (void)state;
    for (int dfs = 0; dfs < 2; dfs++) {
        crawl_frontier *f = make(dfs, 0, 1);
        crawl_host *h = crawl_frontier_host(f, "http://a", 8), *got;
        assert_ptr_equal(crawl_frontier_host(f, "http://a", 8), h);
        push(f, h, "1", 0);
        push(f, h, "2", 0);
        push(f, h, "3", 0);
        int64_t wake;
        char *u = pop_url(f, 0, &got, &wake);
        assert_string_equal(u, dfs ? "3" : "1");
        /* per_host 1: the host takes no second URL until the first is done */
        assert_null(pop_url(f, 0, &got, &wake));
        assert_true(wake == INT64_MAX);
        /* a URL given back goes first */
        crawl_item back = { .url = u };
        assert_int_equal(crawl_frontier_push(f, h, &back, true), 0);
        crawl_frontier_done(f, h, 0, -1);
        u = pop_url(f, 0, &got, &wake);
        assert_string_equal(u, dfs ? "3" : "1");
        free(u);
        crawl_frontier_done(f, h, 0, -1);
        u = pop_url(f, 0, &got, &wake);
        assert_string_equal(u, "2");
        free(u);
        crawl_frontier_done(f, h, 0, -1);
        assert_int_equal(crawl_frontier_queued(f), 1);
        crawl_frontier_free(f); /* frees the queued one */
    }
}

static void test_delay_and_hosts(void **state)
{
    (void)state;
    crawl_frontier *f = make(false, 50 * MS, 8);
    crawl_host *a = crawl_frontier_host(f, "http://a", 8);
    crawl_host *b = crawl_frontier_host(f, "http://b", 8), *h;
    for (int i = 0; i < 3; i++) {
        push(f, a, "a", 1);
        push(f, b, "b", 1);
    }
    int64_t wake, now = 1000 * MS;
    /* both hosts are ready at once; each gives one URL, then waits */
    char *u1 = pop_url(f, now, &h, &wake);
    crawl_frontier_started(f, h, now);
    crawl_host *first = h;
    char *u2 = pop_url(f, now, &h, &wake);
    crawl_frontier_started(f, h, now);
    assert_ptr_not_equal(first, h);
    assert_string_not_equal(u1, u2);
    free(u1);
    free(u2);
    assert_null(pop_url(f, now, &h, &wake));
    /* the interval runs from the end of the answer */
    crawl_frontier_done(f, a, now + 5 * MS, 5 * MS);
    crawl_frontier_done(f, b, now + 5 * MS, 5 * MS);
    assert_null(pop_url(f, now + 54 * MS, &h, &wake));
    assert_true(wake == now + 55 * MS);
    /* a slow host (backoff) does not hold up the other */
    crawl_frontier_backoff(f, a, now + 10000 * MS);
    free(pop_url(f, now + 55 * MS, &h, &wake));
    assert_ptr_equal(h, b);
    crawl_frontier_started(f, b, now + 55 * MS);
    crawl_frontier_done(f, b, now + 60 * MS, -1);
    assert_null(pop_url(f, now + 109 * MS, &h, &wake));
    free(pop_url(f, now + 110 * MS, &h, &wake));
    assert_ptr_equal(h, b);
    crawl_frontier_started(f, b, now + 110 * MS);
    crawl_frontier_done(f, b, now + 110 * MS, -1);
    assert_null(pop_url(f, now + 200 * MS, &h, &wake));
    assert_true(wake == now + 10000 * MS);
    /* a request not made after all (a reused answer) leaves no interval
     * (host a is still backing off) */
    push(f, b, "b", 1);
    push(f, b, "b", 1);
    free(pop_url(f, now + 300 * MS, &h, &wake));
    assert_ptr_equal(h, b);
    uint64_t requests = b->requests;
    crawl_frontier_started(f, b, now + 300 * MS);
    crawl_frontier_unstarted(f, b);
    crawl_frontier_done(f, b, now + 301 * MS, -1);
    assert_true(b->requests == requests);
    free(pop_url(f, now + 301 * MS, &h, &wake));
    assert_ptr_equal(h, b);
    crawl_frontier_started(f, b, now + 301 * MS);
    crawl_frontier_done(f, b, now + 302 * MS, -1);
    push(f, b, "b", 1);
    assert_null(pop_url(f, now + 351 * MS, &h, &wake));
    assert_true(wake == now + 352 * MS);
    /* Crawl-delay raises the interval, capped at max_crawl_delay */
    crawl_frontier_set_crawl_delay(f, a, 200);
    assert_true(crawl_frontier_interval(f, a) == 200 * MS);
    assert_false(a->crawl_delay_capped);
    crawl_frontier_set_crawl_delay(f, a, 5000);
    assert_true(crawl_frontier_interval(f, a) == 1000 * MS);
    assert_true(a->crawl_delay_capped);
    crawl_frontier_free(f);
}

static void test_adaptive_and_jitter(void **state)
{
    (void)state;
    crawl_frontier_opts o = { .delay_ns = 10 * MS, .per_host = 4, .adaptive = true, .max_delay_ns = 100 * MS,
                              .max_crawl_delay_ns = -1, .jitter_pct = 50, .seed = 7 };
    crawl_frontier *f = crawl_frontier_new(&o);
    crawl_host *a = crawl_frontier_host(f, "http://a", 8), *h;
    assert_true(crawl_frontier_interval(f, a) == 10 * MS);
    crawl_frontier_done(f, a, 0, 30 * MS); /* not taken: only the rtt counts */
    assert_true(crawl_frontier_interval(f, a) == 60 * MS);
    for (int i = 0; i < 20; i++)
        crawl_frontier_done(f, a, 0, 500 * MS);
    assert_true(crawl_frontier_interval(f, a) == 100 * MS); /* capped */
    /* jitter only stretches: 100..150 ms */
    int64_t now = 0, wake;
    for (int i = 0; i < 50; i++) {
        push(f, a, "x", 0);
        free(pop_url(f, now, &h, &wake));
        crawl_frontier_started(f, h, now);
        crawl_frontier_done(f, h, now, -1);
        int64_t gap = a->next_ok - now;
        assert_true(gap >= 100 * MS && gap <= 150 * MS);
        now = a->next_ok;
    }
    crawl_frontier_free(f);
    o.jitter_pct = 101;
    assert_null(crawl_frontier_new(&o));
}

static void test_seen(void **state)
{
    (void)state;
    crawl_seen s = { 0 };
    char url[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(url, sizeof url, "http://h/p%d", i);
        assert_int_equal(crawl_seen_add(&s, url, i % 7 + 3), 1);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(url, sizeof url, "http://h/p%d", i);
        assert_int_equal(crawl_seen_add(&s, url, 5), 0);
        assert_int_equal(crawl_seen_depth(&s, url), i % 7 + 3 < 5 ? i % 7 + 3 : 5);
    }
    assert_int_equal(crawl_seen_depth(&s, "http://h/none"), -1);
    assert_int_equal(s.used, 5000);
    /* 20 bytes a slot, at most 3/4 full and at least 3/8 after a doubling */
    assert_true(crawl_seen_bytes(&s) <= 5000 * 20 * 8 / 3 + 1);
    crawl_fp a = crawl_fingerprint("abc", 3), b = crawl_fingerprint("abd", 3);
    assert_true(a.a != b.a && a.b != b.b);
    crawl_seen_free(&s);
    /* the same table as a map (recrawl.c's index, the replay's done set):
     * sized once, no growth after, values kept and replaced in place */
    assert_int_equal(crawl_seen_reserve(&s, 3000), 0);
    size_t cap = s.cap;
    for (uint32_t i = 0; i < 3000; i++) {
        bool added = false;
        snprintf(url, sizeof url, "http://h/q%u", i);
        uint32_t *v = crawl_seen_put(&s, crawl_fingerprint(url, strlen(url)), i * 3, &added);
        assert_non_null(v);
        assert_true(added);
        if (i % 2)
            *v = i;
    }
    assert_int_equal(s.cap, cap);
    for (uint32_t i = 0; i < 3000; i++) {
        bool added = true;
        snprintf(url, sizeof url, "http://h/q%u", i);
        crawl_fp fp = crawl_fingerprint(url, strlen(url));
        assert_int_equal(*crawl_seen_get(&s, fp), i % 2 ? i : i * 3);
        assert_int_equal(*crawl_seen_put(&s, fp, 7, &added), i % 2 ? i : i * 3);
        assert_false(added);
    }
    assert_null(crawl_seen_get(&s, crawl_fingerprint("http://h/none", 13)));
    assert_int_equal(s.used, 3000);
    crawl_seen_free(&s);
}

static void test_retry_after(void **state)
{
    (void)state;
    const int64_t S = 1000000000;
    assert_true(crawl_retry_after_ns("2", 0) == 2 * S);
    assert_true(crawl_retry_after_ns(" 120 ", 0) == 120 * S);
    assert_true(crawl_retry_after_ns("1.5", 0) == -1);
    assert_true(crawl_retry_after_ns("", 0) == -1);
    assert_true(crawl_retry_after_ns(NULL, 0) == -1);
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777, in the three forms */
    assert_true(crawl_retry_after_ns("Sun, 06 Nov 1994 08:49:37 GMT", 784111770) == 7 * S);
    assert_true(crawl_retry_after_ns("Sunday, 06-Nov-94 08:49:37 GMT", 784111770) == 7 * S);
    assert_true(crawl_retry_after_ns("Sun Nov  6 08:49:37 1994", 784111770) == 7 * S);
    assert_true(crawl_retry_after_ns("Sun, 06 Nov 1994 08:49:37 GMT", 784111800) == 0);
    assert_true(crawl_retry_after_ns("tomorrow", 0) == -1);
    assert_true(crawl_retry_wait_ns(1, 2 * S, S) == 2 * S);
    assert_true(crawl_retry_wait_ns(1, 100000 * S, S) == CRAWL_MAX_RETRY_AFTER);
    assert_true(crawl_retry_wait_ns(3, -1, S) == 4 * S);
    assert_true(crawl_retry_wait_ns(30, -1, S) == CRAWL_MAX_BACKOFF);
    assert_true(crawl_retryable(429, 0) && crawl_retryable(503, 0) && !crawl_retryable(404, 0));
    assert_true(crawl_retryable(0, -ETIMEDOUT) && !crawl_retryable(0, -EINVAL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_delay_and_hosts),
        cmocka_unit_test(test_adaptive_and_jitter),
        cmocka_unit_test(test_seen),
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
