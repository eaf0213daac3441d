#define _GNU_SOURCE
#include "state.h"
#include "buf.h"
#include "warc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What one visit produced, held until its commit. */
typedef struct pending {
    crawl_buf rows, warc, journal;
    bool open;
} pending;

typedef struct robots_rec {
    struct robots_rec *next;
    char *origin;
    int status; /* or a negative errno */
    char *body;
    size_t len;
} robots_rec;

struct crawl_state {
    crawl_state_opts o;
    int out_fd, jfd;
    bool out_stdout;
    uint64_t out_off;
    crawl_warc *warc;
    robots_rec *robots;
    /* the journal as read at open, for the replay */
    char *jmap;
    size_t jlen;
    bool has_urls;
    char key; /* address used as the task-local key */
};

static void fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ---- journal reading ---------------------------------------------------- */

typedef struct last_done {
    bool any;
    uint64_t out_off, warc_off;
    unsigned warc_serial;
} last_done;

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* The line [p, nl) as a C string in *buf: sscanf on the mapped journal
 * would strlen the rest of the file at every call. */
static const char *line_str(const char *p, const char *nl, char **buf, size_t *cap)
{
    size_t n = (size_t)(nl - p);
    if (n + 1 > *cap) {
        char *b = realloc(*buf, n * 2 + 64);
        if (!b)
            return NULL;
        *buf = b;
        *cap = n * 2 + 64;
    }
    memcpy(*buf, p, n);
    (*buf)[n] = '\0';
    return *buf;
}

/* One pass over the journal: the options line, the last done line, the
 * robots records, the WARC stamp; returns the length of its whole lines. */
static size_t scan(crawl_state *s, last_done *ld, char *stamp, const char **opts, size_t *opts_len, int *rc)
{
    const char *p = s->jmap, *end = s->jmap + s->jlen, *good = p;
    char *lb = NULL;
    size_t lcap = 0;
    *rc = 0;
    while (p < end) {
        const char *nl = line_end(p, end);
        if (nl == end)
            break; /* torn last line */
        const char *line = (*p == 'D' || *p == 'C' || *p == 'R') ? line_str(p, nl, &lb, &lcap) : p;
        if (!line) {
            *rc = -ENOMEM;
            break;
        }
        if (*p == 'O') {
            *opts = p + 2;
            *opts_len = (size_t)(nl - p - 2);
        } else if (*p == 'W' && nl - p == 16) {
            memcpy(stamp, p + 2, 14);
            stamp[14] = '\0';
        } else if (*p == 'D' || *p == 'C') {
            int depth, status;
            if (sscanf(line + 1, " %d %d %" SCNu64 " %u %" SCNu64, &depth, &status, &ld->out_off, &ld->warc_serial,
                       &ld->warc_off) == 5)
                ld->any = true;
        } else if (*p == 'A' || *p == 'S' || *p == 'F') {
            s->has_urls = true;
        } else if (*p == 'R') {
            int status;
            size_t len, olen;
            int at = 0;
            if (sscanf(line, "R %d %zu %n", &status, &len, &at) != 2 || at <= 0 || p + at >= nl ||
                len > (size_t)(end - nl - 1))
                break; /* torn robots body */
            olen = (size_t)(nl - p - at);
            char *origin = strndup(p + at, olen);
            robots_rec *r = calloc(1, sizeof *r);
            char *body = malloc(len + 1);
            if (!r || !body || !origin) {
                free(r);
                free(body);
                free(origin);
                *rc = -ENOMEM;
                free(lb);
                return 0;
            }
            memcpy(body, nl + 1, len);
            body[len] = '\0';
            *r = (robots_rec){ .next = s->robots, .origin = origin, .status = status, .body = body, .len = len };
            s->robots = r;
            nl = nl + 1 + len; /* the body, then its newline */
            if (nl >= end)
                break;
        }
        p = nl + 1;
        good = p;
    }
    free(lb);
    return (size_t)(good - s->jmap);
}

/* ---- a set of URL strings (the replay's done set) -------------------------- */

typedef struct strset {
    const char **k;
    size_t cap, n;
} strset;

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Keys are slices of the journal ending at a space or newline. */
static size_t key_len(const char *k)
{
    return strcspn(k, " \n");
}

