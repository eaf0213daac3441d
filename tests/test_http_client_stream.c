/* Streamed HTTP client bodies (tulip_http_open / stream_read / close):
 * every framing and coding read in small pieces and checked byte for
 * byte, a large body under backpressure, pool reuse, redirects, truncated
 * and reset bodies, cancellation, the per-read timeout on the virtual
 * clock, fault injection. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/socket.h>
#ifdef TULIP_HAVE_ZLIB
#include <zlib.h>
#endif

#include "test_util.h"
#include "tulip/testing.h"

#define BODY_LEN 100000
#define BIG_LEN ((size_t)4 << 20)

static unsigned char pat_at(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) % 251);
}

static char body_pat[BODY_LEN];
static char *gz_body, *zl_body, *raw_body;
static size_t gz_len, zl_len, raw_len;

#ifdef TULIP_HAVE_ZLIB
/* wbits: 31 gzip, 15 zlib ("deflate" as the RFC says), -15 raw deflate. */
static char *compress_pat(int wbits, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, BODY_LEN);
    char *out = malloc(cap);
    z.next_in = (Bytef *)body_pat;
    z.avail_in = BODY_LEN;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}
#endif

/* ---- the library's server -------------------------------------------------- */

typedef struct srv_state {
    size_t big_written;     /* bytes of /big handed to the kernel so far */
    tulip_event stalled;    /* /stall sent its head */
} srv_state;

static srv_state ss;

