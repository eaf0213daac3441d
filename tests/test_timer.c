/* The loop's timer heap (src/loop/timer_heap.h), and above all its lazy
 * move: a pending timer moved later keeps its heap entry and is filed
 * again when that entry comes up. These tests fail if that path misfires:
 * a timer moved later must not fire at its old deadline, one moved earlier
 * must fire at the new one, a stopped one never, equal deadlines in the
 * order they were set (moves included), and a random mix of moves and stops
 * must match a plain model. On the virtual clock, where the loop jumps to
 * the next entry's deadline, so every deadline is exact; one case on the
 * real clock checks only that nothing fires before its deadline. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"
#include "loop/loop_internal.h"
#include "platform/clock.h"

#define MS TULIP_MS(1)

struct tm_rec {
    struct tulip__timer tm;
    tulip_loop *loop;
    int id;
    int fired;
    int64_t at;                  /* loop time at the last firing */
};

/* Every firing, in order. */
static struct {
    int id[4096];
    int64_t at[4096];
    int n;
} fires;

static void on_fire(struct tulip__timer *t)
{
    struct tm_rec *r = tulip__container_of(t, struct tm_rec, tm);
    r->fired++;
    r->at = tulip__loop_now(r->loop);
    assert_true(fires.n < 4096);
    fires.id[fires.n] = r->id;
    fires.at[fires.n++] = r->at;
}

static tulip_loop *new_loop(int virtual_clock)
{
    tulip_loop *l = test_loop_new(virtual_clock);
    assert_non_null(l);
    fires.n = 0;
    return l;
}

static void rec_init(struct tm_rec *r, tulip_loop *l, int id)
{
    memset(r, 0, sizeof *r);
    tulip__timer_init(&r->tm, on_fire);
    r->loop = l;
    r->id = id;
}

/* Run the loop until its clock moves or something fires: the virtual
 * clock jumps to the next entry's deadline and what is due there fires
 * (an iteration that finds I/O to look at first, such as the loop's own
 * wake-up, does neither). */
static void step(tulip_loop *l)
{
    int64_t t = tulip__loop_now(l);
    int n = fires.n;
    for (int i = 0; i < 4 && tulip__loop_now(l) == t && fires.n == n; i++)
        assert_true(tulip_loop_run_once(l, true) >= 0);
}

/* Run until no entry is left (bounded: every entry comes up at most twice
 * per move). */
static void drain(tulip_loop *l)
{
    for (int i = 0; i < 100000 && l->timers.n; i++)
        step(l);
    assert_int_equal(l->timers.n, 0);
}

/* Where t is filed in the heap. */
static int64_t filed(tulip_loop *l, const struct tulip__timer *t)
{
    assert_true(tulip__timer_pending(t));
    assert_ptr_equal(l->timers.items[t->slot], t);
    return t->when;
}

static void test_moved_later_not_early(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    int64_t t0 = tulip__loop_now(l);
    struct tm_rec a;
    rec_init(&a, l, 1);
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 10 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 50 * MS), 0);
    /* The lazy path was taken: still filed at 10 ms. */
    assert_int_equal(filed(l, &a.tm), t0 + 10 * MS);
    assert_int_equal(a.tm.due, t0 + 50 * MS);
    step(l); /* to 10 ms: it comes up and is filed again */
    assert_int_equal(tulip__loop_now(l), t0 + 10 * MS);
    assert_int_equal(a.fired, 0);
    assert_int_equal(filed(l, &a.tm), t0 + 50 * MS);
    step(l);
    assert_int_equal(a.fired, 1);
    assert_int_equal(a.at, t0 + 50 * MS);
    assert_false(tulip__timer_pending(&a.tm));

    /* Moved later step by step, and later again after being filed anew:
     * it fires once, at the last deadline. */
    int64_t t1 = tulip__loop_now(l);
    assert_int_equal(tulip__timer_start(l, &a.tm, t1 + 10 * MS), 0);
    for (int i = 2; i <= 4; i++)
        assert_int_equal(tulip__timer_start(l, &a.tm, t1 + i * 10 * MS), 0);
    assert_int_equal(filed(l, &a.tm), t1 + 10 * MS);
    step(l);
    assert_int_equal(a.fired, 1);
    assert_int_equal(tulip__timer_start(l, &a.tm, t1 + 70 * MS), 0);
    drain(l);
    assert_int_equal(a.fired, 2);
    assert_int_equal(a.at, t1 + 70 * MS);
    tulip_loop_free(l);
}

