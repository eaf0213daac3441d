/* --compare's sampler: what a mode cost the process, measured from
 * /proc/self/status by a thread of its own while the mode runs. */
#ifndef TULIP_CRAWL_COMPARE_SAMPLE_H
#define TULIP_CRAWL_COMPARE_SAMPLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct crawl_cmp_sampler {
    pthread_t thread;
    atomic_bool stop;
    int before;   /* threads when it started (the caller's, the demo server's) */
    int threads;  /* peak */
    long rss_kb;  /* peak VmRSS seen */
} crawl_cmp_sampler;

/* Reset the process's VmHWM (so a previous mode's peak does not count)
 * and start sampling every 2 ms.  Errors: -EAGAIN (no thread). */
int crawl_cmp_sample_start(crawl_cmp_sampler *s);

/* Stop; *threads is the peak thread count minus the threads that were
 * there before, plus the caller's (at least 1), *rss_kb the process's
 * peak RSS (VmHWM, or the sampled VmRSS when larger). */
void crawl_cmp_sample_stop(crawl_cmp_sampler *s, int *threads, long *rss_kb);

#endif
