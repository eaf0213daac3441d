/* Subprocesses. Spawning is clone(CLONE_VM | CLONE_VFORK) + exec on a
 * stack of its own (see spawn()). Waiting parks on a pidfd, which becomes readable when the child
 * exits; without pidfd_open (Linux < 5.3, or no fd left) the wait polls
 * waitpid(WNOHANG) with a backoff instead, which needs no process-wide
 * SIGCHLD handler that an application might want for itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tulip/process.h"
#include "stream_internal.h"
#include "../common/fault.h"
#include "../platform/annotate.h"

extern char **environ;

struct tulip_process {
    pid_t pid;
    int pidfd;                 /* -1: poll waitpid instead */
    int reaped;
    int status;
    int waiting;               /* a task is in tulip_process_wait */
    int group;                 /* the child leads a process group of its own */
    tulip_stream *stdio[3];
};

void tulip_process_opts_init(tulip_process_opts *opts)
{
    memset(opts, 0, sizeof *opts);
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    static int unsupported;
    if (unsupported || tulip__fault(TULIP_FAULT_FD))
        return -1;
    /* pidfd_open's fds are close-on-exec. */
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0 && errno == ENOSYS)
        unsupported = 1;
    return fd;
#else
    (void)pid;
    return -1;
#endif
}

static int check_opts(const tulip_process_opts *o)
{
    if (!o || !o->argv || !o->argv[0] || (o->flags & ~(TULIP_PROCESS_NEW_GROUP | TULIP_PROCESS_NEW_SESSION)))
        return -EINVAL;
    for (int i = 0; i < 3; i++) {
        tulip_stdio_mode m = o->stdio[i].mode;
        if ((unsigned)m > TULIP_STDIO_STDOUT || (m == TULIP_STDIO_STDOUT && i != 2))
            return -EINVAL;
        if (m == TULIP_STDIO_FD && (o->stdio[i].fd < 0 || fcntl(o->stdio[i].fd, F_GETFD) < 0))
            return -EINVAL;
    }
    return 0;
}

static void close_pair(int p[2])
{
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0)
            close(p[i]);
    p[0] = p[1] = -1;
}

/* ---- the stdin pipe: writes that fail with -EPIPE, not SIGPIPE ---------- */

/* write(2) on a pipe whose reader is gone raises SIGPIPE, whose default
 * action kills the whole program (a child that exits without reading all
 * its input is ordinary). send(MSG_NOSIGNAL) exists only for sockets, so
 * the signal is blocked in this thread around the write, and a SIGPIPE it
 * raised is taken back before the mask is restored (one that was already
 * pending is left alone). */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t r = write(fd, buf, n);
    int err = errno;
    if (r < 0 && err == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return r;
}

/* tulip_write's loop with that write. */
static ssize_t pipe_write(void *t, int fd, const void *buf, size_t n)
{
    (void)t;
    struct tulip__fd *f;
    int rc = tulip__io_enter(fd, &f);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t r = write_nosigpipe(fd, buf, n);
        if (r >= 0)
            return r;
        if ((rc = tulip__io_retry(fd, TULIP_WRITABLE, &f)) < 0)
            return rc;
    }
}

static ssize_t pipe_read(void *t, int fd, void *buf, size_t n)
{
    (void)t;
    return tulip_read(fd, buf, n);
}

/* A pipe has no half-close: closing it is the end of its data. */
static int pipe_shutdown(void *t, int fd)
{
    (void)t;
    (void)fd;
    return -ENOTSOCK;
}

static void pipe_close(void *t, int fd)
{
    (void)t;
    (void)fd;
}

static const struct tulip__stream_ops stdin_ops = {
    .read = pipe_read,
    .write = pipe_write,
    .shutdown = pipe_shutdown,
    .close = pipe_close,
    .direct_write = 1,
};

/* Pipes and streams first, so that once the child runs nothing can fail. */
static int make_pipes(tulip_process *p, const tulip_process_opts *o, int pipes[3][2])
{
    for (int i = 0; i < 3; i++) {
        if (o->stdio[i].mode != TULIP_STDIO_PIPE)
            continue;
        if (tulip__fault(TULIP_FAULT_FD))
            return -errno;
        if (pipe2(pipes[i], O_CLOEXEC) < 0)
            return -errno;
        int mine = i == 0 ? pipes[i][1] : pipes[i][0];
        p->stdio[i] = i == 0 ? tulip__stream_new(mine, TULIP_STREAM_OWN_FD, &stdin_ops, NULL)
                             : tulip_stream_new_fd(mine, TULIP_STREAM_OWN_FD);
        if (!p->stdio[i])
            return -errno;
        /* The stream owns it now. */
        if (i == 0)
            pipes[i][1] = -1;
        else
            pipes[i][0] = -1;
    }
    return 0;
}

static int child_end(const tulip_process_opts *o, int pipes[3][2], int i)
{
    switch (o->stdio[i].mode) {
    case TULIP_STDIO_PIPE:
        return i == 0 ? pipes[i][0] : pipes[i][1];
    case TULIP_STDIO_FD:
        return o->stdio[i].fd;
    default:
        return -1;
    }
}

