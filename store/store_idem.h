/**
 * store_idem — idempotency keys (the HTTP `Idempotency-Key` header, api/idem.h).
 *
 * One typed row per (owner, key): the hash of the request that first used the key, and once
 * it was answered, the response (status and an opaque blob the HTTP layer encodes). A row
 * whose status is 0 is "in progress". Rows live for the caller's @ttl_ms (24 h) and are
 * purged by the claims that meet them, a few at a time.
 *
 * Threading, ownership and errors as in store_app.h.
 */
#ifndef IOT_STORE_STORE_IDEM_H
#define IOT_STORE_STORE_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_IDEM_KEY_MAX  255 /* longest key, bytes */
#define STORE_IDEM_HASH_MAX 64  /* longest request hash (hex), bytes */

/** What a claim found. */
typedef struct store_idem {
    int status;        /* 0: in progress; else the HTTP status answered */
    bool same_request; /* the stored request hash equals the claimant's */
    uint8_t *blob;     /* the stored response (malloc'd, caller frees); NULL when none */
    size_t blob_len;
    int64_t created_at;
} store_idem;

enum store_idem_claim {
    STORE_IDEM_NEW = 0,      /* the key is now ours (an in-progress row was written) */
    STORE_IDEM_EXISTING = 1, /* the key was taken: *out says by what */
};

/** Claims (@owner, @key) for a request hashed @hash at @now. A row older than @ttl_ms is
 *  replaced (as is an in-progress row older than @stale_ms: its request died with a
 *  previous process). Also purges a few rows older than @ttl_ms. STORE_IDEM_NEW,
 *  STORE_IDEM_EXISTING with *@out filled, or <0. */
int store_idem_claim(store_tx *tx, const char *owner, const char *key, const char *hash,
                     int64_t now, int64_t ttl_ms, int64_t stale_ms, store_idem *out);
/** Records the answer of a claimed key. STORE_ENOTFOUND when the row is gone. */
int store_idem_finish(store_tx *tx, const char *owner, const char *key, int status,
                      const uint8_t *blob, size_t len);
/** Forgets a claimed key (the request failed in a way a retry should redo). */
int store_idem_release(store_tx *tx, const char *owner, const char *key);

#endif
