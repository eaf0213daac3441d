/* The frame tulip__ctx_switch leaves on the stack of a context it
 * suspended, as byte offsets from the saved stack pointer (tulip__ctx.sp).
 * The one definition of it: the assembly (switch_<arch>.S) includes this
 * file and the preprocessor checks its saves against it; tulip__ctx_make
 * (context_asm.c) builds a fresh context's frame by it; the unwinder
 * (src/debug/unwind.c) and the task dump read a parked task's registers by
 * it; and the CTest check `frame_layout` compares the gdb helper's copy
 * (tools/gdb/tulip.py, which cannot include C) with it.
 * Plain #defines only, so that assembly can include it. */
#ifndef TULIP_FRAME_LAYOUT_H
#define TULIP_FRAME_LAYOUT_H

#if defined(__x86_64__)
/* Built by pushes (rbp first, so highest) and an 8-byte slot for the
 * control words, then the return address of the call above them all. */
#define TULIP__FRAME_FPCW 0 /* MXCSR (4 bytes), then the x87 control word */
#define TULIP__FRAME_R15 8
#define TULIP__FRAME_R14 16
#define TULIP__FRAME_R13 24
#define TULIP__FRAME_R12 32
#define TULIP__FRAME_RBX 40
#define TULIP__FRAME_RBP 48
#define TULIP__FRAME_RIP 56  /* return address: where the context resumes */
#define TULIP__FRAME_SIZE 64 /* the stack pointer once the switch returned: sp + SIZE */
/* A fresh context: the trampoline finds entry and its argument here. */
#define TULIP__FRAME_ENTRY TULIP__FRAME_R12
#define TULIP__FRAME_ARG TULIP__FRAME_R13
#define TULIP__FRAME_FP TULIP__FRAME_RBP
#define TULIP__FRAME_RET TULIP__FRAME_RIP
#elif defined(__aarch64__)
/* Saved with stp in pairs; the frame is all there is (ret uses x30). */
#define TULIP__FRAME_X19 0
#define TULIP__FRAME_X21 16
#define TULIP__FRAME_X23 32
#define TULIP__FRAME_X25 48
#define TULIP__FRAME_X27 64
#define TULIP__FRAME_X29 80 /* x29 (frame pointer), then x30 (link register) */
#define TULIP__FRAME_X30 88
#define TULIP__FRAME_D8 96
#define TULIP__FRAME_D10 112
#define TULIP__FRAME_D12 128
#define TULIP__FRAME_D14 144
#define TULIP__FRAME_FPCR 160
#define TULIP__FRAME_SIZE 176 /* a multiple of 16, as sp must stay */
#define TULIP__FRAME_ENTRY TULIP__FRAME_X19
#define TULIP__FRAME_ARG (TULIP__FRAME_X19 + 8)
#define TULIP__FRAME_FP TULIP__FRAME_X29
#define TULIP__FRAME_RET TULIP__FRAME_X30
#endif

#if !defined(__ASSEMBLER__) && defined(TULIP__FRAME_SIZE)
#include <stdint.h>
#include <string.h>

/* The 8-byte word at offset off of the frame at sp. */
static inline uint64_t tulip__frame_word(const void *sp, int off)
{
    uint64_t v;
    memcpy(&v, (const char *)sp + off, sizeof v);
    return v;
}
#endif

#endif
