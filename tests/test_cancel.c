/* Cancellation at every suspension point of the core: each returns
 * -ECANCELED, loses nothing, and keeps returning it (level-triggered). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <unistd.h>

#include "test_util.h"

enum point { P_SLEEP, P_YIELD_LOOP, P_JOIN, P_FUTURE, P_READ, P_WAIT_FD, P_GROUP, P_WRITE, P_COUNT };

struct victim {
    enum point where;
    int fds[2];
    tulip_future *fut;
    int parked;          /* set just before the suspension */
    int first, second;   /* results of the suspension and of the next one */
};

static int forever(void *p)
{
    (void)p;
    return tulip_sleep(TULIP_FOREVER);
}

static int victim_body(void *p)
{
    struct victim *v = p;
    char buf[16];
    tulip_task *child = NULL;
    tulip_group *g = NULL;
    v->parked = 1;
    switch (v->where) {
    case P_SLEEP:
        v->first = tulip_sleep(TULIP_SEC(3600));
        break;
    case P_YIELD_LOOP:
        for (;;) {
            v->first = tulip_yield();
            if (v->first < 0)
                break;
        }
        break;
    case P_JOIN:
        child = tulip_spawn(forever, NULL);
        v->first = tulip_join(child);
        break;
    case P_FUTURE:
        v->first = tulip_future_await(v->fut, NULL);
        break;
    case P_READ:
        v->first = (int)tulip_read(v->fds[0], buf, sizeof buf);
        break;
    case P_WAIT_FD:
        v->first = tulip_wait_fd(v->fds[0], TULIP_READABLE);
        break;
    case P_GROUP:
        g = tulip_group_new();
        tulip_group_spawn(g, forever, NULL);
        tulip_group_spawn(g, forever, NULL);
        v->first = tulip_group_wait(g);
        /* Children never outlive the wait. */
        assert_int_equal(tulip_group_size(g), 0);
        tulip_group_free(g);
        break;
    case P_WRITE: {
        static char big[1 << 16];
        for (;;) {
            ssize_t n = tulip_write(v->fds[0], big, sizeof big);
            if (n < 0) {
                v->first = (int)n;
                break;
            }
        }
        break;
    }
    default:
        break;
    }
    /* Level-triggered: the next suspension fails too. */
    v->second = tulip_sleep(1);
    if (child) {
        tulip_cancel(child);
        /* Joining still works from a cancelled task once the child is done:
         * a finished task is returned without suspending. */
        while (!tulip_task_is_done(child)) {
            tulip_scope s;
            tulip_scope_enter_shielded(&s, TULIP_FOREVER);
            tulip_yield();
            tulip_scope_exit(&s);
        }
        assert_int_equal(tulip_join(child), -ECANCELED);
    }
    return v->first;
}

static int main_cancel_each(void *p)
{
    (void)p;
    for (int where = 0; where < P_COUNT; where++) {
        struct victim v = {0};
        v.where = (enum point)where;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, v.fds), 0);
        v.fut = tulip_future_new();
        tulip_task *t = tulip_spawn(victim_body, &v);
        /* Let it reach its suspension point. */
        while (!v.parked)
            tulip_yield();
        for (int i = 0; i < 3; i++)
            tulip_yield();
        assert_int_equal(tulip_cancel(t), 0);
        assert_int_equal(tulip_cancel(t), 0); /* idempotent */
        int rc = tulip_join(t);
        if (rc != -ECANCELED)
            fail_msg("suspension point %d returned %d (%s)", where, rc, tulip_err_name(rc));
        assert_int_equal(v.second, -ECANCELED);
        /* Nothing was consumed by the cancelled read: the byte is still
         * there for the next reader. */
        if (where == P_READ || where == P_WAIT_FD) {
            char c = 'x', got = 0;
            assert_int_equal(write(v.fds[1], &c, 1), 1);
            assert_int_equal(tulip_read(v.fds[0], &got, 1), 1);
            assert_int_equal(got, 'x');
        }
        tulip_future_free(v.fut);
        tulip_close(v.fds[0]);
        tulip_close(v.fds[1]);
    }
    return 0;
}

static void test_cancel_every_point(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cancel_each, NULL), 0);
}

static int count_until_cancelled(void *p)
{
    int *steps = p;
    (*steps)++;
    return tulip_yield();
}

static int main_cancel_before_start(void *p)
{
    (void)p;
    int steps = 0;
    tulip_task *t = tulip_spawn(count_until_cancelled, &steps);
    tulip_cancel(t);
    /* The body still runs (it may own resources in its argument) but its
     * first suspension fails. */
    assert_int_equal(tulip_join(t), -ECANCELED);
    assert_int_equal(steps, 1);
    assert_true(tulip_task_is_cancelled(tulip_self()) == 0);
    return 0;
}

static void test_cancel_before_start(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cancel_before_start, NULL), 0);
}

/* A woken task keeps what it was given even if cancelled before it runs:
 * the cancellation is reported at its next suspension instead. */
struct handoff {
    tulip_future *f;
    int got;
    int after;
};

static int awaiter(void *p)
{
    struct handoff *h = p;
    void *v = NULL;
    h->got = tulip_future_await(h->f, &v);
    h->after = tulip_yield();
    return v == h ? 0 : -EINVAL;
}

static int main_wake_then_cancel(void *p)
{
    (void)p;
    struct handoff h = {tulip_future_new(), 1, 1};
    tulip_task *t = tulip_spawn(awaiter, &h);
    tulip_yield(); /* t parks on the future */
    tulip_future_resolve(h.f, &h);
    tulip_cancel(t); /* t is ready, not parked: its await succeeded */
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(h.got, 0);
    assert_int_equal(h.after, -ECANCELED);
    tulip_future_free(h.f);
    return 0;
}

static void test_wake_then_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_wake_then_cancel, NULL), 0);
}

static int cleanup_in_shield(void *p)
{
    int *cleaned = p;
    int rc = tulip_sleep(TULIP_SEC(3600));
    /* Cleanup that must block runs inside a shielded scope. */
    tulip_scope s;
    tulip_scope_enter_shielded(&s, TULIP_FOREVER);
    if (tulip_sleep(TULIP_MS(1)) == 0)
        *cleaned = 1;
    assert_int_equal(tulip_scope_exit(&s), 0);
    return rc;
}

static int main_shield(void *p)
{
    (void)p;
    int cleaned = 0;
    tulip_task *t = tulip_spawn(cleanup_in_shield, &cleaned);
    tulip_yield();
    tulip_cancel(t);
    assert_int_equal(tulip_join(t), -ECANCELED);
    assert_int_equal(cleaned, 1);
    return 0;
}

static void test_shielded_cleanup(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_shield, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_every_point),
        cmocka_unit_test(test_cancel_before_start),
        cmocka_unit_test(test_wake_then_cancel),
        cmocka_unit_test(test_shielded_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
