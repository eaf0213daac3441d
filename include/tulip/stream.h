/* Buffered streams (asyncio's StreamReader/StreamWriter in one object) over
 * a plain fd or a TLS session (tulip/tls.h): the same calls for both.
 *
 * Reading: tulip_stream_read returns whatever is buffered or one fill;
 * readexactly/readuntil/readline gather in the stream's own buffer and copy
 * out only once the request is complete, so a call that fails (cancelled,
 * timed out, EOF too early, line too long) consumed nothing: the bytes stay
 * buffered for the next call.
 *
 * Writing: tulip_stream_write copies into a bounded write buffer (default
 * 64 KiB) and, when it is full, parks until the kernel has taken enough:
 * memory never grows with unflushed data (backpressure). tulip_stream_flush
 * waits until every buffered byte has been handed to the kernel (or TLS).
 *
 * Tasks: any number of tasks may use one stream. Reads are serialised among
 * themselves and so are writes/flushes, FIFO; the bytes of one write call are
 * never interleaved with another task's. A reader and a writer run
 * independently. Every call that may park is a cancellation point
 * (-ECANCELED / -ETIMEDOUT from the task or an enclosing scope).
 *
 * Must be used from tasks of the loop that created the stream. */
#ifndef TULIP_STREAM_H
#define TULIP_STREAM_H

#include <sys/types.h>
#include "tulip/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tulip_stream tulip_stream;

/* tulip_stream_new_fd flags. */
#define TULIP_STREAM_OWN_FD 1   /* tulip_stream_close closes fd (with tulip_close) */

#define TULIP_STREAM_DEFAULT_WRITE_LIMIT ((size_t)64 * 1024)

/* A stream over fd (socket, pipe, tty...). fd is made non-blocking. Without
 * TULIP_STREAM_OWN_FD the caller keeps the fd and must close it after
 * tulip_stream_close. No I/O happens here.
 * NULL with errno: EINVAL (fd < 0 or unknown flags), ENOMEM. On failure fd
 * is left open whatever the flags. */
TULIP_API tulip_stream *tulip_stream_new_fd(int fd, int flags);

/* Read up to n bytes: whatever is buffered, else one fill (one read(2) or
 * one TLS record). Returns the count, 0 at end of stream (and for n == 0).
 * Errors: -ECANCELED, -ETIMEDOUT (nothing consumed), -ECONNRESET, -EIO,
 * -EBADF and other read(2) errors, -EPROTO (TLS), -ENOMEM, -EPERM (not in a
 * task), -EINVAL (NULL s, or NULL buf with n > 0). */
TULIP_API ssize_t tulip_stream_read(tulip_stream *s, void *buf, size_t n);

/* Read exactly n bytes into buf. The stream buffer grows to n bytes if
 * needed. Returns n.
 * Errors: -ENODATA (end of stream after fewer than n bytes: those bytes
 * stay buffered, tulip_stream_buffered() says how many and
 * tulip_stream_read returns them), -ECANCELED, -ETIMEDOUT (nothing
 * consumed), -ENOMEM (buffer growth), the errors of tulip_stream_read. */
TULIP_API ssize_t tulip_stream_readexactly(tulip_stream *s, void *buf, size_t n);

/* Read up to and including the first occurrence of delim (delim_len >= 1
 * bytes) into buf, which holds max bytes. Returns the length including the
 * delimiter (buf is not NUL-terminated), or 0 at a clean end of stream
 * (nothing left), as tulip_stream_read, so `while ((n = ...) > 0)` reads
 * every record.
 * Errors: -EMSGSIZE (no delimiter within the first max bytes: the data stays
 * buffered, nothing is consumed; read it with tulip_stream_read or
 * readexactly), -ENODATA (the stream ended inside a record, after bytes but
 * before a delimiter: the partial record stays buffered,
 * tulip_stream_buffered() says how long it is), -ECANCELED, -ETIMEDOUT
 * (nothing consumed), -ENOMEM, -EINVAL (delim_len == 0 or max <
 * delim_len), the errors of tulip_stream_read. */
