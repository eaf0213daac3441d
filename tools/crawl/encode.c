#include "encode.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef TULIP_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef TULIP_CRAWL_BROTLIENC
#include <brotli/encode.h>
#endif
#ifdef TULIP_CRAWL_ZSTD
#include <zstd.h>
#endif

/* One coder per coding: an upper bound of the output size, and the
 * compression of in[0..n) into out[0..*len) (*len: room in, size out). */
typedef struct coder {
    const char *name;
    size_t (*bound)(size_t n);
    bool (*compress)(const void *in, size_t n, char *out, size_t *len);
} coder;

#ifdef TULIP_HAVE_ZLIB
/* compressBound is for the 6-byte zlib wrapper; gzip's is 18 bytes. */
static size_t gzip_bound(size_t n) { return compressBound((uLong)n) + 18; }

static bool gzip_compress(const void *in, size_t n, char *out, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)*len;
    int zr = deflate(&z, Z_FINISH);
    *len -= z.avail_out;
    deflateEnd(&z);
    return zr == Z_STREAM_END;
}
#endif

#ifdef TULIP_CRAWL_BROTLIENC
static size_t br_bound(size_t n)
{
    size_t cap = BrotliEncoderMaxCompressedSize(n);
    return cap ? cap : 64;
}

static bool br_compress(const void *in, size_t n, char *out, size_t *len)
{
    return BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n, in, len, (uint8_t *)out);
}
#endif

#ifdef TULIP_CRAWL_ZSTD
static size_t zstd_bound(size_t n) { return ZSTD_compressBound(n); }

static bool zstd_compress(const void *in, size_t n, char *out, size_t *len)
{
    size_t r = ZSTD_compress(out, *len, in, n, 3);
    if (ZSTD_isError(r))
        return false;
    *len = r;
    return true;
}
#endif

static const coder coders[] = {
#ifdef TULIP_HAVE_ZLIB
    { "gzip", gzip_bound, gzip_compress },
#endif
#ifdef TULIP_CRAWL_BROTLIENC
    { "br", br_bound, br_compress },
#endif
#ifdef TULIP_CRAWL_ZSTD
    { "zstd", zstd_bound, zstd_compress },
#endif
    { NULL, NULL, NULL },
};

int crawl_encode(const char *coding, const void *in, size_t n, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    const coder *c = coders;
    while (c->name && strcmp(c->name, coding) != 0)
        c++;
    if (!c->name)
        return -ENOTSUP;
    size_t len = c->bound(n);
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return -ENOMEM;
    if (!c->compress(in, n, buf, &len)) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *out_len = len;
    return 0;
}
