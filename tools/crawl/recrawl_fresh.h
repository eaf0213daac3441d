/* --recrawl: which answers of the crawl before need not be asked for
 * again, by the rules an HTTP cache follows (RFC 9111 4.2).
 *
 * A page (200) is always asked for again, conditionally (recrawl.h):
 * finding what changed is what a recrawl is for, and a 304 costs a head.
 * A redirect or an error page mostly has no validator, so asking again
 * means fetching it whole. Those a cache may reuse are reused while they
 * are fresh, and no longer than the recrawl's window:
 *
 *   - explicit freshness: Cache-Control max-age, else Expires - Date
 *     (an invalid Expires, such as "0", is already stale), for any final
 *     status but 200, 206, 304 and the transient ones a crawl retries
 *     (408, 429, 5xx but 501);
 *   - heuristic freshness (RFC 9111 4.2.2) for the statuses RFC 9110
 *     15.1 calls heuristically cacheable (203, 204, 300, 301, 308, 404,
 *     405, 410, 414, 501): 10% of the time since Last-Modified when it
 *     is known, else the window;
 *   - never with Cache-Control no-store or no-cache; 302, 303, 307 and
 *     the others without explicit freshness are always fetched again.
 *
 * The age counts from the first fetch (less the response's Age), not
 * from the last reuse: a reused answer is carried over with the time it
 * was fetched, so it is fetched again once the window has passed. */
#ifndef TULIP_CRAWL_RECRAWL_FRESH_H
#define TULIP_CRAWL_RECRAWL_FRESH_H

#include <stdbool.h>
#include <stdint.h>

#include <tulip.h>

/* The default window, in seconds (--recrawl-fresh). */
#define CRAWL_FRESH_WINDOW 86400

typedef struct crawl_fresh {
    int64_t fetched; /* when the response was made: seconds since the epoch */
    int64_t max_age; /* explicit freshness lifetime in seconds; -1: none (heuristic) */
    int64_t lm_age;  /* Date - Last-Modified in seconds; -1: unknown */
} crawl_fresh;

/* Whether r, received at now (seconds since the epoch), is an answer a
 * later recrawl may reuse while fresh; if so *f gets its freshness. */
bool crawl_fresh_of(const tulip_http_reply *r, int64_t now, crawl_fresh *f);

/* Whether an answer with status and freshness f may be reused at now,
 * at most window seconds after it was fetched. */
bool crawl_fresh_now(int status, const crawl_fresh *f, int64_t now, int64_t window);

#endif
