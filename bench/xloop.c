/* Channels across loops (tulip_config.workers = 2): a task on loop 0 and
 * one on loop 1.
 *   ping-pong: two unbuffered channels, one item each way per round:
 *              ns per round trip (every hop parks and wakes across threads);
 *   stream:    loop 0 sends N ints into a buffered channel (cap 1024), loop 1
 *              receives them: ns per item, and the cross-loop posts the
 *              receiving loop took per item (one post per burst, not per
 *              item, is the design).
 * Prints "name,value" lines. Figures only; never fails on them.
 *   bench_xloop [rounds] [items] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tulip.h"
#include "tulip/runtime.h"
#include "sync/xwait.h"

static long rounds = 200000, items = 2000000;
static tulip_chan *ping, *pong, *stream;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int ponger(void *p)
{
    (void)p;
    long v;
    while (tulip_chan_recv(ping, &v) == 0)
        if (tulip_chan_send(pong, &v) != 0)
            break;
    return 0;
}

static uint64_t posts_seen;

static int drain(void *p)
{
    (void)p;
    long v, n = 0;
    uint64_t p0, p1;
    tulip__xwake_stats(tulip_loop_current(), &p0, NULL);
    while (tulip_chan_recv(stream, &v) == 0)
        n++;
    tulip__xwake_stats(tulip_loop_current(), &p1, NULL);
    posts_seen = p1 - p0;
    return n == items ? 0 : -1;
}

static int main_task(void *p)
{
    (void)p;
    ping = tulip_chan_new(sizeof(long), 0);
    pong = tulip_chan_new(sizeof(long), 0);
    stream = tulip_chan_new(sizeof(long), 1024);
    tulip_future *f;
    tulip_spawn_remote(tulip_loop_at(1), ponger, NULL, &f);
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++) {
        long v = i;
        tulip_chan_send(ping, &v);
        tulip_chan_recv(pong, &v);
    }
    double t1 = now_ns();
    tulip_chan_close(ping);
    tulip_future_await(f, NULL);
    tulip_future_free(f);
    printf("pingpong_ns_per_round,%.0f\n", (t1 - t0) / (double)rounds);

    tulip_spawn_remote(tulip_loop_at(1), drain, NULL, &f);
    t0 = now_ns();
    for (long i = 0; i < items; i++)
        tulip_chan_send(stream, &i);
    tulip_chan_close(stream);
    void *rv;
    int rc = tulip_future_await(f, &rv);
    t1 = now_ns();
    tulip_future_free(f);
    printf("stream_ns_per_item,%.1f\n", (t1 - t0) / (double)items);
    printf("stream_items_per_s,%.0f\n", (double)items * 1e9 / (t1 - t0));
    printf("stream_posts_per_1000_items,%.2f\n", (double)posts_seen * 1000.0 / (double)items);
    tulip_chan_free(ping);
    tulip_chan_free(pong);
    tulip_chan_free(stream);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atol(argv[1]);
    if (argc > 2)
        items = atol(argv[2]);
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.workers = 2;
    return tulip_run_ex(main_task, NULL, &cfg) < 0;
}
