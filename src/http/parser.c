/* HTTP/1.1 head parser; see include/tulip/http_parser.h (the chunked
 * body decoder is in chunked.c).
 *
 * A head is handled in two passes. The first, scan(), is a resumable state
 * machine that checks every byte once, however the input is split, and
 * remembers only offsets and a few counters, so the caller's buffer may
 * move between calls. Once it has seen the blank line that ends the head,
 * the second pass (fill_*) walks the now known-good head line by line with
 * memchr to cut out the slices and interpret the framing headers; it needs
 * no checks because the first pass already rejected everything odd. */
#define _GNU_SOURCE
#include "tulip/http_parser.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "http_chars.h"
#include "parser_whole.h"

const unsigned char tulip__http_cls[256] = {R64(0), R64(64), R64(128), R64(192)};

/* ---- head parser state -------------------------------------------------- */

enum { K_NONE, K_REQUEST, K_RESPONSE };

enum {
    S_REQ_START,     /* before the method; empty lines are skipped here */
    S_REQ_START_LF,
    S_METHOD,
    S_TARGET0,
    S_TARGET,
    S_VERSION,       /* k indexes "HTTP/d.d" */
    S_REQ_CR,
    S_RES_SP,
    S_STATUS,        /* k counts digits */
    S_STATUS_END,
    S_REASON,
    S_LINE_LF,
    S_FIELD_START,
    S_NAME,
    S_VALUE,
    S_END_LF,
    S_DONE,
    S_ERROR,
};

struct parser {
    tulip_http_header *headers;
    size_t max_headers;
    size_t max_head;
    size_t pos;        /* bytes of the buffer already checked */
    size_t nheaders;   /* header lines started so far */
    unsigned flags;
    int err;           /* sticky once in S_ERROR */
    unsigned char kind, state, k, major;
};

_Static_assert(sizeof(struct parser) <= sizeof(tulip_http_parser), "tulip_http_parser too small");
_Static_assert(_Alignof(struct parser) <= _Alignof(tulip_http_parser), "tulip_http_parser misaligned");

int tulip_http_parser_init(tulip_http_parser *p, tulip_http_header *headers, size_t max_headers,
                           size_t max_head, unsigned flags)
{
    struct parser ps;

    if (!p || (!headers && max_headers) || max_head > INT_MAX ||
        (flags & ~TULIP_HTTP_RESPONSE_TO_HEAD))
        return -EINVAL;
    memset(&ps, 0, sizeof ps);
    ps.headers = headers;
    ps.max_headers = max_headers;
    ps.max_head = max_head ? max_head : TULIP_HTTP_DEFAULT_MAX_HEAD;
    ps.flags = flags;
    memset(p, 0, sizeof *p);
    memcpy(p, &ps, sizeof ps);
    return 0;
}

/* Pass 1. Returns the head length once the blank line is seen, else an
 * error. Runs over buf[pos..min(len, max_head)) only, so every byte is
 * looked at once across calls and never past the limit. */
