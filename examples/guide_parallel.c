/* docs/GUIDE.md, "Concurrency and parallelism": tasks of one loop take
 * turns on one thread (concurrency); worker loops on other threads run at
 * the same time (parallelism). Here two halves of a sum run in parallel. */
#include <stdio.h>
#include <tulip.h>

struct part {
    uint64_t from, to, sum;
};

static int add_up(void *arg)            /* CPU work: runs on a worker thread */
{
    struct part *p = arg;
    for (uint64_t i = p->from; i < p->to; i++)
        p->sum += i;
    return 0;
}

struct job {
    tulip_workers *w;
    struct part *part;
};

static int offload(void *arg)           /* a task waiting for one worker */
{
    struct job *j = arg;
    return tulip_workers_run(j->w, add_up, j->part);
}

static int main_task(void *arg)
{
    (void)arg;
    tulip_workers *w = tulip_workers_new(2, NULL);
    if (!w)
        return -1;
    struct part parts[2] = {{0, 500000, 0}, {500000, 1000000, 0}};
    struct job jobs[2] = {{w, &parts[0]}, {w, &parts[1]}};
    tulip_task *t0 = tulip_spawn(offload, &jobs[0]);   /* concurrently ... */
    tulip_task *t1 = tulip_spawn(offload, &jobs[1]);
    int rc = tulip_join(t0) | tulip_join(t1);          /* ... and in parallel */
    tulip_workers_free(w);
    uint64_t sum = parts[0].sum + parts[1].sum;
    printf("sum of 0..999999 = %llu on %d threads\n", (unsigned long long)sum, 2);
    return rc == 0 && sum == 499999500000ull ? 0 : -1;
}

int main(void)
{
    return tulip_run(main_task, NULL) == 0 ? 0 : 1;
}
