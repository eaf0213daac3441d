/* tulip_file_*: files without blocking the loop (see tulip/file.h). On
 * io_uring the call is one operation in the ring (openat, read, write,
 * fsync, statx); elsewhere a job on the thread pool, run in a shielded
 * scope so the pool thread never writes into a buffer its caller has
 * already given up (a cancelled blocking call cannot be taken back). */
#define _GNU_SOURCE
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tulip/file.h"
#include "tulip/pool.h"
#include "io_internal.h"
#include "../backend/uring_ops.h"
#include "../common/fault.h"
#include "../common/grow.h"

enum { J_OPEN, J_READ, J_WRITE, J_FSYNC, J_STAT, J_FSTAT };

struct job {
    int kind;
    int fd;
    const char *path;
    int flags;
    unsigned mode;
    void *buf;
    size_t n;
    int64_t off;
    struct stat *st;
    ssize_t res;
};

static int job_run(void *arg)
{
    struct job *j = arg;
    ssize_t r;
    switch (j->kind) {
    case J_OPEN:
        r = open(j->path, j->flags | O_CLOEXEC, (mode_t)j->mode);
        break;
    case J_READ:
        r = j->off < 0 ? read(j->fd, j->buf, j->n) : pread(j->fd, j->buf, j->n, (off_t)j->off);
        break;
    case J_WRITE:
        r = j->off < 0 ? write(j->fd, j->buf, j->n) : pwrite(j->fd, j->buf, j->n, (off_t)j->off);
        break;
    case J_FSYNC:
        r = j->flags ? fdatasync(j->fd) : fsync(j->fd);
        break;
    case J_STAT:
        r = stat(j->path, j->st);
        break;
    default:
        r = fstat(j->fd, j->st);
        break;
    }
    j->res = r < 0 ? -errno : r;
    return 0;
}

static ssize_t on_pool(struct job *j)
{
    tulip_scope s;
    tulip_scope_enter_shielded(&s, TULIP_FOREVER);
    int rc = tulip_run_blocking(job_run, j);
    tulip_scope_exit(&s);
    return rc < 0 ? rc : j->res;
}

#if defined(TULIP_HAVE_URING)
static void stat_from_statx(struct stat *st, const struct statx *x)
{
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
    st->st_ino = x->stx_ino;
    st->st_mode = x->stx_mode;
    st->st_nlink = x->stx_nlink;
    st->st_uid = x->stx_uid;
    st->st_gid = x->stx_gid;
    st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
    st->st_size = (off_t)x->stx_size;
    st->st_blksize = (blksize_t)x->stx_blksize;
    st->st_blocks = (blkcnt_t)x->stx_blocks;
    st->st_atim.tv_sec = x->stx_atime.tv_sec;
    st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
    st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
    st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
    st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
    st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}
#endif

#if defined(TULIP_HAVE_URING)
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif
/* A read or write on the ring. A large one goes to the kernel's io-wq
 * workers (IOSQE_ASYNC): issued inline, an uncached buffered read ran its
 * readahead inside io_uring_enter and its copy as task work on the loop
 * thread, which stalled the loop (docs/PERFORMANCE.md, "Files on the
 * ring"), and even a cached one costs the loop its copy. A small one is
 * first issued inline with RWF_NOWAIT, which is all a page-cache hit
 * needs (4 KiB: ~3 µs against ~17 µs through io-wq); when it would block
 * (not cached: -EAGAIN; a file without NOWAIT: -EOPNOTSUPP), or did only
 * the cached part of a regular file's range, the rest goes to io-wq.
 * io-wq issues a FIFO non-blocking and arms a poll, so a slow FIFO ties
 * up no worker. A short read or write of a FIFO or device (off < 0) is
 * theirs to return. */
