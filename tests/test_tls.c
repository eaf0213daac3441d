/* TLS streams over socketpairs with a throw-away self-signed certificate
 * made by the test: round trips, verification, deadlines, faults. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_util.h"
#include "tulip/testing.h"

#if __has_include(<openssl/ssl.h>) && __has_include("tulip/tls.h")
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static char dir[64];
static char cert_path[128];
static char key_path[128];

static void add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A P-256 key and a self-signed certificate for localhost / 127.0.0.1,
 * written as PEM into a fresh temporary directory. */
static int make_cert(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/tulip-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);

    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    X509 *x = X509_new();
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);

    FILE *f = fopen(cert_path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    f = fopen(key_path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    return 0;
}

static int remove_cert(void **state)
{
    (void)state;
    unlink(cert_path);
    unlink(key_path);
    rmdir(dir);
    return 0;
}

/* Connected sockets: a Unix pair, or TCP over 127.0.0.1 when pair_tcp (on
 * io_uring TLS then reads its records from the multishot recv). */
static int pair_tcp;

static void pair(int sv[2])
{
    if (!pair_tcp) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        return;
    }
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 4);
    assert_true(lfd >= 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", tulip_local_port(lfd));
    sv[1] = tulip_dial("tcp", addr);
    assert_true(sv[1] >= 0);
    sv[0] = tulip_accept(lfd, NULL, NULL);
    assert_true(sv[0] >= 0);
    tulip_close(lfd);
}

static tulip_tls_ctx *test_client_ctx(void)
{
    tulip_tls_client_opts o = {0};
    o.ca_file = cert_path;
    tulip_tls_ctx *c = tulip_tls_client_ctx_new(&o);
    assert_non_null(c);
    return c;
}

/* ---- the server side ------------------------------------------------------ */

enum { SRV_ECHO, SRV_HANDSHAKE_ONLY };

struct srv {
    int fd;
    tulip_tls_ctx *ctx;
    int mode;
    int err;          /* errno of a failed handshake */
    size_t echoed;
};

static int server_task(void *p)
{
    struct srv *v = p;
    tulip_stream *s = tulip_stream_new_tls_server(v->fd, v->ctx);
    if (!s) {
        v->err = errno;
        tulip_close(v->fd);
        return 0;
    }
    if (v->mode == SRV_ECHO) {
        char line[64];
        ssize_t n = tulip_stream_readline(s, line, sizeof line);
        assert_int_equal(n, 10);
        for (ssize_t i = 0; i < n; i++)
            if (line[i] >= 'a' && line[i] <= 'z')
                line[i] = (char)(line[i] - 'a' + 'A');
        assert_int_equal(tulip_stream_write(s, line, (size_t)n), n);
        assert_int_equal(tulip_stream_flush(s), 0);
        char buf[5000];
        while ((n = tulip_stream_read(s, buf, sizeof buf)) > 0) {
            assert_int_equal(tulip_stream_write(s, buf, (size_t)n), n);
            v->echoed += (size_t)n;
        }
        assert_int_equal(n, 0); /* the client's close_notify */
        assert_int_equal(tulip_stream_shutdown(s), 0);
    } else {
        /* Wait for the client to go away. */
        char b;
        assert_true(tulip_stream_read(s, &b, 1) <= 0);
    }
    assert_int_equal(tulip_stream_close(s), 0);
    return 0;
}

/* ---- round trip ------------------------------------------------------------ */

struct blob {
    tulip_stream *s;
    size_t n;
};

static unsigned char pat(size_t i)
{
    return (unsigned char)(i % 253);
}

static int blob_writer(void *p)
{
    struct blob *b = p;
    unsigned char buf[3000];
    for (size_t off = 0; off < b->n;) {
        size_t k = b->n - off < sizeof buf ? b->n - off : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = pat(off + i);
        assert_int_equal(tulip_stream_write(b->s, buf, k), (ssize_t)k);
        off += k;
    }
    /* Flush, then close_notify: the server sees the end of the data. */
    assert_int_equal(tulip_stream_shutdown(b->s), 0);
    return 0;
}

