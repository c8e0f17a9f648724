/*
 * auth_live — what follows an account outside HTTP: the revoke hook that ends MQTT
 * connections opened with tokens that went, and the per-IP limit of failed MQTT
 * authentications (the login limiter's table, a second instance with its own settings, so
 * a device retrying a stale secret does not lock its owner out of the REST login).
 */
#include "ident/auth_int.h"

void auth_set_revoke_hook(auth *a, void (*fn)(void *arg, const char *user_id, const char *family),
                          void *arg)
{
    a->revoked = fn;
    a->revoked_arg = arg;
}

void auth__revoked(auth *a, const char *user_id, const char *family)
{
    if (family && !*family) /* no family was found: nothing went */
        return;
    if (a->revoked && user_id && *user_id)
        a->revoked(a->revoked_arg, user_id, family);
}

bool auth_peer_limited(auth *a, const char *ip, int64_t *retry_ms)
{
    int64_t r = 0;
    bool limited = ip && auth__iplim_check(&a->peer, ip, auth__now_ms(), &r) < 0;
    if (retry_ms)
        *retry_ms = r;
    return limited;
}

void auth_peer_failed(auth *a, const char *ip) { auth__iplim_fail(&a->peer, ip, auth__now_ms()); }
