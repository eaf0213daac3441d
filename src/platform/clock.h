#ifndef TULIP_CLOCK_H
#define TULIP_CLOCK_H

#include <stdint.h>
#include <time.h>

/* The monotonic clock in nanoseconds; loops cache it per iteration. */
static inline int64_t tulip__clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
