/* --recrawl's pieces without a server: which answers a recrawl may reuse
 * without a fetch (recrawl_fresh.h: RFC 9111 explicit and heuristic
 * freshness, the window), and E lines written, read back from a journal
 * and turned into the reply they stand for (recrawl.h); the S and B lines
 * (offsite URLs, hrefs that are no URL) a page answered 304 gives again. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "recrawl.h"
#include "recrawl_fresh.h"

#define DAY 86400
/* 2026-12-01T00:00:00Z, and its HTTP-date */
#define T0 1796083200
#define T0_DATE "Tue, 01 Dec 2026 00:00:00 GMT"

/* A reply with status and up to 4 headers given as "Name", "value" pairs. */
static tulip_http_reply *reply(int status, ...)
{
    static tulip_http_header h[4];
    static tulip_http_reply r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.headers = h;
    va_list ap;
    va_start(ap, status);
    const char *n;
    while ((n = va_arg(ap, const char *)) && r.num_headers < 4) {
        const char *v = va_arg(ap, const char *);
        h[r.num_headers++] = (tulip_http_header){ n, strlen(n), v, strlen(v) };
    }
    va_end(ap);
    return &r;
}

static void test_heuristic(void **state)
{
    (void)state;
    crawl_fresh f;
    /* heuristically cacheable: reused within the window, not after */
    int ok[] = { 301, 308, 404, 410, 405, 414, 501, 300, 203, 204 };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_true(crawl_fresh_of(reply(ok[i], "Date", T0_DATE, NULL), T0, &f));
        assert_int_equal(f.fetched, T0);
        assert_int_equal(f.max_age, -1);
        assert_int_equal(f.lm_age, -1);
        assert_true(crawl_fresh_now(ok[i], &f, T0 + DAY - 1, DAY));
        assert_false(crawl_fresh_now(ok[i], &f, T0 + DAY, DAY));
        assert_false(crawl_fresh_now(ok[i], &f, T0 + 1, 0)); /* window 0: never */
    }
    /* not without explicit freshness: temporary redirects, transient
     * errors, pages (revalidated instead), 304 */
    int no[] = { 200, 206, 302, 303, 307, 304, 403, 408, 429, 500, 502, 503, 504 };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(crawl_fresh_of(reply(no[i], NULL), T0, &f));
    /* Last-Modified: 10% of its age (RFC 9111 4.2.2), within the window */
    assert_true(crawl_fresh_of(reply(404, "Date", T0_DATE, "Last-Modified", "Sat, 21 Nov 2026 00:00:00 GMT", NULL),
                               T0, &f));
    assert_int_equal(f.lm_age, 10 * DAY);
    assert_true(crawl_fresh_now(404, &f, T0 + DAY - 1, 7 * DAY));
    assert_false(crawl_fresh_now(404, &f, T0 + DAY, 7 * DAY));
    assert_false(crawl_fresh_now(404, &f, T0 + 3600, 3600)); /* the window caps it */
    /* Age: the response was made earlier than it came in */
    assert_true(crawl_fresh_of(reply(301, "Age", "600", NULL), T0, &f));
    assert_int_equal(f.fetched, T0 - 600);
}

static void test_explicit(void **state)
{
    (void)state;
    crawl_fresh f;
    /* max-age makes even a 302 reusable, for that long (and the window) */
    assert_true(crawl_fresh_of(reply(302, "Cache-Control", "public, max-age=3600", NULL), T0, &f));
    assert_int_equal(f.max_age, 3600);
    assert_true(crawl_fresh_now(302, &f, T0 + 3599, DAY));
    assert_false(crawl_fresh_now(302, &f, T0 + 3600, DAY));
    assert_false(crawl_fresh_now(302, &f, T0 + 60, 60));
    assert_true(crawl_fresh_of(reply(301, "Cache-Control", "Max-Age=\"120\"", NULL), T0, &f));
    assert_int_equal(f.max_age, 120);
    /* explicit beats heuristic, shorter too */
    assert_true(crawl_fresh_of(reply(404, "Cache-Control", "max-age=10", NULL), T0, &f));
    assert_false(crawl_fresh_now(404, &f, T0 + 10, DAY));
    /* forbidden or stale at once */
    assert_false(crawl_fresh_of(reply(301, "Cache-Control", "no-store", NULL), T0, &f));
    assert_false(crawl_fresh_of(reply(301, "Cache-Control", "private, no-cache=\"Set-Cookie\"", NULL), T0, &f));
    assert_false(crawl_fresh_of(reply(301, "Cache-Control", "max-age=0", NULL), T0, &f));
    assert_false(crawl_fresh_of(reply(301, "Cache-Control", "max-age=soon", NULL), T0, &f));
    assert_false(crawl_fresh_of(reply(429, "Cache-Control", "max-age=60", NULL), T0, &f));
    assert_false(crawl_fresh_of(reply(200, "Cache-Control", "max-age=60", NULL), T0, &f));
    /* Expires - Date; an invalid Expires ("0") is in the past */
    assert_true(crawl_fresh_of(reply(307, "Date", T0_DATE, "Expires", "Tue, 01 Dec 2026 02:00:00 GMT", NULL), T0 + 5,
                               &f));
    assert_int_equal(f.max_age, 7200);
    assert_false(crawl_fresh_of(reply(301, "Date", T0_DATE, "Expires", "0", NULL), T0, &f));
    assert_false(crawl_fresh_of(reply(307, "Expires", "Mon, 30 Nov 2026 00:00:00 GMT", NULL), T0, &f));
    /* max-age wins over Expires */
    assert_true(crawl_fresh_of(reply(301, "Date", T0_DATE, "Expires", "0", "Cache-Control", "max-age=5", NULL), T0,
                               &f));
    assert_int_equal(f.max_age, 5);
}

