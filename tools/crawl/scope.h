/* The crawl's memory of URLs and its scope rules, shared by the crawler and
 * the --compare baselines so that every mode crawls exactly the same set.
 *
 * A URL (canonical, see url.h) is admitted for fetching once: the first
 * time it is offered and passes the rules.  Offsite URLs are remembered
 * too (they are reported once, never fetched).  URLs refused for depth, a
 * pattern or the page limit are not remembered, so a shorter path to the
 * same URL found later can still admit it.  URLs are remembered as 128-bit
 * fingerprints (seen.h) with the smallest depth each was offered at.  The start URL (depth 0) skips
 * the pattern check: a filter that refused it would crawl nothing. */
#ifndef TULIP_CRAWL_SCOPE_H
#define TULIP_CRAWL_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "pattern.h"

typedef struct crawl_scope_opts {
    const char *start;              /* canonical start URL (required) */
    bool any_host;                  /* false: only the start URL's host */
    int max_depth;                  /* < 0: unlimited */
    size_t max_pages;               /* URLs admitted at most; 0: unlimited */
    const crawl_patterns *patterns; /* borrowed; NULL accepts all */
} crawl_scope_opts;

enum crawl_verdict {
    CRAWL_ADMIT = 0,  /* new: fetch it */
    CRAWL_SEEN,       /* offered before */
    CRAWL_OFFSITE,    /* another host: report once, do not fetch */
    CRAWL_FILTERED,   /* --include/--exclude refused it */
    CRAWL_TOO_DEEP,   /* beyond max_depth */
    CRAWL_OVER_LIMIT, /* max_pages already admitted */
};

typedef struct crawl_scope crawl_scope;

/* NULL with errno: EINVAL (start NULL or not an absolute http(s) URL),
 * ENOMEM. */
crawl_scope *crawl_scope_new(const crawl_scope_opts *o);

/* Offer url found at depth.  Returns an enum crawl_verdict (>= 0).
 * Errors: -ENOMEM, -EINVAL (url NULL). */
int crawl_scope_admit(crawl_scope *s, const char *url, int depth);

/* Remember any string (e.g. an href that is no URL we fetch) so that it is
 * reported once: 1 the first time, 0 after.  Errors: -ENOMEM, -EINVAL. */
int crawl_scope_first(crawl_scope *s, const char *key);

/* The smallest depth url was offered at, or -1 if it never was. */
int crawl_scope_depth(const crawl_scope *s, const char *url);

/* Memory of the seen set in bytes (see seen.h for its size per URL). */
size_t crawl_scope_bytes(const crawl_scope *s);

/* URLs admitted so far. */
size_t crawl_scope_admitted(const crawl_scope *s);

void crawl_scope_free(crawl_scope *s);

#endif
