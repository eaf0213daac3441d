#define _GNU_SOURCE
#include "state_internal.h"
#include "fdwrite.h"
#include "journal.h"
#include "recrawl.h"
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


static void fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* ---- open / close ---------------------------------------------------------- */

static int read_journal(crawl_state *s, const char *path)
{
    return crawl_jl_map(path, &s->jmap, &s->jlen);
}

/* A journal holds a crawl when it is there and not empty: one whose first
 * open failed after creating it (a bad -o path) is not a crawl. */
static bool has_crawl(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* --recrawl without --resume: DIR/journal (the crawl before) becomes
 * DIR/previous, and a new journal starts with its admitted URLs.  The new
 * one is written aside and renamed in, so a kill leaves the old crawl or
 * the new one; a kill between the renames leaves no journal, and the next
 * --recrawl starts again from DIR/previous. */
static int recrawl_prepare(const char *dir, const char *options, char *err, size_t errlen)
{
    char *j = NULL, *prev = NULL, *tmp = NULL;
    crawl_recrawl *r = NULL;
    crawl_buf b = {0};
    int rc = asprintf(&j, "%s/journal", dir) < 0 || asprintf(&prev, "%s/previous", dir) < 0 ||
                     asprintf(&tmp, "%s/journal.new", dir) < 0 ? -ENOMEM : 0;
    bool have_j = rc == 0 && has_crawl(j);
    if (rc == 0 && !have_j && access(prev, F_OK) != 0) {
        fail(err, errlen, "%s: no crawl to recrawl (no journal)", dir);
        rc = -ENODATA;
    }
    if (rc == 0 && (rc = crawl_recrawl_open(have_j ? j : prev, &r)) < 0)
        fail(err, errlen, "%s: %s", have_j ? j : prev, strerror(-rc));
    if (rc == 0)
        rc = crawl_buf_printf(&b, "O %s\n", options ? options : "");
    if (rc == 0)
        rc = crawl_recrawl_seeds(r, &b);
    if (rc == 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        rc = fd < 0 ? -errno : crawl_write_all(fd, b.data, b.len);
        if (fd >= 0 && close(fd) < 0 && rc == 0)
            rc = -errno;
        if (rc == 0 && have_j && rename(j, prev) < 0)
            rc = -errno;
        if (rc == 0 && rename(tmp, j) < 0)
            rc = -errno;
        if (rc < 0 && !err[0])
            fail(err, errlen, "%s: %s", dir, strerror(-rc));
    }
    crawl_recrawl_close(r);
    crawl_buf_free(&b);
    free(j);
    free(prev);
    free(tmp);
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
    if (o->recrawl && !o->dir) {
        fail(err, errlen, "--recrawl needs --state DIR (the crawl to do again)");
        return -EINVAL;
    }
    crawl_state *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->o = *o;
    s->out_fd = s->jfd = -1;
    tulip_lock_init(&s->mu);
    tulip_cond_init(&s->cv);
    char *jpath = NULL;
    char stamp[16] = "";
    crawl_last_done ld = {0};
    int rc = 0;
    bool resume = o->resume || o->recrawl;
    if (o->recrawl) {
        char *prev = NULL;
        if (!o->resume && (rc = recrawl_prepare(o->dir, o->options, err, errlen)) < 0)
            goto bad;
        if (asprintf(&prev, "%s/previous", o->dir) < 0) {
            rc = -ENOMEM;
            goto bad;
        }
        rc = crawl_recrawl_open(prev, &s->prev);
        if (rc < 0)
            fail(err, errlen, "%s: %s", prev, strerror(-rc));
        free(prev);
        if (rc < 0)
            goto bad;
        s->tapped = true;
    }
    /* the exact bytes, for WARC records and a recrawl's count; a plain
     * --state crawl needs only the reply (validators, Location...) */
    s->tapped |= o->warc_prefix != NULL;
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
        if (!resume && has_crawl(jpath)) {
            fail(err, errlen, "%s holds a crawl already: add --resume to go on with it, or choose another directory",
                 o->dir);
            rc = -EEXIST;
            goto bad;
        }
        if (!exists && resume) {
            fail(err, errlen, "%s: no crawl to resume (no journal)", o->dir);
            rc = -ENODATA;
            goto bad;
        }
        if (exists) {
            if ((rc = read_journal(s, jpath)) < 0) {
                fail(err, errlen, "%s: %s", jpath, strerror(-rc));
                goto bad;
            }
            const char *jo = NULL;
            size_t jo_len = 0;
            size_t good = crawl_state__scan(s, &ld, stamp, &jo, &jo_len, &rc);
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
            bool cut = resume && s->jlen > 0;
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
    if (o->dir && (s->jlen == 0 || (s->warc && !stamp[0]))) {
        /* a new journal (or a --recrawl's, which has its URLs only) */
        crawl_buf b = {0};
        if (s->jlen == 0)
            rc = crawl_buf_printf(&b, "O %s\n", o->options ? o->options : "");
        if (rc == 0 && s->warc)
            rc = crawl_buf_printf(&b, "W %s\n", crawl_warc_stamp(s->warc));
        if (rc == 0)
            rc = crawl_write_all(s->jfd, b.data, b.len);
        crawl_buf_free(&b);
        if (rc < 0)
            goto bad;
    }
    s->jpath = jpath; /* named when a write to it fails */
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
    crawl_state__flush(s);
    crawl_buf_free(&s->brows);
    crawl_buf_free(&s->bjournal);
    if (s->out_fd >= 0 && !s->out_stdout)
        close(s->out_fd);
    if (s->jfd >= 0)
        close(s->jfd);
    crawl_warc_close(s->warc);
    crawl_recrawl_close(s->prev);
    for (robots_rec *n; s->robots; s->robots = n) {
        n = s->robots->next;
        free(s->robots->origin);
        free(s->robots->body);
        free(s->robots);
    }
    if (s->jmap)
        munmap(s->jmap, s->jlen ? s->jlen : 1);
    free(s->jpath);
    free(s->failed);
    free(s);
}

/* ---- visits ------------------------------------------------------------------- */

static void pending_free(void *arg)
{
    pending *p = arg;
    crawl_buf_free(&p->rows);
    crawl_buf_free(&p->warc);
    crawl_buf_free(&p->journal);
    crawl_buf_free(&p->url);
    free(p);
}

pending *crawl_state__current(crawl_state *s)
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
    p->resp_id[0] = '\0';
    p->reused = false;
    p->open = true;
    return 0;
}

/* Write what committed pages left in the batch: rows first, then the
 * journal lines whose done lines count them (a failed rows write drops
 * the journal lines: no done line without its rows). Never parks. */
int crawl_state__failed_on(crawl_state *s, int rc, const char *path)
{
    if (rc < 0 && !s->failed && path)
        s->failed = strdup(path); /* NULL: the error is still returned */
    return rc;
}

const char *crawl_state_failed(const crawl_state *s)
{
    return s ? s->failed : NULL;
}

int crawl_state__flush(crawl_state *s)
{
    int rc = 0;
    if (s->brows.len)
        rc = crawl_state__failed_on(s, crawl_write_all(s->out_fd, s->brows.data, s->brows.len), s->o.output);
    if (rc == 0 && s->bjournal.len)
        rc = crawl_state__failed_on(s, crawl_write_all(s->jfd, s->bjournal.data, s->bjournal.len), s->jpath);
    s->brows.len = s->bjournal.len = 0;
    if (rc < 0 && !s->flush_rc)
        s->flush_rc = rc;
    s->gen++;
    tulip_cond_broadcast(&s->cv);
    return s->flush_rc;
}

int crawl_state_row(crawl_state *s, const char *line, size_t n)
{
    pending *p = crawl_state__current(s);
    if (p)
        return crawl_buf_append(&p->rows, line, n);
    if (s->out_fd < 0)
        return 0;
    int rc = crawl_state__flush(s); /* what was committed before goes first */
    if (rc == 0)
        rc = crawl_state__failed_on(s, crawl_write_all(s->out_fd, line, n), s->o.output);
    if (rc == 0)
        s->out_off += n;
    return rc;
}

/* Where a journal line goes: the visit's lines, or tmp when no visit is
 * under way (journal_end then writes it at once). */
static crawl_buf *journal_buf(crawl_state *s, crawl_buf *tmp)
{
    pending *p = crawl_state__current(s);
    return p ? &p->journal : tmp;
}

static int journal_end(crawl_state *s, crawl_buf *b, crawl_buf *tmp, int rc)
{
    if (rc == 0 && b == tmp && (rc = crawl_state__flush(s)) == 0)
        rc = crawl_state__failed_on(s, crawl_write_all(s->jfd, tmp->data, tmp->len), s->jpath);
    crawl_buf_free(tmp);
    return rc;
}

int crawl_state_url(crawl_state *s, char kind, const char *url, int depth, unsigned hops, const char *parent)
{
    if (s->jfd < 0)
        return 0;
    crawl_buf tmp = {0}, *b = journal_buf(s, &tmp);
    int rc = crawl_buf_printf(b, "%c %d %u %s %s\n", kind, depth, hops, url, parent ? parent : "-");
    return journal_end(s, b, &tmp, rc);
}

int crawl_state_bad(crawl_state *s, const char *key, int err, const char *parent)
{
    if (s->jfd < 0)
        return 0;
    crawl_buf tmp = {0}, *b = journal_buf(s, &tmp);
    return journal_end(s, b, &tmp, crawl_jl_put_bad(b, err, parent, key));
}

/* Wait, as a follower, for the leader's flush of the batch holding our
 * lines; shielded: a commit returns once its page is in the files. */
static int await_flush(crawl_state *s)
{
    uint64_t g = s->gen;
    tulip_scope sc;
    tulip_scope_enter_shielded(&sc, TULIP_FOREVER);
    tulip_lock_acquire(&s->mu);
    while (s->gen == g)
        tulip_cond_wait(&s->cv, &s->mu);
    tulip_lock_release(&s->mu);
    tulip_scope_exit(&sc);
    return s->flush_rc;
}

int crawl_state_commit(crawl_state *s, const char *url, int depth, int status)
{
    pending *p = crawl_state__current(s);
    if (!p)
        return 0;
    p->open = false;
    /* Group commit (with a journal, without --sync, in a task): the
     * rows and journal lines join a batch; the first committer leads:
     * it lets the other ready tasks run once (they commit into the same
     * batch), then writes the batch, one write per file, and the others
     * wait for that. Two writes per batch instead of per page, and a
     * page still counts as done only once its lines are in the journal,
     * so a kill still refetches at most the pages in flight. The WARC
     * records are appended at once: the done line needs their offsets. */
    bool group = s->jfd >= 0 && !s->o.sync && tulip_self();
    int rc = group ? s->flush_rc : crawl_state__flush(s);
    if (rc == 0 && p->rows.len && s->out_fd >= 0) {
        rc = group ? crawl_buf_append(&s->brows, p->rows.data, p->rows.len)
                   : crawl_state__failed_on(s, crawl_write_all(s->out_fd, p->rows.data, p->rows.len),
                                            s->o.output);
        if (rc == 0)
            s->out_off += p->rows.len;
    }
    if (rc == 0 && p->warc.len && s->warc) {
        crawl_warc_records r = { .gz = p->warc };
        rc = crawl_state__failed_on(s, crawl_warc_append(s->warc, &r), crawl_warc_name(s->warc));
    }
    if (rc == 0 && s->o.sync) {
        if (s->out_fd >= 0 && !s->out_stdout && fdatasync(s->out_fd) < 0)
            rc = crawl_state__failed_on(s, -errno, s->o.output);
        if (rc == 0 && s->warc)
            rc = crawl_state__failed_on(s, crawl_warc_sync(s->warc), crawl_warc_name(s->warc));
    }
    if (rc == 0 && s->jfd >= 0) {
        /* "C": a commit of outputs for a URL that is not done (it went
         * back to the frontier): the offsets only. */
        rc = crawl_buf_printf(&p->journal, "%c %d %d %" PRIu64 " %u %" PRIu64 " %s\n", url ? 'D' : 'C', depth,
                              status, s->out_off, s->warc ? crawl_warc_serial(s->warc) : 0u,
                              s->warc ? crawl_warc_offset(s->warc) : 0, url ? url : "-");
        if (rc == 0 && group)
            rc = crawl_buf_append(&s->bjournal, p->journal.data, p->journal.len);
        else if (rc == 0)
            rc = crawl_state__failed_on(s, crawl_write_all(s->jfd, p->journal.data, p->journal.len), s->jpath);
        if (rc == 0 && s->o.sync && fdatasync(s->jfd) < 0)
            rc = crawl_state__failed_on(s, -errno, s->jpath);
    }
    if (!group)
        return rc;
    if (rc < 0) {
        /* this page's lines may be in the batch: write what is whole */
        crawl_state__flush(s);
        return rc;
    }
    if (s->leader)
        return await_flush(s);
    s->leader = true;
    tulip_scope sc;
    tulip_scope_enter_shielded(&sc, TULIP_FOREVER);
    tulip_yield();
    tulip_scope_exit(&sc);
    s->leader = false;
    return crawl_state__flush(s);
}

char *crawl_state_options_line(int argc, char **argv)
{
    /* Options that may change between runs of one crawl. */
    static const char *const free_opts[] = { "--resume", "--sync", "-v", "--verbose", "--no-progress", NULL };
    static const char *const free_args[] = { "-c", "--concurrency", "--per-host", "--timeout", "--workers", NULL };
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

void crawl_state_summary(const crawl_state *s, FILE *f)
{
    if (!s || (!s->tapped && s->jfd < 0))
        return;
    fprintf(f, "  received  %.1f kB of responses (heads and bodies as sent)", (double)s->rx_bytes / 1000.0);
    if (s->prev)
        fprintf(f,
                "; recrawl: %" PRIu64 " not modified (304), %" PRIu64 " unchanged (same payload digest), %" PRIu64
                " still fresh (not fetched)",
                s->not_modified, s->identical, s->reused);
    fprintf(f, "\n");
}
