#include "encode.h"

#include <errno.h>
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

int crawl_encode(const char *coding, const void *in, size_t n, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
#ifdef TULIP_HAVE_ZLIB
    if (strcmp(coding, "gzip") == 0) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return -ENOMEM;
        uLong cap = deflateBound(&z, (uLong)n);
        char *buf = malloc(cap ? cap : 1);
        if (!buf) {
            deflateEnd(&z);
            return -ENOMEM;
        }
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)buf;
        z.avail_out = (uInt)cap;
        int zr = deflate(&z, Z_FINISH);
        *out_len = cap - z.avail_out;
        deflateEnd(&z);
        if (zr != Z_STREAM_END) {
            free(buf);
            return -ENOMEM;
        }
        *out = buf;
        return 0;
    }
#endif
#ifdef TULIP_CRAWL_BROTLIENC
    if (strcmp(coding, "br") == 0) {
        size_t cap = BrotliEncoderMaxCompressedSize(n);
        char *buf = malloc(cap ? cap : 64);
        if (!buf)
            return -ENOMEM;
        size_t len = cap ? cap : 64;
        if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n, in, &len, (uint8_t *)buf)) {
            free(buf);
            return -ENOMEM;
        }
        *out = buf;
        *out_len = len;
        return 0;
    }
#endif
#ifdef TULIP_CRAWL_ZSTD
    if (strcmp(coding, "zstd") == 0) {
        size_t cap = ZSTD_compressBound(n);
        char *buf = malloc(cap);
        if (!buf)
            return -ENOMEM;
        size_t len = ZSTD_compress(buf, cap, in, n, 3);
        if (ZSTD_isError(len)) {
            free(buf);
            return -ENOMEM;
        }
        *out = buf;
        *out_len = len;
        return 0;
    }
#endif
    (void)in;
    (void)n;
    return -ENOTSUP;
}
