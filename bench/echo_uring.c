/* A hand-written io_uring echo server: the least CPU per message any
 * io_uring server can spend on this kernel, the floor the tulip server on
 * io_uring is measured against (bench/run_echo.sh). No runtime, no tasks:
 * one thread, one io_uring_submit_and_wait per turn, SINGLE_ISSUER +
 * DEFER_TASKRUN, a registered ring fd, multishot accept, one multishot
 * recv per connection into a provided buffer ring, and the echo sent
 * straight from the provided buffer, which goes back to the ring when its
 * send completes. Runs until SIGINT/SIGTERM.
 *
 *   echo_uring port
 *
 * A connection has at most one send in flight; bytes that come meanwhile
 * wait in a queue of buffers, so the echo keeps its order. Built only
 * with liburing (a stub that says so otherwise). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

#if defined(TULIP_HAVE_URING)
#include <liburing.h>

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

#define NBUFS 1024               /* a power of two */
#define BUF_SIZE 4096
#define MAXFD 65536

/* user_data: kind in the low 2 bits, fd above them, buffer id above that */
enum { K_ACCEPT, K_RECV, K_SEND };

struct conn {
    int fd;
    int sending;                 /* buffer id in flight, or -1 */
    int ended;                   /* the recv ended: drop once the send is back */
    unsigned off;                /* bytes of it sent */
    int q[NBUFS];                /* received buffers waiting to be sent */
    unsigned qh, qn;
};

static volatile sig_atomic_t stop;
static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static unsigned lens[NBUFS];
static struct conn *conns[MAXFD];

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) {
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void recycle(int bid)
{
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(br, 1);
}

static void arm_recv(int fd)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, (uint64_t)fd << 2 | K_RECV);
}

static void send_next(struct conn *c)
{
    if (c->sending >= 0 || !c->qn)
        return;
    int bid = c->q[c->qh];
    c->qh = (c->qh + 1) % NBUFS;
    c->qn--;
    c->sending = bid;
    c->off = 0;
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_send(sqe, c->fd, bufs + (size_t)bid * BUF_SIZE, lens[bid], MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)bid << 34 | (uint64_t)c->fd << 2 | K_SEND);
}

static void drop(struct conn *c)
{
    if (c->sending >= 0) {
        c->ended = 1; /* its send completes first */
        return;
    }
    while (c->qn) {
        recycle(c->q[c->qh]);
        c->qh = (c->qh + 1) % NBUFS;
        c->qn--;
    }
    conns[c->fd] = NULL;
    close(c->fd); /* also ends its multishot recv */
    free(c);
}

static void on_cqe(uint64_t data, int res, unsigned flags)
{
    int kind = (int)(data & 3);
    int fd = (int)((data >> 2) & 0xffffffffu);
    if (kind == K_ACCEPT) {
        if (res >= 0 && res < MAXFD) {
            struct conn *c = calloc(1, sizeof *c);
            if (!c) {
                close(res);
            } else {
                c->fd = res;
                c->sending = -1;
                conns[res] = c;
                arm_recv(res);
            }
        } else if (res >= 0) {
            close(res);
        }
        if (!(flags & IORING_CQE_F_MORE)) {
            struct io_uring_sqe *sqe = sqe_get();
            io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC);
            io_uring_sqe_set_data64(sqe, (uint64_t)fd << 2 | K_ACCEPT);
        }
        return;
    }
    struct conn *c = conns[fd];
    if (kind == K_RECV) {
        int has = (flags & IORING_CQE_F_BUFFER) != 0;
        int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
        if (!c) {
            if (has)
                recycle(bid);
            return;
        }
        if (res > 0 && has) {
            lens[bid] = (unsigned)res;
            c->q[(c->qh + c->qn) % NBUFS] = bid;
            c->qn++;
            send_next(c);
        } else if (has) {
            recycle(bid);
        }
        if (!(flags & IORING_CQE_F_MORE)) {
            if (res == -ENOBUFS)
                arm_recv(fd); /* out of buffers for a moment */
            else
                drop(c);      /* the end, or an error */
        }
        return;
    }
    int bid = (int)(data >> 34);
    if (!c) {
        recycle(bid);
        return;
    }
    c->sending = -1;
    if (res > 0 && c->off + (unsigned)res < lens[bid]) {
        /* A short send: the rest goes first. */
        c->off += (unsigned)res;
        c->sending = bid;
        struct io_uring_sqe *sqe = sqe_get();
        io_uring_prep_send(sqe, fd, bufs + (size_t)bid * BUF_SIZE + c->off, lens[bid] - c->off, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, data);
        return;
    }
    recycle(bid);
    if (c->ended) {
        drop(c);
        return;
    }
    if (res < 0) {
        shutdown(fd, SHUT_RDWR); /* the recv ends; its last completion drops c */
        return;
    }
    send_next(c);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 7783;
    struct sigaction sa_sig;
    memset(&sa_sig, 0, sizeof sa_sig);
    sa_sig.sa_handler = on_signal; /* no SA_RESTART: the wait returns -EINTR */
    sigaction(SIGINT, &sa_sig, NULL);
    sigaction(SIGTERM, &sa_sig, NULL);
    signal(SIGPIPE, SIG_IGN);
    int lfd = bench_listen(port, 0, "echo_uring");
    if (lfd < 0)
        return 1;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = 16384;
    int rc = io_uring_queue_init_params(1024, &ring, &p);
    if (rc < 0) {
        fprintf(stderr, "echo_uring: io_uring: %s\n", strerror(-rc));
        return 1;
    }
    io_uring_register_ring_fd(&ring);
    /* liburing 2.3 has no io_uring_setup_buf_ring: map the ring here. */
    br = mmap(NULL, NBUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
              0);
    bufs = malloc((size_t)NBUFS * BUF_SIZE);
    if (br == MAP_FAILED || !bufs) {
        fprintf(stderr, "echo_uring: out of memory\n");
        return 1;
    }
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)br;
    reg.ring_entries = NBUFS;
    reg.bgid = 0;
    if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) != 0) {
        fprintf(stderr, "echo_uring: buffer ring: %s\n", strerror(-rc));
        return 1;
    }
    for (int i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(NBUFS), i);
    io_uring_buf_ring_advance(br, NBUFS);
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, (uint64_t)lfd << 2 | K_ACCEPT);
    while (!stop) {
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            fprintf(stderr, "echo_uring: io_uring_enter: %s\n", strerror(-rc));
            break;
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen++;
            on_cqe(cqe->user_data, cqe->res, cqe->flags);
        }
        io_uring_cq_advance(&ring, seen);
    }
    io_uring_queue_exit(&ring);
    close(lfd);
    return 0;
}
#else
int main(void)
{
    fprintf(stderr, "echo_uring: built without liburing\n");
    return 1;
}
#endif
