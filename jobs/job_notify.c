/*
 * job_notify — what a device is told (docs/jobs.md), built in the transaction that changed
 * its executions and published by a loop after the commit:
 *
 *   $aws/things/{id}/jobs/notify        {timestamp, jobs: {QUEUED: [summary], IN_PROGRESS: [..]}}
 *   $aws/things/{id}/jobs/notify-next   {timestamp, execution: {...}} or {timestamp}
 *   {id}/jobs/notify, {id}/jobs/notify-next   the same in the native namespace
 *
 * The next execution is the IN_PROGRESS one, else the oldest QUEUED one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/json.h"
#include "jobs/jobs_int.h"

struct jobs_pub {
    jobs_pub *next;
    char *topic;
    char *text;
    size_t len;
};

int jobs_pubs_add(jobs_pubs *p, const char *topic, const bson_t *doc)
{
    jobs_pub *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    m->topic = strdup(topic);
    m->text = json_text(doc, &m->len);
    if (!m->topic || !m->text) {
        free(m->topic);
        bson_free(m->text);
        free(m);
        return -1;
    }
    if (p->tail)
        p->tail->next = m;
    else
        p->head = m;
    p->tail = m;
    return 0;
}

void job__pubs_append(jobs_pubs *dst, jobs_pubs *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    src->head = src->tail = NULL;
}

void jobs_pubs_free(jobs_pubs *p)
{
    jobs_pub *m = p->head;
    while (m) {
        jobs_pub *n = m->next;
        free(m->topic);
        bson_free(m->text);
        free(m);
        m = n;
    }
    p->head = p->tail = NULL;
}

void jobs_pubs_publish(jobs_svc *s, jobs_pubs *p)
{
    if (s && !atomic_load(&s->detached))
        for (jobs_pub *m = p->head; m; m = m->next)
            broker_publish(s->br, m->topic, (const uint8_t *)m->text, m->len, 1);
    jobs_pubs_free(p);
}

bson_t *job__document(store_tx *tx, const char *owner, const char *job)
{
    store_jobdef j;
    bson_t *doc = NULL, *out = NULL;
    bson_iter_t it;
    if (store_jobdef_get(tx, owner, job, &j, &doc) < 0)
        return NULL;
    if (bson_iter_init_find(&it, doc, "document") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        const uint8_t *p;
        uint32_t n;
        bson_iter_document(&it, &n, &p);
        out = bson_new_from_data(p, n);
    }
    bson_destroy(doc);
    return out;
}

/* Both namespaces' @kind topic of @dev. */
static int add_both(jobs_pubs *out, const char *dev, const char *kind, const bson_t *doc)
{
    char topic[JOBS_TOPIC_MAX];
    snprintf(topic, sizeof topic, "$aws/things/%s/jobs/%s", dev, kind);
    if (jobs_pubs_add(out, topic, doc) < 0)
        return -1;
    snprintf(topic, sizeof topic, "%s/jobs/%s", dev, kind);
    return jobs_pubs_add(out, topic, doc);
}

typedef struct pending {
    bson_t queued, running;
    store_jobexec next;
    bool has_next;
} pending;

static int on_pending(void *arg, const store_jobexec *e)
{
    pending *p = arg;
    bson_t *list = e->status == STORE_EXEC_IN_PROGRESS ? &p->running : &p->queued;
    char k[16];
    const char *key;
    bson_uint32_to_string(bson_count_keys(list), &key, k, sizeof k);
    bson_t item;
    if (!BSON_APPEND_DOCUMENT_BEGIN(list, key, &item))
        return -1;
    int rc = jobs_exec_summary(e, &item);
    bson_append_document_end(list, &item);
    if (!p->has_next ||
        (e->status == STORE_EXEC_IN_PROGRESS && p->next.status != STORE_EXEC_IN_PROGRESS)) {
        store_jobexec_fini(&p->next);
        p->next = *e;
        p->next.details = e->details ? bson_copy(e->details) : NULL;
        p->has_next = true;
    }
    return rc;
}

static int notify_next(store_tx *tx, const char *dev, pending *p, int64_t now, jobs_pubs *out)
{
    bson_t doc = BSON_INITIALIZER, ex;
    int rc = BSON_APPEND_INT64(&doc, "timestamp", now / 1000) ? 0 : -1;
    if (rc == 0 && p->has_next) {
        bson_t *jd = job__document(tx, p->next.owner_id, p->next.job_id);
        BSON_APPEND_DOCUMENT_BEGIN(&doc, "execution", &ex);
        rc = jobs_exec_json(&p->next, jd, &ex);
        bson_append_document_end(&doc, &ex);
        if (jd)
            bson_destroy(jd);
    }
    if (rc == 0)
        rc = add_both(out, dev, "notify-next", &doc);
    bson_destroy(&doc);
    return rc;
}

int jobs_notify_device(store_tx *tx, const char *dev, bool next, int64_t now, jobs_pubs *out)
{
    pending p = {.has_next = false};
    bson_init(&p.queued);
    bson_init(&p.running);
    unsigned mask = 1u << STORE_EXEC_QUEUED | 1u << STORE_EXEC_IN_PROGRESS;
    int rc = store_jobexec_each_device(tx, dev, mask, on_pending, &p);
    if (rc < 0)
        goto out;
    bson_t doc = BSON_INITIALIZER, jobs;
    BSON_APPEND_INT64(&doc, "timestamp", now / 1000);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "jobs", &jobs);
    if (!bson_empty(&p.queued))
        BSON_APPEND_ARRAY(&jobs, "QUEUED", &p.queued);
    if (!bson_empty(&p.running))
        BSON_APPEND_ARRAY(&jobs, "IN_PROGRESS", &p.running);
    bson_append_document_end(&doc, &jobs);
    rc = add_both(out, dev, "notify", &doc);
    bson_destroy(&doc);
    if (rc == 0 && next)
        rc = notify_next(tx, dev, &p, now, out);
    rc = rc < 0 ? STORE_ENOMEM : 0;
out:
    store_jobexec_fini(&p.next);
    bson_destroy(&p.queued);
    bson_destroy(&p.running);
    return rc;
}
