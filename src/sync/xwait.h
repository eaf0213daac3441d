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
 * post however many tasks or items it carries.
 *
 * The operation, its entries and a copy of each item live in the owner
 * task's wait block (tulip_task.xblock), never on its stack: a peer never
 * holds a pointer into a suspended task's frames (docs/DESIGN.md section
 * 11), whatever its kind of stack. A sent item is copied in before the
 * entry is linked; a received one is copied out after the wake. The block
 * is the next wait's only after the wake-up arrived (delivered), even
 * when the operation was cancelled in the meantime. */
#ifndef TULIP_SYNC_XWAIT_H
#define TULIP_SYNC_XWAIT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

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
    uint8_t select;                /* a select: the fired entry's w.result holds its case's result */
    struct tulip__xwaiter *ws;
    size_t n;
};

/* Copy n bytes; n may be 0 with NULL pointers. Items are mostly a word or
 * two, and every wait copies one more time than a stack record would
 * (into or out of the wait block): up to 16 bytes the copy is inline, two
 * overlapping moves, instead of a call to memcpy; 8 to 16 bytes first. */
static inline void tulip__copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (__builtin_expect(n - 8 <= 8, 1)) {
        uint64_t a, b;
        __builtin_memcpy(&a, s, 8);
        __builtin_memcpy(&b, s + n - 8, 8);
        __builtin_memcpy(d, &a, 8);
        __builtin_memcpy(d + n - 8, &b, 8);
    } else if (n > 16) {
        __builtin_memcpy(d, s, n);
    } else if (n >= 4) {
        uint32_t a, b;
        __builtin_memcpy(&a, s, 4);
        __builtin_memcpy(&b, s + n - 4, 4);
        __builtin_memcpy(d, &a, 4);
        __builtin_memcpy(d + n - 4, &b, 4);
    } else if (n) {
        unsigned char a = s[0], b = s[n / 2], c = s[n - 1];
        d[0] = a;
        d[n / 2] = b;
        d[n - 1] = c;
    }
}

/* Set up op for the running task t with its n entries (ws[i].w.data,
 * .guard and .index are the caller's). Inline, like the rest of the
 * one-loop path below: a channel round trip is two parks, and their
 * calls were a third of its cost. */
static inline void tulip__xwait_init(struct tulip__xwait *op, tulip_task *t, struct tulip__xwaiter *ws, size_t n)
{
    op->task = t;
    atomic_init(&op->claimed, TULIP__X_OPEN);
    op->delivered = 0;
    op->select = 0;
    op->ws = ws;
    op->n = n;
    for (size_t i = 0; i < n; i++) {
        ws[i].op = op;
        ws[i].w.task = t;
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
 * check again. single: op has one entry (the caller knows it). */
static inline __attribute__((always_inline)) int tulip__xwait_park(struct tulip__xwait *op, uint8_t reason,
                                                                  const void *object, int single)
{
    int rc = tulip__park_nocheck(reason, object, tulip__xwait_cancel, op);
    if (atomic_load_explicit(&op->claimed, memory_order_acquire) != TULIP__X_PEER)
        return rc;
    if (__builtin_expect(!op->delivered || (!single && op->n > 1), 0))
        return tulip__xwait_park_rest(op, reason, object);
    return op->result;
}

/* A task's wait block (tulip_task.xblock) starts with the record of its
 * single waits, whose fixed fields (the task, the links between operation
 * and entry, where the item goes) are set once when the block is made;
 * after it, the single wait's item, or a select's operation, entries and
 * items. */
struct tulip__xone {
    struct tulip__xwait x;
    struct tulip__xwaiter w;
    max_align_t item[];
};

/* t's wait block with at least need bytes (its single-wait record set
 * up), or NULL (ENOMEM). */
struct tulip__xone *tulip__xblock_grow(tulip_task *t, size_t need);
static inline struct tulip__xone *tulip__xblock(tulip_task *t, size_t need)
{
    if (__builtin_expect(need <= t->xblock_size, 1))
        return t->xblock;
    return tulip__xblock_grow(t, need);
}

/* A single wait (a channel's send or recv, a queue's put, get or join) in
 * the running task's wait block: link its entry on wq inside g (entered
 * as owned says; left here) and park. copy_in: item is the source (a put
 * or send, copied into the block before linking); else the destination,
 * filled from the block when the wait ends with 0. item_size 0: nothing
 * moves (item may be NULL). Errors as the park, and -ENOMEM (nothing
 * linked). Inline: a channel's send and recv fold copy_in. */
static inline __attribute__((always_inline)) int tulip__xwait_one(struct tulip__waitq *wq, struct tulip__xguard *g,
                                                                 int owned, void *item, size_t item_size,
                                                                 int copy_in, uint8_t reason, const void *object)
{
    struct tulip__xone *b = tulip__xblock(tulip__current(), sizeof(struct tulip__xone) + item_size);
    if (__builtin_expect(!b, 0)) {
        tulip__xguard_exit(g, owned);
        return -ENOMEM;
    }
    if (copy_in)
        tulip__copy(b->item, item, item_size);
    atomic_init(&b->x.claimed, TULIP__X_OPEN);
    b->x.delivered = 0;
    b->w.guard = g;
    atomic_init(&b->w.gone, 0);
    tulip__waitq_push(wq, &b->w.w);
    tulip__xguard_exit(g, owned);
    int rc = tulip__xwait_park(&b->x, reason, object, 1);
    if (!copy_in && rc == 0)
        tulip__copy(item, b->item, item_size);
    return rc;
}

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
 * case's result, kept in the entry; the select returns the case index). */
static inline void tulip__xwait_fire(struct tulip__xwaiter *w, int result)
{
    struct tulip__xwait *op = w->op;
    tulip_task *t = op->task;
    if (__builtin_expect(!op->select && t->loop == tulip__tls.loop, 1)) {
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
