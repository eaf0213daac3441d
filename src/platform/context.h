/* Execution contexts for coroutines. The assembly switches save only the
 * callee-saved registers and the FP control words, which is all the C ABI
 * requires across a call: that is why they are several times faster than
 * swapcontext, which also saves the signal mask with a system call. */
#ifndef TULIP_CONTEXT_H
#define TULIP_CONTEXT_H

#include <stddef.h>

#if defined(TULIP_CTX_UCONTEXT)
#include <ucontext.h>
typedef struct tulip__ctx {
    ucontext_t uc;
    int fresh; /* made, never switched to: uc holds only the entry (debug dumps) */
} tulip__ctx;
#else
typedef struct tulip__ctx {
    void *sp; /* saved stack pointer; the registers sit on the stack */
} tulip__ctx;
#endif

/* Prepare ctx so that switching to it calls entry(arg) on the stack
 * [lo, lo + size). entry must never return: it switches away for good. */
void tulip__ctx_make(tulip__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg);

/* Save the current context into from and resume to. */
#if defined(TULIP_CTX_UCONTEXT)
void tulip__ctx_switch(tulip__ctx *from, tulip__ctx *to);
#else
void tulip__ctx_switch(tulip__ctx *from, tulip__ctx *to) __attribute__((visibility("hidden")));
#endif

#endif
