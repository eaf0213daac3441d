/* tools/gdb/tulip.py driven by gdb in batch mode: `info tulip-tasks` lists
 * the tasks of the stopped program's loop with their waits, `tulip-bt`
 * shows a parked task's stack (in the assembly and the ucontext build),
 * says so for a task that never ran, and leaves the thread's registers as
 * they were. The program under gdb is this test itself, re-run with
 * --inferior. Skips when gdb is missing or may not trace. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static char self_path[PATH_MAX];

/* ---- the program gdb runs -------------------------------------------- */

static tulip_lock gdb_lock;

static int gdb_locker_body(void *p)
{
    (void)p;
    int rc = tulip_lock_acquire(&gdb_lock);
    if (rc == 0)
        tulip_lock_release(&gdb_lock);
    return rc;
}

static int gdb_sleeper_body(void *p)
{
    (void)p;
    return tulip_sleep(TULIP_SEC(3600));
}

/* Compact tasks (issue 18): with the default 4 shared stacks the fifth
 * takes the first one's stack, whose frames are then saved away. */
static int gdb_compact_body(void *p)
{
    (void)p;
    volatile int keep = 1; /* no tail call: the body's frame stays in the backtrace */
    int rc = tulip_sleep(TULIP_SEC(3600));
    return rc * keep;
}

static int inferior_main(void *p)
{
    (void)p;
    tulip_lock_init(&gdb_lock);
    tulip_lock_acquire(&gdb_lock);
    tulip_task *a = tulip_spawn(gdb_locker_body, NULL);
    tulip_task *b = tulip_spawn(gdb_sleeper_body, NULL);
    if (!a || !b)
        return 1;
    tulip_task_set_name(a, "gdb-locker");
    tulip_task_set_name(b, "gdb-sleeper");
    tulip_task *c[5] = {0};
    int nc = test_have_compact() ? 5 : 0;
    for (int i = 0; i < nc; i++)
        if (!(c[i] = tulip_spawn_ex(NULL, gdb_compact_body, NULL, TULIP_SPAWN_COMPACT)))
            return 1;
    if (nc)
        tulip_task_set_name(c[0], "gdb-compact");
    tulip_yield();
    /* Spawned after the yield: never ran, so it has no frames to show. */
    tulip_task *fresh = tulip_spawn(gdb_sleeper_body, NULL);
    tulip_task *fresh_c = nc ? tulip_spawn_ex(NULL, gdb_compact_body, NULL, TULIP_SPAWN_COMPACT) : NULL;
    if (!fresh || (nc && !fresh_c))
        return 1;
    tulip_task_set_name(fresh, "gdb-fresh");
    if (fresh_c)
        tulip_task_set_name(fresh_c, "gdb-fresh-compact");
    raise(SIGTRAP); /* gdb stops here and runs the helper's commands */
    tulip_cancel(fresh);
    tulip_join(fresh);
    if (fresh_c) {
        tulip_cancel(fresh_c);
        tulip_join(fresh_c);
    }
    for (int i = 0; i < nc; i++) {
        tulip_cancel(c[i]);
        tulip_join(c[i]);
    }
    tulip_cancel(b);
    tulip_lock_release(&gdb_lock);
    tulip_join(a);
    tulip_join(b);
    return 0;
}

/* ---- the test ------------------------------------------------------------ */

static char *run_gdb(const char *script, int *exec_failed)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[1]);
        /* The inferior is an ASan build in the sanitizer tree: leak checking
         * cannot run under ptrace. */
        setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
        execlp("gdb", "gdb", "-nx", "-batch", "-ex", "set debuginfod enabled off", "-ex", "set pagination off",
               "-ex", "set confirm off", "-ex", script, "-ex", "run", "-ex", "info tulip-tasks", "-ex",
               "tulip-bt gdb-compact", "-ex", "tulip-bt gdb-fresh", "-ex", "tulip-bt gdb-fresh-compact", "-ex",
               "tulip-bt gdb-locker", "-ex", "echo ==after==\\n", "-ex", "bt", "-ex", "kill", "--args",
               self_path, "--inferior", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, 1000);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 120) {
            /* A hung gdb must not hang the suite. */
            kill(pid, SIGKILL);
            break;
        }
        if (r <= 0)
            continue;
        if (cap - n < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t k = read(p[0], buf + n, cap - n - 1);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = 0;
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *exec_failed = WIFEXITED(status) && WEXITSTATUS(status) == 127;
    return buf;
}

