#define _GNU_SOURCE
/* The demo site's model: which resources exist, on which host, what
 * links to what, what redirects where, and the crawl a correct crawler
 * makes of it (crawl_site_expected).  The bytes are site_render.c's. */
#include "site_model.h"
#include "buf.h"
#include "url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

crawl_site *crawl_site_new(const crawl_site_config *cfg)
{
    if (!cfg || cfg->pages < 1 || cfg->pages > CRAWL_SITE_MAX_PAGES ||
        cfg->links_per_page > CRAWL_SITE_MAX_LINKS || (cfg->pages > 1 && cfg->links_per_page < 1) ||
        cfg->page_bytes > 64u * 1024 * 1024 || cfg->hosts > CRAWL_SITE_MAX_HOSTS || cfg->hosts > cfg->pages ||
        cfg->orphans > CRAWL_SITE_MAX_ORPHANS || cfg->retry_after_s > 3600) {
        errno = EINVAL;
        return NULL;
    }
    crawl_site *s = malloc(sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.hosts == 0)
        s->cfg.hosts = 1;
    if (s->cfg.retry_after_s == 0)
        s->cfg.retry_after_s = 1;
    return s;
}

void crawl_site_free(crawl_site *s)
{
    free(s);
}

/* The canonical path of a resource (or the full URL of an offsite one). */
void site_id_path(const crawl_site *s, size_t id, char *buf, size_t n)
{
    unsigned N = s->cfg.pages;
    if (is_orphan(s, id)) {
        snprintf(buf, n, "/orphan/%zu.html", id - orphan0(s));
        return;
    }
    if (is_sitemap(s, id)) {
        static const char *const doc[3] = { "/sitemap.xml", "/sitemaps/1.xml", "/sitemaps/2.xml.gz" };
        snprintf(buf, n, "%s", doc[(id - sitemap0(s)) % 3]);
        return;
    }
    if (id >= (size_t)NBLOCKS * N) {
        static const char *const fixed[NFIXED] = {
            "/redirect/loop/a", "/redirect/loop/b",     "/static/site.css",
            "/private/secret.html", "/private/public.html", "/private/deeper.html",
            "/only-via-private.html",
        };
        snprintf(buf, n, "%s", fixed[id - (size_t)NBLOCKS * N]);
        return;
    }
    unsigned j = (unsigned)(id % N);
    switch ((enum block)(id / N)) {
    case B_PAGE:
        if (j == 0)
            snprintf(buf, n, "/");
        else
            snprintf(buf, n, "/s%u/page-%u.html", j % NSECTIONS, j);
        break;
    case B_R301: snprintf(buf, n, "/redirect/301/%u", j); break;
    case B_R302: snprintf(buf, n, "/redirect/302/%u", j); break;
    case B_CHAIN: snprintf(buf, n, "/redirect/chain/%u", j); break;
    case B_MISSING: snprintf(buf, n, "/missing/%u", j); break;
    case B_TXT: snprintf(buf, n, "/files/%u.txt", j); break;
    case B_PNG: snprintf(buf, n, "/files/%u.png", j); break;
    case B_OFF: snprintf(buf, n, OFFSITE "/p%u", j); break;
    default: buf[0] = '\0'; break;
    }
}

bool site_serves_html(const crawl_site *s, size_t id)
{
    return id < s->cfg.pages || id == fixed_id(s, F_SECRET) || id == fixed_id(s, F_PUBLIC) ||
           id == fixed_id(s, F_DEEPER) || id == fixed_id(s, F_ONLYVIA) || is_orphan(s, id);
}

static bool site_robots_denied(const crawl_site *s, size_t id)
{
    return id == fixed_id(s, F_SECRET) || id == fixed_id(s, F_DEEPER);
}

static bool site_offsite(const crawl_site *s, size_t id)
{
    return id / s->cfg.pages == B_OFF && id < (size_t)NBLOCKS * s->cfg.pages;
}

/* The page-index argument of a random pick. */
static unsigned pick(const crawl_site *s, uint64_t r) { return (unsigned)(r % s->cfg.pages); }

/* Links of HTML resource id, in body order; returns the count.
 * out must hold LINKS_CAP entries. */
