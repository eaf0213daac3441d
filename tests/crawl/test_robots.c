#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robots.h"

static const char UA[] = "tulip-crawl/0.1 (+https://example.invalid/bot)";

static crawl_robots *parse(const char *txt)
{
    crawl_robots *r = crawl_robots_parse(txt, strlen(txt), UA);
    assert_non_null(r);
    return r;
}

struct probe {
    const char *target;
    int allowed;
};

static void check(const char *txt, const struct probe *p, size_t n)
{
    crawl_robots *r = parse(txt);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        int got = crawl_robots_allowed(r, p[i].target);
        if (got != p[i].allowed) {
            print_error("%s: got %d want %d\n", p[i].target, got, p[i].allowed);
            failures++;
        }
    }
    crawl_robots_free(r);
    assert_int_equal(failures, 0);
}
#define CHECK(txt, ...)                                                                 \
    do {                                                                                \
        const struct probe p_[] = { __VA_ARGS__ };                                      \
        check(txt, p_, sizeof p_ / sizeof p_[0]);                                       \
    } while (0)

static void test_empty_and_allow_all(void **state)
{
    (void)state;
    CHECK("", { "/", 1 }, { "/anything", 1 });
    CHECK("User-agent: *\nDisallow:\n", { "/", 1 }, { "/x", 1 });
    CHECK("# only a comment\n\n\n", { "/x", 1 });
}

static void test_group_selection(void **state)
{
    (void)state;
    const char *txt = "User-agent: *\n"
                      "Disallow: /star-only\n"
                      "\n"
                      "User-agent: otherbot\n"
                      "Disallow: /\n"
                      "\n"
                      "User-agent: Tulip-Crawl/2.0\n"
                      "Disallow: /mine\n";
    /* our group is used, and only it: the * rules no longer apply */
    CHECK(txt, { "/mine/x", 0 }, { "/star-only", 1 }, { "/", 1 });

    /* no group for us: * applies */
    CHECK("User-agent: *\nDisallow: /s\nUser-agent: otherbot\nDisallow: /\n",
          { "/s", 0 }, { "/t", 1 });

    /* prefix of our token is not our token, nor is a longer one */
    CHECK("User-agent: tulip\nDisallow: /a\nUser-agent: tulip-crawler\nDisallow: /b\n"
          "User-agent: *\nDisallow: /c\n",
          { "/a", 1 }, { "/b", 1 }, { "/c", 0 });

    /* a matching but empty group (at end of file) means "allow everything",
     * and * is not consulted */
    CHECK("User-agent: *\nDisallow: /\nUser-agent: tulip-crawl\n", { "/x", 1 });

    /* blank lines do not end a group (RFC 9309 groups end at user-agent) */
    CHECK("User-agent: tulip-crawl\n\nUser-agent: *\n\nDisallow: /\n", { "/x", 0 });

    /* several groups naming us are merged */
    CHECK("User-agent: tulip-crawl\nDisallow: /a\nUser-agent: x\nDisallow: /b\n"
          "User-agent: TULIP-CRAWL\nDisallow: /c\n",
          { "/a", 0 }, { "/b", 1 }, { "/c", 0 });

    /* consecutive user-agent lines share one group */
    CHECK("User-agent: a\nUser-agent: tulip-crawl\nUser-agent: b\nDisallow: /shared\n"
          "User-agent: c\nDisallow: /other\n",
          { "/shared", 0 }, { "/other", 1 });

    /* rules before any user-agent belong to nobody */
    CHECK("Disallow: /orphan\nUser-agent: *\nDisallow: /x\n", { "/orphan", 1 }, { "/x", 0 });
}

static void test_no_matching_group(void **state)
{
    (void)state;
    CHECK("User-agent: otherbot\nDisallow: /\n", { "/", 1 }, { "/a", 1 });
}

static void test_longest_match(void **state)
{
    (void)state;
    const char *txt = "User-agent: *\n"
                      "Disallow: /private/\n"
                      "Allow: /private/public.html\n"
                      "Allow: /shop\n"
                      "Disallow: /shop/cart\n"
                      "Allow: /tie\n"
                      "Disallow: /tie\n"
                      "Disallow: /tie2\n"
                      "Allow: /tie2\n"
                      "Disallow: /*.php\n"
                      "Allow: /index.php\n";
    CHECK(txt,
          { "/private/", 0 },
          { "/private/secret.html", 0 },
          { "/private/public.html", 1 },
          { "/private/public.html?x=1", 1 },
          { "/private", 1 },
          { "/shop", 1 },
          { "/shop/cart", 0 },
          { "/shop/cart/items", 0 },
          { "/shop/carton", 0 },
          { "/shop/list", 1 },
          { "/tie", 1 },       /* equal length: allow wins */
          { "/tie2", 1 },      /* regardless of order */
          { "/x.php", 0 },
          { "/index.php", 1 }, /* longer pattern */
          { "/a/index.php", 0 });
}

