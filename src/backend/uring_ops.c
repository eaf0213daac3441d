/* Completion operations on the io_uring backend (see uring_ops.h): submit,
 * park until the operation's own completion, cancel without abandoning,
 * the per-fd stash of bytes read after a cancel, one send in flight per
 * stream, multishot accept, and the close protocol (cancel by fd, wait,
 * then close). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring_internal.h"
#include "../task/task_internal.h"
#include "../common/fault.h"
#include "../common/grow.h"
#include "../platform/annotate.h"

/* Accepted connections queued with nobody accepting: past this the
 * multishot accept is cancelled, leaving the rest in the kernel backlog. */
#define ACCEPT_QUEUE_MAX 256

struct uring_fdx *tulip__uring_fdx_make(struct uring_data_s *d, int fd)
{
    if (fd < 0)
        return NULL;
    int c = fd / URING_FDX_CHUNK;
    if (c >= d->nfdx || !d->fdx[c]) {
        if (c >= d->nfdx) {
            int n = d->nfdx ? d->nfdx : 4;
            while (n <= c)
                n *= 2;
            struct uring_fdx **a = tulip__realloc(d->fdx, (size_t)n * sizeof *a);
            if (!a)
                return NULL;
            memset(a + d->nfdx, 0, (size_t)(n - d->nfdx) * sizeof *a);
            d->fdx = a;
            d->nfdx = n;
        }
        /* One allocation per 64 fd numbers, none per connection. */
        d->fdx[c] = tulip__calloc(URING_FDX_CHUNK, sizeof *d->fdx[c]);
        if (!d->fdx[c])
            return NULL;
    }
    struct uring_fdx *x = &d->fdx[c][fd % URING_FDX_CHUNK];
    if (!x->id)
        x->id = ++d->next_gen ? d->next_gen : ++d->next_gen;
    return x;
}

static void prep(struct io_uring_sqe *sqe, struct tulip__uop *op)
{
    unsigned len = op->len > (1u << 30) ? (1u << 30) : (unsigned)op->len;
    switch (op->kind) {
    case TULIP__UOP_RECV:
        io_uring_prep_recv(sqe, op->fd, op->buf, len, op->flags);
        break;
    case TULIP__UOP_SEND:
        io_uring_prep_send(sqe, op->fd, op->buf, len, op->flags | MSG_NOSIGNAL);
        break;
    case TULIP__UOP_RECVMSG:
        io_uring_prep_recvmsg(sqe, op->fd, op->msg, (unsigned)op->flags | MSG_CMSG_CLOEXEC);
        break;
    case TULIP__UOP_SENDMSG:
        io_uring_prep_sendmsg(sqe, op->fd, op->msg, (unsigned)op->flags | MSG_NOSIGNAL);
        break;
    case TULIP__UOP_READ:
        io_uring_prep_read(sqe, op->fd, op->buf, len, (uint64_t)op->off);
        break;
    case TULIP__UOP_WRITE:
        io_uring_prep_write(sqe, op->fd, op->buf, len, (uint64_t)op->off);
        break;
    case TULIP__UOP_CONNECT:
        io_uring_prep_connect(sqe, op->fd, op->addr, op->addrlen);
        break;
    case TULIP__UOP_FSYNC:
        io_uring_prep_fsync(sqe, op->fd, op->flags ? IORING_FSYNC_DATASYNC : 0);
        break;
    case TULIP__UOP_OPENAT:
        io_uring_prep_openat(sqe, AT_FDCWD, op->path, op->flags | O_CLOEXEC, op->mode);
        break;
    case TULIP__UOP_STATX:
        io_uring_prep_statx(sqe, op->fd >= 0 ? op->fd : AT_FDCWD, op->path, op->flags, STATX_BASIC_STATS,
                            op->buf);
        break;
    default:
        io_uring_prep_nop(sqe);
        break;
    }
}

static int op_is_done(void *arg)
{
    return ((struct tulip__uop *)arg)->done;
}

/* The park's cancel hook: ask the kernel to cancel and keep waiting (the
 * task is woken with the error and parks again until the completion). A
 * loop being torn down cannot wait for a later turn: drain now. */
static void op_cancel(void *ctx)
{
    struct tulip__uop *op = ctx;
    struct uring_data_s *d = op->loop->backend_data;
    if (!op->done && !op->cancel_sent) {
        struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
        if (sqe) {
            io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op | URING_TAG_OP, 0);
            io_uring_sqe_set_data64(sqe, 0);
            op->cancel_sent = 1;
        }
    }
    if (tulip__sched(op->loop)->tearing_down && !op->done)
        tulip__uring_drain(op->loop, op_is_done, op);
}

