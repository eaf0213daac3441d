/* The crawler's canonical URL form (url.h) in the small pieces that need
 * no parser, shared by the uriparser path (url.c) and the parser-free one
 * (url_fast.c) so that neither calls into the other: the scheme's default
 * port, RFC 3986's dot-segment removal, and the authority and host read
 * off a canonical string. */
#ifndef TULIP_CRAWL_URL_CANON_H
#define TULIP_CRAWL_URL_CANON_H

#include <stddef.h>

/* Longest URL accepted (input and output), in bytes. */
#define CRAWL_URL_MAX 8192

/* 443 for "https", 80 for anything else (only http and https are
 * crawled). */
int crawl_url_default_port(const char *scheme);

/* RFC 3986 5.2.4 on path[0..n), which starts with '/', in place; returns
 * the new length.  The output is a sequence of "/segment"s: "." drops
 * nothing, ".." drops the last one, and either at the end leaves a '/'.
 * It is the library's tulip_http_path_remove_dots: one remover. */
size_t crawl_url_remove_dot_segments(char *path, size_t n);

/* Fast reads of a URL already in canonical form (as crawl_url_resolve and
 * crawl_url_normalize return it), with no parse or allocation: the
 * authority span after "scheme://" and the target that follows ("/" when
 * empty), equal to what crawl_url_split reports. Returns 0, or -EINVAL when
 * the string does not look canonical (no "://", empty authority, a
 * fragment) or carries userinfo: use crawl_url_split then. */
int crawl_url_canonical_authority(const char *url, const char **auth, size_t *auth_len, const char **target);

/* As above, the host within the authority: no port, IPv6 without brackets
 * (as crawl_url_split reports it). Errors: -EINVAL, as above. */
int crawl_url_canonical_host(const char *url, const char **host, size_t *len);

#endif
