/* The loop's insides, shared by the loop, backends, task and io layers. */
#ifndef TULIP_LOOP_INTERNAL_H
#define TULIP_LOOP_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>

#include "tulip/loop.h"
#include "timer_heap.h"
#include "../common/container_of.h"
#include "../common/lifo.h"
#include "../common/rng.h"

/* Poll for I/O after this many ready entries even if the ready queue never
 * empties, so a storm of ready tasks cannot starve sockets (Tokio and Go use
 * the same number). */
#define TULIP__POLL_EVERY 61

/* Something in the ready queue: a callback or a task. The tag is the one
 * place the loop knows that tasks exist (docs/DESIGN.md §3): a
 * TULIP__RUN_TASK entry is handed to tulip__task_resume by a direct call,
 * which the switch and spawn+join figures want over a call through a
 * pointer. */
enum { TULIP__RUN_CALLBACK = 1, TULIP__RUN_TASK = 2 };
struct tulip__runnable {
    struct tulip__runnable *next;
    uint8_t kind;
};

struct tulip__readyq {
    struct tulip__runnable *head, *tail;
    size_t n;
};

/* Intrusive MPSC stack for posts from other threads and signal handlers:
 * a push is one CAS, so it is lock-free and async-signal-safe; the loop
 * takes the whole stack at once (no ABA) and reverses it into FIFO order. */
struct tulip__post {
    struct tulip__post *next;
    void (*run)(struct tulip__post *);
    void (*drop)(struct tulip__post *);  /* loop freed before run; may be NULL */
};

/* A wait on one direction of an fd: a parked task or a callback watcher.
 * In task mode each direction has a list of them (several tasks may wait to
 * read one fd, e.g. acceptors of one listener): a readiness edge detaches
 * the whole list and calls every ready(), since with edges a waiter left
 * behind could wait forever. ready() is called unlinked. */
struct tulip__fdwait {
    void (*ready)(struct tulip__fdwait *w, int events);
    struct tulip__fdwait *prev, *next;
    uint8_t linked;
};

static inline void tulip__fdwait_link(struct tulip__fdwait **head, struct tulip__fdwait *w)
{
    w->next = NULL;
    w->prev = NULL;
    w->linked = 1;
    if (!*head) {
        *head = w;
        return;
    }
    struct tulip__fdwait *tail = *head;
    while (tail->next)
        tail = tail->next;
    tail->next = w;
    w->prev = tail;
}

static inline void tulip__fdwait_unlink(struct tulip__fdwait **head, struct tulip__fdwait *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        *head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->linked = 0;
}

/* Detach a whole list and call ready(events) on each member, FIFO. */
static inline void tulip__fdwait_fire(struct tulip__fdwait **head, int events)
{
    struct tulip__fdwait *w = *head;
    *head = NULL;
    while (w) {
        struct tulip__fdwait *next = w->next;
        w->prev = w->next = NULL;
        w->linked = 0;
        w->ready(w, events);
        w = next;
    }
}

/* Per-fd state, indexed by fd number. In task mode the fd is registered
 * once, edge-triggered for both directions (as Go's netpoller does), and
 * readiness edges that arrive with nobody waiting are remembered in
 * ready_bits, so a park after EAGAIN costs no epoll_ctl. Watch mode
 * (tulip_watch_fd) is level-triggered on the requested directions. */
enum { TULIP__FD_TASK = 1, TULIP__FD_WATCH = 2 };
/* What an fd is (tulip__fd.kind), found once by tulip__fd_kind
 * (src/io/fd_io.c) or set by whoever made the fd. */
enum tulip__fd_kind {
    TULIP__FD_UNKNOWN = 0,
    TULIP__FD_STREAM_SOCKET,       /* SOCK_STREAM */
    TULIP__FD_SOCKET,              /* any other socket (datagrams, seqpacket) */
    TULIP__FD_PIPE,
    TULIP__FD_OTHER,               /* files, terminals, eventfds ... */
    TULIP__FD_UNIX_STREAM,         /* SOCK_STREAM in AF_UNIX (src/io: short reads) */
};
struct tulip__fd {
    int fd;
    uint8_t mode;                  /* 0 until first use */
    uint8_t registered;            /* known to the backend */
    uint8_t ready_bits;            /* edges not yet consumed (task mode) */
    uint8_t kind;                  /* enum tulip__fd_kind */
    uint8_t nonblock;              /* O_NONBLOCK set by us or found set */
    uint8_t drained;               /* last read was short: the queue is empty */
    uint8_t hup;                   /* peer hung up or error seen: reads never wait first */
    uint8_t exclusive;             /* a listener shared by several loops: registered
                                      with EPOLLEXCLUSIVE (one loop woken per event) */
    int interest;                  /* directions with a waiter (watch mode: wanted) */
    struct tulip__fdwait *reader, *writer;  /* task mode: list heads; watch mode: the watcher */
    int backend_slot;              /* backend private (poll array index) */
};

