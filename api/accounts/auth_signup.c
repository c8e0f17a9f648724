/*
 * auth_signup — POST /v1/auth/signup and POST /v1/auth/confirm.
 *
 * Sign-up answers 202 {"status":"pending_confirmation"} whether or not the username or
 * e-mail address is taken, after the same Argon2 hash, so neither the body nor the timing
 * tells an enumerator which accounts exist. On the taken path:
 *   - same username, same e-mail, not yet confirmed: a fresh code is mailed (the resend
 *     path; the password of the first sign-up stays, so nobody can replace it before the
 *     owner confirms);
 *   - the e-mail belongs to an account: an "already registered" mail goes to it;
 *   - else nothing.
 * The code and the mail are written in the same transaction as the user, so a code is
 * never mailed for a sign-up that rolled back.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ident/acct_rules.h"
#include "api/accounts/accounts_int.h"
#include "ident/passwd.h"
#include "notify/notify.h"

typedef struct signup_op {
    http_job j;
    auth__pw pw;
    auth *a;
    char username[ACCT_USERNAME_MAX + 1];
    char email[ACCT_EMAIL_MAX + 1];
    char given[ACCT_NAME_MAX + 1], family[ACCT_NAME_MAX + 1];
    char *password;
    char phc[PASSWD_PHC_MAX];
    int hash_rc;
} signup_op;

static void signup_free(signup_op *s)
{
    auth__secret_free(s->password);
    free(s);
}

/* Normalises and checks the fields into @s: 0, -1 after answering a bad field, -2 when
 * out of memory (not answered). */
static int signup_fields(http_req *r, signup_op *s, const char *user, const char *email,
                         const char *pw, const char *given, const char *family)
{
    const char *why = NULL, *field = NULL;
    if (acct_username_norm(user, s->username, sizeof s->username, &why) < 0 ||
        acct_username_reserved(s->username, &why) < 0)
        field = "username";
    else if (acct_email_norm(email, s->email, sizeof s->email, &why) < 0)
        field = "email";
    else if (acct_password_check(pw, s->username, s->email, &why) < 0)
        field = "password";
    else if (acct_name_check(given, &why) < 0)
        field = "given_name";
    else if (acct_name_check(family, &why) < 0)
        field = "family_name";
    if (field) {
        http_respond_field(r, field, why ? why : "invalid");
        return -1;
    }
    snprintf(s->given, sizeof s->given, "%s", given);
    snprintf(s->family, sizeof s->family, "%s", family);
    return (s->password = auth__secret_dup(pw)) ? 0 : -2;
}

/* The username or the e-mail is taken: resend, or tell the address's owner. */
static int signup_taken(store_tx *tx, signup_op *s, int64_t now)
{
    bson_t *u = NULL;
    int rc = store_user_get_by_username(tx, s->username, &u);
    if (rc == 0 && !auth__doc_bool(u, "confirmed") &&
        strcasecmp(json_doc_str(u, "email") ? json_doc_str(u, "email") : "", s->email) == 0) {
        rc = auth__code_mail(tx, s->a, json_doc_str(u, "_id"), s->email, STORE_CODE_CONFIRM, now);
        goto out;
    }
    bson_destroy(u);
    u = NULL;
    rc = store_user_get_by_email(tx, s->email, &u);
    if (rc == 0)
        rc = notify_mail_add(tx, s->email, "Your iotcloud account",
                             "Someone tried to sign up with this address, which already has "
                             "an account.\r\nIf it was you, log in or reset your password.\r\n",
                             now);
    else if (rc == STORE_ENOTFOUND)
        rc = 0;
out:
    bson_destroy(u);
    return rc;
}

static int signup_run(store_tx *tx, http_job *hj)
{
    signup_op *s = AUTH_CONTAINER(hj, signup_op, j);
    int64_t now = auth__now_ms();
    char id[AUTH_ID_LEN + 1];
    if (auth__id_new(id, now) < 0)
        return STORE_EIO;
    bson_t *doc =
        BCON_NEW("password", BCON_UTF8(s->phc), "given_name", BCON_UTF8(s->given), "family_name",
                 BCON_UTF8(s->family), "confirmed", BCON_BOOL(false), "admin", BCON_BOOL(false),
                 "created_at", BCON_INT64(now), "failed_logins", BCON_INT32(0), "locked_until",
                 BCON_INT64(0), "pw_changed_at", BCON_INT64(now));
    int rc = store_user_create(tx, id, s->username, s->email, doc);
    bson_destroy(doc);
    if (rc == STORE_EEXISTS)
        return signup_taken(tx, s, now);
    if (rc < 0)
        return rc;
    return auth__code_mail(tx, s->a, id, s->email, STORE_CODE_CONFIRM, now);
}

static void signup_done(http_job *hj, int rc)
{
    signup_op *s = AUTH_CONTAINER(hj, signup_op, j);
    if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "auth");
    } else {
        notify_kick(s->a->o.nt);
        bson_t *doc = BCON_NEW("status", BCON_UTF8("pending_confirmation"));
        http_respond_json(hj->req, 202, doc);
        bson_destroy(doc);
    }
    signup_free(s);
}

