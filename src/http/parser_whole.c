/* A request head that came whole, the usual case, checked and cut in one
 * pass (parser.c has the general two passes, which take any split of the
 * input and give every error).
 *
 * The grammar is scan()'s in parser.c, for the plainest heads only: the
 * request line, header lines, the blank line. Anything else, a head not
 * complete within min(len, max_head) bytes, empty lines before it, more
 * headers than max_headers or any byte scan() would refuse, gives 0 and the
 * two passes decide, so a head is never accepted here that they would
 * refuse, and a refusal always comes from them. tests/test_http_parser.c
 * (test_request_one_pass) and the fuzzer compare the two on every input. */
#include "parser_whole.h"

#include "http_chars.h"

size_t tulip__http_whole_request(const char *buf, size_t len, size_t max_head, tulip_http_header *headers,
                                 size_t max_headers, tulip_http_request *r)
{
    const unsigned char *b = (const unsigned char *)buf, *p = b, *s;
    const unsigned char *end = b + (len < max_head ? len : max_head);
    size_t n = 0;

    p = end - b >= 4 && memcmp(b, "GET ", 4) == 0 ? b + 3 : skip_token(b, end);
    if (p == b || p == end || *p != ' ')
        return 0;
    r->method = buf;
    r->method_len = (size_t)(p - b);
    s = ++p;
    p = skip_target(p, end);
    if (p == s || p == end || *p != ' ')
        return 0;
    r->target = (const char *)s;
    r->target_len = (size_t)(p - s);
    p++;
    if (end - p < 10 || memcmp(p, "HTTP/1.", 7) != 0 || !IS_DIGIT(p[7]) || p[8] != '\r' || p[9] != '\n')
        return 0;
    r->minor_version = p[7] - '0';
    p += 10;
    for (;;) {
        if (p == end)
            return 0;
        if (*p == '\r')
            break;
        if (n == max_headers)
            return 0;
        tulip_http_header *h = &headers[n];
        s = p;
        p = skip_token(p, end);
        if (p == s || p == end || *p != ':')
            return 0;
        h->name = (const char *)s;
        h->name_len = (size_t)(p - s);
        p++;
        while (p < end && IS_WS(*p))
            p++;
        s = p;
        p = skip_value(p, end);
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return 0;
        const unsigned char *ve = p;
        while (ve > s && IS_WS(ve[-1]))
            ve--;
        h->value = (const char *)s;
        h->value_len = (size_t)(ve - s);
        p += 2;
        n++;
    }
    if (end - p < 2 || p[1] != '\n')
        return 0;
    r->headers = headers;
    r->num_headers = n;
    return (size_t)(p + 2 - b);
}

