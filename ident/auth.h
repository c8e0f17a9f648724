/**
 * ident/auth — the account core: tokens, the verified-token and account-view caches,
 * passwords (Argon2id, ident/passwd.h), one-time codes, the login limiter, and the access
 * token check used by MQTT users. The REST side (sign-up, confirmation, login, refresh,
 * logout, reset, /v1/me, /v1/admin/users and the bearer hook) is api/accounts/.
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
 * Threading: auth_new/auth_free on the main thread before/after the loops;
 * auth_verify_token on loops.
 */
#ifndef IOT_IDENT_AUTH_H
#define IOT_IDENT_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "store/store.h"

typedef struct auth auth;

/** A verified caller: the user behind an access token (the HTTP side copies it into an
 *  auth_principal). */
typedef struct auth_principal {
    char user_id[65];
    char username[257];
    bool admin;
} auth_principal;

typedef struct auth_opts {
    store *st;
    struct notify *nt;             /* may be NULL: outbox items wait for a notifier */
    uint32_t access_ttl_s;         /* default 900 */
    uint32_t refresh_ttl_s;        /* default 2592000 */
    uint32_t code_ttl_s;           /* default 900 */
    unsigned max_hashes;           /* concurrent Argon2 computations; default = cores */
    uint32_t reset_mails_per_hour; /* per e-mail address; default 3 */
    uint32_t tracked_names;        /* login-name and reset-address counters; default 16384 */
    uint32_t ip_max_fails;         /* failed logins per client IP in 5 min; default 20 */
    /* HMAC key of the stored codes (auth_secret_load); NULL: a random one for this process
     * (codes then do not survive a restart). Copied. */
    const uint8_t *code_key;

    uint32_t mqtt_max_fail;      /* failed MQTT authentications per IP and window; 0 = 20 */
    uint32_t mqtt_fail_window_s; /* that window; 0 = 300 */
} auth_opts;

#define AUTH_SECRET_LEN 32

/** Reads the code key from DATA_DIR/code-hmac.key, creating the file (0600, random) on the
 *  first start. 0, or -1 with a message naming the file (never its bytes) in @err. Main
 *  thread, before the loops (blocking file I/O). */
int auth_secret_load(const char *data_dir, uint8_t key[AUTH_SECRET_LEN], char *err, size_t errlen);

/** The same for any key file DATA_DIR/@file (e.g. firmware-hmac.key): created 0600 with 32
 *  random bytes on first use, then read; @what names what the key protects in the log and
 *  in @err. Main thread, before the loops (blocking file I/O). */
int auth_key_file_load(const char *data_dir, const char *file, const char *what,
                       uint8_t key[AUTH_SECRET_LEN], char *err, size_t errlen);

auth *auth_new(const auth_opts *o);
void auth_free(auth *a);

/** What a verified access token is, beyond whose it is. */
typedef struct auth_token_info {
    char family[65];    /* its family (logout and refresh reuse revoke a whole family) */
    int64_t expires_at; /* wall-clock ms */
} auth_token_info;

/** Verifies access token @tok (@len bytes) for a caller outside HTTP (MQTT users): calls
 *  @done(arg, ok, p, ti) exactly once — at once when the token cache answers or the token is
 *  malformed, otherwise after a store lookup, on loop @l (posted there). @p is valid during
 *  the call only, like @ti. Any thread with a loop; @l NULL only for the synchronous cases (a
 *  miss then answers not ok). */
void auth_verify_token(auth *a, net_loop *l, const char *tok, size_t len,
                       void (*done)(void *arg, bool ok, const auth_principal *p,
                                    const auth_token_info *ti),
                       void *arg);

/** Who is told when access tokens stop being valid before their expiry, so that what they
 *  opened outside HTTP (MQTT connections) ends too: @fn(arg, user_id, family) runs on the
 *  loop of the request that revoked them, after the store commit, with @family NULL when
 *  every token of the user went (password change or reset, account deleted). Must not
 *  block. Main thread, before the loops run; @fn NULL: nobody. */
void auth_set_revoke_hook(auth *a, void (*fn)(void *arg, const char *user_id, const char *family),
                          void *arg);

/** Per-IP limit of failed authentications outside HTTP (MQTT CONNECTs), apart from the
 *  login limiter: true when @ip ("1.2.3.4", "::1") has had mqtt_max_fail failures in the
 *  current window, with the ms until it may try again in *@retry_ms. Any thread. */
bool auth_peer_limited(auth *a, const char *ip, int64_t *retry_ms);
/** Counts a failed authentication from @ip. Any thread. */
void auth_peer_failed(auth *a, const char *ip);

#endif
