/* Request bodies, read as the handler asks for them: straight from the
 * socket into the handler's buffer for a Content-Length body, through the
 * connection's read buffer (decoded in place) for a chunked one. The
 * server never holds more than that one buffer, the client is slowed by
 * TCP when the handler is slow (backpressure), and every wait ends at the
 * request's deadline. The request head the handler is looking at sits at
 * the start of the same buffer, so nothing here may move it: the buffer
 * was given room for one read when the request began (server.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>

#include "server_internal.h"
#include "tulip/io.h"
#include "tulip/task.h"

static ssize_t timed_read(tulip__sconn *c, void *buf, size_t n)
{
    tulip_scope sc;
    tulip_scope_enter(&sc, c->deadline);
    ssize_t r = tulip_read(c->fd, buf, n);
    if (tulip_scope_exit(&sc) == -ETIMEDOUT && r < 0)
        r = -ETIMEDOUT;
    if (r == 0)
        r = -ECONNRESET; /* the client left before the body's end */
    return r;
}

/* Send the 100 Continue the client waits for, unless the answer already
 * started (then the client learns from it instead). */
static int continue_owed(tulip__sconn *c, bool answered)
{
    if (!c->expect_continue)
        return 0;
    c->expect_continue = false;
    if (answered)
        return 0;
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct iovec iov = {(void *)(uintptr_t)cont, sizeof cont - 1};
    return tulip__http_write_all(c, &iov, 1);
}

static ssize_t fail(tulip__sconn *c, ssize_t err)
{
    c->body_err = (int)err;
    return err;
}

static ssize_t read_length(tulip__sconn *c, char *buf, size_t cap, bool answered)
{
    if (c->body_left == 0) {
        c->body_done = true;
        return 0;
    }
    size_t inbuf = c->in.len - c->body_at;
    size_t k = cap < c->body_left ? cap : (size_t)c->body_left;
    if (inbuf) {
        /* Bytes that came with the head: they may run on into the next
         * pipelined request, which stays where it is. */
        if (k > inbuf)
            k = inbuf;
        memcpy(buf, c->in.p + c->body_at, k);
        c->body_at += k;
    } else {
        int rc = continue_owed(c, answered);
        if (rc < 0)
            return fail(c, rc);
        ssize_t n = timed_read(c, buf, k); /* never past the body's end */
        if (n < 0)
            return fail(c, n);
        k = (size_t)n;
        /* Keep body_at == in.len so the next request starts there. */
        c->in.len = c->body_at;
    }
    c->body_left -= k;
    c->body_done = c->body_left == 0;
    return (ssize_t)k;
}

static ssize_t read_chunked(tulip__sconn *c, char *buf, size_t cap, bool answered)
{
    for (;;) {
        if (c->body_avail) {
            size_t k = cap < c->body_avail ? cap : c->body_avail;
            memcpy(buf, c->in.p + c->body_at, k);
            c->body_at += k;
            c->body_avail -= k;
            return (ssize_t)k;
        }
        if (c->body_done)
            return 0;
        if (c->body_at == c->in.len) {
            /* Nothing decoded or raw is left: reuse the room after the
             * head. The decoder keeps its state between reads. */
            int rc = continue_owed(c, answered);
            if (rc < 0)
                return fail(c, rc);
            c->in.len = c->body_at = c->body_base;
            ssize_t n = timed_read(c, c->in.p + c->in.len, c->in.cap - 1 - c->in.len);
            if (n < 0)
                return fail(c, n);
            c->in.len += (size_t)n;
        }
        size_t n = c->in.len - c->body_at;
        ssize_t left = tulip_http_chunked_decode(&c->dec, c->in.p + c->body_at, &n);
        if (left >= 0) {
            /* The decoded tail, then the next request's first bytes. */
            c->body_done = true;
            c->body_avail = n;
            c->in.len = c->body_at + n + (size_t)left;
        } else if (left == -EAGAIN) {
            c->body_avail = n;
            c->in.len = c->body_at + n;
        } else {
            return fail(c, left == -EFBIG ? -EFBIG : -EBADMSG);
        }
    }
}

ssize_t tulip__http_body_read(tulip__sconn *c, char *buf, size_t cap, bool answered)
{
    if (c->body_err)
        return c->body_err;
    if (cap == 0 || (c->body_done && c->body_avail == 0))
        return 0;
    if (c->body_kind == TULIP_HTTP_BODY_LENGTH)
        return read_length(c, buf, cap, answered);
    return read_chunked(c, buf, cap, answered);
}

int tulip__http_body_whole(tulip__sconn *c, bool answered)
{
    tulip__hbuf *b = &c->body;
    for (;;) {
        size_t want = c->body_kind == TULIP_HTTP_BODY_LENGTH && c->body_left ? (size_t)c->body_left : 4096;
        if (tulip__hbuf_reserve(b, want))
            return (int)fail(c, -ENOMEM);
        tulip__http_account(c);
        ssize_t n = tulip__http_body_read(c, b->p + b->len, b->cap - 1 - b->len, answered);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    if (b->p)
        b->p[b->len] = '\0';
    return 0;
}

bool tulip__http_body_skip(tulip__sconn *c)
{
    if (c->body_err)
        return false;
    if (c->body_done && c->body_avail == 0)
        return true;
    if (c->expect_continue)
        return false; /* the client holds the body back: do not wait for it */
    char tmp[4096];
    ssize_t n;
    while ((n = tulip__http_body_read(c, tmp, sizeof tmp, true)) > 0) {
    }
    return n == 0;
}

ssize_t tulip_http_request_read(tulip_http_responder *res, void *buf, size_t cap)
{
    if (!res || (!buf && cap) || cap > SSIZE_MAX)
        return -EINVAL;
    return tulip__http_body_read(res->c, buf, cap, res->done);
}

int tulip_http_request_body(tulip_http_responder *res, const char **body, size_t *len)
{
    if (!res || !body || !len)
        return -EINVAL;
    tulip__sconn *c = res->c;
    int rc = tulip__http_body_whole(c, res->done);
    if (rc < 0)
        return rc;
    *body = c->body.p ? c->body.p : "";
    *len = c->body.len;
    return 0;
}
