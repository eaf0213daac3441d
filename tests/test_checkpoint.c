/* tulip_checkpoint: a cancellation point for CPU loops that yields only
 * when the task's budget is used up (so a tight loop costs no switch per
 * call) and returns the cancellation at once. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "test_util.h"
#include "task/task_internal.h"

static int other_ran;

static int other(void *arg)
{
    (void)arg;
    other_ran = 1;
    return 0;
}

static int main_budget(void *arg)
{
    (void)arg;
    tulip_task *o = tulip_spawn(other, NULL);
    assert_non_null(o);
    tulip_yield(); /* a fresh step with a full budget */
    other_ran = 0;
    tulip_task *o2 = tulip_spawn(other, NULL);
    int calls = 0;
    while (!other_ran && calls < 10 * TULIP__IO_BUDGET) {
        assert_int_equal(tulip_checkpoint(), 0);
        calls++;
        if (calls < TULIP__IO_BUDGET - 1)
            assert_false(other_ran); /* no yield while budget is left */
    }
    /* It did yield once the budget was spent, and not before. */
    assert_true(other_ran);
    assert_true(calls >= TULIP__IO_BUDGET - 1);
    assert_true(calls <= TULIP__IO_BUDGET);
    assert_int_equal(tulip_join(o), 0);
    assert_int_equal(tulip_join(o2), 0);
    return 0;
}

static void test_yields_only_when_budget_spent(void **state)
{
    (void)state;
    assert_int_equal(tulip_run(main_budget, NULL), 0);
}

static int spinner(void *arg)
{
    long *iterations = arg;
    for (;;) {
        int rc = tulip_checkpoint();
        if (rc)
            return rc;
        (*iterations)++;
    }
}

static int main_cancel(void *arg)
{
    (void)arg;
    long iterations = 0;
    tulip_task *t = tulip_spawn(spinner, &iterations);
    tulip_yield();
    tulip_yield();
    assert_true(iterations > 0); /* it runs, and yields to us */
    tulip_cancel(t);
    /* A cancelled CPU loop ends at its next checkpoint. */
    assert_int_equal(tulip_join(t), -ECANCELED);
    return 0;
}

static void test_cancel_ends_cpu_loop(void **state)
{
    (void)state;
    assert_int_equal(tulip_run(main_cancel, NULL), 0);
}

static int main_pending(void *arg)
{
    (void)arg;
    tulip_cancel(tulip_self());
    /* Pending cancel: returned at once, without yielding. */
    uint64_t before = 0;
    tulip_loop_stats st;
    tulip_loop_stats_get(NULL, &st);
    before = st.switches;
    assert_int_equal(tulip_checkpoint(), -ECANCELED);
    tulip_loop_stats_get(NULL, &st);
    assert_int_equal(st.switches, before);
    return 0;
}

static void test_pending_cancel_returned(void **state)
{
    (void)state;
    assert_int_equal(tulip_run(main_pending, NULL), 0);
}

static void test_outside_task(void **state)
{
    (void)state;
    assert_int_equal(tulip_checkpoint(), -EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yields_only_when_budget_spent),
        cmocka_unit_test(test_cancel_ends_cpu_loop),
        cmocka_unit_test(test_pending_cancel_returned),
        cmocka_unit_test(test_outside_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
