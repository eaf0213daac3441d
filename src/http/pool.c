/* The client's keep-alive pool: per scheme+host+port, a semaphore of busy
 * connections (the per-host limit) and a LIFO list of idle ones. A request
 * first takes a slot, then the most recently used idle connection (the one
 * least likely to have been closed by the server), else dials. Since a new
 * connection is only made when none is idle, busy + idle never exceeds the
 * limit. Idle connections past the idle timeout are closed when their host
 * is next used. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "../loop/fd_query.h"
#include "../common/fault.h"
#include "../io/stream_internal.h"
#include "tulip/net.h"
#include "tulip/loop.h"
#include "tulip/task.h"
#ifdef TULIP_HAVE_TLS
#include "tulip/tls.h"
#endif

static void conn_close(tulip_http_client *c, tulip__http_conn *conn)
{
    /* Nothing unsent matters once we drop a connection, and discarding it
     * means close cannot park (this runs on error and cancel paths). */
    tulip__stream_discard(conn->s);
    tulip_stream_close(conn->s);
    conn->host->open--;
    c->st.open--;
    tulip__hbuf_free(&conn->in);
    free(conn->hdrs);
    free(conn);
}

/* Compared field by field and moved to the front when found: this runs
 * for every request, and formatting a key here was a tenth of the client's
 * per-request instructions. */
static tulip__http_host *host_find(tulip_http_client *c, const tulip_http_url *u)
{
    for (tulip__http_host **pp = &c->hosts; *pp; pp = &(*pp)->next) {
        tulip__http_host *h = *pp;
        /* "[cafe]" and "cafe" are different hosts: addr keeps the brackets. */
        if (h->https == u->https && h->port == u->port && (h->addr[0] == '[') == u->ipv6 &&
            strlen(h->name) == u->host_len && strncasecmp(h->name, u->host, u->host_len) == 0) {
            *pp = h->next;
            h->next = c->hosts;
            c->hosts = h;
            return h;
        }
    }
    char addr[300];
    int an = snprintf(addr, sizeof addr, "%s%.*s%s:%d", u->ipv6 ? "[" : "", (int)u->host_len,
                      u->host, u->ipv6 ? "]" : "", u->port);
    if (an < 0 || (size_t)an >= sizeof addr) {
        errno = EINVAL;
        return NULL;
    }
    tulip__http_host *h = tulip__calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->name = tulip__malloc(u->host_len + 1);
    h->addr = tulip__strdup(addr);
    if (!h->name || !h->addr) {
        free(h->name);
        free(h->addr);
        free(h);
        return NULL;
    }
    memcpy(h->name, u->host, u->host_len);
    h->name[u->host_len] = '\0';
    h->https = u->https;
    h->port = u->port;
    tulip_sem_init(&h->slots, c->o.per_host, 0);
    h->next = c->hosts;
    c->hosts = h;
    return h;
}

/* A pooled connection the server has closed (or written to unasked) is
 * unusable; finding out now saves a failed request. */
