/* Debug mode catches a compact task's local handed to the runtime: a
 * tulip_event on a compact task's stack that another task waits on is
 * reported (naming both tasks) when the waiter parks, and the process
 * aborts, never corrupting memory silently. (A compact task's stack
 * overflow is test_overflow's compact case.) */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include "test_util.h"

static int event_waiter(void *p)
{
    return tulip_event_wait(p);
}

/* The violation: an event in this compact task's frames, waited on by
 * another task, who would link its record into memory that is saved away
 * whenever this task is suspended. */
static int stack_event_owner(void *p)
{
    (void)p;
    tulip_event ev;
    tulip_event_init(&ev);
    tulip_task *w = tulip_spawn(event_waiter, &ev);
    tulip_yield();
    tulip_event_set(&ev);
    return tulip_join(w);
}

static int main_violation(void *p)
{
    (void)p;
    tulip_task *t = tulip_spawn_ex(NULL, stack_event_owner, NULL, TULIP_SPAWN_COMPACT);
    tulip_task_set_name(t, "lends-its-locals");
    return tulip_join(t);
}

static int violation_child(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.compact_stacks = 1;
    cfg.debug = 1;
    cfg.slow_step_ns = -1;
    tulip_run_ex(main_violation, NULL, &cfg);
    return 0; /* reaching here means nothing was caught */
}

static void test_violation_caught(void **state)
{
    (void)state;
    int code;
    char *buf = capture_stderr(violation_child, &code);
    if (!strstr(buf, "lies on shared stack"))
        fail_msg("violation not reported; exit %d; stderr was:\n%s", code, buf);
    assert_non_null(strstr(buf, "the object waited on"));
    assert_non_null(strstr(buf, "\"lends-its-locals\""));
    assert_int_equal(code, 128 + SIGABRT);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_violation_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
