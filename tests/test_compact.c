/* Compact tasks (TULIP_SPAWN_COMPACT, issue 18): every scenario runs twice,
 * once with private-stack tasks and once with compact tasks on two shared
 * stacks, and must leave the same trace. Tasks keep patterned locals across
 * their waits and check them, so a frame restored wrong (or not at all) is
 * seen. Virtual clock: no real time passes. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <alloca.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "test_util.h"
#include "task/task_internal.h"

static unsigned g_flags;          /* spawn flags of the run */
static char g_log[16384];
static size_t g_len;

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_log + g_len, sizeof g_log - g_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        g_len += (size_t)n < sizeof g_log - g_len ? (size_t)n : sizeof g_log - g_len - 1;
}

static tulip_task *spawn(tulip_fn fn, void *arg)
{
    tulip_task *t = tulip_spawn_ex(NULL, fn, arg, g_flags);
    assert_non_null(t);
    return t;
}

/* A local buffer filled from seed, checked after every wait. */
#define PATTERN(buf, n, seed)                                        \
    do {                                                             \
        for (size_t i_ = 0; i_ < (n); i_++)                          \
            (buf)[i_] = (unsigned char)((seed) * 31u + i_ * 7u);     \
    } while (0)
static int pattern_ok(const volatile unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (unsigned char)(seed * 31u + i * 7u))
            return 0;
    return 1;
}

/* Recurse depth frames (each with its own patterned local), then wait by
 * calling w(arg), then check every frame on the way back. */
static int deep_wait(unsigned seed, int depth, int (*w)(void *), void *arg)
{
    volatile unsigned char frame[96];
    PATTERN(frame, sizeof frame, seed + (unsigned)depth);
    int rc = depth > 0 ? deep_wait(seed, depth - 1, w, arg) : w(arg);
    if (!pattern_ok(frame, sizeof frame, seed + (unsigned)depth))
        return -EILSEQ;
    return rc;
}

/* ---- scenarios: each returns through the trace ---------------------------- */

struct yarg {
    unsigned id;
    int rounds;
};

static int do_yield(void *p)
{
    (void)p;
    return tulip_yield();
}

static int yielder(void *p)
{
    struct yarg *a = p;
    int sum = 0;
    for (int r = 0; r < a->rounds; r++) {
        int rc = deep_wait(a->id * 13 + (unsigned)r, (int)(a->id % 7) * 4, do_yield, NULL);
        if (rc < 0)
            return rc;
        sum += (int)a->id;
    }
    say("y%u ", a->id);
    return sum;
}

static int sc_yield(void *p)
{
    (void)p;
    enum { N = 40 };
    struct yarg a[N];
    tulip_task *t[N];
    for (unsigned i = 0; i < N; i++) {
        a[i] = (struct yarg){i, 5};
        t[i] = spawn(yielder, &a[i]);
    }
    for (unsigned i = 0; i < N; i++)
        say("j%d ", tulip_join(t[i]));
    return 0;
}

static int sleeper(void *p)
{
    unsigned id = (unsigned)(uintptr_t)p;
    volatile unsigned char buf[300];
    PATTERN(buf, sizeof buf, id);
    int rc = tulip_sleep((int64_t)((id * 7) % 5 + 1) * 1000000);
    say("s%u:%d:%d ", id, rc, pattern_ok(buf, sizeof buf, id));
    return rc;
}

static int sc_sleep(void *p)
{
    (void)p;
    tulip_task *t[12];
    for (unsigned i = 0; i < 12; i++)
        t[i] = spawn(sleeper, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < 12; i++)
        tulip_join(t[i]);
    return 0;
}

static int awaiter(void *p)
{
    tulip_future *f = p;
    void *v = NULL;
    unsigned seed = (unsigned)tulip_task_id(tulip_self());
    volatile unsigned char buf[200];
    PATTERN(buf, sizeof buf, seed);
    int rc = tulip_future_await(f, &v);
    say("f%d:%d:%d ", rc, (int)(intptr_t)v, pattern_ok(buf, sizeof buf, seed));
    return rc;
}

static int sc_future(void *p)
{
    (void)p;
    tulip_future *f = tulip_future_new();
    tulip_task *t[10];
    for (int i = 0; i < 10; i++)
        t[i] = spawn(awaiter, f);
    tulip_yield();
    tulip_future_resolve(f, (void *)(intptr_t)42);
    for (int i = 0; i < 10; i++)
        tulip_join(t[i]);
    tulip_future_free(f);
    return 0;
}

