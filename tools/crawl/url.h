/* URL handling for the crawler, on top of uriparser (RFC 3986).
 *
 * Every URL the crawler keeps is in one canonical form so that a plain
 * strcmp() deduplicates it.  crawl_url_normalize() and crawl_url_resolve()
 * produce that form:
 *   - only http and https; anything else (mailto:, javascript:, data:, ftp:,
 *     tel:, ...) is refused with -EPROTONOSUPPORT;
 *   - scheme and host lower-cased; default port (:80 for http, :443 for
 *     https) and an empty port dropped; leading zeros of a port dropped;
 *   - dot segments removed; empty path becomes "/";
 *   - percent-encoding normalised: escapes of unreserved characters decoded
 *     (%7E -> ~), all other escapes upper-case hex (%2f -> %2F);
 *   - the fragment dropped (it never reaches the server);
 *   - the query kept as is (also an empty "?"), since servers may tell
 *     "/a?" from "/a".
 *
 * Junk policy (chosen: repair like a browser does, where it is unambiguous):
 *   - leading/trailing C0 controls and spaces are stripped, and tabs/CR/LF
 *     anywhere are removed (HTML attribute values are often wrapped);
 *   - bytes that may not appear in a URI (space, controls, DEL, bytes >= 0x80,
 *     and " < > \ ^ ` { | }) are percent-encoded, as are '[' ']' outside
 *     the authority, a '#' after the first one, and a '%' not followed by two
 *     hex digits (-> %25).  A backslash is encoded, not turned into '/'.
 *   - what still does not parse is refused with -EINVAL.
 * Hosts must be ASCII: a host that needs percent-encoding (an IDN written in
 * Unicode) is refused with -EINVAL; IDNA/punycode is not implemented.
 *
 * All returned strings are malloc'd and owned by the caller (free()).  No
 * function keeps state between calls. */
#ifndef TULIP_CRAWL_URL_H
#define TULIP_CRAWL_URL_H

#include <stddef.h>

#include "url_canon.h" /* CRAWL_URL_MAX, crawl_url_canonical_authority/host */

/* The pieces a client needs to fetch a canonical URL. */
typedef struct crawl_url_parts {
    char *scheme;   /* "http" or "https" */
    char *host;     /* lower case; an IPv6 literal without brackets */
    int port;       /* effective port: explicit one or the scheme default */
    char *hostport; /* "host:port" for dialling ("[::1]:8080" for IPv6) */
    char *authority;/* Host header value: host[:port], port only if not default */
    char *target;   /* request target: path plus "?query" if any, never empty */
} crawl_url_parts;

/* Canonicalise an absolute http(s) URL; *out receives the canonical form.
 * Errors: -EINVAL (syntax error, relative reference, missing or non-ASCII
 * host, port > 65535), -EPROTONOSUPPORT (scheme other than http/https),
 * -ENAMETOOLONG (input or output longer than CRAWL_URL_MAX), -ENOMEM. */
int crawl_url_normalize(const char *url, char **out);

/* Resolve a reference found in a page (href value, Location header)
 * against the canonical or at least absolute URL of that page, apply the
 * junk policy above to the reference, and canonicalise the result.
 * An empty (or all-whitespace) reference or a bare "#frag" yields the base.
 * Errors: as crawl_url_normalize(); -EINVAL also when base is not an
 * absolute URL. */
int crawl_url_resolve(const char *base, const char *ref, char **out);

/* A base URL prepared once for resolving many references, such as all the
 * hrefs of one page: crawl_url_resolve() without parsing the base again for
 * each, and without any parse at all for the plain shapes of reference
 * ("/a/b", "b.html", "?q", "http://host/a", see url_fast.h) when the base is
 * canonical.  Results are exactly crawl_url_resolve()'s. */
typedef struct crawl_url_base crawl_url_base;

/* Errors: -EINVAL (base does not parse or is not absolute), -ENAMETOOLONG,
 * -ENOMEM.  Release with crawl_url_base_free(). */
int crawl_url_base_new(const char *base, crawl_url_base **out);

/* The same for a base that is canonical already, as crawl_url_normalize()
 * or crawl_url_resolve() returned it (not checked: anything else gives
 * wrong results).  Cheaper: the base is parsed only if some reference
 * needs the parser.  Errors: -ENOMEM. */
int crawl_url_base_from_canonical(const char *canonical, crawl_url_base **out);

/* As crawl_url_resolve(base, ref, out). */
int crawl_url_base_resolve(crawl_url_base *b, const char *ref, char **out);

/* NULL is fine. */
void crawl_url_base_free(crawl_url_base *b);

/* Plain RFC 3986 section 5.2 reference resolution of any scheme: no junk
 * repair, no canonicalisation, no scheme policy.  Exists so the resolution
 * step can be checked against the RFC's own examples (section 5.4).
 * Errors: -EINVAL (either string does not parse, base not absolute),
 * -ENOMEM. */
int crawl_url_join(const char *base, const char *ref, char **out);

/* Split a URL (canonicalised first) into the parts a client needs.
 * On success every field of *parts is set; release with
 * crawl_url_parts_free().  On failure *parts is zeroed.
 * Errors: as crawl_url_normalize(). */
int crawl_url_split(const char *url, crawl_url_parts *parts);

/* Release what crawl_url_split() filled in; parts becomes all-zero. */
void crawl_url_parts_free(crawl_url_parts *parts);

/* 1 if both URLs name the same host (case-insensitively; scheme and port
 * are ignored, so http->https on one site stays "same host"), 0 if not.
 * Errors: as crawl_url_normalize() for either argument. */
int crawl_url_same_host(const char *a, const char *b);

#endif
