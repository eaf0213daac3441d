/* Futures: a one-shot value from any producer to tasks on one loop.
 * Settling from another thread is a CAS plus a post of the future's own
 * embedded node, so it needs no allocation and cannot fail half-way. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "task_internal.h"
#include "../common/fault.h"

/* noinline: __builtin_return_address(0) must be the user's call site. */
__attribute__((noinline)) tulip_future *tulip_future_new(void)
{
    tulip_loop *l = tulip__tls.loop;
    if (!l) {
        errno = EPERM;
        return NULL;
    }
    tulip_future *f = tulip__calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->loop = l;
    struct tulip__sched *s = tulip__sched(l);
    if (s->debug) {
        /* Debug mode keeps a registry for the leak report. */
        f->site = __builtin_return_address(0);
        f->dbg_next = s->debug_futures;
        if (s->debug_futures)
            s->debug_futures->dbg_prev = f;
        s->debug_futures = f;
        f->registered = 1;
    }
    return f;
}

static void future_destroy(tulip_future *f);

static void complete(tulip_future *f)
{
    atomic_store_explicit(&f->state, FUT_DONE, memory_order_release);
    tulip__waitq_wake_all(&f->waiters, 0);
    struct fut_cb *c = f->callbacks;
    f->callbacks = NULL;
    /* Registration order. */
    struct fut_cb *fifo = tulip__lifo_to_fifo(c, struct fut_cb);
    while (fifo) {
        struct fut_cb *next = fifo->next;
        fifo->cb(fifo->arg, f);
        free(fifo);
        fifo = next;
    }
    if (f->released)
        future_destroy(f);
}

static void complete_post(struct tulip__post *p)
{
    complete((tulip_future *)p);
}

static int settle(tulip_future *f, void *value, int err)
{
    if (!f)
        return -EINVAL;
    int expected = FUT_PENDING;
    if (!atomic_compare_exchange_strong(&f->state, &expected, FUT_SETTLING))
        return -EALREADY;
    f->value = value;
    f->err = err;
    if (tulip__tls.loop == f->loop && f->loop->running) {
        complete(f);
    } else {
        f->post.run = complete_post;
        f->post.drop = NULL;
        tulip__post(f->loop, &f->post);
    }
    return 0;
}

int tulip_future_resolve(tulip_future *f, void *value)
{
    return settle(f, value, 0);
}

int tulip_future_reject(tulip_future *f, int err)
{
    if (err >= 0)
        return -EINVAL;
    return settle(f, NULL, err);
}

int tulip_future_result(const tulip_future *f, void **value)
{
    if (f)
        ((tulip_future *)f)->awaited = 1; /* the outcome was looked at */
    if (!f)
        return -EINVAL;
    if (atomic_load_explicit(&((tulip_future *)f)->state, memory_order_acquire) != FUT_DONE)
        return -EAGAIN;
    if (f->err)
        return f->err;
    if (value)
        *value = f->value;
    return 0;
}

int tulip_future_await(tulip_future *f, void **value)
{
    tulip_task *t = tulip__current();
    if (!f)
        return -EINVAL;
    if (!t || t->loop != f->loop)
        return -EPERM;
    f->awaited = 1;
    if (atomic_load_explicit(&f->state, memory_order_acquire) != FUT_DONE) {
        int rc = tulip__waitq_wait_self(&f->waiters, TULIP__WAIT_FUTURE, f);
        if (rc < 0)
            return rc;
    }
    return tulip_future_result(f, value);
}

bool tulip_future_is_done(const tulip_future *f)
{
    return f && atomic_load_explicit(&((tulip_future *)f)->state, memory_order_acquire) == FUT_DONE;
}

int tulip_future_on_done(tulip_future *f, void (*cb)(void *arg, tulip_future *f), void *arg)
{
    if (!f || !cb)
        return -EINVAL;
    if (tulip_future_is_done(f)) {
        cb(arg, f);
        return 0;
    }
    struct fut_cb *c = tulip__malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    c->cb = cb;
    c->arg = arg;
    c->next = f->callbacks;
    f->callbacks = c;
    return 0;
}

int tulip_future_release(tulip_future *f)
{
    if (!f)
        return 0;
    if (f->waiters.n)
        return -EBUSY;
    if (atomic_load(&f->state) == FUT_DONE) {
        future_destroy(f);
        return 0;
    }
    f->released = 1; /* complete() frees it */
    return 0;
}

int tulip_future_free(tulip_future *f)
{
    if (!f)
        return 0;
    /* A settle from another thread that the loop has not seen yet still
     * holds f (the loop will touch it): in use, like a waiter. */
    if (f->waiters.n || atomic_load(&f->state) == FUT_SETTLING)
        return -EBUSY;
    future_destroy(f);
    return 0;
}

static void future_destroy(tulip_future *f)
{
    while (f->callbacks) {
        struct fut_cb *c = f->callbacks;
        f->callbacks = c->next;
        free(c);
    }
    if (f->registered) {
        if (f->dbg_prev)
            f->dbg_prev->dbg_next = f->dbg_next;
        else
            tulip__sched(f->loop)->debug_futures = f->dbg_next;
        if (f->dbg_next)
            f->dbg_next->dbg_prev = f->dbg_prev;
    }
    free(f);
}
