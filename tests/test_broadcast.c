/* Broadcast channel: every receiver gets every item in order, late
 * subscribers start at subscription, a slow receiver loses the oldest items
 * and is told how many, parked receivers get exactly the item that woke
 * them, cancellation takes nothing, close drains then ends, errors. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"
#include "tulip/testing.h"

static int recv_int(tulip_broadcast_receiver *r, int *lag)
{
    int v = -1;
    int rc = tulip_broadcast_recv(r, &v);
    assert_true(rc >= 0);
    if (lag)
        *lag = rc;
    return v;
}

/* ---- every receiver gets every item, in order ------------------------------ */

static int main_fanout(void *arg)
{
    (void)arg;
    tulip_broadcast *b = tulip_broadcast_new(sizeof(int), 8);
    assert_non_null(b);
    assert_int_equal(tulip_broadcast_capacity(b), 8);
    tulip_broadcast_receiver *r[3];
    for (int i = 0; i < 3; i++)
        assert_non_null(r[i] = tulip_broadcast_subscribe(b));
    assert_int_equal(tulip_broadcast_receivers(b), 3);
    for (int v = 1; v <= 5; v++)
        assert_int_equal(tulip_broadcast_send(b, &v), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tulip_broadcast_buffered(r[i]), 5);
        for (int v = 1; v <= 5; v++) {
            int lag = -1;
            assert_int_equal(recv_int(r[i], &lag), v);
            assert_int_equal(lag, 0);
        }
        int v;
        assert_int_equal(tulip_broadcast_try_recv(r[i], &v), -EAGAIN);
        assert_int_equal(tulip_broadcast_buffered(r[i]), 0);
    }

    /* A late subscriber sees what is sent from then on, not before. */
    tulip_broadcast_receiver *late = tulip_broadcast_subscribe(b);
    int six = 6;
    assert_int_equal(tulip_broadcast_send(b, &six), 4);
    assert_int_equal(recv_int(late, NULL), 6);
    assert_int_equal(recv_int(r[0], NULL), 6);
    assert_int_equal(tulip_broadcast_unsubscribe(late), 0);
    assert_int_equal(tulip_broadcast_receivers(b), 3);

    /* Unsubscribed receivers are no longer counted, nor sent to. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(tulip_broadcast_unsubscribe(r[i]), 0);
    assert_int_equal(tulip_broadcast_send(b, &six), 0);
    tulip_broadcast_receiver *fresh = tulip_broadcast_subscribe(b);
    int v;
    assert_int_equal(tulip_broadcast_try_recv(fresh, &v), -EAGAIN);
    assert_int_equal(tulip_broadcast_unsubscribe(fresh), 0);
    assert_int_equal(tulip_broadcast_free(b), 0);
    return 0;
}

static void test_fanout(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_fanout, NULL), 0);
}

/* ---- a slow receiver: the oldest items go, the lag says how many ------------ */

static int main_lag(void *arg)
{
    (void)arg;
    tulip_broadcast *b = tulip_broadcast_new(sizeof(int), 4);
    tulip_broadcast_receiver *slow = tulip_broadcast_subscribe(b);
    tulip_broadcast_receiver *fast = tulip_broadcast_subscribe(b);
    for (int v = 1; v <= 10; v++) {
        /* The sender never waits, whatever slow does. */
        assert_int_equal(tulip_broadcast_try_recv(fast, &(int){0}), -EAGAIN);
        assert_int_equal(tulip_broadcast_send(b, &v), 2);
        assert_int_equal(recv_int(fast, NULL), v);
    }
    assert_int_equal(tulip_broadcast_buffered(slow), 4);
    int lag = -1;
    /* 1..6 were overwritten: told so, then given 7, the oldest kept. */
    assert_int_equal(recv_int(slow, &lag), 7);
    assert_int_equal(lag, 6);
    for (int v = 8; v <= 10; v++) {
        assert_int_equal(recv_int(slow, &lag), v);
        assert_int_equal(lag, 0);
    }
    assert_int_equal(tulip_broadcast_try_recv(slow, &lag), -EAGAIN);
    /* try_recv reports the lag the same way. */
    for (int v = 11; v <= 20; v++)
        assert_int_equal(tulip_broadcast_send(b, &v), 2);
    int got = 0;
    assert_int_equal(tulip_broadcast_try_recv(slow, &got), 6);
    assert_int_equal(got, 17);
    assert_int_equal(tulip_broadcast_unsubscribe(slow), 0);
    assert_int_equal(tulip_broadcast_unsubscribe(fast), 0);
    assert_int_equal(tulip_broadcast_free(b), 0);
    return 0;
}

static void test_lag(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_lag, NULL), 0);
}

/* ---- parked receivers -------------------------------------------------------- */

