/*
 * rules_drain — the work queue and the store actions (rules/rules.h).
 *
 * Items are a FIFO under qlock; one drain job at a time takes the whole list (and the
 * rules with drops to record) and runs it in its transaction: per item its telemetry,
 * shadow, notify and alarm actions, then the rule's counters, and a dead letter for a
 * failure. An action that fails on its own terms (a refused recipient, a bad key) is
 * counted; only a store error fails the job (its items are then lost and counted failed).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "notify/devnotify.h"
#include "rules/rules_int.h"
#include "shadows/shadow.h"
#include "shadows/shd_svc.h"
#include "telemetry/tm_parse.h"

#define TEXT_MAX 4096 /* a rendered notify message or alarm details */

void rules__item_free(rules_item *it)
{
    if (!it)
        return;
    rules__unref(it->ru);
    bson_destroy(&it->sel);
    free(it->topic);
    free(it);
}

/* What one item's store actions did. */
typedef struct outcome {
    unsigned ok, failed;
    char err[STORE_RULE_ERR_MAX + 1];
} outcome;

static int failed(outcome *o, const char *what, const char *why)
{
    o->failed++;
    snprintf(o->err, sizeof o->err, "%s: %s", what, why);
    return 0;
}

/* A store error that must fail the whole transaction, as opposed to the action's own. */
static bool fatal(int rc) { return rc < 0 && rc != STORE_EINVAL && rc != STORE_ENOTFOUND; }

static int telemetry_point(store_tx *tx, const rules_item *it, const char *key, bson_iter_t *v,
                           outcome *o)
{
    store_tm_point p = {.device_id = it->dev, .key = key, .ts = it->ts};
    if (!tm_key_ok(key, strlen(key)))
        return failed(o, "telemetry", "bad key");
    if (BSON_ITER_HOLDS_NUMBER(v)) {
        p.type = STORE_TM_NUM;
        p.num = bson_iter_as_double(v);
    } else if (BSON_ITER_HOLDS_BOOL(v)) {
        p.type = STORE_TM_BOOL;
        p.num = bson_iter_bool(v);
    } else if (BSON_ITER_HOLDS_UTF8(v)) {
        p.type = STORE_TM_STR;
        p.str = bson_iter_utf8(v, NULL);
    } else {
        return failed(o, "telemetry", "not a number, boolean or string");
    }
    int out, rc = store_telemetry_add(tx, &p, 0, &out);
    if (fatal(rc))
        return rc;
    if (rc < 0)
        return failed(o, "telemetry", "refused by the store");
    o->ok++;
    return 0;
}

static int act_telemetry(store_tx *tx, const rules_item *it, const rule_action *a, outcome *o)
{
    bson_iter_t i, v;
    int rc = 0;
    if (a->n_keys == 0) {
        if (!bson_iter_init(&i, &it->sel))
            return failed(o, "telemetry", "no selection");
        while (rc == 0 && bson_iter_next(&i))
            rc = telemetry_point(tx, it, bson_iter_key(&i), &i, o);
        return rc;
    }
    for (int k = 0; rc == 0 && k < a->n_keys; k++) {
        if (bson_iter_init(&i, &it->sel) && bson_iter_find_descendant(&i, a->fields[k], &v))
            rc = telemetry_point(tx, it, a->keys[k], &v, o);
        else
            rc = failed(o, "telemetry", "a mapped field is missing");
    }
    return rc;
}

/* An accepted shadow update of a device, told to it on its loop after the commit. */
typedef struct rules_shadow_pub {
    net_msg msg;
    struct rules_shadow_pub *next;
    shd_svc *svc;
    net_loop *loop;
    char dev[STORE_ID_MAX + 1];
    shd_result res;
} rules_shadow_pub;

static void shadow_pub_free(rules_shadow_pub *p)
{
    shd_result_fini(&p->res);
    free(p);
}

/* The device's loop: what shd_svc_publish says after an update (delta, documents). */
static void shadow_pub_run(net_loop *l, net_msg *m)
{
    (void)l;
    rules_shadow_pub *p = (rules_shadow_pub *)(void *)m;
    shd_svc_publish(p->svc, p->dev, "", SHD_UPDATE, &p->res);
    shadow_pub_free(p);
}

static void copy_doc(bson_t *dst, const bson_t *src)
{
    bson_destroy(dst);
    bson_copy_to(src, dst);
}

