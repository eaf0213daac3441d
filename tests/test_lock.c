/* Lock: ownership, FIFO hand-off without barging, misuse, cancellation
 * that loses nothing (including a waiter cancelled after the hand-off). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

struct trace {
    int order[64];
    int n;
};

struct locker {
    tulip_lock *lock;
    struct trace *tr;
    int id;
    int lock_rc;
    int unlock_rc;
    int held_after;     /* lock still ours when lock returned */
};

static int locker(void *p)
{
    struct locker *a = p;
    a->lock_rc = tulip_lock_acquire(a->lock);
    if (a->lock_rc == 0) {
        a->tr->order[a->tr->n++] = a->id;
        a->held_after = tulip_lock_is_locked(a->lock);
        /* Hold it across a suspension so late arrivals have to queue. */
        tulip_yield();
        a->unlock_rc = tulip_lock_release(a->lock);
    }
    return 0;
}

static int main_basic(void *p)
{
    (void)p;
    tulip_lock l;
    assert_int_equal(tulip_lock_init(&l), 0);
    assert_false(tulip_lock_is_locked(&l));
    assert_int_equal(tulip_lock_acquire(&l), 0);
    assert_true(tulip_lock_is_locked(&l));
    assert_int_equal(tulip_lock_release(&l), 0);
    assert_int_equal(tulip_lock_try_acquire(&l), 0);
    assert_int_equal(tulip_lock_release(&l), 0);
    assert_false(tulip_lock_is_locked(&l));
    return 0;
}

static void test_basic(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_basic, NULL), 0);
}

static int try_other(void *p)
{
    tulip_lock *l = p;
    int a = tulip_lock_try_acquire(l);
    int b = tulip_lock_release(l);
    return a == -EAGAIN && b == -EPERM ? 0 : -1;
}

static int main_misuse(void *p)
{
    (void)p;
    tulip_lock l;
    memset(&l, 0, sizeof l);
    /* Never initialised. */
    assert_int_equal(tulip_lock_acquire(&l), -EINVAL);
    assert_int_equal(tulip_lock_release(&l), -EINVAL);
    assert_int_equal(tulip_lock_try_acquire(&l), -EINVAL);
    assert_int_equal(tulip_lock_acquire(NULL), -EINVAL);
    assert_int_equal(tulip_lock_init(NULL), -EINVAL);
    assert_false(tulip_lock_is_locked(NULL));

    assert_int_equal(tulip_lock_init(&l), 0);
    assert_int_equal(tulip_lock_release(&l), -EPERM);       /* not locked */
    assert_int_equal(tulip_lock_acquire(&l), 0);
    assert_int_equal(tulip_lock_acquire(&l), -EDEADLK);       /* not re-entrant */
    assert_int_equal(tulip_lock_try_acquire(&l), -EDEADLK);
    /* Another task can neither take it nor release it. */
    tulip_task *t = tulip_spawn(try_other, &l);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(tulip_lock_release(&l), 0);
    assert_int_equal(tulip_lock_release(&l), -EPERM);       /* double unlock */

    /* An event is not a lock. */
    tulip_event e;
    tulip_event_init(&e);
    assert_int_equal(tulip_lock_acquire((tulip_lock *)(void *)&e), -EINVAL);
    return 0;
}

static void test_misuse(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_misuse, NULL), 0);
    tulip_lock l;
    tulip_lock_init(&l);
    assert_int_equal(tulip_lock_acquire(&l), -EPERM);     /* outside a task */
    assert_int_equal(tulip_lock_try_acquire(&l), -EPERM);
    assert_int_equal(tulip_lock_release(&l), -EPERM);
}

#define NF 8

