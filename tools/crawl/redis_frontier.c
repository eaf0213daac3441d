#define _GNU_SOURCE
#include "redis_frontier.h"
#include "buf.h"
#include "url.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tulip.h>

/* ---- the scripts ----------------------------------------------------------
 * KEYS[1] is always tulip:{id}:opts, so a Cluster routes the call to the
 * crawl's slot; the other keys share its hash tag.  The prelude reads
 * Redis's clock and defines the host helpers. */
#define PRELUDE \
    "local P = string.sub(KEYS[1], 1, -5)\n" \
    "local t = redis.call('TIME')\n" \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
    "local function ival(h)\n" \
    "  local v = redis.call('HGET', P..'ival', h) or redis.call('GET', P..'delay')\n" \
    "  return tonumber(v or '0')\n" \
    "end\n" \
    "local function nextok(h) return tonumber(redis.call('HGET', P..'next', h) or '0') end\n" \
    /* a host is offered when it has an item and is not busy with a      \
     * request while its interval asks for one at a time */               \
    "local function ready(h)\n" \
    "  if redis.call('LLEN', P..'q:'..h) > 0 and\n" \
    "     (ival(h) == 0 or tonumber(redis.call('HGET', P..'busy', h) or '0') == 0) then\n" \
    "    redis.call('ZADD', P..'ready', nextok(h), h)\n" \
    "  else\n" \
    "    redis.call('ZREM', P..'ready', h)\n" \
    "  end\n" \
    "end\n" \
    "local function unbusy(h)\n" \
    "  if redis.call('HINCRBY', P..'busy', h, -1) <= 0 then redis.call('HDEL', P..'busy', h) end\n" \
    "end\n" \
    /* the front of a queue: the end taken next (BFS the head, DFS the tail) */ \
    "local function front(h, it, dfs)\n" \
    "  if dfs then redis.call('RPUSH', P..'q:'..h, it) else redis.call('LPUSH', P..'q:'..h, it) end\n" \
    "  redis.call('HINCRBY', P..'stats', 'queued', 1)\n" \
    "end\n" \
    "local dfs = redis.call('GET', P..'dfs') == '1'\n"

/* One lease u goes: its URL back to the front of its queue (reap, release). */
#define RELEASE_ONE \
    "  local v = redis.call('HGET', P..'lease', u)\n" \
    "  redis.call('ZREM', P..'leases', u)\n" \
    "  redis.call('HDEL', P..'lease', u)\n" \
    "  if v then\n" \
    "    local tab = string.find(v, '\\t', 1, true)\n" \
    "    local h = string.sub(v, 1, tab - 1)\n" \
    "    front(h, string.sub(v, tab + 1), dfs)\n" \
    "    unbusy(h)\n" \
    "    ready(h)\n" \
    "    redis.call('HINCRBY', P..'stats', KIND, 1)\n" \
    "  end\n"

/* ARGV: options, delay ms, dfs, host, url, item.  1: a new crawl, else
 * the options it has. */
static const char seed_src[] = PRELUDE
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then\n"
    "  redis.call('SET', P..'delay', ARGV[2])\n"
    "  redis.call('SET', P..'dfs', ARGV[3])\n"
    "  if redis.call('SADD', P..'seen', ARGV[5]) == 1 then\n"
    "    redis.call('RPUSH', P..'q:'..ARGV[4], ARGV[6])\n"
    "    redis.call('HINCRBY', P..'stats', 'queued', 1)\n"
    "    redis.call('HSETNX', P..'next', ARGV[4], 0)\n"
    "    ready(ARGV[4])\n"
    "  end\n"
    "  return 1\n"
    "end\n"
    "return redis.call('GET', KEYS[1])\n";

/* ARGV: (url, host, item)...: queued if never seen.  Returns the count. */
static const char discover_src[] = PRELUDE
    "local new = 0\n"
    "local hosts = {}\n"
    "for i = 1, #ARGV, 3 do\n"
    "  if redis.call('SADD', P..'seen', ARGV[i]) == 1 then\n"
    "    redis.call('RPUSH', P..'q:'..ARGV[i+1], ARGV[i+2])\n"
    "    hosts[ARGV[i+1]] = true\n"
    "    new = new + 1\n"
    "  end\n"
    "end\n"
    /* the hosts once each: most of a page's links share one */
    "for h in pairs(hosts) do\n"
    "  redis.call('HSETNX', P..'next', h, 0)\n"
    "  ready(h)\n"
    "end\n"
    "redis.call('HINCRBY', P..'stats', 'queued', new)\n"
    "return new\n";

