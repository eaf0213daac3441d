/* The thread pool: results, concurrency, cancellation before and while a
 * job runs, cancellation racing a completion, loop teardown under a
 * running job, the slow-class cap, shutdown, and error paths. Jobs are
 * held and released with POSIX semaphores, never with sleeps. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <stdatomic.h>

#include "test_util.h"

#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#include "tulip/pool.h"
#include "tulip/testing.h"

struct gate {
    sem_t started, release, abandoned;
    atomic_int runs, abandons;
    int value;
};

static void gate_init(struct gate *g)
{
    sem_init(&g->started, 0, 0);
    sem_init(&g->release, 0, 0);
    sem_init(&g->abandoned, 0, 0);
    atomic_store(&g->runs, 0);
    atomic_store(&g->abandons, 0);
    g->value = 0;
}

static void gate_fini(struct gate *g)
{
    sem_destroy(&g->started);
    sem_destroy(&g->release);
    sem_destroy(&g->abandoned);
}

/* Announces it runs, then waits to be released. */
static int held_job(void *arg)
{
    struct gate *g = arg;
    atomic_fetch_add(&g->runs, 1);
    sem_post(&g->started);
    sem_wait(&g->release);
    return g->value;
}

static void gate_abandon(void *arg)
{
    struct gate *g = arg;
    atomic_fetch_add(&g->abandons, 1);
    sem_post(&g->abandoned);
}

static void pool_reset(void)
{
    assert_int_equal(tulip_pool_shutdown(TULIP_SEC(30)), 0);
    assert_int_equal(tulip_pool_set_size(TULIP_POOL_DEFAULT_THREADS), 0);
}

/* ---- results ------------------------------------------------------------ */

static pthread_t loop_thread;

static int square_job(void *arg)
{
    int *v = arg;
    if (pthread_equal(pthread_self(), loop_thread))
        return -1; /* must run off the loop thread */
    *v = *v * *v;
    return 7;
}

static int body_result(void *arg)
{
    (void)arg;
    loop_thread = pthread_self();
    int v = 12;
    assert_int_equal(tulip_run_blocking(square_job, &v), 7);
    assert_int_equal(v, 144);
    return 0;
}

static void test_result(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_result, NULL), 0);
    pool_reset();
}

struct many {
    int in, out;
};

static int add_job(void *arg)
{
    struct many *m = arg;
    m->out = m->in + 1;
    return m->in;
}

static int many_task(void *arg)
{
    struct many *m = arg;
    return tulip_run_blocking(add_job, m) == m->in ? 0 : -EIO;
}

static int body_many(void *arg)
{
    (void)arg;
    size_t n = test_scale(2000);
    struct many *m = calloc(n, sizeof *m);
    tulip_group *g = tulip_group_new();
    for (size_t i = 0; i < n; i++) {
        m[i].in = (int)i;
        assert_int_equal(tulip_group_spawn(g, many_task, &m[i]), 0);
    }
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(m[i].out, (int)i + 1);
    free(m);
    tulip_pool_stats s;
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_true(s.threads >= 1 && s.threads <= s.size);
    return 0;
}

static void test_many_tasks(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_many, NULL), 0);
    pool_reset();
}

/* ---- cancellation ------------------------------------------------------- */

struct cancel_ctx {
    struct gate g;
    tulip_scope *scope;
    int rc;
    int done;
};

static int waiter_in_scope(void *arg)
{
    struct cancel_ctx *c = arg;
    tulip_scope s;
    tulip_scope_enter(&s, TULIP_FOREVER);
    c->scope = &s;
    c->rc = tulip_run_blocking_ex(held_job, &c->g, 0, gate_abandon);
    c->scope = NULL;
    tulip_scope_exit(&s);
    c->done = 1;
    return 0;
}

static int body_cancel_running(void *arg)
{
    struct cancel_ctx *c = arg;
    tulip_task *w = tulip_spawn(waiter_in_scope, c);
    assert_non_null(w);
    assert_int_equal(tulip_yield(), 0); /* w queues its job and parks */
    sem_wait(&c->g.started);          /* the job is running now */
    tulip_scope_cancel(c->scope);
    assert_int_equal(tulip_join(w), 0);
    /* Returned while the job is still held. */
    assert_int_equal(c->rc, -ECANCELED);
    assert_int_equal(atomic_load(&c->g.abandons), 0);
    return 0;
}

/* The loop is freed while the abandoned job still runs; the worker must
 * not touch it when the job ends. */
