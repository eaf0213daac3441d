/* The event loop: one thread, one event at a time. Each iteration polls the
 * backend (without blocking if anything is ready), fires due timers, then
 * runs a bounded batch of ready callbacks and tasks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop_internal.h"
#include "../backend/backend.h"
#include "../common/fault.h"
#include "../platform/clock.h"

_Thread_local struct tulip__thread_state tulip__tls __attribute__((tls_model("initial-exec")));


int64_t tulip_now(void)
{
    tulip_loop *l = tulip__tls.loop;
    return l ? tulip__loop_now(l) : tulip__clock_ns();
}

static const struct tulip__backend *pick_backend(const char *name)
{
    if (!name || !*name)
        name = getenv("TULIP_BACKEND");
    if (!name || !*name || strcmp(name, "epoll") == 0)
        return &tulip__backend_epoll;
    if (strcmp(name, "poll") == 0)
        return &tulip__backend_poll;
    if (strcmp(name, "io_uring") == 0) {
#if defined(TULIP_HAVE_URING)
        return &tulip__backend_uring;
#else
        return &tulip__backend_epoll; /* opt-in only; epoll is always there */
#endif
    }
    return NULL;
}

int tulip__loop_init(tulip_loop *l, const tulip_config *cfg)
{
    const struct tulip__backend *be = pick_backend(cfg->backend);
    if (!be)
        return -EINVAL;
    l->backend = be;
    l->backend_fd = -1;
    l->wake_fd = -1;
    l->owner = pthread_self();
    l->virtual_clock = cfg->virtual_clock;
    l->now = l->virtual_clock ? 0 : tulip__clock_ns();
    l->now_valid = 1;
    l->rng = tulip__rng_seed(cfg->seed ? cfg->seed : (uint64_t)tulip__clock_ns() ^ (uint64_t)(uintptr_t)l);
    int rc = be->init(l);
#if defined(TULIP_HAVE_URING)
    if (be == &tulip__backend_uring && (rc == -ENOSYS || rc == -EPERM || rc == -EACCES || rc == -EINVAL ||
                                        rc == -EOPNOTSUPP)) {
        /* A kernel without io_uring, with it disabled (sysctl, seccomp) or
         * short of locked memory (before 5.12): epoll it is. */
        l->backend_refused = rc; /* debug mode says so (src/runtime/loop_new.c) */
        be = l->backend = &tulip__backend_epoll;
        rc = be->init(l);
    }
#endif
    if (rc < 0)
        return rc;
    rc = tulip__wake_init(l);
    if (rc < 0) {
        tulip__fds_free(l);
        be->fini(l);
        return rc;
    }
    return 0;
}

void tulip__loop_fini(tulip_loop *l)
{
    tulip__signals_loop_free(l);
    tulip__wakers_wait(l);
    tulip__posts_discard(l);
    tulip__timer_handles_free(l);
    tulip__heap_fini(&l->timers);
    tulip__wake_fini(l);
    tulip__fds_free(l);
    l->backend->fini(l);
}

tulip_loop *tulip_loop_current(void)
{
    return tulip__tls.loop;
}

const char *tulip_loop_backend(const tulip_loop *l)
{
    return l ? l->backend->name : NULL;
}

void tulip_loop_stop(tulip_loop *l)
{
    atomic_fetch_add(&l->wakers, 1); /* see tulip__post */
    atomic_store(&l->stop_requested, 1);
    if (!pthread_equal(pthread_self(), l->owner) || !l->running)
        tulip__wake(l);
    atomic_fetch_sub_explicit(&l->wakers, 1, memory_order_release);
}

/* A locked xchg on every pass costs ~4.5 ns: look first, swap only when a
 * stop was actually requested.  The swap acquires, so a thread still
 * inside tulip_loop_stop is seen by tulip__wakers_wait if this stop ends
 * the loop. */
static int take_stop(tulip_loop *l)
{
    if (!atomic_load_explicit(&l->stop_requested, memory_order_relaxed))
        return 0;
    return atomic_exchange_explicit(&l->stop_requested, 0, memory_order_acquire);
}

static int alive(const tulip_loop *l)
{
    return l->ready.n || l->user_timers || l->fds_watched || l->holds;
}

static void update_time(tulip_loop *l)
{
    if (!l->virtual_clock)
        l->now_valid = 0;
}

void tulip_update_time(void)
{
    tulip_loop *l = tulip__tls.loop;
    if (l)
        update_time(l);
}

static void fire_timers(tulip_loop *l)
{
    struct tulip__timer *t;
    while ((t = tulip__heap_top(&l->timers)) && t->when <= tulip__loop_now(l))
        if (tulip__heap_pop(&l->timers)) /* else moved since: filed again */
            t->fire(t);
}

