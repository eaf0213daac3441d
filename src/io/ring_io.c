/* Socket I/O through the io_uring completion path (src/backend/uring_ops.h):
 * the call becomes one submission, sent with the loop's next
 * submit-and-wait, and the task parks until its completion. Reads of a
 * TCP stream go through its multishot recv instead (uring_recv.c).
 *
 * Cancellation loses nothing: the operation is cancelled in the kernel and
 * waited for; bytes a stream read brought in anyway go to the fd's stash,
 * returned first by the next read, and a send that went out (in part) is
 * reported as written. One send is in flight per fd at a time, so bytes of
 * two senders never reorder. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "io_internal.h"
#include "../backend/uring_ops.h"

/* After the operation: 1 to retry (after waiting for readiness when the
 * kernel said EAGAIN, which a socket someone set to O_NONBLOCK... cannot
 * give, but a MSG_DONTWAIT caller can), or the result. */
static int settle(int fd, int dir, int res, int *again)
{
    *again = 0;
    if (res == -EINTR) {
        *again = 1;
        return 0;
    }
    if (res == -EAGAIN) {
        int rc = tulip__wait_fd(fd, dir, 0);
        if (rc < 0)
            return rc;
        *again = 1;
        return 0;
    }
    if (res == -ECANCELED)
        return -EBADF; /* not us: tulip_close cancelled it */
    return res;
}

/* A read that completed after its task was cancelled: keep the bytes for
 * the next read of a byte stream; elsewhere (datagrams) return them, as a
 * datagram cannot be put back. */
static ssize_t read_cancelled(tulip_loop *l, struct tulip__fd *f, int st, int res, const struct iovec *iov,
                              int iovcnt)
{
    if (res <= 0)
        return st;
    if (!tulip__fd_is_stream(f))
        return res;
    size_t left = (size_t)res;
    for (int i = 0; i < iovcnt && left; i++) {
        size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
        if (tulip__uring_stash_put(l, f->fd, iov[i].iov_base, k) < 0)
            return res; /* no memory to keep them: hand them over instead */
        left -= k;
    }
    return st;
}

/* The running task's operation (in its wait block), or NULL (ENOMEM).
 * Only the fields a socket operation reads are set (tulip__uop_run sets
 * its state; the caller its arguments): no memset per message. */
static inline struct tulip__uop *op_init(int kind, int fd, int flags)
{
    struct tulip__uop *op = tulip__uop_slot();
    if (!op)
        return NULL;
    op->task = NULL; /* ring_run_op: still NULL when nothing was submitted */
    op->buf = NULL;
    op->len = 0;     /* prep reads it for every kind */
    op->kind = (uint8_t)kind;
    op->fd = fd;
    op->flags = flags;
    return op;
}

/* Run a recv/send operation (filled in by the caller) to its end: retried
 * after EINTR and, once readable/writable, after EAGAIN. When the task was
 * cancelled meanwhile, what the operation did anyway is not lost: bytes
 * read go to the stash (f: the fd's entry), bytes written are reported. */
static ssize_t ring_run_op(tulip_loop *l, struct tulip__fd *f, struct tulip__uop *op)
{
    int reading = op->kind == TULIP__UOP_RECV || op->kind == TULIP__UOP_RECVMSG;
    for (;;) {
        int st = tulip__uop_run(l, op);
        if (st == -ENOMEM && !op->task)
            return st; /* nothing was submitted */
        if (st < 0) {
            if (!reading)
                return op->res > 0 ? op->res : st; /* what went out is reported */
            if (op->kind == TULIP__UOP_RECVMSG)
                return read_cancelled(l, f, st, op->res, op->msg->msg_iov, (int)op->msg->msg_iovlen);
            struct iovec iov = {op->buf, op->len};
            return read_cancelled(l, f, st, op->res, &iov, 1);
        }
        /* A MSG_DONTWAIT send (tulip__send_try) asked not to wait for
         * room: the kernel said so without arming a poll, and so do we. */
        if (op->res == -EAGAIN && (op->flags & MSG_DONTWAIT))
            return -EAGAIN;
        int again;
        int rc = settle(op->fd, reading ? TULIP_READABLE : TULIP_WRITABLE, op->res, &again);
        if (!again)
            return rc;
    }
}

/* Sends hold the fd's send slot while in flight. */
static ssize_t ring_send_op(tulip_loop *l, struct tulip__uop *op)
{
    int64_t token = tulip__uring_send_lock(l, op->fd);
    if (token < 0)
        return token;
    ssize_t rc = ring_run_op(l, NULL, op);
    tulip__uring_send_unlock(l, op->fd, token);
    return rc;
}

/* Flags a TCP stream's multishot recv serves; others read one-shot. */
#define MULTISHOT_FLAGS (MSG_PEEK | MSG_WAITALL)

ssize_t tulip__ring_recv(tulip_loop *l, struct tulip__fd *f, int fd, void *buf, size_t n, int flags)
{
    if (!(flags & ~MULTISHOT_FLAGS)) {
        struct iovec iov = {buf, n};
        ssize_t r = tulip__uring_recv_stream(l, fd, &iov, 1, flags);
        if (r != -EOPNOTSUPP)
            return r;
    }
    size_t k = tulip__uring_stash_take(l, fd, buf, n);
    if (k)
        return (ssize_t)k;
    struct tulip__uop *op = op_init(TULIP__UOP_RECV, fd, flags);
    if (!op)
        return -ENOMEM;
    op->buf = buf;
    op->len = n;
    return ring_run_op(l, f, op);
}

