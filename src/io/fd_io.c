/* Waiting on fds from tasks, and the read/write calls built on it.
 * Internally, I/O is always attempted first and the task parks only after
 * EAGAIN; that is what makes the edge-triggered registration in the epoll
 * backend safe (a readiness edge can only be missed if nobody has seen
 * EAGAIN since the last one). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_internal.h"
#include "../backend/backend.h"

struct fd_waiter {
    struct tulip__fdwait rd, wr;   /* the halves actually linked */
    struct tulip__fd *f;
    int events;
};

/* The record lies in its task's wait_rec (never on a stack). */
static tulip_task *task_of(struct fd_waiter *w)
{
    return tulip__container_of((union tulip__wait_rec *)(void *)w, tulip_task, wait_rec);
}

_Static_assert(sizeof(struct fd_waiter) <= sizeof(union tulip__wait_rec), "fd_waiter must fit the task's wait record");
_Static_assert(_Alignof(struct fd_waiter) <= _Alignof(union tulip__wait_rec), "fd_waiter alignment");

static void unlink_waiter(struct fd_waiter *w, int update)
{
    struct tulip__fd *f = w->f;
    tulip__fdwait_unlink(&f->reader, &w->rd);
    tulip__fdwait_unlink(&f->writer, &w->wr);
    f->interest = (f->reader ? TULIP_READABLE : 0) | (f->writer ? TULIP_WRITABLE : 0);
    if (update)
        tulip__fd_update(task_of(w)->loop, f);
}

static void waiter_ready(struct fd_waiter *w, int events)
{
    unlink_waiter(w, events >= 0);
    tulip__task_wake(task_of(w), events);
}

static void rd_ready(struct tulip__fdwait *fw, int events)
{
    waiter_ready(tulip__container_of(fw, struct fd_waiter, rd),
                 events < 0 ? events : TULIP_READABLE);
}

static void wr_ready(struct tulip__fdwait *fw, int events)
{
    waiter_ready(tulip__container_of(fw, struct fd_waiter, wr),
                 events < 0 ? events : TULIP_WRITABLE);
}

static void waiter_cancel(void *ctx)
{
    unlink_waiter(ctx, 1);
}

/* A regular file (or anything epoll refuses with EPERM) is always ready. */
static int wait_fd(int fd, int events, int check_level)
{
    tulip_task *t = tulip__current();
    if (!t)
        return -EPERM;
    if (!events || (events & ~(TULIP_READABLE | TULIP_WRITABLE)))
        return -EINVAL;
    tulip_loop *l = t->loop;
    int st = tulip__checkpoint_status(t);
    if (st)
        return st;
    struct tulip__fd *f = tulip__fd_get(l, fd);
    if (!f)
        return -errno;
    if (f->mode == TULIP__FD_WATCH) {
        if (f->reader || f->writer)
            return -EBUSY;
        f->mode = TULIP__FD_TASK;
    }
    f->mode = TULIP__FD_TASK;
    if (check_level) {
        /* The public call promises level semantics: remembered edges may be
         * stale and a consumed edge says nothing about data still unread,
         * so ask the kernel for the current state. */
        struct pollfd p = {.fd = fd, .events = 0};
        if (events & TULIP_READABLE)
            p.events |= POLLIN;
        if (events & TULIP_WRITABLE)
            p.events |= POLLOUT;
        int n = poll(&p, 1, 0);
        if (n > 0) {
            if (p.revents & POLLNVAL)
                return -EBADF;
            int r = 0;
            if (p.revents & (POLLIN | POLLHUP | POLLERR))
                r |= TULIP_READABLE;
            if (p.revents & (POLLOUT | POLLHUP | POLLERR))
                r |= TULIP_WRITABLE;
            r &= events;
            if (r) {
                f->ready_bits &= (uint8_t)~r;
                return r;
            }
        }
        f->ready_bits &= (uint8_t)~events;
    } else {
        int ready = f->ready_bits & events;
        if (ready) {
            f->ready_bits &= (uint8_t)~ready;
            return ready;
        }
    }
    if (!f->registered) {
        int rc = tulip__fd_update(l, f);
        if (rc == -EPERM)
            return events;
        if (rc < 0)
            return rc;
    }
    /* In the task, not on its stack: the loop holds it while the task is
     * suspended, when a compact task's frames may be elsewhere. */
    struct fd_waiter *w = (struct fd_waiter *)(void *)t->wait_rec.raw;
    w->rd.ready = rd_ready;
    w->wr.ready = wr_ready;
    w->rd.linked = w->wr.linked = 0;
    w->f = f;
    w->events = events;
    if (events & TULIP_READABLE)
        tulip__fdwait_link(&f->reader, &w->rd);
    if (events & TULIP_WRITABLE)
        tulip__fdwait_link(&f->writer, &w->wr);
    f->interest |= events;
    int rc = tulip__fd_update(l, f);
    if (rc < 0) {
        unlink_waiter(w, 0);
        return rc;
    }
    l->fds_watched++;
    rc = tulip__park_nocheck((events & TULIP_READABLE) ? TULIP__WAIT_FD_READ : TULIP__WAIT_FD_WRITE,
                             (const void *)(intptr_t)fd, waiter_cancel, w);
    l->fds_watched--;
    return rc;
}

