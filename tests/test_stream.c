/* Buffered streams over socketpairs: split points, limits, EOF, backpressure,
 * concurrent flushes, cancellation, fault injection. */
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
#include "tulip/testing.h"

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
}

/* ---- a peer that writes a script with chosen split points --------------- */

struct drip {
    int fd;
    const char *data;
    size_t len;
    size_t split;      /* 0: one byte at a time; else two writes at split */
    int close_after;
};

static int dripper(void *p)
{
    struct drip *d = p;
    if (d->split == 0) {
        for (size_t i = 0; i < d->len; i++) {
            assert_int_equal(tulip_write(d->fd, d->data + i, 1), 1);
            /* Let the reader take this byte alone. */
            assert_int_equal(tulip_yield(), 0);
            assert_int_equal(tulip_yield(), 0);
        }
    } else {
        assert_int_equal(tulip_write_all(d->fd, d->data, d->split, NULL), (ssize_t)d->split);
        for (int i = 0; i < 4; i++)
            assert_int_equal(tulip_yield(), 0);
        size_t rest = d->len - d->split;
        assert_int_equal(tulip_write_all(d->fd, d->data + d->split, rest, NULL), (ssize_t)rest);
    }
    if (d->close_after)
        assert_int_equal(tulip_close(d->fd), 0);
    return 0;
}

static const char script[] = "hello\nworld\r\nABCDEFGH";

static void check_script(tulip_stream *s)
{
    char buf[64];
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 6);
    assert_memory_equal(buf, "hello\n", 6);
    assert_int_equal(tulip_stream_readuntil(s, "\r\n", 2, buf, sizeof buf), 7);
    assert_memory_equal(buf, "world\r\n", 7);
    assert_int_equal(tulip_stream_readexactly(s, buf, 4), 4);
    assert_memory_equal(buf, "ABCD", 4);
    /* Too few bytes before EOF: nothing is lost, the rest stays buffered. */
    assert_int_equal(tulip_stream_readexactly(s, buf, 10), -ENODATA);
    assert_int_equal(tulip_stream_buffered(s), 4);
    assert_int_equal(tulip_stream_read(s, buf, sizeof buf), 4);
    assert_memory_equal(buf, "EFGH", 4);
    assert_int_equal(tulip_stream_read(s, buf, sizeof buf), 0);
    /* A clean end: 0, as read (asyncio's b""), not an error. */
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 0);
    assert_int_equal(tulip_stream_readuntil(s, "\r\n", 2, buf, sizeof buf), 0);
}

static int main_splits(void *p)
{
    (void)p;
    size_t len = sizeof script - 1;
    /* split == 0 is the one-byte-at-a-time writer; the others cut the
     * script once at every possible point. */
    for (size_t split = 0; split < len; split++) {
        int sv[2];
        pair(sv);
        tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
        assert_non_null(s);
        struct drip d = {sv[1], script, len, split, 1};
        tulip_task *w = tulip_spawn(dripper, &d);
        assert_non_null(w);
        check_script(s);
        assert_int_equal(tulip_join(w), 0);
        assert_int_equal(tulip_stream_close(s), 0);
    }
    return 0;
}

static void test_split_points(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_splits, NULL), 0);
}

/* ---- limits and EOF ------------------------------------------------------- */

