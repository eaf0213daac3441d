/* The scheduler's share of a loop: the task stacks, the overflow handler
 * that names a task whose stack ran out, and the hook that gives idle
 * stacks back while the loop sleeps. tulip_loop_new (src/runtime/loop_new.c)
 * calls these; the loop below knows none of it. */
#define _GNU_SOURCE
#include <errno.h>

#include "task_internal.h"

#define DEFAULT_STACK_SIZE ((size_t)256 * 1024)
#define DEFAULT_STACK_CACHE 256

/* About to sleep: a good time to return cached stacks beyond the cap. */
static void trim_stacks(tulip_loop *l)
{
    tulip__stack_trim(&tulip__sched(l)->stacks);
}

int tulip__sched_init(struct tulip__sched *s, const tulip_config *cfg)
{
    int rc = tulip__stack_pool_init(&s->stacks, cfg->stack_size ? cfg->stack_size : DEFAULT_STACK_SIZE,
                                    cfg->stack_cache ? cfg->stack_cache : DEFAULT_STACK_CACHE);
    if (rc < 0)
        return rc;
    rc = tulip__overflow_handler_install();
    if (rc < 0) {
        tulip__stack_pool_fini(&s->stacks);
        return rc;
    }
    tulip__compact_init(&s->compact, cfg->compact_stacks);
    s->loop.before_sleep = trim_stacks;
    return 0;
}

void tulip__sched_fini(struct tulip__sched *s)
{
    s->loop.before_sleep = NULL;
    tulip__scope_fini(s);
    tulip__compact_fini(s);
    tulip__stack_pool_fini(&s->stacks);
    tulip__overflow_handler_thread_fini();
}
