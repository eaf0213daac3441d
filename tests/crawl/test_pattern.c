#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "pattern.h"

static void test_empty_accepts_all(void **state)
{
    (void)state;
    crawl_patterns *p = crawl_patterns_new();
    assert_non_null(p);
    assert_int_equal(crawl_patterns_accept(p, "http://ex.com/"), 1);
    assert_int_equal(crawl_patterns_accept(p, ""), 1);
    assert_int_equal(crawl_patterns_accept(p, NULL), -EINVAL);
    assert_int_equal(crawl_patterns_count(p, CRAWL_PATTERN_INCLUDE), 0);
    crawl_patterns_free(p);
    crawl_patterns_free(NULL);
}

static void test_include_exclude(void **state)
{
    (void)state;
    crawl_patterns *p = crawl_patterns_new();
    assert_non_null(p);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_INCLUDE, "^https?://ex\\.com/docs/", NULL, 0), 0);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_INCLUDE, "\\.(txt|md)$", NULL, 0), 0);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_EXCLUDE, "[?&]session=", NULL, 0), 0);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_EXCLUDE, "/private/", NULL, 0), 0);
    assert_int_equal(crawl_patterns_count(p, CRAWL_PATTERN_INCLUDE), 2);
    assert_int_equal(crawl_patterns_count(p, CRAWL_PATTERN_EXCLUDE), 2);

    struct { const char *url; int want; } cases[] = {
        { "http://ex.com/docs/a.html", 1 },
        { "https://ex.com/docs/", 1 },
        { "http://ex.com/docsx/a.html", 0 },     /* include is anchored by the user */
        { "http://evil.org/?u=http://ex.com/docs/", 0 },
        { "http://ex.com/other/readme.md", 1 },  /* second include */
        { "http://ex.com/other/readme.md?x", 0 },
        { "http://ex.com/notes.TXT", 0 },        /* case-sensitive */
        { "http://ex.com/docs/a?session=1", 0 }, /* exclude wins over include */
        { "http://ex.com/docs/a?x=1&session=1", 0 },
        { "http://ex.com/docs/a?mysession=1", 1 },
        { "http://ex.com/docs/private/x", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (crawl_patterns_accept(p, cases[i].url) != cases[i].want)
            fail_msg("%s: want %d", cases[i].url, cases[i].want);
    }
    crawl_patterns_free(p);
}

static void test_exclude_only(void **state)
{
    (void)state;
    crawl_patterns *p = crawl_patterns_new();
    assert_non_null(p);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_EXCLUDE, "\\.(png|jpe?g|gif)$", NULL, 0), 0);
    assert_int_equal(crawl_patterns_accept(p, "http://ex.com/a.html"), 1);
    assert_int_equal(crawl_patterns_accept(p, "http://ex.com/a.jpeg"), 0);
    assert_int_equal(crawl_patterns_accept(p, "http://ex.com/a.jpg"), 0);
    assert_int_equal(crawl_patterns_accept(p, "http://ex.com/a.png?x"), 1);
    crawl_patterns_free(p);
}

static void test_bad_regex(void **state)
{
    (void)state;
    crawl_patterns *p = crawl_patterns_new();
    assert_non_null(p);
    char err[128];
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_INCLUDE, "(unclosed", err, sizeof err), -EINVAL);
    assert_true(strlen(err) > 0);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_EXCLUDE, "a{2,1}", err, sizeof err), -EINVAL);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_EXCLUDE, "[z-a]", NULL, 0), -EINVAL);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_EXCLUDE, NULL, err, sizeof err), -EINVAL);
    assert_int_equal(crawl_patterns_add(p, (enum crawl_pattern_kind)7, "x", err, sizeof err), -EINVAL);
    /* nothing half-added: the filter still accepts everything */
    assert_int_equal(crawl_patterns_count(p, CRAWL_PATTERN_INCLUDE), 0);
    assert_int_equal(crawl_patterns_count(p, CRAWL_PATTERN_EXCLUDE), 0);
    assert_int_equal(crawl_patterns_accept(p, "http://ex.com/"), 1);
    crawl_patterns_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_accepts_all),
        cmocka_unit_test(test_include_exclude),
        cmocka_unit_test(test_exclude_only),
        cmocka_unit_test(test_bad_regex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
