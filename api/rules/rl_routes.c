/*
 * rl_routes — the route table of api/rules (rules.h) and what its handlers share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/rules/rl_int.h"
#include "api/rules/rules.h"
#include "common/json.h"

static const http_route routes[] = {
    {HTTP_POST, "/v1/rules", rl__create, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/rules", rl__list, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/rules/test", rl__test, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/rules/{id}", rl__get, HTTP_AUTH_USER},
    {HTTP_PATCH, "/v1/rules/{id}", rl__update, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/rules/{id}", rl__delete, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/rules/{id}/enable", rl__enable, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/rules/{id}/disable", rl__disable, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/rules/{id}/deadletters", rl__dead, HTTP_AUTH_USER},
};

int rules_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}

struct rules *rl__engine(http_req *r)
{
    struct rules *e = api_of(r)->rules;
    if (!e)
        http_respond_error(r, 503, "unavailable", "rules are not available");
    return e;
}

static bool copy_id(char *dst, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > STORE_ID_MAX)
        return false;
    memcpy(dst, v, n + 1);
    return true;
}

rl_op *rl__op_new(http_req *r, bool with_id)
{
    if (!rl__engine(r))
        return NULL;
    rl_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "rule");
        return NULL;
    }
    o->enabled = -1;
    bson_init(&o->out);
    if (!copy_id(o->owner, http_req_principal(r)->user_id) ||
        (with_id && !copy_id(o->id, http_req_param(r, "id")))) {
        http_respond_error(r, 404, "not_found", "no such rule");
        rl__op_free(o);
        return NULL;
    }
    return o;
}

void rl__op_free(rl_op *o)
{
    if (o->has_body)
        bson_destroy(&o->body);
    if (o->has_def)
        bson_destroy(&o->def);
    bson_destroy(&o->out);
    free(o);
}

/* The actions with every webhook secret replaced by "***" (secrets are never shown). */
static void append_actions(bson_t *doc, bson_iter_t *it)
{
    bson_iter_t arr, act;
    bson_t out, one;
    unsigned n = 0;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr)) {
        bson_append_iter(doc, "actions", -1, it);
        return;
    }
    BSON_APPEND_ARRAY_BEGIN(doc, "actions", &out);
    while (bson_iter_next(&arr)) {
        char k[16];
        const char *key;
        bson_uint32_to_string(n++, &key, k, sizeof k);
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &act)) {
            bson_append_iter(&out, key, -1, &arr);
            continue;
        }
        BSON_APPEND_DOCUMENT_BEGIN(&out, key, &one);
        while (bson_iter_next(&act)) {
            if (strcmp(bson_iter_key(&act), "secret") == 0)
                BSON_APPEND_UTF8(&one, "secret", "***");
            else
                bson_append_iter(&one, bson_iter_key(&act), -1, &act);
        }
        bson_append_document_end(&out, &one);
    }
    bson_append_array_end(doc, &out);
}

void rl__append_rule(bson_t *doc, const store_rule *sr)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, sr->def))
        return;
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "actions") == 0)
            append_actions(doc, &it);
        else if (strcmp(bson_iter_key(&it), "enabled") != 0)
            bson_append_iter(doc, bson_iter_key(&it), -1, &it);
    }
    BSON_APPEND_UTF8(doc, "id", sr->id);
    BSON_APPEND_BOOL(doc, "enabled", sr->enabled);
    BSON_APPEND_INT64(doc, "created_at", sr->created_at);
    BSON_APPEND_INT64(doc, "updated_at", sr->updated_at);
    bson_t c;
    BSON_APPEND_DOCUMENT_BEGIN(doc, "counters", &c);
    BSON_APPEND_INT64(&c, "matched", sr->matched);
    BSON_APPEND_INT64(&c, "actions_ok", sr->actions_ok);
    BSON_APPEND_INT64(&c, "actions_failed", sr->actions_failed);
    BSON_APPEND_INT64(&c, "dropped", sr->dropped);
    if (sr->last_error)
        BSON_APPEND_UTF8(&c, "last_error", sr->last_error);
    else
        BSON_APPEND_NULL(&c, "last_error");
    BSON_APPEND_INT64(&c, "last_error_at", sr->last_error_at);
    bson_append_document_end(doc, &c);
}

typedef struct target_check {
    store_tx *tx;
    const char *owner;
    json_err *e;
    int rc;
} target_check;

static void check_one(void *arg, const char *dev)
{
    target_check *t = arg;
    bson_t *doc = NULL;
    if (t->rc != 0)
        return;
    int rc = *dev && strlen(dev) <= STORE_ID_MAX ? store_device_get(t->tx, t->owner, dev, &doc)
                                                 : STORE_ENOTFOUND;
    if (doc)
        bson_destroy(doc);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL || rc == STORE_ECORRUPT) {
        snprintf(t->e->code, sizeof t->e->code, "invalid_field");
        snprintf(t->e->field, sizeof t->e->field, "actions");
        snprintf(t->e->message, sizeof t->e->message,
                 "actions: republish to %.64s: not one of your devices", dev);
        t->e->status = 400;
        t->rc = 1;
    } else if (rc < 0) {
        t->rc = rc;
    }
}

int rl__check_targets(store_tx *tx, const char *owner, const rule_def *d, json_err *e)
{
    target_check t = {.tx = tx, .owner = owner, .e = e};
    rule_def_targets(d, check_one, &t);
    return t.rc;
}

void rl__finish(rl_op *o, int rc)
{
    http_req *r = o->j.req;
    if (rc < 0 && rc != STORE_ENOTFOUND)
        http_job_respond_fail(r, rc, "rule");
    else if (o->err.status)
        json_respond_err(r, &o->err);
    else if (rc == STORE_ENOTFOUND || !o->found)
        http_respond_error(r, 404, "not_found", "no such rule");
    else
        http_respond_json(r, o->status ? o->status : 200, o->status == 204 ? NULL : &o->out);
    rl__op_free(o);
}
