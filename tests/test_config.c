/* Every tulip_config field takes effect: one test each, asserting what the
 * field changes (issue 11: two settings used to be stored and never read). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "tulip/debug.h"
#include "task/task_internal.h"

static tulip_config cfg_default(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    return cfg;
}

static void test_stack_size(void **state)
{
    (void)state;
    tulip_config cfg = cfg_default();
    cfg.stack_size = 64 * 1024;
    tulip_loop *l = tulip_loop_new(&cfg);
    assert_non_null(l);
    assert_int_equal(tulip__sched(l)->stacks.stack_size, 64 * 1024);
    tulip_loop_free(l);
    cfg.stack_size = 8 * 1024; /* below the 16 KiB minimum */
    errno = 0;
    assert_null(tulip_loop_new(&cfg));
    assert_int_equal(errno, EINVAL);
}

static void test_backend(void **state)
{
    (void)state;
    tulip_config cfg = cfg_default();
    cfg.backend = "poll";
    tulip_loop *l = tulip_loop_new(&cfg);
    assert_non_null(l);
    assert_string_equal(tulip_loop_backend(l), "poll");
    tulip_loop_free(l);
    cfg.backend = "no-such-backend";
    errno = 0;
    assert_null(tulip_loop_new(&cfg));
    assert_int_equal(errno, EINVAL);
}

static int sleep_an_hour(void *arg)
{
    int64_t *elapsed = arg;
    int64_t before = tulip_now();
    int rc = tulip_sleep(TULIP_SEC(3600));
    *elapsed = tulip_now() - before;
    return rc;
}

static void test_virtual_clock(void **state)
{
    (void)state;
    tulip_config cfg = cfg_default();
    cfg.virtual_clock = true;
    int64_t elapsed = 0;
    /* An hour's sleep finishes at once, and the clock says an hour. */
    assert_int_equal(tulip_run_ex(sleep_an_hour, &elapsed, &cfg), 0);
    assert_int_equal(elapsed, TULIP_SEC(3600));
}

static void test_debug(void **state)
{
    (void)state;
    setenv("TULIP_DEBUG", "1", 1);
    tulip_config cfg = cfg_default();
    cfg.debug = 0; /* wins over the environment */
    tulip_loop *l = tulip_loop_new(&cfg);
    assert_false(tulip_debug_is_enabled(l));
    tulip_loop_free(l);
    unsetenv("TULIP_DEBUG");
    cfg.debug = 1;
    l = tulip_loop_new(&cfg);
    assert_true(tulip_debug_is_enabled(l));
    tulip_loop_free(l);
}

static void test_stack_cache(void **state)
{
    (void)state;
    tulip_config cfg = cfg_default();
    cfg.stack_cache = 3;
    tulip_loop *l = tulip_loop_new(&cfg);
    assert_int_equal(tulip__sched(l)->stacks.cache, 3);
    tulip_loop_free(l);
}

static void test_slow_step_ns(void **state)
{
    (void)state;
    tulip_config cfg = cfg_default();
    cfg.debug = 1;
    cfg.slow_step_ns = TULIP_MS(7);
    setenv("TULIP_SLOW_MS", "50", 1);
    tulip_loop *l = tulip_loop_new(&cfg);
    tulip_debug_stats st;
    assert_int_equal(tulip_debug_stats_get(l, &st), 0);
    assert_int_equal(st.slow_threshold_ns, TULIP_MS(7));
    tulip_loop_free(l);
    /* 0: the environment's TULIP_SLOW_MS. */
    cfg.slow_step_ns = 0;
    l = tulip_loop_new(&cfg);
    assert_int_equal(tulip_debug_stats_get(l, &st), 0);
    assert_int_equal(st.slow_threshold_ns, TULIP_MS(50));
    tulip_loop_free(l);
    unsetenv("TULIP_SLOW_MS");
    /* Negative: the detector is off. */
    cfg.slow_step_ns = -1;
    l = tulip_loop_new(&cfg);
    assert_int_equal(tulip_debug_stats_get(l, &st), 0);
    assert_int_equal(st.slow_threshold_ns, 0);
    tulip_loop_free(l);
}

