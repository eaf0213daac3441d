/* A 4-ary min-heap of timers ordered by (deadline, sequence). Each timer
 * knows its slot, so cancelling is an O(log n) removal rather than lazy
 * deletion: no sweep is ever needed and a million pending timers cost one
 * pointer each in the heap array. 4-ary because it halves the depth of a
 * binary heap and the four children share a cache line. */
#ifndef TULIP_TIMER_HEAP_H
#define TULIP_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define TULIP__NOT_IN_HEAP UINT32_MAX

struct tulip__timer {
    int64_t when;
    uint64_t seq;                 /* FIFO among equal deadlines */
    uint32_t slot;                /* index in the heap or TULIP__NOT_IN_HEAP */
    void (*fire)(struct tulip__timer *);
};

struct tulip__timer_heap {
    struct tulip__timer **items;
    size_t n, cap;
    uint64_t next_seq;
};

static inline void tulip__timer_init(struct tulip__timer *t, void (*fire)(struct tulip__timer *))
{
    t->when = 0;
    t->seq = 0;
    t->slot = TULIP__NOT_IN_HEAP;
    t->fire = fire;
}

static inline int tulip__timer_pending(const struct tulip__timer *t)
{
    return t->slot != TULIP__NOT_IN_HEAP;
}

/* Errors: -ENOMEM (the array could not grow; t is not inserted). */
int tulip__heap_push(struct tulip__timer_heap *h, struct tulip__timer *t, int64_t when);
void tulip__heap_remove(struct tulip__timer_heap *h, struct tulip__timer *t);
static inline struct tulip__timer *tulip__heap_top(const struct tulip__timer_heap *h)
{
    return h->n ? h->items[0] : NULL;
}
void tulip__heap_fini(struct tulip__timer_heap *h);

#endif
