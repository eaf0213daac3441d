/* The HTTP server's first attempt at an answer (tulip__send_try,
 * src/io/io_internal.h): on io_uring a ring operation that does not wait
 * for room, on epoll and poll a plain MSG_DONTWAIT send. Observed through
 * tulip__send_try_ring, the count of tries that went to the ring: one per
 * answer on io_uring, none elsewhere. An answer bigger than the socket
 * buffers comes out whole (the try is short and the scoped writev loop
 * takes the rest), a client that never reads is cut off by send_timeout,
 * and the public tulip_send(..., MSG_DONTWAIT) still never parks. Every
 * backend runs it; the .uring run is the one it is for. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "test_util.h"
#include "http_test_util.h"
#include "io/io_internal.h"

#define BIG (8u << 20) /* more than a loopback socket pair buffers */
#define ANSWERS 20

static char *g_big;
static tulip_event g_done;
static int g_rc;

static int handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    if (r->path_len == 4 && memcmp(r->path, "/big", 4) == 0) {
        g_rc = tulip_http_respond(res, 200, "text/plain", g_big, BIG);
        tulip_event_set(&g_done);
        return g_rc;
    }
    return tulip_http_respond(res, 200, "text/plain", "hi", 2);
}

typedef struct fx {
    tulip_http_server *srv;
    tulip_task *task;
    char addr[64];
} fx;

static void fx_start(fx *f, int64_t send_timeout)
{
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    if (send_timeout)
        o.send_timeout = send_timeout;
    f->srv = tulip_http_server_new(&o, handler, NULL);
    assert_non_null(f->srv);
    assert_int_equal(tulip_http_server_listen(f->srv, "127.0.0.1:0"), 0);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", tulip_http_server_port(f->srv));
    f->task = tulip_spawn(tulip_http_server_task, f->srv);
    assert_non_null(f->task);
}

static void fx_stop(fx *f)
{
    tulip_http_server_shutdown(f->srv);
    assert_int_equal(tulip_join(f->task), 0);
    tulip_http_server_free(f->srv);
}

static int on_ring(void)
{
    return tulip__send_try_rings();
}

/* Read until n bytes after the head "\r\n\r\n" came; returns the bytes read. */
static size_t read_answer(int fd, size_t body)
{
    static char buf[65536];
    size_t got = 0, head = 0;
    char tail[4] = {0};
    for (;;) {
        ssize_t n = tulip_read(fd, buf, sizeof buf);
        assert_true(n > 0);
        for (ssize_t i = 0; i < n && !head; i++) {
            memmove(tail, tail + 1, 3);
            tail[3] = buf[i];
            if (memcmp(tail, "\r\n\r\n", 4) == 0)
                head = got + (size_t)i + 1;
        }
        got += (size_t)n;
        if (head && got >= head + body) {
            assert_int_equal(got, head + body);
            return got;
        }
    }
}

static int small_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f, 0);
    raw c;
    raw_dial(&c, f.addr);
    uint64_t before = tulip__send_try_ring;
    for (int i = 0; i < ANSWERS; i++) {
        raw_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        read_answer(c.fd, 2);
    }
    uint64_t tries = tulip__send_try_ring - before;
    assert_int_equal(tries, on_ring() ? ANSWERS : 0);
    tulip_close(c.fd);
    fx_stop(&f);
    return 0;
}

static void test_small_answers(void **state)
{
    (void)state;
    assert_int_equal(test_run(small_body, NULL), 0);
}

static int big_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f, 0);
    tulip_event_init(&g_done);
    raw c;
    raw_dial(&c, f.addr);
    uint64_t before = tulip__send_try_ring;
    raw_send(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    read_answer(c.fd, BIG);
    assert_int_equal(tulip_event_wait(&g_done), 0);
    assert_int_equal(g_rc, 0);
    assert_int_equal(tulip__send_try_ring - before, on_ring() ? 1 : 0);
    tulip_close(c.fd);
    fx_stop(&f);
    return 0;
}

static void test_big_answer_whole(void **state)
{
    (void)state;
    assert_int_equal(test_run(big_body, NULL), 0);
}

static int stalled_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f, 50 * 1000 * 1000); /* 50 ms */
    tulip_event_init(&g_done);
    raw c;
    raw_dial(&c, f.addr);
    raw_send(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    /* Never read: the answer fills both buffers and the server gives up. */
    assert_int_equal(tulip_event_wait(&g_done), 0);
    assert_int_equal(g_rc, -ETIMEDOUT);
    tulip_close(c.fd);
    fx_stop(&f);
    return 0;
}

static void test_never_reads(void **state)
{
    (void)state;
    assert_int_equal(test_run(stalled_body, NULL), 0);
}

/* The public call keeps its contract: MSG_DONTWAIT on a full socket is
 * -EAGAIN at once, on every backend, and no ring try is counted. */
static int public_body(void *arg)
{
    (void)arg;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uint64_t before = tulip__send_try_ring;
    ssize_t total = 0, w;
    while ((w = tulip_send(sv[0], g_big, 65536, MSG_DONTWAIT)) > 0)
        total += w;
    assert_int_equal(w, -EAGAIN);
    assert_true(total > 0);
    assert_int_equal(tulip__send_try_ring, before);
    /* The internal try says the same on a full socket, without waiting. */
    struct iovec iov = {g_big, 65536};
    assert_int_equal(tulip__send_try(sv[0], &iov, 1), -EAGAIN);
    assert_int_equal(tulip__send_try_ring - before, on_ring() ? 1 : 0);
    tulip_close(sv[0]);
    tulip_close(sv[1]);
    return 0;
}

static void test_public_dontwait(void **state)
{
    (void)state;
    assert_int_equal(test_run(public_body, NULL), 0);
}

int main(void)
{
    g_big = malloc(BIG);
    if (!g_big)
        return 1;
    memset(g_big, 'z', BIG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_answers),
        cmocka_unit_test(test_big_answer_whole),
        cmocka_unit_test(test_never_reads),
        cmocka_unit_test(test_public_dontwait),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_big);
    return rc;
}
