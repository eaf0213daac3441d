/* The process-wide thread pool behind tulip_run_blocking.
 *
 * A job lives on the heap, never on the caller's stack, because a caller
 * that is cancelled leaves while its job may still run. Who frees the job is
 * decided under the pool lock by its state:
 *   QUEUED    the caller's cancel hook unlinks it; fn never runs.
 *   RUNNING   the cancel hook marks it ABANDONED; the worker frees it.
 *   DONE      the worker has posted the completion (still under the lock,
 *             so the loop was alive then: its task was parked on the job).
 *             The post wakes the task, which frees the job; if the task
 *             gave up meanwhile, the post (or the loop's drop at teardown)
 *             frees it.
 * So a worker never touches a loop whose waiter has left, and completing a
 * job costs no allocation: the post is embedded in the job. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "tulip/pool.h"
#include "../task/task_internal.h"
#include "../common/fault.h"

#define ATEXIT_BOUND TULIP_MS(100)

enum { JOB_QUEUED = 1, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

struct job {
    struct tulip__post post;      /* first: posts cast back */
    struct tulip__dlink link;     /* in a jobq while QUEUED */
    tulip_fn fn;
    void *arg;
    void (*abandon)(void *arg);
    tulip_loop *loop;
    tulip_task *task;             /* loop thread only; NULL once it left */
    int result;
    uint8_t state;                /* under pool.mu */
    uint8_t slow;
    uint8_t dropped;              /* failed by shutdown without running */
};

/* A pool thread. Threads are joinable, so that a thread counted as gone
 * has really finished (valgrind and ASan see its stack and TLS released,
 * not "possibly lost"): each exiting thread joins the one that exited
 * before it, and shutdown joins the last. */
struct thr {
    pthread_t th;
    unsigned gen;                 /* the generation it was started in */
    struct thr *next;             /* on pool.exited */
    struct thr *lprev, *lnext;    /* on pool.live while it runs */
};

struct jobq {
    struct tulip__dlist jobs;     /* FIFO */
    unsigned n;
};

#define job_of(l) tulip__dlist_item((l), struct job, link)

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;          /* jobs queued, or threads must exit */
    pthread_cond_t gone;          /* a thread exited (CLOCK_MONOTONIC) */
    struct jobq fast, slow;
    unsigned size;                /* 0 until configured */
    unsigned threads, idle, slow_running;
    unsigned gen;                 /* bumped by shutdown: older threads exit */
    struct thr *exited;           /* exited, not yet joined */
    struct thr *live;             /* running (a forked child frees them) */
    uint64_t completed, abandoned;
    int64_t idle_timeout;         /* an idle thread exits after this */
    int atexit_registered;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
          .idle_timeout = TULIP_POOL_DEFAULT_IDLE};

static pthread_once_t gone_once = PTHREAD_ONCE_INIT;

/* Both conditions on the monotonic clock: idle threads time out on work,
 * shutdown waits on gone, and neither may jump with the wall clock. */
static void conds_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&pool.gone, &a);
    pthread_cond_init(&pool.work, &a);
    pthread_condattr_destroy(&a);
}

static void gone_init(void)
{
    conds_init();
}

/* Now plus ns (none if ns <= 0) on the monotonic clock, for the timed
 * waits on pool.work and pool.gone. */
static struct timespec deadline_after(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ns > 0) {
        int64_t sub = ts.tv_nsec + ns % TULIP_SEC(1);
        ts.tv_sec += (time_t)(ns / TULIP_SEC(1) + sub / TULIP_SEC(1));
        ts.tv_nsec = (long)(sub % TULIP_SEC(1));
    }
    return ts;
}

static void q_push(struct jobq *q, struct job *j)
{
    tulip__dlist_push_back(&q->jobs, &j->link);
    q->n++;
}

static void q_unlink(struct jobq *q, struct job *j)
{
    tulip__dlist_remove(&q->jobs, &j->link);
    q->n--;
}

