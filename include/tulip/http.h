/* HTTP/1.1 client and server built on tulip tasks and streams.
 *
 * Client: tulip_http_get/tulip_http_fetch perform one request from a task,
 * following redirects, over a keep-alive connection pool (per scheme, host
 * and port, with a per-host connection limit), decoding gzip/deflate bodies
 * (when built with zlib), http and https (when built with OpenSSL). A whole
 * request, redirects included, is bounded by the client's timeout and by
 * the caller's own scopes. Hostile peers cannot make it hang (timeout) nor
 * grow memory without bound (head and body limits, decompressed bytes
 * counted against the body limit). tulip_http_open streams a body of any
 * size instead, read piece by piece with backpressure.
 *
 * Server: one task per connection in a task group, keep-alive, pipelined
 * requests answered in order, limits on the head (431) and body (413),
 * malformed requests answered 400 and the connection closed; bodies
 * answered whole or streamed with backpressure.
 *
 * Everything that can suspend must be called from a task and is a
 * cancellation point (-ECANCELED / -ETIMEDOUT from the caller's scopes).
 * Objects belong to the loop that made them. */
#ifndef TULIP_HTTP_H
#define TULIP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "tulip/common.h"
#include "tulip/http_parser.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Client
 * ====================================================================== */

typedef struct tulip_http_client tulip_http_client;

/* Forward declaration so this header does not need tulip/tls.h. */
struct tulip_tls_ctx;

typedef struct tulip_http_client_opts {
    /* Connections open at once to one scheme+host+port (busy + idle);
     * further requests to that host wait, in order, for one to be free.
     * Default 6, as browsers: so 50 tasks fetching from one host run 6 at
     * a time and the rest queue (no error, but no more parallelism). Raise
     * it for a host you own or a load test; the default keeps a client
     * from opening hundreds of sockets to someone else's server. */
    unsigned per_host;
    /* An idle keep-alive connection older than this is closed instead of
     * reused (ns). Default 30 s. */
    int64_t idle_timeout;
    /* Bound on one whole call (connect, TLS, every redirect, the body), in
     * ns; TULIP_FOREVER for none. Default 30 s. */
    int64_t timeout;
    /* Redirects followed (301, 302, 303, 307, 308) before -ELOOP; 0: do
     * not follow, return the 3xx reply. Default 10. */
    unsigned max_redirects;
    /* Bound on a body in bytes after decoding (-EFBIG past it). Default
     * 10 MiB. */
    size_t max_body;
    /* Bound on a response head in bytes (-EMSGSIZE). Default 16 KiB. */
    size_t max_head;
    /* Bound on the number of response header fields (-EMSGSIZE). Default 100. */
    size_t max_headers;
    /* User-Agent sent (copied). NULL: "tulip/<version>"; "": none. */
    const char *user_agent;
    /* Send "Accept-Encoding: gzip, deflate" and decode such bodies.
     * Default true when built with zlib (always false without it). */
    bool accept_compressed;
    /* TLS for https. tls_ctx (borrowed, must outlive the client) wins;
     * otherwise the client makes its own context on first https use from
     * ca_file / insecure_skip_verify (verification is on by default). */
    struct tulip_tls_ctx *tls_ctx;
    const char *ca_file;          /* extra trusted CAs (PEM), copied */
    bool insecure_skip_verify;    /* tests only: no certificate check */
} tulip_http_client_opts;

/* Fill opts with the defaults above. */
TULIP_API void tulip_http_client_opts_init(tulip_http_client_opts *opts);

/* A client; opts NULL means the defaults. Needs no loop to be made, but is
 * used from tasks of one loop.
 * NULL with errno: ENOMEM, EINVAL (per_host == 0, max_body, max_head or
 * max_headers == 0, timeout or idle_timeout <= 0). */
TULIP_API tulip_http_client *tulip_http_client_new(const tulip_http_client_opts *opts);

