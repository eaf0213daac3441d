/* Queue: FIFO/LIFO/priority order (stable), growth, bounded waits with
 * FIFO getters and putters, join/task_done, shutdown, cancellation that
 * loses nothing, fault injection, misuse, and 10,000 producers/consumers
 * with a third cancelled at random points. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"
#include "exactly_once.h"
#include "tulip/testing.h"

/* ---- order ----------------------------------------------------------------- */

struct prio_item {
    int key;
    int seq;
};

static int prio_cmp(const void *a, const void *b)
{
    const struct prio_item *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static void test_fifo_lifo(void **state)
{
    (void)state;
    /* No task needed for the non-waiting calls. */
    tulip_queue *f = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_FIFO, NULL);
    tulip_queue *l = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_LIFO, NULL);
    assert_non_null(f);
    assert_non_null(l);
    /* Interleave puts and gets so the ring wraps, then grow it while
     * wrapped (the initial 16 slots), and check nothing is reordered. */
    int next_in = 0, next_out = 0, v;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 10 + round * 7; i++) {
            assert_int_equal(tulip_queue_try_put(f, &next_in), 0);
            next_in++;
        }
        for (int i = 0; i < 7; i++) {
            assert_int_equal(tulip_queue_try_get(f, &v), 0);
            assert_int_equal(v, next_out++);
        }
    }
    while (tulip_queue_try_get(f, &v) == 0)
        assert_int_equal(v, next_out++);
    assert_int_equal(next_out, next_in);
    assert_int_equal(tulip_queue_try_get(f, &v), -EAGAIN);

    for (int i = 0; i < 100; i++)
        assert_int_equal(tulip_queue_try_put(l, &i), 0);
    assert_int_equal(tulip_queue_size(l), 100);
    for (int i = 99; i >= 50; i--) {
        assert_int_equal(tulip_queue_try_get(l, &v), 0);
        assert_int_equal(v, i);
    }
    int x = 1000;
    tulip_queue_try_put(l, &x);
    assert_int_equal(tulip_queue_try_get(l, &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(tulip_queue_try_get(l, &v), 0);
    assert_int_equal(v, 49);
    assert_int_equal(tulip_queue_unfinished(l), 101);
    assert_int_equal(tulip_queue_free(f), 0);
    assert_int_equal(tulip_queue_free(l), 0);
}

static void test_priority(void **state)
{
    (void)state;
    tulip_queue *q = tulip_queue_new(sizeof(struct prio_item), 0, TULIP_QUEUE_PRIORITY, prio_cmp);
    assert_non_null(q);
    uint64_t s = 12345;
    enum { N = 2000 };
    /* Few distinct keys, so equal priorities are common; take some out
     * along the way so pushes and pops interleave. */
    int last_key = -1, last_seq = -1, out = 0;
    for (int i = 0; i < N; i++) {
        struct prio_item it = { (int)(eo_rng(&s) % 17), i };
        assert_int_equal(tulip_queue_try_put(q, &it), 0);
        if (i % 3 == 2) {
            assert_int_equal(tulip_queue_try_get(q, &it), 0);
            out++;
        }
    }
    struct prio_item it;
    while (tulip_queue_try_get(q, &it) == 0) {
        assert_true(it.key >= last_key);
        if (it.key == last_key)
            assert_true(it.seq > last_seq);   /* stable: put order */
        last_key = it.key;
        last_seq = it.seq;
        out++;
    }
    assert_int_equal(out, N);
    assert_int_equal(tulip_queue_free(q), 0);

    /* A bounded priority queue, items of an odd size. */
    q = tulip_queue_new(3, 4, TULIP_QUEUE_PRIORITY, (tulip_queue_cmp)strcmp);
    assert_non_null(q);
    const char *words[] = { "dd", "bb", "cc", "aa" };
    for (int i = 0; i < 4; i++)
        assert_int_equal(tulip_queue_try_put(q, words[i]), 0);
    assert_int_equal(tulip_queue_try_put(q, "ee"), -EAGAIN);
    char w[3];
    const char *want[] = { "aa", "bb", "cc", "dd" };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tulip_queue_try_get(q, w), 0);
        assert_string_equal(w, want[i]);
    }
    assert_int_equal(tulip_queue_free(q), 0);
}

