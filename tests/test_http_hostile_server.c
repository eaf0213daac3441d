/* The server against hostile clients (issue 12): each attack runs against
 * one server while a well-behaved client asks for a page every 100 ms (a
 * load pattern on tulip timers, not a synchronisation). Asserted: every
 * well-behaved request is answered 200; no attacking connection outlives
 * the bound the configured timeouts give it; the bytes the server holds
 * stay under a bound computed from its limits (and, in the plain build, so
 * does the process's RSS); and the server ends with no connection but the
 * well-behaved one. The clock is virtual (tests/test_util.h): the
 * timeouts take no real time, and they fire in the same order every run.
 * Loopback only; about a second of real time. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include "test_util.h"
#include "tulip/testing.h"

/* Small limits, so the attacks reach them quickly. */
#define MAX_CONNS 32
#define HEADER_TIMEOUT TULIP_SEC(2)
#define IDLE_TIMEOUT TULIP_SEC(3)
#define REQUEST_TIMEOUT TULIP_SEC(4)
#define SEND_TIMEOUT TULIP_SEC(2)
#define MAX_HEAD 4096
#define MAX_BODY (64 * 1024)
#define LINGER TULIP_SEC(1) /* after an error answer (server.c) */
#define POLL TULIP_MS(100)  /* how often an attacker looks for the close */

#define BIG_LEN (256 * 1024)
static char big[BIG_LEN];

typedef struct world {
    tulip_http_server *srv;
    char addr[64];
    char url[96];
    bool attacks_done;
    unsigned good_ok, good_failed;
    unsigned smuggled;               /* requests for /smuggled that reached the handler */
    long rss_base, rss_peak;         /* pages */
} world;

static world W;

static int handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    world *w = arg;
    if (r->path_len == 9 && memcmp(r->path, "/smuggled", 9) == 0)
        w->smuggled++;
    if (r->path_len == 7 && memcmp(r->path, "/upload", 7) == 0) {
        /* Streams the body through a small buffer. */
        char buf[8192];
        size_t total = 0;
        ssize_t n;
        while ((n = tulip_http_request_read(res, buf, sizeof buf)) > 0)
            total += (size_t)n;
        if (n < 0)
            return (int)n;
        char out[32];
        int len = snprintf(out, sizeof out, "%zu", total);
        return tulip_http_respond(res, 200, "text/plain", out, (size_t)len);
    }
    if (r->path_len == 4 && memcmp(r->path, "/big", 4) == 0)
        return tulip_http_respond(res, 200, "application/octet-stream", big, sizeof big);
    if (r->path_len == 5 && memcmp(r->path, "/huge", 5) == 0) {
        /* 64 MiB, streamed: a reader that never reads stops it. */
        int rc = tulip_http_respond_start(res, 200, NULL, 0, (int64_t)64 << 20, 0);
        for (int i = 0; rc >= 0 && i < 256; i++)
            rc = (int)tulip_http_respond_write(res, big, sizeof big);
        return rc < 0 ? rc : tulip_http_respond_end(res);
    }
    return tulip_http_respond(res, 200, "text/plain", "ok", 2);
}

static long rss_pages(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss;
}

/* The well-behaved client: one GET every 100 ms through the HTTP client
 * (keep-alive; a pooled connection the server closed is retried fresh). */
static int good_client(void *arg)
{
    world *w = arg;
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.timeout = TULIP_SEC(2);
    tulip_http_client *c = tulip_http_client_new(&o);
    assert_non_null(c);
    while (!w->attacks_done) {
        tulip_http_reply *r = NULL;
        int rc = tulip_http_get(c, w->url, &r);
        if (rc == 0 && r->status == 200 && r->body_len == 2) {
            w->good_ok++;
        } else {
            w->good_failed++;
            fprintf(stderr, "well-behaved request failed: rc %d status %d\n", rc, r ? r->status : 0);
        }
        tulip_http_reply_free(r);
        long rss = rss_pages();
        if (rss > w->rss_peak)
            w->rss_peak = rss;
        tulip_sleep(TULIP_MS(100));
    }
    tulip_http_client_free(c);
    return 0;
}

