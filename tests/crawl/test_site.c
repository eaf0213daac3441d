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

#include "links.h"
#include "robots.h"
#include "site.h"
#include "url.h"

static const char ORIGIN[] = "http://127.0.0.1:8080";

static crawl_site *make(unsigned pages, unsigned links, uint64_t seed)
{
    crawl_site_config cfg = { .pages = pages, .links_per_page = links, .seed = seed };
    crawl_site *s = crawl_site_new(&cfg);
    assert_non_null(s);
    return s;
}

static void test_config_validation(void **state)
{
    (void)state;
    crawl_site_config bad[] = {
        { .pages = 0, .links_per_page = 3 },
        { .pages = 2, .links_per_page = 0 },
        { .pages = CRAWL_SITE_MAX_PAGES + 1, .links_per_page = 3 },
        { .pages = 10, .links_per_page = CRAWL_SITE_MAX_LINKS + 1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        assert_null(crawl_site_new(&bad[i]));
        assert_int_equal(errno, EINVAL);
    }
    assert_null(crawl_site_new(NULL));
    crawl_site_config one = { .pages = 1, .links_per_page = 0 };
    crawl_site *s = crawl_site_new(&one);
    assert_non_null(s);
    crawl_site_free(s);
    crawl_site_free(NULL);
}

struct want {
    const char *path; /* or a full URL */
    int depth, status;
    unsigned flags;
};

#define F CRAWL_SITE_FETCHED
#define H (CRAWL_SITE_FETCHED | CRAWL_SITE_HTML)
#define D CRAWL_SITE_ROBOTS_DENIED
#define O CRAWL_SITE_OFFSITE

/* Seven pages, two links each: only tree links, so the whole crawl is
 * known by hand and independent of the seed. */
static void test_small_site_exact(void **state)
{
    (void)state;
    static const struct want want[] = {
        { "/", 0, 200, H },
        { "/s1/page-1.html", 1, 200, H },
        { "/s2/page-2.html", 1, 200, H },
        { "/static/site.css", 1, 200, F },
        { "/private/secret.html", 1, 0, D },
        { "/private/public.html", 1, 200, H },
        { "http://offsite.invalid/p0", 1, 0, O },
        { "/missing/0", 1, 404, F },
        { "/redirect/301/1", 1, 301, F },
        { "/redirect/302/6", 1, 302, F },
        { "/redirect/chain/3", 1, 302, F },
        { "/redirect/loop/a", 1, 302, F },
        { "/files/0.txt", 1, 200, F },
        { "/files/0.png", 1, 200, F },
        { "/s3/page-3.html", 2, 200, H },
        { "/s4/page-4.html", 2, 200, H },
        { "/s5/page-5.html", 2, 200, H },
        { "/s6/page-6.html", 2, 200, H },
        { "/redirect/301/3", 2, 301, F },
        { "/redirect/loop/b", 2, 302, F },
    };
    for (uint64_t seed = 0; seed < 3; seed++) {
        crawl_site *s = make(7, 2, seed);
        crawl_site_expect e;
        assert_int_equal(crawl_site_expected(s, ORIGIN, &e), 0);
        assert_int_equal(e.n, sizeof want / sizeof want[0]);
        for (size_t i = 0; i < e.n; i++) {
            char url[128];
            snprintf(url, sizeof url, "%s%s", want[i].path[0] == '/' ? ORIGIN : "", want[i].path);
            assert_string_equal(e.v[i].url, url);
            assert_int_equal(e.v[i].depth, want[i].depth);
            assert_int_equal(e.v[i].status, want[i].status);
            assert_int_equal(e.v[i].flags, want[i].flags);
        }
        crawl_site_expect_free(&e);
        crawl_site_free(s);
    }
}

static void test_single_page(void **state)
{
    (void)state;
    crawl_site *s = make(1, 0, 42);
    crawl_site_expect e;
    assert_int_equal(crawl_site_expected(s, ORIGIN, &e), 0);
    assert_string_equal(e.v[0].url, "http://127.0.0.1:8080/");
    /* root, css, the ten fixed extras less duplicates (301/302/chain all
     * point at page 0), loop b and /redirect/301/0 via the chain */
    size_t pages = 0;
    for (size_t i = 0; i < e.n; i++)
        pages += (e.v[i].flags & CRAWL_SITE_HTML) && strstr(e.v[i].url, "/page-") != NULL;
    assert_int_equal(pages, 0);
    assert_true(e.n >= 10);
    crawl_site_expect_free(&e);
    crawl_site_free(s);
}

static size_t find(const crawl_site_expect *e, const char *url)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->v[i].url, url) == 0)
            return i;
    return (size_t)-1;
}

