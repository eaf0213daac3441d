/* Debug mode catches a compact task's local handed to the runtime: a
 * tulip_event on a compact task's stack that another task waits on is
 * reported (naming both tasks) when the waiter parks, and the process
 * aborts, never corrupting memory silently. Under ASan, a stray read of a
 * suspended compact task's local (lent through a spawn argument, which no
 * check sees) is reported too. And a wait record of the runtime's own that
 * lies in the parking task's stack is caught for a private-stack task too.
 * (A compact task's stack overflow is test_overflow's compact case.) */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include <alloca.h>

#include "test_util.h"
#include "task/task_internal.h"

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


/* A violation no check sees: a compact task lends a local to a private
 * task through the spawn argument, then waits; the borrower reads it
 * while no task runs on the shared stack. Under ASan, debug mode keeps
 * that stack poisoned then, so the read is reported. */
static int borrower(void *p)
{
    return *(volatile int *)p;
}

static int lender(void *p)
{
    (void)p;
    volatile int local = 7;
    tulip_task *b = tulip_spawn(borrower, (void *)&local);
    tulip_future *f = tulip_future_new();
    tulip_future_await(f, NULL); /* parked for good: b runs meanwhile */
    return tulip_join(b);
}

static int main_stray(void *p)
{
    (void)p;
    tulip_task *t = tulip_spawn_ex(NULL, lender, NULL, TULIP_SPAWN_COMPACT);
    tulip_yield(); /* t lends its local and parks */
    tulip_yield(); /* the borrower reads it */
    tulip_cancel(t);
    return tulip_join(t);
}

static int stray_child(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    cfg.slow_step_ns = -1;
    tulip_run_ex(main_stray, NULL, &cfg);
    return 0;
}

static void test_stray_access_poisoned(void **state)
{
    (void)state;
#ifndef TULIP_TEST_ASAN
    (void)stray_child;
    print_message("skipped: the poisoning is ASan's\n");
    skip();
#else
    int code;
    char *buf = capture_stderr(stray_child, &code);
    if (!strstr(buf, "use-after-poison"))
        fail_msg("stray access not reported; exit %d; stderr was:\n%s", code, buf);
    assert_non_null(strstr(buf, "borrower"));
    assert_int_not_equal(code, 0);
    free(buf);
#endif
}

/* The runtime's rule, broken on purpose through the internal call: a
 * private-stack task parks with its wait-queue record on its own stack
 * (alloca: on the stack itself even where ASan moves locals away). */
static int record_on_stack(void *p)
{
    struct tulip__waiter *w = alloca(sizeof *w);
    return tulip__waitq_wait(p, w, TULIP__WAIT_EVENT, p);
}

static int main_record(void *p)
{
    (void)p;
    static struct tulip__waitq q;
    tulip_task *t = tulip_spawn(record_on_stack, &q);
    tulip_task_set_name(t, "record-on-stack");
    tulip_yield();
    tulip_cancel(t);
    return tulip_join(t);
}

static int record_child(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    cfg.slow_step_ns = -1;
    tulip_run_ex(main_record, NULL, &cfg);
    return 0;
}

static void test_record_on_own_stack_caught(void **state)
{
    (void)state;
    int code;
    char *buf = capture_stderr(record_child, &code);
    if (!strstr(buf, "lies in its own stack"))
        fail_msg("record on the stack not reported; exit %d; stderr was:\n%s", code, buf);
    assert_non_null(strstr(buf, "\"record-on-stack\""));
    assert_int_equal(code, 128 + SIGABRT);
    free(buf);
}

static void test_violation_caught(void **state)
{
    (void)state;
    int code;
    char *buf = capture_stderr(violation_child, &code);
#ifdef TULIP_TEST_ASAN
    /* The waiter's first touch of the event is a read of a poisoned
     * stack, reported before the park's range check. */
    if (strstr(buf, "use-after-poison")) {
        assert_non_null(strstr(buf, "tulip_event_wait"));
        assert_int_not_equal(code, 0);
        free(buf);
        return;
    }
#endif
    if (!strstr(buf, "lies on shared stack"))
        fail_msg("violation not reported; exit %d; stderr was:\n%s", code, buf);
    assert_non_null(strstr(buf, "the object waited on"));
    assert_non_null(strstr(buf, "\"lends-its-locals\""));
    assert_int_equal(code, 128 + SIGABRT);
    free(buf);
}

int main(void)
{
    if (!test_have_compact()) {
        printf("skipped: no compact tasks with the ucontext switch\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_violation_caught),
        cmocka_unit_test(test_stray_access_poisoned),
        cmocka_unit_test(test_record_on_own_stack_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
