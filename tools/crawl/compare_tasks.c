/* --compare, mode "tasks": the real crawler (crawler.h), conc coroutine
 * tasks on one thread.  Each task's code reads like the sequential mode's
 * loop; the runtime parks it while it waits. */
#include "compare_base.h"
#include "crawler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tulip.h>

typedef struct tasks {
    const char *origin, *ua;
    unsigned conc;
    crawl_cmp_tally *t;
} tasks;

static void task_row(void *arg, const crawl_row *row)
{
    tasks *ts = arg;
    if (crawl_found_add(&ts->t->found, row) < 0)
        ts->t->fatal = -ENOMEM;
}

void crawl_cmp_tasks_opts(crawl_opts *o, char *start, size_t size, const char *origin, const char *ua,
                          unsigned conc)
{
    snprintf(start, size, "%s/", origin);
    crawl_opts_init(o);
    o->delay_ns = 0; /* loopback: no one to be polite to */
    o->url = start;
    o->concurrency = conc;
    o->user_agent = ua;
}

static int tasks_main(void *arg)
{
    tasks *ts = arg;
    char start[128];
    crawl_opts o;
    crawl_cmp_tasks_opts(&o, start, sizeof start, ts->origin, ts->ua, ts->conc);
    o.on_row = task_row;
    o.row_arg = ts;
    crawl_stats st;
    memset(&st, 0, sizeof st);
    int rc = crawl_run(&o, &st);
    ts->t->fetched = st.fetched;
    ts->t->errors = st.errors;
    return rc ? rc : ts->t->fatal;
}

int crawl_cmp_tasks(const char *origin, const char *user_agent, unsigned conc, crawl_cmp_tally *t)
{
    tasks ts = { .origin = origin, .ua = user_agent, .conc = conc, .t = t };
    return tulip_run(tasks_main, &ts);
}
