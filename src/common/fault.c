#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "fault.h"

int tulip__faults_armed;

static struct {
    unsigned long calls;
    unsigned long nth;
    int every;
} faults[TULIP_FAULT_KINDS];

void tulip_fault_arm(tulip_fault_kind kind, unsigned long nth, int every)
{
    if ((unsigned)kind >= TULIP_FAULT_KINDS)
        return;
    faults[kind].calls = 0;
    faults[kind].nth = nth;
    faults[kind].every = every;
    tulip__faults_armed = 0;
    for (int k = 0; k < TULIP_FAULT_KINDS; k++)
        if (faults[k].nth)
            tulip__faults_armed = 1;
}

void tulip_fault_reset(void)
{
    memset(faults, 0, sizeof faults);
    tulip__faults_armed = 0;
}

unsigned long tulip_fault_calls(tulip_fault_kind kind)
{
    if ((unsigned)kind >= TULIP_FAULT_KINDS)
        return 0;
    return faults[kind].calls;
}

int tulip__fault_hit(tulip_fault_kind kind)
{
    unsigned long n = ++faults[kind].calls;
    if (!faults[kind].nth)
        return 0;
    if (n == faults[kind].nth || (faults[kind].every && n > faults[kind].nth)) {
        errno = (kind == TULIP_FAULT_MALLOC || kind == TULIP_FAULT_MMAP) ? ENOMEM : EMFILE;
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
