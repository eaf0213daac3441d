/* cat_tls: a TLS client. Connects, verifies the server (system trust store
 * unless -k; -c adds a CA file), sends a line made of the remaining
 * arguments (terminated by CRLF) or else all of stdin, and copies the reply
 * to stdout until the server closes.
 *
 *   cat_tls example.org 443 < request.txt
 *   printf 'GET / HTTP/1.0\r\nHost: example.org\r\n\r\n' | cat_tls example.org 443
 *   cat_tls -c ca.pem -t 2000 localhost 8443 hello
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tulip.h"

/* The library drops TLS when built without OpenSSL. */
#if __has_include(<openssl/ssl.h>)

struct args {
    const char *host, *port, *ca_file;
    int insecure;
    int64_t timeout_ms;
    char **words;
    int nwords;
};

/* A non-blocking connect that parks. Name resolution here is the blocking
 * getaddrinfo, acceptable before anything else runs; a program with other
 * tasks should resolve with tulip_dial. */
static int connect_tcp(const char *host, const char *port)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        fprintf(stderr, "cat_tls: %s: %s\n", host, gai_strerror(g));
        return -ENOENT;
    }
    int err = -ENOENT;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = -errno;
        if (err == -EINPROGRESS) {
            int rc = tulip_wait_fd(fd, TULIP_WRITABLE);
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
                freeaddrinfo(res);
                return fd;
            }
            err = rc < 0 ? rc : -soerr;
        }
        tulip_close(fd);
        if (err == -ECANCELED || err == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    return err;
}

static int print_reply(void *arg)
{
    tulip_stream *s = arg;
    char buf[16384];
    ssize_t n;
    while ((n = tulip_stream_read(s, buf, sizeof buf)) > 0)
        if (tulip_write_all(1, buf, (size_t)n, NULL) < 0)
            return -EIO;
    return (int)n;
}

static int send_request(tulip_stream *s, const struct args *a)
{
    ssize_t rc = 0;
    if (a->nwords > 0) {
        for (int i = 0; i < a->nwords && rc >= 0; i++) {
            if (i > 0)
                rc = tulip_stream_write(s, " ", 1);
            if (rc >= 0)
                rc = tulip_stream_write(s, a->words[i], strlen(a->words[i]));
        }
        if (rc >= 0)
            rc = tulip_stream_write(s, "\r\n", 2);
    } else {
        /* fd 0 is not ours: the stream must not close it. */
        tulip_stream *in = tulip_stream_new_fd(0, 0);
        if (!in)
            return -errno;
        char buf[16384];
        ssize_t n;
        while (rc >= 0 && (n = tulip_stream_read(in, buf, sizeof buf)) != 0)
            rc = n < 0 ? n : tulip_stream_write(s, buf, (size_t)n);
        tulip_stream_close(in);
    }
    return rc < 0 ? (int)rc : tulip_stream_flush(s);
}

static int run(void *arg)
{
    struct args *a = arg;
    tulip_scope scope;
    tulip_scope_enter_timeout(&scope, a->timeout_ms > 0 ? TULIP_MS(a->timeout_ms) : TULIP_FOREVER);
    tulip_tls_client_opts opts = {0};
    opts.ca_file = a->ca_file;
    opts.insecure_skip_verify = a->insecure;
    tulip_tls_ctx *ctx = tulip_tls_client_ctx_new(&opts);
    int rc = 0;
    if (!ctx) {
        rc = -errno;
        fprintf(stderr, "cat_tls: TLS setup: %s %s\n", tulip_strerror(rc), tulip_tls_last_error());
        tulip_scope_exit(&scope);
        return rc;
    }
    int fd = connect_tcp(a->host, a->port);
    tulip_stream *s = NULL;
    if (fd < 0) {
        rc = fd;
        fprintf(stderr, "cat_tls: connect %s:%s: %s\n", a->host, a->port, tulip_strerror(rc));
    } else if (!(s = tulip_stream_new_tls_client(fd, ctx, a->host))) {
        rc = -errno;
        fprintf(stderr, "cat_tls: handshake: %s %s\n", tulip_strerror(rc), tulip_tls_last_error());
        tulip_close(fd);
    }
    tulip_tls_ctx_free(ctx);
    tulip_task *reader = NULL;
    if (s) {
        /* Read while sending, so a server that answers early (or a big
         * request) cannot deadlock us. */
        reader = tulip_spawn(print_reply, s);
        rc = reader ? send_request(s, a) : -errno;
        if (rc == 0) {
            rc = tulip_join(reader);
            /* Joined, unless our deadline interrupted the join. */
            if (rc != -ETIMEDOUT && rc != -ECANCELED)
                reader = NULL;
        }
    }
    int sc = tulip_scope_exit(&scope);
    if (reader) {
        /* The reader is another task: our scope does not cover it. Stop
         * it and wait for it before the stream goes away. */
        tulip_cancel(reader);
        tulip_join(reader);
    }
    if (s)
        tulip_stream_close(s);
    if (rc < 0 && s)
        fprintf(stderr, "cat_tls: %s\n", tulip_strerror(rc));
    return rc < 0 ? rc : sc;
}

static void usage(void)
{
    fprintf(stderr, "usage: cat_tls [-k] [-c ca.pem] [-t timeout_ms] host port [words of a line...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct args a = {0};
    int opt;
    while ((opt = getopt(argc, argv, "kc:t:")) != -1) {
        switch (opt) {
        case 'k':
            a.insecure = 1;
            break;
        case 'c':
            a.ca_file = optarg;
            break;
        case 't':
            a.timeout_ms = atoll(optarg);
            break;
        default:
            usage();
        }
    }
    if (argc - optind < 2)
        usage();
    a.host = argv[optind];
    a.port = argv[optind + 1];
    a.words = argv + optind + 2;
    a.nwords = argc - optind - 2;
    int rc = tulip_run(run, &a);
    return rc < 0 ? 1 : 0;
}

#else
int main(void)
{
    fprintf(stderr, "cat_tls: tulip was built without TLS (OpenSSL)\n");
    return 2;
}
#endif
