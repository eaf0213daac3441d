/* Synchronisation between tasks of one loop: lock, event, condition,
 * semaphore, barrier, queue, channel and select.
 *
 * Shared rules:
 * - Everything is for tasks of a single loop (one thread). Calls that never
 *   wait (set, signal, release, try_*, close, shutdown) may also be made from
 *   callbacks on that loop's thread.
 * - Every call that can wait is a cancellation point, checked on entry even
 *   when it could complete at once (so a cancelled task's loop of gets ends):
 *   it returns -ECANCELED when the task or an enclosing scope is cancelled,
 *   -ETIMEDOUT when a scope deadline passed, -EPERM outside a task. A
 *   cancelled wait changed nothing: a cancelled get/recv took no item, a
 *   cancelled put/send put none, a cancelled acquire holds nothing. Once a
 *   waiter has been handed what it waited for, it owns it and succeeds even
 *   if it is cancelled before it runs again.
 * - Waiters are served in FIFO order and ownership is handed over directly
 *   (no barging): a task that arrives later cannot overtake a waiter.
 * - Small primitives are caller-allocated with _init and need no release;
 *   they must not be moved or reused while tasks wait on them. A struct not
 *   passed through _init (e.g. zeroed) gives -EINVAL, never a crash.
 * - Queues and channels are library-allocated (_new/_free). */
#ifndef TULIP_SYNC_H
#define TULIP_SYNC_H

#include <limits.h>
#include "tulip/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Lock (mutex) --------------------------------------------------------- */

/* FIFO-fair and not re-entrant; owned by a task. */
typedef struct tulip_lock { uint64_t opaque[6]; } tulip_lock;

/* Errors: -EINVAL (NULL). */
TULIP_API int tulip_lock_init(tulip_lock *l);
/* Wait until the lock is ours. Errors: -EDEADLK (the caller already holds
 * it), -EINVAL, -ECANCELED, -ETIMEDOUT, -EPERM (not in a task). */
TULIP_API int tulip_lock_acquire(tulip_lock *l);
/* Take the lock only if that needs no wait. Errors: -EAGAIN (held by
 * another task or others are queued for it), -EDEADLK (held by the
 * caller), -EINVAL, -EPERM (not in a task). */
TULIP_API int tulip_lock_try_acquire(tulip_lock *l);
/* Release; the first waiter (if any) becomes the owner at once.
 * Errors: -EPERM (the caller does not hold it: not locked, another task's,
 * or not in a task), -EINVAL. */
TULIP_API int tulip_lock_release(tulip_lock *l);
/* true if some task holds l (false also for an invalid l). */
TULIP_API bool tulip_lock_is_locked(const tulip_lock *l);

/* ---- Event ------------------------------------------------------------------ */

typedef struct tulip_event { uint64_t opaque[5]; } tulip_event;

/* Starts clear. Errors: -EINVAL. */
TULIP_API int tulip_event_init(tulip_event *e);
/* Set the flag and wake every waiter. Errors: -EINVAL. */
TULIP_API int tulip_event_set(tulip_event *e);
/* Clear the flag. Errors: -EINVAL. */
TULIP_API int tulip_event_clear(tulip_event *e);
/* Return at once if set, else wait until set. Errors: -EINVAL, -ECANCELED,
 * -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_event_wait(tulip_event *e);
/* true if set. */
TULIP_API bool tulip_event_is_set(const tulip_event *e);

/* ---- Condition variable ---------------------------------------------------- */

typedef struct tulip_cond { uint64_t opaque[5]; } tulip_cond;

/* Errors: -EINVAL. */
TULIP_API int tulip_cond_init(tulip_cond *c);
/* Atomically release l (which the caller must hold) and wait for a signal;
 * l is held again when this returns, whatever the result. Like pthread
 * cancellation, a cancelled wait still re-acquires l before returning
 * -ECANCELED/-ETIMEDOUT (that re-acquisition cannot be interrupted), so
 * unlock-on-every-path code stays correct. There are no spurious wake-ups,
 * but re-check the predicate in a loop anyway: another task may have
 * changed it before this one got the lock back.
 * Errors: -EPERM (l not held by the caller, or not in a task; l untouched),
 * -EINVAL, -ECANCELED, -ETIMEDOUT. */
TULIP_API int tulip_cond_wait(tulip_cond *c, tulip_lock *l);
/* Wake the longest waiter (no-op if none). Holding the lock is not
 * required. Errors: -EINVAL. */
TULIP_API int tulip_cond_signal(tulip_cond *c);
/* Wake every waiter. Errors: -EINVAL. */
TULIP_API int tulip_cond_broadcast(tulip_cond *c);

/* ---- Semaphore ------------------------------------------------------------- */

typedef struct tulip_sem { uint64_t opaque[7]; } tulip_sem;

