/* docs/GUIDE.md, "Blocking and non-blocking": a read that would block
 * parks the task instead, and the thread runs other tasks meanwhile. */
#include <stdio.h>
#include <unistd.h>
#include <tulip.h>

static int ticks;   /* how often the other task ran while the reader waited */

static int reader(void *arg)
{
    int fd = *(int *)arg;
    char buf[16];
    ssize_t n = tulip_read(fd, buf, sizeof buf);   /* parks: nothing to read yet */
    if (n < 0)
        return (int)n;
    printf("reader: got \"%.*s\" after the other task ran %d times\n", (int)n, buf, ticks);
    return ticks == 3 ? 0 : -1;
}

static int main_task(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) < 0)
        return -1;
    tulip_task *t = tulip_spawn(reader, &p[0]);
    while (ticks < 3) {          /* the reader is parked, so this task runs */
        ticks++;
        tulip_yield();
    }
    tulip_write(p[1], "hello", 5);   /* now the reader can go on */
    int rc = tulip_join(t);
    tulip_close(p[0]);
    tulip_close(p[1]);
    return rc;
}

int main(void)
{
    return tulip_run(main_task, NULL) == 0 ? 0 : 1;
}