static unsigned slow_cap(void)
{
    return (pool.size + 1) / 2;
}

/* Fast jobs first; a slow one only while its class is under its cap. */
static struct job *take(void)
{
    struct job *j = job_of(pool.fast.jobs.head);
    if (j) {
        q_unlink(&pool.fast, j);
        return j;
    }
    j = job_of(pool.slow.jobs.head);
    if (j && pool.slow_running < slow_cap()) {
        q_unlink(&pool.slow, j);
        pool.slow_running++;
        return j;
    }
    return NULL;
}

static void job_discard(struct job *j)
{
    if (j->abandon)
        j->abandon(j->arg);
    free(j);
}

/* Loop thread: the completion posted by a worker. */
static void job_complete(struct tulip__post *p)
{
    struct job *j = (struct job *)p;
    if (j->task)
        tulip__task_wake(j->task, 0);
    else
        job_discard(j);
}

/* Loop freed before the completion ran: nobody will read the result. */
static void job_drop(struct tulip__post *p)
{
    job_discard((struct job *)p);
}

static int start_thread(void);

/* Join threads taken off pool.exited (outside the lock: they have left
 * it, and only have to return). */
static void join_all(struct thr *t)
{
    while (t) {
        struct thr *next = t->next;
        pthread_join(t->th, NULL);
        free(t);
        t = next;
    }
}

static void *worker(void *arg)
{
    struct thr *self = arg;
    /* The generation it was started in, not the one current when it first
     * gets the lock: a shutdown may have come in between. */
    unsigned gen = self->gen;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        if (gen != pool.gen || pool.threads > pool.size)
            break;
        struct job *j = take();
        if (!j) {
            pool.idle++;
            int rc = 0;
            if (pool.idle_timeout == TULIP_FOREVER) {
                pthread_cond_wait(&pool.work, &pool.mu);
            } else {
                struct timespec deadline = deadline_after(pool.idle_timeout);
                rc = pthread_cond_timedwait(&pool.work, &pool.mu, &deadline);
            }
            pool.idle--;
            /* Idle for the whole timeout: give the thread back; the next
             * job starts another. */
            if (rc == ETIMEDOUT && !pool.fast.n && !pool.slow.n)
                break;
            continue;
        }
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&pool.mu);
        int r = j->fn(j->arg);
        pthread_mutex_lock(&pool.mu);
        pool.completed++;
        if (j->slow) {
            pool.slow_running--;
            /* A slow job queued behind the cap may run now; another idle
             * thread could take it if this one exits. */
            if (pool.slow.n)
                pthread_cond_signal(&pool.work);
        }
        if (j->state == JOB_ABANDONED) {
            pthread_mutex_unlock(&pool.mu);
            job_discard(j);
            pthread_mutex_lock(&pool.mu);
            continue;
        }
        j->result = r;
        j->state = JOB_DONE;
        tulip__post(j->loop, &j->post);
    }
    pool.threads--;
    /* Work queued while this thread was deciding to exit must still find
     * a thread. */
    if (pool.fast.n || pool.slow.n) {
        if (pool.idle)
            pthread_cond_signal(&pool.work);
        else if (pool.threads < pool.size && gen == pool.gen)
            start_thread();
    }
    /* Join the thread that exited before this one; the next to exit (or
     * shutdown) joins this one. */
    struct thr *before = pool.exited;
    if (self->lprev)
        self->lprev->lnext = self->lnext;
    else
        pool.live = self->lnext;
    if (self->lnext)
        self->lnext->lprev = self->lprev;
    self->next = NULL;
    pool.exited = self;
    pthread_cond_broadcast(&pool.gone);
    pthread_mutex_unlock(&pool.mu);
    join_all(before);
    return NULL;
}

static void pool_atexit(void)
{
    tulip_pool_shutdown(ATEXIT_BOUND);
}

