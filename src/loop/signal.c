/* Signals into the loop. The handler only sets a bit and writes the loop's
 * eventfd (both async-signal-safe); the user's callback runs later on the
 * loop thread, where it may do anything.
 *
 * A slot may hold a default watcher (tulip_run's SIGINT, which cancels the
 * main task) that gives way to a watcher of the same loop: the program
 * asked for the signal itself, as with asyncio's add_signal_handler.  The
 * default is kept underneath and comes back when that watcher leaves. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loop_internal.h"
#include "tulip/signal.h"

#define MAX_SIGNO 32

struct tulip__signal_slot {
    _Atomic(tulip_loop *) loop;
    void (*cb)(void *arg, int signo);
    void *arg;
    struct sigaction previous;
    bool is_default;                    /* cb may give way */
    bool has_under;                     /* a default is kept under cb */
    void (*under_cb)(void *arg, int signo);
    void *under_arg;
};

static struct tulip__signal_slot slots[MAX_SIGNO];

/* Handlers running now, on any thread: a loop being freed waits for them,
 * since one may have read the slot just before the loop left it. */
static atomic_uint handlers_running;

static void signal_handler(int signo)
{
    int saved = errno;
    atomic_fetch_add(&handlers_running, 1);
    tulip_loop *l = atomic_load(&slots[signo].loop);
    if (l) {
        atomic_fetch_or(&l->signals_pending, 1u << signo);
        tulip__wake(l);
    }
    atomic_fetch_sub_explicit(&handlers_running, 1, memory_order_release);
    errno = saved;
}

static int watch(tulip_loop *l, int signo, void (*cb)(void *arg, int signo), void *arg, bool is_default)
{
    if (!l || !cb || signo <= 0 || signo >= MAX_SIGNO || signo == SIGKILL || signo == SIGSTOP ||
        signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL)
        return -EINVAL;
    struct tulip__signal_slot *s = &slots[signo];
    tulip_loop *expected = NULL;
    if (!atomic_compare_exchange_strong(&s->loop, &expected, l)) {
        /* Only the loop's own thread touches a slot it holds, so the
         * callback can be swapped under the handler without a race. */
        if (expected != l || is_default || !s->is_default || s->has_under)
            return -EBUSY;
        s->under_cb = s->cb;
        s->under_arg = s->arg;
        s->has_under = true;
        s->is_default = false;
        s->cb = cb;
        s->arg = arg;
        return 0;
    }
    s->cb = cb;
    s->arg = arg;
    s->is_default = is_default;
    s->has_under = false;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = signal_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, &s->previous) != 0) {
        int err = errno;
        atomic_store(&s->loop, NULL);
        return -err;
    }
    return 0;
}

int tulip_signal_watch(tulip_loop *l, int signo, void (*cb)(void *arg, int signo), void *arg)
{
    return watch(l, signo, cb, arg, false);
}

int tulip__signal_watch_default(tulip_loop *l, int signo, void (*cb)(void *arg, int signo), void *arg)
{
    return watch(l, signo, cb, arg, true);
}

static void release(tulip_loop *l, int signo)
{
    sigaction(signo, &slots[signo].previous, NULL);
    atomic_store(&slots[signo].loop, NULL);
    atomic_fetch_and(&l->signals_pending, ~(1u << signo));
}

int tulip_signal_unwatch(tulip_loop *l, int signo)
{
    if (signo <= 0 || signo >= MAX_SIGNO)
        return -EINVAL;
    struct tulip__signal_slot *s = &slots[signo];
    /* The default watcher alone is not the caller's to remove: only
     * tulip__signal_unwatch_default does that. */
    if (atomic_load(&s->loop) != l || (s->is_default && !s->has_under))
        return -ENOENT;
    if (s->has_under) { /* the default watcher takes over again */
        s->cb = s->under_cb;
        s->arg = s->under_arg;
        s->is_default = true;
        s->has_under = false;
        return 0;
    }
    release(l, signo);
    return 0;
}

int tulip__signal_unwatch_default(tulip_loop *l, int signo)
{
    if (signo <= 0 || signo >= MAX_SIGNO)
        return -EINVAL;
    struct tulip__signal_slot *s = &slots[signo];
    if (atomic_load(&s->loop) != l)
        return -ENOENT;
    if (s->has_under) { /* the watcher on top stays; only the default goes */
        s->has_under = false;
        return 0;
    }
    if (!s->is_default)
        return -ENOENT;
    release(l, signo);
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
        if (atomic_load(&slots[signo].loop) == l) {
            slots[signo].has_under = false;
            release(l, signo);
        }
    while (atomic_load(&handlers_running) != 0) /* seq_cst: against the slot store */
        sched_yield();
}
