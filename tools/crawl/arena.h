/* A bump allocator for the memory of one short job (the HTML parse of one
 * page), released all at once.
 *
 * gumbo makes a few hundred small allocations per page (every node,
 * attribute, token and the string buffers it grows by copying) and frees
 * them one by one.  Served by malloc that was a fifth of the crawler's
 * instructions.  An arena hands memory out by bumping a pointer through
 * chunks of growing size, ignores individual frees, and returns every
 * chunk in one flat pass at the end: no per-block bookkeeping, and no
 * recursion over gumbo's tree (see links.c).
 *
 * Freed blocks are not reused, so an arena holds everything ever allocated
 * from it until crawl_arena_release; for gumbo that stays linear in the
 * input (string buffers grow by doubling, so at most twice their final
 * size is ever requested).  Blocks are aligned for any type.  Not
 * thread-safe: one arena per job. */
#ifndef TULIP_CRAWL_ARENA_H
#define TULIP_CRAWL_ARENA_H

#include <stddef.h>

typedef struct crawl_arena {
    struct crawl_arena_chunk *chunks; /* newest first */
    char *next, *end;                 /* free span of the newest chunk */
    size_t next_chunk;                /* size of the next chunk to map */
    size_t total;                     /* bytes of chunks held, for tests */
} crawl_arena;

/* A zeroed crawl_arena is valid and empty; this is the same. */
#define CRAWL_ARENA_INIT { 0 }

/* size bytes (size 0 gives a valid unique pointer), or NULL when malloc
 * fails or size is absurd. */
void *crawl_arena_alloc(crawl_arena *a, size_t size);

/* Return every block; a becomes empty and reusable. */
void crawl_arena_release(crawl_arena *a);

#endif
