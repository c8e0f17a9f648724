/*
 * rl_write — POST /v1/rules, PATCH and DELETE /v1/rules/{id}, POST .../enable|disable
 * (rules.h). The definition is checked and compiled before the store job (create) or in
 * it (update: merged with the stored one); the engine takes the change in done(), after
 * the commit, so a rule it runs is always a stored one.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/rules/rl_int.h"
#include "common/clock.h"
#include "common/json.h"

static int id_new(char out[RL_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[RL_ID_LEN / 2];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    for (size_t i = 0; i < sizeof b; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[RL_ID_LEN] = '\0';
    return 0;
}

/* Compiles o->def, checks its targets; 1 after filling o->err, 0, or a store error. */
static int check_def(store_tx *tx, rl_op *o, const rexpr_limits *lim)
{
    rule_def *d;
    if (rule_def_parse(&o->def, lim, &d, &o->err) < 0)
        return 1;
    o->new_enabled = o->enabled >= 0 ? o->enabled == 1 : d->enabled;
    int rc = rl__check_targets(tx, o->owner, d, &o->err);
    rule_def_free(d);
    return rc;
}

static int answer_rule(void *arg, const store_rule *sr)
{
    rl_op *o = arg;
    o->found = true;
    rl__append_rule(&o->out, sr);
    return 0;
}

static int create_run(store_tx *tx, http_job *hj)
{
    rl_op *o = (rl_op *)(void *)hj;
    const rules_opts *ro = rules_options(api_of(hj->req)->rules);
    uint64_t n;
    int rc = check_def(tx, o, &ro->lim);
    if (rc != 0 || (rc = store_rule_count(tx, o->owner, &n)) < 0)
        return rc > 0 ? 0 : rc;
    if (n >= ro->max_per_user) {
        snprintf(o->err.code, sizeof o->err.code, "quota_exceeded");
        snprintf(o->err.message, sizeof o->err.message, "at most %u rules per user",
                 ro->max_per_user);
        o->err.status = 409;
        return 0;
    }
    if (id_new(o->id) < 0)
        return STORE_EIO;
    store_rule sr = {.id = o->id,
                     .owner_id = o->owner,
                     .enabled = o->new_enabled,
                     .created_at = clock_wall_ms(),
                     .def = &o->def};
    if ((rc = store_rule_add(tx, &sr)) < 0)
        return rc;
    o->status = 201;
    return store_rule_get(tx, o->owner, o->id, answer_rule, o);
}

/* done() of every write: tells the engine, then answers. */
static void write_done(http_job *hj, int rc)
{
    rl_op *o = (rl_op *)(void *)hj;
    struct rules *e = api_of(hj->req)->rules;
    if (rc >= 0 && !o->err.status && o->found) {
        if (o->status == 204)
            rules_remove(e, o->owner, o->id);
        else if (o->has_def)
            rules_put(e, o->owner, o->id, o->new_enabled, &o->def);
    }
    rl__finish(o, rc);
}

void rl__create(http_req *r)
{
    rl_op *o = rl__op_new(r, false);
    if (!o)
        return;
    if (json_body(r, &o->def, &o->err) < 0) {
        json_respond_err(r, &o->err);
        rl__op_free(o);
        return;
    }
    o->has_def = true;
    http_job_submit(&o->j, r, create_run, write_done);
}

/* The stored definition, to merge or re-install. */
static int take_def(void *arg, const store_rule *sr)
{
    rl_op *o = arg;
    o->found = true;
    bson_copy_to(sr->def, &o->def);
    o->has_def = true;
    if (o->enabled < 0)
        o->enabled = sr->enabled;
    return 0;
}

/* The stored definition with the body's top-level fields replacing its own. */
static void merge(rl_op *o)
{
    bson_t m = BSON_INITIALIZER;
    bson_iter_t it;
    if (bson_iter_init(&it, &o->def))
        while (bson_iter_next(&it))
            if (!bson_has_field(&o->body, bson_iter_key(&it)))
                bson_append_iter(&m, bson_iter_key(&it), -1, &it);
    bson_concat(&m, &o->body);
    bson_destroy(&o->def);
    bson_copy_to(&m, &o->def);
    bson_destroy(&m);
}

static int update_run(store_tx *tx, http_job *hj)
{
    rl_op *o = (rl_op *)(void *)hj;
    const rules_opts *ro = rules_options(api_of(hj->req)->rules);
    int rc = store_rule_get(tx, o->owner, o->id, take_def, o);
    if (rc < 0)
        return rc;
    if (o->has_body) {
        if (bson_has_field(&o->body, "enabled"))
            o->enabled = -1; /* the body says */
        merge(o);
    }
    if ((rc = check_def(tx, o, &ro->lim)) != 0)
        return rc > 0 ? 0 : rc;
    if ((rc = store_rule_update(tx, o->owner, o->id, o->new_enabled, &o->def, clock_wall_ms())) < 0)
        return rc;
    o->found = false;
    bson_reinit(&o->out);
    return store_rule_get(tx, o->owner, o->id, answer_rule, o);
}

void rl__update(http_req *r)
{
    rl_op *o = rl__op_new(r, true);
    if (!o)
        return;
    if (json_body(r, &o->body, &o->err) < 0) {
        json_respond_err(r, &o->err);
        rl__op_free(o);
        return;
    }
    o->has_body = true;
    http_job_submit(&o->j, r, update_run, write_done);
}

static void set_enabled(http_req *r, int on)
{
    rl_op *o = rl__op_new(r, true);
    if (!o)
        return;
    o->enabled = on;
    http_job_submit(&o->j, r, update_run, write_done);
}

void rl__enable(http_req *r) { set_enabled(r, 1); }

void rl__disable(http_req *r) { set_enabled(r, 0); }

static int delete_run(store_tx *tx, http_job *hj)
{
    rl_op *o = (rl_op *)(void *)hj;
    int rc = store_rule_delete(tx, o->owner, o->id);
    o->found = rc == 0;
    o->status = 204;
    return rc;
}

void rl__delete(http_req *r)
{
    rl_op *o = rl__op_new(r, true);
    if (o)
        http_job_submit(&o->j, r, delete_run, write_done);
}