/* A forked child has none of the pool's threads, and the lock must not be
 * inherited held. The queued jobs belong to the parent's loops. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&pool.mu);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&pool.mu);
}

static void fork_child(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    conds_init();
    pool.fast = (struct jobq){0};
    pool.slow = (struct jobq){0};
    pool.threads = pool.idle = pool.slow_running = 0;
    /* Not our threads: nothing to join; their records go. */
    for (struct thr *t = pool.exited, *next; t; t = next) {
        next = t->next;
        free(t);
    }
    for (struct thr *t = pool.live, *next; t; t = next) {
        next = t->lnext;
        free(t);
    }
    pool.exited = pool.live = NULL;
}

static unsigned size_from_env(void)
{
    const char *s = getenv("TULIP_POOL_THREADS");
    if (s && *s) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (!*end && v >= 1)
            return v > TULIP_POOL_MAX_THREADS ? TULIP_POOL_MAX_THREADS : (unsigned)v;
    }
    return TULIP_POOL_DEFAULT_THREADS;
}

/* Under pool.mu. Starts one thread; its signals are blocked so that
 * process-directed signals go to loop threads. */
static int start_thread(void)
{
    pthread_once(&gone_once, gone_init);
    if (!pool.atexit_registered) {
        pool.atexit_registered = 1;
        atexit(pool_atexit);
        pthread_atfork(fork_prepare, fork_parent, fork_child);
    }
    struct thr *t = tulip__malloc(sizeof *t);
    if (!t)
        return -ENOMEM;
    t->gen = pool.gen;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* Linked before it runs: it unlinks itself under pool.mu, which we
     * hold. */
    t->lprev = NULL;
    t->lnext = pool.live;
    if (pool.live)
        pool.live->lprev = t;
    pool.live = t;
    int rc = pthread_create(&t->th, NULL, worker, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pool.live = t->lnext;
        if (pool.live)
            pool.live->lprev = NULL;
        free(t);
        return -rc;
    }
    pool.threads++;
    return 0;
}

/* Cancel hook, on the loop thread. */
static void job_cancel(void *ctx)
{
    struct job *j = ctx;
    pthread_mutex_lock(&pool.mu);
    pool.abandoned++;
    switch (j->state) {
    case JOB_QUEUED:
        q_unlink(j->slow ? &pool.slow : &pool.fast, j);
        pthread_mutex_unlock(&pool.mu);
        job_discard(j);
        return;
    case JOB_RUNNING:
        j->state = JOB_ABANDONED;
        break;
    default: /* DONE: the completion is already posted and will free it */
        j->task = NULL;
        break;
    }
    pthread_mutex_unlock(&pool.mu);
}

int tulip_run_blocking_ex(tulip_fn fn, void *arg, unsigned flags, void (*abandon)(void *arg))
{
    tulip_task *t = tulip__current();
    if (!t)
        return -EPERM;
    if (!fn || (flags & ~TULIP_POOL_SLOW))
        return -EINVAL;
    int st = tulip__checkpoint_status(t);
    if (st)
        return st;
    if (t->park_check) /* debug mode: no compact task's local for the pool thread (docs/DESIGN.md section 11) */
        tulip__compact_check(tulip__sched(t->loop), t, arg, "the argument of tulip_run_blocking");
    struct job *j = tulip__post_new(sizeof *j, job_complete, job_drop);
    if (!j)
        return -ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->abandon = abandon;
    j->loop = t->loop;
    j->task = t;
    j->state = JOB_QUEUED;
    j->slow = (flags & TULIP_POOL_SLOW) != 0;

    pthread_mutex_lock(&pool.mu);
    if (!pool.size)
        pool.size = size_from_env();
    q_push(j->slow ? &pool.slow : &pool.fast, j);
    /* Idle threads that were already signalled may not have woken yet:
     * start another thread when the queue outgrows them. */
    if (pool.idle)
        pthread_cond_signal(&pool.work);
    if (pool.idle < pool.fast.n + pool.slow.n && pool.threads < pool.size) {
        int rc = start_thread();
        if (rc < 0 && pool.threads == 0) {
            /* Nobody could ever run it. With some thread alive the job
             * just waits its turn. */
            q_unlink(j->slow ? &pool.slow : &pool.fast, j);
            pthread_mutex_unlock(&pool.mu);
            free(j);
            return rc == -ENOMEM ? -ENOMEM : -EAGAIN;
        }
    }
    pthread_mutex_unlock(&pool.mu);

    int rc = tulip__park_nocheck(TULIP__WAIT_POOL, j, job_cancel, j);
    if (rc < 0)
        return rc; /* the cancel hook took care of j */
    rc = j->result;
    if (j->dropped && j->abandon)
        j->abandon(j->arg);
    free(j);
    return rc;
}

