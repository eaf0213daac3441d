#define _GNU_SOURCE
#include "demo.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tulip.h>

struct crawl_demo {
    crawl_site *site;
    crawl_demo_opts o;
    char address[64];
    char origin[64];
    int port;
    tulip_http_server *srv;
    tulip_task *task;          /* serving task (crawl_demo_start) */
    /* crawl_demo_start_thread */
    pthread_t thread;
    bool threaded;
    tulip_loop *loop;          /* the thread's loop, for the stop request */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started;               /* 0 not yet, 1 listening, < 0 failed */
    atomic_uint_fast64_t requests;
};

static int handle(void *arg, const tulip_http_request_view *req, tulip_http_responder *res)
{
    crawl_demo *d = arg;
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
    int rc = crawl_site_get(d->site, d->origin, target, &r);
    if (rc < 0)
        return tulip_http_respond(res, rc == -ENOMEM ? 503 : 400, "text/plain", "error\n", 6);
    tulip_http_header h[2] = {
        { "Content-Type", 12, r.content_type, strlen(r.content_type) },
        { "Location", 8, r.location, r.location ? strlen(r.location) : 0 },
    };
    rc = tulip_http_respond_ex(res, r.status, h, r.location ? 2 : 1, r.body, r.body_len, 0);
    crawl_site_response_free(&r);
    atomic_fetch_add(&d->requests, 1);
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
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    return d;
}

static int listen_now(crawl_demo *d)
{
    tulip_http_server_opts so;
    tulip_http_server_opts_init(&so);
    d->srv = tulip_http_server_new(&so, handle, d);
    if (!d->srv)
        return -errno;
    int rc = tulip_http_server_listen(d->srv, d->address);
    if (rc == 0)
        rc = d->port = tulip_http_server_port(d->srv);
    if (rc < 0) {
        tulip_http_server_free(d->srv);
        d->srv = NULL;
        return rc;
    }
    snprintf(d->origin, sizeof d->origin, "http://127.0.0.1:%d", d->port);
    return 0;
}

int crawl_demo_start(crawl_demo *d)
{
    if (d->srv)
        return -EALREADY;
    int rc = listen_now(d);
    if (rc)
        return rc;
    d->task = tulip_spawn(tulip_http_server_task, d->srv);
    if (!d->task) {
        rc = -errno;
        tulip_http_server_free(d->srv);
        d->srv = NULL;
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
    tulip_http_server_free(d->srv);
    d->srv = NULL;
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

int crawl_demo_port(const crawl_demo *d) { return d->port; }
const char *crawl_demo_origin(const crawl_demo *d) { return d->origin; }
const crawl_site *crawl_demo_site(const crawl_demo *d) { return d->site; }
uint64_t crawl_demo_requests(const crawl_demo *d) { return atomic_load(&((crawl_demo *)d)->requests); }

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
    } else if (d->task) {
        tulip_http_server_shutdown(d->srv);
        tulip_scope s;
        tulip_scope_enter_shielded(&s, TULIP_FOREVER);
        tulip_join(d->task);
        tulip_scope_exit(&s);
        d->task = NULL;
    }
}

void crawl_demo_free(crawl_demo *d)
{
    if (!d)
        return;
    tulip_http_server_free(d->srv);
    crawl_site_free(d->site);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}
