/* The transport under a stream: a plain fd (stream.c) or TLS (tls.c). The
 * stream does the buffering and locking; a transport only moves bytes. */
#ifndef TULIP_STREAM_INTERNAL_H
#define TULIP_STREAM_INTERNAL_H

#include "tulip/stream.h"
#include "io_internal.h"

struct tulip__stream_ops {
    /* Park until at least one byte can be read; 0 at end of stream. A call
     * that returns an error consumed nothing. */
    ssize_t (*read)(void *t, int fd, void *buf, size_t n);
    /* Park until at least one byte is taken; returns the count. After an
     * error (cancellation included) the next call must present the same
     * bytes first again (TLS keeps half-encrypted records). */
    ssize_t (*write)(void *t, int fd, const void *buf, size_t n);
    /* End the sending direction after a flush. May park. */
    int (*shutdown)(void *t, int fd);
    /* Release the transport state; never parks, never closes fd. */
    void (*close)(void *t, int fd);
    /* write may be given a caller's buffer that will not be presented again
     * after a cancellation (true for plain fds, false for TLS). */
    int direct_write;
};

/* A stream over fd with transport state t (owned by the stream from here on:
 * ops->close(t) runs in tulip_stream_close, and also here on failure).
 * NULL with errno ENOMEM. */
tulip_stream *tulip__stream_new(int fd, int flags, const struct tulip__stream_ops *ops, void *t);
/* Drop unsent write data, so a following tulip_stream_close never parks. */
void tulip__stream_discard(tulip_stream *s);
/* true while a task reads, writes or waits to (tulip_stream_close would
 * refuse with -EBUSY). */
bool tulip__stream_busy(const tulip_stream *s);

#endif
