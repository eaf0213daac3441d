/* Shared pieces of the HTTP client and server: a growable byte buffer,
 * the body sink (size limit + gzip/deflate decoding), the connection pool. */
#ifndef TULIP_HTTP_INTERNAL_H
#define TULIP_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#ifdef TULIP_HAVE_ZLIB
#include <zlib.h>
#endif

#include "tulip/http.h"
#include "tulip/stream.h"
#include "tulip/sync.h"

/* ---- byte buffer ---------------------------------------------------- */

typedef struct tulip__hbuf {
    char *p;
    size_t len;
    size_t cap;
} tulip__hbuf;

/* Make room for extra more bytes (plus one for a terminating NUL).
 * Errors: -ENOMEM. */
int tulip__hbuf_reserve(tulip__hbuf *b, size_t extra);
int tulip__hbuf_add(tulip__hbuf *b, const void *p, size_t n);
int tulip__hbuf_adds(tulip__hbuf *b, const char *s);
int tulip__hbuf_addu(tulip__hbuf *b, uint64_t v);
void tulip__hbuf_free(tulip__hbuf *b);

/* ---- body sink ------------------------------------------------------ */

enum {
    TULIP__CODING_IDENTITY, TULIP__CODING_GZIP, TULIP__CODING_DEFLATE, TULIP__CODING_OTHER,
    TULIP__CODING_BR, TULIP__CODING_ZSTD,
};

/* The coding a Content-Encoding value names (OTHER for anything we do not
 * decode, stacked codings included). */
int tulip__http_coding(const char *v, size_t n);

typedef struct tulip__http_sink {
    tulip__hbuf out;
    size_t max;        /* bound on decoded bytes */
    uint64_t raw;      /* bytes received */
    uint64_t max_raw;  /* bound on bytes received */
    int coding;
    int zstate;        /* 0 not started, 1 inflating, 2 stream ended */
    unsigned char probe[2];
    unsigned nprobe;   /* probe bytes received */
    unsigned nprobed;  /* probe bytes zlib has taken */
#ifdef TULIP_HAVE_ZLIB
    z_stream z;
#endif
    void *dec;         /* br or zstd decoder (coding.c) */
    int dstate;        /* as zstate, for it */
} tulip__http_sink;

/* What the client offers: every coding this build decodes. */
#ifdef TULIP_HAVE_BROTLI
#define TULIP__ACCEPT_BR ", br"
#else
#define TULIP__ACCEPT_BR ""
#endif
#ifdef TULIP_HAVE_ZSTD
#define TULIP__ACCEPT_ZSTD ", zstd"
#else
#define TULIP__ACCEPT_ZSTD ""
#endif
#define TULIP__ACCEPT_ENCODING "Accept-Encoding: gzip, deflate" TULIP__ACCEPT_BR TULIP__ACCEPT_ZSTD "\r\n"

/* True for a coding the sink decodes (not identity, not unknown). */
bool tulip__http_coding_compressed(int coding);

/* br and zstd (coding.c): built in?  Then the sink's decode step for them
 * (as tulip__http_sink_decode), whether the stream ended, and release. */
bool tulip__http_coding_built(int coding);
ssize_t tulip__http_coding_decode(tulip__http_sink *s, const char *p, size_t n, size_t *used, char *out,
                                  size_t cap);
bool tulip__http_coding_ended(const tulip__http_sink *s);
void tulip__http_coding_drop(tulip__http_sink *s);

void tulip__http_sink_init(tulip__http_sink *s, size_t max, int coding);
/* Errors: -EFBIG (past max), -EBADMSG (corrupt compressed data), -ENOMEM. */
int tulip__http_sink_put(tulip__http_sink *s, const char *p, size_t n);
/* Decode the received bytes p[0..n) into out[0..cap) (cap > 0), without
 * the limits and without touching s->out: *used gets the bytes of p
 * taken, the result is the bytes written (0 when zlib needs more input).
 * n == 0 drains what zlib held back for want of room. Identity and
 * unknown codings are copied. Errors: -EBADMSG, -ENOMEM. */
ssize_t tulip__http_sink_decode(tulip__http_sink *s, const char *p, size_t n, size_t *used, char *out,
                                size_t cap);
/* 0 if the decoded body may end here (a compressed stream ended, or
 * nothing was received), else -EBADMSG. */
int tulip__http_sink_ended(const tulip__http_sink *s);
/* The body is complete: a compressed stream must have ended. The output is
 * NUL-terminated (and allocated even when empty). Errors: -EBADMSG, -ENOMEM. */
int tulip__http_sink_finish(tulip__http_sink *s);
/* Release zlib state (and the output unless taken). */
void tulip__http_sink_drop(tulip__http_sink *s);

/* ---- connections ---------------------------------------------------- */

typedef struct tulip__http_host tulip__http_host;
typedef struct tulip__http_conn tulip__http_conn;

/* The framing of one response body as it is read off a connection: the
 * one implementation behind buffered replies and streams. */
typedef struct tulip__http_body_rd {
    int kind;                /* tulip_http_body */
    bool done;               /* the framing ended: once ready is taken, so has the body */
    bool keep_alive;         /* the response lets the connection carry another */
    size_t ready;            /* body bytes (chunk framing removed) at conn->in.p + conn->off */
    uint64_t left;           /* LENGTH: bytes not yet made ready */
    tulip_http_chunked ch;
} tulip__http_body_rd;

