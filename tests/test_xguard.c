/* The guard of channels and queues (src/sync/xguard.h): an object used by
 * one loop stays owned by its thread (no mutex); the first touch from
 * another thread makes it shared for good, parked owners included; and
 * the switch, made at random points while the owner loop is in the middle
 * of its operations (parks, hand-offs, cancellations), still delivers
 * every item exactly once and in order per sender. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "test_util.h"
#include "exactly_once.h"
#include "tulip/runtime.h"
#include "sync/sync_internal.h"

static int chan_shared(tulip_chan *c)
{
    return tulip__xguard_shared(&c->g);
}

static int queue_shared(tulip_queue *q)
{
    return tulip__xguard_shared(tulip__queue_guard(q));
}

/* ---- one loop: owned ------------------------------------------------------- */

static tulip_chan *oc[3];
static tulip_queue *oq;

static int owned_ponger(void *p)
{
    (void)p;
    long v;
    for (int i = 0; i < 100; i++) {
        if (tulip_chan_recv(oc[0], &v) || tulip_chan_send(oc[1], &v))
            return -1;
    }
    return 0;
}

static int owned_getter(void *p)
{
    (void)p;
    long v, sum = 0;
    for (int i = 0; i < 100; i++) {
        if (tulip_queue_get(oq, &v))
            return -1;
        sum += v;
    }
    return (int)sum;
}

static int parked_forever(void *p)
{
    long v;
    return tulip_chan_recv(p, &v);
}

static int main_owned(void *p)
{
    (void)p;
    tulip_task *t = tulip_spawn(owned_ponger, NULL);
    for (long i = 0; i < 100; i++) {
        long v = i;
        assert_int_equal(tulip_chan_send(oc[0], &v), 0);
        assert_int_equal(tulip_chan_recv(oc[1], &v), 0);
        assert_int_equal(v, i);
    }
    assert_int_equal(tulip_join(t), 0);
    /* A select parked on two channels, completed through one. */
    long a, b = 7;
    tulip_task *s = tulip_spawn(parked_forever, oc[2]);
    tulip_yield();
    tulip_select_case cs[2] = {
        {.chan = oc[0], .op = TULIP_SELECT_RECV, .item = &a},
        {.chan = oc[2], .op = TULIP_SELECT_SEND, .item = &b},
    };
    assert_int_equal(tulip_select(cs, 2, false), 1);
    assert_int_equal(tulip_join(s), 0);
    /* A parked receiver cancelled. */
    s = tulip_spawn(parked_forever, oc[2]);
    tulip_yield();
    tulip_cancel(s);
    assert_int_equal(tulip_join(s), -ECANCELED);
    /* The queue, with a getter that parks. */
    t = tulip_spawn(owned_getter, NULL);
    for (long i = 0; i < 100; i++) {
        assert_int_equal(tulip_queue_put(oq, &i), 0);
        if (i % 3 == 0)
            tulip_yield();
    }
    assert_int_equal(tulip_join(t), 99 * 100 / 2);
    assert_int_equal(tulip_chan_close(oc[1]), 0);
    return 0;
}

