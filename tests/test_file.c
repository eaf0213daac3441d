/* tulip_file_*: open, pread/pwrite at offsets, fsync, stat, read-whole-file,
 * errors; and the loop keeps running other tasks while a file read waits
 * (a FIFO: the writer is a task on the same loop, so the read can only
 * complete if the loop ran it meanwhile). On every backend. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tulip.h"
#include "test_util.h"

static char path[64];

static int basics_body(void *arg)
{
    (void)arg;
    int fd = tulip_file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(tulip_file_pwrite(fd, big, sizeof big, 0), (ssize_t)sizeof big);
    assert_int_equal(tulip_file_pwrite(fd, "XYZ", 3, 10), 3);
    assert_int_equal(tulip_file_fsync(fd, false), 0);
    assert_int_equal(tulip_file_fsync(fd, true), 0);
    char b[8];
    assert_int_equal(tulip_file_pread(fd, b, 5, 8), 5);
    assert_memory_equal(b, "ijXYZ", 5);
    assert_int_equal(tulip_file_pread(fd, b, 8, (int64_t)sizeof big), 0); /* end of file */
    /* off < 0: the file position (untouched by pread/pwrite). */
    assert_int_equal(tulip_file_pread(fd, b, 3, -1), 3);
    assert_memory_equal(b, "abc", 3);
    assert_int_equal(tulip_file_pread(fd, b, 3, -1), 3);
    assert_memory_equal(b, "def", 3);
    struct stat st, st2;
    assert_int_equal(tulip_file_fstat(fd, &st), 0);
    assert_int_equal(st.st_size, (off_t)sizeof big);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(tulip_file_stat(path, &st2), 0);
    assert_int_equal(st2.st_ino, st.st_ino);
    assert_int_equal(tulip_close(fd), 0);

    char *all;
    assert_int_equal(tulip_file_read_all(path, &all, 0), (ssize_t)sizeof big);
    assert_memory_equal(all, "abcdefghijXYZnop", 16);
    assert_int_equal(all[sizeof big], '\0');
    free(all);
    assert_int_equal(tulip_file_read_all(path, &all, 1000), -EFBIG);
    assert_null(all);
    assert_int_equal(tulip_file_read_all(path, &all, sizeof big), (ssize_t)sizeof big);
    free(all);

    /* Errors are -errno. */
    assert_int_equal(tulip_file_open("/nonexistent/x", O_RDONLY, 0), -ENOENT);
    assert_int_equal(tulip_file_stat("/nonexistent/x", &st), -ENOENT);
    assert_int_equal(tulip_file_read_all("/nonexistent/x", &all, 0), -ENOENT);
    assert_int_equal(tulip_file_pread(-1, b, 1, 0), -EBADF);
    assert_int_equal(tulip_file_pwrite(-1, b, 1, 0), -EBADF);
    assert_int_equal(tulip_file_fsync(-1, false), -EBADF);
    assert_int_equal(tulip_file_open(NULL, O_RDONLY, 0), -EINVAL);
    unlink(path);
    return 0;
}

static void test_basics(void **state)
{
    (void)state;
    assert_int_equal(test_run(basics_body, NULL), 0);
    struct stat st;
    assert_int_equal(tulip_file_stat("/", &st), -EPERM); /* not in a task */
}

/* ---- reads partly in the page cache ---------------------------------------
 * On io_uring a small read is tried inline with RWF_NOWAIT first and the
 * rest (not cached, or past the end) goes to io-wq: the count must be what
 * pread(2) gives, whatever was cached. The cache of the second half is
 * dropped (as far as the kernel does; the result must not depend on it). */
