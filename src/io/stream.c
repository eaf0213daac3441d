/* Buffered streams. Reads gather in the stream's buffer and copy out only
 * when a request is complete, so an interrupted read loses nothing; writes
 * go through a bounded buffer whose only way to grow is to drain, which is
 * the backpressure. Readers and writers each queue on a FIFO lock so tasks
 * sharing a stream never see interleaved lines or split write calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream_internal.h"
#include "../common/fault.h"
#include "../common/grow.h"

#define READ_CHUNK ((size_t)16 * 1024)
/* An emptied read buffer bigger than this (after a huge readexactly) is
 * given back rather than kept for the stream's lifetime. */
#define READ_KEEP (4 * READ_CHUNK)

struct slock {
    int held;
    struct tulip__waitq q;
};

struct tulip_stream {
    int fd;
    int flags;
    const struct tulip__stream_ops *ops;
    void *t;

    struct slock rlock;
    char *rbuf;
    size_t rcap, rpos, rlen;
    int eof;

    struct slock wlock;
    char *wbuf;
    size_t wlimit, wcap, wpos, wlen;
    int werr;                      /* sticky transport write error */
    int shut;                      /* shutdown done: no more writes */

    size_t wpeak;
    uint64_t bytes_read, bytes_written;
};

/* ---- FIFO lock: release hands ownership straight to the next waiter, so a
 * woken waiter owns the lock even if cancelled before it runs. ---------- */

static int slock_acquire(struct slock *l)
{
    if (!l->held && !l->q.n) {
        l->held = 1;
        return 0;
    }
    int rc = tulip__waitq_wait_self(&l->q, TULIP__WAIT_LOCK, l);
    tulip__keep_frame();
    return rc;
}

static void slock_release(struct slock *l)
{
    if (!tulip__waitq_wake_one(&l->q, 0))
        l->held = 0;
}

/* Entry of every call: must be a task, and a cancellation point even when
 * the answer is already buffered (level-triggered, like tulip_read). */
static int enter(const tulip_stream *s)
{
    if (!s)
        return -EINVAL;
    return tulip__wait_enter(NULL);
}

/* ---- the plain fd transport ------------------------------------------ */

static ssize_t fd_read(void *t, int fd, void *buf, size_t n)
{
    (void)t;
    return tulip_read(fd, buf, n);
}

static ssize_t fd_write(void *t, int fd, const void *buf, size_t n)
{
    (void)t;
    return tulip_write(fd, buf, n);
}

static int fd_shutdown(void *t, int fd)
{
    (void)t;
    return shutdown(fd, SHUT_WR) == 0 ? 0 : -errno;
}

static void fd_close(void *t, int fd)
{
    (void)t;
    (void)fd;
}

static const struct tulip__stream_ops fd_ops = {
    .read = fd_read,
    .write = fd_write,
    .shutdown = fd_shutdown,
    .close = fd_close,
    .direct_write = 1,
};

/* ---- life ------------------------------------------------------------- */

tulip_stream *tulip__stream_new(int fd, int flags, const struct tulip__stream_ops *ops, void *t)
{
    tulip_stream *s = tulip__calloc(1, sizeof *s);
    if (!s) {
        ops->close(t, fd);
        errno = ENOMEM;
        return NULL;
    }
    s->fd = fd;
    s->flags = flags;
    s->ops = ops;
    s->t = t;
    s->wlimit = TULIP_STREAM_DEFAULT_WRITE_LIMIT;
    return s;
}

void tulip__stream_discard(tulip_stream *s)
{
    s->wlen = 0;
    s->wpos = 0;
}

tulip_stream *tulip_stream_new_fd(int fd, int flags)
{
    if (fd < 0 || (flags & ~TULIP_STREAM_OWN_FD)) {
        errno = EINVAL;
        return NULL;
    }
    return tulip__stream_new(fd, flags, &fd_ops, NULL);
}

int tulip_stream_fd(const tulip_stream *s)
{
    return s ? s->fd : -1;
}

