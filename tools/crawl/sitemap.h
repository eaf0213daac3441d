/* Sitemaps (sitemaps.org 0.9): a <urlset> of <url><loc> or a
 * <sitemapindex> of <sitemap><loc>, as XML or gzipped XML (.xml.gz, told by
 * the gzip magic, not the name).
 *
 * Parsed by expat with no DTD at all: a document with a DOCTYPE, an entity
 * declaration or an entity reference other than the five predefined ones
 * is refused, so a "billion laughs" document is one error, not gigabytes.
 * The sitemaps.org limits hold: at most CRAWL_SITEMAP_MAX_URLS locations
 * (the rest are ignored and counted) and CRAWL_SITEMAP_MAX_BYTES of XML
 * after gunzip (a gzip bomb stops there, with an error). A <loc> longer
 * than CRAWL_SITEMAP_MAX_LOC is skipped. */
#ifndef TULIP_CRAWL_SITEMAP_H
#define TULIP_CRAWL_SITEMAP_H

#include <stdbool.h>
#include <stddef.h>

#define CRAWL_SITEMAP_MAX_URLS 50000u
#define CRAWL_SITEMAP_MAX_BYTES ((size_t)50 << 20)
#define CRAWL_SITEMAP_MAX_LOC 2048u

typedef struct crawl_sitemap {
    bool index;     /* a sitemap index: locs are sitemaps */
    char **locs;    /* as written (trimmed) */
    size_t n;
    size_t ignored; /* past CRAWL_SITEMAP_MAX_URLS, or too long */
} crawl_sitemap;

/* Parse body[0..len).  On error *out is empty.  Errors: -EBADMSG (not
 * well-formed XML, not a sitemap, a DTD or entity; or bad gzip), -EFBIG
 * (over CRAWL_SITEMAP_MAX_BYTES), -ENOMEM. */
int crawl_sitemap_parse(const char *body, size_t len, crawl_sitemap *out);

void crawl_sitemap_free(crawl_sitemap *s);

#endif
