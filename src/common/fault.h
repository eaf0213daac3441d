/* Allocation and fd-creation wrappers with test-only fault injection
 * (include/tulip/testing.h). Library code allocates only through these so
 * every error path can be exercised. */
#ifndef TULIP_FAULT_H
#define TULIP_FAULT_H

#include <stdatomic.h>
#include <stdlib.h>
#include "tulip/testing.h"

extern atomic_int tulip__faults_armed;
int tulip__fault_hit(tulip_fault_kind kind);

/* Returns nonzero if this call of kind must fail; counts the call. */
static inline int tulip__fault(tulip_fault_kind kind)
{
    if (__builtin_expect(atomic_load_explicit(&tulip__faults_armed, memory_order_relaxed), 0))
        return tulip__fault_hit(kind);
    return 0;
}

void *tulip__malloc(size_t n);
void *tulip__calloc(size_t n, size_t size);
void *tulip__realloc(void *p, size_t n);
char *tulip__strdup(const char *s);

#endif
