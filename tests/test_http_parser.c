/* Tests for the HTTP/1.1 head parser and chunked decoder.
 *
 * Every input is parsed from a copy whose last byte sits against a
 * PROT_NONE page, so reading one byte too far crashes the test instead of
 * passing silently. Each input is also fed whole, one byte more per call
 * (the buffer moving every time, as the parser allows), and split in two at
 * every point; all three must agree. */
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
#include <sys/mman.h>
#include <unistd.h>

#include "tulip/http_parser.h"

#define S(lit) lit, sizeof(lit) - 1
#define MAXH 16

/* ---- guard page ---------------------------------------------------------- */

struct guard {
    char *base;
    size_t span; /* writable bytes before the PROT_NONE page */
};

static struct guard guard_new(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), pages = n / pg + 1;
    struct guard g;

    g.base = mmap(NULL, (pages + 1) * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g.base != MAP_FAILED);
    g.span = pages * pg;
    assert_int_equal(mprotect(g.base + g.span, pg, PROT_NONE), 0);
    return g;
}

/* Copies s[0..n) so that its last byte is the last readable byte. */
static char *guard_put(struct guard *g, const char *s, size_t n)
{
    char *dst = g->base + g->span - n;
    assert_true(n <= g->span);
    if (n)
        memcpy(dst, s, n);
    return dst;
}

static void guard_free(struct guard *g)
{
    munmap(g->base, g->span + (size_t)sysconf(_SC_PAGESIZE));
}

/* ---- running the head parser ------------------------------------------- */

enum { REQ, RES };

/* A parse result with slices turned into offsets, so results from
 * different buffers (and freed ones) can be compared. */
struct norm {
    int rc;
    int minor, status;
    size_t a_off, a_len; /* method or reason */
    size_t b_off, b_len; /* target */
    size_t nh;
    size_t name_off[MAXH], name_len[MAXH], value_off[MAXH], value_len[MAXH];
    int64_t cl;
    int body;
    bool chunked, until_close, keep_alive;
};

struct cfg {
    unsigned flags;
    size_t max_headers; /* 0 means MAXH here */
    size_t max_head;
};

static int parse_into(int kind, tulip_http_parser *p, const char *buf, size_t n,
                      tulip_http_request *req, tulip_http_response *res)
{
    return kind == REQ ? tulip_http_parse_request(p, buf, n, req)
                       : tulip_http_parse_response(p, buf, n, res);
}

static void normalize(struct norm *z, int kind, int rc, const tulip_http_request *req,
                      const tulip_http_response *res, const char *base)
{
    const tulip_http_header *h;

    memset(z, 0, sizeof *z);
    z->rc = rc;
    if (rc < 0)
        return;
    if (kind == REQ) {
        z->minor = req->minor_version;
        z->a_off = (size_t)(req->method - base);
        z->a_len = req->method_len;
        z->b_off = (size_t)(req->target - base);
        z->b_len = req->target_len;
        z->nh = req->num_headers;
        h = req->headers;
        z->cl = req->content_length;
        z->body = req->body;
        z->chunked = req->chunked;
        z->keep_alive = req->keep_alive;
    } else {
        z->minor = res->minor_version;
        z->status = res->status;
        z->a_off = (size_t)(res->reason - base);
        z->a_len = res->reason_len;
        z->nh = res->num_headers;
        h = res->headers;
        z->cl = res->content_length;
        z->body = res->body;
        z->chunked = res->chunked;
        z->until_close = res->until_close;
        z->keep_alive = res->keep_alive;
    }
    assert_true(z->nh <= MAXH);
    for (size_t i = 0; i < z->nh; i++) {
        z->name_off[i] = (size_t)(h[i].name - base);
        z->name_len[i] = h[i].name_len;
        z->value_off[i] = (size_t)(h[i].value - base);
        z->value_len[i] = h[i].value_len;
    }
}

static void norm_equal(const struct norm *a, const struct norm *b)
{
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->minor, b->minor);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->a_off, b->a_off);
    assert_int_equal(a->a_len, b->a_len);
    assert_int_equal(a->b_off, b->b_off);
    assert_int_equal(a->b_len, b->b_len);
    assert_int_equal(a->nh, b->nh);
    for (size_t i = 0; i < a->nh; i++) {
        assert_int_equal(a->name_off[i], b->name_off[i]);
        assert_int_equal(a->name_len[i], b->name_len[i]);
        assert_int_equal(a->value_off[i], b->value_off[i]);
        assert_int_equal(a->value_len[i], b->value_len[i]);
    }
    assert_int_equal(a->cl, b->cl);
    assert_int_equal(a->body, b->body);
    assert_int_equal(a->chunked, b->chunked);
    assert_int_equal(a->until_close, b->until_close);
    assert_int_equal(a->keep_alive, b->keep_alive);
}

static void init_parser(tulip_http_parser *p, tulip_http_header *hdrs, const struct cfg *c)
{
    size_t mh = c && c->max_headers ? c->max_headers : MAXH;
    assert_int_equal(tulip_http_parser_init(p, hdrs, mh, c ? c->max_head : 0, c ? c->flags : 0), 0);
}

/* Parses `in` whole, byte by byte, and split at every point, all against
 * the guard page; asserts they agree and returns the whole-input result. */
static struct norm parse_all_ways(int kind, const char *in, size_t n, const struct cfg *c)
{
    struct guard g = guard_new(n);
    tulip_http_header hdrs[MAXH];
    tulip_http_request req = {0};
    tulip_http_response res = {0};
    tulip_http_parser p;
    struct norm whole, z;
    char *b;
    int rc;

