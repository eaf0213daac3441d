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
#include "url_fast.h"

struct norm_case {
    const char *in;
    const char *out; /* NULL when an error is expected */
    int err;
};

static const struct norm_case norm_cases[] = {
    /* case of scheme and host */
    { "http://example.com/", "http://example.com/", 0 },
    { "HTTP://EXAMPLE.COM/", "http://example.com/", 0 },
    { "hTTps://Example.Com/Path", "https://example.com/Path", 0 },
    /* empty path */
    { "http://example.com", "http://example.com/", 0 },
    { "http://example.com?q", "http://example.com/?q", 0 },
    /* ports */
    { "http://example.com:80/", "http://example.com/", 0 },
    { "https://example.com:443/", "https://example.com/", 0 },
    { "http://example.com:443/", "http://example.com:443/", 0 },
    { "https://example.com:80/", "https://example.com:80/", 0 },
    { "http://example.com:/", "http://example.com/", 0 },
    { "http://example.com:0080/", "http://example.com/", 0 },
    { "http://example.com:08080/x", "http://example.com:8080/x", 0 },
    { "http://example.com:65535/", "http://example.com:65535/", 0 },
    { "http://example.com:65536/", NULL, -EINVAL },
    { "http://example.com:99999999999999999999/", NULL, -EINVAL },
    /* dot segments */
    { "http://example.com/a/./b", "http://example.com/a/b", 0 },
    { "http://example.com/a/../b", "http://example.com/b", 0 },
    { "http://example.com/a/b/..", "http://example.com/a/", 0 },
    { "http://example.com/../../x", "http://example.com/x", 0 },
    { "http://example.com/a/b/../../../c/./d/", "http://example.com/c/d/", 0 },
    { "http://example.com/%2E%2E/x", "http://example.com/x", 0 },
    /* fragments */
    { "http://example.com/a#frag", "http://example.com/a", 0 },
    { "http://example.com/a?q=1#frag", "http://example.com/a?q=1", 0 },
    { "http://example.com/#", "http://example.com/", 0 },
    { "http://example.com/a#b#c", "http://example.com/a", 0 },
    /* percent-encoding */
    { "http://example.com/%7euser", "http://example.com/~user", 0 },
    { "http://example.com/%41%62%2D%5f", "http://example.com/Ab-_", 0 },
    { "http://example.com/a%2fb", "http://example.com/a%2Fb", 0 },
    { "http://example.com/a%2Fb", "http://example.com/a%2Fb", 0 },
    { "http://example.com/?q=%3d%26", "http://example.com/?q=%3D%26", 0 },
    { "http://example.com/?q=%7e", "http://example.com/?q=~", 0 },
    { "http://example.com/%zz", "http://example.com/%25zz", 0 },
    { "http://example.com/100%", "http://example.com/100%25", 0 },
    { "http://example.com/%c3%a9", "http://example.com/%C3%A9", 0 },
    /* queries kept as is */
    { "http://example.com/?", "http://example.com/?", 0 },
    { "http://example.com/p?b=2&a=1", "http://example.com/p?b=2&a=1", 0 },
    { "http://example.com/p?a=/../x", "http://example.com/p?a=/../x", 0 },
    /* junk repaired */
    { "  http://example.com/a b  ", "http://example.com/a%20b", 0 },
    { "\thttp://exa\nmple.com/a\r\n", "http://example.com/a", 0 },
    { "http://example.com/\xc3\xa9t\xc3\xa9", "http://example.com/%C3%A9t%C3%A9", 0 },
    { "http://example.com/\xff", "http://example.com/%FF", 0 },
    { "http://example.com/a\"<>^`{|}", "http://example.com/a%22%3C%3E%5E%60%7B%7C%7D", 0 },
    { "http://example.com/a\\b", "http://example.com/a%5Cb", 0 },
    { "http://example.com/[x]", "http://example.com/%5Bx%5D", 0 },
    { "http://example.com/?q=[1]", "http://example.com/?q=%5B1%5D", 0 },
    { "http://example.com/\x01\x7f", "http://example.com/%01%7F", 0 },
    /* hosts */
    { "http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x", 0 },
    { "http://[::1]:8080/x", "http://[::1]:8080/x", 0 },
    { "http://[::1]:80/", "http://[::1]/", 0 },
    { "http://[2001:DB8::1]/", "http://[2001:db8::1]/", 0 },
    { "http://user:pw@Example.com/", "http://user:pw@example.com/", 0 },
    { "http://ex%41mple.com/", "http://example.com/", 0 },
    { "http://\xc3\xa9x.com/", NULL, -EINVAL },
    { "http:///path", NULL, -EINVAL },
    { "http:path", NULL, -EINVAL },
    { "http://", NULL, -EINVAL },
    /* not absolute */
    { "/just/a/path", NULL, -EINVAL },
    { "example.com/x", NULL, -EINVAL },
    { "", NULL, -EINVAL },
    { "   ", NULL, -EINVAL },
    /* odd schemes */
    { "mailto:someone@example.com", NULL, -EPROTONOSUPPORT },
    { "javascript:alert(1)", NULL, -EPROTONOSUPPORT },
    { "JavaScript:void(0)", NULL, -EPROTONOSUPPORT },
    { " java\nscript:void(0)", NULL, -EPROTONOSUPPORT },
    { "data:text/html,<b>hi</b>", NULL, -EPROTONOSUPPORT },
    { "ftp://example.com/file", NULL, -EPROTONOSUPPORT },
    { "tel:+123", NULL, -EPROTONOSUPPORT },
    { "file:///etc/passwd", NULL, -EPROTONOSUPPORT },
    { "httpx://example.com/", NULL, -EPROTONOSUPPORT },
    { "ws://example.com/", NULL, -EPROTONOSUPPORT },
};

