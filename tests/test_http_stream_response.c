/* Streaming HTTP responses (tulip_http_respond_start/write/end): the bytes
 * on the wire for chunked, Content-Length and HTTP/1.0 close-delimited
 * bodies, HEAD, keep-alive after a stream, a multi-megabyte body in small
 * writes (all bytes arrive, and the handler is held back by the client's
 * reading), a client leaving mid-stream, cancellation and deadlines, the
 * server ending what a handler left open, and misuse. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/socket.h>

#include "test_util.h"
#include "http_test_util.h"

/* The body of /big-*: byte i is i % 251, written WRITE_SIZE bytes at a
 * time from pat (long enough for any start offset). */
#define WRITE_SIZE 1000
static unsigned char pat[251 + WRITE_SIZE];

typedef struct st {
    uint64_t big;                 /* /big-* body size */
    uint64_t written;             /* /big-*: body bytes handed to the kernel so far */
    uint64_t writes;
    ssize_t write_err;            /* the write that failed */
    int end_rc;
    int misuse_ok;                /* -1 not run, 0 failed at check misuse_line, 1 ok */
    int misuse_line;
    ssize_t head_write;           /* what a write returned for HEAD */
    tulip_event done;             /* set by handlers that tests wait for */
} st;

static const tulip_http_header ctype = {"Content-Type", 12, "text/plain", 10};