static int child_sleep(void *p)
{
    tulip_sleep((int64_t)(uintptr_t)p * 1000000);
    return (int)(uintptr_t)p;
}

static int joiner(void *p)
{
    unsigned id = (unsigned)(uintptr_t)p;
    volatile unsigned char buf[500];
    PATTERN(buf, sizeof buf, id);
    tulip_task *c = spawn(child_sleep, (void *)(uintptr_t)(id + 1));
    int rc = tulip_join(c);
    say("J%u:%d:%d ", id, rc, pattern_ok(buf, sizeof buf, id));
    return 0;
}

static int sc_join(void *p)
{
    (void)p;
    tulip_task *t[6];
    for (unsigned i = 0; i < 6; i++)
        t[i] = spawn(joiner, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < 6; i++)
        tulip_join(t[i]);
    return 0;
}

static int group_owner(void *p)
{
    unsigned id = (unsigned)(uintptr_t)p;
    volatile unsigned char buf[250];
    PATTERN(buf, sizeof buf, id);
    tulip_group *g = tulip_group_new();
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(tulip_group_spawn_ex(g, child_sleep, (void *)(uintptr_t)(id + i + 1), g_flags), 0);
    int rc = tulip_group_wait(g);
    tulip_group_free(g);
    say("G%u:%d:%d ", id, rc, pattern_ok(buf, sizeof buf, id));
    return 0;
}

static int sc_group(void *p)
{
    (void)p;
    tulip_task *t[4];
    for (unsigned i = 0; i < 4; i++)
        t[i] = spawn(group_owner, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < 4; i++)
        tulip_join(t[i]);
    return 0;
}

static int do_sleep_long(void *p)
{
    (void)p;
    return tulip_sleep(1000000000);
}

static int scoped(void *p)
{
    unsigned id = (unsigned)(uintptr_t)p;
    volatile unsigned char buf[180];
    PATTERN(buf, sizeof buf, id);
    tulip_scope outer, inner;
    tulip_scope_enter_timeout(&outer, (int64_t)(id + 1) * 1000000);
    tulip_scope_enter_shielded(&inner, TULIP_FOREVER);
    int a = tulip_sleep(1000); /* shielded from nothing yet: completes */
    int ie = tulip_scope_exit(&inner);
    int b = deep_wait(id, 5, do_sleep_long, NULL); /* outer deadline fires while parked deep */
    int oe = tulip_scope_exit(&outer);
    say("S%u:%d:%d:%d:%d:%d:%d ", id, a, ie, b, oe, tulip_scope_is_triggered(&outer),
        pattern_ok(buf, sizeof buf, id));
    return 0;
}

static int sc_scope(void *p)
{
    (void)p;
    tulip_task *t[6];
    for (unsigned i = 0; i < 6; i++)
        t[i] = spawn(scoped, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < 6; i++)
        tulip_join(t[i]);
    return 0;
}

static int await_forever(void *p)
{
    return tulip_future_await(p, NULL);
}

static int sc_cancel(void *p)
{
    (void)p;
    tulip_future *f = tulip_future_new();
    tulip_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = spawn(await_forever, f);
    tulip_yield();
    for (int i = 4; i >= 0; i--)
        tulip_cancel(t[i]);
    for (int i = 0; i < 5; i++)
        say("C%d ", tulip_join(t[i]));
    tulip_future_free(f);
    return 0;
}

struct io_arg {
    int fd;
    unsigned id;
};

static int reader(void *p)
{
    struct io_arg *a = p;
    volatile unsigned char pat[220];
    PATTERN(pat, sizeof pat, a->id);
    char buf[64];
    size_t got = 0;
    unsigned sum = 0;
    while (got < 40) {
        /* Odd readers wait explicitly and read with the plain call; even
         * ones let tulip_read wait. */
        ssize_t r;
        if (a->id & 1) {
            int rc = tulip_wait_fd(a->fd, TULIP_READABLE);
            if (rc < 0)
                return rc;
            r = read(a->fd, buf, sizeof buf);
        } else {
            r = tulip_read(a->fd, buf, sizeof buf);
        }
        if (r <= 0)
            return r < 0 ? (int)r : -EPIPE;
        for (ssize_t i = 0; i < r; i++)
            sum += (unsigned char)buf[i];
        got += (size_t)r;
    }
    say("R%u:%zu:%u:%d ", a->id, got, sum, pattern_ok(pat, sizeof pat, a->id));
    return 0;
}

