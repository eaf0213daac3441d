/* The demo site: a deterministic generated web site, as pure functions.
 *
 * crawl_site_get() answers a request target the way the demo server must;
 * crawl_site_expected() lists every URL a correct crawler discovers from
 * "/", so a test can compare a real crawl against it.  Both derive from one
 * model, and the model is a function of the config only (same config, same
 * bytes, on any machine).
 *
 * What the site contains, for N pages and L links per page:
 *   /                           page 0
 *   /s<i%8>/page-<i>.html       page i (1 <= i < N), 200 text/html
 *   /redirect/301/<j>           301, absolute Location to page j
 *   /redirect/302/<j>           302, relative Location ("../../...") to page j
 *   /redirect/chain/<j>         302 to /redirect/301/<j>
 *   /redirect/loop/a, .../b     302 to each other
 *   /missing/<k>                404 (as is every unknown path)
 *   /files/<j>.txt, .png        200 text/plain, image/png (bytes that
 *                               contain "<a href=...>": must not be parsed)
 *   /static/site.css            200 text/css, linked from every page
 *   /private/...                disallowed by robots.txt, except
 *   /private/public.html        which an Allow line re-opens
 *   /robots.txt                 the rules above, text/plain
 *   http://offsite.invalid/p<j> links to another host (never fetched)
 *   /orphan/<o>.html            (orphans > 0) pages that no page links to
 *   /sitemap.xml                (orphans > 0) a sitemap index, named by a
 *                               Sitemap: line of robots.txt, of
 *   /sitemaps/1.xml, 2.xml.gz   urlsets (the second gzipped) of the orphans
 * The switches:
 *   - hosts K > 1: resources are spread over K hosts 127.0.0.1 .. 127.0.0.K
 *     on one port (page i and the j-resources on host i % K, or j % K; the
 *     fixed ones on the first; orphan o on o % K); a link to another host
 *     is an absolute URL; each host has its robots.txt (and sitemaps).
 *     The crawl covers every host of the site and offsite.invalid links
 *     become page links (a --any-host crawl would try to resolve them);
 *   - crawl_delay_ms: robots.txt says Crawl-delay (in seconds, decimal) on
 *     the first crawl_delay_hosts hosts (all when 0);
 *   - every_429: those pages answer 429 with Retry-After the first time
 *     (crawl_site_get_ex's attempt 0), then as usual; the model assumes a
 *     crawler that retries (their outcome is the usual one). 
 * Every page has L links: the first min(L, 2) build a tree that reaches
 * every page (page i links to pages 2i+1, 2i+2; with L = 1, to i+1; a link
 * past the last page goes to "/" instead), the rest
 * are seeded random picks among pages, redirects, 404s, files and offsite
 * links.  The root also links once to each kind of resource, so every kind
 * appears whatever N, L and the seed are.  Links are written in many forms
 * a crawler must understand: absolute path, relative ("../"), absolute URL,
 * protocol-relative, upper-case scheme, with a fragment, with character
 * references (&#47;), percent-encoded unreserved characters, dot segments,
 * surrounded by whitespace, in <area>; some pages set <base href>.  Every
 * page also carries decoys that a correct crawler ignores: links in a
 * comment, in <script>, in <style>, in <template>, mailto: and javascript:
 * links, <a> without href; decoys point under /trap/, which answers 404.
 *
 * The crawl model behind crawl_site_expected():
 *   - start at "/" with depth 0; a URL found in the response of a URL at
 *     depth d (an href, or a redirect's Location) has depth d + 1, the
 *     first time it is found (breadth-first);
 *   - same-host URLs that robots.txt allows are fetched, once each; the
 *     others are listed but not fetched (no links found through them);
 *   - only 200 text/html bodies are parsed for links (a redirect's body
 *     links to its Location, so parsing it would change nothing);
 *   - /robots.txt itself is not listed; each host's sitemap index has
 *     depth 1 (robots.txt counts as depth 0), its sitemaps 2, orphans 3;
 *     sitemap documents are fetched (status 200) but are not HTML. */
#ifndef TULIP_CRAWL_SITE_H
#define TULIP_CRAWL_SITE_H

#include <stddef.h>
#include <stdint.h>

