/*
 * round — one pass of the notifier: claim due outbox items (leasing them), deliver each
 * through the channel, then record the outcome in a transaction of its own:
 *
 *   sent                  delete the item
 *   temporary failure     store_outbox_retry at now + backoff (doubling, capped at 1 h)
 *   permanent failure,    re-add it as kind "mail.failed" with {error, failed_at} due
 *   or max_attempts hit   never (INT64_MAX), delete the original: kept for the operator,
 *                         never retried
 *
 * The send happens outside any transaction (it may take up to the channel's timeout);
 * the lease covers a crash in between. Logs name the recipient, subject and outcome only.
 *
 * Kinds: "mail" goes through the mail channel, "sms" through the SMS channel (failed ones
 * become "mail.failed" / "sms.failed"). An item with a "nid" belongs to a device
 * notification: the same transaction that records the outcome sets that record's status
 * (sent, failed, or queued again with attempts and last_error); a record trimmed meanwhile
 * is not an error.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "notify/notify_int.h"
#include "store/store_app.h"

#define WHY_MAX 256

enum item_kind { KIND_OTHER, KIND_MAIL, KIND_SMS };

typedef struct item {
    int64_t id;
    int32_t attempts; /* earlier failed attempts */
    enum item_kind kind;
    int64_t nid; /* device notification record, 0: none */
    bson_t *doc;
} item;

typedef struct batch {
    int64_t now;
    item it[NOTIFY_BATCH];
    unsigned n;
} batch;

int64_t notify__backoff(uint32_t backoff_ms, int32_t attempts)
{
    int64_t d = backoff_ms;
    for (int32_t i = 0; i < attempts && d < NOTIFY_BACKOFF_CAP; i++) {
        d *= 2;
    }
    return d < NOTIFY_BACKOFF_CAP ? d : NOTIFY_BACKOFF_CAP;
}

/* ---- claiming ---------------------------------------------------------------------- */

static int claim_cb(void *arg, int64_t id, const char *kind, int32_t attempts, const bson_t *doc)
{
    batch *b = arg;
    bson_t *copy = bson_copy(doc);
    if (!copy)
        return STORE_ENOMEM;
    enum item_kind k = !strcmp(kind, "mail")  ? KIND_MAIL
                       : !strcmp(kind, "sms") ? KIND_SMS
                                              : KIND_OTHER;
    b->it[b->n++] = (item){
        .id = id, .attempts = attempts, .kind = k, .nid = notify__item_nid(copy), .doc = copy};
    return 0;
}

static int claim_fn(store_tx *tx, void *arg)
{
    batch *b = arg;
    return store_outbox_claim(tx, b->now, NOTIFY_LEASE_MS, NOTIFY_BATCH, claim_cb, b);
}

static void batch_free(batch *b)
{
    for (unsigned i = 0; i < b->n; i++) {
        bson_destroy(b->it[i].doc);
    }
    b->n = 0;
}

/* ---- recording outcomes ------------------------------------------------------------ */

typedef struct outcome {
    const item *it;
    int64_t due_at;  /* retry */
    const char *why; /* failed */
    int64_t now;
    int32_t attempts; /* out: after a retry */
} outcome;

/* The device notification's record, if the item has one and it is still kept. */
static int finish_record(store_tx *tx, const outcome *o, const char *status, int64_t sent_at)
{
    if (!o->it->nid)
        return 0;
    int rc =
        store_notification_finish(tx, o->it->nid, status, o->it->attempts + 1, o->why, sent_at);
    return rc == STORE_ENOTFOUND ? 0 : rc;
}

static int delete_fn(store_tx *tx, void *arg)
{
    const outcome *o = arg;
    int rc = store_outbox_delete(tx, o->it->id);
    return rc < 0 ? rc : finish_record(tx, o, "sent", o->now);
}

static int retry_fn(store_tx *tx, void *arg)
{
    outcome *o = arg;
    int rc = store_outbox_retry(tx, o->it->id, o->due_at, &o->attempts);
    return rc < 0 ? rc : finish_record(tx, o, "queued", 0);
}

static int fail_fn(store_tx *tx, void *arg)
{
    const outcome *o = arg;
    bson_t doc;
    int rc = STORE_ENOMEM;
    bson_copy_to(o->it->doc, &doc); /* kind and v are the store's: it replaces them */
    if (!BSON_APPEND_UTF8(&doc, "error", o->why) || !BSON_APPEND_INT64(&doc, "failed_at", o->now) ||
        !BSON_APPEND_INT32(&doc, "attempts", o->it->attempts + 1))
        goto out;
    const char *kind = o->it->kind == KIND_SMS ? "sms.failed" : "mail.failed";
    if ((rc = store_outbox_add(tx, kind, &doc, INT64_MAX, NULL)) == 0 &&
        (rc = store_outbox_delete(tx, o->it->id)) == 0)
        rc = finish_record(tx, o, "failed", 0);
out:
    bson_destroy(&doc);
    return rc;
}

