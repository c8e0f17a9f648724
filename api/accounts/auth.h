/**
 * http/auth — user accounts over REST: sign-up, confirmation, login, token refresh and
 * revocation, password reset, the caller's own account, and the admin user list.
 *
 * User document (store_user_*; caller's fields): password (PHC Argon2id), given_name,
 * family_name, confirmed (bool), admin (bool), created_at (int64 ms), failed_logins
 * (int32), locked_until (int64 ms), pw_changed_at (int64 ms). Usernames and e-mails are
 * normalised by api/accounts/acct_rules.h before they reach the store.
 *
 * Tokens: opaque 256-bit random values (base64url, 43 chars) given to the client once;
 * only their SHA-256 is stored. Access tokens live access_ttl_s, refresh tokens
 * refresh_ttl_s; refresh rotates within a family and reuse of a rotated one revokes the
 * family. Verification is an in-memory cache lookup (process-wide, locked) that falls back
 * to the store.
 *
 * Threading: auth_new/auth_free/auth_add_routes on the main thread before/after the loops;
 * auth_authenticate is the http_opts.authenticate hook and runs on loops.
 */
#ifndef IOT_HTTP_AUTH_H
#define IOT_HTTP_AUTH_H

#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

typedef struct auth auth;

typedef struct auth_opts {
    store *st;
    struct notify *nt;      /* may be NULL: outbox items wait for a notifier */
    uint32_t access_ttl_s;  /* default 900 */
    uint32_t refresh_ttl_s; /* default 2592000 */
    uint32_t code_ttl_s;    /* default 900 */
    unsigned max_hashes;    /* concurrent Argon2 computations; default = cores */
} auth_opts;

auth *auth_new(const auth_opts *o);
void auth_free(auth *a);
/** Adds /v1/auth/..., /v1/me..., /v1/admin/users. 0 or <0. */
int auth_add_routes(auth *a, http_server *s);
/** The http_opts.authenticate hook (the request's app must be an api with .auth set). */
void auth_authenticate(http_req *r, enum http_auth need, void (*next)(http_req *r));

/** Verifies access token @tok (@len bytes) for a caller outside HTTP (MQTT users): calls
 *  @done(arg, ok, p) exactly once — at once when the token cache answers or the token is
 *  malformed, otherwise after a store lookup, on loop @l (posted there). @p is valid during
 *  the call only. Any thread with a loop; @l NULL only for the synchronous cases (a miss
 *  then answers not ok). */
void auth_verify_token(auth *a, net_loop *l, const char *tok, size_t len,
                       void (*done)(void *arg, bool ok, const http_principal *p), void *arg);

#endif