#define NOWAIT_MAX 16384
static ssize_t ring_rw(tulip_loop *l, struct job *j, struct tulip__uop *op)
{
    size_t done = 0;
    int nowait = j->n <= NOWAIT_MAX;
    op->kind = j->kind == J_READ ? TULIP__UOP_READ : TULIP__UOP_WRITE;
    for (;;) {
        op->buf = (char *)j->buf + done;
        op->len = j->n - done;
        op->off = j->off < 0 ? -1 : j->off + (int64_t)done;
        op->flags = nowait ? RWF_NOWAIT : 0;
        op->async = (uint8_t)!nowait;
        int st = tulip__uop_run(l, op);
        if (st == -ENOMEM && !op->task)
            return done ? (ssize_t)done : st;
        int res = op->res;
        if (st < 0) /* cancelled meanwhile: what happened is reported */
            return res > 0 ? (ssize_t)(done + (size_t)res) : done ? (ssize_t)done : st;
        if (res == -EINTR)
            continue;
        if (nowait && (res == -EAGAIN || res == -EOPNOTSUPP)) {
            nowait = 0;
            continue;
        }
        if (res == -EAGAIN) {
            /* A FIFO someone opened O_NONBLOCK: wait for it, as sockets do. */
            int rc = tulip__wait_fd(j->fd, j->kind == J_READ ? TULIP_READABLE : TULIP_WRITABLE, 0);
            if (rc < 0)
                return rc;
            nowait = 1;
            continue;
        }
        if (res < 0)
            return done ? (ssize_t)done : res == -ECANCELED ? -EBADF : res;
        done += (size_t)res;
        if (nowait && res > 0 && done < j->n && j->off >= 0) {
            nowait = 0; /* the rest is not cached, or past the end */
            continue;
        }
        return (ssize_t)done;
    }
}
#endif

static ssize_t on_ring(tulip_loop *l, struct job *j)
{
#if defined(TULIP_HAVE_URING)
    /* The operation and the statx the kernel fills are in the task's wait
     * block (uring_ops.h), not in its frames; the block grows once for a
     * task that stats. So is a copy of the path: the kernel reads it when
     * the loop submits, after this task parked, and the caller's may be in
     * its frames. */
    size_t plen = j->path ? strlen(j->path) + 1 : 0;
    struct tulip__xone *b = tulip__xblock(tulip__current(), TULIP__UREC_NEED + sizeof(struct statx) + plen);
    if (!b)
        return -ENOMEM;
    struct tulip__uop *op = (struct tulip__uop *)(void *)b->item;
    struct statx *sx = tulip__uop_room(op);
    char *path = plen ? memcpy((char *)(sx + 1), j->path, plen) : NULL;
    memset(op, 0, sizeof *op);
    op->fd = j->fd;
    switch (j->kind) {
    case J_OPEN:
        op->kind = TULIP__UOP_OPENAT;
        op->fd = -1;
        op->path = path;
        op->flags = j->flags;
        op->mode = j->mode;
        break;
    case J_READ:
    case J_WRITE:
        return ring_rw(l, j, op);
    case J_FSYNC:
        op->kind = TULIP__UOP_FSYNC;
        op->flags = j->flags; /* datasync */
        break;
    default:
        op->kind = TULIP__UOP_STATX;
        op->buf = sx;
        if (j->kind == J_STAT) {
            op->fd = -1;
            op->path = path;
        } else {
            op->path = "";
            op->flags = AT_EMPTY_PATH;
        }
        break;
    }
    for (;;) {
        int st = tulip__uop_run(l, op);
        if (st == -ENOMEM && !op->task)
            return st;
        if (op->res == -EINTR && !st)
            continue;
        if (st < 0) {
            if (j->kind == J_OPEN && op->res >= 0)
                close(op->res); /* opened for nobody */
            return st;
        }
        if (op->res >= 0 && (j->kind == J_STAT || j->kind == J_FSTAT))
            stat_from_statx(j->st, sx);
        return op->res == -ECANCELED && j->fd >= 0 ? -EBADF : op->res;
    }
#else
    (void)l;
    (void)j;
    return -ENOSYS;
#endif
}

/* A compact task (docs/DESIGN.md section 11): the ring or the pool thread
 * writes the result, the data read and the stat while the task waits,
 * when its frames may be saved away. The job, the data, the path and the
 * stat go through one heap block; the data is copied in for a write and
 * out after a read. Always the pool: on the ring the kernel would write
 * into the caller's buffer and read its path while the task waits. */
