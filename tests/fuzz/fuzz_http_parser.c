/* libFuzzer harness for the HTTP/1.1 parser (include/tulip/http_parser.h):
 * a message fed whole and the same message fed in pieces must give the
 * same answer, field by field, for request heads, response heads and
 * chunked bodies; nothing may read outside the input (ASan).  The first
 * input byte picks the kind and the piece size.  Built with -DTULIP_FUZZ=ON
 * (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tulip/http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 16

static void same_headers(const tulip_http_header *a, size_t na, const char *abuf,
                         const tulip_http_header *b, size_t nb, const char *bbuf)
{
    if (na != nb)
        abort();
    for (size_t i = 0; i < na; i++)
        if (a[i].name - abuf != b[i].name - bbuf || a[i].name_len != b[i].name_len ||
            a[i].value - abuf != b[i].value - bbuf || a[i].value_len != b[i].value_len)
            abort();
}

/* Feed buf growing by step bytes at a time, as a socket would. */
static int response_in_pieces(const char *buf, size_t len, size_t step, tulip_http_header *h,
                              tulip_http_response *res)
{
    tulip_http_parser p;
    tulip_http_parser_init(&p, h, MAXH, 4096, 0);
    int rc = -EAGAIN;
    for (size_t have = step < len ? step : len;; have = have + step < len ? have + step : len) {
        rc = tulip_http_parse_response(&p, buf, have, res);
        if (rc != -EAGAIN || have == len)
            return rc;
    }
}

static int request_in_pieces(const char *buf, size_t len, size_t step, tulip_http_header *h,
                             tulip_http_request *req)
{
    tulip_http_parser p;
    tulip_http_parser_init(&p, h, MAXH, 4096, 0);
    int rc = -EAGAIN;
    for (size_t have = step < len ? step : len;; have = have + step < len ? have + step : len) {
        rc = tulip_http_parse_request(&p, buf, have, req);
        if (rc != -EAGAIN || have == len)
            return rc;
    }
}

/* Decode buf in pieces of step bytes; the decoded bytes go to out. */
static ssize_t chunked_in_pieces(const char *buf, size_t len, size_t step, char *out, size_t *outlen)
{
    tulip_http_chunked d;
    tulip_http_chunked_init(&d, 1u << 20);
    char piece[4096];
    *outlen = 0;
    ssize_t rc = -EAGAIN;
    for (size_t off = 0; off < len && rc == -EAGAIN;) {
        size_t n = len - off < step ? len - off : step;
        if (n > sizeof piece)
            n = sizeof piece;
        memcpy(piece, buf + off, n);
        off += n;
        size_t got = n;
        rc = tulip_http_chunked_decode(&d, piece, &got);
        if (rc == -EAGAIN || rc >= 0) {
            memcpy(out + *outlen, piece, got);
            *outlen += got;
        }
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096)
        return 0;
    unsigned kind = data[0] % 3;
    size_t step = 1 + data[1] % 64;
    const char *buf = (const char *)data + 2;
    size_t len = size - 2;
    tulip_http_header h1[MAXH], h2[MAXH];

    if (kind == 0) {
        tulip_http_response a, b;
        int ra = response_in_pieces(buf, len, len ? len : 1, h1, &a);
        int rb = response_in_pieces(buf, len, step, h2, &b);
        if (ra != rb)
            abort();
        if (ra >= 0) {
            if (ra > (int)len || a.status != b.status || a.status < 100 || a.status > 599 ||
                a.content_length != b.content_length || a.body != b.body ||
                a.keep_alive != b.keep_alive || a.reason_len != b.reason_len ||
                (a.reason ? a.reason - buf : -1) != (b.reason ? b.reason - buf : -1))
                abort();
            same_headers(a.headers, a.num_headers, buf, b.headers, b.num_headers, buf);
        }
    } else if (kind == 1) {
        tulip_http_request a, b;
        int ra = request_in_pieces(buf, len, len ? len : 1, h1, &a);
        int rb = request_in_pieces(buf, len, step, h2, &b);
        if (ra != rb)
            abort();
        if (ra >= 0) {
            if (ra > (int)len || a.method != b.method || a.method_len != b.method_len ||
                a.target != b.target || a.target_len != b.target_len || a.minor_version != b.minor_version ||
                a.content_length != b.content_length || a.body != b.body || a.keep_alive != b.keep_alive)
                abort();
            same_headers(a.headers, a.num_headers, buf, b.headers, b.num_headers, buf);
        }
    } else {
        static char out1[4096], out2[4096];
        size_t n1, n2;
        ssize_t r1 = chunked_in_pieces(buf, len, len ? len : 1, out1, &n1);
        ssize_t r2 = chunked_in_pieces(buf, len, step, out2, &n2);
        /* Errors may surface at different pieces, but not differ in kind;
         * a finished body is the same body. */
        if (r1 != r2 && !(r1 >= 0 && r2 >= 0))
            abort();
        if (r1 >= 0 && (n1 != n2 || memcmp(out1, out2, n1) != 0))
            abort();
    }
    return 0;
}
