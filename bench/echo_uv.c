/* The libuv echo server the benchmark compares against, written the way
 * libuv's own examples do it, with uv_try_write first so a full socket is
 * the only case that copies. Runs until SIGINT/SIGTERM.
 *
 *   echo_uv port */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct conn {
    uv_tcp_t tcp;
    char buf[16384];
};

struct wreq {
    uv_write_t req;
    uv_buf_t buf;
};

static uv_tcp_t server;
static uv_signal_t sigint, sigterm;

static void on_close(uv_handle_t *h)
{
    free(h);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = (struct conn *)h;
    *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    struct wreq *w = (struct wreq *)req;
    free(w->buf.base);
    free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (n == 0)
        return;
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)n);
    int w = uv_try_write(s, &out, 1);
    if (w == n)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    size_t done = w > 0 ? (size_t)w : 0;
    struct wreq *r = malloc(sizeof *r);
    r->buf = uv_buf_init(malloc((size_t)n - done), (unsigned)((size_t)n - done));
    memcpy(r->buf.base, buf->base + done, (size_t)n - done);
    uv_write(&r->req, s, &r->buf, 1, on_written);
}

static void on_connection(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    struct conn *c = malloc(sizeof *c);
    uv_tcp_init(uv_default_loop(), &c->tcp);
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, on_close);
    }
}

static void on_signal(uv_signal_t *h, int signo)
{
    (void)h;
    (void)signo;
    uv_stop(uv_default_loop());
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 7781;
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_init(loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
    if (rc) {
        fprintf(stderr, "echo_uv: %s\n", uv_strerror(rc));
        return 1;
    }
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
