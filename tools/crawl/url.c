#define _GNU_SOURCE
#include "url.h"
#include "buf.h"
#include "url_canon.h"
#include "url_chars.h"
#include "url_fast.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uriparser/Uri.h>

/* Everything RFC 3986 allows literally somewhere in a URI reference, minus
 * '%', '#', '[' and ']', whose validity depends on position. */
static bool is_plain(unsigned char c)
{
    return is_unreserved(c) || (c && strchr(":/?@!$&'()*+,;=", c));
}
/* WHATWG trims C0 controls and space at both ends. */
static bool is_trim(unsigned char c) { return c <= 0x20; }
static bool is_dropped(unsigned char c) { return c == '\t' || c == '\n' || c == '\r'; }

static int uri_err(int rc)
{
    return rc == URI_ERROR_MALLOC ? -ENOMEM : -EINVAL;
}

/* Length of a leading "scheme:" ignoring tabs and newlines the way the
 * cleaning pass will, or 0.  The lower-cased scheme goes to buf. */
static size_t sniff_scheme(const char *s, char *buf, size_t bufsz)
{
    size_t i = 0, n = 0;
    while (s[i] && is_trim((unsigned char)s[i]))
        i++;
    for (;; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_dropped(c))
            continue;
        if (c == ':')
            break;
        bool ok = n == 0 ? is_alpha(c)
                         : (is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.');
        if (!ok)
            return 0;
        if (n + 1 < bufsz)
            buf[n] = (char)(c | (is_alpha(c) ? 0x20 : 0));
        n++;
    }
    if (n == 0 || n >= bufsz)
        return n; /* too long to be http(s); caller sees an odd scheme */
    buf[n] = '\0';
    return n;
}

/* -EPROTONOSUPPORT if ref carries a scheme other than http/https. */
static int check_scheme(const char *ref)
{
    char sch[8];
    size_t n = sniff_scheme(ref, sch, sizeof sch);
    if (n == 0)
        return 0;
    if (n >= sizeof sch || (strcmp(sch, "http") && strcmp(sch, "https")))
        return -EPROTONOSUPPORT;
    return 0;
}

/* Apply the junk policy documented in url.h and normalise escapes, so that
 * uriparser only ever sees a syntactically plausible reference. */
static int clean(const char *in, crawl_buf *b)
{
    size_t len = strlen(in);
    while (len && is_trim((unsigned char)in[len - 1]))
        len--;
    size_t i = 0;
    while (i < len && is_trim((unsigned char)in[i]))
        i++;

    /* Brackets are legal only in the authority (IP literals); find it. */
    size_t j = i, auth_start = 0, auth_end = 0;
    while (j < len && (is_alpha((unsigned char)in[j]) || is_digit((unsigned char)in[j]) ||
                       in[j] == '+' || in[j] == '-' || in[j] == '.'))
        j++;
    size_t p = (j > i && j < len && in[j] == ':' && is_alpha((unsigned char)in[i])) ? j + 1 : i;
    if (p + 1 < len && in[p] == '/' && in[p + 1] == '/') {
        auth_start = p + 2;
        auth_end = auth_start;
        while (auth_end < len && !strchr("/?#\\", in[auth_end]))
            auth_end++;
    }

    /* Escaping at most triples the length: reserve once, then write
     * directly (a call per byte was 3% of a crawl). */
    if (len - i > (SIZE_MAX - 1) / 3)
        return -ENOMEM;
    int rc = crawl_buf_reserve(b, 3 * (len - i));
    if (rc)
        return rc;
    static const char hex[] = "0123456789ABCDEF";
    char *o = b->data + b->len;
#define PUT_PCT(v) (o[0] = '%', o[1] = hex[(v) >> 4], o[2] = hex[(v) & 15], o += 3)
    bool seen_hash = false;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_dropped(c))
            continue;
        if (c == '%') {
            if (i + 2 < len && is_hex((unsigned char)in[i + 1]) && is_hex((unsigned char)in[i + 2])) {
                unsigned char v = (unsigned char)(hexval((unsigned char)in[i + 1]) * 16 +
                                                  hexval((unsigned char)in[i + 2]));
                if (is_unreserved(v))
                    *o++ = (char)v;
                else
                    PUT_PCT(v);
                i += 2;
            } else {
                PUT_PCT('%');
            }
        } else if (c == '#') {
            if (seen_hash)
                PUT_PCT(c);
            else
                *o++ = (char)c;
            seen_hash = true;
        } else if (c == '[' || c == ']') {
            bool in_auth = i >= auth_start && i < auth_end && auth_end > 0;
            if (in_auth)
                *o++ = (char)c;
            else
                PUT_PCT(c);
        } else if (is_plain(c)) {
            *o++ = (char)c;
        } else {
            PUT_PCT(c);
        }
    }
