/* Task groups, gather and race. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

struct child {
    int64_t delay;
    int result;
    int finished;   /* returned normally */
    int cancelled;  /* saw -ECANCELED */
};

static int child_body(void *p)
{
    struct child *c = p;
    int rc = tulip_sleep(c->delay);
    if (rc == -ECANCELED) {
        c->cancelled = 1;
        return rc;
    }
    c->finished = 1;
    return c->result;
}

static int main_all_ok(void *p)
{
    (void)p;
    struct child c[5];
    tulip_group *g = tulip_group_new();
    assert_non_null(g);
    for (int i = 0; i < 5; i++) {
        c[i] = (struct child){TULIP_MS(10 * (5 - i)), i, 0, 0};
        assert_int_equal(tulip_group_spawn(g, child_body, &c[i]), 0);
    }
    assert_int_equal(tulip_group_size(g), 5);
    assert_int_equal(tulip_group_wait(g), 0);
    for (int i = 0; i < 5; i++)
        assert_true(c[i].finished);
    /* Waiting again with more children works. */
    struct child more = {TULIP_MS(1), 0, 0, 0};
    assert_int_equal(tulip_group_spawn(g, child_body, &more), 0);
    assert_int_equal(tulip_group_wait(g), 0);
    assert_true(more.finished);
    tulip_group_free(g);
    return 0;
}

static void test_all_ok(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_all_ok, NULL), 0);
}

static int main_first_failure(void *p)
{
    (void)p;
    struct child slow1 = {TULIP_SEC(10), 0, 0, 0};
    struct child failing = {TULIP_MS(5), -EIO, 0, 0};
    struct child failing_later = {TULIP_MS(6), -EPIPE, 0, 0};
    struct child slow2 = {TULIP_SEC(20), 0, 0, 0};
    tulip_group *g = tulip_group_new();
    tulip_group_spawn(g, child_body, &slow1);
    tulip_group_spawn(g, child_body, &failing);
    tulip_group_spawn(g, child_body, &failing_later);
    tulip_group_spawn(g, child_body, &slow2);
    int64_t t0 = tulip_now();
    /* The first failure is returned and the siblings are cancelled. */
    assert_int_equal(tulip_group_wait(g), -EIO);
    assert_int_equal(tulip_now(), t0 + TULIP_MS(5));
    assert_true(slow1.cancelled);
    assert_true(slow2.cancelled);
    assert_true(failing_later.cancelled);
    /* A failed group refuses new work. */
    assert_int_equal(tulip_group_spawn(g, child_body, &slow1), -ECANCELED);
    tulip_group_free(g);
    return 0;
}

static void test_first_failure(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_first_failure, NULL), 0);
}

struct waiter_arg {
    tulip_group *g;
    int rc;
};

static int group_waiter(void *p)
{
    struct waiter_arg *w = p;
    w->rc = tulip_group_wait(w->g);
    return w->rc;
}

static int main_cancel(void *p)
{
    (void)p;
    /* Cancelling the group cancels its children. */
    struct child a = {TULIP_SEC(10), 0, 0, 0}, b = {TULIP_SEC(10), 0, 0, 0};
    tulip_group *g = tulip_group_new();
    tulip_group_spawn(g, child_body, &a);
    tulip_group_spawn(g, child_body, &b);
    tulip_yield();
    tulip_group_cancel(g);
    assert_int_equal(tulip_group_wait(g), -ECANCELED);
    assert_true(a.cancelled && b.cancelled);
    tulip_group_free(g);

    /* Cancelling the waiter cancels and waits for the children. */
    struct child c = {TULIP_SEC(10), 0, 0, 0};
    g = tulip_group_new();
    tulip_group_spawn(g, child_body, &c);
    struct waiter_arg w = {g, 0};
    tulip_task *t = tulip_spawn(group_waiter, &w);
    tulip_yield();
    tulip_cancel(t);
    assert_int_equal(tulip_join(t), -ECANCELED);
    assert_true(c.cancelled);
    assert_int_equal(tulip_group_size(g), 0);
    tulip_group_free(g);

    /* A second waiter is refused. */
    struct child d = {TULIP_MS(10), 0, 0, 0};
    g = tulip_group_new();
    tulip_group_spawn(g, child_body, &d);
    w = (struct waiter_arg){g, 0};
    t = tulip_spawn(group_waiter, &w);
    tulip_yield();
    assert_int_equal(tulip_group_wait(g), -EBUSY);
    assert_int_equal(tulip_join(t), 0);
    tulip_group_free(g);

    /* Freeing a group with live children is refused (-EBUSY, the policy
     * for every object in use): nothing is cancelled or freed, and the
     * group still works. */
    struct child e = {TULIP_SEC(10), 0, 0, 0};
    g = tulip_group_new();
    tulip_group_spawn(g, child_body, &e);
    tulip_yield();
    assert_int_equal(tulip_group_free(g), -EBUSY);
    tulip_yield();
    assert_false(e.cancelled);
    assert_int_equal(tulip_group_size(g), 1);
    tulip_group_cancel(g);
    assert_int_equal(tulip_group_wait(g), -ECANCELED);
    assert_true(e.cancelled);
    assert_int_equal(tulip_group_free(g), 0);
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel, NULL), 0);
}

static int main_gather_race(void *p)
{
    (void)p;
    struct child c[3] = {{TULIP_MS(30), 3, 0, 0}, {TULIP_MS(10), 1, 0, 0}, {TULIP_MS(20), 2, 0, 0}};
    tulip_fn fns[3] = {child_body, child_body, child_body};
    void *args[3] = {&c[0], &c[1], &c[2]};
    int results[3];
    assert_int_equal(tulip_gather(3, fns, args, results), 0);
    assert_int_equal(results[0], 3);
    assert_int_equal(results[1], 1);
    assert_int_equal(results[2], 2);

    for (int i = 0; i < 3; i++)
        c[i].finished = c[i].cancelled = 0;
    size_t winner = 99;
    int64_t t0 = tulip_now();
    assert_int_equal(tulip_race(3, fns, args, &winner), 1);
    assert_int_equal(winner, 1);
    assert_int_equal(tulip_now(), t0 + TULIP_MS(10));
    assert_true(c[0].cancelled && c[2].cancelled);

    /* gather with a failure: the failure is returned, the rest cancelled. */
    struct child f[2] = {{TULIP_MS(5), -ENOENT, 0, 0}, {TULIP_SEC(5), 0, 0, 0}};
    void *fargs[2] = {&f[0], &f[1]};
    assert_int_equal(tulip_gather(2, fns, fargs, results), -ENOENT);
    assert_int_equal(results[0], -ENOENT);
    assert_int_equal(results[1], -ECANCELED);
    assert_int_equal(tulip_race(0, fns, args, NULL), -EINVAL);
    return 0;
}

static void test_gather_race(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_gather_race, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_ok),
        cmocka_unit_test(test_first_failure),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_gather_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
