/* Files from tasks without blocking the loop (libuv's uv_fs_*, Tokio's
 * tokio::fs): regular files, block devices, FIFOs. On the io_uring backend
 * each call is one operation in the ring; on epoll and poll it runs on the
 * thread pool (tulip/pool.h) while the task parks. Close with tulip_close.
 *
 * Cancellation: an operation already under way is waited for (on the pool
 * the call is shielded until the blocking call returns), so a cancelled
 * read or write never touches the buffer after returning; one that
 * completed reports its count, and the cancellation is seen at the next
 * checkpoint. A cancelled open that completed closes its fd. */
#ifndef TULIP_FILE_H
#define TULIP_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "tulip/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* open(2) (O_CLOEXEC added): the fd, or -errno (-ENOENT, -EACCES, ...,
 * -ECANCELED, -ETIMEDOUT, -EPERM when not in a task). */
TULIP_API int tulip_file_open(const char *path, int flags, unsigned mode);
/* pread(2) at off, or read(2) at the file position when off < 0 (FIFOs,
 * character devices): bytes read (0 at end of file) or -errno. */
TULIP_API ssize_t tulip_file_pread(int fd, void *buf, size_t n, int64_t off);
/* pwrite(2) at off, or write(2) when off < 0: bytes written (possibly
 * short) or -errno. */
TULIP_API ssize_t tulip_file_pwrite(int fd, const void *buf, size_t n, int64_t off);
/* fsync(2), or fdatasync(2) when datasync. Errors: -errno. */
TULIP_API int tulip_file_fsync(int fd, bool datasync);
/* stat(2) of path / fstat(2) of fd. Errors: -errno. */
TULIP_API int tulip_file_stat(const char *path, struct stat *st);
TULIP_API int tulip_file_fstat(int fd, struct stat *st);
/* Read the whole file at path into a malloc'd buffer (NUL-terminated, the
 * NUL not counted) at *out: its length, or -errno; -EFBIG when it is
 * longer than max bytes (0: no limit). */
TULIP_API ssize_t tulip_file_read_all(const char *path, char **out, size_t max);

#ifdef __cplusplus
}
#endif

#endif
