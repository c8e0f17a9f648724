/*
 * auth_reset — POST /v1/auth/forgot and POST /v1/auth/reset.
 *
 * Forgot always answers 202 {"status":"reset_requested"}; a reset code is mailed only when
 * the address has an account, and at most reset-mails-per-hour times per address. Neither
 * the answer nor the work tells whether the address has an account: the hourly count is
 * kept per submitted address (auth_names.c) for every address alike, and an unknown
 * address within its budget costs the same store writes and commit as a real one
 * (auth__code_mail_none), instead of a read-only job that answered twice as fast.
 *
 * Reset checks the code (a wrong one counts an attempt, as confirm does), the password
 * policy, hashes on the pool, then in a second job checks the code again (it may have been
 * used meanwhile), sets the password, revokes every token of the user and deletes the
 * code; then the login lockout of its username and address is lifted.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ident/acct_rules.h"
#include "api/accounts/accounts_int.h"
#include "ident/passwd.h"
#include "notify/notify.h"

typedef struct forgot_op {
    http_job j;
    auth *a;
    bool mail; /* within the address's hourly budget */
    char email[ACCT_EMAIL_MAX + 1];
} forgot_op;

static int forgot_run(store_tx *tx, http_job *hj)
{
    forgot_op *f = AUTH_CONTAINER(hj, forgot_op, j);
    bson_t *u = NULL;
    int64_t now = auth__now_ms();
    int rc = store_user_get_by_email(tx, f->email, &u);
    const char *id = rc == 0 ? json_doc_str(u, "_id") : NULL;
    if (rc == STORE_ENOTFOUND || (rc == 0 && !id))
        rc = f->mail ? auth__code_mail_none(tx, f->a, f->email, STORE_CODE_RESET, now) : 0;
    else if (rc == 0 && f->mail)
        rc = auth__code_mail(tx, f->a, id, json_doc_str(u, "email"), STORE_CODE_RESET, now);
    bson_destroy(u);
    return rc;
}

static void forgot_done(http_job *hj, int rc)
{
    forgot_op *f = AUTH_CONTAINER(hj, forgot_op, j);
    if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "auth");
    } else {
        notify_kick(f->a->o.nt);
        bson_t *doc = BCON_NEW("status", BCON_UTF8("reset_requested"));
        http_respond_json(hj->req, 202, doc);
        bson_destroy(doc);
    }
    free(f);
}

void auth__forgot(http_req *r)
{
    const char *email, *why = NULL;
    json_field fl[] = {{"email", JSON_STR, JSON_REQUIRED, .max_len = 512, .str = &email}};
    bson_t body;
    if (json_body_decode(r, &body, fl, 1) < 0)
        return;
    forgot_op *f = calloc(1, sizeof *f);
    if (!f) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
    } else if (acct_email_norm(email, f->email, sizeof f->email, &why) < 0) {
        http_respond_field(r, "email", why ? why : "invalid");
    } else {
        f->a = auth__of(r);
        f->mail =
            auth__mail_allow(&f->a->mails, f->email, f->a->o.reset_mails_per_hour, auth__now_ms());
        http_job_submit(&f->j, r, forgot_run, forgot_done);
        f = NULL;
    }
    free(f);
    bson_destroy(&body);
}

/* ---- reset --------------------------------------------------------------------------- */

typedef struct reset_op {
    http_job j;
    auth__pw pw;
    auth *a;
    int stage;
    char username[ACCT_USERNAME_MAX + 1];
    char code[AUTH_CODE_LEN + 1];
    char *password;
    char user_id[STORE_ID_MAX + 1];
    char email[STORE_NAME_MAX + 1];
    char phc[PASSWD_PHC_MAX];
    int hash_rc;
    auth__verdict v;
} reset_op;

static void reset_free(reset_op *s)
{
    auth__secret_free(s->password);
    OPENSSL_cleanse(s->code, sizeof s->code);
    free(s);
}

static int reset_set(store_tx *tx, reset_op *s, const bson_t *u, int64_t now)
{
    bson_t upd = BSON_INITIALIZER;
    bson_copy_to_excluding_noinit(u, &upd, "password", "failed_logins", "locked_until",
                                  "pw_changed_at", NULL);
    BSON_APPEND_UTF8(&upd, "password", s->phc);
    BSON_APPEND_INT32(&upd, "failed_logins", 0);
    BSON_APPEND_INT64(&upd, "locked_until", 0);
    BSON_APPEND_INT64(&upd, "pw_changed_at", now);
    int rc = store_user_update(tx, s->user_id, NULL, NULL, &upd);
    bson_destroy(&upd);
    if (rc < 0 || (rc = store_token_revoke_user(tx, s->user_id, NULL)) < 0)
        return rc;
    return store_code_delete(tx, s->user_id, STORE_CODE_RESET);
}

