/* The small, strict absolute-URL split the client needs, and reference
 * resolution for Location headers (RFC 3986 section 5). Full URL
 * normalisation is the caller's business (the crawler uses uriparser). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "../common/fault.h"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of a scheme followed by ':' at the start of s, or 0. */
static size_t scheme_len(const char *s, size_t n)
{
    if (n == 0 || !is_alpha(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (c == ':')
            return i;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
            return 0;
    }
    return 0;
}

static bool host_char(char c)
{
    return is_alpha(c) || is_digit(c) || strchr("-._~%!$&'()*+,;=", c);
}

int tulip_http_url_parse(const char *url, tulip_http_url *out)
{
    if (!url || !out)
        return -EINVAL;
    size_t n = strlen(url);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return -EINVAL;
    size_t sl = scheme_len(url, n);
    if (sl == 0)
        return -EINVAL;
    tulip_http_url u = {0};
    if (sl == 4 && strncasecmp(url, "http", 4) == 0)
        u.https = false;
    else if (sl == 5 && strncasecmp(url, "https", 5) == 0)
        u.https = true;
    else
        return -EPROTONOSUPPORT;
    const char *p = url + sl + 1, *end = url + n;
    if (end - p < 2 || p[0] != '/' || p[1] != '/')
        return -EINVAL;
    p += 2;
    const char *auth_end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(auth_end - p)))
        return -EINVAL;
    const char *port = NULL;
    if (p < auth_end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        if (!rb || rb == p + 1)
            return -EINVAL;
        for (const char *q = p + 1; q < rb; q++)
            if (!strchr("0123456789abcdefABCDEF:.", *q))
                return -EINVAL;
        u.host = p + 1;
        u.host_len = (size_t)(rb - p - 1);
        u.ipv6 = true;
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                return -EINVAL;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        const char *hend = colon ? colon : auth_end;
        if (hend == p)
            return -EINVAL;
        for (const char *q = p; q < hend; q++)
            if (!host_char(*q))
                return -EINVAL;
        u.host = p;
        u.host_len = (size_t)(hend - p);
        if (colon)
            port = colon + 1;
    }
    u.port = tulip__http_default_port(u.https);
    if (port && port < auth_end) {
        long v = 0;
        for (const char *q = port; q < auth_end; q++) {
            if (!is_digit(*q) || v > 65535)
                return -EINVAL;
            v = v * 10 + (*q - '0');
        }
        if (v < 1 || v > 65535)
            return -EINVAL;
        u.port = (int)v;
    }
    const char *frag = memchr(auth_end, '#', (size_t)(end - auth_end));
    const char *pend = frag ? frag : end;
    if (pend == auth_end) {
        u.path = "/";
        u.path_len = 1;
    } else {
        u.path = auth_end;
        u.path_len = (size_t)(pend - auth_end);
    }
    *out = u;
    return 0;
}

size_t tulip_http_path_remove_dots(char *path, size_t n)
{
    size_t out = 0;
    /* Segment by segment, each with its leading '/': "." is dropped,
     * ".." also drops the segment written before it; a final "." or ".."
     * leaves the trailing '/' ("/a/b/.." is "/a/"). */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && path[j] != '/')
            j++;
        size_t seg = j - i - 1;
        bool dot = seg == 1 && path[i + 1] == '.';
        bool dotdot = seg == 2 && path[i + 1] == '.' && path[i + 2] == '.';
        if (dotdot)
            while (out > 0 && path[--out] != '/')
                ;
        if (dot || dotdot) {
            if (j == n)
                path[out++] = '/';
        } else {
            memmove(path + out, path + i, j - i);
            out += j - i;
        }
        i = j;
    }
    return out;
}

