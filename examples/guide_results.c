/* docs/GUIDE.md, "Getting results back": a task's int comes back through
 * tulip_join; anything else (a pointer, from a callback or another
 * thread) through a future. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <tulip.h>

static int square(void *arg)
{
    int x = (int)(intptr_t)arg;
    tulip_yield();
    return x * x;                       /* the task's result */
}

static void *other_thread(void *arg)    /* not a task: a plain thread */
{
    tulip_future_resolve(arg, "made on another thread");
    return NULL;
}

static int main_task(void *arg)
{
    (void)arg;
    tulip_task *t = tulip_spawn(square, (void *)(intptr_t)12);
    int sq = tulip_join(t);             /* waits, then gives the result */

    tulip_future *f = tulip_future_new();
    pthread_t th;
    if (!f || pthread_create(&th, NULL, other_thread, f) != 0)
        return -1;
    void *value = NULL;
    int rc = tulip_future_await(f, &value);   /* parks until resolved */
    pthread_join(th, NULL);
    tulip_future_free(f);

    printf("join: %d; future: %s\n", sq, rc == 0 ? (char *)value : "?");
    return sq == 144 && rc == 0 && strcmp(value, "made on another thread") == 0 ? 0 : -1;
}

int main(void)
{
    return tulip_run(main_task, NULL) == 0 ? 0 : 1;
}
