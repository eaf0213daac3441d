/* Multishot recv on a provided buffer ring, for TCP byte streams on the
 * io_uring backend (kernel 6.0). One submission per connection instead of
 * one per read: the kernel keeps the recv armed, takes a buffer from the
 * loop's ring each time bytes arrive and posts them in a completion.
 *
 * The completion copies the bytes at once into the buffer of the task
 * waiting to read (and gives the buffer back to the ring); bytes nobody
 * asked for go to the fd's stash, which the next read takes first. A
 * reader waits on a list, not on an operation of its own: cancelling it
 * unlinks it and takes nothing, so every byte reaches exactly one read.
 * A stash that grows past RX_STASH_MAX with nobody reading ends the recv
 * (the kernel's receive window then holds the peer back); the next read
 * arms it again.
 *
 * liburing 2.3 registers a buffer ring but does not set one up (2.4's
 * io_uring_setup_buf_ring): the ring is mapped here. The kernel's support
 * is known from the probe (IORING_OP_SEND_ZC marks 6.0, multishot recv's
 * release); a registration that fails turns the path off for the loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "uring_internal.h"
#include "../common/container_of.h"
#include "../common/fault.h"
#include "../task/task_internal.h"
#include "../platform/annotate.h"

#define RX_BGID 0
#define RX_NBUFS 256             /* a power of two */
#define RX_BUF_SIZE 4096
#define RX_STASH_MAX (256 * 1024)

static size_t ring_bytes(void)
{
    return RX_NBUFS * sizeof(struct io_uring_buf);
}

static int rx_setup(struct uring_data_s *d)
{
    if (d->rx_ready)
        return 0;
    if (!d->rx_ok)
        return -EOPNOTSUPP;
    /* Registered on the loop thread, the ring's single issuer. */
    tulip__uring_enable(d);
    void *r = mmap(NULL, ring_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *bufs = tulip__malloc((size_t)RX_NBUFS * RX_BUF_SIZE);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)r;
    reg.ring_entries = RX_NBUFS;
    reg.bgid = RX_BGID;
    if (r != MAP_FAILED)
        io_uring_buf_ring_init(r);
    if (r == MAP_FAILED || !bufs || io_uring_register_buf_ring(&d->ring, &reg, 0) != 0) {
        if (r != MAP_FAILED)
            munmap(r, ring_bytes());
        free(bufs);
        d->rx_ok = 0; /* one-shot recv from now on */
        return -EOPNOTSUPP;
    }
    d->br = r;
    d->rx_bufs = bufs;
    for (unsigned i = 0; i < RX_NBUFS; i++)
        io_uring_buf_ring_add(d->br, bufs + (size_t)i * RX_BUF_SIZE, RX_BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(RX_NBUFS), (int)i);
    io_uring_buf_ring_advance(d->br, RX_NBUFS);
    d->rx_ready = 1;
    return 0;
}

void tulip__uring_recv_fini(struct uring_data_s *d)
{
    if (!d->rx_ready)
        return;
    /* The ring goes with io_uring_queue_exit; the memory is ours. */
    munmap(d->br, ring_bytes());
    free(d->rx_bufs);
    d->br = NULL;
    d->rx_bufs = NULL;
    d->rx_ready = 0;
}

static void rx_recycle(struct uring_data_s *d, unsigned bid)
{
    io_uring_buf_ring_add(d->br, d->rx_bufs + (size_t)bid * RX_BUF_SIZE, RX_BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(RX_NBUFS), 0);
    io_uring_buf_ring_advance(d->br, 1);
}

static int rx_arm(struct uring_data_s *d, struct uring_fdx *x, int fd)
{
    struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
    if (!sqe)
        return -ENOMEM;
    uint32_t g = ++d->next_gen & URING_GEN_MASK;
    x->rx_gen = g ? g : (++d->next_gen & URING_GEN_MASK);
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RX_BGID;
    io_uring_sqe_set_data64(sqe, uring_tag(x->rx_gen, fd, URING_TAG_RECV));
    x->rx_armed = 1;
    x->rx_stopping = 0;
    return 0;
}

