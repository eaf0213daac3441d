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
 * garbage) are counted in `skipped`; the first CRAWL_LINKS_MAX_REJECTED
 * of them are also returned in `rejected` with the reason, so a crawler can
 * report them.  Duplicates within the
 * page are returned once, at their first position.
 *
 * The input is bytes, not a C string: NULs and invalid UTF-8 are fine
 * (gumbo assumes UTF-8 and substitutes U+FFFD for invalid sequences, so
 * non-UTF-8 pages lose their non-ASCII URL bytes).  Neither the tree walk
 * nor the teardown recurses (gumbo's allocations are tracked and freed in
 * one flat pass instead of gumbo_destroy_output), so deeply nested hostile
 * pages are safe on a small coroutine stack; time and memory stay linear
 * in the input, which the crawler caps (CRAWL_MAX_PARSE in crawler.h). */
#ifndef TULIP_CRAWL_LINKS_H
#define TULIP_CRAWL_LINKS_H

#include <stdbool.h>
#include <stddef.h>

/* Most refused hrefs returned per page. */
#define CRAWL_LINKS_MAX_REJECTED 16u

/* Largest body handed to the parser, in bytes. */
#define CRAWL_LINKS_MAX_INPUT (64u * 1024 * 1024)

typedef struct crawl_links {
    char **urls;     /* n canonical absolute URLs, owned by this struct */
    size_t n;
    size_t skipped;  /* hrefs that were not http(s) or did not parse */
    char **rejected; /* the first of them, as written (after entity decoding) */
    int *rejected_err; /* why: crawl_url_resolve's error (-EPROTONOSUPPORT...) */
    size_t nrejected;
    int nofollow;    /* <meta name=robots content="...nofollow..."> seen */
} crawl_links;

/* True when a Content-Type value names HTML that links are read from:
 * text/html or application/xhtml+xml, any parameters, any case.  The one
 * rule for the crawler and every --compare mode. */
bool crawl_is_html(const char *content_type);

/* Parse html[0..len) served from page_url and fill *out (which need not be
 * initialised).  On failure *out is left empty (safe to free).
 * Errors: -EINVAL (page_url not an absolute http(s) URL), -EFBIG (len >
 * CRAWL_LINKS_MAX_INPUT), -ENOMEM. */
int crawl_links_extract(const char *html, size_t len, const char *page_url, crawl_links *out);

/* gumbo's tree construction is quadratic in the nesting depth (scope checks
 * walk the stack of open elements): 10,000 nested <div>s take 0.1 s, 50,000
 * take 5 s.  Before handing a page to crawl_links_extract, cut it here: the
 * length of the longest prefix of html[0..len) holding at most max_tags
 * start tags ('<' followed by an ASCII letter), so the parse stays bounded
 * (about 0.7 s for 20,000 nested tags, the worst shape).  *tags (may be
 * NULL) receives the number of start tags in that prefix. No errors. */
size_t crawl_links_cut(const char *html, size_t len, size_t max_tags, size_t *tags);

/* Release everything in l; l becomes empty. */
void crawl_links_free(crawl_links *l);

#endif
