#include "url_fast.h"
#include "url_canon.h"
#include "url_chars.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Characters that canonicalisation leaves alone in a path: unreserved and
 * sub-delims, ':' and '@' (RFC 3986 pchar without pct-encoded), and '/'.
 * '%' is not: escapes get normalised (put_escape).  As a bitmap of the 128
 * ASCII codes, since this runs for every byte of every href:
 * A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ / */
static bool is_path_char(unsigned char c)
{
    static const uint64_t below_64 = 0x2fffffd200000000u, from_64 = 0x47fffffe87ffffffu;
    return c < 64 ? (below_64 >> c) & 1 : c < 128 && (from_64 >> (c - 64)) & 1;
}

/* Copy one "%XX" at *pp to s[*n], normalised as the parser path does: the
 * escape of an unreserved character decoded, any other in upper case.
 * false for a '%' without two hex digits (the parser path repairs it). */
static bool put_escape(const char **pp, const char *end, char *s, size_t *n)
{
    const char *p = *pp;
    if (end - p < 3 || !is_hex((unsigned char)p[1]) || !is_hex((unsigned char)p[2]))
        return false;
    unsigned char v = (unsigned char)(hexval((unsigned char)p[1]) * 16 + hexval((unsigned char)p[2]));
    if (is_unreserved(v)) {
        s[(*n)++] = (char)v;
    } else {
        static const char hex[] = "0123456789ABCDEF";
        s[(*n)++] = '%';
        s[(*n)++] = hex[v >> 4];
        s[(*n)++] = hex[v & 15];
    }
    *pp = p + 2;
    return true;
}

/* Copy the path at *pp (up to '?', '#' or end) to s[*n]; false when it
 * holds anything but plain characters and escapes. */
static bool put_path(const char **pp, const char *end, char *s, size_t *n)
{
    const char *p = *pp;
    for (; p < end && *p != '?' && *p != '#'; p++) {
        if (*p == '%') {
            if (!put_escape(&p, end, s, n))
                return false;
        } else if (is_path_char((unsigned char)*p)) {
            s[(*n)++] = *p;
        } else {
            return false;
        }
    }
    *pp = p;
    return true;
}

/* The query at *pp, if one starts there, up to the fragment, which is
 * dropped. */
static bool put_query(const char **pp, const char *end, char *s, size_t *n)
{
    const char *p = *pp;
    if (p == end || *p != '?')
        return true;
    s[(*n)++] = '?';
    for (p++; p < end && *p != '#'; p++) {
        if (*p == '%') {
            if (!put_escape(&p, end, s, n))
                return false;
        } else if (*p == '?' || is_path_char((unsigned char)*p)) {
            s[(*n)++] = *p;
        } else {
            return false;
        }
    }
    *pp = p;
    return true;
}

/* "http://host[:port]" followed by a plain rest, in any case: a host of
 * letters, digits, '.' and '-', a port without leading zeros that is not
 * the scheme's default.  Scheme and host come out lower-cased.  Writes
 * s[0..*n); false to decline. */
