#define _GNU_SOURCE
#include "scope.h"
#include "seen.h"
#include "url.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct crawl_scope {
    crawl_scope_opts o;
    char *start;
    char *start_host;  /* host of start, from the full parser, once */
    crawl_seen seen;   /* fingerprints, not strings (seen.h) */
    size_t admitted;
};

/* Parsing both URLs with uriparser for every link cost ~12,000
 * instructions a call, 8% of a crawl: the queued URLs are canonical, so
 * their host is read off the string. */
static int same_host(const crawl_scope *s, const char *url)
{
    const char *h;
    size_t n;
    if (s->start_host && crawl_url_canonical_host(url, &h, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (h[i] >= 'A' && h[i] <= 'Z')
                return crawl_url_same_host(s->start, url); /* not canonical */
        return strlen(s->start_host) == n && memcmp(s->start_host, h, n) == 0;
    }
    return crawl_url_same_host(s->start, url);
}

crawl_scope *crawl_scope_new(const crawl_scope_opts *o)
{
    char *start;
    if (!o || !o->start) {
        errno = EINVAL;
        return NULL;
    }
    int rc = crawl_url_normalize(o->start, &start);
    if (rc) {
        errno = rc == -ENOMEM ? ENOMEM : EINVAL;
        return NULL;
    }
    crawl_scope *s = calloc(1, sizeof *s);
    if (!s) {
        free(start);
        errno = ENOMEM;
        return NULL;
    }
    s->o = *o;
    s->start = start;
    s->o.start = start;
    crawl_url_parts parts;
    if (crawl_url_split(start, &parts) == 0) {
        s->start_host = parts.host; /* kept; the rest goes */
        parts.host = NULL;
        crawl_url_parts_free(&parts);
    }
    return s;
}

void crawl_scope_free(crawl_scope *s)
{
    if (!s)
        return;
    crawl_seen_free(&s->seen);
    free(s->start);
    free(s->start_host);
    free(s);
}

size_t crawl_scope_admitted(const crawl_scope *s) { return s->admitted; }

int crawl_scope_admit(crawl_scope *s, const char *url, int depth)
{
    if (!url)
        return -EINVAL;
    if (crawl_seen_depth(&s->seen, url) >= 0) {
        crawl_seen_add(&s->seen, url, depth); /* keeps the smaller depth */
        return CRAWL_SEEN;
    }
    if (s->o.max_depth >= 0 && depth > s->o.max_depth)
        return CRAWL_TOO_DEEP;
    if (!s->o.any_host && same_host(s, url) != 1) {
        int rc = crawl_seen_add(&s->seen, url, depth);
        return rc < 0 ? rc : CRAWL_OFFSITE;
    }
    if (depth > 0 && s->o.patterns && crawl_patterns_accept(s->o.patterns, url) != 1)
        return CRAWL_FILTERED;
    if (s->o.max_pages && s->admitted >= s->o.max_pages)
        return CRAWL_OVER_LIMIT;
    int rc = crawl_seen_add(&s->seen, url, depth);
    if (rc < 0)
        return rc;
    s->admitted++;
    return CRAWL_ADMIT;
}

int crawl_scope_first(crawl_scope *s, const char *key)
{
    if (!key)
        return -EINVAL;
    return crawl_seen_add(&s->seen, key, INT32_MAX);
}

int crawl_scope_depth(const crawl_scope *s, const char *url) { return crawl_seen_depth(&s->seen, url); }

size_t crawl_scope_bytes(const crawl_scope *s) { return crawl_seen_bytes(&s->seen); }
