/*
 * auth_code — checking a one-time code inside a store job (confirm and reset share it).
 * Kept apart from the replies so it is testable against a real store without a server.
 */
#include <openssl/crypto.h>

#include "api/accounts/accounts_int.h"

void auth__verdict_set(auth__verdict *v, int status, const char *code, const char *msg)
{
    v->status = status;
    v->code = code;
    v->msg = msg;
}

int auth__code_check(store_tx *tx, const uint8_t key[AUTH_SECRET_LEN], const char *user_id,
                     int kind, const char *code, int64_t now, auth__verdict *v)
{
    store_code c;
    int rc = store_code_get(tx, user_id, kind, now, &c);
    if (rc == STORE_ENOTFOUND)
        goto bad;
    if (rc < 0)
        return rc;
    uint8_t h[32];
    /* A row stored before codes were keyed (plain SHA-256) never matches: such codes are
     * refused like wrong ones, and expire within code-ttl anyway. */
    auth__code_hash(key, user_id, code, h);
    if (c.hash_len == sizeof h && CRYPTO_memcmp(c.hash, h, sizeof h) == 0)
        return 0;
    int32_t tries = 0;
    if ((rc = store_code_fail(tx, user_id, kind, &tries)) < 0)
        return rc;
    /* A 6-digit code survives AUTH_CODE_TRIES guesses out of 10^6, then is gone. */
    if (tries >= AUTH_CODE_TRIES && (rc = store_code_delete(tx, user_id, kind)) < 0)
        return rc;
bad:
    auth__verdict_set(v, 400, "invalid_code",
                      "the code is wrong, expired or used up; request a new one");
    return 0;
}
