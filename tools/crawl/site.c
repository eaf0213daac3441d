#define _GNU_SOURCE
#include "site.h"
#include "buf.h"
#include "url.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crawl_site {
    crawl_site_config cfg;
};

/* Resource ids: eight blocks of N (one slot per page index j), then fixed
 * singletons.  Integer ids let the breadth-first walk use flat arrays
 * instead of hashing strings, so a 10-million-page model stays cheap. */
enum block { B_PAGE, B_R301, B_R302, B_CHAIN, B_MISSING, B_TXT, B_PNG, B_OFF, NBLOCKS };
enum fixed { F_LOOP_A, F_LOOP_B, F_CSS, F_SECRET, F_PUBLIC, F_DEEPER, F_ONLYVIA, NFIXED };

#define NSECTIONS 8u
#define LINKS_CAP (CRAWL_SITE_MAX_LINKS + CRAWL_SITE_MAX_ORPHANS + 16)
#define OFFSITE "http://offsite.invalid"

/* After the fixed ids: orphans, then three sitemap documents per host. */
static size_t orphan0(const crawl_site *s) { return (size_t)NBLOCKS * s->cfg.pages + NFIXED; }
static size_t sitemap0(const crawl_site *s) { return orphan0(s) + s->cfg.orphans; }
static size_t nsitemaps(const crawl_site *s) { return s->cfg.orphans ? 3u * s->cfg.hosts : 0; }
static size_t nids(const crawl_site *s) { return sitemap0(s) + nsitemaps(s); }
static bool is_orphan(const crawl_site *s, size_t id) { return id >= orphan0(s) && id < sitemap0(s); }
static bool is_sitemap(const crawl_site *s, size_t id) { return id >= sitemap0(s) && id < nids(s); }

/* The host (0-based) a resource lives on. */
static unsigned home(const crawl_site *s, size_t id)
{
    unsigned K = s->cfg.hosts;
    if (K <= 1)
        return 0;
    if (id < (size_t)NBLOCKS * s->cfg.pages)
        return (unsigned)(id % s->cfg.pages % K);
    if (is_orphan(s, id))
        return (unsigned)((id - orphan0(s)) % K);
    if (is_sitemap(s, id))
        return (unsigned)((id - sitemap0(s)) / 3);
    return 0;
}
static size_t id_of(const crawl_site *s, enum block b, unsigned j) { return (size_t)b * s->cfg.pages + j; }
static size_t fixed_id(const crawl_site *s, enum fixed f) { return (size_t)NBLOCKS * s->cfg.pages + f; }

