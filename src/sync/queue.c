/* Queue: asyncio.Queue for C, items copied in and out by value.
 *
 * Storage is one array of slots used as a ring (FIFO), a stack (LIFO) or a
 * binary min-heap (PRIORITY), plus one scratch slot at the end for heap
 * moves. A bounded queue allocates all of it up front, so its steady state
 * never allocates; an unbounded one doubles when full.
 *
 * Hand-offs keep waiters FIFO and make cancellation lossless: a put that
 * finds a getter waiting copies the item straight into the getter's wait
 * block, and a get that frees a slot moves the first waiting putter's item
 * in from its block.
 * Either way the waiter is woken already satisfied, and the parking
 * protocol guarantees its cancel hook can no longer run, so nothing handed
 * over is ever dropped.
 *
 * Queues work across loops (tasks of any loop, try_ calls from any
 * thread), like channels and for the same reason: one object, behind a
 * guard that is a mutex only once a second thread uses it (xguard.h), with
 * parked operations claimed once by a peer or by cancellation (xwait.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "sync_internal.h"
#include "../common/fault.h"
#include "../common/grow.h"

#define QUEUE_MIN_SLOTS 16
/* Priority slots hold a sequence number before the item, so equal items
 * leave in put order; the item stays aligned for any type. */
#define PRIO_HDR (((sizeof(uint64_t) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t)) * _Alignof(max_align_t))

struct tulip_queue {
    uint32_t magic;
    struct tulip__xguard g;        /* guards everything below */
    uint8_t kind;
    uint8_t shut;
    size_t item_size;
    size_t stride;                 /* bytes per slot (>= 1) */
    size_t hdr;                    /* offset of the item within a slot */
    size_t capacity;               /* 0: unbounded */
    size_t alloc;                  /* slots, not counting the scratch slot */
    size_t head, count;
    size_t unfinished;
    uint64_t seq;
    unsigned char *buf;
    tulip_queue_cmp cmp;
    struct tulip__waitq getters, putters, joiners;
};

static tulip_queue *Q(tulip_queue *q)
{
    return q && q->magic == TULIP__QUEUE_MAGIC ? q : NULL;
}

static unsigned char *slot(tulip_queue *q, size_t i)
{
    return q->buf + i * q->stride;
}

tulip_queue *tulip_queue_new(size_t item_size, size_t capacity, tulip_queue_kind kind, tulip_queue_cmp cmp)
{
    if ((unsigned)kind > TULIP_QUEUE_PRIORITY || (kind == TULIP_QUEUE_PRIORITY && !cmp)) {
        errno = EINVAL;
        return NULL;
    }
    size_t align = _Alignof(max_align_t);
    size_t hdr = 0, stride = item_size ? item_size : 1;
    if (kind == TULIP_QUEUE_PRIORITY) {
        hdr = PRIO_HDR;
        if (item_size > SIZE_MAX / 2 - hdr - align) {
            errno = EINVAL;
            return NULL;
        }
        stride = hdr + (item_size + align - 1) / align * align;
    }
    size_t alloc = capacity ? capacity : QUEUE_MIN_SLOTS;
    if (alloc >= SIZE_MAX / stride - 1) {
        errno = EINVAL;
        return NULL;
    }
    tulip_queue *q = tulip__calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->buf = tulip__malloc((alloc + 1) * stride);
    if (!q->buf) {
        free(q);
        errno = ENOMEM;
        return NULL;
    }
    tulip__xguard_init(&q->g);
    q->magic = TULIP__QUEUE_MAGIC;
    q->kind = (uint8_t)kind;
    q->item_size = item_size;
    q->stride = stride;
    q->hdr = hdr;
    q->capacity = capacity;
    q->alloc = alloc;
    q->cmp = cmp;
    return q;
}

/* ---- storage ---------------------------------------------------------------- */

static int grow(tulip_queue *q)
{
    size_t old = q->alloc;
    size_t slots = old + 1; /* with the scratch slot */
    /* The one growth rule (common/grow.h): the slots double. */
    if (tulip__grow(&q->buf, &slots, slots + 1, 0, SIZE_MAX, q->stride) < 0)
        return -ENOMEM;
    q->alloc = slots - 1;
    /* Unwrap the ring: the part that wrapped to the front moves after the
     * old end, which the doubling made room for. */
    if (q->kind == TULIP_QUEUE_FIFO && q->head + q->count > old)
        tulip__copy(slot(q, old), slot(q, 0), (q->head + q->count - old) * q->stride);
    return 0;
}