static void test_one_loop_stays_owned(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        oc[i] = tulip_chan_new(sizeof(long), 0);
    oq = tulip_queue_new(sizeof(long), 4, TULIP_QUEUE_FIFO, NULL);
    assert_int_equal(test_run(main_owned, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_false(chan_shared(oc[i]));
        assert_int_equal(tulip_chan_size(oc[i]), 0); /* same thread: still owned */
        assert_false(chan_shared(oc[i]));
        assert_int_equal(tulip_chan_free(oc[i]), 0);
    }
    assert_false(queue_shared(oq));
    assert_int_equal(tulip_queue_free(oq), 0);
}

/* ---- a plain thread's try_send shares a channel with a parked owner ---------- */

static tulip_chan *fc, *fother;
static tulip_queue *fq;
static sem_t fgo, fdone;

static void *foreign(void *p)
{
    (void)p;
    sem_wait(&fgo);
    long v = 41;
    /* Loop 0's receiver and its select are parked (linked while owned). */
    assert_int_equal(tulip_chan_try_send(fc, &v), 0);
    v = 42;
    assert_int_equal(tulip_queue_try_put(fq, &v), 0);
    v = 43;
    assert_int_equal(tulip_chan_try_send(fc, &v), 0);
    sem_post(&fdone);
    return NULL;
}

static int foreign_receiver(void *p)
{
    (void)p;
    long v;
    return tulip_chan_recv(fc, &v) == 0 ? (int)v : -1;
}

static int foreign_getter(void *p)
{
    (void)p;
    long v;
    return tulip_queue_get(fq, &v) == 0 ? (int)v : -1;
}

static int foreign_selecter(void *p)
{
    (void)p;
    long a = 0, b = 0;
    tulip_select_case cs[2] = {
        {.chan = fother, .op = TULIP_SELECT_RECV, .item = &b},
        {.chan = fc, .op = TULIP_SELECT_RECV, .item = &a},
    };
    int rc = tulip_select(cs, 2, false);
    return rc == 1 && cs[1].result == 0 ? (int)a : -1;
}

static int main_foreign(void *p)
{
    (void)p;
    /* Touch them here first: this thread owns them. */
    assert_int_equal(tulip_chan_size(fc) + tulip_chan_size(fother) + tulip_queue_size(fq), 0);
    tulip_task *r = tulip_spawn(foreign_receiver, NULL);
    tulip_task *g = tulip_spawn(foreign_getter, NULL);
    tulip_task *s = tulip_spawn(foreign_selecter, NULL);
    tulip_yield(); /* all three park */
    assert_false(chan_shared(fc));
    assert_false(queue_shared(fq));
    sem_post(&fgo);
    /* The wake-ups come back as posts to this loop. */
    assert_int_equal(tulip_join(r), 41);
    assert_int_equal(tulip_join(g), 42);
    assert_int_equal(tulip_join(s), 43);
    sem_wait(&fdone);
    return 0;
}

static void test_foreign_thread_shares(void **state)
{
    (void)state;
    sem_init(&fgo, 0, 0);
    sem_init(&fdone, 0, 0);
    fc = tulip_chan_new(sizeof(long), 0);
    fother = tulip_chan_new(sizeof(long), 0);
    fq = tulip_queue_new(sizeof(long), 0, TULIP_QUEUE_FIFO, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, foreign, NULL), 0);
    assert_int_equal(test_run(main_foreign, NULL), 0);
    pthread_join(th, NULL);
    assert_true(chan_shared(fc));
    assert_true(queue_shared(fq));
    /* Only this loop's thread touched fother: still owned, and the select
     * left no entry on it (free would say -EBUSY). */
    assert_false(chan_shared(fother));
    assert_int_equal(tulip_chan_free(fother), 0);
    assert_int_equal(tulip_chan_free(fc), 0);
    assert_int_equal(tulip_queue_free(fq), 0);
    sem_destroy(&fgo);
    sem_destroy(&fdone);
}

/* ---- the switch at random points, under load -------------------------------- */

#define OWN_SENDERS 2    /* on loop 0, the owner */
#define OWN_RECEIVERS 2
#define SENDERS (OWN_SENDERS + 1) /* plus one on loop 1 */

enum kind { UNBUFFERED, BUFFERED, QUEUE, KINDS };

static struct {
    enum kind kind;
    tulip_chan *c;
    tulip_queue *q;
    int per_sender;
    struct eo_ledger got;
    atomic_int fifo_broken;
    tulip_chan *done;    /* loop 1 reports to loop 0 here */
    atomic_int go;       /* loop 0 lets loop 1 in (round number + 1) */
    int rounds;
} R;

struct role {
    tulip_task *t;
    int sender;          /* -1: receiver */
    int next;
    int done;
    int last[SENDERS];
};

static int r_send(long v)
{
    return R.kind == QUEUE ? tulip_queue_put(R.q, &v) : tulip_chan_send(R.c, &v);
}

static int r_recv(long *v)
{
    return R.kind == QUEUE ? tulip_queue_get(R.q, v) : tulip_chan_recv(R.c, v);
}

static int role_main(void *p)
{
    struct role *r = p;
    if (r->sender >= 0) {
        while (r->next < R.per_sender) {
            int rc = r_send((long)r->sender * R.per_sender + r->next);
            if (rc)
                return rc; /* cancelled: not sent, resent by the next task */
            r->next++;
        }
        r->done = 1;
        return 0;
    }
    for (;;) {
        long v;
        int rc = r_recv(&v);
        if (rc == -ESHUTDOWN) {
            r->done = 1;
            return 0;
        }
        if (rc)
            return rc; /* cancelled: took nothing */
        assert_true(v >= 0 && v < (long)SENDERS * R.per_sender);
        int sender = (int)(v / R.per_sender), seq = (int)(v % R.per_sender);
        eo_received_id(&R.got, (uint32_t)v);
        if (seq <= r->last[sender])
            atomic_store(&R.fifo_broken, 1);
        r->last[sender] = seq;
    }
}

static void role_init(struct role *r, int sender)
{
    memset(r, 0, sizeof *r);
    r->sender = sender;
    for (int k = 0; k < SENDERS; k++)
        r->last[k] = -1;
    r->t = tulip_spawn(role_main, r);
    assert_non_null(r->t);
}

/* Loop 1: for each round, wait to be let in, then send its share and
 * receive. It waits spinning (it has nothing else to run), so that it
 * comes in while loop 0 is still busy with the object. */
