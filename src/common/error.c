/* One table of error codes generates both tulip_strerror and tulip_err_name,
 * so a new code cannot be added to one and forgotten in the other. */
#define _GNU_SOURCE
#include "tulip/common.h"

#define TULIP_ERRNO_MAP(X)                                              \
    X(EPERM, "operation not permitted here (not inside a task?)")       \
    X(ENOENT, "no such file, name or entry")                            \
    X(ESRCH, "no such process")                                         \
    X(EINTR, "interrupted system call")                                 \
    X(EIO, "input/output error")                                        \
    X(E2BIG, "argument list or item too long")                          \
    X(EBADF, "bad or closed file descriptor")                           \
    X(ECHILD, "no child processes")                                     \
    X(EAGAIN, "resource temporarily unavailable")                       \
    X(ENOMEM, "out of memory")                                          \
    X(EACCES, "permission denied")                                      \
    X(EFAULT, "bad address")                                            \
    X(EBUSY, "resource busy (already waited on or running)")            \
    X(EEXIST, "already exists")                                         \
    X(EXDEV, "cross-device link")                                       \
    X(ENODEV, "no such device")                                         \
    X(ENOTDIR, "not a directory")                                       \
    X(ELOOP, "too many symbolic links or redirects")                    \
    X(ENXIO, "no such device or address")                               \
    X(ENOEXEC, "not an executable")                                     \
    X(ETXTBSY, "executable busy")                                       \
    X(EROFS, "read-only file system")                                   \
    X(ENOTTY, "not a terminal")                                         \
    X(EISDIR, "is a directory")                                         \
    X(EINVAL, "invalid argument")                                       \
    X(ENFILE, "too many open files in system")                          \
    X(EMFILE, "too many open files")                                    \
    X(EFBIG, "too large")                                               \
    X(ENOSPC, "no space left")                                          \
    X(ESPIPE, "illegal seek")                                           \
    X(EPIPE, "broken pipe")                                             \
    X(ERANGE, "result out of range")                                    \
    X(EDEADLK, "would deadlock")                                        \
    X(ENAMETOOLONG, "name too long")                                    \
    X(ENOSYS, "not implemented")                                        \
    X(ENOTEMPTY, "not empty")                                           \
    X(ENODATA, "no data available")                                     \
    X(ETIME, "timer expired")                                           \
    X(EPROTO, "protocol error")                                         \
    X(EBADMSG, "malformed message")                                     \
    X(EOVERFLOW, "value too large for defined data type")               \
    X(EILSEQ, "invalid byte sequence")                                  \
    X(ENOTSOCK, "not a socket")                                         \
    X(EDESTADDRREQ, "destination address required")                     \
    X(EMSGSIZE, "message too long")                                     \
    X(EPROTOTYPE, "wrong protocol type for socket")                     \
    X(ENOPROTOOPT, "protocol not available")                            \
    X(EPROTONOSUPPORT, "protocol not supported")                        \
    X(ESOCKTNOSUPPORT, "socket type not supported")                     \
    X(EOPNOTSUPP, "operation not supported")                            \
    X(EAFNOSUPPORT, "address family not supported")                     \
    X(EADDRINUSE, "address already in use")                             \
    X(EADDRNOTAVAIL, "address not available")                           \
    X(ENETDOWN, "network is down")                                      \
    X(ENETUNREACH, "network is unreachable")                            \
    X(ECONNABORTED, "connection aborted")                               \
    X(ECONNRESET, "connection reset by peer")                           \
    X(ENOBUFS, "no buffer space available")                             \
    X(EISCONN, "already connected")                                     \
    X(ENOTCONN, "not connected")                                        \
    X(ESHUTDOWN, "endpoint shut down (queue or channel closed)")        \
    X(ETIMEDOUT, "timed out (deadline passed)")                         \
    X(ECONNREFUSED, "connection refused")                               \
    X(EHOSTDOWN, "host is down")                                        \
    X(EHOSTUNREACH, "no route to host")                                 \
    X(EALREADY, "already done")                                         \
    X(EINPROGRESS, "operation in progress")                             \
    X(ECANCELED, "cancelled")                                           \
    X(ENOTRECOVERABLE, "state not recoverable")                         \
    X(EOWNERDEAD, "owner died")

const char *tulip_strerror(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0:
        return "success";
#define TULIP_ERR_MSG(code, msg) case code: return msg;
        TULIP_ERRNO_MAP(TULIP_ERR_MSG)
#undef TULIP_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *tulip_err_name(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0:
        return "OK";
#define TULIP_ERR_NAME(code, msg) case code: return #code;
        TULIP_ERRNO_MAP(TULIP_ERR_NAME)
#undef TULIP_ERR_NAME
    default:
        return "UNKNOWN";
    }
}
