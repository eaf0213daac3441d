/* A small Redis client over tulip sockets: hiredis only encodes commands
 * (redisFormatCommandArgv) and parses replies (redisReader); the bytes go
 * through tulip_write_all/tulip_read, so tulip's cancellation and deadlines
 * reach every wait and nothing blocks the loop.
 *
 * One connection, used by one round trip at a time (a tulip_lock): a round
 * trip writes any number of commands in one write (pipelining) and reads
 * their replies in order.  A round trip that fails on the connection (reset,
 * refused, EOF, no answer within the I/O timeout) closes it and is tried
 * again on a new one, with a backoff doubling from 10 ms to 1 s, until the
 * connection has been failing for give_up_ns: then -EHOSTDOWN.  So every
 * command must be safe to send twice (the crawl's scripts are written so).
 * Scripts run by EVALSHA: those registered are loaded (SCRIPT LOAD) on
 * every new connection, and a NOSCRIPT answer (SCRIPT FLUSH on a live
 * connection) is answered by EVAL of the source, which loads it again. */
#ifndef TULIP_CRAWL_REDIS_CLIENT_H
#define TULIP_CRAWL_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

typedef struct crawl_redis crawl_redis;

/* One command: argc arguments, lens[i] bytes each (NULL lens: C strings). */
typedef struct crawl_redis_cmd {
    int argc;
    const char **argv;
    const size_t *lens;
} crawl_redis_cmd;

/* A Lua script: its source and SHA-1 (hex, computed at crawl_redis_script_init). */
typedef struct crawl_redis_script {
    const char *src;
    char sha[41];
} crawl_redis_script;

void crawl_redis_script_init(crawl_redis_script *s, const char *src);

typedef struct crawl_redis_stats {
    uint64_t round_trips, commands, reconnects, failures, noscript;
} crawl_redis_stats;

/* Parse redis://HOST:PORT/DB (PORT default 6379, DB default 0) into
 * addr ("HOST:PORT") and *db.  -EINVAL if malformed. */
int crawl_redis_parse_url(const char *url, char *addr, size_t n, int *db);

/* No I/O yet.  give_up_ns: how long a failing connection is retried.
 * NULL with errno EINVAL or ENOMEM. */
crawl_redis *crawl_redis_new(const char *url, int64_t give_up_ns);
void crawl_redis_free(crawl_redis *r);

/* Load s (SCRIPT LOAD) on every new connection, before any command.  s
 * must outlive r.  Errors: -ENOSPC (8 at most). */
int crawl_redis_add_script(crawl_redis *r, crawl_redis_script *s);

/* Send n commands in one write and read their n replies into out[]
 * (each freed by the caller with freeReplyObject; an error reply is a
 * reply, not a failure).  Must run in a task.
 * Errors: -EHOSTDOWN (Redis unreachable for give_up_ns), -ECANCELED,
 * -ETIMEDOUT (the caller's own scope), -ENOMEM, -EPROTO (a reply hiredis
 * cannot parse). */
int crawl_redis_pipeline(crawl_redis *r, size_t n, const crawl_redis_cmd *cmds, redisReply **out);

/* One command. */
int crawl_redis_command(crawl_redis *r, redisReply **out, int argc, const char **argv, const size_t *lens);

/* EVALSHA s with nkeys keys then args (argv holds both), falling back to
 * EVAL on NOSCRIPT.  The same errors. */
int crawl_redis_eval(crawl_redis *r, crawl_redis_script *s, int nkeys, int argc, const char **argv,
                     const size_t *lens, redisReply **out);

/* Several scripts in one round trip (out[i] for calls[i]); NOSCRIPT
 * answers are run again with EVAL (a second round trip). */
typedef struct crawl_redis_call {
    crawl_redis_script *script;
    int nkeys, argc;
    const char **argv;
    const size_t *lens;
} crawl_redis_call;
int crawl_redis_eval_many(crawl_redis *r, size_t n, const crawl_redis_call *calls, redisReply **out);

const char *crawl_redis_address(const crawl_redis *r);
void crawl_redis_stats_get(const crawl_redis *r, crawl_redis_stats *out);

#endif
