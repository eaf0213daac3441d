#define _GNU_SOURCE
#include "scope.h"
#include "url.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct crawl_scope {
    crawl_scope_opts o;
    char *start;
    char *start_host;  /* host of start, from the full parser, once */
    char **slot;   /* open addressing; owns the strings */
    size_t cap;    /* power of two */
    size_t used;
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

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
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
    if (s)
        s->slot = calloc(1024, sizeof *s->slot);
    if (!s || !s->slot) {
        free(s);
        free(start);
        errno = ENOMEM;
        return NULL;
    }
    s->o = *o;
    s->start = start;
    s->o.start = start;
    s->cap = 1024;
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
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    free(s->start);
    free(s->start_host);
    free(s);
}

size_t crawl_scope_admitted(const crawl_scope *s) { return s->admitted; }

static int grow(crawl_scope *s)
{
    size_t cap = s->cap * 2;
    char **slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slot[i])
            continue;
        size_t k = (size_t)hash_str(s->slot[i]) & (cap - 1);
        while (slot[k])
            k = (k + 1) & (cap - 1);
        slot[k] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return 0;
}

/* Returns the slot holding url, or the empty slot where it belongs. */
static size_t find(const crawl_scope *s, const char *url)
{
    size_t k = (size_t)hash_str(url) & (s->cap - 1);
    while (s->slot[k] && strcmp(s->slot[k], url) != 0)
        k = (k + 1) & (s->cap - 1);
    return k;
}

static int remember(crawl_scope *s, const char *url)
{
    if ((s->used + 1) * 2 > s->cap) {
        int rc = grow(s);
        if (rc)
            return rc;
    }
    char *copy = strdup(url);
    if (!copy)
        return -ENOMEM;
    s->slot[find(s, url)] = copy;
    s->used++;
    return 0;
}

int crawl_scope_admit(crawl_scope *s, const char *url, int depth)
{
    if (!url)
        return -EINVAL;
    if (s->slot[find(s, url)])
        return CRAWL_SEEN;
    if (s->o.max_depth >= 0 && depth > s->o.max_depth)
        return CRAWL_TOO_DEEP;
    if (!s->o.any_host && same_host(s, url) != 1) {
        int rc = remember(s, url);
        return rc ? rc : CRAWL_OFFSITE;
    }
    if (depth > 0 && s->o.patterns && crawl_patterns_accept(s->o.patterns, url) != 1)
        return CRAWL_FILTERED;
    if (s->o.max_pages && s->admitted >= s->o.max_pages)
        return CRAWL_OVER_LIMIT;
    int rc = remember(s, url);
    if (rc)
        return rc;
    s->admitted++;
    return CRAWL_ADMIT;
}

int crawl_scope_first(crawl_scope *s, const char *key)
{
    if (!key)
        return -EINVAL;
    if (s->slot[find(s, key)])
        return 0;
    int rc = remember(s, key);
    return rc ? rc : 1;
}
