/*
 * accounts_int — private to the api/accounts files: the request plumbing the handlers share
 * (Argon2 slots for requests, verdicts, replies, one-time code checks and mails) over the
 * account core (ident/auth_int.h).
 *
 * Files: accounts.c (route table, shared replies, code mails), auth_hash.c (Argon2 slots),
 * auth_code.c (code checks), auth_bearer.c (the authenticate hook), auth_signup.c
 * (sign-up, confirm), auth_login.c (login, refresh, logout), auth_reset.c (forgot, reset),
 * auth_session.c (token refresh and logout jobs), auth_me.c (/v1/me...), auth_admin.c
 * (/v1/admin/users).
 */
#ifndef IOT_API_ACCOUNTS_INT_H
#define IOT_API_ACCOUNTS_INT_H

#include "api/accounts/accounts.h"
#include "api/job.h"
#include "api/json.h"
#include "ident/auth_int.h"

/* ---- Argon2 slots (auth_hash.c) -------------------------------------------------------- */

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

/* Runs @work on the pool once one of max_hashes slots is free, then @after on r's loop.
 * <0 (nothing queued; answer 503) when max_wait requests already wait. */
int auth__pw_submit(struct auth *a, auth__pw *p, http_req *r, void (*work)(auth__pw *p),
                    void (*after)(auth__pw *p, int rc));

/* ---- shared replies (accounts.c) ------------------------------------------------------- */

auth *auth__of(const http_req *r);

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

/* ---- the refresh-token cookie (auth_cookie.c) ------------------------------------------- */

/* The value of cookie @name in the Cookie header text @hdr (NULL: none) into @out: 0, or
 * -1 when absent, empty or not shorter than @cap. Pure. */
int auth__cookie_find(const char *hdr, const char *name, char *out, size_t cap);
/* The request's refresh-token cookie into @out, as auth__cookie_find. */
int auth__cookie_refresh(http_req *r, char *out, size_t cap);
void auth__cookie_set(http_req *r, const char *refresh, uint32_t max_age_s);
/* Adds the Set-Cookie that expires the refresh-token cookie. */
void auth__cookie_clear(http_req *r);
/* A new token pair: auth__respond_tokens, or with @cookie the refresh token in the cookie
 * only and {access_token, token_type, expires_in} in the body. */
void auth__respond_session(http_req *r, const auth *a, const char *access, const char *refresh,
                           bool cookie);

/* Checks @code of (@user_id, @kind) in a job: a wrong one counts an attempt and the code
 * goes after AUTH_CODE_TRIES. 0, or a verdict; <0 for store failures. */
#define AUTH_CODE_TRIES 5
int auth__code_check(store_tx *tx, const uint8_t key[AUTH_SECRET_LEN], const char *user_id,
                     int kind, const char *code, int64_t now, auth__verdict *v);
/* Queues an e-mail with a fresh code of @kind for @user_id (stores its hash). */
int auth__code_mail(store_tx *tx, const auth *a, const char *user_id, const char *email, int kind,
                    int64_t now);
/* The same work for an address without an account (auth_reset.c: forgot must not tell by
 * its timing who exists): a code row of AUTH_NOBODY_ID and an outbox item of the same size
 * are written and deleted again in the job's transaction, so it commits (and syncs) like
 * the real path and leaves nothing. No user id contains '-' (auth__id_new: hex). */
#define AUTH_NOBODY_ID "-nobody-"
int auth__code_mail_none(store_tx *tx, const auth *a, const char *email, int kind, int64_t now);

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
