/* A deliberately small HTTP/1.1 GET for the --compare baselines
 * (sequential, threads, callbacks), on the library's head parser and
 * chunked decoder.  One request per connection ("Connection: close"), so a
 * baseline needs no pool; the loopback connect this costs is tens of
 * microseconds, far below the per-page latency --compare uses.
 *
 * The response side is an incremental assembler fed with whatever bytes
 * arrive, so the same code serves blocking reads and the callback state
 * machine. */
#ifndef TULIP_CRAWL_RAW_H
#define TULIP_CRAWL_RAW_H

#include <stddef.h>
#include <stdint.h>

#include <tulip/http_parser.h>

#include "buf.h"

typedef struct crawl_raw {
    crawl_buf in;            /* head bytes, then body bytes as received */
    size_t max_body;
    int state;               /* internal */
    size_t head_len;
    tulip_http_body framing;
    int64_t want;            /* Content-Length still expected */
    tulip_http_parser p;
    tulip_http_chunked ch;
    tulip_http_header hdr[64];
    /* results, valid once crawl_raw_feed/crawl_raw_eof returned 1 */
    int status;
    char *location;          /* malloc'd or NULL */
    char *content_type;      /* malloc'd or NULL */
    crawl_buf body;
} crawl_raw;

/* Prepare r for one response of at most max_body body bytes. */
void crawl_raw_init(crawl_raw *r, size_t max_body);
void crawl_raw_free(crawl_raw *r);

/* Format "GET target" for host (the Host header) into out.
 * Errors: -ENOMEM. */
int crawl_raw_request(crawl_buf *out, const char *target, const char *host, const char *user_agent);

/* Feed n received bytes.  Returns 1 when the response is complete, 0 when
 * more is needed.  Errors: -EBADMSG (malformed), -EMSGSIZE (head too long),
 * -EFBIG (body too long), -ENOMEM. */
int crawl_raw_feed(crawl_raw *r, const char *data, size_t n);

/* The peer closed.  Returns 1 if that completes the response (a
 * close-delimited body).  Errors: -ENODATA (truncated), -ECONNRESET (closed
 * before any response byte). */
int crawl_raw_eof(crawl_raw *r);

/* Blocking GET of a canonical http URL with plain connect/send/recv (no
 * tulip); timeout_ms bounds each socket operation (SO_RCVTIMEO/SNDTIMEO).
 * On success (0) r holds the response.  Errors: those above, -EINVAL (not
 * an http URL), -EPROTONOSUPPORT (https), connect/send/recv errors,
 * -ETIMEDOUT. */
int crawl_raw_get(const char *url, const char *user_agent, int timeout_ms, crawl_raw *r);

#endif
