/* Parallelism: several loops, each on its own thread (one per core), and
 * tasks sent from one loop to another. Each loop stays single-threaded;
 * the only cross-thread traffic is a post per remote spawn and one per
 * result, both through the loops' lock-free wake-up queues. */
#ifndef TULIP_RUNTIME_H
#define TULIP_RUNTIME_H

#include "tulip/common.h"
#include "tulip/loop.h"
#include "tulip/task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tulip_workers tulip_workers;

/* Start n worker loops on n threads (cfg for each loop, NULL = defaults).
 * Workers do not take over SIGINT. Returns once every loop runs.
 * NULL with errno: EINVAL (n == 0 or n > 1024), ENOMEM, EAGAIN (no thread
 * could be created), or the error that made a worker's loop fail. */
TULIP_API tulip_workers *tulip_workers_new(unsigned n, const tulip_config *cfg);
TULIP_API unsigned tulip_workers_count(const tulip_workers *w);
/* Worker i's loop (NULL if i is out of range), a target for
 * tulip_spawn_remote. */
TULIP_API tulip_loop *tulip_workers_loop(tulip_workers *w, unsigned i);

/* Run fn(arg) as a (detached) task on loop target, from any thread. If out
 * is not NULL, *out gets a future on the calling thread's loop, settled
 * with fn's result: resolved with (void *)(intptr_t)r when r >= 0,
 * rejected with r otherwise. The caller owns it (tulip_future_free once
 * settled, or tulip_future_release). Errors: -EINVAL (NULL target or fn),
 * -ENOMEM, -EPERM (out given but this thread runs no loop). */
TULIP_API int tulip_spawn_remote(tulip_loop *target, tulip_fn fn, void *arg, tulip_future **out);

/* From a task: run fn(arg) on the next worker (round robin) and wait for
 * its result - spawn+join across threads. Returns fn's result, or
 * -ECANCELED/-ETIMEDOUT if the caller is cancelled while waiting (the
 * remote task runs on; its result is discarded), -ENOMEM, -EPERM. */
TULIP_API int tulip_workers_run(tulip_workers *w, tulip_fn fn, void *arg);

/* ---- the loops of tulip_run_ex (tulip_config.workers) ------------------
 * With workers = n, tulip_run_ex runs n loops, one thread each; the main
 * task runs on loop 0 (the caller's thread). Thread-per-core and
 * share-nothing: a task never moves; work reaches another loop only when
 * placed there (tulip_spawn_remote to tulip_loop_at(i), or a placement
 * policy below) or sent through a tulip_chan / tulip_queue, which work
 * across loops. When main returns, every loop cancels its tasks and waits
 * for them (tasks parked anywhere), then all loops are freed.
 * One run with several loops per process at a time (-EBUSY otherwise).
 * Outside such a run these see one loop: the calling thread's. */

/* Loops of the current run (1 without workers). */
TULIP_API unsigned tulip_loop_count(void);
/* Loop i (0 = main's), NULL when out of range. Any thread. */
TULIP_API tulip_loop *tulip_loop_at(unsigned i);
/* Index of the calling thread's loop in the run, -1 if none. */
TULIP_API int tulip_loop_index(void);

typedef enum tulip_placement {
    /* Loops in turn: 0, 1, ..., n-1, 0, ... (one shared counter). */
    TULIP_PLACE_ROUND_ROBIN = 0,
    /* The loop with the fewest tasks placed by tulip_spawn_remote /
     * tulip_spawn_placed that have not ended yet (ties in round-robin
     * order). Tasks spawned locally with tulip_spawn are not counted: a
     * loop's own children are its business. */
    TULIP_PLACE_LEAST_LOADED = 1,
} tulip_placement;

/* The loop the policy picks now. */
TULIP_API tulip_loop *tulip_loop_pick(tulip_placement policy);
/* tulip_spawn_remote(tulip_loop_pick(policy), fn, arg, out).
 * Errors: as tulip_spawn_remote; -EPERM outside any loop. */
TULIP_API int tulip_spawn_placed(tulip_placement policy, tulip_fn fn, void *arg, tulip_future **out);

/* Stop the workers: each loop cancels its tasks and waits for them to
 * unwind (as tulip_run does), then its thread is joined; then free w.
 * Blocks the calling thread. Loops waiting on results from these workers
 * must still be running when the workers finish (their results are posted
 * to them): free the workers before those loops. */
TULIP_API void tulip_workers_free(tulip_workers *w);

#ifdef __cplusplus
}
#endif
#endif
