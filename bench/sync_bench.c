/* Costs of the sync primitives between tasks of one loop: channel
 * ping-pong, lock hand-off, queue throughput, and a few neighbours for
 * context. Prints figures only; it never fails on them.
 *   build-<x>/bench/sync_bench [scale]   (scale multiplies the counts) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tulip.h"

static double scale = 1.0;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long count(long n)
{
    long m = (long)((double)n * scale);
    return m > 0 ? m : 1;
}

/* Best of a few runs: the first warms stacks and caches. */
#define RUNS 3

/* ---- channel ping-pong ------------------------------------------------------- */

struct pingpong {
    tulip_chan *ping, *pong;
    long n;
};

static int ponger(void *p)
{
    struct pingpong *pp = p;
    long v;
    for (long i = 0; i < pp->n; i++) {
        if (tulip_chan_recv(pp->ping, &v) || tulip_chan_send(pp->pong, &v))
            return -1;
    }
    return 0;
}

static int bench_chan_pingpong(void *p)
{
    double *out = p;
    struct pingpong pp = { tulip_chan_new(sizeof(long), 0), tulip_chan_new(sizeof(long), 0), count(1000000) };
    tulip_task *t = tulip_spawn(ponger, &pp);
    double t0 = now_ns();
    for (long i = 0; i < pp.n; i++) {
        long v = i;
        tulip_chan_send(pp.ping, &v);
        tulip_chan_recv(pp.pong, &v);
    }
    *out = (now_ns() - t0) / (double)pp.n;
    tulip_join(t);
    tulip_chan_free(pp.ping);
    tulip_chan_free(pp.pong);
    return 0;
}

/* The same through a two-case select on the receiving side. */
static int select_ponger(void *p)
{
    struct pingpong *pp = p;
    long v;
    tulip_chan *never = tulip_chan_new(sizeof(long), 0);
    tulip_select_case cs[2] = {
        { .chan = never, .op = TULIP_SELECT_RECV, .item = &v },
        { .chan = pp->ping, .op = TULIP_SELECT_RECV, .item = &v },
    };
    for (long i = 0; i < pp->n; i++) {
        if (tulip_select(cs, 2, 0) != 1 || tulip_chan_send(pp->pong, &v))
            return -1;
    }
    tulip_chan_free(never);
    return 0;
}

static int bench_select_pingpong(void *p)
{
    double *out = p;
    struct pingpong pp = { tulip_chan_new(sizeof(long), 0), tulip_chan_new(sizeof(long), 0), count(1000000) };
    tulip_task *t = tulip_spawn(select_ponger, &pp);
    double t0 = now_ns();
    for (long i = 0; i < pp.n; i++) {
        long v = i;
        tulip_chan_send(pp.ping, &v);
        tulip_chan_recv(pp.pong, &v);
    }
    *out = (now_ns() - t0) / (double)pp.n;
    tulip_join(t);
    tulip_chan_free(pp.ping);
    tulip_chan_free(pp.pong);
    return 0;
}

/* ---- lock hand-off ------------------------------------------------------------- */

struct contend {
    tulip_lock l;
    long n;
};

/* Take the lock, let the other task queue behind it, then alternate: each
 * unlock hands the lock to the waiting task and the following lock parks
 * until it is handed back. Every iteration is one hand-off. */
static int contender(void *p)
{
    struct contend *c = p;
    tulip_lock_acquire(&c->l);
    tulip_yield();
    for (long i = 0; i < c->n; i++) {
        tulip_lock_release(&c->l);
        tulip_lock_acquire(&c->l);
    }
    tulip_lock_release(&c->l);
    return 0;
}

static int bench_lock_handoff(void *p)
{
    double *out = p;
    struct contend c = { .n = count(1000000) };
    tulip_lock_init(&c.l);
    tulip_task *a = tulip_spawn(contender, &c);
    tulip_task *b = tulip_spawn(contender, &c);
    double t0 = now_ns();
    tulip_join(a);
    tulip_join(b);
    *out = (now_ns() - t0) / (double)(2 * c.n);
    return 0;
}

static int bench_lock_uncontended(void *p)
{
    double *out = p;
    tulip_lock l;
    tulip_lock_init(&l);
    long n = count(10000000);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        tulip_lock_acquire(&l);
        tulip_lock_release(&l);
    }
    *out = (now_ns() - t0) / (double)n;
    return 0;
}

/* ---- queue and buffered channel throughput ------------------------------------- */

struct pipe {
    tulip_queue *q;
    tulip_chan *c;
    long n;
    unsigned long long sum;
};

static int q_consumer(void *p)
{
    struct pipe *pp = p;
    unsigned long long v;
    for (long i = 0; i < pp->n; i++) {
        if (tulip_queue_get(pp->q, &v))
            return -1;
        pp->sum += v;
    }
    return 0;
}

static int bench_queue(void *p)
{
    double *out = p;
    struct pipe pp = { .q = tulip_queue_new(sizeof(unsigned long long), 1024, TULIP_QUEUE_FIFO, NULL),
                       .n = count(10000000) };
    tulip_task *t = tulip_spawn(q_consumer, &pp);
    double t0 = now_ns();
    for (long i = 0; i < pp.n; i++) {
        unsigned long long v = (unsigned long long)i;
        tulip_queue_put(pp.q, &v);
    }
    tulip_join(t);
    *out = (double)pp.n / ((now_ns() - t0) / 1e9);
    tulip_queue_free(pp.q);
    return 0;
}

static int c_consumer(void *p)
{
    struct pipe *pp = p;
    unsigned long long v;
    for (long i = 0; i < pp->n; i++) {
        if (tulip_chan_recv(pp->c, &v))
            return -1;
        pp->sum += v;
    }
    return 0;
}

static int bench_chan_buffered(void *p)
{
    double *out = p;
    struct pipe pp = { .c = tulip_chan_new(sizeof(unsigned long long), 1024), .n = count(10000000) };
    tulip_task *t = tulip_spawn(c_consumer, &pp);
    double t0 = now_ns();
    for (long i = 0; i < pp.n; i++) {
        unsigned long long v = (unsigned long long)i;
        tulip_chan_send(pp.c, &v);
    }
    tulip_join(t);
    *out = (double)pp.n / ((now_ns() - t0) / 1e9);
    tulip_chan_free(pp.c);
    return 0;
}

static double best(tulip_fn fn, int lower_is_better)
{
    double b = 0;
    for (int r = 0; r < RUNS; r++) {
        double v = 0;
        tulip_run(fn, &v);
        if (r == 0 || (lower_is_better ? v < b : v > b))
            b = v;
    }
    return b;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        scale = atof(argv[1]);
    printf("tulip sync benchmarks (best of %d, one loop, one core)\n", RUNS);
    printf("  channel ping-pong, unbuffered     %8.1f ns per round trip\n", best(bench_chan_pingpong, 1));
    printf("  select ping-pong (2 cases)        %8.1f ns per round trip\n", best(bench_select_pingpong, 1));
    printf("  lock hand-off, 2 tasks contending %8.1f ns per hand-off\n", best(bench_lock_handoff, 1));
    printf("  lock+unlock, uncontended          %8.1f ns\n", best(bench_lock_uncontended, 1));
    printf("  queue, bounded 1024, 1P/1C        %8.2f M items/s\n", best(bench_queue, 0) / 1e6);
    printf("  channel, buffered 1024, 1P/1C     %8.2f M items/s\n", best(bench_chan_buffered, 0) / 1e6);
    return 0;
}