    init_parser(&p, hdrs, c);
    b = guard_put(&g, in, n);
    rc = parse_into(kind, &p, b, n, &req, &res);
    normalize(&whole, kind, rc, &req, &res, b);

    /* One more byte per call, the buffer at a new address each time. */
    init_parser(&p, hdrs, c);
    rc = -EAGAIN;
    for (size_t k = 0; k <= n; k++) {
        int prev = rc;
        b = guard_put(&g, in, k);
        rc = parse_into(kind, &p, b, k, &req, &res);
        if (prev != -EAGAIN)
            assert_int_equal(rc, prev); /* results are final */
        else if (rc >= 0)
            assert_int_equal((size_t)rc, k); /* done exactly at the head's last byte */
    }
    normalize(&z, kind, rc, &req, &res, b);
    norm_equal(&z, &whole);

    for (size_t s = 0; s <= n; s++) {
        init_parser(&p, hdrs, c);
        b = guard_put(&g, in, s);
        rc = parse_into(kind, &p, b, s, &req, &res);
        b = guard_put(&g, in, n);
        rc = parse_into(kind, &p, b, n, &req, &res);
        normalize(&z, kind, rc, &req, &res, b);
        norm_equal(&z, &whole);
    }
    guard_free(&g);
    return whole;
}

static void assert_slice(const char *in, size_t off, size_t len, const char *want)
{
    assert_int_equal(len, strlen(want));
    assert_memory_equal(in + off, want, len);
}

/* ---- valid heads ---------------------------------------------------------- */

static void test_response_fields(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/html; charset=utf-8\r\n"
                             "Content-Length:   12  \r\n"
                             "X-Empty:\r\n"
                             "x-tab:\ta\tb\t\r\n"
                             "\r\n"
                             "hello world!";
    struct norm z = parse_all_ways(RES, S(in), NULL);

    assert_int_equal(z.rc, sizeof in - 1 - 12);
    assert_int_equal(z.minor, 1);
    assert_int_equal(z.status, 200);
    assert_slice(in, z.a_off, z.a_len, "OK");
    assert_int_equal(z.nh, 4);
    assert_slice(in, z.name_off[0], z.name_len[0], "Content-Type");
    assert_slice(in, z.value_off[0], z.value_len[0], "text/html; charset=utf-8");
    assert_slice(in, z.name_off[1], z.name_len[1], "Content-Length");
    assert_slice(in, z.value_off[1], z.value_len[1], "12");
    assert_slice(in, z.name_off[2], z.name_len[2], "X-Empty");
    assert_slice(in, z.value_off[2], z.value_len[2], "");
    assert_slice(in, z.name_off[3], z.name_len[3], "x-tab");
    assert_slice(in, z.value_off[3], z.value_len[3], "a\tb");
    assert_int_equal(z.cl, 12);
    assert_int_equal(z.body, TULIP_HTTP_BODY_LENGTH);
    assert_true(z.keep_alive);
    assert_false(z.chunked);
    assert_false(z.until_close);
}

static void test_response_status_lines(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int minor, status;
        const char *reason;
    } cases[] = {
        {"HTTP/1.0 404 Not Found\r\n\r\n", 0, 404, "Not Found"},
        {"HTTP/1.1 200\r\n\r\n", 1, 200, ""},
        {"HTTP/1.1 200 \r\n\r\n", 1, 200, ""},
        {"HTTP/1.1 599 x  y \r\n\r\n", 1, 599, "x  y "},
        {"HTTP/1.1 100 Continue\r\n\r\n", 1, 100, "Continue"},
        {"HTTP/1.9 200 OK\r\n\r\n", 9, 200, "OK"},
        /* obs-text is allowed in a reason phrase */
        {"HTTP/1.1 200 \xc3\xa9t\xe9\xff\x80\r\n\r\n", 1, 200, "\xc3\xa9t\xe9\xff\x80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        struct norm z = parse_all_ways(RES, cases[i].in, n, NULL);
        assert_int_equal(z.rc, n);
        assert_int_equal(z.minor, cases[i].minor);
        assert_int_equal(z.status, cases[i].status);
        assert_slice(cases[i].in, z.a_off, z.a_len, cases[i].reason);
    }
}

static void test_request_fields(void **state)
{
    (void)state;
    static const char in[] = "POST /api/v1/items?id=7&x=%20 HTTP/1.1\r\n"
                             "Host: example.org\r\n"
                             "User-Agent: tulip-test/1.0\r\n"
                             "Content-Length: 5\r\n"
                             "X-Bin: \x80\xff\r\n"
                             "\r\n"
                             "hello";
    struct norm z = parse_all_ways(REQ, S(in), NULL);

    assert_int_equal(z.rc, sizeof in - 1 - 5);
    assert_slice(in, z.a_off, z.a_len, "POST");
    assert_slice(in, z.b_off, z.b_len, "/api/v1/items?id=7&x=%20");
    assert_int_equal(z.minor, 1);
    assert_int_equal(z.nh, 4);
    assert_slice(in, z.name_off[0], z.name_len[0], "Host");
    assert_slice(in, z.value_off[0], z.value_len[0], "example.org");
    assert_slice(in, z.value_off[3], z.value_len[3], "\x80\xff");
    assert_int_equal(z.cl, 5);
    assert_int_equal(z.body, TULIP_HTTP_BODY_LENGTH);
    assert_true(z.keep_alive);
}