/* Copy up to n bytes after what w already got; returns how many. */
static size_t rx_fill(struct uring_rx_waiter *w, const char *src, size_t n)
{
    size_t done = 0, skip = w->got;
    for (int i = 0; i < w->iovcnt && done < n; i++) {
        size_t len = w->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t k = len - skip < n - done ? len - skip : n - done;
        memcpy((char *)w->iov[i].iov_base + skip, src + done, k);
        skip = 0;
        done += k;
    }
    w->got += done;
    return done;
}

static void rx_wake_all(struct uring_fdx *x)
{
    struct uring_waiter *w;
    while ((w = uring_waiter_pop(&x->rx_waiters)))
        tulip__task_wake(w->task, 0); /* look again: the end, an error, or arm anew */
}

void tulip__uring_recv_done(tulip_loop *l, int fd, uint32_t gen, int res, unsigned flags)
{
    struct uring_data_s *d = l->backend_data;
    struct uring_fdx *x = tulip__uring_fdx(d, fd, 0);
    int has_buf = (flags & IORING_CQE_F_BUFFER) != 0;
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    if (!x || x->rx_gen != gen) {
        if (has_buf)
            rx_recycle(d, bid); /* a closed fd's last bytes */
        return;
    }
    if (!(flags & IORING_CQE_F_MORE))
        x->rx_armed = 0;
    if (res > 0 && has_buf) {
        tulip__tsan_fd_acquire(fd); /* as TSan's recv(2) interceptor would */
        const char *src = d->rx_bufs + (size_t)bid * RX_BUF_SIZE;
        size_t n = (size_t)res, off = 0;
        /* A reader woken by an earlier completion of this turn takes more
         * while it has room, unless bytes wait before these. */
        struct uring_rx_waiter *w = x->rx_fill_turn == d->turn ? x->rx_filling : NULL;
        if (w && !x->stash_len)
            off += rx_fill(w, src, n);
        struct uring_waiter *ww;
        while (off < n && (ww = uring_waiter_pop(&x->rx_waiters))) {
            w = tulip__container_of(ww, struct uring_rx_waiter, w);
            off += rx_fill(w, src + off, n - off);
            x->rx_filling = w;
            x->rx_fill_turn = d->turn;
            tulip__task_wake(w->w.task, 1);
        }
        if (off < n && tulip__uring_stash_append(x, src + off, n - off) < 0)
            x->rx_err = -ENOMEM; /* bytes lost: the stream is broken, and says so */
        rx_recycle(d, bid);
        if (x->stash_len > RX_STASH_MAX && x->rx_armed && !x->rx_stopping && !x->rx_waiters) {
            struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
            if (sqe) {
                x->rx_stopping = 1;
                io_uring_prep_cancel64(sqe, uring_tag(x->rx_gen, fd, URING_TAG_RECV), 0);
                io_uring_sqe_set_data64(sqe, 0);
                /* Later completions of it (the cancel's own, bytes already
                 * on their way) are still taken: rx_gen stays. */
            }
        }
    } else {
        if (has_buf)
            rx_recycle(d, bid);
        if (res == 0)
            x->rx_eof = 1;
        else if (res < 0 && res != -ENOBUFS && res != -ECANCELED && res != -EINTR)
            x->rx_err = res;
    }
    /* Ended (the peer's end, an error, out of buffers, cancelled) with
     * readers waiting: they look again, and arm it anew if need be. */
    if (!x->rx_armed)
        rx_wake_all(x);
}

/* Bytes a peek returned go back in front of the stash. */
static int stash_unget(struct uring_fdx *x, const struct iovec *iov, int iovcnt, size_t n)
{
    if (x->stash_off < n) {
        if (tulip__uring_stash_reserve(x, n) < 0)
            return -ENOMEM;
        memmove(x->stash + n, x->stash + x->stash_off, x->stash_len);
        x->stash_off = n;
    }
    x->stash_off -= n;
    x->stash_len += n;
    size_t at = 0;
    for (int i = 0; i < iovcnt && at < n; i++) {
        size_t k = iov[i].iov_len < n - at ? iov[i].iov_len : n - at;
        memcpy(x->stash + x->stash_off + at, iov[i].iov_base, k);
        at += k;
    }
    return 0;
}

/* Take stashed bytes into iov. */
static size_t stash_copy(struct uring_fdx *x, const struct iovec *iov, int iovcnt)
{
    struct uring_rx_waiter w;
    w.iov = iov;
    w.iovcnt = iovcnt;
    w.got = 0;
    size_t k = rx_fill(&w, x->stash + x->stash_off, x->stash_len);
    x->stash_off += k;
    x->stash_len -= k;
    if (!x->stash_len)
        x->stash_off = 0;
    return k;
}

