/* WARC/1.1 (ISO 28500) output: PREFIX-<timestamp>-<serial>.warc.gz files,
 * one gzip member per record (so a reader can seek to any record), a
 * warcinfo record first in each file, a request and a response record per
 * fetch (or a revisit record for a page that did not change), rotated at a
 * size bound.
 *
 * Records are made in two steps so that the crawler can commit a page's
 * records together with its other outputs (state.h): crawl_warc_exchange
 * builds and compresses the records of one fetch into a buffer, on the
 * thread pool (the loop never waits for zlib or SHA-1), and
 * crawl_warc_append writes such a buffer at the end of the current file
 * without parking, rotating first when it would pass the bound.
 *
 * Digests are SHA-1 in base32 ("sha1:" + 32 letters): WARC-Block-Digest
 * over the record block (the HTTP message as it crossed the wire), and
 * WARC-Payload-Digest over the entity body with the chunked framing
 * removed and any content coding kept (iipc/warc-specifications#22). */
#ifndef TULIP_CRAWL_WARC_H
#define TULIP_CRAWL_WARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tulip.h>

#include "buf.h"

#define CRAWL_WARC_DIGEST 38 /* "sha1:" + 32 base32 letters + NUL */
#define CRAWL_WARC_DATE 32

/* The profile of a revisit record for an answer of the crawl before that
 * was still fresh (recrawl_fresh.h), so not fetched again: a URI of ours
 * (WARC/1.1 6.7 allows other profiles), in the reserved .invalid domain
 * so that it names no one else's. */
#define CRAWL_WARC_PROFILE_FRESH "http://tulip-crawl.invalid/warc/revisit/fresh-not-fetched"

/* "sha1:" + base32 of the SHA-1 of p[0..n). */
void crawl_sha1_base32(const void *p, size_t n, char out[CRAWL_WARC_DIGEST]);

/* WARC-Date form of a realtime clock reading: 2026-12-02T20:30:01.123456Z. */
void crawl_warc_date(int64_t realtime_ns, char out[CRAWL_WARC_DATE]);

/* The entity body of a whole HTTP response (head_len bytes of head, then
 * the body as received): the chunked framing removed when the head says
 * chunked, the content coding kept. *body points into resp (no framing)
 * or to *owned (to free). A chunked body cut short gives what arrived.
 * Errors: -ENOMEM, -EBADMSG (a head that does not parse). */
int crawl_warc_entity(const char *resp, size_t len, size_t head_len, const char **body, size_t *blen,
                      char **owned);

/* One fetch to archive. */
typedef struct crawl_warc_fetch {
    const char *url;              /* WARC-Target-URI */
    const tulip_http_tap *tap;    /* request and response bytes, peer */
    int err;                      /* the fetch's error (0: none): WARC-Truncated reason */
    int64_t date_ns;              /* realtime, shared by the records */
    /* Revisit: NULL for a plain response record. With a tap holding no
     * exchange, a revisit record alone, its block empty (an answer
     * reused without a fetch: CRAWL_WARC_PROFILE_FRESH). */
    const char *profile;          /* "server-not-modified", "identical-payload-digest" or a URI */
    const char *refers_uri, *refers_date;
    const char *refers_id;        /* WARC-Refers-To record ID, or NULL */
    /* The payload digest of an earlier capture of url, or NULL: a response
     * whose payload has this digest becomes a revisit record with profile
     * identical-payload-digest (refers_uri and refers_date needed); with
     * profile server-not-modified it is that record's payload digest. */
    const char *same_digest;
    const char *metadata;         /* optional metadata record block (warc-fields text), NULL: none */
    const char *concurrent_to;    /* the metadata record's WARC-Concurrent-To when the fetch has no
                                     response here (a metadata record alone); NULL: the response */
} crawl_warc_fetch;

/* The compressed records of one fetch. */
typedef struct crawl_warc_records {
    crawl_buf gz;                 /* the gzip members, back to back */
    unsigned count;               /* records in gz */
    char payload_digest[CRAWL_WARC_DIGEST]; /* of the response ("" if none) */
    char record_id[48];           /* of the response or revisit record ("" if none) */
    bool revisit;                 /* the response became a revisit record */
} crawl_warc_records;

/* Build and compress the records of f into *out (which the caller frees
 * with crawl_warc_records_free). Runs on the thread pool when called from
 * a task (f is copied first, so a cancelled caller loses nothing), inline
 * otherwise. A fetch with no response head gets a request record only
 * when something was sent, and nothing when not.
 * Errors: -ENOMEM, -ECANCELED/-ETIMEDOUT (the caller's), the pool's. */
int crawl_warc_exchange(const crawl_warc_fetch *f, crawl_warc_records *out);
void crawl_warc_records_free(crawl_warc_records *r);

typedef struct crawl_warc crawl_warc;

typedef struct crawl_warc_opts {
    const char *prefix;           /* files are PREFIX-<stamp>-<serial>.warc.gz */
    uint64_t max_size;            /* rotate before passing it (0: 1 GB) */
    const char *stamp;            /* 14 digits; NULL: now (UTC) */
    const char *info;             /* extra warcinfo lines ("key: value\r\n"...), may be NULL */
} crawl_warc_opts;

/* Start serial 0 (a new file with its warcinfo record), or, with resume,
 * reopen file `serial` cut back to `offset` (the end of the last record
 * committed; files of higher serial are removed).
 * Errors: -EINVAL, -ENOMEM, open/write errors. */
int crawl_warc_open(const crawl_warc_opts *o, crawl_warc **out);
int crawl_warc_resume(const crawl_warc_opts *o, unsigned serial, uint64_t offset, crawl_warc **out);

/* Write r's records at the end of the current file (rotating first if
 * they would pass max_size and the file holds more than its warcinfo).
 * Never parks. Errors: write errors (the file is cut back to where it
 * was), -ENOMEM. */
int crawl_warc_append(crawl_warc *w, const crawl_warc_records *r);

/* Where the next record goes. */
unsigned crawl_warc_serial(const crawl_warc *w);
uint64_t crawl_warc_offset(const crawl_warc *w);
const char *crawl_warc_name(const crawl_warc *w);
const char *crawl_warc_stamp(const crawl_warc *w);
/* fdatasync the current file. */
int crawl_warc_sync(crawl_warc *w);
void crawl_warc_close(crawl_warc *w);

#endif
