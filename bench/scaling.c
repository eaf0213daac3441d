/* How tulip's costs grow with the number of tasks: for N = 1, 10, ...,
 * 1,000,000 (each N in a fresh child process, so stacks faulted in by a
 * smaller N do not hide the memory of a larger one):
 *   - spawn all N tasks, then join them all: ns per task;
 *   - N tasks parked on one future: resident bytes per task (VmRSS delta),
 *     and the heap part of it (mallinfo2 delta) — the rest is stack pages;
 *   - N tasks ready at once, yielding round-robin: ns per yield (a yield is
 *     task -> loop -> next task).
 * Prints "N,spawn_join_ns,rss_bytes_per_task,heap_bytes_per_task,yield_ns"
 * with --csv, a table otherwise. Figures only; never fails on them.
 *   scaling [--csv] [--max N] [--yields TOTAL] */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tulip.h"
#include "rss.h"

struct point {
    long n;
    long yields_total;
    double spawn_join_ns, rss_per_task, heap_per_task, yield_ns;
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int nop(void *p)
{
    (void)p;
    return 0;
}

static int parked(void *p)
{
    return tulip_future_await(p, NULL);
}

static int yielder(void *p)
{
    long k = *(const long *)p;
    for (long i = 0; i < k; i++)
        tulip_yield();
    return 0;
}

static int join_all(tulip_task **ts, long n)
{
    int rc = 0;
    for (long i = 0; i < n; i++)
        if (ts[i] && tulip_join(ts[i]) < 0)
            rc = -1;
    return rc;
}

/* Spawns until n or the first failure; returns how many were spawned. */
static long spawn_all(tulip_task **ts, long n, tulip_fn fn, void *arg)
{
    for (long i = 0; i < n; i++) {
        ts[i] = tulip_spawn(fn, arg);
        if (!ts[i]) {
            perror("scaling: tulip_spawn");
            return i;
        }
    }
    return n;
}

static int measure(void *p)
{
    struct point *pt = p;
    long n = pt->n;
    tulip_task **ts = calloc((size_t)n, sizeof *ts);
    if (!ts)
        return -1;

    /* Memory first, while no stack has been faulted in yet. */
    tulip_future *f = tulip_future_new();
    long before = rss_bytes();
    size_t heap_before = mallinfo2().uordblks;
    long got = spawn_all(ts, n, parked, f);
    tulip_yield(); /* every task runs once and parks */
    pt->rss_per_task = (double)(rss_bytes() - before) / (double)n;
    pt->heap_per_task = (double)(mallinfo2().uordblks - heap_before) / (double)n;
    tulip_future_resolve(f, NULL);
    join_all(ts, got);
    tulip_future_free(f);

    /* Spawn all, then join all: stacks are now warm and pooled, as in a
     * long-running server. */
    double t0 = now_ns();
    got = spawn_all(ts, n, nop, NULL);
    join_all(ts, got);
    pt->spawn_join_ns = (now_ns() - t0) / (double)n;

    /* N ready tasks taking turns. */
    long k = pt->yields_total / n;
    if (k < 4)
        k = 4;
    t0 = now_ns();
    got = spawn_all(ts, n, yielder, &k);
    join_all(ts, got);
    double t1 = now_ns();
    /* Subtract the spawn+join cost just measured to leave the switches. */
    pt->yield_ns = (t1 - t0 - pt->spawn_join_ns * (double)n) / ((double)n * (double)k);
    free(ts);
    return got == n ? 0 : -1;
}

static int run_point(struct point *pt)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        tulip_config cfg;
        tulip_config_init(&cfg);
        /* Keep every freed stack warm: the spawn loop measures reuse. */
        cfg.stack_cache = (unsigned)(pt->n < 256 ? 256 : pt->n);
        int rc = tulip_run_ex(measure, pt, &cfg);
        if (rc < 0)
            fprintf(stderr, "scaling: N=%ld: %s\n", pt->n, tulip_strerror(rc));
        ssize_t w = write(fds[1], pt, sizeof *pt);
        _exit(rc < 0 || w != (ssize_t)sizeof *pt);
    }
    close(fds[1]);
    ssize_t r = read(fds[0], pt, sizeof *pt);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return r == (ssize_t)sizeof *pt && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int csv = 0;
    long max = 1000000, yields = 4000000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv"))
            csv = 1;
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max = atol(argv[++i]);
        else if (!strcmp(argv[i], "--yields") && i + 1 < argc)
            yields = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--csv] [--max N] [--yields TOTAL]\n", argv[0]);
            return 2;
        }
    }
    if (csv)
        printf("n,spawn_join_ns,rss_bytes_per_task,heap_bytes_per_task,yield_ns\n");
    else
        printf("%9s %14s %14s %14s %10s\n", "tasks", "spawn+join ns", "RSS B/task", "heap B/task", "yield ns");
    fflush(stdout);
    for (long n = 1; n <= max; n *= 10) {
        struct point pt = {.n = n, .yields_total = yields};
        if (run_point(&pt) < 0) {
            fprintf(stderr, "scaling: N=%ld failed\n", n);
            continue;
        }
        if (csv)
            printf("%ld,%.1f,%.0f,%.0f,%.2f\n", n, pt.spawn_join_ns, pt.rss_per_task, pt.heap_per_task, pt.yield_ns);
        else
            printf("%9ld %14.1f %14.0f %14.0f %10.2f\n", n, pt.spawn_join_ns, pt.rss_per_task, pt.heap_per_task,
                   pt.yield_ns);
        fflush(stdout);
    }
    return 0;
}
