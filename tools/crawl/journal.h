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

#endif