static bool path_is(const tulip_http_request_view *r, const char *p)
{
    return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

/* "hello world" in three writes (one of them empty), then end. */
static int hello(tulip_http_responder *res, int64_t content_length, st *s, bool head)
{
    int rc = tulip_http_respond_start(res, 200, &ctype, 1, content_length, 0);
    if (rc < 0)
        return rc;
    ssize_t w = tulip_http_respond_write(res, "hello", 5);
    if (head)
        s->head_write = w;
    if (w != 5 || tulip_http_respond_write(res, "", 0) != 0 || tulip_http_respond_write(res, " world", 6) != 6)
        return -EIO;
    return tulip_http_respond_end(res);
}

static int big(tulip_http_responder *res, int64_t content_length, st *s)
{
    int rc = tulip_http_respond_start(res, 200, NULL, 0, content_length, 0);
    if (rc < 0)
        return rc;
    s->written = s->writes = 0;
    while (s->written < s->big) {
        size_t n = s->big - s->written < WRITE_SIZE ? (size_t)(s->big - s->written) : WRITE_SIZE;
        ssize_t w = tulip_http_respond_write(res, pat + s->written % 251, n);
        if (w != (ssize_t)n)
            return w < 0 ? (int)w : -EIO;
        s->written += n;
        s->writes++;
    }
    return tulip_http_respond_end(res);
}

/* Writes until a write fails (the client leaves, a deadline, a
 * cancellation), then records that error and what end says. */
static int until_error(tulip_http_responder *res, st *s, int64_t deadline)
{
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    int rc = tulip_http_respond_start(res, 200, NULL, 0, -1, 0);
    if (rc < 0)
        return rc;
    tulip_scope sc;
    tulip_scope_enter(&sc, deadline);
    ssize_t w = 0;
    /* The bound only stops a broken build from writing forever. */
    for (uint64_t total = 0; total < ((uint64_t)1 << 34) && w >= 0; total += sizeof chunk)
        w = tulip_http_respond_write(res, chunk, sizeof chunk);
    tulip_scope_exit(&sc);
    s->write_err = w;
    s->end_rc = tulip_http_respond_end(res);
    tulip_event_set(&s->done);
    return 0;
}

#define CHECK(cond) do { if (!(cond)) { s->misuse_ok = 0; s->misuse_line = __LINE__; return -EIO; } } while (0)

static int misuse(tulip_http_responder *res, st *s)
{
    tulip_http_header cl = {"Content-Length", 14, "5", 1};
    tulip_http_header te = {"transfer-encoding", 17, "chunked", 7};
    tulip_http_header conn = {"Connection", 10, "close", 5};
    tulip_http_header crlf = {"X", 1, "a\r\nb", 4};
    CHECK(tulip_http_respond_write(res, "a", 1) == -EINVAL);
    CHECK(tulip_http_respond_end(res) == -EINVAL);
    CHECK(tulip_http_respond_write(NULL, "a", 1) == -EINVAL);
    CHECK(tulip_http_respond_end(NULL) == -EINVAL);
    CHECK(tulip_http_respond_start(NULL, 200, NULL, 0, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 100, NULL, 0, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 600, NULL, 0, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 200, &cl, 1, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 200, &te, 1, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 200, &conn, 1, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 200, &crlf, 1, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 200, NULL, 1, 5, 0) == -EINVAL);
    CHECK(tulip_http_respond_start(res, 200, NULL, 0, 5, TULIP_HTTP_CHUNKED) == -EINVAL);
    /* Nothing was sent by the rejected calls: this is still the answer. */
    CHECK(tulip_http_respond_start(res, 200, &ctype, 1, 5, 0) == 0);
    CHECK(tulip_http_respond_start(res, 200, NULL, 0, 5, 0) == -EALREADY);
    CHECK(tulip_http_respond(res, 200, NULL, "x", 1) == -EALREADY);
    CHECK(tulip_http_respond_ex(res, 200, NULL, 0, "x", 1, 0) == -EALREADY);
    CHECK(tulip_http_respond_write(res, NULL, 1) == -EINVAL);
    /* Past Content-Length: refused whole, and the stream goes on. */
    CHECK(tulip_http_respond_write(res, "abcdef", 6) == -EMSGSIZE);
    CHECK(tulip_http_respond_write(res, "abc", 3) == 3);
    CHECK(tulip_http_respond_write(res, "def", 3) == -EMSGSIZE);
    CHECK(tulip_http_respond_write(res, "de", 2) == 2);
    CHECK(tulip_http_respond_write(res, "f", 1) == -EMSGSIZE);
    CHECK(tulip_http_respond_write(res, "", 0) == 0);
    CHECK(tulip_http_respond_end(res) == 0);
    CHECK(tulip_http_respond_end(res) == -EALREADY);
    CHECK(tulip_http_respond_write(res, "", 0) == -EALREADY);
    s->misuse_ok = 1;
    return 0;
}

static int answered_then_start(tulip_http_responder *res, st *s)
{
    int rc = tulip_http_respond(res, 200, NULL, "ok", 2);
    CHECK(rc == 0);
    CHECK(tulip_http_respond_start(res, 200, NULL, 0, -1, 0) == -EALREADY);
    CHECK(tulip_http_respond_write(res, "a", 1) == -EINVAL);
    CHECK(tulip_http_respond_end(res) == -EINVAL);
    s->misuse_ok = 1;
    return 0;
}

static int handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    st *s = arg;
    if (path_is(r, "/chunked"))
        return hello(res, -1, s, r->head);
    if (path_is(r, "/length"))
        return hello(res, 11, s, r->head);
    if (path_is(r, "/big-chunked"))
        return big(res, -1, s);
    if (path_is(r, "/big-length"))
        return big(res, (int64_t)s->big, s);
    if (path_is(r, "/until-error"))
        return until_error(res, s, TULIP_FOREVER);
    if (path_is(r, "/deadline"))
        return until_error(res, s, tulip_now() + TULIP_SEC(1));
    if (path_is(r, "/misuse"))
        return misuse(res, s);
    if (path_is(r, "/answered"))
        return answered_then_start(res, s);
    if (path_is(r, "/short")) {
        /* 3 of 10 announced bytes. */
        int rc = tulip_http_respond_start(res, 200, NULL, 0, 10, 0);
        if (rc == 0 && tulip_http_respond_write(res, "abc", 3) == 3)
            s->end_rc = tulip_http_respond_end(res);
        return 0;
    }
    if (path_is(r, "/open-short") || path_is(r, "/open-chunked")) {
        /* Left open for the server to end. */
        int rc = tulip_http_respond_start(res, 200, NULL, 0, path_is(r, "/open-short") ? 10 : -1, 0);
        if (rc == 0)
            tulip_http_respond_write(res, "abc", 3);
        return 0;
    }
    return tulip_http_respond(res, 404, NULL, NULL, 0);
}

/* ---- fixture ------------------------------------------------------------------ */

typedef struct fx {
    tulip_http_server *srv;
    tulip_task *task;
    char addr[64];
    char url[80];
    st s;
} fx;

