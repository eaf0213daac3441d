/* Lock: FIFO-fair mutex for tasks. release hands ownership straight to the
 * first waiter instead of freeing the lock and letting whoever runs next
 * grab it, so a task that keeps re-acquiring cannot starve the queue (the
 * barging that makes plain mutexes unfair). */
#define _GNU_SOURCE
#include <errno.h>

#include "sync_internal.h"

TULIP__FITS_STORAGE(struct tulip__lock, tulip_lock);

int tulip_lock_init(tulip_lock *pl)
{
    if (!pl)
        return -EINVAL;
    *(struct tulip__lock *)(void *)pl = (struct tulip__lock){ .magic = TULIP__LOCK_MAGIC };
    return 0;
}

/* The misuse errors acquire and try_acquire share, in their order. */
static int lock_enter(tulip_lock *pl, struct tulip__lock **l, tulip_task **self)
{
    *l = tulip__lock_of(pl);
    *self = tulip__current();
    if (!*l)
        return -EINVAL;
    if (!*self)
        return -EPERM;
    return (*l)->owner == *self ? -EDEADLK : 0;
}

int tulip_lock_acquire(tulip_lock *pl)
{
    struct tulip__lock *l;
    tulip_task *self;
    int st = lock_enter(pl, &l, &self);
    if (st || (st = tulip__checkpoint_status(self)))
        return st;
    if (!l->owner) {
        l->owner = self;
        return 0;
    }
    /* Woken with 0 means the releaser already made us the owner. */
    int rc = tulip__waitq_wait_self(&l->waiters, TULIP__WAIT_LOCK, l);
    tulip__keep_frame();
    return rc;
}

int tulip_lock_try_acquire(tulip_lock *pl)
{
    struct tulip__lock *l;
    tulip_task *self;
    int st = lock_enter(pl, &l, &self);
    if (st)
        return st;
    if (l->owner)
        return -EAGAIN;
    l->owner = self;
    return 0;
}

void tulip__lock_release(struct tulip__lock *l)
{
    struct tulip__waiter *w = tulip__waitq_wake_one(&l->waiters, 0);
    l->owner = w ? w->task : NULL;
}

int tulip_lock_release(tulip_lock *pl)
{
    struct tulip__lock *l = tulip__lock_of(pl);
    if (!l)
        return -EINVAL;
    tulip_task *self = tulip__current();
    if (!self || l->owner != self)
        return -EPERM;
    tulip__lock_release(l);
    return 0;
}

void tulip__lock_acquire_uninterruptible(struct tulip__lock *l)
{
    tulip_task *self = tulip__current();
    if (!l->owner) {
        l->owner = self;
        return;
    }
    /* No cancel hook: neither cancellation nor a deadline can take this
     * waiter out of the queue, so the only wake is the hand-off. */
    struct tulip__waiter *w = &self->wait_rec.w; /* never on the stack (docs/DESIGN.md section 11) */
    w->task = self;
    tulip__waitq_push(&l->waiters, w);
    (void)tulip__park_nocheck(TULIP__WAIT_LOCK, l, NULL, NULL);
}

bool tulip_lock_is_locked(const tulip_lock *pl)
{
    const struct tulip__lock *l = tulip__lock_of(pl);
    return l && l->owner != NULL;
}
