/* The parser-free resolution of plain references (url_fast.h) against
 * uriparser's, which is the reference. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "url_canon.h"
#include "url_fast.h"

/* Resolve through a prepared base, with or without the fast path. */
static int resolve(const char *base, const char *ref, bool fast, char **out)
{
    crawl_url_fast_enabled = fast;
    crawl_url_base *b;
    int rc = crawl_url_base_new(base, &b);
    if (rc == 0) {
        rc = crawl_url_base_resolve(b, ref, out);
        crawl_url_base_free(b);
    } else {
        *out = NULL;
    }
    crawl_url_fast_enabled = true;
    return rc;
}

/* Is ref taken by the fast path against base, and with what result? */
static int fast_only(const char *base, const char *ref, char **out)
{
    crawl_url_fast_base fb;
    assert_true(crawl_url_fast_base_init(&fb, base));
    *out = NULL;
    return crawl_url_fast_resolve(&fb, ref, out);
}

static void test_plain_shapes_are_taken(void **state)
{
    (void)state;
    static const struct {
        const char *base, *ref, *want;
    } cases[] = {
        { "http://ex.com/d/p.html", "/a/b.html", "http://ex.com/a/b.html" },
        { "http://ex.com/d/p.html", "b.html", "http://ex.com/d/b.html" },
        { "http://ex.com/d/p.html", "s/b.html#top", "http://ex.com/d/s/b.html" },
        { "http://ex.com/d/p.html?x=1", "?page=2", "http://ex.com/d/p.html?page=2" },
        { "http://ex.com/d/p.html", "/a?b=c&d=e/f?g#h", "http://ex.com/a?b=c&d=e/f?g" },
        { "http://ex.com/", "https://other.org/x", "https://other.org/x" },
        { "http://ex.com/", "http://other.org", "http://other.org/" },
        { "http://ex.com/", "http://other.org?q", "http://other.org/?q" },
        { "http://ex.com/", "http://other.org:8080#f", "http://other.org:8080/" },
        { "https://ex.com:8443/a/", "c/...;x=1/@:", "https://ex.com:8443/a/c/...;x=1/@:" },
        { "http://[::1]:8080/a/b", "c", "http://[::1]:8080/a/c" },
        { "http://ex.com/a%2Fb/c", "d", "http://ex.com/a%2Fb/d" },
        { "http://ex.com/d/p.html", "/x#frag with spaces \x01", "http://ex.com/x" },
        { "http://ex.com/d/p.html", "\n   /s2/page-2.html  \t", "http://ex.com/s2/page-2.html" },
        { "http://ex.com/d/p.html", " b ", "http://ex.com/d/b" },
        { "http://ex.com/", "HTTP://Ex.COM:8080/A/b?Q#F", "http://ex.com:8080/A/b?Q" },
        { "http://ex.com/", "hTTpS://EX.com?Q", "https://ex.com/?Q" },
        { "http://ex.com/d/p.html", "/a%41%7e%2f%3a", "http://ex.com/aA~%2F%3A" },
        { "http://ex.com/d/p.html", "/a/./b", "http://ex.com/a/b" },
        { "http://ex.com/d/p.html", "/a/../b", "http://ex.com/b" },
        { "http://ex.com/d/p.html", "./b", "http://ex.com/d/b" },
        { "http://ex.com/d/p.html", "..", "http://ex.com/" },
        { "http://ex.com/d/p.html", "a/..", "http://ex.com/d/" },
        { "http://ex.com/d/p.html", "../../../x", "http://ex.com/x" },
        { "http://ex.com/d/p.html", "/%2E%2E/x", "http://ex.com/x" },
        { "http://ex.com/d/p.html", "?a%2f", "http://ex.com/d/p.html?a%2F" },
        { "http://ex.com/", "http://o.org/a/../b", "http://o.org/b" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out;
        int rc = fast_only(cases[i].base, cases[i].ref, &out);
        if (rc != 1 || strcmp(out, cases[i].want) != 0)
            fail_msg("fast(\"%s\", \"%s\") = %d \"%s\", want \"%s\"", cases[i].base, cases[i].ref,
                     rc, out ? out : "(null)", cases[i].want);
        free(out);
    }
}

static void test_other_shapes_are_declined(void **state)
{
    (void)state;
    static const char *const refs[] = {
        "", " ", "#top", " #top", "/a\tb", "/a\nb", "/a%zz", "/a%4", "?q%", "//other.org/x",
        " //other.org/x", "HTTP://ex.com:80/", "http://ex.com:80/",
        "https://ex.com:443/", "http://ex.com:080/", "http://ex.com:/", "http://u@ex.com/",
        "http://[::1]/", "http://ex.com:123456/", "http:foo", "mailto:a@b", "javascript:x",
        "a:b/c", " mailto:x", "/a b", "/a\"b", "/a<b>", "/a\\b", "/a[0]", "?a b", "/\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        char *out;
        int rc = fast_only("http://ex.com/d/p.html", refs[i], &out);
        if (rc != 0)
            fail_msg("fast path took \"%s\" -> \"%s\"", refs[i], out ? out : "(null)");
    }
    /* Userinfo in the base, or no path at all (not canonical): every
     * reference goes to the parser. */
    crawl_url_fast_base fb;
    assert_false(crawl_url_fast_base_init(&fb, "http://u@ex.com/"));
    assert_false(crawl_url_fast_base_init(&fb, "http://ex.com"));
    assert_false(crawl_url_fast_base_init(&fb, "http://ex.com?q"));
}

/* A small xorshift generator: the corpus is the same on every run. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static size_t pick(size_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (size_t)(rng % n);
}
#define PICK(a) (a[pick(sizeof a / sizeof a[0])])

/* Both paths agree on every reference of a generated corpus, plain or not,
 * against bases with and without query, port, escapes and userinfo. */
static void test_fast_path_agrees_with_parser(void **state)
{
    (void)state;
    static const char *const bases[] = {
        "http://ex.com/", "http://ex.com/dir/page.html", "https://ex.com:8443/a/b/?q=1",
        "http://ex.com/a%2Fb/c", "http://u@ex.com/x/y", "http://[::1]:8080/d/",
        "http://ex.com/d/p.html?", "HTTP://EX.COM/not/canonical/../x", "http://ex.com/a/b/c/d.html",
    };
    static const char *const heads[] = {
        "", "", "", "/", "/", "//", "?", "#", "./", "../", "http://", "https://", "HTTP://",
        "http:", "a:", "mailto:", " ", "\t/", "  https://", "HtTpS://", "\n",
    };
    static const char *const hosts[] = {
        "ex.com", "EX.com", "ex.com:80", "ex.com:8080", "ex.com:080", "ex.com:443", "[::1]",
        "u@ex.com", "1.2.3.4", "ex.com:", "ex.com:99999", "a-b.c", "",
    };
    static const char *const segs[] = {
        "a", "b.html", ".", "..", "...", "%41", "%2f", "%zz", "a b", "~x", "a:b", "@", "(x)",
        "\xc3\xa9", "", "A", "x*y", ";p=1", "[0]", "\\", "$&'+,=!",
    };
    static const char *const queries[] = { "", "", "?", "?q=1", "?a=%2F&b", "?x?y", "?a b", "?/.." };
    static const char *const frags[] = { "", "", "#", "#f", "#a#b", "#a b", "#%zz", "#/../x" };
    static const char *const tails[] = { "", "", "", " ", "\t\n", "\x01" };

    int taken = 0, total = 0;
    char ref[256];
    for (int n = 0; n < 40000; n++) {
        size_t len = 0;
        const char *head = PICK(heads);
        len += (size_t)snprintf(ref + len, sizeof ref - len, "%s", head);
        if (strstr(head, "//"))
            len += (size_t)snprintf(ref + len, sizeof ref - len, "%s/", PICK(hosts));
        for (size_t k = pick(4); k > 0; k--)
            len += (size_t)snprintf(ref + len, sizeof ref - len, "%s%s", PICK(segs), k > 1 ? "/" : "");
        len += (size_t)snprintf(ref + len, sizeof ref - len, "%s%s%s", PICK(queries), PICK(frags),
                                PICK(tails));
        if (len >= sizeof ref)
            continue;
        const char *base = PICK(bases);
        char *slow, *fast;
        int rs = resolve(base, ref, false, &slow);
        int rf = resolve(base, ref, true, &fast);
        if (rs != rf || (rs == 0 && strcmp(slow, fast) != 0))
            fail_msg("resolve(\"%s\", \"%s\"): parser %d \"%s\", fast %d \"%s\"", base, ref, rs,
                     slow ? slow : "(null)", rf, fast ? fast : "(null)");
        free(fast);

        crawl_url_fast_base fb;
        char *canon;
        assert_int_equal(crawl_url_normalize(base, &canon), 0);
        if (strcmp(canon, base) == 0) {
            if (crawl_url_fast_base_init(&fb, canon)) {
                char *out = NULL;
                taken += crawl_url_fast_resolve(&fb, ref, &out) == 1;
                free(out);
            }
            /* A base trusted to be canonical and parsed late gives the
             * same answers, through either path. */
            for (int fast_on = 0; fast_on < 2; fast_on++) {
                crawl_url_base *b;
                assert_int_equal(crawl_url_base_from_canonical(canon, &b), 0);
                crawl_url_fast_enabled = fast_on;
                char *out;
                int rc = crawl_url_base_resolve(b, ref, &out);
                crawl_url_fast_enabled = true;
                if (rc != rs || (rc == 0 && strcmp(out, slow) != 0))
                    fail_msg("from_canonical(\"%s\"), \"%s\": %d \"%s\", parser %d \"%s\"", base,
                             ref, rc, out ? out : "(null)", rs, slow ? slow : "(null)");
                free(out);
                crawl_url_base_free(b);
            }
        }
        free(canon);
        free(slow);
        total++;
    }
    /* The corpus exercises both paths, so the comparison means something. */
    assert_true(taken > total / 10);
    assert_true(taken < total / 2);
}

/* A result longer than CRAWL_URL_MAX is left to the parser, which refuses it. */
static void test_too_long_goes_to_parser(void **state)
{
    (void)state;
    size_t n = CRAWL_URL_MAX / 3 - 1;
    char *ref = malloc(n + 1);
    assert_non_null(ref);
    memset(ref, 'a', n);
    ref[0] = '/';
    ref[n] = '\0';
    /* "http://ex.com/bbb...b/x": a directory nearly CRAWL_URL_MAX long */
    char *base = malloc(CRAWL_URL_MAX);
    assert_non_null(base);
    int bl = snprintf(base, CRAWL_URL_MAX, "http://ex.com/");
    memset(base + bl, 'b', CRAWL_URL_MAX - (size_t)bl - 3);
    memcpy(base + CRAWL_URL_MAX - 3, "/x", 3);
    char *out;
    assert_int_equal(fast_only(base, ref, &out), 1); /* fits */
    free(out);
    assert_int_equal(fast_only(base, ref + 1, &out), 0); /* base dir + ref > max */
    assert_int_equal(resolve(base, ref + 1, true, &out), -ENAMETOOLONG);
    free(base);
    free(ref);
}

/* The one dot-segment remover that the fast path uses is the library's
 * (tulip_http_path_remove_dots: tests/test_http_client.c walks its cases);
 * and the one default-port rule both paths use. */
static void test_dot_segments_and_default_port(void **state)
{
    (void)state;
    char path[] = "/a/b/c/./../../g";
    size_t n = crawl_url_remove_dot_segments(path, strlen(path));
    assert_int_equal(n, 4);
    assert_memory_equal(path, "/a/g", 4);
    assert_int_equal(crawl_url_default_port("http"), 80);
    assert_int_equal(crawl_url_default_port("https"), 443);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_shapes_are_taken),
        cmocka_unit_test(test_other_shapes_are_declined),
        cmocka_unit_test(test_fast_path_agrees_with_parser),
        cmocka_unit_test(test_too_long_goes_to_parser),
        cmocka_unit_test(test_dot_segments_and_default_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
