/* HTTP/1.1 message-head parser and chunked body decoder.
 *
 * No I/O, no allocation, no dependency on the rest of tulip: the caller
 * reads bytes however it likes and hands them here.
 *
 * Strictness (RFC 9110/9112), chosen so that what we accept cannot be
 * read differently by another hop (request smuggling):
 *   - lines end in CRLF; a bare LF or bare CR anywhere in the head is an
 *     error (no lone-LF leniency);
 *   - no whitespace before ':' and no obs-fold (continuation lines);
 *   - header names and methods are tokens; targets are visible ASCII;
 *     values and reason phrases may hold SP, HTAB, visible ASCII and
 *     obs-text (0x80-0xFF); every other control byte, NUL and DEL included,
 *     is an error;
 *   - versions are "HTTP/1.<digit>" (case-sensitive); a well-formed other
 *     major version gets its own error so a server can answer 505;
 *   - status codes are three digits in 100..599; the reason phrase and the
 *     SP before it may be missing ("HTTP/1.1 200\r\n" is common);
 *   - a server may skip empty lines before a request line (RFC 9112 2.2).
 */
#ifndef TULIP_HTTP_PARSER_H
#define TULIP_HTTP_PARSER_H

#include "tulip/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A header field: slices into the caller's buffer, not NUL-terminated.
 * The value has leading and trailing whitespace removed. */
typedef struct tulip_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} tulip_http_header;

/* How the body that follows a head is delimited. */
typedef enum tulip_http_body {
    TULIP_HTTP_BODY_NONE = 0,     /* nothing follows the head */
    TULIP_HTTP_BODY_LENGTH,       /* exactly content_length bytes (may be 0) */
    TULIP_HTTP_BODY_CHUNKED,      /* feed it to tulip_http_chunked_decode */
    TULIP_HTTP_BODY_UNTIL_CLOSE,  /* responses only: everything until EOF */
} tulip_http_body;

typedef struct tulip_http_request {
    const char *method;           /* slice into the buffer */
    size_t method_len;
    const char *target;           /* slice into the buffer */
    size_t target_len;
    int minor_version;            /* the x of HTTP/1.x */
    tulip_http_header *headers;   /* the array given to tulip_http_parser_init */
    size_t num_headers;
    int64_t content_length;       /* declared length, -1 if none */
    tulip_http_body body;
    bool chunked;                 /* body == TULIP_HTTP_BODY_CHUNKED */
    bool keep_alive;              /* the connection may carry another request */
} tulip_http_request;

typedef struct tulip_http_response {
    int minor_version;
    int status;                   /* 100..599 */
    const char *reason;           /* slice, may be empty */
    size_t reason_len;
    tulip_http_header *headers;
    size_t num_headers;
    int64_t content_length;       /* declared length, -1 if none or overridden by chunked */
    tulip_http_body body;
    bool chunked;                 /* body == TULIP_HTTP_BODY_CHUNKED */
    bool until_close;             /* body == TULIP_HTTP_BODY_UNTIL_CLOSE */
    bool keep_alive;              /* the connection may carry another response */
} tulip_http_response;

/* Parser state. Opaque, caller-allocated, no teardown needed. It keeps
 * offsets, never pointers, so the buffer may move (realloc) between calls. */
typedef struct tulip_http_parser {
    uint64_t opaque_[8];
} tulip_http_parser;

/* Default for max_head when 0 is passed to tulip_http_parser_init. */
#define TULIP_HTTP_DEFAULT_MAX_HEAD 16384

/* Flag for tulip_http_parser_init: the response answers a HEAD request,
 * so it has no body whatever its headers say. */
#define TULIP_HTTP_RESPONSE_TO_HEAD 1u

/* Prepares p for one message head. Call it again before the next message
 * on the same connection. headers[0..max_headers) receives the header
 * slices; max_head bounds the head in bytes (0: the default).
 * Errors:
 *   -EINVAL  p is NULL, headers is NULL while max_headers > 0,
 *            max_head > INT_MAX, or flags has unknown bits. */
TULIP_API int tulip_http_parser_init(tulip_http_parser *p, tulip_http_header *headers,
                                     size_t max_headers, size_t max_head, unsigned flags);

