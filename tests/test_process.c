/* Subprocesses: spawn, pipes as streams, exit and signal statuses, kill,
 * cancelled waits, a pipeline, stdio modes, faults; never a zombie. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <pthread.h>
#include <time.h>
#include <ucontext.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#ifdef __has_feature
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#endif
#ifdef TEST_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#include "tulip/testing.h"

static void assert_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static tulip_process *spawn_argv(char *const *argv, int in, int out, int err)
{
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = argv;
    o.stdio[0].mode = (tulip_stdio_mode)in;
    o.stdio[1].mode = (tulip_stdio_mode)out;
    o.stdio[2].mode = (tulip_stdio_mode)err;
    tulip_process *p = tulip_process_spawn(&o);
    if (!p)
        fail_msg("spawn %s: %s", argv[0], strerror(errno));
    return p;
}

/* Read a stream to its end into buf (NUL-terminated); returns the length. */
static size_t slurp(tulip_stream *s, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while ((r = tulip_stream_read(s, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    assert_int_equal(r, 0);
    buf[n] = 0;
    return n;
}

static int wait_status(tulip_process *p)
{
    int st = -1;
    assert_int_equal(tulip_process_wait(p, &st), 0);
    return st;
}

/* ---- echo, cat ---------------------------------------------------------- */

static int main_echo(void *arg)
{
    (void)arg;
    char *argv[] = {"/bin/echo", "hello", "world", NULL};
    tulip_process *p = spawn_argv(argv, TULIP_STDIO_INHERIT, TULIP_STDIO_PIPE, TULIP_STDIO_INHERIT);
    assert_true(tulip_process_pid(p) > 0);
    assert_null(tulip_process_stdin(p));
    assert_null(tulip_process_stderr(p));
    char buf[64];
    assert_int_equal(tulip_stream_readline(tulip_process_stdout(p), buf, sizeof buf), 12);
    assert_memory_equal(buf, "hello world\n", 12);
    assert_int_equal(tulip_stream_read(tulip_process_stdout(p), buf, sizeof buf), 0);
    int st = wait_status(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* Reaped: the same status again, and no more signals. */
    assert_int_equal(wait_status(p), st);
    assert_int_equal(tulip_process_kill(p, SIGTERM), -ESRCH);
    tulip_process_free(p);
    assert_no_children();
    return 0;
}

static void test_echo(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_echo, NULL), 0);
}

struct feed {
    tulip_process *p;
    const char *data;
    size_t len;
};

static int feeder(void *arg)
{
    struct feed *f = arg;
    tulip_stream *in = tulip_process_stdin(f->p);
    for (size_t off = 0; off < f->len; off += 1000) {
        size_t k = f->len - off < 1000 ? f->len - off : 1000;
        assert_int_equal(tulip_stream_write(in, f->data + off, k), (ssize_t)k);
    }
    return tulip_process_close_stdin(f->p);
}

static int main_cat(void *arg)
{
    (void)arg;
    char *argv[] = {"/bin/cat", NULL};
    tulip_process *p = spawn_argv(argv, TULIP_STDIO_PIPE, TULIP_STDIO_PIPE, TULIP_STDIO_INHERIT);
    /* More than a pipe holds, so feeding and reading must overlap. */
    size_t len = 300000;
    char *data = malloc(len), *back = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 26);
    struct feed f = {p, data, len};
    tulip_task *t = tulip_spawn(feeder, &f);
    assert_int_equal(slurp(tulip_process_stdout(p), back, len + 1), len);
    assert_memory_equal(back, data, len);
    assert_int_equal(tulip_join(t), 0);
    assert_null(tulip_process_stdin(p));
    assert_int_equal(tulip_process_close_stdin(p), -ENOENT);
    int st = wait_status(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    tulip_process_free(p);
    free(data);
    free(back);
    assert_no_children();
    return 0;
}

static void test_cat(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_cat, NULL), 0);
}

/* ---- failures, statuses, kill -------------------------------------------- */

