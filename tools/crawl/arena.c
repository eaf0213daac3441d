#include "arena.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct crawl_arena_chunk {
    struct crawl_arena_chunk *next;
    max_align_t data[];
};

enum {
    ALIGN = alignof(max_align_t),
    /* A demo page (1 to 1.5 KB of HTML) needs 20 to 30 KB: one chunk. */
    FIRST_CHUNK = 64 * 1024,
    /* Chunks double up to this; larger requests get a chunk of their own
     * size, so a 4 MiB text node does not waste a 4 MiB tail. */
    MAX_CHUNK = 1024 * 1024,
};

void *crawl_arena_alloc(crawl_arena *a, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (size == 0)
        size = ALIGN;
    if ((size_t)(a->end - a->next) >= size) {
        void *p = a->next;
        a->next += size;
        return p;
    }
    size_t want = a->next_chunk ? a->next_chunk : FIRST_CHUNK;
    bool own = size > want / 4; /* big: its own chunk, keep the current one */
    size_t bytes = own ? size : want;
    struct crawl_arena_chunk *c = malloc(sizeof *c + bytes);
    if (!c)
        return NULL;
    a->total += bytes;
    if (own && a->chunks) {
        /* Behind the newest, so its free span stays the one in use. */
        c->next = a->chunks->next;
        a->chunks->next = c;
        return c->data;
    }
    c->next = a->chunks;
    a->chunks = c;
    a->next = (char *)c->data + size;
    a->end = (char *)c->data + bytes;
    if (!own && want < MAX_CHUNK)
        a->next_chunk = want * 2;
    return c->data;
}

void crawl_arena_release(crawl_arena *a)
{
    for (struct crawl_arena_chunk *c = a->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    *a = (crawl_arena)CRAWL_ARENA_INIT;
}
