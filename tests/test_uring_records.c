/* Neither the kernel's completions nor cancellation touch a suspended
 * task's stack on the io_uring backend (issue 18, docs/DESIGN.md section
 * 11): an operation's record (its user_data), and the backend's accept,
 * send-lock and multishot-recv waiters, are in the task's wait block, and
 * so is a connect's address, which the kernel reads at submission. Each
 * case parks a private task W in one such wait, makes W's whole stack
 * inaccessible (mprotect PROT_NONE), and lets the completion arrive (or
 * cancels W); the main task gives W its stack back as soon as W is ready
 * to run (a woken task runs after the main task's yield). A record in W's
 * frames faults: the SIGSEGV handler names the case and the test fails.
 * The buffers are on the heap: the data is the caller's, not a record.
 * Every backend runs it (epoll's fd waits are in the task); the .uring
 * run is the one it is for. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "test_util.h"
#include "stack_lock.h"

static const char *g_case = "";
static char g_fail[256];
static int g_fd;
static char *g_buf, *g_big;
#define BIG 65536

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    stack_fault("test_uring_records", g_case, si->si_addr);
}

static void protect(tulip_task *t, int prot)
{
    stack_protect(t, prot, g_case, g_fail, sizeof g_fail);
}

/* Spawn W, let it park, check its wait record is off its stack. */
static tulip_task *park_open(tulip_fn fn)
{
    tulip_task *w = tulip_spawn(fn, NULL);
    if (!w)
        return NULL;
    tulip_yield();
    stack_check_parked(w, g_case, g_fail, sizeof g_fail);
    return w;
}

/* The same, and lock W's stack. */
static tulip_task *park(tulip_fn fn)
{
    tulip_task *w = park_open(fn);
    if (w && w->state == TULIP__TASK_PARKED)
        protect(w, PROT_NONE);
    return w;
}

/* Run the loop until W is woken (W runs only after this task's next
 * yield), then give W its stack back. */
static void until_woken(tulip_task *w)
{
    while (w->state == TULIP__TASK_PARKED)
        tulip_yield();
    protect(w, PROT_READ | PROT_WRITE);
}

static void finish(tulip_task *w, int want)
{
    int rc = tulip_join(w);
    if (rc != want && !g_fail[0])
        snprintf(g_fail, sizeof g_fail, "%s: the waiter returned %d, not %d", g_case, rc, want);
}

/* ---- the waiters ---------------------------------------------------------- */

static int w_recv(void *p)
{
    (void)p;
    ssize_t n = tulip_recv(g_fd, g_buf, 8, 0);
    if (n < 0)
        return (int)n;
    return n == 8 && memcmp(g_buf, "abcdefgh", 8) == 0 ? 0 : -EBADMSG;
}

static int w_accept(void *p)
{
    (void)p;
    int fd = tulip_accept(g_fd, NULL, NULL);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static int w_send_small(void *p)
{
    (void)p;
    ssize_t n = tulip_send(g_fd, "z", 1, 0);
    return n == 1 ? 0 : n < 0 ? (int)n : -EMSGSIZE;
}

/* tulip_dial of a Unix name keeps the address in its own frame; the
 * kernel reads it when the loop submits the connect, after W parked. */
static char g_name[64];
static int w_dial(void *p)
{
    (void)p;
    int fd = tulip_dial("unix", g_name);
    if (fd < 0)
        return fd;
    tulip_close(fd);
    return 0;
}

/* The calls below keep a header, an iovec array, an address or a path
 * in their frames (or the io layer's): on io_uring the kernel reads them
 * when the loop submits, after W parked, or a completion does later. */
static struct sockaddr_in *g_to; /* on the heap: sendto's address is copied from there */
static int w_writev(void *p)
{
    (void)p;
    struct iovec v[2] = {{g_buf, 4}, {g_buf + 4, 4}};
    ssize_t n = tulip_writev(g_fd, v, 2);
    return n == 8 ? 0 : n < 0 ? (int)n : -EMSGSIZE;
}

static int w_sendto(void *p)
{
    (void)p;
    struct sockaddr_in to = *g_to; /* in W's frame */
    ssize_t n = tulip_sendto(g_fd, g_buf, 8, 0, (struct sockaddr *)&to, sizeof to);
    return n == 8 ? 0 : n < 0 ? (int)n : -EMSGSIZE;
}

static socklen_t *g_alen;
static int w_recvfrom(void *p)
{
    (void)p;
    *g_alen = sizeof(struct sockaddr_in);
    ssize_t n = tulip_recvfrom(g_fd, g_buf, 8, 0, (struct sockaddr *)g_to, g_alen);
    if (n < 0)
        return (int)n;
    return n == 8 && *g_alen == sizeof(struct sockaddr_in) && g_to->sin_family == AF_INET ? 0 : -EBADMSG;
}

static int w_readv(void *p)
{
    (void)p;
    struct iovec v[2] = {{g_buf, 3}, {g_buf + 3, 5}};
    ssize_t n = tulip_readv(g_fd, v, 2);
    if (n < 0)
        return (int)n;
    return n == 8 && memcmp(g_buf, "abcdefgh", 8) == 0 ? 0 : -EBADMSG;
}

static int w_stat(void *p)
{
    (void)p;
    char path[8] = "/";
    struct stat *st = (struct stat *)(void *)g_big;
    int rc = tulip_file_stat(path, st);
    return rc < 0 ? rc : S_ISDIR(st->st_mode) ? 0 : -ENOTDIR;
}

static int w_open(void *p)
{
    (void)p;
    char path[16] = "/dev/null";
    int fd = tulip_file_open(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    tulip_close(fd);
    return 0;
}

/* Lock the stack of W (the argument), parked just before this task ran. */
static int x_lock(void *p)
{
    tulip_task *w = p;
    if (stack_check_parked(w, g_case, g_fail, sizeof g_fail))
        return -EPROTO;
    protect(w, PROT_NONE);
    return 0;
}

/* ---- the cases ------------------------------------------------------------ */

/* A connected TCP pair on 127.0.0.1 (the multishot recv serves TCP). */
static int tcp_pair(int sv[2])
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &len))
        return -1;
    sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sv[1] < 0 || connect(sv[1], (struct sockaddr *)&a, sizeof a)) /* the backlog completes it */
        return -1;
    sv[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    tulip_close(l);
    return sv[0] < 0 ? -1 : 0;
}

