/* The crawl's seen set: 128-bit fingerprints of URLs instead of the URLs.
 *
 * A URL is kept as two 64-bit hashes of its bytes (a collision between two
 * of a billion URLs has odds around 1 in 10^21, far below a disk error) and
 * the smallest depth it was offered at, in one open-addressing table that
 * doubles at 3/4 load.  A slot is 20 bytes (16 of fingerprint, 4 of depth),
 * so a million URLs take 27 to 53 bytes each: 26 to 51 MiB per million,
 * against ~100 bytes per URL for strings plus their pointers.  Depth lets
 * the frontier give a URL rediscovered by a shorter path while it waits
 * its shortest-path depth. */
#ifndef TULIP_CRAWL_SEEN_H
#define TULIP_CRAWL_SEEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct crawl_fp { uint64_t a, b; } crawl_fp;

typedef struct crawl_seen {
    crawl_fp *fp;     /* {0, 0} marks an empty slot */
    int32_t *depth;
    size_t cap;       /* power of two, 0 before the first add */
    size_t used;
} crawl_seen;

/* The fingerprint of s[0..n); never {0, 0}. */
crawl_fp crawl_fingerprint(const char *s, size_t n);

/* Add key at depth. Returns 1 if it was new, 0 if it was there (its depth
 * lowers to depth if depth is smaller). Errors: -ENOMEM (nothing added). */
int crawl_seen_add(crawl_seen *s, const char *key, int depth);

/* The smallest depth key was added at, or -1 if it was never added. */
int crawl_seen_depth(const crawl_seen *s, const char *key);

/* Bytes of memory the table holds. */
size_t crawl_seen_bytes(const crawl_seen *s);

void crawl_seen_free(crawl_seen *s);

#endif