/* Eight channels always ready: the order select picks them in is the
 * loop's random choices. */
#define CHANS 8
static int select_trace(void *arg)
{
    uint64_t *trace = arg;
    tulip_chan *c[CHANS];
    int got[CHANS], v = 1;
    tulip_select_case cs[CHANS];
    for (int i = 0; i < CHANS; i++) {
        c[i] = tulip_chan_new(sizeof(int), 1);
        assert_int_equal(tulip_chan_send(c[i], &v), 0);
        cs[i] = (tulip_select_case){.op = TULIP_SELECT_RECV, .chan = c[i], .item = &got[i]};
    }
    *trace = 0;
    for (int r = 0; r < 64; r++) {
        int idx = tulip_select(cs, CHANS, false);
        assert_true(idx >= 0 && idx < CHANS);
        *trace = *trace * 31 + (uint64_t)idx;
        assert_int_equal(tulip_chan_send(c[idx], &v), 0);
    }
    for (int i = 0; i < CHANS; i++)
        tulip_chan_free(c[i]);
    return 0;
}

static void test_seed(void **state)
{
    (void)state;
    tulip_config cfg = cfg_default();
    uint64_t a1, a2, b;
    cfg.seed = 42;
    assert_int_equal(tulip_run_ex(select_trace, &a1, &cfg), 0);
    assert_int_equal(tulip_run_ex(select_trace, &a2, &cfg), 0);
    cfg.seed = 43;
    assert_int_equal(tulip_run_ex(select_trace, &b, &cfg), 0);
    assert_true(a1 == a2); /* the same seed replays the same choices */
    assert_true(a1 != b);  /* and the seed is what decides them */
}

static int count_loops(void *arg)
{
    *(unsigned *)arg = tulip_loop_count();
    return 0;
}

static void test_workers(void **state)
{
    (void)state;
    tulip_config cfg = cfg_default();
    unsigned n = 0;
    cfg.workers = 2;
    assert_int_equal(tulip_run_ex(count_loops, &n, &cfg), 0);
    assert_int_equal(n, 2);
    cfg.workers = 1;
    assert_int_equal(tulip_run_ex(count_loops, &n, &cfg), 0);
    assert_int_equal(n, 1);
}

static int cpus_here(void *arg)
{
    (void)arg;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -errno;
    return CPU_COUNT(&set);
}

static int main_pinned(void *arg)
{
    tulip_future *f = NULL;
    int rc = tulip_spawn_remote(tulip_loop_at(1), cpus_here, NULL, &f);
    if (rc < 0)
        return rc;
    void *v = NULL;
    rc = tulip_future_await(f, &v);
    tulip_future_free(f);
    *(int *)arg = rc < 0 ? rc : (int)(intptr_t)v;
    return 0;
}

static void test_pin_cpus(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    int allowed = CPU_COUNT(&set);
    if (allowed < 2)
        skip();
    tulip_config cfg = cfg_default();
    cfg.workers = 2;
    int seen = 0;
    cfg.pin_cpus = 0;
    assert_int_equal(tulip_run_ex(main_pinned, &seen, &cfg), 0);
    assert_int_equal(seen, allowed);
    cfg.pin_cpus = 1;
    assert_int_equal(tulip_run_ex(main_pinned, &seen, &cfg), 0);
    assert_int_equal(seen, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_size),   cmocka_unit_test(test_backend),
        cmocka_unit_test(test_virtual_clock), cmocka_unit_test(test_debug),
        cmocka_unit_test(test_stack_cache),  cmocka_unit_test(test_slow_step_ns),
        cmocka_unit_test(test_seed),         cmocka_unit_test(test_workers),
        cmocka_unit_test(test_pin_cpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
