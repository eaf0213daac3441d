/* The crawl on several loops (crawl_opts.loops): share-nothing, one crawl
 * (scope, frontier, HTTP clients, worker tasks) per loop, and cross-loop
 * queues (tulip_queue, src/sync/xwait.c) between them; no lock on the path
 * of a page.  docs/CRAWL.md "Several cores" says why.
 *
 * Ownership:
 *   - a URL belongs to the loop hash(URL) % loops: only that loop admits
 *     it (its seen set), so it is fetched once and has one row; a loop
 *     that finds a link it does not own sends it there;
 *   - a host belongs to its home loop, hash(scheme://authority) % loops:
 *     home alone fetches its robots.txt and hands the parsed rules (read
 *     only from then on) to the other loops that ask;
 *   - with no interval between requests (--delay 0, no --adaptive, no
 *     robots.txt Crawl-delay) and per-host >= loops, a host is *spread*:
 *     each loop fetches the URLs it owns, and the host's connection cap
 *     is split among the loops (shares adding up to --per-host);
 *     otherwise every URL of the host is sent to home, which keeps the
 *     politeness interval alone, as on one loop.  A Retry-After or a
 *     backoff on a spread host is sent to every loop.
 *
 * Messages are batches (a crawl_buf of records) per destination loop,
 * sent when a page is done: one queue put per page and destination, not
 * one per link.
 *
 * The end: `pending` counts the work anywhere (URLs queued or in a
 * worker's hands, batches sent and not yet processed, robots.txt
 * fetches for other loops).  A loop publishes its change once per page
 * (pushes + batches - the page), counting batches before it sends them,
 * so pending reaches 0 only when nothing is left on any loop; the loop
 * that brings it there shuts every inbox down, and each loop's reader
 * then closes its crawl. */
#define _GNU_SOURCE
#include "crawler_internal.h"
#include "seen.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct shard {
    crawl c; /* first: crawl_loops_tick finds the shard from it */
    crawl_stats st;
    crawl_loops *lp;
    pthread_mutex_t snap_mu; /* the progress snapshot, read by loop 0 */
    crawl_stats snap;
    tulip_future *done;
} shard;

struct crawl_loops {
    unsigned n;
    const crawl_opts *o;
    const char *start;
    unsigned per_host;
    bool spread_ok;     /* the options set no interval: hosts may spread */
    tulip_queue **inbox;
    shard *shards;
    atomic_long pending;
    atomic_int failed;      /* first fatal error, 0: none */
    atomic_size_t admitted; /* --max-pages across loops */
};

enum { REC_OFFER = 'O', REC_QUEUE = 'Q', REC_BAD = 'J', REC_ASK = 'R', REC_ROBOTS = 'B', REC_BACKOFF = 'K' };

static unsigned loop_of(const crawl_loops *lp, const char *s, size_t n)
{
    /* b, not a: the seen table indexes by a's low bits */
    return (unsigned)((crawl_fingerprint(s, n).b >> 32) % lp->n);
}

/* ---- records ------------------------------------------------------------ */

static int put(crawl_buf *b, const void *p, size_t n) { return crawl_buf_append(b, p, n); }

static int put_i64(crawl_buf *b, int64_t v) { return put(b, &v, sizeof v); }

/* Strings travel with their NUL so the reader can point into the batch. */
static int put_str(crawl_buf *b, const char *s)
{
    int64_t n = s ? (int64_t)strlen(s) : -1;
    int rc = put_i64(b, n);
    return rc == 0 && s ? put(b, s, (size_t)n + 1) : rc;
}

typedef struct rd {
    const char *p, *end;
} rd;

static int64_t get_i64(rd *r)
{
    int64_t v = 0;
    if (r->end - r->p >= (ptrdiff_t)sizeof v) {
        memcpy(&v, r->p, sizeof v);
        r->p += sizeof v;
    }
    return v;
}

static const char *get_str(rd *r)
{
    int64_t n = get_i64(r);
    if (n < 0 || r->end - r->p < n + 1)
        return NULL;
    const char *s = r->p;
    r->p += n + 1;
    return s;
}

static void record(crawl *c, int rc)
{
    if (rc < 0 && !c->fatal)
        c->fatal = rc;
}

/* One record for loop `to`'s next batch: its kind, its numbers, then its
 * strings; every kind of record is written here. */