/* Close every pooled connection and free c. Call it on the loop's thread
 * (from a task or after the loop ended). Errors: -EBUSY (a request is in
 * flight or a reader is open: nothing is freed). NULL is a no-op
 * returning 0. */
TULIP_API int tulip_http_client_free(tulip_http_client *c);

/* A received response. Everything is owned by the reply and freed with
 * tulip_http_reply_free. Strings are NUL-terminated (the body too, one byte
 * past body_len, so text can be used as a C string when it holds no NUL). */
typedef struct tulip_http_reply {
    int status;                   /* 100..599 */
    int minor_version;            /* HTTP/1.x */
    char *url;                    /* final URL, after redirects */
    unsigned redirects;           /* redirects followed */
    tulip_http_header *headers;   /* of the final response, in order */
    size_t num_headers;
    char *body;                   /* decoded (gzip/deflate undone) */
    size_t body_len;
    bool decoded;                 /* a Content-Encoding was undone */
    bool reused;                  /* the final request used a pooled connection */
    uint64_t bytes_in;            /* HTTP bytes received, all hops (TLS overhead not counted) */
    uint64_t bytes_out;           /* HTTP bytes sent, all hops */
    int64_t connect_ns;           /* connect + TLS of the final hop (0 if reused) */
    int64_t first_byte_ns;        /* final hop: request sent -> head received */
    int64_t total_ns;             /* the whole call */
} tulip_http_reply;

/* Free r and everything it owns. NULL is a no-op. */
TULIP_API void tulip_http_reply_free(tulip_http_reply *r);

/* The value (NUL-terminated) of the first header named name (ASCII case
 * ignored), or NULL; *len (may be NULL) gets its length. */
TULIP_API const char *tulip_http_reply_header(const tulip_http_reply *r, const char *name,
                                              size_t *len);

/* GET url (http:// or https://), following redirects. On success *out is a
 * reply to free, whatever its status (404 is a success here).
 * Errors (*out is NULL):
 *   -EINVAL           NULL argument, or a URL that is not a valid absolute
 *                     http(s) URL (no host, bad port, spaces or control
 *                     bytes), or a redirect with an unusable Location
 *   -EPROTONOSUPPORT  another scheme (also https without TLS support, and
 *                     a response in an HTTP major version other than 1)
 *   -ETIMEDOUT        the client's timeout or a caller's scope deadline
 *   -ECANCELED        the calling task or a scope was cancelled
 *   -ENOENT, -EAGAIN  name resolution (see tulip_dial)
 *   -ECONNREFUSED, -ECONNRESET, -EPIPE, -ENETUNREACH, -EHOSTUNREACH
 *                     connection errors, passed through (-ECONNRESET also
 *                     for a connection closed before any response byte)
 *   -EBADMSG          malformed response: bad status line, header or
 *                     framing (e.g. Content-Length with chunked), bad chunk,
 *                     a corrupt gzip/deflate body, an unasked 101, or a
 *                     connection closed in the middle of the head
 *   -EMSGSIZE         response head longer than max_head or with more than
 *                     max_headers fields
 *   -EFBIG            body (decoded) longer than max_body
 *   -ENODATA          truncated body: the connection ended before
 *                     Content-Length bytes or before the last chunk
 *   -ELOOP            a redirect loop (a URL seen before in this call) or
 *                     more than max_redirects redirects
 *   -EACCES           TLS certificate verification failed
 *   -EPROTO           other TLS failure
 *   -ENOMEM           out of memory
 *   -EPERM            not called from a task */
TULIP_API int tulip_http_get(tulip_http_client *c, const char *url, tulip_http_reply **out);

/* The general form: method (a token, e.g. "GET", "HEAD", "POST"), extra
 * request headers (may be NULL with n_headers 0; Host, Content-Length,
 * Connection and Transfer-Encoding are set by the client and must not be
 * given), and a body (may be NULL with body_len 0; sent with
 * Content-Length when not NULL or when method is POST/PUT/PATCH).
 * Redirects: 303 (and 301/302 for POST) turn the request into a GET
 * without body; 307/308 repeat it as is.
 * Errors: those of tulip_http_get, and -EINVAL for a bad method or a
 * forbidden/malformed extra header. */
