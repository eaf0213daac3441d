#define _GNU_SOURCE
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int crawl_found_add(crawl_found_set *s, const crawl_row *row)
{
    int outcome = row->status;
    if (row->retry)
        return 0;
    if (row->error)
        outcome = strcmp(row->error, "offsite") == 0 ? CRAWL_FOUND_OFFSITE
                  : strcmp(row->error, "robots") == 0 ? CRAWL_FOUND_ROBOTS : 0;
    if (outcome == 0)
        return 0;
    crawl_found *v = crawl_grow(s->v, &s->cap, s->n, sizeof *v, 256);
    if (!v)
        return -ENOMEM;
    s->v = v;
    char *url = strdup(row->url);
    if (!url)
        return -ENOMEM;
    s->v[s->n++] = (crawl_found){ url, outcome, row->depth };
    return 0;
}

void crawl_found_free(crawl_found_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].url);
    free(s->v);
    memset(s, 0, sizeof *s);
}

int crawl_found_move(crawl_found_set *to, crawl_found_set *from)
{
    if (!from->n)
        return 0;
    if (to->n + from->n > to->cap) {
        crawl_found *v = realloc(to->v, (to->n + from->n) * sizeof *v);
        if (!v)
            return -ENOMEM;
        to->v = v;
        to->cap = to->n + from->n;
    }
    memcpy(to->v + to->n, from->v, from->n * sizeof *from->v);
    to->n += from->n;
    free(from->v);
    memset(from, 0, sizeof *from);
    return 0;
}

static int by_url(const void *a, const void *b)
{
    return strcmp(((const crawl_found *)a)->url, ((const crawl_found *)b)->url);
}

static int want_of(const crawl_site_entry *e)
{
    if (e->flags & CRAWL_SITE_OFFSITE)
        return CRAWL_FOUND_OFFSITE;
    if (e->flags & CRAWL_SITE_ROBOTS_DENIED)
        return CRAWL_FOUND_ROBOTS;
    return e->status;
}

static void note(crawl_buf *r, long *diffs, const char *what, const char *url, int a, int b)
{
    if (r && *diffs < 5)
        crawl_buf_printf(r, "  %s: %s (%d vs %d)\n", what, url, a, b);
    ++*diffs;
}

long crawl_check(const crawl_site_expect *e, crawl_found_set *s, int check_depth, crawl_buf *report)
{
    crawl_found *want = malloc((e->n ? e->n : 1) * sizeof *want);
    if (!want)
        return -ENOMEM;
    for (size_t i = 0; i < e->n; i++)
        want[i] = (crawl_found){ e->v[i].url, want_of(&e->v[i]), e->v[i].depth };
    qsort(want, e->n, sizeof *want, by_url);
    if (s->n) /* an empty set's v may be NULL, which qsort may not be given */
        qsort(s->v, s->n, sizeof *s->v, by_url);
    long diffs = 0;
    size_t i = 0, j = 0;
    while (i < e->n || j < s->n) {
        int c = i == e->n ? 1 : j == s->n ? -1 : strcmp(want[i].url, s->v[j].url);
        if (c < 0) {
            note(report, &diffs, "missing", want[i].url, want[i].outcome, 0);
            i++;
        } else if (c > 0) {
            note(report, &diffs, "unexpected", s->v[j].url, 0, s->v[j].outcome);
            j++;
        } else {
            if (want[i].outcome != s->v[j].outcome)
                note(report, &diffs, "outcome differs", want[i].url, want[i].outcome, s->v[j].outcome);
            else if (check_depth && want[i].depth != s->v[j].depth)
                note(report, &diffs, "depth differs", want[i].url, want[i].depth, s->v[j].depth);
            else if (j + 1 < s->n && strcmp(s->v[j].url, s->v[j + 1].url) == 0)
                note(report, &diffs, "reported twice", s->v[j].url, 1, 2);
            i++;
            j++;
        }
    }
    free(want);
    return diffs;
}
