/* The HTTP/1.1 server: an accept loop spawning one task per connection in
 * a task group, and each connection's loop: read a request head into one
 * buffer, parse it in place (pipelined ones straight from the leftover
 * bytes), hand the handler slices of that buffer, let it read the body
 * (server_body.c) and answer (response.c), then go round again.
 *
 * Every wait has an end (docs/SECURITY.md): a new connection has
 * header_timeout to send its first byte, a kept-alive one idle_timeout; a
 * request has request_timeout from its first byte to its last body byte,
 * a response write send_timeout to make progress. At max_connections the
 * oldest connection waiting for a request is closed to make room (or the
 * newcomer gets 503), and at the fd limit the same, or a reset. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/uio.h>
#include <time.h>

#include "server_internal.h"
#include "parser_whole.h"
#include "../common/fault.h"
#include "../io/net_internal.h"
#include "tulip/testing.h"
#include "tulip/io.h"
#include "tulip/loop.h"
#include "tulip/net.h"
#include "tulip/task.h"

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
    o->header_timeout = TULIP_SEC(10);
    o->send_timeout = TULIP_SEC(30);
    o->max_requests = 1000;
    o->whole_body = false;
}

tulip_http_server *tulip_http_server_new(const tulip_http_server_opts *opts, tulip_http_handler handler, void *arg)
{
    tulip_http_server_opts o;
    if (opts)
        o = *opts;
    else
        tulip_http_server_opts_init(&o);
    if (!handler || o.max_head == 0 || o.max_headers == 0 || o.max_body == 0 || o.idle_timeout <= 0 ||
        o.request_timeout <= 0 || o.max_connections == 0 || o.header_timeout <= 0 || o.send_timeout <= 0 || o.max_requests == 0 ||
        o.max_head > (size_t)1 << 30 ||
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

/* ---- buffers and the idle list ----------------------------------------- */

/* A connection waiting for a request keeps a read buffer no larger than
 * this (a large request's buffer is given back once it is served). */
#define KEEP_BUF 4096
/* Room asked for per read of a request head. */
#define FILL 2048

static void idle_enter(sconn *c)
{
    tulip_http_server *srv = c->srv;
    if (c->idle)
        return;
    c->idle = true;
    tulip__dlist_push_back(&srv->idle, &c->idle_link);
}

static void idle_leave(sconn *c)
{
    tulip_http_server *srv = c->srv;
    if (!c->idle)
        return;
    c->idle = false;
    tulip__dlist_remove(&srv->idle, &c->idle_link);
}

/* Close the connection that has waited longest for a request, to make
 * room: shutting the socket down wakes its task, which reads the end of
 * the stream and leaves. */
static bool reclaim_one(tulip_http_server *srv)
{
    sconn *c = tulip__dlist_item(srv->idle.head, sconn, idle_link);
    if (!c)
        return false;
    idle_leave(c);
    c->reclaimed = true;
    srv->reclaiming++;
    srv->st.reclaimed++;
    tulip_shutdown(c->fd, SHUT_RDWR);
    return true;
}

/* Give back a buffer a large request grew, keeping unread bytes. */
static void shrink(sconn *c)
{
    size_t left = c->in.len - c->off;
    if (c->in.cap > KEEP_BUF && left < KEEP_BUF / 2) {
        tulip__hbuf nb = {0};
        if (left && tulip__hbuf_add(&nb, c->in.p + c->off, left) < 0)
            return; /* keep the big one */
        tulip__hbuf_free(&c->in);
        c->in = nb;
        c->off = 0;
    }
    if (c->body.cap > KEEP_BUF)
        tulip__hbuf_free(&c->body);
    if (c->out.cap > KEEP_BUF)
        tulip__hbuf_free(&c->out);
    tulip__http_account(c);
}

/* ---- reading a request head ------------------------------------------- */

static ssize_t fill(sconn *c)
{
    if (c->in.cap == 0) {
        /* A connection that has sent nothing yet holds no buffer: read
         * into the stack, then keep what came. */
        char tmp[FILL];
        ssize_t n = tulip_read(c->fd, tmp, sizeof tmp);
        if (n > 0 && tulip__hbuf_add(&c->in, tmp, (size_t)n) < 0)
            return -ENOMEM;
        tulip__http_account(c);
        return n;
    }
    if (tulip__hbuf_reserve(&c->in, FILL))
        return -ENOMEM;
    tulip__http_account(c);
    ssize_t n = tulip_read(c->fd, c->in.p + c->in.len, c->in.cap - 1 - c->in.len);
    if (n > 0)
        c->in.len += (size_t)n;
    return n;
}

