/* The HTTP client against the library's own server on 127.0.0.1: body
 * framings, keep-alive reuse, the per-host limit, redirects, compressed
 * bodies, limits, HEAD, URL handling, fault injection. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#ifdef TULIP_HAVE_ZLIB
#include <zlib.h>
#endif

#include "test_util.h"
#include "tulip/testing.h"
#ifdef TULIP_HAVE_TLS
#include "tulip/tls.h"
#endif

/* ---- the server side ----------------------------------------------------- */

static char *gz_body;
static size_t gz_len;
static char *zl_body;
static size_t zl_len;
static char *bomb_body;
static size_t bomb_len;
static int in_slow, max_in_slow;

static bool path_is(const tulip_http_request_view *r, const char *p)
{
    return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

static int redirect(tulip_http_responder *res, int status, const char *to)
{
    tulip_http_header h = {"Location", 8, to, strlen(to)};
    return tulip_http_respond_ex(res, status, &h, 1, "", 0, 0);
}

static int handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    char tmp[64];
    if (path_is(r, "/cl"))
        return tulip_http_respond(res, 200, "text/plain", "hello", 5);
    if (path_is(r, "/chunked"))
        return tulip_http_respond_ex(res, 200, NULL, 0, "chunky body", 11, TULIP_HTTP_CHUNKED);
    if (path_is(r, "/close"))
        return tulip_http_respond_ex(res, 200, NULL, 0, "until close", 11, TULIP_HTTP_CLOSE | TULIP_HTTP_NO_LENGTH);
    if (path_is(r, "/empty"))
        return tulip_http_respond(res, 204, NULL, NULL, 0);
    if (path_is(r, "/echo")) {
        /* method, then the body */
        const char *body;
        size_t len;
        if (tulip_http_request_body(res, &body, &len) < 0)
            return -EIO;
        int n = snprintf(tmp, sizeof tmp, "%.*s:", (int)r->method_len, r->method);
        char *out = malloc((size_t)n + len);
        memcpy(out, tmp, (size_t)n);
        memcpy(out + n, body, len);
        int rc = tulip_http_respond(res, 200, NULL, out, (size_t)n + len);
        free(out);
        return rc;
    }
    if (r->path_len > 7 && memcmp(r->path, "/redir/", 7) == 0) {
        int n = atoi(r->path + 7);
        if (n == 0)
            return tulip_http_respond(res, 200, NULL, "arrived", 7);
        snprintf(tmp, sizeof tmp, "/redir/%d", n - 1);
        return redirect(res, n % 2 ? 302 : 301, tmp);
    }
    if (path_is(r, "/rel/a/b"))
        return redirect(res, 307, "../c?x=1#frag");
    if (path_is(r, "/rel/c"))
        return tulip_http_respond(res, 200, NULL, r->target, r->target_len);
    if (path_is(r, "/loop/a"))
        return redirect(res, 302, "/loop/b");
    if (path_is(r, "/loop/b"))
        return redirect(res, 308, "/loop/a");
    if (path_is(r, "/post303"))
        return redirect(res, 303, "/echo");
    if (path_is(r, "/gzip")) {
        tulip_http_header h = {"Content-Encoding", 16, "gzip", 4};
        return tulip_http_respond_ex(res, 200, &h, 1, gz_body, gz_len, TULIP_HTTP_CHUNKED);
    }
    if (path_is(r, "/deflate")) {
        tulip_http_header h = {"Content-Encoding", 16, "deflate", 7};
        return tulip_http_respond_ex(res, 200, &h, 1, zl_body, zl_len, 0);
    }
    if (path_is(r, "/bomb")) {
        tulip_http_header h = {"Content-Encoding", 16, "gzip", 4};
        return tulip_http_respond_ex(res, 200, &h, 1, bomb_body, bomb_len, 0);
    }
    if (path_is(r, "/big")) {
        static char big[5000];
        memset(big, 'b', sizeof big);
        return tulip_http_respond(res, 200, NULL, big, sizeof big);
    }
    if (path_is(r, "/bigchunked")) {
        static char big[5000];
        memset(big, 'c', sizeof big);
        return tulip_http_respond_ex(res, 200, NULL, 0, big, sizeof big, TULIP_HTTP_CHUNKED);
    }
    if (path_is(r, "/slow")) {
        if (++in_slow > max_in_slow)
            max_in_slow = in_slow;
        int rc = tulip_sleep(TULIP_MS(5));
        in_slow--;
        if (rc < 0)
            return rc;
        return tulip_http_respond(res, 200, NULL, "slow", 4);
    }
    return tulip_http_respond(res, 404, "text/plain", "no\n", 3);
}

