/* Task insides, shared by the task, sync and io layers.
 *
 * Parking protocol. A task that must wait links itself into some wait
 * structure and calls tulip__park() with a cancel hook that unlinks it
 * again. Whoever satisfies the wait calls tulip__task_wake(t, result); a
 * cancellation or deadline instead runs the hook and wakes it with -ECANCELED
 * or -ETIMEDOUT. The hook runs exactly when the wait was not satisfied, so a
 * primitive never has to guess whether the item it handed over was taken:
 * "a cancelled get took nothing" follows from the protocol. */
#ifndef TULIP_TASK_INTERNAL_H
#define TULIP_TASK_INTERNAL_H

#include <errno.h>

#include "tulip/task.h"
#include "../loop/loop_internal.h"
#include "../platform/context.h"
#include "../platform/stack.h"
#include "../common/dlist.h"
#include "compact.h"

enum tulip__task_state {
    TULIP__TASK_READY = 1,  /* in the ready queue */
    TULIP__TASK_RUNNING,
    TULIP__TASK_PARKED,
    TULIP__TASK_DONE,
};

/* What a parked task waits on, for dumps and debugging. */
enum tulip__wait_reason {
    TULIP__WAIT_NONE = 0,
    TULIP__WAIT_SLEEP,
    TULIP__WAIT_JOIN,
    TULIP__WAIT_FUTURE,
    TULIP__WAIT_GROUP,
    TULIP__WAIT_FD_READ,
    TULIP__WAIT_FD_WRITE,
    TULIP__WAIT_LOCK,
    TULIP__WAIT_EVENT,
    TULIP__WAIT_COND,
    TULIP__WAIT_SEM,
    TULIP__WAIT_BARRIER,
    TULIP__WAIT_QUEUE,
    TULIP__WAIT_CHAN,
    TULIP__WAIT_SELECT,
    TULIP__WAIT_POOL,
    TULIP__WAIT_PROCESS,
    TULIP__WAIT_SIGNAL,
    TULIP__WAIT_OTHER,
};

struct tulip__scope {
    /* While open, the scope's state lives in a node off the stack (its
     * timer is in the loop's heap and the chain is walked while the task is
     * suspended), in both modes; the caller's tulip_scope only points to
     * it. (In place only when a private-stack task found no memory for a
     * node: its frames never move.) */
    struct tulip__scope *node;
    struct tulip__scope *parent;
    tulip_task *task;
    int64_t deadline;
    struct tulip__timer timer;
    uint8_t cancelled;
    uint8_t expired;
    uint8_t shield;
    uint8_t open;
    uint8_t is_node;               /* a node from the loop's list, not the caller's tulip_scope */
    uint32_t magic;
};

/* Wait queues: FIFO lists of parked tasks for the sync primitives, on the
 * one intrusive list (dlist.h) with a count and, in each waiter, the queue
 * it is on (NULL once unlinked: removing twice is harmless). */
struct tulip__waiter {
    struct tulip__dlink link;
    struct tulip__waitq *q;        /* NULL once unlinked */
    tulip_task *task;
    void *data;                    /* primitive-specific */
    int result;
};
struct tulip__waitq {
    struct tulip__dlist list;
    size_t n;
};

/* The record of the one wait a task may be in, kept in the task (never on
 * its stack: a compact task's frames may be evicted while it waits, see
 * compact.h). Waits on wait queues use .w; other layers (fd waits) lay
 * their own record over .raw and check its size with a static assert. */
#define TULIP__WAIT_REC_SIZE 80
union tulip__wait_rec {
    struct tulip__waiter w;
    unsigned char raw[TULIP__WAIT_REC_SIZE];
    void *align_p;
    int64_t align_i;
};

struct tulip__local {
    struct tulip__local *next;
    const void *key;
    void *value;
    void (*dtor)(void *);
};

