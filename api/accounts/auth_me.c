/*
 * auth_me — the caller's own account: GET/PATCH/DELETE /v1/me, POST /v1/me/password.
 *
 * PATCH changes given_name and family_name only; the e-mail address is not changeable
 * here (an unknown field is a 400), since a change would need a confirmation of its own.
 * A password change revokes every token of the user, this session's included, and answers
 * 200 with a fresh token pair, so the caller stays logged in and every other session ends.
 * Password change and deletion verify the current password on the pool first; a wrong one
 * is 403 wrong_password (401 would read as "your token is bad").
 * Deleting the account unregisters its devices in the same job (certificates revoked,
 * devices and the user's own device types deleted; api/devices/dev_fx.c), and the revocation
 * effects follow the commit.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ident/acct_rules.h"
#include "api/accounts/accounts_int.h"
#include "api/devices/devices.h"
#include "ident/passwd.h"

enum me_kind { ME_GET, ME_PATCH, ME_PASSWORD, ME_DELETE };

typedef struct me_op {
    http_job j;
    auth__pw pw;
    auth *a;
    api *api;
    dev__fx fx; /* DELETE: what unregistering the devices revoked */
    enum me_kind kind;
    int stage; /* 1: read (and PATCH write), 2: write after the password check */
    char user_id[STORE_ID_MAX + 1];
    char given[ACCT_NAME_MAX + 1], family[ACCT_NAME_MAX + 1];
    char *current, *fresh;
    char phc[PASSWD_PHC_MAX], new_phc[PASSWD_PHC_MAX];
    char username[STORE_NAME_MAX + 1], email[STORE_NAME_MAX + 1];
    bool good;
    int hash_rc;
    auth__pair pair;
    bson_t view;
    bool has_view;
    uint64_t gen; /* account-view cache generation when the read was submitted */
} me_op;

static void me_free(me_op *m)
{
    auth__secret_free(m->current);
    auth__secret_free(m->fresh);
    OPENSSL_cleanse(&m->pair, sizeof m->pair);
    dev__fx_free(&m->fx);
    if (m->has_view)
        bson_destroy(&m->view);
    free(m);
}

static int me_patch_doc(store_tx *tx, me_op *m, const bson_t *u)
{
    bson_t upd = BSON_INITIALIZER;
    bson_copy_to_excluding_noinit(u, &upd, "given_name", "family_name", NULL);
    const char *g = m->given[0] ? m->given : json_doc_str(u, "given_name");
    const char *f = m->family[0] ? m->family : json_doc_str(u, "family_name");
    BSON_APPEND_UTF8(&upd, "given_name", g ? g : "");
    BSON_APPEND_UTF8(&upd, "family_name", f ? f : "");
    int rc = store_user_update(tx, m->user_id, NULL, NULL, &upd);
    bson_destroy(&upd);
    if (rc < 0)
        return rc;
    bson_t *again = NULL;
    if ((rc = store_user_get(tx, m->user_id, &again)) == 0) {
        auth__user_view(again, &m->view);
        bson_destroy(again);
    }
    return rc;
}

static int copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (!src || n >= cap)
        return STORE_ECORRUPT;
    memcpy(dst, src, n + 1);
    return 0;
}

static int me_read(store_tx *tx, me_op *m)
{
    bson_t *u = NULL;
    int rc = store_user_get(tx, m->user_id, &u);
    if (rc < 0)
        return rc;
    if (m->kind == ME_GET)
        auth__user_view(u, &m->view);
    else if (m->kind == ME_PATCH)
        rc = me_patch_doc(tx, m, u);
    else if ((rc = copy_field(m->phc, sizeof m->phc, json_doc_str(u, "password"))) == 0 &&
             (rc = copy_field(m->username, sizeof m->username, json_doc_str(u, "username"))) == 0)
        rc = copy_field(m->email, sizeof m->email, json_doc_str(u, "email"));
    bson_destroy(u);
    return rc;
}

