/* fd waits and tulip_read/tulip_write on pipes and socketpairs. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_util.h"

struct pipe_pair {
    int fds[2];
    size_t total;
    uint32_t sum;
};

static int big_writer(void *p)
{
    struct pipe_pair *pp = p;
    char buf[8192];
    size_t sent = 0;
    uint32_t x = 1;
    while (sent < pp->total) {
        size_t n = pp->total - sent < sizeof buf ? pp->total - sent : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (char)(x >> 24);
        }
        size_t done = 0;
        ssize_t rc = tulip_write_all(pp->fds[1], buf, n, &done);
        assert_int_equal(rc, (ssize_t)n);
        sent += n;
    }
    tulip_close(pp->fds[1]);
    return 0;
}

static int main_stream(void *p)
{
    (void)p;
    /* More than a pipe holds, so both sides park repeatedly. */
    struct pipe_pair pp = {{-1, -1}, test_scale(8u << 20), 0};
    assert_int_equal(pipe(pp.fds), 0);
    tulip_task *w = tulip_spawn(big_writer, &pp);
    char buf[3000]; /* odd size: reads are partial */
    size_t got = 0;
    uint32_t x = 1;
    int mismatch = 0;
    for (;;) {
        ssize_t n = tulip_read(pp.fds[0], buf, sizeof buf);
        assert_true(n >= 0);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            if (buf[i] != (char)(x >> 24))
                mismatch = 1;
        }
        got += (size_t)n;
    }
    assert_int_equal(got, pp.total);
    assert_false(mismatch);
    assert_int_equal(tulip_join(w), 0);
    tulip_close(pp.fds[0]);
    return 0;
}

static void test_stream_through_pipe(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_stream, NULL), 0);
}

struct closer {
    int fd;
};

static int close_soon(void *p)
{
    struct closer *c = p;
    tulip_yield();
    return tulip_close(c->fd);
}

static int main_errors(void *p)
{
    (void)p;
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    char c;
    /* Closing an fd with tulip_close wakes its waiter with -EBADF. */
    struct closer cl = {fds[0]};
    tulip_task *t = tulip_spawn(close_soon, &cl);
    assert_int_equal(tulip_read(fds[0], &c, 1), -EBADF);
    assert_int_equal(tulip_join(t), 0);
    /* A closed fd is a clear error, not a hang. */
    assert_int_equal(tulip_read(fds[0], &c, 1), -EBADF);
    assert_int_equal(tulip_wait_fd(fds[0], TULIP_READABLE), -EBADF);
    assert_int_equal(tulip_wait_fd(fds[1], 0), -EINVAL);
    /* Writing to a socket whose peer is gone is -EPIPE, not SIGPIPE. */
    assert_int_equal(tulip_write(fds[1], "x", 1), -EPIPE);
    tulip_close(fds[1]);
    /* Regular files are always ready. */
    int fd = open("/proc/self/stat", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(tulip_wait_fd(fd, TULIP_READABLE), TULIP_READABLE);
    assert_true(tulip_read(fd, &c, 1) == 1);
    tulip_close(fd);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_errors, NULL), 0);
}

struct two {
    int fd;
    int rc;
};

static int read_one(void *p)
{
    struct two *t = p;
    char c;
    t->rc = (int)tulip_read(t->fd, &c, 1);
    return t->rc;
}

static int main_busy_and_level(void *p)
{
    (void)p;
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    /* Two readers of one fd: both park, each readiness wakes both, and the
     * one that finds nothing waits again. */
    struct two a = {fds[0], 0}, b = {fds[0], 0};
    tulip_task *ta = tulip_spawn(read_one, &a);
    tulip_task *tb = tulip_spawn(read_one, &b);
    tulip_yield();
    assert_int_equal(write(fds[1], "a", 1), 1);
    while (!tulip_task_is_done(ta) && !tulip_task_is_done(tb))
        tulip_yield();
    assert_false(tulip_task_is_done(ta) && tulip_task_is_done(tb));
    assert_int_equal(write(fds[1], "b", 1), 1);
    assert_int_equal(tulip_join(ta), 1);
    assert_int_equal(tulip_join(tb), 1);
    /* The public wait has level semantics: a byte written now is seen even
     * though its edge may already have been consumed. */
    assert_int_equal(write(fds[1], "c", 1), 1);
    assert_int_equal(tulip_wait_fd(fds[0], TULIP_READABLE | TULIP_WRITABLE) & TULIP_READABLE, TULIP_READABLE);
    assert_int_equal(tulip_wait_fd(fds[0], TULIP_READABLE), TULIP_READABLE);
    char c;
    assert_int_equal(tulip_read(fds[0], &c, 1), 1);
    assert_int_equal(c, 'c');
    assert_int_equal(tulip_wait_fd(fds[1], TULIP_WRITABLE), TULIP_WRITABLE);
    tulip_close(fds[0]);
    tulip_close(fds[1]);
    return 0;
}

static void test_busy_and_level(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_busy_and_level, NULL), 0);
}

/* A task whose fd is always ready still lets others run (budget). */
struct spin {
    int fd;
    int stop;
    long reads;
};

static int always_ready_reader(void *p)
{
    struct spin *s = p;
    char buf[64];
    while (!s->stop) {
        if (tulip_read(s->fd, buf, sizeof buf) < 0)
            return -1;
        s->reads++;
    }
    return 0;
}

static int main_fairness(void *p)
{
    (void)p;
    struct spin s = {open("/dev/zero", O_RDONLY), 0, 0};
    assert_true(s.fd >= 0);
    tulip_task *t = tulip_spawn(always_ready_reader, &s);
    /* If the reader never yielded, this yield would never return. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(tulip_yield(), 0);
    s.stop = 1;
    assert_int_equal(tulip_join(t), 0);
    assert_true(s.reads > 0);
    tulip_close(s.fd);
    return 0;
}

static void test_fairness(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_fairness, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_through_pipe),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_busy_and_level),
        cmocka_unit_test(test_fairness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
