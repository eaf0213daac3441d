/* The per-loop fd table, readiness dispatch, callback watchers and
 * tulip_close. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop_internal.h"
#include "tulip/io.h"
#include "../backend/backend.h"
#include "../common/fault.h"
#include "../common/grow.h"
#include "fd_query.h"

struct tulip_watch {
    struct tulip__fdwait wait;
    tulip_loop *loop;
    int fd;
    int events;
    void (*cb)(void *arg, int events);
    void *arg;
};

struct tulip__fd *tulip__fd_get(tulip_loop *l, int fd)
{
    if (fd < 0) {
        errno = EBADF;
        return NULL;
    }
    if (fd >= l->nfds) {
        size_t cap = (size_t)l->nfds;
        if (tulip__grow(&l->fds, &cap, (size_t)fd + 1, 64, INT_MAX, sizeof *l->fds) < 0) {
            errno = ENOMEM;
            return NULL;
        }
        memset(l->fds + l->nfds, 0, (cap - (size_t)l->nfds) * sizeof *l->fds);
        l->nfds = (int)cap;
    }
    struct tulip__fd *f = l->fds[fd];
    if (!f) {
        f = tulip__calloc(1, sizeof *f);
        if (!f)
            return NULL;
        f->fd = fd;
        f->backend_slot = -1;
        l->fds[fd] = f;
    }
    return f;
}

int tulip__fd_update(tulip_loop *l, struct tulip__fd *f)
{
    return l->backend->update(l, f);
}

static void watch_dispatch(struct tulip__fd *f, int events)
{
    struct tulip_watch *w = (struct tulip_watch *)f->reader;
    if (!w)
        return;
    if (events < 0) {
        w->cb(w->arg, events);
        return;
    }
    events &= w->events;
    if (events) {
        w->loop->stats.callbacks++;
        w->cb(w->arg, events);
    }
}

void tulip__fd_event(tulip_loop *l, struct tulip__fd *f, int events)
{
    if (events & TULIP__EV_HUP) {
        /* An EOF or error raises no further edge: a read after a short
         * one must not wait for one (see tulip_read). */
        f->hup = 1;
        events &= TULIP_READABLE | TULIP_WRITABLE;
    }
    if (f->mode == TULIP__FD_WATCH) {
        watch_dispatch(f, events);
        return;
    }
    int fd = f->fd;
    f->ready_bits |= (uint8_t)events;
    if ((events & TULIP_READABLE) && f->reader) {
        f->ready_bits &= (uint8_t)~TULIP_READABLE;
        tulip__fdwait_fire(&f->reader, TULIP_READABLE);
    }
    /* The reader callbacks may have closed the fd (tulip_close frees f). */
    if (tulip__fd_peek(l, fd) != f)
        return;
    if ((events & TULIP_WRITABLE) && f->writer) {
        f->ready_bits &= (uint8_t)~TULIP_WRITABLE;
        tulip__fdwait_fire(&f->writer, TULIP_WRITABLE);
    }
}

static void fd_release(tulip_loop *l, int fd)
{
    struct tulip__fd *f = tulip__fd_peek(l, fd);
    if (!f)
        return;
    l->fds[fd] = NULL;
    l->backend->forget(l, f);
    /* Waiters learn the fd is gone; after this they must not touch f. */
    if (f->mode == TULIP__FD_WATCH) {
        watch_dispatch(f, -EBADF);
    } else {
        tulip__fdwait_fire(&f->reader, -EBADF);
        tulip__fdwait_fire(&f->writer, -EBADF);
    }
    free(f);
}

int tulip_close(int fd)
{
    tulip_loop *l = tulip__tls.loop;
    if (l)
        fd_release(l, fd);
    return close(fd) == 0 ? 0 : -errno;
}

static void watch_ready(struct tulip__fdwait *w, int events)
{
    (void)w;
    (void)events; /* watch mode dispatches through watch_dispatch */
}

void tulip__fds_free(tulip_loop *l)
{
    for (int i = 0; i < l->nfds; i++)
        if (l->fds[i]) {
            struct tulip__fd *f = l->fds[i];
            l->backend->forget(l, f);
            /* Watch handles still registered go with their loop. */
            if (f->mode == TULIP__FD_WATCH && f->reader && f->reader->ready == watch_ready)
                free((struct tulip_watch *)(void *)f->reader);
            free(f);
        }
    free(l->fds);
    l->fds = NULL;
    l->nfds = 0;
}

tulip_watch *tulip_watch_fd(tulip_loop *l, int fd, int events, void (*cb)(void *arg, int events), void *arg)
{
    if (!l || !cb || !events || (events & ~(TULIP_READABLE | TULIP_WRITABLE))) {
        errno = EINVAL;
        return NULL;
    }
    if (fcntl(fd, F_GETFD) < 0) {
        errno = EBADF;
        return NULL;
    }
    struct tulip__fd *f = tulip__fd_get(l, fd);
    if (!f)
        return NULL;
    if (f->reader || f->writer) {
        errno = EBUSY;
        return NULL;
    }
    struct tulip_watch *w = tulip__malloc(sizeof *w);
    if (!w)
        return NULL;
    if (f->mode != TULIP__FD_WATCH) {
        /* Task mode registered it edge-triggered; start over level-triggered. */
        l->backend->forget(l, f);
        f->mode = TULIP__FD_WATCH;
        f->ready_bits = 0;
    }
    w->wait.ready = watch_ready;
    w->loop = l;
    w->fd = fd;
    w->events = events;
    w->cb = cb;
    w->arg = arg;
    f->reader = f->writer = &w->wait;
    f->interest = events;
    int rc = tulip__fd_update(l, f);
    if (rc < 0) {
        f->reader = f->writer = NULL;
        f->interest = 0;
        free(w);
        errno = -rc;
        return NULL;
    }
    l->fds_watched++;
    return w;
}

int tulip_watch_update(tulip_watch *w, int events)
{
    if (!w || (events & ~(TULIP_READABLE | TULIP_WRITABLE)))
        return -EINVAL;
    struct tulip__fd *f = tulip__fd_peek(w->loop, w->fd);
    if (!f)
        return -EBADF;
    int old = w->events;
    w->events = events;
    f->interest = events;
    int rc = tulip__fd_update(w->loop, f);
    if (rc < 0) {
        w->events = f->interest = old;
        return rc;
    }
    return 0;
}

void tulip_watch_free(tulip_watch *w)
{
    if (!w)
        return;
    tulip_loop *l = w->loop;
    struct tulip__fd *f = tulip__fd_peek(l, w->fd);
    if (f && f->reader == &w->wait) {
        f->reader = f->writer = NULL;
        f->interest = 0;
        tulip__fd_update(l, f);
    }
    l->fds_watched--;
    free(w);
}

int tulip__fd_quiet(int fd)
{
    tulip_loop *l = tulip_loop_current();
    const struct tulip__fd *f = l ? tulip__fd_peek(l, fd) : NULL;
    if (f && !f->registered && l->backend->quiet)
        return l->backend->quiet(l, fd); /* io_uring: reads by completion, not readiness */
    return f && f->registered && f->mode == TULIP__FD_TASK && !(f->ready_bits & TULIP_READABLE) && !f->hup;
}
