/* JSON Lines output of crawl results: one object per fetched URL.
 *
 *   {"url":"http://ex.com/","status":200,"bytes":1234,"ms":5.250,"depth":0,"error":null}
 *
 * Field order is fixed.  "status" is null when there was no HTTP response;
 * "error" is null on success.  Optional fields ("content_type", "location",
 * "parent", "attempts" when more than one request was made, "note") follow
 * only when set.  "ms" is wall time with microsecond
 * resolution, formatted with integer arithmetic so that the locale cannot
 * turn the decimal point into a comma.
 *
 * Strings are arbitrary bytes.  Valid UTF-8 is copied through; each
 * maximal ill-formed subsequence (Unicode's "best practice", the same that
 * WHATWG decoders use) becomes \ufffd, so the output is always valid UTF-8
 * and valid JSON.  Control characters, DEL, U+2028 and U+2029 are written
 * as \u escapes (\n \r \t \b \f in their short forms), so a line never
 * breaks and can be pasted into JavaScript. */
#ifndef TULIP_CRAWL_JSONL_H
#define TULIP_CRAWL_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct crawl_row {
    const char *url;          /* required */
    int status;               /* HTTP status; <= 0 means no response */
    uint64_t bytes;           /* body bytes received */
    int64_t elapsed_ns;       /* request duration */
    int depth;                /* link hops from the start URL */
    const char *error;        /* NULL when the fetch succeeded */
    const char *content_type; /* optional */
    const char *location;     /* optional: redirect target */
    const char *parent;       /* optional: the page the URL was found on */
    unsigned attempts;        /* requests made for it; written when > 1 */
    const char *note;         /* optional: e.g. the host's Crawl-delay was capped */
    /* An attempt that failed and will be retried: shown by -v, not part of
     * the result (no JSON line; crawl_found_add skips it). */
    unsigned retry;
} crawl_row;

/* Append s[0..n) to out as a quoted JSON string. Errors: -ENOMEM. */
int crawl_json_string(crawl_buf *out, const char *s, size_t n);

/* Append one row, terminated by '\n', to out.  On error out is unchanged.
 * Errors: -EINVAL (row or row->url NULL), -ENOMEM. */
int crawl_jsonl_row(crawl_buf *out, const crawl_row *row);

#endif
