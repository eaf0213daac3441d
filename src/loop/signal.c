/* Signals into the loop. The handler only sets a bit and writes the loop's
 * eventfd (both async-signal-safe); the user's callback runs later on the
 * loop thread, where it may do anything. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "loop_internal.h"

#define MAX_SIGNO 32

struct tulip__signal_slot {
    _Atomic(tulip_loop *) loop;
    void (*cb)(void *arg, int signo);
    void *arg;
    struct sigaction previous;
};

static struct tulip__signal_slot slots[MAX_SIGNO];

static void signal_handler(int signo)
{
    int saved = errno;
    tulip_loop *l = atomic_load(&slots[signo].loop);
    if (l) {
        atomic_fetch_or(&l->signals_pending, 1u << signo);
        tulip__wake(l);
    }
    errno = saved;
}

int tulip_signal_watch(tulip_loop *l, int signo, void (*cb)(void *arg, int signo), void *arg)
{
    if (!l || !cb || signo <= 0 || signo >= MAX_SIGNO || signo == SIGKILL || signo == SIGSTOP ||
        signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL)
        return -EINVAL;
    tulip_loop *expected = NULL;
    if (!atomic_compare_exchange_strong(&slots[signo].loop, &expected, l))
        return expected == l ? -EBUSY : -EBUSY;
    slots[signo].cb = cb;
    slots[signo].arg = arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = signal_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, &slots[signo].previous) != 0) {
        int err = errno;
        atomic_store(&slots[signo].loop, NULL);
        return -err;
    }
    return 0;
}

int tulip_signal_unwatch(tulip_loop *l, int signo)
{
    if (signo <= 0 || signo >= MAX_SIGNO)
        return -EINVAL;
    if (atomic_load(&slots[signo].loop) != l)
        return -ENOENT;
    sigaction(signo, &slots[signo].previous, NULL);
    atomic_store(&slots[signo].loop, NULL);
    atomic_fetch_and(&l->signals_pending, ~(1u << signo));
    return 0;
}

void tulip__signals_dispatch(tulip_loop *l)
{
    unsigned bits = atomic_exchange(&l->signals_pending, 0);
    for (int signo = 1; signo < MAX_SIGNO; signo++) {
        if (!(bits & (1u << signo)))
            continue;
        if (atomic_load(&slots[signo].loop) == l)
            slots[signo].cb(slots[signo].arg, signo);
    }
}

void tulip__signals_loop_free(tulip_loop *l)
{
    for (int signo = 1; signo < MAX_SIGNO; signo++)
        if (atomic_load(&slots[signo].loop) == l)
            tulip_signal_unwatch(l, signo);
}
