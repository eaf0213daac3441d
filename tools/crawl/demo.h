/* The demo site (site.h) served over HTTP by the library's server, either
 * as a task on the caller's loop or on a thread of its own with its own
 * loop (so blocking clients in the same process cannot stall it).  Each
 * response waits `latency` first (tulip_sleep), which is what makes
 * concurrency pay off, as against a real site. */
#ifndef TULIP_CRAWL_DEMO_H
#define TULIP_CRAWL_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "site.h"

typedef struct crawl_demo_opts {
    crawl_site_config site;
    int64_t latency_ns;      /* per response; 0: none */
    const char *address;     /* where to listen; default "127.0.0.1:0"; with
                                site.hosts > 1 the other hosts listen on
                                127.0.0.2 ... on the same port */
    bool chunked;            /* send bodies chunked */
    const char *encoding;    /* "gzip", "br" or "zstd": compress bodies the
                                client accepts in that coding; NULL: none */
} crawl_demo_opts;

/* One request as the server saw it: when it arrived (tulip_now, the
 * monotonic clock), on which host (0-based), the target, the status. */
typedef struct crawl_demo_hit {
    int64_t t_ns;
    unsigned host;
    int status;
    char *target;
} crawl_demo_hit;

typedef struct crawl_demo crawl_demo;

/* NULL with errno: EINVAL (site config out of range), ENOMEM. */
crawl_demo *crawl_demo_new(const crawl_demo_opts *o);

/* Listen and serve as a task of the calling task's loop.
 * Errors: those of tulip_http_server_listen, -ENOMEM, -EPERM, -EALREADY. */
int crawl_demo_start(crawl_demo *d);

/* Listen and serve on a new thread running its own loop; returns once it
 * listens.  Errors: as crawl_demo_start, -EAGAIN (no thread). */
int crawl_demo_start_thread(crawl_demo *d);

/* The canonical origin "http://127.0.0.1:port". */
const char *crawl_demo_origin(const crawl_demo *d);
const crawl_site *crawl_demo_site(const crawl_demo *d);

/* The request log so far, in order of answer (t_ns increases along it for
 * each host when requests do not overlap).  Valid until the next request
 * or crawl_demo_free; call after crawl_demo_stop for a stable view. */
const crawl_demo_hit *crawl_demo_log(const crawl_demo *d, size_t *n);

/* Write the log as lines "t_ns host status target" (t relative to the
 * first request) to f, and flush it (the caller opened f before the
 * server started, so a bad path is said at once).  Errors: negative
 * errno of the writes. */
int crawl_demo_write_log(const crawl_demo *d, FILE *f);

/* Responses sent with a Content-Encoding so far. */
uint64_t crawl_demo_encoded(const crawl_demo *d);

/* Stop serving and wait until the server has ended (from a task of the
 * same loop for crawl_demo_start; from any thread but the server's for
 * crawl_demo_start_thread).  Idempotent. */
void crawl_demo_stop(crawl_demo *d);

/* Free d; stop it first. NULL is a no-op. */
void crawl_demo_free(crawl_demo *d);

#endif