/* ARGV: n, lease ms, claim token ("worker seq").  Reaps expired leases (their URLs go back to the
 * front of their queues), then leases up to n URLs, one host after the
 * other in order of their next allowed start, each host's clock advanced
 * by its interval.  Returns {status, wait ms, queued, leases, "host\titem"...}:
 * status 0 claimed, 1 nothing ready now (wait: until the first host is,
 * 0 unknown), 2 done (nothing queued or leased), 3 not seeded yet. */
static const char claim_src[] = PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {3, 0, 0, 0} end\n"
    /* the same claim sent again (its answer was lost with the connection,
     * a restarted server had run it): the same answer, so no URL is left
     * leased to nobody until its lease expires */
    "local tok = string.match(ARGV[3], '^[^ ]*')\n"
    "local last = redis.call('GET', P..'claim:'..tok)\n"
    "if last and string.sub(last, 1, #ARGV[3] + 1) == ARGV[3]..' ' then\n"
    "  return cjson.decode(string.sub(last, #ARGV[3] + 2))\n"
    "end\n"
    "local KIND = 'reaped'\n"
    "local exp = redis.call('ZRANGEBYSCORE', P..'leases', '-inf', now, 'LIMIT', 0, 1000)\n"
    "for _, u in ipairs(exp) do\n" RELEASE_ONE "end\n"
    "local out = {0, 0, 0, 0}\n"
    "local n = tonumber(ARGV[1])\n"
    "local lease = tonumber(ARGV[2])\n"
    "local got = 0\n"
    "while got < n do\n"
    "  local hs = redis.call('ZRANGEBYSCORE', P..'ready', '-inf', now, 'LIMIT', 0, 1)\n"
    "  if #hs == 0 then break end\n"
    "  local h = hs[1]\n"
    "  local it\n"
    "  if dfs then it = redis.call('RPOP', P..'q:'..h) else it = redis.call('LPOP', P..'q:'..h) end\n"
    "  if it then\n"
    "    local u = string.match(it, '^[^\\t]*')\n"
    "    redis.call('ZADD', P..'leases', now + lease, u)\n"
    "    redis.call('HSET', P..'lease', u, h..'\\t'..it)\n"
    "    redis.call('HINCRBY', P..'busy', h, 1)\n"
    "    redis.call('HINCRBY', P..'stats', 'queued', -1)\n"
    "    redis.call('HINCRBY', P..'stats', 'claimed', 1)\n"
    /* interval 0: the host goes behind the other ready ones (round robin) */
    "    redis.call('HSET', P..'next', h, now + ival(h))\n"
    "    got = got + 1\n"
    "    out[#out + 1] = h..'\\t'..it\n"
    "  end\n"
    "  ready(h)\n"
    "end\n"
    "local q = tonumber(redis.call('HGET', P..'stats', 'queued') or '0')\n"
    "local l = redis.call('ZCARD', P..'leases')\n"
    "out[3] = q\n"
    "out[4] = l\n"
    "if got == 0 then\n"
    "  if q <= 0 and l == 0 then out[1] = 2 else\n"
    "    out[1] = 1\n"
    "    local first = redis.call('ZRANGE', P..'ready', 0, 0, 'WITHSCORES')\n"
    "    if #first > 0 then out[2] = math.max(1, tonumber(first[2]) - now) end\n"
    "  end\n"
    "end\n"
    "if got > 0 then redis.call('SET', P..'claim:'..tok, ARGV[3]..' '..cjson.encode(out), 'EX', 86400) end\n"
    "return out\n";

/* ARGV: (url, host, wait ms, interval ms, item or "")...: releases each
 * lease still held (a lease reaped meanwhile is someone else's now: that
 * entry is only counted as stale); a non-empty item goes back to the
 * front of the queue.  The host may be asked again wait ms from now.
 * Returns the stale count. */
