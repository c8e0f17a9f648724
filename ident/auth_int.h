/*
 * auth_int — the account core's inside, shared by ident/auth*.c and the REST side
 * (api/accounts/accounts_int.h, its only other user): the auth object, the pure helpers
 * (tokens, codes, lockout, per-IP limiter, token and account caches) and token storage.
 *
 * Files: auth.c (object, token pairs, documents), auth_token.c (token and code text,
 * hashes), auth_limit.c (lockout schedule, per-IP limiter), auth_cache.c (verified tokens),
 * auth_ucache.c (account views), auth_verify.c (token lookup, the check for MQTT users),
 * auth_live.c (the revoke hook, the per-IP limit of failed MQTT authentications),
 * auth_names.c (lockout and reset-mail counters per submitted name), auth_secret.c (the
 * code HMAC key file).
 */
#ifndef IOT_IDENT_AUTH_INT_H
#define IOT_IDENT_AUTH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/container_of.h"
#include "common/json.h"
#include "ident/auth.h"
#include "store/store_app.h"

#define AUTH_CONTAINER(p, type, member) container_of(p, type, member)

/* ---- tokens and codes (auth_token.c, pure) --------------------------------------------- */

#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_LEN   43 /* base64url of 32 bytes, no padding */
#define AUTH_CODE_LEN    6
#define AUTH_ID_LEN      32 /* 12 hex digits of ms time + 20 random hex digits */

/* base64url without padding of @n bytes into @out (NUL-terminated). 0, or <0 when @cap is
 * too small. */
int auth__b64url(const uint8_t *in, size_t n, char *out, size_t cap);
/* A fresh token: its text in @out and the SHA-256 of the text in @hash. 0 or <0 (RNG). */
int auth__token_new(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[STORE_TOKEN_HASH]);
/* true when @s is exactly AUTH_TOKEN_LEN base64url characters (checked before hashing). */
bool auth__token_ok(const char *s, size_t len);
/* SHA-256 of the token text: what the store keeps. */
void auth__token_hash(const char *s, size_t len, uint8_t hash[STORE_TOKEN_HASH]);
/* The token of an "Authorization: Bearer <token>" header value (scheme case-insensitive
 * [RFC 6750 2.1]); 0 with *tok and *len, or <0 when absent or malformed. */
int auth__bearer(const char *hdr, const char **tok, size_t *len);
/* Six uniform random decimal digits. 0 or <0. */
int auth__code_new(char out[AUTH_CODE_LEN + 1]);
/* true when @s is six decimal digits. */
bool auth__code_ok(const char *s);
/* The stored form of a code: HMAC-SHA-256 under @key (the server secret, auth_secret.c)
 * of user_id ":" code. A code has 20 bits of entropy: unkeyed, a stolen database would give
 * every live code away after 10^6 hashes offline; the attempt limit protects it online. */
void auth__code_hash(const uint8_t key[AUTH_SECRET_LEN], const char *user_id, const char *code,
                     uint8_t hash[32]);
/* A time-ordered unique id (users, token families). 0 or <0. */
int auth__id_new(char out[AUTH_ID_LEN + 1], int64_t now_ms);

/* ---- lockout and per-IP limiter (auth_limit.c) ----------------------------------------- */

#define AUTH_LOCK_AFTER   5       /* failed logins before the first lockout */
#define AUTH_LOCK_BASE_MS 60000   /* first lockout, doubling */
#define AUTH_LOCK_MAX_MS  3600000 /* longest lockout */
#define AUTH_IP_MAX_FAIL  20      /* failed logins per IP and window */
#define AUTH_IP_WINDOW_MS 300000  /* 5 min */
#define AUTH_IP_SLOTS     4096    /* IPs tracked at once */

/* How long an account stays locked after its @failures-th consecutive failure (0: not). */
int64_t auth__lockout_ms(int32_t failures);

typedef struct auth__ip_slot {
    char ip[46];
    int64_t start; /* window start, ms */
    uint32_t fails;
} auth__ip_slot;

typedef struct auth__iplim {
    pthread_mutex_t mu;
    uint32_t max_fail;
    int64_t window_ms;
    auth__ip_slot *slots; /* AUTH_IP_SLOTS, open addressing */
} auth__iplim;