static uint64_t mix(uint64_t x)
{
    /* splitmix64 finaliser: a good 64-bit avalanche, no state */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Random numbers as a pure function of (seed, page, slot, purpose): any
 * page can be produced alone, in any order, by any server thread. */
static uint64_t rnd(const crawl_site *s, uint64_t page, uint64_t slot, uint64_t purpose)
{
    return mix(s->cfg.seed ^ mix(page * 0x100000001b3ull ^ mix(slot * 31 + purpose)));
}

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
static void id_path(const crawl_site *s, size_t id, char *buf, size_t n)
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

static bool is_html(const crawl_site *s, size_t id)
{
    return id < s->cfg.pages || id == fixed_id(s, F_SECRET) || id == fixed_id(s, F_PUBLIC) ||
           id == fixed_id(s, F_DEEPER) || id == fixed_id(s, F_ONLYVIA) || is_orphan(s, id);
}

static bool robots_denied(const crawl_site *s, size_t id)
{
    return id == fixed_id(s, F_SECRET) || id == fixed_id(s, F_DEEPER);
}

static bool offsite(const crawl_site *s, size_t id)
{
    return id / s->cfg.pages == B_OFF && id < (size_t)NBLOCKS * s->cfg.pages;
}

/* ---- links of an HTML resource ------------------------------------------ */

enum form {
    FORM_ABSPATH, FORM_RELATIVE, FORM_ABSURL, FORM_PROTOREL, FORM_FRAGMENT, FORM_ENTITY,
    FORM_SPACES, FORM_UPPER, FORM_PCT, FORM_DOTS, NFORMS
};

typedef struct site_link {
    size_t id;
    enum form form;
    bool area;
} site_link;

/* The page-index argument of a random pick. */
static unsigned pick(const crawl_site *s, uint64_t r) { return (unsigned)(r % s->cfg.pages); }

/* Links of HTML resource id, in body order; returns the count.
 * out must hold LINKS_CAP entries. */
static size_t html_links(const crawl_site *s, size_t id, site_link *out)
{
    size_t n = 0;
    unsigned N = s->cfg.pages, L = s->cfg.links_per_page;
    if (is_sitemap(s, id)) {
        /* the index lists its host's two sitemaps; they list the orphans
         * of their host, alternately */
        size_t first = sitemap0(s) + 3 * home(s, id), t = id - first;
        if (t == 0) {
            out[n++] = (site_link){ first + 1, FORM_ABSURL, false };
            out[n++] = (site_link){ first + 2, FORM_ABSURL, false };
        } else {
            for (unsigned o = home(s, id), i = 0; o < s->cfg.orphans; o += s->cfg.hosts, i++)
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
        uint64_t r = rnd(s, i, slot, 1);
        site_link l = { 0, (enum form)(rnd(s, i, slot, 2) % NFORMS), rnd(s, i, slot, 3) % 10 == 0 };
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
            if (!offsite(s, extra[e]) || s->cfg.hosts == 1)
                out[n++] = (site_link){ extra[e], e % 2 ? FORM_RELATIVE : FORM_ABSPATH, false };
    }
    return n;
}

/* Where a redirect points: its target id and the Location text form. */
static bool redirect_of(const crawl_site *s, size_t id, size_t *to, int *status)
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

/* ---- routing -------------------------------------------------------------- */

/* Strict decimal below limit, no leading zeros; the whole of [p, end). */
static bool parse_uint(const char *p, const char *end, unsigned limit, unsigned *out)
{
    if (p == end || (*p == '0' && end - p > 1))
        return false;
    unsigned long v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v >= limit)
            return false;
    }
    *out = (unsigned)v;
    return true;
}

static bool is_unreserved(unsigned char c)
{
    return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Resource id for a path, or -1 for "not found". */
static long route(const crawl_site *s, const char *target)
{
    char path[256];
    size_t n = 0;
    for (const char *p = target; *p && *p != '?' && *p != '#'; p++) {
        char c = *p;
        if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0 &&
            is_unreserved((unsigned char)(hexval(p[1]) * 16 + hexval(p[2])))) {
            c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        }
        if (n + 1 >= sizeof path)
            return -1;
        path[n++] = c;
    }
    path[n] = '\0';
    unsigned N = s->cfg.pages, j;
    const char *end = path + n;

    if (strcmp(path, "/") == 0)
        return 0;
    for (enum fixed f = 0; f < NFIXED; f++) {
        char buf[64];
        id_path(s, fixed_id(s, f), buf, sizeof buf);
        if (strcmp(path, buf) == 0)
            return (long)fixed_id(s, f);
    }
    unsigned sec;
    if (path[1] == 's' && path[2] >= '0' && path[2] <= '9' && strncmp(path + 3, "/page-", 6) == 0 &&
        n > 14 && strcmp(end - 5, ".html") == 0 &&
        parse_uint(path + 9, end - 5, N, &j) && j > 0 && parse_uint(path + 2, path + 3, NSECTIONS, &sec) &&
        sec == j % NSECTIONS)
        return (long)j;
    static const struct { const char *prefix; enum block b; } dirs[] = {
        { "/redirect/301/", B_R301 }, { "/redirect/302/", B_R302 },
        { "/redirect/chain/", B_CHAIN }, { "/missing/", B_MISSING },
    };
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        size_t pl = strlen(dirs[d].prefix);
        if (strncmp(path, dirs[d].prefix, pl) == 0 && parse_uint(path + pl, end, N, &j))
            return (long)id_of(s, dirs[d].b, j);
    }
    if (strncmp(path, "/orphan/", 8) == 0 && n > 13 && strcmp(end - 5, ".html") == 0 &&
        parse_uint(path + 8, end - 5, s->cfg.orphans, &j))
        return (long)(orphan0(s) + j);
    for (size_t t = 0; t < nsitemaps(s) && t < 3; t++) {
        char buf[64];
        id_path(s, sitemap0(s) + t, buf, sizeof buf);
        if (strcmp(path, buf) == 0)
            return (long)(sitemap0(s) + t); /* the first host's: the caller moves it */
    }
    if (strncmp(path, "/files/", 7) == 0 && n > 11) {
        if (strcmp(end - 4, ".txt") == 0 && parse_uint(path + 7, end - 4, N, &j))
            return (long)id_of(s, B_TXT, j);
        if (strcmp(end - 4, ".png") == 0 && parse_uint(path + 7, end - 4, N, &j))
            return (long)id_of(s, B_PNG, j);
    }
    return -1;
}

