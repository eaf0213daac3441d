#define _GNU_SOURCE
#include "demo.h"
#include "buf.h"
#include "encode.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <tulip.h>

typedef struct host_ctx {
    struct crawl_demo *d;
    unsigned k;
    char origin[80];
    tulip_http_server *srv;
    tulip_task *task;          /* serving task (crawl_demo_start) */
} host_ctx;

struct crawl_demo {
    crawl_site *site;
    crawl_demo_opts o;
    char address[64];
    char origin[80];
    int port;
    tulip_http_server *srv;    /* = hosts[0].srv */
    host_ctx hosts[CRAWL_SITE_MAX_HOSTS];
    unsigned nhosts;
    pthread_mutex_t log_mu;    /* the log and the attempt counts */
    crawl_demo_hit *log;
    size_t nlog, log_cap;
    char **asked;              /* "host target" asked before (every_429) */
    size_t nasked, asked_cap;
    /* crawl_demo_start_thread */
    pthread_t thread;
    bool threaded;
    tulip_loop *loop;          /* the thread's loop, for the stop request */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started;               /* 0 not yet, 1 listening, < 0 failed */
    atomic_uint_fast64_t encoded;
};

/* How many times host k was asked for target before (only counted when a
 * switch needs it: a linear scan, fine for test-sized sites). */
static unsigned asked_before(crawl_demo *d, unsigned k, const char *target)
{
    if (!d->o.site.every_429)
        return 1;
    char *key;
    if (asprintf(&key, "%u %s", k, target) < 0)
        return 1;
    pthread_mutex_lock(&d->log_mu);
    unsigned seen = 0;
    for (size_t i = 0; i < d->nasked && !seen; i++)
        seen = strcmp(d->asked[i], key) == 0;
    char **v = seen ? NULL : crawl_grow(d->asked, &d->asked_cap, d->nasked, sizeof *v, 64);
    if (v) {
        d->asked = v;
        d->asked[d->nasked++] = key;
        key = NULL;
    }
    pthread_mutex_unlock(&d->log_mu);
    free(key);
    return seen;
}

static void log_hit(crawl_demo *d, int64_t t, unsigned k, const char *target, int status)
{
    pthread_mutex_lock(&d->log_mu);
    crawl_demo_hit *v = crawl_grow(d->log, &d->log_cap, d->nlog, sizeof *v, 256);
    if (v) {
        d->log = v;
        char *copy = strdup(target);
        if (copy)
            d->log[d->nlog++] = (crawl_demo_hit){ t, k, status, copy };
    }
    pthread_mutex_unlock(&d->log_mu);
}

static const tulip_http_header *header(const tulip_http_request_view *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->num_headers; i++)
        if (req->headers[i].name_len == n && strncasecmp(req->headers[i].name, name, n) == 0)
            return &req->headers[i];
    return NULL;
}

/* Does the request's Accept-Encoding list coding (a token, q not 0)? */
static bool accepts(const tulip_http_request_view *req, const char *coding)
{
    size_t cl = strlen(coding);
    for (size_t i = 0; i < req->num_headers; i++) {
        const tulip_http_header *h = &req->headers[i];
        if (h->name_len != 15 || strncasecmp(h->name, "Accept-Encoding", 15) != 0)
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *tok = p;
            while (p < end && *p != ',' && *p != ';' && *p != ' ')
                p++;
            bool match = (size_t)(p - tok) == cl && strncasecmp(tok, coding, cl) == 0;
            const char *q = p;
            while (q < end && *q != ',')
                q++;
            if (match && !memmem(p, (size_t)(q - p), "q=0", 3))
                return true;
            p = q;
        }
    }
    return false;
}