ssize_t tulip__ring_send(tulip_loop *l, int fd, const void *buf, size_t n, int flags)
{
    struct tulip__uop *op = op_init(TULIP__UOP_SEND, fd, flags);
    if (!op)
        return -ENOMEM;
    op->buf = (void *)buf;
    op->len = n;
    return ring_send_op(l, op);
}

/* A sendmsg or recvmsg header as the kernel reads it at submission, which
 * comes after this task parked (the loop's next io_uring_submit_and_wait):
 * a copy in the task's wait block, not the caller's, which may be in its
 * frames (sockio.c builds one there for readv, writev, sendto, recvfrom).
 * The iovec array comes along, and for a send the address and the
 * ancillary data; a receive's address and control buffers are where the
 * kernel writes, as its data buffers are. NULL: no memory. */
static struct msghdr *msg_copy(const struct msghdr *m, int sending)
{
    size_t niov = m->msg_iov ? m->msg_iovlen : 0;
    size_t name = sending && m->msg_name ? m->msg_namelen : 0;
    size_t ctl = sending && m->msg_control ? m->msg_controllen : 0;
    size_t iovb = niov * sizeof(struct iovec);
    size_t nameb = (name + 15) / 16 * 16;
    char *p = tulip__uop_args(sizeof(struct msghdr) + iovb + nameb + ctl);
    if (!p)
        return NULL;
    struct msghdr *c = (struct msghdr *)(void *)p;
    *c = *m;
    p += sizeof *c;
    if (niov) {
        memcpy(p, m->msg_iov, iovb);
        c->msg_iov = (struct iovec *)(void *)p;
        p += iovb;
    }
    if (name) {
        memcpy(p, m->msg_name, name);
        c->msg_name = p;
        p += nameb;
    }
    if (ctl) {
        memcpy(p, m->msg_control, ctl);
        c->msg_control = p;
    }
    return c;
}

ssize_t tulip__ring_recvmsg(tulip_loop *l, struct tulip__fd *f, int fd, struct msghdr *m, int flags)
{
    if (!m->msg_name && !m->msg_controllen && !(flags & ~MULTISHOT_FLAGS)) {
        ssize_t r = tulip__uring_recv_stream(l, fd, m->msg_iov, (int)m->msg_iovlen, flags);
        if (r != -EOPNOTSUPP) {
            if (r >= 0)
                m->msg_flags = 0;
            return r;
        }
    }
    if (!m->msg_name && !m->msg_controllen) {
        size_t k = tulip__uring_stash_takev(l, fd, m->msg_iov, (int)m->msg_iovlen);
        if (k)
            return (ssize_t)k;
    }
    struct msghdr *c = msg_copy(m, 0);
    if (!c)
        return -ENOMEM;
    struct tulip__uop *op = op_init(TULIP__UOP_RECVMSG, fd, flags);
    if (!op)
        return -ENOMEM;
    op->msg = c;
    ssize_t r = ring_run_op(l, f, op);
    /* What the kernel wrote back into the header. */
    m->msg_namelen = c->msg_namelen;
    m->msg_controllen = c->msg_controllen;
    m->msg_flags = c->msg_flags;
    return r;
}

ssize_t tulip__ring_sendmsg(tulip_loop *l, int fd, struct msghdr *m, int flags)
{
    if (m->msg_name && m->msg_namelen > sizeof(struct sockaddr_storage))
        return -EINVAL; /* as sendmsg(2) */
    struct msghdr *c = msg_copy(m, 1);
    if (!c)
        return -ENOMEM;
    struct tulip__uop *op = op_init(TULIP__UOP_SENDMSG, fd, flags);
    if (!op)
        return -ENOMEM;
    op->msg = c;
    return ring_send_op(l, op);
}

int tulip__ring_connect(tulip_loop *l, int fd, const struct sockaddr *sa, socklen_t len)
{
    /* The kernel reads the address when the loop submits, after this task
     * parked: a copy in the task's wait block, not the caller's (tulip_dial
     * of a Unix path keeps it in its frame). The block grows first, as
     * op_init's operation lives in it too. */
    if (len > sizeof(struct sockaddr_storage))
        return -EINVAL;
    if (!tulip__xblock(tulip__current(), TULIP__UREC_NEED + sizeof(struct sockaddr_storage)))
        return -ENOMEM;
    struct tulip__uop *op = op_init(TULIP__UOP_CONNECT, fd, 0);
    if (!op)
        return -ENOMEM;
    struct sockaddr *copy = tulip__uop_room(op);
    memcpy(copy, sa, len);
    op->addr = copy;
    op->addrlen = len;
    for (;;) {
        int st = tulip__uop_run(l, op);
        if (st < 0)
            return st; /* the caller closes fd, connected or not */
        if (op->res == -EINTR)
            continue;
        return op->res == -ECANCELED ? -EBADF : op->res;
    }
}
