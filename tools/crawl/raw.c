#define _GNU_SOURCE
#include "raw.h"
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { HEAD, BODY, DONE };

void crawl_raw_init(crawl_raw *r, size_t max_body)
{
    memset(r, 0, sizeof *r);
    r->max_body = max_body;
    tulip_http_parser_init(&r->p, r->hdr, sizeof r->hdr / sizeof r->hdr[0], 0, 0);
}

void crawl_raw_free(crawl_raw *r)
{
    crawl_buf_free(&r->in);
    crawl_buf_free(&r->body);
    free(r->location);
    free(r->content_type);
    r->location = r->content_type = NULL;
}

int crawl_raw_request(crawl_buf *out, const char *target, const char *host, const char *user_agent)
{
    return crawl_buf_printf(out,
                            "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
                            "Accept: */*\r\nConnection: close\r\n\r\n",
                            target, host, user_agent);
}

static char *header_dup(const tulip_http_response *h, const char *name)
{
    ssize_t i = tulip_http_header_find(h->headers, h->num_headers, name, 0);
    return i < 0 ? NULL : strndup(h->headers[i].value, h->headers[i].value_len);
}

/* Body bytes in r->in[from..) */
static int take_body(crawl_raw *r, size_t from)
{
    char *p = r->in.data + from;
    size_t n = r->in.len - from;
    r->in.len = from;
    if (r->framing == TULIP_HTTP_BODY_CHUNKED) {
        ssize_t rc = tulip_http_chunked_decode(&r->ch, p, &n);
        if (rc < 0 && rc != -EAGAIN)
            return (int)rc;
        if (crawl_buf_append(&r->body, p, n))
            return -ENOMEM;
        if (rc >= 0)
            r->state = DONE;
        return r->state == DONE;
    }
    if (r->framing == TULIP_HTTP_BODY_LENGTH && (int64_t)n > r->want)
        n = (size_t)r->want; /* Connection: close; anything after is junk */
    if (r->body.len + n > r->max_body)
        return -EFBIG;
    if (crawl_buf_append(&r->body, p, n))
        return -ENOMEM;
    if (r->framing == TULIP_HTTP_BODY_LENGTH) {
        r->want -= (int64_t)n;
        if (r->want == 0)
            r->state = DONE;
    }
    return r->state == DONE;
}

int crawl_raw_feed(crawl_raw *r, const char *data, size_t n)
{
    if (r->state == DONE)
        return 1;
    if (crawl_buf_append(&r->in, data, n))
        return -ENOMEM;
    if (r->state == BODY)
        return take_body(r, 0);
    for (;;) {
        tulip_http_response h;
        int rc = tulip_http_parse_response(&r->p, r->in.data, r->in.len, &h);
        if (rc == -EAGAIN)
            return 0;
        if (rc == -E2BIG)
            return -EMSGSIZE;
        if (rc < 0)
            return rc == -EPROTONOSUPPORT ? -EBADMSG : rc;
        if (h.status < 200) { /* interim: drop it, parse the next head */
            memmove(r->in.data, r->in.data + rc, r->in.len - (size_t)rc);
            r->in.len -= (size_t)rc;
            tulip_http_parser_init(&r->p, r->hdr, sizeof r->hdr / sizeof r->hdr[0], 0, 0);
            continue;
        }
        r->status = h.status;
        r->location = header_dup(&h, "Location");
        r->content_type = header_dup(&h, "Content-Type");
        r->framing = h.body;
        r->want = h.content_length;
        r->state = BODY;
        if (h.body == TULIP_HTTP_BODY_NONE ||
            (h.body == TULIP_HTTP_BODY_LENGTH && h.content_length == 0)) {
            r->state = DONE;
            return 1;
        }
        if (h.body == TULIP_HTTP_BODY_LENGTH && (uint64_t)h.content_length > r->max_body)
            return -EFBIG;
        if (h.body == TULIP_HTTP_BODY_CHUNKED)
            tulip_http_chunked_init(&r->ch, r->max_body);
        return take_body(r, (size_t)rc);
    }
}

int crawl_raw_eof(crawl_raw *r)
{
    if (r->state == DONE)
        return 1;
    if (r->state == BODY && r->framing == TULIP_HTTP_BODY_UNTIL_CLOSE) {
        r->state = DONE;
        return 1;
    }
    return r->state == HEAD && r->in.len == 0 ? -ECONNRESET : -ENODATA;
}

/* A blocking connect() interrupted by a signal goes on in the background
 * (POSIX): calling it again fails with EALREADY, so wait for the socket to
 * become writable and read the outcome.  On Linux a send timeout makes
 * connect() fail with EINTR rather than restart, also when io_uring work
 * elsewhere in the process interrupts it. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int finish_connect(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int64_t deadline = now_ms() + timeout_ms;
    int n;
    while ((n = poll(&p, 1, (int)(deadline > now_ms() ? deadline - now_ms() : 0))) < 0 &&
           errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -errno;
    return -err;
}

static int dial(const crawl_url_parts *u, int timeout_ms)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res;
    char port[16];
    snprintf(port, sizeof port, "%d", u->port);
    if (getaddrinfo(u->host, port, &hints, &res) != 0)
        return -ENOENT;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return -errno;
    }
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(fd, res->ai_addr, res->ai_addrlen) ? -errno : 0;
    if (rc == -EINTR)
        rc = finish_connect(fd, timeout_ms);
    freeaddrinfo(res);
    if (rc) {
        close(fd);
        return rc == -EINPROGRESS ? -ETIMEDOUT : rc;
    }
    return fd;
}

int crawl_raw_get(const char *url, const char *user_agent, int timeout_ms, crawl_raw *r)
{
    crawl_url_parts u;
    int rc = crawl_url_split(url, &u);
    if (rc)
        return rc == -ENOMEM ? rc : -EINVAL;
    if (strcmp(u.scheme, "http") != 0) {
        crawl_url_parts_free(&u);
        return -EPROTONOSUPPORT;
    }
    crawl_buf req = { 0 };
    rc = crawl_raw_request(&req, u.target, u.authority, user_agent);
    int fd = rc ? rc : dial(&u, timeout_ms);
    crawl_url_parts_free(&u);
    if (fd < 0) {
        crawl_buf_free(&req);
        return fd;
    }
    for (size_t off = 0; off < req.len && rc == 0;) {
        ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno != EINTR)
            rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    crawl_buf_free(&req);
    char buf[16384];
    while (rc == 0) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
        else if (n == 0)
            rc = crawl_raw_eof(r);
        else
            rc = crawl_raw_feed(r, buf, (size_t)n);
    }
    close(fd);
    return rc < 0 ? rc : 0;
}
