#define _GNU_SOURCE
#include "crawler.h"
#include "crawler_internal.h"
#include "frontier.h"
#include "links.h"
#include "retry.h"
#include "robots.h"
#include "scope.h"
#include "sitemap.h"
#include "state.h"
#include "url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <tulip.h>

void crawl_opts_init(crawl_opts *o)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 32;
    o->max_depth = -1;
    o->max_redirects = 10;
    o->timeout_ns = TULIP_SEC(30);
    o->max_body = (size_t)10 << 20;
    o->user_agent = "tulip-crawl/0.1";
    o->tick_ns = TULIP_MS(250);
    o->delay_ns = TULIP_MS(250);
    o->max_delay_ns = TULIP_SEC(10);
    o->max_crawl_delay_ns = TULIP_SEC(30);
    o->backoff_ns = TULIP_SEC(1);
}

const char *crawl_error_kind(int err)
{
    switch (err) {
    case -ETIMEDOUT: return "timeout";
    case -ECONNREFUSED: return "connection-refused";
    case -ECONNRESET:
    case -EPIPE: return "connection-reset";
    case -EBADMSG: return "malformed-response";
    case -EMSGSIZE: return "header-too-large";
    case -EFBIG: return "body-too-large";
    case -ENODATA: return "truncated-body";
    case -ELOOP: return "too-many-redirects";
    case -EPROTONOSUPPORT: return "unsupported-scheme";
    case -EACCES: return "tls-verify";
    case -EPROTO: return "tls";
    case -ENOENT:
    case -EAGAIN: return "dns";
    case -EINVAL: return "bad-url";
    case -ENAMETOOLONG: return "url-too-long";
    case -ENOMEM: return "out-of-memory";
    case -ENETUNREACH:
    case -EHOSTUNREACH: return "unreachable";
    default: return "other";
    }
}

static void count_kind(crawl_stats *st, const char *kind)
{
    for (size_t i = 0; i < st->nkinds; i++)
        if (st->kinds[i].kind == kind) {
            st->kinds[i].n++;
            return;
        }
    if (st->nkinds < CRAWL_MAX_KINDS) {
        st->kinds[st->nkinds].kind = kind;
        st->kinds[st->nkinds++].n = 1;
    }
}

static void emit(crawl *c, const crawl_row *row)
{
    if (c->o->on_row)
        c->o->on_row(c->o->row_arg, row);
}

static void error_row(crawl *c, const char *url, int depth, const char *parent, const char *kind,
                      int64_t ns)
{
    c->st->errors++;
    count_kind(c->st, kind);
    crawl_row row = { .url = url, .depth = depth, .error = kind, .parent = parent, .elapsed_ns = ns };
    emit(c, &row);
}

/* The frontier host of a canonical URL (its scheme://authority). */
static crawl_host *host_of(crawl *c, const char *url)
{
    const char *auth;
    size_t alen;
    if (crawl_url_canonical_authority(url, &auth, &alen, NULL) == 0) {
        size_t klen = (size_t)(auth + alen - url);
        if (c->last && strncmp(c->last->key, url, klen) == 0 && c->last->key[klen] == '\0')
            return c->last;
        crawl_host *h = crawl_frontier_host(c->f, url, klen);
        if (h && c->lp && !h->data && crawl_loops_host_init(c, h) < 0)
            return NULL;
        return h ? c->last = h : NULL;
    }
    crawl_url_parts p;
    if (crawl_url_split(url, &p))
        return NULL;
    char *key;
    if (asprintf(&key, "%s://%s", p.scheme, p.authority) < 0)
        key = NULL;
    crawl_url_parts_free(&p);
    if (!key)
        return NULL;
    crawl_host *h = crawl_frontier_host(c->f, key, strlen(key));
    free(key);
    if (h && c->lp && !h->data && crawl_loops_host_init(c, h) < 0)
        return NULL;
    return h;
}

crawl_host *crawl_host_of(crawl *c, const char *url) { return host_of(c, url); }

/* Queue it on h: on several loops, this loop's work grows by one. */
int crawl_push(crawl *c, crawl_host *h, crawl_item *it, bool front)
{
    int rc = crawl_frontier_push(c->f, h, it, front);
    if (rc == 0)
        c->delta++;
    return rc;
}

/* Wake one waiting worker: there is new work, or a host changed. */
static void wake(crawl *c)
{
    if (c->waiting)
        tulip_cond_signal(&c->cv);
}

