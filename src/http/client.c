/* The HTTP/1.1 client: one request per hop over a pooled connection,
 * redirects, limits, the whole call under one timeout scope. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "../common/fault.h"
#include "tulip/task.h"
#include "tulip/version.h"
#ifdef TULIP_HAVE_TLS
#include "tulip/tls.h"
#endif

void tulip_http_client_opts_init(tulip_http_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->per_host = 6;
    o->idle_timeout = TULIP_SEC(30);
    o->timeout = TULIP_SEC(30);
    o->max_redirects = 10;
    o->max_body = (size_t)10 << 20;
    o->max_head = 16384;
    o->max_headers = 100;
#ifdef TULIP_HAVE_ZLIB
    o->accept_compressed = true;
#endif
}

tulip_http_client *tulip_http_client_new(const tulip_http_client_opts *opts)
{
    tulip_http_client_opts o;
    if (opts)
        o = *opts;
    else
        tulip_http_client_opts_init(&o);
    if (o.per_host == 0 || o.max_body == 0 || o.max_head == 0 || o.max_headers == 0 || o.timeout <= 0 ||
        o.idle_timeout <= 0 || o.max_head > (size_t)1 << 30 || o.max_headers > (size_t)1 << 20) {
        errno = EINVAL;
        return NULL;
    }
#ifndef TULIP_HAVE_ZLIB
    o.accept_compressed = false;
#endif
    tulip_http_client *c = tulip__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->o = o;
    c->user_agent = tulip__strdup(o.user_agent ? o.user_agent : "tulip/" TULIP_VERSION_STRING);
    c->ca_file = o.ca_file ? tulip__strdup(o.ca_file) : NULL;
    if (!c->user_agent || (o.ca_file && !c->ca_file)) {
        free(c->user_agent);
        free(c->ca_file);
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->o.user_agent = c->user_agent;
    c->o.ca_file = c->ca_file;
    c->tls = o.tls_ctx;
    return c;
}

int tulip_http_client_free(tulip_http_client *c)
{
    if (!c)
        return 0;
    if (tulip__http_pool_busy(c))
        return -EBUSY;
    tulip__http_pool_free(c);
#ifdef TULIP_HAVE_TLS
    if (c->own_tls)
        tulip_tls_ctx_free(c->tls);
#endif
    free(c->user_agent);
    free(c->ca_file);
    free(c);
    return 0;
}

int tulip_http_client_stats_get(const tulip_http_client *c, tulip_http_client_stats *out)
{
    if (!c || !out)
        return -EINVAL;
    *out = c->st;
    return 0;
}

void tulip_http_reply_free(tulip_http_reply *r)
{
    if (!r)
        return;
    free(r->url);
    free(r->headers);
    free(r->body);
    free(r);
}

const char *tulip_http_reply_header(const tulip_http_reply *r, const char *name, size_t *len)
{
    if (!r || !name)
        return NULL;
    ssize_t i = tulip_http_header_find(r->headers, r->num_headers, name, 0);
    if (i < 0)
        return NULL;
    if (len)
        *len = r->headers[i].value_len;
    return r->headers[i].value;
}

/* ---- request head ---------------------------------------------------- */

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar(s[i]))
            return false;
    return true;
}

static bool field_value_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

static bool name_is(const tulip_http_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

static int check_extra(const tulip_http_header *h, size_t n)
{
    if (n && !h)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name || (!h[i].value && h[i].value_len) || !is_token(h[i].name, h[i].name_len) ||
            !field_value_ok(h[i].value, h[i].value_len))
            return -EINVAL;
        if (name_is(&h[i], "host") || name_is(&h[i], "content-length") || name_is(&h[i], "connection") ||
            name_is(&h[i], "transfer-encoding"))
            return -EINVAL;
    }
    return 0;
}

static bool has_extra(const tulip_http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(&h[i], name))
            return true;
    return false;
}