/* value initial permits; max 0 = unbounded, else releasing past max is an
 * error (a bounded semaphore catches double releases).
 * Errors: -EINVAL (NULL, or value > max with max != 0). */
TULIP_API int tulip_sem_init(tulip_sem *s, size_t value, size_t max);
/* Take a permit, waiting for one. Errors: -EINVAL, -ECANCELED, -ETIMEDOUT,
 * -EPERM. */
TULIP_API int tulip_sem_acquire(tulip_sem *s);
/* Take a permit only if that needs no wait. Errors: -EAGAIN (none free, or
 * others are queued), -EINVAL. */
TULIP_API int tulip_sem_try_acquire(tulip_sem *s);
/* Give a permit back; the first waiter (if any) gets it directly.
 * Errors: -EOVERFLOW (bounded and already at max: nothing changed),
 * -EINVAL. */
TULIP_API int tulip_sem_release(tulip_sem *s);
/* Free permits now (0 for an invalid s). */
TULIP_API size_t tulip_sem_value(const tulip_sem *s);

/* ---- Barrier --------------------------------------------------------------- */

typedef struct tulip_barrier { uint64_t opaque[7]; } tulip_barrier;

/* tulip_barrier_wait's result for exactly one party per cycle (the last to
 * arrive); the others get 0. */
#define TULIP_BARRIER_SERIAL 1

/* A reusable barrier for parties tasks. Errors: -EINVAL (NULL, parties 0). */
TULIP_API int tulip_barrier_init(tulip_barrier *b, unsigned parties);
/* Wait until parties tasks are waiting, then release them all together and
 * start a new cycle. Returns TULIP_BARRIER_SERIAL for the last arrival, 0
 * for the rest. A waiter cancelled before the barrier tripped withdraws its
 * arrival: the barrier is not broken and still trips once parties tasks
 * wait together (a waiter released by the trip succeeds even if cancelled
 * afterwards). Errors: -EINVAL, -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_barrier_wait(tulip_barrier *b);
/* Tasks currently waiting. */
TULIP_API unsigned tulip_barrier_waiting(const tulip_barrier *b);

/* ---- Queue (asyncio.Queue) --------------------------------------------------- */

typedef struct tulip_queue tulip_queue;

typedef enum tulip_queue_kind {
    TULIP_QUEUE_FIFO = 0,
    TULIP_QUEUE_LIFO,
    TULIP_QUEUE_PRIORITY,   /* smallest by cmp first; equal items in put order */
} tulip_queue_kind;

/* strcmp-like order on two items (pointers into the queue's storage,
 * aligned for any type). */
typedef int (*tulip_queue_cmp)(const void *a, const void *b);

/* A queue of items of item_size bytes each (0 allowed), copied in and out
 * by value. capacity 0 = unbounded; a bounded queue allocates its storage
 * here and never allocates again. cmp is required for PRIORITY and ignored
 * otherwise. Tasks of any loop may use one queue (tulip_config.workers),
 * and the try_ calls work from any thread; a task woken from another loop
 * costs that loop one post per burst, not one per item.
 * NULL with errno: EINVAL (bad kind, PRIORITY without cmp, size overflow),
 * ENOMEM. */
TULIP_API tulip_queue *tulip_queue_new(size_t item_size, size_t capacity, tulip_queue_kind kind,
                                       tulip_queue_cmp cmp);
/* Add a copy of *item, waiting while the queue is full. Waiting putters are
 * admitted in FIFO order.
 * Errors: -ESHUTDOWN (shut down, before or while waiting: nothing was put),
 * -ENOMEM (unbounded queue could not grow), -EINVAL, -ECANCELED,
 * -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_queue_put(tulip_queue *q, const void *item);
/* Remove the next item into *item, waiting while the queue is empty.
 * After shutdown, the items still queued are returned first, then
 * -ESHUTDOWN. Errors: -ESHUTDOWN, -EINVAL, -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_queue_get(tulip_queue *q, void *item);
/* put without waiting. Errors: -EAGAIN (full), -ESHUTDOWN, -ENOMEM,
 * -EINVAL. */
TULIP_API int tulip_queue_try_put(tulip_queue *q, const void *item);
/* get without waiting. Errors: -EAGAIN (empty), -ESHUTDOWN (shut down and
 * empty), -EINVAL. */
TULIP_API int tulip_queue_try_get(tulip_queue *q, void *item);
/* Mark one item taken by get as fully processed (every successful put
 * counts one unfinished item). Errors: -EINVAL (more task_done calls than
 * items put, or bad q). */
TULIP_API int tulip_queue_task_done(tulip_queue *q);
/* Wait until every item put has been marked with task_done (returns at
 * once if none is unfinished). Errors: -EINVAL, -ECANCELED, -ETIMEDOUT,
 * -EPERM. */
