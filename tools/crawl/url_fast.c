#include "url_fast.h"
#include "url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Characters that canonicalisation leaves alone in a path: unreserved and
 * sub-delims, ':' and '@' (RFC 3986 pchar without pct-encoded), and '/'.
 * '%' is out: escapes get normalised. */
static bool is_path_char(unsigned char c)
{
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c && strchr("-._~!$&'()*+,;=:@/", c);
}

/* Length of the part of ref[0..end) that survives resolution: path and
 * query up to the fragment, which is dropped.  0 when something in it
 * would be changed by canonicalisation (a character outside the plain set,
 * a "." or ".." segment) or query_only and ref does not start with '?'. */
static size_t plain_len(const char *ref, const char *end, bool query_only)
{
    const char *p = ref;
    if (!query_only) {
        const char *seg = p;
        for (;; p++) {
            unsigned char c = p < end ? (unsigned char)*p : '\0';
            if (c == '/' || c == '?' || c == '#' || c == '\0') {
                size_t n = (size_t)(p - seg);
                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                    return 0;
                if (c != '/')
                    break;
                seg = p + 1;
            } else if (!is_path_char(c)) {
                return 0;
            }
        }
    } else if (*p != '?') {
        return 0;
    }
    if (p < end && *p == '?') {
        for (p++; p < end && *p != '#'; p++)
            if (*p != '?' && !is_path_char((unsigned char)*p))
                return 0;
    }
    return (size_t)(p - ref);
}

/* *out = a[0..alen) b[0..blen) c[0..clen) */
static int glue(const char *a, size_t alen, const char *b, size_t blen, const char *c,
                size_t clen, char **out)
{
    size_t len = alen + blen + clen;
    if (len > CRAWL_URL_MAX)
        return 0; /* the parser path reports -ENAMETOOLONG */
    char *s = malloc(len + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, a, alen);
    memcpy(s + alen, b, blen);
    memcpy(s + alen + blen, c, clen);
    s[len] = '\0';
    *out = s;
    return 1;
}

static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* "http://host[:port]" followed by a plain rest, in any case: a host of
 * letters, digits, '.' and '-', a port without leading zeros that is not
 * the scheme's default.  Scheme and host come out lower-cased. */
static int absolute(const char *ref, const char *end, char **out)
{
    size_t i;
    unsigned default_port;
    if (end - ref >= 7 && strncasecmp(ref, "http://", 7) == 0) {
        i = 7;
        default_port = 80;
    } else if (end - ref >= 8 && strncasecmp(ref, "https://", 8) == 0) {
        i = 8;
        default_port = 443;
    } else {
        return 0;
    }
    size_t n = (size_t)(end - ref);
    size_t host = i;
    while (i < n && (is_alpha((unsigned char)ref[i]) || is_digit((unsigned char)ref[i]) ||
                     ref[i] == '.' || ref[i] == '-'))
        i++;
    if (i == host)
        return 0;
    if (i < n && ref[i] == ':') {
        size_t digits = ++i;
        unsigned port = 0;
        while (i < n && is_digit((unsigned char)ref[i]) && i - digits < 5)
            port = port * 10 + (unsigned)(ref[i++] - '0');
        if (i == digits || ref[digits] == '0' || port > 65535 || port == default_port)
            return 0;
    }
    const char *rest = ref + i;
    size_t rlen;
    if (rest == end || *rest == '#')
        rlen = 0;
    else if (*rest == '/' || *rest == '?')
        rlen = plain_len(rest, end, *rest == '?');
    else
        return 0; /* '@' (userinfo), '[', ... */
    if ((rest < end && *rest != '#') && rlen == 0)
        return 0;
    bool slash = rlen == 0 || *rest == '?'; /* an empty path becomes "/" */
    int rc = glue(ref, i, "/", slash, rest, rlen, out);
    if (rc == 1)
        for (size_t k = 0; k < i; k++)
            (*out)[k] = (char)(is_alpha((unsigned char)(*out)[k]) ? (*out)[k] | 0x20 : (*out)[k]);
    return rc;
}

bool crawl_url_fast_base_init(crawl_url_fast_base *b, const char *canonical)
{
    const char *auth, *target;
    size_t alen;
    if (crawl_url_canonical_authority(canonical, &auth, &alen, &target) || *target != '/')
        return false;
    b->url = canonical;
    b->origin_len = (size_t)(target - canonical);
    b->path_end = b->origin_len + strcspn(target, "?");
    b->dir_end = b->path_end;
    while (canonical[b->dir_end - 1] != '/')
        b->dir_end--;
    return true;
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
    size_t n;
    switch (ref[0]) {
    case '/':
        if (end - ref > 1 && ref[1] == '/')
            return 0; /* network-path reference: another authority */
        n = plain_len(ref, end, false);
        return n ? glue(b->url, b->origin_len, ref, n, "", 0, out) : 0;
    case '?':
        n = plain_len(ref, end, true);
        return n ? glue(b->url, b->path_end, ref, n, "", 0, out) : 0;
    case '#':
        return 0;
    default:
        break;
    }
    /* "scheme:" or a relative path, whose first segment has no ':'. */
    const char *p = ref;
    while (p < end && *p != '/' && *p != '?' && *p != '#' && *p != ':')
        p++;
    if (p < end && *p == ':')
        return absolute(ref, end, out);
    n = plain_len(ref, end, false);
    return n ? glue(b->url, b->dir_end, ref, n, "", 0, out) : 0;
}