static int less(tulip_queue *q, const unsigned char *a, const unsigned char *b)
{
    int c = q->cmp(a + q->hdr, b + q->hdr);
    if (c)
        return c < 0;
    uint64_t sa, sb;
    __builtin_memcpy(&sa, a, sizeof sa);
    __builtin_memcpy(&sb, b, sizeof sb);
    return sa < sb;
}

static void heap_push(tulip_queue *q, const void *item)
{
    unsigned char *tmp = slot(q, q->alloc);
    uint64_t seq = q->seq++;
    __builtin_memcpy(tmp, &seq, sizeof seq);
    tulip__copy(tmp + q->hdr, item, q->item_size);
    size_t i = q->count++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(q, tmp, slot(q, p)))
            break;
        __builtin_memcpy(slot(q, i), slot(q, p), q->stride);
        i = p;
    }
    __builtin_memcpy(slot(q, i), tmp, q->stride);
}

static void heap_pop(tulip_queue *q, void *out)
{
    tulip__copy(out, slot(q, 0) + q->hdr, q->item_size);
    if (--q->count == 0)
        return;
    unsigned char *tmp = slot(q, q->alloc);
    __builtin_memcpy(tmp, slot(q, q->count), q->stride);
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->count)
            break;
        if (c + 1 < q->count && less(q, slot(q, c + 1), slot(q, c)))
            c++;
        if (!less(q, slot(q, c), tmp))
            break;
        __builtin_memcpy(slot(q, i), slot(q, c), q->stride);
        i = c;
    }
    __builtin_memcpy(slot(q, i), tmp, q->stride);
}

/* Store a copy of item; the caller checked there is room in a bounded
 * queue. Errors: -ENOMEM (unbounded growth failed). */
static int store(tulip_queue *q, const void *item)
{
    if (q->count == q->alloc) {
        int rc = grow(q);
        if (rc < 0)
            return rc;
    }
    switch (q->kind) {
    case TULIP_QUEUE_FIFO:
        tulip__copy(slot(q, (q->head + q->count) % q->alloc), item, q->item_size);
        q->count++;
        break;
    case TULIP_QUEUE_LIFO:
        tulip__copy(slot(q, q->count), item, q->item_size);
        q->count++;
        break;
    default:
        heap_push(q, item);
        break;
    }
    return 0;
}

static void fetch(tulip_queue *q, void *out)
{
    switch (q->kind) {
    case TULIP_QUEUE_FIFO:
        tulip__copy(out, slot(q, q->head), q->item_size);
        q->head = (q->head + 1) % q->alloc;
        q->count--;
        break;
    case TULIP_QUEUE_LIFO:
        tulip__copy(out, slot(q, q->count - 1), q->item_size);
        q->count--;
        break;
    default:
        heap_pop(q, out);
        break;
    }
}

/* ---- the operations without waiting --------------------------------------------- */

/* Errors: -EAGAIN (full), -ENOMEM. The caller checked shutdown. */
static int admit(tulip_queue *q, const void *item)
{
    /* Getters wait only on an empty queue, so the item goes straight to
     * the longest-waiting one. */
    struct tulip__xwaiter *g = tulip__xq_pop(&q->getters);
    if (g) {
        tulip__copy(g->w.data, item, q->item_size);
        q->unfinished++;
        tulip__xwait_fire(g, 0);
        return 0;
    }
    if (q->capacity && q->count >= q->capacity)
        return -EAGAIN;
    int rc = store(q, item);
    if (rc < 0)
        return rc;
    q->unfinished++;
    return 0;
}

/* Errors: -EAGAIN (empty), -ESHUTDOWN (empty and shut down). */
static int take(tulip_queue *q, void *out)
{
    if (q->count == 0)
        return q->shut ? -ESHUTDOWN : -EAGAIN;
    fetch(q, out);
    /* A slot just freed: admit the first waiting putter (only bounded
     * queues have them, so store cannot fail). */
    struct tulip__xwaiter *p = tulip__xq_pop(&q->putters);
    if (p) {
        (void)store(q, p->w.data);
        q->unfinished++;
        tulip__xwait_fire(p, 0);
    }
    return 0;
}

static void wake_all(struct tulip__waitq *wq, int result)
{
    struct tulip__xwaiter *w;
    while ((w = tulip__xq_pop(wq)))
        tulip__xwait_fire(w, result);
}

int tulip_queue_try_put(tulip_queue *q, const void *item)
{
    if (!Q(q) || (!item && q->item_size))
        return -EINVAL;
    int owned = tulip__xguard_enter(&q->g);
    int rc = q->shut ? -ESHUTDOWN : admit(q, item);
    tulip__xguard_exit(&q->g, owned);
    return rc;
}