static int sc_io(void *p)
{
    (void)p;
    enum { N = 6 };
    int sv[N][2];
    struct io_arg a[N];
    tulip_task *t[N];
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
        tulip_fd_nonblock(sv[i][0]);
        tulip_fd_nonblock(sv[i][1]);
        a[i] = (struct io_arg){sv[i][0], i};
        t[i] = spawn(reader, &a[i]);
    }
    tulip_yield();
    char msg[10];
    for (int round = 0; round < 4; round++) {
        for (unsigned i = 0; i < N; i++) {
            memset(msg, 'a' + (int)i + round, sizeof msg);
            assert_int_equal(tulip_write(sv[N - 1 - i][1], msg, sizeof msg), (ssize_t)sizeof msg);
        }
        tulip_yield();
    }
    for (unsigned i = 0; i < N; i++) {
        say("r%d ", tulip_join(t[i]));
        tulip_close(sv[i][0]);
        tulip_close(sv[i][1]);
    }
    return 0;
}

/* ---- sync waits ------------------------------------------------------------ */

struct locked {
    tulip_lock lock;
    int counter;
};

static int lock_user(void *p)
{
    struct locked *L = p;
    unsigned seed = (unsigned)tulip_task_id(tulip_self());
    volatile unsigned char buf[260];
    PATTERN(buf, sizeof buf, seed);
    int rc = tulip_lock_acquire(&L->lock);
    if (rc)
        return rc;
    int mine = ++L->counter;
    rc = deep_wait(seed, 3, do_yield, NULL); /* others queue on the lock meanwhile */
    say("L%d:%d:%d ", mine, rc, pattern_ok(buf, sizeof buf, seed));
    return tulip_lock_release(&L->lock);
}

static int sc_lock(void *p)
{
    (void)p;
    struct locked L = {.counter = 0};
    tulip_lock_init(&L.lock);
    tulip_task *t[8];
    for (int i = 0; i < 8; i++)
        t[i] = spawn(lock_user, &L);
    for (int i = 0; i < 8; i++)
        say("l%d ", tulip_join(t[i]));
    return 0;
}

/* Tasks of one function bound to one shared stack would keep their items
 * at the same addresses, hiding a wrong copy: each shifts its frames by
 * its own amount (alloca) and tags its items. */
#define SHIFT(k) do { volatile char *pad_ = alloca(64 * (size_t)(k) + 8); pad_[0] = 0; } while (0)

struct item {
    uint64_t a, b, c;
    char tag[16];
};

static int producer(void *p)
{
    tulip_queue *q = p;
    unsigned id = (unsigned)tulip_task_id(tulip_self());
    SHIFT(id % 5);
    for (uint64_t i = 0; i < 6; i++) {
        struct item it = {i, i * i, id, "from-a-stack"};
        int rc = tulip_queue_put(q, &it); /* capacity 2: most puts wait */
        if (rc)
            return rc;
    }
    return 0;
}

static int consumer(void *p)
{
    tulip_queue *q = p;
    SHIFT(tulip_task_id(tulip_self()) % 3);
    uint64_t sum = 0;
    int n = 0;
    for (;;) {
        struct item it;
        memset(&it, 0, sizeof it);
        int rc = tulip_queue_get(q, &it); /* empty at first: gets wait */
        if (rc)
            break;
        if (strcmp(it.tag, "from-a-stack") != 0 || it.b != it.a * it.a)
            return -EILSEQ;
        sum += it.a + it.b;
        n++;
    }
    say("Q%d:%llu ", n, (unsigned long long)sum);
    return 0;
}

static int sc_queue(void *p)
{
    (void)p;
    tulip_queue *q = tulip_queue_new(sizeof(struct item), 2, TULIP_QUEUE_FIFO, NULL);
    tulip_task *c[2], *pr[3];
    for (int i = 0; i < 2; i++)
        c[i] = spawn(consumer, q);
    tulip_yield();
    for (int i = 0; i < 3; i++)
        pr[i] = spawn(producer, q);
    for (int i = 0; i < 3; i++)
        say("p%d ", tulip_join(pr[i]));
    tulip_queue_shutdown(q, false);
    for (int i = 0; i < 2; i++)
        say("c%d ", tulip_join(c[i]));
    tulip_queue_free(q);
    return 0;
}