static void test_normalize_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
        const struct norm_case *c = &norm_cases[i];
        char *out = (char *)0x1;
        int rc = crawl_url_normalize(c->in, &out);
        int ok = c->out ? (rc == 0 && out && strcmp(out, c->out) == 0)
                        : (rc == c->err && out == NULL);
        if (!ok) {
            print_error("normalize(\"%s\") = %d \"%s\", want %d \"%s\"\n", c->in, rc,
                        out ? out : "(null)", c->err, c->out ? c->out : "(null)");
            failures++;
        }
        free(out);
    }
    assert_int_equal(failures, 0);
}

/* Normalising a canonical URL must give it back unchanged. */
static void test_normalize_idempotent(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
        if (!norm_cases[i].out)
            continue;
        char *again;
        assert_int_equal(crawl_url_normalize(norm_cases[i].out, &again), 0);
        assert_string_equal(again, norm_cases[i].out);
        free(again);
    }
}

static void test_normalize_too_long(void **state)
{
    (void)state;
    size_t n = CRAWL_URL_MAX + 10;
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, "http://example.com/", 19);
    memset(s + 19, 'a', n - 19);
    s[n] = '\0';
    char *out;
    assert_int_equal(crawl_url_normalize(s, &out), -ENAMETOOLONG);
    assert_null(out);
    /* fits as input, grows past the limit once spaces are encoded */
    memset(s + 19, ' ', CRAWL_URL_MAX - 19 - 1);
    s[CRAWL_URL_MAX - 1] = 'x';
    s[CRAWL_URL_MAX] = '\0';
    assert_int_equal(crawl_url_normalize(s, &out), -ENAMETOOLONG);
    free(s);
}

struct join_case {
    const char *ref;
    const char *out;
};