static uint8_t op_reason(const struct tulip__uop *op)
{
    switch (op->kind) {
    case TULIP__UOP_RECV:
    case TULIP__UOP_RECVMSG:
    case TULIP__UOP_READ:
        return TULIP__WAIT_FD_READ;
    case TULIP__UOP_SEND:
    case TULIP__UOP_SENDMSG:
    case TULIP__UOP_WRITE:
    case TULIP__UOP_CONNECT:
        return TULIP__WAIT_FD_WRITE;
    default:
        return TULIP__WAIT_OTHER;
    }
}

int tulip__uop_run(tulip_loop *l, struct tulip__uop *op)
{
    struct uring_data_s *d = l->backend_data;
    struct uring_fdx *x = NULL;
    if (op->fd >= 0) {
        x = tulip__uring_fdx(d, op->fd, 1);
        if (!x)
            return -ENOMEM;
    }
    struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
    if (!sqe)
        return -ENOMEM;
    prep(sqe, op);
    /* ThreadSanitizer: the release its write(2) interceptor would have
     * recorded (the acquire of a read is in tulip__uring_op_done). */
    if (op->kind == TULIP__UOP_SEND || op->kind == TULIP__UOP_SENDMSG || op->kind == TULIP__UOP_WRITE)
        tulip__tsan_fd_release(op->fd);
    /* File reads and writes (file.c is their only user): RWF_* flags
     * (file.c's first try is RWF_NOWAIT) and IOSQE_ASYNC (its retry, on the
     * kernel's io-wq workers; see file.c's ring_rw). TULIP_URING_FILE_ASYNC=0
     * issues them inline as they are (A/B). */
    if ((op->kind == TULIP__UOP_READ || op->kind == TULIP__UOP_WRITE) && d->file_async) {
        sqe->rw_flags = op->flags;
        if (op->async)
            sqe->flags |= IOSQE_ASYNC;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | URING_TAG_OP);
    op->done = 0;
    op->cancel_sent = 0;
    op->res = 0;
    op->task = tulip__current();
    op->loop = l;
    if (x)
        x->inflight++;
    /* Counted as watched: the loop must poll while an operation is out. */
    l->fds_watched++;
    int err = 0;
    do {
        int st = tulip__park_nocheck(op_reason(op), (const void *)(intptr_t)op->fd, op_cancel, op);
        if (st < 0 && !err)
            err = st;
    } while (!op->done);
    return err;
}

void tulip__uring_op_done(tulip_loop *l, struct tulip__uop *op, int res, unsigned flags)
{
    struct uring_data_s *d = l->backend_data;
    op->res = res;
    op->cflags = flags;
    op->done = 1;
    if (res >= 0 &&
        (op->kind == TULIP__UOP_RECV || op->kind == TULIP__UOP_RECVMSG || op->kind == TULIP__UOP_READ))
        tulip__tsan_fd_acquire(op->fd); /* as TSan's read(2) interceptor would */
    struct uring_fdx *x = tulip__uring_fdx(d, op->fd, 0);
    if (x && x->inflight)
        x->inflight--;
    l->fds_watched--;
    tulip__task_wake(op->task, 0);
}

/* ---- the stash ---------------------------------------------------------- */

static struct uring_fdx *fdx_of(tulip_loop *l, int fd)
{
    if (l->backend != &tulip__backend_uring)
        return NULL;
    return tulip__uring_fdx(l->backend_data, fd, 0);
}

size_t tulip__uring_stash_take(tulip_loop *l, int fd, void *buf, size_t n)
{
    struct uring_fdx *x = fdx_of(l, fd);
    if (!x || !x->stash_len || !n)
        return 0;
    size_t k = n < x->stash_len ? n : x->stash_len;
    memcpy(buf, x->stash + x->stash_off, k);
    x->stash_off += k;
    x->stash_len -= k;
    if (!x->stash_len)
        x->stash_off = 0;
    return k;
}

size_t tulip__uring_stash_takev(tulip_loop *l, int fd, const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        size_t k = tulip__uring_stash_take(l, fd, iov[i].iov_base, iov[i].iov_len);
        total += k;
        if (k < iov[i].iov_len)
            break;
    }
    return total;
}

/* Appended after what is there: bytes read later come later. The buffer
 * stays for the fd's life, so a stream that keeps leaving bytes behind
 * allocates only while it grows. */
