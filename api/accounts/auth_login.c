/*
 * auth_login — POST /v1/auth/login, /v1/auth/refresh, /v1/auth/logout.
 *
 * Login: per-IP limit → read the user (locked? 429) → Argon2 verify on the pool (a dummy
 * verify for an unknown user, so timing does not tell) → a second job counts the failure
 * (growing lockout, auth__lockout_ms) or resets the counter and issues a token pair.
 * Unknown user and wrong password answer the same 401 body. A correct password of an
 * unconfirmed account gets 403 not_confirmed.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ident/acct_rules.h"
#include "api/accounts/accounts_int.h"
#include "ident/passwd.h"

typedef struct login_op {
    http_job j;
    auth__pw pw;
    auth *a;
    char name[ACCT_EMAIL_MAX + 1]; /* normalised username or e-mail; "" when invalid */
    bool by_email;
    char *password;
    int stage; /* 1: lookup, 2: record the outcome */
    bool found, confirmed, good;
    char user_id[STORE_ID_MAX + 1];
    char phc[PASSWD_PHC_MAX];
    auth__pair pair;
    auth__verdict v;
} login_op;

static void login_free(login_op *l)
{
    auth__secret_free(l->password);
    OPENSSL_cleanse(&l->pair, sizeof l->pair);
    free(l);
}

static const char bad_creds[] = "wrong username or password";

static int login_lookup(store_tx *tx, login_op *l, int64_t now)
{
    bson_t *u = NULL;
    if (!l->name[0])
        return 0;
    int rc = l->by_email ? store_user_get_by_email(tx, l->name, &u)
                         : store_user_get_by_username(tx, l->name, &u);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    const char *id = json_doc_str(u, "_id"), *phc = json_doc_str(u, "password");
    int64_t locked = json_doc_i64(u, "locked_until");
    if (id && phc && strlen(id) <= STORE_ID_MAX && strlen(phc) < sizeof l->phc) {
        l->found = true;
        l->confirmed = auth__doc_bool(u, "confirmed");
        memcpy(l->user_id, id, strlen(id) + 1);
        memcpy(l->phc, phc, strlen(phc) + 1);
    }
    if (l->found && locked > now) {
        auth__verdict_set(&l->v, 429, "too_many_attempts",
                          "too many failed logins; try again later");
        l->v.retry_ms = locked - now;
    }
    bson_destroy(u);
    return 0;
}

/* Second job: count a failure (and maybe lock) or reset the counter and issue tokens.
 * Re-reads the user so concurrent attempts count one by one. */
static int login_record(store_tx *tx, login_op *l, int64_t now)
{
    bson_t *u = NULL, upd = BSON_INITIALIZER;
    int rc = store_user_get(tx, l->user_id, &u);
    if (rc < 0)
        goto out;
    int32_t fails = (int32_t)json_doc_i64(u, "failed_logins");
    if (l->good && !l->confirmed)
        goto out;
    fails = l->good ? 0 : fails + 1;
    int64_t lock = auth__lockout_ms(fails);
    bson_copy_to_excluding_noinit(u, &upd, "failed_logins", "locked_until", NULL);
    BSON_APPEND_INT32(&upd, "failed_logins", fails);
    BSON_APPEND_INT64(&upd, "locked_until", lock ? now + lock : 0);
    if ((rc = store_user_update(tx, l->user_id, NULL, NULL, &upd)) < 0 || !l->good)
        goto out;
    rc = auth__pair_store_new(tx, l->a, &l->pair, l->user_id, now);
out:
    bson_destroy(&upd);
    bson_destroy(u);
    return rc;
}

static int login_run(store_tx *tx, http_job *hj)
{
    login_op *l = AUTH_CONTAINER(hj, login_op, j);
    int64_t now = auth__now_ms();
    return l->stage == 1 ? login_lookup(tx, l, now) : login_record(tx, l, now);
}

static void login_answer(http_req *r, login_op *l)
{
    if (l->good && l->confirmed)
        auth__respond_tokens(r, l->pair.access, l->pair.refresh, l->a->o.access_ttl_s);
    else if (l->good)
        http_respond_error(r, 403, "not_confirmed", "confirm the e-mail address first");
    else {
        auth__verdict_set(&l->v, 401, "invalid_credentials", bad_creds);
        auth__respond_verdict(r, &l->v);
    }
}

static void login_verify(auth__pw *p)
{
    login_op *l = AUTH_CONTAINER(p, login_op, pw);
    size_t n = strlen(l->password);
    if (l->found)
        l->good = passwd_verify(l->phc, l->password, n);
    else
        passwd_dummy_verify(l->password, n);
}

static void login_done(http_job *hj, int rc);

static void login_verified(auth__pw *p, int rc)
{
    login_op *l = AUTH_CONTAINER(p, login_op, pw);
    http_req *r = p->req;
    if (rc < 0) {
        http_job_respond_fail(r, rc, "auth");
        login_free(l);
        return;
    }
    if (!l->good)
        auth__iplim_fail(&l->a->ip, http_req_peer_ip(r), auth__now_ms());
    if (!l->found) {
        login_answer(r, l);
        login_free(l);
        return;
    }
    if (l->good && l->confirmed && auth__pair_new(&l->pair) < 0) {
        http_job_respond_fail(r, STORE_EIO, "auth");
        login_free(l);
        return;
    }
    l->stage = 2;
    http_job_submit(&l->j, r, login_run, login_done);
}

static void login_done(http_job *hj, int rc)
{
    login_op *l = AUTH_CONTAINER(hj, login_op, j);
    http_req *r = hj->req;
    if (rc < 0)
        http_job_respond_fail(r, rc, "auth");
    else if (l->stage == 2)
        login_answer(r, l);
    else if (l->v.status)
        auth__respond_verdict(r, &l->v);
    else if (auth__pw_submit(l->a, &l->pw, r, login_verify, login_verified) == 0)
        return;
    else
        auth__respond_busy(r);
    login_free(l);
}

/* Normalises the login name; an invalid one is looked up as nobody (same 401). */
static void login_name(login_op *l, const char *name)
{
    const char *why;
    l->by_email = strchr(name, '@') != NULL;
    int rc = l->by_email ? acct_email_norm(name, l->name, sizeof l->name, &why)
                         : acct_username_norm(name, l->name, sizeof l->name, &why);
    if (rc < 0)
        l->name[0] = '\0';
}

void auth__login(http_req *r)
{
    const char *name, *pw;
    json_field f[] = {
        {"username", JSON_STR, JSON_REQUIRED, .max_len = 512, .str = &name},
        {"password", JSON_STR, JSON_REQUIRED, .max_len = ACCT_PASSWORD_MAX, .str = &pw},
    };
    bson_t body;
    if (json_body_decode(r, &body, f, 2) < 0)
        return;
    auth *a = auth__of(r);
    int64_t retry = 0;
    login_op *l = NULL;
    if (auth__iplim_check(&a->ip, http_req_peer_ip(r), auth__now_ms(), &retry) < 0) {
        auth__verdict v = {.status = 429,
                           .code = "too_many_attempts",
                           .msg = "too many failed logins from this address; try again later",
                           .retry_ms = retry};
        auth__respond_verdict(r, &v);
        goto out;
    }
    l = calloc(1, sizeof *l);
    if (!l || !(l->password = auth__secret_dup(pw))) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
        goto out;
    }
    l->a = a;
    l->stage = 1;
    login_name(l, name);
    http_job_submit(&l->j, r, login_run, login_done);
    l = NULL;
out:
    if (l)
        login_free(l);
    bson_destroy(&body);
}
