/* The hand-written epoll echo server the benchmark compares against:
 * one thread, level-triggered, non-blocking, a buffer per connection for
 * the rare short write. Runs until SIGINT/SIGTERM.
 *
 *   echo_epoll port */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

struct conn {
    int fd;
    size_t pend, off;          /* bytes still to write back */
    char buf[16384];
};

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static void drop(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 7780;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    int lfd = bench_listen(port, SOCK_NONBLOCK, "echo_epoll");
    if (lfd < 0)
        return 1;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct conn *k = malloc(sizeof *k);
                    k->fd = fd;
                    k->pend = k->off = 0;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = k};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            if (c->pend) {
                ssize_t w = write(c->fd, c->buf + c->off, c->pend);
                if (w < 0 && errno != EAGAIN) {
                    drop(ep, c);
                    continue;
                }
                if (w > 0) {
                    c->off += (size_t)w;
                    c->pend -= (size_t)w;
                }
                if (!c->pend) {
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf, sizeof c->buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                drop(ep, c);
                continue;
            }
            ssize_t w = write(c->fd, c->buf, (size_t)r);
            if (w < 0 && errno != EAGAIN) {
                drop(ep, c);
                continue;
            }
            if (w < r) {
                c->off = w > 0 ? (size_t)w : 0;
                c->pend = (size_t)r - c->off;
                struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
            }
        }
    }
    close(ep);
    close(lfd);
    return 0;
}
