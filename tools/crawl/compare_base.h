/* What the --compare baselines (sequential, threads, callbacks, processes)
 * share: a FIFO frontier under a mutex that applies the crawler's scope
 * and robots.txt rules, the parse of a page (links of an HTML page) and
 * the bookkeeping of a result.  The tasks mode is the real crawler and
 * needs none of it.  Each mode is one file (compare_<mode>.c) so a reader
 * can hold them side by side; compare.c measures and checks them. */
#ifndef TULIP_CRAWL_COMPARE_BASE_H
#define TULIP_CRAWL_COMPARE_BASE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "check.h"
#include "crawler.h"
#include "links.h"
#include "raw.h"
#include "robots.h"
#include "scope.h"

#define CRAWL_CMP_TIMEOUT_MS 30000
#define CRAWL_CMP_MAX_BODY ((size_t)10 << 20)

/* What a mode leaves behind: the rows the model is checked against, and
 * the counts of the table. */
typedef struct crawl_cmp_tally {
    crawl_found_set found;
    size_t fetched, errors; /* robots.txt not counted, as in the crawler */
    int fatal;              /* -ENOMEM and the like: the result is void */
} crawl_cmp_tally;

typedef struct crawl_cmp_item {
    char *url;
    int depth;
    unsigned hops; /* redirects in a row that led here */
} crawl_cmp_item;

typedef struct crawl_cmp_base {
    const char *ua;
    crawl_scope *scope;
    crawl_robots *robots;
    crawl_cmp_item *q;
    size_t head, tail, cap;
    size_t in_flight;   /* for the modes that need it (threads) */
    pthread_mutex_t mu; /* the threads mode's; the others run on one thread */
    pthread_cond_t cv;
    crawl_cmp_tally t;
} crawl_cmp_base;

/* Fetch origin's robots.txt with one blocking request, as the crawler
 * does before the first page (RFC 9309 2.3.1), and queue origin "/".
 * Returns t.fatal or a setup error (-ENOMEM). */
int crawl_cmp_base_init(crawl_cmp_base *b, const char *origin, const char *user_agent);
void crawl_cmp_base_fini(crawl_cmp_base *b);

/* Take the oldest queued URL (the caller owns it->url); false when the
 * queue is empty or the mode failed.  Callers of several threads hold mu. */
bool crawl_cmp_pop(crawl_cmp_base *b, crawl_cmp_item *it);

/* The CPU part of a result, outside any lock: the links of an HTML page
 * (rc is the fetch's result, r its response). */
void crawl_cmp_parse(const crawl_cmp_item *it, int rc, const crawl_raw *r, crawl_links *l);

/* The bookkeeping part (under mu when several threads): count, record the
 * row, queue the redirect target and the links in scope.  status is r's
 * status and location its Location (NULL: none) when rc == 0.  Frees
 * it->url and l. */
void crawl_cmp_commit(crawl_cmp_base *b, crawl_cmp_item *it, int rc, int status, const char *location,
                      crawl_links *l);

/* ---- the modes, one file each ---------------------------------------------- */

/* compare_sequential.c: blocking sockets, one page at a time. */
int crawl_cmp_sequential(crawl_cmp_base *b);

/* compare_threads.c: a bounded pool of n pthreads, one blocking fetch each
 * at a time. */
int crawl_cmp_threads(crawl_cmp_base *b, unsigned n);

/* compare_callbacks.c: one thread, the raw loop, n non-blocking
 * connections, each a hand-written state machine; the site is on
 * 127.0.0.1:port. */
int crawl_cmp_callbacks(crawl_cmp_base *b, unsigned n, int port);

/* compare_processes.c: a pool of n worker processes fed URLs by the
 * parent (as multiprocessing.Pool), each a blocking fetch at a time.
 * *extra_rss_kb: the workers' private memory at the end, which the
 * parent's peak RSS does not see. */
int crawl_cmp_processes(crawl_cmp_base *b, unsigned n, long *extra_rss_kb);

/* compare_tasks.c: the real crawler, conc tasks on one thread. */
int crawl_cmp_tasks(const char *origin, const char *user_agent, unsigned conc, crawl_cmp_tally *t);

/* The crawler's options of both tasks modes: start (size bytes) gets
 * origin's "/", the crawl has no politeness delay (loopback). */
void crawl_cmp_tasks_opts(crawl_opts *o, char *start, size_t size, const char *origin, const char *ua,
                          unsigned conc);

/* compare_tasks_cores.c: the real crawler, conc tasks shared out among
 * loops loops, one thread each (tulip-crawl --workers). */
int crawl_cmp_tasks_cores(const char *origin, const char *user_agent, unsigned conc, unsigned loops,
                          crawl_cmp_tally *t);
/* The loops that mode uses when asked for loops (0: one per core this
 * process may run on, as tulip-crawl --workers):
 * never more than the tasks. */
unsigned crawl_cmp_cores_loops(unsigned loops, unsigned conc);

#endif