static int set_add(strset *s, const char *k)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        const char **nk = calloc(nc, sizeof *nk);
        if (!nk)
            return -ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->k[i]) {
                size_t j = hash(s->k[i], key_len(s->k[i])) & (nc - 1);
                while (nk[j])
                    j = (j + 1) & (nc - 1);
                nk[j] = s->k[i];
            }
        free(s->k);
        s->k = nk;
        s->cap = nc;
    }
    size_t n = key_len(k);
    size_t j = hash(k, n) & (s->cap - 1);
    while (s->k[j]) {
        if (key_len(s->k[j]) == n && memcmp(s->k[j], k, n) == 0)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->k[j] = k;
    s->n++;
    return 1;
}

static bool set_has(const strset *s, const char *k, size_t n)
{
    if (!s->cap)
        return false;
    size_t j = hash(k, n) & (s->cap - 1);
    while (s->k[j]) {
        if (key_len(s->k[j]) == n && memcmp(s->k[j], k, n) == 0)
            return true;
        j = (j + 1) & (s->cap - 1);
    }
    return false;
}

/* The URL field of a D line: after five numbers. */
static const char *done_url(const char *p, const char *nl)
{
    int spaces = 0;
    for (; p < nl; p++)
        if (*p == ' ' && ++spaces == 6)
            return p + 1;
    return NULL;
}

int crawl_state_replay(crawl_state *s, crawl_state_replay_fn fn, void *arg)
{
    const char *p, *end = s->jmap + s->jlen;
    strset done = {0};
    char *lb = NULL;
    size_t lcap = 0;
    int rc = 0;
    for (p = s->jmap; p < end && rc >= 0;) {
        const char *nl = line_end(p, end);
        if (*p == 'D') {
            const char *u = done_url(p, nl);
            if (u)
                rc = set_add(&done, u);
        } else if (*p == 'R') {
            size_t len = 0;
            const char *l = line_str(p, nl, &lb, &lcap);
            if (l)
                sscanf(l, "R %*d %zu", &len);
            nl += 1 + len;
        }
        p = nl + 1;
    }
    char *url = NULL, *parent = NULL;
    size_t cap = 0;
    for (p = s->jmap; p < end && rc >= 0;) {
        const char *nl = line_end(p, end);
        char kind = *p;
        if (kind == 'R') {
            size_t len = 0;
            const char *l = line_str(p, nl, &lb, &lcap);
            if (l)
                sscanf(l, "R %*d %zu", &len);
            p = nl + 1 + len + 1;
            continue;
        }
        if (kind == 'A' || kind == 'S' || kind == 'F') {
            size_t n = (size_t)(nl - p);
            if (n + 1 > cap) {
                cap = n * 2 + 64;
                free(url);
                free(parent);
                url = malloc(cap);
                parent = malloc(cap);
                if (!url || !parent) {
                    rc = -ENOMEM;
                    break;
                }
            }
            int depth = 0;
            unsigned hops = 0;
            int got;
            const char *l = line_str(p, nl, &lb, &lcap);
            if (!l) {
                rc = -ENOMEM;
                break;
            }
            if (kind == 'F')
                got = sscanf(l, "F %s", url) == 1 ? 3 : 0;
            else
                got = sscanf(l + 2, "%d %u %s %s", &depth, &hops, url, parent);
            if (got >= 3) {
                bool has_parent = got == 4 && strcmp(parent, "-") != 0;
                rc = fn(arg, kind, url, depth, hops, has_parent ? parent : NULL,
                        kind != 'A' || set_has(&done, url, strlen(url)));
            }
        }
        p = nl + 1;
    }
    free(url);
    free(parent);
    free(lb);
    free(done.k);
    return rc < 0 ? rc : 0;
}

bool crawl_state_resuming(const crawl_state *s)
{
    return s->has_urls;
}

/* ---- open / close ---------------------------------------------------------- */