static int main_statuses(void *arg)
{
    (void)arg;
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    char *missing[] = {"/nonexistent/program", NULL};
    o.argv = missing;
    assert_null(tulip_process_spawn(&o));
    assert_int_equal(errno, ENOENT);
    char *missing_path[] = {"tulip-no-such-program-in-path", NULL};
    o.argv = missing_path;
    assert_null(tulip_process_spawn(&o));
    assert_int_equal(errno, ENOENT);
    char *truearg[] = {"/bin/true", NULL};
    o.argv = truearg;
    o.cwd = "/nonexistent/dir";
    assert_null(tulip_process_spawn(&o));
    assert_int_equal(errno, ENOENT);
    o.cwd = NULL;
    o.stdio[1].mode = TULIP_STDIO_FD;
    o.stdio[1].fd = -1;
    assert_null(tulip_process_spawn(&o));
    assert_int_equal(errno, EINVAL);
    o.stdio[1].mode = TULIP_STDIO_STDOUT; /* only for stderr */
    assert_null(tulip_process_spawn(&o));
    assert_int_equal(errno, EINVAL);
    assert_null(tulip_process_spawn(NULL));
    assert_int_equal(errno, EINVAL);

    char *exit3[] = {"/bin/sh", "-c", "exit 3", NULL};
    tulip_process *p = spawn_argv(exit3, TULIP_STDIO_NULL, TULIP_STDIO_NULL, TULIP_STDIO_INHERIT);
    int st = wait_status(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
    tulip_process_free(p);

    char *selfkill[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    p = spawn_argv(selfkill, TULIP_STDIO_NULL, TULIP_STDIO_NULL, TULIP_STDIO_INHERIT);
    st = wait_status(p);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGTERM);
    tulip_process_free(p);

    /* cat blocks on its stdin pipe until killed. */
    char *cat[] = {"/bin/cat", NULL};
    p = spawn_argv(cat, TULIP_STDIO_PIPE, TULIP_STDIO_NULL, TULIP_STDIO_INHERIT);
    assert_int_equal(tulip_process_kill(p, SIGKILL), 0);
    st = wait_status(p);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    assert_int_equal(tulip_process_kill(p, -1), -EINVAL);
    tulip_process_free(p);

    /* Freed while running: killed and reaped. */
    p = spawn_argv(cat, TULIP_STDIO_PIPE, TULIP_STDIO_NULL, TULIP_STDIO_INHERIT);
    assert_int_equal(tulip_stream_write(tulip_process_stdin(p), "unsent", 6), 6);
    tulip_process_free(p);
    assert_no_children();
    return 0;
}

static void test_statuses(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_statuses, NULL), 0);
}

/* ---- cancelled waits ------------------------------------------------------- */

static int waiter(void *arg)
{
    return tulip_process_wait(arg, NULL);
}

static int main_cancel_wait(void *arg)
{
    (void)arg;
    char *cat[] = {"/bin/cat", NULL};
    tulip_process *p = spawn_argv(cat, TULIP_STDIO_PIPE, TULIP_STDIO_PIPE, TULIP_STDIO_INHERIT);
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_MS(20));
    assert_int_equal(tulip_process_wait(p, NULL), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);

    /* One waiter at a time; a cancelled waiter leaves p waitable. */
    tulip_task *t = tulip_spawn(waiter, p);
    assert_int_equal(tulip_yield(), 0);
    assert_int_equal(tulip_process_wait(p, NULL), -EBUSY);
    assert_int_equal(tulip_cancel(t), 0);
    assert_int_equal(tulip_join(t), -ECANCELED);

    /* Still running, still reapable: end it by closing its stdin. */
    assert_int_equal(tulip_stream_write(tulip_process_stdin(p), "last\n", 5), 5);
    assert_int_equal(tulip_process_close_stdin(p), 0);
    char buf[16];
    assert_int_equal(slurp(tulip_process_stdout(p), buf, sizeof buf), 5);
    int st = wait_status(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    tulip_process_free(p);
    assert_no_children();
    return 0;
}

