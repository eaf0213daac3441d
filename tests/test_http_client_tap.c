/* The client's tap (tulip_http_fetch_tap): the exact bytes sent and
 * received, with chunked framing and content coding as on the wire, one
 * exchange per tap over a keep-alive connection, and what arrived of a
 * body the client refused. */
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

#ifdef TULIP_HAVE_ZLIB
static char gz[256];
static size_t gz_len;
static const char plain[] = "the quick brown fox jumps over the lazy dog, twice: the quick brown fox";

static bool path_is(const tulip_http_request_view *r, const char *p)
{
    return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

static int handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    if (path_is(r, "/gzchunked")) {
        tulip_http_header h = {"Content-Encoding", 16, "gzip", 4};
        return tulip_http_respond_ex(res, 200, &h, 1, gz, gz_len, TULIP_HTTP_CHUNKED);
    }
    if (path_is(r, "/cl"))
        return tulip_http_respond(res, 200, "text/plain", "hello", 5);
    if (path_is(r, "/big")) {
        static char big[20000];
        memset(big, 'b', sizeof big);
        return tulip_http_respond_ex(res, 200, NULL, 0, big, sizeof big, TULIP_HTTP_CHUNKED);
    }
    return tulip_http_respond(res, 404, "text/plain", "no\n", 3);
}

/* Chunked framing removed, or NULL when malformed. */
static char *dechunk(const char *p, size_t n, size_t *out_len)
{
    char *out = malloc(n + 1);
    size_t o = 0, i = 0;
    for (;;) {
        char *end;
        unsigned long sz = strtoul(p + i, &end, 16);
        const char *crlf = memmem(end, n - (size_t)(end - p), "\r\n", 2);
        if (!crlf) {
            free(out);
            return NULL;
        }
        i = (size_t)(crlf - p) + 2;
        if (sz == 0)
            break;
        memcpy(out + o, p + i, sz);
        o += sz;
        i += sz + 2;
    }
    *out_len = o;
    return out;
}

static void make_gz(void)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)plain;
    z.avail_in = sizeof plain - 1;
    z.next_out = (Bytef *)gz;
    z.avail_out = sizeof gz;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    gz_len = sizeof gz - z.avail_out;
    deflateEnd(&z);
}

static int tap_body(void *arg)
{
    (void)arg;
    make_gz();
    tulip_http_server *srv = tulip_http_server_new(NULL, handler, NULL);
    assert_non_null(srv);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    char base[64], u[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", tulip_http_server_port(srv));
    tulip_task *st = tulip_spawn(tulip_http_server_task, srv);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.per_host = 1;
    o.max_body = 10000;
    tulip_http_client *c = tulip_http_client_new(&o);
    tulip_http_tap tap = {0};
    tulip_http_reply *r;

    /* chunked + gzip: the tap has both, the reply neither */
    for (int round = 0; round < 2; round++) { /* the second on the pooled connection */
        snprintf(u, sizeof u, "%s/gzchunked", base);
        assert_int_equal(tulip_http_fetch_tap(c, "GET", u, NULL, 0, NULL, 0, &tap, &r), 0);
        assert_int_equal(r->reused, round == 1);
        assert_true(r->decoded);
        assert_int_equal(r->body_len, sizeof plain - 1);
        assert_string_equal(tap.peer, "127.0.0.1");
        assert_true(tap.complete);
        assert_false(tap.truncated);
        assert_true(strncmp(tap.request, "GET /gzchunked HTTP/1.1\r\nHost: 127.0.0.1:", 41) == 0);
        assert_non_null(strstr(tap.request, "Accept-Encoding: gzip"));
        assert_int_equal(tap.request_len, strlen(tap.request));
        assert_true(tap.request_len >= 4 && memcmp(tap.request + tap.request_len - 4, "\r\n\r\n", 4) == 0);
        assert_true(strncmp(tap.response, "HTTP/1.1 200 OK\r\n", 17) == 0);
        assert_true(tap.head_len > 4 && memcmp(tap.response + tap.head_len - 4, "\r\n\r\n", 4) == 0);
        assert_non_null(memmem(tap.response, tap.head_len, "Transfer-Encoding: chunked", 26));
        assert_int_equal(tap.response_len - tap.head_len, r->bytes_in - tap.head_len);
        size_t n;
        char *body = dechunk(tap.response + tap.head_len, tap.response_len - tap.head_len, &n);
        assert_non_null(body);
        assert_int_equal(n, gz_len);
        assert_memory_equal(body, gz, gz_len);
        free(body);
        /* the response ends with the last chunk: nothing of another */
        assert_true(memcmp(tap.response + tap.response_len - 5, "0\r\n\r\n", 5) == 0);
        tulip_http_reply_free(r);
    }

    /* the tap is reused: only this exchange */
    snprintf(u, sizeof u, "%s/cl", base);
    assert_int_equal(tulip_http_fetch_tap(c, "GET", u, NULL, 0, NULL, 0, &tap, &r), 0);
    assert_int_equal(tap.response_len, tap.head_len + 5);
    assert_memory_equal(tap.response + tap.head_len, "hello", 5);
    assert_int_equal(tap.response_len, r->bytes_in);
    tulip_http_reply_free(r);

    /* a body past max_body: the call fails, the tap keeps what arrived */
    snprintf(u, sizeof u, "%s/big", base);
    assert_int_equal(tulip_http_fetch_tap(c, "GET", u, NULL, 0, NULL, 0, &tap, &r), -EFBIG);
    assert_null(r);
    assert_false(tap.complete);
    assert_true(tap.head_len > 0);
    assert_true(tap.response_len > tap.head_len);
    assert_true(strncmp(tap.response, "HTTP/1.1 200 OK\r\n", 17) == 0);

    /* a bound on the tap itself */
    tap.max = 100;
    assert_int_equal(tulip_http_fetch_tap(c, "GET", u, NULL, 0, NULL, 0, &tap, &r), -EFBIG);
    assert_true(tap.truncated);
    assert_int_equal(tap.response_len, 100);
    tap.max = 0;

    /* a refused connection: nothing was sent, nothing kept */
    assert_int_equal(tulip_http_fetch_tap(c, "GET", "http://127.0.0.1:1/", NULL, 0, NULL, 0, &tap, &r),
                     -ECONNREFUSED);
    assert_int_equal(tap.response_len, 0);

    /* NULL tap is a plain fetch */
    snprintf(u, sizeof u, "%s/cl", base);
    assert_int_equal(tulip_http_fetch_tap(c, "GET", u, NULL, 0, NULL, 0, NULL, &r), 0);
    tulip_http_reply_free(r);

    tulip_http_tap_free(&tap);
    tulip_http_tap_free(NULL);
    tulip_http_client_free(c);
    tulip_http_server_shutdown(srv);
    assert_int_equal(tulip_join(st), 0);
    tulip_http_server_free(srv);
    return 0;
}

static void test_tap(void **state)
{
    (void)state;
    assert_int_equal(test_run(tap_body, NULL), 0);
}

#else
static void test_tap(void **state)
{
    (void)state;
    skip();
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
