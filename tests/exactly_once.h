/* One exactly-once harness for the tests of everything that hands items
 * from senders to receivers (channels, queues, across loops). Include after
 * cmocka.h and test_util.h.
 *
 * The ledger records, per item id, whether its send succeeded and how many
 * times it was received, and checks at the end that every item was
 * received exactly as often as it was sent: once, or never when its sender
 * was cancelled ("a cancelled send sent nothing, a cancelled receive took
 * nothing", docs/DESIGN.md §7). Its counters are atomic so tasks on several
 * loops (threads) can share one.
 *
 * eo_stress drives a primitive through eo_ops: senders and receivers
 * interleaved, a third of all tasks cancelled at random points in random
 * batches (so victims are caught in every state: not started, parked,
 * just handed an item, running), then close, drain and check. */
#ifndef TULIP_TEST_EXACTLY_ONCE_H
#define TULIP_TEST_EXACTLY_ONCE_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "tulip.h"
#include "common/rng.h"

/* Bigger than a word, with a checksum: a copy that is not whole shows. */
struct eo_item {
    uint32_t id;
    uint32_t check;
    uint64_t pad[2];
};

static inline uint32_t eo_mix(uint32_t id)
{
    return id * 2654435761u ^ 0x5bd1e995u;
}

static inline struct eo_item eo_item(uint32_t id)
{
    return (struct eo_item){ .id = id, .check = eo_mix(id) };
}

/* tulip's own generator (src/common/rng.h), seeded per task: a run replays. */
static inline uint64_t eo_rng(uint64_t *s)
{
    return tulip__rng_next(s);
}

struct eo_ledger {
    size_t items;
    atomic_uchar *sent, *recvd;
    atomic_size_t n_sent, n_recv;
    atomic_uint_fast64_t sum_sent, sum_recv;
    atomic_int corrupt;
};

static inline void eo_ledger_init(struct eo_ledger *l, size_t items)
{
    l->items = items;
    l->sent = calloc(items, sizeof *l->sent);
    l->recvd = calloc(items, sizeof *l->recvd);
    assert_true(l->sent && l->recvd);
    atomic_init(&l->n_sent, 0);
    atomic_init(&l->n_recv, 0);
    atomic_init(&l->sum_sent, 0);
    atomic_init(&l->sum_recv, 0);
    atomic_init(&l->corrupt, 0);
}

/* The send of id succeeded. */
static inline void eo_sent(struct eo_ledger *l, uint32_t id)
{
    if (id >= l->items || atomic_fetch_add(&l->sent[id], 1))
        atomic_store(&l->corrupt, 1);
    atomic_fetch_add(&l->n_sent, 1);
    atomic_fetch_add(&l->sum_sent, id);
}

/* Item id was received (for items without a checksum). */
static inline void eo_received_id(struct eo_ledger *l, uint32_t id)
{
    if (id >= l->items || atomic_fetch_add(&l->recvd[id], 1))
        atomic_store(&l->corrupt, 1);
    atomic_fetch_add(&l->n_recv, 1);
    atomic_fetch_add(&l->sum_recv, id);
}

static inline void eo_received(struct eo_ledger *l, const struct eo_item *it)
{
    if (it->check != eo_mix(it->id))
        atomic_store(&l->corrupt, 1);
    eo_received_id(l, it->id);
}

/* The verdict, then the ledger is freed. all: every item must have been
 * received (no send could fail), whether or not eo_sent recorded it. */
static inline void eo_ledger_check(struct eo_ledger *l, int all)
{
    for (size_t i = 0; i < l->items; i++) {
        unsigned want = all ? 1 : atomic_load(&l->sent[i]);
        if (atomic_load(&l->recvd[i]) != want)
            fail_msg("item %zu received %u times, expected %u", i, (unsigned)atomic_load(&l->recvd[i]), want);
    }
    assert_int_equal(atomic_load(&l->corrupt), 0);
    if (!all) {
        assert_int_equal(atomic_load(&l->n_sent), atomic_load(&l->n_recv));
        assert_true(atomic_load(&l->sum_sent) == atomic_load(&l->sum_recv));
    }
    free(l->sent);
    free(l->recvd);
}

/* ---- the cancellation stress ------------------------------------------------ */

struct eo_ops {
    int (*send)(void *obj, const struct eo_item *it);     /* 0 or an error */
    int (*recv)(void *obj, struct eo_item *it);           /* -ESHUTDOWN: closed and empty */
    int (*try_recv)(void *obj, struct eo_item *it);       /* 0, or non-zero when empty/closed */
    int (*close)(void *obj);
};

