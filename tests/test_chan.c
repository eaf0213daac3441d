/* Channels: rendezvous, buffering, FIFO senders and receivers, close
 * (drain then -ESHUTDOWN; sends -EPIPE; double close -EALREADY),
 * cancellation that loses nothing, fault injection, misuse, and 10,000
 * senders/receivers with a third cancelled at random points. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"
#include "exactly_once.h"
#include "tulip/testing.h"

struct actor {
    tulip_chan *c;
    int value;
    int rc;
    int done;
};

static int sender(void *p)
{
    struct actor *a = p;
    a->rc = tulip_chan_send(a->c, &a->value);
    a->done = 1;
    return 0;
}

static int receiver(void *p)
{
    struct actor *a = p;
    a->rc = tulip_chan_recv(a->c, &a->value);
    a->done = 1;
    return 0;
}

static int main_rendezvous(void *p)
{
    (void)p;
    tulip_chan *c = tulip_chan_new(sizeof(int), 0);
    assert_non_null(c);
    assert_int_equal(tulip_chan_capacity(c), 0);
    int v = 5;
    assert_int_equal(tulip_chan_try_send(c, &v), -EAGAIN);   /* nobody to take it */
    assert_int_equal(tulip_chan_try_recv(c, &v), -EAGAIN);
    /* A send completes only once a receiver took the item. */
    struct actor s = { .c = c, .value = 42 };
    tulip_task *t = tulip_spawn(sender, &s);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tulip_yield(), 0);
    assert_false(s.done);
    assert_int_equal(tulip_chan_size(c), 0);
    assert_int_equal(tulip_chan_recv(c, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(s.rc, 0);
    /* A waiting receiver: the send hands over and returns at once. */
    struct actor r = { .c = c };
    t = tulip_spawn(receiver, &r);
    assert_int_equal(tulip_yield(), 0);
    v = 43;
    assert_int_equal(tulip_chan_try_send(c, &v), 0);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.value, 43);
    assert_int_equal(tulip_chan_free(c), 0);
    return 0;
}

static void test_rendezvous(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_rendezvous, NULL), 0);
}