typedef struct fx {
    tulip_http_server *srv;
    tulip_task *task;
    char base[64];
} fx;

static void fx_start(fx *f)
{
    f->srv = tulip_http_server_new(NULL, handler, NULL);
    assert_non_null(f->srv);
    assert_int_equal(tulip_http_server_listen(f->srv, "127.0.0.1:0"), 0);
    int port = tulip_http_server_port(f->srv);
    assert_true(port > 0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", port);
    f->task = tulip_spawn(tulip_http_server_task, f->srv);
    assert_non_null(f->task);
}

static void fx_stop(fx *f)
{
    tulip_http_server_shutdown(f->srv);
    assert_int_equal(tulip_join(f->task), 0);
    tulip_http_server_free(f->srv);
}

static char *url(fx *f, const char *path)
{
    static char buf[4][128];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof buf[0], "%s%s", f->base, path);
    return b;
}

static tulip_http_server_stats srv_stats(fx *f)
{
    tulip_http_server_stats st;
    assert_int_equal(tulip_http_server_stats_get(f->srv, &st), 0);
    return st;
}

/* ---- framings, keep-alive ----------------------------------------------- */

static int framings_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    assert_non_null(c);
    tulip_http_reply *r;

    assert_int_equal(tulip_http_get(c, url(&f, "/cl"), &r), 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 5);
    assert_string_equal(r->body, "hello");
    assert_string_equal(tulip_http_reply_header(r, "content-type", NULL), "text/plain");
    assert_null(tulip_http_reply_header(r, "x-missing", NULL));
    assert_string_equal(r->url, url(&f, "/cl"));
    assert_int_equal(r->redirects, 0);
    assert_false(r->reused);
    assert_true(r->bytes_in > 5 && r->bytes_out > 20);
    tulip_http_reply_free(r);

    assert_int_equal(tulip_http_get(c, url(&f, "/chunked"), &r), 0);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "chunky body");
    assert_string_equal(tulip_http_reply_header(r, "transfer-encoding", NULL), "chunked");
    assert_true(r->reused);
    tulip_http_reply_free(r);

    assert_int_equal(tulip_http_get(c, url(&f, "/bigchunked"), &r), 0);
    assert_int_equal(r->body_len, 5000);
    assert_int_equal(r->body[4999], 'c');
    tulip_http_reply_free(r);

    assert_int_equal(tulip_http_get(c, url(&f, "/close"), &r), 0);
    assert_string_equal(r->body, "until close");
    assert_null(tulip_http_reply_header(r, "content-length", NULL));
    tulip_http_reply_free(r);

    assert_int_equal(tulip_http_get(c, url(&f, "/empty"), &r), 0);
    assert_int_equal(r->status, 204);
    assert_int_equal(r->body_len, 0);
    assert_string_equal(r->body, "");
    tulip_http_reply_free(r);

    assert_int_equal(tulip_http_get(c, url(&f, "/nope"), &r), 0);
    assert_int_equal(r->status, 404);
    tulip_http_reply_free(r);

    /* HEAD: the length is announced, no body follows, the connection stays usable. */
    assert_int_equal(tulip_http_fetch(c, "HEAD", url(&f, "/cl"), NULL, 0, NULL, 0, &r), 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 0);
    assert_string_equal(tulip_http_reply_header(r, "content-length", NULL), "5");
    tulip_http_reply_free(r);
    assert_int_equal(tulip_http_get(c, url(&f, "/cl"), &r), 0);
    assert_string_equal(r->body, "hello");
    assert_true(r->reused);
    tulip_http_reply_free(r);

    /* POST with a body and an extra header. */
    tulip_http_header xh = {"X-Test", 6, "1", 1};
    assert_int_equal(tulip_http_fetch(c, "POST", url(&f, "/echo"), &xh, 1, "payload", 7, &r), 0);
    assert_string_equal(r->body, "POST:payload");
    tulip_http_reply_free(r);

    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

static void test_framings(void **state)
{
    (void)state;
    assert_int_equal(test_run(framings_body, NULL), 0);
}

