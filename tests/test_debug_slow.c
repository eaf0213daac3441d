/* The slow-step detector: a task or callback that holds the loop past the
 * threshold is reported on stderr with its name and a backtrace of where
 * it was running; fast steps are not; settings and counters; fault paths.
 * Scenarios that print run in a forked child whose stderr is a pipe. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "tulip/debug.h"

/* ThreadSanitizer defers an asynchronous signal to its next interceptor
 * and then hands the handler the context saved when the signal came: the
 * stack under that context has moved on (the interceptor's frames), so
 * the sampled backtrace's frames are not the spinner's. The report itself
 * is still checked there; its frames only in the other builds. */
#if defined(__SANITIZE_THREAD__)
#define SAMPLED_FRAMES_EXACT 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SAMPLED_FRAMES_EXACT 0
#endif
#endif
#ifndef SAMPLED_FRAMES_EXACT
#define SAMPLED_FRAMES_EXACT 1
#endif
#include "tulip/testing.h"
#include "debug/debug_internal.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spins at least 300 ms, and until the watchdog has sampled this step, so
 * the test does not depend on how promptly a loaded machine (or valgrind)
 * schedules the watchdog; bounded at 30 s. */
__attribute__((noinline)) static double spin_until_sampled(void)
{
    struct tulip__debug *d = tulip__debug_of(tulip_loop_current());
    int64_t start = mono_ns();
    double x = 0;
    for (;;) {
        for (int i = 0; i < 1000; i++)
            x += i * 0.25;
        int64_t el = mono_ns() - start;
        int sampled = atomic_load(&d->got_seq) == atomic_load(&d->seq);
        if ((el >= TULIP_MS(300) && sampled) || el >= TULIP_SEC(30))
            return x;
    }
}

static int spinner(void *arg)
{
    (void)arg;
    return spin_until_sampled() > 0 ? 0 : 1;
}

static int main_slow_task(void *arg)
{
    (void)arg;
    tulip_task *t = tulip_spawn(spinner, NULL);
    if (!t)
        return 10;
    tulip_task_set_name(t, "spinner");
    if (tulip_join(t) != 0)
        return 11;
    tulip_debug_stats st;
    if (tulip_debug_stats_get(NULL, &st) != 0)
        return 12;
    if (st.slow_steps != 1 || st.max_step_ns < TULIP_MS(300) || st.steps < 2)
        return 13;
    fprintf(stderr, "spinner id %llu\n", (unsigned long long)tulip_task_id(t));
    return 0;
}

static int child_slow_task(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    return tulip_run_ex(main_slow_task, NULL, &cfg);
}

static void test_slow_task_is_reported(void **state)
{
    (void)state;
    int code;
    char *out = capture_stderr(child_slow_task, &code);
    assert_int_equal(code, 0);
    unsigned long long id = 0;
    const char *idline = strstr(out, "spinner id ");
    assert_non_null(idline);
    assert_int_equal(sscanf(idline, "spinner id %llu", &id), 1);
    char want[96];
    snprintf(want, sizeof want, "tulip: slow step: task %llu \"spinner\" held the loop for ", id);
    const char *rep = strstr(out, want);
    if (!rep)
        fprintf(stderr, "child stderr:\n%s\n", out);
    assert_non_null(rep);
    assert_non_null(strstr(rep, "(threshold 100.0 ms)"));
    if (tulip__unwind_init()) {
        const char *bt = strstr(rep, "where it was running");
        assert_non_null(bt);
        /* A frame of the busy function, and of the task body calling it. */
        if (SAMPLED_FRAMES_EXACT) {
            assert_non_null(strstr(bt, "spin_until_sampled"));
            assert_non_null(strstr(bt, " spinner+"));
        }
    }
    /* Exactly one report. */
    assert_null(strstr(rep + 1, "tulip: slow step"));
    free(out);
}

static void spin_cb(void *arg)
{
    (void)arg;
    spin_until_sampled();
}

static int child_slow_callback(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    tulip_loop *l = tulip_loop_new(&cfg);
    if (!l)
        return 10;
    if (tulip_debug_set_slow_threshold(l, TULIP_MS(50)) != 0)
        return 11;
    if (!tulip_call_soon(l, spin_cb, NULL))
        return 12;
    if (tulip_loop_run(l) != 0)
        return 13;
    tulip_loop_free(l);
    return 0;
}

static void test_slow_callback_is_reported(void **state)
{
    (void)state;
    int code;
    char *out = capture_stderr(child_slow_callback, &code);
    assert_int_equal(code, 0);
    const char *rep = strstr(out, "tulip: slow step: callback spin_cb+0x0 ");
    if (!rep)
        fprintf(stderr, "child stderr:\n%s\n", out);
    assert_non_null(rep);
    assert_non_null(strstr(rep, "(threshold 50.0 ms)"));
    if (tulip__unwind_init() && SAMPLED_FRAMES_EXACT)
        assert_non_null(strstr(rep, "spin_until_sampled"));
    free(out);
}

