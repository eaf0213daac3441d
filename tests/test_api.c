/* The 0.2 API vocabulary as behaviour (CHANGELOG.md): every try_ call that
 * would have to wait fails with -EAGAIN, predicates are bool, the version
 * is stated once. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

static int hold_until_set(void *p)
{
    void **a = p;
    tulip_lock *l = a[0];
    tulip_event *go = a[1];
    if (tulip_lock_acquire(l) != 0)
        return -1;
    int rc = tulip_event_wait(go);
    tulip_lock_release(l);
    return rc;
}

static int main_try(void *arg)
{
    (void)arg;
    /* Lock held by another task. */
    tulip_lock l;
    tulip_event go;
    assert_int_equal(tulip_lock_init(&l), 0);
    assert_int_equal(tulip_event_init(&go), 0);
    void *a[2] = {&l, &go};
    tulip_task *holder = tulip_spawn(hold_until_set, a);
    assert_non_null(holder);
    assert_int_equal(tulip_yield(), 0);
    assert_true(tulip_lock_is_locked(&l));
    assert_int_equal(tulip_lock_try_acquire(&l), -EAGAIN);
    assert_int_equal(tulip_event_set(&go), 0);
    assert_int_equal(tulip_join(holder), 0);
    assert_int_equal(tulip_lock_try_acquire(&l), 0);
    assert_int_equal(tulip_lock_release(&l), 0);

    /* Semaphore with no permit. */
    tulip_sem s;
    assert_int_equal(tulip_sem_init(&s, 0, 0), 0);
    assert_int_equal(tulip_sem_try_acquire(&s), -EAGAIN);
    assert_int_equal(tulip_sem_release(&s), 0);
    assert_int_equal(tulip_sem_try_acquire(&s), 0);

    /* Queue: empty, then full. */
    tulip_queue *q = tulip_queue_new(sizeof(int), 1, TULIP_QUEUE_FIFO, NULL);
    assert_non_null(q);
    int v = 7;
    assert_int_equal(tulip_queue_try_get(q, &v), -EAGAIN);
    assert_int_equal(tulip_queue_try_put(q, &v), 0);
    assert_int_equal(tulip_queue_try_put(q, &v), -EAGAIN);
    assert_int_equal(tulip_queue_free(q), 0);

    /* Channel: empty, then full. */
    tulip_chan *c = tulip_chan_new(sizeof(int), 1);
    assert_non_null(c);
    assert_int_equal(tulip_chan_try_recv(c, &v), -EAGAIN);
    assert_int_equal(tulip_chan_try_send(c, &v), 0);
    assert_int_equal(tulip_chan_try_send(c, &v), -EAGAIN);
    assert_int_equal(tulip_chan_size(c), 1);
    assert_int_equal(tulip_chan_capacity(c), 1);
    assert_int_equal(tulip_chan_free(c), 0);

    /* A pending future's result. */
    tulip_future *f = tulip_future_new();
    assert_non_null(f);
    void *out;
    assert_int_equal(tulip_future_result(f, &out), -EAGAIN);
    assert_int_equal(tulip_future_resolve(f, NULL), 0);
    assert_int_equal(tulip_future_result(f, &out), 0);
    tulip_future_free(f);
    return 0;
}

static void test_try_is_eagain(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_try, NULL), 0);
}

#define IS_BOOL(x) _Generic((x), bool: 1, default: 0)

static int main_bool(void *arg)
{
    (void)arg;
    tulip_lock l;
    tulip_event e;
    tulip_scope sc;
    tulip_lock_init(&l);
    tulip_event_init(&e);
    tulip_future *f = tulip_future_new();
    assert_non_null(f);
    tulip_task *self = tulip_self();
    tulip_scope_enter(&sc, TULIP_FOREVER);
    assert_true(IS_BOOL(tulip_lock_is_locked(&l)));
    assert_true(IS_BOOL(tulip_event_is_set(&e)));
    assert_true(IS_BOOL(tulip_task_is_cancelled(self)));
    assert_true(IS_BOOL(tulip_task_is_done(self)));
    assert_true(IS_BOOL(tulip_future_is_done(f)));
    assert_true(IS_BOOL(tulip_scope_is_triggered(&sc)));
    assert_true(IS_BOOL(tulip_debug_is_enabled(NULL)));
    assert_false(tulip_task_is_done(self));
    assert_false(tulip_scope_is_triggered(&sc));
    assert_int_equal(tulip_scope_exit(&sc), 0);
    tulip_future_free(f);
    return 0;
}

static void test_predicates_are_bool(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_bool, NULL), 0);
}

static void test_version_stated_once(void **state)
{
    (void)state;
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", TULIP_VERSION_MAJOR, TULIP_VERSION_MINOR,
             TULIP_VERSION_PATCH);
    assert_string_equal(TULIP_VERSION_STRING, want);
    assert_string_equal(tulip_version(), TULIP_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_try_is_eagain),
        cmocka_unit_test(test_predicates_are_bool),
        cmocka_unit_test(test_version_stated_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
