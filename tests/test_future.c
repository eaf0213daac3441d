/* Futures: resolved from tasks, callbacks and other threads. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "test_util.h"

static int await_value(void *p)
{
    void *v = NULL;
    int rc = tulip_future_await(p, &v);
    return rc < 0 ? rc : (int)(intptr_t)v;
}

static void resolve_cb(void *p)
{
    tulip_future_resolve(p, (void *)(intptr_t)11);
}

static int done_calls;
static void on_done(void *arg, tulip_future *f)
{
    void *v;
    if (tulip_future_result(f, &v) == 0 && v == arg)
        done_calls++;
}

static int main_basic(void *p)
{
    (void)p;
    /* Several awaiters, resolved from a callback. */
    tulip_future *f = tulip_future_new();
    assert_non_null(f);
    assert_int_equal(tulip_future_result(f, NULL), -EAGAIN);
    tulip_task *a = tulip_spawn(await_value, f);
    tulip_task *b = tulip_spawn(await_value, f);
    done_calls = 0;
    assert_int_equal(tulip_future_on_done(f, on_done, (void *)(intptr_t)11), 0);
    tulip_call_later(tulip_loop_current(), TULIP_MS(1), resolve_cb, f);
    assert_int_equal(tulip_join(a), 11);
    assert_int_equal(tulip_join(b), 11);
    assert_int_equal(done_calls, 1);
    assert_true(tulip_future_is_done(f));
    assert_int_equal(tulip_future_resolve(f, NULL), -EALREADY);
    assert_int_equal(tulip_future_reject(f, -EIO), -EALREADY);
    /* Awaiting a settled future returns at once. */
    assert_int_equal(await_value(f), 11);
    tulip_future_free(f);

    /* Rejection. */
    f = tulip_future_new();
    assert_int_equal(tulip_future_reject(f, 5), -EINVAL);
    assert_int_equal(tulip_future_reject(f, -ECONNRESET), 0);
    assert_int_equal(tulip_future_await(f, NULL), -ECONNRESET);
    tulip_future_free(f);
    return 0;
}

static void test_basic(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_basic, NULL), 0);
}

/* Many futures resolved from other threads while tasks await them. */
#define THREADS 4
struct cross {
    tulip_future **f;
    size_t n;
    int first;
};

static void *resolver(void *p)
{
    struct cross *c = p;
    for (size_t i = (size_t)c->first; i < c->n; i += THREADS)
        if (tulip_future_resolve(c->f[i], (void *)(intptr_t)(i + 1)) != 0)
            abort();
    return NULL;
}

static int main_threads(void *p)
{
    (void)p;
    size_t n = test_scale(20000);
    tulip_future **f = malloc(n * sizeof *f);
    tulip_task **t = malloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        f[i] = tulip_future_new();
        t[i] = tulip_spawn(await_value, f[i]);
    }
    tulip_yield();
    pthread_t th[THREADS];
    struct cross c[THREADS];
    for (int k = 0; k < THREADS; k++) {
        c[k] = (struct cross){f, n, k};
        pthread_create(&th[k], NULL, resolver, &c[k]);
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tulip_join(t[i]), (int)(i + 1));
    for (int k = 0; k < THREADS; k++)
        pthread_join(th[k], NULL);
    for (size_t i = 0; i < n; i++)
        tulip_future_free(f[i]);
    free(f);
    free(t);
    return 0;
}

static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_threads, NULL), 0);
}

static int main_cancel_await(void *p)
{
    (void)p;
    tulip_future *f = tulip_future_new();
    tulip_scope s;
    tulip_scope_enter(&s, tulip_now() + TULIP_MS(5));
    assert_int_equal(tulip_future_await(f, NULL), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    /* The future is untouched and still usable. */
    assert_int_equal(tulip_future_resolve(f, f), 0);
    void *v = NULL;
    assert_int_equal(tulip_future_await(f, &v), 0);
    assert_ptr_equal(v, f);
    tulip_future_free(f);
    return 0;
}

static void test_cancel_await(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel_await, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cancel_await),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