struct pingpong {
    tulip_chan *ping, *pong;
    int rounds;
    int next_id;
};


static int ponger(void *p)
{
    struct pingpong *pp = p;
    int k = pp->next_id++;
    SHIFT(k);
    volatile unsigned char buf[150];
    PATTERN(buf, sizeof buf, 5u);
    for (int i = 0; i < pp->rounds; i++) {
        struct item it;
        memset(&it, 0x5a, sizeof it);
        int rc = tulip_chan_recv(pp->ping, &it);
        if (rc)
            return rc;
        it.a += 1000;
        rc = tulip_chan_send(pp->pong, &it);
        if (rc)
            return rc;
    }
    return pattern_ok(buf, sizeof buf, 5u) ? 0 : -EILSEQ;
}

static int pinger(void *p)
{
    struct pingpong *pp = p;
    int k = pp->next_id++;
    SHIFT(k);
    uint64_t sum = 0;
    for (int i = 0; i < pp->rounds; i++) {
        struct item it = {(uint64_t)(i + 100 * k), 0, (uint64_t)k, "ping"};
        it.tag[4] = (char)('0' + k);
        int rc = tulip_chan_send(pp->ping, &it);
        if (rc == 0)
            rc = tulip_chan_recv(pp->pong, &it);
        if (rc)
            return rc;
        /* Pongers may swap partners, never items. */
        if (strncmp(it.tag, "ping", 4) != 0 || it.tag[4] != (char)('0' + k) || it.c != (uint64_t)k)
            return -EILSEQ;
        sum += it.a - (uint64_t)(100 * k);
    }
    say("P%llu ", (unsigned long long)sum);
    return 0;
}

static int sc_chan(void *p)
{
    (void)p;
    /* Unbuffered (every send waits for its receiver: a hand-off) and
     * buffered, each between compact tasks on both ends. */
    for (size_t cap = 0; cap <= 1; cap++) {
        struct pingpong pp = {tulip_chan_new(sizeof(struct item), cap), tulip_chan_new(sizeof(struct item), cap), 20, 0};
        tulip_task *a = spawn(ponger, &pp), *b = spawn(pinger, &pp), *c = spawn(ponger, &pp), *d = spawn(pinger, &pp);
        say("%d%d%d%d ", tulip_join(a), tulip_join(b), tulip_join(c), tulip_join(d));
        tulip_chan_free(pp.ping);
        tulip_chan_free(pp.pong);
    }
    return 0;
}

struct sel {
    tulip_chan *a, *b, *out;
};

static int selector(void *p)
{
    struct sel *S = p;
    unsigned seed = (unsigned)tulip_task_id(tulip_self());
    SHIFT(seed % 4);
    volatile unsigned char buf[120];
    PATTERN(buf, sizeof buf, seed);
    int got = 0;
    for (int round = 0; round < 3; round++) {
        struct item ia, ib;
        memset(&ia, 0, sizeof ia);
        memset(&ib, 0, sizeof ib);
        tulip_select_case cs[2] = {
            {.chan = S->a, .op = TULIP_SELECT_RECV, .item = &ia},
            {.chan = S->b, .op = TULIP_SELECT_RECV, .item = &ib},
        };
        int rc = tulip_select(cs, 2, false); /* nothing ready: it parks */
        if (rc < 0)
            return rc;
        struct item *it = rc == 0 ? &ia : &ib;
        say("X%d:%d:%llu:%s ", rc, cs[rc].result, (unsigned long long)it->a, it->tag);
        got += (int)it->a;
        /* A select that sends, from a stack item, to a parked receiver. */
        struct item back = {it->a * 2, 0, 0, "back"};
        tulip_select_case out[1] = {{.chan = S->out, .op = TULIP_SELECT_SEND, .item = &back}};
        rc = tulip_select(out, 1, false);
        if (rc != 0 || out[0].result != 0)
            return -EIO;
    }
    return pattern_ok(buf, sizeof buf, seed) ? got : -EILSEQ;
}

static int sc_select(void *p)
{
    (void)p;
    struct sel S = {tulip_chan_new(sizeof(struct item), 0), tulip_chan_new(sizeof(struct item), 0),
                    tulip_chan_new(sizeof(struct item), 0)};
    tulip_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn(selector, &S);
    tulip_yield();
    for (int i = 0; i < 9; i++) {
        struct item it = {(uint64_t)i + 1, 0, 0, "sel"};
        tulip_chan_send(i % 3 == 1 ? S.b : S.a, &it);
        struct item back;
        tulip_chan_recv(S.out, &back);
        say("B%llu:%s ", (unsigned long long)back.a, back.tag);
    }
    for (int i = 0; i < 3; i++)
        say("x%d ", tulip_join(t[i]));
    tulip_chan_free(S.a);
    tulip_chan_free(S.b);
    tulip_chan_free(S.out);
    return 0;
}

