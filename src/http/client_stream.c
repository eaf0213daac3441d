/* Streamed response bodies: tulip_http_open makes the request as
 * tulip_http_fetch does (same code, see tulip__http_request) but stops
 * after the final head; reads then take decoded body bytes straight from
 * the connection's buffer into the caller's, so a body of any size needs
 * no more memory than that buffer and zlib's window. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "http_internal.h"
#include "../common/fault.h"
#include "../io/stream_internal.h"
#include "tulip/task.h"

struct tulip_http_reader {
    tulip_http_client *c;
    tulip__http_conn *conn;
    tulip__http_body_rd rd;
    tulip__http_sink dec;     /* only its decoder is used: no output buffer */
    tulip_http_reply *r;
    int err;                  /* sticky: the connection's state is unknown after it */
    bool eof;
    bool compressed;
    bool zpending;            /* the last inflate filled the caller's buffer */
};

int tulip_http_open(tulip_http_client *c, const char *method, const char *url, const tulip_http_header *headers,
                    size_t n_headers, const void *body, size_t body_len, tulip_http_reader **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    tulip_http_reader *s = tulip__calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    int rc = tulip__http_request(c, method, url, headers, n_headers, body, body_len, &s->r, &s->conn, &s->rd, NULL);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->c = c;
    /* No limit: the caller's buffer bounds the memory, not the body size. */
    tulip__http_sink_init(&s->dec, SIZE_MAX, tulip__http_reply_coding(c, s->r));
    s->compressed = tulip__http_coding_compressed(s->dec.coding);
    s->r->decoded = s->compressed;
    *out = s;
    return 0;
}

const tulip_http_reply *tulip_http_reader_reply(const tulip_http_reader *s)
{
    return s ? s->r : NULL;
}

static ssize_t pull(tulip_http_reader *s, char *buf, size_t n)
{
    for (;;) {
        size_t used;
        ssize_t made;
        if (s->zpending) {
            made = tulip__http_sink_decode(&s->dec, NULL, 0, &used, buf, n);
            if (made < 0)
                return made;
            s->zpending = (size_t)made == n;
            if (made > 0)
                return made;
        }
        ssize_t k = tulip__http_body_next(&s->rd, s->conn, &s->r->bytes_in, false);
        if (k < 0)
            return k;
        if (k == 0) {
            int rc = tulip__http_sink_ended(&s->dec);
            if (rc < 0)
                return rc;
            s->eof = true;
            return 0;
        }
        made = tulip__http_sink_decode(&s->dec, s->conn->in.p + s->conn->off, (size_t)k, &used, buf, n);
        if (made < 0)
            return made;
        s->dec.raw += used;
        tulip__http_body_take(&s->rd, s->conn, used);
        s->zpending = s->compressed && (size_t)made == n;
        if (made > 0)
            return made;
    }
}

ssize_t tulip_http_reader_read(tulip_http_reader *s, void *buf, size_t n)
{
    if (!s || (!buf && n))
        return -EINVAL;
    if (s->err)
        return s->err;
    if (n == 0 || s->eof)
        return 0;
    /* The client's timeout bounds each read, not the whole body: a long
     * download is fine as long as bytes keep coming. */
    tulip_scope sc;
    bool scoped = s->c->o.timeout != TULIP_FOREVER;
    if (scoped)
        tulip_scope_enter_timeout(&sc, s->c->o.timeout);
    ssize_t rc = pull(s, buf, n);
    if (scoped) {
        int src = tulip_scope_exit(&sc);
        if (rc < 0 && src == -ETIMEDOUT)
            rc = -ETIMEDOUT;
    }
    /* A cancelled or timed-out read took nothing (the framing state is
     * only changed by bytes received), so the caller may read on. */
    if (rc < 0 && rc != -ECANCELED && rc != -ETIMEDOUT)
        s->err = (int)rc;
    return rc;
}

int tulip_http_reader_close(tulip_http_reader *s)
{
    if (!s)
        return 0;
    if (s->conn && tulip__stream_busy(s->conn->s))
        return -EBUSY;
    if (s->conn) {
        /* Read to the end, or nearly: the end of the framing may already
         * be buffered (a reader that stopped after Content-Length bytes). */
        bool reusable = !s->err && tulip__http_body_reusable(&s->rd) &&
                        (s->eof || tulip__http_body_next(&s->rd, s->conn, &s->r->bytes_in, true) == 0);
        tulip__http_pool_put(s->c, s->conn, reusable);
    }
    tulip__http_sink_drop(&s->dec);
    tulip_http_reply_free(s->r);
    free(s);
    return 0;
}