/* ---- bounded waits ------------------------------------------------------------- */

struct actor {
    tulip_queue *q;
    int value;
    int rc;
    int got;
    int *log;
    int *n;
};

static int putter(void *p)
{
    struct actor *a = p;
    a->rc = tulip_queue_put(a->q, &a->value);
    if (a->rc == 0 && a->log)
        a->log[(*a->n)++] = a->value;
    return 0;
}

static int getter(void *p)
{
    struct actor *a = p;
    a->rc = tulip_queue_get(a->q, &a->got);
    if (a->rc == 0 && a->log)
        a->log[(*a->n)++] = a->got;
    return 0;
}

static int main_bounded(void *p)
{
    (void)p;
    tulip_queue *q = tulip_queue_new(sizeof(int), 2, TULIP_QUEUE_FIFO, NULL);
    int one = 1, v;
    assert_int_equal(tulip_queue_put(q, &one), 0);
    assert_int_equal(tulip_queue_put(q, &one), 0);
    assert_int_equal(tulip_queue_try_put(q, &one), -EAGAIN);
    /* Putters queue up in arrival order and are admitted in it. */
    struct actor a[5];
    tulip_task *t[5];
    int log[8], n = 0;
    for (int i = 0; i < 5; i++) {
        a[i] = (struct actor){ .q = q, .value = 10 + i };
        t[i] = tulip_spawn(putter, &a[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_queue_size(q), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tulip_queue_get(q, &v), 0);
        assert_int_equal(v, 1);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tulip_queue_get(q, &v), 0);
        assert_int_equal(v, 10 + i);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        assert_int_equal(a[i].rc, 0);
    }

    /* Getters too: each waiting getter gets the items in its turn. */
    for (int i = 0; i < 5; i++) {
        a[i] = (struct actor){ .q = q, .log = log, .n = &n };
        t[i] = tulip_spawn(getter, &a[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    for (int i = 0; i < 5; i++) {
        int x = 100 + i;
        assert_int_equal(tulip_queue_put(q, &x), 0);
        /* Handed straight over: the queue itself stays empty. */
        assert_int_equal(tulip_queue_size(q), 0);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        assert_int_equal(a[i].rc, 0);
        assert_int_equal(a[i].got, 100 + i);
    }
    assert_int_equal(n, 5);
    assert_int_equal(tulip_queue_free(q), 0);
    return 0;
}

static void test_bounded(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_bounded, NULL), 0);
}

/* ---- join / task_done ------------------------------------------------------------ */

struct pool {
    tulip_queue *q;
    int done;
};

static int worker(void *p)
{
    struct pool *w = p;
    int v;
    for (;;) {
        int rc = tulip_queue_get(w->q, &v);
        if (rc)
            return rc == -ESHUTDOWN ? 0 : rc;
        for (int i = 0; i < v % 3; i++)
            tulip_yield();
        w->done++;
        if (tulip_queue_task_done(w->q))
            return -1;
    }
}

static int main_join(void *p)
{
    (void)p;
    struct pool w = { tulip_queue_new(sizeof(int), 4, TULIP_QUEUE_FIFO, NULL), 0 };
    assert_int_equal(tulip_queue_join(w.q), 0);      /* nothing unfinished */
    assert_int_equal(tulip_queue_task_done(w.q), -EINVAL);
    tulip_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = tulip_spawn(worker, &w);
    for (int i = 0; i < 50; i++)
        assert_int_equal(tulip_queue_put(w.q, &i), 0);
    assert_int_equal(tulip_queue_join(w.q), 0);
    /* join returned only after the 50th task_done. */
    assert_int_equal(w.done, 50);
    assert_int_equal(tulip_queue_unfinished(w.q), 0);
    assert_int_equal(tulip_queue_task_done(w.q), -EINVAL);  /* one too many */
    assert_int_equal(tulip_queue_shutdown(w.q, 0), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tulip_join(t[i]), 0);
    assert_int_equal(tulip_queue_free(w.q), 0);

    /* A cancelled join leaves the count alone. */
    tulip_queue *q = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_FIFO, NULL);
    int x = 0;
    tulip_queue_put(q, &x);
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_MS(1));
    assert_int_equal(tulip_queue_join(q), -ETIMEDOUT);
    tulip_scope_exit(&s);
    assert_int_equal(tulip_queue_unfinished(q), 1);
    assert_int_equal(tulip_queue_free(q), 0);
    return 0;
}

