/* Linux epoll backend. Task-mode fds are added once, edge-triggered for both
 * directions, and never modified again: parking after EAGAIN costs no
 * system call. Watch-mode fds are level-triggered, like libuv's uv_poll. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backend.h"
#include "../common/fault.h"
#if defined(TULIP_HAVE_VALGRIND)
#include <valgrind/valgrind.h>
#endif

#define EPOLL_BATCH 256

struct epoll_data_s {
    struct epoll_event events[EPOLL_BATCH];
};

/* epoll_pwait2 (Linux 5.11) takes nanoseconds; remembered once missing
 * (old kernels, valgrind) so the fallback costs nothing afterwards. */
static atomic_int no_pwait2;

static int epoll_init(tulip_loop *l)
{
    struct epoll_data_s *d = tulip__malloc(sizeof *d);
    if (!d)
        return -ENOMEM;
    if (tulip__fault(TULIP_FAULT_FD)) {
        free(d);
        return -EMFILE;
    }
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        free(d);
        return -err;
    }
    l->backend_fd = fd;
    l->backend_data = d;
#if defined(TULIP_HAVE_VALGRIND)
    if (RUNNING_ON_VALGRIND)
        atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed); /* valgrind 3.19 lacks it */
#endif
    return 0;
}

static void epoll_fini(tulip_loop *l)
{
    if (l->backend_fd >= 0)
        close(l->backend_fd);
    l->backend_fd = -1;
    free(l->backend_data);
    l->backend_data = NULL;
}

static uint32_t watch_events(int interest)
{
    uint32_t ev = 0;
    if (interest & TULIP_READABLE)
        ev |= EPOLLIN | EPOLLRDHUP;
    if (interest & TULIP_WRITABLE)
        ev |= EPOLLOUT;
    return ev;
}

static int epoll_update(tulip_loop *l, struct tulip__fd *f)
{
    struct epoll_event ev = {0};
    ev.data.fd = f->fd;
    if (f->mode == TULIP__FD_TASK) {
        if (f->registered)
            return 0;
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        if (f->exclusive)
            ev.events = EPOLLIN | EPOLLET | EPOLLEXCLUSIVE;
        if (epoll_ctl(l->backend_fd, EPOLL_CTL_ADD, f->fd, &ev) != 0)
            return -errno;
        f->registered = 1;
        return 0;
    }
    ev.events = watch_events(f->interest);
    int op;
    if (!f->registered) {
        if (!ev.events)
            return 0;
        op = EPOLL_CTL_ADD;
    } else {
        op = ev.events ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    }
    if (epoll_ctl(l->backend_fd, op, f->fd, &ev) != 0)
        return -errno;
    f->registered = op != EPOLL_CTL_DEL;
    return 0;
}

static void epoll_forget(tulip_loop *l, struct tulip__fd *f)
{
    if (f->registered) {
        struct epoll_event ev = {0};
        epoll_ctl(l->backend_fd, EPOLL_CTL_DEL, f->fd, &ev);
        f->registered = 0;
    }
}

static int epoll_wait_ns(tulip_loop *l, int64_t timeout_ns)
{
    struct epoll_data_s *d = l->backend_data;
    int n;
    if (timeout_ns == 0 || (timeout_ns > 0 && atomic_load_explicit(&no_pwait2, memory_order_relaxed))) {
        int64_t ms = (timeout_ns + 999999) / 1000000;
        n = epoll_wait(l->backend_fd, d->events, EPOLL_BATCH, ms > 0x7fffffff ? 0x7fffffff : (int)ms);
    } else if (timeout_ns < 0) {
        n = epoll_wait(l->backend_fd, d->events, EPOLL_BATCH, -1);
    } else {
        struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
        n = epoll_pwait2(l->backend_fd, d->events, EPOLL_BATCH, &ts, NULL);
        if (n < 0 && errno == ENOSYS) {
            atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed);
            /* Kernels before 5.11: millisecond resolution, rounded up so a
             * timer is never polled for early and spun on. */
            int64_t ms = (timeout_ns + 999999) / 1000000;
            n = epoll_wait(l->backend_fd, d->events, EPOLL_BATCH, ms > 0x7fffffff ? 0x7fffffff : (int)ms);
        }
    }
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = d->events[i].events;
        int events = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            events |= TULIP_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            events |= TULIP_WRITABLE;
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            events |= TULIP__EV_HUP;
        struct tulip__fd *f = tulip__fd_peek(l, d->events[i].data.fd);
        if (f && f->registered)
            tulip__fd_event(l, f, events);
    }
    return n;
}

const struct tulip__backend tulip__backend_epoll = {
    .name = "epoll",
    .init = epoll_init,
    .fini = epoll_fini,
    .update = epoll_update,
    .forget = epoll_forget,
    .wait = epoll_wait_ns,
};