/* ---- attacker helpers ------------------------------------------------------ */

static int dial(void)
{
    int fd = tulip_dial("tcp", W.addr);
    if (fd < 0)
        fprintf(stderr, "dial: %s\n", tulip_strerror(fd));
    assert_true(fd >= 0);
    return fd;
}

static void send_str(int fd, const char *s)
{
    (void)tulip_write_all(fd, s, strlen(s), NULL);
}

/* Waits up to ns for the server to close fd, reading and dropping what it
 * sends: true once it closed (EOF or reset). */
static bool closed_within(int fd, int64_t ns)
{
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, ns);
    char buf[4096];
    ssize_t n;
    while ((n = tulip_read(fd, buf, sizeof buf)) > 0) {
    }
    int src = tulip_scope_exit(&sc);
    return !(n < 0 && src == -ETIMEDOUT);
}

/* For a client that never reads: the server has closed fd (FIN or reset)
 * when the kernel says so. */
static bool peer_closed(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE;
}

/* Waits until fd is closed by the server, looking every POLL without
 * reading; returns when, or -1 after limit. */
static int64_t wait_closed_unread(int fd, int64_t limit)
{
    int64_t t0 = tulip_now();
    while (!peer_closed(fd)) {
        if (tulip_now() - t0 > limit)
            return -1;
        tulip_sleep(POLL);
    }
    return tulip_now();
}

