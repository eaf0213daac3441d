/* Select over channel sends and receives. When several cases are ready one
 * is picked uniformly at random (as Go does) so that no channel starves;
 * the generator is a per-thread xorshift64*, which is one state per loop
 * because a loop owns its thread, and seedable for reproducible runs.
 * When none is ready the task parks on every case's channel at once; the
 * first channel to serve one of them fires the whole select and unlinks
 * the rest (see fire() in chan.c), and the cancel hook unlinks them all. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "sync_internal.h"
#include "../common/fault.h"
#include "../platform/clock.h"

/* Enough for nearly every select without touching the heap. */
#define SELECT_STACK_CASES 16

static _Thread_local uint64_t rng_state;

void tulip_select_seed(uint64_t seed)
{
    /* xorshift has one fixed point, 0. */
    rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t rng_next(void)
{
    if (!rng_state) {
        uint64_t s = (uint64_t)tulip__clock_ns() ^ (uint64_t)(uintptr_t)&rng_state;
        tulip_select_seed(s * 0x2545f4914f6cdd1dull);
    }
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static int case_ready(const tulip_select_case *sc)
{
    return sc->op == TULIP_SELECT_RECV ? tulip__chan_recv_ready(sc->chan) : tulip__chan_send_ready(sc->chan);
}

static void unlink_all(void *ctx)
{
    struct tulip__select *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        tulip__waitq_remove(&s->ws[i].w);
}

int tulip_select(tulip_select_case *cases, size_t n, bool has_default)
{
    if (n == 0)
        return has_default ? TULIP_SELECT_DEFAULT : -EINVAL;
    if (!cases || n > (size_t)INT_MAX - 1)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        tulip_select_case *sc = &cases[i];
        if (!tulip__chan_valid(sc->chan) || (sc->op != TULIP_SELECT_RECV && sc->op != TULIP_SELECT_SEND) ||
            (!sc->item && sc->chan->item_size))
            return -EINVAL;
    }
    tulip_task *self = tulip__current();
    /* A select with a default never waits, so it is not a cancellation
     * point, like try_send/try_recv. */
    if (!has_default) {
        if (!self)
            return -EPERM;
        int st = tulip__checkpoint_status(self);
        if (st)
            return st;
    }

    size_t ready = 0;
    for (size_t i = 0; i < n; i++)
        ready += (size_t)case_ready(&cases[i]);
    if (ready) {
        size_t pick = (size_t)(rng_next() % ready);
        for (size_t i = 0; i < n; i++) {
            tulip_select_case *sc = &cases[i];
            if (!case_ready(sc) || pick-- > 0)
                continue;
            sc->result = sc->op == TULIP_SELECT_RECV ? tulip__chan_recv_now(sc->chan, sc->item)
                                                     : tulip__chan_send_now(sc->chan, sc->item);
            return (int)i;
        }
    }
    if (has_default)
        return TULIP_SELECT_DEFAULT;

    struct tulip__chan_waiter small[SELECT_STACK_CASES];
    struct tulip__chan_waiter *ws = small;
    if (n > SELECT_STACK_CASES) {
        ws = tulip__malloc(n * sizeof *ws);
        if (!ws)
            return -ENOMEM;
    }
    struct tulip__select sel = { .ws = ws, .cases = cases, .n = n };
    for (size_t i = 0; i < n; i++) {
        tulip_select_case *sc = &cases[i];
        ws[i].sel = &sel;
        ws[i].index = (int)i;
        ws[i].w.task = self;
        ws[i].w.data = sc->item;
        tulip__waitq_push(sc->op == TULIP_SELECT_RECV ? &sc->chan->recvq : &sc->chan->sendq, &ws[i].w);
    }
    int rc = tulip__park_nocheck(TULIP__WAIT_SELECT, cases, unlink_all, &sel);
    if (ws != small)
        free(ws);
    return rc;
}
