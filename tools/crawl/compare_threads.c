/* --compare, mode "threads": a bounded pool of pthreads, each doing one
 * blocking fetch at a time.  The fetch code is the sequential mode's; the
 * price is a thread (and its stack) per request in flight and a lock
 * around the shared frontier. */
#include "compare_base.h"

#include <errno.h>
#include <stdlib.h>

static void *pool_thread(void *arg)
{
    crawl_cmp_base *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        crawl_cmp_item it;
        while (!crawl_cmp_pop(b, &it)) {
            if (b->in_flight == 0 || b->t.fatal) {
                pthread_cond_broadcast(&b->cv);
                pthread_mutex_unlock(&b->mu);
                return NULL;
            }
            pthread_cond_wait(&b->cv, &b->mu);
        }
        b->in_flight++;
        pthread_mutex_unlock(&b->mu);
        crawl_raw r;
        crawl_links l;
        crawl_raw_init(&r, CRAWL_CMP_MAX_BODY);
        int rc = crawl_raw_get(it.url, b->ua, CRAWL_CMP_TIMEOUT_MS, &r);
        crawl_cmp_parse(&it, rc, &r, &l);
        pthread_mutex_lock(&b->mu);
        crawl_cmp_commit(b, &it, rc, r.status, r.location, &l);
        crawl_raw_free(&r);
        b->in_flight--;
        pthread_cond_broadcast(&b->cv);
    }
}

int crawl_cmp_threads(crawl_cmp_base *b, unsigned n)
{
    pthread_t *t = calloc(n, sizeof *t);
    if (!t)
        return -ENOMEM;
    unsigned started = 0;
    for (; started < n; started++)
        if (pthread_create(&t[started], NULL, pool_thread, b) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    return started ? b->t.fatal : -EAGAIN;
}
