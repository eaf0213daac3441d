/* tulip's HTTP server answering "Hello, World!" for wrk.
 *   http_hello [port] [seconds] [loops] [reuseport|shared]
 * Serves on 127.0.0.1:port (default 8080) until SIGINT, or for the given
 * number of seconds (so scripted runs always end). With loops > 1 it
 * serves on that many loops (tulip_http_workers_*), each with its own
 * SO_REUSEPORT listener, or with "shared" one listener every loop waits on
 * with EPOLLEXCLUSIVE. docs/perf-http.md and docs/PERFORMANCE.md have the
 * commands and figures. */
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
};

static int main_workers(struct opts *o)
{
    tulip_http_workers *w = tulip_http_workers_new(NULL, hello, NULL, (unsigned)o->loops, o->flags);
    if (!w)
        return -errno;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%s", o->port);
    int rc = tulip_http_workers_listen(w, addr);
    if (rc < 0) {
        fprintf(stderr, "listen %s: %s\n", addr, tulip_strerror(rc));
        tulip_http_workers_free(w);
        return rc;
    }
    fprintf(stderr, "serving on http://%s/ with %d loops (%s)\n", addr, o->loops,
            o->flags ? "one shared listener, EPOLLEXCLUSIVE" : "SO_REUSEPORT");
    tulip_task *t = tulip_spawn(tulip_http_workers_task, w);
    tulip_sleep(o->seconds > 0 ? TULIP_SEC(o->seconds) : TULIP_FOREVER);
    tulip_http_server_stats st = { 0 };
    tulip_http_workers_stats_get(w, &st);
    tulip_http_workers_shutdown(w);
    tulip_scope sc;
    tulip_scope_enter_shielded(&sc, TULIP_FOREVER);
    rc = tulip_join(t);
    tulip_scope_exit(&sc);
    fprintf(stderr, "%llu requests on %llu connections\n", (unsigned long long)st.requests,
            (unsigned long long)st.connections);
    tulip_http_workers_free(w);
    return rc == -ECANCELED ? 0 : rc;
}

static int main_task(void *arg)
{
    struct opts *o = arg;
    if (o->loops > 1)
        return main_workers(o);
    tulip_http_server *srv = tulip_http_server_new(NULL, hello, NULL);
    if (!srv)
        return -errno;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%s", o->port);
    int rc = tulip_http_server_listen(srv, addr);
    if (rc < 0) {
        fprintf(stderr, "listen %s: %s\n", addr, tulip_strerror(rc));
        tulip_http_server_free(srv);
        return rc;
    }
    fprintf(stderr, "serving on http://%s/\n", addr);
    tulip_task *t = tulip_spawn(tulip_http_server_task, srv);
    if (o->seconds > 0)
        tulip_sleep(TULIP_SEC(o->seconds));
    else
        tulip_sleep(TULIP_FOREVER);
    tulip_http_server_shutdown(srv);
    tulip_http_server_stats st;
    tulip_http_server_stats_get(srv, &st);
    /* After SIGINT this task is cancelled: shield the join so the server
     * is not freed while its connections still unwind. */
    tulip_scope sc;
    tulip_scope_enter_shielded(&sc, TULIP_FOREVER);
    rc = tulip_join(t);
    tulip_scope_exit(&sc);
    fprintf(stderr, "%llu requests on %llu connections\n", (unsigned long long)st.requests,
            (unsigned long long)st.connections);
    tulip_http_server_free(srv);
    return rc == -ECANCELED ? 0 : rc;
}

int main(int argc, char **argv)
{
    struct opts o = {argc > 1 ? argv[1] : "8080", argc > 2 ? atoi(argv[2]) : 0, argc > 3 ? atoi(argv[3]) : 1,
                     argc > 4 && argv[4][0] == 's' ? TULIP_HTTP_SHARED_LISTENER : 0};
    tulip_config cfg;
    tulip_config_init(&cfg);
    if (o.loops > 1)
        cfg.workers = o.loops;
    int rc = tulip_run_ex(main_task, &o, &cfg);
    return rc < 0 ? 1 : 0;
}
