/* The HTTP/1.1 server: an accept loop spawning one task per connection in
 * a task group. A connection reads into one buffer, parses requests in
 * place (pipelined ones straight from the leftover bytes), hands the
 * handler slices of that buffer, and writes each response with one writev
 * (streamed responses: server_stream.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "server_internal.h"
#include "../common/fault.h"
#include "tulip/io.h"
#include "tulip/loop.h"
#include "tulip/net.h"
#include "tulip/task.h"

struct tulip_http_server {
    tulip_http_server_opts o;
    tulip_http_handler handler;
    void *arg;
    int lfd;
    bool serving;
    bool stop;
    bool scope_open;
    tulip_scope scope;
    tulip_sem slots;
    tulip_http_server_stats st;
    time_t date_at;
    char date[64];                  /* "Date: ...\r\n", refreshed each second */
};

typedef tulip__sconn sconn;

void tulip_http_server_opts_init(tulip_http_server_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_head = 16384;
    o->max_headers = 100;
    o->max_body = (size_t)1 << 20;
    o->idle_timeout = TULIP_SEC(60);
    o->request_timeout = TULIP_SEC(30);
    o->max_connections = 10000;
}

tulip_http_server *tulip_http_server_new(const tulip_http_server_opts *opts, tulip_http_handler handler, void *arg)
{
    tulip_http_server_opts o;
    if (opts)
        o = *opts;
    else
        tulip_http_server_opts_init(&o);
    if (!handler || o.max_head == 0 || o.max_headers == 0 || o.max_body == 0 || o.idle_timeout <= 0 ||
        o.request_timeout <= 0 || o.max_connections == 0 || o.max_head > (size_t)1 << 30 ||
        o.max_body > (size_t)1 << 40 || o.max_headers > (size_t)1 << 20) {
        errno = EINVAL;
        return NULL;
    }
    tulip_http_server *s = tulip__calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->o = o;
    s->handler = handler;
    s->arg = arg;
    s->lfd = -1;
    tulip_sem_init(&s->slots, o.max_connections, 0);
    return s;
}

int tulip_http_server_listen(tulip_http_server *srv, const char *address)
{
    if (!srv || !address)
        return -EINVAL;
    if (srv->lfd >= 0)
        return -EALREADY;
    int fd = tulip_listen("tcp", address, 0);
    if (fd < 0)
        return fd;
    srv->lfd = fd;
    return 0;
}

int tulip_http_server_listen_fd(tulip_http_server *srv, int fd)
{
    if (!srv || fd < 0)
        return -EINVAL;
    if (srv->lfd >= 0)
        return -EALREADY;
    srv->lfd = fd;
    return 0;
}

int tulip_http_server_port(const tulip_http_server *srv)
{
    if (!srv || srv->lfd < 0)
        return -EINVAL;
    return tulip_local_port(srv->lfd);
}

int tulip_http_server_stats_get(const tulip_http_server *srv, tulip_http_server_stats *out)
{
    if (!srv || !out)
        return -EINVAL;
    *out = srv->st;
    return 0;
}

void tulip_http_server_shutdown(tulip_http_server *srv)
{
    if (!srv)
        return;
    srv->stop = true;
    if (srv->scope_open)
        tulip_scope_cancel(&srv->scope);
}

int tulip_http_server_free(tulip_http_server *srv)
{
    if (!srv)
        return 0;
    if (srv->serving)
        return -EBUSY;
    if (srv->lfd >= 0)
        tulip_close(srv->lfd);
    free(srv);
    return 0;
}

const char *tulip_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

/* ---- writing ----------------------------------------------------------- */

static const char *date_line(tulip_http_server *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof srv->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        srv->date_at = now;
    }
    return srv->date;
}

int tulip__http_write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = tulip_writev(fd, iov, n);
        if (w < 0)
            return (int)w;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

static bool hdr_is(const tulip_http_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

static bool bad_field(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
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
            hdr_is(&headers[i], "content-length") || hdr_is(&headers[i], "transfer-encoding") ||
            hdr_is(&headers[i], "connection"))
            return -EINVAL;
    return 0;
}

