/*
 * rule_def — checking and compiling a rule's definition (rules/rule_def.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt_topic.h"
#include "rules/rule_def.h"

#define DEVICE_SELF "${deviceid()}"

static const char *const SEVERITIES[] = {"critical", "major", "minor", "warning", "indeterminate"};

static int refuse(json_err *e, const char *field, const char *fmt, const char *what)
{
    snprintf(e->code, sizeof e->code, "invalid_field");
    snprintf(e->field, sizeof e->field, "%s", field);
    snprintf(e->message, sizeof e->message, fmt, field, what);
    e->status = 400;
    return -1;
}

/* Prefixes @e's field with "actions[@i]." (json_decode named the inner field). */
static int in_action(json_err *e, int i)
{
    char f[sizeof e->field];
    int k = snprintf(f, sizeof f, "actions[%d]%s", i, e->field[0] ? "." : "");
    size_t n = strnlen(e->field, sizeof e->field - 1);
    if (k > 0 && (size_t)k + n < sizeof f) {
        memcpy(f + k, e->field, n + 1);
        memcpy(e->field, f, (size_t)k + n + 1);
    }
    e->status = 400;
    return -1;
}

/* "server/{dev}/rest": {dev} a literal id or DEVICE_SELF, then at least one level. */
static bool republish_topic_ok(const char *t)
{
    if (strncmp(t, "server/", 7) != 0)
        return false;
    const char *dev = t + 7, *slash = strchr(dev, '/');
    if (!slash || slash == dev || !slash[1])
        return false;
    size_t n = (size_t)(slash - dev);
    if (memchr(dev, '$', n) && (n != sizeof DEVICE_SELF - 1 || memcmp(dev, DEVICE_SELF, n)))
        return false;
    return !strchr(t, '+') && !strchr(t, '#');
}

static int parse_keys(bson_iter_t *it, bool map, rule_action *a, json_err *e)
{
    bson_iter_t in;
    if (!bson_iter_recurse(it, &in))
        return refuse(e, "keys", "%s: %s", "expected an object or array");
    while (bson_iter_next(&in)) {
        if (a->n_keys == RULE_KEYS_MAX)
            return refuse(e, "keys", "%s: %s", "too many keys");
        if (!BSON_ITER_HOLDS_UTF8(&in))
            return refuse(e, "keys", "%s: %s", "expected strings");
        const char *v = bson_iter_utf8(&in, NULL);
        const char *k = map ? bson_iter_key(&in) : v;
        if (!*k || !*v)
            return refuse(e, "keys", "%s: %s", "empty name");
        a->keys[a->n_keys] = k;
        a->fields[a->n_keys++] = v;
    }
    return 0;
}

static int one_of(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, set[i]))
            return (int)i;
    return -1;
}

/* The per-kind checks after json_decode filled @a. */
static int check_action(rule_action *a, bson_iter_t *keys, bool has_keys, json_err *e)
{
    static const char *const SECTIONS[] = {"reported", "desired"};
    switch (a->kind) {
    case RULE_REPUBLISH:
        if (!a->topic || !republish_topic_ok(a->topic))
            return refuse(e, "topic", "%s: %s",
                          "expected server/{device id}/... (a device of yours, or " DEVICE_SELF
                          "), no wildcards");
        return 0;
    case RULE_NOTIFY:
        if (!a->recipient || !a->payload)
            return refuse(e, a->recipient ? "message" : "recipient", "%s: %s", "required");
        return 0;
    case RULE_TELEMETRY:
    case RULE_SHADOW:
        if (a->kind == RULE_SHADOW && (!a->section || one_of(a->section, SECTIONS, 2) < 0))
            return refuse(e, "section", "%s: %s", "expected reported or desired");
        return has_keys ? parse_keys(keys, a->kind == RULE_TELEMETRY, a, e) : 0;
    case RULE_WEBHOOK:
        /* HTTPS only: a rule must not become a plain-text channel out of the server */
        if (!a->url || strncmp(a->url, "https://", 8) != 0 || !a->url[8] ||
            strpbrk(a->url, " \r\n"))
            return refuse(e, "url", "%s: %s", "expected an https:// URL");
        return 0;
    case RULE_ALARM_RAISE:
        if (!a->severity)
            a->severity = "major";
        if (one_of(a->severity, SEVERITIES, sizeof SEVERITIES / sizeof SEVERITIES[0]) < 0)
            return refuse(e, "severity", "%s: %s",
                          "expected critical, major, minor, warning or indeterminate");
        /* fall through */
    default:
        if (!a->alarm || !*a->alarm)
            return refuse(e, "alarm", "%s: %s", "required (the alarm's type)");
        return 0;
    }
}

