/* Cancel scopes. Cancellation is level-triggered: once a scope is cancelled
 * or past its deadline, every suspension inside it fails until the scope is
 * exited, so code unwinds without having to remember it was told once.
 * The state lives in the scope, not the task, which is why an inner scope's
 * exit can never swallow an outer scope's cancellation. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "task_internal.h"
#include "../common/fault.h"

#define SCOPE_MAGIC 0x5c09e5c0u
#define SCOPE_FREE_MAX 256

_Static_assert(sizeof(struct tulip__scope) <= sizeof(tulip_scope), "tulip_scope storage too small");
_Static_assert(_Alignof(struct tulip__scope) <= _Alignof(tulip_scope), "tulip_scope storage misaligned");

static struct tulip__scope *S(tulip_scope *s)
{
    return (struct tulip__scope *)(void *)s;
}

/* The scope's state: the node the scope points to while open, or in
 * place. */
static struct tulip__scope *state(struct tulip__scope *s)
{
    return s->node ? s->node : s;
}

/* Debug mode: a scope on a compact task's stack touched by anyone but
 * that task is a pointer into frames that may be saved away. */
static void check_reach(tulip_scope *ps, const char *what)
{
    tulip_task *cur = tulip__current();
    tulip_loop *l = cur ? cur->loop : tulip_loop_current();
    if (l && tulip__sched(l)->debug)
        tulip__compact_check_foreign(tulip__sched(l), cur, ps, what);
}

static void misuse(const char *what)
{
    fprintf(stderr, "tulip: %s\n", what);
    abort();
}

/* Nodes come from the loop's list of closed ones: a scope entered and
 * exited per request allocates nothing in the steady state. */
static struct tulip__scope *node_get(struct tulip__sched *sc)
{
    struct tulip__scope *n = sc->scope_free;
    if (__builtin_expect(n != NULL, 1)) {
        sc->scope_free = n->parent;
        sc->scope_free_n--;
        return n;
    }
    return tulip__malloc(sizeof *n);
}

static void node_put(struct tulip__sched *sc, struct tulip__scope *n)
{
    if (sc->scope_free_n >= SCOPE_FREE_MAX) {
        free(n);
        return;
    }
    n->parent = sc->scope_free;
    sc->scope_free = n;
    sc->scope_free_n++;
}

void tulip__scope_drop(struct tulip__sched *sc, tulip_task *t)
{
    struct tulip__scope *s = t->scope;
    t->scope = NULL;
    while (s) {
        struct tulip__scope *parent = s->parent;
        tulip__timer_stop(&sc->loop, &s->timer);
        if (s->is_node)
            free(s);
        s = parent;
    }
}

void tulip__scope_fini(struct tulip__sched *sc)
{
    while (sc->scope_free) {
        struct tulip__scope *n = sc->scope_free;
        sc->scope_free = n->parent;
        free(n);
    }
    sc->scope_free_n = 0;
}

static void scope_fire(struct tulip__timer *tm)
{
    struct tulip__scope *s = tulip__container_of(tm, struct tulip__scope, timer);
    s->expired = 1;
    tulip__task_recheck(s->task);
}

static inline void arm(struct tulip__scope *s)
{
    tulip_loop *l = s->task->loop;
    if (s->deadline <= tulip__loop_now(l)) {
        tulip__timer_stop(l, &s->timer);
        s->expired = 1;
        return;
    }
    /* A pending timer moved later stays where it is filed
     * (src/loop/timer_heap.h): a few stores here, the usual move of a
     * read deadline (the HTTP server makes two per request). */
    if (tulip__heap_move_later(&l->timers, &s->timer, s->deadline))
        return;
    if (s->deadline == TULIP_FOREVER && !tulip__timer_pending(&s->timer))
        return;
    /* On ENOMEM the deadline is still seen at every suspension point (see
     * tulip__checkpoint_status); only a wait already parked would overrun. */
    (void)tulip__timer_start(l, &s->timer, s->deadline);
}

