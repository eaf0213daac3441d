#define _GNU_SOURCE
#include "robots.h"
#include "buf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct rule {
    char *pat;      /* normalised, '$' removed, runs of '*' collapsed */
    size_t len;
    size_t weight;  /* length of the pattern as written (after normalising) */
    bool allow;
    bool anchored;
} rule;

typedef struct ruleset {
    rule *v;
    size_t n, cap;
    int64_t delay_ms;
    bool matched;   /* some group applied, even an empty one */
} ruleset;

struct crawl_robots {
    ruleset rs;
    char *sitemaps[CRAWL_ROBOTS_MAX_SITEMAPS];
    size_t nsitemaps;
};

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
static int hexval(unsigned char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
static bool is_unreserved(unsigned char c)
{
    return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Bring paths and patterns to one spelling so that byte comparison is
 * meaningful: both may arrive percent-encoded or not. */
static int norm_pct(const char *s, size_t n, crawl_buf *b)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = crawl_buf_reserve(b, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && is_hex((unsigned char)s[i + 1]) &&
            is_hex((unsigned char)s[i + 2])) {
            unsigned char v = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 +
                                              hexval((unsigned char)s[i + 2]));
            if (is_unreserved(v)) {
                rc = crawl_buf_putc(b, (char)v);
            } else {
                char e[3] = { '%', hex[v >> 4], hex[v & 15] };
                rc = crawl_buf_append(b, e, 3);
            }
            i += 2;
        } else if (c <= 0x20 || c >= 0x7f) {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            rc = crawl_buf_append(b, e, 3);
        } else {
            rc = crawl_buf_putc(b, (char)c);
        }
    }
    if (rc == 0 && !b->data)
        rc = crawl_buf_reserve(b, 0);
    return rc;
}

static int add_rule(ruleset *rs, bool allow, const char *v, size_t n)
{
    crawl_buf b = { 0 };
    int rc = 0;
    if (n && v[0] != '/' && v[0] != '*')
        rc = crawl_buf_putc(&b, '/');
    if (rc == 0)
        rc = norm_pct(v, n, &b);
    if (rc) {
        crawl_buf_free(&b);
        return rc;
    }
    rule r = { .allow = allow, .weight = b.len };
    if (b.len && b.data[b.len - 1] == '$') {
        r.anchored = true;
        b.data[--b.len] = '\0';
    }
    /* "**" means the same as "*" and would only slow the matcher. */
    size_t w = 0;
    for (size_t i = 0; i < b.len; i++)
        if (!(b.data[i] == '*' && w && b.data[w - 1] == '*'))
            b.data[w++] = b.data[i];
    b.len = w;
    b.data[w] = '\0';
    r.len = b.len;
    r.pat = crawl_buf_steal(&b);

    rule *nv = crawl_grow(rs->v, &rs->cap, rs->n, sizeof *nv, 8);
    if (!nv) {
        free(r.pat);
        return -ENOMEM;
    }
    rs->v = nv;
    rs->v[rs->n++] = r;
    return 0;
}

static void ruleset_free(ruleset *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].pat);
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

static size_t token_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || s[i] == '_' || s[i] == '-'))
        i++;
    return i;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s))
        (*s)++, (*n)--;
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

static int64_t parse_delay_ms(const char *v, size_t n)
{
    int64_t ms = 0, frac = 1000;
    size_t i = 0;
    bool digits = false;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits = true)
        if (ms < 86400000)
            ms = ms * 10 + (v[i] - '0');
    ms *= 1000;
    if (i < n && v[i] == '.')
        for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits = true)
            if ((frac /= 10) > 0)
                ms += (v[i] - '0') * frac;
    return digits && i == n ? ms : -1;
}

enum key { K_OTHER, K_UA, K_ALLOW, K_DISALLOW, K_DELAY, K_SITEMAP };

static enum key classify(const char *k, size_t n)
{
    static const struct { const char *s; enum key k; } keys[] = {
        { "user-agent", K_UA }, { "allow", K_ALLOW }, { "disallow", K_DISALLOW },
        { "crawl-delay", K_DELAY }, { "sitemap", K_SITEMAP },
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].s) == n && strncasecmp(k, keys[i].s, n) == 0)
            return keys[i].k;
    return K_OTHER;
}

