/* Vectored and socket I/O that parks: each call tries the operation first
 * and waits for readiness only after EAGAIN (the rule the edge-triggered
 * backend relies on; see fd_io.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net_internal.h"

/* A msghdr over iov (and the address name, if any), for the io_uring path
 * and for sendmsg in place of writev. */
static struct msghdr msg_of(const struct iovec *iov, size_t iovcnt, const void *name, socklen_t namelen)
{
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = (void *)name;
    m.msg_namelen = namelen;
    m.msg_iov = (struct iovec *)iov;
    m.msg_iovlen = iovcnt;
    return m;
}

/* tulip__io_retry for the socket calls: with MSG_DONTWAIT the caller asked
 * not to wait, so EAGAIN is its answer. */
static int retry(int fd, int dir, struct tulip__fd **f, int flags)
{
    if ((flags & MSG_DONTWAIT) && errno == EAGAIN)
        return -EAGAIN;
    return tulip__io_retry(fd, dir, f);
}

ssize_t tulip_readv(int fd, const struct iovec *iov, int iovcnt)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, 0, &f, &l);
    if (rc < 0)
        return rc;
    if (rc) {
        struct msghdr m = msg_of(iov, (size_t)iovcnt, NULL, 0);
        return tulip__ring_recvmsg(l, f, fd, &m, 0);
    }
    if ((rc = tulip__read_prewait(l, fd, &f)) < 0)
        return rc;
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++)
        n += iov[i].iov_len;
    for (;;) {
        ssize_t r = readv(fd, iov, iovcnt);
        if (r >= 0) {
            tulip__read_note(f, r, n);
            return r;
        }
        if ((rc = tulip__io_retry(fd, TULIP_READABLE, &f)) < 0)
            return rc;
    }
}

ssize_t tulip_writev(int fd, const struct iovec *iov, int iovcnt)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, 0, &f, &l);
    if (rc < 0)
        return rc;
    /* sendmsg, not writev, on sockets: only it can refuse SIGPIPE. */
    int sock = tulip__fd_is_socket(f);
    struct msghdr m = msg_of(iov, (size_t)iovcnt, NULL, 0);
    if (rc)
        return tulip__ring_sendmsg(l, fd, &m, 0);
    for (;;) {
        ssize_t r = sock ? sendmsg(fd, &m, MSG_NOSIGNAL) : writev(fd, iov, iovcnt);
        if (r >= 0)
            return r;
        if ((rc = tulip__io_retry(fd, TULIP_WRITABLE, &f)) < 0)
            return rc;
    }
}

/* MSG_WAITALL on a stream socket, for the readiness backends: the kernel
 * ignores it on a non-blocking socket and returns what is queued, so the
 * callers ask again for the rest, parking between, until the count, the
 * end or an error (io_uring's recv does the same in the kernel, or in
 * uring_recv.c).  After bytes, the count is returned and the next call
 * reports what stopped this one (docs/DESIGN.md §8); a socket error met
 * after bytes is the one exception: the recv that met it consumed it, and
 * the next call reads the end of the reset connection. */
static int wait_all(struct tulip__fd *f, int flags)
{
    if ((flags & (MSG_WAITALL | MSG_PEEK | MSG_DONTWAIT)) != MSG_WAITALL)
        return 0;
    int k = tulip__fd_kind(f);
    return k == TULIP__FD_STREAM_SOCKET || k == TULIP__FD_UNIX_STREAM;
}

ssize_t tulip_recv(int fd, void *buf, size_t n, int flags)
{
    return tulip_recvfrom(fd, buf, n, flags, NULL, NULL);
}

/* The readiness path of a send (tulip_sendto, tulip_sendmsg, and
 * tulip__send_try off the ring): the call, and a wait for room between
 * tries unless flags has MSG_DONTWAIT (retry). */
static ssize_t plain_sendto(int fd, struct tulip__fd *f, const void *buf, size_t n, int flags,
                            const struct sockaddr *sa, socklen_t len)
{
    for (;;) {
        ssize_t r = sendto(fd, buf, n, flags | MSG_NOSIGNAL, sa, len);
        if (r >= 0)
            return r;
        int rc = retry(fd, TULIP_WRITABLE, &f, flags);
        if (rc < 0)
            return rc;
    }
}

