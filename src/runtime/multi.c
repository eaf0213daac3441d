/* tulip_run_ex on several loops (tulip_config.workers): loop 0 is the
 * caller's thread and runs the main task, loops 1..n-1 are a tulip_workers
 * pool. Thread-per-core and share-nothing: a task stays on the loop that
 * runs it; work moves between loops only when a program places it there
 * (tulip_spawn_remote / tulip_spawn_placed) or sends it through a
 * channel or queue.
 *
 * One run with several loops at a time per process: the loops are found
 * from any thread through one published pointer, which is what lets a task
 * on any loop call tulip_loop_at or tulip_spawn_placed without being
 * handed anything. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "../task/task_internal.h"
#include "../common/fault.h"

#define MAX_LOOPS 1024

struct multi {
    unsigned n;
    tulip_workers *workers;
    atomic_uint rr;
    int pinned;                    /* the caller's thread was pinned */
    cpu_set_t saved;               /* its affinity before */
    tulip_loop **loops;
    atomic_uint *load;             /* tasks placed on loop i, not yet ended */
};

static _Atomic(struct multi *) current;

static struct multi *get(void)
{
    return atomic_load_explicit(&current, memory_order_acquire);
}

static int online_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > MAX_LOOPS ? MAX_LOOPS : n) : 1;
}

int tulip__multi_count(const tulip_config *cfg)
{
    int n = cfg ? cfg->workers : 0;
    if (n == 0) {
        const char *e = getenv("TULIP_WORKERS");
        if (!e || !*e)
            return 1;
        if (strcmp(e, "auto") == 0)
            return online_cores();
        char *end;
        long v = strtol(e, &end, 10);
        if (*end || v < -1 || v == 0 || v > MAX_LOOPS)
            return -EINVAL;
        n = (int)v;
    }
    if (n == -1)
        return online_cores();
    if (n < -1 || n > MAX_LOOPS)
        return -EINVAL;
    return n;
}

static void multi_free(struct multi *m)
{
    if (m->pinned)
        (void)pthread_setaffinity_np(pthread_self(), sizeof m->saved, &m->saved);
    free(m->loops);
    free(m->load);
    free(m);
}

int tulip__multi_start(tulip_loop *loop0, const tulip_config *cfg, int n)
{
    if (n <= 1)
        return 0;
    struct multi *m = tulip__calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->n = (unsigned)n;
    m->loops = tulip__calloc((size_t)n, sizeof *m->loops);
    m->load = tulip__calloc((size_t)n, sizeof *m->load);
    if (!m->loops || !m->load) {
        multi_free(m);
        return -ENOMEM;
    }
    struct multi *expected = NULL;
    if (!atomic_compare_exchange_strong(&current, &expected, m)) {
        multi_free(m);
        return -EBUSY;
    }
    /* Claimed but not usable until the loops are filled in: lookups see
     * n loops only after the workers run (published again below). */
    if (cfg && cfg->pin_cpus && sched_getaffinity(0, sizeof m->saved, &m->saved) == 0) {
        tulip__pin_thread(&m->saved, 0);
        m->pinned = 1;
    }
    m->workers = tulip__workers_new((unsigned)n - 1, cfg, 1);
    if (!m->workers) {
        int err = errno;
        atomic_store(&current, NULL);
        multi_free(m);
        return -err;
    }
    m->loops[0] = loop0;
    tulip__spin_install(loop0);
    for (unsigned i = 1; i < m->n; i++)
        m->loops[i] = tulip_workers_loop(m->workers, i - 1);
    atomic_store_explicit(&current, m, memory_order_release);
    return 0;
}

void tulip__multi_stop(void)
{
    struct multi *m = get();
    if (!m)
        return;
    tulip_workers_free(m->workers);
    atomic_store(&current, NULL);
    multi_free(m);
}

static int ready(const struct multi *m)
{
    return m && m->loops[0] && m->workers;
}

atomic_uint *tulip__multi_load(tulip_loop *l)
{
    struct multi *m = get();
    if (!ready(m))
        return NULL;
    for (unsigned i = 0; i < m->n; i++)
        if (m->loops[i] == l)
            return &m->load[i];
    return NULL;
}

unsigned tulip_loop_count(void)
{
    struct multi *m = get();
    return ready(m) ? m->n : 1;
}

tulip_loop *tulip_loop_at(unsigned i)
{
    struct multi *m = get();
    if (ready(m))
        return i < m->n ? m->loops[i] : NULL;
    return i == 0 ? tulip__tls.loop : NULL;
}

int tulip_loop_index(void)
{
    tulip_loop *self = tulip__tls.loop;
    if (!self)
        return -1;
    struct multi *m = get();
    if (!ready(m))
        return 0;
    for (unsigned i = 0; i < m->n; i++)
        if (m->loops[i] == self)
            return (int)i;
    return -1;
}

tulip_loop *tulip_loop_pick(tulip_placement policy)
{
    struct multi *m = get();
    if (!ready(m))
        return tulip__tls.loop;
    unsigned start = atomic_fetch_add_explicit(&m->rr, 1, memory_order_relaxed) % m->n;
    if (policy != TULIP_PLACE_LEAST_LOADED)
        return m->loops[start];
    /* Ties go to the next in round-robin order, so an idle set of loops
     * is filled evenly rather than loop 0 first. */
    unsigned best = start, best_load = UINT_MAX;
    for (unsigned k = 0; k < m->n; k++) {
        unsigned i = (start + k) % m->n;
        unsigned load = atomic_load_explicit(&m->load[i], memory_order_relaxed);
        if (load < best_load) {
            best = i;
            best_load = load;
        }
    }
    return m->loops[best];
}

int tulip_spawn_placed(tulip_placement policy, tulip_fn fn, void *arg, tulip_future **out)
{
    tulip_loop *l = tulip_loop_pick(policy);
    if (!l)
        return -EPERM;
    return tulip_spawn_remote(l, fn, arg, out);
}
