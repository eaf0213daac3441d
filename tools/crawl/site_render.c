#define _GNU_SOURCE
/* The demo site's rendering: a request target routed to a resource of the
 * model (site_model.h), and that resource as bytes: HTML pages with their
 * links in many forms and their decoys, redirects, files, robots.txt and
 * sitemaps (one gzipped). */
#include "site_model.h"
#include "buf.h"
#include "encode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        site_id_path(s, fixed_id(s, f), buf, sizeof buf);
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
        site_id_path(s, sitemap0(s) + t, buf, sizeof buf);
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

static int render_html(const crawl_site *s, const site_origins *og, size_t id, crawl_buf *b)
{
    site_link *ls = malloc(LINKS_CAP * sizeof *ls);
    if (!ls)
        return -ENOMEM;
    size_t n = site_links(s, id, ls);
    char dir[32], path[96];
    bool has_base;
    base_dir(s, id, dir, sizeof dir, &has_base);
    site_id_path(s, id, path, sizeof path);

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
            site_id_path(s, l->id, tp, sizeof tp);
            bool css = l->id == fixed_id(s, F_CSS) && !l->area;
            if (css) {
                rc = crawl_buf_puts(b, "<li><link rel=\"stylesheet\" href=\"");
            } else {
                rc = crawl_buf_puts(b, l->area ? "<area shape=\"rect\" coords=\"0,0,9,9\" href=\""
                                               : "<li><a href=\"");
            }
            /* another host's resource needs its origin in the site_link */
            unsigned h = site_home(s, l->id);
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

/* The bytes of b as one gzip member, replacing them. */
static int gzip_buf(crawl_buf *b)
{
    char *z;
    size_t n;
    int rc = crawl_encode("gzip", b->data, b->len, &z, &n);
    if (rc)
        return rc;
    b->len = 0;
    rc = crawl_buf_append(b, z, n);
    free(z);
    return rc;
}

static int render_sitemap(const crawl_site *s, const site_origins *og, size_t id, crawl_site_response *r,
                          crawl_buf *b)
{
    site_link *ls = malloc(LINKS_CAP * sizeof *ls);
    if (!ls)
        return -ENOMEM;
    size_t n = site_links(s, id, ls);
    bool index = (id - sitemap0(s)) % 3 == 0;
    int rc = crawl_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<%s xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
                              index ? "sitemapindex" : "urlset");
    for (size_t k = 0; k < n && !rc; k++) {
        char tp[96];
        site_id_path(s, ls[k].id, tp, sizeof tp);
        rc = crawl_buf_printf(b, "  <%s><loc>%s%s</loc></%s>\n", index ? "sitemap" : "url",
                              og->v[site_home(s, ls[k].id)], tp, index ? "sitemap" : "url");
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

static int render(const crawl_site *s, const site_origins *og, long id, crawl_site_response *r,
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
    if (site_serves_html(s, uid)) {
        r->status = 200;
        r->content_type = "text/html; charset=utf-8";
        return render_html(s, og, uid, b);
    }
    if (is_sitemap(s, uid))
        return render_sitemap(s, og, uid, r, b);
    if (site_redirect_of(s, uid, &to, &status)) {
        site_id_path(s, to, path, sizeof path);
        crawl_buf loc = { 0 };
        int rc;
        if (status == 301)
            rc = crawl_buf_printf(&loc, "%s%s", og->v[site_home(s, to)], path);
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
            uint64_t x = site_rnd(s, j, k, 9);
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

int crawl_site_get(const crawl_site *s, const char *origin, const char *target,
                   crawl_site_response *out)
{
    return crawl_site_get_ex(s, origin, target, 1, out);
}

static int robots(const crawl_site *s, const site_origins *og, crawl_buf *b)
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
    int rc = site_check_origin(origin);
    if (rc)
        return rc;
    site_origins og;
    if (!target || target[0] != '/' || site_make_origins(s, origin, &og) < 0)
        return -EINVAL;
    crawl_buf b = { 0 };
    long id = strcmp(target, "/robots.txt") == 0 ? -2 : route(s, target);
    if (id >= 0 && is_sitemap(s, (size_t)id))
        id += 3 * (long)og.self;
    if (id >= 0 && site_home(s, (size_t)id) != og.self)
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