/* W parks reading sv[0] with fn, the peer's bytes come (0, or -EIO). */
static int recv_case_with(const int sv[2], tulip_fn fn)
{
    g_fd = sv[0];
    tulip_task *w = park(fn);
    if (write(sv[1], "abcdefgh", 8) != 8)
        return -EIO;
    until_woken(w);
    finish(w, 0);
    return 0;
}

static int recv_case(const int sv[2])
{
    return recv_case_with(sv, w_recv);
}

/* W parks in fn, its stack locked by a task that runs right after it,
 * before the loop's turn submits W's operation (which, on io_uring,
 * completes in that turn when send, sendto, stat or open need not wait;
 * a receive waits for peer(), run once W's stack is locked). */
static int locked_at_submit(tulip_fn fn, void (*peer)(void))
{
    tulip_task *w = tulip_spawn(fn, NULL);
    tulip_task *x = tulip_spawn(x_lock, w);
    if (!w || !x || tulip_join(x) != 0) {
        if (!g_fail[0])
            snprintf(g_fail, sizeof g_fail, "%s: the waiter did not park", g_case);
        return -EPROTO;
    }
    if (peer) {
        tulip_yield(); /* the turn that submits W's operation */
        peer();
    }
    until_woken(w);
    finish(w, 0);
    return 0;
}

static int g_peer;
static void send_datagram(void)
{
    if (send(g_peer, "abcdefgh", 8, 0) != 8 && !g_fail[0])
        snprintf(g_fail, sizeof g_fail, "%s: send: %s", g_case, strerror(errno));
}

/* Arguments the kernel or a completion reads after the task parked. */
static int submitted_cases(void)
{
    int sv[2];
    memcpy(g_buf, "abcdefgh", 8);

    /* readv of a TCP stream: the multishot recv's completion fills the
     * buffers through the iovec array (every backend: elsewhere W reads
     * once woken). */
    g_case = "readv stream";
    if (tcp_pair(sv))
        return -errno;
    if (recv_case_with(sv, w_readv))
        return -EIO;
    tulip_close(sv[0]);
    close(sv[1]);
    if (strcmp(tulip_loop_backend(tulip_loop_current()), "io_uring") != 0)
        return 0; /* elsewhere the calls below do not park with the kernel reading */

    /* writev: a sendmsg whose header and iovec array are the io layer's. */
    g_case = "writev header";
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
        return -errno;
    g_fd = sv[0];
    memcpy(g_buf, "abcdefgh", 8);
    if (locked_at_submit(w_writev, NULL))
        return -EPROTO;
    tulip_close(sv[0]);
    close(sv[1]);

    /* UDP on 127.0.0.1: sendto's address, recvfrom's header. */
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int v = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (u < 0 || v < 0 || bind(v, (struct sockaddr *)&a, sizeof a) || getsockname(v, (struct sockaddr *)&a, &alen) ||
        bind(u, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET,
                                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
             sizeof a))
        return -errno;
    *g_to = a;
    g_fd = u;
    g_case = "sendto address";
    if (locked_at_submit(w_sendto, NULL))
        return -EPROTO;
    char got[8];
    if (recv(v, got, sizeof got, MSG_DONTWAIT) != 8 && !g_fail[0])
        snprintf(g_fail, sizeof g_fail, "%s: the datagram did not come", g_case);
    alen = sizeof a;
    if (getsockname(u, (struct sockaddr *)&a, &alen) || connect(v, (struct sockaddr *)&a, sizeof a))
        return -errno;
    g_peer = v;
    g_case = "recvfrom header";
    memset(g_to, 0, sizeof *g_to);
    if (locked_at_submit(w_recvfrom, send_datagram))
        return -EPROTO;
    tulip_close(u);
    close(v);

    /* Paths of stat and open. */
    g_case = "stat path";
    if (locked_at_submit(w_stat, NULL))
        return -EPROTO;
    g_case = "open path";
    if (locked_at_submit(w_open, NULL))
        return -EPROTO;
    return 0;
}

