#define _GNU_SOURCE
#include "redis_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tulip.h>

#define BACKOFF_MIN TULIP_MS(10)
#define BACKOFF_MAX TULIP_SEC(1)

struct crawl_redis {
    char addr[300];
    int db;
    int fd;                 /* -1: not connected */
    redisReader *rd;
    tulip_lock mu;          /* one round trip at a time */
    int64_t give_up_ns;
    int64_t io_ns;          /* one attempt at a round trip */
    int64_t failing_since;  /* 0: the last round trip worked */
    int64_t backoff;
    crawl_redis_stats st;
    crawl_redis_script *scripts[8]; /* loaded on every new connection */
    size_t nscripts;
};

int crawl_redis_add_script(crawl_redis *r, crawl_redis_script *s)
{
    if (r->nscripts == sizeof r->scripts / sizeof r->scripts[0])
        return -ENOSPC;
    r->scripts[r->nscripts++] = s;
    return 0;
}

void crawl_redis_script_init(crawl_redis_script *s, const char *src)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    s->src = src;
    EVP_Digest(src, strlen(src), md, &len, EVP_sha1(), NULL);
    for (unsigned i = 0; i < 20 && i < len; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    s->sha[40] = '\0';
}

int crawl_redis_parse_url(const char *url, char *addr, size_t n, int *db)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) == 0)
        p += 8;
    const char *slash = strchr(p, '/');
    size_t hlen = slash ? (size_t)(slash - p) : strlen(p);
    *db = 0;
    if (slash && slash[1]) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (*end || v < 0 || v > 65535)
            return -EINVAL;
        *db = (int)v;
    }
    if (hlen == 0 || hlen + 8 > n)
        return -EINVAL;
    const char *colon = memrchr(p, ':', hlen);
    if (colon && memchr(p, ']', hlen) && colon < (const char *)memchr(p, ']', hlen))
        colon = NULL; /* [v6] without a port */
    if (colon)
        snprintf(addr, n, "%.*s", (int)hlen, p);
    else
        snprintf(addr, n, "%.*s:6379", (int)hlen, p);
    return 0;
}

crawl_redis *crawl_redis_new(const char *url, int64_t give_up_ns)
{
    crawl_redis *r = calloc(1, sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    if (!url || crawl_redis_parse_url(url, r->addr, sizeof r->addr, &r->db) < 0 || give_up_ns <= 0) {
        free(r);
        errno = EINVAL;
        return NULL;
    }
    r->fd = -1;
    r->give_up_ns = give_up_ns;
    /* a round trip is a few scripts over loopback or a LAN: an answer
     * that takes seconds is a server gone away */
    r->io_ns = give_up_ns < TULIP_SEC(5) ? give_up_ns : TULIP_SEC(5);
    r->backoff = BACKOFF_MIN;
    tulip_lock_init(&r->mu);
    return r;
}

static void disconnect(crawl_redis *r)
{
    if (r->fd >= 0)
        tulip_close(r->fd);
    r->fd = -1;
    if (r->rd)
        redisReaderFree(r->rd);
    r->rd = NULL;
}

void crawl_redis_free(crawl_redis *r)
{
    if (!r)
        return;
    disconnect(r);
    free(r);
}

const char *crawl_redis_address(const crawl_redis *r) { return r->addr; }
void crawl_redis_stats_get(const crawl_redis *r, crawl_redis_stats *out) { *out = r->st; }

static void free_replies(redisReply **out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (out[i])
            freeReplyObject(out[i]);
        out[i] = NULL;
    }
}

/* Read n replies.  0, a connection error, or -EPROTO. */
static int read_replies(crawl_redis *r, size_t n, redisReply **out)
{
    char buf[16384];
    size_t got = 0;
    while (got < n) {
        void *rep = NULL;
        if (redisReaderGetReply(r->rd, &rep) != REDIS_OK)
            return -EPROTO;
        if (rep) {
            out[got++] = rep;
            continue;
        }
        ssize_t k = tulip_read(r->fd, buf, sizeof buf);
        if (k == 0)
            return -ECONNRESET;
        if (k < 0)
            return (int)k;
        if (redisReaderFeed(r->rd, buf, (size_t)k) != REDIS_OK)
            return -EPROTO;
    }
    return 0;
}

/* A server starting up answers every command so until it has read its
 * data (AOF or RDB): nothing ran, try again. */
static bool loading(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "LOADING", 7) == 0;
}

/* One setup command on a new connection; an error reply is -EINVAL. */
static int setup(crawl_redis *r, int argc, const char **argv)
{
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
    if (len < 0)
        return -ENOMEM;
    ssize_t w = tulip_write_all(r->fd, cmd, (size_t)len, NULL);
    redisFreeCommand(cmd);
    if (w < 0)
        return (int)w;
    redisReply *rep = NULL;
    int rc = read_replies(r, 1, &rep);
    if (rc == 0 && rep->type == REDIS_REPLY_ERROR)
        rc = loading(rep) ? -EAGAIN : -EINVAL;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Connect, SELECT the database, and load every script: a batch of
 * EVALSHA then never meets NOSCRIPT half-way (which would run its
 * scripts out of order) after a server restart, which always breaks the
 * connection first. */
static int connect_once(crawl_redis *r)
{
    int fd = tulip_dial("tcp", r->addr);
    if (fd < 0)
        return fd;
    r->fd = fd;
    r->rd = redisReaderCreate();
    if (!r->rd)
        return -ENOMEM;
    int rc = 0;
    if (r->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->db);
        rc = setup(r, 2, (const char *[]){ "SELECT", db });
    }
    for (size_t i = 0; rc == 0 && i < r->nscripts; i++)
        rc = setup(r, 3, (const char *[]){ "SCRIPT", "LOAD", r->scripts[i]->src });
    if (rc == 0)
        r->st.reconnects++;
    return rc;
}

