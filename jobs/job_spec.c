/*
 * job_spec — the job specification of POST /v1/jobs (jobs.h), a pure parser over the
 * body's BSON, and the settings the scheduler reads back from the stored copy. Field names
 * are AWS IoT's CreateJob ones (docs/jobs.md):
 *
 *   jobId                        [A-Za-z0-9_-]{1,64}, optional
 *   description                  string <= 2028
 *   document                     object, <= doc_max bytes of JSON (AWS: 32 KiB)
 *   targets                      {devices: [id or name], groups: [id or name]}, >= 1 target
 *   jobExecutionsRolloutConfig   {maximumPerMinute 1..1000000, exponentialRate:
 *                                 {baseRatePerMinute 1..1000, incrementFactor 1.1..5,
 *                                  rateIncreaseCriteria: {numberOfNotifiedThings |
 *                                  numberOfSucceededThings} 1..1000000}}
 *   abortConfig                  {criteriaList: [{failureType FAILED|REJECTED|TIMED_OUT|ALL,
 *                                 action CANCEL, thresholdPercentage 0..100,
 *                                 minNumberOfExecutedThings >= 1}]}
 *   timeoutConfig                {inProgressTimeoutInMinutes 1..10080} or
 *                                {inProgressTimeoutInSeconds 1..604800} (ours, for tests)
 *   jobExecutionsRetryConfig     {criteriaList: [{failureType FAILED|TIMED_OUT|ALL,
 *                                 numberOfRetries 0..10}]}
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "jobs/jobs.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

bool jobs_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > JOBS_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* The sub-document at @it (object or array) as a static bson_t. */
static bool sub(const bson_iter_t *it, bson_t *out)
{
    const uint8_t *p = NULL;
    uint32_t n = 0;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &n, &p);
    else if (BSON_ITER_HOLDS_ARRAY(it))
        bson_iter_array(it, &n, &p);
    return p && bson_init_static(out, p, n);
}

static bool num(const bson_iter_t *it, double *out)
{
    if (BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it) || BSON_ITER_HOLDS_DOUBLE(it)) {
        *out = bson_iter_as_double(it);
        return true;
    }
    return false;
}

/* Decodes the object at @it against @f; json_err's message into @err. */
static int decode(const bson_iter_t *it, json_field *f, size_t n, char *err, size_t errlen,
                  const char *what)
{
    bson_t d;
    json_err e;
    if (!sub(it, &d) || !BSON_ITER_HOLDS_DOCUMENT(it))
        return ERR("%s must be an object", what);
    if (json_decode(&d, f, n, &e) < 0)
        return ERR("%s: %s", what, e.message);
    return 0;
}

static unsigned fail_of(const char *s, bool rejected_ok)
{
    if (strcmp(s, "FAILED") == 0)
        return JOBS_FAIL_FAILED;
    if (strcmp(s, "TIMED_OUT") == 0)
        return JOBS_FAIL_TIMED_OUT;
    if (strcmp(s, "REJECTED") == 0)
        return rejected_ok ? JOBS_FAIL_REJECTED : 0;
    if (strcmp(s, "ALL") == 0)
        return JOBS_FAIL_FAILED | JOBS_FAIL_TIMED_OUT | (rejected_ok ? JOBS_FAIL_REJECTED : 0);
    return 0;
}

static int ramp(const bson_iter_t *it, jobs_cfg *c, char *err, size_t errlen)
{
    bson_iter_t factor, crit;
    int64_t base = 0, notified = 0, succeeded = 0;
    json_field f[] = {
        {"baseRatePerMinute", JSON_INT, JSON_REQUIRED, .min = 1, .max = 1000, .i64 = &base},
        {"incrementFactor", JSON_ANY, JSON_REQUIRED, .doc = &factor},
        {"rateIncreaseCriteria", JSON_OBJ, JSON_REQUIRED, .doc = &crit},
    };
    json_field g[] = {
        {"numberOfNotifiedThings", JSON_INT, .min = 1, .max = 1000000, .i64 = &notified},
        {"numberOfSucceededThings", JSON_INT, .min = 1, .max = 1000000, .i64 = &succeeded},
    };
    if (decode(it, f, 3, err, errlen, "exponentialRate") < 0 ||
        decode(&crit, g, 2, err, errlen, "rateIncreaseCriteria") < 0)
        return -1;
    if (!num(&factor, &c->factor) || c->factor < 1.1 || c->factor > 5)
        return ERR("incrementFactor must be a number in [1.1, 5]");
    if (g[0].present == g[1].present)
        return ERR("rateIncreaseCriteria needs one of numberOfNotifiedThings, "
                   "numberOfSucceededThings");
    c->base_rate = (double)base;
    c->ramp_notified = notified;
    c->ramp_succeeded = succeeded;
    return 0;
}

