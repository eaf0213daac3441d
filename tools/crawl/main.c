/* tulip-crawl: the asynchronous web crawler, its built-in demo site, and
 * the blocking/threads/callbacks/tasks comparison.  See docs/CRAWL.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tulip.h>

#include "check.h"
#include "compare.h"
#include "crawler.h"
#include "demo.h"
#include "jsonl.h"
#include "metrics.h"
#include "pattern.h"
#include "recrawl_fresh.h"
#include "redis_run.h"
#include "state.h"
#include "url.h"

/* What one loop's rows go to (--workers: rows come from every loop). */
typedef struct sink {
    crawl_buf line, out;  /* out: JSON lines not yet written */
    uint64_t rows;
    crawl_found_set found;
    bool check_failed;
} sink;

typedef struct app {
    crawl_opts co;
    crawl_patterns *pat;
    const char *url;
    bool demo, compare, verbose, progress, check;
    bool started; /* the runtime ran our main task */
    bool delay_set;
    int serve_port;
    crawl_demo_opts demo_opts;
    unsigned threads;
    const char *plot;
    const char *server_log;
    FILE *server_log_f;   /* opened before the server starts */
    bool server_log_failed;
    const char *output;
    FILE *out;
    atomic_int out_errno; /* the first failed write of rows (any loop's) */
    crawl_state_opts so;
    crawl_state *state;
    uint64_t rows;
    crawl_buf line;
    crawl_found_set found;
    crawl_demo *d;
    crawl_stats st;
    unsigned workers;     /* loops; 0 until decided */
    bool workers_set;
    sink *sinks;          /* one per loop with workers > 1 */
    char origin_url[96];
    bool progress_shown;
    crawl_shared shared; /* --redis */
    bool status;
    const char *metrics_addr; /* --metrics */
    int64_t metrics_linger_ns;
    crawl_metrics *metrics;
    bool tty_progress;
    /* -v lines come from every loop's thread, the progress line from loop
     * 0's: under this lock a -v line clears the progress line whichever
     * loop prints it, and no two lines mix (progress_shown too). */
    pthread_mutex_t print_mu;
} app;

static const char usage[] =
    "usage: tulip-crawl [options] [URL]\n"
    "       tulip-crawl --demo [site options] [options]\n"
    "       tulip-crawl --compare [site options] [--threads N] [--plot FILE.svg]\n"
    "       tulip-crawl --serve PORT [site options]\n"
    "\n"
    "Crawl from URL (same host only by default) with N worker tasks on the\n"
    "loops of --workers. Without URL, crawl the built-in demo site (--demo).\n"
    "\n"
    "crawl options:\n"
    "  -c, --concurrency N   worker tasks, shared out among the loops (default 32)\n"
    "      --workers N       loops, one thread each (default: the cores, at most\n"
    "                        the tasks; --state/--warc: 1)\n"
    "      --per-host N      connections per host (default: the concurrency)\n"
    "      --max-pages N     request at most N URLs (0: no limit)\n"
    "      --max-depth N     follow links at most N hops from the start\n"
    "      --max-redirects N longest redirect chain followed (default 10)\n"
    "      --timeout MS      per request, connect to last byte (default 30000)\n"
    "      --include RE      only URLs matching this extended regex (repeatable)\n"
    "      --exclude RE      never URLs matching this extended regex (repeatable)\n"
    "      --any-host        follow links to other hosts too\n"
    "      --ignore-robots   do not fetch or obey robots.txt\n"
    "      --order bfs|dfs   which URL of a host comes next (default bfs)\n"
    "      --sitemap URL     read this sitemap too (robots.txt Sitemap: lines are\n"
    "                        always read)\n"
    "\n"
    "politeness and retries (per host; see docs/CRAWL.md):\n"
    "      --delay MS        least time between request starts to one host\n"
    "                        (default 250; --demo: 0)\n"
    "      --delay-jitter P  stretch each delay by a random 0..P percent\n"
    "      --adaptive        wait at least 2x the host's response time\n"
    "      --max-delay MS    cap of the adaptive wait (default 10000)\n"
    "      --max-crawl-delay S  obey robots.txt Crawl-delay up to S seconds\n"
    "                        (default 30)\n"
    "      --retries N       retry timeouts, connection errors, 429 and 5xx\n"
    "                        up to N times (default 0)\n"
    "      --backoff MS      first wait before a retry without Retry-After,\n"
    "                        doubling each time (default 1000)\n"
    "      --user-agent S    (default tulip-crawl/0.1)\n"
    "  -o, --output FILE     one JSON line per URL (\"-\": stdout)\n"
    "  -v, --verbose         print one line per URL\n"
    "      --state DIR       keep a crash-safe journal of the crawl in DIR\n"
    "      --resume          go on with the crawl in --state DIR (same options)\n"
    "      --sync            fdatasync at each page (power loss; a kill needs none)\n"
    "      --warc-metadata   add a WARC metadata record per HTML page (outlinks,\n"
    "                        hops from the seed, fetch time)\n"
    "      --recrawl         crawl the URLs in --state DIR again, asking if they\n"
    "                        changed (ETag, Last-Modified, WARC revisit records)\n"
    "      --recrawl-fresh S reuse, without a fetch, the crawl before's redirects\n"
    "                        and errors HTTP lets a cache reuse (301, 308, 404,\n"
    "                        410...; never 302/307) up to S seconds after their\n"
    "                        fetch (default 86400; 0: ask for all again)\n"
    "      --warc PREFIX     write WARC/1.1 files PREFIX-<time>-<serial>.warc.gz\n"
    "      --warc-max-size N rotate WARC files at N bytes (default 1 GB)\n"
    "      --no-progress     no live progress line (never shown on a pipe)\n"
    "\n";