static void test_every_page_reachable(void **state)
{
    (void)state;
    const unsigned ls[] = { 1, 2, 3, 10 };
    for (size_t li = 0; li < sizeof ls / sizeof ls[0]; li++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            unsigned N = 300;
            crawl_site *s = make(N, ls[li], seed);
            crawl_site_expect e;
            assert_int_equal(crawl_site_expected(s, ORIGIN, &e), 0);
            size_t html = 0;
            for (size_t i = 0; i < e.n; i++) {
                html += (e.v[i].flags & CRAWL_SITE_HTML) != 0;
                /* no duplicates, breadth-first depth order */
                assert_int_equal(find(&e, e.v[i].url), i);
                if (i)
                    assert_true(e.v[i].depth >= e.v[i - 1].depth);
                assert_null(strstr(e.v[i].url, "/trap/"));
                assert_null(strstr(e.v[i].url, "only-via-private"));
            }
            for (unsigned i = 0; i < N; i++) {
                char url[96];
                if (i == 0)
                    snprintf(url, sizeof url, "%s/", ORIGIN);
                else
                    snprintf(url, sizeof url, "%s/s%u/page-%u.html", ORIGIN, i % 8, i);
                size_t k = find(&e, url);
                assert_true(k != (size_t)-1);
                assert_int_equal(e.v[k].status, 200);
                assert_int_equal(e.v[k].flags, CRAWL_SITE_FETCHED | CRAWL_SITE_HTML);
            }
            assert_int_equal(html, N + 1); /* pages + /private/public.html */
            crawl_site_expect_free(&e);
            crawl_site_free(s);
        }
    }
}

static void test_deterministic(void **state)
{
    (void)state;
    crawl_site *a = make(500, 8, 7), *b = make(500, 8, 7), *c = make(500, 8, 8);
    crawl_site_expect ea, eb, ec;
    assert_int_equal(crawl_site_expected(a, ORIGIN, &ea), 0);
    assert_int_equal(crawl_site_expected(b, ORIGIN, &eb), 0);
    assert_int_equal(crawl_site_expected(c, ORIGIN, &ec), 0);
    assert_int_equal(ea.n, eb.n);
    for (size_t i = 0; i < ea.n; i++) {
        assert_string_equal(ea.v[i].url, eb.v[i].url);
        assert_int_equal(ea.v[i].depth, eb.v[i].depth);
    }
    int differs = ea.n != ec.n;
    for (size_t i = 0; !differs && i < ea.n; i++)
        differs = strcmp(ea.v[i].url, ec.v[i].url) != 0;
    assert_true(differs);

    crawl_site_response ra, rb, rc;
    assert_int_equal(crawl_site_get(a, ORIGIN, "/s3/page-123.html", &ra), 0);
    assert_int_equal(crawl_site_get(b, ORIGIN, "/s3/page-123.html", &rb), 0);
    assert_int_equal(crawl_site_get(c, ORIGIN, "/s3/page-123.html", &rc), 0);
    assert_int_equal(ra.body_len, rb.body_len);
    assert_memory_equal(ra.body, rb.body, ra.body_len);
    assert_true(ra.body_len != rc.body_len || memcmp(ra.body, rc.body, ra.body_len) != 0);
    crawl_site_response_free(&ra);
    crawl_site_response_free(&rb);
    crawl_site_response_free(&rc);
    crawl_site_expect_free(&ea);
    crawl_site_expect_free(&eb);
    crawl_site_expect_free(&ec);
    crawl_site_free(a);
    crawl_site_free(b);
    crawl_site_free(c);
}

struct get_case {
    const char *target;
    int status;
    const char *ctype_prefix;
    const char *location;
};

