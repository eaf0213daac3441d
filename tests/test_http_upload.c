/* Streamed request bodies end to end: the client sends a body from a
 * reader callback (with a length, or chunked) and the server hands it to
 * a handler that reads it piece by piece. Neither side holds it whole:
 * the server's buffered bytes stay at one read buffer. Also the client's
 * errors for a reader that gives more or fewer bytes than announced, or
 * fails. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "test_util.h"

#define BODY (3u << 20) /* 3 MiB, more than the server's max_body would allow whole */

/* The handler: sums the body as it streams in, answers "<bytes> <sum>". */
static int sum_handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    (void)r;
    char buf[4096];
    uint64_t sum = 0, total = 0;
    ssize_t n;
    while ((n = tulip_http_request_read(res, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            sum = sum * 31 + (unsigned char)buf[i];
        total += (uint64_t)n;
    }
    if (n < 0)
        return (int)n;
    char out[64];
    int len = snprintf(out, sizeof out, "%llu %llu", (unsigned long long)total, (unsigned long long)sum);
    return tulip_http_respond(res, 200, "text/plain", out, (size_t)len);
}

/* A generated body: byte i is (i * 13) & 0xff, given in odd-sized
 * pieces; `extra` more or fewer bytes than `len` to test the checks, or
 * fail with `fail_at` bytes given. */
typedef struct gen {
    uint64_t len, pos;
    int64_t extra;
    uint64_t fail_at;
} gen;

static ssize_t gen_read(void *arg, void *buf, size_t cap)
{
    gen *g = arg;
    uint64_t end = g->len + (uint64_t)g->extra;
    if (g->fail_at && g->pos >= g->fail_at)
        return -EIO;
    if (g->pos >= end)
        return 0;
    size_t n = cap < 7777 ? cap : 7777;
    if (n > end - g->pos)
        n = (size_t)(end - g->pos);
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((g->pos + i) * 13);
    g->pos += n;
    return (ssize_t)n;
}

static uint64_t expected_sum(uint64_t len)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < len; i++)
        sum = sum * 31 + (unsigned char)(i * 13);
    return sum;
}

static int upload_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts so;
    tulip_http_server_opts_init(&so);
    so.max_body = 8u << 20;
    tulip_http_server *srv = tulip_http_server_new(&so, sum_handler, NULL);
    assert_non_null(srv);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/up", tulip_http_server_port(srv));
    tulip_task *st = tulip_spawn(tulip_http_server_task, srv);
    tulip_http_client *c = tulip_http_client_new(NULL);
    assert_non_null(c);
    char want[64];
    snprintf(want, sizeof want, "%u %llu", BODY, (unsigned long long)expected_sum(BODY));
    /* With a length, then chunked. */
    for (int chunked = 0; chunked < 2; chunked++) {
        gen g = {BODY, 0, 0, 0};
        tulip_http_upload up = {gen_read, &g, chunked ? -1 : (int64_t)BODY};
        tulip_http_reply *r = NULL;
        assert_int_equal(tulip_http_fetch_upload(c, "PUT", url, NULL, 0, &up, &r), 0);
        assert_int_equal(r->status, 200);
        assert_string_equal(r->body, want);
        assert_true(r->bytes_out > BODY);
        tulip_http_reply_free(r);
    }
    tulip_http_server_stats ss;
    assert_int_equal(tulip_http_server_stats_get(srv, &ss), 0);
    assert_true(ss.peak_buffered <= 16384); /* one read buffer, never the body */
    /* A reader that gives more, or fewer, than the announced length; one
     * that fails. */
    gen more = {1000, 0, 1, 0}, fewer = {1000, 0, -1, 0}, failing = {100000, 0, 0, 50000};
    tulip_http_upload up1 = {gen_read, &more, 1000}, up2 = {gen_read, &fewer, 1000}, up3 = {gen_read, &failing, -1};
    tulip_http_reply *r = NULL;
    assert_int_equal(tulip_http_fetch_upload(c, "POST", url, NULL, 0, &up1, &r), -EMSGSIZE);
    assert_null(r);
    assert_int_equal(tulip_http_fetch_upload(c, "POST", url, NULL, 0, &up2, &r), -ENODATA);
    assert_int_equal(tulip_http_fetch_upload(c, "POST", url, NULL, 0, &up3, &r), -EIO);
    tulip_http_upload bad = {NULL, NULL, 0};
    assert_int_equal(tulip_http_fetch_upload(c, "POST", url, NULL, 0, &bad, &r), -EINVAL);
    assert_int_equal(tulip_http_fetch_upload(c, "POST", url, NULL, 0, NULL, &r), -EINVAL);
    tulip_http_client_free(c);
    tulip_http_server_shutdown(srv);
    assert_int_equal(tulip_join(st), 0);
    tulip_http_server_free(srv);
    return 0;
}

static void test_upload(void **state)
{
    (void)state;
    assert_int_equal(test_run(upload_body, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
