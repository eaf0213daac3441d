/* The request head parser's one pass for a head that came whole
 * (parser_whole.c, and its framing in parser.c). */
#ifndef TULIP_HTTP_PARSER_WHOLE_H
#define TULIP_HTTP_PARSER_WHOLE_H

#include <stddef.h>

#include "tulip/http_parser.h"

/* The length of the head at buf (at most min(len, max_head) bytes) with
 * the request line and header slices in *r (headers[0..r->num_headers)),
 * framing not yet looked at; or 0: parse it the general way. */
size_t tulip__http_whole_request(const char *buf, size_t len, size_t max_head, tulip_http_header *headers,
                                 size_t max_headers, tulip_http_request *r);

/* The same and its framing, as tulip_http_parse_request gives them on a
 * fresh parser: the head's length (> 0) with *out filled, a framing error
 * (-EBADMSG; *out untouched), or 0: parse it the general way. For a caller
 * that would make a fresh parser for one head (the server), and for
 * tulip_http_parse_request itself (parser.c). */
int tulip__http_parse_whole(const char *buf, size_t len, size_t max_head, tulip_http_header *headers,
                            size_t max_headers, tulip_http_request *out);

#endif
