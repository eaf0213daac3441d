/* Link extraction from an HTML page, on top of gumbo (HTML5 parsing).
 *
 * Collected: href of <a>, <area> and <link> in the HTML namespace (not SVG
 * or MathML; not inside <template>, whose content is inert), in document
 * order.  <link rel=preconnect|dns-prefetch> names hosts, not documents,
 * and is skipped.  The first <base href> of the document (resolved against
 * the page URL) is the base for every other href, as in browsers.
 * Character references are decoded by the parser; text inside script,
 * style and comments never becomes elements, so it is ignored by
 * construction.
 *
 * Each href goes through crawl_url_resolve(), so results are canonical
 * absolute http(s) URLs (see url.h); hrefs that fail (mailto:, javascript:,
 * garbage) are counted in `skipped`, not returned.  Duplicates within the
 * page are returned once, at their first position.
 *
 * The input is bytes, not a C string: NULs and invalid UTF-8 are fine
 * (gumbo assumes UTF-8 and substitutes U+FFFD for invalid sequences, so
 * non-UTF-8 pages lose their non-ASCII URL bytes).  Parsing is iterative
 * on our side, but gumbo itself frees the tree recursively, so call this
 * on a stack that can hold about 100 bytes per nesting level of the page
 * (a thread or a large coroutine stack, not a tiny one). */
#ifndef TULIP_CRAWL_LINKS_H
#define TULIP_CRAWL_LINKS_H

#include <stddef.h>

/* Largest body handed to the parser, in bytes. */
#define CRAWL_LINKS_MAX_INPUT (64u * 1024 * 1024)

typedef struct crawl_links {
    char **urls;     /* n canonical absolute URLs, owned by this struct */
    size_t n;
    size_t skipped;  /* hrefs that were not http(s) or did not parse */
    int nofollow;    /* <meta name=robots content="...nofollow..."> seen */
} crawl_links;

/* Parse html[0..len) served from page_url and fill *out (which need not be
 * initialised).  On failure *out is left empty (safe to free).
 * Errors: -EINVAL (page_url not an absolute http(s) URL), -EFBIG (len >
 * CRAWL_LINKS_MAX_INPUT), -ENOMEM. */
int crawl_links_extract(const char *html, size_t len, const char *page_url, crawl_links *out);

/* Release everything in l; l becomes empty. */
void crawl_links_free(crawl_links *l);

#endif
