/* Reference resolution without a parser, for the plain shapes of href.
 *
 * Most links in pages are plain: "/a/b.html", "b.html", "../c/", "?page=2",
 * "https://Host/a#top".  Against a base URL already in canonical form
 * (url.h), RFC 3986 resolution and canonicalisation of such a reference
 * need no parse tree: trim the spaces around it, lower-case an absolute
 * URL's scheme and host, glue the path onto the base's origin or
 * directory, normalise escapes (%7e -> ~, %2f -> %2F), remove dot segments
 * and drop the fragment.  This file does exactly that for references made
 * of plain characters and declines everything else (inner spaces and
 * tabs, bytes that need escaping, a '%' without two hex digits, userinfo,
 * IP literals, an explicit default port, "//host" references...), which
 * url.c then hands to uriparser.  uriparser stays the reference:
 * tests/crawl/test_url_fast.c checks that both give the same answer over a
 * generated corpus of references and bases, and tests/fuzz has a
 * libFuzzer harness for the same comparison.
 *
 * Why: with ~20 hrefs per page, parsing base and reference with uriparser
 * for each of them was a fifth of the crawler's instructions.
 *
 * Internal to the crawler (url.c and its tests). */
#ifndef TULIP_CRAWL_URL_FAST_H
#define TULIP_CRAWL_URL_FAST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct crawl_url_fast_base {
    const char *url;   /* canonical, borrowed */
    size_t len;        /* strlen(url) */
    size_t origin_len; /* "scheme://authority" */
    size_t path_end;   /* end of the path: the '?' or the end of url */
    size_t dir_end;    /* just after the path's last '/' */
} crawl_url_fast_base;

/* Prepare base (canonical, as crawl_url_normalize returns it).
 * Returns true when usable; false for URLs with userinfo or not canonical
 * looking, which must take the parser path for every reference. */
bool crawl_url_fast_base_init(crawl_url_fast_base *b, const char *canonical);

/* Resolve ref against b if ref is plain.  Returns 1 with *out set to the
 * canonical absolute URL (malloc'd), 0 when ref is not plain (*out
 * untouched: use the parser), -ENOMEM. */
int crawl_url_fast_resolve(const crawl_url_fast_base *b, const char *ref, char **out);

/* Tests compare both paths; false sends every reference to the parser. */
extern bool crawl_url_fast_enabled;

#endif
