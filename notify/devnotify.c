/*
 * devnotify — the device path of notifications (devnotify.h): the hook the broker calls on
 * the publishing device's loop, the per-device rate limit, and the store job that records
 * the request (devnotify_record.c) and kicks the notifier.
 *
 * Nothing here blocks the loop: the hook checks the rate limit (one mutex, one hash
 * lookup), parses at most the message's own bytes and submits a job; the job's completion
 * runs on the store thread (it frees the job and kicks the notifier, a signalled condition
 * variable), so no loop has to be woken for it.
 */
#include "notify/devnotify.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/json.h"
#include "ident/devdir.h"
#include "notify/ratelimit.h"

#define DEF_RATE        10
#define DEF_BURST       5
#define DEF_KEEP        100
#define DEF_MAX_DEVICES 100000
#define MESSAGE_BYTES   (4 * DEVNOTIFY_MESSAGE_MAX) /* longest UTF-8 of the longest message */
#define PAYLOAD_MAX     (MESSAGE_BYTES + 1024)      /* a larger payload is refused unparsed */

struct devnotify {
    store *st;
    struct devdir *dd;
    ratelimit *rl;
    unsigned keep;
    pthread_mutex_t mu; /* guards nt */
    notify *nt;         /* NULL once detached */
};

typedef struct dn_job {
    store_job sj;
    devnotify *dn;
    char dev[STORE_ID_MAX + 1];
    char recipient[STORE_RECIPIENT_MAX + 1];
    char rid[DEVNOTIFY_RID_MAX + 1];
    const char *reason; /* static */
    int64_t now;
    devnotify_result res;
    char message[]; /* NUL-terminated */
} dn_job;

devnotify *devnotify_new(store *st, notify *nt, struct devdir *dd, const devnotify_opts *o)
{
    devnotify_opts d = o ? *o : (devnotify_opts){0};
    devnotify *dn = calloc(1, sizeof *dn);
    if (!dn)
        return NULL;
    dn->rl =
        ratelimit_new(d.rate_per_min ? d.rate_per_min : DEF_RATE, d.burst ? d.burst : DEF_BURST,
                      d.max_devices ? d.max_devices : DEF_MAX_DEVICES);
    if (!dn->rl || pthread_mutex_init(&dn->mu, NULL) != 0) {
        ratelimit_free(dn->rl);
        free(dn);
        return NULL;
    }
    dn->st = st;
    dn->nt = nt;
    dn->dd = dd;
    dn->keep = d.keep_per_device ? d.keep_per_device : DEF_KEEP;
    return dn;
}

void devnotify_detach(devnotify *dn)
{
    if (!dn)
        return;
    pthread_mutex_lock(&dn->mu);
    dn->nt = NULL;
    pthread_mutex_unlock(&dn->mu);
}

void devnotify_free(devnotify *dn)
{
    if (!dn)
        return;
    ratelimit_free(dn->rl);
    pthread_mutex_destroy(&dn->mu);
    free(dn);
}

void devnotify_kick(devnotify *dn)
{
    pthread_mutex_lock(&dn->mu);
    notify_kick(dn->nt); /* NULL is ignored */
    pthread_mutex_unlock(&dn->mu);
}

unsigned devnotify_keep(const devnotify *dn) { return dn->keep; }

bool devnotify_take(devnotify *dn, const char *dev, bool *record)
{
    return ratelimit_take(dn->rl, dev, clock_mono_ms(), record);
}

/* ---- the store job ----------------------------------------------------------------------- */

static int job_run(store_tx *tx, store_job *sj)
{
    dn_job *j = (dn_job *)(void *)sj;
    devnotify_req rq = {
        .device_id = j->dev,
        .recipient = j->recipient,
        .message = j->message,
        .rid = j->rid[0] ? j->rid : NULL,
        .reason = j->reason,
        .now = j->now,
    };
    return devnotify_record(tx, &rq, j->dn->keep, &j->res);
}

