/* Cross-thread wake-up: one eventfd per loop plus a lock-free MPSC stack of
 * posts. wake_pending coalesces: however many threads post before the loop
 * looks, the eventfd is written once. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop_internal.h"
#include "../backend/backend.h"
#include "../common/fault.h"

static void wake_readable(struct tulip__fdwait *w, int events)
{
    tulip_loop *l = tulip__container_of(w, tulip_loop, wake_wait);
    if (events < 0)
        return;
    uint64_t v;
    /* Drain first, then clear the flag. The other order loses wake-ups: a
     * post landing between clear and drain writes the eventfd, the drain
     * swallows that write, epoll then sees a zero counter and reports no
     * edge, and wake_pending stays 1 so no later post writes again. In this
     * order a post that still sees 1 is picked up by the posts_drain that
     * follows this poll; one that sees 0 writes a fresh edge. */
    ssize_t n = read(l->wake_fd, &v, sizeof v);
    (void)n;
    atomic_store(&l->wake_pending, 0);
    /* Edge-triggered: stay armed. */
    tulip__fdwait_link(&l->wake_fdstate->reader, &l->wake_wait);
}

int tulip__wake_init(tulip_loop *l)
{
    if (tulip__fault(TULIP_FAULT_FD))
        return -EMFILE;
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0)
        return -errno;
    struct tulip__fd *f = tulip__fd_get(l, l->wake_fd);
    if (!f) {
        int err = errno;
        close(l->wake_fd);
        l->wake_fd = -1;
        return -err;
    }
    l->wake_wait.ready = wake_readable;
    f->mode = TULIP__FD_TASK;
    tulip__fdwait_link(&f->reader, &l->wake_wait);
    f->interest = TULIP_READABLE;
    l->wake_fdstate = f;
    int rc = tulip__fd_update(l, f);
    if (rc < 0) {
        l->fds[l->wake_fd] = NULL;
        free(f);
        close(l->wake_fd);
        l->wake_fd = -1;
        return rc;
    }
    return 0;
}

void tulip__wake_fini(tulip_loop *l)
{
    if (l->wake_fd >= 0) {
        struct tulip__fd *f = tulip__fd_peek(l, l->wake_fd);
        if (f) {
            l->backend->forget(l, f);
            l->fds[l->wake_fd] = NULL;
            free(f);
        }
        close(l->wake_fd);
        l->wake_fd = -1;
    }
}

void tulip__wake(tulip_loop *l)
{
    if (atomic_exchange(&l->wake_pending, 1) == 0) {
        uint64_t one = 1;
        ssize_t n = write(l->wake_fd, &one, sizeof one);
        (void)n; /* EAGAIN means the counter is already nonzero: awake anyway */
    }
}

/* The post may be what ends the loop (a worker's stop, the result the main
 * task waited for), and the loop's thread may drain it and free the loop
 * before this thread has written the eventfd.  So the poster is counted
 * from before the push until after the wake, and tulip_loop_free waits for
 * the count to drop (tulip__wakers_wait). */
void tulip__post(tulip_loop *l, struct tulip__post *p)
{
    atomic_fetch_add_explicit(&l->wakers, 1, memory_order_seq_cst);
    struct tulip__post *head = atomic_load_explicit(&l->posts, memory_order_relaxed);
    do {
        p->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&l->posts, &head, p, memory_order_seq_cst,
                                                    memory_order_relaxed));
    tulip__wake(l);
    atomic_fetch_sub_explicit(&l->wakers, 1, memory_order_release);
}

void tulip__wakers_wait(tulip_loop *l)
{
    while (atomic_load_explicit(&l->wakers, memory_order_acquire) != 0)
        sched_yield(); /* a write(2) on an eventfd away */
}

/* At loop teardown: posts nobody will run release their memory. */
void tulip__posts_discard(tulip_loop *l)
{
    struct tulip__post *p = atomic_exchange_explicit(&l->posts, NULL, memory_order_acquire);
    while (p) {
        struct tulip__post *next = p->next;
        if (p->drop)
            p->drop(p);
        p = next;
    }
}

void tulip__posts_drain(tulip_loop *l)
{
    if (atomic_load_explicit(&l->signals_pending, memory_order_relaxed))
        tulip__signals_dispatch(l);
    struct tulip__post *fifo =
        tulip__lifo_to_fifo(atomic_exchange_explicit(&l->posts, NULL, memory_order_acquire), struct tulip__post);
    while (fifo) {
        struct tulip__post *next = fifo->next;
        fifo->run(fifo);
        fifo = next;
    }
}

struct threadsafe_call {
    struct tulip__post post;
    tulip_loop *loop;
    void (*cb)(void *);
    void *arg;
};

static void threadsafe_run(struct tulip__post *p)
{
    struct threadsafe_call *c = (struct threadsafe_call *)p;
    void (*cb)(void *) = c->cb;
    void *arg = c->arg;
    free(c);
    cb(arg);
}

static void threadsafe_drop(struct tulip__post *p)
{
    free(p);
}

void *tulip__post_new(size_t size, void (*run)(struct tulip__post *), void (*drop)(struct tulip__post *))
{
    struct tulip__post *p = tulip__calloc(1, size);
    if (p) {
        p->run = run;
        p->drop = drop;
    }
    return p;
}

int tulip_call_soon_threadsafe(tulip_loop *l, void (*cb)(void *), void *arg)
{
    if (!l || !cb)
        return -EINVAL;
    struct threadsafe_call *c = tulip__post_new(sizeof *c, threadsafe_run, threadsafe_drop);
    if (!c)
        return -ENOMEM;
    c->loop = l;
    c->cb = cb;
    c->arg = arg;
    tulip__post(l, &c->post);
    return 0;
}
