/* Event: a flag tasks can wait for (asyncio.Event). */
#define _GNU_SOURCE
#include <errno.h>

#include "sync_internal.h"

struct tulip__event {
    uint32_t magic;
    uint8_t set;
    struct tulip__waitq waiters;
};

_Static_assert(sizeof(struct tulip__event) <= sizeof(tulip_event), "tulip_event storage too small");
_Static_assert(_Alignof(struct tulip__event) <= _Alignof(tulip_event), "tulip_event storage misaligned");

static struct tulip__event *E(tulip_event *pe)
{
    struct tulip__event *e = (struct tulip__event *)(void *)pe;
    return e && e->magic == TULIP__EVENT_MAGIC ? e : NULL;
}

int tulip_event_init(tulip_event *pe)
{
    if (!pe)
        return -EINVAL;
    struct tulip__event *e = (struct tulip__event *)(void *)pe;
    e->magic = TULIP__EVENT_MAGIC;
    e->set = 0;
    e->waiters = (struct tulip__waitq){0};
    return 0;
}

int tulip_event_set(tulip_event *pe)
{
    struct tulip__event *e = E(pe);
    if (!e)
        return -EINVAL;
    e->set = 1;
    tulip__waitq_wake_all(&e->waiters, 0);
    return 0;
}

int tulip_event_clear(tulip_event *pe)
{
    struct tulip__event *e = E(pe);
    if (!e)
        return -EINVAL;
    e->set = 0;
    return 0;
}

int tulip_event_wait(tulip_event *pe)
{
    struct tulip__event *e = E(pe);
    if (!e)
        return -EINVAL;
    tulip_task *self = tulip__current();
    if (!self)
        return -EPERM;
    int st = tulip__checkpoint_status(self);
    if (st)
        return st;
    if (e->set)
        return 0;
    /* A set followed by a clear before we run still counts: the wake
     * already happened. */
    struct tulip__waiter w;
    return tulip__waitq_wait(&e->waiters, &w, TULIP__WAIT_EVENT, e);
}

bool tulip_event_is_set(const tulip_event *pe)
{
    const struct tulip__event *e = (const struct tulip__event *)(const void *)pe;
    return e && e->magic == TULIP__EVENT_MAGIC && e->set;
}