/* Keeps a copy of @res for drain_done (nothing when the device's loop is unknown). */
static void shadow_pub_keep(rules_drain *j, const rules_item *it, const shd_result *res)
{
    rules_shadow_pub *p;
    if (!j->r->o.shd_svc || !it->loop || !(p = calloc(1, sizeof *p)))
        return;
    shd_result_init(&p->res);
    p->res.code = res->code;
    p->res.has_delta = res->has_delta;
    p->res.has_documents = res->has_documents;
    p->res.version = res->version;
    copy_doc(&p->res.reply, &res->reply);
    copy_doc(&p->res.delta, &res->delta);
    copy_doc(&p->res.documents, &res->documents);
    p->svc = j->r->o.shd_svc;
    p->loop = it->loop;
    p->msg.fn = shadow_pub_run;
    memcpy(p->dev, it->dev, sizeof p->dev);
    p->next = j->pubs;
    j->pubs = p;
}

static int act_shadow(store_tx *tx, rules_drain *j, const rules_item *it, const rule_action *a,
                      outcome *o)
{
    rules *r = j->r;
    if (!r->o.shadow)
        return failed(o, "shadow", "shadows are not available");
    bson_t req = BSON_INITIALIZER, state, sec;
    bson_iter_t i, v;
    BSON_APPEND_DOCUMENT_BEGIN(&req, "state", &state);
    BSON_APPEND_DOCUMENT_BEGIN(&state, a->section, &sec);
    if (a->n_keys == 0)
        bson_concat(&sec, &it->sel);
    for (int k = 0; k < a->n_keys; k++)
        if (bson_iter_init(&i, &it->sel) && bson_iter_find_descendant(&i, a->fields[k], &v))
            bson_append_iter(&sec, a->keys[k], -1, &v);
    bson_append_document_end(&state, &sec);
    bson_append_document_end(&req, &state);
    size_t len;
    char *json = json_text(&req, &len);
    bson_destroy(&req);
    if (!json)
        return failed(o, "shadow", "the update cannot be encoded");
    shd_result res;
    shd_result_init(&res);
    int rc = shd_run(tx, SHD_UPDATE, it->dev, "", (const uint8_t *)json, len, r->o.shadow, &res);
    bson_free(json);
    if (rc >= 0 && res.code != 0) {
        failed(o, "shadow", res.message);
    } else if (rc >= 0) {
        o->ok++;
        shadow_pub_keep(j, it, &res);
    }
    shd_result_fini(&res);
    return fatal(rc) ? rc : 0;
}

/* Records a notification to @to (rate limit of the device, allow-list of the owner). */
static int send_note(store_tx *tx, rules_drain *j, const rules_item *it, const char *to,
                     const char *msg, outcome *o)
{
    rules *r = j->r;
    if (!r->dn)
        return failed(o, "notify", "notifications are not available");
    if (devnotify_recipient_kind(to) < 0 || !devnotify_message_ok(msg, strlen(msg)))
        return failed(o, "notify", "bad recipient or message");
    if (!devnotify_take(r->dn, it->dev, NULL))
        return failed(o, "notify", "rate_limited");
    devnotify_req rq = {.device_id = it->dev,
                        .owner_id = it->ru->owner,
                        .recipient = to,
                        .message = msg,
                        .now = clock_wall_ms()};
    devnotify_result res;
    int rc = devnotify_record(tx, &rq, devnotify_keep(r->dn), &res);
    if (fatal(rc))
        return rc;
    if (rc < 0 || strcmp(res.status, "queued") != 0)
        return failed(o, "notify", rc < 0 ? "no such device" : res.reason);
    j->notified = true;
    o->ok++;
    return 0;
}

static int render(const rules_item *it, const char *t, char *out, size_t cap)
{
    rexpr_ctx c = {.topic = it->topic, .device = it->dev, .ts_ms = it->ts};
    return rule_render(t, &it->sel, &c, out, cap);
}

static int act_alarm(store_tx *tx, rules_drain *j, const rules_item *it, const rule_action *a,
                     outcome *o, char *text)
{
    rule *ru = it->ru;
    int64_t id = 0;
    int rc;
    if (a->kind == RULE_ALARM_CLEAR) {
        rc = store_alarm_clear(tx, ru->owner, it->dev, a->alarm, &id, "rule", clock_wall_ms(),
                               j->r->o.alarm_history);
        if (fatal(rc))
            return rc;
        o->ok++; /* nothing active is no failure */
        return 0;
    }
    bson_t details = BSON_INITIALIZER;
    if (a->payload && render(it, a->payload, text, TEXT_MAX) == 0)
        BSON_APPEND_UTF8(&details, "text", text);
    else
        bson_concat(&details, &it->sel);
    store_alarm al = {.owner_id = ru->owner,
                      .device_id = it->dev,
                      .type = a->alarm,
                      .severity = a->severity,
                      .rule_id = ru->id,
                      .details = &details};
    bool created = false;
    rc = store_alarm_raise(tx, &al, clock_wall_ms(), &id, &created);
    bson_destroy(&details);
    if (fatal(rc))
        return rc;
    if (rc < 0)
        return failed(o, "alarm_raise", "refused by the store");
    o->ok++;
    if (!created || !a->recipient)
        return 0;
    snprintf(text, TEXT_MAX, "Alarm %s (%s) raised on device %s by rule %s", a->alarm, a->severity,
             it->dev, ru->def->name);
    return send_note(tx, j, it, a->recipient, text, o);
}

