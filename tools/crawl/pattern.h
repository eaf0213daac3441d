/* --include / --exclude URL filters.
 *
 * Patterns are POSIX extended regular expressions (regcomp REG_EXTENDED),
 * searched anywhere in the canonical URL (see url.h), like grep -E; anchor
 * with ^ and $ when needed, e.g. --include '^https?://ex\.com/docs/'.
 * Regexes were chosen over globs because URLs mix '/', '?', '&' and '.'
 * in ways globs cannot express (a query parameter anywhere, one of several
 * extensions), and because wget's --accept-regex set that expectation.
 * Matching is case-sensitive; use [Pp] classes where needed.
 *
 * A URL is accepted when it matches no exclude pattern and, if there is at
 * least one include pattern, matches one of them.  Exclude wins. */
#ifndef TULIP_CRAWL_PATTERN_H
#define TULIP_CRAWL_PATTERN_H

#include <stddef.h>

typedef struct crawl_patterns crawl_patterns;

enum crawl_pattern_kind { CRAWL_PATTERN_INCLUDE, CRAWL_PATTERN_EXCLUDE };

/* An empty filter, which accepts every URL.
 * Returns NULL with errno ENOMEM. */
crawl_patterns *crawl_patterns_new(void);

/* Add one pattern.  On -EINVAL a description of what is wrong with the
 * regex is written to errbuf (if errlen > 0), for the user.
 * Errors: -EINVAL (bad kind, NULL or invalid regex), -ENOMEM. */
int crawl_patterns_add(crawl_patterns *p, enum crawl_pattern_kind kind, const char *regex,
                       char *errbuf, size_t errlen);

/* 1 if url passes the filter, 0 if not.  Errors: -EINVAL (url NULL). */
int crawl_patterns_accept(const crawl_patterns *p, const char *url);

/* Number of include and exclude patterns held. No errors. */
size_t crawl_patterns_count(const crawl_patterns *p, enum crawl_pattern_kind kind);

void crawl_patterns_free(crawl_patterns *p);

#endif
