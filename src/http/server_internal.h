/* What the server's connection loop (server.c) and the streaming response
 * writer (server_stream.c) share: the connection, the responder and the
 * head writer. */
#ifndef TULIP_HTTP_SERVER_INTERNAL_H
#define TULIP_HTTP_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "http_internal.h"

typedef struct tulip__sconn {
    tulip_http_server *srv;
    int fd;
    tulip__hbuf in;                 /* [off, in.len) unread */
    size_t off;
    tulip__hbuf out;                /* response head */
    tulip_http_header *hdrs;
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
 * Connection. Errors: -ENOMEM. */
int tulip__http_build_head(tulip_http_responder *res, int status, const tulip_http_header *headers,
                           size_t n_headers, int frame, uint64_t len, bool close);

/* Write every byte of iov[0..n) (iov is consumed). On error a prefix
 * may have gone out. Errors: those of tulip_writev. */
int tulip__http_write_all(int fd, struct iovec *iov, int n);

/* A chunk-size line ("1f40\r\n") for len, written at the end of buf;
 * returns where it starts (it ends at buf + TULIP__CHUNK_LINE). */
#define TULIP__CHUNK_LINE 20
const char *tulip__http_chunk_line(char buf[TULIP__CHUNK_LINE], uint64_t len);

/* The handler returned: end a stream it left open (see
 * tulip_http_respond_start). */
void tulip__http_stream_finish(tulip_http_responder *res);

#endif
