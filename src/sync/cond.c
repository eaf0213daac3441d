/* Condition variable. The waiter is queued on the condition before the
 * lock is released, and nothing else runs in between (one thread, no
 * preemption), so a signal sent after the release can never be missed. */
#define _GNU_SOURCE
#include <errno.h>

#include "sync_internal.h"

struct tulip__cond {
    uint32_t magic;
    struct tulip__waitq waiters;
};

TULIP__FITS_STORAGE(struct tulip__cond, tulip_cond);

static struct tulip__cond *C(tulip_cond *pc)
{
    return tulip__sync_of(pc, TULIP__COND_MAGIC);
}

int tulip_cond_init(tulip_cond *pc)
{
    if (!pc)
        return -EINVAL;
    *(struct tulip__cond *)(void *)pc = (struct tulip__cond){ .magic = TULIP__COND_MAGIC };
    return 0;
}

static void unlink_waiter(void *w)
{
    tulip__waitq_remove(w);
}

int tulip_cond_wait(tulip_cond *pc, tulip_lock *pl)
{
    struct tulip__cond *c = C(pc);
    struct tulip__lock *l = tulip__lock_of(pl);
    if (!c || !l)
        return -EINVAL;
    tulip_task *self = tulip__current();
    if (!self || l->owner != self)
        return -EPERM;
    /* Already cancelled: return holding the lock, as after a wait. */
    int st = tulip__checkpoint_status(self);
    if (st)
        return st;
    /* The task's record, never its stack (docs/DESIGN.md section 11); it
     * is off the queue again before the lock's wait below reuses it. */
    struct tulip__waiter *w = &self->wait_rec.w;
    w->task = self;
    tulip__waitq_push(&c->waiters, w);
    tulip__lock_release(l);
    int rc = tulip__park_nocheck(TULIP__WAIT_COND, c, unlink_waiter, w);
    tulip__lock_acquire_uninterruptible(l);
    return rc;
}

int tulip_cond_signal(tulip_cond *pc)
{
    struct tulip__cond *c = C(pc);
    if (!c)
        return -EINVAL;
    tulip__waitq_wake_one(&c->waiters, 0);
    return 0;
}

int tulip_cond_broadcast(tulip_cond *pc)
{
    struct tulip__cond *c = C(pc);
    if (!c)
        return -EINVAL;
    tulip__waitq_wake_all(&c->waiters, 0);
    return 0;
}
