/* call_soon / call_later / call_every handles. Handles are recycled through
 * a per-loop free list so scheduling a callback allocates nothing in steady
 * state; a repeating timer re-arms its own handle after each call. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "loop_internal.h"
#include "../common/fault.h"
#include "../platform/clock.h"

enum { TIMER_SOON = 1, TIMER_LATER, TIMER_RUNNING, TIMER_CANCELLED };
#define TIMER_FREE_MAX 1024

static tulip_timer *handle_alloc(tulip_loop *l)
{
    tulip_timer *h = l->timer_free;
    if (h) {
        l->timer_free = h->next_free;
        l->timer_free_n--;
        return h;
    }
    return tulip__malloc(sizeof *h);
}

static void handle_release(tulip_loop *l, tulip_timer *h)
{
    if (l->timer_free_n < TIMER_FREE_MAX) {
        h->next_free = l->timer_free;
        l->timer_free = h;
        l->timer_free_n++;
    } else {
        free(h);
    }
}

int64_t tulip__tick_next(int64_t deadline, int64_t interval, int64_t now)
{
    if (deadline > INT64_MAX - interval)
        return INT64_MAX;
    int64_t next = deadline + interval;
    if (next <= now) {
        int64_t k = (now - next) / interval + 1;
        next = k > (INT64_MAX - next) / interval ? INT64_MAX : next + k * interval;
    }
    return next;
}

/* After a repeating timer's call: arm it for the next grid point after the
 * time it is now, read afresh (the loop's cached time is from before the
 * call, which may have been long). The heap just gave up this entry, so
 * the push needs no memory. */
static void rearm(tulip_loop *l, tulip_timer *h)
{
    h->state = TIMER_LATER;
    int64_t now = l->virtual_clock ? l->now : tulip__clock_ns();
    int64_t next = tulip__tick_next(h->timer.due, h->interval, now);
    if (tulip__timer_start(l, &h->timer, next) < 0) {
        l->user_timers--;
        handle_release(l, h);
    }
}

static void run_handle(tulip_loop *l, tulip_timer *h)
{
    h->state = TIMER_RUNNING;
    l->stats.callbacks++;
    l->cb_running = h;
    if (!h->interval) {
        l->user_timers--;
        h->cb(h->arg);
        l->cb_running = NULL;
        handle_release(l, h);
        return;
    }
    h->cb(h->arg);
    l->cb_running = NULL;
    if (h->state == TIMER_CANCELLED) /* by cb itself; already uncounted */
        handle_release(l, h);
    else
        rearm(l, h);
}

/* A due timer joins the ready queue behind what is already there, as in
 * asyncio: call_soon'ed work is never overtaken by a timer of delay 0. */
static void later_fire(struct tulip__timer *t)
{
    tulip_timer *h = tulip__container_of(t, tulip_timer, timer);
    h->state = TIMER_SOON;
    h->run.kind = TULIP__RUN_CALLBACK;
    tulip__ready_push(h->loop, &h->run);
}

/* Called by the loop for ready-queue callbacks. */
void tulip__run_callback(tulip_loop *l, struct tulip__runnable *r)
{
    tulip_timer *h = tulip__container_of(r, tulip_timer, run);
    if (h->state == TIMER_CANCELLED) {
        handle_release(l, h);
        return;
    }
    run_handle(l, h);
}

/* A handle for cb(arg) on l, in no queue yet; NULL with errno set. */
static tulip_timer *handle_new(tulip_loop *l, void (*cb)(void *), void *arg)
{
    if (!l || !cb) {
        errno = EINVAL;
        return NULL;
    }
    tulip_timer *h = handle_alloc(l);
    if (h) {
        h->loop = l;
        h->cb = cb;
        h->arg = arg;
        h->interval = 0;
    }
    return h;
}

