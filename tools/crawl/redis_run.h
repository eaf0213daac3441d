/* --redis, --crawl-id, --redis-timeout and --status as main.c uses them:
 * the client and the shared frontier around one crawl_run. */
#ifndef TULIP_CRAWL_REDIS_RUN_H
#define TULIP_CRAWL_REDIS_RUN_H

#include <stdio.h>

#include "buf.h"
#include "crawler.h"
#include "redis_frontier.h"

typedef struct crawl_shared {
    const char *url;        /* --redis redis://HOST:PORT/DB */
    const char *id;         /* --crawl-id */
    int64_t timeout_ns;     /* --redis-timeout (default 30 s) */
    crawl_redis *r;
    crawl_rfrontier *f;
    FILE *rows;             /* flushed before URLs are completed */
} crawl_shared;

/* In a task, before crawl_run: connect, join or start the crawl, and set
 * co->remote.  Prints a clear error and returns < 0 on failure. */
int crawl_shared_start(crawl_shared *s, crawl_opts *co);

/* After crawl_run (rc its result): the summary's lines for the shared
 * frontier, and the message when Redis stayed away too long. */
void crawl_shared_summary(crawl_shared *s, int rc, FILE *out);

/* crawl_metrics_extra: the shared frontier's counters, this process's
 * and Redis's (one round trip). */
int crawl_shared_metrics(void *arg, crawl_buf *out);

/* Stop and free (in the task). */
void crawl_shared_stop(crawl_shared *s);

/* --status: runs its own runtime; the process's exit status. */
int crawl_shared_status(crawl_shared *s);

#endif
