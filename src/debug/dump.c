/* The task dump: every task of a loop with what it is doing and where its
 * stack stands. Reading a parked task's stack needs no cooperation from
 * it: the context switch left its registers on that stack (unwind.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../platform/annotate.h"
#include "debug_internal.h"
#include "tulip/debug.h"
#include "../platform/clock.h"
#include "../platform/frame_layout.h"

#if defined(TULIP__FRAME_SIZE) && !defined(TULIP_CTX_UCONTEXT)
/* src/platform/switch_<arch>.S: where a task that never ran will start. */
extern void tulip__ctx_trampoline(void);
#define HAVE_TRAMPOLINE 1
#endif

/* The loop clock without touching the loop's cache: dumps must not change
 * what the loop would do next. */
static int64_t clock_of(const tulip_loop *l)
{
    return l->virtual_clock ? l->now : tulip__clock_ns();
}

static const char *reason_name(uint8_t r)
{
    switch (r) {
    case TULIP__WAIT_SLEEP: return "sleep";
    case TULIP__WAIT_JOIN: return "join";
    case TULIP__WAIT_FUTURE: return "future";
    case TULIP__WAIT_GROUP: return "group";
    case TULIP__WAIT_FD_READ: return "fd read";
    case TULIP__WAIT_FD_WRITE: return "fd write";
    case TULIP__WAIT_LOCK: return "lock";
    case TULIP__WAIT_EVENT: return "event";
    case TULIP__WAIT_COND: return "cond";
    case TULIP__WAIT_SEM: return "semaphore";
    case TULIP__WAIT_BARRIER: return "barrier";
    case TULIP__WAIT_QUEUE: return "queue";
    case TULIP__WAIT_CHAN: return "channel";
    case TULIP__WAIT_SELECT: return "select";
    case TULIP__WAIT_POOL: return "thread pool job";
    case TULIP__WAIT_PROCESS: return "process";
    case TULIP__WAIT_SIGNAL: return "signal";
    default: return "something";
    }
}

void tulip__fd_describe(int fd, char *buf, size_t n, const char *unknown)
{
    char path[48];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(path, buf, n - 1);
    if (k < 0)
        snprintf(buf, n, "%s", unknown);
    else
        buf[k] = 0;
}

static void fmt_span(char *buf, size_t n, int64_t ns)
{
    if (ns >= 1000000000 || ns <= -1000000000)
        snprintf(buf, n, "%.3f s", (double)ns / 1e9);
    else
        snprintf(buf, n, "%.1f ms", (double)ns / 1e6);
}

static void describe_wait(const tulip_loop *l, const tulip_task *t, char *buf, size_t n)
{
    const void *o = t->wait_object;
    char span[32], kind[96];
    switch (t->wait_reason) {
    case TULIP__WAIT_SLEEP:
        fmt_span(span, sizeof span, t->timer.when - clock_of(l));
        snprintf(buf, n, "sleep (wakes in %s)", span);
        break;
    case TULIP__WAIT_JOIN: {
        const tulip_task *x = o;
        snprintf(buf, n, "join task %llu \"%s\"", (unsigned long long)x->id, x->name);
        break;
    }
    case TULIP__WAIT_GROUP:
        snprintf(buf, n, "group %p (%zu children left)", o, tulip_group_size(o));
        break;
    case TULIP__WAIT_FD_READ:
    case TULIP__WAIT_FD_WRITE: {
        int fd = (int)(intptr_t)o;
        tulip__fd_describe(fd, kind, sizeof kind, "?");
        snprintf(buf, n, "fd %d %s (%s)", fd, t->wait_reason == TULIP__WAIT_FD_READ ? "readable" : "writable", kind);
        break;
    }
    default:
        snprintf(buf, n, "%s %p", reason_name(t->wait_reason), o);
        break;
    }
}

