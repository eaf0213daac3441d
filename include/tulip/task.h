/* Tasks (stackful coroutines), cancel scopes, task groups, futures.
 * Everything here that can suspend must be called from a task and is a
 * cancellation point: it returns -ECANCELED when the task or an enclosing
 * scope has been cancelled and -ETIMEDOUT when an enclosing scope's deadline
 * has passed. Called outside a task, suspending calls return -EPERM. */
#ifndef TULIP_TASK_H
#define TULIP_TASK_H

#include "tulip/common.h"
#include "tulip/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A task body: returns >= 0 on success, a negative errno on failure. */
typedef int (*tulip_fn)(void *arg);

typedef struct tulip_task tulip_task;
typedef struct tulip_group tulip_group;
typedef struct tulip_future tulip_future;

/* asyncio.run: make a loop on this thread, run main(arg) as a task until it
 * returns, then cancel every task still alive and join them, free the loop.
 * SIGINT while it runs cancels the main task (the second SIGINT is left to
 * the default action), unless a task waits for SIGINT itself
 * (tulip_signal_wait), which then gets it instead. Returns main's result, or -ENOMEM/-EAGAIN/-EINVAL/
 * -EBUSY (a loop already runs on this thread) before main could start. */
TULIP_API int tulip_run(tulip_fn main, void *arg);
TULIP_API int tulip_run_ex(tulip_fn main, void *arg, const tulip_config *cfg);

/* Start fn(arg) as a task on the current loop; it first runs on the loop's
 * next pass. The loop owns the task until it ends, so a detached task is
 * never lost. Must be called on a thread running a loop.
 * NULL with errno: EPERM (no loop on this thread), ENOMEM (no memory for the
 * task), EAGAIN (the stack pool cannot grow: out of address space or memory
 * mappings), EINVAL (NULL fn). Nothing is leaked on failure. */
TULIP_API tulip_task *tulip_spawn(tulip_fn fn, void *arg);
/* As tulip_spawn on loop l, from the thread running l (not a task of l is
 * fine: callbacks may spawn). */
TULIP_API tulip_task *tulip_spawn_on(tulip_loop *l, tulip_fn fn, void *arg);

/* Spawn options (flags of tulip_spawn_ex). */
/* A compact task owns no stack: it runs on one of its loop's shared stacks
 * (tulip_config.compact_stacks of them) and, while suspended, its live
 * frames (typically a few hundred bytes) are copied out to a buffer of
 * just that size once another task needs the shared stack, and back when
 * it runs again. An idle compact task costs its frames plus the task, not
 * a stack page. Slower to resume when it was evicted (a copy each way).
 * The rule it brings: the address of a compact task's local variables
 * must not be handed to another task, a callback or anything that uses it
 * while the task is suspended (tulip_scope and the runtime's own wait
 * records are fine: they are kept off the stack). Debug mode checks every
 * object a task waits on against the shared stacks and reports a
 * violation. Not with the io_uring backend's reads and writes into stack
 * buffers (their completions are written while the task is suspended). */
#define TULIP_SPAWN_COMPACT 0x1u

/* As tulip_spawn_on (l NULL: the loop running on this thread) with flags
 * (TULIP_SPAWN_*). NULL with errno as tulip_spawn, and EINVAL (unknown
 * flag), ENOTSUP (compact with the ucontext build). */
TULIP_API tulip_task *tulip_spawn_ex(tulip_loop *l, tulip_fn fn, void *arg, unsigned flags);

/* Wait for t to finish and free it; returns fn's result.
 * Errors: -EINVAL (t is detached or NULL), -EDEADLK (t is the caller),
 * -EBUSY (another task is already joining t), -ECANCELED/-ETIMEDOUT (the
 * joiner was cancelled; t is left running and can be joined again),
 * -EPERM (not in a task). */
TULIP_API int tulip_join(tulip_task *t);
/* Let t run to completion unobserved; the loop frees it when it ends.
 * Errors: -EINVAL (already detached), -EBUSY (being joined). */
TULIP_API int tulip_detach(tulip_task *t);
/* Request cancellation: t's current or next suspension returns -ECANCELED,
 * and so do later ones until its body returns (level-triggered, Trio-like;
 * use a shielded scope for cleanup that must block). Idempotent.
 * Errors: -EINVAL (NULL), -EALREADY (t has already finished). */
TULIP_API int tulip_cancel(tulip_task *t);