static void test_request_variants(void **state)
{
    (void)state;
    /* empty lines before a request line are skipped (RFC 9112 2.2) */
    static const char lead[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct norm z = parse_all_ways(REQ, S(lead), NULL);
    assert_int_equal(z.rc, sizeof lead - 1);
    assert_slice(lead, z.a_off, z.a_len, "GET");
    assert_slice(lead, z.b_off, z.b_len, "/");
    assert_int_equal(z.body, TULIP_HTTP_BODY_NONE);
    assert_int_equal(z.cl, -1);

    static const char star[] = "OPTIONS * HTTP/1.0\r\n\r\n";
    z = parse_all_ways(REQ, S(star), NULL);
    assert_int_equal(z.rc, sizeof star - 1);
    assert_slice(star, z.b_off, z.b_len, "*");
    assert_int_equal(z.minor, 0);
    assert_false(z.keep_alive);
    assert_int_equal(z.nh, 0);

    static const char ext[] = "M-SEARCH! http://h:1/a?b#c HTTP/1.1\r\nhost: h\r\n\r\n";
    z = parse_all_ways(REQ, S(ext), NULL);
    assert_int_equal(z.rc, sizeof ext - 1);
    assert_slice(ext, z.a_off, z.a_len, "M-SEARCH!");
    assert_slice(ext, z.b_off, z.b_len, "http://h:1/a?b#c");
}

/* ---- framing ---------------------------------------------------------------- */

static void test_response_framing(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        unsigned flags;
        int body;
        int64_t cl;
        bool keep_alive;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 5, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 0, true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, TULIP_HTTP_BODY_CHUNKED, -1, true},
        {"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n", 0, TULIP_HTTP_BODY_CHUNKED, -1, true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, TULIP_HTTP_BODY_CHUNKED, -1, true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         TULIP_HTTP_BODY_CHUNKED, -1, true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 0, TULIP_HTTP_BODY_CHUNKED, -1, true},
        /* both framings: chunked wins, and the connection is not reused */
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         TULIP_HTTP_BODY_CHUNKED, -1, false},
        {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, TULIP_HTTP_BODY_CHUNKED, -1, false},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, TULIP_HTTP_BODY_UNTIL_CLOSE, -1, false},
        {"HTTP/1.1 200 OK\r\n\r\n", 0, TULIP_HTTP_BODY_UNTIL_CLOSE, -1, false},
        {"HTTP/1.1 204 No Content\r\n\r\n", 0, TULIP_HTTP_BODY_NONE, -1, true},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 0, TULIP_HTTP_BODY_NONE, 100, true},
        {"HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, TULIP_HTTP_BODY_NONE, -1, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", TULIP_HTTP_RESPONSE_TO_HEAD,
         TULIP_HTTP_BODY_NONE, 100, true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", TULIP_HTTP_RESPONSE_TO_HEAD,
         TULIP_HTTP_BODY_NONE, -1, true},
        {"HTTP/1.1 200 OK\r\n\r\n", TULIP_HTTP_RESPONSE_TO_HEAD, TULIP_HTTP_BODY_NONE, -1, true},
        {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 5, false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: Keep-Alive\r\n\r\n", 0,
         TULIP_HTTP_BODY_LENGTH, 5, true},
        {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: foo, keep-alive\r\n\r\n", 0,
         TULIP_HTTP_BODY_LENGTH, 5, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 5, false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nconnection: keep-alive , CLOSE\r\n\r\n", 0,
         TULIP_HTTP_BODY_LENGTH, 5, false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: closed\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 5, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: ,,\r\nConnection: close\r\n\r\n", 0,
         TULIP_HTTP_BODY_LENGTH, 5, false},
        /* agreeing duplicates are one value (RFC 9110 8.6) */
        {"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 5, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 7, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH,
         INT64_MAX, true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", 0, TULIP_HTTP_BODY_LENGTH, 7, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg c = {cases[i].flags, 0, 0};
        size_t n = strlen(cases[i].in);
        struct norm z = parse_all_ways(RES, cases[i].in, n, &c);
        print_message("case %zu\n", i);
        assert_int_equal(z.rc, n);
        assert_int_equal(z.body, cases[i].body);
        assert_int_equal(z.cl, cases[i].cl);
        assert_int_equal(z.keep_alive, cases[i].keep_alive);
        assert_int_equal(z.chunked, cases[i].body == TULIP_HTTP_BODY_CHUNKED);
        assert_int_equal(z.until_close, cases[i].body == TULIP_HTTP_BODY_UNTIL_CLOSE);
    }
}

static void test_request_framing(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int body;
        int64_t cl;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", TULIP_HTTP_BODY_NONE, -1, true},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", TULIP_HTTP_BODY_LENGTH, 10, true},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", TULIP_HTTP_BODY_CHUNKED, -1, true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", TULIP_HTTP_BODY_NONE, -1, false},
        {"GET / HTTP/1.0\r\n\r\n", TULIP_HTTP_BODY_NONE, -1, false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", TULIP_HTTP_BODY_NONE, -1, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        struct norm z = parse_all_ways(REQ, cases[i].in, n, NULL);
        print_message("case %zu\n", i);
        assert_int_equal(z.rc, n);
        assert_int_equal(z.body, cases[i].body);
        assert_int_equal(z.cl, cases[i].cl);
        assert_int_equal(z.keep_alive, cases[i].keep_alive);
        assert_int_equal(z.chunked, cases[i].body == TULIP_HTTP_BODY_CHUNKED);
    }
}

/* ---- invalid heads ---------------------------------------------------------- */

struct bad {
    const char *in;
    size_t len; /* 0: strlen(in); inputs with NUL give it */
    int err;
};

