#define _GNU_SOURCE
#include "compare.h"
#include "check.h"
#include "crawler.h"
#include "links.h"
#include "raw.h"
#include "robots.h"
#include "scope.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tulip.h>

#define TIMEOUT_MS 30000
#define MAX_BODY ((size_t)10 << 20)

static const char *const names[CRAWL_NMODES] = { "sequential", "threads", "callbacks", "tasks" };

/* ---- what the three baselines share: a FIFO frontier under a mutex ---- */

typedef struct bitem {
    char *url;
    int depth;
    unsigned hops;
} bitem;

typedef struct base {
    const char *ua;
    crawl_scope *scope;
    crawl_robots *robots;
    bitem *q;
    size_t head, tail, cap;
    size_t in_flight;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    crawl_found_set found;
    size_t fetched, errors;
    int fatal;
} base;

static void found(base *b, const char *url, int status, const char *error, int depth)
{
    crawl_row row = { .url = url, .status = status, .error = error, .depth = depth };
    if (crawl_found_add(&b->found, &row) < 0)
        b->fatal = -ENOMEM;
}

/* Caller holds mu (or is the only thread). */
static void offer(base *b, const char *url, int depth, unsigned hops)
{
    int v = crawl_scope_admit(b->scope, url, depth);
    if (v == CRAWL_OFFSITE) {
        found(b, url, 0, "offsite", depth);
        return;
    }
    if (v < 0)
        b->fatal = v;
    if (v != CRAWL_ADMIT)
        return;
    crawl_url_parts p;
    if (crawl_url_split(url, &p) == 0) {
        int ok = crawl_robots_allowed(b->robots, p.target);
        crawl_url_parts_free(&p);
        if (ok == 0) {
            found(b, url, 0, "robots", depth);
            return;
        }
    }
    if (b->tail == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        bitem *q = realloc(b->q, cap * sizeof *q);
        if (!q) {
            b->fatal = -ENOMEM;
            return;
        }
        b->q = q;
        b->cap = cap;
    }
    b->q[b->tail].url = strdup(url);
    if (!b->q[b->tail].url) {
        b->fatal = -ENOMEM;
        return;
    }
    b->q[b->tail].depth = depth;
    b->q[b->tail++].hops = hops;
}

static bool pop(base *b, bitem *it)
{
    if (b->head == b->tail || b->fatal)
        return false;
    *it = b->q[b->head++];
    return true;
}

/* The CPU part of a result, outside the lock: links of an HTML page. */
static void parse(const bitem *it, int rc, const crawl_raw *r, crawl_links *l)
{
    memset(l, 0, sizeof *l);
    if (rc == 0 && r->status == 200 && crawl_is_html(r->content_type)) {
        size_t len = r->body.len < CRAWL_MAX_PARSE ? r->body.len : CRAWL_MAX_PARSE;
        len = crawl_links_cut(r->body.data ? r->body.data : "", len, CRAWL_MAX_TAGS, NULL);
        crawl_links_extract(r->body.data ? r->body.data : "", len, it->url, l);
    }
}

/* The bookkeeping part, under the lock. Frees it->url and l. */
static void commit(base *b, bitem *it, int rc, const crawl_raw *r, crawl_links *l)
{
    b->fetched++;
    if (rc < 0) {
        b->errors++;
    } else {
        found(b, it->url, r->status, NULL, it->depth);
        char *target;
        if (r->status >= 300 && r->status < 400 && r->location &&
            crawl_url_resolve(it->url, r->location, &target) == 0) {
            if (it->hops < 10)
                offer(b, target, it->depth + 1, it->hops + 1);
            free(target);
        }
        for (size_t i = 0; i < l->n; i++)
            offer(b, l->urls[i], it->depth + 1, 0);
    }
    crawl_links_free(l);
    free(it->url);
}

static int base_init(base *b, const char *origin, const char *ua)
{
    memset(b, 0, sizeof *b);
    b->ua = ua;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    char start[128];
    snprintf(start, sizeof start, "%s/", origin);
    crawl_scope_opts so = { .start = start, .max_depth = -1 };
    b->scope = crawl_scope_new(&so);
    if (!b->scope)
        return -errno;
    /* robots.txt first, as the crawler does (RFC 9309 2.3.1) */
    char url[160];
    snprintf(url, sizeof url, "%s/robots.txt", origin);
    crawl_raw r;
    crawl_raw_init(&r, CRAWL_ROBOTS_MAX_BYTES);
    int rc = crawl_raw_get(url, ua, TIMEOUT_MS, &r);
    if (rc == 0 && r.status >= 200 && r.status < 300)
        b->robots = crawl_robots_parse(r.body.data ? r.body.data : "", r.body.len, ua);
    else if (rc == 0 && r.status >= 400 && r.status < 500)
        b->robots = crawl_robots_parse("", 0, ua);
    else
        b->robots = crawl_robots_new_disallow_all();
    crawl_raw_free(&r);
    if (!b->robots)
        return -ENOMEM;
    offer(b, start, 0, 0);
    return b->fatal;
}

