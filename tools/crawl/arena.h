/* A bump allocator for the memory of one short job (the HTML parse of one
 * page), released all at once.
 *
 * gumbo makes a few hundred small allocations per page (every node,
 * attribute, token and the string buffers it grows by copying) and frees
 * them one by one.  Served by malloc that was a fifth of the crawler's
 * instructions.  An arena hands memory out by bumping a pointer through
 * chunks of growing size and returns every chunk in one flat pass at the
 * end: no recursion over gumbo's tree (see links.c).
 *
 * Freed blocks are recycled, not returned: blocks up to 4 KiB come in
 * power-of-two size classes, and a freed one goes on its class's list for
 * the next request of that class.  Without that, a hostile page whose
 * parse allocates and frees over and over (attributes on end tags, say)
 * made the arena hold 60 times what malloc would.  Larger blocks are not
 * recycled: each is requested once per big string, so what they waste
 * stays within a small multiple of the input.  Blocks are aligned for any
 * type.  Not thread-safe: one arena per job. */
#ifndef TULIP_CRAWL_ARENA_H
#define TULIP_CRAWL_ARENA_H

#include <stddef.h>

/* Size classes 16, 32, ... 4096 bytes. */
#define CRAWL_ARENA_CLASSES 9

typedef struct crawl_arena {
    struct crawl_arena_chunk *chunks; /* newest first */
    char *next, *end;                 /* free span of the newest chunk */
    size_t next_chunk;                /* size of the next chunk to map */
    size_t total;                     /* bytes of chunks held, for tests */
    void *recycled[CRAWL_ARENA_CLASSES]; /* freed blocks, per size class */
} crawl_arena;

/* A zeroed crawl_arena is valid and empty; this is the same. */
#define CRAWL_ARENA_INIT { 0 }

/* size bytes (size 0 gives a valid unique pointer), or NULL when malloc
 * fails or size is absurd. */
void *crawl_arena_alloc(crawl_arena *a, size_t size);

/* Give p (from crawl_arena_alloc on a, or NULL) back for reuse. */
void crawl_arena_free(crawl_arena *a, void *p);

/* Return every block; a becomes empty and reusable. */
void crawl_arena_release(crawl_arena *a);

#endif