static void test_cancel_running(void **state)
{
    (void)state;
    struct cancel_ctx c = {0};
    gate_init(&c.g);
    tulip_pool_stats before, after;
    tulip_pool_stats_get(&before);
    assert_int_equal(test_run(body_cancel_running, &c), 0);
    sem_post(&c.g.release);
    sem_wait(&c.g.abandoned);
    assert_int_equal(atomic_load(&c.g.abandons), 1);
    assert_int_equal(atomic_load(&c.g.runs), 1);
    tulip_pool_stats_get(&after);
    assert_int_equal(after.abandoned - before.abandoned, 1);
    pool_reset();
    gate_fini(&c.g);
}

struct queued_ctx {
    struct gate blocker, victim;
    tulip_scope *scope;
    int rc_blocker, rc_victim;
};

static int blocker_task(void *arg)
{
    struct queued_ctx *q = arg;
    q->rc_blocker = tulip_run_blocking(held_job, &q->blocker);
    return 0;
}

static int victim_task(void *arg)
{
    struct queued_ctx *q = arg;
    tulip_scope s;
    tulip_scope_enter(&s, TULIP_FOREVER);
    q->scope = &s;
    q->rc_victim = tulip_run_blocking_ex(held_job, &q->victim, 0, gate_abandon);
    q->scope = NULL;
    tulip_scope_exit(&s);
    return 0;
}

static int body_cancel_queued(void *arg)
{
    struct queued_ctx *q = arg;
    q->blocker.value = 5;
    tulip_task *b = tulip_spawn(blocker_task, q);
    assert_int_equal(tulip_yield(), 0);
    sem_wait(&q->blocker.started); /* the only thread is busy */
    tulip_task *v = tulip_spawn(victim_task, q);
    assert_int_equal(tulip_yield(), 0);
    tulip_pool_stats s;
    tulip_pool_stats_get(&s);
    assert_int_equal(s.queued, 1);
    tulip_scope_cancel(q->scope);
    assert_int_equal(tulip_join(v), 0);
    assert_int_equal(q->rc_victim, -ECANCELED);
    /* Dropped from the queue: abandoned at once, never run. */
    assert_int_equal(atomic_load(&q->victim.abandons), 1);
    tulip_pool_stats_get(&s);
    assert_int_equal(s.queued, 0);
    sem_post(&q->blocker.release);
    assert_int_equal(tulip_join(b), 0);
    assert_int_equal(q->rc_blocker, 5);
    assert_int_equal(atomic_load(&q->victim.runs), 0);
    return 0;
}

static void test_cancel_queued(void **state)
{
    (void)state;
    struct queued_ctx q;
    memset(&q, 0, sizeof q);
    gate_init(&q.blocker);
    gate_init(&q.victim);
    assert_int_equal(tulip_pool_set_size(1), 0);
    assert_int_equal(test_run(body_cancel_queued, &q), 0);
    pool_reset();
    gate_fini(&q.blocker);
    gate_fini(&q.victim);
}

/* The job finishes and posts its completion, then the waiter is cancelled
 * before the loop runs the post: the post must free the job alone. */
static int body_cancel_after_done(void *arg)
{
    struct cancel_ctx *c = arg;
    tulip_pool_stats s;
    tulip_pool_stats_get(&s);
    uint64_t done0 = s.completed;
    tulip_task *w = tulip_spawn(waiter_in_scope, c);
    assert_int_equal(tulip_yield(), 0);
    sem_wait(&c->g.started);
    sem_post(&c->g.release);
    /* Hold the loop thread until the worker has completed the job; its
     * post is then pending and not yet run. */
    do {
        sched_yield();
        tulip_pool_stats_get(&s);
    } while (s.completed == done0);
    tulip_scope_cancel(c->scope);
    assert_int_equal(tulip_join(w), 0);
    assert_int_equal(c->rc, -ECANCELED);
    assert_int_equal(tulip_sleep(0), 0); /* let the post run */
    assert_int_equal(atomic_load(&c->g.abandons), 1);
    return 0;
}

static void test_cancel_after_done(void **state)
{
    (void)state;
    struct cancel_ctx c = {0};
    gate_init(&c.g);
    assert_int_equal(test_run(body_cancel_after_done, &c), 0);
    assert_int_equal(atomic_load(&c.g.abandons), 1);
    pool_reset();
    gate_fini(&c.g);
}

static int never_runs(void *arg)
{
    (*(int *)arg)++;
    return 0;
}

