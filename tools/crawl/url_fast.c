#include "url_fast.h"
#include "url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* Length of the part of ref that survives resolution: path and query up to
 * the fragment, which is dropped.  0 when something in it would be changed
 * by canonicalisation (a character outside the plain set, a "." or ".."
 * segment) or query_only and ref does not start with '?'. */
static size_t plain_len(const char *ref, bool query_only)
{
    const char *p = ref;
    if (!query_only) {
        const char *seg = p;
        for (;; p++) {
            unsigned char c = (unsigned char)*p;
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
    if (*p == '?') {
        for (p++; *p && *p != '#'; p++)
            if (*p != '?' && !is_path_char((unsigned char)*p))
                return 0;
    }
    /* The fragment may hold anything: the parser path escapes and then
     * drops it, which cannot fail.  Its length still counts against
     * CRAWL_URL_MAX there, at worst tripled by escaping. */
    if (strlen(ref) > CRAWL_URL_MAX / 3)
        return 0;
    return (size_t)(p - ref);
}

/* *out = a[0..alen) "/"? b[0..blen) */
static int glue(const char *a, size_t alen, bool slash, const char *b, size_t blen, char **out)
{
    size_t len = alen + slash + blen;
    if (len > CRAWL_URL_MAX)
        return 0; /* the parser path reports -ENAMETOOLONG */
    char *s = malloc(len + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, a, alen);
    if (slash)
        s[alen] = '/';
    memcpy(s + alen + slash, b, blen);
    s[len] = '\0';
    *out = s;
    return 1;
}

/* "http://host[:port]" followed by a plain rest, all already canonical:
 * lower-case host of letters, digits, '.' and '-', a port without leading
 * zeros that is not the scheme's default. */
static int absolute(const char *ref, char **out)
{
    size_t i;
    unsigned default_port;
    if (strncmp(ref, "http://", 7) == 0) {
        i = 7;
        default_port = 80;
    } else if (strncmp(ref, "https://", 8) == 0) {
        i = 8;
        default_port = 443;
    } else {
        return 0;
    }
    size_t host = i;
    while ((ref[i] >= 'a' && ref[i] <= 'z') || (ref[i] >= '0' && ref[i] <= '9') ||
           ref[i] == '.' || ref[i] == '-')
        i++;
    if (i == host)
        return 0;
    if (ref[i] == ':') {
        size_t digits = ++i;
        unsigned port = 0;
        while (ref[i] >= '0' && ref[i] <= '9' && i - digits < 5)
            port = port * 10 + (unsigned)(ref[i++] - '0');
        if (i == digits || ref[digits] == '0' || port > 65535 || port == default_port)
            return 0;
    }
    const char *rest = ref + i;
    if (*rest == '/') {
        size_t n = plain_len(rest, false);
        return n ? glue(ref, i + n, false, "", 0, out) : 0;
    }
    if (*rest == '?') {
        size_t n = plain_len(rest, true);
        return n ? glue(ref, i, true, rest, n, out) : 0;
    }
    if (*rest == '#' || *rest == '\0')
        return strlen(ref) <= CRAWL_URL_MAX / 3 ? glue(ref, i, true, "", 0, out) : 0;
    return 0; /* '@' (userinfo), '[', upper case, ... */
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
    size_t n;
    switch (ref[0]) {
    case '/':
        if (ref[1] == '/')
            return 0; /* network-path reference: another authority */
        n = plain_len(ref, false);
        return n ? glue(b->url, b->origin_len, false, ref, n, out) : 0;
    case '?':
        n = plain_len(ref, true);
        return n ? glue(b->url, b->path_end, false, ref, n, out) : 0;
    case 'h':
        if (strncmp(ref, "http://", 7) == 0 || strncmp(ref, "https://", 8) == 0)
            return absolute(ref, out);
        break;
    default:
        break;
    }
    /* A relative path: its first segment must not look like "scheme:". */
    size_t first = strcspn(ref, "/?#");
    if (first == 0 || memchr(ref, ':', first))
        return 0;
    n = plain_len(ref, false);
    return n ? glue(b->url, b->dir_end, false, ref, n, out) : 0;
}