static void check_bad(int kind, const struct bad *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        struct norm z;
        print_message("case %zu\n", i);
        z = parse_all_ways(kind, cases[i].in, len, NULL);
        assert_int_equal(z.rc, cases[i].err);
    }
}

#define BAD(lit, err) {lit, 0, err}
#define BADN(lit, err) {lit, sizeof(lit) - 1, err}

static void test_response_bad(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        /* status line */
        BAD("HTTP/1.1 \r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 20 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 2000 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 abc OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 2x0 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 099 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 600 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1  200 OK\r\n\r\n", -EBADMSG),
        BAD("200 OK\r\n\r\n", -EBADMSG),
        BAD(" 200 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/ 200 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1 200 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.x 200 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.10 200 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/2 200 OK\r\n\r\n", -EBADMSG),
        BAD("http/1.1 200 OK\r\n\r\n", -EBADMSG),
        BAD("HTTPS/1.1 200 OK\r\n\r\n", -EBADMSG),
        BAD("\r\nHTTP/1.1 200 OK\r\n\r\n", -EBADMSG),
        BAD("HTTP/2.0 200 OK\r\n\r\n", -EPROTONOSUPPORT),
        BAD("HTTP/0.9 200 OK\r\n\r\n", -EPROTONOSUPPORT),
        /* line endings */
        BAD("HTTP/1.1 200 OK\n\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: b\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: b\r\n\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\rA: b\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: b\r\n\rx", -EBADMSG),
        /* control bytes */
        BADN("HTTP/1.1 200 O\0K\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 O\x01K\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 O\x7fK\r\n\r\n", -EBADMSG),
        BADN("HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n", -EBADMSG),
        BADN("HTTP/1.1 200 OK\r\nA\0: b\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: b\x1f\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: \x7f\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA\x7f: b\r\n\r\n", -EBADMSG),
        /* header lines */
        BAD("HTTP/1.1 200 OK\r\nA : b\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA\t: b\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA B: c\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\n: b\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\n A: b\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nA\"b: c\r\n\r\n", -EBADMSG),
        /* obs-text is fine in values and reasons but not in names */
        BAD("HTTP/1.1 200 OK\r\nCaf\xc3\xa9: b\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\n\xff: b\r\n\r\n", -EBADMSG),
        /* Content-Length */
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n", -EBADMSG),
        /* Transfer-Encoding: chunked must be last and once */
        BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", -EBADMSG),
        BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", -EBADMSG),
    };
    check_bad(RES, cases, sizeof cases / sizeof cases[0]);
}

static void test_request_bad(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("GET  / HTTP/1.0\r\n\r\n", -EBADMSG),
        BAD("GET \x01/ HTTP/1.0\r\n\r\n", -EBADMSG),
        BAD("GET  HTTP/1.0\r\n\r\n", -EBADMSG),
        BAD("GET / HTTP/1.0 \r\n\r\n", -EBADMSG),
        BAD("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("GET / HTTP/1.1\nHost: a\r\n\r\n", -EBADMSG),
        BAD("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BADN("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG),
        BAD("GET / HTTP/1.1\r\n\r\n", -EBADMSG),
        BAD("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", -EBADMSG),
        BAD("GET /\r\n\r\n", -EBADMSG),
        BAD("GET / HTTP/2.0\r\nHost: a\r\n\r\n", -EPROTONOSUPPORT),
        BAD("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -EPROTONOSUPPORT),
        /* request smuggling: two framings, or one nobody can read */
        BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            -EBADMSG),
        BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            -EBADMSG),
        BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", -EBADMSG),
        BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", -EBADMSG),
        BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", -EBADMSG),
        BAD("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -EBADMSG),
        BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -EBADMSG),
        BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", -EBADMSG),
        BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n Content-Length: 5\r\n\r\n",
            -EBADMSG),
    };
    check_bad(REQ, cases, sizeof cases / sizeof cases[0]);
}

/* ---- limits -------------------------------------------------------------- */