static const char complete_src[] = PRELUDE
    "local stale = 0\n"
    "for i = 1, #ARGV, 5 do\n"
    "  local u, h = ARGV[i], ARGV[i+1]\n"
    "  if redis.call('ZREM', P..'leases', u) == 1 then\n"
    "    redis.call('HDEL', P..'lease', u)\n"
    "    unbusy(h)\n"
    "    redis.call('HSET', P..'ival', h, ARGV[i+3])\n"
    "    local nx = now + tonumber(ARGV[i+2])\n"
    "    if nx > nextok(h) then redis.call('HSET', P..'next', h, nx) end\n"
    "    if ARGV[i+4] ~= '' then front(h, ARGV[i+4], dfs) else\n"
    "      redis.call('HINCRBY', P..'stats', 'completed', 1)\n"
    "    end\n"
    "    ready(h)\n"
    "  else\n"
    "    stale = stale + 1\n"
    "  end\n"
    "end\n"
    "if stale > 0 then redis.call('HINCRBY', P..'stats', 'stale', stale) end\n"
    "return stale\n";

/* ARGV: url...: leases given up by a process that stops (Ctrl-C, an
 * error): their URLs go back to the front of their queues at once, as a
 * reap does at their expiry. */
static const char release_src[] = PRELUDE
    "local KIND = 'released'\n"
    "for _, u in ipairs(ARGV) do\n" RELEASE_ONE "end\n"
    "return 0\n";

/* ARGV: lease ms, url...: the leases still held are extended. */
static const char renew_src[] = PRELUDE
    "local lease = tonumber(ARGV[1])\n"
    "for i = 2, #ARGV do\n"
    "  if redis.call('ZSCORE', P..'leases', ARGV[i]) then\n"
    "    redis.call('ZADD', P..'leases', now + lease, ARGV[i])\n"
    "  end\n"
    "end\n"
    "return 0\n";

/* --status: {exists, queued, leases, hosts, ready now, waiting, busy,
 * seen, claimed, completed, reaped, stale} */
static const char status_src[] = PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end\n"
    "local s = redis.call('HGETALL', P..'stats')\n"
    "local m = {}\n"
    "for i = 1, #s, 2 do m[s[i]] = tonumber(s[i+1]) end\n"
    "local r = redis.call('ZCOUNT', P..'ready', '-inf', now)\n"
    "return {1, m.queued or 0, redis.call('ZCARD', P..'leases'), redis.call('HLEN', P..'next'), r,\n"
    "        redis.call('ZCARD', P..'ready') - r, redis.call('HLEN', P..'busy'), redis.call('SCARD', P..'seen'),\n"
    "        m.claimed or 0, m.completed or 0, m.reaped or 0, m.stale or 0, m.released or 0}\n";

enum { S_SEED, S_DISCOVER, S_CLAIM, S_COMPLETE, S_RENEW, S_STATUS, S_RELEASE, NSCRIPTS };

static crawl_redis_script scripts[NSCRIPTS];

static void scripts_init(void)
{
    if (scripts[0].src)
        return;
    const char *src[NSCRIPTS] = { seed_src, discover_src, claim_src, complete_src, renew_src, status_src,
                                  release_src };
    for (int i = 0; i < NSCRIPTS; i++)
        crawl_redis_script_init(&scripts[i], src[i]);
}

/* ---- the process's side ---------------------------------------------------- */

/* A list of owned strings, the arguments of one script call. */
typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

static int strv_add(strv *s, char *str)
{
    if (!str)
        return -ENOMEM;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(str);
            return -ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    return 0;
}

