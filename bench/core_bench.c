/* Core micro-benchmarks: ns per context switch, ns per spawn+join, and
 * resident bytes per idle task. Prints figures; never fails.
 *
 *   core_bench [--tasks N] [--switches N] [--spawns N] [--csv]
 *
 * A "switch" is one direction of a task <-> loop transfer: tulip_yield
 * costs two (task -> loop -> task), so ns/switch = ns/yield / 2. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tulip.h"
#include "rss.h"
#include "platform/context.h"

/* Raw switch: two contexts ping-ponging through tulip__ctx_switch alone, the
 * figure comparable with Boost.Context's jump_fcontext. */
static tulip__ctx raw_main, raw_co;
static long raw_left;

static void raw_entry(void *arg)
{
    (void)arg;
    for (;;)
        tulip__ctx_switch(&raw_co, &raw_main);
}

static double raw_switch_ns(long n)
{
    static char stack[64 * 1024] __attribute__((aligned(16)));
    tulip__ctx_make(&raw_co, stack, sizeof stack, raw_entry, NULL);
    raw_left = n / 2;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < raw_left; i++)
        tulip__ctx_switch(&raw_main, &raw_co);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)(2 * raw_left);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}


struct opts {
    long switches, spawns, tasks;
    double ns_switch, ns_spawn, bytes_per_task, ns_raw;
};

static int yielder(void *p)
{
    long n = *(long *)p;
    for (long i = 0; i < n; i++)
        tulip_yield();
    return 0;
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

static int bench_main(void *p)
{
    struct opts *o = p;

    /* Context switch: one task yielding alone; each yield is task -> loop
     * -> task. */
    long n = o->switches / 2;
    tulip_task *t = tulip_spawn(yielder, &n);
    int64_t t0 = mono_ns();
    tulip_join(t);
    o->ns_switch = (double)(mono_ns() - t0) / (double)(2 * n);

    /* spawn + join, one at a time (stack and task reuse in steady state). */
    t0 = mono_ns();
    for (long i = 0; i < o->spawns; i++)
        tulip_join(tulip_spawn(nop, NULL));
    o->ns_spawn = (double)(mono_ns() - t0) / (double)o->spawns;

    /* Idle tasks: each parked on a future, after it has run once. */
    tulip_future *f = tulip_future_new();
    tulip_task **ts = malloc((size_t)o->tasks * sizeof *ts);
    long before = rss_bytes();
    for (long i = 0; i < o->tasks; i++)
        ts[i] = tulip_spawn(parked, f);
    tulip_yield();
    long after = rss_bytes();
    o->bytes_per_task = (double)(after - before) / (double)o->tasks;
    tulip_future_resolve(f, NULL);
    for (long i = 0; i < o->tasks; i++)
        tulip_join(ts[i]);
    free(ts);
    tulip_future_free(f);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {20000000, 2000000, 100000, 0, 0, 0, 0};
    int csv = 0;
    size_t stack = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tasks") && i + 1 < argc)
            o.tasks = atol(argv[++i]);
        else if (!strcmp(argv[i], "--switches") && i + 1 < argc)
            o.switches = atol(argv[++i]);
        else if (!strcmp(argv[i], "--spawns") && i + 1 < argc)
            o.spawns = atol(argv[++i]);
        else if (!strcmp(argv[i], "--stack") && i + 1 < argc)
            stack = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--csv"))
            csv = 1;
        else {
            fprintf(stderr, "usage: %s [--tasks N] [--switches N] [--spawns N] [--stack BYTES] [--csv]\n", argv[0]);
            return 2;
        }
    }
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.stack_size = stack;
    o.ns_raw = raw_switch_ns(o.switches);
    int rc = tulip_run_ex(bench_main, &o, &cfg);
    if (rc < 0) {
        fprintf(stderr, "core_bench: %s\n", tulip_strerror(rc));
        return 1;
    }
    if (csv) {
        printf("tulip,raw_switch_ns,%.2f\ntulip,switch_ns,%.2f\ntulip,spawn_join_ns,%.1f\n"
               "tulip,idle_bytes_per_task,%.0f\n",
               o.ns_raw, o.ns_switch, o.ns_spawn, o.bytes_per_task);
    } else {
        printf("tulip %s core benchmarks\n", tulip_version());
        printf("  raw context switch %8.2f ns   (tulip__ctx_switch, as Boost.Context's jump_fcontext)\n", o.ns_raw);
        printf("  task switch        %8.2f ns   (task <-> loop via tulip_yield, %ld switches)\n", o.ns_switch,
               o.switches);
        printf("  spawn + join       %8.1f ns   (%ld tasks, one at a time)\n", o.ns_spawn, o.spawns);
        printf("  idle task RSS      %8.0f bytes per task (%ld tasks parked on a future)\n", o.bytes_per_task,
               o.tasks);
    }
    return 0;
}