static void test_too_many_headers(void **state)
{
    (void)state;
    static const char three[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    static const char four[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    static const char none[] = "HTTP/1.1 200 OK\r\n\r\n";
    struct cfg c = {0, 3, 0};
    struct norm z = parse_all_ways(RES, S(three), &c);
    assert_int_equal(z.rc, sizeof three - 1);
    assert_int_equal(z.nh, 3);
    z = parse_all_ways(RES, S(four), &c);
    assert_int_equal(z.rc, -E2BIG);

    /* no header array at all is fine for a head without headers */
    tulip_http_parser p;
    tulip_http_response res;
    assert_int_equal(tulip_http_parser_init(&p, NULL, 0, 0, 0), 0);
    assert_int_equal(tulip_http_parse_response(&p, S(none), &res), sizeof none - 1);
    assert_int_equal(res.num_headers, 0);
    assert_int_equal(tulip_http_parser_init(&p, NULL, 0, 0, 0), 0);
    assert_int_equal(tulip_http_parse_response(&p, S(three), &res), -E2BIG);
}

static void test_head_too_large(void **state)
{
    (void)state;
    static const char head[] = "HTTP/1.1 200 OK\r\nA: 1234567890\r\n\r\n"; /* 35 bytes */
    static const char with_body[] = "HTTP/1.1 200 OK\r\nA: 1234567890\r\n\r\nbody bytes past the limit";
    size_t hl = sizeof head - 1;
    struct cfg exact = {0, 0, hl}, small = {0, 0, hl - 1};
    struct norm z;

    z = parse_all_ways(RES, S(head), &exact);
    assert_int_equal(z.rc, hl);
    /* body bytes do not count against the head limit */
    z = parse_all_ways(RES, S(with_body), &exact);
    assert_int_equal(z.rc, hl);
    z = parse_all_ways(RES, S(head), &small);
    assert_int_equal(z.rc, -EMSGSIZE);
    z = parse_all_ways(RES, S(with_body), &small);
    assert_int_equal(z.rc, -EMSGSIZE);

    /* incomplete but within the limit is still need-more */
    tulip_http_header hdrs[MAXH];
    tulip_http_parser p;
    tulip_http_response res;
    init_parser(&p, hdrs, &small);
    assert_int_equal(tulip_http_parse_response(&p, head, hl - 1, &res), -EAGAIN);
    assert_int_equal(tulip_http_parse_response(&p, head, hl, &res), -EMSGSIZE);

    /* a peer that never ends its head is cut off at the default limit */
    size_t big = TULIP_HTTP_DEFAULT_MAX_HEAD + 100;
    char *junk = malloc(big);
    assert_non_null(junk);
    memcpy(junk, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(junk + 20, 'a', big - 20);
    z = parse_all_ways(RES, junk, TULIP_HTTP_DEFAULT_MAX_HEAD, NULL);
    assert_int_equal(z.rc, -EAGAIN);
    z = parse_all_ways(RES, junk, TULIP_HTTP_DEFAULT_MAX_HEAD + 1, NULL);
    assert_int_equal(z.rc, -EMSGSIZE);
    free(junk);
}

/* A request head that arrives whole is checked and cut in one pass (the
 * usual case); one that arrives in parts goes through the resumable scan.
 * Every byte value, at every place of a word in the method, the target, a
 * header name and a header value (and next to a HTAB, which the one pass
 * steps over), in the version and the line ends, must get the same answer
 * both ways. */
static void same_in_guard(struct guard *g, const char *in, size_t n, const struct cfg *c)
{
    tulip_http_header h1[MAXH], h2[MAXH];
    tulip_http_request req = {0};
    tulip_http_parser p;
    struct norm whole, split;
    char *b = guard_put(g, in, n);

    init_parser(&p, h1, c);
    normalize(&whole, REQ, tulip_http_parse_request(&p, b, n, &req), &req, NULL, b);
    init_parser(&p, h2, c);
    int rc = tulip_http_parse_request(&p, b, 1, &req);
    if (rc == -EAGAIN)
        rc = tulip_http_parse_request(&p, b, n, &req);
    normalize(&split, REQ, rc, &req, NULL, b);
    norm_equal(&whole, &split);
}

static void same_whole_and_split(const char *in, size_t n, const struct cfg *c)
{
    struct guard g = guard_new(n);
    same_in_guard(&g, in, n, c);
    guard_free(&g);
}

static void test_request_one_pass(void **state)
{
    (void)state;
    static const char tmpl[] = "GETX /abcdefghijklmnop HTTP/1.1\r\nHost: h\r\n"
                               "Name-abcdefghijklmn: abcdefghijklmnopqrstuvw\tx \r\n\r\n";
    const char *at[] = {"X /", "/abc", "bcdefgh", "ijklmnop ", "HTTP/1.1\r\n", "Name-", "abcdefghijklmn:",
                        ": abc", "abcdefghijklmnopq", "rstuvw", "\tx", " \r\n\r"};
    char in[sizeof tmpl];
    size_t n = sizeof tmpl - 1;
    struct guard g = guard_new(n);
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        size_t base = (size_t)(strstr(tmpl, at[i]) - tmpl), len = strlen(at[i]);
        for (size_t k = base; k < base + len; k++)
            for (unsigned v = 0; v < 256; v++) {
                memcpy(in, tmpl, sizeof tmpl);
                in[k] = (char)v;
                same_in_guard(&g, in, n, NULL);
            }
    }
    guard_free(&g);
    /* the usual request itself, and with HTAB around values */
    same_whole_and_split(S("GET / HTTP/1.1\r\nHost: 127.0.0.1:8090\r\n\r\n"), NULL);
    same_whole_and_split(S("GET / HTTP/1.1\r\nHost:\t\ta\t \r\nX:\r\nY: \t\r\n\r\n"), NULL);
    struct norm z = parse_all_ways(REQ, S("GET / HTTP/1.1\r\nHost:\t\ta\t b \r\nX:\r\n\r\n"), NULL);
    assert_int_equal(z.nh, 2);
    assert_int_equal(z.value_len[0], 4); /* "a\t b" */
    assert_int_equal(z.value_len[1], 0);

    /* the limits hold on the one pass as on the other */
    static const char two[] = "GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\n\r\n";
    struct cfg c2 = {0, 2, 0}, c1 = {0, 1, 0};
    z = parse_all_ways(REQ, S(two), &c2);
    assert_int_equal(z.rc, sizeof two - 1);
    z = parse_all_ways(REQ, S(two), &c1);
    assert_int_equal(z.rc, -E2BIG);
    struct cfg exact = {0, 0, sizeof two - 1}, small = {0, 0, sizeof two - 2};
    z = parse_all_ways(REQ, S(two), &exact);
    assert_int_equal(z.rc, sizeof two - 1);
    z = parse_all_ways(REQ, S(two), &small);
    assert_int_equal(z.rc, -EMSGSIZE);
    for (size_t m = 1; m < sizeof two + 8; m++) {
        struct cfg cm = {0, 0, m};
        for (size_t hmax = 1; hmax <= 3; hmax++) {
            cm.max_headers = hmax;
            same_whole_and_split(S(two), &cm);
        }
    }
}

/* ---- API edges ----------------------------------------------------------------- */

static void test_incomplete_is_eagain(void **state)
{
    (void)state;
    static const char *valid[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    for (int kind = REQ; kind <= RES; kind++) {
        const char *in = valid[kind == REQ ? 1 : 0];
        size_t n = strlen(in);
        struct guard g = guard_new(n);
        for (size_t k = 0; k < n; k++) {
            tulip_http_header hdrs[MAXH];
            tulip_http_parser p;
            tulip_http_request req;
            tulip_http_response res;
            init_parser(&p, hdrs, NULL);
            assert_int_equal(parse_into(kind, &p, guard_put(&g, in, k), k, &req, &res), -EAGAIN);
        }
        guard_free(&g);
    }
}

static void test_errors_are_sticky_and_args_checked(void **state)
{
    (void)state;
    tulip_http_header hdrs[4];
    tulip_http_parser p;
    tulip_http_response res;
    tulip_http_request req;

    assert_int_equal(tulip_http_parser_init(NULL, hdrs, 4, 0, 0), -EINVAL);
    assert_int_equal(tulip_http_parser_init(&p, NULL, 4, 0, 0), -EINVAL);
    assert_int_equal(tulip_http_parser_init(&p, hdrs, 4, (size_t)INT32_MAX + 1, 0), -EINVAL);
    assert_int_equal(tulip_http_parser_init(&p, hdrs, 4, 0, 0x80), -EINVAL);

    assert_int_equal(tulip_http_parser_init(&p, hdrs, 4, 0, 0), 0);
    assert_int_equal(tulip_http_parse_response(&p, NULL, 3, &res), -EINVAL);
    assert_int_equal(tulip_http_parse_response(&p, "HTTP/1.1", 8, NULL), -EINVAL);
    assert_int_equal(tulip_http_parse_response(&p, NULL, 0, &res), -EAGAIN);
    assert_int_equal(tulip_http_parse_response(&p, "HTTP/1.1 2", 10, &res), -EAGAIN);
    /* bytes once fed cannot be taken back */
    assert_int_equal(tulip_http_parse_response(&p, "HTTP/1.1 ", 9, &res), -EINVAL);
    /* a parser started on a response cannot switch to requests */
    assert_int_equal(tulip_http_parse_request(&p, "HTTP/1.1 2", 10, &req), -EINVAL);
    assert_int_equal(tulip_http_parse_response(&p, S("HTTP/1.1 2x"), &res), -EBADMSG);
    /* more (even valid-looking) input does not revive it */
    assert_int_equal(tulip_http_parse_response(&p, S("HTTP/1.1 2x\r\n\r\n"), &res), -EBADMSG);

    /* done is done: calling again returns the same head */
    static const char ok[] = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
    assert_int_equal(tulip_http_parser_init(&p, hdrs, 4, 0, 0), 0);
    assert_int_equal(tulip_http_parse_response(&p, S(ok), &res), sizeof ok - 1);
    memset(&res, 0, sizeof res);
    assert_int_equal(tulip_http_parse_response(&p, S(ok), &res), sizeof ok - 1);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.num_headers, 1);
    /* re-init starts a new message */
    assert_int_equal(tulip_http_parser_init(&p, hdrs, 4, 0, 0), 0);
    assert_int_equal(tulip_http_parse_request(&p, S("GET / HTTP/1.0\r\n\r\n"), &req), 18);
}

static void test_header_find(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Type: x\r\n"
                             "SET-COOKIE: b=2\r\nSet-Cookie2: no\r\n\r\n";
    tulip_http_header hdrs[MAXH];
    tulip_http_parser p;
    tulip_http_response res;

    init_parser(&p, hdrs, NULL);
    assert_int_equal(tulip_http_parse_response(&p, S(in), &res), sizeof in - 1);
    ssize_t i = tulip_http_header_find(res.headers, res.num_headers, "set-cookie", 0);
    assert_int_equal(i, 0);
    i = tulip_http_header_find(res.headers, res.num_headers, "set-cookie", (size_t)i + 1);
    assert_int_equal(i, 2);
    assert_memory_equal(res.headers[i].value, "b=2", 3);
    assert_int_equal(tulip_http_header_find(res.headers, res.num_headers, "set-cookie", 3), -ENOENT);
    assert_int_equal(tulip_http_header_find(res.headers, res.num_headers, "Content-type", 0), 1);
    assert_int_equal(tulip_http_header_find(res.headers, res.num_headers, "Content", 0), -ENOENT);
    assert_int_equal(tulip_http_header_find(res.headers, res.num_headers, "", 0), -ENOENT);
    /* '@' | 0x20 is '`': a sloppy case fold would match these */
    tulip_http_header odd = {"`", 1, "", 0};
    assert_int_equal(tulip_http_header_find(&odd, 1, "@", 0), -ENOENT);
    assert_int_equal(tulip_http_header_find(NULL, 0, "x", 0), -ENOENT);
    assert_int_equal(tulip_http_header_find(NULL, 1, "x", 0), -EINVAL);
    assert_int_equal(tulip_http_header_find(hdrs, 1, NULL, 0), -EINVAL);
}

/* ---- chunked decoder ------------------------------------------------------ */

struct dec {
    ssize_t rc;
    char out[256];
    size_t out_len;
    char left[64];
    size_t left_len;
};

/* Feeds in[0..n) in pieces cut at the given points, each piece placed
 * against the guard page; collects decoded data and leftover. */
static struct dec decode_pieces(const char *in, size_t n, uint64_t max, const size_t *cuts,
                                size_t ncuts)
{
    struct guard g = guard_new(n);
    tulip_http_chunked d;
    struct dec r;
    size_t from = 0;

    memset(&r, 0, sizeof r);
    assert_int_equal(tulip_http_chunked_init(&d, max), 0);
    r.rc = -EAGAIN;
    for (size_t i = 0; i <= ncuts && r.rc == -EAGAIN; i++) {
        size_t to = i < ncuts ? cuts[i] : n, len = to - from;
        char *b = guard_put(&g, in + from, len);
        r.rc = tulip_http_chunked_decode(&d, b, &len);
        if (r.rc < 0 && r.rc != -EAGAIN)
            break;
        assert_true(r.out_len + len <= sizeof r.out);
        memcpy(r.out + r.out_len, b, len);
        r.out_len += len;
        if (r.rc >= 0) {
            /* what follows the body is handed back intact, right after the
             * data; with the pieces not fed yet it is the next message */
            assert_true((size_t)r.rc <= to - from);
            assert_memory_equal(b + len, in + to - r.rc, (size_t)r.rc);
            r.left_len = n - (to - (size_t)r.rc);
            assert_true(r.left_len <= sizeof r.left);
            memcpy(r.left, in + to - r.rc, r.left_len);
            r.rc = (ssize_t)r.left_len; /* as if fed whole */
        }
        from = to;
    }
    guard_free(&g);
    return r;
}

static void dec_equal(const struct dec *a, const struct dec *b)
{
    assert_int_equal(a->rc, b->rc);
    if (a->rc < 0 && a->rc != -EAGAIN)
        return; /* data decoded before an error is unspecified */
    assert_int_equal(a->out_len, b->out_len);
    assert_memory_equal(a->out, b->out, a->out_len);
    assert_int_equal(a->left_len, b->left_len);
    assert_memory_equal(a->left, b->left, a->left_len);
}

/* Whole, every two-way split, and one byte per call must agree. */
static struct dec decode_all_ways(const char *in, size_t n, uint64_t max)
{
    struct dec whole = decode_pieces(in, n, max, NULL, 0), z;
    size_t cuts[512];

    assert_true(n < sizeof cuts / sizeof cuts[0]);
    for (size_t s = 0; s <= n; s++) {
        z = decode_pieces(in, n, max, &s, 1);
        dec_equal(&z, &whole);
    }
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    z = decode_pieces(in, n, max, cuts, n);
    dec_equal(&z, &whole);
    return whole;
}

static void test_chunked_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out, *left;
    } cases[] = {
        {"5\r\nhello\r\n0\r\n\r\n", "hello", ""},
        {"0\r\n\r\n", "", ""},
        {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", ""},
        {"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", ""},
        {"0005\r\nhello\r\n000\r\n\r\n", "hello", ""},
        {"5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello", ""},
        {"5 ; a=\"q s\" ;b\r\nhello\r\n0\r\n\r\n", "hello", ""},
        {"5;\xff\xfe\r\nhello\r\n0\r\n\r\n", "hello", ""},
        {"1\r\n\r\r\n1\r\n\n\r\n0\r\n\r\n", "\r\n", ""}, /* data is opaque */
        {"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum:\t1 2 \r\nEmpty:\r\n\r\n", "abc", ""},
        {"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", "abc", "HTTP/1.1 200 OK\r\n"},
        {"0\r\n\r\n\r\n", "", "\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        struct dec z;
        print_message("case %zu\n", i);
        z = decode_all_ways(cases[i].in, n, UINT64_MAX);
        assert_int_equal(z.rc, strlen(cases[i].left));
        assert_int_equal(z.out_len, strlen(cases[i].out));
        assert_memory_equal(z.out, cases[i].out, z.out_len);
        assert_memory_equal(z.left, cases[i].left, z.left_len);
    }
}

static void test_chunked_bad(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t max;
        ssize_t err;
    } cases[] = {
        {"x\r\n", UINT64_MAX, -EBADMSG},
        {"\r\n", UINT64_MAX, -EBADMSG},
        {";ext\r\n", UINT64_MAX, -EBADMSG},
        {"-5\r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"0x5\r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"+5\r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {" 5\r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5 \r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5 x\r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5g\r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\rhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5;a\x01\r\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5;a\nhello\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\r\nhelloX\r\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\r\nhello\n0\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\r\nhello\r\n0\r\n\n", UINT64_MAX, -EBADMSG},
        {"5\r\nhello\r\n0\r\n x: 1\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\r\nhello\r\n0\r\nx : 1\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\r\nhello\r\n0\r\nnocolon\r\n\r\n", UINT64_MAX, -EBADMSG},
        {"5\r\nhello\r\n0\r\nx: a\x7f\r\n\r\n", UINT64_MAX, -EBADMSG},
        /* 2^64: one hex digit too many */
        {"10000000000000000\r\n", UINT64_MAX, -EBADMSG},
        {"00000000000000000ffffffffffffffff0\r\n", UINT64_MAX, -EBADMSG},
        /* body limit: refused at the size line, before any data */
        {"5\r\nhello\r\n0\r\n\r\n", 4, -EFBIG},
        {"5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n", 7, -EFBIG},
        {"ffffffffffffffff\r\n", 1000000, -EFBIG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dec z;
        print_message("case %zu\n", i);
        z = decode_all_ways(cases[i].in, strlen(cases[i].in), cases[i].max);
        assert_int_equal(z.rc, cases[i].err);
    }
    /* exactly at the limit is fine */
    struct dec z = decode_all_ways(S("5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"), 8);
    assert_int_equal(z.rc, 0);
    assert_int_equal(z.out_len, 8);
    /* the largest size that fits is a size, not an error: it waits for data */
    z = decode_all_ways(S("ffffffffffffffff\r\nabc"), UINT64_MAX);
    assert_int_equal(z.rc, -EAGAIN);
    assert_int_equal(z.out_len, 3);
}

static void test_chunked_truncated(void **state)
{
    (void)state;
    static const char in[] = "5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n";
    size_t n = sizeof in - 1;
    struct guard g = guard_new(n);

    /* no proper prefix is ever a finished body */
    for (size_t k = 0; k < n; k++) {
        tulip_http_chunked d;
        size_t len = k;
        char *b = guard_put(&g, in, k);
        assert_int_equal(tulip_http_chunked_init(&d, UINT64_MAX), 0);
        assert_int_equal(tulip_http_chunked_decode(&d, b, &len), -EAGAIN);
        assert_true(len <= 6);
    }
    guard_free(&g);
}

static void test_chunked_meta_limit(void **state)
{
    (void)state;
    size_t big = TULIP_HTTP_CHUNKED_MAX_META + 10;
    char *buf = malloc(big + 16);
    struct guard g = guard_new(big + 16);
    tulip_http_chunked d;
    size_t len;

    assert_non_null(buf);
    /* an endless chunk extension */
    memcpy(buf, "5;", 2);
    memset(buf + 2, 'e', big);
    assert_int_equal(tulip_http_chunked_init(&d, UINT64_MAX), 0);
    len = big + 2;
    assert_int_equal(tulip_http_chunked_decode(&d, guard_put(&g, buf, len), &len), -EMSGSIZE);

    /* endless whitespace before ';' */
    buf[0] = '5';
    memset(buf + 1, ' ', big);
    assert_int_equal(tulip_http_chunked_init(&d, UINT64_MAX), 0);
    len = big + 1;
    assert_int_equal(tulip_http_chunked_decode(&d, guard_put(&g, buf, len), &len), -EMSGSIZE);
    guard_free(&g);

    /* endless trailers of empty values, fed a line at a time */
    assert_int_equal(tulip_http_chunked_init(&d, UINT64_MAX), 0);
    len = 3;
    memcpy(buf, "0\r\n", 3);
    assert_int_equal(tulip_http_chunked_decode(&d, buf, &len), -EAGAIN);
    ssize_t rc = -EAGAIN;
    for (size_t i = 0; i < TULIP_HTTP_CHUNKED_MAX_META && rc == -EAGAIN; i++) {
        memcpy(buf, "a:\r\n", 4);
        len = 4;
        rc = tulip_http_chunked_decode(&d, buf, &len);
    }
    assert_int_equal(rc, -EMSGSIZE);
    free(buf);
}

static void test_chunked_api(void **state)
{
    (void)state;
    tulip_http_chunked d;
    char buf[32];
    size_t len;

    assert_int_equal(tulip_http_chunked_init(NULL, 1), -EINVAL);
    assert_int_equal(tulip_http_chunked_init(&d, UINT64_MAX), 0);
    len = 1;
    assert_int_equal(tulip_http_chunked_decode(NULL, buf, &len), -EINVAL);
    assert_int_equal(tulip_http_chunked_decode(&d, NULL, &len), -EINVAL);
    assert_int_equal(tulip_http_chunked_decode(&d, buf, NULL), -EINVAL);
    len = 0;
    assert_int_equal(tulip_http_chunked_decode(&d, NULL, &len), -EAGAIN);

    /* after the end every byte is left over; errors stick */
    memcpy(buf, "0\r\n\r\n", 5);
    len = 5;
    assert_int_equal(tulip_http_chunked_decode(&d, buf, &len), 0);
    assert_int_equal(len, 0);
    memcpy(buf, "abc", 3);
    len = 3;
    assert_int_equal(tulip_http_chunked_decode(&d, buf, &len), 3);
    assert_int_equal(len, 0);
    assert_memory_equal(buf, "abc", 3);
    len = 0;
    assert_int_equal(tulip_http_chunked_decode(&d, buf, &len), 0);

    assert_int_equal(tulip_http_chunked_init(&d, UINT64_MAX), 0);
    memcpy(buf, "zz", 2);
    len = 2;
    assert_int_equal(tulip_http_chunked_decode(&d, buf, &len), -EBADMSG);
    memcpy(buf, "0\r\n\r\n", 5);
    len = 5;
    assert_int_equal(tulip_http_chunked_decode(&d, buf, &len), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_fields),
        cmocka_unit_test(test_response_status_lines),
        cmocka_unit_test(test_request_fields),
        cmocka_unit_test(test_request_variants),
        cmocka_unit_test(test_response_framing),
        cmocka_unit_test(test_request_framing),
        cmocka_unit_test(test_response_bad),
        cmocka_unit_test(test_request_bad),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_head_too_large),
        cmocka_unit_test(test_request_one_pass),
        cmocka_unit_test(test_incomplete_is_eagain),
        cmocka_unit_test(test_errors_are_sticky_and_args_checked),
        cmocka_unit_test(test_header_find),
        cmocka_unit_test(test_chunked_valid),
        cmocka_unit_test(test_chunked_bad),
        cmocka_unit_test(test_chunked_truncated),
        cmocka_unit_test(test_chunked_meta_limit),
        cmocka_unit_test(test_chunked_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
