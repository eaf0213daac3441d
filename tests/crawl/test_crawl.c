/* The crawler against the demo site model (exact URL sets), its limits and
 * filters, robots.txt, and every kind of bad input from a hostile server. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "tulip/pool.h"
#include "crawler.h"
#include "demo.h"
#include "pattern.h"

/* ---- rows collected by a crawl --------------------------------------- */

typedef struct rowv {
    struct rrow { char *url; int status; char *error; int depth; } *v;
    size_t n, cap;
    crawl_found_set found;
} rowv;

static void collect(void *arg, const crawl_row *row)
{
    rowv *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        assert_non_null(r->v);
    }
    r->v[r->n++] = (struct rrow){ strdup(row->url), row->status, row->error ? strdup(row->error) : NULL,
                                  row->depth };
    assert_int_equal(crawl_found_add(&r->found, row), 0);
}

static void rowv_free(rowv *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].url);
        free(r->v[i].error);
    }
    free(r->v);
    crawl_found_free(&r->found);
    memset(r, 0, sizeof *r);
}

/* The row for the URL whose path (after the origin) is path. */
static const struct rrow *row_for(const rowv *r, const char *path)
{
    for (size_t i = 0; i < r->n; i++) {
        const char *u = r->v[i].url;
        const char *p = strstr(u, "://");
        p = p ? strchr(p + 3, '/') : NULL;
        if ((p && strcmp(p, path) == 0) || strcmp(u, path) == 0)
            return &r->v[i];
    }
    return NULL;
}

/* ---- crawl of the demo site, served on the same loop ------------------ */

typedef struct site_case {
    crawl_site_config cfg;
    crawl_opts o;           /* url, on_row filled in */
    int64_t latency;
    rowv rows;
    crawl_stats st;
    int rc;
    char origin[64];
    crawl_site_expect e;
} site_case;

static int site_main(void *arg)
{
    site_case *c = arg;
    crawl_demo_opts d = { .site = c->cfg, .latency_ns = c->latency };
    crawl_demo *demo = crawl_demo_new(&d);
    assert_non_null(demo);
    assert_int_equal(crawl_demo_start(demo), 0);
    snprintf(c->origin, sizeof c->origin, "%s", crawl_demo_origin(demo));
    char url[96];
    snprintf(url, sizeof url, "%s/", c->origin);
    c->o.url = url;
    c->o.on_row = collect;
    c->o.row_arg = &c->rows;
    c->rc = crawl_run(&c->o, &c->st);
    crawl_demo_stop(demo);
    assert_int_equal(crawl_site_expected(crawl_demo_site(demo), c->origin, &c->e), 0);
    crawl_demo_free(demo);
    return 0;
}

static void run_site(site_case *c)
{
    assert_int_equal(test_run(site_main, c), 0);
    assert_int_equal(c->rc, 0);
}

static void site_case_free(site_case *c)
{
    rowv_free(&c->rows);
    crawl_site_expect_free(&c->e);
}