typedef struct req {
    const char *method;
    const tulip_http_header *hdrs;
    size_t nh;
    const void *body;
    size_t body_len;
    bool send_length;
    const tulip_http_upload *up;   /* a streamed body instead of body/body_len */
    tulip_http_tap *tap;           /* a copy of the bytes, or NULL */
} req;

/* Every connection goes back through here, so none keeps a tap. */
static void put(tulip_http_client *c, tulip__http_conn *conn, bool reusable)
{
    tulip__http_tap_end(conn, false);
    tulip__http_pool_put(c, conn, reusable);
}

static int build_head(tulip_http_client *c, const req *rq, const tulip_http_url *u, tulip__hbuf *b)
{
    int rc = 0;
#define ADD(p, n) do { if (rc == 0) rc = tulip__hbuf_add(b, p, n); } while (0)
#define ADDS(s) do { if (rc == 0) rc = tulip__hbuf_adds(b, s); } while (0)
    ADDS(rq->method);
    ADDS(" ");
    if (u->path[0] != '/')
        ADDS("/");
    ADD(u->path, u->path_len);
    ADDS(" HTTP/1.1\r\nHost: ");
    if (u->ipv6)
        ADDS("[");
    ADD(u->host, u->host_len);
    if (u->ipv6)
        ADDS("]");
    if (u->port != tulip__http_default_port(u->https)) {
        ADDS(":");
        if (rc == 0)
            rc = tulip__hbuf_addu(b, (uint64_t)u->port);
    }
    ADDS("\r\n");
    if (c->user_agent[0] && !has_extra(rq->hdrs, rq->nh, "user-agent")) {
        ADDS("User-Agent: ");
        ADDS(c->user_agent);
        ADDS("\r\n");
    }
    if (c->o.accept_compressed && !has_extra(rq->hdrs, rq->nh, "accept-encoding"))
        ADDS(TULIP__ACCEPT_ENCODING);
    for (size_t i = 0; i < rq->nh; i++) {
        ADD(rq->hdrs[i].name, rq->hdrs[i].name_len);
        ADDS(": ");
        ADD(rq->hdrs[i].value, rq->hdrs[i].value_len);
        ADDS("\r\n");
    }
    if (rq->up && rq->up->length < 0) {
        ADDS("Transfer-Encoding: chunked\r\n");
    } else if (rq->up || rq->send_length) {
        ADDS("Content-Length: ");
        if (rc == 0)
            rc = tulip__hbuf_addu(b, rq->up ? (uint64_t)rq->up->length : rq->body_len);
        ADDS("\r\n");
    }
    ADDS("\r\n");
#undef ADD
#undef ADDS
    return rc;
}

/* ---- one hop --------------------------------------------------------- */

/* Reads and parses the final (non-1xx) head. *got tells whether any byte
 * of a response arrived, which decides if a stale pooled connection may
 * be retried. */
static int read_head(tulip_http_client *c, tulip__http_conn *conn, bool head_req, tulip_http_reply *r,
                     tulip_http_response *res, bool *got)
{
    tulip_http_parser p;
    if (conn->off) {
        memmove(conn->in.p, conn->in.p + conn->off, conn->in.len - conn->off);
        conn->in.len -= conn->off;
        conn->off = 0;
    }
    *got = conn->in.len > 0;
    tulip_http_parser_init(&p, conn->hdrs, c->o.max_headers, c->o.max_head,
                           head_req ? TULIP_HTTP_RESPONSE_TO_HEAD : 0);
    for (;;) {
        int rc = tulip_http_parse_response(&p, conn->in.p + conn->off, conn->in.len - conn->off, res);
        if (rc >= 0) {
            if (res->status >= 200)
                return rc;
            if (res->status == 101)
                return -EBADMSG; /* we never ask to switch protocols */
            conn->off += (size_t)rc; /* interim 1xx: the real head follows */
            tulip_http_parser_init(&p, conn->hdrs, c->o.max_headers, c->o.max_head,
                                   head_req ? TULIP_HTTP_RESPONSE_TO_HEAD : 0);
            continue;
        }
        if (rc == -E2BIG)
            return -EMSGSIZE;
        if (rc != -EAGAIN)
            return rc;
        ssize_t n = tulip__http_fill(conn, &r->bytes_in);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return *got ? -EBADMSG : -ECONNRESET;
        *got = true;
    }
}

