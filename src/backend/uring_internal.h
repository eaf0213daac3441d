/* Shared by the io_uring backend's files (uring.c: the ring, readiness
 * polls and the wait; uring_ops.c: completion operations). */
#ifndef TULIP_URING_INTERNAL_H
#define TULIP_URING_INTERNAL_H

#include <pthread.h>
#include <sys/uio.h>
#include <liburing.h>

#include "backend.h"
#include "uring_ops.h"

/* Newer than liburing 2.3's headers: defined here, used only when the
 * kernel says it has them (setup retried without, probe, feature bits). */
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_FEAT_FAST_POLL
#define IORING_FEAT_FAST_POLL (1U << 5)
#endif

#ifndef IORING_RECV_MULTISHOT
#define IORING_RECV_MULTISHOT (1U << 1)
#endif

/* user_data: 0 ignored; low bits 01: a struct tulip__uop pointer; 00: a
 * readiness poll, 10: a multishot accept, 11: a multishot recv, all three
 * (gen << 34 | fd << 2). */
#define URING_TAG_OP 1u
#define URING_TAG_POLL 0u
#define URING_TAG_ACCEPT 2u
#define URING_TAG_RECV 3u
#define URING_GEN_MASK 0x3fffffffu

static inline uint64_t uring_tag(uint32_t gen, int fd, unsigned kind)
{
    return ((uint64_t)(gen & URING_GEN_MASK) << 34) | ((uint64_t)(uint32_t)fd << 2) | kind;
}

struct uring_waiter {
    struct uring_waiter *next;
    struct uring_waiter **head;    /* the list it is on */
    void *task;
};

static inline void uring_waiter_link(struct uring_waiter **head, struct uring_waiter *w)
{
    w->next = NULL;
    w->head = head;
    while (*head)
        head = &(*head)->next;
    *head = w;
}