static int body_cancelled_at_entry(void *arg)
{
    int *ran = arg;
    tulip_cancel(tulip_self());
    assert_int_equal(tulip_run_blocking(never_runs, ran), -ECANCELED);
    return 0;
}

static void test_cancelled_at_entry(void **state)
{
    (void)state;
    int ran = 0;
    assert_int_equal(test_run(body_cancelled_at_entry, &ran), 0);
    assert_int_equal(ran, 0);
}

/* ---- slow class cap ------------------------------------------------------ */

struct slow_ctx {
    struct gate s1, s2;
    int r1, r2;
};

static int slow1(void *arg)
{
    struct slow_ctx *c = arg;
    c->r1 = tulip_run_blocking_ex(held_job, &c->s1, TULIP_POOL_SLOW, NULL);
    return 0;
}

static int slow2(void *arg)
{
    struct slow_ctx *c = arg;
    c->r2 = tulip_run_blocking_ex(held_job, &c->s2, TULIP_POOL_SLOW, NULL);
    return 0;
}

static int body_slow_cap(void *arg)
{
    struct slow_ctx *c = arg;
    c->s1.value = 1;
    c->s2.value = 2;
    tulip_task *a = tulip_spawn(slow1, c);
    tulip_task *b = tulip_spawn(slow2, c);
    assert_int_equal(tulip_yield(), 0);
    sem_wait(&c->s1.started);
    tulip_pool_stats s;
    tulip_pool_stats_get(&s);
    /* size 2: slow jobs get one thread; the second waits. */
    assert_int_equal(s.slow_running, 1);
    assert_int_equal(s.queued, 1);
    assert_int_equal(atomic_load(&c->s2.runs), 0);
    /* A fast job still gets the other thread while both slow ones wait. */
    struct many m = {.in = 41};
    assert_int_equal(tulip_run_blocking(add_job, &m), 41);
    assert_int_equal(m.out, 42);
    sem_post(&c->s1.release);
    sem_post(&c->s2.release);
    assert_int_equal(tulip_join(a), 0);
    assert_int_equal(tulip_join(b), 0);
    assert_int_equal(c->r1, 1);
    assert_int_equal(c->r2, 2);
    return 0;
}

static void test_slow_cap(void **state)
{
    (void)state;
    struct slow_ctx c;
    memset(&c, 0, sizeof c);
    gate_init(&c.s1);
    gate_init(&c.s2);
    assert_int_equal(tulip_pool_set_size(2), 0);
    assert_int_equal(test_run(body_slow_cap, &c), 0);
    pool_reset();
    gate_fini(&c.s1);
    gate_fini(&c.s2);
}

/* ---- shutdown ------------------------------------------------------------ */

struct shut_ctx {
    struct gate running, queued;
    int rc_running, rc_queued, rc_shutdown_now;
};

static int shut_running(void *arg)
{
    struct shut_ctx *c = arg;
    c->rc_running = tulip_run_blocking(held_job, &c->running);
    return 0;
}

static int shut_queued(void *arg)
{
    struct shut_ctx *c = arg;
    c->rc_queued = tulip_run_blocking_ex(held_job, &c->queued, 0, gate_abandon);
    return 0;
}

static int body_shutdown(void *arg)
{
    struct shut_ctx *c = arg;
    c->running.value = 3;
    tulip_task *a = tulip_spawn(shut_running, c);
    assert_int_equal(tulip_yield(), 0);
    sem_wait(&c->running.started);
    tulip_task *b = tulip_spawn(shut_queued, c);
    assert_int_equal(tulip_yield(), 0);
    /* The running job is held: the bound is hit. */
    c->rc_shutdown_now = tulip_pool_shutdown(0);
    assert_int_equal(tulip_join(b), 0);
    assert_int_equal(c->rc_queued, -ECANCELED);
    assert_int_equal(atomic_load(&c->queued.abandons), 1);
    assert_int_equal(atomic_load(&c->queued.runs), 0);
    sem_post(&c->running.release);
    assert_int_equal(tulip_join(a), 0);
    assert_int_equal(c->rc_running, 3); /* a running job still completes */
    return 0;
}

