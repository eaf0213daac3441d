/* File-read benchmark: SIZE bytes (default 1 GiB) read in 64 KiB blocks
 * by 16 tasks, three ways, with the loop's latency to a 1 ms timer:
 *   uring     tulip_file_pread on the io_uring backend (reads in the ring)
 *   pool      tulip_file_pread on epoll (each read a thread-pool job)
 *   blocking  plain pread(2) from the tasks (the loop stalls on each)
 * The page cache is dropped for the file (posix_fadvise DONTNEED) before
 * each run, so reads go to the device when it is not all in memory.
 * Prints CSV: mode, MiB/s, timer ticks, mean and worst lateness (µs), and
 * the CPU milliseconds of the loop's thread and of the whole process
 * (pool threads and the kernel's io-wq workers included): the loop's
 * share tells whether the reading was done beside the loop or in it, a
 * figure this shared machine's disk and cache noise does not swamp.
 *
 *   file_read [size_mib=1024] [path=/tmp/tulip-file-read.bin] [order=uring,pool,blocking]
 *
 * order: the modes to run, in that order (the first one after the file was
 * written has measured slower at times: alternate it between runs).
 *
 * The file is made when missing (bounded: size_mib at most 4096). The
 * default path is removed at the end; a path given is kept, so later runs
 * read a file that was not just written. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tulip.h"

#define TASKS 16
#define BLOCK (64 * 1024)

static const char *path;
static int64_t size;
static int blocking;
static int done_tasks;

struct lat {
    int64_t n, sum, worst;
};

static int ticker(void *arg)
{
    struct lat *L = arg;
    while (done_tasks < TASKS) {
        int64_t t0 = tulip_now();
        if (tulip_sleep(TULIP_MS(1)) < 0)
            break;
        int64_t late = tulip_now() - t0 - TULIP_MS(1);
        if (late < 0)
            late = 0;
        L->n++;
        L->sum += late;
        if (late > L->worst)
            L->worst = late;
    }
    return 0;
}

static int reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    int fd = blocking ? open(path, O_RDONLY | O_CLOEXEC) : tulip_file_open(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    char *buf = malloc(BLOCK);
    int64_t slice = size / TASKS, off = slice * i, end = off + slice;
    int rc = 0;
    while (off < end) {
        ssize_t n = blocking ? pread(fd, buf, BLOCK, off) : tulip_file_pread(fd, buf, BLOCK, off);
        if (n <= 0) {
            rc = n < 0 ? (int)n : -EIO;
            break;
        }
        off += n;
        if (blocking)
            tulip_yield(); /* let the others (and the timer) have a turn */
    }
    free(buf);
    if (blocking)
        close(fd);
    else
        tulip_close(fd);
    done_tasks++;
    return rc;
}

static int run(void *arg)
{
    struct lat *L = arg;
    done_tasks = 0;
    tulip_task *tk = tulip_spawn(ticker, L);
    tulip_task *t[TASKS];
    for (int i = 0; i < TASKS; i++)
        t[i] = tulip_spawn(reader, (void *)(intptr_t)i);
    int rc = 0;
    for (int i = 0; i < TASKS; i++) {
        int r = tulip_join(t[i]);
        if (r < 0)
            rc = r;
    }
    tulip_join(tk);
    return rc;
}

static int64_t cpu_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void drop_cache(void)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

static int make_file(void)
{
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size == size)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char *b = malloc(1 << 20);
    memset(b, 'f', 1 << 20);
    for (int64_t off = 0; off < size; off += 1 << 20)
        if (write(fd, b, 1 << 20) != 1 << 20) {
            free(b);
            close(fd);
            return -1;
        }
    free(b);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    int64_t mib = argc > 1 ? atoll(argv[1]) : 1024;
    path = argc > 2 ? argv[2] : "/tmp/tulip-file-read.bin";
    if (mib < 16 || mib > 4096) {
        fprintf(stderr, "file_read: size_mib must be 16..4096\n");
        return 2;
    }
    size = mib << 20;
    if (make_file() < 0) {
        perror("file_read: making the file");
        unlink(path);
        return 1;
    }
    printf("mode,mib_per_s,ticks,mean_late_us,worst_late_us,loop_cpu_ms,proc_cpu_ms\n");
    const char *modes[] = {"uring", "pool", "blocking"};
    const char *order = argc > 3 ? argv[3] : "uring,pool,blocking";
    for (const char *o = order; *o; o += strcspn(o, ",") + (o[strcspn(o, ",")] == ',')) {
        int m = 0;
        while (m < 3 && (strncmp(o, modes[m], strlen(modes[m])) != 0 || (o[strlen(modes[m])] && o[strlen(modes[m])] != ',')))
            m++;
        if (m == 3) {
            fprintf(stderr, "file_read: unknown mode in %s\n", order);
            break;
        }
        tulip_config cfg;
        tulip_config_init(&cfg);
        cfg.backend = m == 0 ? "io_uring" : "epoll";
        blocking = m == 2;
        struct lat L = {0, 0, 0};
        drop_cache();
        tulip_loop *probe = tulip_loop_new(&cfg);
        int have = probe && strcmp(tulip_loop_backend(probe), cfg.backend) == 0;
        tulip_loop_free(probe);
        if (!have) {
            printf("%s,TODO,,,,,\n", modes[m]);
            continue;
        }
        int64_t t0 = tulip_now(), th0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID), pr0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
        int rc = tulip_run_ex(run, &L, &cfg);
        double secs = (double)(tulip_now() - t0) / 1e9;
        double th = (double)(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - th0) / 1e6;
        double pr = (double)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - pr0) / 1e6;
        if (rc < 0) {
            printf("%s,error %s,,,,,\n", modes[m], tulip_strerror(rc));
            continue;
        }
        printf("%s,%.0f,%lld,%.0f,%.0f,%.0f,%.0f\n", modes[m], (double)mib / secs, (long long)L.n,
               L.n ? (double)L.sum / (double)L.n / 1e3 : 0.0, (double)L.worst / 1e3, th, pr);
        fflush(stdout);
    }
    if (argc <= 2)
        unlink(path);
    return 0;
}
