/* The HTTP server through raw sockets: keep-alive, pipelining, request
 * bodies, HEAD, HTTP/1.0, 400/431/413/505 then close, idle timeout,
 * shutdown with connections open, fault injection. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "test_util.h"
#include "http_test_util.h"
#include "tulip/testing.h"

static int handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    char out[256];
    const char *body = r->body;
    size_t len = r->body_len;
    /* Read whole by the server (opts.whole_body) or here, on demand. */
    if (!body && tulip_http_request_body(res, &body, &len) < 0)
        return -EIO;
    int n = snprintf(out, sizeof out, "%.*s %.*s %zu:%.*s", (int)r->method_len, r->method, (int)r->path_len, r->path,
                     len, (int)(len < 64 ? len : 64), body);
    if (r->path_len == 6 && memcmp(r->path, "/fail/", 6) == 0)
        return -EIO; /* no answer: 500, then close */
    return tulip_http_respond(res, 200, "text/plain", out, (size_t)n);
}

typedef struct fx {
    tulip_http_server *srv;
    tulip_task *task;
    char addr[64];
} fx;

static void fx_start_with(fx *f, const tulip_http_server_opts *o, tulip_http_handler h)
{
    f->srv = tulip_http_server_new(o, h, NULL);
    assert_non_null(f->srv);
    assert_int_equal(tulip_http_server_listen(f->srv, "127.0.0.1:0"), 0);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", tulip_http_server_port(f->srv));
    f->task = tulip_spawn(tulip_http_server_task, f->srv);
    assert_non_null(f->task);
}

static void fx_start(fx *f, const tulip_http_server_opts *o)
{
    fx_start_with(f, o, handler);
}

static void fx_stop(fx *f)
{
    tulip_http_server_shutdown(f->srv);
    assert_int_equal(tulip_join(f->task), 0);
    tulip_http_server_free(f->srv);
}

/* A raw connection (tests/http_test_util.h) to the fixture's server. */
static void raw_open(raw *c, fx *f)
{
    raw_dial(c, f->addr);
}

/* Reads one response; returns its status and copies its body into body
 * (NUL-terminated); 0 at EOF before any byte. */
static int raw_response(raw *c, bool head, char *body, size_t cap, bool *keep_alive)
{
    tulip_http_header hdrs[32];
    tulip_http_parser p;
    tulip_http_response res;
    tulip_http_parser_init(&p, hdrs, 32, 0, head ? TULIP_HTTP_RESPONSE_TO_HEAD : 0);
    int rc;
    while ((rc = tulip_http_parse_response(&p, c->buf, c->len, &res)) == -EAGAIN) {
        ssize_t n = tulip_read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        assert_true(n >= 0);
        if (n == 0) {
            assert_int_equal(c->len, 0);
            return 0;
        }
        c->len += (size_t)n;
    }
    assert_true(rc > 0);
    size_t h = (size_t)rc;
    assert_true(res.body == TULIP_HTTP_BODY_LENGTH || res.body == TULIP_HTTP_BODY_NONE);
    size_t blen = res.body == TULIP_HTTP_BODY_LENGTH ? (size_t)res.content_length : 0;
    while (c->len < h + blen) {
        ssize_t n = tulip_read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        assert_true(n > 0);
        c->len += (size_t)n;
    }
    assert_true(blen < cap);
    memcpy(body, c->buf + h, blen);
    body[blen] = '\0';
    if (keep_alive)
        *keep_alive = res.keep_alive;
    memmove(c->buf, c->buf + h + blen, c->len - h - blen);
    c->len -= h + blen;
    return res.status;
}

static void raw_expect_eof(raw *c)
{
    assert_int_equal(c->len, 0);
    char b[64];
    assert_int_equal(tulip_read(c->fd, b, sizeof b), 0);
}

static tulip_http_server_stats stats(fx *f)
{
    tulip_http_server_stats st;
    assert_int_equal(tulip_http_server_stats_get(f->srv, &st), 0);
    return st;
}

