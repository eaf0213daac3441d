/* Select over channel sends and receives, on channels shared with any
 * loop: the channels' guards are entered together (in address order) to
 * pick a ready case or park on all of them, and a parked select is one
 * tulip__xwait claimed once by whichever channel serves it first. When several cases are ready one
 * is picked uniformly at random (as Go does) so that no channel starves;
 * the generator is the loop's own (src/common/rng.h), seeded from
 * tulip_config.seed, so a seed replays the choices.
 * When none is ready the task parks on every case's channel at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "sync_internal.h"
#include "../common/fault.h"
#include "../platform/clock.h"

/* Enough for nearly every select without touching the heap. */
#define SELECT_STACK_CASES 16

/* Outside any loop (a select with a default, from plain code) the thread
 * keeps a state of its own for the same generator. */
static _Thread_local uint64_t rng_state;

void tulip_select_seed(uint64_t seed)
{
    tulip_loop *l = tulip__tls.loop;
    if (l)
        l->rng = tulip__rng_seed(seed);
    else
        rng_state = tulip__rng_seed(seed);
}

static uint64_t rng_next(void)
{
    tulip_loop *l = tulip__tls.loop;
    if (l)
        return tulip__loop_rand(l);
    if (!rng_state)
        rng_state = tulip__rng_seed((uint64_t)tulip__clock_ns() ^ (uint64_t)(uintptr_t)&rng_state);
    return tulip__rng_next(&rng_state);
}

static int case_ready(const tulip_select_case *sc)
{
    return sc->op == TULIP_SELECT_RECV ? tulip__chan_recv_ready(sc->chan) : tulip__chan_send_ready(sc->chan);
}

/* The distinct channels of the cases, in address order: the order every
 * select enters their guards in, so two selects never deadlock (nor a
 * select and a thread making one of them shared: xguard.h). */
static size_t lock_order(const tulip_select_case *cases, size_t n, tulip_chan **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        tulip_chan *c = cases[i].chan;
        /* Insertion, shifting while scanning (a separate shift loop
         * becomes a memmove call: most of a two-case select's sort). */
        size_t j = k;
        while (j > 0 && (uintptr_t)out[j - 1] > (uintptr_t)c) {
            out[j] = out[j - 1];
            j--;
        }
        if (j > 0 && out[j - 1] == c) {
            for (size_t m = j; m < k; m++) /* a duplicate: shift back */
                out[m] = out[m + 1];
            continue;
        }
        out[j] = c;
        k++;
    }
    return k;
}

static void enter_all(tulip_chan **cs, size_t k, unsigned char *owned)
{
    for (size_t i = 0; i < k; i++)
        owned[i] = (unsigned char)tulip__xguard_enter(&cs[i]->g);
}

static void exit_all(tulip_chan **cs, size_t k, const unsigned char *owned)
{
    for (size_t i = k; i-- > 0;)
        tulip__xguard_exit(&cs[i]->g, owned[i]);
}

/* A compact task's select (docs/DESIGN.md section 11): the operation,
 * its entries, a copy of the cases (peers write the fired case's result
 * there) and a copy of each item live off the stack, since peers touch
 * them while the task's frames may be saved away. Leaves the guards. */
static int park_off_stack(tulip_task *self, tulip_select_case *cases, size_t n, tulip_chan **locks, size_t k,
                          unsigned char *owned)
{
    struct tulip__sched *s = tulip__sched(self->loop);
    size_t align = _Alignof(max_align_t);
    size_t head = sizeof(struct tulip__xwait) + n * (sizeof(struct tulip__xwaiter) + sizeof(tulip_select_case));
    head = (head + align - 1) / align * align;
    size_t need = head;
    for (size_t i = 0; i < n; i++)
        need += (cases[i].chan->item_size + align - 1) / align * align;
    char *blk = tulip__compact_alloc(s, need);
    if (!blk) {
        exit_all(locks, k, owned);
        return -ENOMEM;
    }
    struct tulip__xwait *op = (struct tulip__xwait *)(void *)blk;
    struct tulip__xwaiter *ws = (struct tulip__xwaiter *)(void *)(op + 1);
    tulip_select_case *copy = (tulip_select_case *)(void *)(ws + n);
    char *stage = blk + head;
    for (size_t i = 0; i < n; i++) {
        size_t isz = cases[i].chan->item_size;
        copy[i] = cases[i];
        copy[i].item = isz ? stage : NULL;
        if (isz && cases[i].op == TULIP_SELECT_SEND)
            tulip__copy(stage, cases[i].item, isz);
        stage += (isz + align - 1) / align * align;
        ws[i].w.data = copy[i].item;
        ws[i].guard = &cases[i].chan->g;
        ws[i].index = (int)i;
    }
    tulip__xwait_init(op, ws, n);
    op->cases = copy;
    for (size_t i = 0; i < n; i++) {
        tulip_select_case *sc = &cases[i];
        tulip__waitq_push(sc->op == TULIP_SELECT_RECV ? &sc->chan->recvq : &sc->chan->sendq, &ws[i].w);
    }
    exit_all(locks, k, owned);
    int rc = tulip__xwait_park(op, TULIP__WAIT_SELECT, copy); /* what dumps read: off the stack too */
    if (rc >= 0 && (size_t)rc < n) {
        tulip_select_case *sc = &cases[rc];
        sc->result = copy[rc].result;
        if (sc->op == TULIP_SELECT_RECV && sc->result == 0 && copy[rc].item)
            tulip__copy(sc->item, copy[rc].item, sc->chan->item_size);
    }
    tulip__compact_free(s, blk, need);
    return rc;
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

    struct tulip__xwaiter small[SELECT_STACK_CASES];
    tulip_chan *small_locks[SELECT_STACK_CASES];
    unsigned char small_owned[SELECT_STACK_CASES];
    struct tulip__xwaiter *ws = small;
    tulip_chan **locks = small_locks;
    unsigned char *owned = small_owned;
    if (n > SELECT_STACK_CASES) {
        ws = tulip__malloc(n * sizeof *ws);
        locks = tulip__malloc(n * sizeof *locks);
        owned = tulip__malloc(n);
        if (!ws || !locks || !owned) {
            free(ws);
            free(locks);
            free(owned);
            return -ENOMEM;
        }
    }
    size_t k = lock_order(cases, n, locks);
    enter_all(locks, k, owned);

    int rc = -EAGAIN;
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
            rc = (int)i;
            break;
        }
    } else if (has_default) {
        rc = TULIP_SELECT_DEFAULT;
    }
    if (rc != -EAGAIN) {
        exit_all(locks, k, owned);
    } else if (self->shared) {
        rc = park_off_stack(self, cases, n, locks, k, owned);
    } else {
        struct tulip__xwait op;
        for (size_t i = 0; i < n; i++) {
            ws[i].w.data = cases[i].item;
            ws[i].guard = &cases[i].chan->g;
            ws[i].index = (int)i;
        }
        tulip__xwait_init(&op, ws, n);
        op.cases = cases;
        for (size_t i = 0; i < n; i++) {
            tulip_select_case *sc = &cases[i];
            tulip__waitq_push(sc->op == TULIP_SELECT_RECV ? &sc->chan->recvq : &sc->chan->sendq, &ws[i].w);
        }
        exit_all(locks, k, owned);
        rc = tulip__xwait_park(&op, TULIP__WAIT_SELECT, cases);
    }
    if (ws != small) {
        free(ws);
        free(locks);
        free(owned);
    }
    return rc;
}
