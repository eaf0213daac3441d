/* --compare, mode "processes": a pool of worker processes, each doing one
 * blocking fetch at a time, fed URLs by the parent, as Python's
 * multiprocessing.Pool does.  The parent keeps the frontier, hands a URL
 * to an idle worker over a socketpair, and waits in poll() for any answer;
 * a worker fetches with the sequential mode's code, extracts the links
 * (the CPU part, in parallel across workers) and sends back the status,
 * the Location and the links.  The price: a process (an address space,
 * copied on write from the parent) per request in flight, and every
 * result serialised through a pipe.
 *
 * Frames on the socketpair: a 4-byte length (host order) and that many
 * bytes.  Parent -> worker: the URL.  Worker -> parent: the fetch's rc and
 * the status (4 bytes each), then NUL-terminated strings: the Location
 * ("" for none) and each link.
 *
 * Every path ends with every worker reaped: a worker exits when its
 * socket reaches EOF; on a failure the parent kills it first.  A worker
 * that dies fails the mode (-ECHILD, or -EPIPE when it was idle) rather
 * than being replaced: a comparison with a missing page means nothing. */
#define _GNU_SOURCE
#include "compare_base.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A frame larger than this is a protocol error (a page's links are cut
 * at CRAWL_MAX_TAGS tags, so a real answer stays well below). */
#define FRAME_MAX ((uint32_t)64 << 20)

typedef struct worker {
    pid_t pid;
    int fd;               /* the parent's end */
    bool busy;
    crawl_cmp_item it;    /* the URL it is fetching */
    crawl_buf in;         /* the answer so far */
} worker;

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read exactly n bytes; 1 at a clean EOF before the first byte. */
static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, c + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return got == 0 ? 1 : -EPIPE;
        got += (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, const crawl_buf *b)
{
    uint32_t len = (uint32_t)b->len;
    int rc = write_all(fd, &len, sizeof len);
    return rc ? rc : write_all(fd, b->data ? b->data : "", b->len);
}

/* ---- the worker ------------------------------------------------------------ */

static int answer(const char *url, const char *ua, crawl_buf *out)
{
    crawl_raw r;
    crawl_raw_init(&r, CRAWL_CMP_MAX_BODY);
    int32_t rc = crawl_raw_get(url, ua, CRAWL_CMP_TIMEOUT_MS, &r);
    crawl_cmp_item it = { .url = (char *)url };
    crawl_links l;
    crawl_cmp_parse(&it, rc, &r, &l);
    int32_t status = rc == 0 ? r.status : 0;
    const char *loc = rc == 0 && r.location ? r.location : "";
    out->len = 0;
    int e = crawl_buf_append(out, &rc, sizeof rc);
    if (!e)
        e = crawl_buf_append(out, &status, sizeof status);
    if (!e)
        e = crawl_buf_append(out, loc, strlen(loc) + 1);
    for (size_t i = 0; i < l.n && !e; i++)
        e = crawl_buf_append(out, l.urls[i], strlen(l.urls[i]) + 1);
    crawl_links_free(&l);
    crawl_raw_free(&r);
    return e;
}

/* The worker's life: a URL in, an answer out, until EOF.  Never returns. */
static _Noreturn void work(int fd, const char *ua)
{
    crawl_buf url = { 0 }, out = { 0 };
    int code = 0;
    for (;;) {
        uint32_t len;
        int rc = read_all(fd, &len, sizeof len);
        if (rc == 1)
            break; /* the parent is done with us */
        if (rc < 0 || len > FRAME_MAX || crawl_buf_reserve(&url, len) < 0) {
            code = 1;
            break;
        }
        if (read_all(fd, url.data, len) != 0) {
            code = 1;
            break;
        }
        url.data[len] = '\0';
        url.len = len;
        if (answer(url.data, ua, &out) < 0 || send_frame(fd, &out) < 0) {
            code = 1;
            break;
        }
    }
    crawl_buf_free(&url);
    crawl_buf_free(&out);
    _exit(code); /* not exit(): the parent's atexit handlers and stdio buffers are not ours */
}

/* ---- the parent ---------------------------------------------------------- */

/* Private memory of a worker (kB): what it costs beyond the pages it
 * shares with the parent.  0 when the kernel does not say. */
static long private_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Private_Clean:", 14) == 0 || strncmp(line, "Private_Dirty:", 14) == 0)
            kb += atol(line + 14);
    fclose(f);
    return kb;
}

