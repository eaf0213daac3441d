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
#include "tulip/testing.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

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

#define PER_SENDER 8

struct item {
    uint32_t id;
    uint32_t check;
    uint64_t pad[2];
};

static uint32_t mix(uint32_t id)
{
    return id * 2654435761u ^ 0x5bd1e995u;
}

struct stress {
    tulip_chan *c;
    uint8_t *sent, *recvd;
    size_t n_sent, n_recv;
    uint64_t sum_sent, sum_recv;
    int corrupt;
};

struct role {
    struct stress *s;
    uint32_t index;
    uint64_t rng;
};

static void record(struct stress *s, const struct item *it)
{
    if (it->check != mix(it->id) || s->recvd[it->id]++)
        s->corrupt = 1;
    s->n_recv++;
    s->sum_recv += it->id;
}

static int stress_sender(void *p)
{
    struct role *r = p;
    for (uint32_t j = 0; j < PER_SENDER; j++) {
        struct item it = { .id = r->index * PER_SENDER + j };
        it.check = mix(it.id);
        int rc = tulip_chan_send(r->s->c, &it);
        if (rc)
            return rc;
        r->s->sent[it.id] = 1;
        r->s->n_sent++;
        r->s->sum_sent += it.id;
        for (uint64_t y = rng_next(&r->rng) % 3; y > 0; y--)
            if (tulip_yield())
                return -ECANCELED;
    }
    return 0;
}

static int stress_receiver(void *p)
{
    struct role *r = p;
    for (;;) {
        struct item it;
        int rc = tulip_chan_recv(r->s->c, &it);
        if (rc)
            return rc == -ESHUTDOWN ? 0 : rc;
        record(r->s, &it);
        for (uint64_t y = rng_next(&r->rng) % 3; y > 0; y--)
            if (tulip_yield())
                return -ECANCELED;
    }
}

struct canceller {
    tulip_task **victims;
    size_t n;
    uint64_t rng;
};

/* Random-sized batches over about a dozen passes of the loop, while the
 * workload lasts longer: victims are caught in every state. */
static int canceller(void *p)
{
    struct canceller *c = p;
    size_t span = c->n / 6 + 1;
    for (size_t i = 0; i < c->n;) {
        for (size_t b = 1 + rng_next(&c->rng) % span; b > 0 && i < c->n; b--)
            tulip_cancel(c->victims[i++]);
        tulip_yield();
    }
    return 0;
}

static int main_stress(void *p)
{
    size_t capacity = (size_t)(uintptr_t)p;
    size_t n = test_scale(10000);
    size_t items = n / 2 * PER_SENDER;
    struct stress s = { .c = tulip_chan_new(sizeof(struct item), capacity) };
    s.sent = calloc(items, 1);
    s.recvd = calloc(items, 1);
    struct role *roles = calloc(n, sizeof *roles);
    tulip_task **tasks = calloc(n, sizeof *tasks);
    tulip_task **victims = calloc(n, sizeof *victims);
    assert_non_null(s.c);
    uint64_t seed = 0xc4a11e5u + capacity;
    struct canceller c = { victims, n / 3, 0 };
    tulip_task *ct = tulip_spawn(canceller, &c);
    for (size_t i = 0; i < n; i++) {
        roles[i] = (struct role){ .s = &s, .index = (uint32_t)(i / 2), .rng = i * 7919 + 3 };
        tasks[i] = tulip_spawn(i % 2 == 0 ? stress_sender : stress_receiver, &roles[i]);
        assert_non_null(tasks[i]);
        victims[i] = tasks[i];
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rng_next(&seed) % (i + 1));
        tulip_task *t = victims[i];
        victims[i] = victims[j];
        victims[j] = t;
    }
    c.rng = seed;
    assert_int_equal(tulip_join(ct), 0);
    size_t cancelled = 0;
    for (size_t i = 0; i < n; i += 2) {
        int rc = tulip_join(tasks[i]);
        assert_true(rc == 0 || rc == -ECANCELED);
        cancelled += rc == -ECANCELED;
    }
    assert_int_equal(tulip_chan_close(s.c), 0);
    for (size_t i = 1; i < n; i += 2) {
        int rc = tulip_join(tasks[i]);
        assert_true(rc == 0 || rc == -ECANCELED);
        cancelled += rc == -ECANCELED;
    }
    struct item it;
    while (tulip_chan_try_recv(s.c, &it) == 0)
        record(&s, &it);
    assert_int_equal(tulip_chan_try_recv(s.c, &it), -ESHUTDOWN);

    assert_false(s.corrupt);
    assert_true(cancelled > n / 6);
    assert_true(s.n_sent > 0 && s.n_sent < items);
    assert_int_equal(s.n_sent, s.n_recv);
    assert_true(s.sum_sent == s.sum_recv);
    for (size_t i = 0; i < items; i++)
        assert_int_equal(s.sent[i], s.recvd[i]);
    assert_int_equal(tulip_chan_free(s.c), 0);
    free(s.sent);
    free(s.recvd);
    free(roles);
    free(tasks);
    free(victims);
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