static void count(notify *n, unsigned long long *field)
{
    pthread_mutex_lock(&n->mu);
    (*field)++;
    pthread_mutex_unlock(&n->mu);
}

static void record(notify *n, int (*fn)(store_tx *, void *), outcome *o)
{
    int rc = store_sync(n->st, fn, o);
    if (rc < 0) /* the item comes back when its lease ends */
        log_error("notify: outbox item %lld: %s", (long long)o->it->id, store_strerror(rc));
}

/* ---- one item ---------------------------------------------------------------------- */

/* "mail to X, subject "S"" or "sms to X", for log lines. */
static const char *what(const item *it, const notify_mail *m, char *buf, size_t len)
{
    if (it->kind == KIND_SMS)
        snprintf(buf, len, "sms to %s", m->to ? m->to : "?");
    else
        snprintf(buf, len, "mail to %s, subject \"%s\"", m->to ? m->to : "?",
                 m->subject ? m->subject : "?");
    return buf;
}

static void give_up(notify *n, const item *it, const notify_mail *m, const char *why)
{
    char w[STORE_NAME_MAX + NOTIFY_SUBJECT_MAX + 32];
    outcome o = {.it = it, .why = why, .now = clock_wall_ms()};
    log_error("notify: %s: failed for good after %d attempt(s): %s", what(it, m, w, sizeof w),
              it->attempts + 1, why);
    record(n, fail_fn, &o);
    count(n, &n->stats.failed);
}

static void retry_later(notify *n, const item *it, const notify_mail *m, const char *why)
{
    char w[STORE_NAME_MAX + NOTIFY_SUBJECT_MAX + 32];
    int64_t delay = notify__backoff(n->backoff_ms, it->attempts);
    outcome o = {.it = it, .due_at = clock_wall_ms() + delay, .why = why};
    log_warn("notify: %s: attempt %d failed: %s; retry in %lld ms", what(it, m, w, sizeof w),
             it->attempts + 1, why, (long long)delay);
    record(n, retry_fn, &o);
    if (n->next_due == 0 || o.due_at < n->next_due)
        n->next_due = o.due_at;
    count(n, &n->stats.retried);
}

/* Reads the item for its channel; NULL after giving it up. */
static const notify_channel *channel_for(notify *n, const item *it, notify_mail *m)
{
    *m = (notify_mail){0};
    if (it->kind == KIND_MAIL && notify__mail_read(it->doc, m) == 0)
        return &n->ch;
    if (it->kind == KIND_SMS && notify__sms_read(it->doc, m) == 0)
        return &n->sms;
    give_up(n, it, m, it->kind == KIND_OTHER ? "unknown outbox kind" : "malformed item");
    return NULL;
}

static void deliver(notify *n, const item *it)
{
    notify_mail m;
    char why[WHY_MAX], w[STORE_NAME_MAX + NOTIFY_SUBJECT_MAX + 32];
    notify__take_settings(n);
    const notify_channel *ch = channel_for(n, it, &m);
    if (!ch)
        return;
    int rc = ch->send(ch->ctx, &m, why, sizeof why);
    if (rc == NOTIFY_SENT) {
        outcome o = {.it = it, .now = clock_wall_ms()};
        log_info("notify: %s: sent (%s)", what(it, &m, w, sizeof w), ch->name);
        record(n, delete_fn, &o);
        count(n, &n->stats.sent);
    } else if (rc == NOTIFY_EPERM || (unsigned)it->attempts + 1 >= n->max_attempts) {
        give_up(n, it, &m, why);
    } else {
        retry_later(n, it, &m, why);
    }
}

static bool stopping(notify *n)
{
    pthread_mutex_lock(&n->mu);
    bool s = n->stop;
    pthread_mutex_unlock(&n->mu);
    return s;
}

bool notify__round(notify *n)
{
    batch b = {.now = clock_wall_ms()};
    if (n->next_due && n->next_due <= b.now)
        n->next_due = 0; /* those retries are due: this claim takes them */
    int rc = store_sync(n->st, claim_fn, &b);
    if (rc < 0) {
        log_error("notify: claiming outbox items: %s", store_strerror(rc));
        batch_free(&b);
        return false;
    }
    /* Items left when stopping stay leased and come back after NOTIFY_LEASE_MS. */
    for (unsigned i = 0; i < b.n && !stopping(n); i++) {
        deliver(n, &b.it[i]);
    }
    bool full = b.n == NOTIFY_BATCH;
    batch_free(&b);
    return full;
}