static void test_moved_earlier_on_time(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    int64_t t0 = tulip__loop_now(l);
    struct tm_rec a, b, c;
    rec_init(&a, l, 1);
    rec_init(&b, l, 2);
    rec_init(&c, l, 3);
    /* Earlier than where it is filed: moved at once. */
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 50 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 20 * MS), 0);
    assert_int_equal(filed(l, &a.tm), t0 + 20 * MS);
    /* Later, then back earlier but not before where it is filed: still lazy,
     * and it fires at the last deadline, not the one between. */
    assert_int_equal(tulip__timer_start(l, &b.tm, t0 + 10 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &b.tm, t0 + 60 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &b.tm, t0 + 30 * MS), 0);
    assert_int_equal(filed(l, &b.tm), t0 + 10 * MS);
    /* Later, then earlier than where it is filed: moved at once. */
    assert_int_equal(tulip__timer_start(l, &c.tm, t0 + 10 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &c.tm, t0 + 60 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &c.tm, t0 + 5 * MS), 0);
    assert_int_equal(filed(l, &c.tm), t0 + 5 * MS);
    drain(l);
    assert_int_equal(fires.n, 3);
    assert_int_equal(fires.id[0], 3);
    assert_int_equal(fires.at[0], t0 + 5 * MS);
    assert_int_equal(fires.id[1], 1);
    assert_int_equal(fires.at[1], t0 + 20 * MS);
    assert_int_equal(fires.id[2], 2);
    assert_int_equal(fires.at[2], t0 + 30 * MS);
    tulip_loop_free(l);
}

static void test_stop_after_move(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    int64_t t0 = tulip__loop_now(l);
    struct tm_rec a, b, c, keep;
    rec_init(&a, l, 1);
    rec_init(&b, l, 2);
    rec_init(&c, l, 3);
    rec_init(&keep, l, 4);
    assert_int_equal(tulip__timer_start(l, &keep.tm, t0 + 100 * MS), 0);
    /* Stopped while moved: gone from the heap at once. */
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 10 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 50 * MS), 0);
    tulip__timer_stop(l, &a.tm);
    assert_false(tulip__timer_pending(&a.tm));
    assert_int_equal(l->timers.n, 1);
    /* Stopped after being filed anew at its deadline. */
    assert_int_equal(tulip__timer_start(l, &b.tm, t0 + 10 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &b.tm, t0 + 60 * MS), 0);
    step(l);
    assert_int_equal(tulip__loop_now(l), t0 + 10 * MS);
    assert_int_equal(filed(l, &b.tm), t0 + 60 * MS);
    tulip__timer_stop(l, &b.tm);
    /* Moved to never: dropped when it comes up, and the virtual
     * clock is not sent to the end of time. */
    assert_int_equal(tulip__timer_start(l, &c.tm, t0 + 20 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &c.tm, TULIP_FOREVER), 0);
    assert_true(tulip__timer_pending(&c.tm));
    step(l);
    assert_int_equal(tulip__loop_now(l), t0 + 20 * MS);
    assert_false(tulip__timer_pending(&c.tm));
    /* and a timer stopped that way can be started again */
    assert_int_equal(tulip__timer_start(l, &c.tm, t0 + 30 * MS), 0);
    drain(l);
    assert_int_equal(a.fired + b.fired, 0);
    assert_int_equal(c.fired, 1);
    assert_int_equal(c.at, t0 + 30 * MS);
    assert_int_equal(keep.fired, 1);
    assert_int_equal(keep.at, t0 + 100 * MS);
    assert_int_equal(tulip__loop_now(l), t0 + 100 * MS);
    tulip_loop_free(l);
}

/* Equal deadlines fire in the order they were set, a move counting as
 * setting: the lazy path takes its place in that order when it moves,
 * not when it comes up where it was filed. */
