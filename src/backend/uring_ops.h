/* Completion-based operations on the io_uring backend, for the io layer.
 *
 * An operation (struct tulip__uop) lives in the calling task's wait block
 * (tulip__uop_slot), never on its stack: the kernel's completion and the
 * cancel hook reach it while the task is suspended (docs/DESIGN.md section
 * 11). A task has one at a time: it parks until its operation's completion,
 * even when cancelled. It is submitted with the next io_uring_submit_and_wait of the loop: no system
 * call per operation. The task parks until the operation's own completion.
 * Cancellation never abandons an operation the kernel still owns: the
 * cancel hook submits IORING_OP_ASYNC_CANCEL and the task keeps waiting,
 * unmovable, for the completion (Photon's rule). tulip__uop_run then
 * returns the cancellation error, with op->res telling what happened, so
 * the caller can keep bytes that were read (the fd's stash) or report bytes
 * that were written.
 *
 * Without liburing every entry is a stub and tulip__uring_on() is 0. */
#ifndef TULIP_URING_OPS_H
#define TULIP_URING_OPS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../loop/loop_internal.h"
#include "../sync/xwait.h"
#include "backend.h"

enum tulip__uop_kind {
    TULIP__UOP_RECV = 1,  /* buf, len, flags */
    TULIP__UOP_SEND,      /* buf, len, flags */
    TULIP__UOP_RECVMSG,   /* msg, flags */
    TULIP__UOP_SENDMSG,   /* msg, flags */
    TULIP__UOP_READ,      /* buf, len, off (-1: file position), flags (RWF_*), async */
    TULIP__UOP_WRITE,     /* buf, len, off, flags, async */
    TULIP__UOP_CONNECT,   /* addr, addrlen */
    TULIP__UOP_FSYNC,     /* flags: nonzero for fdatasync */
    TULIP__UOP_OPENAT,    /* path, flags, mode */
    TULIP__UOP_STATX,     /* path, flags, statx buffer */
};

struct tulip__uop {
    uint8_t kind;
    uint8_t done;
    uint8_t cancel_sent;
    uint8_t async;        /* READ/WRITE: to the kernel's io-wq workers (IOSQE_ASYNC) */
    int fd;
    int res;              /* the completion's result, once done */
    unsigned cflags;
    void *task;           /* the parked task */
    tulip_loop *loop;
    /* arguments */
    void *buf;
    size_t len;
    int64_t off;
    int flags;
    unsigned mode;
    const char *path;
    const struct sockaddr *addr;
    socklen_t addrlen;
    struct msghdr *msg;
};

/* A task's io_uring records, after the single-wait record in its wait
 * block (src/sync/xwait.h; no channel or select wait runs meanwhile): the
 * operation, then room for the backend's waiter (a send-lock, accept or
 * multishot-recv one), which a send parks on while its operation is filled
 * in. An operation without a waiter may use that room, grown, for what the
 * kernel reads or fills after the task parked (a statx, a connect
 * address). */
#define TULIP__UWAIT_ROOM 80
#define TULIP__UOP_SIZE ((sizeof(struct tulip__uop) + 15) / 16 * 16)
#define TULIP__UREC_NEED (sizeof(struct tulip__xone) + TULIP__UOP_SIZE + TULIP__UWAIT_ROOM)
static inline struct tulip__uop *tulip__uop_slot(void)
{
    struct tulip__xone *b = tulip__xblock(tulip__current(), TULIP__UREC_NEED);
    return b ? (struct tulip__uop *)(void *)b->item : NULL;
}

/* The room after op (see above). */
static inline void *tulip__uop_room(struct tulip__uop *op)
{
    return (char *)op + TULIP__UOP_SIZE;
}

/* n bytes after the waiter's room, for arguments the kernel or a
 * completion reads after the task parked (a sendmsg's header, a readv's
 * iovec array): the block grows to fit. Call it before taking the
 * operation or the waiter (tulip__uop_slot), which a growth would move. */
static inline void *tulip__uop_args(size_t n)
{
    struct tulip__xone *b = tulip__xblock(tulip__current(), TULIP__UREC_NEED + n);
    return b ? (char *)b->item + TULIP__UOP_SIZE + TULIP__UWAIT_ROOM : NULL;
}

#if defined(TULIP_HAVE_URING)
/* The head of the io_uring backend's data (l->backend_data), read inline:
 * tulip__uring_on is asked by every socket call. */
struct tulip__uring_head {
    uint8_t ops;                   /* completion operations usable */
};
/* 1 when l runs io_uring with completion operations available. */
static inline int tulip__uring_on(tulip_loop *l)
{
    return l->backend == &tulip__backend_uring && ((const struct tulip__uring_head *)l->backend_data)->ops;
}
/* Submit op (its arguments filled in) and park until its completion.
 * Returns 0 when it completed without interruption, or -ECANCELED /
 * -ETIMEDOUT when the task was cancelled meanwhile; in both cases op->res
 * is the operation's final result. -ENOMEM if no submission entry could be
 * had (nothing submitted). */
