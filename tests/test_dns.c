/* Name resolution: localhost through the pool, numeric names inline,
 * hints, service names, dialing a name, cancellation while queued or
 * running (results freed in the background), errors and their mapping. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdio.h>

#include "test_util.h"
#include "tulip/net.h"
#include "tulip/pool.h"
#include "tulip/testing.h"

static int body_localhost(void *arg)
{
    (void)arg;
    struct addrinfo *res = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    assert_int_equal(tulip_getaddrinfo("localhost", "80", &hints, &res), 0);
    assert_non_null(res);
    int loopback = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        assert_int_equal(ai->ai_socktype, SOCK_STREAM);
        if (ai->ai_family == AF_INET) {
            struct sockaddr_in *s = (struct sockaddr_in *)ai->ai_addr;
            assert_int_equal(ntohs(s->sin_port), 80);
            loopback |= ntohl(s->sin_addr.s_addr) == INADDR_LOOPBACK;
        } else if (ai->ai_family == AF_INET6) {
            struct sockaddr_in6 *s = (struct sockaddr_in6 *)ai->ai_addr;
            loopback |= IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
        }
    }
    assert_true(loopback);
    freeaddrinfo(res);

    /* Family hints are honoured. */
    hints.ai_family = AF_INET;
    assert_int_equal(tulip_getaddrinfo("localhost", NULL, &hints, &res), 0);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        assert_int_equal(ai->ai_family, AF_INET);
    freeaddrinfo(res);

    /* A service name goes through the pool too (it reads a file). */
    hints.ai_family = AF_INET;
    int rc = tulip_getaddrinfo("127.0.0.1", "http", &hints, &res);
    if (rc == 0) {
        assert_int_equal(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 80);
        freeaddrinfo(res);
    } else {
        assert_int_equal(rc, -EPROTONOSUPPORT); /* no /etc/services */
    }
    return 0;
}

static void test_localhost(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_localhost, NULL), 0);
}

/* Numeric hosts never reach the pool: they resolve outside tasks too. */
static void test_numeric_inline(void **state)
{
    (void)state;
    tulip_pool_stats before, after;
    tulip_pool_stats_get(&before);
    struct addrinfo *res;
    assert_int_equal(tulip_getaddrinfo("127.0.0.1", "8080", NULL, &res), 0);
    assert_int_equal(res->ai_family, AF_INET);
    freeaddrinfo(res);
    assert_int_equal(tulip_getaddrinfo("::1", "1", NULL, &res), 0);
    assert_int_equal(res->ai_family, AF_INET6);
    freeaddrinfo(res);
    assert_int_equal(tulip_getaddrinfo(NULL, "99", NULL, &res), 0);
    freeaddrinfo(res);
    tulip_pool_stats_get(&after);
    assert_int_equal(after.completed, before.completed);
    /* A name outside a task cannot park. */
    assert_int_equal(tulip_getaddrinfo("localhost", "80", NULL, &res), -EPERM);
    assert_int_equal(tulip_getaddrinfo(NULL, NULL, NULL, &res), -EINVAL);
    assert_int_equal(tulip_getaddrinfo("localhost", "80", NULL, NULL), -EINVAL);
}

static int acceptor(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    int fd = tulip_accept(lfd, NULL, NULL);
    if (fd < 0)
        return fd;
    char b;
    int rc = tulip_read(fd, &b, 1) == 1 && b == 'n' ? 0 : -EIO;
    tulip_close(fd);
    return rc;
}

static int body_dial_name(void *arg)
{
    (void)arg;
    int lfd = tulip_listen("tcp4", "localhost:0", 4); /* a name: via the pool */
    assert_true(lfd >= 0);
    char where[40];
    snprintf(where, sizeof where, "localhost:%d", tulip_local_port(lfd));
    tulip_task *t = tulip_spawn(acceptor, (void *)(intptr_t)lfd);
    /* "tcp" may try ::1 first, where nobody listens, then 127.0.0.1. */
    int fd = tulip_dial("tcp", where);
    assert_true(fd >= 0);
    assert_int_equal(tulip_write(fd, "n", 1), 1);
    assert_int_equal(tulip_join(t), 0);
    tulip_close(fd);
    tulip_close(lfd);
    return 0;
}

static void test_dial_name(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_dial_name, NULL), 0);
}

/* ---- cancellation ------------------------------------------------------- */

static sem_t hold_started, hold_release;

static int hold_job(void *arg)
{
    (void)arg;
    sem_post(&hold_started);
    sem_wait(&hold_release);
    return 0;
}

static int holder(void *arg)
{
    (void)arg;
    return tulip_run_blocking_ex(hold_job, NULL, TULIP_POOL_SLOW, NULL);
}

struct lookup_ctx {
    tulip_scope *scope;
    int rc;
};

