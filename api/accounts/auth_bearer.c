/*
 * auth_bearer — the http_opts.authenticate hook: "Authorization: Bearer <token>"
 * [RFC 6750 2.1] → the caller. The cache answers most requests; a miss reads the token and
 * its user in a store job, then caches the result for AUTH_CACHE_TTL_MS at most.
 */
#include <stdlib.h>
#include <string.h>

#include "api/accounts/auth_int.h"

typedef struct bearer_job {
    http_job j;
    auth *a;
    enum http_auth need;
    void (*next)(http_req *r);
    auth__verified v;
} bearer_job;

static void admit(http_req *r, enum http_auth need, const http_principal *p,
                  void (*next)(http_req *r))
{
    if (need == HTTP_AUTH_ADMIN && !p->admin) {
        http_respond_error(r, 403, "forbidden", "administrators only");
        return;
    }
    http_req_set_principal(r, p);
    next(r);
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (!src || n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int auth__token_lookup(store_tx *tx, auth__verified *v)
{
    store_token t;
    int rc = store_token_get(tx, v->hash, &t);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (t.kind != STORE_TOKEN_ACCESS || t.revoked || t.expires_at <= v->now)
        return 0;
    bson_t *u = NULL;
    rc = store_user_get(tx, t.user_id, &u);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (copy_str(v->p.user_id, sizeof v->p.user_id, t.user_id) == 0 &&
        copy_str(v->p.username, sizeof v->p.username, json_doc_str(u, "username")) == 0 &&
        copy_str(v->family, sizeof v->family, t.family) == 0) {
        v->p.admin = auth__doc_bool(u, "admin");
        v->expires_at = t.expires_at;
        v->ok = true;
    }
    bson_destroy(u);
    return 0;
}

static int bearer_run(store_tx *tx, http_job *hj)
{
    return auth__token_lookup(tx, &AUTH_CONTAINER(hj, bearer_job, j)->v);
}

static void bearer_done(http_job *hj, int rc)
{
    bearer_job *b = AUTH_CONTAINER(hj, bearer_job, j);
    http_req *r = hj->req;
    if (rc < 0)
        http_job_respond_fail(r, rc, "auth");
    else if (!b->v.ok)
        auth__respond_401(r, true);
    else {
        auth__cache_put(&b->a->cache, b->v.hash, b->v.family, &b->v.p, b->v.expires_at, b->v.now);
        admit(r, b->need, &b->v.p, b->next);
    }
    free(b);
}

void auth_authenticate(http_req *r, enum http_auth need, void (*next)(http_req *r))
{
    auth *a = auth__of(r);
    const char *tok;
    size_t len;
    if (auth__bearer(http_req_header(r, "Authorization"), &tok, &len) < 0) {
        auth__respond_401(r, http_req_header(r, "Authorization") != NULL);
        return;
    }
    uint8_t hash[STORE_TOKEN_HASH];
    auth__token_hash(tok, len, hash);
    int64_t now = auth__now_ms();
    http_principal p;
    if (auth__cache_get(&a->cache, hash, now, &p)) {
        admit(r, need, &p, next);
        return;
    }
    bearer_job *b = calloc(1, sizeof *b);
    if (!b) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
        return;
    }
    b->a = a;
    b->need = need;
    b->next = next;
    b->v.now = now;
    memcpy(b->v.hash, hash, sizeof hash);
    http_job_submit(&b->j, r, bearer_run, bearer_done);
}