static ssize_t off_stack(struct job *j)
{
    size_t data = j->kind == J_READ || j->kind == J_WRITE ? j->n : 0;
    size_t path = j->path ? strlen(j->path) + 1 : 0;
    size_t st = j->st ? sizeof(struct stat) : 0;
    struct block {
        struct job j;
        struct stat st;
        max_align_t rest[];
    } *b = tulip__malloc(sizeof *b + data + path);
    if (!b)
        return -ENOMEM;
    char *rest = (char *)b->rest;
    b->j = *j;
    if (data) {
        b->j.buf = rest;
        if (j->kind == J_WRITE)
            memcpy(rest, j->buf, data);
    }
    if (path) {
        memcpy(rest + data, j->path, path);
        b->j.path = rest + data;
    }
    if (st)
        b->j.st = &b->st;
    ssize_t r = on_pool(&b->j);
    if (r > 0 && j->kind == J_READ)
        memcpy(j->buf, rest, (size_t)r);
    if (r == 0 && st)
        *j->st = b->st;
    free(b);
    return r;
}

static ssize_t file_call(struct job *j)
{
    tulip_task *t;
    int st = tulip__wait_enter(&t);
    if (st)
        return st;
    if (__builtin_expect(t->shared != NULL, 0))
        return off_stack(j);
    if (tulip__uring_on(t->loop))
        return on_ring(t->loop, j);
    return on_pool(j);
}

int tulip_file_open(const char *path, int flags, unsigned mode)
{
    if (!path)
        return -EINVAL;
    struct job j = {.kind = J_OPEN, .fd = -1, .path = path, .flags = flags, .mode = mode};
    return (int)file_call(&j);
}

ssize_t tulip_file_pread(int fd, void *buf, size_t n, int64_t off)
{
    struct job j = {.kind = J_READ, .fd = fd, .buf = buf, .n = n > INT_MAX ? INT_MAX : n, .off = off};
    return file_call(&j);
}

ssize_t tulip_file_pwrite(int fd, const void *buf, size_t n, int64_t off)
{
    struct job j = {.kind = J_WRITE, .fd = fd, .buf = (void *)buf, .n = n > INT_MAX ? INT_MAX : n, .off = off};
    return file_call(&j);
}

int tulip_file_fsync(int fd, bool datasync)
{
    struct job j = {.kind = J_FSYNC, .fd = fd, .flags = datasync};
    return (int)file_call(&j);
}

int tulip_file_stat(const char *path, struct stat *st)
{
    if (!path || !st)
        return -EINVAL;
    struct job j = {.kind = J_STAT, .fd = -1, .path = path, .st = st};
    return (int)file_call(&j);
}

int tulip_file_fstat(int fd, struct stat *st)
{
    if (!st)
        return -EINVAL;
    struct job j = {.kind = J_FSTAT, .fd = fd, .st = st};
    return (int)file_call(&j);
}

ssize_t tulip_file_read_all(const char *path, char **out, size_t max)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int fd = tulip_file_open(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    struct stat st;
    memset(&st, 0, sizeof st);
    ssize_t rc = tulip_file_fstat(fd, &st);
    size_t cap = rc == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    if (max && cap > max + 1)
        cap = max + 1;
    char *buf = tulip__malloc(cap);
    size_t len = 0;
    if (!buf) {
        tulip_close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (len + 1 == cap) {
            if (max && len >= max) {
                /* Full at the limit: one more byte means too big. */
                char c;
                rc = tulip_file_pread(fd, &c, 1, (int64_t)len);
                if (rc > 0)
                    rc = -EFBIG;
                break;
            }
            /* One byte more is enough to ask for: the rule doubles. */
            if ((rc = tulip__grow(&buf, &cap, cap + 1, 0, max ? max + 1 : SIZE_MAX, 1)) < 0)
                break;
        }
        rc = tulip_file_pread(fd, buf + len, cap - 1 - len, S_ISREG(st.st_mode) ? (int64_t)len : -1);
        if (rc <= 0)
            break;
        len += (size_t)rc;
    }
    tulip_close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    return (ssize_t)len;
}
