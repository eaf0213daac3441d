/* tulip_signal_wait: tasks parked on signals. The loop's signal slots are
 * process-wide (one handler per signal), so the waiter table is too: one
 * entry per signal, bound to the loop that watches it, with a reference
 * count of the tasks waiting. The lock guards against loops on other
 * threads claiming the same signal; it is never held across a park. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "tulip/signal.h"
#include "io_internal.h"
#include "../common/dlist.h"

#define NSIG_WAIT 32

struct sigwaiter {
    struct tulip__dlink link;
    tulip_task *task;
    uint32_t mask;                 /* signals it waits for */
    int linked;
};

_Static_assert(sizeof(struct sigwaiter) <= sizeof(union tulip__wait_rec), "sigwaiter must fit the task's wait record");

static struct {
    pthread_mutex_t mu;
    tulip_loop *loop[NSIG_WAIT];   /* who watches signo on our behalf */
    unsigned refs[NSIG_WAIT];      /* waiting tasks per signo */
    struct tulip__dlist waiters;   /* every waiter, any loop */
} sw = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct sigwaiter *waiter_of(struct tulip__dlink *n)
{
    return tulip__dlist_item(n, struct sigwaiter, link);
}

static void unlink_waiter(struct sigwaiter *w)
{
    if (!w->linked)
        return;
    tulip__dlist_remove(&sw.waiters, &w->link);
    w->linked = 0;
}

/* On the loop thread, from the loop's signal dispatch. */
static void on_signal(void *arg, int signo)
{
    tulip_loop *l = arg;
    pthread_mutex_lock(&sw.mu);
    struct sigwaiter *w = waiter_of(sw.waiters.head);
    while (w) {
        struct sigwaiter *next = waiter_of(w->link.next);
        if ((w->mask & (1u << signo)) && w->task->loop == l) {
            unlink_waiter(w);
            tulip__task_wake(w->task, signo);
        }
        w = next;
    }
    pthread_mutex_unlock(&sw.mu);
}

static void cancel_wait(void *ctx)
{
    pthread_mutex_lock(&sw.mu);
    unlink_waiter(ctx);
    pthread_mutex_unlock(&sw.mu);
}

/* Under sw.mu. */
static void release(tulip_loop *l, uint32_t mask)
{
    for (int s = 1; s < NSIG_WAIT; s++)
        if ((mask & (1u << s)) && --sw.refs[s] == 0) {
            tulip_signal_unwatch(l, s);
            sw.loop[s] = NULL;
        }
}

int tulip_signal_wait(const int *signos, size_t n)
{
    tulip_task *t = tulip__current();
    if (!t)
        return -EPERM;
    if (!signos || n == 0)
        return -EINVAL;
    uint32_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        int s = signos[i];
        if (s <= 0 || s >= NSIG_WAIT || s == SIGKILL || s == SIGSTOP)
            return -EINVAL;
        mask |= 1u << s;
    }
    int rc = tulip__checkpoint_status(t);
    if (rc)
        return rc;
    tulip_loop *l = t->loop;
    /* In the task, not on its stack (a compact task's frames may be saved
     * away while it waits; docs/DESIGN.md section 11). */
    struct sigwaiter *w = (struct sigwaiter *)(void *)t->wait_rec.raw;
    *w = (struct sigwaiter){.task = t, .mask = mask};

    pthread_mutex_lock(&sw.mu);
    uint32_t held = 0;
    for (int s = 1; s < NSIG_WAIT && rc == 0; s++) {
        if (!(mask & (1u << s)))
            continue;
        if (sw.loop[s] == NULL) {
            rc = tulip_signal_watch(l, s, on_signal, l);
            if (rc < 0)
                break;
            sw.loop[s] = l;
        } else if (sw.loop[s] != l) {
            rc = -EBUSY;
            break;
        }
        sw.refs[s]++;
        held |= 1u << s;
    }
    if (rc < 0) {
        release(l, held);
        pthread_mutex_unlock(&sw.mu);
        return rc;
    }
    tulip__dlist_push_front(&sw.waiters, &w->link);
    w->linked = 1;
    pthread_mutex_unlock(&sw.mu);

    rc = tulip__park_nocheck(TULIP__WAIT_SIGNAL, w, cancel_wait, w);

    pthread_mutex_lock(&sw.mu);
    unlink_waiter(w);
    release(l, mask);
    pthread_mutex_unlock(&sw.mu);
    return rc;
}
