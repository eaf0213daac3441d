/* The neutral load generator for every echo server: plain epoll, one
 * thread. Each of C connections sends S bytes, waits for all S back, and
 * repeats, for D seconds; it prints round trips (messages echoed) per
 * second as CSV lines.
 *
 *   echo_client host port [conns=100] [size=64] [seconds=5]
 *
 * host must be a 127.x.y.z address: this is a loopback-only tool.
 * Connecting retries for a few seconds so a script can start the server
 * and the client together. */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    size_t got;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_retry(struct in_addr host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = host};
    for (int tries = 0; tries < 500; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            fcntl(fd, F_SETFL, O_NONBLOCK);
            return fd;
        }
        close(fd);
        if (errno != ECONNREFUSED)
            return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct in_addr host;
    if (argc < 3 || inet_pton(AF_INET, argv[1], &host) != 1 || (ntohl(host.s_addr) >> 24) != 127) {
        fprintf(stderr, "usage: echo_client 127.0.0.1 port [conns=100] [size=64] [seconds=5]\n");
        return 2;
    }
    int port = atoi(argv[2]);
    int nconn = argc > 3 ? atoi(argv[3]) : 100;
    size_t size = argc > 4 ? (size_t)atoi(argv[4]) : 64;
    double secs = argc > 5 ? atof(argv[5]) : 5;
    if (nconn < 1 || secs <= 0 || secs > 600 || size < 1 || size > 65536)
        return 2;
    char *msg = malloc(size), *buf = malloc(size);
    memset(msg, 'e', size);
    struct conn *c = calloc((size_t)nconn, sizeof *c);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < nconn; i++) {
        c[i].fd = connect_retry(host, port);
        if (c[i].fd < 0) {
            perror("echo_client: connect");
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
    }
    unsigned long long trips = 0;
    double start = now_s(), end = start + secs;
    for (int i = 0; i < nconn; i++)
        if (write(c[i].fd, msg, size) != (ssize_t)size)
            return 1;
    struct epoll_event evs[256];
    double t = start;
    while (t < end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *k = evs[i].data.ptr;
            ssize_t r = read(k->fd, buf, size - k->got);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                fprintf(stderr, "echo_client: server closed a connection\n");
                return 1;
            }
            k->got += (size_t)r;
            if (k->got == size) {
                k->got = 0;
                trips++;
                if (write(k->fd, msg, size) != (ssize_t)size)
                    return 1;
            }
        }
        t = now_s();
    }
    double el = now_s() - start;
    printf("msgs_per_sec,%.0f\nconns,%d\nsize,%zu\nseconds,%.2f\n", (double)trips / el, nconn, size, el);
    for (int i = 0; i < nconn; i++)
        close(c[i].fd);
    close(ep);
    free(c);
    free(msg);
    free(buf);
    return 0;
}