#define CRAWL_SITE_MAX_PAGES 10000000u
#define CRAWL_SITE_MAX_LINKS 1000u
#define CRAWL_SITE_MAX_HOSTS 16u
#define CRAWL_SITE_MAX_ORPHANS 1000u

typedef struct crawl_site_config {
    unsigned pages;          /* 1 .. CRAWL_SITE_MAX_PAGES */
    unsigned links_per_page; /* 0 .. CRAWL_SITE_MAX_LINKS; >= 1 if pages > 1 */
    uint64_t seed;
    size_t page_bytes;       /* pad HTML pages to at least this size; 0: none */
    /* The switches (all off when zero): */
    unsigned hosts;          /* served on 127.0.0.1 .. 127.0.0.K (<= pages) */
    unsigned orphans;        /* pages linked only from the sitemaps */
    unsigned crawl_delay_ms; /* robots.txt Crawl-delay */
    unsigned crawl_delay_hosts; /* only the first N hosts say it; 0: all */
    unsigned every_429;      /* page i with i % every_429 == every_429 - 1
                                answers 429 the first time it is asked for */
    unsigned retry_after_s;  /* that 429's Retry-After (default 1) */
} crawl_site_config;

typedef struct crawl_site crawl_site;

typedef struct crawl_site_response {
    int status;               /* 200, 301, 302 or 404 */
    const char *content_type; /* static string, never NULL */
    char *location;           /* Location header value, or NULL */
    const char *encoding;     /* Content-Encoding value, or NULL */
    char retry_after[16];     /* Retry-After value, or "" */
    char *body;               /* body bytes (may contain NULs), never NULL */
    size_t body_len;
} crawl_site_response;

enum crawl_site_flags {
    CRAWL_SITE_FETCHED = 1,       /* a correct crawler requests this URL */
    CRAWL_SITE_ROBOTS_DENIED = 2, /* discovered, but robots.txt forbids it */
    CRAWL_SITE_OFFSITE = 4,       /* discovered, but on another host */
    CRAWL_SITE_HTML = 8,          /* answered with text/html and parsed */
};

typedef struct crawl_site_entry {
    char *url;      /* canonical absolute URL (see url.h) */
    int depth;
    int status;     /* what the server answers; 0 when not fetched */
    unsigned flags; /* enum crawl_site_flags */
} crawl_site_entry;

typedef struct crawl_site_expect {
    crawl_site_entry *v; /* in breadth-first discovery order */
    size_t n;
} crawl_site_expect;

/* Returns NULL with errno EINVAL (config out of range) or ENOMEM. */
crawl_site *crawl_site_new(const crawl_site_config *cfg);

/* The response to "GET target" on the site served at origin.
 * origin is the canonical scheme://host[:port] the server is reached at
 * (absolute links and Locations use it), e.g. "http://127.0.0.1:39211".
 * target is the request target; its query is ignored, percent-encoded
 * unreserved characters are decoded.  On failure *out is zeroed.
 * Errors: -EINVAL (origin not canonical, target not starting with '/'),
 * -ENOMEM. */
int crawl_site_get(const crawl_site *s, const char *origin, const char *target,
                   crawl_site_response *out);

/* As crawl_site_get; attempt is how many times this host was asked for
 * this target before (the every_429 switch answers 429 to attempt 0). */
int crawl_site_get_ex(const crawl_site *s, const char *origin, const char *target, unsigned attempt,
                      crawl_site_response *out);

/* The origin of host k (0-based) when host 1 is at origin: for one host,
 * origin itself; else origin must be http://127.0.0.<n>[:port] and the
 * result is http://127.0.0.<k+1>[:port].  Errors: -EINVAL. */
int crawl_site_host_origin(const crawl_site *s, const char *origin, unsigned k, char *buf, size_t n);

/* The number of hosts the site is served on (>= 1). */
unsigned crawl_site_hosts(const crawl_site *s);

void crawl_site_response_free(crawl_site_response *r);

/* Every URL a correct crawl from origin + "/" discovers (see the model
 * above).  On failure *out is zeroed.
 * Errors: -EINVAL (origin not canonical), -ENOMEM. */
int crawl_site_expected(const crawl_site *s, const char *origin, crawl_site_expect *out);

void crawl_site_expect_free(crawl_site_expect *e);

void crawl_site_free(crawl_site *s);

#endif
