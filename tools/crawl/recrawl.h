/* --recrawl: what the crawl before this one learnt about each URL it
 * fetched, so that this one can ask "has it changed?" instead of fetching
 * again (RFC 9110 conditional requests), and archive an unchanged page as
 * a WARC revisit record that refers to the capture holding its payload.
 *
 * The journal of every crawl with --state holds one V line per URL fetched
 * with 200 (or 304):
 *     V url warc-date record-id payload-digest etag last-modified
 * ("-" for what is unknown; last-modified, which holds spaces, last), and
 * one E line per answer a cache could reuse without asking (a redirect or
 * an error page with explicit or heuristic freshness, recrawl_fresh.h):
 *     E url status fetched max-age lm-age warc-date record-id payload-digest
 *       location content-type
 * (fetched in seconds since the epoch; max-age and lm-age -1 when
 * unknown; content-type, which may hold spaces, last).
 * warc-date, record-id and digest name the record that holds the payload:
 * for a revisit they are carried over from the crawl before, so a chain
 * of recrawls refers to the first capture, never to a revisit.
 *
 * A --recrawl starts a new journal whose admitted URLs are those of the
 * previous one (a 304 has no body to find links in) and moves the old
 * journal to DIR/previous, which this module reads: an index of its V and
 * E lines by URL fingerprint (seen.h), and of its S and B lines (offsite
 * URLs, hrefs that are no URL: journal.h) by the page that linked to
 * them, so that a page answered 304 gives the rows of those links again;
 * the file mapped, a line parsed on lookup. */
#ifndef TULIP_CRAWL_RECRAWL_H
#define TULIP_CRAWL_RECRAWL_H

#include <stdbool.h>
#include <stddef.h>

#include <tulip.h>

#include "buf.h"
#include "recrawl_fresh.h"

typedef struct crawl_recrawl crawl_recrawl;

/* What the previous crawl knew of one URL; NULL fields are unknown. */
typedef struct crawl_validators {
    const char *date, *record_id, *digest, *etag, *last_modified;
    /* An E line: the answer (status > 0), its freshness, Location and
     * Content-Type; status 0 for a V line (or an E line that does not
     * parse: the URL is then fetched as if new). */
    int status;
    crawl_fresh fresh;
    const char *location, *content_type;
    char buf[3072]; /* the strings above */
} crawl_validators;

/* Map and index the journal at path. Errors: open/mmap's, -ENOMEM. */
int crawl_recrawl_open(const char *path, crawl_recrawl **out);
void crawl_recrawl_close(crawl_recrawl *r);

/* The validators of url; false if the previous crawl has none. */
bool crawl_recrawl_find(const crawl_recrawl *r, const char *url, crawl_validators *v);

/* Append an E line (fields as for crawl_recrawl_line; location and
 * content_type may be NULL). Returns 1 when written, 0 when the answer
 * cannot be kept (a Location with a space, a field too long to read
 * back), -ENOMEM. */
int crawl_recrawl_eline(crawl_buf *b, const char *url, int status, const crawl_fresh *f, const char *date,
                        const char *record_id, const char *digest, const char *location,
                        const char *content_type);

/* The reply an E line stands for: its status, Location and Content-Type,
 * no body, received as nothing (bytes_in 0). Errors: -ENOMEM. */
int crawl_recrawl_reply(const crawl_validators *v, const char *url, tulip_http_reply **out);

/* A link whose row the previous crawl wrote from a page. */
typedef struct crawl_recrawl_link {
    char kind;       /* 'S': an offsite URL; 'B': an href that is no URL */
    const char *url; /* the URL, or the href as written */
    int depth;       /* 'S': its depth and hops then */
    unsigned hops;
    int err;         /* 'B': why it is no URL (crawl_url_resolve's error) */
} crawl_recrawl_link;

/* fn for each S and B line the previous crawl wrote for the page parent,
 * in journal order; stops at fn's first error, which it returns. Errors:
 * -ENOMEM. */
typedef int (*crawl_recrawl_link_fn)(void *arg, const crawl_recrawl_link *l);
int crawl_recrawl_links(const crawl_recrawl *r, const char *parent, crawl_recrawl_link_fn fn, void *arg);

/* Append the previous journal's admitted URLs ("A" lines) to b. */
int crawl_recrawl_seeds(const crawl_recrawl *r, crawl_buf *b);

/* Append a V line; NULL or "" fields are written "-". */
int crawl_recrawl_line(crawl_buf *b, const char *url, const char *date, const char *record_id,
                       const char *digest, const char *etag, const char *last_modified);

#endif
