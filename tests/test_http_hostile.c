/* The client against a deliberately hostile server: a raw-socket task that
 * answers each request with a scripted misbehaviour. Each case asserts only
 * the error the client returns; none may crash, hang or leak. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/socket.h>

#include "test_util.h"
#include "tulip/testing.h"

enum act {
    ACT_CLOSE,       /* write the script, then close */
    ACT_RESET,       /* write the script, then reset (RST) */
    ACT_TRICKLE,     /* write the script one byte per second, then close */
    ACT_HOLD,        /* write the script, then keep the connection open */
};

typedef struct scene {
    const char *script;
    size_t len;      /* 0: strlen(script) */
    enum act act;
} scene;

typedef struct hostile {
    int lfd;
    const scene *sc;
    int conns;
} hostile;

/* Reads one request head (the client sends no bodies here). */
static int read_head(int fd)
{
    char buf[4096];
    size_t n = 0;
    while (n < sizeof buf) {
        ssize_t r = tulip_read(fd, buf + n, sizeof buf - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        if (n >= 4 && memmem(buf, n, "\r\n\r\n", 4))
            return 0;
    }
    return -1;
}

static int hostile_task(void *p)
{
    hostile *h = p;
    for (;;) {
        int fd = tulip_accept(h->lfd, NULL, NULL);
        if (fd < 0)
            return 0;
        h->conns++;
        const scene *sc = h->sc;
        size_t len = sc->len ? sc->len : strlen(sc->script);
        if (read_head(fd) == 0) {
            if (sc->act == ACT_TRICKLE) {
                for (size_t i = 0; i < len; i++)
                    if (tulip_write_all(fd, sc->script + i, 1, NULL) < 0 || tulip_sleep(TULIP_SEC(1)) < 0)
                        break;
            } else {
                tulip_write_all(fd, sc->script, len, NULL);
            }
            if (sc->act == ACT_RESET) {
                struct linger lg = {1, 0};
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            } else if (sc->act == ACT_HOLD) {
                char b[256];
                while (tulip_read(fd, b, sizeof b) > 0) {
                }
            }
        }
        tulip_close(fd);
    }
}

typedef struct tcase {
    const char *name;
    scene sc;
    int want;
} tcase;

static char big_head[40000];
static char many_headers[8000];
static const unsigned char binary_body[] = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\xff\xfe\x00\x01\x80\xc3\x28\x7f";

static int run_case(const tcase *tc, tulip_http_reply **out)
{
    hostile h = {0};
    h.sc = &tc->sc;
    h.lfd = tulip_listen("tcp", "127.0.0.1:0", 8);
    assert_true(h.lfd >= 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", tulip_local_port(h.lfd));
    tulip_task *t = tulip_spawn(hostile_task, &h);
    tulip_http_client_opts o;
    tulip_http_client_opts_init(&o);
    o.timeout = TULIP_SEC(5);
    tulip_http_client *c = tulip_http_client_new(&o);
    assert_non_null(c);
    int rc = tulip_http_get(c, u, out);
    tulip_http_client_stats cs;
    tulip_http_client_stats_get(c, &cs);
    assert_int_equal(cs.open, cs.idle); /* none left busy */
    if (rc < 0 && rc != -ELOOP && rc != -EPROTONOSUPPORT)
        assert_int_equal(cs.open, 0); /* a failed connection is never pooled */
    tulip_http_client_free(c);
    tulip_cancel(t);
    assert_int_equal(tulip_join(t), 0);
    tulip_close(h.lfd);
    return rc;
}

static const tcase cases[] = {
    {"malformed status line", {"HTTP/1.1 2x0 OK\r\n\r\n", 0, ACT_CLOSE}, -EBADMSG},
    {"status out of range", {"HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n", 0, ACT_CLOSE}, -EBADMSG},
    {"not HTTP at all", {"SSH-2.0-OpenSSH_9.6\r\n", 0, ACT_CLOSE}, -EBADMSG},
    {"binary junk", {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 0, ACT_CLOSE}, -EBADMSG},
    {"HTTP/2 preface", {"HTTP/2.0 200 OK\r\n\r\n", 0, ACT_CLOSE}, -EPROTONOSUPPORT},
    {"bare LF", {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", 0, ACT_CLOSE}, -EBADMSG},
    {"obs-fold header", {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", 0, ACT_CLOSE}, -EBADMSG},
    {"oversized headers", {big_head, 0, ACT_HOLD}, -EMSGSIZE},
    {"too many headers", {many_headers, 0, ACT_HOLD}, -EMSGSIZE},
    {"bad content-length", {"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", 0, ACT_CLOSE}, -EBADMSG},
    {"conflicting content-lengths", {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 0, ACT_CLOSE}, -EBADMSG},
    {"CL and chunked",
     {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0, ACT_HOLD},
     -EBADMSG},
    {"truncated chunked body", {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, ACT_CLOSE}, -ENODATA},
    {"chunked without last chunk", {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 0, ACT_CLOSE}, -ENODATA},
    {"bad chunk size", {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 0, ACT_HOLD}, -EBADMSG},
    {"chunk size overflow",
     {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 0, ACT_HOLD}, -EBADMSG},
    {"short content-length body", {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", 0, ACT_CLOSE}, -ENODATA},
    {"reset mid-body", {"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nsome of it", 0, ACT_RESET}, -ECONNRESET},
    {"early close", {"", 0, ACT_CLOSE}, -ECONNRESET},
    {"close mid-head", {"HTTP/1.1 200 OK\r\nContent-Le", 0, ACT_CLOSE}, -EBADMSG},
    {"huge declared body", {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", 0, ACT_HOLD}, -EFBIG},
    {"corrupt gzip",
     {"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n\x1f\x8b\x09garbage", 0, ACT_HOLD},
     -EBADMSG},
    {"upgrade unasked", {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 0, ACT_HOLD}, -EBADMSG},
    {"trickled body", {"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n0123456789", 0, ACT_TRICKLE}, -ETIMEDOUT},
    {"trickled head", {"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 0, ACT_TRICKLE}, -ETIMEDOUT},
    {"endless interim responses",
     {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n", 0, ACT_TRICKLE},
     -ETIMEDOUT},
    {"redirect to another scheme", {"HTTP/1.1 302 Found\r\nLocation: ftp://x/\r\nContent-Length: 0\r\n\r\n", 0, ACT_HOLD},
     -EPROTONOSUPPORT},
    {"redirect to itself", {"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", 0, ACT_HOLD}, -ELOOP},
};

static void init_scripts(void)
{
    /* One 30 KB header: past the default 16 KiB head limit. */
    int n = snprintf(big_head, sizeof big_head, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big_head + n, 'a', 30000);
    strcpy(big_head + n + 30000, "\r\n\r\n");
    n = snprintf(many_headers, sizeof many_headers, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 300; i++)
        n += snprintf(many_headers + n, sizeof many_headers - (size_t)n, "X-%d: v\r\n", i);
    snprintf(many_headers + n, sizeof many_headers - (size_t)n, "\r\n");
}

static int cases_body(void *arg)
{
    (void)arg;
    init_scripts();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tulip_http_reply *r = (tulip_http_reply *)1;
        int rc = run_case(&cases[i], &r);
        if (rc != cases[i].want)
            fail_msg("case \"%s\": got %s, want %s", cases[i].name, tulip_err_name(rc), tulip_err_name(cases[i].want));
        assert_null(r);
    }
    return 0;
}

static void test_hostile_cases(void **state)
{
    (void)state;
    /* Virtual clock: the trickling cases take their 5 s of loop time
     * instantly and deterministically. */
    assert_int_equal(test_run_virtual(cases_body, NULL), 0);
}

/* What is odd but legal is returned as bytes. */
static int benign_body(void *arg)
{
    (void)arg;
    tulip_http_reply *r;
    tcase bin = {"binary body", {(const char *)binary_body, sizeof binary_body - 1, ACT_HOLD}, 0};
    assert_int_equal(run_case(&bin, &r), 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 8);
    assert_memory_equal(r->body, "\xff\xfe\x00\x01\x80\xc3\x28\x7f", 8);
    tulip_http_reply_free(r);

    tcase http10 = {"HTTP/1.0 close-delimited",
                    {"HTTP/1.0 200 OK\r\nX-Latin1: caf\xe9\r\n\r\nno length \xe9\xff", 0, ACT_CLOSE}, 0};
    assert_int_equal(run_case(&http10, &r), 0);
    assert_int_equal(r->minor_version, 0);
    assert_string_equal(r->body, "no length \xe9\xff");
    assert_string_equal(tulip_http_reply_header(r, "x-latin1", NULL), "caf\xe9");
    tulip_http_reply_free(r);

    tcase interim = {"100 then 200",
                     {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, ACT_HOLD}, 0};
    assert_int_equal(run_case(&interim, &r), 0);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "ok");
    tulip_http_reply_free(r);

    tcase noreason = {"no reason phrase", {"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, ACT_HOLD}, 0};
    assert_int_equal(run_case(&noreason, &r), 0);
    assert_int_equal(r->status, 200);
    tulip_http_reply_free(r);

    tcase unknown_enc = {"unknown coding kept",
                         {"HTTP/1.1 200 OK\r\nContent-Encoding: compress\r\nContent-Length: 3\r\n\r\n\x01\x02\x03", 0, ACT_HOLD}, 0};
    assert_int_equal(run_case(&unknown_enc, &r), 0);
    assert_false(r->decoded);
    assert_int_equal(r->body_len, 3);
    tulip_http_reply_free(r);
    return 0;
}

static void test_hostile_benign(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(benign_body, NULL), 0);
}

/* A response with extra bytes after its body is used, but its connection
 * is not reused: those bytes cannot be an answer to anything. */
static int extra_body(void *arg)
{
    (void)arg;
    hostile h = {0};
    scene sc = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK", 0, ACT_HOLD};
    h.sc = &sc;
    h.lfd = tulip_listen("tcp", "127.0.0.1:0", 8);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", tulip_local_port(h.lfd));
    tulip_task *t = tulip_spawn(hostile_task, &h);
    tulip_http_client *c = tulip_http_client_new(NULL);
    for (int i = 0; i < 2; i++) {
        tulip_http_reply *r;
        assert_int_equal(tulip_http_get(c, u, &r), 0);
        assert_string_equal(r->body, "ok");
        tulip_http_reply_free(r);
    }
    assert_int_equal(h.conns, 2);
    tulip_http_client_free(c);
    tulip_cancel(t);
    tulip_join(t);
    tulip_close(h.lfd);
    return 0;
}

static void test_hostile_extra_bytes(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(extra_body, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_cases),
        cmocka_unit_test(test_hostile_benign),
        cmocka_unit_test(test_hostile_extra_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