static void poll_io(tulip_loop *l, int block)
{
    int64_t timeout = 0;
    if (block && !l->ready.n && !atomic_load_explicit(&l->stop_requested, memory_order_relaxed)) {
        struct tulip__timer *t = tulip__heap_top(&l->timers);
        int64_t now = t ? tulip__loop_now(l) : 0;
        timeout = t ? (t->when > now ? t->when - now : 0) : -1;
        if (l->virtual_clock && t) {
            /* Deterministic mode: never sleep on a timer; see what I/O is
             * ready now, and if none, jump the clock to the deadline. */
            int n = l->backend->wait(l, 0);
            l->stats.polls++;
            if (n == 0 && !l->ready.n && t->when > l->now)
                l->now = t->when;
            return;
        }
    }
    /* Skip the system call when it cannot tell us anything: nothing is
     * watched but the wake-up fd, and no post is pending. */
    if (timeout == 0 && !l->fds_watched && !atomic_load_explicit(&l->wake_pending, memory_order_relaxed))
        return;
    if (timeout != 0 && l->before_sleep)
        l->before_sleep(l);
    if (timeout != 0 && l->spin && l->spin(l, timeout))
        return; /* work came while spinning (src/runtime/spin.c); I/O is polled next pass */
    l->stats.polls++;
    if (timeout != 0 && l->timing) {
        int64_t before = tulip__loop_now(l);
        l->backend->wait(l, timeout);
        update_time(l);
        l->stats.idle_ns += tulip__loop_now(l) - before;
    } else {
        l->backend->wait(l, timeout);
        if (timeout != 0)
            update_time(l);
    }
}

static void run_ready(tulip_loop *l)
{
    /* What was ready when the batch began (asyncio's rule: a task that
     * yields runs again only after I/O has been polled), plus tasks woken
     * or spawned by this very batch - a finished child's joiner, a
     * resolved future's waiters - so spawn+join or a hand-off does not pay
     * a whole loop iteration per step. Never more than TULIP__POLL_EVERY
     * steps between two polls. */
    size_t budget = l->ready.n, steps = 0;
    l->batch_woken = 0;
    int64_t start = l->timing ? tulip__loop_now(l) : 0;
    while (budget && l->ready.head && steps < TULIP__POLL_EVERY) {
        budget--;
        steps++;
        struct tulip__runnable *r = l->ready.head;
        l->ready.head = r->next;
        if (!l->ready.head)
            l->ready.tail = NULL;
        l->ready.n--;
        if (__builtin_expect(l->observer != NULL, 0))
            l->step_begin(l->observer, r);
        if (r->kind == TULIP__RUN_TASK)
            tulip__task_resume(l, r);
        else
            tulip__run_callback(l, r);
        if (__builtin_expect(l->observer != NULL, 0))
            l->step_end(l->observer);
        budget += l->batch_woken;
        l->batch_woken = 0;
    }
    /* Busy time costs a clock read per iteration: debug mode only. */
    if (l->timing && !l->virtual_clock) {
        update_time(l);
        l->stats.busy_ns += tulip__loop_now(l) - start;
    }
}

static int iterate(tulip_loop *l, int block)
{
    l->stats.iterations++;
    update_time(l);
    poll_io(l, block);
    if (atomic_load_explicit(&l->posts, memory_order_relaxed) ||
        atomic_load_explicit(&l->signals_pending, memory_order_relaxed))
        tulip__posts_drain(l);
    fire_timers(l);
    run_ready(l);
    return alive(l);
}

static int enter(tulip_loop *l)
{
    if (l->running)
        return -EBUSY;
    if (!pthread_equal(pthread_self(), l->owner))
        return -EINVAL;
    if (tulip__tls.loop && tulip__tls.loop != l && tulip__tls.loop->running)
        return -EBUSY;
    l->running = 1;
    l->prev_tls_loop = tulip__tls.loop;
    tulip__tls.loop = l;
    update_time(l);
    return 0;
}

static void leave(tulip_loop *l)
{
    l->running = 0;
    tulip__tls.loop = l->prev_tls_loop;
}

int tulip_loop_run(tulip_loop *l)
{
    int rc = enter(l);
    if (rc < 0)
        return rc;
    while (!take_stop(l)) {
        if (!iterate(l, 1))
            break;
    }
    leave(l);
    return 0;
}

int tulip_loop_run_once(tulip_loop *l, bool block)
{
    int rc = enter(l);
    if (rc < 0)
        return rc;
    rc = iterate(l, block);
    leave(l);
    return rc;
}

/* Internal: run until pred(arg) holds or nothing is alive (used by
 * tulip_run). Returns 0 or -EBUSY. */
int tulip__loop_run_until(tulip_loop *l, int (*pred)(void *), void *arg)
{
    int rc = enter(l);
    if (rc < 0)
        return rc;
    while (!pred(arg)) {
        if (take_stop(l))
            break;
        if (!iterate(l, 1))
            break;
    }
    leave(l);
    return 0;
}

int tulip_loop_stats_get(tulip_loop *l, tulip_loop_stats *out)
{
    if (!l)
        l = tulip__tls.loop;
    if (!l || !out)
        return -EINVAL;
    *out = l->stats;
    out->timers_pending = l->timers.n;
    out->fds_watched = l->fds_watched;
    return 0;
}
