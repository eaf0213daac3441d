/* Shared by the io layer's files (sockets, streams, processes...). */
#ifndef TULIP_IO_INTERNAL_H
#define TULIP_IO_INTERNAL_H

#include <sys/socket.h>

#include "tulip/io.h"
#include "../task/task_internal.h"

/* Park until fd is ready. check_level: also check the current state with
 * poll(2) (for callers that have not just seen EAGAIN). Returns the ready
 * directions or -errno. */
int tulip__wait_fd(int fd, int events, int check_level);
/* The retry rule of every parking I/O call, after it failed with errno:
 * 1 to try again (EINTR, or EAGAIN and fd is now ready; *f refreshed), or
 * the negative error. */
int tulip__io_retry(int fd, int dir, struct tulip__fd **f);
/* Cancellation point + fairness budget + make fd non-blocking. */
int tulip__io_enter(int fd, struct tulip__fd **f);
/* Make fd non-blocking and return its state. */
int tulip__fd_prepare(tulip_loop *l, int fd, struct tulip__fd **out);

/* The io_uring completion path for sockets (ring_io.c): tulip__io_ring
 * says whether fd takes it (the loop runs io_uring with operations and fd
 * is a socket); the others do the call and return what the plain call
 * would, or a cancellation error. */
int tulip__io_ring(tulip_loop *l, struct tulip__fd *f);
ssize_t tulip__ring_recv(tulip_loop *l, struct tulip__fd *f, int fd, void *buf, size_t n, int flags);
ssize_t tulip__ring_send(tulip_loop *l, int fd, const void *buf, size_t n, int flags);
ssize_t tulip__ring_recvmsg(tulip_loop *l, struct tulip__fd *f, int fd, struct msghdr *m, int flags);
ssize_t tulip__ring_sendmsg(tulip_loop *l, int fd, struct msghdr *m, int flags);
int tulip__ring_connect(tulip_loop *l, int fd, const struct sockaddr *sa, socklen_t len);

#endif
