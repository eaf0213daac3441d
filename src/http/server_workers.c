/* The HTTP server on every loop (tulip_config.workers): one
 * tulip_http_server per loop, each with its own connections, and either
 *  - one listener shared by all loops (a dup per loop), registered with
 *    EPOLLEXCLUSIVE so a new connection wakes one loop, not all of them,
 *    and one that is waiting in epoll_wait (the default on epoll); or
 *  - one SO_REUSEPORT listener per loop on the same port (the default on
 *    poll and io_uring): the kernel spreads connections over the
 *    listeners by flow hash, busy or not, and no accept is ever contended.
 * docs/PERFORMANCE.md has the measurements behind the defaults.
 * Built only on the server's public API: each per-loop server is an
 * ordinary one, driven by a task on its loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tulip/http.h"
#include "tulip/io.h"
#include "tulip/sync.h"
#include "tulip/net.h"
#include "tulip/runtime.h"
#include "../task/task_internal.h"
#include "../common/fault.h"

struct tulip_http_workers {
    unsigned n;
    unsigned flags;
    int fd0;                       /* loop 0's listener */
    int *fds;                      /* shared mode: loop i's dup until handed over, else -1 */
    char host[256];                /* the address without its port */
    int port;
    tulip_http_server **srv;       /* srv[i] serves on loops[i] */
    tulip_loop **loops;
    atomic_int stopping;
    tulip_chan *stop;              /* closed by shutdown: every loop watches it */
    int serving;
};

tulip_http_workers *tulip_http_workers_new(const tulip_http_server_opts *opts, tulip_http_handler handler,
                                           void *arg, unsigned loops, unsigned flags)
{
    unsigned count = tulip_loop_count();
    int self = tulip_loop_index();
    const unsigned both = TULIP_HTTP_SHARED_LISTENER | TULIP_HTTP_REUSEPORT;
    if (self < 0 || loops > count || (flags & ~both) || (flags & both) == both) {
        errno = self < 0 ? EPERM : EINVAL;
        return NULL;
    }
    unsigned n = loops ? loops : count;
    tulip_http_workers *w = tulip__calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->srv = tulip__calloc(n, sizeof *w->srv);
    w->loops = tulip__calloc(n, sizeof *w->loops);
    w->fds = tulip__malloc(n * sizeof *w->fds);
    w->stop = tulip_chan_new(0, 0);
    if (!w->srv || !w->loops || !w->fds || !w->stop)
        goto fail;
    for (unsigned i = 0; i < n; i++)
        w->fds[i] = -1;
    w->n = n;
    w->flags = flags;
    w->fd0 = -1;
    /* The caller's loop first, then the next ones round. */
    for (unsigned i = 0; i < n; i++) {
        w->loops[i] = tulip_loop_at(((unsigned)self + i) % count);
        w->srv[i] = tulip_http_server_new(opts, handler, arg);
        if (!w->srv[i])
            goto fail;
    }
    return w;
fail:;
    int err = errno ? errno : ENOMEM;
    tulip_http_workers_free(w);
    errno = err;
    return NULL;
}

unsigned tulip_http_workers_count(const tulip_http_workers *w)
{
    return w ? w->n : 0;
}

static int make_exclusive(int fd)
{
    struct tulip__fd *f = tulip__fd_get(tulip__tls.loop, fd);
    if (!f)
        return -errno;
    f->exclusive = 1;
    return 0;
}

static int listen_one(void *p);
static int close_one(void *p);
static int on_each_loop(tulip_http_workers *w, tulip_fn fn);

static void close_dups(tulip_http_workers *w)
{
    for (unsigned i = 1; i < w->n; i++)
        if (w->fds[i] >= 0) {
            close(w->fds[i]);
            w->fds[i] = -1;
        }
}