static int quick(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        tulip_yield();
    return 0;
}

static int main_fast(void *arg)
{
    (void)arg;
    /* No step here can take 60 s, however slow the machine. */
    if (tulip_debug_set_slow_threshold(NULL, TULIP_SEC(60)) != 0)
        return 10;
    tulip_task *t[4];
    for (int i = 0; i < 4; i++)
        if (!(t[i] = tulip_spawn(quick, NULL)))
            return 11;
    for (int i = 0; i < 4; i++)
        if (tulip_join(t[i]) != 0)
            return 12;
    tulip_debug_stats st;
    if (tulip_debug_stats_get(NULL, &st) != 0 || st.slow_steps != 0 || st.steps < 400 ||
        st.slow_threshold_ns != TULIP_SEC(60))
        return 13;
    return 0;
}

static int child_fast(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    return tulip_run_ex(main_fast, NULL, &cfg);
}

static void test_fast_steps_are_quiet(void **state)
{
    (void)state;
    int code;
    char *out = capture_stderr(child_fast, &code);
    assert_int_equal(code, 0);
    assert_null(strstr(out, "slow step"));
    assert_null(strstr(out, "leak report"));
    free(out);
}

static void test_settings_and_errors(void **state)
{
    (void)state;
    /* Debug off: the debug API says so, and nothing else changes. */
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 0;
    tulip_loop *l = tulip_loop_new(&cfg);
    assert_non_null(l);
    assert_false(tulip_debug_is_enabled(l));
    assert_null(tulip__debug_of(l));
    assert_int_equal(tulip_debug_set_slow_threshold(l, TULIP_MS(5)), -EOPNOTSUPP);
    tulip_debug_stats st;
    assert_int_equal(tulip_debug_stats_get(l, &st), -EOPNOTSUPP);
    tulip_loop_free(l);

    /* No loop at all. */
    assert_int_equal(tulip_debug_set_slow_threshold(NULL, TULIP_MS(5)), -EINVAL);
    assert_int_equal(tulip_debug_stats_get(NULL, &st), -EINVAL);
    assert_false(tulip_debug_is_enabled(NULL));

    /* TULIP_SLOW_MS sets the initial threshold; 0 turns it off. */
    cfg.debug = 1;
    setenv("TULIP_SLOW_MS", "250", 1);
    l = tulip_loop_new(&cfg);
    assert_non_null(l);
    assert_true(tulip_debug_is_enabled(l));
    assert_int_equal(tulip_debug_stats_get(l, &st), 0);
    assert_int_equal(st.slow_threshold_ns, TULIP_MS(250));
    assert_int_equal(st.slow_steps, 0);
    assert_int_equal(tulip_debug_stats_get(l, NULL), -EINVAL);
    assert_int_equal(tulip_debug_set_slow_threshold(l, -1), 0);
    assert_int_equal(tulip_debug_stats_get(l, &st), 0);
    assert_int_equal(st.slow_threshold_ns, 0);
    tulip_loop_free(l);

    setenv("TULIP_SLOW_MS", "0", 1);
    l = tulip_loop_new(&cfg);
    assert_non_null(l);
    assert_int_equal(tulip_debug_stats_get(l, &st), 0);
    assert_int_equal(st.slow_threshold_ns, 0);
    tulip_loop_free(l);

    setenv("TULIP_SLOW_MS", "junk", 1);
    l = tulip_loop_new(&cfg);
    assert_non_null(l);
    assert_int_equal(tulip_debug_stats_get(l, &st), 0);
    assert_int_equal(st.slow_threshold_ns, TULIP_MS(100));
    tulip_loop_free(l);
    unsetenv("TULIP_SLOW_MS");

    /* TULIP_DEBUG turns it on when the config leaves it to the environment. */
    setenv("TULIP_DEBUG", "1", 1);
    l = tulip_loop_new(NULL);
    assert_non_null(l);
    assert_true(tulip_debug_is_enabled(l));
    tulip_loop_free(l);
    unsetenv("TULIP_DEBUG");
}

static void test_debug_loop_new_faults(void **state)
{
    (void)state;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    /* Fail each allocation of a debug loop's creation in turn. */
    for (unsigned long n = 1;; n++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, n, 0);
        errno = 0;
        tulip_loop *l = tulip_loop_new(&cfg);
        unsigned long calls = tulip_fault_calls(TULIP_FAULT_MALLOC);
        tulip_fault_reset();
        if (l) {
            assert_true(calls < n);
            assert_true(tulip_debug_is_enabled(l));
            tulip_loop_free(l);
            break;
        }
        assert_int_equal(errno, ENOMEM);
        assert_true(n < 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_task_is_reported),
        cmocka_unit_test(test_slow_callback_is_reported),
        cmocka_unit_test(test_fast_steps_are_quiet),
        cmocka_unit_test(test_settings_and_errors),
        cmocka_unit_test(test_debug_loop_new_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
