/*
 * ntf_post — POST /v1/devices/{id}/notifications: the owner asks for a notification on the
 * device's behalf. The same rules as a device's trigger_notification (devnotify.h): the
 * device's rate limit, the recipient checks, the record and the outbox item in one job.
 *
 *   {recipient, message, rid?} → 202 {id, status: "queued"}
 *   400 invalid body; 403 recipient_not_allowed (recorded as refused); 404 not the
 *   caller's device; 429 rate_limited (Retry-After); 503 without the notifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "api/notifications/ntf_int.h"
#include "ident/devdir.h"
#include "notify/devnotify.h"

typedef struct post_op {
    http_job j;
    devnotify *dn;
    char user[STORE_ID_MAX + 1];
    char dev[STORE_ID_MAX + 1];
    bson_t body;
    const char *recipient, *message, *rid;
    int64_t now;
    devnotify_result res;
} post_op;

static int post_run(store_tx *tx, http_job *hj)
{
    post_op *o = NTF_CONTAINER(hj, post_op, j);
    devnotify_req rq = {
        .device_id = o->dev,
        .owner_id = o->user,
        .recipient = o->recipient,
        .message = o->message,
        .rid = o->rid,
        .now = o->now,
    };
    return devnotify_record(tx, &rq, devnotify_keep(o->dn), &o->res);
}

static void post_done(http_job *hj, int rc)
{
    post_op *o = NTF_CONTAINER(hj, post_op, j);
    if (rc == STORE_ENOTFOUND) {
        ntf__respond_404(hj->req);
    } else if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "notification");
    } else if (strcmp(o->res.status, "queued") != 0) {
        http_respond_error(hj->req, 403, o->res.reason,
                           "the recipient is neither your confirmed e-mail address nor on "
                           "your notification-recipients list");
    } else {
        devnotify_kick(o->dn);
        bson_t out = BSON_INITIALIZER;
        BSON_APPEND_INT64(&out, "id", o->res.id);
        BSON_APPEND_UTF8(&out, "status", o->res.status);
        http_respond_json(hj->req, 202, &out);
        bson_destroy(&out);
    }
    bson_destroy(&o->body);
    free(o);
}

static int check_fields(http_req *r, post_op *o, size_t mlen)
{
    if (devnotify_recipient_kind(o->recipient) < 0) {
        http_respond_field(r, "recipient",
                           "an e-mail address or an E.164 phone number (+ and 8 to 15 digits)");
        return -1;
    }
    if (!devnotify_message_ok(o->message, mlen)) {
        http_respond_field(r, "message", "1 to 1000 characters of text without control characters");
        return -1;
    }
    return 0;
}

/* Parses the body; <0 after answering. */
static int take_body(http_req *r, post_op *o)
{
    size_t mlen = 0;
    json_field f[] = {
        {"recipient", JSON_STR, JSON_REQUIRED, .max_len = STORE_RECIPIENT_MAX,
         .str = &o->recipient},
        {"message", JSON_STR, JSON_REQUIRED, .max_len = 4 * DEVNOTIFY_MESSAGE_MAX,
         .str = &o->message, .len = &mlen},
        {"rid", JSON_STR, JSON_OPTIONAL, .max_len = DEVNOTIFY_RID_MAX, .str = &o->rid},
    };
    json_err e;
    if (json_body(r, &o->body, &e) < 0) {
        json_respond_err(r, &e);
        return -1;
    }
    if (json_decode(&o->body, f, sizeof f / sizeof f[0], &e) < 0) {
        json_respond_err(r, &e);
        bson_destroy(&o->body);
        return -1;
    }
    if (o->rid && !o->rid[0])
        o->rid = NULL;
    if (check_fields(r, o, mlen) < 0) {
        bson_destroy(&o->body);
        return -1;
    }
    return 0;
}

void ntf__post(http_req *r)
{
    api *a = api_of(r);
    if (!a->dn) {
        http_respond_error(r, 503, "unavailable", "device notifications are not enabled");
        return;
    }
    post_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "notification");
        return;
    }
    o->dn = a->dn;
    if (ntf__device_param(r, o->dev) < 0 || take_body(r, o) < 0) {
        free(o);
        return;
    }
    /* Another user's device must not spend this device's tokens: ownership first. */
    const char *user = http_req_principal(r)->user_id;
    if (a->dd && !devdir_owned_by(a->dd, (const uint8_t *)o->dev, strlen(o->dev), user)) {
        ntf__respond_404(r);
        bson_destroy(&o->body);
        free(o);
        return;
    }
    if (!devnotify_take(o->dn, o->dev, NULL)) {
        http_req_add_header(r, "Retry-After", "60");
        http_respond_error(r, 429, "rate_limited", "too many notifications for this device");
        bson_destroy(&o->body);
        free(o);
        return;
    }
    snprintf(o->user, sizeof o->user, "%s", user);
    o->now = clock_wall_ms();
    http_job_submit(&o->j, r, post_run, post_done);
}
