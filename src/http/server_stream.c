/* Streaming responses (tulip_http_respond_start/write/end): the head goes
 * out at start, then every write goes straight to the socket (as one chunk
 * when chunked), so the body is never held by the server and a slow
 * client parks the handler instead of growing a buffer. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>

#include "server_internal.h"
#include "../task/task_internal.h"

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
    int rc = tulip__http_build_head(res, status, headers, n_headers, frame, len, close);
    if (rc < 0)
        return rc;
    res->done = res->streaming = true;
    res->close = close;
    res->frame = (unsigned char)frame;
    res->no_body = rq->head || status == 204 || status == 304;
    res->left = len;
    struct iovec iov = {res->c->out.p, res->c->out.len};
    rc = tulip__http_write_all(res->c->fd, &iov, 1);
    return rc < 0 ? broken(res, rc) : 0;
}

/* A dropped write (HEAD) still behaves as a suspension point would, so a
 * handler generating an endless body for HEAD can be cancelled and does
 * not starve the loop. */
static int drop_point(void)
{
    tulip_task *t = tulip__current();
    if (!t)
        return -EPERM;
    int st = tulip__checkpoint_status(t);
    return st ? st : tulip__budget_charge();
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
    int rc = tulip__http_write_all(res->c->fd, iov, n);
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
        int rc = tulip__http_write_all(res->c->fd, &iov, 1);
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