/* ---- keep-alive and pipelining -------------------------------------------- */

static int keepalive_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f, NULL);
    raw c;
    raw_open(&c, &f);
    char body[1024];
    bool ka;
    for (int i = 0; i < 3; i++) {
        raw_send(&c, "GET /a?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_int_equal(raw_response(&c, false, body, sizeof body, &ka), 200);
        assert_string_equal(body, "GET /a 0:");
        assert_true(ka);
    }
    /* Pipelined: three requests in one write, three answers in order. */
    raw_send(&c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                 "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                 "POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    assert_string_equal(body, "GET /1 0:");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    assert_string_equal(body, "POST /2 5:hello");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    assert_string_equal(body, "POST /3 5:abcde");

    /* HEAD: the length of the GET answer, no body. */
    raw_send(&c, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(raw_response(&c, true, body, sizeof body, NULL), 200);
    assert_string_equal(body, "");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    assert_string_equal(body, "GET /after 0:");

    /* Connection: close is honoured. */
    raw_send(&c, "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, &ka), 200);
    assert_false(ka);
    raw_expect_eof(&c);
    tulip_close(c.fd);
    assert_int_equal(stats(&f).connections, 1);
    assert_int_equal(stats(&f).requests, 9);

    /* HTTP/1.0: closed unless asked to keep alive. */
    raw_open(&c, &f);
    raw_send(&c, "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, &ka), 200);
    assert_true(ka);
    raw_send(&c, "GET /old HTTP/1.0\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, &ka), 200);
    assert_false(ka);
    raw_expect_eof(&c);
    tulip_close(c.fd);

    /* A handler that fails without answering: 500, then close. */
    raw_open(&c, &f);
    raw_send(&c, "GET /fail/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 500);
    raw_expect_eof(&c);
    tulip_close(c.fd);

    /* Expect: 100-continue gets its interim answer before the body is sent. */
    raw_open(&c, &f);
    raw_send(&c, "PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 100);
    raw_send(&c, "xyz");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    assert_string_equal(body, "PUT /up 3:xyz");
    tulip_close(c.fd);
    fx_stop(&f);
    return 0;
}

static void test_keepalive_pipelining(void **state)
{
    (void)state;
    assert_int_equal(test_run(keepalive_body, NULL), 0);
}

/* ---- bad requests ------------------------------------------------------------- */

typedef struct bad {
    const char *name;
    const char *req;
    int status;
} bad;

static char long_head[20000];
static char many[6000];

static int bad_body(void *arg)
{
    (void)arg;
    int n = snprintf(long_head, sizeof long_head, "GET / HTTP/1.1\r\nHost: x\r\nX-Long: ");
    memset(long_head + n, 'a', 17000);
    strcpy(long_head + n + 17000, "\r\n\r\n");
    n = snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 150; i++)
        n += snprintf(many + n, sizeof many - (size_t)n, "X-%d: v\r\n", i);
    snprintf(many + n, sizeof many - (size_t)n, "\r\n");
    const bad cases[] = {
        {"bad header line", "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400},
        {"no host", "GET / HTTP/1.1\r\n\r\n", 400},
        {"bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400},
        {"binary junk", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400},
        {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"bad chunk", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400},
        {"head too long", long_head, 431},
        {"too many headers", many, 431},
        {"body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413},
        {"chunked body too large", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413},
        {"HTTP/2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        /* After a good request on the same connection, too. */
        {"good then bad", "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nA\r\n\r\n", 400},
    };
    fx f;
    fx_start(&f, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw c;
        raw_open(&c, &f);
        raw_send(&c, cases[i].req);
        char body[1024];
        bool ka = true;
        int st = raw_response(&c, false, body, sizeof body, &ka);
        if (st == 200)
            st = raw_response(&c, false, body, sizeof body, &ka);
        if (st != cases[i].status)
            fail_msg("case \"%s\": status %d, want %d", cases[i].name, st, cases[i].status);
        assert_false(ka);
        raw_expect_eof(&c);
        tulip_close(c.fd);
    }
    fx_stop(&f);
    return 0;
}

static void test_bad_requests(void **state)
{
    (void)state;
    assert_int_equal(test_run(bad_body, NULL), 0);
}

/* ---- timeouts and shutdown ------------------------------------------------------ */

static int idle_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    o.idle_timeout = TULIP_SEC(5);
    o.request_timeout = TULIP_SEC(2);
    o.header_timeout = TULIP_SEC(3);
    fx f;
    fx_start(&f, &o);
    raw c;
    char body[256];
    /* A new connection that sends nothing: closed after header_timeout. */
    raw_open(&c, &f);
    int64_t t0 = tulip_now();
    raw_expect_eof(&c);
    assert_int_equal(tulip_now() - t0, TULIP_SEC(3));
    tulip_close(c.fd);
    /* Idle between requests: closed after idle_timeout without a word. */
    raw_open(&c, &f);
    raw_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    t0 = tulip_now();
    raw_expect_eof(&c);
    assert_int_equal(tulip_now() - t0, TULIP_SEC(5));
    tulip_close(c.fd);
    /* A trickling request is cut at request_timeout after its first byte. */
    raw_open(&c, &f);
    raw_send(&c, "GET / HTTP/1.1\r\n");
    t0 = tulip_now();
    raw_expect_eof(&c);
    assert_int_equal(tulip_now() - t0, TULIP_SEC(2));
    tulip_close(c.fd);
    /* Shutdown with connections open cancels and joins them. */
    raw c2;
    raw_open(&c, &f);
    raw_open(&c2, &f);
    raw_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    assert_int_equal(stats(&f).active, 2);
    tulip_http_server_stats st = stats(&f);
    fx_stop(&f);
    assert_int_equal(st.peak_active, 2);
    raw_expect_eof(&c);
    raw_expect_eof(&c2);
    tulip_close(c.fd);
    tulip_close(c2.fd);
    return 0;
}

static void test_idle_and_shutdown(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(idle_body, NULL), 0);
}

static int cancel_serve_body(void *arg)
{
    (void)arg;
    tulip_http_server *srv = tulip_http_server_new(NULL, handler, NULL);
    assert_int_equal(tulip_http_server_serve(srv), -EINVAL); /* not listening */
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), -EALREADY);
    tulip_task *t = tulip_spawn(tulip_http_server_task, srv);
    assert_int_equal(tulip_yield(), 0);
    tulip_cancel(t);
    assert_int_equal(tulip_join(t), -ECANCELED);
    tulip_http_server_free(srv);
    /* Shut down before serving: serve returns at once. */
    srv = tulip_http_server_new(NULL, handler, NULL);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    tulip_http_server_shutdown(srv);
    assert_int_equal(tulip_http_server_serve(srv), 0);
    tulip_http_server_free(srv);
    return 0;
}

static void test_cancel_serve(void **state)
{
    (void)state;
    assert_int_equal(test_run(cancel_serve_body, NULL), 0);
}

/* ---- respond argument checks ---------------------------------------------------- */

static int checks_handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)r;
    int *ok = arg;
    tulip_http_header cl = {"Content-Length", 14, "3", 1};
    tulip_http_header crlf = {"X", 1, "a\r\nb", 4};
    *ok = tulip_http_respond(res, 99, NULL, NULL, 0) == -EINVAL && tulip_http_respond(res, 600, NULL, NULL, 0) == -EINVAL &&
          tulip_http_respond_ex(res, 200, &cl, 1, "abc", 3, 0) == -EINVAL &&
          tulip_http_respond_ex(res, 200, &crlf, 1, "abc", 3, 0) == -EINVAL &&
          tulip_http_respond_ex(res, 200, NULL, 0, "abc", 3, TULIP_HTTP_NO_LENGTH) == -EINVAL;
    int rc = tulip_http_respond(res, 200, NULL, "ok", 2);
    *ok = *ok && rc == 0 && tulip_http_respond(res, 200, NULL, "ok", 2) == -EALREADY;
    return rc;
}

static int checks_body(void *arg)
{
    (void)arg;
    int ok = 0;
    tulip_http_server *srv = tulip_http_server_new(NULL, checks_handler, &ok);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", tulip_http_server_port(srv));
    tulip_task *t = tulip_spawn(tulip_http_server_task, srv);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reply *r;
    assert_int_equal(tulip_http_get(c, u, &r), 0);
    assert_string_equal(r->body, "ok");
    tulip_http_reply_free(r);
    assert_true(ok);
    tulip_http_client_free(c);
    tulip_http_server_shutdown(srv);
    assert_int_equal(tulip_join(t), 0);
    tulip_http_server_free(srv);
    return 0;
}

static void test_respond_checks(void **state)
{
    (void)state;
    assert_int_equal(test_run(checks_body, NULL), 0);
    assert_string_equal(tulip_http_reason(404), "Not Found");
    assert_string_equal(tulip_http_reason(299), "");
}

/* ---- the bytes of a head ------------------------------------------------------------ */

/* Answers by path, to see every piece of a head on the wire: statuses in
 * turn (the first lines are kept per status), header pieces of every
 * length class, chunked and plain bodies small and large. */
static int bytes_handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    static char big[3000];
    memset(big, 'x', sizeof big);
    tulip_http_header h[3] = {{"X-A", 3, "b", 1}, {"X-Long-Header-Name", 18, "0123456789abcdefghij", 20},
                              {"Cache", 5, "no-store", 8}};
    if (r->path_len == 4 && memcmp(r->path, "/404", 4) == 0)
        return tulip_http_respond(res, 404, "text/html", NULL, 0);
    if (r->path_len == 6 && memcmp(r->path, "/chunk", 6) == 0)
        return tulip_http_respond_ex(res, 201, NULL, 0, "abc", 3, TULIP_HTTP_CHUNKED);
    if (r->path_len == 7 && memcmp(r->path, "/chunk0", 7) == 0)
        return tulip_http_respond_ex(res, 200, NULL, 0, NULL, 0, TULIP_HTTP_CHUNKED);
    if (r->path_len == 4 && memcmp(r->path, "/big", 4) == 0)
        return tulip_http_respond(res, 200, "text/plain", big, sizeof big);
    if (r->path_len == 4 && memcmp(r->path, "/mid", 4) == 0)
        return tulip_http_respond(res, 200, "text/plain", big, 345);
    if (r->path_len == 4 && memcmp(r->path, "/hdr", 4) == 0)
        return tulip_http_respond_ex(res, 503, h, 3, "12345678901", 11, 0);
    return tulip_http_respond(res, 200, "text/plain", "hi", 2);
}

/* The next answer must be `before`, a Date line, then `after` (then n
 * bytes of x when n > 0), exactly. */
static void expect_bytes(raw *c, const char *before, const char *after, size_t xs)
{
    size_t b = strlen(before), d = sizeof "Date: Thu, 03 Dec 2026 14:25:00 GMT\r\n" - 1, a = strlen(after);
    while (c->len < b + d + a + xs) {
        ssize_t n = tulip_read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        assert_true(n > 0);
        c->len += (size_t)n;
    }
    if (memcmp(c->buf, before, b) != 0)
        fail_msg("head starts \"%.*s\", want \"%s\"", (int)b, c->buf, before);
    const char *dl = c->buf + b;
    assert_memory_equal(dl, "Date: ", 6);
    assert_memory_equal(dl + d - 6, " GMT\r\n", 6);
    assert_memory_equal(dl + 9, ", ", 2);
    if (memcmp(dl + d, after, a) != 0)
        fail_msg("head goes on \"%.*s\", want \"%s\"", (int)a, dl + d, after);
    for (size_t i = 0; i < xs; i++)
        assert_int_equal(dl[d + a + i], 'x');
    size_t used = b + d + a + xs;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
}

/* One connection's requests and the answers they must get, in order. */
#define OK200 "HTTP/1.1 200 OK\r\nServer: tulip\r\n"
static const struct {
    const char *req, *before, *after;
    size_t xs;
} exchanges[] = {
    {"GET /200 HTTP/1.1\r\nHost: x\r\n\r\n", OK200, "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi", 0},
    {"GET /404 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found\r\nServer: tulip\r\n",
     "Content-Type: text/html\r\nContent-Length: 0\r\n\r\n", 0},
    {"GET /200 HTTP/1.1\r\nHost: x\r\n\r\n", OK200, "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi", 0},
    {"GET /404 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found\r\nServer: tulip\r\n",
     "Content-Type: text/html\r\nContent-Length: 0\r\n\r\n", 0},
    {"GET /chunk HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 201 Created\r\nServer: tulip\r\n",
     "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 0},
    {"GET /chunk0 HTTP/1.1\r\nHost: x\r\n\r\n", OK200, "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0},
    {"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", OK200, "Content-Type: text/plain\r\nContent-Length: 3000\r\n\r\n", 3000},
    {"GET /mid HTTP/1.1\r\nHost: x\r\n\r\n", OK200, "Content-Type: text/plain\r\nContent-Length: 345\r\n\r\n", 345},
    {"GET /hdr HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 503 Service Unavailable\r\nServer: tulip\r\n",
     "X-A: b\r\nX-Long-Header-Name: 0123456789abcdefghij\r\nCache: no-store\r\nContent-Length: 11\r\n\r\n12345678901",
     0},
    {"HEAD /200 HTTP/1.1\r\nHost: x\r\n\r\n", OK200, "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n", 0},
    {"GET /200 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", OK200,
     "Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi", 0},
    {"GET /200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", OK200,
     "Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", 0},
};

static int bytes_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start_with(&f, NULL, bytes_handler);
    raw c;
    raw_open(&c, &f);
    for (size_t i = 0; i < sizeof exchanges / sizeof exchanges[0]; i++) {
        raw_send(&c, exchanges[i].req);
        expect_bytes(&c, exchanges[i].before, exchanges[i].after, exchanges[i].xs);
    }
    raw_expect_eof(&c);
    tulip_close(c.fd);
    /* The server's own refusal starts the same way. */
    raw_open(&c, &f);
    raw_send(&c, "GET / HTTP/2.0\r\nHost: x\r\n\r\n");
    expect_bytes(&c, "HTTP/1.1 505 HTTP Version Not Supported\r\nServer: tulip\r\n",
                 "Content-Type: text/plain\r\nConnection: close\r\nContent-Length: 27\r\n\r\n"
                 "HTTP Version Not Supported\n", 0);
    tulip_close(c.fd);
    fx_stop(&f);
    return 0;
}

static void test_response_bytes(void **state)
{
    (void)state;
    assert_int_equal(test_run(bytes_body, NULL), 0);
}

/* ---- faults ------------------------------------------------------------------------ */

static int faults_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f, NULL);
    char body[256];
    /* The server failing to allocate for a connection drops it; the next
     * connection is served. */
    for (unsigned long nth = 1; nth <= 4; nth++) {
        raw c;
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        raw_open(&c, &f);
        raw_send(&c, "GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        int st = raw_response(&c, false, body, sizeof body, NULL);
        tulip_fault_reset();
        assert_true(st == 0 || st == 200);
        tulip_close(c.fd);
    }
    raw c;
    raw_open(&c, &f);
    raw_send(&c, "GET /f HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(raw_response(&c, false, body, sizeof body, NULL), 200);
    tulip_close(c.fd);
    fx_stop(&f);
    return 0;
}

static void test_faults(void **state)
{
    (void)state;
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_null(tulip_http_server_new(NULL, handler, NULL));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_reset();
    assert_null(tulip_http_server_new(NULL, NULL, NULL));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(test_run(faults_body, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_pipelining),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_idle_and_shutdown),
        cmocka_unit_test(test_cancel_serve),
        cmocka_unit_test(test_respond_checks),
        cmocka_unit_test(test_response_bytes),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
