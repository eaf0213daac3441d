/* Compact tasks (issue 18): tasks that own no stack. Each is bound to one
 * of its loop's K shared stacks; its frames stay where they are while it is
 * suspended, and are copied out to an exact-size buffer only when another
 * task takes the shared stack, then copied back when it runs again (libco's
 * lazy copy, libaco's exact-size save). Frames never move to another
 * address, so pointers into them stay right for the task itself; nothing
 * else may hold one while it is suspended (the wait records of the runtime
 * live in the task or on the heap, docs/DESIGN.md section 11). */
#ifndef TULIP_COMPACT_H
#define TULIP_COMPACT_H

#include <stddef.h>
#include <stdint.h>

struct tulip__stack;
struct tulip__sched;
struct tulip_task;

struct tulip__shared_stack {
    struct tulip__stack *stack;   /* from the loop's pool: guard zone, valgrind id; NULL until first use */
    struct tulip_task *owner;     /* whose frames are on it now, or NULL */
};

/* Save buffers come in size classes: 64-byte steps to 1 KiB, 512-byte
 * steps to 4 KiB, then powers of two. A class's free buffers are kept on
 * a list threaded through their first word. */
#define TULIP__SAVE_CLASSES 40
#define TULIP__SAVE_FREE_MAX 64    /* free buffers kept per class */

struct tulip__compact {
    struct tulip__shared_stack *shared; /* K entries */
    unsigned n;                   /* K */
    unsigned next;                /* round-robin binding */
    size_t tasks;                 /* live compact tasks */
    void *free[TULIP__SAVE_CLASSES];
    uint32_t nfree[TULIP__SAVE_CLASSES];
    /* Statistics (debug stats, bench). */
    uint64_t saves, restores, bytes_saved;
    size_t max_saved;
};

/* K = n (0: the default). Allocates nothing until the first compact spawn. */
void tulip__compact_init(struct tulip__compact *c, unsigned n);
/* Frees the shared stacks' slots and the free buffers; the stacks go back
 * to pool (the pool is freed after this). */
void tulip__compact_fini(struct tulip__sched *s);

/* Spawn: bind t to a shared stack (taking the stack from the pool on its
 * first use). 0 or -errno (EAGAIN/ENOMEM as the pool). */
int tulip__compact_bind(struct tulip__sched *s, struct tulip_task *t);
/* Before switching to t: put its frames on its shared stack unless they
 * are still there, saving the current occupant's first; a fresh task's
 * first frame is made to call entry(t). 0 or -ENOMEM (the occupant's
 * frames could not be saved: t cannot run yet). */
int tulip__compact_enter(struct tulip__sched *s, struct tulip_task *t, void (*entry)(void *));
/* ASan builds, debug mode: t (compact) has just switched out, poison its
 * shared stack until a task runs on it again, so a stray access through a
 * pointer into it (an evicted or suspended compact task's frames) is
 * reported. */
void tulip__compact_suspended(struct tulip__sched *s, struct tulip_task *t);

/* t has ended (or is dropped at teardown): forget its frames and buffer. */
void tulip__compact_release(struct tulip__sched *s, struct tulip_task *t);

/* Debug mode: abort with a report if p (what: a description) lies on one
 * of the shared stacks, where a suspended compact task's frames may be
 * evicted. Called for every record and object a compact task hands to the
 * runtime when it parks. */
void tulip__compact_check(struct tulip__sched *s, const struct tulip_task *t, const void *p, const char *what);

/* Debug mode: abort with a report if p lies on a shared stack and the
 * caller (cur, may be NULL) is not the compact task whose frames are
 * there: another party reaching into a compact task's frames. */
void tulip__compact_check_foreign(struct tulip__sched *s, const struct tulip_task *cur, const void *p,
                                  const char *what);

/* The bytes a class holds (for tests and the bench). */
size_t tulip__save_class_size(unsigned cls);
unsigned tulip__save_class_of(size_t n);

#endif
