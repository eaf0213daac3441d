/* TEST-ONLY, NOT INSTALLED, NOT EXPORTED: fault injection for tulip's own
 * test suite. It makes the Nth call of a kind of resource acquisition fail,
 * to check that error paths return cleanly and leak nothing.
 *
 * Why it is not part of the release API: the fault points are internal
 * (which allocation is "the third" changes with any refactoring), so a
 * program outside this tree could not rely on them, and a release must not
 * carry a switch that makes it fail on purpose. The header is left out of
 * `cmake --install` and the functions are not exported from libtulip.so
 * (hidden visibility); tests link the static library.
 *
 * Cheap when unarmed (one predictable branch). Process-wide, not
 * thread-safe to arm while other threads allocate. */
#ifndef TULIP_TESTING_H
#define TULIP_TESTING_H

#include "tulip/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tulip_fault_kind {
    TULIP_FAULT_MALLOC = 0,   /* heap allocations made by tulip */
    TULIP_FAULT_MMAP,         /* stack slabs */
    TULIP_FAULT_SOCKET,       /* socket(2), accept4(2) */
    TULIP_FAULT_FD,           /* other fd creation: eventfd, epoll, pipe */
    TULIP_FAULT_URING,        /* io_uring set-up: fails with EPERM, as when
                                 kernel.io_uring_disabled or seccomp refuse it */
    TULIP_FAULT_KINDS
} tulip_fault_kind;

/* The nth (1-based) next call of kind fails (with ENOMEM for memory kinds,
 * EPERM for TULIP_FAULT_URING, EMFILE for fd kinds); nth == 0 disarms. every != 0 makes every call from
 * the nth on fail. */
void tulip_fault_arm(tulip_fault_kind kind, unsigned long nth, bool every);
/* Disarm every kind. */
void tulip_fault_reset(void);
/* How many calls of kind were made since the last arm/reset. */
unsigned long tulip_fault_calls(tulip_fault_kind kind);

/* Free the loops this thread was running when a longjmp left them
 * (cmocka's failed assertion inside a task or a loop callback jumps past
 * tulip_run's end), innermost first, with their tasks, none of them
 * resumed, and stop the worker loops of such a run; the thread can then
 * run a loop again (else tulip_run fails with -EBUSY). Returns how many
 * loops it freed: 0 when none was left running. tests/test_util.h calls
 * it after every case. */
int tulip_test_abandon(void);

/* How many bytes of request heads that did not come whole in one read the
 * HTTP server srv handed to a parser to check (src/http/server.c): a pass
 * from a head's first byte counts every byte it is given, a parser resumed
 * on a later read only the bytes new to it. A head that came whole counts
 * nothing. A head sent a byte per read should count about its length. */
struct tulip_http_server;
uint64_t tulip_test_http_head_checked(const struct tulip_http_server *srv);

#ifdef __cplusplus
}
#endif
#endif
