/* The crawl's seen set: 128-bit fingerprints of URLs instead of the URLs,
 * each with a 32-bit value.
 *
 * A URL is kept as two 64-bit hashes of its bytes (a collision between two
 * of a billion URLs has odds around 1 in 10^21, far below a disk error) and
 * a 32-bit value, in one open-addressing table that doubles at 3/4 load.
 * A slot is 20 bytes (16 of fingerprint, 4 of value), so a million URLs
 * take 27 to 53 bytes each: 26 to 51 MiB per million, against ~100 bytes
 * per URL for strings plus their pointers.
 *
 * The one table serves three uses: the frontier's seen set, whose value is
 * the smallest depth a URL was offered at (so a URL rediscovered by a
 * shorter path while it waits gets its shortest-path depth:
 * crawl_seen_add, crawl_seen_depth); the done set of a --resume replay (no
 * value); the index of a --recrawl's previous journal (recrawl.c: the
 * value numbers the URL's line). */
#ifndef TULIP_CRAWL_SEEN_H
#define TULIP_CRAWL_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct crawl_fp { uint64_t a, b; } crawl_fp;

typedef struct crawl_seen {
    crawl_fp *fp;     /* {0, 0} marks an empty slot */
    uint32_t *val;
    size_t cap;       /* power of two, 0 before the first add */
    size_t used;
} crawl_seen;

/* The fingerprint of s[0..n); never {0, 0}. */
crawl_fp crawl_fingerprint(const char *s, size_t n);

/* Room for n keys in all without growing. Errors: -ENOMEM. */
int crawl_seen_reserve(crawl_seen *s, size_t n);

/* The value slot of fp, added (with value v) if absent; *added tells
 * which (may be NULL). The pointer is good until the next add.
 * NULL: out of memory (nothing added). */
uint32_t *crawl_seen_put(crawl_seen *s, crawl_fp fp, uint32_t v, bool *added);

/* The value slot of fp, or NULL if it was never added. */
const uint32_t *crawl_seen_get(const crawl_seen *s, crawl_fp fp);

/* Add key at depth. Returns 1 if it was new, 0 if it was there (its depth
 * lowers to depth if depth is smaller). Errors: -ENOMEM (nothing added). */
int crawl_seen_add(crawl_seen *s, const char *key, int depth);

/* The smallest depth key was added at, or -1 if it was never added. */
int crawl_seen_depth(const crawl_seen *s, const char *key);

/* Bytes of memory the table holds. */
size_t crawl_seen_bytes(const crawl_seen *s);

void crawl_seen_free(crawl_seen *s);

#endif
