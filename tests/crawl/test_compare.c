/* --compare: each of the six modes fetches exactly the model's URL set of
 * a small demo site served from its own thread, and leaves no process
 * behind. No timings asserted. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"
#include "compare_base.h"
#include "links.h"

/* Every worker process was reaped: no child left, not even a zombie. */
static void assert_no_children(void)
{
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* The URLs the model says a crawl of d fetches. */
static size_t model_fetches(crawl_demo *d)
{
    crawl_site_expect e;
    assert_int_equal(crawl_site_expected(crawl_demo_site(d), crawl_demo_origin(d), &e), 0);
    size_t fetched = 0;
    for (size_t i = 0; i < e.n; i++)
        fetched += (e.v[i].flags & CRAWL_SITE_FETCHED) != 0;
    crawl_site_expect_free(&e);
    return fetched;
}

static void test_modes_fetch_full_set(void **state)
{
    (void)state;
    static const struct { unsigned pages, links; uint64_t seed; } sites[] = { { 7, 2, 0 }, { 30, 4, 5 } };
    for (size_t s = 0; s < sizeof sites / sizeof sites[0]; s++) {
        crawl_demo_opts o = { .site = { .pages = sites[s].pages, .links_per_page = sites[s].links,
                                        .seed = sites[s].seed } };
        crawl_demo *d = crawl_demo_new(&o);
        assert_non_null(d);
        assert_int_equal(crawl_demo_start_thread(d), 0);
        size_t fetched = model_fetches(d);
        crawl_mode_result r[CRAWL_NMODES];
        for (int m = 0; m < CRAWL_NMODES; m++) {
            assert_int_equal(crawl_compare_mode((enum crawl_mode)m, crawl_demo_site(d), crawl_demo_origin(d),
                                                4, NULL, 2, &r[m]),
                             0);
            assert_int_equal(r[m].mismatches, 0);
            assert_int_equal(r[m].fetched, fetched);
            assert_int_equal(r[m].errors, 0);
            assert_true(r[m].peak_threads >= 1);
            assert_int_equal(r[m].processes, m == CRAWL_PROCESSES ? 5 : 1);
            assert_int_equal(r[m].loops, m == CRAWL_TASKS_CORES ? 2 : 1);
            assert_true(r[m].cpu_s > 0); /* every mode parses pages */
            assert_true(r[m].cpu_per_page_us > 0);
            assert_no_children();
        }
        crawl_demo_stop(d);
        crawl_demo_free(d);

        /* the printers produce what they promise */
        char path[] = "/tmp/tulip-compare-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(crawl_compare_svg(path, r, CRAWL_NMODES, "a <title> & more"), 0);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        unlink(path);
        assert_non_null(strstr(buf, "<svg"));
        assert_non_null(strstr(buf, "a &lt;title&gt; &amp; more"));
        assert_non_null(strstr(buf, "callbacks"));
        assert_non_null(strstr(buf, "5 processes"));
        assert_non_null(strstr(buf, "tasks on 2 cores"));
        assert_non_null(strstr(buf, "</svg>"));
        f = tmpfile();
        assert_non_null(f);
        crawl_compare_print(f, r, CRAWL_NMODES, 0);
        rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        assert_non_null(strstr(buf, "sequential"));
        assert_non_null(strstr(buf, "tasks"));
        assert_non_null(strstr(buf, "processes"));
        assert_non_null(strstr(buf, "tasks on 2 cores"));
        assert_non_null(strstr(buf, "CPU/page"));
        assert_null(strstr(buf, "NO"));
    }
    assert_int_equal(crawl_compare_svg("/nonexistent-dir/x.svg", NULL, 0, ""), -ENOENT);
}

/* Tasks on N cores finds the model's URL set for any N (issue 13: the
 * crawler with --workers 1, 2, 4), each fetched once; N is never more
 * than the tasks, and 0 means one loop per core this process may use. */
static void test_tasks_cores_any_n(void **state)
{
    (void)state;
    crawl_demo_opts o = { .site = { .pages = 40, .links_per_page = 4, .seed = 3 } };
    crawl_demo *d = crawl_demo_new(&o);
    assert_non_null(d);
    assert_int_equal(crawl_demo_start_thread(d), 0);
    size_t fetched = model_fetches(d);
    static const struct { unsigned conc, ask, loops; const char *name; } cases[] = {
        { 4, 1, 1, "tasks on 1 core" },  { 4, 2, 2, "tasks on 2 cores" }, { 4, 4, 4, "tasks on 4 cores" },
        { 3, 8, 3, "tasks on 3 cores" }, { 1, 2, 1, "tasks on 1 core" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crawl_mode_result r;
        assert_int_equal(crawl_compare_mode(CRAWL_TASKS_CORES, crawl_demo_site(d), crawl_demo_origin(d),
                                            cases[i].conc, NULL, cases[i].ask, &r),
                         0);
        assert_int_equal(r.loops, cases[i].loops);
        assert_string_equal(r.name, cases[i].name);
        assert_int_equal(r.mismatches, 0);
        assert_int_equal(r.fetched, fetched);
        assert_int_equal(r.errors, 0);
        assert_true(r.peak_threads >= 1);
    }
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    long cores = CPU_COUNT(&set);
    crawl_mode_result r;
    assert_int_equal(crawl_compare_mode(CRAWL_TASKS_CORES, crawl_demo_site(d), crawl_demo_origin(d), 64, NULL, 0,
                                        &r),
                     0);
    assert_int_equal(r.loops, cores > 1 ? (unsigned)(cores < 64 ? cores : 64) : 1u);
    assert_int_equal(r.mismatches, 0);
    crawl_demo_stop(d);
    crawl_demo_free(d);
}

/* One is_html: the crawler (crawler.c) and --compare (compare_base.c)
 * parse the same responses, XHTML included, so both find the same URLs. */
static void test_one_is_html(void **state)
{
    (void)state;
    static const struct { const char *ctype; bool html; } cases[] = {
        { "text/html", true },
        { "text/html; charset=utf-8", true },
        { "TEXT/HTML;charset=latin1", true },
        { "application/xhtml+xml", true },
        { "application/xhtml+xml; charset=utf-8", true },
        { "Application/XHTML+XML", true },
        { "text/htmlx", false },
        { "application/xhtml+xmlx", false },
        { "application/xml", false },
        { "text/plain", false },
        { "", false },
        { NULL, false },
    };
    static const char body[] = "<html><body><a href=\"/next\">n</a></body></html>";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(crawl_is_html(cases[i].ctype), cases[i].html);
        crawl_raw r;
        crawl_raw_init(&r, 1 << 20);
        r.status = 200;
        r.content_type = cases[i].ctype ? strdup(cases[i].ctype) : NULL;
        assert_int_equal(crawl_buf_append(&r.body, body, sizeof body - 1), 0);
        crawl_cmp_item it = { .url = (char *)"http://127.0.0.1:1/page" };
        crawl_links l;
        crawl_cmp_parse(&it, 0, &r, &l);
        assert_int_equal(l.n, cases[i].html ? 1 : 0);
        if (cases[i].html)
            assert_string_equal(l.urls[0], "http://127.0.0.1:1/next");
        crawl_links_free(&l);
        crawl_raw_free(&r);
    }
}

/* The site gone (every connection refused): the pool starts, finds
 * nothing to fetch past robots.txt, and every worker is reaped; the
 * result differs from the model. */
static void test_processes_reaped_when_site_is_gone(void **state)
{
    (void)state;
    crawl_demo_opts o = { .site = { .pages = 7, .links_per_page = 2 } };
    crawl_demo *d = crawl_demo_new(&o);
    assert_non_null(d);
    assert_int_equal(crawl_demo_start_thread(d), 0);
    char origin[64];
    snprintf(origin, sizeof origin, "%s", crawl_demo_origin(d));
    crawl_demo_stop(d);
    crawl_mode_result r;
    assert_int_equal(crawl_compare_mode(CRAWL_PROCESSES, crawl_demo_site(d), origin, 3, NULL, 0, &r), 0);
    assert_true(r.mismatches > 0);
    assert_int_equal(r.fetched, 0);
    assert_no_children();
    crawl_demo_free(d);
}

/* A child of this process, or 0: scans /proc for a parent pid of ours. */
static pid_t some_child(void)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char path[300], buf[512];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')'); /* "pid (comm) state ppid ..." */
        int ppid;
        char st;
        if (p && sscanf(p + 1, " %c %d", &st, &ppid) == 2 && ppid == (int)getpid() && st != 'Z')
            found = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return found;
}

