/* The chunked body decoder (RFC 9112 section 7.1); see
 * include/tulip/http_parser.h. A resumable state machine that decodes in
 * place: chunk sizes, extensions and trailers are checked and dropped, the
 * data bytes are moved down to form the body, so the caller's buffer holds
 * the decoded body followed by whatever came after the message. */
#define _GNU_SOURCE
#include "tulip/http_parser.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "http_chars.h"

enum {
    D_SIZE0,       /* first hex digit of a chunk size */
    D_SIZE,
    D_BWS,         /* whitespace after the size: only ';' may follow */
    D_EXT,
    D_SIZE_LF,
    D_DATA,
    D_DATA_CR,
    D_DATA_LF,
    D_TRAILER,     /* start of a trailer line, or the final CRLF */
    D_TNAME,
    D_TVALUE,
    D_TLF,
    D_END_LF,
    D_DONE,
    D_ERROR,
};

struct chunked {
    uint64_t max_body;
    uint64_t total;       /* data bytes decoded so far */
    uint64_t remaining;   /* of the current chunk (its size while parsing the size line) */
    uint64_t meta;        /* extension and trailer bytes so far */
    int err;
    unsigned char state;
};

_Static_assert(sizeof(struct chunked) <= sizeof(tulip_http_chunked), "tulip_http_chunked too small");
_Static_assert(_Alignof(struct chunked) <= _Alignof(tulip_http_chunked), "tulip_http_chunked misaligned");

int tulip_http_chunked_init(tulip_http_chunked *dp, uint64_t max_body)
{
    struct chunked d;

    if (!dp)
        return -EINVAL;
    memset(&d, 0, sizeof d);
    d.max_body = max_body;
    d.state = D_SIZE0;
    memset(dp, 0, sizeof *dp);
    memcpy(dp, &d, sizeof d);
    return 0;
}

ssize_t tulip_http_chunked_decode(tulip_http_chunked *dp, char *buf, size_t *len)
{
    struct chunked d;
    unsigned char *src, *end, *dst;
    size_t left;
    int rc;

    if (!dp || !len || (!buf && *len))
        return -EINVAL;
    memcpy(&d, dp, sizeof d);
    if (d.state == D_ERROR)
        return d.err;
    if (!*len) /* also keeps NULL + 0 away from the pointer arithmetic */
        return d.state == D_DONE ? 0 : -EAGAIN;
    src = dst = (unsigned char *)buf;
    end = src + *len;
    if (d.state == D_DONE)
        goto done;
    while (src < end) {
        unsigned c = *src;

        if (d.meta > TULIP_HTTP_CHUNKED_MAX_META)
            goto too_much_meta;
        switch (d.state) {
        case D_SIZE0:
            if (!(cls[c] & C_HEX))
                goto bad;
            d.remaining = 0;
            d.state = D_SIZE; /* the digit itself is taken there */
            break;
        case D_SIZE:
            while (src < end && (cls[*src] & C_HEX)) {
                if (d.remaining >> 60)
                    goto bad; /* one more digit would overflow */
                d.remaining = d.remaining << 4 | HEXVAL(*src);
                /* Refuse as soon as the size is known, not after the data. */
                if (d.remaining > d.max_body - d.total) {
                    rc = -EFBIG;
                    goto fail;
                }
                src++;
            }
            if (src == end)
                goto more;
            c = *src++;
            if (c == '\r')
                d.state = D_SIZE_LF;
            else if (c == ';')
                d.state = D_EXT;
            else if (IS_WS(c))
                d.state = D_BWS;
            else
                goto bad;
            d.meta += c != '\r';
            break;
        case D_BWS:
            if (c == ';')
                d.state = D_EXT;
            else if (!IS_WS(c))
                goto bad;
            d.meta++;
            src++;
            break;
        case D_EXT:
        case D_TVALUE: {
            unsigned char *s = src;
            while (src < end && (cls[*src] & C_VALUE))
                src++;
            d.meta += (uint64_t)(src - s);
            if (src == end)
                goto more;
            if (*src++ != '\r')
                goto bad;
            d.state = d.state == D_EXT ? D_SIZE_LF : D_TLF;
            break;
        }
        case D_SIZE_LF:
            if (c != '\n')
                goto bad;
            src++;
            d.state = d.remaining ? D_DATA : D_TRAILER;
            break;
        case D_DATA: {
            size_t n = (size_t)(end - src);
            if (n > d.remaining)
                n = (size_t)d.remaining;
            if (dst != src)
                memmove(dst, src, n);
            dst += n;
            src += n;
            d.remaining -= n;
            d.total += n;
            if (!d.remaining)
                d.state = D_DATA_CR;
            break;
        }
        case D_DATA_CR:
            if (c != '\r')
                goto bad;
            src++;
            d.state = D_DATA_LF;
            break;
        case D_DATA_LF:
            if (c != '\n')
                goto bad;
            src++;
            d.state = D_SIZE0;
            break;
        case D_TRAILER:
            if (c == '\r')
                d.state = D_END_LF;
            else if (cls[c] & C_TCHAR)
                d.state = D_TNAME;
            else
                goto bad;
            src++;
            break;
        case D_TNAME: {
            unsigned char *s = src;
            while (src < end && (cls[*src] & C_TCHAR))
                src++;
            d.meta += (uint64_t)(src - s);
            if (src == end)
                goto more;
            if (*src++ != ':')
                goto bad;
            d.state = D_TVALUE;
            break;
        }
        case D_TLF:
            if (c != '\n')
                goto bad;
            src++;
            d.meta += 2; /* the line's CRLF counts, so empty-valued lines cannot be free */
            d.state = D_TRAILER;
            break;
        case D_END_LF:
            if (c != '\n')
                goto bad;
            src++;
            d.state = D_DONE;
            goto done;
        default:
            rc = -EINVAL;
            goto fail;
        }
    }
more:
    if (d.meta > TULIP_HTTP_CHUNKED_MAX_META)
        goto too_much_meta;
    *len = (size_t)(dst - (unsigned char *)buf);
    memcpy(dp, &d, sizeof d);
    return -EAGAIN;
done:
    left = (size_t)(end - src);
    if (left && dst != src)
        memmove(dst, src, left);
    *len = (size_t)(dst - (unsigned char *)buf);
    memcpy(dp, &d, sizeof d);
    return (ssize_t)left;
too_much_meta:
    rc = -EMSGSIZE;
    goto fail;
bad:
    rc = -EBADMSG;
fail:
    d.state = D_ERROR;
    d.err = rc;
    memcpy(dp, &d, sizeof d);
    return rc;
}
