/* --compare's sampler: what a mode cost the process, measured from
 * /proc/self/status by a thread of its own while the mode runs, and the
 * CPU time the mode used (the process's and its reaped children's, less
 * the threads that were there before but the caller's, such as the demo
 * server's, and less the sampler's own). */
#ifndef TULIP_CRAWL_COMPARE_SAMPLE_H
#define TULIP_CRAWL_COMPARE_SAMPLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CRAWL_CMP_OTHERS 16 /* threads besides the caller followed at most */

typedef struct crawl_cmp_sampler {
    pthread_t thread;
    atomic_bool stop;
    int before;   /* threads when it started (the caller's, the demo server's) */
    int threads;  /* peak */
    long rss_kb;  /* peak VmRSS seen */
    int64_t cpu0_ns;   /* process + reaped children at the start */
    int64_t own_ns;    /* the sampler thread's CPU time */
    size_t nothers;
    struct { pid_t tid; int64_t ns; } others[CRAWL_CMP_OTHERS]; /* at the start */
} crawl_cmp_sampler;

/* Reset the process's VmHWM (so a previous mode's peak does not count)
 * and start sampling every 2 ms.  Errors: -EAGAIN (no thread). */
int crawl_cmp_sample_start(crawl_cmp_sampler *s);

/* Stop; *threads is the peak thread count minus the threads that were
 * there before, plus the caller's (at least 1), *rss_kb the process's
 * peak RSS (VmHWM, or the sampled VmRSS when larger), *cpu_ns the CPU
 * time of the mode (see above). */
void crawl_cmp_sample_stop(crawl_cmp_sampler *s, int *threads, long *rss_kb, int64_t *cpu_ns);

#endif