static void close_crawl(crawl *c)
{
    c->closed = true;
    tulip_cond_broadcast(&c->cv);
}

void crawl_close(crawl *c) { close_crawl(c); }

void crawl_wake_all(crawl *c)
{
    if (c->waiting)
        tulip_cond_broadcast(&c->cv);
}

/* An href or a sitemap's loc that is no URL we fetch: one row the first
 * time it is seen (on several loops, by the loop that owns the string). */
static void bad_link(crawl *c, const char *key, int depth, const char *parent, int err, bool journal)
{
    if (c->lp && crawl_loops_route_bad(c, key, depth, parent, err, journal))
        return;
    if (crawl_scope_first(c->scope, key) != 1)
        return;
    int rc = journal && c->o->state && parent ? crawl_state_bad(c->o->state, key, err, parent) : 0;
    if (rc < 0)
        c->fatal = rc;
    c->st->bad_links++;
    crawl_row bad = { .url = key, .depth = depth, .parent = parent, .error = crawl_error_kind(err) };
    emit(c, &bad);
}

void crawl_bad_link(crawl *c, const char *key, int depth, const char *parent, int err, bool journal)
{
    bad_link(c, key, depth, parent, err, journal);
}

/* Offer a URL found at depth from parent; sitemap: it is one. */
static void offer_ex(crawl *c, const char *url, int depth, unsigned hops, const char *parent, bool sitemap)
{
    if (c->lp && crawl_loops_route(c, url, depth, hops, parent, sitemap))
        return; /* another loop owns it */
    int v = crawl_scope_admit(c->scope, url, depth);
    crawl_row row = { .url = url, .depth = depth, .parent = parent };
    switch (v) {
    case CRAWL_ADMIT: {
        if (c->lp && !crawl_loops_admit(c)) {
            c->st->over_limit++; /* --max-pages, counted across loops */
            c->late_refused++;
            break;
        }
        crawl_host *h = host_of(c, url);
        crawl_item it = { .url = strdup(url), .parent = parent ? strdup(parent) : NULL,
                          .depth = depth, .hops = hops, .sitemap = sitemap };
        if (!h || !it.url || (parent && !it.parent)) {
            free(it.url);
            free(it.parent);
            c->fatal = -ENOMEM;
        } else if (c->o->remote) {
            if ((v = c->o->remote->discover(c->o->remote->self, h->key, &it)) < 0)
                c->fatal = v;
            free(it.url);
            free(it.parent);
        } else if ((c->lp ? crawl_loops_place(c, h, &it) : crawl_push(c, h, &it, false)) < 0) {
            c->fatal = -ENOMEM;
        } else {
            wake(c);
            if (c->o->state && (v = crawl_state_url(c->o->state, 'A', url, depth, hops, parent)) < 0)
                c->fatal = v;
        }
        break;
    }
    case CRAWL_OFFSITE:
        if (c->o->state && (v = crawl_state_url(c->o->state, 'S', url, depth, hops, parent)) < 0)
            c->fatal = v;
        c->st->offsite++;
        row.error = "offsite";
        emit(c, &row);
        break;
    case CRAWL_FILTERED: c->st->filtered++; break;
    case CRAWL_TOO_DEEP: c->st->too_deep++; break;
    case CRAWL_OVER_LIMIT: c->st->over_limit++; break;
    case CRAWL_SEEN: break;
    default: c->fatal = v; break;
    }
}

void crawl_offer_ex(crawl *c, const char *url, int depth, unsigned hops, const char *parent, bool sitemap)
{
    offer_ex(c, url, depth, hops, parent, sitemap);
}

static void offer(crawl *c, const char *url, int depth, unsigned hops, const char *parent)
{
    offer_ex(c, url, depth, hops, parent, false);
}

/* A sitemap's or robots.txt's own spelling of a URL, made canonical. */
static void offer_loc(crawl *c, const char *loc, int depth, const char *parent, bool sitemap)
{
    char *url;
    int rc = crawl_url_normalize(loc, &url);
    if (rc == 0) {
        offer_ex(c, url, depth, 0, parent, sitemap);
        free(url);
    } else if (rc == -ENOMEM) {
        c->fatal = rc;
    } else {
        bad_link(c, loc, depth, parent, rc, false);
    }
}

/* RFC 9309 2.3.1: 2xx obeyed, 4xx allows all, anything else refuses all.
 * A robots.txt that refuses all for want of an answer gets a row of its
 * own, so the summary says why nothing on that origin was fetched. */