static void test_join(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_join, NULL), 0);
}

/* ---- shutdown ------------------------------------------------------------------------ */

static int joiner(void *p)
{
    return tulip_queue_join(p);
}

static int main_shutdown(void *p)
{
    (void)p;
    tulip_queue *q = tulip_queue_new(sizeof(int), 2, TULIP_QUEUE_FIFO, NULL);
    int v;
    /* Waiting getters on an empty queue wake with -ESHUTDOWN. */
    struct actor g = { .q = q };
    tulip_task *gt = tulip_spawn(getter, &g);
    assert_int_equal(tulip_yield(), 0);
    for (int i = 0; i < 2; i++)
        tulip_queue_put(q, &i);
    assert_int_equal(tulip_join(gt), 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.got, 0);
    int two = 2;
    tulip_queue_put(q, &two);
    /* Full now; a waiting putter wakes with -ESHUTDOWN, its item not put. */
    struct actor pa = { .q = q, .value = 99 };
    tulip_task *pt = tulip_spawn(putter, &pa);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_queue_shutdown(q, 0), 0);
    assert_int_equal(tulip_join(pt), 0);
    assert_int_equal(pa.rc, -ESHUTDOWN);
    assert_int_equal(tulip_queue_put(q, &two), -ESHUTDOWN);
    assert_int_equal(tulip_queue_try_put(q, &two), -ESHUTDOWN);
    /* Getters drain what is left, then see the shutdown. */
    assert_int_equal(tulip_queue_get(q, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(tulip_queue_try_get(q, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(tulip_queue_get(q, &v), -ESHUTDOWN);
    assert_int_equal(tulip_queue_try_get(q, &v), -ESHUTDOWN);
    assert_int_equal(tulip_queue_shutdown(q, 0), -EALREADY);
    assert_int_equal(tulip_queue_unfinished(q), 3);
    assert_int_equal(tulip_queue_free(q), 0);

    /* Immediate: queued items are dropped and count as done. */
    q = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_LIFO, NULL);
    for (int i = 0; i < 3; i++)
        tulip_queue_put(q, &i);
    assert_int_equal(tulip_queue_get(q, &v), 0);
    tulip_task *jt = tulip_spawn(joiner, q);
    assert_int_equal(tulip_yield(), 0);
    assert_false(tulip_task_is_done(jt));
    assert_int_equal(tulip_queue_shutdown(q, 1), 0);
    assert_int_equal(tulip_queue_size(q), 0);
    assert_int_equal(tulip_queue_get(q, &v), -ESHUTDOWN);
    assert_int_equal(tulip_queue_unfinished(q), 1);   /* the one we took */
    assert_false(tulip_task_is_done(jt));
    assert_int_equal(tulip_queue_task_done(q), 0);
    assert_int_equal(tulip_join(jt), 0);
    assert_int_equal(tulip_queue_free(q), 0);
    return 0;
}

static void test_shutdown(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_shutdown, NULL), 0);
}

/* ---- cancellation ------------------------------------------------------------------- */