typedef struct run_arg {
    crawl_demo *d;
    crawl_mode_result r;
    int rc;
} run_arg;

static void *run_processes(void *arg)
{
    run_arg *a = arg;
    a->rc = crawl_compare_mode(CRAWL_PROCESSES, crawl_demo_site(a->d), crawl_demo_origin(a->d), 3, NULL, 0,
                               &a->r);
    return NULL;
}

/* A worker killed while the pool works (each answer takes 1 s): the mode
 * fails, and kills and reaps the other workers. */
static void test_processes_reaped_when_a_worker_dies(void **state)
{
    (void)state;
    crawl_demo_opts o = { .site = { .pages = 7, .links_per_page = 2 }, .latency_ns = 1000000000 };
    run_arg a = { .d = crawl_demo_new(&o) };
    assert_non_null(a.d);
    assert_int_equal(crawl_demo_start_thread(a.d), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_processes, &a), 0);
    pid_t victim;
    while (!(victim = some_child())) /* the pool starts after robots.txt */
        sched_yield();
    assert_int_equal(kill(victim, SIGKILL), 0);
    pthread_join(t, NULL);
    /* busy: its answer never comes; idle: the next URL cannot be sent */
    assert_true(a.rc == -ECHILD || a.rc == -EPIPE || a.rc == -ECONNRESET || a.rc == 0);
    assert_no_children();
    crawl_demo_stop(a.d);
    crawl_demo_free(a.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_fetch_full_set),
        cmocka_unit_test(test_tasks_cores_any_n),
        cmocka_unit_test(test_one_is_html),
        cmocka_unit_test(test_processes_reaped_when_site_is_gone),
        cmocka_unit_test(test_processes_reaped_when_a_worker_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
