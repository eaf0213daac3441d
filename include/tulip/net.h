/* Sockets and name resolution from tasks: calls shaped like their POSIX
 * counterparts that park the task instead of blocking the thread.
 *
 * Every socket tulip creates is non-blocking and close-on-exec; writes
 * never raise SIGPIPE (a closed peer gives -EPIPE). TCP sockets have
 * TCP_NODELAY set (accepted ones inherit it from the listener). Close them
 * with tulip_close(). Every call that can suspend is a cancellation point
 * (-ECANCELED, -ETIMEDOUT from an enclosing scope) and, when it returns
 * that, has transferred nothing. Called outside a task they return -EPERM. */
#ifndef TULIP_NET_H
#define TULIP_NET_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netdb.h>
#include "tulip/common.h"

/* <netdb.h> declares struct addrinfo only with POSIX features on; a
 * program built with plain -std=c11 still includes this header cleanly. */
struct addrinfo;

#ifdef __cplusplus
extern "C" {
#endif

/* Networks: "tcp" (IPv4 or IPv6), "tcp4", "tcp6", "udp", "udp4", "udp6",
 * "unix" (stream), "unixgram". Addresses: "host:port", "[v6addr]:port",
 * ":port" (dial: the local host; listen: every interface), port numeric
 * or a service name; for unix networks a path, or "@name" for Linux's
 * abstract namespace. */

/* Connect to address and return the connected socket fd. Names are
 * resolved in the thread pool (numeric addresses without it); each
 * resolved address is tried in order until one connects. A connect timeout
 * is a scope around the call. For udp/unixgram the socket is only
 * connected (no packet is sent).
 * Errors: -EINVAL (unknown network, malformed address, port above
 * 65535), -ENAMETOOLONG (unix path), -ENOENT (name not found, or no such
 * unix path; see tulip_getaddrinfo for the other resolver errors), the
 * last address's connect error (-ECONNREFUSED, -ENETUNREACH,
 * -EHOSTUNREACH, -EAGAIN for a unix socket whose backlog is full, ...),
 * -EMFILE/-ENFILE, -ENOMEM, -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_dial(const char *network, const char *address);

/* Bind to address and, for stream networks, listen with backlog (<= 0:
 * SOMAXCONN). TCP listeners set SO_REUSEADDR; port 0 picks a free port
 * (see tulip_local_port). For udp/unixgram the bound socket is returned,
 * ready for tulip_recvfrom. Numeric addresses never park; a host name is
 * resolved as tulip_dial does (so from a task only), and the first
 * address that binds is used.
 * Errors: -EINVAL, -ENAMETOOLONG, -ENOENT (and the other resolver
 * errors), -EADDRINUSE,
 * -EACCES, -EADDRNOTAVAIL, -EAFNOSUPPORT, -EMFILE/-ENFILE, -ENOMEM, and
 * for names -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_listen(const char *network, const char *address, int backlog);

/* tulip_listen_ex flags. */
#define TULIP_LISTEN_REUSEPORT 1u /* SO_REUSEPORT: several listeners (one per
                                     loop) bind the same address and the kernel
                                     spreads connections over them */
/* tulip_listen with flags (0 = tulip_listen). Errors: as tulip_listen;
 * -EINVAL for unknown flags. */
TULIP_API int tulip_listen_ex(const char *network, const char *address, int backlog, unsigned flags);

/* accept4(2) that parks; the new socket is non-blocking and close-on-exec.
 * sa/len may be NULL. Under fd exhaustion (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) it does not return the error nor spin: it sleeps, doubling from
 * 1 ms to at most 100 ms between attempts, and keeps trying until an fd is
 * free (bound it with a scope). Connections aborted before accept are
 * skipped. Errors: -EBADF, -EINVAL (not listening), -ENOTSOCK,
 * -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_accept(int lfd, struct sockaddr *sa, socklen_t *len);

/* The port a socket is bound to (host order), or -errno (-EBADF,
 * -ENOTSOCK, -EAFNOSUPPORT for non-IP sockets). */
TULIP_API int tulip_local_port(int fd);

