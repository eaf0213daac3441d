/* One growth rule for everything in tulip that grows by reallocation:
 * byte buffers (HTTP heads and bodies, a stream's read buffer) and arrays
 * (the timer heap, the loop's fd table). Capacity doubles, from a first
 * size, so n appends cost O(n) copying in all; a ceiling bounds what a
 * peer can make us allocate. */
#ifndef TULIP_GROW_H
#define TULIP_GROW_H

#include <stddef.h>

/* *pp points to *cap elements of elem bytes (NULL and 0 at first). Make it
 * hold at least need: the capacity doubles from max(*cap, first) until it
 * does, clamped to max; one realloc. Returns 0 (*pp and *cap updated, the
 * new elements uninitialised; nothing done if need <= *cap), -EMSGSIZE
 * when need > max, -ENOMEM. pp is the address of any object pointer. */
int tulip__grow(void *pp, size_t *cap, size_t need, size_t first, size_t max, size_t elem);

#endif
