#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "fault.h"

/* Atomic (relaxed): loops on several threads allocate at once, and a test
 * arms faults from one of them. Relaxed loads cost what plain ones do. */
atomic_int tulip__faults_armed;

static struct {
    atomic_ulong calls;
    atomic_ulong nth;
    atomic_int every;
} faults[TULIP_FAULT_KINDS];

void tulip_fault_arm(tulip_fault_kind kind, unsigned long nth, bool every)
{
    if ((unsigned)kind >= TULIP_FAULT_KINDS)
        return;
    atomic_store_explicit(&faults[kind].calls, 0, memory_order_relaxed);
    atomic_store_explicit(&faults[kind].nth, nth, memory_order_relaxed);
    atomic_store_explicit(&faults[kind].every, every, memory_order_relaxed);
    int armed = 0;
    for (int k = 0; k < TULIP_FAULT_KINDS; k++)
        if (atomic_load_explicit(&faults[k].nth, memory_order_relaxed))
            armed = 1;
    atomic_store_explicit(&tulip__faults_armed, armed, memory_order_relaxed);
}

void tulip_fault_reset(void)
{
    for (int k = 0; k < TULIP_FAULT_KINDS; k++) {
        atomic_store_explicit(&faults[k].calls, 0, memory_order_relaxed);
        atomic_store_explicit(&faults[k].nth, 0, memory_order_relaxed);
        atomic_store_explicit(&faults[k].every, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&tulip__faults_armed, 0, memory_order_relaxed);
}

unsigned long tulip_fault_calls(tulip_fault_kind kind)
{
    if ((unsigned)kind >= TULIP_FAULT_KINDS)
        return 0;
    return atomic_load_explicit(&faults[kind].calls, memory_order_relaxed);
}

int tulip__fault_hit(tulip_fault_kind kind)
{
    unsigned long n = atomic_fetch_add_explicit(&faults[kind].calls, 1, memory_order_relaxed) + 1;
    unsigned long nth = atomic_load_explicit(&faults[kind].nth, memory_order_relaxed);
    if (!nth)
        return 0;
    if (n == nth || (atomic_load_explicit(&faults[kind].every, memory_order_relaxed) && n > nth)) {
        errno = (kind == TULIP_FAULT_MALLOC || kind == TULIP_FAULT_MMAP) ? ENOMEM
                : kind == TULIP_FAULT_URING                            ? EPERM
                                                                      : EMFILE;
        return 1;
    }
    return 0;
}

void *tulip__malloc(size_t n)
{
    if (tulip__fault(TULIP_FAULT_MALLOC))
        return NULL;
    return malloc(n);
}

void *tulip__calloc(size_t n, size_t size)
{
    if (tulip__fault(TULIP_FAULT_MALLOC))
        return NULL;
    return calloc(n, size);
}

void *tulip__realloc(void *p, size_t n)
{
    if (tulip__fault(TULIP_FAULT_MALLOC))
        return NULL;
    return realloc(p, n);
}

char *tulip__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tulip__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