/* Parses a request head incrementally. buf[0..len) must hold every byte
 * received for this message so far, starting at its first byte (the buffer
 * may have moved since the previous call). Bytes already checked are not
 * checked again, so feeding a head in many small pieces stays linear.
 * On success fills *req (slices point into buf) and returns the length of
 * the head, i.e. where the body starts; bytes after it are not looked at.
 * On failure *req is untouched and the header array's contents are
 * unspecified.
 * Errors:
 *   -EAGAIN          the head is not complete yet: read more, call again
 *   -EBADMSG         malformed head or framing (answer 400): syntax, bad
 *                    or conflicting Content-Length, Transfer-Encoding whose
 *                    final coding is not chunked, Content-Length together
 *                    with Transfer-Encoding, Transfer-Encoding in
 *                    HTTP/1.0, HTTP/1.1 without exactly one Host, several Hosts
 *   -EPROTONOSUPPORT well-formed HTTP version whose major is not 1 (505)
 *   -EMSGSIZE        the head is longer than max_head (431)
 *   -E2BIG           more headers than max_headers (431)
 *   -EINVAL          NULL argument, len shorter than in the previous
 *                    call, or p was used for a response */
TULIP_API int tulip_http_parse_request(tulip_http_parser *p, const char *buf, size_t len,
                                       tulip_http_request *req);

/* Parses a response head incrementally; same contract as
 * tulip_http_parse_request. A 1xx response is a head of its own: parse the
 * next head after it (re-init p).
 * Errors:
 *   -EAGAIN          the head is not complete yet
 *   -EBADMSG         malformed head or framing: syntax, status outside
 *                    100..599, bad or conflicting Content-Length,
 *                    chunked applied twice or not last
 *   -EPROTONOSUPPORT well-formed HTTP version whose major is not 1
 *   -EMSGSIZE        the head is longer than max_head
 *   -E2BIG           more headers than max_headers
 *   -EINVAL          NULL argument, len shorter than in the previous
 *                    call, or p was used for a request */
TULIP_API int tulip_http_parse_response(tulip_http_parser *p, const char *buf, size_t len,
                                        tulip_http_response *res);

/* Index of the first header at or after index `from` whose name equals
 * `name` ignoring ASCII case; iterate with from = previous index + 1.
 * Errors:
 *   -ENOENT  no such header
 *   -EINVAL  headers is NULL while n > 0, or name is NULL */
TULIP_API ssize_t tulip_http_header_find(const tulip_http_header *headers, size_t n,
                                         const char *name, size_t from);

/* Chunked body decoder state. Opaque, caller-allocated. */
typedef struct tulip_http_chunked {
    uint64_t opaque_[6];
} tulip_http_chunked;

/* Bound on bytes of chunk extensions plus trailer section in one body;
 * they are skipped, and without a bound a peer could stream them forever. */
#define TULIP_HTTP_CHUNKED_MAX_META 16384

/* Prepares d for one chunked body of at most max_body decoded bytes
 * (UINT64_MAX: no limit).
 * Errors:
 *   -EINVAL  d is NULL */
TULIP_API int tulip_http_chunked_init(tulip_http_chunked *d, uint64_t max_body);

/* Decodes buf[0..*len) in place; the pieces of a body may be fed in any
 * split. On return the decoded data is buf[0..*len). Returns -EAGAIN while
 * the body is unfinished (every input byte was used; a peer closing now
 * means a truncated body). Once the last chunk and the trailers (checked,
 * then dropped) are complete, returns the number of bytes that followed the
 * body; they are moved to buf[*len..*len + ret) for the next message.
 * Chunk extensions are checked and skipped.
 * Errors (after which d is spent and *len is unspecified):
 *   -EAGAIN   need more input (not a failure)
 *   -EBADMSG  malformed chunk size line, data terminator, or trailer,
 *             or a chunk size that overflows 64 bits
 *   -EFBIG    the decoded body would exceed max_body
 *   -EMSGSIZE extensions and trailers exceed TULIP_HTTP_CHUNKED_MAX_META
 *   -EINVAL   NULL argument */
TULIP_API ssize_t tulip_http_chunked_decode(tulip_http_chunked *d, char *buf, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* TULIP_HTTP_PARSER_H */