static bool conn_alive(tulip__http_conn *conn)
{
    if (tulip_stream_buffered(conn->s) > 0)
        return false;
    /* The loop records every readable edge and hang-up: if none came since
     * the last response was read, the server has sent nothing, and the
     * MSG_PEEK system call (one per request, 28% of a crawl's system time)
     * can be skipped. One that came but was not polled yet makes the
     * request fail, and a failed request on a reused connection is retried
     * on a fresh one (see client.c). */
    if (tulip__fd_quiet(tulip_stream_fd(conn->s)))
        return true;
    char b;
    ssize_t r = recv(tulip_stream_fd(conn->s), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void sweep_idle(tulip_http_client *c, tulip__http_host *h, int64_t now)
{
    tulip__http_conn **pp = &h->idle;
    while (*pp) {
        tulip__http_conn *conn = *pp;
        if (now - conn->idle_since >= c->o.idle_timeout) {
            *pp = conn->next;
            h->nidle--;
            c->st.idle--;
            conn_close(c, conn);
        } else {
            pp = &conn->next;
        }
    }
}

static int tls_ctx(tulip_http_client *c, struct tulip_tls_ctx **out)
{
#ifdef TULIP_HAVE_TLS
    if (!c->tls) {
        tulip_tls_client_opts to = {0};
        to.ca_file = c->ca_file;
        to.insecure_skip_verify = c->o.insecure_skip_verify;
        c->tls = tulip_tls_client_ctx_new(&to);
        if (!c->tls)
            return -errno;
        c->own_tls = true;
    }
    *out = c->tls;
    return 0;
#else
    (void)c;
    (void)out;
    return -EPROTONOSUPPORT;
#endif
}

static int conn_open(tulip_http_client *c, tulip__http_host *h, tulip__http_conn **out)
{
    struct tulip_tls_ctx *ctx = NULL;
    int rc;
    if (h->https && (rc = tls_ctx(c, &ctx)) < 0)
        return rc;
    tulip__http_conn *conn = tulip__calloc(1, sizeof *conn);
    if (!conn)
        return -ENOMEM;
    conn->hdrs = tulip__calloc(c->o.max_headers, sizeof *conn->hdrs);
    if (!conn->hdrs || tulip__hbuf_reserve(&conn->in, 16383) < 0) {
        rc = -ENOMEM;
        goto fail;
    }
    int fd = tulip_dial("tcp", h->addr);
    if (fd < 0) {
        rc = fd;
        goto fail;
    }
#ifdef TULIP_HAVE_TLS
    if (ctx)
        conn->s = tulip_stream_new_tls_client(fd, ctx, h->name);
    else
#endif
        conn->s = tulip_stream_new_fd(fd, TULIP_STREAM_OWN_FD);
    if (!conn->s) {
        rc = -errno;
        tulip_close(fd);
        goto fail;
    }
    conn->host = h;
    h->open++;
    c->st.open++;
    c->st.connections++;
    *out = conn;
    return 0;
fail:
    tulip__hbuf_free(&conn->in);
    free(conn->hdrs);
    free(conn);
    return rc;
}

int tulip__http_pool_get(tulip_http_client *c, const tulip_http_url *u, bool fresh,
                         tulip__http_conn **out, int64_t *connect_ns)
{
    tulip__http_host *h = host_find(c, u);
    if (!h)
        return -errno;
    int rc = tulip_sem_acquire(&h->slots);
    if (rc < 0)
        return rc;
    int64_t now = tulip_now();
    sweep_idle(c, h, now);
    *connect_ns = 0;
    while (!fresh && h->idle) {
        tulip__http_conn *conn = h->idle;
        h->idle = conn->next;
        h->nidle--;
        c->st.idle--;
        conn->next = NULL;
        if (conn_alive(conn)) {
            *out = conn;
            return 0;
        }
        conn_close(c, conn);
    }
    rc = conn_open(c, h, out);
    if (rc < 0) {
        tulip_sem_release(&h->slots);
        return rc;
    }
    *connect_ns = tulip_now() - now;
    return 0;
}

void tulip__http_pool_put(tulip_http_client *c, tulip__http_conn *conn, bool reusable)
{
    tulip__http_host *h = conn->host;
    if (reusable && conn->off == conn->in.len) {
        conn->off = conn->in.len = 0;
        conn->idle_since = tulip_now();
        conn->next = h->idle;
        h->idle = conn;
        h->nidle++;
        c->st.idle++;
    } else {
        conn_close(c, conn);
    }
    tulip_sem_release(&h->slots);
}

bool tulip__http_pool_busy(const tulip_http_client *c)
{
    for (const tulip__http_host *h = c->hosts; h; h = h->next)
        if (tulip_sem_value(&h->slots) < c->o.per_host)
            return true;
    return false;
}

void tulip__http_pool_free(tulip_http_client *c)
{
    while (c->hosts) {
        tulip__http_host *h = c->hosts;
        c->hosts = h->next;
        while (h->idle) {
            tulip__http_conn *conn = h->idle;
            h->idle = conn->next;
            conn_close(c, conn);
        }
        free(h->name);
        free(h->addr);
        free(h);
    }
}