static int partly_body(void *arg)
{
    (void)arg;
    enum { N = 12288 };
    char data[N], b[N + 4096];
    for (size_t i = 0; i < N; i++)
        data[i] = (char)('A' + i % 23);
    int fd = tulip_file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(tulip_file_pwrite(fd, data, N, 0), N);
    assert_int_equal(tulip_file_fsync(fd, false), 0);
    for (int round = 0; round < 3; round++) {
        posix_fadvise(fd, 4096, 0, POSIX_FADV_DONTNEED);
        memset(b, 0, sizeof b);
        assert_int_equal(tulip_file_pread(fd, b, 4096, 0), 4096); /* the first page cached */
        assert_int_equal(tulip_file_pread(fd, b, N, 0), N);
        assert_memory_equal(b, data, N);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        assert_int_equal(tulip_file_pread(fd, b, sizeof b, 0), N); /* short only at the end */
        assert_memory_equal(b, data, N);
        assert_int_equal(tulip_file_pread(fd, b, 100, N - 10), 10);
        assert_int_equal(tulip_file_pread(fd, b, 100, N), 0);
        assert_int_equal(tulip_file_pread(fd, b, 100, N + 5000), 0);
    }
    assert_int_equal(tulip_close(fd), 0);
    unlink(path);
    return 0;
}

static void test_pread_partly_cached(void **state)
{
    (void)state;
    assert_int_equal(test_run(partly_body, NULL), 0);
}

/* ---- the loop runs while a read waits ------------------------------------ */

struct fifo {
    int reading;       /* the reader is inside tulip_file_pread */
    int writer_steps;  /* progress of the other task meanwhile */
    int wfd;
};

static int fifo_writer(void *arg)
{
    struct fifo *f = arg;
    f->wfd = tulip_file_open(path, O_WRONLY, 0);
    if (f->wfd < 0)
        return f->wfd;
    while (!f->reading)
        tulip_yield();
    for (int i = 0; i < 10; i++) {
        f->writer_steps++;
        tulip_yield();
    }
    return (int)tulip_file_pwrite(f->wfd, "ping", 4, -1);
}

static int fifo_body(void *arg)
{
    (void)arg;
    struct fifo f = {0, 0, -1};
    tulip_task *w = tulip_spawn(fifo_writer, &f);
    int fd = tulip_file_open(path, O_RDONLY, 0); /* waits for the writer's open */
    assert_true(fd >= 0);
    char b[8];
    f.reading = 1;
    /* The data comes from a task of this loop that runs only after this
     * read started: the read returns only if the loop kept running. */
    ssize_t n = tulip_file_pread(fd, b, sizeof b, -1);
    assert_int_equal(n, 4);
    assert_memory_equal(b, "ping", 4);
    assert_int_equal(f.writer_steps, 10);
    assert_int_equal(tulip_join(w), 4);
    tulip_close(f.wfd);
    /* EOF once the writer is gone. */
    assert_int_equal(tulip_file_pread(fd, b, sizeof b, -1), 0);
    tulip_close(fd);
    return 0;
}

static void test_fifo_read_does_not_block_loop(void **state)
{
    (void)state;
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(test_run(fifo_body, NULL), 0);
    unlink(path);
}

/* ---- a cancelled read on a FIFO ----------------------------------------- */

static int fifo_read_task(void *arg)
{
    char b[8];
    return (int)tulip_file_pread((int)(intptr_t)arg, b, sizeof b, -1);
}

static int fifo_cancel_body(void *arg)
{
    (void)arg;
    int rfd = tulip_file_open(path, O_RDWR, 0); /* O_RDWR: open does not wait */
    assert_true(rfd >= 0);
    tulip_task *t = tulip_spawn(fifo_read_task, (void *)(intptr_t)rfd);
    tulip_yield();
    tulip_yield();
    tulip_cancel(t);
    /* The read is cancelled in the kernel and waited for: nothing was
     * read, and the next read gets what comes next. */
    assert_int_equal(tulip_join(t), -ECANCELED);
    assert_int_equal(tulip_file_pwrite(rfd, "abc", 3, -1), 3);
    char b[8];
    assert_int_equal(tulip_file_pread(rfd, b, sizeof b, -1), 3);
    assert_memory_equal(b, "abc", 3);
    tulip_close(rfd);
    return 0;
}

static int fifo_cancel_ring_only(void)
{
    const char *b = getenv("TULIP_BACKEND");
    return b && strcmp(b, "io_uring") == 0;
}

static void test_fifo_cancel(void **state)
{
    (void)state;
    if (!fifo_cancel_ring_only())
        skip(); /* on the pool a started blocking read is waited for */
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(test_run(fifo_cancel_body, NULL), 0);
    unlink(path);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/tulip-test-file-%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_pread_partly_cached),
        cmocka_unit_test(test_fifo_read_does_not_block_loop),
        cmocka_unit_test(test_fifo_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
