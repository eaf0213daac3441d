/* Coroutine stacks: carved from large mmap'd slabs, each with a guard zone
 * below it, pooled per loop and reused LIFO (a recently used stack is still
 * in cache and already faulted in).
 *
 * Why slabs and guard regions: Linux caps a process at vm.max_map_count
 * (65530) memory mappings. One mmap plus one mprotect'd guard per stack
 * costs two mappings, which would cap tulip near 32,000 live tasks. Since
 * Linux 6.13, MADV_GUARD_INSTALL puts guard pages into page tables without
 * splitting the mapping, so a slab of 1,024 guarded stacks is one mapping
 * and a million tasks need about a thousand. On older kernels we fall back
 * to mprotect guards installed on a stack's first use, and spawn fails with
 * EAGAIN once the kernel refuses more mappings. */
#ifndef TULIP_STACK_H
#define TULIP_STACK_H

#include <stddef.h>
#include <stdint.h>

struct tulip__slab;

struct tulip__stack {
    void *lo;                     /* lowest usable byte; the guard lies below */
    size_t size;                  /* usable bytes */
    struct tulip__stack *next;    /* free list */
    unsigned vg_id;               /* valgrind stack id */
    uint8_t guarded;              /* guard installed */
    uint8_t warm;                 /* pages may be resident */
};

struct tulip__stack_pool {
    size_t stack_size;            /* usable bytes per stack, page multiple */
    size_t guard_size;
    struct tulip__slab *slabs;
    struct tulip__stack *free;    /* LIFO */
    size_t nfree_warm;            /* warm stacks on the free list */
    size_t cache;                 /* warm stacks to keep before releasing pages */
    size_t next_slab_count;       /* slots in the next slab */
    size_t in_use;
};

/* Errors: -EINVAL (size too small). */
int tulip__stack_pool_init(struct tulip__stack_pool *p, size_t stack_size, size_t cache);
/* NULL with errno ENOMEM (no memory) or EAGAIN (no more mappings / address
 * space). */
struct tulip__stack *tulip__stack_get(struct tulip__stack_pool *p);
void tulip__stack_put(struct tulip__stack_pool *p, struct tulip__stack *s);
/* Give back the pages of free stacks beyond the cache. */
void tulip__stack_trim(struct tulip__stack_pool *p);
void tulip__stack_pool_fini(struct tulip__stack_pool *p);

/* Which guard mechanism this kernel gave us: "guard-region" or "mprotect". */
const char *tulip__stack_guard_kind(void);

/* Install (once per thread) the SIGSEGV handler on an alternate signal stack
 * that reports a fault in a task's guard zone as a stack overflow naming the
 * task, and aborts. Errors: -ENOMEM. */
int tulip__overflow_handler_install(void);
void tulip__overflow_handler_thread_fini(void);

/* Set by the task layer: describes the task running on this thread, for the
 * overflow report. Signal handlers read it, hence plain fields. */
struct tulip__running_info {
    const struct tulip__stack *stack;
    uint64_t task_id;
    const char *task_name;
    size_t guard_size;
};
extern _Thread_local struct tulip__running_info tulip__running;

#endif
