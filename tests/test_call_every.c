/* Repeating timers (tulip_call_every): calls on the grid start + k *
 * interval without drift, missed deadlines coalesced, cancellation from
 * inside and outside the callback, errors. Deterministic: the virtual
 * clock, and for a late loop the test moves that clock itself (the loop's
 * cached time, src/loop/loop_internal.h) as a long step would. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "test_util.h"
#include "loop/loop_internal.h"

#define MS TULIP_MS(1)

struct ticks {
    tulip_loop *loop;
    tulip_timer *timer;
    int64_t at[16];
    int n;
    int stop_after;         /* cancel from inside at this call */
    int stall_at;           /* at this call, the step lasts stall_ns */
    int64_t stall_ns;
};

static void tick(void *p)
{
    struct ticks *t = p;
    t->at[t->n++] = tulip__loop_now(t->loop);
    if (t->n == t->stall_at)
        t->loop->now += t->stall_ns; /* a step that took stall_ns of virtual time */
    if (t->n == t->stop_after)
        tulip_timer_cancel(t->timer);
}

static tulip_loop *virtual_loop(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = 1;
    tulip_loop *l = tulip_loop_new(&cfg);
    assert_non_null(l);
    return l;
}

static void test_grid(void **state)
{
    (void)state;
    tulip_loop *l = virtual_loop();
    struct ticks t = { .loop = l, .stop_after = 5 };
    int64_t start = tulip__loop_now(l);
    t.timer = tulip_call_every(l, 10 * MS, tick, &t);
    assert_non_null(t.timer);
    assert_int_equal(tulip_loop_run(l), 0); /* ends: cancelled from inside */
    assert_int_equal(t.n, 5);
    for (int i = 0; i < 5; i++)
        assert_true(t.at[i] == start + (i + 1) * 10 * MS);
    tulip_loop_free(l);
}

static void test_missed_deadlines_coalesce(void **state)
{
    (void)state;
    tulip_loop *l = virtual_loop();
    /* The second call's step lasts 35 ms: the deadlines at 30 and 50 ms
     * pass during it and are not made up; the next call is at 60 ms, still
     * on the grid. */
    struct ticks t = { .loop = l, .stop_after = 4, .stall_at = 2, .stall_ns = 35 * MS };
    int64_t start = tulip__loop_now(l);
    t.timer = tulip_call_every(l, 10 * MS, tick, &t);
    assert_non_null(t.timer);
    assert_int_equal(tulip_loop_run(l), 0);
    assert_int_equal(t.n, 4);
    assert_true(t.at[0] == start + 10 * MS);
    assert_true(t.at[1] == start + 20 * MS);
    assert_true(t.at[2] == start + 60 * MS);
    assert_true(t.at[3] == start + 70 * MS);
    tulip_loop_free(l);
}

static void test_tick_next(void **state)
{
    (void)state;
    assert_true(tulip__tick_next(100, 10, 100) == 110); /* on time */
    assert_true(tulip__tick_next(100, 10, 109) == 110); /* late, within the interval: no drift */
    assert_true(tulip__tick_next(100, 10, 110) == 120); /* late by one: 110 skipped */
    assert_true(tulip__tick_next(100, 10, 155) == 160); /* 110..150 coalesced */
    assert_true(tulip__tick_next(INT64_MAX - 5, 10, 0) == INT64_MAX);
    assert_true(tulip__tick_next(0, INT64_MAX / 2, INT64_MAX - 1) == INT64_MAX);
}

static void cancel_it(void *p)
{
    struct ticks *t = p;
    tulip_timer_cancel(t->timer);
}

static void test_cancel_from_outside(void **state)
{
    (void)state;
    tulip_loop *l = virtual_loop();
    struct ticks t = { .loop = l };
    t.timer = tulip_call_every(l, 10 * MS, tick, &t);
    assert_non_null(t.timer);
    assert_non_null(tulip_call_later(l, 35 * MS, cancel_it, &t));
    assert_int_equal(tulip_loop_run(l), 0);
    assert_int_equal(t.n, 3);
    tulip_loop_free(l);
}

static void test_errors_and_free_pending(void **state)
{
    (void)state;
    tulip_loop *l = virtual_loop();
    struct ticks t = { .loop = l };
    errno = 0;
    assert_null(tulip_call_every(l, 0, tick, &t));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(tulip_call_every(l, -1, tick, &t));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(tulip_call_every(l, MS, NULL, &t));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(tulip_call_every(NULL, MS, tick, &t));
    assert_int_equal(errno, EINVAL);
    /* A pending repeating timer is dropped with the loop (no leak under
     * ASan/valgrind), after running once. */
    t.timer = tulip_call_every(l, MS, tick, &t);
    assert_non_null(t.timer);
    for (int i = 0; i < 3 && t.n == 0; i++) /* the clock jumps, then the call runs */
        assert_int_equal(tulip_loop_run_once(l, true), 1);
    assert_int_equal(t.n, 1);
    tulip_loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid),
        cmocka_unit_test(test_missed_deadlines_coalesce),
        cmocka_unit_test(test_tick_next),
        cmocka_unit_test(test_cancel_from_outside),
        cmocka_unit_test(test_errors_and_free_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
