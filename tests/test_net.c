/* Sockets against real peers on the loopback: TCP v4/v6, UDP, Unix stream
 * and datagram, every I/O call, half-close, peer reset, short reads and
 * writes through small buffers, sendfile, cancellation, dial timeouts,
 * fault injection and 10,000 concurrent connections through an echo
 * server. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "tulip/net.h"
#include "tulip/testing.h"

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* A connected TCP pair through a real listener on addr ("127.0.0.1:0"). */
static int tcp_pair(const char *network, const char *addr, int *client, int *server)
{
    int lfd = tulip_listen(network, addr, 16);
    if (lfd < 0)
        return lfd;
    char where[80];
    int port = tulip_local_port(lfd);
    assert_true(port > 0);
    if (strchr(addr, '['))
        snprintf(where, sizeof where, "[::1]:%d", port);
    else
        snprintf(where, sizeof where, "127.0.0.1:%d", port);
    *client = tulip_dial(network, where);
    assert_true(*client >= 0);
    *server = tulip_accept(lfd, NULL, NULL);
    assert_true(*server >= 0);
    tulip_close(lfd);
    return 0;
}

static void check_nonblock_cloexec(int fd)
{
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* Every stream call across one connection, both ways. */
static void exercise_stream(int a, int b)
{
    char buf[64];
    assert_int_equal(tulip_write(a, "hello", 5), 5);
    assert_int_equal(tulip_read(b, buf, sizeof buf), 5);
    assert_memory_equal(buf, "hello", 5);

    struct iovec out[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}};
    assert_int_equal(tulip_writev(b, out, 3), 6);
    char x[2], y[4];
    struct iovec in[2] = {{x, 2}, {y, 4}};
    assert_int_equal(tulip_readv(a, in, 2), 6);
    assert_memory_equal(x, "ab", 2);
    assert_memory_equal(y, "cdef", 4);

    assert_int_equal(tulip_send(a, "xyz", 3, 0), 3);
    assert_int_equal(tulip_recv(b, buf, 3, MSG_PEEK), 3);
    assert_int_equal(tulip_recv(b, buf, sizeof buf, 0), 3);
    assert_memory_equal(buf, "xyz", 3);

    char m1[] = "msg", m2[8];
    struct iovec iv = {m1, 3};
    struct msghdr mh = {.msg_iov = &iv, .msg_iovlen = 1};
    assert_int_equal(tulip_sendmsg(b, &mh, 0), 3);
    struct iovec iv2 = {m2, sizeof m2};
    struct msghdr mh2 = {.msg_iov = &iv2, .msg_iovlen = 1};
    assert_int_equal(tulip_recvmsg(a, &mh2, 0), 3);
    assert_memory_equal(m2, "msg", 3);

    /* Nothing to read and MSG_DONTWAIT: no parking. */
    assert_int_equal(tulip_recv(a, buf, sizeof buf, MSG_DONTWAIT), -EAGAIN);
}

static int body_tcp4(void *arg)
{
    (void)arg;
    int c, s;
    assert_int_equal(tcp_pair("tcp", "127.0.0.1:0", &c, &s), 0);
    check_nonblock_cloexec(c);
    check_nonblock_cloexec(s);
    exercise_stream(c, s);
    char name[64], peer[64];
    assert_true(tulip_sockname(c, 0, name, sizeof name) > 0);
    assert_true(tulip_sockname(s, 1, peer, sizeof peer) > 0);
    assert_string_equal(name, peer);
    assert_int_equal(strncmp(name, "127.0.0.1:", 10), 0);
    assert_int_equal(tulip_sockname(c, 0, name, 4), -ENOSPC);
    tulip_close(c);
    tulip_close(s);

    /* tcp4 and an accept that reports the peer. */
    int lfd = tulip_listen("tcp4", "127.0.0.1:0", 0);
    assert_true(lfd >= 0);
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", tulip_local_port(lfd));
    c = tulip_dial("tcp4", where);
    assert_true(c >= 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    s = tulip_accept(lfd, (struct sockaddr *)&sa, &len);
    assert_true(s >= 0);
    assert_int_equal(sa.sin_family, AF_INET);
    assert_int_equal(ntohs(sa.sin_port), tulip_local_port(c));
    tulip_close(c);
    tulip_close(s);
    tulip_close(lfd);
    return 0;
}

static void test_tcp4(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_tcp4, NULL), 0);
}

