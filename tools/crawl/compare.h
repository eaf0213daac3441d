/* --compare: the same demo site crawled six ways, to show with numbers why
 * non-blocking asynchronous code wins for I/O-bound work:
 *   sequential  blocking sockets, one page at a time (raw.h);
 *   processes   a pool of worker processes fed URLs by the parent, each a
 *               blocking fetch at a time (as multiprocessing.Pool);
 *   threads     a bounded pool of pthreads, each a blocking fetch at a time;
 *   callbacks   one thread, the raw loop (tulip_watch_fd), non-blocking
 *               sockets and a hand-written state machine per connection;
 *   tasks       the real crawler (crawler.h): coroutine tasks on one thread;
 *   tasks on N cores  the same crawler on N loops, one thread each
 *               (tulip-crawl --workers N): parallelism added to concurrency.
 * Every mode applies the same scope and robots rules, so all fetch the
 * same URL set (checked against the site model).  The demo server runs on
 * a thread of its own (demo.h) so blocking modes cannot stall it.
 *
 * One file per mode (compare_sequential.c, compare_processes.c,
 * compare_threads.c, compare_callbacks.c, compare_tasks.c, compare_tasks_cores.c),
 * what the baselines share in
 * compare_base.c, the sampler in compare_sample.c, the table and charts in
 * compare_report.c; this header's crawl_compare_mode is compare.c. */
#ifndef TULIP_CRAWL_COMPARE_H
#define TULIP_CRAWL_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "demo.h"

enum crawl_mode {
    CRAWL_SEQUENTIAL,
    CRAWL_PROCESSES,
    CRAWL_THREADS,
    CRAWL_CALLBACKS,
    CRAWL_TASKS,
    CRAWL_TASKS_CORES,
    CRAWL_NMODES
};

typedef struct crawl_mode_result {
    char name[32];         /* "tasks", "tasks on 2 cores" ... */
    size_t fetched;        /* URLs requested */
    size_t errors;         /* fetches without a response */
    long mismatches;       /* differences from the site model (0: exact) */
    double seconds;
    double pages_per_s;
    int peak_threads;      /* process threads, peak, minus the demo server's and the sampler's */
    int processes;         /* 1, or 1 + the worker processes */
    unsigned loops;        /* loops (threads running tasks): 1 but for tasks on N cores */
    long peak_rss_kb;      /* process peak RSS while the mode ran (kB), plus the
                              workers' private memory */
    double cpu_s;          /* CPU time of the mode, its worker processes included */
    double cpu_per_page_us;
    double cores;          /* cpu_s / seconds: the cores the mode kept busy */
} crawl_mode_result;

/* Crawl the demo site at origin (served elsewhere) with one mode and
 * concurrency conc (ignored by sequential); loops is tasks on N cores'
 * N (0: one per core of the affinity mask, at most conc; ignored by the
 * other modes).
 * Errors: -ENOMEM, -EINVAL, and setup failures (-EAGAIN no thread, loop
 * creation errors, -EBUSY another run on several loops in the process). */
int crawl_compare_mode(enum crawl_mode m, const crawl_site *site, const char *origin, unsigned conc,
                       const char *user_agent, unsigned loops, crawl_mode_result *out);

/* Print the table and a bar chart of pages/s. */
void crawl_compare_print(FILE *f, const crawl_mode_result *r, size_t n, int color);

/* Write an SVG bar chart (pages/s, with threads and RSS as labels).
 * Errors: -errno of fopen/fclose. */
int crawl_compare_svg(const char *path, const crawl_mode_result *r, size_t n, const char *title);

#endif
