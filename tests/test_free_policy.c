/* One policy for freeing an object that is still in use (CHANGELOG 0.2,
 * tulip/common.h): the _free/_close call returns -EBUSY, frees nothing and
 * leaves the object valid; once idle, the same call frees it and returns
 * 0. One test per object: each makes the object busy the way a program
 * would (a task parked on it, a loop running it, children running), checks
 * the refusal, then checks that the object still works and frees. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "test_util.h"

/* ---- queue and channel: a task parked in get/recv ---------------------- */

static int queue_getter(void *p)
{
    int v;
    return tulip_queue_get(p, &v) == 0 ? v : -1;
}

static int main_queue(void *arg)
{
    (void)arg;
    tulip_queue *q = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_FIFO, NULL);
    assert_non_null(q);
    tulip_task *t = tulip_spawn(queue_getter, q);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_queue_free(q), -EBUSY);
    int v = 5;
    assert_int_equal(tulip_queue_put(q, &v), 0);   /* still a working queue */
    assert_int_equal(tulip_join(t), 5);
    assert_int_equal(tulip_queue_free(q), 0);
    return 0;
}

static void test_queue(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_queue, NULL), 0);
}

static int chan_receiver(void *p)
{
    int v;
    return tulip_chan_recv(p, &v) == 0 ? v : -1;
}

static int main_chan(void *arg)
{
    (void)arg;
    tulip_chan *c = tulip_chan_new(sizeof(int), 0);
    assert_non_null(c);
    tulip_task *t = tulip_spawn(chan_receiver, c);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_chan_free(c), -EBUSY);
    int v = 6;
    assert_int_equal(tulip_chan_send(c, &v), 0);
    assert_int_equal(tulip_join(t), 6);
    assert_int_equal(tulip_chan_free(c), 0);
    return 0;
}

static void test_chan(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_chan, NULL), 0);
}

/* ---- future: a task parked in await ------------------------------------ */

static int future_waiter(void *p)
{
    void *v = NULL;
    int rc = tulip_future_await(p, &v);
    return rc < 0 ? rc : (int)(intptr_t)v;
}

static int main_future(void *arg)
{
    (void)arg;
    tulip_future *f = tulip_future_new();
    assert_non_null(f);
    tulip_task *t = tulip_spawn(future_waiter, f);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_future_free(f), -EBUSY);
    assert_int_equal(tulip_future_release(f), -EBUSY);
    assert_int_equal(tulip_future_resolve(f, (void *)(intptr_t)9), 0);
    assert_int_equal(tulip_join(t), 9);
    assert_int_equal(tulip_future_free(f), 0);
    return 0;
}

static void test_future(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_future, NULL), 0);
}

/* ---- group: children still running; the handle of a kept child --------- */

static int group_child(void *p)
{
    int rc = tulip_event_wait(p);
    return rc < 0 ? rc : 11;
}

static int main_group(void *arg)
{
    (void)arg;
    tulip_event go;
    tulip_event_init(&go);
    tulip_group *g = tulip_group_new();
    assert_non_null(g);
    tulip_task *child = tulip_group_spawn_task(g, group_child, &go);
    assert_non_null(child);
    assert_int_equal(tulip_group_spawn(g, group_child, &go), 0);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_group_size(g), 2);
    assert_int_equal(tulip_group_free(g), -EBUSY);
    /* The handle is the child's: the group owns it, so no join/detach. */
    int r = 0;
    assert_int_equal(tulip_task_result(child, &r), -EAGAIN);
    assert_false(tulip_task_is_done(child));
    assert_int_equal(tulip_join(child), -EINVAL);
    assert_int_equal(tulip_detach(child), -EINVAL);
    assert_int_equal(tulip_event_set(&go), 0);
    assert_int_equal(tulip_group_wait(g), 0);
    /* Still valid after it ended, until the group is freed. */
    assert_true(tulip_task_is_done(child));
    assert_int_equal(tulip_task_result(child, &r), 0);
    assert_int_equal(r, 11);
    assert_int_equal(tulip_join(child), -EINVAL);
    assert_int_equal(tulip_group_free(g), 0);
    return 0;
}

static void test_group(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_group, NULL), 0);
}

static int main_group_cancel_child(void *arg)
{
    (void)arg;
    tulip_event never;
    tulip_event_init(&never);
    tulip_group *g = tulip_group_new();
    assert_non_null(g);
    tulip_task *child = tulip_group_spawn_task(g, group_child, &never);
    assert_non_null(child);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_cancel(child), 0);   /* what a handle is for */
    assert_int_equal(tulip_group_wait(g), 0);   /* -ECANCELED is not a failure */
    int r = 0;
    assert_int_equal(tulip_task_result(child, &r), 0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(tulip_group_free(g), 0);
    return 0;
}

static void test_group_handle_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_group_cancel_child, NULL), 0);
}

/* ---- stream: a task parked reading ------------------------------------- */

static int stream_reader(void *p)
{
    char b[8];
    return (int)tulip_stream_read(p, b, sizeof b);
}

static int main_stream(void *arg)
{
    (void)arg;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    assert_non_null(s);
    tulip_task *t = tulip_spawn(stream_reader, s);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_stream_close(s), -EBUSY);
    assert_int_equal(tulip_write_all(sv[1], "hi", 2, NULL), 2);
    assert_int_equal(tulip_join(t), 2);          /* the stream still works */
    assert_int_equal(tulip_stream_close(s), 0);
    assert_int_equal(tulip_close(sv[1]), 0);
    return 0;
}

