/* Debug mode's entry points: attach/detach (called by tulip_loop_new/free
 * in src/runtime/loop_new.c), the step hooks it installs on the loop
 * (src/loop/loop_internal.h: the loop calls them by pointer) and the
 * public settings. Each hook is a few stores; the work happens in the
 * watchdog thread (slow.c), at step end when a step was slow, and at
 * detach (leak.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "debug_internal.h"
#include "tulip/debug.h"
#include "tulip/signal.h"
#include "../common/fault.h"
#include "../platform/clock.h"

/* slow_step_ns from the config; 0 there means TULIP_SLOW_MS, else 100 ms. */
static int64_t threshold_from(const tulip_config *cfg)
{
    if (cfg->slow_step_ns)
        return cfg->slow_step_ns < 0 ? 0 : cfg->slow_step_ns;
    const char *s = getenv("TULIP_SLOW_MS");
    if (!s || !*s)
        return TULIP__DBG_DEFAULT_SLOW_NS;
    char *end;
    double ms = strtod(s, &end);
    if (end == s || *end)
        return TULIP__DBG_DEFAULT_SLOW_NS;
    return ms <= 0 ? 0 : (int64_t)(ms * 1e6);
}

static void on_sigquit(void *arg, int signo)
{
    (void)signo;
    tulip_dump_loop(arg, stderr);
}

static void step_begin(void *observer, struct tulip__runnable *r)
{
    struct tulip__debug *d = observer;
    d->step_kind = r->kind;
    if (r->kind == TULIP__RUN_TASK) {
        const tulip_task *t = tulip__container_of(r, tulip_task, run);
        d->task_id = t->id;
        memcpy(d->task_name, t->name, sizeof d->task_name);
    } else {
        d->cb = tulip__container_of(r, tulip_timer, run)->cb;
    }
    /* start before seq: a watchdog that sees the new seq sees its start.
     * Only this thread writes seq, so a plain store does (no locked add). */
    atomic_store_explicit(&d->step_start, tulip__clock_ns(), memory_order_relaxed);
    uint64_t seq = atomic_load_explicit(&d->seq, memory_order_relaxed);
    atomic_store_explicit(&d->seq, seq + 1, memory_order_release);
}

static void step_end(void *observer)
{
    struct tulip__debug *d = observer;
    int64_t start = atomic_load_explicit(&d->step_start, memory_order_relaxed);
    /* From here on a late sampling signal finds no step and does nothing. */
    atomic_store_explicit(&d->step_start, 0, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    int64_t took = tulip__clock_ns() - start;
    d->steps++;
    if (took > d->max_step_ns)
        d->max_step_ns = took;
    int64_t thr = atomic_load_explicit(&d->threshold, memory_order_relaxed);
    if (thr > 0 && took >= thr) {
        d->slow_steps++;
        tulip__slow_report(d, start, took);
    }
}

struct tulip__debug *tulip__debug_of(const tulip_loop *l)
{
    return l && l->step_begin == step_begin ? l->observer : NULL;
}

int tulip__debug_wanted(const tulip_config *cfg)
{
    if (cfg->debug >= 0)
        return cfg->debug != 0;
    const char *d = getenv("TULIP_DEBUG");
    return d && *d && strcmp(d, "0") != 0;
}

int tulip__debug_attach(tulip_loop *l, const tulip_config *cfg)
{
    struct tulip__debug *d = tulip__calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->loop = l;
    d->loop_thread = l->owner;
    d->loop_tid = (pid_t)syscall(SYS_gettid); /* tulip_loop_new runs on the owner */
    d->out = stderr;
    atomic_init(&d->threshold, threshold_from(cfg));
    /* Load libunwind now, not in the signal handler that first needs it. */
    tulip__unwind_init();
    int rc = tulip__slow_start(d);
    if (rc < 0) {
        free(d);
        return rc;
    }
    struct tulip__sched *s = tulip__sched(l);
    s->debug = 1;
    l->timing = 1;
    l->step_begin = step_begin;
    l->step_end = step_end;
    l->observer = d;
    /* One loop per process can own SIGQUIT; for the others it is busy and
     * they simply do without (tulip_dump still works). */
    d->sigquit_watched = tulip_signal_watch(l, SIGQUIT, on_sigquit, l) == 0;
    return 0;
}

void tulip__debug_detach(tulip_loop *l)
{
    struct tulip__debug *d = tulip__debug_of(l);
    if (!d)
        return;
    tulip__slow_stop(d);
    tulip__leak_report(l, d->out);
    if (d->sigquit_watched)
        tulip_signal_unwatch(l, SIGQUIT);
    l->observer = NULL;
    l->step_begin = NULL;
    l->step_end = NULL;
    l->timing = 0;
    free(d);
}

static tulip_loop *pick(tulip_loop *l)
{
    return l ? l : tulip__tls.loop;
}

bool tulip_debug_is_enabled(const tulip_loop *l)
{
    if (!l)
        l = tulip__tls.loop;
    return tulip__debug_of(l) != NULL;
}

int tulip_debug_set_slow_threshold(tulip_loop *l, int64_t ns)
{
    l = pick(l);
    if (!l)
        return -EINVAL;
    struct tulip__debug *d = tulip__debug_of(l);
    if (!d)
        return -EOPNOTSUPP;
    atomic_store(&d->threshold, ns > 0 ? ns : 0);
    /* Let the watchdog pick the new period up now rather than after the
     * old one. */
    pthread_mutex_lock(&d->mu);
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

int tulip_debug_stats_get(tulip_loop *l, tulip_debug_stats *out)
{
    l = pick(l);
    if (!l || !out)
        return -EINVAL;
    struct tulip__debug *d = tulip__debug_of(l);
    if (!d)
        return -EOPNOTSUPP;
    memset(out, 0, sizeof *out);
    out->slow_steps = d->slow_steps;
    out->steps = d->steps;
    out->max_step_ns = d->max_step_ns;
    out->slow_threshold_ns = atomic_load(&d->threshold);
    out->backtraces = tulip__unwind_init();
    const struct tulip__compact *c = &tulip__sched(l)->compact;
    out->compact_saves = c->saves;
    out->compact_restores = c->restores;
    out->compact_max_saved = c->max_saved;
    out->compact_avg_saved = c->saves ? (size_t)(c->bytes_saved / c->saves) : 0;
    return 0;
}