static void test_shutdown(void **state)
{
    (void)state;
    struct shut_ctx c;
    memset(&c, 0, sizeof c);
    gate_init(&c.running);
    gate_init(&c.queued);
    assert_int_equal(tulip_pool_set_size(1), 0);
    assert_int_equal(test_run(body_shutdown, &c), 0);
    assert_int_equal(c.rc_shutdown_now, -ETIMEDOUT);
    assert_int_equal(tulip_pool_shutdown(TULIP_SEC(30)), 0);
    tulip_pool_stats s;
    tulip_pool_stats_get(&s);
    assert_int_equal(s.threads, 0);
    /* Restarts lazily. */
    assert_int_equal(test_run(body_result, NULL), 0);
    pool_reset();
    gate_fini(&c.running);
    gate_fini(&c.queued);
}

/* ---- errors ------------------------------------------------------------- */

static int body_errors(void *arg)
{
    (void)arg;
    int v = 3;
    assert_int_equal(tulip_run_blocking(NULL, NULL), -EINVAL);
    assert_int_equal(tulip_run_blocking_ex(square_job, &v, 0x80, NULL), -EINVAL);
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_int_equal(tulip_run_blocking(square_job, &v), -ENOMEM);
    tulip_fault_reset();
    assert_int_equal(v, 3);
    loop_thread = pthread_self();
    assert_int_equal(tulip_run_blocking(square_job, &v), 7);
    assert_int_equal(v, 9);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    int v = 2;
    assert_int_equal(tulip_run_blocking(square_job, &v), -EPERM);
    assert_int_equal(tulip_pool_set_size(TULIP_POOL_MAX_THREADS + 1), -EINVAL);
    assert_int_equal(tulip_pool_stats_get(NULL), -EINVAL);
    assert_int_equal(test_run(body_errors, NULL), 0);
    pool_reset();
}

/* ---- idle threads exit ---------------------------------------------------- */

static int body_square(void *arg)
{
    (void)arg;
    int v = 5;
    assert_int_equal(tulip_run_blocking(square_job, &v), 7);
    assert_int_equal(v, 25);
    return 0;
}

static void test_idle_timeout(void **state)
{
    (void)state;
    pool_reset();
    assert_int_equal(tulip_pool_set_idle_timeout(0), -EINVAL);
    assert_int_equal(tulip_pool_set_idle_timeout(-1), -EINVAL);

    /* Kept for good: the thread is still there when the wait gives up. */
    assert_int_equal(tulip_pool_set_idle_timeout(TULIP_FOREVER), 0);
    assert_int_equal(test_run(body_square, NULL), 0);
    tulip_pool_stats st;
    assert_int_equal(tulip_pool_stats_get(&st), 0);
    assert_true(st.threads >= 1);
    assert_int_equal(tulip_pool_wait_threads(0, TULIP_MS(20)), -ETIMEDOUT);

    /* A short timeout, applied by the idle thread from its next wait: it
     * exits (the 30 s only bounds a failure), and the next job starts a
     * thread again. */
    assert_int_equal(tulip_pool_set_idle_timeout(TULIP_MS(1)), 0);
    assert_int_equal(tulip_pool_wait_threads(0, TULIP_SEC(30)), 0);
    assert_int_equal(tulip_pool_stats_get(&st), 0);
    assert_int_equal(st.threads, 0);
    assert_int_equal(test_run(body_square, NULL), 0);
    assert_int_equal(tulip_pool_wait_threads(0, TULIP_SEC(30)), 0);

    assert_int_equal(tulip_pool_set_idle_timeout(TULIP_POOL_DEFAULT_IDLE), 0);
    pool_reset();
}

/* ---- sizing: the pool grows with demand, up to its size ------------------- */

/* A rendezvous all n jobs must reach before any returns: it completes only
 * if n pool threads run at once. The bound only turns a hang into a
 * failure. */
struct rendezvous {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n, arrived;
};

static int rendezvous_job(void *arg)
{
    struct rendezvous *r = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120;
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    if (++r->arrived == r->n)
        pthread_cond_broadcast(&r->cv);
    while (r->arrived < r->n && rc == 0)
        rc = pthread_cond_timedwait(&r->cv, &r->mu, &until);
    int all = r->arrived == r->n;
    pthread_mutex_unlock(&r->mu);
    return all ? 0 : -ETIMEDOUT;
}

static int rendezvous_task(void *arg)
{
    return tulip_run_blocking(rendezvous_job, arg);
}

static int body_rendezvous(void *arg)
{
    struct rendezvous *r = arg;
    tulip_group *g = tulip_group_new();
    for (int i = 0; i < r->n; i++)
        assert_int_equal(tulip_group_spawn(g, rendezvous_task, r), 0);
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);
    tulip_pool_stats s;
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_int_equal(s.size, TULIP_POOL_DEFAULT_THREADS);
    assert_true(s.threads >= (unsigned)r->n);
    return 0;
}

