/* Growable byte buffer shared by the crawler's formatters.
 *
 * A zero-initialised crawl_buf is a valid empty buffer; whenever data is
 * non-NULL it is NUL-terminated so it can be handed out as a C string. */
#ifndef TULIP_CRAWL_BUF_H
#define TULIP_CRAWL_BUF_H

#include <stddef.h>

typedef struct crawl_buf {
    char *data;
    size_t len;
    size_t cap;
} crawl_buf;

/* Make room for extra more bytes (plus the terminator).
 * Errors: -ENOMEM (allocation failed or size overflow). */
int crawl_buf_reserve(crawl_buf *b, size_t extra);

/* Append n bytes (which may contain NULs). Errors: -ENOMEM. */
int crawl_buf_append(crawl_buf *b, const void *p, size_t n);

/* Append a C string. Errors: -ENOMEM. */
int crawl_buf_puts(crawl_buf *b, const char *s);

/* Append one byte. Errors: -ENOMEM. */
int crawl_buf_putc(crawl_buf *b, char c);

/* Append printf-formatted text. Errors: -ENOMEM, -EINVAL (bad format). */
int crawl_buf_printf(crawl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hand the contents to the caller as a malloc'd NUL-terminated string
 * (an empty string if nothing was appended) and leave b empty.
 * Returns NULL with errno ENOMEM only when b was empty and "" cannot be
 * allocated. */
char *crawl_buf_steal(crawl_buf *b);

/* Release the storage; b becomes a valid empty buffer again. */
void crawl_buf_free(crawl_buf *b);

/* Cut b back to its first len bytes (len <= b->len), as a formatter does
 * to undo a half-written record. */
void crawl_buf_truncate(crawl_buf *b, size_t len);

/* The crawler's growable arrays, one rule: room for element n of an array
 * v of *cap elements of elem bytes.  Returns v itself while n < *cap, else
 * v reallocated to first elements, then to twice *cap (updating *cap), or
 * NULL when that fails (v is then untouched and still owned by the
 * caller):
 *     T *v = crawl_grow(a->v, &a->cap, a->n, sizeof *v, 16);
 *     if (!v)
 *         return -ENOMEM;
 *     a->v = v; */
void *crawl_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

#endif