/* Outcome of reading one request: > 0 an HTTP status to answer before
 * closing, 0 a request is ready, < 0 close silently (EOF, I/O error,
 * timeout, cancellation). */
#define CLOSE_QUIETLY (-ECONNABORTED)

static int status_for(const sconn *c, int err)
{
    switch (err) {
    case -EBADMSG: return 400;
    case -EMSGSIZE:
    case -E2BIG:
        /* No line end in sight: the request line alone is too long. */
        return memchr(c->in.p, '\n', c->in.len) ? 431 : 414;
    case -EPROTONOSUPPORT: return 505;
    case -EFBIG: return 413;
    default: return 0;
    }
}

/* The rest of a head that did not come whole in its first read: c->hp
 * again, which checks only the bytes it has not seen. */
__attribute__((noinline)) static int parse_more(sconn *c, tulip_http_request *rq)
{
    c->srv->head_checked += c->in.len - c->hp_len;
    c->hp_len = c->in.len;
    int rc = tulip_http_parse_request(&c->hp, c->in.p, c->in.len, rq);
    /* Done with this head (on an error the connection ends). */
    c->hp_live = rc == -EAGAIN;
    return rc;
}

/* Called once per read of a head (in.len > 0), and again on a complete
 * head to cut its slices anew after the buffer moved. */
static int parse(sconn *c, tulip_http_request *rq)
{
    if (c->hp_live)
        return parse_more(c, rq);
    /* A head that came whole, the usual case, needs no parser state. */
    const tulip_http_server_opts *o = &c->srv->o;
    int rc = tulip__http_parse_whole(c->in.p, c->in.len, o->max_head, c->hdrs, o->max_headers, rq);
    if (rc != 0)
        return rc;
    /* Not whole: this head's parser from now on, not the one pass again,
     * which would go over the whole buffer on every read. */
    c->srv->head_checked += c->in.len < o->max_head ? c->in.len : o->max_head;
    tulip_http_parser_init(&c->hp, c->hdrs, o->max_headers, o->max_head, 0);
    c->hp_len = 0;
    return parse_more(c, rq);
}

uint64_t tulip_test_http_head_checked(const tulip_http_server *srv)
{
    return srv->head_checked;
}

/* Read the next request's head into c->in at c->off; *head_len is its
 * length. */
static int read_head(sconn *c, tulip_http_request *rq, size_t *head_len)
{
    tulip_http_server *srv = c->srv;
    if (c->off == c->in.len) {
        c->off = c->in.len = 0;
    } else if (c->off) {
        memmove(c->in.p, c->in.p + c->off, c->in.len - c->off);
        c->in.len -= c->off;
        c->off = 0;
    }
    /* The request's clock starts at its first byte, which may have come
     * with the previous request: set it on every path. */
    if (c->in.len)
        c->deadline = tulip_now() + srv->o.request_timeout;
    bool scoped = false, timed = false; /* c->rs has a deadline; timed: c->deadline */
    int rc;
    for (;;) {
        if (c->in.len == 0) {
            rc = -EAGAIN;
        } else {
            /* The header array, made at the first byte: a connection that
             * never sends one costs no more than its task. */
            if (!c->hdrs && !(c->hdrs = tulip__calloc(srv->o.max_headers, sizeof *c->hdrs))) {
                rc = -ENOMEM;
                goto out;
            }
            rc = parse(c, rq);
        }
        if (rc >= 0) {
            *head_len = (size_t)rc;
            rc = 0;
            break;
        }
        if (rc != -EAGAIN) {
            rc = status_for(c, rc);
            goto out;
        }
        bool had = c->in.len > 0;
        if (!scoped) {
            /* Waiting for a first byte: header_timeout on a new
             * connection, idle_timeout between requests; and the
             * connection may be closed to make room. */
            int64_t wait = c->requests ? srv->o.idle_timeout : srv->o.header_timeout;
            tulip_scope_set_deadline(c->rs, had ? c->deadline : tulip_now() + wait);
            scoped = true;
            timed = had;
            if (!had)
                idle_enter(c);
        } else if (!timed) {
            /* The head came in parts: wait for the rest under the request's
             * deadline (not moved earlier: a request that came whole in
             * its first read, the usual case, never touches the timer). */
            tulip_scope_set_deadline(c->rs, c->deadline);
            timed = true;
        }
        ssize_t n = fill(c);
        if (!had) {
            idle_leave(c);
            c->deadline = tulip_now() + srv->o.request_timeout;
        }
        if (n <= 0) {
            rc = n < 0 ? (int)n : CLOSE_QUIETLY;
            goto out;
        }
    }
out:
    idle_leave(c);
    if (scoped) {
        /* Only its deadline triggers c->rs (nothing cancels it). Back to
         * no deadline for the handler, which also clears the expiry. */
        bool late = tulip_scope_is_triggered(c->rs);
        tulip_scope_set_deadline(c->rs, TULIP_FOREVER);
        if (late && rc <= 0) {
            c->timed_out = true;
            rc = -ETIMEDOUT;
        }
    }
    return rc;
}

