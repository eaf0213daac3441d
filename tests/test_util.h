/* Helpers shared by the tests. Include after cmocka.h. */
#ifndef TULIP_TEST_UTIL_H
#define TULIP_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include "tulip.h"
#include "tulip/testing.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TULIP_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TULIP_TEST_SANITIZED 1
#endif
#endif

/* AddressSanitizer alone (its reports replace tulip's own in some tests). */
#if defined(__SANITIZE_ADDRESS__)
#define TULIP_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TULIP_TEST_ASAN 1
#endif
#endif

/* Whether this build has compact tasks (TULIP_SPAWN_COMPACT): not with the
 * ucontext switch (-DTULIP_CONTEXT=ucontext). */
static inline int test_have_compact(void)
{
#if defined(TULIP_CTX_UCONTEXT)
    return 0;
#else
    return 1;
#endif
}

/* Big counts (a million tasks) are scaled down where they would not fit:
 * by 100 under valgrind (TULIP_TEST_SCALE=small; it runs code ~50x slower)
 * and by 10 in sanitizer builds (a million live tasks take ~9 GB under
 * ASan; two such tests side by side would crowd a 24 GB machine). The full
 * counts run in the plain build, on every backend. */
static inline size_t test_scale(size_t n)
{
    const char *s = getenv("TULIP_TEST_SCALE");
    if (s && strcmp(s, "small") == 0) {
        size_t m = n / 100;
        return m ? m : 1;
    }
#ifdef TULIP_TEST_SANITIZED
    if (n >= 10000)
        return n / 10;
#endif
    return n;
}

/* Run body(arg) as the main task of a fresh tulip_run and return its
 * result. */
static inline int test_run(tulip_fn body, void *arg)
{
    return tulip_run(body, arg);
}

/* Deterministic runs: virtual clock, so sleeps and deadlines take no real
 * time and always fire in the same order. */
static inline int test_run_virtual(tulip_fn body, void *arg)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = 1;
    return tulip_run_ex(body, arg, &cfg);
}

/* A bare loop (no tasks), on the virtual clock or the real one. */
static inline tulip_loop *test_loop_new(int virtual_clock)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = virtual_clock;
    return tulip_loop_new(&cfg);
}

/* Run fn() in a forked child with its stderr captured: returns what it
 * wrote (malloc'd, NUL-terminated) and sets *code to its exit status, or
 * 128 + the signal that ended it. */
static inline char *capture_stderr(int (*fn)(void), int *code)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        int rc = fn();
        fflush(stderr);
        _exit(rc);
    }
    close(p[1]);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t k;
    while ((k = read(p[0], buf + n, cap - n - 1)) > 0) {
        n += (size_t)k;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = 0;
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return buf;
}

/* Every case ends with a clean thread. A failed assertion (or skip())
 * inside a task or a loop callback leaves by cmocka's longjmp, past
 * tulip_run's end: the loop would stay this thread's running loop, and
 * every later case's tulip_run would fail with -EBUSY (one failure
 * reported as many). So cmocka_run_group_tests gives each case without a
 * teardown of its own this one, which frees such a loop and says so; the
 * case is still reported as failed, with its own message. (A case with
 * its own teardown calls tulip_test_abandon there.) */
static inline int test__after_case(void **state)
{
    (void)state;
    int n = tulip_test_abandon();
    if (n > 0)
        fprintf(stderr, "[  NOTE    ] the case left %d loop%s running (an assertion failed inside a task?): freed\n",
                n, n > 1 ? "s" : "");
    return 0;
}

static inline int test__run_group(const char *name, const struct CMUnitTest *tests, size_t n,
                                  CMFixtureFunction setup, CMFixtureFunction teardown)
{
    struct CMUnitTest *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        v[i] = tests[i];
        if (!v[i].teardown_func)
            v[i].teardown_func = test__after_case;
    }
    int rc = _cmocka_run_group_tests(name, v, n, setup, teardown);
    free(v);
    return rc;
}
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(group_tests, group_setup, group_teardown)                                      \
    test__run_group(#group_tests, group_tests, sizeof(group_tests) / sizeof((group_tests)[0]), group_setup, \
                    group_teardown)

#endif