struct tulip_task {
    struct tulip__runnable run;    /* first: the ready queue casts */
    tulip__ctx ctx;
    tulip_loop *loop;
    struct tulip__stack *stack;
    struct tulip__shared_stack *shared; /* compact task: its shared stack; NULL: private stack */
    tulip_fn fn;
    void *arg;
    int result;
    int wake_result;
    uint8_t state;
    uint8_t detached;
    uint8_t cancelled;             /* tulip_cancel was called */
    uint8_t wait_reason;
    uint8_t park_check;            /* debug mode: range-check what each park hands over (compact.h) */
    uint8_t saved_class;           /* compact: size class of saved */
    uint8_t frames;                /* compact: TULIP__FRAMES_* */
    const void *wait_object;
    void (*park_cancel)(void *ctx);  /* NULL: this park is not interruptible */
    void *park_ctx;
    tulip_task *joiner;
    struct tulip__scope *scope;    /* innermost open scope */
    struct tulip__timer timer;     /* sleeps */
    struct tulip__local *locals;
    struct tulip_group *group;     /* owning group, if any */
    struct tulip__dlink group_link; /* in the group's children or kept list */
    struct tulip__dlink all;        /* in the scheduler's all_tasks, or .next in task_free */
    uint64_t id;
    int64_t created;
    void *fake_stack;              /* ASan */
    void *tsan_fiber;              /* TSan */
    const void *spawn_site;        /* return address of the spawning call */
    char name[32];
    /* Not cleared by spawn (spawn sets what it needs). */
    union tulip__wait_rec wait_rec;
    void *saved;                   /* compact: save buffer (kept for reuse once restored) */
    uint32_t saved_len;            /* compact: bytes of frames in saved while evicted */
    /* The block of its channel, queue and select waits (src/sync/xwait.h):
     * the operation, its entries and the copies of the items that peers
     * of any thread touch while the task is suspended, so never on its
     * stack (docs/DESIGN.md section 11). Grown to the largest wait, kept
     * while the struct is recycled, freed with it. (376 bytes in all: the
     * same 384-byte malloc chunk as before it.) */
    uint32_t xblock_size;
    void *xblock;
};

enum { TULIP__FRAMES_FRESH = 0, TULIP__FRAMES_IN_PLACE, TULIP__FRAMES_SAVED };

/* The lowest live byte of a suspended task's frames (its saved stack
 * pointer). Compact tasks need it; the ucontext build has none of them
 * (tulip_spawn_ex refuses with ENOTSUP), so NULL there. */
static inline char *tulip__task_sp(const struct tulip_task *t)
{
#if defined(TULIP_CTX_UCONTEXT)
    (void)t;
    return NULL;
#else
    return (char *)t->ctx.sp;
#endif
}

/* The scheduler: a loop plus what running tasks on it takes. The loop
 * is the first member, so a tulip_loop * of a loop made by tulip_loop_new
 * is also its scheduler's address (tulip__sched costs nothing). */
struct tulip__sched {
    struct tulip_loop loop;
    tulip__ctx sched_ctx;
    void *sched_fake_stack;        /* ASan */
    void *tsan_sched;              /* TSan: the loop thread's own fiber */
    const void *sched_stack_bottom;  /* ASan: the thread's own stack */
    size_t sched_stack_size;
    struct tulip__stack_pool stacks;
    tulip_task *current;
    struct tulip__dlist all_tasks; /* every live task, newest first, for shutdown and dumps */
    tulip_task *dead_task;         /* finished; stack to release after switching out */
    /* Recycled task structs (spawn allocates nothing): a stack threaded
     * through their all.next, as cheap as a list gets on the spawn path. */
    struct tulip__dlink *task_free;
    size_t task_free_n;
    int tearing_down;              /* tulip_loop_free in progress */
    /* Set by debug mode (src/debug) when it attaches: exact task ages and
     * a registry of every live future, for its leak report. */
    int debug;
    struct tulip_future *debug_futures;
    /* Compact tasks' shared stacks and save buffers (compact.h). */
    struct tulip__compact compact;
    /* Closed scopes' nodes, for the next tulip_scope_enter (scope.c): a
     * stack threaded through their parent field, at most a few hundred. */
    struct tulip__scope *scope_free;
    size_t scope_free_n;
};

static inline struct tulip__sched *tulip__sched(tulip_loop *l)
{
    return tulip__container_of(l, struct tulip__sched, loop);
}

/* The task of an all_tasks link (NULL for NULL): walk the live tasks from
 * all_tasks.head by ->all.next (newest first) or from .tail by ->all.prev
 * (spawn order). */
#define tulip__task_of_all(link) tulip__dlist_item((link), tulip_task, all)

/* The scheduler's part of a loop's life (src/runtime/loop_new.c calls
 * these around tulip__loop_init/fini). init: 0 or -errno. stop drops
 * every task (before the loop below is torn down); fini frees the rest. */
int tulip__sched_init(struct tulip__sched *s, const tulip_config *cfg);
void tulip__sched_stop(struct tulip__sched *s);
void tulip__sched_fini(struct tulip__sched *s);

/* The task running on this thread, or NULL (initial-exec, as tulip__tls). */
extern _Thread_local tulip_task *tulip__tls_task __attribute__((tls_model("initial-exec")));

/* The running task, or NULL. */
static inline tulip_task *tulip__current(void)
{
    return tulip__tls_task;
}

/* 0, or the error a suspension must return now: -ECANCELED / -ETIMEDOUT
 * from the task or an enclosing scope not hidden behind a shield. */
int tulip__checkpoint_status(tulip_task *t);

/* The entry of every call that may wait: 0, or -EPERM outside a task, or
 * the cancellation or deadline error pending for the running task, which
 * goes to *self unless self is NULL. Callers check it before consuming
 * anything, so an error means the call did nothing. */