static int main_limits(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    const char line[] = "0123456789abcdef\n"; /* 17 bytes */
    assert_int_equal(tulip_write_all(sv[1], line, 17, NULL), 17);
    assert_int_equal(tulip_write_all(sv[1], line, 17, NULL), 17);
    char buf[64];
    assert_int_equal(tulip_stream_readline(s, buf, 8), -EMSGSIZE);
    assert_true(tulip_stream_buffered(s) >= 8);
    /* The delimiter one byte past max is still too long... */
    assert_int_equal(tulip_stream_readline(s, buf, 16), -EMSGSIZE);
    /* ...and exactly at max fits. */
    assert_int_equal(tulip_stream_readline(s, buf, 17), 17);
    assert_memory_equal(buf, line, 17);
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 17);
    assert_memory_equal(buf, line, 17);

    /* A line longer than the stream's read chunk, with a multi-byte
     * delimiter: the buffer grows to max, not beyond. */
    size_t big = 40000;
    char *data = malloc(big + 2);
    memset(data, 'x', big);
    memcpy(data + big, "\r\n", 2);
    assert_int_equal(tulip_write_all(sv[1], data, big + 2, NULL), (ssize_t)big + 2);
    char *got = malloc(big + 2);
    assert_int_equal(tulip_stream_readuntil(s, "\r\n", 2, got, big), -EMSGSIZE);
    assert_int_equal(tulip_stream_buffered(s), big);
    tulip_stream_stats st;
    assert_int_equal(tulip_stream_stats_get(s, &st), 0);
    assert_true(st.read_capacity <= big);
    assert_int_equal(tulip_stream_readuntil(s, "\r\n", 2, got, big + 2), (ssize_t)big + 2);
    assert_memory_equal(got, data, big + 2);
    free(data);
    free(got);

    /* Bad arguments. */
    assert_int_equal(tulip_stream_readuntil(s, "", 0, buf, 8), -EINVAL);
    assert_int_equal(tulip_stream_readuntil(s, "abc", 3, buf, 2), -EINVAL);
    assert_int_equal(tulip_stream_readexactly(s, buf, 0), 0);
    assert_int_equal(tulip_stream_read(s, buf, 0), 0);

    /* EOF after a partial record: readuntil leaves it buffered
     * (-ENODATA); readline returns it as the last line. */
    assert_int_equal(tulip_write_all(sv[1], "x\nabc", 5, NULL), 5);
    assert_int_equal(tulip_close(sv[1]), 0);
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 2);
    assert_int_equal(tulip_stream_readuntil(s, "\n", 1, buf, sizeof buf), -ENODATA);
    assert_int_equal(tulip_stream_buffered(s), 3);
    assert_int_equal(tulip_stream_readexactly(s, buf, 4), -ENODATA);
    assert_int_equal(tulip_stream_buffered(s), 3);
    /* Longer than max: still -EMSGSIZE, nothing consumed. */
    assert_int_equal(tulip_stream_readline(s, buf, 2), -EMSGSIZE);
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 0);
    assert_int_equal(tulip_stream_read(s, buf, sizeof buf), 0);
    assert_int_equal(tulip_stream_readexactly(s, buf, 1), -ENODATA);
    assert_int_equal(tulip_stream_buffered(s), 0);
    assert_int_equal(tulip_stream_close(s), 0);
    return 0;
}

static void test_limits_and_eof(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_limits, NULL), 0);
}

/* ---- backpressure ----------------------------------------------------------- */

#define BP_LIMIT ((size_t)16 * 1024)

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) % 251);
}

struct bp {
    int fd;
    size_t total;
    size_t received;
    int bad;
};

static int slow_reader(void *p)
{
    struct bp *b = p;
    unsigned char buf[1500];
    for (;;) {
        ssize_t n = tulip_read(b->fd, buf, sizeof buf);
        assert_true(n >= 0);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(b->received + (size_t)i))
                b->bad = 1;
        b->received += (size_t)n;
        /* Slow: let the writer run (and hit a full buffer) in between. */
        assert_int_equal(tulip_yield(), 0);
        assert_int_equal(tulip_yield(), 0);
    }
    return 0;
}

static int main_backpressure(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], 0);
    assert_int_equal(tulip_stream_set_write_limit(s, BP_LIMIT), 0);
    /* A small kernel buffer, so the bound below is a tight statement. */
    int sndbuf = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    struct bp b = {sv[1], test_scale((size_t)10 * 1024 * 1024), 0, 0};
    if (b.total < (size_t)1024 * 1024)
        b.total = (size_t)1024 * 1024;
    tulip_task *r = tulip_spawn(slow_reader, &b);
    unsigned char chunk[4000];
    size_t off = 0;
    while (off < b.total) {
        size_t n = b.total - off < sizeof chunk ? b.total - off : sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern(off + i);
        assert_int_equal(tulip_stream_write(s, chunk, n), (ssize_t)n);
        assert_true(tulip_stream_pending(s) <= BP_LIMIT);
        off += n;
        /* The writer can never run ahead of the reader by more than the
         * stream's bound plus what the kernel buffers. */
        assert_true(off - b.received <= BP_LIMIT + (size_t)256 * 1024);
    }
    assert_int_equal(tulip_stream_flush(s), 0);
    assert_int_equal(tulip_stream_pending(s), 0);
    tulip_stream_stats st;
    assert_int_equal(tulip_stream_stats_get(s, &st), 0);
    /* The buffer filled up (so writes waited) but never beyond the bound. */
    assert_int_equal(st.write_peak, BP_LIMIT);
    assert_int_equal(st.write_limit, BP_LIMIT);
    assert_int_equal(st.bytes_written, b.total);
    assert_int_equal(tulip_stream_shutdown(s), 0);
    assert_int_equal(tulip_stream_write(s, "x", 1), -ESHUTDOWN);
    assert_int_equal(tulip_join(r), 0);
    assert_int_equal(b.received, b.total);
    assert_int_equal(b.bad, 0);
    assert_int_equal(tulip_stream_close(s), 0);
    /* Not owned: still ours to close. */
    assert_int_equal(tulip_close(sv[0]), 0);
    assert_int_equal(tulip_close(sv[1]), 0);
    return 0;
}

