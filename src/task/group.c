/* Task groups (nurseries) and the gather/race helpers built on them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "task_internal.h"
#include "../common/fault.h"

struct tulip_group {
    tulip_loop *loop;
    struct tulip__dlist children;  /* running, newest first */
    size_t running;
    int first_error;
    uint8_t failed;
    uint8_t cancelled;
    tulip_task *waiter;
    struct tulip__dlist kept;      /* finished children spawned with a handle */
};

#define child_of(link) tulip__dlist_item((link), tulip_task, group_link)

tulip_group *tulip_group_new(void)
{
    tulip_loop *l = tulip__tls.loop;
    if (!l) {
        errno = EPERM;
        return NULL;
    }
    tulip_group *g = tulip__calloc(1, sizeof *g);
    if (g)
        g->loop = l;
    return g;
}

/* A child spawned with a handle is not detached: when it ends it moves to
 * g->kept (t->group stays set, so tulip_join/tulip_detach refuse it) and
 * its struct lives until tulip_group_free, so the handle never dangles. A
 * child without one is detached and freed as soon as it ends, which keeps
 * a long-lived group (a server's connections) from growing. */
static tulip_task *group_spawn(tulip_group *g, tulip_fn fn, void *arg, bool keep, unsigned flags)
{
    if (!g || !fn) {
        errno = EINVAL;
        return NULL;
    }
    if (g->cancelled || g->failed) {
        errno = ECANCELED;
        return NULL;
    }
    tulip_task *t = flags ? tulip_spawn_ex(g->loop, fn, arg, flags) : tulip_spawn_on(g->loop, fn, arg);
    if (!t)
        return NULL;
    t->detached = !keep;
    t->group = g;
    tulip__dlist_push_front(&g->children, &t->group_link);
    g->running++;
    return t;
}

int tulip_group_spawn(tulip_group *g, tulip_fn fn, void *arg)
{
    return group_spawn(g, fn, arg, false, 0) ? 0 : -errno;
}

int tulip_group_spawn_ex(tulip_group *g, tulip_fn fn, void *arg, unsigned flags)
{
    return group_spawn(g, fn, arg, false, flags) ? 0 : -errno;
}

tulip_task *tulip_group_spawn_task(tulip_group *g, tulip_fn fn, void *arg)
{
    return group_spawn(g, fn, arg, true, 0);
}

static void cancel_children(tulip_group *g)
{
    for (tulip_task *c = child_of(g->children.head); c; c = child_of(c->group_link.next))
        tulip_cancel(c);
}

void tulip__group_child_done(tulip_task *t)
{
    tulip_group *g = t->group;
    tulip__dlist_remove(&g->children, &t->group_link);
    if (t->detached)
        t->group = NULL;
    else
        tulip__dlist_push_front(&g->kept, &t->group_link);
    g->running--;
    if (t->result < 0 && t->result != -ECANCELED && !g->failed) {
        g->failed = 1;
        g->first_error = t->result;
        cancel_children(g);
    }
    if (g->running == 0 && g->waiter)
        tulip__task_wake(g->waiter, 0);
}

static void wait_cancel(void *ctx)
{
    ((tulip_group *)ctx)->waiter = NULL;
}

int tulip_group_wait(tulip_group *g)
{
    tulip_task *self = tulip__current();
    if (!self)
        return -EPERM;
    if (!g)
        return -EINVAL;
    if (g->waiter)
        return -EBUSY;
    while (g->running) {
        g->waiter = self;
        int rc = tulip__park(TULIP__WAIT_GROUP, g, wait_cancel, g);
        g->waiter = NULL;
        if (rc < 0) {
            /* Children never outlive the wait: cancel them and wait for them
             * to unwind, uninterruptibly, before reporting. */
            tulip_group_cancel(g);
            while (g->running) {
                g->waiter = self;
                tulip__park_nocheck(TULIP__WAIT_GROUP, g, NULL, NULL);
                g->waiter = NULL;
            }
            return rc;
        }
    }
    if (g->failed)
        return g->first_error;
    if (g->cancelled)
        return -ECANCELED;
    return 0;
}

void tulip_group_cancel(tulip_group *g)
{
    if (!g)
        return;
    g->cancelled = 1;
    cancel_children(g);
}

size_t tulip_group_size(const tulip_group *g)
{
    return g ? g->running : 0;
}

int tulip_group_free(tulip_group *g)
{
    if (!g)
        return 0;
    if (g->running || g->waiter)
        return -EBUSY;
    tulip_task *t;
    while ((t = child_of(tulip__dlist_pop_front(&g->kept))))
        tulip__task_release(t);
    free(g);
    return 0;
}

/* ---- gather / race ------------------------------------------------------ */

struct member {
    tulip_fn fn;
    void *arg;
    int *result;
    size_t index;
    struct race *race;
};

struct race {
    tulip_group *group;
    int have_winner;
    size_t winner;
    int result;
};

static int gather_member(void *p)
{
    struct member *m = p;
    int r = m->fn(m->arg);
    if (m->result)
        *m->result = r;
    return r;
}

/* gather and race: fns[i](args[i]) run as members of a new group through
 * wrap, and are all waited for. Returns the first spawn error (the members
 * spawned are cancelled), else the group's result; -ENOMEM before anything
 * ran. */
static int run_members(size_t n, const tulip_fn *fns, void *const *args, tulip_fn wrap, int *results,
                       struct race *race)
{
    struct member *m = tulip__calloc(n, sizeof *m);
    tulip_group *g = m ? tulip_group_new() : NULL;
    if (!g) {
        free(m);
        return -ENOMEM;
    }
    if (race)
        race->group = g;
    int rc = 0;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        m[i] = (struct member){ fns[i], args ? args[i] : NULL, results ? &results[i] : NULL, i, race };
        if (results)
            results[i] = -ECANCELED;
        rc = tulip_group_spawn(g, wrap, &m[i]);
        if (rc < 0)
            tulip_group_cancel(g);
    }
    int wrc = tulip_group_wait(g);
    tulip_group_free(g);
    free(m);
    return rc < 0 ? rc : wrc;
}

int tulip_gather(size_t n, const tulip_fn *fns, void *const *args, int *results)
{
    if (!tulip__current())
        return -EPERM;
    if (n == 0)
        return 0;
    if (!fns)
        return -EINVAL;
    return run_members(n, fns, args, gather_member, results, NULL);
}

static int race_member(void *p)
{
    struct member *m = p;
    int r = m->fn(m->arg);
    struct race *race = m->race;
    if (!race->have_winner) {
        race->have_winner = 1;
        race->winner = m->index;
        race->result = r;
        tulip_group_cancel(race->group);
    }
    /* The outcome travels in race->result; a member never fails the group. */
    return r < 0 ? -ECANCELED : 0;
}

int tulip_race(size_t n, const tulip_fn *fns, void *const *args, size_t *winner)
{
    if (!tulip__current())
        return -EPERM;
    if (n == 0 || !fns)
        return -EINVAL;
    struct race race = {0};
    int rc = run_members(n, fns, args, race_member, NULL, &race);
    int own = tulip__checkpoint_status(tulip__current());
    if (own)
        return own; /* the caller itself was cancelled or timed out */
    if (!race.have_winner)
        return rc < 0 ? rc : -ECANCELED;
    if (winner)
        *winner = race.winner;
    return race.result;
}
