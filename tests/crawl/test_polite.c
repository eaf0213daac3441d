/* Politeness, retries, sitemaps and the demo's switches, proven on the demo
 * server's own request log (when each request arrived, on which host):
 * the gaps between request starts to one host are a property of the
 * crawler's scheduling, not a timing measurement, so they are asserted
 * exactly (>= the delay, less the log clock's 1 ms slack). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crawler.h"
#include "demo.h"
#include "demo_log.h"
#include "sitemap.h"

#define MS 1000000ll

typedef struct run {
    crawl_demo_opts d;
    crawl_opts o;
    crawl_stats st;
    crawl_found_set found;
    unsigned retry_rows;
    unsigned max_attempts;
    int rc;
    long diffs;              /* against the model; -1 if not checked */
    bool check;
    uint64_t encoded;        /* responses the server compressed */
    crawl_demo_hit *log;     /* copied out */
    size_t nlog;
} run;

static void on_row(void *arg, const crawl_row *row)
{
    run *r = arg;
    if (row->retry)
        r->retry_rows++;
    if (row->attempts > r->max_attempts)
        r->max_attempts = row->attempts;
    assert_int_equal(crawl_found_add(&r->found, row), 0);
}

static int run_main(void *arg)
{
    run *r = arg;
    crawl_demo *demo = crawl_demo_new(&r->d);
    assert_non_null(demo);
    assert_int_equal(crawl_demo_start(demo), 0);
    char url[96];
    snprintf(url, sizeof url, "%s/", crawl_demo_origin(demo));
    r->o.url = url;
    r->o.on_row = on_row;
    r->o.row_arg = r;
    if (r->d.site.hosts > 1)
        r->o.any_host = true;
    r->rc = crawl_run(&r->o, &r->st);
    crawl_demo_stop(demo);
    r->encoded = crawl_demo_encoded(demo);
    r->log = demo_log_copy(demo, &r->nlog);
    assert_non_null(r->log);
    r->diffs = -1;
    if (r->check) {
        crawl_site_expect e;
        assert_int_equal(crawl_site_expected(crawl_demo_site(demo), crawl_demo_origin(demo), &e), 0);
        crawl_buf rep = { 0 };
        r->diffs = crawl_check(&e, &r->found, r->o.concurrency == 1, &rep);
        if (r->diffs)
            fprintf(stderr, "%s", rep.data ? rep.data : "");
        crawl_buf_free(&rep);
        crawl_site_expect_free(&e);
    }
    crawl_demo_free(demo);
    return 0;
}

static void run_init(run *r, unsigned pages, unsigned links)
{
    memset(r, 0, sizeof *r);
    r->d.site = (crawl_site_config){ .pages = pages, .links_per_page = links, .seed = 3 };
    crawl_opts_init(&r->o);
    r->o.delay_ns = 0;
    r->o.concurrency = 8;
}

static void run_go(run *r)
{
    assert_int_equal(test_run(run_main, r), 0);
    assert_int_equal(r->rc, 0);
}

static void run_free(run *r)
{
    demo_log_free(r->log, r->nlog);
    crawl_found_free(&r->found);
}

static int64_t min_gap(const run *r, unsigned k, size_t *n) { return demo_log_min_gap(r->log, r->nlog, k, n); }

static void test_delay_four_hosts(void **state)
{
    (void)state;
    run r;
    run_init(&r, 12, 2);
    r.d.site.hosts = 4;
    r.o.delay_ns = 50 * MS;
    r.check = true;
    run_go(&r);
    assert_int_equal(r.diffs, 0);
    for (unsigned k = 0; k < 4; k++) {
        size_t n;
        int64_t gap = min_gap(&r, k, &n);
        assert_true(n >= 3);
        assert_true(gap >= 49 * MS);
    }
    run_free(&r);
}

static void test_crawl_delay(void **state)
{
    (void)state;
    run r;
    run_init(&r, 4, 1);
    r.d.site.crawl_delay_ms = 200;
    r.o.max_pages = 4;
    run_go(&r);
    size_t n;
    int64_t gap = min_gap(&r, 0, &n);
    assert_true(n >= 4); /* robots.txt and three or four pages */
    assert_true(gap >= 199 * MS);
    run_free(&r);
}