static int keepalive_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    assert_non_null(c);
    const int n = 20;
    for (int i = 0; i < n; i++) {
        tulip_http_reply *r;
        assert_int_equal(tulip_http_get(c, url(&f, i % 2 ? "/cl" : "/chunked"), &r), 0);
        assert_int_equal(r->status, 200);
        assert_int_equal(r->reused, i > 0);
        tulip_http_reply_free(r);
    }
    assert_int_equal(srv_stats(&f).connections, 1);
    assert_int_equal(srv_stats(&f).requests, n);
    tulip_http_client_stats cs;
    assert_int_equal(tulip_http_client_stats_get(c, &cs), 0);
    assert_int_equal(cs.connections, 1);
    assert_int_equal(cs.reused, n - 1);
    assert_int_equal(cs.idle, 1);
    /* A close-delimited body cannot leave the connection reusable. */
    tulip_http_reply *r;
    assert_int_equal(tulip_http_get(c, url(&f, "/close"), &r), 0);
    tulip_http_reply_free(r);
    assert_int_equal(tulip_http_client_stats_get(c, &cs), 0);
    assert_int_equal(cs.open, 0);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

static void test_keepalive_reuse(void **state)
{
    (void)state;
    assert_int_equal(test_run(keepalive_body, NULL), 0);
}

/* "[x]" and "x" are different hosts even when the text inside the brackets
 * could be a host name ("[cafe]") or an IPv4 address: each gets its own
 * pool entry, so one never dials the other's address. */
static int bracket_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    int port = tulip_http_server_port(f.srv);
    char bracketed[64], plain[64];
    snprintf(bracketed, sizeof bracketed, "http://[127.0.0.1]:%d/cl", port);
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d/cl", port);
    tulip_http_client *c = tulip_http_client_new(NULL);
    assert_non_null(c);
    tulip_http_reply *r;
    assert_int_equal(tulip_http_get(c, bracketed, &r), 0);
    assert_int_equal(r->status, 200);
    tulip_http_reply_free(r);
    assert_int_equal(tulip_http_get(c, plain, &r), 0);
    assert_int_equal(r->status, 200);
    assert_false(r->reused); /* not the "[127.0.0.1]" pool's connection */
    tulip_http_reply_free(r);
    tulip_http_client_stats cs;
    assert_int_equal(tulip_http_client_stats_get(c, &cs), 0);
    assert_int_equal(cs.connections, 2);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

static void test_bracketed_host_is_another_pool(void **state)
{
    (void)state;
    assert_int_equal(test_run(bracket_body, NULL), 0);
}

/* A pooled connection the server closed (idle timeout) is noticed and
 * replaced; the request still succeeds. */
static int stale_handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    (void)r;
    return tulip_http_respond(res, 200, NULL, "ok", 2);
}

static int stale_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts so;
    tulip_http_server_opts_init(&so);
    so.idle_timeout = TULIP_MS(1);
    tulip_http_server *srv = tulip_http_server_new(&so, stale_handler, NULL);
    assert_non_null(srv);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", tulip_http_server_port(srv));
    tulip_task *t = tulip_spawn(tulip_http_server_task, srv);
    tulip_http_client *c = tulip_http_client_new(NULL);
    for (int i = 0; i < 3; i++) {
        tulip_http_reply *r;
        assert_int_equal(tulip_http_get(c, u, &r), 0);
        assert_string_equal(r->body, "ok");
        tulip_http_reply_free(r);
        /* Wait until the server has dropped the idle connection. */
        tulip_http_server_stats st;
        do {
            assert_int_equal(tulip_sleep(TULIP_MS(1)), 0);
            tulip_http_server_stats_get(srv, &st);
        } while (st.active > 0);
    }
    tulip_http_server_stats st;
    tulip_http_server_stats_get(srv, &st);
    assert_int_equal(st.connections, 3);
    tulip_http_client_free(c);
    tulip_http_server_shutdown(srv);
    assert_int_equal(tulip_join(t), 0);
    tulip_http_server_free(srv);
    return 0;
}

static void test_stale_pooled_connection(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(stale_body, NULL), 0);
}

/* ---- per-host limit --------------------------------------------------------- */

typedef struct worker {
    tulip_http_client *c;
    const char *url;
} worker;

static int get_worker(void *p)
{
    worker *w = p;
    tulip_http_reply *r;
    int rc = tulip_http_get(w->c, w->url, &r);
    if (rc < 0)
        return rc;
    int ok = r->status == 200 && strcmp(r->body, "slow") == 0;
    tulip_http_reply_free(r);
    return ok ? 0 : -EPROTO;
}

