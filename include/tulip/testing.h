/* Test-only fault injection: make the Nth call of a kind of resource
 * acquisition fail, to check error paths return cleanly and leak nothing.
 * Cheap when unarmed (one predictable branch). Process-wide, not
 * thread-safe to arm while other threads allocate. */
#ifndef TULIP_TESTING_H
#define TULIP_TESTING_H

#include "tulip/common.h"

typedef enum tulip_fault_kind {
    TULIP_FAULT_MALLOC = 0,   /* heap allocations made by tulip */
    TULIP_FAULT_MMAP,         /* stack slabs */
    TULIP_FAULT_SOCKET,       /* socket(2), accept4(2) */
    TULIP_FAULT_FD,           /* other fd creation: eventfd, epoll, pipe */
    TULIP_FAULT_KINDS
} tulip_fault_kind;

/* The nth (1-based) next call of kind fails (with ENOMEM for memory kinds,
 * EMFILE for fd kinds); nth == 0 disarms. every != 0 makes every call from
 * the nth on fail. */
TULIP_API void tulip_fault_arm(tulip_fault_kind kind, unsigned long nth, int every);
/* Disarm every kind. */
TULIP_API void tulip_fault_reset(void);
/* How many calls of kind were made since the last arm/reset. */
TULIP_API unsigned long tulip_fault_calls(tulip_fault_kind kind);

#endif