static int fetch_robots(crawl *c, crawl_host *h, origin *o)
{
    char *url;
    if (asprintf(&url, "%s/robots.txt", h->key) < 0)
        return -ENOMEM;
    tulip_http_reply *r = NULL;
    tulip_update_time();
    int64_t t = tulip_now();
    int rc = c->o->state ? crawl_state_get(c->o->state, c->robots_http, url, true, &r)
                         : tulip_http_get(c->robots_http, url, &r);
    tulip_update_time();
    int64_t ns = tulip_now() - t;
    if (rc == -ECANCELED || rc == -ENOMEM) {
        free(url);
        return rc;
    }
    if (rc == 0 && r->status >= 200 && r->status < 300) {
        o->robots = crawl_robots_parse(r->body, r->body_len, c->o->user_agent);
    } else if (rc == 0 && r->status >= 400 && r->status < 500) {
        o->robots = crawl_robots_parse("", 0, c->o->user_agent);
    } else {
        o->robots = crawl_robots_new_disallow_all();
        c->st->fetched++;
        if (rc < 0) {
            error_row(c, url, 0, NULL, crawl_error_kind(rc), ns);
        } else {
            c->st->status[r->status / 100 < 6 ? r->status / 100 : 5]++;
            crawl_row row = { .url = url, .status = r->status, .bytes = r->body_len, .elapsed_ns = ns };
            emit(c, &row);
        }
    }
    free(url);
    tulip_http_reply_free(r);
    return o->robots ? 0 : -ENOMEM;
}

/* The robots.txt state of h, created on first use; NULL on -ENOMEM. */
static origin *origin_of(crawl_host *h)
{
    if (!h->data) {
        origin *o = calloc(1, sizeof *o);
        if (!o)
            return NULL;
        tulip_event_init(&o->ready);
        o->home = -1;
        h->data = o;
    }
    return h->data;
}

/* Make sure h's robots.txt is known.  1: it was fetched now (a request to
 * h started: the URL in hand must wait its turn), 0: known already, < 0
 * error. */
static int ensure_robots(crawl *c, crawl_host *h)
{
    origin *o = origin_of(h);
    if (!o)
        return -ENOMEM;
    if (c->lp && o->home != (int)c->self)
        return crawl_loops_robots_wait(c, h);
    while (!o->robots) {
        if (o->fetching) {
            int rc = tulip_event_wait(&o->ready);
            if (rc < 0)
                return rc;
            continue;
        }
        o->fetching = true;
        int64_t t = tulip_now();
        crawl_frontier_started(c->f, h, t);
        int rc = fetch_robots(c, h, o);
        o->fetching = false;
        tulip_event_set(&o->ready);
        if (rc < 0)
            return rc;
        crawl_frontier_set_crawl_delay(c->f, h, crawl_robots_crawl_delay_ms(o->robots));
        if (c->lp)
            crawl_loops_robots_known(c, h);
        size_t nsm;
        const char *const *sm = crawl_robots_sitemaps(o->robots, &nsm);
        for (size_t i = 0; i < nsm; i++)
            offer_loc(c, sm[i], 1, NULL, true);
        return 1;
    }
    return 0;
}

int crawl_ensure_robots(crawl *c, crawl_host *h) { return ensure_robots(c, h); }

static void backoff(crawl *c, crawl_host *h, int64_t until)
{
    crawl_frontier_backoff(c->f, h, until);
    if (c->lp)
        crawl_loops_backoff(c, h, until);
}

/* 1 allowed, 0 refused, < 0 error. */
static int robots_allow(const crawl_host *h, const char *url)
{
    const origin *o = h->data;
    const char *auth, *target;
    size_t alen;
    if (crawl_url_canonical_authority(url, &auth, &alen, &target) == 0)
        return crawl_robots_allowed(o->robots, target);
    crawl_url_parts p;
    int rc = crawl_url_split(url, &p);
    if (rc)
        return rc;
    rc = crawl_robots_allowed(o->robots, p.target);
    crawl_url_parts_free(&p);
    return rc;
}

typedef struct parse_job {
    char *html;
    size_t len;
    char *url;
    crawl_links out;
} parse_job;

static int parse_job_run(void *arg)
{
    parse_job *j = arg;
    return crawl_links_extract(j->html, j->len, j->url, &j->out);
}