static void test_cancel_wait(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(main_cancel_wait, NULL), 0);
    /* Outside a task a running child cannot be waited for. */
    char *cat[] = {"/bin/cat", NULL};
    tulip_process *p = spawn_argv(cat, TULIP_STDIO_NULL, TULIP_STDIO_NULL, TULIP_STDIO_INHERIT);
    assert_int_equal(tulip_process_wait(p, NULL), -EPERM);
    tulip_process_free(p);
    assert_no_children();
}

/* ---- pipeline: producer | tr a-z A-Z | (copy task) | wc -c ---------------- */

#define LINE "hello pipeline\n"

struct pipeline {
    tulip_process *tr, *wc;
    size_t lines;
    size_t copied;
    int bad;
};

static int produce(void *arg)
{
    struct pipeline *pl = arg;
    tulip_stream *in = tulip_process_stdin(pl->tr);
    for (size_t i = 0; i < pl->lines; i++)
        assert_int_equal(tulip_stream_write(in, LINE, sizeof LINE - 1), (ssize_t)sizeof LINE - 1);
    return tulip_process_close_stdin(pl->tr);
}

static int copy_upper(void *arg)
{
    struct pipeline *pl = arg;
    tulip_stream *from = tulip_process_stdout(pl->tr), *to = tulip_process_stdin(pl->wc);
    char line[64];
    ssize_t n;
    while ((n = tulip_stream_readline(from, line, sizeof line)) > 0) {
        if (n != (ssize_t)sizeof LINE - 1 || memcmp(line, "HELLO PIPELINE\n", (size_t)n) != 0)
            pl->bad = 1;
        assert_int_equal(tulip_stream_write(to, line, (size_t)n), n);
        pl->copied += (size_t)n;
    }
    assert_int_equal(n, 0); /* EOF on a line boundary: nothing left */
    assert_int_equal(tulip_stream_buffered(from), 0);
    return tulip_process_close_stdin(pl->wc);
}

static int main_pipeline(void *arg)
{
    (void)arg;
    char *tr[] = {"tr", "a-z", "A-Z", NULL};
    char *wc[] = {"wc", "-c", NULL};
    struct pipeline pl = {0};
    pl.tr = spawn_argv(tr, TULIP_STDIO_PIPE, TULIP_STDIO_PIPE, TULIP_STDIO_INHERIT);
    pl.wc = spawn_argv(wc, TULIP_STDIO_PIPE, TULIP_STDIO_PIPE, TULIP_STDIO_INHERIT);
    pl.lines = 20000;
    tulip_group *g = tulip_group_new();
    assert_int_equal(tulip_group_spawn(g, produce, &pl), 0);
    assert_int_equal(tulip_group_spawn(g, copy_upper, &pl), 0);
    char out[64];
    slurp(tulip_process_stdout(pl.wc), out, sizeof out);
    assert_int_equal(tulip_group_wait(g), 0);
    tulip_group_free(g);
    size_t total = pl.lines * (sizeof LINE - 1);
    assert_int_equal(strtoul(out, NULL, 10), total);
    assert_int_equal(pl.copied, total);
    assert_int_equal(pl.bad, 0);
    assert_int_equal(wait_status(pl.tr), 0);
    assert_int_equal(wait_status(pl.wc), 0);
    tulip_process_free(pl.tr);
    tulip_process_free(pl.wc);
    assert_no_children();
    return 0;
}

static void test_pipeline(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_pipeline, NULL), 0);
}

/* ---- env, cwd and stdio modes --------------------------------------------- */