static int body_tcp6(void *arg)
{
    int *skipped = arg;
    int c, s;
    int rc = tcp_pair("tcp6", "[::1]:0", &c, &s);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT || rc == -ENOENT) {
        *skipped = 1;
        return 0;
    }
    assert_int_equal(rc, 0);
    exercise_stream(c, s);
    char name[64];
    assert_true(tulip_sockname(c, 1, name, sizeof name) > 0);
    assert_int_equal(strncmp(name, "[::1]:", 6), 0);
    tulip_close(c);
    tulip_close(s);
    return 0;
}

static void test_tcp6(void **state)
{
    (void)state;
    int skipped = 0;
    assert_int_equal(test_run(body_tcp6, &skipped), 0);
    if (skipped)
        skip();
}

static int body_udp(void *arg)
{
    (void)arg;
    int srv = tulip_listen("udp", "127.0.0.1:0", 0);
    assert_true(srv >= 0);
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", tulip_local_port(srv));
    int c = tulip_dial("udp", where);
    assert_true(c >= 0);
    assert_int_equal(tulip_send(c, "ping", 4, 0), 4);
    char buf[16];
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    assert_int_equal(tulip_recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(tulip_sendto(srv, "pong!", 5, 0, (struct sockaddr *)&from, flen), 5);
    assert_int_equal(tulip_recv(c, buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "pong!", 5);
    /* Datagram boundaries hold: two sends, two receives. */
    assert_int_equal(tulip_send(c, "a", 1, 0), 1);
    assert_int_equal(tulip_send(c, "bc", 2, 0), 2);
    assert_int_equal(tulip_recv(srv, buf, sizeof buf, 0), 1);
    assert_int_equal(tulip_recv(srv, buf, sizeof buf, 0), 2);
    tulip_close(c);
    tulip_close(srv);
    return 0;
}

static void test_udp(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_udp, NULL), 0);
}

static int body_unix(void *arg)
{
    (void)arg;
    char path[64];
    snprintf(path, sizeof path, "/tmp/tulip-net-%d.sock", (int)getpid());
    unlink(path);
    int lfd = tulip_listen("unix", path, 4);
    assert_true(lfd >= 0);
    assert_int_equal(tulip_listen("unix", path, 4), -EADDRINUSE);
    int c = tulip_dial("unix", path);
    assert_true(c >= 0);
    int s = tulip_accept(lfd, NULL, NULL);
    assert_true(s >= 0);
    char name[80];
    assert_true(tulip_sockname(s, 0, name, sizeof name) > 0);
    assert_string_equal(name, path);
    exercise_stream(c, s);

    /* Pass an fd with SCM_RIGHTS through sendmsg/recvmsg. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    char byte = 'F';
    struct iovec iv = {&byte, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    assert_int_equal(tulip_sendmsg(c, &mh, 0), 1);
    char got;
    struct iovec iv2 = {&got, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl2;
    struct msghdr mh2 = {.msg_iov = &iv2, .msg_iovlen = 1, .msg_control = ctl2.buf, .msg_controllen = sizeof ctl2.buf};
    assert_int_equal(tulip_recvmsg(s, &mh2, 0), 1);
    struct cmsghdr *cm2 = CMSG_FIRSTHDR(&mh2);
    assert_non_null(cm2);
    int passed;
    memcpy(&passed, CMSG_DATA(cm2), sizeof passed);
    assert_true(fcntl(passed, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(passed, "z", 1), 1);
    assert_int_equal(read(p[0], &got, 1), 1);
    assert_int_equal(got, 'z');
    close(passed);
    close(p[0]);
    close(p[1]);

    tulip_close(c);
    tulip_close(s);
    tulip_close(lfd);
    unlink(path);

    /* Abstract namespace and datagrams. */
    char abs[64];
    snprintf(abs, sizeof abs, "@tulip-net-%d", (int)getpid());
    int g = tulip_listen("unixgram", abs, 0);
    assert_true(g >= 0);
    assert_true(tulip_sockname(g, 0, name, sizeof name) > 0);
    assert_string_equal(name, abs);
    int gc = tulip_dial("unixgram", abs);
    assert_true(gc >= 0);
    assert_int_equal(tulip_send(gc, "dgram", 5, 0), 5);
    char buf[16];
    assert_int_equal(tulip_recv(g, buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "dgram", 5);
    tulip_close(gc);
    tulip_close(g);
    assert_int_equal(tulip_dial("unix", "/nonexistent/tulip.sock"), -ENOENT);
    return 0;
}

static void test_unix(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_unix, NULL), 0);
}

