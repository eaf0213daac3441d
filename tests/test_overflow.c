/* A task that overflows its stack is reported by name and stack size, and
 * the process aborts: never silent corruption. Runs in a child process. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

static const char *self_path; /* argv[0]: under valgrind /proc/self/exe is valgrind */

static volatile int depth_limit = 1 << 30; /* opaque to the compiler */

static int recurse(int n)
{
    volatile char frame[512];
    frame[0] = (char)n;
    frame[511] = (char)n;
    if (n >= depth_limit)
        return frame[0];
    return recurse(n + 1) + frame[511];
}

static int overflow_task(void *p)
{
    (void)p;
    return recurse(0);
}

static int main_overflow(void *p)
{
    (void)p;
    tulip_task *t = tulip_spawn(overflow_task, NULL);
    tulip_task_set_name(t, "deep-recursion");
    return tulip_join(t);
}

/* A compact task (issue 18) on a shared stack another task used first:
 * the shared stack's guard zone names it the same way. */
static int nop_task(void *p)
{
    (void)p;
    return tulip_yield();
}

static int main_overflow_compact(void *p)
{
    (void)p;
    tulip_task *n = tulip_spawn_ex(NULL, nop_task, NULL, TULIP_SPAWN_COMPACT);
    tulip_task *t = tulip_spawn_ex(NULL, overflow_task, NULL, TULIP_SPAWN_COMPACT);
    tulip_task_set_name(t, "deep-recursion");
    tulip_join(n);
    return tulip_join(t);
}

static const char *child_kind = "private";

static void test_overflow_reported(void **state)
{
    (void)state;
    int err[2];
    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A fresh image: cmocka's own SIGSEGV handler (no alternate stack)
         * must not stand in front of tulip's or the sanitizer's. */
        dup2(err[1], 2);
        close(err[0]);
        execl(self_path, self_path, "--overflow-child", child_kind, (char *)NULL);
        _exit(127);
    }
    close(err[1]);
    char buf[8192];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(err[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(err[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
#ifdef TULIP_TEST_ASAN
    /* ASan keeps the SIGSEGV handler and reports the overflow itself. */
    if (!strstr(buf, "AddressSanitizer"))
        fail_msg("no ASan report; status %#x; stderr was:\n%s", status, buf);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#else
    if (!strstr(buf, "stack overflow in task"))
        fail_msg("no overflow report; stderr was:\n%s", buf);
    assert_non_null(strstr(buf, "\"deep-recursion\""));
    assert_non_null(strstr(buf, "stack size 65536"));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
}

static void test_overflow_reported_compact(void **state)
{
    if (!test_have_compact()) {
        print_message("skipped: no compact tasks with the ucontext switch\n");
        skip();
    }
    child_kind = "compact";
    test_overflow_reported(state);
    child_kind = "private";
}

static int overflow_child(const char *kind)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.stack_size = 64 * 1024;
    cfg.compact_stacks = 1;
    tulip_run_ex(strcmp(kind, "compact") ? main_overflow : main_overflow_compact, NULL, &cfg);
    return 0; /* reaching here means the overflow went unnoticed */
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--overflow-child") == 0)
        return overflow_child(argv[2]);
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflow_reported),
        cmocka_unit_test(test_overflow_reported_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
