/* The content codings br (RFC 7932) and zstd (RFC 8878) for the response
 * body sink (body.c), beside its gzip/deflate: the same step shape (take
 * some input, make some output, never more than the room given), so the
 * sink's decoded-size cap bounds a bomb in every coding.  zstd's window
 * is held to 8 MiB (RFC 8878 section 3.1.1.1.2's advice for HTTP), so a
 * frame cannot make the decoder allocate more; brotli's window is 16 MiB
 * at most by its format (the large-window extension stays off). */
#include <errno.h>
#include <stdint.h>

#include "http_internal.h"

#ifdef TULIP_HAVE_BROTLI
#include <brotli/decode.h>
#endif
#ifdef TULIP_HAVE_ZSTD
#include <zstd.h>
#endif

#define ZSTD_WINDOW_LOG_MAX 23 /* 8 MiB */

bool tulip__http_coding_built(int coding)
{
    switch (coding) {
#ifdef TULIP_HAVE_BROTLI
    case TULIP__CODING_BR: return true;
#endif
#ifdef TULIP_HAVE_ZSTD
    case TULIP__CODING_ZSTD: return true;
#endif
    default: return false;
    }
}

static int start(tulip__http_sink *s)
{
#ifdef TULIP_HAVE_BROTLI
    if (s->coding == TULIP__CODING_BR) {
        s->dec = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!s->dec)
            return -ENOMEM;
    }
#endif
#ifdef TULIP_HAVE_ZSTD
    if (s->coding == TULIP__CODING_ZSTD) {
        ZSTD_DStream *z = ZSTD_createDStream();
        if (!z)
            return -ENOMEM;
        if (ZSTD_isError(ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
            ZSTD_freeDStream(z);
            return -ENOMEM;
        }
        s->dec = z;
    }
#endif
    s->dstate = 1;
    return s->dec ? 0 : -EBADMSG;
}

ssize_t tulip__http_coding_decode(tulip__http_sink *s, const char *p, size_t n, size_t *used, char *out,
                                  size_t cap)
{
    *used = 0;
    if (s->dstate == 0) {
        int rc = start(s);
        if (rc < 0)
            return rc;
    }
#ifdef TULIP_HAVE_BROTLI
    if (s->coding == TULIP__CODING_BR) {
        if (s->dstate == 2)
            return n ? -EBADMSG : 0; /* bytes after the end of the stream */
        size_t in_left = n, out_left = cap;
        const uint8_t *in = (const uint8_t *)p;
        uint8_t *o = (uint8_t *)out;
        BrotliDecoderResult r = BrotliDecoderDecompressStream(s->dec, &in_left, &in, &out_left, &o, NULL);
        if (r == BROTLI_DECODER_RESULT_ERROR)
            return -EBADMSG;
        if (r == BROTLI_DECODER_RESULT_SUCCESS)
            s->dstate = 2;
        *used = n - in_left;
        return (ssize_t)(cap - out_left);
    }
#endif
#ifdef TULIP_HAVE_ZSTD
    if (s->coding == TULIP__CODING_ZSTD) {
        ZSTD_inBuffer in = { p, n, 0 };
        ZSTD_outBuffer o = { out, cap, 0 };
        size_t r = ZSTD_decompressStream(s->dec, &o, &in);
        if (ZSTD_isError(r))
            return -EBADMSG; /* corrupt, or a window past the bound */
        /* 0: a frame ended and all its output is out; more frames may follow */
        if (r == 0)
            s->dstate = 2;
        else if (in.pos > 0 || o.pos > 0)
            s->dstate = 1;
        *used = in.pos;
        return (ssize_t)o.pos;
    }
#endif
    (void)p, (void)n, (void)out, (void)cap;
    return -EBADMSG;
}

bool tulip__http_coding_ended(const tulip__http_sink *s)
{
    return s->dstate == 2;
}

void tulip__http_coding_drop(tulip__http_sink *s)
{
#ifdef TULIP_HAVE_BROTLI
    if (s->coding == TULIP__CODING_BR && s->dec)
        BrotliDecoderDestroyInstance(s->dec);
#endif
#ifdef TULIP_HAVE_ZSTD
    if (s->coding == TULIP__CODING_ZSTD && s->dec)
        ZSTD_freeDStream(s->dec);
#endif
    s->dec = NULL;
    s->dstate = 0;
}