struct parked {
    tulip_broadcast_receiver *r;
    int *order;       /* wake order, shared */
    int *n_order;
    int id;
    int got[4];
    int lag[4];
    int rc;
};

static int parked_receiver(void *arg)
{
    struct parked *p = arg;
    for (int i = 0; i < 4; i++) {
        p->lag[i] = tulip_broadcast_recv(p->r, &p->got[i]);
        if (p->lag[i] < 0) {
            p->rc = p->lag[i];
            return 0;
        }
        if (i == 0)
            p->order[(*p->n_order)++] = p->id;
    }
    return 0;
}

static int main_parked_run(void *arg)
{
    (void)arg;
    /* Item 1 wakes all three parked receivers; before any of them runs,
     * 2..5 overwrite it in the ring of 2. Each still gets 1 (handed over at
     * the wake), then learns it missed 2 and 3, then gets 4 and 5, parks
     * again and is handed 6. */
    tulip_broadcast *b = tulip_broadcast_new(sizeof(int), 2);
    int order[3], n_order = 0;
    struct parked p[3];
    tulip_task *t[3];
    for (int i = 0; i < 3; i++) {
        p[i] = (struct parked){.r = tulip_broadcast_subscribe(b), .order = order, .n_order = &n_order, .id = i};
        t[i] = tulip_spawn(parked_receiver, &p[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    for (int v = 1; v <= 5; v++)
        assert_int_equal(tulip_broadcast_send(b, &v), 3);
    assert_int_equal(tulip_yield(), 0); /* they take 1, 4, 5 and park */
    int six = 6;
    assert_int_equal(tulip_broadcast_send(b, &six), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        assert_int_equal(p[i].rc, 0);
        assert_int_equal(p[i].got[0], 1);
        assert_int_equal(p[i].got[1], 4);
        assert_int_equal(p[i].lag[1], 2);
        assert_int_equal(p[i].got[2], 5);
        assert_int_equal(p[i].got[3], 6);
        assert_int_equal(p[i].lag[3], 0);
        assert_int_equal(order[i], i);
        assert_int_equal(tulip_broadcast_unsubscribe(p[i].r), 0);
    }
    assert_int_equal(tulip_broadcast_free(b), 0);
    return 0;
}

static void test_parked(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_parked_run, NULL), 0);
}

/* ---- cancellation and timeouts take nothing ---------------------------------- */

static int one_recv(void *arg)
{
    int v;
    return tulip_broadcast_recv(arg, &v);
}

static int main_cancel(void *arg)
{
    (void)arg;
    tulip_broadcast *b = tulip_broadcast_new(sizeof(int), 4);
    tulip_broadcast_receiver *r = tulip_broadcast_subscribe(b);
    tulip_task *t = tulip_spawn(one_recv, r);
    assert_int_equal(tulip_yield(), 0);
    /* One task at a time per receiver; and a receiver in use stays. */
    int v;
    assert_int_equal(tulip_broadcast_recv(r, &v), -EBUSY);
    assert_int_equal(tulip_broadcast_unsubscribe(r), -EBUSY);
    assert_int_equal(tulip_broadcast_free(b), -EBUSY);
    assert_int_equal(tulip_cancel(t), 0);
    assert_int_equal(tulip_join(t), -ECANCELED);

    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_MS(5));
    assert_int_equal(tulip_broadcast_recv(r, &v), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);

    /* Nothing was taken by the cancelled or timed-out waits. */
    int seven = 7, eight = 8;
    assert_int_equal(tulip_broadcast_send(b, &seven), 1);
    assert_int_equal(tulip_broadcast_send(b, &eight), 1);
    int lag = -1;
    assert_int_equal(recv_int(r, &lag), 7);
    assert_int_equal(lag, 0);
    assert_int_equal(recv_int(r, NULL), 8);
    assert_int_equal(tulip_broadcast_unsubscribe(r), 0);
    assert_int_equal(tulip_broadcast_free(b), 0);
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel, NULL), 0);
}

/* ---- close --------------------------------------------------------------------- */