static void test_exact_sets(void **state)
{
    (void)state;
    static const struct { unsigned pages, links; uint64_t seed; unsigned conc; int64_t lat; } cases[] = {
        { 1, 0, 5, 1, 0 },  { 7, 2, 1, 1, 0 },   { 7, 2, 2, 4, 0 },   { 40, 3, 3, 1, 0 },
        { 40, 5, 4, 8, 1000000 }, { 120, 8, 9, 16, 0 }, { 120, 1, 7, 3, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        site_case c = { .cfg = { .pages = cases[i].pages, .links_per_page = cases[i].links,
                                 .seed = cases[i].seed },
                        .latency = cases[i].lat };
        crawl_opts_init(&c.o);
        c.o.delay_ns = 0; /* loopback: no one to be polite to */
        c.o.concurrency = cases[i].conc;
        run_site(&c);
        crawl_buf rep = { 0 };
        /* breadth-first (one worker): depths must match too */
        long d = crawl_check(&c.e, &c.rows.found, cases[i].conc == 1, &rep);
        if (d)
            print_error("case %zu:\n%s", i, rep.data);
        assert_int_equal(d, 0);
        crawl_buf_free(&rep);
        size_t fetched = 0;
        for (size_t k = 0; k < c.e.n; k++)
            fetched += (c.e.v[k].flags & CRAWL_SITE_FETCHED) != 0;
        assert_int_equal(c.st.fetched, fetched);
        assert_int_equal(c.st.errors, 0);
        assert_int_equal(c.st.bad_links, 2); /* the mailto: and javascript: decoys */
        site_case_free(&c);
    }
}

static void test_max_pages(void **state)
{
    (void)state;
    site_case c = { .cfg = { .pages = 60, .links_per_page = 4, .seed = 3 } };
    crawl_opts_init(&c.o);
    c.o.delay_ns = 0; /* loopback: no one to be polite to */
    c.o.concurrency = 4;
    c.o.max_pages = 17;
    run_site(&c);
    assert_int_equal(c.st.fetched + c.st.robots, 17);
    assert_true(c.st.over_limit > 0);
    size_t with_status = 0;
    for (size_t i = 0; i < c.rows.n; i++)
        with_status += c.rows.v[i].status > 0;
    assert_int_equal(with_status, c.st.fetched);
    site_case_free(&c);
}

static void test_max_depth(void **state)
{
    (void)state;
    for (int depth = 0; depth <= 3; depth++) {
        site_case c = { .cfg = { .pages = 50, .links_per_page = 3, .seed = 11 } };
        crawl_opts_init(&c.o);
        c.o.delay_ns = 0; /* loopback: no one to be polite to */
        c.o.concurrency = 1;
        c.o.max_depth = depth;
        run_site(&c);
        /* the model's entries up to that depth, exactly */
        crawl_site_expect cut = { .v = calloc(c.e.n, sizeof *cut.v) };
        for (size_t i = 0; i < c.e.n; i++)
            if (c.e.v[i].depth <= depth)
                cut.v[cut.n++] = c.e.v[i];
        assert_int_equal(crawl_check(&cut, &c.rows.found, 1, NULL), 0);
        free(cut.v);
        site_case_free(&c);
    }
}

static void test_include_exclude(void **state)
{
    (void)state;
    site_case c = { .cfg = { .pages = 40, .links_per_page = 4, .seed = 2 } };
    crawl_opts_init(&c.o);
    c.o.delay_ns = 0; /* loopback: no one to be polite to */
    c.o.concurrency = 4;
    crawl_patterns *p = crawl_patterns_new();
    assert_non_null(p);
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_EXCLUDE, "/(files|missing)/", NULL, 0), 0);
    c.o.patterns = p;
    run_site(&c);
    /* everything the model fetches except the excluded, nothing else */
    size_t want = 0, got = 0;
    for (size_t i = 0; i < c.e.n; i++)
        if ((c.e.v[i].flags & CRAWL_SITE_FETCHED) && !strstr(c.e.v[i].url, "/files/") &&
            !strstr(c.e.v[i].url, "/missing/"))
            want++;
    for (size_t i = 0; i < c.rows.n; i++) {
        assert_null(strstr(c.rows.v[i].url, "/files/"));
        assert_null(strstr(c.rows.v[i].url, "/missing/"));
        got += c.rows.v[i].status > 0;
    }
    assert_int_equal(got, want);
    assert_true(c.st.filtered > 0);
    site_case_free(&c);

    /* include: only the page tree (and the start URL, always) */
    site_case d = { .cfg = { .pages = 40, .links_per_page = 2, .seed = 2 } };
    crawl_opts_init(&d.o);
    d.o.delay_ns = 0; /* loopback: no one to be polite to */
    d.o.concurrency = 2;
    assert_int_equal(crawl_patterns_add(p, CRAWL_PATTERN_INCLUDE, "/s[0-9]/page-[0-9]+\\.html$", NULL, 0), 0);
    d.o.patterns = p;
    run_site(&d);
    size_t pages = 0;
    for (size_t i = 0; i < d.rows.n; i++) {
        if (d.rows.v[i].status <= 0)
            continue;
        assert_true(d.rows.v[i].depth == 0 || strstr(d.rows.v[i].url, "/page-") != NULL);
        pages++;
    }
    assert_int_equal(pages, 40); /* the tree links reach every page */
    site_case_free(&d);
    crawl_patterns_free(p);
}