/* More strings: C99 compilers need not take literals over 4095 bytes. */
static const char usage_demo[] =
    "demo site options (--demo, --compare, --serve):\n"
    "      --pages N         HTML pages (default 500; --compare 150)\n"
    "      --links N         links per page (default 8)\n"
    "      --latency MS      server delay per response (default 20)\n"
    "      --seed N          site generator seed (default 1)\n"
    "      --hosts K         serve it on 127.0.0.1 .. 127.0.0.K, linked across\n"
    "      --chunked         send bodies chunked\n"
    "      --encoding C      compress bodies with gzip, br or zstd\n"
    "      --every-429 N     every Nth page answers 429 the first time\n"
    "      --retry-after S   that 429's Retry-After (default 1)\n"
    "      --robots-delay MS robots.txt Crawl-delay\n"
    "      --robots-delay-hosts N  only the first N hosts say it\n"
    "      --orphans N       N pages linked only from the sitemaps\n"
    "      --page-bytes N    pad HTML pages to N bytes (default: none)\n"
    "      --server-log FILE write the server's request log (ns host status target;\n"
    "                        --demo, --serve)\n"
    "\n"
    "      --threads N       --compare: threads of the thread pool, workers of the process pool\n"
    "                        (default: the concurrency)\n"
    "      --plot FILE.svg   --compare: also write an SVG bar chart\n"
    "  -h, --help\n";

static const char usage_shared[] =
    "\nseveral processes, one crawl (docs/CRAWL.md, \"Several machines\"), metrics:\n"
    "      --redis URL       share the frontier in Redis (redis://HOST:PORT/DB);\n"
    "                        one loop per process\n"
    "      --crawl-id NAME   the shared crawl's name (needed with --redis)\n"
    "      --redis-timeout MS  give up on Redis after that long (default 30000)\n"
    "      --status          print the shared crawl's queue, leases, hosts\n"
    "      --metrics ADDR    serve Prometheus metrics (127.0.0.1:PORT)\n"
    "      --metrics-linger MS  after the crawl, wait for a scrape (that long)\n";

static void print_usage(FILE *f)
{
    fputs(usage, f);
    fputs(usage_demo, f);
    fputs(usage_shared, f);
}

enum {
    O_PER_HOST = 256, O_MAX_PAGES, O_MAX_DEPTH, O_MAX_REDIRECTS, O_TIMEOUT, O_INCLUDE, O_EXCLUDE,
    O_ANY_HOST, O_IGNORE_ROBOTS, O_UA, O_NO_PROGRESS, O_DEMO, O_COMPARE, O_SERVE, O_PAGES, O_LINKS,
    O_LATENCY, O_SEED, O_THREADS, O_PLOT, O_ORDER, O_DELAY, O_JITTER, O_ADAPTIVE, O_MAX_DELAY,
    O_MAX_CRAWL_DELAY, O_RETRIES, O_BACKOFF, O_HOSTS, O_CHUNKED, O_ENCODING, O_EVERY_429, O_RETRY_AFTER,
    O_ROBOTS_DELAY, O_ROBOTS_DELAY_HOSTS, O_ORPHANS, O_SERVER_LOG, O_SITEMAP, O_STATE, O_RESUME, O_SYNC, O_WARC, O_WARC_MAX,
    O_WORKERS, O_RECRAWL, O_PAGE_BYTES, O_WARC_METADATA, O_RECRAWL_FRESH,
    O_REDIS, O_CRAWL_ID, O_REDIS_TIMEOUT, O_STATUS, O_METRICS, O_METRICS_LINGER,
};

static const struct option longopts[] = {
    { "concurrency", required_argument, NULL, 'c' },
    { "per-host", required_argument, NULL, O_PER_HOST },
    { "max-pages", required_argument, NULL, O_MAX_PAGES },
    { "max-depth", required_argument, NULL, O_MAX_DEPTH },
    { "max-redirects", required_argument, NULL, O_MAX_REDIRECTS },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "include", required_argument, NULL, O_INCLUDE },
    { "exclude", required_argument, NULL, O_EXCLUDE },
    { "any-host", no_argument, NULL, O_ANY_HOST },
    { "ignore-robots", no_argument, NULL, O_IGNORE_ROBOTS },
    { "user-agent", required_argument, NULL, O_UA },
    { "output", required_argument, NULL, 'o' },
    { "verbose", no_argument, NULL, 'v' },
    { "no-progress", no_argument, NULL, O_NO_PROGRESS },
    { "demo", no_argument, NULL, O_DEMO },
    { "compare", no_argument, NULL, O_COMPARE },
    { "serve", required_argument, NULL, O_SERVE },
    { "pages", required_argument, NULL, O_PAGES },
    { "links", required_argument, NULL, O_LINKS },
    { "latency", required_argument, NULL, O_LATENCY },
    { "seed", required_argument, NULL, O_SEED },
    { "threads", required_argument, NULL, O_THREADS },
    { "plot", required_argument, NULL, O_PLOT },
    { "order", required_argument, NULL, O_ORDER },
    { "delay", required_argument, NULL, O_DELAY },
    { "delay-jitter", required_argument, NULL, O_JITTER },
    { "adaptive", no_argument, NULL, O_ADAPTIVE },
    { "max-delay", required_argument, NULL, O_MAX_DELAY },
    { "max-crawl-delay", required_argument, NULL, O_MAX_CRAWL_DELAY },
    { "retries", required_argument, NULL, O_RETRIES },
    { "backoff", required_argument, NULL, O_BACKOFF },
    { "hosts", required_argument, NULL, O_HOSTS },
    { "chunked", no_argument, NULL, O_CHUNKED },
    { "encoding", required_argument, NULL, O_ENCODING },
    { "every-429", required_argument, NULL, O_EVERY_429 },
    { "retry-after", required_argument, NULL, O_RETRY_AFTER },
    { "robots-delay", required_argument, NULL, O_ROBOTS_DELAY },
    { "robots-delay-hosts", required_argument, NULL, O_ROBOTS_DELAY_HOSTS },
    { "orphans", required_argument, NULL, O_ORPHANS },
    { "page-bytes", required_argument, NULL, O_PAGE_BYTES },
    { "server-log", required_argument, NULL, O_SERVER_LOG },
    { "sitemap", required_argument, NULL, O_SITEMAP },
    { "state", required_argument, NULL, O_STATE },
    { "resume", no_argument, NULL, O_RESUME },
    { "sync", no_argument, NULL, O_SYNC },
    { "recrawl", no_argument, NULL, O_RECRAWL },
    { "recrawl-fresh", required_argument, NULL, O_RECRAWL_FRESH },
    { "warc-metadata", no_argument, NULL, O_WARC_METADATA },
    { "warc", required_argument, NULL, O_WARC },
    { "warc-max-size", required_argument, NULL, O_WARC_MAX },
    { "workers", required_argument, NULL, O_WORKERS },
    { "redis", required_argument, NULL, O_REDIS },
    { "crawl-id", required_argument, NULL, O_CRAWL_ID },
    { "redis-timeout", required_argument, NULL, O_REDIS_TIMEOUT },
    { "status", no_argument, NULL, O_STATUS },
    { "metrics", required_argument, NULL, O_METRICS },
    { "metrics-linger", required_argument, NULL, O_METRICS_LINGER },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* The value s of option opt as a number from min to max, else a message
 * naming the option and what it takes. */