static int main_close(void *arg)
{
    (void)arg;
    tulip_broadcast *b = tulip_broadcast_new(sizeof(int), 4);
    tulip_broadcast_receiver *waiting = tulip_broadcast_subscribe(b);
    tulip_broadcast_receiver *behind = tulip_broadcast_subscribe(b);
    tulip_task *t = tulip_spawn(one_recv, waiting);
    assert_int_equal(tulip_yield(), 0);
    int one = 1;
    assert_int_equal(tulip_broadcast_send(b, &one), 2);
    assert_int_equal(tulip_join(t), 0); /* took 1 */
    t = tulip_spawn(one_recv, waiting);
    assert_int_equal(tulip_yield(), 0);
    int two = 2;
    assert_int_equal(tulip_broadcast_send(b, &two), 2);
    assert_int_equal(tulip_join(t), 0); /* took 2 */
    t = tulip_spawn(one_recv, waiting);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_broadcast_close(b), 0);
    assert_int_equal(tulip_join(t), -ESHUTDOWN); /* woken by close */
    assert_int_equal(tulip_broadcast_close(b), -EALREADY);
    assert_int_equal(tulip_broadcast_send(b, &one), -EPIPE);
    /* What is kept is still delivered after close, then the end. */
    assert_int_equal(recv_int(behind, NULL), 1);
    assert_int_equal(recv_int(behind, NULL), 2);
    int v;
    assert_int_equal(tulip_broadcast_recv(behind, &v), -ESHUTDOWN);
    assert_int_equal(tulip_broadcast_try_recv(behind, &v), -ESHUTDOWN);
    /* Subscribing after close is allowed, and ends at once. */
    tulip_broadcast_receiver *after = tulip_broadcast_subscribe(b);
    assert_non_null(after);
    assert_int_equal(tulip_broadcast_recv(after, &v), -ESHUTDOWN);
    assert_int_equal(tulip_broadcast_unsubscribe(after), 0);
    assert_int_equal(tulip_broadcast_unsubscribe(waiting), 0);
    assert_int_equal(tulip_broadcast_unsubscribe(behind), 0);
    assert_int_equal(tulip_broadcast_free(b), 0);
    return 0;
}

static void test_close(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_close, NULL), 0);
}

/* ---- events without payload, errors, faults -------------------------------------- */

static int main_errors(void *arg)
{
    (void)arg;
    /* Zero-size items: a pure event fan-out. */
    tulip_broadcast *e = tulip_broadcast_new(0, 1);
    assert_non_null(e);
    tulip_broadcast_receiver *r = tulip_broadcast_subscribe(e);
    assert_int_equal(tulip_broadcast_send(e, NULL), 1);
    assert_int_equal(tulip_broadcast_send(e, NULL), 1);
    assert_int_equal(tulip_broadcast_recv(r, NULL), 1); /* one missed */
    assert_int_equal(tulip_broadcast_try_recv(r, NULL), -EAGAIN);
    assert_int_equal(tulip_broadcast_unsubscribe(r), 0);
    assert_int_equal(tulip_broadcast_free(e), 0);

    tulip_broadcast *b = tulip_broadcast_new(sizeof(int), 2);
    r = tulip_broadcast_subscribe(b);
    assert_int_equal(tulip_broadcast_send(b, NULL), -EINVAL);
    assert_int_equal(tulip_broadcast_recv(r, NULL), -EINVAL);
    assert_int_equal(tulip_broadcast_try_recv(NULL, &(int){0}), -EINVAL);
    assert_int_equal(tulip_broadcast_send(NULL, &(int){0}), -EINVAL);
    assert_int_equal(tulip_broadcast_close(NULL), -EINVAL);
    assert_int_equal(tulip_broadcast_unsubscribe(NULL), 0);
    assert_int_equal(tulip_broadcast_free(NULL), 0);
    assert_int_equal(tulip_broadcast_capacity(NULL), 0);
    assert_int_equal(tulip_broadcast_receivers(NULL), 0);
    assert_int_equal(tulip_broadcast_buffered(NULL), 0);
    assert_null(tulip_broadcast_subscribe(NULL));
    assert_int_equal(errno, EINVAL);
    /* Freeing with a subscriber left refuses and frees nothing. */
    assert_int_equal(tulip_broadcast_free(b), -EBUSY);
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_null(tulip_broadcast_subscribe(b));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_reset();
    assert_int_equal(tulip_broadcast_unsubscribe(r), 0);
    assert_int_equal(tulip_broadcast_free(b), 0);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    assert_null(tulip_broadcast_new(4, 0));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_broadcast_new(SIZE_MAX / 2, 4));
    assert_int_equal(errno, EINVAL);
    for (unsigned long nth = 1; nth <= 2; nth++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        assert_null(tulip_broadcast_new(sizeof(int), 4));
        assert_int_equal(errno, ENOMEM);
        tulip_fault_reset();
    }
    /* Outside a task: try_recv works, a recv that must wait cannot. */
    tulip_broadcast *b = tulip_broadcast_new(sizeof(int), 2);
    tulip_broadcast_receiver *r = tulip_broadcast_subscribe(b);
    int v = 3;
    assert_int_equal(tulip_broadcast_send(b, &v), 1);
    assert_int_equal(tulip_broadcast_try_recv(r, &v), 0);
    assert_int_equal(tulip_broadcast_recv(r, &v), -EPERM);
    assert_int_equal(tulip_broadcast_unsubscribe(r), 0);
    assert_int_equal(tulip_broadcast_free(b), 0);
    assert_int_equal(test_run(main_errors, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout),
        cmocka_unit_test(test_lag),
        cmocka_unit_test(test_parked),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
