/* TLS over OpenSSL, exposed as tulip streams (tulip/stream.h): once the
 * handshake is done, read, write, flush, shutdown and close are the stream
 * calls. Present when the library was built with OpenSSL (TULIP_HAVE_TLS).
 *
 * Errors beyond the stream ones:
 *   -EACCES     the peer's certificate failed verification (untrusted chain,
 *               wrong hostname, expired...);
 *   -EPROTO     any other TLS protocol failure (bad record, handshake alert
 *               from the peer, no shared cipher...);
 *   -ECONNRESET the peer closed the connection during the handshake.
 * tulip_tls_last_error() describes the last one in words.
 *
 * End of stream: a peer's close_notify reads as 0, and so does a connection
 * closed without one (a "ragged" EOF, as Python's default
 * suppress_ragged_eofs): protocols that need to detect truncation must carry
 * their own lengths (HTTP does). */
#ifndef TULIP_TLS_H
#define TULIP_TLS_H

#include "tulip/common.h"
#include "tulip/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tulip_tls_ctx tulip_tls_ctx;

typedef struct tulip_tls_client_opts {
    /* A PEM file of extra trusted certificates, added to the system store
     * (NULL: none). For tests and private CAs. */
    const char *ca_file;
    /* Trust only ca_file, not the system store. */
    int no_system_store;
    /* Disable certificate and hostname verification. Insecure: the peer is
     * not authenticated at all. Off unless set explicitly. */
    int insecure_skip_verify;
} tulip_tls_client_opts;

/* A client context (shareable by any number of connections; a context is
 * reference-counted by OpenSSL, so freeing it while streams made from it
 * are still open is fine). opts may be NULL: verification against the
 * system store, TLS 1.2 minimum.
 * NULL with errno: ENOMEM, ENOENT/EACCES (ca_file cannot be read), EINVAL
 * (ca_file is not valid PEM), EPROTO (OpenSSL could not set up). */
TULIP_API tulip_tls_ctx *tulip_tls_client_ctx_new(const tulip_tls_client_opts *opts);

/* A server context presenting cert_file (PEM, the certificate then any
 * intermediates) with key_file (PEM private key).
 * NULL with errno: ENOMEM, ENOENT/EACCES (a file cannot be read), EINVAL
 * (NULL argument, unparsable file or key not matching the certificate),
 * EPROTO. */
TULIP_API tulip_tls_ctx *tulip_tls_server_ctx_new(const char *cert_file, const char *key_file);

/* Release the caller's reference. NULL is a no-op. */
TULIP_API void tulip_tls_ctx_free(tulip_tls_ctx *ctx);

/* Perform a client handshake on the connected socket fd (parks; a
 * cancellation point: scope deadlines bound it) and return a stream that
 * owns fd. hostname (may be NULL: the chain is still verified but no name
 * is checked) is sent as SNI unless it is an IP literal, and the
 * certificate must match it (DNS name or IP address).
 * NULL with errno, fd left open and owned by the caller: EACCES, EPROTO,
 * ECONNRESET (see above), ECANCELED, ETIMEDOUT, EPERM (not in a task),
 * EINVAL (NULL ctx, server ctx, fd < 0), ENOMEM, EBADF and other socket
 * errors. */
TULIP_API tulip_stream *tulip_stream_new_tls_client(int fd, tulip_tls_ctx *ctx, const char *hostname);

/* The server side of the handshake, as tulip_stream_new_tls_client.
 * NULL with errno: EPROTO (includes a client that rejected our
 * certificate), ECONNRESET, ECANCELED, ETIMEDOUT, EPERM, EINVAL, ENOMEM,
 * socket errors. */
TULIP_API tulip_stream *tulip_stream_new_tls_server(int fd, tulip_tls_ctx *ctx);

/* A description of the last TLS failure on this thread (OpenSSL's reason,
 * or the certificate verification error); "" if none. Valid until the next
 * TLS call on this thread. */
TULIP_API const char *tulip_tls_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
