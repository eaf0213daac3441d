/* docs/GUIDE.md, "Planning tasks": start related tasks in a group, give
 * the whole plan one deadline, and keep a handle on each child. What is
 * not done at the deadline is cancelled; nothing outlives the group. */
#include <stdio.h>
#include <tulip.h>

static int fetch(void *arg)
{
    int ms = (int)(intptr_t)arg;
    int rc = tulip_sleep(TULIP_MS(ms));
    return rc < 0 ? rc : ms;
}

static int main_task(void *arg)
{
    (void)arg;
    int ms[3] = {50, 150, 400};
    tulip_task *child[3];
    tulip_group *g = tulip_group_new();
    if (!g)
        return -1;
    tulip_scope deadline;
    tulip_scope_enter_timeout(&deadline, TULIP_MS(200));    /* the whole plan */
    for (int i = 0; i < 3; i++)
        child[i] = tulip_group_spawn_task(g, fetch, (void *)(intptr_t)ms[i]);
    int wrc = tulip_group_wait(g);       /* cancels the children at the deadline */
    int src = tulip_scope_exit(&deadline);

    int ok = 0;
    for (int i = 0; i < 3; i++) {
        int r = 0;
        tulip_task_result(child[i], &r);
        printf("child %d (%d ms): %s\n", i, ms[i], r >= 0 ? "done" : tulip_err_name(r));
        ok += (r >= 0) == (ms[i] < 200);
    }
    tulip_group_free(g);
    printf("the plan: %s\n", src == -ETIMEDOUT ? "deadline reached" : "finished");
    return ok == 3 && wrc == -ETIMEDOUT && src == -ETIMEDOUT ? 0 : -1;
}

int main(void)
{
    tulip_config cfg;
    tulip_config_init(&cfg);
    cfg.virtual_clock = true;
    return tulip_run_ex(main_task, NULL, &cfg) == 0 ? 0 : 1;
}
