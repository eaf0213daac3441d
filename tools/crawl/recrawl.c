#define _GNU_SOURCE
#include "recrawl.h"
#include "journal.h"
#include "seen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct crawl_recrawl {
    char *map;
    size_t len;
    crawl_seen v;  /* URL fingerprint -> its index in off */
    uint64_t *off; /* the offset of each URL's last V line */
    size_t n;
    /* The S and B lines (offsite URLs, hrefs that are no URL) by the page
     * that linked to them: parent fingerprint -> its first line's index in
     * soff; snext chains a parent's lines in journal order, stail finds
     * the last of a chain. */
    crawl_seen s;
    uint64_t *soff;
    uint32_t *snext, *stail;
    size_t ns;
};

#define NO_LINE UINT32_MAX

/* The url of "V url ..." or "E url ..." at p. */
static const char *v_url(const char *p, const char *nl, size_t *n)
{
    const char *u;
    return crawl_jl_field(p + 1, nl, &u, n) ? u : NULL;
}

/* "S depth hops url parent" or "B err parent key": the parent field
 * (NULL: none, "-"). */
static const char *s_parent(const char *p, const char *nl, size_t *n)
{
    int64_t x;
    const char *u, *pa;
    size_t un;
    if (*p == 'B')
        return crawl_jl_get_bad(p, nl, &x, &pa, n, &u, &un) ? pa : NULL;
    p = crawl_jl_int(p + 1, nl, &x);
    p = p ? crawl_jl_int(p, nl, &x) : NULL;
    p = p ? crawl_jl_field(p, nl, &u, &un) : NULL;
    if (!p || !crawl_jl_field(p, nl, &pa, n) || (*n == 1 && *pa == '-'))
        return NULL;
    return pa;
}

/* Chain the S or B line at p to its parent's, in journal order. */
static int index_link(crawl_recrawl *r, const char *p, const char *nl)
{
    size_t n;
    const char *pa = s_parent(p, nl, &n);
    if (!pa)
        return 0;
    uint32_t k = (uint32_t)r->ns;
    bool added;
    uint32_t *head = crawl_seen_put(&r->s, crawl_fingerprint(pa, n), k, &added);
    if (!head)
        return -ENOMEM;
    r->soff[k] = (uint64_t)(p - r->map);
    r->snext[k] = NO_LINE;
    if (added) {
        r->stail[k] = k;
    } else {
        r->snext[r->stail[*head]] = k;
        r->stail[*head] = k;
    }
    r->ns++;
    return 0;
}