static int copy_headers(const tulip_http_response *res, tulip_http_reply *r)
{
    size_t sz = res->num_headers * sizeof(tulip_http_header) + 1;
    for (size_t i = 0; i < res->num_headers; i++)
        sz += res->headers[i].name_len + res->headers[i].value_len + 2;
    tulip_http_header *h = tulip__malloc(sz);
    if (!h)
        return -ENOMEM;
    char *s = (char *)(h + res->num_headers);
    for (size_t i = 0; i < res->num_headers; i++) {
        const tulip_http_header *src = &res->headers[i];
        h[i].name = s;
        h[i].name_len = src->name_len;
        memcpy(s, src->name, src->name_len);
        s += src->name_len;
        *s++ = '\0';
        h[i].value = s;
        h[i].value_len = src->value_len;
        memcpy(s, src->value, src->value_len);
        s += src->value_len;
        *s++ = '\0';
    }
    free(r->headers);
    r->headers = h;
    r->num_headers = res->num_headers;
    return 0;
}

int tulip__http_reply_coding(tulip_http_client *c, const tulip_http_reply *r)
{
    ssize_t i = tulip_http_header_find(r->headers, r->num_headers, "content-encoding", 0);
    if (i < 0)
        return TULIP__CODING_IDENTITY;
    if (!c->o.accept_compressed ||
        tulip_http_header_find(r->headers, r->num_headers, "content-encoding", (size_t)i + 1) >= 0)
        return TULIP__CODING_OTHER;
    return tulip__http_coding(r->headers[i].value, r->headers[i].value_len);
}

static int read_body(tulip__http_conn *conn, tulip__http_body_rd *rd, tulip__http_sink *sk,
                     tulip_http_reply *r)
{
    if (rd->kind == TULIP_HTTP_BODY_LENGTH &&
        (sk->coding == TULIP__CODING_IDENTITY || sk->coding == TULIP__CODING_OTHER)) {
        /* Known size: refuse before reading, and allocate once. */
        if (rd->left > sk->max)
            return -EFBIG;
        if (tulip__hbuf_reserve(&sk->out, (size_t)rd->left))
            return -ENOMEM;
    }
    for (;;) {
        ssize_t n = tulip__http_body_next(rd, conn, &r->bytes_in, false);
        if (n <= 0)
            return (int)n;
        int rc = tulip__http_sink_put(sk, conn->in.p + conn->off, (size_t)n);
        if (rc < 0)
            return rc;
        tulip__http_body_take(rd, conn, (size_t)n);
    }
}

static bool idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}

static int write_part(tulip__http_conn *conn, const void *p, size_t n)
{
    ssize_t w = tulip_stream_write(conn->s, p, n);
    if (w >= 0 && (size_t)w < n)
        return -ECANCELED; /* a partial write only happens when interrupted */
    return w < 0 ? (int)w : 0;
}

/* A streamed body: pulled from the caller's reader a piece at a time and
 * written through the connection's stream, which parks while the server
 * is slow to take it (the body is never held whole). */