/* Reads a response head and returns its status (0: closed first). */
static int read_status(int fd)
{
    char buf[8192];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t r = tulip_read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return 0;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    int status = 0;
    return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

/* A reset instead of a close. */
static void reset(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    tulip_close(fd);
}

/* Many attackers at once: one task each, each returning its connection's
 * lifetime in ns (or -1: it outlived its bound). */
typedef struct attack {
    const char *name;
    tulip_fn fn;
    int count;
    int64_t bound;                   /* no connection may live longer */
} attack;

typedef struct slot {
    const attack *a;
    int64_t life;
} slot;

/* slowloris: a head that never ends, one header line every half second. */
static int slowloris(void *p)
{
    slot *s = p;
    int fd = dial();
    int64_t t0 = tulip_now();
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n");
    s->life = -1;
    for (int i = 0; i < 100; i++) {
        if (closed_within(fd, TULIP_MS(500))) {
            s->life = tulip_now() - t0;
            break;
        }
        send_str(fd, "X-a: b\r\n");
    }
    tulip_close(fd);
    return 0;
}

/* slow body: a complete head, then the body a byte every half second. */
static int slow_body(void *p)
{
    slot *s = p;
    int fd = dial();
    int64_t t0 = tulip_now();
    send_str(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n");
    s->life = -1;
    for (int i = 0; i < 100; i++) {
        if (closed_within(fd, TULIP_MS(500))) {
            s->life = tulip_now() - t0;
            break;
        }
        send_str(fd, "x");
    }
    tulip_close(fd);
    return 0;
}

/* body hoard: all of a max_body body but its last byte, then silence. */
static int body_hoard(void *p)
{
    slot *s = p;
    int fd = dial();
    int64_t t0 = tulip_now();
    char head[128];
    snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", MAX_BODY);
    send_str(fd, head);
    static char body[MAX_BODY];
    memset(body, 'b', sizeof body);
    (void)tulip_write_all(fd, body, sizeof body - 1, NULL);
    s->life = closed_within(fd, s->a->bound * 2) ? tulip_now() - t0 : -1;
    tulip_close(fd);
    return 0;
}

/* The buffered head (issue 12's first finding): a GET and the head of a
 * POST whose body never comes, in one write. */
static int buffered_head(void *p)
{
    slot *s = p;
    int fd = dial();
    int64_t t0 = tulip_now();
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                 "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
    assert_int_equal(read_status(fd), 200);
    s->life = closed_within(fd, s->a->bound * 2) ? tulip_now() - t0 : -1;
    tulip_close(fd);
    return 0;
}

/* header bombs: too many fields, one field too long, a 64 KiB request
 * line: each answered (431, 431, 414) and closed. */
static int header_bomb(void *p)
{
    slot *s = p;
    static char req[70000];
    static const int want[] = {431, 431, 414};
    int64_t worst = 0;
    for (int kind = 0; kind < 3; kind++) {
        size_t n;
        if (kind == 0) {
            n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\n");
            for (int i = 0; i < 200; i++)
                n += (size_t)snprintf(req + n, sizeof req - n, "X-%d: v\r\n", i);
            n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
        } else if (kind == 1) {
            n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nX-big: ");
            memset(req + n, 'a', 2 * MAX_HEAD);
            n += 2 * MAX_HEAD;
            n += (size_t)snprintf(req + n, sizeof req - n, "\r\n\r\n");
        } else {
            n = (size_t)snprintf(req, sizeof req, "GET /");
            memset(req + n, 'a', 65536);
            n += 65536;
            n += (size_t)snprintf(req + n, sizeof req - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
        }
        int fd = dial();
        int64_t t0 = tulip_now();
        (void)tulip_write_all(fd, req, n, NULL);
        assert_int_equal(read_status(fd), want[kind]);
        if (!closed_within(fd, s->a->bound * 2)) {
            worst = -1;
        } else if (worst >= 0 && tulip_now() - t0 > worst) {
            worst = tulip_now() - t0;
        }
        tulip_close(fd);
    }
    s->life = worst;
    return 0;
}

/* unread pipelining: 200 requests for a 256 KiB page in one write, and
 * never a byte read. */
static int unread_pipeline(void *p)
{
    slot *s = p;
    static const char one[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    static char req[200 * (sizeof one - 1)];
    for (int i = 0; i < 200; i++)
        memcpy(req + i * (sizeof one - 1), one, sizeof one - 1);
    int fd = dial();
    int64_t t0 = tulip_now();
    (void)tulip_write_all(fd, req, sizeof req, NULL);
    int64_t t = wait_closed_unread(fd, s->a->bound * 2);
    s->life = t < 0 ? -1 : t - t0;
    reset(fd);
    return 0;
}

/* a reader that never reads: one 64 MiB streamed answer, never taken. */
static int never_reads(void *p)
{
    slot *s = p;
    int fd = dial();
    int64_t t0 = tulip_now();
    send_str(fd, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n");
    int64_t t = wait_closed_unread(fd, s->a->bound * 2);
    s->life = t < 0 ? -1 : t - t0;
    reset(fd);
    return 0;
}

/* idle flood: connections that never send a byte, three times as many as
 * max_connections. */
static int idle_flood(void *p)
{
    slot *s = p;
    int fd = dial();
    int64_t t0 = tulip_now();
    s->life = closed_within(fd, s->a->bound * 2) ? tulip_now() - t0 : -1;
    tulip_close(fd);
    return 0;
}

/* smuggling shapes: ambiguous framing, each followed by a request for
 * /smuggled that a desynchronised server would answer. The server must
 * refuse (or close after) the first request: /smuggled never reaches the
 * handler, and the connection ends. */
typedef struct shape {
    const char *s;
    size_t len;
} shape;
#define SHAPE(x) {x, sizeof x - 1}
static const shape shapes[] = {
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 5\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n"),
    SHAPE("POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff0\r\n"),
    SHAPE("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"),
    SHAPE("GET / HTTP/1.1\r\nHost: x\r\nX-a: b\rX-b: c\r\n\r\n"),
    SHAPE("GET / HTTP/1.1\r\nHost: x\r\nX-a\0: b\r\n\r\n"),
};

static int smuggle(void *p)
{
    slot *s = p;
    int64_t worst = 0;
    char req[512];
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        size_t n = shapes[i].len;
        memcpy(req, shapes[i].s, n);
        static const char tail[] = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
        memcpy(req + n, tail, sizeof tail - 1);
        n += sizeof tail - 1;
        int fd = dial();
        int64_t t0 = tulip_now();
        (void)tulip_write_all(fd, req, n, NULL);
        if (!closed_within(fd, s->a->bound * 2)) {
            fprintf(stderr, "smuggling shape %zu: connection not closed\n", i);
            worst = -1;
        } else if (worst >= 0 && tulip_now() - t0 > worst) {
            worst = tulip_now() - t0;
        }
        tulip_close(fd);
    }
    s->life = worst;
    return 0;
}

/* churn: connect and leave at once, 200 times, half of them with a
 * partial request, a third by reset. */
static int churn(void *p)
{
    slot *s = p;
    for (int i = 0; i < 200; i++) {
        int fd = dial();
        if (i % 2)
            send_str(fd, "GET / HT");
        if (i % 3 == 0)
            reset(fd);
        else
            tulip_close(fd);
    }
    s->life = 0;
    return 0;
}

/* half-close and reset: a request then shutdown(SHUT_WR) is still
 * answered; a partial request, and a request for a large page, reset. */
static int half_close(void *p)
{
    slot *s = p;
    int fd = dial();
    int64_t t0 = tulip_now();
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    tulip_shutdown(fd, SHUT_WR);
    assert_int_equal(read_status(fd), 200);
    bool closed = closed_within(fd, s->a->bound * 2);
    s->life = closed ? tulip_now() - t0 : -1;
    tulip_close(fd);
    fd = dial();
    send_str(fd, "GET / HTTP/1.1\r\nHo");
    reset(fd);
    fd = dial();
    send_str(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    reset(fd);
    return 0;
}

static const attack attacks[] = {
    {"slowloris", slowloris, 8, REQUEST_TIMEOUT},
    {"slow body", slow_body, 8, REQUEST_TIMEOUT},
    {"body hoard", body_hoard, 8, REQUEST_TIMEOUT},
    {"buffered head", buffered_head, 8, REQUEST_TIMEOUT},
    {"header bombs", header_bomb, 4, LINGER},
    {"unread pipelining", unread_pipeline, 2, SEND_TIMEOUT + POLL},
    {"reader that never reads", never_reads, 2, SEND_TIMEOUT + POLL},
    {"idle flood", idle_flood, 3 * MAX_CONNS, HEADER_TIMEOUT},
    {"smuggling", smuggle, 2, LINGER},
    {"churn", churn, 4, 0},
    {"half-close/reset", half_close, 4, LINGER},
};

static tulip_http_server_stats stats(void)
{
    tulip_http_server_stats st;
    assert_int_equal(tulip_http_server_stats_get(W.srv, &st), 0);
    return st;
}

static void run_attack(const attack *a)
{
    tulip_http_server_stats before = stats();
    slot *slots = calloc((size_t)a->count, sizeof *slots);
    assert_non_null(slots);
    tulip_group *g = tulip_group_new();
    assert_non_null(g);
    for (int i = 0; i < a->count; i++) {
        slots[i].a = a;
        assert_int_equal(tulip_group_spawn(g, a->fn, &slots[i]), 0);
    }
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);
    for (int i = 0; i < a->count; i++) {
        if (slots[i].life < 0 || slots[i].life > a->bound)
            fprintf(stderr, "%s: connection %d lived %lld ns, bound %lld\n", a->name, i, (long long)slots[i].life,
                    (long long)a->bound);
        assert_true(slots[i].life >= 0 && slots[i].life <= a->bound);
    }
    free(slots);
    /* The server lets go of every attacking connection: within the
     * longest timeout, only the well-behaved one (if open) is left. */
    int64_t t0 = tulip_now();
    while (stats().active > 1 && tulip_now() - t0 < HEADER_TIMEOUT + REQUEST_TIMEOUT + LINGER)
        tulip_sleep(POLL);
    tulip_http_server_stats st = stats();
    if (st.active > 1)
        fprintf(stderr, "%s: %zu connections still open\n", a->name, st.active);
    assert_true(st.active <= 1);
    if (a->fn == idle_flood)
        assert_true(st.reclaimed - before.reclaimed >= (uint64_t)(a->count - MAX_CONNS));
}

static int hostile_body(void *arg)
{
    (void)arg;
    memset(big, 'z', sizeof big);
    memset(&W, 0, sizeof W);
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    o.max_connections = MAX_CONNS;
    o.header_timeout = HEADER_TIMEOUT;
    o.idle_timeout = IDLE_TIMEOUT;
    o.request_timeout = REQUEST_TIMEOUT;
    o.send_timeout = SEND_TIMEOUT;
    o.max_head = MAX_HEAD;
    o.max_headers = 32;
    o.max_body = MAX_BODY;
    W.srv = tulip_http_server_new(&o, handler, &W);
    assert_non_null(W.srv);
    assert_int_equal(tulip_http_server_listen(W.srv, "127.0.0.1:0"), 0);
    snprintf(W.addr, sizeof W.addr, "127.0.0.1:%d", tulip_http_server_port(W.srv));
    snprintf(W.url, sizeof W.url, "http://%s/", W.addr);
    tulip_task *server = tulip_spawn(tulip_http_server_task, W.srv);
    assert_non_null(server);
    W.rss_base = rss_pages();
    tulip_task *good = tulip_spawn(good_client, &W);
    assert_non_null(good);
    for (size_t i = 0; i < sizeof attacks / sizeof *attacks; i++)
        run_attack(&attacks[i]);
    W.attacks_done = true;
    assert_int_equal(tulip_join(good), 0);
    tulip_http_server_stats st = stats();
    tulip_http_server_shutdown(W.srv);
    assert_int_equal(tulip_join(server), 0);
    tulip_http_server_free(W.srv);

    fprintf(stderr, "well-behaved: %u answered, %u failed; server: %llu connections, %llu requests, "
                    "%llu reclaimed, %llu rejected, %llu timeouts, peak %zu open, peak %zu bytes buffered; "
                    "rss +%ld KiB\n",
            W.good_ok, W.good_failed, (unsigned long long)st.connections, (unsigned long long)st.requests,
            (unsigned long long)st.reclaimed, (unsigned long long)st.rejected, (unsigned long long)st.timeouts,
            st.peak_active, st.peak_buffered, (W.rss_peak - W.rss_base) * (sysconf(_SC_PAGESIZE) / 1024));
    assert_int_equal(W.good_failed, 0);
    assert_true(W.good_ok > 100);
    assert_int_equal(W.smuggled, 0);
    assert_true(st.timeouts > 0);
    /* Connections open at once: max_connections, plus the one a closed
     * idle connection makes room for. */
    assert_true(st.peak_active <= MAX_CONNS + 1);
    /* Bytes held: per connection, a read buffer for one head (doubling
     * growth: under twice max_head plus a read), a response head and a
     * body's room; never a body (they are streamed). */
    size_t per_conn = 2 * (MAX_HEAD + 4096) + 2 * 4096;
    assert_true(st.peak_buffered <= 2 * MAX_CONNS * per_conn);
    /* The process: those buffers, a stack per connection (at most all of
     * it touched), and a fixed allowance for the attackers' own buffers
     * and the allocator. Not measurable under valgrind or sanitizers. */
    const char *scale = getenv("TULIP_TEST_SCALE");
#ifndef TULIP_TEST_SANITIZED
    if (!scale || strcmp(scale, "small") != 0) {
        long bound = (long)((2 * MAX_CONNS * (per_conn + 256 * 1024) + (16 << 20)) / (size_t)sysconf(_SC_PAGESIZE));
        assert_true(W.rss_peak - W.rss_base <= bound);
    }
#else
    (void)scale;
#endif
    return 0;
}

static void test_hostile_clients(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(hostile_body, NULL), 0);
}

/* ---- one finding at a time ---------------------------------------------- */

/* A server with small limits on a fresh port, serving `handler`. */
static tulip_task *start(tulip_http_server_opts *o)
{
    memset(&W, 0, sizeof W);
    W.srv = tulip_http_server_new(o, handler, &W);
    assert_non_null(W.srv);
    assert_int_equal(tulip_http_server_listen(W.srv, "127.0.0.1:0"), 0);
    snprintf(W.addr, sizeof W.addr, "127.0.0.1:%d", tulip_http_server_port(W.srv));
    tulip_task *t = tulip_spawn(tulip_http_server_task, W.srv);
    assert_non_null(t);
    return t;
}

static void stop(tulip_task *t)
{
    tulip_http_server_shutdown(W.srv);
    assert_int_equal(tulip_join(t), 0);
    tulip_http_server_free(W.srv);
}

/* Reads until the peer closes; returns everything received
 * (NUL-terminated, in a static buffer). */
static const char *read_all(int fd)
{
    static char buf[65536];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = tulip_read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return buf;
}

static int expect_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    o.max_body = 1000;
    tulip_task *t = start(&o);
    /* Too large: only 413, no 100 Continue first. */
    int fd = dial();
    send_str(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1001\r\n\r\n");
    const char *got = read_all(fd);
    assert_true(strncmp(got, "HTTP/1.1 413 ", 13) == 0);
    assert_null(strstr(got, "100 Continue"));
    tulip_close(fd);
    /* Within the limit: 100 Continue at the handler's first read, then
     * the answer. */
    fd = dial();
    send_str(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                 "Connection: close\r\n\r\n");
    char b[64];
    ssize_t n = tulip_read(fd, b, sizeof b - 1);
    assert_true(n > 0);
    b[n] = '\0';
    assert_string_equal(b, "HTTP/1.1 100 Continue\r\n\r\n");
    send_str(fd, "hello");
    got = read_all(fd);
    assert_true(strncmp(got, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(got, "\r\n\r\n5"));
    tulip_close(fd);
    stop(t);
    return 0;
}

static void test_expect_too_large(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(expect_body, NULL), 0);
}

static int max_requests_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    o.max_requests = 3;
    tulip_task *t = start(&o);
    int fd = dial();
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *got = read_all(fd);
    /* Three answers, the last one announcing the close; the fourth
     * request is not served. */
    const char *p = got;
    for (int i = 0; i < 3; i++) {
        p = strstr(p, "HTTP/1.1 200 ");
        assert_non_null(p);
        p++;
    }
    assert_null(strstr(p, "HTTP/1.1 "));
    assert_non_null(strstr(got, "Connection: close"));
    assert_int_equal(W.smuggled, 0);
    tulip_close(fd);
    stop(t);
    return 0;
}

static void test_max_requests(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(max_requests_body, NULL), 0);
}

/* A handler that reads the body slowly, a kilobyte every 10 ms. */
static uint64_t slow_sum;
static size_t slow_total;

static int slow_reader(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    (void)r;
    char buf[1024];
    ssize_t n;
    while ((n = tulip_http_request_read(res, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            slow_sum += (unsigned char)buf[i];
        slow_total += (size_t)n;
        tulip_sleep(TULIP_MS(10));
    }
    if (n < 0)
        return (int)n;
    return tulip_http_respond(res, 200, "text/plain", "done", 4);
}

typedef struct upload {
    int fd;
    const char *body;
    size_t len;
} upload;

static int upload_task(void *p)
{
    upload *u = p;
    assert_int_equal(tulip_write_all(u->fd, u->body, u->len, NULL), (ssize_t)u->len);
    return 0;
}

static int stream_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    o.max_body = 4 << 20;
    o.request_timeout = TULIP_SEC(3600);
    memset(&W, 0, sizeof W);
    W.srv = tulip_http_server_new(&o, slow_reader, NULL);
    assert_non_null(W.srv);
    assert_int_equal(tulip_http_server_listen(W.srv, "127.0.0.1:0"), 0);
    snprintf(W.addr, sizeof W.addr, "127.0.0.1:%d", tulip_http_server_port(W.srv));
    tulip_task *t = tulip_spawn(tulip_http_server_task, W.srv);
    static char body[2 << 20];
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof body; i++) {
        body[i] = (char)(i * 7);
        sum += (unsigned char)body[i];
    }
    for (int chunked = 0; chunked < 2; chunked++) {
        slow_sum = 0;
        slow_total = 0;
        int fd = dial();
        char head[128];
        if (chunked) {
            send_str(fd, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
            snprintf(head, sizeof head, "%zx\r\n", sizeof body);
            send_str(fd, head);
        } else {
            snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", sizeof body);
            send_str(fd, head);
        }
        upload u = {fd, body, sizeof body};
        tulip_task *up = tulip_spawn(upload_task, &u);
        assert_int_equal(tulip_join(up), 0);
        if (chunked)
            send_str(fd, "\r\n0\r\n\r\n");
        assert_int_equal(read_status(fd), 200);
        tulip_close(fd);
        assert_int_equal(slow_total, sizeof body);
        assert_true(slow_sum == sum);
    }
    /* 2 MiB went through a handler reading a kilobyte at a time: the
     * server held one read buffer, not the body. */
    tulip_http_server_stats st;
    assert_int_equal(tulip_http_server_stats_get(W.srv, &st), 0);
    assert_true(st.peak_buffered <= 16384);
    stop(t);
    return 0;
}

static void test_streamed_body(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(stream_body, NULL), 0);
}

static int whole_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    o.whole_body = true;
    o.max_body = 100000;
    tulip_task *t = start(&o);
    int fd = dial();
    static char req[100200];
    int n = snprintf(req, sizeof req, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 90000\r\n\r\n");
    memset(req + n, 'w', 90000);
    assert_int_equal(tulip_write_all(fd, req, (size_t)n + 90000, NULL), n + 90000);
    assert_int_equal(read_status(fd), 200);
    /* Held whole while the request was served, given back after, with the
     * connection still open. */
    tulip_http_server_stats st = stats();
    assert_true(st.peak_buffered >= 90000);
    assert_int_equal(st.active, 1);
    assert_true(st.buffered <= 3 * 4096);
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_status(fd), 200);
    tulip_close(fd);
    stop(t);
    return 0;
}

