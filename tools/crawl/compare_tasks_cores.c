/* --compare, mode "tasks on N cores": the real crawler spread over N loops,
 * one thread each (tulip_config.workers, crawl_opts.loops: what
 * tulip-crawl --workers N does).  The code of a task is the tasks mode's;
 * only the number of loops differs, so the two rows side by side show what
 * parallelism adds to concurrency.  Each URL belongs to one loop
 * (crawler_loops.c), which fetches it once and makes its one row. */
#define _GNU_SOURCE
#include "compare_base.h"
#include "crawler.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tulip.h>

typedef struct cores {
    const char *origin, *ua;
    unsigned conc, loops;
    crawl_found_set *found; /* one per loop: rows come from every loop's thread */
    int *fatal;             /* per loop too, so no lock is on a row's path */
    crawl_cmp_tally *t;
} cores;

static void cores_row(void *arg, const crawl_row *row)
{
    cores *cs = arg;
    int i = tulip_loop_index();
    unsigned k = i > 0 && (unsigned)i < cs->loops ? (unsigned)i : 0;
    if (crawl_found_add(&cs->found[k], row) < 0)
        cs->fatal[k] = -ENOMEM;
}

static int cores_main(void *arg)
{
    cores *cs = arg;
    char start[128];
    crawl_opts o;
    crawl_cmp_tasks_opts(&o, start, sizeof start, cs->origin, cs->ua, cs->conc); /* as the tasks mode */
    o.loops = cs->loops;                                                          /* but on several loops */
    o.on_row = cores_row;
    o.row_arg = cs;
    crawl_stats st;
    memset(&st, 0, sizeof st);
    int rc = crawl_run(&o, &st); /* the sum of every loop's */
    cs->t->fetched = st.fetched;
    cs->t->errors = st.errors;
    return rc;
}

unsigned crawl_cmp_cores_loops(unsigned loops, unsigned conc)
{
    if (loops == 0) {
        /* the cores this process may run on (taskset), as --workers' default */
        cpu_set_t set;
        long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
        loops = n > 1 ? (unsigned)(n < 1024 ? n : 1024) : 1;
    }
    return loops > conc ? conc : loops; /* the crawler wants a task per loop at least */
}

int crawl_cmp_tasks_cores(const char *origin, const char *user_agent, unsigned conc, unsigned loops,
                          crawl_cmp_tally *t)
{
    cores cs = { .origin = origin, .ua = user_agent, .conc = conc, .loops = loops, .t = t };
    cs.found = calloc(loops, sizeof *cs.found);
    cs.fatal = calloc(loops, sizeof *cs.fatal);
    int rc = -ENOMEM;
    if (cs.found && cs.fatal) {
        tulip_config cfg;
        tulip_config_init(&cfg);
        if (loops > 1)
            cfg.workers = (int)loops;
        rc = tulip_run_ex(cores_main, &cs, &cfg);
    }
    for (unsigned k = 0; cs.found && cs.fatal && k < loops; k++) {
        if (cs.fatal[k] && !t->fatal)
            t->fatal = cs.fatal[k];
        if (!t->fatal && crawl_found_move(&t->found, &cs.found[k]) < 0)
            t->fatal = -ENOMEM;
        crawl_found_free(&cs.found[k]);
    }
    free(cs.found);
    free(cs.fatal);
    return rc ? rc : t->fatal;
}