/* HMAC-SHA256 of @body under @secret, as "sha256=<hex>". */
static void sign(const char *secret, const char *body, size_t len, char out[7 + 64 + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)body, len, mac, &n);
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < n && i < 32; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[7 + 2 * (n < 32 ? n : 32)] = '\0';
}

/* Renders and signs the POST and writes it to the outbox; the worker delivers it. */
static int act_webhook(store_tx *tx, rules_drain *j, const rules_item *it, const rule_action *a,
                       outcome *o, char *text)
{
    char sig[7 + 64 + 1];
    char *json = NULL;
    size_t len = 0;
    const char *body = text;
    if (a->payload) {
        if (render(it, a->payload, text, TEXT_MAX) < 0)
            return failed(o, "webhook", "body too long");
        len = strlen(text);
    } else if ((body = json = json_text(&it->sel, &len)) == NULL) {
        return failed(o, "webhook", "the selection cannot be encoded");
    }
    if (a->secret)
        sign(a->secret, body, len, sig);
    int64_t now = clock_wall_ms();
    store_rule_hook h = {.rule_id = it->ru->id,
                         .url = a->url,
                         .body = body,
                         .body_len = len,
                         .signature = a->secret ? sig : NULL,
                         .timeout_ms = a->timeout_ms,
                         .max_attempts = a->retries + 1,
                         .next_at = now,
                         .created_at = now};
    bool full = false;
    int rc = store_rule_hook_add(tx, &h, j->r->o.outbox_max, &full);
    bson_free(json);
    if (fatal(rc))
        return rc;
    if (rc < 0 || full)
        return failed(o, "webhook", full ? "outbox full" : "refused by the store");
    j->hooked = true; /* counted ok or failed once delivered or dead */
    return 0;
}

static int run_action(store_tx *tx, rules_drain *j, const rules_item *it, const rule_action *a,
                      outcome *o, char *text)
{
    switch (a->kind) {
    case RULE_TELEMETRY:
        return act_telemetry(tx, it, a, o);
    case RULE_SHADOW:
        return act_shadow(tx, j, it, a, o);
    case RULE_NOTIFY:
        if (render(it, a->payload, text, TEXT_MAX) < 0)
            return failed(o, "notify", "message too long");
        return send_note(tx, j, it, a->recipient, text, o);
    case RULE_ALARM_RAISE:
    case RULE_ALARM_CLEAR:
        return act_alarm(tx, j, it, a, o, text);
    case RULE_WEBHOOK:
        return act_webhook(tx, j, it, a, o, text);
    default:
        return 0; /* republish ran on the loop */
    }
}

static int run_item(store_tx *tx, rules_drain *j, const rules_item *it, char *text)
{
    outcome o = {.ok = it->ok, .failed = it->failed};
    snprintf(o.err, sizeof o.err, "%s", it->err);
    const rule_def *d = it->ru->def;
    int rc = 0;
    for (int i = 0; rc == 0 && i < d->n_act; i++)
        rc = run_action(tx, j, it, &d->act[i], &o, text);
    if (rc < 0)
        return rc;
    int64_t now = clock_wall_ms();
    if (o.failed &&
        (rc = store_rule_dead_add(tx, it->ru->id, now, o.err, &it->sel, j->r->o.dead_keep)) < 0 &&
        fatal(rc))
        return rc;
    atomic_fetch_add(&j->r->ok, o.ok - it->ok);
    atomic_fetch_add(&j->r->failed, o.failed - it->failed);
    rc = store_rule_counts_add(tx, it->ru->id, 1, o.ok, o.failed, 0, o.err[0] ? o.err : NULL, now);
    return fatal(rc) ? rc : 0;
}

static int record_drops(store_tx *tx, rules_drain *j, rule *ru)
{
    char why[64];
    snprintf(why, sizeof why, "queue_full: %llu dropped", ru->dropped);
    int64_t now = clock_wall_ms();
    bson_t empty = BSON_INITIALIZER;
    int rc = store_rule_dead_add(tx, ru->id, now, why,
                                 ru->dropped_first ? ru->dropped_first : &empty, j->r->o.dead_keep);
    bson_destroy(&empty);
    if (fatal(rc))
        return rc;
    rc = store_rule_counts_add(tx, ru->id, (int64_t)ru->dropped, 0, 0, (int64_t)ru->dropped,
                               "queue_full", now);
    return fatal(rc) ? rc : 0;
}