int tulip__http_build_head(tulip_http_responder *res, int status, const tulip_http_header *headers, size_t n_headers,
                           int frame, uint64_t len, bool close)
{
    tulip__hbuf *b = &res->c->out;
    b->len = 0;
    int rc = 0;
#define ADD(p, n) do { if (rc == 0) rc = tulip__hbuf_add(b, p, n); } while (0)
#define ADDS(s) do { if (rc == 0) rc = tulip__hbuf_adds(b, s); } while (0)
    ADDS("HTTP/1.1 ");
    if (rc == 0)
        rc = tulip__hbuf_addu(b, (uint64_t)status);
    ADDS(" ");
    ADDS(tulip_http_reason(status));
    ADDS("\r\nServer: tulip\r\n");
    ADDS(date_line(res->c->srv));
    for (size_t i = 0; i < n_headers; i++) {
        ADD(headers[i].name, headers[i].name_len);
        ADDS(": ");
        ADD(headers[i].value, headers[i].value_len);
        ADDS("\r\n");
    }
    if (status != 204 && status != 304) {
        if (frame == TULIP__FRAME_CHUNKED) {
            ADDS("Transfer-Encoding: chunked\r\n");
        } else if (frame == TULIP__FRAME_LENGTH) {
            ADDS("Content-Length: ");
            if (rc == 0)
                rc = tulip__hbuf_addu(b, len);
            ADDS("\r\n");
        }
    }
    if (close)
        ADDS("Connection: close\r\n");
    else if (res->req->minor_version == 0)
        ADDS("Connection: keep-alive\r\n");
    ADDS("\r\n");
#undef ADD
#undef ADDS
    return rc;
}

int tulip_http_respond_ex(tulip_http_responder *res, int status, const tulip_http_header *headers, size_t n_headers,
                          const void *body, size_t len, unsigned flags)
{
    if (!res || status < 200 || status > 599 || (!body && len) ||
        (flags & ~(TULIP_HTTP_CHUNKED | TULIP_HTTP_CLOSE | TULIP_HTTP_NO_LENGTH)) ||
        ((flags & TULIP_HTTP_NO_LENGTH) && !(flags & TULIP_HTTP_CLOSE)) ||
        tulip__http_check_headers(headers, n_headers) < 0)
        return -EINVAL;
    if (res->done)
        return -EALREADY;
    sconn *c = res->c;
    const tulip_http_request_view *rq = res->req;
    bool close = res->close || (flags & TULIP_HTTP_CLOSE) || !rq->keep_alive;
    bool chunked = (flags & TULIP_HTTP_CHUNKED) && rq->minor_version >= 1;
    bool no_body = rq->head || status == 204 || status == 304;
    if ((flags & TULIP_HTTP_CHUNKED) && !chunked)
        close = true; /* HTTP/1.0 cannot read chunks: delimit by close */
    int frame = chunked ? TULIP__FRAME_CHUNKED
                : (flags & (TULIP_HTTP_NO_LENGTH | TULIP_HTTP_CHUNKED)) ? TULIP__FRAME_CLOSE
                : TULIP__FRAME_LENGTH;
    int rc = tulip__http_build_head(res, status, headers, n_headers, frame, len, close);
    tulip__hbuf *b = &c->out;
    if (rc == 0 && chunked && !no_body && len) {
        char tmp[TULIP__CHUNK_LINE];
        const char *line = tulip__http_chunk_line(tmp, len);
        rc = tulip__hbuf_add(b, line, (size_t)(tmp + sizeof tmp - line));
    }
    if (rc < 0)
        return rc;
    res->done = true;
    res->close = close;
    struct iovec iov[3];
    int n = 0;
    iov[n].iov_base = b->p;
    iov[n++].iov_len = b->len;
    if (!no_body && len) {
        iov[n].iov_base = (void *)(uintptr_t)body;
        iov[n++].iov_len = len;
    }
    if (chunked && !no_body) {
        static const char end_chunks[] = "\r\n0\r\n\r\n";
        iov[n].iov_base = (void *)(uintptr_t)(len ? end_chunks : end_chunks + 2);
        iov[n++].iov_len = len ? 7 : 5;
    }
    rc = tulip__http_write_all(c->fd, iov, n);
    if (rc < 0)
        res->close = true;
    return rc;
}

