/* The neutral load generator for every echo server, one thread. Each of C
 * connections sends S bytes, waits for all S back, and repeats, for D
 * seconds; it prints round trips (messages echoed) per second and its own
 * CPU use (getrusage) as CSV lines.
 *
 *   echo_client host port [conns=100] [size=64] [seconds=5] [mode=epoll] [rate=0]
 *
 * mode: epoll (a read and a write system call per message, as any
 * readiness client) or uring (batched: every connection keeps a recv in an
 * io_uring, sends are queued, and one io_uring_submit_and_wait per turn
 * hands the kernel everything due, so the client costs ~3x less CPU per
 * message and stops being the bottleneck).
 * rate: 0 = closed loop, as fast as the server answers (peak throughput);
 * N = offer N messages per second in total, paced on a 1 ms tick, so two
 * servers can be compared by the CPU they spend on the same load.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined(TULIP_HAVE_URING)
#include <liburing.h>
#endif

struct conn {
    int fd;
    size_t got;
    int busy;     /* a message is out, its echo not all back */
    char *buf;
};

struct load {
    struct conn *c;
    int nconn;
    size_t size;
    char *msg;
    double start, end, rate;
    unsigned long long trips, sent;
    int next_idle;  /* round robin over connections for paced sends */
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

/* Paced mode: how many messages are due now, given what was sent. */
static unsigned long long due(const struct load *L, double t)
{
    double want = (t - L->start) * L->rate;
    return want > (double)L->sent ? (unsigned long long)(want - (double)L->sent) : 0;
}

/* ---- epoll mode ---------------------------------------------------------- */

static int send_msg(struct load *L, struct conn *k)
{
    if (write(k->fd, L->msg, L->size) != (ssize_t)L->size)
        return -1;
    k->busy = 1;
    L->sent++;
    return 0;
}

static int pace_epoll(struct load *L, double t)
{
    unsigned long long n = due(L, t);
    for (int scanned = 0; n && scanned < L->nconn; scanned++) {
        struct conn *k = &L->c[L->next_idle];
        L->next_idle = (L->next_idle + 1) % L->nconn;
        if (!k->busy) {
            if (send_msg(L, k) < 0)
                return -1;
            n--;
        }
    }
    return 0;
}

static int run_epoll(struct load *L)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < L->nconn; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &L->c[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, L->c[i].fd, &ev);
    }
    L->start = now_s();
    L->end = L->start + L->end;
    if (!L->rate)
        for (int i = 0; i < L->nconn; i++)
            if (send_msg(L, &L->c[i]) < 0)
                return -1;
    struct epoll_event evs[256];
    double t = L->start;
    while (t < L->end) {
        int n = epoll_wait(ep, evs, 256, L->rate ? 1 : 100);
        for (int i = 0; i < n; i++) {
            struct conn *k = evs[i].data.ptr;
            ssize_t r = read(k->fd, k->buf, L->size - k->got);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                fprintf(stderr, "echo_client: server closed a connection\n");
                return -1;
            }
            k->got += (size_t)r;
            if (k->got == L->size) {
                k->got = 0;
                k->busy = 0;
                L->trips++;
                if (!L->rate && send_msg(L, k) < 0)
                    return -1;
            }
        }
        t = now_s();
        if (L->rate && pace_epoll(L, t) < 0)
            return -1;
    }
    close(ep);
    return 0;
}

/* ---- io_uring mode ------------------------------------------------------- */

#if defined(TULIP_HAVE_URING)
/* user_data: connection index << 1 | 1 for a send, | 0 for a recv. */
static void q_recv(struct io_uring *ring, struct load *L, int i)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
    }
    struct conn *k = &L->c[i];
    io_uring_prep_recv(sqe, k->fd, k->buf + k->got, L->size - k->got, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)i << 1);
}

static void q_send(struct io_uring *ring, struct load *L, int i)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
    }
    /* The message is small: the kernel takes it whole or fails. */
    io_uring_prep_send(sqe, L->c[i].fd, L->msg, L->size, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)i << 1 | 1);
    L->c[i].busy = 1;
    L->sent++;
}