static int send_upload(tulip__http_conn *conn, const tulip_http_upload *up, uint64_t *sent)
{
    enum { PIECE = 16384 };
    char *buf = tulip__malloc(PIECE);
    if (!buf)
        return -ENOMEM;
    bool chunked = up->length < 0;
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = up->read(up->arg, buf, PIECE);
        if (n < 0 || n > PIECE) {
            rc = n < 0 ? (int)n : -EINVAL;
            break;
        }
        if (n == 0) {
            if (chunked)
                rc = write_part(conn, "0\r\n\r\n", 5);
            else if (total != (uint64_t)up->length)
                rc = -ENODATA; /* fewer bytes than announced */
            break;
        }
        total += (uint64_t)n;
        if (!chunked && total > (uint64_t)up->length) {
            rc = -EMSGSIZE;
            break;
        }
        if (chunked) {
            char line[24];
            int len = snprintf(line, sizeof line, "%zx\r\n", (size_t)n);
            if ((rc = write_part(conn, line, (size_t)len)) < 0)
                break;
        }
        if ((rc = write_part(conn, buf, (size_t)n)) < 0 || (chunked && (rc = write_part(conn, "\r\n", 2)) < 0))
            break;
    }
    free(buf);
    *sent = total;
    return rc;
}

static int send_req(tulip__http_conn *conn, const tulip__hbuf *head, const req *rq, tulip_http_reply *r)
{
    ssize_t w = tulip_stream_write(conn->s, head->p, head->len);
    if (w >= 0 && (size_t)w < head->len)
        return -ECANCELED; /* a partial write only happens when interrupted */
    if (w < 0)
        return (int)w;
    uint64_t body = rq->body_len;
    if (rq->up) {
        int rc = send_upload(conn, rq->up, &body);
        if (rc < 0)
            return rc;
    } else if (rq->body_len) {
        w = tulip_stream_write(conn->s, rq->body, rq->body_len);
        if (w >= 0 && (size_t)w < rq->body_len)
            return -ECANCELED;
        if (w < 0)
            return (int)w;
    }
    int rc = tulip_stream_flush(conn->s);
    if (rc == 0)
        r->bytes_out += head->len + body;
    return rc;
}

/* Send the request and read the final head into r: on success *out holds
 * the connection with the body unread, framed by *rd. */
static int hop_head(tulip_http_client *c, const req *rq, const tulip_http_url *u, tulip_http_reply *r,
                    tulip__http_conn **out, tulip__http_body_rd *rd)
{
    tulip__hbuf head = {0};
    int rc = build_head(c, rq, u, &head);
    if (rc < 0)
        return rc;
    bool head_req = strcmp(rq->method, "HEAD") == 0;
    for (int attempt = 0;; attempt++) {
        tulip__http_conn *conn;
        int64_t connect_ns;
        /* A streamed body cannot be sent twice: it gets a fresh
         * connection, never a pooled one the server may have closed. */
        if ((rc = tulip__http_pool_get(c, u, attempt > 0 || rq->up, &conn, &connect_ns)) < 0)
            break;
        bool reused = conn->uses++ > 0;
        c->st.requests++;
        if (reused)
            c->st.reused++;
        r->reused = reused;
        r->connect_ns = connect_ns;
        int64_t sent_at = 0;
        bool got = false;
        tulip_http_response res;
        rc = rq->tap ? tulip__http_tap_start(rq->tap, conn, c->o.max_head + c->o.max_body + 65536, head.p,
                                             head.len, rq->body, rq->body_len)
                     : 0;
        if (rc == 0)
            rc = send_req(conn, &head, rq, r);
        if (rc == 0) {
            sent_at = tulip_now();
            rc = read_head(c, conn, head_req, r, &res, &got);
        }
        if (rc < 0) {
            put(c, conn, false);
            /* A pooled connection the server closed meanwhile fails before
             * any response byte: the request was not processed, try anew. */
            if (reused && !got && attempt == 0 && idempotent(rq->method) && !rq->up &&
                (rc == -ECONNRESET || rc == -EPIPE))
                continue;
            break;
        }
        r->first_byte_ns = tulip_now() - sent_at;
        conn->off += (size_t)rc;
        tulip__http_tap_head(conn);
        r->status = res.status;
        r->minor_version = res.minor_version;
        if ((rc = copy_headers(&res, r)) < 0) {
            put(c, conn, false);
            break;
        }
        /* Framed both ways: RFC 9112 6.3 says handle it as an error; a
         * smuggling attempt is the likely reason. */
        if (res.chunked && tulip_http_header_find(r->headers, r->num_headers, "content-length", 0) >= 0) {
            put(c, conn, false);
            rc = -EBADMSG;
            break;
        }
        tulip__http_body_init(rd, &res);
        *out = conn;
        break;
    }
    tulip__hbuf_free(&head);
    return rc;
}