static int rollout(const bson_iter_t *it, jobs_cfg *c, char *err, size_t errlen)
{
    bson_iter_t exp;
    int64_t max = 0;
    json_field f[] = {
        {"maximumPerMinute", JSON_INT, JSON_REQUIRED, .min = 1, .max = 1000000, .i64 = &max},
        {"exponentialRate", JSON_OBJ, .doc = &exp},
    };
    if (decode(it, f, 2, err, errlen, "jobExecutionsRolloutConfig") < 0)
        return -1;
    c->max_rate = (double)max;
    if (f[1].present && ramp(&exp, c, err, errlen) < 0)
        return -1;
    if (c->base_rate > c->max_rate)
        return ERR("baseRatePerMinute must not exceed maximumPerMinute");
    return 0;
}

/* One criterion of abortConfig (@abort) or jobExecutionsRetryConfig. */
static int criterion(const bson_iter_t *it, bool abort, jobs_cfg *c, char *err, size_t errlen)
{
    const char *type = NULL, *action = NULL;
    bson_iter_t pct;
    int64_t min = 0, retries = 0;
    json_field fa[] = {
        {"failureType", JSON_STR, JSON_REQUIRED, .max_len = 16, .str = &type},
        {"action", JSON_STR, JSON_REQUIRED, .max_len = 16, .str = &action},
        {"thresholdPercentage", JSON_ANY, JSON_REQUIRED, .doc = &pct},
        {"minNumberOfExecutedThings", JSON_INT, JSON_REQUIRED, .min = 1, .max = 1000000,
         .i64 = &min},
    };
    json_field fr[] = {
        {"failureType", JSON_STR, JSON_REQUIRED, .max_len = 16, .str = &type},
        {"numberOfRetries", JSON_INT, JSON_REQUIRED, .min = 0, .max = 10, .i64 = &retries},
    };
    if (abort ? decode(it, fa, 4, err, errlen, "abortConfig criterion")
              : decode(it, fr, 2, err, errlen, "retry criterion"))
        return -1;
    unsigned fail = fail_of(type, abort);
    if (!fail)
        return ERR("failureType %s is not one of %s", type,
                   abort ? "FAILED, REJECTED, TIMED_OUT, ALL" : "FAILED, TIMED_OUT, ALL");
    if (!abort) {
        c->retry[c->nretry].fail = fail;
        c->retry[c->nretry++].retries = retries;
        return 0;
    }
    double p = 0;
    if (strcmp(action, "CANCEL") != 0)
        return ERR("abortConfig action must be CANCEL");
    if (!num(&pct, &p) || p < 0 || p > 100)
        return ERR("thresholdPercentage must be a number in [0, 100]");
    c->abort[c->nabort].fail = fail;
    c->abort[c->nabort].pct = p;
    c->abort[c->nabort++].min = min;
    return 0;
}