/* ---- hosts ---------------------------------------------------------------- */

typedef struct origins {
    char v[CRAWL_SITE_MAX_HOSTS][80];
    unsigned self; /* the host whose origin was given */
} origins;

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
static int make_origins(const crawl_site *s, const char *origin, origins *o)
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

/* ---- rendering ------------------------------------------------------------ */

/* The directory relative references are written against. */
static void base_dir(const crawl_site *s, size_t id, char *buf, size_t n, bool *has_base)
{
    *has_base = false;
    if (id == 0 || id == fixed_id(s, F_ONLYVIA)) {
        snprintf(buf, n, "/");
    } else if (id < s->cfg.pages) {
        if (id % 5 == 3) {
            *has_base = true;
            snprintf(buf, n, "/s%u/", (unsigned)((id + 1) % NSECTIONS));
        } else {
            snprintf(buf, n, "/s%u/", (unsigned)(id % NSECTIONS));
        }
    } else {
        snprintf(buf, n, "/private/");
    }
}

/* A reference to path written from directory dir (one level deep or "/"). */
static int put_relative(crawl_buf *b, const char *dir, const char *path)
{
    size_t dl = strlen(dir);
    if (dl == 1)
        return crawl_buf_puts(b, path[1] ? path + 1 : "./");
    if (strncmp(path, dir, dl) == 0)
        return crawl_buf_puts(b, path[dl] ? path + dl : "./");
    int rc = crawl_buf_puts(b, "../");
    return rc ? rc : crawl_buf_puts(b, path + 1);
}

static int put_href(crawl_buf *b, const char *origin, const char *dir, const char *path,
                    enum form form, unsigned salt)
{
    int rc = 0;
    if (path[0] != '/') /* offsite: always absolute */
        return crawl_buf_puts(b, path);
    switch (form) {
    case FORM_ABSPATH:
        return crawl_buf_puts(b, path);
    case FORM_RELATIVE:
        return put_relative(b, dir, path);
    case FORM_ABSURL:
        rc = crawl_buf_puts(b, origin);
        return rc ? rc : crawl_buf_puts(b, path);
    case FORM_PROTOREL:
        rc = crawl_buf_puts(b, strchr(origin, ':') + 1);
        return rc ? rc : crawl_buf_puts(b, path);
    case FORM_FRAGMENT:
        return crawl_buf_printf(b, "%s#section-%u", path, salt % 7);
    case FORM_ENTITY:
        for (const char *p = path; *p && !rc; p++)
            rc = *p == '/' ? crawl_buf_puts(b, salt % 2 ? "&#47;" : "&#x2F;") : crawl_buf_putc(b, *p);
        return rc;
    case FORM_SPACES:
        return crawl_buf_printf(b, "\n   %s  \t", path);
    case FORM_UPPER:
        for (const char *p = origin; *p != ':' && !rc; p++)
            rc = crawl_buf_putc(b, (char)(*p - 'a' + 'A'));
        rc = rc ? rc : crawl_buf_puts(b, strchr(origin, ':'));
        return rc ? rc : crawl_buf_puts(b, path);
    case FORM_PCT:
        for (const char *p = path; *p && !rc; p++)
            rc = *p == '-' || *p == '.' ? crawl_buf_printf(b, "%%%02X", (unsigned char)*p)
                                        : crawl_buf_putc(b, *p);
        return rc;
    case FORM_DOTS:
        return crawl_buf_printf(b, "/not-here/./../%s", path + 1);
    default:
        return crawl_buf_puts(b, path);
    }
}

static const char FILLER[] =
    "<p>The tulip runtime crawls this generated site. Tulips \xf0\x9f\x8c\xb7 open in spring; "
    "asynchronous crawlers open many sockets at once &amp; wait for all of them.</p>\n";

