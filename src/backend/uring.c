/* Linux io_uring backend: a completion engine (uring_ops.c; TCP reads by
 * multishot recv, uring_recv.c) plus readiness polls for what still waits
 * for readiness (tulip_wait_fd, watchers, pipes and terminals). One
 * io_uring_submit_and_wait per loop turn hands the kernel every operation
 * and poll queued since the last one.
 *
 * Ring set-up tries SINGLE_ISSUER + DEFER_TASKRUN (6.1: completions are
 * processed only when we wait, on our thread, no task-work interrupts),
 * then COOP_TASKRUN (5.19), then no flags. The ring starts disabled and is
 * enabled by the thread that first runs it, which becomes its single
 * issuer; its fd is registered there too (one fewer fdget per enter).
 *
 * Readiness: task-mode fds get one multishot poll each, which posts a
 * completion per wake-up, the same edges epoll's EPOLLET gives; watch-mode
 * fds get one-shot polls re-armed after each completion, which re-check
 * the current state: level-triggered. Every poll carries a generation
 * (kept in tulip__fd.backend_slot) so completions of removed polls and of a
 * closed fd's predecessor are recognised and dropped. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring_internal.h"
#include "../common/fault.h"
#include "../platform/annotate.h"
#include "../platform/spin_wait.h"
#include "../platform/clock.h"

/* TASKRUN_FLAG (5.19, with COOP or DEFER_TASKRUN): the kernel sets
 * IORING_SQ_TASKRUN in the shared ring when completions wait for us to
 * enter, which is what lets the loop see them coming without a system call
 * (the spin before sleep, below). */
static const unsigned setup_tries[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED | IORING_SETUP_TASKRUN_FLAG,
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    IORING_SETUP_COOP_TASKRUN,
    0,
};

/* Opcodes the completion path needs; without any of them the backend
 * stays readiness-only (5.5-5.6 kernels). */
static const int needed_ops[] = {
    IORING_OP_RECV, IORING_OP_SEND, IORING_OP_RECVMSG, IORING_OP_SENDMSG, IORING_OP_READ,
    IORING_OP_WRITE, IORING_OP_CONNECT, IORING_OP_ACCEPT, IORING_OP_ASYNC_CANCEL,
    IORING_OP_OPENAT, IORING_OP_STATX, IORING_OP_FSYNC, IORING_OP_POLL_ADD,
    IORING_OP_SOCKET, /* only as the mark of 5.19: multishot accept, cancel by fd */
};

static int probe_ops(struct io_uring *ring, unsigned features)
{
    /* Without FAST_POLL (5.7) a socket operation that would block ties up
     * a kernel worker thread: worse than readiness. */
    if (!(features & IORING_FEAT_FAST_POLL) || !(features & IORING_FEAT_NODROP))
        return 0;
    struct io_uring_probe *p = io_uring_get_probe_ring(ring);
    if (!p)
        return 0;
    int ok = 1;
    for (size_t i = 0; i < sizeof needed_ops / sizeof needed_ops[0]; i++)
        if (!io_uring_opcode_supported(p, needed_ops[i]))
            ok = 0;
    io_uring_free_probe(p);
    return ok;
}

/* IORING_OP_SEND_ZC came with 6.0, as did multishot recv and the provided
 * buffer rings it takes from (5.19), which the probe cannot show. */
static int probe_op(struct io_uring *ring, int op)
{
    struct io_uring_probe *p = io_uring_get_probe_ring(ring);
    if (!p)
        return 0;
    int ok = io_uring_opcode_supported(p, op);
    io_uring_free_probe(p);
    return ok;
}

/* ThreadSanitizer does not see liburing map and unmap a ring (raw system
 * calls, not libc's mmap and munmap, which TSan intercepts), so a ring's
 * pages keep the accesses of the loop that last had them, and a loop on
 * another thread that the kernel gives the same addresses is reported as
 * racing with a ring that no longer exists (test_multi.uring, its loops
 * failing to start). The kernel orders the unmap before the map that
 * reuses the addresses: tell TSan so, page by page, as the new rings need
 * not line up with the old. Nothing outside TSan builds. */