size_t site_links(const crawl_site *s, size_t id, site_link *out)
{
    size_t n = 0;
    unsigned N = s->cfg.pages, L = s->cfg.links_per_page;
    if (is_sitemap(s, id)) {
        /* the index lists its host's two sitemaps; they list the orphans
         * of their host, alternately */
        size_t first = sitemap0(s) + 3 * site_home(s, id), t = id - first;
        if (t == 0) {
            out[n++] = (site_link){ first + 1, FORM_ABSURL, false };
            out[n++] = (site_link){ first + 2, FORM_ABSURL, false };
        } else {
            for (unsigned o = site_home(s, id), i = 0; o < s->cfg.orphans; o += s->cfg.hosts, i++)
                if (i % 2 == t - 1)
                    out[n++] = (site_link){ orphan0(s) + o, FORM_ABSURL, false };
        }
        return n;
    }
    if (id >= N) {
        /* the hand-written corner of the site, around robots.txt */
        if (id == fixed_id(s, F_SECRET)) {
            out[n++] = (site_link){ fixed_id(s, F_DEEPER), FORM_RELATIVE, false };
            out[n++] = (site_link){ fixed_id(s, F_ONLYVIA), FORM_ABSPATH, false };
        } else if (id == fixed_id(s, F_PUBLIC)) {
            out[n++] = (site_link){ id_of(s, B_PAGE, 0), FORM_RELATIVE, false };
            out[n++] = (site_link){ fixed_id(s, F_SECRET), FORM_RELATIVE, false };
        } else {
            out[n++] = (site_link){ id_of(s, B_PAGE, 0), FORM_ABSPATH, false };
        }
        out[n++] = (site_link){ fixed_id(s, F_CSS), FORM_ABSPATH, false };
        return n;
    }
    unsigned i = (unsigned)id;
    unsigned tree = L >= 2 ? 2 : L;
    for (unsigned slot = 0; slot < L; slot++) {
        uint64_t r = site_rnd(s, i, slot, 1);
        site_link l = { 0, (enum form)(site_rnd(s, i, slot, 2) % NFORMS), site_rnd(s, i, slot, 3) % 10 == 0 };
        uint64_t child = tree == 2 ? 2ull * i + 1 + slot : (uint64_t)i + 1;
        if (slot < tree) {
            /* leaves link home, so small sites are fully predictable */
            l.id = id_of(s, B_PAGE, child < N ? (unsigned)child : 0);
        } else {
            unsigned j = pick(s, r >> 8);
            unsigned k = (unsigned)(r % 100);
            if (k < 60)
                l.id = id_of(s, B_PAGE, j);
            else if (k < 70)
                l.id = id_of(s, (enum block)(B_R301 + (r >> 40) % 3), j);
            else if (k < 78)
                l.id = id_of(s, B_MISSING, j);
            else if (k < 86)
                l.id = id_of(s, (r >> 40) % 2 ? B_TXT : B_PNG, j);
            else if (k < 90)
                l.id = id_of(s, s->cfg.hosts > 1 ? B_PAGE : B_OFF, j);
            else
                l.id = id_of(s, B_PAGE, j);
        }
        out[n++] = l;
    }
    out[n++] = (site_link){ fixed_id(s, F_CSS), FORM_ABSPATH, false };
    if (i == 0) {
        /* one of each kind, whatever the dice said */
        const size_t extra[] = {
            fixed_id(s, F_SECRET),           fixed_id(s, F_PUBLIC),
            id_of(s, B_OFF, 0),              id_of(s, B_MISSING, 0),
            id_of(s, B_R301, N > 1 ? 1 : 0), id_of(s, B_R302, N - 1),
            id_of(s, B_CHAIN, N / 2),        fixed_id(s, F_LOOP_A),
            id_of(s, B_TXT, 0),              id_of(s, B_PNG, 0),
        };
        for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++)
            if (!site_offsite(s, extra[e]) || s->cfg.hosts == 1)
                out[n++] = (site_link){ extra[e], e % 2 ? FORM_RELATIVE : FORM_ABSPATH, false };
    }
    return n;
}

/* Where a redirect points: its target id and the Location text form. */
bool site_redirect_of(const crawl_site *s, size_t id, size_t *to, int *status)
{
    unsigned N = s->cfg.pages;
    if (id == fixed_id(s, F_LOOP_A) || id == fixed_id(s, F_LOOP_B)) {
        *to = id == fixed_id(s, F_LOOP_A) ? fixed_id(s, F_LOOP_B) : fixed_id(s, F_LOOP_A);
        *status = 302;
        return true;
    }
    if (id >= (size_t)NBLOCKS * N)
        return false;
    unsigned j = (unsigned)(id % N);
    switch (id / N) {
    case B_R301: *to = id_of(s, B_PAGE, j); *status = 301; return true;
    case B_R302: *to = id_of(s, B_PAGE, j); *status = 302; return true;
    case B_CHAIN: *to = id_of(s, B_R301, j); *status = 302; return true;
    default: return false;
    }
}

/* ---- hosts ---------------------------------------------------------------- */

unsigned crawl_site_hosts(const crawl_site *s) { return s->cfg.hosts; }