static bool path_is(const tulip_http_request_view *r, const char *p)
{
    return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

/* The pattern written in uneven pieces, so reads and writes never line up. */
static int stream_pat(tulip_http_responder *res, const tulip_http_header *h, size_t nh, const char *b,
                      size_t len, int64_t content_length)
{
    int rc = tulip_http_respond_start(res, 200, h, nh, content_length, 0);
    if (rc < 0)
        return rc;
    for (size_t off = 0, step = 1; off < len; off += step, step = step * 3 % 9001 + 1) {
        if (step > len - off)
            step = len - off;
        ssize_t w = tulip_http_respond_write(res, b + off, step);
        if (w < 0)
            return (int)w;
    }
    return tulip_http_respond_end(res);
}

static int handler(void *arg, const tulip_http_request_view *r, tulip_http_responder *res)
{
    (void)arg;
    if (path_is(r, "/cl"))
        return stream_pat(res, NULL, 0, body_pat, BODY_LEN, BODY_LEN);
    if (path_is(r, "/chunked"))
        return stream_pat(res, NULL, 0, body_pat, BODY_LEN, -1);
    if (path_is(r, "/close"))
        return tulip_http_respond_ex(res, 200, NULL, 0, body_pat, BODY_LEN, TULIP_HTTP_CLOSE | TULIP_HTTP_NO_LENGTH);
    if (path_is(r, "/gzip")) {
        tulip_http_header h = {"Content-Encoding", 16, "gzip", 4};
        return stream_pat(res, &h, 1, gz_body, gz_len, -1);
    }
    if (path_is(r, "/zlib")) {
        tulip_http_header h = {"Content-Encoding", 16, "deflate", 7};
        return stream_pat(res, &h, 1, zl_body, zl_len, (int64_t)zl_len);
    }
    if (path_is(r, "/raw-deflate")) {
        tulip_http_header h = {"Content-Encoding", 16, "deflate", 7};
        return stream_pat(res, &h, 1, raw_body, raw_len, -1);
    }
    if (path_is(r, "/cutgzip")) {
        tulip_http_header h = {"Content-Encoding", 16, "gzip", 4};
        return tulip_http_respond_ex(res, 200, &h, 1, gz_body, gz_len / 2, 0);
    }
    if (path_is(r, "/small"))
        return tulip_http_respond(res, 200, NULL, "small", 5);
    if (path_is(r, "/empty"))
        return tulip_http_respond(res, 204, NULL, NULL, 0);
    if (path_is(r, "/big")) {
        int rc = tulip_http_respond_start(res, 200, NULL, 0, (int64_t)BIG_LEN, 0);
        static char piece[65536];
        ss.big_written = 0;
        while (rc >= 0 && ss.big_written < BIG_LEN) {
            for (size_t i = 0; i < sizeof piece; i++)
                piece[i] = (char)pat_at(ss.big_written + i);
            ssize_t w = tulip_http_respond_write(res, piece, sizeof piece);
            if (w < 0)
                return (int)w;
            ss.big_written += sizeof piece;
        }
        return rc < 0 ? rc : tulip_http_respond_end(res);
    }
    if (path_is(r, "/stall")) {
        int rc = tulip_http_respond_start(res, 200, NULL, 0, -1, 0);
        if (rc >= 0)
            rc = (int)tulip_http_respond_write(res, "ab", 2);
        tulip_event_set(&ss.stalled);
        if (rc >= 0)
            rc = tulip_sleep(TULIP_SEC(3600));
        return rc < 0 ? rc : tulip_http_respond_end(res);
    }
    if (path_is(r, "/drip")) {
        /* A byte every 1.5 s: slower in all than the client's 2 s timeout,
         * never idle that long. */
        int rc = tulip_http_respond_start(res, 200, NULL, 0, 4, 0);
        for (int i = 0; i < 4 && rc >= 0; i++) {
            if ((rc = tulip_sleep(TULIP_MS(1500))) >= 0)
                rc = (int)tulip_http_respond_write(res, &"wxyz"[i], 1);
        }
        return rc < 0 ? rc : tulip_http_respond_end(res);
    }
    if (r->path_len > 7 && memcmp(r->path, "/redir/", 7) == 0) {
        int n = atoi(r->path + 7);
        if (n == 0)
            return tulip_http_respond(res, 200, NULL, "arrived", 7);
        char to[32];
        snprintf(to, sizeof to, "/redir/%d", n - 1);
        tulip_http_header h = {"Location", 8, to, strlen(to)};
        return tulip_http_respond_ex(res, 302, &h, 1, "moved", 5, 0);
    }
    return tulip_http_respond(res, 404, NULL, "no", 2);
}

typedef struct fx {
    tulip_http_server *srv;
    tulip_task *task;
    char base[64];
    char u[128];
} fx;

static void fx_start(fx *f)
{
    tulip_event_init(&ss.stalled);
    f->srv = tulip_http_server_new(NULL, handler, NULL);
    assert_non_null(f->srv);
    assert_int_equal(tulip_http_server_listen(f->srv, "127.0.0.1:0"), 0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", tulip_http_server_port(f->srv));
    f->task = tulip_spawn(tulip_http_server_task, f->srv);
    assert_non_null(f->task);
}

static void fx_stop(fx *f)
{
    tulip_http_server_shutdown(f->srv);
    assert_int_equal(tulip_join(f->task), 0);
    tulip_http_server_free(f->srv);
}

static const char *url(fx *f, const char *path)
{
    snprintf(f->u, sizeof f->u, "%s%s", f->base, path);
    return f->u;
}

/* A test whose body runs as the main task of a fresh loop. */
#define TASK_TEST(name, body, runner)                                                                  \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        (void)state;                                                                               \
        assert_int_equal(runner(body##_body, NULL), 0);                                            \
    }

static int sget(tulip_http_client *c, const char *u, tulip_http_reader **s)
{
    return tulip_http_open(c, "GET", u, NULL, 0, NULL, 0, s);
}

/* Read the whole body in pieces of piece bytes; returns the length or the
 * error, and the bytes in *out (malloc'd). */
static ssize_t read_all(tulip_http_reader *s, size_t piece, char **out)
{
    size_t cap = 1024, len = 0;
    char *b = malloc(cap);
    for (;;) {
        if (cap - len < piece) {
            cap = cap * 2 + piece;
            b = realloc(b, cap);
        }
        ssize_t n = tulip_http_reader_read(s, b + len, piece);
        if (n < 0) {
            free(b);
            *out = NULL;
            return n;
        }
        if (n == 0)
            break;
        assert_true((size_t)n <= piece);
        len += (size_t)n;
    }
    *out = b;
    return (ssize_t)len;
}

static void expect_pat(tulip_http_client *c, const char *u, size_t piece, bool decoded)
{
    tulip_http_reader *s;
    assert_int_equal(sget(c, u, &s), 0);
    const tulip_http_reply *r = tulip_http_reader_reply(s);
    assert_int_equal(r->status, 200);
    assert_null(r->body);
    assert_int_equal(r->decoded, decoded);
    char *b;
    assert_int_equal(read_all(s, piece, &b), BODY_LEN);
    assert_memory_equal(b, body_pat, BODY_LEN);
    free(b);
    /* The end stays the end. */
    char x;
    assert_int_equal(tulip_http_reader_read(s, &x, 1), 0);
    tulip_http_reader_close(s);
}

/* ---- framings and codings ----------------------------------------------------- */

static int framings_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    static const size_t pieces[] = {1, 7, 4096, 200000};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        expect_pat(c, url(&f, "/cl"), pieces[i], false);
        expect_pat(c, url(&f, "/chunked"), pieces[i], false);
        expect_pat(c, url(&f, "/close"), pieces[i], false);
#ifdef TULIP_HAVE_ZLIB
        expect_pat(c, url(&f, "/gzip"), pieces[i], true);
        expect_pat(c, url(&f, "/zlib"), pieces[i], true);
        expect_pat(c, url(&f, "/raw-deflate"), pieces[i], true);
#endif
    }
    /* No body at all. */
    tulip_http_reader *s;
    char x;
    assert_int_equal(sget(c, url(&f, "/empty"), &s), 0);
    assert_int_equal(tulip_http_reader_reply(s)->status, 204);
    assert_int_equal(tulip_http_reader_read(s, &x, 1), 0);
    tulip_http_reader_close(s);
    assert_int_equal(tulip_http_open(c, "HEAD", url(&f, "/small"), NULL, 0, NULL, 0, &s), 0);
    assert_int_equal(tulip_http_reader_read(s, &x, 1), 0);
    tulip_http_reader_close(s);
#ifdef TULIP_HAVE_ZLIB
    /* A gzip body cut short in a well-framed response is corrupt. */
    assert_int_equal(sget(c, url(&f, "/cutgzip"), &s), 0);
    char *b;
    assert_int_equal(read_all(s, 100, &b), -EBADMSG);
    assert_int_equal(tulip_http_reader_read(s, &x, 1), -EBADMSG);
    tulip_http_reader_close(s);
#endif
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

TASK_TEST(framings, framings, test_run)

/* ---- a large body under backpressure ---------------------------------------------- */

static int big_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reader *s;
    assert_int_equal(sget(c, url(&f, "/big"), &s), 0);
    const tulip_http_reply *r = tulip_http_reader_reply(s);
    size_t got = 0;
    char buf[3000];
    uint64_t most_ahead = 0;
    for (;;) {
        ssize_t n = tulip_http_reader_read(s, buf, sizeof buf);
        assert_true(n >= 0);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != pat_at(got + (size_t)i))
                fail_msg("byte %zu differs", got + (size_t)i);
        got += (size_t)n;
        /* The client takes from the socket only what fits its buffer: the
         * rest waits in the kernel and then in the server's write. */
        uint64_t ahead = r->bytes_in - got; /* the head included */
        if (ahead > most_ahead)
            most_ahead = ahead;
        if (ahead > 65536)
            fail_msg("ahead %llu got %zu", (unsigned long long)ahead, got);
        /* A slow reader: let the server run ahead as far as it can. */
        if (got % 10 == 0)
            for (int k = 0; k < 4; k++)
                tulip_yield();
    }
    assert_int_equal(got, BIG_LEN);
    assert_int_equal(ss.big_written, BIG_LEN);
    assert_true(most_ahead > 0 && r->bytes_in > BIG_LEN);
    tulip_http_reader_close(s);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

TASK_TEST(big_backpressure, big, test_run)

/* ---- pool reuse ----------------------------------------------------------------- */

static int reuse_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_client_stats st;
    tulip_http_reader *s;
    char *b;

    /* Read to the end: the connection serves the next request. */
    assert_int_equal(sget(c, url(&f, "/chunked"), &s), 0);
    assert_false(tulip_http_reader_reply(s)->reused);
    assert_int_equal(read_all(s, 999, &b), BODY_LEN);
    free(b);
    tulip_http_reader_close(s);
    assert_int_equal(tulip_http_client_stats_get(c, &st), 0);
    assert_int_equal(st.idle, 1);
    assert_int_equal(sget(c, url(&f, "/small"), &s), 0);
    assert_true(tulip_http_reader_reply(s)->reused);
    /* Exactly the body's bytes, without the read that says 0: its end is
     * known, so the connection still goes back. */
    char five[5];
    assert_int_equal(tulip_http_reader_read(s, five, 5), 5);
    assert_memory_equal(five, "small", 5);
    tulip_http_reader_close(s);
    assert_int_equal(tulip_http_client_stats_get(c, &st), 0);
    assert_int_equal(st.idle, 1);
    assert_int_equal(st.connections, 1);

    /* The buffered path reuses a connection a stream gave back. */
    tulip_http_reply *r;
    assert_int_equal(tulip_http_get(c, url(&f, "/gzip"), &r), 0);
    assert_true(r->reused);
    assert_int_equal(r->body_len, BODY_LEN);
    assert_memory_equal(r->body, body_pat, BODY_LEN);
    tulip_http_reply_free(r);

    /* Closed early: the connection is dropped, the next request dials. */
    assert_int_equal(sget(c, url(&f, "/cl"), &s), 0);
    assert_true(tulip_http_reader_reply(s)->reused);
    /* The server writes 1 byte, then 4...: a completion-based read may
     * return the first alone. */
    for (size_t got = 0; got < 5;) {
        ssize_t k = tulip_http_reader_read(s, five + got, 5 - got);
        assert_true(k > 0);
        got += (size_t)k;
    }
    tulip_http_reader_close(s);
    assert_int_equal(tulip_http_client_stats_get(c, &st), 0);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.open, 0);
    assert_int_equal(sget(c, url(&f, "/small"), &s), 0);
    assert_false(tulip_http_reader_reply(s)->reused);
    tulip_http_reader_close(s);
    assert_int_equal(tulip_http_client_stats_get(c, &st), 0);
    assert_int_equal(st.connections, 2);

    /* Until-close bodies never go back. */
    assert_int_equal(sget(c, url(&f, "/close"), &s), 0);
    assert_int_equal(read_all(s, 5000, &b), BODY_LEN);
    free(b);
    tulip_http_reader_close(s);
    assert_int_equal(tulip_http_client_stats_get(c, &st), 0);
    assert_int_equal(st.open, 0);

    /* An open stream holds its connection slot. */
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.per_host = 1;
    o.timeout = TULIP_MS(200);
    tulip_http_client *c1 = tulip_http_client_new(&o);
    assert_int_equal(sget(c1, url(&f, "/small"), &s), 0);
    tulip_http_reader *s2;
    assert_int_equal(sget(c1, url(&f, "/small"), &s2), -ETIMEDOUT);
    tulip_http_reader_close(s);
    assert_int_equal(sget(c1, url(&f, "/small"), &s2), 0);
    tulip_http_reader_close(s2);
    tulip_http_client_free(c1);

    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