int tulip_queue_try_get(tulip_queue *q, void *item)
{
    if (!Q(q) || (!item && q->item_size))
        return -EINVAL;
    int owned = tulip__xguard_enter(&q->g);
    int rc = take(q, item);
    tulip__xguard_exit(&q->g, owned);
    return rc;
}

/* ---- waiting ---------------------------------------------------------------------- */

/* Link the running task on wq (inside q's guard, entered as owned says)
 * and wait, leaving the guard first. */
static inline __attribute__((always_inline)) int wait_on(tulip_queue *q, int owned, struct tulip__waitq *wq,
                                                         void *data)
{
    return tulip__xwait_one(wq, &q->g, owned, data, data ? q->item_size : 0, wq == &q->putters,
                            TULIP__WAIT_QUEUE, q);
}

/* Checks shared by the waiting calls: 0 to go on. */
static int enter(tulip_queue *q, const void *item, int need_item)
{
    if (!Q(q) || (need_item && !item && q->item_size))
        return -EINVAL;
    return tulip__wait_enter(NULL);
}

int tulip_queue_put(tulip_queue *q, const void *item)
{
    int rc = enter(q, item, 1);
    if (rc)
        return rc;
    int owned = tulip__xguard_enter(&q->g);
    rc = q->shut ? -ESHUTDOWN : admit(q, item);
    if (rc != -EAGAIN) {
        tulip__xguard_exit(&q->g, owned);
        return rc;
    }
    return wait_on(q, owned, &q->putters, (void *)item);
}

int tulip_queue_get(tulip_queue *q, void *item)
{
    int rc = enter(q, item, 1);
    if (rc)
        return rc;
    int owned = tulip__xguard_enter(&q->g);
    rc = take(q, item);
    if (rc != -EAGAIN) {
        tulip__xguard_exit(&q->g, owned);
        return rc;
    }
    return wait_on(q, owned, &q->getters, item);
}

int tulip_queue_task_done(tulip_queue *q)
{
    if (!Q(q))
        return -EINVAL;
    int owned = tulip__xguard_enter(&q->g);
    int rc = 0;
    if (q->unfinished == 0)
        rc = -EINVAL;
    else if (--q->unfinished == 0)
        wake_all(&q->joiners, 0);
    tulip__xguard_exit(&q->g, owned);
    return rc;
}

int tulip_queue_join(tulip_queue *q)
{
    int rc = enter(q, NULL, 0);
    if (rc)
        return rc;
    int owned = tulip__xguard_enter(&q->g);
    if (q->unfinished == 0) {
        tulip__xguard_exit(&q->g, owned);
        return 0;
    }
    return wait_on(q, owned, &q->joiners, NULL);
}

size_t tulip_queue_size(const tulip_queue *q)
{
    if (!q || q->magic != TULIP__QUEUE_MAGIC)
        return 0;
    tulip_queue *m = (tulip_queue *)q;
    int owned = tulip__xguard_enter(&m->g);
    size_t n = m->count;
    tulip__xguard_exit(&m->g, owned);
    return n;
}

size_t tulip_queue_unfinished(const tulip_queue *q)
{
    if (!q || q->magic != TULIP__QUEUE_MAGIC)
        return 0;
    tulip_queue *m = (tulip_queue *)q;
    int owned = tulip__xguard_enter(&m->g);
    size_t n = m->unfinished;
    tulip__xguard_exit(&m->g, owned);
    return n;
}

int tulip_queue_shutdown(tulip_queue *q, bool immediate)
{
    if (!Q(q))
        return -EINVAL;
    int owned = tulip__xguard_enter(&q->g);
    int already = q->shut;
    q->shut = 1;
    wake_all(&q->putters, -ESHUTDOWN);
    if (immediate && q->count) {
        q->unfinished -= q->count;
        q->count = 0;
        q->head = 0;
        if (q->unfinished == 0)
            wake_all(&q->joiners, 0);
    }
    wake_all(&q->getters, -ESHUTDOWN);
    tulip__xguard_exit(&q->g, owned);
    return already ? -EALREADY : 0;
}

struct tulip__xguard *tulip__queue_guard(tulip_queue *q)
{
    return &q->g;
}

int tulip_queue_free(tulip_queue *q)
{
    if (!q)
        return 0;
    if (!Q(q))
        return -EINVAL;
    int owned = tulip__xguard_enter(&q->g);
    int busy = tulip__xq_live(&q->getters) || tulip__xq_live(&q->putters) || tulip__xq_live(&q->joiners) ||
               q->getters.n || q->putters.n || q->joiners.n;
    tulip__xguard_exit(&q->g, owned);
    if (busy)
        return -EBUSY;
    q->magic = 0;
    tulip__xguard_fini(&q->g);
    free(q->buf);
    free(q);
    return 0;
}