static void parse_job_free(void *arg)
{
    parse_job *j = arg;
    crawl_links_free(&j->out);
    free(j->html);
    free(j->url);
    free(j);
}

static int extract(const char *url, const char *body, size_t len, crawl_links *out)
{
    size_t tags;
    len = crawl_links_cut(body, len < CRAWL_MAX_PARSE ? len : CRAWL_MAX_PARSE, CRAWL_MAX_TAGS, &tags);
    /* Bytes count too: gumbo is quadratic in the attributes of one tag, and
     * a 4 MiB tag of duplicate attributes is one tag. */
    if (tags <= CRAWL_INLINE_TAGS && len <= CRAWL_INLINE_BYTES)
        return crawl_links_extract(body, len, url, out);
    parse_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->html = malloc(len ? len : 1);
    j->url = strdup(url);
    if (!j->html || !j->url) {
        parse_job_free(j);
        return -ENOMEM;
    }
    memcpy(j->html, body, len);
    j->len = len;
    int rc = tulip_run_blocking_ex(parse_job_run, j, 0, parse_job_free);
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        return rc; /* abandoned: parse_job_free runs when the job ends */
    *out = j->out;
    memset(&j->out, 0, sizeof j->out);
    parse_job_free(j);
    return rc;
}

/* A page answered 304 to --recrawl: the links whose rows the crawl before
 * wrote from it (offsite URLs, hrefs that are no URL) are offered again
 * (its body, and so its links, did not come), so the recrawl has their
 * rows as the first crawl had, and journals them for the next one. */
typedef struct links_again {
    crawl *c;
    const crawl_item *it;
} links_again;

static int offer_again(void *arg, const crawl_recrawl_link *l)
{
    links_again *a = arg;
    /* the page's depth now decides */
    if (l->kind == 'B')
        bad_link(a->c, l->url, a->it->depth + 1, a->it->url, l->err, true);
    else
        offer(a->c, l->url, a->it->depth + 1, l->hops, a->it->url);
    return a->c->fatal;
}

static const char *host_note(const crawl_host *h)
{
    return h->crawl_delay_capped ? "crawl-delay-capped" : NULL;
}

/* One attempt at it.  Returns 1 when it is to be tried again (the host
 * backs off first), 0 when it is finished, < 0 on a fatal error. */
