/* docs/GUIDE.md, "The units of asynchronous work": a process, a thread, a
 * coroutine (task) and a callback, each doing one piece of work for the
 * same program and each awaited the same way: from a task that parks. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <tulip.h>

static int blocking_work(void *arg)         /* a thread: may block freely */
{
    (void)arg;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);                   /* a blocking call, off the loop */
    return 42;
}

static int coroutine(void *arg)             /* a task: parks, never blocks */
{
    (void)arg;
    tulip_sleep(TULIP_MS(1));
    return 7;
}

static void callback(void *arg)             /* a callback: runs to its end */
{
    tulip_event_set(arg);
}

static int main_task(void *arg)
{
    (void)arg;
    /* A process: its own memory; we talk to it through a pipe. */
    char *argv[] = {"echo", "from a process", NULL};
    tulip_process_opts o;
    tulip_process_opts_init(&o);
    o.argv = argv;
    o.stdio[1].mode = TULIP_STDIO_PIPE;
    tulip_process *p = tulip_process_spawn(&o);
    if (!p)
        return -1;
    char line[64];
    ssize_t n = tulip_stream_readline(tulip_process_stdout(p), line, sizeof line - 1);
    int status = 0;
    tulip_process_wait(p, &status);
    tulip_process_free(p);
    line[n > 0 ? n : 0] = '\0';
    printf("process:   %s", line);

    /* A thread from the pool, for a call that blocks. */
    int r = tulip_run_blocking(blocking_work, NULL);
    printf("thread:    %d\n", r);

    /* A coroutine: a task of this loop. */
    tulip_task *t = tulip_spawn(coroutine, NULL);
    int c = tulip_join(t);
    printf("coroutine: %d\n", c);

    /* A callback, run by the loop 1 ms from now. */
    tulip_event done;
    tulip_event_init(&done);
    tulip_call_later(tulip_loop_current(), TULIP_MS(1), callback, &done);
    tulip_event_wait(&done);
    printf("callback:  ran\n");

    return strcmp(line, "from a process\n") == 0 && r == 42 && c == 7 ? 0 : -1;
}

/* Repeating work: a callback on a fixed grid, and a task with a period. */
struct ticks {
    tulip_timer *timer;
    int left;
    tulip_event done;
};

static void tick(void *arg)                 /* every 1 ms, on the grid */
{
    struct ticks *k = arg;
    if (--k->left == 0) {
        tulip_timer_cancel(k->timer);       /* stops it, also from inside */
        tulip_event_set(&k->done);
    }
}

static int repeating(void *arg)
{
    (void)arg;
    struct ticks k = {.left = 3};
    tulip_event_init(&k.done);
    k.timer = tulip_call_every(tulip_loop_current(), TULIP_MS(1), tick, &k);
    if (!k.timer)
        return -1;
    tulip_event_wait(&k.done);
    printf("repeating callback: 3 calls\n");

    int64_t next = tulip_now();
    for (int i = 0; i < 3; i++)
        tulip_sleep_until(next += TULIP_MS(1)); /* absolute: no drift */
    printf("periodic task:      3 periods\n");
    return k.left;
}

int main(void)
{
    return tulip_run(main_task, NULL) == 0 && tulip_run(repeating, NULL) == 0 ? 0 : 1;
}
