/* The loop's callback API: ordering, timers, cancellation, cross-thread
 * calls, fd watchers, signals, stop. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>

#include "test_util.h"

struct order {
    int seen[64];
    int n;
    tulip_loop *loop;
};

struct mark {
    struct order *o;
    int id;
};

static void record(void *p)
{
    struct mark *m = p;
    m->o->seen[m->o->n++] = m->id;
}

static tulip_loop *new_loop(int virtual_clock)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = virtual_clock;
    tulip_loop *l = tulip_loop_new(&cfg);
    assert_non_null(l);
    return l;
}

static void test_call_soon_fifo(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(0);
    struct order o = {0};
    struct mark m[10];
    for (int i = 0; i < 10; i++) {
        m[i].o = &o;
        m[i].id = i;
        assert_non_null(tulip_call_soon(l, record, &m[i]));
    }
    assert_int_equal(tulip_loop_run(l), 0);
    assert_int_equal(o.n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(o.seen[i], i);
    tulip_loop_free(l);
}

static void test_call_later_order(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    struct order o = {0};
    struct mark m[6];
    int64_t delays[6] = {TULIP_MS(30), TULIP_MS(10), TULIP_MS(20), TULIP_MS(10), 0, TULIP_MS(5)};
    for (int i = 0; i < 6; i++) {
        m[i].o = &o;
        m[i].id = i;
        assert_non_null(tulip_call_later(l, delays[i], record, &m[i]));
    }
    struct mark soon = {&o, 100};
    assert_non_null(tulip_call_soon(l, record, &soon));
    assert_int_equal(tulip_loop_run(l), 0);
    /* call_soon first, then by deadline; equal deadlines in FIFO order. */
    int want[7] = {100, 4, 5, 1, 3, 2, 0};
    assert_int_equal(o.n, 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(o.seen[i], want[i]);
    tulip_loop_free(l);
}

struct precision {
    tulip_loop *loop;
    int64_t scheduled_at, due, fired_at;
};

static void precision_cb(void *p)
{
    struct precision *pr = p;
    pr->fired_at = tulip_now();
}

static void test_timer_never_early(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(0);
    struct precision pr[5];
    for (int i = 0; i < 5; i++) {
        pr[i].loop = l;
        pr[i].scheduled_at = tulip_now();
        pr[i].due = TULIP_MS(1) * (i + 1);
        pr[i].fired_at = 0;
        assert_non_null(tulip_call_later(l, pr[i].due, precision_cb, &pr[i]));
    }
    assert_int_equal(tulip_loop_run(l), 0);
    for (int i = 0; i < 5; i++)
        assert_true(pr[i].fired_at >= pr[i].scheduled_at + pr[i].due);
    tulip_loop_free(l);
}

static void test_cancel(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    struct order o = {0};
    struct mark m[4] = {{&o, 0}, {&o, 1}, {&o, 2}, {&o, 3}};
    tulip_timer *a = tulip_call_soon(l, record, &m[0]);
    tulip_timer *b = tulip_call_soon(l, record, &m[1]);
    tulip_timer *c = tulip_call_later(l, TULIP_MS(5), record, &m[2]);
    tulip_timer *d = tulip_call_later(l, TULIP_MS(6), record, &m[3]);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    tulip_timer_cancel(a);
    tulip_timer_cancel(c);
    assert_int_equal(tulip_loop_run(l), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.seen[0], 1);
    assert_int_equal(o.seen[1], 3);
    tulip_loop_free(l);
}

static void watch_never(void *p, int events)
{
    (void)p;
    (void)events;
}

static void test_bad_input(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(0);
    errno = 0;
    assert_null(tulip_call_later(l, -1, record, NULL));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_call_soon(l, NULL, NULL));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(tulip_call_soon_threadsafe(l, NULL, NULL), -EINVAL);
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.backend = "kqueue-on-linux";
    assert_null(tulip_loop_new(&cfg));
    assert_int_equal(errno, EINVAL);
    cfg.backend = NULL;
    cfg.stack_size = 100;
    assert_null(tulip_loop_new(&cfg));
    assert_int_equal(errno, EINVAL);
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    close(p[1]);
    assert_null(tulip_watch_fd(l, p[0], TULIP_READABLE, watch_never, NULL));
    assert_int_equal(errno, EBADF);
    assert_string_equal(tulip_err_name(-ETIMEDOUT), "ETIMEDOUT");
    assert_string_equal(tulip_strerror(-ECANCELED), "cancelled");
    assert_string_equal(tulip_strerror(-123456), "unknown error");
    tulip_loop_free(l);
}