TULIP_API int tulip_queue_join(tulip_queue *q);
/* Items queued now (0 for NULL). */
TULIP_API size_t tulip_queue_size(const tulip_queue *q);
/* Items put and not yet marked done (0 for NULL). */
TULIP_API size_t tulip_queue_unfinished(const tulip_queue *q);
/* Refuse further puts. Waiting putters wake with -ESHUTDOWN (their items
 * were not put). Getters first drain what is queued, then get -ESHUTDOWN;
 * waiting getters (the queue is empty) wake with -ESHUTDOWN at once. With
 * immediate, the queued items are discarded and counted as done (join
 * waiters wake if that finishes everything), so getters see -ESHUTDOWN at
 * once. Errors: -EALREADY (already shut down; an immediate call still
 * discards what is queued), -EINVAL. */
TULIP_API int tulip_queue_shutdown(tulip_queue *q, bool immediate);
/* Free q and the items in it. Errors: -EBUSY (tasks are waiting on q:
 * nothing freed; shut it down and let them go first), -EINVAL (not a
 * queue, e.g. already freed). NULL is a no-op. */
TULIP_API int tulip_queue_free(tulip_queue *q);

/* ---- Channel (Go-style) ------------------------------------------------------ */

typedef struct tulip_chan tulip_chan;

/* A channel of item_size-byte items (0 allowed). capacity 0 = unbuffered:
 * a send completes only when a receiver has taken the item. A buffered
 * channel allocates its buffer here and never allocates again.
 * Tasks of any loop may share a channel (and select on it); try_send /
 * try_recv / close work from any thread. The guarantees are the same on one
 * loop or several: FIFO per sender, exactly-once delivery even when either
 * side is cancelled, no spinning; a task woken from another loop costs that
 * loop one post per burst, not one per item.
 * NULL with errno: EINVAL (size overflow), ENOMEM. */
TULIP_API tulip_chan *tulip_chan_new(size_t item_size, size_t capacity);
/* Send a copy of *item, waiting for buffer space or (unbuffered) for a
 * receiver to take it. Errors: -EPIPE (the channel is closed, before or
 * while waiting: the item was not sent), -EINVAL, -ECANCELED, -ETIMEDOUT,
 * -EPERM. */
TULIP_API int tulip_chan_send(tulip_chan *c, const void *item);
/* Receive into *item, waiting for a sender. A closed channel still yields
 * its buffered items, then -ESHUTDOWN (end of stream). Errors: -ESHUTDOWN,
 * -EINVAL, -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_chan_recv(tulip_chan *c, void *item);
/* send without waiting. Errors: -EAGAIN (no buffer space and no waiting
 * receiver), -EPIPE, -EINVAL. */
TULIP_API int tulip_chan_try_send(tulip_chan *c, const void *item);
/* recv without waiting. Errors: -EAGAIN, -ESHUTDOWN, -EINVAL. */
TULIP_API int tulip_chan_try_recv(tulip_chan *c, void *item);
/* Close: no more sends. Waiting senders wake with -EPIPE; receivers drain
 * the buffer, then get -ESHUTDOWN. Errors: -EALREADY (already closed),
 * -EINVAL. */
TULIP_API int tulip_chan_close(tulip_chan *c);
/* Items buffered now / buffer size (0 for NULL). */
TULIP_API size_t tulip_chan_size(const tulip_chan *c);
TULIP_API size_t tulip_chan_capacity(const tulip_chan *c);
/* Free c and its buffered items. Errors: -EBUSY (tasks are waiting on c:
 * nothing freed; close it and let them go first), -EINVAL (not a
 * channel). NULL is a no-op. */
TULIP_API int tulip_chan_free(tulip_chan *c);

/* ---- Select ------------------------------------------------------------------- */

enum { TULIP_SELECT_RECV = 1, TULIP_SELECT_SEND = 2 };

/* tulip_select's result when has_default and no case was ready. */
#define TULIP_SELECT_DEFAULT INT_MAX

typedef struct tulip_select_case {
    tulip_chan *chan;
    int op;          /* TULIP_SELECT_RECV or TULIP_SELECT_SEND */
    void *item;      /* where to receive into / what to send */
    int result;      /* out, for the chosen case: 0, or -ESHUTDOWN (recv on a
                        closed, drained channel) / -EPIPE (send on a closed
                        channel) — closed channels count as ready, as in Go */
} tulip_select_case;

/* Perform exactly one of the n cases: the one that can proceed, chosen
 * uniformly at random among those ready now (so no case starves); if none
 * is ready, return TULIP_SELECT_DEFAULT when has_default, else wait for the
 * first that becomes ready. Returns the index of the completed case, whose
 * result field tells how it completed. A channel may appear in several
 * cases. Allocation-free for n <= 16.
 * Errors: -EINVAL (n == 0 without default, n > INT_MAX - 1, a NULL/invalid
 * channel, bad op, NULL item with a non-zero item size), -ENOMEM (n > 16
 * and no memory to wait), -ECANCELED, -ETIMEDOUT (no case completed),
 * -EPERM (must wait, not in a task). */
