/* Tasks: spawn, the switch into and out of a task, park/wake, join,
 * detach, cancel, sleep, yield, names and task-local values.
 *
 * Every switch goes through the loop's own context (loop -> task -> loop),
 * never task to task: the loop is the only place that decides what runs
 * next, which keeps ordering predictable and the code small. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_internal.h"
#include "../common/fault.h"
#include "../platform/annotate.h"

_Thread_local int tulip__io_budget;
_Thread_local tulip_task *tulip__tls_task __attribute__((tls_model("initial-exec")));
static atomic_uint_fast64_t next_task_id = 1;

static void task_free(tulip_task *t);

static void run_local_dtors(tulip_task *t)
{
    while (t->locals) {
        struct tulip__local *v = t->locals;
        t->locals = v->next;
        if (v->dtor)
            v->dtor(v->value);
        free(v);
    }
}

/* Leave the running task for the loop. */
static void switch_to_loop(tulip_task *t)
{
    struct tulip__sched *l = tulip__sched(t->loop);
    tulip__asan_start_switch(&t->fake_stack, l->sched_stack_bottom, l->sched_stack_size);
    tulip__tsan_switch(l->tsan_sched);
    tulip__ctx_switch(&t->ctx, &l->sched_ctx);
    tulip__asan_finish_switch(t->fake_stack);
}

static void task_entry(void *p)
{
    tulip_task *t = p;
    struct tulip__sched *l = tulip__sched(t->loop);
    tulip__asan_finish_switch_from(NULL, &l->sched_stack_bottom, &l->sched_stack_size);

    t->result = t->fn(t->arg);

    run_local_dtors(t);
    t->state = TULIP__TASK_DONE;
    l->loop.holds--;
    l->loop.stats.tasks_alive--;
    if (t->group)
        tulip__group_child_done(t);
    else if (t->joiner)
        tulip__task_wake(t->joiner, 0);
    l->dead_task = t;
    /* Final switch: NULL tells ASan this fiber's fake stack can go. */
    tulip__asan_start_switch(NULL, l->sched_stack_bottom, l->sched_stack_size);
    tulip__tsan_switch(l->tsan_sched);
    tulip__ctx_switch(&t->ctx, &l->sched_ctx);
    fprintf(stderr, "tulip: finished task %llu was resumed\n", (unsigned long long)t->id);
    abort();
}

/* A task's stack goes back: a private one to the pool, a compact task's
 * place on its shared stack to that stack. */
static void stack_release(struct tulip__sched *l, tulip_task *t)
{
    if (t->shared)
        tulip__compact_release(l, t);
    else if (t->stack)
        tulip__stack_put(&l->stacks, t->stack);
}

/* The task block joins the loop's free list, for the next spawn. */
static void free_list_push(struct tulip__sched *l, tulip_task *t)
{
    t->all.next = l->task_free;
    l->task_free = &t->all;
    l->task_free_n++;
}

void tulip__task_resume(tulip_loop *loop, struct tulip__runnable *r)
{
    struct tulip__sched *l = tulip__sched(loop);
    tulip_task *t = tulip__container_of(r, tulip_task, run);
    if (__builtin_expect(t->shared != NULL, 0) && tulip__compact_enter(l, t, task_entry) < 0) {
        /* No memory to save the shared stack's occupant: t waits for
         * another pass (the occupant's frames stay where they are). */
        tulip__ready_push(loop, &t->run);
        return;
    }
    t->state = TULIP__TASK_RUNNING;
    tulip__tls_task = t;
    l->current = t;
    tulip__running.stack = t->stack;
    tulip__running.task_id = t->id;
    tulip__running.task_name = t->name;
    tulip__running.guard_size = l->stacks.guard_size;
    tulip__io_budget = TULIP__IO_BUDGET;
    loop->stats.switches++;

    tulip__asan_start_switch(&l->sched_fake_stack, t->stack->lo, t->stack->size);
    l->tsan_sched = tulip__tsan_current();
    tulip__tsan_switch(t->tsan_fiber);
    tulip__ctx_switch(&l->sched_ctx, &t->ctx);
    tulip__asan_finish_switch(l->sched_fake_stack);
#if defined(TULIP_ASAN)
    tulip__compact_suspended(l, t);
#endif

    tulip__tls_task = NULL;
    l->current = NULL;
    tulip__running.stack = NULL;
    tulip_task *dead = l->dead_task;
    if (dead) {
        l->dead_task = NULL;
        stack_release(l, dead);
        dead->stack = NULL;
        tulip__tsan_destroy(dead->tsan_fiber);
        dead->tsan_fiber = NULL;
        if (dead->detached)
            task_free(dead);
    }
}