static void test_backpressure(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_backpressure, NULL), 0);
}

/* ---- concurrent writers and flushes ---------------------------------------- */

#define CF_TASKS 4
#define CF_ROUNDS 3
#define CF_REC 20000

struct cf {
    tulip_stream *s;
    int id;
};

static int cf_writer(void *p)
{
    struct cf *c = p;
    static unsigned char rec[CF_TASKS][CF_REC];
    for (int r = 0; r < CF_ROUNDS; r++) {
        memset(rec[c->id], 'A' + c->id, CF_REC);
        rec[c->id][0] = (unsigned char)c->id;
        rec[c->id][1] = (unsigned char)r;
        /* One write call bigger than the write buffer parks half-way;
         * other tasks' records must not land inside it, and the flush
         * returns only once the whole record is out. */
        assert_int_equal(tulip_stream_write(c->s, rec[c->id], CF_REC), CF_REC);
        assert_int_equal(tulip_stream_flush(c->s), 0);
    }
    return 0;
}

static int main_concurrent_flush(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    tulip_stream *peer = tulip_stream_new_fd(sv[1], TULIP_STREAM_OWN_FD);
    assert_int_equal(tulip_stream_set_write_limit(s, 8192), 0);
    tulip_group *g = tulip_group_new();
    struct cf c[CF_TASKS];
    for (int i = 0; i < CF_TASKS; i++) {
        c[i].s = s;
        c[i].id = i;
        assert_int_equal(tulip_group_spawn(g, cf_writer, &c[i]), 0);
    }
    int next_round[CF_TASKS] = {0};
    unsigned char *rec = malloc(CF_REC);
    for (int k = 0; k < CF_TASKS * CF_ROUNDS; k++) {
        assert_int_equal(tulip_stream_readexactly(peer, rec, CF_REC), CF_REC);
        int id = rec[0];
        assert_true(id < CF_TASKS);
        assert_int_equal(rec[1], next_round[id]);
        next_round[id]++;
        for (size_t i = 2; i < CF_REC; i++)
            if (rec[i] != 'A' + id)
                fail_msg("record from task %d interleaved at byte %zu", id, i);
    }
    free(rec);
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);
    assert_int_equal(tulip_stream_close(s), 0);
    char b;
    assert_int_equal(tulip_stream_read(peer, &b, 1), 0);
    assert_int_equal(tulip_stream_close(peer), 0);
    return 0;
}

static void test_concurrent_flush(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_concurrent_flush, NULL), 0);
}

/* Two readers share a stream: each gets whole lines. */
struct lr {
    tulip_stream *s;
    int lines;
};

static int line_reader(void *p)
{
    struct lr *l = p;
    char buf[32];
    ssize_t n;
    while ((n = tulip_stream_readline(l->s, buf, sizeof buf)) > 0) {
        assert_int_equal(n, 8);
        assert_memory_equal(buf, "a line.\n", 8);
        l->lines++;
    }
    assert_int_equal(n, 0);
    return 0;
}

