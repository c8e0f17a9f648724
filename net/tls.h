/**
 * tls — TLS server engine over memory, private to net/.
 *
 * The engine never sees a socket: the transport feeds received ciphertext in
 * (net__tls_feed), pulls plaintext out (net__tls_read), pushes plaintext in
 * (net__tls_write) and takes the ciphertext to send (net__tls_out). This keeps the
 * TLS layer testable without a network and lets the transport batch its writes.
 *
 * Threading: a net_tls_ctx (wrapping one SSL_CTX) is shared by all loops and refcounted
 * (any thread); each net_tls belongs to one connection, is used only on that connection's
 * loop and holds a reference to the context it was made from (a reload swaps the loops'
 * context while older connections keep theirs).
 */
#ifndef IOT_NET_TLS_H
#define IOT_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_tls_opts;

typedef struct net_tls_ctx net_tls_ctx;
typedef struct net_tls net_tls;

/** The ALPN ids a listener serves, in server preference order. */
typedef struct net_tls_alpn {
    const char *names[4];
    size_t n;
} net_tls_alpn;

enum {
    NET_TLS_WANT = 0, /* needs more ciphertext */
    NET_TLS_ERR = -1, /* fatal TLS error (alert queued in the output if possible) */
    NET_TLS_EOF = -2, /* peer sent close_notify */
    NET_TLS_NOMEM = -3,
};

/** Loads certificate, key and optional client CA. NULL with @err filled on failure. */
net_tls_ctx *net__tls_ctx_new(const struct net_tls_opts *o, char *err, size_t errlen);
/** Takes one more reference (any thread); returns @x. */
net_tls_ctx *net__tls_ctx_ref(net_tls_ctx *x);
/** Drops one reference; the last one frees. NULL is ignored. */
void net__tls_ctx_free(net_tls_ctx *x);

/** New server-side session; @alpn must outlive it. NULL on OOM. */
net_tls *net__tls_new(net_tls_ctx *x, const net_tls_alpn *alpn);
void net__tls_free(net_tls *t);

/** Makes @n received ciphertext bytes available; they must stay valid until the next
 *  net__tls_handshake / net__tls_read returns NET_TLS_WANT (the engine reads them in
 *  place, without a per-connection input buffer). */
void net__tls_feed(net_tls *t, const uint8_t *p, size_t n);
/** Advances the handshake: 1 done, NET_TLS_WANT, or an error. */
int net__tls_handshake(net_tls *t);
/** True when the finished handshake resumed a session (ticket) instead of a full one. */
bool net__tls_resumed(const net_tls *t);
/** Decrypts into @out: byte count > 0, NET_TLS_WANT, NET_TLS_EOF or NET_TLS_ERR. */
long net__tls_read(net_tls *t, uint8_t *out, size_t cap);
/** Encrypts @n plaintext bytes into the output (one record per 16 KiB). 0 or an error. */
int net__tls_write(net_tls *t, const uint8_t *p, size_t n);
/** Queues close_notify. */
void net__tls_shutdown(net_tls *t);
/** Ciphertext waiting to be sent: sets @p, returns its length (0 if none). */
size_t net__tls_out(net_tls *t, const uint8_t **p);
/** Drops all ciphertext returned by net__tls_out (it has been copied or sent). */
void net__tls_out_clear(net_tls *t);
/** Index into the listener's ALPN table chosen by the handshake, or -1 (no ALPN). */
int net__tls_alpn_index(net_tls *t);
/** Subject CN of a verified client certificate (malloc'd, caller frees), else NULL. */
char *net__tls_peer_cn(net_tls *t);
/** True when the peer presented a certificate that net_tls_opts.revoked reports revoked
 *  (needed after resumption, which skips verification). */
bool net__tls_peer_revoked(net_tls *t);
/** Negotiated protocol version string, for logs and tests. */
const char *net__tls_version(net_tls *t);

#endif