static int reset_run(store_tx *tx, http_job *hj)
{
    reset_op *s = AUTH_CONTAINER(hj, reset_op, j);
    int64_t now = auth__now_ms();
    bson_t *u = NULL;
    int rc = store_user_get_by_username(tx, s->username, &u);
    const char *id = rc == 0 ? json_doc_str(u, "_id") : NULL;
    const char *email = rc == 0 ? json_doc_str(u, "email") : NULL;
    if (rc == STORE_ENOTFOUND || (rc == 0 && (!id || !email || strlen(id) > STORE_ID_MAX ||
                                              strlen(email) > STORE_NAME_MAX))) {
        auth__verdict_set(&s->v, 400, "invalid_code",
                          "the code is wrong, expired or used up; request a new one");
        rc = 0;
        goto out;
    }
    if (rc < 0)
        goto out;
    memcpy(s->user_id, id, strlen(id) + 1);
    memcpy(s->email, email, strlen(email) + 1);
    rc = auth__code_check(tx, s->a->code_key, id, STORE_CODE_RESET, s->code, now, &s->v);
    if (rc < 0 || s->v.status || s->stage == 1)
        goto out;
    rc = reset_set(tx, s, u, now);
out:
    bson_destroy(u);
    return rc;
}

static void reset_done(http_job *hj, int rc);

static void reset_hash(auth__pw *p)
{
    reset_op *s = AUTH_CONTAINER(p, reset_op, pw);
    s->hash_rc = passwd_hash(s->password, strlen(s->password), s->phc);
}

static void reset_hashed(auth__pw *p, int rc)
{
    reset_op *s = AUTH_CONTAINER(p, reset_op, pw);
    if (rc < 0 || s->hash_rc < 0) {
        http_job_respond_fail(p->req, rc < 0 ? rc : STORE_EIO, "auth");
        reset_free(s);
        return;
    }
    s->stage = 2;
    http_job_submit(&s->j, p->req, reset_run, reset_done);
}

static void reset_done(http_job *hj, int rc)
{
    reset_op *s = AUTH_CONTAINER(hj, reset_op, j);
    http_req *r = hj->req;
    const char *why = NULL;
    if (rc < 0) {
        http_job_respond_fail(r, rc, "auth");
    } else if (s->v.status) {
        auth__respond_verdict(r, &s->v);
    } else if (s->stage == 2) {
        auth__cache_drop_user(&s->a->cache, s->user_id);
        auth__revoked(s->a, s->user_id, NULL);        /* its MQTT connections end too */
        auth__name_clear(&s->a->logins, s->username); /* the owner is back in */
        auth__name_clear(&s->a->logins, s->email);
        bson_t *doc = BCON_NEW("status", BCON_UTF8("password_reset"));
        http_respond_json(r, 200, doc);
        bson_destroy(doc);
    } else if (acct_password_check(s->password, s->username, s->email, &why) < 0) {
        http_respond_field(r, "new_password", why ? why : "invalid");
    } else if (auth__pw_submit(s->a, &s->pw, r, reset_hash, reset_hashed) == 0) {
        return;
    } else {
        auth__respond_busy(r);
    }
    reset_free(s);
}

void auth__reset(http_req *r)
{
    const char *user, *code, *pw, *why = NULL;
    json_field fl[] = {
        {"username", JSON_STR, JSON_REQUIRED, .max_len = 256, .str = &user},
        {"code", JSON_STR, JSON_REQUIRED, .max_len = 16, .str = &code},
        {"new_password", JSON_STR, JSON_REQUIRED, .max_len = ACCT_PASSWORD_MAX, .str = &pw},
    };
    bson_t body;
    if (json_body_decode(r, &body, fl, 3) < 0)
        return;
    reset_op *s = calloc(1, sizeof *s);
    if (!s || !(s->password = auth__secret_dup(pw)))
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
    else if (acct_username_norm(user, s->username, sizeof s->username, &why) < 0)
        http_respond_field(r, "username", why ? why : "invalid");
    else if (!auth__code_ok(code))
        http_respond_field(r, "code", "six decimal digits expected");
    else if (acct_password_check(pw, s->username, "", &why) < 0)
        http_respond_field(r, "new_password", why ? why : "invalid");
    else {
        memcpy(s->code, code, AUTH_CODE_LEN + 1);
        s->a = auth__of(r);
        s->stage = 1;
        http_job_submit(&s->j, r, reset_run, reset_done);
        s = NULL;
    }
    if (s)
        reset_free(s);
    bson_destroy(&body);
}
