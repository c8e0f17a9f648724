/*
 * rl_read — GET /v1/rules, /v1/rules/{id}, /v1/rules/{id}/deadletters (rules.h).
 */
#include <stdlib.h>
#include <string.h>

#include "api/rules/rl_int.h"

static int one(void *arg, const store_rule *sr)
{
    rl_op *o = arg;
    o->found = true;
    rl__append_rule(&o->out, sr);
    return 0;
}

static int get_run(store_tx *tx, http_job *hj)
{
    rl_op *o = (rl_op *)(void *)hj;
    return store_rule_get(tx, o->owner, o->id, one, o);
}

static void done(http_job *hj, int rc) { rl__finish((rl_op *)(void *)hj, rc); }

void rl__get(http_req *r)
{
    rl_op *o = rl__op_new(r, true);
    if (o)
        http_job_submit(&o->j, r, get_run, done);
}

typedef struct list_ctx {
    bson_t *arr;
    unsigned n;
} list_ctx;

static int list_one(void *arg, const store_rule *sr)
{
    list_ctx *c = arg;
    bson_t d;
    char k[16];
    const char *key;
    bson_uint32_to_string(c->n++, &key, k, sizeof k);
    BSON_APPEND_DOCUMENT_BEGIN(c->arr, key, &d);
    rl__append_rule(&d, sr);
    bson_append_document_end(c->arr, &d);
    return 0;
}

static int list_run(store_tx *tx, http_job *hj)
{
    rl_op *o = (rl_op *)(void *)hj;
    bson_t arr;
    list_ctx c = {.arr = &arr};
    o->found = true;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "rules", &arr);
    int rc = store_rule_list(tx, o->owner, list_one, &c);
    bson_append_array_end(&o->out, &arr);
    return rc;
}

void rl__list(http_req *r)
{
    rl_op *o = rl__op_new(r, false);
    if (o)
        http_job_submit(&o->j, r, list_run, done);
}

typedef struct dead_ctx {
    bson_t arr;
    unsigned n;
} dead_ctx;

static int dead_one(void *arg, const store_rule_dead *d)
{
    dead_ctx *c = arg;
    bson_t e;
    char k[16];
    const char *key;
    bson_uint32_to_string(c->n++, &key, k, sizeof k);
    BSON_APPEND_DOCUMENT_BEGIN(&c->arr, key, &e);
    BSON_APPEND_INT64(&e, "id", d->id);
    BSON_APPEND_INT64(&e, "at", d->at);
    BSON_APPEND_UTF8(&e, "reason", d->reason);
    BSON_APPEND_DOCUMENT(&e, "message", d->msg);
    bson_append_document_end(&c->arr, &e);
    return 0;
}

static int found(void *arg, const store_rule *sr)
{
    (void)sr;
    ((rl_op *)arg)->found = true;
    return 0;
}

static int dead_run(store_tx *tx, http_job *hj)
{
    rl_op *o = (rl_op *)(void *)hj;
    int rc = store_rule_get(tx, o->owner, o->id, found, o);
    if (rc < 0)
        return rc;
    dead_ctx c = {.n = 0};
    BSON_APPEND_ARRAY_BEGIN(&o->out, "deadletters", &c.arr);
    rc = store_rule_dead_list(tx, o->id, o->limit, dead_one, &c);
    bson_append_array_end(&o->out, &c.arr);
    return rc;
}

void rl__dead(http_req *r)
{
    rl_op *o = rl__op_new(r, true);
    int64_t limit;
    if (!o)
        return;
    if (http_query_int(r, "limit", 1, 1000, 100, NULL, &limit) < 0) {
        rl__op_free(o);
        return;
    }
    o->limit = (unsigned)limit;
    http_job_submit(&o->j, r, dead_run, done);
}
