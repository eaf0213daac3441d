/* Network names and addresses: "tcp" + "host:port" to socket addresses,
 * and socket addresses back to text. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_internal.h"
#include "../common/fault.h"

int tulip__net_parse(const char *network, struct tulip__netspec *ns)
{
    static const struct {
        const char *name;
        int family, socktype;
    } table[] = {
        {"tcp", AF_UNSPEC, SOCK_STREAM},  {"tcp4", AF_INET, SOCK_STREAM},
        {"tcp6", AF_INET6, SOCK_STREAM},  {"udp", AF_UNSPEC, SOCK_DGRAM},
        {"udp4", AF_INET, SOCK_DGRAM},    {"udp6", AF_INET6, SOCK_DGRAM},
        {"unix", AF_UNIX, SOCK_STREAM},   {"unixgram", AF_UNIX, SOCK_DGRAM},
    };
    if (!network)
        return -EINVAL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(network, table[i].name) == 0) {
            ns->family = table[i].family;
            ns->socktype = table[i].socktype;
            return 0;
        }
    return -EINVAL;
}

/* "[v6]:port", "host:port", ":port". A bare IPv6 address without brackets
 * is ambiguous and refused. */
static int split_hostport(const char *a, char *host, size_t hn, char *port, size_t pn)
{
    const char *h, *p;
    size_t hl;
    if (a[0] == '[') {
        const char *end = strchr(a, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        h = a + 1;
        hl = (size_t)(end - h);
        p = end + 2;
    } else {
        const char *colon = strrchr(a, ':');
        if (!colon || memchr(a, ':', (size_t)(colon - a)))
            return -EINVAL;
        h = a;
        hl = (size_t)(colon - a);
        p = colon + 1;
    }
    size_t pl = strlen(p);
    if (!pl || hl >= hn || pl >= pn)
        return -EINVAL;
    /* The resolver takes any number and wraps it into 16 bits. */
    if (strspn(p, "0123456789") == pl && (pl > 5 || atoi(p) > 65535))
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    memcpy(port, p, pl + 1);
    return 0;
}

int tulip__net_resolve(const struct tulip__netspec *ns, const char *address, int passive,
                       struct addrinfo **res)
{
    char host[NI_MAXHOST], port[64];
    if (!address)
        return -EINVAL;
    int rc = split_hostport(address, host, sizeof host, port, sizeof port);
    if (rc < 0)
        return rc;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = ns->family;
    hints.ai_socktype = ns->socktype;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    return tulip_getaddrinfo(host[0] ? host : NULL, port, &hints, res);
}

int tulip__unix_addr(const char *address, struct sockaddr_un *sun, socklen_t *len)
{
    if (!address || !address[0])
        return -EINVAL;
    size_t n = strlen(address);
    if (n >= sizeof sun->sun_path)
        return -ENAMETOOLONG;
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, address, n);
    if (address[0] == '@') {
        /* Abstract names are counted, not terminated. */
        sun->sun_path[0] = 0;
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int tulip__socket(int family, int type, int protocol)
{
    if (tulip__fault(TULIP_FAULT_SOCKET))
        return -EMFILE;
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return -errno;
    if (type == SOCK_STREAM && (family == AF_INET || family == AF_INET6)) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    /* Tell the fd table what we know, saving a fcntl on first use. */
    tulip_loop *l = tulip__tls.loop;
    struct tulip__fd *f = l ? tulip__fd_get(l, fd) : NULL;
    if (f) {
        f->nonblock = 1;
        f->kind = type != SOCK_STREAM ? TULIP__FD_SOCKET
                  : family == AF_UNIX ? TULIP__FD_UNIX_STREAM
                                      : TULIP__FD_STREAM_SOCKET;
    }
    return fd;
}

int tulip_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

int tulip_sockname(int fd, bool peer, char *buf, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return -errno;
    char ip[INET6_ADDRSTRLEN];
    int w;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        w = snprintf(buf, n, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        w = snprintf(buf, n, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *su = (struct sockaddr_un *)&ss;
        size_t pl = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (pl && su->sun_path[0] == 0) /* abstract: shown as "@name" */
            w = snprintf(buf, n, "@%.*s", (int)(pl - 1), su->sun_path + 1);
        else
            w = snprintf(buf, n, "%.*s", (int)strnlen(su->sun_path, pl), su->sun_path);
    } else {
        return -EAFNOSUPPORT;
    }
    if (w < 0 || (size_t)w >= n)
        return -ENOSPC;
    return w;
}
