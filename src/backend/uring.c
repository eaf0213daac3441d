/* Linux io_uring backend (opt-in: TULIP_BACKEND=io_uring or
 * tulip_config.backend = "io_uring"; falls back to epoll when the kernel
 * refuses a ring). Readiness only, as the other backends: task-mode fds get
 * one multishot poll each, which posts a completion per wake-up, the same
 * edges epoll's EPOLLET gives; watch-mode fds get one-shot polls re-armed
 * after each completion, which re-check the current state: level-triggered.
 *
 * Every poll carries (generation << 32 | fd) as its user_data, and the fd's
 * current generation lives in tulip__fd.backend_slot: completions of polls
 * that were removed or belong to a closed fd's predecessor are recognised
 * and dropped. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <liburing.h>

#include "backend.h"
#include "../common/fault.h"

struct uring_data_s {
    struct io_uring ring;
    uint32_t next_gen;
};

static int uring_init(tulip_loop *l)
{
    struct uring_data_s *d = tulip__calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    if (tulip__fault(TULIP_FAULT_FD)) {
        free(d);
        return -EMFILE;
    }
    /* A roomy completion queue: a multishot poll the kernel cannot post for
     * (CQ overflow) is ended and must be re-armed, which is churn. */
    struct io_uring_params params = {0};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = 16384;
    int rc = io_uring_queue_init_params(1024, &d->ring, &params);
    if (rc < 0) {
        free(d);
        return rc;
    }
    d->next_gen = 1;
    l->backend_fd = d->ring.ring_fd;
    l->backend_data = d;
    return 0;
}

static void uring_fini(tulip_loop *l)
{
    struct uring_data_s *d = l->backend_data;
    if (d) {
        io_uring_queue_exit(&d->ring);
        free(d);
    }
    l->backend_data = NULL;
    l->backend_fd = -1;
}

static struct io_uring_sqe *get_sqe(struct uring_data_s *d)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    if (!sqe) {
        /* Submission queue full: hand what we have to the kernel. */
        io_uring_submit(&d->ring);
        sqe = io_uring_get_sqe(&d->ring);
    }
    return sqe;
}

static uint64_t tag(const struct tulip__fd *f)
{
    return ((uint64_t)(uint32_t)f->backend_slot << 32) | (uint32_t)f->fd;
}

static int remove_poll(struct uring_data_s *d, struct tulip__fd *f)
{
    struct io_uring_sqe *sqe = get_sqe(d);
    if (!sqe)
        return -ENOMEM;
    io_uring_prep_poll_remove(sqe, tag(f));
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
        struct io_uring_sqe *sqe = get_sqe(d);
        if (!sqe)
            return -ENOMEM;
        f->backend_slot = (int)d->next_gen++;
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
    struct io_uring_sqe *sqe = get_sqe(d);
    if (!sqe)
        return -ENOMEM;
    f->backend_slot = (int)d->next_gen++;
    io_uring_prep_poll_add(sqe, f->fd, mask_for(f->interest));
    io_uring_sqe_set_data64(sqe, tag(f));
    f->registered = 1;
    return 0;
}

static void uring_forget(tulip_loop *l, struct tulip__fd *f)
{
    struct uring_data_s *d = l->backend_data;
    if (f->registered && remove_poll(d, f) == 0) {
        /* Now, not at the next wait: an armed poll holds a reference to
         * the file, and tulip_close must really close it (the peer has to
         * see EOF/EPIPE before our close returns). */
        io_uring_submit(&d->ring);
    }
}

static void complete(tulip_loop *l, uint64_t data, int res, unsigned flags)
{
    if (!data)
        return;
    int fd = (int)(uint32_t)data;
    uint32_t gen = (uint32_t)(data >> 32);
    struct tulip__fd *f = tulip__fd_peek(l, fd);
    if (!f || !f->registered || (uint32_t)f->backend_slot != gen)
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
    if (f && !f->registered && (uint32_t)f->backend_slot == gen &&
        (f->mode == TULIP__FD_TASK || f->interest))
        uring_update(l, f);
}

static int uring_wait(tulip_loop *l, int64_t timeout_ns)
{
    struct uring_data_s *d = l->backend_data;
    struct io_uring_cqe *cqe;
    int rc;
    if (timeout_ns < 0) {
        rc = io_uring_submit_and_wait(&d->ring, 1);
    } else if (timeout_ns == 0) {
        rc = io_uring_submit(&d->ring);
        /* Completions parked in the kernel's overflow list come back only
         * when we enter it; a pass with nothing to submit might not. */
        if (rc >= 0 && io_uring_cq_has_overflow(&d->ring))
            io_uring_get_events(&d->ring);
    } else {
        struct __kernel_timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        rc = io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts, NULL);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
        return rc;
    /* Only what is there now: a re-arm may complete at once, and chasing
     * those here could go on forever; they are taken on the next pass. */
    unsigned avail = io_uring_cq_ready(&d->ring);
    int n = 0;
    while ((unsigned)n < avail && io_uring_peek_cqe(&d->ring, &cqe) == 0) {
        uint64_t data = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        unsigned flags = cqe->flags;
        io_uring_cqe_seen(&d->ring, cqe);
        complete(l, data, res, flags);
        n++;
    }
    return n;
}

const struct tulip__backend tulip__backend_uring = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .update = uring_update,
    .forget = uring_forget,
    .wait = uring_wait,
};
