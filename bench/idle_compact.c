/* Compact tasks (issue 18): idle bytes per task and resume cost against
 * saved size. Prints figures; never fails.
 *
 *   idle_compact idle N [private|compact]     N tasks parked on a future
 *   idle_compact sock N [private|compact]     N tasks parked reading a socket
 *                                             (one socketpair each up to the fd
 *                                             limit, then several readers per socket)
 *   idle_compact resume [ROUNDS]              ns per resume of an evicted task
 *                                             against its saved size
 *
 * Idle bytes = growth of VmRSS while the tasks are parked, divided by N (the
 * array of handles is made resident before the first reading). The kernel's
 * socket memory is not in VmRSS; the sock line prints the slab growth
 * (/proc/meminfo Slab) beside it. */
#define _GNU_SOURCE
#include <alloca.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tulip.h"
#include "rss.h"
#include "task/task_internal.h"


static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long n_tasks;
static unsigned flags;
static const char *mode_name;

static void print_saved(void)
{
    struct tulip__compact *c = &tulip__sched(tulip_loop_current())->compact;
    if (c->saves)
        printf("  saved frames: %llu saves, average %.0f bytes, largest %zu bytes\n", (unsigned long long)c->saves,
               (double)c->bytes_saved / (double)c->saves, c->max_saved);
}

/* ---- idle on a future ------------------------------------------------------ */

static int parked(void *p)
{
    return tulip_future_await(p, NULL);
}

static int idle_main(void *p)
{
    (void)p;
    tulip_future *f = tulip_future_new();
    tulip_task **ts = malloc((size_t)n_tasks * sizeof *ts);
    memset(ts, 0, (size_t)n_tasks * sizeof *ts);
    long before = rss_bytes();
    int64_t t0 = mono_ns();
    for (long i = 0; i < n_tasks; i++) {
        ts[i] = tulip_spawn_ex(NULL, parked, f, flags);
        if (!ts[i]) {
            fprintf(stderr, "spawn %ld failed: %s\n", i, strerror(errno));
            return 1;
        }
        if ((i & 4095) == 4095)
            tulip_yield(); /* let them park as we go (keeps the ready queue short) */
    }
    tulip_yield();
    int64_t t1 = mono_ns();
    long after = rss_bytes();
    printf("tulip-%s,idle_bytes_per_task_%ld,%.0f\n", mode_name, n_tasks, (double)(after - before) / (double)n_tasks);
    printf("  RSS %.1f MiB for %ld parked tasks (%.0f ns per spawn+first run+park)\n",
           (double)after / (1 << 20), n_tasks, (double)(t1 - t0) / (double)n_tasks);
    print_saved();
    fflush(stdout);
    tulip_future_resolve(f, NULL);
    for (long i = 0; i < n_tasks; i++)
        tulip_join(ts[i]);
    free(ts);
    tulip_future_free(f);
    return 0;
}

/* ---- idle on a socket read ------------------------------------------------- */

static int sock_reader(void *p)
{
    int fd = (int)(intptr_t)p;
    char buf[64];
    ssize_t r = tulip_read(fd, buf, sizeof buf);
    return r < 0 ? (int)r : 0;
}

static long n_socks;

static int sock_main(void *p)
{
    (void)p;
    int(*sv)[2] = malloc((size_t)n_socks * sizeof *sv);
    tulip_task **ts = malloc((size_t)n_tasks * sizeof *ts);
    memset(ts, 0, (size_t)n_tasks * sizeof *ts);
    for (long i = 0; i < n_socks; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]) != 0) {
            fprintf(stderr, "socketpair %ld: %s\n", i, strerror(errno));
            return 1;
        }
    }
    long before = rss_bytes(), slab0 = slab_bytes();
    for (long i = 0; i < n_tasks; i++) {
        ts[i] = tulip_spawn_ex(NULL, sock_reader, (void *)(intptr_t)sv[i % n_socks][0], flags);
        if (!ts[i]) {
            fprintf(stderr, "spawn %ld failed: %s\n", i, strerror(errno));
            return 1;
        }
        if ((i & 4095) == 4095)
            tulip_yield();
    }
    tulip_yield();
    long after = rss_bytes(), slab1 = slab_bytes();
    printf("tulip-%s,sock_idle_bytes_per_task_%ld,%.0f\n", mode_name, n_tasks,
           (double)(after - before) / (double)n_tasks);
    printf("  %ld tasks reading %ld sockets (%.0f per socket: the fd limit)\n", n_tasks, n_socks,
           (double)n_tasks / (double)n_socks);
    printf("  RSS %.1f MiB; kernel slab growth while they parked %.0f bytes per task (sockets made before)\n",
           (double)after / (1 << 20), (double)(slab1 - slab0) / (double)n_tasks);
    print_saved();
    fflush(stdout);
    for (long i = 0; i < n_socks; i++)
        close(sv[i][1]); /* EOF wakes the readers */
    for (long i = 0; i < n_tasks; i++)
        tulip_join(ts[i]);
    for (long i = 0; i < n_socks; i++)
        tulip_close(sv[i][0]);
    free(ts);
    free(sv);
    return 0;
}