TULIP_API int tulip_select(tulip_select_case *cases, size_t n, bool has_default);
/* Reseed the random choices select makes: those of the loop running on
 * this thread (as tulip_config.seed does when the loop is made), or of
 * this thread when no loop runs on it. The same seed and the same program
 * give the same choices. Unseeded, the seed comes from the clock. */
TULIP_API void tulip_select_seed(uint64_t seed);

/* ---- Broadcast channel ---------------------------------------------------------- */

/* One sender, every receiver gets every item (Tokio's broadcast, a pub/sub
 * topic). A receiver is a subscription: it sees the items sent after it
 * subscribed, in order. Sending never waits: the channel keeps the last
 * capacity items, and a new one overwrites the oldest. A receiver that
 * falls more than capacity items behind loses the oldest ones and is told
 * how many by its next recv (the lag), which then returns the oldest item
 * still kept. So one slow receiver never holds up the sender or the other
 * receivers; a consumer that must see every item needs capacity for its
 * worst backlog, or a tulip_chan / tulip_queue of its own (those block the
 * sender instead). The channel and its receivers belong to the tasks of
 * one loop. Sending and receiving allocate nothing. */
typedef struct tulip_broadcast tulip_broadcast;
typedef struct tulip_broadcast_receiver tulip_broadcast_receiver;

/* A channel of item_size-byte items (0 allowed: events without a payload)
 * keeping the last capacity (>= 1) of them; the ring is allocated here.
 * NULL with errno: EINVAL (capacity 0, size overflow), ENOMEM. */
TULIP_API tulip_broadcast *tulip_broadcast_new(size_t item_size, size_t capacity);
/* Subscribe: a receiver (library-allocated; release it with
 * tulip_broadcast_unsubscribe) whose first item is the next one sent.
 * Subscribing to a closed channel is allowed: its recv returns -ESHUTDOWN.
 * NULL with errno: EINVAL, ENOMEM. */
TULIP_API tulip_broadcast_receiver *tulip_broadcast_subscribe(tulip_broadcast *b);
/* Send a copy of *item to every receiver subscribed now; never waits (the
 * oldest item is overwritten when the ring is full). Returns how many
 * receivers it was sent to (0: nobody subscribed, the item is dropped).
 * Errors: -EPIPE (closed), -EINVAL. */
TULIP_API int tulip_broadcast_send(tulip_broadcast *b, const void *item);
/* Receive r's next item into *item, waiting while r has taken everything.
 * Waiting receivers of one channel are woken in FIFO order. Returns the
 * lag: 0, or how many items r missed (overwritten before it took them)
 * just before this one. After close, r still gets what is kept for it,
 * then -ESHUTDOWN. Errors: -ESHUTDOWN, -EBUSY (another task is already
 * waiting on r), -EINVAL, -ECANCELED, -ETIMEDOUT (nothing taken), -EPERM
 * (must wait, not in a task). */
TULIP_API int tulip_broadcast_recv(tulip_broadcast_receiver *r, void *item);
/* recv without waiting. Errors: -EAGAIN (nothing new), -ESHUTDOWN,
 * -EINVAL. */
TULIP_API int tulip_broadcast_try_recv(tulip_broadcast_receiver *r, void *item);
/* Items r can take now without waiting (at most the capacity; 0 for NULL). */
TULIP_API size_t tulip_broadcast_buffered(const tulip_broadcast_receiver *r);
/* Release r; the channel stops keeping items for it. Errors: -EBUSY (a
 * task is waiting on r: nothing done), -EINVAL. NULL is a no-op. */
TULIP_API int tulip_broadcast_unsubscribe(tulip_broadcast_receiver *r);
/* Close: no more sends. Receivers take what is kept for them, then get
 * -ESHUTDOWN; waiting ones wake with it at once. Errors: -EALREADY,
 * -EINVAL. */
TULIP_API int tulip_broadcast_close(tulip_broadcast *b);
/* The ring's size / receivers subscribed now (0 for NULL). */
TULIP_API size_t tulip_broadcast_capacity(const tulip_broadcast *b);
TULIP_API size_t tulip_broadcast_receivers(const tulip_broadcast *b);
/* Free b and its ring. Errors: -EBUSY (receivers are still subscribed:
 * nothing freed; unsubscribe them first), -EINVAL. NULL is a no-op. */
TULIP_API int tulip_broadcast_free(tulip_broadcast *b);

#ifdef __cplusplus
}
#endif
#endif
