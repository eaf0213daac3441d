/* A raw client connection for HTTP server tests: the test writes request
 * bytes itself and reads exactly what the server put on the wire.
 * Include after cmocka.h and tulip.h. */
#ifndef TULIP_HTTP_TEST_UTIL_H
#define TULIP_HTTP_TEST_UTIL_H

#include <string.h>

typedef struct raw {
    int fd;
    char buf[65536]; /* received, not yet consumed: buf[0..len) */
    size_t len;
} raw;

static inline void raw_dial(raw *c, const char *addr)
{
    c->fd = tulip_dial("tcp", addr);
    assert_true(c->fd >= 0);
    c->len = 0;
}

static inline void raw_send(raw *c, const char *s)
{
    assert_int_equal(tulip_write_all(c->fd, s, strlen(s), NULL), (ssize_t)strlen(s));
}

#endif