static void test_whole_body_and_shrink(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(whole_body, NULL), 0);
}

static int full_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    o.max_connections = 2;
    tulip_task *t = start(&o);
    /* Two connections busy in a request (not idle): a third gets 503. */
    int a = dial(), b = dial();
    send_str(a, "GET / HTTP/1.1\r\n");
    send_str(b, "GET / HTTP/1.1\r\n");
    while (stats().active < 2)
        tulip_yield();
    int c = dial();
    assert_int_equal(read_status(c), 503);
    assert_true(closed_within(c, TULIP_SEC(1)));
    assert_int_equal(stats().rejected, 1);
    /* One of them finishes and idles: now the newcomer takes its place. */
    send_str(a, "Host: x\r\n\r\n");
    assert_int_equal(read_status(a), 200);
    int d = dial();
    send_str(d, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_status(d), 200);
    assert_true(closed_within(a, TULIP_SEC(1)));
    assert_int_equal(stats().reclaimed, 1);
    tulip_close(a);
    tulip_close(b);
    tulip_close(c);
    tulip_close(d);
    stop(t);
    return 0;
}

static void test_max_connections(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(full_body, NULL), 0);
}

static int emfile_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    tulip_task *t = start(&o);
    /* Out of fds with an idle connection: it is closed to make room. */
    int idle = dial();
    while (stats().active < 1)
        tulip_yield();
    /* The 1st socket call is the dial's, the 2nd the server's accept. */
    tulip_fault_arm(TULIP_FAULT_SOCKET, 2, 0);
    int fd = dial();
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_status(fd), 200);
    assert_true(closed_within(idle, TULIP_SEC(1)));
    assert_int_equal(stats().reclaimed, 1);
    tulip_close(idle);
    tulip_close(fd);
    while (stats().active > 0)
        tulip_yield();
    /* Out of fds with none idle: the newcomer is reset, not left waiting,
     * and the server goes on serving. */
    tulip_fault_arm(TULIP_FAULT_SOCKET, 2, 0);
    fd = tulip_dial("tcp", W.addr); /* the reset may come before the dial returns */
    if (fd >= 0) {
        assert_true(closed_within(fd, TULIP_SEC(1)));
        tulip_close(fd);
    } else {
        assert_int_equal(fd, -ECONNRESET);
    }
    assert_int_equal(stats().rejected, 1);
    fd = dial();
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_status(fd), 200);
    tulip_close(fd);
    tulip_fault_reset();
    stop(t);
    return 0;
}