static int main_stdio(void *arg)
{
    (void)arg;
    char buf[256];
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    char *sh[] = {"/bin/sh", "-c", "echo \"$FOO\"; pwd; echo err >&2", NULL};
    char *env[] = {"FOO=bar baz", NULL};
    o.argv = sh;
    o.envp = env;
    o.cwd = "/";
    o.stdio[0].mode = TULIP_STDIO_NULL;
    o.stdio[1].mode = TULIP_STDIO_PIPE;
    o.stdio[2].mode = TULIP_STDIO_STDOUT;
    tulip_process *p = tulip_process_spawn(&o);
    assert_non_null(p);
    slurp(tulip_process_stdout(p), buf, sizeof buf);
    assert_string_equal(buf, "bar baz\n/\nerr\n");
    assert_int_equal(wait_status(p), 0);
    tulip_process_free(p);

    /* stdout to a given fd (a socketpair end), stderr to its own pipe. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    o.envp = NULL;
    o.cwd = NULL;
    char *sh2[] = {"/bin/sh", "-c", "echo to-fd; echo to-pipe >&2", NULL};
    o.argv = sh2;
    o.stdio[1].mode = TULIP_STDIO_FD;
    o.stdio[1].fd = sv[1];
    o.stdio[2].mode = TULIP_STDIO_PIPE;
    p = tulip_process_spawn(&o);
    assert_non_null(p);
    assert_null(tulip_process_stdout(p));
    slurp(tulip_process_stderr(p), buf, sizeof buf);
    assert_string_equal(buf, "to-pipe\n");
    assert_int_equal(wait_status(p), 0);
    tulip_process_free(p);
    assert_int_equal(tulip_close(sv[1]), 0); /* still ours */
    tulip_stream *s = tulip_stream_new_fd(sv[0], TULIP_STREAM_OWN_FD);
    slurp(s, buf, sizeof buf);
    assert_string_equal(buf, "to-fd\n");
    assert_int_equal(tulip_stream_close(s), 0);

    /* stdin from /dev/null: cat ends at once. */
    char *cat[] = {"/bin/cat", NULL};
    p = spawn_argv(cat, TULIP_STDIO_NULL, TULIP_STDIO_PIPE, TULIP_STDIO_INHERIT);
    assert_int_equal(slurp(tulip_process_stdout(p), buf, sizeof buf), 0);
    assert_int_equal(wait_status(p), 0);
    tulip_process_free(p);
    assert_no_children();
    return 0;
}

static void test_stdio(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_stdio, NULL), 0);
}

/* ---- faults ------------------------------------------------------------------ */

/* Without a pidfd, waits poll: still cancellable, still exact. */
static int main_wait_fallback(void *arg)
{
    tulip_process *p = arg;
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_MS(20));
    assert_int_equal(tulip_process_wait(p, NULL), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&sc), -ETIMEDOUT);
    assert_int_equal(tulip_process_close_stdin(p), 0);
    int st = wait_status(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}

static void test_faults(void **state)
{
    (void)state;
    char *cat[] = {"/bin/cat", NULL};
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = cat;
    for (int i = 0; i < 3; i++)
        o.stdio[i].mode = TULIP_STDIO_PIPE;
    /* Every allocation and every fd in turn: a clean failure, no child. */
    for (unsigned long nth = 1; nth <= 4; nth++) {
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        assert_null(tulip_process_spawn(&o));
        assert_int_equal(errno, ENOMEM);
        tulip_fault_reset();
        assert_no_children();
    }
    /* Three pipes and the exec-error pipe. */
    for (unsigned long nth = 1; nth <= 4; nth++) {
        tulip_fault_arm(TULIP_FAULT_FD, nth, 0);
        assert_null(tulip_process_spawn(&o));
        assert_int_equal(errno, EMFILE);
        tulip_fault_reset();
        assert_no_children();
    }
#ifndef TEST_TSAN
    /* The child's own stack (a TSan build forks instead: no stack). */
    tulip_fault_arm(TULIP_FAULT_MMAP, 1, 0);
    assert_null(tulip_process_spawn(&o));
    assert_int_equal(errno, ENOMEM);
    tulip_fault_reset();
    assert_no_children();
#endif
    /* The pidfd failing is not fatal: waits fall back to polling. */
    tulip_fault_arm(TULIP_FAULT_FD, 5, 0);
    tulip_process *p = tulip_process_spawn(&o);
    tulip_fault_reset();
    assert_non_null(p);
    assert_int_equal(test_run(main_wait_fallback, p), 0);
    tulip_process_free(p);
    assert_no_children();
}

/* ---- spawning from a stack the sanitizer was not told about -------------- */

/* A program built with -fsanitize=address over a tulip built without it
 * runs every task on a stack ASan knows nothing of. vfork there crashed:
 * ASan's vfork interceptor unpoisons the shadow from the thread's stack
 * bottom up to the current stack pointer, which is not on that stack. A
 * ucontext stack of our own, never announced, is the same situation in
 * this (sanitized or not) build. */

