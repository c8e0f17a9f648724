/**
 * api/accounts — user accounts over REST: sign-up, confirmation, login, token refresh and
 * revocation, password reset, the caller's own account, and the admin user list; and the
 * bearer hook that turns "Authorization: Bearer" into the request's principal. The account
 * core (tokens, caches, passwords, limiter) is ident/auth.h.
 *
 * Threading: auth_add_routes on the main thread before the loops; auth_authenticate is the
 * http_opts.authenticate hook and runs on loops.
 */
#ifndef IOT_API_ACCOUNTS_H
#define IOT_API_ACCOUNTS_H

#include "http/http.h"
#include "ident/auth.h"

/** Adds /v1/auth/..., /v1/me..., /v1/admin/users. 0 or <0. */
int auth_add_routes(auth *a, http_server *s);
/** The http_opts.authenticate hook (the request's app must be an api with .auth set). */
void auth_authenticate(http_req *r, enum http_auth need, void (*next)(http_req *r));

#endif