static void test_stream(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_stream, NULL), 0);
}

/* ---- process: a task parked in wait ------------------------------------ */

static int process_waiter(void *p)
{
    int st = 0;
    int rc = tulip_process_wait(p, &st);
    return rc < 0 ? rc : WEXITSTATUS(st);
}

static int main_process(void *arg)
{
    (void)arg;
    char *argv[] = {"cat", NULL};
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = argv;
    o.stdio[0].mode = TULIP_STDIO_PIPE;
    o.stdio[1].mode = TULIP_STDIO_NULL;
    tulip_process *p = tulip_process_spawn(&o);
    assert_non_null(p);
    tulip_task *t = tulip_spawn(process_waiter, p);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_process_free(p), -EBUSY);
    assert_int_equal(tulip_process_close_stdin(p), 0);   /* cat ends */
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(tulip_process_free(p), 0);
    return 0;
}

static void test_process(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_process, NULL), 0);
}

/* ---- loop: freed while it runs ----------------------------------------- */

static int main_loop(void *arg)
{
    (void)arg;
    assert_int_equal(tulip_loop_free(tulip_loop_current()), -EBUSY);
    return tulip_sleep(0);   /* the loop still runs */
}

static void test_loop(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_loop, NULL), 0);
    assert_int_equal(tulip_loop_free(NULL), 0);
}

/* ---- HTTP server, client and reader ------------------------------------ */

struct web {
    tulip_event release;      /* the handler ends its body when set */
    tulip_event first_chunk;  /* the reader got the first half */
    tulip_http_client *client;
    tulip_http_reader *reader;
    char url[64];
};

static int slow_body(void *arg, const tulip_http_request_view *req, tulip_http_responder *res)
{
    (void)req;
    struct web *w = arg;
    int rc = tulip_http_respond_start(res, 200, NULL, 0, 4, 0);
    if (rc == 0 && tulip_http_respond_write(res, "ab", 2) == 2 && tulip_event_wait(&w->release) == 0)
        tulip_http_respond_write(res, "cd", 2);
    return tulip_http_respond_end(res);
}

static int read_all(void *p)
{
    struct web *w = p;
    char buf[16];
    size_t got = 0;
    ssize_t n;
    while ((n = tulip_http_reader_read(w->reader, buf + got, sizeof buf - got)) > 0) {
        got += (size_t)n;
        tulip_event_set(&w->first_chunk);
    }
    return n < 0 ? (int)n : (int)got;
}

static int fetch_one(void *p)
{
    struct web *w = p;
    tulip_http_reply *r = NULL;
    int rc = tulip_http_get(w->client, w->url, &r);
    tulip_http_reply_free(r);
    return rc;
}

static int main_http(void *arg)
{
    (void)arg;
    struct web w;
    memset(&w, 0, sizeof w);
    tulip_event_init(&w.release);
    tulip_event_init(&w.first_chunk);
    tulip_http_server *srv = tulip_http_server_new(NULL, slow_body, &w);
    assert_non_null(srv);
    assert_int_equal(tulip_http_server_listen(srv, "127.0.0.1:0"), 0);
    snprintf(w.url, sizeof w.url, "http://127.0.0.1:%d/", tulip_http_server_port(srv));
    tulip_task *server = tulip_spawn(tulip_http_server_task, srv);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_http_server_free(srv), -EBUSY);      /* serving */

    w.client = tulip_http_client_new(NULL);
    assert_non_null(w.client);
    /* A reader whose body is half sent: a task parks reading the rest. */
    assert_int_equal(tulip_http_open(w.client, "GET", w.url, NULL, 0, NULL, 0, &w.reader), 0);
    assert_int_equal(tulip_http_client_free(w.client), -EBUSY);  /* reader open */
    tulip_task *reader = tulip_spawn(read_all, &w);
    /* read_all sets first_chunk after "ab" and, in the same step, parks
     * in its next read: when this task runs again, it is parked. */
    assert_int_equal(tulip_event_wait(&w.first_chunk), 0);
    assert_false(tulip_task_is_done(reader));
    assert_int_equal(tulip_http_reader_close(w.reader), -EBUSY);
    assert_int_equal(tulip_event_set(&w.release), 0);
    assert_int_equal(tulip_join(reader), 4);                     /* still worked */
    assert_int_equal(tulip_http_reader_close(w.reader), 0);

    /* A fetch in flight holds a connection slot. */
    tulip_event_clear(&w.release);
    tulip_task *fetch = tulip_spawn(fetch_one, &w);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_http_client_free(w.client), -EBUSY);
    assert_int_equal(tulip_event_set(&w.release), 0);
    assert_int_equal(tulip_join(fetch), 0);
    assert_int_equal(tulip_http_client_free(w.client), 0);

    tulip_http_server_shutdown(srv);
    assert_int_equal(tulip_join(server), 0);
    assert_int_equal(tulip_http_server_free(srv), 0);
    return 0;
}

static void test_http(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_http, NULL), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_chan),
        cmocka_unit_test(test_future),
        cmocka_unit_test(test_group),
        cmocka_unit_test(test_group_handle_cancel),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_process),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