static void ring_pages_handover(struct io_uring *r, int release)
{
#if defined(TULIP_TSAN)
    size_t sqes = (size_t)r->sq.ring_entries * sizeof(struct io_uring_sqe) *
                  ((r->flags & IORING_SETUP_SQE128) ? 2 : 1);
    const struct {
        void *p;
        size_t n;
    } maps[3] = {
        {r->sq.ring_ptr, r->sq.ring_sz},
        {r->sq.sqes, sqes},
        {r->cq.ring_ptr != r->sq.ring_ptr ? r->cq.ring_ptr : NULL, r->cq.ring_sz},
    };
    for (int i = 0; i < 3; i++)
        for (size_t off = 0; maps[i].p && off < maps[i].n; off += 4096) {
            if (release)
                tulip__tsan_release((char *)maps[i].p + off);
            else
                tulip__tsan_acquire((char *)maps[i].p + off);
        }
#else
    (void)r, (void)release;
#endif
}

static int uring_init(tulip_loop *l)
{
    if (tulip__fault(TULIP_FAULT_URING))
        return -EPERM; /* as kernel.io_uring_disabled=2 or a seccomp filter */
    struct uring_data_s *d = tulip__calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    if (tulip__fault(TULIP_FAULT_FD)) {
        free(d);
        return -EMFILE;
    }
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof setup_tries / sizeof setup_tries[0]; i++) {
        /* A roomy completion queue: a multishot poll the kernel cannot
         * post for (CQ overflow) is ended and must be re-armed. */
        struct io_uring_params params;
        memset(&params, 0, sizeof params);
        params.flags = IORING_SETUP_CQSIZE | setup_tries[i];
        params.cq_entries = 16384;
        rc = io_uring_queue_init_params(1024, &d->ring, &params);
        if (rc == -EINVAL)
            continue; /* a flag this kernel does not know */
        if (rc == -ENOMEM)
            rc = -EPERM; /* the locked-memory limit (before 5.12): a refusal, not our allocation */
        if (rc < 0)
            break;
        ring_pages_handover(&d->ring, 0);
        d->setup_flags = setup_tries[i];
        d->need_enable = (setup_tries[i] & IORING_SETUP_R_DISABLED) != 0;
        d->head.ops = (uint8_t)probe_ops(&d->ring, params.features);
        d->rx_ok = d->head.ops && probe_op(&d->ring, IORING_OP_SEND_ZC);
        break;
    }
    if (rc < 0) {
        free(d);
        return rc;
    }
    const char *env = getenv("TULIP_URING_OPS");
    if (env && strcmp(env, "0") == 0)
        d->head.ops = 0; /* readiness only, for A/B measurements */
    env = getenv("TULIP_URING_MULTISHOT");
    if ((env && strcmp(env, "0") == 0) || !d->head.ops)
        d->rx_ok = 0; /* one-shot recv, for A/B measurements */
    env = getenv("TULIP_URING_FILE_ASYNC"); /* 0: file I/O issued inline (uring_ops.c), for A/B */
    d->file_async = !(env && strcmp(env, "0") == 0);
    /* Off unless TULIP_URING_SPIN=1: it did not measure better on the
     * shared machine (docs/PERFORMANCE.md, "Spin before sleep on the
     * completion queue"); the budget is TULIP_SPIN_NS's. */
    env = getenv("TULIP_URING_SPIN");
    d->spin_max = env && strcmp(env, "1") == 0 && (d->setup_flags & IORING_SETUP_TASKRUN_FLAG)
                      ? tulip__spin_budget_ns()
                      : 0;
    d->spin_win = d->spin_max;
    d->next_gen = 1;
    l->backend_fd = d->ring.ring_fd;
    l->backend_data = d;
    return 0;
}