struct misc {
    tulip_event ev;
    tulip_sem sem;
    tulip_barrier bar;
    tulip_lock lock;
    tulip_cond cond;
    int ready;
    tulip_broadcast *bc;
};

static int misc_user(void *p)
{
    struct misc *M = p;
    unsigned seed = (unsigned)tulip_task_id(tulip_self());
    SHIFT(seed % 4);
    volatile unsigned char buf[140];
    PATTERN(buf, sizeof buf, seed);
    tulip_broadcast_receiver *r = tulip_broadcast_subscribe(M->bc);
    int e = tulip_event_wait(&M->ev);
    int s = tulip_sem_acquire(&M->sem); /* one at a time: the others wait */
    if (s == 0)
        s = deep_wait(seed, 2, do_yield, NULL);
    tulip_sem_release(&M->sem);
    int b = tulip_barrier_wait(&M->bar);
    tulip_lock_acquire(&M->lock);
    int c = 0;
    while (!M->ready && !c)
        c = tulip_cond_wait(&M->cond, &M->lock);
    tulip_lock_release(&M->lock);
    struct item it;
    memset(&it, 0, sizeof it);
    int rr = tulip_broadcast_recv(r, &it);
    tulip_broadcast_unsubscribe(r);
    say("M%d:%d:%d:%d:%d:%s:%d ", e, s, b >= 0 ? 0 : b, c, rr, it.tag, pattern_ok(buf, sizeof buf, seed));
    return 0;
}

static int sc_misc(void *p)
{
    (void)p;
    struct misc M;
    memset(&M, 0, sizeof M);
    tulip_event_init(&M.ev);
    tulip_sem_init(&M.sem, 1, 1);
    tulip_barrier_init(&M.bar, 4);
    tulip_lock_init(&M.lock);
    tulip_cond_init(&M.cond);
    M.bc = tulip_broadcast_new(sizeof(struct item), 4);
    tulip_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn(misc_user, &M);
    tulip_yield();
    tulip_event_set(&M.ev);
    for (int i = 0; i < 20; i++)
        tulip_yield();
    tulip_lock_acquire(&M.lock);
    M.ready = 1;
    tulip_cond_broadcast(&M.cond);
    tulip_lock_release(&M.lock);
    for (int i = 0; i < 20; i++)
        tulip_yield();
    struct item it = {1, 2, 3, "cast"};
    say("bs%d ", tulip_broadcast_send(M.bc, &it));
    for (int i = 0; i < 4; i++)
        tulip_join(t[i]);
    tulip_broadcast_free(M.bc);
    return 0;
}

/* ---- files (the thread pool, or io_uring) ------------------------------------- */

static char g_path[64];
static char g_file_res[4][64];

static int file_user(void *p)
{
    unsigned k = (unsigned)(uintptr_t)p;
    SHIFT(k);
    char path[64]; /* the path too is a local */
    snprintf(path, sizeof path, "%s", g_path);
    int fd = tulip_file_open(path, O_RDWR, 0);
    if (fd < 0)
        return fd;
    unsigned char out[300], in[300];
    PATTERN(out, sizeof out, k);
    memset(in, 0, sizeof in);
    ssize_t w = tulip_file_pwrite(fd, out, sizeof out, (int64_t)k * 300);
    ssize_t r = tulip_file_pread(fd, in, sizeof in, (int64_t)k * 300);
    struct stat st;
    int s = tulip_file_fstat(fd, &st);
    struct stat st2;
    int s2 = tulip_file_stat(path, &st2);
    close(fd);
    /* The pool threads finish in any order: the trace is made in k order. */
    snprintf(g_file_res[k], sizeof g_file_res[k], "F%u:%zd:%zd:%d:%d:%d:%d ", k, w, r, s, s2,
             st.st_ino == st2.st_ino && st.st_size >= (off_t)(k + 1) * 300, pattern_ok(in, sizeof in, k));
    return 0;
}

