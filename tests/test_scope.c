/* Cancel scopes: deadlines, nesting, explicit cancel, shields. Runs on the
 * virtual clock so deadlines are exact and take no real time. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

static int main_deadline(void *p)
{
    (void)p;
    tulip_scope s;
    int64_t start = tulip_now();
    tulip_scope_enter(&s, start + TULIP_MS(50));
    assert_int_equal(tulip_sleep(TULIP_SEC(10)), -ETIMEDOUT);
    assert_int_equal(tulip_now(), start + TULIP_MS(50));
    /* Level-triggered inside the scope. */
    assert_int_equal(tulip_yield(), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    /* Absorbed: outside the scope, suspensions work again. */
    assert_int_equal(tulip_sleep(TULIP_MS(1)), 0);

    /* A scope whose deadline is not reached reports 0. */
    tulip_scope_enter_timeout(&s, TULIP_MS(100));
    assert_int_equal(tulip_sleep(TULIP_MS(10)), 0);
    assert_int_equal(tulip_scope_exit(&s), 0);

    /* A deadline already past fails the first suspension at once. */
    tulip_scope_enter(&s, tulip_now() - 1);
    assert_true(tulip_scope_is_triggered(&s));
    assert_int_equal(tulip_yield(), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    return 0;
}

static void test_deadline(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_deadline, NULL), 0);
}

static int main_nested(void *p)
{
    (void)p;
    tulip_scope outer, inner;
    int64_t t0 = tulip_now();
    /* Inner deadline first: the inner scope catches it. */
    tulip_scope_enter(&outer, t0 + TULIP_MS(100));
    tulip_scope_enter(&inner, t0 + TULIP_MS(10));
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&inner), -ETIMEDOUT);
    assert_int_equal(tulip_now(), t0 + TULIP_MS(10));
    /* The outer one still runs to its own deadline. */
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), -ETIMEDOUT);
    assert_int_equal(tulip_now(), t0 + TULIP_MS(100));
    assert_int_equal(tulip_scope_exit(&outer), -ETIMEDOUT);

    /* Outer deadline first: the inner scope does not swallow it. */
    t0 = tulip_now();
    tulip_scope_enter(&outer, t0 + TULIP_MS(10));
    tulip_scope_enter(&inner, t0 + TULIP_MS(100));
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&inner), 0);
    assert_int_equal(tulip_yield(), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&outer), -ETIMEDOUT);
    return 0;
}

static void test_nested(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_nested, NULL), 0);
}

struct canceller {
    tulip_scope *target;
};

static int cancel_later(void *p)
{
    struct canceller *c = p;
    tulip_sleep(TULIP_MS(5));
    tulip_scope_cancel(c->target);
    return 0;
}

static int main_cancel_scope(void *p)
{
    (void)p;
    tulip_scope outer, inner;
    struct canceller c = {&outer};
    tulip_scope_enter(&outer, TULIP_FOREVER);
    tulip_task *t = tulip_spawn(cancel_later, &c);
    /* An inner timeout never swallows an outer cancel. */
    tulip_scope_enter(&inner, tulip_now() + TULIP_SEC(1));
    assert_int_equal(tulip_sleep(TULIP_SEC(10)), -ECANCELED);
    assert_int_equal(tulip_scope_exit(&inner), 0);
    assert_int_equal(tulip_sleep(1), -ECANCELED);
    assert_int_equal(tulip_scope_exit(&outer), -ECANCELED);
    /* The task itself was not cancelled: it can tell the difference. */
    assert_false(tulip_task_is_cancelled(tulip_self()));
    assert_int_equal(tulip_join(t), 0);
    return 0;
}

static void test_cancel_scope(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel_scope, NULL), 0);
}

static int main_shield(void *p)
{
    (void)p;
    tulip_scope outer, shield;
    tulip_scope_enter(&outer, tulip_now() + TULIP_MS(10));
    tulip_scope_enter_shielded(&shield, tulip_now() + TULIP_MS(50));
    /* The outer deadline passes but the shield hides it... */
    assert_int_equal(tulip_sleep(TULIP_MS(20)), 0);
    /* ...while the shield's own deadline still applies. */
    assert_int_equal(tulip_sleep(TULIP_MS(100)), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&shield), -ETIMEDOUT);
    assert_int_equal(tulip_yield(), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&outer), -ETIMEDOUT);
    return 0;
}