int tulip_run_blocking(tulip_fn fn, void *arg)
{
    return tulip_run_blocking_ex(fn, arg, 0, NULL);
}

int tulip_pool_set_size(unsigned threads)
{
    if (threads > TULIP_POOL_MAX_THREADS)
        return -EINVAL;
    if (threads == 0)
        threads = size_from_env();
    pthread_mutex_lock(&pool.mu);
    pool.size = threads;
    pthread_cond_broadcast(&pool.work); /* surplus idle threads exit */
    pthread_mutex_unlock(&pool.mu);
    return 0;
}

static void fail_queued(struct jobq *q)
{
    struct job *j;
    while ((j = job_of(q->jobs.head))) {
        q_unlink(q, j);
        j->result = -ECANCELED;
        j->dropped = 1;
        j->state = JOB_DONE;
        tulip__post(j->loop, &j->post);
    }
}

int tulip_pool_shutdown(int64_t timeout_ns)
{
    pthread_once(&gone_once, gone_init);
    struct timespec deadline = deadline_after(timeout_ns);
    pthread_mutex_lock(&pool.mu);
    pool.gen++;
    /* Their tasks are parked on them, so their loops are alive to take
     * the posts. */
    fail_queued(&pool.fast);
    fail_queued(&pool.slow);
    pthread_cond_broadcast(&pool.work);
    int rc = 0;
    while (pool.threads > 0 && rc == 0)
        rc = pthread_cond_timedwait(&pool.gone, &pool.mu, &deadline);
    int left = pool.threads;
    /* Every thread that has exited is on the list (or is being joined by
     * one that is): joining them takes no longer than their return. */
    struct thr *exited = pool.exited;
    pool.exited = NULL;
    pthread_mutex_unlock(&pool.mu);
    join_all(exited);
    return left ? -ETIMEDOUT : 0;
}

int tulip_pool_set_idle_timeout(int64_t ns)
{
    if (ns <= 0)
        return -EINVAL;
    pthread_mutex_lock(&pool.mu);
    pool.idle_timeout = ns;
    /* Waiting threads pick the new timeout up on their next wait. */
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    return 0;
}

int tulip_pool_wait_threads(unsigned at_most, int64_t timeout_ns)
{
    pthread_once(&gone_once, gone_init);
    struct timespec deadline = deadline_after(timeout_ns);
    pthread_mutex_lock(&pool.mu);
    int rc = 0;
    while (pool.threads > at_most && rc == 0)
        rc = pthread_cond_timedwait(&pool.gone, &pool.mu, &deadline);
    int over = pool.threads > at_most;
    pthread_mutex_unlock(&pool.mu);
    return over ? -ETIMEDOUT : 0;
}

int tulip_pool_stats_get(tulip_pool_stats *out)
{
    if (!out)
        return -EINVAL;
    pthread_mutex_lock(&pool.mu);
    out->size = pool.size ? pool.size : size_from_env();
    out->threads = pool.threads;
    out->idle = pool.idle;
    out->slow_running = pool.slow_running;
    out->queued = pool.fast.n + pool.slow.n;
    out->completed = pool.completed;
    out->abandoned = pool.abandoned;
    pthread_mutex_unlock(&pool.mu);
    return 0;
}