static int main_two_readers(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    struct lr a = {s, 0}, b = {s, 0};
    tulip_task *ta = tulip_spawn(line_reader, &a), *tb = tulip_spawn(line_reader, &b);
    struct drip d = {sv[1], "a line.\na line.\na line.\na line.\na line.\n", 40, 0, 1};
    assert_int_equal(dripper(&d), 0);
    assert_int_equal(tulip_join(ta), 0);
    assert_int_equal(tulip_join(tb), 0);
    assert_int_equal(a.lines + b.lines, 5);
    assert_true(a.lines > 0 && b.lines > 0);
    assert_int_equal(tulip_stream_close(s), 0);
    return 0;
}

static void test_two_readers(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_two_readers, NULL), 0);
}

/* ---- cancellation ------------------------------------------------------------ */

struct rd {
    tulip_stream *s;
    int mode; /* 0 readline, 1 readexactly(8) */
    char buf[32];
    ssize_t n;
};

static int parked_reader(void *p)
{
    struct rd *r = p;
    r->n = r->mode == 0 ? tulip_stream_readline(r->s, r->buf, sizeof r->buf)
                        : tulip_stream_readexactly(r->s, r->buf, 8);
    return (int)r->n;
}

static int main_cancel_read(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    for (int mode = 0; mode < 2; mode++) {
        struct rd r = {s, mode, {0}, 0};
        tulip_task *t = tulip_spawn(parked_reader, &r);
        assert_int_equal(tulip_yield(), 0);
        assert_int_equal(tulip_write_all(sv[1], "par", 3, NULL), 3);
        /* Let it read "par" and park again waiting for the rest. */
        for (int i = 0; i < 4; i++)
            assert_int_equal(tulip_yield(), 0);
        assert_int_equal(tulip_stream_buffered(s), 3);
        assert_int_equal(tulip_cancel(t), 0);
        assert_int_equal(tulip_join(t), -ECANCELED);
        assert_int_equal(tulip_stream_buffered(s), 3);
        assert_int_equal(tulip_write_all(sv[1], "tial\n", 5, NULL), 5);
        char buf[32];
        ssize_t n = mode == 0 ? tulip_stream_readline(s, buf, sizeof buf) : tulip_stream_readexactly(s, buf, 8);
        assert_int_equal(n, 8);
        assert_memory_equal(buf, "partial\n", 8);
    }
    assert_int_equal(tulip_close(sv[1]), 0);
    assert_int_equal(tulip_stream_close(s), 0);
    return 0;
}

static void test_cancel_read(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cancel_read, NULL), 0);
}

/* Deadlines (virtual clock) on reads and writes. */
struct sink {
    int fd;
    size_t got;
};

static int sink_all(void *p)
{
    struct sink *k = p;
    char buf[8192];
    ssize_t n;
    while ((n = tulip_read(k->fd, buf, sizeof buf)) > 0)
        k->got += (size_t)n;
    return (int)n;
}

static int main_deadlines(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    assert_int_equal(tulip_write_all(sv[1], "no newline yet", 14, NULL), 14);
    char buf[64];
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_MS(10));
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    assert_int_equal(tulip_stream_buffered(s), 14);
    assert_int_equal(tulip_write_all(sv[1], "\n", 1, NULL), 1);
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 15);

    /* A write into a peer that does not read: it takes a prefix (the
     * socket buffers plus our bounded buffer) and times out. Exactly that
     * prefix reaches the peer once it reads. */
    assert_int_equal(tulip_stream_set_write_limit(s, 4096), 0);
    size_t big = (size_t)8 * 1024 * 1024;
    char *data = calloc(1, big);
    tulip_scope_enter_timeout(&sc, TULIP_MS(10));
    ssize_t n = tulip_stream_write(s, data, big);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    assert_true(n > 0 && (size_t)n < big);
    assert_true(tulip_stream_pending(s) <= 4096);
    assert_int_equal(tulip_stream_pending(s), 0); /* big writes bypass the buffer */
    /* Now the kernel is full: a small write is buffered, a bigger one takes
     * what fits and times out, and the flush times out keeping it all. */
    tulip_scope_enter_timeout(&sc, TULIP_MS(10));
    assert_int_equal(tulip_stream_write(s, data, 10), 10);
    assert_int_equal(tulip_stream_write(s, data, 5000), 4086);
    /* With nothing taken, the result is the error, not 0. */
    assert_int_equal(tulip_stream_write(s, data, 10), -ETIMEDOUT);
    assert_int_equal(tulip_stream_flush(s), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    assert_int_equal(tulip_stream_pending(s), 4096);
    struct sink k = {sv[1], 0};
    tulip_task *t = tulip_spawn(sink_all, &k);
    assert_int_equal(tulip_stream_close(s), 0);
    assert_int_equal(tulip_join(t), 0);
    assert_int_equal(k.got, (size_t)n + 4096);
    free(data);
    assert_int_equal(tulip_close(sv[1]), 0);
    return 0;
}

