/* The crawler's state, shared by crawler.c (one loop's crawl) and
 * crawler_loops.c (the crawl spread over several loops: routing of URLs
 * to their owning loop, the per-host rules across loops, termination). */
#ifndef TULIP_CRAWL_CRAWLER_INTERNAL_H
#define TULIP_CRAWL_CRAWLER_INTERNAL_H

#include "buf.h"
#include "crawler.h"
#include "frontier.h"
#include "robots.h"
#include "scope.h"

#include <tulip.h>

/* robots.txt state of one host on one loop (crawl_host.data). */
typedef struct origin {
    crawl_robots *robots;
    bool fetching;
    tulip_event ready;
    /* several loops only (crawler_loops.c); home = -1 on one loop */
    int home;        /* the loop that fetches robots.txt, and polite URLs */
    bool spread;     /* URLs are fetched by their owning loops, the
                        host's connections shared out among them */
    bool at_home;    /* every URL of the host goes to home (a politeness
                        interval: one request at a time, from one loop) */
    bool requested;  /* robots.txt asked of home */
    bool borrowed;   /* robots belongs to home's origin (read-only) */
} origin;

typedef struct crawl_loops crawl_loops;

typedef struct crawl {
    const crawl_opts *o;
    crawl_stats *st;
    crawl_scope *scope;
    crawl_frontier *f;
    crawl_host *last;      /* the host of the last URL offered: most links stay */
    tulip_http_client *http, *robots_http;
    tulip_lock mu;         /* only for the cond: one thread, no races */
    tulip_cond cv;         /* workers wait here for a ready host */
    unsigned waiting;      /* workers waiting */
    unsigned active;       /* workers holding a URL */
    bool closed;           /* nothing left, or a fatal error: workers end */
    int64_t t0;
    int fatal;
    unsigned live;         /* workers not yet returned */
    tulip_event ended;     /* set when the last one returns */
    unsigned concurrency;  /* worker tasks on this loop */
    tulip_group *g;
    /* several loops: NULL on one loop */
    crawl_loops *lp;
    unsigned self;         /* this loop's index */
    crawl_buf *out;        /* batches to each loop, sent by crawl_loops_flush */
    long delta;            /* change of this loop's work not yet published */
    size_t late_refused;   /* admitted by the scope, refused by --max-pages */
} crawl;

/* crawler.c, for crawler_loops.c */
void crawl_offer_ex(crawl *c, const char *url, int depth, unsigned hops, const char *parent, bool sitemap);
int crawl_push(crawl *c, crawl_host *h, crawl_item *it, bool front);
crawl_host *crawl_host_of(crawl *c, const char *url);
int crawl_ensure_robots(crawl *c, crawl_host *h);
void crawl_close(crawl *c);
void crawl_wake_all(crawl *c);
void crawl_bad_link(crawl *c, const char *key, int depth, const char *parent, int err, bool journal);
/* Offer the start URL and opts.sitemap; returns c->fatal. */
int crawl_offer_start(crawl *c, const char *start);
int crawl_setup(crawl *c, const crawl_opts *o, crawl_stats *st, const char *start, unsigned concurrency);
/* Spawn the workers (and ticker) and wait for them; rc: error so far. */
int crawl_work(crawl *c, int rc);
/* Free what crawl_setup made that belongs to the loop (HTTP clients). */
void crawl_release_loop(crawl *c);
/* Free the rest; fills st->hosts etc. unless lp. */
void crawl_release(crawl *c);

/* crawler_loops.c */
int crawl_run_loops(const crawl_opts *o, crawl_stats *st, const char *start);
/* A URL this loop does not own goes to its owner: true when sent. */
bool crawl_loops_route(crawl *c, const char *url, int depth, unsigned hops, const char *parent, bool sitemap);
/* A bad link this loop does not own goes to its owner: true when sent. */
bool crawl_loops_route_bad(crawl *c, const char *key, int depth, const char *parent, int err, bool journal);
/* --max-pages across loops: false when the limit is reached. */
bool crawl_loops_admit(crawl *c);
/* An admitted URL: queue it here or at its host's home. Errors: -ENOMEM. */
int crawl_loops_place(crawl *c, crawl_host *h, crawl_item *it);
/* A host met for the first time on this loop. Errors: -ENOMEM. */
int crawl_loops_host_init(crawl *c, crawl_host *h);
/* robots.txt of h on a loop that is not its home: ask, wait. */
int crawl_loops_robots_wait(crawl *c, crawl_host *h);
/* Home learnt h's robots.txt: tell the other loops. */
void crawl_loops_robots_known(crawl *c, crawl_host *h);
/* A backoff of h holds on every loop. */
void crawl_loops_backoff(crawl *c, crawl_host *h, int64_t until);
/* Send the batches; publish this loop's work change, less release. */
void crawl_loops_flush(crawl *c, long release);
void crawl_loops_fail(crawl *c, int err);
void crawl_loops_tick(crawl *c);
/* The reader of this loop's inbox (a task of the crawl's group). */
int crawl_loops_reader(void *arg);

#endif
