/*
 * auth_bearer — the http_opts.authenticate hook: "Authorization: Bearer <token>"
 * [RFC 6750 2.1] → the caller. The cache answers most requests; a miss reads the token and
 * its user in a store job, then caches the result for AUTH_CACHE_TTL_MS at most.
 */
#include <stdlib.h>
#include <string.h>

#include "api/accounts/accounts_int.h"

typedef struct bearer_job {
    http_job j;
    auth *a;
    enum http_auth need;
    void (*next)(http_req *r);
    auth__verified v;
} bearer_job;

static void admit(http_req *r, enum http_auth need, const auth_principal *ap,
                  void (*next)(http_req *r))
{
    if (need == HTTP_AUTH_ADMIN && !ap->admin) {
        http_respond_error(r, 403, "forbidden", "administrators only");
        return;
    }
    http_principal p = {.admin = ap->admin};
    _Static_assert(sizeof p.user_id == sizeof ap->user_id, "principal sizes");
    _Static_assert(sizeof p.username == sizeof ap->username, "principal sizes");
    memcpy(p.user_id, ap->user_id, sizeof p.user_id);
    memcpy(p.username, ap->username, sizeof p.username);
    http_req_set_principal(r, &p);
    next(r);
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
        auth__cache_put_gen(&b->a->cache, b->v.gen, b->v.hash, b->v.family, &b->v.p,
                            b->v.expires_at, b->v.now);
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
    auth_principal p;
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
    b->v.gen = auth__cache_gen(&a->cache);
    memcpy(b->v.hash, hash, sizeof hash);
    http_job_submit(&b->j, r, bearer_run, bearer_done);
}
