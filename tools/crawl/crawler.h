/* The crawler: a queue of URLs (tulip_queue) drained by N worker tasks over
 * one keep-alive HTTP client, with dedup and scope rules (scope.h),
 * robots.txt per origin, link extraction (links.h) and one result row per
 * URL (jsonl.h).  Call crawl_run from a task.
 *
 * Model (the same as site.h's, so a crawl can be checked against it):
 *   - a URL found on a page at depth d, or in the Location of a redirect
 *     fetched at depth d, has depth d + 1; redirects are not followed
 *     inside the client but fetched as URLs of their own, so every hop is
 *     a row, dedup ends redirect loops, and --max-redirects bounds a chain
 *     (a target past the bound becomes an error row "too-many-redirects");
 *   - only 200 responses with an HTML content type are parsed for links,
 *     at most CRAWL_MAX_PARSE bytes and CRAWL_MAX_TAGS start tags of them
 *     (gumbo is quadratic in nesting depth; see crawl_links_cut); pages
 *     with more than CRAWL_INLINE_TAGS start tags or CRAWL_INLINE_BYTES
 *     bytes are parsed on the thread pool (tulip_run_blocking) so a hostile
 *     page cannot stall the loop (gumbo is also quadratic in the
 *     attributes of one tag);
 *   - robots.txt (RFC 9309) is fetched once per origin before its first
 *     URL; 2xx: obeyed, 4xx: everything allowed, 5xx or no usable answer:
 *     everything refused, and that robots.txt fetch is a row of its own
 *     (the status or error that explains the refusals); its Crawl-delay
 *     sets the host's interval (frontier.h), capped at max_crawl_delay and
 *     noted "crawl-delay-capped" in the host's rows;
 *   - URLs wait in one queue per host (frontier.h); a worker takes only a
 *     URL whose host may be asked now, so a slow host never holds up a
 *     fast one; a failed attempt that may be retried (retry.h) goes back
 *     to the front of its host's queue and the host waits;
 *   - sitemaps (sitemap.h) named by robots.txt Sitemap: lines (depth 1)
 *     or by opts.sitemap (depth 0) are fetched as URLs of their own; the
 *     URLs they list have their depth + 1; a sitemap that cannot be read
 *     is its one row with the error ("sitemap-xml", "sitemap-too-large");
 *   - rows: one per fetched URL (status or error), and one per URL that
 *     was found but not fetched because it is offsite ("offsite") or
 *     refused by robots.txt ("robots"); such rows have no status.
 * A URL rediscovered by a shorter path while it waits takes the smaller
 * depth.  With concurrency > 1 pages finish in any order, so a URL already
 * taken may keep a longer depth; with concurrency 1 and --order bfs the
 * crawl of one host is exactly breadth-first. */
#ifndef TULIP_CRAWL_CRAWLER_H
#define TULIP_CRAWL_CRAWLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontier.h"
#include "jsonl.h"
#include "pattern.h"

#define CRAWL_MAX_PARSE ((size_t)4 << 20)
#define CRAWL_MAX_TAGS 20000u
#define CRAWL_INLINE_TAGS 2000u
#define CRAWL_INLINE_BYTES ((size_t)256 << 10)
#define CRAWL_MAX_KINDS 24

typedef struct crawl_stats {
    uint64_t fetched;          /* URLs requested (a response or an error) */
    uint64_t reused;           /* --recrawl: answers of the crawl before reused
                                  while fresh, without a request (not in fetched) */
    uint64_t status[6];        /* responses by class: [2] = 2xx ... [5] = 5xx */
    uint64_t errors;           /* fetches that got no usable response, and
                                  redirect targets past --max-redirects */
    uint64_t bad_links;        /* hrefs not followed: other schemes, junk */
    uint64_t offsite, robots;  /* found, not fetched */
    uint64_t filtered, too_deep, over_limit; /* refused by the scope rules */
    uint64_t bytes;            /* body bytes received */
    uint64_t links;            /* links extracted */
    uint64_t retries;          /* attempts that were tried again */
    size_t hosts;              /* hosts in the frontier */
    size_t capped_hosts;       /* hosts whose Crawl-delay was capped */
    size_t seen;               /* URLs admitted */
    size_t seen_bytes;         /* memory of the seen set */
    size_t in_flight, queued;  /* now */
    int64_t elapsed_ns;        /* since crawl_run started */
    size_t nkinds;             /* `errors` by kind, in order of first sight */
    struct { const char *kind; uint64_t n; } kinds[CRAWL_MAX_KINDS];
} crawl_stats;