static int scan(struct parser *ps, const unsigned char *buf, size_t len)
{
    size_t lim = len < ps->max_head ? len : ps->max_head;
    const unsigned char *p = buf + ps->pos, *end = buf + lim;
    unsigned st = ps->state, k = ps->k;
    size_t nh = ps->nheaders;
    int rc;

    if (st == S_DONE)
        return (int)ps->pos;
    while (p < end) {
        unsigned c = *p;

        switch (st) {
        case S_REQ_START:
            if (c == '\r') {
                st = S_REQ_START_LF;
            } else if (cls[c] & C_TCHAR) {
                st = S_METHOD;
            } else {
                goto bad;
            }
            p++;
            break;
        case S_REQ_START_LF:
            if (c != '\n')
                goto bad;
            st = S_REQ_START;
            p++;
            break;
        case S_METHOD:
            p = skip_token(p, end);
            if (p == end)
                goto more;
            if (*p++ != ' ')
                goto bad;
            st = S_TARGET0;
            break;
        case S_TARGET0:
            if (!(cls[c] & C_TARGET))
                goto bad;
            st = S_TARGET;
            p++;
            break;
        case S_TARGET:
            p = skip_target(p, end);
            if (p == end)
                goto more;
            if (*p++ != ' ')
                goto bad;
            st = S_VERSION;
            k = 0;
            break;
        case S_VERSION:
            /* The usual "HTTP/1.x" in one step; byte by byte below when
             * it is split across reads, or odd. */
            if (k == 0 && end - p >= 8 && memcmp(p, "HTTP/1.", 7) == 0 && (cls[p[7]] & C_DIGIT)) {
                ps->major = '1';
                st = ps->kind == K_REQUEST ? S_REQ_CR : S_RES_SP;
                k = 8;
                p += 8;
                break;
            }
            if (k < 5) {
                if (c != (unsigned char)"HTTP/"[k])
                    goto bad;
            } else if (k == 5) {
                if (!(cls[c] & C_DIGIT))
                    goto bad;
                ps->major = (unsigned char)c;
            } else if (k == 6) {
                if (c != '.')
                    goto bad;
            } else {
                if (!(cls[c] & C_DIGIT))
                    goto bad;
                /* Only now is it a well-formed version we can call
                 * unsupported rather than garbage. */
                if (ps->major != '1') {
                    rc = -EPROTONOSUPPORT;
                    goto fail;
                }
                st = ps->kind == K_REQUEST ? S_REQ_CR : S_RES_SP;
            }
            k++;
            p++;
            break;
        case S_REQ_CR:
            if (c != '\r')
                goto bad;
            st = S_LINE_LF;
            p++;
            break;
        case S_RES_SP:
            if (c != ' ')
                goto bad;
            st = S_STATUS;
            k = 0;
            p++;
            break;
        case S_STATUS:
            if (!(cls[c] & C_DIGIT) || (k == 0 && (c < '1' || c > '5')))
                goto bad;
            if (++k == 3)
                st = S_STATUS_END;
            p++;
            break;
        case S_STATUS_END:
            if (c == ' ')
                st = S_REASON;
            else if (c == '\r')
                st = S_LINE_LF;
            else
                goto bad;
            p++;
            break;
        case S_REASON:
        case S_VALUE:
            p = skip_value(p, end);
            if (p == end)
                goto more;
            if (*p++ != '\r')
                goto bad;
            st = S_LINE_LF;
            break;
        case S_LINE_LF:
            if (c != '\n')
                goto bad;
            st = S_FIELD_START;
            p++;
            break;
        case S_FIELD_START:
            /* SP/HTAB here is obs-fold, or whitespace before the first
             * field; both are rejected along with every non-token byte. */
            if (c == '\r') {
                st = S_END_LF;
            } else if (cls[c] & C_TCHAR) {
                if (nh == ps->max_headers) {
                    rc = -E2BIG;
                    goto fail;
                }
                nh++;
                st = S_NAME;
            } else {
                goto bad;
            }
            p++;
            break;
        case S_NAME:
            p = skip_token(p, end);
            if (p == end)
                goto more;
            if (*p++ != ':')
                goto bad;
            st = S_VALUE;
            break;
        case S_END_LF:
            if (c != '\n')
                goto bad;
            p++;
            ps->state = S_DONE;
            ps->pos = (size_t)(p - buf);
            ps->nheaders = nh;
            return (int)ps->pos;
        default:
            rc = -EINVAL;
            goto fail;
        }
    }
more:
    ps->state = (unsigned char)st;
    ps->k = (unsigned char)k;
    ps->pos = (size_t)(p - buf);
    ps->nheaders = nh;
    return lim < len ? -EMSGSIZE : -EAGAIN;
bad:
    rc = -EBADMSG;
fail:
    return rc;
}

/* ---- pass 2: slices and framing ------------------------------------------ */

struct framing {
    int64_t content_length;
    bool has_cl, te, te_last_chunked, te_bad, conn_close, conn_keep_alive;
    int hosts;
};

static void framing_init(struct framing *f)
{
    memset(f, 0, sizeof *f);
    f->content_length = -1;
}