/* Wait on x's list for the multishot recv: 1 (bytes copied into w), 0
 * (look again), or -ECANCELED / -ETIMEDOUT (nothing taken) / -EBADF.
 * check: look for a cancellation first; 0 when the caller has just done
 * so with nothing that could change the answer since (no switch, and the
 * loop's time is cached for the step). */
static int rx_park(tulip_loop *l, struct uring_fdx *x, int fd, struct uring_rx_waiter *w, int check)
{
    w->w.task = tulip__current();
    uring_waiter_link(&x->rx_waiters, &w->w);
    l->fds_watched++;
    int rc = check ? tulip__park(TULIP__WAIT_FD_READ, (const void *)(intptr_t)fd, uring_waiter_unlink, &w->w)
                   : tulip__park_nocheck(TULIP__WAIT_FD_READ, (const void *)(intptr_t)fd, uring_waiter_unlink,
                                         &w->w);
    l->fds_watched--;
    /* x outlives a close (chunks are never freed; it is reset). A task
     * freed unrun leaves rx_filling behind, but only for its turn. */
    if (x->rx_filling == w)
        x->rx_filling = NULL;
    return rc;
}

/* Is fd a TCP stream? Other sockets read one-shot: datagrams keep their
 * boundaries, and a Unix stream may carry control messages (passed fds)
 * that a recv would drop. Found once per fd. */
static int rx_tcp(struct uring_fdx *x, int fd)
{
    if (!x->rx_kind) {
        int type = 0, dom = 0;
        socklen_t len = sizeof type, dlen = sizeof dom;
        x->rx_kind = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM &&
                             getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dlen) == 0 &&
                             (dom == AF_INET || dom == AF_INET6)
                         ? 1
                         : 2;
    }
    return x->rx_kind == 1;
}

ssize_t tulip__uring_recv_stream(tulip_loop *l, int fd, const struct iovec *iov, int iovcnt, int flags)
{
    struct uring_data_s *d = l->backend_data;
    if (!d->rx_ok)
        return -EOPNOTSUPP;
    struct uring_fdx *x = tulip__uring_fdx(d, fd, 1);
    if (!x)
        return -ENOMEM;
    if (!rx_tcp(x, fd) || rx_setup(d) < 0)
        return -EOPNOTSUPP;
    int peek = (flags & MSG_PEEK) != 0;
    int waitall = (flags & MSG_WAITALL) && !peek;
    /* In the task's wait block: the completions fill it while the task is
     * suspended, and read the iovecs then, so they are copied in too (the
     * io layer's single one is a local; a readv's array is the caller's):
     * one into the waiter, several after it (first: the block may grow). */
    struct iovec *many = NULL;
    if (iovcnt > 1 && !(many = tulip__uop_args((size_t)iovcnt * sizeof *iov)))
        return -ENOMEM;
    struct uring_rx_waiter *w = uring_waiter_slot();
    if (!w)
        return -ENOMEM;
    if (iovcnt == 1) {
        w->one = iov[0];
        w->iov = &w->one;
    } else if (many) {
        memcpy(many, iov, (size_t)iovcnt * sizeof *iov);
        w->iov = many;
    } else {
        w->iov = iov; /* none: nothing is read */
    }
    w->iovcnt = iovcnt;
    w->got = 0;
    w->cap = 0;
    for (int i = 0; i < iovcnt; i++)
        w->cap += iov[i].iov_len;
    if (!w->cap)
        return 0;
    /* The io layer's call checked for a cancellation just before this
     * (tulip__io_begin): the first park need not again. */
    int check = 0;
    for (;;) {
        if (x->stash_len) {
            size_t k = rx_fill(w, x->stash + x->stash_off, x->stash_len);
            if (!peek) {
                x->stash_off += k;
                x->stash_len -= k;
                if (!x->stash_len)
                    x->stash_off = 0;
            }
        }
        if (w->got && !(waitall && w->got < w->cap))
            return (ssize_t)w->got;
        if (x->rx_err) {
            if (w->got)
                return (ssize_t)w->got; /* the error is for the next read */
            int e = x->rx_err;
            x->rx_err = 0;
            return e;
        }
        if (x->rx_eof)
            return (ssize_t)w->got;
        if (!x->rx_armed) {
            int rc = rx_arm(d, x, fd);
            if (rc < 0)
                return w->got ? (ssize_t)w->got : rc;
        }
        int rc = rx_park(l, x, fd, w, check);
        check = 1;
        if (rc < 0)
            return w->got ? (ssize_t)w->got : rc; /* cancelled, timed out (nothing taken) or closed */
        if (rc == 1 && peek) {
            stash_unget(x, iov, iovcnt, w->got); /* without memory: consumed after all */
            return (ssize_t)w->got;
        }
    }
}