/* Take a complete answer out of w->in, if there is one, and commit it. */
static int take(crawl_cmp_base *b, worker *w)
{
    uint32_t len;
    if (w->in.len < sizeof len)
        return 0;
    memcpy(&len, w->in.data, sizeof len);
    if (len > FRAME_MAX || len < 2 * sizeof(int32_t) + 1)
        return -EBADMSG;
    if (w->in.len < sizeof len + len)
        return 0;
    if (w->in.len > sizeof len + len)
        return -EBADMSG; /* one question, one answer */
    const char *p = w->in.data + sizeof len, *end = p + len;
    if (end[-1] != '\0')
        return -EBADMSG;
    int32_t rc, status;
    memcpy(&rc, p, sizeof rc);
    memcpy(&status, p + sizeof rc, sizeof status);
    p += 2 * sizeof(int32_t);
    const char *location = *p ? p : NULL;
    p += strlen(p) + 1;
    crawl_links l;
    memset(&l, 0, sizeof l);
    size_t n = 0;
    for (const char *q = p; q < end; q += strlen(q) + 1)
        n++;
    l.urls = n ? calloc(n, sizeof *l.urls) : NULL;
    if (n && !l.urls)
        return -ENOMEM;
    for (; p < end; p += strlen(p) + 1)
        if (!(l.urls[l.n++] = strdup(p))) {
            crawl_links_free(&l);
            return -ENOMEM;
        }
    crawl_cmp_commit(b, &w->it, rc, status, location, &l); /* frees it.url and l */
    w->busy = false;
    w->in.len = 0;
    return 1;
}

static int start(worker *ws, unsigned n, unsigned *started, const char *ua)
{
    for (unsigned i = 0; i < n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            return -errno;
        pid_t pid = fork();
        if (pid < 0) {
            int e = -errno;
            close(sv[0]);
            close(sv[1]);
            return e;
        }
        if (pid == 0) {
            /* The earlier workers' parent ends, inherited: close them, or
             * those workers would never see EOF. */
            for (unsigned k = 0; k < i; k++)
                close(ws[k].fd);
            close(sv[0]);
            work(sv[1], ua);
        }
        close(sv[1]);
        ws[i].pid = pid;
        ws[i].fd = sv[0];
        *started = i + 1;
    }
    return 0;
}

/* Reap every worker: EOF ends an idle one; a failed run kills them all
 * first (a busy worker could sit in a fetch for the whole timeout). */
static void stop(worker *ws, unsigned started, bool kill_them)
{
    for (unsigned i = 0; i < started; i++) {
        if (kill_them)
            kill(ws[i].pid, SIGKILL);
        close(ws[i].fd);
    }
    for (unsigned i = 0; i < started; i++) {
        while (waitpid(ws[i].pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (ws[i].busy)
            free(ws[i].it.url);
        crawl_buf_free(&ws[i].in);
    }
}

static int run(crawl_cmp_base *b, worker *ws, unsigned n, struct pollfd *pf, unsigned *slot, long *extra_kb)
{
    for (;;) {
        /* hand every idle worker a URL */
        for (unsigned i = 0; i < n; i++) {
            if (ws[i].busy)
                continue;
            crawl_cmp_item it;
            if (!crawl_cmp_pop(b, &it))
                break;
            ws[i].it = it;
            ws[i].busy = true;
            crawl_buf u = { .data = it.url, .len = strlen(it.url) };
            int rc = send_frame(ws[i].fd, &u);
            if (rc < 0)
                return rc;
        }
        unsigned np = 0;
        for (unsigned i = 0; i < n; i++)
            if (ws[i].busy) {
                pf[np] = (struct pollfd){ .fd = ws[i].fd, .events = POLLIN };
                slot[np++] = i;
            }
        if (np == 0)
            break; /* nothing in flight and nothing queued: done */
        if (poll(pf, np, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (unsigned k = 0; k < np; k++) {
            if (!pf[k].revents)
                continue;
            worker *w = &ws[slot[k]];
            int rc = crawl_buf_reserve(&w->in, 65536);
            if (rc < 0)
                return rc;
            ssize_t r = read(w->fd, w->in.data + w->in.len, 65536);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return r < 0 ? -errno : -ECHILD; /* a worker died */
            w->in.len += (size_t)r;
            rc = take(b, w);
            if (rc < 0)
                return rc;
        }
    }
    for (unsigned i = 0; i < n; i++)
        *extra_kb += private_kb(ws[i].pid);
    return b->t.fatal;
}

int crawl_cmp_processes(crawl_cmp_base *b, unsigned n, long *extra_rss_kb)
{
    *extra_rss_kb = 0;
    worker *ws = calloc(n, sizeof *ws);
    struct pollfd *pf = calloc(n, sizeof *pf);
    unsigned *slot = calloc(n, sizeof *slot);
    unsigned started = 0;
    int rc = ws && pf && slot ? start(ws, n, &started, b->ua) : -ENOMEM;
    if (rc == 0)
        rc = run(b, ws, n, pf, slot, extra_rss_kb);
    if (ws)
        stop(ws, started, rc < 0);
    free(ws);
    free(pf);
    free(slot);
    return rc;
}