static void test_fifo_with_moves(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    int64_t t0 = tulip__loop_now(l);
    struct tm_rec r[6];
    for (int i = 0; i < 6; i++)
        rec_init(&r[i], l, i);
    assert_int_equal(tulip__timer_start(l, &r[0].tm, t0 + 10 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &r[1].tm, t0 + 30 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &r[0].tm, t0 + 30 * MS), 0); /* after 1 */
    assert_int_equal(tulip__timer_start(l, &r[2].tm, t0 + 30 * MS), 0); /* after 0 */
    /* Moved to the very deadline it is filed under: it still goes after
     * those set there before the move. */
    assert_int_equal(tulip__timer_start(l, &r[3].tm, t0 + 20 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &r[4].tm, t0 + 20 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &r[3].tm, t0 + 20 * MS), 0);
    /* Moved twice: the last move counts. */
    assert_int_equal(tulip__timer_start(l, &r[5].tm, t0 + 5 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &r[5].tm, t0 + 30 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &r[5].tm, t0 + 25 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &r[5].tm, t0 + 30 * MS), 0); /* after 2 */
    drain(l);
    static const int order[] = { 4, 3, 1, 0, 2, 5 };
    static const int at_ms[] = { 20, 20, 30, 30, 30, 30 };
    assert_int_equal(fires.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(fires.id[i], order[i]);
        assert_int_equal(fires.at[i], t0 + at_ms[i] * MS);
    }
    tulip_loop_free(l);
}

/* A move whose ticket would not fit the 32 bits beside slot is made
 * at once instead; nothing else changes. */
static void test_ticket_too_far(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    int64_t t0 = tulip__loop_now(l);
    struct tm_rec a, b;
    rec_init(&a, l, 1);
    rec_init(&b, l, 2);
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 10 * MS), 0);
    l->timers.next_seq += (uint64_t)1 << 32; /* as after 2^32 other settings */
    assert_int_equal(tulip__timer_start(l, &b.tm, t0 + 50 * MS), 0);
    assert_int_equal(tulip__timer_start(l, &a.tm, t0 + 50 * MS), 0);
    assert_int_equal(filed(l, &a.tm), t0 + 50 * MS);
    assert_int_equal(a.tm.moved, 0);
    drain(l);
    assert_int_equal(fires.n, 2);
    assert_int_equal(fires.id[0], 2);
    assert_int_equal(fires.id[1], 1);
    assert_int_equal(fires.at[1], t0 + 50 * MS);
    tulip_loop_free(l);
}

/* Random starts, moves (mostly later, as deadlines renewed by traffic
 * are), stops and loop steps over many timers, checked against a model:
 * each firing is of a timer the model has pending, at exactly its
 * deadline, and equal deadlines go in the order they were set. */
#define NT 64
static void test_random_against_model(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(1);
    static struct tm_rec r[NT];
    int64_t due[NT];       /* model: deadline, or -1 when stopped */
    uint64_t set_at[NT];   /* model: when it was last set (its FIFO ticket) */
    int expect_fired[NT];
    uint64_t op = 0;
    for (int i = 0; i < NT; i++) {
        rec_init(&r[i], l, i);
        due[i] = -1;
        expect_fired[i] = 0;
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    int steps = (int)test_scale(20000);
    for (int s = 0; s < steps; s++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % NT);
        int64_t now = tulip__loop_now(l);
        unsigned what = (unsigned)(x >> 32) % 16;
        if (what < 9) {         /* later than now by up to 50 ms: mostly a later move */
            int64_t d = now + (int64_t)((x >> 40) % 50) * MS;
            if (due[i] >= 0 && what < 6 && d < due[i])
                d = due[i] + (int64_t)((x >> 48) % 5) * MS;
            assert_int_equal(tulip__timer_start(l, &r[i].tm, d), 0);
            due[i] = d;
            set_at[i] = op++;
        } else if (what < 11) {
            tulip__timer_stop(l, &r[i].tm);
            due[i] = -1;
        } else if (l->timers.n) {
            fires.n = 0;
            step(l);
            int64_t t = tulip__loop_now(l);
            uint64_t last_set = 0;
            for (int k = 0; k < fires.n; k++) {
                int j = fires.id[k];
                assert_true(due[j] >= 0);
                assert_int_equal(fires.at[k], due[j]); /* exactly on time */
                assert_int_equal(due[j], t);
                if (k > 0)
                    assert_true(set_at[j] > last_set);
                last_set = set_at[j];
                due[j] = -1;
                expect_fired[j]++;
            }
            /* Nothing the model has due by now was left unfired. */
            for (int j = 0; j < NT; j++)
                assert_true(due[j] < 0 || due[j] > t);
        }
    }
    fires.n = 0;
    drain(l);
    for (int j = 0; j < NT; j++) {
        if (due[j] >= 0)
            expect_fired[j]++;
        assert_int_equal(r[j].fired, expect_fired[j]);
    }
    tulip_loop_free(l);
}