static void put_rec(crawl *c, unsigned to, char kind, const int64_t *num, size_t n_num, const char *const *str,
                    size_t n_str)
{
    crawl_buf *b = &c->out[to];
    int rc = crawl_buf_putc(b, kind);
    for (size_t i = 0; rc == 0 && i < n_num; i++)
        rc = put_i64(b, num[i]);
    for (size_t i = 0; rc == 0 && i < n_str; i++)
        rc = put_str(b, str[i]);
    record(c, rc);
}

static void put_item(crawl *c, unsigned to, char kind, const crawl_item *it)
{
    const int64_t num[] = {it->depth, it->hops, it->attempts, it->sitemap};
    const char *const str[] = {it->url, it->parent};
    put_rec(c, to, kind, num, 4, str, 2);
}

bool crawl_loops_route(crawl *c, const char *url, int depth, unsigned hops, const char *parent, bool sitemap)
{
    unsigned to = loop_of(c->lp, url, strlen(url));
    if (to == c->self)
        return false;
    crawl_item it = { .url = (char *)url, .parent = (char *)parent, .depth = depth, .hops = hops,
                      .sitemap = sitemap };
    put_item(c, to, REC_OFFER, &it);
    return true;
}

bool crawl_loops_route_bad(crawl *c, const char *key, int depth, const char *parent, int err, bool journal)
{
    unsigned to = loop_of(c->lp, key, strlen(key));
    if (to == c->self)
        return false;
    const int64_t num[] = {depth, err, journal};
    const char *const str[] = {key, parent};
    put_rec(c, to, REC_BAD, num, 3, str, 2);
    return true;
}

bool crawl_loops_admit(crawl *c)
{
    size_t max = c->o->max_pages;
    return !max || atomic_fetch_add_explicit(&c->lp->admitted, 1, memory_order_relaxed) < max;
}

int crawl_loops_place(crawl *c, crawl_host *h, crawl_item *it)
{
    const origin *o = h->data;
    int rc = 0;
    if (o->at_home && o->home != (int)c->self) {
        put_item(c, (unsigned)o->home, REC_QUEUE, it);
        free(it->url);
        free(it->parent);
    } else {
        rc = crawl_push(c, h, it, false);
    }
    it->url = it->parent = NULL;
    return rc;
}

int crawl_loops_host_init(crawl *c, crawl_host *h)
{
    crawl_loops *lp = c->lp;
    origin *o = calloc(1, sizeof *o);
    if (!o)
        return -ENOMEM;
    tulip_event_init(&o->ready);
    o->home = (int)loop_of(lp, h->key, strlen(h->key));
    o->spread = lp->spread_ok;
    o->at_home = !o->spread;
    if (o->spread) {
        /* shares of per_host adding up to it; the extra ones start at home */
        unsigned k = (c->self + lp->n - (unsigned)o->home) % lp->n;
        h->conn_cap = lp->per_host / lp->n + (k < lp->per_host % lp->n);
    }
    h->data = o;
    return 0;
}

static void put_key(crawl *c, unsigned to, char kind, const char *key, int64_t a, int64_t b)
{
    const int64_t num[] = {a, b};
    put_rec(c, to, kind, num, 2, &key, 1);
}

