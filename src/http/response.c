/* Writing responses: whole ones (tulip_http_respond: one send for head
 * and a small body, one writev for head and a larger one) and streamed ones (tulip_http_respond_start/write/end: the
 * head goes out at start, then every write goes straight to the socket,
 * as one chunk when chunked, so the body is never held by the server and
 * a slow client parks the handler instead of growing a buffer). The
 * connection loop that calls the handler is in server.c; this file only
 * turns answers into bytes on the wire. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "server_internal.h"
#include "../io/io_internal.h"
#include "tulip/io.h"
#include "tulip/net.h"
#include "tulip/task.h"

/* Reason phrases with their lengths, so a head is built by copying. */
struct reason {
    const char *s;
    size_t n;
};
#define R(x) {x, sizeof x - 1}

static struct reason reason_of(int status)
{
    switch (status) {
    case 100: return (struct reason)R("Continue");
    case 101: return (struct reason)R("Switching Protocols");
    case 200: return (struct reason)R("OK");
    case 201: return (struct reason)R("Created");
    case 202: return (struct reason)R("Accepted");
    case 204: return (struct reason)R("No Content");
    case 206: return (struct reason)R("Partial Content");
    case 301: return (struct reason)R("Moved Permanently");
    case 302: return (struct reason)R("Found");
    case 303: return (struct reason)R("See Other");
    case 304: return (struct reason)R("Not Modified");
    case 307: return (struct reason)R("Temporary Redirect");
    case 308: return (struct reason)R("Permanent Redirect");
    case 400: return (struct reason)R("Bad Request");
    case 401: return (struct reason)R("Unauthorized");
    case 403: return (struct reason)R("Forbidden");
    case 404: return (struct reason)R("Not Found");
    case 405: return (struct reason)R("Method Not Allowed");
    case 408: return (struct reason)R("Request Timeout");
    case 410: return (struct reason)R("Gone");
    case 413: return (struct reason)R("Content Too Large");
    case 414: return (struct reason)R("URI Too Long");
    case 415: return (struct reason)R("Unsupported Media Type");
    case 429: return (struct reason)R("Too Many Requests");
    case 431: return (struct reason)R("Request Header Fields Too Large");
    case 500: return (struct reason)R("Internal Server Error");
    case 501: return (struct reason)R("Not Implemented");
    case 502: return (struct reason)R("Bad Gateway");
    case 503: return (struct reason)R("Service Unavailable");
    case 504: return (struct reason)R("Gateway Timeout");
    case 505: return (struct reason)R("HTTP Version Not Supported");
    default: return (struct reason)R("");
    }
}

const char *tulip_http_reason(int status)
{
    return reason_of(status).s;
}

/* ---- writing ----------------------------------------------------------- */

/* Bodies up to this size are copied after the head and sent with it. */
#define SMALL_BODY 1024

/* Copy n bytes at p and step past them (the head is sized first, then
 * written with no further checks). Most pieces of a head are short: up to
 * 16 bytes go as two overlapping words, in line, rather than a call. */
static inline char *put(char *p, const void *s, size_t n)
{
    const char *q = s;
    if (n > 16)
        memcpy(p, q, n);
    else if (n >= 8) {
        memcpy(p, q, 8);
        memcpy(p + n - 8, q + n - 8, 8);
    } else if (n >= 4) {
        memcpy(p, q, 4);
        memcpy(p + n - 4, q + n - 4, 4);
    } else if (n) {
        p[0] = q[0];
        p[n / 2] = q[n / 2];
        p[n - 1] = q[n - 1];
    }
    return p + n;
}
#define PUTS(p, lit) put(p, lit, sizeof lit - 1)

/* The first lines of every head, "HTTP/1.1 200 OK\r\nServer: tulip\r\n"
 * and "Date: ...\r\n", for the last status answered: one copy per head.
 * Made again when the second or the status changes, the date formatted
 * once a second. Per thread (each loop thread has its own: no lock). */
static _Thread_local time_t date_at;
static _Thread_local size_t date_len;
static _Thread_local char date[64];
static _Thread_local struct {
    time_t at;
    int status;
    size_t len;
    char s[sizeof "HTTP/1.1 999 \r\nServer: tulip\r\n" + 48 + sizeof date];
} first;

