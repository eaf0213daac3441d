#define _GNU_SOURCE
#include "links.h"
#include "arena.h"
#include "buf.h"
#include "url.h"

#include <errno.h>
#include <gumbo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Open-addressed set of indexes into out->urls, for in-page dedup without
 * quadratic cost on link-farm pages. */
typedef struct seen {
    size_t *slot; /* index + 1; 0 = empty */
    size_t cap;
} seen;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int seen_grow(seen *st, char **urls, size_t n)
{
    size_t cap = st->cap ? st->cap * 2 : 64;
    size_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)hash_str(urls[i]) & (cap - 1);
        while (slot[k])
            k = (k + 1) & (cap - 1);
        slot[k] = i + 1;
    }
    free(st->slot);
    st->slot = slot;
    st->cap = cap;
    return 0;
}

/* Takes ownership of url.  Returns 0 whether or not it was a duplicate. */
static int add_url(crawl_links *out, seen *st, size_t *cap, char *url)
{
    if ((out->n + 1) * 2 > st->cap) {
        int rc = seen_grow(st, out->urls, out->n);
        if (rc) {
            free(url);
            return rc;
        }
    }
    size_t k = (size_t)hash_str(url) & (st->cap - 1);
    for (; st->slot[k]; k = (k + 1) & (st->cap - 1)) {
        if (strcmp(out->urls[st->slot[k] - 1], url) == 0) {
            free(url);
            return 0;
        }
    }
    char **v = crawl_grow(out->urls, cap, out->n, sizeof *v, 16);
    if (!v) {
        free(url);
        return -ENOMEM;
    }
    out->urls = v;
    out->urls[out->n] = url;
    st->slot[k] = ++out->n;
    return 0;
}

/* Whitespace-separated token match, ASCII case-insensitive, as HTML
 * compares rel and meta content keywords. */
static bool has_token(const char *list, const char *tok, const char *seps)
{
    size_t tl = strlen(tok);
    const char *p = list;
    while (*p) {
        p += strspn(p, seps);
        size_t n = strcspn(p, seps);
        if (n == tl && strncasecmp(p, tok, tl) == 0)
            return true;
        p += n;
    }
    return false;
}

static const char *attr(const GumboElement *el, const char *name)
{
    const GumboAttribute *a = gumbo_get_attribute(&el->attributes, name);
    return a ? a->value : NULL;
}

/* Growable array of pending hrefs; pointers into the gumbo tree. */
typedef struct hrefs {
    const char **v;
    size_t n, cap;
} hrefs;

static int push_href(hrefs *h, const char *s)
{
    const char **v = crawl_grow(h->v, &h->cap, h->n, sizeof *v, 32);
    if (!v)
        return -ENOMEM;
    h->v = v;
    h->v[h->n++] = s;
    return 0;
}

static const char WS[] = " \t\n\f\r";

/* Walk the tree in document order with an explicit stack: hostile pages
 * nest thousands of levels deep and coroutine stacks are small. */
static int collect(GumboNode *root, hrefs *h, const char **base, int *nofollow)
{
    size_t cap = 64, n = 0;
    GumboNode **stack = malloc(cap * sizeof *stack);
    if (!stack)
        return -ENOMEM;
    stack[n++] = root;
    int rc = 0;
    while (n && rc == 0) {
        GumboNode *node = stack[--n];
        const GumboVector *kids;
        if (node->type == GUMBO_NODE_DOCUMENT) {
            kids = &node->v.document.children;
        } else if (node->type == GUMBO_NODE_ELEMENT) {
            const GumboElement *el = &node->v.element;
            kids = &el->children;
            if (el->tag_namespace == GUMBO_NAMESPACE_HTML) {
                const char *href = attr(el, "href");
                switch (el->tag) {
                case GUMBO_TAG_A:
                case GUMBO_TAG_AREA:
                    if (href)
                        rc = push_href(h, href);
                    break;
                case GUMBO_TAG_LINK: {
                    const char *rel = attr(el, "rel");
                    if (href && !(rel && (has_token(rel, "preconnect", WS) ||
                                          has_token(rel, "dns-prefetch", WS))))
                        rc = push_href(h, href);
                    break;
                }
                case GUMBO_TAG_BASE:
                    if (href && !*base)
                        *base = href;
                    break;
                case GUMBO_TAG_META: {
                    const char *name = attr(el, "name");
                    const char *content = attr(el, "content");
                    if (name && content && strcasecmp(name, "robots") == 0 &&
                        (has_token(content, "nofollow", ", \t\n\f\r") ||
                         has_token(content, "none", ", \t\n\f\r")))
                        *nofollow = 1;
                    break;
                }
                default:
                    break;
                }
            }
        } else {
            continue; /* text, comments, whitespace, and inert <template> */
        }
        if (n + kids->length > cap) {
            size_t nc = cap;
            while (nc < n + kids->length)
                nc *= 2;
            GumboNode **s = realloc(stack, nc * sizeof *s);
            if (!s) {
                rc = -ENOMEM;
                break;
            }
            stack = s;
            cap = nc;
        }
        for (size_t i = kids->length; i-- > 0;)
            stack[n++] = kids->data[i];
    }
    free(stack);
    return rc;
}