/* The tap (client_tap.c). start: reset t, record the request and attach t
 * to conn (-ENOMEM); in: append received bytes (bounded by its max);
 * head: the final head ends at conn->off; end: the exchange is over (the
 * body complete or not), detach. head and end are no-ops untapped. */
int tulip__http_tap_start(tulip_http_tap *t, tulip__http_conn *conn, size_t dflt_max, const char *head,
                          size_t head_len, const void *body, size_t body_len);
void tulip__http_tap_in(tulip__http_conn *conn, const char *p, size_t n);
void tulip__http_tap_head(tulip__http_conn *conn);
void tulip__http_tap_end(tulip__http_conn *conn, bool complete);

/* Read more of the connection into conn->in (adding to *bytes_in): the
 * byte count, 0 at EOF, or the error of tulip_stream_read, -ENOMEM. */
ssize_t tulip__http_fill(tulip__http_conn *conn, uint64_t *bytes_in);
void tulip__http_body_init(tulip__http_body_rd *rd, const tulip_http_response *res);
/* Make body bytes ready at conn->in.p + conn->off, reading the connection
 * when none are buffered (adding to *bytes_in) unless nofill. Returns how
 * many are ready (taken with tulip__http_body_take), 0 at the end of the
 * body. Errors: -ENODATA (the connection ended early), -EBADMSG (bad
 * chunk), -EWOULDBLOCK (nofill and nothing buffered), those of
 * tulip_stream_read, -ENOMEM. */
ssize_t tulip__http_body_next(tulip__http_body_rd *rd, tulip__http_conn *conn, uint64_t *bytes_in,
                              bool nofill);
void tulip__http_body_take(tulip__http_body_rd *rd, tulip__http_conn *conn, size_t n);
/* Whether the connection may go back to the pool after this body. */
bool tulip__http_body_reusable(const tulip__http_body_rd *rd);

struct tulip__http_conn {
    tulip__http_host *host;
    tulip_stream *s;
    tulip__hbuf in;                 /* received bytes; [off, in.len) unread */
    size_t off;
    tulip_http_header *hdrs;        /* parser header slots */
    int64_t idle_since;
    uint64_t uses;
    tulip_http_tap *tap;            /* while a tapped request runs: gets every byte read */
    size_t tap_max;
    struct tulip__http_conn *next;  /* idle list */
};

struct tulip__http_host {
    char *name;                     /* host for DNS and SNI, no brackets */
    char *addr;                     /* for tulip_dial: "host:port" or "[v6]:port" */
    bool https;
    int port;
    tulip_sem slots;                /* busy connections */
    tulip__http_conn *idle;         /* most recently used first */
    size_t nidle;
    size_t open;
    struct tulip__http_host *next;
};

struct tulip_http_client {
    tulip_http_client_opts o;
    char *user_agent;
    char *ca_file;
    struct tulip_tls_ctx *tls;
    bool own_tls;
    tulip__http_host *hosts;
    tulip_http_client_stats st;
};

/* Take a connection to u's host, waiting for a slot: an idle one unless
 * fresh, else a new one. *connect_ns gets the connect+TLS time (0 if
 * reused). Errors: those of tulip_dial and the TLS handshake, -ENOMEM,
 * -ECANCELED, -ETIMEDOUT, -EPROTONOSUPPORT (https without TLS). */
int tulip__http_pool_get(tulip_http_client *c, const tulip_http_url *u, bool fresh,
                         tulip__http_conn **out, int64_t *connect_ns);
/* Give conn back: pooled if reusable, else closed. Never parks. */
void tulip__http_pool_put(tulip_http_client *c, tulip__http_conn *conn, bool reusable);
/* Close every idle connection and free the hosts. */
void tulip__http_pool_free(tulip_http_client *c);
/* true while a request or an open reader holds a connection slot, or a
 * task waits for one (tulip_http_client_free refuses with -EBUSY). */
bool tulip__http_pool_busy(const tulip_http_client *c);

/* One request as tulip_http_fetch makes it (arguments checked there,
 * under the client's timeout). With keep NULL the final body is read
 * into the reply; otherwise the final response's connection is left in
 * *keep with its body unread, framed by *rd, and the reply has no body. */
int tulip__http_request(tulip_http_client *c, const char *method, const char *url,
                        const tulip_http_header *headers, size_t n_headers, const void *body,
                        size_t body_len, tulip_http_reply **out, tulip__http_conn **keep,
                        tulip__http_body_rd *rd, tulip_http_tap *tap);
/* The same with a streamed body (up != NULL; body must then be NULL):
 * tulip_http_fetch_upload. */
int tulip__http_request_up(tulip_http_client *c, const char *method, const char *url,
                           const tulip_http_header *headers, size_t n_headers, const void *body,
                           size_t body_len, const tulip_http_upload *up, tulip_http_reply **out,
                           tulip__http_conn **keep, tulip__http_body_rd *rd, tulip_http_tap *tap);

/* The coding of r's body as the client decodes it (OTHER when it does
 * not, or for stacked codings). */
int tulip__http_reply_coding(tulip_http_client *c, const tulip_http_reply *r);

/* The port a URL without one means: the parser fills it in, the Host
 * header leaves it out. */
static inline int tulip__http_default_port(bool https)
{
    return https ? 443 : 80;
}

/* Resolve ref against the absolute URL base (RFC 3986 section 5.2, enough
 * for Location headers) into a new string without fragment; bytes outside
 * visible ASCII are percent-encoded. NULL with errno ENOMEM, EINVAL. */
char *tulip__http_resolve(const char *base, const char *ref, size_t ref_len);

#endif
