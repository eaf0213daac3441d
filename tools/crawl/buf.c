#define _GNU_SOURCE
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int crawl_buf_reserve(crawl_buf *b, size_t extra)
{
    /* +1 keeps room for the terminator that every public state promises. */
    if (extra > SIZE_MAX - b->len - 1)
        return -ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    p[b->len] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int crawl_buf_append(crawl_buf *b, const void *p, size_t n)
{
    int rc = crawl_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int crawl_buf_puts(crawl_buf *b, const char *s)
{
    return crawl_buf_append(b, s, strlen(s));
}

int crawl_buf_putc(crawl_buf *b, char c)
{
    return crawl_buf_append(b, &c, 1);
}

int crawl_buf_printf(crawl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    int rc = crawl_buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *crawl_buf_steal(crawl_buf *b)
{
    char *s = b->data;
    if (!s) {
        s = strdup("");
        if (!s)
            errno = ENOMEM;
    }
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void crawl_buf_free(crawl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void crawl_buf_truncate(crawl_buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

void *crawl_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc < *cap || nc > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(v, nc * elem);
    if (p)
        *cap = nc;
    return p;
}
