/**
 * ca/crlgen — builds the CA's CRL off the store thread and off the loops, coalesced.
 *
 * The revoked set (ca/revset.h) is the input: it holds every revoked, unexpired serial
 * with its revocation time and reason, and TLS already refuses those the moment they are
 * added. So the CRL is only for relying parties that fetch it (GET /v1/ca/crl), and it
 * need not be rebuilt per revocation: crlgen_kick marks it stale, and one background
 * thread (at a lower scheduling priority) rebuilds it at most once per @interval_ms,
 * however many revocations arrived meanwhile. A build copies the set (revset_snapshot),
 * signs, and swaps the held PEM; readers get the last built one.
 *
 * The thread also rebuilds every @refresh_s even when nothing changed (the CRL's
 * nextUpdate must stay ahead, and expired certificates are pruned from the set first:
 * revset_prune), and then calls @on_refresh, e.g. to delete the same expired rows from
 * the store.
 *
 * Threading: crlgen_new/crlgen_free on the main thread; crlgen_kick, crlgen_pem and
 * crlgen_builds from any thread (one mutex, never held during a build).
 */
#ifndef IOT_CA_CRLGEN_H
#define IOT_CA_CRLGEN_H

#include <stdint.h>

#include "ca/ca.h"
#include "ca/revset.h"

#define CRLGEN_DEFAULT_INTERVAL_MS 10000
#define CRLGEN_DEFAULT_REFRESH_S   3600
#define CRLGEN_NEXT_UPDATE_S       (7 * 24 * 3600) /* clients refetch at least weekly */

typedef struct crlgen crlgen;

typedef struct crlgen_opts {
    ca *ca;                 /* signs; must outlive the crlgen */
    revset *rs;             /* what is revoked; must outlive the crlgen */
    uint32_t interval_ms;   /* at most one build per this; 0: CRLGEN_DEFAULT_INTERVAL_MS */
    uint32_t refresh_s;     /* rebuild and prune at least this often; 0: the default */
    uint32_t next_update_s; /* nextUpdate - thisUpdate; 0: CRLGEN_NEXT_UPDATE_S */
    /* Called on the builder thread after each refresh's prune with the wall clock (ms); must
     * not block for long. May be NULL. */
    void (*on_refresh)(void *arg, int64_t now_ms);
    void *arg;
} crlgen_opts;

/** Builds the first CRL on the calling thread (start-up), then starts the builder thread.
 *  NULL when either fails. */
crlgen *crlgen_new(const crlgen_opts *o);
/** Stops the thread (waits for a build in progress): no build and no @on_refresh after it
 *  returns; crlgen_pem still serves the last CRL, kicks are ignored. Main thread; NULL-safe,
 *  idempotent. */
void crlgen_stop(crlgen *g);
/** crlgen_stop, then frees everything. NULL-safe. */
void crlgen_free(crlgen *g);

/** The set changed: a build happens at once when the last one is older than the
 *  interval, else when it is. Never blocks on a build. */
void crlgen_kick(crlgen *g);
/** A malloc'd copy of the last built CRL (PEM), its crlNumber in *@number (may be NULL);
 *  NULL on no memory. */
char *crlgen_pem(crlgen *g, uint64_t *number);
/** Builds done so far, the first included. */
uint64_t crlgen_builds(crlgen *g);

#endif
