/**
 * ca/revset — the revoked-serial cache for the TLS handshake path.
 *
 * The store is the truth (certs table, store_cert_revoke); this is its in-memory copy,
 * filled at start-up from store_cert_each_revoked and added to by the REST API right after
 * it commits a revocation. A TLS handshake asks revset_has for the client certificate's
 * serial, so a revoked certificate fails the handshake at once.
 *
 * Each entry also keeps what the CRL needs (revocation time, reason, the certificate's
 * notAfter), so the CRL builder (ca/crlgen.h) never reads the store, and an entry is
 * pruned once its certificate has expired: TLS refuses an expired certificate anyway, and
 * RFC 5280 5.1 lets a CRL drop it after its validity.
 *
 * Threading: revset_new/revset_free on the main thread; every other function from any
 * thread at once (a read-write lock; lookups are hash lookups, ~100 ns, O(1) whatever the
 * size). Serials are lower-case hex without leading zeros (ca_issued.serial);
 * revset_has_x509 converts.
 */
#ifndef IOT_CA_REVSET_H
#define IOT_CA_REVSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"

typedef struct revset revset;

revset *revset_new(void);
void revset_free(revset *r);
typedef struct revset_entry {
    const char *serial; /* hex, any case, leading zeros ignored */
    int64_t revoked_at; /* ms */
    int64_t not_after;  /* ms: the certificate's notAfter; pruned after it */
    int reason;         /* RFC 5280 CRLReason */
} revset_entry;

/** Adds @e (a serial already held keeps its first entry). 0, or <0 (bad serial, memory). */
int revset_put(revset *r, const revset_entry *e);
/** revset_put of @serial with no CRL data: revoked at 0, reason 0, never expires. */
int revset_add(revset *r, const char *serial);
bool revset_has(revset *r, const char *serial);
/** True when the OpenSSL X509 * @cert (void to keep OpenSSL out of this header) has a
 *  revoked serial. */
bool revset_has_x509(revset *r, const void *cert);
size_t revset_count(revset *r);

/** Drops every entry whose not_after <= @now (ms); returns how many. O(size) under the
 *  write lock: call from a background thread (ca/crlgen.c), not per handshake. */
size_t revset_prune(revset *r, int64_t now);
/** Changes with every add or prune that changed the set (to tell whether a CRL is stale). */
uint64_t revset_version(revset *r);

/** A copy of the entries, as ca_crl_pem takes them (v[i].serial points into serials). */
typedef struct revset_snap {
    ca_revoked *v;
    char (*serials)[CA_SERIAL_HEX + 1];
    size_t n;
    uint64_t version; /* revset_version at the copy */
} revset_snap;

/** Copies the entries with not_after > @now into @out. O(size) under the read lock
 *  (handshakes go on; an add waits for the copy, microseconds per thousand entries).
 *  0 or -1 (memory). */
int revset_snapshot(revset *r, int64_t now, revset_snap *out);
void revset_snap_free(revset_snap *s);

#endif