static void test_responses(void **state)
{
    (void)state;
    crawl_site *s = make(20, 4, 3);
    static const struct get_case cases[] = {
        { "/", 200, "text/html", NULL },
        { "/s5/page-13.html", 200, "text/html", NULL },
        { "/s5/page-13.html?utm=1", 200, "text/html", NULL },
        { "/s5/page%2D13%2Ehtml", 200, "text/html", NULL },
        { "/s4/page-13.html", 404, "text/html", NULL },  /* wrong section */
        { "/s5/page-013.html", 404, "text/html", NULL }, /* not canonical */
        { "/s0/page-0.html", 404, "text/html", NULL },   /* page 0 is "/" */
        { "/s4/page-20.html", 404, "text/html", NULL },  /* past the end */
        { "/s1/page-1.htm", 404, "text/html", NULL },
        { "/redirect/301/13", 301, "text/html", "http://127.0.0.1:8080/s5/page-13.html" },
        { "/redirect/302/13", 302, "text/html", "../../s5/page-13.html" },
        { "/redirect/302/0", 302, "text/html", "../../" },
        { "/redirect/chain/13", 302, "text/html", "/redirect/301/13" },
        { "/redirect/loop/a", 302, "text/html", "b" },
        { "/redirect/loop/b", 302, "text/html", "/redirect/loop/a" },
        { "/redirect/301/20", 404, "text/html", NULL },
        { "/missing/3", 404, "text/html", NULL },
        { "/files/3.txt", 200, "text/plain", NULL },
        { "/files/3.png", 200, "image/png", NULL },
        { "/files/20.png", 404, "text/html", NULL },
        { "/static/site.css", 200, "text/css", NULL },
        { "/robots.txt", 200, "text/plain", NULL },
        { "/private/secret.html", 200, "text/html", NULL },
        { "/private/public.html", 200, "text/html", NULL },
        { "/only-via-private.html", 200, "text/html", NULL },
        { "/trap/comment", 404, "text/html", NULL },
        { "/trap/script", 404, "text/html", NULL },
        { "/nothing", 404, "text/html", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crawl_site_response r;
        assert_int_equal(crawl_site_get(s, ORIGIN, cases[i].target, &r), 0);
        if (r.status != cases[i].status)
            fail_msg("%s: status %d, want %d", cases[i].target, r.status, cases[i].status);
        assert_non_null(r.content_type);
        assert_int_equal(strncmp(r.content_type, cases[i].ctype_prefix, strlen(cases[i].ctype_prefix)), 0);
        if (cases[i].location)
            assert_string_equal(r.location, cases[i].location);
        else
            assert_null(r.location);
        assert_non_null(r.body);
        assert_true(r.body_len > 0);
        crawl_site_response_free(&r);
    }
    crawl_site_response r;
    /* the decoys a crawler must ignore are really there */
    assert_int_equal(crawl_site_get(s, ORIGIN, "/s3/page-3.html", &r), 0);
    static const char *const decoys[] = { "<!-- <a href=\"/trap/comment\">", "<script>",
                                          "<style>", "<template><a href=", "href=\"mailto:",
                                          "href=\"javascript:", "<base href=\"/s4/\">",
                                          "<link rel=\"stylesheet\"" };
    for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; i++)
        if (!strstr(r.body, decoys[i]))
            fail_msg("page lacks %s", decoys[i]);
    assert_null(strstr(r.body, "\"></a>")); /* no stray end tags */
    crawl_site_response_free(&r);
    assert_int_equal(crawl_site_get(s, ORIGIN, "/files/1.png", &r), 0);
    assert_memory_equal(r.body, "\x89PNG\r\n\x1a\n", 8);
    crawl_site_response_free(&r);

    assert_int_equal(crawl_site_get(s, "http://127.0.0.1:8080/", "/", &r), -EINVAL);
    assert_int_equal(crawl_site_get(s, "HTTP://127.0.0.1:8080", "/", &r), -EINVAL);
    assert_int_equal(crawl_site_get(s, "http://127.0.0.1:80", "/", &r), -EINVAL);
    assert_int_equal(crawl_site_get(s, "ftp://127.0.0.1", "/", &r), -EINVAL);
    assert_int_equal(crawl_site_get(s, NULL, "/", &r), -EINVAL);
    assert_int_equal(crawl_site_get(s, ORIGIN, "s1/page-1.html", &r), -EINVAL);
    assert_int_equal(crawl_site_get(s, ORIGIN, NULL, &r), -EINVAL);
    assert_null(r.body);
    crawl_site_expect e;
    assert_int_equal(crawl_site_expected(s, "http://x/path", &e), -EINVAL);
    assert_int_equal(e.n, 0);
    crawl_site_free(s);
}

static void test_page_padding(void **state)
{
    (void)state;
    crawl_site_config cfg = { .pages = 10, .links_per_page = 3, .seed = 1, .page_bytes = 20000 };
    crawl_site *s = crawl_site_new(&cfg);
    assert_non_null(s);
    crawl_site_response r;
    assert_int_equal(crawl_site_get(s, ORIGIN, "/", &r), 0);
    assert_true(r.body_len >= 20000 && r.body_len < 21000);
    crawl_site_response_free(&r);
    crawl_site_free(s);
}

static void test_robots_agrees_with_model(void **state)
{
    (void)state;
    crawl_site *s = make(50, 5, 9);
    crawl_site_response r;
    assert_int_equal(crawl_site_get(s, ORIGIN, "/robots.txt", &r), 0);
    crawl_robots *rb = crawl_robots_parse(r.body, r.body_len, "tulip-crawl/0.1");
    assert_non_null(rb);
    crawl_site_expect e;
    assert_int_equal(crawl_site_expected(s, ORIGIN, &e), 0);
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].flags & CRAWL_SITE_OFFSITE)
            continue;
        const char *target = e.v[i].url + strlen(ORIGIN);
        int allowed = crawl_robots_allowed(rb, target);
        assert_int_equal(allowed, !(e.v[i].flags & CRAWL_SITE_ROBOTS_DENIED));
    }
    crawl_robots_free(rb);
    crawl_site_response_free(&r);
    crawl_site_expect_free(&e);
    crawl_site_free(s);
}