/* Inlined into each caller so that tulip_spawn's constant flags fold the
 * compact branches away. */
__attribute__((always_inline)) static inline tulip_task *spawn(tulip_loop *loop, tulip_fn fn, void *arg,
                                                               const void *site, unsigned flags)
{
    if (!fn || (flags & ~TULIP_SPAWN_COMPACT)) {
        errno = EINVAL;
        return NULL;
    }
#if defined(TULIP_CTX_UCONTEXT)
    if (flags & TULIP_SPAWN_COMPACT) {
        errno = ENOTSUP;
        return NULL;
    }
#endif
    if (!loop) {
        errno = EPERM;
        return NULL;
    }
    struct tulip__sched *l = tulip__sched(loop);
    tulip_task *t = tulip__task_of_all(l->task_free);
    if (t) {
        l->task_free = t->all.next;
        l->task_free_n--;
    } else {
        t = tulip__malloc(sizeof *t);
        if (!t)
            return NULL;
        t->xblock = NULL;
        t->xblock_size = 0;
    }
    memset(t, 0, offsetof(tulip_task, name));
    t->name[0] = 0;
    if (flags & TULIP_SPAWN_COMPACT) {
        int rc = tulip__compact_bind(l, t);
        if (rc < 0) {
            free_list_push(l, t);
            errno = -rc;
            return NULL;
        }
    } else if (!(t->stack = tulip__stack_get(&l->stacks))) {
        int err = errno;
        if (l->debug)
            fprintf(stderr, "tulip: spawn failed: cannot get a %zu-byte task stack: %s (%d tasks alive)\n",
                    l->stacks.stack_size, tulip_strerror(err), (int)loop->stats.tasks_alive);
        free_list_push(l, t);
        errno = err;
        return NULL;
    } else {
        tulip__ctx_make(&t->ctx, t->stack->lo, t->stack->size, task_entry, t);
    }
    t->tsan_fiber = tulip__tsan_create();
    t->run.kind = TULIP__RUN_TASK;
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    t->id = atomic_fetch_add_explicit(&next_task_id, 1, memory_order_relaxed);
    /* Debug mode wants exact ages; otherwise the last clock reading will
     * do (a clock read per spawn would cost more than the rest of it). */
    if (l->debug) {
        t->created = tulip__loop_now(loop);
        t->park_check = 1;
    } else {
        t->created = loop->now;
    }
    t->spawn_site = site;
    tulip__timer_init(&t->timer, NULL);
    tulip__dlist_push_front(&l->all_tasks, &t->all);
    loop->holds++;
    loop->stats.tasks_alive++;
    loop->stats.tasks_spawned++;
    t->state = TULIP__TASK_READY;
    tulip__ready_push(loop, &t->run);
    loop->batch_woken++;
    return t;
}

/* noinline keeps __builtin_return_address(0) meaning "the user's call". */
__attribute__((noinline)) tulip_task *tulip_spawn_on(tulip_loop *l, tulip_fn fn, void *arg)
{
    return spawn(l, fn, arg, __builtin_return_address(0), 0);
}

__attribute__((noinline)) tulip_task *tulip_spawn(tulip_fn fn, void *arg)
{
    return spawn(tulip__tls.loop, fn, arg, __builtin_return_address(0), 0);
}

__attribute__((noinline)) tulip_task *tulip_spawn_ex(tulip_loop *l, tulip_fn fn, void *arg, unsigned flags)
{
    return spawn(l ? l : tulip__tls.loop, fn, arg, __builtin_return_address(0), flags);
}

#define TASK_FREE_MAX 1024

/* The struct goes for good, and its wait block with it. Out of line:
 * task_free stays small enough to inline into tulip_join. */
__attribute__((noinline, cold)) static void task_dealloc(tulip_task *t)
{
    free(t->xblock);
    free(t);
}

static void task_free(tulip_task *t)
{
    struct tulip__sched *l = tulip__sched(t->loop);
    tulip__dlist_remove(&l->all_tasks, &t->all);
    if (l->task_free_n < TASK_FREE_MAX && !l->tearing_down)
        free_list_push(l, t);
    else
        task_dealloc(t);
}