static int me_set_password(store_tx *tx, me_op *m, int64_t now)
{
    bson_t *u = NULL, upd = BSON_INITIALIZER;
    int rc = store_user_get(tx, m->user_id, &u);
    if (rc < 0)
        goto out;
    bson_copy_to_excluding_noinit(u, &upd, "password", "pw_changed_at", NULL);
    BSON_APPEND_UTF8(&upd, "password", m->new_phc);
    BSON_APPEND_INT64(&upd, "pw_changed_at", now);
    if ((rc = store_user_update(tx, m->user_id, NULL, NULL, &upd)) < 0 ||
        (rc = store_token_revoke_user(tx, m->user_id, NULL)) < 0)
        goto out;
    rc = auth__pair_store_new(tx, m->a, &m->pair, m->user_id, now);
out:
    bson_destroy(&upd);
    bson_destroy(u);
    return rc;
}

static int me_delete(store_tx *tx, me_op *m, int64_t now)
{
    int rc = dev__unregister_owner(tx, &m->fx, m->user_id, now);
    if (rc == 0)
        rc = store_user_delete(tx, m->user_id);
    return rc;
}

static int me_run(store_tx *tx, http_job *hj)
{
    me_op *m = AUTH_CONTAINER(hj, me_op, j);
    if (m->stage == 1)
        return me_read(tx, m);
    if (m->kind == ME_DELETE)
        return me_delete(tx, m, auth__now_ms());
    return me_set_password(tx, m, auth__now_ms());
}

static void me_done(http_job *hj, int rc);

static void me_verify(auth__pw *p)
{
    me_op *m = AUTH_CONTAINER(p, me_op, pw);
    m->good = passwd_verify(m->phc, m->current, strlen(m->current));
    if (m->good && m->fresh)
        m->hash_rc = passwd_hash(m->fresh, strlen(m->fresh), m->new_phc);
}

static void me_verified(auth__pw *p, int rc)
{
    me_op *m = AUTH_CONTAINER(p, me_op, pw);
    if (rc < 0 || m->hash_rc < 0) {
        http_job_respond_fail(p->req, rc < 0 ? rc : STORE_EIO, "auth");
    } else if (!m->good) {
        http_respond_error(p->req, 403, "wrong_password", "the current password is wrong");
    } else if (m->kind == ME_PASSWORD && auth__pair_new(&m->pair) < 0) {
        http_job_respond_fail(p->req, STORE_EIO, "auth");
    } else {
        m->stage = 2;
        http_job_submit(&m->j, p->req, me_run, me_done);
        return;
    }
    me_free(m);
}

/* After the first read of a password route: policy check, then the pool. */
static void me_check_password(http_req *r, me_op *m)
{
    const char *why = NULL;
    if (m->fresh && acct_password_check(m->fresh, m->username, m->email, &why) < 0)
        http_respond_field(r, "new_password", why ? why : "invalid");
    else if (auth__pw_submit(m->a, &m->pw, r, me_verify, me_verified) == 0)
        return;
    else
        auth__respond_busy(r);
    me_free(m);
}

static void me_done(http_job *hj, int rc)
{
    me_op *m = AUTH_CONTAINER(hj, me_op, j);
    http_req *r = hj->req;
    if (rc == STORE_ENOTFOUND) {
        auth__respond_401(r, true); /* the account went away under its token */
    } else if (rc < 0) {
        http_job_respond_fail(r, rc, "auth");
    } else if (m->stage == 1 && (m->kind == ME_PASSWORD || m->kind == ME_DELETE)) {
        me_check_password(r, m);
        return;
    } else if (m->kind == ME_GET) {
        auth__ucache_put(&m->a->users, m->user_id, &m->view, m->gen, auth__now_ms());
        http_respond_json(r, 200, &m->view);
    } else if (m->kind == ME_PATCH) {
        auth__ucache_drop(&m->a->users, m->user_id);
        http_respond_json(r, 200, &m->view);
    } else {
        auth__ucache_drop(&m->a->users, m->user_id);
        auth__cache_drop_user(&m->a->cache, m->user_id);
        auth__revoked(m->a, m->user_id, NULL); /* its MQTT connections end too */
        if (m->kind == ME_DELETE) {
            dev__fx_apply(m->api, &m->fx);
            http_respond_json(r, 204, NULL);
        } else
            auth__respond_tokens(r, m->pair.access, m->pair.refresh, m->a->o.access_ttl_s);
    }
    me_free(m);
}