#undef PUT_PCT
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

static size_t range_len(const UriTextRangeA *r)
{
    return r->first ? (size_t)(r->afterLast - r->first) : 0;
}

static int append_lower(crawl_buf *b, const UriTextRangeA *r)
{
    size_t n = range_len(r);
    int rc = crawl_buf_reserve(b, n);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        unsigned char c = (unsigned char)r->first[k];
        b->data[b->len++] = (char)(is_alpha(c) ? (c | 0x20) : c);
    }
    if (rc == 0)
        b->data[b->len] = '\0';
    return rc;
}

/* Turn a parsed absolute URI into the canonical string. */
static int canon(UriUriA *u, char **out)
{
    char scheme[6];
    size_t sl = range_len(&u->scheme);
    if (sl == 0)
        return -EINVAL; /* a relative reference has no meaning on its own */
    if (sl >= sizeof scheme)
        return -EPROTONOSUPPORT;
    for (size_t k = 0; k < sl; k++)
        scheme[k] = (char)(u->scheme.first[k] | 0x20);
    scheme[sl] = '\0';
    if (strcmp(scheme, "http") && strcmp(scheme, "https"))
        return -EPROTONOSUPPORT;

    size_t hl = range_len(&u->hostText);
    if (hl == 0 && !u->hostData.ip4 && !u->hostData.ip6)
        return -EINVAL;
    if (memchr(u->hostText.first, '%', hl))
        return -EINVAL;

    long port = -1;
    size_t pl = range_len(&u->portText);
    if (pl) {
        port = 0;
        for (size_t k = 0; k < pl; k++) {
            if (!is_digit((unsigned char)u->portText.first[k]))
                return -EINVAL;
            port = port * 10 + (u->portText.first[k] - '0');
            if (port > 65535)
                return -EINVAL;
        }
        if (port == crawl_url_default_port(scheme))
            port = -1;
    }

    int rc = uriNormalizeSyntaxExA(u, URI_NORMALIZE_SCHEME | URI_NORMALIZE_USER_INFO |
                                          URI_NORMALIZE_HOST | URI_NORMALIZE_PATH |
                                          URI_NORMALIZE_QUERY);
    if (rc != URI_SUCCESS)
        return uri_err(rc);

    crawl_buf b = { 0 };
    rc = crawl_buf_puts(&b, scheme);
    if (!rc)
        rc = crawl_buf_puts(&b, "://");
    if (!rc && u->userInfo.first) {
        rc = crawl_buf_append(&b, u->userInfo.first, range_len(&u->userInfo));
        if (!rc)
            rc = crawl_buf_putc(&b, '@');
    }
    bool bracket = u->hostData.ip6 || u->hostData.ipFuture.first;
    if (!rc && bracket)
        rc = crawl_buf_putc(&b, '[');
    if (!rc)
        rc = append_lower(&b, &u->hostText);
    if (!rc && bracket)
        rc = crawl_buf_putc(&b, ']');
    if (!rc && port >= 0) {
        /* By hand: snprintf was 2% of a crawl. */
        char digits[8], *d = digits + sizeof digits;
        *--d = '\0';
        do
            *--d = (char)('0' + port % 10);
        while ((port /= 10) > 0);
        *--d = ':';
        rc = crawl_buf_puts(&b, d);
    }
    if (!rc && !u->pathHead)
        rc = crawl_buf_putc(&b, '/');
    for (const UriPathSegmentA *s = u->pathHead; s && !rc; s = s->next) {
        rc = crawl_buf_putc(&b, '/');
        if (!rc)
            rc = crawl_buf_append(&b, s->text.first, range_len(&s->text));
    }
    if (!rc && u->query.first) {
        rc = crawl_buf_putc(&b, '?');
        if (!rc)
            rc = crawl_buf_append(&b, u->query.first, range_len(&u->query));
    }
    if (!rc && b.len > CRAWL_URL_MAX)
        rc = -ENAMETOOLONG;
    if (rc) {
        crawl_buf_free(&b);
        return rc;
    }
    *out = crawl_buf_steal(&b);
    return 0;
}

