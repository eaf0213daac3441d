/* The hand-written peer servers' listening socket: TCP on 127.0.0.1:port,
 * SO_REUSEADDR (a rerun right after the last one finds the port free),
 * TCP_NODELAY (inherited by accepted sockets: an echo goes out at once). */
#ifndef TULIP_BENCH_LISTEN_H
#define TULIP_BENCH_LISTEN_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* The listener, or -1 after a message naming who. flags: extra socket(2)
 * type flags (SOCK_NONBLOCK for a readiness server). */
static inline int bench_listen(int port, int flags, const char *who)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (lfd < 0) {
        perror(who);
        return -1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror(who);
        close(lfd);
        return -1;
    }
    return lfd;
}

#endif
