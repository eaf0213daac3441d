/* Debug-mode hooks called by the loop (placeholders until the debugging
 * layer lands: slow-step detector, dumps, leak report). */
#define _GNU_SOURCE
#include "../loop/loop_internal.h"

int tulip__debug_loop_new(tulip_loop *l)
{
    (void)l;
    return 0;
}

void tulip__debug_loop_free(tulip_loop *l)
{
    (void)l;
}

void tulip__debug_step_begin(tulip_loop *l, struct tulip__runnable *r)
{
    (void)l;
    (void)r;
}

void tulip__debug_step_end(tulip_loop *l)
{
    (void)l;
}
