#define _GNU_SOURCE
#include "compare_sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/resource.h>
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

static int64_t tv_ns(struct timeval tv) { return (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000; }

/* CPU time of the process (dead threads included) and of the children
 * it reaped. */
static int64_t process_cpu_ns(void)
{
    struct rusage self, kids;
    if (getrusage(RUSAGE_SELF, &self) || getrusage(RUSAGE_CHILDREN, &kids))
        return 0;
    return tv_ns(self.ru_utime) + tv_ns(self.ru_stime) + tv_ns(kids.ru_utime) + tv_ns(kids.ru_stime);
}

/* CPU time of one thread of this process in ns (schedstat's first
 * field), -1 when it is gone. */
static int64_t thread_cpu_ns(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)tid);
    FILE *f = fopen(path, "r");
    long long ns = -1;
    if (f) {
        if (fscanf(f, "%lld", &ns) != 1)
            ns = -1;
        fclose(f);
    }
    return ns;
}

/* The threads there before the mode, the caller aside. */
static void note_others(crawl_cmp_sampler *s)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    pid_t me = gettid();
    struct dirent *e;
    while ((e = readdir(d)) && s->nothers < CRAWL_CMP_OTHERS) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == me)
            continue;
        int64_t ns = thread_cpu_ns(tid);
        if (ns >= 0) {
            s->others[s->nothers].tid = tid;
            s->others[s->nothers++].ns = ns;
        }
    }
    closedir(d);
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
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        s->own_ns = (int64_t)cpu.tv_sec * 1000000000 + cpu.tv_nsec;
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
    note_others(s);
    s->cpu0_ns = process_cpu_ns();
    atomic_init(&s->stop, false);
    return pthread_create(&s->thread, NULL, sample, s) == 0 ? 0 : -EAGAIN;
}

void crawl_cmp_sample_stop(crawl_cmp_sampler *s, int *threads, long *rss_kb, int64_t *cpu_ns)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    int64_t cpu = process_cpu_ns() - s->cpu0_ns - s->own_ns;
    for (size_t i = 0; i < s->nothers; i++) {
        int64_t ns = thread_cpu_ns(s->others[i].tid);
        if (ns > s->others[i].ns) /* gone: what it did is lost in the sum */
            cpu -= ns - s->others[i].ns;
    }
    *cpu_ns = cpu > 0 ? cpu : 0;
    long hwm = 0;
    read_status(NULL, NULL, &hwm);
    /* The sampler and, when it ran, the demo server are not the mode's. */
    *threads = s->threads - (s->before - 1) - 1;
    if (*threads < 1)
        *threads = 1;
    *rss_kb = hwm > s->rss_kb ? hwm : s->rss_kb;
}