static bool absolute(const char *ref, const char *end, char *s, size_t *n)
{
    size_t i;
    if (end - ref >= 7 && strncasecmp(ref, "http://", 7) == 0)
        i = 7;
    else if (end - ref >= 8 && strncasecmp(ref, "https://", 8) == 0)
        i = 8;
    else
        return false;
    unsigned default_port = (unsigned)crawl_url_default_port(i == 8 ? "https" : "http");
    size_t len = (size_t)(end - ref);
    size_t host = i;
    while (i < len && (is_alpha((unsigned char)ref[i]) || is_digit((unsigned char)ref[i]) ||
                       ref[i] == '.' || ref[i] == '-'))
        i++;
    if (i == host)
        return false;
    if (i < len && ref[i] == ':') {
        size_t digits = ++i;
        unsigned port = 0;
        while (i < len && is_digit((unsigned char)ref[i]) && i - digits < 5)
            port = port * 10 + (unsigned)(ref[i++] - '0');
        if (i == digits || ref[digits] == '0' || port > 65535 || port == default_port)
            return false;
    }
    for (size_t k = 0; k < i; k++)
        s[k] = (char)(is_alpha((unsigned char)ref[k]) ? ref[k] | 0x20 : ref[k]);
    *n = i;
    const char *p = ref + i;
    if (p < end && *p == '/') {
        if (!put_path(&p, end, s, n))
            return false;
        *n = i + crawl_url_remove_dot_segments(s + i, *n - i);
    } else if (p == end || *p == '?' || *p == '#') {
        s[(*n)++] = '/'; /* an empty path becomes "/" */
    } else {
        return false; /* '@' (userinfo), '[', ... */
    }
    return put_query(&p, end, s, n);
}

bool crawl_url_fast_base_init(crawl_url_fast_base *b, const char *canonical)
{
    const char *auth, *target;
    size_t alen;
    /* The target must be inside the string: for "http://h" it is a
     * static "/", and offsets from it would be meaningless. */
    if (crawl_url_canonical_authority(canonical, &auth, &alen, &target) || auth[alen] != '/')
        return false;
    b->url = canonical;
    b->len = strlen(canonical);
    b->origin_len = (size_t)(target - canonical);
    b->path_end = b->origin_len + strcspn(target, "?");
    b->dir_end = b->path_end;
    while (canonical[b->dir_end - 1] != '/')
        b->dir_end--;
    return true;
}

/* Resolve into s (room for the base and three times the reference). */
static bool resolve(const crawl_url_fast_base *b, const char *ref, const char *end, char *s, size_t *n)
{
    const char *p = ref;
    switch (ref[0]) {
    case '/':
        if (end - ref > 1 && ref[1] == '/')
            return false; /* network-path reference: another authority */
        memcpy(s, b->url, b->origin_len);
        *n = b->origin_len;
        break;
    case '?':
        memcpy(s, b->url, b->path_end);
        *n = b->path_end;
        return put_query(&p, end, s, n);
    case '#':
        return false;
    default: {
        /* "scheme:" or a relative path, whose first segment has no ':'. */
        const char *q = ref;
        while (q < end && *q != '/' && *q != '?' && *q != '#' && *q != ':')
            q++;
        if (q < end && *q == ':')
            return absolute(ref, end, s, n);
        memcpy(s, b->url, b->dir_end);
        *n = b->dir_end;
        break;
    }
    }
    if (!put_path(&p, end, s, n))
        return false;
    *n = b->origin_len + crawl_url_remove_dot_segments(s + b->origin_len, *n - b->origin_len);
    return put_query(&p, end, s, n);
}

int crawl_url_fast_resolve(const crawl_url_fast_base *b, const char *ref, char **out)
{
    /* The parser path trims spaces and controls at both ends, escapes the
     * fragment (at most tripling it) and then drops it, which cannot fail,
     * but the whole reference counts against CRAWL_URL_MAX there. */
    size_t len = strlen(ref);
    if (len > CRAWL_URL_MAX / 3)
        return 0;
    const char *end = ref + len;
    while (ref < end && (unsigned char)*ref <= 0x20)
        ref++;
    while (end > ref && (unsigned char)end[-1] <= 0x20)
        end--;
    if (ref == end)
        return 0;
    /* Escapes never grow; an absolute URL may gain one '/'. */
    char *s = malloc(b->len + (size_t)(end - ref) + 2);
    if (!s)
        return -ENOMEM;
    size_t n = 0;
    if (!resolve(b, ref, end, s, &n) || n > CRAWL_URL_MAX) {
        free(s); /* the parser path decides, and reports -ENAMETOOLONG */
        return 0;
    }
    s[n] = '\0';
    *out = s;
    return 1;
}