static int run_uring(struct load *L)
{
    struct io_uring ring;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(4096, &ring, &p);
    if (rc == -EINVAL) {
        memset(&p, 0, sizeof p);
        rc = io_uring_queue_init_params(4096, &ring, &p);
    }
    if (rc < 0) {
        fprintf(stderr, "echo_client: io_uring: %s\n", strerror(-rc));
        return -1;
    }
    io_uring_register_ring_fd(&ring);
    /* The sockets stay blocking for the ring: io_uring polls them itself. */
    for (int i = 0; i < L->nconn; i++) {
        fcntl(L->c[i].fd, F_SETFL, 0);
        q_recv(&ring, L, i);
    }
    L->start = now_s();
    L->end = L->start + L->end;
    if (!L->rate)
        for (int i = 0; i < L->nconn; i++)
            q_send(&ring, L, i);
    double t = L->start;
    while (t < L->end) {
        struct io_uring_cqe *cqe;
        if (L->rate) {
            struct __kernel_timespec ts = {0, 1000000};
            rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
        } else {
            struct __kernel_timespec ts = {0, 100000000};
            rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
        }
        if (rc < 0 && rc != -ETIME && rc != -EINTR) {
            fprintf(stderr, "echo_client: io_uring_enter: %s\n", strerror(-rc));
            return -1;
        }
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen++;
            int i = (int)(cqe->user_data >> 1);
            struct conn *k = &L->c[i];
            if (cqe->user_data & 1) {
                if (cqe->res != (int)L->size) {
                    fprintf(stderr, "echo_client: send: %d\n", cqe->res);
                    return -1;
                }
                continue;
            }
            if (cqe->res <= 0) {
                fprintf(stderr, "echo_client: server closed a connection\n");
                return -1;
            }
            k->got += (size_t)cqe->res;
            if (k->got == L->size) {
                k->got = 0;
                k->busy = 0;
                L->trips++;
                if (!L->rate)
                    q_send(&ring, L, i);
            }
            q_recv(&ring, L, i);
        }
        io_uring_cq_advance(&ring, seen);
        t = now_s();
        if (L->rate) {
            unsigned long long n = due(L, t);
            for (int scanned = 0; n && scanned < L->nconn; scanned++) {
                int i = L->next_idle;
                L->next_idle = (L->next_idle + 1) % L->nconn;
                if (!L->c[i].busy) {
                    q_send(&ring, L, i);
                    n--;
                }
            }
        }
    }
    io_uring_queue_exit(&ring);
    return 0;
}
#else
static int run_uring(struct load *L)
{
    (void)L;
    fprintf(stderr, "echo_client: built without liburing\n");
    return -1;
}
#endif

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    struct in_addr host;
    if (argc < 3 || inet_pton(AF_INET, argv[1], &host) != 1 || (ntohl(host.s_addr) >> 24) != 127) {
        fprintf(stderr,
                "usage: echo_client 127.0.0.1 port [conns=100] [size=64] [seconds=5] [mode=epoll|uring] [rate=0]\n");
        return 2;
    }
    int port = atoi(argv[2]);
    struct load L;
    memset(&L, 0, sizeof L);
    L.nconn = argc > 3 ? atoi(argv[3]) : 100;
    L.size = argc > 4 ? (size_t)atoi(argv[4]) : 64;
    double secs = argc > 5 ? atof(argv[5]) : 5;
    const char *mode = argc > 6 ? argv[6] : "epoll";
    L.rate = argc > 7 ? atof(argv[7]) : 0;
    if (L.nconn < 1 || secs <= 0 || secs > 600 || L.size < 1 || L.size > 65536 || L.rate < 0 ||
        (strcmp(mode, "epoll") != 0 && strcmp(mode, "uring") != 0))
        return 2;
    L.msg = malloc(L.size);
    memset(L.msg, 'e', L.size);
    L.c = calloc((size_t)L.nconn, sizeof *L.c);
    for (int i = 0; i < L.nconn; i++) {
        L.c[i].fd = connect_retry(host, port);
        L.c[i].buf = malloc(L.size);
        if (L.c[i].fd < 0) {
            perror("echo_client: connect");
            return 1;
        }
    }
    L.end = secs; /* made absolute when the clock starts */
    double cpu0 = cpu_s();
    int rc = strcmp(mode, "uring") == 0 ? run_uring(&L) : run_epoll(&L);
    if (rc < 0)
        return 1;
    double el = now_s() - L.start;
    double cpu = cpu_s() - cpu0;
    printf("msgs_per_sec,%.0f\nmsgs,%llu\nconns,%d\nsize,%zu\nseconds,%.2f\nmode,%s\noffered_per_sec,%.0f\n"
           "client_cpu_pct,%.1f\nclient_cpu_us_per_msg,%.3f\n",
           (double)L.trips / el, L.trips, L.nconn, L.size, el, mode, L.rate, 100 * cpu / el,
           L.trips ? cpu * 1e6 / (double)L.trips : 0.0);
    for (int i = 0; i < L.nconn; i++) {
        close(L.c[i].fd);
        free(L.c[i].buf);
    }
    free(L.c);
    free(L.msg);
    return 0;
}