/* Appends path[?query] with dot segments removed from the path. */
static int add_path(tulip__hbuf *out, const char *p, size_t n)
{
    const char *q = memchr(p, '?', n);
    size_t pl = q ? (size_t)(q - p) : n;
    size_t base = out->len;
    int rc = pl ? tulip__hbuf_add(out, p, pl) : tulip__hbuf_add(out, "/", 1);
    if (rc == 0)
        out->len = base + tulip_http_path_remove_dots(out->p + base, out->len - base);
    if (rc == 0 && q)
        rc = tulip__hbuf_add(out, q, n - pl);
    return rc;
}

char *tulip__http_resolve(const char *base, const char *ref, size_t ref_len)
{
    tulip__hbuf r = {0}, out = {0};
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    /* Browsers send Location bytes outside visible ASCII percent-encoded;
     * do the same so the result is a valid URL. */
    for (size_t i = 0; i < ref_len && rc == 0; i++) {
        unsigned char c = (unsigned char)ref[i];
        if (c == '#')
            break;
        if (c <= 0x20 || c >= 0x7f) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = tulip__hbuf_add(&r, e, 3);
        } else {
            rc = tulip__hbuf_add(&r, &ref[i], 1);
        }
    }
    if (rc == 0)
        rc = tulip__hbuf_reserve(&r, 0);
    if (rc) {
        tulip__hbuf_free(&r);
        errno = ENOMEM;
        return NULL;
    }
    r.p[r.len] = '\0';
    size_t bl = strlen(base);
    size_t bsl = scheme_len(base, bl);
    const char *bauth = base + bsl + 3;
    if (bsl == 0 || bl < bsl + 3 || memcmp(base + bsl, "://", 3) != 0) {
        tulip__hbuf_free(&r);
        errno = EINVAL;
        return NULL;
    }
    const char *bpath = bauth + strcspn(bauth, "/?#");
    const char *bend = bpath + strcspn(bpath, "#");
    if (scheme_len(r.p, r.len)) {
        rc = tulip__hbuf_add(&out, r.p, r.len);
    } else if (r.len >= 2 && r.p[0] == '/' && r.p[1] == '/') {
        rc = tulip__hbuf_add(&out, base, bsl + 1);
        if (rc == 0) {
            const char *pp = r.p + 2 + strcspn(r.p + 2, "/?");
            rc = tulip__hbuf_add(&out, r.p, (size_t)(pp - r.p));
            if (rc == 0 && *pp)
                rc = add_path(&out, pp, (size_t)(r.p + r.len - pp));
        }
    } else {
        rc = tulip__hbuf_add(&out, base, (size_t)(bpath - base));
        const char *bq = memchr(bpath, '?', (size_t)(bend - bpath));
        size_t bpl = bq ? (size_t)(bq - bpath) : (size_t)(bend - bpath);
        if (rc) {
        } else if (r.len == 0) {
            rc = bend > bpath ? tulip__hbuf_add(&out, bpath, (size_t)(bend - bpath)) : tulip__hbuf_adds(&out, "/");
        } else if (r.p[0] == '/') {
            rc = add_path(&out, r.p, r.len);
        } else if (r.p[0] == '?') {
            rc = bpl ? tulip__hbuf_add(&out, bpath, bpl) : tulip__hbuf_adds(&out, "/");
            if (rc == 0)
                rc = tulip__hbuf_add(&out, r.p, r.len);
        } else {
            tulip__hbuf merged = {0};
            size_t dir = bpl;
            while (dir > 0 && bpath[dir - 1] != '/')
                dir--;
            rc = dir ? tulip__hbuf_add(&merged, bpath, dir) : tulip__hbuf_adds(&merged, "/");
            if (rc == 0)
                rc = tulip__hbuf_add(&merged, r.p, r.len);
            if (rc == 0)
                rc = add_path(&out, merged.p, merged.len);
            tulip__hbuf_free(&merged);
        }
    }
    tulip__hbuf_free(&r);
    if (rc == 0)
        rc = tulip__hbuf_reserve(&out, 0);
    if (rc) {
        tulip__hbuf_free(&out);
        errno = ENOMEM;
        return NULL;
    }
    out.p[out.len] = '\0';
    return out.p;
}
