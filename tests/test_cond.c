/* Condition variable: producer/consumer on a predicate, signal order,
 * broadcast, the lock held again on every return (also when cancelled or
 * timed out), misuse. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

struct box {
    tulip_lock l;
    tulip_cond c;
    int items;
    int order[16];
    int n;
};

struct waiter {
    struct box *b;
    int id;
    int rc;
    int held;          /* the lock was ours when wait returned */
};

/* Wait until an item is there and take it. */
static int consumer(void *p)
{
    struct waiter *w = p;
    struct box *b = w->b;
    int rc = tulip_lock_acquire(&b->l);
    if (rc)
        return rc;
    while (b->items == 0) {
        w->rc = tulip_cond_wait(&b->c, &b->l);
        w->held = tulip_lock_try_acquire(&b->l) == -EDEADLK;
        if (w->rc) {
            tulip_lock_release(&b->l);
            return 0;
        }
    }
    b->items--;
    b->order[b->n++] = w->id;
    return tulip_lock_release(&b->l);
}

static void box_init(struct box *b)
{
    memset(b, 0, sizeof *b);
    assert_int_equal(tulip_lock_init(&b->l), 0);
    assert_int_equal(tulip_cond_init(&b->c), 0);
}

static int main_signal_order(void *p)
{
    (void)p;
    struct box b;
    box_init(&b);
    struct waiter w[4];
    tulip_task *t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct waiter){ .b = &b, .id = i };
        t[i] = tulip_spawn(consumer, &w[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tulip_lock_acquire(&b.l), 0);
        b.items++;
        assert_int_equal(tulip_cond_signal(&b.c), 0);
        assert_int_equal(tulip_lock_release(&b.l), 0);
        assert_int_equal(tulip_yield(), 0);
        assert_int_equal(b.n, i + 1);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        assert_int_equal(w[i].rc, 0);
        assert_true(w[i].held);
        assert_int_equal(b.order[i], i);
    }
    /* Signal with nobody waiting is a no-op, not a stored wake-up. */
    assert_int_equal(tulip_cond_signal(&b.c), 0);
    return 0;
}

static void test_signal_order(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_signal_order, NULL), 0);
}

static int main_broadcast(void *p)
{
    (void)p;
    struct box b;
    box_init(&b);
    struct waiter w[6];
    tulip_task *t[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (struct waiter){ .b = &b, .id = i };
        t[i] = tulip_spawn(consumer, &w[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    /* Only 4 items for 6 consumers: all wake, 4 win, 2 wait again. */
    assert_int_equal(tulip_lock_acquire(&b.l), 0);
    b.items = 4;
    assert_int_equal(tulip_cond_broadcast(&b.c), 0);
    assert_int_equal(tulip_lock_release(&b.l), 0);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(b.n, 4);
    assert_int_equal(tulip_lock_acquire(&b.l), 0);
    b.items = 2;
    tulip_cond_broadcast(&b.c);
    tulip_lock_release(&b.l);
    for (int i = 0; i < 6; i++)
        assert_int_equal(tulip_join(t[i]), 0);
    assert_int_equal(b.n, 6);
    assert_int_equal(b.items, 0);
    return 0;
}

static void test_broadcast(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_broadcast, NULL), 0);
}

static int main_cancel(void *p)
{
    (void)p;
    struct box b;
    box_init(&b);
    struct waiter w = { .b = &b, .id = 0 };
    tulip_task *t = tulip_spawn(consumer, &w);
    assert_int_equal(tulip_yield(), 0);
    /* Cancel it while we hold the lock: it must wait for the lock before
     * returning -ECANCELED, like pthread cancellation. */
    assert_int_equal(tulip_lock_acquire(&b.l), 0);
    assert_int_equal(tulip_cancel(t), 0);
    assert_int_equal(tulip_yield(), 0);
    assert_false(tulip_task_is_done(t));
    assert_int_equal(tulip_lock_release(&b.l), 0);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(w.rc, -ECANCELED);
    assert_true(w.held);
    assert_false(tulip_lock_is_locked(&b.l));

    /* Signalled, then cancelled before running: the signal is kept. */
    w = (struct waiter){ .b = &b, .id = 1 };
    t = tulip_spawn(consumer, &w);
    assert_int_equal(tulip_yield(), 0);
    tulip_lock_acquire(&b.l);
    b.items = 1;
    tulip_cond_signal(&b.c);
    tulip_lock_release(&b.l);
    tulip_cancel(t);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(w.rc, 0);
    assert_int_equal(b.items, 0);

    /* A deadline: -ETIMEDOUT, lock held. */
    tulip_scope s;
    tulip_lock_acquire(&b.l);
    tulip_scope_enter_timeout(&s, TULIP_MS(7));
    int64_t t0 = tulip_now();
    assert_int_equal(tulip_cond_wait(&b.c, &b.l), -ETIMEDOUT);
    assert_int_equal(tulip_now() - t0, TULIP_MS(7));
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    assert_int_equal(tulip_lock_try_acquire(&b.l), -EDEADLK);
    /* Already cancelled on entry: returns at once, still holding it. */
    tulip_scope_enter(&s, TULIP_FOREVER);
    tulip_scope_cancel(&s);
    assert_int_equal(tulip_cond_wait(&b.c, &b.l), -ECANCELED);
    tulip_scope_exit(&s);
    assert_int_equal(tulip_lock_release(&b.l), 0);
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel, NULL), 0);
}

static int lock_it(void *p)
{
    return tulip_lock_acquire(p);
}

static int main_misuse(void *p)
{
    (void)p;
    struct box b;
    box_init(&b);
    /* Not holding the lock. */
    assert_int_equal(tulip_cond_wait(&b.c, &b.l), -EPERM);
    tulip_task *t = tulip_spawn(lock_it, &b.l);
    assert_int_equal(tulip_join(t), 0);   /* now another task owns it */
    assert_int_equal(tulip_cond_wait(&b.c, &b.l), -EPERM);
    tulip_cond bad;
    memset(&bad, 0, sizeof bad);
    assert_int_equal(tulip_cond_wait(&bad, &b.l), -EINVAL);
    assert_int_equal(tulip_cond_signal(&bad), -EINVAL);
    assert_int_equal(tulip_cond_broadcast(NULL), -EINVAL);
    assert_int_equal(tulip_cond_wait(&b.c, NULL), -EINVAL);
    assert_int_equal(tulip_cond_init(NULL), -EINVAL);
    return 0;
}

static void test_misuse(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_misuse, NULL), 0);
    struct box b;
    box_init(&b);
    assert_int_equal(tulip_cond_wait(&b.c, &b.l), -EPERM);   /* not in a task */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_order),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