static void base_fini(base *b)
{
    for (size_t i = b->head; i < b->tail; i++)
        free(b->q[i].url);
    free(b->q);
    crawl_scope_free(b->scope);
    crawl_robots_free(b->robots);
    crawl_found_free(&b->found);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
}

/* ---- (a) sequential ---------------------------------------------------- */

static int run_sequential(base *b)
{
    bitem it;
    while (pop(b, &it)) {
        crawl_raw r;
        crawl_links l;
        crawl_raw_init(&r, MAX_BODY);
        int rc = crawl_raw_get(it.url, b->ua, TIMEOUT_MS, &r);
        parse(&it, rc, &r, &l);
        commit(b, &it, rc, &r, &l);
        crawl_raw_free(&r);
    }
    return b->fatal;
}

/* ---- (b) a bounded pool of threads, one blocking fetch each at a time -- */

static void *pool_thread(void *arg)
{
    base *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        bitem it;
        while (!pop(b, &it)) {
            if (b->in_flight == 0 || b->fatal) {
                pthread_cond_broadcast(&b->cv);
                pthread_mutex_unlock(&b->mu);
                return NULL;
            }
            pthread_cond_wait(&b->cv, &b->mu);
        }
        b->in_flight++;
        pthread_mutex_unlock(&b->mu);
        crawl_raw r;
        crawl_links l;
        crawl_raw_init(&r, MAX_BODY);
        int rc = crawl_raw_get(it.url, b->ua, TIMEOUT_MS, &r);
        parse(&it, rc, &r, &l);
        pthread_mutex_lock(&b->mu);
        commit(b, &it, rc, &r, &l);
        crawl_raw_free(&r);
        b->in_flight--;
        pthread_cond_broadcast(&b->cv);
    }
}

static int run_threads(base *b, unsigned n)
{
    pthread_t *t = calloc(n, sizeof *t);
    if (!t)
        return -ENOMEM;
    unsigned started = 0;
    for (; started < n; started++)
        if (pthread_create(&t[started], NULL, pool_thread, b) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    return started ? b->fatal : -EAGAIN;
}

/* ---- (c) callbacks on the raw loop: one state machine per connection --- */

typedef struct cbs {
    base *b;
    tulip_loop *loop;
    unsigned max, active;
    struct sockaddr_in addr;
} cbs;

enum { C_CONNECT, C_SEND, C_RECV };

typedef struct conn {
    cbs *s;
    bitem it;
    int fd, state;
    tulip_watch *w;
    tulip_timer *timer;
    crawl_buf req;
    size_t sent;
    crawl_raw raw;
} conn;

static void start_more(cbs *s);

static void finish(conn *c, int rc)
{
    cbs *s = c->s;
    if (c->w)
        tulip_watch_free(c->w);
    if (c->timer)
        tulip_timer_cancel(c->timer);
    if (c->fd >= 0)
        tulip_close(c->fd);
    crawl_links l;
    parse(&c->it, rc, &c->raw, &l);
    commit(s->b, &c->it, rc, &c->raw, &l);
    crawl_raw_free(&c->raw);
    crawl_buf_free(&c->req);
    free(c);
    s->active--;
    start_more(s);
}

static void on_timeout(void *arg)
{
    conn *c = arg;
    c->timer = NULL;
    finish(c, -ETIMEDOUT);
}

static void on_ready(void *arg, int events)
{
    conn *c = arg;
    (void)events;
    if (c->state == C_CONNECT) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            finish(c, -err);
            return;
        }
        c->state = C_SEND;
    }
    if (c->state == C_SEND) {
        while (c->sent < c->req.len) {
            ssize_t n = send(c->fd, c->req.data + c->sent, c->req.len - c->sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n < 0) {
                finish(c, -errno);
                return;
            }
            c->sent += (size_t)n;
        }
        c->state = C_RECV;
        tulip_watch_update(c->w, TULIP_READABLE);
        return;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        int rc = n < 0 ? -errno : n == 0 ? crawl_raw_eof(&c->raw) : crawl_raw_feed(&c->raw, buf, (size_t)n);
        if (rc != 0) {
            finish(c, rc < 0 ? rc : 0);
            return;
        }
    }
}