static int late_driver(void *p)
{
    (void)p;
    for (int round = 0; round < R.rounds; round++) {
        while (atomic_load(&R.go) != round + 1)
            sched_yield();
        struct role s, r;
        role_init(&s, OWN_SENDERS);
        role_init(&r, -1);
        assert_int_equal(tulip_join(s.t), 0);
        int msg = 1;
        assert_int_equal(tulip_chan_send(R.done, &msg), 0);
        assert_int_equal(tulip_join(r.t), 0);
        msg = 2;
        assert_int_equal(tulip_chan_send(R.done, &msg), 0);
    }
    return 0;
}

static void one_round(int round, uint64_t *rng)
{
    R.kind = (enum kind)(round % KINDS);
    R.c = NULL;
    R.q = NULL;
    if (R.kind == QUEUE)
        R.q = tulip_queue_new(sizeof(long), 2, TULIP_QUEUE_FIFO, NULL);
    else
        R.c = tulip_chan_new(sizeof(long), R.kind == BUFFERED ? 3 : 0);
    eo_ledger_init(&R.got, (size_t)SENDERS * (size_t)R.per_sender);
    atomic_store(&R.fifo_broken, 0);

    struct role roles[OWN_SENDERS + OWN_RECEIVERS];
    for (int i = 0; i < OWN_SENDERS + OWN_RECEIVERS; i++)
        role_init(&roles[i], i < OWN_SENDERS ? i : -1);
    /* Loop 0 works alone for a while (the object is its own), then lets
     * loop 1 in at a random point and goes on, cancelling its own tasks at
     * random: loop 1's first operation meets loop 0 in any state. */
    int chaos = 4 * R.per_sender;
    int let_in = (int)(tulip__rng_next(rng) % (uint64_t)(R.per_sender / 2));
    for (int k = 0; k < chaos; k++) {
        if (k == let_in)
            atomic_store(&R.go, round + 1);
        uint64_t x = tulip__rng_next(rng);
        for (unsigned y = (unsigned)(x % 3); y > 0; y--)
            tulip_yield();
        if ((x >> 8) % 4)
            continue;
        struct role *r = &roles[(x >> 16) % (OWN_SENDERS + OWN_RECEIVERS)];
        if (r->done)
            continue;
        tulip_cancel(r->t);
        tulip_join(r->t);
        r->t = NULL;
        if (!r->done) {
            r->t = tulip_spawn(role_main, r);
            assert_non_null(r->t);
        }
    }
    for (int i = 0; i < OWN_SENDERS; i++) {
        if (roles[i].t)
            assert_int_equal(tulip_join(roles[i].t), 0);
        assert_true(roles[i].done);
    }
    int msg;
    assert_int_equal(tulip_chan_recv(R.done, &msg), 0);
    assert_int_equal(msg, 1);
    /* Every sender is done: close, and the receivers drain and stop. */
    if (R.kind == QUEUE)
        assert_int_equal(tulip_queue_shutdown(R.q, false), 0);
    else
        assert_int_equal(tulip_chan_close(R.c), 0);
    for (int i = OWN_SENDERS; i < OWN_SENDERS + OWN_RECEIVERS; i++) {
        if (roles[i].t)
            assert_int_equal(tulip_join(roles[i].t), 0);
        assert_true(roles[i].done);
    }
    assert_int_equal(tulip_chan_recv(R.done, &msg), 0);
    assert_int_equal(msg, 2);

    eo_ledger_check(&R.got, 1); /* cancelled senders' items were resent */
    assert_int_equal(atomic_load(&R.fifo_broken), 0);
    if (R.kind == QUEUE) {
        assert_true(queue_shared(R.q));
        assert_int_equal(tulip_queue_free(R.q), 0);
    } else {
        assert_true(chan_shared(R.c));
        assert_int_equal(tulip_chan_free(R.c), 0);
    }
}

static int main_switch(void *p)
{
    (void)p;
    assert_int_equal(tulip_loop_index(), 0);
    tulip_future *f;
    assert_int_equal(tulip_spawn_remote(tulip_loop_at(1), late_driver, NULL, &f), 0);
    uint64_t rng = 0x2545f4914f6cdd1dull;
    for (int round = 0; round < R.rounds; round++)
        one_round(round, &rng);
    void *res;
    assert_int_equal(tulip_future_await(f, &res), 0);
    tulip_future_free(f);
    return 0;
}

static void test_switch_under_load(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    R.rounds = (int)test_scale(30000) / 100; /* 300; 3 under valgrind */
    R.per_sender = 2000;
    R.done = tulip_chan_new(sizeof(int), 0);
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = 2;
    assert_int_equal(tulip_run_ex(main_switch, NULL, &cfg), 0);
    assert_int_equal(tulip_chan_free(R.done), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_loop_stays_owned),
        cmocka_unit_test(test_foreign_thread_shares),
        cmocka_unit_test(test_switch_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
