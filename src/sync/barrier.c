/* Barrier. A waiter cancelled before the trip withdraws its arrival
 * instead of breaking the barrier (Python's BrokenBarrierError): the
 * others keep waiting and the barrier trips when parties tasks are there
 * together, which is what a group that replaces a cancelled worker wants.
 * The cancel hook runs only for a wait not yet satisfied, so it never
 * withdraws an arrival that already counted in a trip. */
#define _GNU_SOURCE
#include <errno.h>

#include "sync_internal.h"

struct tulip__barrier {
    uint32_t magic;
    unsigned parties;
    unsigned arrived;
    uint64_t cycles;
    struct tulip__waitq waiters;
};

TULIP__FITS_STORAGE(struct tulip__barrier, tulip_barrier);

static struct tulip__barrier *B(const tulip_barrier *pb)
{
    return tulip__sync_of(pb, TULIP__BARRIER_MAGIC);
}

int tulip_barrier_init(tulip_barrier *pb, unsigned parties)
{
    if (!pb || parties == 0)
        return -EINVAL;
    *(struct tulip__barrier *)(void *)pb = (struct tulip__barrier){ .magic = TULIP__BARRIER_MAGIC, .parties = parties };
    return 0;
}

static void withdraw(void *ctx)
{
    struct tulip__waiter *w = ctx;
    struct tulip__barrier *b = w->data;
    tulip__waitq_remove(w);
    b->arrived--;
}

int tulip_barrier_wait(tulip_barrier *pb)
{
    struct tulip__barrier *b = B(pb);
    if (!b)
        return -EINVAL;
    tulip_task *self;
    int st = tulip__wait_enter(&self);
    if (st)
        return st;
    if (++b->arrived == b->parties) {
        b->arrived = 0;
        b->cycles++;
        tulip__waitq_wake_all(&b->waiters, 0);
        return TULIP_BARRIER_SERIAL;
    }
    struct tulip__waiter *w = &self->wait_rec.w; /* never on the stack (docs/DESIGN.md section 11) */
    w->task = self;
    w->data = b;
    tulip__waitq_push(&b->waiters, w);
    int rc = tulip__park_nocheck(TULIP__WAIT_BARRIER, b, withdraw, w);
    tulip__keep_frame();
    return rc;
}

unsigned tulip_barrier_waiting(const tulip_barrier *pb)
{
    const struct tulip__barrier *b = B(pb);
    return b ? b->arrived : 0;
}
