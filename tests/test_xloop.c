/* Channels, select and queues across loops (tulip_config.workers): every
 * item delivered exactly once while senders and receivers on three loops
 * are cancelled at random points; per-sender FIFO; one post per burst of
 * cross-loop wake-ups; shutdown with tasks parked across loops. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "test_util.h"
#include "exactly_once.h"
#include "tulip/runtime.h"
#include "sync/xwait.h"

#define LOOPS 3
#define SENDERS 2   /* per loop */
#define RECEIVERS 2 /* per loop */
#define NSEND (LOOPS * SENDERS)

enum mode { CHAN, SELECT, QUEUE };

struct item {
    int sender;
    int seq;
};

static struct {
    enum mode mode;
    tulip_chan *c;
    tulip_chan *dummy;   /* a channel nobody uses: select parks on it too */
    tulip_queue *q;
    int per_sender;
    struct eo_ledger got; /* item sender * per_sender + seq */
    atomic_int fifo_broken;
    tulip_chan *done;    /* loop drivers report to main here */
} S;

static int do_send(const struct item *it)
{
    switch (S.mode) {
    case CHAN:
        return tulip_chan_send(S.c, it);
    case QUEUE:
        return tulip_queue_put(S.q, it);
    default: {
        int sink;
        tulip_select_case cs[2] = {
            {.chan = S.dummy, .op = TULIP_SELECT_RECV, .item = &sink},
            {.chan = S.c, .op = TULIP_SELECT_SEND, .item = (void *)it},
        };
        int rc = tulip_select(cs, 2, false);
        if (rc < 0)
            return rc;
        assert_int_equal(rc, 1);
        return cs[1].result;
    }
    }
}

static int do_recv(struct item *it)
{
    switch (S.mode) {
    case CHAN:
        return tulip_chan_recv(S.c, it);
    case QUEUE:
        return tulip_queue_get(S.q, it);
    default: {
        int sink;
        tulip_select_case cs[2] = {
            {.chan = S.c, .op = TULIP_SELECT_RECV, .item = it},
            {.chan = S.dummy, .op = TULIP_SELECT_RECV, .item = &sink},
        };
        int rc = tulip_select(cs, 2, false);
        if (rc < 0)
            return rc;
        assert_int_equal(rc, 0);
        return cs[0].result;
    }
    }
}

struct slot {
    tulip_task *t;
    int sender;          /* -1 for a receiver */
    int next;            /* sender: next seq to send */
    int done;
    int last[NSEND];     /* receiver: last seq seen from each sender */
};

static int sender_main(void *p)
{
    struct slot *s = p;
    while (s->next < S.per_sender) {
        struct item it = {s->sender, s->next};
        int rc = do_send(&it);
        if (rc)
            return rc; /* cancelled: not sent; the next task resends it */
        s->next++;
    }
    s->done = 1;
    return 0;
}

static int receiver_main(void *p)
{
    struct slot *s = p;
    for (;;) {
        struct item it;
        int rc = do_recv(&it);
        if (rc == -ESHUTDOWN) {
            s->done = 1;
            return 0;
        }
        if (rc)
            return rc; /* cancelled: took nothing */
        assert_true(it.sender >= 0 && it.sender < NSEND && it.seq >= 0 && it.seq < S.per_sender);
        eo_received_id(&S.got, (uint32_t)(it.sender * S.per_sender + it.seq));
        /* Each receiver sees every sender's items in increasing order. */
        if (it.seq <= s->last[it.sender])
            atomic_store(&S.fifo_broken, 1);
        s->last[it.sender] = it.seq;
        if ((it.seq & 7) == 0)
            tulip_yield();
    }
}

static void respawn(struct slot *s)
{
    s->t = tulip_spawn(s->sender >= 0 ? sender_main : receiver_main, s);
    assert_non_null(s->t);
}

/* One per loop: runs its senders and receivers and cancels them at random
 * points, respawning each until its work is done. */
static int driver(void *p)
{
    int loop = (int)(intptr_t)p;
    assert_int_equal(tulip_loop_index(), loop);
    struct slot slots[SENDERS + RECEIVERS];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < SENDERS + RECEIVERS; i++) {
        slots[i].sender = i < SENDERS ? loop * SENDERS + i : -1;
        for (int k = 0; k < NSEND; k++)
            slots[i].last[k] = -1;
        respawn(&slots[i]);
    }
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(loop + 1);
    size_t chaos = test_scale(20000);
    for (size_t k = 0; k < chaos; k++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        for (unsigned y = (unsigned)(rng % 5); y > 0; y--)
            tulip_yield();
        struct slot *s = &slots[(rng >> 8) % (SENDERS + RECEIVERS)];
        if (s->done)
            continue;
        tulip_cancel(s->t);
        tulip_join(s->t);
        s->t = NULL;
        if (!s->done)
            respawn(s);
    }
    for (int i = 0; i < SENDERS; i++) {
        if (slots[i].t)
            assert_int_equal(tulip_join(slots[i].t), 0);
        assert_true(slots[i].done);
    }
    int msg = 1;
    assert_int_equal(tulip_chan_send(S.done, &msg), 0);
    for (int i = SENDERS; i < SENDERS + RECEIVERS; i++) {
        if (slots[i].t)
            assert_int_equal(tulip_join(slots[i].t), 0);
        assert_true(slots[i].done);
    }
    msg = 2;
    assert_int_equal(tulip_chan_send(S.done, &msg), 0);
    return 0;
}