static void strv_clear(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

static void strv_free(strv *s)
{
    strv_clear(s);
    free(s->v);
    s->v = NULL;
    s->cap = 0;
}

typedef struct claimed {
    crawl_item it;
} claimed;

struct crawl_rfrontier {
    crawl_redis *r;
    char *opts_key;          /* tulip:{id}:opts */
    const crawl_opts *o;
    int64_t lease_ms;
    crawl_remote remote;
    tulip_lock mu;           /* one flush at a time: the others' entries ride along */
    strv disc, comp;         /* waiting for the next flush */
    uint64_t seq, flushed;   /* completes queued / flushed */
    claimed *buf;            /* claimed, not yet handed to a worker */
    size_t nbuf, capbuf, headbuf;
    strv held;               /* URLs leased to this process (renewed) */
    unsigned want;           /* workers waiting to claim */
    bool done;
    int64_t idle_ns;         /* the poll interval while nothing is ready */
    tulip_task *renewer;
    char worker[48];         /* this process's name in claim tokens */
    uint64_t claims;
    bool claim_unsure;       /* the last claim failed: it may have run */
    void (*on_commit)(void *);
    void *commit_arg;
    crawl_rfrontier_stats st;
};

void crawl_rfrontier_on_commit(crawl_rfrontier *f, void (*fn)(void *), void *arg)
{
    f->on_commit = fn;
    f->commit_arg = arg;
}

static char *item_string(const crawl_item *it)
{
    char *s;
    if (asprintf(&s, "%s\t%d\t%u\t%d\t%s", it->url, it->depth, it->hops, it->sitemap ? 1 : 0,
                 it->parent ? it->parent : "") < 0)
        return NULL;
    return s;
}

/* "host\turl\tdepth\thops\tsitemap\tparent" -> it. */
static int item_parse(const char *s, size_t len, crawl_item *it)
{
    memset(it, 0, sizeof *it);
    const char *end = s + len;
    const char *f[6];
    size_t fl[6];
    for (int i = 0; i < 6; i++) {
        const char *tab = i < 5 ? memchr(s, '\t', (size_t)(end - s)) : NULL;
        if (i < 5 && !tab)
            return -EPROTO;
        f[i] = s;
        fl[i] = (size_t)((tab ? tab : end) - s);
        s = tab ? tab + 1 : end;
    }
    it->url = strndup(f[1], fl[1]);
    it->parent = fl[5] ? strndup(f[5], fl[5]) : NULL;
    if (!it->url || (fl[5] && !it->parent)) {
        free(it->url);
        free(it->parent);
        return -ENOMEM;
    }
    it->depth = atoi(f[2]);
    it->hops = (unsigned)atoi(f[3]);
    it->sitemap = f[4][0] == '1';
    return 0;
}

static void held_drop(crawl_rfrontier *f, const char *url)
{
    for (size_t i = f->held.n; i-- > 0;)
        if (strcmp(f->held.v[i], url) == 0) {
            free(f->held.v[i]);
            f->held.v[i] = f->held.v[--f->held.n];
            return;
        }
}

/* A call of script with KEYS[1] and v's strings as ARGV (*argv: to free
 * after the call).  Errors: -ENOMEM. */
static int call_of(crawl_rfrontier *f, int script, const strv *v, const char ***argv, crawl_redis_call *out)
{
    *argv = malloc((v->n + 1) * sizeof **argv);
    if (!*argv)
        return -ENOMEM;
    (*argv)[0] = f->opts_key;
    memcpy(*argv + 1, v->v, v->n * sizeof **argv);
    *out = (crawl_redis_call){ &scripts[script], 1, (int)v->n + 1, *argv, NULL };
    return 0;
}

static int fmt_i64(strv *s, int64_t v)
{
    char *p;
    return strv_add(s, asprintf(&p, "%" PRId64, v) < 0 ? NULL : p);
}

/* Send what is pending (discoveries first, then completes: a page's links
 * are queued before its lease goes), and claim up to n (0: none) in the
 * same round trip. */
/* pending = taken, then pending (a failed flush's entries go first again). */
static void put_back(strv *taken, strv *pending)
{
    for (size_t i = 0; i < pending->n; i++)
        if (strv_add(taken, pending->v[i]) < 0)
            pending->v[i] = NULL; /* freed by strv_add: that entry is lost */
    free(pending->v);
    *pending = *taken;
    memset(taken, 0, sizeof *taken);
}

static int flush(crawl_rfrontier *f, unsigned n, redisReply **claim_rep)
{
    strv disc = f->disc, comp = f->comp;
    memset(&f->disc, 0, sizeof f->disc);
    memset(&f->comp, 0, sizeof f->comp);
    uint64_t upto = f->seq;
    crawl_redis_call calls[3];
    size_t nc = 0;
    const char *key = f->opts_key;
    const char **dargv = NULL, **cargv = NULL;
    int rc = 0;
    if (disc.n)
        rc = call_of(f, S_DISCOVER, &disc, &dargv, &calls[nc++]);
    if (comp.n && rc == 0)
        rc = call_of(f, S_COMPLETE, &comp, &cargv, &calls[nc++]);
    char nbuf[16], lbuf[24], tok[80];
    snprintf(nbuf, sizeof nbuf, "%u", n);
    snprintf(lbuf, sizeof lbuf, "%" PRId64, f->lease_ms);
    /* a claim that failed (cancelled, Redis away) is sent again with its
     * token: if Redis ran it, the same answer comes back */
    if (n && !f->claim_unsure)
        f->claims++;
    snprintf(tok, sizeof tok, "%s %" PRIu64, f->worker, f->claims);
    const char *clargv[] = { key, nbuf, lbuf, tok };
    if (n && rc == 0)
        calls[nc++] = (crawl_redis_call){ &scripts[S_CLAIM], 1, 4, clargv, NULL };
    redisReply *rep[3] = { 0 };
    if (comp.n && f->on_commit)
        f->on_commit(f->commit_arg);
    if (rc == 0)
        rc = crawl_redis_eval_many(f->r, nc, calls, rep);
    for (size_t i = 0; rc == 0 && i < nc; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "tulip-crawl: redis: %s\n", rep[i]->str);
            rc = -EPROTO;
        }
    if (n)
        f->claim_unsure = rc < 0;
    if (rc < 0) {
        /* the calls may or may not have run: they are all safe to send
         * again, and go first in the next flush */
        put_back(&disc, &f->disc);
        put_back(&comp, &f->comp);
    }
    if (rc == 0) {
        if (comp.n && rep[disc.n ? 1 : 0]->type == REDIS_REPLY_INTEGER)
            f->st.stale += (uint64_t)rep[disc.n ? 1 : 0]->integer;
        f->flushed = upto;
        if (n) {
            *claim_rep = rep[nc - 1];
            rep[nc - 1] = NULL;
        }
    }
    for (size_t i = 0; i < nc; i++)
        if (rep[i])
            freeReplyObject(rep[i]);
    free(dargv);
    free(cargv);
    strv_free(&disc);
    strv_free(&comp);
    return rc;
}