static int number(const char *opt, const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "tulip-crawl: %s: expected a number from %llu to %llu, got '%s'\n", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void clear_progress(app *a) /* print_mu held */
{
    if (a->progress_shown) {
        fputs("\r\033[K", stderr);
        a->progress_shown = false;
    }
}

static void on_tick(void *arg, const crawl_stats *st)
{
    app *a = arg;
    crawl_metrics_update(a->metrics, st, false);
    if (!a->tty_progress)
        return;
    double s = (double)st->elapsed_ns / 1e9;
    pthread_mutex_lock(&a->print_mu);
    fprintf(stderr, "\r\033[K  %" PRIu64 " done   %zu in flight   %zu queued   %.0f pages/s   %.1f s",
            st->fetched + st->reused, st->in_flight, st->queued, s > 0 ? (double)st->fetched / s : 0.0, s);
    a->progress_shown = true;
    pthread_mutex_unlock(&a->print_mu);
}

/* The -v line of a row, or of an attempt that will be retried, from any
 * loop.  stdout on a terminal is line-buffered, so the line has reached it
 * before the lock goes and a later progress line cannot cut into it. */
static void print_row(app *a, const crawl_row *row)
{
    char st[16] = "---";
    if (row->status > 0)
        snprintf(st, sizeof st, "%d", row->status);
    char tries[32] = "";
    if (row->attempts > 1)
        snprintf(tries, sizeof tries, "  (%u attempts)", row->attempts);
    pthread_mutex_lock(&a->print_mu);
    clear_progress(a);
    if (row->retry)
        printf("%s %7.1f ms  d%-2d %s  attempt %u failed%s%s, will retry\n", st, (double)row->elapsed_ns / 1e6,
               row->depth, row->url, row->attempts, row->error ? ": " : "", row->error ? row->error : "");
    else
        printf("%s %7.1f ms  d%-2d %s%s%s%s%s%s\n", st, (double)row->elapsed_ns / 1e6, row->depth, row->url,
               row->error ? "  " : "", row->error ? row->error : "", tries, row->note ? "  " : "",
               row->note ? row->note : "");
    pthread_mutex_unlock(&a->print_mu);
}

/* Rows to -o FILE: a failed write is kept, and said at the end with the
 * file's name (exit 1): rows lost to a full disk were reported as written. */
static void out_write(app *a, const void *p, size_t n)
{
    if (fwrite(p, 1, n, a->out) != n) {
        int e = errno ? errno : EIO, none = 0;
        atomic_compare_exchange_strong(&a->out_errno, &none, e);
    }
}

/* Rows from several loops: each loop its own buffer, written a block at a
 * time (one fwrite of whole lines: stdio locks the FILE per call, so
 * lines never mix). */
static void sink_flush(app *a, sink *k)
{
    if (k->out.len && a->out)
        out_write(a, k->out.data, k->out.len);
    k->out.len = 0;
}

static void on_row_loops(app *a, const crawl_row *row)
{
    int i = tulip_loop_index();
    sink *k = &a->sinks[i > 0 && (unsigned)i < a->workers ? i : 0];
    if (row->retry) {
        if (a->verbose)
            print_row(a, row);
        return;
    }
    k->rows++;
    if (a->out) {
        k->line.len = 0;
        if (crawl_jsonl_row(&k->line, row) == 0 && crawl_buf_append(&k->out, k->line.data, k->line.len) == 0 &&
            k->out.len >= (64u << 10))
            sink_flush(a, k);
    }
    if (a->verbose)
        print_row(a, row);
    if (a->check && !k->check_failed && crawl_found_add(&k->found, row) < 0)
        k->check_failed = true;
}

static void on_row(void *arg, const crawl_row *row)
{
    app *a = arg;
    if (a->sinks) {
        on_row_loops(a, row);
        return;
    }
    if (row->retry) {
        if (a->verbose)
            print_row(a, row);
        return;
    }
    a->rows++;
    if (a->out || (a->state && a->output)) {
        a->line.len = 0;
        if (crawl_jsonl_row(&a->line, row) == 0) {
            if (a->state) /* held until the page commits */
                crawl_state_row(a->state, a->line.data, a->line.len);
            else
                out_write(a, a->line.data, a->line.len);
        }
    }
    if (a->verbose)
        print_row(a, row);
    if (a->check && crawl_found_add(&a->found, row) < 0)
        a->check = false;
}

static void human_bytes(char *buf, size_t n, uint64_t b)
{
    if (b >= 10u << 20)
        snprintf(buf, n, "%.1f MB", (double)b / 1e6);
    else if (b >= 10000)
        snprintf(buf, n, "%.1f kB", (double)b / 1e3);
    else
        snprintf(buf, n, "%" PRIu64 " B", b);
}

static void summary(app *a, int rc)
{
    const crawl_stats *st = &a->st;
    double s = (double)st->elapsed_ns / 1e9;
    char bytes[32];
    human_bytes(bytes, sizeof bytes, st->bytes);
    printf("\n%s %s with %u tasks on %u loop%s in %.2f s\n", rc == -ECANCELED ? "Interrupted crawl of" : "Crawled",
           a->url, a->co.concurrency, a->workers, a->workers == 1 ? "" : "s", s);
    printf("  pages     %" PRIu64 " fetched, ", st->fetched);
    if (st->reused) /* --recrawl: answered from the crawl before, no request */
        printf("%" PRIu64 " reused (still fresh), ", st->reused);
    printf("%.0f pages/s, %s of bodies, %" PRIu64 " links seen\n", s > 0 ? (double)st->fetched / s : 0.0, bytes,
           st->links);
    printf("  status    2xx %" PRIu64 ", 3xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %" PRIu64 "\n", st->status[2],
           st->status[3], st->status[4], st->status[5]);
    printf("  skipped   %" PRIu64 " offsite, %" PRIu64 " robots.txt", st->offsite, st->robots);
    if (st->filtered)
        printf(", %" PRIu64 " by --include/--exclude", st->filtered);
    if (st->too_deep)
        printf(", %" PRIu64 " beyond --max-depth", st->too_deep);
    if (st->over_limit)
        printf(", %" PRIu64 " over --max-pages", st->over_limit);
    if (st->bad_links)
        printf("\n  links     %" PRIu64 " not followed (other schemes such as mailto:, or junk)", st->bad_links);
    printf("\n  frontier  %zu hosts, %zu URLs seen in %.1f MiB of fingerprints (%.0f bytes/URL)",
           st->hosts, st->seen, (double)st->seen_bytes / 1048576.0,
           st->seen ? (double)st->seen_bytes / (double)st->seen : 0.0);
    if (st->retries)
        printf("\n  retries   %" PRIu64 " attempts tried again", st->retries);
    if (st->capped_hosts)
        printf("\n  politeness %zu hosts asked for a Crawl-delay over --max-crawl-delay (capped)", st->capped_hosts);
    printf("\n  errors    ");
    if (!st->nkinds)
        printf("none");
    for (size_t i = 0; i < st->nkinds; i++)
        printf("%s%s %" PRIu64, i ? ", " : "", st->kinds[i].kind, st->kinds[i].n);
    printf("\n");
}

/* The rows of every loop in one place (a->rows, a->found). */
static void gather_sinks(app *a)
{
    for (unsigned i = 0; a->sinks && i < a->workers; i++) {
        sink *k = &a->sinks[i];
        sink_flush(a, k);
        a->rows += k->rows;
        k->rows = 0;
        if (k->check_failed)
            a->check = false;
        crawl_found_set *f = &k->found;
        if (a->check && f->n) {
            if (a->found.n + f->n > a->found.cap) {
                size_t cap = a->found.n + f->n;
                crawl_found *v = realloc(a->found.v, cap * sizeof *v);
                if (!v) {
                    a->check = false;
                    continue;
                }
                a->found.v = v;
                a->found.cap = cap;
            }
            memcpy(a->found.v + a->found.n, f->v, f->n * sizeof *f->v);
            a->found.n += f->n;
            free(f->v);
            memset(f, 0, sizeof *f);
        }
    }
}

static void check_demo(app *a)
{
    crawl_site_expect e;
    if (crawl_site_expected(crawl_demo_site(a->d), crawl_demo_origin(a->d), &e) < 0)
        return;
    crawl_buf rep = { 0 };
    long diffs = crawl_check(&e, &a->found, a->co.concurrency == 1, &rep);
    if (diffs == 0)
        printf("  check     every URL the demo site model predicts was found, and nothing else (%zu URLs)\n",
               e.n);
    else if (diffs > 0)
        printf("  check     %ld differences from the demo site model:\n%s", diffs, rep.data ? rep.data : "");
    crawl_buf_free(&rep);
    crawl_site_expect_free(&e);
}

/* The demo server's log, written when it stopped; false (said) on error. */
static bool write_server_log(app *a)
{
    if (!a->server_log_f)
        return true;
    int rc = crawl_demo_write_log(a->d, a->server_log_f);
    if (fclose(a->server_log_f) != 0 && rc == 0)
        rc = -errno;
    a->server_log_f = NULL;
    if (rc < 0) {
        fprintf(stderr, "tulip-crawl: %s: cannot write the server log: %s\n", a->server_log, strerror(-rc));
        a->server_log_failed = true;
    }
    return rc == 0;
}

static int crawl_main(void *arg)
{
    app *a = arg;
    a->started = true;
    if (a->demo) {
        a->d = crawl_demo_new(&a->demo_opts);
        int rc = a->d ? crawl_demo_start(a->d) : -errno;
        if (rc < 0) {
            fprintf(stderr, "tulip-crawl: cannot start the demo site: %s\n", tulip_strerror(rc));
            crawl_demo_free(a->d);
            return rc;
        }
        snprintf(a->origin_url, sizeof a->origin_url, "%s/", crawl_demo_origin(a->d));
        a->url = a->origin_url;
        printf("Demo site on %s: %u pages, %u links per page, %lld ms per response", a->url,
               a->demo_opts.site.pages, a->demo_opts.site.links_per_page,
               (long long)(a->demo_opts.latency_ns / 1000000));
        if (a->demo_opts.site.hosts > 1)
            printf(", %u hosts (127.0.0.1 .. 127.0.0.%u)", a->demo_opts.site.hosts, a->demo_opts.site.hosts);
        printf("\n");
    }
    a->co.url = a->url;
    printf("Crawling %s with %u tasks on %u loop%s%s...\n", a->url, a->co.concurrency, a->workers,
           a->workers == 1 ? "" : "s", a->co.ignore_robots ? "" : " (obeying robots.txt)");
    fflush(stdout);
    a->shared.rows = a->out;
    int rc = a->shared.url ? crawl_shared_start(&a->shared, &a->co) : 0;
    if (rc < 0) {
        crawl_shared_stop(&a->shared);
        return rc == -EINVAL ? -EPROTO : rc;
    }
    if (a->metrics_addr) {
        a->metrics = crawl_metrics_new(a->shared.url ? crawl_shared_metrics : NULL, &a->shared);
        rc = a->metrics ? crawl_metrics_start(a->metrics, a->metrics_addr) : -ENOMEM;
        if (rc < 0) {
            fprintf(stderr, "tulip-crawl: --metrics %s: %s\n", a->metrics_addr, tulip_strerror(rc));
            crawl_metrics_free(a->metrics);
            crawl_shared_stop(&a->shared);
            return -EPROTO;
        }
        const char *colon = strrchr(a->metrics_addr, ':'), *host = a->metrics_addr;
        int hl = colon ? (int)(colon - host) : 0;
        if (hl == 0) {
            host = "127.0.0.1";
            hl = 9;
        }
        printf("Metrics on http://%.*s:%d/metrics\n", hl, host, crawl_metrics_port(a->metrics));
        fflush(stdout);
    }
    rc = crawl_run(&a->co, &a->st);
    crawl_metrics_update(a->metrics, &a->st, true);
    pthread_mutex_lock(&a->print_mu);
    clear_progress(a);
    pthread_mutex_unlock(&a->print_mu);
    gather_sinks(a);
    if (a->d) {
        crawl_demo_stop(a->d);
        write_server_log(a);
    }
    if (rc == -EINVAL) {
        fprintf(stderr, "tulip-crawl: '%s' is not an http(s) URL\n", a->url);
    } else {
        summary(a, rc);
        crawl_state_summary(a->state, stdout);
        const char *failed = crawl_state_failed(a->state);
        if (rc < 0 && rc != -ECANCELED && failed) {
            printf("  stopped   %s: %s\n", failed, strerror(-rc));
            fprintf(stderr, "tulip-crawl: %s: %s\n", failed, strerror(-rc));
        } else if (rc < 0 && rc != -ECANCELED) {
            printf("  stopped   %s\n", tulip_strerror(rc));
        }
        crawl_shared_summary(&a->shared, rc, stdout);
        if (a->d && a->check && rc == 0)
            check_demo(a);
        if (a->out && fflush(a->out) != 0) {
            int e = errno ? errno : EIO, none = 0;
            atomic_compare_exchange_strong(&a->out_errno, &none, e);
        }
        int oe = atomic_load(&a->out_errno);
        if (!oe && a->output && failed && strcmp(failed, a->output) == 0)
            oe = -rc; /* --state: the commit that failed wrote the rows */
        if (a->output && oe)
            printf("  output    %s: %s: rows lost\n", strcmp(a->output, "-") ? a->output : "stdout", strerror(oe));
        else if (a->output)
            printf("  output    %" PRIu64 " rows (JSON Lines) in %s\n", a->rows,
                   strcmp(a->output, "-") ? a->output : "stdout");
    }
    crawl_demo_free(a->d);
    a->d = NULL;
    fflush(stdout);
    crawl_metrics_linger(a->metrics, a->metrics_linger_ns);
    crawl_metrics_free(a->metrics);
    crawl_shared_stop(&a->shared);
    return rc;
}

static int serve_main(void *arg)
{
    app *a = arg;
    a->started = true;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", a->serve_port);
    a->demo_opts.address = addr;
    a->d = crawl_demo_new(&a->demo_opts);
    int rc = a->d ? crawl_demo_start(a->d) : -errno;
    if (rc < 0) {
        fprintf(stderr, "tulip-crawl: cannot serve on %s: %s\n", addr, tulip_strerror(rc));
        crawl_demo_free(a->d);
        return rc;
    }
    printf("Serving the demo site on %s/ (%u pages, %u links, %lld ms latency); Ctrl-C stops\n",
           crawl_demo_origin(a->d), a->demo_opts.site.pages, a->demo_opts.site.links_per_page,
           (long long)(a->demo_opts.latency_ns / 1000000));
    fflush(stdout);
    tulip_sleep(TULIP_FOREVER); /* until SIGINT cancels us */
    crawl_demo_stop(a->d);
    bool logged = write_server_log(a);
    crawl_demo_free(a->d);
    return logged ? 0 : -EIO;
}

static int run_compare(app *a)
{
    crawl_demo *d = crawl_demo_new(&a->demo_opts);
    int rc = d ? crawl_demo_start_thread(d) : -errno;
    if (rc < 0) {
        fprintf(stderr, "tulip-crawl: cannot start the demo site: %s\n", tulip_strerror(rc));
        crawl_demo_free(d);
        return 1;
    }
    unsigned conc = a->threads ? a->threads : a->co.concurrency;
    printf("Demo site on %s/ (its own thread): %u pages, %u links per page, %lld ms per response\n",
           crawl_demo_origin(d), a->demo_opts.site.pages, a->demo_opts.site.links_per_page,
           (long long)(a->demo_opts.latency_ns / 1000000));
    printf("Crawling it %d ways, %u at a time (sequential: 1)...\n", CRAWL_NMODES, conc);
    fflush(stdout);
    crawl_mode_result r[CRAWL_NMODES];
    int failed = 0;
    for (int m = 0; m < CRAWL_NMODES; m++) {
        rc = crawl_compare_mode((enum crawl_mode)m, crawl_demo_site(d), crawl_demo_origin(d),
                                m >= CRAWL_TASKS ? a->co.concurrency : conc, a->co.user_agent, a->workers, &r[m]);
        if (rc < 0) {
            fprintf(stderr, "tulip-crawl: mode %d failed: %s\n", m, tulip_strerror(rc));
            failed = 1;
            break;
        }
        if (isatty(2))
            fprintf(stderr, "  %-11s %5.2f s\n", r[m].name, r[m].seconds);
    }
    crawl_demo_stop(d);
    crawl_demo_free(d);
    if (failed)
        return 1;
    printf("\n");
    crawl_compare_print(stdout, r, CRAWL_NMODES, isatty(1));
    if (a->plot) {
        char title[160];
        snprintf(title, sizeof title, "tulip-crawl --compare: %u pages, %lld ms latency, %u at a time",
                 a->demo_opts.site.pages, (long long)(a->demo_opts.latency_ns / 1000000), conc);
        rc = crawl_compare_svg(a->plot, r, CRAWL_NMODES, title);
        if (rc < 0) {
            fprintf(stderr, "tulip-crawl: %s: %s\n", a->plot, strerror(-rc));
            return 1;
        }
        printf("\nChart written to %s\n", a->plot);
    }
    for (int m = 0; m < CRAWL_NMODES; m++)
        if (r[m].mismatches)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    static app a;
    pthread_mutex_init(&a.print_mu, NULL);
    crawl_opts_init(&a.co);
    a.pat = crawl_patterns_new();
    if (!a.pat)
        return 1;
    a.demo_opts.site = (crawl_site_config){ .pages = 0, .links_per_page = 8, .seed = 1 };
    a.demo_opts.latency_ns = TULIP_MS(20);
    a.serve_port = -1;
    a.progress = true;
    a.so.fresh_window = CRAWL_FRESH_WINDOW;
    int c;
    unsigned long long v;
    char err[256];
    int li = -1;
    while ((c = getopt_long(argc, argv, "c:o:vh", longopts, &li)) != -1) {
        /* the option as the messages name it (argv[optind - 1] is its value) */
        char name[48];
        snprintf(name, sizeof name, "--%s", li >= 0 ? longopts[li].name : "");
        li = -1;
        switch (c) {
        case 'c':
            if (number("--concurrency", optarg, 1, 100000, &v))
                return 2;
            a.co.concurrency = (unsigned)v;
            break;
        case O_PER_HOST:
            if (number(name, optarg, 1, 100000, &v))
                return 2;
            a.co.per_host = (unsigned)v;
            break;
        case O_MAX_PAGES:
            if (number(name, optarg, 0, SIZE_MAX, &v))
                return 2;
            a.co.max_pages = (size_t)v;
            break;
        case O_MAX_DEPTH:
            if (number(name, optarg, 0, INT_MAX, &v))
                return 2;
            a.co.max_depth = (int)v;
            break;
        case O_MAX_REDIRECTS:
            if (number(name, optarg, 0, 1000, &v))
                return 2;
            a.co.max_redirects = (unsigned)v;
            break;
        case O_TIMEOUT:
            if (number(name, optarg, 1, 86400000, &v))
                return 2;
            a.co.timeout_ns = TULIP_MS((int64_t)v);
            break;
        case O_INCLUDE:
        case O_EXCLUDE:
            if (crawl_patterns_add(a.pat, c == O_INCLUDE ? CRAWL_PATTERN_INCLUDE : CRAWL_PATTERN_EXCLUDE,
                                   optarg, err, sizeof err) < 0) {
                fprintf(stderr, "tulip-crawl: bad pattern '%s': %s\n", optarg, err);
                return 2;
            }
            break;
        case O_ANY_HOST: a.co.any_host = true; break;
        case O_IGNORE_ROBOTS: a.co.ignore_robots = true; break;
        case O_UA: a.co.user_agent = optarg; break;
        case 'o': a.output = optarg; break;
        case 'v': a.verbose = true; break;
        case O_NO_PROGRESS: a.progress = false; break;
        case O_DEMO: a.demo = true; break;
        case O_COMPARE: a.compare = true; break;
        case O_SERVE:
            if (number(name, optarg, 0, 65535, &v))
                return 2;
            a.serve_port = (int)v;
            break;
        case O_PAGES:
            if (number(name, optarg, 1, CRAWL_SITE_MAX_PAGES, &v))
                return 2;
            a.demo_opts.site.pages = (unsigned)v;
            break;
        case O_LINKS:
            if (number(name, optarg, 1, CRAWL_SITE_MAX_LINKS, &v))
                return 2;
            a.demo_opts.site.links_per_page = (unsigned)v;
            break;
        case O_LATENCY:
            if (number(name, optarg, 0, 60000, &v))
                return 2;
            a.demo_opts.latency_ns = TULIP_MS((int64_t)v);
            break;
        case O_SEED:
            if (number(name, optarg, 0, UINT64_MAX, &v))
                return 2;
            a.demo_opts.site.seed = v;
            break;
        case O_THREADS:
            if (number(name, optarg, 1, 10000, &v))
                return 2;
            a.threads = (unsigned)v;
            break;
        case O_PLOT: a.plot = optarg; break;
        case O_HOSTS:
            if (number(name, optarg, 1, CRAWL_SITE_MAX_HOSTS, &v))
                return 2;
            a.demo_opts.site.hosts = (unsigned)v;
            break;
        case O_CHUNKED: a.demo_opts.chunked = true; break;
        case O_ENCODING:
            if (strcmp(optarg, "gzip") && strcmp(optarg, "br") && strcmp(optarg, "zstd")) {
                fprintf(stderr, "tulip-crawl: --encoding: gzip, br or zstd, got '%s'\n", optarg);
                return 2;
            }
            a.demo_opts.encoding = optarg;
            break;
        case O_EVERY_429:
            if (number(name, optarg, 1, 1000000, &v))
                return 2;
            a.demo_opts.site.every_429 = (unsigned)v;
            break;
        case O_RETRY_AFTER:
            if (number(name, optarg, 1, 3600, &v))
                return 2;
            a.demo_opts.site.retry_after_s = (unsigned)v;
            break;
        case O_ROBOTS_DELAY:
            if (number(name, optarg, 0, 3600000, &v))
                return 2;
            a.demo_opts.site.crawl_delay_ms = (unsigned)v;
            break;
        case O_ROBOTS_DELAY_HOSTS:
            if (number(name, optarg, 0, CRAWL_SITE_MAX_HOSTS, &v))
                return 2;
            a.demo_opts.site.crawl_delay_hosts = (unsigned)v;
            break;
        case O_ORPHANS:
            if (number(name, optarg, 0, CRAWL_SITE_MAX_ORPHANS, &v))
                return 2;
            a.demo_opts.site.orphans = (unsigned)v;
            break;
        case O_PAGE_BYTES:
            if (number(name, optarg, 0, 64u * 1024 * 1024, &v))
                return 2;
            a.demo_opts.site.page_bytes = (size_t)v;
            break;
        case O_SERVER_LOG: a.server_log = optarg; break;
        case O_SITEMAP: a.co.sitemap = optarg; break;
        case O_STATE: a.so.dir = optarg; break;
        case O_RESUME: a.so.resume = true; break;
        case O_SYNC: a.so.sync = true; break;
        case O_RECRAWL: a.so.recrawl = true; break;
        case O_RECRAWL_FRESH:
            if (number(name, optarg, 0, INT64_MAX, &v))
                return 2;
            a.so.fresh_window = (int64_t)v;
            break;
        case O_WARC_METADATA: a.so.warc_metadata = true; break;
        case O_WARC: a.so.warc_prefix = optarg; break;
        case O_WARC_MAX:
            if (number(name, optarg, 4096, UINT64_MAX, &v))
                return 2;
            a.so.warc_max_size = v;
            break;
        case O_ORDER:
            if (strcmp(optarg, "bfs") && strcmp(optarg, "dfs")) {
                fprintf(stderr, "tulip-crawl: --order: bfs or dfs, got '%s'\n", optarg);
                return 2;
            }
            a.co.dfs = optarg[0] == 'd';
            break;
        case O_DELAY:
            if (number(name, optarg, 0, 86400000, &v))
                return 2;
            a.co.delay_ns = TULIP_MS((int64_t)v);
            a.delay_set = true;
            break;
        case O_JITTER:
            if (number(name, optarg, 0, 100, &v))
                return 2;
            a.co.delay_jitter = (unsigned)v;
            break;
        case O_ADAPTIVE: a.co.adaptive = true; break;
        case O_MAX_DELAY:
            if (number(name, optarg, 0, 86400000, &v))
                return 2;
            a.co.max_delay_ns = TULIP_MS((int64_t)v);
            break;
        case O_MAX_CRAWL_DELAY:
            if (number(name, optarg, 0, 86400, &v))
                return 2;
            a.co.max_crawl_delay_ns = TULIP_SEC((int64_t)v);
            break;
        case O_RETRIES:
            if (number(name, optarg, 0, 100, &v))
                return 2;
            a.co.retries = (unsigned)v;
            break;
        case O_BACKOFF:
            if (number(name, optarg, 0, 3600000, &v))
                return 2;
            a.co.backoff_ns = TULIP_MS((int64_t)v);
            break;
        case O_WORKERS:
            if (number(name, optarg, 1, 1024, &v))
                return 2;
            a.workers = (unsigned)v;
            a.workers_set = true;
            break;
        case O_REDIS: a.shared.url = optarg; break;
        case O_CRAWL_ID: a.shared.id = optarg; break;
        case O_REDIS_TIMEOUT:
            if (number(name, optarg, 1, 86400000, &v))
                return 2;
            a.shared.timeout_ns = TULIP_MS((int64_t)v);
            break;
        case O_STATUS: a.status = true; break;
        case O_METRICS: a.metrics_addr = optarg; break;
        case O_METRICS_LINGER:
            if (number(name, optarg, 0, 86400000, &v))
                return 2;
            a.metrics_linger_ns = TULIP_MS((int64_t)v);
            break;
        case 'h': print_usage(stdout); return 0;
        default: print_usage(stderr); return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "tulip-crawl: one start URL at most\n");
        print_usage(stderr);
        return 2;
    }
    if (optind == argc - 1)
        a.url = argv[optind];
    if (a.url && (a.demo || a.compare || a.serve_port >= 0)) {
        fprintf(stderr, "tulip-crawl: a URL and --demo/--compare/--serve exclude each other\n");
        return 2;
    }
    if ((a.plot || a.threads) && !a.compare) {
        fprintf(stderr, "tulip-crawl: --plot and --threads go with --compare\n");
        return 2;
    }
    if (a.plot) {
        /* a path that cannot be written is said now, not after every mode ran */
        FILE *f = fopen(a.plot, "w");
        if (!f || fclose(f) != 0) {
            fprintf(stderr, "tulip-crawl: %s: %s\n", a.plot, strerror(errno));
            return 1;
        }
    }
    if (a.server_log && (a.url || a.compare)) {
        fprintf(stderr, "tulip-crawl: --server-log is the demo server's log: it goes with --demo or --serve\n");
        return 2;
    }
    if (!a.demo_opts.site.pages)
        a.demo_opts.site.pages = a.compare ? 150 : 500;
    if (crawl_patterns_count(a.pat, CRAWL_PATTERN_INCLUDE) + crawl_patterns_count(a.pat, CRAWL_PATTERN_EXCLUDE))
        a.co.patterns = a.pat;
    if (!a.shared.timeout_ns)
        a.shared.timeout_ns = TULIP_SEC(30);
    if ((a.shared.url || a.status) && (!a.shared.url || !a.shared.id)) {
        fprintf(stderr, "tulip-crawl: --redis URL and --crawl-id NAME go together (--status needs both)\n");
        return 2;
    }
    if (a.status)
        return crawl_shared_status(&a.shared);
    if (a.shared.url && (!a.url || a.so.dir || a.so.warc_prefix || (a.workers_set && a.workers > 1))) {
        fprintf(stderr, "tulip-crawl: --redis needs a start URL (for the demo: run tulip-crawl --serve PORT "
                        "and crawl http://127.0.0.1:PORT/), runs on one loop (run more processes instead "
                        "of --workers) and keeps its state in Redis (no --state, --warc)\n");
        return 2;
    }
    if (a.shared.url) { /* the processes are the parallelism */
        a.workers_set = true;
        a.workers = 1;
    }
    if (a.url) {
        /* before anything is opened: a bad URL with --state left a journal
         * the corrected command was refused with ("holds a crawl already") */
        char *canon = NULL;
        int urc = crawl_url_normalize(a.url, &canon);
        free(canon);
        if (urc == -ENOMEM)
            return 1;
        if (urc < 0) {
            fprintf(stderr, "tulip-crawl: '%s' is not an http(s) URL\n", a.url);
            return 1;
        }
    }
    if (a.server_log && !(a.server_log_f = fopen(a.server_log, "w"))) {
        fprintf(stderr, "tulip-crawl: %s: %s\n", a.server_log, strerror(errno));
        return 1;
    }
    int rc;
    if (a.compare) {
        rc = run_compare(&a);
    } else if (a.serve_port >= 0) {
        rc = tulip_run(serve_main, &a);
        if (rc < 0 && rc != -ECANCELED && !a.started)
            fprintf(stderr, "tulip-crawl: cannot start the runtime: %s\n", tulip_strerror(rc));
        rc = rc < 0;
    } else {
        a.demo = !a.url;
        if (a.demo && !a.delay_set)
            a.co.delay_ns = 0; /* our own loopback site: no one to be polite to */
        const crawl_site_config *sc = &a.demo_opts.site;
        bool any_host = a.co.any_host;
        if (a.demo && sc->hosts > 1)
            a.co.any_host = true; /* the site is every host; it links nowhere else */
        /* the model assumes a crawler that retries the 429s */
        a.check = a.demo && !a.co.patterns && !a.co.max_pages && a.co.max_depth < 0 && !a.co.ignore_robots &&
                  !any_host && a.co.max_redirects >= 2 && !a.co.sitemap && (!sc->every_429 || a.co.retries);
        if ((a.so.dir || a.so.resume || a.so.sync || a.so.recrawl) && !a.url) {
            fprintf(stderr, "tulip-crawl: --state needs a start URL (for the demo: run tulip-crawl --serve PORT "
                            "and crawl http://127.0.0.1:PORT/)\n");
            return 2;
        }
        if ((a.so.resume || a.so.sync || a.so.recrawl) && !a.so.dir) {
            fprintf(stderr, "tulip-crawl: --resume, --sync and --recrawl need --state DIR\n");
            return 2;
        }
        if (a.so.dir || a.so.warc_prefix) {
            /* outputs committed page by page (state.h) */
            char serr[512];
            a.so.output = a.output;
            a.so.options = crawl_state_options_line(argc, argv);
            int src = a.so.options ? crawl_state_open(&a.so, &a.state, serr, sizeof serr) : -ENOMEM;
            if (!a.so.options)
                snprintf(serr, sizeof serr, "out of memory");
            free((char *)a.so.options);
            a.so.options = NULL;
            if (src < 0) {
                /* exit 2 for a command to fix, 1 for the system (a path, a
                 * disk, memory), as without --state (CRAWL.md) */
                fprintf(stderr, "tulip-crawl: %s\n", serr);
                return src == -EINVAL || src == -EEXIST || src == -ENODATA || src == -ESTALE ? 2 : 1;
            }
            a.co.state = a.state;
            a.check = a.check && !a.so.resume;
        } else if (a.output) {
            a.out = strcmp(a.output, "-") == 0 ? stdout : fopen(a.output, "w");
            if (!a.out) {
                fprintf(stderr, "tulip-crawl: %s: %s\n", a.output, strerror(errno));
                return 1;
            }
        }
        /* loops: the cores by default, never more than the tasks; the
         * journal and WARC writer (state.c) are one loop's for now */
        if (!a.workers_set) {
            /* the cores this process may run on (taskset), as Go's GOMAXPROCS */
            cpu_set_t set;
            long cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                                   : sysconf(_SC_NPROCESSORS_ONLN);
            a.workers = cores > 1 ? (unsigned)(cores < 1024 ? cores : 1024) : 1;
            if (a.state)
                a.workers = 1;
        } else if (a.state && a.workers > 1) {
            fprintf(stderr, "tulip-crawl: --state and --warc run on one loop for now: drop --workers or "
                            "give --workers 1\n");
            crawl_state_close(a.state);
            return 2;
        }
        if (a.workers > a.co.concurrency)
            a.workers = a.co.concurrency;
        a.co.loops = a.workers;
        if (a.workers > 1) {
            a.sinks = calloc(a.workers, sizeof *a.sinks);
            if (!a.sinks)
                return 1;
        }
        a.tty_progress = a.progress && isatty(2);
        if (a.tty_progress || a.metrics_addr) {
            a.co.on_tick = on_tick;
            a.co.tick_arg = &a;
        }
        a.co.on_row = on_row;
        a.co.row_arg = &a;
        tulip_config cfg;
        tulip_config_init(&cfg);
        if (a.workers > 1)
            cfg.workers = (int)a.workers;
        rc = tulip_run_ex(crawl_main, &a, &cfg);
        if (rc < 0 && rc != -ECANCELED && !a.started) /* e.g. a bad TULIP_BACKEND */
            fprintf(stderr, "tulip-crawl: cannot start the runtime: %s\n", tulip_strerror(rc));
        crawl_state_close(a.state);
        int oe = atomic_load(&a.out_errno);
        if (a.out && a.out != stdout) {
            bool bad = ferror(a.out); /* what wrote past out_write (--redis) */
            if (fclose(a.out) != 0 && !oe)
                oe = errno;
            if (bad && !oe)
                oe = EIO;
        }
        if (oe) {
            fprintf(stderr, "tulip-crawl: %s: %s\n", strcmp(a.output, "-") ? a.output : "stdout", strerror(oe));
            rc = rc < 0 ? rc : -EIO;
        }
        rc = rc < 0 && rc != -ECANCELED ? 1 : rc == -ECANCELED ? 130 : a.server_log_failed;
    }
    for (unsigned i = 0; a.sinks && i < a.workers; i++) {
        crawl_buf_free(&a.sinks[i].line);
        crawl_buf_free(&a.sinks[i].out);
        crawl_found_free(&a.sinks[i].found);
    }
    free(a.sinks);
    crawl_buf_free(&a.line);
    crawl_found_free(&a.found);
    crawl_patterns_free(a.pat);
    return rc;
}
