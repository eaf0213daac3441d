/* docs/GUIDE.md, "Callback hell": the same three steps (wait, wait, wait,
 * then report) written as callbacks, where each step must name the next
 * and carry the state along, and as a task, where they are three lines. */
#include <stdio.h>
#include <tulip.h>

/* ---- with callbacks ---- */
struct steps {
    tulip_loop *loop;
    int done;
};

static void step3(void *arg)
{
    struct steps *s = arg;
    s->done++;
    printf("callbacks: three steps done\n");
}

static void step2(void *arg)
{
    struct steps *s = arg;
    s->done++;
    tulip_call_later(s->loop, TULIP_MS(1), step3, s);   /* and then ... */
}

static void step1(void *arg)
{
    struct steps *s = arg;
    s->done++;
    tulip_call_later(s->loop, TULIP_MS(1), step2, s);   /* and then ... */
}

/* ---- as a task ---- */
static int steps_task(void *arg)
{
    int *done = arg;
    for (int i = 0; i < 3; i++) {
        if (tulip_sleep(TULIP_MS(1)) < 0)
            return -1;
        ++*done;
    }
    printf("task:      three steps done\n");
    return 0;
}

int main(void)
{
    tulip_loop *l = tulip_loop_new(NULL);
    if (!l)
        return 1;
    struct steps s = {l, 0};
    tulip_call_later(l, TULIP_MS(1), step1, &s);
    tulip_loop_run(l);                    /* runs until nothing is left */
    tulip_loop_free(l);

    int done = 0;
    int rc = tulip_run(steps_task, &done);
    return rc == 0 && s.done == 3 && done == 3 ? 0 : 1;
}
