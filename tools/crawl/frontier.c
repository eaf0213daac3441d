#define _GNU_SOURCE
#include "frontier.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct crawl_frontier {
    crawl_frontier_opts o;
    crawl_host **hosts;  /* creation order; owns them */
    size_t nhosts, hosts_cap;
    crawl_host **index;  /* open addressing by key; power-of-two size */
    size_t index_cap;
    crawl_host **heap;   /* hosts with work they may start, by (next_ok, seq) */
    size_t nheap;
    size_t queued;
    uint64_t seq;
    uint64_t rng;
};

static uint64_t hash_key(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: host keys are short */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

crawl_frontier *crawl_frontier_new(const crawl_frontier_opts *o)
{
    if (!o || o->per_host == 0 || o->jitter_pct > 100 || o->delay_ns < 0) {
        errno = EINVAL;
        return NULL;
    }
    crawl_frontier *f = calloc(1, sizeof *f);
    if (!f) {
        errno = ENOMEM;
        return NULL;
    }
    f->o = *o;
    f->rng = o->seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    return f;
}

/* ---- the heap of hosts --------------------------------------------------- */

static bool before(const crawl_host *a, const crawl_host *b)
{
    return a->next_ok < b->next_ok || (a->next_ok == b->next_ok && a->seq < b->seq);
}

static void heap_set(crawl_frontier *f, size_t i, crawl_host *h)
{
    f->heap[i] = h;
    h->heap_i = i;
}

static void sift_up(crawl_frontier *f, size_t i)
{
    crawl_host *h = f->heap[i];
    while (i > 0 && before(h, f->heap[(i - 1) / 2])) {
        heap_set(f, i, f->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(f, i, h);
}

static void sift_down(crawl_frontier *f, size_t i)
{
    crawl_host *h = f->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= f->nheap)
            break;
        if (c + 1 < f->nheap && before(f->heap[c + 1], f->heap[c]))
            c++;
        if (!before(f->heap[c], h))
            break;
        heap_set(f, i, f->heap[c]);
        i = c;
    }
    heap_set(f, i, h);
}

static void heap_remove(crawl_frontier *f, crawl_host *h)
{
    size_t i = h->heap_i;
    h->heap_i = SIZE_MAX;
    crawl_host *last = f->heap[--f->nheap];
    if (i == f->nheap)
        return;
    heap_set(f, i, last);
    sift_up(f, i);
    sift_down(f, last->heap_i);
}

int64_t crawl_frontier_interval(const crawl_frontier *f, const crawl_host *h)
{
    int64_t d = f->o.delay_ns;
    if (h->crawl_delay_ns > d)
        d = h->crawl_delay_ns;
    if (f->o.adaptive && h->rtt_ns > 0) {
        int64_t a = 2 * h->rtt_ns;
        if (f->o.max_delay_ns > 0 && a > f->o.max_delay_ns)
            a = f->o.max_delay_ns;
        if (a > d)
            d = a;
    }
    return d;
}

static unsigned host_cap(const crawl_frontier *f, const crawl_host *h)
{
    return crawl_frontier_interval(f, h) > 0 || f->o.adaptive ? 1 : h->conn_cap ? h->conn_cap : f->o.per_host;
}

/* Put h in the heap, or take it out, or move it, after any change: it
 * belongs there when it has queued URLs and room for another request. */
static void place(crawl_frontier *f, crawl_host *h)
{
    bool want = h->n > 0 && h->in_flight < host_cap(f, h);
    if (!want) {
        if (h->heap_i != SIZE_MAX)
            heap_remove(f, h);
        return;
    }
    if (h->heap_i == SIZE_MAX) {
        h->heap_i = f->nheap++;
        f->heap[h->heap_i] = h;
    }
    sift_up(f, h->heap_i);
    sift_down(f, h->heap_i);
}

/* ---- hosts --------------------------------------------------------------- */

static int index_grow(crawl_frontier *f)
{
    size_t cap = f->index_cap ? f->index_cap * 2 : 64;
    crawl_host **index = calloc(cap, sizeof *index);
    if (!index)
        return -ENOMEM;
    for (size_t i = 0; i < f->nhosts; i++) {
        size_t k = (size_t)hash_key(f->hosts[i]->key, strlen(f->hosts[i]->key)) & (cap - 1);
        while (index[k])
            k = (k + 1) & (cap - 1);
        index[k] = f->hosts[i];
    }
    free(f->index);
    f->index = index;
    f->index_cap = cap;
    return 0;
}

crawl_host *crawl_frontier_host(crawl_frontier *f, const char *key, size_t n)
{
    uint64_t hk = hash_key(key, n);
    if (f->index_cap)
        for (size_t k = (size_t)hk & (f->index_cap - 1); f->index[k]; k = (k + 1) & (f->index_cap - 1))
            if (strncmp(f->index[k]->key, key, n) == 0 && f->index[k]->key[n] == '\0')
                return f->index[k];
    if ((f->nhosts + 1) * 2 > f->index_cap && index_grow(f) < 0)
        return NULL;
    if (f->nhosts == f->hosts_cap) {
        size_t cap = f->hosts_cap ? f->hosts_cap * 2 : 16;
        crawl_host **hosts = realloc(f->hosts, cap * sizeof *hosts);
        crawl_host **heap = hosts ? realloc(f->heap, cap * sizeof *heap) : NULL;
        if (hosts)
            f->hosts = hosts;
        if (!heap)
            return NULL;
        f->heap = heap;
        f->hosts_cap = cap;
    }
    crawl_host *h = calloc(1, sizeof *h);
    if (!h || !(h->key = strndup(key, n))) {
        free(h);
        return NULL;
    }
    h->crawl_delay_ns = -1;
    h->heap_i = SIZE_MAX;
    f->hosts[f->nhosts++] = h;
    size_t k = (size_t)hk & (f->index_cap - 1);
    while (f->index[k])
        k = (k + 1) & (f->index_cap - 1);
    f->index[k] = h;
    return h;
}

static void item_free(crawl_item *it)
{
    free(it->url);
    free(it->parent);
}

int crawl_frontier_push(crawl_frontier *f, crawl_host *h, crawl_item *it, bool front)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        crawl_item *q = malloc(cap * sizeof *q);
        if (!q) {
            item_free(it);
            return -ENOMEM;
        }
        for (size_t i = 0; i < h->n; i++)
            q[i] = h->q[(h->head + i) & (h->cap - 1)];
        free(h->q);
        h->q = q;
        h->head = 0;
        h->cap = cap;
    }
    /* BFS takes from the head, DFS from the tail, where new URLs also go:
     * "front" is whichever end is taken next. */
    if (front && !f->o.dfs) {
        h->head = (h->head + h->cap - 1) & (h->cap - 1);
        h->q[h->head] = *it;
    } else {
        h->q[(h->head + h->n) & (h->cap - 1)] = *it;
    }
    h->n++;
    f->queued++;
    if (h->heap_i == SIZE_MAX) {
        h->seq = f->seq++;
        place(f, h);
    }
    return 0;
}

