/* Compact tasks that break something are reported, never silent: a compact
 * task overflowing its shared stack is named by the guard-page report, and
 * in debug mode a compact task's local handed to the runtime (a tulip_event
 * on its stack that another task waits on) is caught when it is handed
 * over. Each case runs in a fresh child image (as test_overflow). */
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

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static const char *self_path;
static volatile int depth_limit = 1 << 30;

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

static int nop_task(void *p)
{
    (void)p;
    return tulip_yield();
}

static int main_overflow(void *p)
{
    (void)p;
    /* A neighbour first, so the shared stack has had another occupant. */
    tulip_task *n = tulip_spawn_ex(NULL, nop_task, NULL, TULIP_SPAWN_COMPACT);
    tulip_task *t = tulip_spawn_ex(NULL, overflow_task, NULL, TULIP_SPAWN_COMPACT);
    tulip_task_set_name(t, "compact-deep");
    tulip_join(n);
    return tulip_join(t);
}

static int event_waiter(void *p)
{
    return tulip_event_wait(p);
}

/* The violation: an event in this compact task's frames, waited on by
 * another task, who would link its record into memory that is saved away
 * whenever this task is suspended. */
static int stack_event_owner(void *p)
{
    (void)p;
    tulip_event ev;
    tulip_event_init(&ev);
    tulip_task *w = tulip_spawn(event_waiter, &ev);
    tulip_yield();
    tulip_event_set(&ev);
    return tulip_join(w);
}

static int main_violation(void *p)
{
    (void)p;
    tulip_task *t = tulip_spawn_ex(NULL, stack_event_owner, NULL, TULIP_SPAWN_COMPACT);
    tulip_task_set_name(t, "lends-its-locals");
    return tulip_join(t);
}

static int child(const char *which)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.stack_size = 64 * 1024;
    cfg.compact_stacks = 1;
    if (!strcmp(which, "overflow")) {
        tulip_run_ex(main_overflow, NULL, &cfg);
    } else {
        cfg.debug = 1;
        cfg.slow_step_ns = -1;
        tulip_run_ex(main_violation, NULL, &cfg);
    }
    return 0; /* reaching here means nothing was caught */
}

/* Run this program with --child which; stderr and status back. */
static char *run_child(const char *which, int *status)
{
    int err[2];
    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(err[1], 2);
        close(err[0]);
        execl(self_path, self_path, "--child", which, (char *)NULL);
        _exit(127);
    }
    close(err[1]);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t r;
    while (n < cap - 1 && (r = read(err[0], buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(err[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
    return buf;
}

static void test_overflow_names_task(void **state)
{
    (void)state;
    int status;
    char *buf = run_child("overflow", &status);
#ifdef UNDER_ASAN
    if (!strstr(buf, "AddressSanitizer"))
        fail_msg("no ASan report; status %#x; stderr was:\n%s", status, buf);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#else
    if (!strstr(buf, "stack overflow in task"))
        fail_msg("no overflow report; stderr was:\n%s", buf);
    assert_non_null(strstr(buf, "\"compact-deep\""));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
    free(buf);
}

static void test_violation_caught(void **state)
{
    (void)state;
    int status;
    char *buf = run_child("violation", &status);
    if (!strstr(buf, "lies on shared stack"))
        fail_msg("violation not reported; status %#x; stderr was:\n%s", status, buf);
    assert_non_null(strstr(buf, "the object waited on"));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--child") == 0)
        return child(argv[2]);
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflow_names_task),
        cmocka_unit_test(test_violation_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