int crawl_recrawl_open(const char *path, crawl_recrawl **out)
{
    *out = NULL;
    crawl_recrawl *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    int rc = crawl_jl_map(path, &r->map, &r->len);
    const char *p, *end = r->map + r->len;
    size_t nv = 0, nsl = 0;
    for (p = r->map; rc == 0 && p < end; p = crawl_jl_next(p, crawl_jl_end(p, end), end)) {
        nv += *p == 'V' || *p == 'E';
        nsl += *p == 'S' || *p == 'B';
    }
    if (rc == 0 && (crawl_seen_reserve(&r->v, nv) < 0 || !(r->off = malloc((nv ? nv : 1) * sizeof *r->off))))
        rc = -ENOMEM;
    if (rc == 0 && nsl &&
        (crawl_seen_reserve(&r->s, nsl) < 0 || !(r->soff = malloc(nsl * sizeof *r->soff)) ||
         !(r->snext = malloc(nsl * sizeof *r->snext)) || !(r->stail = malloc(nsl * sizeof *r->stail))))
        rc = -ENOMEM;
    for (p = r->map; rc == 0 && p < end;) {
        const char *nl = crawl_jl_end(p, end);
        if (nl == end)
            break; /* torn */
        if ((*p == 'S' || *p == 'B') && (rc = index_link(r, p, nl)) < 0)
            break;
        size_t n;
        const char *u = *p == 'V' || *p == 'E' ? v_url(p, nl, &n) : NULL;
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
    crawl_seen_free(&r->s);
    free(r->soff);
    free(r->snext);
    free(r->stail);
    free(r);
}

/* Read the S or B line at p into l, its string into *buf. */
static int read_link(const char *p, const char *nl, crawl_recrawl_link *l, char **buf, size_t *cap)
{
    const char *u;
    size_t n;
    int64_t a, b = 0;
    bool bad = *p == 'B', ok;
    if (bad) {
        const char *pa;
        size_t pn;
        ok = crawl_jl_get_bad(p, nl, &a, &pa, &pn, &u, &n);
    } else {
        p = crawl_jl_int(p + 1, nl, &a);
        p = p ? crawl_jl_int(p, nl, &b) : NULL;
        ok = p && crawl_jl_field(p, nl, &u, &n) && a >= 0 && b >= 0;
    }
    if (!ok)
        return 0; /* indexed, so it had these fields */
    if (n + 1 > *cap) {
        char *nb = realloc(*buf, n + 1);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = n + 1;
    }
    if (bad) {
        crawl_jl_unescape(u, n, *buf);
        *l = (crawl_recrawl_link){ .kind = 'B', .url = *buf, .err = (int)a };
    } else {
        memcpy(*buf, u, n);
        (*buf)[n] = '\0';
        *l = (crawl_recrawl_link){ .kind = 'S', .url = *buf, .depth = (int)a, .hops = (unsigned)b };
    }
    return 1;
}

int crawl_recrawl_links(const crawl_recrawl *r, const char *parent, crawl_recrawl_link_fn fn, void *arg)
{
    const uint32_t *head = r && r->ns ? crawl_seen_get(&r->s, crawl_fingerprint(parent, strlen(parent))) : NULL;
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (uint32_t k = head ? *head : NO_LINE; k != NO_LINE && rc == 0; k = r->snext[k]) {
        const char *p = r->map + r->soff[k], *nl = crawl_jl_end(p, r->map + r->len);
        crawl_recrawl_link l;
        if ((rc = read_link(p, nl, &l, &buf, &cap)) == 1)
            rc = fn(arg, &l);
    }
    free(buf);
    return rc;
}

/* Copy the field s[0..n) into v->buf ("-" or empty: unknown, NULL);
 * false when it does not fit. */
static bool keep(crawl_validators *v, size_t *used, const char *s, size_t n, const char **to)
{
    if (n == 0 || (n == 1 && *s == '-'))
        return true;
    if (n + 1 > sizeof v->buf - *used)
        return false;
    memcpy(v->buf + *used, s, n);
    v->buf[*used + n] = '\0';
    *to = v->buf + *used;
    *used += n + 1;
    return true;
}

/* The rest of the line from p, leading spaces skipped. */
static const char *rest(const char *p, const char *nl, size_t *n)
{
    while (p < nl && *p == ' ')
        p++;
    *n = (size_t)(nl - p);
    return p;
}

/* "E url status fetched max-age lm-age date id digest location ctype" */
static bool read_e(const char *p, const char *nl, crawl_validators *v, size_t *used)
{
    int64_t x[4];
    for (int i = 0; i < 4 && p; i++)
        p = crawl_jl_int(p, nl, &x[i]);
    if (!p || x[0] < 100 || x[0] > 599)
        return false;
    const char **f[] = { &v->date, &v->record_id, &v->digest, &v->location };
    const char *s;
    size_t n;
    for (size_t i = 0; i < 4; i++)
        if (!(p = crawl_jl_field(p, nl, &s, &n)) || !keep(v, used, s, n, f[i]))
            return false;
    s = rest(p, nl, &n);
    if (!keep(v, used, s, n, &v->content_type))
        return false;
    v->status = (int)x[0];
    v->fresh = (crawl_fresh){ .fetched = x[1], .max_age = x[2], .lm_age = x[3] };
    return true;
}

bool crawl_recrawl_find(const crawl_recrawl *r, const char *url, crawl_validators *v)
{
    memset(v, 0, offsetof(crawl_validators, buf));
    const uint32_t *at = r ? crawl_seen_get(&r->v, crawl_fingerprint(url, strlen(url))) : NULL;
    if (!at)
        return false;
    const char *p = r->map + r->off[*at], *end = r->map + r->len, *nl = crawl_jl_end(p, end);
    const char *s;
    size_t n, used = 0;
    bool e = *p == 'E';
    p = crawl_jl_field(p + 1, nl, &s, &n); /* the url */
    if (e) {
        if (!p || !read_e(p, nl, v, &used))
            memset(v, 0, offsetof(crawl_validators, buf)); /* known, but as nothing */
        return true;
    }
    const char **f[] = { &v->date, &v->record_id, &v->digest, &v->etag };
    for (size_t i = 0; p && i < 4; i++)
        if (!(p = crawl_jl_field(p, nl, &s, &n)) || !keep(v, &used, s, n, f[i]))
            return true;
    s = rest(p, nl, &n); /* last-modified: the rest of the line */
    keep(v, &used, s, n, &v->last_modified);
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

int crawl_recrawl_eline(crawl_buf *b, const char *url, int status, const crawl_fresh *f, const char *date,
                        const char *record_id, const char *digest, const char *location,
                        const char *content_type)
{
    /* What crawl_recrawl_find could not read back is not written: date,
     * ID and digest take ~120 bytes of its 3 KiB, the rest is for these. */
    if (location && (strpbrk(location, " \r\n") || strlen(location) > 2048))
        return 0;
    if (content_type && (strpbrk(content_type, "\r\n") || strlen(content_type) > 512))
        content_type = NULL;
    int rc = crawl_buf_printf(b, "E %s %d %" PRId64 " %" PRId64 " %" PRId64 " %s %s %s %s %s\n", url, status,
                              f->fetched, f->max_age, f->lm_age, field(date), field(record_id), field(digest),
                              field(location), content_type && *content_type ? content_type : "-");
    return rc < 0 ? rc : 1;
}

int crawl_recrawl_reply(const crawl_validators *v, const char *url, tulip_http_reply **out)
{
    *out = NULL;
    const char *name[2] = { "Content-Type", "Location" }, *val[2] = { v->content_type, v->location };
    size_t nh = 0, bytes = 0;
    for (int i = 0; i < 2; i++)
        if (val[i]) {
            nh++;
            bytes += strlen(name[i]) + strlen(val[i]) + 2;
        }
    tulip_http_reply *r = calloc(1, sizeof *r);
    /* the headers and their strings in one block, as the client makes them */
    tulip_http_header *h = malloc(nh * sizeof *h + bytes + 1);
    if (!r || !h || !(r->body = calloc(1, 1)) || !(r->url = strdup(url))) {
        free(h);
        tulip_http_reply_free(r);
        return -ENOMEM;
    }
    char *p = (char *)(h + nh);
    for (int i = 0, k = 0; i < 2; i++) {
        if (!val[i])
            continue;
        size_t nn = strlen(name[i]), vn = strlen(val[i]);
        h[k] = (tulip_http_header){ p, nn, p + nn + 1, vn };
        memcpy(p, name[i], nn + 1);
        memcpy(p + nn + 1, val[i], vn + 1);
        p += nn + vn + 2;
        k++;
    }
    r->headers = h;
    r->num_headers = nh;
    r->status = v->status;
    r->minor_version = 1;
    *out = r;
    return 0;
}
