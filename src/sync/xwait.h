/* Waits that another loop may satisfy: the parking protocol for channels,
 * queues and select when the peer can be a task of another loop (another
 * thread), used by them on one loop too.
 *
 * One blocking operation is one tulip__xwait; it is linked into one or more
 * wait queues (a select: one per case) through tulip__xwaiter entries, each
 * guarded by its primitive's mutex. Whoever completes the operation first
 * claims it with one CAS: a peer (claimed = PEER, then it moves the item
 * under the primitive's lock) or the owner's cancellation hook (claimed =
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
#include "../task/task_internal.h"

enum { TULIP__X_OPEN = 0, TULIP__X_PEER = 1, TULIP__X_CANCELLED = 2 };

struct tulip__xwait;

/* An entry of an operation in one wait queue. */
struct tulip__xwaiter {
    struct tulip__waiter w;        /* first; w.data is the item buffer */
    struct tulip__xwait *op;
    pthread_mutex_t *lock;         /* guards the queue w is linked in */
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
 * .lock and .index are the caller's). */
void tulip__xwait_init(struct tulip__xwait *op, struct tulip__xwaiter *ws, size_t n);

/* Park until op is claimed (links made, locks released). Returns the
 * peer's result, or -ECANCELED / -ETIMEDOUT if cancellation claimed it
 * first; a select's other entries are unlinked before it returns. */
int tulip__xwait_park(struct tulip__xwait *op, uint8_t reason, const void *object);

/* Under q's lock: the first entry whose operation this call could claim
 * (unlinked), or NULL. Entries of operations already claimed elsewhere are
 * dropped on the way. */
struct tulip__xwaiter *tulip__xq_pop(struct tulip__waitq *q);
/* Under q's lock: whether an unclaimed entry waits (dropping dead ones). */
int tulip__xq_live(struct tulip__waitq *q);
/* Complete a popped entry's operation with result (for a select, the
 * case's result; the select returns the case index). */
void tulip__xwait_fire(struct tulip__xwaiter *w, int result);

/* The loop's wake-list post (runs on the owner loop). */
void tulip__xwake_run(struct tulip__post *p);
/* Posts and wake-ups l received from other threads (tests; read on l's
 * thread or after it stopped). */
void tulip__xwake_stats(const tulip_loop *l, uint64_t *posts, uint64_t *wakes);

#endif