static void test_deadlines(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_deadlines, NULL), 0);
}

/* ---- errors ------------------------------------------------------------------- */

static int main_errors(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    /* Close flushes what is buffered. */
    assert_int_equal(tulip_stream_write(s, "bye", 3), 3);
    assert_int_equal(tulip_stream_pending(s), 3);
    assert_int_equal(tulip_stream_close(s), 0);
    char buf[8];
    assert_int_equal(tulip_read(sv[1], buf, sizeof buf), 3);
    assert_int_equal(tulip_read(sv[1], buf, sizeof buf), 0);
    assert_int_equal(tulip_close(sv[1]), 0);

    /* A write to a closed peer fails with -EPIPE, and keeps failing. */
    pair(sv);
    s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    assert_int_equal(tulip_close(sv[1]), 0);
    assert_int_equal(tulip_stream_write(s, "x", 1), 1);
    assert_int_equal(tulip_stream_flush(s), -EPIPE);
    assert_int_equal(tulip_stream_write(s, "x", 1), -EPIPE);
    assert_int_equal(tulip_stream_flush(s), -EPIPE);
    assert_int_equal(tulip_stream_close(s), 0);

    /* Shutdown of a pipe is refused; the stream stays usable. */
    int pp[2];
    assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
    s = tulip_stream_new_fd(pp[1], TULIP_STREAM_OWN_FD);
    assert_int_equal(tulip_stream_shutdown(s), -ENOTSOCK);
    assert_int_equal(tulip_stream_write(s, "ok", 2), 2);
    assert_int_equal(tulip_stream_close(s), 0);
    assert_int_equal(tulip_read(pp[0], buf, sizeof buf), 2);
    assert_int_equal(tulip_close(pp[0]), 0);

    assert_null(tulip_stream_new_fd(-1, 0));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_stream_new_fd(0, 0x100));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(tulip_stream_read(NULL, buf, 1), -EINVAL);
    assert_int_equal(tulip_stream_close(NULL), 0);
    assert_int_equal(tulip_stream_fd(NULL), -1);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_errors, NULL), 0);
    /* Outside a task nothing can park. */
    int sv[2];
    pair(sv);
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    char b;
    assert_int_equal(tulip_stream_read(s, &b, 1), -EPERM);
    assert_int_equal(tulip_stream_write(s, "x", 1), -EPERM);
    assert_int_equal(tulip_stream_flush(s), -EPERM);
    assert_int_equal(tulip_stream_fd(s), sv[0]);
    assert_int_equal(tulip_stream_close(s), 0);
    close(sv[1]);
}

/* ---- fault injection ------------------------------------------------------- */

static int main_faults(void *p)
{
    (void)p;
    int sv[2];
    pair(sv);
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_null(tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_reset();
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    assert_non_null(s);
    assert_int_equal(tulip_write_all(sv[1], "data\n", 5, NULL), 5);
    /* No memory for the read buffer: nothing consumed from the socket. */
    char buf[16];
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), -ENOMEM);
    tulip_fault_reset();
    assert_int_equal(tulip_stream_readline(s, buf, sizeof buf), 5);
    /* No memory for the write buffer: nothing taken. */
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_int_equal(tulip_stream_write(s, "abc", 3), -ENOMEM);
    tulip_fault_reset();
    assert_int_equal(tulip_stream_pending(s), 0);
    assert_int_equal(tulip_stream_write(s, "abc", 3), 3);
    assert_int_equal(tulip_stream_close(s), 0);
    assert_int_equal(tulip_read(sv[1], buf, sizeof buf), 3);
    assert_int_equal(tulip_close(sv[1]), 0);
    return 0;
}

static void test_faults(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_faults, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_points),
        cmocka_unit_test(test_limits_and_eof),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_concurrent_flush),
        cmocka_unit_test(test_two_readers),
        cmocka_unit_test(test_cancel_read),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