/* A frontier shared with other processes (redis_frontier.h): the queue,
 * the seen set, the politeness clocks and the leases of URLs in flight
 * live there; the local frontier keeps only each host's robots.txt,
 * response times and interval, which it hands over at complete. */
typedef struct crawl_remote {
    void *self;
    /* Queue an admitted URL of host (the remote queues it once in all,
     * whoever finds it).  Does not park.  Errors: -ENOMEM. */
    int (*discover)(void *self, const char *host, const crawl_item *it);
    /* 1: a URL whose host may be asked now, leased to us (*it filled, the
     * caller owns its strings); 0: none for now, ask again at *wake
     * (tulip_now clock) or when something changed; -ESHUTDOWN: no URL is
     * queued or leased anywhere, the crawl is over.  May park. */
    int (*claim)(void *self, crawl_item *it, int64_t *wake);
    /* The claimed URL is finished (its links were discovered before), or
     * with give_back goes back to the front of its host's queue; the
     * host's next request waits wait_ns from now, and interval_ns is its
     * politeness interval (> 0: one request at a time).  May park. */
    int (*complete)(void *self, const char *host, const crawl_item *it, bool give_back, int64_t wait_ns,
                    int64_t interval_ns);
} crawl_remote;

typedef struct crawl_opts {
    const char *url;               /* start URL (required) */
    const char *sitemap;           /* a sitemap to read too (depth 0); may be NULL */
    unsigned concurrency;          /* worker tasks; default 32 */
    /* Loops to spread the crawl over: loops 0 .. loops-1 of the current run
     * (tulip_config.workers), the worker tasks shared out among them; 0 or
     * 1: the calling loop only.  Each URL is owned by one loop (a hash of
     * the canonical URL), which admits it once; a host's robots.txt,
     * connection cap and politeness hold across loops (crawler_loops.c).
     * Rows and on_tick come from every loop's thread (on_row from the loop
     * that made the row, tulip_loop_index(); on_tick from loop 0 with the
     * sum of all loops).  Not with state (-EINVAL). */
    unsigned loops;
    unsigned per_host;             /* connections per host; 0 = concurrency */
    size_t max_pages;              /* 0 = unlimited */
    int max_depth;                 /* < 0 = unlimited (default) */
    unsigned max_redirects;        /* chain length; default 10 */
    int64_t timeout_ns;            /* per request; default 30 s */
    size_t max_body;               /* default 10 MiB */
    const crawl_patterns *patterns;/* borrowed; may be NULL */
    bool ignore_robots;
    bool any_host;                 /* follow links to other hosts too */
    bool dfs;                      /* --order dfs (default bfs) */
    /* politeness (frontier.h): between request starts to one host */
    int64_t delay_ns;              /* --delay; default 250 ms */
    unsigned delay_jitter;         /* percent, 0..100 */
    bool adaptive;                 /* follow the host's response time */
    int64_t max_delay_ns;          /* cap of the adaptive part; default 10 s */
    int64_t max_crawl_delay_ns;    /* cap of robots Crawl-delay; default 30 s */
    /* retries (retry.h) */
    unsigned retries;              /* requests per URL at most retries + 1 */
    int64_t backoff_ns;            /* first wait without Retry-After; default 1 s */
    const char *user_agent;        /* default "tulip-crawl/0.1" */
    /* Page-wise commits of the outputs, WARC, journal and resume
     * (state.h); borrowed, may be NULL. */
    struct crawl_state *state;
    /* The shared frontier (--redis); borrowed, NULL: the local one. */
    const crawl_remote *remote;
    /* Called for every row, on the loop thread. */
    void (*on_row)(void *arg, const crawl_row *row);
    void *row_arg;
    /* Called every tick_ns (default 250 ms) with live stats, if set. */
    void (*on_tick)(void *arg, const crawl_stats *st);
    void *tick_arg;
    int64_t tick_ns;
} crawl_opts;

void crawl_opts_init(crawl_opts *o);

/* The short error kind a row carries for a negative errno from the HTTP
 * client ("timeout", "connection-reset", "malformed-response", ...). */
const char *crawl_error_kind(int err);

/* Crawl from o->url until the queue is empty, filling *st (also when it
 * fails part-way: what was done is counted).  Must run in a task.
 * Errors: -EINVAL (bad options or start URL, loops more than the run
 * has, fewer tasks than loops, loops with state), -ENOMEM, -ECANCELED /
 * -ETIMEDOUT (the calling task or a scope around it: workers are cancelled
 * and joined first). */
int crawl_run(const crawl_opts *o, crawl_stats *st);

#endif