static void test_out_of_fds(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(emfile_body, NULL), 0);
}

/* ---- a head sent a byte per read ----------------------------------------- */

/* Sends s[0..n) a byte at a time, each read by the server on its own: the
 * next byte goes once the server's head parsing has counted the last one
 * (it counts on every read of a head that came in parts). */
static void send_bytewise(int fd, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t before = tulip_test_http_head_checked(W.srv);
        assert_int_equal(tulip_write_all(fd, s + i, 1, NULL), 1);
        for (int spins = 0; tulip_test_http_head_checked(W.srv) == before; spins++) {
            assert_true(spins < 10000);
            assert_int_equal(tulip_yield(), 0);
        }
    }
}

/* Reads one response (head and Content-Length body); returns its status
 * and copies the body to body[0..cap). */
static int read_response(int fd, char *body, size_t cap)
{
    char buf[4096];
    size_t n = 0;
    const char *end = NULL;
    long len = -1;
    for (;;) {
        buf[n] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strstr(buf, "Content-Length: ");
            assert_non_null(cl);
            len = atol(cl + 16);
            end += 4;
        }
        if (end && n >= (size_t)(end - buf) + (size_t)len)
            break;
        assert_true(n < sizeof buf - 1);
        ssize_t r = tulip_read(fd, buf + n, sizeof buf - 1 - n);
        assert_true(r > 0);
        n += (size_t)r;
    }
    assert_true((size_t)len < cap);
    memcpy(body, end, (size_t)len);
    body[len] = '\0';
    int status = 0;
    return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