int crawl_loops_robots_wait(crawl *c, crawl_host *h)
{
    origin *o = h->data;
    if (!o->robots && !o->requested) {
        o->requested = true;
        put_key(c, (unsigned)o->home, REC_ASK, h->key, c->self, 0);
        crawl_loops_flush(c, 0);
    }
    while (!o->robots) {
        int rc = tulip_event_wait(&o->ready);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void crawl_loops_robots_known(crawl *c, crawl_host *h)
{
    origin *o = h->data;
    if (!o->spread)
        return;
    /* a Crawl-delay makes an interval: one loop keeps it */
    o->at_home = crawl_frontier_interval(c->f, h) > 0;
    for (unsigned w = 0; w < c->lp->n; w++)
        if (w != c->self)
            put_key(c, w, REC_ROBOTS, h->key, (int64_t)(intptr_t)o->robots, o->at_home);
}

void crawl_loops_backoff(crawl *c, crawl_host *h, int64_t until)
{
    const origin *o = h->data;
    if (!o->spread || o->at_home)
        return;
    for (unsigned w = 0; w < c->lp->n; w++)
        if (w != c->self)
            put_key(c, w, REC_BACKOFF, h->key, until, 0);
}

/* ---- sending, and the end --------------------------------------------- */

static void shut_all(crawl_loops *lp)
{
    for (unsigned w = 0; w < lp->n; w++)
        tulip_queue_shutdown(lp->inbox[w], false);
}

static void fail(crawl_loops *lp, int err)
{
    int none = 0;
    atomic_compare_exchange_strong(&lp->failed, &none, err);
    shut_all(lp);
}

void crawl_loops_fail(crawl *c, int err) { fail(c->lp, err); }

void crawl_loops_flush(crawl *c, long release)
{
    crawl_loops *lp = c->lp;
    long batches = 0;
    for (unsigned w = 0; w < lp->n; w++)
        batches += c->out[w].len > 0;
    long d = c->delta + batches - release;
    c->delta = 0;
    /* counted before they are sent: the receiver may finish them first */
    if (d && atomic_fetch_add_explicit(&lp->pending, d, memory_order_acq_rel) + d == 0)
        shut_all(lp); /* nothing left anywhere */
    for (unsigned w = 0; batches && w < lp->n; w++) {
        if (!c->out[w].len)
            continue;
        crawl_buf m = c->out[w];
        memset(&c->out[w], 0, sizeof m);
        if (tulip_queue_put(lp->inbox[w], &m) < 0)
            crawl_buf_free(&m); /* shut down: the crawl is over */
    }
    if (c->fatal)
        fail(lp, c->fatal);
}

/* ---- receiving ---------------------------------------------------------- */

typedef struct robots_job {
    crawl *c;
    crawl_host *h;
} robots_job;

/* Home fetches robots.txt that another loop asked for (counted in pending
 * until its answer is sent). */
static int robots_task(void *arg)
{
    robots_job *j = arg;
    crawl *c = j->c;
    crawl_host *h = j->h;
    free(j);
    h->in_flight++; /* as a worker's URL: the next request waits its turn */
    int rc = crawl_ensure_robots(c, h);
    tulip_update_time(); /* the end of the answer, as in fetch() */
    crawl_frontier_done(c->f, h, tulip_now(), -1);
    if (rc < 0 && rc != -ECANCELED && !c->fatal)
        c->fatal = rc;
    crawl_loops_flush(c, 1);
    crawl_wake_all(c);
    return rc == -ECANCELED ? rc : 0;
}

/* The host another loop named; NULL (and the crawl fails) out of memory. */
static crawl_host *host_by_key(crawl *c, const char *key)
{
    crawl_host *h = crawl_frontier_host(c->f, key, strlen(key));
    if (!h || (!h->data && crawl_loops_host_init(c, h) < 0)) {
        c->fatal = -ENOMEM;
        return NULL;
    }
    return h;
}

static void on_ask(crawl *c, const char *key, unsigned from)
{
    crawl_host *h = host_by_key(c, key);
    if (!h)
        return;
    origin *o = h->data;
    if (o->robots) {
        put_key(c, from, REC_ROBOTS, key, (int64_t)(intptr_t)o->robots, o->at_home);
    } else if (!o->requested && !o->fetching) {
        /* else a fetch is under way: its answer goes to every loop */
        robots_job *j = malloc(sizeof *j);
        if (!j) {
            c->fatal = -ENOMEM;
            return;
        }
        *j = (robots_job){ c, h };
        o->requested = true;
        if (tulip_group_spawn(c->g, robots_task, j) < 0) {
            free(j);
            c->fatal = -ENOMEM;
            return;
        }
        c->delta++;
    }
}

static void on_robots(crawl *c, const char *key, crawl_robots *r, bool at_home)
{
    crawl_host *h = host_by_key(c, key);
    if (!h)
        return;
    origin *o = h->data;
    if (o->robots)
        return; /* asked, and answered to everyone too */
    o->robots = r;
    o->borrowed = true;
    crawl_frontier_set_crawl_delay(c->f, h, crawl_robots_crawl_delay_ms(r));
    o->at_home = at_home;
    crawl_item it;
    while (at_home && crawl_frontier_take(c->f, h, &it) == 1) {
        c->delta--;
        crawl_loops_place(c, h, &it);
    }
    tulip_event_set(&o->ready);
}

static void process(crawl *c, const crawl_buf *m)
{
    rd r = { m->data, m->data + m->len };
    while (r.p < r.end && !c->fatal) {
        char kind = *r.p++;
        if (kind == REC_OFFER || kind == REC_QUEUE) {
            crawl_item it = { 0 };
            it.depth = (int)get_i64(&r);
            it.hops = (unsigned)get_i64(&r);
            it.attempts = (unsigned)get_i64(&r);
            it.sitemap = get_i64(&r) != 0;
            const char *url = get_str(&r), *parent = get_str(&r);
            if (!url)
                break;
            if (kind == REC_OFFER) {
                crawl_offer_ex(c, url, it.depth, it.hops, parent, it.sitemap);
                continue;
            }
            crawl_host *h = crawl_host_of(c, url);
            it.url = strdup(url);
            it.parent = parent ? strdup(parent) : NULL;
            if (!h || !it.url || (parent && !it.parent)) {
                free(it.url);
                free(it.parent);
                c->fatal = -ENOMEM;
            } else if (crawl_push(c, h, &it, false) < 0) {
                c->fatal = -ENOMEM;
            }
        } else if (kind == REC_BAD) {
            int depth = (int)get_i64(&r), err = (int)get_i64(&r);
            bool journal = get_i64(&r) != 0;
            const char *key = get_str(&r), *parent = get_str(&r);
            if (!key)
                break;
            crawl_bad_link(c, key, depth, parent, err, journal);
        } else {
            int64_t a = get_i64(&r), b = get_i64(&r);
            const char *key = get_str(&r);
            if (!key)
                break;
            if (kind == REC_ASK) {
                on_ask(c, key, (unsigned)a);
            } else if (kind == REC_ROBOTS) {
                on_robots(c, key, (crawl_robots *)(intptr_t)a, b != 0);
            } else if (kind == REC_BACKOFF) {
                crawl_host *h = host_by_key(c, key);
                if (h)
                    crawl_frontier_backoff(c->f, h, a);
            }
        }
    }
}

int crawl_loops_reader(void *arg)
{
    crawl *c = arg;
    crawl_loops *lp = c->lp;
    for (;;) {
        crawl_buf m;
        if (tulip_queue_get(lp->inbox[c->self], &m) < 0)
            break; /* shut down (the end, or a failure), or cancelled */
        process(c, &m);
        crawl_buf_free(&m);
        crawl_loops_flush(c, 1);
        crawl_wake_all(c);
    }
    if (atomic_load(&lp->failed))
        tulip_group_cancel(c->g);
    crawl_close(c);
    return 0;
}

/* ---- progress and sums ------------------------------------------------ */

static void stats_add(crawl_stats *d, const crawl_stats *s)
{
    d->fetched += s->fetched;
    d->reused += s->reused;
    for (int i = 0; i < 6; i++)
        d->status[i] += s->status[i];
    d->errors += s->errors;
    d->bad_links += s->bad_links;
    d->offsite += s->offsite;
    d->robots += s->robots;
    d->filtered += s->filtered;
    d->too_deep += s->too_deep;
    d->over_limit += s->over_limit;
    d->bytes += s->bytes;
    d->links += s->links;
    d->retries += s->retries;
    d->capped_hosts += s->capped_hosts;
    d->seen += s->seen;
    d->seen_bytes += s->seen_bytes;
    d->in_flight += s->in_flight;
    d->queued += s->queued;
    for (size_t i = 0; i < s->nkinds; i++) {
        size_t k = 0;
        while (k < d->nkinds && strcmp(d->kinds[k].kind, s->kinds[i].kind) != 0)
            k++;
        if (k == d->nkinds) {
            if (k == CRAWL_MAX_KINDS)
                continue;
            d->kinds[k].kind = s->kinds[i].kind;
            d->kinds[k].n = 0;
            d->nkinds++;
        }
        d->kinds[k].n += s->kinds[i].n;
    }
}

void crawl_loops_tick(crawl *c)
{
    shard *s = (shard *)c;
    crawl_loops *lp = s->lp;
    pthread_mutex_lock(&s->snap_mu);
    s->snap = *c->st;
    pthread_mutex_unlock(&s->snap_mu);
    if (c->self != 0)
        return;
    crawl_stats sum = { 0 };
    for (unsigned i = 0; i < lp->n; i++) {
        pthread_mutex_lock(&lp->shards[i].snap_mu);
        stats_add(&sum, &lp->shards[i].snap);
        pthread_mutex_unlock(&lp->shards[i].snap_mu);
    }
    sum.elapsed_ns = c->st->elapsed_ns;
    c->o->on_tick(c->o->tick_arg, &sum);
}

/* ---- the run ------------------------------------------------------------ */

static int shard_main(void *arg)
{
    shard *s = arg;
    crawl_loops *lp = s->lp;
    unsigned i = (unsigned)(s - lp->shards);
    const crawl_opts *o = lp->o;
    crawl *c = &s->c;
    int rc = crawl_setup(c, o, &s->st, lp->start, o->concurrency / lp->n + (i < o->concurrency % lp->n));
    c->lp = lp;
    c->self = i;
    c->out = calloc(lp->n, sizeof *c->out);
    if (rc == 0 && !c->out)
        rc = -ENOMEM;
    if (rc == 0)
        rc = tulip_group_spawn(c->g, crawl_loops_reader, c);
    if (rc == 0 && i == 0) {
        rc = crawl_offer_start(c, lp->start);
        crawl_loops_flush(c, 1); /* and the run's own hold goes */
    }
    if (rc < 0)
        fail(lp, rc);
    rc = crawl_work(c, rc);
    crawl_release_loop(c);
    for (unsigned w = 0; c->out && w < lp->n; w++)
        crawl_buf_free(&c->out[w]);
    free(c->out);
    c->out = NULL;
    s->st.seen = c->scope ? crawl_scope_admitted(c->scope) - c->late_refused : 0;
    s->st.seen_bytes = c->scope ? crawl_scope_bytes(c->scope) : 0;
    return rc;
}

int crawl_run_loops(const crawl_opts *o, crawl_stats *st, const char *start)
{
    unsigned n = o->loops;
    if (o->state || n > tulip_loop_count() || o->concurrency < n || tulip_loop_index() < 0)
        return -EINVAL;
    int64_t t0 = tulip_now();
    crawl_loops *lp = calloc(1, sizeof *lp);
    if (!lp)
        return -ENOMEM;
    lp->n = n;
    lp->o = o;
    lp->start = start;
    lp->per_host = o->per_host ? o->per_host : o->concurrency;
    lp->spread_ok = o->delay_ns == 0 && !o->adaptive && lp->per_host >= n;
    atomic_init(&lp->pending, 1); /* until the start URL is offered */
    atomic_init(&lp->failed, 0);
    atomic_init(&lp->admitted, 0);
    lp->inbox = calloc(n, sizeof *lp->inbox);
    lp->shards = calloc(n, sizeof *lp->shards);
    int rc = lp->inbox && lp->shards ? 0 : -ENOMEM;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        lp->inbox[i] = tulip_queue_new(sizeof(crawl_buf), 0, TULIP_QUEUE_FIFO, NULL);
        if (!lp->inbox[i])
            rc = -ENOMEM;
    }
    unsigned started = 0;
    for (; rc == 0 && started < n; started++) {
        shard *s = &lp->shards[started];
        s->lp = lp;
        pthread_mutex_init(&s->snap_mu, NULL);
        rc = tulip_spawn_remote(tulip_loop_at(started), shard_main, s, &s->done);
        if (rc < 0)
            pthread_mutex_destroy(&s->snap_mu);
    }
    if (rc < 0 && started)
        fail(lp, rc);
    /* Wait for every shard; a cancelled wait (Ctrl-C) stops them all and
     * still waits: their memory is freed here. */
    for (unsigned i = 0; i < started; i++) {
        shard *s = &lp->shards[i];
        int src = tulip_future_await(s->done, NULL);
        if (src == -ECANCELED || src == -ETIMEDOUT) {
            if (rc == 0)
                rc = src;
            fail(lp, src);
            tulip_scope shield;
            tulip_scope_enter_shielded(&shield, TULIP_FOREVER);
            src = tulip_future_await(s->done, NULL);
            tulip_scope_exit(&shield);
        }
        if (rc == 0 && src < 0)
            rc = src;
        tulip_future_free(s->done);
    }
    int failed = atomic_load(&lp->failed);
    if (failed && (rc == 0 || rc == -ECANCELED) && failed != -ECANCELED)
        rc = failed;
    memset(st, 0, sizeof *st);
    crawl_seen hosts = { 0 };
    for (unsigned i = 0; i < started; i++) {
        shard *s = &lp->shards[i];
        for (size_t k = 0; s->c.f && k < crawl_frontier_hosts(s->c.f); k++)
            if (crawl_seen_add(&hosts, crawl_frontier_host_at(s->c.f, k)->key, 0) == 1)
                st->hosts++;
        crawl_release(&s->c);
        s->st.in_flight = s->st.queued = 0;
        stats_add(st, &s->st);
        pthread_mutex_destroy(&s->snap_mu);
    }
    crawl_seen_free(&hosts);
    for (unsigned i = 0; lp->inbox && i < n; i++) {
        crawl_buf m;
        while (lp->inbox[i] && tulip_queue_try_get(lp->inbox[i], &m) == 0)
            crawl_buf_free(&m);
        tulip_queue_free(lp->inbox[i]);
    }
    free(lp->inbox);
    free(lp->shards);
    free(lp);
    st->elapsed_ns = tulip_now() - t0;
    return rc;
}