static int looker(void *arg)
{
    struct lookup_ctx *c = arg;
    tulip_scope s;
    tulip_scope_enter(&s, TULIP_FOREVER);
    c->scope = &s;
    struct addrinfo *res = NULL;
    c->rc = tulip_getaddrinfo("localhost", "80", NULL, &res);
    if (c->rc == 0)
        freeaddrinfo(res);
    c->scope = NULL;
    tulip_scope_exit(&s);
    return 0;
}

/* Size 2 gives slow jobs one thread; the held slow job keeps the look-up
 * queued, so the cancel finds it there. */
static int body_cancel_queued(void *arg)
{
    (void)arg;
    tulip_task *h = tulip_spawn(holder, NULL);
    assert_int_equal(tulip_yield(), 0);
    sem_wait(&hold_started);
    struct lookup_ctx c = {0};
    tulip_task *l = tulip_spawn(looker, &c);
    assert_int_equal(tulip_yield(), 0);
    tulip_pool_stats st;
    tulip_pool_stats_get(&st);
    assert_int_equal(st.queued, 1);
    tulip_scope_cancel(c.scope);
    assert_int_equal(tulip_join(l), 0);
    assert_int_equal(c.rc, -ECANCELED);
    sem_post(&hold_release);
    assert_int_equal(tulip_join(h), 0);
    return 0;
}

static void test_cancel_queued(void **state)
{
    (void)state;
    sem_init(&hold_started, 0, 0);
    sem_init(&hold_release, 0, 0);
    assert_int_equal(tulip_pool_set_size(2), 0);
    assert_int_equal(test_run(body_cancel_queued, NULL), 0);
    assert_int_equal(tulip_pool_shutdown(TULIP_SEC(30)), 0);
    assert_int_equal(tulip_pool_set_size(4), 0);
    sem_destroy(&hold_started);
    sem_destroy(&hold_release);
}

/* Cancel look-ups at once, whether they have started or not; those that
 * were running finish in the background and free their results there (the
 * leak checkers would see anything left). */
static int body_cancel_many(void *arg)
{
    (void)arg;
    size_t n = test_scale(200);
    if (n < 8)
        n = 8;
    struct lookup_ctx *c = calloc(n, sizeof *c);
    tulip_task **t = calloc(n, sizeof *t);
    for (size_t i = 0; i < n; i++)
        t[i] = tulip_spawn(looker, &c[i]);
    assert_int_equal(tulip_yield(), 0);
    for (size_t i = 0; i < n; i++)
        if (c[i].scope && (i % 2 == 0))
            tulip_scope_cancel(c[i].scope);
    /* Which ones were still queued, running or done when cancelled
     * depends on the threads; each ends one of the two ways. */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tulip_join(t[i]), 0);
        if (c[i].rc != -ECANCELED)
            assert_int_equal(c[i].rc, 0);
    }
    free(c);
    free(t);
    return 0;
}

static void test_cancel_many(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_cancel_many, NULL), 0);
    /* Background look-ups end before the pool does. */
    assert_int_equal(tulip_pool_shutdown(TULIP_SEC(30)), 0);
}

/* ---- errors ------------------------------------------------------------- */

static int body_errors(void *arg)
{
    (void)arg;
    struct addrinfo *res = (struct addrinfo *)1;
    tulip_fault_arm(TULIP_FAULT_MALLOC, 1, 0);
    assert_int_equal(tulip_getaddrinfo("localhost", "80", NULL, &res), -ENOMEM);
    tulip_fault_reset();
    assert_null(res);
    assert_int_equal(tulip_dial("tcp", "localhost:no-such-service"), -EPROTONOSUPPORT);
    /* Cancelled before it starts: nothing queued, nothing leaked. */
    tulip_cancel(tulip_self());
    assert_int_equal(tulip_getaddrinfo("localhost", "80", NULL, &res), -ECANCELED);
    assert_int_equal(tulip_dial("tcp", "localhost:80"), -ECANCELED);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(test_run(body_errors, NULL), -0);
    assert_int_equal(tulip_gai_error(0), 0);
    assert_int_equal(tulip_gai_error(EAI_NONAME), -ENOENT);
    assert_int_equal(tulip_gai_error(EAI_AGAIN), -EAGAIN);
    assert_int_equal(tulip_gai_error(EAI_FAIL), -EIO);
    assert_int_equal(tulip_gai_error(EAI_MEMORY), -ENOMEM);
    assert_int_equal(tulip_gai_error(EAI_FAMILY), -EAFNOSUPPORT);
    assert_int_equal(tulip_gai_error(EAI_SOCKTYPE), -ESOCKTNOSUPPORT);
    assert_int_equal(tulip_gai_error(EAI_SERVICE), -EPROTONOSUPPORT);
    assert_int_equal(tulip_gai_error(EAI_BADFLAGS), -EINVAL);
    assert_int_equal(tulip_gai_error(EAI_OVERFLOW), -ENAMETOOLONG);
}

static int teardown(void **state)
{
    (void)state;
    return tulip_pool_shutdown(TULIP_SEC(30));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_localhost),
        cmocka_unit_test(test_numeric_inline),
        cmocka_unit_test(test_dial_name),
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_cancel_many),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