/* ---- an in-memory crawler over the model, built from the other modules ---- */

typedef struct sim {
    crawl_site_entry *v;
    size_t n, cap;
} sim;

static void discover(sim *m, char *url, int depth)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].url, url) == 0) {
            free(url);
            return;
        }
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
        assert_non_null(m->v);
    }
    m->v[m->n++] = (crawl_site_entry){ .url = url, .depth = depth };
}

static void simulate(const crawl_site *s, const char *origin, sim *m)
{
    crawl_site_response r;
    assert_int_equal(crawl_site_get(s, origin, "/robots.txt", &r), 0);
    crawl_robots *rb = crawl_robots_parse(r.body, r.body_len, "tulip-crawl/0.1");
    assert_non_null(rb);
    crawl_site_response_free(&r);

    char *start;
    assert_int_equal(crawl_url_resolve(origin, "/", &start), 0);
    discover(m, start, 0);
    for (size_t q = 0; q < m->n; q++) {
        crawl_site_entry *e = &m->v[q];
        crawl_url_parts parts;
        assert_int_equal(crawl_url_split(e->url, &parts), 0);
        int same = crawl_url_same_host(e->url, origin);
        assert_true(same >= 0);
        int allowed = crawl_robots_allowed(rb, parts.target);
        if (!same) {
            e->flags = CRAWL_SITE_OFFSITE;
        } else if (!allowed) {
            e->flags = CRAWL_SITE_ROBOTS_DENIED;
        } else {
            assert_int_equal(crawl_site_get(s, origin, parts.target, &r), 0);
            int depth = e->depth; /* m->v may move below */
            char *url = strdup(e->url);
            assert_non_null(url);
            e->status = r.status;
            e->flags = CRAWL_SITE_FETCHED;
            if (r.location) {
                char *to;
                assert_int_equal(crawl_url_resolve(url, r.location, &to), 0);
                discover(m, to, depth + 1);
            } else if (r.status == 200 && strncmp(r.content_type, "text/html", 9) == 0) {
                m->v[q].flags |= CRAWL_SITE_HTML;
                crawl_links l;
                assert_int_equal(crawl_links_extract(r.body, r.body_len, url, &l), 0);
                for (size_t k = 0; k < l.n; k++) {
                    discover(m, l.urls[k], depth + 1);
                    l.urls[k] = NULL;
                }
                /* mailto: and javascript: decoys on every page */
                assert_int_equal(l.skipped, 2);
                crawl_links_free(&l);
            }
            free(url);
            crawl_site_response_free(&r);
        }
        crawl_url_parts_free(&parts);
    }
    crawl_robots_free(rb);
}

static void check_simulation(unsigned pages, unsigned links, uint64_t seed, const char *origin)
{
    crawl_site *s = make(pages, links, seed);
    crawl_site_expect e;
    assert_int_equal(crawl_site_expected(s, origin, &e), 0);
    sim m = { 0 };
    simulate(s, origin, &m);
    for (size_t i = 0; i < m.n && i < e.n; i++) {
        size_t k = find(&e, m.v[i].url);
        if (k == (size_t)-1)
            fail_msg("crawl found %s, not in the model", m.v[i].url);
        if (e.v[k].depth != m.v[i].depth || e.v[k].status != m.v[i].status ||
            e.v[k].flags != m.v[i].flags)
            fail_msg("%s: crawl depth %d status %d flags %u, model %d %d %u", m.v[i].url,
                     m.v[i].depth, m.v[i].status, m.v[i].flags, e.v[k].depth, e.v[k].status,
                     e.v[k].flags);
    }
    assert_int_equal(m.n, e.n);
    for (size_t i = 0; i < m.n; i++)
        free(m.v[i].url);
    free(m.v);
    crawl_site_expect_free(&e);
    crawl_site_free(s);
}

static void test_simulated_crawl_matches_model(void **state)
{
    (void)state;
    check_simulation(7, 2, 1, ORIGIN);
    check_simulation(1, 0, 1, ORIGIN);
    check_simulation(2, 1, 5, ORIGIN);
    for (uint64_t seed = 1; seed <= 4; seed++)
        check_simulation(150, 6, seed, ORIGIN);
    check_simulation(100, 20, 77, "http://localhost:41000");
    check_simulation(60, 5, 3, "https://[::1]:8443");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_small_site_exact),
        cmocka_unit_test(test_single_page),
        cmocka_unit_test(test_every_page_reachable),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_page_padding),
        cmocka_unit_test(test_robots_agrees_with_model),
        cmocka_unit_test(test_simulated_crawl_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