static int handle(void *arg, const tulip_http_request_view *req, tulip_http_responder *res)
{
    host_ctx *hc = arg;
    crawl_demo *d = hc->d;
    /* the log's stamp is when the request was read, not when this loop's
     * iteration began: tests prove politeness by the gaps between stamps */
    tulip_update_time();
    int64_t t0 = tulip_now();
    char target[4096];
    if (req->target_len == 0 || req->target_len >= sizeof target || req->target[0] != '/')
        return tulip_http_respond(res, 400, "text/plain", "bad target\n", 11);
    memcpy(target, req->target, req->target_len);
    target[req->target_len] = '\0';
    if (d->o.latency_ns > 0) {
        int rc = tulip_sleep(d->o.latency_ns);
        if (rc < 0)
            return rc;
    }
    crawl_site_response r;
    int rc = crawl_site_get_ex(d->site, hc->origin, target, asked_before(d, hc->k, target), &r);
    if (rc < 0) {
        log_hit(d, t0, hc->k, target, rc == -ENOMEM ? 503 : 400);
        return tulip_http_respond(res, rc == -ENOMEM ? 503 : 400, "text/plain", "error\n", 6);
    }
    /* Validators for --recrawl: a strong ETag from the body's bytes and
     * one fixed Last-Modified (the site never changes); a request that
     * names either gets 304 without a body (RFC 9110 13.1.1, 13.1.3),
     * and with no more fields than RFC 9110 15.4.5 asks for: the ETag
     * and Date a 200 would carry (Last-Modified would only help a client
     * with no ETag), as a real server's. */
    char etag[24], lm[] = "Tue, 01 Dec 2026 00:00:00 GMT";
    uint64_t eh = 1469598103934665603ull;
    for (size_t i = 0; i < r.body_len; i++)
        eh = (eh ^ (unsigned char)r.body[i]) * 1099511628211ull;
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)eh);
    const tulip_http_header *inm = r.status == 200 ? header(req, "If-None-Match") : NULL;
    const tulip_http_header *ims = r.status == 200 && !inm ? header(req, "If-Modified-Since") : NULL;
    if ((inm && memmem(inm->value, inm->value_len, etag, strlen(etag))) ||
        (ims && ims->value_len == strlen(lm) && memcmp(ims->value, lm, ims->value_len) == 0)) {
        tulip_http_header vh[1] = { { "ETag", 4, etag, strlen(etag) } };
        log_hit(d, t0, hc->k, target, 304);
        crawl_site_response_free(&r);
        return tulip_http_respond_ex(res, 304, vh, 1, "", 0, 0);
    }
    const char *enc = d->o.encoding && r.body_len && accepts(req, d->o.encoding) ? d->o.encoding : NULL;
    char *coded = NULL;
    size_t coded_len = 0;
    if (enc && crawl_encode(enc, r.body, r.body_len, &coded, &coded_len) < 0)
        enc = NULL;
    if (enc)
        atomic_fetch_add(&d->encoded, 1);
    tulip_http_header h[6];
    size_t nh = 0;
    h[nh++] = (tulip_http_header){ "Content-Type", 12, r.content_type, strlen(r.content_type) };
    if (r.status == 200) {
        h[nh++] = (tulip_http_header){ "ETag", 4, etag, strlen(etag) };
        h[nh++] = (tulip_http_header){ "Last-Modified", 13, lm, strlen(lm) };
    }
    if (r.location)
        h[nh++] = (tulip_http_header){ "Location", 8, r.location, strlen(r.location) };
    if (r.retry_after[0])
        h[nh++] = (tulip_http_header){ "Retry-After", 11, r.retry_after, strlen(r.retry_after) };
    if (enc)
        h[nh++] = (tulip_http_header){ "Content-Encoding", 16, enc, strlen(enc) };
    log_hit(d, t0, hc->k, target, r.status);
    rc = tulip_http_respond_ex(res, r.status, h, nh, enc ? coded : r.body, enc ? coded_len : r.body_len,
                               d->o.chunked ? TULIP_HTTP_CHUNKED : 0);
    free(coded);
    crawl_site_response_free(&r);
    return rc;
}

crawl_demo *crawl_demo_new(const crawl_demo_opts *o)
{
    crawl_demo *d = calloc(1, sizeof *d);
    if (!d) {
        errno = ENOMEM;
        return NULL;
    }
    d->o = *o;
    snprintf(d->address, sizeof d->address, "%s", o->address ? o->address : "127.0.0.1:0");
    d->site = crawl_site_new(&o->site);
    if (!d->site) {
        int e = errno;
        free(d);
        errno = e;
        return NULL;
    }
    d->nhosts = crawl_site_hosts(d->site);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    pthread_mutex_init(&d->log_mu, NULL);
    return d;
}

static void close_all(crawl_demo *d)
{
    for (unsigned k = 0; k < d->nhosts; k++) {
        tulip_http_server_free(d->hosts[k].srv);
        d->hosts[k].srv = NULL;
    }
    d->srv = NULL;
}

/* Host 0 on the address, the others on 127.0.0.k+1 at the same port. */
static int listen_now(crawl_demo *d)
{
    tulip_http_server_opts so;
    tulip_http_server_opts_init(&so);
    int rc = 0;
    for (unsigned k = 0; k < d->nhosts && rc == 0; k++) {
        host_ctx *hc = &d->hosts[k];
        hc->d = d;
        hc->k = k;
        hc->srv = tulip_http_server_new(&so, handle, hc);
        if (!hc->srv) {
            rc = -errno;
            break;
        }
        char addr[64];
        if (k == 0)
            snprintf(addr, sizeof addr, "%s", d->address);
        else
            snprintf(addr, sizeof addr, "127.0.0.%u:%d", k + 1, d->port);
        rc = tulip_http_server_listen(hc->srv, addr);
        if (rc == 0 && k == 0) {
            rc = d->port = tulip_http_server_port(hc->srv);
            if (rc > 0) {
                rc = 0;
                snprintf(d->origin, sizeof d->origin, "http://127.0.0.1:%d", d->port);
            }
        }
        if (rc == 0)
            rc = crawl_site_host_origin(d->site, d->origin, k, hc->origin, sizeof hc->origin);
    }
    if (rc < 0) {
        close_all(d);
        return rc;
    }
    d->srv = d->hosts[0].srv;
    return 0;
}