TULIP_API int tulip_http_fetch(tulip_http_client *c, const char *method, const char *url,
                               const tulip_http_header *headers, size_t n_headers,
                               const void *body, size_t body_len, tulip_http_reply **out);

/* A request body produced piece by piece (a file, a generated stream),
 * so that an upload is never held whole. read(arg, buf, cap) puts up to
 * cap bytes in buf and returns how many (> 0), 0 at the end, or a negative
 * errno to abandon the request (returned by the fetch). */
typedef ssize_t (*tulip_http_upload_fn)(void *arg, void *buf, size_t cap);
typedef struct tulip_http_upload {
    tulip_http_upload_fn read;
    void *arg;
    int64_t length;               /* >= 0: sent with Content-Length, read must give
                                     exactly that many bytes; -1: sent chunked */
} tulip_http_upload;

/* As tulip_http_fetch with a streamed body: each piece is written as read
 * gives it, parking while the server is slow to take it (backpressure).
 * The body cannot be sent twice, so the request goes on a fresh
 * connection, is not retried, and a redirect is returned as the reply
 * instead of followed. Content-Length and Transfer-Encoding are the
 * client's (not allowed in headers).
 * Errors: those of tulip_http_fetch, read's own, -EINVAL (NULL body or
 * read, length < -1), -EMSGSIZE (read gave more than length), -ENODATA
 * (fewer). */
TULIP_API int tulip_http_fetch_upload(tulip_http_client *c, const char *method, const char *url,
                                      const tulip_http_header *headers, size_t n_headers,
                                      const tulip_http_upload *body, tulip_http_reply **out);

/* Streamed responses: the body is read piece by piece (a large download)
 * instead of held whole. tulip_http_open makes the request as
 * tulip_http_fetch does (same arguments, redirects, limits on the head,
 * pool) and returns once the final head is in; tulip_http_reader_read
 * then yields the body decoded (de-chunked, gzip/deflate undone when
 * accept_compressed), parking until bytes arrive: the server is only
 * read as fast as the caller reads (backpressure), and no memory grows
 * with the body. max_body does not apply to the streamed body (the
 * bodies of intermediate redirects are still read whole, bounded by it).
 * An open reader holds one of its host's per_host connections until
 * tulip_http_reader_close. */
typedef struct tulip_http_reader tulip_http_reader;

/* Send the request and read the final head; on success *out is a reader
 * to close, whatever its status. The client's timeout bounds this call
 * (connect, redirects, the head), as it bounds a fetch.
 * Errors (*out is NULL): those of tulip_http_fetch except -EFBIG and
 * -ENODATA for the final body, which is not read here. */
TULIP_API int tulip_http_open(tulip_http_client *c, const char *method, const char *url,
                              const tulip_http_header *headers, size_t n_headers,
                              const void *body, size_t body_len, tulip_http_reader **out);

/* The final response without its body (body NULL, body_len 0): status,
 * headers (tulip_http_reply_header), url, redirects, reused, decoded,
 * timings; bytes_in grows as the body is read. Owned by s. NULL for NULL. */
TULIP_API const tulip_http_reply *tulip_http_reader_reply(const tulip_http_reader *s);

/* Read up to n bytes of the decoded body into buf, parking while none
 * has arrived: a cancellation point. Returns the count (> 0, possibly
 * fewer than n), 0 at the end of the body (and for n == 0). The client's
 * timeout bounds each call, not the whole body: it is an idle timeout.
 * Errors:
 *   -ETIMEDOUT, -ECANCELED  the client's timeout, a caller's scope or a
 *                     cancellation; nothing was taken and reading may go on
 *   -ENODATA          truncated body: the connection ended before
 *                     Content-Length bytes or before the last chunk
 *   -EBADMSG          a bad chunk or a corrupt (or cut) gzip/deflate body
 *   -ECONNRESET, -EPIPE and other connection errors, passed through
 *   -EPROTO           TLS failure
 *   -ENOMEM           out of memory
 *   -EINVAL           NULL s, or NULL buf with n > 0
 * Every error but -ETIMEDOUT and -ECANCELED is final: later reads return
 * it again. No allocation once the connection's buffer exists. */