/* The smallest block: a single wait with an item of up to 64 bytes, so
 * nearly every task allocates its block once. */
#define XBLOCK_MIN 192

__attribute__((noinline)) void *tulip__task_block_grow(tulip_task *t, size_t need)
{
    size_t size = need < XBLOCK_MIN ? XBLOCK_MIN : (need + 63) / 64 * 64;
    if (size > UINT32_MAX)
        return NULL;
    void *b = tulip__malloc(size);
    if (!b)
        return NULL;
    free(t->xblock);
    t->xblock = b;
    t->xblock_size = (uint32_t)size;
    return b;
}

/* Loop teardown: tasks that never finished are dropped without resuming
 * them (tulip_run cancels and joins them first; a bare loop cannot). */
void tulip__sched_stop(struct tulip__sched *s)
{
    struct tulip__sched *l = s;
    tulip_loop *loop = &s->loop;
    l->tearing_down = 1;
    while (l->task_free) {
        tulip_task *t = tulip__task_of_all(l->task_free);
        l->task_free = t->all.next;
        task_dealloc(t);
    }
    l->task_free_n = 0;
    /* Drop the ready entries that are tasks before the tasks are freed
     * (the entries live in them); keep only callbacks. */
    struct tulip__runnable **pp = &loop->ready.head;
    loop->ready.tail = NULL;
    size_t n = 0;
    while (*pp) {
        if ((*pp)->kind == TULIP__RUN_TASK) {
            *pp = (*pp)->next;
        } else {
            loop->ready.tail = *pp;
            pp = &(*pp)->next;
            n++;
        }
    }
    loop->ready.n = n;
    /* Unhook every parked task from whatever it waits on, so nothing (a
     * pool worker, a signal slot, a wait queue) keeps pointing at it or at
     * this loop; all of them before any is freed, as a wait may be on
     * another task (tulip_join's cancel clears the joined task's joiner:
     * the joined one, newer, would be freed first). */
    for (tulip_task *t = tulip__task_of_all(l->all_tasks.head); t; t = tulip__task_of_all(t->all.next)) {
        if (t->state == TULIP__TASK_PARKED && t->park_cancel) {
            void (*cancel)(void *) = t->park_cancel;
            t->park_cancel = NULL;
            cancel(t->park_ctx);
        }
    }
    while (l->all_tasks.head) {
        tulip_task *t = tulip__task_of_all(l->all_tasks.head);
        if (t->state != TULIP__TASK_DONE) {
            tulip__timer_stop(loop, &t->timer);
            tulip__scope_drop(l, t);
            tulip__tsan_destroy(t->tsan_fiber);
            run_local_dtors(t);
            stack_release(l, t);
            loop->holds--;
            loop->stats.tasks_alive--;
        }
        task_free(t);
    }
}

/* ---- parking ---------------------------------------------------------- */

int tulip__checkpoint_status(tulip_task *t)
{
    for (struct tulip__scope *s = t->scope; s; s = s->parent) {
        if (s->cancelled)
            return -ECANCELED;
        if (s->expired || (s->deadline != TULIP_FOREVER && s->deadline <= tulip__loop_now(t->loop))) {
            s->expired = 1;
            return -ETIMEDOUT;
        }
        if (s->shield)
            return 0;
    }
    return t->cancelled ? -ECANCELED : 0;
}

/* Debug mode: nothing a task parks on may lie in a compact task's frames,
 * and the runtime's wait record (what the cancel hook gets, and peers
 * find, and the kernel completes) never lies in the parking task's own
 * stack, whatever its kind (docs/DESIGN.md section 11). */
__attribute__((noinline, cold)) static void park_check(tulip_task *t, const void *object, const void *ctx)
{
    struct tulip__sched *s = tulip__sched(t->loop);
    tulip__compact_check(s, t, object, "the object waited on");
    tulip__compact_check(s, t, ctx, "the wait record");
    const char *lo = t->stack ? t->stack->lo : NULL;
    if (lo && (const char *)ctx >= lo && (const char *)ctx < lo + t->stack->size) {
        fprintf(stderr,
                "tulip: debug: the wait record %p of task %llu \"%s\" lies in its own stack.\n"
                "  Peers and cancellation reach a parked task's record while it is suspended:\n"
                "  the runtime keeps it in the task or on the heap (docs/DESIGN.md section 11).\n",
                ctx, (unsigned long long)t->id, t->name);
        abort();
    }
}

