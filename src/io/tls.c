/* TLS on OpenSSL as a stream transport. The SSL object never blocks: when
 * it wants the socket readable or writable the task parks on the fd
 * (tulip__wait_fd) and retries, so handshake, read, write and shutdown are
 * ordinary cancellation points. A tiny BIO of our own does the socket I/O
 * so that writes to a closed peer use MSG_NOSIGNAL (-EPIPE, no SIGPIPE)
 * without touching the process's signal dispositions. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tulip/tls.h"
#include "stream_internal.h"
#include "../backend/uring_ops.h"
#include "../common/fault.h"

struct tulip_tls_ctx {
    SSL_CTX *ssl_ctx;
    int server;
};

struct tls {
    SSL *ssl;
    int broken;        /* a fatal error happened: no more I/O, no shutdown */
};

static _Thread_local char last_error[256];

const char *tulip_tls_last_error(void)
{
    return last_error;
}

static void set_error(const char *what)
{
    unsigned long e = ERR_peek_last_error();
    if (e) {
        char buf[200];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(last_error, sizeof last_error, "%s: %s", what, buf);
    } else {
        snprintf(last_error, sizeof last_error, "%s", what);
    }
}

/* ---- the socket BIO ---------------------------------------------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *buf, size_t n, size_t *done)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t r;
    do {
        r = send(fd, buf, n, MSG_NOSIGNAL);
        if (r < 0 && errno == ENOTSOCK)
            r = write(fd, buf, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return 0;
    }
    *done = (size_t)r;
    return 1;
}

static int bio_read(BIO *b, char *buf, size_t n, size_t *done)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    tulip_loop *l = tulip_loop_current();
    if (l) {
        /* On io_uring, a TCP stream's records come from the stash its
         * multishot recv fills: no system call. */
        ssize_t k = tulip__uring_recv_take(l, fd, buf, n);
        if (k != -EOPNOTSUPP) {
            if (k > 0) {
                *done = (size_t)k;
                return 1;
            }
            if (k == 0)
                BIO_set_flags(b, BIO_FLAGS_IN_EOF);
            else if (k == -EAGAIN)
                BIO_set_retry_read(b);
            else
                errno = (int)-k;
            *done = 0;
            return 0;
        }
        /* Elsewhere, bytes a cancelled ring read kept come first. */
        size_t s = tulip__uring_stash_take(l, fd, buf, n);
        if (s) {
            *done = s;
            return 1;
        }
    }
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return 0;
    }
    if (r == 0)
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    *done = (size_t)r;
    return r > 0;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tulip socket");
    if (!m)
        return;
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    bio_method = m;
}

/* ---- contexts ------------------------------------------------------------ */

static tulip_tls_ctx *ctx_wrap(SSL_CTX *c, int server)
{
    tulip_tls_ctx *ctx = tulip__malloc(sizeof *ctx);
    if (!ctx) {
        SSL_CTX_free(c);
        errno = ENOMEM;
        return NULL;
    }
    ctx->ssl_ctx = c;
    ctx->server = server;
    return ctx;
}