/* On the thread that runs the loop: it becomes the ring's single issuer. */
void tulip__uring_enable(struct uring_data_s *d)
{
    if (d->enabled)
        return;
    d->enabled = 1;
    /* liburing 2.3 declares io_uring_enable_rings but does not export it. */
    if (d->need_enable &&
        syscall(__NR_io_uring_register, d->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        d->head.ops = 0; /* cannot happen on a kernel that took the flags */
    /* Registered ring fd: per thread, so here too. Optional. */
    io_uring_register_ring_fd(&d->ring);
}

static void uring_fini(tulip_loop *l)
{
    struct uring_data_s *d = l->backend_data;
    if (d) {
        tulip__uring_fdx_free_all(d);
        ring_pages_handover(&d->ring, 1);
        io_uring_queue_exit(&d->ring);
        tulip__uring_recv_fini(d);
        free(d->deferred);
        free(d);
    }
    l->backend_data = NULL;
    l->backend_fd = -1;
}

struct io_uring_sqe *tulip__uring_get_sqe(struct uring_data_s *d)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    if (!sqe) {
        /* Submission queue full: hand what we have to the kernel. */
        tulip__uring_enable(d);
        io_uring_submit(&d->ring);
        sqe = io_uring_get_sqe(&d->ring);
    }
    return sqe;
}

static uint64_t tag(const struct tulip__fd *f)
{
    return uring_tag((uint32_t)f->backend_slot, f->fd, URING_TAG_POLL);
}

/* An ASYNC_CANCEL, not a POLL_REMOVE: a remove finds the poll busy and
 * fails with -EALREADY while a wake-up of it waits to be processed (task
 * work, which under DEFER_TASKRUN waits for our next enter), leaving the
 * poll armed for good with its reference to the file: a closed pipe then
 * never reached EOF at its reader (issue 14). A cancel marks the busy poll
 * and that pending work completes it. */
static int remove_poll(struct uring_data_s *d, struct tulip__fd *f)
{
    struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
    if (!sqe)
        return -ENOMEM;
    io_uring_prep_cancel64(sqe, tag(f), 0);
    io_uring_sqe_set_data64(sqe, 0); /* its own completion is ignored */
    f->registered = 0;
    return 0;
}

static unsigned mask_for(int interest)
{
    unsigned m = 0;
    if (interest & TULIP_READABLE)
        m |= POLLIN | POLLRDHUP;
    if (interest & TULIP_WRITABLE)
        m |= POLLOUT;
    return m;
}

static uint32_t new_gen(struct uring_data_s *d)
{
    uint32_t g = d->next_gen++ & URING_GEN_MASK;
    if (!g)
        g = d->next_gen++ & URING_GEN_MASK;
    return g;
}

static int uring_update(tulip_loop *l, struct tulip__fd *f)
{
    struct uring_data_s *d = l->backend_data;
    if (f->mode == TULIP__FD_TASK) {
        if (f->registered)
            return 0;
        struct stat st;
        if (fstat(f->fd, &st) != 0)
            return -errno;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
            return -EPERM; /* as epoll: files are always ready */
        struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
        if (!sqe)
            return -ENOMEM;
        f->backend_slot = (int)new_gen(d);
        io_uring_prep_poll_multishot(sqe, f->fd, POLLIN | POLLOUT | POLLRDHUP);
        io_uring_sqe_set_data64(sqe, tag(f));
        f->registered = 1;
        return 0;
    }
    if (f->registered) {
        int rc = remove_poll(d, f);
        if (rc < 0)
            return rc;
    }
    if (!f->interest)
        return 0;
    struct io_uring_sqe *sqe = tulip__uring_get_sqe(d);
    if (!sqe)
        return -ENOMEM;
    f->backend_slot = (int)new_gen(d);
    io_uring_prep_poll_add(sqe, f->fd, mask_for(f->interest));
    io_uring_sqe_set_data64(sqe, tag(f));
    f->registered = 1;
    return 0;
}

static void uring_forget(tulip_loop *l, struct tulip__fd *f)
{
    struct uring_data_s *d = l->backend_data;
    int polled = f->registered && remove_poll(d, f) == 0;
    /* Operations in flight: cancel them and wait for their completions, so
     * a recycled fd number never sees an old operation (that wait also
     * submits the poll's cancel and processes its completion). */
    if (tulip__uring_fdx(d, f->fd, 0))
        tulip__uring_fd_close(l, f->fd);
    if (polled && io_uring_sq_ready(&d->ring)) {
        /* Now, not at the next wait: an armed poll holds a reference to
         * the file, and tulip_close must really close it (the peer has to
         * see EOF/EPIPE before our close returns). The cancelled poll lets
         * go of the file only when its completion is processed, which
         * under DEFER_TASKRUN happens in an enter that asks for events:
         * submit and run it here (what it posts waits for the next wait). */
        tulip__uring_enable(d);
        io_uring_submit_and_get_events(&d->ring);
    }
}

static void poll_done(tulip_loop *l, uint64_t data, int res, unsigned flags)
{
    int fd = (int)(uint32_t)((data >> 2) & 0xffffffffu);
    uint32_t gen = (uint32_t)(data >> 34);
    struct tulip__fd *f = tulip__fd_peek(l, fd);
    if (!f || !f->registered || ((uint32_t)f->backend_slot & URING_GEN_MASK) != gen)
        return; /* a removed poll or a closed fd's */
    int events = 0;
    if (res < 0) {
        events = TULIP_READABLE | TULIP_WRITABLE | TULIP__EV_HUP; /* the I/O call reports it */
    } else {
        if (res & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
            events |= TULIP_READABLE;
        if (res & (POLLOUT | POLLHUP | POLLERR))
            events |= TULIP_WRITABLE;
        if (res & (POLLRDHUP | POLLHUP | POLLERR))
            events |= TULIP__EV_HUP;
    }
    if (f->mode == TULIP__FD_WATCH || !(flags & IORING_CQE_F_MORE))
        f->registered = 0; /* one-shot done, or the multishot ended */
    tulip__fd_event(l, f, events);
    /* Re-arm: watchers stay level-triggered; a multishot the kernel ended
     * (e.g. completion queue overflow) is put back. f may be gone now. */
    f = tulip__fd_peek(l, fd);
    if (f && !f->registered && ((uint32_t)f->backend_slot & URING_GEN_MASK) == gen &&
        (f->mode == TULIP__FD_TASK || f->interest))
        uring_update(l, f);
}

static void dispatch(tulip_loop *l, uint64_t data, int res, unsigned flags)
{
    if (!data)
        return;
    switch (data & 3) {
    case URING_TAG_OP:
        tulip__uring_op_done(l, (struct tulip__uop *)(uintptr_t)(data & ~(uint64_t)3), res, flags);
        break;
    case URING_TAG_ACCEPT:
        tulip__uring_accept_done(l, (int)(uint32_t)((data >> 2) & 0xffffffffu), (uint32_t)(data >> 34), res,
                                 flags);
        break;
    case URING_TAG_RECV:
        tulip__uring_recv_done(l, (int)(uint32_t)((data >> 2) & 0xffffffffu), (uint32_t)(data >> 34), res,
                               flags);
        break;
    default:
        poll_done(l, data, res, flags);
        break;
    }
}

void tulip__uring_drain(tulip_loop *l, int (*cond)(void *), void *arg)
{
    struct uring_data_s *d = l->backend_data;
    tulip__uring_enable(d);
    d->turn++;
    while (!cond(arg)) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_submit_and_wait(&d->ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY)
            return; /* the ring is unusable; nothing more will come */
        while (io_uring_peek_cqe(&d->ring, &cqe) == 0) {
            struct uring_cqe_copy c = {io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags};
            io_uring_cqe_seen(&d->ring, cqe);
            if ((c.data & 3) == URING_TAG_POLL && c.data) {
                /* A readiness callback now could run user code inside
                 * tulip_close: keep it for the next wait. */
                if (d->ndeferred == d->capdeferred) {
                    size_t cap = d->capdeferred ? d->capdeferred * 2 : 16;
                    struct uring_cqe_copy *n = tulip__realloc(d->deferred, cap * sizeof *n);
                    if (!n)
                        continue; /* a lost edge; the fd's next one comes */
                    d->deferred = n;
                    d->capdeferred = cap;
                }
                d->deferred[d->ndeferred++] = c;
            } else {
                dispatch(l, c.data, c.res, c.flags);
            }
        }
    }
}

/* Spin before sleep on the completion queue. At light load each turn
 * carries one or two messages and the loop sleeps in io_uring_enter
 * between them: a sleep and a wake-up per message, which cost as much as
 * epoll's system calls. When nothing is to be submitted, the loop first
 * watches the shared ring for up to the spin window (the budget of
 * src/platform/spin_wait.h): completions posted, or IORING_SQ_TASKRUN
 * (work the kernel holds for our next enter: under DEFER_TASKRUN a
 * socket's data waits there). If it comes, one non-blocking enter takes
 * it; if not, the loop sleeps as before.
 *
 * The window adapts as Linux's halt-polling does: a sleep that ended
 * within SPIN_WORTH budgets (a wake-up's own latency included) says a
 * spin would have caught the wake-up (double the window, up to the
 * budget); a longer sleep says spinning is waste here (halve it, below a
 * quarter of the budget to 0). An
 * idle or lightly used loop stops spinning after a few sleeps; a timer due
 * sooner than the window is never spun for. Opt-in (TULIP_URING_SPIN=1),
 * see uring_init. */
#define SPIN_WORTH 8

static int cq_pending(void *arg)
{
    struct uring_data_s *d = arg;
    return io_uring_cq_ready(&d->ring) ||
           (IO_URING_READ_ONCE(*d->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW));
}

static void spin_adapt(struct uring_data_s *d, int64_t slept)
{
    if (slept <= SPIN_WORTH * d->spin_max) {
        int64_t w = d->spin_win ? d->spin_win * 2 : d->spin_max / 4;
        d->spin_win = w < d->spin_max ? w : d->spin_max;
    } else {
        d->spin_win /= 2;
        if (d->spin_win < d->spin_max / 4)
            d->spin_win = 0;
    }
}

static int uring_wait(tulip_loop *l, int64_t timeout_ns)
{
    struct uring_data_s *d = l->backend_data;
    struct io_uring_cqe *cqe;
    int rc;
    int n = 0;
    tulip__uring_enable(d);
    d->turn++;
    if (d->ndeferred) {
        /* Set aside by a drain: they count as ready now. */
        size_t k = d->ndeferred;
        d->ndeferred = 0;
        for (size_t i = 0; i < k; i++, n++)
            dispatch(l, d->deferred[i].data, d->deferred[i].res, d->deferred[i].flags);
        timeout_ns = 0;
    }
    int64_t sleep_from = 0;
    if (timeout_ns != 0 && d->spin_max && !io_uring_sq_ready(&d->ring)) {
        int spun = d->spin_win && (timeout_ns < 0 || timeout_ns > d->spin_win);
        int64_t t0 = spun ? tulip__clock_ns() : 0;
        if (spun && tulip__spin_until(cq_pending, d, d->spin_win)) {
            timeout_ns = 0;
        } else {
            sleep_from = tulip__clock_ns();
            if (spun && timeout_ns > 0) {
                /* The timer's deadline does not move, even when a yield
                 * inside the spin gave the CPU away for longer. */
                timeout_ns -= sleep_from - t0;
                if (timeout_ns <= 0)
                    timeout_ns = sleep_from = 0; /* due now: no sleep to learn from */
            }
        }
    }
    if (timeout_ns < 0) {
        rc = io_uring_submit_and_wait(&d->ring, 1);
    } else if (timeout_ns == 0) {
        /* One enter both submits and runs deferred task work, which is
         * what posts completions under DEFER_TASKRUN (and brings back any
         * parked in the overflow list). */
        rc = io_uring_submit_and_get_events(&d->ring);
    } else {
        struct __kernel_timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        rc = io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts, NULL);
    }
    if (sleep_from)
        spin_adapt(d, tulip__clock_ns() - sleep_from);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
        return rc;
    /* Only what is there now: a re-arm may complete at once, and chasing
     * those here could go on forever; they are taken on the next pass. */
    unsigned avail = io_uring_cq_ready(&d->ring);
    unsigned seen = 0;
    while (seen < avail && io_uring_peek_cqe(&d->ring, &cqe) == 0) {
        uint64_t data = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        unsigned flags = cqe->flags;
        io_uring_cqe_seen(&d->ring, cqe);
        dispatch(l, data, res, flags);
        seen++;
    }
    return n + (int)seen;
}

const struct tulip__backend tulip__backend_uring = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .update = uring_update,
    .forget = uring_forget,
    .wait = uring_wait,
    .quiet = tulip__uring_quiet,
};
