/* Name resolution off the loop: getaddrinfo(3) in the thread pool. The job
 * owns copies of its inputs and its result, so a caller that is cancelled
 * can leave at once; the abandon callback frees whatever the look-up
 * produced once it ends. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "tulip/net.h"
#include "tulip/pool.h"
#include "io_internal.h"
#include "../common/fault.h"

struct lookup {
    struct addrinfo hints;
    const struct addrinfo *hintsp;
    const char *host, *service;    /* point into the same allocation */
    struct addrinfo *res;
    int eai;
    int sys_errno;
};

int tulip_gai_error(int eai)
{
    switch (eai) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_FAIL:
        return -EIO;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SOCKTYPE:
        return -ESOCKTNOSUPPORT;
    case EAI_SERVICE:
        return -EPROTONOSUPPORT;
    case EAI_BADFLAGS:
        return -EINVAL;
    case EAI_OVERFLOW:
        return -ENAMETOOLONG;
    case EAI_SYSTEM:
        return errno ? -errno : -EIO;
    default:
        return -EIO;
    }
}

static int map_result(int eai, int sys_errno)
{
    if (eai == EAI_SYSTEM)
        return sys_errno ? -sys_errno : -EIO;
    return tulip_gai_error(eai);
}

static int lookup_run(void *arg)
{
    struct lookup *q = arg;
    errno = 0;
    q->eai = getaddrinfo(q->host, q->service, q->hintsp, &q->res);
    q->sys_errno = errno;
    return 0;
}

static void lookup_abandon(void *arg)
{
    struct lookup *q = arg;
    if (q->eai == 0 && q->res)
        freeaddrinfo(q->res);
    free(q);
}

static int is_numeric_host(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (!h)
        return 1;
    if (inet_pton(AF_INET, h, buf) == 1)
        return 1;
    /* "fe80::1%eth0" carries a zone: leave it to the resolver. */
    return inet_pton(AF_INET6, h, buf) == 1;
}

static int is_numeric_service(const char *s)
{
    if (!s)
        return 1;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int tulip_getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res)
{
    if (!res || (!host && !service))
        return -EINVAL;
    *res = NULL;
    if (is_numeric_host(host) && is_numeric_service(service)) {
        /* No file or network is consulted: safe on the loop thread. */
        struct addrinfo h;
        if (hints)
            h = *hints;
        else {
            memset(&h, 0, sizeof h);
            h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;
        }
        if (host)
            h.ai_flags |= AI_NUMERICHOST;
        h.ai_flags |= AI_NUMERICSERV;
        errno = 0;
        int eai = getaddrinfo(host, service, &h, res);
        return map_result(eai, errno);
    }
    /* Checked here so that a -ECANCELED from the pool below always means
     * the job was queued and its abandon callback owns q. */
    tulip_task *t;
    int st = tulip__wait_enter(&t);
    if (st)
        return st;

    size_t hl = host ? strlen(host) + 1 : 0, sl = service ? strlen(service) + 1 : 0;
    struct lookup *q = tulip__malloc(sizeof *q + hl + sl);
    if (!q)
        return -ENOMEM;
    memset(q, 0, sizeof *q);
    char *p = (char *)(q + 1);
    if (host) {
        memcpy(p, host, hl);
        q->host = p;
        p += hl;
    }
    if (service) {
        memcpy(p, service, sl);
        q->service = p;
    }
    if (hints) {
        /* Only the fields getaddrinfo reads from hints; its pointers
         * must be NULL anyway. */
        q->hints.ai_flags = hints->ai_flags;
        q->hints.ai_family = hints->ai_family;
        q->hints.ai_socktype = hints->ai_socktype;
        q->hints.ai_protocol = hints->ai_protocol;
        q->hintsp = &q->hints;
    }
    int rc = tulip_run_blocking_ex(lookup_run, q, TULIP_POOL_SLOW, lookup_abandon);
    if (rc < 0) {
        /* Cancelled (abandon owns q now) or never queued (q is ours). */
        if (rc != -ECANCELED && rc != -ETIMEDOUT)
            free(q);
        return rc;
    }
    rc = map_result(q->eai, q->sys_errno);
    if (rc == 0)
        *res = q->res;
    free(q);
    return rc;
}