static int main_stress(void *p)
{
    (void)p;
    assert_int_equal(tulip_loop_count(), LOOPS);
    for (int i = 0; i < LOOPS; i++)
        assert_int_equal(tulip_spawn_remote(tulip_loop_at((unsigned)i), driver, (void *)(intptr_t)i, NULL), 0);
    int msg, senders_done = 0, receivers_done = 0;
    while (senders_done < LOOPS) {
        assert_int_equal(tulip_chan_recv(S.done, &msg), 0);
        senders_done += msg == 1;
        receivers_done += msg == 2;
    }
    /* Every item is in: close, and the receivers drain and stop. */
    if (S.mode == QUEUE)
        assert_int_equal(tulip_queue_shutdown(S.q, false), 0);
    else
        assert_int_equal(tulip_chan_close(S.c), 0);
    while (receivers_done < LOOPS) {
        assert_int_equal(tulip_chan_recv(S.done, &msg), 0);
        receivers_done += msg == 2;
    }
    return 0;
}

static void stress(enum mode mode, size_t capacity)
{
    memset(&S, 0, sizeof S);
    S.mode = mode;
    S.per_sender = (int)test_scale(10000);
    eo_ledger_init(&S.got, (size_t)NSEND * (size_t)S.per_sender);
    S.done = tulip_chan_new(sizeof(int), 0);
    if (mode == QUEUE) {
        S.q = tulip_queue_new(sizeof(struct item), capacity, TULIP_QUEUE_FIFO, NULL);
        assert_non_null(S.q);
    } else {
        S.c = tulip_chan_new(sizeof(struct item), capacity);
        S.dummy = tulip_chan_new(sizeof(int), 0);
        assert_non_null(S.c);
    }
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = LOOPS;
    assert_int_equal(tulip_run_ex(main_stress, NULL, &cfg), 0);
    eo_ledger_check(&S.got, 1); /* every item exactly once: cancelled senders' tasks resend */
    assert_int_equal(atomic_load(&S.fifo_broken), 0);
    assert_int_equal(tulip_chan_free(S.c), 0);
    assert_int_equal(tulip_chan_free(S.dummy), 0);
    assert_int_equal(tulip_queue_free(S.q), 0);
    assert_int_equal(tulip_chan_free(S.done), 0);
}

static void test_chan_unbuffered(void **state)
{
    (void)state;
    stress(CHAN, 0);
}

static void test_chan_buffered(void **state)
{
    (void)state;
    stress(CHAN, 4);
}

static void test_select_both_sides(void **state)
{
    (void)state;
    stress(SELECT, 2);
}

static void test_queue_bounded(void **state)
{
    (void)state;
    stress(QUEUE, 4);
}

/* ---- one post per burst ------------------------------------------------ */

#define BURST 1000
#define EXTRA 3

static sem_t parked, go;
static tulip_chan *bc[1 + EXTRA];
static tulip_queue *bq;

static int burst_receiver(void *p)
{
    tulip_chan *c = p;
    int n = c == bc[0] ? BURST : 1;
    for (int i = 0; i < n; i++) {
        int v;
        if (tulip_chan_recv(c, &v) != 0 || v != i)
            return -1;
    }
    return 0;
}

static int queue_receiver(void *p)
{
    (void)p;
    int v;
    return tulip_queue_get(bq, &v) == 0 && v == 42 ? 0 : -1;
}

static int burst_driver(void *p)
{
    (void)p;
    tulip_task *r[2 + EXTRA];
    for (int i = 0; i < 1 + EXTRA; i++)
        r[i] = tulip_spawn(burst_receiver, bc[i]);
    r[1 + EXTRA] = tulip_spawn(queue_receiver, NULL);
    /* One pass of the ready queue: every receiver runs and parks. */
    tulip_yield();
    uint64_t posts0, wakes0, posts1, wakes1;
    tulip__xwake_stats(tulip_loop_current(), &posts0, &wakes0);
    /* Hold this loop's thread while loop 0 sends everything. */
    sem_post(&parked);
    sem_wait(&go);
    for (int i = 0; i < 2 + EXTRA; i++)
        if (tulip_join(r[i]) != 0)
            return -1;
    tulip__xwake_stats(tulip_loop_current(), &posts1, &wakes1);
    /* 1 + EXTRA + 1 parked tasks woken by 1000 + EXTRA + 1 items from the
     * other loop, through a single post. */
    if (posts1 - posts0 != 1 || wakes1 - wakes0 != 2 + EXTRA)
        return -2;
    return 0;
}

