/*
 * job_mqtt — the device side of jobs over MQTT, AWS IoT Jobs' topics and payloads
 * (docs/jobs.md), both namespaces:
 *
 *   device publishes                                  replies (+ /accepted | /rejected)
 *   $aws/things/{id}/jobs/get           jobs/get      GetPendingJobExecutions
 *   $aws/things/{id}/jobs/start-next    jobs/...      StartNextPendingJobExecution
 *   $aws/things/{id}/jobs/{jobId}/get                 DescribeJobExecution ($next allowed)
 *   $aws/things/{id}/jobs/{jobId}/update              UpdateJobExecution
 *   (native: server/{id}/jobs/... ; replies on {id}/jobs/...)
 *
 * Each request is one store job; the reply leaves after the commit, then the device's
 * notify / notify-next when its pending executions changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "jobs/jobs_int.h"

enum req_op { REQ_GET = 1, REQ_START_NEXT, REQ_DESCRIBE, REQ_UPDATE };

typedef struct req {
    store_job sj;
    net_msg m;
    net_loop *loop;
    jobs_svc *svc;
    enum req_op op;
    bool aws;
    char dev[STORE_ID_MAX + 1];
    char job[JOBS_ID_MAX + 1];
    char topic[JOBS_TOPIC_MAX]; /* the request topic: replies add /accepted or /rejected */
    bool accepted;
    bson_t reply;
    jobs_pubs pubs;
    size_t len;
    uint8_t payload[];
} req;

/* "get", "start-next", "{jobId}/get", "{jobId}/update" after ".../jobs/". */
static int parse_tail(const char *s, req *r)
{
    if (strcmp(s, "get") == 0)
        return r->op = REQ_GET, 0;
    if (strcmp(s, "start-next") == 0)
        return r->op = REQ_START_NEXT, 0;
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : 0;
    if (!slash || !(jobs_id_ok(s, n) || (n == 5 && memcmp(s, "$next", 5) == 0)))
        return -1;
    memcpy(r->job, s, n);
    r->job[n] = '\0';
    if (strcmp(slash + 1, "get") == 0)
        return r->op = REQ_DESCRIBE, 0;
    if (strcmp(slash + 1, "update") == 0 && n != 5)
        return r->op = REQ_UPDATE, 0;
    return -1;
}

static int parse_topic(const char *dev, const char *api, req *r)
{
    static const char AWS[] = "$aws/things/";
    size_t idn = strlen(dev);
    const char *tail;
    if (strncmp(api, AWS, sizeof AWS - 1) == 0) {
        const char *thing = api + sizeof AWS - 1;
        if (strncmp(thing, dev, idn) != 0 || strncmp(thing + idn, "/jobs/", 6) != 0)
            return -1;
        r->aws = true;
        tail = thing + idn + 6;
        snprintf(r->topic, sizeof r->topic, "%s", api);
    } else {
        if (strncmp(api, "jobs/", 5) != 0)
            return -1;
        tail = api + 5;
        snprintf(r->topic, sizeof r->topic, "%s/%s", dev, api);
    }
    return strlen(r->topic) + 10 < sizeof r->topic ? parse_tail(tail, r) : -1;
}

/* ---- the store side ----------------------------------------------------------------- */

typedef struct body {
    bson_t doc;
    const char *token, *status;
    bson_iter_t details;
    int64_t expected, exec_number, step_min;
    bool inc_state, inc_doc;
    json_field f[8];
} body;

static void rejected(req *r, const char *code, const char *msg, const char *token, int64_t now)
{
    bson_reinit(&r->reply);
    BSON_APPEND_UTF8(&r->reply, "code", code);
    BSON_APPEND_UTF8(&r->reply, "message", msg);
    if (token)
        BSON_APPEND_UTF8(&r->reply, "clientToken", token);
    BSON_APPEND_INT64(&r->reply, "timestamp", now / 1000);
    r->accepted = false;
}

static void accepted_head(req *r, const char *token, int64_t now)
{
    if (token)
        BSON_APPEND_UTF8(&r->reply, "clientToken", token);
    BSON_APPEND_INT64(&r->reply, "timestamp", now / 1000);
    r->accepted = true;
}