static int render_html(const crawl_site *s, const origins *og, size_t id, crawl_buf *b)
{
    site_link *ls = malloc(LINKS_CAP * sizeof *ls);
    if (!ls)
        return -ENOMEM;
    size_t n = html_links(s, id, ls);
    char dir[32], path[96];
    bool has_base;
    base_dir(s, id, dir, sizeof dir, &has_base);
    id_path(s, id, path, sizeof path);

    int rc = crawl_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                                 "<title>tulip demo: %s</title>\n", path);
    if (!rc && has_base)
        rc = crawl_buf_printf(b, "<base href=\"%s\">\n", dir);
    if (!rc)
        rc = crawl_buf_puts(b, "<script>var tpl = '<a href=\"/trap/script\">x</a>';</script>\n"
                               "<style>a[href=\"/trap/style\"] { color: red }</style>\n"
                               "</head>\n<body>\n");
    if (!rc)
        rc = crawl_buf_printf(b, "<h1>%s</h1>\n<!-- <a href=\"/trap/comment\">old link</a> -->\n<ul>\n",
                              path);
    bool any_area = false;
    for (size_t k = 0; k < n; k++)
        any_area |= ls[k].area;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        if (pass == 1 && any_area)
            rc = crawl_buf_puts(b, "</ul>\n<img src=\"/trap/img.png\" usemap=\"#nav\" alt=\"\">"
                                   "<map name=\"nav\">\n");
        for (size_t k = 0; k < n && !rc; k++) {
            const site_link *l = &ls[k];
            if (l->area != (pass == 1))
                continue;
            char tp[96];
            id_path(s, l->id, tp, sizeof tp);
            bool css = l->id == fixed_id(s, F_CSS) && !l->area;
            if (css) {
                rc = crawl_buf_puts(b, "<li><link rel=\"stylesheet\" href=\"");
            } else {
                rc = crawl_buf_puts(b, l->area ? "<area shape=\"rect\" coords=\"0,0,9,9\" href=\""
                                               : "<li><a href=\"");
            }
            /* another host's resource needs its origin in the site_link */
            unsigned h = home(s, l->id);
            enum form form = l->form;
            if (h != og->self && form != FORM_ABSURL && form != FORM_PROTOREL && form != FORM_UPPER)
                form = FORM_ABSURL;
            if (!rc)
                rc = put_href(b, og->v[h], dir, tp, form, (unsigned)(id + k));
            if (!rc)
                rc = l->area ? crawl_buf_puts(b, "\" alt=\"\">\n")
                     : css   ? crawl_buf_puts(b, "\"></li>\n")
                             : crawl_buf_printf(b, "\">link %zu</a></li>\n", k);
        }
    }
    if (!rc)
        rc = crawl_buf_puts(b, any_area ? "</map>\n" : "</ul>\n");
    if (!rc)
        rc = crawl_buf_puts(b, "<p><a href=\"mailto:webmaster@offsite.invalid\">mail</a> "
                               "<a href=\"javascript:void(0)\">script</a> <a name=\"top\">anchor</a></p>\n"
                               "<template><a href=\"/trap/template\">x</a></template>\n");
    static const char END[] = "</body></html>\n";
    while (!rc && b->len + sizeof END - 1 < s->cfg.page_bytes)
        rc = crawl_buf_puts(b, FILLER);
    if (!rc)
        rc = crawl_buf_puts(b, END);
    free(ls);
    return rc;
}

#ifdef TULIP_HAVE_ZLIB
#include <zlib.h>

/* The bytes of b as one gzip member, replacing them. */
static int gzip_buf(crawl_buf *b)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    uLong cap = deflateBound(&z, (uLong)b->len);
    char *out = malloc(cap + 1);
    if (!out) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)b->data;
    z.avail_in = (uInt)b->len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(out);
        return -ENOMEM;
    }
    b->len = 0;
    int rc = crawl_buf_append(b, out, n);
    free(out);
    return rc;
}
#else
static int gzip_buf(crawl_buf *b)
{
    (void)b;
    return -ENOTSUP;
}
#endif