void tulip__describe_task(const tulip_loop *l, const tulip_task *t, char *buf, size_t n)
{
    char wait[160];
    size_t k;
    switch (t->state) {
    case TULIP__TASK_RUNNING:
        k = (size_t)snprintf(buf, n, "running");
        break;
    case TULIP__TASK_READY:
        k = (size_t)snprintf(buf, n, "ready");
        break;
    case TULIP__TASK_PARKED:
        describe_wait(l, t, wait, sizeof wait);
        k = (size_t)snprintf(buf, n, "waiting on %s", wait);
        break;
    case TULIP__TASK_DONE:
        k = (size_t)snprintf(buf, n, "done (result %d%s%s)", t->result, t->result < 0 ? " " : "",
                             t->result < 0 ? tulip_err_name(t->result) : "");
        break;
    default:
        k = (size_t)snprintf(buf, n, "state %d", t->state);
        break;
    }
    if (k >= n)
        return;
    if (t->state != TULIP__TASK_DONE) {
        for (const struct tulip__scope *s = t->scope; s; s = s->parent) {
            if (s->deadline != TULIP_FOREVER) {
                char span[32];
                fmt_span(span, sizeof span, s->deadline - clock_of(l));
                k += (size_t)snprintf(buf + k, n - k, ", scope deadline in %s", span);
                break;
            }
        }
        if (k < n && t->cancelled)
            snprintf(buf + k, n - k, ", cancel requested");
    }
}

static int never_ran(const tulip_task *t)
{
    if (t->shared)
        return t->state == TULIP__TASK_READY && t->frames == TULIP__FRAMES_FRESH;
#ifdef HAVE_TRAMPOLINE
    if (t->state != TULIP__TASK_READY || !t->stack)
        return 0;
    const void *ret = (const void *)(uintptr_t)tulip__frame_word(t->ctx.sp, TULIP__FRAME_RET);
    void (*tramp)(void) = tulip__ctx_trampoline;
    const void *tp;
    memcpy(&tp, &tramp, sizeof tp);
    return ret == tp;
#elif defined(TULIP_CTX_UCONTEXT)
    /* Unwinding a fresh ucontext would start at entry with no frame built
     * yet and print whatever sits at the stack's top. */
    return t->state == TULIP__TASK_READY && t->stack && t->ctx.fresh;
#else
    (void)t;
    return 0;
#endif
}

/* The running task is the one dumping: start at the code that called
 * tulip_dump, not inside the dump. */
static int unwind_caller(void **ips, int max)
{
    int n = tulip__unwind_here(ips, max);
    int skip = 0;
    char name[64];
    uintptr_t off;
    while (skip < n && tulip__symbol_name(ips[skip], name, sizeof name, &off) &&
           (strncmp(name, "tulip_dump", 10) == 0 || strncmp(name, "tulip__dump", 11) == 0 ||
            strncmp(name, "unwind_caller", 13) == 0))
        skip++;
    memmove(ips, ips + skip, (size_t)(n - skip) * sizeof *ips);
    return n - skip;
}

/* An evicted compact task's backtrace: its saved frames go back to their
 * addresses for the unwinder and the bytes they cover are put back after,
 * as the gdb helper does. Only when no running code lives on that shared
 * stack: the dump runs in the scheduler's turn or in a task on another
 * stack (the occupant there is suspended and does not notice). */
static int unwind_saved(tulip_loop *l, const tulip_task *t, void **ips, int max)
{
    const tulip_task *cur = tulip__sched(l)->current;
    if ((cur && cur->shared == t->shared) || !tulip__unwind_init())
        return 0;
    char *sp = tulip__task_sp(t);
    size_t len = t->saved_len;
    if (!sp)
        return 0;
    char *keep = malloc(len);
    if (!keep)
        return 0;
    tulip__asan_unpoison(sp, len);
    /* Below the occupant's frames the stack is dead (memcheck: unaddressable
     * since it unwound); its live frames keep their definedness. */
    const tulip_task *o = t->shared->owner;
    char *live = o ? tulip__task_sp(o) : sp + len;
    if (sp < live)
        tulip__vg_addressable(sp, (size_t)((live < sp + len ? live : sp + len) - sp));
    memcpy(keep, sp, len);
    memcpy(sp, t->saved, len);
    int n = tulip__unwind_task(t, ips, max);
    memcpy(sp, keep, len);
    free(keep);
    if (tulip__sched(l)->debug)
        tulip__asan_poison(t->stack->lo, t->stack->size);
    return n;
}

