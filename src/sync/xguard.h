/* The guard of a sync object that tasks of several loops may share
 * (channels, queues): a mutex that a single thread never takes.
 *
 * Most channels and queues live and die inside one loop. The guard lets
 * that case go without any lock and without any atomic read-modify-write:
 * the first thread to use the object becomes its owner and works on it
 * with plain accesses. The first time another thread enters, the object
 * becomes shared for good, and from then on every thread (the owner
 * too) takes the mutex.
 *
 * The race is the switch itself: thread B arrives while the owner A is in
 * the middle of an unlocked operation. The handshake is Dekker's, made
 * cheap on A's side:
 *   - A, on entry: busy = 1; then reads owner. If owner is still A, it
 *     goes on unlocked and stores busy = 0 (release) when done. If not, it
 *     stores busy = 0 and takes the mutex like everybody else.
 *   - B, under the mutex: owner = SHARED (CAS); a full barrier on every
 *     thread of the process (membarrier(2), PRIVATE_EXPEDITED); then it
 *     waits until busy reads 0 (acquire).
 * membarrier runs a full barrier on A's CPU at some point of A's code: if
 * that point is before A's read of owner, A reads SHARED (and locks); if
 * after, A's store of busy = 1 is visible to B, which waits for A's
 * operation to end. Either way they never both go on. B never touches the
 * object while A is in it unlocked, and A's unlocked writes happen before
 * B's reads (busy's release/acquire). The barrier is paid once per object;
 * A's side costs two plain stores and a load, no fence (a compiler barrier
 * only: membarrier puts the CPU fence there when, and only when, needed).
 * Where membarrier is missing (old kernels, seccomp filters) nobody ever
 * owns an object: every one is shared from the start, as in 0.2. Under
 * ThreadSanitizer, which does not model membarrier, A's side uses seq_cst
 * accesses instead (the same handshake with a fence on A's side), so the
 * owned path is checked too.
 *
 * Why not a post to the owner loop (let A switch the mode between two of
 * its steps)? It needs A's loop to run: a loop blocked in a step, stopped
 * or freed would hang B forever, and objects routinely outlive the loop
 * that first used them (tulip_chan_free after tulip_run).
 *
 * Sections of different guards may nest (select holds several), always in
 * the address order of their objects; B waits for busy while holding this
 * guard's mutex only after the mutexes of lower addresses, so a waiting B
 * and an owner inside its section never wait for each other in a cycle.
 * An owner never waits for busy (only sharing does), and sharing is a
 * locked entry, so it follows the same order. See docs/DESIGN.md §9. */
#ifndef TULIP_SYNC_XGUARD_H
#define TULIP_SYNC_XGUARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../platform/annotate.h"

/* owner: NOBODY until a first thread enters, then that thread's id (>= 2),
 * then SHARED for good. */
#define TULIP__XGUARD_NOBODY 1
#define TULIP__XGUARD_SHARED UINT64_MAX

struct tulip__xguard {
    pthread_mutex_t mu;            /* taken only once shared */
    _Atomic uint64_t owner;
    atomic_uchar busy;             /* the owner is in an unlocked section */
};

/* This thread's id for owner: 0 until the thread first enters a guard
 * (so it matches no owner, and the first entry takes the slow path). */
extern _Thread_local uint64_t tulip__xthread_id __attribute__((tls_model("initial-exec")));

void tulip__xguard_init(struct tulip__xguard *g);
void tulip__xguard_fini(struct tulip__xguard *g);

/* Owner side of the handshake, with owner == me read just before. */
static inline int tulip__xguard_try_own(struct tulip__xguard *g, uint64_t me)
{
#ifdef TULIP_TSAN
    atomic_store_explicit(&g->busy, 1, memory_order_seq_cst);
    int mine = atomic_load_explicit(&g->owner, memory_order_seq_cst) == me;
#else
    atomic_store_explicit(&g->busy, 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    int mine = atomic_load_explicit(&g->owner, memory_order_relaxed) == me;
#endif
    if (!mine)
        atomic_store_explicit(&g->busy, 0, memory_order_release);
    return mine;
}

int tulip__xguard_enter_slow(struct tulip__xguard *g);

/* Enter g's section: 1 when this thread owns the object (unlocked), 0
 * when the mutex is held. Pass the result to tulip__xguard_exit. */
static inline int tulip__xguard_enter(struct tulip__xguard *g)
{
    uint64_t me = tulip__xthread_id;
    if (atomic_load_explicit(&g->owner, memory_order_relaxed) == me && __builtin_expect(tulip__xguard_try_own(g, me), 1))
        return 1;
    return tulip__xguard_enter_slow(g);
}

static inline void tulip__xguard_exit(struct tulip__xguard *g, int owned)
{
    if (owned)
        atomic_store_explicit(&g->busy, 0, memory_order_release);
    else
        pthread_mutex_unlock(&g->mu);
}

/* Enter without waiting, or fail (0): for optional work done while inside
 * another guard's section (it may be this thread's own, or busy). On
 * success *owned is set as tulip__xguard_enter's result. */
int tulip__xguard_try_enter(struct tulip__xguard *g, int *owned);

/* Whether g has been shared (tests). */
int tulip__xguard_shared(struct tulip__xguard *g);

#endif