static int sc_file(void *p)
{
    (void)p;
    tulip_task *t[4];
    for (unsigned i = 0; i < 4; i++)
        t[i] = spawn(file_user, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < 4; i++)
        tulip_join(t[i]);
    for (unsigned i = 0; i < 4; i++)
        say("%s", g_file_res[i]);
    return 0;
}

/* ---- peers on another thread -------------------------------------------------- */

/* A plain thread completes the waits of compact tasks whose frames are
 * saved away (one shared stack: each task that parks is evicted by the
 * next): the items must land in the waits' off-stack records. */
static tulip_chan *xc, *xother;
static tulip_queue *xq;
static sem_t xgo, xdone;

static void *x_foreign(void *p)
{
    (void)p;
    sem_wait(&xgo);
    for (int i = 0; i < 2; i++) {
        struct item it = {(uint64_t)(41 + i), 0, 0, "foreign"};
        assert_int_equal(tulip_chan_try_send(xc, &it), 0);
    }
    struct item it = {43, 0, 0, "queued"};
    assert_int_equal(tulip_queue_try_put(xq, &it), 0);
    sem_post(&xdone);
    return NULL;
}

static int x_receiver(void *p)
{
    SHIFT((uintptr_t)p);
    struct item it;
    memset(&it, 0, sizeof it);
    int rc = tulip_chan_recv(xc, &it);
    return rc ? rc : strcmp(it.tag, "foreign") ? -EILSEQ : (int)it.a;
}

static int x_getter(void *p)
{
    SHIFT((uintptr_t)p);
    struct item it;
    memset(&it, 0, sizeof it);
    int rc = tulip_queue_get(xq, &it);
    return rc ? rc : strcmp(it.tag, "queued") ? -EILSEQ : (int)it.a;
}

static int x_selecter(void *p)
{
    SHIFT((uintptr_t)p);
    struct item a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    tulip_select_case cs[2] = {
        {.chan = xother, .op = TULIP_SELECT_RECV, .item = &b},
        {.chan = xc, .op = TULIP_SELECT_RECV, .item = &a},
    };
    int rc = tulip_select(cs, 2, false);
    return rc == 1 && cs[1].result == 0 && !strcmp(a.tag, "foreign") ? (int)a.a : -1;
}

static int x_main(void *p)
{
    (void)p;
    tulip_task *r = spawn(x_receiver, (void *)1);
    tulip_task *s = spawn(x_selecter, (void *)3);
    tulip_task *g = spawn(x_getter, (void *)2);
    tulip_yield(); /* all three park, each evicting the one before */
    sem_post(&xgo);
    /* Both chan waiters get one of the two items, in their wait order. */
    int a = tulip_join(r), b = tulip_join(s);
    assert_true((a == 41 && b == 42) || (a == 42 && b == 41));
    assert_int_equal(tulip_join(g), 43);
    sem_wait(&xdone);
    struct tulip__sched *sc = tulip__sched(tulip_loop_current());
    assert_true(sc->compact.saves >= 2);
    return 0;
}

static void test_foreign_thread(void **state)
{
    (void)state;
    sem_init(&xgo, 0, 0);
    sem_init(&xdone, 0, 0);
    xc = tulip_chan_new(sizeof(struct item), 0);
    xother = tulip_chan_new(sizeof(struct item), 0);
    xq = tulip_queue_new(sizeof(struct item), 0, TULIP_QUEUE_FIFO, NULL);
    g_flags = TULIP_SPAWN_COMPACT;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, x_foreign, NULL), 0);
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.compact_stacks = 1;
    assert_int_equal(tulip_run_ex(x_main, NULL, &cfg), 0);
    pthread_join(th, NULL);
    assert_int_equal(tulip_chan_free(xc), 0);
    assert_int_equal(tulip_chan_free(xother), 0);
    assert_int_equal(tulip_queue_free(xq), 0);
    sem_destroy(&xgo);
    sem_destroy(&xdone);
}

/* ---- seeing inside ------------------------------------------------------------- */

/* A dump shows an evicted compact task's stack from its saved frames. */
__attribute__((noinline)) static int parked_in_dump_test(tulip_future *f)
{
    volatile int keep = 1; /* no tail call: this frame stays in the backtrace */
    int rc = tulip_future_await(f, NULL);
    return rc * keep;
}

static int dump_target(void *p)
{
    return parked_in_dump_test(p);
}

static char *g_dump;
static size_t g_dump_len;
static int g_backtraces;

