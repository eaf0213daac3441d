/* Response bodies: a growable buffer, and the sink every body goes through,
 * which enforces the size limit on both the received and the decoded bytes
 * (so a small gzip "bomb" cannot inflate past it) and undoes gzip/deflate. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "../common/fault.h"

int tulip__hbuf_reserve(tulip__hbuf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return -ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = tulip__realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
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
    return TULIP__CODING_OTHER;
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

static int inflate_some(tulip__http_sink *s, const unsigned char *p, size_t n)
{
    s->z.next_in = (Bytef *)(uintptr_t)p;
    while (n > 0) {
        if (s->zstate == 2) {
            /* Concatenated gzip members form one body (RFC 1952 2.2). */
            if (s->coding != TULIP__CODING_GZIP)
                return -EBADMSG;
            if (inflateReset(&s->z) != Z_OK)
                return -EBADMSG;
            s->zstate = 1;
        }
        if (s->out.len == s->max + (size_t)1)
            return -EFBIG;
        size_t room = s->max + 1 - s->out.len;
        if (room > 65536)
            room = 65536;
        int rc = tulip__hbuf_reserve(&s->out, room);
        if (rc)
            return rc;
        uInt in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
        s->z.avail_in = in;
        s->z.next_out = (Bytef *)s->out.p + s->out.len;
        s->z.avail_out = (uInt)room;
        rc = inflate(&s->z, Z_NO_FLUSH);
        size_t produced = room - s->z.avail_out, used = in - s->z.avail_in;
        s->out.len += produced;
        n -= used;
        if (s->out.len > s->max)
            return -EFBIG;
        if (rc == Z_STREAM_END)
            s->zstate = 2;
        else if (rc == Z_MEM_ERROR)
            return -ENOMEM;
        else if (rc != Z_OK && !(rc == Z_BUF_ERROR && (produced || used)))
            return -EBADMSG;
        else if (!produced && !used)
            return -EBADMSG;
    }
    return 0;
}
#endif

int tulip__http_sink_put(tulip__http_sink *s, const char *p, size_t n)
{
    if (n > s->max_raw - s->raw)
        return -EFBIG;
    s->raw += n;
    if (s->coding == TULIP__CODING_IDENTITY || s->coding == TULIP__CODING_OTHER)
        return put_plain(s, p, n);
#ifdef TULIP_HAVE_ZLIB
    const unsigned char *u = (const unsigned char *)p;
    if (s->zstate == 0) {
        /* The deflate probe needs two bytes, which may arrive apart. */
        while (s->nprobe < 2 && n > 0) {
            s->probe[s->nprobe++] = *u++;
            n--;
        }
        if (s->nprobe < 2)
            return 0;
        int rc = z_start(s, s->probe);
        if (rc)
            return rc;
        if ((rc = inflate_some(s, s->probe, 2)) < 0)
            return rc;
    }
    return inflate_some(s, u, n);
#else
    return put_plain(s, p, n);
#endif
}

int tulip__http_sink_finish(tulip__http_sink *s)
{
    bool compressed = s->coding == TULIP__CODING_GZIP || s->coding == TULIP__CODING_DEFLATE;
    /* An empty body with a Content-Encoding (HEAD, 204) decodes to nothing. */
    if (compressed && s->raw > 0 && s->zstate != 2)
        return -EBADMSG;
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
    tulip__hbuf_free(&s->out);
}
