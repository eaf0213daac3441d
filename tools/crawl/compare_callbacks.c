/* --compare, mode "callbacks": one thread, the raw loop (tulip_watch_fd,
 * tulip_call_later for timeouts), non-blocking sockets and a hand-written
 * state machine per connection.  As fast as tasks, but the fetch that the
 * sequential mode writes as three calls is cut into states and handlers. */
#define _GNU_SOURCE
#include "compare_base.h"
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <tulip.h>

typedef struct cbs {
    crawl_cmp_base *b;
    tulip_loop *loop;
    unsigned max, active;
    struct sockaddr_in addr;
} cbs;

enum { C_CONNECT, C_SEND, C_RECV };

typedef struct conn {
    cbs *s;
    crawl_cmp_item it;
    int fd, state;
    tulip_watch *w;
    tulip_timer *timer;
    crawl_buf req;
    size_t sent;
    crawl_raw raw;
} conn;

static void start_more(cbs *s);

static void finish(conn *c, int rc)
{
    cbs *s = c->s;
    if (c->w)
        tulip_watch_free(c->w);
    if (c->timer)
        tulip_timer_cancel(c->timer);
    if (c->fd >= 0)
        tulip_close(c->fd);
    crawl_links l;
    crawl_cmp_parse(&c->it, rc, &c->raw, &l);
    crawl_cmp_commit(s->b, &c->it, rc, c->raw.status, c->raw.location, &l);
    crawl_raw_free(&c->raw);
    crawl_buf_free(&c->req);
    free(c);
    s->active--;
    start_more(s);
}

static void on_timeout(void *arg)
{
    conn *c = arg;
    c->timer = NULL;
    finish(c, -ETIMEDOUT);
}

static void on_ready(void *arg, int events)
{
    conn *c = arg;
    (void)events;
    if (c->state == C_CONNECT) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            finish(c, -err);
            return;
        }
        c->state = C_SEND;
    }
    if (c->state == C_SEND) {
        while (c->sent < c->req.len) {
            ssize_t n = send(c->fd, c->req.data + c->sent, c->req.len - c->sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n < 0) {
                finish(c, -errno);
                return;
            }
            c->sent += (size_t)n;
        }
        c->state = C_RECV;
        tulip_watch_update(c->w, TULIP_READABLE);
        return;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        int rc = n < 0 ? -errno : n == 0 ? crawl_raw_eof(&c->raw) : crawl_raw_feed(&c->raw, buf, (size_t)n);
        if (rc != 0) {
            finish(c, rc < 0 ? rc : 0);
            return;
        }
    }
}

static int open_conn(cbs *s, crawl_cmp_item *it)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        free(it->url);
        s->b->t.fatal = -ENOMEM;
        return -ENOMEM;
    }
    c->s = s;
    c->it = *it;
    c->fd = -1;
    crawl_raw_init(&c->raw, CRAWL_CMP_MAX_BODY);
    s->active++;
    crawl_url_parts p;
    int rc = crawl_url_split(it->url, &p);
    if (rc == 0) {
        rc = crawl_raw_request(&c->req, p.target, p.authority, s->b->ua);
        crawl_url_parts_free(&p);
    }
    if (rc == 0) {
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        rc = c->fd < 0 ? -errno : 0;
    }
    if (rc == 0) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&s->addr, sizeof s->addr) < 0 && errno != EINPROGRESS)
            rc = -errno;
    }
    if (rc == 0) {
        c->w = tulip_watch_fd(s->loop, c->fd, TULIP_WRITABLE, on_ready, c);
        c->timer = c->w ? tulip_call_later(s->loop, TULIP_MS(CRAWL_CMP_TIMEOUT_MS), on_timeout, c) : NULL;
        rc = c->timer ? 0 : -errno;
    }
    if (rc < 0) {
        /* a failure here is a row like any other; finish starts the next */
        finish(c, rc);
    }
    return 0;
}

static void start_more(cbs *s)
{
    crawl_cmp_item it;
    while (s->active < s->max && crawl_cmp_pop(s->b, &it))
        open_conn(s, &it);
}

static void kick(void *arg) { start_more(arg); }

int crawl_cmp_callbacks(crawl_cmp_base *b, unsigned n, int port)
{
    cbs s = { .b = b, .max = n };
    s.addr.sin_family = AF_INET;
    s.addr.sin_port = htons((uint16_t)port);
    s.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s.loop = tulip_loop_new(NULL);
    if (!s.loop)
        return -errno;
    int rc = tulip_call_soon(s.loop, kick, &s) ? tulip_loop_run(s.loop) : -errno;
    tulip_loop_free(s.loop);
    return rc < 0 ? rc : b->t.fatal;
}
