/* --recrawl: what the crawl before this one learnt about each URL it
 * fetched, so that this one can ask "has it changed?" instead of fetching
 * again (RFC 9110 conditional requests), and archive an unchanged page as
 * a WARC revisit record that refers to the capture holding its payload.
 *
 * The journal of every crawl with --state holds one V line per URL fetched
 * with 200 (or 304):
 *     V url warc-date record-id payload-digest etag last-modified
 * ("-" for what is unknown; last-modified, which holds spaces, last).
 * warc-date, record-id and digest name the record that holds the payload:
 * for a revisit they are carried over from the crawl before, so a chain
 * of recrawls refers to the first capture, never to a revisit.
 *
 * A --recrawl starts a new journal whose admitted URLs are those of the
 * previous one (a 304 has no body to find links in) and moves the old
 * journal to DIR/previous, which this module reads: an index of its V
 * lines by URL fingerprint, the file mapped, a line parsed on lookup. */
#ifndef TULIP_CRAWL_RECRAWL_H
#define TULIP_CRAWL_RECRAWL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

typedef struct crawl_recrawl crawl_recrawl;

/* What the previous crawl knew of one URL; NULL fields are unknown. */
typedef struct crawl_validators {
    const char *date, *record_id, *digest, *etag, *last_modified;
    char buf[1024]; /* the strings above */
} crawl_validators;

/* Map and index the journal at path. Errors: open/mmap's, -ENOMEM. */
int crawl_recrawl_open(const char *path, crawl_recrawl **out);
void crawl_recrawl_close(crawl_recrawl *r);

/* The validators of url; false if the previous crawl has none. */
bool crawl_recrawl_find(const crawl_recrawl *r, const char *url, crawl_validators *v);

/* Append the previous journal's admitted URLs ("A" lines) to b. */
int crawl_recrawl_seeds(const crawl_recrawl *r, crawl_buf *b);

/* Append a V line; NULL or "" fields are written "-". */
int crawl_recrawl_line(crawl_buf *b, const char *url, const char *date, const char *record_id,
                       const char *digest, const char *etag, const char *last_modified);

#endif