static ucontext_t uc_main, uc_side;
#ifdef TEST_TSAN
/* ThreadSanitizer cannot follow a switch it is not told of. */
static void *tsan_main, *tsan_side;
#endif
static tulip_process *side_spawned;
static int side_errno;

static void side(void)
{
    char *argv[] = {"/bin/sh", "-c", "exit 7", NULL};
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = argv;
    side_spawned = tulip_process_spawn(&o);
    side_errno = errno;
#ifdef TEST_TSAN
    __tsan_switch_to_fiber(tsan_main, 0);
#endif
}

static int main_wait_side(void *arg)
{
    int st = wait_status(arg);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 7);
    return 0;
}

static void test_unannounced_stack(void **state)
{
    (void)state;
    size_t size = 256 * 1024;
    void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    assert_true(stack != MAP_FAILED);
    assert_int_equal(getcontext(&uc_side), 0);
    uc_side.uc_stack.ss_sp = stack;
    uc_side.uc_stack.ss_size = size;
    uc_side.uc_link = &uc_main;
    makecontext(&uc_side, side, 0);
#ifdef TEST_TSAN
    tsan_main = __tsan_get_current_fiber();
    tsan_side = __tsan_create_fiber(0);
    __tsan_switch_to_fiber(tsan_side, 0);
#endif
    assert_int_equal(swapcontext(&uc_main, &uc_side), 0);
#ifdef TEST_TSAN
    __tsan_destroy_fiber(tsan_side);
#endif
    munmap(stack, size);
    if (!side_spawned)
        fail_msg("spawn from a foreign stack: %s", strerror(side_errno));
    assert_int_equal(test_run(main_wait_side, side_spawned), 0);
    tulip_process_free(side_spawned);
    assert_no_children();
}

/* ---- process groups and sessions ------------------------------------------ */

static int main_groups(void *arg)
{
    (void)arg;
    char *cat[] = {"/bin/cat", NULL};
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = cat;
    o.stdio[0].mode = TULIP_STDIO_PIPE;
    /* By default the child stays in our group and session. */
    tulip_process *p = tulip_process_spawn(&o);
    assert_non_null(p);
    assert_int_equal(getpgid(tulip_process_pid(p)), getpgrp());
    assert_int_equal(getsid(tulip_process_pid(p)), getsid(0));
    assert_int_equal(tulip_process_kill_group(p, SIGTERM), -EINVAL);
    tulip_process_free(p);

    o.flags = TULIP_PROCESS_NEW_GROUP;
    p = tulip_process_spawn(&o);
    assert_non_null(p);
    pid_t pid = tulip_process_pid(p);
    assert_int_equal(getpgid(pid), pid);
    assert_int_equal(getsid(pid), getsid(0));
    assert_int_equal(tulip_process_kill_group(p, -1), -EINVAL);
    assert_int_equal(tulip_process_kill_group(p, SIGTERM), 0);
    int st = wait_status(p);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    /* Its group died with it. */
    assert_int_equal(tulip_process_kill_group(p, 0), -ESRCH);
    tulip_process_free(p);

    o.flags = TULIP_PROCESS_NEW_SESSION;
    p = tulip_process_spawn(&o);
    assert_non_null(p);
    pid = tulip_process_pid(p);
    assert_int_equal(getpgid(pid), pid);
    assert_int_equal(getsid(pid), pid);
    tulip_process_free(p);

    o.flags = 4;
    assert_null(tulip_process_spawn(&o));
    assert_int_equal(errno, EINVAL);
    assert_no_children();
    return 0;
}

static void test_groups(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_groups, NULL), 0);
}

/* A shell whose command outlives it holds the shell's stdout: killing the
 * shell leaves the pipe open, killing its group closes it. */