/* One attempt: connect if needed, write, read. */
static int attempt(crawl_redis *r, const char *buf, size_t len, size_t n, redisReply **out)
{
    int rc = 0;
    if (r->fd < 0)
        rc = connect_once(r);
    if (rc == 0) {
        ssize_t w = tulip_write_all(r->fd, buf, len, NULL);
        rc = w < 0 ? (int)w : read_replies(r, n, out);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (loading(out[i]))
            rc = -EAGAIN;
    return rc;
}

int crawl_redis_pipeline(crawl_redis *r, size_t n, const crawl_redis_cmd *cmds, redisReply **out)
{
    memset(out, 0, n * sizeof *out);
    if (n == 0)
        return 0;
    /* all commands in one buffer: one write */
    size_t len = 0, cap = 0;
    char *buf = NULL;
    for (size_t i = 0; i < n; i++) {
        char *cmd;
        int k = redisFormatCommandArgv(&cmd, cmds[i].argc, cmds[i].argv, cmds[i].lens);
        if (k < 0) {
            free(buf);
            return -ENOMEM;
        }
        if (len + (size_t)k > cap) {
            size_t nc = (len + (size_t)k) * 2;
            char *nb = realloc(buf, nc);
            if (!nb) {
                redisFreeCommand(cmd);
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap = nc;
        }
        memcpy(buf + len, cmd, (size_t)k);
        len += (size_t)k;
        redisFreeCommand(cmd);
    }
    int rc = tulip_lock_acquire(&r->mu);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    for (;;) {
        tulip_scope s;
        tulip_scope_enter_timeout(&s, r->io_ns);
        rc = attempt(r, buf, len, n, out);
        int mine = tulip_scope_exit(&s);
        if (rc == 0)
            break;
        free_replies(out, n);
        /* the connection's state is unknown after any failure */
        disconnect(r);
        if ((rc == -ECANCELED || rc == -ETIMEDOUT) && mine == 0)
            break; /* the caller's cancellation or deadline */
        if (rc == -ENOMEM || rc == -EPROTO || rc == -EINVAL)
            break;
        r->st.failures++;
        int64_t now = tulip_now();
        if (!r->failing_since)
            r->failing_since = now;
        if (now - r->failing_since >= r->give_up_ns) {
            rc = -EHOSTDOWN;
            break;
        }
        int64_t left = r->failing_since + r->give_up_ns - now;
        rc = tulip_sleep(r->backoff < left ? r->backoff : left);
        r->backoff = r->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : r->backoff * 2;
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        r->failing_since = 0;
        r->backoff = BACKOFF_MIN;
        r->st.round_trips++;
        r->st.commands += n;
    }
    tulip_lock_release(&r->mu);
    free(buf);
    return rc;
}

int crawl_redis_command(crawl_redis *r, redisReply **out, int argc, const char **argv, const size_t *lens)
{
    crawl_redis_cmd c = { argc, argv, lens };
    return crawl_redis_pipeline(r, 1, &c, out);
}

static bool noscript(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

/* calls[i] as EVALSHA (or EVAL: src) commands in cmds[i]. */
static int build(const crawl_redis_call *c, bool src, crawl_redis_cmd *cmd)
{
    int argc = c->argc + 3;
    const char **argv = malloc((size_t)argc * sizeof *argv);
    size_t *lens = malloc((size_t)argc * sizeof *lens);
    char *nk = malloc(16);
    if (!argv || !lens || !nk) {
        free(argv);
        free(lens);
        free(nk);
        return -ENOMEM;
    }
    snprintf(nk, 16, "%d", c->nkeys);
    argv[0] = src ? "EVAL" : "EVALSHA";
    argv[1] = src ? c->script->src : c->script->sha;
    argv[2] = nk;
    for (int i = 0; i < 3; i++)
        lens[i] = strlen(argv[i]);
    for (int i = 0; i < c->argc; i++) {
        argv[3 + i] = c->argv[i];
        lens[3 + i] = c->lens ? c->lens[i] : strlen(c->argv[i]);
    }
    *cmd = (crawl_redis_cmd){ argc, argv, lens };
    return 0;
}

static void unbuild(crawl_redis_cmd *cmd, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!cmd[i].argv)
            continue;
        free((char *)cmd[i].argv[2]);
        free(cmd[i].argv);
        free((size_t *)cmd[i].lens);
        cmd[i].argv = NULL;
    }
}

int crawl_redis_eval_many(crawl_redis *r, size_t n, const crawl_redis_call *calls, redisReply **out)
{
    crawl_redis_cmd *cmd = calloc(n ? n : 1, sizeof *cmd);
    if (!cmd)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = build(&calls[i], false, &cmd[i]);
    if (rc == 0)
        rc = crawl_redis_pipeline(r, n, cmd, out);
    unbuild(cmd, n);
    /* a restarted server forgot the scripts: EVAL loads them again */
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!noscript(out[i]))
            continue;
        r->st.noscript++;
        freeReplyObject(out[i]);
        out[i] = NULL;
        rc = build(&calls[i], true, &cmd[i]);
        if (rc == 0)
            rc = crawl_redis_pipeline(r, 1, &cmd[i], &out[i]);
        unbuild(&cmd[i], 1);
    }
    if (rc < 0)
        free_replies(out, n);
    free(cmd);
    return rc;
}

int crawl_redis_eval(crawl_redis *r, crawl_redis_script *s, int nkeys, int argc, const char **argv,
                     const size_t *lens, redisReply **out)
{
    crawl_redis_call c = { s, nkeys, argc, argv, lens };
    return crawl_redis_eval_many(r, 1, &c, out);
}
