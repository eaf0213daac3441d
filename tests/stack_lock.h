/* Shared by the records tests (test_chan_records.c, test_uring_records.c):
 * check that a waiter parked with its record off its stack, lock its whole
 * stack (mprotect) while others act on its wait, so that a record left in
 * its frames faults, and report such a fault. */
#ifndef TULIP_TEST_STACK_LOCK_H
#define TULIP_TEST_STACK_LOCK_H

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "task/task_internal.h"
#include "test_util.h"

static inline int stack_has(const tulip_task *t, const void *p)
{
    const char *lo = t->stack->lo;
    return (const char *)p >= lo && (const char *)p < lo + t->stack->size;
}

/* 0 when W is parked with its wait record off its stack; else 1, with the
 * reason after the case's name WHAT in FAIL (N bytes). */
static inline int stack_check_parked(const tulip_task *w, const char *what, char *fail, size_t n)
{
    if (w->state != TULIP__TASK_PARKED)
        snprintf(fail, n, "%s: the waiter did not park", what);
    else if (!w->park_ctx || stack_has(w, w->park_ctx))
        snprintf(fail, n, "%s: the wait record %p lies in the waiter's stack", what, w->park_ctx);
    else
        return 0;
    return 1;
}

/* 0, or -errno. */
static inline int stack_lock(tulip_task *t, int prot)
{
    return mprotect(t->stack->lo, t->stack->size, prot) != 0 ? -errno : 0;
}

/* stack_lock, and a failure said after the case's name WHAT in FAIL (N
 * bytes). */
static inline void stack_protect(tulip_task *t, int prot, const char *what, char *fail, size_t n)
{
    int rc = stack_lock(t, prot);
    if (rc)
        snprintf(fail, n, "%s: mprotect: %s", what, strerror(-rc));
}

/* test_run(FN, ARG) with ON_SEGV as the SIGSEGV handler while the loop
 * runs (ours, not cmocka's: it names the case); the previous one after. */
static inline int stack_run_trapped(int (*fn)(void *), void *arg, void (*on_segv)(int, siginfo_t *, void *))
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, &old);
    int rc = test_run(fn, arg);
    sigaction(SIGSEGV, &old, NULL);
    return rc;
}

/* From a SIGSEGV handler: name the case and leave (async-signal-safe). */
static inline void stack_fault(const char *test, const char *what, const void *addr)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "%s: case \"%s\": touched %p in a suspended task's stack\n", test, what, addr);
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        _exit(3);
    _exit(3);
}

#endif
