#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "annotate.h"
#include "stack.h"
#include "../common/fault.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* Guard zone below each stack. Bigger than a page because C frames with a
 * large local array can step over a single guard page into the neighbour's
 * stack; 64 KiB of address space costs no memory. */
#define TULIP_GUARD_SIZE ((size_t)64 * 1024)
#define TULIP_SLAB_MIN 16
#define TULIP_SLAB_MAX 1024

struct tulip__slab {
    struct tulip__slab *next;
    void *base;
    size_t len;
    size_t count;
    struct tulip__stack stacks[];
};

_Thread_local struct tulip__running_info tulip__running;

/* 0 = not probed, 1 = guard regions work, 2 = use mprotect. */
static atomic_int guard_mode;

/* Worker loops start on several threads at once: the cache is atomic. */
static size_t page_size(void)
{
    static _Atomic size_t ps;
    size_t v = atomic_load_explicit(&ps, memory_order_relaxed);
    if (!v) {
        v = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&ps, v, memory_order_relaxed);
    }
    return v;
}

static int probe_guard_mode(void)
{
    int mode = atomic_load_explicit(&guard_mode, memory_order_relaxed);
    if (mode)
        return mode;
    mode = 2;
    size_t ps = page_size();
    void *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
        if (madvise(p, ps, MADV_GUARD_INSTALL) == 0)
            mode = 1;
        munmap(p, 2 * ps);
    }
    /* valgrind does not model guard regions; mprotect keeps its view and the
     * kernel's in agreement. */
#if defined(TULIP_HAVE_VALGRIND)
    if (RUNNING_ON_VALGRIND)
        mode = 2;
#endif
    atomic_store_explicit(&guard_mode, mode, memory_order_relaxed);
    return mode;
}

const char *tulip__stack_guard_kind(void)
{
    return probe_guard_mode() == 1 ? "guard-region" : "mprotect";
}

int tulip__stack_pool_init(struct tulip__stack_pool *p, size_t stack_size, size_t cache)
{
    size_t ps = page_size();
    if (stack_size < 16 * 1024)
        return -EINVAL;
    memset(p, 0, sizeof *p);
    p->stack_size = (stack_size + ps - 1) & ~(ps - 1);
    p->guard_size = TULIP_GUARD_SIZE;
    p->cache = cache;
    p->next_slab_count = TULIP_SLAB_MIN;
    probe_guard_mode();
    return 0;
}

static int slab_grow(struct tulip__stack_pool *p)
{
    size_t count = p->next_slab_count;
    size_t slot = p->stack_size + p->guard_size;
    struct tulip__slab *slab = tulip__malloc(sizeof *slab + count * sizeof slab->stacks[0]);
    if (!slab)
        return -ENOMEM;
    void *base = MAP_FAILED;
    if (!tulip__fault(TULIP_FAULT_MMAP))
        base = mmap(NULL, count * slot, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        int err = errno;
        free(slab);
        return err == ENOMEM ? -EAGAIN : -err;
    }
    slab->base = base;
    slab->len = count * slot;
    slab->count = count;
    slab->next = p->slabs;
    p->slabs = slab;
    /* Push in reverse so the lowest slot is handed out first. */
    for (size_t i = count; i-- > 0;) {
        struct tulip__stack *s = &slab->stacks[i];
        s->lo = (char *)base + i * slot + p->guard_size;
        s->size = p->stack_size;
        s->guarded = 0;
        s->warm = 0;
        s->vg_id = 0;
        s->next = p->free;
        p->free = s;
    }
    if (p->next_slab_count < TULIP_SLAB_MAX)
        p->next_slab_count *= 2;
    return 0;
}

static int install_guard(struct tulip__stack_pool *p, struct tulip__stack *s)
{
    void *g = (char *)s->lo - p->guard_size;
    int rc = probe_guard_mode() == 1 ? madvise(g, p->guard_size, MADV_GUARD_INSTALL)
                                     : mprotect(g, p->guard_size, PROT_NONE);
    if (rc != 0)
        return errno == ENOMEM ? -EAGAIN : -errno;
    s->guarded = 1;
    s->vg_id = tulip__vg_stack_register(s->lo, (char *)s->lo + s->size);
    return 0;
}

struct tulip__stack *tulip__stack_get(struct tulip__stack_pool *p)
{
    if (!p->free) {
        int rc = slab_grow(p);
        if (rc < 0) {
            errno = -rc;
            return NULL;
        }
    }
    struct tulip__stack *s = p->free;
    if (!s->guarded) {
        int rc = install_guard(p, s);
        if (rc < 0) {
            errno = -rc;
            return NULL;
        }
    }
    p->free = s->next;
    if (s->warm)
        p->nfree_warm--;
    s->next = NULL;
    s->warm = 1;
    p->in_use++;
    return s;
}

void tulip__stack_put(struct tulip__stack_pool *p, struct tulip__stack *s)
{
    p->in_use--;
    /* A task freed while suspended (its loop freed, its group torn down)
     * never returned from its frames: ASan's redzones for them stay in the
     * shadow and would be reported against the stack's next task. */
    tulip__asan_unpoison(s->lo, s->size);
    /* Keep the pages: a stack handed back is usually reused at once (spawn
     * waves, worker churn). Excess memory goes back in tulip__stack_trim
     * when the loop is about to sleep. */
    if (s->warm)
        p->nfree_warm++;
    s->next = p->free;
    p->free = s;
}