int tulip_http_workers_listen(tulip_http_workers *w, const char *address)
{
    if (!w || !address)
        return -EINVAL;
    if (w->fd0 >= 0)
        return -EALREADY;
    if (tulip__tls.loop != w->loops[0] || !tulip__current())
        return -EPERM;
    const char *colon = strrchr(address, ':');
    if (!colon || (size_t)(colon - address) >= sizeof w->host)
        return -EINVAL;
    if (!(w->flags & (TULIP_HTTP_SHARED_LISTENER | TULIP_HTTP_REUSEPORT))) {
        /* Measured (docs/PERFORMANCE.md): shared is ahead on epoll only. */
        const char *be = tulip_loop_backend(w->loops[0]);
        w->flags |= be && strcmp(be, "epoll") == 0 ? TULIP_HTTP_SHARED_LISTENER : TULIP_HTTP_REUSEPORT;
    }
    int shared = (w->flags & TULIP_HTTP_SHARED_LISTENER) != 0;
    int fd = tulip_listen_ex("tcp", address, 0, shared ? 0 : TULIP_LISTEN_REUSEPORT);
    if (fd < 0)
        return fd;
    int rc = tulip_local_port(fd);
    if (rc >= 0) {
        w->port = rc;
        memcpy(w->host, address, (size_t)(colon - address));
        w->host[colon - address] = 0;
    }
    if (rc >= 0 && shared)
        rc = make_exclusive(fd);
    /* The other loops' dups, made here before any server could close the
     * original. */
    for (unsigned i = 1; rc >= 0 && shared && i < w->n; i++)
        if ((w->fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
            rc = -errno;
    /* Every listener exists before listen returns: a connection the
     * kernel hashed to a listener not made yet would go elsewhere, and
     * one queued on a listener closed later would be reset. */
    if (rc >= 0)
        rc = on_each_loop(w, listen_one);
    if (rc < 0) {
        if (shared)
            close_dups(w);
        else
            on_each_loop(w, close_one);
        tulip_close(fd);
        return rc;
    }
    w->fd0 = fd;
    w->fds[0] = fd;
    return 0;
}

int tulip_http_workers_port(const tulip_http_workers *w)
{
    return w && w->fd0 >= 0 ? w->port : -EINVAL;
}

unsigned tulip_http_workers_listener(const tulip_http_workers *w)
{
    return w && w->fd0 >= 0 ? w->flags & (TULIP_HTTP_SHARED_LISTENER | TULIP_HTTP_REUSEPORT) : 0;
}

struct job {
    tulip_http_workers *w;
    unsigned i;
};

/* Beside each loop's server: shutdown closes w->stop, and the close
 * reaches every loop through the channel (no callback can outlive w). */
static int watch_stop(void *p)
{
    struct job *j = p;
    int rc = tulip_chan_recv(j->w->stop, NULL);
    if (rc == -ESHUTDOWN)
        tulip_http_server_shutdown(j->w->srv[j->i]);
    return 0;
}

static int serve_listening(struct job *j)
{
    tulip_task *watcher = tulip_spawn(watch_stop, j);
    if (!watcher)
        return -errno;
    int rc = tulip_http_server_serve(j->w->srv[j->i]);
    tulip_cancel(watcher);
    tulip_scope shield; /* even a cancelled server task joins its watcher */
    tulip_scope_enter_shielded(&shield, TULIP_FOREVER);
    tulip_join(watcher);
    tulip_scope_exit(&shield);
    return rc;
}

/* On loop i: its own SO_REUSEPORT listener, or its dup of the shared one
 * marked exclusive, registered with loop i. */
static int listen_one(void *p)
{
    struct job *j = p;
    tulip_http_workers *w = j->w;
    if (w->flags & TULIP_HTTP_SHARED_LISTENER)
        return make_exclusive(w->fds[j->i]);
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", w->host, w->port);
    int fd = tulip_listen_ex("tcp", addr, 0, TULIP_LISTEN_REUSEPORT);
    if (fd < 0)
        return fd;
    w->fds[j->i] = fd;
    return 0;
}

static int close_one(void *p)
{
    struct job *j = p;
    if (j->w->fds[j->i] >= 0)
        tulip_close(j->w->fds[j->i]);
    j->w->fds[j->i] = -1;
    return 0;
}

/* Run fn(job i) on loop i for i in 1..n-1 and wait for all (shielded: the
 * jobs point into this frame). The first error, or 0. */
static int on_each_loop(tulip_http_workers *w, tulip_fn fn)
{
    struct job jobs[64];
    tulip_future *fs[64];
    int first = 0;
    for (unsigned base = 1; base < w->n; base += 64) {
        unsigned m = w->n - base < 64 ? w->n - base : 64, started = 0;
        for (unsigned k = 0; k < m; k++, started++) {
            jobs[k] = (struct job){w, base + k};
            int rc = tulip_spawn_remote(w->loops[base + k], fn, &jobs[k], &fs[k]);
            if (rc < 0) {
                if (!first)
                    first = rc;
                break;
            }
        }
        tulip_scope shield;
        tulip_scope_enter_shielded(&shield, TULIP_FOREVER);
        for (unsigned k = 0; k < started; k++) {
            int rc = tulip_future_await(fs[k], NULL);
            if (rc < 0 && !first)
                first = rc;
            tulip_future_free(fs[k]);
        }
        tulip_scope_exit(&shield);
    }
    return first;
}

/* On loop i: serve on the listener made by listen until shutdown. */
static int serve_one(void *p)
{
    struct job *j = p;
    tulip_http_workers *w = j->w;
    int fd = w->fds[j->i];
    w->fds[j->i] = -1;
    int rc = tulip_http_server_listen_fd(w->srv[j->i], fd);
    if (rc < 0) {
        tulip_close(fd);
        return rc;
    }
    if (atomic_load(&w->stopping))
        return 0; /* the server closes its listener when freed */
    return serve_listening(j);
}

void tulip_http_workers_shutdown(tulip_http_workers *w)
{
    if (!w)
        return;
    atomic_store(&w->stopping, 1);
    tulip_chan_close(w->stop);
}

int tulip_http_workers_serve(tulip_http_workers *w)
{
    if (!w)
        return -EINVAL;
    if (w->fd0 < 0)
        return -EINVAL;
    if (!tulip__current() || tulip__tls.loop != w->loops[0])
        return -EPERM;
    if (w->serving)
        return -EBUSY;
    w->serving = 1;
    struct job *jobs = tulip__calloc(w->n, sizeof *jobs);
    tulip_future **fs = tulip__calloc(w->n, sizeof *fs);
    int rc = 0;
    if (!jobs || !fs) {
        free(jobs);
        free(fs);
        w->serving = 0;
        return -ENOMEM;
    }
    unsigned started = 1;
    jobs[0] = (struct job){w, 0};
    for (unsigned i = 1; i < w->n && rc == 0; i++, started++) {
        jobs[i] = (struct job){w, i};
        rc = tulip_spawn_remote(w->loops[i], serve_one, &jobs[i], &fs[i]);
    }
    if (rc < 0)
        started--;
    else
        rc = serve_one(&jobs[0]);
    /* However loop 0 stopped (shutdown, cancellation, error), stop the
     * others and wait for every one: their servers are ours to free. */
    tulip_http_workers_shutdown(w);
    tulip_scope shield;
    tulip_scope_enter_shielded(&shield, TULIP_FOREVER);
    for (unsigned i = 1; i < started; i++) {
        void *v = NULL;
        int r = tulip_future_await(fs[i], &v);
        if (r < 0 && r != -ECANCELED && rc == 0)
            rc = r;
        tulip_future_free(fs[i]);
    }
    tulip_scope_exit(&shield);
    free(jobs);
    free(fs);
    w->serving = 0;
    return rc;
}

int tulip_http_workers_task(void *w)
{
    return tulip_http_workers_serve(w);
}

static void add(tulip_http_server_stats *sum, const tulip_http_server_stats *s)
{
    sum->connections += s->connections;
    sum->requests += s->requests;
    sum->active += s->active;
    sum->peak_active += s->peak_active;
    sum->reclaimed += s->reclaimed;
    sum->rejected += s->rejected;
    sum->timeouts += s->timeouts;
    sum->buffered += s->buffered;
    sum->peak_buffered += s->peak_buffered;
}

struct stats_job {
    tulip_http_server *srv;
    tulip_http_server_stats out;
};

static int read_stats(void *p)
{
    struct stats_job *j = p;
    return tulip_http_server_stats_get(j->srv, &j->out);
}

int tulip_http_workers_stats_get(tulip_http_workers *w, tulip_http_server_stats *out)
{
    if (!w || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < w->n; i++) {
        struct stats_job j = {.srv = w->srv[i]};
        if (!w->serving || w->loops[i] == tulip__tls.loop) {
            /* Not serving: every loop's task has ended (the futures
             * ordered their writes before this read). */
            read_stats(&j);
        } else {
            /* Read on the server's own loop, where it is written. */
            tulip_future *f;
            int rc = tulip_spawn_remote(w->loops[i], read_stats, &j, &f);
            if (rc < 0)
                return rc;
            tulip_scope shield;
            tulip_scope_enter_shielded(&shield, TULIP_FOREVER);
            rc = tulip_future_await(f, NULL);
            tulip_scope_exit(&shield);
            tulip_future_free(f);
            if (rc < 0)
                return rc;
        }
        add(out, &j.out);
    }
    return 0;
}

int tulip_http_workers_free(tulip_http_workers *w)
{
    if (!w)
        return 0;
    if (w->serving)
        return -EBUSY;
    for (unsigned i = 0; w->srv && i < w->n; i++)
        tulip_http_server_free(w->srv[i]);
    /* Listeners never handed to a server (listen without serve). */
    for (unsigned i = 0; w->fds && i < w->n; i++) {
        if (w->fds[i] < 0)
            continue;
        if (w->loops[i] == tulip__tls.loop)
            tulip_close(w->fds[i]);
        else
            close(w->fds[i]);
    }
    free(w->fds);
    tulip_chan_free(w->stop);
    free(w->srv);
    free(w->loops);
    free(w);
    return 0;
}
