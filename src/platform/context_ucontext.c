/* Portable fallback for architectures without an assembly switch. About an
 * order of magnitude slower: swapcontext saves the signal mask with a
 * system call on every switch. */
#if defined(TULIP_CTX_UCONTEXT)
#define _GNU_SOURCE
#include <stdint.h>
#include "context.h"

/* makecontext passes only int arguments, so pointers travel split in two. */
static void ucontext_entry(unsigned hi_e, unsigned lo_e, unsigned hi_a, unsigned lo_a)
{
    void (*entry)(void *) = (void (*)(void *))(uintptr_t)(((uint64_t)hi_e << 32) | lo_e);
    void *arg = (void *)(uintptr_t)(((uint64_t)hi_a << 32) | lo_a);
    entry(arg);
}

void tulip__ctx_make(tulip__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uint64_t e = (uint64_t)(uintptr_t)entry, a = (uint64_t)(uintptr_t)arg;
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, (void (*)(void))ucontext_entry, 4, (unsigned)(e >> 32), (unsigned)e,
                (unsigned)(a >> 32), (unsigned)a);
    /* The assembly build tells a context that never ran by the trampoline
     * address in its frame; a ucontext_t has no portable place to look, so
     * the task dump asks this flag instead of unwinding from entry's
     * not-yet-built frame. */
    ctx->fresh = 1;
}

void tulip__ctx_switch(tulip__ctx *from, tulip__ctx *to)
{
    to->fresh = 0;
    swapcontext(&from->uc, &to->uc);
}
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int tulip__unused_translation_unit;
#endif
