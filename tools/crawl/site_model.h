/* The demo site's model as its two halves share it (internal to them):
 * site.c holds the model, the graph of resources, hosts and switches and
 * the crawl it predicts; site_render.c turns a request into bytes (the
 * routing, the pages, robots.txt and the sitemaps).  site.h says what the
 * site contains. */
#ifndef TULIP_CRAWL_SITE_MODEL_H
#define TULIP_CRAWL_SITE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "site.h"

struct crawl_site {
    crawl_site_config cfg;
};

/* Resource ids: eight blocks of N (one slot per page index j), then fixed
 * singletons.  Integer ids let the breadth-first walk use flat arrays
 * instead of hashing strings, so a 10-million-page model stays cheap. */
enum block { B_PAGE, B_R301, B_R302, B_CHAIN, B_MISSING, B_TXT, B_PNG, B_OFF, NBLOCKS };
enum fixed { F_LOOP_A, F_LOOP_B, F_CSS, F_SECRET, F_PUBLIC, F_DEEPER, F_ONLYVIA, NFIXED };

#define NSECTIONS 8u
#define LINKS_CAP (CRAWL_SITE_MAX_LINKS + CRAWL_SITE_MAX_ORPHANS + 16)
#define OFFSITE "http://offsite.invalid"

/* After the fixed ids: orphans, then three sitemap documents per host. */
static inline size_t orphan0(const crawl_site *s) { return (size_t)NBLOCKS * s->cfg.pages + NFIXED; }
static inline size_t sitemap0(const crawl_site *s) { return orphan0(s) + s->cfg.orphans; }
static inline size_t nsitemaps(const crawl_site *s) { return s->cfg.orphans ? 3u * s->cfg.hosts : 0; }
static inline size_t nids(const crawl_site *s) { return sitemap0(s) + nsitemaps(s); }
static inline bool is_orphan(const crawl_site *s, size_t id) { return id >= orphan0(s) && id < sitemap0(s); }
static inline bool is_sitemap(const crawl_site *s, size_t id) { return id >= sitemap0(s) && id < nids(s); }

static inline size_t id_of(const crawl_site *s, enum block b, unsigned j) { return (size_t)b * s->cfg.pages + j; }
static inline size_t fixed_id(const crawl_site *s, enum fixed f) { return (size_t)NBLOCKS * s->cfg.pages + f; }

/* A link of an HTML resource (or a sitemap) and the form its href takes. */
enum form {
    FORM_ABSPATH, FORM_RELATIVE, FORM_ABSURL, FORM_PROTOREL, FORM_FRAGMENT, FORM_ENTITY,
    FORM_SPACES, FORM_UPPER, FORM_PCT, FORM_DOTS, NFORMS
};

typedef struct site_link {
    size_t id;
    enum form form;
    bool area;
} site_link;

/* The host (0-based) a resource lives on (inline: every link of every
 * page asks). */
static inline unsigned site_home(const crawl_site *s, size_t id)
{
    unsigned K = s->cfg.hosts;
    if (K <= 1)
        return 0;
    if (id < (size_t)NBLOCKS * s->cfg.pages)
        return (unsigned)(id % s->cfg.pages % K);
    if (is_orphan(s, id))
        return (unsigned)((id - orphan0(s)) % K);
    if (is_sitemap(s, id))
        return (unsigned)((id - sitemap0(s)) / 3);
    return 0;
}

static inline uint64_t site_mix(uint64_t x)
{
    /* splitmix64 finaliser: a good 64-bit avalanche, no state */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Random numbers as a pure function of (seed, page, slot, purpose): any
 * page can be produced alone, in any order, by any server thread. */
static inline uint64_t site_rnd(const crawl_site *s, uint64_t page, uint64_t slot, uint64_t purpose)
{
    return site_mix(s->cfg.seed ^ site_mix(page * 0x100000001b3ull ^ site_mix(slot * 31 + purpose)));
}

/* The canonical path of a resource (or the full URL of an offsite one). */
void site_id_path(const crawl_site *s, size_t id, char *buf, size_t n);

/* What a resource is. */
bool site_serves_html(const crawl_site *s, size_t id);

/* Links of HTML resource (or sitemap) id, in body order; returns the
 * count.  out must hold LINKS_CAP entries. */
size_t site_links(const crawl_site *s, size_t id, site_link *out);

/* Where a redirect points: its target id and status; false when id is
 * not a redirect. */
bool site_redirect_of(const crawl_site *s, size_t id, size_t *to, int *status);

typedef struct site_origins {
    char v[CRAWL_SITE_MAX_HOSTS][80];
    unsigned self; /* the host whose origin was given */
} site_origins;

/* Every host's origin, and which of them origin is.  Errors: -EINVAL. */
int site_make_origins(const crawl_site *s, const char *origin, site_origins *o);

/* 0 when origin is exactly what the canonicaliser would produce.
 * Errors: -EINVAL, -ENOMEM. */
int site_check_origin(const char *origin);

#endif