size_t tulip_stream_buffered(const tulip_stream *s)
{
    return s ? s->rlen : 0;
}

size_t tulip_stream_pending(const tulip_stream *s)
{
    return s ? s->wlen : 0;
}

int tulip_stream_stats_get(const tulip_stream *s, tulip_stream_stats *out)
{
    if (!s || !out)
        return -EINVAL;
    out->read_buffered = s->rlen;
    out->read_capacity = s->rcap;
    out->write_pending = s->wlen;
    out->write_limit = s->wlimit;
    out->write_peak = s->wpeak;
    out->bytes_read = s->bytes_read;
    out->bytes_written = s->bytes_written;
    return 0;
}

/* ---- reading ---------------------------------------------------------- */

/* Make room for at least one more byte, growing towards limit (the size the
 * current request needs) only when the buffer is full of unread data. */
static int make_room(tulip_stream *s, size_t limit)
{
    size_t tail = s->rcap - s->rpos - s->rlen;
    if (tail > 0 && (tail >= s->rcap / 4 || s->rpos == 0))
        return 0;
    if (s->rpos > 0) {
        memmove(s->rbuf, s->rbuf + s->rpos, s->rlen);
        s->rpos = 0;
        if (s->rlen < s->rcap)
            return 0;
    }
    /* Full at limit: -EMSGSIZE (callers never ask for more than they allow). */
    return tulip__grow(&s->rbuf, &s->rcap, s->rcap + 1, READ_CHUNK, limit > READ_CHUNK ? limit : READ_CHUNK, 1);
}

/* One transport read appended to the buffer: > 0 bytes, 0 at EOF, < 0. */
static ssize_t fill(tulip_stream *s, size_t limit)
{
    if (s->eof)
        return 0;
    int rc = make_room(s, limit);
    if (rc < 0)
        return rc;
    size_t end = s->rpos + s->rlen;
    ssize_t n = s->ops->read(s->t, s->fd, s->rbuf + end, s->rcap - end);
    if (n > 0) {
        s->rlen += (size_t)n;
        s->bytes_read += (uint64_t)n;
    } else if (n == 0) {
        s->eof = 1;
    }
    return n;
}

static void consume(tulip_stream *s, void *buf, size_t n)
{
    memcpy(buf, s->rbuf + s->rpos, n);
    s->rpos += n;
    s->rlen -= n;
    if (s->rlen == 0) {
        s->rpos = 0;
        if (s->rcap > READ_KEEP) {
            free(s->rbuf);
            s->rbuf = NULL;
            s->rcap = 0;
        }
    }
}

ssize_t tulip_stream_read(tulip_stream *s, void *buf, size_t n)
{
    int rc = enter(s);
    if (rc)
        return rc;
    if (!buf && n)
        return -EINVAL;
    if (n == 0)
        return 0;
    if ((rc = slock_acquire(&s->rlock)) < 0)
        return rc;
    ssize_t r;
    if (s->rlen == 0 && !s->eof && n >= READ_CHUNK) {
        /* Big reads skip the copy; the transport consumes nothing unless
         * it returns data, so this is as safe as filling the buffer. */
        r = s->ops->read(s->t, s->fd, buf, n);
        if (r > 0)
            s->bytes_read += (uint64_t)r;
        else if (r == 0)
            s->eof = 1;
    } else {
        r = s->rlen ? (ssize_t)s->rlen : fill(s, READ_CHUNK);
        if (r > 0) {
            r = (ssize_t)(n < s->rlen ? n : s->rlen);
            consume(s, buf, (size_t)r);
        }
    }
    slock_release(&s->rlock);
    return r;
}

ssize_t tulip_stream_readexactly(tulip_stream *s, void *buf, size_t n)
{
    int rc = enter(s);
    if (rc)
        return rc;
    if ((!buf && n) || n > SSIZE_MAX)
        return -EINVAL;
    if (n == 0)
        return 0;
    if ((rc = slock_acquire(&s->rlock)) < 0)
        return rc;
    ssize_t r = 0;
    while (s->rlen < n) {
        r = fill(s, n);
        if (r <= 0)
            break;
    }
    if (s->rlen >= n) {
        consume(s, buf, n);
        r = (ssize_t)n;
    } else if (r == 0) {
        r = -ENODATA;
    }
    slock_release(&s->rlock);
    return r;
}