int tulip_http_respond(tulip_http_responder *res, int status, const char *content_type, const void *body, size_t len)
{
    if (!content_type)
        return tulip_http_respond_ex(res, status, NULL, 0, body, len, 0);
    tulip_http_header h = {"Content-Type", 12, content_type, strlen(content_type)};
    return tulip_http_respond_ex(res, status, &h, 1, body, len, 0);
}

/* ---- reading ----------------------------------------------------------- */

static ssize_t fill(sconn *c, size_t want)
{
    if (tulip__hbuf_reserve(&c->in, want))
        return -ENOMEM;
    ssize_t n = tulip_read(c->fd, c->in.p + c->in.len, c->in.cap - 1 - c->in.len);
    if (n > 0)
        c->in.len += (size_t)n;
    return n;
}

/* Outcome of reading one request: > 0 an HTTP status to answer before
 * closing, 0 a request is ready, < 0 close silently (EOF, I/O error,
 * timeout, cancellation). */
#define CLOSE_QUIETLY (-ECONNABORTED)

/* The request's slices point into c->in, which may move while the body
 * is read: keep offsets across the reads. */
static void to_offsets(sconn *c, tulip_http_request *rq, size_t *offs)
{
    offs[0] = (size_t)(rq->method - c->in.p);
    offs[1] = (size_t)(rq->target - c->in.p);
    for (size_t i = 0; i < rq->num_headers; i++) {
        offs[2 + 2 * i] = (size_t)(rq->headers[i].name - c->in.p);
        offs[3 + 2 * i] = (size_t)(rq->headers[i].value - c->in.p);
    }
}

static void from_offsets(sconn *c, tulip_http_request *rq, const size_t *offs)
{
    rq->method = c->in.p + offs[0];
    rq->target = c->in.p + offs[1];
    for (size_t i = 0; i < rq->num_headers; i++) {
        rq->headers[i].name = c->in.p + offs[2 + 2 * i];
        rq->headers[i].value = c->in.p + offs[3 + 2 * i];
    }
}

static int status_for(int err)
{
    switch (err) {
    case -EBADMSG: return 400;
    case -EMSGSIZE:
    case -E2BIG: return 431;
    case -EPROTONOSUPPORT: return 505;
    case -EFBIG: return 413;
    default: return 0;
    }
}

static int read_body(sconn *c, tulip_http_request *rq, size_t body_off, size_t *body_len, size_t *next)
{
    tulip_http_server *srv = c->srv;
    if (rq->body == TULIP_HTTP_BODY_LENGTH) {
        if ((uint64_t)rq->content_length > srv->o.max_body)
            return 413;
        size_t need = body_off + (size_t)rq->content_length;
        while (c->in.len < need) {
            ssize_t n = fill(c, need - c->in.len);
            if (n <= 0)
                return n < 0 ? (int)n : CLOSE_QUIETLY;
        }
        *body_len = (size_t)rq->content_length;
        *next = need;
        return 0;
    }
    if (rq->body != TULIP_HTTP_BODY_CHUNKED) {
        *body_len = 0;
        *next = body_off;
        return 0;
    }
    tulip_http_chunked d;
    tulip_http_chunked_init(&d, srv->o.max_body);
    size_t decoded = 0;
    for (;;) {
        size_t at = body_off + decoded, n = c->in.len - at;
        if (n) {
            ssize_t left = tulip_http_chunked_decode(&d, c->in.p + at, &n);
            if (left >= 0) {
                decoded += n;
                *body_len = decoded;
                *next = body_off + decoded;
                c->in.len = *next + (size_t)left;
                return 0;
            }
            if (left != -EAGAIN)
                return left == -EFBIG ? 413 : 400;
            decoded += n;
            c->in.len = body_off + decoded;
        }
        ssize_t r = fill(c, 4096);
        if (r <= 0)
            return r < 0 ? (int)r : CLOSE_QUIETLY;
    }
}

