/* Worker loops on threads and cross-loop spawns.
 *
 * Shutdown is in two phases: every loop is first asked to cancel its tasks
 * and waits for them (tulip__run_main), and only when all loops have done
 * so are any freed. A task unwinding on one loop may still post to another
 * (a remote spawn, a channel hand-off); the target must not be freed under
 * it. Posts that reach a loop which no longer runs are dropped at its free
 * and release what they carry. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "tulip/runtime.h"
#include "runtime_internal.h"
#include "../task/task_internal.h"
#include "../common/fault.h"

#define MAX_WORKERS 1024

struct worker {
    tulip_workers *owner;
    pthread_t thread;
    tulip_loop *loop;
    tulip_task *keeper;
    int started;       /* thread created */
    int error;         /* loop could not start */
    unsigned index;
};

struct tulip_workers {
    unsigned n;
    atomic_uint next;
    struct worker *ws;
    tulip_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned settled;  /* workers that are running or failed */
    unsigned finished; /* workers whose tasks have all ended */
    int may_free;      /* every worker finished: loops may be freed */
    int pin;
    unsigned pin_base; /* worker i runs on allowed CPU pin_base + i */
    cpu_set_t cpus;    /* CPUs the creating thread may use */
};

void tulip__pin_thread(const cpu_set_t *allowed, unsigned i)
{
    int n = CPU_COUNT(allowed);
    if (n <= 0)
        return;
    unsigned k = i % (unsigned)n;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, allowed))
            continue;
        if (k-- == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            /* Best effort: a refused pin leaves the thread where it was. */
            (void)pthread_setaffinity_np(pthread_self(), sizeof one, &one);
            return;
        }
    }
}

static void report(struct worker *wk, int error)
{
    tulip_workers *w = wk->owner;
    pthread_mutex_lock(&w->mu);
    wk->error = error;
    w->settled++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* The keeper holds the loop open until shutdown cancels it. */
static int keeper_main(void *p)
{
    struct worker *wk = p;
    report(wk, 0);
    int rc = tulip_sleep(TULIP_FOREVER);
    return rc == -ECANCELED ? 0 : rc;
}

/* Phase two of shutdown: wait until every worker's tasks have ended. */
static void finish_and_wait(tulip_workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->finished++;
    pthread_cond_broadcast(&w->cv);
    while (!w->may_free)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void *worker_thread(void *p)
{
    struct worker *wk = p;
    if (wk->owner->pin)
        tulip__pin_thread(&wk->owner->cpus, wk->owner->pin_base + wk->index);
    tulip_loop *l = tulip_loop_new(&wk->owner->cfg);
    if (!l) {
        report(wk, errno);
        return NULL;
    }
    wk->loop = l;
    tulip__spin_install(l);
    wk->keeper = tulip_spawn_on(l, keeper_main, wk);
    if (!wk->keeper) {
        int err = errno;
        tulip_loop_free(l);
        wk->loop = NULL;
        report(wk, err);
        return NULL;
    }
    tulip_task_set_name(wk->keeper, "worker-keeper");
    tulip__run_main(l, wk->keeper);
    finish_and_wait(wk->owner);
    tulip_loop_free(l);
    return NULL;
}

static void cancel_keeper(void *p)
{
    struct worker *wk = p;
    tulip_cancel(wk->keeper);
}

static void stop_all(tulip_workers *w)
{
    unsigned running = 0;
    for (unsigned i = 0; i < w->n; i++) {
        struct worker *wk = &w->ws[i];
        if (!wk->started || wk->error)
            continue;
        running++;
        while (tulip_call_soon_threadsafe(wk->loop, cancel_keeper, wk) == -ENOMEM)
            sched_yield(); /* shutdown must not give up for want of 32 bytes */
    }
    pthread_mutex_lock(&w->mu);
    while (w->finished < running)
        pthread_cond_wait(&w->cv, &w->mu);
    w->may_free = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n; i++)
        if (w->ws[i].started)
            pthread_join(w->ws[i].thread, NULL);
}

tulip_workers *tulip_workers_new(unsigned n, const tulip_config *cfg)
{
    return tulip__workers_new(n, cfg, 0);
}

tulip_workers *tulip__workers_new(unsigned n, const tulip_config *cfg, unsigned pin_base)
{
    if (n == 0 || n > MAX_WORKERS) {
        errno = EINVAL;
        return NULL;
    }
    tulip_workers *w = tulip__calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->ws = tulip__calloc(n, sizeof *w->ws);
    if (!w->ws) {
        free(w);
        return NULL;
    }
    w->n = n;
    if (cfg)
        w->cfg = *cfg;
    else
        tulip_config_init(&w->cfg);
    w->cfg.workers = 1;
    w->pin = w->cfg.pin_cpus;
    w->pin_base = pin_base;
    if (w->pin && sched_getaffinity(0, sizeof w->cpus, &w->cpus) != 0)
        w->pin = 0;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int err = 0;
    unsigned started = 0;
    for (unsigned i = 0; i < n; i++) {
        w->ws[i].owner = w;
        w->ws[i].index = i;
        int rc = pthread_create(&w->ws[i].thread, NULL, worker_thread, &w->ws[i]);
        if (rc != 0) {
            err = rc;
            break;
        }
        w->ws[i].started = 1;
        started++;
    }
    pthread_mutex_lock(&w->mu);
    while (w->settled < started)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < started && !err; i++)
        err = w->ws[i].error;
    if (err) {
        stop_all(w);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w->ws);
        free(w);
        errno = err;
        return NULL;
    }
    return w;
}