TULIP_API ssize_t tulip_http_reader_read(tulip_http_reader *s, void *buf, size_t n);

/* Free s and its reply. The connection goes back to the pool when the
 * body was read to its end (or its end is already received) and the
 * response allows keep-alive; otherwise it is closed, so closing early
 * is the way to abandon a body. Never parks. Errors: -EBUSY (another task
 * is parked reading s: nothing is done). NULL is a no-op returning 0. */
TULIP_API int tulip_http_reader_close(tulip_http_reader *s);

/* A tap: the exact bytes of one request and its response as they crossed
 * the wire, for archiving (WARC) and debugging. The response is kept as
 * received: the head, then the body with its chunked framing and any
 * content coding (the reply still gets the decoded body). Only the final
 * hop is kept when redirects are followed. Filled also when the call
 * fails part-way (a body cut by the limit, the timeout or a reset), so
 * what did arrive can still be archived. Zero it, set max if wanted, and
 * release its buffers with tulip_http_tap_free (reusable after). */
typedef struct tulip_http_tap {
    size_t max;                   /* in: response bytes kept; 0 = max_head + max_body + 64 KiB */
    char *request;                /* the request as sent (head and body) */
    size_t request_len;
    char *response;               /* the response as received */
    size_t response_len;
    size_t head_len;              /* bytes of response up to the end of the final
                                     head (0: no whole head arrived) */
    bool truncated;               /* bytes past max arrived and were not kept */
    bool complete;                /* the response's body ended as its framing says */
    char peer[48];                /* numeric IP address of the server, "" if unknown */
    size_t request_cap, response_cap; /* private */
} tulip_http_tap;

/* tulip_http_fetch that also fills *tap (see above). tap NULL: a fetch. */
TULIP_API int tulip_http_fetch_tap(tulip_http_client *c, const char *method, const char *url,
                                   const tulip_http_header *headers, size_t n_headers,
                                   const void *body, size_t body_len, tulip_http_tap *tap,
                                   tulip_http_reply **out);

/* Free the tap's buffers (max is kept; the tap can be used again). NULL is
 * a no-op. */
TULIP_API void tulip_http_tap_free(tulip_http_tap *tap);

typedef struct tulip_http_client_stats {
    uint64_t requests;            /* requests sent (each hop counts) */
    uint64_t connections;         /* connections opened */
    uint64_t reused;              /* requests sent on a pooled connection */
    size_t open;                  /* connections open now (busy + idle) */
    size_t idle;                  /* idle pooled connections now */
} tulip_http_client_stats;

/* Counters of c. Errors: -EINVAL (NULL). */
TULIP_API int tulip_http_client_stats_get(const tulip_http_client *c, tulip_http_client_stats *out);

/* A parsed absolute http(s) URL; slices into the string given. */
typedef struct tulip_http_url {
    bool https;
    const char *host;             /* without brackets for IPv6 literals */
    size_t host_len;
    bool ipv6;                    /* host was [..] */
    int port;                     /* explicit or the scheme's default */
    const char *path;             /* path + query, "/" when empty; no fragment.
                                     "http://h?q" gives "?q" (sent as "/?q") */
    size_t path_len;
} tulip_http_url;

/* Split url. The fragment (#...) is dropped; userinfo is rejected.
 * Errors: -EPROTONOSUPPORT (scheme other than http/https), -EINVAL
 * (malformed: no "//", empty host, bad port, bytes that are not visible
 * ASCII). */
