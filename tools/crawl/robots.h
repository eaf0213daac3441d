/* robots.txt (RFC 9309) parsing and matching.
 *
 * Parsing keeps only the rules that apply to one crawler:
 *   - records are "key: value", keys case-insensitive, '#' starts a
 *     comment, blank and unparseable lines are ignored, a UTF-8 BOM is
 *     skipped, lines end in LF, CR or CRLF;
 *   - consecutive user-agent lines open one group; the group runs until the
 *     next user-agent line that follows a rule;
 *   - a group applies when one of its user-agent values has our product
 *     token (the leading [A-Za-z_-] run of the User-Agent string, compared
 *     case-insensitively; "Tulip-Crawl/2.0" in the file matches us too).
 *     All groups naming us are merged; only when none names us are the "*"
 *     groups (merged) used; with neither, everything is allowed.  Rules
 *     before any user-agent line belong to no group and are ignored;
 *   - a value that starts with neither '/' nor '*' gets a '/' in front;
 *     an empty Disallow or Allow is no rule.
 * Matching (crawl_robots_allowed):
 *   - '*' matches any run of bytes, a final '$' anchors at the end, any
 *     other pattern is a prefix; pattern and path are compared after the
 *     same percent-encoding normalisation as url.h (escapes of unreserved
 *     characters decoded, hex upper-cased, non-ASCII bytes encoded);
 *   - the matching rule with the longest pattern wins; on a tie Allow wins;
 *     no match means allowed; "/robots.txt" itself is always allowed.
 * Only the first CRAWL_ROBOTS_MAX_BYTES bytes are read (RFC 9309 sets
 * 500 KiB as the minimum a crawler must read); a line cut by the limit is
 * dropped.
 *
 * What to do when robots.txt cannot be had is the caller's business; RFC
 * 9309 says: 4xx -> allow everything (crawl_robots_parse with an empty
 * body), 5xx or network error -> disallow everything
 * (crawl_robots_new_disallow_all). */
#ifndef TULIP_CRAWL_ROBOTS_H
#define TULIP_CRAWL_ROBOTS_H

#include <stddef.h>
#include <stdint.h>

#define CRAWL_ROBOTS_MAX_BYTES (500u * 1024)
#define CRAWL_ROBOTS_MAX_SITEMAPS 64u

typedef struct crawl_robots crawl_robots;

/* Parse txt[0..len) (bytes; NULs allowed) for the crawler whose
 * User-Agent string is user_agent (e.g. "tulip-crawl/0.1").
 * Returns NULL with errno EINVAL (user_agent NULL or without a product
 * token) or ENOMEM. */
crawl_robots *crawl_robots_parse(const char *txt, size_t len, const char *user_agent);

/* A policy that refuses every path except /robots.txt.
 * Returns NULL with errno ENOMEM. */
crawl_robots *crawl_robots_new_disallow_all(void);

/* 1 if target (the request target: path plus optional "?query", as in
 * crawl_url_parts.target) may be fetched, 0 if not.
 * Errors: -EINVAL (target NULL or not starting with '/'), -ENOMEM. */
int crawl_robots_allowed(const crawl_robots *r, const char *target);

/* The applicable group's Crawl-delay (a common extension, not in RFC 9309)
 * in milliseconds, or -1 when there is none. No errors. */
int64_t crawl_robots_crawl_delay_ms(const crawl_robots *r);

/* The Sitemap: lines (for every crawler, wherever they stand), as
 * written, the first CRAWL_ROBOTS_MAX_SITEMAPS of them. No errors. */
const char *const *crawl_robots_sitemaps(const crawl_robots *r, size_t *n);

/* Number of Allow/Disallow rules kept for this crawler. No errors. */
size_t crawl_robots_rule_count(const crawl_robots *r);

void crawl_robots_free(crawl_robots *r);

#endif