static void enter(tulip_scope *ps, int64_t deadline, int shield)
{
    tulip_task *t = tulip__current();
    if (!t)
        misuse("tulip_scope_enter called outside a task");
    struct tulip__scope *s = S(ps);
    s->node = NULL;
    s->magic = SCOPE_MAGIC;
    s->open = 1;
    s->is_node = 0;
    /* The state goes off the stack (see task_internal.h). */
    struct tulip__scope *n = node_get(tulip__sched(t->loop));
    if (n) {
        s->node = n;
        s = n;
        s->node = NULL;
        s->is_node = 1;
    } else if (t->shared) {
        misuse("out of memory for a compact task's scope");
    }
    s->parent = t->scope;
    s->task = t;
    s->deadline = deadline;
    s->cancelled = 0;
    s->expired = 0;
    s->shield = (uint8_t)shield;
    s->open = 1;
    s->magic = SCOPE_MAGIC;
    tulip__timer_init(&s->timer, scope_fire);
    t->scope = s;
    arm(s);
}

void tulip_scope_enter(tulip_scope *s, int64_t deadline)
{
    enter(s, deadline, 0);
}

void tulip_scope_enter_shielded(tulip_scope *s, int64_t deadline)
{
    enter(s, deadline, 1);
}

void tulip_scope_enter_timeout(tulip_scope *s, int64_t timeout_ns)
{
    int64_t now = tulip_now();
    int64_t d = timeout_ns < 0 ? now : (now > INT64_MAX - timeout_ns ? TULIP_FOREVER : now + timeout_ns);
    enter(s, d, 0);
}

int tulip_scope_exit(tulip_scope *ps)
{
    struct tulip__scope *outer = S(ps);
    tulip_task *t = tulip__current();
    if (outer->magic != SCOPE_MAGIC || !outer->open)
        misuse("tulip_scope_exit on a scope that is not open");
    struct tulip__scope *s = state(outer);
    if (!t || t->scope != s)
        misuse("tulip_scope_exit: scopes must be exited in reverse order, by the task that entered them");
    tulip__timer_stop(t->loop, &s->timer);
    t->scope = s->parent;
    s->open = 0;
    if (s != outer) {
        /* Back in place for tulip_scope_is_triggered and a late cancel. */
        outer->deadline = s->deadline;
        outer->cancelled = s->cancelled;
        outer->expired = s->expired;
        outer->shield = s->shield;
        outer->task = t;
        outer->open = 0;
        outer->node = NULL;
        node_put(tulip__sched(t->loop), s);
        s = outer;
    }
    if (s->cancelled)
        return -ECANCELED;
    if (s->expired || (s->deadline != TULIP_FOREVER && s->deadline <= tulip__loop_now(t->loop)))
        return -ETIMEDOUT;
    return 0;
}

void tulip_scope_cancel(tulip_scope *ps)
{
    check_reach(ps, "the scope cancelled");
    struct tulip__scope *s = S(ps);
    if (s->magic != SCOPE_MAGIC)
        misuse("tulip_scope_cancel on an uninitialised scope");
    s = state(s);
    if (s->cancelled)
        return;
    s->cancelled = 1;
    if (s->open)
        tulip__task_recheck(s->task);
}

void tulip_scope_set_deadline(tulip_scope *ps, int64_t deadline)
{
    check_reach(ps, "the scope whose deadline is set");
    struct tulip__scope *s = S(ps);
    if (s->magic != SCOPE_MAGIC || !s->open)
        misuse("tulip_scope_set_deadline on a scope that is not open");
    s = state(s);
    s->deadline = deadline;
    s->expired = 0;
    arm(s);
    if (s->expired)
        tulip__task_recheck(s->task);
}

bool tulip_scope_is_triggered(const tulip_scope *ps)
{
    const struct tulip__scope *s = (const struct tulip__scope *)(const void *)ps;
    if (s->node)
        s = s->node;
    if (s->cancelled || s->expired)
        return 1;
    return s->deadline != TULIP_FOREVER && s->open && s->deadline <= tulip__loop_now(s->task->loop);
}