/* Read the body of the response hop_head returned into r (bounded by
 * max_body) and give the connection back. */
static int hop_body(tulip_http_client *c, tulip__http_conn *conn, tulip__http_body_rd *rd, tulip_http_reply *r)
{
    tulip__http_sink sk;
    tulip__http_sink_init(&sk, c->o.max_body, tulip__http_reply_coding(c, r));
    int rc = read_body(conn, rd, &sk, r);
    if (rc == 0)
        rc = tulip__http_sink_finish(&sk);
    if (rc < 0) {
        tulip__http_sink_drop(&sk);
        put(c, conn, false);
        return rc;
    }
    free(r->body);
    r->body = sk.out.p;
    r->body_len = sk.out.len;
    r->decoded = tulip__http_coding_compressed(sk.coding);
    sk.out.p = NULL;
    tulip__http_sink_drop(&sk);
    tulip__http_tap_end(conn, true);
    put(c, conn, tulip__http_body_reusable(rd));
    return 0;
}

/* ---- redirects --------------------------------------------------------- */

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static int run(tulip_http_client *c, req *rq, const char *url, tulip_http_reply *r, tulip__http_conn **keep,
               tulip__http_body_rd *rd)
{
    /* Every URL of the chain, the current one last: for loop detection. */
    char **seen = tulip__calloc((size_t)c->o.max_redirects + 1, sizeof *seen);
    size_t nseen = 0;
    int rc = 0;
    if (!seen)
        return -ENOMEM;
    if (!(seen[nseen++] = tulip__strdup(url))) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        const char *cur = seen[nseen - 1];
        tulip_http_url u;
        tulip__http_conn *conn;
        if ((rc = tulip_http_url_parse(cur, &u)) < 0 || (rc = hop_head(c, rq, &u, r, &conn, rd)) < 0)
            break;
        size_t loc_len;
        const char *loc = tulip_http_reply_header(r, "location", &loc_len);
        bool final = !is_redirect(r->status) || c->o.max_redirects == 0 || !loc || rq->up;
        if (final && keep) {
            *keep = conn;
            r->url = seen[--nseen];
            break;
        }
        /* An intermediate 3xx body is read (not dropped with its
         * connection) so the connection can serve the next hop. */
        if ((rc = hop_body(c, conn, rd, r)) < 0)
            break;
        if (final) {
            r->url = seen[--nseen];
            break;
        }
        if (r->redirects >= c->o.max_redirects) {
            rc = -ELOOP;
            break;
        }
        char *next = tulip__http_resolve(cur, loc, loc_len);
        if (!next) {
            rc = -errno;
            break;
        }
        bool to_get = (r->status == 303 && strcmp(rq->method, "HEAD") != 0) ||
                      ((r->status == 301 || r->status == 302) && strcmp(rq->method, "POST") == 0);
        if (to_get) {
            rq->method = "GET";
            rq->body = NULL;
            rq->body_len = 0;
            rq->send_length = false;
        }
        /* The same URL again with the same request can only loop (a
         * method change, as POST -> 303 -> GET, is progress). */
        for (size_t i = 0; i < nseen && !to_get; i++)
            if (strcmp(seen[i], next) == 0)
                rc = -ELOOP;
        if (rc < 0) {
            free(next);
            break;
        }
        seen[nseen++] = next;
        r->redirects++;
    }