static void test_robots(void **state)
{
    (void)state;
    /* obeyed: the denied page is a "robots" row, never fetched */
    site_case c = { .cfg = { .pages = 7, .links_per_page = 2, .seed = 0 } };
    crawl_opts_init(&c.o);
    c.o.delay_ns = 0; /* loopback: no one to be polite to */
    run_site(&c);
    const struct rrow *r = row_for(&c.rows, "/private/secret.html");
    assert_non_null(r);
    assert_int_equal(r->status, 0);
    assert_string_equal(r->error, "robots");
    r = row_for(&c.rows, "/private/public.html"); /* re-opened by Allow */
    assert_non_null(r);
    assert_int_equal(r->status, 200);
    assert_int_equal(c.st.robots, 1);
    site_case_free(&c);

    site_case d = { .cfg = { .pages = 7, .links_per_page = 2, .seed = 0 } };
    crawl_opts_init(&d.o);
    d.o.delay_ns = 0; /* loopback: no one to be polite to */
    d.o.ignore_robots = true;
    run_site(&d);
    r = row_for(&d.rows, "/private/secret.html");
    assert_non_null(r);
    assert_true(r->status > 0);
    assert_int_equal(d.st.robots, 0);
    site_case_free(&d);
}

/* ---- a hostile server ------------------------------------------------- */

typedef struct hostile {
    int lfd;
    tulip_group *conns;
} hostile;

static const char INDEX[] =
    "<html><body>"
    "<a href=/bad-status>1</a><a href=/bad-header>2</a><a href=/huge-head>3</a>"
    "<a href=/trunc-chunked>4</a><a href=/trunc-length>5</a><a href=/reset>6</a>"
    "<a href=/trickle>7</a><a href=/binary>8</a><a href=/binary-html>9</a>"
    "<a href=/both-framings>10</a><a href=/early-close>11</a><a href=/too-big>12</a>"
    "<a href=/loop/a>13</a><a href=/chain/0>14</a><a href=/http2>15</a>"
    "<a href='htp://typo.example/'>16</a><a href='/frag#section'>17</a>"
    "<a href='  /with space  '>18</a><a href='ftp://127.0.0.1/x'>19</a>"
    "<a href=/gzip-lie>20</a><a href=/ok>21</a><a href=/big-page>22</a>"
    "</body></html>";

static int put(int fd, const char *s, size_t n)
{
    return tulip_write_all(fd, s, n, NULL) < 0 ? -1 : 0;
}

static int puts_(int fd, const char *s) { return put(fd, s, strlen(s)); }

static void respond_ok(int fd, const char *ctype, const char *body, size_t n)
{
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     ctype, n);
    if (put(fd, head, (size_t)h) == 0)
        put(fd, body, n);
}

static void redirect(int fd, const char *to)
{
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", to);
    put(fd, head, (size_t)h);
}