/* ---- connection behaviour ------------------------------------------------ */

struct duo {
    int c, s;
};

static int half_close_peer(void *arg)
{
    struct duo *d = arg;
    char buf[16];
    /* Reads the request until EOF, then answers on the still-open way. */
    ssize_t n = tulip_read(d->s, buf, sizeof buf);
    assert_int_equal(n, 3);
    assert_int_equal(tulip_read(d->s, buf, sizeof buf), 0);
    assert_int_equal(tulip_write(d->s, "reply", 5), 5);
    return 0;
}

static int body_half_close(void *arg)
{
    (void)arg;
    struct duo d;
    assert_int_equal(tcp_pair("tcp", "127.0.0.1:0", &d.c, &d.s), 0);
    tulip_task *peer = tulip_spawn(half_close_peer, &d);
    assert_int_equal(tulip_write(d.c, "req", 3), 3);
    assert_int_equal(tulip_shutdown(d.c, SHUT_WR), 0);
    char buf[16];
    assert_int_equal(tulip_read(d.c, buf, sizeof buf), 5);
    assert_memory_equal(buf, "reply", 5);
    assert_int_equal(tulip_join(peer), 0);
    tulip_close(d.s);
    assert_int_equal(tulip_read(d.c, buf, sizeof buf), 0);
    /* Writing after our own SHUT_WR fails without SIGPIPE. */
    assert_int_equal(tulip_write(d.c, "x", 1), -EPIPE);
    tulip_close(d.c);
    assert_int_equal(tulip_shutdown(-1, SHUT_WR), -EBADF);
    return 0;
}

static void test_half_close(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_half_close, NULL), 0);
}

static int resetter(void *arg)
{
    struct duo *d = arg;
    struct linger lg = {1, 0};
    assert_int_equal(setsockopt(d->s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    tulip_close(d->s);
    return 0;
}

static int body_reset(void *arg)
{
    (void)arg;
    struct duo d;
    assert_int_equal(tcp_pair("tcp", "127.0.0.1:0", &d.c, &d.s), 0);
    tulip_task *t = tulip_spawn(resetter, &d);
    char buf[8];
    /* Parked in read when the RST arrives. */
    assert_int_equal(tulip_read(d.c, buf, sizeof buf), -ECONNRESET);
    assert_int_equal(tulip_join(t), 0);
    /* After a reset, writes fail with EPIPE, never a signal. */
    assert_int_equal(tulip_write(d.c, "x", 1), -EPIPE);
    tulip_close(d.c);
    return 0;
}

static void test_peer_reset(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL); /* a stray SIGPIPE would kill the test */
    assert_int_equal(test_run(body_reset, NULL), 0);
}

struct bulk {
    int fd;
    size_t total;
    size_t short_ops;   /* writes/reads that did less than asked */
    size_t ops;
    int ok;
};

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + (i >> 11));
}

static int bulk_writer(void *arg)
{
    struct bulk *b = arg;
    size_t chunk = 256 * 1024;
    unsigned char *buf = malloc(chunk);
    size_t off = 0;
    while (off < b->total) {
        size_t want = b->total - off < chunk ? b->total - off : chunk;
        for (size_t i = 0; i < want; i++)
            buf[i] = pattern(off + i);
        size_t done = 0;
        while (done < want) {
            ssize_t n = tulip_write(b->fd, buf + done, want - done);
            assert_true(n > 0);
            b->ops++;
            if ((size_t)n < want - done)
                b->short_ops++;
            done += (size_t)n;
        }
        off += want;
    }
    free(buf);
    tulip_shutdown(b->fd, SHUT_WR);
    return 0;
}

static int bulk_reader(void *arg)
{
    struct bulk *b = arg;
    unsigned char buf[100000];
    size_t off = 0;
    b->ok = 1;
    for (;;) {
        ssize_t n = tulip_read(b->fd, buf, sizeof buf);
        assert_true(n >= 0);
        if (n == 0)
            break;
        b->ops++;
        if ((size_t)n < sizeof buf)
            b->short_ops++;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(off + (size_t)i))
                b->ok = 0;
        off += (size_t)n;
    }
    b->total = off;
    return 0;
}

