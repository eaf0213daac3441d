/* The debugging layer's insides: per-loop debug state, the unwinder and the
 * symboliser shared by the slow-step detector, the dump and the leak
 * report. */
#ifndef TULIP_DEBUG_INTERNAL_H
#define TULIP_DEBUG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "../task/task_internal.h"

#define TULIP__DBG_FRAMES 32
#define TULIP__DBG_DEFAULT_SLOW_NS ((int64_t)100 * 1000000)

/* Debug mode, attached to a loop by tulip_loop_new (src/runtime/loop_new.c)
 * when the config or TULIP_DEBUG asks for it: 1 if it does. */
int tulip__debug_wanted(const tulip_config *cfg);
/* Start the watchdog and install the step hooks on l. 0 or -errno. */
int tulip__debug_attach(tulip_loop *l, const tulip_config *cfg);
/* Print the leak report, stop the watchdog, remove the hooks; before any
 * task of l is freed. No-op without debug mode. */
void tulip__debug_detach(tulip_loop *l);

/* Installed as l->observer while debug mode is attached. The step fields are
 * published by step_begin/end on the loop thread and read by the watchdog
 * thread, hence atomics; the sample is written by the signal handler on
 * the loop thread itself, so plain fields ordered by signal fences do. */
struct tulip__debug {
    tulip_loop *loop;
    pthread_t loop_thread;

    atomic_uint_fast64_t seq;          /* steps begun */
    _Atomic int64_t step_start;        /* monotonic ns; 0 between steps */
    _Atomic int64_t threshold;         /* slow above this; <= 0 disables */

    /* What the current step runs, copied at step_begin because a task can
     * be freed before step_end. */
    uint8_t step_kind;
    uint64_t task_id;
    char task_name[32];
    void (*cb)(void *);

    /* The sample: the watchdog asks for step want_seq; the handler fills
     * ips and sets got_seq if that step is still running. */
    atomic_uint_fast64_t want_seq;
    atomic_uint_fast64_t got_seq;
    void *ips[TULIP__DBG_FRAMES];
    int nips;
    int64_t sampled_at;

    /* A step the watchdog found blocked in a system call (and so did not
     * signal): which call, from where, in which step. */
    pid_t loop_tid;
    timer_t cpu_timer;                 /* on the loop thread's CPU clock */
    atomic_long blocked_nr;
    _Atomic uintptr_t blocked_pc;
    atomic_uint_fast64_t blocked_seq;

    pthread_t watchdog;
    int watchdog_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;                      /* under mu */

    uint64_t steps;
    uint64_t slow_steps;
    int64_t max_step_ns;
    int sigquit_watched;
    FILE *out;                         /* reports go here (stderr) */
};

/* ---- unwinding (unwind.c) ------------------------------------------------
 * libunwind is loaded with dlopen on first use, so tulip itself needs only
 * libc and pthread (docs/DESIGN.md §4) and debug mode degrades to "no backtrace"
 * where libunwind is not installed. */

/* Load libunwind (idempotent, thread-safe); 1 if backtraces are available. */
int tulip__unwind_init(void);
/* Why tulip__unwind_init failed, for messages. */
const char *tulip__unwind_missing(void);
/* Frames of the code interrupted by a signal (uc is the handler's third
 * argument). Async-signal-safe once tulip__unwind_init has returned 1:
 * libunwind's local unwinder does not allocate. */
int tulip__unwind_signal(void *uc, void **ips, int max);
/* Frames of the calling thread, starting at the caller. */
int tulip__unwind_here(void **ips, int max);
/* Frames of a task that is not running (parked or ready), unwound from the
 * registers saved by the context switch. 0 for a task that never ran. */
int tulip__unwind_task(const tulip_task *t, void **ips, int max);

/* The function containing ip, from .symtab/.dynsym (so static functions
 * too) and ip's offset in it; 0 if unknown. */
int tulip__symbol_name(const void *ip, char *buf, size_t n, uintptr_t *off);

/* ---- source lines (srcline.c) -------------------------------------------- */

/* Whether file:line lookups work here (libdw found at build and run time). */
int tulip__srcline_init(void);
/* "file:line" of the code at ip into buf; 0 when unknown. Not for signal
 * handlers. */
int tulip__srcline(const void *ip, char *buf, size_t n);

/* ---- symbols (symbol.c) -------------------------------------------------- */

/* "name+0xoff at file:line (module+0xaddr)" for ip (without "at ..." where
 * the line is unknown): the module offset is what `addr2line -e module`
 * takes. A return address (exact == 0) is looked up
 * at ip - 1, the call itself, so a call that ends its function is not
 * attributed to the next one; the offsets printed are still ip's. */
void tulip__symbolize(const void *ip, int exact, char *buf, size_t n);
/* Print frames, one per line, each prefixed by indent; every frame but
 * the first (exact or not as told) is a return address. */
void tulip__print_frames(FILE *out, const char *indent, void *const *ips, int n, int first_is_exact);

/* ---- dump (dump.c) -------------------------------------------------------- */

/* One line describing what t is doing ("waiting: lock 0x..."). */
void tulip__describe_task(const tulip_loop *l, const tulip_task *t, char *buf, size_t n);
/* The dump of one task (header, entry, spawn site, backtrace), each line
 * prefixed by indent (at most 8 characters). */
void tulip__dump_task(FILE *out, tulip_loop *l, const tulip_task *t, const char *indent);
/* What fd is ("socket:[1234]", a path), read from /proc, or unknown when
 * it cannot be read (closed since): for dumps and the leak report. */
void tulip__fd_describe(int fd, char *buf, size_t n, const char *unknown);

/* ---- slow steps (slow.c) --------------------------------------------------- */
/* l's debug state, or NULL when debug mode is off. */
struct tulip__debug *tulip__debug_of(const tulip_loop *l);

int tulip__slow_start(struct tulip__debug *d);
void tulip__slow_stop(struct tulip__debug *d);
/* Print the report of the step that began at start and took took ns. */
void tulip__slow_report(struct tulip__debug *d, int64_t start, int64_t took);

/* ---- leak report (leak.c) -------------------------------------------------- */
void tulip__leak_report(tulip_loop *l, FILE *out);

#endif