static int limit_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.per_host = 3;
    tulip_http_client *c = tulip_http_client_new(&o);
    assert_non_null(c);
    in_slow = max_in_slow = 0;
    worker w = {c, url(&f, "/slow")};
    tulip_group *g = tulip_group_new();
    for (int i = 0; i < 12; i++)
        assert_int_equal(tulip_group_spawn(g, get_worker, &w), 0);
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);
    tulip_http_server_stats st = srv_stats(&f);
    assert_int_equal(st.requests, 12);
    assert_true(st.peak_active <= 3);
    assert_int_equal(max_in_slow, 3);
    tulip_http_client_stats cs;
    tulip_http_client_stats_get(c, &cs);
    assert_int_equal(cs.connections, 3);
    assert_int_equal(cs.idle, 3);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

static void test_per_host_limit(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(limit_body, NULL), 0);
}

/* ---- redirects ------------------------------------------------------------- */

static int redirect_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reply *r;

    assert_int_equal(tulip_http_get(c, url(&f, "/redir/5"), &r), 0);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "arrived");
    assert_int_equal(r->redirects, 5);
    assert_string_equal(r->url, url(&f, "/redir/0"));
    tulip_http_reply_free(r);

    /* Relative Location with dot segments, a query and a fragment. */
    assert_int_equal(tulip_http_get(c, url(&f, "/rel/a/b"), &r), 0);
    assert_string_equal(r->body, "/rel/c?x=1");
    assert_string_equal(r->url, url(&f, "/rel/c?x=1"));
    tulip_http_reply_free(r);

    assert_int_equal(tulip_http_get(c, url(&f, "/loop/a"), &r), -ELOOP);
    assert_null(r);

    /* 303 after POST: a GET without body. */
    assert_int_equal(tulip_http_fetch(c, "POST", url(&f, "/post303"), NULL, 0, "data", 4, &r), 0);
    assert_string_equal(r->body, "GET:");
    tulip_http_reply_free(r);
    tulip_http_client_free(c);

    /* The limit: 3 redirects allowed, 4 needed. */
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.max_redirects = 3;
    c = tulip_http_client_new(&o);
    assert_int_equal(tulip_http_get(c, url(&f, "/redir/4"), &r), -ELOOP);
    assert_int_equal(tulip_http_get(c, url(&f, "/redir/3"), &r), 0);
    assert_int_equal(r->redirects, 3);
    tulip_http_reply_free(r);
    tulip_http_client_free(c);

    /* Not following: the 3xx is the answer. */
    o.max_redirects = 0;
    c = tulip_http_client_new(&o);
    assert_int_equal(tulip_http_get(c, url(&f, "/redir/2"), &r), 0);
    assert_int_equal(r->status, 301);
    assert_string_equal(tulip_http_reply_header(r, "location", NULL), "/redir/1");
    tulip_http_reply_free(r);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

static void test_redirects(void **state)
{
    (void)state;
    assert_int_equal(test_run(redirect_body, NULL), 0);
}

/* ---- compression and limits --------------------------------------------------- */

#ifdef TULIP_HAVE_ZLIB
static char *compress_with(const char *in, size_t n, int wbits, size_t *out_len)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n);
    char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}
#endif

