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

#include "test_util.h"
#include "links.h"

static const char PAGE[] = "http://ex.com/dir/page.html";

/* Extract from a C string and compare with a NULL-terminated list. */
static void expect_links(const char *html, const char *page, const char *const *want)
{
    crawl_links l;
    assert_int_equal(crawl_links_extract(html, strlen(html), page, &l), 0);
    size_t n = 0;
    while (want[n])
        n++;
    for (size_t i = 0; i < l.n && i < n; i++)
        assert_string_equal(l.urls[i], want[i]);
    if (l.n != n) {
        for (size_t i = 0; i < l.n; i++)
            print_error("got[%zu] %s\n", i, l.urls[i]);
    }
    assert_int_equal(l.n, n);
    crawl_links_free(&l);
}

static void test_basic_forms(void **state)
{
    (void)state;
    const char *html =
        "<!doctype html><html><head><title>t</title></head><body>"
        "<a href=\"rel.html\">relative</a>"
        "<a href='../up.html'>up</a>"
        "<a href=/abs.html>absolute path</a>"
        "<a href=\"http://other.org/x\">absolute</a>"
        "<a href=\"//cdn.ex.com/lib\">protocol-relative</a>"
        "<a href=\"HTTPS://EX.COM:443/Case\">case</a>"
        "<a href=\"?q=1\">query</a>"
        "<a>no href</a>"
        "</body></html>";
    const char *want[] = { "http://ex.com/dir/rel.html", "http://ex.com/up.html",
                           "http://ex.com/abs.html", "http://other.org/x",
                           "http://cdn.ex.com/lib", "https://ex.com/Case",
                           "http://ex.com/dir/page.html?q=1", NULL };
    expect_links(html, PAGE, want);
}

static void test_area_link_elements(void **state)
{
    (void)state;
    const char *html =
        "<html><head>"
        "<link rel=stylesheet href=/s.css>"
        "<link rel=preconnect href=//fonts.example>"
        "<link rel='DNS-Prefetch' href=//dns.example>"
        "<link rel=icon href=favicon.ico>"
        "</head><body>"
        "<img src=/img.png usemap=#m><map name=m>"
        "<area shape=rect coords=0,0,1,1 href=area1.html>"
        "<area nohref>"
        "</map>"
        "<img src=/not-a-link.png><script src=/not-a-link.js></script>"
        "<form action=/not-a-link></form>"
        "</body></html>";
    const char *want[] = { "http://ex.com/s.css", "http://ex.com/dir/favicon.ico",
                           "http://ex.com/dir/area1.html", NULL };
    expect_links(html, PAGE, want);
}

static void test_base_href(void **state)
{
    (void)state;
    /* links before <base> use it too: it applies to the whole document */
    const char *html = "<html><head><link href=early.css>"
                       "<base href=\"http://base.org/b/c/\">"
                       "<base href=\"http://ignored.org/\">"
                       "</head><body><a href=x>x</a><a href=../y>y</a>"
                       "<a href=/z>z</a><a href=#f>frag</a></body></html>";
    const char *want[] = { "http://base.org/b/c/early.css", "http://base.org/b/c/x",
                           "http://base.org/b/y", "http://base.org/z",
                           "http://base.org/b/c/", NULL };
    expect_links(html, PAGE, want);

    /* a relative base resolves against the page */
    const char *rel = "<base href=/other/><a href=x>x</a>";
    const char *want_rel[] = { "http://ex.com/other/x", NULL };
    expect_links(rel, PAGE, want_rel);

    /* first base *with href* wins; base without href is skipped */
    const char *nohref = "<base target=_blank><base href=/b2/><a href=x>x</a>";
    const char *want_nohref[] = { "http://ex.com/b2/x", NULL };
    expect_links(nohref, PAGE, want_nohref);

    /* unusable base ignored */
    const char *bad = "<base href='javascript:alert(1)'><a href=x>x</a>";
    const char *want_bad[] = { "http://ex.com/dir/x", NULL };
    expect_links(bad, PAGE, want_bad);
}

static void test_entities(void **state)
{
    (void)state;
    const char *html = "<a href=\"/s?a=1&amp;b=2\">1</a>"
                       "<a href=\"/s?a=1&b=3\">bare amp</a>"
                       "<a href=\"&#x2F;hex&#47;dec\">2</a>"
                       "<a href=\"/caf&eacute;\">3</a>"
                       "<a href=\"/copy&copy2\">legacy entity before alnum: literal</a>"
                       "<a href=\"/c&copy;\">named</a>";
    const char *want[] = { "http://ex.com/s?a=1&b=2", "http://ex.com/s?a=1&b=3",
                           "http://ex.com/hex/dec", "http://ex.com/caf%C3%A9",
                           "http://ex.com/copy&copy2", "http://ex.com/c%C2%A9", NULL };
    expect_links(html, PAGE, want);
}

