/* The task dump: each task's state and what it waits on (lock, channel,
 * sleep, socket, event, queue, join, future, group), entry function, spawn
 * site and stack; not-started, finished and running tasks; SIGQUIT in
 * debug mode; errors; no frame named after a symbol it lies past. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "tulip/debug.h"
#include "debug/debug_internal.h"

struct world {
    tulip_lock lock;
    tulip_event event;
    tulip_chan *chan;
    tulip_queue *queue;
    tulip_future *future;
    int sock[2];
    tulip_task *sleeper;
};

static int blocked_on_lock(void *p)
{
    struct world *w = p;
    int rc = tulip_lock_acquire(&w->lock);
    if (rc == 0)
        tulip_lock_release(&w->lock);
    return rc;
}

static int blocked_on_chan(void *p)
{
    int v;
    return tulip_chan_recv(((struct world *)p)->chan, &v);
}

static int blocked_on_sleep(void *p)
{
    (void)p;
    return tulip_sleep(TULIP_SEC(3600));
}

static int blocked_on_socket(void *p)
{
    char c;
    return (int)tulip_read(((struct world *)p)->sock[0], &c, 1);
}

static int blocked_on_event(void *p)
{
    return tulip_event_wait(&((struct world *)p)->event);
}

static int blocked_on_queue(void *p)
{
    int v;
    return tulip_queue_get(((struct world *)p)->queue, &v);
}

static int blocked_on_future(void *p)
{
    void *v;
    return tulip_future_await(((struct world *)p)->future, &v);
}

static int blocked_on_join(void *p)
{
    return tulip_join(((struct world *)p)->sleeper);
}

static int returns_seven(void *p)
{
    (void)p;
    return 7;
}

__attribute__((noinline)) static tulip_task *spawn_named(tulip_fn fn, void *arg, const char *name)
{
    tulip_task *t = tulip_spawn(fn, arg);
    assert_non_null(t);
    assert_int_equal(tulip_task_set_name(t, name), 0);
    return t;
}

static char *dump_to_string(void)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    assert_int_equal(tulip_dump(f), 0);
    fclose(f);
    return buf;
}

/* The line of the dump that starts the entry of task `name`, up to the
 * next task's. */
static char *task_section(const char *dump, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\": ", name);
    const char *s = strstr(dump, key);
    if (!s) {
        fprintf(stderr, "dump:\n%s\n", dump);
        fail_msg("task %s not in the dump", name);
    }
    while (s > dump && s[-1] != '\n')
        s--;
    const char *e = strstr(s + 1, "\ntask ");
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

static void expect(const char *dump, const char *name, const char *what, const char *frame)
{
    char *sec = task_section(dump, name);
    if (!strstr(sec, what) || (frame && tulip__unwind_init() && !strstr(sec, frame))) {
        fprintf(stderr, "section of %s:\n%s\nwanted \"%s\" and frame \"%s\"\n", name, sec, what,
                frame ? frame : "-");
        fail();
    }
    free(sec);
}