static int compressed_body(void *arg)
{
    (void)arg;
#ifdef TULIP_HAVE_ZLIB
    static char text[20000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    gz_body = compress_with(text, sizeof text, 15 + 16, &gz_len);
    zl_body = compress_with(text, sizeof text, 15, &zl_len);
    char *zeros = calloc(1, (size_t)4 << 20);
    bomb_body = compress_with(zeros, (size_t)4 << 20, 15 + 16, &bomb_len);
    free(zeros);

    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reply *r;
    assert_int_equal(tulip_http_get(c, url(&f, "/gzip"), &r), 0);
    assert_true(r->decoded);
    assert_int_equal(r->body_len, sizeof text);
    assert_memory_equal(r->body, text, sizeof text);
    tulip_http_reply_free(r);
    assert_int_equal(tulip_http_get(c, url(&f, "/deflate"), &r), 0);
    assert_true(r->decoded);
    assert_int_equal(r->body_len, sizeof text);
    assert_memory_equal(r->body, text, sizeof text);
    tulip_http_reply_free(r);
    tulip_http_client_free(c);

    /* Small bodies that inflate past the limit are cut at the limit. */
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.max_body = (size_t)1 << 20;
    c = tulip_http_client_new(&o);
    assert_true(bomb_len < o.max_body / 100);
    assert_int_equal(tulip_http_get(c, url(&f, "/bomb"), &r), -EFBIG);
    tulip_http_client_free(c);

    /* Not asking for compression: the bytes come as sent. */
    o.accept_compressed = false;
    c = tulip_http_client_new(&o);
    assert_int_equal(tulip_http_get(c, url(&f, "/gzip"), &r), 0);
    assert_false(r->decoded);
    assert_int_equal(r->body_len, gz_len);
    tulip_http_reply_free(r);
    tulip_http_client_free(c);
    fx_stop(&f);
    free(gz_body);
    free(zl_body);
    free(bomb_body);
#endif
    return 0;
}

static void test_compressed(void **state)
{
    (void)state;
    assert_int_equal(test_run(compressed_body, NULL), 0);
}

static int limits_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.max_body = 4999;
    tulip_http_client *c = tulip_http_client_new(&o);
    tulip_http_reply *r = (tulip_http_reply *)1;
    assert_int_equal(tulip_http_get(c, url(&f, "/big"), &r), -EFBIG);
    assert_null(r);
    assert_int_equal(tulip_http_get(c, url(&f, "/bigchunked"), &r), -EFBIG);
    assert_int_equal(tulip_http_get(c, url(&f, "/cl"), &r), 0);
    tulip_http_reply_free(r);
    tulip_http_client_free(c);

    o.max_body = 5000;
    o.max_head = 40; /* the server's Date header alone is longer */
    c = tulip_http_client_new(&o);
    assert_int_equal(tulip_http_get(c, url(&f, "/big"), &r), -EMSGSIZE);
    tulip_http_client_free(c);
    o.max_head = 4096;
    o.max_headers = 2;
    c = tulip_http_client_new(&o);
    assert_int_equal(tulip_http_get(c, url(&f, "/cl"), &r), -EMSGSIZE);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

static void test_limits(void **state)
{
    (void)state;
    assert_int_equal(test_run(limits_body, NULL), 0);
}

/* ---- URLs and argument errors -------------------------------------------------- */

/* The one dot-segment remover (the client's redirects and the crawler use
 * it): RFC 3986 5.2.4's walk-through and the corners of its loop. */
static void test_path_remove_dots(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        {"/a/b/c/./../../g", "/a/g"}, {"/mid/content=5/../6", "/mid/6"}, {"/", "/"},
        {"/.", "/"}, {"/..", "/"}, {"/../../a", "/a"}, {"/a/b/..", "/a/"}, {"/a/b/.", "/a/b/"},
        {"/a/./b/", "/a/b/"}, {"/a//b/../c", "/a//c"}, {"/a/.b/..c/...", "/a/.b/..c/..."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        size_t n = strlen(cases[i].in);
        memcpy(buf, cases[i].in, n);
        n = tulip_http_path_remove_dots(buf, n);
        buf[n] = '\0';
        assert_string_equal(buf, cases[i].out);
    }
}

static void test_url_parse(void **state)
{
    (void)state;
    tulip_http_url u;
    assert_int_equal(tulip_http_url_parse("http://example.org", &u), 0);
    assert_false(u.https);
    assert_int_equal(u.port, 80);
    assert_int_equal(u.host_len, 11);
    assert_memory_equal(u.path, "/", 1);
    assert_int_equal(tulip_http_url_parse("HTTPS://[::1]:8443/a/b?q=1#frag", &u), 0);
    assert_true(u.https && u.ipv6);
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.host_len, 3);
    assert_memory_equal(u.host, "::1", 3);
    assert_int_equal(u.path_len, 8);
    assert_memory_equal(u.path, "/a/b?q=1", 8);
    assert_int_equal(tulip_http_url_parse("ftp://example.org/", &u), -EPROTONOSUPPORT);
    assert_int_equal(tulip_http_url_parse("mailto:x@y", &u), -EPROTONOSUPPORT);
    assert_int_equal(tulip_http_url_parse("http://a b/", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http:///path", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http://host:0/", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http://host:65536/", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http://host:8x/", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http://user@host/", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http://[::1/", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http://h\xc3\xa9/", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("/relative", &u), -EINVAL);
    assert_int_equal(tulip_http_url_parse("http:/x", &u), -EINVAL);
}

static int bad_args_body(void *arg)
{
    (void)arg;
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reply *r;
    assert_int_equal(tulip_http_get(c, "gopher://x/", &r), -EPROTONOSUPPORT);
    assert_int_equal(tulip_http_get(c, "http://bad host/", &r), -EINVAL);
    assert_int_equal(tulip_http_fetch(c, "GE T", "http://127.0.0.1:1/", NULL, 0, NULL, 0, &r), -EINVAL);
    tulip_http_header h = {"Host", 4, "x", 1};
    assert_int_equal(tulip_http_fetch(c, "GET", "http://127.0.0.1:1/", &h, 1, NULL, 0, &r), -EINVAL);
    tulip_http_header h2 = {"X-A", 3, "a\r\nb", 4};
    assert_int_equal(tulip_http_fetch(c, "GET", "http://127.0.0.1:1/", &h2, 1, NULL, 0, &r), -EINVAL);
    /* Nothing listens on a port we just closed. */
    int fd = tulip_listen("tcp", "127.0.0.1:0", 1);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", tulip_local_port(fd));
    tulip_close(fd);
    assert_int_equal(tulip_http_get(c, u, &r), -ECONNREFUSED);
#ifndef TULIP_HAVE_TLS
    assert_int_equal(tulip_http_get(c, "https://127.0.0.1:1/", &r), -EPROTONOSUPPORT);
#endif
    tulip_http_client_free(c);
    return 0;
}

static void test_bad_args(void **state)
{
    (void)state;
    assert_int_equal(test_run(bad_args_body, NULL), 0);
    tulip_http_reply *r;
    tulip_http_client *c = tulip_http_client_new(NULL);
    assert_int_equal(tulip_http_get(c, "http://127.0.0.1:1/", &r), -EPERM);
    assert_int_equal(tulip_http_get(NULL, "http://127.0.0.1:1/", &r), -EINVAL);
    tulip_http_client_free(c);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.per_host = 0;
    assert_null(tulip_http_client_new(&o));
    assert_int_equal(errno, EINVAL);
}

/* ---- timeouts and cancellation --------------------------------------------------- */

static int cancel_handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    (void)r;
    int rc = tulip_sleep(TULIP_SEC(3600));
    if (rc < 0)
        return rc;
    return tulip_http_respond(res, 200, NULL, "late", 4);
}

static int timeout_body(void *arg)
{
    (void)arg;
    tulip_http_server *srv = tulip_http_server_new(NULL, cancel_handler, NULL);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", tulip_http_server_port(srv));
    tulip_task *t = tulip_spawn(tulip_http_server_task, srv);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.timeout = TULIP_SEC(2);
    tulip_http_client *c = tulip_http_client_new(&o);
    tulip_http_reply *r;
    int64_t t0 = tulip_now();
    assert_int_equal(tulip_http_get(c, u, &r), -ETIMEDOUT);
    assert_int_equal(tulip_now() - t0, TULIP_SEC(2));
    /* The caller's own scope bounds it too, and is reported as its own. */
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_SEC(1));
    assert_int_equal(tulip_http_get(c, u, &r), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    tulip_scope_enter_timeout(&sc, TULIP_SEC(10));
    tulip_scope_cancel(&sc);
    assert_int_equal(tulip_http_get(c, u, &r), -ECANCELED);
    assert_int_equal(tulip_scope_exit(&sc), -ECANCELED);
    tulip_http_client_stats cs;
    tulip_http_client_stats_get(c, &cs);
    assert_int_equal(cs.open, 0);
    tulip_http_client_free(c);
    tulip_http_server_shutdown(srv);
    assert_int_equal(tulip_join(t), 0);
    tulip_http_server_free(srv);
    return 0;
}

static void test_timeout_and_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(timeout_body, NULL), 0);
}


