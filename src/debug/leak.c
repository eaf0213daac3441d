/* The leak report, printed when a debug-mode loop is freed: tasks whose
 * result nobody collected, tasks dropped before they finished, and fds
 * still watched or never released with tulip_close. Each task is shown
 * with its spawn site, which is usually where the fix goes. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "debug_internal.h"

/* tulip_run's main task is finished and unjoined by design when the loop
 * is freed (tulip_run took its result itself). */
static int is_run_main(const tulip_task *t)
{
    char name[64];
    uintptr_t off;
    return t->state == TULIP__TASK_DONE && t->spawn_site &&
           tulip__symbol_name((const char *)t->spawn_site - 1, name, sizeof name, &off) &&
           strcmp(name, "tulip_run_ex") == 0;
}

static int task_leaked(const tulip_task *t)
{
    if (t->state != TULIP__TASK_DONE)
        return 1; /* dropped without finishing */
    /* Finished: a leak if nobody will take the result. Detached tasks are
     * freed when they end; a group child belongs to its group. */
    return !t->detached && !t->group && !is_run_main(t);
}

static const char *dirs(int events)
{
    switch (events & (TULIP_READABLE | TULIP_WRITABLE)) {
    case TULIP_READABLE: return "readable";
    case TULIP_WRITABLE: return "writable";
    case TULIP_READABLE | TULIP_WRITABLE: return "readable|writable";
    default: return "nothing (paused)";
    }
}

void tulip__leak_report(tulip_loop *l, FILE *out)
{
    size_t tasks = 0, fds = 0;
    struct tulip__dlist *all = &tulip__sched(l)->all_tasks;
    for (tulip_task *t = tulip__task_of_all(all->head); t; t = tulip__task_of_all(t->all.next))
        tasks += task_leaked(t);
    for (int i = 0; i < l->nfds; i++)
        fds += l->fds[i] && i != l->wake_fd;
    if (!tasks && !fds)
        return;
    flockfile(out);
    fprintf(out, "tulip: leak report for loop %p: %zu task%s, %zu fd%s\n", (void *)l, tasks,
            tasks == 1 ? "" : "s", fds, fds == 1 ? "" : "s");
    for (tulip_task *t = tulip__task_of_all(all->tail); t; t = tulip__task_of_all(t->all.prev)) {
        if (!task_leaked(t))
            continue;
        if (t->state == TULIP__TASK_DONE)
            fprintf(out, "  never joined or detached, its result is lost:\n");
        else
            fprintf(out, "  never finished, freed without running to its end (cancel and join it, or use "
                         "tulip_run):\n");
        tulip__dump_task(out, l, t, "    ");
    }
    for (int i = 0; i < l->nfds; i++) {
        const struct tulip__fd *f = l->fds[i];
        if (!f || i == l->wake_fd)
            continue;
        char kind[96];
        tulip__fd_describe(i, kind, sizeof kind, "no longer open");
        if (f->mode == TULIP__FD_WATCH && f->reader)
            fprintf(out, "  fd %d (%s): still watched for %s by tulip_watch_fd; call tulip_watch_free\n", i, kind,
                    dirs(f->interest));
        else if (f->reader || f->writer)
            fprintf(out, "  fd %d (%s): a task is still parked on it\n", i, kind);
        else
            fprintf(out, "  fd %d (%s): waited on but never released with tulip_close\n", i, kind);
    }
    funlockfile(out);
    fflush(out);
}
