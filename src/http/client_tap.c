/* The client's tap: a copy of the exact bytes of one exchange, taken as
 * they are written and read (before de-chunking and decoding), for WARC
 * archives. A tapped connection copies every byte it reads; the copy is
 * trimmed at the end of the body, so bytes of a next response (which a
 * server may send early) are not part of this one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "../common/fault.h"

static int grow(char **p, size_t *len, size_t *cap, const void *src, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n + 1)
            nc *= 2;
        char *q = tulip__realloc(*p, nc);
        if (!q)
            return -ENOMEM;
        *p = q;
        *cap = nc;
    }
    if (n)
        memcpy(*p + *len, src, n);
    *len += n;
    (*p)[*len] = '\0';
    return 0;
}

void tulip__http_tap_in(tulip__http_conn *conn, const char *p, size_t n)
{
    tulip_http_tap *t = conn->tap;
    size_t room = conn->tap_max - t->response_len;
    if (n > room) {
        t->truncated = true;
        n = room;
    }
    if (n && grow(&t->response, &t->response_len, &t->response_cap, p, n) < 0)
        t->truncated = true; /* out of memory: what is kept is still true */
}

static void peer_of(tulip__http_conn *conn, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    out[0] = '\0';
    if (getpeername(tulip_stream_fd(conn->s), (struct sockaddr *)&ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)cap);
}

int tulip__http_tap_start(tulip_http_tap *t, tulip__http_conn *conn, size_t dflt_max, const char *head,
                          size_t head_len, const void *body, size_t body_len)
{
    t->request_len = t->response_len = t->head_len = 0;
    t->truncated = t->complete = false;
    peer_of(conn, t->peer, sizeof t->peer);
    if (grow(&t->request, &t->request_len, &t->request_cap, head, head_len) < 0 ||
        grow(&t->request, &t->request_len, &t->request_cap, body, body_len) < 0)
        return -ENOMEM;
    conn->tap = t;
    conn->tap_max = t->max ? t->max : dflt_max;
    /* Bytes already buffered (sent early by the server) belong to this
     * response. */
    if (conn->in.len > conn->off)
        tulip__http_tap_in(conn, conn->in.p + conn->off, conn->in.len - conn->off);
    return 0;
}

void tulip__http_tap_head(tulip__http_conn *conn)
{
    tulip_http_tap *t = conn->tap;
    if (!t)
        return;
    size_t after = conn->in.len - conn->off;
    t->head_len = !t->truncated && after <= t->response_len ? t->response_len - after : t->response_len;
}

void tulip__http_tap_end(tulip__http_conn *conn, bool complete)
{
    tulip_http_tap *t = conn->tap;
    if (!t)
        return;
    size_t after = conn->in.len - conn->off;
    if (complete && !t->truncated && after <= t->response_len - t->head_len)
        t->response_len -= after;
    t->complete = complete;
    conn->tap = NULL;
}

void tulip_http_tap_free(tulip_http_tap *t)
{
    if (!t)
        return;
    free(t->request);
    free(t->response);
    size_t max = t->max;
    memset(t, 0, sizeof *t);
    t->max = max;
}
