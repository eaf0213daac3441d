/* tulip_run_ex on several loops (tulip_config.workers): placement,
 * shutdown with tasks parked on every loop, a loop that fails to start;
 * loops made and freed on two threads at once; bytes between a task and a
 * plain thread ordering what each wrote before. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "test_util.h"
#include "tulip/runtime.h"
#include "tulip/testing.h"

#define LOOPS 3

static pthread_t main_thread;

static tulip_config config(int workers)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = workers;
    return cfg;
}

/* ---- each loop is its own thread; the main task is on loop 0 ---------- */

static int where_am_i(void *p)
{
    (void)p;
    /* Loop index + 1, and negative if the task runs on the main thread. */
    int idx = tulip_loop_index();
    return pthread_equal(pthread_self(), main_thread) && idx != 0 ? -100 : idx + 1;
}

static int main_placement(void *p)
{
    (void)p;
    assert_int_equal(tulip_loop_count(), LOOPS);
    assert_int_equal(tulip_loop_index(), 0);
    assert_ptr_equal(tulip_loop_at(0), tulip_loop_current());
    assert_null(tulip_loop_at(LOOPS));
    for (unsigned i = 0; i < LOOPS; i++) {
        tulip_future *f;
        assert_int_equal(tulip_spawn_remote(tulip_loop_at(i), where_am_i, NULL, &f), 0);
        void *v;
        assert_int_equal(tulip_future_await(f, &v), 0);
        assert_int_equal((int)(intptr_t)v, (int)i + 1);
        tulip_future_free(f);
    }
    /* Round robin visits every loop once per n picks. */
    int seen[LOOPS] = {0};
    for (unsigned k = 0; k < 2 * LOOPS; k++) {
        tulip_future *f;
        assert_int_equal(tulip_spawn_placed(TULIP_PLACE_ROUND_ROBIN, where_am_i, NULL, &f), 0);
        void *v;
        assert_int_equal(tulip_future_await(f, &v), 0);
        int idx = (int)(intptr_t)v - 1;
        assert_true(idx >= 0 && idx < LOOPS);
        seen[idx]++;
        tulip_future_free(f);
    }
    for (unsigned i = 0; i < LOOPS; i++)
        assert_int_equal(seen[i], 2);
    return 7;
}

static void test_placement(void **state)
{
    (void)state;
    main_thread = pthread_self();
    tulip_config cfg = config(LOOPS);
    assert_int_equal(tulip_run_ex(main_placement, NULL, &cfg), 7);
    /* Outside the run there is one loop again. */
    assert_int_equal(tulip_loop_count(), 1);
    assert_int_equal(tulip_loop_index(), -1);
}

/* ---- least loaded, and shutdown with tasks parked on every loop ------- */

static atomic_int parked_on[LOOPS];
static atomic_int unwound;
static int started;
static tulip_event *all_started;

static void note_started(void *p)
{
    (void)p;
    if (++started == 3 * LOOPS)
        tulip_event_set(all_started);
}

static int sleeper(void *p)
{
    (void)p;
    atomic_fetch_add(&parked_on[tulip_loop_index()], 1);
    if (tulip_call_soon_threadsafe(tulip_loop_at(0), note_started, NULL) < 0)
        return -1;
    int rc = tulip_sleep(TULIP_FOREVER);
    if (rc == -ECANCELED)
        atomic_fetch_add(&unwound, 1);
    return rc;
}

static int main_least_loaded(void *p)
{
    (void)p;
    tulip_event ev;
    tulip_event_init(&ev);
    all_started = &ev;
    /* Sleepers never end, so each pick sees the earlier ones: the loads go
     * 1,1,1 then 2,2,2 then 3,3,3. */
    for (int k = 0; k < 3 * LOOPS; k++)
        assert_int_equal(tulip_spawn_placed(TULIP_PLACE_LEAST_LOADED, sleeper, NULL, NULL), 0);
    assert_int_equal(tulip_event_wait(&ev), 0);
    for (int i = 0; i < LOOPS; i++)
        assert_int_equal(atomic_load(&parked_on[i]), 3);
    /* Return with 9 tasks parked on three loops. */
    return 0;
}

static void test_least_loaded_and_shutdown(void **state)
{
    (void)state;
    tulip_config cfg = config(LOOPS);
    assert_int_equal(tulip_run_ex(main_least_loaded, NULL, &cfg), 0);
    assert_int_equal(atomic_load(&unwound), 3 * LOOPS);
}