static int body_partial(void *arg)
{
    (void)arg;
    struct duo d;
    assert_int_equal(tcp_pair("tcp", "127.0.0.1:0", &d.c, &d.s), 0);
    /* A small send buffer only: a tiny receive window on loopback makes
     * TCP crawl (silly-window avoidance and delayed ACKs). */
    int small = 65536;
    setsockopt(d.c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    struct bulk w = {.fd = d.c, .total = test_scale(4u << 20)};
    if (w.total < (512u << 10))
        w.total = 512u << 10;
    struct bulk r = {.fd = d.s};
    tulip_task *tw = tulip_spawn(bulk_writer, &w);
    tulip_task *tr = tulip_spawn(bulk_reader, &r);
    assert_int_equal(tulip_join(tw), 0);
    assert_int_equal(tulip_join(tr), 0);
    assert_int_equal(r.total, w.total);
    assert_true(r.ok);
    /* The buffers are far smaller than one write: writes came back short
     * and the writer parked; reads got less than they asked for. */
    assert_true(w.short_ops > 0);
    assert_true(r.short_ops > 0);
    tulip_close(d.c);
    tulip_close(d.s);
    return 0;
}

static void test_partial_io(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_partial, NULL), 0);
}

struct sf {
    int fd;
    size_t len;
    int ok;
};

static int sf_reader(void *arg)
{
    struct sf *s = arg;
    char buf[4096];
    size_t got = 0;
    s->ok = 1;
    for (;;) {
        ssize_t n = tulip_read(s->fd, buf, sizeof buf);
        assert_true(n >= 0);
        if (!n)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (char)('a' + (got + (size_t)i) % 26))
                s->ok = 0;
        got += (size_t)n;
    }
    s->len = got;
    return 0;
}

static int body_sendfile(void *arg)
{
    (void)arg;
    char path[] = "/tmp/tulip-sendfile-XXXXXX";
    int file = mkstemp(path);
    assert_true(file >= 0);
    unlink(path);
    size_t len = 1u << 20;
    char *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 26);
    assert_int_equal(write(file, data, len), (ssize_t)len);
    free(data);
    struct duo d;
    assert_int_equal(tcp_pair("tcp", "127.0.0.1:0", &d.c, &d.s), 0);
    struct sf r = {.fd = d.s};
    tulip_task *t = tulip_spawn(sf_reader, &r);
    off_t off = 0;
    while ((size_t)off < len) {
        ssize_t n = tulip_sendfile(d.c, file, &off, len - (size_t)off);
        assert_true(n > 0);
    }
    tulip_shutdown(d.c, SHUT_WR);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(r.len, len);
    assert_true(r.ok);
    assert_int_equal(tulip_sendfile(d.c, -1, NULL, 10), -EBADF);
    close(file);
    tulip_close(d.c);
    tulip_close(d.s);
    return 0;
}

static void test_sendfile(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_sendfile, NULL), 0);
}

/* ---- cancellation and timeouts ------------------------------------------ */

static int body_cancel_read(void *arg)
{
    (void)arg;
    struct duo d;
    assert_int_equal(tcp_pair("tcp", "127.0.0.1:0", &d.c, &d.s), 0);
    char buf[8];
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_SEC(5));
    assert_int_equal(tulip_read(d.c, buf, sizeof buf), -ETIMEDOUT);
    struct iovec iv = {buf, sizeof buf};
    assert_int_equal(tulip_readv(d.c, &iv, 1), -ETIMEDOUT);
    assert_int_equal(tulip_recvfrom(d.c, buf, sizeof buf, 0, NULL, NULL), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    /* Nothing was consumed: data sent now is read whole. */
    assert_int_equal(tulip_write(d.s, "later", 5), 5);
    assert_int_equal(tulip_read(d.c, buf, sizeof buf), 5);

    /* An accept with nobody connecting. */
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 1);
    tulip_scope_enter_timeout(&s, TULIP_SEC(1));
    assert_int_equal(tulip_accept(lfd, NULL, NULL), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    tulip_close(lfd);
    tulip_close(d.c);
    tulip_close(d.s);
    return 0;
}

static void test_cancel_read(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(body_cancel_read, NULL), 0);
}

/* A listener with backlog 1 that never accepts: once its queue is full the
 * kernel drops further SYNs, so a dial can only end by its scope. */
