#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include "timer_heap.h"
#include "../common/grow.h"

static inline int before(const struct tulip__timer *a, const struct tulip__timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static inline void place(struct tulip__timer_heap *h, size_t i, struct tulip__timer *t)
{
    h->items[i] = t;
    t->slot = (uint32_t)i;
}

static void sift_up(struct tulip__timer_heap *h, size_t i, struct tulip__timer *t)
{
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (!before(t, h->items[parent]))
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct tulip__timer_heap *h, size_t i, struct tulip__timer *t)
{
    for (;;) {
        size_t first = 4 * i + 1;
        if (first >= h->n)
            break;
        size_t best = first;
        size_t end = first + 4 < h->n ? first + 4 : h->n;
        for (size_t c = first + 1; c < end; c++)
            if (before(h->items[c], h->items[best]))
                best = c;
        if (!before(h->items[best], t))
            break;
        place(h, i, h->items[best]);
        i = best;
    }
    place(h, i, t);
}

int tulip__heap_push(struct tulip__timer_heap *h, struct tulip__timer *t, int64_t when)
{
    if (tulip__timer_pending(t)) {
        if (tulip__heap_move_later(h, t, when))
            return 0;
        tulip__heap_remove(h, t);
        if (when == INT64_MAX)
            return 0; /* moved to never: stopped, as the lazy path ends */
    }
    if (h->n == h->cap && tulip__grow(&h->items, &h->cap, h->n + 1, 64, SIZE_MAX, sizeof *h->items) < 0)
        return -ENOMEM;
    t->when = t->due = when;
    t->seq = h->next_seq++; /* moved is 0 while not pending */
    sift_up(h, h->n++, t);
    return 0;
}

void tulip__heap_remove(struct tulip__timer_heap *h, struct tulip__timer *t)
{
    size_t i = t->slot;
    if (i == TULIP__NOT_IN_HEAP)
        return;
    t->slot = TULIP__NOT_IN_HEAP;
    t->moved = 0;
    struct tulip__timer *last = h->items[--h->n];
    if (last == t)
        return;
    if (i > 0 && before(last, h->items[(i - 1) / 4]))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

/* Filed early and moved later since: file it again at its deadline, with
 * the ticket of its last move, from where it is (its place only grew, so
 * it can only go down). If that is due as well it comes up again in the
 * caller's loop, in deadline order. */
__attribute__((noinline)) static void refile(struct tulip__timer_heap *h, struct tulip__timer *t)
{
    t->seq += t->moved;
    t->moved = 0;
    if (t->due == INT64_MAX) {
        tulip__heap_remove(h, t); /* moved to never: stopped */
        return;
    }
    t->when = t->due;
    sift_down(h, 0, t);
}

struct tulip__timer *tulip__heap_pop(struct tulip__timer_heap *h)
{
    struct tulip__timer *t = h->items[0];
    if (__builtin_expect(t->moved != 0, 0)) {
        refile(h, t);
        return NULL;
    }
    /* The top's removal: what comes last goes down from the root. */
    t->slot = TULIP__NOT_IN_HEAP;
    struct tulip__timer *last = h->items[--h->n];
    if (last != t)
        sift_down(h, 0, last);
    return t;
}

void tulip__heap_fini(struct tulip__timer_heap *h)
{
    /* Entries may point into memory already released (tasks freed with the
     * loop), so they are not touched. */
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}
