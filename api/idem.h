/**
 * api/idem — the `Idempotency-Key` request header (docs/device-control.md): a client that
 * retries a POST with the same key within 24 h gets the first answer again instead of a
 * second execution.
 *
 *   no key                      next(arg) at once, nothing stored
 *   key not seen (or expired)   the key is claimed (in progress), next(arg) runs, and its
 *                               answer is stored with the key — unless it is one a retry
 *                               should redo (429, 500, 503: nothing was done), which
 *                               releases the key
 *   same key, same request      the stored answer again (status, body, headers) with
 *                               `Idempotent-Replayed: true`
 *   same key, other request     422 idempotency_key_reused (method, URL and body differ)
 *   same key, still running     409 idempotency_in_progress + Retry-After
 *
 * Keys are per user (the principal), 1..255 visible ASCII characters (a quoted string is
 * accepted and unquoted); anything else is a 400 naming the header. A key left "in
 * progress" by a process that died is taken over after 2 minutes.
 *
 * Costs one store job before the handler and one after the answer, only for requests that
 * carry the header.
 */
#ifndef IOT_HTTP_IDEM_H
#define IOT_HTTP_IDEM_H

#include "http/http.h"

#define HTTP_IDEM_TTL_MS   (24LL * 3600 * 1000)
#define HTTP_IDEM_STALE_MS (120LL * 1000)

/** Runs @next(@arg) (on @r's loop, now or after the claim), or answers @r itself and then
 *  calls @drop(@arg) so the caller frees what @arg holds. Authenticated routes only (the
 *  key is scoped by the principal; without one, @next runs). */
void http_idem(http_req *r, void (*next)(void *arg), void (*drop)(void *arg), void *arg);

#endif