TASK_TEST(reuse, reuse, test_run_virtual)

/* ---- redirects ----------------------------------------------------------------- */

static int redirects_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reader *s;
    assert_int_equal(sget(c, url(&f, "/redir/3"), &s), 0);
    const tulip_http_reply *r = tulip_http_reader_reply(s);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->redirects, 3);
    assert_string_equal(r->url, url(&f, "/redir/0"));
    assert_null(r->body);
    char b[16];
    assert_int_equal(tulip_http_reader_read(s, b, sizeof b), 7);
    assert_memory_equal(b, "arrived", 7);
    assert_int_equal(tulip_http_reader_read(s, b, sizeof b), 0);
    /* The 3xx bodies were read, so one connection did it all. */
    assert_true(r->reused);
    tulip_http_reader_close(s);
    tulip_http_client_stats st;
    tulip_http_client_stats_get(c, &st);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.requests, 4);
    tulip_http_client_free(c);

    /* Not followed: the 3xx itself is streamed. */
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.max_redirects = 0;
    c = tulip_http_client_new(&o);
    assert_int_equal(sget(c, url(&f, "/redir/1"), &s), 0);
    assert_int_equal(tulip_http_reader_reply(s)->status, 302);
    assert_int_equal(tulip_http_reader_read(s, b, sizeof b), 5);
    assert_memory_equal(b, "moved", 5);
    tulip_http_reader_close(s);
    tulip_http_client_free(c);

    o.max_redirects = 2;
    c = tulip_http_client_new(&o);
    assert_int_equal(sget(c, url(&f, "/redir/3"), &s), -ELOOP);
    assert_null(s);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

