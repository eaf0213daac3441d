/* Response bodies: a growable buffer, and the sink every body goes through,
 * which enforces the size limit on both the received and the decoded bytes
 * (so a small gzip "bomb" cannot inflate past it) and undoes gzip/deflate
 * (and br/zstd, through coding.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "../common/fault.h"
#include "../common/grow.h"

int tulip__hbuf_reserve(tulip__hbuf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return -ENOMEM;
    size_t need = b->len + extra + 1;
    return need <= b->cap ? 0 : tulip__grow(&b->p, &b->cap, need, 256, SIZE_MAX / 2, 1);
}

int tulip__hbuf_add(tulip__hbuf *b, const void *p, size_t n)
{
    int rc = tulip__hbuf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int tulip__hbuf_adds(tulip__hbuf *b, const char *s)
{
    return tulip__hbuf_add(b, s, strlen(s));
}

int tulip__hbuf_addu(tulip__hbuf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return tulip__hbuf_add(b, tmp + i, sizeof tmp - i);
}

void tulip__hbuf_free(tulip__hbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int tulip__http_coding(const char *v, size_t n)
{
    if (n == 0 || (n == 8 && strncasecmp(v, "identity", 8) == 0))
        return TULIP__CODING_IDENTITY;
    if ((n == 4 && strncasecmp(v, "gzip", 4) == 0) || (n == 6 && strncasecmp(v, "x-gzip", 6) == 0))
        return TULIP__CODING_GZIP;
    if (n == 7 && strncasecmp(v, "deflate", 7) == 0)
        return TULIP__CODING_DEFLATE;
    if (n == 2 && strncasecmp(v, "br", 2) == 0 && tulip__http_coding_built(TULIP__CODING_BR))
        return TULIP__CODING_BR;
    if (n == 4 && strncasecmp(v, "zstd", 4) == 0 && tulip__http_coding_built(TULIP__CODING_ZSTD))
        return TULIP__CODING_ZSTD;
    return TULIP__CODING_OTHER;
}

bool tulip__http_coding_compressed(int coding)
{
    return coding != TULIP__CODING_IDENTITY && coding != TULIP__CODING_OTHER;
}

void tulip__http_sink_init(tulip__http_sink *s, size_t max, int coding)
{
    memset(s, 0, sizeof *s);
    s->max = max < SIZE_MAX / 4 ? max : SIZE_MAX / 4;
    s->coding = coding;
    /* Compressed data can be a little larger than its output (stored
     * blocks); anything beyond that margin is not a real body. */
    s->max_raw = (uint64_t)s->max + s->max / 64 + 1024;
#ifndef TULIP_HAVE_ZLIB
    if (coding == TULIP__CODING_GZIP || coding == TULIP__CODING_DEFLATE)
        s->coding = TULIP__CODING_OTHER;
#endif
}

static int put_plain(tulip__http_sink *s, const char *p, size_t n)
{
    if (n > s->max - s->out.len)
        return -EFBIG;
    return tulip__hbuf_add(&s->out, p, n);
}

#ifdef TULIP_HAVE_ZLIB
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return tulip__calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

/* RFC 9110 says "deflate" is the zlib format, but servers have long sent
 * raw deflate too: tell them apart by the zlib header check bits. */
