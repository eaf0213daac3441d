/* Issue 18's echo server with many mostly idle connections: server RSS per
 * connection, compact tasks against private-stack tasks (and against any
 * other server, e.g. bench/peers/echo.go, by its pid), and the round trips
 * per second of a few active connections among them. Prints figures; never
 * fails.
 *
 *   idle_echo server PORT compact|private   one task per connection, a
 *                                           512-byte buffer in its frame
 *   idle_echo client PORT PID N ACTIVE SECS N connections to the server
 *                                           with pid PID, each echoed once
 *                                           (so its task has run and parked
 *                                           reading); then ACTIVE of them
 *                                           ping-pong 64 bytes for SECS
 *
 * RSS per connection = growth of the server's VmRSS from before the first
 * connection to all N parked, divided by N. The kernel's socket buffers are
 * not in it (the client prints the growth of Slab in /proc/meminfo beside
 * it: both ends' sockets, client and server). The fd limit of the
 * process (20,000 here, without CAP_SYS_RESOURCE) caps N. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

/* ---- server -------------------------------------------------------------------- */

static unsigned conn_flags;

static int conn(void *p)
{
    int fd = (int)(intptr_t)p;
    char buf[512];
    for (;;) {
        ssize_t n = tulip_read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        if (tulip_write_all(fd, buf, (size_t)n, NULL) < 0)
            break;
    }
    tulip_close(fd);
    return 0;
}

static int serve(void *p)
{
    int lfd = tulip_listen("tcp", (const char *)p, 4096);
    if (lfd < 0) {
        fprintf(stderr, "listen: %s\n", tulip_strerror(lfd));
        return 1;
    }
    for (;;) {
        int fd = tulip_accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (fd == -EMFILE || fd == -ENFILE) {
                tulip_sleep(TULIP_MS(10));
                continue;
            }
            break;
        }
        tulip_task *t = tulip_spawn_ex(NULL, conn, (void *)(intptr_t)fd, conn_flags);
        if (!t)
            tulip_close(fd);
        else
            tulip_detach(t);
    }
    return 0;
}

/* ---- client -------------------------------------------------------------------- */

static long status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && sscanf(line + kl, " %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int echo_once(int fd, size_t n)
{
    char buf[64];
    memset(buf, 'x', sizeof buf);
    if (write(fd, buf, n) != (ssize_t)n)
        return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int client(int port, int pid, long n, long active, double secs)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    int *fds = malloc((size_t)n * sizeof *fds);
    long rss0 = status_kb(pid, "VmRSS:"), slab0 = slab_bytes() / 1024;
    long made = 0;
    for (; made < n; made++) {
        fds[made] = dial(port);
        if (fds[made] < 0 || echo_once(fds[made], 1) != 0) {
            fprintf(stderr, "connection %ld: %s\n", made, strerror(errno));
            break;
        }
    }
    long rss1 = status_kb(pid, "VmRSS:"), slab1 = slab_bytes() / 1024;
    printf("server_rss_bytes_per_conn_%ld,%.0f\n", made, (double)(rss1 - rss0) * 1024 / (double)made);
    printf("  server VmRSS %.1f -> %.1f MiB; kernel slab growth %.0f bytes per connection (both ends)\n",
           (double)rss0 / 1024, (double)rss1 / 1024, (double)(slab1 - slab0) * 1024 / (double)made);
    if (active > made)
        active = made;
    /* Active connections: each has one 64-byte message in flight. */
    struct pollfd *pf = calloc((size_t)active, sizeof *pf);
    char buf[64];
    memset(buf, 'y', sizeof buf);
    for (long i = 0; i < active; i++) {
        pf[i].fd = fds[i * (made / active)];
        pf[i].events = POLLIN;
        if (write(pf[i].fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            return 1;
    }
    long trips = 0;
    double t0 = now_s(), t1 = t0;
    while ((t1 = now_s()) - t0 < secs) {
        if (poll(pf, (nfds_t)active, 1000) <= 0)
            continue;
        for (long i = 0; i < active; i++) {
            if (!(pf[i].revents & POLLIN))
                continue;
            ssize_t r = read(pf[i].fd, buf, sizeof buf);
            if (r <= 0)
                return 1;
            /* Whole messages only: a short read waits for the rest. */
            if (r == (ssize_t)sizeof buf) {
                trips++;
                if (write(pf[i].fd, buf, sizeof buf) != (ssize_t)sizeof buf)
                    return 1;
            } else {
                size_t got = (size_t)r;
                while (got < sizeof buf) {
                    ssize_t k = read(pf[i].fd, buf + got, sizeof buf - got);
                    if (k <= 0)
                        return 1;
                    got += (size_t)k;
                }
                trips++;
                if (write(pf[i].fd, buf, sizeof buf) != (ssize_t)sizeof buf)
                    return 1;
            }
        }
    }
    printf("round_trips_per_s_%ld_active_of_%ld,%.0f\n", active, made, (double)trips / (t1 - t0));
    for (long i = 0; i < made; i++)
        close(fds[i]);
    free(fds);
    free(pf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "server")) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        conn_flags = strcmp(argv[3], "private") ? TULIP_SPAWN_COMPACT : 0;
        static char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%s", argv[2]);
        return tulip_run(serve, addr) != 0;
    }
    if (argc == 7 && !strcmp(argv[1], "client"))
        return client(atoi(argv[2]), atoi(argv[3]), atol(argv[4]), atol(argv[5]), atof(argv[6]));
    fprintf(stderr, "usage: %s server PORT compact|private | client PORT PID N ACTIVE SECS\n", argv[0]);
    return 2;
}