static me_op *me_new(http_req *r, enum me_kind kind)
{
    me_op *m = calloc(1, sizeof *m);
    if (!m) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
        return NULL;
    }
    m->a = auth__of(r);
    m->api = api_of(r);
    m->kind = kind;
    m->stage = 1;
    bson_init(&m->view);
    m->has_view = true;
    snprintf(m->user_id, sizeof m->user_id, "%s", http_req_principal(r)->user_id);
    return m;
}

/* From memory when this account's view was read lately (auth_ucache.c), else the store. */
void auth__me_get(http_req *r)
{
    me_op *m = me_new(r, ME_GET);
    if (!m)
        return;
    if (auth__ucache_get(&m->a->users, m->user_id, auth__now_ms(), &m->view)) {
        http_respond_json(r, 200, &m->view);
        me_free(m);
        return;
    }
    m->gen = auth__ucache_gen(&m->a->users);
    http_job_submit(&m->j, r, me_run, me_done);
}

void auth__me_patch(http_req *r)
{
    const char *given = NULL, *family = NULL, *why = NULL;
    json_field fl[] = {
        {"given_name", JSON_STR, JSON_OPTIONAL, .max_len = 512, .str = &given},
        {"family_name", JSON_STR, JSON_OPTIONAL, .max_len = 512, .str = &family},
    };
    bson_t body;
    if (json_body_decode(r, &body, fl, 2) < 0)
        return;
    me_op *m = NULL;
    if (!given && !family)
        http_respond_field(r, "given_name", "give given_name or family_name");
    else if (given && acct_name_check(given, &why) < 0)
        http_respond_field(r, "given_name", why ? why : "invalid");
    else if (family && acct_name_check(family, &why) < 0)
        http_respond_field(r, "family_name", why ? why : "invalid");
    else if ((m = me_new(r, ME_PATCH))) {
        snprintf(m->given, sizeof m->given, "%s", given ? given : "");
        snprintf(m->family, sizeof m->family, "%s", family ? family : "");
        http_job_submit(&m->j, r, me_run, me_done);
    }
    bson_destroy(&body);
}

/* POST /v1/me/password and DELETE /v1/me: both start from the current password. */
static void me_with_password(http_req *r, enum me_kind kind)
{
    const char *cur = NULL, *fresh = NULL;
    json_field pw_f[] = {
        {"current_password", JSON_STR, JSON_REQUIRED, .max_len = ACCT_PASSWORD_MAX, .str = &cur},
        {"new_password", JSON_STR, JSON_REQUIRED, .max_len = ACCT_PASSWORD_MAX, .str = &fresh},
    };
    json_field del_f[] = {
        {"password", JSON_STR, JSON_REQUIRED, .max_len = ACCT_PASSWORD_MAX, .str = &cur},
    };
    bson_t body;
    if (kind == ME_PASSWORD ? json_body_decode(r, &body, pw_f, 2) < 0
                            : json_body_decode(r, &body, del_f, 1) < 0)
        return;
    me_op *m = me_new(r, kind);
    if (m && (!(m->current = auth__secret_dup(cur)) ||
              (fresh && !(m->fresh = auth__secret_dup(fresh))))) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
        me_free(m);
    } else if (m) {
        http_job_submit(&m->j, r, me_run, me_done);
    }
    bson_destroy(&body);
}

void auth__me_password(http_req *r) { me_with_password(r, ME_PASSWORD); }

void auth__me_delete(http_req *r) { me_with_password(r, ME_DELETE); }
