/* Waits that another loop may satisfy: the parking protocol for channels,
 * queues and select when the peer can be a task of another loop (another
 * thread), used by them on one loop too.
 *
 * One blocking operation is one tulip__xwait; it is linked into one or more
 * wait queues (a select: one per case) through tulip__xwaiter entries, each
 * guarded by its primitive's guard (xguard.h: unlocked while one thread
 * owns the primitive, its mutex once shared). Whoever completes the operation first
 * claims it with one CAS: a peer (claimed = PEER, then it moves the item
 * inside the primitive's guard) or the owner's cancellation hook (claimed =
 * CANCELLED, then it unlinks the entries). So a claimed-by-peer operation
 * has already transferred its item, and a cancelled one transferred
 * nothing: exactly once, whichever thread gets there first.
 *
 * A peer on the owner's loop wakes the task at once. A peer on another
 * thread pushes the operation onto the owner loop's wake list, and only the
 * push that finds the list empty posts to the loop (one eventfd write at
 * most, coalesced by the loop): a burst of hand-offs to one loop costs one
 * post however many tasks or items it carries. The operation lives on the
 * owner's stack, so the owner never leaves it before the wake-up arrived
 * (delivered), even when cancelled in the meantime. */
#ifndef TULIP_SYNC_XWAIT_H
#define TULIP_SYNC_XWAIT_H

#include <pthread.h>
#include <stdatomic.h>

#include "tulip/sync.h"
#include "xguard.h"
#include "../task/task_internal.h"

enum { TULIP__X_OPEN = 0, TULIP__X_PEER = 1, TULIP__X_CANCELLED = 2 };

struct tulip__xwait;

/* An entry of an operation in one wait queue. */
struct tulip__xwaiter {
    struct tulip__waiter w;        /* first; w.data is the item buffer */
    struct tulip__xwait *op;
    struct tulip__xguard *guard;   /* guards the queue w is linked in */
    int index;                     /* select case */
    atomic_uchar gone;             /* unlinked for good: no need to lock again */
};

struct tulip__xwait {
    struct tulip__xwait *next;     /* in the owner loop's wake list */
    tulip_task *task;
    atomic_int claimed;
    int result;                    /* wake value: the op's result, or the case index */
    uint8_t delivered;             /* the wake reached the owner (owner's thread only) */
    struct tulip__xwaiter *ws;
    size_t n;
    tulip_select_case *cases;      /* select: where each case's result goes */
};

/* Set up op for the running task with its n entries (ws[i].w.data,
 * .guard and .index are the caller's). Inline, like the rest of the
 * one-loop path below: a channel round trip is two parks, and their
 * calls were a third of its cost. */
static inline void tulip__xwait_init(struct tulip__xwait *op, struct tulip__xwaiter *ws, size_t n)
{
    op->task = tulip__current();
    atomic_init(&op->claimed, TULIP__X_OPEN);
    op->delivered = 0;
    op->ws = ws;
    op->n = n;
    op->cases = NULL;
    for (size_t i = 0; i < n; i++) {
        ws[i].op = op;
        ws[i].w.task = op->task;
        atomic_init(&ws[i].gone, 0);
    }
}

/* The cancel hook of a parked operation, and the rest of a park that a
 * peer of another thread satisfied or that was a select (xwait.c). */
void tulip__xwait_cancel(void *op);
int tulip__xwait_park_rest(struct tulip__xwait *op, uint8_t reason, const void *object);

/* Park until op is claimed (links made, guards left). Returns the
 * peer's result, or -ECANCELED / -ETIMEDOUT if cancellation claimed it
 * first; a select's other entries are unlinked before it returns. The
 * caller checked tulip__wait_enter (or the checkpoint) earlier in this
 * step, and nothing can cancel the task in between, so the park does not
 * check again. */
static inline int tulip__xwait_park(struct tulip__xwait *op, uint8_t reason, const void *object)
{
    int rc = tulip__park_nocheck(reason, object, tulip__xwait_cancel, op);
    if (atomic_load_explicit(&op->claimed, memory_order_acquire) != TULIP__X_PEER)
        return rc;
    if (__builtin_expect(!op->delivered || op->n > 1, 0))
        return tulip__xwait_park_rest(op, reason, object);
    return op->result;
}

/* A compact task's single wait (docs/DESIGN.md section 11): as a stack
 * xwait linked on wq inside g (entered as owned says; left here) and
 * parked, but the operation, its entry and a copy of the item live off
 * the stack, since peers (of any thread) touch them while the task's
 * frames may be saved away. copy_in: item is the source (a put or send,
 * copied before linking); else the destination, filled from the copy when
 * the wait ends with 0. item may be NULL (nothing moves). Errors as the
 * park, and -ENOMEM (nothing linked). */
int tulip__xwait_one_off_stack(struct tulip__waitq *wq, struct tulip__xguard *g, int owned, void *item,
                               size_t item_size, int copy_in, uint8_t reason, const void *object);

/* Inside q's guard: the first entry whose operation this call could claim
 * (unlinked), or NULL. Entries of operations already claimed elsewhere are
 * dropped on the way. */
static inline struct tulip__xwaiter *tulip__xq_pop(struct tulip__waitq *q)
{
    struct tulip__waiter *w;
    while ((w = tulip__waitq_pop(q))) {
        struct tulip__xwaiter *x = (struct tulip__xwaiter *)w;
        int expected = TULIP__X_OPEN;
        int won = atomic_compare_exchange_strong_explicit(&x->op->claimed, &expected, TULIP__X_PEER,
                                                          memory_order_acq_rel, memory_order_acquire);
        /* gone only after the claim: a cancelled owner that sees it skips
         * this guard, returns and may link its next wait at the same
         * address at once, which an unfinished claim would then take. */
        atomic_store_explicit(&x->gone, 1, memory_order_release);
        if (won)
            return x;
    }
    return NULL;
}
int tulip__xq_live_rest(struct tulip__waitq *q);
/* Inside q's guard: whether an unclaimed entry waits (dropping dead ones).
 * select asks it of every case, twice: the usual answers inline. */
static inline int tulip__xq_live(struct tulip__waitq *q)
{
    struct tulip__waiter *w = tulip__waitq_first(q);
    if (!w)
        return 0;
    if (atomic_load_explicit(&((struct tulip__xwaiter *)w)->op->claimed, memory_order_acquire) == TULIP__X_OPEN)
        return 1;
    return tulip__xq_live_rest(q);
}

void tulip__xwait_fire_rest(struct tulip__xwaiter *w, int result);
/* Complete a popped entry's operation with result (for a select, the
 * case's result; the select returns the case index). */
static inline void tulip__xwait_fire(struct tulip__xwaiter *w, int result)
{
    struct tulip__xwait *op = w->op;
    tulip_task *t = op->task;
    if (__builtin_expect(!op->cases && t->loop == tulip__tls.loop, 1)) {
        op->result = result;
        op->delivered = 1;
        tulip__task_wake(t, result);
        return;
    }
    tulip__xwait_fire_rest(w, result);
}

/* The loop's wake-list post (runs on the owner loop). */
void tulip__xwake_run(struct tulip__post *p);
/* Posts and wake-ups l received from other threads (tests; read on l's
 * thread or after it stopped). */
void tulip__xwake_stats(const tulip_loop *l, uint64_t *posts, uint64_t *wakes);

#endif