int crawl_site_host_origin(const crawl_site *s, const char *origin, unsigned k, char *buf, size_t n)
{
    static const char pre[] = "http://127.0.0.";
    if (!origin || k >= s->cfg.hosts)
        return -EINVAL;
    if (s->cfg.hosts == 1)
        return (size_t)snprintf(buf, n, "%s", origin) < n ? 0 : -EINVAL;
    if (strncmp(origin, pre, sizeof pre - 1) != 0)
        return -EINVAL;
    const char *p = origin + sizeof pre - 1, *q = p;
    while (*q >= '0' && *q <= '9')
        q++;
    if (q == p || q - p > 3 || (*q && *q != ':'))
        return -EINVAL;
    return (size_t)snprintf(buf, n, "%s%u%s", pre, k + 1, q) < n ? 0 : -EINVAL;
}

/* Every host's origin, and which of them origin is. */
int site_make_origins(const crawl_site *s, const char *origin, site_origins *o)
{
    o->self = UINT32_MAX;
    for (unsigned k = 0; k < s->cfg.hosts; k++) {
        if (crawl_site_host_origin(s, origin, k, o->v[k], sizeof o->v[k]) < 0)
            return -EINVAL;
        if (strcmp(o->v[k], origin) == 0)
            o->self = k;
    }
    return o->self == UINT32_MAX ? -EINVAL : 0;
}

/* origin must be exactly what the canonicaliser would produce. */
int site_check_origin(const char *origin)
{
    if (!origin)
        return -EINVAL;
    char *c;
    int rc = crawl_url_normalize(origin, &c);
    if (rc)
        return rc == -ENOMEM ? rc : -EINVAL;
    size_t n = strlen(origin);
    rc = strlen(c) == n + 1 && strncmp(c, origin, n) == 0 && c[n] == '/' ? 0 : -EINVAL;
    free(c);
    return rc;
}

/* ---- the expected crawl --------------------------------------------------- */

void crawl_site_expect_free(crawl_site_expect *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].url);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static int status_of(const crawl_site *s, size_t id)
{
    size_t to;
    int status;
    if (site_serves_html(s, id))
        return 200;
    if (site_redirect_of(s, id, &to, &status))
        return status;
    if (is_orphan(s, id) || is_sitemap(s, id))
        return 200;
    if (id < (size_t)NBLOCKS * s->cfg.pages && id / s->cfg.pages == B_MISSING)
        return 404;
    return 200; /* files and the stylesheet */
}

int crawl_site_expected(const crawl_site *s, const char *origin, crawl_site_expect *out)
{
    memset(out, 0, sizeof *out);
    int rc = site_check_origin(origin);
    if (rc)
        return rc;
    site_origins og;
    if (site_make_origins(s, origin, &og) < 0)
        return -EINVAL;
    size_t total = nids(s);
    int *depth = malloc(total * sizeof *depth);
    size_t *queue = malloc(total * sizeof *queue);
    site_link *ls = malloc(LINKS_CAP * sizeof *ls);
    if (!depth || !queue || !ls) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < total; i++)
        depth[i] = -1;
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    depth[0] = 0;
    /* robots.txt (depth 0) of every host names its sitemap index */
    for (size_t k = 0; k < nsitemaps(s); k += 3) {
        depth[sitemap0(s) + k] = 1;
        queue[tail++] = sitemap0(s) + k;
    }
    while (head < tail) {
        size_t id = queue[head++];
        if (site_offsite(s, id) || site_robots_denied(s, id))
            continue;
        size_t n = 0, to;
        int st;
        if (site_serves_html(s, id) || is_sitemap(s, id))
            n = site_links(s, id, ls);
        else if (site_redirect_of(s, id, &to, &st))
            ls[n++].id = to;
        for (size_t k = 0; k < n; k++) {
            if (depth[ls[k].id] < 0) {
                depth[ls[k].id] = depth[id] + 1;
                queue[tail++] = ls[k].id;
            }
        }
    }
    out->v = calloc(tail, sizeof *out->v);
    if (!out->v) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t q = 0; q < tail; q++) {
        size_t id = queue[q];
        char path[96];
        site_id_path(s, id, path, sizeof path);
        crawl_site_entry *e = &out->v[q];
        crawl_buf u = { 0 };
        rc = path[0] == '/' ? crawl_buf_printf(&u, "%s%s", og.v[site_home(s, id)], path) : crawl_buf_puts(&u, path);
        if (rc)
            goto out;
        e->url = crawl_buf_steal(&u);
        out->n = q + 1;
        e->depth = depth[id];
        if (site_offsite(s, id)) {
            e->flags = CRAWL_SITE_OFFSITE;
        } else if (site_robots_denied(s, id)) {
            e->flags = CRAWL_SITE_ROBOTS_DENIED;
        } else {
            e->flags = CRAWL_SITE_FETCHED | (site_serves_html(s, id) ? CRAWL_SITE_HTML : 0);
            e->status = status_of(s, id);
        }
    }
out:
    free(depth);
    free(queue);
    free(ls);
    if (rc)
        crawl_site_expect_free(out);
    return rc;
}
