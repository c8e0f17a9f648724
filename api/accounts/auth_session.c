/*
 * auth_session — POST /v1/auth/refresh and POST /v1/auth/logout.
 *
 * Refresh rotates: the presented refresh token is revoked and a new access + refresh pair
 * of the same family issued. A refresh token presented after it was rotated or revoked
 * was copied: the whole family is revoked (both holders must log in again) and the
 * answer is 401. The run() functions return 0 on those refusals so the revocation commits.
 * Logout revokes the caller's access token and its family (the refresh tokens of that
 * login), and the family of a refresh token in the body when it is the caller's, and
 * expires the refresh cookie. The cookie form of both: auth_cookie.c.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "api/accounts/accounts_int.h"

typedef struct refresh_op {
    http_job j;
    auth *a;
    uint8_t hash[STORE_TOKEN_HASH];
    auth__pair pair;
    char family[STORE_ID_MAX + 1];
    char user_id[STORE_ID_MAX + 1];
    bool reused;
    bool cookie; /* the token came from the cookie: so does the answer */
    auth__verdict v;
} refresh_op;

static int refresh_run(store_tx *tx, http_job *hj)
{
    refresh_op *f = AUTH_CONTAINER(hj, refresh_op, j);
    int64_t now = auth__now_ms();
    store_token t;
    auth__verdict_set(&f->v, 401, "unauthorized",
                      "the refresh token is invalid, expired or revoked");
    int rc = store_token_get(tx, f->hash, &t);
    if (rc == STORE_ENOTFOUND || (rc == 0 && t.kind != STORE_TOKEN_REFRESH))
        return 0;
    if (rc < 0)
        return rc;
    memcpy(f->family, t.family, sizeof f->family);
    memcpy(f->user_id, t.user_id, sizeof f->user_id);
    if (t.revoked) {
        f->reused = true;
        return store_token_revoke_family(tx, t.family, NULL);
    }
    if (t.expires_at <= now)
        return 0;
    if ((rc = store_token_revoke(tx, f->hash)) < 0 ||
        (rc = auth__pair_store(tx, f->a, &f->pair, t.user_id, t.family, now)) < 0)
        return rc;
    f->v.status = 0;
    return 0;
}

static void refresh_done(http_job *hj, int rc)
{
    refresh_op *f = AUTH_CONTAINER(hj, refresh_op, j);
    if (f->reused && rc == 0) {
        auth__cache_drop_family(&f->a->cache, f->family);
        auth__revoked(f->a, f->user_id, f->family);
    }
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "auth");
    else if (f->v.status) {
        if (f->cookie)
            auth__cookie_clear(hj->req);
        auth__respond_verdict(hj->req, &f->v);
    } else {
        auth__respond_session(hj->req, f->a, f->pair.access, f->pair.refresh, f->cookie);
    }
    OPENSSL_cleanse(&f->pair, sizeof f->pair);
    free(f);
}

/* The refresh token: the body's refresh_token, else (no body, or a body without it) the
 * cookie, whose answer then goes back as a cookie (auth_cookie.c). 0, or <0 answered. */
static int refresh_token_of(http_req *r, char *tok, size_t cap, bool *cookie)
{
    const char *t = NULL;
    size_t len = 0, blen = 0;
    bool want = false;
    http_req_body(r, &blen);
    if (blen) {
        json_field fl[] = {
            {"refresh_token", JSON_STR, JSON_OPTIONAL, .max_len = 256, .str = &t, .len = &len},
            {"cookie", JSON_BOOL, JSON_OPTIONAL, .b = &want},
        };
        bson_t body;
        if (json_body_decode(r, &body, fl, 2) < 0)
            return -1;
        if (t)
            snprintf(tok, cap, "%.*s", (int)(len < cap ? len : 0), t);
        bson_destroy(&body);
    }
    *cookie = !t;
    if (t && want) {
        http_respond_field(r, "cookie", "the token comes from the cookie: leave out refresh_token");
        return -1;
    }
    if (!t && auth__cookie_refresh(r, tok, cap) < 0) {
        http_respond_field(r, "refresh_token", "required (in the body or the refresh cookie)");
        return -1;
    }
    return 0;
}