unsigned tulip_workers_count(const tulip_workers *w)
{
    return w ? w->n : 0;
}

tulip_loop *tulip_workers_loop(tulip_workers *w, unsigned i)
{
    return w && i < w->n ? w->ws[i].loop : NULL;
}

void tulip_workers_free(tulip_workers *w)
{
    if (!w)
        return;
    stop_all(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->ws);
    free(w);
}

/* ---- remote spawn ------------------------------------------------------ */

/* One allocation per remote spawn, posted as it is (no second allocation
 * for the post) and released by whichever of run or drop happens. */
struct remote {
    struct tulip__post post;   /* first */
    tulip_fn fn;
    void *arg;
    tulip_future *result;      /* on the origin loop, or NULL */
    tulip_loop *target;
    atomic_uint *load;         /* the target's placed-task count, or NULL */
};

static void settle(tulip_future *f, int rc)
{
    if (!f)
        return;
    if (rc >= 0)
        tulip_future_resolve(f, (void *)(intptr_t)rc);
    else
        tulip_future_reject(f, rc);
}

static void remote_done(struct remote *r, int rc)
{
    settle(r->result, rc);
    if (r->load)
        atomic_fetch_sub_explicit(r->load, 1, memory_order_relaxed);
    free(r);
}

static int remote_body(void *p)
{
    struct remote *r = p;
    int rc = r->fn(r->arg);
    remote_done(r, rc);
    return rc;
}

/* Runs on the target loop. */
static void remote_start(struct tulip__post *p)
{
    struct remote *r = (struct remote *)p;
    tulip_task *t = tulip_spawn_on(r->target, remote_body, r);
    if (!t) {
        remote_done(r, -errno);
        return;
    }
    tulip_detach(t);
}

/* The target was freed before it ran the spawn (shutdown). The future is
 * left unsettled: its loop may be gone too by now. */
static void remote_drop(struct tulip__post *p)
{
    struct remote *r = (struct remote *)p;
    r->result = NULL;
    remote_done(r, -ECANCELED);
}

int tulip_spawn_remote(tulip_loop *target, tulip_fn fn, void *arg, tulip_future **out)
{
    if (!target || !fn)
        return -EINVAL;
    if (out && !tulip__tls.loop)
        return -EPERM;
    struct remote *r = tulip__post_new(sizeof *r, remote_start, remote_drop);
    if (!r)
        return -ENOMEM;
    r->fn = fn;
    r->arg = arg;
    r->target = target;
    r->load = tulip__multi_load(target);
    if (out) {
        r->result = tulip_future_new();
        if (!r->result) {
            int err = errno;
            free(r);
            return -err;
        }
        *out = r->result;
    }
    if (r->load)
        atomic_fetch_add_explicit(r->load, 1, memory_order_relaxed);
    /* Once posted, r belongs to the target thread. */
    tulip__post(target, &r->post);
    return 0;
}

int tulip_workers_run(tulip_workers *w, tulip_fn fn, void *arg)
{
    if (!w || !fn)
        return -EINVAL;
    if (!tulip__current())
        return -EPERM;
    unsigned i = atomic_fetch_add_explicit(&w->next, 1, memory_order_relaxed) % w->n;
    tulip_future *f;
    int rc = tulip_spawn_remote(w->ws[i].loop, fn, arg, &f);
    if (rc < 0)
        return rc;
    void *value = NULL;
    rc = tulip_future_await(f, &value);
    if (!tulip_future_is_done(f)) {
        /* We were cancelled: the remote task goes on; its result will
         * free the future when it arrives. */
        tulip_future_release(f);
        return rc;
    }
    tulip_future_free(f);
    return rc < 0 ? rc : (int)(intptr_t)value;
}
