#include "sitemap.h"

#include <errno.h>
#include <stdint.h>
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#ifdef TULIP_HAVE_ZLIB
#include <zlib.h>
#endif

typedef struct state {
    XML_Parser p;
    crawl_sitemap *out;
    int depth;        /* element depth: 1 root, 2 entry, 3 loc */
    bool root_ok;
    bool in_loc;
    char loc[CRAWL_SITEMAP_MAX_LOC + 1];
    size_t loc_len;
    bool loc_long;
    int err;
} state;

/* The local name of a possibly prefixed element name. */
static const char *local(const XML_Char *name)
{
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

static void fail(state *st, int err)
{
    if (!st->err)
        st->err = err;
    XML_StopParser(st->p, XML_FALSE);
}

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
    state *st = arg;
    (void)attrs;
    const char *n = local(name);
    st->depth++;
    if (st->depth == 1) {
        st->root_ok = strcmp(n, "urlset") == 0 || strcmp(n, "sitemapindex") == 0;
        st->out->index = strcmp(n, "sitemapindex") == 0;
        if (!st->root_ok)
            fail(st, -EBADMSG);
    } else if (st->depth == 3 && strcmp(n, "loc") == 0) {
        st->in_loc = true;
        st->loc_len = 0;
        st->loc_long = false;
    }
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
    state *st = arg;
    if (!st->in_loc)
        return;
    if (st->loc_len + (size_t)len > CRAWL_SITEMAP_MAX_LOC) {
        st->loc_long = true;
        return;
    }
    memcpy(st->loc + st->loc_len, s, (size_t)len);
    st->loc_len += (size_t)len;
}

static int add_loc(state *st)
{
    crawl_sitemap *o = st->out;
    char *s = st->loc, *e = st->loc + st->loc_len;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    if (st->loc_long || s == e || o->n >= CRAWL_SITEMAP_MAX_URLS) {
        o->ignored++;
        return 0;
    }
    if ((o->n & (o->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow by doubling */
        char **v = realloc(o->locs, (o->n ? 2 * o->n : 1) * sizeof *v);
        if (!v)
            return -ENOMEM;
        o->locs = v;
    }
    char *copy = malloc((size_t)(e - s) + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, s, (size_t)(e - s));
    copy[e - s] = '\0';
    o->locs[o->n++] = copy;
    return 0;
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
    state *st = arg;
    (void)name;
    if (st->depth == 3 && st->in_loc) {
        st->in_loc = false;
        int rc = add_loc(st);
        if (rc)
            fail(st, rc);
    }
    st->depth--;
}

/* No DTDs: they are where entity bombs live, and a sitemap needs none. */
static void XMLCALL on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    fail(arg, -EBADMSG);
}

static void XMLCALL on_entity(void *arg, const XML_Char *name, int is_param, const XML_Char *value, int len,
                              const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                              const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)len, (void)base, (void)sysid, (void)pubid, (void)notation;
    fail(arg, -EBADMSG);
}

/* An undeclared entity reference: refuse rather than skip. */
static void XMLCALL on_skipped(void *arg, const XML_Char *name, int is_param)
{
    (void)name, (void)is_param;
    fail(arg, -EBADMSG);
}

static int feed(state *st, const char *buf, size_t n, bool last)
{
    if (XML_Parse(st->p, buf, (int)n, last) == XML_STATUS_ERROR)
        return st->err ? st->err : -EBADMSG;
    return st->err;
}

#ifdef TULIP_HAVE_ZLIB
/* Inflate in pieces straight into the parser: memory stays one 64 KiB
 * buffer whatever the ratio, and the byte count stops a bomb. */
static int feed_gzip(state *st, const char *body, size_t len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return -ENOMEM;
    static const size_t CHUNK = 65536;
    char *buf = malloc(CHUNK);
    if (!buf) {
        inflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)body;
    z.avail_in = (uInt)len;
    size_t total = 0;
    int rc = 0, zr = Z_OK;
    while (rc == 0 && zr != Z_STREAM_END) {
        z.next_out = (Bytef *)buf;
        z.avail_out = (uInt)CHUNK;
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END) {
            rc = -EBADMSG;
            break;
        }
        size_t got = CHUNK - z.avail_out;
        total += got;
        if (total > CRAWL_SITEMAP_MAX_BYTES)
            rc = -EFBIG;
        else if (got || zr == Z_STREAM_END)
            rc = feed(st, buf, got, zr == Z_STREAM_END);
        if (rc == 0 && zr == Z_OK && got == 0 && z.avail_in == 0)
            rc = -EBADMSG; /* truncated */
    }
    free(buf);
    inflateEnd(&z);
    return rc;
}
#endif

int crawl_sitemap_parse(const char *body, size_t len, crawl_sitemap *out)
{
    memset(out, 0, sizeof *out);
    state st = { .out = out };
    st.p = XML_ParserCreate(NULL);
    if (!st.p)
        return -ENOMEM;
    XML_SetUserData(st.p, &st);
    XML_SetElementHandler(st.p, on_start, on_end);
    XML_SetCharacterDataHandler(st.p, on_text);
    XML_SetStartDoctypeDeclHandler(st.p, on_doctype);
    XML_SetEntityDeclHandler(st.p, on_entity);
    XML_SetSkippedEntityHandler(st.p, on_skipped);
    XML_SetParamEntityParsing(st.p, XML_PARAM_ENTITY_PARSING_NEVER);
    int rc;
    if (len >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b) {
#ifdef TULIP_HAVE_ZLIB
        rc = feed_gzip(&st, body, len);
#else
        rc = -EBADMSG;
#endif
    } else if (len > CRAWL_SITEMAP_MAX_BYTES) {
        rc = -EFBIG;
    } else {
        rc = feed(&st, body, len, true);
    }
    if (rc == 0 && !st.root_ok)
        rc = -EBADMSG;
    XML_ParserFree(st.p);
    if (rc)
        crawl_sitemap_free(out);
    return rc;
}

void crawl_sitemap_free(crawl_sitemap *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->locs[i]);
    free(s->locs);
    memset(s, 0, sizeof *s);
}
