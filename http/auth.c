/*
 * auth — the accounts object, its route table, and the replies and document helpers the
 * handlers (auth_*.c) share.
 *
 * Errors are {"error":{"code","message"}}; the codes this module answers with:
 *   400 invalid_field (+ "field"), invalid_code       401 unauthorized, invalid_credentials
 *   403 forbidden, not_confirmed, wrong_password      429 too_many_attempts (Retry-After)
 *   500 internal                                       503 busy (Retry-After)
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "http/api.h"
#include "notify/notify.h"
#include "http/auth_int.h"
#include "http/passwd.h"

#define WAIT_PER_SLOT 32 /* requests allowed to wait per hashing slot before 503 */

static const http_route routes[] = {
    {HTTP_POST, "/v1/auth/signup", auth__signup, HTTP_AUTH_NONE},
    {HTTP_POST, "/v1/auth/confirm", auth__confirm, HTTP_AUTH_NONE},
    {HTTP_POST, "/v1/auth/login", auth__login, HTTP_AUTH_NONE},
    {HTTP_POST, "/v1/auth/refresh", auth__refresh, HTTP_AUTH_NONE},
    {HTTP_POST, "/v1/auth/logout", auth__logout, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/auth/forgot", auth__forgot, HTTP_AUTH_NONE},
    {HTTP_POST, "/v1/auth/reset", auth__reset, HTTP_AUTH_NONE},
    {HTTP_GET, "/v1/me", auth__me_get, HTTP_AUTH_USER},
    {HTTP_PATCH, "/v1/me", auth__me_patch, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/me", auth__me_delete, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/me/password", auth__me_password, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/admin/users", auth__admin_users, HTTP_AUTH_ADMIN},
};

auth *auth_new(const auth_opts *o)
{
    auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->o = *o;
    if (!a->o.access_ttl_s)
        a->o.access_ttl_s = 900;
    if (!a->o.refresh_ttl_s)
        a->o.refresh_ttl_s = 2592000;
    if (!a->o.code_ttl_s)
        a->o.code_ttl_s = 900;
    if (!a->o.max_hashes) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        a->o.max_hashes = n > 0 ? (unsigned)n : 1;
    }
    if (auth__iplim_init(&a->ip, AUTH_IP_MAX_FAIL, AUTH_IP_WINDOW_MS) < 0) {
        free(a);
        return NULL;
    }
    passwd_init(); /* main thread, before the loops: the dummy hash for unknown users */
    auth__cache_init(&a->cache);
    auth__ucache_init(&a->users);
    pthread_mutex_init(&a->gate.mu, NULL);
    a->gate.max = a->o.max_hashes;
    a->gate.max_wait = a->o.max_hashes * WAIT_PER_SLOT;
    return a;
}

void auth_free(auth *a)
{
    if (!a)
        return;
    auth__cache_free(&a->cache);
    auth__ucache_free(&a->users);
    auth__iplim_free(&a->ip);
    pthread_mutex_destroy(&a->gate.mu);
    free(a);
}

int auth_add_routes(auth *a, http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}

auth *auth__of(const http_req *r) { return api_of(r)->auth; }

int64_t auth__now_ms(void) { return clock_wall_ms(); }

/* ---- replies ------------------------------------------------------------------------- */

static void retry_after(http_req *r, int64_t ms)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)((ms + 999) / 1000));
    http_req_add_header(r, "Retry-After", v);
}

void auth__respond_verdict(http_req *r, const auth__verdict *v)
{
    if (v->retry_ms > 0)
        retry_after(r, v->retry_ms);
    if (v->status == 401)
        http_req_add_header(r, "WWW-Authenticate", "Bearer realm=\"iotcloud\"");
    http_respond_error(r, v->status, v->code, "%s", v->msg);
}

void auth__respond_busy(http_req *r)
{
    retry_after(r, 1000);
    http_respond_error(r, 503, "busy", "too many password checks in progress; retry shortly");
}

