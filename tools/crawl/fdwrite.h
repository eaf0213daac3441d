/* A blocking write of a whole buffer, for the crawl's regular files (the
 * journal, JSON Lines, WARC).  Not tulip_write_all: that one parks and
 * can be cancelled half-way, and a commit must neither wait nor stop
 * between its first and its last byte (state.h). */
#ifndef TULIP_CRAWL_FDWRITE_H
#define TULIP_CRAWL_FDWRITE_H

#include <stddef.h>

/* write(2) until all n bytes are out, again on EINTR.
 * Errors: write's, as negative errno (a prefix may be written). */
int crawl_write_all(int fd, const void *p, size_t n);

#endif