/* Decodes the request's JSON (empty: {}) against the fields of its operation. */
static int decode(req *r, body *b, size_t max_details, char *msg, size_t cap)
{
    json_err e;
    b->expected = b->exec_number = -1;
    b->inc_doc = true;
    json_field f[] = {
        {"clientToken", JSON_STR, .max_len = JOBS_TOKEN_MAX, .str = &b->token},
        {"statusDetails", JSON_OBJ, .doc = &b->details},
        {"stepTimeoutInMinutes", JSON_INT, .min = 1, .max = 10080, .i64 = &b->step_min},
        {"executionNumber", JSON_INT, .min = 1, .max = INT32_MAX, .i64 = &b->exec_number},
        {"includeJobDocument", JSON_BOOL, .b = &b->inc_doc},
        {"status", JSON_STR, JSON_REQUIRED, .max_len = 16, .str = &b->status},
        {"expectedVersion", JSON_INT, .min = 0, .max = INT64_MAX, .i64 = &b->expected},
        {"includeJobExecutionState", JSON_BOOL, .b = &b->inc_state},
    };
    memcpy(b->f, f, sizeof f);
    size_t n = r->op == REQ_GET ? 1 : r->op == REQ_START_NEXT ? 3 : r->op == REQ_DESCRIBE ? 5 : 8;
    if (r->op == REQ_DESCRIBE) /* clientToken, executionNumber, includeJobDocument */
        b->f[1] = b->f[3], b->f[2] = b->f[4], n = 3;
    const uint8_t *p = r->len ? r->payload : (const uint8_t *)"{}";
    if (json_parse(p, r->len ? r->len : 2, &b->doc, &e) < 0) {
        snprintf(msg, cap, "%s", e.message);
        bson_init(&b->doc);
        return -1;
    }
    if (json_decode(&b->doc, b->f, n, &e) < 0) {
        snprintf(msg, cap, "%s", e.message);
        return -2;
    }
    if (b->f[1].present && r->op != REQ_DESCRIBE) {
        bson_t d;
        const uint8_t *dp;
        uint32_t dn;
        bson_iter_document(&b->details, &dn, &dp);
        bson_init_static(&d, dp, dn);
        size_t tn = 0;
        char *t = json_text(&d, &tn);
        bson_free(t);
        bson_iter_t it;
        bool strings = bson_iter_init(&it, &d);
        while (strings && bson_iter_next(&it))
            strings = BSON_ITER_HOLDS_UTF8(&it);
        if (!t || tn > max_details || !strings) {
            snprintf(msg, cap, "statusDetails must be an object of strings, at most %zu bytes",
                     max_details);
            return -2;
        }
    }
    return 0;
}

static int exec_state(bson_t *out, const store_jobexec *e)
{
    bson_t st;
    BSON_APPEND_DOCUMENT_BEGIN(out, "executionState", &st);
    BSON_APPEND_UTF8(&st, "status", jobs_exec_status_name(e->status));
    if (e->details)
        BSON_APPEND_DOCUMENT(&st, "statusDetails", e->details);
    BSON_APPEND_INT64(&st, "versionNumber", e->version);
    return bson_append_document_end(out, &st) ? 0 : -1;
}

static int on_list(void *arg, const store_jobexec *e)
{
    bson_t *lists = arg; /* [0] in progress, [1] queued */
    bson_t *l = &lists[e->status == STORE_EXEC_IN_PROGRESS ? 0 : 1], item;
    char k[16];
    const char *key;
    bson_uint32_to_string(bson_count_keys(l), &key, k, sizeof k);
    BSON_APPEND_DOCUMENT_BEGIN(l, key, &item);
    int rc = jobs_exec_summary(e, &item);
    bson_append_document_end(l, &item);
    return rc;
}

#define PENDING_MASK (1u << STORE_EXEC_QUEUED | 1u << STORE_EXEC_IN_PROGRESS)

static int do_get(store_tx *tx, req *r, body *b, int64_t now)
{
    bson_t lists[2];
    bson_init(&lists[0]);
    bson_init(&lists[1]);
    int rc = store_jobexec_each_device(tx, r->dev, PENDING_MASK, on_list, lists);
    if (rc == 0) {
        accepted_head(r, b->token, now);
        BSON_APPEND_ARRAY(&r->reply, "inProgressJobs", &lists[0]);
        BSON_APPEND_ARRAY(&r->reply, "queuedJobs", &lists[1]);
    }
    bson_destroy(&lists[0]);
    bson_destroy(&lists[1]);
    return rc;
}

/* The device's next pending execution: IN_PROGRESS, else the oldest QUEUED. */
static int next_exec(store_tx *tx, const char *dev, store_jobexec *out, bool *found)
{
    job__vec v = {0};
    int rc = store_jobexec_each_device(tx, dev, PENDING_MASK, job__collect, &v);
    *found = false;
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        if (!*found || v.v[i].status == STORE_EXEC_IN_PROGRESS) {
            if (*found)
                store_jobexec_fini(out); /* the IN_PROGRESS one goes before the queued */
            *out = v.v[i];
            v.v[i].details = NULL;
            if (*found)
                break;
            *found = true;
            if (out->status == STORE_EXEC_IN_PROGRESS)
                break;
        }
    }
    job__vec_free(&v);
    return rc;
}