static int r_discover(void *self, const char *host, const crawl_item *it)
{
    crawl_rfrontier *f = self;
    int rc = strv_add(&f->disc, strdup(it->url));
    if (rc == 0)
        rc = strv_add(&f->disc, strdup(host));
    if (rc == 0)
        rc = strv_add(&f->disc, item_string(it));
    if (rc == 0)
        f->st.discovered++;
    return rc;
}

static int r_complete(void *self, const char *host, const crawl_item *it, bool give_back, int64_t wait_ns,
                      int64_t interval_ns)
{
    crawl_rfrontier *f = self;
    int rc = strv_add(&f->comp, strdup(it->url));
    if (rc == 0)
        rc = strv_add(&f->comp, strdup(host));
    if (rc == 0)
        rc = fmt_i64(&f->comp, wait_ns > 0 ? (wait_ns + 999999) / 1000000 : 0);
    if (rc == 0)
        rc = fmt_i64(&f->comp, interval_ns > 0 ? (interval_ns + 999999) / 1000000 : 0);
    if (rc == 0)
        rc = strv_add(&f->comp, give_back ? item_string(it) : strdup(""));
    if (rc < 0)
        return rc;
    held_drop(f, it->url);
    if (give_back)
        f->st.given_back++;
    else
        f->st.completed++;
    /* group commit: whoever flushes next carries this entry too */
    uint64_t mine = ++f->seq;
    rc = tulip_lock_acquire(&f->mu);
    if (rc < 0)
        return rc;
    if (f->flushed < mine)
        rc = flush(f, 0, NULL);
    tulip_lock_release(&f->mu);
    return rc;
}