/* A slow client sends its head a byte per read: the server checks each
 * byte about once, not the head so far again on every read (a 16 KiB head
 * would cost 134 M byte checks). Then a head that comes whole (checked by
 * the one pass: counts nothing) and a second slow one, chunked, on the
 * same connection: the parser state is made afresh for each head. */
static int slow_head_body(void *arg)
{
    (void)arg;
    tulip_http_server_opts o;
    tulip_http_server_opts_init(&o);
    tulip_task *t = start(&o);
    char head[4096];
    int len = snprintf(head, sizeof head, "GET /slow HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 30; i++)
        len += snprintf(head + len, sizeof head - (size_t)len, "X-Pad-%02d: %0100d\r\n", i, i);
    len += snprintf(head + len, sizeof head - (size_t)len, "\r\n");
    assert_true(len > 3000 && (size_t)len < sizeof head);
    static const char post[] = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    char body[64];
    int fd = dial();

    send_bytewise(fd, head, (size_t)len);
    assert_int_equal(read_response(fd, body, sizeof body), 200);
    assert_string_equal(body, "ok");
    uint64_t first = tulip_test_http_head_checked(W.srv);
    fprintf(stderr, "slow head: %d bytes, a byte per read: %llu bytes checked\n", len, (unsigned long long)first);
    /* The first byte is looked at by the one pass and the parser, every
     * later one by the parser alone. */
    assert_true(first >= (uint64_t)len && first <= 2 * (uint64_t)len);

    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_response(fd, body, sizeof body), 200);
    assert_int_equal(tulip_test_http_head_checked(W.srv), first);

    send_bytewise(fd, post, sizeof post - 1);
    send_str(fd, "5\r\nhello\r\n0\r\n\r\n");
    assert_int_equal(read_response(fd, body, sizeof body), 200);
    assert_string_equal(body, "5");
    uint64_t total = tulip_test_http_head_checked(W.srv);
    assert_true(total - first <= 2 * (sizeof post - 1));
    tulip_close(fd);
    stop(t);
    return 0;
}

static void test_slow_head_linear(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(slow_head_body, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_clients),
        cmocka_unit_test(test_expect_too_large),
        cmocka_unit_test(test_max_requests),
        cmocka_unit_test(test_streamed_body),
        cmocka_unit_test(test_whole_body_and_shrink),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_out_of_fds),
        cmocka_unit_test(test_slow_head_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
