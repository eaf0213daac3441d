/* Broadcast channel: one ring of the last capacity items, stamped with a
 * running sequence number, and one cursor per receiver (the sequence number
 * of the next item it will take). The sender never waits: a new item
 * overwrites the oldest, and a receiver whose cursor fell behind the ring
 * learns how many items it missed from its next recv (Tokio's policy).
 * Nothing is copied per receiver and sending allocates nothing.
 *
 * A receiver parks only when it has taken everything (cursor == tail). A
 * send hands the item straight to each parked receiver (copied into the
 * receiver, its cursor advanced) before waking it, so the woken receiver
 * returns exactly that item whatever is sent before it runs, and since the
 * parking protocol never runs a cancel hook after a wake, a cancelled recv
 * took nothing and a woken one lost nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "sync_internal.h"
#include "../common/fault.h"

#define BROADCAST_MAGIC 0xb40adca5u
#define RECEIVER_MAGIC 0x4ece17e4u

struct tulip_broadcast {
    uint32_t magic;
    uint8_t closed;
    size_t item_size;
    size_t capacity;
    uint64_t tail;                 /* sequence number of the next item */
    unsigned char *buf;            /* item seq lives at seq % capacity */
    size_t receivers;
    struct tulip__waitq waiters;   /* receivers that took everything */
};

struct tulip_broadcast_receiver {
    uint32_t magic;
    tulip_broadcast *b;
    uint64_t next;                 /* sequence number of its next item */
    struct tulip__waiter w;        /* w.data: this receiver */
    /* Where send copies the item for a parked recv: in the receiver, never
     * in the waiting task's frames (docs/DESIGN.md section 11). */
    max_align_t item[];
};

static tulip_broadcast *B(tulip_broadcast *b)
{
    return b && b->magic == BROADCAST_MAGIC ? b : NULL;
}

static tulip_broadcast_receiver *R(tulip_broadcast_receiver *r)
{
    return r && r->magic == RECEIVER_MAGIC ? r : NULL;
}

tulip_broadcast *tulip_broadcast_new(size_t item_size, size_t capacity)
{
    if (capacity == 0 || (item_size && capacity > SIZE_MAX / item_size)) {
        errno = EINVAL;
        return NULL;
    }
    tulip_broadcast *b = tulip__calloc(1, sizeof *b);
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    if (item_size) {
        b->buf = tulip__malloc(item_size * capacity);
        if (!b->buf) {
            free(b);
            errno = ENOMEM;
            return NULL;
        }
    }
    b->magic = BROADCAST_MAGIC;
    b->item_size = item_size;
    b->capacity = capacity;
    return b;
}

static unsigned char *slot(tulip_broadcast *b, uint64_t seq)
{
    return b->buf ? b->buf + (size_t)(seq % b->capacity) * b->item_size : NULL;
}

/* The oldest sequence number still in the ring. */
static uint64_t oldest(const tulip_broadcast *b)
{
    return b->tail > b->capacity ? b->tail - b->capacity : 0;
}

tulip_broadcast_receiver *tulip_broadcast_subscribe(tulip_broadcast *b)
{
    if (!B(b)) {
        errno = EINVAL;
        return NULL;
    }
    tulip_broadcast_receiver *r = tulip__calloc(1, sizeof *r + b->item_size);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->magic = RECEIVER_MAGIC;
    r->b = b;
    r->next = b->tail; /* from now on: nothing sent before */
    b->receivers++;
    return r;
}

int tulip_broadcast_send(tulip_broadcast *b, const void *item)
{
    if (!B(b) || (!item && b->item_size))
        return -EINVAL;
    if (b->closed)
        return -EPIPE;
    if (!b->receivers)
        return 0; /* nobody now, and later subscribers start after it */
    uint64_t seq = b->tail++;
    tulip__copy(slot(b, seq), item, b->item_size);
    /* Parked receivers had taken everything: this item is their next. */
    struct tulip__waiter *w;
    while ((w = tulip__waitq_pop(&b->waiters))) {
        tulip_broadcast_receiver *r = w->data;
        tulip__copy(r->item, item, b->item_size);
        r->next = seq + 1;
        w->result = 0;
        tulip__task_wake(w->task, 0);
    }
    return b->receivers > INT_MAX ? INT_MAX : (int)b->receivers;
}

/* Take the next item now: its lag (>= 0), -ESHUTDOWN, or -EAGAIN. */
static int recv_now(tulip_broadcast_receiver *r, void *item)
{
    tulip_broadcast *b = r->b;
    uint64_t missed = 0, first = oldest(b);
    if (r->next < first) {
        missed = first - r->next;
        r->next = first;
    }
    if (r->next < b->tail) {
        tulip__copy(item, slot(b, r->next), b->item_size);
        r->next++;
        return missed > INT_MAX ? INT_MAX : (int)missed;
    }
    return b->closed ? -ESHUTDOWN : -EAGAIN;
}

static int check(tulip_broadcast_receiver *r, const void *item)
{
    if (!R(r) || (!item && r->b->item_size))
        return -EINVAL;
    return 0;
}

int tulip_broadcast_recv(tulip_broadcast_receiver *r, void *item)
{
    int rc = check(r, item);
    if (rc)
        return rc;
    if ((rc = tulip__wait_enter(NULL)))
        return rc;
    rc = recv_now(r, item);
    if (rc != -EAGAIN)
        return rc;
    if (r->w.q)
        return -EBUSY; /* another task is already waiting on r */
    r->w.data = r;
    rc = tulip__waitq_wait(&r->b->waiters, &r->w, TULIP__WAIT_CHAN, r->b);
    /* 0: handed an item by send (it waited caught up: no lag);
     * -ESHUTDOWN: closed. */
    if (rc == 0)
        tulip__copy(item, r->item, r->b->item_size);
    return rc;
}

int tulip_broadcast_try_recv(tulip_broadcast_receiver *r, void *item)
{
    int rc = check(r, item);
    return rc ? rc : recv_now(r, item);
}

size_t tulip_broadcast_buffered(const tulip_broadcast_receiver *r)
{
    if (!r || r->magic != RECEIVER_MAGIC)
        return 0;
    uint64_t first = oldest(r->b), from = r->next > first ? r->next : first;
    return (size_t)(r->b->tail - from);
}

int tulip_broadcast_unsubscribe(tulip_broadcast_receiver *r)
{
    if (!r)
        return 0;
    if (!R(r))
        return -EINVAL;
    if (r->w.q)
        return -EBUSY;
    r->b->receivers--;
    r->magic = 0;
    free(r);
    return 0;
}

int tulip_broadcast_close(tulip_broadcast *b)
{
    if (!B(b))
        return -EINVAL;
    if (b->closed)
        return -EALREADY;
    b->closed = 1;
    /* Parked receivers have taken everything: they are at the end. */
    tulip__waitq_wake_all(&b->waiters, -ESHUTDOWN);
    return 0;
}

size_t tulip_broadcast_capacity(const tulip_broadcast *b)
{
    return b && b->magic == BROADCAST_MAGIC ? b->capacity : 0;
}

size_t tulip_broadcast_receivers(const tulip_broadcast *b)
{
    return b && b->magic == BROADCAST_MAGIC ? b->receivers : 0;
}

int tulip_broadcast_free(tulip_broadcast *b)
{
    if (!b)
        return 0;
    if (!B(b))
        return -EINVAL;
    if (b->receivers)
        return -EBUSY;
    b->magic = 0;
    free(b->buf);
    free(b);
    return 0;
}
