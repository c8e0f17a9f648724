/*
 * rl_int — private to api/rules/: the request state its handlers share.
 */
#ifndef IOT_API_RULES_RL_INT_H
#define IOT_API_RULES_RL_INT_H

#include <bson/bson.h>

#include "api/api.h"
#include "api/job.h"
#include "rules/rules.h"
#include "store/store_app.h"

#define RL_ID_LEN 32 /* hex characters of a rule id */

/* One request about the caller's rules. */
typedef struct rl_op {
    http_job j;
    char owner[STORE_ID_MAX + 1];
    char id[STORE_ID_MAX + 1];
    bson_t body; /* the request's JSON (POST, PATCH), when has_body */
    bool has_body;
    int enabled; /* enable/disable: 1/0; else -1 */
    bson_t def;  /* the definition written (has_def) */
    bool has_def;
    bool new_enabled;
    bool found;
    json_err err; /* a refusal decided in the store job (err.status != 0) */
    int status;   /* the answer's status on success */
    bson_t out;   /* the answer */
    unsigned limit;
} rl_op;

/* A new op for @r (owner from the principal, {id} when the route has one); NULL after
 * answering (404 for a bad id, 500 for memory). */
rl_op *rl__op_new(http_req *r, bool with_id);
void rl__op_free(rl_op *o);
/* Appends rule @sr as the API shows it to @doc. */
void rl__append_rule(bson_t *doc, const store_rule *sr);
/* Store thread: whether every republish target of @d is a device of @owner; when not, 
 * @e says which. */
int rl__check_targets(store_tx *tx, const char *owner, const rule_def *d, json_err *e);
/* done(): answers @o (store error, refusal, 404, or o->out), and frees it. */
void rl__finish(rl_op *o, int rc);
struct rules *rl__engine(http_req *r);

void rl__create(http_req *r);
void rl__update(http_req *r);
void rl__delete(http_req *r);
void rl__enable(http_req *r);
void rl__disable(http_req *r);
void rl__list(http_req *r);
void rl__get(http_req *r);
void rl__dead(http_req *r);
void rl__test(http_req *r);

#endif
