/* Debug mode observes without changing behaviour (issue 12): a step that
 * blocks the loop thread in a sleeping system call is not interrupted by
 * the slow-step detector (before, its sampling signal ended nanosleep and
 * select with EINTR after one threshold), and the stall it reports covers
 * the whole blocked step as the step itself measured it. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "test_util.h"
#include "tulip/debug.h"
#include "debug/debug_internal.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct blocked {
    int sleep_rc, sleep_errno;
    struct timespec remaining;
    int select_rc, select_errno;
    int64_t took;          /* the step's own measure of its blocking calls */
    uint64_t seq;          /* the debug layer's number of this step */
};

static void blocker(struct blocked *b)
{
    struct tulip__debug *d = tulip__debug_of(tulip_loop_current());
    b->seq = atomic_load(&d->seq);
    int64_t t0 = mono_ns();
    /* Far past the threshold (5 ms): the watchdog looks several times. */
    struct timespec want = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};
    b->remaining.tv_sec = 1;
    b->sleep_rc = nanosleep(&want, &b->remaining);
    b->sleep_errno = b->sleep_rc ? errno : 0;
    if (b->sleep_rc == 0)
        b->remaining.tv_sec = b->remaining.tv_nsec = 0;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 150 * 1000};
    b->select_rc = select(0, NULL, NULL, NULL, &tv);
    b->select_errno = b->select_rc < 0 ? errno : 0;
    b->took = mono_ns() - t0;
}

static int main_task(void *arg)
{
    (void)arg;
    struct tulip__debug *d = tulip__debug_of(tulip_loop_current());
    assert_non_null(d);
    FILE *report = tmpfile();
    assert_non_null(report);
    d->out = report;

    struct blocked b;
    memset(&b, 0, sizeof b);
    tulip_yield(); /* a fresh step */
    blocker(&b);
    tulip_yield(); /* ends the blocked step: it is measured and reported */
    /* What that step's report chose from (tulip__slow_report), read before
     * this step could be seen slow itself: a CPU sample of the step comes
     * first, else the system call the watchdog saw it blocked in. */
    int sampled = atomic_load(&d->got_seq) == b.seq && d->nips > 0;
    int blocked = atomic_load(&d->blocked_seq) == b.seq;

    /* Not interrupted: the sleep slept it all, select timed out. */
    assert_int_equal(b.sleep_errno, 0);
    assert_int_equal(b.sleep_rc, 0);
    assert_int_equal(b.remaining.tv_sec, 0);
    assert_int_equal(b.remaining.tv_nsec, 0);
    assert_int_equal(b.select_errno, 0);
    assert_int_equal(b.select_rc, 0);

    /* The stall reported covers the step's own measure of it. */
    tulip_debug_stats st;
    assert_int_equal(tulip_debug_stats_get(NULL, &st), 0);
    assert_true(st.slow_steps >= 1);
    assert_true(st.max_step_ns >= b.took);

    /* If the watchdog looked while the step was blocked (it wakes every
     * 1.25 ms here, but a loaded machine may starve it) and no CPU sample
     * of the step was taken, the report names the call instead of a
     * backtrace taken by interrupting it. (Compared with this step's own
     * number: a later step seen blocked says nothing of this report.) */
    fflush(report);
    rewind(report);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, report);
    buf[n] = 0;
    assert_non_null(strstr(buf, "slow step"));
    if (sampled)
        assert_non_null(strstr(buf, "where it was running"));
    else if (blocked)
        assert_non_null(strstr(buf, "blocked in system call"));
    d->out = stderr;
    fclose(report);
    return 0;
}

static void test_blocking_step_not_interrupted(void **state)
{
    (void)state;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    cfg.slow_step_ns = TULIP_MS(5);
    assert_int_equal(tulip_run_ex(main_task, NULL, &cfg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocking_step_not_interrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
