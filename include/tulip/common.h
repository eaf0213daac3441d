/* Conventions shared by every tulip header: export macro, time, errors,
 * configuration. */
#ifndef TULIP_COMMON_H
#define TULIP_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdbool.h>

#if defined(TULIP_BUILDING) && defined(__GNUC__)
#define TULIP_API __attribute__((visibility("default")))
#else
#define TULIP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Time: int64_t nanoseconds on the monotonic clock. Deadlines are absolute. */
#define TULIP_NS(x)  ((int64_t)(x))
#define TULIP_US(x)  ((int64_t)(x) * 1000)
#define TULIP_MS(x)  ((int64_t)(x) * 1000000)
#define TULIP_SEC(x) ((int64_t)(x) * 1000000000)
#define TULIP_FOREVER INT64_MAX

/* Current time on the current loop's clock (cached once per loop
 * iteration; virtual in deterministic mode). Outside a loop: the
 * monotonic clock. */
TULIP_API int64_t tulip_now(void);

/* Read the clock again now, so that the next tulip_now() on this loop is
 * current (libuv's uv_update_time). For a caller that stamps an event
 * which may have happened after the iteration began: the end of an answer
 * read without waiting, a deadline counted from it. No effect with
 * virtual_clock (virtual time only moves between iterations) or outside a
 * loop (tulip_now() reads the clock there anyway). */
TULIP_API void tulip_update_time(void);

/* Errors are negative errno values. The table lives in src/common/error.c.
 * A call that would have to wait but was asked not to (every try_* call)
 * fails with -EAGAIN.
 *
 * Freeing an object that is still in use: every _free / _close returns
 * int, and while the object is in use (a task is parked on it or running
 * in it, a loop is running it, a request holds it) it returns -EBUSY,
 * frees nothing and leaves the object valid; free it again once idle.
 * NULL is a no-op returning 0. (Shared handles are the exception by
 * design: a tulip_tls_ctx is reference-counted by the streams made from
 * it, and tulip_workers_free is a shutdown that waits for its loops.) */

/* A message for err (either sign accepted); never NULL, never changes. */
TULIP_API const char *tulip_strerror(int err);
/* The symbolic name ("ECANCELED") for err; "UNKNOWN" if not in the table. */
TULIP_API const char *tulip_err_name(int err);

/* Which readiness a task waits for. */
#define TULIP_READABLE 1
#define TULIP_WRITABLE 2

typedef struct tulip_config {
    /* Task stack size in bytes; 0 = default (256 KiB), rounded up to pages.
     * Minimum 16 KiB. */
    size_t stack_size;
    /* "epoll", "poll", "io_uring" or NULL for the default (TULIP_BACKEND
     * in the environment, else epoll). io_uring is opt-in and falls back to
     * epoll when the kernel refuses it. */
    const char *backend;
    /* Virtual clock: time stands still while tasks run and jumps to the
     * next timer when the loop would otherwise sleep. For deterministic
     * tests of timeouts. */
    bool virtual_clock;
    /* Debug mode: -1 = read TULIP_DEBUG from the environment, 0 off, 1 on. */
    int debug;
    /* Free stacks kept for reuse (0 = default 256). */
    unsigned stack_cache;
    /* Debug mode's slow-step threshold in ns: 0 = TULIP_SLOW_MS from the
     * environment or 100 ms; < 0 turns the detector off. */
    int64_t slow_step_ns;
    /* Seed of the loop's random choices (select fairness...): 0 = from the
     * clock; fixed for reproducible runs (with virtual_clock). */
    uint64_t seed;
    /* Loops tulip_run_ex starts, one thread each (thread-per-core, see
     * tulip/runtime.h): 0 = TULIP_WORKERS from the environment, else one
     * loop (the behaviour before workers existed); -1 = one per online
     * core; n > 0 = n loops. The main task runs on loop 0, the caller's
     * thread. Ignored by tulip_loop_new. */
    int workers;
    /* Pin loop i's thread to CPU i (mod the CPUs this process may use). */
    int pin_cpus;
    /* Shared stacks for compact tasks (TULIP_SPAWN_COMPACT), each of
     * stack_size bytes with a guard zone, taken on first use: 0 = 4. More
     * means fewer copies when many compact tasks are runnable at once. */
    unsigned compact_stacks;
} tulip_config;

/* Fill cfg with defaults. */
TULIP_API void tulip_config_init(tulip_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