static void test_shield(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_shield, NULL), 0);
}

static int main_move_deadline(void *p)
{
    (void)p;
    tulip_scope s;
    int64_t t0 = tulip_now();
    tulip_scope_enter(&s, TULIP_FOREVER);
    tulip_scope_set_deadline(&s, t0 + TULIP_MS(30));
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), -ETIMEDOUT);
    assert_int_equal(tulip_now(), t0 + TULIP_MS(30));
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    return 0;
}

static void test_move_deadline(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_move_deadline, NULL), 0);
}

/* A deadline moved while its task waits, by another task: later (the lazy
 * move, which leaves the loop's timer where it is filed), later again and
 * again, earlier, and to a time already past. The waiter must wake exactly
 * at the last deadline set, never at one it was moved away from. */
struct mover {
    tulip_scope *s;
    int64_t woke;
    int rc;
};

static int waiter(void *p)
{
    struct mover *m = p;
    tulip_scope s;
    tulip_scope_enter(&s, tulip_now() + TULIP_MS(10));
    m->s = &s;
    m->rc = tulip_sleep(TULIP_SEC(100));
    m->woke = tulip_now();
    m->s = NULL;
    assert_int_equal(tulip_scope_exit(&s), m->rc);
    return 0;
}

/* The waiter ended, timed out at exactly `at`. */
static void timed_out_at(tulip_task *w, const struct mover *m, int64_t at)
{
    assert_int_equal(tulip_join(w), 0);
    assert_int_equal(m->rc, -ETIMEDOUT);
    assert_int_equal(m->woke, at);
}

static int main_move_parked(void *p)
{
    (void)p;
    struct mover m = {0};
    int64_t t0 = tulip_now();

    /* Later twice, then earlier than both but later than the first. */
    tulip_task *w = tulip_spawn(waiter, &m);
    assert_int_equal(tulip_sleep(TULIP_MS(5)), 0);
    tulip_scope_set_deadline(m.s, t0 + TULIP_MS(40));
    tulip_scope_set_deadline(m.s, t0 + TULIP_MS(60));
    assert_int_equal(tulip_sleep(TULIP_MS(10)), 0); /* past the first, 10 ms */
    assert_non_null(m.s);
    tulip_scope_set_deadline(m.s, t0 + TULIP_MS(30));
    timed_out_at(w, &m, t0 + TULIP_MS(30));

    /* A thousand moves later, one per millisecond, each past where the
     * timer was filed by then: woken only at the last. */
    int64_t t1 = tulip_now();
    w = tulip_spawn(waiter, &m);
    assert_int_equal(tulip_yield(), 0);
    for (int i = 1; i <= 1000; i++) {
        tulip_scope_set_deadline(m.s, t1 + TULIP_MS(10) + i * TULIP_MS(1));
        if (i % 10 == 0)
            assert_int_equal(tulip_sleep(TULIP_MS(1)), 0);
    }
    timed_out_at(w, &m, t1 + TULIP_MS(1010));

    /* To no deadline and back; then to a time already past: at once. */
    int64_t t2 = tulip_now();
    w = tulip_spawn(waiter, &m);
    assert_int_equal(tulip_yield(), 0);
    tulip_scope_set_deadline(m.s, TULIP_FOREVER);
    assert_int_equal(tulip_sleep(TULIP_MS(50)), 0);
    assert_non_null(m.s);
    tulip_scope_set_deadline(m.s, t2 + TULIP_MS(70));
    tulip_scope_set_deadline(m.s, t2 + TULIP_MS(20));
    timed_out_at(w, &m, t2 + TULIP_MS(50));
    return 0;
}

static void test_move_parked(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_move_parked, NULL), 0);
}

/* Real clock: a timeout around a sleep ends the sleep early. Only the
 * error is asserted, never the time taken. */
static int main_real_clock(void *p)
{
    (void)p;
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_MS(5));
    assert_int_equal(tulip_sleep(TULIP_SEC(3600)), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    return 0;
}

static void test_real_clock(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_real_clock, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_cancel_scope),
        cmocka_unit_test(test_shield),
        cmocka_unit_test(test_move_deadline),
        cmocka_unit_test(test_move_parked),
        cmocka_unit_test(test_real_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
