/* The "drained" rule of the readiness path: after a short read of a byte
 * stream the next read waits for an edge before calling the kernel (it
 * would almost surely say EAGAIN). The rule must not outlive an edge that
 * someone else consumed (a tulip_wait_fd between the two reads), or the
 * read waits for an edge that never comes while bytes are queued; and it
 * must hold for tulip_recv as it does for tulip_read (no failed recv per
 * message).
 *
 * The tests drive a bare loop with non-blocking tulip_loop_run_once, so a
 * read that parks for good is seen as "not done after the data came"
 * rather than as a hang. Each runs with an ordinary task and with a
 * compact one: a compact task takes the readiness path on io_uring too.
 *
 * No _GNU_SOURCE: with it glibc declares recvfrom's address argument as a
 * transparent union, which the definition below could not match. */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"

/* Every recvfrom(2) of the library goes through here (tests link the
 * static library, so this definition wins over libc's): count the ones
 * that failed with EAGAIN on the fd under test. */
static int counted_fd = -1;
static int eagain_count;

ssize_t recvfrom(int fd, void *restrict buf, size_t n, int flags, struct sockaddr *restrict sa,
                 socklen_t *restrict len)
{
    long r = syscall(SYS_recvfrom, fd, buf, n, flags, sa, len);
    if (r < 0 && errno == EAGAIN && fd == counted_fd)
        eagain_count++;
    return (ssize_t)r;
}

enum { PIPE, SOCKETPAIR };

struct reader {
    int rfd, wfd;       /* the stream under test */
    int qr, qw;         /* a pipe the driver uses to wake the task */
    int use_recv;       /* tulip_recv instead of tulip_read */
    int parks;          /* wait_then_read: which case */
    int stage;
    int fail;
    char got[8];
};

static void open_pair(struct reader *r, int kind)
{
    int p[2];
    if (kind == PIPE)
        assert_int_equal(pipe(p), 0);
    else
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    r->rfd = p[0];
    r->wfd = p[1];
    int q[2];
    assert_int_equal(pipe(q), 0);
    r->qr = q[0];
    r->qw = q[1];
}

static ssize_t rd(struct reader *r, char *buf, size_t n)
{
    return r->use_recv ? tulip_recv(r->rfd, buf, n, 0) : tulip_read(r->rfd, buf, n);
}

/* Run l without blocking until *stage reaches want (or give up: a task
 * parked for good never gets there; 100 turns are far more than the few
 * a ready fd takes to be seen on any backend). */
static void run_until(tulip_loop *l, const int *stage, int want)
{
    for (int i = 0; i < 100 && *stage < want; i++)
        assert_true(tulip_loop_run_once(l, false) >= 0);
}

/* Read short, wait for readable, read again. parks: the wait parks and
 * the edge it is woken by is the only one; else the edge comes while the
 * task waits on q, and the wait's level check then finds the byte and
 * takes the remembered edge. */
static int wait_then_read(void *p)
{
    struct reader *r = p;
    char buf[8];
    /* First read on an empty stream: registered with the backend, parks. */
    r->stage = 1;
    if (rd(r, buf, sizeof buf) != 2)
        r->fail = 1;
    /* Short: the queue is empty ("drained"). */
    r->stage = 2;
    if (!r->parks && tulip_wait_fd(r->qr, TULIP_READABLE) != TULIP_READABLE)
        r->fail = 2;
    if (tulip_wait_fd(r->rfd, TULIP_READABLE) != TULIP_READABLE)
        r->fail = 3;
    r->stage = 3;
    ssize_t n = rd(r, r->got, sizeof r->got);
    if (n != 1 || r->got[0] != 'c')
        r->fail = 4;
    r->stage = 4;
    return 0;
}

static void close_reader(struct reader *r)
{
    close(r->rfd);
    close(r->wfd);
    close(r->qr);
    close(r->qw);
}

static void run_wait_then_read(int kind, unsigned flags, int use_recv, int parks)
{
    if ((flags & TULIP_SPAWN_COMPACT) && !test_have_compact())
        return;
    if (use_recv && kind == PIPE)
        return;
    struct reader r = {0};
    r.use_recv = use_recv;
    r.parks = parks;
    open_pair(&r, kind);
    tulip_loop *l = tulip_loop_new(NULL);
    assert_non_null(l);
    tulip_task *t = tulip_spawn_ex(l, wait_then_read, &r, flags);
    assert_non_null(t);
    run_until(l, &r.stage, 1);
    assert_int_equal(write(r.wfd, "ab", 2), 2);
    run_until(l, &r.stage, 2);
    assert_int_equal(r.stage, 2);
    assert_int_equal(write(r.wfd, "c", 1), 1);
    if (!parks) {
        run_until(l, &r.stage, 3); /* the edge is seen, nobody takes it */
        assert_int_equal(r.stage, 2);
        assert_int_equal(write(r.qw, "x", 1), 1);
    }
    run_until(l, &r.stage, 4);
    /* Before the fix: stage 3, the read parked for an edge already taken. */
    assert_int_equal(r.stage, 4);
    assert_int_equal(r.fail, 0);
    assert_true(tulip_task_is_done(t));
    run_until(l, &r.stage, 5); /* let the loop reap it */
    assert_int_equal(tulip_loop_free(l), 0);
    close_reader(&r);
}