int crawl_frontier_pop(crawl_frontier *f, int64_t now, crawl_item *out, crawl_host **hp, int64_t *wake)
{
    if (f->nheap == 0 || f->heap[0]->next_ok > now) {
        *wake = f->nheap ? f->heap[0]->next_ok : INT64_MAX;
        return 0;
    }
    crawl_host *h = f->heap[0];
    if (f->o.dfs) {
        *out = h->q[(h->head + h->n - 1) & (h->cap - 1)];
    } else {
        *out = h->q[h->head];
        h->head = (h->head + 1) & (h->cap - 1);
    }
    h->n--;
    f->queued--;
    h->in_flight++;
    h->seq = f->seq++; /* ready hosts take turns */
    place(f, h);
    *hp = h;
    return 1;
}

int crawl_frontier_take(crawl_frontier *f, crawl_host *h, crawl_item *out)
{
    if (h->n == 0)
        return 0;
    *out = h->q[h->head];
    h->head = (h->head + 1) & (h->cap - 1);
    h->n--;
    f->queued--;
    place(f, h);
    return 1;
}

static uint64_t next_rand(crawl_frontier *f)
{
    uint64_t x = f->rng += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void crawl_frontier_started(crawl_frontier *f, crawl_host *h, int64_t now)
{
    (void)f;
    (void)now;
    h->requests++;
    h->asked = true;
}

void crawl_frontier_unstarted(crawl_frontier *f, crawl_host *h)
{
    (void)f;
    if (h->requests)
        h->requests--;
    h->asked = false;
}

void crawl_frontier_done(crawl_frontier *f, crawl_host *h, int64_t now, int64_t rtt_ns)
{
    if (h->in_flight)
        h->in_flight--;
    if (rtt_ns >= 0)
        h->rtt_ns = h->rtt_ns ? (3 * h->rtt_ns + rtt_ns) / 4 : (rtt_ns ? rtt_ns : 1);
    if (h->asked) {
        /* the interval runs from the end of the answer: the next request
         * reaches the server at least that long after this one did */
        h->asked = false;
        int64_t d = crawl_frontier_interval(f, h);
        if (d > 0 && f->o.jitter_pct)
            d += (int64_t)((double)d * (double)f->o.jitter_pct / 100.0 *
                           ((double)(next_rand(f) >> 11) / 9007199254740992.0));
        if (now + d > h->next_ok)
            h->next_ok = now + d;
    }
    place(f, h);
}

void crawl_frontier_backoff(crawl_frontier *f, crawl_host *h, int64_t until)
{
    if (until > h->next_ok)
        h->next_ok = until;
    if (h->heap_i != SIZE_MAX)
        place(f, h);
}

void crawl_frontier_set_crawl_delay(crawl_frontier *f, crawl_host *h, int64_t ms)
{
    if (ms < 0) {
        h->crawl_delay_ns = -1;
    } else {
        int64_t ns = ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
        h->crawl_delay_capped = f->o.max_crawl_delay_ns >= 0 && ns > f->o.max_crawl_delay_ns;
        h->crawl_delay_ns = h->crawl_delay_capped ? f->o.max_crawl_delay_ns : ns;
    }
    place(f, h);
}

size_t crawl_frontier_queued(const crawl_frontier *f) { return f->queued; }
size_t crawl_frontier_hosts(const crawl_frontier *f) { return f->nhosts; }
crawl_host *crawl_frontier_host_at(const crawl_frontier *f, size_t i) { return i < f->nhosts ? f->hosts[i] : NULL; }

void crawl_frontier_free(crawl_frontier *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nhosts; i++) {
        crawl_host *h = f->hosts[i];
        for (size_t j = 0; j < h->n; j++)
            item_free(&h->q[(h->head + j) & (h->cap - 1)]);
        free(h->q);
        free(h->key);
        free(h);
    }
    free(f->hosts);
    free(f->index);
    free(f->heap);
    free(f);
}