/* RFC 3986 section 5.4, verbatim. */
static const char rfc_base[] = "http://a/b/c/d;p?q";
static const struct join_case rfc_cases[] = {
    /* 5.4.1 normal examples */
    { "g:h", "g:h" },
    { "g", "http://a/b/c/g" },
    { "./g", "http://a/b/c/g" },
    { "g/", "http://a/b/c/g/" },
    { "/g", "http://a/g" },
    { "//g", "http://g" },
    { "?y", "http://a/b/c/d;p?y" },
    { "g?y", "http://a/b/c/g?y" },
    { "#s", "http://a/b/c/d;p?q#s" },
    { "g#s", "http://a/b/c/g#s" },
    { "g?y#s", "http://a/b/c/g?y#s" },
    { ";x", "http://a/b/c/;x" },
    { "g;x", "http://a/b/c/g;x" },
    { "g;x?y#s", "http://a/b/c/g;x?y#s" },
    { "", "http://a/b/c/d;p?q" },
    { ".", "http://a/b/c/" },
    { "./", "http://a/b/c/" },
    { "..", "http://a/b/" },
    { "../", "http://a/b/" },
    { "../g", "http://a/b/g" },
    { "../..", "http://a/" },
    { "../../", "http://a/" },
    { "../../g", "http://a/g" },
    /* 5.4.2 abnormal examples */
    { "../../../g", "http://a/g" },
    { "../../../../g", "http://a/g" },
    { "/./g", "http://a/g" },
    { "/../g", "http://a/g" },
    { "g.", "http://a/b/c/g." },
    { ".g", "http://a/b/c/.g" },
    { "g..", "http://a/b/c/g.." },
    { "..g", "http://a/b/c/..g" },
    { "./../g", "http://a/b/g" },
    { "./g/.", "http://a/b/c/g/" },
    { "g/./h", "http://a/b/c/g/h" },
    { "g/../h", "http://a/b/c/h" },
    { "g;x=1/./y", "http://a/b/c/g;x=1/y" },
    { "g;x=1/../y", "http://a/b/c/y" },
    { "g?y/./x", "http://a/b/c/g?y/./x" },
    { "g?y/../x", "http://a/b/c/g?y/../x" },
    { "g#s/./x", "http://a/b/c/g#s/./x" },
    { "g#s/../x", "http://a/b/c/g#s/../x" },
    { "http:g", "http:g" }, /* strict parser */
};

static void test_join_rfc3986(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof rfc_cases / sizeof rfc_cases[0]; i++) {
        char *out = NULL;
        int rc = crawl_url_join(rfc_base, rfc_cases[i].ref, &out);
        if (rc != 0 || strcmp(out, rfc_cases[i].out) != 0) {
            print_error("join(\"%s\") = %d \"%s\", want \"%s\"\n", rfc_cases[i].ref, rc,
                        out ? out : "(null)", rfc_cases[i].out);
            failures++;
        }
        free(out);
    }
    assert_int_equal(failures, 0);
}

static void test_join_errors(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(crawl_url_join("/relative/base", "g", &out), -EINVAL);
    assert_null(out);
    assert_int_equal(crawl_url_join("http://a/b", "a b", &out), -EINVAL);
    assert_int_equal(crawl_url_join("http://a/ b", "g", &out), -EINVAL);
}

struct resolve_case {
    const char *base, *ref, *out;
    int err;
};

static const struct resolve_case resolve_cases[] = {
    /* the RFC examples, canonicalised */
    { "http://a/b/c/d;p?q", "g", "http://a/b/c/g", 0 },
    { "http://a/b/c/d;p?q", "#s", "http://a/b/c/d;p?q", 0 },
    { "http://a/b/c/d;p?q", "g#s/../x", "http://a/b/c/g", 0 },
    { "http://a/b/c/d;p?q", "", "http://a/b/c/d;p?q", 0 },
    { "http://a/b/c/d;p?q", "   ", "http://a/b/c/d;p?q", 0 },
    { "http://a/b/c/d;p?q", "../../../../g", "http://a/g", 0 },
    { "http://a/b/c/d;p?q", "//g", "http://g/", 0 },
    { "http://a/b/c/d;p?q", "http:g", "http://a/b/c/g", 0 },
    { "http://a/b/c/d;p?q", "g:h", NULL, -EPROTONOSUPPORT },
    /* relative, absolute, protocol-relative */
    { "https://ex.com/dir/page.html", "other.html", "https://ex.com/dir/other.html", 0 },
    { "https://ex.com/dir/page.html", "/root.html", "https://ex.com/root.html", 0 },
    { "https://ex.com/dir/page.html", "//cdn.ex.com/x.js", "https://cdn.ex.com/x.js", 0 },
    { "http://ex.com/dir/page.html", "//cdn.ex.com:80/x", "http://cdn.ex.com/x", 0 },
    { "https://ex.com/dir/page.html", "HTTP://Other.COM:80", "http://other.com/", 0 },
    { "https://ex.com/dir/page.html", "?q=1", "https://ex.com/dir/page.html?q=1", 0 },
    { "https://ex.com/dir/", "./", "https://ex.com/dir/", 0 },
    { "https://ex.com/dir/", "..", "https://ex.com/", 0 },
    /* junk in hrefs */
    { "http://ex.com/d/", " my page.html ", "http://ex.com/d/my%20page.html", 0 },
    { "http://ex.com/d/", "\n  /x\ty  \n", "http://ex.com/xy", 0 },
    { "http://ex.com/d/", "caf\xc3\xa9.html", "http://ex.com/d/caf%C3%A9.html", 0 },
    { "http://ex.com/d/", "a%zzb", "http://ex.com/d/a%25zzb", 0 },
    { "http://ex.com/d/", "#top", "http://ex.com/d/", 0 },
    /* base with junk and fragment */
    { "HTTP://EX.com:80/d/x.html#f", "y.html", "http://ex.com/d/y.html", 0 },
    /* odd schemes refused with a clear error */
    { "http://ex.com/", "mailto:a@b.c", NULL, -EPROTONOSUPPORT },
    { "http://ex.com/", "javascript:void(0)", NULL, -EPROTONOSUPPORT },
    { "http://ex.com/", "  JAVASCRIPT:alert('x y')", NULL, -EPROTONOSUPPORT },
    { "http://ex.com/", "data:image/png;base64,AAAA", NULL, -EPROTONOSUPPORT },
    { "http://ex.com/", "ftp://ex.com/f", NULL, -EPROTONOSUPPORT },
    { "http://ex.com/", "tel:123", NULL, -EPROTONOSUPPORT },
    /* bad base */
    { "/no/scheme", "x", NULL, -EINVAL },
    { "mailto:a@b", "x", NULL, -EINVAL },
};