static void round_trip(const char *hostname)
{
    int sv[2];
    pair(sv);
    tulip_tls_ctx *sctx = tulip_tls_server_ctx_new(cert_path, key_path);
    assert_non_null(sctx);
    tulip_tls_ctx *cctx = test_client_ctx();
    struct srv v = {sv[0], sctx, SRV_ECHO, 0, 0};
    tulip_task *st = tulip_spawn(server_task, &v);

    tulip_stream *c = tulip_stream_new_tls_client(sv[1], cctx, hostname);
    if (!c)
        fail_msg("handshake: %s (%s)", tulip_strerror(-errno), tulip_tls_last_error());
    /* The stream holds its own references: contexts can go now. */
    tulip_tls_ctx_free(cctx);
    tulip_tls_ctx_free(sctx);
    assert_int_equal(tulip_stream_fd(c), sv[1]);
    assert_int_equal(tulip_stream_write(c, "hello tls\n", 10), 10);
    assert_int_equal(tulip_stream_flush(c), 0);
    char line[64];
    assert_int_equal(tulip_stream_readline(c, line, sizeof line), 10);
    assert_memory_equal(line, "HELLO TLS\n", 10);

    /* A bulk echo larger than the socket buffers, written by one task and
     * read back by this one, through many records. */
    struct blob b = {c, test_scale((size_t)1 << 20)};
    if (b.n < 300000)
        b.n = 300000;
    tulip_task *wt = tulip_spawn(blob_writer, &b);
    unsigned char *back = malloc(b.n);
    assert_int_equal(tulip_stream_readexactly(c, back, b.n), (ssize_t)b.n);
    for (size_t i = 0; i < b.n; i++)
        if (back[i] != pat(i))
            fail_msg("byte %zu differs", i);
    free(back);
    assert_int_equal(tulip_join(wt), 0);
    /* The server's close_notify reads as the end of the stream. */
    assert_int_equal(tulip_stream_read(c, line, sizeof line), 0);
    assert_int_equal(tulip_stream_write(c, "x", 1), -ESHUTDOWN);
    assert_int_equal(tulip_stream_close(c), 0);
    assert_int_equal(tulip_join(st), 0);
    assert_int_equal(v.err, 0);
    assert_int_equal(v.echoed, b.n);
}

static int main_round_trip(void *p)
{
    (void)p;
    round_trip("localhost");
    /* An IP literal is checked against the certificate's IP addresses. */
    round_trip("127.0.0.1");
    pair_tcp = 1;
    round_trip("localhost");
    pair_tcp = 0;
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_round_trip, NULL), 0);
}

/* ---- STARTTLS: plaintext, then TLS on the same TCP socket ----------------- */

/* The plaintext is read with tulip_read: on io_uring by the socket's
 * multishot recv, which must let go of the socket (and hand over what it
 * took beyond the plaintext) before the handshake. */
static int starttls_server(void *p)
{
    struct srv *v = p;
    char b[9];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = tulip_read(v->fd, b + got, sizeof b - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_memory_equal(b, "STARTTLS\n", 9);
    return server_task(p);
}

static int main_starttls(void *p)
{
    (void)p;
    int sv[2];
    pair_tcp = 1;
    pair(sv);
    pair_tcp = 0;
    int c = sv[1], sfd = sv[0];
    tulip_tls_ctx *sctx = tulip_tls_server_ctx_new(cert_path, key_path);
    tulip_tls_ctx *cctx = test_client_ctx();
    struct srv v = {sfd, sctx, SRV_ECHO, 0, 0};
    tulip_task *st = tulip_spawn(starttls_server, &v);
    /* The ClientHello follows at once: it may share a segment with it. */
    assert_int_equal(tulip_write(c, "STARTTLS\n", 9), 9);
    tulip_stream *cs = tulip_stream_new_tls_client(c, cctx, "127.0.0.1");
    if (!cs)
        fail_msg("handshake: %s (%s)", tulip_strerror(-errno), tulip_tls_last_error());
    assert_int_equal(tulip_stream_write(cs, "hello tls\n", 10), 10);
    assert_int_equal(tulip_stream_flush(cs), 0);
    char line[64];
    assert_int_equal(tulip_stream_readline(cs, line, sizeof line), 10);
    assert_memory_equal(line, "HELLO TLS\n", 10);
    assert_int_equal(tulip_stream_shutdown(cs), 0);
    assert_int_equal(tulip_stream_read(cs, line, sizeof line), 0);
    assert_int_equal(tulip_stream_close(cs), 0);
    assert_int_equal(tulip_join(st), 0);
    assert_int_equal(v.err, 0);
    tulip_tls_ctx_free(cctx);
    tulip_tls_ctx_free(sctx);
    return 0;
}

static void test_starttls(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_starttls, NULL), 0);
}