static int main_cancel(void *p)
{
    (void)p;
    tulip_queue *q = tulip_queue_new(sizeof(int), 1, TULIP_QUEUE_FIFO, NULL);
    struct actor g[2] = { { .q = q }, { .q = q } };
    tulip_task *gt[2];
    for (int i = 0; i < 2; i++)
        gt[i] = tulip_spawn(getter, &g[i]);
    assert_int_equal(tulip_yield(), 0);
    /* A cancelled getter took nothing: the next put goes to the other. */
    tulip_cancel(gt[0]);
    assert_int_equal(tulip_join(gt[0]), 0);
    assert_int_equal(g[0].rc, -ECANCELED);
    int v = 7;
    assert_int_equal(tulip_queue_put(q, &v), 0);
    /* That getter was handed 7, then is cancelled before it runs: it
     * still returns 7. */
    tulip_cancel(gt[1]);
    assert_int_equal(tulip_join(gt[1]), 0);
    assert_int_equal(g[1].rc, 0);
    assert_int_equal(g[1].got, 7);
    assert_int_equal(tulip_queue_size(q), 0);

    /* Putters: fill the one slot, queue two putters. */
    v = 1;
    tulip_queue_put(q, &v);
    struct actor pa[2] = { { .q = q, .value = 2 }, { .q = q, .value = 3 } };
    tulip_task *pt[2];
    for (int i = 0; i < 2; i++)
        pt[i] = tulip_spawn(putter, &pa[i]);
    assert_int_equal(tulip_yield(), 0);
    tulip_cancel(pt[0]);                 /* waiting: puts nothing */
    assert_int_equal(tulip_join(pt[0]), 0);
    assert_int_equal(pa[0].rc, -ECANCELED);
    assert_int_equal(tulip_queue_get(q, &v), 0);
    assert_int_equal(v, 1);
    tulip_cancel(pt[1]);                 /* admitted, then cancelled: put */
    assert_int_equal(tulip_join(pt[1]), 0);
    assert_int_equal(pa[1].rc, 0);
    assert_int_equal(tulip_queue_get(q, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(tulip_queue_size(q), 0);
    assert_int_equal(tulip_queue_unfinished(q), 3);  /* 7, 1 and 3 */
    assert_int_equal(tulip_queue_free(q), 0);
    return 0;
}

static void test_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cancel, NULL), 0);
}

/* ---- faults and misuse ------------------------------------------------------------- */

static void test_faults(void **state)
{
    (void)state;
    /* new makes two allocations; fail each in turn. */
    for (unsigned long nth = 1; nth <= 2; nth++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        errno = 0;
        assert_null(tulip_queue_new(8, 4, TULIP_QUEUE_FIFO, NULL));
        assert_int_equal(errno, ENOMEM);
        tulip_fault_reset();
    }
    tulip_fault_arm(TULIP_FAULT_MALLOC, 3, 0);
    tulip_queue *q = tulip_queue_new(8, 4, TULIP_QUEUE_FIFO, NULL);
    assert_non_null(q);
    /* Bounded: no allocation after new. */
    uint64_t x = 1;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(tulip_queue_try_put(q, &x), 0);
        assert_int_equal(tulip_queue_try_get(q, &x), 0);
    }
    assert_int_equal(tulip_fault_calls(TULIP_FAULT_MALLOC), 2);
    tulip_fault_reset();
    assert_int_equal(tulip_queue_free(q), 0);

    /* Unbounded growth that fails: -ENOMEM, queue intact. */
    q = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_FIFO, NULL);
    int i, v;
    for (i = 0; i < 16; i++)
        assert_int_equal(tulip_queue_try_put(q, &i), 0);
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 1);
    assert_int_equal(tulip_queue_try_put(q, &i), -ENOMEM);
    tulip_fault_reset();
    assert_int_equal(tulip_queue_size(q), 16);
    assert_int_equal(tulip_queue_unfinished(q), 16);
    assert_int_equal(tulip_queue_try_put(q, &i), 0);
    for (i = 0; i < 17; i++) {
        assert_int_equal(tulip_queue_try_get(q, &v), 0);
        assert_int_equal(v, i);
    }
    assert_int_equal(tulip_queue_free(q), 0);
}