static int body_dial_timeout(void *arg)
{
    (void)arg;
    int fds_before = count_fds();
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 1);
    assert_true(lfd >= 0);
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", tulip_local_port(lfd));
    int held[16], nheld = 0, timed_out = 0;
    while (nheld < 16) {
        tulip_scope s;
        tulip_scope_enter_timeout(&s, TULIP_SEC(3));
        int fd = tulip_dial("tcp", where);
        int rc = tulip_scope_exit(&s);
        if (fd == -ETIMEDOUT) {
            assert_int_equal(rc, -ETIMEDOUT);
            timed_out = 1;
            break;
        }
        assert_true(fd >= 0);
        held[nheld++] = fd;
    }
    assert_true(timed_out);
    assert_true(nheld >= 1 && nheld < 16);
    for (int i = 0; i < nheld; i++)
        tulip_close(held[i]);
    tulip_close(lfd);
    assert_int_equal(count_fds(), fds_before); /* the timed-out socket too */
    return 0;
}

static void test_dial_timeout(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(body_dial_timeout, NULL), 0);
}

/* ---- errors and fault injection ----------------------------------------- */

static int body_errors(void *arg)
{
    (void)arg;
    assert_int_equal(tulip_dial("sctp", "127.0.0.1:1"), -EINVAL);
    assert_int_equal(tulip_dial(NULL, "127.0.0.1:1"), -EINVAL);
    assert_int_equal(tulip_dial("tcp", "127.0.0.1"), -EINVAL);
    assert_int_equal(tulip_dial("tcp", "::1:80"), -EINVAL);
    assert_int_equal(tulip_dial("tcp", "[::1]80"), -EINVAL);
    assert_int_equal(tulip_dial("tcp", "127.0.0.1:"), -EINVAL);
    assert_int_equal(tulip_dial("tcp", NULL), -EINVAL);
    assert_int_equal(tulip_listen("tcp", "127.0.0.1:99999", 1), -EINVAL);
    assert_int_equal(tulip_listen("tcp", "127.0.0.1:no-such-service", 1), -EPROTONOSUPPORT);
    assert_int_equal(tulip_dial("unix", ""), -EINVAL);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    assert_int_equal(tulip_dial("unix", longpath), -ENAMETOOLONG);

    /* A port nobody listens on: refused, nothing leaked. */
    int fds = count_fds();
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 1);
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", tulip_local_port(lfd));
    tulip_close(lfd);
    assert_int_equal(tulip_dial("tcp", where), -ECONNREFUSED);
    assert_int_equal(count_fds(), fds);

    /* Socket creation fails: a clean -EMFILE and no fd left behind. */
    tulip_fault_arm(TULIP_FAULT_SOCKET, 1, 1);
    assert_int_equal(tulip_dial("tcp", "127.0.0.1:1"), -EMFILE);
    assert_int_equal(tulip_dial("unix", "/tmp/x.sock"), -EMFILE);
    assert_int_equal(tulip_listen("tcp", "127.0.0.1:0", 1), -EMFILE);
    assert_int_equal(tulip_listen("unix", "@tulip-fault", 1), -EMFILE);
    tulip_fault_reset();
    assert_int_equal(count_fds(), fds);

    /* Calls on fds that are not sockets. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    char b;
    assert_int_equal(tulip_recv(p[0], &b, 1, 0), -ENOTSOCK);
    assert_int_equal(tulip_send(p[1], "x", 1, 0), -ENOTSOCK);
    assert_int_equal(tulip_accept(p[0], NULL, NULL), -ENOTSOCK);
    assert_int_equal(tulip_local_port(p[0]), -ENOTSOCK);
    /* writev/readv fall back to plain pipes. */
    struct iovec iv = {"q", 1};
    assert_int_equal(tulip_writev(p[1], &iv, 1), 1);
    struct iovec ir = {&b, 1};
    assert_int_equal(tulip_readv(p[0], &ir, 1), 1);
    assert_int_equal(b, 'q');
    tulip_close(p[0]);
    tulip_close(p[1]);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(tulip_dial("tcp", "127.0.0.1:1"), -EPERM);
    assert_int_equal(tulip_accept(0, NULL, NULL), -EPERM);
    char buf[4];
    assert_int_equal(tulip_recv(0, buf, 4, 0), -EPERM);
    /* Numeric listening works outside tasks. */
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 1);
    assert_true(lfd >= 0);
    assert_true(tulip_local_port(lfd) > 0);
    tulip_close(lfd);
    assert_int_equal(test_run(body_errors, NULL), 0);
}

/* ---- 10,000 concurrent connections ---------------------------------------- */