/* 100 blocking calls at once run at once with the default size (it was 4:
 * 25 rounds of waiting). */
static void test_grows_with_demand(void **state)
{
    (void)state;
    pool_reset();
    struct rendezvous r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .n = 100};
    assert_int_equal(test_run(body_rendezvous, &r), 0);
    assert_int_equal(r.arrived, 100);
    pool_reset();
}

struct capped {
    struct gate g;
};

static int capped_task(void *arg)
{
    struct capped *c = arg;
    return tulip_run_blocking(held_job, &c->g);
}

static int body_capped(void *arg)
{
    struct capped *c = arg;
    c->g.value = 5;
    tulip_task *t[20];
    for (int i = 0; i < 20; i++)
        t[i] = tulip_spawn(capped_task, c);
    assert_int_equal(tulip_yield(), 0); /* all 20 jobs are submitted */
    for (int i = 0; i < 8; i++)
        sem_wait(&c->g.started);
    tulip_pool_stats s;
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_int_equal(s.size, 8);
    assert_int_equal(s.threads, 8);
    assert_int_equal(s.queued, 12);
    assert_int_equal(atomic_load(&c->g.runs), 8);
    for (int i = 0; i < 20; i++)
        sem_post(&c->g.release);
    for (int i = 0; i < 20; i++)
        assert_int_equal(tulip_join(t[i]), 5);
    assert_int_equal(atomic_load(&c->g.runs), 20);
    return 0;
}

/* The size is a cap: 20 jobs on a pool of 8 run 8 at a time. */
static void test_cap(void **state)
{
    (void)state;
    pool_reset();
    struct capped c;
    memset(&c, 0, sizeof c);
    gate_init(&c.g);
    assert_int_equal(tulip_pool_set_size(8), 0);
    assert_int_equal(test_run(body_capped, &c), 0);
    pool_reset();
    gate_fini(&c.g);
}

/* The size from the environment, read when the size is (re)set to 0. */
static void test_size_from_env(void **state)
{
    (void)state;
    tulip_pool_stats s;
    setenv("TULIP_POOL_THREADS", "3", 1);
    assert_int_equal(tulip_pool_set_size(0), 0);
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_int_equal(s.size, 3);
    setenv("TULIP_POOL_THREADS", "100000", 1);
    assert_int_equal(tulip_pool_set_size(0), 0);
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_int_equal(s.size, TULIP_POOL_MAX_THREADS);
    setenv("TULIP_POOL_THREADS", "lots", 1);
    assert_int_equal(tulip_pool_set_size(0), 0);
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_int_equal(s.size, TULIP_POOL_DEFAULT_THREADS);
    unsetenv("TULIP_POOL_THREADS");
    assert_int_equal(tulip_pool_set_size(0), 0);
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_int_equal(s.size, TULIP_POOL_DEFAULT_THREADS);
}

/* A forked child has none of the pool's threads: it frees their records
 * (valgrind, following the child, reports none lost) and starts its own. */
static void test_fork(void **state)
{
    (void)state;
    pool_reset();
    struct rendezvous r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .n = 4};
    assert_int_equal(test_run(body_rendezvous, &r), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tulip_pool_stats s;
        int bad = tulip_pool_stats_get(&s) != 0 || s.threads != 0;
#ifndef TEST_TSAN
        /* (TSan cannot start threads after a multi-threaded fork.) */
        bad |= test_run(body_square, NULL) != 0;
#endif
        exit(bad);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    pool_reset();
}

/* Last: the process exits with idle pool threads. They are joined at exit,
 * so valgrind finds nothing of them (test_pool.valgrind_threads counts
 * "possibly lost" blocks as errors; a detached thread still exiting left
 * its TLS block "possibly lost"). */
static void test_exit_with_idle_threads(void **state)
{
    (void)state;
    pool_reset();
    struct rendezvous r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .n = 16};
    assert_int_equal(test_run(body_rendezvous, &r), 0);
    tulip_pool_stats s;
    assert_int_equal(tulip_pool_stats_get(&s), 0);
    assert_true(s.threads >= 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result),
        cmocka_unit_test(test_many_tasks),
        cmocka_unit_test(test_cancel_running),
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_cancel_after_done),
        cmocka_unit_test(test_cancelled_at_entry),
        cmocka_unit_test(test_slow_cap),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_grows_with_demand),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_size_from_env),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_exit_with_idle_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