/* At the end of the stream: 0 if nothing is left (a clean end, as
 * tulip_stream_read), else the partial record when last_ok (readline: the
 * last line of a file need not end with a newline, as asyncio's readline
 * and fgets), else -ENODATA with the partial record left buffered. */
static ssize_t read_delimited(tulip_stream *s, const void *delim, size_t delim_len, void *buf, size_t max,
                              int last_ok)
{
    int rc = enter(s);
    if (rc)
        return rc;
    if (!delim || !buf || delim_len == 0 || max < delim_len || max > SSIZE_MAX)
        return -EINVAL;
    if ((rc = slock_acquire(&s->rlock)) < 0)
        return rc;
    /* Only the new bytes (plus an overlap for a delimiter split across
     * fills) are searched on each round. */
    size_t searched = 0;
    ssize_t r;
    for (;;) {
        size_t from = searched > delim_len - 1 ? searched - (delim_len - 1) : 0;
        const char *base = s->rlen ? s->rbuf + s->rpos : NULL;
        const char *hit = s->rlen > from ? memmem(base + from, s->rlen - from, delim, delim_len) : NULL;
        if (hit) {
            size_t len = (size_t)(hit - base) + delim_len;
            if (len > max) {
                r = -EMSGSIZE;
            } else {
                consume(s, buf, len);
                r = (ssize_t)len;
            }
            break;
        }
        searched = s->rlen;
        if (s->rlen >= max) {
            r = -EMSGSIZE;
            break;
        }
        r = fill(s, max);
        if (r == 0) {
            if (s->rlen == 0 || !last_ok) {
                r = s->rlen ? -ENODATA : 0;
                break;
            }
            r = (ssize_t)s->rlen;
            consume(s, buf, s->rlen);
            break;
        }
        if (r < 0)
            break;
    }
    slock_release(&s->rlock);
    return r;
}

ssize_t tulip_stream_readuntil(tulip_stream *s, const void *delim, size_t delim_len, void *buf, size_t max)
{
    return read_delimited(s, delim, delim_len, buf, max, 0);
}

ssize_t tulip_stream_readline(tulip_stream *s, void *buf, size_t max)
{
    return read_delimited(s, "\n", 1, buf, max, 1);
}

/* ---- writing ---------------------------------------------------------- */

static int write_failed(tulip_stream *s, int err)
{
    /* Cancellation says nothing about the connection; anything else
     * does, and every later write would fail the same way. */
    if (err != -ECANCELED && err != -ETIMEDOUT && err != -EPERM && err != -ENOMEM)
        s->werr = err;
    return err;
}

static int drain_once(tulip_stream *s)
{
    ssize_t n = s->ops->write(s->t, s->fd, s->wbuf + s->wpos, s->wlen);
    if (n < 0)
        return write_failed(s, (int)n);
    s->wpos += (size_t)n;
    s->wlen -= (size_t)n;
    s->bytes_written += (uint64_t)n;
    if (s->wlen == 0)
        s->wpos = 0;
    return 0;
}

static int wbuf_ready(tulip_stream *s)
{
    if (s->wcap == s->wlimit)
        return 0;
    char *b = tulip__malloc(s->wlimit);
    if (!b)
        return -ENOMEM;
    if (s->wlen)
        memcpy(b, s->wbuf + s->wpos, s->wlen);
    free(s->wbuf);
    s->wbuf = b;
    s->wcap = s->wlimit;
    s->wpos = 0;
    return 0;
}

