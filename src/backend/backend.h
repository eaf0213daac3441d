/* The contract every I/O backend fulfils (one file per backend). */
#ifndef TULIP_BACKEND_H
#define TULIP_BACKEND_H

#include "../loop/loop_internal.h"

struct tulip__backend {
    const char *name;
    /* Errors: -ENOMEM, -EMFILE, ... */
    int (*init)(tulip_loop *l);
    void (*fini)(tulip_loop *l);
    /* Bring the kernel's view of f in line with f->mode / f->interest.
     * Called when either changes. Errors: -EBADF, -ENOMEM, -EPERM (regular
     * files cannot be polled). */
    int (*update)(tulip_loop *l, struct tulip__fd *f);
    /* f is about to be closed: drop it. */
    void (*forget)(tulip_loop *l, struct tulip__fd *f);
    /* Wait up to timeout_ns (-1 forever, 0 poll) and report each event with
     * tulip__fd_event. Returns the number of events or -errno. */
    int (*wait)(tulip_loop *l, int64_t timeout_ns);
    /* Optional: 1 when the backend knows that nothing has come on fd, a
     * task-mode fd it reads by completion (no readiness registration),
     * since the last read took everything; 0 when something came or it
     * cannot tell (see tulip__fd_quiet). */
    int (*quiet)(tulip_loop *l, int fd);
};

extern const struct tulip__backend tulip__backend_epoll;
extern const struct tulip__backend tulip__backend_poll;
#if defined(TULIP_HAVE_URING)
extern const struct tulip__backend tulip__backend_uring;
#endif

#endif
