/* The slow-step detector. A step that never yields cannot report itself
 * while it runs, and after it ends the place it spun in is gone; so a
 * watchdog thread watches the step counter the loop publishes and, once a
 * step has run past the threshold, signals the loop thread, whose handler
 * unwinds the interrupted code into a preallocated buffer. The loop prints
 * the report when the step ends, outside the handler, where symbolising
 * and stdio are safe.
 *
 * Debug mode must not change what the program does. A signal that lands
 * while the loop thread sleeps in the kernel ends nanosleep, select, poll
 * and epoll_wait with EINTR whatever SA_RESTART says (signal(7)), so a
 * sleep(1) in a step returned after one threshold and the report said the
 * stall was that short; checking first what the thread does and then
 * signalling it leaves a window in which it can enter such a call. So the
 * watchdog never signals the loop thread itself: it arms a one-shot timer
 * on the loop thread's CPU-time clock that expires after one more
 * nanosecond of CPU time. A thread asleep in the kernel uses none, so the
 * timer cannot fire during a sleep; and the kernel (POSIX CPU timers run
 * as task work, Linux 5.11+ on x86-64 and arm64) raises the signal only on
 * the thread's way back to user space, where it interrupts nothing. The
 * report of a step blocked in a call names the call and where it was made
 * from, read from /proc/self/task/TID/syscall (reading it changes
 * nothing).
 *
 * SIGURG is the sampling signal (as Go's preemption uses it): its default
 * action is to ignore, so a sample request racing with the detector's
 * teardown cannot kill the process, and programs rarely use it. A handler
 * the program had installed still gets every SIGURG that is not ours. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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
    int ours = d && si && si->si_code == SI_TIMER && si->si_value.sival_ptr == d;
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

/* What the kernel says the loop thread is doing: 1 blocked in system call
 * *nr, called from *pc; 0 running (or blocked outside any system call, as
 * in a page fault: a signal is harmless there); -1 unknown. */
static int loop_thread_syscall(const struct tulip__debug *d, long *nr, uintptr_t *pc)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)d->loop_tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    if (strncmp(buf, "running", 7) == 0)
        return 0;
    char *p = buf, *end;
    long v = strtol(p, &end, 10);
    if (end == p)
        return -1;
    if (v < 0)
        return 0;
    /* "nr arg1 .. arg6 sp pc": the last field is the user pc. */
    char *last = strrchr(buf, ' ');
    *nr = v;
    *pc = last ? (uintptr_t)strtoull(last + 1, NULL, 16) : 0;
    return 1;
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
        } else if (start) {
            if (now - start >= thr) {
                if (seq != sampled) {
                    /* Sample at the step's next CPU tick (see the top). */
                    sampled = seq;
                    atomic_store_explicit(&d->want_seq, seq, memory_order_release);
                    struct itimerspec its = {.it_value = {.tv_sec = 0, .tv_nsec = 1}};
                    timer_settime(d->cpu_timer, 0, &its, NULL);
                }
                long nr = 0;
                uintptr_t pc = 0;
                if (loop_thread_syscall(d, &nr, &pc) == 1) {
                    atomic_store_explicit(&d->blocked_nr, nr, memory_order_relaxed);
                    atomic_store_explicit(&d->blocked_pc, pc, memory_order_relaxed);
                    atomic_store_explicit(&d->blocked_seq, seq, memory_order_release);
                }
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
    clockid_t cpu;
    rc = -pthread_getcpuclockid(d->loop_thread, &cpu);
    if (rc < 0)
        goto fail_handler_only;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SAMPLE_SIGNAL;
    sev.sigev_value.sival_ptr = d;
    sev._sigev_un._tid = d->loop_tid;
    if (timer_create(cpu, &sev, &d->cpu_timer) != 0) {
        rc = -errno;
        goto fail_handler_only;
    }
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
    timer_delete(d->cpu_timer);
fail_handler_only:
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
    timer_delete(d->cpu_timer);
    handler_release();
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
}

static const char *syscall_name(long nr)
{
    static const struct {
        long nr;
        const char *name;
    } names[] = {
#ifdef SYS_nanosleep
        {SYS_nanosleep, "nanosleep"},
#endif
#ifdef SYS_clock_nanosleep
        {SYS_clock_nanosleep, "clock_nanosleep"},
#endif
#ifdef SYS_select
        {SYS_select, "select"},
#endif
#ifdef SYS_pselect6
        {SYS_pselect6, "pselect6"},
#endif
#ifdef SYS_poll
        {SYS_poll, "poll"},
#endif
#ifdef SYS_ppoll
        {SYS_ppoll, "ppoll"},
#endif
#ifdef SYS_epoll_wait
        {SYS_epoll_wait, "epoll_wait"},
#endif
#ifdef SYS_epoll_pwait
        {SYS_epoll_pwait, "epoll_pwait"},
#endif
        {SYS_read, "read"},
        {SYS_write, "write"},
        {SYS_futex, "futex"},
#ifdef SYS_wait4
        {SYS_wait4, "wait4"},
#endif
        {SYS_connect, "connect"},
        {SYS_accept4, "accept4"},
        {SYS_recvfrom, "recvfrom"},
        {SYS_sendto, "sendto"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].nr == nr)
            return names[i].name;
    return "?";
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
    char what[400], dur[32], thr[32];
    if (d->step_kind == TULIP__RUN_TASK) {
        snprintf(what, sizeof what, "task %llu \"%s\"", (unsigned long long)d->task_id, d->task_name);
    } else {
        char fn[360];
        void *cb;
        memcpy(&cb, &d->cb, sizeof cb);
        tulip__symbolize(cb, 1, fn, sizeof fn);
        snprintf(what, sizeof what, "callback %s", fn);
    }
    fmt_ms(dur, sizeof dur, took);
    fmt_ms(thr, sizeof thr, atomic_load_explicit(&d->threshold, memory_order_relaxed));
    flockfile(out);
    fprintf(out, "tulip: slow step: %s held the loop for %s (threshold %s)\n", what, dur, thr);
    int blocked = atomic_load_explicit(&d->blocked_seq, memory_order_acquire) == seq;
    if (sampled && d->nips > 0) {
        char at[32];
        fmt_ms(at, sizeof at, d->sampled_at - start);
        fprintf(out, "  where it was running %s into the step:\n", at);
        tulip__print_frames(out, "    ", d->ips, d->nips, 1);
    } else if (blocked) {
        long nr = atomic_load_explicit(&d->blocked_nr, memory_order_relaxed);
        uintptr_t pc = atomic_load_explicit(&d->blocked_pc, memory_order_relaxed);
        char where[512];
        tulip__symbolize((const void *)pc, 0, where, sizeof where);
        fprintf(out, "  blocked in system call %s (%ld), called from:\n    %s\n", syscall_name(nr), nr, where);
    } else if (!tulip__unwind_init()) {
        fprintf(out, "  (no backtrace: %s)\n", tulip__unwind_missing());
    } else {
        fprintf(out, "  (no backtrace: the step ended before the watchdog sampled it)\n");
    }
    funlockfile(out);
    fflush(out);
}
