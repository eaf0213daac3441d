/* When a failed fetch is tried again, and how long its host waits first.
 *
 *   - retried: connection errors (refused, reset, unreachable, truncated
 *     body), timeouts, and the statuses 429, 500, 502, 503, 504; never
 *     other 4xx (the answer will not change) nor a URL the client refused;
 *   - wait: the response's Retry-After when it has one (RFC 9110 10.2.3:
 *     delay-seconds, or an HTTP-date in any of its three forms), capped at
 *     CRAWL_MAX_RETRY_AFTER; otherwise backoff x 2^(attempt - 1), capped at
 *     CRAWL_MAX_BACKOFF.  The wait applies to the whole host (a host that
 *     asks for air gets it for every URL, as Nutch and Heritrix do). */
#ifndef TULIP_CRAWL_RETRY_H
#define TULIP_CRAWL_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CRAWL_MAX_RETRY_AFTER ((int64_t)600 * 1000000000)
#define CRAWL_MAX_BACKOFF ((int64_t)60 * 1000000000)

/* status > 0: an HTTP status; status <= 0: err is the client's negative
 * errno. */
bool crawl_retryable(int status, int err);

/* A Retry-After value as nanoseconds from now (now: the wall clock, in
 * seconds since the epoch), >= 0; a date in the past gives 0.  -1 when
 * value is NULL or not a valid Retry-After. */
int64_t crawl_retry_after_ns(const char *value, time_t now);

/* An HTTP-date (RFC 9110 5.6.7, any of its three forms, the whole of s)
 * as seconds since the epoch. Errors: -1 (not a date). */
int crawl_http_date(const char *s, time_t *out);

/* The wait before attempt+1 after `attempt` failed attempts (attempt >= 1),
 * given the Retry-After (< 0: none) and the base backoff. */
int64_t crawl_retry_wait_ns(unsigned attempt, int64_t retry_after_ns, int64_t backoff_ns);

#endif