/* ---- a loop that fails to start --------------------------------------- */

static atomic_int main_ran;

static int main_never(void *p)
{
    (void)p;
    atomic_store(&main_ran, 1);
    return 0;
}

static void test_loop_fails_to_start(void **state)
{
    (void)state;
    /* Loop 0 takes the first fds (backend, wake-up); from the next one on,
     * every fd fails, so loops 1 and 2 cannot start on their threads. */
    tulip_config cfg = config(LOOPS);
    cfg.backend = "epoll";
    tulip_fault_arm(TULIP_FAULT_FD, 3, 1);
    int rc = tulip_run_ex(main_never, NULL, &cfg);
    tulip_fault_reset();
    assert_int_equal(rc, -EMFILE);
    assert_int_equal(atomic_load(&main_ran), 0);
    /* Nothing was left claimed: the next run starts. */
    cfg.backend = NULL;
    assert_int_equal(tulip_run_ex(main_never, NULL, &cfg), 0);
    assert_int_equal(atomic_load(&main_ran), 1);
    /* Memory for the loops' bookkeeping fails too: each allocation in turn. */
    for (unsigned long nth = 1; nth < 200; nth++) {
        atomic_store(&main_ran, 0);
        tulip_fault_arm(TULIP_FAULT_MALLOC, nth, 0);
        rc = tulip_run_ex(main_never, NULL, &cfg);
        unsigned long calls = tulip_fault_calls(TULIP_FAULT_MALLOC);
        tulip_fault_reset();
        if (rc == 0) {
            assert_int_equal(atomic_load(&main_ran), 1);
            if (calls < nth)
                break; /* the fault was never reached: every path covered */
        } else {
            assert_int_equal(rc, -ENOMEM);
        }
    }
}

/* ---- configuration ---------------------------------------------------- */

static int main_count(void *p)
{
    *(unsigned *)p = tulip_loop_count();
    return 0;
}

static void test_config(void **state)
{
    (void)state;
    unsigned n = 0;
    tulip_config cfg = config(0);
    assert_int_equal(tulip_run_ex(main_count, &n, &cfg), 0);
    assert_int_equal(n, 1);
    setenv("TULIP_WORKERS", "2", 1);
    assert_int_equal(tulip_run_ex(main_count, &n, &cfg), 0);
    assert_int_equal(n, 2);
    setenv("TULIP_WORKERS", "two", 1);
    assert_int_equal(tulip_run_ex(main_count, &n, &cfg), -EINVAL);
    unsetenv("TULIP_WORKERS");
    cfg.workers = -1;
    assert_int_equal(tulip_run_ex(main_count, &n, &cfg), 0);
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    assert_int_equal(n, (unsigned)CPU_COUNT(&set));
    cfg.workers = -2;
    assert_int_equal(tulip_run_ex(main_count, &n, &cfg), -EINVAL);
}

static int pinned_cpus(void *p)
{
    (void)p;
    cpu_set_t set;
    if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0)
        return -1;
    return CPU_COUNT(&set);
}

static int main_pinned(void *p)
{
    (void)p;
    for (unsigned i = 0; i < 2; i++) {
        tulip_future *f;
        assert_int_equal(tulip_spawn_remote(tulip_loop_at(i), pinned_cpus, NULL, &f), 0);
        void *v;
        assert_int_equal(tulip_future_await(f, &v), 0);
        assert_int_equal((int)(intptr_t)v, 1);
        tulip_future_free(f);
    }
    return 0;
}

static void test_pinning(void **state)
{
    (void)state;
    cpu_set_t before;
    assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof before, &before), 0);
    tulip_config cfg = config(2);
    cfg.pin_cpus = 1;
    assert_int_equal(tulip_run_ex(main_pinned, NULL, &cfg), 0);
    /* The caller's thread gets its CPUs back. */
    cpu_set_t after;
    assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof after, &after), 0);
    assert_true(CPU_EQUAL(&before, &after));
}

/* ---- loops made and freed on two threads at once ------------------------ */

/* What one loop does before it is freed: some I/O, so that its backend
 * has work queued (on io_uring: submission entries written). */
