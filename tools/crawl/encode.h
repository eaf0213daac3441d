/* Content codings for the demo server: the bytes a server sends with
 * Content-Encoding gzip, br or zstd (the crawler's HTTP client undoes them;
 * see src/http/coding.c). */
#ifndef TULIP_CRAWL_ENCODE_H
#define TULIP_CRAWL_ENCODE_H

#include <stddef.h>

/* Encode in[0..n) in coding ("gzip", "br", "zstd") into a new buffer.
 * Errors: -ENOTSUP (coding unknown or not built in), -ENOMEM. */
int crawl_encode(const char *coding, const void *in, size_t n, char **out, size_t *out_len);

#endif