static void test_crawl_delay_capped(void **state)
{
    (void)state;
    run r;
    run_init(&r, 3, 1);
    r.d.site.crawl_delay_ms = 5000;
    r.o.max_crawl_delay_ns = 100 * MS;
    r.o.max_pages = 3;
    run_go(&r);
    size_t n;
    int64_t gap = min_gap(&r, 0, &n);
    assert_true(n >= 3);
    assert_true(gap >= 99 * MS);
    assert_int_equal(r.st.capped_hosts, 1);
    run_free(&r);
}

static void test_retry_after(void **state)
{
    (void)state;
    for (unsigned retries = 0; retries < 3; retries += 2) {
        run r;
        run_init(&r, 3, 2);
        r.d.site.every_429 = 2; /* page 1 answers 429 the first time */
        r.d.site.retry_after_s = 2;
        r.o.retries = retries;
        r.o.max_pages = 3;
        /* one request at a time: a request already sent when the 429
         * arrives is not one the crawler could hold back */
        r.o.per_host = 1;
        run_go(&r);
        unsigned n429 = 0;
        for (size_t i = 0; i < r.nlog; i++) {
            unsigned asked = 0;
            for (size_t j = 0; j < r.nlog; j++)
                asked += strcmp(r.log[i].target, r.log[j].target) == 0;
            assert_true(asked <= retries + 1);
            if (r.log[i].status != 429)
                continue;
            n429++;
            /* nothing to that host for the 2 s it asked for */
            for (size_t j = i + 1; j < r.nlog; j++)
                assert_true(r.log[j].t_ns >= r.log[i].t_ns + 2000 * MS - MS);
        }
        assert_int_equal(n429, 1);
        if (retries) {
            assert_int_equal(r.retry_rows, 1);
            assert_int_equal(r.max_attempts, 2);
        } else {
            assert_int_equal(r.st.status[4], 1);
        }
        run_free(&r);
    }
}

/* Every switch: the crawl finds exactly what the model predicts. */
static void test_switches(void **state)
{
    (void)state;
    static const char *const codings[] = { "gzip", "br", "zstd" };
    for (int sw = 0; sw < 8; sw++) {
        run r;
        run_init(&r, 40, 4);
        r.check = true;
        switch (sw) {
        case 0: break;
        case 1: r.d.site.hosts = 3; break;
        case 2: r.d.chunked = true; break;
        case 3: case 4: case 5: r.d.encoding = codings[sw - 3]; break;
        case 6: r.d.site.orphans = 9; r.d.site.hosts = 2; break;
        case 7: r.d.site.crawl_delay_ms = 1; r.d.site.every_429 = 39; r.d.site.retry_after_s = 1; r.o.retries = 1;
                r.o.concurrency = 1; break;
        }
        run_go(&r);
        assert_int_equal(r.diffs, 0);
        if (sw == 6) {
            unsigned orphans = 0;
            for (size_t i = 0; i < r.found.n; i++)
                orphans += strstr(r.found.v[i].url, "/orphan/") != NULL && r.found.v[i].outcome == 200;
            assert_int_equal(orphans, 9);
        }
        if (sw >= 3 && sw <= 5) /* the client asked for it, and undid it */
            assert_true(r.encoded > 10);
        run_free(&r);
    }
}

/* A compressed body is held to max_body after decoding, in every coding:
 * 64 KiB pages that compress to a few hundred bytes, and a 16 KiB cap. */
static void test_coding_cap(void **state)
{
    (void)state;
    static const char *const codings[] = { "gzip", "br", "zstd" };
    for (int i = 0; i < 3; i++) {
        run r;
        run_init(&r, 3, 1);
        r.d.site.page_bytes = 64 << 10;
        r.d.encoding = codings[i];
        r.o.max_body = 16 << 10;
        r.o.max_pages = 2;
        run_go(&r);
        assert_true(r.encoded >= 1);
        bool too_large = false;
        for (size_t k = 0; k < r.st.nkinds; k++)
            too_large |= strcmp(r.st.kinds[k].kind, "body-too-large") == 0;
        assert_true(too_large);
        run_free(&r);
    }
}

