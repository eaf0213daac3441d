/* No peer ever touches a suspended task's stack (issue 18, docs/DESIGN.md
 * section 11), whatever its kind of stack: channel, queue, select and
 * broadcast waits keep their records and a copy of the item in the task's
 * wait block, and an open scope keeps its state (its timer, the chain that
 * cancellation walks) in a node. Each case parks a task W in one such wait, then makes W's
 * whole stack inaccessible (mprotect PROT_NONE) while the main task (or a
 * plain thread) completes, cancels or closes that wait; the access
 * restored, W runs on and checks what it got. A peer that wrote the item
 * into W's frames, or linked a record that lies there, faults: the SIGSEGV
 * handler names the case and the test fails. Every case runs with W on a
 * private stack and as a compact task. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include "test_util.h"
#include "stack_lock.h"

static unsigned g_flags;
static const char *g_case = "";
static tulip_chan *g_c, *g_c2;
static tulip_queue *g_q;
static tulip_broadcast *g_b;
static tulip_broadcast_receiver *g_r;
static char g_fail[256];

/* An item bigger than the inline copy (tulip__copy's memcpy path). */
struct item {
    long a, b, c;
};

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    stack_fault(g_flags ? "test_chan_records (compact task)" : "test_chan_records (private task)", g_case,
                si->si_addr);
}

static void protect(tulip_task *t, int prot)
{
    stack_protect(t, prot, g_case, g_fail, sizeof g_fail);
}

/* Spawn W, let it park, check its wait record is off its stack, and lock
 * its stack. */
static tulip_task *park(tulip_fn fn)
{
    tulip_task *w = tulip_spawn_ex(NULL, fn, NULL, g_flags);
    if (!w)
        return NULL;
    tulip_yield();
    stack_check_parked(w, g_case, g_fail, sizeof g_fail);
    protect(w, PROT_NONE);
    return w;
}

/* Give W its stack back and collect its verdict (0: it got what it should). */
static int finish(tulip_task *w, int want)
{
    protect(w, PROT_READ | PROT_WRITE);
    int rc = tulip_join(w);
    if (rc != want && !g_fail[0])
        snprintf(g_fail, sizeof g_fail, "%s: the waiter returned %d, not %d", g_case, rc, want);
    return rc;
}

/* ---- the waiters ---------------------------------------------------------- */

static int w_recv(void *p)
{
    (void)p;
    struct item v = {0, 0, 0};
    int rc = tulip_chan_recv(g_c, &v);
    return rc ? rc : v.a == 1 && v.b == 2 && v.c == 3 ? 0 : -EBADMSG;
}

static int w_send(void *p)
{
    (void)p;
    struct item v = {4, 5, 6};
    return tulip_chan_send(g_c, &v);
}

static int w_recv_long(void *p)
{
    (void)p;
    long v = 0;
    int rc = tulip_chan_recv(g_c, &v);
    return rc ? rc : v == 12 ? 0 : -EBADMSG;
}

static int w_get(void *p)
{
    (void)p;
    long v = 0;
    int rc = tulip_queue_get(g_q, &v);
    return rc ? rc : v == 42 ? 0 : -EBADMSG;
}

static int w_put(void *p)
{
    (void)p;
    long v = 43;
    return tulip_queue_put(g_q, &v);
}

static int w_select_recv(void *p)
{
    (void)p;
    long a = 0, b = 0;
    tulip_select_case cs[2] = {
        {.chan = g_c, .op = TULIP_SELECT_RECV, .item = &a},
        {.chan = g_c2, .op = TULIP_SELECT_RECV, .item = &b},
    };
    int rc = tulip_select(cs, 2, false);
    return rc != 1 ? -EPROTO : cs[1].result ? cs[1].result : b == 7 && a == 0 ? 0 : -EBADMSG;
}

static int w_select_send(void *p)
{
    (void)p;
    long a = 9, b = 0;
    tulip_select_case cs[2] = {
        {.chan = g_c, .op = TULIP_SELECT_SEND, .item = &a},
        {.chan = g_c2, .op = TULIP_SELECT_RECV, .item = &b},
    };
    int rc = tulip_select(cs, 2, false);
    return rc != 0 ? -EPROTO : cs[0].result;
}

static int w_bcast(void *p)
{
    (void)p;
    long v = 0;
    int rc = tulip_broadcast_recv(g_r, &v);
    return rc ? rc : v == 11 ? 0 : -EBADMSG;
}

/* Parked inside a scope whose timer sits in the loop's heap. */
static int w_scoped(void *p)
{
    (void)p;
    tulip_scope sc;
    tulip_scope_enter_timeout(&sc, TULIP_SEC(60));
    long v = 0;
    int rc = tulip_chan_recv(g_c, &v);
    int ex = tulip_scope_exit(&sc);
    return rc == -ECANCELED && ex == 0 ? 0 : -EPROTO;
}

