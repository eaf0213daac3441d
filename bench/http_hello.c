/* tulip's HTTP server answering "Hello, World!" for wrk.
 *   http_hello [port] [seconds] [loops] [reuseport|shared|default]
 * Serves on 127.0.0.1:port (default 8080) until SIGINT, or for the given
 * number of seconds (so scripted runs always end). With loops > 1 it
 * serves on that many loops (tulip_http_workers_*), listening as asked:
 * one SO_REUSEPORT listener per loop, one listener every loop waits on
 * with EPOLLEXCLUSIVE, or (default) the library's choice for the backend.
 * docs/perf-http.md and docs/PERFORMANCE.md have the commands and figures. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "tulip.h"

static int hello(void *arg, const tulip_http_request_view *req, tulip_http_responder *res)
{
    (void)arg;
    (void)req;
    return tulip_http_respond(res, 200, "text/plain", "Hello, World!", 13);
}

struct opts {
    const char *port;
    int seconds;
    int loops;
    unsigned flags;
    tulip_http_server_opts http;
};

/* One server on this loop, or one per loop: the same few calls. */
struct server {
    tulip_http_server *one;
    tulip_http_workers *many;
};

static int server_listen(struct server *s, const struct opts *o, const char *addr)
{
    if (o->loops > 1) {
        s->many = tulip_http_workers_new(&o->http, hello, NULL, (unsigned)o->loops, o->flags);
        return s->many ? tulip_http_workers_listen(s->many, addr) : -errno;
    }
    s->one = tulip_http_server_new(&o->http, hello, NULL);
    return s->one ? tulip_http_server_listen(s->one, addr) : -errno;
}

static void server_free(struct server *s)
{
    tulip_http_workers_free(s->many);
    tulip_http_server_free(s->one);
}

static int main_task(void *arg)
{
    struct opts *o = arg;
    struct server s = { 0 };
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%s", o->port);
    int rc = server_listen(&s, o, addr);
    if (rc < 0) {
        fprintf(stderr, "listen %s: %s\n", addr, tulip_strerror(rc));
        server_free(&s);
        return rc;
    }
    unsigned how = s.many ? tulip_http_workers_listener(s.many) : 0;
    fprintf(stderr, "serving on http://%s/ on %d loop(s)%s%s\n", addr, o->loops,
            how == TULIP_HTTP_SHARED_LISTENER ? ", one shared listener"
            : how == TULIP_HTTP_REUSEPORT ? ", SO_REUSEPORT" : "",
            o->loops > 1 && !o->flags ? " (the default)" : "");
    tulip_task *t = s.many ? tulip_spawn(tulip_http_workers_task, s.many) : tulip_spawn(tulip_http_server_task, s.one);
    if (o->seconds > 0)
        tulip_sleep(TULIP_SEC(o->seconds));
    else
        tulip_sleep(TULIP_FOREVER);
    tulip_http_server_stats st = { 0 };
    if (s.many) {
        tulip_http_workers_stats_get(s.many, &st);
        tulip_http_workers_shutdown(s.many);
    } else {
        tulip_http_server_shutdown(s.one);
        tulip_http_server_stats_get(s.one, &st);
    }
    /* After SIGINT this task is cancelled: shield the join so the server
     * is not freed while its connections still unwind. */
    tulip_scope sc;
    tulip_scope_enter_shielded(&sc, TULIP_FOREVER);
    rc = tulip_join(t);
    tulip_scope_exit(&sc);
    fprintf(stderr, "%llu requests on %llu connections\n", (unsigned long long)st.requests,
            (unsigned long long)st.connections);
    server_free(&s);
    return rc == -ECANCELED ? 0 : rc;
}

int main(int argc, char **argv)
{
    struct opts o = {argc > 1 ? argv[1] : "8080", argc > 2 ? atoi(argv[2]) : 0, argc > 3 ? atoi(argv[3]) : 1,
                     argc <= 4 ? 0 : argv[4][0] == 's' ? TULIP_HTTP_SHARED_LISTENER
                                   : argv[4][0] == 'r' ? TULIP_HTTP_REUSEPORT : 0};
    /* Requests per connection as bench/peers/nginx.conf.in allows
     * (keepalive_requests), so that no server reconnects more often. */
    tulip_http_server_opts_init(&o.http);
    o.http.max_requests = 1000000;
    tulip_config cfg;
    tulip_config_init(&cfg);
    if (o.loops > 1)
        cfg.workers = o.loops;
    int rc = tulip_run_ex(main_task, &o, &cfg);
    return rc < 0 ? 1 : 0;
}
