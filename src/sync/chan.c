/* Channels, Go-style, usable from tasks of any loop (and try_ calls from
 * any thread). A buffered channel is a ring of capacity items; an
 * unbuffered one has no storage and every transfer is a rendezvous: the
 * item is copied from the one that did not wait to the wait block of the
 * parked one (or from it), and the parked one is woken already satisfied.
 *
 * Same object on one loop and across loops, rather than a separate
 * cross-loop type: a program that moves a task to another loop must not
 * have to change the channels it talks through, and select must be able to
 * mix them. On one loop this costs nearly nothing: the guard (xguard.h)
 * takes no lock while a single thread uses the channel, and becomes a
 * mutex the first time another thread comes.
 *
 * Parked operations are claimed exactly once, by a peer (who then moves the
 * item) or by cancellation (which moved nothing): see xwait.h. A peer on
 * another loop wakes the parked task through that loop's wake list, one
 * post per burst. Waiters may belong to a select parked on several
 * channels; the first channel to claim the select completes it, and its
 * entries elsewhere are dropped as dead. */
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
    tulip__xguard_init(&c->g);
    c->magic = TULIP__CHAN_MAGIC;
    c->item_size = item_size;
    c->capacity = capacity;
    return c;
}

static unsigned char *slot(tulip_chan *c, size_t i)
{
    return c->buf ? c->buf + (i % c->capacity) * c->item_size : NULL;
}

int tulip__chan_recv_now(tulip_chan *c, void *item)
{
    struct tulip__xwaiter *s;
    if (c->count > 0) {
        tulip__copy(item, slot(c, c->head), c->item_size);
        c->head = (c->head + 1) % c->capacity;
        c->count--;
        /* Senders wait only on a full buffer: refill the freed slot. */
        if ((s = tulip__xq_pop(&c->sendq))) {
            tulip__copy(slot(c, c->head + c->count), s->w.data, c->item_size);
            c->count++;
            tulip__xwait_fire(s, 0);
        }
        return 0;
    }
    if ((s = tulip__xq_pop(&c->sendq))) {
        tulip__copy(item, s->w.data, c->item_size);
        tulip__xwait_fire(s, 0);
        return 0;
    }
    return c->closed ? -ESHUTDOWN : -EAGAIN;
}

int tulip__chan_send_now(tulip_chan *c, const void *item)
{
    if (c->closed)
        return -EPIPE;
    /* Receivers wait only on an empty buffer: hand the item over. */
    struct tulip__xwaiter *r = tulip__xq_pop(&c->recvq);
    if (r) {
        tulip__copy(r->w.data, item, c->item_size);
        tulip__xwait_fire(r, 0);
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
    return tulip__wait_enter(NULL);
}

/* Try now inside the guard; else link an entry on q and park. Inlined
 * into send and recv, so each is one straight function. */
static inline __attribute__((always_inline)) int op(tulip_chan *c, void *item, int send)
{
    int rc = enter(c, item);
    if (rc)
        return rc;
    int owned = tulip__xguard_enter(&c->g);
    rc = send ? tulip__chan_send_now(c, item) : tulip__chan_recv_now(c, item);
    if (rc != -EAGAIN) {
        tulip__xguard_exit(&c->g, owned);
        return rc;
    }
    return tulip__xwait_one(send ? &c->sendq : &c->recvq, &c->g, owned, item, c->item_size, send,
                            TULIP__WAIT_CHAN, c);
}

int tulip_chan_send(tulip_chan *c, const void *item)
{
    return op(c, (void *)item, 1);
}

int tulip_chan_recv(tulip_chan *c, void *item)
{
    return op(c, item, 0);
}

int tulip_chan_try_send(tulip_chan *c, const void *item)
{
    int rc = check(c, item);
    if (rc)
        return rc;
    int owned = tulip__xguard_enter(&c->g);
    rc = tulip__chan_send_now(c, item);
    tulip__xguard_exit(&c->g, owned);
    return rc;
}

int tulip_chan_try_recv(tulip_chan *c, void *item)
{
    int rc = check(c, item);
    if (rc)
        return rc;
    int owned = tulip__xguard_enter(&c->g);
    rc = tulip__chan_recv_now(c, item);
    tulip__xguard_exit(&c->g, owned);
    return rc;
}

int tulip_chan_close(tulip_chan *c)
{
    if (!tulip__chan_valid(c))
        return -EINVAL;
    int owned = tulip__xguard_enter(&c->g);
    if (c->closed) {
        tulip__xguard_exit(&c->g, owned);
        return -EALREADY;
    }
    c->closed = 1;
    struct tulip__xwaiter *w;
    while ((w = tulip__xq_pop(&c->recvq)))
        tulip__xwait_fire(w, -ESHUTDOWN);
    while ((w = tulip__xq_pop(&c->sendq)))
        tulip__xwait_fire(w, -EPIPE);
    tulip__xguard_exit(&c->g, owned);
    return 0;
}

size_t tulip_chan_size(const tulip_chan *c)
{
    if (!c || c->magic != TULIP__CHAN_MAGIC)
        return 0;
    tulip_chan *m = (tulip_chan *)c;
    int owned = tulip__xguard_enter(&m->g);
    size_t n = m->count;
    tulip__xguard_exit(&m->g, owned);
    return n;
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
    int owned = tulip__xguard_enter(&c->g);
    int busy = tulip__xq_live(&c->recvq) || tulip__xq_live(&c->sendq) || c->recvq.n || c->sendq.n;
    tulip__xguard_exit(&c->g, owned);
    if (busy)
        return -EBUSY;
    c->magic = 0;
    tulip__xguard_fini(&c->g);
    free(c->buf);
    free(c);
    return 0;
}