/* ---- resume cost against saved size ---------------------------------------- */

static long rounds;

static int hold_and_yield(void *p)
{
    size_t pad = (size_t)(uintptr_t)p;
    volatile char *frame = alloca(pad ? pad : 1);
    if (pad)
        frame[0] = frame[pad - 1] = 1;
    for (long i = 0; i < rounds; i++)
        tulip_yield();
    return frame[0];
}

/* Two tasks bound to one shared stack take turns: every resume saves the
 * other's frames and restores its own. */
static double resume_ns(size_t pad, unsigned fl, double *avg_saved)
{
    struct tulip__compact *c = &tulip__sched(tulip_loop_current())->compact;
    uint64_t s0 = c->saves, b0 = c->bytes_saved;
    tulip_task *a = tulip_spawn_ex(NULL, hold_and_yield, (void *)(uintptr_t)pad, fl);
    tulip_task *b = tulip_spawn_ex(NULL, hold_and_yield, (void *)(uintptr_t)pad, fl);
    int64_t t0 = mono_ns();
    tulip_join(a);
    tulip_join(b);
    int64_t t1 = mono_ns();
    uint64_t ds = c->saves - s0;
    *avg_saved = ds ? (double)(c->bytes_saved - b0) / (double)ds : 0;
    return (double)(t1 - t0) / (double)(2 * rounds);
}

static int resume_main(void *p)
{
    (void)p;
    /* The bare frames (task_entry ... switch) without padding first. */
    double base_saved;
    resume_ns(0, TULIP_SPAWN_COMPACT, &base_saved);
    printf("saved_bytes,compact_ns_per_resume,private_ns_per_resume,extra_ns\n");
    static const size_t sizes[] = {128, 256, 512, 1024, 2048, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t pad = sizes[i] > base_saved + 16 ? sizes[i] - (size_t)base_saved : 0;
        double saved, dummy;
        double cns = resume_ns(pad, TULIP_SPAWN_COMPACT, &saved);
        double pns = resume_ns(pad, 0, &dummy);
        printf("%.0f,%.1f,%.1f,%.1f\n", saved, cns, pns, cns - pns);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s idle|sock N [private|compact] | resume [ROUNDS]\n", argv[0]);
        return 2;
    }
    tulip_config cfg;
    tulip_config_init(&cfg);
    if (!strcmp(argv[1], "resume")) {
        rounds = argc > 2 ? atol(argv[2]) : 1000000;
        cfg.compact_stacks = 1;
        return tulip_run_ex(resume_main, NULL, &cfg) != 0;
    }
    n_tasks = argc > 2 ? atol(argv[2]) : 100000;
    mode_name = argc > 3 ? argv[3] : "compact";
    flags = strcmp(mode_name, "private") ? TULIP_SPAWN_COMPACT : 0;
    if (!strcmp(argv[1], "sock")) {
        /* One socketpair per task where the fd limit allows, else tasks
         * share sockets (several readers parked on one fd). */
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        long room = ((long)rl.rlim_cur - 64) / 2;
        n_socks = n_tasks < room ? n_tasks : room;
        return tulip_run_ex(sock_main, NULL, &cfg) != 0;
    }
    return tulip_run_ex(idle_main, NULL, &cfg) != 0;
}
