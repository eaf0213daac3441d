/* The HTTP server on every loop: SO_REUSEPORT listeners, one shared
 * listener and the default for the backend (on every backend the tests run
 * on), every loop accepting from a shared listener, concurrent clients,
 * stats summed, shutdown of all loops. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <sys/socket.h>

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
    /* The default: the shared listener on epoll, SO_REUSEPORT elsewhere. */
    unsigned how = tulip_http_workers_listener(w);
    if (flags)
        assert_int_equal(how, flags);
    else
        assert_int_equal(how, strcmp(tulip_loop_backend(tulip_loop_current()), "epoll") == 0
                                  ? TULIP_HTTP_SHARED_LISTENER : TULIP_HTTP_REUSEPORT);
    tulip_task *srv = tulip_spawn(tulip_http_workers_task, w);
    tulip_task *c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        c[i] = tulip_spawn(client, NULL);
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(tulip_join(c[i]), 0);
    assert_int_equal(served_by[0] + served_by[1], CLIENTS);
    if (how == TULIP_HTTP_REUSEPORT) {
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
    assert_int_equal(run(TULIP_HTTP_REUSEPORT), 0);
}

static void test_default_listener(void **state)
{
    (void)state;
    assert_int_equal(run(0), 0);
}

static void test_shared_listener(void **state)
{
    (void)state;
    assert_int_equal(run(TULIP_HTTP_SHARED_LISTENER), 0);
}

/* Every loop accepts from a shared listener: the loop that took the first
 * connection is held (its thread blocked in the handler) until a second
 * connection, made once the first handler runs, is served by another
 * loop; on epoll EPOLLEXCLUSIVE hands it to a loop waiting in epoll_wait,
 * on poll every loop sees it. The clients are a plain thread with blocking
 * sockets, since loop 0 may be the one held. (Not on io_uring, where the
 * exclusive multishot accept of the held loop's ring may take it: that is
 * why the default there is SO_REUSEPORT.) */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_first_in = -1, gate_other_done;
static atomic_int gate_calls;

static int gate(void *arg, const tulip_http_request_view *req, tulip_http_responder *res)
{
    (void)arg;
    (void)req;
    int me = tulip_loop_index();
    pthread_mutex_lock(&gate_mu);
    if (atomic_fetch_add(&gate_calls, 1) == 0) {
        gate_first_in = me;
        pthread_cond_broadcast(&gate_cv);
        while (!gate_other_done)
            pthread_cond_wait(&gate_cv, &gate_mu);
    } else {
        gate_other_done = 1;
        pthread_cond_broadcast(&gate_cv);
    }
    pthread_mutex_unlock(&gate_mu);
    char body[16];
    int n = snprintf(body, sizeof body, "%d", me);
    return tulip_http_respond(res, 200, "text/plain", body, (size_t)n);
}

static int blocking_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    const char *req = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        return -1;
    return fd;
}

/* The loop index in a response, read to its end. */
static int blocking_answer(int fd)
{
    char buf[1024];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    close(fd);
    const char *body = strstr(buf, "\r\n\r\n");
    return body ? atoi(body + 4) : -1;
}

static int gate_served[2];
static int gate_done[2];           /* a pipe: the clients' thread says it is done */

static void *gate_clients(void *p)
{
    (void)p;
    int a = blocking_connect();
    pthread_mutex_lock(&gate_mu);
    while (gate_first_in < 0)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    int b = blocking_connect();
    gate_served[1] = b >= 0 ? blocking_answer(b) : -1;
    gate_served[0] = a >= 0 ? blocking_answer(a) : -1;
    (void)!write(gate_done[1], "x", 1);
    return NULL;
}

static int main_gate(void *p)
{
    (void)p;
    tulip_http_workers *w = tulip_http_workers_new(NULL, gate, NULL, 0, TULIP_HTTP_SHARED_LISTENER);
    assert_non_null(w);
    assert_int_equal(tulip_http_workers_listen(w, "127.0.0.1:0"), 0);
    port = tulip_http_workers_port(w);
    tulip_task *srv = tulip_spawn(tulip_http_workers_task, w);
    assert_int_equal(pipe2(gate_done, O_CLOEXEC), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, gate_clients, NULL), 0);
    /* Waited for on the pipe, which leaves this loop free to serve (it may
     * be the one the clients need). */
    char x;
    assert_int_equal(tulip_read(gate_done[0], &x, 1), 1);
    pthread_join(th, NULL);
    tulip_close(gate_done[0]);
    close(gate_done[1]);
    assert_int_equal(atomic_load(&gate_calls), 2);
    assert_int_equal(gate_served[0], gate_first_in);
    assert_true(gate_served[1] >= 0 && gate_served[1] != gate_served[0]);
    tulip_http_workers_shutdown(w);
    assert_int_equal(tulip_join(srv), 0);
    assert_int_equal(tulip_http_workers_free(w), 0);
    return 0;
}

static void test_shared_every_loop_accepts(void **state)
{
    (void)state;
    const char *be = getenv("TULIP_BACKEND");
    if (be && strcmp(be, "io_uring") == 0)
        skip();
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = LOOPS;
    assert_int_equal(tulip_run_ex(main_gate, NULL, &cfg), 0);
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
    assert_null(tulip_http_workers_new(NULL, hello, NULL, 0, TULIP_HTTP_SHARED_LISTENER | TULIP_HTTP_REUSEPORT));
    assert_int_equal(errno, EINVAL);
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
        cmocka_unit_test(test_default_listener),
        cmocka_unit_test(test_shared_every_loop_accepts),
        cmocka_unit_test(test_cancelled_serve_stops_all),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