static ssize_t plain_sendmsg(int fd, struct tulip__fd *f, const struct msghdr *msg, int flags)
{
    for (;;) {
        ssize_t r = sendmsg(fd, msg, flags | MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        int rc = retry(fd, TULIP_WRITABLE, &f, flags);
        if (rc < 0)
            return rc;
    }
}

ssize_t tulip_send(int fd, const void *buf, size_t n, int flags)
{
    return tulip_sendto(fd, buf, n, flags, NULL, 0);
}

ssize_t tulip_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, flags, &f, &l);
    if (rc < 0)
        return rc;
    if (rc) {
        if (!sa)
            return tulip__ring_recv(l, f, fd, buf, n, flags);
        struct iovec iov = {buf, n};
        struct msghdr m = msg_of(&iov, 1, sa, len ? *len : 0);
        ssize_t r = tulip__ring_recvmsg(l, f, fd, &m, flags);
        if (r >= 0 && len)
            *len = m.msg_namelen;
        return r;
    }
    /* tulip_read's drained rule (a peek empties nothing; with MSG_DONTWAIT
     * the caller takes EAGAIN rather than a wait). A MSG_WAITALL recv that
     * came back short waits for the rest the same way. */
    int consumes = !(flags & MSG_PEEK), may_wait = !(flags & (MSG_PEEK | MSG_DONTWAIT));
    size_t got = 0;
    for (;;) {
        if (may_wait && (rc = tulip__read_prewait(l, fd, &f)) < 0)
            return got ? (ssize_t)got : rc;
        ssize_t r = recvfrom(fd, (char *)buf + got, n - got, flags, sa, len);
        if (r >= 0 && consumes)
            tulip__read_note(f, r, n - got);
        if (r > 0) {
            got += (size_t)r;
            if (got < n && wait_all(f, flags))
                continue;
        }
        if (r >= 0)
            return (ssize_t)got;
        if ((rc = retry(fd, TULIP_READABLE, &f, flags)) < 0)
            return got ? (ssize_t)got : rc;
    }
}

ssize_t tulip_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, flags, &f, &l);
    if (rc < 0)
        return rc;
    if (rc) {
        if (!sa)
            return tulip__ring_send(l, fd, buf, n, flags);
        struct iovec iov = {(void *)buf, n};
        struct msghdr m = msg_of(&iov, 1, sa, len);
        return tulip__ring_sendmsg(l, fd, &m, flags);
    }
    return plain_sendto(fd, f, buf, n, flags, sa, len);
}

/* The rest of a MSG_WAITALL recvmsg that brought got bytes: the buffers
 * past them, each filled by a MSG_WAITALL recv (the control data and
 * msg_flags are the first call's). */
static ssize_t recvmsg_rest(int fd, const struct msghdr *msg, int flags, size_t got)
{
    size_t skip = got;
    for (size_t i = 0; i < msg->msg_iovlen; i++) {
        const struct iovec *v = &msg->msg_iov[i];
        if (skip >= v->iov_len) {
            skip -= v->iov_len;
            continue;
        }
        ssize_t r = tulip_recvfrom(fd, (char *)v->iov_base + skip, v->iov_len - skip, flags, NULL, NULL);
        if (r > 0)
            got += (size_t)r;
        if (r < (ssize_t)(v->iov_len - skip))
            break; /* the end, an error or a cancel: the next call tells */
        skip = 0;
    }
    return (ssize_t)got;
}

_Thread_local uint64_t tulip__send_try_ring;

int tulip__send_try_rings(void)
{
    tulip_task *t = tulip__current();
    return t && !t->shared && tulip__uring_on(t->loop);
}

ssize_t tulip__send_try(int fd, struct iovec *iov, int iovcnt)
{
    struct tulip__fd *f;
    int rc = tulip__io_enter(fd, &f);
    if (rc < 0)
        return rc;
    tulip_task *t = tulip__current();
    struct msghdr m = msg_of(iov, (size_t)iovcnt, NULL, 0);
    if (tulip__io_ring(t, f)) {
        tulip__send_try_ring++;
        return iovcnt == 1 ? tulip__ring_send(t->loop, fd, iov->iov_base, iov->iov_len, MSG_DONTWAIT)
                           : tulip__ring_sendmsg(t->loop, fd, &m, MSG_DONTWAIT);
    }
    return iovcnt == 1 ? plain_sendto(fd, f, iov->iov_base, iov->iov_len, MSG_DONTWAIT, NULL, 0)
                       : plain_sendmsg(fd, f, &m, MSG_DONTWAIT);
}

ssize_t tulip_recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, flags, &f, &l);
    if (rc < 0)
        return rc;
    if (rc)
        return tulip__ring_recvmsg(l, f, fd, msg, flags);
    for (;;) {
        ssize_t r = recvmsg(fd, msg, flags | MSG_CMSG_CLOEXEC);
        if (r > 0 && wait_all(f, flags))
            return recvmsg_rest(fd, msg, flags, (size_t)r);
        if (r >= 0)
            return r;
        if ((rc = retry(fd, TULIP_READABLE, &f, flags)) < 0)
            return rc;
    }
}

ssize_t tulip_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct tulip__fd *f;
    tulip_loop *l;
    int rc = tulip__io_begin(fd, flags, &f, &l);
    if (rc < 0)
        return rc;
    if (rc)
        return tulip__ring_sendmsg(l, fd, (struct msghdr *)msg, flags);
    return plain_sendmsg(fd, f, msg, flags);
}

ssize_t tulip_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    struct tulip__fd *f;
    int rc = tulip__io_enter(out_fd, &f);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t r = sendfile(out_fd, in_fd, offset, count);
        if (r >= 0)
            return r;
        if ((rc = tulip__io_retry(out_fd, TULIP_WRITABLE, &f)) < 0)
            return rc;
    }
}

int tulip_shutdown(int fd, int how)
{
    return shutdown(fd, how) == 0 ? 0 : -errno;
}