TASK_TEST(redirects, redirects, test_run)

/* ---- raw servers: truncated and reset bodies --------------------------------------- */

typedef struct raw_srv {
    int lfd;
    const char *answer;
    bool reset;             /* end with RST instead of FIN */
    tulip_event sent;
    tulip_event go;         /* then close */
} raw_srv;

static int raw_srv_task(void *arg)
{
    raw_srv *rs = arg;
    int fd = tulip_accept(rs->lfd, NULL, NULL);
    if (fd < 0)
        return fd;
    char req[4096];
    size_t len = 0;
    while (len < sizeof req - 1) {
        ssize_t n = tulip_read(fd, req + len, sizeof req - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = 0;
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    tulip_write_all(fd, rs->answer, strlen(rs->answer), NULL);
    tulip_event_set(&rs->sent);
    tulip_event_wait(&rs->go);
    if (rs->reset) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    tulip_close(fd);
    return 0;
}

/* Open a stream on a raw server answering answer, read what is there,
 * let the server end the connection, and return the first error. */
static int raw_case(const char *answer, bool reset, size_t expect_ok)
{
    raw_srv rs = {0};
    rs.answer = answer;
    rs.reset = reset;
    tulip_event_init(&rs.sent);
    tulip_event_init(&rs.go);
    rs.lfd = tulip_listen("tcp", "127.0.0.1:0", 4);
    assert_true(rs.lfd >= 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", tulip_local_port(rs.lfd));
    tulip_task *t = tulip_spawn(raw_srv_task, &rs);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reader *s;
    assert_int_equal(sget(c, u, &s), 0);
    assert_int_equal(tulip_event_wait(&rs.sent), 0);
    char buf[64];
    size_t got = 0;
    ssize_t n;
    /* What was sent is delivered before the end is noticed (a bad chunk
     * fails the bytes decoded with it). */
    while (got < expect_ok && (n = tulip_http_reader_read(s, buf, sizeof buf)) > 0)
        got += (size_t)n;
    assert_int_equal(got, expect_ok);
    tulip_event_set(&rs.go);
    n = tulip_http_reader_read(s, buf, sizeof buf);
    assert_true(n < 0);
    /* Final: the same again. */
    assert_int_equal(tulip_http_reader_read(s, buf, sizeof buf), n);
    tulip_http_reader_close(s);
    tulip_http_client_stats st;
    tulip_http_client_stats_get(c, &st);
    assert_int_equal(st.open, 0);
    tulip_http_client_free(c);
    assert_int_equal(tulip_join(t), 0);
    tulip_close(rs.lfd);
    return (int)n;
}

static int truncated_body(void *arg)
{
    (void)arg;
    assert_int_equal(raw_case("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", false, 10), -ENODATA);
    assert_int_equal(raw_case("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3\r\nfg", false, 7),
                     -ENODATA);
    assert_int_equal(raw_case("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", true, 10), -ECONNRESET);
    assert_int_equal(raw_case("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\nzz\r\n", false, 0),
                     -EBADMSG);
    return 0;
}

TASK_TEST(truncated_and_reset, truncated, test_run)

/* ---- cancellation and timeouts ----------------------------------------------------- */

typedef struct reader {
    tulip_http_reader *s;
    tulip_event parked;
} reader;

static int read_forever(void *arg)
{
    reader *rd = arg;
    char b[16];
    ssize_t n = tulip_http_reader_read(rd->s, b, sizeof b);
    if (n != 2)
        return -EIO;
    tulip_event_set(&rd->parked);
    return (int)tulip_http_reader_read(rd->s, b, sizeof b);
}

static int cancel_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.timeout = TULIP_FOREVER;
    tulip_http_client *c = tulip_http_client_new(&o);
    reader rd;
    tulip_event_init(&rd.parked);
    assert_int_equal(sget(c, url(&f, "/stall"), &rd.s), 0);
    assert_int_equal(tulip_event_wait(&ss.stalled), 0);
    tulip_task *t = tulip_spawn(read_forever, &rd);
    assert_int_equal(tulip_event_wait(&rd.parked), 0);
    tulip_yield();
    tulip_cancel(t);
    assert_int_equal(tulip_join(t), -ECANCELED);
    /* Nothing was lost: a caller's scope, then reading on. */
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_SEC(5));
    char b[4];
    int64_t t0 = tulip_now();
    assert_int_equal(tulip_http_reader_read(rd.s, b, sizeof b), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    assert_int_equal(tulip_now() - t0, TULIP_SEC(5));
    tulip_http_reader_close(rd.s);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

TASK_TEST(cancel, cancel, test_run_virtual)

static int timeout_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.timeout = TULIP_SEC(2);
    tulip_http_client *c = tulip_http_client_new(&o);
    tulip_http_reader *s;
    char b[16];

    /* The timeout is per read: 6 s in all, never 2 s without a byte. */
    assert_int_equal(sget(c, url(&f, "/drip"), &s), 0);
    int64_t t0 = tulip_now();
    char *all;
    assert_int_equal(read_all(s, sizeof b, &all), 4);
    assert_memory_equal(all, "wxyz", 4);
    free(all);
    assert_int_equal(tulip_now() - t0, TULIP_MS(6000));
    tulip_http_reader_close(s);

    /* A stalled body: each read gives up after the timeout, and the
     * stream may be read again after. */
    assert_int_equal(sget(c, url(&f, "/stall"), &s), 0);
    assert_int_equal(tulip_http_reader_read(s, b, sizeof b), 2);
    for (int i = 0; i < 2; i++) {
        t0 = tulip_now();
        assert_int_equal(tulip_http_reader_read(s, b, sizeof b), -ETIMEDOUT);
        assert_int_equal(tulip_now() - t0, TULIP_SEC(2));
    }
    tulip_http_reader_close(s);
    tulip_http_client_stats st;
    tulip_http_client_stats_get(c, &st);
    assert_int_equal(st.idle, 0);
    tulip_http_client_free(c);
    fx_stop(&f);
    return 0;
}

TASK_TEST(timeout, timeout, test_run_virtual)

/* ---- bad arguments, faults ------------------------------------------------------- */

static int bad_args_body(void *arg)
{
    (void)arg;
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reader *s = (tulip_http_reader *)1;
    assert_int_equal(tulip_http_open(NULL, "GET", "http://127.0.0.1:1/", NULL, 0, NULL, 0, &s), -EINVAL);
    assert_null(s);
    assert_int_equal(tulip_http_open(c, "GET", "http://127.0.0.1:1/", NULL, 0, NULL, 0, NULL), -EINVAL);
    assert_int_equal(tulip_http_open(c, "GET", "gopher://x/", NULL, 0, NULL, 0, &s), -EPROTONOSUPPORT);
    char b[1];
    assert_int_equal(tulip_http_reader_read(NULL, b, 1), -EINVAL);
    assert_null(tulip_http_reader_reply(NULL));
    tulip_http_reader_close(NULL);
    tulip_http_client_free(c);
    return 0;
}

static void test_bad_args(void **state)
{
    (void)state;
    assert_int_equal(test_run(bad_args_body, NULL), 0);
    tulip_http_client *c = tulip_http_client_new(NULL);
    tulip_http_reader *s;
    assert_int_equal(tulip_http_open(c, "GET", "http://127.0.0.1:1/", NULL, 0, NULL, 0, &s), -EPERM);
    tulip_http_client_free(c);
}

static int faults_body(void *arg)
{
    (void)arg;
    fx f;
    fx_start(&f);
    /* Each allocation of a redirected, compressed stream failing in turn:
     * open or a read fails cleanly, or it all works; no crash, no leak. */
    int ok = 0;
    for (unsigned long nth = 1; nth < 120 && ok < 3; nth++) {
        tulip_http_client *c = tulip_http_client_new(NULL);
        assert_non_null(c);
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        tulip_http_reader *s;
        int rc = sget(c, url(&f, "/redir/1"), &s);
        if (rc == 0) {
            char *b;
            ssize_t n = read_all(s, 512, &b);
            /* The server shares the faults: it may answer 500. */
            bool fine = tulip_http_reader_reply(s)->status == 200;
            if (n >= 0) {
                if (fine) {
                    assert_int_equal(n, 7);
                    assert_memory_equal(b, "arrived", 7);
                    ok++;
                }
                free(b);
            } else {
                assert_true(n == -ENOMEM || n == -ENODATA || n == -ECONNRESET);
            }
            tulip_http_reader_close(s);
        } else {
            assert_null(s);
        }
#ifdef TULIP_HAVE_ZLIB
        rc = sget(c, url(&f, "/gzip"), &s);
        if (rc == 0) {
            char *b;
            ssize_t n = read_all(s, 4096, &b);
            if (n >= 0) {
                if (tulip_http_reader_reply(s)->status == 200) {
                    assert_int_equal(n, BODY_LEN);
                    assert_memory_equal(b, body_pat, BODY_LEN);
                }
                free(b);
            } else {
                assert_true(n == -ENOMEM || n == -ENODATA || n == -ECONNRESET);
            }
            tulip_http_reader_close(s);
        }
#endif
        tulip_fault_reset();
        tulip_http_client_free(c);
    }
    assert_true(ok > 0);
    fx_stop(&f);
    return 0;
}

TASK_TEST(faults, faults, test_run)

int main(void)
{
    for (size_t i = 0; i < BODY_LEN; i++)
        body_pat[i] = (char)pat_at(i);
#ifdef TULIP_HAVE_ZLIB
    gz_body = compress_pat(31, &gz_len);
    zl_body = compress_pat(15, &zl_len);
    raw_body = compress_pat(-15, &raw_len);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framings),
        cmocka_unit_test(test_big_backpressure),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_truncated_and_reset),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_faults),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(gz_body);
    free(zl_body);
    free(raw_body);
    return rc;
}
