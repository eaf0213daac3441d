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

/* Enough for nearly every select without touching the heap (the guards
 * it enters; what it parks with is in the task's wait block). */
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

/* Park on every case (inside the guards; leaves them). The operation, its
 * entries and a copy of each item live in the task's wait block, never
 * on its stack (docs/DESIGN.md section 11): a send case's item is copied
 * in first, the fired receive case's copied out after the wake. */
static int park(tulip_task *self, tulip_select_case *cases, size_t n, tulip_chan **locks, size_t k,
                unsigned char *owned)
{
    size_t align = _Alignof(max_align_t);
    size_t head = sizeof(struct tulip__xone) + sizeof(struct tulip__xwait) + n * sizeof(struct tulip__xwaiter);
    head = (head + align - 1) / align * align;
    size_t need = head;
    for (size_t i = 0; i < n; i++)
        need += (cases[i].chan->item_size + align - 1) / align * align;
    struct tulip__xone *blk = tulip__xblock(self, need);
    if (!blk) {
        exit_all(locks, k, owned);
        return -ENOMEM;
    }
    /* After the single-wait record, which stays as it is. */
    struct tulip__xwait *op = (struct tulip__xwait *)(void *)blk->item;
    struct tulip__xwaiter *ws = (struct tulip__xwaiter *)(void *)(op + 1);
    char *stage = (char *)blk + head;
    for (size_t i = 0; i < n; i++) {
        tulip_select_case *sc = &cases[i];
        size_t isz = sc->chan->item_size;
        if (sc->op == TULIP_SELECT_SEND)
            tulip__copy(stage, sc->item, isz);
        ws[i].w.data = isz ? stage : NULL;
        ws[i].guard = &sc->chan->g;
        ws[i].index = (int)i;
        stage += (isz + align - 1) / align * align;
    }
    tulip__xwait_init(op, self, ws, n);
    op->select = 1;
    for (size_t i = 0; i < n; i++) {
        tulip_select_case *sc = &cases[i];
        tulip__waitq_push(sc->op == TULIP_SELECT_RECV ? &sc->chan->recvq : &sc->chan->sendq, &ws[i].w);
    }
    exit_all(locks, k, owned);
    /* The object dumps show: the first channel (the cases may lie on the
     * stack, which debug mode's checks refuse). */
    int rc = tulip__xwait_park(op, TULIP__WAIT_SELECT, cases[0].chan, 0);
    if (rc >= 0 && (size_t)rc < n) {
        tulip_select_case *sc = &cases[rc];
        sc->result = ws[rc].w.result;
        if (sc->op == TULIP_SELECT_RECV && sc->result == 0)
            tulip__copy(sc->item, ws[rc].w.data, sc->chan->item_size);
    }
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

    tulip_chan *small_locks[SELECT_STACK_CASES];
    unsigned char small_owned[SELECT_STACK_CASES];
    tulip_chan **locks = small_locks;
    unsigned char *owned = small_owned;
    if (n > SELECT_STACK_CASES) {
        locks = tulip__malloc(n * sizeof *locks);
        owned = tulip__malloc(n);
        if (!locks || !owned) {
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
    if (rc != -EAGAIN)
        exit_all(locks, k, owned);
    else
        rc = park(self, cases, n, locks, k, owned);
    if (locks != small_locks) {
        free(locks);
        free(owned);
    }
    return rc;
}