void tulip__dump_task(FILE *out, tulip_loop *l, const tulip_task *t, const char *in)
{
    char what[256], age[32], entry[512], site[512];
    tulip__describe_task(l, t, what, sizeof what);
    fmt_span(age, sizeof age, clock_of(l) - t->created);
    void *fn;
    memcpy(&fn, &t->fn, sizeof fn);
    tulip__symbolize(fn, 1, entry, sizeof entry);
    if (t->spawn_site)
        tulip__symbolize(t->spawn_site, 0, site, sizeof site);
    else
        snprintf(site, sizeof site, "?");
    fprintf(out, "%stask %llu \"%s\": %s; age %s%s%s\n", in, (unsigned long long)t->id, t->name, what, age,
            t->detached ? ", detached" : "", t->group ? ", in a group" : "");
    fprintf(out, "%s    entry %s\n%s    spawned at %s\n", in, entry, in, site);
    char deeper[16];
    snprintf(deeper, sizeof deeper, "%s    ", in);
    void *ips[TULIP__DBG_FRAMES];
    int n = 0;
    if (t->state == TULIP__TASK_DONE)
        return;
    if (never_ran(t)) {
        fprintf(out, "%s(not started yet)\n", deeper);
        return;
    }
    if (t->shared && t->frames == TULIP__FRAMES_SAVED) {
        fprintf(out, "%s(compact task: %u bytes of frames saved off its shared stack)\n", deeper,
                (unsigned)t->saved_len);
        n = unwind_saved(l, t, ips, TULIP__DBG_FRAMES);
        if (n > 0)
            tulip__print_frames(out, deeper, ips, n, 0);
        return;
    }
    if (t == tulip__sched(l)->current && t == tulip__tls_task)
        n = unwind_caller(ips, TULIP__DBG_FRAMES);
    else if (t->state != TULIP__TASK_RUNNING && t->shared && tulip__sched(l)->debug) {
        /* A compact task's shared stack is poisoned while it is suspended
         * (ASan, debug mode): the unwinder reads it legitimately. */
        tulip__asan_unpoison(t->stack->lo, t->stack->size);
        n = tulip__unwind_task(t, ips, TULIP__DBG_FRAMES);
        tulip__asan_poison(t->stack->lo, t->stack->size);
    } else if (t->state != TULIP__TASK_RUNNING)
        n = tulip__unwind_task(t, ips, TULIP__DBG_FRAMES);
    if (n > 0)
        tulip__print_frames(out, deeper, ips, n, 0);
    else if (!tulip__unwind_init())
        fprintf(out, "%s(no backtrace: %s)\n", deeper, tulip__unwind_missing());
    else
        fprintf(out, "%s(no backtrace)\n", deeper);
}

int tulip_dump_loop(tulip_loop *l, FILE *out)
{
    if (!l || !out)
        return -EINVAL;
    if (!pthread_equal(pthread_self(), l->owner))
        return -EPERM;
    tulip_loop_stats st;
    tulip_loop_stats_get(l, &st);
    flockfile(out);
    fprintf(out,
            "tulip: dump of loop %p (%s%s): %zu tasks alive; %llu iterations, %llu switches, "
            "%llu timers pending, %llu fds watched\n",
            (void *)l, tulip_loop_backend(l), tulip_debug_is_enabled(l) ? ", debug" : "", (size_t)st.tasks_alive,
            (unsigned long long)st.iterations, (unsigned long long)st.switches,
            (unsigned long long)st.timers_pending, (unsigned long long)st.fds_watched);
    /* The list is newest first; print in spawn order. */
    for (tulip_task *t = tulip__task_of_all(tulip__sched(l)->all_tasks.tail); t; t = tulip__task_of_all(t->all.prev))
        tulip__dump_task(out, l, t, "");
    funlockfile(out);
    fflush(out);
    return 0;
}

int tulip_dump(FILE *out)
{
    tulip_loop *l = tulip__tls.loop;
    if (!out)
        return -EINVAL;
    if (!l)
        return -EPERM;
    return tulip_dump_loop(l, out);
}
