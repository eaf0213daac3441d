/* Initial frames for the assembly context switches, laid out as
 * frame_layout.h says (the layout switch_<arch>.S restores). */
#if !defined(TULIP_CTX_UCONTEXT)
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include "context.h"
#include "frame_layout.h"

/* Store v at offset off of the frame at sp. */
static void put(void *sp, int off, uint64_t v)
{
    memcpy((char *)sp + off, &v, sizeof v);
}

void tulip__ctx_trampoline(void) __attribute__((visibility("hidden")));

#if defined(__x86_64__)
void tulip__ctx_make(tulip__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    /* After the final ret, %rsp must be 16-byte aligned for the trampoline's
     * call to leave the callee with the ABI's entry alignment. */
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    /* The frame ends at top: after the switch's final jump %rsp = top,
     * 16-byte aligned, for the trampoline's call to leave the callee with
     * the ABI's entry alignment. */
    char *sp = (char *)(top - TULIP__FRAME_SIZE);
    memset(sp, 0, TULIP__FRAME_SIZE); /* rbp 0 ends frame chains */
    put(sp, TULIP__FRAME_RET, (uint64_t)(uintptr_t)tulip__ctx_trampoline);
    put(sp, TULIP__FRAME_ENTRY, (uint64_t)(uintptr_t)entry);
    put(sp, TULIP__FRAME_ARG, (uint64_t)(uintptr_t)arg);
    /* Default MXCSR (all exceptions masked, round to nearest) and x87
     * control word (extended precision, all masked). */
    uint32_t cw[2] = {0x1F80u, 0x037Fu};
    memcpy(sp + TULIP__FRAME_FPCW, cw, sizeof cw);
    ctx->sp = sp;
}
#elif defined(__aarch64__)
void tulip__ctx_make(tulip__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    char *frame = (char *)(top - TULIP__FRAME_SIZE);
    memset(frame, 0, TULIP__FRAME_SIZE); /* x29 0 ends frame chains; FPCR default */
    put(frame, TULIP__FRAME_ENTRY, (uint64_t)(uintptr_t)entry);
    put(frame, TULIP__FRAME_ARG, (uint64_t)(uintptr_t)arg);
    put(frame, TULIP__FRAME_RET, (uint64_t)(uintptr_t)tulip__ctx_trampoline);
    ctx->sp = frame;
}
#else
#error "no assembly context switch for this architecture: configure with -DTULIP_CONTEXT=ucontext"
#endif
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int tulip__unused_translation_unit;
#endif
