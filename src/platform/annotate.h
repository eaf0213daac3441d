/* Tell AddressSanitizer and valgrind about coroutine stacks. Without these,
 * ASan sees each switch as a wild jump of the stack pointer (false
 * stack-buffer-overflow reports, broken fake stacks) and valgrind mistakes a
 * switch for a huge stack growth. */
#ifndef TULIP_ANNOTATE_H
#define TULIP_ANNOTATE_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define TULIP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TULIP_ASAN 1
#endif
#endif

#ifdef TULIP_ASAN
#include <sanitizer/common_interface_defs.h>
#define tulip__asan_start_switch(save, bottom, size) __sanitizer_start_switch_fiber((save), (bottom), (size))
#define tulip__asan_finish_switch(save) __sanitizer_finish_switch_fiber((save), NULL, NULL)
#define tulip__asan_finish_switch_from(save, bottom, size) __sanitizer_finish_switch_fiber((save), (bottom), (size))
#include <sanitizer/asan_interface.h>
/* Compact tasks (src/task/compact.c) move frames in and out of a shared
 * stack: the shadow of the range a task's frames occupy is cleared before
 * they are copied, and in debug mode the unused part is poisoned so a
 * stray access into evicted frames is reported. */
#define tulip__asan_poison(p, n) __asan_poison_memory_region((p), (n))
#define tulip__asan_unpoison(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define tulip__asan_poison(p, n) ((void)(p), (void)(n))
#define tulip__asan_unpoison(p, n) ((void)(p), (void)(n))
#define tulip__asan_finish_switch_from(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define tulip__asan_start_switch(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define tulip__asan_finish_switch(save) ((void)(save))
#endif

/* ThreadSanitizer: each task is a fiber, so TSan keeps one shadow stack
 * and one vector clock per task instead of seeing one thread's stack
 * pointer jump between a million stacks. Flag 0 makes a switch a
 * happens-before edge, which is what it is in tulip. */
#if defined(__SANITIZE_THREAD__)
#define TULIP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TULIP_TSAN 1
#endif
#endif

#ifdef TULIP_TSAN
#include <sanitizer/tsan_interface.h>
#define tulip__tsan_create() __tsan_create_fiber(0)
#define tulip__tsan_destroy(f) __tsan_destroy_fiber(f)
#define tulip__tsan_current() __tsan_get_current_fiber()
#define tulip__tsan_switch(f) __tsan_switch_to_fiber((f), 0)
/* A happens-before edge TSan cannot see (one made by the kernel): a
 * release on addr before, an acquire on the same addr after. */
#define tulip__tsan_release(addr) __tsan_release(addr)
#define tulip__tsan_acquire(addr) __tsan_acquire(addr)
/* What TSan's read(2) and write(2) interceptors record on fd (an acquire
 * after a read, a release before a write: its model of bytes carrying
 * order between threads), for I/O the kernel does without those calls
 * (io_uring). By calls that do nothing else: a zero-length read returns 0
 * on sockets, pipes and files; a pwrite at offset -1 fails with EINVAL. */
#include <errno.h>
#include <unistd.h>
static inline void tulip__tsan_fd_acquire(int fd)
{
    int e = errno;
    ssize_t r = read(fd, NULL, 0);
    (void)r;
    errno = e;
}
static inline void tulip__tsan_fd_release(int fd)
{
    int e = errno;
    ssize_t r = pwrite(fd, NULL, 0, -1);
    (void)r;
    errno = e;
}
#else
#define tulip__tsan_create() ((void *)0)
#define tulip__tsan_destroy(f) ((void)(f))
#define tulip__tsan_current() ((void *)0)
#define tulip__tsan_switch(f) ((void)(f))
#define tulip__tsan_release(addr) ((void)(addr))
#define tulip__tsan_acquire(addr) ((void)(addr))
#define tulip__tsan_fd_acquire(fd) ((void)(fd))
#define tulip__tsan_fd_release(fd) ((void)(fd))
#endif

#if defined(TULIP_HAVE_VALGRIND)
#include <valgrind/valgrind.h>
#define tulip__vg_stack_register(lo, hi) VALGRIND_STACK_REGISTER((lo), (hi))
#define tulip__vg_stack_deregister(id) VALGRIND_STACK_DEREGISTER(id)
#include <valgrind/memcheck.h>
/* Compact tasks' frames are copied back below where the shared stack's
 * last occupant had unwound to, which memcheck marked unaddressable. */
#define tulip__vg_addressable(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#else
#define tulip__vg_addressable(p, n) ((void)(p), (void)(n))
#define tulip__vg_stack_register(lo, hi) ((void)(lo), (void)(hi), 0u)
#define tulip__vg_stack_deregister(id) ((void)(id))
#endif

#endif
