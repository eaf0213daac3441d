/* A TCP echo server: one task per connection.
 *
 *   echo [port [host]]      (default 7777 on 127.0.0.1)
 *
 * Ctrl-C (SIGINT) cancels the main task through tulip_run; SIGTERM does
 * the same through a task waiting for it. Either way the accept loop
 * stops, every connection task is cancelled and joined, and the program
 * exits cleanly. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tulip.h"
#include "tulip/signal.h"

struct server {
    const char *address;
    tulip_task *main;
    size_t served;
};

static int echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = tulip_read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        if (tulip_write_all(fd, buf, (size_t)n, NULL) < 0)
            break;
    }
    tulip_close(fd);
    /* A group cancels siblings when a child fails: a connection's end is
     * never a failure of the server. */
    return 0;
}

static int on_sigterm(void *arg)
{
    struct server *sv = arg;
    int sig = SIGTERM;
    if (tulip_signal_wait(&sig, 1) == SIGTERM)
        tulip_cancel(sv->main);
    return 0;
}

static int serve(void *arg)
{
    struct server *sv = arg;
    sv->main = tulip_self();
    int lfd = tulip_listen("tcp", sv->address, 0);
    if (lfd < 0) {
        fprintf(stderr, "echo: listen %s: %s\n", sv->address, tulip_strerror(lfd));
        return lfd;
    }
    printf("echo: listening on %s\n", sv->address);
    fflush(stdout);
    tulip_task *term = tulip_spawn(on_sigterm, sv);
    tulip_group *conns = tulip_group_new();
    int rc = 0;
    if (!term || !conns) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        int fd = tulip_accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (fd != -ECANCELED)
                rc = fd;
            break;
        }
        if (tulip_group_spawn(conns, echo_conn, (void *)(intptr_t)fd) < 0)
            tulip_close(fd); /* out of memory: drop this one, keep serving */
        else
            sv->served++;
    }
out:
    if (conns) {
        tulip_group_cancel(conns);
        /* Cancelled already, so this returns -ECANCELED once all ended. */
        tulip_group_wait(conns);
        tulip_group_free(conns);
    }
    if (term) {
        tulip_cancel(term);
        tulip_join(term);
    }
    tulip_close(lfd);
    printf("echo: shut down after %zu connections\n", sv->served);
    return rc;
}

int main(int argc, char **argv)
{
    const char *port = argc > 1 ? argv[1] : "7777";
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    char address[300];
    snprintf(address, sizeof address, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    struct server sv = {.address = address};
    int rc = tulip_run(serve, &sv);
    if (rc < 0 && rc != -ECANCELED) {
        fprintf(stderr, "echo: %s\n", tulip_strerror(rc));
        return 1;
    }
    return 0;
}
