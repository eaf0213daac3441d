/* Semaphore: counting, bounded (release past the bound is an error), FIFO
 * hand-off of permits, cancellation keeps the count exact, misuse. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

struct ctx {
    tulip_sem s;
    int order[16];
    int n;
};

struct taker {
    struct ctx *c;
    int id;
    int rc;
};

static int taker(void *p)
{
    struct taker *t = p;
    t->rc = tulip_sem_acquire(&t->c->s);
    if (t->rc == 0)
        t->c->order[t->c->n++] = t->id;
    return 0;
}

static int main_counting(void *p)
{
    (void)p;
    tulip_sem s;
    assert_int_equal(tulip_sem_init(&s, 2, 0), 0);
    assert_int_equal(tulip_sem_value(&s), 2);
    assert_int_equal(tulip_sem_acquire(&s), 0);
    assert_int_equal(tulip_sem_try_acquire(&s), 0);
    assert_int_equal(tulip_sem_try_acquire(&s), -EAGAIN);
    assert_int_equal(tulip_sem_value(&s), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(tulip_sem_release(&s), 0);   /* unbounded */
    assert_int_equal(tulip_sem_value(&s), 5);
    return 0;
}

static void test_counting(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_counting, NULL), 0);
}

static int main_bounded(void *p)
{
    (void)p;
    tulip_sem s;
    assert_int_equal(tulip_sem_init(&s, 3, 2), -EINVAL);   /* value > max */
    assert_int_equal(tulip_sem_init(&s, 1, 2), 0);
    assert_int_equal(tulip_sem_release(&s), 0);
    /* Double release caught: nothing changes. */
    assert_int_equal(tulip_sem_release(&s), -EOVERFLOW);
    assert_int_equal(tulip_sem_value(&s), 2);
    assert_int_equal(tulip_sem_acquire(&s), 0);
    assert_int_equal(tulip_sem_acquire(&s), 0);
    assert_int_equal(tulip_sem_release(&s), 0);
    assert_int_equal(tulip_sem_release(&s), 0);
    assert_int_equal(tulip_sem_release(&s), -EOVERFLOW);
    return 0;
}

static void test_bounded(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_bounded, NULL), 0);
}

static int main_fifo(void *p)
{
    (void)p;
    struct ctx c = {0};
    tulip_sem_init(&c.s, 0, 8);
    struct taker t[6];
    tulip_task *tk[6];
    for (int i = 0; i < 6; i++) {
        t[i] = (struct taker){ .c = &c, .id = 5 - i };
        tk[i] = tulip_spawn(taker, &t[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(tulip_sem_release(&c.s), 0);
        /* Handed straight to a waiter: a newcomer cannot take it. */
        assert_int_equal(tulip_sem_value(&c.s), 0);
        assert_int_equal(tulip_sem_try_acquire(&c.s), -EAGAIN);
    }
    for (int i = 0; i < 6; i++) {
        assert_int_equal(tulip_join(tk[i]), 0);
        assert_int_equal(t[i].rc, 0);
        assert_int_equal(c.order[i], 5 - i);
    }
    assert_int_equal(tulip_sem_value(&c.s), 0);
    return 0;
}

static void test_fifo(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_fifo, NULL), 0);
}

static int main_cancel(void *p)
{
    (void)p;
    struct ctx c = {0};
    tulip_sem_init(&c.s, 0, 1);
    struct taker t[3];
    tulip_task *tk[3];
    for (int i = 0; i < 3; i++) {
        t[i] = (struct taker){ .c = &c, .id = i };
        tk[i] = tulip_spawn(taker, &t[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    /* Cancelled while waiting: holds nothing. */
    tulip_cancel(tk[0]);
    assert_int_equal(tulip_join(tk[0]), 0);
    assert_int_equal(t[0].rc, -ECANCELED);
    /* Given a permit, then cancelled before running: keeps it. */
    assert_int_equal(tulip_sem_release(&c.s), 0);
    tulip_cancel(tk[1]);
    assert_int_equal(tulip_join(tk[1]), 0);
    assert_int_equal(t[1].rc, 0);
    assert_int_equal(tulip_sem_value(&c.s), 0);
    assert_int_equal(tulip_sem_release(&c.s), 0);
    assert_int_equal(tulip_join(tk[2]), 0);
    assert_int_equal(t[2].rc, 0);
    /* Every permit accounted for: 2 released, 2 taken, none left. */
    assert_int_equal(tulip_sem_value(&c.s), 0);
    assert_int_equal(c.n, 2);

    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_MS(2));
    assert_int_equal(tulip_sem_acquire(&c.s), -ETIMEDOUT);
    tulip_scope_exit(&s);
    assert_int_equal(tulip_sem_value(&c.s), 0);
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel, NULL), 0);
}

static void test_misuse(void **state)
{
    (void)state;
    tulip_sem s;
    memset(&s, 0, sizeof s);
    assert_int_equal(tulip_sem_init(NULL, 0, 0), -EINVAL);
    assert_int_equal(tulip_sem_acquire(&s), -EINVAL);
    assert_int_equal(tulip_sem_try_acquire(&s), -EINVAL);
    assert_int_equal(tulip_sem_release(&s), -EINVAL);
    assert_int_equal(tulip_sem_value(&s), 0);
    tulip_sem_init(&s, 1, 1);
    assert_int_equal(tulip_sem_acquire(&s), -EPERM);      /* not in a task */
    assert_int_equal(tulip_sem_try_acquire(&s), 0);       /* no wait: fine */
    assert_int_equal(tulip_sem_release(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counting),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