static int dump_main(void *p)
{
    (void)p;
    tulip_future *f = tulip_future_new();
    tulip_task *a = spawn(dump_target, f);
    tulip_task_set_name(a, "dump-a");
    tulip_task *b = spawn(awaiter, f); /* same (only) shared stack: evicts a */
    tulip_yield();
    tulip_debug_stats st;
    assert_int_equal(tulip_debug_stats_get(NULL, &st), 0);
    g_backtraces = st.backtraces;
    FILE *out = open_memstream(&g_dump, &g_dump_len);
    assert_int_equal(tulip_dump_loop(tulip_loop_current(), out), 0);
    fclose(out);
    tulip_future_resolve(f, NULL);
    tulip_join(a);
    tulip_join(b);
    tulip_future_free(f);
    return 0;
}

static void test_dump_saved_frames(void **state)
{
    (void)state;
    g_flags = TULIP_SPAWN_COMPACT;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.compact_stacks = 1;
    cfg.debug = 1;
    cfg.slow_step_ns = -1;
    assert_int_equal(tulip_run_ex(dump_main, NULL, &cfg), 0);
    const char *a = strstr(g_dump, "\"dump-a\"");
    if (!a)
        fail_msg("no dump-a in:\n%s", g_dump);
    const char *saved = strstr(a, "bytes of frames saved off its shared stack");
    assert_non_null(saved);
#ifndef TULIP_TEST_NO_DEBUG_INFO
    if (g_backtraces) {
        const char *next = strstr(saved, "\ntask ");
        const char *fn = strstr(saved, "parked_in_dump_test");
        if (!fn || (next && fn > next))
            fail_msg("no backtrace from the saved frames in:\n%s", g_dump);
    }
#endif
    free(g_dump);
    g_dump = NULL;
}

/* ---- the harness ---------------------------------------------------------- */

static uint64_t g_saves, g_restores;
static int g_debug;
static tulip_debug_stats g_stats;

static int top(void *p)
{
    tulip_fn body = (tulip_fn)(uintptr_t)p;
    int rc = body(NULL);
    struct tulip__sched *s = tulip__sched(tulip_loop_current());
    g_saves = s->compact.saves;
    g_restores = s->compact.restores;
    if (g_debug)
        assert_int_equal(tulip_debug_stats_get(NULL, &g_stats), 0);
    return rc;
}

/* Run body once with flags, return the trace (static storage). */
static const char *run_with(tulip_fn body, unsigned flags)
{
    g_flags = flags;
    g_len = 0;
    g_log[0] = 0;
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = 1;
    cfg.compact_stacks = 2;
    cfg.seed = 1;
    tulip_select_seed(1);
    if (g_debug) {
        cfg.debug = 1;
        cfg.slow_step_ns = -1;
    }
    assert_int_equal(tulip_run_ex(top, (void *)(uintptr_t)body, &cfg), 0);
    return g_log;
}

static void same_trace(tulip_fn body)
{
    char priv[sizeof g_log];
    snprintf(priv, sizeof priv, "%s", run_with(body, 0));
    assert_int_equal(g_saves, 0);
    const char *comp = run_with(body, TULIP_SPAWN_COMPACT);
    if (strcmp(priv, comp) != 0)
        fail_msg("traces differ:\nprivate: %s\ncompact: %s", priv, comp);
    /* The scenario really moved frames around. */
    assert_true(g_saves > 0);
    assert_true(g_restores > 0);
    assert_null(strstr(comp, ":0 ")); /* no pattern check failed (":0" ends each) */
}

static void test_yield(void **state)
{
    (void)state;
    same_trace(sc_yield);
    assert_non_null(strstr(g_log, "j25 "));
}

static void test_sleep(void **state)
{
    (void)state;
    same_trace(sc_sleep);
}

static void test_future(void **state)
{
    (void)state;
    same_trace(sc_future);
    assert_non_null(strstr(g_log, "f0:42:1 "));
}

static void test_join(void **state)
{
    (void)state;
    same_trace(sc_join);
    assert_non_null(strstr(g_log, "J5:6:1 "));
}

static void test_group(void **state)
{
    (void)state;
    same_trace(sc_group);
    assert_non_null(strstr(g_log, "G3:0:1 "));
}

static void test_scope(void **state)
{
    (void)state;
    same_trace(sc_scope);
    /* The shielded sleep completes; the deep sleep times out by the outer
     * deadline, which scope_exit reports. */
    char want[64];
    snprintf(want, sizeof want, "S2:0:0:%d:%d:1:1 ", -ETIMEDOUT, -ETIMEDOUT);
    assert_non_null(strstr(g_log, want));
}

