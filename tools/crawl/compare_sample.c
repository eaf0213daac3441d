#define _GNU_SOURCE
#include "compare_sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void read_status(int *threads, long *rss_kb, long *hwm_kb)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (threads && strncmp(line, "Threads:", 8) == 0)
            *threads = atoi(line + 8);
        else if (rss_kb && strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = atol(line + 6);
        else if (hwm_kb && strncmp(line, "VmHWM:", 6) == 0)
            *hwm_kb = atol(line + 6);
    }
    fclose(f);
}

static void *sample(void *arg)
{
    crawl_cmp_sampler *s = arg;
    while (!atomic_load(&s->stop)) {
        int th = 0;
        long rss = 0;
        read_status(&th, &rss, NULL);
        if (th > s->threads)
            s->threads = th;
        if (rss > s->rss_kb)
            s->rss_kb = rss;
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int crawl_cmp_sample_start(crawl_cmp_sampler *s)
{
    /* VmHWM would keep the previous modes' peak: reset it (Linux >= 4.0). */
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "5", 1) < 0) { /* best effort: the sampler still sees VmRSS */
        }
        close(fd);
    }
    memset(s, 0, sizeof *s);
    read_status(&s->before, NULL, NULL);
    s->threads = s->before;
    atomic_init(&s->stop, false);
    return pthread_create(&s->thread, NULL, sample, s) == 0 ? 0 : -EAGAIN;
}

void crawl_cmp_sample_stop(crawl_cmp_sampler *s, int *threads, long *rss_kb)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    long hwm = 0;
    read_status(NULL, NULL, &hwm);
    /* The sampler and, when it ran, the demo server are not the mode's. */
    *threads = s->threads - (s->before - 1) - 1;
    if (*threads < 1)
        *threads = 1;
    *rss_kb = hwm > s->rss_kb ? hwm : s->rss_kb;
}
