/* What debug mode costs. With debug off the loop's only trace of the
 * debugging layer is one predictable branch per step (run_ready in
 * src/loop/loop.c), so "off" is the runtime's plain speed; "on" adds two
 * clock reads and a few stores per step, plus the watchdog thread.
 *
 *   debug_overhead [N]     N spawn+join pairs and N yields (default 1e6)
 *
 * Each figure is the best of 5 runs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tulip.h"
#include "tulip/debug.h"

static long n_ops = 1000000;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static int spawn_join(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_ops; i++) {
        tulip_task *t = tulip_spawn(nothing, NULL);
        if (!t || tulip_join(t) != 0)
            return -1;
    }
    return 0;
}

static int yielder(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_ops / 2; i++)
        tulip_yield();
    return 0;
}

/* Two tasks yielding to each other: every yield is a switch out and one in. */
static int switches(void *arg)
{
    (void)arg;
    tulip_task *a = tulip_spawn(yielder, NULL), *b = tulip_spawn(yielder, NULL);
    if (!a || !b)
        return -1;
    return tulip_join(a) | tulip_join(b);
}

static double best_rate(tulip_fn fn, int debug)
{
    double best = 0;
    for (int r = 0; r < 5; r++) {
        tulip_config cfg;
        tulip_config_init(&cfg);
        cfg.debug = debug;
        double t0 = now_s();
        if (tulip_run_ex(fn, NULL, &cfg) != 0) {
            fprintf(stderr, "run failed\n");
            exit(1);
        }
        double rate = (double)n_ops / (now_s() - t0);
        if (rate > best)
            best = rate;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n_ops = atol(argv[1]);
    if (n_ops < 2)
        n_ops = 2;
    printf("%-22s %14s %14s %8s\n", "operation", "debug off /s", "debug on /s", "on/off");
    struct {
        const char *name;
        tulip_fn fn;
    } cases[] = {{"spawn+join", spawn_join}, {"yield (switch pairs)", switches}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double off = best_rate(cases[i].fn, 0);
        double on = best_rate(cases[i].fn, 1);
        printf("%-22s %14.0f %14.0f %8.2f\n", cases[i].name, off, on, on / off);
    }
    return 0;
}