static int fetch(crawl *c, crawl_item *it, crawl_host *h)
{
    crawl_stats *st = c->st;
    /* The politeness clock and the row's time take the clock itself, not
     * the loop's time cached when this iteration began: an answer read
     * without waiting (the server ran meanwhile on another core) would
     * otherwise end before the server saw the request, and the host's next
     * request could go out early. */
    tulip_update_time();
    int64_t t = tulip_now();
    crawl_frontier_started(c->f, h, t);
    it->attempts++;
    tulip_http_reply *r = NULL;
    int rc = c->o->state ? crawl_state_get(c->o->state, c->http, it->url, false, &r)
                         : tulip_http_get(c->http, it->url, &r);
    tulip_update_time();
    int64_t ns = tulip_now() - t;
    if (rc == -ECANCELED)
        return rc;
    /* an answer --recrawl reused was no request: it takes no politeness
     * slot and says nothing of the host's response time */
    bool reused = rc == 0 && c->o->state && crawl_state_reused(c->o->state);
    if (reused)
        crawl_frontier_unstarted(c->f, h);
    int status = rc == 0 ? r->status : 0;
    bool again = it->attempts <= c->o->retries && crawl_retryable(status, rc);
    if (again) {
        const char *ra = rc == 0 ? tulip_http_reply_header(r, "Retry-After", NULL) : NULL;
        int64_t wait = crawl_retry_wait_ns(++h->failures, crawl_retry_after_ns(ra, time(NULL)), c->o->backoff_ns);
        backoff(c, h, tulip_now() + wait);
        st->retries++;
        crawl_row row = { .url = it->url, .status = status, .elapsed_ns = ns, .depth = it->depth,
                          .error = rc < 0 ? crawl_error_kind(rc) : NULL, .parent = it->parent,
                          .attempts = it->attempts, .retry = 1, .note = host_note(h) };
        emit(c, &row);
        tulip_http_reply_free(r);
        crawl_frontier_done(c->f, h, tulip_now(), -1);
        return 1;
    }
    h->failures = 0;
    if (rc == 0 && (status == 429 || status == 503)) {
        /* the host asked for air: give it even when this URL is done */
        int64_t ra = crawl_retry_after_ns(tulip_http_reply_header(r, "Retry-After", NULL), time(NULL));
        if (ra >= 0)
            backoff(c, h, tulip_now() + crawl_retry_wait_ns(1, ra, 0));
    }
    crawl_frontier_done(c->f, h, tulip_now(), rc == 0 && !reused ? ns : -1);
    if (reused)
        st->reused++; /* no request went out: not a fetch */
    else
        st->fetched++;
    if (rc < 0) {
        /* the URL is http(s): here it means a reply in another HTTP version */
        c->st->errors++;
        const char *kind = rc == -EPROTONOSUPPORT ? "unsupported-protocol" : crawl_error_kind(rc);
        count_kind(c->st, kind);
        crawl_row row = { .url = it->url, .depth = it->depth, .error = kind, .parent = it->parent,
                          .elapsed_ns = ns, .attempts = it->attempts, .note = host_note(h) };
        emit(c, &row);
        return 0;
    }
    st->status[r->status / 100]++;
    st->bytes += r->body_len;
    const char *ctype = tulip_http_reply_header(r, "Content-Type", NULL);
    const char *loc = r->status >= 300 && r->status < 400 ? tulip_http_reply_header(r, "Location", NULL) : NULL;
    char *target = NULL;
    int lrc = loc ? crawl_url_resolve(it->url, loc, &target) : 0;
    crawl_row row = { .url = it->url, .status = r->status, .bytes = r->body_len, .elapsed_ns = ns,
                      .depth = it->depth, .content_type = ctype, .location = target ? target : loc,
                      .parent = it->parent, .attempts = it->attempts, .note = host_note(h) };
    row.note = reused ? "fresh-not-fetched" : row.note; /* recrawl_fresh.h */
    crawl_sitemap sm = { 0 };
    if (it->sitemap && r->status == 200) {
        int src = crawl_sitemap_parse(r->body, r->body_len, &sm);
        if (src == -ENOMEM) {
            tulip_http_reply_free(r);
            return src;
        }
        if (src < 0) {
            row.error = src == -EFBIG ? "sitemap-too-large" : "sitemap-xml";
            st->errors++;
            count_kind(st, row.error);
        }
    }
    emit(c, &row);
    if (r->status == 304 && c->o->state) {
        links_again a = { c, it };
        if ((rc = crawl_state_links(c->o->state, it->url, offer_again, &a)) < 0 && !c->fatal)
            c->fatal = rc;
    }
    for (size_t i = 0; i < sm.n; i++)
        offer_loc(c, sm.locs[i], it->depth + 1, it->url, sm.index);
    crawl_sitemap_free(&sm);
    if (loc && lrc == 0) {
        if (it->hops + 1 > c->o->max_redirects)
            error_row(c, target, it->depth + 1, it->url, "too-many-redirects", 0);
        else
            offer_ex(c, target, it->depth + 1, it->hops + 1, it->url, it->sitemap);
    } else if (loc && lrc != -ENOMEM) {
        st->bad_links++;
        crawl_row bad = { .url = loc, .depth = it->depth + 1, .parent = it->url, .error = crawl_error_kind(lrc) };
        emit(c, &bad);
    }
    free(target);
    bool deeper = c->o->max_depth < 0 || it->depth < c->o->max_depth;
    if (r->status == 200 && !it->sitemap && crawl_is_html(ctype) && deeper) {
        crawl_links l;
        rc = extract(it->url, r->body, r->body_len, &l);
        if (rc == 0) {
            st->links += l.n;
            for (size_t i = 0; i < l.n; i++)
                offer(c, l.urls[i], it->depth + 1, 0, it->url);
            for (size_t i = 0; i < l.nrejected; i++)
                bad_link(c, l.rejected[i], it->depth + 1, it->url, l.rejected_err[i], true);
            if (c->o->state && (rc = crawl_state_outlinks(c->o->state, it->depth, ns, l.urls, l.n)) == -ENOMEM)
                c->fatal = rc;
            crawl_links_free(&l);
        } else if (rc != -ECANCELED && rc != -ETIMEDOUT) {
            count_kind(st, rc == -ENOMEM ? "out-of-memory" : "parse");
        }
    }
    tulip_http_reply_free(r);
    return rc == -ECANCELED || rc == -ETIMEDOUT ? rc : 0;
}