struct tulip__backend;

struct tulip_timer {
    struct tulip__runnable run;    /* call_soon: in the ready queue */
    struct tulip__timer timer;     /* call_later: in the heap */
    tulip_loop *loop;
    void (*cb)(void *);
    void *arg;
    uint8_t state;
    int64_t interval;              /* tulip_call_every; 0: one-shot */
    struct tulip_timer *next_free;
};

/* The deadline a repeating timer arms after its call for deadline: the
 * next point of the grid deadline + k * interval that lies after now, so
 * the grid never drifts and the points a late loop missed are skipped (the
 * late call stood for them). */
int64_t tulip__tick_next(int64_t deadline, int64_t interval, int64_t now);

struct tulip__signal_slot;
struct tulip__xwait;

struct tulip_loop {
    const struct tulip__backend *backend;
    int backend_fd;                /* epoll fd, or -1 */
    void *backend_data;
    int backend_refused;           /* -errno io_uring was refused with (now on epoll), or 0 */
    pthread_t owner;
    int running;
    tulip_loop *prev_tls_loop;     /* restored when run returns */
    atomic_int stop_requested;     /* set by tulip_loop_stop (any thread) */

    int64_t now;                   /* cached; valid while now_valid */
    int now_valid;                 /* cleared at each iteration start */
    uint64_t rng;                  /* xorshift state, see tulip__loop_rand */
    int virtual_clock;
    int timing;                    /* measure busy/idle time (debug mode) */

    struct tulip__readyq ready;
    size_t batch_woken;            /* tasks woken/spawned during this batch */
    struct tulip__timer_heap timers;
    size_t user_timers;            /* call_later/soon handles pending */
    struct tulip_timer *timer_free;  /* recycled handles */
    size_t timer_free_n;
    /* The handle whose callback runs now. A callback left by a longjmp
     * (a test's failed assertion, tulip_test_abandon) never comes back to
     * release it: tulip_loop_free does. */
    struct tulip_timer *cb_running;

    struct tulip__fd **fds;
    int nfds;
    size_t fds_watched;            /* fds with user-visible interest */

    /* Cross-thread wake-up. */
    int wake_fd;                   /* eventfd */
    struct tulip__fd *wake_fdstate;
    struct tulip__fdwait wake_wait;
    _Atomic(struct tulip__post *) posts;
    atomic_int wake_pending;       /* coalesces eventfd writes */
    atomic_uint wakers;            /* threads inside tulip__post/loop_stop:
                                      the loop is not freed under them */
    atomic_uint signals_pending;   /* bit per signal below 32, set by handlers */
    /* Tasks woken by channel/queue peers on other threads (src/sync/xwait.c):
     * a list and the one post that carries it, counted for tests. */
    _Atomic(struct tulip__xwait *) xwake;
    struct tulip__post xwake_post;
    uint64_t xwake_posts, xwake_items;

    /* Work of the layers above that keeps run() going (live tasks): the
     * loop counts it without knowing what it is. */
    size_t holds;

    /* Hooks the layers above install (the loop calls them by pointer and
     * knows nothing of who set them, as redis's ae calls beforesleep):
     * before_sleep runs before every poll that may block; step_begin/end
     * bracket each ready-queue step while an observer is attached
     * (debug mode). */
    void (*before_sleep)(tulip_loop *l);
    int (*spin)(tulip_loop *l, int64_t timeout); int64_t spin_ns; uint64_t spin_seen; /* src/runtime/spin.c */
    void (*step_begin)(void *observer, struct tulip__runnable *r);
    void (*step_end)(void *observer);
    void *observer;

    tulip_loop_stats stats;
};

/* The loop running on this thread. initial-exec TLS keeps each access a
 * single instruction in the shared library. */
struct tulip__thread_state {
    tulip_loop *loop;
};
extern _Thread_local struct tulip__thread_state tulip__tls __attribute__((tls_model("initial-exec")));

/* Ready queue. */
static inline void tulip__ready_push(tulip_loop *l, struct tulip__runnable *r)
{
    r->next = NULL;
    if (l->ready.tail)
        l->ready.tail->next = r;
    else
        l->ready.head = r;
    l->ready.tail = r;
    l->ready.n++;
}

