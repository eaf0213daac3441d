/* debug_demo: what tulip's debug mode shows.
 *
 *   debug_demo          a task dump of tasks blocked on a sleep, a lock, a
 *                       channel and a socket; a task that holds the loop for
 *                       250 ms (the slow-step report); a task nobody joins
 *                       (the leak report at exit)
 *   debug_demo --wait   the same tasks, then waits 60 s: try `kill -QUIT`
 *                       on it, or attach gdb with tools/gdb/tulip.py
 *
 * Debug mode is turned on in code here; any program gets it with
 * TULIP_DEBUG=1 in the environment. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tulip.h"
#include "tulip/debug.h"

static tulip_lock lock;
static tulip_chan *chan;
static int sock[2];

static int sleeper(void *arg)
{
    (void)arg;
    return tulip_sleep(TULIP_SEC(60));
}

static int locker(void *arg)
{
    (void)arg;
    int rc = tulip_lock_acquire(&lock);
    if (rc == 0)
        tulip_lock_release(&lock);
    return rc;
}

static int receiver(void *arg)
{
    (void)arg;
    int v;
    return tulip_chan_recv(chan, &v);
}

static int reader(void *arg)
{
    (void)arg;
    char c;
    return (int)tulip_read(sock[0], &c, 1);
}

static int forgotten(void *arg)
{
    (void)arg;
    return 42;
}

/* Stands for any CPU-bound work that never yields. */
__attribute__((noinline)) static double crunch_numbers(int64_t ns)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    double x = 0;
    do {
        for (int i = 0; i < 1000; i++)
            x += (double)i * 0.5;
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec) < ns);
    return x;
}

static int cruncher(void *arg)
{
    (void)arg;
    return crunch_numbers(TULIP_MS(250)) > 0 ? 0 : -1;
}

static tulip_task *named(tulip_fn fn, const char *name)
{
    tulip_task *t = tulip_spawn(fn, NULL);
    if (t)
        tulip_task_set_name(t, name);
    return t;
}

static int demo(void *arg)
{
    int wait = *(int *)arg;
    chan = tulip_chan_new(sizeof(int), 0);
    if (!chan || socketpair(AF_UNIX, SOCK_STREAM, 0, sock) != 0)
        return -1;
    tulip_lock_init(&lock);
    tulip_lock_acquire(&lock);
    tulip_task *ts[4] = {named(sleeper, "sleeper"), named(locker, "locker"), named(receiver, "receiver"),
                         named(reader, "reader")};
    tulip_detach(named(forgotten, "forgotten")); /* detached: not a leak */
    tulip_task *leak = named(forgotten, "never-joined");
    (void)leak;
    tulip_yield(); /* let them all reach their waits */

    printf("---- tulip_dump(stdout) ----\n");
    tulip_dump(stdout);
    fflush(stdout);

    if (wait) {
        fprintf(stderr, "debug_demo: pid %d waiting 60 s; try kill -QUIT %d\n", (int)getpid(), (int)getpid());
        tulip_sleep(TULIP_SEC(60));
    }

    fprintf(stderr, "---- a task that holds the loop for 250 ms ----\n");
    tulip_task *c = named(cruncher, "cruncher");
    tulip_join(c);

    tulip_lock_release(&lock);
    for (int i = 0; i < 4; i++) {
        tulip_cancel(ts[i]);
        tulip_join(ts[i]);
    }
    tulip_close(sock[0]);
    close(sock[1]);
    tulip_chan_close(chan);
    tulip_chan_free(chan);
    fprintf(stderr, "---- leak report when the loop is freed ----\n");
    return 0;
}

int main(int argc, char **argv)
{
    int wait = argc > 1 && strcmp(argv[1], "--wait") == 0;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.debug = 1;
    int rc = tulip_run_ex(demo, &wait, &cfg);
    return rc < 0 ? 1 : 0;
}
