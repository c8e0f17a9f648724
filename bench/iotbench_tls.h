/**
 * iotbench_tls — the client TLS engine of iotbench's MQTT client (mqtt_client.c).
 *
 * OpenSSL never sees the socket: ciphertext received is fed in (iotbench_tls_feed),
 * plaintext is read and written through the SSL object, and the ciphertext it produces
 * is taken out (iotbench_tls_take) and written by the caller. The same shape as the
 * server's engine in net/ and devsim_tls.c, client side only.
 *
 * Ownership: iotbench_tls_ctx returns an SSL_CTX the caller frees (SSL_CTX_free) after
 * every engine made from it; iotbench_tls_new returns an engine freed by
 * iotbench_tls_free. One thread per engine.
 */
#ifndef IOT_BENCH_IOTBENCH_TLS_H
#define IOT_BENCH_IOTBENCH_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/** Client context: TLS >= 1.2, ALPN @alpn when not NULL ("mqtt"). With @cafile the server
 *  certificate must chain to it and name @host (IP SAN for a numeric host); without,
 *  nothing is verified. NULL on error (printed on stderr). */
SSL_CTX *iotbench_tls_ctx(const char *cafile, const char *host, const char *alpn);

typedef struct iotbench_tls iotbench_tls;

/** A client engine in connect state; NULL when out of memory. */
iotbench_tls *iotbench_tls_new(SSL_CTX *ctx);
void iotbench_tls_free(iotbench_tls *t);

/** Ciphertext from the peer. 0, or -1 when out of memory. */
int iotbench_tls_feed(iotbench_tls *t, const void *p, size_t n);
/** Advances the handshake: 1 done, 0 waiting for the peer, -1 failed (reason printed). */
int iotbench_tls_handshake(iotbench_tls *t);
/** Plaintext received: bytes read (> 0), 0 when nothing more is buffered, -1 when the
 *  peer closed or the connection failed. */
long iotbench_tls_read(iotbench_tls *t, void *out, size_t cap);
/** Encrypts all @n bytes (the output buffer grows as needed). 0 or -1. */
int iotbench_tls_write(iotbench_tls *t, const void *p, size_t n);
/** Ciphertext waiting to be sent. */
size_t iotbench_tls_pending(const iotbench_tls *t);
/** Moves up to @cap bytes of it to @out; returns how many. */
size_t iotbench_tls_take(iotbench_tls *t, void *out, size_t cap);

#endif