/* it goes back to the front of h's queue (its strings are taken). */
static int give_back(crawl *c, crawl_host *h, crawl_item *it)
{
    if (!c->o->remote)
        return crawl_push(c, h, it, true);
    int rc = c->o->remote->complete(c->o->remote->self, h->key, it, true, h->next_ok - tulip_now(),
                                    crawl_frontier_interval(c->f, h));
    free(it->url);
    free(it->parent);
    return rc;
}

/* Take a URL whose host is ready: 1, or 0 with *wake_at, or < 0. */
static int take(crawl *c, crawl_item *it, crawl_host **h, int64_t *wake_at)
{
    if (!c->o->remote)
        return crawl_frontier_pop(c->f, tulip_now(), it, h, wake_at);
    int rc = c->o->remote->claim(c->o->remote->self, it, wake_at);
    if (rc == 1 && !(*h = host_of(c, it->url))) {
        free(it->url);
        free(it->parent);
        return -ENOMEM;
    }
    return rc;
}

/* Work on one URL taken from h.  Sets it->url to NULL when it went back to
 * the frontier.  Returns 0 or a fatal error. */
static int visit(crawl *c, crawl_item *it, crawl_host *h)
{
    crawl_stats *st = c->st;
    if (!c->o->ignore_robots) {
        int rc = ensure_robots(c, h);
        if (rc == 1) {
            /* robots.txt was this turn's request: the URL waits for the next */
            crawl_frontier_done(c->f, h, tulip_now(), -1);
            rc = give_back(c, h, it);
            it->url = it->parent = NULL;
            return rc;
        }
        const origin *og = h->data;
        if (rc == 0 && c->lp && og->at_home && og->home != (int)c->self) {
            /* its robots.txt asks for an interval: home fetches it */
            crawl_frontier_done(c->f, h, tulip_now(), -1);
            return crawl_loops_place(c, h, it);
        }
        if (rc == 0)
            rc = robots_allow(h, it->url);
        if (rc == -ECANCELED || rc == -ETIMEDOUT || rc == -ENOMEM) {
            crawl_frontier_done(c->f, h, tulip_now(), -1);
            return rc;
        }
        if (rc == 0) {
            crawl_frontier_done(c->f, h, tulip_now(), -1);
            st->robots++;
            crawl_row row = { .url = it->url, .depth = it->depth, .parent = it->parent, .error = "robots" };
            emit(c, &row);
            return 0;
        }
    }
    int rc = fetch(c, it, h);
    if (rc == 1) {
        rc = give_back(c, h, it);
        it->url = it->parent = NULL;
    }
    return rc;
}

/* Take the next URL whose host is ready, waiting for one.  -ESHUTDOWN when
 * the crawl is over. */
static int next_item(crawl *c, crawl_item *it, crawl_host **h)
{
    for (;;) {
        if (c->closed)
            return -ESHUTDOWN;
        int64_t wake_at;
        int got = take(c, it, h, &wake_at);
        if (got == -ESHUTDOWN)
            close_crawl(c); /* nothing queued or leased anywhere */
        if (got < 0)
            return got;
        if (got == 1) {
            c->active++;
            /* a shorter path may have reached it while it waited */
            int d = crawl_scope_depth(c->scope, it->url);
            if (d >= 0 && d < it->depth)
                it->depth = d;
            return 0;
        }
        if (!c->lp && !c->o->remote && c->active == 0 && wake_at == INT64_MAX) {
            close_crawl(c); /* nothing queued, nobody to queue more */
            return -ESHUTDOWN;
        }
        tulip_scope s;
        tulip_scope_enter(&s, wake_at == INT64_MAX ? TULIP_FOREVER : wake_at);
        int rc = tulip_lock_acquire(&c->mu);
        if (rc == 0) {
            c->waiting++;
            rc = tulip_cond_wait(&c->cv, &c->mu);
            c->waiting--;
            tulip_lock_release(&c->mu);
        }
        if (tulip_scope_exit(&s) == 0 && rc < 0)
            return rc; /* cancelled from outside */
    }
}

static int worker_loop(crawl *c);

static int worker(void *arg)
{
    crawl *c = arg;
    int rc = worker_loop(c);
    if (--c->live == 0)
        tulip_event_set(&c->ended);
    return rc;
}

