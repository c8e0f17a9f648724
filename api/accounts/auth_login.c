/*
 * auth_login — POST /v1/auth/login, /v1/auth/refresh, /v1/auth/logout.
 *
 * Login: per-IP limit → per-name lockout (auth_names.c: keyed by the submitted name,
 * case-folded, or the e-mail address, whether or not an account has it) → read the user →
 * Argon2 verify on the pool (a dummy verify for an unknown user, so timing does not tell)
 * → a failure is counted against the IP and the name and answered at once (the same work
 * for a real and an unknown name: no store write); a success clears the name's counters
 * and a second job issues a token pair. Unknown user and wrong password answer the same
 * 401 body, and a name locks after the same failures either way (issue #14 item 4). A
 * correct password of an unconfirmed account gets 403 not_confirmed.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ident/acct_rules.h"
#include "api/accounts/accounts_int.h"
#include "ident/passwd.h"

#define LOGIN_KEY_MAX 512 /* the username field's max_len */

typedef struct login_op {
    http_job j;
    auth__pw pw;
    auth *a;
    char name[ACCT_EMAIL_MAX + 1]; /* normalised username or e-mail; "" when invalid */
    char key[LOGIN_KEY_MAX + 1];   /* what the lockout counts: name, else the raw text */
    bool by_email;
    bool cookie; /* "cookie": true, the browser dashboard (auth_cookie.c) */
    char *password;
    int stage; /* 1: lookup, 2: issue tokens */
    bool found, confirmed, good;
    char user_id[STORE_ID_MAX + 1];
    char username[ACCT_USERNAME_MAX + 1], email[ACCT_EMAIL_MAX + 1];
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

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = 0; /* longer than the rules allow: nothing to clear under that name */
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static int login_lookup(store_tx *tx, login_op *l)
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
    if (id && phc && strlen(id) <= STORE_ID_MAX && strlen(phc) < sizeof l->phc) {
        l->found = true;
        l->confirmed = auth__doc_bool(u, "confirmed");
        memcpy(l->user_id, id, strlen(id) + 1);
        memcpy(l->phc, phc, strlen(phc) + 1);
        copy_str(l->username, sizeof l->username, json_doc_str(u, "username"));
        copy_str(l->email, sizeof l->email, json_doc_str(u, "email"));
    }
    bson_destroy(u);
    return 0;
}

static int login_run(store_tx *tx, http_job *hj)
{
    login_op *l = AUTH_CONTAINER(hj, login_op, j);
    if (l->stage == 1)
        return login_lookup(tx, l);
    return auth__pair_store_new(tx, l->a, &l->pair, l->user_id, auth__now_ms());
}

static void login_answer(http_req *r, login_op *l)
{
    if (l->good && l->confirmed)
        auth__respond_session(r, l->a, l->pair.access, l->pair.refresh, l->cookie);
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

/* A correct password: every name the account answers to starts afresh. */
static void login_clear(login_op *l)
{
    auth__name_clear(&l->a->logins, l->key);
    if (l->username[0])
        auth__name_clear(&l->a->logins, l->username);
    if (l->email[0])
        auth__name_clear(&l->a->logins, l->email);
}

static void login_done(http_job *hj, int rc);

static void login_verified(auth__pw *p, int rc)
{
    login_op *l = AUTH_CONTAINER(p, login_op, pw);
    http_req *r = p->req;
    int64_t now = auth__now_ms();
    if (rc < 0) {
        http_job_respond_fail(r, rc, "auth");
    } else if (!l->good) { /* the same steps for an unknown name and a wrong password */
        auth__iplim_fail(&l->a->ip, http_req_peer_ip(r), now);
        auth__name_failed(&l->a->logins, l->key, now);
        login_answer(r, l);
    } else {
        login_clear(l);
        if (!l->confirmed) {
            login_answer(r, l);
        } else if (auth__pair_new(&l->pair) < 0) {
            http_job_respond_fail(r, STORE_EIO, "auth");
        } else {
            l->stage = 2;
            http_job_submit(&l->j, r, login_run, login_done);
            return;
        }
    }
    login_free(l);
}

static void login_done(http_job *hj, int rc)
{
    login_op *l = AUTH_CONTAINER(hj, login_op, j);
    http_req *r = hj->req;
    if (rc < 0)
        http_job_respond_fail(r, rc, "auth");
    else if (l->stage == 2)
        login_answer(r, l);
    else if (auth__pw_submit(l->a, &l->pw, r, login_verify, login_verified) == 0)
        return;
    else
        auth__respond_busy(r);
    login_free(l);
}

/* Normalises the login name; an invalid one is looked up as nobody (same 401) and counted
 * under its raw text. */
static void login_name(login_op *l, const char *name)
{
    const char *why;
    l->by_email = strchr(name, '@') != NULL;
    int rc = l->by_email ? acct_email_norm(name, l->name, sizeof l->name, &why)
                         : acct_username_norm(name, l->name, sizeof l->name, &why);
    if (rc < 0)
        l->name[0] = '\0';
    copy_str(l->key, sizeof l->key, l->name[0] ? l->name : name);
}

/* The per-IP and per-name limits, before any work. true when @r was answered (429). */
static bool login_limited(http_req *r, auth *a, const char *key)
{
    int64_t now = auth__now_ms(), retry = 0;
    auth__verdict v = {.status = 429, .code = "too_many_attempts"};
    if (auth__iplim_check(&a->ip, http_req_peer_ip(r), now, &retry) < 0) {
        v.msg = "too many failed logins from this address; try again later";
    } else if ((retry = auth__name_locked(&a->logins, key, now)) > 0) {
        v.msg = "too many failed logins; try again later";
    } else {
        return false;
    }
    v.retry_ms = retry;
    auth__respond_verdict(r, &v);
    return true;
}

void auth__login(http_req *r)
{
    const char *name, *pw;
    bool cookie = false;
    json_field f[] = {
        {"username", JSON_STR, JSON_REQUIRED, .max_len = LOGIN_KEY_MAX, .str = &name},
        {"password", JSON_STR, JSON_REQUIRED, .max_len = ACCT_PASSWORD_MAX, .str = &pw},
        {"cookie", JSON_BOOL, JSON_OPTIONAL, .b = &cookie},
    };
    bson_t body;
    if (json_body_decode(r, &body, f, 3) < 0)
        return;
    auth *a = auth__of(r);
    login_op *l = calloc(1, sizeof *l);
    if (!l || !(l->password = auth__secret_dup(pw))) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
        goto out;
    }
    l->a = a;
    l->cookie = cookie;
    l->stage = 1;
    login_name(l, name);
    if (login_limited(r, a, l->key))
        goto out;
    http_job_submit(&l->j, r, login_run, login_done);
    l = NULL;
out:
    if (l)
        login_free(l);
    bson_destroy(&body);
}