/* The multishot recv is armed and has brought nothing that is not taken:
 * bytes, the end or an error would have come in a completion (one still
 * in the completion queue is missed, as an edge epoll has not reported
 * yet: a failed request on a reused connection is retried). */
int tulip__uring_quiet(tulip_loop *l, int fd)
{
    struct uring_fdx *x = tulip__uring_fdx(l->backend_data, fd, 0);
    return x && x->rx_armed && !x->rx_stopping && !x->stash_len && !x->rx_eof && !x->rx_err;
}

static int rx_idle(void *arg)
{
    return !((struct uring_fdx *)arg)->rx_armed;
}

void tulip__uring_recv_detach(tulip_loop *l, int fd)
{
    if (l->backend != &tulip__backend_uring)
        return;
    struct uring_data_s *d = l->backend_data;
    struct uring_fdx *x = tulip__uring_fdx(d, fd, 0);
    if (!x)
        return; /* never read through the ring: nothing armed, nothing kept */
    x->rx_kind = 2;
    if (!x->rx_armed)
        return;
    struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
    if (!sqe)
        return;
    io_uring_prep_cancel64(sqe, uring_tag(x->rx_gen, fd, URING_TAG_RECV), 0);
    io_uring_sqe_set_data64(sqe, 0);
    /* Bytes it brings in meanwhile go to the stash, taken first. */
    tulip__uring_drain(l, rx_idle, x);
}

/* ---- TLS: records taken from the stash -------------------------------- */

int tulip__uring_recv_attach(tulip_loop *l, int fd)
{
    if (l->backend != &tulip__backend_uring)
        return 0;
    struct uring_data_s *d = l->backend_data;
    if (!d->rx_ok)
        return 0;
    struct uring_fdx *x = tulip__uring_fdx(d, fd, 1);
    if (!x || !rx_tcp(x, fd) || rx_setup(d) < 0)
        return 0;
    /* Armed now: the peer's first flight finds it waiting. */
    if (!x->rx_armed && !x->rx_eof && !x->rx_err && rx_arm(d, x, fd) < 0)
        return 0;
    return 1;
}

static struct uring_fdx *rx_attached(tulip_loop *l, int fd)
{
    if (l->backend != &tulip__backend_uring)
        return NULL;
    struct uring_data_s *d = l->backend_data;
    struct uring_fdx *x = tulip__uring_fdx(d, fd, 0);
    return x && d->rx_ready && x->rx_kind == 1 ? x : NULL;
}

ssize_t tulip__uring_recv_take(tulip_loop *l, int fd, void *buf, size_t n)
{
    struct uring_fdx *x = rx_attached(l, fd);
    if (!x)
        return -EOPNOTSUPP;
    if (x->stash_len) {
        struct iovec iov = {buf, n};
        return (ssize_t)stash_copy(x, &iov, 1);
    }
    if (x->rx_err) {
        int e = x->rx_err;
        x->rx_err = 0;
        return e;
    }
    return x->rx_eof ? 0 : -EAGAIN;
}

int tulip__uring_recv_wait(tulip_loop *l, int fd)
{
    struct uring_fdx *x = rx_attached(l, fd);
    if (!x)
        return -EOPNOTSUPP;
    if (x->stash_len || x->rx_err || x->rx_eof)
        return 0;
    if (!x->rx_armed) {
        int rc = rx_arm(l->backend_data, x, fd);
        if (rc < 0)
            return rc;
    }
    /* A waiter with no room: the completion leaves the bytes in the stash
     * and wakes it. */
    struct uring_rx_waiter *w = uring_waiter_slot();
    if (!w)
        return -ENOMEM;
    memset(w, 0, sizeof *w);
    int rc = rx_park(l, x, fd, w, 1);
    return rc < 0 ? rc : 0;
}
