/* Event: set wakes every waiter, clear, waiters in FIFO order, set from a
 * callback, cancellation, misuse. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

struct ctx {
    tulip_event e;
    int order[16];
    int n;
};

struct waiter {
    struct ctx *c;
    int id;
    int rc;
};

static int waiter(void *p)
{
    struct waiter *w = p;
    w->rc = tulip_event_wait(&w->c->e);
    if (w->rc == 0)
        w->c->order[w->c->n++] = w->id;
    return 0;
}

static int main_wake_all(void *p)
{
    (void)p;
    struct ctx c = {0};
    assert_int_equal(tulip_event_init(&c.e), 0);
    assert_false(tulip_event_is_set(&c.e));
    struct waiter w[5];
    tulip_task *t[5];
    for (int i = 0; i < 5; i++) {
        w[i] = (struct waiter){ .c = &c, .id = i };
        t[i] = tulip_spawn(waiter, &w[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(tulip_event_set(&c.e), 0);
    /* Cleared again before the waiters run: the wake already happened. */
    assert_int_equal(tulip_event_clear(&c.e), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(tulip_join(t[i]), 0);
    assert_int_equal(c.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(c.order[i], i);
    }
    /* Set: waits return at once, repeatedly. */
    tulip_event_set(&c.e);
    assert_true(tulip_event_is_set(&c.e));
    assert_int_equal(tulip_event_wait(&c.e), 0);
    assert_int_equal(tulip_event_wait(&c.e), 0);
    tulip_event_clear(&c.e);
    assert_false(tulip_event_is_set(&c.e));
    return 0;
}

static void test_wake_all(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_wake_all, NULL), 0);
}

static void set_cb(void *p)
{
    tulip_event_set(p);
}

static int main_from_callback(void *p)
{
    (void)p;
    tulip_event e;
    tulip_event_init(&e);
    assert_non_null(tulip_call_later(tulip_loop_current(), TULIP_MS(5), set_cb, &e));
    int64_t t0 = tulip_now();
    assert_int_equal(tulip_event_wait(&e), 0);
    assert_int_equal(tulip_now() - t0, TULIP_MS(5));
    return 0;
}

static void test_from_callback(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_from_callback, NULL), 0);
}

static int main_cancel(void *p)
{
    (void)p;
    struct ctx c = {0};
    tulip_event_init(&c.e);
    struct waiter w[3];
    tulip_task *t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct waiter){ .c = &c, .id = i };
        t[i] = tulip_spawn(waiter, &w[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    tulip_cancel(t[0]);
    assert_int_equal(tulip_join(t[0]), 0);
    assert_int_equal(w[0].rc, -ECANCELED);
    tulip_event_set(&c.e);
    /* Woken by the set, then cancelled before running: still woken. */
    tulip_cancel(t[1]);
    assert_int_equal(tulip_join(t[1]), 0);
    assert_int_equal(tulip_join(t[2]), 0);
    assert_int_equal(w[1].rc, 0);
    assert_int_equal(w[2].rc, 0);
    assert_int_equal(c.n, 2);

    /* A scope deadline ends a wait on an event never set. */
    tulip_event never;
    tulip_event_init(&never);
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_MS(3));
    assert_int_equal(tulip_event_wait(&never), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    /* A cancelled task sees the cancel even on a set event. */
    tulip_scope_enter(&s, TULIP_FOREVER);
    tulip_scope_cancel(&s);
    assert_int_equal(tulip_event_wait(&c.e), -ECANCELED);
    assert_int_equal(tulip_scope_exit(&s), -ECANCELED);
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel, NULL), 0);
}

static void test_misuse(void **state)
{
    (void)state;
    tulip_event e;
    memset(&e, 0, sizeof e);
    assert_int_equal(tulip_event_init(NULL), -EINVAL);
    assert_int_equal(tulip_event_set(&e), -EINVAL);
    assert_int_equal(tulip_event_clear(&e), -EINVAL);
    assert_int_equal(tulip_event_wait(&e), -EINVAL);
    assert_int_equal(tulip_event_set(NULL), -EINVAL);
    assert_false(tulip_event_is_set(NULL));
    tulip_event_init(&e);
    assert_int_equal(tulip_event_wait(&e), -EPERM);   /* not in a task */
    assert_int_equal(tulip_event_set(&e), 0);          /* fine anywhere */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wake_all),
        cmocka_unit_test(test_from_callback),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