static int parse_action(const bson_iter_t *at, int i, rule_action *a, json_err *e)
{
    static const char *const KINDS[] = {"republish",   "telemetry",   "notify", "shadow",
                                        "alarm_raise", "alarm_clear", "webhook"};
    bson_t d;
    uint32_t n;
    const uint8_t *p;
    if (!BSON_ITER_HOLDS_DOCUMENT(at)) {
        refuse(e, "actions", "%s: %s", "expected objects");
        e->field[0] = '\0'; /* the element itself: "actions[i]" */
        return in_action(e, i);
    }
    bson_iter_document(at, &n, &p);
    if (!bson_init_static(&d, p, n))
        return in_action(e, i);
    const char *type = NULL;
    int64_t qos = 0, timeout = 5000, retries = 5;
    bson_iter_t keys;
    json_field f[] = {
        {"type", JSON_STR, JSON_REQUIRED, 32, .str = &type},
        {"topic", JSON_STR, .max_len = 256, .str = &a->topic},
        {"payload", JSON_STR, .max_len = RULE_TEMPLATE_MAX, .str = &a->payload},
        {"message", JSON_STR, .max_len = RULE_TEMPLATE_MAX, .str = &a->payload},
        {"details", JSON_STR, .max_len = RULE_TEMPLATE_MAX, .str = &a->payload},
        {"qos", JSON_INT, .min = 0, .max = 1, .i64 = &qos},
        {"recipient", JSON_STR, .max_len = 254, .str = &a->recipient},
        {"notify", JSON_STR, .max_len = 254, .str = &a->recipient},
        {"alarm", JSON_STR, .max_len = 128, .str = &a->alarm},
        {"severity", JSON_STR, .max_len = 16, .str = &a->severity},
        {"section", JSON_STR, .max_len = 16, .str = &a->section},
        {"keys", JSON_ANY, .doc = &keys},
        {"url", JSON_STR, .max_len = RULE_URL_MAX, .str = &a->url},
        {"body", JSON_STR, .max_len = RULE_TEMPLATE_MAX, .str = &a->payload},
        {"secret", JSON_STR, .max_len = 256, .str = &a->secret},
        {"timeout_ms", JSON_INT, .min = 100, .max = 30000, .i64 = &timeout},
        {"retries", JSON_INT, .min = 0, .max = 10, .i64 = &retries},
    };
    if (json_decode(&d, f, sizeof f / sizeof f[0], e) < 0)
        return in_action(e, i);
    int k = one_of(type, KINDS, sizeof KINDS / sizeof KINDS[0]);
    if (k < 0)
        return refuse(e, "type", "%s: %s",
                      "expected republish, telemetry, notify, shadow, alarm_raise, "
                      "alarm_clear or webhook") < 0
                   ? in_action(e, i)
                   : -1;
    a->kind = (enum rule_act)(k + 1);
    a->qos = (int)qos;
    a->timeout_ms = (int)timeout;
    a->retries = (int)retries;
    if (a->kind == RULE_SHADOW && !a->section)
        a->section = "reported";
    return check_action(a, &keys, f[11].present, e) < 0 ? in_action(e, i) : 0;
}

static int parse_actions(rule_def *d, bson_iter_t *arr, json_err *e)
{
    bson_iter_t it;
    if (!bson_iter_recurse(arr, &it))
        return refuse(e, "actions", "%s: %s", "expected an array");
    while (bson_iter_next(&it)) {
        if (d->n_act == RULE_ACTIONS_MAX)
            return refuse(e, "actions", "%s: %s", "at most 8 actions");
        if (parse_action(&it, d->n_act, &d->act[d->n_act], e) < 0)
            return -1;
        d->n_act++;
    }
    if (d->n_act == 0)
        return refuse(e, "actions", "%s: %s", "at least one action");
    return 0;
}

static int compile(rule_def *d, const char *sql, const char *src, const char *cond,
                   const rexpr_limits *lim, json_err *e)
{
    rexpr_err xe;
    if (!sql == !src)
        return refuse(e, sql ? "source" : "sql", "%s: %s", "give either sql or source");
    if (sql && cond)
        return refuse(e, "condition", "%s: %s", "not with sql (use its WHERE)");
    int rc =
        sql ? rexpr_compile_sql(sql, strlen(sql), lim, &d->x, &xe)
            : rexpr_compile_cond(src, cond ? cond : "", cond ? strlen(cond) : 0, lim, &d->x, &xe);
    if (rc < 0) {
        const char *field = sql ? "sql" : strstr(xe.msg, "source") ? "source" : "condition";
        refuse(e, field, "%s: %s", xe.msg);
        return -1;
    }
    return 0;
}

int rule_def_parse(const bson_t *doc, const rexpr_limits *lim, rule_def **out, json_err *e)
{
    *out = NULL;
    memset(e, 0, sizeof *e);
    rule_def *d = calloc(1, sizeof *d);
    if (!d)
        return refuse(e, "", "%s%s", "out of memory");
    bson_copy_to(doc, &d->doc);
    const char *sql = NULL, *src = NULL, *cond = NULL, *desc = NULL;
    size_t max = lim && lim->max_len ? lim->max_len : REXPR_MAX_LEN_DEF;
    bson_iter_t actions;
    d->enabled = true;
    json_field f[] = {
        {"name", JSON_STR, JSON_REQUIRED, RULE_NAME_MAX, .str = &d->name},
        {"sql", JSON_STR, .max_len = max, .str = &sql},
        {"source", JSON_STR, .max_len = REXPR_FILTER_MAX, .str = &src},
        {"condition", JSON_STR, .max_len = max, .str = &cond},
        {"description", JSON_STR, .max_len = 1024, .str = &desc},
        {"enabled", JSON_BOOL, .b = &d->enabled},
        {"actions", JSON_ARR, JSON_REQUIRED, .doc = &actions},
    };
    int rc = json_decode(&d->doc, f, sizeof f / sizeof f[0], e);
    if (rc == 0 && !*d->name)
        rc = refuse(e, "name", "%s: %s", "must not be empty");
    if (rc == 0)
        rc = compile(d, sql, src, cond, lim, e);
    if (rc == 0)
        rc = parse_actions(d, &actions, e);
    if (rc < 0) {
        if (!e->status)
            e->status = 400;
        rule_def_free(d);
        return -1;
    }
    *out = d;
    return 0;
}

void rule_def_free(rule_def *d)
{
    if (!d)
        return;
    rexpr_free(d->x);
    bson_destroy(&d->doc);
    free(d);
}
