/* Subprocesses (asyncio.create_subprocess_exec): spawn with argv, env and
 * cwd; each of stdin/stdout/stderr inherited, piped (then a tulip stream),
 * /dev/null or a given fd; optionally in a process group or session of its
 * own; wait (parks, cancellable), kill the child or its whole group. Every
 * child is reaped: by tulip_process_wait, or at the latest by
 * tulip_process_free.
 *
 * Where spawning works: from a task (on its coroutine stack) or from plain
 * code outside any loop, on any thread, including the thread pool. The
 * child is started with clone(CLONE_VM | CLONE_VFORK) on a small stack of
 * its own, never vfork on the caller's stack, so programs built with
 * -fsanitize=address (and/or undefined) work whether or not tulip itself
 * was built with the sanitizer, and under valgrind. A program built with
 * -fsanitize=thread needs a tulip built with it too (TSan must be told
 * about every coroutine switch; that holds for all of tulip, not only
 * here). */
#ifndef TULIP_PROCESS_H
#define TULIP_PROCESS_H

#include <sys/types.h>
#include "tulip/common.h"
#include "tulip/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tulip_process tulip_process;

/* What a child's stdin/stdout/stderr is connected to. */
typedef enum tulip_stdio_mode {
    TULIP_STDIO_INHERIT = 0,  /* the parent's same fd (the default) */
    TULIP_STDIO_PIPE,         /* a pipe whose other end is a tulip stream */
    TULIP_STDIO_NULL,         /* /dev/null */
    TULIP_STDIO_FD,           /* the fd given in .fd (duplicated; the caller keeps it) */
    TULIP_STDIO_STDOUT        /* stderr only: the same as the child's stdout (2>&1) */
} tulip_stdio_mode;

/* An inherited or given fd is shared with the child (the same open file
 * description), flags included: one that tulip has read or written (which
 * makes it O_NONBLOCK) is non-blocking in the child too, and a program not
 * written for that sees EAGAIN. Give such a child a pipe instead. */
typedef struct tulip_stdio {
    tulip_stdio_mode mode;
    int fd;                   /* for TULIP_STDIO_FD */
} tulip_stdio;

typedef struct tulip_process_opts {
    /* The program; NULL means argv[0]. Without a '/', it is searched in
     * the parent's PATH. */
    const char *path;
    /* NULL-terminated; argv[0] required. */
    char *const *argv;
    /* NULL-terminated "NAME=value" strings; NULL inherits the parent's. */
    char *const *envp;
    /* Working directory of the child; NULL inherits. */
    const char *cwd;
    /* stdin, stdout, stderr. */
    tulip_stdio stdio[3];
    /* TULIP_PROCESS_* flags, 0 by default. */
    unsigned flags;
} tulip_process_opts;

/* The child leads a new process group (setpgid(0, 0)): what it starts
 * (a shell's commands) can be signalled together with
 * tulip_process_kill_group, and a Ctrl-C at the terminal, which goes to
 * the terminal's foreground group, no longer reaches it. */
#define TULIP_PROCESS_NEW_GROUP   1u
/* The child leads a new session (setsid()), hence also a new process
 * group, with no controlling terminal. */
#define TULIP_PROCESS_NEW_SESSION 2u

/* Fill opts with defaults (everything inherited, no argv). */
TULIP_API void tulip_process_opts_init(tulip_process_opts *opts);

/* Start a child. Signal dispositions and mask are reset to the defaults in
 * the child (every signal SIG_DFL, none blocked); only its stdio fds are inherited (every fd tulip makes is
 * close-on-exec). Does not park, callable outside tasks; the pipe streams
 * are for tasks of the calling thread's loop.
 * NULL with errno: EINVAL (NULL opts/argv/argv[0], bad stdio mode or fd,
 * unknown flags), ENOMEM, EMFILE/ENFILE (no fds for the pipes), EAGAIN (process limit), and
 * the exec failure reported by the child: ENOENT (no such program), EACCES,
 * ENOEXEC, ENOTDIR/ENOENT (bad cwd), ... Nothing is left running or leaked
 * on failure. */
TULIP_API tulip_process *tulip_process_spawn(const tulip_process_opts *opts);

/* Park until the child exits and reap it; *status (may be NULL) gets the
 * waitpid(2) status: use WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG. Once
 * reaped, later calls return the same status at once. A child writing to
 * a piped stdout/stderr that nobody reads stops when the pipe is full
 * (64 KiB) and never exits: read the pipes to their end first, or from
 * other tasks while this one waits (asyncio's communicate() warning).
 * Errors: -ECANCELED, -ETIMEDOUT (the child is untouched and can be waited
 * for again), -EBUSY (another task is already waiting on p), -ECHILD (the
 * child was reaped behind tulip's back, e.g. waitpid(-1)), -EPERM (not in
 * a task), -EINVAL (NULL p). */
TULIP_API int tulip_process_wait(tulip_process *p, int *status);

/* Send signal sig to the child. Errors: -ESRCH (already reaped), -EINVAL
 * (NULL p or bad sig), -EPERM. */
TULIP_API int tulip_process_kill(tulip_process *p, int sig);

/* Send signal sig to every process in the child's process group: the
 * child and what it started and did not move elsewhere (killpg(2)).
 * Killing only a shell leaves its commands running and holding the pipes
 * the shell passed them; killing the group reaches them too. Allowed after
 * the child was reaped, while members of its group live on (the kernel
 * does not reuse a pid that still names a group); once the group is
 * empty, -ESRCH. Errors: -EINVAL (NULL p, bad sig, or the child was not
 * spawned with TULIP_PROCESS_NEW_GROUP / _NEW_SESSION), -ESRCH, -EPERM. */
TULIP_API int tulip_process_kill_group(tulip_process *p, int sig);

/* The child's pid (still meaningful after it was reaped, for logs). */
TULIP_API pid_t tulip_process_pid(const tulip_process *p);

/* The parent's end of a piped stdio as a stream owned by p (do not close
 * it yourself); NULL if that stdio is not a pipe or was closed. Writing to
 * the stdin of a child that exited or closed it fails with -EPIPE; it
 * never raises SIGPIPE (which would kill the program), whatever the
 * program's SIGPIPE disposition. */
TULIP_API tulip_stream *tulip_process_stdin(tulip_process *p);
TULIP_API tulip_stream *tulip_process_stdout(tulip_process *p);
TULIP_API tulip_stream *tulip_process_stderr(tulip_process *p);

/* Flush and close the stdin pipe, so the child reads end of file. The
 * stream is closed even if the flush fails (as tulip_stream_close).
 * Errors: those of tulip_stream_close (-EPIPE if the child stopped
 * reading, -ECANCELED...), -ENOENT (stdin is not a pipe or already
 * closed), -EINVAL. */
TULIP_API int tulip_process_close_stdin(tulip_process *p);

/* Release p: close the pipe streams (unsent stdin data is discarded; never
 * parks), and if the child has not been reaped, kill it with SIGKILL (its
 * whole group, when spawned with a group or session of its own) and reap
 * it (a short blocking waitpid: SIGKILL cannot be caught). A child already
 * reaped leaves its group alone.
 * Errors: -EBUSY (a task is parked on p or on one of its streams: nothing
 * is done). NULL is a no-op returning 0. */
TULIP_API int tulip_process_free(tulip_process *p);

#ifdef __cplusplus
}
#endif
#endif