int tulip__uop_run(tulip_loop *l, struct tulip__uop *op);
/* Bytes a cancelled read left behind on a stream fd, taken first by the
 * next read. take copies at most n and returns the count (0: none). */
size_t tulip__uring_stash_take(tulip_loop *l, int fd, void *buf, size_t n);
size_t tulip__uring_stash_takev(tulip_loop *l, int fd, const struct iovec *iov, int iovcnt);
int tulip__uring_stash_put(tulip_loop *l, int fd, const void *buf, size_t n);
/* Serialise sends on one stream (completions could otherwise reorder
 * bytes): a positive token when the caller holds the send slot (give it
 * to unlock), or -ECANCELED / -ETIMEDOUT / -EBADF / -ENOMEM. */
int64_t tulip__uring_send_lock(tulip_loop *l, int fd);
void tulip__uring_send_unlock(tulip_loop *l, int fd, int64_t token);
/* Read a TCP stream through its multishot recv (uring_recv.c): bytes
 * copied into iov (0 at the end) or -errno. flags: 0, MSG_PEEK (the bytes
 * stay to be read again), MSG_WAITALL. -EOPNOTSUPP when the loop or the
 * fd cannot (not TCP, an old kernel): the caller reads one-shot. Called
 * right after the caller's cancellation check (tulip__io_begin), which its
 * first park does not repeat. */
ssize_t tulip__uring_recv_stream(tulip_loop *l, int fd, const struct iovec *iov, int iovcnt, int flags);
/* fd goes to code that reads it with read(2) itself (TLS's BIO): its
 * multishot recv ends for good, and the bytes it brought in wait in the
 * stash (tulip__uring_stash_take first). */
void tulip__uring_recv_detach(tulip_loop *l, int fd);
/* TLS (src/io/tls.c) reads a TCP stream's records from the stash its
 * multishot recv fills, without a system call: attach arms it (1; 0: not
 * possible, read the socket); take is non-blocking (bytes, 0 at the end,
 * -EAGAIN, an error; -EOPNOTSUPP when fd is not attached); wait parks
 * until something came (0, or -ECANCELED, -ETIMEDOUT, -EBADF). */
int tulip__uring_recv_attach(tulip_loop *l, int fd);
ssize_t tulip__uring_recv_take(tulip_loop *l, int fd, void *buf, size_t n);
int tulip__uring_recv_wait(tulip_loop *l, int fd);
/* Accept through a multishot accept armed on lfd: the accepted fd, or
 * -errno (the caller handles EMFILE & co. as with accept4). */
int tulip__uring_accept(tulip_loop *l, int lfd);
/* Put fd back at the head of lfd's queue (fault injection). */
void tulip__uring_accept_unget(tulip_loop *l, int lfd, int fd);
#else
static inline int tulip__uring_on(tulip_loop *l)
{
    (void)l;
    return 0;
}
static inline int tulip__uop_run(tulip_loop *l, struct tulip__uop *op)
{
    (void)l;
    (void)op;
    return -ENOSYS;
}
static inline size_t tulip__uring_stash_take(tulip_loop *l, int fd, void *buf, size_t n)
{
    (void)l, (void)fd, (void)buf, (void)n;
    return 0;
}
static inline size_t tulip__uring_stash_takev(tulip_loop *l, int fd, const struct iovec *iov, int iovcnt)
{
    (void)l, (void)fd, (void)iov, (void)iovcnt;
    return 0;
}
static inline int tulip__uring_stash_put(tulip_loop *l, int fd, const void *buf, size_t n)
{
    (void)l, (void)fd, (void)buf, (void)n;
    return -ENOSYS;
}
static inline int64_t tulip__uring_send_lock(tulip_loop *l, int fd)
{
    (void)l, (void)fd;
    return 1;
}
static inline void tulip__uring_send_unlock(tulip_loop *l, int fd, int64_t token)
{
    (void)l, (void)fd, (void)token;
}
static inline ssize_t tulip__uring_recv_stream(tulip_loop *l, int fd, const struct iovec *iov, int iovcnt,
                                               int flags)
{
    (void)l, (void)fd, (void)iov, (void)iovcnt, (void)flags;
    return -EOPNOTSUPP;
}
static inline void tulip__uring_recv_detach(tulip_loop *l, int fd)
{
    (void)l, (void)fd;
}
static inline int tulip__uring_recv_attach(tulip_loop *l, int fd)
{
    (void)l, (void)fd;
    return 0;
}
static inline ssize_t tulip__uring_recv_take(tulip_loop *l, int fd, void *buf, size_t n)
{
    (void)l, (void)fd, (void)buf, (void)n;
    return -EOPNOTSUPP;
}
static inline int tulip__uring_recv_wait(tulip_loop *l, int fd)
{
    (void)l, (void)fd;
    return -EOPNOTSUPP;
}
static inline int tulip__uring_accept(tulip_loop *l, int lfd)
{
    (void)l, (void)lfd;
    return -ENOSYS;
}
static inline void tulip__uring_accept_unget(tulip_loop *l, int lfd, int fd)
{
    (void)l, (void)lfd, (void)fd;
}
#endif

#endif
