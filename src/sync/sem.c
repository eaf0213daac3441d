/* Counting semaphore, optionally bounded. A release with waiters passes
 * the permit straight to the first of them, so the count stays 0 and a
 * newcomer's try_acquire cannot steal it. */
#define _GNU_SOURCE
#include <errno.h>

#include "sync_internal.h"

struct tulip__sem {
    uint32_t magic;
    size_t value;
    size_t max;                    /* 0: unbounded */
    struct tulip__waitq waiters;
};

TULIP__FITS_STORAGE(struct tulip__sem, tulip_sem);

static struct tulip__sem *S(const tulip_sem *ps)
{
    return tulip__sync_of(ps, TULIP__SEM_MAGIC);
}

int tulip_sem_init(tulip_sem *ps, size_t value, size_t max)
{
    if (!ps || (max && value > max))
        return -EINVAL;
    *(struct tulip__sem *)(void *)ps = (struct tulip__sem){ .magic = TULIP__SEM_MAGIC, .value = value, .max = max };
    return 0;
}

int tulip_sem_acquire(tulip_sem *ps)
{
    struct tulip__sem *s = S(ps);
    if (!s)
        return -EINVAL;
    int st = tulip__wait_enter(NULL);
    if (st)
        return st;
    if (s->value > 0) {
        s->value--;
        return 0;
    }
    int rc = tulip__waitq_wait_self(&s->waiters, TULIP__WAIT_SEM, s);
    tulip__keep_frame();
    return rc;
}

int tulip_sem_try_acquire(tulip_sem *ps)
{
    struct tulip__sem *s = S(ps);
    if (!s)
        return -EINVAL;
    if (s->value == 0)
        return -EAGAIN;
    s->value--;
    return 0;
}

int tulip_sem_release(tulip_sem *ps)
{
    struct tulip__sem *s = S(ps);
    if (!s)
        return -EINVAL;
    if (tulip__waitq_wake_one(&s->waiters, 0))
        return 0;
    if (s->max ? s->value >= s->max : s->value == SIZE_MAX)
        return -EOVERFLOW;
    s->value++;
    return 0;
}

size_t tulip_sem_value(const tulip_sem *ps)
{
    const struct tulip__sem *s = S(ps);
    return s ? s->value : 0;
}