static int render_sitemap(const crawl_site *s, const origins *og, size_t id, crawl_site_response *r,
                          crawl_buf *b)
{
    site_link *ls = malloc(LINKS_CAP * sizeof *ls);
    if (!ls)
        return -ENOMEM;
    size_t n = html_links(s, id, ls);
    bool index = (id - sitemap0(s)) % 3 == 0;
    int rc = crawl_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<%s xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
                              index ? "sitemapindex" : "urlset");
    for (size_t k = 0; k < n && !rc; k++) {
        char tp[96];
        id_path(s, ls[k].id, tp, sizeof tp);
        rc = crawl_buf_printf(b, "  <%s><loc>%s%s</loc></%s>\n", index ? "sitemap" : "url",
                              og->v[home(s, ls[k].id)], tp, index ? "sitemap" : "url");
    }
    if (!rc)
        rc = crawl_buf_printf(b, "</%s>\n", index ? "sitemapindex" : "urlset");
    free(ls);
    r->status = 200;
    r->content_type = "application/xml";
    if (!rc && (id - sitemap0(s)) % 3 == 2) {
        r->content_type = "application/gzip";
        rc = gzip_buf(b);
    }
    return rc;
}

static int render(const crawl_site *s, const origins *og, long id, crawl_site_response *r,
                  crawl_buf *b)
{
    char path[96];
    size_t to;
    int status;
    if (id < 0) {
        r->status = 404;
        r->content_type = "text/html; charset=utf-8";
        return crawl_buf_puts(b, "<!DOCTYPE html><title>404</title><h1>Not found</h1>\n");
    }
    size_t uid = (size_t)id;
    if (is_html(s, uid)) {
        r->status = 200;
        r->content_type = "text/html; charset=utf-8";
        return render_html(s, og, uid, b);
    }
    if (is_sitemap(s, uid))
        return render_sitemap(s, og, uid, r, b);
    if (redirect_of(s, uid, &to, &status)) {
        id_path(s, to, path, sizeof path);
        crawl_buf loc = { 0 };
        int rc;
        if (status == 301)
            rc = crawl_buf_printf(&loc, "%s%s", og->v[home(s, to)], path);
        else if (uid / s->cfg.pages == B_R302 && uid < (size_t)NBLOCKS * s->cfg.pages)
            rc = crawl_buf_printf(&loc, "../../%s", path + 1);
        else if (uid == fixed_id(s, F_LOOP_A))
            rc = crawl_buf_puts(&loc, "b");
        else
            rc = crawl_buf_puts(&loc, path);
        if (!rc)
            rc = crawl_buf_printf(b, "<!DOCTYPE html><title>Moved</title>"
                                     "<a href=\"%s\">moved here</a>\n", path);
        if (rc) {
            crawl_buf_free(&loc);
            return rc;
        }
        r->status = status;
        r->content_type = "text/html; charset=utf-8";
        r->location = crawl_buf_steal(&loc);
        return r->location ? 0 : -ENOMEM;
    }
    unsigned j = (unsigned)(uid % s->cfg.pages);
    switch (uid < (size_t)NBLOCKS * s->cfg.pages ? (int)(uid / s->cfg.pages) : -1) {
    case B_MISSING:
        r->status = 404;
        r->content_type = "text/html; charset=utf-8";
        return crawl_buf_printf(b, "<!DOCTYPE html><title>404</title><h1>No page %u</h1>\n", j);
    case B_TXT:
        r->status = 200;
        r->content_type = "text/plain; charset=utf-8";
        return crawl_buf_printf(b, "File %u of the tulip demo site.\n"
                                   "Plain text is not parsed: <a href=\"/trap/txt\">not a link</a>\n", j);
    case B_PNG: {
        r->status = 200;
        r->content_type = "image/png";
        int rc = crawl_buf_append(b, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
        for (unsigned k = 0; k < 64 && !rc; k++) {
            uint64_t x = rnd(s, j, k, 9);
            rc = crawl_buf_append(b, &x, sizeof x);
        }
        return rc ? rc : crawl_buf_puts(b, "<a href=\"/trap/png\">");
    }
    default:
        break;
    }
    if (uid == fixed_id(s, F_CSS)) {
        r->status = 200;
        r->content_type = "text/css";
        return crawl_buf_puts(b, "body { font-family: sans-serif }\n"
                                 "/* <a href=\"/trap/css\"> */ h1 { background: url(/trap/bg.png) }\n");
    }
    r->status = 404;
    r->content_type = "text/html; charset=utf-8";
    return crawl_buf_puts(b, "<h1>Not found</h1>\n");
}

static const char ROBOTS[] =
    "# robots.txt of the tulip-crawl demo site\n"
    "User-agent: *\n"
    "Disallow: /private/\n"
    "Allow: /private/public.html\n"
    "\n"
    "User-agent: evilbot\n"
    "Disallow: /\n";

/* origin must be exactly what the canonicaliser would produce. */
static int check_origin(const char *origin)
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

int crawl_site_get(const crawl_site *s, const char *origin, const char *target,
                   crawl_site_response *out)
{
    return crawl_site_get_ex(s, origin, target, 1, out);
}

static int robots(const crawl_site *s, const origins *og, crawl_buf *b)
{
    int rc = crawl_buf_puts(b, ROBOTS);
    unsigned k = og->self, ms = s->cfg.crawl_delay_ms;
    if (!rc && ms && (s->cfg.crawl_delay_hosts == 0 || k < s->cfg.crawl_delay_hosts))
        rc = crawl_buf_printf(b, "\nUser-agent: *\nCrawl-delay: %u.%03u\n", ms / 1000, ms % 1000);
    if (!rc && s->cfg.orphans)
        rc = crawl_buf_printf(b, "\nSitemap: %s/sitemap.xml\n", og->v[k]);
    return rc;
}

int crawl_site_get_ex(const crawl_site *s, const char *origin, const char *target, unsigned attempt,
                      crawl_site_response *out)
{
    memset(out, 0, sizeof *out);
    int rc = check_origin(origin);
    if (rc)
        return rc;
    origins og;
    if (!target || target[0] != '/' || make_origins(s, origin, &og) < 0)
        return -EINVAL;
    crawl_buf b = { 0 };
    long id = strcmp(target, "/robots.txt") == 0 ? -2 : route(s, target);
    if (id >= 0 && is_sitemap(s, (size_t)id))
        id += 3 * (long)og.self;
    if (id >= 0 && home(s, (size_t)id) != og.self)
        id = -1; /* another host's resource */
    unsigned e = s->cfg.every_429;
    if (id == -2) {
        out->status = 200;
        out->content_type = "text/plain";
        rc = robots(s, &og, &b);
    } else if (e && attempt == 0 && id > 0 && (size_t)id < s->cfg.pages && id % e == e - 1) {
        out->status = 429;
        out->content_type = "text/plain";
        snprintf(out->retry_after, sizeof out->retry_after, "%u", s->cfg.retry_after_s);
        rc = crawl_buf_puts(&b, "slow down\n");
    } else {
        rc = render(s, &og, id, out, &b);
    }
    if (!rc) {
        out->body_len = b.len;
        out->body = crawl_buf_steal(&b);
        if (!out->body)
            rc = -ENOMEM;
    }
    if (rc) {
        crawl_buf_free(&b);
        crawl_site_response_free(out);
        return rc;
    }
    return 0;
}

void crawl_site_response_free(crawl_site_response *r)
{
    free(r->location);
    free(r->body);
    memset(r, 0, sizeof *r);
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
    if (is_html(s, id))
        return 200;
    if (redirect_of(s, id, &to, &status))
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
    int rc = check_origin(origin);
    if (rc)
        return rc;
    origins og;
    if (make_origins(s, origin, &og) < 0)
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
        if (offsite(s, id) || robots_denied(s, id))
            continue;
        size_t n = 0, to;
        int st;
        if (is_html(s, id) || is_sitemap(s, id))
            n = html_links(s, id, ls);
        else if (redirect_of(s, id, &to, &st))
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
        id_path(s, id, path, sizeof path);
        crawl_site_entry *e = &out->v[q];
        crawl_buf u = { 0 };
        rc = path[0] == '/' ? crawl_buf_printf(&u, "%s%s", og.v[home(s, id)], path) : crawl_buf_puts(&u, path);
        if (rc)
            goto out;
        e->url = crawl_buf_steal(&u);
        out->n = q + 1;
        e->depth = depth[id];
        if (offsite(s, id)) {
            e->flags = CRAWL_SITE_OFFSITE;
        } else if (robots_denied(s, id)) {
            e->flags = CRAWL_SITE_ROBOTS_DENIED;
        } else {
            e->flags = CRAWL_SITE_FETCHED | (is_html(s, id) ? CRAWL_SITE_HTML : 0);
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