static int main_free_busy(void *p)
{
    (void)p;
    tulip_queue *q = tulip_queue_new(sizeof(int), 1, TULIP_QUEUE_FIFO, NULL);
    struct actor g = { .q = q };
    tulip_task *t = tulip_spawn(getter, &g);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_queue_free(q), -EBUSY);
    tulip_queue_shutdown(q, 0);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(g.rc, -ESHUTDOWN);
    assert_int_equal(tulip_queue_free(q), 0);
    return 0;
}

static void test_misuse(void **state)
{
    (void)state;
    errno = 0;
    assert_null(tulip_queue_new(4, 0, TULIP_QUEUE_PRIORITY, NULL));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_queue_new(4, 0, (tulip_queue_kind)7, NULL));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_queue_new(SIZE_MAX / 2, 4, TULIP_QUEUE_FIFO, NULL));
    assert_int_equal(errno, EINVAL);
    int v = 0;
    assert_int_equal(tulip_queue_put(NULL, &v), -EINVAL);
    assert_int_equal(tulip_queue_get(NULL, &v), -EINVAL);
    assert_int_equal(tulip_queue_try_put(NULL, &v), -EINVAL);
    assert_int_equal(tulip_queue_try_get(NULL, &v), -EINVAL);
    assert_int_equal(tulip_queue_task_done(NULL), -EINVAL);
    assert_int_equal(tulip_queue_join(NULL), -EINVAL);
    assert_int_equal(tulip_queue_shutdown(NULL, 0), -EINVAL);
    assert_int_equal(tulip_queue_size(NULL), 0);
    assert_int_equal(tulip_queue_free(NULL), 0);
    tulip_queue *q = tulip_queue_new(sizeof v, 0, TULIP_QUEUE_FIFO, NULL);
    assert_int_equal(tulip_queue_try_put(q, NULL), -EINVAL);
    assert_int_equal(tulip_queue_put(q, &v), -EPERM);     /* not in a task */
    assert_int_equal(tulip_queue_get(q, &v), -EPERM);
    assert_int_equal(tulip_queue_join(q), -EPERM);
    assert_int_equal(tulip_queue_free(q), 0);
    /* Zero-size items: a counting signal. */
    q = tulip_queue_new(0, 2, TULIP_QUEUE_FIFO, NULL);
    assert_non_null(q);
    assert_int_equal(tulip_queue_try_put(q, NULL), 0);
    assert_int_equal(tulip_queue_try_put(q, NULL), 0);
    assert_int_equal(tulip_queue_try_put(q, NULL), -EAGAIN);
    assert_int_equal(tulip_queue_try_get(q, NULL), 0);
    assert_int_equal(tulip_queue_free(q), 0);
    assert_int_equal(test_run(main_free_busy, NULL), 0);
}

/* ---- stress: many producers and consumers, a third cancelled ------------------------- */

static int q_put(void *q, const struct eo_item *it)
{
    return tulip_queue_put(q, it);
}

static int q_get(void *q, struct eo_item *it)
{
    int rc = tulip_queue_get(q, it);
    if (rc == 0)
        tulip_queue_task_done(q);
    return rc;
}

static int q_try_get(void *q, struct eo_item *it)
{
    return tulip_queue_try_get(q, it);
}

static int q_shutdown(void *q)
{
    return tulip_queue_shutdown(q, 0);
}

static int main_stress(void *p)
{
    (void)p;
    static const struct eo_ops ops = { q_put, q_get, q_try_get, q_shutdown };
    tulip_queue *q = tulip_queue_new(sizeof(struct eo_item), 8, TULIP_QUEUE_FIFO, NULL);
    assert_non_null(q);
    eo_stress(q, &ops, test_scale(10000), 8, 0x7a11e5u);
    struct eo_item it;
    assert_int_equal(tulip_queue_try_get(q, &it), -ESHUTDOWN);
    assert_int_equal(tulip_queue_free(q), 0);
    return 0;
}

static void test_stress_cancel(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_stress, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_lifo),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_stress_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
