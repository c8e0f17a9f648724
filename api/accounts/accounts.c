/*
 * accounts — the accounts route table, and the replies and one-time code mails the
 * handlers (auth_*.c) share.
 *
 * Errors are {"error":{"code","message"}}; the codes this module answers with:
 *   400 invalid_field (+ "field"), invalid_code       401 unauthorized, invalid_credentials
 *   403 forbidden, not_confirmed, wrong_password      429 too_many_attempts (Retry-After)
 *   500 internal                                       503 busy (Retry-After)
 */
#include <openssl/crypto.h>
#include <stdio.h>

#include "api/accounts/accounts_int.h"
#include "api/api.h"
#include "notify/notify.h"

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

int auth_add_routes(auth *a, http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}

auth *auth__of(const http_req *r) { return api_of(r)->auth; }

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

/* ---- one-time codes ------------------------------------------------------------------------ */

static const char *const subjects[] = {"", "Confirm your iotcloud account",
                                       "Your iotcloud password reset code"};

/* A fresh code of @kind for @user_id: its hash stored, the mail text in @text. */
static int code_put(store_tx *tx, const auth *a, const char *user_id, int kind, int64_t now,
                    char *text, size_t cap)
{
    char code[AUTH_CODE_LEN + 1];
    uint8_t h[32];
    if (auth__code_new(code) < 0)
        return STORE_EIO;
    auth__code_hash(a->code_key, user_id, code, h);
    int rc = store_code_put(tx, user_id, kind, h, sizeof h, now + (int64_t)a->o.code_ttl_s * 1000);
    snprintf(text, cap,
             "Your %s code is %s\r\nIt is valid for %u minutes.\r\n"
             "If you did not ask for it, ignore this message.\r\n",
             kind == STORE_CODE_CONFIRM ? "confirmation" : "password reset", code,
             (unsigned)(a->o.code_ttl_s / 60));
    OPENSSL_cleanse(code, sizeof code);
    return rc;
}

int auth__code_mail(store_tx *tx, const auth *a, const char *user_id, const char *email, int kind,
                    int64_t now)
{
    char text[512];
    int rc = code_put(tx, a, user_id, kind, now, text, sizeof text);
    if (rc == 0)
        rc = notify_mail_add(tx, email, subjects[kind], text, now);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

/* The outbox item notify_mail_add writes: {to, subject, text}, kind "mail". */
static int outbox_put(store_tx *tx, const char *to, const char *subject, const char *text,
                      int64_t now, int64_t *id)
{
    bson_t doc = BSON_INITIALIZER;
    int rc = STORE_ENOMEM;
    if (BSON_APPEND_UTF8(&doc, "to", to) && BSON_APPEND_UTF8(&doc, "subject", subject) &&
        BSON_APPEND_UTF8(&doc, "text", text))
        rc = store_outbox_add(tx, "mail", &doc, now, id);
    bson_destroy(&doc);
    return rc;
}

int auth__code_mail_none(store_tx *tx, const auth *a, const char *email, int kind, int64_t now)
{
    char text[512];
    int64_t id = 0;
    int rc = code_put(tx, a, AUTH_NOBODY_ID, kind, now, text, sizeof text);
    if (rc == 0 && (rc = outbox_put(tx, email, subjects[kind], text, now, &id)) == 0)
        rc = store_outbox_delete(tx, id);
    if (rc == 0)
        rc = store_code_delete(tx, AUTH_NOBODY_ID, kind);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}
