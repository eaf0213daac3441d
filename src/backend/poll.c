/* Portable poll(2) backend. Level-triggered: an fd is in the array only
 * while someone waits on it, so the edge bookkeeping of task mode still
 * holds (a waiter is woken, the fd leaves the array). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "../common/fault.h"

struct poll_data_s {
    struct pollfd *pfds;
    size_t n, cap;
    struct pollfd *snapshot;
    size_t snapshot_cap;
};

static int poll_init(tulip_loop *l)
{
    struct poll_data_s *d = tulip__calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    l->backend_fd = -1;
    l->backend_data = d;
    return 0;
}

static void poll_fini(tulip_loop *l)
{
    struct poll_data_s *d = l->backend_data;
    if (d) {
        free(d->pfds);
        free(d->snapshot);
        free(d);
    }
    l->backend_data = NULL;
}

static void slot_remove(tulip_loop *l, struct poll_data_s *d, struct tulip__fd *f)
{
    size_t i = (size_t)f->backend_slot;
    d->pfds[i] = d->pfds[--d->n];
    if (i < d->n) {
        struct tulip__fd *moved = tulip__fd_peek(l, d->pfds[i].fd);
        if (moved)
            moved->backend_slot = (int)i;
    }
    f->backend_slot = -1;
    f->registered = 0;
}

static int poll_update(tulip_loop *l, struct tulip__fd *f)
{
    struct poll_data_s *d = l->backend_data;
    short ev = 0;
    if (f->interest & TULIP_READABLE)
        ev |= POLLIN | POLLRDHUP;
    if (f->interest & TULIP_WRITABLE)
        ev |= POLLOUT;
    if (!ev) {
        if (f->registered)
            slot_remove(l, d, f);
        return 0;
    }
    if (!f->registered) {
        if (d->n == d->cap) {
            size_t cap = d->cap ? d->cap * 2 : 64;
            struct pollfd *p = tulip__realloc(d->pfds, cap * sizeof *p);
            if (!p)
                return -ENOMEM;
            d->pfds = p;
            d->cap = cap;
        }
        f->backend_slot = (int)d->n++;
        d->pfds[f->backend_slot].fd = f->fd;
        f->registered = 1;
    }
    d->pfds[f->backend_slot].events = ev;
    d->pfds[f->backend_slot].revents = 0;
    return 0;
}

static void poll_forget(tulip_loop *l, struct tulip__fd *f)
{
    if (f->registered)
        slot_remove(l, l->backend_data, f);
}

static int poll_wait_ns(tulip_loop *l, int64_t timeout_ns)
{
    struct poll_data_s *d = l->backend_data;
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    int n = ppoll(d->pfds, d->n, tsp, NULL);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (n == 0)
        return 0;
    /* Callbacks may add and remove fds: dispatch from a copy. */
    if (d->snapshot_cap < d->n) {
        struct pollfd *s = tulip__realloc(d->snapshot, d->n * sizeof *s);
        if (!s)
            return -ENOMEM;
        d->snapshot = s;
        d->snapshot_cap = d->n;
    }
    size_t m = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->pfds[i].revents)
            d->snapshot[m++] = d->pfds[i];
    for (size_t i = 0; i < m; i++) {
        short r = d->snapshot[i].revents;
        int events = 0;
        if (r & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
            events |= TULIP_READABLE;
        if (r & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
            events |= TULIP_WRITABLE;
        if (r & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
            events |= TULIP__EV_HUP;
        struct tulip__fd *f = tulip__fd_peek(l, d->snapshot[i].fd);
        if (f && f->registered)
            tulip__fd_event(l, f, events);
    }
    return n;
}

const struct tulip__backend tulip__backend_poll = {
    .name = "poll",
    .init = poll_init,
    .fini = poll_fini,
    .update = poll_update,
    .forget = poll_forget,
    .wait = poll_wait_ns,
};