/* name is a token, so OR-ing 0x20 can only map an upper-case letter onto
 * the lower-case literal; no other token byte collides. Eight or four
 * bytes at a time, then one. */
static bool name_is(const char *name, const char *lower, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t a, b;
        memcpy(&a, name + i, 8);
        memcpy(&b, lower + i, 8);
        if ((a | UINT64_C(0x2020202020202020)) != b)
            return false;
    }
    if (n - i >= 4) {
        uint32_t a, b;
        memcpy(&a, name + i, 4);
        memcpy(&b, lower + i, 4);
        if ((a | UINT32_C(0x20202020)) != b)
            return false;
        i += 4;
    }
    for (; i < n; i++)
        if (((unsigned char)name[i] | 0x20) != (unsigned char)lower[i])
            return false;
    return true;
}

/* Next non-empty element of a comma-separated list, OWS trimmed. */
static bool list_next(const char **pp, const char *end, const char **tok, size_t *tok_len)
{
    const char *p = *pp, *s, *e;

    while (p < end && (IS_WS(*p) || *p == ','))
        p++;
    if (p == end)
        return false;
    s = p;
    while (p < end && *p != ',')
        p++;
    e = p;
    while (e > s && IS_WS(e[-1]))
        e--;
    *tok = s;
    *tok_len = (size_t)(e - s);
    *pp = p;
    return true;
}

/* 1*DIGIT, or a list of identical such values (RFC 9110 8.6 lets us take
 * "42, 42" as 42); anything else, or more than INT64_MAX, is malformed. */
static int parse_content_length(const char *p, const char *end, int64_t *out)
{
    int64_t first = -1;

    for (;;) {
        const char *s = p;
        int64_t x = 0;

        while (p < end && IS_DIGIT(*p)) {
            int d = *p++ - '0';
            if (x > (INT64_MAX - d) / 10)
                return -EBADMSG;
            x = x * 10 + d;
        }
        if (p == s || (first >= 0 && x != first))
            return -EBADMSG;
        first = x;
        while (p < end && IS_WS(*p))
            p++;
        if (p == end)
            break;
        if (*p++ != ',')
            return -EBADMSG;
        while (p < end && IS_WS(*p))
            p++;
    }
    *out = first;
    return 0;
}