int tulip__uring_stash_reserve(struct uring_fdx *x, size_t n)
{
    return tulip__grow(&x->stash, &x->stash_cap, x->stash_len + n, 4096, SIZE_MAX, 1) < 0 ? -ENOMEM : 0;
}

int tulip__uring_stash_append(struct uring_fdx *x, const void *buf, size_t n)
{
    if (x->stash_off + x->stash_len + n > x->stash_cap) {
        if (x->stash_off) {
            memmove(x->stash, x->stash + x->stash_off, x->stash_len);
            x->stash_off = 0;
        }
        if (tulip__uring_stash_reserve(x, n) < 0)
            return -ENOMEM;
    }
    memcpy(x->stash + x->stash_off + x->stash_len, buf, n);
    x->stash_len += n;
    return 0;
}

int tulip__uring_stash_put(tulip_loop *l, int fd, const void *buf, size_t n)
{
    struct uring_fdx *x = fdx_of(l, fd);
    return x ? tulip__uring_stash_append(x, buf, n) : -EBADF;
}

/* ---- waiter lists (send slot, accept) ---------------------------------- */

static void waiters_fail(struct uring_waiter **head, int err)
{
    struct uring_waiter *w;
    while ((w = uring_waiter_pop(head)))
        tulip__task_wake(w->task, err);
}

int64_t tulip__uring_send_lock(tulip_loop *l, int fd)
{
    struct uring_fdx *x = tulip__uring_fdx(l->backend_data, fd, 1);
    if (!x)
        return -ENOMEM;
    if (x->send_busy) {
        struct uring_waiter *w = uring_waiter_slot(); /* beside the send's operation, not in the frames */
        if (!w)
            return -ENOMEM;
        w->task = tulip__current();
        uring_waiter_link(&x->send_waiters, w);
        /* Woken with 0, the slot was handed over; or -EBADF (closed). */
        int rc = tulip__park(TULIP__WAIT_FD_WRITE, (const void *)(intptr_t)fd, uring_waiter_unlink, w);
        if (rc < 0)
            return rc;
    }
    x->send_busy = 1;
    return x->id;
}

void tulip__uring_send_unlock(tulip_loop *l, int fd, int64_t token)
{
    struct uring_fdx *x = fdx_of(l, fd);
    if (!x || (int64_t)x->id != token)
        return; /* closed meanwhile; the number may be someone else's now */
    struct uring_waiter *w = uring_waiter_pop(&x->send_waiters);
    if (w)
        tulip__task_wake(w->task, 0);
    else
        x->send_busy = 0;
}

/* ---- multishot accept --------------------------------------------------- */

static int accept_arm(struct uring_data_s *d, struct uring_fdx *x, int lfd)
{
    struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
    if (!sqe)
        return -ENOMEM;
    x->acc_gen = ++d->next_gen & URING_GEN_MASK;
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, uring_tag(x->acc_gen, lfd, URING_TAG_ACCEPT));
    x->acc_armed = 1;
    return 0;
}

static int accept_pop(struct uring_fdx *x)
{
    int fd = x->acc_q[x->acc_head];
    x->acc_head = (x->acc_head + 1) % x->acc_cap;
    x->acc_n--;
    return fd;
}

static int accept_push(struct uring_fdx *x, int fd)
{
    if (x->acc_n == x->acc_cap) {
        unsigned cap = x->acc_cap ? x->acc_cap * 2 : 16;
        int *q = tulip__malloc(cap * sizeof *q);
        if (!q)
            return -ENOMEM;
        for (unsigned i = 0; i < x->acc_n; i++)
            q[i] = x->acc_q[(x->acc_head + i) % x->acc_cap];
        free(x->acc_q);
        x->acc_q = q;
        x->acc_head = 0;
        x->acc_cap = cap;
    }
    x->acc_q[(x->acc_head + x->acc_n) % x->acc_cap] = fd;
    x->acc_n++;
    return 0;
}

void tulip__uring_accept_unget(tulip_loop *l, int lfd, int fd)
{
    struct uring_fdx *x = tulip__uring_fdx(l->backend_data, lfd, 0);
    if (!x || accept_push(x, fd) < 0) {
        close(fd);
        return;
    }
    /* accept_push made room and appended it: move it to the head. */
    x->acc_n--;
    x->acc_head = (x->acc_head + x->acc_cap - 1) % x->acc_cap;
    x->acc_q[x->acc_head] = fd;
    x->acc_n++;
}

