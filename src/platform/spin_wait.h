/* Spinning before a thread sleeps, shared by the two spins of tulip: a
 * loop of several watching its post stack for cross-loop hand-offs
 * (src/runtime/spin.c) and the io_uring backend watching its completion
 * queue before it blocks in io_uring_enter (src/backend/uring.c). One
 * budget for both, TULIP_SPIN_NS (default 5 µs; 0 turns both off), and
 * one way to spend it: pause, and yield the CPU every ~1 µs, since on an
 * oversubscribed machine the thread whose work we wait for may be waiting
 * for this very CPU (Go's osyield in findrunnable). */
#ifndef TULIP_SPIN_WAIT_H
#define TULIP_SPIN_WAIT_H

#include <stdint.h>

/* TULIP_SPIN_NS, read once: the most a thread spins before it sleeps. */
int64_t tulip__spin_budget_ns(void);

/* Spin until came(arg) is nonzero (returns 1) or ns have passed (returns
 * 0); came is asked first, then after each pause. */
int tulip__spin_until(int (*came)(void *), void *arg, int64_t ns);

#endif
