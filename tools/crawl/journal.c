#define _GNU_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int crawl_jl_map(const char *path, char **map, size_t *len)
{
    *map = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = -errno;
        } else {
            *map = m;
            *len = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

const char *crawl_jl_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

const char *crawl_jl_int(const char *p, const char *end, int64_t *v)
{
    while (p < end && *p == ' ')
        p++;
    bool neg = p < end && *p == '-';
    p += neg;
    const char *d = p;
    uint64_t x = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        x = x * 10 + (uint64_t)(*p - '0');
    if (p == d)
        return NULL;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return p;
}

const char *crawl_jl_next(const char *p, const char *nl, const char *end)
{
    if (nl >= end)
        return end;
    if (*p != 'R')
        return nl + 1;
    int64_t status, len;
    const char *q = crawl_jl_int(p + 1, nl, &status);
    if (!q || !crawl_jl_int(q, nl, &len) || len < 0 || (uint64_t)len >= (uint64_t)(end - nl - 1))
        return end;
    return nl + 1 + len + 1;
}

const char *crawl_jl_field(const char *p, const char *end, const char **f, size_t *n)
{
    while (p < end && *p == ' ')
        p++;
    const char *s = p;
    if (s >= end)
        return NULL;
    p = memchr(s, ' ', (size_t)(end - s)); /* end is a line's end */
    if (!p)
        p = end;
    *f = s;
    *n = (size_t)(p - s);
    return p > s ? p : NULL;
}

int crawl_jl_put_bad(crawl_buf *b, int err, const char *parent, const char *key)
{
    int rc = crawl_buf_printf(b, "B %d %s ", err, parent);
    for (const char *k = key; rc == 0 && *k; k++) {
        const char *e = *k == '\\' ? "\\\\" : *k == '\n' ? "\\n" : *k == '\r' ? "\\r" : NULL;
        rc = e ? crawl_buf_append(b, e, 2) : crawl_buf_putc(b, *k);
    }
    return rc == 0 ? crawl_buf_putc(b, '\n') : rc;
}

bool crawl_jl_get_bad(const char *p, const char *nl, int64_t *err, const char **parent, size_t *pn,
                      const char **key, size_t *kn)
{
    p = crawl_jl_int(p + 1, nl, err);
    p = p ? crawl_jl_field(p, nl, parent, pn) : NULL;
    if (!p || p >= nl || *p != ' ' || p + 1 >= nl)
        return false;
    *key = p + 1; /* all the rest: the key may begin with a space */
    *kn = (size_t)(nl - p - 1);
    return true;
}

size_t crawl_jl_unescape(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[++i];
            c = e == 'n' ? '\n' : e == 'r' ? '\r' : e;
        }
        out[k++] = c;
    }
    out[k] = '\0';
    return k;
}