static void test_ignored_contexts(void **state)
{
    (void)state;
    const char *html =
        "<html><head>"
        "<script>document.write('<a href=\"/trap-script\">x</a>');</script>"
        "<style>a[href=\"/trap-style\"] { color: red } </style>"
        "</head><body>"
        "<!-- <a href=\"/trap-comment\">x</a> -->"
        "<template><a href=/trap-template>x</a></template>"
        "<textarea><a href=/trap-textarea></a></textarea>"
        "<svg><a href=/trap-svg>x</a></svg>"
        "<xmp><a href=/trap-xmp></a></xmp>"
        "<a href=/real>real</a>"
        "<a href='mailto:a@b.c'>m</a><a href='javascript:void(0)'>j</a>"
        "<a href='data:text/plain,x'>d</a><a href='ftp://ex.com/'>f</a>"
        "</body></html>";
    crawl_links l;
    assert_int_equal(crawl_links_extract(html, strlen(html), PAGE, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.urls[0], "http://ex.com/real");
    assert_int_equal(l.skipped, 4);
    assert_int_equal(l.nofollow, 0);
    crawl_links_free(&l);
}

static void test_whitespace_and_fragments_dedup(void **state)
{
    (void)state;
    const char *html = "<a href='  x.html  '>1</a>"
                       "<a href='\n x.html#top\n'>2</a>"
                       "<a href='X.html'>3 (case-sensitive path)</a>"
                       "<a href='./x.html'>4</a>"
                       "<a href='http://EX.com:80/dir/x.html'>5</a>"
                       "<a href=''>self</a>"
                       "<a href='#'>self again</a>"
                       "<a href='my file.html'>space</a>";
    const char *want[] = { "http://ex.com/dir/x.html", "http://ex.com/dir/X.html",
                           "http://ex.com/dir/page.html", "http://ex.com/dir/my%20file.html",
                           NULL };
    expect_links(html, PAGE, want);
}

static void test_meta_nofollow(void **state)
{
    (void)state;
    const char *cases[] = { "<meta name=robots content='noindex, nofollow'><a href=x>",
                            "<meta name=ROBOTS content='NoFollow'><a href=x>",
                            "<meta name=robots content=none><a href=x>" };
    for (size_t i = 0; i < 3; i++) {
        crawl_links l;
        assert_int_equal(crawl_links_extract(cases[i], strlen(cases[i]), PAGE, &l), 0);
        assert_int_equal(l.nofollow, 1);
        assert_int_equal(l.n, 1); /* still reported: the caller decides */
        crawl_links_free(&l);
    }
    const char *no = "<meta name=description content=nofollow><a href=x>";
    crawl_links l;
    assert_int_equal(crawl_links_extract(no, strlen(no), PAGE, &l), 0);
    assert_int_equal(l.nofollow, 0);
    crawl_links_free(&l);
}

static void test_errors(void **state)
{
    (void)state;
    crawl_links l;
    assert_int_equal(crawl_links_extract("<a href=x>", 10, "not a url", &l), -EINVAL);
    assert_int_equal(l.n, 0);
    assert_int_equal(crawl_links_extract("<a href=x>", 10, "mailto:x@y", &l), -EINVAL);
    assert_int_equal(crawl_links_extract("<a href=x>", CRAWL_LINKS_MAX_INPUT + (size_t)1, PAGE, &l),
                     -EFBIG);
    crawl_links_free(&l); /* freeing an empty result is fine */
    assert_int_equal(crawl_links_extract(NULL, 0, PAGE, &l), 0);
    assert_int_equal(l.n, 0);
    crawl_links_free(&l);
}

static void test_binary_junk(void **state)
{
    (void)state;
    /* deterministic pseudo-random bytes, with some markup sprinkled in */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 50; round++) {
        size_t n = 4096;
        unsigned char *buf = malloc(n);
        assert_non_null(buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (unsigned char)x;
        }
        if (round % 2) {
            static const char frag[] = "<a href=\"\xff\xfe\x00/j\x80nk\">";
            memcpy(buf + 100, frag, sizeof frag - 1);
            memcpy(buf + 2000, "<base href=\xc3\x28>", 15);
        }
        crawl_links l;
        assert_int_equal(crawl_links_extract((const char *)buf, n, PAGE, &l), 0);
        for (size_t i = 0; i < l.n; i++)
            assert_true(strncmp(l.urls[i], "http", 4) == 0);
        crawl_links_free(&l);
        free(buf);
    }
    /* a NUL inside an attribute, and invalid UTF-8 in a href */
    static const char nul[] = "<a href=\"/a\0b\">x</a><a href=\"/\xe9t\xe9\">latin-1</a>";
    crawl_links l;
    assert_int_equal(crawl_links_extract(nul, sizeof nul - 1, PAGE, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.urls[0], "http://ex.com/a%EF%BF%BDb");
    assert_string_equal(l.urls[1], "http://ex.com/%EF%BF%BDt%EF%BF%BD");
    crawl_links_free(&l);
}

static void test_many_links_and_deep_nesting(void **state)
{
    (void)state;
    /* 5000 links, every one twice: dedup keeps first occurrence order */
    size_t cap = 5000 * 2 * 32 + 1;
    char *html = malloc(cap);
    assert_non_null(html);
    size_t len = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < 5000; i++)
            len += (size_t)snprintf(html + len, cap - len, "<a href=/p%d>x</a>", i);
    crawl_links l;
    assert_int_equal(crawl_links_extract(html, len, PAGE, &l), 0);
    assert_int_equal(l.n, 5000);
    assert_string_equal(l.urls[0], "http://ex.com/p0");
    assert_string_equal(l.urls[4999], "http://ex.com/p4999");
    crawl_links_free(&l);
    free(html);

    /* 3000 levels of nesting, link at the bottom */
    size_t depth = 3000;
    html = malloc(depth * 5 + 64);
    assert_non_null(html);
    len = 0;
    for (size_t i = 0; i < depth; i++) {
        memcpy(html + len, "<div>", 5);
        len += 5;
    }
    len += (size_t)sprintf(html + len, "<a href=/deep>x</a>");
    assert_int_equal(crawl_links_extract(html, len, PAGE, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.urls[0], "http://ex.com/deep");
    crawl_links_free(&l);
    free(html);
}

/* 20,000 nested elements (the crawler's tag cap) parsed and freed on a
 * 32 KiB coroutine stack: neither the walk nor the teardown may recurse. */
static char *deep_html;
static size_t deep_len;

static int deep_task(void *arg)
{
    (void)arg;
    crawl_links l;
    int rc = crawl_links_extract(deep_html, deep_len, PAGE, &l);
    if (rc == 0 && (l.n != 1 || strcmp(l.urls[0], "http://ex.com/deep") != 0))
        rc = -EBADMSG;
    crawl_links_free(&l);
    return rc;
}

static void test_deep_nesting_small_stack(void **state)
{
    (void)state;
    size_t depth = test_scale(20000) < 2000 ? 2000 : test_scale(20000);
    deep_html = malloc(depth * 5 + 64);
    assert_non_null(deep_html);
    deep_len = 0;
    for (size_t i = 0; i < depth; i++) {
        memcpy(deep_html + deep_len, "<div>", 5);
        deep_len += 5;
    }
    deep_len += (size_t)sprintf(deep_html + deep_len, "<a href=/deep>x</a>");
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.stack_size = 32 * 1024;
    assert_int_equal(tulip_run_ex(deep_task, NULL, &cfg), 0);
    free(deep_html);
}

static void test_cut(void **state)
{
    (void)state;
    static const char html[] = "<p>a < b <b>x</b><i>y</i><!-- c --><a href=/z>";
    size_t tags;
    size_t n = crawl_links_cut(html, sizeof html - 1, 100, &tags);
    assert_int_equal(n, sizeof html - 1);
    assert_int_equal(tags, 4); /* p, b, i, a: not "< b", "</b>" or "<!--" */
    n = crawl_links_cut(html, sizeof html - 1, 2, &tags);
    assert_int_equal(tags, 2);
    assert_int_equal(n, (size_t)(strstr(html, "<i>") - html));
    assert_int_equal(crawl_links_cut(html, sizeof html - 1, 0, NULL), 0);
    assert_int_equal(crawl_links_cut("<", 1, 0, &tags), 1);
    assert_int_equal(tags, 0);
}

static void test_rejected_listed(void **state)
{
    (void)state;
    static const char html[] = "<a href='mailto:a@b'>m</a><a href='javascript:x()'>j</a>"
                               "<a href='mailto:a@b'>dup</a><a href='htp://x/'>typo</a><a href=/ok>ok</a>";
    crawl_links l;
    assert_int_equal(crawl_links_extract(html, sizeof html - 1, PAGE, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.skipped, 4);
    assert_int_equal(l.nrejected, 3);
    assert_string_equal(l.rejected[0], "mailto:a@b");
    assert_int_equal(l.rejected_err[0], -EPROTONOSUPPORT);
    assert_string_equal(l.rejected[1], "javascript:x()");
    assert_string_equal(l.rejected[2], "htp://x/");
    crawl_links_free(&l);
    assert_null(l.rejected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_forms),
        cmocka_unit_test(test_area_link_elements),
        cmocka_unit_test(test_base_href),
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_ignored_contexts),
        cmocka_unit_test(test_whitespace_and_fragments_dedup),
        cmocka_unit_test(test_meta_nofollow),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_binary_junk),
        cmocka_unit_test(test_many_links_and_deep_nesting),
        cmocka_unit_test(test_deep_nesting_small_stack),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_rejected_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
