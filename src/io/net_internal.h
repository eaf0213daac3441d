/* Shared by the socket files: what a network name means, address parsing
 * and socket creation. */
#ifndef TULIP_NET_INTERNAL_H
#define TULIP_NET_INTERNAL_H

#include <sys/socket.h>
#include <sys/un.h>
#include <netdb.h>
#include "tulip/net.h"
#include "io_internal.h"

struct tulip__netspec {
    int family;                    /* AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX */
    int socktype;                  /* SOCK_STREAM or SOCK_DGRAM */
};

/* Errors: -EINVAL (unknown network). */
int tulip__net_parse(const char *network, struct tulip__netspec *ns);

/* Resolve "host:port" for ns (not unix). passive: for binding (an empty
 * host means every interface). May park (names go to the thread pool).
 * Errors: -EINVAL (malformed), tulip_getaddrinfo's. */
int tulip__net_resolve(const struct tulip__netspec *ns, const char *address, int passive,
                       struct addrinfo **res);

/* A unix address from a path or "@abstract". Errors: -EINVAL (empty),
 * -ENAMETOOLONG. */
int tulip__unix_addr(const char *address, struct sockaddr_un *sun, socklen_t *len);

/* socket(2), non-blocking and close-on-exec, honouring fault injection;
 * TCP sockets get TCP_NODELAY. Returns the fd or -errno. */
int tulip__socket(int family, int type, int protocol);

/* tulip_accept, except that with wait_fds == 0 running out of fds
 * (-EMFILE, -ENFILE) is returned at once instead of waited out, for a
 * caller that can free one (the HTTP server closes an idle connection). */
int tulip__accept(int lfd, struct sockaddr *sa, socklen_t *len, int wait_fds);

#endif
