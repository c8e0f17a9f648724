/**
 * ca/revset — the revoked-serial cache for the TLS handshake path.
 *
 * The store is the truth (certs table, store_cert_revoke); this is its in-memory copy,
 * filled at start-up from store_cert_each_revoked and added to by the REST API right after
 * it commits a revocation. A TLS handshake asks revset_has for the client certificate's
 * serial, so a revoked certificate fails the handshake at once.
 *
 * Threading: revset_new/revset_free on the main thread; revset_add and revset_has from any
 * thread at once (a read-write lock; lookups are hash lookups, ~100 ns). Serials are
 * lower-case hex without leading zeros (ca_issued.serial); revset_has_x509 converts.
 */
#ifndef IOT_CA_REVSET_H
#define IOT_CA_REVSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct revset revset;

revset *revset_new(void);
void revset_free(revset *r);
/** Adds @serial (hex, any case, leading zeros ignored). 0, or <0 (bad serial, memory). */
int revset_add(revset *r, const char *serial);
bool revset_has(revset *r, const char *serial);
/** True when the OpenSSL X509 * @cert (void to keep OpenSSL out of this header) has a
 *  revoked serial. */
bool revset_has_x509(revset *r, const void *cert);
size_t revset_count(revset *r);

#endif