static void fx_start(fx *f)
{
    memset(&f->s, 0, sizeof f->s);
    f->s.misuse_ok = -1;
    f->s.head_write = -1;
    tulip_event_init(&f->s.done);
    for (size_t i = 0; i < sizeof pat; i++)
        pat[i] = (unsigned char)(i % 251);
    f->srv = tulip_http_server_new(NULL, handler, &f->s);
    assert_non_null(f->srv);
    assert_int_equal(tulip_http_server_listen(f->srv, "127.0.0.1:0"), 0);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", tulip_http_server_port(f->srv));
    snprintf(f->url, sizeof f->url, "http://%s", f->addr);
    f->task = tulip_spawn(tulip_http_server_task, f->srv);
    assert_non_null(f->task);
}

/* Idempotent: a test may stop the server early. */
static void fx_stop(fx *f)
{
    if (!f->srv)
        return;
    tulip_http_server_shutdown(f->srv);
    assert_int_equal(tulip_join(f->task), 0);
    tulip_http_server_free(f->srv);
    f->srv = NULL;
}

/* A test body runs as the main task with a server started for it. */
typedef struct fx_run {
    int (*body)(fx *f);
} fx_run;

static int fx_main(void *arg)
{
    fx f;
    fx_start(&f);
    int rc = ((fx_run *)arg)->body(&f);
    fx_stop(&f);
    return rc;
}

#define FX_TEST(name, runner)                                    \
    static void test_##name(void **state)                        \
    {                                                            \
        (void)state;                                             \
        fx_run r = {name##_body};                                \
        assert_int_equal(runner(fx_main, &r), 0);                \
    }

static tulip_http_server_stats stats(fx *f)
{
    tulip_http_server_stats out;
    assert_int_equal(tulip_http_server_stats_get(f->srv, &out), 0);
    return out;
}

/* ---- raw connections -------------------------------------------------------------- */

/* A raw connection (tests/http_test_util.h) to the fixture's server. */
static void raw_open(raw *c, fx *f)
{
    raw_dial(c, f->addr);
}

/* Read until c->buf holds at least n bytes; false at EOF before. */
static bool raw_need(raw *c, size_t n)
{
    assert_true(n < sizeof c->buf);
    while (c->len < n) {
        ssize_t k = tulip_read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        assert_true(k >= 0);
        if (k == 0)
            return false;
        c->len += (size_t)k;
    }
    return true;
}

/* Read until EOF (the buffer must hold everything). */
static void raw_eof(raw *c)
{
    for (;;) {
        assert_true(c->len < sizeof c->buf - 1);
        ssize_t k = tulip_read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        assert_true(k >= 0);
        if (k == 0)
            break;
        c->len += (size_t)k;
    }
}

/* Read and drop everything up to EOF; returns how many bytes (those
 * already buffered too) and leaves the last five in tail. */
static uint64_t raw_drain(raw *c, char tail[5])
{
    uint64_t total = 0;
    for (;;) {
        total += c->len;
        for (size_t i = c->len > 5 ? c->len - 5 : 0; i < c->len; i++) {
            memmove(tail, tail + 1, 4);
            tail[4] = c->buf[i];
        }
        ssize_t k = tulip_read(c->fd, c->buf, sizeof c->buf);
        assert_true(k >= 0);
        c->len = (size_t)k;
        if (k == 0)
            return total;
    }
}

/* Read one response head; returns it (NUL-terminated, owned by the
 * caller) and leaves what follows it in c->buf. */
static char *raw_head(raw *c)
{
    char *end;
    for (;;) {
        end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end)
            break;
        assert_true(raw_need(c, c->len + 1));
    }
    size_t n = (size_t)(end - c->buf) + 4;
    char *h = malloc(n + 1);
    assert_non_null(h);
    memcpy(h, c->buf, n);
    h[n] = '\0';
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    return h;
}

/* Expect the next n bytes to be exactly s, and consume them. */
static void raw_expect(raw *c, const char *s)
{
    size_t n = strlen(s);
    assert_true(raw_need(c, n));
    if (memcmp(c->buf, s, n) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)n, c->buf, s);
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void has(const char *head, const char *line)
{
    if (!strstr(head, line))
        fail_msg("head lacks \"%s\":\n%s", line, head);
}

static void lacks(const char *head, const char *name)
{
    if (strcasestr(head, name))
        fail_msg("head has \"%s\":\n%s", name, head);
}

/* The connection is in step: a new request gets the next response,
 * starting right where the last one ended. */