static void test_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/tulip-recrawl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    crawl_buf b = {0};
    crawl_fresh f = { .fetched = T0, .max_age = -1, .lm_age = 864000 };
    assert_int_equal(crawl_recrawl_line(&b, "http://h/a", "2026-12-01T00:00:00Z", "<urn:uuid:1>", "sha1:A",
                                        "\"e\"", T0_DATE), 0);
    assert_int_equal(crawl_recrawl_eline(&b, "http://h/r", 301, &f, "2026-12-01T00:00:01Z", "<urn:uuid:2>",
                                         "sha1:B", "http://h/a", "text/html; charset=utf-8"), 1);
    assert_int_equal(crawl_recrawl_eline(&b, "http://h/m", 404, &f, NULL, NULL, NULL, NULL, NULL), 1);
    /* a Location that would not read back: the answer is not kept */
    assert_int_equal(crawl_recrawl_eline(&b, "http://h/x", 301, &f, NULL, NULL, NULL, "http://h/a b", NULL), 0);
    /* a URL's last line counts: /m was a page before */
    assert_int_equal(crawl_recrawl_line(&b, "http://h/m2", NULL, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(crawl_recrawl_eline(&b, "http://h/m2", 410, &f, NULL, NULL, NULL, NULL, "text/plain"), 1);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    crawl_buf_free(&b);

    crawl_recrawl *r;
    assert_int_equal(crawl_recrawl_open(path, &r), 0);
    crawl_validators v;
    assert_true(crawl_recrawl_find(r, "http://h/a", &v));
    assert_int_equal(v.status, 0);
    assert_string_equal(v.etag, "\"e\"");
    assert_string_equal(v.last_modified, T0_DATE);
    assert_true(crawl_recrawl_find(r, "http://h/r", &v));
    assert_int_equal(v.status, 301);
    assert_int_equal(v.fresh.fetched, T0);
    assert_int_equal(v.fresh.max_age, -1);
    assert_int_equal(v.fresh.lm_age, 864000);
    assert_string_equal(v.date, "2026-12-01T00:00:01Z");
    assert_string_equal(v.record_id, "<urn:uuid:2>");
    assert_string_equal(v.digest, "sha1:B");
    assert_string_equal(v.location, "http://h/a");
    assert_string_equal(v.content_type, "text/html; charset=utf-8");
    assert_null(v.etag);
    tulip_http_reply *rep;
    assert_int_equal(crawl_recrawl_reply(&v, "http://h/r", &rep), 0);
    assert_int_equal(rep->status, 301);
    assert_int_equal(rep->body_len, 0);
    assert_int_equal(rep->bytes_in, 0);
    assert_string_equal(rep->url, "http://h/r");
    assert_string_equal(tulip_http_reply_header(rep, "Location", NULL), "http://h/a");
    assert_string_equal(tulip_http_reply_header(rep, "content-type", NULL), "text/html; charset=utf-8");
    tulip_http_reply_free(rep);
    assert_true(crawl_recrawl_find(r, "http://h/m", &v));
    assert_int_equal(v.status, 404);
    assert_null(v.date);
    assert_null(v.location);
    assert_null(v.content_type);
    assert_int_equal(crawl_recrawl_reply(&v, "http://h/m", &rep), 0);
    assert_int_equal(rep->num_headers, 0);
    tulip_http_reply_free(rep);
    assert_false(crawl_recrawl_find(r, "http://h/x", &v));
    assert_true(crawl_recrawl_find(r, "http://h/m2", &v));
    assert_int_equal(v.status, 410);
    assert_string_equal(v.content_type, "text/plain");
    crawl_recrawl_close(r);
    unlink(path);
}

static int collect(void *arg, const crawl_recrawl_link *l)
{
    crawl_buf *b = arg;
    if (l->kind == 'B')
        return crawl_buf_printf(b, "B[%s] %d;", l->url, l->err);
    return crawl_buf_printf(b, "%s %d %u;", l->url, l->depth, l->hops);
}

static int stop_at_first(void *arg, const crawl_recrawl_link *l)
{
    (void)l;
    ++*(int *)arg;
    return -ECANCELED;
}

/* The offsite URLs (S lines) of the crawl before, by the page that linked
 * to them, in journal order: what a page answered 304 offers again. */
static void test_offsite(void **state)
{
    (void)state;
    char path[] = "/tmp/tulip-recrawl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char j[] = "O --state d\n"
                            "A 0 0 http://h/ -\n"
                            "S 1 0 http://o/1 http://h/\n"
                            "A 1 0 http://h/a http://h/\n"
                            "S 2 0 http://o/2 http://h/a\n"
                            "D 0 200 10 0 0 http://h/\n"
                            "S 1 0 http://o/3 http://h/\n"
                            "S 1 0 http://o/seed -\n"
                            "S 2 1 http://o/4 http://h/r\n"
                            "S 3 0 http://o/torn http://h/"; /* no newline: torn */
    assert_int_equal(write(fd, j, sizeof j - 1), (ssize_t)(sizeof j - 1));
    close(fd);
    crawl_recrawl *r;
    assert_int_equal(crawl_recrawl_open(path, &r), 0);
    crawl_buf b = {0};
    assert_int_equal(crawl_recrawl_links(r, "http://h/", collect, &b), 0);
    assert_string_equal(b.data, "http://o/1 1 0;http://o/3 1 0;");
    b.len = 0;
    assert_int_equal(crawl_recrawl_links(r, "http://h/a", collect, &b), 0);
    assert_string_equal(b.data, "http://o/2 2 0;");
    b.len = 0;
    b.data[0] = '\0';
    assert_int_equal(crawl_recrawl_links(r, "http://h/r", collect, &b), 0);
    assert_string_equal(b.data, "http://o/4 2 1;");
    b.len = 0;
    b.data[0] = '\0';
    assert_int_equal(crawl_recrawl_links(r, "http://h/none", collect, &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(crawl_recrawl_links(r, "-", collect, &b), 0);
    assert_int_equal(b.len, 0);
    int calls = 0;
    assert_int_equal(crawl_recrawl_links(r, "http://h/", stop_at_first, &calls), -ECANCELED);
    assert_int_equal(calls, 1);
    crawl_recrawl_close(r);
    crawl_buf_free(&b);
    /* a journal without S lines */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, j, 36), 36);
    close(fd);
    assert_int_equal(crawl_recrawl_open(path, &r), 0);
    assert_int_equal(crawl_recrawl_links(r, "http://h/", collect, &b), 0);
    assert_int_equal(b.len, 0);
    crawl_recrawl_close(r);
    crawl_buf_free(&b);
    unlink(path);
}

/* The hrefs that are no URL (B lines) of the crawl before, by the page
 * that linked to them, among its S lines in journal order: keys as
 * written, with spaces (leading ones too), backslashes, newlines and
 * carriage returns, read back as they were. */
static void test_bad_links(void **state)
{
    (void)state;
    static const char *keys[] = { "mailto:a@b", "javascript:void(0)", " mailto:lead", "junk with spaces",
                                  "a\\b\\nc", "line\nbreak\r\n", "\\", "-" };
    size_t nk = sizeof keys / sizeof keys[0];
    crawl_buf j = {0};
    assert_int_equal(crawl_buf_puts(&j, "O --state d\nA 0 0 http://h/ -\nS 1 0 http://o/1 http://h/\n"), 0);
    for (size_t i = 0; i < nk; i++)
        assert_int_equal(crawl_jl_put_bad(&j, -(int)i - 1, "http://h/", keys[i]), 0);
    assert_int_equal(crawl_buf_puts(&j, "S 1 0 http://o/2 http://h/\n"
                                        "B -22 http://h/other x y\n"
                                        "B junk\n"          /* no parent: not indexed */
                                        "B -22 http://h/\n" /* no key */
                                        "B -22 http://h/ torn"),
                     0);
    /* one line per key: the escapes leave no newline inside a line */
    size_t lines = 0;
    for (size_t i = 0; i < j.len; i++)
        lines += j.data[i] == '\n';
    assert_int_equal(lines, 3 + nk + 4);
    char path[] = "/tmp/tulip-recrawl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, j.data, j.len), (ssize_t)j.len);
    close(fd);
    crawl_recrawl *r;
    assert_int_equal(crawl_recrawl_open(path, &r), 0);
    crawl_buf b = {0}, want = {0};
    assert_int_equal(crawl_buf_puts(&want, "http://o/1 1 0;"), 0);
    for (size_t i = 0; i < nk; i++)
        assert_int_equal(crawl_buf_printf(&want, "B[%s] %d;", keys[i], -(int)i - 1), 0);
    assert_int_equal(crawl_buf_puts(&want, "http://o/2 1 0;"), 0);
    assert_int_equal(crawl_recrawl_links(r, "http://h/", collect, &b), 0);
    assert_string_equal(b.data, want.data);
    b.len = 0;
    assert_int_equal(crawl_recrawl_links(r, "http://h/other", collect, &b), 0);
    assert_string_equal(b.data, "B[x y] -22;");
    crawl_recrawl_close(r);
    crawl_buf_free(&b);
    crawl_buf_free(&want);
    crawl_buf_free(&j);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heuristic),
        cmocka_unit_test(test_explicit),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_offsite),
        cmocka_unit_test(test_bad_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