static void job_done(store_job *sj)
{
    dn_job *j = (dn_job *)(void *)sj;
    if (sj->rc == 0 && !strcmp(j->res.status, "queued"))
        devnotify_kick(j->dn);
    else if (sj->rc == 0)
        log_info("devnotify: device %s: notification %lld refused (%s)", j->dev,
                 (long long)j->res.id, j->res.reason);
    else if (sj->rc != STORE_ENOTFOUND)
        log_error("devnotify: device %s: cannot record a notification: %s", j->dev,
                  store_strerror(sj->rc));
    free(j);
}

static void copy_str(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strnlen(s, cap - 1) : 0;
    memcpy(dst, s ? s : "", n);
    dst[n] = '\0';
}

/* Submits the record job. @recipient and @message were checked (or @reason is set). */
static void submit(devnotify *dn, const char *dev, const char *recipient, const char *message,
                   const char *rid, const char *reason)
{
    size_t mlen = message ? strlen(message) : 0;
    dn_job *j = calloc(1, sizeof *j + mlen + 1);
    if (!j) {
        log_error("devnotify: device %s: out of memory", dev);
        return;
    }
    j->dn = dn;
    copy_str(j->dev, sizeof j->dev, dev);
    copy_str(j->recipient, sizeof j->recipient, recipient);
    copy_str(j->rid, sizeof j->rid, rid);
    memcpy(j->message, message ? message : "", mlen + 1);
    j->reason = reason;
    j->now = clock_wall_ms();
    j->sj.run = job_run;
    j->sj.done = job_done;
    store_submit(dn->st, &j->sj);
}

/* ---- the hook ---------------------------------------------------------------------------- */

static bool is_trigger(const char *api)
{
    return api && (!strcmp(api, "trigger_notification") || !strcmp(api, "trigger_notifications"));
}

/* A top-level string field, else NULL (absent, or another type: @bad set). */
static const char *str_field(const bson_t *doc, const char *key, uint32_t *len, bool *bad)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key))
        return NULL;
    if (!BSON_ITER_HOLDS_UTF8(&it)) {
        *bad = true;
        return NULL;
    }
    return bson_iter_utf8(&it, len);
}

/* Parses and checks the payload, then submits: queued-to-check or refused. */
static void handle_payload(devnotify *dn, const char *dev, const uint8_t *p, size_t n)
{
    bson_t doc;
    json_err e;
    if (n > PAYLOAD_MAX || json_parse(p, n, &doc, &e) < 0) {
        submit(dn, dev, NULL, NULL, NULL, "invalid_payload");
        return;
    }
    bool bad = false;
    uint32_t rlen = 0, mlen = 0, idlen = 0;
    const char *rcpt = str_field(&doc, "recipient", &rlen, &bad);
    const char *msg = str_field(&doc, "message", &mlen, &bad);
    const char *rid = str_field(&doc, "rid", &idlen, &bad);
    if (rid && (idlen == 0 || idlen > DEVNOTIFY_RID_MAX || strlen(rid) != idlen))
        bad = true;
    if (bad || !rcpt || strlen(rcpt) != rlen || devnotify_recipient_kind(rcpt) < 0 || !msg ||
        strlen(msg) != mlen || !devnotify_message_ok(msg, mlen))
        submit(dn, dev, NULL, NULL, bad ? NULL : rid, "invalid_payload");
    else
        submit(dn, dev, rcpt, msg, rid, NULL);
    bson_destroy(&doc);
}

void devnotify_on_message(void *arg, net_loop *l, const char *dev, const char *api,
                          const uint8_t *p, size_t n)
{
    devnotify *dn = arg;
    size_t dlen = dev ? strlen(dev) : 0;
    if (!dn || !is_trigger(api) || dlen == 0 || dlen > STORE_ID_MAX)
        return;
    if (dn->dd && !devdir_exists(dn->dd, (const uint8_t *)dev, dlen))
        return; /* deleted meanwhile: nobody to record it for */
    bool first = false;
    if (!devnotify_take(dn, dev, &first)) {
        if (first) {
            log_warn("devnotify: device %s: notifications rate-limited", dev);
            submit(dn, dev, NULL, NULL, NULL, "rate_limited");
        }
        return;
    }
    handle_payload(dn, dev, p ? p : (const uint8_t *)"", n);
}
