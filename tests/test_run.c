/* tulip_run: result, leftovers cancelled and joined, SIGINT shutdown. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include "test_util.h"

static int leftover_cleaned;

static int leftover(void *p)
{
    (void)p;
    int rc = tulip_sleep(TULIP_SEC(3600));
    if (rc == -ECANCELED)
        leftover_cleaned++;
    return rc;
}

static int main_with_leftovers(void *p)
{
    (void)p;
    /* Detached and never-joined tasks: tulip_run must cancel and finish
     * them, and free them (the leak checkers see to that). */
    tulip_detach(tulip_spawn(leftover, NULL));
    tulip_spawn(leftover, NULL);
    tulip_spawn(leftover, NULL);
    tulip_yield();
    return 3;
}

static void test_leftovers(void **state)
{
    (void)state;
    leftover_cleaned = 0;
    assert_int_equal(tulip_run(main_with_leftovers, NULL), 3);
    assert_int_equal(leftover_cleaned, 3);
    /* The thread is free for another run afterwards. */
    assert_null(tulip_loop_current());
    assert_int_equal(tulip_run(main_with_leftovers, NULL), 3);
}

static int main_sigint(void *p)
{
    (void)p;
    raise(SIGINT);
    /* The signal cancels the main task: this sleep is interrupted. */
    int rc = tulip_sleep(TULIP_SEC(3600));
    return rc == -ECANCELED ? 42 : rc;
}

static void test_sigint_cancels_main(void **state)
{
    (void)state;
    assert_int_equal(tulip_run(main_sigint, NULL), 42);
    /* Default disposition restored. */
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL);
}

static int nested_run(void *p)
{
    (void)p;
    return tulip_run(nested_run, NULL);
}

static void test_nested_run_refused(void **state)
{
    (void)state;
    assert_int_equal(tulip_run(nested_run, NULL), -EBUSY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leftovers),
        cmocka_unit_test(test_sigint_cancels_main),
        cmocka_unit_test(test_nested_run_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
