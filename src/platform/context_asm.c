/* Initial frames for the assembly context switches. The frame layout must
 * match the pops in switch_<arch>.S exactly. */
#if !defined(TULIP_CTX_UCONTEXT)
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include "context.h"

void tulip__ctx_trampoline(void) __attribute__((visibility("hidden")));

#if defined(__x86_64__)
void tulip__ctx_make(tulip__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    /* After the final ret, %rsp must be 16-byte aligned for the trampoline's
     * call to leave the callee with the ABI's entry alignment. */
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top - 1;
    *sp-- = (uint64_t)(uintptr_t)tulip__ctx_trampoline; /* return address */
    *sp-- = 0;                                          /* rbp: ends frame chains */
    *sp-- = 0;                                          /* rbx */
    *sp-- = (uint64_t)(uintptr_t)entry;                 /* r12 */
    *sp-- = (uint64_t)(uintptr_t)arg;                   /* r13 */
    *sp-- = 0;                                          /* r14 */
    *sp = 0;                                            /* r15 */
    sp--;
    /* Default MXCSR (all exceptions masked, round to nearest) and x87
     * control word (extended precision, all masked). */
    uint32_t cw[2] = {0x1F80u, 0x037Fu};
    memcpy(sp, cw, sizeof cw);
    ctx->sp = sp;
}
#elif defined(__aarch64__)
void tulip__ctx_make(tulip__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uint64_t *frame = (uint64_t *)(top - 176);
    memset(frame, 0, 176);
    frame[0] = (uint64_t)(uintptr_t)entry;                 /* x19 */
    frame[1] = (uint64_t)(uintptr_t)arg;                   /* x20 */
    frame[10] = 0;                                         /* x29 */
    frame[11] = (uint64_t)(uintptr_t)tulip__ctx_trampoline; /* x30 */
    ctx->sp = frame;
}
#else
#error "no assembly context switch for this architecture: configure with -DTULIP_CONTEXT=ucontext"
#endif
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int tulip__unused_translation_unit;
#endif
