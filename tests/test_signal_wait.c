/* Tasks waiting for signals: delivery, several signals at once, every
 * waiter woken, the previous disposition restored when the last waiter
 * leaves, cancellation, and argument errors. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include "test_util.h"
#include "tulip/signal.h"

static int handler_is(int signo, void (*h)(int))
{
    struct sigaction sa;
    sigaction(signo, NULL, &sa);
    return sa.sa_handler == h;
}

struct waiter {
    const int *sigs;
    size_t n;
    int got;
};

static int wait_task(void *arg)
{
    struct waiter *w = arg;
    w->got = tulip_signal_wait(w->sigs, w->n);
    return 0;
}

static int raiser(void *arg)
{
    int signo = (int)(intptr_t)arg;
    raise(signo);
    return 0;
}

static int body_deliver(void *arg)
{
    (void)arg;
    static const int sigs[] = {SIGUSR1, SIGTERM};
    struct waiter a = {sigs, 2, 0}, b = {sigs + 1, 1, 0};
    tulip_task *ta = tulip_spawn(wait_task, &a);
    tulip_task *tb = tulip_spawn(wait_task, &b);
    assert_int_equal(tulip_yield(), 0);
    /* Both parked: tulip's handler is in place. */
    assert_false(handler_is(SIGTERM, SIG_DFL));
    tulip_task *r = tulip_spawn(raiser, (void *)(intptr_t)SIGTERM);
    assert_int_equal(tulip_join(r), 0);
    assert_int_equal(tulip_join(ta), 0);
    assert_int_equal(tulip_join(tb), 0);
    assert_int_equal(a.got, SIGTERM);
    assert_int_equal(b.got, SIGTERM);
    /* Nobody waits any more: back to the default actions. */
    assert_true(handler_is(SIGTERM, SIG_DFL));
    assert_true(handler_is(SIGUSR1, SIG_DFL));

    /* The other signal of a set. */
    a.got = 0;
    ta = tulip_spawn(wait_task, &a);
    assert_int_equal(tulip_yield(), 0);
    r = tulip_spawn(raiser, (void *)(intptr_t)SIGUSR1);
    assert_int_equal(tulip_join(r), 0);
    assert_int_equal(tulip_join(ta), 0);
    assert_int_equal(a.got, SIGUSR1);
    return 0;
}

static void test_deliver(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_deliver, NULL), 0);
}

static int body_cancel(void *arg)
{
    (void)arg;
    int sig = SIGUSR2;
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_SEC(3));
    assert_int_equal(tulip_signal_wait(&sig, 1), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    assert_true(handler_is(SIGUSR2, SIG_DFL));
    /* A second waiter keeps the handler while the first is cancelled. */
    struct waiter keep = {&sig, 1, 0};
    tulip_task *k = tulip_spawn(wait_task, &keep);
    assert_int_equal(tulip_yield(), 0);
    tulip_scope_enter_timeout(&s, TULIP_SEC(1));
    assert_int_equal(tulip_signal_wait(&sig, 1), -ETIMEDOUT);
    tulip_scope_exit(&s);
    assert_false(handler_is(SIGUSR2, SIG_DFL));
    raise(SIGUSR2);
    assert_int_equal(tulip_join(k), 0);
    assert_int_equal(keep.got, SIGUSR2);
    assert_true(handler_is(SIGUSR2, SIG_DFL));
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(body_cancel, NULL), 0);
}

static void ignore(int signo)
{
    (void)signo;
}

static int body_errors(void *arg)
{
    (void)arg;
    int bad[] = {SIGKILL};
    assert_int_equal(tulip_signal_wait(bad, 1), -EINVAL);
    int big[] = {64};
    assert_int_equal(tulip_signal_wait(big, 1), -EINVAL);
    int segv[] = {SIGUSR1, SIGSEGV};
    assert_int_equal(tulip_signal_wait(segv, 2), -EINVAL);
    /* The failed attempt left nothing installed. */
    assert_true(handler_is(SIGUSR1, ignore));
    assert_int_equal(tulip_signal_wait(NULL, 1), -EINVAL);
    assert_int_equal(tulip_signal_wait(bad, 0), -EINVAL);
    tulip_cancel(tulip_self());
    int ok[] = {SIGUSR1};
    assert_int_equal(tulip_signal_wait(ok, 1), -ECANCELED);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    int sig = SIGUSR1;
    assert_int_equal(tulip_signal_wait(&sig, 1), -EPERM);
    /* A previous handler comes back after waiting. */
    signal(SIGUSR1, ignore);
    assert_int_equal(test_run(body_errors, NULL), 0);
    assert_true(handler_is(SIGUSR1, ignore));
    signal(SIGUSR1, SIG_DFL);
}

/* Under tulip_run, SIGINT cancels the main task; a task that waits for
 * SIGINT takes it over while it waits, and tulip_run's handling comes
 * back when it leaves. */
static int body_sigint(void *arg)
{
    (void)arg;
    static const int sigs[] = {SIGINT};
    struct waiter a = {sigs, 1, 0};
    tulip_task *ta = tulip_spawn(wait_task, &a);
    assert_int_equal(tulip_yield(), 0);
    tulip_task *r = tulip_spawn(raiser, (void *)(intptr_t)SIGINT);
    assert_int_equal(tulip_join(r), 0);
    assert_int_equal(tulip_join(ta), 0);
    assert_int_equal(a.got, SIGINT);
    assert_int_equal(tulip_yield(), 0); /* main was not cancelled */
    assert_false(handler_is(SIGINT, SIG_DFL)); /* tulip_run's watch is back */
    /* ...and it is not anybody else's to remove. */
    assert_int_equal(tulip_signal_unwatch(tulip_loop_current(), SIGINT), -ENOENT);
    assert_false(handler_is(SIGINT, SIG_DFL));

    raise(SIGINT);
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++)
        rc = tulip_yield();
    assert_int_equal(rc, -ECANCELED);
    /* As before: a second SIGINT would end the process. */
    assert_true(handler_is(SIGINT, SIG_DFL));
    return 7;
}

static void test_sigint_under_run(void **state)
{
    (void)state;
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    if (sa.sa_handler != SIG_DFL)
        skip(); /* started with SIGINT ignored: tulip_run leaves it alone */
    assert_int_equal(test_run(body_sigint, NULL), 7);
    assert_true(handler_is(SIGINT, SIG_DFL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deliver),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_sigint_under_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