ssize_t tulip_stream_write(tulip_stream *s, const void *buf, size_t n)
{
    int rc = enter(s);
    if (rc)
        return rc;
    if ((!buf && n) || n > SSIZE_MAX)
        return -EINVAL;
    if (s->werr)
        return s->werr;
    if (s->shut)
        return -ESHUTDOWN;
    if ((rc = slock_acquire(&s->wlock)) < 0)
        return rc;
    if ((rc = wbuf_ready(s)) < 0) {
        slock_release(&s->wlock);
        return rc;
    }
    const char *p = buf;
    size_t taken = 0;
    while (taken < n) {
        if (s->werr) {
            rc = s->werr;
            break;
        }
        size_t left = n - taken;
        if (s->wlen == 0 && left >= s->wcap && s->ops->direct_write) {
            ssize_t w = s->ops->write(s->t, s->fd, p + taken, left);
            if (w < 0) {
                rc = write_failed(s, (int)w);
                break;
            }
            taken += (size_t)w;
            s->bytes_written += (uint64_t)w;
            continue;
        }
        size_t space = s->wcap - s->wlen;
        if (space == 0) {
            if ((rc = drain_once(s)) < 0)
                break;
            continue;
        }
        if (s->wpos + s->wlen + (space < left ? space : left) > s->wcap) {
            memmove(s->wbuf, s->wbuf + s->wpos, s->wlen);
            s->wpos = 0;
        }
        size_t c = space < left ? space : left;
        memcpy(s->wbuf + s->wpos + s->wlen, p + taken, c);
        s->wlen += c;
        taken += c;
        if (s->wlen > s->wpeak)
            s->wpeak = s->wlen;
    }
    slock_release(&s->wlock);
    return taken ? (ssize_t)taken : rc;
}

static int flush_locked(tulip_stream *s)
{
    int rc = 0;
    while (s->wlen > 0 && rc == 0)
        rc = s->werr ? s->werr : drain_once(s);
    return rc;
}

/* flush and shutdown: take the write side and empty the buffer. Returns 1
 * holding the write lock with rc the flush's result, or 0 with rc the
 * error that stopped it before the lock (nothing to release). */
static int flush_begin(tulip_stream *s, int *rc)
{
    if ((*rc = enter(s)) || (*rc = s->werr) || (*rc = slock_acquire(&s->wlock)) < 0)
        return 0;
    *rc = flush_locked(s);
    return 1;
}

int tulip_stream_flush(tulip_stream *s)
{
    int rc;
    if (flush_begin(s, &rc))
        slock_release(&s->wlock);
    return rc;
}

int tulip_stream_shutdown(tulip_stream *s)
{
    int rc;
    if (!flush_begin(s, &rc))
        return rc;
    if (rc == 0 && !s->shut) {
        rc = s->ops->shutdown(s->t, s->fd);
        if (rc == 0)
            s->shut = 1;
        else if (rc != -ENOTSOCK)
            write_failed(s, rc);
    }
    slock_release(&s->wlock);
    return rc;
}

int tulip_stream_set_write_limit(tulip_stream *s, size_t limit)
{
    if (!s || limit == 0)
        return -EINVAL;
    if (s->wlock.held || s->wlen > limit)
        return -EBUSY;
    s->wlimit = limit;
    if (s->wcap != limit && s->wlen == 0) {
        /* Reallocated lazily by the next write. */
        free(s->wbuf);
        s->wbuf = NULL;
        s->wcap = 0;
        s->wpos = 0;
    }
    return 0;
}

bool tulip__stream_busy(const tulip_stream *s)
{
    return s->rlock.held || s->wlock.held || s->rlock.q.n || s->wlock.q.n;
}

int tulip_stream_close(tulip_stream *s)
{
    if (!s)
        return 0;
    if (tulip__stream_busy(s))
        return -EBUSY;
    int rc = 0;
    if (s->wlen > 0 && !s->werr) {
        rc = enter(s);
        if (rc == 0)
            rc = flush_locked(s);
    }
    s->ops->close(s->t, s->fd);
    if (s->flags & TULIP_STREAM_OWN_FD)
        tulip_close(s->fd);
    free(s->rbuf);
    free(s->wbuf);
    free(s);
    return rc;
}