struct server {
    int lfd;
    size_t expect;
    size_t accepted, open, max_open, finished;
    tulip_group *conns;
};

static struct server *srv_of_conn;

static int echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct server *sv = srv_of_conn;
    char buf[512];
    for (;;) {
        ssize_t n = tulip_read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        if (tulip_write_all(fd, buf, (size_t)n, NULL) < 0)
            break;
    }
    tulip_close(fd);
    sv->open--;
    sv->finished++;
    return 0;
}

static int server_main(void *arg)
{
    struct server *sv = arg;
    srv_of_conn = sv;
    sv->conns = tulip_group_new();
    while (sv->accepted < sv->expect) {
        int fd = tulip_accept(sv->lfd, NULL, NULL);
        assert_true(fd >= 0);
        sv->accepted++;
        if (++sv->open > sv->max_open)
            sv->max_open = sv->open;
        assert_int_equal(tulip_group_spawn(sv->conns, echo_conn, (void *)(intptr_t)fd), 0);
    }
    assert_int_equal(tulip_group_wait(sv->conns), 0);
    tulip_group_free(sv->conns);
    tulip_close(sv->lfd);
    return 0;
}

struct clients {
    char where[32];
    size_t n, connected, failures;
    tulip_future *all_in;
};

static int client_conn(void *arg)
{
    struct clients *cl = arg;
    int fd = tulip_dial("tcp", cl->where);
    if (fd < 0) {
        cl->failures++;
        return 0;
    }
    char msg[64], back[64];
    memset(msg, 'm', sizeof msg);
    int ok = tulip_write_all(fd, msg, sizeof msg, NULL) == (ssize_t)sizeof msg;
    size_t got = 0;
    while (ok && got < sizeof back) {
        ssize_t n = tulip_read(fd, back + got, sizeof back - got);
        ok = n > 0;
        got += n > 0 ? (size_t)n : 0;
    }
    /* Everybody holds their connection until all are in. */
    if (++cl->connected == cl->n)
        tulip_future_resolve(cl->all_in, NULL);
    if (ok)
        ok = tulip_future_await(cl->all_in, NULL) == 0;
    if (ok)
        ok = tulip_write_all(fd, "!", 1, NULL) == 1 && tulip_read(fd, back, 1) == 1 && back[0] == '!';
    if (!ok)
        cl->failures++;
    tulip_close(fd);
    return 0;
}

static int clients_main(void *arg)
{
    struct clients *cl = arg;
    cl->all_in = tulip_future_new();
    tulip_group *g = tulip_group_new();
    for (size_t i = 0; i < cl->n; i++) {
        if (tulip_group_spawn(g, client_conn, cl) < 0)
            return -ENOMEM;
        if (i % 256 == 255)
            tulip_yield(); /* let the listener's queue drain as we go */
    }
    int rc = tulip_group_wait(g);
    tulip_group_free(g);
    tulip_future_free(cl->all_in);
    return rc;
}

static void test_10k_connections(void **state)
{
    (void)state;
    size_t n = test_scale(10000);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)n + 64;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want) {
        print_message("RLIMIT_NOFILE hard limit %lu < %lu: skipped\n", (unsigned long)rl.rlim_max,
                      (unsigned long)want);
        skip();
    }
    struct server sv = {.expect = n};
    sv.lfd = tulip_listen("tcp", "127.0.0.1:0", 4096);
    assert_true(sv.lfd >= 0);
    struct clients cl = {.n = n};
    snprintf(cl.where, sizeof cl.where, "127.0.0.1:%d", tulip_local_port(sv.lfd));
    /* Both ends of 10,000 connections do not fit in one process's fds
     * here, so the clients run in a child with its own loop. */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv.lfd);
        int rc = tulip_run(clients_main, &cl);
        _exit(rc == 0 && cl.failures == 0 && cl.connected == n ? 0 : 1);
    }
    assert_int_equal(test_run(server_main, &sv), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(sv.accepted, n);
    assert_int_equal(sv.finished, n);
    /* The clients held every connection until all were in. */
    assert_int_equal(sv.max_open, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp4),
        cmocka_unit_test(test_tcp6),
        cmocka_unit_test(test_udp),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_half_close),
        cmocka_unit_test(test_peer_reset),
        cmocka_unit_test(test_partial_io),
        cmocka_unit_test(test_sendfile),
        cmocka_unit_test(test_cancel_read),
        cmocka_unit_test(test_dial_timeout),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_10k_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