/* ---- verification ------------------------------------------------------- */

static char client_msg[256];

/* Handshake with cctx against our server; returns the client's errno (0 on
 * success) and the server's in *server_err. */
static int try_handshake(tulip_tls_ctx *cctx, const char *hostname, int *server_err)
{
    int sv[2];
    pair(sv);
    tulip_tls_ctx *sctx = tulip_tls_server_ctx_new(cert_path, key_path);
    struct srv v = {sv[0], sctx, SRV_HANDSHAKE_ONLY, 0, 0};
    tulip_task *st = tulip_spawn(server_task, &v);
    tulip_stream *c = tulip_stream_new_tls_client(sv[1], cctx, hostname);
    int err = c ? 0 : errno;
    /* Per thread, so read before another task's TLS call can run. */
    snprintf(client_msg, sizeof client_msg, "%s", tulip_tls_last_error());
    if (c)
        assert_int_equal(tulip_stream_close(c), 0);
    else
        assert_int_equal(tulip_close(sv[1]), 0);
    assert_int_equal(tulip_join(st), 0);
    tulip_tls_ctx_free(sctx);
    *server_err = v.err;
    return err;
}

static int main_verify(void *p)
{
    (void)p;
    int serr;
    tulip_tls_ctx *trusting = test_client_ctx();
    assert_int_equal(try_handshake(trusting, "localhost", &serr), 0);
    assert_int_equal(serr, 0);

    /* Right CA, wrong name. */
    assert_int_equal(try_handshake(trusting, "wrong.example", &serr), EACCES);
    assert_non_null(strstr(client_msg, "verification"));
    assert_int_equal(serr, EPROTO); /* the client's alert */
    assert_int_equal(try_handshake(trusting, "10.0.0.1", &serr), EACCES);
    tulip_tls_ctx_free(trusting);

    /* Default context: the system store does not know our certificate. */
    tulip_tls_ctx *dflt = tulip_tls_client_ctx_new(NULL);
    assert_non_null(dflt);
    assert_int_equal(try_handshake(dflt, "localhost", &serr), EACCES);
    tulip_tls_ctx_free(dflt);

    /* Only our CA, no system store: trusted. */
    tulip_tls_client_opts o = {0};
    o.ca_file = cert_path;
    o.no_system_store = 1;
    tulip_tls_ctx *only = tulip_tls_client_ctx_new(&o);
    assert_int_equal(try_handshake(only, "localhost", &serr), 0);
    tulip_tls_ctx_free(only);

    /* Verification disabled explicitly: anything goes. */
    tulip_tls_client_opts insecure = {0};
    insecure.insecure_skip_verify = 1;
    tulip_tls_ctx *any = tulip_tls_client_ctx_new(&insecure);
    assert_int_equal(try_handshake(any, "wrong.example", &serr), 0);
    tulip_tls_ctx_free(any);
    return 0;
}

static void test_verify(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_verify, NULL), 0);
}

/* ---- a peer that never answers ------------------------------------------- */

static int main_handshake_deadline(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_tls_ctx *cctx = test_client_ctx();
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_MS(50));
    assert_null(tulip_stream_new_tls_client(sv[1], cctx, "localhost"));
    assert_int_equal(errno, ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    /* A server waiting for a silent client, cancelled from outside. */
    tulip_tls_ctx *sctx = tulip_tls_server_ctx_new(cert_path, key_path);
    int sv2[2];
    pair(sv2);
    struct srv v = {sv2[0], sctx, SRV_HANDSHAKE_ONLY, 0, 0};
    tulip_task *st = tulip_spawn(server_task, &v);
    assert_int_equal(tulip_sleep(TULIP_MS(5)), 0);
    assert_int_equal(tulip_cancel(st), 0);
    assert_int_equal(tulip_join(st), 0);
    assert_int_equal(v.err, ECANCELED);
    tulip_tls_ctx_free(sctx);
    tulip_tls_ctx_free(cctx);
    assert_int_equal(tulip_close(sv[0]), 0);
    assert_int_equal(tulip_close(sv[1]), 0);
    assert_int_equal(tulip_close(sv2[1]), 0);
    return 0;
}

