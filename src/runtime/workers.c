/* Worker loops on threads and cross-loop spawns. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "tulip/runtime.h"
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
};

struct tulip_workers {
    unsigned n;
    atomic_uint next;
    struct worker *ws;
    tulip_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned settled;  /* workers that are running or failed */
};

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

static void *worker_thread(void *p)
{
    struct worker *wk = p;
    tulip_loop *l = tulip_loop_new(&wk->owner->cfg);
    if (!l) {
        report(wk, errno);
        return NULL;
    }
    wk->loop = l;
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
    for (unsigned i = 0; i < w->n; i++) {
        struct worker *wk = &w->ws[i];
        if (!wk->started)
            continue;
        if (!wk->error)
            while (tulip_call_soon_threadsafe(wk->loop, cancel_keeper, wk) == -ENOMEM)
                sched_yield(); /* shutdown must not give up for want of 32 bytes */
        pthread_join(wk->thread, NULL);
    }
}

tulip_workers *tulip_workers_new(unsigned n, const tulip_config *cfg)
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
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int err = 0;
    unsigned started = 0;
    for (unsigned i = 0; i < n; i++) {
        w->ws[i].owner = w;
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

struct remote {
    tulip_fn fn;
    void *arg;
    tulip_future *result;  /* on the origin loop, or NULL */
    tulip_loop *target;
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

static int remote_body(void *p)
{
    struct remote *r = p;
    int rc = r->fn(r->arg);
    settle(r->result, rc);
    free(r);
    return rc;
}

/* Runs on the target loop. */
static void remote_start(void *p)
{
    struct remote *r = p;
    tulip_task *t = tulip_spawn_on(r->target, remote_body, r);
    if (!t) {
        settle(r->result, -errno);
        free(r);
        return;
    }
    tulip_detach(t);
}

int tulip_spawn_remote(tulip_loop *target, tulip_fn fn, void *arg, tulip_future **out)
{
    if (!target || !fn)
        return -EINVAL;
    struct remote *r = tulip__malloc(sizeof *r);
    if (!r)
        return -ENOMEM;
    r->fn = fn;
    r->arg = arg;
    r->target = target;
    r->result = NULL;
    if (out) {
        r->result = tulip_future_new();
        if (!r->result) {
            int err = errno;
            free(r);
            return -err;
        }
    }
    /* Once posted, r belongs to the target thread (it may already be
     * freed when the call returns): keep what we need first. */
    tulip_future *result = r->result;
    int rc = tulip_call_soon_threadsafe(target, remote_start, r);
    if (rc < 0) {
        if (result)
            tulip_future_free(result);
        free(r);
        return rc;
    }
    if (out)
        *out = result;
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