/* ---- https ----------------------------------------------------------------- */

#if __has_include(<openssl/ssl.h>) && defined(TULIP_HAVE_TLS)
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

static char tls_dir[64], cert_path[128], key_path[128];

static void add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A throw-away self-signed certificate for 127.0.0.1. */
static void make_cert(void)
{
    strcpy(tls_dir, "/tmp/tulip-https-XXXXXX");
    assert_non_null(mkdtemp(tls_dir));
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tls_dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", tls_dir);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

typedef struct tls_srv {
    int lfd;
    tulip_tls_ctx *ctx;
} tls_srv;

/* A TLS server answering every request on a connection with "secure";
 * the clients come one after the other. */
static void tls_serve_one(tls_srv *ts, int fd)
{
    tulip_stream *s = tulip_stream_new_tls_server(fd, ts->ctx);
    if (!s) {
        tulip_close(fd);
        return;
    }
    char line[4096];
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
    while (tulip_stream_readuntil(s, "\r\n\r\n", 4, line, sizeof line) > 0)
        if (tulip_stream_write(s, resp, sizeof resp - 1) < 0 || tulip_stream_flush(s) < 0)
            break;
    tulip_stream_close(s);
}

static int tls_conn(void *p)
{
    tls_srv *ts = p;
    for (int i = 0; i < 3; i++) {
        int fd = tulip_accept(ts->lfd, NULL, NULL);
        if (fd < 0)
            return 0;
        tls_serve_one(ts, fd);
    }
    return 0;
}

static int https_body(void *arg)
{
    (void)arg;
    tls_srv ts;
    ts.ctx = tulip_tls_server_ctx_new(cert_path, key_path);
    assert_non_null(ts.ctx);
    ts.lfd = tulip_listen("tcp", "127.0.0.1:0", 8);
    char u[64];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/s", tulip_local_port(ts.lfd));
    tulip_group *g = tulip_group_new();
    tulip_group_spawn(g, tls_conn, &ts);

    /* Verified against the test CA, over one kept-alive connection. */
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.ca_file = cert_path;
    tulip_http_client *c = tulip_http_client_new(&o);
    tulip_http_reply *r;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tulip_http_get(c, u, &r), 0);
        assert_string_equal(r->body, "secure");
        assert_int_equal(r->reused, i > 0);
        tulip_http_reply_free(r);
    }
    tulip_http_client_free(c);
    /* Unknown issuer: refused. */
    c = tulip_http_client_new(NULL);
    assert_int_equal(tulip_http_get(c, u, &r), -EACCES);
    tulip_http_client_free(c);
    /* Verification off (tests only). */
    tulip_http_client_opts_init(&o);
    o.insecure_skip_verify = true;
    c = tulip_http_client_new(&o);
    assert_int_equal(tulip_http_get(c, u, &r), 0);
    assert_string_equal(r->body, "secure");
    tulip_http_reply_free(r);
    tulip_http_client_free(c);
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);
    tulip_close(ts.lfd);
    tulip_tls_ctx_free(ts.ctx);
    return 0;
}

