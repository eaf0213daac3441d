#define _GNU_SOURCE
#include "crawler.h"
#include "links.h"
#include "robots.h"
#include "scope.h"
#include "url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <tulip.h>

typedef struct item {
    char *url;
    char *parent;
    int depth;
    unsigned hops;     /* redirects that led here */
} item;

/* robots.txt state of one scheme://host:port. */
typedef struct origin {
    struct origin *next;
    char *key;
    crawl_robots *robots;
    bool fetching;
    tulip_event ready;
} origin;

typedef struct crawl {
    const crawl_opts *o;
    crawl_stats *st;
    crawl_scope *scope;
    tulip_queue *q;
    tulip_http_client *http, *robots_http;
    origin *origins;
    int64_t t0;
    int fatal;
} crawl;

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

/* Offer a URL found at depth from parent. */
static void offer(crawl *c, const char *url, int depth, unsigned hops, const char *parent)
{
    int v = crawl_scope_admit(c->scope, url, depth);
    crawl_row row = { .url = url, .depth = depth, .parent = parent };
    switch (v) {
    case CRAWL_ADMIT: {
        item it = { .url = strdup(url), .parent = parent ? strdup(parent) : NULL,
                    .depth = depth, .hops = hops };
        if (!it.url || (parent && !it.parent) || tulip_queue_try_put(c->q, &it) < 0) {
            free(it.url);
            free(it.parent);
            c->fatal = -ENOMEM;
        }
        break;
    }
    case CRAWL_OFFSITE:
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

static origin *origin_of(crawl *c, const char *url)
{
    /* Queued URLs are canonical: the key is the string up to the end of
     * the authority, found without a parse per page. */
    const char *auth;
    size_t alen;
    if (crawl_url_canonical_authority(url, &auth, &alen, NULL) == 0) {
        size_t klen = (size_t)(auth + alen - url);
        for (origin *o = c->origins; o; o = o->next)
            if (strncmp(o->key, url, klen) == 0 && o->key[klen] == 0)
                return o;
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
    for (origin *o = c->origins; o; o = o->next)
        if (strcmp(o->key, key) == 0) {
            free(key);
            return o;
        }
    origin *o = calloc(1, sizeof *o);
    if (!o) {
        free(key);
        return NULL;
    }
    o->key = key;
    tulip_event_init(&o->ready);
    o->next = c->origins;
    c->origins = o;
    return o;
}

/* RFC 9309 2.3.1: 2xx obeyed, 4xx allows all, anything else refuses all.
 * A robots.txt that refuses all for want of an answer gets a row of its
 * own, so the summary says why nothing on that origin was fetched. */
static int fetch_robots(crawl *c, origin *o)
{
    char *url;
    if (asprintf(&url, "%s/robots.txt", o->key) < 0)
        return -ENOMEM;
    tulip_http_reply *r = NULL;
    int64_t t = tulip_now();
    int rc = tulip_http_get(c->robots_http, url, &r);
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

/* 1 allowed, 0 refused, < 0 error. */
static int robots_allow(crawl *c, const char *url)
{
    origin *o = origin_of(c, url);
    if (!o)
        return -ENOMEM;
    while (!o->robots) {
        if (o->fetching) {
            int rc = tulip_event_wait(&o->ready);
            if (rc < 0)
                return rc;
            continue;
        }
        o->fetching = true;
        int rc = fetch_robots(c, o);
        o->fetching = false;
        tulip_event_set(&o->ready);
        if (rc < 0)
            return rc;
    }
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

static bool is_html(const char *ctype)
{
    if (!ctype)
        return false;
    size_t n = strcspn(ctype, "; \t");
    return (n == 9 && strncasecmp(ctype, "text/html", 9) == 0) ||
           (n == 21 && strncasecmp(ctype, "application/xhtml+xml", 21) == 0);
}

static int visit(crawl *c, const item *it)
{
    crawl_stats *st = c->st;
    if (!c->o->ignore_robots) {
        int rc = robots_allow(c, it->url);
        if (rc == -ECANCELED || rc == -ETIMEDOUT || rc == -ENOMEM)
            return rc;
        if (rc == 0) {
            st->robots++;
            crawl_row row = { .url = it->url, .depth = it->depth, .parent = it->parent, .error = "robots" };
            emit(c, &row);
            return 0;
        }
    }
    int64_t t = tulip_now();
    tulip_http_reply *r = NULL;
    int rc = tulip_http_get(c->http, it->url, &r);
    int64_t ns = tulip_now() - t;
    if (rc == -ECANCELED)
        return rc;
    st->fetched++;
    if (rc < 0) {
        /* the URL is http(s): here it means a reply in another HTTP version */
        error_row(c, it->url, it->depth, it->parent,
                  rc == -EPROTONOSUPPORT ? "unsupported-protocol" : crawl_error_kind(rc), ns);
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
                      .parent = it->parent };
    emit(c, &row);
    if (loc && lrc == 0) {
        if (it->hops + 1 > c->o->max_redirects)
            error_row(c, target, it->depth + 1, it->url, "too-many-redirects", 0);
        else
            offer(c, target, it->depth + 1, it->hops + 1, it->url);
    } else if (loc && lrc != -ENOMEM) {
        st->bad_links++;
        crawl_row bad = { .url = loc, .depth = it->depth + 1, .parent = it->url, .error = crawl_error_kind(lrc) };
        emit(c, &bad);
    }
    free(target);
    bool deeper = c->o->max_depth < 0 || it->depth < c->o->max_depth;
    if (r->status == 200 && is_html(ctype) && deeper) {
        crawl_links l;
        rc = extract(it->url, r->body, r->body_len, &l);
        if (rc == 0) {
            st->links += l.n;
            for (size_t i = 0; i < l.n; i++)
                offer(c, l.urls[i], it->depth + 1, 0, it->url);
            for (size_t i = 0; i < l.nrejected; i++)
                if (crawl_scope_first(c->scope, l.rejected[i]) == 1) {
                    st->bad_links++;
                    crawl_row bad = { .url = l.rejected[i], .depth = it->depth + 1, .parent = it->url,
                                      .error = crawl_error_kind(l.rejected_err[i]) };
                    emit(c, &bad);
                }
            crawl_links_free(&l);
        } else if (rc != -ECANCELED && rc != -ETIMEDOUT) {
            count_kind(st, rc == -ENOMEM ? "out-of-memory" : "parse");
        }
    }
    tulip_http_reply_free(r);
    return rc == -ECANCELED || rc == -ETIMEDOUT ? rc : 0;
}

static int worker(void *arg)
{
    crawl *c = arg;
    for (;;) {
        item it;
        int rc = tulip_queue_get(c->q, &it);
        if (rc < 0)
            return rc == -ESHUTDOWN ? 0 : rc;
        c->st->in_flight++;
        rc = visit(c, &it);
        c->st->in_flight--;
        free(it.url);
        free(it.parent);
        if (rc == 0 && c->fatal)
            rc = c->fatal;
        if (rc < 0) {
            /* Discards what is queued and counts it done, so the join in
             * crawl_run returns. */
            tulip_queue_shutdown(c->q, 1);
            tulip_queue_task_done(c->q);
            return rc;
        }
        tulip_queue_task_done(c->q);
    }
}

static int ticker(void *arg)
{
    crawl *c = arg;
    for (;;) {
        if (tulip_sleep(c->o->tick_ns) < 0)
            return 0;
        c->st->queued = tulip_queue_size(c->q);
        c->st->elapsed_ns = tulip_now() - c->t0;
        c->o->on_tick(c->o->tick_arg, c->st);
    }
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

int crawl_run(const crawl_opts *o, crawl_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!o || !o->url || o->concurrency == 0 || o->timeout_ns <= 0 || o->max_body == 0 ||
        !o->user_agent || (o->on_tick && o->tick_ns <= 0))
        return -EINVAL;
    crawl c = { .o = o, .st = st, .t0 = tulip_now() };
    char *start;
    int rc = crawl_url_normalize(o->url, &start);
    if (rc)
        return rc == -ENOMEM ? rc : -EINVAL;
    crawl_scope_opts so = { .start = start, .any_host = o->any_host, .max_depth = o->max_depth,
                            .max_pages = o->max_pages, .patterns = o->patterns };
    c.scope = crawl_scope_new(&so);
    c.q = tulip_queue_new(sizeof(item), 0, TULIP_QUEUE_FIFO, NULL);
    c.http = client(o, o->per_host ? o->per_host : o->concurrency, 0);
    c.robots_http = client(o, 1, 5);
    tulip_group *g = tulip_group_new();
    rc = c.scope && c.q && c.http && c.robots_http && g ? 0 : -ENOMEM;
    unsigned spawned = 0;
    if (rc == 0)
        offer(&c, start, 0, 0, NULL);
    for (; rc == 0 && spawned < o->concurrency; spawned++)
        rc = tulip_group_spawn(g, worker, &c);
    tulip_task *tick = rc == 0 && o->on_tick ? tulip_spawn(ticker, &c) : NULL;
    if (rc == 0 && spawned)
        rc = tulip_queue_join(c.q);
    if (c.q)
        tulip_queue_shutdown(c.q, rc < 0);
    tulip_scope shield;
    tulip_scope_enter_shielded(&shield, TULIP_FOREVER);
    if (g) {
        if (rc < 0)
            tulip_group_cancel(g);
        int grc = tulip_group_wait(g);
        if (rc == 0 && grc < 0)
            rc = grc;
        tulip_group_free(g);
    }
    if (tick) {
        tulip_cancel(tick);
        tulip_join(tick);
    }
    tulip_scope_exit(&shield);
    if (rc == 0)
        rc = c.fatal;
    item it;
    while (c.q && tulip_queue_try_get(c.q, &it) == 0) {
        free(it.url);
        free(it.parent);
    }
    tulip_queue_free(c.q);
    tulip_http_client_free(c.http);
    tulip_http_client_free(c.robots_http);
    for (origin *n; c.origins; c.origins = n) {
        n = c.origins->next;
        crawl_robots_free(c.origins->robots);
        free(c.origins->key);
        free(c.origins);
    }
    crawl_scope_free(c.scope);
    free(start);
    st->queued = 0;
    st->elapsed_ns = tulip_now() - c.t0;
    return rc;
}