static void raw_still_serves(raw *c)
{
    raw_send(c, "GET /length HTTP/1.1\r\nHost: x\r\n\r\n");
    char *h = raw_head(c);
    if (strncmp(h, "HTTP/1.1 200 OK\r\n", 17) != 0)
        fail_msg("not a response head:\n%s", h);
    free(h);
    raw_expect(c, "hello world");
}

/* ---- framing on the wire ---------------------------------------------------------- */

static int framing_body(fx *f)
{
    raw c;
    raw_open(&c, f);

    /* Chunked: one chunk per non-empty write, then the last chunk. */
    raw_send(&c, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n");
    char *h = raw_head(&c);
    has(h, "HTTP/1.1 200 OK\r\n");
    has(h, "\r\nContent-Type: text/plain\r\n");
    has(h, "\r\nTransfer-Encoding: chunked\r\n");
    lacks(h, "Content-Length");
    lacks(h, "Connection");
    free(h);
    raw_expect(&c, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");

    /* The same connection serves the next request: Content-Length. */
    raw_send(&c, "GET /length HTTP/1.1\r\nHost: x\r\n\r\n");
    h = raw_head(&c);
    has(h, "HTTP/1.1 200 OK\r\n");
    has(h, "\r\nContent-Length: 11\r\n");
    lacks(h, "Transfer-Encoding");
    lacks(h, "Connection");
    free(h);
    raw_expect(&c, "hello world");

    /* Pipelined after a stream, and Connection: close honoured. */
    raw_send(&c, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    free(raw_head(&c));
    raw_expect(&c, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    h = raw_head(&c);
    has(h, "\r\nContent-Length: 11\r\n");
    has(h, "\r\nConnection: close\r\n");
    free(h);
    raw_expect(&c, "hello world");
    raw_eof(&c);
    assert_int_equal(c.len, 0);
    tulip_close(c.fd);
    assert_int_equal(stats(f).connections, 1);

    /* HTTP/1.0 with an unknown length: the body ends at close, even when
     * the client asked to keep the connection. */
    for (int ka = 0; ka < 2; ka++) {
        raw_open(&c, f);
        raw_send(&c, ka ? "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" : "GET /chunked HTTP/1.0\r\n\r\n");
        h = raw_head(&c);
        has(h, "HTTP/1.1 200 OK\r\n");
        has(h, "\r\nConnection: close\r\n");
        lacks(h, "Transfer-Encoding");
        lacks(h, "Content-Length");
        free(h);
        raw_eof(&c);
        assert_int_equal(c.len, 11);
        assert_memory_equal(c.buf, "hello world", 11);
        tulip_close(c.fd);
    }

    /* HTTP/1.0 keep-alive with a known length stays open. */
    raw_open(&c, f);
    raw_send(&c, "GET /length HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    h = raw_head(&c);
    has(h, "\r\nContent-Length: 11\r\n");
    has(h, "\r\nConnection: keep-alive\r\n");
    free(h);
    raw_expect(&c, "hello world");
    raw_send(&c, "GET /length HTTP/1.0\r\n\r\n");
    h = raw_head(&c);
    has(h, "\r\nConnection: close\r\n");
    free(h);
    raw_expect(&c, "hello world");
    raw_eof(&c);
    assert_int_equal(c.len, 0);
    tulip_close(c.fd);

    /* HEAD: heads only, the writes accepted. A body byte sent by mistake
     * would show up where the next head must start. */
    raw_open(&c, f);
    raw_send(&c, "HEAD /chunked HTTP/1.1\r\nHost: x\r\n\r\nHEAD /length HTTP/1.1\r\nHost: x\r\n\r\n");
    h = raw_head(&c);
    has(h, "HTTP/1.1 200 OK\r\n");
    has(h, "\r\nTransfer-Encoding: chunked\r\n");
    free(h);
    h = raw_head(&c);
    assert_true(strncmp(h, "HTTP/1.1 200 OK\r\n", 17) == 0);
    has(h, "\r\nContent-Length: 11\r\n");
    free(h);
    raw_still_serves(&c);
    assert_int_equal(f->s.head_write, 5);
    tulip_close(c.fd);

    return 0;
}

FX_TEST(framing, test_run)

/* ---- the library's client ------------------------------------------------------------ */

static int client_body(fx *f)
{
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.max_body = (size_t)64 << 20;
    tulip_http_client *cl = tulip_http_client_new(&o);
    assert_non_null(cl);
    char u[128];
    tulip_http_reply *r;

    snprintf(u, sizeof u, "%s/chunked", f->url);
    assert_int_equal(tulip_http_get(cl, u, &r), 0);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "hello world");
    assert_false(r->reused);
    tulip_http_reply_free(r);
    /* Keep-alive after a streamed response: the pooled connection. */
    snprintf(u, sizeof u, "%s/length", f->url);
    assert_int_equal(tulip_http_get(cl, u, &r), 0);
    assert_string_equal(r->body, "hello world");
    assert_true(r->reused);
    tulip_http_reply_free(r);
    assert_int_equal(tulip_http_fetch(cl, "HEAD", u, NULL, 0, NULL, 0, &r), 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 0);
    assert_true(r->reused);
    tulip_http_reply_free(r);

    /* Megabytes in small writes, chunked: every byte in order. */
    f->s.big = (uint64_t)8 << 20;
    snprintf(u, sizeof u, "%s/big-chunked", f->url);
    assert_int_equal(tulip_http_get(cl, u, &r), 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, f->s.big);
    for (size_t i = 0; i < r->body_len; i++)
        if ((size_t)(unsigned char)r->body[i] != i % 251)
            fail_msg("byte %zu is %u", i, (unsigned char)r->body[i]);
    assert_true(r->reused);
    tulip_http_reply_free(r);
    assert_int_equal(f->s.writes, (f->s.big + WRITE_SIZE - 1) / WRITE_SIZE);

    /* A body left short: the client sees a truncated body. */
    snprintf(u, sizeof u, "%s/short", f->url);
    assert_int_equal(tulip_http_get(cl, u, &r), -ENODATA);
    assert_int_equal(f->s.end_rc, -ENODATA);

    assert_int_equal(stats(f).connections, 1);
    tulip_http_client_free(cl);
    return 0;
}

FX_TEST(client, test_run)

/* ---- backpressure --------------------------------------------------------------------- */

/* The most a socket's send buffer can hold here (tcp_wmem's maximum). */
static uint64_t wmem_max(void)
{
    unsigned long lo = 0, def = 0, max = 0;
    FILE *fp = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
    int n = fp ? fscanf(fp, "%lu %lu %lu", &lo, &def, &max) : 0;
    if (fp)
        fclose(fp);
    return n == 3 ? max : (uint64_t)16 << 20;
}

/* The client reads slowly through a small receive window. The handler is
 * ahead of it by at most what the kernel buffers hold: a server that
 * queued the body itself would be ahead by all of it. */
static int backpressure_body(fx *f)
{
    raw c;
    raw_open(&c, f);
    int rcv = 32768;
    assert_int_equal(setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv), 0);
    uint64_t bound = wmem_max() + 4 * (uint64_t)rcv + ((uint64_t)1 << 20);
    f->s.big = bound + ((uint64_t)4 << 20);
    raw_send(&c, "GET /big-length HTTP/1.1\r\nHost: x\r\n\r\n");
    char *h = raw_head(&c);
    char want[64];
    snprintf(want, sizeof want, "\r\nContent-Length: %llu\r\n", (unsigned long long)f->s.big);
    has(h, want);
    free(h);
    uint64_t got = 0;
    uint64_t most_ahead = 0;
    while (got < f->s.big) {
        if (c.len == 0) {
            ssize_t k = tulip_read(c.fd, c.buf, 4096);
            assert_true(k > 0);
            c.len = (size_t)k;
        }
        for (size_t i = 0; i < c.len; i++)
            if ((uint64_t)(unsigned char)c.buf[i] != (got + i) % 251)
                fail_msg("byte %llu is %u", (unsigned long long)(got + i), (unsigned char)c.buf[i]);
        got += c.len;
        c.len = 0;
        assert_true(f->s.written <= f->s.big);
        if (f->s.written - got > most_ahead)
            most_ahead = f->s.written - got;
        if (most_ahead > bound)
            fail_msg("the handler wrote %llu bytes ahead of the client", (unsigned long long)most_ahead);
    }
    assert_int_equal(got, f->s.big);
    /* Exactly Content-Length bytes: the next response follows directly. */
    raw_still_serves(&c);
    tulip_close(c.fd);
    return 0;
}

FX_TEST(backpressure, test_run)

/* ---- the client leaves, cancellation, deadlines ------------------------------------------ */

/* /until-error's writes stopped with err, end said the same, and the
 * client sees the body cut: some bytes, then the connection closed
 * without a last chunk. Closes c. */
static void expect_torn(raw *c, const st *s, int err)
{
    assert_int_equal(s->write_err, err);
    assert_int_equal(s->end_rc, err);
    char tail[5] = {0};
    assert_true(raw_drain(c, tail) > 0);
    assert_memory_not_equal(tail, "0\r\n\r\n", 5);
    tulip_close(c->fd);
}

/* A connection with /until-error's body flowing. */
static void open_until_error(raw *c, fx *f)
{
    raw_open(c, f);
    raw_send(c, "GET /until-error HTTP/1.1\r\nHost: x\r\n\r\n");
    free(raw_head(c));
    assert_true(raw_need(c, 1));
}

static int disconnect_and_cancel_body(fx *f)
{
    raw c;
    open_until_error(&c, f);
    /* Gone with unread bytes: the server's writes fail. */
    tulip_close(c.fd);
    assert_int_equal(tulip_event_wait(&f->s.done), 0);
    if (f->s.write_err != -EPIPE && f->s.write_err != -ECONNRESET)
        fail_msg("write gave %zd", f->s.write_err);
    assert_int_equal(f->s.end_rc, (int)f->s.write_err);

    /* Others are still served. */
    raw_open(&c, f);
    raw_still_serves(&c);
    tulip_close(c.fd);

    /* Shutdown cancels a handler parked in a write (the client does not
     * read), and the connection is closed. */
    tulip_event_clear(&f->s.done);
    open_until_error(&c, f);
    fx_stop(f);
    expect_torn(&c, &f->s, -ECANCELED);
    return 0;
}

FX_TEST(disconnect_and_cancel, test_run)

/* A deadline passes while the handler is parked on a client that does
 * not read: -ETIMEDOUT, the stream is broken, and the connection closes
 * without a last chunk. */
static int deadline_body(fx *f)
{
    raw c;
    raw_open(&c, f);
    raw_send(&c, "GET /deadline HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(tulip_event_wait(&f->s.done), 0);
    free(raw_head(&c));
    expect_torn(&c, &f->s, -ETIMEDOUT);
    return 0;
}

FX_TEST(deadline, test_run_virtual)

/* ---- left open, short, misuse ---------------------------------------------------------------- */

static int ending_and_misuse_body(fx *f)
{
    raw c;

    /* Chunked and left open: the server sends the last chunk and the
     * connection goes on. */
    raw_open(&c, f);
    raw_send(&c, "GET /open-chunked HTTP/1.1\r\nHost: x\r\n\r\n");
    free(raw_head(&c));
    raw_expect(&c, "3\r\nabc\r\n0\r\n\r\n");
    raw_still_serves(&c);
    tulip_close(c.fd);

    /* Short of Content-Length, ended or left open: the connection closes
     * after the bytes written. */
    const char *reqs[] = {"GET /short HTTP/1.1\r\nHost: x\r\n\r\n", "GET /open-short HTTP/1.1\r\nHost: x\r\n\r\n"};
    for (int i = 0; i < 2; i++) {
        raw_open(&c, f);
        raw_send(&c, reqs[i]);
        char *h = raw_head(&c);
        has(h, "\r\nContent-Length: 10\r\n");
        free(h);
        raw_eof(&c);
        assert_int_equal(c.len, 3);
        assert_memory_equal(c.buf, "abc", 3);
        tulip_close(c.fd);
    }
    assert_int_equal(f->s.end_rc, -ENODATA);

    /* Misuse: every check in misuse(), then the answer it made. */
    raw_open(&c, f);
    raw_send(&c, "GET /misuse HTTP/1.1\r\nHost: x\r\n\r\n");
    char *h = raw_head(&c);
    has(h, "\r\nContent-Length: 5\r\n");
    free(h);
    raw_expect(&c, "abcde");
    if (f->s.misuse_ok != 1)
        fail_msg("misuse check at line %d failed", f->s.misuse_line);
    f->s.misuse_ok = -1;
    raw_send(&c, "GET /answered HTTP/1.1\r\nHost: x\r\n\r\n");
    free(raw_head(&c));
    raw_expect(&c, "ok");
    if (f->s.misuse_ok != 1)
        fail_msg("misuse check at line %d failed", f->s.misuse_line);
    tulip_close(c.fd);
    return 0;
}

FX_TEST(ending_and_misuse, test_run)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_disconnect_and_cancel),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_ending_and_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