static void test_https(void **state)
{
    (void)state;
    make_cert();
    assert_int_equal(test_run(https_body, NULL), 0);
    unlink(cert_path);
    unlink(key_path);
    rmdir(tls_dir);
}
#else
static void test_https(void **state)
{
    (void)state;
    skip();
}
#endif

/* ---- fault injection ---------------------------------------------------------- */

static int faults_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    /* Every allocation of one request failing in turn: an error or a
     * success, never a crash or a leak. */
    int ok = 0;
    for (unsigned long nth = 1; nth < 80 && ok < 3; nth++) {
        tulip_http_client *c = tulip_http_client_new(NULL);
        assert_non_null(c);
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        tulip_http_reply *r;
        int rc = tulip_http_get(c, url(&f, "/redir/1"), &r);
        tulip_fault_reset();
        if (rc == 0) {
            ok++;
            tulip_http_reply_free(r);
        } else {
            assert_null(r);
        }
        tulip_http_client_free(c);
    }
    assert_true(ok > 0);
    fx_stop(&f);
    return 0;
}

static void test_faults(void **state)
{
    (void)state;
    for (unsigned long nth = 1; nth <= 3; nth++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        tulip_http_client *c = tulip_http_client_new(NULL);
        tulip_fault_reset();
        if (c) {
            assert_true(nth > 2);
            tulip_http_client_free(c);
        } else {
            assert_int_equal(errno, ENOMEM);
        }
    }
    assert_int_equal(test_run(faults_body, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framings),
        cmocka_unit_test(test_keepalive_reuse),
        cmocka_unit_test(test_bracketed_host_is_another_pool),
        cmocka_unit_test(test_stale_pooled_connection),
        cmocka_unit_test(test_per_host_limit),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_url_parse), cmocka_unit_test(test_path_remove_dots),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_timeout_and_cancel),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