static int z_start(tulip__http_sink *s, const unsigned char *first2)
{
    int wbits = 15 + 16;
    if (s->coding == TULIP__CODING_DEFLATE) {
        unsigned cmf = first2[0], flg = first2[1];
        bool zlib_hdr = (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
        wbits = zlib_hdr ? 15 : -15;
    }
    s->z.zalloc = z_alloc;
    s->z.zfree = z_free;
    s->z.opaque = Z_NULL;
    int rc = inflateInit2(&s->z, wbits);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
    s->zstate = 1;
    return 0;
}

/* One inflate call; concatenated gzip members form one body (RFC 1952
 * 2.2). With n == 0 it only drains, and making no progress is fine. */
static int z_step(tulip__http_sink *s, const unsigned char *in, size_t n, char *out, size_t room,
                  size_t *used, size_t *produced)
{
    *used = *produced = 0;
    if (s->zstate == 2) {
        if (n == 0)
            return 0;
        if (s->coding != TULIP__CODING_GZIP || inflateReset(&s->z) != Z_OK)
            return -EBADMSG;
        s->zstate = 1;
    }
    uInt in_n = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
    uInt room_n = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
    s->z.next_in = (Bytef *)(uintptr_t)in;
    s->z.avail_in = in_n;
    s->z.next_out = (Bytef *)out;
    s->z.avail_out = room_n;
    int rc = inflate(&s->z, Z_NO_FLUSH);
    *produced = room_n - s->z.avail_out;
    *used = in_n - s->z.avail_in;
    if (rc == Z_STREAM_END) {
        s->zstate = 2;
        return 0;
    }
    if (rc == Z_MEM_ERROR)
        return -ENOMEM;
    if (rc != Z_OK && rc != Z_BUF_ERROR)
        return -EBADMSG;
    if (n > 0 && !*produced && !*used)
        return -EBADMSG;
    return 0;
}
#endif

ssize_t tulip__http_sink_decode(tulip__http_sink *s, const char *p, size_t n, size_t *used, char *out,
                                size_t cap)
{
    *used = 0;
    if (s->coding == TULIP__CODING_BR || s->coding == TULIP__CODING_ZSTD)
        return tulip__http_coding_decode(s, p, n, used, out, cap);
#ifdef TULIP_HAVE_ZLIB
    if (s->coding == TULIP__CODING_GZIP || s->coding == TULIP__CODING_DEFLATE) {
        const unsigned char *u = (const unsigned char *)p;
        size_t took, made;
        int rc;
        if (s->zstate == 0) {
            /* The deflate probe needs two bytes, which may arrive apart. */
            while (s->nprobe < 2 && n > 0) {
                s->probe[s->nprobe++] = *u++;
                n--;
                (*used)++;
            }
            if (s->nprobe < 2)
                return 0;
            if ((rc = z_start(s, s->probe)) < 0)
                return rc;
        }
        if (s->nprobed < 2) {
            /* zlib may stop inside the probe when out is small. */
            rc = z_step(s, s->probe + s->nprobed, 2 - s->nprobed, out, cap, &took, &made);
            if (rc < 0)
                return rc;
            s->nprobed += (unsigned)took;
            if (s->nprobed < 2 || made)
                return (ssize_t)made;
        }
        if ((rc = z_step(s, u, n, out, cap, &took, &made)) < 0)
            return rc;
        *used += took;
        return (ssize_t)made;
    }
#endif
    size_t k = n < cap ? n : cap;
    memcpy(out, p, k);
    *used = k;
    return (ssize_t)k;
}

int tulip__http_sink_put(tulip__http_sink *s, const char *p, size_t n)
{
    if (n > s->max_raw - s->raw)
        return -EFBIG;
    s->raw += n;
    if (!tulip__http_coding_compressed(s->coding))
        return put_plain(s, p, n);
    for (;;) {
        if (s->out.len == s->max + (size_t)1)
            return -EFBIG;
        size_t room = s->max + 1 - s->out.len;
        if (room > 65536)
            room = 65536;
        int rc = tulip__hbuf_reserve(&s->out, room);
        if (rc)
            return rc;
        size_t used;
        ssize_t made = tulip__http_sink_decode(s, p, n, &used, s->out.p + s->out.len, room);
        if (made < 0)
            return (int)made;
        s->out.len += (size_t)made;
        p += used;
        n -= used;
        if (s->out.len > s->max)
            return -EFBIG;
        /* A full buffer may leave output inside zlib: drain it even when
         * the input is all taken, or a stream ending there looks cut. */
        if (n == 0 && (size_t)made < room)
            return 0;
    }
}

int tulip__http_sink_ended(const tulip__http_sink *s)
{
    bool zlib = s->coding == TULIP__CODING_GZIP || s->coding == TULIP__CODING_DEFLATE;
    /* An empty body with a Content-Encoding (HEAD, 204) decodes to nothing. */
    if (zlib && (s->raw > 0 || s->nprobe > 0) && s->zstate != 2)
        return -EBADMSG;
    if (!zlib && tulip__http_coding_compressed(s->coding) && s->raw > 0 && !tulip__http_coding_ended(s))
        return -EBADMSG;
    return 0;
}

int tulip__http_sink_finish(tulip__http_sink *s)
{
    int rc = tulip__http_sink_ended(s);
    if (rc < 0)
        return rc;
    if (tulip__hbuf_reserve(&s->out, 0))
        return -ENOMEM;
    s->out.p[s->out.len] = '\0';
    return 0;
}

void tulip__http_sink_drop(tulip__http_sink *s)
{
#ifdef TULIP_HAVE_ZLIB
    if (s->zstate)
        inflateEnd(&s->z);
#endif
    s->zstate = 0;
    tulip__http_coding_drop(s);
    tulip__hbuf_free(&s->out);
}

/* ---- framing -------------------------------------------------------- */

ssize_t tulip__http_fill(tulip__http_conn *conn, uint64_t *bytes_in)
{
    if (tulip__hbuf_reserve(&conn->in, 16384))
        return -ENOMEM;
    ssize_t n = tulip_stream_read(conn->s, conn->in.p + conn->in.len, conn->in.cap - 1 - conn->in.len);
    if (n > 0) {
        if (conn->tap)
            tulip__http_tap_in(conn, conn->in.p + conn->in.len, (size_t)n);
        conn->in.len += (size_t)n;
        *bytes_in += (uint64_t)n;
    }
    return n;
}

void tulip__http_body_init(tulip__http_body_rd *rd, const tulip_http_response *res)
{
    rd->kind = res->body;
    rd->done = res->body == TULIP_HTTP_BODY_NONE ||
               (res->body == TULIP_HTTP_BODY_LENGTH && res->content_length == 0);
    rd->keep_alive = res->keep_alive;
    rd->ready = 0;
    rd->left = res->body == TULIP_HTTP_BODY_LENGTH ? (uint64_t)res->content_length : 0;
    if (res->body == TULIP_HTTP_BODY_CHUNKED)
        tulip_http_chunked_init(&rd->ch, UINT64_MAX);
}

ssize_t tulip__http_body_next(tulip__http_body_rd *rd, tulip__http_conn *conn, uint64_t *bytes_in,
                              bool nofill)
{
    for (;;) {
        if (rd->ready)
            return (ssize_t)rd->ready;
        if (rd->done)
            return 0;
        size_t avail = conn->in.len - conn->off;
        if (avail) {
            if (rd->kind == TULIP_HTTP_BODY_LENGTH) {
                rd->ready = avail < rd->left ? avail : (size_t)rd->left;
                rd->left -= rd->ready;
                rd->done = rd->left == 0;
                continue;
            }
            if (rd->kind == TULIP_HTTP_BODY_UNTIL_CLOSE) {
                rd->ready = avail;
                continue;
            }
            /* Decoded in place: [off, off + len) becomes body bytes. */
            size_t len = avail;
            ssize_t after = tulip_http_chunked_decode(&rd->ch, conn->in.p + conn->off, &len);
            if (after >= 0) {
                rd->done = true;
                conn->in.len = conn->off + len + (size_t)after;
            } else if (after == -EAGAIN) {
                conn->in.len = conn->off + len;
            } else {
                return after == -EMSGSIZE ? -EBADMSG : after;
            }
            rd->ready = len;
            if (len || rd->done)
                continue;
        }
        if (nofill)
            return -EWOULDBLOCK;
        /* Everything buffered was taken: read from the start again, so the
         * buffer never grows. */
        conn->off = conn->in.len = 0;
        ssize_t n = tulip__http_fill(conn, bytes_in);
        if (n < 0)
            return n;
        if (n == 0) {
            if (rd->kind != TULIP_HTTP_BODY_UNTIL_CLOSE)
                return -ENODATA;
            rd->done = true;
        }
    }
}

void tulip__http_body_take(tulip__http_body_rd *rd, tulip__http_conn *conn, size_t n)
{
    rd->ready -= n;
    conn->off += n;
}

bool tulip__http_body_reusable(const tulip__http_body_rd *rd)
{
    return rd->keep_alive && rd->kind != TULIP_HTTP_BODY_UNTIL_CLOSE;
}
