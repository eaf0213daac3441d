/* Putting a loop together: the event loop (src/loop), the scheduler that
 * runs tasks on it (src/task) and, when asked for, debug mode (src/debug),
 * each with its own state. This is the one file that knows all three; the
 * loop itself calls neither layer above it by name except through the seam
 * docs/DESIGN.md §3 describes (the ready queue's task tag). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../debug/debug_internal.h"
#include "../common/fault.h"

void tulip_config_init(tulip_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->debug = -1;
}

tulip_loop *tulip_loop_new(const tulip_config *cfg)
{
    tulip_config defaults;
    if (!cfg) {
        tulip_config_init(&defaults);
        cfg = &defaults;
    }
    struct tulip__sched *s = tulip__calloc(1, sizeof *s);
    if (!s)
        return NULL;
    tulip_loop *l = &s->loop;
    int rc = tulip__loop_init(l, cfg);
    if (rc < 0)
        goto fail;
    rc = tulip__sched_init(s, cfg);
    if (rc < 0)
        goto fail_loop;
    if (tulip__debug_wanted(cfg)) {
        rc = tulip__debug_attach(l, cfg);
        if (rc < 0)
            goto fail_sched;
        if (l->backend_refused)
            fprintf(stderr, "tulip: io_uring unavailable (%s), using epoll\n", strerror(-l->backend_refused));
    }
    return l;

fail_sched:
    tulip__sched_fini(s);
fail_loop:
    tulip__loop_fini(l);
fail:
    free(s);
    errno = -rc;
    return NULL;
}

int tulip_loop_free(tulip_loop *l)
{
    if (!l)
        return 0;
    if (l->running)
        return -EBUSY;
    struct tulip__sched *s = tulip__sched(l);
    tulip_loop *saved = tulip__tls.loop;
    tulip__tls.loop = l;
    tulip__debug_detach(l);    /* first: its leak report sees every task */
    tulip__sched_stop(s);      /* tasks go before what they wait on */
    tulip__loop_fini(l);
    tulip__sched_fini(s);
    tulip__tls.loop = saved == l ? NULL : saved;
    free(s);
    return 0;
}
