/* The request head parser's one pass for a head that came whole
 * (parser_whole.c), called by tulip_http_parse_request (parser.c). */
#ifndef TULIP_HTTP_PARSER_WHOLE_H
#define TULIP_HTTP_PARSER_WHOLE_H

#include <stddef.h>

#include "tulip/http_parser.h"

/* The length of the head at buf (at most min(len, max_head) bytes) with
 * the request line and header slices in *r (headers[0..r->num_headers)),
 * framing not yet looked at; or 0: parse it the general way. */
size_t tulip__http_whole_request(const char *buf, size_t len, size_t max_head, tulip_http_header *headers,
                                 size_t max_headers, tulip_http_request *r);

#endif
