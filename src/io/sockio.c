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
    for (;;) {
        ssize_t r = readv(fd, iov, iovcnt);
        if (r >= 0)
            return r;
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

ssize_t tulip_recv(int fd, void *buf, size_t n, int flags)
{
    return tulip_recvfrom(fd, buf, n, flags, NULL, NULL);
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
    for (;;) {
        ssize_t r = recvfrom(fd, buf, n, flags, sa, len);
        if (r >= 0)
            return r;
        if ((rc = retry(fd, TULIP_READABLE, &f, flags)) < 0)
            return rc;
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
    for (;;) {
        ssize_t r = sendto(fd, buf, n, flags | MSG_NOSIGNAL, sa, len);
        if (r >= 0)
            return r;
        if ((rc = retry(fd, TULIP_WRITABLE, &f, flags)) < 0)
            return rc;
    }
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
    for (;;) {
        ssize_t r = sendmsg(fd, msg, flags | MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if ((rc = retry(fd, TULIP_WRITABLE, &f, flags)) < 0)
            return rc;
    }
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