void auth__refresh(http_req *r)
{
    char tok[257] = "";
    bool cookie = false;
    if (refresh_token_of(r, tok, sizeof tok, &cookie) < 0)
        return;
    refresh_op *f = calloc(1, sizeof *f);
    if (!f || auth__pair_new(&f->pair) < 0) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
    } else if (!auth__token_ok(tok, strlen(tok))) {
        auth__verdict v = {401, "unauthorized", "the refresh token is invalid", 0};
        if (cookie)
            auth__cookie_clear(r);
        auth__respond_verdict(r, &v);
    } else {
        f->a = auth__of(r);
        f->cookie = cookie;
        auth__token_hash(tok, strlen(tok), f->hash);
        http_job_submit(&f->j, r, refresh_run, refresh_done);
        f = NULL;
    }
    OPENSSL_cleanse(tok, sizeof tok);
    free(f);
}

/* ---- logout -------------------------------------------------------------------------- */

typedef struct logout_op {
    http_job j;
    auth *a;
    char user_id[STORE_ID_MAX + 1];
    uint8_t access[STORE_TOKEN_HASH], refresh[STORE_TOKEN_HASH];
    bool has_refresh;
    char fam1[STORE_ID_MAX + 1], fam2[STORE_ID_MAX + 1];
} logout_op;

/* Revokes the family of token @hash when it belongs to the caller; its name into @fam. */
static int revoke_family_of(store_tx *tx, logout_op *o, const uint8_t *hash, char *fam)
{
    store_token t;
    int rc = store_token_get(tx, hash, &t);
    if (rc == STORE_ENOTFOUND || (rc == 0 && strcmp(t.user_id, o->user_id) != 0))
        return 0;
    if (rc < 0 || (rc = store_token_revoke(tx, hash)) < 0)
        return rc;
    memcpy(fam, t.family, STORE_ID_MAX + 1);
    return store_token_revoke_family(tx, t.family, NULL);
}

static int logout_run(store_tx *tx, http_job *hj)
{
    logout_op *o = AUTH_CONTAINER(hj, logout_op, j);
    int rc = revoke_family_of(tx, o, o->access, o->fam1);
    if (rc == 0 && o->has_refresh)
        rc = revoke_family_of(tx, o, o->refresh, o->fam2);
    return rc;
}

static void logout_done(http_job *hj, int rc)
{
    logout_op *o = AUTH_CONTAINER(hj, logout_op, j);
    auth__cache_drop(&o->a->cache, o->access);
    if (o->fam1[0])
        auth__cache_drop_family(&o->a->cache, o->fam1);
    if (o->fam2[0])
        auth__cache_drop_family(&o->a->cache, o->fam2);
    if (rc == 0) {
        auth__revoked(o->a, o->user_id, o->fam1);
        auth__revoked(o->a, o->user_id, o->fam2);
    }
    if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "auth");
    } else {
        auth__cookie_clear(hj->req); /* a browser session ends with its cookie */
        http_respond_json(hj->req, 204, NULL);
    }
    free(o);
}

void auth__logout(http_req *r)
{
    const char *tok = NULL, *rt = NULL;
    size_t len = 0, rlen = 0;
    bson_t body;
    bool parsed = false;
    size_t blen = 0;
    http_req_body(r, &blen);
    if (blen) {
        json_field fl[] = {
            {"refresh_token", JSON_STR, JSON_OPTIONAL, .max_len = 256, .str = &rt, .len = &rlen},
        };
        if (json_body_decode(r, &body, fl, 1) < 0)
            return;
        parsed = true;
    }
    logout_op *o = calloc(1, sizeof *o);
    if (!o || auth__bearer(http_req_header(r, "Authorization"), &tok, &len) < 0) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth"); /* the hook checked the header already */
        goto out;
    }
    o->a = auth__of(r);
    snprintf(o->user_id, sizeof o->user_id, "%s", http_req_principal(r)->user_id);
    auth__token_hash(tok, len, o->access);
    if (rt && auth__token_ok(rt, rlen)) {
        auth__token_hash(rt, rlen, o->refresh);
        o->has_refresh = true;
    }
    http_job_submit(&o->j, r, logout_run, logout_done);
    o = NULL;
out:
    free(o);
    if (parsed)
        bson_destroy(&body);
}
