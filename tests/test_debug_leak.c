/* The leak report at loop free in debug mode: a finished task nobody
 * joined, a task freed before it finished, an fd still watched, an fd
 * waited on but closed without tulip_close, each with where it came from;
 * and silence when nothing leaked (including tulip_run's own main task). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "tulip/debug.h"
#include "debug/debug_internal.h"

static int returns_five(void *p)
{
    (void)p;
    return 5;
}

static int waits_forever(void *p)
{
    return tulip_event_wait(p);
}

static void on_ready(void *arg, int events)
{
    (void)arg;
    (void)events;
}

static int pipe_fds[2];
static tulip_event never;
/* Kept reachable: tulip_loop_free does not free watch handles, and this
 * scenario leaks one on purpose. */
tulip_watch *volatile leaked_watch;

__attribute__((noinline)) static int leak_scenario(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    tulip_loop *l = tulip_loop_new(&cfg);
    if (!l || pipe(pipe_fds) != 0)
        return 10;
    tulip_event_init(&never);
    tulip_task *orphan = tulip_spawn_on(l, returns_five, NULL);
    tulip_task *stuck = tulip_spawn_on(l, waits_forever, &never);
    tulip_task *gone = tulip_spawn_on(l, returns_five, NULL);
    if (!orphan || !stuck || !gone)
        return 11;
    tulip_task_set_name(orphan, "orphan");
    tulip_task_set_name(stuck, "stuck");
    tulip_detach(gone); /* detached: not a leak */
    leaked_watch = tulip_watch_fd(l, pipe_fds[0], TULIP_READABLE, on_ready, NULL);
    if (!leaked_watch)
        return 12;
    /* One pass runs both tasks to their end or their wait. */
    if (tulip_loop_run_once(l, 0) < 0)
        return 13;
    if (!tulip_task_is_done(orphan) || tulip_task_is_done(stuck))
        return 14;
    fprintf(stderr, "pipe fd %d\n", pipe_fds[0]);
    tulip_loop_free(l); /* the report */
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

static void test_leaks_are_reported(void **state)
{
    (void)state;
    int code;
    char *out = capture_stderr(leak_scenario, &code);
    assert_int_equal(code, 0);
    int fd = -1;
    const char *p = strstr(out, "pipe fd ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "pipe fd %d", &fd), 1);
    const char *r = strstr(out, "tulip: leak report for loop ");
    if (!r)
        fprintf(stderr, "child stderr:\n%s\n", out);
    assert_non_null(r);
    assert_non_null(strstr(r, ": 2 tasks, 1 fd\n"));
    const char *o = strstr(r, "never joined or detached, its result is lost:\n");
    assert_non_null(o);
    assert_non_null(strstr(o, "\"orphan\": done (result 5)"));
    assert_non_null(strstr(o, "entry returns_five+0x0"));
    assert_non_null(strstr(o, "spawned at leak_scenario+"));
    const char *s = strstr(r, "never finished, freed without running to its end");
    assert_non_null(s);
    char want[96];
    snprintf(want, sizeof want, "\"stuck\": waiting on event %p", (void *)&never);
    assert_non_null(strstr(s, want));
    if (tulip__unwind_init())
        assert_non_null(strstr(s, "waits_forever+"));
    snprintf(want, sizeof want, "fd %d (pipe:[", fd);
    const char *f = strstr(r, want);
    assert_non_null(f);
    assert_non_null(strstr(f, "still watched for readable by tulip_watch_fd"));
    free(out);
}

static int reader(void *p)
{
    char c;
    return (int)tulip_read(*(int *)p, &c, 1);
}

static int main_plain_close(void *p)
{
    (void)p;
    int fds[2];
    if (pipe(fds) != 0)
        return 10;
    tulip_task *t = tulip_spawn(reader, &fds[0]);
    tulip_yield();
    if (write(fds[1], "x", 1) != 1)
        return 11;
    if (tulip_join(t) != 1)
        return 12;
    fprintf(stderr, "pipe fd %d\n", fds[0]);
    close(fds[0]); /* wrong: tulip waited on it, tulip_close was due */
    close(fds[1]);
    return 0;
}

static int plain_close_scenario(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    return tulip_run_ex(main_plain_close, NULL, &cfg);
}

static void test_fd_not_tulip_closed(void **state)
{
    (void)state;
    int code;
    char *out = capture_stderr(plain_close_scenario, &code);
    assert_int_equal(code, 0);
    int fd = -1;
    const char *p = strstr(out, "pipe fd ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "pipe fd %d", &fd), 1);
    char want[128];
    snprintf(want, sizeof want, "  fd %d (no longer open): waited on but never released with tulip_close\n", fd);
    if (!strstr(out, want))
        fprintf(stderr, "child stderr:\n%s\n", out);
    assert_non_null(strstr(out, ": 0 tasks, 1 fd\n"));
    assert_non_null(strstr(out, want));
    free(out);
}

static int child(void *p)
{
    return tulip_sleep(*(int64_t *)p);
}

static int main_clean(void *p)
{
    (void)p;
    static int64_t ns = 1000;
    tulip_task *a = tulip_spawn(child, &ns);
    tulip_task *b = tulip_spawn(child, &ns);
    if (!a || !b || tulip_detach(b) != 0)
        return 10;
    tulip_group *g = tulip_group_new();
    if (!g || tulip_group_spawn(g, child, &ns) != 0 || tulip_group_wait(g) != 0)
        return 11;
    tulip_group_free(g);
    int fds[2];
    if (pipe(fds) != 0)
        return 12;
    tulip_task *r = tulip_spawn(reader, &fds[0]);
    tulip_yield();
    if (write(fds[1], "x", 1) != 1 || tulip_join(r) != 1)
        return 13;
    tulip_close(fds[0]);
    close(fds[1]);
    return tulip_join(a);
}

static int clean_scenario(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    return tulip_run_ex(main_clean, NULL, &cfg);
}

static void test_clean_program_is_quiet(void **state)
{
    (void)state;
    int code;
    char *out = capture_stderr(clean_scenario, &code);
    assert_int_equal(code, 0);
    if (strstr(out, "leak report"))
        fprintf(stderr, "child stderr:\n%s\n", out);
    assert_null(strstr(out, "leak report"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaks_are_reported),
        cmocka_unit_test(test_fd_not_tulip_closed),
        cmocka_unit_test(test_clean_program_is_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