static void test_cancel(void **state)
{
    (void)state;
    same_trace(sc_cancel);
    char want[16];
    snprintf(want, sizeof want, "C%d ", -ECANCELED);
    assert_non_null(strstr(g_log, want));
}

static void test_io(void **state)
{
    (void)state;
    same_trace(sc_io);
    assert_non_null(strstr(g_log, "R0:40:"));
}

/* Debug mode: the same traces (every park range-checked, the unused part
 * of each shared stack poisoned under ASan), and the stats report the
 * saved sizes. */
static void test_debug_mode(void **state)
{
    (void)state;
    g_debug = 1;
    same_trace(sc_scope);
    same_trace(sc_io);
    same_trace(sc_chan);
    same_trace(sc_select);
    same_trace(sc_misc);
    same_trace(sc_yield); /* last: the stats below are its run's */
    g_debug = 0;
    assert_true(g_stats.compact_saves > 0);
    assert_true(g_stats.compact_restores > 0);
    assert_true(g_stats.compact_max_saved >= g_stats.compact_avg_saved);
    assert_true(g_stats.compact_avg_saved > 64);
    /* deep_wait's 20 frames of 96 bytes and more. */
    assert_true(g_stats.compact_max_saved > 2000);
}

static void test_file(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "/tmp/tulip_compact_XXXXXX");
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    close(fd);
    same_trace(sc_file);
    unlink(g_path);
    assert_non_null(strstr(g_log, "F3:300:300:0:0:1:1 "));
}

static void test_lock(void **state)
{
    (void)state;
    same_trace(sc_lock);
    assert_non_null(strstr(g_log, "L8:0:1 "));
}

static void test_queue(void **state)
{
    (void)state;
    same_trace(sc_queue);
    assert_non_null(strstr(g_log, "p0 p0 p0 "));
}

static void test_chan(void **state)
{
    (void)state;
    same_trace(sc_chan);
    assert_null(strstr(g_log, "-"));
    /* Each pinger: the sum of (i + 1000) over i < 20. */
    assert_non_null(strstr(g_log, "P20190 "));
}

static void test_select(void **state)
{
    (void)state;
    same_trace(sc_select);
    assert_non_null(strstr(g_log, "X1:0:2:sel "));
    assert_non_null(strstr(g_log, "B18:back "));
}

static void test_sync_misc(void **state)
{
    (void)state;
    same_trace(sc_misc);
    assert_non_null(strstr(g_log, "M0:0:0:0:0:cast:1 "));
}

static void test_flags(void **state)
{
    (void)state;
    assert_null(tulip_spawn_ex(NULL, do_yield, NULL, TULIP_SPAWN_COMPACT)); /* no loop here */
    assert_int_equal(errno, EPERM);
    tulip_loop *l = tulip_loop_new(NULL);
    assert_non_null(l);
    assert_null(tulip_spawn_ex(l, do_yield, NULL, 0x80));
    assert_int_equal(errno, EINVAL);
    tulip_task *t = tulip_spawn_ex(l, do_yield, NULL, TULIP_SPAWN_COMPACT);
    assert_non_null(t);
    assert_int_equal(tulip_detach(t), 0);
    /* Freed unfinished, never run: nothing leaks, nothing is touched. */
    tulip_task *u = tulip_spawn_ex(l, do_yield, NULL, TULIP_SPAWN_COMPACT);
    assert_non_null(u);
    assert_int_equal(tulip_loop_free(l), 0);
}

int main(void)
{
    if (!test_have_compact()) {
        printf("skipped: no compact tasks with the ucontext switch\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),  cmocka_unit_test(test_yield),  cmocka_unit_test(test_sleep),
        cmocka_unit_test(test_future), cmocka_unit_test(test_join),   cmocka_unit_test(test_group),
        cmocka_unit_test(test_scope),  cmocka_unit_test(test_cancel), cmocka_unit_test(test_io),
        cmocka_unit_test(test_file),   cmocka_unit_test(test_lock),   cmocka_unit_test(test_queue),  cmocka_unit_test(test_chan),
        cmocka_unit_test(test_select), cmocka_unit_test(test_sync_misc), cmocka_unit_test(test_foreign_thread),
        cmocka_unit_test(test_dump_saved_frames), cmocka_unit_test(test_debug_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