/* A park's cancel hook: off its list. */
static inline void uring_waiter_unlink(void *ctx)
{
    struct uring_waiter *w = ctx;
    for (struct uring_waiter **p = w->head; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
}

static inline struct uring_waiter *uring_waiter_pop(struct uring_waiter **head)
{
    struct uring_waiter *w = *head;
    if (w)
        *head = w->next;
    return w;
}

/* A task waiting for a multishot recv's bytes, copied into iov as they
 * complete (uring_recv.c). */
struct uring_rx_waiter {
    struct uring_waiter w;
    const struct iovec *iov;       /* the caller's, or one */
    int iovcnt;
    size_t got, cap;
    struct iovec one;              /* a single buffer's, copied: the caller's may be in its frames */
};

/* The running task's backend waiter, in its wait block after its
 * operation (uring_ops.h), or NULL (ENOMEM). */
_Static_assert(sizeof(struct uring_rx_waiter) <= TULIP__UWAIT_ROOM, "TULIP__UWAIT_ROOM");
static inline void *uring_waiter_slot(void)
{
    struct tulip__uop *op = tulip__uop_slot();
    return op ? tulip__uop_room(op) : NULL;
}

/* Per-fd state of the completion path; in use when id != 0. */
#define URING_FDX_CHUNK 64
struct uring_fdx {
    unsigned inflight;             /* operations the kernel owns */
    /* bytes read that nobody has taken yet: a read that completed after
     * its task was cancelled, or what a multishot recv brought in beyond
     * what its readers asked for; kept allocated while the fd lives */
    char *stash;
    size_t stash_off, stash_len, stash_cap;
    uint32_t id;                   /* tells a recycled fd number's state apart */
    /* one send at a time */
    uint8_t send_busy;
    struct uring_waiter *send_waiters;
    /* multishot accept */
    uint8_t acc_armed;
    uint32_t acc_gen;
    int *acc_q;
    unsigned acc_head, acc_n, acc_cap;
    struct uring_waiter *acc_waiters;
    /* multishot recv on the provided buffers (uring_recv.c) */
    uint8_t rx_kind;               /* 0 unknown, 1 TCP stream, 2 other */
    uint8_t rx_armed;
    uint8_t rx_stopping;           /* cancelled: the stash is past its bound */
    uint8_t rx_eof;                /* the peer's end came: reads return 0 */
    int rx_err;                    /* an error for the next reader */
    uint32_t rx_gen;
    struct uring_waiter *rx_waiters;
    /* woken with bytes, not run yet: later completions of the same turn
     * (rx_fill_turn == turn) fill the rest of its buffer */
    struct uring_rx_waiter *rx_filling;
    uint32_t rx_fill_turn;
};

struct uring_cqe_copy {
    uint64_t data;
    int res;
    unsigned flags;
};

struct uring_data_s {
    struct tulip__uring_head head; /* first: read through l->backend_data */
    struct io_uring ring;
    uint32_t next_gen;
    uint8_t enabled;               /* R_DISABLED ring enabled on the loop thread */
    uint8_t need_enable;
    unsigned setup_flags;
    /* per-fd state in chunks of URING_FDX_CHUNK that never move (tasks
     * keep pointers into them across parks) */
    struct uring_fdx **fdx;
    int nfdx;                      /* chunks */
    /* provided buffer ring of multishot recv (uring_recv.c) */
    uint8_t rx_ok;                 /* the kernel has it (probe); 0 also when turned off */
    uint8_t rx_ready;              /* ring registered (lazily, on the loop thread) */
    uint8_t file_async;            /* file reads and writes straight to io-wq (uring_ops.c) */
    /* spin on the completion queue before sleeping (uring.c) */
    int64_t spin_max;              /* TULIP_SPIN_NS; 0: never (or the kernel cannot show pending work) */
    int64_t spin_win;              /* the current window, adapted between 0 and spin_max */
    uint32_t turn;                 /* passes over the completion queue (waits, drains) */
    struct io_uring_buf_ring *br;
    char *rx_bufs;
    /* poll completions met while draining for a close, replayed by wait */
    struct uring_cqe_copy *deferred;
    size_t ndeferred, capdeferred;
};

struct io_uring_sqe *tulip__uring_get_sqe(struct uring_data_s *d);
void tulip__uring_enable(struct uring_data_s *d);
/* fd's state (create: made when missing, else NULL). Inline: several
 * lookups per message, and most find an existing entry. */
struct uring_fdx *tulip__uring_fdx_make(struct uring_data_s *d, int fd);
static inline struct uring_fdx *tulip__uring_fdx(struct uring_data_s *d, int fd, int create)
{
    unsigned c = (unsigned)fd / URING_FDX_CHUNK; /* a negative fd: past every chunk */
    if (c < (unsigned)d->nfdx && d->fdx[c]) {
        struct uring_fdx *x = &d->fdx[c][(unsigned)fd % URING_FDX_CHUNK];
        if (x->id)
            return x;
    }
    return create ? tulip__uring_fdx_make(d, fd) : NULL;
}
/* Completions of operations and accepts (uring_ops.c). */
void tulip__uring_op_done(tulip_loop *l, struct tulip__uop *op, int res, unsigned flags);
void tulip__uring_accept_done(tulip_loop *l, int fd, uint32_t gen, int res, unsigned flags);
/* Enter the kernel until cond(arg) holds, completing operations and
 * accepts as they come and setting poll completions aside. */
void tulip__uring_drain(tulip_loop *l, int (*cond)(void *), void *arg);
/* An fd is being closed: cancel what is in flight on it, wait, free. */
void tulip__uring_fd_close(tulip_loop *l, int fd);
void tulip__uring_fdx_free_all(struct uring_data_s *d);
/* Multishot recv (uring_recv.c): a completion; the loop ending. */
void tulip__uring_recv_done(tulip_loop *l, int fd, uint32_t gen, int res, unsigned flags);
void tulip__uring_recv_fini(struct uring_data_s *d);
int tulip__uring_quiet(tulip_loop *l, int fd);
/* Room for n more stashed bytes (the capacity only), or -ENOMEM. */
int tulip__uring_stash_reserve(struct uring_fdx *x, size_t n);
int tulip__uring_stash_append(struct uring_fdx *x, const void *buf, size_t n);

#endif