static int main_burst(void *p)
{
    (void)p;
    tulip_future *f;
    assert_int_equal(tulip_spawn_remote(tulip_loop_at(1), burst_driver, NULL, &f), 0);
    sem_wait(&parked); /* blocks loop 0: nothing else runs here meanwhile */
    for (int i = 0; i < BURST; i++)
        assert_int_equal(tulip_chan_send(bc[0], &i), 0);
    for (int i = 1; i < 1 + EXTRA; i++) {
        int zero = 0;
        assert_int_equal(tulip_chan_send(bc[i], &zero), 0);
    }
    int v = 42;
    assert_int_equal(tulip_queue_put(bq, &v), 0);
    /* Nothing sent here may have woken anything on this loop. */
    uint64_t posts;
    tulip__xwake_stats(tulip_loop_current(), &posts, NULL);
    assert_int_equal(posts, 0);
    sem_post(&go);
    void *res;
    assert_int_equal(tulip_future_await(f, &res), 0);
    tulip_future_free(f);
    return 0;
}

static void test_one_post_per_burst(void **state)
{
    (void)state;
    sem_init(&parked, 0, 0);
    sem_init(&go, 0, 0);
    bc[0] = tulip_chan_new(sizeof(int), BURST);
    for (int i = 1; i < 1 + EXTRA; i++)
        bc[i] = tulip_chan_new(sizeof(int), 0 + 1);
    bq = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_FIFO, NULL);
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = 2;
    assert_int_equal(tulip_run_ex(main_burst, NULL, &cfg), 0);
    for (int i = 0; i < 1 + EXTRA; i++)
        assert_int_equal(tulip_chan_free(bc[i]), 0);
    assert_int_equal(tulip_queue_free(bq), 0);
    sem_destroy(&parked);
    sem_destroy(&go);
}

/* ---- shutdown with tasks parked on other loops' channels ------------- */

static tulip_chan *sc;
static tulip_queue *sq;
static atomic_int unwound;
static atomic_int started;
static sem_t all_parked;

static int parked_forever(void *p)
{
    int kind = (int)(intptr_t)p, v = 0, rc;
    atomic_fetch_add(&started, 1);
    sem_post(&all_parked);
    if (kind == 0) {
        rc = tulip_chan_recv(sc, &v);
    } else if (kind == 1) {
        tulip_chan *full = tulip_chan_new(sizeof(int), 0);
        tulip_select_case cs[2] = {
            {.chan = sc, .op = TULIP_SELECT_RECV, .item = &v},
            {.chan = full, .op = TULIP_SELECT_SEND, .item = &v},
        };
        rc = tulip_select(cs, 2, false);
        tulip_chan_free(full);
    } else {
        rc = tulip_queue_get(sq, &v);
    }
    if (rc == -ECANCELED)
        atomic_fetch_add(&unwound, 1);
    return rc;
}

static int main_shutdown(void *p)
{
    (void)p;
    for (int i = 0; i < 9; i++)
        assert_int_equal(tulip_spawn_remote(tulip_loop_at(1 + (unsigned)i % 2), parked_forever,
                                            (void *)(intptr_t)(i % 3), NULL), 0);
    for (int i = 0; i < 9; i++)
        sem_wait(&all_parked);
    return 5; /* with nine tasks parked on loops 1 and 2 */
}

static void test_shutdown_with_parked(void **state)
{
    (void)state;
    sem_init(&all_parked, 0, 0);
    sc = tulip_chan_new(sizeof(int), 0);
    sq = tulip_queue_new(sizeof(int), 0, TULIP_QUEUE_FIFO, NULL);
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = 3;
    assert_int_equal(tulip_run_ex(main_shutdown, NULL, &cfg), 5);
    assert_int_equal(atomic_load(&started), 9);
    assert_int_equal(atomic_load(&unwound), 9);
    /* Nobody is left linked on them. */
    assert_int_equal(tulip_chan_free(sc), 0);
    assert_int_equal(tulip_queue_free(sq), 0);
    sem_destroy(&all_parked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chan_unbuffered),
        cmocka_unit_test(test_chan_buffered),
        cmocka_unit_test(test_select_both_sides),
        cmocka_unit_test(test_queue_bounded),
        cmocka_unit_test(test_one_post_per_burst),
        cmocka_unit_test(test_shutdown_with_parked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
