/* tulip_test_abandon (tulip/testing.h): after a longjmp out of a running
 * loop, free it so the thread can run another. cmocka's failed assertion
 * inside a task jumps back to cmocka's frame past tulip_run's end: the
 * loop stays this thread's running loop and every later tulip_run of the
 * test binary fails with -EBUSY, one failure reported as many. */
#define _GNU_SOURCE
#include "../platform/annotate.h"
#include "../platform/stack.h"
#include "../task/task_internal.h"
#include "runtime_internal.h"
#include "tulip/testing.h"

int tulip_test_abandon(void)
{
    int n = 0;
    tulip_loop *l;
    /* innermost first: a loop run from a task of another is the current one */
    while ((l = tulip__tls.loop) != NULL && l->running) {
        struct tulip__sched *s = tulip__sched(l);
        if (s->current) {
            /* The jump left a task's stack for the thread's own: say so to
             * the sanitizers as the task's last switch does. The task is
             * never resumed (its context was not saved): freeing the loop
             * releases it as it does a parked one. */
            tulip__asan_start_switch(NULL, s->sched_stack_bottom, s->sched_stack_size);
            tulip__asan_finish_switch(s->sched_fake_stack);
            tulip__tsan_switch(s->tsan_sched);
            s->current = NULL;
            tulip__tls_task = NULL;
            tulip__running.stack = NULL;
        }
        l->running = 0; /* as the loop's own leave() */
        tulip__tls.loop = l->prev_tls_loop;
        if (tulip__multi_load(l))
            tulip__multi_stop(); /* l is loop 0 of a run with workers */
        tulip_loop_free(l);
        n++;
    }
    return n;
}