/* Reads the next request into c->in at c->off and fills the view. */
static int read_request(sconn *c, tulip_http_request *rq, tulip_http_request_view *v, size_t *next)
{
    tulip_http_server *srv = c->srv;
    if (c->off == c->in.len) {
        c->off = c->in.len = 0;
    } else if (c->off) {
        memmove(c->in.p, c->in.p + c->off, c->in.len - c->off);
        c->in.len -= c->off;
        c->off = 0;
    }
    tulip_http_parser p;
    tulip_http_parser_init(&p, c->hdrs, srv->o.max_headers, srv->o.max_head, 0);
    tulip_scope sc;
    bool scoped = false;
    int rc;
    for (;;) {
        rc = tulip_http_parse_request(&p, c->in.p, c->in.len, rq);
        if (rc >= 0)
            break;
        if (rc != -EAGAIN) {
            rc = status_for(rc);
            goto out;
        }
        if (!scoped) {
            /* Idle keep-alive connections get idle_timeout to start a
             * request; once bytes arrived, the request must complete within
             * request_timeout (a trickling client cannot hold a task). */
            tulip_scope_enter(&sc, tulip_now() + (c->in.len ? srv->o.request_timeout : srv->o.idle_timeout));
            scoped = true;
        }
        bool had = c->in.len > 0;
        ssize_t n = fill(c, 4096);
        if (n <= 0) {
            rc = n < 0 ? (int)n : CLOSE_QUIETLY;
            goto out;
        }
        if (!had)
            tulip_scope_set_deadline(&sc, tulip_now() + srv->o.request_timeout);
    }
    srv->st.requests++;
    size_t head_len = (size_t)rc;
    size_t body_len = 0;
    rc = 0;
    if (rq->body == TULIP_HTTP_BODY_NONE) {
        *next = head_len;
    } else {
        ssize_t ex = tulip_http_header_find(rq->headers, rq->num_headers, "expect", 0);
        if (ex >= 0 && rq->minor_version >= 1 && c->in.len == head_len && rq->content_length != 0 &&
            rq->headers[ex].value_len == 12 && strncasecmp(rq->headers[ex].value, "100-continue", 12) == 0) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if ((rc = (int)tulip_write_all(c->fd, cont, sizeof cont - 1, NULL)) < 0)
                goto out;
            rc = 0;
        }
        size_t stack_offs[66];
        size_t *offs = rq->num_headers <= 32 ? stack_offs : tulip__malloc((2 + 2 * rq->num_headers) * sizeof *offs);
        if (!offs) {
            rc = -ENOMEM;
            goto out;
        }
        to_offsets(c, rq, offs);
        rc = read_body(c, rq, head_len, &body_len, next);
        from_offsets(c, rq, offs);
        if (offs != stack_offs)
            free(offs);
        if (rc != 0)
            goto out;
    }
    memset(v, 0, sizeof *v);
    v->method = rq->method;
    v->method_len = rq->method_len;
    v->target = rq->target;
    v->target_len = rq->target_len;
    v->path = rq->target;
    const char *q = memchr(rq->target, '?', rq->target_len);
    v->path_len = q ? (size_t)(q - rq->target) : rq->target_len;
    v->minor_version = rq->minor_version;
    v->headers = rq->headers;
    v->num_headers = rq->num_headers;
    v->body = c->in.p + head_len;
    v->body_len = body_len;
    v->keep_alive = rq->keep_alive;
    v->head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
out:
    if (scoped) {
        int src = tulip_scope_exit(&sc);
        if (rc < 0 && src == -ETIMEDOUT)
            rc = -ETIMEDOUT;
    }
    return rc;
}

/* After an error answer: stop sending, then read and drop what the client
 * still sends for a moment, so that closing with unread data does not
 * reset the connection before the client has read our answer. */
