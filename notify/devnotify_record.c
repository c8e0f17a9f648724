/*
 * devnotify_record — inside the store transaction: is the recipient allowed for the
 * device's owner, record the notification, and queue its outbox item (devnotify.h).
 *
 * Allowed recipients: the owner's own e-mail address once confirmed (compared ignoring
 * ASCII case), and whatever is on the owner's allow-list (store_recipients_*). The record
 * and the outbox item commit together, so the owner's list never shows a queued
 * notification that will not be sent, nor is anything sent that is not listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify/devnotify.h"

static const char *doc_str(const bson_t *d, const char *key)
{
    bson_iter_t it;
    if (!d || !bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return NULL;
    return bson_iter_utf8(&it, NULL);
}

static bool doc_true(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return d && bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_BOOL(&it) &&
           bson_iter_bool(&it);
}

/* The owner's confirmed address, or on the allow-list. 0 (allowed), STORE_ENOTFOUND, or
 * another STORE_E*. */
static int allowed(store_tx *tx, const char *owner, const char *recipient)
{
    bson_t *u = NULL;
    int rc = store_user_get(tx, owner, &u);
    if (rc < 0 && rc != STORE_ENOTFOUND && rc != STORE_ECORRUPT)
        return rc;
    const char *email = doc_str(u, "email");
    bool own = email && doc_true(u, "confirmed") && !strcasecmp(email, recipient);
    if (u)
        bson_destroy(u);
    return own ? 0 : store_recipient_allowed(tx, owner, recipient);
}

static int queue_item(store_tx *tx, const devnotify_req *rq, const bson_t *dev, int64_t id,
                      int kind)
{
    const char *name = doc_str(dev, "name");
    char subject[256], *text = NULL;
    snprintf(subject, sizeof subject, "Notification from device %s", name ? name : rq->device_id);
    if (kind == DEVNOTIFY_SMS)
        return notify_device_add(tx, id, rq->recipient, NULL, rq->message, rq->now);
    const char *fmt = "%s\n\n-- \nSent by your device %s (%s) through iotcloud.\n";
    int n = snprintf(NULL, 0, fmt, rq->message, name ? name : "", rq->device_id);
    if (n < 0 || !(text = malloc((size_t)n + 1)))
        return STORE_ENOMEM;
    snprintf(text, (size_t)n + 1, fmt, rq->message, name ? name : "", rq->device_id);
    int rc = notify_device_add(tx, id, rq->recipient, subject, text, rq->now);
    free(text);
    return rc;
}

/* Why the request is refused (static text), or NULL when it may be sent. */
static int decide(store_tx *tx, const devnotify_req *rq, const char *owner, int kind,
                  const char **reason)
{
    *reason = rq->reason;
    if (*reason)
        return 0;
    if (kind < 0 || !rq->message || !devnotify_message_ok(rq->message, strlen(rq->message))) {
        *reason = "invalid_payload";
        return 0;
    }
    int rc = allowed(tx, owner, rq->recipient);
    if (rc == STORE_ENOTFOUND)
        *reason = "recipient_not_allowed";
    return rc == STORE_ENOTFOUND ? 0 : rc;
}

int devnotify_record(store_tx *tx, const devnotify_req *rq, unsigned keep, devnotify_result *out)
{
    bson_t *dev = NULL;
    int rc = rq->owner_id ? store_device_get(tx, rq->owner_id, rq->device_id, &dev)
                          : store_device_get_any(tx, rq->device_id, &dev);
    const char *owner = doc_str(dev, "owner_id");
    if (rc < 0 || !owner)
        goto out;
    int kind = rq->recipient ? devnotify_recipient_kind(rq->recipient) : -1;
    const char *reason;
    if ((rc = decide(tx, rq, owner, kind, &reason)) < 0)
        goto out;
    store_notification n = {
        .device_id = rq->device_id,
        .owner_id = owner,
        .channel = kind == DEVNOTIFY_SMS    ? "sms"
                   : kind == DEVNOTIFY_MAIL ? "mail"
                                            : "none",
        .recipient = kind < 0 ? "" : rq->recipient,
        .status = reason ? "refused" : "queued",
        .reason = reason,
        .rid = rq->rid,
        .created_at = rq->now,
    };
    *out = (devnotify_result){.status = n.status, .reason = reason};
    if ((rc = store_notification_add(tx, &n, keep, &out->id)) == 0 && !reason)
        rc = queue_item(tx, rq, dev, out->id, kind);
out:
    if (dev)
        bson_destroy(dev);
    return rc < 0 ? rc : owner ? 0 : STORE_ECORRUPT;
}
