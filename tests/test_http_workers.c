/* The HTTP server on every loop: SO_REUSEPORT listeners or one shared
 * listener, concurrent clients, stats summed, shutdown of all loops. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "test_util.h"
#include "tulip/runtime.h"
#include "tulip/http.h"

#define LOOPS 2
#define CLIENTS 32

static int hello(void *arg, const tulip_http_request_view *req, tulip_http_responder *res)
{
    (void)arg;
    (void)req;
    char body[16];
    int n = snprintf(body, sizeof body, "%d", tulip_loop_index());
    return tulip_http_respond(res, 200, "text/plain", body, (size_t)n);
}

static int port;
static int served_by[LOOPS];

static int client(void *p)
{
    (void)p;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    int fd = tulip_dial("tcp", addr);
    if (fd < 0)
        return fd;
    const char *req = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (tulip_write_all(fd, req, strlen(req), NULL) != (ssize_t)strlen(req)) {
        tulip_close(fd);
        return -EIO;
    }
    char buf[1024];
    size_t len = 0;
    for (;;) {
        ssize_t r = tulip_read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    tulip_close(fd);
    buf[len] = 0;
    char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || !body)
        return -EPROTO;
    int idx = atoi(body + 4);
    if (idx < 0 || idx >= LOOPS)
        return -ERANGE;
    served_by[idx]++;
    return 0;
}

static int main_serve(void *p)
{
    unsigned flags = (unsigned)(uintptr_t)p;
    memset(served_by, 0, sizeof served_by);
    tulip_http_workers *w = tulip_http_workers_new(NULL, hello, NULL, 0, flags);
    assert_non_null(w);
    assert_int_equal(tulip_http_workers_count(w), LOOPS);
    assert_int_equal(tulip_http_workers_listen(w, "127.0.0.1:0"), 0);
    port = tulip_http_workers_port(w);
    assert_true(port > 0);
    tulip_task *srv = tulip_spawn(tulip_http_workers_task, w);
    tulip_task *c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        c[i] = tulip_spawn(client, NULL);
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(tulip_join(c[i]), 0);
    assert_int_equal(served_by[0] + served_by[1], CLIENTS);
    if (!(flags & TULIP_HTTP_SHARED_LISTENER)) {
        /* 32 connections hashed over two listeners: both get some (all on
         * one would happen once in 2^31 runs). */
        assert_true(served_by[0] > 0 && served_by[1] > 0);
    }
    /* Summed across loops, read while serving. */
    tulip_http_server_stats st;
    assert_int_equal(tulip_http_workers_stats_get(w, &st), 0);
    assert_int_equal(st.requests, CLIENTS);
    assert_int_equal(st.connections, CLIENTS);
    assert_int_equal(tulip_http_workers_free(w), -EBUSY);
    tulip_http_workers_shutdown(w);
    assert_int_equal(tulip_join(srv), 0);
    assert_int_equal(tulip_http_workers_stats_get(w, &st), 0);
    assert_int_equal(st.requests, CLIENTS);
    assert_int_equal(st.active, 0);
    assert_int_equal(tulip_http_workers_free(w), 0);
    return 0;
}

static int run(unsigned flags)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = LOOPS;
    return tulip_run_ex(main_serve, (void *)(uintptr_t)flags, &cfg);
}

static void test_reuseport(void **state)
{
    (void)state;
    assert_int_equal(run(0), 0);
}

static void test_shared_listener(void **state)
{
    (void)state;
    assert_int_equal(run(TULIP_HTTP_SHARED_LISTENER), 0);
}

/* Returning from main with the servers running: the run's shutdown
 * cancels the serving task, which stops every loop's server. */
static int main_abandon(void *p)
{
    (void)p;
    tulip_http_workers *w = tulip_http_workers_new(NULL, hello, NULL, 0, 0);
    assert_non_null(w);
    assert_int_equal(tulip_http_workers_listen(w, "127.0.0.1:0"), 0);
    port = tulip_http_workers_port(w);
    tulip_task *srv = tulip_spawn(tulip_http_workers_task, w);
    assert_int_equal(tulip_join(tulip_spawn(client, NULL)), 0);
    tulip_cancel(srv);
    assert_int_equal(tulip_join(srv), -ECANCELED);
    assert_int_equal(tulip_http_workers_free(w), 0);
    return 0;
}

static void test_cancelled_serve_stops_all(void **state)
{
    (void)state;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = LOOPS;
    assert_int_equal(tulip_run_ex(main_abandon, NULL, &cfg), 0);
}

static int main_bad(void *p)
{
    (void)p;
    assert_null(tulip_http_workers_new(NULL, hello, NULL, LOOPS + 1, 0));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_http_workers_new(NULL, hello, NULL, 0, 99));
    tulip_http_workers *w = tulip_http_workers_new(NULL, hello, NULL, 1, 0);
    assert_int_equal(tulip_http_workers_serve(w), -EINVAL); /* not listening */
    assert_int_equal(tulip_http_workers_listen(w, "nonsense"), -EINVAL);
    assert_int_equal(tulip_http_workers_free(w), 0);
    assert_int_equal(tulip_listen_ex("tcp", "127.0.0.1:0", 0, 8), -EINVAL);
    return 0;
}

static void test_bad_input(void **state)
{
    (void)state;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = LOOPS;
    assert_int_equal(tulip_run_ex(main_bad, NULL, &cfg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuseport),
        cmocka_unit_test(test_shared_listener),
        cmocka_unit_test(test_cancelled_serve_stops_all),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
