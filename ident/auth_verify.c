/*
 * auth_verify — access tokens checked for callers outside HTTP (the MQTT broker's users):
 * the same cache and store lookup as the bearer hook, with the continuation posted back to
 * the caller's loop instead of a request's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident/auth_int.h"

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

typedef struct verify_job {
    store_job sj;
    net_msg msg;
    auth *a;
    net_loop *l;
    void (*done)(void *arg, bool ok, const auth_principal *p, const auth_token_info *ti);
    void *arg;
    auth__verified v;
} verify_job;

static void verify_back(net_loop *l, net_msg *m)
{
    verify_job *j = AUTH_CONTAINER(m, verify_job, msg);
    bool ok = j->sj.rc == 0 && j->v.ok;
    auth_token_info ti = {.expires_at = j->v.expires_at};
    snprintf(ti.family, sizeof ti.family, "%s", j->v.family);
    if (ok)
        auth__cache_put_gen(&j->a->cache, j->v.gen, j->v.hash, j->v.family, &j->v.p,
                            j->v.expires_at, j->v.now);
    j->done(j->arg, ok, ok ? &j->v.p : NULL, ok ? &ti : NULL);
    free(j);
}

static int verify_run(store_tx *tx, store_job *sj)
{
    return auth__token_lookup(tx, &AUTH_CONTAINER(sj, verify_job, sj)->v);
}

/* Store thread: back to the caller's loop. */
static void verify_done(store_job *sj)
{
    verify_job *j = AUTH_CONTAINER(sj, verify_job, sj);
    j->msg.fn = verify_back;
    net_loop_post(j->l, &j->msg);
}

void auth_verify_token(auth *a, net_loop *l, const char *tok, size_t len,
                       void (*done)(void *arg, bool ok, const auth_principal *p,
                                    const auth_token_info *ti),
                       void *arg)
{
    if (!tok || !auth__token_ok(tok, len)) {
        done(arg, false, NULL, NULL);
        return;
    }
    uint8_t hash[STORE_TOKEN_HASH];
    auth__token_hash(tok, len, hash);
    int64_t now = auth__now_ms();
    auth_principal p;
    auth_token_info ti;
    if (auth__cache_get_info(&a->cache, hash, now, &p, &ti)) {
        done(arg, true, &p, &ti);
        return;
    }
    verify_job *j = l && a->o.st ? calloc(1, sizeof *j) : NULL;
    if (!j) {
        done(arg, false, NULL, NULL);
        return;
    }
    j->a = a;
    j->l = l;
    j->done = done;
    j->arg = arg;
    j->v.now = now;
    j->v.gen = auth__cache_gen(&a->cache);
    memcpy(j->v.hash, hash, sizeof hash);
    j->sj.run = verify_run;
    j->sj.done = verify_done;
    store_submit(a->o.st, &j->sj);
}