static int criteria(const bson_iter_t *it, bool abort, jobs_cfg *c, char *err, size_t errlen)
{
    const char *what = abort ? "abortConfig" : "jobExecutionsRetryConfig";
    bson_iter_t list, el;
    bson_t arr;
    json_field f[] = {{"criteriaList", JSON_ARR, JSON_REQUIRED, .doc = &list}};
    if (decode(it, f, 1, err, errlen, what) < 0 || !sub(&list, &arr) || !bson_iter_init(&el, &arr))
        return -1;
    while (bson_iter_next(&el)) {
        if ((abort ? c->nabort : c->nretry) >= JOBS_MAX_CRITERIA)
            return ERR("%s: at most %d criteria", what, JOBS_MAX_CRITERIA);
        if (criterion(&el, abort, c, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int timeout(const bson_iter_t *it, jobs_cfg *c, char *err, size_t errlen)
{
    int64_t min = 0, sec = 0;
    json_field f[] = {
        {"inProgressTimeoutInMinutes", JSON_INT, .min = 1, .max = 10080, .i64 = &min},
        {"inProgressTimeoutInSeconds", JSON_INT, .min = 1, .max = 604800, .i64 = &sec},
    };
    if (decode(it, f, 2, err, errlen, "timeoutConfig") < 0)
        return -1;
    if (f[0].present && f[1].present)
        return ERR("timeoutConfig takes minutes or seconds, not both");
    c->timeout_ms = min ? min * 60000 : sec * 1000;
    return 0;
}

/* The settings fields of a body (shared by the parser and jobs_cfg_read). */
static int settings(json_field *f, jobs_cfg *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (f[0].present && rollout(f[0].doc, c, err, errlen) < 0)
        return -1;
    if (f[1].present && criteria(f[1].doc, true, c, err, errlen) < 0)
        return -1;
    if (f[2].present && timeout(f[2].doc, c, err, errlen) < 0)
        return -1;
    if (f[3].present && criteria(f[3].doc, false, c, err, errlen) < 0)
        return -1;
    return 0;
}

static int targets(const bson_iter_t *it, jobs_spec *s, char *err, size_t errlen)
{
    json_field f[] = {
        {"devices", JSON_ARR, .doc = &s->devices},
        {"groups", JSON_ARR, .doc = &s->groups},
    };
    if (decode(it, f, 2, err, errlen, "targets") < 0)
        return -1;
    s->has_devices = f[0].present;
    s->has_groups = f[1].present;
    bson_t a;
    bool any = false;
    for (int i = 0; i < 2; i++) {
        if (!f[i].present || !sub(f[i].doc, &a))
            continue;
        bson_iter_t el;
        if (!bson_iter_init(&el, &a))
            return -1;
        while (bson_iter_next(&el)) {
            uint32_t n = 0;
            if (!BSON_ITER_HOLDS_UTF8(&el) || (bson_iter_utf8(&el, &n), n == 0 || n > 256))
                return ERR("targets.%s: each target is a device or group id or name", f[i].name);
            any = true;
        }
    }
    return any ? 0 : ERR("targets: at least one device or group");
}

#define NFIELDS 8

/* Where the four settings objects' iterators go (bson_iter_t cannot be an array element). */
typedef struct its {
    bson_iter_t a, b, c, d;
} its;

static void fields(json_field *f, jobs_spec *s, its *it, const char **desc, bson_iter_t *tg)
{
    json_field t[NFIELDS] = {
        {"jobExecutionsRolloutConfig", JSON_OBJ, .doc = &it->a},
        {"abortConfig", JSON_OBJ, .doc = &it->b},
        {"timeoutConfig", JSON_OBJ, .doc = &it->c},
        {"jobExecutionsRetryConfig", JSON_OBJ, .doc = &it->d},
        {"jobId", JSON_STR, .max_len = JOBS_ID_MAX, .str = &s->job_id},
        {"description", JSON_STR, .max_len = 2028, .str = desc},
        {"document", JSON_OBJ, JSON_REQUIRED, .doc = &s->document},
        {"targets", JSON_OBJ, JSON_REQUIRED, .doc = tg},
    };
    memcpy(f, t, sizeof t);
}

int jobs_spec_parse(const bson_t *body, const jobs_limits *lim, jobs_spec *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_field f[NFIELDS];
    its it;
    bson_iter_t tg;
    const char *desc = NULL;
    json_err e;
    fields(f, out, &it, &desc, &tg);
    if (json_decode(body, f, NFIELDS, &e) < 0)
        return ERR("%s", e.message);
    if (out->job_id && !jobs_id_ok(out->job_id, strlen(out->job_id)))
        return ERR("jobId must match [A-Za-z0-9_-]{1,64}");
    bson_t doc;
    size_t n = 0;
    if (!sub(&out->document, &doc))
        return ERR("document must be an object");
    char *text = json_text(&doc, &n);
    bson_free(text);
    if (!text || n > lim->doc_max)
        return ERR("document is larger than %zu bytes of JSON", lim->doc_max);
    if (targets(&tg, out, err, errlen) < 0)
        return -1;
    return settings(f, &out->cfg, err, errlen);
}

int jobs_cfg_read(const bson_t *doc, jobs_cfg *out)
{
    its it;
    json_field f[4] = {
        {"jobExecutionsRolloutConfig", JSON_OBJ, .doc = &it.a},
        {"abortConfig", JSON_OBJ, .doc = &it.b},
        {"timeoutConfig", JSON_OBJ, .doc = &it.c},
        {"jobExecutionsRetryConfig", JSON_OBJ, .doc = &it.d},
    };
    char err[160];
    bson_iter_t k;
    memset(out, 0, sizeof *out);
    if (!bson_iter_init(&k, doc))
        return -1;
    while (bson_iter_next(&k)) {
        for (int i = 0; i < 4; i++) {
            if (strcmp(bson_iter_key(&k), f[i].name) == 0 && BSON_ITER_HOLDS_DOCUMENT(&k)) {
                *f[i].doc = k;
                f[i].present = true;
            }
        }
    }
    return settings(f, out, err, sizeof err);
}

const char *jobs_exec_status_name(int s)
{
    static const char *const names[STORE_EXEC_NSTATUS] = {"SCHEDULED", "QUEUED",   "IN_PROGRESS",
                                                          "SUCCEEDED", "FAILED",   "TIMED_OUT",
                                                          "REJECTED",  "CANCELED", "REMOVED"};
    return s >= 0 && s < STORE_EXEC_NSTATUS ? names[s] : "UNKNOWN";
}

const char *jobs_status_name(int s)
{
    return s == STORE_JOB_IN_PROGRESS ? "IN_PROGRESS"
           : s == STORE_JOB_CANCELED  ? "CANCELED"
           : s == STORE_JOB_COMPLETED ? "COMPLETED"
                                      : "UNKNOWN";
}