TULIP_API int tulip_http_url_parse(const char *url, tulip_http_url *out);

/* RFC 3986 5.2.4 (remove_dot_segments) on the path path[0..n), which
 * begins with '/' (no query, no fragment), in place: "/a/b/../c/./d"
 * becomes "/a/c/d". Returns the new length, never more than n. The one
 * remover of the house: the client resolves redirects with it and the
 * crawler canonicalises its URLs with it. */
TULIP_API size_t tulip_http_path_remove_dots(char *path, size_t n);

/* ======================================================================
 * Server
 * ====================================================================== */

typedef struct tulip_http_server tulip_http_server;
typedef struct tulip_http_responder tulip_http_responder;

typedef struct tulip_http_server_opts {
    size_t max_head;              /* request head bytes (431; a request line alone
                                     that long: 414). Default 16 KiB */
    size_t max_headers;           /* request header fields (431). Default 100 */
    size_t max_body;              /* request body bytes (413; with Expect:
                                     100-continue, 413 instead of 100). Default 1 MiB */
    int64_t idle_timeout;         /* keep-alive wait for the next request (ns). Default 60 s */
    int64_t request_timeout;      /* from a request's first byte to its last body byte
                                     read, head and body together (ns). Default 30 s */
    size_t max_connections;       /* connections open at once: past it the oldest idle
                                     one is closed to make room, else the new one gets
                                     503 and is closed. Default 10000 */
    /* Added in 0.2 (see docs/SECURITY.md for what happens at each limit): */
    int64_t header_timeout;       /* a new connection's wait for its first byte (ns).
                                     Default 10 s */
    int64_t send_timeout;         /* the longest a response write may wait for the
                                     client to take one byte (ns). Default 30 s */
    unsigned max_requests;        /* requests per connection, then Connection: close.
                                     Default 1000 (as nginx) */
    bool whole_body;              /* read each request body whole before calling the
                                     handler (req->body, at most max_body bytes).
                                     Default false: the handler reads it with
                                     tulip_http_request_read / tulip_http_request_body */
} tulip_http_server_opts;

/* Fill opts with the defaults above. */
TULIP_API void tulip_http_server_opts_init(tulip_http_server_opts *opts);

/* A request as the handler sees it: slices valid until the handler
 * returns. */
typedef struct tulip_http_request_view {
    const char *method;
    size_t method_len;
    const char *target;           /* as sent: path + query (or absolute form) */
    size_t target_len;
    const char *path;             /* target up to '?' */
    size_t path_len;
    int minor_version;
    const tulip_http_header *headers;
    size_t num_headers;
    const char *body;             /* with opts.whole_body: the whole request body
                                     (de-chunked); otherwise NULL, see below */
    size_t body_len;
    bool keep_alive;              /* the client wants the connection kept */
    bool head;                    /* method is HEAD: the server drops any body sent */
    int64_t content_length;       /* the body's length: 0 none, -1 chunked (unknown) */
} tulip_http_request_view;

/* Called in the connection's task for each request. It must answer with
 * one of the respond calls (or start a piecewise answer, see
 * tulip_http_respond_start); returning without answering sends 500.
 * Returning < 0 closes the connection after the answer (if any). */
typedef int (*tulip_http_handler)(void *arg, const tulip_http_request_view *req,
                                  tulip_http_responder *res);

/* NULL with errno: ENOMEM, EINVAL (NULL handler, a zero limit or timeout). */
TULIP_API tulip_http_server *tulip_http_server_new(const tulip_http_server_opts *opts,
                                                   tulip_http_handler handler, void *arg);

/* Bind and listen on a TCP address ("127.0.0.1:0", "[::1]:8080", ":80").
 * Errors: those of tulip_listen, -EALREADY (already listening), -EINVAL. */
TULIP_API int tulip_http_server_listen(tulip_http_server *srv, const char *address);

/* Serve on an already listening socket, which srv then owns.
 * Errors: -EALREADY, -EINVAL. */
