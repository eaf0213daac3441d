/* Guards of objects shared across loops (see xguard.h for the handshake). */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xguard.h"

_Thread_local uint64_t tulip__xthread_id __attribute__((tls_model("initial-exec")));

static _Atomic uint64_t next_thread_id = TULIP__XGUARD_NOBODY + 1;
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static int have_barrier;

static void barrier_init(void)
{
#ifdef TULIP_TSAN
    have_barrier = 1; /* the owner's side is seq_cst: no barrier needed */
#elif defined(SYS_membarrier)
    have_barrier = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

/* Whether this process may let a thread own objects (once, registering
 * for membarrier; pthread_once orders it before every use). */
static int can_own(void)
{
    pthread_once(&barrier_once, barrier_init);
    return have_barrier;
}

static void full_barrier_everywhere(void)
{
#if !defined(TULIP_TSAN) && defined(SYS_membarrier)
    /* Registered in can_own() (fork keeps it). Should it fail anyway, the
     * global command needs no registration (slower: it waits for an RCU
     * grace period). */
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        (void)syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
#endif
}

static uint64_t self_id(void)
{
    if (!tulip__xthread_id)
        tulip__xthread_id = atomic_fetch_add_explicit(&next_thread_id, 1, memory_order_relaxed);
    return tulip__xthread_id;
}

void tulip__xguard_init(struct tulip__xguard *g)
{
    pthread_mutex_init(&g->mu, NULL);
    atomic_init(&g->owner, TULIP__XGUARD_NOBODY);
    atomic_init(&g->busy, 0);
}

void tulip__xguard_fini(struct tulip__xguard *g)
{
    pthread_mutex_destroy(&g->mu);
}

/* B's side, under g->mu: make g shared and wait out the owner's section. */
static void share(struct tulip__xguard *g, uint64_t me)
{
    uint64_t cur = atomic_load_explicit(&g->owner, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&g->owner, &cur, TULIP__XGUARD_SHARED, memory_order_seq_cst,
                                                  memory_order_relaxed))
        ;
    if (cur == TULIP__XGUARD_NOBODY || cur == me)
        return; /* nobody was ever inside unlocked, or it was us (not inside now) */
    full_barrier_everywhere();
    /* The owner's section is a few hundred instructions and never waits
     * for us (xguard.h), so this ends soon unless its thread was
     * preempted; then give it the CPU. */
    for (unsigned spins = 0; atomic_load_explicit(&g->busy, memory_order_seq_cst); spins++) {
        if (spins >= 64)
            sched_yield();
    }
}

int tulip__xguard_enter_slow(struct tulip__xguard *g)
{
    uint64_t me = self_id();
    uint64_t cur = atomic_load_explicit(&g->owner, memory_order_acquire);
    if (cur == TULIP__XGUARD_NOBODY && can_own() &&
        atomic_compare_exchange_strong_explicit(&g->owner, &cur, me, memory_order_seq_cst, memory_order_acquire))
        cur = me; /* first user: this thread owns it */
    if (cur == me && tulip__xguard_try_own(g, me))
        return 1;
    pthread_mutex_lock(&g->mu);
    if (atomic_load_explicit(&g->owner, memory_order_relaxed) != TULIP__XGUARD_SHARED)
        share(g, me);
    return 0;
}

int tulip__xguard_try_enter(struct tulip__xguard *g, int *owned)
{
    uint64_t cur = atomic_load_explicit(&g->owner, memory_order_acquire);
    if (cur == TULIP__XGUARD_SHARED) {
        *owned = 0;
        return pthread_mutex_trylock(&g->mu) == 0;
    }
    /* Owned by another thread: sharing may wait, so leave it. Ours: only
     * this thread sets busy, so busy means we are inside it already. */
    if (cur != tulip__xthread_id || atomic_load_explicit(&g->busy, memory_order_relaxed))
        return 0;
    *owned = 1;
    return tulip__xguard_try_own(g, cur);
}

int tulip__xguard_shared(struct tulip__xguard *g)
{
    return atomic_load_explicit(&g->owner, memory_order_acquire) == TULIP__XGUARD_SHARED;
}