static int drain_run(store_tx *tx, store_job *sj)
{
    rules_drain *j = (rules_drain *)(void *)sj;
    char *text = malloc(TEXT_MAX);
    int rc = text ? 0 : STORE_ENOMEM;
    j->notified = j->hooked = false;
    for (rules_shadow_pub *p = j->pubs, *next; p; p = next) { /* a run that was rolled back */
        next = p->next;
        shadow_pub_free(p);
    }
    j->pubs = NULL;
    for (rules_item *it = j->head; rc == 0 && it; it = it->next)
        rc = run_item(tx, j, it, text);
    for (rule *ru = j->drops; rc == 0 && ru; ru = ru->drop_next)
        rc = record_drops(tx, j, ru);
    free(text);
    return rc;
}

/* Under qlock: detaches the queue and the drop list into the job. */
static bool take_list(rules *r)
{
    if (!r->head && !r->drops)
        return false;
    r->job.head = r->head;
    r->job.n = r->queued;
    r->job.drops = r->drops;
    r->head = r->tail = NULL;
    r->drops = NULL;
    r->queued = 0;
    return true;
}

/* After a drain: the drop records are done; the rules' drop state is reset. */
static void release_drops(rules *r, rule *ru)
{
    pthread_mutex_lock(&r->qlock);
    for (rule *next; ru; ru = next) {
        next = ru->drop_next;
        ru->on_drop_list = false;
        ru->drop_next = NULL;
        ru->dropped = 0;
        if (ru->dropped_first)
            bson_destroy(ru->dropped_first);
        ru->dropped_first = NULL;
        pthread_mutex_unlock(&r->qlock);
        rules__unref(ru);
        pthread_mutex_lock(&r->qlock);
    }
    pthread_mutex_unlock(&r->qlock);
}

static void drain_done(store_job *sj)
{
    rules_drain *j = (rules_drain *)(void *)sj;
    rules *r = j->r;
    if (sj->rc < 0)
        atomic_fetch_add(&r->failed, j->n);
    if (sj->rc >= 0 && j->notified && r->dn)
        devnotify_kick(r->dn);
    if (sj->rc >= 0 && j->hooked)
        rules__hook_kick(r);
    for (rules_shadow_pub *p = j->pubs, *next; p; p = next) {
        next = p->next;
        if (sj->rc >= 0)
            net_loop_post(p->loop, &p->msg); /* told only what was committed */
        else
            shadow_pub_free(p);
    }
    j->pubs = NULL;
    for (rules_item *it = j->head, *next; it; it = next) {
        next = it->next;
        rules__item_free(it);
    }
    release_drops(r, j->drops);
    j->head = NULL;
    j->drops = NULL;
    pthread_mutex_lock(&r->qlock);
    bool again = take_list(r);
    r->inflight = again;
    if (!again)
        pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->qlock);
    if (again)
        store_submit(r->st, &j->sj);
}

/* Under qlock: the rule remembers the drop for the next drain. */
static void note_drop(rules *r, rules_item *it)
{
    rule *ru = it->ru;
    ru->dropped++;
    if (!ru->dropped_first && (ru->dropped_first = bson_new()))
        bson_concat(ru->dropped_first, &it->sel);
    if (!ru->on_drop_list) {
        ru->on_drop_list = true;
        atomic_fetch_add(&ru->refs, 1);
        ru->drop_next = r->drops;
        r->drops = ru;
    }
}

bool rules__enqueue(rules *r, rules_item *it)
{
    bool start = false, ok = true;
    pthread_mutex_lock(&r->qlock);
    if (r->queued >= r->o.queue_max) {
        note_drop(r, it);
        ok = false;
    } else {
        if (r->tail)
            r->tail->next = it;
        else
            r->head = it;
        r->tail = it;
        r->queued++;
    }
    if (!r->inflight && take_list(r))
        start = r->inflight = true;
    pthread_mutex_unlock(&r->qlock);
    if (!ok)
        rules__item_free(it);
    if (start) {
        r->job.sj.run = drain_run;
        r->job.sj.done = drain_done;
        store_submit(r->st, &r->job.sj);
    }
    return ok;
}

void rules_flush(rules *r)
{
    pthread_mutex_lock(&r->qlock);
    while (r->inflight)
        pthread_cond_wait(&r->idle, &r->qlock);
    pthread_mutex_unlock(&r->qlock);
}
