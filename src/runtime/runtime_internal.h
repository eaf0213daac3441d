/* Shared by the worker pool (workers.c) and tulip_run_ex's loops
 * (multi.c). */
#ifndef TULIP_RUNTIME_INTERNAL_H
#define TULIP_RUNTIME_INTERNAL_H

#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>

#include "tulip/runtime.h"

/* tulip_workers_new whose worker i is pinned to allowed CPU pin_base + i
 * when cfg->pin_cpus is set. */
tulip_workers *tulip__workers_new(unsigned n, const tulip_config *cfg, unsigned pin_base);
/* Pin the calling thread to the i-th CPU (mod their number) of allowed. */
void tulip__pin_thread(const cpu_set_t *allowed, unsigned i);
/* The placed-task counter of l when l is a loop of the running
 * tulip_run_ex, else NULL. */
atomic_uint *tulip__multi_load(tulip_loop *l);

/* tulip_run's core on an existing loop (run.c): run until t ends, cancel
 * and finish every other task, free t; returns t's result (-ECANCELED if
 * it never finished). The loop is left for the caller to free. */
int tulip__run_main(tulip_loop *l, tulip_task *t);

/* tulip_run_ex's side (run.c): how many loops cfg asks for (>= 1),
 * or a negative errno for a bad value. */
int tulip__multi_count(const tulip_config *cfg);
/* Start loops 1..n-1 around loop0 (the caller's, not running yet) and make
 * them the current run's. Errors: -EBUSY (another run has loops), -ENOMEM,
 * or what made a loop fail to start; nothing is left behind. */
int tulip__multi_start(tulip_loop *loop0, const tulip_config *cfg, int n);
/* After loop 0's tasks ended: cancel every other loop's tasks, wait for
 * them, free those loops. */
void tulip__multi_stop(void);

/* Spin before sleep (spin.c) on a loop that other loops post to; from
 * the loop's own thread, before it runs. */
struct tulip_loop;
void tulip__spin_install(struct tulip_loop *l);

#endif
