#define _GNU_SOURCE
#include "compare.h"
#include "compare_base.h"
#include "compare_sample.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tulip/http.h"

static const char *const names[CRAWL_NMODES] = { "sequential", "processes", "threads", "callbacks", "tasks",
                                                  "tasks on" };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run mode m to its end; *t holds its rows and counts. */
static int run_mode(enum crawl_mode m, const char *origin, const char *ua, unsigned conc, unsigned loops,
                    crawl_cmp_tally *t, long *extra_rss_kb)
{
    if (m == CRAWL_TASKS)
        return crawl_cmp_tasks(origin, ua, conc, t);
    if (m == CRAWL_TASKS_CORES)
        return crawl_cmp_tasks_cores(origin, ua, conc, loops, t);
    /* The port, explicit or the scheme's default ("http://h" has none:
     * the colon after the scheme is not a port's). */
    tulip_http_url u;
    int rc = tulip_http_url_parse(origin, &u);
    if (rc < 0)
        return rc;
    int port = u.port;
    crawl_cmp_base b;
    rc = crawl_cmp_base_init(&b, origin, ua);
    if (rc == 0) {
        switch (m) {
        case CRAWL_SEQUENTIAL: rc = crawl_cmp_sequential(&b); break;
        case CRAWL_PROCESSES: rc = crawl_cmp_processes(&b, conc, extra_rss_kb); break;
        case CRAWL_THREADS: rc = crawl_cmp_threads(&b, conc); break;
        default: rc = crawl_cmp_callbacks(&b, conc, port); break;
        }
    }
    *t = b.t; /* the rows move to the caller */
    memset(&b.t, 0, sizeof b.t);
    crawl_cmp_base_fini(&b);
    return rc;
}

int crawl_compare_mode(enum crawl_mode m, const crawl_site *site, const char *origin, unsigned conc,
                       const char *user_agent, unsigned loops, crawl_mode_result *out)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)m >= CRAWL_NMODES || conc == 0)
        return -EINVAL;
    loops = m == CRAWL_TASKS_CORES ? crawl_cmp_cores_loops(loops, conc) : 1;
    out->loops = loops;
    if (m == CRAWL_TASKS_CORES) /* "tasks on 2 cores" */
        snprintf(out->name, sizeof out->name, "%s %u core%s", names[m], loops, loops == 1 ? "" : "s");
    else
        snprintf(out->name, sizeof out->name, "%s", names[m]);
    const char *ua = user_agent ? user_agent : "tulip-crawl/0.1";

    crawl_cmp_sampler s;
    if (crawl_cmp_sample_start(&s) < 0)
        return -EAGAIN;
    crawl_cmp_tally t;
    memset(&t, 0, sizeof t);
    double t0 = now_s();
    long extra_rss_kb = 0;
    int rc = run_mode(m, origin, ua, conc, loops, &t, &extra_rss_kb);
    out->seconds = now_s() - t0;
    int64_t cpu_ns = 0;
    crawl_cmp_sample_stop(&s, &out->peak_threads, &out->peak_rss_kb, &cpu_ns);
    out->cpu_s = (double)cpu_ns / 1e9;
    out->cores = out->seconds > 0 ? out->cpu_s / out->seconds : 0;
    out->peak_rss_kb += extra_rss_kb;
    out->processes = m == CRAWL_PROCESSES ? 1 + (int)conc : 1;
    out->fetched = t.fetched;
    out->errors = t.errors;
    out->pages_per_s = out->seconds > 0 ? (double)out->fetched / out->seconds : 0;
    out->cpu_per_page_us = out->fetched ? out->cpu_s * 1e6 / (double)out->fetched : 0;

    if (rc == 0) {
        crawl_site_expect e;
        rc = crawl_site_expected(site, origin, &e);
        if (rc == 0) {
            long d = crawl_check(&e, &t.found, 0, NULL);
            out->mismatches = d;
            crawl_site_expect_free(&e);
            rc = d < 0 ? (int)d : 0;
        }
    }
    crawl_found_free(&t.found);
    return rc;
}
