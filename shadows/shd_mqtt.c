/*
 * shd_mqtt — shadow requests from devices over MQTT (shd_svc.h):
 *
 *   loop L: device PUBLISH ─tap─▶ dev_event ─▶ shd_svc_on_event ──store_submit──▶
 *   store:  req_run (shd_run: read, apply, write) … commit ─▶ req_done ──net_loop_post──▶
 *   loop L: req_reply: {op}/accepted|rejected, then update/delta and update/documents
 *
 * The reply leaves only after the commit: an accepted update is durable before the device
 * hears of it (the same contract as PUBACK after commit). A failed commit answers 500.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "shadows/shd_int.h"
#include "shadows/shd_mqtt_int.h"
#include "store/store_app.h"

typedef struct req_job {
    store_job sj;
    net_msg m;
    net_loop *loop;
    shd_svc *svc;
    shd_topic t;
    char dev[STORE_ID_MAX + 1];
    shd_result res;
    int rc;
    size_t len;
    uint8_t payload[]; /* the request */
} req_job;

shd_svc *shd_svc_new(store *st, struct broker *br, const shd_limits *lim)
{
    shd_svc *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->st = st;
    s->br = br;
    s->lim = *lim;
    return s;
}

void shd_svc_free(shd_svc *s) { free(s); }

void shd_svc_detach(shd_svc *s)
{
    if (s)
        atomic_store(&s->detached, true);
}

const shd_limits *shd_svc_limits(const shd_svc *s) { return &s->lim; }

/* Publishes @text on the reply topic @kind of @op, in one namespace. */
static void publish_text(shd_svc *s, const char *dev, bool aws, const char *name, enum shd_op op,
                         const char *kind, const char *text, size_t n)
{
    char topic[SHD_TOPIC_MAX];
    if (shd__topic_reply(dev, aws, name, op, kind, topic, sizeof topic) == 0)
        broker_publish(s->br, topic, (const uint8_t *)text, n, 1);
}

/* @doc encoded once, published in one namespace or (@both) in the two. */
static void publish_doc(shd_svc *s, const char *dev, bool aws, bool both, const char *name,
                        enum shd_op op, const char *kind, const bson_t *doc)
{
    size_t n = 0;
    char *text = json_text(doc, &n);
    if (!text)
        return;
    publish_text(s, dev, aws, name, op, kind, text, n);
    if (both)
        publish_text(s, dev, !aws, name, op, kind, text, n);
    bson_free(text);
}

void shd_svc_publish(shd_svc *s, const char *dev, const char *name, enum shd_op op,
                     const shd_result *res)
{
    if (res->code != 0 || op != SHD_UPDATE || atomic_load(&s->detached))
        return;
    /* a device may listen in either namespace */
    if (res->has_delta)
        publish_doc(s, dev, false, true, name, op, "delta", &res->delta);
    if (res->has_documents)
        publish_doc(s, dev, false, true, name, op, "documents", &res->documents);
}

static void req_free(req_job *j)
{
    shd_result_fini(&j->res);
    free(j);
}

static void req_reply(net_loop *l, net_msg *m)
{
    (void)l;
    req_job *j = (req_job *)((char *)m - offsetof(req_job, m));
    if (j->rc < 0) {
        log_error("shadow: %s of %s failed: %s", j->t.op == SHD_UPDATE ? "update" : "request",
                  j->dev, store_strerror(j->rc));
        shd__reject(&j->res, 500, "Internal service failure", clock_wall_ms() / 1000);
    }
    const char *kind = j->res.code == 0 ? "accepted" : "rejected";
    if (!atomic_load(&j->svc->detached))
        publish_doc(j->svc, j->dev, j->t.aws, false, j->t.name, j->t.op, kind, &j->res.reply);
    shd_svc_publish(j->svc, j->dev, j->t.name, j->t.op, &j->res);
    req_free(j);
}

static int req_run(store_tx *tx, store_job *sj)
{
    req_job *j = (req_job *)((char *)sj - offsetof(req_job, sj));
    return shd_run(tx, j->t.op, j->dev, j->t.name, j->payload, j->len, &j->svc->lim, &j->res);
}

static void req_done(store_job *sj)
{
    req_job *j = (req_job *)((char *)sj - offsetof(req_job, sj));
    j->rc = sj->rc;
    j->m.fn = req_reply;
    net_loop_post(j->loop, &j->m);
}

void shd_svc_on_event(void *arg, const dev_event *e)
{
    shd_svc *s = arg;
    shd_topic t;
    if (e->kind != DEV_EV_MESSAGE || !e->loop || strlen(e->dev) > STORE_ID_MAX ||
        shd__topic_parse(e->dev, e->api, &t) < 0)
        return;
    /* the request is copied bounded: a larger one is refused by shd_update (413) */
    size_t len = e->len > s->lim.max_size ? s->lim.max_size + 1 : e->len;
    req_job *j = calloc(1, sizeof *j + len);
    if (!j) {
        log_error("shadow: out of memory for a request of %s", e->dev);
        return;
    }
    j->loop = e->loop;
    j->svc = s;
    j->t = t;
    snprintf(j->dev, sizeof j->dev, "%s", e->dev);
    memcpy(j->payload, e->payload, len);
    j->len = len;
    shd_result_init(&j->res);
    j->sj = (store_job){.run = req_run, .done = req_done};
    store_submit(s->st, &j->sj);
}
