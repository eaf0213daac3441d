/* Politeness, retries, sitemaps and the demo's switches, proven on the demo
 * server's own request log (when each request arrived, on which host):
 * the gaps between request starts to one host are a property of the
 * crawler's scheduling, not a timing measurement, so they are asserted
 * exactly (>= the delay), however loaded the machine.  Server and crawler
 * share one loop, and every time that matters is that loop's clock, read
 * once per iteration (tulip_now), in causal order: the server stamps
 * request 1 on handling it; the crawler reads the answer in a later
 * iteration (its wake-up needs a poll after the server wrote), and the
 * interval runs from that iteration's time; it sends request 2 from an
 * iteration at least the interval later; the server stamps request 2 in
 * a later iteration still.  Lateness anywhere only widens the gap. */
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

#include "demo_log.h"
#include "sitemap.h"

#define MS 1000000ll

static void test_delay_four_hosts(void **state)
{
    (void)state;
    demo_run_delays(0, 4, 50 * MS, 50 * MS);
}

static void test_crawl_delay(void **state)
{
    (void)state;
    demo_run r;
    demo_run_init(&r, 0, 4, 1, 3);
    r.d.site.crawl_delay_ms = 200;
    r.o.max_pages = 4;
    demo_run_go(&r);
    demo_run_assert_gaps(&r, 1, 4, 200 * MS); /* robots.txt and three or four pages */
    demo_run_free(&r);
}

static void test_crawl_delay_capped(void **state)
{
    (void)state;
    demo_run r;
    demo_run_init(&r, 0, 3, 1, 3);
    r.d.site.crawl_delay_ms = 5000;
    r.o.max_crawl_delay_ns = 100 * MS;
    r.o.max_pages = 3;
    demo_run_go(&r);
    demo_run_assert_gaps(&r, 1, 3, 100 * MS);
    assert_int_equal(r.st.capped_hosts, 1);
    demo_run_free(&r);
}

static void test_retry_after(void **state)
{
    (void)state;
    for (unsigned retries = 0; retries < 3; retries += 2) {
        demo_run r;
        demo_run_init(&r, 0, 3, 2, 3);
        r.d.site.every_429 = 2; /* page 1 answers 429 the first time */
        r.d.site.retry_after_s = 2;
        r.o.retries = retries;
        r.o.max_pages = 3;
        /* one request at a time: a request already sent when the 429
         * arrives is not one the crawler could hold back */
        r.o.per_host = 1;
        demo_run_go(&r);
        unsigned n429 = 0, most_asked = 0;
        for (size_t i = 0; i < r.nlog; i++) {
            unsigned asked = 0;
            for (size_t j = 0; j < r.nlog; j++)
                asked += strcmp(r.log[i].target, r.log[j].target) == 0;
            assert_true(asked <= retries + 1);
            if (asked > most_asked)
                most_asked = asked;
            if (r.log[i].status != 429)
                continue;
            n429++;
            /* nothing to that host for the 2 s it asked for */
            for (size_t j = i + 1; j < r.nlog; j++)
                assert_true(r.log[j].t_ns >= r.log[i].t_ns + 2000 * MS);
            if (i + 1 < r.nlog)
                fprintf(stderr, "retries %u: next request %.3f ms after the 429 (Retry-After: 2)\n", retries,
                        (double)(r.log[i + 1].t_ns - r.log[i].t_ns) / 1e6);
        }
        fprintf(stderr, "retries %u: %zu requests, at most %u for one URL\n", retries, r.nlog, most_asked);
        assert_int_equal(n429, 1);
        if (retries) {
            assert_int_equal(r.retry_rows, 1);
            assert_int_equal(r.max_attempts, 2);
        } else {
            assert_int_equal(r.st.status[4], 1);
        }
        demo_run_free(&r);
    }
}

/* Every switch: the crawl finds exactly what the model predicts. */
static void test_switches(void **state)
{
    (void)state;
    static const char *const codings[] = { "gzip", "br", "zstd" };
    for (int sw = 0; sw < 8; sw++) {
        demo_run r;
        demo_run_init(&r, 0, 40, 4, 3);
        switch (sw) {
        case 0: break;
        case 1: r.d.site.hosts = 3; break;
        case 2: r.d.chunked = true; break;
        case 3: case 4: case 5: r.d.encoding = codings[sw - 3]; break;
        case 6: r.d.site.orphans = 9; r.d.site.hosts = 2; break;
        case 7: r.d.site.crawl_delay_ms = 1; r.d.site.every_429 = 39; r.d.site.retry_after_s = 1; r.o.retries = 1;
                r.o.concurrency = 1; break;
        }
        demo_run_go(&r);
        fprintf(stderr, "switch %d: %zu rows, %ld differences from the model\n", sw, r.rows, r.diffs);
        assert_int_equal(r.diffs, 0);
        if (sw == 6) {
            unsigned orphans = 0;
            for (size_t i = 0; i < r.found.n; i++)
                orphans += strstr(r.found.v[i].url, "/orphan/") != NULL && r.found.v[i].outcome == 200;
            assert_int_equal(orphans, 9);
        }
        if (sw >= 3 && sw <= 5) /* the client asked for it, and undid it */
            assert_true(r.encoded > 10);
        demo_run_free(&r);
    }
}

/* A compressed body is held to max_body after decoding, in every coding:
 * 64 KiB pages that compress to a few hundred bytes, and a 16 KiB cap. */
static void test_coding_cap(void **state)
{
    (void)state;
    static const char *const codings[] = { "gzip", "br", "zstd" };
    for (int i = 0; i < 3; i++) {
        demo_run r;
        demo_run_init(&r, 0, 3, 1, 3);
        r.d.site.page_bytes = 64 << 10;
        r.d.encoding = codings[i];
        r.o.max_body = 16 << 10;
        r.o.max_pages = 2;
        demo_run_go(&r);
        assert_true(r.encoded >= 1);
        bool too_large = false;
        for (size_t k = 0; k < r.st.nkinds; k++)
            too_large |= strcmp(r.st.kinds[k].kind, "body-too-large") == 0;
        assert_true(too_large);
        demo_run_free(&r);
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
