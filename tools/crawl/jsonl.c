#define _GNU_SOURCE
#include "jsonl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s, or 0 if ill-formed; when
 * ill-formed, *bad is the length of the maximal subpart to replace. */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* bounds for the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    size_t i = 1;
    for (; i < len && i < n; i++) {
        unsigned char b = s[i];
        bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        if (!ok)
            break;
    }
    if (i == len)
        return len;
    *bad = i;
    return 0;
}

int crawl_json_string(crawl_buf *out, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t start_len = out->len;
    int rc = crawl_buf_reserve(out, n + 2);
    if (!rc)
        rc = crawl_buf_putc(out, '"');
    size_t i = 0;
    while (i < n && rc == 0) {
        unsigned char c = s[i];
        if (c < 0x80) {
            const char *esc = NULL;
            char u[7];
            switch (c) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    memcpy(u, "\\u00", 4);
                    u[4] = hex[c >> 4];
                    u[5] = hex[c & 15];
                    u[6] = '\0';
                    esc = u;
                }
            }
            rc = esc ? crawl_buf_puts(out, esc) : crawl_buf_putc(out, (char)c);
            i++;
            continue;
        }
        size_t bad = 0, len = utf8_seq(s + i, n - i, &bad);
        if (len == 0) {
            rc = crawl_buf_puts(out, "\\ufffd");
            i += bad;
        } else if (len == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            rc = crawl_buf_puts(out, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            i += 3;
        } else {
            rc = crawl_buf_append(out, s + i, len);
            i += len;
        }
    }
    if (!rc)
        rc = crawl_buf_putc(out, '"');
    if (rc)
        crawl_buf_truncate(out, start_len);
    return rc;
}

static int put_str(crawl_buf *b, const char *s)
{
    return s ? crawl_json_string(b, s, strlen(s)) : crawl_buf_puts(b, "null");
}

int crawl_jsonl_row(crawl_buf *out, const crawl_row *r)
{
    if (!r || !r->url)
        return -EINVAL;
    size_t start_len = out->len;
    int rc = crawl_buf_puts(out, "{\"url\":");
    if (!rc)
        rc = put_str(out, r->url);
    if (!rc)
        rc = r->status > 0 ? crawl_buf_printf(out, ",\"status\":%d", r->status)
                           : crawl_buf_puts(out, ",\"status\":null");
    if (!rc) {
        int64_t ns = r->elapsed_ns;
        /* magnitude as unsigned so INT64_MIN does not overflow */
        uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
        uint64_t us = mag / 1000;
        rc = crawl_buf_printf(out, ",\"bytes\":%" PRIu64 ",\"ms\":%s%" PRIu64 ".%03u,\"depth\":%d",
                              r->bytes, ns < 0 ? "-" : "", us / 1000, (unsigned)(us % 1000),
                              r->depth);
    }
    if (!rc)
        rc = crawl_buf_puts(out, ",\"error\":");
    if (!rc)
        rc = put_str(out, r->error);
    const struct { const char *key, *val; } opt[] = {
        { ",\"content_type\":", r->content_type },
        { ",\"location\":", r->location },
        { ",\"parent\":", r->parent },
    };
    for (size_t k = 0; k < sizeof opt / sizeof opt[0] && !rc; k++) {
        if (!opt[k].val)
            continue;
        rc = crawl_buf_puts(out, opt[k].key);
        if (!rc)
            rc = put_str(out, opt[k].val);
    }
    if (!rc && r->attempts > 1)
        rc = crawl_buf_printf(out, ",\"attempts\":%u", r->attempts);
    if (!rc && r->note) {
        rc = crawl_buf_puts(out, ",\"note\":");
        if (!rc)
            rc = put_str(out, r->note);
    }
    if (!rc)
        rc = crawl_buf_puts(out, "}\n");
    if (rc)
        crawl_buf_truncate(out, start_len);
    return rc;
}
