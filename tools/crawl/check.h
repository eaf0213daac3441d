/* Checking a crawl against the demo site's model (site.h): the rows a
 * crawl produced, reduced to (URL, outcome), must equal the model's list
 * exactly.  Used by --demo to prove its answer and by the tests. */
#ifndef TULIP_CRAWL_CHECK_H
#define TULIP_CRAWL_CHECK_H

#include <stddef.h>

#include "buf.h"
#include "jsonl.h"
#include "site.h"

/* A row's outcome: status > 0 (fetched), or one of these. */
#define CRAWL_FOUND_OFFSITE (-1)
#define CRAWL_FOUND_ROBOTS (-2)

typedef struct crawl_found {
    char *url;
    int outcome;  /* HTTP status, or CRAWL_FOUND_* */
    int depth;
} crawl_found;

typedef struct crawl_found_set {
    crawl_found *v;
    size_t n, cap;
} crawl_found_set;

/* Record row if it is a fetch with a status or an offsite/robots skip
 * (other error rows are not part of the model).  Errors: -ENOMEM. */
int crawl_found_add(crawl_found_set *s, const crawl_row *row);

void crawl_found_free(crawl_found_set *s);

/* Move every entry of from to the end of to (from is left empty: the URLs
 * change owner).  Errors: -ENOMEM, and then from is unchanged. */
int crawl_found_move(crawl_found_set *to, crawl_found_set *from);

/* Compare; returns the number of differences (0: identical sets with the
 * same outcomes) and describes the first few in *report (may be NULL).
 * With check_depth, depths must match too (a breadth-first crawl).
 * Sorts s.  Errors: -ENOMEM. */
long crawl_check(const crawl_site_expect *e, crawl_found_set *s, int check_depth, crawl_buf *report);

#endif
