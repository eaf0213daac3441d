/* Shared by the io layer's files (sockets, streams, processes...). */
#ifndef TULIP_IO_INTERNAL_H
#define TULIP_IO_INTERNAL_H

#include <sys/socket.h>

#include "tulip/io.h"
#include "../task/task_internal.h"
#include "../backend/backend.h"
#include "../backend/uring_ops.h"

/* Park until fd is ready. check_level: also check the current state with
 * poll(2) (for callers that have not just seen EAGAIN). Returns the ready
 * directions or -errno. */
int tulip__wait_fd(int fd, int events, int check_level);
/* The retry rule of every parking I/O call, after it failed with errno:
 * 1 to try again (EINTR, or EAGAIN and fd is now ready; *f refreshed), or
 * the negative error. */
int tulip__io_retry(int fd, int dir, struct tulip__fd **f);
/* f's kind (enum tulip__fd_kind), found with fstat (and SO_TYPE, and
 * SO_DOMAIN for a stream socket) the first time and kept: one answer for every question the I/O
 * calls ask about an fd - send or write (only send can refuse SIGPIPE),
 * whether a short read means the queue is drained, whether io_uring's
 * socket path applies. Sockets tulip makes or accepts are marked when
 * made, at no cost. */
int tulip__fd_kind(struct tulip__fd *f);
static inline int tulip__fd_is_socket(struct tulip__fd *f)
{
    int k = f->kind ? f->kind : tulip__fd_kind(f);
    return k == TULIP__FD_STREAM_SOCKET || k == TULIP__FD_SOCKET || k == TULIP__FD_UNIX_STREAM;
}
/* A byte stream: a stream socket or a pipe. */
static inline int tulip__fd_is_stream(struct tulip__fd *f)
{
    int k = f->kind ? f->kind : tulip__fd_kind(f);
    return k == TULIP__FD_STREAM_SOCKET || k == TULIP__FD_PIPE || k == TULIP__FD_UNIX_STREAM;
}
/* The readiness path's "drained" rule, for reads of byte streams: prewait
 * waits for a readable edge first when the last read was short (the queue
 * was empty then), so the read that follows is not an EAGAIN; 0 or the
 * error, *f looked up again after a wait. note records, after a read that
 * asked for n bytes and got r >= 0, whether it emptied the queue. */
int tulip__read_prewait(tulip_loop *l, int fd, struct tulip__fd **f);
static inline void tulip__read_note(struct tulip__fd *f, ssize_t r, size_t n)
{
    /* On a pipe or a TCP stream a short read means the kernel queue was
     * empty at that instant; on datagrams or terminals it does not, nor on
     * a Unix stream, where a read stops after bytes that carried fds (or,
     * with SO_PASSCRED, where the writer changes) with more queued behind
     * them under the same edge. */
    int k = f->kind ? f->kind : tulip__fd_kind(f);
    f->drained = r > 0 && (size_t)r < n && !f->hup && (k == TULIP__FD_STREAM_SOCKET || k == TULIP__FD_PIPE);
}
/* Make fd non-blocking and return its state. */
int tulip__fd_prepare(tulip_loop *l, int fd, struct tulip__fd **out);
/* Common entry of every I/O call: a cancellation point that also charges
 * the fairness budget before touching the fd, so nothing is consumed when
 * it returns an error. Inline, as 0.1's was in its one file: it runs
 * twice per echoed message. */
static inline int tulip__io_enter(int fd, struct tulip__fd **f)
{
    tulip_task *t;
    int st = tulip__wait_enter(&t);
    if (st)
        return st;
    st = tulip__budget_charge();
    if (st)
        return st;
    /* An fd already known to be non-blocking (every one after its first
     * call): a table look-up, no call. */
    struct tulip__fd *x = tulip__fd_peek(t->loop, fd);
    if (x && x->nonblock) {
        *f = x;
        return 0;
    }
    return tulip__fd_prepare(t->loop, fd, f);
}

/* The io_uring completion path for sockets (ring_io.c): tulip__io_ring
 * says whether the running task t's call on f takes it (t's loop runs
 * io_uring with operations, f is a socket, and t is not compact); the
 * others do the call and return what the plain call would, or a
 * cancellation error. Asked by every socket call, so a loop on another
 * backend answers inline with a compare or two. */
static inline int tulip__io_ring(tulip_task *t, struct tulip__fd *f)
{
#if defined(TULIP_HAVE_URING)
    /* A compact task takes the readiness path: the kernel must not write
     * into (or read from) its stack buffers while its frames may be saved
     * away (issue 18). */
    tulip_loop *l = t->loop;
    return !t->shared && tulip__uring_on(l) && tulip__fd_is_socket(f);
#else
    (void)t;
    (void)f;
    return 0;
#endif
}

ssize_t tulip__ring_recv(tulip_loop *l, struct tulip__fd *f, int fd, void *buf, size_t n, int flags);
ssize_t tulip__ring_send(tulip_loop *l, int fd, const void *buf, size_t n, int flags);
ssize_t tulip__ring_recvmsg(tulip_loop *l, struct tulip__fd *f, int fd, struct msghdr *m, int flags);
ssize_t tulip__ring_sendmsg(tulip_loop *l, int fd, struct msghdr *m, int flags);
int tulip__ring_connect(tulip_loop *l, int fd, const struct sockaddr *sa, socklen_t len);

/* One send of iov[0..iovcnt) on a socket that never waits for room
 * (sockio.c): what the socket took (possibly short), -EAGAIN when it took
 * nothing, or the error. On readiness backends it is a plain MSG_DONTWAIT
 * sendmsg. On io_uring it is a MSG_DONTWAIT send on the ring: the task
 * parks until its completion, which the loop reaps with every other
 * operation in its one submit-and-wait per turn, so the send costs no
 * system call of its own. The public tulip_send(..., MSG_DONTWAIT) keeps
 * its meaning, "never parks", and stays a plain system call. For the HTTP
 * server's first attempt at an answer (response.c); tulip__send_try_ring
 * counts this thread's tries that went to the ring (tests). */
ssize_t tulip__send_try(int fd, struct iovec *iov, int iovcnt);
extern _Thread_local uint64_t tulip__send_try_ring;
/* 1 when the running task's tries go to the ring (tests). */
int tulip__send_try_rings(void);

/* tulip__io_enter, then the path the call takes: 1 through io_uring (a
 * socket on a loop with a ring, unless flags has MSG_DONTWAIT: the ring
 * would wait), 0 by readiness; < 0 the error. *l: the running loop.
 * Inline with tulip__io_ring: 0.1's socket calls had only io_enter's call. */
static inline int tulip__io_begin(int fd, int flags, struct tulip__fd **f, tulip_loop **l)
{
    int rc = tulip__io_enter(fd, f);
    if (rc < 0)
        return rc;
    tulip_task *t = tulip__current();
    *l = t->loop;
    return !(flags & MSG_DONTWAIT) && tulip__io_ring(t, *f);
}

#endif
