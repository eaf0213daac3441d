/* The event loop and its callback API (asyncio's loop methods, libuv-like).
 * A loop belongs to the thread that runs it; only the *_threadsafe calls and
 * tulip_loop_stop may be made from other threads. */
#ifndef TULIP_LOOP_H
#define TULIP_LOOP_H

#include "tulip/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tulip_loop tulip_loop;
typedef struct tulip_timer tulip_timer;
typedef struct tulip_watch tulip_watch;

/* Create a loop (cfg may be NULL for defaults).
 * NULL with errno: ENOMEM, EINVAL (unknown backend or bad stack size),
 * EMFILE/ENFILE (no fd for the backend or the wake-up eventfd). */
TULIP_API tulip_loop *tulip_loop_new(const tulip_config *cfg);

/* Run until tulip_loop_stop() or until nothing is left that could run:
 * no ready callbacks, no timers, no watched fds, no live tasks.
 * Returns 0, -EBUSY if the loop is already running, -EINVAL if called from
 * another thread than the one that created the loop. */
TULIP_API int tulip_loop_run(tulip_loop *l);

/* Run one iteration: poll I/O (waiting if block and nothing is ready), fire
 * due timers, run ready callbacks and tasks. Returns 1 if anything is still
 * alive, 0 if not, -EBUSY if already running. */
TULIP_API int tulip_loop_run_once(tulip_loop *l, bool block);

/* Ask the loop to return from tulip_loop_run after the current iteration.
 * Safe from any thread and from signal handlers. */
TULIP_API void tulip_loop_stop(tulip_loop *l);

/* Free the loop. Pending timers are dropped without being called; tasks that
 * never finished are freed with their stacks (their code is not resumed; use
 * tulip_run for cancel-and-join shutdown). Errors: -EBUSY (the loop is
 * running: nothing is freed). NULL is a no-op returning 0. */
TULIP_API int tulip_loop_free(tulip_loop *l);

/* The loop running on this thread, or NULL. */
TULIP_API tulip_loop *tulip_loop_current(void);

/* The name of the backend in use ("epoll", "poll"). */
TULIP_API const char *tulip_loop_backend(const tulip_loop *l);

/* Schedule cb(arg) on the loop: call_soon runs callbacks in FIFO order in
 * the next pass over the ready queue; call_later after delay_ns (timers with
 * equal deadlines run in the order they were scheduled).
 * The returned handle stays valid until the callback has returned or the
 * timer is cancelled; the loop frees it.
 * NULL with errno: ENOMEM, EINVAL (negative delay or NULL cb). */
TULIP_API tulip_timer *tulip_call_soon(tulip_loop *l, void (*cb)(void *), void *arg);
TULIP_API tulip_timer *tulip_call_later(tulip_loop *l, int64_t delay_ns, void (*cb)(void *), void *arg);
/* As call_later with an absolute deadline on the loop clock. */
TULIP_API tulip_timer *tulip_call_at(tulip_loop *l, int64_t deadline, void (*cb)(void *), void *arg);

/* A repeating timer: cb(arg) every interval_ns, the first call one
 * interval from now, until tulip_timer_cancel. The deadlines stay on the
 * grid start + k * interval_ns: a late call does not push the next one
 * back, so the calls do not drift. When the loop falls behind by an
 * interval or more (a long step, a stopped process), the missed deadlines
 * are coalesced: the one late call stands for them and the next call is at
 * the first grid point after it; cb is never called in a burst to catch
 * up. The timer keeps the loop alive, and its handle valid, until
 * cancelled (also from inside cb).
 * NULL with errno: ENOMEM, EINVAL (interval_ns <= 0 or NULL cb). */
TULIP_API tulip_timer *tulip_call_every(tulip_loop *l, int64_t interval_ns, void (*cb)(void *), void *arg);

/* Cancel a pending timer or call_soon: its callback will not run and the
 * handle is freed. Cancelling a one-shot timer from inside its own
 * callback is a no-op; a repeating one stops there. */
TULIP_API void tulip_timer_cancel(tulip_timer *t);

/* Schedule cb(arg) on l from any thread. Wakes the loop (one eventfd write
 * stands for any number of posts).
 * Errors: -ENOMEM, -EINVAL (NULL cb). */
TULIP_API int tulip_call_soon_threadsafe(tulip_loop *l, void (*cb)(void *), void *arg);

/* Watch fd for readiness: cb(arg, events) is called whenever fd is ready in
 * one of the requested directions (TULIP_READABLE/TULIP_WRITABLE) and keeps
 * being called while it stays ready (level-triggered, like libuv's uv_poll).
 * Errors (NULL + errno): EBADF (fd not open), EBUSY (fd already has a
 * watcher or waiting task in that direction), ENOMEM, EINVAL. */
TULIP_API tulip_watch *tulip_watch_fd(tulip_loop *l, int fd, int events,
                                      void (*cb)(void *arg, int events), void *arg);
/* Change the directions watched (0 pauses). Errors: -EBUSY, -EINVAL. */
TULIP_API int tulip_watch_update(tulip_watch *w, int events);
/* Stop watching and free the handle (safe inside its own callback).
 * Handles still registered when their loop is freed are freed with it. */
TULIP_API void tulip_watch_free(tulip_watch *w);

typedef struct tulip_loop_stats {
    uint64_t iterations;        /* loop iterations */
    uint64_t polls;             /* backend waits */
    uint64_t switches;          /* context switches into tasks */
    uint64_t callbacks;         /* callbacks run */
    uint64_t tasks_spawned;
    uint64_t tasks_alive;
    uint64_t timers_pending;
    uint64_t fds_watched;
    int64_t  busy_ns;           /* time spent running callbacks and tasks */
    int64_t  idle_ns;           /* time spent waiting in the backend */
} tulip_loop_stats;

/* Counters of l (or the current loop if l is NULL). Errors: -EINVAL. */
TULIP_API int tulip_loop_stats_get(tulip_loop *l, tulip_loop_stats *out);

#ifdef __cplusplus
}
#endif
#endif
