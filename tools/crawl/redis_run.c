#define _GNU_SOURCE
#include "redis_run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <tulip.h>

static void commit_rows(void *arg)
{
    crawl_shared *s = arg;
    if (s->rows)
        fflush(s->rows);
}

int crawl_shared_start(crawl_shared *s, crawl_opts *co)
{
    s->r = crawl_redis_new(s->url, s->timeout_ns);
    if (!s->r) {
        fprintf(stderr, "tulip-crawl: --redis: expected redis://HOST:PORT/DB, got '%s'\n", s->url);
        return -EINVAL;
    }
    s->f = crawl_rfrontier_new(s->r, s->id, co);
    if (!s->f)
        return -ENOMEM;
    char *opts = crawl_rfrontier_options(co);
    char err[2048];
    int rc = opts ? crawl_rfrontier_open(s->f, opts, err, sizeof err) : -ENOMEM;
    free(opts);
    if (rc < 0) {
        fprintf(stderr, "tulip-crawl: %s\n", rc == -ENOMEM ? "out of memory" : err);
        return rc;
    }
    crawl_rfrontier_on_commit(s->f, commit_rows, s);
    co->remote = crawl_rfrontier_remote(s->f);
    return 0;
}

void crawl_shared_summary(crawl_shared *s, int rc, FILE *out)
{
    if (!s->f)
        return;
    if (rc == -EHOSTDOWN)
        fprintf(stderr,
                "tulip-crawl: redis at %s unreachable for %.1f s (--redis-timeout): stopped; the crawl is "
                "kept in Redis, run the same command again to go on\n",
                crawl_redis_address(s->r), (double)s->timeout_ns / 1e9);
    crawl_rfrontier_close(s->f); /* gives back what is still leased */
    crawl_rfrontier_stats st;
    crawl_rfrontier_stats_get(s->f, &st);
    crawl_redis_stats rs;
    crawl_redis_stats_get(s->r, &rs);
    fprintf(out,
            "  shared    crawl %s on %s: %" PRIu64 " URLs claimed, %" PRIu64 " completed, %" PRIu64
            " given back, %" PRIu64 " stale (lease expired first)%s\n"
            "  redis     %" PRIu64 " round trips, %" PRIu64 " scripts, %" PRIu64 " connections, %" PRIu64
            " failed attempts\n",
            s->id, crawl_redis_address(s->r), st.claimed, st.completed, st.given_back, st.stale,
            st.released ? ", the rest released" : "", rs.round_trips,
            rs.commands, rs.reconnects, rs.failures);
}

void crawl_shared_stop(crawl_shared *s)
{
    crawl_rfrontier_close(s->f);
    crawl_rfrontier_free(s->f);
    crawl_redis_free(s->r);
    s->f = NULL;
    s->r = NULL;
}

int crawl_shared_metrics(void *arg, crawl_buf *b)
{
    crawl_shared *s = arg;
    if (!s->f)
        return 0;
    crawl_rfrontier_stats st;
    crawl_rfrontier_stats_get(s->f, &st);
    crawl_buf_printf(b,
                     "# HELP tulip_crawl_redis_urls_total URLs of the shared frontier this process claimed, "
                     "completed, gave back (robots.txt turn, retry), completed after its lease expired, released at exit\n"
                     "# TYPE tulip_crawl_redis_urls_total counter\n"
                     "tulip_crawl_redis_urls_total{event=\"claimed\"} %" PRIu64 "\n"
                     "tulip_crawl_redis_urls_total{event=\"completed\"} %" PRIu64 "\n"
                     "tulip_crawl_redis_urls_total{event=\"given_back\"} %" PRIu64 "\n"
                     "tulip_crawl_redis_urls_total{event=\"stale\"} %" PRIu64 "\n"
                     "tulip_crawl_redis_urls_total{event=\"released\"} %" PRIu64 "\n",
                     st.claimed, st.completed, st.given_back, st.stale, st.released);
    crawl_redis_stats rs;
    crawl_redis_stats_get(s->r, &rs);
    crawl_buf_printf(b,
                     "# HELP tulip_crawl_redis_round_trips_total round trips to Redis (each one pipelined batch)\n"
                     "# TYPE tulip_crawl_redis_round_trips_total counter\n"
                     "tulip_crawl_redis_round_trips_total %" PRIu64 "\n"
                     "# HELP tulip_crawl_redis_failures_total failed attempts (connection lost, refused, no answer)\n"
                     "# TYPE tulip_crawl_redis_failures_total counter\n"
                     "tulip_crawl_redis_failures_total %" PRIu64 "\n",
                     rs.round_trips, rs.failures);
    crawl_rfrontier_counts c;
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_SEC(1)); /* a scrape does not wait for a Redis away */
    int rc = crawl_rfrontier_counts_get(s->r, s->id, &c);
    tulip_scope_exit(&sc);
    if (rc < 0)
        return 0;
    crawl_buf_printf(b,
                     "# HELP tulip_crawl_redis_queued URLs queued in the shared frontier (every process)\n"
                     "# TYPE tulip_crawl_redis_queued gauge\n"
                     "tulip_crawl_redis_queued %lld\n"
                     "# HELP tulip_crawl_redis_leases URLs leased (in flight) in every process\n"
                     "# TYPE tulip_crawl_redis_leases gauge\n"
                     "tulip_crawl_redis_leases %lld\n"
                     "# HELP tulip_crawl_redis_hosts hosts with queued URLs: ready now, waiting for their delay, "
                     "busy (one request at a time)\n"
                     "# TYPE tulip_crawl_redis_hosts gauge\n"
                     "tulip_crawl_redis_hosts{state=\"ready\"} %lld\n"
                     "tulip_crawl_redis_hosts{state=\"waiting\"} %lld\n"
                     "tulip_crawl_redis_hosts{state=\"busy\"} %lld\n"
                     "# HELP tulip_crawl_redis_reaped_total leases that expired (their process died or hung) and "
                     "went back to their queue\n"
                     "# TYPE tulip_crawl_redis_reaped_total counter\n"
                     "tulip_crawl_redis_reaped_total %lld\n"
                     "# HELP tulip_crawl_redis_seen URLs ever queued\n"
                     "# TYPE tulip_crawl_redis_seen gauge\n"
                     "tulip_crawl_redis_seen %lld\n",
                     c.queued, c.leases, c.ready, c.waiting, c.busy, c.reaped, c.seen);
    return b->data ? 0 : -ENOMEM;
}

static int status_main(void *arg)
{
    crawl_shared *s = arg;
    s->r = crawl_redis_new(s->url, s->timeout_ns);
    if (!s->r) {
        fprintf(stderr, "tulip-crawl: --redis: expected redis://HOST:PORT/DB, got '%s'\n", s->url);
        return -EINVAL;
    }
    int rc = crawl_rfrontier_status(s->r, s->id, stdout);
    if (rc == -ENOENT)
        fprintf(stderr, "tulip-crawl: no crawl %s on %s\n", s->id, crawl_redis_address(s->r));
    else if (rc < 0)
        fprintf(stderr, "tulip-crawl: redis at %s: %s\n", crawl_redis_address(s->r),
                rc == -EHOSTDOWN ? "unreachable" : tulip_strerror(rc));
    crawl_redis_free(s->r);
    s->r = NULL;
    return rc;
}

int crawl_shared_status(crawl_shared *s)
{
    return tulip_run(status_main, s) < 0;
}
