#define _GNU_SOURCE
#include "compare_base.h"
#include "url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void found(crawl_cmp_base *b, const char *url, int status, const char *error, int depth)
{
    crawl_row row = { .url = url, .status = status, .error = error, .depth = depth };
    if (crawl_found_add(&b->t.found, &row) < 0)
        b->t.fatal = -ENOMEM;
}

/* Caller holds mu (or is the only thread). */
static void offer(crawl_cmp_base *b, const char *url, int depth, unsigned hops)
{
    int v = crawl_scope_admit(b->scope, url, depth);
    if (v == CRAWL_OFFSITE) {
        found(b, url, 0, "offsite", depth);
        return;
    }
    if (v < 0)
        b->t.fatal = v;
    if (v != CRAWL_ADMIT)
        return;
    crawl_url_parts p;
    if (crawl_url_split(url, &p) == 0) {
        int ok = crawl_robots_allowed(b->robots, p.target);
        crawl_url_parts_free(&p);
        if (ok == 0) {
            found(b, url, 0, "robots", depth);
            return;
        }
    }
    crawl_cmp_item *q = crawl_grow(b->q, &b->cap, b->tail, sizeof *q, 256);
    if (!q) {
        b->t.fatal = -ENOMEM;
        return;
    }
    b->q = q;
    b->q[b->tail].url = strdup(url);
    if (!b->q[b->tail].url) {
        b->t.fatal = -ENOMEM;
        return;
    }
    b->q[b->tail].depth = depth;
    b->q[b->tail++].hops = hops;
}

bool crawl_cmp_pop(crawl_cmp_base *b, crawl_cmp_item *it)
{
    if (b->head == b->tail || b->t.fatal)
        return false;
    *it = b->q[b->head++];
    return true;
}

void crawl_cmp_parse(const crawl_cmp_item *it, int rc, const crawl_raw *r, crawl_links *l)
{
    memset(l, 0, sizeof *l);
    if (rc == 0 && r->status == 200 && crawl_is_html(r->content_type)) {
        size_t len = r->body.len < CRAWL_MAX_PARSE ? r->body.len : CRAWL_MAX_PARSE;
        len = crawl_links_cut(r->body.data ? r->body.data : "", len, CRAWL_MAX_TAGS, NULL);
        crawl_links_extract(r->body.data ? r->body.data : "", len, it->url, l);
    }
}

void crawl_cmp_commit(crawl_cmp_base *b, crawl_cmp_item *it, int rc, int status, const char *location,
                      crawl_links *l)
{
    b->t.fetched++;
    if (rc < 0) {
        b->t.errors++;
    } else {
        found(b, it->url, status, NULL, it->depth);
        char *target;
        if (status >= 300 && status < 400 && location && crawl_url_resolve(it->url, location, &target) == 0) {
            if (it->hops < 10)
                offer(b, target, it->depth + 1, it->hops + 1);
            free(target);
        }
        for (size_t i = 0; i < l->n; i++)
            offer(b, l->urls[i], it->depth + 1, 0);
    }
    crawl_links_free(l);
    free(it->url);
}

int crawl_cmp_base_init(crawl_cmp_base *b, const char *origin, const char *ua)
{
    memset(b, 0, sizeof *b);
    b->ua = ua;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    char start[128];
    snprintf(start, sizeof start, "%s/", origin);
    crawl_scope_opts so = { .start = start, .max_depth = -1 };
    b->scope = crawl_scope_new(&so);
    if (!b->scope)
        return -errno;
    /* robots.txt first, as the crawler does (RFC 9309 2.3.1) */
    char url[160];
    snprintf(url, sizeof url, "%s/robots.txt", origin);
    crawl_raw r;
    crawl_raw_init(&r, CRAWL_ROBOTS_MAX_BYTES);
    int rc = crawl_raw_get(url, ua, CRAWL_CMP_TIMEOUT_MS, &r);
    if (rc == 0 && r.status >= 200 && r.status < 300)
        b->robots = crawl_robots_parse(r.body.data ? r.body.data : "", r.body.len, ua);
    else if (rc == 0 && r.status >= 400 && r.status < 500)
        b->robots = crawl_robots_parse("", 0, ua);
    else
        b->robots = crawl_robots_new_disallow_all();
    crawl_raw_free(&r);
    if (!b->robots)
        return -ENOMEM;
    offer(b, start, 0, 0);
    return b->t.fatal;
}

void crawl_cmp_base_fini(crawl_cmp_base *b)
{
    for (size_t i = b->head; i < b->tail; i++)
        free(b->q[i].url);
    free(b->q);
    crawl_scope_free(b->scope);
    crawl_robots_free(b->robots);
    crawl_found_free(&b->t.found);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
}
