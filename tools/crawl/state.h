/* What a crawl writes, committed page by page, and its crash-safe record
 * (--state DIR, --resume, --warc, --sync).
 *
 * Everything a visit produces (its JSON Lines rows, its WARC records, the
 * URLs it admitted or saw) is held in a per-task buffer and written in one
 * go when the visit ends (crawl_state_commit), without parking: first the
 * rows and the records, then one journal write with the URLs and the
 * "done" line holding the output offsets after them. So the outputs of
 * two pages never interleave, and a page is either wholly committed or
 * not at all: --resume cuts every output back to the offsets of the last
 * done line, queues again every admitted URL without one (those in
 * flight at the kill) and goes on.
 *
 * The journal (DIR/journal) is an append-only text file, one record a
 * line (docs/CRAWL.md has the format); a torn last line is ignored and
 * cut. A kill -9 needs no fsync: every write is complete in the page
 * cache once write() returns. --sync adds fdatasync of the outputs, then
 * of the journal, at each commit, for power loss. */
#ifndef TULIP_CRAWL_STATE_H
#define TULIP_CRAWL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tulip.h>

#include "recrawl.h"

typedef struct crawl_state crawl_state;

typedef struct crawl_state_opts {
    const char *dir;          /* NULL: no journal (only page-wise commits of the outputs) */
    bool resume;              /* replay dir's journal */
    bool sync;                /* fdatasync at each commit */
    const char *output;       /* JSON Lines file, NULL: none, "-": stdout (no resume) */
    const char *warc_prefix;  /* NULL: no WARC */
    uint64_t warc_max_size;   /* 0: 1 GB */
    const char *options;      /* the crawl's options as one line: kept, and checked on resume */
    bool warc_metadata;       /* a WARC metadata record per HTML page (outlinks, hops, fetch time) */
    bool recrawl;             /* a new crawl of dir's URLs with conditional requests (recrawl.h);
                                 with resume: go on with such a crawl */
    int64_t fresh_window;     /* --recrawl: reuse the crawl before's answers that are still fresh
                                 (recrawl_fresh.h) at most this many seconds after their fetch;
                                 0: fetch everything again */
} crawl_state_opts;

/* Open (or, with resume, reopen and cut back) the outputs and the journal.
 * On error err gets a message for the user.
 * Errors: -EINVAL (bad combination), -EEXIST (a journal is there and
 * resume is not set; an empty one, left by an open that failed, is no
 * crawl), -ENODATA (resume or recrawl without a journal), -ESTALE (resume with other options): the user's
 * command to fix; -ENOMEM, I/O errors (-ENOENT, -EACCES...): the
 * system's. */
int crawl_state_open(const crawl_state_opts *o, crawl_state **out, char *err, size_t errlen);
/* Close everything (what is not committed is dropped). NULL: no-op. */
void crawl_state_close(crawl_state *s);

/* True when the journal holds URLs to resume from. */
bool crawl_state_resuming(const crawl_state *s);

/* Replay the journal: fn for every URL admitted or seen, in order, with
 * done telling whether its visit was committed; kind 'A' admitted, 'S'
 * seen by the scope (offsite...), 'F' a key of crawl_scope_first (an
 * href that is no URL: a B line, or an F line of a journal written
 * before B lines, whose key ends at its line's end).
 * Stops at fn's first error. */
typedef int (*crawl_state_replay_fn)(void *arg, char kind, const char *url, int depth, unsigned hops,
                                     const char *parent, bool done);
int crawl_state_replay(crawl_state *s, crawl_state_replay_fn fn, void *arg);

/* A visit starts in the calling task: what it produces is held until
 * crawl_state_commit (or dropped by the next begin). */
int crawl_state_begin(crawl_state *s);
/* The visit of url ended: write its outputs and its done line (url NULL:
 * the URL is not done, it went back to be tried again: outputs only). */
int crawl_state_commit(crawl_state *s, const char *url, int depth, int status);

/* A JSON Lines row (with its newline). */
int crawl_state_row(crawl_state *s, const char *line, size_t n);
/* URLs the visit admitted (kind 'A') or saw ('S'). */
int crawl_state_url(crawl_state *s, char kind, const char *url, int depth, unsigned hops, const char *parent);
/* An href of the page parent that is no URL we fetch (key as written,
 * err why; a B line, journal.h), reported once: a resume does not report
 * it again, a --recrawl whose page parent is answered 304 does. */
int crawl_state_bad(crawl_state *s, const char *key, int err, const char *parent);

/* GET url through c, tapped: its WARC records go with the visit. With
 * robots, a robots.txt answer journaled before is given back without a
 * fetch (as a reply with status and body only), and a new one is
 * journaled at once. Errors: those of tulip_http_get. */
int crawl_state_get(crawl_state *s, tulip_http_client *c, const char *url, bool robots, tulip_http_reply **out);

/* The options of argv that must not change when a crawl is resumed (all
 * but --resume, --sync, -c, --per-host, --timeout, -v, --no-progress), as
 * one line to pass as crawl_state_opts.options. NULL: out of memory. */
char *crawl_state_options_line(int argc, char **argv);

/* The links found in the page the calling task's visit fetched, its
 * depth (hops from the seed) and fetch time: with --warc-metadata, a WARC
 * metadata record naming the page's response record, committed with the
 * visit. Errors: -ENOMEM, the thread pool's. */
int crawl_state_outlinks(crawl_state *s, int depth, int64_t fetch_ns, char *const *urls, size_t n);

/* Whether the calling task's visit got its answer from the crawl before,
 * still fresh, without a fetch (its row says so). */
bool crawl_state_reused(const crawl_state *s);

/* --recrawl: fn for each link of the page url whose row the crawl before
 * wrote from that page (its journal's S and B lines: offsite URLs, hrefs
 * that are no URL), for a page answered 304 whose links are not read
 * again; 0 without a crawl before. Stops at fn's first error. */
int crawl_state_links(const crawl_state *s, const char *url, crawl_recrawl_link_fn fn, void *arg);

/* The file whose write failed first (rows, journal, WARC), which stopped
 * the crawl, or NULL. */
const char *crawl_state_failed(const crawl_state *s);

/* One summary line for the user: bytes received, what --recrawl saved
 * (nothing without --state or --warc). */
void crawl_state_summary(const crawl_state *s, FILE *f);

#endif