/* gumbo's blocks come from an arena (arena.h): a bump pointer instead of
 * malloc for each of a few hundred blocks per page, freed blocks recycled
 * by size class, and one flat release instead of gumbo_destroy_output(),
 * which recurses once per nesting level (a hostile page of a million
 * nested <div>s would overflow any stack with it; the parser itself keeps
 * its open elements on a heap vector). */
static void *arena_alloc(void *ud, size_t size)
{
    void *p = crawl_arena_alloc(ud, size);
    if (!p)
        abort(); /* gumbo does not check its allocations */
    return p;
}

static void arena_free(void *ud, void *p)
{
    crawl_arena_free(ud, p);
}

static int add_rejected(crawl_links *out, const char *href, int err)
{
    if (out->nrejected == CRAWL_LINKS_MAX_REJECTED)
        return 0;
    if (!out->rejected) {
        out->rejected = calloc(CRAWL_LINKS_MAX_REJECTED, sizeof *out->rejected);
        out->rejected_err = calloc(CRAWL_LINKS_MAX_REJECTED, sizeof *out->rejected_err);
        if (!out->rejected || !out->rejected_err)
            return -ENOMEM;
    }
    for (size_t i = 0; i < out->nrejected; i++)
        if (strcmp(out->rejected[i], href) == 0)
            return 0;
    char *copy = strdup(href);
    if (!copy)
        return -ENOMEM;
    out->rejected[out->nrejected] = copy;
    out->rejected_err[out->nrejected++] = err;
    return 0;
}

size_t crawl_links_cut(const char *html, size_t len, size_t max_tags, size_t *tags)
{
    size_t n = 0;
    const char *p = html, *end = html + len;
    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL && ++p < end) {
        unsigned char c = (unsigned char)*p | 0x20;
        if (c < 'a' || c > 'z')
            continue;
        if (n == max_tags) {
            len = (size_t)(p - 1 - html);
            break;
        }
        n++;
    }
    if (tags)
        *tags = n;
    return len;
}

void crawl_links_free(crawl_links *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->urls[i]);
    free(l->urls);
    for (size_t i = 0; i < l->nrejected; i++)
        free(l->rejected[i]);
    free(l->rejected);
    free(l->rejected_err);
    memset(l, 0, sizeof *l);
}

int crawl_links_extract(const char *html, size_t len, const char *page_url, crawl_links *out)
{
    memset(out, 0, sizeof *out);
    if (len > CRAWL_LINKS_MAX_INPUT)
        return -EFBIG;
    char *page;
    int rc = crawl_url_normalize(page_url, &page);
    if (rc)
        return rc == -ENOMEM ? rc : -EINVAL;

    crawl_arena heap = CRAWL_ARENA_INIT;
    GumboOptions opt = kGumboDefaultOptions;
    opt.max_errors = 0; /* error records on junk input only cost memory */
    opt.allocator = arena_alloc;
    opt.deallocator = arena_free;
    opt.userdata = &heap;
    GumboOutput *doc = gumbo_parse_with_options(&opt, len ? html : "", len);
    if (!doc) {
        crawl_arena_release(&heap);
        free(page);
        return -ENOMEM;
    }

    hrefs h = { 0 };
    const char *base_href = NULL;
    rc = collect(doc->document, &h, &base_href, &out->nofollow);

    /* An unusable <base href> is ignored, as browsers fall back to the
     * document URL. */
    char *base = NULL;
    if (rc == 0 && base_href) {
        int brc = crawl_url_resolve(page, base_href, &base);
        if (brc == -ENOMEM)
            rc = brc;
    }
    crawl_url_base *resolver = NULL;
    if (rc == 0)
        rc = crawl_url_base_from_canonical(base ? base : page, &resolver);
    seen st = { 0 };
    size_t cap = 0;
    for (size_t i = 0; i < h.n && rc == 0; i++) {
        char *u;
        int urc = crawl_url_base_resolve(resolver, h.v[i], &u);
        if (urc == 0)
            rc = add_url(out, &st, &cap, u);
        else if (urc == -ENOMEM)
            rc = urc;
        else {
            out->skipped++;
            rc = add_rejected(out, h.v[i], urc);
        }
    }

    crawl_url_base_free(resolver);
    free(st.slot);
    free(h.v);
    free(base);
    free(page);
    crawl_arena_release(&heap); /* instead of gumbo_destroy_output: see arena_alloc */
    if (rc) {
        crawl_links_free(out);
        return rc;
    }
    return 0;
}

bool crawl_is_html(const char *ctype)
{
    if (!ctype)
        return false;
    size_t n = strcspn(ctype, "; \t");
    return (n == 9 && strncasecmp(ctype, "text/html", 9) == 0) ||
           (n == 21 && strncasecmp(ctype, "application/xhtml+xml", 21) == 0);
}