static void lingering_close(sconn *c)
{
    tulip_shutdown(c->fd, SHUT_WR);
    tulip_scope sc;
    tulip_scope_enter(&sc, tulip_now() + TULIP_SEC(1));
    char buf[4096];
    for (size_t total = 0; total < ((size_t)256 << 10);) {
        ssize_t n = tulip_read(c->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    tulip_scope_exit(&sc);
}

static void answer_error(sconn *c, int status)
{
    tulip__hbuf *b = &c->out;
    b->len = 0;
    const char *reason = tulip_http_reason(status);
    if (tulip__hbuf_adds(b, "HTTP/1.1 ") || tulip__hbuf_addu(b, (uint64_t)status) || tulip__hbuf_adds(b, " ") ||
        tulip__hbuf_adds(b, reason) || tulip__hbuf_adds(b, "\r\nServer: tulip\r\n") ||
        tulip__hbuf_adds(b, date_line(c->srv)) ||
        tulip__hbuf_adds(b, "Content-Type: text/plain\r\nConnection: close\r\nContent-Length: ") ||
        tulip__hbuf_addu(b, strlen(reason) + 1) || tulip__hbuf_adds(b, "\r\n\r\n") || tulip__hbuf_adds(b, reason) ||
        tulip__hbuf_adds(b, "\n"))
        return;
    if (tulip_write_all(c->fd, b->p, b->len, NULL) >= 0)
        lingering_close(c);
}

static int conn_task(void *arg)
{
    sconn *c = arg;
    tulip_http_server *srv = c->srv;
    for (;;) {
        tulip_http_request rq;
        tulip_http_request_view v;
        size_t next = 0;
        int rc = read_request(c, &rq, &v, &next);
        if (rc > 0) {
            answer_error(c, rc);
            break;
        }
        if (rc < 0)
            break;
        tulip_http_responder res;
        memset(&res, 0, sizeof res);
        res.c = c;
        res.req = &v;
        int hr = srv->handler(srv->arg, &v, &res);
        if (res.streaming)
            tulip__http_stream_finish(&res);
        if (!res.done)
            tulip_http_respond(&res, 500, "text/plain", "Internal Server Error\n", 22);
        if (hr < 0 || !res.done || res.close)
            break;
        c->off = next;
    }
    tulip_close(c->fd);
    tulip__hbuf_free(&c->in);
    tulip__hbuf_free(&c->out);
    free(c->hdrs);
    free(c);
    srv->st.active--;
    tulip_sem_release(&srv->slots);
    return 0; /* a connection's end is never the group's failure */
}

int tulip_http_server_serve(tulip_http_server *srv)
{
    if (!srv || srv->lfd < 0)
        return -EINVAL;
    if (srv->serving)
        return -EBUSY;
    if (!tulip_self())
        return -EPERM;
    if (srv->stop)
        return 0;
    tulip_group *g = tulip_group_new();
    if (!g)
        return -errno;
    srv->serving = true;
    tulip_scope_enter(&srv->scope, TULIP_FOREVER);
    srv->scope_open = true;
    int rc = 0;
    while (!srv->stop) {
        if ((rc = tulip_sem_acquire(&srv->slots)) < 0)
            break;
        int fd = tulip_accept(srv->lfd, NULL, NULL);
        if (fd < 0) {
            tulip_sem_release(&srv->slots);
            rc = fd;
            break;
        }
        sconn *c = tulip__calloc(1, sizeof *c);
        if (c) {
            c->srv = srv;
            c->fd = fd;
            c->hdrs = tulip__calloc(srv->o.max_headers, sizeof *c->hdrs);
        }
        if (!c || !c->hdrs || tulip_group_spawn(g, conn_task, c) < 0) {
            if (c)
                free(c->hdrs);
            free(c);
            tulip_close(fd);
            tulip_sem_release(&srv->slots);
            continue;
        }
        srv->st.connections++;
        if (++srv->st.active > srv->st.peak_active)
            srv->st.peak_active = srv->st.active;
    }
    srv->scope_open = false;
    tulip_scope_exit(&srv->scope);
    if (srv->stop && (rc == -ECANCELED || rc == 0))
        rc = 0;
    tulip_group_cancel(g);
    int gw = tulip_group_wait(g);
    if (rc == 0 && (gw == -ECANCELED || gw == -ETIMEDOUT) && !srv->stop)
        rc = gw;
    tulip_group_free(g);
    tulip_close(srv->lfd);
    srv->lfd = -1;
    srv->serving = false;
    return rc;
}

int tulip_http_server_task(void *srv)
{
    return tulip_http_server_serve(srv);
}