TULIP_API int tulip_http_server_listen_fd(tulip_http_server *srv, int fd);

/* The bound port, or -EINVAL (not listening) / tulip_local_port's errors. */
TULIP_API int tulip_http_server_port(const tulip_http_server *srv);

/* Accept and serve connections (one task each) until
 * tulip_http_server_shutdown; then cancel and join every connection task
 * and return 0. Call it from a task (typically a spawned one).
 * Errors: -EINVAL (not listening), -EBUSY (already serving), -ECANCELED /
 * -ETIMEDOUT (the serving task was cancelled: connections are cancelled
 * and joined first), -ENOMEM, -EPERM. */
TULIP_API int tulip_http_server_serve(tulip_http_server *srv);

/* tulip_http_server_serve as a task body: tulip_spawn(tulip_http_server_task, srv). */
TULIP_API int tulip_http_server_task(void *srv);

/* Ask serve to stop: closes the listener, cancels the connections. From
 * any task or callback of the loop; idempotent; before serve runs it makes
 * serve return at once. */
TULIP_API void tulip_http_server_shutdown(tulip_http_server *srv);

/* Free srv (closing the listener). Errors: -EBUSY (serve is running:
 * nothing is freed; shut it down and let serve return first). NULL is a
 * no-op returning 0. */
TULIP_API int tulip_http_server_free(tulip_http_server *srv);

typedef struct tulip_http_server_stats {
    uint64_t connections;         /* accepted so far */
    uint64_t requests;            /* requests parsed (answered or rejected) */
    size_t active;                /* connections open now */
    size_t peak_active;           /* highest `active` seen */
    uint64_t reclaimed;           /* idle connections closed to make room */
    uint64_t rejected;            /* connections refused (503) at max_connections, or
                                     reset at the fd limit */
    uint64_t timeouts;            /* connections closed by a header, idle, request or
                                     send timeout */
    size_t buffered;              /* bytes held in connection buffers now */
    size_t peak_buffered;         /* highest `buffered` seen */
} tulip_http_server_stats;

/* Errors: -EINVAL (NULL). */
TULIP_API int tulip_http_server_stats_get(const tulip_http_server *srv, tulip_http_server_stats *out);

/* ---- One server per loop (tulip_config.workers) ------------------------
 * A group of servers, one on each of n loops of the run, with the same
 * opts and handler (called on the loop that accepted the connection, so a
 * handler touching shared state must use the cross-loop primitives).
 * Listening, by default (flags 0) as measured best for the loops' backend
 * (docs/PERFORMANCE.md, "Several cores"): on epoll (the default backend)
 * one listener whose dups every loop waits on with EPOLLEXCLUSIVE, so a
 * connection goes to a loop that is waiting; on poll and io_uring one
 * SO_REUSEPORT listener per loop on the same port (poll would wake every
 * loop per connection, and io_uring's exclusive accept gives every
 * connection to one ring). TULIP_HTTP_SHARED_LISTENER or
 * TULIP_HTTP_REUSEPORT asks for one of them on any backend. */
typedef struct tulip_http_workers tulip_http_workers;
#define TULIP_HTTP_SHARED_LISTENER 1u
#define TULIP_HTTP_REUSEPORT 2u

/* From a task of the run; loops 0 = every loop (tulip_loop_count()),
 * the caller's first. NULL with errno: EINVAL (more loops than the run
 * has, unknown flags or both listener flags, bad opts), EPERM (not on a
 * loop), ENOMEM. */
TULIP_API tulip_http_workers *tulip_http_workers_new(const tulip_http_server_opts *opts,
                                                     tulip_http_handler handler, void *arg,
                                                     unsigned loops, unsigned flags);
TULIP_API unsigned tulip_http_workers_count(const tulip_http_workers *w);
/* Listen on a TCP address (port 0: any free one, then the same for every
 * loop); from a task of the creating loop. Errors: as tulip_listen,
 * -EALREADY, -EPERM (another loop). */