/* Park the calling task for ns nanoseconds (<= 0: just yield).
 * Errors: -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_sleep(int64_t ns);
/* Park until the absolute deadline on the loop clock. */
TULIP_API int tulip_sleep_until(int64_t deadline);
/* Let every other ready task run once, then continue.
 * Errors: -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_yield(void);
/* A cancellation point for CPU-bound loops: returns -ECANCELED or
 * -ETIMEDOUT if the calling task was cancelled or a scope's deadline
 * passed, and yields only when the task has used up its turn (the same
 * budget I/O calls charge), so calling it often is cheap.
 * Errors: -ECANCELED, -ETIMEDOUT, -EPERM (not in a task). */
TULIP_API int tulip_checkpoint(void);
/* The calling task, or NULL outside tasks. */
TULIP_API tulip_task *tulip_self(void);

/* Task identity, for logs and dumps. Ids are unique per process. */
TULIP_API uint64_t tulip_task_id(const tulip_task *t);
/* Copies name (truncated to 31 bytes). Errors: -EINVAL. */
TULIP_API int tulip_task_set_name(tulip_task *t, const char *name);
TULIP_API const char *tulip_task_name(const tulip_task *t);
/* true if t has been asked to cancel (directly, not via scopes). */
TULIP_API bool tulip_task_is_cancelled(const tulip_task *t);
/* true if t's body has returned. */
TULIP_API bool tulip_task_is_done(const tulip_task *t);
/* The value t's body returned, once it has: 0 and *result, or -EAGAIN (t
 * still runs), -EINVAL (NULL). For tasks whose handle outlives them: a
 * joinable task not yet joined, or a tulip_group_spawn_task child. */
TULIP_API int tulip_task_result(const tulip_task *t, int *result);

/* Task-local values keyed by any unique address (e.g. of a static).
 * dtor (may be NULL) runs on the value when the task ends or the value is
 * replaced. Errors: -ENOMEM, -EPERM (not in a task), -EINVAL (NULL key). */
TULIP_API int tulip_local_set(const void *key, void *value, void (*dtor)(void *));
/* The value for key in the calling task, or NULL. */
TULIP_API void *tulip_local_get(const void *key);

/* ---- Cancel scopes (Trio-style), caller-allocated, no malloc ---------- */
typedef struct tulip_scope { uint64_t opaque[12]; } tulip_scope;

/* Open a scope in the calling task with an absolute deadline (TULIP_FOREVER
 * for none). Scopes nest and must be exited in reverse order. Outside a
 * task, or on misuse, aborts with a message (broken invariant). */
TULIP_API void tulip_scope_enter(tulip_scope *s, int64_t deadline);
/* As tulip_scope_enter with deadline now + timeout_ns. */
TULIP_API void tulip_scope_enter_timeout(tulip_scope *s, int64_t timeout_ns);
/* A shielded scope: cancellation from outside it does not reach the
 * suspensions inside it (its own deadline and cancel still do). */
TULIP_API void tulip_scope_enter_shielded(tulip_scope *s, int64_t deadline);
/* Close the scope. Returns 0 if it was not triggered, -ETIMEDOUT if its
 * deadline passed, -ECANCELED if tulip_scope_cancel was called on it. Its
 * own trigger is absorbed here; an outer scope's cancellation is never
 * swallowed by an inner one. */
TULIP_API int tulip_scope_exit(tulip_scope *s);
/* Cancel everything inside s (from the owning task or any task/callback on
 * the same loop). Idempotent. */
TULIP_API void tulip_scope_cancel(tulip_scope *s);
/* Move the deadline of an open scope. */
TULIP_API void tulip_scope_set_deadline(tulip_scope *s, int64_t deadline);
/* true if the scope's deadline passed or it was cancelled. */
TULIP_API bool tulip_scope_is_triggered(const tulip_scope *s);

/* ---- Task groups (nursery / asyncio.TaskGroup) -------------------------- */

/* NULL with errno ENOMEM, EPERM (no loop on this thread). */
TULIP_API tulip_group *tulip_group_new(void);
/* Spawn a child in g. Errors: -ENOMEM, -EAGAIN (as tulip_spawn), -EINVAL,
 * -ECANCELED (g was cancelled or already failed: nothing was started). */
TULIP_API int tulip_group_spawn(tulip_group *g, tulip_fn fn, void *arg);
/* As tulip_group_spawn with spawn flags (TULIP_SPAWN_COMPACT); also -EINVAL
 * for an unknown flag, -ENOTSUP as tulip_spawn_ex. */
