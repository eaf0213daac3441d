#define _GNU_SOURCE
#include "recrawl_fresh.h"
#include "retry.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 15.1: heuristically cacheable, 200 and 206 left out (a page
 * is revalidated; a crawler never asks for a range). */
static bool heuristic(int status)
{
    switch (status) {
    case 203: case 204: case 300: case 301: case 308: case 404: case 405: case 410: case 414: case 501:
        return true;
    default:
        return false;
    }
}

/* A status whose answer may be reused at all (explicit freshness): not a
 * page, a partial or a 304, and not what --retries tries again. */
static bool reusable(int status)
{
    if (status < 200 || status > 599 || status == 200 || status == 206 || status == 304)
        return false;
    if (status == 408 || status == 429)
        return false;
    return status < 500 || status == 501;
}

/* A non-negative decimal (delta-seconds, RFC 9111 1.2.2: a value too big
 * to hold is taken as 2^31), optionally quoted; -1 if not one. */
static int64_t delta_seconds(const char *p, const char *end)
{
    bool q = p < end && *p == '"';
    p += q;
    int64_t v = 0;
    const char *d = p;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        v = v < 2147483648 ? v * 10 + (*p - '0') : 2147483648;
    if (p == d || (q && (p >= end || *p != '"')))
        return -1;
    return v < 2147483648 ? v : 2147483648;
}

/* Cache-Control (RFC 9111 5.2.2): no-store or no-cache (qualified or
 * not) forbid reuse: returns false; *max_age gets max-age, or -1. */
static bool cache_control(const char *cc, int64_t *max_age)
{
    *max_age = -1;
    if (!cc)
        return true;
    const char *p = cc, *end = cc + strlen(cc);
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *name = p;
        while (p < end && *p != ',' && *p != '=' && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - name);
        const char *val = NULL, *vend = NULL;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p == '=') {
            val = ++p;
            bool q = p < end && *p == '"';
            for (p += q; p < end && (q ? *p != '"' : *p != ','); p++)
                ;
            p += q && p < end;
            vend = p;
        }
        if ((n == 8 && strncasecmp(name, "no-store", 8) == 0) || (n == 8 && strncasecmp(name, "no-cache", 8) == 0))
            return false;
        if (n == 7 && strncasecmp(name, "max-age", 7) == 0 && val && *max_age < 0) {
            *max_age = delta_seconds(val, vend);
            if (*max_age < 0)
                return false; /* a max-age that does not parse: stale (RFC 9111 4.2.1) */
        }
        while (p < end && *p != ',')
            p++;
    }
    return true;
}

static bool date_of(const char *v, int64_t *t)
{
    time_t x;
    if (!v || crawl_http_date(v, &x) < 0)
        return false;
    *t = (int64_t)x;
    return true;
}

bool crawl_fresh_of(const tulip_http_reply *r, int64_t now, crawl_fresh *f)
{
    if (!reusable(r->status))
        return false;
    int64_t max_age, date = now, t;
    if (!cache_control(tulip_http_reply_header(r, "Cache-Control", NULL), &max_age))
        return false;
    if (!date_of(tulip_http_reply_header(r, "Date", NULL), &date))
        date = now;
    const char *exp = tulip_http_reply_header(r, "Expires", NULL);
    if (max_age < 0 && exp)
        max_age = date_of(exp, &t) && t > date ? t - date : 0; /* invalid: already expired */
    if (max_age == 0 || (max_age < 0 && !heuristic(r->status)))
        return false;
    const char *age = tulip_http_reply_header(r, "Age", NULL);
    int64_t a = age ? delta_seconds(age, age + strlen(age)) : -1;
    f->fetched = now - (a > 0 ? a : 0);
    f->max_age = max_age;
    f->lm_age = date_of(tulip_http_reply_header(r, "Last-Modified", NULL), &t) && t <= date ? date - t : -1;
    return true;
}

bool crawl_fresh_now(int status, const crawl_fresh *f, int64_t now, int64_t window)
{
    if (!reusable(status) || window <= 0)
        return false;
    int64_t life = f->max_age;
    if (life < 0) {
        if (!heuristic(status))
            return false;
        life = f->lm_age >= 0 ? f->lm_age / 10 : window; /* RFC 9111 4.2.2's "typical" 10% */
    }
    if (life > window)
        life = window;
    return now - f->fetched < life;
}