static SSL_CTX *ctx_base(const SSL_METHOD *method)
{
    ERR_clear_error();
    SSL_CTX *c = SSL_CTX_new(method);
    if (!c) {
        set_error("SSL_CTX_new");
        errno = EPROTO;
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    /* The write buffer may move (memmove compaction) and grow between a
     * WANT_WRITE and the retry; partial writes let a record go out as
     * soon as it is ready. */
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return c;
}

static int readable(const char *path)
{
    return access(path, R_OK) == 0 ? 0 : errno;
}

tulip_tls_ctx *tulip_tls_client_ctx_new(const tulip_tls_client_opts *opts)
{
    tulip_tls_client_opts none = {0};
    if (!opts)
        opts = &none;
    int err;
    if (opts->ca_file && (err = readable(opts->ca_file))) {
        errno = err;
        return NULL;
    }
    SSL_CTX *c = ctx_base(TLS_client_method());
    if (!c)
        return NULL;
    if (opts->insecure_skip_verify) {
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        if (!opts->no_system_store && SSL_CTX_set_default_verify_paths(c) != 1) {
            set_error("loading the system trust store");
            SSL_CTX_free(c);
            errno = EPROTO;
            return NULL;
        }
    }
    if (opts->ca_file && SSL_CTX_load_verify_locations(c, opts->ca_file, NULL) != 1) {
        set_error(opts->ca_file);
        SSL_CTX_free(c);
        errno = EINVAL;
        return NULL;
    }
    return ctx_wrap(c, 0);
}

tulip_tls_ctx *tulip_tls_server_ctx_new(const char *cert_file, const char *key_file)
{
    if (!cert_file || !key_file) {
        errno = EINVAL;
        return NULL;
    }
    int err;
    if ((err = readable(cert_file)) || (err = readable(key_file))) {
        errno = err;
        return NULL;
    }
    SSL_CTX *c = ctx_base(TLS_server_method());
    if (!c)
        return NULL;
    if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1) {
        set_error("loading the certificate and key");
        SSL_CTX_free(c);
        errno = EINVAL;
        return NULL;
    }
    return ctx_wrap(c, 1);
}

void tulip_tls_ctx_free(tulip_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- I/O ------------------------------------------------------------------ */

/* After an SSL call returned ret <= 0: 0 with *want set to the fd direction
 * to wait for, 1 for a clean end of stream, or a negative errno. */
static int classify(struct tls *t, int ret, int *want)
{
    int saved_errno = errno;
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = TULIP_READABLE;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *want = TULIP_WRITABLE;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return 1;
    case SSL_ERROR_SYSCALL:
        t->broken = 1;
        set_error("socket error");
        return saved_errno ? -saved_errno : -ECONNRESET;
    default: {
        t->broken = 1;
        long v = SSL_get_verify_result(t->ssl);
        unsigned long err = ERR_peek_last_error();
        if (v != X509_V_OK && ERR_GET_LIB(err) == ERR_LIB_SSL &&
            ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            snprintf(last_error, sizeof last_error, "certificate verification failed: %s",
                     X509_verify_cert_error_string(v));
            return -EACCES;
        }
        set_error("TLS error");
        return -EPROTO;
    }
    }
}

/* Wait for the direction OpenSSL asked for. Another task of this stream
 * may wait in the same direction (a reader that must write during a key
 * update while a writer waits): several waiters per fd are fine. */
static int wait_for(int fd, int want)
{
    if (want == TULIP_READABLE) {
        int rc = tulip__uring_recv_wait(tulip__current()->loop, fd);
        if (rc != -EOPNOTSUPP)
            return rc < 0 ? rc : 0;
    }
    int rc = tulip__wait_fd(fd, want, 0);
    return rc < 0 ? rc : 0;
}

static ssize_t tls_read(void *tp, int fd, void *buf, size_t n)
{
    struct tls *t = tp;
    struct tulip__fd *f;
    int rc = tulip__io_enter(fd, &f);
    if (rc < 0)
        return rc;
    if (t->broken)
        return -EPROTO;
    for (;;) {
        size_t got = 0;
        ERR_clear_error();
        errno = 0;
        if (SSL_read_ex(t->ssl, buf, n, &got) == 1)
            return (ssize_t)got;
        int want = 0;
        rc = classify(t, 0, &want);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
        if ((rc = wait_for(fd, want)) < 0)
            return rc;
    }
}

static ssize_t tls_write(void *tp, int fd, const void *buf, size_t n)
{
    struct tls *t = tp;
    struct tulip__fd *f;
    int rc = tulip__io_enter(fd, &f);
    if (rc < 0)
        return rc;
    if (t->broken)
        return -EPROTO;
    for (;;) {
        size_t done = 0;
        ERR_clear_error();
        errno = 0;
        if (SSL_write_ex(t->ssl, buf, n, &done) == 1)
            return (ssize_t)done;
        int want = 0;
        rc = classify(t, 0, &want);
        if (rc == 1)
            return -EPIPE; /* the peer sent close_notify and we may not write */
        if (rc < 0)
            return rc;
        if ((rc = wait_for(fd, want)) < 0)
            return rc;
    }
}