static void test_wildcards(void **state)
{
    (void)state;
    const char *txt = "User-agent: *\n"
                      "Disallow: /*.gif$\n"
                      "Disallow: /fish*\n"
                      "Disallow: /a*b*c\n"
                      "Disallow: /exact$\n"
                      "Disallow: /*?sessionid=\n"
                      "Disallow: /mid$dle\n"
                      "Disallow: /***stars\n";
    CHECK(txt,
          { "/x.gif", 0 },
          { "/dir/x.gif", 0 },
          { "/x.gif?size=2", 1 },
          { "/x.gifs", 1 },
          { "/fish", 0 },
          { "/fish.html", 0 },
          { "/fishheads/yummy.html", 0 },
          { "/Fish.asp", 1 }, /* paths are case-sensitive */
          { "/catfish", 1 },
          { "/abc", 0 },
          { "/a-b-c-d", 0 },
          { "/axxbyy", 1 },
          { "/acb", 1 },
          { "/exact", 0 },
          { "/exact/", 1 },
          { "/exactly", 1 },
          { "/page?sessionid=1", 0 },
          { "/page?a=1&sessionid=1", 1 }, /* '?' then 'sessionid' must be adjacent */
          { "/page?x", 1 },
          { "/mid$dle", 0 },  /* '$' inside a pattern is literal */
          { "/middle", 1 },
          { "/x/stars", 0 },
          { "/x/star", 1 },
          { "/xstars", 0 });
}

static void test_anchor_root_and_star(void **state)
{
    (void)state;
    CHECK("User-agent: *\nDisallow: /$\n", { "/", 0 }, { "/a", 1 }, { "/?q", 1 });
    CHECK("User-agent: *\nDisallow: *\n", { "/", 0 }, { "/a", 0 });
    CHECK("User-agent: *\nDisallow: /\nAllow: /$\n", { "/", 1 }, { "/a", 0 });
}

static void test_syntax_tolerance(void **state)
{
    (void)state;
    const char *txt = "\xEF\xBB\xBF"                 /* BOM */
                      "USER-AGENT :  *   # trailing comment\r\n"
                      "dIsAlLoW:/a\r"                 /* lone CR ends a line */
                      "Disallow: /b # comment\n"
                      "this is garbage\n"
                      "::::\n"
                      "Disallow /nocolon\n"
                      "Sitemap: https://ex.com/sitemap.xml\n"
                      "Unknown-Field: value\n"
                      "\tDisallow:\t/c\t\n"
                      "Disallow: nolead\n"
                      "Disallow: /d#notpartofpath\n";
    CHECK(txt, { "/a", 0 }, { "/b", 0 }, { "/b%20", 0 }, { "/c", 0 }, { "/nocolon", 1 },
          { "/nolead", 0 }, { "/d", 0 }, { "/e", 1 });

    /* sitemap between user-agent lines does not split the group */
    CHECK("User-agent: x\nSitemap: /s.xml\nUser-agent: tulip-crawl\nDisallow: /y\n",
          { "/y", 0 });
}

static void test_percent_encoding(void **state)
{
    (void)state;
    CHECK("User-agent: *\n"
          "Disallow: /%7Euser\n"
          "Disallow: /caf\xc3\xa9\n"
          "Disallow: /a%2fb\n"
          "Disallow: /sp ace\n",
          { "/~user/x", 0 },
          { "/%7euser", 0 },
          { "/caf%C3%A9", 0 },
          { "/caf%c3%a9/menu", 0 },
          { "/a%2Fb", 0 },
          { "/a/b", 1 },   /* an encoded slash is not a slash */
          { "/sp%20ace", 0 });
}

static void test_robots_txt_always_allowed(void **state)
{
    (void)state;
    CHECK("User-agent: *\nDisallow: /\n", { "/robots.txt", 1 }, { "/robots.txt?x", 0 });
    crawl_robots *r = crawl_robots_new_disallow_all();
    assert_non_null(r);
    assert_int_equal(crawl_robots_allowed(r, "/"), 0);
    assert_int_equal(crawl_robots_allowed(r, "/x"), 0);
    assert_int_equal(crawl_robots_allowed(r, "/robots.txt"), 1);
    assert_int_equal(crawl_robots_crawl_delay_ms(r), -1);
    crawl_robots_free(r);
}

