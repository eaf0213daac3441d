/* --metrics ADDR: the crawl's counters in the Prometheus text exposition
 * format (version 0.0.4), served at /metrics by tulip's own HTTP server on
 * the crawl's loop.  The values are those of the last tick of the crawl
 * (crawl_opts.on_tick, every 250 ms) and, once crawl_run has returned, its
 * final crawl_stats: the same numbers as the summary lines.  A task
 * measures the loop's lag (how late a 100 ms sleep wakes). */
#ifndef TULIP_CRAWL_METRICS_H
#define TULIP_CRAWL_METRICS_H

#include "buf.h"
#include "crawler.h"

typedef struct crawl_metrics crawl_metrics;

/* Extra lines (e.g. the shared frontier's), appended to each answer; may
 * park (it runs in the connection's task).  Errors: -ENOMEM. */
typedef int (*crawl_metrics_extra)(void *arg, crawl_buf *out);

crawl_metrics *crawl_metrics_new(crawl_metrics_extra extra, void *arg);

/* Listen on addr ("127.0.0.1:9100"; port 0 picks one) and serve, from a
 * task.  Errors: those of tulip_listen, -ENOMEM. */
int crawl_metrics_start(crawl_metrics *m, const char *addr);
/* The bound port (after start). */
int crawl_metrics_port(const crawl_metrics *m);

/* Live stats (from on_tick), and the final ones. */
void crawl_metrics_update(crawl_metrics *m, const crawl_stats *st, bool final);

/* The exposition text, as served. Errors: -ENOMEM. */
int crawl_metrics_render(crawl_metrics *m, crawl_buf *out);

/* After the final update: go on serving until the final values were
 * scraped once, at most ns (a short-lived crawl's last values reach
 * Prometheus).  In a task; Ctrl-C ends it. */
void crawl_metrics_linger(crawl_metrics *m, int64_t ns);

/* Stop serving (in a task) and free. */
void crawl_metrics_free(crawl_metrics *m);

#endif
