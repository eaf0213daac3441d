/* Cross-loop waits (see xwait.h for the protocol). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>

#include "xwait.h"
#include "sync_internal.h"

/* Inside w's guard. */
static void drop_entry(struct tulip__xwaiter *w)
{
    tulip__waitq_remove(&w->w);
    atomic_store_explicit(&w->gone, 1, memory_order_release);
}

/* Entries already gone are not entered again: their primitive may have
 * been freed meanwhile (a select whose other channel completed it). */
static void unlink_all(struct tulip__xwait *op)
{
    for (size_t i = 0; i < op->n; i++) {
        struct tulip__xwaiter *w = &op->ws[i];
        if (atomic_load_explicit(&w->gone, memory_order_acquire))
            continue;
        int owned = tulip__xguard_enter(w->guard);
        drop_entry(w);
        tulip__xguard_exit(w->guard, owned);
    }
}

/* The cancel hook: runs on the owner's loop while the task is parked. */
void tulip__xwait_cancel(void *ctx)
{
    struct tulip__xwait *op = ctx;
    int expected = TULIP__X_OPEN;
    if (atomic_compare_exchange_strong_explicit(&op->claimed, &expected, TULIP__X_CANCELLED,
                                                memory_order_acq_rel, memory_order_acquire))
        unlink_all(op);
    /* Else a peer claimed it first: its wake is on the way, and
     * tulip__xwait_park waits for it. */
}

int tulip__xwait_park_rest(struct tulip__xwait *op, uint8_t reason, const void *object)
{
    /* Satisfied by a peer. If a cancellation woke us first, the peer's
     * wake-up is still travelling and points at op: wait for it, without
     * interruption (it is already decided). */
    while (!op->delivered)
        tulip__park_nocheck(reason, object, NULL, NULL);
    if (op->n > 1)
        unlink_all(op);
    return op->result;
}

struct tulip__xone *tulip__xblock_grow(tulip_task *t, size_t need)
{
    struct tulip__xone *b = tulip__task_block_grow(t, need);
    if (!b)
        return NULL;
    tulip__xwait_init(&b->x, t, &b->w, 1);
    b->w.w.data = b->item;
    b->w.index = 0;
    return b;
}

int tulip__xq_live_rest(struct tulip__waitq *q)
{
    struct tulip__waiter *w;
    while ((w = tulip__waitq_first(q))) {
        struct tulip__xwaiter *x = (struct tulip__xwaiter *)w;
        if (atomic_load_explicit(&x->op->claimed, memory_order_acquire) == TULIP__X_OPEN)
            return 1;
        drop_entry(x);
    }
    return 0;
}

static void post_counted(tulip_loop *l)
{
    l->xwake_post.run = tulip__xwake_run;
    l->xwake_post.drop = NULL; /* the loop is being freed: its tasks are gone */
    tulip__post(l, &l->xwake_post);
}

void tulip__xwait_fire_rest(struct tulip__xwaiter *w, int result)
{
    struct tulip__xwait *op = w->op;
    if (op->select) {
        w->w.result = result;
        op->result = w->index;
        /* Unlink the other cases now where their guard is free (nearly
         * always, on one loop), so their channels are free to go as soon as
         * the select is done; the rest are dropped lazily as dead entries. */
        for (size_t i = 0; i < op->n; i++) {
            struct tulip__xwaiter *s = &op->ws[i];
            if (s == w || atomic_load_explicit(&s->gone, memory_order_acquire))
                continue;
            int owned;
            if (s->guard == w->guard) {
                drop_entry(s);
            } else if (tulip__xguard_try_enter(s->guard, &owned)) {
                drop_entry(s);
                tulip__xguard_exit(s->guard, owned);
            }
        }
    } else {
        op->result = result;
    }
    tulip_task *t = op->task;
    tulip_loop *l = t->loop;
    if (l == tulip__tls.loop) {
        op->delivered = 1;
        tulip__task_wake(t, op->result);
        return;
    }
    struct tulip__xwait *head = atomic_load_explicit(&l->xwake, memory_order_acquire);
    do {
        op->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&l->xwake, &head, op, memory_order_acq_rel,
                                                    memory_order_acquire));
    /* Whoever finds the list empty posts; the rest ride on that post. */
    if (!head)
        post_counted(l);
}

void tulip__xwake_run(struct tulip__post *p)
{
    tulip_loop *l = tulip__container_of(p, tulip_loop, xwake_post);
    struct tulip__xwait *op = atomic_exchange_explicit(&l->xwake, NULL, memory_order_acq_rel);
    l->xwake_posts++;
    /* Pushed LIFO: reverse so tasks wake in the order they were served. */
    struct tulip__xwait *fifo = tulip__lifo_to_fifo(op, struct tulip__xwait);
    while (fifo) {
        struct tulip__xwait *next = fifo->next;
        fifo->delivered = 1;
        l->xwake_items++;
        tulip__task_wake(fifo->task, fifo->result);
        fifo = next;
    }
}

void tulip__xwake_stats(const tulip_loop *l, uint64_t *posts, uint64_t *wakes)
{
    if (posts)
        *posts = l->xwake_posts;
    if (wakes)
        *wakes = l->xwake_items;
}
