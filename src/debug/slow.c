/* The slow-step detector. A step that never yields cannot report itself
 * while it runs, and after it ends the place it spun in is gone; so a
 * watchdog thread watches the step counter the loop publishes and, once a
 * step has run past the threshold, signals the loop thread, whose handler
 * unwinds the interrupted code into a preallocated buffer. The loop prints
 * the report when the step ends, outside the handler, where symbolising
 * and stdio are safe.
 *
 * SIGURG is the sampling signal (as Go's preemption uses it): its default
 * action is to ignore, so a sample request racing with the detector's
 * teardown cannot kill the process, and programs rarely use it. A handler
 * the program had installed still gets every SIGURG that is not ours. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "debug_internal.h"
#include "../platform/clock.h"

#define SAMPLE_SIGNAL SIGURG

static pthread_mutex_t handler_mu = PTHREAD_MUTEX_INITIALIZER;
static int handler_refs;
static struct sigaction previous;

static void chain(int signo, siginfo_t *si, void *uc)
{
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction)
            previous.sa_sigaction(signo, si, uc);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(signo);
    }
}

static void on_sample(int signo, siginfo_t *si, void *uc)
{
    int saved = errno;
    tulip_loop *l = tulip__tls.loop;
    struct tulip__debug *d = tulip__debug_of(l);
    int ours = si && si->si_code == SI_TKILL && si->si_pid == getpid();
    if (!d || !ours) {
        chain(signo, si, uc);
        errno = saved;
        return;
    }
    uint64_t want = atomic_load_explicit(&d->want_seq, memory_order_acquire);
    if (want && want == atomic_load_explicit(&d->seq, memory_order_relaxed) &&
        atomic_load_explicit(&d->step_start, memory_order_relaxed) != 0 &&
        atomic_load_explicit(&d->got_seq, memory_order_relaxed) != want) {
        d->nips = tulip__unwind_signal(uc, d->ips, TULIP__DBG_FRAMES);
        d->sampled_at = tulip__clock_ns();
        atomic_signal_fence(memory_order_seq_cst);
        atomic_store_explicit(&d->got_seq, want, memory_order_relaxed);
    }
    errno = saved;
}

static int handler_acquire(void)
{
    int rc = 0;
    pthread_mutex_lock(&handler_mu);
    if (handler_refs == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sample;
        /* SA_RESTART: the sampled code's system calls carry on as if
         * nothing happened. */
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SAMPLE_SIGNAL, &sa, &previous) != 0)
            rc = -errno;
    }
    if (rc == 0)
        handler_refs++;
    pthread_mutex_unlock(&handler_mu);
    return rc;
}

static void handler_release(void)
{
    pthread_mutex_lock(&handler_mu);
    if (--handler_refs == 0)
        sigaction(SAMPLE_SIGNAL, &previous, NULL);
    pthread_mutex_unlock(&handler_mu);
}

static struct timespec to_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

/* The watchdog. It wakes every quarter threshold while the loop is between
 * steps (so a slow step is caught within 1.25 thresholds) and exactly at
 * the threshold of a step it has seen begin. One sample per step. */
static void *watchdog(void *p)
{
    struct tulip__debug *d = p;
    uint64_t sampled = 0;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        int64_t thr = atomic_load_explicit(&d->threshold, memory_order_relaxed);
        uint64_t seq = atomic_load_explicit(&d->seq, memory_order_acquire);
        int64_t start = atomic_load_explicit(&d->step_start, memory_order_relaxed);
        int64_t now = tulip__clock_ns();
        int64_t next;
        if (thr <= 0) {
            next = now + TULIP__DBG_DEFAULT_SLOW_NS; /* only to notice a new threshold */
        } else if (start && seq != sampled) {
            if (now - start >= thr) {
                sampled = seq;
                atomic_store_explicit(&d->want_seq, seq, memory_order_release);
                pthread_kill(d->loop_thread, SAMPLE_SIGNAL);
                next = now + thr / 4;
            } else {
                next = start + thr;
            }
        } else {
            next = now + thr / 4;
        }
        if (next < now + 1000000)
            next = now + 1000000;
        struct timespec ts = to_timespec(next);
        pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int tulip__slow_start(struct tulip__debug *d)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc)
        return -rc;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return -rc;
    pthread_mutex_init(&d->mu, NULL);
    rc = handler_acquire();
    if (rc < 0)
        goto fail_sync;
    /* The watchdog must not take the loop's signals: block them all in
     * it (it inherits this mask) so process-directed signals go to
     * threads that expect them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&d->watchdog, NULL, watchdog, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0)
        goto fail_handler;
    d->watchdog_started = 1;
    return 0;

fail_handler:
    handler_release();
fail_sync:
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    return rc;
}

void tulip__slow_stop(struct tulip__debug *d)
{
    if (!d->watchdog_started)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->watchdog, NULL);
    d->watchdog_started = 0;
    handler_release();
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
}

static void fmt_ms(char *buf, size_t n, int64_t ns)
{
    snprintf(buf, n, "%.1f ms", (double)ns / 1e6);
}

void tulip__slow_report(struct tulip__debug *d, int64_t start, int64_t took)
{
    FILE *out = d->out;
    uint64_t seq = atomic_load_explicit(&d->seq, memory_order_relaxed);
    int sampled = atomic_load_explicit(&d->got_seq, memory_order_relaxed) == seq;
    atomic_signal_fence(memory_order_seq_cst);
    char what[200], dur[32], thr[32];
    if (d->step_kind == TULIP__RUN_TASK) {
        snprintf(what, sizeof what, "task %llu \"%s\"", (unsigned long long)d->task_id, d->task_name);
    } else {
        char fn[160];
        void *cb;
        memcpy(&cb, &d->cb, sizeof cb);
        tulip__symbolize(cb, 1, fn, sizeof fn);
        snprintf(what, sizeof what, "callback %s", fn);
    }
    fmt_ms(dur, sizeof dur, took);
    fmt_ms(thr, sizeof thr, atomic_load_explicit(&d->threshold, memory_order_relaxed));
    flockfile(out);
    fprintf(out, "tulip: slow step: %s held the loop for %s (threshold %s)\n", what, dur, thr);
    if (sampled && d->nips > 0) {
        char at[32];
        fmt_ms(at, sizeof at, d->sampled_at - start);
        fprintf(out, "  where it was running %s into the step:\n", at);
        tulip__print_frames(out, "    ", d->ips, d->nips, 1);
    } else if (!tulip__unwind_init()) {
        fprintf(out, "  (no backtrace: %s)\n", tulip__unwind_missing());
    } else {
        fprintf(out, "  (no backtrace: the step ended before the watchdog sampled it)\n");
    }
    funlockfile(out);
    fflush(out);
}
