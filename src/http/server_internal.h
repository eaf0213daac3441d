/* What the server's connection loop (server.c, which reads requests), the
 * request body reader (server_body.c) and the response writer (response.c,
 * which turns answers into bytes) share: the server, the connection, the
 * responder, the head writer and the buffer accounting. server.c calls
 * into server_body.c and response.c, never the other way round. */
#ifndef TULIP_HTTP_SERVER_INTERNAL_H
#define TULIP_HTTP_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "http_internal.h"
#include "tulip/task.h"
#include "../common/dlist.h"

typedef struct tulip__sconn {
    tulip_http_server *srv;
    int fd;
    int64_t send_timeout;           /* progress-based, per write (response.c) */
    uint64_t sent;                  /* bytes the socket took */
    bool send_timed_out;
    tulip__hbuf in;                 /* [off, in.len) unread */
    size_t off;
    tulip__hbuf out;                /* response head */
    tulip_http_header *hdrs;
    /* The current head's parser once its first read did not hold it all:
     * kept across reads, so each byte of a head sent in many pieces is
     * checked once (a fresh parser per read checks the head again from
     * its start every time: quadratic for a slow sender). It holds
     * offsets only, so `in` may grow (move) between reads. */
    tulip_http_parser hp;
    bool hp_live;                   /* hp holds the unfinished head's state */
    size_t hp_len;                  /* in.len at hp's last call (head_checked) */
    size_t accounted;               /* in.cap + out.cap as last told to the stats */
    /* The server's list of connections waiting for a request's first
     * byte, oldest first: the ones closed to make room. */
    struct tulip__dlink idle_link;
    bool idle;
    bool reclaimed;
    bool timed_out;                 /* a header, idle or request timeout ended it */
    /* The wait for a request head: one scope for the connection's life,
     * its deadline set while reading a head and TULIP_FOREVER otherwise,
     * so a head read costs two deadline moves, which leave the loop's
     * timer heap alone (src/loop/timer_heap.h), instead of a timer filed
     * and taken out per request. In conn_task's frame. */
    tulip_scope *rs;
    unsigned requests;
    /* The current request's body, read as the handler asks (server.c). */
    int64_t deadline;               /* request_timeout after its first byte */
    unsigned char body_kind;        /* TULIP_HTTP_BODY_* */
    bool body_done;                 /* every body byte read */
    bool expect_continue;           /* 100 Continue owed before the first read */
    int body_err;                   /* a read failed: close after the answer */
    uint64_t body_left;             /* BODY_LENGTH: bytes still to read */
    size_t body_base;               /* where the body begins in `in` (the head's end) */
    size_t body_at;                 /* the next body byte in `in`; once the body is */
                                    /* read, where the next request begins */
    size_t body_avail;              /* chunked: decoded bytes at body_at not handed out */
    tulip_http_chunked dec;
    tulip__hbuf body;               /* a body read whole (tulip_http_request_body) */
} tulip__sconn;

/* How a response body is delimited on the wire. */
enum { TULIP__FRAME_LENGTH, TULIP__FRAME_CHUNKED, TULIP__FRAME_CLOSE };

struct tulip_http_responder {
    tulip__sconn *c;
    const tulip_http_request_view *req;
    bool done;                      /* answered, or a stream started */
    bool close;                     /* close the connection after this response */
    /* Streaming (tulip_http_respond_start) */
    bool streaming;
    bool ended;
    bool no_body;                   /* HEAD, 204, 304: writes are dropped */
    unsigned char frame;            /* TULIP__FRAME_* */
    int err;                        /* first write error: the stream is broken */
    uint64_t left;                  /* FRAME_LENGTH: bytes still owed */
};

/* -EINVAL unless headers may be sent as given by a handler (no CR/LF/NUL,
 * none of the headers the server owns). */
int tulip__http_check_headers(const tulip_http_header *headers, size_t n_headers);

/* Build the response head in res->c->out: status line, Server, Date, the
 * handler's headers, the framing header (Content-Length: len for
 * FRAME_LENGTH, Transfer-Encoding for FRAME_CHUNKED; none for 204/304) and
 * Connection, with room bytes free after it (and its NUL) for what the
 * caller adds. Errors: -ENOMEM. */
int tulip__http_build_head(tulip_http_responder *res, int status, const tulip_http_header *headers,
                           size_t n_headers, int frame, uint64_t len, bool close, size_t room);

/* Write every byte of iov[0..n) (iov is consumed), each wait for the
 * socket bounded by c->send_timeout. On error a prefix may have gone out.
 * Errors: those of tulip_writev, -ETIMEDOUT (c->send_timed_out is set). */
int tulip__http_write_all(tulip__sconn *c, struct iovec *iov, int n);

/* A chunk-size line ("1f40\r\n") for len, written at the end of buf;
 * returns where it starts (it ends at buf + TULIP__CHUNK_LINE). */
#define TULIP__CHUNK_LINE 20
const char *tulip__http_chunk_line(char buf[TULIP__CHUNK_LINE], uint64_t len);

/* The handler returned: end a stream it left open (see
 * tulip_http_respond_start). */
void tulip__http_stream_finish(tulip_http_responder *res);

/* The server's own short answer to a request it refuses (status >= 400),
 * announcing Connection: close. Errors: -ENOMEM, write errors. */
int tulip__http_answer_error(tulip__sconn *c, int status);

/* The server (server.c runs it; its stats are kept by every part). */
struct tulip_http_server {
    tulip_http_server_opts o;
    tulip_http_handler handler;
    void *arg;
    int lfd;
    bool serving;
    bool stop;
    bool scope_open;
    tulip_scope scope;
    tulip_http_server_stats st;
    struct tulip__dlist idle;       /* sconns waiting for a request, oldest first */
    size_t reclaiming;              /* shut down to make room, not yet gone */
    /* Bytes of heads that did not come whole in one read that were handed
     * to a parser to check (a fresh pass counts all it is given, hp only
     * what it had not seen): tulip_test_http_head_checked. */
    uint64_t head_checked;
};

/* Tell the server's stats how much c's buffers hold now (the connection
 * loop and the body reader both grow them). */
static inline void tulip__http_account(tulip__sconn *c)
{
    tulip_http_server_stats *st = &c->srv->st;
    size_t now = c->in.cap + c->out.cap + c->body.cap;
    st->buffered = st->buffered + now - c->accounted;
    c->accounted = now;
    if (st->buffered > st->peak_buffered)
        st->peak_buffered = st->buffered;
}

/* Request bodies (server_body.c). answered: the response has started, so
 * no 100 Continue is sent any more. */
/* Up to cap body bytes into buf; 0 at the end. Errors: see
 * tulip_http_request_read; after one, c->body_err is set. */
ssize_t tulip__http_body_read(tulip__sconn *c, char *buf, size_t cap, bool answered);
/* The rest of the body appended to c->body. */
int tulip__http_body_whole(tulip__sconn *c, bool answered);
/* Read and drop what the handler left of the body: true when the
 * connection may serve another request. */
bool tulip__http_body_skip(tulip__sconn *c);

#endif