TULIP_API ssize_t tulip_stream_readuntil(tulip_stream *s, const void *delim, size_t delim_len,
                                         void *buf, size_t max);
/* Read one line, up to and including its "\n", into buf (max bytes).
 * Returns its length, or 0 at a clean end of stream (asyncio's b""). A last
 * line without a newline is returned as it is (as asyncio's readline and
 * fgets do): a line not ending in '\n' is the last one. Errors: those of
 * tulip_stream_readuntil, except -ENODATA. */
TULIP_API ssize_t tulip_stream_readline(tulip_stream *s, void *buf, size_t max);

/* Queue n bytes for writing; parks while the write buffer is full until the
 * kernel drains it. Returns n once every byte is buffered or written; the
 * data is not necessarily sent yet (tulip_stream_flush).
 * If the call is cancelled, times out or fails after part of buf was taken,
 * it returns that count (< n): exactly those first bytes are buffered or
 * sent and will go out with the next flush; nothing after them was taken.
 * Errors (nothing taken): -ECANCELED, -ETIMEDOUT, -EPIPE, -ECONNRESET and
 * other write(2) errors (sticky: later writes and flushes return the same
 * error), -ESHUTDOWN (after tulip_stream_shutdown), -EPROTO (TLS), -EPERM,
 * -EINVAL. */
TULIP_API ssize_t tulip_stream_write(tulip_stream *s, const void *buf, size_t n);

/* Park until every byte buffered so far (including other tasks' writes that
 * queued before this call) has been handed to the kernel. Returns 0.
 * Errors: -ECANCELED, -ETIMEDOUT (whatever was not yet sent stays buffered
 * and goes out with a later flush), -EPIPE, -ECONNRESET and other write(2)
 * errors (sticky), -EPROTO (TLS), -EPERM, -EINVAL. */
TULIP_API int tulip_stream_flush(tulip_stream *s);

/* Flush, then end the sending direction: shutdown(SHUT_WR) on a socket, a
 * close_notify alert for TLS. Reading stays possible. Later writes fail with
 * -ESHUTDOWN. Errors: those of tulip_stream_flush, -ENOTSOCK (plain fd that
 * is not a socket: close the stream instead), shutdown(2) errors. */
TULIP_API int tulip_stream_shutdown(tulip_stream *s);

/* Flush what is buffered (best effort: a cancelled, timed-out or failed
 * flush discards the rest), say goodbye on TLS (one non-parking close_notify
 * attempt), close the fd if the stream owns it and free the stream. s is
 * invalid afterwards whatever the result, except -EBUSY: another task is
 * reading, writing or waiting on s, and nothing was done (s stays valid).
 * Returns 0 or the error of the final flush (-ECANCELED, -ETIMEDOUT,
 * -EPIPE, ...). NULL is a no-op returning 0. */
TULIP_API int tulip_stream_close(tulip_stream *s);

/* The fd under s (-1 if NULL). Do not read or write it directly. */
TULIP_API int tulip_stream_fd(const tulip_stream *s);
/* Bytes received and not yet consumed by a read call. */
TULIP_API size_t tulip_stream_buffered(const tulip_stream *s);
/* Bytes written and not yet handed to the kernel. */
TULIP_API size_t tulip_stream_pending(const tulip_stream *s);

/* Bound the write buffer to limit bytes (>= 1). Errors: -EINVAL,
 * -EBUSY (more than limit bytes are pending now). */
TULIP_API int tulip_stream_set_write_limit(tulip_stream *s, size_t limit);

typedef struct tulip_stream_stats {
    size_t read_buffered;      /* = tulip_stream_buffered */
    size_t read_capacity;      /* bytes allocated for the read buffer */
    size_t write_pending;      /* = tulip_stream_pending */
    size_t write_limit;        /* the bound on write_pending */
    size_t write_peak;         /* highest write_pending ever seen */
    uint64_t bytes_read;       /* from the transport */
    uint64_t bytes_written;    /* to the transport */
} tulip_stream_stats;

/* Counters of s. Errors: -EINVAL. */
TULIP_API int tulip_stream_stats_get(const tulip_stream *s, tulip_stream_stats *out);

#ifdef __cplusplus
}
#endif
#endif