TULIP_API int tulip_http_workers_listen(tulip_http_workers *w, const char *address);
TULIP_API int tulip_http_workers_port(const tulip_http_workers *w);
/* Once listening: TULIP_HTTP_SHARED_LISTENER or TULIP_HTTP_REUSEPORT, how
 * it listens; 0 before. */
TULIP_API unsigned tulip_http_workers_listener(const tulip_http_workers *w);
/* Serve on every loop until tulip_http_workers_shutdown (or until this
 * task is cancelled, which shuts every loop down); returns once every
 * loop's server has stopped and joined its connections: 0, or the first
 * error of a loop. From a task of the creating loop. */
TULIP_API int tulip_http_workers_serve(tulip_http_workers *w);
TULIP_API int tulip_http_workers_task(void *w);
/* Stop every loop's server (as tulip_http_server_shutdown). Any thread. */
TULIP_API void tulip_http_workers_shutdown(tulip_http_workers *w);
/* The servers' stats summed (peaks are the sum of each loop's peak). While
 * serving, from a task (each loop's figures are read on that loop).
 * Errors: -EINVAL, -ENOMEM. */
TULIP_API int tulip_http_workers_stats_get(tulip_http_workers *w, tulip_http_server_stats *out);
/* Errors: -EBUSY (still serving). NULL is a no-op. */
TULIP_API int tulip_http_workers_free(tulip_http_workers *w);

/* tulip_http_respond_ex flags. */
#define TULIP_HTTP_CHUNKED 1u  /* send the body chunked (no Content-Length) */
#define TULIP_HTTP_CLOSE   2u  /* close the connection after this response; with
                                  TULIP_HTTP_NO_LENGTH, the body ends at close */
#define TULIP_HTTP_NO_LENGTH 4u /* with TULIP_HTTP_CLOSE: no Content-Length,
                                  a close-delimited body (HTTP/1.0 style) */

/* Answer with status, a Content-Type (NULL: none) and a body of len bytes
 * (sent with Content-Length; dropped for HEAD, the length still announced).
 * Written with one writev when possible.
 * Errors: -EALREADY (already answered), -EINVAL (status outside 100..599
 * or 1xx, NULL res, NULL body with len > 0), -EPIPE, -ECONNRESET and other
 * write errors, -ECANCELED, -ETIMEDOUT, -ENOMEM. */
TULIP_API int tulip_http_respond(tulip_http_responder *res, int status, const char *content_type,
                                 const void *body, size_t len);

/* As tulip_http_respond with extra headers (e.g. Location, Content-Type,
 * Content-Encoding; Content-Length, Transfer-Encoding and Connection are
 * the server's and are rejected with -EINVAL) and flags above. */
TULIP_API int tulip_http_respond_ex(tulip_http_responder *res, int status,
                                    const tulip_http_header *headers, size_t n_headers,
                                    const void *body, size_t len, unsigned flags);

/* Piecewise responses: a body written piece by piece (a large file, a
 * generated feed) instead of held whole. respond_start sends the head,
 * respond_write sends body bytes as they come, parking while the client
 * is slow to read (backpressure), respond_end finishes the body. No
 * allocation per write. A handler that returns after respond_start
 * without respond_end is ended by the server (a chunked body is
 * terminated; a Content-Length body still short closes the connection).
 * After a properly ended answer the connection stays open for the next
 * request as after any other answer.
 *
 * A write or end that fails (the client went away, a cancellation or a
 * deadline) breaks the answer: part of the bytes may have been sent, so
 * later writes and end return that same error without writing, and the
 * connection is closed when the handler returns. */

