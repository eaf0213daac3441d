/* Accept under fd exhaustion: with a real low RLIMIT_NOFILE and with
 * injected EMFILE, tulip_accept backs off instead of spinning and serves
 * the waiting connection once an fd is free. Spinning is detected by
 * counting accept attempts, and the virtual clock makes the back-off take
 * no real time. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test_util.h"
#include "tulip/net.h"
#include "tulip/testing.h"

#define FILLERS_MAX 1200

struct starve {
    int lfd, client;
    int fillers[FILLERS_MAX];
    int nfill;
    int accepted;
    unsigned long attempts;
};

/* Sleeps (virtual time) long enough for many back-off rounds, then frees
 * the fds. */
static int releaser(void *arg)
{
    struct starve *s = arg;
    assert_int_equal(tulip_sleep(TULIP_SEC(10)), 0);
    s->attempts = tulip_fault_calls(TULIP_FAULT_SOCKET);
    for (int i = 0; i < s->nfill; i++)
        close(s->fillers[i]);
    s->nfill = 0;
    return 0;
}

static int body_rlimit(void *arg)
{
    struct starve *s = arg;
    s->lfd = tulip_listen("tcp", "127.0.0.1:0", 8);
    assert_true(s->lfd >= 0);
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", tulip_local_port(s->lfd));
    /* The client's socket takes one fd; fill the rest of the table. */
    s->client = tulip_dial("tcp", where);
    assert_true(s->client >= 0);
    int fd;
    while (s->nfill < FILLERS_MAX && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        s->fillers[s->nfill++] = fd;
    assert_true(s->nfill < FILLERS_MAX); /* the limit was reached */
    assert_int_equal(open("/dev/null", O_RDONLY), -1);
    assert_int_equal(errno, EMFILE);

    /* Count accept attempts: armed far beyond reach, the fault hook only
     * counts. */
    tulip_fault_arm(TULIP_FAULT_SOCKET, (unsigned long)-1, 0);
    tulip_task *r = tulip_spawn(releaser, s);
    int64_t t0 = tulip_now();
    int c = tulip_accept(s->lfd, NULL, NULL);
    assert_true(c >= 0);
    assert_true(tulip_now() - t0 >= TULIP_SEC(10)); /* it waited for the fds */
    s->accepted = 1;
    assert_int_equal(tulip_join(r), 0);
    tulip_fault_reset();
    /* Back-off 1, 2, 4 ... 64 ms, then every 100 ms: about 100 tries in
     * 10 s. A spinning accept would have made millions. */
    assert_true(s->attempts >= 5);
    assert_true(s->attempts <= 150);

    /* And the connection works. */
    assert_int_equal(tulip_write(s->client, "hi", 2), 2);
    char buf[2];
    assert_int_equal(tulip_read(c, buf, 2), 2);
    tulip_close(c);
    tulip_close(s->client);
    tulip_close(s->lfd);
    return 0;
}

/* Valgrind checks new fds against its own limit after the kernel has
 * made them, so its accept4 takes the connection and closes it: the
 * kernel behaviour under test does not exist there. */
static int under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

static void test_low_rlimit(void **state)
{
    (void)state;
    if (under_valgrind()) {
        print_message("valgrind drops connections accept4 cannot fit: skipped\n");
        skip();
    }
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    /* Room for the loop's own fds and the listener, then some to fill. */
    int top = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            top = fd;
    low = old;
    low.rlim_cur = (rlim_t)top + 32;
    if (low.rlim_cur > old.rlim_max || setrlimit(RLIMIT_NOFILE, &low) != 0) {
        print_message("cannot lower RLIMIT_NOFILE: skipped\n");
        skip();
    }
    struct starve s;
    memset(&s, 0, sizeof s);
    int rc = test_run_virtual(body_rlimit, &s);
    for (int i = 0; i < s.nfill; i++)
        close(s.fillers[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    assert_int_equal(rc, 0);
    assert_int_equal(s.accepted, 1);
}

/* Injected EMFILE on every accept: the task backs off until its scope
 * ends it, then, with fds back, accepts at once. */
static int body_injected(void *arg)
{
    (void)arg;
    int lfd = tulip_listen("tcp", "127.0.0.1:0", 8);
    assert_true(lfd >= 0);
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", tulip_local_port(lfd));
    int client = tulip_dial("tcp", where);
    assert_true(client >= 0);

    tulip_fault_arm(TULIP_FAULT_SOCKET, 1, 1);
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_SEC(2));
    assert_int_equal(tulip_accept(lfd, NULL, NULL), -ETIMEDOUT);
    assert_int_equal(tulip_scope_exit(&s), -ETIMEDOUT);
    unsigned long attempts = tulip_fault_calls(TULIP_FAULT_SOCKET);
    tulip_fault_reset();
    /* 1+2+...+64 ms then 100 ms steps within 2 s: about 27 tries. */
    assert_true(attempts >= 5);
    assert_true(attempts <= 40);

    tulip_loop_stats st;
    tulip_loop_stats_get(NULL, &st);
    assert_true(st.iterations < 1000);

    int fd = tulip_accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    tulip_close(fd);
    tulip_close(client);
    tulip_close(lfd);
    return 0;
}

static void test_injected_emfile(void **state)
{
    (void)state;
    assert_int_equal(test_run_virtual(body_injected, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_low_rlimit),
        cmocka_unit_test(test_injected_emfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