static int serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[4096];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = tulip_read(fd, req + n, sizeof req - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    char path[1024] = "";
    sscanf(req, "GET %1023s", path);
    if (strcmp(path, "/") == 0) {
        respond_ok(fd, "text/html", INDEX, sizeof INDEX - 1);
    } else if (strcmp(path, "/robots.txt") == 0) {
        puts_(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    } else if (strcmp(path, "/bad-status") == 0) {
        puts_(fd, "HTTP/1.1 2x0 Weird\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/bad-header") == 0) {
        puts_(fd, "HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/huge-head") == 0) {
        puts_(fd, "HTTP/1.1 200 OK\r\n");
        char line[1024];
        memset(line, 'a', sizeof line);
        memcpy(line, "X-Junk: ", 8);
        line[sizeof line - 2] = '\r';
        line[sizeof line - 1] = '\n';
        for (int i = 0; i < 64; i++)
            if (put(fd, line, sizeof line))
                break;
    } else if (strcmp(path, "/trunc-chunked") == 0) {
        puts_(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "10\r\n<a href=/never>x\r\n40\r\nonly a part");
    } else if (strcmp(path, "/trunc-length") == 0) {
        puts_(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\nshort");
    } else if (strcmp(path, "/reset") == 0) {
        puts_(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>");
        struct linger lg = { 1, 0 }; /* close now sends RST */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else if (strcmp(path, "/trickle") == 0) {
        static const char t[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for (size_t i = 0; i < sizeof t - 1; i++)
            if (put(fd, t + i, 1) || tulip_sleep(TULIP_SEC(1)) < 0)
                break;
    } else if (strcmp(path, "/binary") == 0) {
        char b[3000];
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (char)(i * 7919 % 256);
        respond_ok(fd, "application/octet-stream", b, sizeof b);
    } else if (strcmp(path, "/binary-html") == 0) {
        char b[3000];
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (char)(i * 131 % 256);
        memcpy(b + 100, "<a href='/from-binary\xff\xfe'>", 26);
        respond_ok(fd, "text/html; charset=iso-8859-1", b, sizeof b);
    } else if (strcmp(path, "/both-framings") == 0) {
        puts_(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    } else if (strcmp(path, "/early-close") == 0) {
        /* nothing at all */
    } else if (strcmp(path, "/too-big") == 0) {
        size_t len = 2 * CRAWL_INLINE_BYTES; /* over max_body, below */
        char *big = malloc(len);
        assert_non_null(big);
        memset(big, 'x', len);
        respond_ok(fd, "text/plain", big, len);
        free(big);
    } else if (strcmp(path, "/loop/a") == 0) {
        redirect(fd, "/loop/b");
    } else if (strcmp(path, "/loop/b") == 0) {
        redirect(fd, "/loop/a");
    } else if (strncmp(path, "/chain/", 7) == 0) {
        char to[64];
        snprintf(to, sizeof to, "/chain/%d", atoi(path + 7) + 1);
        redirect(fd, to);
    } else if (strcmp(path, "/http2") == 0) {
        puts_(fd, "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/gzip-lie") == 0) {
        puts_(fd, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot gzip!");
    } else if (strcmp(path, "/big-page") == 0) {
        /* Few tags but many bytes: parsed on the thread pool. */
        size_t len = CRAWL_INLINE_BYTES + 4096;
        char *b = malloc(len);
        assert_non_null(b);
        memset(b, 'y', len);
        static const char head[] = "<html><body><a href=/from-big-page>t</a><p>";
        memcpy(b, head, sizeof head - 1);
        respond_ok(fd, "text/html", b, len);
        free(b);
    } else {
        respond_ok(fd, "text/plain", "fine\n", 5);
    }
    tulip_close(fd);
    return 0;
}

static int accept_loop(void *arg)
{
    hostile *h = arg;
    for (;;) {
        int fd = tulip_accept(h->lfd, NULL, NULL);
        if (fd < 0)
            return 0;
        if (tulip_group_spawn(h->conns, serve_conn, (void *)(intptr_t)fd) < 0)
            tulip_close(fd);
    }
}

typedef struct hostile_case {
    rowv rows;
    crawl_stats st;
    int rc;
} hostile_case;

static int hostile_main(void *arg)
{
    hostile_case *c = arg;
    hostile h = { .lfd = tulip_listen("tcp", "127.0.0.1:0", 64) };
    assert_true(h.lfd >= 0);
    h.conns = tulip_group_new();
    assert_non_null(h.conns);
    tulip_task *acc = tulip_spawn(accept_loop, &h);
    assert_non_null(acc);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", tulip_local_port(h.lfd));
    crawl_opts o;
    crawl_opts_init(&o);
    o.delay_ns = 0; /* loopback: no one to be polite to */
    o.url = url;
    o.concurrency = 4;
    o.timeout_ns = TULIP_SEC(5);   /* the trickle needs 40 s: cut */
    o.max_body = CRAWL_INLINE_BYTES + 100000; /* /too-big is over, /big-page not */
    o.max_redirects = 3;
    o.on_row = collect;
    o.row_arg = &c->rows;
    c->rc = crawl_run(&o, &c->st);
    tulip_cancel(acc);
    tulip_join(acc);
    tulip_group_cancel(h.conns);
    tulip_group_wait(h.conns);
    tulip_group_free(h.conns);
    tulip_close(h.lfd);
    return 0;
}

static void expect_row(const rowv *r, const char *path, int status, const char *error)
{
    const struct rrow *row = row_for(r, path);
    if (!row)
        fail_msg("no row for %s", path);
    if (row->status != status || (error == NULL) != (row->error == NULL) ||
        (error && strcmp(error, row->error) != 0))
        fail_msg("%s: got status %d error %s, want %d %s", path, row->status, row->error ? row->error : "null",
                 status, error ? error : "null");
}

static void test_hostile_server(void **state)
{
    (void)state;
    hostile_case c = { 0 };
    tulip_pool_stats before, after;
    assert_int_equal(tulip_pool_stats_get(&before), 0);
    /* virtual clock: the trickle's seconds and the 5 s timeout take no time */
    assert_int_equal(test_run_virtual(hostile_main, &c), 0);
    assert_int_equal(tulip_pool_stats_get(&after), 0);
    /* /big-page (and only it) was parsed off the loop thread */
    assert_int_equal(after.completed - before.completed, 1);
    assert_int_equal(c.rc, 0); /* the crawl itself completed */
    expect_row(&c.rows, "/", 200, NULL);
    expect_row(&c.rows, "/bad-status", 0, "malformed-response");
    expect_row(&c.rows, "/bad-header", 0, "malformed-response");
    expect_row(&c.rows, "/huge-head", 0, "header-too-large");
    expect_row(&c.rows, "/trunc-chunked", 0, "truncated-body");
    expect_row(&c.rows, "/trunc-length", 0, "truncated-body");
    const struct rrow *reset = row_for(&c.rows, "/reset");
    assert_non_null(reset);
    assert_int_equal(reset->status, 0);
    assert_true(strcmp(reset->error, "connection-reset") == 0 || strcmp(reset->error, "truncated-body") == 0);
    expect_row(&c.rows, "/trickle", 0, "timeout");
    expect_row(&c.rows, "/binary", 200, NULL);
    expect_row(&c.rows, "/binary-html", 200, NULL);
    expect_row(&c.rows, "/both-framings", 0, "malformed-response");
    expect_row(&c.rows, "/early-close", 0, "connection-reset");
    expect_row(&c.rows, "/too-big", 0, "body-too-large");
    expect_row(&c.rows, "/loop/a", 302, NULL);   /* the loop ends by dedup */
    expect_row(&c.rows, "/loop/b", 302, NULL);
    expect_row(&c.rows, "/chain/0", 302, NULL);
    expect_row(&c.rows, "/chain/3", 302, NULL);  /* third redirect: followed */
    expect_row(&c.rows, "/chain/4", 0, "too-many-redirects");
    assert_null(row_for(&c.rows, "/chain/5"));
    expect_row(&c.rows, "/http2", 0, "unsupported-protocol");
    expect_row(&c.rows, "/frag", 200, NULL);     /* fragment dropped */
    expect_row(&c.rows, "/with%20space", 200, NULL);
    expect_row(&c.rows, "htp://typo.example/", 0, "unsupported-scheme");
    expect_row(&c.rows, "ftp://127.0.0.1/x", 0, "unsupported-scheme");
    expect_row(&c.rows, "/ok", 200, NULL);
    expect_row(&c.rows, "/big-page", 200, NULL);
    expect_row(&c.rows, "/from-big-page", 200, NULL);
    assert_null(row_for(&c.rows, "/never"));
    const struct rrow *gz = row_for(&c.rows, "/gzip-lie");
    assert_non_null(gz);
    assert_true(gz->status == 200 || strcmp(gz->error, "malformed-response") == 0);
    /* every row is accounted for in the stats */
    size_t errors = 0;
    for (size_t i = 0; i < c.rows.n; i++)
        errors += c.rows.v[i].status == 0 && strcmp(c.rows.v[i].error, "offsite") != 0 &&
                  strcmp(c.rows.v[i].error, "robots") != 0;
    assert_int_equal(errors, c.st.errors + c.st.bad_links);
    assert_int_equal(c.st.bad_links, 2); /* htp: and ftp: */
    rowv_free(&c.rows);
}

static void test_bad_options(void **state)
{
    (void)state;
    crawl_opts o;
    crawl_stats st;
    crawl_opts_init(&o);
    o.delay_ns = 0; /* loopback: no one to be polite to */
    assert_int_equal(crawl_run(&o, &st), -EINVAL); /* no URL */
    o.url = "http://127.0.0.1:1/";
    o.concurrency = 0;
    assert_int_equal(crawl_run(&o, &st), -EINVAL);
    assert_int_equal(crawl_run(NULL, &st), -EINVAL);
    assert_string_equal(crawl_error_kind(-ETIMEDOUT), "timeout");
    assert_string_equal(crawl_error_kind(-EXDEV), "other");
}

typedef struct refused_case {
    bool ignore_robots;
    crawl_stats st;
    rowv rows;
} refused_case;

static int refused_main(void *arg)
{
    refused_case *c = arg;
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 1);
    assert_true(lfd >= 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", tulip_local_port(lfd));
    tulip_close(lfd); /* nobody listens there any more */
    crawl_opts o;
    crawl_opts_init(&o);
    o.delay_ns = 0; /* loopback: no one to be polite to */
    o.url = url;
    o.ignore_robots = c->ignore_robots;
    o.on_row = collect;
    o.row_arg = &c->rows;
    return crawl_run(&o, &c->st);
}

static void test_unreachable_start(void **state)
{
    (void)state;
    refused_case c = { .ignore_robots = true };
    assert_int_equal(test_run(refused_main, &c), 0);
    assert_int_equal(c.st.fetched, 1);
    assert_int_equal(c.st.errors, 1);
    assert_string_equal(c.st.kinds[0].kind, "connection-refused");
    rowv_free(&c.rows);

    /* Obeying robots.txt: its failed fetch is the error row that explains
     * why the start URL is refused. */
    refused_case d = { .ignore_robots = false };
    assert_int_equal(test_run(refused_main, &d), 0);
    assert_int_equal(d.st.fetched, 1);
    assert_int_equal(d.st.errors, 1);
    assert_int_equal(d.st.robots, 1);
    assert_string_equal(d.st.kinds[0].kind, "connection-refused");
    const struct rrow *r = row_for(&d.rows, "/robots.txt");
    assert_non_null(r);
    assert_string_equal(r->error, "connection-refused");
    r = row_for(&d.rows, "/");
    assert_non_null(r);
    assert_string_equal(r->error, "robots");
    rowv_free(&d.rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_sets),
        cmocka_unit_test(test_max_pages),
        cmocka_unit_test(test_max_depth),
        cmocka_unit_test(test_include_exclude),
        cmocka_unit_test(test_robots),
        cmocka_unit_test(test_hostile_server),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_unreachable_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