static int parse(UriUriA *u, const char *s)
{
    const char *err = NULL;
    int rc = uriParseSingleUriA(u, s, &err);
    return rc == URI_SUCCESS ? 0 : uri_err(rc);
}

static int parse_clean(UriUriA *u, const char *in, crawl_buf *b)
{
    if (strlen(in) > CRAWL_URL_MAX)
        return -ENAMETOOLONG;
    int rc = clean(in, b);
    if (rc)
        return rc;
    if (b->len > CRAWL_URL_MAX)
        return -ENAMETOOLONG;
    return parse(u, b->data);
}

int crawl_url_normalize(const char *url, char **out)
{
    *out = NULL;
    int rc = check_scheme(url);
    if (rc)
        return rc;
    crawl_buf b = { 0 };
    UriUriA u;
    rc = parse_clean(&u, url, &b);
    if (rc == 0) {
        rc = canon(&u, out);
        uriFreeUriMembersA(&u);
    }
    crawl_buf_free(&b);
    return rc;
}

struct crawl_url_base {
    crawl_buf text; /* the cleaned base, which uri points into */
    UriUriA uri;
    bool parsed;     /* uri is set (crawl_url_base_from_canonical parses late) */
    char *canonical; /* set when the base was canonical already */
    crawl_url_fast_base fast;
    bool use_fast;
};

bool crawl_url_fast_enabled = true;

