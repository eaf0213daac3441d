#define _GNU_SOURCE
#include "recrawl.h"
#include "journal.h"
#include "seen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct crawl_recrawl {
    char *map;
    size_t len;
    crawl_seen v;  /* URL fingerprint -> its index in off */
    uint64_t *off; /* the offset of each URL's last V line */
    size_t n;
};

/* The url of "V url ..." at p. */
static const char *v_url(const char *p, const char *nl, size_t *n)
{
    const char *u;
    return crawl_jl_field(p + 1, nl, &u, n) ? u : NULL;
}

int crawl_recrawl_open(const char *path, crawl_recrawl **out)
{
    *out = NULL;
    crawl_recrawl *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    int rc = crawl_jl_map(path, &r->map, &r->len);
    const char *p, *end = r->map + r->len;
    size_t nv = 0;
    for (p = r->map; rc == 0 && p < end; p = crawl_jl_next(p, crawl_jl_end(p, end), end))
        nv += *p == 'V';
    if (rc == 0 && (crawl_seen_reserve(&r->v, nv) < 0 || !(r->off = malloc((nv ? nv : 1) * sizeof *r->off))))
        rc = -ENOMEM;
    for (p = r->map; rc == 0 && p < end;) {
        const char *nl = crawl_jl_end(p, end);
        if (nl == end)
            break; /* torn */
        size_t n;
        const char *u = *p == 'V' ? v_url(p, nl, &n) : NULL;
        uint32_t *i = u ? crawl_seen_put(&r->v, crawl_fingerprint(u, n), (uint32_t)r->n, NULL) : NULL;
        if (u && !i)
            rc = -ENOMEM;
        else if (i && *i == r->n)
            r->off[r->n++] = (uint64_t)(p - r->map);
        else if (i)
            r->off[*i] = (uint64_t)(p - r->map); /* a later line of the URL: the last counts */
        p = crawl_jl_next(p, nl, end);
    }
    if (rc < 0) {
        crawl_recrawl_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void crawl_recrawl_close(crawl_recrawl *r)
{
    if (!r)
        return;
    if (r->map)
        munmap(r->map, r->len);
    crawl_seen_free(&r->v);
    free(r->off);
    free(r);
}

bool crawl_recrawl_find(const crawl_recrawl *r, const char *url, crawl_validators *v)
{
    memset(v, 0, offsetof(crawl_validators, buf));
    const uint32_t *at = r ? crawl_seen_get(&r->v, crawl_fingerprint(url, strlen(url))) : NULL;
    if (!at)
        return false;
    const char *p = r->map + r->off[*at], *end = r->map + r->len, *nl = crawl_jl_end(p, end);
    const char **f[] = { &v->date, &v->record_id, &v->digest, &v->etag };
    const char *s;
    size_t n, used = 0;
    p = crawl_jl_field(p + 1, nl, &s, &n); /* the url */
    for (size_t i = 0; p && i < 5; i++) {
        if (i < 4) {
            p = crawl_jl_field(p, nl, &s, &n);
        } else { /* last-modified: the rest of the line */
            while (p < nl && *p == ' ')
                p++;
            s = p;
            n = (size_t)(nl - p);
        }
        if (!p || n + 1 > sizeof v->buf - used)
            break;
        if (n == 0 || (n == 1 && *s == '-'))
            continue;
        memcpy(v->buf + used, s, n);
        v->buf[used + n] = '\0';
        *(i < 4 ? f[i] : &v->last_modified) = v->buf + used;
        used += n + 1;
    }
    return true;
}

int crawl_recrawl_seeds(const crawl_recrawl *r, crawl_buf *b)
{
    const char *p, *end = r->map + r->len;
    int rc = 0;
    for (p = r->map; rc == 0 && p < end;) {
        const char *nl = crawl_jl_end(p, end);
        if (nl == end)
            break;
        if (*p == 'A')
            rc = crawl_buf_append(b, p, (size_t)(nl + 1 - p));
        p = crawl_jl_next(p, nl, end);
    }
    return rc;
}

/* A field as written: "-" when unknown, and never a space or a newline
 * inside (a server's odd ETag is dropped rather than break the line). */
static const char *field(const char *s)
{
    return !s || !*s || strpbrk(s, " \r\n") ? "-" : s;
}

int crawl_recrawl_line(crawl_buf *b, const char *url, const char *date, const char *record_id,
                       const char *digest, const char *etag, const char *last_modified)
{
    const char *lm = !last_modified || !*last_modified || strpbrk(last_modified, "\r\n") ? "-" : last_modified;
    return crawl_buf_printf(b, "V %s %s %s %s %s %s\n", url, field(date), field(record_id), field(digest),
                            field(etag), lm);
}
