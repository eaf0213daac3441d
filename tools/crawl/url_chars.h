/* Character classes of RFC 3986 (ASCII only, locale-free), shared by the
 * uriparser path (url.c) and the parser-free one (url_fast.c) so both
 * classify every byte the same way. */
#ifndef TULIP_CRAWL_URL_CHARS_H
#define TULIP_CRAWL_URL_CHARS_H

#include <stdbool.h>

static inline bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline bool is_hex(unsigned char c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
static inline int hexval(unsigned char c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }
static inline bool is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

#endif