int auth__iplim_init(auth__iplim *l, uint32_t max_fail, int64_t window_ms);
void auth__iplim_free(auth__iplim *l);
/* 0 when @ip may try to log in at @now, else <0 with the ms until it may in *@retry_ms. */
int auth__iplim_check(auth__iplim *l, const char *ip, int64_t now, int64_t *retry_ms);
/* Counts a failed login from @ip. */
void auth__iplim_fail(auth__iplim *l, const char *ip, int64_t now);

/* ---- counters per login name / e-mail address (auth_names.c) ---------------------------- */

#define AUTH_NAME_FORGET_MS 86400000 /* a name's failure count is forgotten after a quiet day */
#define AUTH_MAIL_WINDOW_MS 3600000  /* reset mails are counted per address and hour */

/* A slot: the keyed hash of a name (never the name), and what is counted for it. */
typedef struct auth__name_slot {
    uint8_t key[32];
    bool used;
    uint32_t n;           /* failed logins since the last success / mails in the window */
    int64_t start;        /* window start (mails) */
    int64_t last;         /* last counted event */
    int64_t locked_until; /* logins */
} auth__name_slot;

/* A fixed table (cap slots, open addressing over a short probe, process-wide, one mutex).
 * Names are hashed with a per-process random salt so nobody can aim names at one probe
 * window. When every probed slot is live, the least recently counted one is reused:
 * memory never grows, and evicting a victim's counter takes many names, which the per-IP
 * limit makes expensive. */
typedef struct auth__names {
    pthread_mutex_t mu;
    auth__name_slot *slots;
    size_t cap;
    uint8_t salt[16];
} auth__names;

int auth__names_init(auth__names *t, size_t cap);
void auth__names_free(auth__names *t);
/* Logins, keyed by the normalised submitted name (username or e-mail) whether or not an
 * account has it, so a locked name tells nothing about existence: ms until @name may try
 * again (0: now). */
int64_t auth__name_locked(auth__names *t, const char *name, int64_t now);
/* Counts a failed login of @name; from the AUTH_LOCK_AFTER-th on it is locked for
 * auth__lockout_ms(failures). */
void auth__name_failed(auth__names *t, const char *name, int64_t now);
/* A success (or a password reset): @name starts afresh. */
void auth__name_clear(auth__names *t, const char *name);
/* Reset mails: true (and counted) when @addr had fewer than @max in its current hour. */
bool auth__mail_allow(auth__names *t, const char *addr, uint32_t max, int64_t now);

/* ---- verified-token cache (auth_cache.c) ----------------------------------------------- */

#define AUTH_CACHE_TTL_MS  30000 /* how stale a revocation by another process may be */
#define AUTH_CACHE_BUCKETS 1024
#define AUTH_CACHE_MAX     16384

typedef struct auth__centry auth__centry;

typedef struct auth__cache {
    pthread_mutex_t mu;
    auth__centry *b[AUTH_CACHE_BUCKETS];
    size_t n;
    uint64_t gen; /* drops so far: a put from a lookup older than a drop is ignored */
} auth__cache;

void auth__cache_init(auth__cache *c);
void auth__cache_free(auth__cache *c);
/* true and *@p when @hash is cached and fresh at @now. */
bool auth__cache_get(auth__cache *c, const uint8_t hash[32], int64_t now, auth_principal *p);
/* The same, and the token's family and expiry in *@ti (may be NULL). */
bool auth__cache_get_info(auth__cache *c, const uint8_t hash[32], int64_t now, auth_principal *p,
                          auth_token_info *ti);
/* Caches a verified access token until min(@expires_at, @now + AUTH_CACHE_TTL_MS). */
void auth__cache_put(auth__cache *c, const uint8_t hash[32], const char *family,
                     const auth_principal *p, int64_t expires_at, int64_t now);
/* The generation to pass to put_gen, read before the store lookup is submitted. */
uint64_t auth__cache_gen(auth__cache *c);
/* auth__cache_put, unless a drop happened since @gen: a lookup that read the store before a
 * revocation committed must not cache the token after the revocation dropped it. */
void auth__cache_put_gen(auth__cache *c, uint64_t gen, const uint8_t hash[32], const char *family,
                         const auth_principal *p, int64_t expires_at, int64_t now);
