/* Throughput of the HTTP/1.1 parser on typical heads and a chunked body.
 * Prints figures only; it never fails on them.
 *   cc -O2 -Iinclude bench/http_parser_bench.c src/http/parser.c src/http/parser_whole.c */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tulip/http_parser.h"

static const char response[] =
    "HTTP/1.1 200 OK\r\n"
    "Date: Tue, 24 Nov 2026 12:00:00 GMT\r\n"
    "Server: Apache/2.4.57 (Debian)\r\n"
    "Last-Modified: Mon, 23 Nov 2026 08:30:00 GMT\r\n"
    "ETag: \"2aa6-5f3b1c0a8e2c0\"\r\n"
    "Accept-Ranges: bytes\r\n"
    "Content-Length: 10918\r\n"
    "Vary: Accept-Encoding\r\n"
    "Cache-Control: max-age=3600, public\r\n"
    "Set-Cookie: session=8f14e45fceea167a5a36dedd4bea2543; Path=/; HttpOnly\r\n"
    "Keep-Alive: timeout=5, max=100\r\n"
    "Connection: Keep-Alive\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "\r\n";

static const char request[] =
    "GET /wiki/Asynchronous_I/O?action=view&oldid=123456 HTTP/1.1\r\n"
    "Host: en.wikipedia.org\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://en.wikipedia.org/wiki/Main_Page\r\n"
    "Cookie: GeoIP=US:CA:San_Francisco:37.77:-122.42:v4; enwikimwuser-sessionId=abcdef0123456789\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile size_t sink;

static void report(const char *what, double ns, size_t iters, size_t bytes)
{
    printf("%-26s %8.1f ns/op  %8.1f MB/s\n", what, ns / (double)iters,
           (double)bytes * (double)iters / (ns / 1e9) / 1e6);
}

static void bench_head(const char *what, int is_request, const char *head, size_t n, size_t iters)
{
    tulip_http_header hdrs[32];
    tulip_http_parser p;
    tulip_http_request req;
    tulip_http_response res;
    double t0 = now_ns();

    for (size_t i = 0; i < iters; i++) {
        int rc;
        tulip_http_parser_init(&p, hdrs, 32, 0, 0);
        if (is_request) {
            rc = tulip_http_parse_request(&p, head, n, &req);
            sink += req.num_headers;
        } else {
            rc = tulip_http_parse_response(&p, head, n, &res);
            sink += res.num_headers;
        }
        if (rc != (int)n) {
            fprintf(stderr, "%s: unexpected result %d\n", what, rc);
            exit(1);
        }
    }
    report(what, now_ns() - t0, iters, n);
}

/* The same head arriving in 64-byte reads, as over a slow socket. */
static void bench_head_pieces(const char *head, size_t n, size_t iters)
{
    tulip_http_header hdrs[32];
    tulip_http_parser p;
    tulip_http_response res;
    double t0 = now_ns();

    for (size_t i = 0; i < iters; i++) {
        int rc = -1;
        tulip_http_parser_init(&p, hdrs, 32, 0, 0);
        for (size_t k = 64; k < n + 64; k += 64)
            rc = tulip_http_parse_response(&p, head, k < n ? k : n, &res);
        sink += (size_t)rc;
    }
    report("response head, 64B reads", now_ns() - t0, iters, n);
}

static void bench_chunked(size_t iters)
{
    enum { CHUNK = 4096, NCHUNKS = 16 };
    size_t cap = NCHUNKS * (CHUNK + 16) + 16, n = 0;
    char *body = malloc(cap), *work = malloc(cap);
    double t0;

    if (!body || !work)
        exit(1);
    for (int c = 0; c < NCHUNKS; c++) {
        n += (size_t)sprintf(body + n, "%x\r\n", CHUNK);
        memset(body + n, 'x', CHUNK);
        n += CHUNK;
        memcpy(body + n, "\r\n", 2);
        n += 2;
    }
    memcpy(body + n, "0\r\n\r\n", 5);
    n += 5;
    t0 = now_ns();
    for (size_t i = 0; i < iters; i++) {
        tulip_http_chunked d;
        size_t len = n;
        memcpy(work, body, n); /* decoding is in place */
        tulip_http_chunked_init(&d, UINT64_MAX);
        if (tulip_http_chunked_decode(&d, work, &len) != 0 || len != CHUNK * NCHUNKS) {
            fprintf(stderr, "chunked: unexpected result\n");
            exit(1);
        }
        sink += len;
    }
    report("chunked 64 KiB (w/ copy)", now_ns() - t0, iters, n);
    free(body);
    free(work);
}

int main(void)
{
    size_t iters = 1000000;

    bench_head("(warm-up)", 0, response, sizeof response - 1, 1000);
    bench_head("response head", 0, response, sizeof response - 1, iters);
    bench_head("request head", 1, request, sizeof request - 1, iters);
    bench_head_pieces(response, sizeof response - 1, iters);
    bench_chunked(20000);
    printf("(response head %zu bytes, 13 headers; request head %zu bytes, 8 headers)\n",
           sizeof response - 1, sizeof request - 1);
    return 0;
}