static int echo_once(void *p)
{
    int *sv = p;
    char out[64], in[64];
    memset(out, 'x', sizeof out);
    assert_int_equal(tulip_write(sv[0], out, sizeof out), (ssize_t)sizeof out);
    size_t got = 0;
    while (got < sizeof in) {
        ssize_t n = tulip_read(sv[1], in + got, sizeof in - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_memory_equal(in, out, sizeof in);
    return 0;
}

static atomic_int churn_go;

static void *loop_churn(void *p)
{
    (void)p;
    while (!atomic_load(&churn_go))
        sched_yield();
    for (int i = 0; i < 40; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
            return (void *)1;
        tulip_loop *l = tulip_loop_new(NULL);
        if (!l || !tulip_spawn_on(l, echo_once, sv) || tulip_loop_run(l) != 0 || tulip_loop_free(l) != 0)
            return (void *)2;
        close(sv[0]);
        close(sv[1]);
    }
    return NULL;
}

/* One thread frees a loop while the other makes one: the kernel may give
 * the new one the memory the old one's backend had (io_uring's rings, which
 * liburing maps and unmaps out of ThreadSanitizer's sight: under TSan this
 * reported a race in io_uring_prep_rw until uring.c told TSan of the
 * hand-over). */
static void test_loops_come_and_go(void **state)
{
    (void)state;
    pthread_t t[2];
    atomic_store(&churn_go, 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, loop_churn, NULL), 0);
    atomic_store(&churn_go, 1);
    for (int i = 0; i < 2; i++) {
        void *rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
}

/* ---- bytes between a task and a plain thread carry order ---------------- */

/* A thread writes a value and then sends a byte; the task that reads the
 * byte reads the value; and back. The kernel orders them, and TSan knows
 * it through its read/write interceptors: on io_uring, where no such call
 * is made, only if the backend tells it (annotate.h, tulip__tsan_fd_*).
 * Without that this reported a race under TSan on io_uring: a Unix stream
 * (one-shot recv and send) and TCP (multishot recv). */
struct handoff {
    int task_fd, thread_fd;
    int to_task, to_thread;        /* plain ints: ordered only by the bytes */
    int task_rc;
};

static void *handoff_thread(void *p)
{
    struct handoff *h = p;
    char c = 'a';
    h->to_task = 42;
    if (send(h->thread_fd, &c, 1, MSG_NOSIGNAL) != 1)
        return (void *)1;
    if (recv(h->thread_fd, &c, 1, 0) != 1 || c != 'b')
        return (void *)2;
    return h->to_thread == 7 ? NULL : (void *)3;
}

static int handoff_task(void *p)
{
    struct handoff *h = p;
    char c;
    h->task_rc = 1;
    if (tulip_read(h->task_fd, &c, 1) != 1 || c != 'a' || h->to_task != 42)
        return 0;
    h->to_thread = 7;
    c = 'b';
    h->task_rc = tulip_write(h->task_fd, &c, 1) == 1 ? 0 : 2;
    return 0;
}

static void handoff_over(int task_fd, int thread_fd)
{
    struct handoff h = {task_fd, thread_fd, 0, 0, -1};
    assert_int_equal(fcntl(task_fd, F_SETFL, fcntl(task_fd, F_GETFL) | O_NONBLOCK), 0);
    tulip_loop *l = tulip_loop_new(NULL);
    assert_non_null(l);
    tulip_task *t = tulip_spawn_on(l, handoff_task, &h);
    assert_non_null(t);
    assert_int_equal(tulip_detach(t), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, handoff_thread, &h), 0);
    assert_int_equal(tulip_loop_run(l), 0);
    void *rc;
    assert_int_equal(pthread_join(th, &rc), 0);
    assert_null(rc);
    assert_int_equal(h.task_rc, 0);
    assert_int_equal(tulip_loop_free(l), 0);
    close(task_fd);
    close(thread_fd);
}

static void test_bytes_order_threads(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    handoff_over(sv[0], sv[1]);
    /* TCP over loopback */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(cfd >= 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof a), 0);
    int sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(sfd >= 0);
    close(lfd);
    handoff_over(sfd, cfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_least_loaded_and_shutdown),
        cmocka_unit_test(test_loop_fails_to_start),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_pinning),
        cmocka_unit_test(test_loops_come_and_go),
        cmocka_unit_test(test_bytes_order_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
