/* Error paths: every allocation and fd creation of the core fails in turn;
 * each failure must be reported cleanly and leak nothing (the ASan and
 * valgrind runs of this test check the "nothing"). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"
#include "tulip/testing.h"

static void test_loop_new_fails_cleanly(void **state)
{
    (void)state;
    /* Fail the 1st, 2nd, ... allocation until loop_new needs no more. */
    for (unsigned long n = 1;; n++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, n, 0);
        errno = 0;
        tulip_loop *l = tulip_loop_new(NULL);
        unsigned long calls = tulip_fault_calls(TULIP_FAULT_MALLOC);
        tulip_fault_reset();
        if (l) {
            assert_true(calls < n); /* the nth call never came: all paths covered */
            tulip_loop_free(l);
            break;
        }
        assert_int_equal(errno, ENOMEM);
        assert_true(n < 100);
    }
    for (unsigned long n = 1;; n++) {
        tulip_fault_arm(TULIP_FAULT_FD, n, 0);
        tulip_loop *l = tulip_loop_new(NULL);
        unsigned long calls = tulip_fault_calls(TULIP_FAULT_FD);
        tulip_fault_reset();
        if (l) {
            assert_true(calls < n);
            tulip_loop_free(l);
            break;
        }
        assert_int_equal(errno, EMFILE);
        assert_true(n < 10);
    }
}

static int nothing(void *p)
{
    (void)p;
    return 5;
}

static int main_spawn_faults(void *p)
{
    (void)p;
    /* No memory for the task. (Only until tasks have ended: then spawn
     * recycles their structs and allocates nothing.) */
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_null(tulip_spawn(nothing, NULL));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_reset();

    /* A group spawn failure is reported and starts nothing. */
    tulip_group *g = tulip_group_new();
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_int_equal(tulip_group_spawn(g, nothing, NULL), -ENOMEM);
    tulip_fault_reset();
    assert_int_equal(tulip_group_size(g), 0);
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);

    /* The stack pool cannot grow: use up the free stacks, then make the
     * next slab's mmap fail. */
    enum { N = 64 };
    tulip_task *held[N];
    int made = 0;
    tulip_fault_arm(TULIP_FAULT_MMAP, 1, 1);
    for (; made < N; made++) {
        held[made] = tulip_spawn(nothing, NULL);
        if (!held[made])
            break;
    }
    tulip_fault_reset();
    assert_true(made < N);
    assert_int_equal(errno, EAGAIN);
    /* Everything already spawned still works, and so does the next spawn. */
    for (int i = 0; i < made; i++)
        assert_int_equal(tulip_join(held[i]), 5);
    tulip_task *t = tulip_spawn(nothing, NULL);
    assert_non_null(t);
    assert_int_equal(tulip_join(t), 5);

    return 0;
}

static void test_spawn_faults(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_spawn_faults, NULL), 0);
}

static void noop_cb(void *p)
{
    (void)p;
}

static void test_timer_faults(void **state)
{
    (void)state;
    tulip_loop *l = tulip_loop_new(NULL);
    assert_non_null(l);
    /* Fresh handles come from malloc; the heap array grows with realloc. */
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 1);
    assert_null(tulip_call_later(l, TULIP_MS(1), noop_cb, NULL));
    assert_int_equal(errno, ENOMEM);
    assert_null(tulip_call_soon(l, noop_cb, NULL));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(tulip_call_soon_threadsafe(l, noop_cb, NULL), -ENOMEM);
    tulip_fault_reset();
    assert_non_null(tulip_call_later(l, 0, noop_cb, NULL));
    assert_int_equal(tulip_loop_run(l), 0);
    tulip_loop_free(l);
}

static void test_run_fails_cleanly(void **state)
{
    (void)state;
    for (unsigned long n = 1; n < 100; n++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, n, 0);
        int rc = tulip_run(nothing, NULL);
        unsigned long calls = tulip_fault_calls(TULIP_FAULT_MALLOC);
        tulip_fault_reset();
        if (calls < n) {
            assert_int_equal(rc, 5);
            return;
        }
        /* Either the failure hit before main started (a clean error), or
         * after (main still ran to completion). */
        assert_true(rc == -ENOMEM || rc == 5);
    }
    fail_msg("tulip_run kept allocating");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_new_fails_cleanly),
        cmocka_unit_test(test_spawn_faults),
        cmocka_unit_test(test_timer_faults),
        cmocka_unit_test(test_run_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
