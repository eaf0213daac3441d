#define _GNU_SOURCE
#include "retry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool crawl_retryable(int status, int err)
{
    if (status > 0)
        return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
    switch (err) {
    case -ETIMEDOUT:
    case -ECONNREFUSED:
    case -ECONNRESET:
    case -EPIPE:
    case -ENODATA:
    case -ENETUNREACH:
    case -EHOSTUNREACH:
        return true;
    default:
        return false;
    }
}

/* RFC 9110 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a
 * recipient must also accept.  strptime's %a/%b are the C locale's names,
 * which are HTTP's (the crawler never calls setlocale). */
int crawl_http_date(const char *s, time_t *out)
{
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, forms[i], &tm);
        if (end && *end == '\0') {
            *out = timegm(&tm);
            return 0;
        }
    }
    return -1;
}

int64_t crawl_retry_after_ns(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 64)
        return -1;
    char v[65];
    memcpy(v, value, n);
    v[n] = '\0';
    if (v[0] >= '0' && v[0] <= '9') {
        int64_t s = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9')
                return -1;
            if (s < INT64_MAX / 1000000000 / 10)
                s = s * 10 + (v[i] - '0');
            else
                s = INT64_MAX / 1000000000;
        }
        return s * 1000000000;
    }
    time_t t;
    if (crawl_http_date(v, &t) < 0)
        return -1;
    return t > now ? (int64_t)(t - now) * 1000000000 : 0;
}

int64_t crawl_retry_wait_ns(unsigned attempt, int64_t retry_after_ns, int64_t backoff_ns)
{
    if (retry_after_ns >= 0)
        return retry_after_ns < CRAWL_MAX_RETRY_AFTER ? retry_after_ns : CRAWL_MAX_RETRY_AFTER;
    int64_t w = backoff_ns < 0 ? 0 : backoff_ns;
    for (unsigned i = 1; i < attempt && w < CRAWL_MAX_BACKOFF; i++)
        w *= 2;
    return w < CRAWL_MAX_BACKOFF ? w : CRAWL_MAX_BACKOFF;
}
