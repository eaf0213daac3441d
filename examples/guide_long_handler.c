/* docs/GUIDE.md, "Long handlers block everyone": a task that computes
 * without parking holds the whole loop. Let the others in every so often
 * (tulip_yield), or hand the work to a thread (tulip_run_blocking). */
#include <stdio.h>
#include <tulip.h>

static int ticks;                  /* the other tasks' progress */
static volatile int stop;

static int ticker(void *arg)
{
    (void)arg;
    while (!stop && tulip_yield() == 0)
        ticks++;
    return 0;
}

static uint64_t crunch(int polite)
{
    uint64_t x = 0;
    for (int i = 0; i < 1000000; i++) {
        x += (uint64_t)i * i;
        if (polite && i % 100000 == 0)
            tulip_yield();         /* let the loop run the others */
    }
    return x;
}

static int crunch_in_thread(void *arg)
{
    *(uint64_t *)arg = crunch(0);  /* on a pool thread: blocks nobody */
    return 0;
}

static int main_task(void *arg)
{
    (void)arg;
    tulip_task *t = tulip_spawn(ticker, NULL);
    tulip_yield();

    int before = ticks;
    uint64_t a = crunch(0);
    int rude = ticks - before;     /* 0: nobody else ran meanwhile */

    before = ticks;
    uint64_t b = crunch(1);
    int polite = ticks - before;

    before = ticks;
    uint64_t c = 0;
    tulip_run_blocking(crunch_in_thread, &c);
    int threaded = ticks - before;

    stop = 1;
    tulip_join(t);
    printf("others ran %d times during a rude crunch, %d during a polite one, "
           "%d while it ran on a thread\n", rude, polite, threaded);
    return a == b && b == c && rude == 0 && polite >= 10 && threaded >= 1 ? 0 : -1;
}

int main(void)
{
    return tulip_run(main_task, NULL) == 0 ? 0 : 1;
}