static const char *first_lines(int status, size_t *len)
{
    time_t now = time(NULL);
    if (__builtin_expect(now != first.at || status != first.status || !first.len, 0)) {
        if (now != date_at || !date_len) {
            struct tm tm;
            gmtime_r(&now, &tm);
            date_len = strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
            date_at = now;
        }
        /* 100..599: the callers checked; three digits */
        struct reason why = reason_of(status);
        char *p = PUTS(first.s, "HTTP/1.1 ");
        *p++ = (char)('0' + status / 100);
        *p++ = (char)('0' + status / 10 % 10);
        *p++ = (char)('0' + status % 10);
        *p++ = ' ';
        p = put(p, why.s, why.n);
        p = PUTS(p, "\r\nServer: tulip\r\n");
        p = put(p, date, date_len);
        first.len = (size_t)(p - first.s);
        first.status = status;
        first.at = now;
    }
    *len = first.len;
    return first.s;
}

/* Step past w bytes of iov[0..*n) that went out; returns the new start. */
static struct iovec *consume(struct iovec *iov, int *n, size_t w)
{
    while (*n > 0 && w >= iov->iov_len) {
        w -= iov->iov_len;
        iov++;
        (*n)--;
    }
    if (*n > 0) {
        iov->iov_base = (char *)iov->iov_base + w;
        iov->iov_len -= w;
    }
    return iov;
}

int tulip__http_write_all(tulip__sconn *c, struct iovec *iov, int n)
{
    /* Most answers fit in the socket's buffer: try once without waiting
     * for room, so that only a write the socket cannot take whole arms the
     * send timeout (a timer in and out of the heap costs more than the rest
     * of a small response). On io_uring the try is a ring operation, sent
     * with the loop's one submit-and-wait per turn beside every other
     * connection's: no system call of its own (src/io/io_internal.h). */
    ssize_t w = tulip__send_try(c->fd, iov, n);
    if (w < 0 && w != -EAGAIN)
        return (int)w;
    if (w > 0) {
        c->sent += (uint64_t)w;
        iov = consume(iov, &n, (size_t)w);
    }
    /* The send timeout is progress-based: each writev that parks may wait
     * send_timeout for the socket to take a byte, so a client that never
     * reads is cut off, while a slow but steady one is not. */
    tulip_scope sc;
    bool scoped = false;
    int rc = 0;
    while (n > 0) {
        if (scoped)
            tulip_scope_set_deadline(&sc, tulip_now() + c->send_timeout);
        else if (c->send_timeout > 0) {
            tulip_scope_enter(&sc, tulip_now() + c->send_timeout);
            scoped = true;
        }
        w = tulip_writev(c->fd, iov, n);
        if (w < 0) {
            rc = (int)w;
            break;
        }
        c->sent += (uint64_t)w;
        iov = consume(iov, &n, (size_t)w);
    }
    if (scoped && tulip_scope_exit(&sc) == -ETIMEDOUT && rc < 0) {
        c->send_timed_out = true;
        rc = -ETIMEDOUT;
    }
    return rc;
}

/* A header the server writes itself (framing and connection). */
static bool server_owned(const tulip_http_header *h)
{
    switch (h->name_len) {
    case 10: return strncasecmp(h->name, "connection", 10) == 0;
    case 14: return strncasecmp(h->name, "content-length", 14) == 0;
    case 17: return strncasecmp(h->name, "transfer-encoding", 17) == 0;
    default: return false;
    }
}

static bool bad_field(const char *s, size_t n)
{
    /* CR, LF and NUL are all below 0x0e: one compare rejects the rest */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= '\r' && (s[i] == '\r' || s[i] == '\n' || s[i] == '\0'))
            return true;
    return false;
}

int tulip__http_check_headers(const tulip_http_header *headers, size_t n_headers)
{
    if (n_headers && !headers)
        return -EINVAL;
    for (size_t i = 0; i < n_headers; i++)
        if (!headers[i].name || !headers[i].name_len || (!headers[i].value && headers[i].value_len) ||
            bad_field(headers[i].name, headers[i].name_len) || bad_field(headers[i].value, headers[i].value_len) ||
            server_owned(&headers[i]))
            return -EINVAL;
    return 0;
}