static int framing_header(struct framing *f, const tulip_http_header *h)
{
    const char *v = h->value, *end = h->value + h->value_len, *tok;
    size_t n;

    switch (h->name_len) {
    case 4:
        if (name_is(h->name, "host", 4))
            f->hosts++;
        break;
    case 10:
        if (!name_is(h->name, "connection", 10))
            break;
        while (list_next(&v, end, &tok, &n)) {
            if (n == 5 && name_is(tok, "close", 5))
                f->conn_close = true;
            else if (n == 10 && name_is(tok, "keep-alive", 10))
                f->conn_keep_alive = true;
        }
        break;
    case 14: {
        int64_t cl;
        if (!name_is(h->name, "content-length", 14))
            break;
        if (parse_content_length(v, end, &cl) < 0 || (f->has_cl && cl != f->content_length))
            return -EBADMSG;
        f->has_cl = true;
        f->content_length = cl;
        break;
    }
    case 17:
        if (!name_is(h->name, "transfer-encoding", 17))
            break;
        f->te = true;
        while (list_next(&v, end, &tok, &n)) {
            const char *semi = memchr(tok, ';', n);
            if (semi) /* parameters do not change which coding it is */
                for (n = (size_t)(semi - tok); n && IS_WS(tok[n - 1]); n--)
                    ;
            if (n == 7 && name_is(tok, "chunked", 7)) {
                /* chunked may be applied once, and only last */
                if (f->te_last_chunked)
                    f->te_bad = true;
                f->te_last_chunked = true;
            } else {
                if (f->te_last_chunked)
                    f->te_bad = true;
                f->te_last_chunked = false;
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

/* Cuts header lines starting at p (known valid) into ps->headers. */
static int fill_headers(const struct parser *ps, const char *p, const char *end, size_t *count,
                        struct framing *f)
{
    size_t n = 0;

    framing_init(f);
    while (*p != '\r') {
        tulip_http_header *h = &ps->headers[n++];
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *v = colon + 1, *eol = memchr(v, '\r', (size_t)(end - v)), *ve = eol;
        int rc;

        while (v < ve && IS_WS(*v))
            v++;
        while (ve > v && IS_WS(ve[-1]))
            ve--;
        h->name = p;
        h->name_len = (size_t)(colon - p);
        h->value = v;
        h->value_len = (size_t)(ve - v);
        if ((rc = framing_header(f, h)) < 0)
            return rc;
        p = eol + 2;
    }
    *count = n;
    return 0;
}

/* The request's framing, from its headers (RFC 9112 6). */
static int finish_request(tulip_http_request *r, const struct framing *f, size_t head_len,
                          tulip_http_request *out)
{
    /* A request that two hops could frame differently is refused rather
     * than guessed at (RFC 9112 6.1, 6.3). */
    if (f->te) {
        if (r->minor_version == 0 || f->has_cl || !f->te_last_chunked || f->te_bad)
            return -EBADMSG;
        r->body = TULIP_HTTP_BODY_CHUNKED;
        r->content_length = -1;
    } else {
        r->body = f->has_cl ? TULIP_HTTP_BODY_LENGTH : TULIP_HTTP_BODY_NONE;
        r->content_length = f->content_length;
    }
    if (f->hosts > 1 || (r->minor_version >= 1 && f->hosts == 0))
        return -EBADMSG;
    r->chunked = r->body == TULIP_HTTP_BODY_CHUNKED;
    r->keep_alive = !f->conn_close && (r->minor_version >= 1 || f->conn_keep_alive);
    *out = *r;
    return (int)head_len;
}

static int fill_request(const struct parser *ps, const char *buf, size_t head_len,
                        tulip_http_request *out)
{
    const char *p = buf, *end = buf + head_len, *sp;
    tulip_http_request r;
    struct framing f;
    int rc;

    while (*p == '\r')
        p += 2;
    sp = memchr(p, ' ', (size_t)(end - p));
    r.method = p;
    r.method_len = (size_t)(sp - p);
    p = sp + 1;
    sp = memchr(p, ' ', (size_t)(end - p));
    r.target = p;
    r.target_len = (size_t)(sp - p);
    p = sp + 1;
    r.minor_version = p[7] - '0';
    p += sizeof "HTTP/1.1\r\n" - 1;
    r.headers = ps->headers;
    if ((rc = fill_headers(ps, p, end, &r.num_headers, &f)) < 0)
        return rc;
    return finish_request(&r, &f, head_len, out);
}

int tulip__http_parse_whole(const char *buf, size_t len, size_t max_head, tulip_http_header *headers,
                            size_t max_headers, tulip_http_request *out)
{
    tulip_http_request r;
    struct framing f;
    size_t n = tulip__http_whole_request(buf, len, max_head, headers, max_headers, &r);
    if (!n)
        return 0;
    framing_init(&f);
    for (size_t i = 0; i < r.num_headers; i++) {
        int rc = framing_header(&f, &r.headers[i]);
        if (rc < 0)
            return rc;
    }
    return finish_request(&r, &f, n, out);
}

static int fill_response(const struct parser *ps, const char *buf, size_t head_len,
                         tulip_http_response *out)
{
    const char *p = buf, *end = buf + head_len, *eol;
    tulip_http_response r;
    struct framing f;
    int rc;

    r.minor_version = p[7] - '0';
    r.status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    p += sizeof "HTTP/1.1 200" - 1;
    if (*p == ' ')
        p++;
    eol = memchr(p, '\r', (size_t)(end - p));
    r.reason = p;
    r.reason_len = (size_t)(eol - p);
    r.headers = ps->headers;
    if ((rc = fill_headers(ps, eol + 2, end, &r.num_headers, &f)) < 0)
        return rc;
    if (f.te && f.te_bad)
        return -EBADMSG;

    r.keep_alive = !f.conn_close && (r.minor_version >= 1 || f.conn_keep_alive);
    r.content_length = f.te ? -1 : f.content_length;
    if (r.status < 200 || r.status == 204 || r.status == 304 ||
        (ps->flags & TULIP_HTTP_RESPONSE_TO_HEAD))
        r.body = TULIP_HTTP_BODY_NONE;
    else if (f.te)
        r.body = f.te_last_chunked ? TULIP_HTTP_BODY_CHUNKED : TULIP_HTTP_BODY_UNTIL_CLOSE;
    else
        r.body = f.has_cl ? TULIP_HTTP_BODY_LENGTH : TULIP_HTTP_BODY_UNTIL_CLOSE;
    /* RFC 9112 6.1/6.3: a message framed both ways, or chunked over
     * HTTP/1.0, may have been read differently upstream; don't reuse the
     * connection after it. */
    if (f.te && (f.has_cl || r.minor_version == 0))
        r.keep_alive = false;
    if (r.body == TULIP_HTTP_BODY_UNTIL_CLOSE)
        r.keep_alive = false;
    r.chunked = r.body == TULIP_HTTP_BODY_CHUNKED;
    r.until_close = r.body == TULIP_HTTP_BODY_UNTIL_CLOSE;
    *out = r;
    return (int)head_len;
}

/* Shared driver: load state, scan, fill on completion, store state. */
static int parse(tulip_http_parser *pp, unsigned kind, const char *buf, size_t len, void *out)
{
    struct parser ps;
    int rc;

    if (!pp || !out || (!buf && len))
        return -EINVAL;
    memcpy(&ps, pp, sizeof ps);
    if (ps.kind == K_NONE) {
        ps.kind = (unsigned char)kind;
        ps.state = kind == K_REQUEST ? S_REQ_START : S_VERSION;
    } else if (ps.kind != kind) {
        return -EINVAL;
    }
    if (ps.state == S_ERROR)
        return ps.err;
    if (len < ps.pos) /* the caller lost bytes we already accepted */
        return -EINVAL;
    if (!len) /* also keeps NULL + 0 out of scan() */
        return -EAGAIN;
    if (kind == K_REQUEST && ps.pos == 0 && ps.state == S_REQ_START &&
        (rc = tulip__http_parse_whole(buf, len, ps.max_head, ps.headers, ps.max_headers, out)) != 0) {
        ps.state = S_DONE;
        ps.pos = (size_t)rc;
        ps.nheaders = ((tulip_http_request *)out)->num_headers;
        goto done;
    }
    rc = scan(&ps, (const unsigned char *)buf, len);
    if (rc >= 0)
        rc = kind == K_REQUEST ? fill_request(&ps, buf, (size_t)rc, out)
                               : fill_response(&ps, buf, (size_t)rc, out);
done:
    if (rc < 0 && rc != -EAGAIN) {
        ps.state = S_ERROR;
        ps.err = rc;
    }
    memcpy(pp, &ps, sizeof ps);
    return rc;
}

int tulip_http_parse_request(tulip_http_parser *p, const char *buf, size_t len,
                             tulip_http_request *req)
{
    return parse(p, K_REQUEST, buf, len, req);
}

int tulip_http_parse_response(tulip_http_parser *p, const char *buf, size_t len,
                              tulip_http_response *res)
{
    return parse(p, K_RESPONSE, buf, len, res);
}

ssize_t tulip_http_header_find(const tulip_http_header *headers, size_t n, const char *name,
                               size_t from)
{
    size_t len;

    if ((!headers && n) || !name)
        return -EINVAL;
    len = strlen(name);
    for (size_t i = from; i < n; i++) {
        const tulip_http_header *h = &headers[i];
        size_t j;

        if (h->name_len != len)
            continue;
        for (j = 0; j < len; j++) {
            unsigned a = (unsigned char)h->name[j], b = (unsigned char)name[j];
            if (a - 'A' < 26)
                a |= 0x20;
            if (b - 'A' < 26)
                b |= 0x20;
            if (a != b)
                break;
        }
        if (j == len)
            return (ssize_t)i;
    }
    return -ENOENT;
}
