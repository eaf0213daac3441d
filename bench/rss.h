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

/* Slab in /proc/meminfo (the kernel's objects: sockets, epoll items), in
 * bytes; 0 if it cannot be read. */
static inline long slab_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Slab: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

#endif
