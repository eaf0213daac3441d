/* Reading the journal (state.h): the scan at open and the replay of
 * --resume, fields read in place off the mapped file (journal.h). */
#define _GNU_SOURCE
#include "journal.h"
#include "seen.h"
#include "state_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "R status len origin": the robots body follows on the next len bytes. */
static const char *robots_head(const char *p, const char *nl, int64_t *status, int64_t *len)
{
    p = crawl_jl_int(p + 1, nl, status);
    p = p ? crawl_jl_int(p, nl, len) : NULL;
    return p && *len >= 0 && p < nl && *p == ' ' && p + 1 < nl ? p + 1 : NULL;
}

/* An empty journal is not mapped (jmap is NULL), and NULL + 0 is undefined
 * behaviour in C: the end of no bytes is the start. */
static const char *journal_end(const crawl_state *s)
{
    return s->jmap ? s->jmap + s->jlen : s->jmap;
}

size_t crawl_state__scan(crawl_state *s, crawl_last_done *ld, char *stamp, const char **opts, size_t *opts_len,
                         int *rc)
{
    const char *p = s->jmap, *end = journal_end(s), *good = p, *last = NULL;
    *rc = 0;
    while (p < end) {
        const char *nl = crawl_jl_end(p, end);
        if (nl == end)
            break; /* torn last line */
        if (*p == 'O') {
            *opts = p + 2;
            *opts_len = (size_t)(nl - p - 2);
        } else if (*p == 'W' && nl - p == 16) {
            memcpy(stamp, p + 2, 14);
            stamp[14] = '\0';
        } else if (*p == 'D' || *p == 'C') {
            last = p; /* only the last one's offsets count: read below */
            s->ndone += *p == 'D';
        } else if (*p == 'A' || *p == 'S' || *p == 'F' || *p == 'B') {
            s->has_urls = true;
            s->nurls++;
        } else if (*p == 'R') {
            int64_t status, len;
            const char *o = robots_head(p, nl, &status, &len);
            if (!o || (uint64_t)len > (uint64_t)(end - nl - 1))
                break; /* torn robots body */
            char *origin = strndup(o, (size_t)(nl - o));
            robots_rec *r = calloc(1, sizeof *r);
            char *body = malloc((size_t)len + 1);
            if (!r || !body || !origin) {
                free(r);
                free(body);
                free(origin);
                *rc = -ENOMEM;
                return 0;
            }
            memcpy(body, nl + 1, (size_t)len);
            body[len] = '\0';
            *r = (robots_rec){ .next = s->robots, .origin = origin, .status = (int)status, .body = body,
                               .len = (size_t)len };
            s->robots = r;
            nl = nl + 1 + len; /* the body, then its newline */
            if (nl >= end)
                break;
        }
        p = nl + 1;
        good = p;
    }
    if (last) {
        /* "D depth status rows-offset WARC-serial WARC-offset url" */
        int64_t v[5];
        const char *q = last + 1, *nl = crawl_jl_end(last, end);
        for (int i = 0; i < 5 && q; i++)
            q = crawl_jl_int(q, nl, &v[i]);
        if (q) {
            ld->any = true;
            ld->out_off = (uint64_t)v[2];
            ld->warc_serial = (unsigned)v[3];
            ld->warc_off = (uint64_t)v[4];
        }
    }
    return (size_t)(good - s->jmap);
}

/* The URL field of a D line: the last one (a URL has no space). */
static const char *done_url(const char *p, const char *nl, size_t *n)
{
    const char *sp = memrchr(p, ' ', (size_t)(nl - p));
    if (!sp || sp + 1 >= nl)
        return NULL;
    *n = (size_t)(nl - sp - 1);
    return sp + 1;
}

static int grow(char **b, size_t *cap, size_t n)
{
    if (n < *cap)
        return 0;
    char *nb = realloc(*b, n * 2 + 64);
    if (!nb)
        return -ENOMEM;
    *b = nb;
    *cap = n * 2 + 64;
    return 0;
}

int crawl_state_replay(crawl_state *s, crawl_state_replay_fn fn, void *arg)
{
    const char *p, *end = journal_end(s);
    /* The done URLs as fingerprints, in a table sized once. */
    crawl_seen done = {0};
    int rc = crawl_seen_reserve(&done, s->ndone);
    for (p = s->jmap; p < end && rc >= 0;) {
        const char *nl = crawl_jl_end(p, end);
        if (*p == 'D') {
            size_t n;
            const char *u = done_url(p, nl, &n);
            if (u && !crawl_seen_put(&done, crawl_fingerprint(u, n), 0, NULL))
                rc = -ENOMEM;
        }
        p = crawl_jl_next(p, nl, end);
    }
    char *url = NULL, *parent = NULL;
    size_t ucap = 0, pcap = 0;
    for (p = s->jmap; p < end && rc >= 0;) {
        const char *nl = crawl_jl_end(p, end);
        char kind = *p;
        if (nl < end && (kind == 'B' || kind == 'F') && p + 1 < nl && p[1] == ' ') {
            /* "B err parent key", or "F key" of a journal written before B
             * lines: a key of crawl_scope_first, to the line's end */
            int64_t err;
            const char *pa, *k = p + 2;
            size_t pn, kn = (size_t)(nl - k);
            if (kind == 'F' || crawl_jl_get_bad(p, nl, &err, &pa, &pn, &k, &kn)) {
                if (grow(&url, &ucap, kn) < 0) {
                    rc = -ENOMEM;
                    break;
                }
                if (kind == 'B') {
                    crawl_jl_unescape(k, kn, url);
                } else {
                    memcpy(url, k, kn);
                    url[kn] = '\0';
                }
                rc = fn(arg, 'F', url, 0, 0, NULL, true);
            }
        } else if (nl < end && (kind == 'A' || kind == 'S') && p + 1 < nl && p[1] == ' ') {
            /* "A depth hops url parent" */
            int64_t depth = 0, hops = 0;
            const char *q = p + 1, *u = NULL, *pa = NULL;
            size_t un = 0, pn = 0;
            q = crawl_jl_int(q, nl, &depth);
            q = q ? crawl_jl_int(q, nl, &hops) : NULL;
            q = q ? crawl_jl_field(q, nl, &u, &un) : NULL;
            if (q && !crawl_jl_field(q, nl, &pa, &pn))
                q = NULL;
            if (q) {
                if (grow(&url, &ucap, un) < 0 || grow(&parent, &pcap, pn) < 0) {
                    rc = -ENOMEM;
                    break;
                }
                memcpy(url, u, un);
                url[un] = '\0';
                bool has_parent = !(pn == 1 && pa[0] == '-');
                if (has_parent) {
                    memcpy(parent, pa, pn);
                    parent[pn] = '\0';
                }
                rc = fn(arg, kind, url, (int)depth, (unsigned)hops, has_parent ? parent : NULL,
                        kind != 'A' || crawl_seen_get(&done, crawl_fingerprint(u, un)));
            }
        }
        p = crawl_jl_next(p, nl, end);
    }
    free(url);
    free(parent);
    crawl_seen_free(&done);
    return rc < 0 ? rc : 0;
}

bool crawl_state_resuming(const crawl_state *s)
{
    return s->has_urls;
}
