/* Seeing inside a running program: task dumps, the slow-step detector's
 * settings and counters. See docs/DEBUGGING.md.
 *
 * Debug mode (tulip_config.debug = 1, or TULIP_DEBUG=1 in the environment)
 * adds, per loop: a watchdog thread that reports any callback or task step
 * holding the loop longer than a threshold (100 ms, or TULIP_SLOW_MS), with
 * a backtrace of the code that held it; a task dump on SIGQUIT; and a leak
 * report when the loop is freed. With debug mode off none of it runs: the
 * loop does not even call into this layer. tulip_dump works in both. */
#ifndef TULIP_DEBUG_H
#define TULIP_DEBUG_H

#include <stdio.h>

#include "tulip/common.h"
#include "tulip/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Print every task of the loop running on this thread to out: id, name,
 * state (running, ready, or what it waits on: fd and direction, timer,
 * lock, queue, channel, join, future...), age, entry function, spawn site
 * and the backtrace of its stack. Call it from a task or a callback.
 * Errors: -EINVAL (out is NULL), -EPERM (no loop runs on this thread). */
TULIP_API int tulip_dump(FILE *out);

/* As tulip_dump for loop l, which must belong to this thread (running or
 * not, e.g. after tulip_loop_run returned).
 * Errors: -EINVAL (NULL argument), -EPERM (l belongs to another thread). */
TULIP_API int tulip_dump_loop(tulip_loop *l, FILE *out);

/* Set the slow-step threshold of l (NULL: the current loop) to ns
 * nanoseconds; ns <= 0 turns the detector off. The initial value is
 * TULIP_SLOW_MS milliseconds from the environment, else 100 ms.
 * Any thread may call it.
 * Errors: -EINVAL (no loop), -EOPNOTSUPP (debug mode is off on l). */
TULIP_API int tulip_debug_set_slow_threshold(tulip_loop *l, int64_t ns);

typedef struct tulip_debug_stats {
    uint64_t slow_steps;        /* steps that exceeded the threshold */
    uint64_t steps;             /* callbacks and task steps run */
    int64_t max_step_ns;        /* the longest step so far */
    int64_t slow_threshold_ns;  /* current threshold (<= 0: off) */
    bool backtraces;            /* true if backtraces are available (libunwind) */
    /* Compact tasks (TULIP_SPAWN_COMPACT): frames saved off their shared
     * stacks, restored, and the largest and average saved size. */
    uint64_t compact_saves;
    uint64_t compact_restores;
    size_t compact_max_saved;
    size_t compact_avg_saved;
} tulip_debug_stats;

/* Debug-mode counters of l (NULL: the current loop); from l's thread.
 * Errors: -EINVAL (no loop or NULL out), -EOPNOTSUPP (debug mode off). */
TULIP_API int tulip_debug_stats_get(tulip_loop *l, tulip_debug_stats *out);

/* true if debug mode is on for l (NULL: the current loop). */
TULIP_API bool tulip_debug_is_enabled(const tulip_loop *l);

#ifdef __cplusplus
}
#endif
#endif