static void signup_hash(auth__pw *p)
{
    signup_op *s = AUTH_CONTAINER(p, signup_op, pw);
    s->hash_rc = passwd_hash(s->password, strlen(s->password), s->phc);
}

static void signup_hashed(auth__pw *p, int rc)
{
    signup_op *s = AUTH_CONTAINER(p, signup_op, pw);
    if (rc < 0 || s->hash_rc < 0) {
        http_job_respond_fail(p->req, STORE_EIO, "auth");
        signup_free(s);
        return;
    }
    http_job_submit(&s->j, p->req, signup_run, signup_done);
}

void auth__signup(http_req *r)
{
    const char *user, *pw, *email, *given, *family;
    json_field f[] = {
        {"username", JSON_STR, JSON_REQUIRED, .max_len = 256, .str = &user},
        {"password", JSON_STR, JSON_REQUIRED, .max_len = ACCT_PASSWORD_MAX, .str = &pw},
        {"email", JSON_STR, JSON_REQUIRED, .max_len = 512, .str = &email},
        {"given_name", JSON_STR, JSON_REQUIRED, .max_len = 512, .str = &given},
        {"family_name", JSON_STR, JSON_REQUIRED, .max_len = 512, .str = &family},
    };
    bson_t body;
    if (json_body_decode(r, &body, f, sizeof f / sizeof f[0]) < 0)
        return;
    signup_op *s = calloc(1, sizeof *s);
    if (!s) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
        goto out;
    }
    s->a = auth__of(r);
    int rc = signup_fields(r, s, user, email, pw, given, family);
    if (rc < 0) {
        if (rc == -2)
            http_job_respond_fail(r, STORE_ENOMEM, "auth");
        signup_free(s);
        goto out;
    }
    if (auth__pw_submit(s->a, &s->pw, r, signup_hash, signup_hashed) < 0) {
        auth__respond_busy(r);
        signup_free(s);
    }
out:
    bson_destroy(&body);
}

/* ---- confirm ------------------------------------------------------------------------- */

typedef struct confirm_op {
    http_job j;
    const auth *a;
    char username[ACCT_USERNAME_MAX + 1];
    char code[AUTH_CODE_LEN + 1];
    auth__verdict v;
} confirm_op;

static int confirm_run(store_tx *tx, http_job *hj)
{
    confirm_op *c = AUTH_CONTAINER(hj, confirm_op, j);
    int64_t now = auth__now_ms();
    bson_t *u = NULL, upd = BSON_INITIALIZER;
    int rc = store_user_get_by_username(tx, c->username, &u);
    if (rc == STORE_ENOTFOUND) {
        /* The same answer as a wrong code: confirm does not tell who exists. */
        auth__verdict_set(&c->v, 400, "invalid_code",
                          "the code is wrong, expired or used up; request a new one");
        rc = 0;
        goto out;
    }
    const char *id = rc == 0 ? json_doc_str(u, "_id") : NULL;
    if (rc < 0 || (rc = id ? 0 : STORE_ECORRUPT) < 0)
        goto out;
    rc = auth__code_check(tx, c->a->code_key, id, STORE_CODE_CONFIRM, c->code, now, &c->v);
    if (rc < 0 || c->v.status)
        goto out;
    bson_copy_to_excluding_noinit(u, &upd, "confirmed", NULL);
    BSON_APPEND_BOOL(&upd, "confirmed", true);
    if ((rc = store_user_update(tx, id, NULL, NULL, &upd)) < 0)
        goto out;
    rc = store_code_delete(tx, id, STORE_CODE_CONFIRM);
out:
    bson_destroy(&upd);
    bson_destroy(u);
    return rc;
}

static void confirm_done(http_job *hj, int rc)
{
    confirm_op *c = AUTH_CONTAINER(hj, confirm_op, j);
    if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "auth");
    } else if (c->v.status) {
        auth__respond_verdict(hj->req, &c->v);
    } else {
        bson_t *doc = BCON_NEW("status", BCON_UTF8("confirmed"));
        http_respond_json(hj->req, 200, doc);
        bson_destroy(doc);
    }
    free(c);
}

void auth__confirm(http_req *r)
{
    const char *user, *code, *why = NULL;
    json_field f[] = {
        {"username", JSON_STR, JSON_REQUIRED, .max_len = 256, .str = &user},
        {"code", JSON_STR, JSON_REQUIRED, .max_len = 16, .str = &code},
    };
    bson_t body;
    if (json_body_decode(r, &body, f, 2) < 0)
        return;
    confirm_op *c = calloc(1, sizeof *c);
    if (!c)
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
    else if (acct_username_norm(user, c->username, sizeof c->username, &why) < 0)
        http_respond_field(r, "username", why ? why : "invalid");
    else if (!auth__code_ok(code))
        http_respond_field(r, "code", "six decimal digits expected");
    else {
        memcpy(c->code, code, AUTH_CODE_LEN + 1);
        c->a = auth__of(r);
        http_job_submit(&c->j, r, confirm_run, confirm_done);
        c = NULL;
    }
    free(c);
    bson_destroy(&body);
}
