#include "arena.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct crawl_arena_chunk {
    struct crawl_arena_chunk *next;
    max_align_t data[];
};

/* Before every block: its size class (CLASS_LARGE: not recycled), padded
 * so that the block keeps max_align_t alignment. */
typedef union block_head {
    size_t cls;
    max_align_t align;
} block_head;

enum {
    ALIGN = alignof(max_align_t),
    MIN_SHIFT = 4, /* the smallest class holds 16 bytes */
    CLASS_LARGE = CRAWL_ARENA_CLASSES,
    /* A demo page (1 to 1.5 KB of HTML) needs 30 to 40 KB: one chunk. */
    FIRST_CHUNK = 64 * 1024,
    /* Chunks double up to this; larger requests get a chunk of their own
     * size, so a 4 MiB text node does not waste a 4 MiB tail. */
    MAX_CHUNK = 1024 * 1024,
};

/* The class of a request of size bytes (size <= 4096). */
static size_t class_of(size_t size)
{
    if (size <= (1u << MIN_SHIFT))
        return 0;
    return (size_t)(sizeof(unsigned long) * 8 - (size_t)__builtin_clzl((unsigned long)(size - 1))) -
           MIN_SHIFT;
}

/* bytes (a multiple of ALIGN) from the newest chunk or a new one. */
static void *bump(crawl_arena *a, size_t bytes)
{
    if ((size_t)(a->end - a->next) >= bytes) {
        void *p = a->next;
        a->next += bytes;
        return p;
    }
    size_t want = a->next_chunk ? a->next_chunk : FIRST_CHUNK;
    bool own = bytes > want / 4; /* big: its own chunk, keep the current one */
    size_t size = own ? bytes : want;
    struct crawl_arena_chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    a->total += size;
    if (own && a->chunks) {
        /* Behind the newest, so its free span stays the one in use. */
        c->next = a->chunks->next;
        a->chunks->next = c;
        return c->data;
    }
    c->next = a->chunks;
    a->chunks = c;
    a->next = (char *)c->data + bytes;
    a->end = (char *)c->data + size;
    if (!own && want < MAX_CHUNK)
        a->next_chunk = want * 2;
    return c->data;
}

void *crawl_arena_alloc(crawl_arena *a, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t cls, bytes;
    if (size <= ((size_t)1 << (MIN_SHIFT + CRAWL_ARENA_CLASSES - 1))) {
        cls = class_of(size);
        block_head *h = a->recycled[cls];
        if (h) {
            a->recycled[cls] = *(void **)(h + 1);
            return h + 1;
        }
        bytes = (size_t)1 << (cls + MIN_SHIFT);
    } else {
        cls = CLASS_LARGE;
        bytes = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    }
    block_head *h = bump(a, sizeof *h + bytes);
    if (!h)
        return NULL;
    h->cls = cls;
    return h + 1;
}

void crawl_arena_free(crawl_arena *a, void *p)
{
    if (!p)
        return;
    block_head *h = (block_head *)p - 1;
    if (h->cls == CLASS_LARGE)
        return; /* stays until crawl_arena_release */
    *(void **)p = a->recycled[h->cls];
    a->recycled[h->cls] = h;
}

void crawl_arena_release(crawl_arena *a)
{
    for (struct crawl_arena_chunk *c = a->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    *a = (crawl_arena)CRAWL_ARENA_INIT;
}