static int main_wait_reasons(void *p)
{
    (void)p;
    struct world w;
    memset(&w, 0, sizeof w);
    assert_int_equal(tulip_lock_init(&w.lock), 0);
    assert_int_equal(tulip_event_init(&w.event), 0);
    assert_non_null(w.chan = tulip_chan_new(sizeof(int), 0));
    assert_non_null(w.queue = tulip_queue_new(sizeof(int), 4, TULIP_QUEUE_FIFO, NULL));
    assert_non_null(w.future = tulip_future_new());
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, w.sock), 0);
    assert_int_equal(tulip_lock_acquire(&w.lock), 0);

    tulip_task *ts[7];
    ts[0] = spawn_named(blocked_on_lock, &w, "on-lock");
    ts[1] = spawn_named(blocked_on_chan, &w, "on-chan");
    ts[2] = w.sleeper = spawn_named(blocked_on_sleep, &w, "on-sleep");
    ts[3] = spawn_named(blocked_on_socket, &w, "on-socket");
    ts[4] = spawn_named(blocked_on_event, &w, "on-event");
    ts[5] = spawn_named(blocked_on_queue, &w, "on-queue");
    ts[6] = spawn_named(blocked_on_future, &w, "on-future");
    tulip_task *joiner = spawn_named(blocked_on_join, &w, "on-join");
    tulip_task *done = spawn_named(returns_seven, NULL, "finished");
    /* One pass: every task reaches its wait, "finished" returns. */
    assert_int_equal(tulip_yield(), 0);
    tulip_task *fresh = spawn_named(returns_seven, NULL, "fresh");

    char *d = dump_to_string();
    char want[160];
    snprintf(want, sizeof want, "waiting on lock %p", (void *)&w.lock);
    expect(d, "on-lock", want, "blocked_on_lock+");
    expect(d, "on-lock", "tulip_lock_acquire+", NULL);
    snprintf(want, sizeof want, "waiting on channel %p", (void *)w.chan);
    expect(d, "on-chan", want, "blocked_on_chan+");
    expect(d, "on-sleep", "waiting on sleep (wakes in ", "blocked_on_sleep+");
    snprintf(want, sizeof want, "waiting on fd %d readable (socket:[", w.sock[0]);
    expect(d, "on-socket", want, "blocked_on_socket+");
    snprintf(want, sizeof want, "waiting on event %p", (void *)&w.event);
    expect(d, "on-event", want, "blocked_on_event+");
    snprintf(want, sizeof want, "waiting on queue %p", (void *)w.queue);
    expect(d, "on-queue", want, "blocked_on_queue+");
    snprintf(want, sizeof want, "waiting on future %p", (void *)w.future);
    expect(d, "on-future", want, "blocked_on_future+");
    snprintf(want, sizeof want, "waiting on join task %llu \"on-sleep\"",
             (unsigned long long)tulip_task_id(w.sleeper));
    expect(d, "on-join", want, "blocked_on_join+");
    /* Entry function and spawn site. */
    expect(d, "on-lock", "entry blocked_on_lock+0x0 ", NULL);
    expect(d, "on-lock", "spawned at spawn_named+", NULL);
#if defined(TULIP_TEST_HAVE_LIBDW) && !defined(TULIP_TEST_NO_DEBUG_INFO)
    /* With libdw, frames name their source line: the entry function's,
     * the spawn site's and the parked frame's are all in this file. */
    assert_int_equal(tulip__srcline_init(), 1);
    expect(d, "on-lock", "entry blocked_on_lock+0x0 at ", NULL);
    expect(d, "on-lock", "test_debug_dump.c:", NULL);
    expect(d, "on-lock", "spawned at spawn_named+", NULL);
    expect(d, "on-chan", "test_debug_dump.c:", "blocked_on_chan+");
#endif
    /* Finished-but-unjoined, not started, and the running task itself. */
    expect(d, "finished", "done (result 7)", NULL);
    expect(d, "fresh", "ready", NULL);
    expect(d, "fresh", "(not started yet)", NULL);
    expect(d, "main", "running", "main_wait_reasons+");
    assert_non_null(strstr(d, "tulip: dump of loop "));
    free(d);

    /* Scope deadline and a pending cancel show up too. */
    tulip_cancel(ts[4]);
    d = dump_to_string();
    expect(d, "on-event", "ready", NULL);
    expect(d, "on-event", "cancel requested", NULL);
    free(d);

    tulip_lock_release(&w.lock);
    assert_int_equal(tulip_join(ts[0]), 0);
    tulip_cancel(joiner);
    assert_int_equal(tulip_join(joiner), -ECANCELED);
    for (int i = 1; i < 7; i++) {
        tulip_cancel(ts[i]);
        assert_int_equal(tulip_join(ts[i]), -ECANCELED);
    }
    assert_int_equal(tulip_join(done), 7);
    assert_int_equal(tulip_join(fresh), 7);
    tulip_close(w.sock[0]);
    close(w.sock[1]);
    tulip_chan_free(w.chan);
    tulip_queue_free(w.queue);
    tulip_future_free(w.future);
    return 0;
}

static void test_dump_wait_reasons(void **state)
{
    (void)state;
    assert_int_equal(test_run(main_wait_reasons, NULL), 0);
}

static int in_scope(void *p)
{
    (void)p;
    tulip_scope s;
    tulip_scope_enter_timeout(&s, TULIP_SEC(30));
    int rc = tulip_sleep(TULIP_SEC(3600));
    tulip_scope_exit(&s);
    return rc;
}

static int main_scope(void *p)
{
    (void)p;
    tulip_task *t = spawn_named(in_scope, NULL, "scoped");
    assert_int_equal(tulip_yield(), 0);
    char *d = dump_to_string();
    expect(d, "scoped", "waiting on sleep (wakes in 3600.000 s), scope deadline in 30.000 s", "in_scope+");
    free(d);
    tulip_cancel(t);
    assert_int_equal(tulip_join(t), -ECANCELED);
    return 0;
}

