/* One operation n times on one loop, for instruction counts under callgrind
 * (load-independent before/after figures for the default mode, issue 18):
 *
 *   valgrind --tool=callgrind ./idle_ops MODE N
 *
 * Per-operation cost = (Ir at 2N - Ir at N) / N, so start-up cancels out.
 * yield: two tasks yielding N times each (4 switches per loop pass);
 * spawn: tulip_join(tulip_spawn(nop)) N times; chan: N ping-pong round
 * trips over two unbuffered channels of longs; chan64: the same with
 * 64-byte items; select: the same with both sides receiving through a
 * two-case select; queue: N items through a bounded-1 queue (put + get);
 * bcast: N round trips over two broadcast channels. Every round trip parks
 * each side once, so these count the cost of the wait records. scope: N
 * scopes with a deadline entered and exited around a yield (the timer
 * node is the scope's). Prints nothing but a checksum. */
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

struct big {
    long v[8];
};

static int echo64(void *p)
{
    struct pp *pp = p;
    struct big b;
    for (long i = 0; i < n_ops; i++)
        if (tulip_chan_recv(pp->ping, &b) || tulip_chan_send(pp->pong, &b))
            return -1;
    return 0;
}

/* Receive on c through a select with a second case that never fires. */
static int select_recv(tulip_chan *c, tulip_chan *idle, long *v)
{
    long unused;
    tulip_select_case cs[2] = {
        {.chan = idle, .op = TULIP_SELECT_RECV, .item = &unused},
        {.chan = c, .op = TULIP_SELECT_RECV, .item = v},
    };
    return tulip_select(cs, 2, 0) == 1 ? cs[1].result : -1;
}

struct sp {
    tulip_chan *ping, *pong, *idle;
};

static int select_echo(void *p)
{
    struct sp *sp = p;
    long v;
    for (long i = 0; i < n_ops; i++)
        if (select_recv(sp->ping, sp->idle, &v) || tulip_chan_send(sp->pong, &v))
            return -1;
    return 0;
}

static int getter(void *p)
{
    long v, sum = 0;
    for (long i = 0; i < n_ops; i++) {
        if (tulip_queue_get(p, &v))
            return -1;
        sum += v;
    }
    return (int)(sum & 1);
}

struct bp {
    tulip_broadcast *ping, *pong;
    tulip_broadcast_receiver *ping_r, *pong_r;
};

static int bcast_echo(void *p)
{
    struct bp *bp = p;
    long v;
    for (long i = 0; i < n_ops; i++)
        if (tulip_broadcast_recv(bp->ping_r, &v) != 0 || tulip_broadcast_send(bp->pong, &v) < 0)
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
    } else if (!strcmp(mode, "chan64")) {
        struct pp pp = {tulip_chan_new(sizeof(struct big), 0), tulip_chan_new(sizeof(struct big), 0)};
        tulip_task *e = tulip_spawn(echo64, &pp);
        for (long i = 0; i < n_ops; i++) {
            struct big b = {{i}};
            tulip_chan_send(pp.ping, &b);
            tulip_chan_recv(pp.pong, &b);
            sum += b.v[0];
        }
        tulip_join(e);
        tulip_chan_free(pp.ping);
        tulip_chan_free(pp.pong);
    } else if (!strcmp(mode, "select")) {
        struct sp sp = {tulip_chan_new(sizeof(long), 0), tulip_chan_new(sizeof(long), 0),
                        tulip_chan_new(sizeof(long), 0)};
        tulip_task *e = tulip_spawn(select_echo, &sp);
        for (long i = 0; i < n_ops; i++) {
            long v = i;
            tulip_chan_send(sp.ping, &v);
            select_recv(sp.pong, sp.idle, &v);
            sum += v;
        }
        tulip_join(e);
        tulip_chan_free(sp.ping);
        tulip_chan_free(sp.pong);
        tulip_chan_free(sp.idle);
    } else if (!strcmp(mode, "queue")) {
        tulip_queue *q = tulip_queue_new(sizeof(long), 1, TULIP_QUEUE_FIFO, NULL);
        tulip_task *g = tulip_spawn(getter, q);
        for (long i = 0; i < n_ops; i++)
            tulip_queue_put(q, &i);
        sum = tulip_join(g);
        tulip_queue_free(q);
    } else if (!strcmp(mode, "bcast")) {
        struct bp bp = {tulip_broadcast_new(sizeof(long), 1), tulip_broadcast_new(sizeof(long), 1), NULL, NULL};
        bp.ping_r = tulip_broadcast_subscribe(bp.ping);
        bp.pong_r = tulip_broadcast_subscribe(bp.pong);
        tulip_task *e = tulip_spawn(bcast_echo, &bp);
        tulip_yield(); /* the echo task parks in its first recv */
        for (long i = 0; i < n_ops; i++) {
            long v = i;
            tulip_broadcast_send(bp.ping, &v);
            tulip_broadcast_recv(bp.pong_r, &v);
            sum += v;
        }
        tulip_join(e);
        tulip_broadcast_unsubscribe(bp.ping_r);
        tulip_broadcast_unsubscribe(bp.pong_r);
        tulip_broadcast_free(bp.ping);
        tulip_broadcast_free(bp.pong);
    } else if (!strcmp(mode, "scope")) {
        for (long i = 0; i < n_ops; i++) {
            tulip_scope sc;
            tulip_scope_enter_timeout(&sc, TULIP_SEC(10));
            tulip_yield();
            sum += tulip_scope_exit(&sc);
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 1;
    }
    printf("%ld\n", sum);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s yield|spawn|chan|chan64|select|queue|bcast|scope N\n", argv[0]);
        return 2;
    }
    mode = argv[1];
    n_ops = atol(argv[2]);
    return tulip_run(drive, NULL) < 0;
}