out:
    for (size_t i = 0; i < nseen; i++)
        free(seen[i]);
    free(seen);
    return rc;
}

int tulip__http_request(tulip_http_client *c, const char *method, const char *url,
                        const tulip_http_header *headers, size_t n_headers, const void *body,
                        size_t body_len, tulip_http_reply **out, tulip__http_conn **keep,
                        tulip__http_body_rd *rd, tulip_http_tap *tap)
{
    return tulip__http_request_up(c, method, url, headers, n_headers, body, body_len, NULL, out, keep, rd, tap);
}

int tulip__http_request_up(tulip_http_client *c, const char *method, const char *url,
                           const tulip_http_header *headers, size_t n_headers, const void *body,
                           size_t body_len, const tulip_http_upload *up, tulip_http_reply **out,
                           tulip__http_conn **keep, tulip__http_body_rd *rd, tulip_http_tap *tap)
{
    if (out)
        *out = NULL;
    if (!c || !method || !url || !out || (!body && body_len) || !is_token(method, strlen(method)) ||
        (up && (!up->read || up->length < -1)))
        return -EINVAL;
    int rc = check_extra(headers, n_headers);
    if (rc < 0)
        return rc;
    if (!tulip_self())
        return -EPERM;
    req rq = {method, headers, n_headers, body, body_len, false, up, tap};
    rq.send_length = body != NULL || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
    tulip_http_reply *r = tulip__calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    int64_t t0 = tulip_now();
    tulip_scope sc;
    bool scoped = c->o.timeout != TULIP_FOREVER;
    tulip__http_body_rd rd_local;
    tulip__http_conn *held = NULL;
    if (scoped)
        tulip_scope_enter_timeout(&sc, c->o.timeout);
    rc = run(c, &rq, url, r, keep ? &held : NULL, keep ? rd : &rd_local);
    if (scoped) {
        int src = tulip_scope_exit(&sc);
        if (rc < 0 && src == -ETIMEDOUT)
            rc = -ETIMEDOUT;
    }
    if (rc < 0) {
        r->url = NULL;
        tulip_http_reply_free(r);
        return rc;
    }
    if (keep) {
        /* Only an intermediate redirect's body can be here. */
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        *keep = held;
    }
    r->total_ns = tulip_now() - t0;
    *out = r;
    return 0;
}

int tulip_http_fetch(tulip_http_client *c, const char *method, const char *url, const tulip_http_header *headers,
                     size_t n_headers, const void *body, size_t body_len, tulip_http_reply **out)
{
    return tulip__http_request(c, method, url, headers, n_headers, body, body_len, out, NULL, NULL, NULL);
}

int tulip_http_fetch_tap(tulip_http_client *c, const char *method, const char *url,
                         const tulip_http_header *headers, size_t n_headers, const void *body,
                         size_t body_len, tulip_http_tap *tap, tulip_http_reply **out)
{
    if (tap) { /* empty even when no connection is made */
        tap->request_len = tap->response_len = tap->head_len = 0;
        tap->truncated = tap->complete = false;
        tap->peer[0] = '\0';
    }
    return tulip__http_request(c, method, url, headers, n_headers, body, body_len, out, NULL, NULL, tap);
}

int tulip_http_fetch_upload(tulip_http_client *c, const char *method, const char *url,
                            const tulip_http_header *headers, size_t n_headers, const tulip_http_upload *body,
                            tulip_http_reply **out)
{
    if (!body) {
        if (out)
            *out = NULL;
        return -EINVAL;
    }
    return tulip__http_request_up(c, method, url, headers, n_headers, NULL, 0, body, out, NULL, NULL, NULL);
}

int tulip_http_get(tulip_http_client *c, const char *url, tulip_http_reply **out)
{
    return tulip_http_fetch(c, "GET", url, NULL, 0, NULL, 0, out);
}
