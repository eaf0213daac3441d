#define _GNU_SOURCE
#include "pattern.h"
#include "buf.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct relist {
    regex_t *v;
    size_t n, cap;
} relist;

struct crawl_patterns {
    relist list[2]; /* indexed by enum crawl_pattern_kind */
};

crawl_patterns *crawl_patterns_new(void)
{
    crawl_patterns *p = calloc(1, sizeof *p);
    if (!p)
        errno = ENOMEM;
    return p;
}

int crawl_patterns_add(crawl_patterns *p, enum crawl_pattern_kind kind, const char *regex,
                       char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if ((kind != CRAWL_PATTERN_INCLUDE && kind != CRAWL_PATTERN_EXCLUDE) || !regex) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "no pattern given");
        return -EINVAL;
    }
    relist *l = &p->list[kind];
    regex_t *v = crawl_grow(l->v, &l->cap, l->n, sizeof *v, 4);
    if (!v)
        return -ENOMEM;
    l->v = v;
    int rc = regcomp(&l->v[l->n], regex, REG_EXTENDED | REG_NOSUB);
    if (rc == REG_ESPACE)
        return -ENOMEM;
    if (rc != 0) {
        if (errbuf && errlen)
            regerror(rc, &l->v[l->n], errbuf, errlen);
        /* regcomp leaves nothing to free on failure (POSIX) */
        return -EINVAL;
    }
    l->n++;
    return 0;
}

static int any_match(const relist *l, const char *url)
{
    for (size_t i = 0; i < l->n; i++)
        if (regexec(&l->v[i], url, 0, NULL, 0) == 0)
            return 1;
    return 0;
}

int crawl_patterns_accept(const crawl_patterns *p, const char *url)
{
    if (!url)
        return -EINVAL;
    if (any_match(&p->list[CRAWL_PATTERN_EXCLUDE], url))
        return 0;
    const relist *inc = &p->list[CRAWL_PATTERN_INCLUDE];
    return inc->n == 0 || any_match(inc, url);
}

size_t crawl_patterns_count(const crawl_patterns *p, enum crawl_pattern_kind kind)
{
    return kind == CRAWL_PATTERN_INCLUDE || kind == CRAWL_PATTERN_EXCLUDE ? p->list[kind].n : 0;
}

void crawl_patterns_free(crawl_patterns *p)
{
    if (!p)
        return;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < p->list[k].n; i++)
            regfree(&p->list[k].v[i]);
        free(p->list[k].v);
    }
    free(p);
}