static int main_group_kill_closes_pipe(void *arg)
{
    (void)arg;
    char *sh[] = {"/bin/sh", "-c", "sleep 1000 & echo started; wait", NULL};
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = sh;
    o.stdio[0].mode = TULIP_STDIO_NULL;
    o.stdio[1].mode = TULIP_STDIO_PIPE;
    o.flags = TULIP_PROCESS_NEW_GROUP;
    tulip_process *p = tulip_process_spawn(&o);
    assert_non_null(p);
    tulip_stream *out = tulip_process_stdout(p);
    char line[32];
    /* sleep was forked (holding the pipe) before echo ran. */
    assert_int_equal(tulip_stream_readline(out, line, sizeof line), 8);
    assert_int_equal(tulip_process_kill(p, SIGKILL), 0);
    int st = wait_status(p);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* The shell is gone, yet its stdout has no end: sleep still holds it. */
    struct pollfd pf = {.fd = tulip_stream_fd(out), .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 0);
    /* The group outlives its leader; signalling it reaches sleep. */
    assert_int_equal(tulip_process_kill_group(p, SIGKILL), 0);
    assert_int_equal(tulip_stream_read(out, line, sizeof line), 0);
    tulip_process_free(p);
    assert_no_children();

    /* Freeing a running child started in its own session kills the whole
     * session's group: the grandchild's hold on our pipe ends. */
    int hold[2];
    assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
    o.stdio[1].mode = TULIP_STDIO_PIPE;
    o.stdio[2].mode = TULIP_STDIO_FD;
    o.stdio[2].fd = hold[1];
    o.flags = TULIP_PROCESS_NEW_SESSION;
    p = tulip_process_spawn(&o);
    assert_non_null(p);
    assert_int_equal(tulip_stream_readline(tulip_process_stdout(p), line, sizeof line), 8);
    tulip_process_free(p);
    close(hold[1]);
    tulip_stream *h = tulip_stream_new_fd(hold[0], TULIP_STREAM_OWN_FD);
    assert_non_null(h);
    assert_int_equal(tulip_stream_read(h, line, sizeof line), 0);
    assert_int_equal(tulip_stream_close(h), 0);
    assert_no_children();
    return 0;
}

static void test_group_kill_closes_pipe(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_group_kill_closes_pipe, NULL), 0);
}

/* ---- a child that stops reading: -EPIPE, not SIGPIPE -------------------- */

static int sigpipe_pending(void)
{
    sigset_t set;
    sigpending(&set);
    return sigismember(&set, SIGPIPE);
}

static int main_stdin_epipe(void *arg)
{
    (void)arg;
    char *truearg[] = {"/bin/true", NULL};
    tulip_process *p = spawn_argv(truearg, TULIP_STDIO_PIPE, TULIP_STDIO_NULL, TULIP_STDIO_INHERIT);
    assert_int_equal(wait_status(p), 0);
    /* Its stdin has no reader now: writing used to kill this program. */
    tulip_stream *in = tulip_process_stdin(p);
    assert_int_equal(tulip_stream_write(in, "hello\n", 6), 6);
    assert_int_equal(tulip_process_close_stdin(p), -EPIPE); /* its flush */
    assert_false(sigpipe_pending());
    tulip_process_free(p);

    /* A large direct write (past the stream buffer) too; and a SIGPIPE
     * that was pending before is not taken away. */
    p = spawn_argv(truearg, TULIP_STDIO_PIPE, TULIP_STDIO_NULL, TULIP_STDIO_INHERIT);
    assert_int_equal(wait_status(p), 0);
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    raise(SIGPIPE);
    size_t big = 1 << 20;
    char *data = calloc(1, big);
    assert_int_equal(tulip_stream_write(tulip_process_stdin(p), data, big), -EPIPE);
    assert_int_equal(tulip_stream_flush(tulip_process_stdin(p)), -EPIPE);
    free(data);
    assert_true(sigpipe_pending());
    struct timespec zero = {0, 0};
    assert_int_equal(sigtimedwait(&pipe_set, NULL, &zero), SIGPIPE);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    tulip_process_free(p);
    assert_no_children();
    return 0;
}

static void test_stdin_epipe(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_stdin_epipe, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_cat),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_cancel_wait),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_stdio),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_unannounced_stack),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_group_kill_closes_pipe),
        cmocka_unit_test(test_stdin_epipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