static int body(void *arg)
{
    (void)arg;
    int sv[2];
    tulip_task *w, *w2;

    /* A one-shot recv operation (a Unix stream reads one-shot). */
    g_case = "recv";
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
        return -errno;
    if (recv_case(sv))
        return -EIO;

    /* Cancelled: the cancel hook reaches the operation; the completion
     * (which W waits for) comes once W runs again. */
    g_case = "recv cancelled";
    w = park(w_recv);
    tulip_cancel(w);
    protect(w, PROT_READ | PROT_WRITE);
    finish(w, -ECANCELED);
    tulip_close(sv[0]);
    close(sv[1]);

    /* The multishot recv of a TCP stream fills its waiter. */
    g_case = "recv stream";
    if (tcp_pair(sv))
        return -errno;
    if (recv_case(sv))
        return -EIO;

    /* Sends: W holds the send slot with a send that waits for room, W2
     * waits for the slot; then the peer drains. */
    tulip_close(sv[0]);
    close(sv[1]);
    g_case = "send lock";
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
        return -errno;
    g_fd = sv[0];
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    size_t full = 0;
    for (;;) {
        ssize_t n = write(sv[0], g_big, 4096);
        if (n <= 0)
            break;
        full += (size_t)n;
    }
    w = park_open(w_send_small);
    w2 = park_open(w_send_small);
    if (!w || !w2 || g_fail[0]) {
        return -EPROTO;
    }
    protect(w, PROT_NONE);
    protect(w2, PROT_NONE);
    size_t got = 0;
    int woke = 0, woke2 = 0;
    while (got < full + 2 || !woke || !woke2) {
        ssize_t n = read(sv[1], g_big, BIG);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EAGAIN)
            return -errno;
        tulip_yield();
        if (!woke && w->state != TULIP__TASK_PARKED) {
            protect(w, PROT_READ | PROT_WRITE);
            woke = 1;
        }
        if (!woke2 && w2->state != TULIP__TASK_PARKED) {
            protect(w2, PROT_READ | PROT_WRITE);
            woke2 = 1;
        }
    }
    finish(w, 0);
    finish(w2, 0);
    tulip_close(sv[0]);
    close(sv[1]);

    /* The multishot accept hands its connection to the waiter. */
    g_case = "accept";
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4) ||
        getsockname(l, (struct sockaddr *)&a, &len))
        return -errno;
    g_fd = l;
    w = park(w_accept);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a))
        return -errno;
    until_woken(w);
    finish(w, 0);
    close(c);
    tulip_close(l);

    /* A connect's address (an abstract Unix name: nothing to clean up). */
    g_case = "connect";
    snprintf(g_name, sizeof g_name, "@tulip-uring-records-%d", (int)getpid());
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path + 1, g_name + 1, strlen(g_name) - 1);
    socklen_t unlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(g_name));
    l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&un, unlen) || listen(l, 4))
        return -errno;
    /* Elsewhere a Unix connect completes at once, without parking. On
     * io_uring it completes in the loop turn that submits it, so W's stack
     * is locked by a task that runs right after W, before that turn. */
    if (strcmp(tulip_loop_backend(tulip_loop_current()), "io_uring") == 0) {
        w = tulip_spawn(w_dial, NULL);
        tulip_task *x = tulip_spawn(x_lock, w);
        if (!w || !x || tulip_join(x) != 0) {
            if (!g_fail[0])
                snprintf(g_fail, sizeof g_fail, "%s: the waiter did not park", g_case);
            return -EPROTO;
        }
        until_woken(w);
        finish(w, 0);
    } else if (w_dial(NULL) != 0) {
        snprintf(g_fail, sizeof g_fail, "%s: tulip_dial failed", g_case);
    }
    close(l);
    return submitted_cases();
}

static void test_records(void **state)
{
    (void)state;
    g_fail[0] = 0;
    g_buf = malloc(64);
    g_big = malloc(BIG);
    g_to = malloc(sizeof *g_to);
    g_alen = malloc(sizeof *g_alen);
    assert_non_null(g_to);
    assert_non_null(g_alen);
    assert_non_null(g_buf);
    assert_non_null(g_big);
    memset(g_big, 'y', BIG);
    int rc = stack_run_trapped(body, NULL, on_segv);
    free(g_buf);
    free(g_big);
    free(g_to);
    free(g_alen);
    assert_int_equal(rc, 0);
    if (g_fail[0])
        fail_msg("%s", g_fail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