static int worker_loop(crawl *c)
{
    for (;;) {
        crawl_item it;
        crawl_host *h;
        int rc = next_item(c, &it, &h);
        if (rc < 0)
            return rc == -ESHUTDOWN ? 0 : rc;
        c->st->in_flight++;
        rc = c->o->state ? crawl_state_begin(c->o->state) : 0;
        if (rc == 0)
            rc = visit(c, &it, h);
        /* The visit's rows, records and URLs, and its done line (none when
         * the URL went back to the frontier), in one go. */
        if (rc == 0 && c->o->state)
            rc = crawl_state_commit(c->o->state, it.url, it.depth, 0);
        if (rc == 0 && c->o->remote && it.url) /* after its links were discovered */
            rc = c->o->remote->complete(c->o->remote->self, h->key, &it, false, h->next_ok - tulip_now(),
                                        crawl_frontier_interval(c->f, h));
        c->st->in_flight--;
        c->active--;
        free(it.url);
        free(it.parent);
        if (rc == 0 && c->fatal)
            rc = c->fatal;
        if (rc < 0) {
            if (!c->fatal)
                c->fatal = rc;
            close_crawl(c);
            if (c->lp)
                crawl_loops_fail(c, rc);
            return rc;
        }
        /* a host may be free again, or the crawl may be over */
        if (c->lp) {
            crawl_loops_flush(c, 1); /* what the page found, less the page */
            wake(c);
        } else if (c->active == 0 && crawl_frontier_queued(c->f) == 0 && !c->o->remote) {
            close_crawl(c);
        } else {
            wake(c);
        }
    }
}

static int ticker(void *arg)
{
    crawl *c = arg;
    for (;;) {
        if (tulip_sleep(c->o->tick_ns) < 0)
            return 0;
        c->st->queued = crawl_frontier_queued(c->f);
        c->st->elapsed_ns = tulip_now() - c->t0;
        if (c->lp)
            crawl_loops_tick(c); /* loop 0 shows the sum */
        else
            c->o->on_tick(c->o->tick_arg, c->st);
    }
}

/* --resume: the journal's URLs become seen again, and those admitted
 * whose visit was not committed go back to the frontier. */
static int replay_one(void *arg, char kind, const char *url, int depth, unsigned hops, const char *parent,
                      bool done)
{
    crawl *c = arg;
    if (kind == 'F')
        return crawl_scope_first(c->scope, url) < 0 ? -ENOMEM : 0;
    int v = crawl_scope_admit(c->scope, url, depth);
    if (v < 0)
        return v;
    if (kind != 'A' || done || v != CRAWL_ADMIT)
        return 0;
    crawl_host *h = host_of(c, url);
    crawl_item it = { .url = strdup(url), .parent = parent ? strdup(parent) : NULL, .depth = depth, .hops = hops };
    if (!h || !it.url || (parent && !it.parent) || crawl_push(c, h, &it, false) < 0) {
        free(it.url);
        free(it.parent);
        return -ENOMEM;
    }
    return 0;
}

static tulip_http_client *client(const crawl_opts *o, unsigned per_host, unsigned redirects)
{
    tulip_http_client_opts h;
    tulip_http_client_opts_init(&h);
    h.per_host = per_host;
    h.timeout = o->timeout_ns;
    h.max_redirects = redirects;
    h.max_body = o->max_body;
    h.user_agent = o->user_agent;
    return tulip_http_client_new(&h);
}

int crawl_setup(crawl *c, const crawl_opts *o, crawl_stats *st, const char *start, unsigned concurrency)
{
    memset(c, 0, sizeof *c);
    c->o = o;
    c->st = st;
    c->t0 = tulip_now();
    c->concurrency = concurrency;
    unsigned per_host = o->per_host ? o->per_host : o->concurrency;
    crawl_scope_opts so = { .start = start, .any_host = o->any_host, .max_depth = o->max_depth,
                            .max_pages = o->max_pages, .patterns = o->patterns };
    crawl_frontier_opts fo = { .dfs = o->dfs, .delay_ns = o->delay_ns, .jitter_pct = o->delay_jitter,
                               .adaptive = o->adaptive, .max_delay_ns = o->max_delay_ns,
                               .max_crawl_delay_ns = o->max_crawl_delay_ns, .per_host = per_host,
                               .seed = (uint64_t)c->t0 };
    tulip_lock_init(&c->mu);
    tulip_cond_init(&c->cv);
    tulip_event_init(&c->ended);
    c->scope = crawl_scope_new(&so);
    c->f = crawl_frontier_new(&fo);
    c->http = client(o, per_host, 0);
    c->robots_http = client(o, 1, 5);
    c->g = tulip_group_new();
    return c->scope && c->f && c->http && c->robots_http && c->g ? 0 : -ENOMEM;
}

