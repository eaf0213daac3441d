/* Signals as something a task waits for. Built on tulip_signal_watch
 * (below, the callback form): while at least one task waits for a signal,
 * tulip's handler is installed for it; when the last waiter leaves, the
 * previous disposition is restored. A signal that arrives while no task
 * waits gets that previous disposition (SIGTERM's default ends the
 * process), so a task that must never miss one keeps waiting. */
#ifndef TULIP_SIGNAL_H
#define TULIP_SIGNAL_H

#include "tulip/common.h"
#include "tulip/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deliver signal signo to cb(arg, signo) on l (the handler only marks and
 * wakes; cb runs on the loop thread). One handler per signal per process,
 * except that tulip_run's own SIGINT handling (cancel the main task) gives
 * way to a watch on its loop and comes back when that watch is removed.
 * Errors: -EINVAL (bad signo), -EBUSY (already watched, other than that
 * way), -ENOMEM. */
TULIP_API int tulip_signal_watch(tulip_loop *l, int signo, void (*cb)(void *arg, int signo), void *arg);
/* Restore the previous disposition (or tulip_run's SIGINT handling, when
 * the watch had taken it over). Errors: -ENOENT (not watched by l; also
 * tulip_run's own SIGINT watch, which is not the caller's to remove). */
TULIP_API int tulip_signal_unwatch(tulip_loop *l, int signo);

/* Park until one of the n signals in signos arrives and return its number.
 * Every task waiting for that signal wakes (a broadcast). Signals must be
 * below 32 and catchable. A cancellation point.
 * Under tulip_run, SIGINT normally cancels the main task; while a task
 * waits for SIGINT here, SIGINT is delivered to it instead, and tulip_run's
 * handling returns when no task waits any more (asyncio's
 * add_signal_handler works the same way).
 * Errors: -EINVAL (n == 0, NULL, or a bad or uncatchable signal), -EBUSY
 * (another loop watches that signal, or tulip_signal_watch is used on it
 * directly), -ENOMEM, -ECANCELED, -ETIMEDOUT, -EPERM (not in a task). */
TULIP_API int tulip_signal_wait(const int *signos, size_t n);

#ifdef __cplusplus
}
#endif
#endif
