/* The thread pool (asyncio.to_thread): run blocking or CPU-bound work on
 * threads while the calling task parks.
 *
 * One pool per process, started lazily on first use. It grows with demand:
 * a job that finds no idle thread starts one, up to the pool's size, so
 * 100 blocking calls at once run on 100 threads. The size (the most
 * threads) is tulip_pool_set_size(), else TULIP_POOL_THREADS from the
 * environment, else TULIP_POOL_DEFAULT_THREADS (512, as Tokio's blocking
 * pool); at most TULIP_POOL_MAX_THREADS. Beyond it jobs queue, FIFO. Jobs
 * marked TULIP_POOL_SLOW (DNS look-ups, say) may occupy at most half of
 * the threads, rounded up, so a burst of slow work cannot starve the rest
 * (libuv's rule). Pool threads block every signal, so signals reach the
 * loop threads. A thread idle for TULIP_POOL_DEFAULT_IDLE (or
 * tulip_pool_set_idle_timeout) exits, so a burst of blocking work does not
 * leave its threads behind; the next job starts one again. Threads are
 * joined, not detached: at process exit (and tulip_pool_shutdown) the
 * idle ones are gone for good, so valgrind reports nothing left of them.
 * Each thread has the default pthread stack (usually 8 MiB of address
 * space, touched only as used). */
#ifndef TULIP_POOL_H
#define TULIP_POOL_H

#include "tulip/common.h"
#include "tulip/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Job class flags for tulip_run_blocking_ex. */
#define TULIP_POOL_SLOW 1u

/* Run fn(arg) on a pool thread and park until it returns; returns fn's
 * result. A cancellation point: when the task (or a scope around it) is
 * cancelled, the call returns at once and the job's result is discarded.
 * A job not yet started is dropped and never runs; one already running
 * finishes in the background, so arg must stay valid until fn returns
 * even then: when the caller may be cancelled, pass heap memory and
 * release it with tulip_run_blocking_ex's abandon callback.
 * Errors: -ECANCELED, -ETIMEDOUT, -EPERM (not in a task), -EINVAL (NULL
 * fn), -ENOMEM, -EAGAIN (no pool thread could be started), plus whatever
 * fn returns. */
TULIP_API int tulip_run_blocking(tulip_fn fn, void *arg);

/* As tulip_run_blocking with flags (TULIP_POOL_SLOW or 0) and an abandon
 * callback (may be NULL). abandon(arg) runs exactly once, on some thread,
 * if and only if the call returned -ECANCELED/-ETIMEDOUT (or -ECANCELED
 * from tulip_pool_shutdown) after the job was queued: after fn has
 * returned if it had started, or instead of fn if it had not. It is where
 * the caller's heap argument and anything fn produced are freed.
 * Errors: as tulip_run_blocking, -EINVAL also for unknown flags. */
TULIP_API int tulip_run_blocking_ex(tulip_fn fn, void *arg, unsigned flags, void (*abandon)(void *arg));

/* The default size, and the largest tulip_pool_set_size accepts. */
#define TULIP_POOL_DEFAULT_THREADS 512u
#define TULIP_POOL_MAX_THREADS 4096u

/* Set the most threads the pool may run (1..TULIP_POOL_MAX_THREADS; 0:
 * back to the default, TULIP_POOL_THREADS from the environment read now,
 * else TULIP_POOL_DEFAULT_THREADS). Threads already running above a
 * lowered size exit once idle. Errors: -EINVAL (above the maximum). */
TULIP_API int tulip_pool_set_size(unsigned threads);

/* How long a pool thread waits for work before it exits. */
#define TULIP_POOL_DEFAULT_IDLE TULIP_SEC(10)

/* Set that idle timeout: ns > 0, TULIP_FOREVER to keep idle threads for
 * good. Threads already idle apply it from their next wait.
 * Errors: -EINVAL (ns <= 0). */
TULIP_API int tulip_pool_set_idle_timeout(int64_t ns);

/* Block the calling thread (it does not park: call it outside tasks, or
 * accept that the loop stalls) until at most at_most pool threads are
 * alive, or timeout_ns has passed. For tests and orderly shutdowns.
 * Returns 0, or -ETIMEDOUT with more threads still alive. */
TULIP_API int tulip_pool_wait_threads(unsigned at_most, int64_t timeout_ns);

/* Stop the pool: jobs still queued complete with -ECANCELED (their
 * abandon callbacks run), idle threads exit, and the call waits up to
 * timeout_ns (blocking the thread, not parking) for running jobs to end,
 * and joins the threads that exited. Threads still busy then are left to
 * finish on their own and exit (joined by the next thread to exit or the
 * next shutdown). The pool restarts lazily if used again. Also run at
 * process exit (atexit), with a 100 ms bound. Returns 0 when every thread
 * has exited, -ETIMEDOUT if some are still running a job. */
TULIP_API int tulip_pool_shutdown(int64_t timeout_ns);

typedef struct tulip_pool_stats {
    unsigned size;             /* most threads allowed */
    unsigned threads;          /* started and not yet exited */
    unsigned idle;             /* waiting for work */
    unsigned slow_running;     /* threads running a TULIP_POOL_SLOW job */
    unsigned queued;           /* jobs waiting for a thread */
    uint64_t completed;        /* jobs whose fn has returned */
    uint64_t abandoned;        /* jobs whose caller gave up */
} tulip_pool_stats;

/* A snapshot of the pool's counters. Errors: -EINVAL (NULL out). */
TULIP_API int tulip_pool_stats_get(tulip_pool_stats *out);

#ifdef __cplusplus
}
#endif
#endif
