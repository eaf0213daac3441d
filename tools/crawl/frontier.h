/* The crawl frontier: one queue per host and a heap of hosts keyed by the
 * time each may next be asked for something, so a worker only ever takes a
 * URL whose host is ready and a slow or rate-limited host never holds up a
 * fast one (Heritrix's and Nutch's per-host queues, not Scrapy's one
 * scheduler queue in front of per-slot delays).
 *
 * A host is keyed by the scheme://authority of its URLs.  Its politeness:
 *   - interval = max(--delay, robots Crawl-delay capped at
 *     --max-crawl-delay), and with --adaptive at least 2 x the host's
 *     smoothed response time, that part capped at --max-delay; --delay-jitter
 *     P stretches each interval by a random 0..P percent (never shortens it);
 *   - with an interval of 0 a host takes up to per_host requests at once;
 *     otherwise one at a time, and the interval runs from the end of one
 *     answer to the next start (as Nutch's fetcher.server.delay): the
 *     server sees two requests at least the interval apart even when the
 *     first spent time connecting;
 *   - crawl_frontier_backoff pushes the next start later (retries,
 *     Retry-After).
 * BFS takes a host's oldest URL first, DFS its newest.  The heap breaks
 * ties between ready hosts round-robin.  The frontier is a plain data
 * structure: no clock, no tasks (the crawler passes `now`). */
#ifndef TULIP_CRAWL_FRONTIER_H
#define TULIP_CRAWL_FRONTIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct crawl_item {
    char *url;         /* owned while queued */
    char *parent;      /* owned; may be NULL */
    int depth;
    unsigned hops;     /* redirects that led here */
    unsigned attempts; /* requests made for it so far */
    bool sitemap;      /* parse it as a sitemap, not as HTML */
} crawl_item;

typedef struct crawl_frontier_opts {
    bool dfs;
    int64_t delay_ns;           /* --delay */
    unsigned jitter_pct;        /* --delay-jitter, 0..100 */
    bool adaptive;              /* --adaptive */
    int64_t max_delay_ns;       /* --max-delay: caps the adaptive part */
    int64_t max_crawl_delay_ns; /* --max-crawl-delay */
    unsigned per_host;          /* requests at once to a host whose interval is 0 */
    uint64_t seed;              /* jitter */
} crawl_frontier_opts;

typedef struct crawl_host {
    char *key;                 /* scheme://authority */
    int64_t next_ok;           /* earliest start of the next request */
    int64_t crawl_delay_ns;    /* from robots.txt, capped; -1: none */
    bool crawl_delay_capped;   /* robots asked for more than the cap */
    int64_t rtt_ns;            /* smoothed response time; 0: none yet */
    unsigned in_flight;        /* taken and not done */
    unsigned failures;         /* consecutive failed attempts (backoff) */
    uint64_t requests;         /* starts */
    bool asked;                /* a request started since the last done */
    void *data;                /* the crawler's (robots.txt state) */
    unsigned conn_cap;         /* requests at once with interval 0; 0: the
                                  frontier's per_host (a host shared by
                                  several loops gets a share on each) */
    /* private */
    crawl_item *q;
    size_t head, n, cap;
    size_t heap_i;             /* SIZE_MAX: not in the heap */
    uint64_t seq;              /* round-robin tie-break */
} crawl_host;

typedef struct crawl_frontier crawl_frontier;

/* NULL with errno ENOMEM or EINVAL (per_host 0, jitter over 100). */
crawl_frontier *crawl_frontier_new(const crawl_frontier_opts *o);

/* The host with key[0..n), created on first use. NULL on -ENOMEM. */
crawl_host *crawl_frontier_host(crawl_frontier *f, const char *key, size_t n);

/* Queue it on h; the frontier owns its strings from here (also on error,
 * when they are freed).  front: take it before everything else on h (a
 * retry, a URL given back).  Errors: -ENOMEM. */
int crawl_frontier_push(crawl_frontier *f, crawl_host *h, crawl_item *it, bool front);

/* Take a URL whose host is ready at now: 1 with *out and *h filled (the
 * caller owns the strings, the host counts it in flight until
 * crawl_frontier_done), or 0 with *wake the time the next one becomes
 * ready (INT64_MAX when nothing is queued on a host that could take it). */
int crawl_frontier_pop(crawl_frontier *f, int64_t now, crawl_item *out, crawl_host **h, int64_t *wake);

/* Take h's next URL whatever the time (to hand it to another loop): 1
 * with *out filled (the caller owns the strings; nothing is counted in
 * flight), 0 when h has none queued. */
int crawl_frontier_take(crawl_frontier *f, crawl_host *h, crawl_item *out);

/* A request to h starts now (counted; the interval follows its end). */
void crawl_frontier_started(crawl_frontier *f, crawl_host *h, int64_t now);

/* The request started for h was not made after all (--recrawl answered it
 * from the crawl before): not counted, and no interval follows it. */
void crawl_frontier_unstarted(crawl_frontier *f, crawl_host *h);

/* A URL taken from h is finished at now; if a request was started for it,
 * the next may not start before now + interval.  rtt_ns >= 0 is its
 * response time (for --adaptive), < 0 when none was made or it failed. */
void crawl_frontier_done(crawl_frontier *f, crawl_host *h, int64_t now, int64_t rtt_ns);

/* No request to h before until. */
void crawl_frontier_backoff(crawl_frontier *f, crawl_host *h, int64_t until);

/* robots.txt's Crawl-delay for h in ms (< 0: none); capped at
 * max_crawl_delay (crawl_delay_capped says so). */
void crawl_frontier_set_crawl_delay(crawl_frontier *f, crawl_host *h, int64_t ms);

/* The current interval of h (without jitter). */
int64_t crawl_frontier_interval(const crawl_frontier *f, const crawl_host *h);

size_t crawl_frontier_queued(const crawl_frontier *f);
size_t crawl_frontier_hosts(const crawl_frontier *f);
/* Host i (0 .. hosts-1) in order of creation. */
crawl_host *crawl_frontier_host_at(const crawl_frontier *f, size_t i);

/* Frees queued items and hosts (not host->data: free it first). */
void crawl_frontier_free(crawl_frontier *f);

#endif