static void test_crawl_delay(void **state)
{
    (void)state;
    crawl_robots *r = parse("User-agent: *\nCrawl-delay: 2.5\nUser-agent: tulip-crawl\n"
                            "Crawl-delay: 0.25\nDisallow: /x\n");
    assert_int_equal(crawl_robots_crawl_delay_ms(r), 250);
    assert_int_equal(crawl_robots_rule_count(r), 1);
    crawl_robots_free(r);
    r = parse("User-agent: *\nCrawl-delay: 3\n");
    assert_int_equal(crawl_robots_crawl_delay_ms(r), 3000);
    crawl_robots_free(r);
    r = parse("User-agent: *\nCrawl-delay: soon\n");
    assert_int_equal(crawl_robots_crawl_delay_ms(r), -1);
    crawl_robots_free(r);
}

static void test_errors_and_binary(void **state)
{
    (void)state;
    errno = 0;
    assert_null(crawl_robots_parse("", 0, NULL));
    assert_int_equal(errno, EINVAL);
    assert_null(crawl_robots_parse("", 0, "/1.0"));
    assert_int_equal(errno, EINVAL);

    crawl_robots *r = parse("User-agent: *\nDisallow: /x\n");
    assert_int_equal(crawl_robots_allowed(r, "x"), -EINVAL);
    assert_int_equal(crawl_robots_allowed(r, ""), -EINVAL);
    assert_int_equal(crawl_robots_allowed(r, NULL), -EINVAL);
    crawl_robots_free(r);
    crawl_robots_free(NULL);

    /* NULs and junk bytes: no crash, the readable rule still counts */
    static const char junk[] = "\x00\xff\xfe\nUser-agent: *\n\x01\x02:\x03\nDisallow: /j\0unk\n"
                               "Disallow: /ok\n\x80\x81";
    r = crawl_robots_parse(junk, sizeof junk - 1, UA);
    assert_non_null(r);
    assert_int_equal(crawl_robots_allowed(r, "/ok"), 0);
    assert_int_equal(crawl_robots_allowed(r, "/j%00unk"), 0);
    crawl_robots_free(r);
}

static void test_size_limit(void **state)
{
    (void)state;
    /* rules past the limit are not read; a line cut by it is dropped */
    const char head[] = "User-agent: *\nDisallow: /early\n";
    size_t n = CRAWL_ROBOTS_MAX_BYTES + 4096;
    char *txt = malloc(n);
    assert_non_null(txt);
    memset(txt, '#', n);
    memcpy(txt, head, sizeof head - 1);
    for (size_t i = sizeof head; i < n; i += 64)
        txt[i] = '\n';
    const char cut[] = "\nDisallow: /cut-in-half-by-the-limit\n";
    memcpy(txt + CRAWL_ROBOTS_MAX_BYTES - 12, cut, sizeof cut - 1);
    const char late[] = "\nDisallow: /late\n";
    memcpy(txt + n - sizeof late, late, sizeof late - 1);
    crawl_robots *r = crawl_robots_parse(txt, n, UA);
    assert_non_null(r);
    assert_int_equal(crawl_robots_allowed(r, "/early"), 0);
    assert_int_equal(crawl_robots_allowed(r, "/late"), 1);
    assert_int_equal(crawl_robots_allowed(r, "/cut"), 1);
    assert_int_equal(crawl_robots_rule_count(r), 1);
    crawl_robots_free(r);
    free(txt);
}

static void test_pathological_pattern(void **state)
{
    (void)state;
    /* many stars against a long near-miss: must stay polynomial */
    char txt[400];
    strcpy(txt, "User-agent: *\nDisallow: /");
    for (int i = 0; i < 40; i++)
        strcat(txt, "*a");
    strcat(txt, "b\n");
    char *path = malloc(20002);
    assert_non_null(path);
    path[0] = '/';
    memset(path + 1, 'a', 20000);
    path[20001] = '\0';
    crawl_robots *r = parse(txt);
    assert_int_equal(crawl_robots_allowed(r, path), 1);
    path[20000] = 'b';
    assert_int_equal(crawl_robots_allowed(r, path), 0);
    crawl_robots_free(r);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_allow_all),
        cmocka_unit_test(test_group_selection),
        cmocka_unit_test(test_no_matching_group),
        cmocka_unit_test(test_longest_match),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_anchor_root_and_star),
        cmocka_unit_test(test_syntax_tolerance),
        cmocka_unit_test(test_percent_encoding),
        cmocka_unit_test(test_robots_txt_always_allowed),
        cmocka_unit_test(test_crawl_delay),
        cmocka_unit_test(test_errors_and_binary),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_pathological_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
