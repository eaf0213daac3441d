/* tulip_run: asyncio.run for C. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "../task/task_internal.h"
#include "runtime_internal.h"


static int task_is_done(void *p)
{
    return ((tulip_task *)p)->state == TULIP__TASK_DONE;
}

static int no_tasks(void *p)
{
    return ((tulip_loop *)p)->stats.tasks_alive == 0;
}

int tulip__run_main(tulip_loop *l, tulip_task *t)
{
    tulip__loop_run_until(l, task_is_done, t);
    if (t->state != TULIP__TASK_DONE)
        tulip_cancel(t); /* stopped with tulip_loop_stop */

    /* Leftovers: cancel everything and let it unwind. */
    for (tulip_task *x = tulip__task_of_all(tulip__sched(l)->all_tasks.head); x; x = tulip__task_of_all(x->all.next))
        if (x->state != TULIP__TASK_DONE)
            tulip_cancel(x);
    tulip__loop_run_until(l, no_tasks, l);

    int result = t->state == TULIP__TASK_DONE ? t->result : -ECANCELED;
    if (t->state == TULIP__TASK_DONE)
        tulip__task_release(t); /* joined, in effect: not a leak */
    return result;
}

static void on_sigint(void *arg, int signo)
{
    tulip_task *main_task = arg;
    tulip_loop *l = main_task->loop;
    /* One SIGINT asks for a clean shutdown; the next one, with the
     * default action restored, ends the process if that hangs. */
    tulip__signal_unwatch_default(l, signo);
    tulip_cancel(main_task);
}

int tulip_run_ex(tulip_fn main_fn, void *arg, const tulip_config *cfg)
{
    if (!main_fn)
        return -EINVAL;
    if (tulip__tls.loop && tulip__tls.loop->running)
        return -EBUSY;
    int loops = tulip__multi_count(cfg);
    if (loops < 0)
        return loops;
    tulip_loop *l = tulip_loop_new(cfg);
    if (!l)
        return -errno;
    /* Loops 1..n-1 (tulip_config.workers), before main can place work. */
    int rc = tulip__multi_start(l, cfg, loops);
    if (rc < 0) {
        tulip_loop_free(l);
        return rc;
    }
    tulip_task *t = tulip_spawn_on(l, main_fn, arg);
    if (!t) {
        int err = errno;
        if (loops > 1)
            tulip__multi_stop();
        tulip_loop_free(l);
        return -err;
    }
    tulip_task_set_name(t, "main");

    int sigint_watched = 0;
    struct sigaction current;
    if (sigaction(SIGINT, NULL, &current) == 0 && current.sa_handler == SIG_DFL &&
        !(current.sa_flags & SA_SIGINFO))
        sigint_watched = tulip__signal_watch_default(l, SIGINT, on_sigint, t) == 0;

    int result = tulip__run_main(l, t);
    if (sigint_watched)
        tulip__signal_unwatch_default(l, SIGINT);
    if (loops > 1)
        tulip__multi_stop();
    tulip_loop_free(l); /* frees every other finished, unjoined task */
    return result;
}

int tulip_run(tulip_fn main_fn, void *arg)
{
    return tulip_run_ex(main_fn, arg, NULL);
}