static void test_handshake_deadline(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_handshake_deadline, NULL), 0);
}

/* ---- contexts and faults --------------------------------------------------- */

static int main_faults(void *p)
{
    (void)p;
    /* Fail each tulip allocation of a client+server handshake in turn,
     * until a run makes it through: every failure is clean (no leak, both
     * sides report an error), and the last run succeeds. */
    tulip_tls_ctx *cctx = test_client_ctx();
    tulip_tls_ctx *sctx = tulip_tls_server_ctx_new(cert_path, key_path);
    for (unsigned long nth = 1;; nth++) {
        int sv[2];
        pair(sv);
        struct srv v = {sv[0], sctx, SRV_HANDSHAKE_ONLY, 0, 0};
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        tulip_task *st = tulip_spawn(server_task, &v);
        tulip_stream *c = st ? tulip_stream_new_tls_client(sv[1], cctx, "localhost") : NULL;
        int err = c ? 0 : errno;
        if (c)
            assert_int_equal(tulip_stream_close(c), 0);
        else
            assert_int_equal(tulip_close(sv[1]), 0);
        if (st)
            assert_int_equal(tulip_join(st), 0);
        else
            assert_int_equal(tulip_close(sv[0]), 0);
        unsigned long calls = tulip_fault_calls(TULIP_FAULT_MALLOC);
        tulip_fault_reset();
        if (calls < nth) {
            assert_int_equal(err, 0);
            assert_int_equal(v.err, 0);
            break;
        }
        /* Some allocations have a fallback; those that fail must fail
         * cleanly with one of these. */
        assert_true(err == 0 || err == ENOMEM || err == ECONNRESET || err == EPIPE);
        assert_true(v.err == 0 || v.err == ENOMEM || v.err == ECONNRESET || v.err == EPIPE || v.err == EPROTO);
        assert_true(nth < 100);
    }
    tulip_tls_ctx_free(cctx);
    tulip_tls_ctx_free(sctx);
    return 0;
}

static void test_faults(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_faults, NULL), 0);

    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_null(tulip_tls_client_ctx_new(NULL));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_null(tulip_tls_server_ctx_new(cert_path, key_path));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_reset();
}

static void test_ctx_errors(void **state)
{
    (void)state;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.pem", dir);
    tulip_tls_client_opts o = {0};
    o.ca_file = missing;
    assert_null(tulip_tls_client_ctx_new(&o));
    assert_int_equal(errno, ENOENT);
    o.ca_file = "/dev/null";
    assert_null(tulip_tls_client_ctx_new(&o));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_tls_server_ctx_new(missing, key_path));
    assert_int_equal(errno, ENOENT);
    assert_null(tulip_tls_server_ctx_new(cert_path, cert_path)); /* not a key */
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_tls_server_ctx_new(NULL, key_path));
    assert_int_equal(errno, EINVAL);
    tulip_tls_ctx_free(NULL);
    /* Outside a task no handshake can park; a server context cannot
     * connect. */
    tulip_tls_ctx *sctx = tulip_tls_server_ctx_new(cert_path, key_path);
    assert_null(tulip_stream_new_tls_client(0, sctx, "x"));
    assert_int_equal(errno, EINVAL);
    tulip_tls_ctx *cctx = test_client_ctx();
    assert_null(tulip_stream_new_tls_client(0, cctx, "x"));
    assert_int_equal(errno, EPERM);
    tulip_tls_ctx_free(cctx);
    tulip_tls_ctx_free(sctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_handshake_deadline),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_ctx_errors),
    };
    return cmocka_run_group_tests(tests, make_cert, remove_cert);
}

#else
static void test_no_tls(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_tls)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