static int tls_shutdown(void *tp, int fd)
{
    struct tls *t = tp;
    struct tulip__fd *f;
    int rc = tulip__io_enter(fd, &f);
    if (rc < 0)
        return rc;
    if (t->broken)
        return -EPROTO;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        /* 0 means our close_notify is out and the peer's has not arrived:
         * the sending direction is closed, which is all shutdown promises. */
        int r = SSL_shutdown(t->ssl);
        if (r >= 0)
            return 0;
        int want = 0;
        rc = classify(t, r, &want);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
        if ((rc = wait_for(fd, want)) < 0)
            return rc;
    }
}

static void tls_close(void *tp, int fd)
{
    (void)fd;
    struct tls *t = tp;
    if (!t)
        return;
    if (!t->broken && SSL_is_init_finished(t->ssl) && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl); /* one try, never parks */
    }
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t);
}

static const struct tulip__stream_ops tls_ops = {
    .read = tls_read,
    .write = tls_write,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .direct_write = 0,
};

static int is_ip_literal(const char *h)
{
    unsigned char a[16];
    return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static tulip_stream *tls_new(int fd, tulip_tls_ctx *ctx, const char *hostname, int server)
{
    last_error[0] = 0;
    if (fd < 0 || !ctx || ctx->server != server) {
        errno = EINVAL;
        return NULL;
    }
    struct tulip__fd *f;
    int rc = tulip__io_enter(fd, &f);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    pthread_once(&bio_once, bio_method_init);
    /* On io_uring our BIO takes a TCP stream's records from its multishot
     * recv; otherwise it reads the socket itself, and a multishot recv left
     * armed by earlier reads (a STARTTLS exchange) would take them. */
    if (!tulip__uring_recv_attach(tulip__current()->loop, fd))
        tulip__uring_recv_detach(tulip__current()->loop, fd);
    struct tls *t = tulip__calloc(1, sizeof *t);
    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    ERR_clear_error();
    BIO *bio = bio_method ? BIO_new(bio_method) : NULL;
    t->ssl = bio ? SSL_new(ctx->ssl_ctx) : NULL;
    if (!t->ssl) {
        BIO_free(bio);
        free(t);
        set_error("SSL_new");
        errno = ENOMEM;
        return NULL;
    }
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, bio, bio);
    rc = 0;
    if (server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (hostname && *hostname) {
            if (!is_ip_literal(hostname) && SSL_set_tlsext_host_name(t->ssl, hostname) != 1)
                rc = -EINVAL;
            if (rc == 0 && SSL_set1_host(t->ssl, hostname) != 1)
                rc = -EINVAL;
            if (rc)
                set_error("bad hostname");
        }
    }
    while (rc == 0) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_do_handshake(t->ssl);
        if (r == 1)
            break;
        int want = 0;
        rc = classify(t, r, &want);
        if (rc == 1) {
            snprintf(last_error, sizeof last_error, "connection closed during the handshake");
            rc = -ECONNRESET;
        } else if (rc == 0) {
            rc = wait_for(fd, want);
        }
    }
    if (rc < 0) {
        t->broken = 1;
        tls_close(t, fd);
        errno = -rc;
        return NULL;
    }
    return tulip__stream_new(fd, TULIP_STREAM_OWN_FD, &tls_ops, t);
}

tulip_stream *tulip_stream_new_tls_client(int fd, tulip_tls_ctx *ctx, const char *hostname)
{
    return tls_new(fd, ctx, hostname, 0);
}

tulip_stream *tulip_stream_new_tls_server(int fd, tulip_tls_ctx *ctx)
{
    return tls_new(fd, ctx, NULL, 1);
}