/* A million pending timers: insertion, cancellation of half of them, and
 * the rest firing in deadline order. */
struct many {
    int64_t last;
    size_t fired;
    int ordered;
};

static struct many many_state;

static void many_cb(void *p)
{
    int64_t when = (int64_t)(intptr_t)p;
    if (when < many_state.last)
        many_state.ordered = 0;
    many_state.last = when;
    many_state.fired++;
}

static void test_million_timers(void **state)
{
    (void)state;
    size_t n = test_scale(1000000);
    tulip_loop *l = new_loop(1);
    tulip_timer **t = malloc(n * sizeof *t);
    assert_non_null(t);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t delay = (int64_t)(x % 1000000) + 1;
        t[i] = tulip_call_later(l, delay, many_cb, (void *)(intptr_t)delay);
        assert_non_null(t[i]);
    }
    for (size_t i = 0; i < n; i += 2)
        tulip_timer_cancel(t[i]);
    many_state = (struct many){0, 0, 1};
    assert_int_equal(tulip_loop_run(l), 0);
    assert_int_equal(many_state.fired, n / 2);
    assert_true(many_state.ordered);
    free(t);
    tulip_loop_free(l);
}

/* call_soon_threadsafe from several threads: every call runs exactly once
 * on the loop thread. */
struct ts {
    tulip_loop *loop;
    pthread_t loop_thread;
    int count;
    int wrong_thread;
    int per_thread;
};

static void ts_cb(void *p)
{
    struct ts *s = p;
    if (!pthread_equal(pthread_self(), s->loop_thread))
        s->wrong_thread = 1;
    s->count++;
}

static void *ts_thread(void *p)
{
    struct ts *s = p;
    for (int i = 0; i < s->per_thread; i++)
        if (tulip_call_soon_threadsafe(s->loop, ts_cb, s) != 0)
            abort();
    return NULL;
}

static void ts_stop_when_done(void *p)
{
    struct ts *s = p;
    if (s->count >= 4 * s->per_thread)
        tulip_loop_stop(s->loop);
    else
        tulip_call_later(s->loop, TULIP_MS(1), ts_stop_when_done, s);
}

static void test_threadsafe(void **state)
{
    (void)state;
    struct ts s = {0};
    s.loop = new_loop(0);
    s.loop_thread = pthread_self();
    s.per_thread = (int)test_scale(10000);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, ts_thread, &s), 0);
    tulip_call_soon(s.loop, ts_stop_when_done, &s);
    assert_int_equal(tulip_loop_run(s.loop), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* Drain any posts that raced with the stop. */
    while (s.count < 4 * s.per_thread)
        tulip_loop_run_once(s.loop, 1);
    assert_int_equal(s.count, 4 * s.per_thread);
    assert_false(s.wrong_thread);
    tulip_loop_free(s.loop);
}

static void *stopper(void *p)
{
    tulip_loop_stop(p);
    return NULL;
}

static void never(void *p)
{
    (void)p;
}

static void test_stop_from_thread(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(0);
    /* An hour-long timer keeps the loop alive; only the stop ends it. */
    tulip_timer *t = tulip_call_later(l, TULIP_SEC(3600), never, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper, l), 0);
    assert_int_equal(tulip_loop_run(l), 0);
    pthread_join(th, NULL);
    tulip_timer_cancel(t);
    tulip_loop_free(l);
}

struct watch_state {
    int fds[2];
    int reads;
    char got[8];
    tulip_watch *w;
};

static void watch_cb(void *p, int events)
{
    struct watch_state *s = p;
    assert_true(events & TULIP_READABLE);
    /* Read one byte per call: level-triggered means we are called again
     * while bytes remain. */
    ssize_t n = read(s->fds[0], &s->got[s->reads], 1);
    assert_int_equal(n, 1);
    if (++s->reads == 3)
        tulip_watch_free(s->w);
}

