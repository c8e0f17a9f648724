/*
 * auth_int — private to http/auth*.c: the auth object, the pure helpers (tokens, codes,
 * lockout, per-IP limiter, token cache) and the request plumbing the handlers share.
 *
 * Files: auth.c (object, routes, shared replies), auth_token.c (token and code text,
 * hashes), auth_limit.c (lockout schedule, per-IP limiter), auth_cache.c (verified tokens),
 * auth_hash.c (Argon2 slots), auth_bearer.c (the authenticate hook), auth_signup.c
 * (sign-up, confirm), auth_login.c (login, refresh, logout), auth_reset.c (forgot, reset),
 * auth_me.c (/v1/me...), auth_admin.c (/v1/admin/users).
 */
#ifndef IOT_HTTP_AUTH_INT_H
#define IOT_HTTP_AUTH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/container_of.h"
#include "http/auth.h"
#include "http/job.h"
#include "http/json.h"
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
/* The stored form of a code: SHA-256(user_id ":" code). A code has 20 bits of entropy, so
 * the hash only keeps it off disk dumps; the attempt limit is what protects it. */
void auth__code_hash(const char *user_id, const char *code, uint8_t hash[32]);
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

/* ---- verified-token cache (auth_cache.c) ----------------------------------------------- */

#define AUTH_CACHE_TTL_MS  30000 /* how stale a revocation by another process may be */
#define AUTH_CACHE_BUCKETS 1024
#define AUTH_CACHE_MAX     16384

typedef struct auth__centry auth__centry;

typedef struct auth__cache {
    pthread_mutex_t mu;
    auth__centry *b[AUTH_CACHE_BUCKETS];
    size_t n;
} auth__cache;

void auth__cache_init(auth__cache *c);
void auth__cache_free(auth__cache *c);
/* true and *@p when @hash is cached and fresh at @now. */
bool auth__cache_get(auth__cache *c, const uint8_t hash[32], int64_t now, http_principal *p);
/* Caches a verified access token until min(@expires_at, @now + AUTH_CACHE_TTL_MS). */
void auth__cache_put(auth__cache *c, const uint8_t hash[32], const char *family,
                     const http_principal *p, int64_t expires_at, int64_t now);
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

/* ---- Argon2 slots (auth_hash.c) -------------------------------------------------------- */

typedef struct auth__pw auth__pw;
struct auth__pw {
    http_work w;
    net_msg msg;
    auth__pw *next;
    struct auth *a;
    http_req *req;
    net_loop *loop;
    void (*work)(auth__pw *p);          /* pool thread: passwd_* */
    void (*after)(auth__pw *p, int rc); /* request's loop; rc <0: the work did not run */
};

typedef struct auth__gate {
    pthread_mutex_t mu;
    unsigned running, max;
    unsigned waiting, max_wait;
    auth__pw *head, *tail;
} auth__gate;

/* Runs @work on the pool once one of max_hashes slots is free, then @after on r's loop.
 * <0 (nothing queued; answer 503) when max_wait requests already wait. */
int auth__pw_submit(struct auth *a, auth__pw *p, http_req *r, void (*work)(auth__pw *p),
                    void (*after)(auth__pw *p, int rc));

/* ---- the object and shared replies (auth.c) -------------------------------------------- */

/* ---- access-token verification (auth_bearer.c, auth_verify.c) --------------------------- */

typedef struct auth__verified {
    uint8_t hash[STORE_TOKEN_HASH]; /* in: the token's SHA-256 */
    int64_t now;                    /* in */
    bool ok;                        /* out: a live access token of an existing user */
    int64_t expires_at;
    char family[STORE_ID_MAX + 1];
    http_principal p;
} auth__verified;

/* Store thread: fills @v from the token and its user. 0 (see v->ok) or a store error. */
int auth__token_lookup(store_tx *tx, auth__verified *v);

struct auth {
    auth_opts o;
    auth__cache cache;
    auth__ucache users;
    auth__iplim ip;
    auth__gate gate;
};

auth *auth__of(const http_req *r);
int64_t auth__now_ms(void);

/* What a store job decided, for the continuation: 0 = carry on, else an HTTP error. */
typedef struct auth__verdict {
    int status;
    const char *code;
    const char *msg;
    int64_t retry_ms; /* > 0: a Retry-After header (seconds, rounded up) */
} auth__verdict;

void auth__verdict_set(auth__verdict *v, int status, const char *code, const char *msg);
/* Answers a verdict (status != 0). */
void auth__respond_verdict(http_req *r, const auth__verdict *v);
void auth__respond_busy(http_req *r);
void auth__respond_401(http_req *r, bool had_token);
/* { access_token, refresh_token, token_type, expires_in } */
void auth__respond_tokens(http_req *r, const char *access, const char *refresh, uint32_t ttl_s);

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
/* Checks @code of (@user_id, @kind) in a job: a wrong one counts an attempt and the code
 * goes after AUTH_CODE_TRIES. 0, or a verdict; <0 for store failures. */
#define AUTH_CODE_TRIES 5
int auth__code_check(store_tx *tx, const char *user_id, int kind, const char *code, int64_t now,
                     auth__verdict *v);
/* Queues an e-mail with a fresh code of @kind for @user_id (stores its hash). */
int auth__code_mail(store_tx *tx, const auth *a, const char *user_id, const char *email, int kind,
                    int64_t now);
/* Secret copies: heap, wiped on free. */
char *auth__secret_dup(const char *s);
void auth__secret_free(char *s);

/* Route handlers. */
void auth__signup(http_req *r);
void auth__confirm(http_req *r);
void auth__login(http_req *r);
void auth__refresh(http_req *r);
void auth__logout(http_req *r);
void auth__forgot(http_req *r);
void auth__reset(http_req *r);
void auth__me_get(http_req *r);
void auth__me_patch(http_req *r);
void auth__me_password(http_req *r);
void auth__me_delete(http_req *r);
void auth__admin_users(http_req *r);

#endif