static int main_fifo(void *p)
{
    (void)p;
    tulip_chan *c = tulip_chan_new(sizeof(int), 3);
    int v;
    for (int i = 0; i < 3; i++)
        assert_int_equal(tulip_chan_send(c, &i), 0);
    assert_int_equal(tulip_chan_try_send(c, &v), -EAGAIN);
    assert_int_equal(tulip_chan_size(c), 3);
    assert_int_equal(tulip_chan_capacity(c), 3);
    /* Senders queue in arrival order behind the full buffer. */
    struct actor s[5];
    tulip_task *t[5];
    for (int i = 0; i < 5; i++) {
        s[i] = (struct actor){ .c = c, .value = 3 + i };
        t[i] = tulip_spawn(sender, &s[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(tulip_chan_recv(c, &v), 0);
        assert_int_equal(v, i);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        assert_int_equal(s[i].rc, 0);
    }
    /* Receivers too. */
    struct actor r[5];
    for (int i = 0; i < 5; i++) {
        r[i] = (struct actor){ .c = c };
        t[i] = tulip_spawn(receiver, &r[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    for (int i = 0; i < 5; i++) {
        v = 100 + i;
        assert_int_equal(tulip_chan_send(c, &v), 0);
        assert_int_equal(tulip_chan_size(c), 0);    /* straight to a receiver */
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        assert_int_equal(r[i].value, 100 + i);
    }
    assert_int_equal(tulip_chan_free(c), 0);
    return 0;
}

static void test_fifo(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_fifo, NULL), 0);
}

static int main_close(void *p)
{
    (void)p;
    tulip_chan *c = tulip_chan_new(sizeof(int), 2);
    int v;
    for (int i = 0; i < 2; i++)
        tulip_chan_send(c, &i);
    struct actor s = { .c = c, .value = 9 };
    tulip_task *st = tulip_spawn(sender, &s);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_chan_close(c), 0);
    assert_int_equal(tulip_chan_close(c), -EALREADY);
    /* The waiting sender is told, and its item was not sent. */
    assert_int_equal(tulip_join(st), 0);
    assert_int_equal(s.rc, -EPIPE);
    assert_int_equal(tulip_chan_send(c, &v), -EPIPE);
    assert_int_equal(tulip_chan_try_send(c, &v), -EPIPE);
    /* Receivers drain, then see the end. */
    assert_int_equal(tulip_chan_recv(c, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(tulip_chan_try_recv(c, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(tulip_chan_recv(c, &v), -ESHUTDOWN);
    assert_int_equal(tulip_chan_try_recv(c, &v), -ESHUTDOWN);
    assert_int_equal(tulip_chan_free(c), 0);

    /* Receivers waiting on an unbuffered channel wake at close. */
    c = tulip_chan_new(sizeof(int), 0);
    struct actor r[3];
    tulip_task *t[3];
    for (int i = 0; i < 3; i++) {
        r[i] = (struct actor){ .c = c, .value = -1 };
        t[i] = tulip_spawn(receiver, &r[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_chan_close(c), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        assert_int_equal(r[i].rc, -ESHUTDOWN);
        assert_int_equal(r[i].value, -1);
    }
    assert_int_equal(tulip_chan_free(c), 0);
    return 0;
}

static void test_close(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_close, NULL), 0);
}

static int main_cancel(void *p)
{
    (void)p;
    tulip_chan *c = tulip_chan_new(sizeof(int), 0);
    int v;
    /* Receivers: one cancelled while waiting (took nothing), one handed an
     * item and then cancelled before it runs (keeps it). */
    struct actor r[2] = { { .c = c, .value = -1 }, { .c = c, .value = -1 } };
    tulip_task *t[2];
    for (int i = 0; i < 2; i++)
        t[i] = tulip_spawn(receiver, &r[i]);
    assert_int_equal(tulip_yield(), 0);
    tulip_cancel(t[0]);
    assert_int_equal(tulip_join(t[0]), 0);
    assert_int_equal(r[0].rc, -ECANCELED);
    assert_int_equal(r[0].value, -1);
    v = 11;
    assert_int_equal(tulip_chan_send(c, &v), 0);
    tulip_cancel(t[1]);
    assert_int_equal(tulip_join(t[1]), 0);
    assert_int_equal(r[1].rc, 0);
    assert_int_equal(r[1].value, 11);

    /* Senders: one cancelled while waiting (sent nothing), one whose item
     * was taken and then cancelled (sent it). */
    struct actor s[2] = { { .c = c, .value = 1 }, { .c = c, .value = 2 } };
    for (int i = 0; i < 2; i++)
        t[i] = tulip_spawn(sender, &s[i]);
    assert_int_equal(tulip_yield(), 0);
    tulip_cancel(t[0]);
    assert_int_equal(tulip_join(t[0]), 0);
    assert_int_equal(s[0].rc, -ECANCELED);
    assert_int_equal(tulip_chan_recv(c, &v), 0);
    assert_int_equal(v, 2);
    tulip_cancel(t[1]);
    assert_int_equal(tulip_join(t[1]), 0);
    assert_int_equal(s[1].rc, 0);
    assert_int_equal(tulip_chan_try_recv(c, &v), -EAGAIN);  /* 1 never sent */

    /* A deadline on a receive. */
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_MS(4));
    assert_int_equal(tulip_chan_recv(c, &v), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    assert_int_equal(tulip_chan_free(c), 0);
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel, NULL), 0);
}

static int main_free_busy(void *p)
{
    (void)p;
    tulip_chan *c = tulip_chan_new(sizeof(int), 0);
    struct actor r = { .c = c };
    tulip_task *t = tulip_spawn(receiver, &r);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_chan_free(c), -EBUSY);
    tulip_chan_close(c);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(tulip_chan_free(c), 0);
    return 0;
}

static void test_faults_misuse(void **state)
{
    (void)state;
    /* Buffered: two allocations; unbuffered: one. */
    for (unsigned long nth = 1; nth <= 2; nth++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        errno = 0;
        assert_null(tulip_chan_new(16, 8));
        assert_int_equal(errno, ENOMEM);
        tulip_fault_reset();
    }
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_null(tulip_chan_new(16, 0));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_reset();
    /* No allocation after new. */
    tulip_fault_arm(TULIP_FAULT_MALLOC, 3, 1);
    tulip_chan *c = tulip_chan_new(sizeof(int), 4);
    assert_non_null(c);
    int v = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(tulip_chan_try_send(c, &i), 0);
        assert_int_equal(tulip_chan_try_recv(c, &v), 0);
        assert_int_equal(v, i);
    }
    assert_int_equal(tulip_fault_calls(TULIP_FAULT_MALLOC), 2);
    tulip_fault_reset();

    assert_int_equal(tulip_chan_send(c, &v), -EPERM);    /* not in a task */
    assert_int_equal(tulip_chan_recv(c, &v), -EPERM);
    assert_int_equal(tulip_chan_try_send(c, NULL), -EINVAL);
    assert_int_equal(tulip_chan_try_recv(c, NULL), -EINVAL);
    assert_int_equal(tulip_chan_free(c), 0);
    assert_int_equal(tulip_chan_send(NULL, &v), -EINVAL);
    assert_int_equal(tulip_chan_recv(NULL, &v), -EINVAL);
    assert_int_equal(tulip_chan_close(NULL), -EINVAL);
    assert_int_equal(tulip_chan_free(NULL), 0);
    assert_int_equal(tulip_chan_size(NULL), 0);
    errno = 0;
    assert_null(tulip_chan_new(SIZE_MAX / 2, 4));
    assert_int_equal(errno, EINVAL);
    /* Zero-size items: a pure signal. */
    c = tulip_chan_new(0, 2);
    assert_int_equal(tulip_chan_try_send(c, NULL), 0);
    assert_int_equal(tulip_chan_try_send(c, NULL), 0);
    assert_int_equal(tulip_chan_try_send(c, NULL), -EAGAIN);
    assert_int_equal(tulip_chan_try_recv(c, NULL), 0);
    assert_int_equal(tulip_chan_size(c), 1);
    assert_int_equal(tulip_chan_free(c), 0);
    assert_int_equal(test_run(main_free_busy, NULL), 0);
}

/* ---- stress ------------------------------------------------------------------------------ */

static int ch_send(void *c, const struct eo_item *it)
{
    return tulip_chan_send(c, it);
}

static int ch_recv(void *c, struct eo_item *it)
{
    return tulip_chan_recv(c, it);
}

static int ch_try_recv(void *c, struct eo_item *it)
{
    return tulip_chan_try_recv(c, it);
}

static int ch_close(void *c)
{
    return tulip_chan_close(c);
}

static int main_stress(void *p)
{
    size_t capacity = (size_t)(uintptr_t)p;
    static const struct eo_ops ops = { ch_send, ch_recv, ch_try_recv, ch_close };
    tulip_chan *c = tulip_chan_new(sizeof(struct eo_item), capacity);
    assert_non_null(c);
    eo_stress(c, &ops, test_scale(10000), 8, 0xc4a11e5u + capacity);
    struct eo_item it;
    assert_int_equal(tulip_chan_try_recv(c, &it), -ESHUTDOWN);
    assert_int_equal(tulip_chan_free(c), 0);
    return 0;
}

static void test_stress_unbuffered(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_stress, (void *)(uintptr_t)0), 0);
}

static void test_stress_buffered(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_stress, (void *)(uintptr_t)8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rendezvous),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_faults_misuse),
        cmocka_unit_test(test_stress_unbuffered),
        cmocka_unit_test(test_stress_buffered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