/* Reads the next request (its head; the body too with opts.whole_body,
 * else as the handler asks) and fills the view. */
static int read_request(sconn *c, tulip_http_request *rq, tulip_http_request_view *v)
{
    tulip_http_server *srv = c->srv;
    size_t head_len = 0;
    int rc = read_head(c, rq, &head_len);
    if (rc != 0)
        return rc;
    srv->st.requests++;
    c->requests++;
    c->body_kind = (unsigned char)rq->body;
    c->body_done = rq->body != TULIP_HTTP_BODY_LENGTH && rq->body != TULIP_HTTP_BODY_CHUNKED;
    c->body_err = 0;
    c->body_left = 0;
    c->body_base = c->body_at = head_len;
    c->body_avail = 0;
    c->expect_continue = false;
    c->body.len = 0;
    if (rq->body == TULIP_HTTP_BODY_LENGTH) {
        /* Too large is refused before anything else, 100 Continue
         * included. */
        if ((uint64_t)rq->content_length > srv->o.max_body)
            return 413;
        c->body_left = (uint64_t)rq->content_length;
        c->body_done = c->body_left == 0;
    } else if (rq->body == TULIP_HTTP_BODY_CHUNKED) {
        tulip_http_chunked_init(&c->dec, srv->o.max_body);
        /* Room for one read after the head, made now, so reading the body
         * never moves the head the handler is looking at (the slices are
         * cut again if the buffer moved). */
        if (c->in.cap - 1 - c->in.len < FILL) {
            if (tulip__hbuf_reserve(&c->in, FILL))
                return -ENOMEM;
            tulip__http_account(c);
            if (parse(c, rq) != (int)head_len)
                return 400;
        }
    }
    if (!c->body_done && rq->minor_version >= 1 && c->in.len == head_len) {
        ssize_t ex = tulip_http_header_find(rq->headers, rq->num_headers, "expect", 0);
        c->expect_continue = ex >= 0 && rq->headers[ex].value_len == 12 &&
                             strncasecmp(rq->headers[ex].value, "100-continue", 12) == 0;
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
    v->keep_alive = rq->keep_alive;
    v->head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
    v->content_length = rq->body == TULIP_HTTP_BODY_LENGTH ? rq->content_length
                        : rq->body == TULIP_HTTP_BODY_CHUNKED ? -1 : 0;
    if (srv->o.whole_body) {
        rc = tulip__http_body_whole(c, false);
        if (rc == -EFBIG)
            return 413;
        if (rc == -EBADMSG)
            return 400;
        if (rc == -ETIMEDOUT)
            c->timed_out = true;
        if (rc < 0)
            return rc;
        v->body = c->body.p ? c->body.p : "";
        v->body_len = c->body.len;
    }
    return 0;
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

static void conn_free(sconn *c)
{
    tulip_http_server *srv = c->srv;
    idle_leave(c);
    if (c->reclaimed)
        srv->reclaiming--;
    if (c->timed_out || c->send_timed_out)
        srv->st.timeouts++;
    if (c->send_timed_out) {
        /* The client stopped reading: a FIN would wait behind the unsent
         * bytes forever, holding kernel memory. Reset instead. */
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    tulip_close(c->fd);
    tulip__hbuf_free(&c->in);
    tulip__hbuf_free(&c->out);
    tulip__hbuf_free(&c->body);
    tulip__http_account(c);
    free(c->hdrs);
    free(c);
    srv->st.active--;
}

static int conn_task(void *arg)
{
    sconn *c = arg;
    tulip_http_server *srv = c->srv;
    tulip_scope rs;
    tulip_scope_enter(&rs, TULIP_FOREVER);
    c->rs = &rs;
    for (;;) {
        tulip_http_request rq;
        tulip_http_request_view v;
        int rc = read_request(c, &rq, &v);
        if (rc > 0) {
            if (tulip__http_answer_error(c, rc) >= 0)
                lingering_close(c);
            break;
        }
        if (rc < 0)
            break;
        tulip_http_responder res;
        memset(&res, 0, sizeof res);
        res.c = c;
        res.req = &v;
        res.close = c->requests >= srv->o.max_requests;
        int hr = srv->handler(srv->arg, &v, &res);
        if (res.streaming)
            tulip__http_stream_finish(&res);
        if (!res.done && c->body_err) {
            /* The body was bad or too large and the handler left the
             * answer to us; a client that vanished gets none. */
            int st = c->body_err == -EBADMSG ? 400 : c->body_err == -EFBIG ? 413 : 0;
            if (st && tulip__http_answer_error(c, st) >= 0)
                lingering_close(c);
            break;
        }
        if (!res.done)
            tulip_http_respond(&res, 500, "text/plain", "Internal Server Error\n", 22);
        if (hr < 0 || !res.done || res.close || !tulip__http_body_skip(c))
            break;
        c->off = c->body_at;
        shrink(c);
    }
    if (c->body_err == -ETIMEDOUT)
        c->timed_out = true;
    tulip_scope_exit(&rs);
    conn_free(c);
    return 0; /* a connection's end is never the group's failure */
}

/* ---- accepting ---------------------------------------------------------- */

/* Past max_connections with no idle connection to close: say so and
 * close, without spending a task (the request is not read, so the close
 * may turn into a reset: the client learns either way). */
static void reject(tulip_http_server *srv, int fd)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nServer: tulip\r\nConnection: close\r\n"
                              "Content-Type: text/plain\r\nContent-Length: 20\r\n\r\nService Unavailable\n";
    (void)!send(fd, msg, sizeof msg - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    tulip_close(fd);
    srv->st.rejected++;
}

/* accept failed for want of an fd: close an idle connection, or (none)
 * take the pending one with the fd kept in reserve and reset it, so the
 * client is told instead of left waiting in the backlog. Returns < 0 to
 * stop serving. */
static int out_of_fds(tulip_http_server *srv, int *spare)
{
    if (srv->reclaiming)
        return tulip_sleep(TULIP_MS(1)); /* let those close first */
    if (reclaim_one(srv))
        return tulip_yield();
    if (*spare < 0)
        return tulip_sleep(TULIP_MS(10));
    close(*spare);
    *spare = -1;
    int fd = tulip_accept(srv->lfd, NULL, NULL);
    if (fd >= 0) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        tulip_close(fd);
        srv->st.rejected++;
    }
    *spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd == -ECANCELED || fd == -ETIMEDOUT ? fd : 0;
}

static int spawn_conn(tulip_http_server *srv, tulip_group *g, int fd)
{
    sconn *c = tulip__calloc(1, sizeof *c);
    if (c) {
        c->srv = srv;
        c->fd = fd;
        c->send_timeout = srv->o.send_timeout;
    }
    if (!c || tulip_group_spawn(g, conn_task, c) < 0) {
        free(c);
        tulip_close(fd);
        return -ENOMEM;
    }
    /* Idle from the start: it may be closed to make room before its task
     * has even run. */
    idle_enter(c);
    srv->st.connections++;
    if (++srv->st.active > srv->st.peak_active)
        srv->st.peak_active = srv->st.active;
    return 0;
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
    int spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int rc = 0;
    while (!srv->stop) {
        int fd = tulip__accept(srv->lfd, NULL, NULL, 0);
        if (fd == -EMFILE || fd == -ENFILE) {
            if ((rc = out_of_fds(srv, &spare)) < 0)
                break;
            continue;
        }
        if (fd == -ECONNABORTED || fd == -EPROTO || fd == -EPERM || fd == -EINTR)
            continue; /* that client is gone or refused: the next one */
        if (fd == -ENOBUFS || fd == -ENOMEM) {
            if ((rc = tulip_sleep(TULIP_MS(10))) < 0)
                break;
            continue;
        }
        if (fd < 0) {
            rc = fd;
            break;
        }
        /* Full: make room by closing the oldest idle connection, or
         * refuse this one. */
        if (srv->st.active - srv->reclaiming >= srv->o.max_connections && !reclaim_one(srv)) {
            reject(srv, fd);
            continue;
        }
        /* Let the closed ones go before taking more, so that no more than
         * max_connections (+1) sockets are ever open. */
        while (srv->reclaiming && !srv->stop && (rc = tulip_yield()) == 0) {
        }
        if (rc < 0) {
            tulip_close(fd);
            break;
        }
        (void)spawn_conn(srv, g, fd);
    }
    if (spare >= 0)
        close(spare);
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
