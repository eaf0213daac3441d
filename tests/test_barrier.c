/* Barrier: trips when all parties arrive, one serial party per cycle,
 * reusable, a cancelled waiter withdraws without breaking it, misuse. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#define PARTIES 5
#define CYCLES 4

struct ctx {
    tulip_barrier b;
    int phase[PARTIES];
    int serial[CYCLES];
    int bad;
};

struct party {
    struct ctx *c;
    int id;
};

static int party(void *p)
{
    struct party *a = p;
    struct ctx *c = a->c;
    for (int cyc = 0; cyc < CYCLES; cyc++) {
        c->phase[a->id] = cyc;
        /* Stagger arrivals differently in every cycle. */
        for (int y = 0; y < (a->id * 3 + cyc) % 4; y++)
            tulip_yield();
        int rc = tulip_barrier_wait(&c->b);
        if (rc < 0)
            return rc;
        if (rc == TULIP_BARRIER_SERIAL)
            c->serial[cyc]++;
        /* Nobody gets past before everyone reached this cycle. */
        for (int i = 0; i < PARTIES; i++)
            if (c->phase[i] < cyc)
                c->bad = 1;
    }
    return 0;
}

static int main_cycles(void *p)
{
    (void)p;
    struct ctx c = {0};
    assert_int_equal(tulip_barrier_init(&c.b, PARTIES), 0);
    struct party a[PARTIES];
    tulip_task *t[PARTIES];
    for (int i = 0; i < PARTIES; i++) {
        a[i] = (struct party){ .c = &c, .id = i };
        t[i] = tulip_spawn(party, &a[i]);
    }
    for (int i = 0; i < PARTIES; i++)
        assert_int_equal(tulip_join(t[i]), 0);
    assert_false(c.bad);
    for (int i = 0; i < CYCLES; i++)
        assert_int_equal(c.serial[i], 1);
    assert_int_equal(tulip_barrier_waiting(&c.b), 0);
    return 0;
}

static void test_cycles(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cycles, NULL), 0);
}

static int wait_once(void *p)
{
    return tulip_barrier_wait(p);
}

static int main_cancel(void *p)
{
    (void)p;
    tulip_barrier b;
    tulip_barrier_init(&b, 3);
    tulip_task *x = tulip_spawn(wait_once, &b);
    tulip_task *y = tulip_spawn(wait_once, &b);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_barrier_waiting(&b), 2);
    /* y withdraws; the barrier is not broken. */
    tulip_cancel(y);
    assert_int_equal(tulip_join(y), -ECANCELED);
    assert_int_equal(tulip_barrier_waiting(&b), 1);
    tulip_task *z = tulip_spawn(wait_once, &b);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_barrier_waiting(&b), 2);
    assert_false(tulip_task_is_done(x));
    /* We are the third party: serial, and x and z are released. */
    assert_int_equal(tulip_barrier_wait(&b), TULIP_BARRIER_SERIAL);
    /* Released by the trip and cancelled before running: still released. */
    tulip_cancel(x);
    assert_int_equal(tulip_join(x), 0);
    assert_int_equal(tulip_join(z), 0);
    assert_int_equal(tulip_barrier_waiting(&b), 0);

    /* A deadline withdraws too. */
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_MS(1));
    assert_int_equal(tulip_barrier_wait(&b), -ETIMEDOUT);
    tulip_scope_exit(&s);
    assert_int_equal(tulip_barrier_waiting(&b), 0);

    /* One party: every wait is serial and never blocks. */
    tulip_barrier one;
    tulip_barrier_init(&one, 1);
    assert_int_equal(tulip_barrier_wait(&one), TULIP_BARRIER_SERIAL);
    assert_int_equal(tulip_barrier_wait(&one), TULIP_BARRIER_SERIAL);
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
    tulip_barrier b;
    memset(&b, 0, sizeof b);
    assert_int_equal(tulip_barrier_init(&b, 0), -EINVAL);
    assert_int_equal(tulip_barrier_init(NULL, 2), -EINVAL);
    assert_int_equal(tulip_barrier_wait(&b), -EINVAL);
    assert_int_equal(tulip_barrier_waiting(NULL), 0);
    tulip_barrier_init(&b, 2);
    assert_int_equal(tulip_barrier_wait(&b), -EPERM);   /* not in a task */
    assert_int_equal(tulip_barrier_waiting(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