static int main_fifo(void *p)
{
    (void)p;
    tulip_lock l;
    tulip_lock_init(&l);
    struct trace tr = {0};
    struct locker a[NF];
    tulip_task *t[NF];
    assert_int_equal(tulip_lock_acquire(&l), 0);
    /* Spawn in reverse id order to show the order is arrival, not id. */
    for (int i = 0; i < NF; i++) {
        a[i] = (struct locker){ .lock = &l, .tr = &tr, .id = NF - 1 - i };
        t[i] = tulip_spawn(locker, &a[i]);
        assert_non_null(t[i]);
    }
    assert_int_equal(tulip_yield(), 0);       /* all queue up behind us */
    assert_int_equal(tulip_lock_release(&l), 0);
    /* Hand-off: the first waiter owns it now, so we cannot barge in. */
    assert_true(tulip_lock_is_locked(&l));
    assert_int_equal(tulip_lock_try_acquire(&l), -EAGAIN);
    /* Queue behind the waiters: we must come last. */
    assert_int_equal(tulip_lock_acquire(&l), 0);
    assert_int_equal(tr.n, NF);
    for (int i = 0; i < NF; i++) {
        assert_int_equal(tr.order[i], NF - 1 - i);
        assert_int_equal(a[i].lock_rc, 0);
        assert_int_equal(a[i].unlock_rc, 0);
        assert_true(a[i].held_after);
    }
    assert_int_equal(tulip_lock_release(&l), 0);
    for (int i = 0; i < NF; i++)
        assert_int_equal(tulip_join(t[i]), 0);
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
    tulip_lock l;
    tulip_lock_init(&l);
    struct trace tr = {0};
    struct locker a[3];
    tulip_task *t[3];
    assert_int_equal(tulip_lock_acquire(&l), 0);
    for (int i = 0; i < 3; i++) {
        a[i] = (struct locker){ .lock = &l, .tr = &tr, .id = i };
        t[i] = tulip_spawn(locker, &a[i]);
    }
    assert_int_equal(tulip_yield(), 0);
    /* Cancel the middle waiter: it leaves the queue holding nothing. */
    assert_int_equal(tulip_cancel(t[1]), 0);
    assert_int_equal(tulip_join(t[1]), 0);
    assert_int_equal(a[1].lock_rc, -ECANCELED);
    assert_int_equal(tulip_lock_release(&l), 0);
    for (int i = 0; i < 3; i++)
        if (i != 1)
            assert_int_equal(tulip_join(t[i]), 0);
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.order[0], 0);
    assert_int_equal(tr.order[1], 2);
    assert_false(tulip_lock_is_locked(&l));

    /* A task already cancelled cannot take even a free lock. */
    a[0] = (struct locker){ .lock = &l, .tr = &tr, .id = 9 };
    tulip_task *c = tulip_spawn(locker, &a[0]);
    tulip_cancel(c);
    assert_int_equal(tulip_join(c), 0);
    assert_int_equal(a[0].lock_rc, -ECANCELED);
    assert_false(tulip_lock_is_locked(&l));
    return 0;
}

static void test_cancel_waiter(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cancel, NULL), 0);
}

static int main_cancel_after_handoff(void *p)
{
    (void)p;
    tulip_lock l;
    tulip_lock_init(&l);
    struct trace tr = {0};
    struct locker a = { .lock = &l, .tr = &tr, .id = 1 };
    assert_int_equal(tulip_lock_acquire(&l), 0);
    tulip_task *t = tulip_spawn(locker, &a);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_lock_release(&l), 0);   /* t owns it now ... */
    assert_int_equal(tulip_cancel(t), 0);         /* ... and is cancelled before it runs */
    assert_int_equal(tulip_join(t), 0);
    /* It kept what it was given: the lock returned 0 and it unlocked. The
     * yield inside saw the cancel, which does not matter here. */
    assert_int_equal(a.lock_rc, 0);
    assert_true(a.held_after);
    assert_int_equal(a.unlock_rc, 0);
    assert_false(tulip_lock_is_locked(&l));
    return 0;
}

static void test_cancel_after_handoff(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cancel_after_handoff, NULL), 0);
}

static int scoped_locker(void *p)
{
    tulip_lock *l = p;
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_MS(10));
    int rc = tulip_lock_acquire(l);
    int sr = tulip_scope_exit(&s);
    return rc == -ETIMEDOUT && sr == -ETIMEDOUT ? 0 : -1;
}

static int main_timeout(void *p)
{
    (void)p;
    tulip_lock l;
    tulip_lock_init(&l);
    assert_int_equal(tulip_lock_acquire(&l), 0);
    tulip_task *t = tulip_spawn(scoped_locker, &l);
    int64_t t0 = tulip_now();
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), 0);
    assert_int_equal(tulip_now() - t0, TULIP_SEC(1));   /* virtual clock */
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(tulip_lock_release(&l), 0);
    assert_false(tulip_lock_is_locked(&l));
    return 0;
}

static void test_timeout(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_timeout, NULL), 0);
}

/* Many tasks each take the lock many times, yielding inside: the counter
 * protected by the lock is never entered by two at once. */
struct crowd {
    tulip_lock l;
    int inside;
    long total;
    int bad;
};

static int crowd_worker(void *p)
{
    struct crowd *c = p;
    for (int i = 0; i < 20; i++) {
        int rc = tulip_lock_acquire(&c->l);
        if (rc)
            return rc;
        if (c->inside++)
            c->bad = 1;
        tulip_yield();
        c->total++;
        c->inside--;
        tulip_lock_release(&c->l);
    }
    return 0;
}

static int main_crowd(void *p)
{
    (void)p;
    struct crowd c = {0};
    tulip_lock_init(&c.l);
    size_t n = test_scale(1000);
    tulip_task **t = calloc(n, sizeof *t);
    for (size_t i = 0; i < n; i++)
        t[i] = tulip_spawn(crowd_worker, &c);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tulip_join(t[i]), 0);
    free(t);
    assert_false(c.bad);
    assert_int_equal(c.total, (long)n * 20);
    return 0;
}

static void test_mutual_exclusion(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_crowd, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_cancel_waiter),
        cmocka_unit_test(test_cancel_after_handoff),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_mutual_exclusion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