/* The loop time, read from the clock at most once per iteration and only
 * when something asks: a task that just yields in a loop with no timers
 * never pays for clock_gettime. */
static inline int64_t tulip__loop_now(tulip_loop *l)
{
    if (!l->now_valid) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        l->now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        l->now_valid = 1;
    }
    return l->now;
}

/* The loop's random numbers (src/common/rng.h): seeded from
 * tulip_config.seed so a run can be replayed. */
static inline uint64_t tulip__loop_rand(tulip_loop *l)
{
    return tulip__rng_next(&l->rng);
}

/* Timers (internal, embedded; src/loop/timer_heap.h says how a pending
 * one moves). Inline: a deadline moved later is a few stores, which a call
 * chain would double. Errors: -ENOMEM. */
static inline int tulip__timer_start(tulip_loop *l, struct tulip__timer *t, int64_t when)
{
    return tulip__heap_push(&l->timers, t, when);
}
static inline void tulip__timer_stop(tulip_loop *l, struct tulip__timer *t)
{
    tulip__heap_remove(&l->timers, t);
}

/* fd table. NULL with errno ENOMEM / EBADF. */
struct tulip__fd *tulip__fd_get(tulip_loop *l, int fd);
static inline struct tulip__fd *tulip__fd_peek(tulip_loop *l, int fd)
{
    return (fd >= 0 && fd < l->nfds) ? l->fds[fd] : NULL;
}
/* Recompute registration after reader/writer/interest changed. */
int tulip__fd_update(tulip_loop *l, struct tulip__fd *f);
/* Called by backends for each event (TULIP_READABLE|TULIP_WRITABLE bits;
 * errors and hang-ups are reported as both, plus TULIP__EV_HUP). */
#define TULIP__EV_HUP 4
void tulip__fd_event(tulip_loop *l, struct tulip__fd *f, int events);

/* Post from any thread (and, for signals, from a handler). */
void tulip__post(tulip_loop *l, struct tulip__post *p);
/* A zeroed heap post of size bytes (its struct tulip__post first) with run
 * and drop set, for work handed to a loop from another thread; NULL on
 * ENOMEM. Its run or drop frees it. */
void *tulip__post_new(size_t size, void (*run)(struct tulip__post *), void (*drop)(struct tulip__post *));
void tulip__wake(tulip_loop *l);
/* Wait until no other thread is inside tulip__post or tulip_loop_stop on l
 * (before freeing it). */
void tulip__wakers_wait(tulip_loop *l);

/* The seam (see TULIP__RUN_TASK): run a task's step. In src/task. */
void tulip__task_resume(tulip_loop *l, struct tulip__runnable *r);

/* A loop's life, without the layers above (src/runtime/loop_new.c puts the
 * layers together). init: 0 or -errno; fini frees everything the loop
 * owns, on the loop's thread, after the layers above have let go. */
int tulip__loop_init(tulip_loop *l, const tulip_config *cfg);
void tulip__loop_fini(tulip_loop *l);

/* Loop-private pieces split across files. */
int tulip__wake_init(tulip_loop *l);
void tulip__wake_fini(tulip_loop *l);
void tulip__posts_drain(tulip_loop *l);
void tulip__posts_discard(tulip_loop *l);
void tulip__timer_handles_free(tulip_loop *l);
void tulip__fds_free(tulip_loop *l);
void tulip__run_callback(tulip_loop *l, struct tulip__runnable *r);
/* Run l until pred(arg) holds, tulip_loop_stop, or nothing is alive.
 * Errors: -EBUSY, -EINVAL (as tulip_loop_run). */
int tulip__loop_run_until(tulip_loop *l, int (*pred)(void *), void *arg);

/* Signal dispatch (src/loop/signal.c). */
void tulip__signals_dispatch(tulip_loop *l);
/* A watch that gives way to a later tulip_signal_watch of the same loop
 * (and comes back when that one is unwatched): tulip_run's SIGINT.
 * Errors: as tulip_signal_watch. */
int tulip__signal_watch_default(tulip_loop *l, int signo, void (*cb)(void *arg, int signo), void *arg);
/* Remove that default, whether or not a watcher is on top of it.
 * Errors: -ENOENT (no default of l on signo). */
int tulip__signal_unwatch_default(tulip_loop *l, int signo);
void tulip__signals_loop_free(tulip_loop *l);

#endif
