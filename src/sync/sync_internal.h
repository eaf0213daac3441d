/* Insides shared by the sync primitives: the lock (the condition variable
 * re-acquires it), and channels (select parks on several at once). */
#ifndef TULIP_SYNC_INTERNAL_H
#define TULIP_SYNC_INTERNAL_H

#include "tulip/sync.h"
#include "../task/task_internal.h"
#include "xwait.h"

/* Distinct per type, so passing one primitive where another is expected,
 * or one never initialised, is caught. */
#define TULIP__LOCK_MAGIC 0x10c4b10cu
#define TULIP__EVENT_MAGIC 0xe7e47e7eu
#define TULIP__COND_MAGIC 0xc04dc04du
#define TULIP__SEM_MAGIC 0x5e3a5e3au
#define TULIP__BARRIER_MAGIC 0xba44ba44u
#define TULIP__QUEUE_MAGIC 0x0e0e0e0eu
#define TULIP__CHAN_MAGIC 0xc4a4c4a4u

/* Lock, event, cond, sem and barrier live in caller-provided opaque storage
 * (include/tulip/sync.h) that holds their internal struct, whose first
 * member is its magic. The struct must fit the storage: */
#define TULIP__FITS_STORAGE(in, pub)                                            \
    _Static_assert(sizeof(in) <= sizeof(pub), #pub " storage too small");       \
    _Static_assert(_Alignof(in) <= _Alignof(pub), #pub " storage misaligned")

/* The internal struct in storage, or NULL when storage is NULL or was not
 * initialised as this kind of primitive (the public calls say -EINVAL). */
static inline void *tulip__sync_of(const void *storage, uint32_t magic)
{
    const uint32_t *m = storage;
    return m && *m == magic ? (void *)(uintptr_t)storage : NULL;
}
struct tulip__lock {
    uint32_t magic;
    tulip_task *owner;
    struct tulip__waitq waiters;
};

static inline struct tulip__lock *tulip__lock_of(const tulip_lock *l)
{
    return tulip__sync_of(l, TULIP__LOCK_MAGIC);
}

/* Take l for the running task, waiting without interruption: the
 * condition variable's re-acquisition, which must succeed even for a
 * cancelled task. */
void tulip__lock_acquire_uninterruptible(struct tulip__lock *l);
/* Hand l to its first waiter, or free it. The caller checked ownership. */
void tulip__lock_release(struct tulip__lock *l);

/* Channels work across loops: every field below g is guarded by it
 * (xguard.h), and waiters are tulip__xwaiter entries (xwait.h). */
struct tulip_chan {
    uint32_t magic;
    struct tulip__xguard g;
    uint8_t closed;
    size_t item_size;
    size_t capacity;
    size_t head, count;            /* ring buffer of capacity items */
    unsigned char *buf;
    struct tulip__waitq recvq, sendq;
};

static inline tulip_chan *tulip__chan_valid(tulip_chan *c)
{
    return c && c->magic == TULIP__CHAN_MAGIC ? c : NULL;
}

/* Whether a recv/send on c would complete (or fail because c is closed)
 * without waiting. The caller is inside c->g, as for the _now calls. */
static inline int tulip__chan_recv_ready(tulip_chan *c)
{
    return c->count > 0 || c->closed || tulip__xq_live(&c->sendq);
}

static inline int tulip__chan_send_ready(tulip_chan *c)
{
    return c->closed || c->count < c->capacity || tulip__xq_live(&c->recvq);
}
/* Do it now: 0, -ESHUTDOWN / -EPIPE (closed), or -EAGAIN (would wait). */
int tulip__chan_recv_now(tulip_chan *c, void *item);
int tulip__chan_send_now(tulip_chan *c, const void *item);

/* The guard of q (tests: whether q was shared). */
struct tulip__xguard *tulip__queue_guard(tulip_queue *q);

#endif