/* The child must not be instrumented: it runs on the parent's memory
 * between clone and exec (see spawn()), and sanitizer bookkeeping done
 * there (ASan stack poisoning, TSan shadow stacks) would land in the
 * parent's state. It calls only async-signal-safe libc functions. */
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define CHILD_UNINSTRUMENTED __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef CHILD_UNINSTRUMENTED
#define CHILD_UNINSTRUMENTED __attribute__((no_sanitize("address", "thread")))
#endif

struct child_args {
    const tulip_process_opts *o;
    int src[3];
    int errfd;
    const char *path;
    char *const *env;
};

/* The child, between clone and exec: it shares the parent's memory, so it
 * only touches its own locals and *a, and makes async-signal-safe calls.
 * All signals are blocked on entry, so no parent handler can run in it. */
CHILD_UNINSTRUMENTED static int child(void *arg)
{
    struct child_args *a = arg;
    const tulip_process_opts *o = a->o;
    int *src = a->src;
    /* Handlers are reset by exec anyway, but ignored signals (SIGPIPE!)
     * would leak into the child. The mask is emptied just before exec. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    if ((o->flags & TULIP_PROCESS_NEW_SESSION) ? setsid() < 0
        : (o->flags & TULIP_PROCESS_NEW_GROUP) ? setpgid(0, 0) < 0 : 0)
        goto fail;
    /* A source among 0..2 could be overwritten by an earlier dup2: move
     * it out of the way first. */
    for (int i = 0; i < 3; i++)
        if (src[i] >= 0 && src[i] < 3 && src[i] != i && (src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
            goto fail;
    for (int i = 0; i < 3; i++) {
        int fd = src[i];
        if (o->stdio[i].mode == TULIP_STDIO_NULL) {
            fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
            if (fd < 0)
                goto fail;
        } else if (o->stdio[i].mode == TULIP_STDIO_STDOUT) {
            fd = 1;
        }
        if (fd < 0)
            continue;
        if (fd == i) {
            int fl = fcntl(fd, F_GETFD);
            if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
                goto fail;
        } else if (dup2(fd, i) < 0) {
            goto fail;
        }
        if (o->stdio[i].mode == TULIP_STDIO_NULL)
            close(fd);
    }
    if (o->cwd && chdir(o->cwd) < 0)
        goto fail;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (strchr(a->path, '/'))
        execve(a->path, o->argv, a->env);
    else
        execvpe(a->path, o->argv, a->env);
fail:;
    int err = errno;
    ssize_t w = write(a->errfd, &err, sizeof err);
    (void)w;
    _exit(127);
}

#ifndef TULIP_TSAN
/* The child's stack: what execvpe needs (a PATH_MAX + NAME_MAX buffer, and
 * argv plus two pointers for a script without #!) with room to spare,
 * above a guard page. */
static size_t child_stack_size(const tulip_process_opts *o)
{
    size_t argc = 0;
    while (o->argv[argc])
        argc++;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t need = 64 * 1024 + (argc + 2) * sizeof(char *);
    return (need + page - 1) / page * page + page;
}
#endif

/* clone(CLONE_VM | CLONE_VFORK) + exec, with a close-on-exec pipe: the
 * child writes its errno into it only if exec fails, so the parent reads
 * either that or EOF.
 *
 * Sharing the address space means no page-table copy however many task
 * stacks are mapped. The child runs on a stack of its own, not on the
 * calling task's: vfork would run it on the task's stack, and
 * AddressSanitizer's vfork interceptor then unpoisons from the thread's
 * stack bottom to the task's stack pointer (not a range at all: the task
 * stack is elsewhere) and crashes any program built with -fsanitize=address
 * unless tulip itself was built with it and announced the fiber. clone is
 * not intercepted. The pipe keeps error reporting exact where CLONE_VM is
 * emulated by fork (valgrind). Under ThreadSanitizer (a tulip built with
 * it), vfork stays: TSan turns it into fork, and the child's libc calls
 * would otherwise update the parent's TSan state through its interceptors. */
static int spawn(tulip_process *p, const tulip_process_opts *o, int pipes[3][2])
{
    int errp[2];
    if (tulip__fault(TULIP_FAULT_FD))
        return -errno;
    if (pipe2(errp, O_CLOEXEC) < 0)
        return -errno;
    struct child_args a = {.o = o, .errfd = errp[1]};
    for (int i = 0; i < 3; i++)
        a.src[i] = child_end(o, pipes, i);
    a.path = o->path ? o->path : o->argv[0];
    a.env = o->envp ? o->envp : environ;
#ifndef TULIP_TSAN
    size_t size = child_stack_size(o);
    char *stack = tulip__fault(TULIP_FAULT_MMAP) ? MAP_FAILED
        : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        close(errp[0]);
        close(errp[1]);
        return -ENOMEM;
    }
    mprotect(stack, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE);
#endif
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
#ifndef TULIP_TSAN
    pid_t pid = clone(child, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
#else
    pid_t pid = vfork();
    if (pid == 0)
        child(&a);
#endif
    int err = pid < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
#ifndef TULIP_TSAN
    /* the child's libc calls ran through ASan's interceptors on this stack:
     * no redzone of theirs may outlive the mapping */
    tulip__asan_unpoison(stack, size);
    munmap(stack, size);
#endif
    close(errp[1]);
    if (pid > 0) {
        int child_err;
        ssize_t r;
        do
            r = read(errp[0], &child_err, sizeof child_err);
        while (r < 0 && errno == EINTR);
        if (r == (ssize_t)sizeof child_err) {
            err = child_err;
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
    }
    close(errp[0]);
    if (err)
        return -err;
    p->pid = pid;
    p->group = (o->flags & (TULIP_PROCESS_NEW_GROUP | TULIP_PROCESS_NEW_SESSION)) != 0;
    return 0;
}

static void free_streams(tulip_process *p)
{
    for (int i = 0; i < 3; i++)
        if (p->stdio[i]) {
            tulip__stream_discard(p->stdio[i]);
            tulip_stream_close(p->stdio[i]);
            p->stdio[i] = NULL;
        }
}

tulip_process *tulip_process_spawn(const tulip_process_opts *opts)
{
    int rc = check_opts(opts);
    if (rc) {
        errno = -rc;
        return NULL;
    }
    tulip_process *p = tulip__calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    p->pid = -1;
    p->pidfd = -1;
    int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    rc = make_pipes(p, opts, pipes);
    if (rc == 0)
        rc = spawn(p, opts, pipes);
    for (int i = 0; i < 3; i++)
        close_pair(pipes[i]);
    if (rc < 0) {
        free_streams(p);
        free(p);
        errno = -rc;
        return NULL;
    }
    p->pidfd = open_pidfd(p->pid);
    return p;
}

static void reaped(tulip_process *p, int status)
{
    p->reaped = 1;
    p->status = status;
    if (p->pidfd >= 0) {
        tulip_close(p->pidfd);
        p->pidfd = -1;
    }
}

int tulip_process_wait(tulip_process *p, int *status)
{
    if (!p)
        return -EINVAL;
    int rc = 0;
    int64_t backoff = TULIP_MS(1);
    tulip_task *t = tulip__current();
    if (!p->reaped) {
        if (!t)
            return -EPERM;
        if (p->waiting)
            return -EBUSY;
        if ((rc = tulip__checkpoint_status(t)))
            return rc;
        p->waiting = 1;
    }
    while (!p->reaped) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            reaped(p, st);
            break;
        }
        if (r < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (r < 0)
            continue;
        if (p->pidfd >= 0) {
            rc = tulip__wait_fd(p->pidfd, TULIP_READABLE, 1);
        } else {
            rc = tulip_sleep(backoff);
            if (backoff < TULIP_MS(50))
                backoff *= 2;
        }
        if (rc < 0)
            break;
        rc = 0;
    }
    p->waiting = 0;
    if (rc < 0)
        return rc;
    if (status)
        *status = p->status;
    return 0;
}

int tulip_process_kill(tulip_process *p, int sig)
{
    if (!p || sig < 0 || sig >= NSIG)
        return -EINVAL;
    if (p->reaped)
        return -ESRCH;
    /* Until reaped the pid cannot be reused, so kill(2) is exact. */
    return kill(p->pid, sig) == 0 ? 0 : -errno;
}

int tulip_process_kill_group(tulip_process *p, int sig)
{
    if (!p || sig < 0 || sig >= NSIG || !p->group)
        return -EINVAL;
    return kill(-p->pid, sig) == 0 ? 0 : -errno;
}

pid_t tulip_process_pid(const tulip_process *p)
{
    return p ? p->pid : -1;
}

tulip_stream *tulip_process_stdin(tulip_process *p)
{
    return p ? p->stdio[0] : NULL;
}

tulip_stream *tulip_process_stdout(tulip_process *p)
{
    return p ? p->stdio[1] : NULL;
}

tulip_stream *tulip_process_stderr(tulip_process *p)
{
    return p ? p->stdio[2] : NULL;
}

int tulip_process_close_stdin(tulip_process *p)
{
    if (!p)
        return -EINVAL;
    if (!p->stdio[0])
        return -ENOENT;
    tulip_stream *s = p->stdio[0];
    p->stdio[0] = NULL;
    return tulip_stream_close(s);
}

int tulip_process_free(tulip_process *p)
{
    if (!p)
        return 0;
    if (p->waiting)
        return -EBUSY;
    for (int i = 0; i < 3; i++)
        if (p->stdio[i] && tulip__stream_busy(p->stdio[i]))
            return -EBUSY;
    free_streams(p);
    if (!p->reaped) {
        kill(p->group ? -p->pid : p->pid, SIGKILL);
        int st = 0;
        pid_t r;
        do
            r = waitpid(p->pid, &st, 0);
        while (r < 0 && errno == EINTR);
        reaped(p, st);
    }
    free(p);
    return 0;
}