/* v in decimal, written in place. */
static char *put_u64(char *p, uint64_t v)
{
    if (v < 100) { /* the usual small body */
        if (v >= 10)
            *p++ = (char)('0' + v / 10);
        *p++ = (char)('0' + v % 10);
        return p;
    }
    size_t n = 1;
    for (uint64_t x = v; x >= 10; x /= 10)
        n++;
    char *e = p + n;
    do {
        *--e = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p + n;
}

int tulip__http_build_head(tulip_http_responder *res, int status, const tulip_http_header *headers, size_t n_headers,
                           int frame, uint64_t len, bool close, size_t room)
{
    /* One pass to size the head, one reservation, then plain copies: a
     * hello answer is built in a few hundred instructions. */
    tulip__hbuf *b = &res->c->out;
    size_t flen;
    const char *f = first_lines(status, &flen);
    size_t need = flen + sizeof "Content-Length: 18446744073709551615\r\n" + sizeof "Connection: keep-alive\r\n\r\n";
    if (room > SIZE_MAX / 4)
        return -ENOMEM;
    need += room;
    for (size_t i = 0; i < n_headers; i++) {
        if (headers[i].name_len > SIZE_MAX / 4 - need || headers[i].value_len > SIZE_MAX / 4 - need)
            return -ENOMEM;
        need += headers[i].name_len + headers[i].value_len + 4;
    }
    b->len = 0;
    if (tulip__hbuf_reserve(b, need))
        return -ENOMEM;
    char *p = put(b->p, f, flen);
    for (size_t i = 0; i < n_headers; i++) {
        p = put(p, headers[i].name, headers[i].name_len);
        p = PUTS(p, ": ");
        p = put(p, headers[i].value, headers[i].value_len);
        p = PUTS(p, "\r\n");
    }
    if (status != 204 && status != 304) {
        if (frame == TULIP__FRAME_CHUNKED) {
            p = PUTS(p, "Transfer-Encoding: chunked\r\n");
        } else if (frame == TULIP__FRAME_LENGTH) {
            p = PUTS(p, "Content-Length: ");
            p = put_u64(p, len);
            p = PUTS(p, "\r\n");
        }
    }
    if (close)
        p = PUTS(p, "Connection: close\r\n");
    else if (res->req->minor_version == 0)
        p = PUTS(p, "Connection: keep-alive\r\n");
    p = PUTS(p, "\r\n");
    b->len = (size_t)(p - b->p);
    b->p[b->len] = '\0';
    return 0;
}

/* tulip_http_respond_ex once the headers are known to be good. */
static int respond(tulip_http_responder *res, int status, const tulip_http_header *headers, size_t n_headers,
                   const void *body, size_t len, unsigned flags)
{
    if (!res || status < 200 || status > 599 || (!body && len) ||
        (flags & ~(TULIP_HTTP_CHUNKED | TULIP_HTTP_CLOSE | TULIP_HTTP_NO_LENGTH)) ||
        ((flags & TULIP_HTTP_NO_LENGTH) && !(flags & TULIP_HTTP_CLOSE)))
        return -EINVAL;
    if (res->done)
        return -EALREADY;
    tulip__sconn *c = res->c;
    const tulip_http_request_view *rq = res->req;
    bool close = res->close || (flags & TULIP_HTTP_CLOSE) || !rq->keep_alive;
    bool chunked = (flags & TULIP_HTTP_CHUNKED) && rq->minor_version >= 1;
    bool no_body = rq->head || status == 204 || status == 304;
    if ((flags & TULIP_HTTP_CHUNKED) && !chunked)
        close = true; /* HTTP/1.0 cannot read chunks: delimit by close */
    int frame = chunked ? TULIP__FRAME_CHUNKED
                : (flags & (TULIP_HTTP_NO_LENGTH | TULIP_HTTP_CHUNKED)) ? TULIP__FRAME_CLOSE
                : TULIP__FRAME_LENGTH;
    static const char end_chunks[] = "\r\n0\r\n\r\n";
    size_t blen = no_body ? 0 : len;
    const char *tail = len ? end_chunks : end_chunks + 2;
    size_t tail_len = chunked && !no_body ? (len ? 7 : 5) : 0;
    /* A small body rides in the head's buffer: one plain send, which the
     * kernel handles for less than a sendmsg of several pieces (the copy
     * here costs less than that difference). Room for it is made with the
     * head's. */
    bool small = blen + tail_len <= SMALL_BODY;
    int rc = tulip__http_build_head(res, status, headers, n_headers, frame, len, close,
                                    small ? TULIP__CHUNK_LINE + blen + tail_len : 0);
    tulip__hbuf *b = &c->out;
    if (rc == 0 && chunked && !no_body && len) {
        char tmp[TULIP__CHUNK_LINE];
        const char *line = tulip__http_chunk_line(tmp, len);
        rc = tulip__hbuf_add(b, line, (size_t)(tmp + sizeof tmp - line));
    }
    if (rc < 0)
        return rc;
    if (small) {
        if (blen)
            memcpy(b->p + b->len, body, blen);
        if (tail_len)
            memcpy(b->p + b->len + blen, tail, tail_len);
        b->len += blen + tail_len;
        b->p[b->len] = '\0';
        blen = tail_len = 0;
    }
    res->done = true;
    res->close = close;
    struct iovec iov[3];
    int n = 0;
    iov[n].iov_base = b->p;
    iov[n++].iov_len = b->len;
    if (blen) {
        iov[n].iov_base = (void *)(uintptr_t)body;
        iov[n++].iov_len = blen;
    }
    if (tail_len) {
        iov[n].iov_base = (void *)(uintptr_t)tail;
        iov[n++].iov_len = tail_len;
    }
    rc = tulip__http_write_all(c, iov, n);
    if (rc < 0)
        res->close = true;
    return rc;
}

int tulip_http_respond_ex(tulip_http_responder *res, int status, const tulip_http_header *headers, size_t n_headers,
                          const void *body, size_t len, unsigned flags)
{
    if (tulip__http_check_headers(headers, n_headers) < 0)
        return -EINVAL;
    return respond(res, status, headers, n_headers, body, len, flags);
}

int tulip_http_respond(tulip_http_responder *res, int status, const char *content_type, const void *body, size_t len)
{
    if (!content_type)
        return respond(res, status, NULL, 0, body, len, 0);
    /* Only the value needs checking (a C string has no NUL inside). */
    size_t n = strcspn(content_type, "\r\n");
    if (content_type[n])
        return -EINVAL;
    tulip_http_header h = {"Content-Type", 12, content_type, n};
    return respond(res, status, &h, 1, body, len, 0);
}

const char *tulip__http_chunk_line(char buf[TULIP__CHUNK_LINE], uint64_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *p = buf + TULIP__CHUNK_LINE;
    *--p = '\n';
    *--p = '\r';
    do {
        *--p = hex[len & 15];
        len >>= 4;
    } while (len);
    return p;
}

/* Part of the body may be on the wire: the client can no longer find
 * where it ends, so nothing more is sent and the connection is closed. */
static int broken(tulip_http_responder *res, int err)
{
    res->err = err;
    res->close = true;
    return err;
}

int tulip_http_respond_start(tulip_http_responder *res, int status, const tulip_http_header *headers,
                             size_t n_headers, int64_t content_length, unsigned flags)
{
    if (!res || status < 200 || status > 599 || (flags & ~TULIP_HTTP_CLOSE) ||
        tulip__http_check_headers(headers, n_headers) < 0)
        return -EINVAL;
    if (res->done)
        return -EALREADY;
    const tulip_http_request_view *rq = res->req;
    bool close = res->close || (flags & TULIP_HTTP_CLOSE) || !rq->keep_alive;
    int frame = TULIP__FRAME_LENGTH;
    if (content_length < 0) {
        /* HTTP/1.0 cannot read chunks: the close ends the body. */
        frame = rq->minor_version >= 1 ? TULIP__FRAME_CHUNKED : TULIP__FRAME_CLOSE;
        close = close || frame == TULIP__FRAME_CLOSE;
    }
    uint64_t len = content_length < 0 ? 0 : (uint64_t)content_length;
    int rc = tulip__http_build_head(res, status, headers, n_headers, frame, len, close, 0);
    if (rc < 0)
        return rc;
    res->done = res->streaming = true;
    res->close = close;
    res->frame = (unsigned char)frame;
    res->no_body = rq->head || status == 204 || status == 304;
    res->left = len;
    struct iovec iov = {res->c->out.p, res->c->out.len};
    rc = tulip__http_write_all(res->c, &iov, 1);
    return rc < 0 ? broken(res, rc) : 0;
}

/* A dropped write (HEAD) still behaves as a suspension point would, so a
 * handler generating an endless body for HEAD can be cancelled and does
 * not starve the loop. */
static int drop_point(void)
{
    return tulip_checkpoint();
}

ssize_t tulip_http_respond_write(tulip_http_responder *res, const void *buf, size_t len)
{
    if (!res || (!buf && len) || len > SSIZE_MAX || !res->streaming)
        return -EINVAL;
    if (res->ended)
        return -EALREADY;
    if (res->err)
        return res->err;
    if (res->frame == TULIP__FRAME_LENGTH) {
        if (len > res->left)
            return -EMSGSIZE;
        res->left -= len;
    }
    if (res->no_body) {
        int rc = drop_point();
        return rc < 0 ? broken(res, rc) : (ssize_t)len;
    }
    if (len == 0)
        return 0; /* an empty chunk would end the body */
    char line[TULIP__CHUNK_LINE];
    struct iovec iov[3];
    int n = 0;
    if (res->frame == TULIP__FRAME_CHUNKED) {
        const char *p = tulip__http_chunk_line(line, len);
        iov[n].iov_base = (void *)(uintptr_t)p;
        iov[n++].iov_len = (size_t)(line + sizeof line - p);
    }
    iov[n].iov_base = (void *)(uintptr_t)buf;
    iov[n++].iov_len = len;
    if (res->frame == TULIP__FRAME_CHUNKED) {
        iov[n].iov_base = (void *)(uintptr_t)"\r\n";
        iov[n++].iov_len = 2;
    }
    int rc = tulip__http_write_all(res->c, iov, n);
    return rc < 0 ? broken(res, rc) : (ssize_t)len;
}

int tulip_http_respond_end(tulip_http_responder *res)
{
    if (!res || !res->streaming)
        return -EINVAL;
    if (res->ended)
        return -EALREADY;
    res->ended = true;
    if (res->err)
        return res->err;
    if (res->frame == TULIP__FRAME_LENGTH && res->left)
        return broken(res, -ENODATA);
    if (res->frame == TULIP__FRAME_CHUNKED && !res->no_body) {
        struct iovec iov = {(void *)(uintptr_t)"0\r\n\r\n", 5};
        int rc = tulip__http_write_all(res->c, &iov, 1);
        if (rc < 0)
            return broken(res, rc);
    }
    return 0;
}

void tulip__http_stream_finish(tulip_http_responder *res)
{
    if (!res->ended)
        tulip_http_respond_end(res);
}

/* The server's own answers to requests it refuses (400, 413, 414, 431,
 * 505, 503...): a short text body, then the connection is closed. */
int tulip__http_answer_error(tulip__sconn *c, int status)
{
    tulip__hbuf *b = &c->out;
    b->len = 0;
    const char *reason = tulip_http_reason(status);
    size_t flen;
    const char *f = first_lines(status, &flen);
    if (tulip__hbuf_add(b, f, flen) ||
        tulip__hbuf_adds(b, "Content-Type: text/plain\r\nConnection: close\r\nContent-Length: ") ||
        tulip__hbuf_addu(b, strlen(reason) + 1) || tulip__hbuf_adds(b, "\r\n\r\n") || tulip__hbuf_adds(b, reason) ||
        tulip__hbuf_adds(b, "\n"))
        return -ENOMEM;
    struct iovec iov = {b->p, b->len};
    return tulip__http_write_all(c, &iov, 1);
}