struct eo_run {
    void *obj;
    const struct eo_ops *ops;
    struct eo_ledger ledger;
    uint32_t per_sender;
};

struct eo_role {
    struct eo_run *run;
    uint32_t index;
    uint64_t rng;
};

static inline int eo_pause(struct eo_role *r)
{
    for (uint64_t y = eo_rng(&r->rng) % 3; y > 0; y--)
        if (tulip_yield())
            return -ECANCELED;
    return 0;
}

static inline int eo_sender(void *p)
{
    struct eo_role *r = p;
    for (uint32_t j = 0; j < r->run->per_sender; j++) {
        struct eo_item it = eo_item(r->index * r->run->per_sender + j);
        int rc = r->run->ops->send(r->run->obj, &it);
        if (rc)
            return rc;
        eo_sent(&r->run->ledger, it.id);
        if (eo_pause(r))
            return -ECANCELED;
    }
    return 0;
}

static inline int eo_receiver(void *p)
{
    struct eo_role *r = p;
    for (;;) {
        struct eo_item it;
        int rc = r->run->ops->recv(r->run->obj, &it);
        if (rc)
            return rc == -ESHUTDOWN ? 0 : rc;
        eo_received(&r->run->ledger, &it);
        if (eo_pause(r))
            return -ECANCELED;
    }
}

struct eo_canceller {
    tulip_task **victims;
    size_t n;
    uint64_t rng;
};

/* Random-sized batches, one per pass of the loop, over about a dozen
 * passes: the workload lasts longer than that. */
static inline int eo_canceller(void *p)
{
    struct eo_canceller *c = p;
    size_t span = c->n / 6 + 1;
    for (size_t i = 0; i < c->n;) {
        for (size_t b = 1 + eo_rng(&c->rng) % span; b > 0 && i < c->n; b--)
            tulip_cancel(c->victims[i++]);
        tulip_yield();
    }
    return 0;
}

static inline size_t eo_join_every_other(tulip_task **tasks, size_t from, size_t n)
{
    size_t cancelled = 0;
    for (size_t i = from; i < n; i += 2) {
        int rc = tulip_join(tasks[i]);
        assert_true(rc == 0 || rc == -ECANCELED);
        cancelled += rc == -ECANCELED;
    }
    return cancelled;
}

/* Run from a task: n tasks (even indexes send per_sender items each, odd
 * ones receive), a third of them cancelled; close obj once the senders are
 * done, drain what cancelled receivers left, check the ledger. */
static inline void eo_stress(void *obj, const struct eo_ops *ops, size_t n, uint32_t per_sender, uint64_t seed)
{
    struct eo_run run = { .obj = obj, .ops = ops, .per_sender = per_sender };
    size_t items = n / 2 * per_sender;
    eo_ledger_init(&run.ledger, items);
    struct eo_role *roles = calloc(n, sizeof *roles);
    tulip_task **tasks = calloc(n, sizeof *tasks);
    tulip_task **victims = calloc(n, sizeof *victims);
    assert_true(roles && tasks && victims);
    /* The canceller runs first (once this task parks), so its first batch
     * hits tasks that have not started; it reads victims only then. */
    struct eo_canceller c = { victims, n / 3, 0 };
    tulip_task *ct = tulip_spawn(eo_canceller, &c);
    for (size_t i = 0; i < n; i++) {
        roles[i] = (struct eo_role){ .run = &run, .index = (uint32_t)(i / 2), .rng = i * 7919 + seed };
        tasks[i] = tulip_spawn(i % 2 == 0 ? eo_sender : eo_receiver, &roles[i]);
        assert_non_null(tasks[i]);
        victims[i] = tasks[i];
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(eo_rng(&seed) % (i + 1));
        tulip_task *t = victims[i];
        victims[i] = victims[j];
        victims[j] = t;
    }
    c.rng = seed;
    assert_int_equal(tulip_join(ct), 0);
    size_t cancelled = eo_join_every_other(tasks, 0, n);
    assert_int_equal(ops->close(obj), 0);
    cancelled += eo_join_every_other(tasks, 1, n);
    struct eo_item it;
    while (ops->try_recv(obj, &it) == 0)
        eo_received(&run.ledger, &it);

    assert_true(cancelled > n / 6);
    size_t sent = atomic_load(&run.ledger.n_sent);
    assert_true(sent > 0 && sent < items); /* some sends were cut off */
    eo_ledger_check(&run.ledger, 0);
    free(roles);
    free(tasks);
    free(victims);
}

#endif