static int read_journal(crawl_state *s, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && st.st_size > 0) {
        s->jmap = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (s->jmap == MAP_FAILED) {
            s->jmap = NULL;
            rc = -errno;
        } else {
            s->jlen = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

int crawl_state_open(const crawl_state_opts *o, crawl_state **out, char *err, size_t errlen)
{
    *out = NULL;
    err[0] = '\0';
    if (o->resume && !o->dir) {
        fail(err, errlen, "--resume needs --state DIR");
        return -EINVAL;
    }
    if (o->dir && o->output && strcmp(o->output, "-") == 0) {
        fail(err, errlen, "--state needs -o FILE, not stdout: a resumed crawl cuts its output back");
        return -EINVAL;
    }
    crawl_state *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->o = *o;
    s->out_fd = s->jfd = -1;
    char *jpath = NULL;
    char stamp[16] = "";
    last_done ld = {0};
    int rc = 0;
    if (o->dir) {
        if (mkdir(o->dir, 0755) < 0 && errno != EEXIST) {
            rc = -errno;
            fail(err, errlen, "%s: %s", o->dir, strerror(-rc));
            goto bad;
        }
        if (asprintf(&jpath, "%s/journal", o->dir) < 0) {
            jpath = NULL;
            rc = -ENOMEM;
            goto bad;
        }
        bool exists = access(jpath, F_OK) == 0;
        if (exists && !o->resume) {
            fail(err, errlen, "%s holds a crawl already: add --resume to go on with it, or choose another directory",
                 o->dir);
            rc = -EEXIST;
            goto bad;
        }
        if (!exists && o->resume) {
            fail(err, errlen, "%s: no crawl to resume (no journal)", o->dir);
            rc = -ENOENT;
            goto bad;
        }
        if (exists) {
            if ((rc = read_journal(s, jpath)) < 0) {
                fail(err, errlen, "%s: %s", jpath, strerror(-rc));
                goto bad;
            }
            const char *jo = NULL;
            size_t jo_len = 0;
            size_t good = scan(s, &ld, stamp, &jo, &jo_len, &rc);
            if (rc < 0)
                goto bad;
            const char *mine = o->options ? o->options : "";
            if (jo && (jo_len != strlen(mine) || memcmp(jo, mine, jo_len) != 0)) {
                fail(err, errlen, "--resume with other options than the crawl in %s had:\n  then: %.*s\n  now:  %s",
                     o->dir, (int)jo_len, jo, mine);
                rc = -ESTALE;
                goto bad;
            }
            if (good < s->jlen) {
                /* A torn last line: cut it off before appending. */
                if (truncate(jpath, (off_t)good) < 0) {
                    rc = -errno;
                    goto bad;
                }
                s->jlen = good;
            }
            if (!jo)
                s->has_urls = false;
        }
        s->jfd = open(jpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (s->jfd < 0) {
            rc = -errno;
            fail(err, errlen, "%s: %s", jpath, strerror(-rc));
            goto bad;
        }
    }
    if (o->output) {
        if (strcmp(o->output, "-") == 0) {
            s->out_fd = 1;
            s->out_stdout = true;
        } else {
            bool cut = o->resume && s->jlen > 0;
            s->out_fd = open(o->output, O_WRONLY | O_CREAT | O_CLOEXEC | (cut ? 0 : O_TRUNC), 0644);
            if (s->out_fd < 0 || (cut && (ftruncate(s->out_fd, (off_t)ld.out_off) < 0 ||
                                          lseek(s->out_fd, (off_t)ld.out_off, SEEK_SET) < 0))) {
                rc = -errno;
                fail(err, errlen, "%s: %s", o->output, strerror(-rc));
                goto bad;
            }
            s->out_off = cut ? ld.out_off : 0;
        }
    }
    if (o->warc_prefix) {
        crawl_warc_opts wo = { .prefix = o->warc_prefix, .max_size = o->warc_max_size,
                               .stamp = stamp[0] ? stamp : NULL };
        char *info = NULL;
        if (o->options && asprintf(&info, "description: tulip-crawl %s\r\n", o->options) < 0)
            info = NULL;
        wo.info = info;
        rc = stamp[0] && ld.any ? crawl_warc_resume(&wo, ld.warc_serial, ld.warc_off, &s->warc)
                                : crawl_warc_open(&wo, &s->warc);
        free(info);
        if (rc < 0) {
            fail(err, errlen, "%s: %s", o->warc_prefix, strerror(-rc));
            goto bad;
        }
    }
    if (o->dir && s->jlen == 0) {
        crawl_buf b = {0};
        rc = crawl_buf_printf(&b, "O %s\n", o->options ? o->options : "");
        if (rc == 0 && s->warc)
            rc = crawl_buf_printf(&b, "W %s\n", crawl_warc_stamp(s->warc));
        if (rc == 0)
            rc = write_all(s->jfd, b.data, b.len);
        crawl_buf_free(&b);
        if (rc < 0)
            goto bad;
    }
    free(jpath);
    *out = s;
    return 0;
bad:
    if (!err[0])
        fail(err, errlen, "%s", strerror(-rc));
    free(jpath);
    crawl_state_close(s);
    return rc;
}

void crawl_state_close(crawl_state *s)
{
    if (!s)
        return;
    if (s->out_fd >= 0 && !s->out_stdout)
        close(s->out_fd);
    if (s->jfd >= 0)
        close(s->jfd);
    crawl_warc_close(s->warc);
    for (robots_rec *n; s->robots; s->robots = n) {
        n = s->robots->next;
        free(s->robots->origin);
        free(s->robots->body);
        free(s->robots);
    }
    if (s->jmap)
        munmap(s->jmap, s->jlen ? s->jlen : 1);
    free(s);
}

/* ---- visits ------------------------------------------------------------------- */

static void pending_free(void *arg)
{
    pending *p = arg;
    crawl_buf_free(&p->rows);
    crawl_buf_free(&p->warc);
    crawl_buf_free(&p->journal);
    free(p);
}

static pending *current(crawl_state *s)
{
    pending *p = tulip_self() ? tulip_local_get(&s->key) : NULL;
    return p && p->open ? p : NULL;
}

int crawl_state_begin(crawl_state *s)
{
    pending *p = tulip_local_get(&s->key);
    if (!p) {
        if (!(p = calloc(1, sizeof *p)))
            return -ENOMEM;
        int rc = tulip_local_set(&s->key, p, pending_free);
        if (rc < 0) {
            free(p);
            return rc;
        }
    }
    p->rows.len = p->warc.len = p->journal.len = 0;
    p->open = true;
    return 0;
}

int crawl_state_row(crawl_state *s, const char *line, size_t n)
{
    pending *p = current(s);
    if (p)
        return crawl_buf_append(&p->rows, line, n);
    if (s->out_fd < 0)
        return 0;
    int rc = write_all(s->out_fd, line, n);
    if (rc == 0)
        s->out_off += n;
    return rc;
}

int crawl_state_url(crawl_state *s, char kind, const char *url, int depth, unsigned hops, const char *parent)
{
    if (s->jfd < 0)
        return 0;
    pending *p = current(s);
    crawl_buf tmp = {0}, *b = p ? &p->journal : &tmp;
    int rc = kind == 'F' ? crawl_buf_printf(b, "F %s\n", url)
                         : crawl_buf_printf(b, "%c %d %u %s %s\n", kind, depth, hops, url, parent ? parent : "-");
    if (rc == 0 && !p)
        rc = write_all(s->jfd, tmp.data, tmp.len);
    crawl_buf_free(&tmp);
    return rc;
}

int crawl_state_commit(crawl_state *s, const char *url, int depth, int status)
{
    pending *p = current(s);
    if (!p)
        return 0;
    p->open = false;
    int rc = 0;
    if (p->rows.len && s->out_fd >= 0) {
        rc = write_all(s->out_fd, p->rows.data, p->rows.len);
        if (rc == 0)
            s->out_off += p->rows.len;
    }
    if (rc == 0 && p->warc.len && s->warc) {
        crawl_warc_records r = { .gz = p->warc };
        rc = crawl_warc_append(s->warc, &r);
    }
    if (rc == 0 && s->o.sync) {
        if (s->out_fd >= 0 && !s->out_stdout && fdatasync(s->out_fd) < 0)
            rc = -errno;
        if (rc == 0 && s->warc)
            rc = crawl_warc_sync(s->warc);
    }
    if (rc == 0 && s->jfd >= 0) {
        /* "C": a commit of outputs for a URL that is not done (it went
         * back to the frontier): the offsets only. */
        rc = crawl_buf_printf(&p->journal, "%c %d %d %" PRIu64 " %u %" PRIu64 " %s\n", url ? 'D' : 'C', depth,
                              status, s->out_off, s->warc ? crawl_warc_serial(s->warc) : 0u,
                              s->warc ? crawl_warc_offset(s->warc) : 0, url ? url : "-");
        if (rc == 0)
            rc = write_all(s->jfd, p->journal.data, p->journal.len);
        if (rc == 0 && s->o.sync && fdatasync(s->jfd) < 0)
            rc = -errno;
    }
    return rc;
}

/* ---- fetches -------------------------------------------------------------------- */

static robots_rec *robots_find(crawl_state *s, const char *origin, size_t n)
{
    for (robots_rec *r = s->robots; r; r = r->next)
        if (strlen(r->origin) == n && memcmp(r->origin, origin, n) == 0)
            return r;
    return NULL;
}

static int journal_robots(crawl_state *s, const char *origin, size_t olen, int status, const char *body,
                          size_t len)
{
    crawl_buf b = {0};
    int rc = crawl_buf_printf(&b, "R %d %zu %.*s\n", status, len, (int)olen, origin);
    if (rc == 0)
        rc = crawl_buf_append(&b, body, len);
    if (rc == 0)
        rc = crawl_buf_putc(&b, '\n');
    if (rc == 0)
        rc = write_all(s->jfd, b.data, b.len);
    crawl_buf_free(&b);
    return rc;
}

int crawl_state_get(crawl_state *s, tulip_http_client *c, const char *url, bool robots, tulip_http_reply **out)
{
    *out = NULL;
    size_t olen = 0;
    if (robots) {
        const char *slash = strstr(url, "://");
        slash = slash ? strchr(slash + 3, '/') : NULL;
        olen = slash ? (size_t)(slash - url) : strlen(url);
        robots_rec *r = robots_find(s, url, olen);
        if (r) {
            if (r->status < 0)
                return r->status;
            tulip_http_reply *rep = calloc(1, sizeof *rep);
            if (!rep || !(rep->body = malloc(r->len + 1)) || !(rep->url = strdup(url))) {
                tulip_http_reply_free(rep);
                return -ENOMEM;
            }
            memcpy(rep->body, r->body, r->len);
            rep->body[r->len] = '\0';
            rep->body_len = r->len;
            rep->status = r->status;
            rep->minor_version = 1;
            *out = rep;
            return 0;
        }
    }
    if (!s->warc && !robots)
        return tulip_http_get(c, url, out);
    tulip_http_tap tap = {0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int rc = s->warc ? tulip_http_fetch_tap(c, "GET", url, NULL, 0, NULL, 0, &tap, out)
                     : tulip_http_get(c, url, out);
    if (rc == -ECANCELED) {
        tulip_http_tap_free(&tap);
        return rc;
    }
    if (s->warc && (tap.request_len || tap.head_len)) {
        crawl_warc_fetch f = { .url = url, .tap = &tap, .err = rc,
                               .date_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec };
        crawl_warc_records rec;
        int wrc = crawl_warc_exchange(&f, &rec);
        if (wrc == 0) {
            pending *p = current(s);
            if (p)
                wrc = crawl_buf_append(&p->warc, rec.gz.data, rec.gz.len);
            else
                wrc = crawl_warc_append(s->warc, &rec);
            crawl_warc_records_free(&rec);
        }
        if (wrc == -ECANCELED || wrc == -ETIMEDOUT || wrc == -ENOMEM) {
            tulip_http_reply_free(*out);
            *out = NULL;
            rc = wrc;
        }
    }
    tulip_http_tap_free(&tap);
    if (robots && s->jfd >= 0 && rc != -ECANCELED && rc != -ETIMEDOUT && rc != -ENOMEM) {
        int jrc = rc < 0 ? journal_robots(s, url, olen, rc, "", 0)
                         : journal_robots(s, url, olen, (*out)->status, (*out)->body, (*out)->body_len);
        if (jrc < 0) {
            tulip_http_reply_free(*out);
            *out = NULL;
            return jrc;
        }
    }
    return rc;
}

char *crawl_state_options_line(int argc, char **argv)
{
    /* Options that may change between runs of one crawl. */
    static const char *const free_opts[] = { "--resume", "--sync", "-v", "--verbose", "--no-progress", NULL };
    static const char *const free_args[] = { "-c", "--concurrency", "--per-host", "--timeout", NULL };
    crawl_buf b = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool skip = false;
        for (int k = 0; free_opts[k]; k++)
            skip |= strcmp(a, free_opts[k]) == 0;
        for (int k = 0; free_args[k] && !skip; k++) {
            size_t n = strlen(free_args[k]);
            if (strcmp(a, free_args[k]) == 0) {
                skip = true;
                i++; /* and its argument */
            } else if (strncmp(a, free_args[k], n) == 0 && (a[n] == '=' || (n == 2 && a[n]))) {
                skip = true;
            }
        }
        if (skip)
            continue;
        if (b.len)
            crawl_buf_putc(&b, ' ');
        for (; *a; a++)
            crawl_buf_putc(&b, *a == '\n' ? ' ' : *a);
    }
    return crawl_buf_steal(&b);
}