int crawl_url_base_new(const char *base, crawl_url_base **out)
{
    *out = NULL;
    crawl_url_base *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    int rc = parse_clean(&b->uri, base, &b->text);
    if (rc) {
        crawl_buf_free(&b->text);
        free(b);
        return rc;
    }
    b->parsed = true;
    if (!b->uri.scheme.first) {
        crawl_url_base_free(b);
        return -EINVAL;
    }
    /* Plain references are glued onto the canonical form, so the fast
     * path is only for a base that is canonical as given: then both paths
     * resolve against the same URL.  That is the common case, and then the
     * parse canon() normalised in place is still a parse of the base. */
    char *c = NULL;
    rc = canon(&b->uri, &c);
    if (rc == 0 && strcmp(c, base) == 0) {
        b->canonical = c;
        b->use_fast = crawl_url_fast_base_init(&b->fast, c);
        *out = b;
        return 0;
    }
    free(c);
    if (rc == -ENOMEM) {
        crawl_url_base_free(b);
        return rc;
    }
    /* Not canonical: resolve against the base as written, as uriparser
     * would on its own. */
    uriFreeUriMembersA(&b->uri);
    b->text.len = 0;
    rc = parse_clean(&b->uri, base, &b->text);
    if (rc) {
        crawl_buf_free(&b->text);
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void crawl_url_base_free(crawl_url_base *b)
{
    if (!b)
        return;
    if (b->parsed)
        uriFreeUriMembersA(&b->uri);
    crawl_buf_free(&b->text);
    free(b->canonical);
    free(b);
}

int crawl_url_base_from_canonical(const char *canonical, crawl_url_base **out)
{
    *out = NULL;
    crawl_url_base *b = calloc(1, sizeof *b);
    if (!b || !(b->canonical = strdup(canonical))) {
        free(b);
        return -ENOMEM;
    }
    b->use_fast = crawl_url_fast_base_init(&b->fast, b->canonical);
    *out = b;
    return 0;
}

int crawl_url_base_resolve(crawl_url_base *b, const char *ref, char **out)
{
    *out = NULL;
    if (b->use_fast && crawl_url_fast_enabled) {
        int rc = crawl_url_fast_resolve(&b->fast, ref, out);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    int rc = check_scheme(ref);
    if (rc)
        return rc;
    if (!b->parsed) {
        rc = parse_clean(&b->uri, b->canonical, &b->text);
        if (rc)
            return rc;
        b->parsed = true;
    }
    crawl_buf rb = { 0 };
    UriUriA ur, res;
    rc = parse_clean(&ur, ref, &rb);
    if (rc == 0) {
        /* Browsers read "http:foo" on an http page as a relative
         * reference; pages in the wild rely on it. */
        rc = uriAddBaseUriExA(&res, &ur, &b->uri, URI_RESOLVE_IDENTICAL_SCHEME_COMPAT);
        if (rc != URI_SUCCESS) {
            rc = uri_err(rc);
        } else {
            rc = canon(&res, out);
            uriFreeUriMembersA(&res);
        }
        uriFreeUriMembersA(&ur);
    }
    crawl_buf_free(&rb);
    return rc;
}

int crawl_url_resolve(const char *base, const char *ref, char **out)
{
    *out = NULL;
    int rc = check_scheme(ref); /* reported first, whatever the base */
    if (rc)
        return rc;
    crawl_url_base *b;
    rc = crawl_url_base_new(base, &b);
    if (rc)
        return rc;
    rc = crawl_url_base_resolve(b, ref, out);
    crawl_url_base_free(b);
    return rc;
}

int crawl_url_join(const char *base, const char *ref, char **out)
{
    *out = NULL;
    UriUriA ub, ur, res;
    int rc = parse(&ub, base);
    if (rc)
        return rc;
    rc = parse(&ur, ref);
    if (rc)
        goto out_base;
    rc = uriAddBaseUriExA(&res, &ur, &ub, URI_RESOLVE_STRICTLY);
    if (rc != URI_SUCCESS) {
        rc = uri_err(rc);
        goto out_ref;
    }
    int need = 0;
    rc = uriToStringCharsRequiredA(&res, &need);
    if (rc == URI_SUCCESS) {
        char *s = malloc((size_t)need + 1);
        if (!s)
            rc = URI_ERROR_MALLOC;
        else if ((rc = uriToStringA(s, &res, need + 1, NULL)) != URI_SUCCESS)
            free(s);
        else
            *out = s;
    }
    rc = rc == URI_SUCCESS ? 0 : uri_err(rc);
    uriFreeUriMembersA(&res);
out_ref:
    uriFreeUriMembersA(&ur);
out_base:
    uriFreeUriMembersA(&ub);
    return rc;
}

void crawl_url_parts_free(crawl_url_parts *p)
{
    free(p->scheme);
    free(p->host);
    free(p->hostport);
    free(p->authority);
    free(p->target);
    memset(p, 0, sizeof *p);
}

int crawl_url_split(const char *url, crawl_url_parts *p)
{
    memset(p, 0, sizeof *p);
    char *c;
    int rc = crawl_url_normalize(url, &c);
    if (rc)
        return rc;
    /* The canonical form is simple enough to cut by hand:
     * scheme "://" [userinfo "@"] host [":" port] target */
    const char *s = strstr(c, "://") + 3;
    const char *end = s + strcspn(s, "/");
    const char *at = memchr(s, '@', (size_t)(end - s));
    const char *h = at ? at + 1 : s;
    const char *he, *hs = h;
    if (*h == '[') {
        hs = h + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
    } else {
        he = memchr(h, ':', (size_t)(end - h));
        if (!he)
            he = end;
    }
    const char *colon = memchr(he, ':', (size_t)(end - he));
    p->scheme = strndup(c, (size_t)(strstr(c, "://") - c));
    p->host = strndup(hs, (size_t)(he - hs));
    p->port = colon ? atoi(colon + 1) : crawl_url_default_port(p->scheme ? p->scheme : "");
    p->authority = strndup(h, (size_t)(end - h));
    p->target = strdup(end);
    crawl_buf hp = { 0 };
    rc = crawl_buf_printf(&hp, *h == '[' ? "[%s]:%d" : "%s:%d", p->host ? p->host : "", p->port);
    p->hostport = rc ? NULL : crawl_buf_steal(&hp);
    free(c);
    if (!p->scheme || !p->host || !p->authority || !p->target || !p->hostport) {
        crawl_url_parts_free(p);
        return -ENOMEM;
    }
    return 0;
}

int crawl_url_same_host(const char *a, const char *b)
{
    crawl_url_parts pa, pb;
    int rc = crawl_url_split(a, &pa);
    if (rc)
        return rc;
    rc = crawl_url_split(b, &pb);
    if (rc) {
        crawl_url_parts_free(&pa);
        return rc;
    }
    rc = strcmp(pa.host, pb.host) == 0;
    crawl_url_parts_free(&pa);
    crawl_url_parts_free(&pb);
    return rc;
}