int crawl_work(crawl *c, int rc)
{
    const crawl_opts *o = c->o;
    unsigned spawned = 0;
    for (; rc == 0 && spawned < c->concurrency; spawned++)
        if ((rc = tulip_group_spawn(c->g, worker, c)) == 0)
            c->live++;
    tulip_task *tick = rc == 0 && o->on_tick ? tulip_spawn(ticker, c) : NULL;
    if (rc < 0)
        close_crawl(c);
    if (c->g && rc == 0 && o->state && spawned && tulip_event_wait(&c->ended) == -ECANCELED) {
        /* Ctrl-C with --state: the visits in flight end and commit, so
         * --resume fetches none of them again (what is queued is
         * journaled); the workers are waited for, not cancelled. */
        rc = -ECANCELED;
        close_crawl(c);
        tulip_scope drain;
        tulip_scope_enter_shielded(&drain, TULIP_FOREVER);
        tulip_event_wait(&c->ended);
        tulip_scope_exit(&drain);
    }
    if (c->g) {
        /* a failing worker or the caller's cancellation cancels the rest,
         * and they are waited for */
        int grc = tulip_group_wait(c->g);
        if (rc == 0 && grc < 0)
            rc = grc;
        tulip_group_free(c->g);
        c->g = NULL;
    }
    tulip_scope shield;
    tulip_scope_enter_shielded(&shield, TULIP_FOREVER);
    if (tick) {
        tulip_cancel(tick);
        tulip_join(tick);
    }
    tulip_scope_exit(&shield);
    if (rc == 0)
        rc = c->fatal;
    return rc;
}

void crawl_release_loop(crawl *c)
{
    tulip_http_client_free(c->http);
    tulip_http_client_free(c->robots_http);
    c->http = c->robots_http = NULL;
}

void crawl_release(crawl *c)
{
    crawl_stats *st = c->st;
    if (!c->lp) {
        st->hosts = c->f ? crawl_frontier_hosts(c->f) : 0;
        st->seen_bytes = c->scope ? crawl_scope_bytes(c->scope) : 0;
        st->seen = c->scope ? crawl_scope_admitted(c->scope) : 0;
    }
    for (size_t i = 0; c->f && i < crawl_frontier_hosts(c->f); i++) {
        crawl_host *h = crawl_frontier_host_at(c->f, i);
        origin *og = h->data;
        if (h->crawl_delay_capped && (!og || og->home < 0 || og->home == (int)c->self))
            st->capped_hosts++;
        if (og) {
            if (!og->borrowed)
                crawl_robots_free(og->robots);
            free(og);
        }
        h->data = NULL;
    }
    crawl_frontier_free(c->f);
    crawl_scope_free(c->scope);
    c->f = NULL;
    c->scope = NULL;
    tulip_group_free(c->g);
    c->g = NULL;
}

int crawl_offer_start(crawl *c, const char *start)
{
    offer(c, start, 0, 0, NULL);
    if (c->o->sitemap)
        offer_loc(c, c->o->sitemap, 0, NULL, true);
    return c->fatal;
}

int crawl_run(const crawl_opts *o, crawl_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!o || !o->url || o->concurrency == 0 || o->timeout_ns <= 0 || o->max_body == 0 ||
        !o->user_agent || (o->on_tick && o->tick_ns <= 0) || o->delay_ns < 0 || o->delay_jitter > 100)
        return -EINVAL;
    char *start;
    int rc = crawl_url_normalize(o->url, &start);
    if (rc)
        return rc == -ENOMEM ? rc : -EINVAL;
    if (o->loops > 1) {
        rc = crawl_run_loops(o, st, start);
        free(start);
        return rc;
    }
    crawl c;
    rc = crawl_setup(&c, o, st, start, o->concurrency);
    if (rc == 0 && o->state && crawl_state_resuming(o->state))
        rc = crawl_state_replay(o->state, replay_one, &c);
    else if (rc == 0)
        rc = crawl_offer_start(&c, start);
    rc = crawl_work(&c, rc);
    crawl_release_loop(&c);
    crawl_release(&c);
    free(start);
    st->queued = 0;
    st->elapsed_ns = tulip_now() - c.t0;
    return rc;
}