static int add_execution(store_tx *tx, req *r, const store_jobexec *e, bool with_doc)
{
    bson_t *jd = with_doc ? job__document(tx, e->owner_id, e->job_id) : NULL, ex;
    BSON_APPEND_DOCUMENT_BEGIN(&r->reply, "execution", &ex);
    int rc = jobs_exec_json(e, jd, &ex);
    bson_append_document_end(&r->reply, &ex);
    if (jd)
        bson_destroy(jd);
    return rc < 0 ? STORE_ENOMEM : 0;
}

static int job_timeout_ms(store_tx *tx, const store_jobexec *e)
{
    store_jobdef j;
    bson_t *doc = NULL;
    jobs_cfg c = {0};
    if (store_jobdef_get(tx, e->owner_id, e->job_id, &j, &doc) == 0) {
        jobs_cfg_read(doc, &c);
        bson_destroy(doc);
    }
    return (int)(c.timeout_ms / 1000);
}

/* Applies @u to @e and writes it; NULL or the rejection's code (message in @msg). */
static const char *apply(store_tx *tx, req *r, store_jobexec *e, job__update *u, bool busy,
                         int64_t now, char *msg, size_t cap, int *rc)
{
    int64_t t = (int64_t)job_timeout_ms(tx, e) * 1000;
    const char *code = job__update_apply(e, u, busy, t, now, msg, cap);
    if (code)
        return code;
    if (u->has_details) {
        store_jobexec_fini(e);
        e->details = bson_copy(&u->details);
    }
    *rc = store_jobexec_put(tx, e);
    if (*rc == 0)
        *rc = jobs_notify_device(tx, r->dev, job__terminal(e->status), now, &r->pubs);
    return NULL;
}

static void details_of(body *b, job__update *u)
{
    if (!b->f[1].present)
        return;
    const uint8_t *p;
    uint32_t n;
    bson_iter_document(&b->details, &n, &p);
    u->has_details = bson_init_static(&u->details, p, n);
}

static int do_start_next(store_tx *tx, req *r, body *b, int64_t now)
{
    store_jobexec e;
    bool found;
    char msg[160];
    int rc = next_exec(tx, r->dev, &e, &found);
    if (rc < 0 || !found) {
        if (rc == 0)
            accepted_head(r, b->token, now);
        return rc;
    }
    const char *code = NULL;
    if (e.status == STORE_EXEC_QUEUED) {
        job__update u = {.status = STORE_EXEC_IN_PROGRESS,
                         .expected_version = -1,
                         .exec_number = -1,
                         .step_timeout_ms = b->step_min * 60000};
        details_of(b, &u);
        code = apply(tx, r, &e, &u, false, now, msg, sizeof msg, &rc);
        if (code)
            rejected(r, code, msg, b->token, now);
    }
    if (rc == 0 && !code) {
        accepted_head(r, b->token, now);
        rc = add_execution(tx, r, &e, true);
    }
    store_jobexec_fini(&e);
    return rc;
}

/* The execution the request names: @r->job or "$next". */
static int find(store_tx *tx, req *r, store_jobexec *e, bool *found)
{
    if (strcmp(r->job, "$next") == 0)
        return next_exec(tx, r->dev, e, found);
    int rc = store_jobexec_get(tx, r->dev, r->job, e);
    *found = rc == 0 && e->status != STORE_EXEC_SCHEDULED;
    if (rc == 0 && !*found)
        store_jobexec_fini(e);
    return rc == STORE_ENOTFOUND || rc == STORE_EINVAL ? 0 : rc;
}

static int do_describe(store_tx *tx, req *r, body *b, int64_t now)
{
    store_jobexec e;
    bool found;
    int rc = find(tx, r, &e, &found);
    if (rc < 0)
        return rc;
    if (!found || (b->exec_number >= 0 && b->exec_number != e.exec_number)) {
        if (found)
            store_jobexec_fini(&e);
        rejected(r, "ResourceNotFound", "no such job execution", b->token, now);
        return 0;
    }
    accepted_head(r, b->token, now);
    rc = add_execution(tx, r, &e, b->inc_doc);
    store_jobexec_fini(&e);
    return rc;
}

static int status_of(const char *s)
{
    static const int ok[] = {STORE_EXEC_IN_PROGRESS, STORE_EXEC_SUCCEEDED, STORE_EXEC_FAILED,
                             STORE_EXEC_REJECTED};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(s, jobs_exec_status_name(ok[i])) == 0)
            return ok[i];
    return -1;
}

static int busy_other(void *arg, const store_jobexec *e)
{
    const char *job = arg;
    return strcmp(e->job_id, job) != 0 ? 1 : 0;
}

