/*
 * auth_admin — GET /v1/admin/users?limit=&after= (administrators; the route requires
 * HTTP_AUTH_ADMIN, so the hook has answered 403 to anyone else). Pages by user id:
 * {users: [public views], next: the id to pass as `after`, or null on the last page}.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "api/accounts/accounts_int.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX     200

typedef struct admin_op {
    http_job j;
    char after[STORE_ID_MAX + 1];
    unsigned limit, i;
    bson_t out, arr;
} admin_op;

static int add_user(void *arg, const bson_t *doc)
{
    admin_op *o = arg;
    char key[16];
    const char *k;
    bson_t one;
    bson_uint32_to_string(o->i++, &k, key, sizeof key);
    bson_append_document_begin(&o->arr, k, -1, &one);
    auth__user_view(doc, &one);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int admin_run(store_tx *tx, http_job *hj)
{
    admin_op *o = AUTH_CONTAINER(hj, admin_op, j);
    store_page pg;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "users", &o->arr);
    int rc = store_user_list(tx, o->after[0] ? o->after : NULL, o->limit, add_user, o, &pg);
    bson_append_array_end(&o->out, &o->arr);
    if (rc < 0)
        return rc;
    if (pg.more)
        BSON_APPEND_UTF8(&o->out, "next", pg.last_id);
    else
        BSON_APPEND_NULL(&o->out, "next");
    return 0;
}

static void admin_done(http_job *hj, int rc)
{
    admin_op *o = AUTH_CONTAINER(hj, admin_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "auth");
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

void auth__admin_users(http_req *r)
{
    const char *after = http_req_query(r, "after");
    int64_t limit;
    if (http_query_int(r, "limit", 1, PAGE_MAX, PAGE_DEFAULT, NULL, &limit) < 0)
        return;
    if (after && (!after[0] || strlen(after) > STORE_ID_MAX)) {
        http_respond_field(r, "after", "a user id expected");
        return;
    }
    admin_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "auth");
        return;
    }
    o->limit = (unsigned)limit;
    snprintf(o->after, sizeof o->after, "%s", after ? after : "");
    bson_init(&o->out);
    http_job_submit(&o->j, r, admin_run, admin_done);
}