static int open_conn(cbs *s, bitem *it)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->s = s;
    c->it = *it;
    c->fd = -1;
    crawl_raw_init(&c->raw, MAX_BODY);
    s->active++;
    crawl_url_parts p;
    int rc = crawl_url_split(it->url, &p);
    if (rc == 0) {
        rc = crawl_raw_request(&c->req, p.target, p.authority, s->b->ua);
        crawl_url_parts_free(&p);
    }
    if (rc == 0) {
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        rc = c->fd < 0 ? -errno : 0;
    }
    if (rc == 0) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&s->addr, sizeof s->addr) < 0 && errno != EINPROGRESS)
            rc = -errno;
    }
    if (rc == 0) {
        c->w = tulip_watch_fd(s->loop, c->fd, TULIP_WRITABLE, on_ready, c);
        c->timer = c->w ? tulip_call_later(s->loop, TULIP_MS(TIMEOUT_MS), on_timeout, c) : NULL;
        rc = c->timer ? 0 : -errno;
    }
    if (rc < 0) {
        /* a failure here is a row like any other; finish starts the next */
        finish(c, rc);
    }
    return 0;
}

static void start_more(cbs *s)
{
    bitem it;
    while (s->active < s->max && pop(s->b, &it))
        open_conn(s, &it);
}

static void kick(void *arg) { start_more(arg); }

static int run_callbacks(base *b, unsigned n, int port)
{
    cbs s = { .b = b, .max = n };
    s.addr.sin_family = AF_INET;
    s.addr.sin_port = htons((uint16_t)port);
    s.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s.loop = tulip_loop_new(NULL);
    if (!s.loop)
        return -errno;
    int rc = tulip_call_soon(s.loop, kick, &s) ? tulip_loop_run(s.loop) : -errno;
    tulip_loop_free(s.loop);
    return rc < 0 ? rc : b->fatal;
}

/* ---- (d) tasks: the real crawler ----------------------------------------- */

typedef struct tasks {
    const char *origin, *ua;
    unsigned conc;
    crawl_found_set found;
    crawl_stats st;
    int fatal;
} tasks;

static void task_row(void *arg, const crawl_row *row)
{
    tasks *t = arg;
    if (crawl_found_add(&t->found, row) < 0)
        t->fatal = -ENOMEM;
}

static int tasks_main(void *arg)
{
    tasks *t = arg;
    char start[128];
    snprintf(start, sizeof start, "%s/", t->origin);
    crawl_opts o;
    crawl_opts_init(&o);
    o.delay_ns = 0; /* loopback: no one to be polite to */
    o.url = start;
    o.concurrency = t->conc;
    o.user_agent = t->ua;
    o.on_row = task_row;
    o.row_arg = t;
    int rc = crawl_run(&o, &t->st);
    return rc ? rc : t->fatal;
}

/* ---- measuring ----------------------------------------------------------- */

typedef struct sampler {
    pthread_t thread;
    atomic_bool stop;
    int threads;
    long rss_kb;
} sampler;

static void read_status(int *threads, long *rss_kb, long *hwm_kb)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (threads && strncmp(line, "Threads:", 8) == 0)
            *threads = atoi(line + 8);
        else if (rss_kb && strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = atol(line + 6);
        else if (hwm_kb && strncmp(line, "VmHWM:", 6) == 0)
            *hwm_kb = atol(line + 6);
    }
    fclose(f);
}

