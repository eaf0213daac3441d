/* Channels, Go-style. A buffered channel is a ring of capacity items; an
 * unbuffered one has no storage and every transfer is a rendezvous: the
 * item is copied straight from the sender's buffer to the receiver's while
 * one of them is parked, and the parked one is woken already satisfied.
 * Because the parking protocol never runs a cancel hook after a wake, a
 * parked sender whose item was taken always returns 0 and a parked
 * receiver that was given an item always returns it.
 *
 * Waiters may belong to a select parked on several channels; firing one
 * unlinks its siblings from every other channel, so exactly one case of a
 * select ever completes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "sync_internal.h"
#include "../common/fault.h"

tulip_chan *tulip_chan_new(size_t item_size, size_t capacity)
{
    if (item_size && capacity > SIZE_MAX / item_size) {
        errno = EINVAL;
        return NULL;
    }
    tulip_chan *c = tulip__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (item_size && capacity) {
        c->buf = tulip__malloc(item_size * capacity);
        if (!c->buf) {
            free(c);
            errno = ENOMEM;
            return NULL;
        }
    }
    c->magic = TULIP__CHAN_MAGIC;
    c->item_size = item_size;
    c->capacity = capacity;
    return c;
}

static unsigned char *slot(tulip_chan *c, size_t i)
{
    return c->buf ? c->buf + (i % c->capacity) * c->item_size : NULL;
}

/* Complete the wait of w (already unlinked from its queue) with result. */
static void fire(struct tulip__chan_waiter *w, int result)
{
    struct tulip__select *s = w->sel;
    if (!s) {
        w->w.result = result;
        tulip__task_wake(w->w.task, result);
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        tulip__waitq_remove(&s->ws[i].w);
    s->cases[w->index].result = result;
    tulip__task_wake(w->w.task, w->index);
}

static struct tulip__chan_waiter *pop(struct tulip__waitq *q)
{
    return (struct tulip__chan_waiter *)tulip__waitq_pop(q);
}

int tulip__chan_recv_ready(const tulip_chan *c)
{
    return c->count > 0 || c->sendq.n > 0 || c->closed;
}

int tulip__chan_send_ready(const tulip_chan *c)
{
    return c->closed || c->recvq.n > 0 || c->count < c->capacity;
}

int tulip__chan_recv_now(tulip_chan *c, void *item)
{
    struct tulip__chan_waiter *s;
    if (c->count > 0) {
        tulip__copy(item, slot(c, c->head), c->item_size);
        c->head = (c->head + 1) % c->capacity;
        c->count--;
        /* Senders wait only on a full buffer: refill the freed slot. */
        if ((s = pop(&c->sendq))) {
            tulip__copy(slot(c, c->head + c->count), s->w.data, c->item_size);
            c->count++;
            fire(s, 0);
        }
        return 0;
    }
    if ((s = pop(&c->sendq))) {
        tulip__copy(item, s->w.data, c->item_size);
        fire(s, 0);
        return 0;
    }
    return c->closed ? -ESHUTDOWN : -EAGAIN;
}

int tulip__chan_send_now(tulip_chan *c, const void *item)
{
    if (c->closed)
        return -EPIPE;
    /* Receivers wait only on an empty buffer: hand the item over. */
    struct tulip__chan_waiter *r = pop(&c->recvq);
    if (r) {
        tulip__copy(r->w.data, item, c->item_size);
        fire(r, 0);
        return 0;
    }
    if (c->count < c->capacity) {
        tulip__copy(slot(c, c->head + c->count), item, c->item_size);
        c->count++;
        return 0;
    }
    return -EAGAIN;
}

static int check(tulip_chan *c, const void *item)
{
    if (!tulip__chan_valid(c) || (!item && c->item_size))
        return -EINVAL;
    return 0;
}

/* Checks shared by send and recv: 0 to go on, else the error. */
static int enter(tulip_chan *c, const void *item)
{
    int rc = check(c, item);
    if (rc)
        return rc;
    tulip_task *self = tulip__current();
    if (!self)
        return -EPERM;
    return tulip__checkpoint_status(self);
}

int tulip_chan_send(tulip_chan *c, const void *item)
{
    int rc = enter(c, item);
    if (rc)
        return rc;
    rc = tulip__chan_send_now(c, item);
    if (rc != -EAGAIN)
        return rc;
    struct tulip__chan_waiter w = { .sel = NULL };
    w.w.data = (void *)item;
    return tulip__waitq_wait(&c->sendq, &w.w, TULIP__WAIT_CHAN, c);
}

int tulip_chan_recv(tulip_chan *c, void *item)
{
    int rc = enter(c, item);
    if (rc)
        return rc;
    rc = tulip__chan_recv_now(c, item);
    if (rc != -EAGAIN)
        return rc;
    struct tulip__chan_waiter w = { .sel = NULL };
    w.w.data = item;
    return tulip__waitq_wait(&c->recvq, &w.w, TULIP__WAIT_CHAN, c);
}

int tulip_chan_try_send(tulip_chan *c, const void *item)
{
    int rc = check(c, item);
    return rc ? rc : tulip__chan_send_now(c, item);
}

int tulip_chan_try_recv(tulip_chan *c, void *item)
{
    int rc = check(c, item);
    return rc ? rc : tulip__chan_recv_now(c, item);
}

int tulip_chan_close(tulip_chan *c)
{
    if (!tulip__chan_valid(c))
        return -EINVAL;
    if (c->closed)
        return -EALREADY;
    c->closed = 1;
    struct tulip__chan_waiter *w;
    while ((w = pop(&c->recvq)))
        fire(w, -ESHUTDOWN);
    while ((w = pop(&c->sendq)))
        fire(w, -EPIPE);
    return 0;
}

size_t tulip_chan_size(const tulip_chan *c)
{
    return c && c->magic == TULIP__CHAN_MAGIC ? c->count : 0;
}

size_t tulip_chan_capacity(const tulip_chan *c)
{
    return c && c->magic == TULIP__CHAN_MAGIC ? c->capacity : 0;
}

int tulip_chan_free(tulip_chan *c)
{
    if (!c)
        return 0;
    if (!tulip__chan_valid(c))
        return -EINVAL;
    if (c->recvq.n || c->sendq.n)
        return -EBUSY;
    c->magic = 0;
    free(c->buf);
    free(c);
    return 0;
}
