/* tulip_listen and tulip_accept. Accept under fd exhaustion backs off
 * instead of failing: the pending connection keeps the listener readable,
 * so a server that retried at once would spin the CPU until an fd frees. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_internal.h"
#include "../common/fault.h"
#include "../backend/uring_ops.h"

#define BACKOFF_FIRST TULIP_MS(1)
#define BACKOFF_MAX TULIP_MS(100)

static int bind_listen(int fd, const struct tulip__netspec *ns, const struct sockaddr *sa, socklen_t len,
                       int backlog, unsigned flags)
{
    int one = 1;
    if (ns->family != AF_UNIX && ns->socktype == SOCK_STREAM) {
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
            return -errno;
    }
    /* One listener per loop on the same port: the kernel spreads new
     * connections (by flow hash) over the sockets of the group. */
    if ((flags & TULIP_LISTEN_REUSEPORT) && ns->family != AF_UNIX &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        return -errno;
    if (bind(fd, sa, len) < 0)
        return -errno;
    if (ns->socktype == SOCK_STREAM && listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
        return -errno;
    return 0;
}

int tulip_listen(const char *network, const char *address, int backlog)
{
    return tulip_listen_ex(network, address, backlog, 0);
}

int tulip_listen_ex(const char *network, const char *address, int backlog, unsigned flags)
{
    if (flags & ~(unsigned)TULIP_LISTEN_REUSEPORT)
        return -EINVAL;
    struct tulip__netspec ns;
    int rc = tulip__net_parse(network, &ns);
    if (rc < 0)
        return rc;
    if (ns.family == AF_UNIX) {
        struct sockaddr_un sun;
        socklen_t len;
        rc = tulip__unix_addr(address, &sun, &len);
        if (rc < 0)
            return rc;
        int fd = tulip__socket(AF_UNIX, ns.socktype, 0);
        if (fd < 0)
            return fd;
        rc = bind_listen(fd, &ns, (struct sockaddr *)&sun, len, backlog, flags);
        if (rc < 0) {
            tulip_close(fd);
            return rc;
        }
        return fd;
    }
    struct addrinfo *list;
    rc = tulip__net_resolve(&ns, address, 1, &list);
    if (rc < 0)
        return rc;
    int err = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        int fd = tulip__socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = fd;
            if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM || fd == -ENOBUFS)
                break;
            continue;
        }
        rc = bind_listen(fd, &ns, ai->ai_addr, ai->ai_addrlen, backlog, flags);
        if (rc == 0) {
            freeaddrinfo(list);
            return fd;
        }
        tulip_close(fd);
        err = rc;
    }
    freeaddrinfo(list);
    return err;
}

int tulip_accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
    return tulip__accept(lfd, sa, len, 1);
}

int tulip__accept(int lfd, struct sockaddr *sa, socklen_t *len, int wait_fds)
{
    struct tulip__fd *f;
    int rc = tulip__io_enter(lfd, &f);
    if (rc < 0)
        return rc;
    int64_t backoff = BACKOFF_FIRST;
    for (;;) {
        int fd;
        tulip_loop *l = tulip__current()->loop;
        if (tulip__io_ring(tulip__current(), f)) {
            /* A multishot accept on the listener; the peer's address is
             * asked for only when wanted. Fault injection sees each
             * attempt where accept4 would be called, after the wait; an
             * injected failure puts the connection back, as a failed
             * accept4 leaves it queued. */
            fd = tulip__uring_accept(l, lfd);
            if (tulip__fault(TULIP_FAULT_SOCKET) && fd >= 0) {
                tulip__uring_accept_unget(l, lfd, fd);
                fd = -EMFILE;
            }
            if (fd >= 0 && sa && getpeername(fd, sa, len) != 0)
                *len = 0;
            if (fd < 0) {
                if (fd == -ECANCELED || fd == -ETIMEDOUT || fd == -EBADF)
                    return fd;
                errno = -fd;
                fd = -1;
            }
        } else if (tulip__fault(TULIP_FAULT_SOCKET)) {
            fd = -1;
        } else {
            fd = accept4(lfd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        if (fd >= 0) {
            struct tulip__fd *nf = tulip__fd_get(tulip__current()->loop, fd);
            if (nf) {
                nf->nonblock = 1;
                nf->kind = (uint8_t)tulip__fd_kind(f); /* the listener's: same type */
            }
            return fd;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED: /* the peer gave up first: take the next one */
        case EPROTO:
            continue;
        case EAGAIN:
            rc = tulip__wait_fd(lfd, TULIP_READABLE, 0);
            if (rc < 0)
                return rc;
            continue;
        case EMFILE:
        case ENFILE:
            if (!wait_fds)
                return -errno;
            /* fall through */
        case ENOBUFS:
        case ENOMEM:
            rc = tulip_sleep(backoff);
            if (rc < 0)
                return rc;
            backoff = backoff * 2 < BACKOFF_MAX ? backoff * 2 : BACKOFF_MAX;
            continue;
        default:
            return -errno;
        }
    }
}
