#include "seen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
    /* splitmix64's finaliser: every input bit flips about half the output */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

crawl_fp crawl_fingerprint(const char *s, size_t n)
{
    /* Two lanes with different multipliers over 8-byte words; each word is
     * folded into both, so the pair behaves as one 128-bit hash for sets
     * of URLs (not against an adversary choosing collisions: a collision
     * only hides one URL from this crawl). */
    uint64_t a = 0x243f6a8885a308d3ull ^ n, b = 0x13198a2e03707344ull ^ (n << 32);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        a = mix(a ^ w) * 0x9e3779b97f4a7c15ull;
        b = mix(b + w) ^ (w * 0xc2b2ae3d27d4eb4full);
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    a = mix(a ^ w ^ 0xa4093822299f31d0ull);
    b = mix(b + w + 0x082efa98ec4e6c89ull);
    crawl_fp fp = { mix(a ^ (b >> 17)), mix(b ^ (a << 13)) };
    if (fp.a == 0 && fp.b == 0)
        fp.a = 1;
    return fp;
}

static size_t find(const crawl_fp *tab, size_t cap, crawl_fp fp)
{
    size_t k = (size_t)fp.a & (cap - 1);
    while ((tab[k].a || tab[k].b) && (tab[k].a != fp.a || tab[k].b != fp.b))
        k = (k + 1) & (cap - 1);
    return k;
}

static int resize(crawl_seen *s, size_t cap)
{
    crawl_fp *fp = calloc(cap, sizeof *fp);
    uint32_t *val = malloc(cap * sizeof *val);
    if (!fp || !val) {
        free(fp);
        free(val);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++)
        if (s->fp[i].a || s->fp[i].b) {
            size_t k = find(fp, cap, s->fp[i]);
            fp[k] = s->fp[i];
            val[k] = s->val[i];
        }
    free(s->fp);
    free(s->val);
    s->fp = fp;
    s->val = val;
    s->cap = cap;
    return 0;
}

int crawl_seen_reserve(crawl_seen *s, size_t n)
{
    size_t cap = s->cap ? s->cap : 1024;
    while (n * 4 > cap * 3)
        cap *= 2;
    return cap > s->cap ? resize(s, cap) : 0;
}

uint32_t *crawl_seen_put(crawl_seen *s, crawl_fp fp, uint32_t v, bool *added)
{
    if (s->cap) {
        size_t k = find(s->fp, s->cap, fp);
        if (s->fp[k].a || s->fp[k].b) {
            if (added)
                *added = false;
            return &s->val[k];
        }
    }
    if (crawl_seen_reserve(s, s->used + 1) < 0)
        return NULL;
    size_t k = find(s->fp, s->cap, fp);
    s->fp[k] = fp;
    s->val[k] = v;
    s->used++;
    if (added)
        *added = true;
    return &s->val[k];
}

const uint32_t *crawl_seen_get(const crawl_seen *s, crawl_fp fp)
{
    if (!s->cap)
        return NULL;
    size_t k = find(s->fp, s->cap, fp);
    return s->fp[k].a || s->fp[k].b ? &s->val[k] : NULL;
}

int crawl_seen_add(crawl_seen *s, const char *key, int depth)
{
    bool added;
    uint32_t d = depth < 0 ? 0 : (uint32_t)depth;
    uint32_t *v = crawl_seen_put(s, crawl_fingerprint(key, strlen(key)), d, &added);
    if (!v)
        return -ENOMEM;
    if (d < *v)
        *v = d;
    return added;
}

int crawl_seen_depth(const crawl_seen *s, const char *key)
{
    const uint32_t *v = crawl_seen_get(s, crawl_fingerprint(key, strlen(key)));
    return v ? (int)*v : -1;
}

size_t crawl_seen_bytes(const crawl_seen *s) { return s->cap * (sizeof *s->fp + sizeof *s->val); }

void crawl_seen_free(crawl_seen *s)
{
    free(s->fp);
    free(s->val);
    memset(s, 0, sizeof *s);
}
