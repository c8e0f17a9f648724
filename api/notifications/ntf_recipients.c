/*
 * ntf_recipients — GET/PUT /v1/me/notification-recipients: the caller's allow-list.
 *
 *   GET  → 200 {recipients: [sorted], always_allowed: [own e-mail when confirmed]}
 *   PUT  {recipients: [...]} → the same view. Each entry an e-mail address or an E.164
 *        number (devnotify_recipient_kind); the list replaces the old one ([] clears it).
 *        More entries than the max-recipients-per-user quota → 429 quota_exceeded
 *        (api/quota.h), checked before anything is stored: the list is the whole truth,
 *        so its length is the count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/notifications/ntf_int.h"
#include "notify/devnotify.h"

typedef struct rcpt_op {
    http_job j;
    char user[STORE_ID_MAX + 1];
    const char **list; /* PUT: n entries */
    size_t n;
    bson_t body; /* PUT: the list points into it */
    bool has_body;
    bson_t out, arr;
    unsigned i;
} rcpt_op;

static void append_str(bson_t *arr, unsigned *i, const char *s)
{
    char key[16];
    const char *k;
    bson_uint32_to_string((*i)++, &k, key, sizeof key);
    bson_append_utf8(arr, k, -1, s, -1);
}

static int add_one(void *arg, const char *recipient)
{
    rcpt_op *o = arg;
    append_str(&o->arr, &o->i, recipient);
    return 0;
}

static bool user_confirmed(const bson_t *u)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, u, "confirmed") && BSON_ITER_HOLDS_BOOL(&it) &&
           bson_iter_bool(&it);
}

/* always_allowed: the caller's e-mail address once confirmed. */
static int add_own(store_tx *tx, rcpt_op *o)
{
    bson_t *u = NULL, arr;
    unsigned i = 0;
    int rc = store_user_get(tx, o->user, &u);
    if (rc < 0)
        return rc;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "always_allowed", &arr);
    const char *email = json_doc_str(u, "email");
    if (email && user_confirmed(u))
        append_str(&arr, &i, email);
    bson_append_array_end(&o->out, &arr);
    bson_destroy(u);
    return 0;
}

static int view_run(store_tx *tx, http_job *hj)
{
    rcpt_op *o = NTF_CONTAINER(hj, rcpt_op, j);
    int rc;
    if (o->has_body && (rc = store_recipients_set(tx, o->user, o->list, o->n)) < 0)
        return rc;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "recipients", &o->arr);
    rc = store_recipients_each(tx, o->user, add_one, o);
    bson_append_array_end(&o->out, &o->arr);
    return rc < 0 ? rc : add_own(tx, o);
}

static void op_free(rcpt_op *o)
{
    bson_destroy(&o->out);
    if (o->has_body)
        bson_destroy(&o->body);
    free(o->list);
    free(o);
}

static void view_done(http_job *hj, int rc)
{
    rcpt_op *o = NTF_CONTAINER(hj, rcpt_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "notification recipients");
    else
        http_respond_json(hj->req, 200, &o->out);
    op_free(o);
}

static rcpt_op *op_new(http_req *r)
{
    rcpt_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "notification recipients");
        return NULL;
    }
    snprintf(o->user, sizeof o->user, "%s", http_req_principal(r)->user_id);
    bson_init(&o->out);
    return o;
}

void ntf__recipients_get(http_req *r)
{
    rcpt_op *o = op_new(r);
    if (o)
        http_job_submit(&o->j, r, view_run, view_done);
}

/* Counts the array's entries against the quota and sizes o->list; <0 after answering. */
static int size_list(http_req *r, rcpt_op *o, bson_iter_t *arr)
{
    bson_iter_t it;
    size_t n = 0;
    uint32_t quota = api_of(r)->quota.recipients;
    if (!bson_iter_recurse(arr, &it)) {
        http_respond_field(r, "recipients", "an array expected");
        return -1;
    }
    while (bson_iter_next(&it))
        n++;
    if (n > quota) {
        http_respond_quota(r, HTTP_QUOTA_RECIPIENTS, quota);
        return -1;
    }
    if (n && !(o->list = calloc(n, sizeof *o->list))) {
        http_job_respond_fail(r, STORE_ENOMEM, "notification recipients");
        return -1;
    }
    return 0;
}

/* The array's entries into o->list; <0 after answering 400 or 429. */
static int take_list(http_req *r, rcpt_op *o, bson_iter_t *arr)
{
    bson_iter_t it;
    if (size_list(r, o, arr) < 0 || !bson_iter_recurse(arr, &it))
        return -1;
    while (bson_iter_next(&it)) {
        uint32_t len = 0;
        const char *s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, &len) : NULL;
        if (!s || strlen(s) != len || devnotify_recipient_kind(s) < 0) {
            http_respond_field(r, "recipients",
                               "each must be an e-mail address or an E.164 phone number "
                               "(+ and 8 to 15 digits)");
            return -1;
        }
        o->list[o->n++] = s;
    }
    return 0;
}

void ntf__recipients_put(http_req *r)
{
    rcpt_op *o = op_new(r);
    if (!o)
        return;
    bson_iter_t arr;
    json_field f[] = {{"recipients", JSON_ARR, JSON_REQUIRED, .doc = &arr}};
    json_err e;
    if (json_body(r, &o->body, &e) < 0) {
        json_respond_err(r, &e);
        goto fail;
    }
    o->has_body = true;
    if (json_decode(&o->body, f, 1, &e) < 0) {
        json_respond_err(r, &e);
        goto fail;
    }
    if (take_list(r, o, &arr) < 0)
        goto fail;
    http_job_submit(&o->j, r, view_run, view_done);
    return;
fail:
    op_free(o);
}