static bool pop_buffered(crawl_rfrontier *f, crawl_item *it)
{
    if (!f->nbuf)
        return false;
    *it = f->buf[f->headbuf].it;
    f->headbuf = (f->headbuf + 1) % f->capbuf;
    f->nbuf--;
    return true;
}

static int push_buffered(crawl_rfrontier *f, const crawl_item *it)
{
    if (f->nbuf == f->capbuf) {
        size_t cap = f->capbuf ? f->capbuf * 2 : 64;
        claimed *b = malloc(cap * sizeof *b);
        if (!b)
            return -ENOMEM;
        for (size_t i = 0; i < f->nbuf; i++)
            b[i] = f->buf[(f->headbuf + i) % f->capbuf];
        free(f->buf);
        f->buf = b;
        f->capbuf = cap;
        f->headbuf = 0;
    }
    f->buf[(f->headbuf + f->nbuf++) % f->capbuf].it = *it;
    return 0;
}

#define IDLE_MIN TULIP_MS(2)
#define IDLE_MAX TULIP_MS(100)

/* Flush, claim up to n, and buffer what was claimed (leased to us). */
static int claim_flush(crawl_rfrontier *f, unsigned n, int *status, int64_t *wait_ms)
{
    redisReply *rep = NULL;
    int rc = flush(f, n, &rep);
    if (n == 0)
        return rc;
    f->st.claim_calls++;
    if (rc == 0 && (rep->type != REDIS_REPLY_ARRAY || rep->elements < 4))
        rc = -EPROTO;
    if (rc == 0) {
        *status = (int)rep->element[0]->integer;
        *wait_ms = rep->element[1]->integer;
        f->st.queued = rep->element[2]->integer;
        f->st.leases = rep->element[3]->integer;
        for (size_t i = 4; rc == 0 && i < rep->elements; i++) {
            crawl_item c;
            rc = item_parse(rep->element[i]->str, rep->element[i]->len, &c);
            if (rc == 0 && (rc = strv_add(&f->held, strdup(c.url))) == 0)
                rc = push_buffered(f, &c);
            if (rc < 0 && c.url) {
                free(c.url);
                free(c.parent);
            }
            f->st.claimed += rc == 0;
        }
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static int r_claim(void *self, crawl_item *it, int64_t *wake)
{
    crawl_rfrontier *f = self;
    if (pop_buffered(f, it))
        return 1;
    f->want++;
    int rc = tulip_lock_acquire(&f->mu);
    f->want--;
    if (rc < 0)
        return rc;
    if (pop_buffered(f, it)) {
        tulip_lock_release(&f->mu);
        return 1;
    }
    if (f->done) {
        tulip_lock_release(&f->mu);
        return -ESHUTDOWN;
    }
    /* one claim for every worker asking now, a few more in advance */
    unsigned n = f->want + 1 + f->o->concurrency / 8;
    if (n > 256)
        n = 256;
    int status = 1;
    int64_t wait_ms = 0;
    rc = claim_flush(f, n, &status, &wait_ms);
    if (rc == 0 && status == 2)
        f->done = true;
    tulip_lock_release(&f->mu);
    if (rc < 0)
        return rc;
    if (pop_buffered(f, it)) {
        f->idle_ns = IDLE_MIN;
        return 1;
    }
    if (f->done)
        return -ESHUTDOWN;
    /* Nothing ready: ask again when the first host is, or poll, less
     * often the longer it lasts (leases held elsewhere may end at any
     * time, and a reaped one comes back at its expiry). */
    int64_t poll = f->idle_ns;
    f->idle_ns = f->idle_ns * 2 > IDLE_MAX ? IDLE_MAX : f->idle_ns * 2;
    if (wait_ms > 0 && TULIP_MS(wait_ms) < poll)
        poll = TULIP_MS(wait_ms);
    *wake = tulip_now() + poll;
    return 0;
}

/* Renew the leases held every third of their length. */
static int renewer(void *arg)
{
    crawl_rfrontier *f = arg;
    for (;;) {
        if (tulip_sleep(TULIP_MS(f->lease_ms) / 3) < 0)
            return 0;
        if (!f->held.n)
            continue;
        const char **argv = malloc((f->held.n + 2) * sizeof *argv);
        if (!argv)
            continue;
        char lbuf[24];
        snprintf(lbuf, sizeof lbuf, "%" PRId64, f->lease_ms);
        argv[0] = f->opts_key;
        argv[1] = lbuf;
        /* copies: the list changes while the call parks */
        size_t n = f->held.n;
        int rc = 0;
        for (size_t i = 0; i < n; i++)
            if (!(argv[2 + i] = strdup(f->held.v[i])))
                rc = -ENOMEM;
        redisReply *rep = NULL;
        if (rc == 0)
            rc = crawl_redis_eval(f->r, &scripts[S_RENEW], 1, (int)n + 2, argv, NULL, &rep);
        if (rep)
            freeReplyObject(rep);
        for (size_t i = 0; i < n; i++)
            free((char *)argv[2 + i]);
        free(argv);
        if (rc == -ECANCELED)
            return 0;
    }
}

char *crawl_rfrontier_options(const crawl_opts *o)
{
    crawl_buf b = { 0 };
    crawl_buf_printf(&b, "url=%s max-depth=%d max-redirects=%u any-host=%d ignore-robots=%d order=%s "
                         "delay-ms=%" PRId64 " user-agent=%s sitemap=%s",
                     o->url, o->max_depth, o->max_redirects, o->any_host, o->ignore_robots, o->dfs ? "dfs" : "bfs",
                     o->delay_ns / 1000000, o->user_agent, o->sitemap ? o->sitemap : "-");
    return crawl_buf_steal(&b);
}

crawl_rfrontier *crawl_rfrontier_new(crawl_redis *r, const char *id, const crawl_opts *o)
{
    scripts_init();
    crawl_rfrontier *f = calloc(1, sizeof *f);
    if (!f || asprintf(&f->opts_key, "tulip:{%s}:opts", id) < 0) {
        free(f);
        errno = ENOMEM;
        return NULL;
    }
    for (int i = 0; i < NSCRIPTS; i++)
        crawl_redis_add_script(r, &scripts[i]);
    f->r = r;
    f->o = o;
    f->lease_ms = 2 * (o->timeout_ns / 1000000);
    if (f->lease_ms < 100)
        f->lease_ms = 100;
    f->idle_ns = IDLE_MIN;
    char host[32] = "";
    gethostname(host, sizeof host - 1);
    snprintf(f->worker, sizeof f->worker, "%s/%ld/%" PRIx64, host, (long)getpid(), (uint64_t)tulip_now() & 0xffffff);
    for (char *p = f->worker; *p; p++)
        if (*p == ' ')
            *p = '_';
    f->remote = (crawl_remote){ f, r_discover, r_claim, r_complete };
    tulip_lock_init(&f->mu);
    return f;
}

int crawl_rfrontier_open(crawl_rfrontier *f, const char *options, char *err, size_t errlen)
{
    char *start;
    int rc = crawl_url_normalize(f->o->url, &start);
    if (rc < 0) {
        snprintf(err, errlen, "'%s' is not an http(s) URL", f->o->url);
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    const char *auth;
    size_t alen;
    char *host = NULL, *item = NULL;
    if (crawl_url_canonical_authority(start, &auth, &alen, NULL) == 0)
        host = strndup(start, (size_t)(auth + alen - start));
    crawl_item it = { .url = start };
    item = item_string(&it);
    char delay[24];
    snprintf(delay, sizeof delay, "%" PRId64, f->o->delay_ns / 1000000);
    redisReply *rep = NULL;
    rc = host && item ? 0 : -ENOMEM;
    if (rc == 0) {
        const char *argv[] = { f->opts_key, options, delay, f->o->dfs ? "1" : "0", host, start, item };
        rc = crawl_redis_eval(f->r, &scripts[S_SEED], 1, 7, argv, NULL, &rep);
    }
    if (rc == 0 && rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis: %s", rep->str);
        rc = -EPROTO;
    } else if (rc == 0 && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, options) != 0) {
        snprintf(err, errlen, "crawl %s has other options:\n  theirs: %s\n  ours:   %s", f->opts_key, rep->str,
                 options);
        rc = -EEXIST;
    } else if (rc < 0) {
        snprintf(err, errlen, "redis at %s: %s", crawl_redis_address(f->r),
                 rc == -EHOSTDOWN ? "unreachable" : tulip_strerror(rc));
    }
    if (rep)
        freeReplyObject(rep);
    free(start);
    free(host);
    free(item);
    if (rc == 0 && !(f->renewer = tulip_spawn(renewer, f)))
        rc = -ENOMEM;
    return rc;
}

const crawl_remote *crawl_rfrontier_remote(crawl_rfrontier *f) { return &f->remote; }

void crawl_rfrontier_stats_get(const crawl_rfrontier *f, crawl_rfrontier_stats *out) { *out = f->st; }

void crawl_rfrontier_close(crawl_rfrontier *f)
{
    if (!f || !f->renewer)
        return;
    tulip_scope s;
    tulip_scope_enter_shielded(&s, tulip_now() + TULIP_SEC(2));
    tulip_cancel(f->renewer);
    tulip_join(f->renewer);
    f->renewer = NULL;
    /* A process that stops with URLs leased (Ctrl-C, an error) gives them
     * back now rather than at their expiry, if Redis answers within 2 s:
     * first what a cancelled round trip left unsure (discoveries,
     * completes, and a claim, whose answer comes again by its token),
     * then every lease held. */
    if (f->disc.n || f->comp.n || f->claim_unsure) {
        int status;
        int64_t wait_ms;
        claim_flush(f, f->claim_unsure ? 1 : 0, &status, &wait_ms);
    }
    if (f->held.n) {
        const char **argv = NULL;
        crawl_redis_call call;
        redisReply *rep = NULL;
        if (call_of(f, S_RELEASE, &f->held, &argv, &call) == 0 &&
            crawl_redis_eval_many(f->r, 1, &call, &rep) == 0)
            f->st.released = f->held.n;
        if (rep)
            freeReplyObject(rep);
        free(argv);
    }
    tulip_scope_exit(&s);
}

void crawl_rfrontier_free(crawl_rfrontier *f)
{
    if (!f)
        return;
    crawl_item it;
    while (pop_buffered(f, &it)) {
        free(it.url);
        free(it.parent);
    }
    free(f->buf);
    strv_free(&f->disc);
    strv_free(&f->comp);
    strv_free(&f->held);
    free(f->opts_key);
    free(f);
}

int crawl_rfrontier_counts_get(crawl_redis *r, const char *id, crawl_rfrontier_counts *out)
{
    scripts_init();
    char *key;
    if (asprintf(&key, "tulip:{%s}:opts", id) < 0)
        return -ENOMEM;
    redisReply *rep = NULL;
    const char *argv[] = { key };
    int rc = crawl_redis_eval(r, &scripts[S_STATUS], 1, 1, argv, NULL, &rep);
    if (rc == 0 && (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1))
        rc = -EPROTO;
    if (rc == 0 && rep->element[0]->integer == 0)
        rc = -ENOENT;
    if (rc == 0 && rep->elements < 13)
        rc = -EPROTO;
    if (rc == 0) {
        long long v[13];
        for (int i = 0; i < 13; i++)
            v[i] = rep->element[i]->integer;
        *out = (crawl_rfrontier_counts){ v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12] };
    }
    if (rep)
        freeReplyObject(rep);
    free(key);
    return rc;
}

int crawl_rfrontier_status(crawl_redis *r, const char *id, FILE *out)
{
    crawl_rfrontier_counts c;
    int rc = crawl_rfrontier_counts_get(r, id, &c);
    if (rc == 0)
        fprintf(out,
                "crawl %s on %s\n"
                "  queue     %lld URLs\n"
                "  leases    %lld URLs in flight\n"
                "  hosts     %lld known, %lld ready now, %lld waiting for their delay, %lld busy\n"
                "  seen      %lld URLs\n"
                "  done      %lld claimed, %lld completed, %lld reaped (leases expired), %lld released, "
                "%lld stale completes\n"
                "  state     %s\n",
                id, crawl_redis_address(r), c.queued, c.leases, c.hosts, c.ready, c.waiting, c.busy, c.seen,
                c.claimed, c.completed, c.reaped, c.released, c.stale,
                c.queued <= 0 && c.leases == 0 ? "finished" : "running");
    return rc;
}