static void test_resolve_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof resolve_cases / sizeof resolve_cases[0]; i++) {
        const struct resolve_case *c = &resolve_cases[i];
        char *out = NULL;
        int rc = crawl_url_resolve(c->base, c->ref, &out);
        int ok = c->out ? (rc == 0 && strcmp(out, c->out) == 0) : (rc == c->err && !out);
        if (!ok && c->err == -EINVAL && rc == -EPROTONOSUPPORT)
            ok = 1; /* mailto: as a base fails either way; both are errors */
        if (!ok) {
            print_error("resolve(\"%s\", \"%s\") = %d \"%s\", want %d \"%s\"\n", c->base, c->ref,
                        rc, out ? out : "(null)", c->err, c->out ? c->out : "(null)");
            failures++;
        }
        free(out);
    }
    assert_int_equal(failures, 0);
}

/* The same table with the parser alone (plain references normally skip it). */
static void test_resolve_table_parser_only(void **state)
{
    crawl_url_fast_enabled = false;
    test_resolve_table(state);
    crawl_url_fast_enabled = true;
}

static void test_split(void **state)
{
    (void)state;
    crawl_url_parts p;
    assert_int_equal(crawl_url_split("HTTP://Ex.com/a/b?c=d#e", &p), 0);
    assert_string_equal(p.scheme, "http");
    assert_string_equal(p.host, "ex.com");
    assert_int_equal(p.port, 80);
    assert_string_equal(p.hostport, "ex.com:80");
    assert_string_equal(p.authority, "ex.com");
    assert_string_equal(p.target, "/a/b?c=d");
    crawl_url_parts_free(&p);
    assert_null(p.host);

    assert_int_equal(crawl_url_split("https://127.0.0.1:8443", &p), 0);
    assert_string_equal(p.scheme, "https");
    assert_string_equal(p.host, "127.0.0.1");
    assert_int_equal(p.port, 8443);
    assert_string_equal(p.hostport, "127.0.0.1:8443");
    assert_string_equal(p.authority, "127.0.0.1:8443");
    assert_string_equal(p.target, "/");
    crawl_url_parts_free(&p);

    assert_int_equal(crawl_url_split("https://u:p@[::1]/x", &p), 0);
    assert_string_equal(p.host, "::1");
    assert_int_equal(p.port, 443);
    assert_string_equal(p.hostport, "[::1]:443");
    assert_string_equal(p.authority, "[::1]");
    assert_string_equal(p.target, "/x");
    crawl_url_parts_free(&p);

    assert_int_equal(crawl_url_split("http://[::1]:81/", &p), 0);
    assert_string_equal(p.hostport, "[::1]:81");
    assert_string_equal(p.authority, "[::1]:81");
    crawl_url_parts_free(&p);

    assert_int_equal(crawl_url_split("mailto:x@y", &p), -EPROTONOSUPPORT);
    assert_null(p.scheme);
    assert_int_equal(crawl_url_split("nonsense", &p), -EINVAL);
}