int tulip__wait_fd(int fd, int events, int check_level)
{
    int rc = wait_fd(fd, events, check_level);
    if (rc > 0 && (rc & TULIP_READABLE)) {
        /* This wait took the fd's readable edge (from ready_bits, from the
         * backend, or by the level check, which clears it): it is the only
         * taker, so here is where a read's "drained" inference must end.
         * Otherwise the next read would wait for an edge that will not
         * come while the bytes that raised this one are queued. The fd may
         * have been closed (and its number reused) since the wake-up: then
         * there is nothing to forget, or a new fd's state to leave at 0. */
        struct tulip__fd *f = tulip__fd_peek(tulip__current()->loop, fd);
        if (f)
            f->drained = 0;
    }
    return rc;
}

int tulip_wait_fd(int fd, int events)
{
    return tulip__wait_fd(fd, events, 1);
}

int tulip__fd_prepare(tulip_loop *l, int fd, struct tulip__fd **out)
{
    struct tulip__fd *f = tulip__fd_get(l, fd);
    if (!f)
        return -errno;
    if (!f->nonblock) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
            return -errno;
        if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
            return -errno;
        f->nonblock = 1;
    }
    *out = f;
    return 0;
}

int tulip_fd_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl >= 0 && !(fdfl & FD_CLOEXEC))
        fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
    return 0;
}

/* After an I/O call failed (errno set): 1 to try again - after waiting
 * for dir if it was EAGAIN - or the error. *f is looked up again after a
 * wait: another task may have closed the fd between our wake-up and our
 * turn to run. */
int tulip__io_retry(int fd, int dir, struct tulip__fd **f)
{
    if (errno == EINTR)
        return 1;
    if (errno != EAGAIN)
        return -errno;
    int rc = tulip__wait_fd(fd, dir, 0);
    if (rc < 0)
        return rc;
    *f = tulip__fd_peek(tulip__current()->loop, fd);
    return *f ? 1 : -EBADF;
}

static int unix_domain(int fd)
{
    int dom = 0;
    socklen_t len = sizeof dom;
    return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 && dom == AF_UNIX;
}

int tulip__fd_kind(struct tulip__fd *f)
{
    if (!f->kind) {
        struct stat st;
        int type = 0;
        socklen_t len = sizeof type;
        if (fstat(f->fd, &st) != 0)
            f->kind = TULIP__FD_OTHER;
        else if (S_ISFIFO(st.st_mode))
            f->kind = TULIP__FD_PIPE;
        else if (!S_ISSOCK(st.st_mode))
            f->kind = TULIP__FD_OTHER;
        else if (getsockopt(f->fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM)
            f->kind = unix_domain(f->fd) ? TULIP__FD_UNIX_STREAM : TULIP__FD_STREAM_SOCKET;
        else
            f->kind = TULIP__FD_SOCKET;
    }
    return f->kind;
}

int tulip__read_prewait(tulip_loop *l, int fd, struct tulip__fd **f)
{
    struct tulip__fd *x = *f;
    if (!x->drained)
        return 0;
    /* The last read emptied the queue, so a read now would almost surely
     * be EAGAIN: wait first (Tokio's rule; saves a system call per message
     * in request/response traffic). Safe with edges: data that came since
     * raised a new one, kept in ready_bits unless a wait took it, and a
     * wait that takes it clears drained (tulip__wait_fd). */
    x->drained = 0;
    if ((x->ready_bits & TULIP_READABLE) || x->hup)
        return 0;
    int rc = tulip__wait_fd(fd, TULIP_READABLE, 0);
    if (rc < 0)
        return rc;
    *f = tulip__fd_peek(l, fd);
    return *f ? 0 : -EBADF;
}

ssize_t tulip_read(int fd, void *buf, size_t n)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, 0, &f, &l);
    if (rc)
        return rc < 0 ? rc : tulip__ring_recv(l, f, fd, buf, n, 0);
    if ((rc = tulip__read_prewait(l, fd, &f)) < 0)
        return rc;
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0) {
            tulip__read_note(f, r, n);
            return r;
        }
        if ((rc = tulip__io_retry(fd, TULIP_READABLE, &f)) < 0)
            return rc;
    }
}

static ssize_t write_once(struct tulip__fd *f, int fd, const void *buf, size_t n)
{
    /* send(MSG_NOSIGNAL) turns a write to a closed peer into -EPIPE instead
     * of SIGPIPE killing the process. */
    return tulip__fd_is_socket(f) ? send(fd, buf, n, MSG_NOSIGNAL) : write(fd, buf, n);
}

ssize_t tulip_write(int fd, const void *buf, size_t n)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, 0, &f, &l);
    if (rc)
        return rc < 0 ? rc : tulip__ring_send(l, fd, buf, n, 0);
    for (;;) {
        ssize_t r = write_once(f, fd, buf, n);
        if (r >= 0)
            return r;
        if ((rc = tulip__io_retry(fd, TULIP_WRITABLE, &f)) < 0)
            return rc;
    }
}

ssize_t tulip_write_all(int fd, const void *buf, size_t n, size_t *done)
{
    size_t off = 0;
    ssize_t rc = 0;
    while (off < n) {
        rc = tulip_write(fd, (const char *)buf + off, n - off);
        if (rc < 0)
            break;
        off += (size_t)rc;
    }
    if (done)
        *done = off;
    return rc < 0 ? rc : (ssize_t)n;
}