int tulip__park_nocheck(uint8_t reason, const void *object, void (*cancel)(void *ctx), void *ctx)
{
    tulip_task *t = tulip__tls_task;
    t->wait_reason = reason;
    if (__builtin_expect(t->park_check, 0))
        park_check(t, object, ctx);
    t->state = TULIP__TASK_PARKED;
    t->wait_object = object;
    t->park_cancel = cancel;
    t->park_ctx = ctx;
    switch_to_loop(t);
    t->wait_reason = TULIP__WAIT_NONE;
    t->wait_object = NULL;
    return t->wake_result;
}

int tulip__park(uint8_t reason, const void *object, void (*cancel)(void *ctx), void *ctx)
{
    tulip_task *t = tulip__tls_task;
    if (!t) {
        if (cancel)
            cancel(ctx);
        return -EPERM;
    }
    if (cancel) {
        int st = tulip__checkpoint_status(t);
        if (st) {
            cancel(ctx);
            return st;
        }
    }
    return tulip__park_nocheck(reason, object, cancel, ctx);
}

void tulip__task_wake(tulip_task *t, int result)
{
    if (t->state != TULIP__TASK_PARKED)
        return;
    t->park_cancel = NULL;
    t->wake_result = result;
    t->state = TULIP__TASK_READY;
    tulip__ready_push(t->loop, &t->run);
    t->loop->batch_woken++;
}

void tulip__task_interrupt(tulip_task *t, int err)
{
    if (t->state != TULIP__TASK_PARKED || !t->park_cancel)
        return;
    void (*cancel)(void *) = t->park_cancel;
    t->park_cancel = NULL;
    cancel(t->park_ctx);
    tulip__task_wake(t, err);
}

void tulip__task_recheck(tulip_task *t)
{
    if (t->state != TULIP__TASK_PARKED || !t->park_cancel)
        return;
    int st = tulip__checkpoint_status(t);
    if (st)
        tulip__task_interrupt(t, st);
}

int tulip__budget_charge(void)
{
    if (--tulip__io_budget > 0)
        return 0;
    return tulip_yield();
}

/* ---- public task API -------------------------------------------------- */

int tulip_checkpoint(void)
{
    int st = tulip__wait_enter(NULL);
    return st ? st : tulip__budget_charge();
}

static void join_cancel(void *ctx)
{
    ((tulip_task *)ctx)->joiner = NULL;
}

int tulip_join(tulip_task *t)
{
    tulip_task *self = tulip__tls_task;
    if (!self)
        return -EPERM;
    if (!t || t->detached || t->group)
        return -EINVAL;
    if (t == self)
        return -EDEADLK;
    if (t->joiner)
        return -EBUSY;
    if (t->state != TULIP__TASK_DONE) {
        t->joiner = self;
        int rc = tulip__park(TULIP__WAIT_JOIN, t, join_cancel, t);
        if (rc < 0)
            return rc;
    }
    int result = t->result;
    task_free(t);
    return result;
}

void tulip__task_release(tulip_task *t)
{
    task_free(t);
}

int tulip_detach(tulip_task *t)
{
    if (!t || t->detached || t->group)
        return -EINVAL;
    if (t->joiner)
        return -EBUSY;
    if (t->state == TULIP__TASK_DONE && !t->stack) {
        task_free(t);
        return 0;
    }
    t->detached = 1;
    return 0;
}

int tulip_cancel(tulip_task *t)
{
    if (!t)
        return -EINVAL;
    if (t->state == TULIP__TASK_DONE)
        return -EALREADY;
    t->cancelled = 1;
    tulip__task_recheck(t);
    return 0;
}

tulip_task *tulip_self(void)
{
    return tulip__tls_task;
}

static void sleep_fire(struct tulip__timer *tm)
{
    tulip_task *t = tulip__container_of(tm, tulip_task, timer);
    tulip__task_wake(t, 0);
}

static void sleep_cancel(void *ctx)
{
    tulip_task *t = ctx;
    tulip__timer_stop(t->loop, &t->timer);
}