void auth__cache_drop(auth__cache *c, const uint8_t hash[32]);
void auth__cache_drop_family(auth__cache *c, const char *family);
void auth__cache_drop_user(auth__cache *c, const char *user_id);

/* ---- account views for GET /v1/me (auth_ucache.c) -------------------------------------- */

#define AUTH_UCACHE_TTL_MS  30000 /* how stale a change made by another process may be */
#define AUTH_UCACHE_BUCKETS 1024
#define AUTH_UCACHE_MAX     16384

typedef struct auth__uentry auth__uentry;

typedef struct auth__ucache {
    pthread_mutex_t mu;
    auth__uentry *b[AUTH_UCACHE_BUCKETS];
    size_t n;
    uint64_t gen; /* drops so far: a put from a read older than a drop is ignored */
} auth__ucache;

void auth__ucache_init(auth__ucache *c);
void auth__ucache_free(auth__ucache *c);
/* true with a copy of the view in *@out (replacing its content) when fresh at @now. */
bool auth__ucache_get(auth__ucache *c, const char *user_id, int64_t now, bson_t *out);
/* The generation to pass to put, read before the store read is submitted. */
uint64_t auth__ucache_gen(auth__ucache *c);
void auth__ucache_put(auth__ucache *c, const char *user_id, const bson_t *view, uint64_t gen,
                      int64_t now);
void auth__ucache_drop(auth__ucache *c, const char *user_id);

/* ---- Argon2 slots (the queue is run by api/accounts/auth_hash.c) ----------------------- */

typedef struct auth__pw auth__pw;

typedef struct auth__gate {
    pthread_mutex_t mu;
    unsigned running, max;
    unsigned waiting, max_wait;
    auth__pw *head, *tail;
} auth__gate;

/* ---- access-token verification (auth_bearer.c, auth_verify.c) --------------------------- */

typedef struct auth__verified {
    uint8_t hash[STORE_TOKEN_HASH]; /* in: the token's SHA-256 */
    int64_t now;                    /* in */
    uint64_t gen;                   /* in: auth__cache_gen before the lookup */
    bool ok;                        /* out: a live access token of an existing user */
    int64_t expires_at;
    char family[STORE_ID_MAX + 1];
    auth_principal p;
} auth__verified;

/* Store thread: fills @v from the token and its user. 0 (see v->ok) or a store error. */
int auth__token_lookup(store_tx *tx, auth__verified *v);

struct auth {
    auth_opts o;
    uint8_t code_key[AUTH_SECRET_LEN];
    auth__cache cache;
    auth__ucache users;
    auth__iplim ip;
    auth__names logins; /* failures per login name */
    auth__names mails;  /* reset mails per address */
    auth__gate gate;
    auth__iplim peer; /* failed MQTT authentications (auth_live.c) */
    void (*revoked)(void *arg, const char *user_id, const char *family);
    void *revoked_arg;
};

/* auth_live.c: tells the revoke hook (if any) that tokens of @user_id went: family
 * @family, or all of them when NULL ("" : none, nothing is told). The request's loop,
 * after the commit. */
void auth__revoked(auth *a, const char *user_id, const char *family);
int64_t auth__now_ms(void);

/* Issues an access + refresh pair of @family for @user_id: texts out, hashes stored. */
typedef struct auth__pair {
    char access[AUTH_TOKEN_LEN + 1], refresh[AUTH_TOKEN_LEN + 1];
    uint8_t access_hash[STORE_TOKEN_HASH], refresh_hash[STORE_TOKEN_HASH];
} auth__pair;
int auth__pair_new(auth__pair *p);
int auth__pair_store(store_tx *tx, const auth *a, const auth__pair *p, const char *user_id,
                     const char *family, int64_t now);
/* The same in a fresh family (a login, a password change). */
int auth__pair_store_new(store_tx *tx, const auth *a, const auth__pair *p, const char *user_id,
                         int64_t now);

bool auth__doc_bool(const bson_t *d, const char *key);
/* The public view: id, username, email, given_name, family_name, confirmed, admin,
 * created_at (never password, failed_logins, locked_until). */
void auth__user_view(const bson_t *user, bson_t *out);
/* Secret copies: heap, wiped on free. */
char *auth__secret_dup(const char *s);
void auth__secret_free(char *s);

#endif
