/* The tulip echo server of the benchmark: one task per connection, the
 * code a user would write (examples/echo.c without the printing). Runs
 * until SIGINT/SIGTERM.
 *
 *   echo_tulip port */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "tulip.h"
#include "tulip/signal.h"

static int conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = tulip_read(fd, buf, sizeof buf);
        if (n <= 0 || tulip_write_all(fd, buf, (size_t)n, NULL) < 0)
            break;
    }
    tulip_close(fd);
    return 0;
}

static int on_term(void *arg)
{
    int sigs[] = {SIGTERM, SIGINT};
    if (tulip_signal_wait(sigs, 2) > 0)
        tulip_cancel(arg);
    return 0;
}

static int serve(void *arg)
{
    char address[32];
    snprintf(address, sizeof address, "127.0.0.1:%s", (const char *)arg);
    int lfd = tulip_listen("tcp", address, 0);
    if (lfd < 0) {
        fprintf(stderr, "echo_tulip: %s\n", tulip_strerror(lfd));
        return lfd;
    }
    /* SIGINT too: tulip_run leaves it alone when the shell started us in
     * the background with SIGINT ignored. */
    tulip_task *term = tulip_spawn(on_term, tulip_self());
    tulip_detach(term);
    for (;;) {
        int fd = tulip_accept(lfd, NULL, NULL);
        if (fd < 0)
            break;
        tulip_task *t = tulip_spawn(conn, (void *)(intptr_t)fd);
        if (t)
            tulip_detach(t);
        else
            tulip_close(fd);
    }
    tulip_close(lfd);
    return 0;
}

int main(int argc, char **argv)
{
    return tulip_run(serve, argc > 1 ? argv[1] : "7782") < 0;
}