/* Start a piecewise answer: status and extra headers as for
 * tulip_http_respond_ex (Content-Length, Transfer-Encoding and Connection
 * are the server's), and the body framing:
 *   content_length >= 0  sent as Content-Length; the writes must add up to
 *                        exactly that many bytes
 *   content_length < 0   length unknown: chunked to an HTTP/1.1 client; to
 *                        an HTTP/1.0 client the body ends when the
 *                        connection closes (Connection: close)
 * flags: 0 or TULIP_HTTP_CLOSE (close the connection after the answer).
 * For HEAD requests, 204 and 304 the head is sent and the writes are
 * accepted (counted against content_length) and dropped.
 * The head is written at once, so the client sees it before the first
 * body byte exists (useful for long-lived answers such as event feeds).
 * Errors: -EALREADY (already answered or started), -EINVAL (NULL res,
 * status outside 200..599, a forbidden or malformed header, other flags),
 * -EPIPE, -ECONNRESET and other write errors, -ECANCELED, -ETIMEDOUT,
 * -ENOMEM. After a write error the answer is started and broken (see
 * above). */
TULIP_API int tulip_http_respond_start(tulip_http_responder *res, int status,
                                       const tulip_http_header *headers, size_t n_headers,
                                       int64_t content_length, unsigned flags);

/* Send len bytes of the body (one chunk when chunked; len 0 sends
 * nothing and returns at once), parking while the socket is full: a
 * cancellation point.
 * Returns len once every byte was handed to the kernel.
 * Errors: -EINVAL (not started, NULL res, NULL buf with len > 0),
 * -EALREADY (already ended), -EMSGSIZE (more than content_length in all;
 * nothing is written and the answer stays usable), -EPIPE, -ECONNRESET
 * and other write errors, -ECANCELED, -ETIMEDOUT (the answer is then
 * broken, see above). */
TULIP_API ssize_t tulip_http_respond_write(tulip_http_responder *res, const void *buf,
                                           size_t len);

/* Finish the body: the last chunk when chunked; nothing to send
 * otherwise. A cancellation point (the last chunk may park).
 * Errors: -EINVAL (not started, NULL res), -EALREADY (already ended),
 * -ENODATA (fewer bytes than content_length were written: the client
 * cannot tell the body ended, so the connection is closed after it),
 * the error that broke the answer, or that of the last chunk (-EPIPE,
 * -ECONNRESET, -ECANCELED, -ETIMEDOUT...). In every case the response is
 * over once end returns. */
TULIP_API int tulip_http_respond_end(tulip_http_responder *res);

/* Reading the request body (unless opts.whole_body, which reads it before
 * the handler runs). The body comes from the socket as the handler asks
 * for it, so a slow handler slows the client down (backpressure) and the
 * server holds no more than one read buffer per connection. Both calls
 * wait at most until the request's deadline (request_timeout after its
 * first byte). A 100 Continue is sent, when the client asked for one, at
 * the first read. Whatever the handler leaves unread is read and dropped
 * after it returns (or the connection is closed if the client still waits
 * for 100 Continue). After an error the connection is closed once the
 * handler has answered. */

/* Read up to cap bytes of the body (de-chunked). Returns the count, 0 at
 * the end of the body. A cancellation point.
 * Errors: -EINVAL (NULL res, NULL buf with cap > 0), -EFBIG (a chunked
 * body over max_body), -EBADMSG (bad chunked framing), -ECONNRESET (the
 * client closed before the end), -ETIMEDOUT (request_timeout), -ECANCELED,
 * other read errors. */
TULIP_API ssize_t tulip_http_request_read(tulip_http_responder *res, void *buf, size_t cap);

/* Read the rest of the body whole into the connection's buffer (at most
 * max_body bytes) and point *body at it (valid until the handler returns;
 * NUL-terminated). Same errors as tulip_http_request_read. */
TULIP_API int tulip_http_request_body(tulip_http_responder *res, const char **body, size_t *len);

/* The standard reason phrase for status ("OK", "Not Found"), "" if unknown. */
TULIP_API const char *tulip_http_reason(int status);

#ifdef __cplusplus
}
#endif
#endif /* TULIP_HTTP_H */