static void test_gdb_helper(void **state)
{
    (void)state;
#ifdef TULIP_TEST_NO_DEBUG_INFO
    print_message("skipped: built without debug info (the helper reads tulip's structs)\n");
    skip();
#endif
    char script[PATH_MAX + 64];
    const char *src = __FILE__; /* absolute in CMake builds */
    const char *tail = strstr(src, "tests/test_gdb.c");
    if (src[0] != '/' || !tail) {
        print_message("skipped: cannot locate tools/gdb from %s\n", src);
        skip();
    }
    snprintf(script, sizeof script, "source %.*stools/gdb/tulip.py", (int)(tail - src), src);
    int exec_failed;
    char *out = run_gdb(script, &exec_failed);
    if (exec_failed) {
        print_message("skipped: gdb is not installed\n");
        free(out);
        skip();
    }
    if (!strstr(out, "SIGTRAP") &&
        (strstr(out, "not permitted") || strstr(out, "Operation not permitted") || strstr(out, "ptrace"))) {
        print_message("skipped: gdb may not trace here:\n%s\n", out);
        free(out);
        skip();
    }
    const char *list = strstr(out, "tulip loop 0x");
    if (!list || !strstr(out, "==after=="))
        fprintf(stderr, "gdb output:\n%s\n", out);
    assert_non_null(list);
    assert_non_null(strstr(list, "\"main\": running; entry inferior_main"));
    assert_non_null(strstr(list, "\"gdb-locker\": waiting on lock 0x"));
    assert_non_null(strstr(list, "entry gdb_locker_body"));
    assert_non_null(strstr(list, "\"gdb-sleeper\": waiting on sleep until "));
    const char *bt = strstr(list, "task 2 \"gdb-locker\":");
    assert_non_null(bt);
    /* A compact task's stack from its saved frames, before gdb-locker's. */
    if (test_have_compact()) {
        const char *cbt = strstr(list, "\"gdb-compact\":\n");
        assert_non_null(cbt);
        const char *lbt = strstr(cbt, "\"gdb-locker\":\n");
        const char *cbody = strstr(cbt, "gdb_compact_body");
        const char *csleep = strstr(cbt, "park"); /* tulip_sleep may be inlined */
        assert_non_null(lbt);
        assert_true(cbody && cbody < lbt);
        assert_true(csleep && csleep < lbt);
    }
    /* A task that never ran: said so, not unwound from a context that holds
     * only its entry (ucontext) or a stale one (compact). */
    assert_non_null(strstr(list, "task gdb-fresh has not started yet: no frames"));
    if (test_have_compact())
        assert_non_null(strstr(list, "task gdb-fresh-compact has not started yet: no frames"));
    const char *after = strstr(bt, "==after==");
    assert_non_null(after);
    /* The task's stack: the lock wait, then its body. */
    const char *lk = strstr(bt, "tulip_lock_acquire");
    const char *body = strstr(bt, "gdb_locker_body");
    assert_true(lk && lk < after);
    assert_true(body && body < after);
    /* Registers restored: the thread's own stack is back. */
    assert_non_null(strstr(after, "inferior_main"));
    assert_null(strstr(after, "gdb_locker_body"));
    free(out);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--inferior") == 0)
        return tulip_run(inferior_main, NULL) == 0 ? 0 : 1;
    if (!realpath(argv[0], self_path))
        snprintf(self_path, sizeof self_path, "%s", argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdb_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