TULIP_API int tulip_group_spawn_ex(tulip_group *g, tulip_fn fn, void *arg, unsigned flags);
/* As tulip_group_spawn, and return the child: a handle for tulip_cancel,
 * tulip_task_is_done, tulip_task_result, tulip_task_set_name/_id. The
 * group owns the child (tulip_join and tulip_detach refuse it with
 * -EINVAL); the handle stays valid after the child ends, until
 * tulip_group_free. (Children spawned without a handle are freed as soon
 * as they end, so a long-lived group does not grow.)
 * NULL with errno: as tulip_group_spawn's errors. */
TULIP_API tulip_task *tulip_group_spawn_task(tulip_group *g, tulip_fn fn, void *arg);
/* Wait until every child has finished. The first child that returns a
 * negative value other than -ECANCELED cancels its siblings, and its value
 * is returned. If the waiting task is cancelled, the children are cancelled
 * and waited for before returning -ECANCELED/-ETIMEDOUT. Returns 0 when all
 * succeeded (or -ECANCELED if the group was cancelled). May be called again
 * after more spawns. Errors also: -EPERM (not in a task), -EBUSY (another
 * task is waiting on g). */
TULIP_API int tulip_group_wait(tulip_group *g);
/* Cancel every child (they still have to be waited for). */
TULIP_API void tulip_group_cancel(tulip_group *g);
/* Number of children not yet finished. */
TULIP_API size_t tulip_group_size(const tulip_group *g);
/* Free g and the children kept for their handles. Errors: -EBUSY (children
 * are still running or a task waits on g: nothing is freed; cancel and
 * wait first). NULL is a no-op returning 0. */
TULIP_API int tulip_group_free(tulip_group *g);

/* Run fns[i](args[i]) for i < n concurrently and wait for all; results[i]
 * receives each result (results may be NULL). Returns 0, or the first
 * failure (which cancels the rest, as a group). Errors also -ENOMEM. */
TULIP_API int tulip_gather(size_t n, const tulip_fn *fns, void *const *args, int *results);
/* Run them concurrently; the first to finish wins: the others are cancelled
 * and waited for. *winner (may be NULL) gets its index. Returns the
 * winner's result. Errors: -EINVAL (n == 0), -ENOMEM, -ECANCELED. */
TULIP_API int tulip_race(size_t n, const tulip_fn *fns, void *const *args, size_t *winner);

/* ---- Futures ----------------------------------------------------------- */

/* A one-shot value handed from a producer (task, callback or another thread)
 * to any number of awaiting tasks on the loop that created it.
 * NULL with errno ENOMEM, EPERM (no loop on this thread). */
TULIP_API tulip_future *tulip_future_new(void);
/* Settle f with a value or an error (err < 0). Callable from any thread; off
 * the loop's thread the waiters wake on the loop's next iteration.
 * Errors: -EALREADY (already settled), -EINVAL (reject with err >= 0). */
TULIP_API int tulip_future_resolve(tulip_future *f, void *value);
TULIP_API int tulip_future_reject(tulip_future *f, int err);
/* Wait until f is settled. Returns 0 and stores the value in *value (may be
 * NULL), or the rejection error. Errors also -ECANCELED/-ETIMEDOUT (the
 * waiter was cancelled; f is untouched), -EPERM (not in a task of f's loop). */
TULIP_API int tulip_future_await(tulip_future *f, void **value);
/* true once f is settled (as seen by its loop). */
TULIP_API bool tulip_future_is_done(const tulip_future *f);
/* Call cb(arg, f) on the loop once f settles (at once if it already has).
 * Errors: -ENOMEM, -EINVAL. */
TULIP_API int tulip_future_on_done(tulip_future *f, void (*cb)(void *arg, tulip_future *f), void *arg);
/* Read the outcome of a settled future: 0 + value, or the error; -EAGAIN if
 * still pending. */
TULIP_API int tulip_future_result(const tulip_future *f, void **value);
/* Free f. Errors: -EBUSY (tasks still wait on f, or it was settled from
 * another thread and its loop has not seen that yet: nothing is freed;
 * tulip_future_release gives up a future others may still settle).
 * NULL is a no-op returning 0. */
TULIP_API int tulip_future_free(tulip_future *f);
/* Give f up: it is freed now if settled, otherwise by its loop right
 * after it settles (its callbacks still run). For a waiter that stops
 * waiting (cancelled) on a future some other party will settle.
 * Errors: -EBUSY (tasks still wait on f: nothing changed). */
TULIP_API int tulip_future_release(tulip_future *f);

#ifdef __cplusplus
}
#endif
#endif
