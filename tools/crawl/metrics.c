#define _GNU_SOURCE
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <tulip.h>

#define LAG_PERIOD TULIP_MS(100)

struct crawl_metrics {
    crawl_stats st;
    bool final;
    crawl_metrics_extra extra;
    void *arg;
    tulip_http_server *srv;
    tulip_task *serve, *lag;
    int64_t lag_ns, lag_max_ns;
    uint64_t scrapes;
    tulip_event scraped_final;
};

crawl_metrics *crawl_metrics_new(crawl_metrics_extra extra, void *arg)
{
    crawl_metrics *m = calloc(1, sizeof *m);
    if (m) {
        m->extra = extra;
        m->arg = arg;
        tulip_event_init(&m->scraped_final);
    }
    return m;
}

void crawl_metrics_update(crawl_metrics *m, const crawl_stats *st, bool final)
{
    if (m && !m->final) {
        m->st = *st;
        m->final = final;
    }
}

static void metric(crawl_buf *b, const char *name, const char *type, const char *help)
{
    crawl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int crawl_metrics_render(crawl_metrics *m, crawl_buf *b)
{
    const crawl_stats *st = &m->st;
    metric(b, "tulip_crawl_fetches_total", "counter", "URLs requested (a response or an error), by status class");
    static const char *const cls[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
    for (int i = 1; i <= 5; i++)
        crawl_buf_printf(b, "tulip_crawl_fetches_total{class=\"%s\"} %" PRIu64 "\n", cls[i - 1], st->status[i]);
    /* a fetch without a response: the summary's "errors" by kind */
    uint64_t noresp = st->fetched;
    for (int i = 1; i <= 5; i++)
        noresp -= st->status[i] <= noresp ? st->status[i] : noresp;
    crawl_buf_printf(b, "tulip_crawl_fetches_total{class=\"error\"} %" PRIu64 "\n", noresp);
    metric(b, "tulip_crawl_fetched_total", "counter", "URLs requested (the summary's pages fetched)");
    crawl_buf_printf(b, "tulip_crawl_fetched_total %" PRIu64 "\n", st->fetched);
    metric(b, "tulip_crawl_errors_total", "counter", "errors by kind (the summary's errors line)");
    for (size_t i = 0; i < st->nkinds; i++)
        crawl_buf_printf(b, "tulip_crawl_errors_total{kind=\"%s\"} %" PRIu64 "\n", st->kinds[i].kind, st->kinds[i].n);
    metric(b, "tulip_crawl_body_bytes_total", "counter", "body bytes received");
    crawl_buf_printf(b, "tulip_crawl_body_bytes_total %" PRIu64 "\n", st->bytes);
    metric(b, "tulip_crawl_links_total", "counter", "links extracted");
    crawl_buf_printf(b, "tulip_crawl_links_total %" PRIu64 "\n", st->links);
    metric(b, "tulip_crawl_skipped_total", "counter", "URLs found and not fetched, by reason");
    crawl_buf_printf(b,
                     "tulip_crawl_skipped_total{reason=\"offsite\"} %" PRIu64 "\n"
                     "tulip_crawl_skipped_total{reason=\"robots\"} %" PRIu64 "\n"
                     "tulip_crawl_skipped_total{reason=\"filtered\"} %" PRIu64 "\n"
                     "tulip_crawl_skipped_total{reason=\"too_deep\"} %" PRIu64 "\n"
                     "tulip_crawl_skipped_total{reason=\"over_limit\"} %" PRIu64 "\n",
                     st->offsite, st->robots, st->filtered, st->too_deep, st->over_limit);
    metric(b, "tulip_crawl_bad_links_total", "counter", "hrefs not followed (other schemes, junk)");
    crawl_buf_printf(b, "tulip_crawl_bad_links_total %" PRIu64 "\n", st->bad_links);
    metric(b, "tulip_crawl_retries_total", "counter", "attempts tried again");
    crawl_buf_printf(b, "tulip_crawl_retries_total %" PRIu64 "\n", st->retries);
    metric(b, "tulip_crawl_in_flight", "gauge", "URLs being fetched now");
    crawl_buf_printf(b, "tulip_crawl_in_flight %zu\n", st->in_flight);
    metric(b, "tulip_crawl_queued", "gauge", "URLs queued in this process's frontier");
    crawl_buf_printf(b, "tulip_crawl_queued %zu\n", st->queued);
    metric(b, "tulip_crawl_elapsed_seconds", "gauge", "time since the crawl started");
    crawl_buf_printf(b, "tulip_crawl_elapsed_seconds %.3f\n", (double)st->elapsed_ns / 1e9);
    metric(b, "tulip_crawl_finished", "gauge", "1 once the crawl is over (the values are final)");
    crawl_buf_printf(b, "tulip_crawl_finished %d\n", m->final ? 1 : 0);
    metric(b, "tulip_loop_lag_seconds", "gauge", "how late the loop woke a 100 ms sleep, last time");
    crawl_buf_printf(b, "tulip_loop_lag_seconds %.6f\n", (double)m->lag_ns / 1e9);
    metric(b, "tulip_loop_lag_max_seconds", "gauge", "the worst of those");
    crawl_buf_printf(b, "tulip_loop_lag_max_seconds %.6f\n", (double)m->lag_max_ns / 1e9);
    int rc = m->extra ? m->extra(m->arg, b) : 0;
    return b->data ? rc : -ENOMEM;
}

static int handler(void *arg, const tulip_http_request_view *req, tulip_http_responder *res)
{
    crawl_metrics *m = arg;
    if (req->path_len != 8 || memcmp(req->path, "/metrics", 8) != 0)
        return tulip_http_respond(res, 404, "text/plain", "try /metrics\n", 13);
    m->scrapes++;
    crawl_buf b = { 0 };
    int rc = crawl_metrics_render(m, &b);
    bool final = m->final;
    rc = rc < 0 ? tulip_http_respond(res, 500, "text/plain", "out of memory\n", 14)
                : tulip_http_respond(res, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    if (rc == 0 && final)
        tulip_event_set(&m->scraped_final);
    crawl_buf_free(&b);
    return rc;
}

static int lag_task(void *arg)
{
    crawl_metrics *m = arg;
    for (;;) {
        int64_t t = tulip_now();
        if (tulip_sleep(LAG_PERIOD) < 0)
            return 0;
        m->lag_ns = tulip_now() - t - LAG_PERIOD;
        if (m->lag_ns < 0)
            m->lag_ns = 0;
        if (m->lag_ns > m->lag_max_ns)
            m->lag_max_ns = m->lag_ns;
    }
}

int crawl_metrics_start(crawl_metrics *m, const char *addr)
{
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    m->srv = tulip_http_server_new(&o, handler, m);
    if (!m->srv)
        return -ENOMEM;
    int rc = tulip_http_server_listen(m->srv, addr);
    if (rc < 0)
        return rc;
    m->serve = tulip_spawn(tulip_http_server_task, m->srv);
    m->lag = tulip_spawn(lag_task, m);
    return m->serve && m->lag ? 0 : -ENOMEM;
}

int crawl_metrics_port(const crawl_metrics *m) { return m->srv ? tulip_http_server_port(m->srv) : -EINVAL; }

void crawl_metrics_linger(crawl_metrics *m, int64_t ns)
{
    if (!m || ns <= 0)
        return;
    tulip_scope s;
    tulip_scope_enter_timeout(&s, ns);
    tulip_event_wait(&m->scraped_final);
    tulip_scope_exit(&s);
}

void crawl_metrics_free(crawl_metrics *m)
{
    if (!m)
        return;
    tulip_scope s;
    tulip_scope_enter_shielded(&s, TULIP_FOREVER);
    if (m->lag) {
        tulip_cancel(m->lag);
        tulip_join(m->lag);
    }
    if (m->serve) {
        tulip_http_server_shutdown(m->srv);
        tulip_join(m->serve);
    }
    tulip_scope_exit(&s);
    tulip_http_server_free(m->srv);
    free(m);
}
