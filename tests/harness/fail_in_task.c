/* A test program that fails on purpose, for tests/harness/check_fail.cmake:
 * its first case fails an assertion inside a task, which leaves by
 * cmocka's longjmp past tulip_run's end, and its second case runs
 * tulip_run again and must pass: the harness (test_util.h) frees the loop
 * the first case left running. Before, the second case failed with
 * -EBUSY, one failure reported as two.
 * Usage: fail_in_task main|child|callback|workers (where the assertion
 * fails: the main task, a task it spawned, a loop callback, the main task
 * of a run with a worker loop). Nothing leaks: the handle of the
 * callback the jump left is freed with its loop (LeakSanitizer checks it
 * in the ASan build). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "test_util.h"

static const char *where = "main";

static int fail_here(void *arg)
{
    (void)arg;
    tulip_sleep(TULIP_MS(1)); /* parked once: a loop mid-run, timers set */
    assert_int_equal(1, 2);
    return 0;
}

static int spawn_and_wait(void *arg)
{
    tulip_task *t = tulip_spawn(fail_here, arg);
    assert_non_null(t);
    return tulip_join(t);
}

static void fail_in_callback(void *arg)
{
    (void)arg;
    assert_int_equal(3, 4);
}

static int call_later(void *arg)
{
    (void)arg;
    tulip_loop *l = test_loop_new(0);
    assert_non_null(l);
    tulip_call_soon(l, fail_in_callback, NULL);
    return tulip_loop_run(l);
}

static void fails_inside_a_task(void **state)
{
    (void)state;
    if (strcmp(where, "child") == 0) {
        test_run(spawn_and_wait, NULL);
    } else if (strcmp(where, "callback") == 0) {
        call_later(NULL);
    } else if (strcmp(where, "workers") == 0) {
        tulip_config cfg;
        tulip_config_init(&cfg);
        cfg.workers = 2;
        tulip_run_ex(fail_here, NULL, &cfg);
    } else {
        test_run(fail_here, NULL);
    }
    fail_msg("the assertion inside the task did not end the case");
}

static int ok_body(void *arg)
{
    (void)arg;
    tulip_sleep(TULIP_MS(1));
    return 42;
}

static void runs_after_it(void **state)
{
    (void)state;
    assert_int_equal(test_run(ok_body, NULL), 42);
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = 2;
    assert_int_equal(tulip_run_ex(ok_body, NULL, &cfg), 42);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        where = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fails_inside_a_task),
        cmocka_unit_test(runs_after_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
