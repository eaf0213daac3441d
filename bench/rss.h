/* Resident memory of this process, for the idle-memory benchmarks. */
#ifndef TULIP_BENCH_RSS_H
#define TULIP_BENCH_RSS_H

#include <stdio.h>
#include <unistd.h>

/* VmRSS in bytes (0 if /proc cannot be read). */
static inline long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

#endif
