/* ucontext peer: swapcontext ping-pong and a spawn+join made of
 * makecontext + swapcontext into a fresh context that returns at once
 * (uc_link brings control back). glibc's swapcontext saves and restores
 * the signal mask with a system call on every switch.
 * Prints CSV rows "ucontext,<metric>,<value>".
 *   ucontext [switches] [spawns] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

static ucontext_t main_uc, co_uc;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void bouncer(void)
{
    for (;;)
        swapcontext(&co_uc, &main_uc);
}

static void nop_task(void)
{
}

int main(int argc, char **argv)
{
    long switches = argc > 1 ? atol(argv[1]) : 2000000;
    long spawns = argc > 2 ? atol(argv[2]) : 1000000;
    size_t size = 64 * 1024;
    char *stack = aligned_alloc(64, size);
    if (!stack)
        return 1;

    getcontext(&co_uc);
    co_uc.uc_stack.ss_sp = stack;
    co_uc.uc_stack.ss_size = size;
    co_uc.uc_link = &main_uc;
    makecontext(&co_uc, bouncer, 0);
    long rounds = switches / 2;
    double a = now_ns();
    for (long i = 0; i < rounds; i++)
        swapcontext(&main_uc, &co_uc);
    double b = now_ns();
    printf("ucontext,raw_switch_ns,%.2f\n", (b - a) / (double)(2 * rounds));

    /* The stack is reused, as tulip reuses freed stacks in steady state. */
    a = now_ns();
    for (long i = 0; i < spawns; i++) {
        ucontext_t uc;
        getcontext(&uc);
        uc.uc_stack.ss_sp = stack;
        uc.uc_stack.ss_size = size;
        uc.uc_link = &main_uc;
        makecontext(&uc, nop_task, 0);
        swapcontext(&main_uc, &uc);
    }
    b = now_ns();
    printf("ucontext,spawn_join_ns,%.2f\n", (b - a) / (double)spawns);
    free(stack);
    return 0;
}
