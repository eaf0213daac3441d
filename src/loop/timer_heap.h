/* A 4-ary min-heap of timers ordered by (deadline, sequence). Each timer
 * knows its slot, so cancelling is an O(log n) removal rather than lazy
 * deletion: no sweep is ever needed and a million pending timers cost one
 * pointer each in the heap array. 4-ary because it halves the depth of a
 * binary heap and the four children share a cache line.
 *
 * Moving a pending timer later leaves the heap alone: it stays filed where
 * it was and only its deadline changes. When it comes up there, it is
 * filed again at its deadline instead of firing (tulip__heap_pop). A
 * deadline pushed back over and over (a connection's idle timeout, renewed
 * by every request) then costs a few stores per move and one refiling per
 * old deadline reached, instead of a removal and an insertion per move.
 * Moving a timer earlier than where it is filed moves it at once, so
 * nothing ever fires late. */
#ifndef TULIP_TIMER_HEAP_H
#define TULIP_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define TULIP__NOT_IN_HEAP UINT32_MAX

struct tulip__timer {
    int64_t when;                 /* where it is filed in the heap: <= due */
    int64_t due;                  /* its deadline (INT64_MAX: never, once moved there) */
    uint64_t seq;                 /* FIFO among equal deadlines: its ticket where filed */
    uint32_t slot;                /* index in the heap or TULIP__NOT_IN_HEAP */
    /* 0, or moved since it was filed: its ticket as of the move is then
     * seq + moved (seq stays while it is filed: the heap orders it by
     * that). 32 bits fill the padding after slot; a move whose ticket
     * would not fit is made at once instead. */
    uint32_t moved;
    void (*fire)(struct tulip__timer *);
};

struct tulip__timer_heap {
    struct tulip__timer **items;
    size_t n, cap;
    uint64_t next_seq;
};

/* (due is set by every push: a spawn stores no more than it must.) */
static inline void tulip__timer_init(struct tulip__timer *t, void (*fire)(struct tulip__timer *))
{
    t->when = 0;
    t->seq = 0;
    t->slot = TULIP__NOT_IN_HEAP;
    t->moved = 0;
    t->fire = fire;
}

/* In the heap: due to fire, or moved and waiting to come up where it was
 * filed (also when moved to INT64_MAX: it is dropped then). */
static inline int tulip__timer_pending(const struct tulip__timer *t)
{
    return t->slot != TULIP__NOT_IN_HEAP;
}

/* The lazy move (see above): a pending timer moved to no earlier than
 * where it is filed only changes itself, taking its ticket now as a fresh
 * push would, so FIFO among equal deadlines still follows the order they
 * were set. False when that does not apply (not pending, earlier, or a
 * ticket too far to keep in 32 bits): tulip__heap_push then moves it.
 * Inline, so a deadline pushed back costs a few stores at the caller. */
static inline int tulip__heap_move_later(struct tulip__timer_heap *h, struct tulip__timer *t, int64_t when)
{
    if (!tulip__timer_pending(t) || when < t->when || h->next_seq - t->seq > UINT32_MAX)
        return 0;
    t->due = when;
    t->moved = (uint32_t)(h->next_seq++ - t->seq);
    return 1;
}

/* Set t to fire at when; a pending timer is moved (see above). FIFO among
 * equal deadlines follows the order of the pushes, moves included. Moving
 * a pending timer to INT64_MAX stops it (it is dropped when it comes up);
 * pushing a stopped one there files it as any deadline. Errors: -ENOMEM
 * (the array could not grow; t is not pending). */
int tulip__heap_push(struct tulip__timer_heap *h, struct tulip__timer *t, int64_t when);
void tulip__heap_remove(struct tulip__timer_heap *h, struct tulip__timer *t);
/* The next timer to come up: its when is the earliest any deadline may be
 * (never later than its own due). */
static inline struct tulip__timer *tulip__heap_top(const struct tulip__timer_heap *h)
{
    return h->n ? h->items[0] : NULL;
}
/* Take the top timer out (the heap is not empty; the caller compared its
 * when with the time) and return it, to be fired; or NULL when it was
 * moved since it was filed: it is filed again at its deadline (or dropped,
 * moved to INT64_MAX), and the top is to be looked at again. */
struct tulip__timer *tulip__heap_pop(struct tulip__timer_heap *h);
void tulip__heap_fini(struct tulip__timer_heap *h);

#endif
