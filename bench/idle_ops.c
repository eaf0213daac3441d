/* One operation n times on one loop, for instruction counts under callgrind
 * (load-independent before/after figures for the default mode, issue 18):
 *
 *   valgrind --tool=callgrind ./idle_ops yield|spawn|chan N
 *
 * Per-operation cost = (Ir at 2N - Ir at N) / N, so start-up cancels out.
 * yield: two tasks yielding N times each (4 switches per loop pass);
 * spawn: tulip_join(tulip_spawn(nop)) N times; chan: N ping-pong round
 * trips over two unbuffered channels. Prints nothing but a checksum. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tulip.h"

static long n_ops;

static int yielder(void *p)
{
    (void)p;
    for (long i = 0; i < n_ops; i++)
        tulip_yield();
    return 0;
}

static int nop(void *p)
{
    (void)p;
    return 0;
}

struct pp {
    tulip_chan *ping, *pong;
};

static int echo(void *p)
{
    struct pp *pp = p;
    long v;
    for (long i = 0; i < n_ops; i++)
        if (tulip_chan_recv(pp->ping, &v) || tulip_chan_send(pp->pong, &v))
            return -1;
    return 0;
}

static const char *mode;

static int drive(void *p)
{
    (void)p;
    long sum = 0;
    if (!strcmp(mode, "yield")) {
        tulip_task *a = tulip_spawn(yielder, NULL), *b = tulip_spawn(yielder, NULL);
        sum = tulip_join(a) + tulip_join(b);
    } else if (!strcmp(mode, "spawn")) {
        for (long i = 0; i < n_ops; i++)
            sum += tulip_join(tulip_spawn(nop, NULL));
    } else if (!strcmp(mode, "chan")) {
        struct pp pp = {tulip_chan_new(sizeof(long), 0), tulip_chan_new(sizeof(long), 0)};
        tulip_task *e = tulip_spawn(echo, &pp);
        for (long i = 0; i < n_ops; i++) {
            long v = i;
            tulip_chan_send(pp.ping, &v);
            tulip_chan_recv(pp.pong, &v);
            sum += v;
        }
        tulip_join(e);
        tulip_chan_free(pp.ping);
        tulip_chan_free(pp.pong);
    }
    printf("%ld\n", sum);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s yield|spawn|chan N\n", argv[0]);
        return 2;
    }
    mode = argv[1];
    n_ops = atol(argv[2]);
    return tulip_run(drive, NULL) < 0;
}