static void test_same_host(void **state)
{
    (void)state;
    assert_int_equal(crawl_url_same_host("http://ex.com/a", "https://EX.COM:8443/b"), 1);
    assert_int_equal(crawl_url_same_host("http://ex.com/a", "http://www.ex.com/a"), 0);
    assert_int_equal(crawl_url_same_host("http://ex.com/", "http://ex.com.evil.org/"), 0);
    assert_int_equal(crawl_url_same_host("http://user@evil.org/", "http://evil.org/"), 1);
    assert_int_equal(crawl_url_same_host("http://ex.com@evil.org/", "http://ex.com/"), 0);
    assert_int_equal(crawl_url_same_host("http://ex.com/", "ftp://ex.com/"), -EPROTONOSUPPORT);
    assert_int_equal(crawl_url_same_host("garbage", "http://ex.com/"), -EINVAL);
}

/* Every byte value in every position: must not crash, must either fail
 * cleanly or yield something that is itself canonical. */
static void test_all_bytes(void **state)
{
    (void)state;
    char in[64];
    for (int pos = 0; pos < 3; pos++) {
        for (int c = 1; c < 256; c++) {
            const char *tmpl[] = { "http://h%c.com/p", "http://h.com/p%cq", "http://h.com/?%c#%c" };
            snprintf(in, sizeof in, tmpl[pos], c, c);
            char *out = NULL, *again = NULL;
            int rc = crawl_url_normalize(in, &out);
            if (rc == 0) {
                assert_int_equal(crawl_url_normalize(out, &again), 0);
                assert_string_equal(out, again);
                for (const char *s = out; *s; s++)
                    assert_true((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f);
            } else {
                assert_true(rc == -EINVAL);
                assert_null(out);
            }
            free(out);
            free(again);
        }
    }
}

/* The string reads of canonical URLs agree with the full parser. */
static void test_canonical_reads(void **state)
{
    (void)state;
    const char *urls[] = {"http://example.com/", "https://example.com:8443/a/b?q=1", "http://[::1]:8080/x",
                          "http://127.0.0.1/", "https://a.b.c"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char *canon;
        assert_int_equal(crawl_url_normalize(urls[i], &canon), 0);
        crawl_url_parts parts;
        assert_int_equal(crawl_url_split(canon, &parts), 0);
        const char *host, *auth, *target;
        size_t hlen, alen;
        assert_int_equal(crawl_url_canonical_host(canon, &host, &hlen), 0);
        assert_int_equal(hlen, strlen(parts.host));
        assert_memory_equal(host, parts.host, hlen);
        assert_int_equal(crawl_url_canonical_authority(canon, &auth, &alen, &target), 0);
        assert_int_equal(alen, strlen(parts.authority));
        assert_memory_equal(auth, parts.authority, alen);
        assert_string_equal(target, parts.target);
        crawl_url_parts_free(&parts);
        free(canon);
    }
    const char *host, *auth;
    size_t n;
    assert_int_equal(crawl_url_canonical_host("no-scheme/path", &host, &n), -EINVAL);
    assert_int_equal(crawl_url_canonical_host("http:///path", &host, &n), -EINVAL);
    assert_int_equal(crawl_url_canonical_authority("http://h#frag", &auth, &n, NULL), -EINVAL);
    /* Userinfo: declined, so callers take the parser (which drops it). */
    assert_int_equal(crawl_url_canonical_host("http://user@example.com/", &host, &n), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_table),
        cmocka_unit_test(test_normalize_idempotent),
        cmocka_unit_test(test_normalize_too_long),
        cmocka_unit_test(test_join_rfc3986),
        cmocka_unit_test(test_join_errors),
        cmocka_unit_test(test_resolve_table),
        cmocka_unit_test(test_resolve_table_parser_only),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_same_host),
        cmocka_unit_test(test_canonical_reads),
        cmocka_unit_test(test_all_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