int tulip__uring_accept(tulip_loop *l, int lfd)
{
    struct uring_data_s *d = l->backend_data;
    struct uring_fdx *x = tulip__uring_fdx(d, lfd, 1);
    if (!x)
        return -ENOMEM;
    for (;;) {
        if (x->acc_n)
            return accept_pop(x);
        if (!x->acc_armed) {
            int rc = accept_arm(d, x, lfd);
            if (rc < 0)
                return rc;
        }
        struct uring_waiter *w = uring_waiter_slot();
        if (!w)
            return -ENOMEM;
        w->task = tulip__current();
        uring_waiter_link(&x->acc_waiters, w);
        l->fds_watched++;
        int rc = tulip__park(TULIP__WAIT_FD_READ, (const void *)(intptr_t)lfd, uring_waiter_unlink, w);
        l->fds_watched--;
        if (rc != -EAGAIN)
            return rc; /* a connection handed over, or an error */
        /* The multishot ended (CQ overflow, cancel at the queue limit): arm
         * it again. x is still ours: a close would have said -EBADF. */
    }
}

void tulip__uring_accept_done(tulip_loop *l, int lfd, uint32_t gen, int res, unsigned flags)
{
    struct uring_data_s *d = l->backend_data;
    struct uring_fdx *x = tulip__uring_fdx(d, lfd, 0);
    int more = (flags & IORING_CQE_F_MORE) != 0;
    if (!x || x->acc_gen != gen) {
        if (res >= 0)
            close(res); /* cannot happen: a closed listener is drained first */
        return;
    }
    if (!more)
        x->acc_armed = 0;
    struct uring_waiter *w;
    if (res >= 0) {
        if ((w = uring_waiter_pop(&x->acc_waiters))) {
            tulip__task_wake(w->task, res);
            return;
        }
        if (accept_push(x, res) < 0) {
            close(res); /* out of memory: the peer sees a reset */
            return;
        }
        if (x->acc_n >= ACCEPT_QUEUE_MAX && x->acc_armed) {
            /* Nobody is accepting: stop taking connections off the
             * backlog; the next tulip_accept arms the multishot again. */
            struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
            if (sqe) {
                io_uring_prep_cancel64(sqe, uring_tag(x->acc_gen, lfd, URING_TAG_ACCEPT), 0);
                io_uring_sqe_set_data64(sqe, 0);
            }
        }
        return;
    }
    /* An error ends the multishot. A waiter sees it (EMFILE & co. are
     * handled by tulip_accept's back-off); a cancellation just re-arms. */
    if ((w = uring_waiter_pop(&x->acc_waiters)))
        tulip__task_wake(w->task, res == -ECANCELED ? -EAGAIN : res);
}

/* ---- close ------------------------------------------------------------- */

static int fdx_idle(void *arg)
{
    struct uring_fdx *x = arg;
    return !x->inflight && !x->acc_armed && !x->rx_armed;
}

void tulip__uring_fd_close(tulip_loop *l, int fd)
{
    struct uring_data_s *d = l->backend_data;
    struct uring_fdx *x = tulip__uring_fdx(d, fd, 0);
    if (!x)
        return;
    if (!fdx_idle(x)) {
        /* Shut down first: an operation a kernel worker is blocked in
         * returns, and the peer sees the end now rather than never. */
        if (x->inflight)
            shutdown(fd, SHUT_RDWR);
        struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
        if (sqe) {
            io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
            io_uring_sqe_set_data64(sqe, 0);
        }
        tulip__uring_drain(l, fdx_idle, x);
    }
    waiters_fail(&x->send_waiters, -EBADF);
    waiters_fail(&x->acc_waiters, -EBADF);
    waiters_fail(&x->rx_waiters, -EBADF);
    while (x->acc_n)
        close(accept_pop(x));
    free(x->acc_q);
    free(x->stash);
    memset(x, 0, sizeof *x);
}

void tulip__uring_fdx_free_all(struct uring_data_s *d)
{
    for (int c = 0; c < d->nfdx; c++) {
        if (!d->fdx[c])
            continue;
        for (int i = 0; i < URING_FDX_CHUNK; i++) {
            struct uring_fdx *x = &d->fdx[c][i];
            while (x->acc_n)
                close(accept_pop(x));
            free(x->acc_q);
            free(x->stash);
        }
        free(d->fdx[c]);
    }
    free(d->fdx);
    d->fdx = NULL;
    d->nfdx = 0;
}