void auth__respond_401(http_req *r, bool had_token)
{
    http_req_add_header(r, "WWW-Authenticate",
                        had_token ? "Bearer realm=\"iotcloud\", error=\"invalid_token\""
                                  : "Bearer realm=\"iotcloud\"");
    http_respond_error(r, 401, "unauthorized",
                       had_token ? "the access token is invalid, expired or revoked"
                                 : "an access token is required");
}

void auth__respond_tokens(http_req *r, const char *access, const char *refresh, uint32_t ttl_s)
{
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "access_token", access);
    BSON_APPEND_UTF8(&doc, "refresh_token", refresh);
    BSON_APPEND_UTF8(&doc, "token_type", "Bearer");
    BSON_APPEND_INT64(&doc, "expires_in", ttl_s);
    http_req_add_header(r, "Cache-Control", "no-store"); /* [RFC 6749 5.1] */
    http_respond_json(r, 200, &doc);
    bson_destroy(&doc);
}

/* ---- tokens ---------------------------------------------------------------------------- */

int auth__pair_new(auth__pair *p)
{
    if (auth__token_new(p->access, p->access_hash) < 0 ||
        auth__token_new(p->refresh, p->refresh_hash) < 0)
        return -1;
    return 0;
}

int auth__pair_store(store_tx *tx, const auth *a, const auth__pair *p, const char *user_id,
                     const char *family, int64_t now)
{
    int rc = store_token_put(tx, p->access_hash, user_id, family, STORE_TOKEN_ACCESS,
                             now + (int64_t)a->o.access_ttl_s * 1000);
    if (rc < 0)
        return rc;
    return store_token_put(tx, p->refresh_hash, user_id, family, STORE_TOKEN_REFRESH,
                           now + (int64_t)a->o.refresh_ttl_s * 1000);
}

int auth__pair_store_new(store_tx *tx, const auth *a, const auth__pair *p, const char *user_id,
                         int64_t now)
{
    char family[AUTH_ID_LEN + 1];
    if (auth__id_new(family, now) < 0)
        return STORE_EIO;
    return auth__pair_store(tx, a, p, user_id, family, now);
}

/* ---- documents --------------------------------------------------------------------------- */

bool auth__doc_bool(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return d && bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_BOOL(&it) &&
           bson_iter_bool(&it);
}

static void view_str(bson_t *out, const char *name, const bson_t *user, const char *key)
{
    const char *v = json_doc_str(user, key);
    BSON_APPEND_UTF8(out, name, v ? v : "");
}

void auth__user_view(const bson_t *user, bson_t *out)
{
    view_str(out, "id", user, "_id");
    view_str(out, "username", user, "username");
    view_str(out, "email", user, "email");
    view_str(out, "given_name", user, "given_name");
    view_str(out, "family_name", user, "family_name");
    BSON_APPEND_BOOL(out, "confirmed", auth__doc_bool(user, "confirmed"));
    BSON_APPEND_BOOL(out, "admin", auth__doc_bool(user, "admin"));
    BSON_APPEND_INT64(out, "created_at", json_doc_i64(user, "created_at"));
}

/* ---- one-time codes ------------------------------------------------------------------------ */

static const char *const subjects[] = {"", "Confirm your iotcloud account",
                                       "Your iotcloud password reset code"};

int auth__code_mail(store_tx *tx, const auth *a, const char *user_id, const char *email, int kind,
                    int64_t now)
{
    char code[AUTH_CODE_LEN + 1], text[512];
    uint8_t h[32];
    if (auth__code_new(code) < 0)
        return STORE_EIO;
    auth__code_hash(user_id, code, h);
    int rc = store_code_put(tx, user_id, kind, h, sizeof h, now + (int64_t)a->o.code_ttl_s * 1000);
    if (rc < 0)
        goto out;
    snprintf(text, sizeof text,
             "Your %s code is %s\r\nIt is valid for %u minutes.\r\n"
             "If you did not ask for it, ignore this message.\r\n",
             kind == STORE_CODE_CONFIRM ? "confirmation" : "password reset", code,
             (unsigned)(a->o.code_ttl_s / 60));
    rc = notify_mail_add(tx, email, subjects[kind], text, now);
out:
    OPENSSL_cleanse(code, sizeof code);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

char *auth__secret_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void auth__secret_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}
