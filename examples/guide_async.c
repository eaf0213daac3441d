/* docs/GUIDE.md, "Synchronous and asynchronous": three jobs of 100, 200
 * and 300 ms, first one after the other, then all started at once. The
 * loop runs on a virtual clock, so the times printed are exact. */
#include <stdio.h>
#include <tulip.h>

static int job(void *arg)
{
    int ms = (int)(intptr_t)arg;
    return tulip_sleep(TULIP_MS(ms));   /* stands for a download */
}

static int main_task(void *arg)
{
    (void)arg;
    int ms[3] = {100, 200, 300};

    int64_t t0 = tulip_now();
    for (int i = 0; i < 3; i++)         /* synchronous: wait for each */
        job((void *)(intptr_t)ms[i]);
    int64_t sync_ms = (tulip_now() - t0) / TULIP_MS(1);

    t0 = tulip_now();
    tulip_task *t[3];
    for (int i = 0; i < 3; i++)         /* asynchronous: start all, then wait */
        t[i] = tulip_spawn(job, (void *)(intptr_t)ms[i]);
    for (int i = 0; i < 3; i++)
        tulip_join(t[i]);
    int64_t async_ms = (tulip_now() - t0) / TULIP_MS(1);

    printf("one after the other: %lld ms; all at once: %lld ms\n", (long long)sync_ms,
           (long long)async_ms);
    return sync_ms == 600 && async_ms == 300 ? 0 : -1;
}

int main(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = true;
    return tulip_run_ex(main_task, NULL, &cfg) == 0 ? 0 : 1;
}