static void test_sitemap_parse(void **state)
{
    (void)state;
    crawl_sitemap sm;
    static const char urlset[] =
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
        "<url><loc> http://a/x?a=1&amp;b=2 </loc><lastmod>2020-01-01</lastmod></url>"
        "<url><loc>http://a/y</loc></url></urlset>";
    assert_int_equal(crawl_sitemap_parse(urlset, sizeof urlset - 1, &sm), 0);
    assert_false(sm.index);
    assert_int_equal(sm.n, 2);
    assert_string_equal(sm.locs[0], "http://a/x?a=1&b=2");
    crawl_sitemap_free(&sm);
    static const char index[] = "<sitemapindex><sitemap><loc>http://a/s.xml.gz</loc></sitemap></sitemapindex>";
    assert_int_equal(crawl_sitemap_parse(index, sizeof index - 1, &sm), 0);
    assert_true(sm.index);
    assert_int_equal(sm.n, 1);
    crawl_sitemap_free(&sm);
    /* billion laughs: refused at the first declaration, nothing expanded */
    static const char lol[] =
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">]>"
        "<urlset><url><loc>&lol2;</loc></url></urlset>";
    assert_int_equal(crawl_sitemap_parse(lol, sizeof lol - 1, &sm), -EBADMSG);
    assert_int_equal(sm.n, 0);
    static const char undeclared[] = "<urlset><url><loc>&x;</loc></url></urlset>";
    assert_int_equal(crawl_sitemap_parse(undeclared, sizeof undeclared - 1, &sm), -EBADMSG);
    static const char html[] = "<html><body>no</body></html>";
    assert_int_equal(crawl_sitemap_parse(html, sizeof html - 1, &sm), -EBADMSG);
    static const char broken[] = "<urlset><url><loc>http://a/</url>";
    assert_int_equal(crawl_sitemap_parse(broken, sizeof broken - 1, &sm), -EBADMSG);
    static const char gzbad[] = "\x1f\x8b\x08\x00garbage";
    assert_int_equal(crawl_sitemap_parse(gzbad, sizeof gzbad - 1, &sm), -EBADMSG);
}

#ifdef TULIP_HAVE_ZLIB
#include <zlib.h>
/* A gzip bomb: 60 MB of spaces inside a urlset, about 60 KB compressed.
 * The parse stops at 50 MB of XML, inflating 64 KiB at a time. */
static void test_sitemap_gzip_bomb(void **state)
{
    (void)state;
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = 1 << 20, len = 0;
    unsigned char *out = malloc(cap);
    static unsigned char chunk[1 << 16];
    memset(chunk, ' ', sizeof chunk);
    static const char head[] = "<urlset><url><loc>http://a/</loc></url>";
    z.next_in = (unsigned char *)(uintptr_t)head;
    z.avail_in = sizeof head - 1;
    for (size_t total = 0; total < (size_t)60 << 20; total += sizeof chunk) {
        while (z.avail_in) {
            z.next_out = out + len;
            z.avail_out = (uInt)(cap - len);
            assert_int_equal(deflate(&z, Z_NO_FLUSH), Z_OK);
            len = cap - z.avail_out;
        }
        z.next_in = chunk;
        z.avail_in = sizeof chunk;
    }
    int zr;
    do {
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        zr = deflate(&z, Z_FINISH);
        len = cap - z.avail_out;
    } while (zr == Z_OK);
    assert_int_equal(zr, Z_STREAM_END);
    deflateEnd(&z);
    assert_true(len < cap);
    crawl_sitemap sm;
    assert_int_equal(crawl_sitemap_parse((char *)out, len, &sm), -EFBIG);
    free(out);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_four_hosts),
        cmocka_unit_test(test_crawl_delay),
        cmocka_unit_test(test_crawl_delay_capped),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_switches),
        cmocka_unit_test(test_coding_cap),
        cmocka_unit_test(test_sitemap_parse),
#ifdef TULIP_HAVE_ZLIB
        cmocka_unit_test(test_sitemap_gzip_bomb),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