static void test_dump_scope_deadline(void **state)
{
    (void)state;
    /* Virtual clock: the times in the dump are exact. */
    assert_int_equal(test_run_virtual(main_scope, NULL), 0);
}

static void *dump_from_thread(void *p)
{
    return (void *)(intptr_t)tulip_dump_loop(p, stdout);
}

static void test_dump_errors(void **state)
{
    (void)state;
    assert_int_equal(tulip_dump(stdout), -EPERM);
    assert_int_equal(tulip_dump(NULL), -EINVAL);
    tulip_loop *l = tulip_loop_new(NULL);
    assert_non_null(l);
    assert_int_equal(tulip_dump_loop(NULL, stdout), -EINVAL);
    assert_int_equal(tulip_dump_loop(l, NULL), -EINVAL);
    pthread_t th;
    void *rc;
    assert_int_equal(pthread_create(&th, NULL, dump_from_thread, l), 0);
    assert_int_equal(pthread_join(th, &rc), 0);
    assert_int_equal((int)(intptr_t)rc, -EPERM);
    /* From the owning thread, not running: fine (an empty loop). */
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_int_equal(tulip_dump_loop(l, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, ": 0 tasks alive"));
    free(buf);
    tulip_loop_free(l);
}

/* SIGQUIT in debug mode: the dump goes to stderr, from the loop thread. */
static int quit_waiter(void *p)
{
    return tulip_event_wait(p);
}

static int main_sigquit(void *p)
{
    (void)p;
    tulip_event ev;
    tulip_event_init(&ev);
    tulip_task *t = tulip_spawn(quit_waiter, &ev);
    if (!t)
        return 10;
    tulip_task_set_name(t, "quit-waiter");
    tulip_yield();
    kill(getpid(), SIGQUIT);
    /* The handler only wakes the loop; the dump runs on its next pass. */
    tulip_yield();
    tulip_yield();
    tulip_event_set(&ev);
    return tulip_join(t);
}

static void test_sigquit_dumps(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        tulip_config cfg;
        tulip_config_init(&cfg);
        cfg.debug = 1;
        int rc = tulip_run_ex(main_sigquit, NULL, &cfg);
        fflush(stderr);
        _exit(rc == 0 ? 0 : 1);
    }
    close(p[1]);
    char buf[16384];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    const char *d = strstr(buf, "tulip: dump of loop ");
    if (!d)
        fprintf(stderr, "child stderr:\n%s\n", buf);
    assert_non_null(d);
    assert_non_null(strstr(d, ", debug): "));
    assert_non_null(strstr(d, "\"quit-waiter\": waiting on event 0x"));
    assert_non_null(strstr(d, "\"main\": "));
}

/* A frame is never named after a symbol it lies past the end of. A
 * stripped libc keeps only its exported symbols, and the nearest one below
 * a local function is not that function (the frames under main and under
 * a ucontext task's entry were named so). The byte just past a libc
 * function that no exported symbol covers is such an address. */
static void test_no_name_past_a_symbol(void **state)
{
    (void)state;
    if (!tulip__unwind_init()) {
        print_message("skipped: %s\n", tulip__unwind_missing());
        skip();
    }
    /* libc's own definitions, not a sanitizer's interceptors. */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(libc);
    static const char *const fns[] = { "qsort", "abort", "malloc", "printf", "strtol" };
    int checked = 0;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        void *f = dlsym(libc, fns[i]), *entry = NULL;
        Dl_info info;
        if (!f || !dladdr1(f, &info, &entry, RTLD_DL_SYMENT) || !entry)
            continue;
        const ElfW(Sym) *sym = entry;
        const char *past = (const char *)f + sym->st_size;
        if (sym->st_size == 0 || (dladdr(past, &info) && info.dli_sname))
            continue; /* another exported symbol starts there */
        char name[128];
        uintptr_t off = 0;
        if (tulip__symbol_name(past, name, sizeof name, &off) && strcmp(name, fns[i]) == 0 && off >= sym->st_size)
            fail_msg("%p named %s+0x%lx, past its %lu bytes", (const void *)past, name, (unsigned long)off,
                     (unsigned long)sym->st_size);
        checked++;
    }
    dlclose(libc);
    assert_true(checked > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_wait_reasons),
        cmocka_unit_test(test_dump_scope_deadline),
        cmocka_unit_test(test_dump_errors),
        cmocka_unit_test(test_sigquit_dumps),
        cmocka_unit_test(test_no_name_past_a_symbol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