static void test_wait_parks_then_read(void **state)
{
    (void)state;
    for (int kind = PIPE; kind <= SOCKETPAIR; kind++)
        for (int use_recv = 0; use_recv <= 1; use_recv++) {
            run_wait_then_read(kind, 0, use_recv, 1);
            run_wait_then_read(kind, TULIP_SPAWN_COMPACT, use_recv, 1);
        }
}

static void test_wait_level_then_read(void **state)
{
    (void)state;
    for (int kind = PIPE; kind <= SOCKETPAIR; kind++)
        for (int use_recv = 0; use_recv <= 1; use_recv++) {
            run_wait_then_read(kind, 0, use_recv, 0);
            run_wait_then_read(kind, TULIP_SPAWN_COMPACT, use_recv, 0);
        }
}

/* tulip_recv after a short recv waits for the edge instead of calling
 * recv(2) for an EAGAIN: one failed recv in all (the first, on the empty
 * socket), however many messages. */
struct pingpong {
    int fd;
    int stage;
    int fail;
};

static int recv_messages(void *p)
{
    struct pingpong *pp = p;
    char buf[64];
    for (int i = 0; i < 3; i++) {
        pp->stage = i + 1;
        if (tulip_recv(pp->fd, buf, sizeof buf, 0) != 2)
            pp->fail = i + 1;
    }
    pp->stage = 4;
    return 0;
}

/* A connected TCP pair on 127.0.0.1 (a Unix stream does not take the
 * rule: see test_unix_short_read). */
static void tcp_pair(int s[2])
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    s[1] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s[1] >= 0);
    assert_int_equal(connect(s[1], (struct sockaddr *)&sa, len), 0);
    s[0] = accept(lfd, NULL, NULL);
    assert_true(s[0] >= 0);
    close(lfd);
}

static void run_recv_count(unsigned flags)
{
    if ((flags & TULIP_SPAWN_COMPACT) && !test_have_compact())
        return;
    int s[2];
    tcp_pair(s);
    counted_fd = s[0];
    eagain_count = 0;
    struct pingpong pp = {s[0], 0, 0};
    tulip_loop *l = tulip_loop_new(NULL);
    assert_non_null(l);
    tulip_task *t = tulip_spawn_ex(l, recv_messages, &pp, flags);
    assert_non_null(t);
    for (int i = 1; i <= 3; i++) {
        run_until(l, &pp.stage, i);
        assert_int_equal(pp.stage, i);
        assert_int_equal(write(s[1], "ab", 2), 2);
    }
    run_until(l, &pp.stage, 4);
    assert_int_equal(pp.stage, 4);
    assert_int_equal(pp.fail, 0);
    /* Exactly one: the first recv, on the empty socket (which also shows
     * the count works); none at all on the io_uring completion path (an
     * ordinary task there). */
    int ring = strcmp(tulip_loop_backend(l), "io_uring") == 0 && !(flags & TULIP_SPAWN_COMPACT);
    assert_true(eagain_count == 1 || (ring && eagain_count == 0));
    run_until(l, &pp.stage, 5);
    assert_int_equal(tulip_loop_free(l), 0);
    counted_fd = -1;
    close(s[0]);
    close(s[1]);
}

static void test_recv_after_short_recv(void **state)
{
    (void)state;
    run_recv_count(0);
    run_recv_count(TULIP_SPAWN_COMPACT);
}

/* A short read of a Unix stream does not mean its queue is empty: the
 * kernel ends a read after bytes that carried fds (and, with SO_PASSCRED,
 * between two writers). The bytes behind them came with the same edge. */
static int read_twice(void *p)
{
    struct reader *r = p;
    char buf[8];
    r->stage = 1;
    if (tulip_read(r->rfd, buf, sizeof buf) != 2)
        r->fail = 1;
    r->stage = 2;
    ssize_t n = tulip_read(r->rfd, r->got, sizeof r->got);
    if (n != 2 || r->got[0] != 'c')
        r->fail = 2;
    r->stage = 4;
    return 0;
}

static void send_with_fd(int sock, const char *bytes, size_t n, int passed)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u); /* the padding after the fd goes out too */
    struct iovec iov = {(void *)bytes, n};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &passed, sizeof passed);
    assert_int_equal(sendmsg(sock, &m, 0), (ssize_t)n);
}

static void run_unix_short(unsigned flags)
{
    if ((flags & TULIP_SPAWN_COMPACT) && !test_have_compact())
        return;
    struct reader r = {0};
    open_pair(&r, SOCKETPAIR);
    tulip_loop *l = tulip_loop_new(NULL);
    assert_non_null(l);
    tulip_task *t = tulip_spawn_ex(l, read_twice, &r, flags);
    assert_non_null(t);
    run_until(l, &r.stage, 1);
    /* Both arrive before the loop looks: one edge for the two. */
    send_with_fd(r.wfd, "ab", 2, r.qr);
    assert_int_equal(write(r.wfd, "cd", 2), 2);
    run_until(l, &r.stage, 4);
    assert_int_equal(r.stage, 4);
    assert_int_equal(r.fail, 0);
    run_until(l, &r.stage, 5);
    assert_int_equal(tulip_loop_free(l), 0);
    close_reader(&r);
}

static void test_unix_short_read(void **state)
{
    (void)state;
    run_unix_short(0);
    run_unix_short(TULIP_SPAWN_COMPACT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_parks_then_read),
        cmocka_unit_test(test_wait_level_then_read),
        cmocka_unit_test(test_recv_after_short_recv),
        cmocka_unit_test(test_unix_short_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
