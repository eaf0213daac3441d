/* See grow.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "grow.h"
#include "fault.h"

int tulip__grow(void *pp, size_t *cap, size_t need, size_t first, size_t max, size_t elem)
{
    if (need <= *cap)
        return 0;
    if (max > SIZE_MAX / elem)
        max = SIZE_MAX / elem;
    if (need > max)
        return -EMSGSIZE;
    size_t c = *cap > first ? *cap : first;
    while (c < need)
        c = c > max / 2 ? max : c * 2;
    if (c > max)
        c = max;
    /* pp may be a char ** or a struct x ** : copy the pointer, never read
     * it through a void ** lvalue. */
    void *p;
    memcpy(&p, pp, sizeof p);
    p = tulip__realloc(p, c * elem);
    if (!p)
        return -ENOMEM;
    memcpy(pp, &p, sizeof p);
    *cap = c;
    return 0;
}
