/* AArch64 (AAPCS64) context switch.
 *   void tulip__ctx_switch(tulip__ctx *from, tulip__ctx *to)
 * Saves x19-x30, d8-d15 and FPCR on the stack, stores sp in from->sp,
 * loads to->sp and restores. A fresh context returns (via x30) into
 * tulip__ctx_trampoline with entry in x19 and its argument in x20.
 * The offsets are frame_layout.h's. */
#include "frame_layout.h"
    .text
    .globl  tulip__ctx_switch
    .hidden tulip__ctx_switch
    .type   tulip__ctx_switch, %function
    .p2align 4
tulip__ctx_switch:
    sub     sp, sp, #TULIP__FRAME_SIZE
    stp     x19, x20, [sp, #TULIP__FRAME_X19]
    stp     x21, x22, [sp, #TULIP__FRAME_X21]
    stp     x23, x24, [sp, #TULIP__FRAME_X23]
    stp     x25, x26, [sp, #TULIP__FRAME_X25]
    stp     x27, x28, [sp, #TULIP__FRAME_X27]
    stp     x29, x30, [sp, #TULIP__FRAME_X29]
    stp     d8, d9, [sp, #TULIP__FRAME_D8]
    stp     d10, d11, [sp, #TULIP__FRAME_D10]
    stp     d12, d13, [sp, #TULIP__FRAME_D12]
    stp     d14, d15, [sp, #TULIP__FRAME_D14]
    mrs     x9, fpcr
    str     x9, [sp, #TULIP__FRAME_FPCR]
    mov     x9, sp
    str     x9, [x0]
    ldr     x9, [x1]
    mov     sp, x9
    ldp     x19, x20, [sp, #TULIP__FRAME_X19]
    ldp     x21, x22, [sp, #TULIP__FRAME_X21]
    ldp     x23, x24, [sp, #TULIP__FRAME_X23]
    ldp     x25, x26, [sp, #TULIP__FRAME_X25]
    ldp     x27, x28, [sp, #TULIP__FRAME_X27]
    ldp     x29, x30, [sp, #TULIP__FRAME_X29]
    ldp     d8, d9, [sp, #TULIP__FRAME_D8]
    ldp     d10, d11, [sp, #TULIP__FRAME_D10]
    ldp     d12, d13, [sp, #TULIP__FRAME_D12]
    ldp     d14, d15, [sp, #TULIP__FRAME_D14]
    ldr     x9, [sp, #TULIP__FRAME_FPCR]
    msr     fpcr, x9
    add     sp, sp, #TULIP__FRAME_SIZE
    ret
    .size   tulip__ctx_switch, .-tulip__ctx_switch

    .globl  tulip__ctx_trampoline
    .hidden tulip__ctx_trampoline
    .type   tulip__ctx_trampoline, %function
    .p2align 4
tulip__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x0, x20
    blr     x19
    brk     #0
    .cfi_endproc
    .size   tulip__ctx_trampoline, .-tulip__ctx_trampoline

    .section .note.GNU-stack,"",%progbits