static int do_update(store_tx *tx, req *r, body *b, int64_t now)
{
    store_jobexec e;
    bool found;
    char msg[160];
    job__update u = {.status = status_of(b->status),
                     .expected_version = b->expected,
                     .exec_number = b->exec_number,
                     .step_timeout_ms = b->step_min * 60000};
    if (u.status < 0) {
        rejected(r, "InvalidRequest", "status must be IN_PROGRESS, SUCCEEDED, FAILED or REJECTED",
                 b->token, now);
        return 0;
    }
    int rc = find(tx, r, &e, &found);
    if (rc < 0 || !found) {
        if (rc == 0)
            rejected(r, "ResourceNotFound", "no such job execution", b->token, now);
        return rc;
    }
    details_of(b, &u);
    rc = store_jobexec_each_device(tx, r->dev, 1u << STORE_EXEC_IN_PROGRESS, busy_other, r->job);
    bool busy = rc == 1;
    rc = rc == 1 ? 0 : rc;
    const char *code = rc < 0 ? NULL : apply(tx, r, &e, &u, busy, now, msg, sizeof msg, &rc);
    if (rc == 0 && code) {
        rejected(r, code, msg, b->token, now);
        if (strcmp(code, "VersionMismatch") == 0)
            exec_state(&r->reply, &e);
    } else if (rc == 0) {
        accepted_head(r, b->token, now);
        if (b->inc_state)
            exec_state(&r->reply, &e);
        bson_t *jd = b->inc_doc && b->f[4].present ? job__document(tx, e.owner_id, e.job_id) : NULL;
        if (jd) {
            BSON_APPEND_DOCUMENT(&r->reply, "jobDocument", jd);
            bson_destroy(jd);
        }
    }
    store_jobexec_fini(&e);
    return rc;
}

static int req_run(store_tx *tx, store_job *sj)
{
    req *r = (req *)((char *)sj - offsetof(req, sj));
    int64_t now = clock_wall_ms();
    body b = {.token = NULL};
    char msg[300];
    int d = decode(r, &b, r->svc->lim.details_max, msg, sizeof msg);
    int rc = 0;
    if (d < 0)
        rejected(r, d == -1 ? "InvalidJson" : "InvalidRequest", msg, b.token, now);
    else if (r->op == REQ_GET)
        rc = do_get(tx, r, &b, now);
    else if (r->op == REQ_START_NEXT)
        rc = do_start_next(tx, r, &b, now);
    else if (r->op == REQ_DESCRIBE)
        rc = do_describe(tx, r, &b, now);
    else
        rc = do_update(tx, r, &b, now);
    bson_destroy(&b.doc);
    return rc;
}

static void req_reply(net_loop *l, net_msg *m)
{
    (void)l;
    req *r = (req *)((char *)m - offsetof(req, m));
    char topic[JOBS_TOPIC_MAX + 16];
    if (r->sj.rc < 0) {
        log_error("jobs: request of %s failed: %s", r->dev, store_strerror(r->sj.rc));
        jobs_pubs_free(&r->pubs);
        rejected(r, "InternalError", "internal failure", NULL, clock_wall_ms());
    }
    snprintf(topic, sizeof topic, "%s/%s", r->topic, r->accepted ? "accepted" : "rejected");
    jobs_pubs p = {0};
    if (jobs_pubs_add(&p, topic, &r->reply) == 0)
        job__pubs_append(&p, &r->pubs); /* the reply first, then notify / notify-next */
    jobs_pubs_publish(r->svc, &p);
    jobs_pubs_free(&r->pubs);
    bson_destroy(&r->reply);
    free(r);
}

static void req_done(store_job *sj)
{
    req *r = (req *)((char *)sj - offsetof(req, sj));
    r->m.fn = req_reply;
    net_loop_post(r->loop, &r->m);
}

void jobs_svc_on_event(void *arg, const dev_event *e)
{
    jobs_svc *s = arg;
    if (e->kind != DEV_EV_MESSAGE || !e->loop || strlen(e->dev) > STORE_ID_MAX ||
        (strncmp(e->api, "jobs/", 5) != 0 && strncmp(e->api, "$aws/", 5) != 0))
        return; /* not a jobs request: nothing allocated for it */
    size_t max = s->lim.details_max + 4096;
    size_t len = e->len > max ? max : e->len; /* longer: bad JSON, refused */
    req *r = calloc(1, sizeof *r + len);
    if (!r)
        return;
    if (parse_topic(e->dev, e->api, r) < 0) {
        free(r);
        return;
    }
    r->loop = e->loop;
    r->svc = s;
    snprintf(r->dev, sizeof r->dev, "%s", e->dev);
    memcpy(r->payload, e->payload, len);
    r->len = len;
    bson_init(&r->reply);
    r->sj = (store_job){.run = req_run, .done = req_done};
    store_submit(s->st, &r->sj);
}