tulip_timer *tulip_call_soon(tulip_loop *l, void (*cb)(void *), void *arg)
{
    tulip_timer *h = handle_new(l, cb, arg);
    if (!h)
        return NULL;
    h->state = TIMER_SOON;
    h->run.kind = TULIP__RUN_CALLBACK;
    tulip__ready_push(l, &h->run);
    l->user_timers++;
    return h;
}

tulip_timer *tulip_call_at(tulip_loop *l, int64_t deadline, void (*cb)(void *), void *arg)
{
    tulip_timer *h = handle_new(l, cb, arg);
    if (!h)
        return NULL;
    h->state = TIMER_LATER;
    tulip__timer_init(&h->timer, later_fire);
    int rc = tulip__timer_start(l, &h->timer, deadline);
    if (rc < 0) {
        handle_release(l, h);
        errno = -rc;
        return NULL;
    }
    l->user_timers++;
    return h;
}

tulip_timer *tulip_call_later(tulip_loop *l, int64_t delay_ns, void (*cb)(void *), void *arg)
{
    if (delay_ns < 0) {
        errno = EINVAL;
        return NULL;
    }
    if (!l) {
        errno = EINVAL;
        return NULL;
    }
    if (!l->running && !l->virtual_clock)
        l->now_valid = 0; /* the cached time is stale between runs */
    int64_t now = tulip__loop_now(l);
    int64_t when = now > INT64_MAX - delay_ns ? INT64_MAX : now + delay_ns;
    return tulip_call_at(l, when, cb, arg);
}

tulip_timer *tulip_call_every(tulip_loop *l, int64_t interval_ns, void (*cb)(void *), void *arg)
{
    if (interval_ns <= 0) {
        errno = EINVAL;
        return NULL;
    }
    tulip_timer *h = tulip_call_later(l, interval_ns, cb, arg);
    if (h)
        h->interval = interval_ns;
    return h;
}

void tulip_timer_cancel(tulip_timer *h)
{
    if (!h)
        return;
    tulip_loop *l = h->loop;
    switch (h->state) {
    case TIMER_SOON:
        /* Still linked in the ready queue: the loop frees it when it pops
         * it, which keeps cancel O(1) without a doubly linked queue. */
        h->state = TIMER_CANCELLED;
        l->user_timers--;
        break;
    case TIMER_LATER:
        tulip__timer_stop(l, &h->timer);
        l->user_timers--;
        handle_release(l, h);
        break;
    case TIMER_RUNNING:
        /* From inside its own callback: a repeating timer stops there
         * (run_handle frees it when cb returns); a one-shot one is done
         * anyway. */
        if (h->interval) {
            h->state = TIMER_CANCELLED;
            l->user_timers--;
        }
        break;
    default:
        break;
    }
}

void tulip__timer_handles_free(tulip_loop *l)
{
    /* Pending call_later handles sit in the heap; call_soon ones in the
     * ready queue (drained by the task teardown before this). */
    for (size_t i = 0; i < l->timers.n; i++) {
        struct tulip__timer *t = l->timers.items[i];
        if (t->fire == later_fire) {
            t->slot = TULIP__NOT_IN_HEAP;
            free(tulip__container_of(t, tulip_timer, timer));
            l->timers.items[i] = NULL;
        }
    }
    size_t j = 0;
    for (size_t i = 0; i < l->timers.n; i++)
        if (l->timers.items[i])
            l->timers.items[j++] = l->timers.items[i];
    l->timers.n = j;
    while (l->ready.head) {
        struct tulip__runnable *r = l->ready.head;
        l->ready.head = r->next;
        if (r->kind == TULIP__RUN_CALLBACK)
            free(r);
    }
    l->ready.tail = NULL;
    l->ready.n = 0;
    free(l->cb_running); /* in no queue: its callback never returned */
    l->cb_running = NULL;
    while (l->timer_free) {
        tulip_timer *h = l->timer_free;
        l->timer_free = h->next_free;
        free(h);
    }
    l->timer_free_n = 0;
}
