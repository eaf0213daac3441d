/* See spin_wait.h. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "spin_wait.h"
#include "clock.h"

#define DEFAULT_SPIN_NS 5000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

int64_t tulip__spin_budget_ns(void)
{
    static _Atomic int64_t cached = -1;
    int64_t v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        const char *e = getenv("TULIP_SPIN_NS");
        char *end;
        long long x = e && *e ? strtoll(e, &end, 10) : DEFAULT_SPIN_NS;
        v = e && *e && (*end || x < 0) ? DEFAULT_SPIN_NS : x;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

int tulip__spin_until(int (*came)(void *), void *arg, int64_t ns)
{
    int64_t end = tulip__clock_ns() + ns;
    for (unsigned i = 1; !came(arg); i++) {
        cpu_relax();
        if ((i & 31) == 0) {
            if (tulip__clock_ns() >= end)
                return 0;
            sched_yield();
        }
    }
    return 1;
}