static inline int tulip__wait_enter(tulip_task **self)
{
    tulip_task *t = tulip__current();
    if (self)
        *self = t;
    return t ? tulip__checkpoint_status(t) : -EPERM;
}

/* Suspend the running task (see the protocol above). cancel may be NULL
 * for a wait that cannot be interrupted. Checks for cancellation first and
 * returns its error without parking. Returns the wake result. */
int tulip__park(uint8_t reason, const void *object, void (*cancel)(void *ctx), void *ctx);
/* Same, but skips the entry check (used after partial progress). */
int tulip__park_nocheck(uint8_t reason, const void *object, void (*cancel)(void *ctx), void *ctx);
/* Make a parked task ready with result. No-op unless it is parked. */
void tulip__task_wake(tulip_task *t, int result);
/* Cancel a parked task's wait with err if the wait is interruptible. */
void tulip__task_interrupt(tulip_task *t, int err);
/* Re-check t against its scopes and interrupt its wait if it must stop. */
void tulip__task_recheck(tulip_task *t);

/* Per-task budget charged by I/O calls that complete without waiting, so a
 * task whose socket is always ready still yields (cooperative fairness). */
#define TULIP__IO_BUDGET 64
extern _Thread_local int tulip__io_budget;
int tulip__budget_charge(void);

/* Replace t's wait block (tulip_task.xblock) by one of at least need
 * bytes, or NULL (ENOMEM; the old one stays). Its contents are the sync
 * layer's (src/sync/xwait.h), which calls this only when a wait needs
 * more than any before it. */
void *tulip__task_block_grow(tulip_task *t, size_t need);

/* Loop teardown (scope.c): t is dropped inside its open scopes, whose
 * nodes go; then the loop's list of closed ones. */
void tulip__scope_drop(struct tulip__sched *s, tulip_task *t);
void tulip__scope_fini(struct tulip__sched *s);

/* Free a finished task that nobody will join (tulip_run's main task). */
void tulip__task_release(tulip_task *t);

/* Group hooks (src/task/group.c). */
void tulip__group_child_done(tulip_task *t);

static inline struct tulip__waiter *tulip__waitq_first(const struct tulip__waitq *q)
{
    return tulip__dlist_item(q->list.head, struct tulip__waiter, link);
}

static inline void tulip__waitq_push(struct tulip__waitq *q, struct tulip__waiter *w)
{
    w->q = q;
    tulip__dlist_push_back(&q->list, &w->link);
    q->n++;
}

static inline void tulip__waitq_remove(struct tulip__waiter *w)
{
    struct tulip__waitq *q = w->q;
    if (!q)
        return;
    tulip__dlist_remove(&q->list, &w->link);
    q->n--;
    w->q = NULL;
}

static inline struct tulip__waiter *tulip__waitq_pop(struct tulip__waitq *q)
{
    struct tulip__waiter *w = tulip__waitq_first(q);
    if (w)
        tulip__waitq_remove(w);
    return w;
}

/* Link w (for the running task) at the tail of q and park; on cancellation
 * w is unlinked before the error is returned. */
int tulip__waitq_wait(struct tulip__waitq *q, struct tulip__waiter *w, uint8_t reason, const void *object);
/* As tulip__waitq_wait with the running task's own record (wait_rec.w):
 * the way every single wait links itself, so no record is on a stack. */
int tulip__waitq_wait_self(struct tulip__waitq *q, uint8_t reason, const void *object);
/* After a wait call whose result the caller returns: keeps that call from
 * becoming a tail call, so backtraces of a parked task (dumps, the gdb
 * helper) still show the primitive it waits in. */
static inline void tulip__keep_frame(void)
{
    __asm__ volatile("");
}
/* Unlink the head waiter and wake it with result; returns it or NULL. */
struct tulip__waiter *tulip__waitq_wake_one(struct tulip__waitq *q, int result);
/* Wake every waiter with result; returns how many. */
size_t tulip__waitq_wake_all(struct tulip__waitq *q, int result);

/* Futures (src/task/future.c); here for the debug layer's leak report. */
enum { FUT_PENDING = 0, FUT_SETTLING, FUT_DONE };

struct fut_cb {
    struct fut_cb *next;
    void (*cb)(void *arg, tulip_future *f);
    void *arg;
};

struct tulip_future {
    struct tulip__post post;       /* cross-thread settle; first member */
    tulip_loop *loop;
    atomic_int state;
    void *value;
    int err;
    struct tulip__waitq waiters;
    struct fut_cb *callbacks;
    /* Debug mode registry (sched->debug_futures), for the leak report. */
    struct tulip_future *dbg_prev, *dbg_next;
    const void *site;              /* return address of tulip_future_new's caller */
    uint8_t registered;
    uint8_t awaited;               /* awaited or its result read */
    uint8_t released;              /* owner gave it up: free once settled */
};

#endif
