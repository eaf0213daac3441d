/* fd I/O from tasks: calls shaped like their POSIX counterparts that park
 * the task instead of blocking the thread. fds are made non-blocking on
 * first use. Close fds that tulip has waited on with tulip_close(). */
#ifndef TULIP_IO_H
#define TULIP_IO_H

#include <sys/types.h>
#include "tulip/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Park until fd is ready for events (TULIP_READABLE | TULIP_WRITABLE).
 * Several tasks may wait on one fd: each readiness wakes them all, and
 * those that find nothing to do (EAGAIN) simply wait again. Returns the
 * ready subset (> 0). Errors: -EBADF (fd not open or closed with
 * tulip_close while waiting), -EBUSY (fd has a tulip_watch_fd watcher),
 * -EINVAL (no events), -ECANCELED, -ETIMEDOUT, -EPERM. */
TULIP_API int tulip_wait_fd(int fd, int events);

/* read(2) that parks: returns bytes read (0 at EOF) or -errno
 * (-EBADF, -ECONNRESET, -EIO, ..., -ECANCELED, -ETIMEDOUT). A cancelled
 * read loses nothing. On epoll and poll it consumed nothing. On io_uring
 * the read is already in the kernel: bytes it still brings in after the
 * cancel are kept with the fd and returned first by its next tulip_read
 * (a datagram, which cannot be kept, is returned instead of the error). */
TULIP_API ssize_t tulip_read(int fd, void *buf, size_t n);
/* write(2) that parks until at least one byte can be written; returns the
 * count written (possibly short) or -errno (-EPIPE, -ECONNRESET, ...). */
TULIP_API ssize_t tulip_write(int fd, const void *buf, size_t n);
/* Write all n bytes; returns n or -errno. On error or cancellation some
 * prefix may have been written; *done (may be NULL) tells how much. */
TULIP_API ssize_t tulip_write_all(int fd, const void *buf, size_t n, size_t *done);

/* Forget fd (wake anything waiting on it with -EBADF) and close(2) it. Every
 * fd that tulip has waited on must be closed this way, because the kernel
 * keeps readiness registrations on the open file, not on the number.
 * Returns close(2)'s result as 0 / -errno. */
TULIP_API int tulip_close(int fd);

/* Make fd non-blocking (and close-on-exec). Errors: -EBADF. */
TULIP_API int tulip_fd_nonblock(int fd);

#ifdef __cplusplus
}
#endif
#endif