crawl_robots *crawl_robots_parse(const char *txt, size_t len, const char *user_agent)
{
    size_t tl = user_agent ? token_len(user_agent, strlen(user_agent)) : 0;
    if (tl == 0) {
        errno = EINVAL;
        return NULL;
    }
    crawl_robots *r = calloc(1, sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    ruleset mine = { .delay_ms = -1 }, star = { .delay_ms = -1 };

    bool truncated = len > CRAWL_ROBOTS_MAX_BYTES;
    if (truncated)
        len = CRAWL_ROBOTS_MAX_BYTES;
    if (len >= 3 && memcmp(txt, "\xEF\xBB\xBF", 3) == 0)
        txt += 3, len -= 3;

    bool in_agents = false;           /* last record was a user-agent line */
    bool grp_mine = false, grp_star = false, in_group = false;
    int rc = 0;
    size_t pos = 0;
    while (pos < len && rc == 0) {
        size_t eol = pos;
        while (eol < len && txt[eol] != '\n' && txt[eol] != '\r')
            eol++;
        if (eol == len && truncated)
            break;
        const char *line = txt + pos;
        size_t n = eol - pos;
        pos = eol + (eol < len && txt[eol] == '\r' && eol + 1 < len && txt[eol + 1] == '\n' ? 2 : 1);

        const char *hash = memchr(line, '#', n);
        if (hash)
            n = (size_t)(hash - line);
        const char *colon = memchr(line, ':', n);
        if (!colon)
            continue;
        const char *k = line, *v = colon + 1;
        size_t kn = (size_t)(colon - line), vn = n - kn - 1;
        trim(&k, &kn);
        trim(&v, &vn);

        enum key key = classify(k, kn);
        if (key == K_UA) {
            if (!in_agents)
                grp_mine = grp_star = false;
            in_agents = in_group = true;
            size_t vt = token_len(v, vn);
            if (vn == 1 && v[0] == '*')
                grp_star = true;
            else if (vt == tl && strncasecmp(v, user_agent, tl) == 0)
                grp_mine = true;
            if (grp_mine)
                mine.matched = true;
            if (grp_star)
                star.matched = true;
            continue;
        }
        if (key == K_SITEMAP && vn && r->nsitemaps < CRAWL_ROBOTS_MAX_SITEMAPS) {
            /* not part of any group: for every crawler */
            char *url = strndup(v, vn);
            if (!url)
                rc = -ENOMEM;
            else
                r->sitemaps[r->nsitemaps++] = url;
        }
        if (key == K_OTHER || key == K_SITEMAP)
            continue; /* sitemap and unknown records do not end a group */
        in_agents = false;
        if (!in_group)
            continue;
        ruleset *dst[2] = { grp_mine ? &mine : NULL, grp_star ? &star : NULL };
        for (int d = 0; d < 2 && rc == 0; d++) {
            if (!dst[d])
                continue;
            if (key == K_DELAY) {
                int64_t ms = parse_delay_ms(v, vn);
                if (ms >= 0 && dst[d]->delay_ms < 0)
                    dst[d]->delay_ms = ms;
            } else if (vn) {
                rc = add_rule(dst[d], key == K_ALLOW, v, vn);
            }
        }
    }
    if (rc) {
        ruleset_free(&mine);
        ruleset_free(&star);
        for (size_t i = 0; i < r->nsitemaps; i++)
            free(r->sitemaps[i]);
        free(r);
        errno = -rc;
        return NULL;
    }
    if (mine.matched) {
        r->rs = mine;
        ruleset_free(&star);
    } else {
        r->rs = star;
        ruleset_free(&mine);
    }
    return r;
}

crawl_robots *crawl_robots_new_disallow_all(void)
{
    crawl_robots *r = calloc(1, sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->rs.delay_ms = -1;
    r->rs.matched = true;
    if (add_rule(&r->rs, false, "/", 1) < 0) {
        free(r);
        errno = ENOMEM;
        return NULL;
    }
    return r;
}

/* Wildcard match of p against a prefix of s (all of s when anchored).
 * Only '*' is special, so backtracking to the last star is enough and the
 * cost stays O(|p|*|s|) however the pattern is built. */
static bool match(const char *p, size_t pl, const char *s, size_t sl, bool anchored)
{
    size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
    for (;;) {
        if (pi == pl && (!anchored || si == sl))
            return true;
        if (pi < pl && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
            continue;
        }
        if (pi < pl && si < sl && p[pi] == s[si]) {
            pi++, si++;
            continue;
        }
        if (star_p == (size_t)-1 || star_s >= sl)
            return false;
        pi = star_p + 1;
        si = ++star_s;
    }
}

int crawl_robots_allowed(const crawl_robots *r, const char *target)
{
    if (!target || target[0] != '/')
        return -EINVAL;
    if (strcmp(target, "/robots.txt") == 0)
        return 1;
    crawl_buf b = { 0 };
    int rc = norm_pct(target, strlen(target), &b);
    if (rc) {
        crawl_buf_free(&b);
        return rc;
    }
    const rule *best = NULL;
    for (size_t i = 0; i < r->rs.n; i++) {
        const rule *x = &r->rs.v[i];
        if (best && (x->weight < best->weight || (x->weight == best->weight && !x->allow)))
            continue;
        if (match(x->pat, x->len, b.data, b.len, x->anchored))
            best = x;
    }
    crawl_buf_free(&b);
    return !best || best->allow;
}

int64_t crawl_robots_crawl_delay_ms(const crawl_robots *r)
{
    return r->rs.delay_ms;
}

size_t crawl_robots_rule_count(const crawl_robots *r)
{
    return r->rs.n;
}

const char *const *crawl_robots_sitemaps(const crawl_robots *r, size_t *n)
{
    *n = r->nsitemaps;
    return (const char *const *)r->sitemaps;
}

void crawl_robots_free(crawl_robots *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsitemaps; i++)
        free(r->sitemaps[i]);
    ruleset_free(&r->rs);
    free(r);
}