int tulip_sleep_until(int64_t deadline)
{
    tulip_task *t;
    int st = tulip__wait_enter(&t);
    if (st)
        return st;
    if (deadline <= tulip__loop_now(t->loop))
        return tulip_yield();
    t->timer.fire = sleep_fire;
    int rc = tulip__timer_start(t->loop, &t->timer, deadline);
    if (rc < 0)
        return rc;
    return tulip__park_nocheck(TULIP__WAIT_SLEEP, NULL, sleep_cancel, t);
}

int tulip_sleep(int64_t ns)
{
    tulip_task *t = tulip__tls_task;
    if (!t)
        return -EPERM;
    if (ns <= 0)
        return tulip_yield();
    int64_t now = tulip__loop_now(t->loop);
    return tulip_sleep_until(now > INT64_MAX - ns ? INT64_MAX : now + ns);
}

int tulip_yield(void)
{
    tulip_task *t;
    int st = tulip__wait_enter(&t);
    if (st)
        return st;
    t->state = TULIP__TASK_READY;
    tulip__ready_push(t->loop, &t->run);
    switch_to_loop(t);
    return 0;
}

uint64_t tulip_task_id(const tulip_task *t)
{
    return t ? t->id : 0;
}

int tulip_task_set_name(tulip_task *t, const char *name)
{
    if (!t || !name)
        return -EINVAL;
    size_t n = strlen(name);
    if (n >= sizeof t->name)
        n = sizeof t->name - 1;
    memcpy(t->name, name, n);
    t->name[n] = 0;
    return 0;
}

const char *tulip_task_name(const tulip_task *t)
{
    return t ? t->name : NULL;
}

bool tulip_task_is_cancelled(const tulip_task *t)
{
    return t ? t->cancelled : 0;
}

bool tulip_task_is_done(const tulip_task *t)
{
    return t ? t->state == TULIP__TASK_DONE : 0;
}

int tulip_task_result(const tulip_task *t, int *result)
{
    if (!t || !result)
        return -EINVAL;
    if (t->state != TULIP__TASK_DONE)
        return -EAGAIN;
    *result = t->result;
    return 0;
}

int tulip_local_set(const void *key, void *value, void (*dtor)(void *))
{
    tulip_task *t = tulip__tls_task;
    if (!t)
        return -EPERM;
    if (!key)
        return -EINVAL;
    for (struct tulip__local *v = t->locals; v; v = v->next) {
        if (v->key == key) {
            if (v->dtor && v->value != value)
                v->dtor(v->value);
            v->value = value;
            v->dtor = dtor;
            return 0;
        }
    }
    struct tulip__local *v = tulip__malloc(sizeof *v);
    if (!v)
        return -ENOMEM;
    v->key = key;
    v->value = value;
    v->dtor = dtor;
    v->next = t->locals;
    t->locals = v;
    return 0;
}

void *tulip_local_get(const void *key)
{
    tulip_task *t = tulip__tls_task;
    if (!t)
        return NULL;
    for (struct tulip__local *v = t->locals; v; v = v->next)
        if (v->key == key)
            return v->value;
    return NULL;
}

/* ---- wait queues ------------------------------------------------------- */

static void waiter_cancel(void *ctx)
{
    tulip__waitq_remove(ctx);
}

int tulip__waitq_wait(struct tulip__waitq *q, struct tulip__waiter *w, uint8_t reason, const void *object)
{
    w->task = tulip__tls_task;
    if (!w->task)
        return -EPERM;
    tulip__waitq_push(q, w);
    return tulip__park(reason, object, waiter_cancel, w);
}

int tulip__waitq_wait_self(struct tulip__waitq *q, uint8_t reason, const void *object)
{
    tulip_task *t = tulip__tls_task;
    if (!t)
        return -EPERM;
    struct tulip__waiter *w = &t->wait_rec.w;
    w->task = t;
    w->data = NULL;
    w->result = 0;
    tulip__waitq_push(q, w);
    return tulip__park(reason, object, waiter_cancel, w);
}

struct tulip__waiter *tulip__waitq_wake_one(struct tulip__waitq *q, int result)
{
    struct tulip__waiter *w = tulip__waitq_pop(q);
    if (w) {
        w->result = result;
        tulip__task_wake(w->task, result);
    }
    return w;
}

size_t tulip__waitq_wake_all(struct tulip__waitq *q, int result)
{
    size_t n = 0;
    while (tulip__waitq_wake_one(q, result))
        n++;
    return n;
}
