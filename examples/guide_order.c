/* docs/GUIDE.md, "Unpredictable order": tasks finish in the order their
 * work ends, not the order they started. Keep each result in its own slot
 * (here tulip_gather's results[i]) and the outcome no longer depends on
 * who came first. */
#include <stdio.h>
#include <tulip.h>

static int finished[3], n_finished;

static int fetch(void *arg)
{
    int i = (int)(intptr_t)arg;
    int ms[3] = {30, 10, 20};              /* the network decides, not us */
    int rc = tulip_sleep(TULIP_MS(ms[i]));
    finished[n_finished++] = i;
    return rc < 0 ? rc : 100 + i;
}

static int main_task(void *arg)
{
    (void)arg;
    tulip_fn fns[3] = {fetch, fetch, fetch};
    void *args[3] = {(void *)0, (void *)1, (void *)2};
    int results[3];
    int rc = tulip_gather(3, fns, args, results);
    printf("finished in the order %d %d %d\n", finished[0], finished[1], finished[2]);
    printf("results in the order asked: %d %d %d\n", results[0], results[1], results[2]);
    return rc == 0 && finished[0] == 1 && results[0] == 100 && results[2] == 102 ? 0 : -1;
}

int main(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = true;              /* the same order on every run */
    return tulip_run_ex(main_task, NULL, &cfg) == 0 ? 0 : 1;
}
