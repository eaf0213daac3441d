/* Reading the crawl journal (state.h, docs/CRAWL.md) fast: a resume reads
 * millions of lines, so fields are read in place off the mapped file
 * (no sscanf, which would strlen the rest of the file, no copy per line);
 * the readers remember URLs as 128-bit fingerprints (seen.h) in a table
 * sized once from a count of the lines. */
#ifndef TULIP_CRAWL_JOURNAL_H
#define TULIP_CRAWL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Map the file at path read-only: *map NULL and *len 0 when it is empty.
 * Unmap with munmap(*map, *len). Errors: open/fstat/mmap's. */
int crawl_jl_map(const char *path, char **map, size_t *len);

/* The end of the line starting at p: its '\n', or end. */
const char *crawl_jl_end(const char *p, const char *end);

/* The start of the line after the one at p, whose end is nl: after an
 * "R status len origin" line, past its len bytes of body and newline;
 * end when that body is torn. */
const char *crawl_jl_next(const char *p, const char *nl, const char *end);

/* Skip spaces, read a decimal integer (with an optional '-'); returns the
 * byte after it, or NULL if there is none. */
const char *crawl_jl_int(const char *p, const char *end, int64_t *v);

/* Skip spaces, take the field up to the next space or end (a line's end:
 * the field never spans a newline then); returns the byte after it, or
 * NULL if the field is empty. */
const char *crawl_jl_field(const char *p, const char *end, const char **f, size_t *n);

/* A "B err parent key" line: the href key of the page parent is no URL
 * the crawl fetches (err: crawl_url_resolve's error, -EPROTONOSUPPORT...).
 * The key is the href as written, so it is the line's last field and may
 * hold spaces; a backslash, a newline and a carriage return in it are
 * written \\, \n and \r. Errors: -ENOMEM. */
int crawl_jl_put_bad(crawl_buf *b, int err, const char *parent, const char *key);

/* Read the B line p..nl (p at the 'B'): err, the parent in place, and
 * the key's bytes as written (escaped) in place; false when it does not
 * parse. */
bool crawl_jl_get_bad(const char *p, const char *nl, int64_t *err, const char **parent, size_t *pn,
                      const char **key, size_t *kn);

/* Undo crawl_jl_put_bad's escapes of s[0..n) into out (room for n + 1
 * bytes: never longer), NUL-terminated; returns its length. */
size_t crawl_jl_unescape(const char *s, size_t n, char *out);

#endif
