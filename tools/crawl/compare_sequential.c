/* --compare, mode "sequential": blocking sockets, one page at a time.
 * The program reads as the problem is stated; each page's latency is
 * paid in full before the next request goes out. */
#include "compare_base.h"

int crawl_cmp_sequential(crawl_cmp_base *b)
{
    crawl_cmp_item it;
    while (crawl_cmp_pop(b, &it)) {
        crawl_raw r;
        crawl_links l;
        crawl_raw_init(&r, CRAWL_CMP_MAX_BODY);
        int rc = crawl_raw_get(it.url, b->ua, CRAWL_CMP_TIMEOUT_MS, &r);
        crawl_cmp_parse(&it, rc, &r, &l);
        crawl_cmp_commit(b, &it, rc, r.status, r.location, &l);
        crawl_raw_free(&r);
    }
    return b->t.fatal;
}