/* The same through tulip_scope_set_deadline, as the HTTP server moves a
 * connection's read deadline. */
static int main_scope_moves(void *p)
{
    (void)p;
    tulip_scope s;
    int64_t t0 = tulip_now();
    tulip_scope_enter(&s, t0 + 10 * MS);
    tulip_scope_set_deadline(&s, t0 + 50 * MS); /* later: lazy */
    assert_int_equal(tulip_sleep(30 * MS), 0);  /* past 10 ms, not timed out */
    assert_int_equal(tulip_now(), t0 + 30 * MS);
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), -ETIMEDOUT);
    assert_int_equal(tulip_now(), t0 + 50 * MS);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);

    /* Later, then earlier again. */
    int64_t t1 = tulip_now();
    tulip_scope_enter(&s, t1 + 10 * MS);
    tulip_scope_set_deadline(&s, t1 + 40 * MS);
    tulip_scope_set_deadline(&s, t1 + 20 * MS);
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), -ETIMEDOUT);
    assert_int_equal(tulip_now(), t1 + 20 * MS);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);

    /* To no deadline and back, as around a handler. */
    int64_t t2 = tulip_now();
    tulip_scope_enter(&s, t2 + 10 * MS);
    tulip_scope_set_deadline(&s, TULIP_FOREVER);
    assert_int_equal(tulip_sleep(100 * MS), 0);
    assert_false(tulip_scope_is_triggered(&s));
    tulip_scope_set_deadline(&s, tulip_now() + 10 * MS);
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), -ETIMEDOUT);
    assert_int_equal(tulip_now(), t2 + 110 * MS);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);

    /* Exited while moved: the timer leaves the heap with the scope (ASan and
     * valgrind would see a later firing touch the dead frame). */
    for (int i = 0; i < 3; i++) {
        tulip_scope inner;
        tulip_scope_enter(&inner, tulip_now() + 5 * MS);
        tulip_scope_set_deadline(&inner, tulip_now() + 50 * MS);
        assert_int_equal(tulip_yield(), 0);
        assert_int_equal(tulip_scope_exit(&inner), 0);
    }
    assert_int_equal(tulip_sleep(TULIP_SEC(1)), 0);
    return 0;
}

static void test_scope_moves(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_scope_moves, NULL), 0);
}

/* Real clock: a timer moved later fires, and not before its deadline.
 * Only that order is asserted, never how long anything took. */
static void test_real_clock_never_early(void **state)
{
    (void)state;
    tulip_loop *l = new_loop(0);
    struct tm_rec a;
    rec_init(&a, l, 1);
    int64_t now = tulip__clock_ns();
    assert_int_equal(tulip__timer_start(l, &a.tm, now + 1 * MS), 0);
    int64_t d = now + 20 * MS;
    assert_int_equal(tulip__timer_start(l, &a.tm, d), 0);
    while (!a.fired)
        step(l);
    assert_true(tulip__clock_ns() >= d);
    assert_true(a.at >= d);
    tulip_loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moved_later_not_early),
        cmocka_unit_test(test_moved_earlier_on_time),
        cmocka_unit_test(test_stop_after_move),
        cmocka_unit_test(test_fifo_with_moves),
        cmocka_unit_test(test_ticket_too_far),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_scope_moves),
        cmocka_unit_test(test_real_clock_never_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