/* ---- the peers --------------------------------------------------------------- */

static void *foreign_send(void *p)
{
    (void)p;
    long v = 12;
    if (tulip_chan_try_send(g_c, &v) != 0)
        snprintf(g_fail, sizeof g_fail, "foreign: try_send found no waiter");
    return NULL;
}

static int body(void *p)
{
    (void)p;
    tulip_task *w;

    g_case = "chan recv";
    g_c = tulip_chan_new(sizeof(struct item), 0);
    w = park(w_recv);
    struct item it = {1, 2, 3};
    tulip_chan_send(g_c, &it); /* into the parked receiver's record */
    finish(w, 0);

    g_case = "chan send";
    w = park(w_send);
    tulip_chan_recv(g_c, &it); /* out of the parked sender's record */
    finish(w, 0);
    if (it.a != 4 || it.b != 5 || it.c != 6)
        snprintf(g_fail, sizeof g_fail, "%s: received %ld %ld %ld", g_case, it.a, it.b, it.c);
    tulip_chan_free(g_c);

    g_case = "chan send, buffer full";
    g_c = tulip_chan_new(sizeof(struct item), 1);
    struct item first = {7, 7, 7};
    tulip_chan_send(g_c, &first);
    w = park(w_send);
    tulip_chan_recv(g_c, &it); /* refills the slot from the sender's record */
    finish(w, 0);
    tulip_chan_recv(g_c, &it);
    if (it.a != 4 || it.c != 6)
        snprintf(g_fail, sizeof g_fail, "%s: received %ld %ld %ld", g_case, it.a, it.b, it.c);
    tulip_chan_free(g_c);

    g_case = "queue get";
    g_q = tulip_queue_new(sizeof(long), 1, TULIP_QUEUE_FIFO, NULL);
    w = park(w_get);
    long v = 42;
    tulip_queue_put(g_q, &v);
    finish(w, 0);

    g_case = "queue put, full";
    v = 1;
    tulip_queue_put(g_q, &v);
    w = park(w_put);
    tulip_queue_get(g_q, &v); /* admits the parked putter's item */
    finish(w, 0);
    tulip_queue_get(g_q, &v);
    if (v != 43)
        snprintf(g_fail, sizeof g_fail, "%s: got %ld", g_case, v);
    tulip_queue_free(g_q);

    g_case = "select recv";
    g_c = tulip_chan_new(sizeof(long), 0);
    g_c2 = tulip_chan_new(sizeof(long), 0);
    w = park(w_select_recv);
    v = 7;
    tulip_chan_send(g_c2, &v);
    finish(w, 0);

    g_case = "select send";
    w = park(w_select_send);
    tulip_chan_recv(g_c, &v);
    finish(w, 0);
    if (v != 9)
        snprintf(g_fail, sizeof g_fail, "%s: received %ld", g_case, v);

    g_case = "cancel";
    w = park(w_recv_long);
    tulip_cancel(w); /* the cancel hook unlinks the record */
    finish(w, -ECANCELED);

    g_case = "close";
    w = park(w_recv_long);
    tulip_chan_close(g_c);
    finish(w, -ESHUTDOWN);
    tulip_chan_free(g_c);

    g_case = "foreign thread";
    g_c = tulip_chan_new(sizeof(long), 0);
    w = park(w_recv_long);
    pthread_t th;
    if (pthread_create(&th, NULL, foreign_send, NULL) == 0)
        pthread_join(th, NULL); /* the item and the wake-up went through W's record */
    finish(w, 0);
    tulip_chan_free(g_c);
    tulip_chan_free(g_c2);

    g_case = "scope";
    g_c = tulip_chan_new(sizeof(long), 0);
    w = park(w_scoped);
    tulip_sleep(1); /* the heap orders this sleep's timer against the scope's */
    tulip_cancel(w); /* walks the waiter's scopes */
    finish(w, 0);
    tulip_chan_free(g_c);

    g_case = "broadcast";
    g_b = tulip_broadcast_new(sizeof(long), 2);
    g_r = tulip_broadcast_subscribe(g_b);
    w = park(w_bcast);
    v = 11;
    tulip_broadcast_send(g_b, &v);
    finish(w, 0);
    tulip_broadcast_unsubscribe(g_r);
    tulip_broadcast_free(g_b);
    return 0;
}

static void run(unsigned flags)
{
    g_flags = flags;
    g_fail[0] = 0;
    int rc = stack_run_trapped(body, NULL, on_segv);
    assert_int_equal(rc, 0);
    if (g_fail[0])
        fail_msg("%s task: %s", flags ? "compact" : "private", g_fail);
}

static void test_private(void **state)
{
    (void)state;
    run(0);
}

static void test_compact(void **state)
{
    (void)state;
    if (!test_have_compact())
        skip();
    run(TULIP_SPAWN_COMPACT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private),
        cmocka_unit_test(test_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
