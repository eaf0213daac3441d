/* Event: a flag tasks can wait for (asyncio.Event). */
#define _GNU_SOURCE
#include <errno.h>

#include "sync_internal.h"

struct tulip__event {
    uint32_t magic;
    uint8_t set;
    struct tulip__waitq waiters;
};

TULIP__FITS_STORAGE(struct tulip__event, tulip_event);

static struct tulip__event *E(const tulip_event *pe)
{
    return tulip__sync_of(pe, TULIP__EVENT_MAGIC);
}

int tulip_event_init(tulip_event *pe)
{
    if (!pe)
        return -EINVAL;
    *(struct tulip__event *)(void *)pe = (struct tulip__event){ .magic = TULIP__EVENT_MAGIC };
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
    int st = tulip__wait_enter(NULL);
    if (st)
        return st;
    if (e->set)
        return 0;
    /* A set followed by a clear before we run still counts: the wake
     * already happened. */
    int rc = tulip__waitq_wait_self(&e->waiters, TULIP__WAIT_EVENT, e);
    tulip__keep_frame();
    return rc;
}

bool tulip_event_is_set(const tulip_event *pe)
{
    const struct tulip__event *e = E(pe);
    return e && e->set;
}