int crawl_demo_start(crawl_demo *d)
{
    if (d->srv)
        return -EALREADY;
    int rc = listen_now(d);
    if (rc)
        return rc;
    for (unsigned k = 0; k < d->nhosts && rc == 0; k++) {
        d->hosts[k].task = tulip_spawn(tulip_http_server_task, d->hosts[k].srv);
        if (!d->hosts[k].task)
            rc = -errno;
    }
    if (rc) {
        crawl_demo_stop(d);
        close_all(d);
    }
    return rc;
}

static int thread_main(void *arg)
{
    crawl_demo *d = arg;
    int rc = listen_now(d);
    pthread_mutex_lock(&d->mu);
    d->loop = tulip_loop_current();
    d->started = rc ? rc : 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (rc)
        return rc;
    rc = tulip_http_server_serve(d->srv);
    pthread_mutex_lock(&d->mu);
    d->loop = NULL; /* no stop request may reach this loop any more */
    pthread_mutex_unlock(&d->mu);
    close_all(d);
    return rc;
}

static void *thread_run(void *arg)
{
    crawl_demo *d = arg;
    tulip_config cfg;
    tulip_config_init(&cfg);
    int rc = tulip_run_ex(thread_main, d, &cfg);
    pthread_mutex_lock(&d->mu);
    if (d->started == 0)
        d->started = rc < 0 ? rc : -EINVAL;
    d->loop = NULL;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int crawl_demo_start_thread(crawl_demo *d)
{
    if (d->srv || d->threaded)
        return -EALREADY;
    if (d->nhosts > 1)
        return -EINVAL; /* one loop serving one host is all --compare needs */
    if (pthread_create(&d->thread, NULL, thread_run, d) != 0)
        return -EAGAIN;
    d->threaded = true;
    pthread_mutex_lock(&d->mu);
    while (d->started == 0)
        pthread_cond_wait(&d->cv, &d->mu);
    int rc = d->started < 0 ? d->started : 0;
    pthread_mutex_unlock(&d->mu);
    if (rc) {
        pthread_join(d->thread, NULL);
        d->threaded = false;
    }
    return rc;
}

const char *crawl_demo_origin(const crawl_demo *d) { return d->origin; }
const crawl_site *crawl_demo_site(const crawl_demo *d) { return d->site; }
uint64_t crawl_demo_encoded(const crawl_demo *d) { return atomic_load(&((crawl_demo *)d)->encoded); }

static void stop_cb(void *arg)
{
    crawl_demo *d = arg;
    tulip_http_server_shutdown(d->srv);
}

void crawl_demo_stop(crawl_demo *d)
{
    if (d->threaded) {
        pthread_mutex_lock(&d->mu);
        if (d->loop)
            tulip_call_soon_threadsafe(d->loop, stop_cb, d);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
        d->threaded = false;
    } else {
        tulip_scope s;
        tulip_scope_enter_shielded(&s, TULIP_FOREVER);
        for (unsigned k = 0; k < d->nhosts; k++)
            if (d->hosts[k].task) {
                tulip_http_server_shutdown(d->hosts[k].srv);
                tulip_join(d->hosts[k].task);
                d->hosts[k].task = NULL;
            }
        tulip_scope_exit(&s);
    }
}

const crawl_demo_hit *crawl_demo_log(const crawl_demo *d, size_t *n)
{
    *n = d->nlog;
    return d->log;
}

int crawl_demo_write_log(const crawl_demo *d, FILE *f)
{
    int64_t t0 = d->nlog ? d->log[0].t_ns : 0;
    for (size_t i = 0; i < d->nlog; i++)
        if (fprintf(f, "%lld %u %d %s\n", (long long)(d->log[i].t_ns - t0), d->log[i].host, d->log[i].status,
                    d->log[i].target) < 0)
            return -errno;
    return fflush(f) == 0 ? 0 : -errno;
}

void crawl_demo_free(crawl_demo *d)
{
    if (!d)
        return;
    close_all(d);
    for (size_t i = 0; i < d->nlog; i++)
        free(d->log[i].target);
    free(d->log);
    for (size_t i = 0; i < d->nasked; i++)
        free(d->asked[i]);
    free(d->asked);
    pthread_mutex_destroy(&d->log_mu);
    crawl_site_free(d->site);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}
