/* Spin before sleep: a loop of a multi-loop run that is about to block in
 * the poll first watches its post stack for a bounded time (Go's
 * findrunnable spins the same way before it parks an M).  A cross-loop
 * hand-off (a channel item, a woken task: src/sync/xwait.c) usually comes
 * within microseconds; catching it while spinning saves the sleep and
 * wake-up of a thread, and the poster's eventfd write too, since the
 * spinner holds wake_pending (the poster sees a wake already pending).
 *
 * The protocol keeps every wake-up: the spinner claims wake_pending 0 -> 1
 * (if it was 1, a wake is already on its way: do not block at all); when
 * the spin ends it stores 0 and looks at the posts again (both seq_cst),
 * so a post pushed after that look sees 0 and writes the eventfd, as
 * before.  Cost: at most TULIP_SPIN_NS of CPU each time the loop would
 * block right after a cross-loop hand-off (default 5 µs; 0 turns it
 * off); the spin yields the CPU every ~1 µs in case the thread it waits
 * for needs this CPU (src/platform/spin_wait.h, shared with the io_uring
 * backend's spin on its completion queue). */
#define _GNU_SOURCE
#include <stdatomic.h>

#include "runtime_internal.h"
#include "../platform/spin_wait.h"
#include "../loop/loop_internal.h"

static int work_came(void *arg)
{
    tulip_loop *l = arg;
    return atomic_load(&l->posts) != NULL || atomic_load(&l->signals_pending) ||
           atomic_load(&l->stop_requested);
}

/* 1: do not block (work came, or a wake is pending), 0: block.  Never
 * longer than the poll's timeout (ns, < 0: none). */
static int spin(tulip_loop *l, int64_t timeout)
{
    /* Spin only while tasks of other loops hand work over (a channel or
     * queue woke a task here since the last time): a loop woken by its
     * timers or its sockets alone never spins, nor does an idle one more
     * than once. */
    if (l->xwake_posts == l->spin_seen)
        return 0;
    l->spin_seen = l->xwake_posts;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&l->wake_pending, &zero, 1))
        return 1;
    int got = tulip__spin_until(work_came, l, timeout > 0 && timeout < l->spin_ns ? timeout : l->spin_ns);
    atomic_store(&l->wake_pending, 0);
    return got || work_came(l);
}

void tulip__spin_install(tulip_loop *l)
{
    int64_t ns = tulip__spin_budget_ns();
    l->spin_ns = ns;
    l->spin = ns > 0 ? spin : NULL;
}