static void test_watch_fd_level(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(0);
    struct watch_state s = {0};
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s.fds), 0);
    assert_int_equal(write(s.fds[1], "abc", 3), 3);
    s.w = tulip_watch_fd(l, s.fds[0], TULIP_READABLE, watch_cb, &s);
    assert_non_null(s.w);
    /* A second watcher on the same fd is refused. */
    assert_null(tulip_watch_fd(l, s.fds[0], TULIP_READABLE, watch_cb, &s));
    assert_int_equal(errno, EBUSY);
    assert_int_equal(tulip_loop_run(l), 0);
    assert_int_equal(s.reads, 3);
    assert_memory_equal(s.got, "abc", 3);
    tulip_close(s.fds[0]);
    close(s.fds[1]);
    tulip_loop_free(l);
}

struct sig_state {
    tulip_loop *loop;
    int got;
};

static void sig_cb(void *p, int signo)
{
    struct sig_state *s = p;
    s->got = signo;
    tulip_signal_unwatch(s->loop, signo);
    tulip_loop_stop(s->loop);
}

static void raise_usr1(void *p)
{
    (void)p;
    raise(SIGUSR1);
}

static void test_signal(void **state)
{
    (void)state;
    struct sig_state s = {new_loop(0), 0};
    assert_int_equal(tulip_signal_watch(s.loop, SIGUSR1, sig_cb, &s), 0);
    assert_int_equal(tulip_signal_watch(s.loop, SIGUSR1, sig_cb, &s), -EBUSY);
    assert_int_equal(tulip_signal_watch(s.loop, SIGKILL, sig_cb, &s), -EINVAL);
    tulip_timer *keep = tulip_call_later(s.loop, TULIP_SEC(3600), never, NULL);
    tulip_call_soon(s.loop, raise_usr1, NULL);
    assert_int_equal(tulip_loop_run(s.loop), 0);
    assert_int_equal(s.got, SIGUSR1);
    tulip_timer_cancel(keep);
    tulip_loop_free(s.loop);
}

static void test_stats_and_backend(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(0);
    const char *want = getenv("TULIP_BACKEND");
    assert_string_equal(tulip_loop_backend(l), want && *want ? want : "epoll");
    struct order o = {0};
    struct mark m = {&o, 1};
    tulip_call_soon(l, record, &m);
    tulip_loop_run(l);
    tulip_loop_stats st;
    assert_int_equal(tulip_loop_stats_get(l, &st), 0);
    assert_true(st.iterations >= 1);
    assert_int_equal(st.callbacks, 1);
    assert_int_equal(st.tasks_alive, 0);
    assert_int_equal(st.timers_pending, 0);
    tulip_loop_free(l);
}

struct clock_probe {
    int64_t cached, after_update;
    int64_t real_before, real_after;
};

static void probe_clock(void *p)
{
    struct clock_probe *c = p;
    struct timespec ts;
    int64_t t0 = tulip_now();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->real_before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    /* let the real clock move on by a millisecond within this callback */
    do {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        c->real_after = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    } while (c->real_after - c->real_before < TULIP_MS(1));
    c->cached = tulip_now() - t0;
    tulip_update_time();
    c->after_update = tulip_now() - t0;
}

/* tulip_now() is cached for the iteration; tulip_update_time() reads the
 * clock again, except on a virtual clock. */
static void test_update_time(void **state)
{
    (void)state;
    for (int virt = 0; virt <= 1; virt++) {
        tulip_loop *l = new_loop(virt);
        struct clock_probe c = {0};
        tulip_call_soon(l, probe_clock, &c);
        tulip_loop_run(l);
        assert_int_equal(c.cached, 0);
        if (virt)
            assert_int_equal(c.after_update, 0);
        else
            assert_true(c.after_update >= TULIP_MS(1));
        tulip_loop_free(l);
    }
    tulip_update_time(); /* outside a loop: nothing to refresh */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_soon_fifo),
        cmocka_unit_test(test_call_later_order),
        cmocka_unit_test(test_timer_never_early),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_million_timers),
        cmocka_unit_test(test_threadsafe),
        cmocka_unit_test(test_stop_from_thread),
        cmocka_unit_test(test_watch_fd_level),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_stats_and_backend),
        cmocka_unit_test(test_update_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
