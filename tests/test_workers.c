/* Worker loops on threads and cross-loop spawns. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "test_util.h"
#include "tulip/runtime.h"
#include "tulip/testing.h"

static pthread_t main_thread;
static atomic_int on_main_thread;
static atomic_int ran;

struct job {
    int in;
    pthread_t where;
};

static int doubler(void *p)
{
    struct job *j = p;
    if (pthread_equal(pthread_self(), main_thread))
        atomic_fetch_add(&on_main_thread, 1);
    j->where = pthread_self();
    int rc = tulip_yield(); /* a real task on the worker's loop */
    atomic_fetch_add(&ran, 1);
    return rc < 0 ? rc : j->in * 2;
}

struct caller {
    tulip_workers *w;
    struct job job;
    int result;
};

static int call_remote(void *p)
{
    struct caller *c = p;
    c->result = tulip_workers_run(c->w, doubler, &c->job);
    return 0;
}

static int failing(void *p)
{
    (void)p;
    return -ENOENT;
}

static int main_many(void *p)
{
    tulip_workers *w = p;
    size_t n = test_scale(2000);
    struct caller *c = calloc(n, sizeof *c);
    tulip_task **t = calloc(n, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        c[i].w = w;
        c[i].job.in = (int)i;
        t[i] = tulip_spawn(call_remote, &c[i]);
    }
    for (size_t i = 0; i < n; i++)
        tulip_join(t[i]);
    int used[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i].result, (int)i * 2);
        for (unsigned k = 0; k < 2; k++)
            if (tulip_workers_loop(w, k) && pthread_equal(c[i].job.where, c[0].job.where) == (k == 0))
                used[k]++;
    }
    /* Round robin: both workers did work. */
    assert_true(used[0] > 0 && used[1] > 0);
    assert_int_equal(atomic_load(&on_main_thread), 0);
    /* Errors travel back as rejections. */
    assert_int_equal(tulip_workers_run(w, failing, NULL), -ENOENT);
    free(c);
    free(t);
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    main_thread = pthread_self();
    tulip_workers *w = tulip_workers_new(2, NULL);
    assert_non_null(w);
    assert_int_equal(tulip_workers_count(w), 2);
    assert_non_null(tulip_workers_loop(w, 1));
    assert_null(tulip_workers_loop(w, 2));
    assert_int_equal(test_run(main_many, w), 0);
    tulip_workers_free(w);
}

static int slow_remote(void *p)
{
    (void)p;
    /* Only the workers' shutdown ends this. */
    return tulip_sleep(TULIP_SEC(3600));
}

struct cancel_arg {
    tulip_workers *w;
};

static int main_cancel(void *p)
{
    struct cancel_arg *a = p;
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_MS(20));
    assert_int_equal(tulip_workers_run(a->w, slow_remote, NULL), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    /* Stop the workers while this loop still runs: the remote task is
     * cancelled and its (discarded) result is delivered here and freed. */
    tulip_workers_free(a->w);
    a->w = NULL;
    assert_int_equal(tulip_yield(), 0);
    return 0;
}

static void test_cancel_caller(void **state)
{
    (void)state;
    struct cancel_arg a = {tulip_workers_new(1, NULL)};
    assert_non_null(a.w);
    assert_int_equal(test_run(main_cancel, &a), 0);
    assert_null(a.w);
}

static int count_up(void *p)
{
    atomic_int *n = p;
    atomic_fetch_add(n, 1);
    return 0;
}

static void test_fire_and_forget_from_plain_thread(void **state)
{
    (void)state;
    tulip_workers *w = tulip_workers_new(2, NULL);
    atomic_int n = 0;
    /* No loop on this thread: fire-and-forget works, a result future
     * cannot be had. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(tulip_spawn_remote(tulip_workers_loop(w, (unsigned)i % 2), count_up, &n, NULL), 0);
    tulip_future *f;
    assert_int_equal(tulip_spawn_remote(tulip_workers_loop(w, 0), count_up, &n, &f), -EPERM);
    tulip_workers_free(w); /* every posted spawn ran before the keepers stopped */
    assert_int_equal(atomic_load(&n), 100);
}

static void test_bad_input_and_faults(void **state)
{
    (void)state;
    assert_null(tulip_workers_new(0, NULL));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(tulip_spawn_remote(NULL, count_up, NULL, NULL), -EINVAL);
    for (unsigned long k = 1; k <= 3; k++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, k, 0);
        tulip_workers *w = tulip_workers_new(2, NULL);
        tulip_fault_reset();
        if (w)
            tulip_workers_free(w);
        else
            assert_int_equal(errno, ENOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_cancel_caller),
        cmocka_unit_test(test_fire_and_forget_from_plain_thread),
        cmocka_unit_test(test_bad_input_and_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
