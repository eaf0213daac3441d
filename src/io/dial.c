/* tulip_dial: resolve, then try each address in turn with a non-blocking
 * connect that parks until the handshake settles. A connect timeout is
 * just a scope around the call. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "net_internal.h"

/* 0 when fd is connected, else -errno; fd stays open either way. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
    int rc;
    tulip_task *t = tulip__current();
    struct tulip__fd *f;
    /* fd comes from tulip__socket, which recorded it as non-blocking: the
     * prepare is a table look-up, for compact tasks (which then connect by
     * readiness) as for the others. */
    if (t && tulip__fd_prepare(t->loop, fd, &f) == 0 && tulip__io_ring(t, f))
        return tulip__ring_connect(t->loop, fd, sa, len);
    do
        rc = connect(fd, sa, len);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -errno;
    rc = tulip__wait_fd(fd, TULIP_WRITABLE, 0);
    if (rc < 0)
        return rc;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        return -errno;
    return -err;
}

static int dial_unix(const struct tulip__netspec *ns, const char *address)
{
    struct sockaddr_un sun;
    socklen_t len;
    int rc = tulip__unix_addr(address, &sun, &len);
    if (rc < 0)
        return rc;
    int fd = tulip__socket(AF_UNIX, ns->socktype, 0);
    if (fd < 0)
        return fd;
    rc = connect_fd(fd, (struct sockaddr *)&sun, len);
    if (rc < 0) {
        tulip_close(fd);
        return rc;
    }
    return fd;
}

int tulip_dial(const char *network, const char *address)
{
    tulip_task *t;
    int rc = tulip__wait_enter(&t);
    if (rc)
        return rc;
    struct tulip__netspec ns;
    rc = tulip__net_parse(network, &ns);
    if (rc < 0)
        return rc;
    if (ns.family == AF_UNIX)
        return dial_unix(&ns, address);

    struct addrinfo *list;
    rc = tulip__net_resolve(&ns, address, 0, &list);
    if (rc < 0)
        return rc;
    int err = -ENOENT;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        int fd = tulip__socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = fd;
            if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM || fd == -ENOBUFS)
                break; /* the next address would fail the same way */
            continue;
        }
        rc = connect_fd(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0) {
            freeaddrinfo(list);
            return fd;
        }
        tulip_close(fd);
        err = rc;
        if (rc == -ECANCELED || rc == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(list);
    return err;
}