static void release_run(char *lo, char *hi)
{
    if (lo < hi)
        madvise(lo, (size_t)(hi - lo), MADV_DONTNEED);
}

void tulip__stack_trim(struct tulip__stack_pool *p)
{
    if (p->nfree_warm <= p->cache)
        return;
    /* The most recently freed stacks (list head) stay warm. Neighbouring
     * stacks are released with one madvise: the guard zones between them
     * survive MADV_DONTNEED, whichever kind they are. */
    size_t kept = 0;
    char *run_lo = NULL, *run_hi = NULL;
    for (struct tulip__stack *s = p->free; s; s = s->next) {
        if (!s->warm)
            continue;
        if (kept < p->cache) {
            kept++;
            continue;
        }
        char *lo = s->lo, *hi = (char *)s->lo + s->size;
        if (run_lo && lo - p->guard_size == run_hi) {
            run_hi = hi;
        } else if (run_lo && hi + p->guard_size == run_lo) {
            run_lo = lo;
        } else {
            release_run(run_lo, run_hi);
            run_lo = lo;
            run_hi = hi;
        }
        s->warm = 0;
        p->nfree_warm--;
    }
    release_run(run_lo, run_hi);
}

void tulip__stack_pool_fini(struct tulip__stack_pool *p)
{
    struct tulip__slab *slab = p->slabs;
    while (slab) {
        struct tulip__slab *next = slab->next;
        for (size_t i = 0; i < slab->count; i++)
            if (slab->stacks[i].guarded)
                tulip__vg_stack_deregister(slab->stacks[i].vg_id);
        /* the same stale redzones would follow the addresses into whatever
         * is mapped there next (an io_uring buffer ring, say) */
        tulip__asan_unpoison(slab->base, slab->len);
        munmap(slab->base, slab->len);
        free(slab);
        slab = next;
    }
    p->slabs = NULL;
    p->free = NULL;
}

/* ---- overflow reporting ------------------------------------------------ */

#if !defined(TULIP_ASAN)
#define ALTSTACK_SIZE ((size_t)64 * 1024)

static _Thread_local void *altstack_mem;
static _Thread_local int altstack_refs;
static struct sigaction previous_segv;
static atomic_int handler_installed;

static size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s && at < cap)
        buf[at++] = *s++;
    return at;
}

/* Only async-signal-safe calls from here on: the heap may be mid-update. */
static void segv_handler(int sig, siginfo_t *si, void *uctx)
{
    const struct tulip__running_info *r = &tulip__running;
    uintptr_t addr = (uintptr_t)si->si_addr;
    if (r->stack) {
        uintptr_t lo = (uintptr_t)r->stack->lo;
        if (addr < lo && addr >= lo - r->guard_size) {
            char buf[512];
            char num[24];
            size_t n = 0, cap = sizeof buf;
            n = append(buf, n, cap, "tulip: stack overflow in task ");
            num[fmt_u64(num, r->task_id)] = 0;
            n = append(buf, n, cap, num);
            n = append(buf, n, cap, " \"");
            n = append(buf, n, cap, r->task_name ? r->task_name : "");
            n = append(buf, n, cap, "\" (stack size ");
            num[fmt_u64(num, r->stack->size)] = 0;
            n = append(buf, n, cap, num);
            n = append(buf, n, cap, " bytes, fault ");
            num[fmt_u64(num, lo - addr)] = 0;
            n = append(buf, n, cap, num);
            n = append(buf, n, cap, " bytes below the stack); raise tulip_config.stack_size\n");
            ssize_t w = write(2, buf, n);
            (void)w;
            abort();
        }
    }
    /* Not ours: hand over to whoever was there before, or die normally. */
    if (previous_segv.sa_flags & SA_SIGINFO) {
        if (previous_segv.sa_sigaction) {
            previous_segv.sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (previous_segv.sa_handler != SIG_DFL && previous_segv.sa_handler != SIG_IGN) {
        previous_segv.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
}

#endif

int tulip__overflow_handler_install(void)
{
#if defined(TULIP_ASAN)
    /* ASan reports stack overflows itself and its handler must stay first. */
    return 0;
#else
    if (altstack_refs++ == 0 && !altstack_mem) {
        stack_t ss;
        if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE) && ss.ss_size >= ALTSTACK_SIZE / 2) {
            /* The thread already has one (e.g. from the application). */
        } else {
            void *mem = tulip__malloc(ALTSTACK_SIZE);
            if (!mem) {
                altstack_refs--;
                return -ENOMEM;
            }
            ss.ss_sp = mem;
            ss.ss_size = ALTSTACK_SIZE;
            ss.ss_flags = 0;
            if (sigaltstack(&ss, NULL) != 0) {
                free(mem);
                altstack_refs--;
                return -errno;
            }
            altstack_mem = mem;
        }
    }
    int expected = 0;
    if (atomic_compare_exchange_strong(&handler_installed, &expected, 1)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = segv_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous_segv);
    }
    return 0;
#endif
}

void tulip__overflow_handler_thread_fini(void)
{
#if !defined(TULIP_ASAN)
    if (altstack_refs > 0 && --altstack_refs > 0)
        return;
    if (altstack_mem) {
        stack_t ss;
        memset(&ss, 0, sizeof ss);
        ss.ss_flags = SS_DISABLE;
        sigaltstack(&ss, NULL);
        free(altstack_mem);
        altstack_mem = NULL;
    }
#endif
}