static void *sample(void *arg)
{
    sampler *s = arg;
    while (!atomic_load(&s->stop)) {
        int th = 0;
        long rss = 0;
        read_status(&th, &rss, NULL);
        if (th > s->threads)
            s->threads = th;
        if (rss > s->rss_kb)
            s->rss_kb = rss;
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int crawl_compare_mode(enum crawl_mode m, const crawl_site *site, const char *origin, unsigned conc,
                       const char *user_agent, crawl_mode_result *out)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)m >= CRAWL_NMODES || conc == 0)
        return -EINVAL;
    out->name = names[m];
    const char *ua = user_agent ? user_agent : "tulip-crawl/0.1";
    const char *colon = strrchr(origin, ':');
    int port = colon ? atoi(colon + 1) : 80;

    /* VmHWM would keep the previous modes' peak: reset it (Linux >= 4.0). */
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "5", 1) < 0) { /* best effort: the sampler still sees VmRSS */
        }
        close(fd);
    }
    int before = 0;
    read_status(&before, NULL, NULL);
    sampler s = { .threads = before };
    atomic_init(&s.stop, false);
    if (pthread_create(&s.thread, NULL, sample, &s) != 0)
        return -EAGAIN;

    base b;
    tasks t = { .origin = origin, .ua = ua, .conc = conc };
    crawl_found_set *set;
    double t0 = now_s();
    int rc;
    if (m == CRAWL_TASKS) {
        rc = tulip_run(tasks_main, &t);
        set = &t.found;
        out->fetched = t.st.fetched;
        out->errors = t.st.errors;
    } else {
        rc = base_init(&b, origin, ua);
        if (rc == 0)
            rc = m == CRAWL_SEQUENTIAL ? run_sequential(&b)
                 : m == CRAWL_THREADS  ? run_threads(&b, conc)
                                       : run_callbacks(&b, conc, port);
        set = &b.found;
        out->fetched = b.fetched; /* robots.txt not counted, as in the crawler */
        out->errors = b.errors;
    }
    out->seconds = now_s() - t0;
    atomic_store(&s.stop, true);
    pthread_join(s.thread, NULL);
    long hwm = 0;
    read_status(NULL, NULL, &hwm);
    /* The sampler and, when it ran, the demo server are not the mode's. */
    out->peak_threads = s.threads - (before - 1) - 1;
    if (out->peak_threads < 1)
        out->peak_threads = 1;
    out->peak_rss_kb = hwm > s.rss_kb ? hwm : s.rss_kb;
    out->pages_per_s = out->seconds > 0 ? (double)out->fetched / out->seconds : 0;

    if (rc == 0) {
        crawl_site_expect e;
        rc = crawl_site_expected(site, origin, &e);
        if (rc == 0) {
            long d = crawl_check(&e, set, 0, NULL);
            out->mismatches = d;
            crawl_site_expect_free(&e);
            rc = d < 0 ? (int)d : 0;
        }
    }
    if (m == CRAWL_TASKS)
        crawl_found_free(&t.found);
    else
        base_fini(&b);
    return rc;
}

/* ---- output ----------------------------------------------------------------- */

void crawl_compare_print(FILE *f, const crawl_mode_result *r, size_t n, int color)
{
    fprintf(f, "%-11s %7s %9s %9s %8s %10s  %s\n", "mode", "pages", "seconds", "pages/s", "threads",
            "peak RSS", "same URLs as the model");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%-11s %7zu %9.2f %9.0f %8d %7.1f MB  %s\n", r[i].name, r[i].fetched, r[i].seconds,
                r[i].pages_per_s, r[i].peak_threads, (double)r[i].peak_rss_kb / 1024.0,
                r[i].mismatches ? "NO" : "yes");
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].pages_per_s > max)
            max = r[i].pages_per_s;
    fprintf(f, "\npages/s\n");
    for (size_t i = 0; i < n; i++) {
        int w = max > 0 ? (int)(50.0 * r[i].pages_per_s / max + 0.5) : 0;
        fprintf(f, "%-11s %s", r[i].name, color ? "\033[32m" : "");
        for (int k = 0; k < w; k++)
            fputs(color ? "\u2588" : "#", f);
        fprintf(f, "%s %.0f\n", color ? "\033[0m" : "", r[i].pages_per_s);
    }
}

int crawl_compare_svg(const char *path, const crawl_mode_result *r, size_t n, const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    const int W = 760, left = 110, barw = 460, bh = 34, top = 56;
    int H = top + (int)n * (bh + 14) + 40;
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].pages_per_s > max)
            max = r[i].pages_per_s;
    static const char *const fill[] = { "#b0b0b0", "#e8a33d", "#5b8def", "#2fa84f" };
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"13\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">",
            W, H, left);
    for (const char *p = title; *p; p++) /* escape for XML */
        fputs(*p == '<' ? "&lt;" : *p == '&' ? "&amp;" : *p == '>' ? "&gt;" : (char[]){ *p, 0 }, f);
    fprintf(f, "</text>\n<text x=\"%d\" y=\"42\" fill=\"#555\">pages per second (higher is better)</text>\n",
            left);
    for (size_t i = 0; i < n; i++) {
        int y = top + (int)i * (bh + 14);
        int w = max > 0 ? (int)(barw * r[i].pages_per_s / max) : 0;
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n"
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n"
                "<text x=\"%d\" y=\"%d\">%.0f/s  (%.2f s, %d thread%s, %.1f MB)</text>\n",
                left - 8, y + bh / 2 + 5, r[i].name, left, y, w < 1 ? 1 : w, bh, fill[i % 4],
                left + (w < 1 ? 1 : w) + 6, y + bh / 2 + 5, r[i].pages_per_s, r[i].seconds, r[i].peak_threads,
                r[i].peak_threads == 1 ? "" : "s", (double)r[i].peak_rss_kb / 1024.0);
    }
    fprintf(f, "</svg>\n");
    return fclose(f) ? -errno : 0;
}