/* Format fd's local (peer == 0) or peer address as "host:port", "[v6]:port"
 * or a unix path into buf. Returns the length, or -errno (-EBADF,
 * -ENOTSOCK, -ENOTCONN, -ENOSPC when buf is too small). */
TULIP_API int tulip_sockname(int fd, bool peer, char *buf, size_t n);

/* Vectored and socket I/O, as their POSIX namesakes, parking instead of
 * returning EAGAIN. Reads return 0 at EOF. Writes may be short (the count
 * written); a cancelled write wrote nothing. Send calls add MSG_NOSIGNAL;
 * recvmsg adds MSG_CMSG_CLOEXEC; with MSG_DONTWAIT the socket calls
 * return -EAGAIN instead of parking. recv, recvfrom and recvmsg with
 * MSG_WAITALL on a stream socket park until all n bytes came, on every
 * backend; they return fewer only at the end of the stream, on an error,
 * or when cancelled or timed out after some bytes (the count; the next
 * call returns 0, the error or -ECANCELED/-ETIMEDOUT; on epoll and poll
 * a socket error such as -ECONNRESET met after bytes is not repeated:
 * the next call reads the end). Common errors: -EBADF, -ENOTSOCK
 * (socket calls on other fds), -ECONNRESET, -EPIPE, -ENOTCONN,
 * -EMSGSIZE (datagram too large), -EINVAL, -ECANCELED, -ETIMEDOUT, -EPERM.
 * readv/writev also work on pipes and other fds. */
TULIP_API ssize_t tulip_readv(int fd, const struct iovec *iov, int iovcnt);
TULIP_API ssize_t tulip_writev(int fd, const struct iovec *iov, int iovcnt);
TULIP_API ssize_t tulip_recv(int fd, void *buf, size_t n, int flags);
TULIP_API ssize_t tulip_send(int fd, const void *buf, size_t n, int flags);
TULIP_API ssize_t tulip_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len);
TULIP_API ssize_t tulip_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len);
TULIP_API ssize_t tulip_recvmsg(int fd, struct msghdr *msg, int flags);
TULIP_API ssize_t tulip_sendmsg(int fd, const struct msghdr *msg, int flags);

/* sendfile(2) from in_fd (a regular file) to the socket out_fd, parking
 * while out_fd is full. Returns the bytes sent (possibly short), updating
 * *offset if not NULL. Errors: as sendfile(2) (-EBADF, -EINVAL, -EIO,
 * -EPIPE, ...), -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API ssize_t tulip_sendfile(int out_fd, int in_fd, off_t *offset, size_t count);

/* shutdown(2) (SHUT_RD, SHUT_WR, SHUT_RDWR); never parks.
 * Errors: -EBADF, -ENOTSOCK, -ENOTCONN, -EINVAL. */
TULIP_API int tulip_shutdown(int fd, int how);

/* getaddrinfo(3) without blocking the loop: runs in the thread pool as a
 * slow job (at most half the pool's threads), except for numeric hosts and
 * services, which are resolved inline. On success *res is a list to free
 * with freeaddrinfo(3). When cancelled the call returns at once; the
 * look-up finishes in the background and its result is freed there.
 * Errors (EAI_* mapped): -ENOENT (EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY:
 * no such name or no address of that family), -EAGAIN (EAI_AGAIN:
 * temporary failure), -EIO (EAI_FAIL), -ENOMEM (EAI_MEMORY or no memory
 * here), -EAFNOSUPPORT (EAI_FAMILY), -ESOCKTNOSUPPORT (EAI_SOCKTYPE),
 * -EPROTONOSUPPORT (EAI_SERVICE: service unknown for the socket type),
 * -EINVAL (EAI_BADFLAGS, or both host and service NULL), -ENAMETOOLONG
 * (EAI_OVERFLOW), EAI_SYSTEM's errno, and -ECANCELED, -ETIMEDOUT, -EPERM,
 * -EAGAIN (no pool thread). */
TULIP_API int tulip_getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
                                struct addrinfo **res);

/* The negative errno tulip maps an EAI_* code to (see above). */
TULIP_API int tulip_gai_error(int eai);

#ifdef __cplusplus
}
#endif
#endif
